"""Planned work: the switching that isolates it and keeps everyone else on, who is off, and
the comparison with live-line work and temporary supply — all worked by hand on the small
network (tests/grid/small.py):

```
 SA busbar A0 ─CB1─ A1 ─s1─ A2 ─K1─ A3 ─s2─ A4 ·····T1(open)····· B4
                     └─s3─ A5 (fuse FU1 to A6)                    │
 SB busbar B0 ─CB3─ B1 ─s5─ B2 ─s6─ B3 ─s7─ B4 ───────────────────┘
```
TA1 (40 customers) at A2, TA2 (35, with the nursing home SC1) at A4, TA3 (20) at A6, HV1 at
A3, TA5 (30) at B3.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from openoms.errors import InputError
from openoms.grid import network_from_raw
from openoms.grid.model import Network
from openoms.outages.impact import ImpactAnalyser
from openoms.outages.planned import AreaLoad, compare_methods, windows_overlap
from openoms.restoration import RestorationPlanner
from openoms.service.planned import WorkPlan, plan_work
from openoms.settings import Settings
from tests.grid.small import small_raw

START = datetime(2024, 6, 10, 0, tzinfo=UTC)
END = datetime(2024, 6, 10, 6, tzinfo=UTC)  # 6 hours


@pytest.fixture(scope="module")
def network() -> Network:
    return network_from_raw(small_raw())


def _plan(network: Network, **work: list[str]) -> WorkPlan:
    analyser = ImpactAnalyser(network)
    before = analyser.topology.closed.copy()
    plan = plan_work(
        network,
        analyser,
        RestorationPlanner(network),
        Settings(),
        starts_at=START,
        ends_at=END,
        **work,
    )
    assert (analyser.topology.closed == before).all()  # the live states are left as they were
    return plan


def test_work_on_s1_is_isolated_by_k1_and_cb1_and_the_tail_is_fed_through_the_tie(
    network: Network,
) -> None:
    """s1 lies between CB1 and K1 (the nearest remote switches; s3 and the fuse FU1 hang off
    A1 inside that zone). Opening K1 first puts A3–A4 off; closing the tie T1 feeds them
    from SB (F3); opening CB1 last takes the zone A1, A2, A5, A6 off: TA1 + TA3 = 60
    customers. The nursing home (TA2) stays on."""
    plan = _plan(network, work_on=["s1"])
    assert [(op["device"], op["close"]) for op in plan.switching] == [
        ("K1", False),
        ("T1", True),
        ("CB1", False),
    ]
    assert set(plan.opened) == {"K1", "CB1"}
    assert sorted(plan.element_ids) == ["TA1", "TA3"]
    assert plan.customers == 60
    assert plan.impact.sensitive_customers == []
    assert plan.check is not None  # checked by power flow
    assert plan.check["max_loading"] < 1.0


def test_work_on_s2_opens_k1_only_and_cb1_is_never_touched(network: Network) -> None:
    """s2 lies between K1 and the open tie T1: opening K1 isolates it; the part above K1
    stays on (the breaker is not opened at all). Off: TA2 (35, the nursing home) and HV1."""
    plan = _plan(network, work_on=["s2"])
    assert [(op["device"], op["close"]) for op in plan.switching] == [("K1", False)]
    assert sorted(plan.element_ids) == ["HV1", "TA2"]
    assert plan.customers == 36
    assert [s.id for s in plan.impact.sensitive_customers] == ["SC1"]
    assert plan.check is None  # no tie used


def test_a_booking_by_its_switches_is_taken_as_it_is(network: Network) -> None:
    plan = _plan(network, opened=["K1"])
    assert [(op["device"], op["close"]) for op in plan.switching] == [("K1", False)]
    assert sorted(plan.element_ids) == ["HV1", "TA2"]


def test_work_that_puts_no_one_off_or_names_no_line_is_refused(network: Network) -> None:
    with pytest.raises(InputError, match="puts no customer off"):
        _plan(network, opened=["T1"])  # the tie is open already
    with pytest.raises(InputError, match="TA1: it is a transformer area, not a stretch of line"):
        _plan(network, work_on=["TA1"])
    with pytest.raises(InputError, match="unknown element"):
        _plan(network, work_on=["s99"])


def test_live_line_work_and_a_mobile_generator_against_the_outage() -> None:
    """Three areas off for 6 h. Outage: 40 + 35 + 20 = 95 customers, 570 customer-hours,
    energy not supplied (120 + 100) kW × 6 h = 1,320 kWh (C's load is unknown: not counted).
    Live-line work with C's own transformer worked on dead: only C off, 20 customers, 120
    customer-hours. One 150 kW generator: A (120 kW) and B (100 kW) both fit; B holds the
    sensitive customer, so B gets it: A and C off, 60 customers, 360 customer-hours."""
    areas = [
        AreaLoad("A", 40, 120.0, sensitive=False),
        AreaLoad("B", 35, 100.0, sensitive=True),
        AreaLoad("C", 20, math.nan, sensitive=False),
    ]
    found = compare_methods(areas, hours=6.0, generators=1, generator_kw=150.0, live_line_off=["C"])
    assert (found.outage.customers_off, found.outage.customer_hours) == (95, 570.0)
    assert found.outage.energy_not_supplied_kwh == pytest.approx(1320.0)
    assert found.outage.sensitive_off == 1
    assert (found.live_line.customers_off, found.live_line.customer_hours) == (20, 120.0)
    assert found.saved("live_line") == (75, 450.0)
    assert found.temporary_supply.supplied_by_generator == ("B",)
    assert (found.temporary_supply.customers_off, found.saved("temporary_supply")) == (
        60,
        (35, 210.0),
    )
    # Without a sensitive customer the generator goes where it keeps most customers per kW:
    # A keeps 40/120 = 0.33 per kW, B 35/100 = 0.35 per kW → B again; make A better:
    areas[0] = AreaLoad("A", 60, 120.0, sensitive=False)  # 0.5 per kW
    areas[1] = AreaLoad("B", 35, 100.0, sensitive=False)
    assert compare_methods(
        areas, hours=6.0, generators=1, generator_kw=150.0
    ).temporary_supply.supplied_by_generator == ("A",)
    # A generator too small for every area holds none.
    assert (
        compare_methods(
            areas, hours=6.0, generators=3, generator_kw=50.0
        ).temporary_supply.customers_off
        == 115
    )
    with pytest.raises(InputError, match="must last"):
        compare_methods(areas, hours=0.0, generators=1, generator_kw=150.0)


def test_windows_overlap_only_when_they_share_time() -> None:
    a = (START, END)
    assert windows_overlap(a, (END.replace(hour=5), END.replace(hour=9)))
    assert not windows_overlap(a, (END, END.replace(hour=9)))  # touching ends
    assert windows_overlap(a, a)
