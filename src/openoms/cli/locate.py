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
    BadValue,
    NetworkOptions,
    compile_notice,
    map_option,
    network_options,
    timezone_of,
    writing,
)
from openoms.i18n import Lang

if TYPE_CHECKING:  # the locator and its numba kernels load when a fault is located
    from openoms.faults.recorded import ReplayResult
    from openoms.grid.model import Network
    from openoms.grid.topology import Topology

__all__ = ["locate_command"]


def _checked_timezone(value: str | None, lang: Lang) -> str:
    """``--timezone``, else the settings' (``OPENOMS_TIMEZONE``, ``openoms.toml``)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415

    if value is None:
        return timezone_of()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadValue(
            lang,
            "--timezone",
            f"{value!r} 不是 IANA 时区名（例如 Asia/Shanghai）",
            f"{value!r} is not an IANA time zone (e.g. Asia/Shanghai)",
        ) from exc
    return value


def _needs_numba(topology: Topology) -> bool:
    """Whether locating on the largest feeder runs the compiled kernels (a feeder of a
    county's size runs them interpreted, without loading numba: :mod:`openoms.grid.jit`)."""
    import numpy as np  # noqa: PLC0415

    from openoms.faults.kernels import runs_compiled  # noqa: PLC0415

    feeders = topology.feeder_of_nodes
    largest = feeders[feeders >= 0]
    return runs_compiled(int(np.bincount(largest).max()) if largest.size else 0)


def _text(result: ReplayResult, network: Network, lang: Lang, timezone: str) -> str:
    from openoms.faults.summary import describe  # noqa: PLC0415

    view = describe(network, result.zones, result.location)
    return view.text(lang, timezone, reports=result.group.reports, alarms=result.group.alarms)


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
    timezone: str = "Asia/Shanghai",
    topology: Topology | None = None,
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
        topology=topology,
    )
    if map_path is not None:
        from openoms.viz.fault_map import draw_fault_map  # noqa: PLC0415  (matplotlib)

        observations = result.group.observations
        with writing(map_path, "the map"):
            draw_fault_map(network, result.zones, result.location, observations, map_path)
    if as_json:
        from openoms.faults.summary import describe  # noqa: PLC0415

        where = describe(network, result.zones, result.location).as_dict(timezone)
        return json.dumps(
            result.as_dict() | {"where": where}, ensure_ascii=False, indent=2, default=str
        )
    return _text(result, network, lang, timezone)


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
@click.option(
    "--timezone",
    default=None,
    metavar="ZONE",
    help="Show times in this IANA zone. Default: the settings' timezone (Asia/Shanghai).",
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
    timezone: str | None,
    map_path: Path | None,
    options: NetworkOptions,
) -> None:
    """Locate a fault from recorded indicator and FTU reports (故障区段定位回放).

    Example: openoms locate sample:county --reports fault.jsonl
    """
    from openoms.grid.textfile import text_encoding  # noqa: PLC0415

    text_encoding(reports)  # a file that is not text fails before the network is read
    zone = _checked_timezone(timezone, options.lang)
    network, topology = options.indexed(path)
    if _needs_numba(topology):
        compile_notice(options.lang, ("faults",), quiet=options.as_json)
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
            timezone=zone,
            topology=topology,
        )
    )
