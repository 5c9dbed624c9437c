"""The shipped JSON Schema and docs/formats.md agree with the declarations in schema.py."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import jsonschema

from openoms.grid.native import write_json_document
from openoms.grid.schema import TABLES
from openoms.grid.schema_docs import BEGIN, END, field_tables_markdown, schema_text
from tests.grid.small import small_raw

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_schema_is_up_to_date() -> None:
    shipped = files("openoms.grid").joinpath("network.schema.json").read_text(encoding="utf-8")
    assert shipped == schema_text(), "run: python -m openoms.grid.schema_docs"


def test_formats_doc_lists_every_field() -> None:
    doc = (ROOT / "docs/formats.md").read_text(encoding="utf-8")
    generated = doc.split(BEGIN)[1].split(END)[0].strip()
    assert generated == field_tables_markdown().strip(), "run: python -m openoms.grid.schema_docs"
    for table in TABLES:
        for field in table.fields:
            assert f"| `{field.name}` |" in generated


def test_written_json_documents_follow_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "small.json"
    write_json_document(small_raw(), path)
    schema = json.loads(schema_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), schema)


def test_schema_rejects_a_bad_document(tmp_path: Path) -> None:
    path = tmp_path / "small.json"
    write_json_document(small_raw(), path)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["sections"][0]["length_km"] = "long"
    errors = list(jsonschema.Draft202012Validator(json.loads(schema_text())).iter_errors(document))
    assert [list(e.absolute_path) for e in errors] == [["sections", 0, "length_km"]]
