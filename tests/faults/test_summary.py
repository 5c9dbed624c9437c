"""The locator's answer in words (faults/summary.py ``describe``): a region spanning a branch
point with every branch's end, ties, a single section, no evidence, the target on the region
label, local time and Chinese labels. Network, weights and posteriors: tests/faults/fork.py
and tests/faults/test_ties.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from openoms.faults import FaultLocation, FaultLocator, FaultType, Observation, Status
from openoms.faults.summary import Place, describe, local_time
from openoms.grid import Network, Topology, network_from_raw
from openoms.i18n import Lang
from tests.faults.fork import LN30_WEIGHT, fork_raw

A, Q = Status.ALARM, Status.NO_ALARM
# 07:20 UTC is 15:20 in Asia/Shanghai (UTC+8, no daylight saving)
AT = datetime(2026, 12, 3, 7, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def fork() -> tuple[Network, FaultLocator]:
    network = network_from_raw(fork_raw())
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    return network, FaultLocator(network, topology)


def _view(fork: tuple[Network, FaultLocator], reports: dict[str, Status], **options: Any):  # type: ignore[no-untyped-def]
    network, locator = fork
    obs = [
        Observation(d, s, device_time=AT, fault_phases=("A", "B"))
        if s is A
        else Observation(d, s, device_time=AT)
        for d, s in reports.items()
    ]
    location = locator.locate("F1", obs, **options)
    return describe(network, locator.zones_of_feeder("F1"), location)


def test_a_tie_sends_the_crew_to_the_region_over_the_branch_point(fork) -> None:  # type: ignore[no-untyped-def]
    # All four alarm: DA and DB tie at 900/1831 each (test_ties.py). Growth from DA: DA
    # 0.4915 < 0.95, add its only neighbour DC (30/1831) = 0.5079, then the larger of R
    # (1/1831) and DB (900/1831): DB → 1830/1831 = 0.99945 ≥ 0.95. Region {DC, DA, DB}:
    # from DC's indicator down both branches (N3 forks) to each branch's last pole.
    view = _view(fork, {"R": A, "DC": A, "DA": A, "DB": A})
    assert view.answer == "region"
    [stretch] = view.region
    assert set(stretch.zones) == {"DC", "DA", "DB"}
    assert stretch.start == Place("DC", "丙线#20故障指示器", "detector")
    assert {(e.id, e.name, e.line_end) for e in stretch.ends} == {
        ("N4", "丙线东支线#8", True),
        ("N5", "丙线西支线#6", True),
    }
    assert view.probability == pytest.approx(1830 / (1 + 30 + 2 * 900))
    assert {s.zones for s in view.ties} == {("DA",), ("DB",)}
    east, west = sorted(view.ties, key=lambda s: s.zones)
    assert [e.name for e in east.ends] == ["丙线东支线#8"]
    assert [e.name for e in west.ends] == ["丙线西支线#6"]
    assert east.probability == pytest.approx(900 / 1831)
    zh = view.where(Lang.ZH)
    en = view.where(Lang.EN)
    # The label shows the target (0.95), not the mass reached (0.99945 would print 100 %).
    assert zh.startswith("故障区域（概率≥95%）：#20故障指示器以下至")
    assert "东支线#8（末端）" in zh
    assert "西支线#6（末端）" in zh
    assert "2个区段并列最可能（各49%）" in zh  # 900/1831 = 49.2 %
    assert "东支线故障指示器以下至东支线#8（末端）" in zh
    assert "西支线故障指示器以下至西支线#6（末端）" in zh
    assert en.startswith("fault region (≥95%): from #20故障指示器 down to ")
    assert "2 sections tied as most likely (49% each)" in en
    assert "100%" not in zh + en


def test_the_label_follows_the_region_mass_setting(fork) -> None:  # type: ignore[no-untyped-def]
    view = _view(fork, {"R": A, "DC": A, "DA": A, "DB": A}, region_mass=0.9)
    assert view.where(Lang.ZH).startswith("故障区域（概率≥90%）")
    assert view.as_dict("Asia/Shanghai")["target"] == 0.9


def test_a_section_that_holds_the_mass_is_named_alone(fork) -> None:  # type: ignore[no-untyped-def]
    # R, DC, DA alarm, DB silent: DA = 900 / (1 + 30 + 900 + 30q) = 0.9635 ≥ 0.95.
    view = _view(fork, {"R": A, "DC": A, "DA": A, "DB": Q})
    assert view.answer == "section"
    assert view.where(Lang.ZH) == "故障区段：东支线故障指示器以下至东支线#8（末端）（概率96%）"
    assert view.where(Lang.EN) == (
        "faulted section from 东支线故障指示器 down to 东支线#8 (line end) (96%)"
    )
    assert view.ties == ()


def test_without_evidence_the_feeder_is_named_and_no_section(fork) -> None:  # type: ignore[no-untyped-def]
    # Only the relay on the head (root zone) alarms: every zone scores alike, the answer is
    # the prior alone (four zones of 1 km: 0.25 each), and nothing is "located".
    view = _view(fork, {"R": A})
    assert view.location.evidence == 0
    assert not view.location.has_evidence
    assert view.answer == "no_evidence"
    assert view.where(Lang.ZH) == "无故障指示器信息，无法定位故障区段，请全线巡视"
    assert view.where(Lang.EN) == (
        "no fault indicator information: no section located, patrol the whole feeder"
    )
    data = view.as_dict("Asia/Shanghai")
    assert data["region"] == []
    assert data["ties"] == []
    assert data["summary"]["zh"] == "10kV 丙线：无故障指示器信息，无法定位故障区段，请全线巡视"
    text = view.text(Lang.ZH, "Asia/Shanghai", reports=1, alarms=1)
    assert "候选区段" not in text  # no ranking of zones the reports cannot tell apart


def test_the_dispatcher_text_in_local_time_with_chinese_labels_and_names(fork) -> None:  # type: ignore[no-untyped-def]
    view = _view(fork, {"R": A, "DC": Q, "DA": A, "DB": A})  # DC contradicts both ties
    zh = view.text(Lang.ZH, "Asia/Shanghai", reports=4, alarms=3)
    assert "线路：10kV 丙线 (F1)" in zh
    assert "故障类型：相间短路  相别：AB" in zh
    assert "故障时间：2026-12-03 15:20:00 (Asia/Shanghai)" in zh  # 07:20Z
    assert "丙线#20故障指示器 (DC)：应为 告警, 实为 未告警" in zh
    assert "phase_to_phase" not in zh
    assert "07:20" not in zh
    en = view.text(Lang.EN, "Asia/Shanghai", reports=4, alarms=3)
    assert "Fault type: phase-to-phase fault  phases: AB" in en
    assert "Fault time: 2026-12-03 15:20:00 (Asia/Shanghai)" in en
    assert "丙线#20故障指示器 (DC): expected alarm, observed no alarm" in en
    assert view.as_dict("Asia/Shanghai")["fault_time_local"] == "2026-12-03T15:20:00+08:00"
    assert local_time(AT, "UTC") == "2026-12-03 07:20:00 (UTC)"


def test_a_stored_answer_reads_back_and_old_ones_take_defaults(fork) -> None:  # type: ignore[no-untyped-def]
    view = _view(fork, {"R": A, "DC": A, "DA": A, "DB": A})
    again = FaultLocation.from_dict(view.location.as_dict())
    assert again == view.location
    old = {"best": ["DA"], "region": ["DA"], "candidates": [{"zone": "DA"}]}
    read = FaultLocation.from_dict(old, feeder="F1")
    assert (read.feeder, read.fault_type, read.region_target, read.evidence) == (
        "F1",
        FaultType.UNKNOWN,
        0.95,
        None,
    )
    # without the evidence count, any report used stands in for it
    assert not read.has_evidence
    assert replace(read, reports_used=2).has_evidence
    assert LN30_WEIGHT == 30.0
