"""Reading text files as utilities' systems write them (:mod:`openoms.grid.textfile`).

UTF-8 with or without a BOM and GBK / GB18030 are detected and read; nothing is decoded with
replacement characters; binary data, UTF-16, folders and damaged UTF-8 are one-line errors
naming the file and line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from openoms.errors import InputError
from openoms.grid.native import NativeFormatError, read_csv_folder
from openoms.grid.textfile import (
    TextFileError,
    check_encoding,
    csv_problem,
    read_text,
    text_encoding,
)

TEXT = "id,village\nTA1,王庄村\nTA2,李村\n"


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [
        ("utf-8", "utf-8-sig"),
        ("utf-8-sig", "utf-8-sig"),
        ("gbk", "gb18030"),
        ("gb18030", "gb18030"),
    ],
)
def test_utf8_and_gbk_are_detected_and_read(tmp_path: Path, encoding: str, detected: str) -> None:
    text = TEXT + ("TA3,𠮷村\n" if encoding != "gbk" else "")
    path = tmp_path / "a.csv"
    path.write_bytes(text.encode(encoding))
    assert text_encoding(path) == detected
    assert read_text(path) == text  # no BOM, nothing replaced


def test_a_given_encoding_is_used_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(TEXT.encode("gbk"))
    assert read_text(path, "gbk") == TEXT
    with pytest.raises(TextFileError, match=r"a\.csv, line 2: not utf-8 text \(byte"):
        read_text(path, "utf-8")
    with pytest.raises(InputError, match="unknown encoding 'nope'"):
        check_encoding("nope")
    with pytest.raises(InputError, match="not a text encoding"):
        check_encoding("base64")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (TEXT.encode("utf-16"), "UTF-16 text"),
        (TEXT.encode("utf-16-le"), "line 1: not a text file: it holds NUL bytes"),
        (b"id\n" + bytes(range(256)), "line 2: not a text file: it holds NUL bytes"),
        (b"id\n\x80\xff\xfe\xff\n", "line 2: not text in UTF-8 or GBK / GB18030"),
        (TEXT.encode() + "TA3,张营\n".encode()[:-2] + b"\n", "line 4: not valid UTF-8"),
    ],
)
def test_what_is_not_such_text_is_one_line(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    with pytest.raises(TextFileError) as caught:
        read_text(path)
    assert str(caught.value).startswith(str(path))
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_folder_where_a_file_belongs(tmp_path: Path) -> None:
    with pytest.raises(TextFileError, match="is a folder; expected a file"):
        read_text(tmp_path)


def test_csv_problems_in_words() -> None:
    reader = csv.reader(io.StringIO('a,b\n"x' + "y" * 200_000), strict=True)
    with pytest.raises(csv.Error) as caught:
        list(reader)
    assert "a field longer than 131,072 characters" in csv_problem(caught.value)
    reader = csv.reader(io.StringIO('a,b\n"x,y\n'), strict=True)
    with pytest.raises(csv.Error) as caught:
        list(reader)
    assert "unterminated quote" in csv_problem(caught.value)


def test_a_network_folder_names_the_file_and_line_of_a_csv_problem(tmp_path: Path) -> None:
    (tmp_path / "nodes.csv").write_text('id,kind\nA0,busbar\n"A1,pole\n', encoding="utf-8")
    with pytest.raises(NativeFormatError, match=r"nodes\.csv, line 3: the file ends inside"):
        read_csv_folder(tmp_path)
    (tmp_path / "nodes.csv").unlink()
    (tmp_path / "notes.txt").write_text("not a network", encoding="utf-8")
    with pytest.raises(NativeFormatError, match="no network CSV files in this folder"):
        read_csv_folder(tmp_path)
