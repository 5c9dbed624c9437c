"""Where automation pays off: candidates on the hand-worked small feeder, ranking, the budget
plan, and the incremental (one feeder) evaluation against the whole-network recomputation.

The small feeder and its base figures are tests/cases/reliability_predict/small_feeder/README.md
(settings of the case: manual switching 1 h, remote 0.1 h, overhead 0.1 f/(km·yr), repair 4 h).
Every expected change below is derived by hand next to its case, from the README's table
"Fault by fault". Customers: TA-A 100, TA-B 200, TA-C 300, TA-D 400 (F1, 1000), TA-E 50 (F2);
loads 50, 100, 150, 200, 80 kW; system 1050 customers.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from openoms.cli import main
from openoms.errors import InputError, UnknownDeviceError, UnsupportedOperationError
from openoms.grid.load import load_network
from openoms.grid.model import Network
from openoms.reliability.placement import (
    Candidate,
    Effect,
    Placement,
    apply_candidate,
)
from openoms.reliability.predict import Override, PredictSettings, predict
from openoms.samples import bundled_path
from tests.reliability.test_predict import CASE, SETTINGS

COSTS = {"remote_switch": 3.5, "new_ftu_switch": 8.0, "recloser": 6.0, "tie": 30.0}
N_SYSTEM = 1050.0


@cache
def small() -> Network:
    return load_network(CASE)


@cache
def county() -> Network:
    return load_network(bundled_path("sample:county"))


def effect(kind: str, element: str, other: str = "") -> Effect:
    p = Placement(small(), COSTS, SETTINGS)
    (e,) = p.evaluate([Candidate(kind, element, other)])
    return e


def customer_hours(e: Effect) -> float:
    return e.d_saidi_h * N_SYSTEM


def test_remote_sectionaliser_by_hand() -> None:
    # S1 (manual) made remote. Only faults below S1 whose best isolation is opening S1 for a
    # load point above it change: L2 (Z1, λ 0.3) for TA-A: open S1, 1 h → 0.1 h. (L1: TA-B..D
    # wait for the manual tie T1, 1 h either way; L3, L4: S2 is remote already.)
    # ΔU(TA-A) = λ_below × (t_manual − t_remote) = 0.3 × 0.9 = 0.27 h/yr
    # Δ customer-hours = 0.27 × 100 = 27; ΔEENS = 0.27 × 50 kW = 13.5 kWh/yr; λ unchanged
    e = effect("remote_switch", "S1")
    assert customer_hours(e) == pytest.approx(-27.0)
    assert e.d_saidi_h == pytest.approx(-27.0 / 1050)
    assert e.d_eens_kwh == pytest.approx(-13.5)
    assert e.d_saifi == pytest.approx(0.0, abs=1e-15)
    (f1,) = e.feeders
    assert (f1.id, f1.customers) == ("F1", 1000)
    assert f1.d_saidi_h == pytest.approx(-0.027)
    assert e.name == "分段刀闸1"
    # benefit: SAIDI minutes per customer-year, per cost (10k CNY)
    assert e.benefit == pytest.approx(60 * 27 / 1050)
    assert e.ratio == pytest.approx(60 * 27 / 1050 / 3.5)


def test_remote_tie_by_hand() -> None:
    # T1 (manual tie, 1 h) made remote (0.1 h). Restoration from F2 is now limited by the
    # switch opened on F1: L1 (λ 0.2) and L2 (λ 0.3) for TA-C and TA-D: open S2 (remote) and
    # close T1 → 0.1 h instead of 1 h. TA-B (below Fb, restored through S1, manual) stays 1 h.
    # ΔU(TA-C) = ΔU(TA-D) = 0.5 × 0.9 = 0.45; Δ customer-hours = 0.45 × (300 + 400) = 315
    # ΔEENS = 0.45 × (150 + 200) = 157.5. F2 (the tie's other end): M1's fault puts TA-E in
    # the faulted zone, repair either way: no change.
    e = effect("remote_switch", "T1")
    assert customer_hours(e) == pytest.approx(-315.0)
    assert e.d_eens_kwh == pytest.approx(-157.5)
    assert [f.id for f in e.feeders] == ["F1", "F2"]
    assert [f.d_saidi_h for f in e.feeders] == pytest.approx([-0.315, 0.0], abs=1e-15)


def test_new_ftu_switch_by_hand() -> None:
    # An FTU in the middle of L2 (3 km → 1.5 + 1.5, λ 0.15 each): Z1 splits into Z1a {N3, m1}
    # and Z1b {m2, N4} (Fb and S2 hang on N4), the new switch remote (0.1 h).
    # - L2a (Z1a): TA-B (below Fb under Z1b): open the FTU, close T1 (1 h) → 1 h instead of
    #   the 4 h repair: 0.15 × 3 = 0.45 h/yr × 200 customers = 90.
    # - L2b (Z1b): TA-A: open the FTU (0.1 h) instead of S1 (1 h): 0.15 × 0.9 = 0.135 × 100
    #   = 13.5. TA-C, TA-D: S2 + T1, 1 h, unchanged; TA-B: repair below Fb, unchanged.
    # Δ customer-hours = 90 + 13.5 = 103.5; ΔEENS = 0.45 × 100 + 0.135 × 50 = 51.75.
    e = effect("new_ftu_switch", "L2")
    assert customer_hours(e) == pytest.approx(-103.5)
    assert e.d_eens_kwh == pytest.approx(-51.75)
    assert e.d_saifi == pytest.approx(0.0, abs=1e-12)
    assert e.name == "主线2"


def test_new_ftu_switch_on_the_last_section_by_hand() -> None:
    # An FTU in the middle of L4 (2 km, λ 0.1 + 0.1); Fd and T1 hang on N8 (lower half).
    # - L4a: TA-D (below Fd): open the FTU (0.1 h), close T1 (1 h) → 1 h, not the 4 h repair:
    #   0.1 × 3 × 400 = 120.
    # - L4b: TA-C: open the FTU (0.1 h), not S3 (1 h): 0.1 × 0.9 × 300 = 27. TA-D: the tie
    #   ends in the faulted zone → repair, unchanged.
    # Δ customer-hours = 147; ΔEENS = 0.3 × 200 + 0.09 × 150 = 73.5
    e = effect("new_ftu_switch", "L4")
    assert customer_hours(e) == pytest.approx(-147.0)
    assert e.d_eens_kwh == pytest.approx(-73.5)


def test_recloser_by_hand() -> None:
    # S1 (disconnector) replaced by a remote recloser: faults below it (L2 0.3, L3 0.1, L4 0.2;
    # Lb, Ld are cleared by their fuses anyway) no longer reach TA-A above it.
    # Δλ(TA-A) = −0.6 → Δ customer interruptions −60 (ΔSAIFI F1 −0.06)
    # ΔU(TA-A) = −(0.3 × 1 + 0.1 × 0.1 + 0.2 × 0.1) = −0.33 → −33 customer-hours, −16.5 kWh
    # (for L1, TA-B..D still wait for the manual tie: 1 h.)
    e = effect("recloser", "S1")
    assert e.d_saifi * N_SYSTEM == pytest.approx(-60.0)
    assert customer_hours(e) == pytest.approx(-33.0)
    assert e.d_eens_kwh == pytest.approx(-16.5)
    assert e.feeders[0].d_saifi == pytest.approx(-0.06)


def test_fuse_to_recloser_gains_nothing_in_the_model() -> None:
    # Fa already confines La's faults; no tie below Fa, so its switching time is never used.
    # The model has no temporary faults: what a recloser saves over a fuse there is not counted.
    e = effect("recloser", "Fa")
    assert (e.d_saifi, e.d_saidi_h, e.d_eens_kwh, e.benefit) == (0.0, 0.0, 0.0, 0.0)


def test_new_tie_by_hand() -> None:
    # A remote tie N14 (end of lateral d, TA-D's zone) — N21 (F2):
    # - L1, L2 (λ 0.5): TA-C and TA-D: open S2 (0.1 h), close the new tie (0.1 h) → 0.1 h
    #   instead of 1 h: 0.5 × 0.9 × (300 + 400) = 315.
    # - L4 (λ 0.2): TA-D: open Fd (1 h), close the new tie → 1 h instead of the 4 h repair
    #   (T1 ends in the faulted zone): 0.2 × 3 × 400 = 240.
    # - L3: TA-D: S3 or Fd, manual: 1 h, unchanged.
    # Δ customer-hours = 555; ΔEENS = 0.45 × 150 + (0.45 + 0.6) × 200 = 277.5
    e = effect("tie", "N14", "N21")
    assert customer_hours(e) == pytest.approx(-555.0)
    assert e.d_eens_kwh == pytest.approx(-277.5)
    assert [f.id for f in e.feeders] == ["F1", "F2"]


def test_ranking_by_benefit_per_cost() -> None:
    # benefits in SAIDI min per customer-year (customer-hours × 60 / 1050) per cost:
    # T1 remote 18.0 / 3.5 = 5.14; FTU L2 5.914 / 8 = 0.739; S1 remote 1.543 / 3.5 = 0.441;
    # S1 recloser 1.886 / 6 = 0.314
    p = Placement(small(), COSTS, SETTINGS)
    cs = [
        Candidate("recloser", "S1"),
        Candidate("remote_switch", "S1"),
        Candidate("new_ftu_switch", "L2"),
        Candidate("remote_switch", "T1"),
    ]
    ranked = p.rank(p.evaluate(cs))
    assert [e.candidate.label for e in ranked] == [
        "remote_switch:T1",
        "new_ftu_switch:L2",
        "remote_switch:S1",
        "recloser:S1",
    ]
    assert [e.ratio for e in ranked] == pytest.approx(
        [18 / 3.5, 60 * 103.5 / 1050 / 8, 60 * 27 / 1050 / 3.5, 60 * 33 / 1050 / 6]
    )


def test_candidates_of_the_small_feeder() -> None:
    p = Placement(small(), COSTS, SETTINGS)
    labels = {c.label for c in p.candidates()}
    # remote: the manual non-fuse switches S1, S3 and the tie T1; FTU: every section;
    # recloser: the closed non-protective switches and the fuses
    assert {x for x in labels if x.startswith("remote")} == {
        "remote_switch:S1",
        "remote_switch:S3",
        "remote_switch:T1",
    }
    assert {x for x in labels if x.startswith("recloser")} == {
        f"recloser:{k}" for k in ("S1", "S2", "S3", "Fa", "Fb", "Fd")
    }
    assert len([x for x in labels if x.startswith("new_ftu")]) == 8


def test_budget_plan_reevaluates_after_each_pick() -> None:
    # Alone, S1 remote saves 27 customer-hours. After an FTU on L2 (picked first: 0.739 >
    # 0.441 per cost) TA-A is already restored in 0.1 h for faults on L2's lower half; S1 only
    # helps for the upper half: 0.15 × 0.9 × 100 = 13.5, half its stand-alone worth.
    p = Placement(small(), COSTS, SETTINGS)
    cs = [Candidate("remote_switch", "S1"), Candidate("new_ftu_switch", "L2")]
    plan = p.plan(cs, count=2)
    assert [s.effect.candidate.label for s in plan.steps] == [
        "new_ftu_switch:L2",
        "remote_switch:S1",
    ]
    assert customer_hours(plan.steps[0].effect) == pytest.approx(-103.5)
    assert customer_hours(plan.steps[1].effect) == pytest.approx(-13.5)
    assert plan.steps[1].cost_total == pytest.approx(11.5)
    assert plan.final()[1] == pytest.approx((1779 - 103.5 - 13.5) / 1050)
    # the same network, both changes made, predicted whole
    net, over = apply_candidate(small(), cs[1])
    net, over = apply_candidate(net, cs[0], over)
    assert predict(net, SETTINGS, over).system.saidi_h == pytest.approx(plan.final()[1])
    # the evaluator is unchanged by the plan
    (again,) = p.evaluate([cs[0]])
    assert customer_hours(again) == pytest.approx(-27.0)
    out = plan.as_dict()
    assert out["change_pct"]["saidi"] == pytest.approx(-100 * 117 / 1779)


def test_budget_by_cost_limit() -> None:
    p = Placement(small(), COSTS, SETTINGS)
    cs = p.candidates(("remote_switch", "new_ftu_switch", "recloser"))
    plan = p.plan(cs, cost_limit=12.0)
    # T1 (3.5) first, then the best per cost that still fits in 8.5: FTU on L4 (8.0)
    assert [s.effect.candidate.label for s in plan.steps] == [
        "remote_switch:T1",
        "new_ftu_switch:L4",
    ]
    assert plan.cost == pytest.approx(11.5)


@pytest.mark.parametrize(
    ("candidate", "message", "error"),
    [
        (Candidate("remote_switch", "NOPE"), "unknown device 'NOPE'", UnknownDeviceError),
        (Candidate("remote_switch", "Fa"), "Fa: a fuse cannot be made remote", None),
        (Candidate("remote_switch", "S2"), "S2: the switch is already remote", None),
        (Candidate("remote_switch", "L1"), "L1: remote_switch needs a switch", None),
        (Candidate("recloser", "CB1"), "CB1: a breaker is already protective", None),
        (Candidate("recloser", "T1"), "T1: a normally-open switch cannot", None),
        (Candidate("new_ftu_switch", "S1"), "S1: new_ftu_switch needs a section", None),
        (Candidate("tie", "N2", "N3"), "both ends are on feeder F1", None),
        (Candidate("tie", "N2", "L1"), "L1: a tie joins two nodes", None),
        (Candidate("fault_indicator", "S1"), "unknown candidate kind 'fault_indicator'", None),
    ],
)
def test_bad_candidates_are_named(
    candidate: Candidate, message: str, error: type[Exception] | None
) -> None:
    p = Placement(small(), COSTS, SETTINGS)
    with pytest.raises(error or (UnsupportedOperationError, InputError), match=message):
        p.evaluate([candidate])


def test_bad_costs_and_budgets() -> None:
    with pytest.raises(InputError, match="unknown kind 'ftu'"):
        Placement(small(), {"ftu": 1.0}, SETTINGS)
    with pytest.raises(InputError, match="recloser must be a number > 0"):
        Placement(small(), {"recloser": 0.0}, SETTINGS)
    p = Placement(small(), {"remote_switch": 1.0}, SETTINGS)
    with pytest.raises(InputError, match="no cost for the candidate kind 'recloser'"):
        p.candidates(("recloser",))
    with pytest.raises(InputError, match="needs a budget"):
        p.plan([])
    with pytest.raises(InputError, match="must be ≥ 1"):
        p.plan([], count=0)


def test_incremental_equals_full_recomputation_on_the_county() -> None:
    """Each feeder alone (its sub-network) gives the same numbers as the whole network
    predicted again, for a sample of every kind of candidate; and the feeders' base figures
    agree."""
    network = county()
    settings = PredictSettings(switch=0.002)
    p = Placement(network, COSTS, settings)
    rng = np.random.default_rng(7)
    cs = p.candidates()
    by_kind: dict[str, list[Candidate]] = {}
    for c in cs:
        by_kind.setdefault(c.kind, []).append(c)
    sample = [
        c
        for kind in sorted(by_kind)
        for c in rng.choice(np.asarray(by_kind[kind], dtype=object), 15, replace=False)
    ]
    # a tie between the ends of two feeders: the last node of feeder 0 and of feeder 1
    fo = p.feeder_of
    ends = [int(np.flatnonzero(fo == f)[-1]) for f in (0, 1)]
    sample.append(Candidate("tie", network.nodes.id[ends[0]], network.nodes.id[ends[1]]))
    fast = p.evaluate(sample)
    slow = p.evaluate(sample, incremental=False)
    assert sum(1 for e in fast if e.benefit > 0) >= 10
    base = predict(network, settings).system
    scale_h, scale_f = base.saidi_h, base.saifi
    for a, b in zip(fast, slow, strict=True):
        assert a.candidate == b.candidate
        assert a.d_saidi_h == pytest.approx(b.d_saidi_h, rel=1e-9, abs=1e-12 * scale_h)
        assert a.d_saifi == pytest.approx(b.d_saifi, rel=1e-9, abs=1e-12 * scale_f)
        assert a.d_eens_kwh == pytest.approx(b.d_eens_kwh, rel=1e-9, abs=1e-12 * base.eens_kwh)
        for fa, fb in zip(a.feeders, b.feeders, strict=True):
            assert fa.id == fb.id
            assert fa.d_saidi_h == pytest.approx(fb.d_saidi_h, rel=1e-9, abs=1e-12 * scale_h)
    for f in range(len(network.feeders.id)):
        np.testing.assert_allclose(p._feeder(f).sums, p._base[f], rtol=1e-12)


def test_batches_equal_one_candidate_at_a_time() -> None:
    """The candidates of a feeder predicted together (copies of its sub-network side by side)
    give what each gives alone on that sub-network."""
    p = Placement(county(), COSTS)
    cs = [c for c in p.candidates() if p.feeders_of(c) == (3,)]
    assert len(cs) > 64  # more than two batches
    together = p.evaluate(cs)
    alone = [p._incremental(c, "saidi") for c in cs]
    for a, b in zip(together, alone, strict=True):
        assert (a.d_saifi, a.d_saidi_h, a.d_eens_kwh) == pytest.approx(
            (b.d_saifi, b.d_saidi_h, b.d_eens_kwh), rel=1e-9, abs=1e-15
        )


def test_county_plan_matches_the_network_with_its_picks() -> None:
    network = county()
    p = Placement(network, COSTS)
    cs = p.candidates(("remote_switch", "recloser"))
    plan = p.plan(cs, count=4)
    assert len(plan.steps) == 4
    net, over = network, dict[str, Override]()
    for step in plan.steps:
        net, over = apply_candidate(net, step.effect.candidate, over)
    whole = predict(net, PredictSettings(), over).system
    saifi, saidi, eens = plan.final()
    assert (saifi, saidi, eens) == pytest.approx((whole.saifi, whole.saidi_h, whole.eens_kwh))
    ratios = [s.effect.ratio for s in plan.steps]
    assert ratios == sorted(ratios, reverse=True)


def test_cli_place_json_and_text(tmp_path: Path) -> None:
    args = ["reliability", "place", str(CASE), "--no-cache", "--lang", "en"]
    for item in (
        "overhead_per_km=0.1",
        "overhead_repair_h=4",
        "cable_per_km=0.05",
        "transformer_area=0.01",
        "remote_switching_h=0.1",
    ):
        args += ["--set", item]
    result = CliRunner().invoke(main, [*args, "--json", "--budget", "2", "--top", "3"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    first = out["ranking"][0]
    assert (first["kind"], first["element"], first["name"]) == ("remote_switch", "T1", "联络开关")
    assert first["d_saidi_min"] == pytest.approx(-60 * 315 / 1050)
    assert len(out["ranking"]) == 3
    assert [s["element"] for s in out["plan"]["steps"]] == ["T1", "L4"]
    text = CliRunner().invoke(main, [*args, "--kinds", "remote_switch", "--budget", "1"])
    assert text.exit_code == 0, text.output
    assert "联络开关 (T1)" in text.output
    assert "SAIDI" in text.output
    bad = CliRunner().invoke(main, [*args, "--kinds", "remote_switch,ftu"])
    assert bad.exit_code != 0
    assert "ftu" in bad.output
    both = CliRunner().invoke(main, [*args, "--budget", "1", "--cost-limit", "5"])
    assert both.exit_code == 0, both.output


def test_costs_from_the_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "openoms.toml"
    config.write_text("reliability_automation_costs = {remote_switch = 100.0}\n", encoding="utf-8")
    args = ["reliability", "place", str(CASE), "--no-cache", "--lang", "en", "--json"]
    args += ["--config", str(config), "--kinds", "remote_switch,recloser", "--top", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    # the named kind replaced, the others kept
    assert out["costs"] == {**COSTS, "remote_switch": 100.0}
    assert out["ranking"][0]["cost"] in (100.0, 6.0)
    config.write_text("reliability_automation_costs = {ftu = 1.0}\n", encoding="utf-8")
    bad = CliRunner().invoke(main, args)
    assert bad.exit_code != 0
    # the settings error names the file and the setting (the entry point prints it)
    assert "unknown kind 'ftu'" in str(bad.exception)
    assert "reliability_automation_costs" in str(bad.exception)
