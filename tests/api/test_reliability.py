"""GET /api/v1/reliability: the indices of a period from the outage records, by hand.

The small network (tests/grid/small.py) has N_T = 40 + 35 + 20 + 50 + 30 + 1 = 176 customers;
feeder F1 serves TA1 40, TA2 35, TA3 20 and HV1 1 = 96. Opening K1 cuts TA2 and HV1 (36
customers) for 30 minutes: SAIFI = 36 / 176 = 0.2045, SAIDI = 36 × 30 / 176 = 6.136 min;
on F1: SAIFI = 36 / 96 = 0.375, SAIDI = 1,080 / 96 = 11.25 min.
"""

from __future__ import annotations

import pytest

from openoms.store import outages
from openoms.store.tokens import Role
from tests.api.conftest import Api

PATH = "/api/v1/reliability?from=2024-05-01&to=2024-07-01"


def _restored_fault(api: Api) -> int:
    outage = api.fault_outage("K1")  # off since 07:30 UTC
    with api.context.sessions.begin() as session:
        outages.add_restoration_step(
            session,
            outage,
            element_ids=["TA2", "HV1"],
            at=api.clock.now,
            how="repair",
            actor="tests",
        )
    return outage


def test_the_indices_of_a_restored_fault_match_the_hand_calculation(api: Api) -> None:
    _restored_fault(api)
    response = api.get(f"{PATH}&by=feeder", role=Role.VIEWER)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"]["start"] == "2024-04-30T16:00:00Z"  # 2024-05-01 in Asia/Shanghai
    assert body["period"]["end"] == "2024-06-30T16:00:00Z"
    system = body["ieee1366"]["all"]
    assert system["customers"] == 176
    assert system["saifi"] == pytest.approx(36 / 176)
    assert system["saidi_min"] == pytest.approx(36 * 30 / 176)
    assert system["caidi_min"] == pytest.approx(30.0)
    # DL/T 836 counts units: 2 of 6 users off for 0.5 h each → AIHC-1 = 1 / 6 h
    assert body["dlt836"]["aihc1_h"] == pytest.approx(1 / 6)
    rows = {row["feeder"]: row for row in body["breakdown"]["rows"]}
    assert rows["F1"]["saifi"] == pytest.approx(0.375)
    assert rows["F1"]["saidi_min"] == pytest.approx(11.25)
    assert body["med"] is None
    assert "no major event days" in body["med_note"]
    assert body["notes"] == []


def test_an_open_outage_counts_up_to_now_and_says_so(api: Api) -> None:
    api.fault_outage("K1")  # off since 30 min ago, not restored
    body = api.get(PATH, role=Role.DISPATCHER).json()
    assert body["ieee1366"]["all"]["saidi_min"] == pytest.approx(36 * 30 / 176)
    assert body["notes"]
    assert "still off" in body["notes"][0]
    history_only = api.get(f"{PATH}&source=history", role=Role.DISPATCHER).json()
    assert history_only["ieee1366"]["all"]["saidi_min"] == 0.0


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("from=2024-13-01", "--from: '2024-13-01' is not a date"),
        ("from=2024-07-01&to=2024-05-01", "must be after"),
        ("by=colour", "by"),
        ("to=0001-01-01", "--to: '0001-01-01' is out of range: a day from 1900-01-01"),
        ("from=9999-12-30&to=9999-12-31&by=month", "--to: '9999-12-31' is out of range"),
        ("from=2024-01-01&to=9999-12-31T23:00:00-05:00", "--to: '9999-12-31T23:00:00-05:00'"),
        ("from=1899-12-31&to=1900-02-01", "--from: '1899-12-31' is out of range"),
    ],
)
def test_bad_queries_are_problems_naming_the_parameter(api: Api, query: str, words: str) -> None:
    response = api.get(f"/api/v1/reliability?{query}", role=Role.VIEWER)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.text


@pytest.mark.parametrize(
    "query", ["from=1900-01-01&to=1900-03-01&by=month", "from=2199-11-01&to=2200-01-01&by=month"]
)
def test_the_first_and_last_days_allowed_answer(api: Api, query: str) -> None:
    response = api.get(f"/api/v1/reliability?{query}", role=Role.VIEWER)
    assert response.status_code == 200, response.text
    assert len(response.json()["breakdown"]["rows"]) == 2
