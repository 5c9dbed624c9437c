"""Planned outages: book the work, approve it, tell the customers, and follow the switching.

A planner books work on a stretch of line (sections or switches, ``work_on``) with its
window. OpenOMS finds the isolation and the switching that keeps everyone else on with the
FLISR planner (:mod:`openoms.restoration`: the isolation switches nearest the work, the
healthy parts fed back through ties whose feeders carry them, checked by power flow), the
impact (villages, streets, transformer areas, LV and HV customers, sensitive customers,
energy not supplied) and what live-line work or a mobile generator would keep on instead.
A booking by explicit isolation switches (``opened``) is taken as it is.

The booking is a ``draft`` (the planner's own). Approval checks the notice lead time
(:func:`~openoms.outages.planned.check_notice_lead_time`) at that moment and sends the notice
to every affected customer (``notified``). A postponement is a correction notice with the new
window, a cancellation a cancellation notice. The outage record (kind ``planned``, counted so
in the reliability figures) is not made by the booking: the opening of one of the work's
switches inside its window makes it (:func:`record_opening`, called by the event processor),
and the return of supply completes the work (:func:`openoms.service.outages.complete_planned_work`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from openoms.errors import ForbiddenError, InputError
from openoms.grid.model import Network
from openoms.i18n import Lang
from openoms.outages.impact import Impact, ImpactAnalyser
from openoms.outages.lifecycle import OPEN_STATES
from openoms.outages.notices import NoticeChannel, NoticeSubject
from openoms.outages.planned import (
    OPEN_PLANNED_STATES,
    WORK_TYPE_ZH,
    AreaLoad,
    MethodComparison,
    NoticeTooLateError,
    PlannedState,
    PlannedWork,
    WorkType,
    check_notice_lead_time,
    compare_methods,
)
from openoms.outages.records import OutageKind
from openoms.outages.summary import areas_of, outage_summary
from openoms.restoration import RestorationPlanner, StepAction
from openoms.service import notices
from openoms.service.context import ServiceContext
from openoms.service.outages import Principal
from openoms.service.restoration import element_name, who_is_in
from openoms.settings import Settings
from openoms.store import outages as outage_store
from openoms.store import planned as store
from openoms.store.tokens import Role

__all__ = [
    "APPROVERS",
    "BOOKERS",
    "Preview",
    "WorkPlan",
    "approve_work",
    "book_work",
    "cancel_work",
    "notice_action",
    "notice_preview",
    "notice_subject",
    "plan_work",
    "postpone_work",
    "preview_work",
    "record_opening",
    "summary_of",
]

BOOKERS: Final = frozenset({Role.ADMIN, Role.DISPATCHER, Role.PLANNER})
APPROVERS: Final = frozenset({Role.ADMIN, Role.DISPATCHER, Role.PLANNER})
SYSTEM: Final = "system"


@dataclass(frozen=True, eq=False)
class WorkPlan:
    """What a piece of planned work means for the network, before it is booked."""

    work_on: tuple[str, ...]
    opened: tuple[str, ...]  # isolation switches
    switching: tuple[dict[str, Any], ...]  # every operation, in order, with names
    impact: Impact  # who is off once the switching is done
    comparison: MethodComparison
    feeder_id: str | None
    check: dict[str, Any] | None  # the power flow after switching (None: no tie used)

    @property
    def element_ids(self) -> list[str]:
        return self.impact.transformer_areas + self.impact.hv_customers

    @property
    def customers(self) -> int:
        return self.impact.lv_customers + len(self.impact.hv_customer_index)


def _edges_worked_on(network: Network, work_on: Sequence[str]) -> list[int]:
    unknown = [e for e in work_on if e not in network]
    if unknown:
        raise InputError(f"work on unknown element(s) of network {network.name}: {unknown}")
    edges = []
    for element in work_on:
        edge = network.edge_index(element)
        if edge is None:
            kind, _ = network.locate(element)
            what = kind.value.removesuffix("s").replace("_", " ")
            raise InputError(
                f"work on {element}: it is a {what}, not a stretch of line; name the sections "
                "or switches worked on"
            )
        edges.append(edge)
    return edges


def _area_loads(impact: Impact) -> list[AreaLoad]:
    net = impact.network
    tas, hvs, sc = net.transformer_areas, net.hv_customers, net.sensitive_customers
    sensitive_ta = {int(i) for i in sc.transformer_area.tolist() if i >= 0}
    sensitive_hv = {int(i) for i in sc.hv_customer.tolist() if i >= 0}
    loads = [
        AreaLoad(tas.id[i], int(tas.lv_customers[i]), float(tas.load_kw[i]), i in sensitive_ta)
        for i in impact.transformer_area_index.tolist()
    ]
    loads += [
        AreaLoad(hvs.id[i], 1, float(hvs.load_kw[i]), i in sensitive_hv)
        for i in impact.hv_customer_index.tolist()
    ]
    return loads


def _figures(check: Any) -> dict[str, Any] | None:
    if check is None or not check.converged:
        return None
    return {
        "min_u_pu": round(float(check.min_u_pu), 4),
        "max_u_pu": round(float(check.max_u_pu), 4),
        "max_loading": round(float(check.max_loading), 4),
        "max_loading_element": check.max_loading_element,
    }


def plan_work(
    network: Network,
    analyser: ImpactAnalyser,
    planner: RestorationPlanner,
    settings: Settings,
    *,
    starts_at: datetime,
    ends_at: datetime,
    work_on: Sequence[str] = (),
    opened: Sequence[str] = (),
    live_line_off: Sequence[str] = (),
) -> WorkPlan:
    """The switching, the impact and the comparison of work on ``work_on`` (or of opening
    ``opened``) from ``starts_at`` to ``ends_at``, on the analyser's live topology (the
    caller holds the service's lock; the topology is left as it was)."""
    if ends_at <= starts_at:
        raise InputError(
            f"the work must end after it starts: {starts_at.isoformat()} to {ends_at.isoformat()}"
        )
    if not work_on and not opened:
        raise InputError(
            "name the sections or switches worked on (work_on) or the switches to open"
        )
    topology = analyser.topology
    check: dict[str, Any] | None = None
    if opened:
        impact = analyser.of_opening(opened)
        switching = tuple(
            {
                "number": i + 1,
                "device": d,
                "name": _name(network, d),
                "close": False,
                "remote": False,
                "action": "isolate",
            }
            for i, d in enumerate(opened)
        )
        isolation = tuple(opened)
    else:
        edges = _edges_worked_on(network, work_on)
        fed = topology.feeder_of_nodes
        ends = zip(network.edge_from[edges].tolist(), network.edge_to[edges].tolist(), strict=True)
        dead = [
            network.edge_id(e)
            for e, (a, b) in zip(edges, ends, strict=True)
            if fed[a] < 0 and fed[b] < 0
        ]
        if dead:
            raise InputError(f"work on {', '.join(dead)}: already off supply; nothing to switch")
        plan = planner.plan(topology, edges, stages=False)  # the crew is there from the start
        reclosed = {
            s.edge for s in plan.steps if s.action is StepAction.RESTORE_UPSTREAM and s.close
        }
        # The work opens its isolation itself: nothing trips first. A "tripped" device the
        # plan re-closes is never opened at all (the part above the work stays on); one it
        # leaves open is opened last, after the ties took over the healthy parts below.
        ops = [
            (s.edge, s.close, s.remote, s.action.value)
            for s in plan.steps
            if s.edge not in reclosed
        ]
        last = [e for e in plan.tripped if e not in reclosed]
        ops += [(e, False, _remote(network, e), "isolate") for e in last]
        switching = tuple(
            {
                "number": i + 1,
                "device": network.edge_id(edge),
                "name": element_name(network, edge),
                "close": close,
                "remote": remote,
                "action": action,
            }
            for i, (edge, close, remote, action) in enumerate(ops)
        )
        isolation = tuple(network.edge_id(e) for e in (*plan.isolation, *last))
        nothing = np.zeros(0, dtype=np.int32)
        impact = analyser.impact_of_nodes(isolation, plan.dark_nodes, nothing)
        if any(s.action is StepAction.RESTORE_TIE for s in plan.steps):
            check = _figures(plan.final_check)
    if impact.is_empty:
        raise InputError(
            f"the work on {', '.join(work_on or opened)} puts no customer off supply; "
            "it needs no planned outage"
        )
    hours = (ends_at - starts_at).total_seconds() / 3600.0
    comparison = compare_methods(
        _area_loads(impact),
        hours=hours,
        generators=settings.mobile_generators,
        generator_kw=settings.mobile_generator_kw,
        live_line_off=live_line_off,
    )
    return WorkPlan(
        work_on=tuple(work_on),
        opened=isolation,
        switching=switching,
        impact=impact,
        comparison=comparison,
        feeder_id=impact.feeders[0] if len(impact.feeders) == 1 else None,
        check=check,
    )


