"""The one normalised event shape for everything that arrives.

Indicator and FTU reports, breaker trips and recloses, switch position changes, customer
trouble calls and crew status all become an :class:`Event` before anything else happens:
the HTTP intake, the MQTT subscriber and (later) the IEC 104 master only differ in how they
parse. Every event carries an idempotency key: the sender's own message id where it has one,
otherwise a hash of what identifies the report (source device, device time, kind, payload),
so that a redelivered message is recognised and not processed twice. An event posted through
the API also carries its :class:`Sender` (the token's name and role), kept in the log, so that
what the event does is authorized as its sender, not as the system that acts on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "Event",
    "EventKind",
    "EventSource",
    "Sender",
    "TelemetrySample",
    "derive_idempotency_key",
]


class EventKind(StrEnum):
    INDICATOR_REPORT = "indicator_report"  # fault indicator: fault flags per phase
    FTU_REPORT = "ftu_report"  # FTU / DTU: fault flags, position, measurements
    BREAKER_TRIP = "breaker_trip"  # payload: {"lockout": bool}
    BREAKER_RECLOSE = "breaker_reclose"  # payload: {"success": bool}
    SWITCH_POSITION = "switch_position"  # payload: {"closed": bool}
    TROUBLE_CALL = "trouble_call"  # customer: {"transformer_area"?, "address"?, ...}
    CREW_STATUS = "crew_status"  # {"outage_id": int, "status": OutageState value, "crew": str}


class EventSource(StrEnum):
    HTTP = "http"
    MQTT = "mqtt"
    IEC104 = "iec104"
    REPLAY = "replay"


def derive_idempotency_key(
    source_device: str | None, device_time: datetime, kind: EventKind, payload: Mapping[str, Any]
) -> str:
    """A key for senders without message ids: the same report always gets the same key."""
    body = json.dumps(
        [source_device, device_time.astimezone(UTC).isoformat(), kind.value, payload],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return "h:" + hashlib.sha256(body.encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class Sender:
    """Who posted an event: an API token's name and its role (the role's value, e.g.
    ``crew``). Device messages (MQTT, IEC 104) have none: their topic or link says who."""

    name: str
    role: str


@dataclass(frozen=True, slots=True)
class Event:
    """One normalised event. ``device_time`` is aware UTC (the device's clock: GPS/NTP)."""

    kind: EventKind
    source: EventSource
    device_id: str | None
    device_time: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str = ""
    sender: Sender | None = None  # not part of the derived key: the same report is the same

    def __post_init__(self) -> None:
        if self.device_time.tzinfo is None:
            raise ValueError("device_time must be timezone-aware")
        if not self.idempotency_key:
            key = derive_idempotency_key(self.device_id, self.device_time, self.kind, self.payload)
            object.__setattr__(self, "idempotency_key", key)


@dataclass(frozen=True, slots=True)
class TelemetrySample:
    """One reading of a cyclic measurement (a load current every few seconds): telemetry, kept
    as the latest value and a sampled history per point, never as an event-log row.

    ``element_id``: the detector or switch the point belongs to; ``point``: the point name of
    the report point table (e.g. ``load_current_a``); ``device_time``: the sender's time tag
    in UTC, ``None`` when it sent none or its time tag is not trusted (invalid bit);
    ``quality_ok``: False when the sender flagged the value invalid / not topical.
    """

    element_id: str
    point: str
    value: float
    received_at: datetime
    device_time: datetime | None = None
    source: EventSource = EventSource.IEC104
    channel: str = ""
    quality_ok: bool = True
