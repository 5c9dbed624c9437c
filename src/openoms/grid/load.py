"""From records to a :class:`~.model.Network`: parse, validate, build — or fail whole.

Two levels, as in power-grid-model: :func:`check_raw` returns every problem (errors and
warnings) and the network when there was no error; :func:`network_from_raw` and
:func:`load_network` raise :class:`~.problems.InvalidNetworkError` holding every problem.
A network with errors is never half-built.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openoms.grid.model import (
    Detectors,
    ElementKind,
    Feeders,
    Generators,
    GridCells,
    HVCustomers,
    Network,
    Nodes,
    Sections,
    SensitiveCustomers,
    Substations,
    Switches,
    TelecontrolPoints,
    TelecontrolUnits,
    TransformerAreas,
)
from openoms.grid.native import read_native
from openoms.grid.parse import ParsedNetwork, ParsedTable, parse_network
from openoms.grid.problems import InvalidNetworkError, Problem, Severity
from openoms.grid.records import RawNetwork
from openoms.grid.schema import DEFAULT_DETECTION_PROBABILITY, SwitchState
from openoms.grid.textfile import TextFileError
from openoms.grid.validate import IdEntry, validate_parsed

__all__ = [
    "DEFAULT_LOAD_RATIO",
    "CheckResult",
    "check_raw",
    "load_network",
    "network_from_raw",
    "read_network_records",
]

DEFAULT_LOAD_RATIO = 0.3
"""Typical load as a share of rating, where a transformer area or HV customer gives none."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    problems: tuple[Problem, ...]
    network: Network | None  # None when there is any error

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)


def read_network_records(path: Path, *, encoding: str | None = None) -> RawNetwork:
    """Read any supported input: a native CSV folder or JSON document, or a pandapower JSON.

    ``encoding`` of the files; by default UTF-8 or GBK / GB18030, detected (see
    :mod:`.textfile`). A file that is not such text, not CSV or JSON, or a folder where a
    file belongs is an :class:`~openoms.errors.InputError` of one line naming it.
    """
    if path.is_file() and path.suffix.lower() == ".json":
        try:
            with path.open("rb") as stream:
                head = stream.read(4096)
        except OSError as exc:
            raise TextFileError(path, f"cannot read: {exc.strerror or exc}") from exc
        if b'"_module": "pandapower' in head or b'"pandapowerNet"' in head:
            from openoms.grid.pandapower_import import read_pandapower_json  # noqa: PLC0415

            return read_pandapower_json(path, encoding=encoding)
    return read_native(path, encoding=encoding)


def check_raw(raw: RawNetwork) -> CheckResult:
    """Every problem of ``raw``; the built network when there is no error."""
    parsed, problems = parse_network(raw)
    ids = validate_parsed(parsed, problems)
    if any(p.severity is Severity.ERROR for p in problems):
        return CheckResult(tuple(problems), None)
    return CheckResult(tuple(problems), _build(parsed, ids))


def network_from_raw(raw: RawNetwork) -> Network:
    """The network of ``raw``; raises :class:`InvalidNetworkError` listing every problem."""
    result = check_raw(raw)
    if result.network is None:
        raise InvalidNetworkError(raw.name, result.problems)
    return result.network


def load_network(path: Path, *, encoding: str | None = None) -> Network:
    """Read, check and build the network at ``path`` (see :func:`read_network_records`)."""
    return network_from_raw(read_network_records(path, encoding=encoding))


# -- building ---------------------------------------------------------------------------


def _floats(table: ParsedTable, name: str) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in table.column(name)], dtype=np.float64)


def _texts(table: ParsedTable, name: str) -> tuple[Any, ...]:
    return tuple(table.column(name))


class _Resolver:
    def __init__(self, ids: dict[str, IdEntry], n_sections: int) -> None:
        self.ids = ids
        self.n_sections = n_sections

    def rows(self, table: ParsedTable, name: str) -> np.ndarray:
        return np.asarray(
            [-1 if v is None else self.ids[v].row for v in table.column(name)], dtype=np.int32
        )

    def edges(self, table: ParsedTable, name: str) -> np.ndarray:
        out = []
        for v in table.column(name):
            entry = self.ids[v]
            out.append(entry.row + (self.n_sections if entry.table == "switches" else 0))
        return np.asarray(out, dtype=np.int32)

    def split(self, table: ParsedTable, name: str, target: str) -> np.ndarray:
        return np.asarray(
            [self.ids[v].row if self.ids[v].table == target else -1 for v in table.column(name)],
            dtype=np.int32,
        )