def _remote(network: Network, edge: int) -> bool:
    n_sections = len(network.sections.id)
    return edge >= n_sections and bool(network.switches.remote[edge - n_sections])


def _name(network: Network, element: str) -> str:
    edge = network.edge_index(element) if element in network else None
    return element_name(network, edge) if edge is not None else element


def _line_name(network: Network, feeder_id: str | None) -> str | None:
    if feeder_id is None or feeder_id not in network.feeders.id:
        return None
    return network.feeders.name[network.feeders.id.index(feeder_id)] or feeder_id


def summary_of(
    network: Network, plan: WorkPlan, *, reason: str, ends_at: datetime
) -> dict[str, Any]:
    impact = plan.impact
    ens = plan.comparison.outage.energy_not_supplied_kwh
    return outage_summary(
        impact, opened=plan.opened, estimated_restoration_at=ends_at, note=reason
    ) | {
        "line": _line_name(network, plan.feeder_id),
        "streets": impact.streets,
        "work_on": [{"id": w, "name": _name(network, w)} for w in plan.work_on],
        "who": who_is_in(impact),
        "customers": plan.customers,
        "energy_not_supplied_kwh": round(ens, 1) if math.isfinite(ens) else None,
        "comparison": plan.comparison.as_dict(),
        "power_flow_after": plan.check,
    }


