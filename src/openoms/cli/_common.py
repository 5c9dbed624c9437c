"""What every command group shares: options, the language, settings, loading a network."""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import click

from openoms.errors import InputError
from openoms.i18n import Lang, detect_lang
from openoms.samples import BUNDLED, bundled_path

if TYPE_CHECKING:  # (a command's --help loads neither numpy nor pydantic)
    from openoms.grid.model import Network
    from openoms.grid.snapshot import Snapshot
    from openoms.grid.topology import Topology
    from openoms.settings import Settings

__all__ = [
    "NetworkOptions",
    "cache_option",
    "compile_notice",
    "config_option",
    "data_dir_of",
    "encoding_option",
    "json_option",
    "json_option_with",
    "lang_of",
    "lang_option",
    "lang_option_with",
    "map_option",
    "network_options",
    "resolve_network_path",
    "say",
    "settings_of",
    "step",
    "timezone_of",
    "writing",
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


def lang_option_with(help_text: str) -> Callable[[F], F]:
    """``--lang``: zh or en (default: the locale's, :func:`lang_of`), with this help."""
    return click.option(
        "--lang", type=click.Choice([lang.value for lang in Lang]), default=None, help=help_text
    )


def json_option_with(help_text: str) -> Callable[[F], F]:
    """``--json`` (the parameter ``as_json``), with this help."""
    return click.option("--json", "as_json", is_flag=True, help=help_text)


lang_option = lang_option_with(
    "Output language: zh (Chinese) or en (English). Default: from the locale."
)
json_option = json_option_with("Print machine-readable JSON instead of text.")


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


def _check_picture(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """A picture option's value (``--map``): a .png or .svg file (matplotlib would write a PNG
    under any other name) in a place that can hold one; checked before any work, so a refused
    name writes nothing."""
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


def map_option(help_text: str) -> Callable[[F], F]:
    """``--map FILE`` (the parameter ``map_path``): a picture, checked before any work."""
    return click.option(
        "--map",
        "map_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        callback=_check_picture,
        help=help_text,
    )


@contextmanager
def writing(path: Path, what: str | None = None) -> Iterator[None]:
    """Write ``what`` (a map, a report) to ``path``: a file system error is one line."""
    try:
        yield
    except OSError as exc:
        written = f"write {what}" if what else "write"
        raise InputError(f"{path}: cannot {written}: {exc.strerror or exc}") from exc


def cache_option(function: F) -> F:
    return click.option(
        "--no-cache",
        "no_cache",
        is_flag=True,
        help="Read and check the network files even if a checked snapshot of them is saved "
        "(<data_dir>/snapshots), and save none.",
    )(function)


def network_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options of a command that reads a network: ``--no-cache``, ``--encoding``,
    ``--lang`` and ``--json``. The command gets them as one keyword argument, ``options``
    (:class:`NetworkOptions`), which reads the network. The decorator nearest the function,
    so that the options are listed last, in the order above."""

    @functools.wraps(command)
    def with_options(
        *args: Any,
        no_cache: bool,
        encoding: str | None,
        lang: str | None,
        as_json: bool,
        **kwargs: Any,
    ) -> None:
        options = NetworkOptions(
            lang_of(lang), as_json=as_json, cache=not no_cache, encoding=encoding
        )
        command(*args, options=options, **kwargs)

    for option in (json_option, lang_option, encoding_option, cache_option):
        with_options = option(with_options)
    return with_options


def lang_of(value: str | None) -> Lang:
    """``--lang`` if given, else the locale's language."""
    return Lang(value) if value else detect_lang(os.environ)


def say(lang: Lang, zh: str, en: str) -> str:
    return zh if lang is Lang.ZH else en


class BadValue(click.BadParameter):
    """A bad option value whose whole line is in the chosen language (click's own wording,
    "Invalid value for …", is English)."""

    def __init__(self, lang: Lang, option: str, zh: str, en: str) -> None:
        super().__init__(say(lang, zh, en), param_hint=option)
        self.lang = lang
        self.option = option

    def format_message(self) -> str:
        if self.lang is Lang.ZH:
            return f"参数 {self.option} 的值无效：{self.message}"
        return f"Invalid value for {self.option!r}: {self.message}"


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


DEFAULT_TIMEZONE: Final = "Asia/Shanghai"  # Settings.timezone's default (a test checks)
_LIGHT_SETTINGS: Final = frozenset({"OPENOMS_DATA_DIR", "OPENOMS_TIMEZONE"})


def timezone_of(environ: Mapping[str, str] | None = None) -> str:
    """``Settings.timezone`` as :func:`settings_of` (no ``--config``) would give it, without
    importing pydantic when no settings file and no other ``OPENOMS_*`` variable is there
    (those are loaded, and checked, by the settings)."""
    env = os.environ if environ is None else environ
    light = (
        not env.get("OPENOMS_CONFIG")
        and not Path("openoms.toml").is_file()
        and all(k in _LIGHT_SETTINGS for k in env if k.startswith("OPENOMS_"))
        and env.get("OPENOMS_TIMEZONE") != ""
    )
    if light:
        return env.get("OPENOMS_TIMEZONE") or DEFAULT_TIMEZONE
    from openoms.settings import load_settings  # noqa: PLC0415

    return load_settings(environ=env).timezone


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


@dataclass(frozen=True)
class NetworkOptions:
    """How a command reads its network (:func:`network_options`) and answers."""

    lang: Lang  # --lang, else the locale's
    as_json: bool  # --json: no progress on stderr either
    cache: bool  # not --no-cache
    encoding: str | None  # --encoding, else detected

    def checked(self, path: str) -> Network:
        """Read and check the network ``path``; any error stops the command with the full
        problem list.

        A network read once is loaded from its checked snapshot in the data folder while its
        files are unchanged (:mod:`openoms.grid.snapshot`), unless ``--no-cache``; a network
        read in a given ``--encoding`` is cached under that encoding.
        """
        return self._snapshot(path).network

    def indexed(self, path: str) -> tuple[Network, Topology]:
        """:meth:`checked` and the topology index of the present switch states (saved in the
        snapshot too)."""
        snapshot = self._snapshot(path)
        if snapshot.topology is not None:
            return snapshot.network, snapshot.topology
        from openoms.grid.topology import Topology  # noqa: PLC0415

        network = snapshot.network
        return network, Topology.build(network.graph_arrays(), network.closed_edges())

    def _snapshot(self, path: str) -> Snapshot:
        return _load(path, self.lang, quiet=self.as_json, cache=self.cache, encoding=self.encoding)


def _load(
    path: str, lang: Lang, *, quiet: bool, cache: bool, encoding: str | None = None
) -> Snapshot:
    from openoms.grid.snapshot import Snapshot, SnapshotStore  # noqa: PLC0415

    source = resolve_network_path(path)
    if not cache:
        return Snapshot(_read_checked(path, source, lang, quiet=quiet, encoding=encoding))
    store = SnapshotStore(data_dir_of() / "snapshots")
    start = time.perf_counter()
    snapshot, key = store.load(source, encoding)
    if snapshot is not None:
        if not quiet and sys.stderr.isatty():  # progress on a terminal only, as step()
            elapsed = time.perf_counter() - start
            shown = say(lang, f"… {path}：已校验的快照", f"… {path}: checked snapshot")
            click.echo(f"{shown} ({elapsed:.2f} s)", err=True)
        return snapshot
    network = _read_checked(path, source, lang, quiet=quiet, encoding=encoding)
    from openoms.grid.jit import runs_compiled  # noqa: PLC0415
    from openoms.grid.snapshot import indexed  # noqa: PLC0415

    if runs_compiled(2 * network.n_edges):  # (a county's index is built without numba)
        compile_notice(lang, ("topology",), quiet=quiet)
    snapshot = indexed(network)
    store.save(source, snapshot, key, encoding)
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
