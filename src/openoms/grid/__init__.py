"""The network model, its formats and checks, and the topology engine.

The public surface is re-exported here, imported on first use (``import openoms.grid.model``
does not load the validator's scipy or the topology engine's numba); modules starting with
``_`` are private.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# name → the module that defines it, imported when the name is first asked for (PEP 562)
_HOME: dict[str, str] = {
    **dict.fromkeys(("CheckResult", "check_raw", "load_network", "network_from_raw"), "load"),
    **dict.fromkeys(("ElementKind", "Network"), "model"),
    **dict.fromkeys(("InvalidNetworkError", "Problem", "ProblemKind", "Severity"), "problems"),
    **dict.fromkeys(("Location", "RawNetwork", "RawTable"), "records"),
    "TABLES": "schema",
    **dict.fromkeys(
        ("DEAD", "STATION", "Change", "GraphArrays", "Topology", "TopologyError"), "topology"
    ),
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value