def _check_role(who: Principal, allowed: frozenset[Role], what: str) -> None:
    if who.role not in allowed:
        raise ForbiddenError(who.role, allowed, what=what)


def _notice_rule(
    context: ServiceContext, starts_at: datetime, *, now: datetime, work_type: WorkType
) -> dict[str, Any]:
    settings = context.settings
    found = check_notice_lead_time(
        starts_at,
        now=now,
        notice_days=settings.planned_notice_days,
        temporary_notice_hours=settings.temporary_notice_hours,
        temporary=work_type is WorkType.TEMPORARY,
        zone=ZoneInfo(settings.timezone),
    )
    return {
        "rule": found.rule,
        "notice_hours": found.notice.total_seconds() / 3600.0,
        "deadline": found.deadline.isoformat(),
        "checked_at": now.isoformat(),
        "flagged": found.flagged,
    }


@dataclass(frozen=True, eq=False)
class Preview:
    plan: WorkPlan
    summary: dict[str, Any]
    notice: dict[str, Any] | None
    notice_problem: str | None


def _plan(
    context: ServiceContext,
    *,
    starts_at: datetime,
    ends_at: datetime,
    work_on: Sequence[str],
    opened: Sequence[str],
    live_line_off: Sequence[str],
) -> WorkPlan:
    network = context.network
    with context.lock:
        planner = context.planners.planner(network, context.network_version_id)
        return plan_work(
            network,
            context.analyser,
            planner,
            context.settings,
            starts_at=starts_at,
            ends_at=ends_at,
            work_on=work_on,
            opened=opened,
            live_line_off=live_line_off,
        )


def preview_work(
    context: ServiceContext,
    who: Principal,
    *,
    work_type: WorkType,
    reason: str,
    starts_at: datetime,
    ends_at: datetime,
    work_on: Sequence[str] = (),
    opened: Sequence[str] = (),
    live_line_off: Sequence[str] = (),
    now: datetime,
) -> Preview:
    """What booking the work would record, without recording it; a start too close for the
    notice is reported (``notice_problem``), not raised."""
    _check_role(who, BOOKERS, "planned-outage bookings")
    plan = _plan(
        context,
        starts_at=starts_at,
        ends_at=ends_at,
        work_on=work_on,
        opened=opened,
        live_line_off=live_line_off,
    )
    summary = summary_of(context.network, plan, reason=reason, ends_at=ends_at)
    try:
        notice: dict[str, Any] | None = _notice_rule(
            context, starts_at, now=now, work_type=work_type
        )
        problem = None
    except NoticeTooLateError as exc:
        notice, problem = None, str(exc)
    return Preview(plan, summary, notice, problem)


