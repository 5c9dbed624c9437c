"""``openoms impact`` and ``openoms switching``: who is off if devices open (停电范围分析)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from openoms.cli._common import NetworkOptions, map_option, network_options, writing
from openoms.outages.impact import ImpactAnalyser
from openoms.outages.switching import Operation, switching_effect

__all__ = ["impact_command", "switching_command"]


@click.command("impact")
@click.argument("path")
@click.option(
    "--open",
    "opened",
    required=True,
    metavar="DEVICE[,DEVICE…]",
    help="Switches or sections to open, by id, comma-separated.",
)
@map_option("Also draw the outage on a map (.png or .svg).")
@network_options
def impact_command(  # click passes options by name
    path: str,
    *,
    opened: str,
    map_path: Path | None,
    options: NetworkOptions,
) -> None:
    """Who is off if these devices open (停电范围分析).

    With --json: the de-energised nodes, sections, transformer areas and customers by id.
    """
    devices = [d.strip() for d in opened.split(",") if d.strip()]
    if not devices:
        raise click.BadParameter(
            "no device given: name the switches or sections to open, comma-separated",
            param_hint="'--open'",
        )
    network, topology = options.indexed(path)
    analyser = ImpactAnalyser(network, topology)
    impact = analyser.of_opening(devices)
    if map_path is not None:
        from openoms.viz.feeder_map import draw_feeder_map  # noqa: PLC0415  (matplotlib)

        with writing(map_path, "the map"):
            draw_feeder_map(network, analyser.topology, map_path, impact=impact, lang=options.lang)
    if options.as_json:
        click.echo(json.dumps(impact.as_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(impact.summary(options.lang))


@click.command("switching")
@click.argument("path")
@click.argument("operations", nargs=-1, required=True, metavar="open:DEVICE|close:DEVICE…")
@network_options
def switching_command(  # click passes options by name
    path: str,
    *,
    operations: tuple[str, ...],
    options: NetworkOptions,
) -> None:
    """Effect of a switching sequence, in order: who loses and regains supply, and any loop
    or parallel it makes (倒闸操作影响分析).

    Example: openoms switching sample:county close:CG-F01-K09 open:CG-F01-K03
    """
    ops: list[Operation] = []
    for text in operations:
        verb, _, device = text.partition(":")
        if verb not in {"open", "close"} or not device:
            raise click.BadParameter(
                f"{text!r}: write open:DEVICE or close:DEVICE", param_hint="OPERATIONS"
            )
        ops.append(Operation(device, verb == "close"))
    effect = switching_effect(ImpactAnalyser(*options.indexed(path)), ops)
    if options.as_json:
        click.echo(json.dumps(effect.as_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(effect.summary(options.lang))
