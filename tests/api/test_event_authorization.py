"""Events are authorized as the routes they stand for: route × role × crew-status matrix.

For every role and every state a ``crew_status`` event may ask for, what the event does to an
outage (posted, then acted on by the event processor) never exceeds what the same role can do
to an identical outage through the direct routes (``POST /outages/{id}/transitions``, and for
``restored`` a ``repair`` restoration step of the areas still off). The HTTP edge refuses
what the role may not ask (403); the processor checks again as the sender recorded with the
event, so that an event that got into the log another way cannot do more either. State
changes keep their full meaning (``restored`` brings the areas back, ``merged`` names its
target) and the history and the audit name the real sender, never ``system``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from openoms.events import Event, EventKind, EventSource, Sender
from openoms.outages.lifecycle import OutageState
from openoms.outages.records import OutageRecord
from openoms.service.processor import EventProcessor
from openoms.store import eventlog, outages
from openoms.store.audit import list_audit
from openoms.store.tables import EventRow
from openoms.store.tokens import Role
from tests.api.conftest import Api

D, C = Role.DISPATCHER, Role.CREW


@dataclass(frozen=True)
class Effect:
    """What was done to an outage: the parts an authorization decides."""

    state: OutageState
    areas_restored: int
    restored_at_set: bool
    merged_into_id: int | None


def _effect(record: OutageRecord) -> Effect:
    return Effect(
        record.state,
        sum(1 for a in record.areas if a.restored_at is not None),
        record.restored_at is not None,
        record.merged_into_id,
    )


def _record(api: Api, outage_id: int) -> OutageRecord:
    with api.context.sessions() as session:
        return outages.get_outage(session, outage_id)


def _process(api: Api) -> list[str]:
    """Act on the logged events; the outcome of every event in the log, in log order."""
    EventProcessor(api.context).process_pending()
    with api.context.sessions() as session:
        return [str(o) for o in session.scalars(select(EventRow.outcome).order_by(EventRow.id))]


def _crew_status(api: Api, outage_id: int, status: str, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "crew_status",
        "device_time": api.clock.now.isoformat(),
        "idempotency_key": key,
        "payload": {"outage_id": outage_id, "status": status, **extra},
    }


def _direct_effects(api: Api, role: Role, status: OutageState) -> set[Effect]:
    """What ``role`` can make of a fresh outage through the routes a status stands for."""
    effects = set()
    outage = api.fault_outage("K1")
    moved = api.post(f"/api/v1/outages/{outage}/transitions", role=role, json={"to": status})
    if moved.status_code == 200:
        effects.add(_effect(_record(api, outage)))
    if status is OutageState.RESTORED:
        outage = api.fault_outage("K1")
        off = [a.element_id for a in _record(api, outage).areas]
        step = api.post(
            f"/api/v1/outages/{outage}/restoration-steps",
            role=role,
            json={"element_ids": off, "how": "repair"},
        )
        if step.status_code == 201:
            effects.add(_effect(_record(api, outage)))
    return effects


@pytest.mark.parametrize("role", list(Role))
def test_a_crew_status_event_never_does_more_than_its_role_may_directly(
    api: Api, role: Role
) -> None:
    name = f"{role.value}-1"
    for n, status in enumerate(OutageState):
        direct = _direct_effects(api, role, status)
        outage = api.fault_outage("K1")
        before = _effect(_record(api, outage))
        answer = api.post(
            "/api/v1/events", role=role, json=_crew_status(api, outage, status, f"m{n}")
        )
        assert answer.status_code in {202, 403, 422}, answer.text
        _process(api)
        after = _record(api, outage)
        done = _effect(after)
        label = f"{role} → {status}: event {done}, direct {direct}"
        if done == before:
            continue  # nothing happened: never more than allowed
        assert answer.status_code == 202, label
        assert done in direct, label
        # The real sender in the history and the audit, never "system".
        assert after.history[-1].actor == name, label
        with api.context.sessions() as session:
            entries = list_audit(session, object_kind="outage", object_id=outage)
        changes = [e for e in entries if e.action != "outage.create"]
        assert changes, label
        assert {(e.actor, e.role) for e in changes} == {(name, role.value)}, label
        if after.state is OutageState.RESTORED:  # restored means every area back
            assert all(a.restored_at is not None for a in after.areas), label
            assert after.customers_off == 0, label


def test_the_issue_cases(api: Api) -> None:
    outage = api.fault_outage("K1")
    # A crew may not cancel: not through the route, not through an event (single or batch).
    assert (
        api.post(
            f"/api/v1/outages/{outage}/transitions", role=C, json={"to": "cancelled"}
        ).status_code
        == 403
    )
    single = api.post("/api/v1/events", role=C, json=_crew_status(api, outage, "cancelled", "a"))
    assert single.status_code == 403
    assert single.json()["type"] == "urn:openoms:problem:forbidden"
    batch = api.post(
        "/api/v1/events/batch",
        role=C,
        json={
            "events": [
                _crew_status(api, outage, "cancelled", "b"),
                _crew_status(api, outage, "crew_on_site", "c"),
            ]
        },
    ).json()
    assert batch["accepted"] == 1
    assert [(r["index"], r["reason"]) for r in batch["rejected"]] == [(0, "forbidden")]
    _process(api)
    record = _record(api, outage)
    assert record.state is OutageState.CREW_ON_SITE  # what a crew may do
    assert record.crew == "crew-1"
    assert record.history[-1].actor == "crew-1"
    with api.context.sessions() as session:
        [logged] = list(eventlog.processed_events(session, kinds=[EventKind.CREW_STATUS]))
    assert logged.sender == Sender("crew-1", "crew")  # who sent it, kept in the log

    # A crew's repair done: the areas still off come back in a repair step, then restored.
    restored = api.post("/api/v1/events", role=C, json=_crew_status(api, outage, "restored", "d"))
    assert restored.status_code == 202
    _process(api)
    record = _record(api, outage)
    assert record.state is OutageState.RESTORED
    assert record.restored_at is not None
    assert all(a.restored_at is not None for a in record.areas)
    assert [s.how for s in record.steps] == ["repair"]

    # A merge names its target: refused without one.
    second = api.fault_outage("K1")
    merged = api.post("/api/v1/events", role=D, json=_crew_status(api, second, "merged", "e"))
    assert merged.status_code == 422
    assert "merged_into_id" in merged.json()["detail"]
    assert (
        api.post(f"/api/v1/outages/{second}/transitions", role=D, json={"to": "merged"}).status_code
        == 422
    )
    assert _record(api, second).state is OutageState.DETECTED


def _log(api: Api, payload: dict[str, Any], sender: Sender | None, key: str) -> None:
    """An event written to the log without the API (as another intake path would)."""
    event = Event(
        EventKind.CREW_STATUS,
        EventSource.MQTT if sender is None else EventSource.HTTP,
        None,
        api.clock.now - timedelta(seconds=1),
        payload,
        idempotency_key=key,
        sender=sender,
    )
    with api.context.sessions.begin() as session:
        eventlog.append_events(session, [event], received_at=api.clock.now)


def test_the_processor_checks_again_as_the_recorded_sender(api: Api) -> None:
    outage = api.fault_outage("K1")
    # Past the edge (logged directly): a crew's cancellation is still refused ...
    _log(api, {"outage_id": outage, "status": "cancelled"}, Sender("crew-1", "crew"), "x1")
    # ... and so is one from a crew's app over MQTT (no sender: the crew role).
    _log(api, {"outage_id": outage, "status": "cancelled", "crew": "一班"}, None, "x2")
    outcomes = _process(api)
    assert all(o.startswith("crew status not applied") for o in outcomes), outcomes
    record = _record(api, outage)
    assert record.state is OutageState.DETECTED
    assert record.crew is None  # a refused status keeps nothing, not even the crew

    # A dispatcher's merge with its target is a real merge, audited as the dispatcher.
    target = api.fault_outage("K1")
    _log(
        api,
        {"outage_id": outage, "status": "merged", "merged_into_id": target},
        Sender("dispatcher-1", "dispatcher"),
        "x3",
    )
    _log(api, {"outage_id": target, "status": "merged"}, Sender("admin-1", "admin"), "x4")
    outcomes = _process(api)
    assert outcomes[-2] == f"outage {outage} → merged into outage {target}"
    assert outcomes[-1].startswith("crew status not applied")  # no target
    record = _record(api, outage)
    assert (record.state, record.merged_into_id) == (OutageState.MERGED, target)
    assert record.history[-1].actor == "dispatcher-1"
    assert _record(api, target).state is OutageState.DETECTED