def book_work(
    context: ServiceContext,
    session: Session,
    who: Principal,
    *,
    work_type: WorkType,
    reason: str,
    starts_at: datetime,
    ends_at: datetime,
    work_on: Sequence[str] = (),
    opened: Sequence[str] = (),
    crews: Sequence[str] = (),
    live_line_off: Sequence[str] = (),
    now: datetime,
) -> PlannedWork:
    """Book planned work as a draft. Refused when its start no longer leaves the notice the
    rules ask for (checked again at approval)."""
    _check_role(who, BOOKERS, "planned-outage bookings")
    if not reason.strip():
        raise InputError("a planned outage needs its reason (the work to be done)")
    plan = _plan(
        context,
        starts_at=starts_at,
        ends_at=ends_at,
        work_on=work_on,
        opened=opened,
        live_line_off=live_line_off,
    )
    notice = _notice_rule(context, starts_at, now=now, work_type=work_type)
    summary = summary_of(context.network, plan, reason=reason, ends_at=ends_at)
    work_id = store.create_work(
        session,
        network_version_id=context.network_version_id,
        work_type=work_type,
        reason=reason,
        crews=crews,
        work_on=plan.work_on,
        opened=plan.opened,
        switching=plan.switching,
        starts_at=starts_at,
        ends_at=ends_at,
        feeder_id=plan.feeder_id,
        element_ids=plan.element_ids,
        customers=plan.customers,
        summary=summary,
        notice=notice,
        actor=who.name,
        role=who.role,
        now=now,
    )
    return store.get_work(session, work_id)


def _publish(
    context: ServiceContext, session: Session, work: PlannedWork, action: str, *, now: datetime
) -> None:
    """The work's notice to its customers (new, changed or cancelled)."""
    notices.publish_notice(context, session, notice_subject(context.network, work, action), now=now)


def notice_subject(network: Network, work: PlannedWork, action: str) -> NoticeSubject:
    """The notice of ``work`` as the notice engine takes it."""
    summary = work.summary
    kind = "temporary" if work.work_type is WorkType.TEMPORARY else "planned"
    reason_zh = f"{WORK_TYPE_ZH[work.work_type]}（{work.reason}）"
    return NoticeSubject(
        ref=f"planned:{work.id}",
        kind=kind,
        action=action,
        revision=work.revision,
        starts_at=work.starts_at,
        ends_at=work.ends_at,
        element_ids=work.element_ids,
        villages=tuple(summary.get("villages", ())),
        streets=tuple(summary.get("streets", ())),
        line=summary.get("line") or _line_name(network, work.feeder_id),
        reason_zh=reason_zh,
        reason_en=f"{work.work_type.value} ({work.reason})",
    )


