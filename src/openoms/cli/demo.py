"""``openoms demo``: the main job on the bundled sample county (示例)."""

from __future__ import annotations

from pathlib import Path

import click

from openoms.cli._common import lang_of, lang_option
from openoms.samples.demo import run_demo

__all__ = ["demo_command"]


@click.command("demo")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("openoms-demo"),
    show_default=True,
    help="Folder for the maps and the JSON results.",
)
@lang_option
def demo_command(out: Path, lang: str | None) -> None:
    """Run the main job on the bundled sample county (示例：县级配网停电分析)."""
    run_demo(out, lang_of(lang))
