"""What every command group shares: options, the language, settings, loading a network."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from openoms.i18n import Lang, detect_lang
from openoms.samples import BUNDLED, bundled_path

if TYPE_CHECKING:  # (a command's --help loads neither numpy nor pydantic)
    from openoms.grid.model import Network
    from openoms.grid.snapshot import Snapshot
    from openoms.grid.topology import Topology
    from openoms.settings import Settings

__all__ = [
    "cache_option",
    "check_picture",
    "compile_notice",
    "config_option",
    "data_dir_of",
    "encoding_option",
    "json_option",
    "lang_of",
    "lang_option",
    "load_checked",
    "load_indexed",
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


def _check_encoding(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from openoms.errors import InputError  # noqa: PLC0415
    from openoms.grid.textfile import check_encoding  # noqa: PLC0415

    try:
        check_encoding(value)
    except InputError as exc:
        raise click.BadParameter(str(exc)) from exc
    return value


def encoding_option(function: F) -> F:
    return click.option(
        "--encoding",
        default=None,
        metavar="NAME",
        callback=_check_encoding,
        help="Encoding of the CSV (and JSON) files: utf-8, gbk, gb18030, … "
        "Default: UTF-8 (with or without BOM) or GBK / GB18030, detected.",
    )(function)


PICTURE_SUFFIXES = (".png", ".svg")


def check_picture(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """The callback of a picture option (``--map``): a .png or .svg file (matplotlib would
    write a PNG under any other name) in a place that can hold one; checked before any work,
    so a refused name writes nothing."""
    if value is None:
        return None
    if value.suffix.lower() not in PICTURE_SUFFIXES:
        raise click.BadParameter(
            f"{value}: unknown picture format {value.suffix or '(no suffix)'!r}: "
            f"name the file {' or '.join(PICTURE_SUFFIXES)}"
        )
    if value.is_dir():
        raise click.BadParameter(f"{value}: is a folder; name a .png or .svg file")
    parent = next((p for p in value.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise click.BadParameter(f"{value}: {parent} is a file, not a folder")
    return value


def cache_option(function: F) -> F:
    return click.option(
        "--no-cache",
        "no_cache",
        is_flag=True,
        help="Read and check the network files even if a checked snapshot of them is saved "
        "(<data_dir>/snapshots), and save none.",
    )(function)


def lang_of(value: str | None) -> Lang:
    """``--lang`` if given, else the locale's language."""
    return Lang(value) if value else detect_lang(os.environ)


def say(lang: Lang, zh: str, en: str) -> str:
    return zh if lang is Lang.ZH else en


def settings_of(config: Path | None) -> Settings:
    """The settings of ``--config`` (or the default file) and the environment."""
    from openoms.settings import load_settings  # noqa: PLC0415

    return load_settings(config)


def data_dir_of(environ: Mapping[str, str] | None = None) -> Path:
    """``Settings.data_dir`` as :func:`settings_of` (no ``--config``) would give it, without
    importing pydantic (a tenth of a second) in the common cases: ``$OPENOMS_DATA_DIR`` (the
    environment wins over the file), or no settings file at all (the default folder)."""
    env = os.environ if environ is None else environ
    if env.get("OPENOMS_DATA_DIR"):
        return Path(env["OPENOMS_DATA_DIR"])
    if not env.get("OPENOMS_CONFIG") and not Path("openoms.toml").is_file():
        return Path(env.get("XDG_DATA_HOME") or "~/.local/share").expanduser() / "openoms"
    from openoms.settings import load_settings  # noqa: PLC0415

    return load_settings(environ=env).data_dir


@contextmanager
def step(lang: Lang, zh: str, en: str, *, quiet: bool) -> Iterator[None]:
    """Show a long step on stderr with its duration, on a terminal only: a pipe or a log
    gets the command's output and, when it fails, its one error line."""
    shown = not quiet and sys.stderr.isatty()
    start = time.perf_counter()
    if shown:
        click.echo(f"… {say(lang, zh, en)}", err=True, nl=False)
    try:
        yield
    except BaseException:
        if shown:
            click.echo("", err=True)  # the error starts on a line of its own
        raise
    if shown:
        click.echo(f" ({time.perf_counter() - start:.2f} s)", err=True)


