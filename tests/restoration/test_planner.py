"""Hand-derived FLISR plans on the test network of tests/restoration/networks.py.

Reading the picture there: a fault on s1 trips CB1 and darkens A1…A8 (330 customers). The
nearest remote switch below s1 is K1, so the faulted zone is A1–A2 (TA1, 50 customers). T3
touches the zone and must never be closed. The healthy island A3…A8 has 280 customers and
1,200 kW; F2 and F3 each carry 300 kW of their own. Currents at 10 kV and power factor 0.95
(6.08 A per 100 kW, losses add about 1 %):

- island whole + own load: 1,500 kW → 91 A;
- A5…A8 (900 kW, 200 customers) + own: 1,200 kW → 73 A;
- A3…A6 (700 kW, 180 customers) + own: 1,000 kW → 61 A;
- A7–A8 (500 kW, 100 customers) + own: 800 kW → 49 A.

The busbars are at 1.0 pu here (the figures above), not the planner's default 1.05 pu.
Each case's expected plan follows from those figures and the ampacities of s5 (F2's head,
behind T1) and s6 (F3's head, behind T2), with the reasoning next to it.
"""

from __future__ import annotations

import numpy as np
import pytest

from openoms.grid.load import check_raw
from openoms.grid.model import Network
from openoms.grid.topology import Topology
from openoms.i18n import Lang
from openoms.restoration import (
    Limits,
    PlanSettings,
    RestorationPlan,
    RestorationPlanner,
    StepAction,
    render,
    switching_order,
)
from openoms.restoration.powerflow import ViolationKind
from tests.restoration.networks import flisr_raw
from tests.restoration.pp_check import pandapower_check


def network(s5: float, s6: float) -> Network:
    result = check_raw(flisr_raw(s5_ampacity=s5, s6_ampacity=s6))
    assert result.network is not None, result.problems
    return result.network


def planner(net: Network) -> RestorationPlanner:
    return RestorationPlanner(net, PlanSettings(limits=Limits(source_u_pu=1.0)))


def live(net: Network) -> Topology:
    return Topology.build(net.graph_arrays(), net.closed_edges())


def edges(net: Network, *ids: str) -> list[int]:
    found = [net.edge_index(i) for i in ids]
    assert None not in found
    return [e for e in found if e is not None]


def steps(plan: RestorationPlan) -> list[tuple[str, str]]:
    return [(("close " if s.close else "open ") + s.device, s.action.value) for s in plan.steps]


def node_ids(net: Network, nodes: np.ndarray) -> list[str]:
    return sorted(net.nodes.id[i] for i in nodes.tolist())


def final_closed(net: Network, plan: RestorationPlan) -> np.ndarray:
    closed = net.closed_edges().copy()
    closed[list(plan.tripped)] = False
    for step in plan.steps:
        closed[step.edge] = step.close
    return closed


def assert_safe(net: Network, plan: RestorationPlan, band: float = 0.07) -> None:
    """The plan's end state, rebuilt independently: the zone dead, what it says restored is
    live, and pandapower finds no limit violated."""
    closed = final_closed(net, plan)
    after = Topology.build(net.graph_arrays(), closed)
    codes = after.feeder_of_nodes
    assert (codes[plan.zone_nodes] == -1).all(), "the faulted zone is energised"
    assert (codes[plan.restored_nodes] != -1).all()
    assert (codes[plan.dark_nodes] == -1).all()
    everything = np.arange(len(net.nodes.id), dtype=np.int32)
    checked = pandapower_check(net, closed, everything, band=band, source_u_pu=1.0)
    assert checked.violations == []
    assert set(plan.restored_nodes.tolist()) <= checked.supplied
    assert not set(plan.zone_nodes.tolist()) & checked.supplied
    # every intermediate state too: the zone dead, no loop, and (after each stage) the limits
    state = net.closed_edges().copy()
    state[list(plan.tripped)] = False
    for index, step in enumerate(plan.steps):
        state[step.edge] = step.close
        between = Topology.build(net.graph_arrays(), state)
        assert (between.feeder_of_nodes[plan.zone_nodes] == -1).all(), step
        assert len(between.loop_edges()) == 0, step
        if plan.first_stage is not None and index == len(plan.first_stage.steps) - 1:
            staged = pandapower_check(net, state, everything, band=band, source_u_pu=1.0)
            assert staged.violations == []
            assert set(plan.first_stage.restored_nodes.tolist()) <= staged.supplied


