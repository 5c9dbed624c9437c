"""Importing pandapower nets (and through them SimBench and the pandapower example grids).

:func:`raw_from_pandapower` maps a pandapower net to the native tables (see :mod:`.schema`)
as a :class:`PandapowerRawNetwork`: a :class:`~.records.RawNetwork` that also lists, in
``notes``, every element that was left out or changed on the way, so nothing is lost
silently. Every check is left to the parser (:mod:`.load`). :func:`read_pandapower_json` does
the same for a file written by ``pandapower.to_json``. pandapower is an optional dependency
(``pip install 'openoms[pandapower]'``), imported only to read a file.

The mapping of every pandapower table to the native format, with the ids it produces, is
documented in ``docs/formats.md`` ("Importing pandapower networks").

Example::

    raw = raw_from_pandapower(pandapower.networks.case33bw())
    network = openoms.grid.load.network_from_raw(raw)  # 38 nodes: 33 buses + 5 tie ends
    for note in raw.notes:
        print(note)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from openoms.errors import InputError
from openoms.grid import _pandapower_loads, _pandapower_station
from openoms.grid._pandapower_mapping import map_net
from openoms.grid._pandapower_tables import text
from openoms.grid.records import RawNetwork
from openoms.grid.textfile import json_problem, read_text

__all__ = [
    "ImportNote",
    "PandapowerFormatError",
    "PandapowerImportOptions",
    "PandapowerNotInstalledError",
    "PandapowerOptionError",
    "PandapowerRawNetwork",
    "raw_from_pandapower",
    "read_pandapower_json",
]

# The thresholds of the mapping (see docs/formats.md), kept here under their names.
LV_BELOW_KV: Final = _pandapower_station.LV_BELOW_KV  # buses below this are low voltage
HV_ABOVE_KV: Final = _pandapower_station.HV_ABOVE_KV  # buses above this are high voltage
ASSUMED_POWER_FACTOR: Final = _pandapower_loads.ASSUMED_POWER_FACTOR  # rating from p_mw


class PandapowerNotInstalledError(InputError):
    """pandapower is needed for this and is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "reading pandapower files needs pandapower: install openoms[pandapower] "
            "(pip install 'openoms[pandapower]')"
        )


class PandapowerFormatError(InputError):
    """A file that pandapower cannot read as a net."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: not a pandapower net: {reason}")
        self.path = path


class PandapowerOptionError(InputError, ValueError):
    """An import option out of range; ``option`` names it."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True, slots=True)
class PandapowerImportOptions:
    """Settings of the import; see the module docstring for what each changes."""

    kw_per_lv_customer: float = 2.0  # for the ESTIMATED households of an MV load
    keep_coordinates: bool = True  # False for nets whose coordinates are not WGS 84

    def __post_init__(self) -> None:
        if not self.kw_per_lv_customer > 0:
            raise PandapowerOptionError(
                "kw_per_lv_customer", "kw_per_lv_customer must be greater than 0"
            )


@dataclass(frozen=True, slots=True)
class ImportNote:
    """Something of the pandapower net that was not carried over as it was."""

    element: str  # "load:4", or a table name for the whole table
    message: str

    def __str__(self) -> str:
        return f"{self.element}: {self.message}"


@dataclass(slots=True)
class PandapowerRawNetwork(RawNetwork):
    """The imported tables, with what was left out or changed on the way in ``notes``."""

    notes: tuple[ImportNote, ...] = ()


def raw_from_pandapower(
    net: Any, *, name: str | None = None, options: PandapowerImportOptions | None = None
) -> PandapowerRawNetwork:
    """Map a pandapower net to the native tables (see the module docstring).

    O(n) in the elements of the net. Nothing is checked beyond what the mapping needs: a
    reference to a missing bus is passed on for the parser to name.
    """
    net_name = name or text(getattr(net, "name", None))
    source = f"pandapower net {net_name}" if net_name else "pandapower net"
    return _import(net, net_name or "pandapower net", source, options)


def read_pandapower_json(
    path: Path,
    *,
    name: str | None = None,
    options: PandapowerImportOptions | None = None,
    encoding: str | None = None,
) -> PandapowerRawNetwork:
    """Read a file written by ``pandapower.to_json``; map it as :func:`raw_from_pandapower`.

    The file is read as text in ``encoding`` (default UTF-8 or GBK / GB18030, detected: see
    :mod:`.textfile`)."""
    try:
        import pandapower  # noqa: PLC0415  # optional extra, imported only when it is used
    except ImportError as exc:
        raise PandapowerNotInstalledError from exc
    if not path.is_file():
        raise PandapowerFormatError(path, "no such file")
    content = read_text(path, encoding)
    try:
        net = pandapower.from_json(io.StringIO(content))
    # pandapower raises UserWarning for a file that is not JSON, AttributeError for JSON
    # that is not a net, RecursionError for JSON nested too deeply.
    except RecursionError as exc:
        raise PandapowerFormatError(path, json_problem(exc)) from exc
    except (ValueError, KeyError, TypeError, AttributeError, UserWarning) as exc:
        raise PandapowerFormatError(path, str(exc)) from exc
    net_name = name or text(getattr(net, "name", None)) or path.stem
    return _import(net, net_name, str(path), options)


def _import(
    net: Any, name: str, source: str, options: PandapowerImportOptions | None
) -> PandapowerRawNetwork:
    """Map ``net`` (see :mod:`._pandapower_mapping`); wrap its tables and notes."""
    settings = options or PandapowerImportOptions()
    raw, notes = map_net(
        net,
        name=name,
        source=source,
        kw_per_lv_customer=settings.kw_per_lv_customer,
        keep_coordinates=settings.keep_coordinates,
    )
    return PandapowerRawNetwork(
        name=raw.name,
        tables=raw.tables,
        notes=tuple(ImportNote(element, message) for element, message in notes),
    )
