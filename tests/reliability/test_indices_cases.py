"""The reliability engine on the hand-calculated cases in ``tests/cases/reliability/<case>/``.

Each case folder holds ``base.csv``, ``interruptions.csv`` (and optionally ``avoided.csv``),
``case.json`` (the period and one or more runs: settings, breakdown, T_MED) and
``expected.json`` (per run, the values the README works out by hand; a subset of
``ReliabilityResult.as_dict()``, breakdown rows keyed by their labels joined with ``/``).
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openoms.reliability.data import (
    Avoided,
    CustomerBase,
    Interruptions,
    OutageClass,
    RestoredBy,
)
from openoms.reliability.indices import Settings, compute

CASES = Path(__file__).resolve().parents[1] / "cases" / "reliability"


def _seconds(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def _ids(values: list[str]) -> tuple[tuple[str, ...], list[int]]:
    names = tuple(dict.fromkeys(v for v in values if v))
    return names, [names.index(v) if v else -1 for v in values]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_case(folder: Path) -> tuple[CustomerBase, Interruptions, Avoided | None]:
    units = _read(folder / "base.csv")
    feeder_ids, feeder = _ids([u["feeder"] for u in units])
    substation_ids, substation = _ids([u["substation"] for u in units])
    cell_ids, cell = _ids([u["grid_cell"] for u in units])
    village_names, village = _ids([u["village"] for u in units])
    base = CustomerBase(
        unit_id=tuple(u["unit_id"] for u in units),
        is_hv=np.array([u["is_hv"] == "true" for u in units]),
        customers=np.array([int(u["customers"]) for u in units], dtype=np.int64),
        load_kva=np.array([float(u["load_kva"]) for u in units]),
        feeder=np.array(feeder, dtype=np.int64),
        feeder_ids=feeder_ids,
        substation=np.array(substation, dtype=np.int64),
        substation_ids=substation_ids,
        grid_cell=np.array(cell, dtype=np.int64),
        grid_cell_ids=cell_ids,
        village=np.array(village, dtype=np.int64),
        village_names=village_names,
    )
    rows = _read(folder / "interruptions.csv")
    event_ids, event = _ids([r["event_id"] for r in rows])
    cause_names, cause = _ids([r["cause"] for r in rows])
    interruptions = Interruptions(
        event=np.array(event, dtype=np.int64),
        event_ids=event_ids,
        unit=np.array([base.unit_id.index(r["unit_id"]) for r in rows], dtype=np.int64),
        customers=np.array([int(r["customers"]) for r in rows], dtype=np.int64),
        start=np.array([_seconds(r["start"]) for r in rows], dtype=np.int64),
        end=np.array([_seconds(r["end"]) for r in rows], dtype=np.int64),
        outage_class=np.array([OutageClass[r["class"]] for r in rows], dtype=np.int8),
        cause=np.array(cause, dtype=np.int64),
        cause_names=cause_names,
        restored_by=np.array([RestoredBy[r["restored_by"]] for r in rows], dtype=np.int8),
    )
    avoided = None
    if (folder / "avoided.csv").exists():
        saved = _read(folder / "avoided.csv")
        avoided = Avoided(
            unit=np.array([base.unit_id.index(r["unit_id"]) for r in saved], dtype=np.int64),
            customers=np.array([int(r["customers"]) for r in saved], dtype=np.int64),
            hours=np.array([float(r["hours"]) for r in saved]),
            how=np.array([RestoredBy[r["how"]] for r in saved], dtype=np.int8),
            at=np.array([_seconds(r["at"]) for r in saved], dtype=np.int64),
        )
    return base, interruptions, avoided


def _runs() -> list[Any]:
    out = []
    for folder in sorted(p for p in CASES.iterdir() if p.is_dir()):
        case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
        expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
        assert set(expected) == set(case["runs"]), f"{folder.name}: runs and expected differ"
        for name, run in case["runs"].items():
            out.append(
                pytest.param(
                    folder, case["period"], run, expected[name], id=f"{folder.name}-{name}"
                )
            )
    return out


def _check(actual: Any, expected: Any, where: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: missing {key!r} (has {sorted(actual)})"
            _check(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), (
            f"{where}: {len(actual)} items, expected {len(expected)}"
        )
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _check(a, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12), (
            f"{where}: {actual} != {expected}"
        )
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def test_every_case_has_a_readme_with_arithmetic() -> None:
    folders = [p for p in CASES.iterdir() if p.is_dir()]
    assert len(folders) >= 4
    for folder in folders:
        text = (folder / "README.md").read_text(encoding="utf-8")
        assert "=" in text, f"{folder.name}: README shows no arithmetic"
        assert "/" in text, f"{folder.name}: README shows no division"


@pytest.mark.parametrize(("folder", "period", "run", "expected"), _runs())
def test_case(
    folder: Path, period: list[str], run: dict[str, Any], expected: dict[str, Any]
) -> None:
    base, interruptions, avoided = load_case(folder)
    by = run.get("by")
    result = compute(
        interruptions,
        base,
        start=_seconds(period[0]),
        end=_seconds(period[1]),
        settings=Settings(**run.get("settings", {})),
        by=tuple(by) if isinstance(by, list) else by,
        med_threshold=run.get("med_threshold"),
        avoided=avoided,
    )
    actual = result.as_dict()
    json.dumps(actual)  # JSON-ready: no numpy scalars, no NaN
    if actual["breakdown"] is not None:
        rows = actual["breakdown"]["rows"]
        dims = actual["breakdown"]["by"]
        actual["breakdown"] = {"/".join(row[d] for d in dims): row for row in rows}
    _check(actual, expected, folder.name)
