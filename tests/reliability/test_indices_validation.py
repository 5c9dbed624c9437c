"""Bad reliability inputs and settings are refused with the field and row named."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from openoms.reliability.data import (
    Avoided,
    CustomerBase,
    Interruptions,
    ReliabilityDataError,
)
from openoms.reliability.indices import Settings, compute
from openoms.reliability.med import med_threshold

T0 = 1_704_038_400  # 2024-01-01 00:00 Asia/Shanghai
YEAR = 366 * 86_400


def base(**change: Any) -> CustomerBase:
    fields: dict[str, Any] = {
        "unit_id": ("TA1", "TA2"),
        "is_hv": np.array([False, True]),
        "customers": np.array([10, 1]),
        "load_kva": np.array([100.0, 500.0]),
        "feeder": np.array([0, 0]),
        "feeder_ids": ("F1",),
        "substation": np.array([0, 0]),
        "substation_ids": ("S1",),
        "grid_cell": np.array([-1, 0]),
        "grid_cell_ids": ("C1",),
        "village": np.array([-1, -1]),
        "village_names": (),
    }
    return CustomerBase(**(fields | change))


def rows(**change: Any) -> Interruptions:
    fields: dict[str, Any] = {
        "event": np.array([0, 0, 1]),
        "event_ids": ("E1", "E2"),
        "unit": np.array([0, 1, 0]),
        "customers": np.array([10, 1, 10]),
        "start": np.array([T0 + 100, T0 + 100, T0 + 5000]),
        "end": np.array([T0 + 1000, T0 + 2000, T0 + 9000]),
        "outage_class": np.array([0, 0, 2], dtype=np.int8),
        "cause": np.array([0, 0, 0]),
        "cause_names": ("tree",),
        "restored_by": np.array([0, 1, 0], dtype=np.int8),
    }
    return Interruptions(**(fields | change))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"end": np.array([T0 + 1000, T0 + 50, T0 + 9000])},
            "Interruptions.end: is before start at row 1",
        ),
        ({"customers": np.array([10, -1, 10])}, "Interruptions.customers: must be >= 0 at row 1"),
        ({"event": np.array([0, 0, 2])}, "Interruptions.event: index out of range 0..1 at row 2"),
        ({"unit": np.array([0, 1])}, "Interruptions.unit: has 2 rows but event has 3"),
        (
            {"outage_class": np.array([0, 7, 0], dtype=np.int8)},
            "Interruptions.outage_class: index out of range 0..4 at row 1",
        ),
        (
            {"restored_by": np.array([0, 0, 3], dtype=np.int8)},
            "Interruptions.restored_by: index out of range 0..2 at row 2",
        ),
        (
            {"start": np.array([T0 + 100, T0 + 101, T0 + 5000])},
            "Interruptions.start: differs between rows of the same event at row 0, 1",
        ),
        ({"cause": np.array([0, 0, 1])}, "Interruptions.cause: index out of range 0..0 at row 2"),
        (
            {"start": np.array([1.5, 1.5, 2.0])},
            "Interruptions.start: must be a one-dimensional array",
        ),
    ],
)
def test_interruptions_name_the_field_and_row(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ReliabilityDataError) as caught:
        rows(**change)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unit_id": ("TA1", "TA1")}, "CustomerBase.unit_id: 'TA1' repeats row 0 at row 1"),
        ({"customers": np.array([10, -2])}, "CustomerBase.customers: must be >= 0 at row 1"),
        (
            {"load_kva": np.array([np.nan, 1.0])},
            "CustomerBase.load_kva: must be finite and >= 0 at row 0",
        ),
        ({"feeder": np.array([0, 1])}, "CustomerBase.feeder: index out of range 0..0 at row 1"),
        (
            {"grid_cell": np.array([-2, 0])},
            "CustomerBase.grid_cell: index out of range -1..0 at row 0",
        ),
        ({"is_hv": np.array([False])}, "CustomerBase.is_hv: has 1 rows but unit_id has 2"),
    ],
)
def test_customer_base_names_the_field_and_row(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ReliabilityDataError) as caught:
        base(**change)
    assert str(caught.value).startswith(message)


def test_avoided_checks_how_and_hours() -> None:
    good: dict[str, Any] = {
        "unit": np.array([0, 1]),
        "customers": np.array([10, 1]),
        "hours": np.array([1.0, 2.0]),
        "how": np.array([1, 2], dtype=np.int8),
        "at": np.array([T0, T0]),
    }
    Avoided(**good)
    with pytest.raises(ReliabilityDataError, match=r"Avoided\.how: must be 1 .* at row 1"):
        Avoided(**(good | {"how": np.array([1, 0], dtype=np.int8)}))
    with pytest.raises(
        ReliabilityDataError, match=r"Avoided\.hours: must be finite and >= 0 at row 0"
    ):
        Avoided(**(good | {"hours": np.array([-1.0, 2.0])}))
    with pytest.raises(ValueError, match=r"Avoided\.unit: index out of range 0\.\.1 at row 0"):
        compute(
            rows(),
            base(),
            start=T0,
            end=T0 + YEAR,
            avoided=Avoided(**(good | {"unit": np.array([5, 1])})),
        )


def test_rows_must_fit_the_base() -> None:
    with pytest.raises(
        ReliabilityDataError, match=r"Interruptions\.unit: index out of range 0\.\.1 at row 1"
    ):
        compute(rows(unit=np.array([0, 2, 0])), base(), start=T0, end=T0 + YEAR)
    with pytest.raises(
        ReliabilityDataError, match=r"Interruptions\.customers: exceeds .* at row 1"
    ):
        compute(rows(customers=np.array([10, 2, 10])), base(), start=T0, end=T0 + YEAR)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sustained_operator": "=>"}, "Settings.sustained_operator"),
        ({"sustained_threshold_s": -1.0}, "Settings.sustained_threshold_s"),
        ({"short_interruption_s": float("nan")}, "Settings.short_interruption_s"),
        ({"med_ddof": -1}, "Settings.med_ddof"),
        ({"med_history_years": 0}, "Settings.med_history_years"),
        ({"celid_threshold_h": 0.0}, "Settings.celid_threshold_h"),
        ({"tz": "Mars/Olympus"}, "Settings.tz: unknown time zone 'Mars/Olympus'"),
    ],
)
def test_settings_name_the_setting(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(**change)


def test_compute_refuses_a_bad_period_breakdown_or_threshold() -> None:
    with pytest.raises(ValueError, match=r"period: end \(1\) must be after start \(2\)"):
        compute(rows(), base(), start=2, end=1)
    with pytest.raises(ValueError, match="by: unknown breakdown 'weekday'"):
        compute(rows(), base(), start=T0, end=T0 + YEAR, by="weekday")
    with pytest.raises(ValueError, match="by: a breakdown repeats a dimension"):
        compute(rows(), base(), start=T0, end=T0 + YEAR, by=("feeder", "feeder"))
    with pytest.raises(ValueError, match="med_threshold: must be a positive number"):
        compute(rows(), base(), start=T0, end=T0 + YEAR, med_threshold=-5.0)


def test_med_threshold_needs_enough_days_and_clean_values() -> None:
    with pytest.raises(
        ValueError, match=r"need more than 1 history day\(s\) with SAIDI > 0, got 1"
    ):
        med_threshold([0.0, 3.0, 0.0])
    with pytest.raises(ValueError, match=r"daily SAIDI must be finite and >= 0 \(day 1\)"):
        med_threshold([1.0, -3.0, 2.0])
    assert med_threshold([3.0], ddof=0).t_med_min == pytest.approx(3.0)  # β = 0 with one day


def test_a_period_without_records_is_not_perfect_reliability() -> None:
    """No row began in the period: nothing says whether it had no interruption or no data,
    so every index is null (not SAIFI 0 and RS-1 100 %) and a warning says why; the
    customer counts stay (N_T = 10 + 1 = 11, users = 2)."""
    result = compute(rows(), base(), start=T0 + 2 * YEAR, end=T0 + 3 * YEAR)
    assert result.index("saifi") is None
    assert result.index("caidi_min") is None
    assert result.index("asai") is None
    assert result.index("rs1_pct") is None
    data = result.as_dict()
    assert data["ieee1366"]["all"]["saifi"] is None
    assert data["ieee1366"]["all"]["customers"] == 11
    assert data["dlt836"]["rs1_pct"] is None
    assert data["dlt836"]["users"] == 2
    assert data["dlt836"]["splits"]["planned"]["aihc_h"] is None
    assert data["counts"]["rows"] == 0
    assert any("no interruption records in the period" in w for w in data["warnings"])
    with pytest.raises(KeyError, match="no index 'saifx'"):
        result.index("saifx")


def test_a_period_with_records_and_no_sustained_interruption_is_zero() -> None:
    """One momentary row (2 min, TA1's 10 customers) in the period: there are records, so
    SAIFI = 0 / 11 = 0, MAIFI = 10 / 11 = 0.909 (IEEE 1366-2012 3.3.1, 3.5.1), no warning;
    DL/T 836 leaves out 120 s ≤ 180 s, so RS-1 = 100 %."""
    one = rows(
        event=np.array([0]),
        event_ids=("E1",),
        unit=np.array([0]),
        customers=np.array([10]),
        start=np.array([T0 + 100]),
        end=np.array([T0 + 220]),
        outage_class=np.array([0], dtype=np.int8),
        cause=np.array([0]),
        restored_by=np.array([0], dtype=np.int8),
    )
    result = compute(one, base(), start=T0, end=T0 + YEAR)
    assert result.index("saifi") == 0.0
    assert result.index("maifi") == pytest.approx(10 / 11)
    assert result.index("rs1_pct") == 100.0
    assert result.warnings == ()


def test_no_customer_base_is_said_and_null() -> None:
    """Both units with 0 customers: N_T = 0, every IEEE ratio is 0 / 0 (null), with a warning."""
    empty_base = base(customers=np.array([0, 0]))
    nothing = rows(customers=np.array([0, 0, 0]))
    result = compute(nothing, empty_base, start=T0, end=T0 + YEAR)
    assert result.index("saifi") is None
    assert result.index("aihc1_h") is None
    assert any("no customer base" in w for w in result.as_dict()["warnings"])


@pytest.mark.parametrize("by", [None, "feeder", "month", "cause", ("village", "class")])
def test_no_interruptions_at_all(by: str | tuple[str, ...] | None) -> None:
    empty = np.zeros(0, dtype=np.int64)
    nothing = Interruptions(
        event=empty,
        event_ids=(),
        unit=empty,
        customers=empty,
        start=empty,
        end=empty,
        outage_class=empty.astype(np.int8),
        cause=empty,
        cause_names=(),
        restored_by=empty.astype(np.int8),
    )
    result = compute(nothing, base(), start=T0, end=T0 + YEAR, by=by)
    assert result.index("saifi") is None
    assert result.index("aitc1") is None
    assert result.warnings
    for row in (result.as_dict()["breakdown"] or {"rows": []})["rows"]:
        assert row["saifi"] is None
    assert result.med is None
    assert result.med_note is not None
    assert result.med_note.startswith("no major event days: 0 history day(s)")


def test_days_follow_the_zone_across_daylight_saving() -> None:
    from datetime import datetime

    from openoms.reliability._pairs import local_day

    def day(text: str, tz: str) -> str:
        second = int(datetime.fromisoformat(text).timestamp())
        return str(local_day(np.array([second]), tz).astype("datetime64[D]")[0])

    # Berlin moves from +01:00 to +02:00 at 02:00 on 2024-03-31
    assert day("2024-03-31T00:30:00+01:00", "Europe/Berlin") == "2024-03-31"  # 03-30 UTC
    assert day("2024-03-31T23:30:00+02:00", "Europe/Berlin") == "2024-03-31"
    assert day("2024-04-01T00:10:00+02:00", "Europe/Berlin") == "2024-04-01"  # 03-31 UTC
    assert day("2024-09-01T07:00:00+08:00", "Asia/Shanghai") == "2024-09-01"  # 08-31 UTC
