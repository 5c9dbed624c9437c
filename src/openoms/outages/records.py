"""Outage records as domain values (the shape the service and the API work with).

The store converts its rows to and from these; the pure core never sees a database row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from openoms.outages.lifecycle import OutageState

__all__ = ["AreaOff", "OutageKind", "OutageRecord", "RestorationStep", "StateChange"]


class OutageKind(StrEnum):
    FAULT = "fault"
    PLANNED = "planned"
    CUSTOMER = "customer"  # customer-side: a fault behind the customer's own equipment


class ElementKindOff(StrEnum):
    TRANSFORMER_AREA = "transformer_area"
    HV_CUSTOMER = "hv_customer"


@dataclass(frozen=True, slots=True)
class AreaOff:
    """A transformer area or HV customer off in an outage."""

    element_id: str
    element_kind: str  # ElementKindOff value
    customers: int  # LV customers behind a TA, 1 for an HV customer
    village: str | None
    off_at: datetime
    restored_at: datetime | None = None
    restored_in_step: int | None = None


@dataclass(frozen=True, slots=True)
class RestorationStep:
    number: int
    at: datetime
    how: str  # switching / repair / flisr / live_line
    operations: tuple[dict[str, Any], ...]
    areas_restored: int
    customers_restored: int


@dataclass(frozen=True, slots=True)
class StateChange:
    from_state: OutageState | None
    to_state: OutageState
    at: datetime
    actor: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OutageRecord:
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
    summary: dict[str, Any]
    areas: tuple[AreaOff, ...] = ()
    steps: tuple[RestorationStep, ...] = ()
    history: tuple[StateChange, ...] = field(default=())
    # the FLISR restoration plan in brief: revision, approved_by, approved_at (ISO 8601),
    # steps, customers_restored; None without a plan (the whole plan: service.restoration)
    restoration_plan: dict[str, Any] | None = None

    @property
    def customers_off(self) -> int:
        """LV customers and HV customers still off now."""
        return sum(a.customers for a in self.areas if a.restored_at is None)
