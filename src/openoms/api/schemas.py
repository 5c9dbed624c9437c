"""The API's Pydantic schemas: the third shape of OpenOMS (docs/architecture.md, "Rules of the
house").

Responses are built from domain values by explicit ``from_*`` conversions here; a route never
returns a database row or a domain dataclass. Request bodies forbid unknown fields.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    model_validator,
)

from openoms.grid.model import ElementKind
from openoms.outages.lifecycle import OutageState
from openoms.outages.records import AreaOff, OutageKind, OutageRecord, RestorationStep, StateChange
from openoms.store.tokens import Role, TokenInfo

__all__ = [
    "AreaOut",
    "DeviceId",
    "DeviceMatch",
    "DeviceOut",
    "FeederCounts",
    "FeederOut",
    "HealthOut",
    "Name",
    "Note",
    "OutageDetail",
    "OutageIn",
    "OutageOut",
    "OutagePage",
    "Position",
    "Problem",
    "PublicOutage",
    "PublicOutageList",
    "RestorationHow",
    "RestorationStepIn",
    "SearchResult",
    "StateChangeOut",
    "StepOut",
    "TokenIn",
    "TokenInfoOut",
    "TokenOut",
    "TransitionIn",
    "UtcTime",
    "ValidationIssue",
    "iso_time",
]


def printable(text: str) -> str:
    """Ids and names: no control characters (PostgreSQL refuses NUL in text)."""
    if not text.isprintable():
        raise ValueError("must not contain control characters")
    return text


def without_nul(text: str) -> str:
    """Free text: any line breaks, but no NUL (PostgreSQL cannot store it)."""
    if "\x00" in text:
        raise ValueError("must not contain U+0000 (NUL)")
    return text


def to_utc(at: datetime) -> datetime:
    """Aware times become UTC at the edge (docs/architecture.md, "Rules of the house"); a time
    whose UTC falls outside the years 1 … 9999 is refused here rather than failing in the
    database."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the years 1 … 9999 once converted to UTC") from None


