"""The network model, its formats and checks, and the topology engine.

The public surface is re-exported here; modules starting with ``_`` are private.
"""

from __future__ import annotations

from openoms.grid.load import CheckResult, check_raw, load_network, network_from_raw
from openoms.grid.model import ElementKind, Network
from openoms.grid.problems import InvalidNetworkError, Problem, ProblemKind, Severity
from openoms.grid.records import Location, RawNetwork, RawTable
from openoms.grid.schema import TABLES
from openoms.grid.topology import DEAD, STATION, Change, GraphArrays, Topology, TopologyError

__all__ = [
    "DEAD",
    "STATION",
    "TABLES",
    "Change",
    "CheckResult",
    "ElementKind",
    "GraphArrays",
    "InvalidNetworkError",
    "Location",
    "Network",
    "Problem",
    "ProblemKind",
    "RawNetwork",
    "RawTable",
    "Severity",
    "Topology",
    "TopologyError",
    "check_raw",
    "load_network",
    "network_from_raw",
]
