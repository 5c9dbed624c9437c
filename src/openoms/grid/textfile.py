"""Text files as utilities' systems write them: UTF-8 (with or without a BOM) or GBK / GB18030.

Chinese GIS, billing and marketing systems export CSV in GBK (GB18030 is its superset), newer
ones in UTF-8, often with a BOM (Excel's "CSV UTF-8"). A file is read in the encoding given
(``--encoding``), or else in the one detected: strict UTF-8 first, then GB18030, each checked
over the whole file before a line is parsed. Nothing is ever decoded with replacement
characters, and a UTF-8 file damaged after some non-ASCII text is refused rather than read as
GB18030 (which would turn every Chinese name of it into mojibake).

What is not text is refused with one line naming the file (and the line, where known): a
folder, a file that cannot be read, a binary file (NUL bytes), UTF-16 text, bytes that are
neither UTF-8 nor GB18030. :func:`csv_problem` says the same of a :mod:`csv` error (a field
past the size limit or an unterminated quote), and :func:`json_problem` of a JSON document
that cannot be parsed (nested too deeply).

Reading a file is the only I/O here; see :mod:`.native` for the network files that use it.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import BinaryIO, Final, TextIO

from openoms.errors import InputError

__all__ = [
    "AUTO_ENCODINGS",
    "TextFileError",
    "check_encoding",
    "csv_problem",
    "json_problem",
    "open_text",
    "read_text",
    "text_encoding",
]

AUTO_ENCODINGS: Final = ("utf-8-sig", "gb18030")
"""Tried in this order when no encoding is given."""

_CHUNK: Final = 1 << 20
_UTF8_EVIDENCE: Final = 8
"""Bytes of multi-byte UTF-8 before the first bad byte that make a file damaged UTF-8 rather
than GBK (about 3 Chinese characters; a GBK file passes that many as UTF-8 about once in
several thousand)."""
_BOMS_UTF16: Final = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class TextFileError(InputError):
    """A file that cannot be read as text; the message is one line naming the file."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None) -> None:
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.reason = message


def check_encoding(name: str) -> str:
    """The codec to read text in ``name`` (``gbk``, ``gb18030``, ``utf-8``, …) with; a UTF-8
    BOM is skipped. :class:`~openoms.errors.InputError` for an unknown or non-text codec."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise InputError(f"unknown encoding {name!r} (for example utf-8, gbk or gb18030)") from None
    if not getattr(info, "_is_text_encoding", True):
        raise InputError(f"{name!r} is not a text encoding (for example utf-8, gbk or gb18030)")
    return "utf-8-sig" if info.name == "utf-8" else info.name


@dataclass(frozen=True, slots=True)
class _Bad:
    """Why and where a file did not decode."""

    reason: str
    line: int
    nul: bool = False
    utf8_bytes: int = 0  # bytes of multi-byte UTF-8 characters decoded before it


_NUL_REASON: Final = "not a text file: it holds NUL bytes (binary data, or UTF-16 text)"


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def _scan(stream: BinaryIO, codec: str, *, raw_nul: bool) -> _Bad | None:
    """The first problem of decoding ``stream`` with ``codec``, or ``None``. ``raw_nul``:
    look for NUL bytes before decoding (for ASCII-compatible codecs, where a NUL byte is a
    NUL character, so that a binary file is called binary)."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    lines = 1
    multibyte = 0
    for chunk in chain(_chunks(stream), [b""]):
        final = not chunk
        if raw_nul and b"\x00" in chunk:
            return _Bad(_NUL_REASON, lines + chunk.count(b"\n", 0, chunk.index(b"\x00")), True)
        try:
            text = decoder.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            data = bytes(exc.object)
            before = data[: exc.start]
            shown = data[exc.start : min(exc.end, exc.start + 4)].hex(" ")
            return _Bad(
                f"byte {shown or 'end of file'}: {exc.reason}",
                lines + before.count(b"\n"),
                utf8_bytes=multibyte + len(before) - len(before.decode("utf-8", "ignore")),
            )
        if "\x00" in text:
            return _Bad(_NUL_REASON, lines + text.count("\n", 0, text.index("\x00")), True)
        lines += chunk.count(b"\n")
        multibyte += len(chunk) - len(text)
    return None


