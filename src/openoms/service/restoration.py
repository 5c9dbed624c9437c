"""FLISR in the service: a restoration plan for each permanent fault, approved by a dispatcher
or executed over IEC 104 (docs/restoration.md, "In the running service").

When a permanent fault (a lockout) is located and the reports have gone quiet, the event
processor asks :func:`plan_fault` for a plan on the feeders whose mode
(``settings.flisr_mode`` / ``flisr_modes``) is ``advisory``, ``automatic`` or
``restore_only``; in the last two the plan is queued for execution at once
(:mod:`.switching_exec`), in advisory mode when a dispatcher approves it and the IEC 104
master runs (``iec104_enabled``). The faulted region is the located
zone (tied zones: their union), the switch states are the live topology's, the planner the
one kept for the network (:class:`~openoms.service.planner_cache.PlannerCache`). The plan
is stored on the outage (:mod:`openoms.store.restoration_plans`) with everything a dispatcher
reads: the steps with switch names, remote or by hand, the check after each, who is restored
and who stays off (places, transformer areas, sensitive customers), the power-flow figures
and the switching order in Chinese and English. At the final location it is planned again if
the located zones changed.

A dispatcher approves it (:func:`approve`); with the IEC 104 master running the approval
queues its execution. Refused with a
:class:`~openoms.store.restoration_plans.PlanConflictError` (HTTP 409): a plan already approved,
a plan recomputed since it was read (``revision``), a stale plan (a switch it depends on, on
the outage area or a feeder its power flow covered, changed position since it was computed:
:func:`recompute` plans again from the live states), a plan using a
switch or receiving feeder of another open outage's approved plan or of an execution going on
(``executing``), an outage that has ended. Without the master the switching is carried out by
hand or telecontrol as before. Each switch event records its restoration step on the outage.
A plan is neither recomputed nor replanned at the final location while it is being executed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from openoms.errors import ForbiddenError, InputError
from openoms.faults.zones import Zone
from openoms.grid.model import Network
from openoms.grid.topology import STATION
from openoms.i18n import Lang
from openoms.outages.impact import Impact
from openoms.outages.lifecycle import OPEN_STATES
from openoms.restoration import (
    RestorationPlan,
    ScenarioResult,
    StepAction,
    render,
    step_checks,
    switching_order,
)
from openoms.service.context import ServiceContext
from openoms.service.fault_locating import FaultLocating
from openoms.service.outages import Principal
from openoms.service.switching_exec import queue_execution
from openoms.store import faults as fault_store
from openoms.store import outages as outage_store
from openoms.store import restoration_plans as store
from openoms.store import switching as switching_store
from openoms.store.faults import FaultEventRecord
from openoms.store.restoration_plans import PlanConflictError
from openoms.store.tokens import Role

__all__ = [
    "APPROVERS",
    "approve",
    "element_name",
    "plan_fault",
    "plan_view",
    "recompute",
    "region_of_zones",
    "store_widened",
    "who_is_in",
    "widened_document",
    "zones_of_location",
]

log = logging.getLogger("openoms.restoration")

APPROVERS: Final = frozenset({Role.ADMIN, Role.DISPATCHER})
ADVISORY: Final = "advisory"
PLANNED_MODES: Final = frozenset({"advisory", "automatic", "restore_only"})
EXECUTING_MODES: Final = frozenset({"automatic", "restore_only"})
ZoneOf = Callable[[FaultEventRecord, str], Zone]


# -- the faulted region ---------------------------------------------------------------------
def zones_of_location(location: dict[str, Any] | None) -> list[str]:
    """The zones to isolate: the best hypothesis' zones, and every zone tied with them."""
    if not location:
        return []
    best = [str(z) for z in location.get("best", ())]
    ties = [str(z) for z in location.get("ties", ())]
    return list(dict.fromkeys(best + (ties if len(ties) > 1 else [])))


