"""``openoms warm-up``: compile the fast kernels now, once per install (预编译计算内核)."""

from __future__ import annotations

import click

from openoms.cli._common import data_dir_of, lang_of, lang_option, say
from openoms.service.warmup import GROUPS, compile_with_progress, kernel_dispatchers

__all__ = ["warmup_command"]


@click.command("warm-up")
@lang_option
def warmup_command(lang: str | None) -> None:
    """Compile the fast kernels now, so that no command waits for it (预编译计算内核).

    The first run after an install compiles the numba kernels of the topology engine, the
    fault locator and the reliability engine (tens of seconds); later runs load the machine
    code from the cache in a fraction of a second. `openoms demo` and `openoms serve` run
    this at start.
    """
    language = lang_of(lang)
    total = compile_with_progress(click.echo, language, data_dir=data_dir_of(), total=False)
    where = {str(d.stats.cache_path) for g in GROUPS for d in kernel_dispatchers(g).values()}
    click.echo(
        say(language, f"完成，用时 {total:.1f} s；缓存：", f"done in {total:.1f} s; cache: ")
        + ", ".join(sorted(where))
    )