_ISO_TIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def iso_time(value: object) -> object:
    """A time arrives as ISO 8601 text (or as a ``datetime`` from Python code): never as a
    number, which pydantic would read as seconds since 1970 (``-1`` would book 1969)."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_TIME.match(value)):
        return value
    raise ValueError(
        "must be an ISO 8601 time with its UTC offset, such as 2024-06-01T08:00:00+08:00"
    )


UtcTime = Annotated[AwareDatetime, BeforeValidator(iso_time), AfterValidator(to_utc)]
"""A time with its UTC offset (ISO 8601 text, never a number), converted to UTC."""
Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(printable)]
"""A device id, feeder id, crew or token name."""
DeviceId = Name
Note = Annotated[str, Field(max_length=2000), AfterValidator(without_nul)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- problems ---------------------------------------------------------------------------------
class ValidationIssue(BaseModel):
    location: list[str | int] = Field(description='Where, e.g. ["body", "events", 3, "kind"].')
    message: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:openoms:problem:unknown-device",
                    "title": "No such device",
                    "status": 404,
                    "detail": "unknown device 'K99' in network 'sample_county'",
                    "instance": "/api/v1/grid/devices/K99",
                    "device_id": "K99",
                }
            ]
        },
    )

    type: str = Field(description="A URN naming the kind of problem; see docs/api.md.")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The request path.")
    errors: list[ValidationIssue] | None = Field(
        default=None, description="Validation problems: one entry per invalid field."
    )


# -- grid ---------------------------------------------------------------------------------------
class FeederCounts(BaseModel):
    nodes: int
    sections: int
    switches: int
    transformer_areas: int
    lv_customers: int
    hv_customers: int
    sensitive_customers: int


class FeederOut(BaseModel):
    id: str
    name: str | None
    substation_id: str
    substation_name: str | None
    energised: bool = Field(description="Whether the feeder supplies any node now.")
    counts: FeederCounts = Field(description="What the feeder supplies in the present state.")


class Position(BaseModel):
    """Where a device sits in the network, in the present switch state."""

    nodes: list[str] = Field(description="The node(s) it is at or between.")
    lon_deg: float | None
    lat_deg: float | None
    feeder_id: str | None = Field(description="The feeder supplying it now, if any.")
    in_station: bool = Field(description="Inside a substation (on no feeder).")
    depth: int | None = Field(description="Branches from the substation; null when dead.")
    upstream_switch_id: str | None = Field(
        description="The nearest switch between it and the substation."
    )


class DeviceOut(BaseModel):
    id: str
    kind: ElementKind
    name: str | None
    energised: bool | None = Field(description="Null for kinds without a place (grid cells).")
    position: Position | None
    closed: bool | None = Field(default=None, description="Switches: present state.")
    normally_closed: bool | None = Field(default=None, description="Switches: normal state.")
    village: str | None = None
    street: str | None = None
    township: str | None = None
    lv_customers: int | None = Field(default=None, description="Transformer areas.")


class DeviceMatch(BaseModel):
    id: str
    kind: ElementKind
    name: str | None
    matched: Literal["id", "name", "place"]
    place: str | None = Field(description="The village, street or township, where one is known.")


class SearchResult(BaseModel):
    query: str
    items: list[DeviceMatch]
    truncated: bool = Field(description="More matched than the limit.")


# -- outages ------------------------------------------------------------------------------------
class AreaOut(BaseModel):
    element_id: str
    element_kind: str
    customers: int
    village: str | None
    off_at: datetime
    restored_at: datetime | None
    restored_in_step: int | None

    @classmethod
    def from_domain(cls, area: AreaOff) -> AreaOut:
        return cls(
            element_id=area.element_id,
            element_kind=area.element_kind,
            customers=area.customers,
            village=area.village,
            off_at=area.off_at,
            restored_at=area.restored_at,
            restored_in_step=area.restored_in_step,
        )


class StepOut(BaseModel):
    number: int
    at: datetime
    how: str
    operations: list[dict[str, JsonValue]]
    areas_restored: int
    customers_restored: int

    @classmethod
    def from_domain(cls, step: RestorationStep) -> StepOut:
        return cls(
            number=step.number,
            at=step.at,
            how=step.how,
            operations=[dict(op) for op in step.operations],
            areas_restored=step.areas_restored,
            customers_restored=step.customers_restored,
        )


class StateChangeOut(BaseModel):
    from_state: OutageState | None
    to_state: OutageState
    at: datetime
    actor: str
    note: str | None

    @classmethod
    def from_domain(cls, change: StateChange) -> StateChangeOut:
        return cls(
            from_state=change.from_state,
            to_state=change.to_state,
            at=change.at,
            actor=change.actor,
            note=change.note,
        )


class OutageOut(BaseModel):
    id: int
    kind: OutageKind
    state: OutageState
    network_version_id: int
    feeder_id: str | None
    operated_device: str | None
    located_section: str | None
    cause: str | None
    crew: str | None
    momentary: bool
    started_at: datetime
    restored_at: datetime | None
    closed_at: datetime | None
    merged_into_id: int | None
    customers_off: int = Field(description="LV and HV customers still off now.")
    areas_off: int = Field(description="Transformer areas and HV customers still off now.")
    summary: dict[str, JsonValue]

    @classmethod
    def fields_of(cls, record: OutageRecord) -> dict[str, Any]:
        return {
            "id": record.id,
            "kind": record.kind,
            "state": record.state,
            "network_version_id": record.network_version_id,
            "feeder_id": record.feeder_id,
            "operated_device": record.operated_device,
            "located_section": record.located_section,
            "cause": record.cause,
            "crew": record.crew,
            "momentary": record.momentary,
            "started_at": record.started_at,
            "restored_at": record.restored_at,
            "closed_at": record.closed_at,
            "merged_into_id": record.merged_into_id,
            "customers_off": record.customers_off,
            "areas_off": sum(1 for a in record.areas if a.restored_at is None),
            "summary": dict(record.summary),
        }

    @classmethod
    def from_domain(cls, record: OutageRecord) -> OutageOut:
        return cls(**cls.fields_of(record))


class OutageDetail(OutageOut):
    areas: list[AreaOut]
    steps: list[StepOut]
    history: list[StateChangeOut]

    @classmethod
    def from_domain(cls, record: OutageRecord) -> OutageDetail:
        return cls(
            **cls.fields_of(record),
            areas=[AreaOut.from_domain(a) for a in record.areas],
            steps=[StepOut.from_domain(s) for s in record.steps],
            history=[StateChangeOut.from_domain(h) for h in record.history],
        )


class OutagePage(BaseModel):
    items: list[OutageOut]
    limit: int
    offset: int


class TransitionIn(_In):
    to: OutageState
    note: Note | None = None


class RestorationHow(StrEnum):
    SWITCHING = "switching"
    REPAIR = "repair"
    FLISR = "flisr"
    LIVE_LINE = "live_line"


class RestorationStepIn(_In):
    element_ids: list[DeviceId] = Field(
        min_length=1, max_length=10_000, description="Transformer areas / HV customers back."
    )
    how: RestorationHow
    at: UtcTime | None = Field(default=None, description="Default: now.")


class OutageIn(_In):
    """A planned outage (or, for a dispatcher, a manually recorded one) by the devices that
    will be opened; who is off comes from the network."""

    kind: OutageKind = OutageKind.PLANNED
    open: list[DeviceId] = Field(min_length=1, max_length=50, description="Switches / sections.")
    starts_at: UtcTime
    ends_at: UtcTime | None = Field(default=None, description="Planned end (the estimate).")
    note: Note | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> OutageIn:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


# -- public ------------------------------------------------------------------------------------
class PublicOutage(BaseModel):
    """What anyone may see of an outage. An allow-list: places and counts, never a customer's
    name, phone number, account, address or the ids of HV customers."""

    model_config = ConfigDict(extra="forbid")

    id: int
    kind: Literal["fault", "planned"]
    status: OutageState
    started_at: datetime
    restored_at: datetime | None
    estimated_restoration_at: datetime | None = Field(
        description="The planned end, or the dispatcher's estimate; null when none is given."
    )
    villages: list[str] = Field(description="Villages off (all of the outage once restored).")
    streets: list[str]
    townships: list[str]
    transformer_areas_off: int
    customers_off: int
    customers_restored: int


class PublicOutageList(BaseModel):
    area: str | None = Field(description="The village, street or township asked for.")
    current: list[PublicOutage] = Field(description="Outages going on now, newest first.")
    upcoming: list[PublicOutage] = Field(description="Planned outages booked to start later.")
    customers_off: int = Field(description="Customers off now in the outages listed.")


# -- tokens -------------------------------------------------------------------------------------
class TokenIn(_In):
    name: Name
    role: Role


class TokenOut(BaseModel):
    name: str
    role: Role
    token: str = Field(description="Shown once; only its SHA-256 is stored.")


class TokenInfoOut(BaseModel):
    id: int
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_domain(cls, info: TokenInfo) -> TokenInfoOut:
        return cls(
            id=info.id,
            name=info.name,
            role=info.role,
            created_at=info.created_at,
            last_used_at=info.last_used_at,
            revoked_at=info.revoked_at,
        )


# -- system -------------------------------------------------------------------------------------
class DatabaseHealth(BaseModel):
    reachable: bool
    dialect: str


class NetworkHealth(BaseModel):
    name: str
    version_id: int
    feeders: int
    nodes: int


class MqttHealth(BaseModel):
    configured: bool
    connected: bool | None = Field(description="Null when not configured or not known.")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: DatabaseHealth
    network: NetworkHealth
    mqtt: MqttHealth
