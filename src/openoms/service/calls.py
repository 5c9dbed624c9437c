"""Trouble calls in the running service: merge, group, predict, screen, confirm.

Each ``trouble_call`` event (in the processor's transaction, under the context lock):

1. its area: ``transformer_area`` / ``element_id`` of the payload, else the customer of its
   ``account`` (``account_id``) or ``meter_id``; a call with none is kept for the dispatcher
   with the reason (link ``unresolved``);
2. an open outage that has the area off (a known fault, planned work in progress) takes the
   call: the caller is told so (link ``attached``);
3. otherwise the call joins its feeder's open call group (within ``call_window_min`` of the
   group's first call) and the group's prediction is recomputed from its stored calls
   (:mod:`openoms.outages.calls`): one ``fault`` record per predicted device (operated device,
   the areas below it, a summary naming the device and the calls, status predicted /
   probable), a ``customer`` record counting ONE customer per screened lone call. Records a
   new prediction no longer has are merged into the one that now explains their calls, or
   cancelled. A record the dispatcher confirmed, or one past ``detected``, is not touched.

A dispatcher confirms a prediction (:func:`confirm_prediction`); a device event that opens
the predicted device confirms it too (:func:`on_device_opened`: the predicted record is
merged into the device's own outage record).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from openoms.errors import InputError
from openoms.events import Event
from openoms.grid.model import ElementKind
from openoms.grid.topology import Topology
from openoms.i18n import Lang
from openoms.outages.calls import (
    HV_CUSTOMER,
    TRANSFORMER_AREA,
    Call,
    CallOptions,
    CallTree,
    PredictedOutage,
    PredictionStatus,
)
from openoms.outages.lifecycle import OPEN_STATES, OutageState
from openoms.outages.records import AreaOff, ElementKindOff, OutageKind, OutageRecord
from openoms.outages.summary import areas_of
from openoms.service.context import ServiceContext
from openoms.store import calls as stored_calls
from openoms.store import outages
from openoms.store.calls import CallLink, StoredCall
from openoms.store.customers import customer_by_account, customer_by_meter
from openoms.store.outage_queries import get_outage

__all__ = [
    "confirm_prediction",
    "handle_call",
    "on_device_opened",
    "refresh_statuses",
    "telemetered_closed",
]

SYSTEM = "system"
_FIXED_LINKS = (CallLink.ATTACHED, CallLink.UNRESOLVED)


@dataclass(frozen=True, slots=True)
class _Area:
    element_id: str | None
    account: str | None
    meter_id: str | None
    reason: str | None  # why no area, when element_id is None


def _resolve(  # noqa: PLR0911  (one return per way a call names its area)
    context: ServiceContext, session: Session, payload: dict[str, Any]
) -> _Area:
    network = context.network
    account = payload.get("account") or payload.get("account_id")
    account = account if isinstance(account, str) and account else None
    meter = payload.get("meter_id")
    meter = meter if isinstance(meter, str) and meter else None
    for key in ("transformer_area", "element_id"):
        element = payload.get(key)
        if not isinstance(element, str) or not element:
            continue
        if element not in network:
            return _Area(None, account, meter, f"{key} {element!r} is not in the network")
        kind, _ = network.locate(element)
        if kind not in (ElementKind.TRANSFORMER_AREA, ElementKind.HV_CUSTOMER):
            return _Area(None, account, meter, f"{element} is not a transformer area")
        return _Area(element, account, meter, None)
    if account is not None:
        customer = customer_by_account(session, account)
        if customer is not None and customer.element_id in network:
            return _Area(customer.element_id, account, meter, None)
    if meter is not None:
        customer = customer_by_meter(session, meter)
        if customer is not None and customer.element_id in network:
            return _Area(customer.element_id, customer.account, meter, None)
    if account is None and meter is None:
        return _Area(None, None, None, "call without a transformer area, account or meter id")
    named = f"account {account!r}" if account else f"meter {meter!r}"
    return _Area(None, account, meter, f"no customer with {named}")


def telemetered_closed(context: ServiceContext) -> set[str]:
    """Switches with a position point that the live topology has closed."""
    network = context.network
    points, switches = network.telecontrol_points, network.switches
    closed = context.analyser.topology.closed
    n_sections = len(network.sections.id)
    return {
        switches.id[int(s)]
        for s, point in zip(points.switch.tolist(), points.point, strict=True)
        if point == "switch_closed" and s >= 0 and bool(closed[n_sections + s])
    }


_TREES: dict[int, tuple[Topology, bytes, CallTree]] = {}  # by id(topology); a few at most


def _tree(context: ServiceContext) -> CallTree:
    """The call tree of the live topology, built again only after a switching change."""
    topology = context.analyser.topology
    state = topology.closed.tobytes()
    cached = _TREES.get(id(topology))
    if cached is not None and cached[0] is topology and cached[1] == state:
        tree = cached[2]
        if tree.network is context.network:
            return tree
    if len(_TREES) > 8:  # contexts of finished tests / reloaded networks
        _TREES.clear()
    tree = CallTree(context.network, topology)
    _TREES[id(topology)] = (topology, state, tree)
    return tree


def _options(context: ServiceContext) -> CallOptions:
    return CallOptions.from_settings(context.settings)


def handle_call(context: ServiceContext, session: Session, event: Event) -> str:
    """One trouble call (the processor's ``_call``); returns the outcome for the event log."""
    event_id = stored_calls.event_id_of(session, event.idempotency_key)
    if event_id is None:  # pragma: no cover - the processor only sees logged events
        raise InputError(f"trouble call {event.idempotency_key} is not in the event log")
    at = event.device_time
    area = _resolve(context, session, dict(event.payload))
    now = context.clock()
    if area.element_id is None:
        stored_calls.add_call(
            session, event_id=event_id, at=at, element_id=None, account=area.account,
            meter_id=area.meter_id, feeder_id=None, link=CallLink.UNRESOLVED, now=now,
            reason=area.reason,
        )  # fmt: skip
        return f"call kept for the dispatcher: {area.reason}"
    element = area.element_id
    tree = _tree(context)
    unit = tree.unit(element)
    feeder_index = int(tree.feeder[tree.unit_node[unit]])
    feeder = context.network.feeders.id[feeder_index] if feeder_index >= 0 else None
    options = _options(context)
    group = (
        stored_calls.open_group(session, feeder, at=at, window=options.window)
        if feeder is not None
        else None
    )
    own = set() if group is None else _group_records(session, group)  # not yet fixed
    # A planned outage booked for later is not why the caller is off now; a customer-side
    # record does not put the area off; the group's own predictions are recomputed instead.
    known = [
        r
        for r in outages.open_outages_with_areas_off(session, [element], started_by=at)
        if r.kind is not OutageKind.CUSTOMER and r.id not in own
    ]
    if known:
        record = known[0]
        stored_calls.add_call(
            session, event_id=event_id, at=at, element_id=element, account=area.account,
            meter_id=area.meter_id, feeder_id=feeder, link=CallLink.ATTACHED, now=now,
            outage_id=record.id,
        )  # fmt: skip
        return f"call attached to outage {record.id} (the caller's area is off in it)"
    if feeder is None:
        stored_calls.add_call(
            session, event_id=event_id, at=at, element_id=element, account=area.account,
            meter_id=area.meter_id, feeder_id=None, link=CallLink.UNRESOLVED, now=now,
            reason=f"{element} is off supply and no open outage has it",
        )  # fmt: skip
        return f"call kept for the dispatcher: {element} is off supply and no open outage has it"
    call = stored_calls.add_call(
        session, event_id=event_id, at=at, element_id=element, account=area.account,
        meter_id=area.meter_id, feeder_id=feeder, link=CallLink.PENDING, now=now,
    )  # fmt: skip
    group = call.id if group is None else group
    stored_calls.set_outcome(
        session, [call.id], group_id=group, outage_id=None, link=CallLink.PENDING
    )
    return _repredict(context, session, tree, group=group, new_call=call.id, options=options)


def _group_records(session: Session, group: int) -> set[int]:
    """The group's predicted and screened records that a new prediction may still change."""
    ids = {
        c.outage_id
        for c in stored_calls.calls_of_group(session, group)
        if c.outage_id is not None and c.link in (CallLink.PREDICTED, CallLink.SCREENED)
    }
    return {i for i in ids if not _fixed(get_outage(session, i))}


def _fixed(record: OutageRecord) -> bool:
    """A record the prediction no longer moves: confirmed, or past ``detected``."""
    prediction = record.summary.get("prediction")
    confirmed = isinstance(prediction, dict) and prediction.get("status") == "confirmed"
    return confirmed or record.state is not OutageState.DETECTED


def _repredict(
    context: ServiceContext,
    session: Session,
    tree: CallTree,
    *,
    group: int,
    new_call: int,
    options: CallOptions,
) -> str:
    members = stored_calls.calls_of_group(session, group)
    linked = {c.outage_id for c in members if c.outage_id is not None}
    records = {i: get_outage(session, i) for i in linked}
    fixed = {i for i, r in records.items() if _fixed(r)}
    live = [c for c in members if c.outage_id not in fixed and c.link not in _FIXED_LINKS]
    calls = [Call(tree.unit(str(c.element_id)), c.at, c.account) for c in live]
    now = max(c.at for c in live)
    prediction = tree.predict(
        calls, telemetered_closed=telemetered_closed(context), options=options, now=now
    )
    used: dict[int, int] = {}  # call id → record id
    by_device = {
        r.operated_device: i
        for i, r in records.items()
        if i not in fixed and r.kind is OutageKind.FAULT and r.operated_device
    }
    outcome = f"call waiting in call group {group} (too few calls for its area yet)"
    for predicted in prediction.outages:
        ids = [live[c].id for c in predicted.calls]
        record_id = _predicted_record(
            context, session, predicted, by_device.get(predicted.device), len(ids)
        )
        stored_calls.set_outcome(
            session, ids, group_id=group, outage_id=record_id, link=CallLink.PREDICTED
        )
        used.update(dict.fromkeys(ids, record_id))
        if new_call in ids:
            outcome = (
                f"call in group {group}: predicted {predicted.device} (outage {record_id}, "
                f"{len(ids)} calls, {predicted.status.value})"
            )
    for screened in prediction.screened:
        call = live[screened.call]
        kept = call.outage_id if call.link is CallLink.SCREENED else None
        if kept is not None and records[kept].state in _OPEN:
            record_id = kept
        else:
            record_id = _customer_record(context, session, call)
        stored_calls.set_outcome(
            session,
            [call.id],
            group_id=group,
            outage_id=record_id,
            link=CallLink.SCREENED,
            screened=True,
            reason="customer-side: the area's other customers are on",
        )
        used[call.id] = record_id
        if call.id == new_call:
            outcome = f"customer-side call: outage {record_id} (1 customer, no line crew)"
    waiting = [live[c].id for c in (*prediction.unexplained, *prediction.not_energised)]
    stored_calls.set_outcome(
        session,
        waiting,
        group_id=group,
        outage_id=None,
        link=CallLink.PENDING,
        reason="too few calls for the area yet",
    )
    _retire(session, records, fixed, live, used, at=now)
    return outcome


_OPEN = OPEN_STATES


def _retire(
    session: Session,
    records: dict[int, OutageRecord],
    fixed: set[int],
    live: Sequence[StoredCall],
    used: dict[int, int],
    *,
    at: datetime,
) -> None:
    """Records of the group a new prediction no longer uses: merged into the record that
    now explains their calls, else cancelled."""
    kept = set(used.values())
    for record_id, record in records.items():
        if record_id in fixed or record_id in kept or record.state not in _OPEN:
            continue
        into = {used[c.id] for c in live if c.outage_id == record_id and c.id in used}
        if into:
            outages.merge_outage(session, record_id, min(into), at=at, actor=SYSTEM)
        else:
            outages.transition_outage(
                session,
                record_id,
                OutageState.CANCELLED,
                at=at,
                actor=SYSTEM,
                note="prediction withdrawn: its calls wait for more calls",
            )


def _name(context: ServiceContext, element: str) -> str:
    network = context.network
    kind, index = network.locate(element)
    names = {
        ElementKind.SWITCH: network.switches.name,
        ElementKind.TRANSFORMER_AREA: network.transformer_areas.name,
        ElementKind.HV_CUSTOMER: network.hv_customers.name,
    }.get(kind)
    return (names[index] if names is not None else None) or element


def _predicted_record(
    context: ServiceContext,
    session: Session,
    predicted: PredictedOutage,
    existing: int | None,
    calls: int,
) -> int:
    network = context.network
    at = predicted.first_call_at
    if predicted.device_kind in (TRANSFORMER_AREA, HV_CUSTOMER):
        _, index = network.locate(predicted.device)
        if predicted.device_kind == TRANSFORMER_AREA:
            ta = network.transformer_areas
            areas = [
                AreaOff(
                    predicted.device,
                    ElementKindOff.TRANSFORMER_AREA,
                    int(ta.lv_customers[index]),
                    ta.village[index] or ta.street[index],
                    at,
                )
            ]
        else:
            hv = network.hv_customers
            village = hv.village[index] or hv.street[index]
            areas = [AreaOff(predicted.device, ElementKindOff.HV_CUSTOMER, 1, village, at)]
        scope_zh = (
            f"{len(areas)} 个{'台区' if predicted.device_kind == TRANSFORMER_AREA else '高压用户'}"
        )
        scope_en = predicted.device_kind.replace("_", " ")
    else:
        impact = context.analyser.of_opening([predicted.device])
        areas = areas_of(impact, at=at)
        scope_zh, scope_en = impact.scope(Lang.ZH), impact.scope(Lang.EN)
    name = _name(context, predicted.device)
    status = {"predicted": "预测", "probable": "很可能", "confirmed": "已确认"}[
        predicted.status.value
    ]
    summary = {
        "zh": f"用户报修研判：{name}（{predicted.device}）可能已动作，{calls} 个来电（{status}）；"
        f"停电范围：{scope_zh}",
        "en": f"trouble calls: {name} ({predicted.device}) has probably operated, {calls} "
        f"calls ({predicted.status.value}); off: {scope_en}",
        "counts": {"customers": predicted.customers_off, "calls": calls},
        "prediction": {
            "device": predicted.device,
            "device_kind": predicted.device_kind,
            "status": predicted.status.value,
            "calls": calls,
            "callers": predicted.callers,
            "score": round(predicted.score, 3),
        },
    }
    if existing is not None:
        record = get_outage(session, existing)
        known = {a.element_id for a in record.areas}
        more = [a for a in areas if a.element_id not in known]
        if more:
            outages.add_areas(session, existing, more, at=predicted.last_call_at, actor=SYSTEM)
        outages.update_outage(
            session, existing, summary=summary, at=predicted.last_call_at, actor=SYSTEM
        )
        return existing
    return outages.create_outage(
        session,
        kind=OutageKind.FAULT,
        network_version_id=context.network_version_id,
        started_at=at,
        actor=SYSTEM,
        feeder_id=predicted.feeder,
        operated_device=predicted.device,
        areas=areas,
        summary=summary,
        now=context.clock(),
    )


def _customer_record(context: ServiceContext, session: Session, call: StoredCall) -> int:
    network = context.network
    element = str(call.element_id)
    kind, index = network.locate(element)
    if kind is ElementKind.TRANSFORMER_AREA:
        table, off_kind = network.transformer_areas, ElementKindOff.TRANSFORMER_AREA
    else:
        table, off_kind = network.hv_customers, ElementKindOff.HV_CUSTOMER  # type: ignore[assignment]
    name = table.name[index] or element
    return outages.create_outage(
        session,
        kind=OutageKind.CUSTOMER,
        network_version_id=context.network_version_id,
        started_at=call.at,
        actor=SYSTEM,
        feeder_id=call.feeder_id,
        areas=[AreaOff(element, off_kind, 1, table.village[index] or table.street[index], call.at)],
        summary={
            "zh": f"{name} 用户报修：用户侧问题（台区其他用户有电），计 1 户，不派线路抢修",
            "en": f"trouble call from {element}: customer-side (the area's other customers are "
            "on), 1 customer, no line crew",
            "counts": {"customers": 1, "calls": 1},
            "prediction": {"device": element, "status": "screened", "calls": 1},
        },
        now=context.clock(),
    )


def confirm_prediction(
    context: ServiceContext,
    session: Session,
    outage_id: int,
    *,
    actor: str,
    role: str,
    at: datetime,
) -> OutageRecord:
    """The dispatcher confirms a predicted device: status confirmed, the record located."""
    record = get_outage(session, outage_id)
    prediction = record.summary.get("prediction")
    if not isinstance(prediction, dict) or prediction.get("status") in (None, "screened"):
        raise InputError(f"outage {outage_id} is not a predicted device outage")
    summary = dict(record.summary)
    summary["prediction"] = {**prediction, "status": PredictionStatus.CONFIRMED.value}
    for lang in ("zh", "en"):
        text = str(summary.get(lang, ""))
        for old in ("（预测）", "（很可能）", "(predicted)", "(probable)"):
            text = text.replace(old, "（已确认）" if lang == "zh" else "(confirmed)")
        summary[lang] = text
    outages.update_outage(session, outage_id, summary=summary, at=at, actor=actor, role=role)
    if record.state is OutageState.DETECTED:
        outages.transition_outage(
            session,
            outage_id,
            OutageState.LOCATED,
            at=at,
            actor=actor,
            role=role,
            note="prediction confirmed",
        )
    del context
    return get_outage(session, outage_id)


def on_device_opened(
    session: Session, device: str, outage_id: int | None, *, at: datetime
) -> list[int]:
    """A device event opened ``device`` (its own record ``outage_id``, if any): the open
    predicted records of that device are confirmed, and merged into ``outage_id``; their
    calls are attached to it. Returns the predicted records concerned."""
    from sqlalchemy import select  # noqa: PLC0415

    from openoms.store.tables import Outage  # noqa: PLC0415

    ids = session.scalars(
        select(Outage.id).where(
            Outage.operated_device == device,
            Outage.state == OutageState.DETECTED.value,
            Outage.kind == OutageKind.FAULT.value,
        )
    ).all()
    found = []
    for record_id in ids:
        record = get_outage(session, record_id)
        if record_id == outage_id or "prediction" not in record.summary:
            continue
        found.append(record_id)
        summary = dict(record.summary)
        summary["prediction"] = {**summary["prediction"], "status": "confirmed"}
        outages.update_outage(session, record_id, summary=summary, at=at, actor=SYSTEM)
        if outage_id is not None:
            calls = stored_calls.calls_of_outage(session, record_id)
            for call in calls:
                stored_calls.set_outcome(
                    session,
                    [call.id],
                    group_id=call.group_id,
                    outage_id=outage_id,
                    link=CallLink.ATTACHED,
                )
            outages.merge_outage(
                session, record_id, outage_id, at=at, actor=SYSTEM, note=f"{device} opened"
            )
    return found


def refresh_statuses(context: ServiceContext, session: Session, *, now: datetime) -> list[int]:
    """Predictions that became probable by time alone (no call since): ``predicted`` records
    whose first call is ``call_probable_min`` old by ``now``. For the processor's tick;
    returns the records changed."""
    from sqlalchemy import select  # noqa: PLC0415

    from openoms.store.tables import Outage  # noqa: PLC0415

    due = now - _options(context).probable_after
    ids = session.scalars(
        select(Outage.id).where(
            Outage.kind == OutageKind.FAULT.value,
            Outage.state == OutageState.DETECTED.value,
            Outage.started_at <= due,
        )
    ).all()
    changed = []
    for record_id in ids:
        record = get_outage(session, record_id)
        prediction = record.summary.get("prediction")
        if not isinstance(prediction, dict) or prediction.get("status") != "predicted":
            continue
        summary = dict(record.summary)
        summary["prediction"] = {**prediction, "status": PredictionStatus.PROBABLE.value}
        summary["zh"] = str(summary.get("zh", "")).replace("（预测）", "（很可能）")
        summary["en"] = str(summary.get("en", "")).replace("(predicted)", "(probable)")
        outages.update_outage(session, record_id, summary=summary, at=now, actor=SYSTEM)
        changed.append(record_id)
    return changed
