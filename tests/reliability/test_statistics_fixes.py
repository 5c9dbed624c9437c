"""Fixes in the historical statistics, each with a hand-derived case.

Formulas: IEEE Std 1366-2012 (clause numbers as in docs/reliability.md): SAIFI 3.3.1, SAIDI
3.3.2, CAIFI 3.3.5 = ΣN_i / CN, CTAIDI 3.3.4 = Σr_i·N_i / CN, CEMIn 3.3.7, CELID 3.3.8, MAIFI
3.5.1, MAIFIe 3.5.2, CEMSMIn 3.5.3, major event days 4.5.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from openoms.reliability.data import CustomerBase, Interruptions
from openoms.reliability.history_csv import parse_history
from openoms.reliability.indices import Settings, compute
from openoms.reliability.rows import CsvRowsError
from openoms.service.reliability import engine_settings, targets_of
from openoms.settings import load_settings

T0 = 1_704_038_400  # 2024-01-01T00:00:00+08:00
DAY = 86_400
YEAR = 366 * DAY  # 2024


def _base(customers: tuple[int, ...] = (100,)) -> CustomerBase:
    n = len(customers)
    return CustomerBase(
        unit_id=tuple(f"TA{i + 1}" for i in range(n)),
        is_hv=np.zeros(n, dtype=bool),
        customers=np.array(customers),
        load_kva=np.full(n, 100.0),
        feeder=np.zeros(n, dtype=np.int64),
        feeder_ids=("F1",),
        substation=np.zeros(n, dtype=np.int64),
        substation_ids=("S1",),
        grid_cell=np.full(n, -1),
        grid_cell_ids=(),
        village=np.full(n, -1),
        village_names=(),
    )


def _events(customers: list[int], minutes: list[float], starts: list[int]) -> Interruptions:
    """One row per event, all on unit 0."""
    n = len(customers)
    start = np.array(starts, dtype=np.int64)
    return Interruptions(
        event=np.arange(n),
        event_ids=tuple(f"E{i}" for i in range(n)),
        unit=np.zeros(n, dtype=np.int64),
        customers=np.array(customers),
        start=start,
        end=start + (np.array(minutes) * 60).astype(np.int64),
        outage_class=np.zeros(n, dtype=np.int8),
        cause=np.zeros(n, dtype=np.int64),
        cause_names=("tree",),
        restored_by=np.zeros(n, dtype=np.int8),
    )


def test_a_unit_hit_in_part_four_times_keeps_cemi_possible() -> None:
    """TA1 has 100 customers (N_T = 100); four sustained events each cut 25 of them for 60 min.

    SAIFI = 4 × 25 / 100 = 1.0; SAIDI = 4 × 25 × 60 / 100 = 60 min.
    The events are taken to hit the same 25 customers (nested): CN = 25,
    CAIFI = 100 / 25 = 4.0, CTAIDI = 6,000 / 25 = 240 min.
    CEMI3 = customers with more than 3 interruptions = c_(4) = 25 → 25 / 100 = 0.25 (the
    issue's bound CN / N_T = 0.25; counting the whole unit gave the impossible 1.0).
    CELID-t (2 h): the 25 customers are off 4 × 60 = 240 min ≥ 120 → 0.25 (was 1.0).
    """
    starts = [T0 + k * 30 * DAY for k in range(4)]
    rows = _events([25, 25, 25, 25], [60, 60, 60, 60], starts)
    result = compute(
        rows, _base(), start=T0, end=T0 + YEAR, settings=Settings(celid_threshold_h=2.0)
    )
    all_days = result.as_dict()["ieee1366"]["all"]
    assert all_days["saifi"] == pytest.approx(1.0)
    assert all_days["saidi_min"] == pytest.approx(60.0)
    assert all_days["customers_distinct"] == 25
    assert all_days["caifi"] == pytest.approx(4.0)
    assert all_days["ctaidi_min"] == pytest.approx(240.0)
    assert all_days["cemi_n"] == pytest.approx(0.25)
    assert all_days["cemi_3"] == pytest.approx(0.25)
    assert all_days["celid_t"] == pytest.approx(0.25)
    assert all_days["cemi_n"] <= all_days["customers_distinct"] / all_days["customers"]
    over = result.as_dict()["over_n"]
    assert (over["n"], over["customers"], over["units"]) == (3, 25, 1)  # 25, not the unit's 100
    assert "same customers as far as possible" in result.as_dict()["unit_assumption"]


def test_events_of_different_sizes_give_cemi_by_rank() -> None:
    """TA1, 100 customers: sustained events of 40, 30, 20, 10 customers, 60 min each, and one
    momentary event (1 min) of 50 customers; CEMI levels 0, 1, 2, 3; CELID 2 h.

    Nested: the customer ranked k is in every event of at least k customers.
    SAIFI = 100 / 100 = 1.0; SAIDI = 100 × 60 / 100 = 60 min; CN = 40;
    CAIFI = 100 / 40 = 2.5; CTAIDI = 6,000 / 40 = 150 min.
    CEMI0 = c_1 = 40 → 0.40 (= CN / N_T); CEMI1 = c_2 = 30 → 0.30; CEMI2 = c_3 = 20 → 0.20;
    CEMI3 = c_4 = 10 → 0.10.
    CEMSMIn counts the momentary event too, sorted 50, 40, 30, 20, 10: CEMSMI1 = 40 → 0.40,
    CEMSMI2 = 30 → 0.30, CEMSMI3 = 20 → 0.20.
    CELID-t 2 h: cumulative 60 min (40 customers), 120 min (30) ≥ 120 → 30 → 0.30;
    CELID-s 2 h: no single interruption of 2 h → 0.
    MAIFI = MAIFIe = 50 / 100 = 0.5.
    """
    starts = [T0 + k * 30 * DAY for k in range(5)]
    rows = _events([40, 30, 20, 10, 50], [60, 60, 60, 60, 1], starts)
    settings = Settings(cemi_n=(0, 1, 2, 3), celid_threshold_h=2.0)
    got = compute(rows, _base(), start=T0, end=T0 + YEAR, settings=settings).as_dict()
    a = got["ieee1366"]["all"]
    assert a["saifi"] == pytest.approx(1.0)
    assert a["saidi_min"] == pytest.approx(60.0)
    assert a["customers_distinct"] == 40
    assert a["caifi"] == pytest.approx(2.5)
    assert a["ctaidi_min"] == pytest.approx(150.0)
    expected_cemi = {0: 0.40, 1: 0.30, 2: 0.20, 3: 0.10}
    assert {n: a[f"cemi_{n}"] for n in range(4)} == pytest.approx(expected_cemi)
    assert a["cemi_n"] == pytest.approx(0.40)  # the first level given
    assert [a[f"cemsmi_{n}"] for n in (1, 2, 3)] == pytest.approx([0.40, 0.30, 0.20])
    assert a["celid_t"] == pytest.approx(0.30)
    assert a["celid_s"] == 0.0
    assert a["maifi"] == pytest.approx(0.5)
    assert a["maifie"] == pytest.approx(0.5)
    assert got["settings"]["cemi_n"] == [0, 1, 2, 3]


def test_whole_unit_events_are_exact() -> None:
    """Four events each taking TA1's whole 100 customers: CEMI3 = 100 / 100 = 1.0 exactly,
    CN = 100, CAIFI = 400 / 100 = 4.0 — the estimate changes nothing when units go whole."""
    starts = [T0 + k * 30 * DAY for k in range(4)]
    rows = _events([100] * 4, [60] * 4, starts)
    a = compute(rows, _base(), start=T0, end=T0 + YEAR).as_dict()["ieee1366"]["all"]
    assert a["cemi_n"] == pytest.approx(1.0)
    assert a["customers_distinct"] == 100
    assert a["caifi"] == pytest.approx(4.0)


def test_bad_cemi_levels_are_refused() -> None:
    with pytest.raises(ValueError, match=r"Settings\.cemi_n: whole numbers 0 or more"):
        Settings(cemi_n=(1, -2))
    with pytest.raises(ValueError, match=r"Settings\.cemi_n: a level given twice"):
        Settings(cemi_n=(2, 2))


HEADER = "event_id,unit_id,customers,start,step_end,class,cause,operations"


def _csv(*lines: str) -> list[list[str]]:
    return [line.split(",") for line in (HEADER, *lines)]


def test_reclosing_operations_from_the_csv() -> None:
    """TA1 100 and TA2 50 customers (N_T = 150). Event M1: a fault cleared by reclosing, 30 s;
    TA1's row has operations = 3 (three reclosing operations), TA2's is empty (= 1).

    MAIFI (3.5.1) = customer momentary interruptions / N_T = (3 × 100 + 1 × 50) / 150
    = 350 / 150 = 2.3333; MAIFIe (3.5.2) = momentary events, once per event and unit:
    (100 + 50) / 150 = 1.0. SAIFI = 0 (nothing sustained; there are records, so 0, not null).
    """
    lines = _csv(
        "M1,TA1,100,2024-05-01 10:00:00,2024-05-01 10:00:30,fault,lightning,3",
        "M1,TA2,50,2024-05-01 10:00:00,2024-05-01 10:00:30,fault,lightning,",
    )
    base = _base((100, 50))
    history = parse_history(lines, base, source="m.csv")
    assert len(history) == 4  # TA1's row once per operation
    assert history.source_row.tolist() == [2, 2, 2, 3]
    a = compute(history.interruptions(), base, start=T0, end=T0 + YEAR).as_dict()
    assert a["ieee1366"]["all"]["maifi"] == pytest.approx(350 / 150)
    assert a["ieee1366"]["all"]["maifie"] == pytest.approx(1.0)
    assert a["ieee1366"]["all"]["saifi"] == 0.0
    assert a["counts"]["events"] == 1
    assert a["counts"]["momentary_only_events"] == 1


def test_bad_operations_name_file_row_and_field() -> None:
    lines = _csv(
        "A,TA1,10,2024-05-01 10:00:00,2024-05-01 10:00:30,fault,x,0",
        "B,TA1,10,2024-05-02 10:00:00,2024-05-02 10:00:30,fault,x,two",
        "C,TA1,10,2024-05-03 10:00:00,2024-05-03 10:20:00,fault,x,2",
        "D,TA1,10,2024-05-04 10:00:00,2024-05-04 10:05:00,fault,x,2",
    )
    with pytest.raises(CsvRowsError) as caught:
        parse_history(lines, _base(), source="ops.csv")
    text = str(caught.value)
    assert "ops.csv: 3 problem(s)" in text
    assert "row 2, operations: '0': a whole number ≥ 1" in text
    assert "row 3, operations: 'two': a whole number ≥ 1" in text
    # 20 min is sustained; 5 min exactly is momentary with '>' (IEEE 1366), so row 5 is fine
    assert "row 4, operations: '2': 1 on a sustained row (1200 s, longer than 300 s)" in text
    # with '>=' the 5.0-minute row is sustained too
    with pytest.raises(CsvRowsError, match=r"row 2, operations: .2.: 1 on a sustained row"):
        parse_history(lines[:1] + lines[4:], _base(), source="ops.csv", sustained_operator=">=")


def _daily(days: list[str], customers: list[int]) -> Interruptions:
    """One 10-minute interruption of TA1 per local day given."""
    zone = ZoneInfo("Asia/Shanghai")
    starts = [int(datetime.fromisoformat(d).replace(tzinfo=zone).timestamp()) for d in days]
    return _events(customers, [10.0] * len(days), starts)


def test_a_threshold_from_less_than_five_years_carries_a_caveat() -> None:
    """History (N_T = 100): 2022-07-01 10 customers × 10 min → daily SAIDI 1.0 min;
    2023-01-10 20 × 10 → 2.0; 2023-06-01 40 × 10 → 4.0 (IEEE 1366 4.5): α = mean(0, ln 2,
    2 ln 2) = ln 2, β (n − 1) = ln 2, T_MED = exp(3.5 ln 2) = 2^3.5 = 11.314 min.
    It rests on 3 days over 2022-07-01 … 2024-01-01 = 184 + 365 = 549 days = 549 / 365.25
    = 1.50 years: less than five, so every output says so."""
    rows = _daily(["2022-07-01T08:00", "2023-01-10T08:00", "2023-06-01T08:00"], [10, 20, 40])
    result = compute(rows, _base(), start=T0, end=T0 + YEAR)
    assert result.med is not None
    assert result.med.t_med_min == pytest.approx(2**3.5)
    assert result.med.n_days == 3
    assert result.med.history_years == pytest.approx(1.50)
    data = result.as_dict()
    assert data["med"]["history_years"] == pytest.approx(1.50)
    assert data["med_caveat"].startswith("T_MED rests on 3 day(s) with SAIDI > 0 over 1.50 year")


def test_five_years_of_history_has_no_caveat() -> None:
    """The same three days with the first on 2019-01-15, 14 days after the five-year window
    opens (2019-01-01): no caveat. With med_history_years = 3 the window itself is short, so
    the caveat is back (3 years, 2021-01-01 …; the 2023 days give n = 2)."""
    rows = _daily(["2019-01-15T08:00", "2023-01-10T08:00", "2023-06-01T08:00"], [10, 20, 40])
    assert compute(rows, _base(), start=T0, end=T0 + YEAR).med_caveat is None
    short = compute(rows, _base(), start=T0, end=T0 + YEAR, settings=Settings(med_history_years=3))
    assert short.med is not None
    assert short.med.n_days == 2
    assert short.med_caveat is not None
    assert "looking back at most 3" in short.med_caveat


def test_a_given_threshold_has_no_caveat() -> None:
    rows = _daily(["2023-06-01T08:00"], [40])
    result = compute(rows, _base(), start=T0, end=T0 + YEAR, med_threshold=20.0)
    assert result.med_caveat is None
    assert result.as_dict()["med"]["history_years"] is None


def test_the_nested_estimate_matches_a_plain_implementation_on_random_data() -> None:
    """Random partial events (one row per event and unit, some momentary) on 20 units over a
    year, by month: CN, CEMIn (n = 0…3), CEMSMI3 and CELID-t against a plain Python reading of
    the rule (sort a unit's events by customers, take the (n+1)-th …), and CEMIn ≤ CN / N_T
    in every group."""
    rng = np.random.default_rng(16)
    n_units, n_rows = 20, 1500
    caps = rng.integers(5, 60, n_units)
    unit = rng.integers(0, n_units, n_rows)
    customers = np.maximum(1, (rng.random(n_rows) * caps[unit]).astype(np.int64))
    start = T0 + rng.integers(0, 365 * DAY, n_rows)
    seconds = np.where(rng.random(n_rows) < 0.2, 60, rng.integers(301, 6 * 3600, n_rows))
    rows = Interruptions(
        event=np.arange(n_rows),
        event_ids=tuple(f"E{i}" for i in range(n_rows)),
        unit=unit,
        customers=customers,
        start=start,
        end=start + seconds,
        outage_class=np.zeros(n_rows, dtype=np.int8),
        cause=np.zeros(n_rows, dtype=np.int64),
        cause_names=("x",),
        restored_by=np.zeros(n_rows, dtype=np.int8),
    )
    base = _base(tuple(int(c) for c in caps))
    settings = Settings(cemi_n=(0, 1, 2, 3), celid_threshold_h=4.0)
    result = compute(rows, base, start=T0, end=T0 + YEAR, by="month", settings=settings)
    assert result.breakdown is not None
    table = result.breakdown.ieee
    months = result.breakdown.grouping
    month_of = {months.label(g)[0]: g for g in range(months.n_groups)}
    zone = ZoneInfo("Asia/Shanghai")
    cn = np.zeros(months.n_groups, dtype=np.int64)
    cemi = np.zeros((months.n_groups, 4), dtype=np.int64)
    cemsmi3 = np.zeros(months.n_groups, dtype=np.int64)
    celid = np.zeros(months.n_groups, dtype=np.int64)
    for u in range(n_units):
        for label, g in month_of.items():
            mine = [
                i
                for i in np.flatnonzero(unit == u)
                if datetime.fromtimestamp(int(start[i]), zone).strftime("%Y-%m") == label
            ]
            sustained = sorted(
                ((int(customers[i]), int(seconds[i])) for i in mine if seconds[i] > 300),
                reverse=True,
            )
            hits = sorted((int(customers[i]) for i in mine), reverse=True)
            if sustained:
                cn[g] += sustained[0][0]
            for n in range(4):
                if len(sustained) > n:
                    cemi[g, n] += sustained[n][0]
            if len(hits) > 3:
                cemsmi3[g] += hits[3]
            total = 0
            for c, s in sustained:
                total += s
                if total >= 4 * 3600:
                    celid[g] += c
                    break
    assert table.customers_distinct.tolist() == cn.tolist()
    assert table.cemi_customers.tolist() == cemi.tolist()
    assert table.cemsmi_customers[:, 3].tolist() == cemsmi3.tolist()
    assert table.celid_t_customers.tolist() == celid.tolist()
    assert (cemi[:, 0] > cemi[:, 3]).any()  # partial events do make the ranks differ
    assert (table.cemi_customers.max(axis=1) <= table.customers_distinct).all()


def test_every_setting_comes_from_the_toml_file(tmp_path: Path) -> None:
    """Each engine setting has a key in openoms.toml; the engine gets exactly those values."""
    config = tmp_path / "openoms.toml"
    config.write_text(
        "\n".join(
            [
                'timezone = "Europe/Berlin"',
                "sustained_threshold_min = 1.0",
                'reliability_sustained_operator = ">="',
                "reliability_short_interruption_s = 0",
                "reliability_med_ddof = 0",
                "reliability_med_history_years = 3",
                "reliability_cemi = [1, 2, 3]",
                "reliability_celid_threshold_h = 12.0",
                "reliability_worst_n = 4",
                "reliability_target_saidi_min = 240.0",
                "reliability_target_rs1_pct = 99.95",
            ]
        ),
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    assert engine_settings(settings) == Settings(
        sustained_threshold_s=60.0,
        sustained_operator=">=",
        short_interruption_s=0.0,
        med_ddof=0,
        med_history_years=3,
        cemi_n=(1, 2, 3),
        tz="Europe/Berlin",
        celid_threshold_h=12.0,
        worst_n=4,
    )
    assert engine_settings(settings, med_ddof=1, cemi_n=None).med_ddof == 1
    assert targets_of(settings) == {"saidi_min": 240.0, "rs1_pct": 99.95}