def region_of_zones(network: Network, zones: Sequence[Zone]) -> list[int]:
    """The edges of the zones (their union), without the switch each topmost zone starts at:
    its detector saw the fault current, so the fault is beyond it and the switch can isolate
    it (a switch between two of the zones is inside the region)."""
    ids = {z.id for z in zones}
    edges: set[int] = set()
    for zone in zones:
        for element in zone.edges:
            edge = network.edge_index(element)
            if edge is None:
                continue
            top = zone.parent not in ids
            if top and element == zone.upstream_device and network.is_switch_edge(edge):
                continue
            edges.add(edge)
    if not edges:  # a zone of its starting switch alone
        edges = {e for z in zones for d in z.edges if (e := network.edge_index(d)) is not None}
    return sorted(edges)


# -- the plan as stored ---------------------------------------------------------------------
def element_name(network: Network, edge: int) -> str:
    """A section's or switch's name as people know it (its id when it has none)."""
    n_sections = len(network.sections.id)
    name = (
        network.switches.name[edge - n_sections]
        if edge >= n_sections
        else network.sections.name[edge]
    )
    return name or network.edge_id(edge)


def who_is_in(impact: Impact) -> dict[str, Any]:
    """Who is in a set of nodes, by name: places, transformer areas, HV and sensitive
    customers, and the sentence a dispatcher reads."""
    net = impact.network
    tas, hvs = net.transformer_areas, net.hv_customers
    return {
        "customers": impact.lv_customers + len(impact.hv_customer_index),
        "load_kw": round(impact.load_kw, 1),
        "villages": impact.villages,
        "streets": impact.streets,
        "transformer_areas": [
            {
                "id": tas.id[i],
                "name": tas.name[i] or tas.id[i],
                "place": tas.village[i] or tas.street[i],
                "customers": int(tas.lv_customers[i]),
            }
            for i in impact.transformer_area_index.tolist()
        ],
        "hv_customers": [
            {"id": hvs.id[i], "name": hvs.name[i] or hvs.id[i]}
            for i in impact.hv_customer_index.tolist()
        ],
        "sensitive_customers": [
            {"id": s.id, "name": s.name, "category": s.category, "people": s.people}
            for s in impact.sensitive_customers
        ],
        "text": {"zh": impact.scope(Lang.ZH, lost=False), "en": impact.scope(Lang.EN, lost=False)},
    }


def _number(value: float, digits: int) -> float | None:
    """A figure for JSON: None when there is none (NaN: no energised node, no rating)."""
    return round(value, digits) if math.isfinite(value) else None


def _figures(check: ScenarioResult | None) -> dict[str, Any] | None:
    if check is None:
        return None
    ok = check.converged
    return {
        "converged": ok,
        "min_u_pu": _number(check.min_u_pu, 4) if ok else None,
        "max_u_pu": _number(check.max_u_pu, 4) if ok else None,
        "max_loading": _number(check.max_loading, 4) if ok else None,
        "max_loading_element": check.max_loading_element,
        "losses_kw": _number(check.losses_kw, 1) if ok else None,
        "violations": [{"zh": v.describe(True), "en": v.describe(False)} for v in check.violations],
    }


def _watched(network: Network, plan: RestorationPlan, codes: np.ndarray) -> list[str]:
    """The switches whose position the plan depends on: every switch touching the outage
    area or the feeders its power flow covered (the receiving feeders; not the busbars, whose
    other feeders' breakers do not matter). ``codes``: the live feeder of every node."""
    covered = plan.power_flow_nodes[codes[plan.power_flow_nodes] != STATION]
    nodes = np.union1d(plan.outage_nodes, covered)
    n_sections = len(network.sections.id)
    touching = np.isin(network.edge_from, nodes) | np.isin(network.edge_to, nodes)
    return [network.edge_id(int(e)) for e in np.flatnonzero(touching) if e >= n_sections]


def _open_of(network: Network, closed: np.ndarray, watched: Sequence[str]) -> list[str]:
    """Those of ``watched`` that are open in ``closed``."""
    return [d for d in watched if (e := network.edge_index(d)) is not None and not closed[e]]


