"""The normalised event as the API accepts it, one model per kind, and its conversion; and
what the API shows of the event log, the dead letters and telemetry.

Beside :mod:`.schemas` because events need strict input checks of their own: whatever passes
here must be storable on both databases (no NUL characters, finite numbers, times that
convert to UTC, payloads of at most 64 KiB), or it would fail in the database instead of
being refused with its field named.

A dead letter's raw bytes are shown as text when they are UTF-8 (``raw_encoding``:
``utf-8``), else in base64 (``base64``), so that every byte a device sent can be read back.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
)

from openoms.api.schemas import Name, Note, UtcTime, printable, without_nul
from openoms.events import Event, EventKind, EventSource
from openoms.ingest.payloads import MAX_PAYLOAD_BYTES
from openoms.outages.lifecycle import OutageState
from openoms.store.deadletters import DeadLetterRecord
from openoms.store.eventlog import LoggedEvent
from openoms.store.telemetry import TelemetryReading

__all__ = [
    "EVENT_ADAPTER",
    "MAX_BATCH",
    "DeadLetterOut",
    "DeadLetterPage",
    "EventBatchIn",
    "EventIn",
    "EventOut",
    "EventPage",
    "IntakeOut",
    "RejectedEvent",
    "TelemetryHistoryPage",
    "TelemetryOut",
    "TelemetryPage",
    "raw_text",
    "to_event",
]

MAX_BATCH: Final = 1000
_EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _since_1970(at: datetime) -> datetime:
    if at < _EARLIEST:
        raise ValueError("is before 1970")
    return at


def _storable(payload: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """No NUL in any string (PostgreSQL refuses it), finite numbers, at most 64 KiB."""
    stack: list[Any] = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValueError("a string holds U+0000 (NUL)")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError("numbers must be finite (no NaN or Infinity)")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    size = len(json.dumps(payload, ensure_ascii=False).encode())
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"is {size} bytes as JSON, more than {MAX_PAYLOAD_BYTES}")
    return payload


Key = Annotated[str, Field(min_length=1, max_length=96), AfterValidator(printable)]
DeviceTime = Annotated[UtcTime, AfterValidator(_since_1970)]
FreePayload = Annotated[dict[str, JsonValue], AfterValidator(_storable)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _EventBase(_In):
    device_id: Name | None = Field(default=None, description="The sending device (network id).")
    device_time: DeviceTime = Field(description="The device's clock, with its UTC offset.")
    idempotency_key: Key | None = Field(
        default=None,
        description="The sender's own message id; stored as `k:<device_id>:<key>`. "
        "Default: a hash of device, time, kind and payload.",
    )


class IndicatorReportIn(_EventBase):
    kind: Literal["indicator_report"]
    payload: FreePayload = Field(default_factory=dict, description="Fault flags per phase, …")


class FtuReportIn(_EventBase):
    kind: Literal["ftu_report"]
    payload: FreePayload = Field(default_factory=dict, description="Flags, position, values.")


class TripPayload(_In):
    lockout: bool


class BreakerTripIn(_EventBase):
    kind: Literal["breaker_trip"]
    payload: TripPayload


class ReclosePayload(_In):
    success: bool


class BreakerRecloseIn(_EventBase):
    kind: Literal["breaker_reclose"]
    payload: ReclosePayload


class PositionPayload(_In):
    closed: bool


class SwitchPositionIn(_EventBase):
    kind: Literal["switch_position"]
    payload: PositionPayload


class TroubleCallIn(_EventBase):
    kind: Literal["trouble_call"]
    payload: FreePayload = Field(
        default_factory=dict,
        description='The call: {"transformer_area": id, "address": …}. Private: never public.',
    )


class CrewStatusPayload(_In):
    outage_id: int = Field(ge=1, le=2**31 - 1)
    status: OutageState
    crew: Name | None = Field(
        default=None, description="The crew; for a crew's own token always the token's name."
    )
    cause: Annotated[str, Field(max_length=200), AfterValidator(without_nul)] | None = None
    note: Note | None = None


class CrewStatusIn(_EventBase):
    kind: Literal["crew_status"]
    payload: CrewStatusPayload


EventIn = Annotated[
    IndicatorReportIn
    | FtuReportIn
    | BreakerTripIn
    | BreakerRecloseIn
    | SwitchPositionIn
    | TroubleCallIn
    | CrewStatusIn,
    Field(discriminator="kind"),
]
"""One normalised event; the ``kind`` decides the payload's shape."""

EVENT_ADAPTER: Final[TypeAdapter[EventIn]] = TypeAdapter(EventIn)


class EventBatchIn(_In):
    events: list[JsonValue] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="Events as for POST /events; each is checked on its own, and a bad one "
        "is rejected (and kept as a dead letter) without failing the others.",
    )


class RejectedEvent(BaseModel):
    index: int = Field(description="Position in the batch (0 for a single event).")
    reason: str = Field(
        description="malformed, unknown_device, out_of_order, future (from the intake), or "
        "forbidden (an event kind the caller's role may not send)."
    )
    detail: str