def test_a_tie_takes_the_whole_downstream_island() -> None:
    # s6 40 A: F3 already carries 18 A, so T2 can take nothing of the island (≥ 43 A);
    # s5 400 A: T1 takes the whole island (91 A). Open K1, close T1: 280 restored, TA1 dark.
    net = network(400.0, 40.0)
    plan = planner(net).plan(live(net), edges(net, "s1"))
    assert plan.trip_assumed
    assert [net.edge_id(e) for e in plan.tripped] == ["CB1"]
    assert steps(plan) == [("open K1", "isolate"), ("close T1", "restore_tie")]
    assert node_ids(net, plan.zone_nodes) == ["A1", "A2"]
    assert (plan.customers_out, plan.customers_restored) == (330, 280)
    assert plan.load_restored_kw == pytest.approx(1200.0)
    assert node_ids(net, plan.dark_nodes) == ["A1", "A2"]
    rejected = [c for c in plan.candidates if not c.ok]
    assert rejected
    assert all(
        v.kind is ViolationKind.OVERLOAD and v.element == "s6"
        for c in rejected
        for v in c.violations
    )
    assert all(s.remote for s in plan.steps)
    assert plan.steps[-1].minutes == pytest.approx(1.0)
    assert_safe(net, plan)


def test_an_island_too_big_for_either_tie_is_split_between_them() -> None:
    # s5 = s6 = 80 A: the whole island through either tie is 91 A, too much. Opening K3 gives
    # A3…A6 to T2 (61 A) and A7–A8 to T1 (49 A): all 280 back, three remote operations. The
    # split at the manual K2 restores only 200 (A3–A4 have no tie), so it ranks below.
    net = network(80.0, 80.0)
    plan = planner(net).plan(live(net), edges(net, "s1"))
    assert steps(plan) == [
        ("open K1", "isolate"),
        ("open K3", "split"),
        ("close T2", "restore_tie"),
        ("close T1", "restore_tie"),
    ]
    assert plan.customers_restored == 280
    assert {c.ops for c in plan.candidates if not c.ok} == {
        tuple((e, True) for e in edges(net, "T1")),
        tuple((e, True) for e in edges(net, "T2")),
    }
    assert plan.final_check is not None
    assert plan.final_check.ok
    assert_safe(net, plan)
    # pandapower agrees on the rejection: the whole island through T1 overloads s5
    closed = net.closed_edges().copy()
    closed[edges(net, "CB1", "K1")] = False
    closed[edges(net, "T1")] = True
    everything = np.arange(len(net.nodes.id), dtype=np.int32)
    (violation,) = pandapower_check(net, closed, everything, band=0.07, source_u_pu=1.0).violations
    assert violation.startswith("s5 at 9")


def test_what_no_tie_can_carry_is_left_dark_and_named() -> None:
    # s6 20 A: T2 can take nothing. s5 80 A: T1 cannot take the whole island (91 A) but takes
    # A5…A8 (73 A) once the manual K2 is opened (200 customers), better than A7–A8 alone after
    # K3 (100). A3–A4 stay dark with the nursing home SC1. Telecontrol alone can already
    # split at the remote K3 and give A7–A8 (70 + 30 customers) to T1 within 1.5 min; the crew
    # then opens K2 (40 min travel + 5 min) and K3 closes again, T1 now feeding A5…A8.
    net = network(80.0, 20.0)
    plan = planner(net).plan(live(net), edges(net, "s1"))
    assert steps(plan) == [
        ("open K1", "isolate"),
        ("open K3", "split"),
        ("close T1", "restore_tie"),
        ("open K2", "split"),
        ("close K3", "restore_switch"),
    ]
    assert [s.remote for s in plan.steps] == [True, True, True, False, True]
    assert [s.minutes for s in plan.steps] == pytest.approx([0.5, 1.0, 1.5, 45.0, 45.5])
    assert plan.first_stage is not None
    assert plan.first_stage.customers_restored == 100
    assert plan.customers_restored == 200
    assert node_ids(net, plan.dark_nodes) == ["A1", "A2", "A3", "A4"]
    assert plan.sensitive_dark == ("SC1",)
    text = render(switching_order(plan, Lang.ZH))
    assert "仍停电的敏感用户：李村敬老院" in text
    assert "第一阶段：遥控操作（恢复 100 户）" in text
    assert "第二阶段：抢修人员到达现场后\n4. 现场手动拉开 K2开关（K2）" in text
    assert_safe(net, plan)