@contextmanager
def _binary(path: Path) -> Iterator[BinaryIO]:
    if path.is_dir():
        raise TextFileError(path, "is a folder; expected a file")
    if path.exists() and not path.is_file():
        raise TextFileError(path, "is not a regular file (a pipe or a device); expected a file")
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise TextFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    with stream:
        try:
            yield stream
        except OSError as exc:
            raise TextFileError(path, f"cannot read: {exc.strerror or exc}") from exc


def text_encoding(path: Path, encoding: str | None = None) -> str:
    """The codec to read ``path`` with: ``encoding`` if given, else UTF-8 or GB18030,
    whichever decodes the whole file (see the module docstring). Raises
    :class:`TextFileError` when the file is not text in it. O(file size) per codec tried."""
    if encoding is not None:
        codec = check_encoding(encoding)
        with _binary(path) as stream:
            bad = _scan(stream, codec, raw_nul=False)
        if bad is not None:
            reason = bad.reason if bad.nul else f"not {encoding} text ({bad.reason})"
            raise TextFileError(path, reason, line=bad.line)
        return codec
    with _binary(path) as stream:
        if stream.read(2) in _BOMS_UTF16:
            raise TextFileError(path, "UTF-16 text; save it as UTF-8 (or GBK) and try again")
        stream.seek(0)
        utf8 = _scan(stream, AUTO_ENCODINGS[0], raw_nul=True)
        if utf8 is None:
            return AUTO_ENCODINGS[0]
        if utf8.nul:
            raise TextFileError(path, utf8.reason, line=utf8.line)
        if utf8.utf8_bytes >= _UTF8_EVIDENCE:
            raise TextFileError(
                path,
                f"not valid UTF-8 ({utf8.reason}) after UTF-8 text; repair the file, or give "
                "its encoding if it is not UTF-8",
                line=utf8.line,
            )
        stream.seek(0)
        gb = _scan(stream, AUTO_ENCODINGS[1], raw_nul=True)
    if gb is None:
        return AUTO_ENCODINGS[1]
    if gb.nul:
        raise TextFileError(path, gb.reason, line=gb.line)
    further = gb if gb.line > utf8.line else utf8  # the more telling of the two
    raise TextFileError(
        path, f"not text in UTF-8 or GBK / GB18030 ({further.reason})", line=further.line
    )


@contextmanager
def open_text(path: Path, encoding: str | None = None) -> Iterator[TextIO]:
    """``path`` opened for reading text (for :mod:`csv`: ``newline=""``) in its encoding
    (:func:`text_encoding`), past any byte order mark. The bytes were checked: reading them
    raises no decoding error."""
    codec = text_encoding(path, encoding)
    try:
        handle = path.open(encoding=codec, newline="")
    except OSError as exc:
        raise TextFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    with handle:
        if handle.read(1) != "\ufeff":
            handle.seek(0)
        yield handle


def read_text(path: Path, encoding: str | None = None) -> str:
    """The whole text of ``path`` in its encoding (:func:`text_encoding`), without a BOM."""
    with open_text(path, encoding) as handle:
        return handle.read()


def csv_problem(exc: csv.Error) -> str:
    """What a :mod:`csv` error means, in words (one line)."""
    message = str(exc)
    if "field larger than field limit" in message:
        return f"a field longer than {csv.field_size_limit():,} characters (an unterminated quote?)"
    if "unexpected end of data" in message:
        return "the file ends inside a quoted field (an unterminated quote)"
    if "expected after" in message:
        return f"not valid CSV: {message} (a quote inside a quoted field is written twice)"
    return f"not valid CSV: {message}"


def json_problem(exc: ValueError | RecursionError) -> str:
    """What a failure of :func:`json.loads` means, in words (one line)."""
    if isinstance(exc, RecursionError):
        return "not valid JSON: nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    return f"not valid JSON: {exc}"
