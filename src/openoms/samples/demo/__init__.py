"""``openoms demo``: the main job on the bundled sample county.

Loads and checks the sample county, builds the topology, picks four realistic outages (a
feeder breaker lockout, a blown branch fuse, a trunk switch opened for work upstream of the
nursing home, and a planned outage of a trunk stretch between two switches), prints who is
off the way a dispatcher says it, and writes a map of each and the results as JSON.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from openoms.grid.load import load_network
from openoms.grid.model import Network
from openoms.grid.topology import Topology
from openoms.i18n import Lang
from openoms.outages.impact import ImpactAnalyser
from openoms.samples import bundled_path
from openoms.service.warmup import compile_with_progress
from openoms.viz.feeder_map import draw_feeder_map

__all__ = ["Scenario", "pick_scenarios", "run_demo"]


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    title_zh: str
    title_en: str
    opened: tuple[str, ...]


def _customers_below(network: Network, topology: Topology, edge: int) -> int:
    nodes = topology.nodes_below_edge(edge)
    if len(nodes) == 0:
        return 0
    at = np.isin(network.transformer_areas.node, nodes)
    return int(network.transformer_areas.lv_customers[at].sum())


def _trunk_switches(network: Network, topology: Topology, feeder: int) -> list[int]:
    """Sectionalising switches from the source along the feeder's longest path."""
    n_sections = len(network.sections.id)
    nodes = topology.feeder_nodes(feeder)
    if len(nodes) == 0:
        return []
    longest = max(
        (topology.path_to_source(int(v))[1] for v in nodes[:: max(1, len(nodes) // 40)]), key=len
    )
    return [
        int(e)
        for e in longest[::-1].tolist()
        if e >= n_sections
        and network.switches.kind[e - n_sections] in {"load_break_switch", "sectionaliser"}
    ]


def pick_scenarios(network: Network, topology: Topology) -> list[Scenario]:
    """Four realistic outages on ``network``, chosen from its structure (deterministic)."""
    sw = network.switches
    n_sections = len(network.sections.id)
    scenarios: list[Scenario] = []
    # 1. The feeder breaker whose feeder serves the most customers trips to lockout.
    heads = network.feeders.head_edge.tolist()
    biggest = max(range(len(heads)), key=lambda f: _customers_below(network, topology, heads[f]))
    scenarios.append(
        Scenario(
            "breaker",
            f"{network.feeders.name[biggest]} 出线开关跳闸闭锁",
            f"feeder breaker of {network.feeders.id[biggest]} locks out",
            (network.edge_id(heads[biggest]),),
        )
    )
    # 2. The branch fuse with the most customers below it blows.
    fuses = [i for i, k in enumerate(sw.kind) if k == "fuse" and sw.present_closed[i]]
    if fuses:
        fuse = max(fuses, key=lambda i: _customers_below(network, topology, n_sections + i))
        scenarios.append(
            Scenario(
                "fuse",
                f"分支熔断器 {sw.id[fuse]} 熔断",
                f"branch fuse {sw.id[fuse]} blows",
                (sw.id[fuse],),
            )
        )
    # 3. Work upstream of the nursing home: open the nearest trunk switch above it.
    sc = network.sensitive_customers
    homes = [
        i for i, c in enumerate(sc.category) if c == "nursing_home" and sc.transformer_area[i] >= 0
    ]
    if homes:
        home = max(homes, key=lambda i: int(sc.people[i]))
        node = int(network.transformer_areas.node[sc.transformer_area[home]])
        _, edges = topology.path_to_source(node)
        candidates = [
            int(e)
            for e in edges.tolist()
            if e >= n_sections and sw.kind[e - n_sections] in {"load_break_switch", "sectionaliser"}
        ]
        if candidates:
            edge = candidates[min(1, len(candidates) - 1)]
            scenarios.append(
                Scenario(
                    "nursing_home",
                    f"检修停电：拉开 {network.edge_id(edge)}（{sc.name[home]} 上游）",
                    f"work outage: open {network.edge_id(edge)}, upstream of {sc.id[home]}",
                    (network.edge_id(edge),),
                )
            )
    # 4. Planned outage of a trunk stretch: open two successive trunk switches of a feeder.
    for f in range(len(heads)):
        trunk = _trunk_switches(network, topology, f)
        if len(trunk) >= 2:
            pair = (network.edge_id(trunk[0]), network.edge_id(trunk[1]))
            scenarios.append(
                Scenario(
                    "planned",
                    f"计划停电：{network.feeders.name[f]} {pair[0]}–{pair[1]} 段",
                    f"planned outage of {network.feeders.id[f]} between {pair[0]} and {pair[1]}",
                    pair,
                )
            )
            break
    return scenarios


def run_demo(out: Path, lang: Lang) -> None:
    """Run the demo and write its maps and results into ``out``."""

    def say(zh: str, en: str) -> None:
        click.echo(zh if lang is Lang.ZH else en)

    start = time.perf_counter()
    say("[1/6] 读取并校验示例县配网…", "[1/6] reading and checking the sample county…")
    network = load_network(bundled_path("sample:county"))
    say(
        f"      {len(network.feeders.id)} 条 10kV 线路，{len(network.sections.id):,} 个区段，"
        f"{len(network.transformer_areas.id):,} 个台区，{len(network.hv_customers.id)} 个高压用户",
        f"      {len(network.feeders.id)} feeders, {len(network.sections.id):,} sections, "
        f"{len(network.transformer_areas.id):,} transformer areas, "
        f"{len(network.hv_customers.id)} HV customers",
    )
    # compile (first run after installing) or load the numba kernels now, saying so, so that
    # the figures below are the engines' and not the compiler's
    compile_with_progress(click.echo, lang, network=network, indent="      ")
    say("[2/6] 建立拓扑索引…", "[2/6] building the topology index…")
    t0 = time.perf_counter()
    analyser = ImpactAnalyser(network)
    say(
        f"      {1000 * (time.perf_counter() - t0):.1f} ms",
        f"      {1000 * (time.perf_counter() - t0):.1f} ms",
    )
    out.mkdir(parents=True, exist_ok=True)
    overview = draw_feeder_map(network, analyser.topology, out / "00-county.png", lang=lang)
    say(f"      线路图：{overview}", f"      map: {overview}")
    say("[3/6] 典型停电场景的停电范围：", "[3/6] who is off in four typical outages:")
    results = []
    scenarios = pick_scenarios(network, analyser.topology)
    for number, scenario in enumerate(scenarios, start=1):
        t0 = time.perf_counter()
        impact = analyser.of_opening(scenario.opened)
        elapsed_ms = 1000 * (time.perf_counter() - t0)
        title = scenario.title_zh if lang is Lang.ZH else scenario.title_en
        say(f"  {number}. {title}", f"  {number}. {title}")
        say(
            f"     {impact.summary(lang)}（{elapsed_ms:.2f} ms）",
            f"     {impact.summary(lang)} ({elapsed_ms:.2f} ms)",
        )
        path = draw_feeder_map(
            network,
            analyser.topology,
            out / f"{number:02d}-{scenario.key}.png",
            impact=impact,
            lang=lang,
            title=scenario.title_en,
        )
        results.append(
            {
                "scenario": scenario.key,
                "title_zh": scenario.title_zh,
                "title_en": scenario.title_en,
                "map": str(path),
                "impact": impact.as_dict(),
            }
        )
    (out / "impacts.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    say(
        "[4/6] 启动服务，回放一天的事件（HTTP）…",
        "[4/6] starting the service and replaying a scripted day of events over HTTP…",
    )
    from openoms.samples.demo.service_day import run_service_day  # noqa: PLC0415  (starts a server)

    run_service_day(out, lang)
    say(
        "[5/6] 可靠性统计：导入示例县两年历史停电，计算 2025 年指标…",
        "[5/6] reliability: two years of the sample county's history, the 2025 indices…",
    )
    from openoms.samples.demo.reliability import run_reliability_report  # noqa: PLC0415

    run_reliability_report(out, lang)
    say(
        f"[6/6] 结果已写入 {out}（{time.perf_counter() - start:.1f} s）",
        f"[6/6] results written to {out} ({time.perf_counter() - start:.1f} s)",
    )
