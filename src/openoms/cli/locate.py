"""``openoms locate NETWORK --reports FILE``: the locator on recorded messages (定位回放).

A utility replays a past fault: the indicator / FTU reports and the breaker events as they
came over MQTT (docs/faults.md), on the network as it was operated; see
:mod:`openoms.faults.recorded` for how the reports are grouped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from openoms.cli._common import (
    NetworkOptions,
    compile_notice,
    map_option,
    network_options,
    writing,
)
from openoms.i18n import Lang

if TYPE_CHECKING:  # the locator and its numba kernels load when a fault is located
    from openoms.faults.recorded import ReplayResult
    from openoms.grid.model import Network

__all__ = ["locate_command"]


def _permanence(permanent: bool | None, *, zh: bool) -> str:
    if permanent is None:
        return "未知" if zh else "unknown"
    if permanent:
        return "永久性" if zh else "permanent"
    return "瞬时性" if zh else "transient"


def _text(result: ReplayResult, network: Network, lang: Lang) -> str:
    loc = result.location
    zh = lang is Lang.ZH
    feeder_name = network.feeders.name[network.feeders.id.index(result.feeder)] or result.feeder
    lines = [
        f"{'线路' if zh else 'Feeder'}: {feeder_name} ({result.feeder})",
        f"{'故障类型' if zh else 'Fault type'}: {loc.fault_type.value}"
        + (f"  {'相别' if zh else 'phases'}: {''.join(loc.phases)}" if loc.phases else ""),
        f"{'故障时间' if zh else 'Fault time'}: "
        + (loc.fault_time.isoformat() if loc.fault_time else "-"),
        f"{'性质' if zh else 'Permanent'}: " + _permanence(loc.permanent, zh=zh),
        f"{'报告' if zh else 'Reports'}: {result.group.reports}, "
        f"{'告警设备' if zh else 'alarmed devices'}: {result.group.alarms}, "
        f"{'无数据' if zh else 'no data'}: {loc.devices_no_data}",
        "",
        f"{'候选区段' if zh else 'Candidate sections'}:",
    ]
    for rank, candidate in enumerate(loc.candidates[:10], start=1):
        mark = " *" if candidate.zone in loc.best else ""
        lines.append(f"  {rank:2d}. {candidate.zone:30s} {candidate.posterior:8.2%}{mark}")
    lines.append(
        f"{'派往区域' if zh else 'Send the crew to'} (≥{loc.region_mass:.0%}): "
        + ", ".join(loc.region)
    )
    if loc.ties and len(loc.ties) > 1:
        lines.append(f"{'并列' if zh else 'Ties'}: " + ", ".join(loc.ties))
    if loc.contradictions:
        lines.append(f"{'疑似异常指示器' if zh else 'Suspected faulty detectors'}:")
        lines += [
            f"  {c.detector}: {'应为' if zh else 'expected'} {c.expected}, "
            f"{'实为' if zh else 'observed'} {c.observed}"
            for c in loc.contradictions
        ]
    return "\n".join(lines)


def run_locate(
    network: Network,
    reports: Path,
    *,
    lang: Lang,
    as_json: bool,
    feeder: str | None,
    online_terminals: bool,
    max_faults: int,
    map_path: Path | None = None,
) -> str:
    from openoms.faults.recorded import locate_recorded  # noqa: PLC0415
    from openoms.ingest.replay import read_messages  # noqa: PLC0415

    recorded = read_messages(reports, network)
    result = locate_recorded(
        network,
        recorded.events,
        online=recorded.online,
        assume_terminals_online=online_terminals,
        feeder=feeder,
        max_faults=max_faults,
    )
    if map_path is not None:
        from openoms.viz.fault_map import draw_fault_map  # noqa: PLC0415  (matplotlib)

        observations = result.group.observations
        with writing(map_path, "the map"):
            draw_fault_map(network, result.zones, result.location, observations, map_path)
    if as_json:
        return json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str)
    return _text(result, network, lang)


@click.command("locate")
@click.argument("path")
@click.option(
    "--reports",
    "reports",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Recorded MQTT messages: mosquitto_sub -v lines, JSON Lines or one JSON document.",
)
@click.option("--feeder", default=None, help="The faulted feeder (default: from the trips).")
@click.option(
    "--max-faults",
    type=click.IntRange(1, 10),
    default=1,
    show_default=True,
    help="Up to this many simultaneous faults (tree DP).",
)
@click.option(
    "--no-terminals-online",
    is_flag=True,
    help="Do not assume FTUs, DTUs and relays were online (silence = no data).",
)
@map_option("Also draw the feeder with the zones shaded by posterior (.png or .svg).")
@network_options
def locate_command(  # click passes options by name
    path: str,
    *,
    reports: Path,
    feeder: str | None,
    max_faults: int,
    no_terminals_online: bool,
    map_path: Path | None,
    options: NetworkOptions,
) -> None:
    """Locate a fault from recorded indicator and FTU reports (故障区段定位回放).

    Example: openoms locate sample:county --reports fault.jsonl
    """
    from openoms.grid.textfile import text_encoding  # noqa: PLC0415

    text_encoding(reports)  # a file that is not text fails before the network is read
    network = options.checked(path)
    compile_notice(options.lang, ("topology", "faults"), quiet=options.as_json)
    click.echo(
        run_locate(
            network,
            reports,
            lang=options.lang,
            as_json=options.as_json,
            feeder=feeder,
            online_terminals=not no_terminals_online,
            max_faults=max_faults,
            map_path=map_path,
        )
    )
