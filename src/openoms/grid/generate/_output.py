"""The built county as a :class:`~openoms.grid.records.RawNetwork`: names resolved along their
lines, kilometres turned into longitude and latitude, every row located at the generator."""

from __future__ import annotations

import math

import numpy as np

from openoms.grid.generate._county import County, Row
from openoms.grid.generate._places import grid_cells
from openoms.grid.records import Location, RawNetwork

__all__ = ["emit"]


def _line_prefix(county: County, line: int) -> str:
    """``城关Ⅲ线``, ``…李庄支线``, ``…李庄支线张寨分支``, ``城关Ⅲ线—柏山Ⅴ线联络线``."""
    parent, name = county.line_parent[line], county.line_name[line]
    feeder = county.feeders[county.line_feeder[line]].name
    if parent < 0:
        return feeder + name
    suffix = "支线" if county.line_parent[parent] == -1 else "分支"
    return _line_prefix(county, parent) + (name or f"{county.line_number[line]}号") + suffix


# Standard main-transformer sizes (MVA) of 110 kV and 35 kV substations (GB/T 6451 series).
_TRANSFORMER_MVA = (6.3, 8.0, 10.0, 12.5, 16.0, 20.0, 25.0, 31.5, 40.0, 50.0, 63.0, 80.0)


def _transformer_ratings(county: County) -> list[float]:
    """Per substation: two main transformers of the smallest standard size that carry its
    feeders' load (power factor 0.9) at no more than 60 % of the pair — an assumption of the
    generator, the usual sizing for N-1 (one unit can take most of the load); more 80 MVA
    units when two are not enough."""
    index = {node: i for i, node in enumerate(county.node_id)}
    load_mw = [0.0] * len(county.sub_ids)
    for row in (*county.areas, *county.hv):
        feeder = county.node_feeder[index[str(row["node"])]]
        if feeder >= 0:
            load_mw[county.feeders[feeder].substation] += float(row["load_kw"]) / 1000.0
    out = []
    for load in load_mw:
        need = load / 0.9 / 0.6
        pair = next((2 * size for size in _TRANSFORMER_MVA if 2 * size >= need), None)
        out.append(pair if pair is not None else 80.0 * math.ceil(need / 80.0))
    return out


def emit(county: County) -> RawNetwork:
    raw = RawNetwork(name=f"county-{county.seed}")
    source = f"generator:{county.seed}"

    def fill(name: str, rows: list[Row]) -> None:
        table = raw.table(name)
        table.rows = rows
        table.locations = [Location(source, element=row["id"]) for row in rows]

    cell_names, crews, node_cell = grid_cells(county)
    fill(
        "grid_cells",
        [
            {"id": f"GC-{i + 1:02d}", "name": name, "crew": crew}
            for i, (name, crew) in enumerate(zip(cell_names, crews, strict=True))
        ],
    )
    ratings = _transformer_ratings(county)
    fill(
        "substations",
        [
            {
                "id": sub_id,
                "name": name,
                "busbar_node": county.node_id[busbar],
                "voltage_kv": 10.0,
                "transformer_mva": rating,
                # rural overhead feeders, capacitive current above 10 A: arc-suppression coil
                "neutral_earthing": "petersen_coil",
            }
            for sub_id, name, busbar, rating in zip(
                county.sub_ids, county.sub_names, county.sub_busbars, ratings, strict=True
            )
        ],
    )
    fill(
        "feeders",
        [
            {
                "id": f.id,
                "name": f"10kV {f.name}",
                "substation": county.sub_ids[f.substation],
                "head": f"{f.id}-K01",
            }  # the breaker is the feeder's first switch
            for f in county.feeders
        ],
    )
    prefixes = [_line_prefix(county, i) for i in range(len(county.line_feeder))]
    prefixes.append("")  # line -1: the label is the whole name
    lon, lat = _lon_lat(county)
    fill(
        "nodes",
        [
            {
                "id": node_id,
                "name": prefixes[line] + label,
                "kind": kind,
                "lon_deg": x,
                "lat_deg": y,
                "grid_cell": f"GC-{cell + 1:02d}",
            }
            for node_id, line, label, kind, x, y, cell in zip(
                county.node_id,
                county.node_line,
                county.node_label,
                county.node_kind,
                lon,
                lat,
                node_cell,
                strict=True,
            )
        ],
    )
    for name, labelled in (
        ("sections", county.sections),
        ("switches", county.switches),
        ("detectors", county.detectors),
    ):
        for row, line, label in labelled:
            row["name"] = prefixes[line] + label
        fill(name, [row for row, _, _ in labelled])
    fill("transformer_areas", county.areas)
    fill("hv_customers", county.hv)
    fill("sensitive_customers", county.sensitive)
    fill("generators", [])  # the sample county declares no distributed generation
    return raw


def _lon_lat(county: County) -> tuple[list[float], list[float]]:
    lat0 = county.opt.center_lat_deg
    km_per_deg_lon = 111.320 * math.cos(math.radians(lat0))
    lon = np.round(county.opt.center_lon_deg + np.asarray(county.node_x) / km_per_deg_lon, 6)
    lat = np.round(lat0 + np.asarray(county.node_y) / 110.574, 6)
    return lon.tolist(), lat.tolist()
