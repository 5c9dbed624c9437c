"""The history CSV import: values parsed exactly, every bad row named, nothing half-imported.

Hand arithmetic for the times: 2024-03-05T00:00:00Z is 1,709,596,800 s since the epoch
(19,787 days × 86,400 s). 08:15 in Asia/Shanghai (UTC+8) is 00:15 UTC: + 900 s.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from openoms.errors import InputError
from openoms.reliability.data import CustomerBase, OutageClass, RestoredBy
from openoms.reliability.history_csv import HistoryRows, parse_history
from openoms.reliability.rows import SHOWN_PROBLEMS, CsvRowsError, RowProblem

DAY0 = 1_709_596_800  # 2024-03-05T00:00:00Z
HEADER = "event_id,unit_id,customers,start,step_end,class,cause,restored_by,avoided_hours"


def base() -> CustomerBase:
    """TA1 (40 customers), TA2 (35), HV1 (1) on feeder F1."""
    n = 3
    return CustomerBase(
        unit_id=("TA1", "TA2", "HV1"),
        is_hv=np.array([False, False, True]),
        customers=np.array([40, 35, 1], dtype=np.int64),
        load_kva=np.array([200.0, 200.0, 1000.0]),
        feeder=np.zeros(n, dtype=np.int64),
        feeder_ids=("F1",),
        substation=np.zeros(n, dtype=np.int64),
        substation_ids=("SA",),
        grid_cell=np.full(n, -1, dtype=np.int64),
        grid_cell_ids=(),
        village=np.full(n, -1, dtype=np.int64),
        village_names=(),
    )


def parse(text: str, **kwargs: object) -> HistoryRows:
    return parse_history(
        csv.reader(io.StringIO(text)),
        base(),
        source="history.csv",
        **kwargs,  # type: ignore[arg-type]
    )


GOOD = f"""{HEADER}
E1,TA1,40,2024-03-05 08:15:00,2024-03-05 09:15:00,fault_internal,tree,repair,
E1,TA2,20,2024-03-05T08:15:00+08:00,2024-03-05T08:16:00+08:00,fault_internal,tree,flisr,2.5
E1,TA2,15,2024-03-05T00:15:00Z,2024-03-05T02:15:00Z,fault_internal,tree,,
E2,HV1,1,2024-03-06 09:00:00,2024-03-06 09:00:00,planned,maintenance,live_line,4
"""


def test_a_good_file_parses_to_the_hand_computed_rows() -> None:
    rows = parse(GOOD)
    t0 = DAY0 + 900  # 08:15 +08:00
    assert rows.event.tolist() == [0, 0, 0, 1]
    assert rows.event_ids == ("E1", "E2")
    assert rows.unit.tolist() == [0, 1, 1, 2]
    assert rows.customers.tolist() == [40, 20, 15, 1]
    assert rows.start.tolist() == [t0, t0, t0, DAY0 + 86_400 + 3_600]  # 09:00 +08 = 01:00Z
    assert rows.end.tolist() == [t0 + 3_600, t0 + 60, t0 + 7_200, DAY0 + 86_400 + 3_600]
    assert rows.outage_class.tolist() == [OutageClass.FAULT_INTERNAL] * 3 + [OutageClass.PLANNED]
    assert [rows.cause_names[c] for c in rows.cause.tolist()] == ["tree"] * 3 + ["maintenance"]
    assert rows.restored_by.tolist() == [0, RestoredBy.AUTOMATIC, 0, RestoredBy.LIVE_LINE]
    assert rows.source_row.tolist() == [2, 3, 4, 5]


def test_rows_split_into_interruptions_and_customer_hours_kept_on() -> None:
    rows = parse(GOOD)
    interruptions = rows.interruptions()
    # the live-line row (end == start, 4 avoided hours) is not an interruption
    assert len(interruptions) == 3
    assert interruptions.customers.tolist() == [40, 20, 15]
    avoided = rows.avoided()
    assert avoided.unit.tolist() == [1, 2]
    assert avoided.hours.tolist() == [2.5, 4.0]
    assert avoided.how.tolist() == [RestoredBy.AUTOMATIC, RestoredBy.LIVE_LINE]
    # customer-hours kept on: 20 × 2.5 + 1 × 4 = 54
    assert float((avoided.customers * avoided.hours).sum()) == 54.0


def test_the_minimum_form_planned_yes_no_is_accepted() -> None:
    text = (
        "event_id,unit_id,customers,start,step_end,planned,cause\n"
        "A,TA1,10,2024-03-05 08:15:00,2024-03-05 08:45:00,yes,maintenance\n"
        "B,TA2,5,2024-03-05 10:00:00,2024-03-05 11:00:00,no,lightning\n"
    )
    rows = parse(text)
    assert rows.outage_class.tolist() == [OutageClass.PLANNED, OutageClass.FAULT_INTERNAL]
    assert rows.restored_by.tolist() == [0, 0]
    assert rows.avoided_hours.tolist() == [0.0, 0.0]


BAD = f"""{HEADER}
E1,TA1,40,2024-03-05 08:15:00,2024-03-05 09:15:00,fault_internal,tree,,
E1,TA9,4,2024-03-05 08:15:00,2024-03-05 09:15:00,fault_internal,tree,,
E1,TA2,x,2024-03-05 08:15:00,2024-03-05 09:15:00,fault_internal,tree,,
E1,TA2,5,2024-03-05 08:16:00,2024-03-05 09:15:00,fault_internal,tree,,
E2,TA2,5,2024-03-05 10:00:00,2024-03-05 09:00:00,planned,work,,
E3,TA2,50,2024-03-05 10:00:00,2024-03-05 11:00:00,planned,work,,
E4,TA2,5,yesterday,2024-03-05 11:00:00,sometimes,work,,
E5,TA2,5,2024-03-05 10:00:00,2024-03-05 11:00:00,planned,,repair,3
E6,TA2,5,2024-03-05 10:00:00
"""


def test_every_bad_row_is_named_with_row_field_value_and_expectation() -> None:
    with pytest.raises(CsvRowsError) as caught:
        parse(BAD)
    problems = caught.value.problems
    found = {(p.row, p.field) for p in problems}
    assert found == {
        (3, "unit_id"),  # TA9 is not in the base
        (4, "customers"),  # x
        (6, "step_end"),  # before the start
        (7, "customers"),  # 50 > TA2's 35
        (8, "start"),  # yesterday
        (8, "class"),  # sometimes
        (9, "cause"),  # empty
        (9, "avoided_hours"),  # avoided hours on a repair row
        (10, ""),  # 4 fields instead of 9
    }
    assert (
        RowProblem(
            "history.csv", 3, "unit_id", "TA9", "a transformer area or HV customer of the base"
        )
        in problems
    )
    message = str(caught.value)
    assert message.startswith("history.csv: 9 problem(s), nothing imported")
    assert "history.csv, row 7, customers: '50': at most 35 (the unit's customers)" in message


def test_event_consistency_is_checked_once_the_values_are_clean() -> None:
    text = f"""{HEADER}