def approve_work(
    context: ServiceContext,
    session: Session,
    who: Principal,
    work_id: int,
    *,
    now: datetime,
    note: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> PlannedWork:
    """Approve a draft (or a postponed booking, with its new window), check its notice lead
    time now, and send the notice: the booking ends ``notified``."""
    _check_role(who, APPROVERS, "planned-outage approval")
    work = store.get_work(session, work_id)
    start = starts_at or work.starts_at
    end = ends_at or work.ends_at
    notice = _notice_rule(context, start, now=now, work_type=work.work_type)
    window = (start, end) if (start, end) != (work.starts_at, work.ends_at) else None
    approved = store.transition_work(
        session,
        work_id,
        PlannedState.APPROVED,
        at=now,
        actor=who.name,
        role=who.role,
        note=note,
        window=window,
        notice=notice,
    )
    _publish(context, session, approved, notice_action(approved), now=now)
    return store.transition_work(
        session,
        work_id,
        PlannedState.NOTIFIED,
        at=now,
        actor=SYSTEM,
        role=SYSTEM,
        note="notice sent to the affected customers",
    )


def postpone_work(
    context: ServiceContext,
    session: Session,
    who: Principal,
    work_id: int,
    *,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    note: str | None = None,
) -> PlannedWork:
    """Put the work off to a new window; customers already told get the correction at once.
    It is approved again (:func:`approve_work`) before it can start."""
    _check_role(who, APPROVERS, "planned-outage postponement")
    before = store.get_work(session, work_id)
    notice = _notice_rule(context, starts_at, now=now, work_type=before.work_type)
    work = store.transition_work(
        session,
        work_id,
        PlannedState.POSTPONED,
        at=now,
        actor=who.name,
        role=who.role,
        note=note,
        window=(starts_at, ends_at),
        notice=notice,
    )
    if _told(work):
        _publish(context, session, work, "changed", now=now)
    return work


def cancel_work(
    context: ServiceContext,
    session: Session,
    who: Principal,
    work_id: int,
    *,
    now: datetime,
    note: str | None = None,
) -> PlannedWork:
    """Call the work off; customers already told get the cancellation."""
    _check_role(who, APPROVERS, "planned-outage cancellation")
    work = store.transition_work(
        session, work_id, PlannedState.CANCELLED, at=now, actor=who.name, role=who.role, note=note
    )
    if _told(work):
        _publish(context, session, work, "cancelled", now=now)
    return work


def _planned_record(
    context: ServiceContext,
    session: Session,
    work: PlannedWork,
    device: str,
    impact: Impact,
    *,
    at: datetime,
    texts: dict[str, str],
) -> int:
    """A new outage record of kind ``planned`` for an opening of ``work``'s switching."""
    return outage_store.create_outage(
        session,
        kind=OutageKind.PLANNED,
        network_version_id=context.network_version_id,
        started_at=at,
        actor=SYSTEM,
        feeder_id=impact.feeders[0] if len(impact.feeders) == 1 else None,
        operated_device=device,
        cause=work.work_type.value,
        areas=areas_of(impact, at=at),
        summary=outage_summary(impact) | {"planned_work_id": work.id, "note": work.reason} | texts,
        now=context.clock(),
    )


def record_opening(
    context: ServiceContext, session: Session, device: str, impact: Impact, *, at: datetime
) -> tuple[str, int] | None:
    """The planned work an opening of ``device`` at ``at`` belongs to, if any: its outage
    record made (kind ``planned``; the work ``in_progress``) or, the work already started,
    the areas this opening puts off added to it. ``None``: not planned work (a fault)."""
    slack = context.settings.planned_start_slack_min * 60.0
    work = store.work_opening(
        session,
        device,
        at=at,
        states=OPEN_PLANNED_STATES | {PlannedState.COMPLETED},
        earliest_start_slack_s=slack,
    )
    if work is None:
        return None
    areas = areas_of(impact, at=at)
    if work.state is PlannedState.COMPLETED:  # putting the network back after the work
        outage_id = _planned_record(
            context,
            session,
            work,
            device,
            impact,
            at=at,
            texts={
                "zh": f"计划工作 {work.id} 结束后恢复正常方式：{impact.summary(Lang.ZH)}",
                "en": f"back to normal after planned work {work.id}: {impact.summary(Lang.EN)}",
            },
        )
        return f"planned outage {outage_id}: {device} opened after work {work.id}", outage_id
    if work.outage_id is not None:
        outage = outage_store.get_outage(session, work.outage_id)
        known = {a.element_id for a in outage.areas}
        # Areas newly off join the work's open record; an area off a second time (or a
        # record already restored) starts a record of its own, linked to the work instead.
        if outage.state in OPEN_STATES and not known & {a.element_id for a in areas}:
            outage_store.add_areas(session, outage.id, areas, at=at, actor=SYSTEM)
            return (
                f"planned outage {outage.id} (work {work.id}): {device} opened, "
                f"{len(areas)} more area(s) off",
                outage.id,
            )
    outage_id = _planned_record(
        context,
        session,
        work,
        device,
        impact,
        at=at,
        texts={
            "estimated_restoration_at": work.ends_at.isoformat(),
            "zh": f"计划停电（工作 {work.id}）：{impact.summary(Lang.ZH)}",
            "en": f"planned outage (work {work.id}): {impact.summary(Lang.EN)}",
        },
    )
    store.link_outage(session, work.id, outage_id, at=at)
    if work.state is not PlannedState.IN_PROGRESS:
        store.transition_work(
            session,
            work.id,
            PlannedState.IN_PROGRESS,
            at=at,
            actor=SYSTEM,
            role=SYSTEM,
            note=f"{device} opened",
        )
    return f"planned outage {outage_id} (work {work.id}) started: {device} opened", outage_id


def _told(work: PlannedWork) -> bool:
    """Customers were told of this work at some revision."""
    return any(h.to_state is PlannedState.NOTIFIED for h in work.history)


def notice_action(work: PlannedWork) -> str:
    """What the work's notice is now: a cancellation once cancelled, a correction once
    customers told of it saw its window change, else the first notice."""
    if work.state is PlannedState.CANCELLED:
        return "cancelled"
    return "changed" if _told(work) and work.revision > 1 else "new"


def notice_preview(
    context: ServiceContext, work: PlannedWork, channel: NoticeChannel, *, lang: str
) -> tuple[str, str]:
    """The (title, body) of the notice ``work`` sends (or sent) on ``channel``: a correction
    once it was postponed, a cancellation once cancelled."""
    subject = notice_subject(context.network, work, notice_action(work))
    return notices.preview_notice(subject, channel, lang=lang, settings=context.settings)
