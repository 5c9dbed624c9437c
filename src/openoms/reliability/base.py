"""The customer base: from the network, from a customer-base CSV, or both together.

DL/T 836 counts customers at 10 kV in units: one public distribution transformer (台区) or
one HV customer. :func:`customer_base_from_network` lists every transformer area (with its LV
customers and rated kVA) and every HV customer (1 customer, contracted kVA) of a network with
the feeder, substation, grid cell and village each belongs to. The feeder is the one that
supplies the unit's node in the NORMAL switch state (a unit moved by today's switching still
counts on its own feeder). A unit that no feeder supplies in the normal state (a TA on a
station busbar, or one cut off by a normally-open switch) gets the pseudo feeder
:data:`NO_FEEDER`, and the substation of its busbar when it has one.

:func:`parse_customer_base` reads a customer-base CSV (for a history whose units are not in
the current network); :func:`merge_bases` adds its units to the network's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from openoms.grid.model import Network
from openoms.grid.topology import Topology
from openoms.reliability.data import CustomerBase
from openoms.reliability.rows import CsvRowsError, RowProblem

__all__ = [
    "BASE_COLUMNS",
    "NO_FEEDER",
    "customer_base_from_network",
    "merge_bases",
    "parse_customer_base",
    "subset_base",
]

NO_FEEDER = "(none)"
"""Feeder (and substation) id of units that no feeder supplies in the normal state."""

BASE_COLUMNS = ("unit_id", "customers", "kva", "feeder", "substation", "grid_cell", "village")
"""Columns of the customer-base CSV; ``kind`` (``ta`` / ``hv``) is optional."""


def _index(names: Sequence[str | None]) -> tuple[NDArray[np.int64], tuple[str, ...]]:
    """Dense codes of ``names`` (sorted unique), -1 for empty / ``None``."""
    unique = sorted({n for n in names if n})
    code = {n: i for i, n in enumerate(unique)}
    return np.array([code[n] if n else -1 for n in names], dtype=np.int64), tuple(unique)


def customer_base_from_network(network: Network) -> CustomerBase:
    """Every transformer area, then every HV customer, of ``network`` as a customer base."""
    ta, hv = network.transformer_areas, network.hv_customers
    topology = Topology.build(network.graph_arrays(), network.closed_edges(normal=True))
    nodes = np.concatenate([ta.node, hv.node]).astype(np.int64)
    feeder_code = topology.feeder_of_nodes[nodes].astype(np.int64)

    feeder_ids = list(network.feeders.id)
    substation_ids = list(network.substations.id)
    feeder_substation = network.feeders.substation.astype(np.int64)
    no_feeder = feeder_code < 0
    feeder = feeder_code.copy()
    substation = np.where(no_feeder, -1, feeder_substation[np.maximum(feeder_code, 0)])
    if no_feeder.any():
        feeder[no_feeder] = len(feeder_ids)
        feeder_ids.append(NO_FEEDER)
        # a unit on a station busbar still belongs to that substation
        busbar = {int(node): i for i, node in enumerate(network.substations.busbar_node.tolist())}
        for i in np.flatnonzero(no_feeder).tolist():
            substation[i] = busbar.get(int(nodes[i]), -1)
    if (substation < 0).any():
        substation[substation < 0] = len(substation_ids)
        substation_ids.append(NO_FEEDER)

    cells = network.nodes.grid_cell.astype(np.int64)[nodes]
    village, village_names = _index([*ta.village, *hv.village])
    return CustomerBase(
        unit_id=(*ta.id, *hv.id),
        is_hv=np.concatenate([np.zeros(len(ta.id), np.bool_), np.ones(len(hv.id), np.bool_)]),
        customers=np.concatenate([ta.lv_customers.astype(np.int64), np.ones(len(hv.id), np.int64)]),
        load_kva=np.concatenate([ta.rated_kva, hv.contracted_kva]).astype(np.float64),
        feeder=feeder,
        feeder_ids=tuple(feeder_ids),
        substation=substation.astype(np.int64),
        substation_ids=tuple(substation_ids),
        grid_cell=cells,
        grid_cell_ids=network.grid_cells.id,
        village=village,
        village_names=village_names,
    )


_KINDS = {"ta": False, "transformer_area": False, "台区": False, "hv": True, "hv_customer": True}


def parse_customer_base(rows: Iterable[Sequence[str]], *, source: str) -> CustomerBase:
    """A customer base from CSV rows (the header first), as :func:`csv.reader` yields them.

    Columns (any order, extra columns refused): ``unit_id``, ``customers`` (whole number ≥ 0),
    ``kva`` (≥ 0), ``feeder``, ``substation`` (required), ``grid_cell``, ``village`` (may be
    empty), and optionally ``kind`` (``ta`` or ``hv``; default ``ta``). Every problem is
    collected and raised as one :class:`CsvRowsError`.
    """
    iterator = iter(rows)
    header = [h.strip() for h in next(iterator, [])]
    problems: list[RowProblem] = []
    missing = [c for c in BASE_COLUMNS if c not in header]
    extra = [c for c in header if c not in (*BASE_COLUMNS, "kind")]
    if missing or extra or len(set(header)) != len(header):
        raise CsvRowsError(
            source,
            [
                RowProblem(
                    source,
                    1,
                    "header",
                    ",".join(header),
                    f"the columns {', '.join(BASE_COLUMNS)} (and optionally kind)"
                    + (f"; missing {', '.join(missing)}" if missing else "")
                    + (f"; unknown {', '.join(extra)}" if extra else ""),
                )
            ],
        )
    col = {name: header.index(name) for name in header}
    units: list[str] = []
    customers: list[int] = []
    kva: list[float] = []
    is_hv: list[bool] = []
    texts: dict[str, list[str | None]] = {
        k: [] for k in ("feeder", "substation", "grid_cell", "village")
    }
    first_row: dict[str, int] = {}
    for row_number, row in enumerate(iterator, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(
                RowProblem(
                    source, row_number, "", ",".join(row), f"{len(header)} fields like the header"
                )
            )
            continue
        values = {name: row[i].strip() for name, i in col.items()}
        unit = values["unit_id"]
        if not unit:
            problems.append(RowProblem(source, row_number, "unit_id", unit, "a unit id"))
        elif unit in first_row:
            problems.append(
                RowProblem(
                    source,
                    row_number,
                    "unit_id",
                    unit,
                    f"a unit not listed before (row {first_row[unit]})",
                )
            )
        first_row.setdefault(unit, row_number)
        count = _int(values["customers"])
        if count is None or count < 0:
            problems.append(
                RowProblem(
                    source, row_number, "customers", values["customers"], "a whole number ≥ 0"
                )
            )
        size = _float(values["kva"])
        if size is None or not np.isfinite(size) or size < 0:
            problems.append(RowProblem(source, row_number, "kva", values["kva"], "kVA ≥ 0"))
        kind = values.get("kind", "ta") or "ta"
        if kind.lower() not in _KINDS:
            problems.append(RowProblem(source, row_number, "kind", kind, "ta or hv"))
        for field in ("feeder", "substation"):
            if not values[field]:
                problems.append(RowProblem(source, row_number, field, "", f"a {field} id"))
        units.append(unit)
        customers.append(count or 0)
        kva.append(size or 0.0)
        is_hv.append(_KINDS.get(kind.lower(), False))
        for field, column in texts.items():
            column.append(values[field] or None)
    if problems:
        raise CsvRowsError(source, problems)
    feeder, feeder_ids = _index(texts["feeder"])
    substation, substation_ids = _index(texts["substation"])
    grid_cell, grid_cell_ids = _index(texts["grid_cell"])
    village, village_names = _index(texts["village"])
    return CustomerBase(
        unit_id=tuple(units),
        is_hv=np.array(is_hv, dtype=np.bool_),
        customers=np.array(customers, dtype=np.int64),
        load_kva=np.array(kva, dtype=np.float64),
        feeder=feeder,
        feeder_ids=feeder_ids,
        substation=substation,
        substation_ids=substation_ids,
        grid_cell=grid_cell,
        grid_cell_ids=grid_cell_ids,
        village=village,
        village_names=village_names,
    )


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _recode(
    codes: NDArray[np.int64], names: tuple[str, ...], merged: dict[str, int]
) -> NDArray[np.int64]:
    table = np.array([merged.setdefault(n, len(merged)) for n in names] + [-1], dtype=np.int64)
    return table[codes]  # code -1 picks the trailing -1


def merge_bases(first: CustomerBase, second: CustomerBase, *, source: str) -> CustomerBase:
    """``first``'s units, then ``second``'s; a unit in both is an error naming ``source``."""
    both = sorted(set(first.unit_id) & set(second.unit_id))
    if both:
        raise CsvRowsError(
            source,
            [
                RowProblem(source, 0, "unit_id", unit, "a unit that is not in the network")
                for unit in both
            ],
        )
    out: dict[str, NDArray[np.int64]] = {}
    names: dict[str, tuple[str, ...]] = {}
    for field, label in (
        ("feeder", "feeder_ids"),
        ("substation", "substation_ids"),
        ("grid_cell", "grid_cell_ids"),
        ("village", "village_names"),
    ):
        merged: dict[str, int] = {}
        a = _recode(getattr(first, field), getattr(first, label), merged)
        b = _recode(getattr(second, field), getattr(second, label), merged)
        out[field] = np.concatenate([a, b])
        names[label] = tuple(merged)
    return CustomerBase(
        unit_id=(*first.unit_id, *second.unit_id),
        is_hv=np.concatenate([first.is_hv, second.is_hv]),
        customers=np.concatenate([first.customers, second.customers]),
        load_kva=np.concatenate([first.load_kva, second.load_kva]),
        feeder=out["feeder"],
        feeder_ids=names["feeder_ids"],
        substation=out["substation"],
        substation_ids=names["substation_ids"],
        grid_cell=out["grid_cell"],
        grid_cell_ids=names["grid_cell_ids"],
        village=out["village"],
        village_names=names["village_names"],
    )


def subset_base(base: CustomerBase, keep: Sequence[bool] | NDArray[np.bool_]) -> CustomerBase:
    """The units of ``base`` where ``keep`` is true (the group names are kept as they are)."""
    mask = np.asarray(keep, dtype=np.bool_)
    return CustomerBase(
        unit_id=tuple(u for u, k in zip(base.unit_id, mask.tolist(), strict=True) if k),
        is_hv=base.is_hv[mask],
        customers=base.customers[mask],
        load_kva=base.load_kva[mask],
        feeder=base.feeder[mask],
        feeder_ids=base.feeder_ids,
        substation=base.substation[mask],
        substation_ids=base.substation_ids,
        grid_cell=base.grid_cell[mask],
        grid_cell_ids=base.grid_cell_ids,
        village=base.village[mask],
        village_names=base.village_names,
    )