def test_a_switch_that_fails_to_open_widens_the_isolation() -> None:
    # K1 does not open: the zone grows past it. With telecontrol alone it reaches K3 (A1…A6
    # dark) and T1 takes A7–A8 (100 customers). The crew then opens the manual K2 (nothing
    # remote lies between K1 and K2, and A5–A6 can be fed), K3 closes again and T1 carries
    # A5…A8 (200). A1…A4 (130 customers, SC1 among them) stay dark. T2 could not even take
    # A5–A6 behind K3 (F3: 700 kW, 43 A > 40 A).
    net = network(400.0, 40.0)
    topology = live(net)
    planning = planner(net)
    first = planning.plan(topology, edges(net, "s1"))
    plan = planning.replan(topology, first, edges(net, "K1")[0])
    assert plan.failed == frozenset(edges(net, "K1"))
    assert steps(plan) == [
        ("open K3", "isolate"),
        ("close T1", "restore_tie"),
        ("open K2", "isolate"),
        ("close K3", "restore_switch"),
    ]
    assert node_ids(net, plan.zone_nodes) == ["A1", "A2", "A3", "A4"]
    assert plan.first_stage is not None
    assert plan.first_stage.customers_restored == 100
    assert plan.customers_restored == 200
    assert plan.sensitive_dark == ("SC1",)
    assert not any(e in plan.failed for c in plan.candidates for e, _ in c.ops)
    assert_safe(net, plan)


def test_a_fault_next_to_a_sensitive_customer() -> None:
    # Fault on s2, beside the nursing home's transformer area at A4. K1 (remote) above, K2
    # (manual) below, K3 (remote) further. Telecontrol alone isolates A3…A6 between K1 and
    # K3, re-closes CB1 (A1–A2, 50 customers) and closes T1 (A7–A8, 100) within 2 min. The
    # crew opens K2 and K3 closes again: T1 carries A5…A8. Zone A3–A4 with SC1 (80
    # customers) stays dark. T3 could also feed A1–A2 but is manual, so telecontrol uses CB1.
    net = network(400.0, 40.0)
    plan = planner(net).plan(live(net), edges(net, "s2"))
    assert steps(plan) == [
        ("open K1", "isolate"),
        ("open K3", "isolate"),
        ("close CB1", "restore_upstream"),
        ("close T1", "restore_tie"),
        ("open K2", "isolate"),
        ("close K3", "restore_switch"),
    ]
    assert [s.minutes for s in plan.steps] == pytest.approx([0.5, 1.0, 1.5, 2.0, 45.0, 45.5])
    assert node_ids(net, plan.zone_nodes) == ["A3", "A4"]
    assert plan.sensitive_dark == ("SC1",)
    assert plan.sensitive_restored == ()
    assert plan.first_stage is not None
    assert plan.first_stage.customers_restored == 150
    assert plan.customers_restored == 250
    order = render(switching_order(plan, Lang.EN))
    assert "Sensitive customers still off: SC1" in order
    assert "1. Open K1 (K1开关) by telecontrol" in order
    assert "Stage 2: once the crew is on site\n5. Open K2 (K2开关) by hand on site" in order
    assert_safe(net, plan)


def test_never_closes_onto_the_fault() -> None:
    # T3 joins the zone (A2) to F3: it is never a candidate, and CB1, whose load side A1 is in
    # the zone, is not re-closed. The same plan comes from the state after the trip (CB1
    # open, read off the states) as from the normal state with the trip assumed.
    net = network(400.0, 40.0)
    topology = live(net)
    planning = planner(net)
    assumed = planning.plan(topology, edges(net, "s1"))
    t3, cb1 = edges(net, "T3", "CB1")
    assert all(t3 not in {e for e, _ in c.ops} for c in assumed.candidates)
    assert all(cb1 not in {e for e, _ in c.ops} for c in assumed.candidates)
    before = topology.closed.copy()
    topology.operate([(cb1, False)])
    tripped = planning.plan(topology, edges(net, "s1"))
    assert (topology.closed == np.where(np.arange(len(before)) == cb1, False, before)).all()
    assert not tripped.trip_assumed
    assert tripped.tripped == (cb1,)
    assert steps(tripped) == steps(assumed)
    assert tripped.customers_restored == assumed.customers_restored