def _document(
    context: ServiceContext,
    plan: RestorationPlan,
    *,
    outage_id: int,
    fault_id: int | None,
    feeder_id: str,
    zones: Sequence[str],
    at: datetime,
    actor: str,
    mode: str = ADVISORY,
) -> dict[str, Any]:
    """The plan as stored and shown (call with ``context.lock`` held: it reads the live
    topology for the receiving feeders and the switch states it was planned on)."""
    net = context.network
    topology = context.analyser.topology
    analyser = context.analyser
    nothing = np.zeros(0, dtype=np.int32)
    outage_nodes = set(plan.outage_nodes.tolist())
    receiving: list[str] = []
    for step in plan.steps:
        if step.action is StepAction.RESTORE_TIE:
            for v in (int(net.edge_from[step.edge]), int(net.edge_to[step.edge])):
                code = int(topology.feeder_of_nodes[v])
                if v not in outage_nodes and code >= 0 and net.feeders.id[code] not in receiving:
                    receiving.append(net.feeders.id[code])
    checks = {lang: step_checks(plan, lang) for lang in (Lang.ZH, Lang.EN)}
    watched = _watched(net, plan, topology.feeder_of_nodes)
    feeder_name = net.feeders.name[net.feeders.id.index(feeder_id)] or feeder_id
    return {
        "outage_id": outage_id,
        "fault_event_id": fault_id,
        "feeder_id": feeder_id,
        "feeder_name": feeder_name,
        "mode": mode,
        "network_version_id": context.network_version_id,
        "computed_at": at.isoformat(),
        "computed_by": actor,
        "zones": list(zones),
        "region": [net.edge_id(e) for e in plan.region],
        "trip_assumed": plan.trip_assumed,
        "tripped": [{"device": net.edge_id(e), "name": element_name(net, e)} for e in plan.tripped],
        "isolation": [
            {"device": net.edge_id(e), "name": element_name(net, e)} for e in plan.isolation
        ],
        "steps": [
            {
                "number": i + 1,
                "device": step.device,
                "name": element_name(net, step.edge),
                "close": step.close,
                "operation": "close" if step.close else "open",
                "remote": step.remote,
                "action": step.action.value,
                "minutes": round(step.minutes, 2),
                "stage": plan.stage_of(i),
                "check": {"zh": checks[Lang.ZH][i], "en": checks[Lang.EN][i]},
            }
            for i, step in enumerate(plan.steps)
        ],
        "customers_out": plan.customers_out,
        "customers_restored": plan.customers_restored,
        "customers_still_off": plan.customers_out - plan.customers_restored,
        "load_out_kw": round(plan.load_out_kw, 1),
        "load_restored_kw": round(plan.load_restored_kw, 1),
        "restored": who_is_in(analyser.impact_of_nodes((), plan.restored_nodes, nothing)),
        "still_off": who_is_in(analyser.impact_of_nodes((), plan.dark_nodes, nothing)),
        "receiving_feeders": receiving,
        "power_flow": {
            "after": _figures(plan.final_check),
            "before": _figures(plan.base_check),
            "scenarios": plan.scenarios,
            "candidates": len(plan.candidates),
        },
        "order": {
            "zh": render(switching_order(plan, Lang.ZH)),
            "en": render(switching_order(plan, Lang.EN)),
        },
        "watched_switches": watched,
        "open_switches": _open_of(net, topology.closed, watched),
    }


def _compute(
    context: ServiceContext,
    session: Session,
    outage_id: int,
    *,
    fault_id: int | None,
    feeder_id: str,
    zones: Sequence[str],
    region: Sequence[int],
    actor: str,
    role: str,
    mode: str = ADVISORY,
) -> dict[str, Any]:
    now = context.clock()
    with context.lock:  # the planner previews candidates on the live topology
        planner = context.planners.planner(context.network, context.network_version_id)
        try:
            plan = planner.plan(context.analyser.topology, region)
        except ValueError as exc:
            raise InputError(f"outage {outage_id}: no restoration plan: {exc}") from exc
        document = _document(
            context,
            plan,
            outage_id=outage_id,
            fault_id=fault_id,
            feeder_id=feeder_id,
            zones=zones,
            at=now,
            actor=actor,
            mode=mode,
        )
    return store.save_plan(session, outage_id, document, at=now, actor=actor, role=role)


