"""FLISR executed over IEC 104, end to end on the sample county (issue 15), on SQLite and
PostgreSQL: the running service (event processor, IEC 104 master, executor) against
simulated DTUs and the substation RTU (tests/restoration/execution_county.py).

The fault is the one of tests/api/test_restoration_plans.py, whose module docstring derives
the plan by hand: the cable CG-F01-S0004 between ring main units 3 and 4 of 10kV 城关Ⅰ线;
breaker 城关Ⅰ线901开关 (K01) locks out; 2,104 customers off. Plan: open K04, open K05,
close K01, close K14 (all by telecontrol); everyone restored (the faulted zone N0007–N0008
has no transformer area).

Here the units send the fault themselves, and the plan is carried out by select-before-
operate commands: in automatic mode at once, in advisory mode after a dispatcher's approval.
Every command is in the plan's read with its outcome, the position feedback makes the
restoration steps of the outage record (``how`` = ``flisr``), and the whole outage lasts
seconds: every customer's interruption is momentary (below the 5-minute threshold), none
sustained.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from openoms.api import create_app
from openoms.api.plan_schemas import RestorationPlanOut
from openoms.service import restoration
from openoms.service.outages import Principal
from openoms.store import outages as outage_store
from openoms.store import restoration_plans as plan_store
from openoms.store.audit import list_audit
from openoms.store.switching import ACTIVE_STATES
from openoms.store.tokens import Role, create_token
from tests.restoration.execution_county import Running, running_county

pytestmark = pytest.mark.slow

PLAN = [
    ("open", "CG-F01-K04"),
    ("open", "CG-F01-K05"),
    ("close", "CG-F01-K01"),
    ("close", "CG-F01-K14"),
]


@pytest.fixture
def automatic(tmp_path: Path, database_url: str) -> Iterator[Running]:
    yield from running_county(tmp_path, database_url, modes={"CG-F01": "automatic"})


@pytest.fixture
def advisory(tmp_path: Path, database_url: str) -> Iterator[Running]:
    yield from running_county(tmp_path, database_url, modes={})


def _plan(running: Running, outage_id: int) -> dict[str, Any]:
    with running.context.http.read_sessions() as session:  # as the API reads it
        return restoration.plan_view(running.context, session, outage_id)


def _executed(running: Running, outage_id: int) -> bool:
    with running.context.http.read_sessions() as session:
        if plan_store.find_plan(session, outage_id) is None:
            return False
    view = _plan(running, outage_id)
    return view["execution"] is not None and view["execution"]["state"] not in ACTIVE_STATES


def _api_read(running: Running, outage_id: int) -> dict[str, Any]:
    """``GET /api/v1/outages/{id}/restoration-plan`` as a viewer reads it."""
    context = running.context
    with context.sessions.begin() as session:
        token = create_token(session, name="值班领导", role=Role.VIEWER, now=datetime.now(UTC))

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(context))
        async with httpx.AsyncClient(transport=transport, base_url="http://openoms") as client:
            return await client.get(
                f"/api/v1/outages/{outage_id}/restoration-plan",
                headers={"Authorization": f"Bearer {token}"},
            )

    response = anyio.run(get)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _check_restored(running: Running, outage_id: int, *, by: str) -> None:
    view = _plan(running, outage_id)
    read = _api_read(running, outage_id)  # the API's read of it
    assert read["execution"]["state"] == "done"
    assert [(c["device"], c["state"]) for c in read["commands"]] == [
        (c["device"], c["state"]) for c in view["commands"]
    ]
    assert [(s["operation"], s["device"]) for s in view["steps"]] == PLAN
    assert view["execution"]["state"] == "done", view["execution"]
    assert view["execution"]["started_by"] == by
    commands = view["commands"]
    assert [(c["operation"], c["device"], c["state"]) for c in commands] == [
        (op, device, "confirmed") for op, device in PLAN
    ]
    assert all(c["asdu_type"] == "C_DC_NA_1" and c["stage"] == "done" for c in commands)
    assert all(c["outcome"]["terminated"] for c in commands)
    # the switches really moved, in the plan's order
    moved = [op for sim in running.sims.values() for op in sim.operations]
    assert sorted(moved) == sorted((d, op == "close") for op, d in PLAN)
    with running.context.http.read_sessions() as session:
        record = outage_store.get_outage(session, outage_id)
        audit = list_audit(session, object_kind="outage", object_id=str(outage_id))
    assert record.state == "restored"
    assert sum(a.customers for a in record.areas) == 2104
    steps = record.steps
    assert {s.how for s in steps} == {"flisr"}
    assert sum(s.customers_restored for s in steps) == 2104
    operations = [op for s in steps for op in s.operations]
    assert {op["device"] for op in operations} == {"CG-F01-K01", "CG-F01-K14"}
    # seconds after the trip: momentary for everyone (threshold 5 min, operator ">")
    assert {op["interruption"] for op in operations} == {"momentary"}
    actions = [entry.action for entry in audit]
    assert actions.count("outage.switching_command") == 4
    assert actions.count("outage.switching_command.outcome") == 4
    assert "outage.restoration_plan.execution_done" in actions


def test_automatic_mode_isolates_and_restores_by_itself(automatic: Running) -> None:
    automatic.fault_on_cg_f01()
    automatic.wait(lambda: (o := automatic.outage_id()) is not None and _executed(automatic, o))
    outage_id = automatic.outage_id()
    assert outage_id is not None
    assert _plan(automatic, outage_id)["mode"] == "automatic"
    _check_restored(automatic, outage_id, by="system")


def test_advisory_mode_executes_after_approval(advisory: Running) -> None:
    advisory.fault_on_cg_f01()

    def planned() -> bool:
        outage_id = advisory.outage_id()
        if outage_id is None:
            return False
        with advisory.context.http.read_sessions() as session:
            return plan_store.find_plan(session, outage_id) is not None

    advisory.wait(planned)
    outage_id = advisory.outage_id()
    assert outage_id is not None
    view = _plan(advisory, outage_id)
    assert view["mode"] == "advisory"
    assert view["execution"] is None
    assert view["commands"] == []
    assert all(sim.operations == [] for sim in advisory.sims.values())
    with advisory.context.sessions.begin() as session:
        approved = restoration.approve(
            advisory.context,
            session,
            Principal("调度员甲", Role.DISPATCHER),
            outage_id,
            revision=view["revision"],
        )
    assert approved["execution"]["state"] == "queued"
    advisory.wait(lambda: _executed(advisory, outage_id))
    _check_restored(advisory, outage_id, by="调度员甲")


# -- when a step fails or is not remote -------------------------------------------------------
@pytest.fixture
def refusing_k05(tmp_path: Path, database_url: str) -> Iterator[Running]:
    yield from running_county(tmp_path, database_url, modes={"CG-F01": "automatic"}, widen=True)


def _run_with_k05_refusing(running: Running) -> int:
    running.sims["TU-CG-F01-K05-DTU"].fail("CG-F01-K05", "refuse")
    running.fault_on_cg_f01()
    running.wait(lambda: (o := running.outage_id()) is not None and _executed(running, o))
    outage_id = running.outage_id()
    assert outage_id is not None
    return outage_id


def test_a_switch_that_fails_to_open_widens_the_isolation_and_execution_goes_on(
    refusing_k05: Running,
) -> None:
    outage_id = _run_with_k05_refusing(refusing_k05)
    view = _plan(refusing_k05, outage_id)
    RestorationPlanOut.model_validate(view)
    # revision 2: the planner's replan with K05 failed; isolation goes past it to K06
    assert view["revision"] == 2
    assert view["widened_after"]["device"] == "CG-F01-K05"
    assert view["widened_after"]["revision"] == 1
    assert "refused the select" in view["widened_after"]["reason"]
    isolation = [s["device"] for s in view["isolation"]]
    assert "CG-F01-K05" not in isolation
    assert "CG-F01-K06" in isolation
    assert "CG-F01-K05" not in [s["device"] for s in view["steps"]]
    states = [(c["revision"], c["operation"], c["device"], c["state"]) for c in view["commands"]]
    assert states[:3] == [
        (1, "open", "CG-F01-K04", "confirmed"),
        (1, "open", "CG-F01-K05", "failed"),
        (2, "open", "CG-F01-K04", "skipped"),  # done before the failure: never sent twice
    ]
    assert [(op, d) for _, op, d, _ in states[3:]] == [
        (s["operation"], s["device"]) for s in view["steps"][1:]
    ]
    assert all(state == "confirmed" for *_, state in states[3:])
    assert view["execution"]["state"] == "done"
    assert view["execution"]["revision"] == 2
    assert refusing_k05.sims["TU-CG-F01-K05-DTU"].operations == []
    with refusing_k05.context.http.read_sessions() as session:
        record = outage_store.get_outage(session, outage_id)
    # who came back is what the widened plan restores, by FLISR's steps
    assert sum(s.customers_restored for s in record.steps) == view["customers_restored"]
    assert {s.how for s in record.steps} == {"flisr"}


def test_a_step_without_telecontrol_stops_execution_and_leaves_the_order_to_the_crew(
    automatic: Running,
) -> None:
    """Without command addresses for K06 and K13 (the county as shipped has none), the
    widened plan's opening of K06 is for the crew: execution stops there."""
    outage_id = _run_with_k05_refusing(automatic)
    view = _plan(automatic, outage_id)
    execution = view["execution"]
    assert execution["state"] == "stopped"
    steps = [(c["device"], c["state"]) for c in view["commands"]]
    assert steps == [
        ("CG-F01-K04", "confirmed"),
        ("CG-F01-K05", "failed"),
        ("CG-F01-K04", "skipped"),
        ("CG-F01-K06", "manual"),
    ]
    left = [s for s in view["steps"] if s["number"] >= 2]
    for step in left:  # every step left is named in the note, for the crew
        assert step["device"] in execution["note"]["en"]
        assert step["name"] in execution["note"]["zh"]
    assert "switching order" in execution["note"]["en"]
    assert automatic.sims["TU-CG"].operations == []  # K01 was not re-closed
    assert "CG-F01-K06" in view["order"]["en"]