def load_checked(
    path: str, lang: Lang, *, quiet: bool, cache: bool = True, encoding: str | None = None
) -> Network:
    """Read and check a network; any error stops the command with the full problem list.

    With ``cache``, a network read once is loaded from its checked snapshot in the data
    folder while its files are unchanged (:mod:`openoms.grid.snapshot`). ``encoding`` of the
    files (default: detected); a network read in a given encoding is not cached.
    """
    return _load(path, lang, quiet=quiet, cache=cache, encoding=encoding).network


def load_indexed(
    path: str, lang: Lang, *, quiet: bool, cache: bool = True, encoding: str | None = None
) -> tuple[Network, Topology]:
    """:func:`load_checked` and the topology index of the present switch states (saved in the
    snapshot too)."""
    snapshot = _load(path, lang, quiet=quiet, cache=cache, encoding=encoding)
    if snapshot.topology is not None:
        return snapshot.network, snapshot.topology
    from openoms.grid.topology import Topology  # noqa: PLC0415

    network = snapshot.network
    return network, Topology.build(network.graph_arrays(), network.closed_edges())


def _load(
    path: str, lang: Lang, *, quiet: bool, cache: bool, encoding: str | None = None
) -> Snapshot:
    from openoms.grid.snapshot import Snapshot, SnapshotStore  # noqa: PLC0415

    source = resolve_network_path(path)
    if not cache or encoding is not None:  # the snapshot's key does not hold the encoding
        return Snapshot(_read_checked(path, source, lang, quiet=quiet, encoding=encoding))
    store = SnapshotStore(data_dir_of() / "snapshots")
    start = time.perf_counter()
    snapshot, key = store.load(source)
    if snapshot is not None:
        if not quiet and sys.stderr.isatty():  # progress on a terminal only, as step()
            elapsed = time.perf_counter() - start
            shown = say(lang, f"… {path}：已校验的快照", f"… {path}: checked snapshot")
            click.echo(f"{shown} ({elapsed:.2f} s)", err=True)
        return snapshot
    network = _read_checked(path, source, lang, quiet=quiet)
    from openoms.grid.snapshot import indexed  # noqa: PLC0415

    compile_notice(lang, ("topology",), quiet=quiet)
    snapshot = indexed(network)
    store.save(source, snapshot, key)
    return snapshot


def compile_notice(lang: Lang, groups: tuple[str, ...], *, quiet: bool) -> None:
    """Before a command runs numba kernels that have no machine code on disk yet (the first
    run after an install): compile them now, one line per group with its time, instead of
    going quiet for seconds (``openoms warm-up`` does the same ahead of time). On a terminal
    only, as :func:`step`: elsewhere the kernels compile on first use, silently."""
    if quiet or not sys.stderr.isatty():
        return
    from openoms.service.warmup import cold_groups, compile_with_progress, group_named  # noqa: PLC0415

    cold = cold_groups([group_named(name) for name in groups])
    if not cold:
        return
    click.echo(
        say(
            lang,
            "… 首次运行（openoms warm-up 可预先完成）",
            "… first run after installing (openoms warm-up does this ahead)",
        ),
        err=True,
    )
    compile_with_progress(
        lambda line: click.echo(line, err=True), lang, groups=cold, data_dir=data_dir_of()
    )


def _read_checked(
    path: str, source: Path, lang: Lang, *, quiet: bool, encoding: str | None = None
) -> Network:
    # the parser and the validator (scipy) only when the files are read
    from openoms.grid.load import check_raw, read_network_records  # noqa: PLC0415
    from openoms.grid.problems import InvalidNetworkError  # noqa: PLC0415

    with step(lang, f"读取并校验 {path}", f"reading and checking {path}", quiet=quiet):
        result = check_raw(read_network_records(source, encoding=encoding))
    if result.network is None:
        raise InvalidNetworkError(path, result.problems)
    return result.network
