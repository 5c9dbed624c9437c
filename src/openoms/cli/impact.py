"""``openoms impact`` and ``openoms switching``: who is off if devices open (停电范围分析)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from openoms.cli._common import BadValue, NetworkOptions, map_option, network_options, writing
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
        raise BadValue(
            options.lang,
            "--open",
            "未给出设备：请写出要断开的开关或区段编号，用逗号分隔",
            "no device given: name the switches or sections to open, comma-separated",
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

    Warns about operations that change nothing (closing a closed switch) and checks the
    feeders involved, the receiving one included, by power flow: section and switch ratings
    and the ±7 % voltage band (docs/restoration.md).

    Example (transfer the end of 城关Ⅰ线 to 柏山Ⅰ线 through its tie, break before make):
    openoms switching sample:county open:CG-F01-K06 close:CG-F01-K13
    """
    ops: list[Operation] = []
    for text in operations:
        verb, _, device = text.partition(":")
        if verb not in {"open", "close"} or not device:
            raise click.BadParameter(
                f"{text!r}: write open:DEVICE or close:DEVICE", param_hint="OPERATIONS"
            )
        ops.append(Operation(device, verb == "close"))
    analyser = ImpactAnalyser(*options.indexed(path))
    effect = switching_effect(analyser, ops)
    from openoms.restoration.powerflow import (  # noqa: PLC0415  (power-grid-model)
        PowerFlowError,
        PowerFlowModel,
    )
    from openoms.restoration.preview import switching_check  # noqa: PLC0415

    edges = analyser.edges([op.device for op in ops])
    failure = ""
    try:
        check = switching_check(
            PowerFlowModel(analyser.network),
            analyser.topology,
            [(e, op.close) for e, op in zip(edges, ops, strict=True)],
        )
    except PowerFlowError as error:  # data the power flow cannot take: say so, keep the rest
        check = None
        failure = str(error)
    zh = options.lang.value == "zh"
    if options.as_json:
        document = effect.as_dict()
        document["power_flow"] = (
            {"error": failure}
            if check is None
            else {
                "feeders": list(check.feeders),
                "converged": check.after.converged,
                "min_u_pu": check.after.min_u_pu,
                "max_loading": check.after.max_loading,
                "max_loading_element": check.after.max_loading_element,
                "new_violations": [
                    {"kind": v.kind.value, "element": v.element, "value": v.value, "limit": v.limit}
                    for v in check.new_violations
                ],
            }
        )
        click.echo(json.dumps(document, ensure_ascii=False, indent=1))
    else:
        for warning in effect.warnings(options.lang):
            click.echo(("警告：" if zh else "warning: ") + warning)
        click.echo(effect.summary(options.lang))
        if check is None:
            click.echo(f"潮流校核未完成：{failure}" if zh else f"power flow not run: {failure}")
        else:
            for line in check.describe(options.lang):
                click.echo(line)
