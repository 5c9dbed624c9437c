"""A fault confirmation names a zone of the fault event's own feeder (issue 10).

It used to accept any detector of the network: a detector of another feeder was stored, and
every later calibration (which scores a confirmation on the zones of the event's feeder)
failed on it. Small network (tests/grid/small.py): D1 and D2 are the detectors of F1; F3
(CB3, from substation SB) has none, so its only zone is its head breaker CB3.
"""

from __future__ import annotations

from openoms.faults.lifecycle import FaultTrigger
from openoms.store.audit import list_audit
from openoms.store.faults import create_fault_event, get_fault_event
from openoms.store.tokens import Role
from tests.api.conftest import Api


def _fault_on(api: Api, feeder: str, breaker: str) -> int:
    now = api.clock.now
    with api.context.sessions.begin() as session:
        return create_fault_event(
            session,
            feeder_id=feeder,
            trigger=FaultTrigger.TRIP,
            t0=now,
            open_edges=(),
            received_at=now,
            now=now,
            breaker=breaker,
            lockout=True,
        )


def test_a_zone_of_another_feeder_is_refused_naming_zone_and_feeder(api: Api) -> None:
    fault_id = _fault_on(api, "F3", "CB3")
    path = f"/api/v1/faults/{fault_id}/confirmation"
    for zone in ("D1", "D2", "CB1", "CB2", "s5"):  # detectors and heads of F1 / F2, a section
        refused = api.post(path, role=Role.CREW, json={"zone": zone})
        assert refused.status_code == 422, (zone, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        detail = refused.json()["detail"]
        assert f"zone {zone!r}" in detail
        assert "feeder F3" in detail
        assert "CB3" in detail  # the zones it could be
    with api.context.sessions() as session:
        assert get_fault_event(session, fault_id).confirmed_zone is None
        assert list_audit(session, object_kind="fault_event", object_id=str(fault_id)) == []
    done = api.post(path, role=Role.CREW, json={"zone": "CB3"})
    assert done.status_code == 200, done.text
    assert done.json()["confirmed_zone"] == "CB3"


def test_the_zones_of_the_feeder_itself_are_accepted(api: Api) -> None:
    fault_id = _fault_on(api, "F1", "CB1")
    path = f"/api/v1/faults/{fault_id}/confirmation"
    for zone in ("D1", "D2", "CB1"):
        done = api.post(path, role=Role.DISPATCHER, json={"zone": zone})
        assert done.status_code == 200, (zone, done.text)
        assert done.json()["confirmed_zone"] == zone
