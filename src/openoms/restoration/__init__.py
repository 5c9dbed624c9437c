"""Fault isolation and service restoration (FLISR) planning, checked by power flow.

Pure: :class:`RestorationPlanner` takes a network, its live topology and a faulted region
(edge indexes) and returns a :class:`RestorationPlan`; :mod:`.powerflow` checks switching
states with power-grid-model; :func:`switching_order` renders a plan as a switching order
(操作票). docs/restoration.md describes the rules and assumptions.
"""

from __future__ import annotations

from openoms.restoration.order import OrderLine, render, step_checks, switching_order
from openoms.restoration.planner import (
    Candidate,
    Island,
    PlanSettings,
    RestorationPlan,
    RestorationPlanner,
    Step,
    StepAction,
)
from openoms.restoration.powerflow import (
    Limits,
    PowerFlowModel,
    ScenarioResult,
    Violation,
    ViolationKind,
)

__all__ = [
    "Candidate",
    "Island",
    "Limits",
    "OrderLine",
    "PlanSettings",
    "PowerFlowModel",
    "RestorationPlan",
    "RestorationPlanner",
    "ScenarioResult",
    "Step",
    "StepAction",
    "Violation",
    "ViolationKind",
    "render",
    "step_checks",
    "switching_order",
]