def _build(parsed: ParsedNetwork, ids: dict[str, IdEntry]) -> Network:
    t = parsed.tables
    r = _Resolver(ids, len(t["sections"].rows))
    sw = t["switches"]
    normal = np.asarray(
        [v == SwitchState.CLOSED.value for v in sw.column("normal_state")], dtype=np.bool_
    )
    present = np.asarray(
        [
            (n if p is None else p) == SwitchState.CLOSED.value
            for n, p in zip(sw.column("normal_state"), sw.column("present_state"), strict=True)
        ],
        dtype=np.bool_,
    )
    ta, hv, sc = t["transformer_areas"], t["hv_customers"], t["sensitive_customers"]
    ta_load = _floats(ta, "load_kw")
    ta_load = np.where(np.isnan(ta_load), _floats(ta, "rated_kva") * DEFAULT_LOAD_RATIO, ta_load)
    hv_load = _floats(hv, "load_kw")
    hv_load = np.where(
        np.isnan(hv_load), _floats(hv, "contracted_kva") * DEFAULT_LOAD_RATIO, hv_load
    )
    tu, tp = t["telecontrol_units"], t["telecontrol_points"]
    gen = t["generators"]
    gen_p = _floats(gen, "detection_probability")
    gen_default = [DEFAULT_DETECTION_PROBABILITY[k] for k in gen.column("kind")]
    gen_p = np.where(np.isnan(gen_p), np.asarray(gen_default, dtype=np.float64), gen_p)
    return Network(
        name=parsed.name,
        substations=Substations(
            id=tuple(t["substations"].column("id")),
            name=_texts(t["substations"], "name"),
            busbar_node=r.rows(t["substations"], "busbar_node"),
            voltage_kv=_floats(t["substations"], "voltage_kv"),
            neutral_earthing=tuple(t["substations"].column("neutral_earthing")),
            transformer_mva=_floats(t["substations"], "transformer_mva"),
        ),
        feeders=Feeders(
            id=tuple(t["feeders"].column("id")),
            name=_texts(t["feeders"], "name"),
            substation=r.rows(t["feeders"], "substation"),
            head_edge=r.edges(t["feeders"], "head"),
        ),
        nodes=Nodes(
            id=tuple(t["nodes"].column("id")),
            name=_texts(t["nodes"], "name"),
            kind=tuple(t["nodes"].column("kind")),
            lon_deg=_floats(t["nodes"], "lon_deg"),
            lat_deg=_floats(t["nodes"], "lat_deg"),
            grid_cell=r.rows(t["nodes"], "grid_cell"),
        ),
        sections=Sections(
            id=tuple(t["sections"].column("id")),
            name=_texts(t["sections"], "name"),
            from_node=r.rows(t["sections"], "from_node"),
            to_node=r.rows(t["sections"], "to_node"),
            kind=tuple(t["sections"].column("kind")),
            length_km=_floats(t["sections"], "length_km"),
            r_ohm_per_km=_floats(t["sections"], "r_ohm_per_km"),
            x_ohm_per_km=_floats(t["sections"], "x_ohm_per_km"),
            ampacity_a=_floats(t["sections"], "ampacity_a"),
            conductor=_texts(t["sections"], "conductor"),
        ),
        switches=Switches(
            id=tuple(sw.column("id")),
            name=_texts(sw, "name"),
            from_node=r.rows(sw, "from_node"),
            to_node=r.rows(sw, "to_node"),
            kind=tuple(sw.column("kind")),
            normal_closed=normal,
            present_closed=present,
            remote=np.asarray(sw.column("remote"), dtype=np.bool_),
            rated_a=_floats(sw, "rated_a"),
        ),
        detectors=Detectors(
            id=tuple(t["detectors"].column("id")),
            name=_texts(t["detectors"], "name"),
            kind=tuple(t["detectors"].column("kind")),
            edge=r.edges(t["detectors"], "branch"),
            directional=np.asarray(t["detectors"].column("directional"), dtype=np.bool_),
        ),
        transformer_areas=TransformerAreas(
            id=tuple(ta.column("id")),
            name=_texts(ta, "name"),
            node=r.rows(ta, "node"),
            rated_kva=_floats(ta, "rated_kva"),
            lv_customers=np.asarray(ta.column("lv_customers"), dtype=np.int64),
            load_kw=ta_load,
            village=_texts(ta, "village"),
            street=_texts(ta, "street"),
            township=_texts(ta, "township"),
        ),
        hv_customers=HVCustomers(
            id=tuple(hv.column("id")),
            name=_texts(hv, "name"),
            node=r.rows(hv, "node"),
            contracted_kva=_floats(hv, "contracted_kva"),
            importance=tuple(hv.column("importance")),
            load_kw=hv_load,
            village=_texts(hv, "village"),
            street=_texts(hv, "street"),
            township=_texts(hv, "township"),
        ),
        sensitive_customers=SensitiveCustomers(
            id=tuple(sc.column("id")),
            name=_texts(sc, "name"),
            category=tuple(sc.column("category")),
            transformer_area=r.split(sc, "supplied_by", "transformer_areas"),
            hv_customer=r.split(sc, "supplied_by", "hv_customers"),
            people=np.asarray(
                [-1 if v is None else v for v in sc.column("people")], dtype=np.int64
            ),
            note=_texts(sc, "note"),
        ),
        grid_cells=GridCells(
            id=tuple(t["grid_cells"].column("id")),
            name=_texts(t["grid_cells"], "name"),
            crew=tuple(t["grid_cells"].column("crew")),
        ),
        _ids={k: (ElementKind(e.table), e.row) for k, e in ids.items()},
        telecontrol_units=TelecontrolUnits(
            id=tuple(tu.column("id")),
            name=_texts(tu, "name"),
            host=tuple(tu.column("host")),
            port=np.asarray(tu.column("port"), dtype=np.int64),
            common_address=np.asarray(tu.column("common_address"), dtype=np.int64),
            clock=tuple(tu.column("clock")),
            clock_sync=np.asarray(tu.column("clock_sync"), dtype=np.bool_),
        ),
        telecontrol_points=TelecontrolPoints(
            unit=r.rows(tp, "unit"),
            ioa=np.asarray(tp.column("ioa"), dtype=np.int64),
            asdu_type=tuple(tp.column("asdu_type")),
            detector=r.split(tp, "element", "detectors"),
            switch=r.split(tp, "element", "switches"),
            point=tuple(tp.column("point")),
            scale=_floats(tp, "scale"),
        ),
        generators=Generators(
            id=tuple(gen.column("id")),
            name=_texts(gen, "name"),
            node=r.rows(gen, "node"),
            kind=tuple(gen.column("kind")),
            rated_kw=_floats(gen, "rated_kw"),
            detection_probability=gen_p.reshape(len(gen.rows)),
        ),
    )
