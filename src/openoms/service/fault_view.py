"""A located fault event in words: the names of its region, ties and detectors for the
dispatcher's view (``GET /api/v1/faults/{id}``) and the crew SMS.

The names come from the zones of the fault's feeder as it was operated at the fault (the
event's ``open_edges``), which the locator of that state gives; the last few states are kept,
so reading a fault or sending its SMS builds no topology while the state is unchanged.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

import numpy as np

from openoms.faults.locator import FaultLocator
from openoms.faults.result import FaultLocation
from openoms.faults.summary import LocationView, describe
from openoms.faults.zones import Zone
from openoms.grid.model import Network
from openoms.grid.topology import Topology
from openoms.store.faults import FaultEventRecord

__all__ = ["fault_view", "feeder_zones"]

_KEPT: Final = 8
_lock = threading.Lock()
_zones: OrderedDict[tuple[int, tuple[int, ...], str], tuple[Network, tuple[Zone, ...]]] = (
    OrderedDict()
)


def feeder_zones(network: Network, open_edges: tuple[int, ...], feeder: str) -> tuple[Zone, ...]:
    """The zones of ``feeder`` with ``open_edges`` open (the last eight states are kept)."""
    key = (id(network), tuple(open_edges), feeder)
    with _lock:
        found = _zones.get(key)
        if found is not None and found[0] is network:
            _zones.move_to_end(key)
            return found[1]
    closed = np.ones(network.n_edges, dtype=np.bool_)
    closed[list(open_edges)] = False
    topology = Topology.build(network.graph_arrays(), closed)
    zones = FaultLocator(network, topology).zones_of_feeder(feeder)
    with _lock:
        _zones[key] = (network, zones)
        while len(_zones) > _KEPT:
            _zones.popitem(last=False)
    return zones


def fault_view(
    network: Network, record: FaultEventRecord, location: FaultLocation | None = None
) -> LocationView | None:
    """The fault event's location in words (``location``: the fresh answer, else the stored
    one); ``None`` before it is located, when the stored answer cannot be read, or when its
    feeder is no longer in the network."""
    if location is None:
        if not record.location:
            return None
        try:
            location = FaultLocation.from_dict(record.location, feeder=record.feeder_id)
        except (KeyError, TypeError, ValueError):  # not an answer this version can read
            return None
    if record.feeder_id not in network.feeders.id:
        return None
    return describe(network, feeder_zones(network, record.open_edges, record.feeder_id), location)
