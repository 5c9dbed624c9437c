"""``openoms grid check | show | convert``: network data (电网模型)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from openoms.cli._common import (
    NetworkOptions,
    encoding_option,
    json_option,
    lang_of,
    lang_option,
    map_option,
    network_options,
    resolve_network_path,
    say,
    step,
    writing,
)
from openoms.errors import InputError
from openoms.grid.native import write_csv_folder, write_json_document
from openoms.grid.problems import InvalidNetworkError, Problem
from openoms.i18n import Lang

__all__ = ["grid"]


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


@click.group()
def grid() -> None:
    """Network data: check, show and convert (电网模型)."""


@grid.command("check")
@click.argument("path")
@encoding_option
@lang_option
@json_option
def grid_check(path: str, lang: str | None, as_json: bool, encoding: str | None = None) -> None:
    """Check a network and list every problem with its file, row and field (校验电网数据).

    Exit status 1 when there is any error; warnings alone exit 0.
    """
    from openoms.grid.load import check_raw, read_network_records  # noqa: PLC0415  (scipy)

    language = lang_of(lang)
    raw = read_network_records(resolve_network_path(path), encoding=encoding)
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
            click.echo(say(language, f"导入说明：{note}", f"import note: {note}"))
        for p in result.problems:
            click.echo(str(p))
        errors, warnings = len(result.errors), len(result.warnings)
        click.echo(
            say(
                language,
                f"{path}：{errors} 个错误，{warnings} 个警告",
                f"{path}: {errors} error(s), {warnings} warning(s)",
            )
        )
    if result.network is None:
        sys.exit(1)


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
@map_option(
    "Where to write the map (.png or .svg). Default: <network name>-map.png in the current folder."
)
@click.option("--no-map", is_flag=True, help="Do not draw the map.")
@network_options
def grid_show(  # click passes options by name
    path: str,
    *,
    map_path: Path | None,
    no_map: bool,
    options: NetworkOptions,
) -> None:
    """Summarise a network and draw a map of its feeders (电网概况与线路图)."""
    from openoms.grid.summary import network_summary  # noqa: PLC0415

    network, topology = options.indexed(path)
    summary = network_summary(network)
    if not no_map:
        from openoms.viz.feeder_map import draw_feeder_map  # noqa: PLC0415  (matplotlib)

        target = map_path or Path(f"{_file_name(network.name)}-map.png")
        with (
            step(options.lang, "绘制线路图", "drawing the map", quiet=options.as_json),
            writing(target, "the map"),
        ):
            draw_feeder_map(network, topology, target, lang=options.lang)
        summary["map"] = str(target)
    if options.as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    for key, value in summary.items():
        label = _SUMMARY_LABELS.get(key, (key, key))[0 if options.lang is Lang.ZH else 1]
        shown = value
        if isinstance(value, dict):
            shown = ", ".join(f"{k} {v}" for k, v in value.items())
        click.echo(f"{label}: {shown}")


@grid.command("convert")
@click.argument("source")
@click.argument("target", type=click.Path(path_type=Path))
@encoding_option
def grid_convert(source: str, target: Path, encoding: str | None = None) -> None:
    """Convert a network (e.g. a pandapower JSON) to the native format (格式转换).

    TARGET ending in .json is written as one JSON document, anything else as a CSV folder.
    The network is checked first; nothing is written if it has errors. The files written
    are UTF-8 whatever the encoding read.
    """
    from openoms.grid.load import check_raw, read_network_records  # noqa: PLC0415  (scipy)

    as_json = target.suffix.lower() == ".json"
    if as_json and target.is_dir():
        raise InputError(f"{target}: is a folder; a .json TARGET is written as one file")
    if not as_json and target.exists() and not target.is_dir():
        raise InputError(
            f"{target}: is a file; TARGET is written as a CSV folder (end it in .json for one "
            "JSON document)"
        )
    raw = read_network_records(resolve_network_path(source), encoding=encoding)
    result = check_raw(raw)
    if result.network is None:
        raise InvalidNetworkError(source, result.problems)
    with writing(target):
        if as_json:
            write_json_document(raw, target)
        else:
            write_csv_folder(raw, target)
    click.echo(f"{source} → {target}")


def _file_name(name: str) -> str:
    """``name`` (a network's, from its files) as one file name: no folders, no dots first."""
    return re.sub(r"[^\w.-]+", "_", name).lstrip(".") or "network"
