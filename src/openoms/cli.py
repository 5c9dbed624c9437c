"""The ``openoms`` command.

Every command has ``--help``; output is Chinese or English by the locale or ``--lang``;
``--json`` prints machine-readable output instead. Networks are named by a path (a native CSV
folder or JSON document, or a pandapower JSON file) or by a bundled name: ``sample:county``
(the sample county) or ``sample:ieee33`` (the IEEE 33-bus feeder).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from openoms.errors import OpenOMSError
from openoms.grid.load import check_raw, read_network_records
from openoms.grid.model import Network
from openoms.grid.problems import InvalidNetworkError, Problem
from openoms.i18n import Lang, detect_lang
from openoms.samples import BUNDLED, bundled_path

__all__ = ["BUNDLED", "bundled_path", "main"]

F = TypeVar("F", bound=Callable[..., Any])


def _resolve(path: str) -> Path:
    if path in BUNDLED:
        return bundled_path(path)
    resolved = Path(path)
    if not resolved.exists():
        raise click.BadParameter(
            f"{path}: no such file or folder (or use {' / '.join(BUNDLED)})", param_hint="PATH"
        )
    return resolved


def _lang_option(function: F) -> F:
    return click.option(
        "--lang",
        type=click.Choice([lang.value for lang in Lang]),
        default=None,
        help="Output language: zh (Chinese) or en (English). Default: from the locale.",
    )(function)


def _json_option(function: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text."
    )(function)


def _lang(value: str | None) -> Lang:
    return Lang(value) if value else detect_lang(os.environ)


def _say(lang: Lang, zh: str, en: str) -> str:
    return zh if lang is Lang.ZH else en


@contextmanager
def _step(lang: Lang, zh: str, en: str, *, quiet: bool) -> Iterator[None]:
    """Show a long step on stderr with its duration."""
    start = time.perf_counter()
    if not quiet:
        click.echo(f"… {_say(lang, zh, en)}", err=True, nl=False)
    yield
    if not quiet:
        click.echo(f" ({time.perf_counter() - start:.2f} s)", err=True)


def _problem_dict(p: Problem) -> dict[str, Any]:
    return {
        "severity": p.severity.value,
        "kind": p.kind.value,
        "table": p.table,
        "location": str(p.location),
        "row": p.location.row,
        "field": p.field,
        "element_id": p.element_id,
        "message": p.message,
        "devices": list(p.devices),
    }


def _load(path: str, lang: Lang, *, quiet: bool) -> Network:
    with _step(lang, f"读取并校验 {path}", f"reading and checking {path}", quiet=quiet):
        result = check_raw(read_network_records(_resolve(path)))
    if result.network is None:
        raise InvalidNetworkError(path, result.problems)
    return result.network


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="openoms")
def main() -> None:
    """OpenOMS: outage management for 10 kV distribution networks.

    配网停电管理：故障定位、停电范围、恢复供电、可靠性统计。
    """


@main.group()
def grid() -> None:
    """Network data: check, show and convert (电网模型)."""


@grid.command("check")
@click.argument("path")
@_lang_option
@_json_option
def grid_check(path: str, lang: str | None, as_json: bool) -> None:
    """Check a network and list every problem with its file, row and field (校验电网数据).

    Exit status 1 when there is any error; warnings alone exit 0.
    """
    language = _lang(lang)
    raw = read_network_records(_resolve(path))
    result = check_raw(raw)
    notes = [str(n) for n in getattr(raw, "notes", ())]  # what an importer left out
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": result.network is not None,
                    "problems": [_problem_dict(p) for p in result.problems],
                    "import_notes": notes,
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        for note in notes:
            click.echo(_say(language, f"导入说明：{note}", f"import note: {note}"))
        for p in result.problems:
            click.echo(str(p))
        errors, warnings = len(result.errors), len(result.warnings)
        click.echo(
            _say(
                language,
                f"{path}：{errors} 个错误，{warnings} 个警告",
                f"{path}: {errors} error(s), {warnings} warning(s)",
            )
        )
    if result.network is None:
        sys.exit(1)


def network_summary(network: Network) -> dict[str, Any]:
    """Counts a planner or engineer checks first."""
    from openoms.grid.topology import Topology  # noqa: PLC0415  (loads the JIT kernels)

    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    sw, sec = network.switches, network.sections
    ta, hv = network.transformer_areas, network.hv_customers
    ties = [i for i in range(len(sw.id)) if not sw.normal_closed[i]]
    length = Counter[str]()
    for kind, km in zip(sec.kind, sec.length_km.tolist(), strict=True):
        length[kind] += km
    return {
        "name": network.name,
        "substations": len(network.substations.id),
        "feeders": len(network.feeders.id),
        "nodes": len(network.nodes.id),
        "sections": len(sec.id),
        "length_km": {k: round(v, 1) for k, v in sorted(length.items())},
        "switches": dict(sorted(Counter(sw.kind).items())),
        "normally_open_switches": len(ties),
        "remote_switches": int(sw.remote.sum()),
        "detectors": dict(sorted(Counter(network.detectors.kind).items())),
        "transformer_areas": len(ta.id),
        "rated_mva": round(float(ta.rated_kva.sum()) / 1000, 1),
        "lv_customers": int(ta.lv_customers.sum()),
        "hv_customers": len(hv.id),
        "sensitive_customers": len(network.sensitive_customers.id),
        "villages": len({v for v in (*ta.village, *hv.village) if v}),
        "grid_cells": len(network.grid_cells.id),
        "energised_nodes": int((topology.feeder_of_nodes != -1).sum()),
        "loops": len(topology.loop_edges()),
    }


_SUMMARY_LABELS = {
    "substations": ("变电站", "substations"),
    "feeders": ("10kV 线路", "feeders"),
    "nodes": ("节点", "nodes"),
    "sections": ("区段", "sections"),
    "length_km": ("线路长度 km", "length km"),
    "switches": ("开关", "switches"),
    "normally_open_switches": ("常开开关（联络）", "normally-open switches (ties)"),
    "remote_switches": ("遥控开关", "remote-controlled switches"),
    "detectors": ("故障指示器 / 终端", "detectors"),
    "transformer_areas": ("台区", "transformer areas"),
    "rated_mva": ("配变容量 MVA", "transformer capacity MVA"),
    "lv_customers": ("低压用户", "LV customers"),
    "hv_customers": ("高压用户", "HV customers"),
    "sensitive_customers": ("敏感用户", "sensitive customers"),
    "villages": ("村", "villages"),
    "grid_cells": ("网格", "grid cells"),
    "energised_nodes": ("带电节点", "energised nodes"),
    "loops": ("合环", "closed loops"),
}


@grid.command("show")
@click.argument("path")
@click.option(
    "--map",
    "map_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the map (.png or .svg). "
    "Default: <network name>-map.png in the current folder.",
)
@click.option("--no-map", is_flag=True, help="Do not draw the map.")
@_lang_option
@_json_option
def grid_show(
    path: str, map_path: Path | None, no_map: bool, lang: str | None, as_json: bool
) -> None:
    """Summarise a network and draw a map of its feeders (电网概况与线路图)."""
    language = _lang(lang)
    network = _load(path, language, quiet=as_json)
    summary = network_summary(network)
    if not no_map:
        from openoms.grid.topology import Topology  # noqa: PLC0415
        from openoms.viz.feeder_map import draw_feeder_map  # noqa: PLC0415

        target = map_path or Path(f"{network.name}-map.png")
        with _step(language, "绘制线路图", "drawing the map", quiet=as_json):
            topology = Topology.build(network.graph_arrays(), network.closed_edges())
            draw_feeder_map(network, topology, target, lang=language)
        summary["map"] = str(target)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    for key, value in summary.items():
        label = _SUMMARY_LABELS.get(key, (key, key))[0 if language is Lang.ZH else 1]
        shown = value
        if isinstance(value, dict):
            shown = ", ".join(f"{k} {v}" for k, v in value.items())
        click.echo(f"{label}: {shown}")


@grid.command("convert")
@click.argument("source")
@click.argument("target", type=click.Path(path_type=Path))
def grid_convert(source: str, target: Path) -> None:
    """Convert a network (e.g. a pandapower JSON) to the native format (格式转换).

    TARGET ending in .json is written as one JSON document, anything else as a CSV folder.
    The network is checked first; nothing is written if it has errors.
    """
    from openoms.grid.native import write_csv_folder, write_json_document  # noqa: PLC0415

    raw = read_network_records(_resolve(source))
    result = check_raw(raw)
    if result.network is None:
        raise InvalidNetworkError(source, result.problems)
    if target.suffix.lower() == ".json":
        write_json_document(raw, target)
    else:
        write_csv_folder(raw, target)
    click.echo(f"{source} → {target}")


@main.command("impact")
@click.argument("path")
@click.option(
    "--open",
    "opened",
    required=True,
    metavar="DEVICE[,DEVICE…]",
    help="Switches or sections to open, by id, comma-separated.",
)
@click.option(
    "--map",
    "map_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also draw the outage on a map (.png or .svg).",
)
@_lang_option
@_json_option
def impact_command(
    path: str, opened: str, map_path: Path | None, lang: str | None, as_json: bool
) -> None:
    """Who is off if these devices open (停电范围分析).

    With --json: the de-energised nodes, sections, transformer areas and customers by id.
    """
    from openoms.outages.impact import ImpactAnalyser  # noqa: PLC0415

    language = _lang(lang)
    network = _load(path, language, quiet=as_json)
    devices = [d.strip() for d in opened.split(",") if d.strip()]
    analyser = ImpactAnalyser(network)
    impact = analyser.of_opening(devices)
    if map_path is not None:
        from openoms.viz.feeder_map import draw_feeder_map  # noqa: PLC0415

        draw_feeder_map(network, analyser.topology, map_path, impact=impact, lang=language)
    if as_json:
        click.echo(json.dumps(impact.as_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(impact.summary(language))


@main.command("switching")
@click.argument("path")
@click.argument("operations", nargs=-1, required=True, metavar="open:DEVICE|close:DEVICE…")
@_lang_option
@_json_option
def switching_command(
    path: str, operations: tuple[str, ...], lang: str | None, as_json: bool
) -> None:
    """Effect of a switching sequence, in order: who loses and regains supply, and any loop
    or parallel it makes (倒闸操作影响分析).

    Example: openoms switching sample:county close:CG-F01-K09 open:CG-F01-K03
    """
    from openoms.outages.impact import ImpactAnalyser  # noqa: PLC0415
    from openoms.outages.switching import Operation, switching_effect  # noqa: PLC0415

    ops: list[Operation] = []
    for text in operations:
        verb, _, device = text.partition(":")
        if verb not in {"open", "close"} or not device:
            raise click.BadParameter(
                f"{text!r}: write open:DEVICE or close:DEVICE", param_hint="OPERATIONS"
            )
        ops.append(Operation(device, verb == "close"))
    language = _lang(lang)
    network = _load(path, language, quiet=as_json)
    effect = switching_effect(ImpactAnalyser(network), ops)
    if as_json:
        click.echo(json.dumps(effect.as_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(effect.summary(language))


@main.command("locate")
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
@click.option(
    "--map",
    "map_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also draw the feeder with the zones shaded by posterior (.png or .svg).",
)
@_lang_option
@_json_option
def locate_command(  # click passes options by name
    path: str,
    *,
    reports: Path,
    feeder: str | None,
    max_faults: int,
    no_terminals_online: bool,
    map_path: Path | None,
    lang: str | None,
    as_json: bool,
) -> None:
    """Locate a fault from recorded indicator and FTU reports (故障区段定位回放).

    Example: openoms locate sample:county --reports fault.jsonl
    """
    from openoms.service.locate_command import run_locate  # noqa: PLC0415

    language = _lang(lang)
    network = _load(path, language, quiet=as_json)
    click.echo(
        run_locate(
            network,
            reports,
            lang=language,
            as_json=as_json,
            feeder=feeder,
            online_terminals=not no_terminals_online,
            max_faults=max_faults,
            map_path=map_path,
        )
    )


@main.command("demo")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("openoms-demo"),
    show_default=True,
    help="Folder for the maps and the JSON results.",
)
@_lang_option
def demo_command(out: Path, lang: str | None) -> None:
    """Run the main job on the bundled sample county (示例：县级配网停电分析)."""
    from openoms.demo import run_demo  # noqa: PLC0415

    run_demo(out, _lang(lang))


def run() -> None:  # pragma: no cover - the console entry point wraps errors
    try:
        main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OpenOMSError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _register_service_commands() -> None:
    from openoms.service.commands import db_group, serve_command, token_group  # noqa: PLC0415

    main.add_command(db_group)
    main.add_command(token_group)
    main.add_command(serve_command)
    from openoms.notify.commands import roster_group  # noqa: PLC0415

    main.add_command(roster_group)
    from openoms.service.reliability_commands import reliability_group  # noqa: PLC0415

    main.add_command(reliability_group)


_register_service_commands()
