"""What fault events leave behind: patrol advisories, and device rates calibrated from the
locations crews confirmed (Laplace's rule of succession; docs/faults.md, "Calibration")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from sqlalchemy.orm import Session

from openoms.errors import ForbiddenError, InputError
from openoms.faults.calibrate import calibrate
from openoms.faults.locator import FaultLocator
from openoms.faults.observations import DeviceRates, Observation
from openoms.faults.result import FaultLocation
from openoms.grid.model import Network
from openoms.grid.topology import Topology
from openoms.i18n import FAULT_TYPE_NAMES, Lang
from openoms.service.context import ServiceContext
from openoms.service.fault_view import fault_view
from openoms.service.outages import Principal
from openoms.store import faults as store
from openoms.store.faults import FaultEventRecord
from openoms.store.tokens import Role

__all__ = [
    "CONFIRMING_ROLES",
    "NotAZoneOfTheFeederError",
    "advisory_text",
    "confirm_fault_event",
    "confirmable_zones",
    "rates_from_confirmed",
]

CONFIRMING_ROLES: Final = frozenset({Role.ADMIN, Role.DISPATCHER, Role.CREW})
"""Who may record where the crew found a fault (it calibrates the detectors' rates)."""


def confirmable_zones(network: Network, feeder_id: str) -> frozenset[str]:
    """The zones a crew may confirm for a fault on ``feeder_id``: the feeder's zones on the
    network as normally operated, against which :func:`rates_from_confirmed` scores the
    confirmation (a detector of another feeder would fail every later calibration).
    O(nodes of the network)."""
    base = FaultLocator(network, Topology.build(network.graph_arrays(), network.closed_edges()))
    return frozenset(base.zone_tree(feeder_id).index)


class NotAZoneOfTheFeederError(InputError):
    """A confirmed zone that is not one of the fault event's feeder."""

    def __init__(self, zone: str, feeder_id: str, zones: frozenset[str]) -> None:
        shown = ", ".join(sorted(zones)[:10]) + (", …" if len(zones) > 10 else "")
        super().__init__(
            f"zone {zone!r}: not a zone of feeder {feeder_id} (a detector of the "
            f"feeder, or its head breaker above the first detector: {shown})"
        )
        self.zone = zone
        self.feeder_id = feeder_id


def confirm_fault_event(
    context: ServiceContext, session: Session, who: Principal, fault_id: int, *, zone: str
) -> FaultEventRecord:
    """Record where the crew found the fault; it must be a zone of the event's own feeder."""
    if who.role not in CONFIRMING_ROLES:
        raise ForbiddenError(who.role, CONFIRMING_ROLES, what="fault confirmations")
    record = store.get_fault_event(session, fault_id)
    zones = confirmable_zones(context.network, record.feeder_id)
    if zone not in zones:
        raise NotAZoneOfTheFeederError(zone, record.feeder_id, zones)
    return store.confirm_fault_event(
        session, fault_id, zone=zone, actor=who.name, role=who.role, at=context.clock()
    )


def rates_from_confirmed(
    network: Network,
    records: Sequence[FaultEventRecord],
    observations_of: Callable[[FaultEventRecord], Sequence[Observation]],
    *,
    min_events: int = 10,
) -> dict[str, DeviceRates]:
    """Per-detector rates from the confirmed fault events ``records``, each read again
    through ``observations_of`` (the same grouping as when it happened) and scored against
    its confirmed zone on the network as normally operated, with the kinds' default rates."""
    feeders: dict[int, str] = {}
    history: list[tuple[Sequence[Observation], set[str]]] = []
    for record in records:
        if not record.confirmed_zone:
            continue
        observations = tuple(observations_of(record))
        feeders[id(observations)] = record.feeder_id
        history.append((observations, {record.confirmed_zone}))
    base = FaultLocator(network, Topology.build(network.graph_arrays(), network.closed_edges()))
    return calibrate(
        history,
        base,
        lambda observations, _zones: feeders[id(observations)],
        min_events=min_events,
    )


def advisory_text(
    context: ServiceContext, record: FaultEventRecord, location: FaultLocation
) -> dict[str, Any]:
    """A patrol advisory for a transient fault or an earth fault without a trip."""
    network = context.network
    feeder_index = network.feeders.id.index(record.feeder_id)
    feeder = network.feeders.name[feeder_index] or record.feeder_id
    # where to patrol by the names of poles, switches and detectors (faults/summary.py)
    view = fault_view(network, record, location)
    where_zh = view.where(Lang.ZH) if view is not None else "、".join(location.region)
    where_en = view.where(Lang.EN) if view is not None else ", ".join(location.region)
    mode = FAULT_TYPE_NAMES.get(location.fault_type.value, FAULT_TYPE_NAMES["unknown"])
    if record.reclosed:
        zh = f"{feeder} 瞬时性故障（重合成功），请巡视：{where_zh}"
        en = f"{feeder}: transient fault (reclosed), patrol: {where_en}"
    else:
        zh = f"{feeder} 接地/故障告警（未跳闸，{mode[Lang.ZH]}），请巡视：{where_zh}"
        en = f"{feeder}: fault alarm without a trip ({mode[Lang.EN]}), patrol: {where_en}"
    return {"zh": zh, "en": en, "region": list(location.region), "kind": "patrol"}
