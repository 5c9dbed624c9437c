"""What fault events leave behind: patrol advisories, and device rates calibrated from the
locations crews confirmed (Laplace's rule of succession; docs/faults.md, "Calibration")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from openoms.faults.calibrate import calibrate
from openoms.faults.locator import FaultLocator
from openoms.faults.observations import DeviceRates, Observation
from openoms.faults.result import FaultLocation
from openoms.grid.model import Network
from openoms.grid.topology import Topology
from openoms.service.context import ServiceContext
from openoms.store.faults import FaultEventRecord

__all__ = ["advisory_text", "confirmable_zones", "rates_from_confirmed"]


def confirmable_zones(network: Network, feeder_id: str) -> frozenset[str]:
    """The zones a crew may confirm for a fault on ``feeder_id``: the feeder's zones on the
    network as normally operated, against which :func:`rates_from_confirmed` scores the
    confirmation (a detector of another feeder would fail every later calibration).
    O(nodes of the network)."""
    base = FaultLocator(network, Topology.build(network.graph_arrays(), network.closed_edges()))
    return frozenset(base.zone_tree(feeder_id).index)


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
    zones = "、".join(location.region)
    mode = (location.fault_type.value if location.fault_type else "unknown").replace("_", " ")
    if record.reclosed:
        zh = f"{feeder} 瞬时性故障（重合成功），请巡视区段：{zones}"
        en = f"{feeder}: transient fault (reclosed), patrol {', '.join(location.region)}"
    else:
        zh = f"{feeder} 接地/故障告警（未跳闸），请巡视区段：{zones}"
        en = f"{feeder}: fault alarm without a trip ({mode}), patrol {', '.join(location.region)}"
    return {"zh": zh, "en": en, "region": list(location.region), "kind": "patrol"}
