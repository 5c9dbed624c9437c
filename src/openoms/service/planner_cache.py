"""The restoration planner of the running service's network, built once (on first use) and
kept, like the :class:`~openoms.outages.impact.ImpactAnalyser`: it holds the power-flow
columns of the whole network, so every plan after the first costs only its own batch."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openoms.grid.model import Network
    from openoms.restoration import RestorationPlanner

__all__ = ["PlannerCache"]


class PlannerCache:
    """One :class:`~openoms.restoration.RestorationPlanner` per network version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._planner: RestorationPlanner | None = None

    def planner(self, network: Network, version_id: int) -> RestorationPlanner:
        with self._lock:
            if self._planner is None or self._version != version_id:
                # imported here: power-grid-model is loaded by the first plan, not at start
                from openoms.restoration import RestorationPlanner  # noqa: PLC0415

                self._planner = RestorationPlanner(network)
                self._version = version_id
            return self._planner
