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
    # no imported history at all: no data, not perfect reliability
    assert history_only["ieee1366"]["all"]["saidi_min"] is None
    assert history_only["dlt836"]["rs1_pct"] is None
    assert history_only["counts"]["rows"] == 0
    assert "no interruption records" in history_only["warnings"][0]


def test_every_engine_setting_is_a_query_parameter_and_is_reported(api: Api) -> None:
    """The restored fault: TA2 (35) and HV1 (1) off for exactly 30 min, N_T = 176, 6 users.

    - threshold 30 min with '>': 30 is not longer than 30 → momentary: SAIFI = 0,
      MAIFI = 36 / 176 = 0.20455 (IEEE 1366-2012 3.5.1); with '>=' it is sustained again:
      SAIFI = 36 / 176.
    - short_interruption_s = 1800: DL/T 836 leaves out interruptions ≤ 1,800 s, so the two
      users' 0.5 h do not count: AIHC-1 = 0, RS-1 = 100 %.
    - cemi = 0,1: both units once → CEMI0 = 36 / 176, CEMI1 = 0 (more than 1: nobody).
    - med_threshold_min = 5: the day's SAIDI 36 × 30 / 176 = 6.136 min > 5 → one major event
      day; excluding it nothing is left: SAIFI 0 (there are records, so 0, not null)."""
    _restored_fault(api)
    base = f"{PATH}&sustained_threshold_min=30"
    strict = api.get(f"{base}&sustained_operator=%3E", role=Role.VIEWER).json()
    assert strict["ieee1366"]["all"]["saifi"] == 0.0
    assert strict["ieee1366"]["all"]["maifi"] == pytest.approx(36 / 176)
    assert strict["settings"]["sustained_threshold_s"] == 1800.0
    assert strict["settings"]["sustained_operator"] == ">"
    at_least = api.get(f"{base}&sustained_operator=%3E%3D", role=Role.VIEWER).json()
    assert at_least["ieee1366"]["all"]["saifi"] == pytest.approx(36 / 176)
    assert at_least["settings"]["sustained_operator"] == ">="
    short = api.get(f"{PATH}&short_interruption_s=1800", role=Role.VIEWER).json()
    assert short["dlt836"]["aihc1_h"] == 0.0
    assert short["dlt836"]["rs1_pct"] == 100.0
    assert short["settings"]["short_interruption_s"] == 1800.0
    levels = api.get(f"{PATH}&cemi=0,1", role=Role.VIEWER).json()
    assert levels["ieee1366"]["all"]["cemi_0"] == pytest.approx(36 / 176)
    assert levels["ieee1366"]["all"]["cemi_1"] == 0.0
    assert levels["settings"]["cemi_n"] == [0, 1]
    given = api.get(f"{PATH}&med_threshold_min=5&med_ddof=0", role=Role.VIEWER).json()
    assert given["med"]["t_med_min"] == 5.0
    assert given["med"]["alpha"] is None
    assert len(given["med_days"]) == 1
    assert given["ieee1366"]["excluding_med"]["saifi"] == 0.0
    assert given["settings"]["med_ddof"] == 0


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("cemi=1,x", "cemi: '1,x'"),
        ("cemi=2,2", "each once"),
        ("med_ddof=-1", "med_ddof"),
        ("sustained_operator=%3C", "sustained_operator"),
        ("med_threshold_min=0", "med_threshold_min"),
    ],
)
def test_bad_settings_are_problems_naming_the_parameter(api: Api, query: str, words: str) -> None:
    response = api.get(f"{PATH}&{query}", role=Role.VIEWER)
    assert response.status_code == 422
    assert words in response.text


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
