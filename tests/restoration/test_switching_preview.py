"""The ``openoms switching`` preview: operations that change nothing, and the power-flow check
of the receiving feeder."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from openoms.cli import main
from openoms.grid.load import check_raw, load_network, network_from_raw
from openoms.grid.topology import Topology
from openoms.i18n import Lang
from openoms.outages.impact import ImpactAnalyser
from openoms.outages.switching import Operation, switching_effect, unchanged_operations
from openoms.restoration.powerflow import PowerFlowModel, ViolationKind
from openoms.restoration.preview import switching_check
from openoms.samples import bundled_path
from tests.grid.small import small_raw
from tests.restoration.networks import flisr_raw


def test_an_operation_that_changes_nothing_is_named() -> None:
    # The old help example: CG-F01-K09 is closed in the sample county, so closing it does
    # nothing and the sequence only cuts the customers below CG-F01-K03.
    network = load_network(bundled_path("sample:county"))
    analyser = ImpactAnalyser(
        network, Topology.build(network.graph_arrays(), network.closed_edges())
    )
    ops = [Operation("CG-F01-K09", close=True), Operation("CG-F01-K03", close=False)]
    effect = switching_effect(analyser, ops)
    assert effect.unchanged == (ops[0],)
    assert effect.lost.lv_customers == 1690
    assert effect.warnings(Lang.EN) == [
        "close CG-F01-K09 changes nothing: CG-F01-K09 is already closed at that step"
    ]
    assert effect.warnings(Lang.ZH) == [
        "合上 CG-F01-K09 不改变任何状态：CG-F01-K09 在该步之前已在合位"
    ]
    assert effect.as_dict()["unchanged"] == [{"device": "CG-F01-K09", "close": True}]


def test_the_state_is_followed_through_the_sequence() -> None:
    # open K, open K again (nothing), close K (a change), close K again (nothing)
    closed = [True, False]
    ops = [Operation("K", False), Operation("K", False), Operation("K", True), Operation("K", True)]
    assert unchanged_operations(closed, [0, 0, 0, 0], ops) == (ops[1], ops[3])
    assert unchanged_operations(closed, [1], [Operation("T", True)]) == ()


def test_the_receiving_feeder_is_checked_by_power_flow() -> None:
    # Moving A3…A8 (1,200 kW) from F1 to F2 through T1 (tests/restoration/networks.py): F2
    # then carries 1,500 kW through s5, 87 A at 1.05 pu and power factor 0.95, above its
    # 80 A. Before the sequence s5 carried 300 kW (17 A): the overload is new.
    result = check_raw(flisr_raw(s5_ampacity=80.0))
    assert result.network is not None
    network = result.network
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    k1, t1 = network.edge_index("K1"), network.edge_index("T1")
    assert k1 is not None
    assert t1 is not None
    check = switching_check(PowerFlowModel(network), topology, [(k1, False), (t1, True)])
    assert check.feeders == ("F1", "F2")
    assert check.before.ok
    (violation,) = check.new_violations
    assert violation.kind is ViolationKind.OVERLOAD
    assert violation.element == "s5"
    assert 86.0 < violation.value < 90.0
    assert violation.limit == 80.0
    assert not check.ok
    assert "越限：s5 过载：" in "\n".join(check.describe(Lang.ZH))
    # a transfer of A7–A8 only (500 kW → F2 800 kW, 46 A) holds
    k3 = network.edge_index("K3")
    assert k3 is not None
    fine = switching_check(PowerFlowModel(network), topology, [(k3, False), (t1, True)])
    assert fine.ok
    assert fine.after.max_loading_element == "s5"
    assert 0.55 < fine.after.max_loading < 0.6


def test_the_command_warns_and_checks() -> None:
    old = ["switching", "sample:county", "close:CG-F01-K09", "open:CG-F01-K03", "--lang", "en"]
    result = CliRunner().invoke(main, old, catch_exceptions=False)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == (
        "warning: close CG-F01-K09 changes nothing: CG-F01-K09 is already closed at that step"
    )
    new = ["switching", "sample:county", "open:CG-F01-K06", "close:CG-F01-K13", "--lang", "en"]
    result = CliRunner().invoke(main, new, catch_exceptions=False)
    assert result.exit_code == 0
    assert "warning" not in result.output
    assert "transferred to another feeder" in result.output
    assert "power flow (CG-F01 and BS-F01)" in result.output
    assert result.output.splitlines()[-1] == "no limit newly violated"
    help_text = CliRunner().invoke(main, ["switching", "--help"]).output
    assert "open:CG-F01-K06 close:CG-F01-K13" in help_text


def _small_with_ratings(sa_mva: float | None) -> tuple[PowerFlowModel, Topology]:
    raw = small_raw()
    if sa_mva is not None:
        raw.table("substations").rows[0]["transformer_mva"] = sa_mva
    network = network_from_raw(raw)
    return PowerFlowModel(network), Topology.build(network.graph_arrays(), network.closed_edges())


def test_the_busbar_transformers_count_the_feeders_outside_the_check() -> None:
    # tests/grid/small.py, every area 200 kVA at the default 30 % = 60 kW, the HV customer
    # 1,000 kVA → 300 kW, power factor 0.95. 甲变 (SA) feeds F1 (TA1–TA3, HV1: 480 kW) and F2
    # (TA4: 60 kW); 乙变 feeds F3 (TA5: 60 kW). "open CB3, close T1" moves F3 onto F1: SA then
    # delivers 480 + 60 + 60 = 600 kW → 600 / 0.95 = 631.6 kVA, plus the losses of a few
    # kilometres of line (well under 1 kVA). F2 is not in the checked sub-network (only F1 and
    # F3 are touched): its 60 kW must still be counted.
    model, topology = _small_with_ratings(0.62)
    check = switching_check(model, topology, _transfer_f3(model))
    (overload,) = [v for v in check.new_violations if v.kind is ViolationKind.TRANSFORMER_OVERLOAD]
    assert overload.element == "SA"
    assert overload.limit == pytest.approx(0.62)
    assert 0.6316 <= overload.value < 0.6330
    assert overload.describe(True) == "SA 主变过载：0.63 MVA > 0.62 MVA"
    assert not check.ok
    # Before the transfer SA delivers 540 kW → 568 kVA: within 0.62 MVA.
    assert not [v for v in check.before.violations if v.kind is ViolationKind.TRANSFORMER_OVERLOAD]
    # At 0.64 MVA it fits; without a rating nothing is checked.
    assert check_ok(0.64)
    assert check_ok(None)


def _transfer_f3(model: PowerFlowModel) -> list[tuple[int, bool]]:
    cb3, t1 = model.network.edge_index("CB3"), model.network.edge_index("T1")
    assert cb3 is not None
    assert t1 is not None
    return [(cb3, False), (t1, True)]


def check_ok(sa_mva: float | None) -> bool:
    model, topology = _small_with_ratings(sa_mva)
    return switching_check(model, topology, _transfer_f3(model)).ok