E1,TA1,40,2024-03-05 08:15:00,2024-03-05 09:15:00,fault_internal,tree,,
E1,TA2,5,2024-03-05 08:16:00,2024-03-05 09:15:00,fault_internal,tree,,
E1,HV1,1,2024-03-05 08:15:00,2024-03-05 09:15:00,planned,tree,,
E2,TA2,30,2024-03-05 10:00:00,2024-03-05 10:30:00,planned,work,,
E2,TA2,10,2024-03-05 10:00:00,2024-03-05 11:00:00,planned,work,,
"""
    with pytest.raises(CsvRowsError) as caught:
        parse(text)
    problems = {(p.row, p.field): p for p in caught.value.problems}
    assert set(problems) == {(3, "start"), (4, "class"), (6, "customers")}
    assert "first row (row 2): 2024-03-05T00:15:00Z" in problems[3, "start"].expected
    assert problems[4, "class"].value == "planned"
    # 30 + 10 = 40 customers of TA2 restored, it has 35
    assert problems[6, "customers"].value == "40"
    assert "at most 35 customers of TA2 restored over the event's steps (rows 5, 6)" in (
        problems[6, "customers"].expected
    )


def test_a_bad_header_names_the_missing_and_unknown_columns() -> None:
    with pytest.raises(CsvRowsError) as caught:
        parse("event_id,unit,customers,start,step_end,cause\n")
    (problem,) = caught.value.problems
    assert problem.row == 1
    assert "missing unit_id, class (or planned)" in problem.expected
    assert "unknown unit" in problem.expected


def test_the_message_lists_the_first_fifty_problems_and_counts_the_rest() -> None:
    lines = [HEADER] + [
        f"E{i},TA1,{i},2024-03-05 08:15:00,2024-03-05 09:15:00,nonsense,tree,," for i in range(70)
    ]
    with pytest.raises(CsvRowsError) as caught:
        parse("\n".join(lines) + "\n")
    assert len(caught.value.problems) == 70 + 29  # 70 bad classes, customers 41..69 > 40
    message = str(caught.value)
    assert message.count("\n  ") == SHOWN_PROBLEMS + 1
    assert message.endswith(f"… and {99 - SHOWN_PROBLEMS} more")


def test_chunks_and_the_slow_path_give_the_same_rows_as_one_fast_chunk() -> None:
    fast = parse(GOOD)
    chunked: list[int] = []
    small = parse(GOOD, chunk_rows=1, progress=chunked.append)
    assert chunked == [1, 2, 3, 4]
    # fractions of a second are not on the fast path: every value goes through fromisoformat
    slow = parse(GOOD.replace(":00,", ":00.000,").replace(":00+08:00,", ":00.25+08:00,"))
    for other in (small, slow):
        for field in ("event", "unit", "customers", "start", "end", "outage_class", "cause"):
            assert getattr(other, field).tolist() == getattr(fast, field).tolist(), field


def test_naive_times_use_the_zone_given() -> None:
    text = f"{HEADER}\nE1,TA1,1,2024-03-05 08:15:00,2024-03-05 08:45:00,planned,work,,\n"
    utc = parse(text, tz="UTC")
    shanghai = parse(text)
    assert int(utc.start[0]) - int(shanghai.start[0]) == 8 * 3600
    with pytest.raises(InputError, match="unknown time zone 'Mars/Base'"):
        parse(text, tz="Mars/Base")
