"""Who may call what: every private route for every role (and for no token), table-driven;
tokens hashed at rest; an audit entry for every write."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from openoms.faults.lifecycle import FaultTrigger
from openoms.outages.lifecycle import OPEN_STATES, OutageState
from openoms.outages.planned import WorkType
from openoms.outages.records import OutageKind
from openoms.service import planned, restoration
from openoms.service.outages import Principal
from openoms.store import outages
from openoms.store import restoration_plans as plans
from openoms.store.audit import list_audit
from openoms.store.faults import create_fault_event, update_fault_event
from openoms.store.tables import ApiToken
from openoms.store.tokens import Role, create_token, list_tokens
from tests.api.conftest import Api, operations
from tests.api.test_notices import NOTICE_CASE_ARGS

ALL = frozenset(Role)
A, D, C, P = Role.ADMIN, Role.DISPATCHER, Role.CREW, Role.PLANNER

Setup = Callable[[Api], dict[str, Any]]


def _nothing(_api: Api) -> dict[str, Any]:
    return {}


def _fault(api: Api) -> dict[str, Any]:
    return {"id": api.fault_outage("K1")}


def _fault_event(api: Api) -> dict[str, Any]:
    with api.context.sessions.begin() as session:
        fault_id = create_fault_event(
            session,
            feeder_id="F1",
            trigger=FaultTrigger.TRIP,
            t0=api.clock.now,
            open_edges=(),
            received_at=api.clock.now,
            now=api.clock.now,
            breaker="CB1",
            lockout=True,
        )
    return {"id": fault_id}


def _restoration_plan(api: Api) -> dict[str, Any]:
    """A fault outage on F1 located in zone D2 with its restoration plan (revision 1); the
    outages of earlier cases are cancelled first (their approved plans would conflict)."""
    outage_id = api.fault_outage("K1")
    now = api.clock.now
    with api.context.sessions.begin() as session:
        for other in outages.list_outages(session, limit=500):
            planned = plans.find_plan(session, other.id) is not None
            if other.id != outage_id and planned and other.state in OPEN_STATES:
                outages.transition_outage(
                    session, other.id, OutageState.CANCELLED, at=now, actor="tests"
                )
        fault_id = create_fault_event(
            session,
            feeder_id="F1",
            trigger=FaultTrigger.TRIP,
            t0=now,
            open_edges=(),
            received_at=now,
            now=now,
            breaker="CB1",
            lockout=True,
        )
        update_fault_event(
            session,
            fault_id,
            now=now,
            outage_id=outage_id,
            location={"best": ["D2"], "ties": ["D2"]},
            located_zone="D2",
        )
        who = Principal("tests", Role.DISPATCHER)
        restoration.recompute(api.context, session, who, outage_id)
    return {"id": outage_id}


def _prediction(api: Api) -> dict[str, Any]:
    """A fault outage predicted from trouble calls (service/calls.py records it so)."""
    summary = {"en": "K1 predicted", "prediction": {"device": "K1", "status": "predicted"}}
    return {"id": api.fault_outage("K1", summary=summary)}


def _planned(api: Api) -> dict[str, Any]:
    return {"id": api.fault_outage("K1", kind=OutageKind.PLANNED)}


def _booking(api: Api) -> dict[str, Any]:
    with api.context.sessions.begin() as session:
        work = planned.book_work(
            api.context,
            session,
            Principal("planner-1", Role.PLANNER),
            work_type=WorkType.MAINTENANCE,
            reason="replace pole 17",
            starts_at=datetime(2024, 6, 10, tzinfo=UTC),
            ends_at=datetime(2024, 6, 10, 6, tzinfo=UTC),
            work_on=["s2"],
            now=api.clock.now,
        )
    return {"id": work.id}


def _approved(api: Api) -> dict[str, Any]:
    found = _booking(api)
    with api.context.sessions.begin() as session:
        planned.approve_work(
            api.context,
            session,
            Principal("planner-1", Role.PLANNER),
            found["id"],
            now=api.clock.now,
        )
    return found


def _spare_token(api: Api) -> dict[str, Any]:
    with api.context.sessions.begin() as session:
        create_token(session, name="spare", role=Role.VIEWER, now=api.clock.now)
        return {"id": list_tokens(session)[-1].id}


def _event(kind: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "device_time": "2024-06-01T07:59:00Z", "payload": payload, **extra}


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    allowed: frozenset[Role]
    ok: int = 200
    body: Callable[[dict[str, Any]], Any] | None = None
    setup: Setup = _nothing
    note: str = ""

    def label(self) -> str:
        return f"{self.method} {self.path} {self.note}".strip()


FAULT = {"kind": "fault", "open": ["K1"], "starts_at": "2024-06-01T07:00:00+08:00"}
PLANNED = {
    "work_on": ["s2"],
    "reason": "replace pole 17",
    "starts_at": "2024-06-10T08:00:00+08:00",
    "ends_at": "2024-06-10T14:00:00+08:00",
}
CASES = [
    Case("GET", "/api/v1/grid/feeders", ALL),
    Case("GET", "/api/v1/grid/devices/{id}", ALL, setup=lambda _: {"id": "K1"}),
    Case("GET", "/api/v1/grid/search?q=TA", ALL),
    Case("GET", "/api/v1/outages", ALL),
    Case("GET", "/api/v1/faults", ALL),
    Case("GET", "/api/v1/faults/{id}", ALL, setup=_fault_event),
    Case(
        "POST",
        "/api/v1/faults/{id}/confirmation",
        frozenset({A, D, C}),
        200,
        lambda _: {"zone": "D2"},
        _fault_event,
    ),
    Case("GET", "/api/v1/outages/{id}", ALL, setup=_fault),
    Case("GET", "/api/v1/outages/{id}/restoration-plan", ALL, setup=_restoration_plan),
    Case(
        "POST",
        "/api/v1/outages/{id}/restoration-plan/approve",
        frozenset({A, D}),
        body=lambda _: {"revision": 1},
        setup=_restoration_plan,
    ),
    Case(
        "POST",
        "/api/v1/outages/{id}/restoration-plan/recompute",
        frozenset({A, D}),
        setup=_restoration_plan,
    ),
    Case("GET", "/api/v1/reliability?from=2024-05-01&to=2024-07-01&by=feeder", ALL),
    Case("POST", "/api/v1/outages", frozenset({A, D}), 201, lambda _: FAULT, note="fault"),
    Case("POST", "/api/v1/planned-outages", frozenset({A, D, P}), 201, lambda _: PLANNED),
    Case("POST", "/api/v1/planned-outages/preview", frozenset({A, D, P}), 200, lambda _: PLANNED),
    Case("GET", "/api/v1/planned-outages", ALL),
    Case("GET", "/api/v1/planned-outages/{id}", ALL, setup=_booking),
    Case("GET", "/api/v1/planned-outages/{id}/notice", ALL, setup=_booking),
    Case(
        "POST",
        "/api/v1/planned-outages/{id}/approve",
        frozenset({A, D, P}),
        body=lambda _: {},
        setup=_booking,
    ),
    Case(
        "POST",
        "/api/v1/planned-outages/{id}/postpone",
        frozenset({A, D, P}),
        body=lambda _: {
            "starts_at": "2024-06-12T08:00:00+08:00",
            "ends_at": "2024-06-12T14:00:00+08:00",
        },
        setup=_approved,
    ),
    Case(
        "POST",
        "/api/v1/planned-outages/{id}/cancel",
        frozenset({A, D, P}),
        body=lambda _: {},
        setup=_booking,
    ),
    Case(
        "POST",
        "/api/v1/outages/{id}/transitions",
        frozenset({A, D}),
        body=lambda _: {"to": "crew_dispatched"},
        setup=_fault,
        note="to crew_dispatched",
    ),
    Case(
        "POST",
        "/api/v1/outages/{id}/transitions",
        frozenset({A, D, C}),
        body=lambda _: {"to": "crew_on_site"},
        setup=_fault,
        note="to crew_on_site (a crew arrives)",
    ),
    Case(
        "POST",
        "/api/v1/outages/{id}/transitions",
        frozenset({A, D, P}),
        body=lambda _: {"to": "cancelled"},
        setup=_planned,
        note="planned outage called off",
    ),
    Case(
        "POST",
        "/api/v1/outages/{id}/transitions",
        frozenset({A, D}),
        body=lambda _: {"to": "cancelled"},
        setup=_fault,
        note="fault outage cancelled",
    ),
    Case(
        "POST",
        "/api/v1/outages/{id}/confirm-prediction",
        frozenset({A, D}),
        setup=_prediction,
        note="a trouble-call prediction confirmed",
    ),
    Case(
        "POST",
        "/api/v1/outages/{id}/restoration-steps",
        frozenset({A, D, C}),
        201,
        lambda _: {"element_ids": ["TA2"], "how": "repair"},
        _fault,
        note="repair",
    ),
    Case(
        "POST",
        "/api/v1/outages/{id}/restoration-steps",
        frozenset({A, D}),
        201,
        lambda _: {"element_ids": ["TA2"], "how": "switching"},
        _fault,
        note="switching",
    ),
    Case(
        "POST",
        "/api/v1/events",
        frozenset({A, D}),
        202,
        lambda _: _event("trouble_call", {"transformer_area": "TA1"}),
        note="trouble call",
    ),
    Case(
        "POST",
        "/api/v1/events",
        frozenset({A, D, C}),
        202,
        lambda p: _event("crew_status", {"outage_id": p["outage"], "status": "crew_on_site"}),
        lambda api: {"outage": api.fault_outage("K1")},
        note="crew status",
    ),
    Case(
        "POST",
        "/api/v1/events/batch",
        frozenset({A, D, C}),
        202,
        lambda _: {"events": [_event("trouble_call", {})]},
        note="(a crew's trouble call is rejected inside the batch)",
    ),
    Case("GET", "/api/v1/events?kind=trouble_call", frozenset({A, D})),
    Case("GET", "/api/v1/dead-letters", frozenset({A, D})),
    Case("GET", "/api/v1/telemetry", frozenset({A, D})),
    Case("GET", "/api/v1/telemetry/{id}/{id}", frozenset({A, D}), setup=lambda _: {"id": "D2"}),
    Case("GET", "/api/v1/console/me", ALL),
    Case("GET", "/api/v1/console/network", ALL),
    Case("GET", "/api/v1/console/state", ALL),
    Case("GET", "/api/v1/console/stream?max_s=0", ALL, note="(ends at once)"),
    Case(
        "POST",
        "/api/v1/console/outages/{id}/corrections",
        frozenset({A, D}),
        body=lambda _: {"cause": "雷击"},
        setup=_fault,
    ),
    Case("POST", "/api/v1/tokens", frozenset({A}), 201, lambda _: {"name": "n", "role": "crew"}),
    Case("GET", "/api/v1/tokens", frozenset({A})),
    Case("DELETE", "/api/v1/tokens/{id}", frozenset({A}), setup=_spare_token),
    *(Case(**kw) for kw in NOTICE_CASE_ARGS),
]
ANONYMOUS_OK = [
    "/api/v1/health",
    "/api/v1/metrics",
    "/api/v1/public/outages",
    "/api/v1/openapi.json",
]


def test_every_role_may_make_exactly_its_calls(api: Api) -> None:
    wrong = []
    for case in CASES:
        for role in (None, *Role):
            params = case.setup(api)
            path = case.path.format(**params)
            kwargs: dict[str, Any] = {} if case.body is None else {"json": case.body(params)}
            response = api.request(case.method, path, role=role, **kwargs)
            expected = 401 if role is None else case.ok if role in case.allowed else 403
            if response.status_code != expected:
                wrong.append(f"{case.label()} as {role}: {response.status_code} != {expected}")
            if expected in (401, 403):
                assert response.headers["content-type"] == "application/problem+json"
    assert wrong == []


def test_the_table_covers_every_private_route(api: Api) -> None:
    private = {
        operation
        for operation, tags in operations(api.app).items()
        if not {"public", "system"} & set(tags)
    }
    covered = {(case.method, case.path.split("?")[0]) for case in CASES}
    normalised = {(method, re.sub(r"\{[a-z_]+\}", "{id}", path)) for method, path in private}
    assert normalised == covered


def test_anonymous_calls_reach_only_public_health_and_metrics(api: Api) -> None:
    for path in ANONYMOUS_OK:
        assert api.get(path).status_code == 200, path


def test_missing_or_bad_tokens_are_refused_with_a_bearer_challenge(api: Api) -> None:
    path = "/api/v1/outages"
    missing = api.get(path)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="openoms"'
    for header in ("Bearer oms_not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "oms_abc"):
        response = api.get(path, headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["type"] == "urn:openoms:problem:unauthenticated"
    wrong = api.get(path, headers={"Authorization": "Bearer oms_not-a-token"})
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]


def test_tokens_are_stored_hashed_only(api: Api) -> None:
    created = api.post("/api/v1/tokens", role=Role.ADMIN, json={"name": "n1", "role": "crew"})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("oms_")
    with api.context.sessions() as session:
        rows = session.scalars(select(ApiToken)).all()
    stored = [str(getattr(row, c.key)) for row in rows for c in ApiToken.__table__.columns]
    for plain in [token, *api.tokens.values()]:
        assert not any(plain in value for value in stored)
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert digest in {row.token_sha256 for row in rows}
    assert api.get("/api/v1/outages", headers={"Authorization": f"Bearer {token}"}).is_success


def test_every_write_leaves_an_audit_entry_naming_the_caller(api: Api) -> None:
    outage = api.fault_outage("K1")
    writes: list[tuple[str, str, Role, Callable[[], httpx.Response]]] = [
        (
            "outage.transition",
            "outage",
            Role.DISPATCHER,
            lambda: api.post(
                f"/api/v1/outages/{outage}/transitions",
                role=Role.DISPATCHER,
                json={"to": "located"},
            ),
        ),
        (
            "outage.restoration_step",
            "outage",
            Role.CREW,
            lambda: api.post(
                f"/api/v1/outages/{outage}/restoration-steps",
                role=Role.CREW,
                json={"element_ids": ["TA2"], "how": "repair"},
            ),
        ),
        (
            "outage.create",
            "outage",
            Role.DISPATCHER,
            lambda: api.post("/api/v1/outages", role=Role.DISPATCHER, json=FAULT),
        ),
        (
            "planned.create",
            "planned_work",
            Role.PLANNER,
            lambda: api.post("/api/v1/planned-outages", role=Role.PLANNER, json=PLANNED),
        ),
        (
            "event.post",
            "event",
            Role.DISPATCHER,
            lambda: api.post(
                "/api/v1/events", role=Role.DISPATCHER, json=_event("trouble_call", {})
            ),
        ),
        (
            "token.create",
            "token",
            Role.ADMIN,
            lambda: api.post("/api/v1/tokens", role=Role.ADMIN, json={"name": "x", "role": "crew"}),
        ),
    ]
    for action, object_kind, role, write in writes:
        response = write()
        assert response.is_success, (action, response.text)
        with api.context.sessions() as session:
            entries = list_audit(session, object_kind=object_kind)
        assert any(
            e.action == action and e.actor == f"{role.value}-1" and e.role == role.value
            for e in entries
        ), (action, entries)
