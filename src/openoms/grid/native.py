"""Reading and writing the native format: a folder of CSV files, or one JSON document.

This module turns the files into :class:`~.records.RawNetwork` and back, and leaves every
check to :mod:`.parse` and :mod:`.validate`. See ``docs/formats.md`` for the format itself.
Files are read as text in UTF-8 (with or without a BOM) or GBK / GB18030, detected or given
(:mod:`.textfile`); a file that is not such text, or not CSV or JSON at all, is a
:class:`NativeFormatError` of one line naming the file (and line).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from openoms.errors import InputError
from openoms.grid.records import Location, RawNetwork, RawTable
from openoms.grid.schema import FORMAT_NAME, FORMAT_VERSION, TABLES, TABLES_BY_NAME
from openoms.grid.textfile import csv_problem, json_problem, open_text, read_text

__all__ = [
    "read_csv_folder",
    "read_json_document",
    "read_native",
    "write_csv_folder",
    "write_json_document",
]


class NativeFormatError(InputError):
    """A file that is not in the native format at all (not a row or field problem)."""


def read_native(path: Path, *, encoding: str | None = None) -> RawNetwork:
    """Read a folder of CSV files or a JSON document, whichever ``path`` is; ``encoding`` of
    the files (default: detected, see :mod:`.textfile`)."""
    if path.is_dir():
        return read_csv_folder(path, encoding=encoding)
    if path.suffix.lower() == ".json":
        return read_json_document(path, encoding=encoding)
    raise NativeFormatError(f"{path}: expected a folder of CSV files or a .json document")


def read_csv_folder(folder: Path, *, encoding: str | None = None) -> RawNetwork:
    """Read ``<table>.csv`` files of ``folder``; missing optional tables are empty.

    Empty cells become ``None``. Unknown files are ignored, unknown columns are kept so that
    the parser can name them. ``encoding`` of the files: default detected (:mod:`.textfile`).
    A folder with none of the table files is a :class:`NativeFormatError`.
    """
    raw = RawNetwork(name=folder.name)
    if not any((folder / spec.file_name).exists() for spec in TABLES):
        raise NativeFormatError(
            f"{folder}: no network CSV files in this folder "
            f"({', '.join(spec.file_name for spec in TABLES if spec.required)}, …)"
        )
    for spec in TABLES:
        path = folder / spec.file_name
        table = raw.table(spec.name)
        if not path.exists():
            continue
        _read_csv_table(path, table, encoding)
    return raw


def _read_csv_table(path: Path, table: RawTable, encoding: str | None) -> None:
    line = 1  # where the row being read starts: the header first
    try:
        with open_text(path, encoding) as handle:
            reader = csv.DictReader(handle, strict=True)
            if reader.fieldnames is None:  # an empty file: no rows
                return
            line = reader.line_num + 1
            for row in reader:
                # DictReader puts surplus cells under the key None.
                extra = row.pop(None, None)  # type: ignore[call-overload,unused-ignore]  # restkey
                values: dict[str, Any] = {
                    key.strip(): (value.strip() if value and value.strip() else None)
                    for key, value in row.items()
                }
                if extra:
                    values["<extra cells>"] = ",".join(str(e) for e in extra)
                table.append(values, Location(str(path), row=reader.line_num))
                line = reader.line_num + 1
    except csv.Error as exc:
        raise NativeFormatError(f"{path}, line {line}: {csv_problem(exc)}") from exc


def read_json_document(path: Path, *, encoding: str | None = None) -> RawNetwork:
    """Read the one-document form; each array item is located by its index."""
    text = read_text(path, encoding)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise NativeFormatError(f"{path}: {json_problem(exc)}") from exc
    if not isinstance(document, dict):
        raise NativeFormatError(f"{path}: the document must be a JSON object")
    if document.get("format") != FORMAT_NAME:
        raise NativeFormatError(f"{path}: field 'format' must be {FORMAT_NAME!r}")
    if document.get("format_version") != FORMAT_VERSION:
        raise NativeFormatError(f"{path}: field 'format_version' must be {FORMAT_VERSION}")
    raw = RawNetwork(name=str(document.get("name") or path.stem))
    unknown = set(document) - {"format", "format_version", "name"} - set(TABLES_BY_NAME)
    if unknown:
        raise NativeFormatError(f"{path}: unknown top-level fields {sorted(unknown)}")
    for spec in TABLES:
        table = raw.table(spec.name)
        items = document.get(spec.name, [])
        if not isinstance(items, list):
            raise NativeFormatError(f"{path}: field {spec.name!r} must be an array")
        for index, item in enumerate(items):
            location = Location(f"{path}#/{spec.name}", row=index)
            if not isinstance(item, dict):
                table.append({"<not an object>": item}, location)
            else:
                table.append(dict(item), location)
    return raw


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e15 else str(int(value))
    return str(value)


def write_csv_folder(raw: RawNetwork, folder: Path) -> None:
    """Write every table of ``raw`` as ``<table>.csv`` in ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for spec in TABLES:
        names = [f.name for f in spec.fields]
        rows = raw.tables[spec.name].rows if spec.name in raw.tables else []
        with (folder / spec.file_name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(names)
            for row in rows:
                writer.writerow([_cell(row.get(n)) for n in names])


def write_json_document(raw: RawNetwork, path: Path) -> None:
    """Write ``raw`` as one JSON document; empty fields are left out."""
    document: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "name": raw.name,
    }
    for spec in TABLES:
        rows = raw.tables[spec.name].rows if spec.name in raw.tables else []
        document[spec.name] = [{k: v for k, v in row.items() if v is not None} for row in rows]
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
