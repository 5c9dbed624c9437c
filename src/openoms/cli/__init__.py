"""The ``openoms`` command: one module per command group, loaded when it is used.

Every command has ``--help``; output is Chinese or English by the locale or ``--lang``;
``--json`` prints machine-readable output instead. Networks are named by a path (a native CSV
folder or JSON document, or a pandapower JSON file) or by a bundled name: ``sample:county``
(the sample county) or ``sample:ieee33`` (the IEEE 33-bus feeder).

Command groups live in their own modules (:mod:`.grid`, :mod:`.impact`, :mod:`.locate`,
:mod:`.demo`, :mod:`.service`, :mod:`.planned`, :mod:`.notices`, :mod:`.roster`,
:mod:`.reliability`, :mod:`.warmup`) and are imported only when invoked, so
``openoms --help`` loads none of the engines.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Final

import click

from openoms.errors import OpenOMSError

__all__ = ["main", "run"]

# name → (module:attribute, one-line help shown by ``openoms --help``)
COMMANDS: Final[dict[str, tuple[str, str]]] = {
    "grid": ("openoms.cli.grid:grid", "Network data: check, show and convert (电网模型)."),
    "impact": (
        "openoms.cli.impact:impact_command",
        "Who is off if these devices open (停电范围分析).",
    ),
    "switching": (
        "openoms.cli.impact:switching_command",
        "Effect of a switching sequence (倒闸操作影响分析).",
    ),
    "locate": (
        "openoms.cli.locate:locate_command",
        "Locate a fault from recorded reports (故障区段定位回放).",
    ),
    "demo": ("openoms.cli.demo:demo_command", "Run the main job on the sample county (示例)."),
    "serve": (
        "openoms.cli.service:serve_command",
        "Run the service: HTTP API, event processing, field protocols (启动服务).",
    ),
    "db": ("openoms.cli.service:db_group", "The database (数据库)."),
    "token": ("openoms.cli.service:token_group", "API tokens (令牌)."),
    "planned": (
        "openoms.cli.planned:planned_group",
        "Planned outages: preview, book, approve and notify (计划停电).",
    ),
    "calls": (
        "openoms.cli.calls:calls_group",
        "Trouble calls: predict the operated devices (故障报修研判).",
    ),
    "notices": (
        "openoms.cli.notices:notices_group",
        "Customer notices: customers, published notices, previews (停电通知).",
    ),
    "roster": ("openoms.cli.roster:roster_group", "Duty rosters of the grid cells (值班表)."),
    "reliability": (
        "openoms.cli.reliability:reliability_group",
        "Reliability indices, history import, report (供电可靠性).",
    ),
    "warm-up": (
        "openoms.cli.warmup:warmup_command",
        "Compile the fast kernels now, once per install (预编译计算内核).",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use (click's documented lazy pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, _, attribute = COMMANDS[cmd_name][0].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):  # pragma: no cover - a wiring mistake
            raise TypeError(f"{module_name}:{attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="openoms")
def main() -> None:
    """OpenOMS: outage management for 10 kV distribution networks.

    配网停电管理：故障定位、停电范围、恢复供电、可靠性统计。
    """


def _numba_cache_in_data_dir() -> None:
    """Numba keeps the compiled kernels in ``__pycache__`` beside the modules. Where the
    installed package is read-only (a system or container install), keep them in
    ``<data_dir>/numba-cache`` instead of numba's user-wide fallback, which may not be writable
    either; a ``$NUMBA_CACHE_DIR`` of the user's wins. Before numba is imported."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    folder = Path(__file__).resolve().parent.parent / "grid"
    cache = folder / "__pycache__"
    if os.access(cache if cache.is_dir() else folder, os.W_OK):
        return
    from openoms.cli._common import data_dir_of  # noqa: PLC0415

    os.environ["NUMBA_CACHE_DIR"] = str(data_dir_of() / "numba-cache")


def run() -> None:  # pragma: no cover - the console entry point wraps errors
    _numba_cache_in_data_dir()
    try:
        main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.BadParameter as exc:
        # A bad value (no such file, a folder where a file belongs, a picture format): one
        # line, as for OpenOMSError; the usage text would not help.
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OpenOMSError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
