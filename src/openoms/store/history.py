"""Reliability history: imported interruption files in, arrays for the engine out; and the
same arrays from OpenOMS's own outage records.

- :func:`import_history` stores a parsed file (:class:`~openoms.reliability.history_csv.
  HistoryRows`) in the caller's transaction, with its name, SHA-256 and the customer-base
  units that came with it. A file is imported once: the same content again is refused
  (:class:`DuplicateImportError`, naming the earlier import), and so is a file naming an
  event id that an earlier import already has (one event is never counted twice).
- :func:`history_base` is the network's customer base plus the stored units.
- :func:`load_history` reads the rows that began in a period back as ``HistoryRows``.
- :func:`interruptions_from_outages` (from :mod:`.history_records`) turns outage records
  into the same shape (rules in ``docs/reliability.md``, "Outage records").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from openoms.errors import InputError
from openoms.reliability.base import merge_bases, subset_base
from openoms.reliability.data import CustomerBase
from openoms.reliability.history_csv import HistoryRows
from openoms.store.history_records import RecordsHistory, interruptions_from_outages
from openoms.store.tables import (
    ReliabilityHistoryRow,
    ReliabilityImport,
    ReliabilityUnit,
)

__all__ = [
    "DuplicateImportError",
    "ImportInfo",
    "RecordsHistory",
    "delete_import",
    "history_base",
    "import_history",
    "interruptions_from_outages",
    "list_imports",
    "load_history",
]

_BATCH = 20_000
_ID_PROBE = 500  # event ids per IN (...) query


class DuplicateImportError(InputError):
    """The file (or an event of it) was imported before."""

    def __init__(self, message: str, *, import_id: int) -> None:
        super().__init__(message)
        self.import_id = import_id


@dataclass(frozen=True, slots=True)
class ImportInfo:
    id: int
    source: str
    content_sha256: str
    base_source: str | None
    timezone: str
    rows: int
    events: int
    first_start: datetime | None
    last_end: datetime | None
    imported_at: datetime
    imported_by: str


def _info(row: ReliabilityImport) -> ImportInfo:
    return ImportInfo(
        id=row.id,
        source=row.source,
        content_sha256=row.content_sha256,
        base_source=row.base_source,
        timezone=row.timezone,
        rows=row.rows,
        events=row.events,
        first_start=row.first_start,
        last_end=row.last_end,
        imported_at=row.imported_at,
        imported_by=row.imported_by,
    )


def _utc(second: int) -> datetime:
    return datetime.fromtimestamp(second, UTC)


def _stored_units(session: Session) -> CustomerBase | None:
    rows = session.scalars(select(ReliabilityUnit).order_by(ReliabilityUnit.id)).all()
    if not rows:
        return None

    def codes(values: Sequence[str | None]) -> tuple[np.ndarray, tuple[str, ...]]:
        names = sorted({v for v in values if v})
        index = {n: i for i, n in enumerate(names)}
        return np.array([index[v] if v else -1 for v in values], dtype=np.int64), tuple(names)

    feeder, feeder_ids = codes([r.feeder for r in rows])
    substation, substation_ids = codes([r.substation for r in rows])
    cell, cell_ids = codes([r.grid_cell for r in rows])
    village, village_names = codes([r.village for r in rows])
    return CustomerBase(
        unit_id=tuple(r.unit_id for r in rows),
        is_hv=np.array([r.is_hv for r in rows], dtype=np.bool_),
        customers=np.array([r.customers for r in rows], dtype=np.int64),
        load_kva=np.array([r.kva for r in rows], dtype=np.float64),
        feeder=feeder,
        feeder_ids=feeder_ids,
        substation=substation,
        substation_ids=substation_ids,
        grid_cell=cell,
        grid_cell_ids=cell_ids,
        village=village,
        village_names=village_names,
    )


def history_base(session: Session, network_base: CustomerBase) -> CustomerBase:
    """The network's units, then the units stored with earlier imports (not in the network)."""
    stored = _stored_units(session)
    if stored is None:
        return network_base
    keep = np.array([u not in set(network_base.unit_id) for u in stored.unit_id], np.bool_)
    if not keep.all():  # a unit since added to the network: the network's data wins
        stored = subset_base(stored, keep)
    return merge_bases(network_base, stored, source="stored customer-base units")


