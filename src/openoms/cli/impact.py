"""``openoms impact`` and ``openoms switching``: who is off if devices open (停电范围分析)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from openoms.cli._common import (
    cache_option,
    check_picture,
    encoding_option,
    json_option,
    lang_of,
    lang_option,
    load_indexed,
)
from openoms.errors import InputError
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
@click.option(
    "--map",
    "map_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    callback=check_picture,
    help="Also draw the outage on a map (.png or .svg).",
)
@cache_option
@encoding_option
@lang_option
@json_option
def impact_command(  # click passes options by name
    path: str,
    *,
    opened: str,
    map_path: Path | None,
    no_cache: bool,
    lang: str | None,
    as_json: bool,
    encoding: str | None = None,
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
    language = lang_of(lang)
    network, topology = load_indexed(
        path, language, quiet=as_json, cache=not no_cache, encoding=encoding
    )
    analyser = ImpactAnalyser(network, topology)
    impact = analyser.of_opening(devices)
    if map_path is not None:
        from openoms.viz.feeder_map import draw_feeder_map  # noqa: PLC0415  (matplotlib)

        try:
            draw_feeder_map(network, analyser.topology, map_path, impact=impact, lang=language)
        except OSError as exc:
            raise InputError(f"{map_path}: cannot write the map: {exc.strerror or exc}") from exc
    if as_json:
        click.echo(json.dumps(impact.as_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(impact.summary(language))


@click.command("switching")
@click.argument("path")
@click.argument("operations", nargs=-1, required=True, metavar="open:DEVICE|close:DEVICE…")
@cache_option
@encoding_option
@lang_option
@json_option
def switching_command(  # click passes options by name
    path: str,
    *,
    operations: tuple[str, ...],
    no_cache: bool,
    lang: str | None,
    as_json: bool,
    encoding: str | None = None,
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
    language = lang_of(lang)
    network, topology = load_indexed(
        path, language, quiet=as_json, cache=not no_cache, encoding=encoding
    )
    effect = switching_effect(ImpactAnalyser(network, topology), ops)
    if as_json:
        click.echo(json.dumps(effect.as_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(effect.summary(language))