def widened_document(
    context: ServiceContext,
    outage_id: int,
    plan: RestorationPlan,
    *,
    previous: dict[str, Any],
    failed: dict[str, Any],
) -> dict[str, Any]:
    """``plan`` (replanned after the switch ``failed`` did not open, during execution) as the
    next revision of ``previous`` is stored (:func:`store_widened`); ``widened_after`` names
    the switch, and who had approved the plan it replaces (the execution goes on under that
    approval). Takes ``context.lock``: call it outside a write transaction."""
    with context.lock:
        document = _document(
            context,
            plan,
            outage_id=outage_id,
            fault_id=previous.get("fault_event_id"),
            feeder_id=str(previous["feeder_id"]),
            zones=list(previous["zones"]),
            at=context.clock(),
            actor="system",
            mode=str(previous.get("mode", ADVISORY)),
        )
    document["widened_after"] = failed | {
        "revision": previous["revision"],
        "approved_by": previous.get("approved_by"),
        "approved_at": previous.get("approved_at"),
    }
    return document


def store_widened(
    context: ServiceContext, session: Session, outage_id: int, document: dict[str, Any]
) -> dict[str, Any]:
    """Store a :func:`widened_document` as the plan's next revision."""
    return store.save_plan(session, outage_id, document, at=context.clock(), actor="system")


# -- the processor's entry ------------------------------------------------------------------
def _executing(session: Session, outage_id: int, zones: Sequence[str]) -> bool:
    """Whether the outage's plan is being executed (then it is not planned again)."""
    if switching_store.active_execution_of(session, outage_id) is None:
        return False
    log.warning(
        "outage %s: the fault moved to %s while its plan is being executed; not replanned",
        outage_id,
        ", ".join(zones),
    )
    return True


def plan_fault(
    context: ServiceContext, session: Session, fault_id: int, zone_of: ZoneOf
) -> dict[str, Any] | None:
    """The plan of a permanent fault on a feeder whose FLISR mode plans, stored on its outage
    (automatic / restore_only: queued for execution too); ``None`` when there is nothing to
    plan (disabled feeder, no lockout, nothing located, outage ended), the stored plan already
    covers the located zones, or the outage's plan is being executed."""
    record = fault_store.get_fault_event(session, fault_id)
    if not record.lockout or record.outage_id is None:
        return None
    mode = context.settings.flisr_mode_of(record.feeder_id)
    if mode not in PLANNED_MODES:
        return None
    zones = zones_of_location(dict(record.location) if record.location else None)
    if not zones:
        return None
    outage = outage_store.get_outage(session, record.outage_id)
    if outage.state not in OPEN_STATES:
        return None
    previous = store.find_plan(session, record.outage_id)
    same = previous is not None and previous.get("zones") == zones
    if (same and previous is not None and previous.get("fault_event_id") == fault_id) or _executing(
        session, record.outage_id, zones
    ):
        return None
    if previous and previous.get("approved_by"):
        log.warning(
            "outage %s: the fault moved to %s after %s approved the plan; planned again, to be "
            "approved again",
            record.outage_id,
            ", ".join(zones),
            previous["approved_by"],
        )
    region = region_of_zones(context.network, [zone_of(record, z) for z in zones])
    stored = _compute(
        context,
        session,
        record.outage_id,
        fault_id=fault_id,
        feeder_id=record.feeder_id,
        zones=zones,
        region=region,
        actor="system",
        role="system",
        mode=mode,
    )
    if mode in EXECUTING_MODES and stored["steps"]:
        try:
            with session.begin_nested():
                queue_execution(
                    session,
                    record.outage_id,
                    stored,
                    mode=mode,
                    at=context.clock(),
                    actor="system",
                    role="system",
                )
        except PlanConflictError as exc:
            log.warning("outage %s: plan not executed: %s", record.outage_id, exc)
    return stored


# -- the dispatcher's ---------------------------------------------------------------------------
def _check_role(who: Principal, what: str) -> None:
    if who.role not in APPROVERS:
        raise ForbiddenError(who.role, APPROVERS, what=what)