def _chunks(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def import_history(
    session: Session,
    rows: HistoryRows,
    base: CustomerBase,
    *,
    source: str,
    content_sha256: str,
    timezone: str,
    actor: str,
    now: datetime,
    new_units: CustomerBase | None = None,
    base_source: str | None = None,
) -> ImportInfo:
    """Store ``rows`` (parsed against ``base``) as one import; returns its record.

    ``new_units`` are the units of a customer-base CSV that are not yet stored; they are
    stored with the import. Everything is added to the caller's transaction: if anything
    fails, nothing of the file is kept.
    """
    earlier = session.scalars(
        select(ReliabilityImport).where(ReliabilityImport.content_sha256 == content_sha256)
    ).first()
    if earlier is not None:
        raise DuplicateImportError(
            f"{source}: this file (SHA-256 {content_sha256[:12]}…) was imported before, as "
            f"import {earlier.id} from {earlier.source} on {earlier.imported_at:%Y-%m-%d}; "
            "nothing imported",
            import_id=earlier.id,
        )
    used = sorted(set(rows.event.tolist()))
    ids = [rows.event_ids[i] for i in used]
    for chunk in _chunks(ids, _ID_PROBE):
        clash = session.execute(
            select(ReliabilityHistoryRow.event_id, ReliabilityHistoryRow.import_id)
            .where(ReliabilityHistoryRow.event_id.in_(chunk))
            .limit(1)
        ).first()
        if clash is not None:
            raise DuplicateImportError(
                f"{source}: event {clash.event_id!r} is already in import {clash.import_id}; "
                "an event is imported once (nothing imported)",
                import_id=int(clash.import_id),
            )
    record = ReliabilityImport(
        source=source[:500],
        content_sha256=content_sha256,
        base_source=base_source,
        timezone=timezone,
        rows=len(rows),
        events=len(used),
        first_start=_utc(int(rows.start.min())) if len(rows) else None,
        last_end=_utc(int(rows.end.max())) if len(rows) else None,
        imported_at=now,
        imported_by=actor,
    )
    session.add(record)
    session.flush()
    if new_units is not None and len(new_units):
        session.execute(
            insert(ReliabilityUnit),
            [
                {
                    "import_id": record.id,
                    "unit_id": new_units.unit_id[i],
                    "is_hv": bool(new_units.is_hv[i]),
                    "customers": int(new_units.customers[i]),
                    "kva": float(new_units.load_kva[i]),
                    "feeder": new_units.feeder_ids[new_units.feeder[i]],
                    "substation": new_units.substation_ids[new_units.substation[i]],
                    "grid_cell": _name(new_units.grid_cell_ids, int(new_units.grid_cell[i])),
                    "village": _name(new_units.village_names, int(new_units.village[i])),
                }
                for i in range(len(new_units))
            ],
        )
    _insert_rows(session, rows, base, import_id=record.id)
    return _info(record)


def _name(names: tuple[str, ...], code: int) -> str | None:
    return names[code] if code >= 0 else None


_COLUMNS = (
    "import_id",
    "event_id",
    "unit_id",
    "customers",
    "start_s",
    "end_s",
    "outage_class",
    "cause",
    "restored_by",
    "avoided_hours",
)


def _insert_rows(
    session: Session, rows: HistoryRows, base: CustomerBase, *, import_id: int
) -> None:
    """Bulk insert: COPY on PostgreSQL, the driver's executemany elsewhere (both on the
    session's connection, so inside its transaction)."""
    events = np.array(rows.event_ids, dtype=object)[rows.event]
    units = np.array(base.unit_id, dtype=object)[rows.unit]
    causes = np.array(rows.cause_names, dtype=object)[rows.cause]
    values = zip(
        [import_id] * len(rows),
        events.tolist(),
        units.tolist(),
        rows.customers.tolist(),
        rows.start.tolist(),
        rows.end.tolist(),
        rows.outage_class.tolist(),
        causes.tolist(),
        rows.restored_by.tolist(),
        rows.avoided_hours.tolist(),
        strict=True,
    )
    connection = session.connection()
    names = ", ".join(_COLUMNS)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY reliability_history ({names}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        return
    # the driver's executemany with plain tuples: no per-row dict or type processing
    marks = ", ".join("?" if connection.dialect.paramstyle == "qmark" else "%s" for _ in _COLUMNS)
    statement = f"INSERT INTO reliability_history ({names}) VALUES ({marks})"
    while batch := list(islice(values, _BATCH)):
        connection.exec_driver_sql(statement, batch)


def list_imports(session: Session) -> list[ImportInfo]:
    """Every import, oldest first."""
    return [
        _info(row)
        for row in session.scalars(select(ReliabilityImport).order_by(ReliabilityImport.id))
    ]


def delete_import(session: Session, import_id: int) -> ImportInfo:
    """Remove an import with its rows and units (to re-import a corrected file)."""
    row = session.get(ReliabilityImport, import_id)
    if row is None:
        raise InputError(f"no reliability history import with id {import_id}")
    info = _info(row)
    session.execute(
        delete(ReliabilityHistoryRow).where(ReliabilityHistoryRow.import_id == import_id)
    )
    session.execute(delete(ReliabilityUnit).where(ReliabilityUnit.import_id == import_id))
    session.delete(row)
    session.flush()
    return info


def load_history(session: Session, base: CustomerBase, *, start: int, end: int) -> HistoryRows:
    """The stored rows whose event began in [start, end) (UTC seconds), against ``base``.

    A stored unit that ``base`` lacks (the network changed since the import) raises an
    :class:`InputError` naming it.
    """
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    # through the driver: millions of plain tuples, no per-row type processing
    result = connection.exec_driver_sql(
        "SELECT event_id, unit_id, customers, start_s, end_s, outage_class, cause, "
        "restored_by, avoided_hours, id FROM reliability_history "
        f"WHERE start_s >= {mark} AND start_s < {mark} ORDER BY id",
        (start, end),
    )
    columns = list(zip(*result.all(), strict=True)) or [()] * 10
    (event_id, unit_id, customers, start_s, end_s, klass, cause, how, avoided, ids) = columns
    unit_index = {u: i for i, u in enumerate(base.unit_id)}
    known = {u: unit_index.get(u, -1) for u in dict.fromkeys(unit_id)}
    missing = [u for u, i in known.items() if i < 0]
    if missing:
        raise InputError(
            f"stored reliability history names {len(missing)} unit(s) that are neither in the "
            f"network nor in a stored customer base: {', '.join(missing[:10])}"
        )
    events: dict[str, int] = {}
    causes: dict[str, int] = {}
    for e in dict.fromkeys(event_id):
        events.setdefault(e, len(events))
    for c in dict.fromkeys(cause):
        causes.setdefault(c, len(causes))
    return HistoryRows(
        event=np.array([events[e] for e in event_id], dtype=np.int64),
        event_ids=tuple(events),
        unit=np.array([known[u] for u in unit_id], dtype=np.int64),
        customers=np.array(customers, dtype=np.int64),
        start=np.array(start_s, dtype=np.int64),
        end=np.array(end_s, dtype=np.int64),
        outage_class=np.array(klass, dtype=np.int8),
        cause=np.array([causes[c] for c in cause], dtype=np.int64),
        cause_names=tuple(causes),
        restored_by=np.array(how, dtype=np.int8),
        avoided_hours=np.array(avoided, dtype=np.float64),
        source_row=np.array(ids, dtype=np.int64),
    )
