"""Checked, compiled snapshots of networks: read, parse and validate a network once per content.

Reading a network is most of the time of a command: a 100k-node CSV folder takes seconds to
read, parse, validate and build, for a query of a millisecond. A snapshot is the built
:class:`~.model.Network` saved as arrays, with the topology index of its present switch states
(:meth:`.topology.Topology.state_arrays`), keyed by the content of its source, so that the next
command on the same files loads both in milliseconds instead, without validating again and
without loading numba until an operation needs a kernel.

Key. The SHA-256 of: the snapshot format version (:data:`SNAPSHOT_VERSION`), a fingerprint of
the code that builds a network (the modules of this package), whether the source is a folder
or a file and its name (the network's default name comes from it), and the name, size and
content of every file the readers read (the table CSV files of a folder, or the one JSON
file). Change a file, the code or the format and the key changes: the network is read again.

File. ``<folder>/<source tag>-<key>.npz`` where the tag is a hash of the source's absolute
path (a newer snapshot of the same source replaces the older one). It is an uncompressed
numpy ``.npz`` read with ``allow_pickle=False``: numeric columns as they are; text columns as
UTF-8 bytes joined by NUL with a mask where a value is empty (``None``), or, where few values
repeat (kinds, villages), those values and an int32 code per row; the permutation that sorts
every id (:class:`SortedIds`: looked up by binary search, no dict to fill at load); the
topology index's arrays; and a JSON header (entry ``header``) with the format, the key, the
columns and a SHA-256 checksum of every array. It is written to a temporary file in the
same folder and moved into place with :func:`os.replace`, so that readers see the old file or
the new one, never half of one, and two processes writing at once leave one whole copy.
Anything that does not match (a bad zip, a wrong key or version, a column the model does not
have, a checksum mismatch) is never trusted: :meth:`SnapshotStore.load` answers ``None`` and
the caller reads the source again.

Only networks without errors are saved; a network with errors is read and reported every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final, get_type_hints

import numpy as np
from numpy.typing import NDArray

from openoms.errors import OpenOMSError
from openoms.grid.model import ElementKind, Network
from openoms.grid.schema import TABLES
from openoms.grid.topology import Topology, TopologyError

__all__ = [
    "SNAPSHOT_VERSION",
    "Snapshot",
    "SnapshotError",
    "SnapshotStore",
    "SortedIds",
    "indexed",
    "load_snapshot",
    "network_tables",
    "save_snapshot",
    "source_key",
]

SNAPSHOT_VERSION: Final = 1
"""Moves whenever the layout of the file changes; older snapshots are then rebuilt."""

_FORMAT: Final = "openoms-network-snapshot"
_HEADER: Final = "header"
_TOPOLOGY: Final = "topology."  # prefix of the topology index's arrays
_ID_ORDER: Final = "ids.order"  # the ids of every table, concatenated, sorted by this
_NONE: Final = "#none"  # suffix of a text column's mask of empty values
_CATEGORIES: Final = "#categories"  # suffix of the distinct values of a coded text column
_SEP: Final = "\x00"


class SnapshotError(OpenOMSError):
    """A snapshot that cannot be trusted: corrupted, truncated, stale or of another format."""


@dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """A checked network, and the topology index of its present switch states when saved."""

    network: Network
    topology: Topology | None = None


def indexed(network: Network) -> Snapshot:
    """``network`` with the topology index of its present switch states, as it is saved."""
    try:
        topology = Topology.build(network.graph_arrays(), network.closed_edges())
    except TopologyError:  # pragma: no cover - a checked network always has one
        return Snapshot(network)
    return Snapshot(network, topology)


# -- the key --------------------------------------------------------------------------------


def _code_fingerprint() -> bytes:
    """The modules that turn files into a network: a change to any of them (a new check, a
    new column) must not be answered from a snapshot built by the old code."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for module in sorted(here.glob("*.py")):
        digest.update(module.name.encode())
        try:
            digest.update(module.read_bytes())
        except OSError:  # pragma: no cover - an unreadable installed module
            digest.update(b"?")
    return digest.digest()


def source_files(source: Path) -> list[Path]:
    """The files the readers take a network from: the table files of a folder (those that
    exist), or the file itself."""
    if source.is_dir():
        return [source / spec.file_name for spec in TABLES if (source / spec.file_name).is_file()]
    return [source]


