"""Reliability rows from OpenOMS's own outage records (re-exported by :mod:`.history`).

The rules (which outages count, classes, restored-by, avoided customer-hours) are in
:func:`interruptions_from_outages` and in ``docs/reliability.md``, "Outage records".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from openoms.reliability.data import CustomerBase, OutageClass, RestoredBy
from openoms.reliability.history_csv import HistoryRows
from openoms.store.tables import Outage

__all__ = ["RecordsHistory", "interruptions_from_outages"]


def _utc(second: int) -> datetime:
    return datetime.fromtimestamp(second, UTC)


_EXTERNAL_MARKS = ("external", "外部")
_LIVE_LINE_MARKS = ("live_line", "live-line", "带电作业")
_HOW: dict[str, RestoredBy] = {"flisr": RestoredBy.AUTOMATIC, "live_line": RestoredBy.LIVE_LINE}


@dataclass(frozen=True, slots=True, eq=False)
class RecordsHistory:
    """What :func:`interruptions_from_outages` found."""

    rows: HistoryRows
    outages: int  # outage records used
    open_rows: int  # rows of areas still off, ended at min(period end, now)
    unknown_units: tuple[str, ...]  # areas whose unit the base lacks (skipped)


def interruptions_from_outages(
    session: Session,
    base: CustomerBase,
    *,
    start: int,
    end: int,
    now: datetime,
) -> RecordsHistory:
    """Interruption rows of the outage records that started in [start, end) (UTC seconds).

    Every area of a fault or planned outage (not merged, not cancelled; customer-side outages
    are not the utility's interruptions) is one row: its customers, off from ``off_at`` to
    ``restored_at``; an area still off ends at min(period end, ``now``) and is counted in
    ``open_rows``. Areas of one outage that went off at different times are separate events
    (``outage-<id>``, ``outage-<id>/2``, …), because an event has one start. Class: fault →
    fault_internal, or fault_external when the cause says "external" / "外部"; planned →
    planned. Restored by: the step's ``how`` (flisr → automatic, live_line → live-line work,
    anything else → repair). Avoided customer-hours (see docs/reliability.md):

    - a flisr or live_line step: its customers × (the outage's last restoration − the step);
    - a planned outage whose cause says live-line work ("live_line" / "带电作业"): its areas
      were kept on; each area is avoided for the outage's duration (up to ``now`` while the
      work goes on) and is not an interruption.
    """
    query = (
        select(Outage)
        .options(selectinload(Outage.areas), selectinload(Outage.steps))
        .where(
            Outage.started_at >= _utc(start),
            Outage.started_at < _utc(end),
            Outage.kind.in_(["fault", "planned"]),
            Outage.state.not_in(["merged", "cancelled"]),
        )
        .order_by(Outage.started_at, Outage.id)
    )
    unit_index = {u: i for i, u in enumerate(base.unit_id)}
    stop = min(end, int(now.timestamp()))
    columns: dict[str, list[Any]] = {k: [] for k in _RECORD_COLUMNS}
    event_ids: dict[str, int] = {}
    causes: dict[str, int] = {}
    unknown: dict[str, None] = {}
    outages = open_rows = 0
    for outage in session.scalars(query):
        outages += 1
        cause = outage.cause or "(unspecified)"
        lowered = cause.lower()
        live_line = outage.kind == "planned" and any(m in lowered for m in _LIVE_LINE_MARKS)
        if outage.kind == "planned":
            klass = OutageClass.PLANNED
        elif any(m in lowered for m in _EXTERNAL_MARKS):
            klass = OutageClass.FAULT_EXTERNAL
        else:
            klass = OutageClass.FAULT_INTERNAL
        steps = {step.number: step for step in outage.steps}
        last = outage.restored_at
        starts = sorted({int(a.off_at.timestamp()) for a in outage.areas})
        for area in outage.areas:
            unit = unit_index.get(area.element_id)
            if unit is None:
                unknown[area.element_id] = None
                continue
            off = int(area.off_at.timestamp())
            k = starts.index(off)
            label = f"outage-{outage.id}" + (f"/{k + 1}" if k else "")
            back = area.restored_at
            ended = max(off, stop) if back is None else int(back.timestamp())
            step = steps.get(area.restored_in_step or -1)
            how = _HOW.get(step.how, RestoredBy.REPAIR) if step is not None else RestoredBy.REPAIR
            avoided = 0.0
            if live_line:  # kept on: the work so far (to now while it goes on) is avoided
                how, avoided, ended = RestoredBy.LIVE_LINE, (ended - off) / 3600.0, off
            elif back is None:
                open_rows += 1
            elif how is not RestoredBy.REPAIR and step is not None and last is not None:
                avoided = max((last - step.at).total_seconds(), 0.0) / 3600.0
            for key, value in zip(
                _RECORD_COLUMNS,
                (
                    event_ids.setdefault(label, len(event_ids)),
                    unit,
                    area.customers,
                    off,
                    ended,
                    klass,
                    causes.setdefault(cause, len(causes)),
                    how,
                    avoided,
                    outage.id,
                ),
                strict=True,
            ):
                columns[key].append(value)
    rows = HistoryRows(
        event=np.array(columns["event"], dtype=np.int64),
        event_ids=tuple(event_ids),
        unit=np.array(columns["unit"], dtype=np.int64),
        customers=np.minimum(
            np.array(columns["customers"], dtype=np.int64),
            base.customers[np.array(columns["unit"], dtype=np.int64)],
        ),
        start=np.array(columns["start"], dtype=np.int64),
        end=np.array(columns["end"], dtype=np.int64),
        outage_class=np.array(columns["outage_class"], dtype=np.int8),
        cause=np.array(columns["cause"], dtype=np.int64),
        cause_names=tuple(causes),
        restored_by=np.array(columns["restored_by"], dtype=np.int8),
        avoided_hours=np.array(columns["avoided_hours"], dtype=np.float64),
        source_row=np.array(columns["source_row"], dtype=np.int64),
    )
    return RecordsHistory(rows, outages, open_rows, tuple(unknown))


_RECORD_COLUMNS = (
    "event",
    "unit",
    "customers",
    "start",
    "end",
    "outage_class",
    "cause",
    "restored_by",
    "avoided_hours",
    "source_row",
)