def _named(network: Network, element: str) -> str:
    """A switch or feeder by name, with its id: 10kV 柏山Ⅱ线 (BS-F02)."""
    if element in network.feeders.id:
        name = network.feeders.name[network.feeders.id.index(element)]
    else:
        edge = network.edge_index(element)
        name = element_name(network, edge) if edge is not None else None
    return f"{name} ({element})" if name and name != element else element


def _local(context: ServiceContext, iso: str) -> str:
    at = datetime.fromisoformat(iso).astimezone(ZoneInfo(context.settings.timezone))
    return at.strftime("%Y-%m-%d %H:%M:%S")


def _changes(context: ServiceContext, plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The switches the plan depends on whose position differs from when it was computed."""
    net = context.network
    watched = plan.get("watched_switches", ())
    with context.lock:
        now_open = set(_open_of(net, context.analyser.topology.closed, watched))
    then_open = set(plan.get("open_switches", ()))
    changed = []
    for device in sorted(now_open ^ then_open):
        edge = net.edge_index(device)
        name = element_name(net, edge) if edge is not None else device
        changed.append({"device": device, "name": name, "open_now": device in now_open})
    return changed


def _stale_reason(context: ServiceContext, plan: dict[str, Any]) -> dict[str, Any] | None:
    if plan.get("network_version_id") != context.network_version_id:
        return {
            "zh": "计算方案后电网模型已更新，请重新计算",
            "en": "the network model was re-imported since the plan was computed; recompute it",
            "changed": [],
        }
    changed = _changes(context, plan)
    if not changed:
        return None
    zh = "、".join(
        f"{c['name']}（{c['device']}）已{'拉开' if c['open_now'] else '合上'}" for c in changed
    )
    en = ", ".join(
        f"{c['device']} ({c['name']}) is now {'open' if c['open_now'] else 'closed'}"
        for c in changed
    )
    return {
        "zh": f"计算方案后开关位置已变化：{zh}；请重新计算方案",
        "en": f"switch positions changed since the plan was computed: {en}; recompute the plan",
        "changed": changed,
    }


def plan_view(context: ServiceContext, session: Session, outage_id: int) -> dict[str, Any]:
    """The stored plan, with whether it is stale now (``stale``: the reason, else None)."""
    plan = store.get_plan(session, outage_id)
    return plan | {"stale": _stale_reason(context, plan)} | _execution_view(session, outage_id)


def _execution_view(session: Session, outage_id: int) -> dict[str, Any]:
    """The latest execution of the outage's plan and every command of every execution."""
    executions = switching_store.executions_of(session, outage_id)
    return {
        "execution": executions[-1] if executions else None,
        "commands": switching_store.commands_of(session, outage_id),
    }


def _refuse_while_executing(session: Session, outage_id: int, what: str, what_zh: str) -> None:
    execution = switching_store.active_execution_of(session, outage_id)
    if execution is not None:
        raise switching_store.ExecutionConflictError(
            outage_id,
            "executing",
            f"the plan (revision {execution.revision}) is being executed; {what}",
            detail_zh=f"方案（第 {execution.revision} 版）正在执行，{what_zh}",
        )


def recompute(
    context: ServiceContext, session: Session, who: Principal, outage_id: int
) -> dict[str, Any]:
    """Plan again from the live switch states (the next revision; an approval is dropped)."""
    _check_role(who, "restoration plans")
    outage = outage_store.get_outage(session, outage_id)
    if outage.state not in OPEN_STATES:
        raise PlanConflictError(
            outage_id,
            "outage_ended",
            f"the outage is {outage.state}: nothing to restore",
            detail_zh=f"停电事件已为 {outage.state} 状态，无需恢复",
        )
    _refuse_while_executing(
        session, outage_id, "it is not recomputed until that ends", "执行结束前不能重新计算"
    )
    previous = store.find_plan(session, outage_id)
    if previous:
        zones = list(previous["zones"])
        fault_id = previous.get("fault_event_id")
        feeder_id = str(previous["feeder_id"])
        region = [e for d in previous["region"] if (e := context.network.edge_index(d)) is not None]
    else:
        faults = fault_store.list_fault_events(session, outage_id=outage_id, limit=1)
        if not faults:
            raise InputError(f"outage {outage_id} has no fault event: nothing to plan for")
        record = faults[0]
        zones = zones_of_location(dict(record.location) if record.location else None)
        if not zones:
            raise InputError(f"outage {outage_id}: its fault is not located yet")
        locating = FaultLocating(context)
        region = region_of_zones(context.network, [locating.zone(record, z) for z in zones])
        fault_id, feeder_id = record.id, record.feeder_id
    mode = context.settings.flisr_mode_of(feeder_id)
    document = _compute(
        context,
        session,
        outage_id,
        fault_id=fault_id,
        feeder_id=feeder_id,
        zones=zones,
        region=region,
        actor=who.name,
        role=who.role,
        mode=mode if mode in PLANNED_MODES else ADVISORY,
    )
    return document | {"stale": None} | _execution_view(session, outage_id)


def approve(
    context: ServiceContext, session: Session, who: Principal, outage_id: int, *, revision: int
) -> dict[str, Any]:
    """Record ``who``'s approval of revision ``revision`` of the plan (see the module doc for
    what is refused)."""
    _check_role(who, "plan approvals")
    store.lock_approvals(session)
    plan = store.get_plan(session, outage_id, for_update=True)
    outage = outage_store.get_outage(session, outage_id)
    if outage.state not in OPEN_STATES:
        raise PlanConflictError(
            outage_id,
            "outage_ended",
            f"the outage is {outage.state}: nothing to approve",
            detail_zh=f"停电事件已为 {outage.state} 状态，无需批准方案",
        )
    if plan.get("approved_by"):
        raise PlanConflictError(
            outage_id,
            "already_approved",
            f"revision {plan['revision']} of the plan was already approved by "
            f"{plan['approved_by']} at {_local(context, plan['approved_at'])}",
            detail_zh=f"第 {plan['revision']} 版方案已由 {plan['approved_by']} 于 "
            f"{_local(context, plan['approved_at'])} 批准",
            approved_by=plan["approved_by"],
            approved_at=plan["approved_at"],
        )
    if revision != plan["revision"]:
        raise PlanConflictError(
            outage_id,
            "revision",
            f"the plan was recomputed (revision {plan['revision']}) since revision {revision} "
            "was read; read it again before approving",
            detail_zh=f"方案已重新计算（第 {plan['revision']} 版），请重新查看后再批准",
            revision=plan["revision"],
        )
    stale = _stale_reason(context, plan)
    if stale is not None:
        raise PlanConflictError(
            outage_id, "stale", stale["en"], changed=stale["changed"], detail_zh=stale["zh"]
        )
    devices = {s["device"] for s in plan["steps"]}
    receiving = set(plan.get("receiving_feeders", ()))
    for other_id, other in store.approved_plans_of_open_outages(session, other_than=outage_id):
        shared = sorted(devices & {s["device"] for s in other["steps"]})
        feeders = sorted(receiving & set(other.get("receiving_feeders", ())))
        if shared or feeders:
            what = [_named(context.network, d) for d in shared + feeders]
            when = _local(context, other["approved_at"])
            raise PlanConflictError(
                outage_id,
                "conflicting",
                f"the plan of outage {other_id}, approved by {other['approved_by']} at "
                f"{when}, also uses {', '.join(what)}",
                detail_zh=f"停电事件 {other_id} 的方案（{other['approved_by']} 于 {when} 批准）"
                f"同样使用 {'、'.join(what)}，两个方案不能同时执行",
                other_outage_id=other_id,
                shared=shared + feeders,
            )
    stored = store.approve_plan(
        session, outage_id, revision=revision, at=context.clock(), actor=who.name, role=who.role
    )
    if context.settings.iec104_enabled and stored["steps"]:  # the master executes it
        _refuse_while_executing(session, outage_id, "it is not started twice", "不能重复执行")
        queue_execution(
            session,
            outage_id,
            stored,
            mode=ADVISORY,
            at=context.clock(),
            actor=who.name,
            role=who.role,
        )
    return stored | {"stale": None} | _execution_view(session, outage_id)