def source_key(source: Path, encoding: str | None = None) -> str:
    """The content key of the network at ``source`` read as ``encoding`` (``None``: detected;
    the same bytes read in another encoding are another network); see the module doc.
    Raises :class:`OSError` when a file cannot be read."""
    from openoms import __version__  # noqa: PLC0415  (the package, not a layer)

    digest = hashlib.sha256()
    digest.update(f"{_FORMAT} {SNAPSHOT_VERSION} {__version__}\n".encode())
    digest.update(_code_fingerprint())
    kind = "folder" if source.is_dir() else "file"
    digest.update(f"{kind} {source.name}\n".encode())
    if encoding is not None:
        digest.update(f"encoding {encoding.lower()}\n".encode())
    for path in source_files(source):
        with path.open("rb") as handle:
            content = hashlib.file_digest(handle, "sha256").digest()
        digest.update(f"{path.name} {path.stat().st_size}\n".encode())
        digest.update(content)
    return digest.hexdigest()


# -- arrays <-> network ----------------------------------------------------------------------


def network_tables() -> tuple[str, ...]:
    """The table attributes of :class:`Network`, in declaration order."""
    skip = {"name", "_ids"}
    return tuple(f.name for f in fields(Network) if f.name not in skip)


def _columns(network: Network) -> Iterator[tuple[str, str, Any]]:
    """(table, column, value) for every column of every table of ``network``."""
    for table in network_tables():
        value = getattr(network, table)
        for column in fields(value):
            yield table, column.name, getattr(value, column.name)


