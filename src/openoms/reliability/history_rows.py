"""Rows of interruption history, one per (event, unit, restoration step), as numpy columns:
what the CSV import produces, the store keeps and OpenOMS's outage records turn into.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from openoms.reliability.data import Avoided, Interruptions, RestoredBy

__all__ = ["HistoryRows", "concat_rows"]

Int64s = NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class HistoryRows:
    """The rows of a history file (or of the store), one per (event, unit, step), checked.

    ``avoided_hours`` > 0 marks customer-hours kept on: the hours each of the row's customers
    would have been off without automatic restoration (``restored_by`` automatic) or live-line
    work (``restored_by`` live_line). A row whose ``end`` equals its ``start`` and that has
    avoided hours or is restored by live-line work describes customers kept on entirely: it is
    not an interruption.
    """

    event: Int64s
    event_ids: tuple[str, ...]
    unit: Int64s  # index into the customer base
    customers: Int64s
    start: Int64s  # seconds since the epoch, UTC
    end: Int64s
    outage_class: NDArray[np.int8]
    cause: Int64s
    cause_names: tuple[str, ...]
    restored_by: NDArray[np.int8]
    avoided_hours: NDArray[np.float64]
    source_row: Int64s  # the row number in the file (header = 1), for messages

    def __len__(self) -> int:
        return len(self.event)

    @property
    def kept_on(self) -> NDArray[np.bool_]:
        """Rows that only record customers kept on (no interruption)."""
        kept: NDArray[np.bool_] = (self.end == self.start) & (
            (self.avoided_hours > 0) | (self.restored_by == RestoredBy.LIVE_LINE)
        )
        return kept

    def interruptions(self) -> Interruptions:
        keep = ~self.kept_on
        return Interruptions(
            event=self.event[keep],
            event_ids=self.event_ids,
            unit=self.unit[keep],
            customers=self.customers[keep],
            start=self.start[keep],
            end=self.end[keep],
            outage_class=self.outage_class[keep],
            cause=self.cause[keep],
            cause_names=self.cause_names,
            restored_by=self.restored_by[keep],
        )

    def avoided(self) -> Avoided:
        rows = self.avoided_hours > 0
        return Avoided(
            unit=self.unit[rows],
            customers=self.customers[rows],
            hours=self.avoided_hours[rows],
            how=self.restored_by[rows],
            at=self.start[rows],
        )


def concat_rows(parts: Sequence[HistoryRows]) -> HistoryRows:
    """One ``HistoryRows`` of several (e.g. imported history and outage records), all against
    the same customer base; event ids are kept as they are, causes are merged by name."""
    causes: dict[str, int] = {}
    event_ids: list[str] = []
    events, cause_codes = [], []
    for part in parts:
        events.append(part.event + len(event_ids))
        event_ids.extend(part.event_ids)
        table = np.array([causes.setdefault(c, len(causes)) for c in part.cause_names] + [0])
        cause_codes.append(table[part.cause].astype(np.int64))

    def joined(name: str, dtype: type[np.generic]) -> NDArray[Any]:
        return np.concatenate([getattr(p, name) for p in parts] or [np.zeros(0)]).astype(dtype)

    return HistoryRows(
        event=np.concatenate(events or [np.zeros(0, np.int64)]).astype(np.int64),
        event_ids=tuple(event_ids),
        unit=joined("unit", np.int64),
        customers=joined("customers", np.int64),
        start=joined("start", np.int64),
        end=joined("end", np.int64),
        outage_class=joined("outage_class", np.int8),
        cause=np.concatenate(cause_codes or [np.zeros(0, np.int64)]).astype(np.int64),
        cause_names=tuple(causes),
        restored_by=joined("restored_by", np.int8),
        avoided_hours=joined("avoided_hours", np.float64),
        source_row=joined("source_row", np.int64),
    )
