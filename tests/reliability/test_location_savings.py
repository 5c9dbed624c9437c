"""The patrol-only counterfactual of located faults and FLISR, by hand.

The case (hand-derived; the assumptions are the module's, docs/reliability.md): a fault at
10:00 below a breaker with 12 km of line; the location message at 10:02 names a region of
1.5 km; no crew confirmation. Patrol at 3 km/h, found after half the line, 60 min per manual
switch.

- Finding with the location: 10:02 + 0.5 × 1.5 km / 3 km/h = 10:02 + 15 min = 10:17.
- Patrol-only finds it later by 0.5 × (12 − 1.5) / 3 h = 1.75 h = 105 min: at 12:02, and
  switches the healthy part back by hand from 13:02.
- Area A, 100 customers, switched back (FLISR) at 10:05: actual 5 min × 100 = 500;
  patrol-only max(10:05 + 105 min, 13:02) = 13:02, 182 min × 100 = 18,200.
- Area B, 40 customers, back after the repair at 14:00: actual 240 × 40 = 9,600;
  patrol-only 14:00 + 105 min = 15:45, 345 × 40 = 13,800.
- Area C, 10 customers, still off: left out.
- Totals: actual 10,100; patrol-only 32,000; saved 21,900 customer-minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openoms.errors import InputError
from openoms.reliability.location_savings import (
    AreaInterrupted,
    FaultHistory,
    PatrolSettings,
    outage_saving,
    savings,
)

T0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)  # 10:00 Beijing time


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def located_fault(**changes: object) -> FaultHistory:
    fields: dict[str, object] = {
        "outage_id": 1,
        "feeder": "10kV 柏山Ⅴ线",
        "started_at": T0,
        "located": True,
        "located_at": at(2),
        "found_at": None,
        "patrolled_km": 12.0,
        "region_km": 1.5,
        "areas": (
            AreaInterrupted("A", 100, T0, at(5), by_switching=True),
            AreaInterrupted("B", 40, T0, at(240), by_switching=False),
            AreaInterrupted("C", 10, T0, None, by_switching=False),
        ),
    }
    return FaultHistory(**(fields | changes))  # type: ignore[arg-type]


def test_a_located_fault_with_flisr_by_hand() -> None:
    saving = outage_saving(located_fault(), PatrolSettings())
    assert saving.extra_patrol_min == pytest.approx(105.0)
    assert saving.actual_minutes == pytest.approx(10_100.0)
    assert saving.patrol_only_minutes == pytest.approx(32_000.0)
    assert saving.saved_minutes == pytest.approx(21_900.0)
    assert saving.customers == 140
    assert saving.still_off == 1
    assert saving.found_estimated


def test_a_confirmed_finding_time_is_used() -> None:
    # Found at 10:40 (confirmed): patrol-only at 12:25, switching back from 13:25 → A off
    # 205 min × 100 = 20,500; B unchanged 13,800; patrol-only 34,300.
    saving = outage_saving(located_fault(found_at=at(40)), PatrolSettings())
    assert not saving.found_estimated
    assert saving.patrol_only_minutes == pytest.approx(34_300.0)


def test_a_fault_never_located_was_patrol_only_already() -> None:
    saving = outage_saving(located_fault(located=False, located_at=None), PatrolSettings())
    assert saving.saved_minutes == 0.0
    assert saving.extra_patrol_min == 0.0
    assert saving.actual_minutes == pytest.approx(10_100.0)


def test_an_unknown_message_time_counts_the_patrol_from_the_start() -> None:
    # Found at 10:00 + 15 min = 10:15; patrol-only 12:00, switching back from 13:00: A off
    # 180 min × 100 = 18,000; B 13,800; patrol-only 31,800.
    saving = outage_saving(located_fault(located_at=None), PatrolSettings())
    assert saving.patrol_only_minutes == pytest.approx(31_800.0)


def test_the_settings_move_the_figure_as_the_arithmetic_says() -> None:
    # At 6 km/h the extra patrol halves to 52.5 min: found 10:09.5, patrol-only 11:02,
    # switching back from 12:02 → A 122 min × 100 = 12,200; B (240 + 52.5) × 40 = 11,700.
    saving = outage_saving(located_fault(), PatrolSettings(patrol_speed_kmh=6.0))
    assert saving.patrol_only_minutes == pytest.approx(23_900.0)


def test_totals_by_feeder_and_share() -> None:
    other = located_fault(outage_id=2, feeder="10kV 城关Ⅴ线", located=False)
    total = savings([located_fault(), other], PatrolSettings())
    assert total.saved_minutes == pytest.approx(21_900.0)
    assert total.by_feeder["10kV 城关Ⅴ线"] == pytest.approx((10_100.0, 10_100.0))
    assert total.saved_share == pytest.approx(21_900.0 / 42_100.0)
    assert savings([], PatrolSettings()).saved_share is None


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("patrol_speed_kmh", 0.0, "patrol_speed_kmh must be > 0"),
        ("found_fraction", 1.5, "found_fraction must be in (0, 1]"),
        ("manual_switching_min", -1.0, "manual_switching_min must be ≥ 0"),
    ],
)
def test_bad_settings_are_named(field: str, value: float, named: str) -> None:
    with pytest.raises(InputError, match=named.replace("(", r"\(").replace("]", r"\]")):
        PatrolSettings(**{field: value})


def test_negative_lengths_are_named() -> None:
    with pytest.raises(InputError, match="outage 1: line lengths must be ≥ 0"):
        outage_saving(located_fault(region_km=-1.0), PatrolSettings())
