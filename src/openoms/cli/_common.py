"""What every command group shares: options, the language, settings, loading a network."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from openoms.grid.load import check_raw, read_network_records
from openoms.grid.model import Network
from openoms.grid.problems import InvalidNetworkError
from openoms.i18n import Lang, detect_lang
from openoms.samples import BUNDLED, bundled_path
from openoms.settings import Settings, load_settings

__all__ = [
    "config_option",
    "json_option",
    "lang_of",
    "lang_option",
    "load_checked",
    "resolve_network_path",
    "say",
    "settings_of",
    "step",
]

F = TypeVar("F", bound=Callable[..., Any])


def resolve_network_path(path: str) -> Path:
    """A bundled name (``sample:county``) or an existing path; else a usage error."""
    if path in BUNDLED:
        return bundled_path(path)
    resolved = Path(path)
    if not resolved.exists():
        raise click.BadParameter(
            f"{path}: no such file or folder (or use {' / '.join(BUNDLED)})", param_hint="PATH"
        )
    return resolved


def lang_option(function: F) -> F:
    return click.option(
        "--lang",
        type=click.Choice([lang.value for lang in Lang]),
        default=None,
        help="Output language: zh (Chinese) or en (English). Default: from the locale.",
    )(function)


def json_option(function: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text."
    )(function)


def config_option(function: F) -> F:
    return click.option(
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Settings file (TOML). Default: $OPENOMS_CONFIG or ./openoms.toml if present; "
        "OPENOMS_* environment variables override it.",
    )(function)


def lang_of(value: str | None) -> Lang:
    """``--lang`` if given, else the locale's language."""
    return Lang(value) if value else detect_lang(os.environ)


def say(lang: Lang, zh: str, en: str) -> str:
    return zh if lang is Lang.ZH else en


def settings_of(config: Path | None) -> Settings:
    """The settings of ``--config`` (or the default file) and the environment."""
    return load_settings(config)


@contextmanager
def step(lang: Lang, zh: str, en: str, *, quiet: bool) -> Iterator[None]:
    """Show a long step on stderr with its duration."""
    start = time.perf_counter()
    if not quiet:
        click.echo(f"… {say(lang, zh, en)}", err=True, nl=False)
    yield
    if not quiet:
        click.echo(f" ({time.perf_counter() - start:.2f} s)", err=True)


def load_checked(path: str, lang: Lang, *, quiet: bool) -> Network:
    """Read and check a network; any error stops the command with the full problem list."""
    with step(lang, f"读取并校验 {path}", f"reading and checking {path}", quiet=quiet):
        result = check_raw(read_network_records(resolve_network_path(path)))
    if result.network is None:
        raise InvalidNetworkError(path, result.problems)
    return result.network