@pytest.fixture
def restore_only(tmp_path: Path, database_url: str) -> Iterator[Running]:
    yield from running_county(tmp_path, database_url, modes={"CG-F01": "restore_only"})


def test_restore_only_waits_for_the_crews_isolation_then_restores(restore_only: Running) -> None:
    restore_only.fault_on_cg_f01()

    def waiting() -> bool:
        outage_id = restore_only.outage_id()
        if outage_id is None:
            return False
        execution = _plan_or_none(restore_only, outage_id)
        return execution is not None and execution["state"] == "waiting_isolation"

    restore_only.wait(waiting)
    time.sleep(0.5)  # the executor looks again and again: nothing is sent before the crew
    assert all(sim.operations == [] for sim in restore_only.sims.values())
    # the crew opens K04 and K05 by hand; their DTUs report the new positions
    now = datetime.now(UTC)
    for k in (4, 5):
        restore_only.sims[f"TU-CG-F01-K0{k}-DTU"].set_point(
            f"CG-F01-K0{k}", "switch_closed", 0, now
        )
    outage_id = restore_only.outage_id()
    assert outage_id is not None
    restore_only.wait(lambda: _executed(restore_only, outage_id))
    view = _plan(restore_only, outage_id)
    assert view["execution"]["state"] == "done"
    assert [(c["operation"], c["device"], c["state"]) for c in view["commands"]] == [
        ("close", "CG-F01-K01", "confirmed"),
        ("close", "CG-F01-K14", "confirmed"),
    ]


def _plan_or_none(running: Running, outage_id: int) -> dict[str, Any] | None:
    with running.context.http.read_sessions() as session:
        if plan_store.find_plan(session, outage_id) is None:
            return None
    execution: dict[str, Any] | None = _plan(running, outage_id)["execution"]
    return execution
