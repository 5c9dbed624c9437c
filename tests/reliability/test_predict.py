"""Predictive reliability (RELRAD rules) on the hand-worked small feeder.

Every expected figure is derived by hand in tests/cases/reliability_predict/small_feeder/README.md
(the arithmetic is repeated in the comments here). A second check runs the straightforward
per-load-point implementation of the benchmark (benchmarks/reliability_predict.py) on the
sample county and compares every load point: two implementations of the same rules.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import asdict, replace
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from click.testing import CliRunner

from openoms.cli import main
from openoms.grid.generate import generate_county
from openoms.grid.load import load_network, network_from_raw, read_network_records
from openoms.grid.model import Network
from openoms.grid.topology import Topology
from openoms.reliability import predict as predict_module
from openoms.reliability.predict import Override, Prediction, PredictSettings, predict
from openoms.samples import bundled_path
from tests.grid.small import small_raw

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "tests" / "cases" / "reliability_predict" / "small_feeder"
SETTINGS = PredictSettings(
    overhead_per_km=0.1,
    overhead_repair_h=4.0,
    cable_per_km=0.05,
    cable_repair_h=10.0,
    transformer_area=0.01,
    transformer_area_repair_h=10.0,
    switch=0.0,
    manual_switching_h=1.0,
    remote_switching_h=0.1,
)


@cache
def small() -> Network:
    return load_network(CASE)


@cache
def county() -> Network:
    return load_network(bundled_path("sample:county"))


def by_id(prediction: Prediction) -> dict[str, tuple[float, float, float]]:
    lp = prediction.load_points
    return {
        unit: (float(lp.failure_rate[i]), float(lp.unavailability_h[i]), float(lp.duration_h[i]))
        for i, unit in enumerate(lp.id)
    }


def test_load_points_by_hand() -> None:
    got = by_id(predict(small(), SETTINGS))
    expected = {
        # λ: the faults that reach it + 0.01 own; U: Σ λ·t; r = U / λ
        "TA-A": (0.91, 1.63, 1.63 / 0.91),  # L1 4 h, L2 1, La 4, L3 0.1, L4 0.1, own 10
        "TA-B": (1.01, 2.33, 2.33 / 1.01),  # L1 1, L2 4, Lb 4, L3 0.1, L4 0.1, own 10
        "TA-C": (0.81, 1.20, 1.20 / 0.81),  # L1 1, L2 1, L3 4, L4 1, own 10
        "TA-D": (0.91, 1.90, 1.90 / 0.91),  # L1 1, L2 1, L3 1, L4 4, Ld 4, own 10
        "TA-E": (0.06, 0.60, 10.0),  # M1 0.05 × 10 h, own 0.01 × 10 h
    }
    assert set(got) == set(expected)
    for unit, values in expected.items():
        assert got[unit] == pytest.approx(values, rel=1e-12), unit


def test_feeders_and_system_by_hand() -> None:
    p = predict(small(), SETTINGS)
    f1, f2 = p.feeders
    # F1: SAIFI 900/1000, SAIDI 1749/1000, CAIDI 1.749/0.9, EENS 81.5+233+180+380
    assert (f1.customers, f1.saifi, f1.saidi_h) == pytest.approx((1000, 0.9, 1.749))
    assert f1.caidi_h == pytest.approx(1.749 / 0.9)
    assert f1.asai == pytest.approx(1 - 1.749 / 8760)
    assert f1.eens_kwh == pytest.approx(874.5)
    assert (f2.saifi, f2.saidi_h, f2.caidi_h, f2.eens_kwh) == pytest.approx((0.06, 0.6, 10, 48))
    # system: (900 + 3)/1050, (1749 + 30)/1050
    assert p.system.saifi == pytest.approx(903 / 1050)
    assert p.system.saidi_h == pytest.approx(1779 / 1050)
    assert p.system.eens_kwh == pytest.approx(922.5)


def test_contributions_by_hand() -> None:
    p = predict(small(), SETTINGS, top=100)
    hours = {c.id: c.customer_hours for c in p.contributions}
    # L2: 0.3 × (100·1 + 200·4 + 300·1 + 400·1); L4: 0.2 × (10 + 20 + 300 + 1600) ...
    assert hours == pytest.approx(
        {
            "L2": 480,
            "L4": 386,
            "L1": 260,
            "L3": 163,
            "Lb": 160,
            "Ld": 160,
            "La": 40,
            "TA-D": 40,
            "TA-C": 30,
            "M1": 25,
            "TA-B": 20,
            "TA-A": 10,
            "TA-E": 5,
        }
    )
    assert [c.id for c in p.contributions[:3]] == ["L2", "L4", "L1"]
    assert p.contributions[0].share == pytest.approx(480 / 1779)
    assert p.contributions[0].customer_interruptions == pytest.approx(0.3 * 1000)
    assert sum(hours.values()) == pytest.approx(p.system.saidi_h * p.system.customers)


def test_remote_switch_override_by_hand() -> None:
    p = predict(small(), SETTINGS, {"S3": Override(switching_h=0.1)})
    got = by_id(p)
    # only L4 → TA-C changes: 0.1 h instead of 1 h: 1.2 − 0.2 × 0.9
    assert got["TA-C"][1] == pytest.approx(1.02)
    assert got["TA-A"][1] == pytest.approx(1.63)
    assert got["TA-D"][1] == pytest.approx(1.90)
    assert p.feeders[0].saidi_h == pytest.approx(1.749 - 0.18 * 300 / 1000)


def test_failure_rate_override_and_units_base() -> None:
    settings = replace(SETTINGS, base="units")
    p = predict(small(), settings, {"La": Override(failure_rate=0.5, repair_h=2.0)})
    got = by_id(p)
    # La: 0.1 f/yr × 4 h → 0.5 f/yr × 2 h on TA-A only
    assert got["TA-A"][:2] == pytest.approx((0.91 + 0.4, 1.63 - 0.4 + 1.0))
    assert got["TA-B"][:2] == pytest.approx((1.01, 2.33))
    # units: each load point counts 1: F1 SAIFI = (1.31 + 1.01 + 0.81 + 0.91) / 4
    assert p.feeders[0].saifi == pytest.approx((1.31 + 1.01 + 0.81 + 0.91) / 4)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="overhead_per_km"):
        PredictSettings(overhead_per_km=-1.0)
    with pytest.raises(ValueError, match="base"):
        PredictSettings(base="kva")


@cache
def _benchmark() -> ModuleType:
    path = ROOT / "benchmarks" / "reliability_predict.py"
    spec = importlib.util.spec_from_file_location("reliability_predict_bench", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["small", "county"])
def test_matches_the_straightforward_implementation(name: str) -> None:
    network = small() if name == "small" else county()
    settings = SETTINGS if name == "small" else PredictSettings(switch=0.002)
    _same_as_the_loop(network, settings, {})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_the_loop_with_random_times(seed: int) -> None:
    """A generated county and the small test network of tests/grid, every switch with its own
    random switching time and some sections with their own λ and r: the best of several
    switches and ties must be the same whichever way it is found."""
    rng = np.random.default_rng(seed)
    raw = generate_county(seed=seed, substations=2, feeders_per_substation=3)
    for network in (network_from_raw(raw), network_from_raw(small_raw())):
        over = {
            k: Override(switching_h=float(rng.choice([0.05, 0.5, 1.0, 2.0, 6.0])))
            for k in network.switches.id
        }
        for e in rng.choice(len(network.sections.id), size=10, replace=True).tolist():
            rate, repair = rng.uniform(0.0, 0.5), rng.uniform(0.5, 8.0)
            over[network.sections.id[e]] = Override(failure_rate=rate, repair_h=repair)
        _same_as_the_loop(network, PredictSettings(switch=0.01), over)


def _same_as_the_loop(
    network: Network, settings: PredictSettings, over: dict[str, Override]
) -> None:
    fast = predict(network, settings, over)
    lam, unav = _benchmark().naive_predict(network, settings, over)
    supplied = fast.load_points.feeder >= 0
    assert supplied.sum() > 0
    assert np.isnan(lam[~supplied]).all()
    np.testing.assert_allclose(fast.load_points.failure_rate[supplied], lam[supplied], rtol=1e-9)
    np.testing.assert_allclose(
        fast.load_points.unavailability_h[supplied], unav[supplied], rtol=1e-9
    )


def test_cli_json_with_the_defaults(tmp_path: Path) -> None:
    args = ["reliability", "predict", str(CASE), "--json", "--no-cache", "--top", "3"]
    args += ["--lang", "en"]
    result = CliRunner().invoke(main, [*args, "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    f1 = out["feeders"][0]
    # defaults: overhead 0.065 f/(km·yr) (0.65 × the case's 0.1), own transformer 0.015:
    # λ TA-A 0.585 + 0.015, TA-B 0.65 + 0.015, TA-C 0.52 + 0.015, TA-D 0.585 + 0.015
    # SAIFI = (0.6·100 + 0.665·200 + 0.535·300 + 0.6·400)/1000 = 593.5/1000
    assert f1["saifi"] == pytest.approx(0.5935)
    assert [c["id"] for c in out["top_contributors"]] == ["L2", "L4", "L1"]
    assert len(out["load_points"]) == 5
    assert out["report"] == str(tmp_path / "reliability_predict_en.png")
    assert (tmp_path / "reliability_predict_en.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_overrides_file(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("id,failure_rate,repair_h,switching_h\nLa,0.5,2,\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,failure_rate,repair_h,switching_h\nLa,-1,,\n", encoding="utf-8")
    args = ["reliability", "predict", str(CASE), "--json", "--no-cache", "--lang", "en"]
    result = CliRunner().invoke(main, [*args, "--overrides", str(good)])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.output)["load_points"]}
    # TA-A: λ 0.6 with La 0.065 → 0.6 − 0.065 + 0.5
    assert rows["TA-A"]["failure_rate"] == pytest.approx(0.6 - 0.065 + 0.5)
    result = CliRunner().invoke(main, [*args, "--overrides", str(bad)])
    assert result.exit_code != 0
    assert "row 2" in result.output


def test_chunked_pairs_give_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = predict(county())
    monkeypatch.setattr(predict_module, "_CHUNK", 1)  # 1,024 pairs a pass: many passes
    parts = predict(county())
    np.testing.assert_array_equal(
        whole.load_points.unavailability_h, parts.load_points.unavailability_h
    )
    assert whole.system == parts.system


def test_without_the_tie_by_hand() -> None:
    raw = read_network_records(CASE)
    switches = raw.tables["switches"]
    keep = [i for i, row in enumerate(switches.rows) if row["id"] != "T1"]
    switches.rows[:] = [switches.rows[i] for i in keep]
    switches.locations[:] = [switches.locations[i] for i in keep]
    p = predict(network_from_raw(raw), SETTINGS)
    got = by_id(p)
    # no tie: only upstream isolation is left (README, "Variant: no tie")
    # TA-B: L1 1 → 4 h: 2.33 + 0.2 × 3; TA-C: L1, L2 1 → 4 h: 1.2 + 0.6 + 0.9
    # TA-D: L1, L2, L3 1 → 4 h: 1.9 + 0.6 + 0.9 + 0.3; TA-A and TA-E unchanged
    assert {k: v[1] for k, v in got.items()} == pytest.approx(
        {"TA-A": 1.63, "TA-B": 2.93, "TA-C": 2.7, "TA-D": 3.7, "TA-E": 0.6}
    )
    # F1 SAIDI = (163 + 586 + 810 + 1480) / 1000
    assert p.feeders[0].saidi_h == pytest.approx(3.039)
    assert p.feeders[0].saifi == pytest.approx(0.9)  # λ does not depend on the tie


def test_cli_set_gives_the_hand_case() -> None:
    args = ["reliability", "predict", str(CASE), "--json", "--no-cache", "--lang", "en"]
    for item in (
        "overhead_per_km=0.1",
        "overhead_repair_h=4",
        "cable_per_km=0.05",
        "transformer_area=0.01",
        "remote_switching_h=0.1",
    ):  # the case's settings; the rest (cable 10 h, own 10 h, manual 1 h) are the defaults
        args += ["--set", item]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    system = json.loads(result.output)["system"]
    # README: SAIFI (900 + 3)/1050, SAIDI (1749 + 30)/1050
    assert (system["saifi"], system["saidi_h"]) == pytest.approx((903 / 1050, 1779 / 1050))
    bad = CliRunner().invoke(main, [*args, "--set", "manual_switching_h=-1"])
    assert bad.exit_code != 0
    assert "manual_switching_h" in bad.output


def test_tie_capacity_by_hand() -> None:
    """The variants of the case README, "the tie's transfer capacity checked"."""
    checked = replace(SETTINGS, tie_capacity=True)
    unchecked = by_id(predict(small(), SETTINGS))
    assert by_id(predict(small(), checked, {"T1": Override(transfer_kw=1e6)})) == unchecked
    wide = predict(small(), checked, {"T1": Override(transfer_kw=360.0)})
    got = by_id(wide)
    assert got["TA-B"][1] == pytest.approx(2.93)
    assert [got[u][1] for u in ("TA-A", "TA-C", "TA-D")] == pytest.approx([1.63, 1.20, 1.90])
    assert wide.feeders[0].saidi_h == pytest.approx(1.869)
    assert wide.feeders[0].eens_kwh == pytest.approx(934.5)
    narrow = by_id(predict(small(), checked, {"T1": Override(transfer_kw=300.0)}))
    assert [narrow[u][1] for u in ("TA-B", "TA-C", "TA-D")] == pytest.approx([2.93, 2.70, 1.90])


def test_tie_capacity_from_the_ratings_by_hand() -> None:
    network = small()
    amps = network.sections.ampacity_a.copy()
    amps[network.sections.id.index("M1")] = 25.0
    rated = replace(network, sections=replace(network.sections, ampacity_a=amps))
    topology = Topology.build(rated.graph_arrays(), rated.closed_edges(normal=True))
    spare = predict_module.spare_capacity_kw(rated, topology, 0.9)
    n21 = rated.nodes.id.index("N21")
    assert spare[n21] == pytest.approx(np.sqrt(3) * 10 * 25 * 0.9 - 80)  # 309.71 kW
    assert np.isinf(spare[rated.nodes.id.index("N8")])  # F1 has no rating: no limit
    got = by_id(predict(rated, replace(SETTINGS, tie_capacity=True)))
    assert [got[u][1] for u in ("TA-B", "TA-C", "TA-D")] == pytest.approx([2.93, 2.70, 1.90])
    # Without the check the ratings change nothing.
    assert by_id(predict(rated, SETTINGS)) == by_id(predict(small(), SETTINGS))


def test_a_bad_power_factor_is_named() -> None:
    with pytest.raises(ValueError, match=r"power_factor must be in \(0, 1\], got 1.5"):
        PredictSettings(power_factor=1.5)


def test_placement_refuses_the_tie_capacity_check_it_cannot_make() -> None:
    from openoms.errors import InputError
    from openoms.reliability.placement import Placement

    with pytest.raises(InputError, match="placement does not check tie transfer capacity yet"):
        Placement(small(), {"remote_switch": 1.0}, replace(SETTINGS, tie_capacity=True))


def test_the_cli_checks_tie_capacity_from_the_overrides_file(tmp_path: Path) -> None:
    overrides = tmp_path / "ties.csv"
    overrides.write_text("id,failure_rate,repair_h,switching_h,transfer_kw\nT1,,,,360\n")
    settings = [f"--set={k}={v:g}" for k, v in asdict(SETTINGS).items() if type(v) is float]
    args = ["reliability", "predict", str(CASE), *settings, "--overrides", str(overrides)]
    plain = CliRunner().invoke(main, [*args, "--json"])
    checked = CliRunner().invoke(main, [*args, "--json", "--tie-capacity"])
    assert plain.exit_code == 0, plain.output
    assert checked.exit_code == 0, checked.output
    f1 = json.loads(checked.stdout)["feeders"][0]
    assert f1["saidi_h"] == pytest.approx(1.869)
    assert json.loads(plain.stdout)["feeders"][0]["saidi_h"] == pytest.approx(1.749)
    text = CliRunner().invoke(main, [*args, "--tie-capacity", "--lang", "en"])
    assert "tie transfer capacity is checked" in text.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("id,transfer_kw\nT1,lots\n")
    refused = CliRunner().invoke(
        main, ["reliability", "predict", str(CASE), "--overrides", str(bad), "--lang", "en"]
    )
    assert refused.exit_code != 0
    assert "row 2: transfer_kw is not a number ≥ 0: 'lots'" in refused.output + str(
        refused.exception
    )