class IntakeOut(BaseModel):
    accepted: int = Field(description="Events written to the event log.")
    duplicates: int = Field(description="Events already in the log (a re-post): not stored again.")
    rejected: list[RejectedEvent]


def to_event(model: EventIn, *, source: EventSource, crew: str | None = None) -> Event:
    """The domain event of a checked model; ``crew`` (the name of a crew's token) is the crew
    of a crew status, whatever the payload says: a crew reports for itself only."""
    payload: Mapping[str, Any]
    if isinstance(model.payload, BaseModel):
        payload = model.payload.model_dump(mode="json", exclude_none=True)
        if isinstance(model, CrewStatusIn) and crew:
            payload = {**payload, "crew": crew}
    else:
        payload = model.payload
    key = model.idempotency_key
    return Event(
        kind=EventKind(model.kind),
        source=source,
        device_id=model.device_id,
        device_time=model.device_time,
        payload=payload,
        idempotency_key=f"k:{model.device_id or ''}:{key}" if key else "",
    )


# -- reading the event log, the dead letters and telemetry ----------------------------------
class SenderOut(BaseModel):
    name: str = Field(description="The API token's name.")
    role: str


class EventOut(BaseModel):
    id: int = Field(description="The event's id in the log (increasing in the order stored).")
    kind: EventKind
    source: EventSource
    device_id: str | None
    device_time: datetime = Field(description="The device's clock, UTC.")
    received_at: datetime = Field(description="When OpenOMS stored it, UTC.")
    processed_at: datetime | None = Field(description="When the event processor acted on it.")
    outcome: str | None = Field(description="What the event processor did with it.")
    idempotency_key: str
    sender: SenderOut | None = Field(description="The token that posted it (HTTP only).")
    payload: dict[str, Any]

    @classmethod
    def from_domain(cls, logged: LoggedEvent) -> EventOut:
        event = logged.event
        return cls(
            id=logged.id,
            kind=event.kind,
            source=event.source,
            device_id=event.device_id,
            device_time=event.device_time,
            received_at=logged.received_at,
            processed_at=logged.processed_at,
            outcome=logged.outcome,
            idempotency_key=event.idempotency_key,
            sender=None
            if event.sender is None
            else SenderOut(name=event.sender.name, role=event.sender.role),
            payload=dict(event.payload),
        )


class EventPage(BaseModel):
    items: list[EventOut] = Field(description="Newest first (by log id).")
    next_cursor: int | None = Field(
        description="Pass as `cursor` for the next (older) page; null when this is the last."
    )


def raw_text(raw: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    """The raw bytes as text: decoded when they are UTF-8, else base64; and which."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


class DeadLetterOut(BaseModel):
    id: int
    received_at: datetime = Field(description="When it was refused, UTC.")
    source: str = Field(description="http, mqtt, iec104, replay.")
    channel: str | None = Field(description="MQTT topic, HTTP path or iec104:<unit>.")
    reason: str = Field(description="Why it was refused (docs/events.md, dead letters).")
    detail: str = Field(description="The sentence naming the field or device.")
    raw: str = Field(description="The bytes as received, as `raw_encoding` says.")
    raw_encoding: Literal["utf-8", "base64"] = Field(
        description="utf-8: `raw` is the bytes decoded; base64: they were not UTF-8."
    )
    raw_bytes: int = Field(description="How many bytes were received.")

    @classmethod
    def from_domain(cls, letter: DeadLetterRecord) -> DeadLetterOut:
        text, encoding = raw_text(letter.raw)
        return cls(
            id=letter.id,
            received_at=letter.received_at,
            source=letter.source,
            channel=letter.channel,
            reason=letter.reason,
            detail=letter.detail,
            raw=text,
            raw_encoding=encoding,
            raw_bytes=len(letter.raw),
        )


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut] = Field(description="Newest first (by id).")
    next_cursor: int | None = Field(
        description="Pass as `cursor` for the next (older) page; null when this is the last."
    )


class TelemetryOut(BaseModel):
    element_id: str = Field(description="The detector or switch the point belongs to.")
    point: str = Field(description="The point name, e.g. load_current_a.")
    value: float
    quality_ok: bool = Field(description="False when the sender flagged the value invalid.")
    at: datetime = Field(description="The sample's time: the device's time tag, else receipt.")
    device_time: datetime | None = Field(description="The device's time tag, if trusted.")
    received_at: datetime
    source: str
    channel: str | None = Field(default=None, description="Where it came from (latest only).")

    @classmethod
    def from_domain(cls, reading: TelemetryReading) -> TelemetryOut:
        return cls(
            element_id=reading.element_id,
            point=reading.point,
            value=reading.value,
            quality_ok=reading.quality_ok,
            at=reading.at,
            device_time=reading.device_time,
            received_at=reading.received_at,
            source=reading.source,
            channel=reading.channel,
        )


class TelemetryPage(BaseModel):
    items: list[TelemetryOut] = Field(description="The latest value of each point.")
    limit: int
    offset: int


class TelemetryHistoryPage(BaseModel):
    element_id: str
    point: str
    sample_s: float = Field(description="At most one row per this many seconds.")
    items: list[TelemetryOut] = Field(description="Newest first.")
    limit: int
    offset: int
