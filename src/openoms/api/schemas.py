"""The API's Pydantic schemas: the third shape of OpenOMS (docs/architecture.md, "Rules of the
house").

Responses are built from domain values by explicit ``from_*`` conversions; a route never
returns a database row or a domain dataclass. Request bodies forbid unknown fields
(:class:`RequestBody`).

This module holds the field types every schema shares (:data:`UtcTime`, :data:`Name`,
:data:`Note`, ...), the problem document, and the schemas of tokens and health. The schemas of
one capability are beside it: :mod:`.outage_schemas`, :mod:`.grid_schemas`,
:mod:`.event_schemas`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

from openoms.store.tokens import Role, TokenInfo

__all__ = [
    "DatabaseHealth",
    "DeviceId",
    "HealthOut",
    "MqttHealth",
    "Name",
    "NetworkHealth",
    "Note",
    "Problem",
    "RequestBody",
    "TokenIn",
    "TokenInfoOut",
    "TokenOut",
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


class RequestBody(BaseModel):
    """A request body: unknown fields are refused."""

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


# -- tokens -------------------------------------------------------------------------------------
class TokenIn(RequestBody):
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