def _text_column(key: str, values: tuple[str | None, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A text column's arrays and its spec for the header: the values themselves (see
    :func:`_text_arrays`), or, when few distinct values repeat (kinds, villages), those values
    and an int32 code per row, which load without making a string per row."""
    distinct = dict.fromkeys(values)
    if len(distinct) * 4 > len(values):
        return _text_arrays(key, values), {"kind": "text", "n": len(values)}
    categories = tuple(distinct)
    code = {value: i for i, value in enumerate(categories)}
    arrays = _text_arrays(key + _CATEGORIES, categories)
    arrays[key] = np.fromiter(map(code.__getitem__, values), dtype=np.int32, count=len(values))
    return arrays, {"kind": "categories", "n": len(values), "categories": len(categories)}


def _text_arrays(key: str, values: tuple[str | None, ...]) -> dict[str, NDArray[Any]]:
    """Texts as UTF-8 bytes joined by NUL, and a mask of the ``None`` values."""
    none = np.fromiter((v is None for v in values), dtype=np.bool_, count=len(values))
    texts = ["" if v is None else v for v in values]
    joined = _SEP.join(texts)
    if joined.count(_SEP) != max(len(texts) - 1, 0):
        raise SnapshotError(f"{key}: a value holds a NUL character")
    arrays: dict[str, NDArray[Any]] = {key: np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)}
    if none.any():
        arrays[key + _NONE] = none
    return arrays


def _texts(data: NDArray[Any], none: NDArray[np.bool_] | None, n: int) -> tuple[str | None, ...]:
    if n == 0:
        return ()
    values: list[str | None] = list(data.tobytes().decode("utf-8").split(_SEP))
    if len(values) != n:
        raise SnapshotError(f"a text column has {len(values)} values instead of {n}")
    if none is not None:
        for i in np.flatnonzero(none).tolist():
            values[i] = None
    return tuple(values)


def _checksum(arrays: dict[str, NDArray[Any]]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name} {array.dtype.str} {array.shape}\n".encode())
        if array.size:
            digest.update(array.data.cast("B"))
    return digest.hexdigest()


class SortedIds(Mapping[str, tuple[ElementKind, int]]):
    """The ids of a loaded network → (table, row), by binary search in the ids sorted when
    the snapshot was saved: loading builds no hash table (a dict of the 300,000 ids of a
    100k-node network takes a tenth of a second to fill, of a million nodes over a second),
    and a lookup costs a microsecond."""

    __slots__ = ("_keys", "_kinds", "_rows")

    def __init__(self, keys: list[str], kinds: NDArray[np.int8], rows: NDArray[np.int32]) -> None:
        self._keys = keys
        self._kinds = kinds
        self._rows = rows

    @classmethod
    def of(cls, tables: dict[str, Any], order: NDArray[Any]) -> SortedIds:
        """The index of ``tables`` (by :class:`ElementKind` order), ``order`` sorting their
        ids concatenated (saved with the snapshot)."""
        every: list[str] = []
        sizes = []
        for kind in ElementKind:
            every += tables[kind.value].id
            sizes.append(len(tables[kind.value].id))
        if order.shape != (len(every),):
            raise SnapshotError(f"the id index has {order.size} entries for {len(every)} ids")
        position = order.astype(np.intp, copy=False)
        kinds = np.repeat(np.arange(len(sizes), dtype=np.int8), sizes)[position]
        rows = np.concatenate([np.arange(n, dtype=np.int32) for n in sizes])[position]
        return cls(list(map(every.__getitem__, position.tolist())), kinds, rows)

    @staticmethod
    def order_of(network: Network) -> NDArray[np.int32]:
        """What :meth:`of` needs: the sorting permutation of the ids, by kind then row."""
        every = [i for kind in ElementKind for i in getattr(network, kind.value).id]
        return np.asarray(sorted(range(len(every)), key=every.__getitem__), dtype=np.int32)

    def _find(self, key: object) -> int:
        if not isinstance(key, str):
            return -1
        i = bisect_left(self._keys, key)
        return i if i < len(self._keys) and self._keys[i] == key else -1

    def __getitem__(self, key: str) -> tuple[ElementKind, int]:
        i = self._find(key)
        if i < 0:
            raise KeyError(key)
        return _KINDS[self._kinds[i]], int(self._rows[i])

    def __contains__(self, key: object) -> bool:
        return self._find(key) >= 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


_KINDS: Final = tuple(ElementKind)


def _encode(snapshot: Snapshot, key: str) -> dict[str, NDArray[Any]]:
    network = snapshot.network
    arrays: dict[str, NDArray[Any]] = {_ID_ORDER: SortedIds.order_of(network)}
    columns: dict[str, dict[str, Any]] = {}
    for table, column, value in _columns(network):
        name = f"{table}.{column}"
        if isinstance(value, np.ndarray):
            arrays[name] = np.ascontiguousarray(value)
            columns[name] = {"kind": "array"}
        elif isinstance(value, tuple):
            text_arrays, columns[name] = _text_column(name, value)
            arrays.update(text_arrays)
        else:  # pragma: no cover - a model column of a new kind: bump SNAPSHOT_VERSION
            raise SnapshotError(f"{name}: cannot save a {type(value).__name__}")
    if snapshot.topology is not None:
        for name, array in snapshot.topology.state_arrays().items():
            arrays[_TOPOLOGY + name] = np.ascontiguousarray(array)
    header = {
        "format": _FORMAT,
        "version": SNAPSHOT_VERSION,
        "key": key,
        "name": network.name,
        "columns": columns,
        "topology": snapshot.topology is not None,
        "checksum": _checksum(arrays),
    }
    arrays[_HEADER] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    return arrays


def _decode(arrays: dict[str, NDArray[Any]], key: str) -> Snapshot:
    try:
        header = json.loads(arrays.pop(_HEADER).tobytes().decode("utf-8"))
    except (KeyError, ValueError) as exc:
        raise SnapshotError(f"no readable header: {exc}") from exc
    if header.get("format") != _FORMAT or header.get("version") != SNAPSHOT_VERSION:
        raise SnapshotError(f"format {header.get('format')} {header.get('version')}")
    if header.get("key") != key:
        raise SnapshotError("the snapshot is of other source files")
    if header.get("checksum") != _checksum(arrays):
        raise SnapshotError("checksum mismatch: the file is corrupted")
    columns: dict[str, dict[str, Any]] = header["columns"]
    tables: dict[str, Any] = {}
    expected: set[str] = set()
    for table in network_tables():
        table_cls = _TABLE_CLASSES[table]
        values: dict[str, Any] = {}
        for column in fields(table_cls):
            name = f"{table}.{column.name}"
            expected.add(name)
            spec = columns.get(name)
            if spec is None or name not in arrays:
                raise SnapshotError(f"the snapshot has no column {name}")
            if spec["kind"] == "array":
                values[column.name] = arrays[name]
            elif spec["kind"] == "categories":
                key = name + _CATEGORIES
                categories = _texts(arrays[key], arrays.get(key + _NONE), spec["categories"])
                codes = arrays[name]
                if codes.shape != (spec["n"],) or (codes.size and codes.max() >= len(categories)):
                    raise SnapshotError(f"{name}: codes do not fit {len(categories)} values")
                values[column.name] = tuple(map(categories.__getitem__, codes.tolist()))
            else:
                values[column.name] = _texts(arrays[name], arrays.get(name + _NONE), spec["n"])
        tables[table] = table_cls(**values)
    if set(columns) != expected:  # (the topology's arrays are not columns)
        raise SnapshotError(f"columns the model does not have: {sorted(set(columns) - expected)}")
    order = arrays.get(_ID_ORDER)
    if order is None:
        raise SnapshotError("the snapshot has no id index")
    network = Network(name=str(header["name"]), _ids=SortedIds.of(tables, order), **tables)
    if not header.get("topology"):
        return Snapshot(network)
    saved = {k[len(_TOPOLOGY) :]: v for k, v in arrays.items() if k.startswith(_TOPOLOGY)}
    try:
        topology = Topology.restore(network.graph_arrays(), saved)
    except TopologyError as exc:
        raise SnapshotError(f"the saved topology index does not fit: {exc}") from exc
    return Snapshot(network, topology)


_TABLE_CLASSES: Final[dict[str, Any]] = {
    table: hint for table, hint in get_type_hints(Network).items() if table in network_tables()
}


# -- files ------------------------------------------------------------------------------------


def save_snapshot(snapshot: Snapshot, target: Path, *, key: str) -> None:
    """Write ``snapshot`` to ``target`` atomically (temporary file, then :func:`os.replace`)."""
    arrays = _encode(snapshot, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.stem}-", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, allow_pickle=False, **arrays)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_snapshot(target: Path, *, key: str) -> Snapshot:
    """The snapshot saved at ``target`` for ``key``; :class:`SnapshotError` if it cannot be
    trusted (and :class:`FileNotFoundError` if there is none)."""
    try:
        with target.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise SnapshotError(f"{target}: not a readable snapshot: {exc}") from exc
    try:
        return _decode(arrays, key)
    except (SnapshotError, TypeError, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{target}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class SnapshotStore:
    """The snapshots in a folder (the CLI's is ``<data_dir>/snapshots``), one per source."""

    folder: Path

    @staticmethod
    def _tag(source: Path) -> str:
        return hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]

    def path(self, source: Path, key: str) -> Path:
        """Where the snapshot of ``source`` with content key ``key`` is kept."""
        return self.folder / f"{self._tag(source)}-{key[:32]}.npz"

    def load(self, source: Path, encoding: str | None = None) -> tuple[Snapshot | None, str]:
        """The saved snapshot of ``source`` read as ``encoding`` and the key of its files now;
        ``None`` when there is none that can be trusted (an untrustworthy file is removed), and
        an empty key when a file cannot be read (the reader then says which and why)."""
        try:
            key = source_key(source, encoding)
        except OSError:
            return None, ""
        target = self.path(source, key)
        try:
            return load_snapshot(target, key=key), key
        except FileNotFoundError:
            return None, key
        except (SnapshotError, OSError):
            with contextlib.suppress(OSError):
                target.unlink(missing_ok=True)
            return None, key

    def save(
        self, source: Path, snapshot: Snapshot, key: str, encoding: str | None = None
    ) -> Path | None:
        """Save ``snapshot``, built from ``source`` read as ``encoding`` when its key was
        ``key``, and remove the older snapshots of ``source``. Nothing when the files changed
        meanwhile (the key is computed again) or the folder cannot be written: a snapshot
        only saves time."""
        try:
            if not key or source_key(source, encoding) != key:
                return None
            target = self.path(source, key)
            save_snapshot(snapshot, target, key=key)
            for old in self.folder.glob(f"{self._tag(source)}-*.npz"):
                if old != target:
                    old.unlink(missing_ok=True)
        except (OSError, SnapshotError):
            return None
        return target
