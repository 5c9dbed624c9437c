"""The outage repository: lifecycle through the transition table, steps, filters, audit."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from openoms.errors import InputError
from openoms.outages.lifecycle import IllegalTransitionError, OutageState
from openoms.outages.records import AreaOff, OutageKind, RestorationStep, StateChange
from openoms.store.audit import list_audit
from openoms.store.networks import save_network_version
from openoms.store.outages import (
    AreaRestorationError,
    OutageNotFoundError,
    add_restoration_step,
    create_outage,
    get_outage,
    list_outages,
    merge_outage,
    open_outage_for_area,
    open_outage_for_device,
    transition_outage,
    update_outage,
)
from openoms.store.tables import AuditEntry, OutageArea, OutageStep, OutageTransition
from tests.grid.small import small_raw
from tests.store.conftest import T0

S = OutageState
MIN = timedelta(minutes=1)


def _areas() -> list[AreaOff]:
    return [
        AreaOff("TA1", "transformer_area", 40, "王庄村", T0),
        AreaOff("TA2", "transformer_area", 35, "李村", T0),
        AreaOff("HV1", "hv_customer", 1, None, T0),
    ]


def _network(session: Session) -> int:
    version_id, _ = save_network_version(
        session, small_raw(), source="small", actor="admin", now=T0, summary={}
    )
    return version_id


def _outage(
    session: Session,
    *,
    kind: OutageKind = OutageKind.FAULT,
    feeder_id: str | None = "F1",
    device: str | None = "CB1",
    started_at: datetime = T0,
) -> int:
    version_id = _network(session)
    return create_outage(
        session,
        kind=kind,
        network_version_id=version_id,
        started_at=started_at,
        actor="system",
        feeder_id=feeder_id,
        operated_device=device,
        areas=_areas(),
        summary={"zh": "甲Ⅰ线跳闸", "en": "F1 tripped"},
        now=started_at,
    )


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(table)) or 0
        for table in (OutageTransition, OutageStep, AuditEntry)
    )


def test_a_new_outage_has_its_areas_first_state_and_audit(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        outage_id = _outage(session)
    with sessions() as session:
        record = get_outage(session, outage_id)
        audit = list_audit(session, object_kind="outage", object_id=outage_id)
    assert record.kind is OutageKind.FAULT
    assert record.state is S.DETECTED
    assert record.feeder_id == "F1"
    assert record.operated_device == "CB1"
    assert record.started_at == T0
    assert record.started_at.tzinfo is not None
    assert record.summary == {"zh": "甲Ⅰ线跳闸", "en": "F1 tripped"}
    assert record.areas == tuple(_areas())
    assert record.customers_off == 76
    assert record.history == (StateChange(None, S.DETECTED, T0, "system"),)
    assert [(a.action, a.actor, a.detail["customers"]) for a in audit] == [
        ("outage.create", "system", 76)
    ]


def test_legal_transitions_are_recorded(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        outage_id = _outage(session)
    with sessions.begin() as session:
        transition_outage(session, outage_id, S.LOCATED, at=T0 + MIN, actor="system")
        record = transition_outage(
            session,
            outage_id,
            S.CREW_DISPATCHED,
            at=T0 + 2 * MIN,
            actor="王调度",
            role="dispatcher",
            note="城关抢修一班",
        )
    assert record.state is S.CREW_DISPATCHED
    assert record.history[1:] == (
        StateChange(S.DETECTED, S.LOCATED, T0 + MIN, "system"),
        StateChange(S.LOCATED, S.CREW_DISPATCHED, T0 + 2 * MIN, "王调度", "城关抢修一班"),
    )
    with sessions() as session:
        assert get_outage(session, outage_id) == record
        audit = list_audit(session, object_kind="outage", object_id=outage_id)
    assert [(a.action, a.role, a.detail.get("to")) for a in audit] == [
        ("outage.transition", "dispatcher", "crew_dispatched"),
        ("outage.transition", "system", "located"),
        ("outage.create", "system", None),
    ]


def test_an_illegal_transition_writes_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        outage_id = _outage(session)
        before = _counts(session)
    with sessions.begin() as session:
        with pytest.raises(IllegalTransitionError, match="from detected to closed"):
            transition_outage(session, outage_id, S.CLOSED, at=T0 + MIN, actor="王调度")
        assert not session.new
        assert not session.dirty
    with sessions() as session:
        assert _counts(session) == before
        assert get_outage(session, outage_id).state is S.DETECTED


def test_restored_closed_and_reopened(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        outage_id = _outage(session)
        transition_outage(session, outage_id, S.RESTORED, at=T0 + 30 * MIN, actor="system")
        closed = transition_outage(session, outage_id, S.CLOSED, at=T0 + 60 * MIN, actor="王调度")
    assert (closed.restored_at, closed.closed_at) == (T0 + 30 * MIN, T0 + 60 * MIN)
    with sessions.begin() as session:
        reopened = transition_outage(
            session, outage_id, S.LOCATED, at=T0 + 90 * MIN, actor="王调度", note="故障复发"
        )
    assert reopened.state is S.LOCATED
    assert (reopened.restored_at, reopened.closed_at) == (None, None)
    with sessions() as session:
        assert get_outage(session, outage_id).restored_at is None


def test_merge(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first = _outage(session)
        second = _outage(session, device="CB2")
    with sessions.begin() as session:
        merged = merge_outage(session, second, first, at=T0 + MIN, actor="王调度")
    assert merged.state is S.MERGED
    assert merged.merged_into_id == first
    assert merged.history[-1].note == f"merged into outage {first}"
    with sessions() as session:
        assert get_outage(session, second).merged_into_id == first
        assert list_audit(session, object_id=second)[0].action == "outage.merge"
        with pytest.raises(InputError, match="into itself"):
            merge_outage(session, first, first, at=T0 + MIN, actor="王调度")
        with pytest.raises(InputError, match="that one is merged"):
            merge_outage(session, first, second, at=T0 + MIN, actor="王调度")
        with pytest.raises(IllegalTransitionError):  # merged is final
            merge_outage(session, second, first, at=T0 + MIN, actor="王调度")
        with pytest.raises(OutageNotFoundError, match="id 999"):
            merge_outage(session, first, 999, at=T0 + MIN, actor="王调度")


def test_restoration_in_two_steps(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        outage_id = _outage(session)
        transition_outage(session, outage_id, S.ISOLATED, at=T0 + 10 * MIN, actor="system")
    with sessions.begin() as session:
        first = add_restoration_step(
            session,
            outage_id,
            element_ids=["TA1", "HV1"],
            at=T0 + 12 * MIN,
            how="flisr",
            operations=[{"device": "T1", "close": True}],
            actor="system",
        )
    assert first == RestorationStep(
        1, T0 + 12 * MIN, "flisr", ({"device": "T1", "close": True},), 2, 41
    )
    with sessions() as session:
        partly = get_outage(session, outage_id)
    assert partly.state is S.PARTLY_RESTORED
    assert partly.restored_at is None
    assert partly.customers_off == 35
    with sessions.begin() as session:
        second = add_restoration_step(
            session, outage_id, element_ids=["TA2"], at=T0 + 95 * MIN, how="repair", actor="班长"
        )
    assert (second.number, second.customers_restored, second.operations) == (2, 35, ())
    with sessions() as session:
        done = get_outage(session, outage_id)
        audit = list_audit(session, object_id=outage_id, limit=2)
    assert done.state is S.RESTORED
    assert done.restored_at == T0 + 95 * MIN
    assert done.customers_off == 0
    assert [(a.element_id, a.restored_at, a.restored_in_step) for a in done.areas] == [
        ("TA1", T0 + 12 * MIN, 1),
        ("TA2", T0 + 95 * MIN, 2),
        ("HV1", T0 + 12 * MIN, 1),
    ]
    assert [s.number for s in done.steps] == [1, 2]
    assert [(c.to_state, c.note) for c in done.history[-2:]] == [
        (S.PARTLY_RESTORED, "restoration step 1"),
        (S.RESTORED, "restoration step 2"),
    ]
    assert [a.action for a in audit] == ["outage.restoration_step", "outage.restoration_step"]


def test_a_step_with_areas_not_off_names_them_and_writes_nothing(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        outage_id = _outage(session)
        add_restoration_step(
            session, outage_id, element_ids=["TA1"], at=T0 + MIN, how="switching", actor="system"
        )
        before = _counts(session)
    with sessions.begin() as session:
        with pytest.raises(AreaRestorationError) as caught:
            add_restoration_step(
                session,
                outage_id,
                element_ids=["TA2", "TA9", "TA1", "TA2"],
                at=T0 + 2 * MIN,
                how="switching",
                actor="system",
            )
        assert not session.new
        assert not session.dirty
    error = caught.value
    assert (error.unknown, error.already_restored, error.repeated) == (
        ("TA9",),
        {"TA1": 1},
        ("TA2",),
    )
    assert str(error) == (
        f"outage {outage_id}: cannot restore areas; not off in this outage: TA9; "
        "already restored: TA1 (step 1); named more than once: TA2"
    )
    with sessions() as session:
        assert _counts(session) == before
        record = get_outage(session, outage_id)
        restored = session.scalar(
            select(func.count()).select_from(OutageArea).where(OutageArea.restored_at.is_not(None))
        )
    assert record.state is S.PARTLY_RESTORED
    assert restored == 1
    with sessions() as session, pytest.raises(AreaRestorationError, match="no area named"):
        add_restoration_step(
            session, outage_id, element_ids=[], at=T0 + 2 * MIN, how="switching", actor="system"
        )


def test_a_step_the_lifecycle_refuses_writes_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        outage_id = _outage(session)
        transition_outage(session, outage_id, S.CANCELLED, at=T0 + MIN, actor="王调度")
        before = _counts(session)
    with sessions.begin() as session:
        with pytest.raises(IllegalTransitionError, match="from cancelled to partly_restored"):
            add_restoration_step(
                session, outage_id, element_ids=["TA1"], at=T0 + 2 * MIN, how="x", actor="system"
            )
        with pytest.raises(InputError, match="before the outage started"):
            add_restoration_step(
                session, outage_id, element_ids=["TA1"], at=T0 - MIN, how="x", actor="system"
            )
    with sessions() as session:
        assert _counts(session) == before
        assert all(a.restored_at is None for a in get_outage(session, outage_id).areas)


def test_update_writes_only_what_changes(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        outage_id = _outage(session)
    with sessions.begin() as session:
        record = update_outage(
            session,
            outage_id,
            located_section="s2",
            cause="雷击",
            crew="城关抢修一班",
            at=T0 + MIN,
            actor="王调度",
            role="dispatcher",
        )
        unchanged = update_outage(session, outage_id, cause="雷击", at=T0 + 2 * MIN, actor="王调度")
        cleared = update_outage(session, outage_id, cause=None, at=T0 + 3 * MIN, actor="王调度")
    assert (record.located_section, record.cause, record.crew) == ("s2", "雷击", "城关抢修一班")
    assert unchanged == record
    assert (cleared.located_section, cleared.cause, cleared.crew) == ("s2", None, "城关抢修一班")
    with sessions() as session:
        audit = list_audit(session, object_id=outage_id)
    assert [(a.action, a.detail) for a in audit[:2]] == [
        ("outage.update", {"cause": ["雷击", None]}),
        (
            "outage.update",
            {
                "located_section": [None, "s2"],
                "cause": [None, "雷击"],
                "crew": [None, "城关抢修一班"],
            },
        ),
    ]
    with sessions() as session, pytest.raises(OutageNotFoundError, match="no outage with id 404"):
        update_outage(session, 404, cause="x", at=T0, actor="王调度")


def test_list_filters_and_order(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        a = _outage(session, started_at=T0)
        b = _outage(session, feeder_id="F2", device="CB2", started_at=T0 + 60 * MIN)
        c = _outage(session, kind=OutageKind.PLANNED, device=None, started_at=T0 + 120 * MIN)
        transition_outage(session, a, S.RESTORED, at=T0 + 30 * MIN, actor="system")
    with sessions() as session:

        def ids(**filters: object) -> list[int]:
            return [r.id for r in list_outages(session, **filters)]  # type: ignore[arg-type]

        assert ids() == [c, b, a]
        assert ids(states=[S.DETECTED]) == [c, b]
        assert ids(states=[S.RESTORED, S.CLOSED]) == [a]
        assert ids(kinds=[OutageKind.PLANNED]) == [c]
        assert ids(feeder_id="F1") == [c, a]
        assert ids(started_from=T0 + 60 * MIN) == [c, b]
        assert ids(started_to=T0 + 60 * MIN) == [a]
        assert ids(limit=1, offset=1) == [b]
        assert ids(states=[]) == []
        listed = list_outages(session, limit=1)[0]
        assert listed == get_outage(session, c)
        assert len(listed.areas) == 3
        with pytest.raises(InputError, match="limit"):
            list_outages(session, limit=0)


def test_the_open_outage_of_a_device_or_area(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        old = _outage(session, started_at=T0)
        transition_outage(session, old, S.RESTORED, at=T0 + MIN, actor="system")
        new = _outage(session, started_at=T0 + 60 * MIN)
        add_restoration_step(
            session, new, element_ids=["TA1"], at=T0 + 61 * MIN, how="switching", actor="system"
        )
    with sessions() as session:
        found = open_outage_for_device(session, "CB1")
        assert found is not None
        assert found.id == new
        assert open_outage_for_device(session, "CB2") is None
        by_area = open_outage_for_area(session, "TA2")
        assert by_area is not None
        assert by_area.id == new
        assert open_outage_for_area(session, "TA1") is None  # restored in step 1
        with pytest.raises(OutageNotFoundError):
            get_outage(session, 12345)