def test_a_transient_fault_needs_no_switching() -> None:
    # CB1 reclosed successfully: the region is live and nothing tripped. No outage, no step,
    # no power flow run; the same region with the trip gives the plan of the first case.
    net = network(400.0, 40.0)
    topology = live(net)
    planning = planner(net)
    transient = planning.plan(topology, edges(net, "s1"), tripped=())
    assert transient.steps == ()
    assert transient.customers_out == transient.scenarios == 0
    assert len(transient.dark_nodes) == 0
    assert [line.text for line in switching_order(transient, Lang.ZH)] == [
        "s1段（s1） 无停电（瞬时故障已由重合闸消除），无需倒闸操作"  # the section by name
    ]
    permanent = planning.plan(topology, edges(net, "s1"), tripped=edges(net, "CB1"))
    assert steps(permanent) == [("open K1", "isolate"), ("close T1", "restore_tie")]


def test_the_planner_leaves_the_live_topology_as_it_was() -> None:
    net = network(80.0, 80.0)
    topology = live(net)
    closed, feeders = topology.closed.copy(), topology.feeder_of_nodes.copy()
    planner(net).plan(topology, edges(net, "s3"))
    assert (topology.closed == closed).all()
    assert (topology.feeder_of_nodes == feeders).all()


def test_the_switching_order_in_both_languages() -> None:
    net = network(80.0, 80.0)
    plan = planner(net).plan(live(net), edges(net, "s1"))
    zh = switching_order(plan, Lang.ZH)
    en = switching_order(plan, Lang.EN)
    assert [line.number for line in zh] == [line.number for line in en]
    assert [line.number for line in zh if line.number] == [1, 2, 3, 4]
    text = render(zh)
    assert "前提：CB1开关（CB1） 已跳闸" in text
    assert "1. 遥控拉开 K1开关（K1）（隔离故障区段" in text
    assert "严禁合闸于故障区段" in text
    assert "Interlocks: never close onto the faulted" in render(en)
    assert plan.steps[1].action is StepAction.SPLIT


def test_a_tie_whose_substation_transformers_cannot_take_the_island() -> None:
    # As above, but s5 400 A: T1's line could carry the whole island (91 A); 乙变 (SB)'s main
    # transformers, 1.3 MVA, cannot: 1,200 kW of the island + F2's own 300 kW = 1,500 kW →
    # 1,579 kVA > 1,300. A5…A8 after the manual K2 is 1,200 kW → 1,263 kVA plus about 1 % of
    # line losses: it fits; so does A7–A8 (800 kW → 842 kVA). The plan is the one of the 80 A
    # case, for the transformers' sake.
    raw = flisr_raw(s5_ampacity=400.0, s6_ampacity=20.0)
    raw.table("substations").rows[1]["transformer_mva"] = 1.3
    result = check_raw(raw)
    assert result.network is not None, result.problems
    net = result.network
    plan = planner(net).plan(live(net), edges(net, "s1"))
    assert steps(plan) == [
        ("open K1", "isolate"),
        ("open K3", "split"),
        ("close T1", "restore_tie"),
        ("open K2", "split"),
        ("close K3", "restore_switch"),
    ]
    assert plan.customers_restored == 200
    whole = [c for c in plan.candidates if c.ops == tuple((e, True) for e in edges(net, "T1"))]
    (overload,) = [v for c in whole for v in c.violations]
    assert overload.kind is ViolationKind.TRANSFORMER_OVERLOAD
    assert overload.element == "SB"
    assert 1.579 < overload.value < 1.61
    assert plan.final_check is not None
    assert plan.final_check.ok
    # Without the rating, T1 takes the whole island (the first case's plan).
    unrated = network(400.0, 20.0)
    assert steps(planner(unrated).plan(live(unrated), edges(unrated, "s1"))) == [
        ("open K1", "isolate"),
        ("close T1", "restore_tie"),
    ]
