"""A pandapower net's tables as plain Python values (private: use
:mod:`openoms.grid.pandapower_import`).

A table is read once into ``index → row`` dicts; a cell is read as a value or ``None``: NaN,
pandas' ``NA`` and ``NaT`` are all missing, as is an empty name.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["Row", "flag", "is_closed", "number", "point", "read_table", "text"]

Row = dict[str, Any]


def read_table(net: Any, table: str) -> dict[int, Row]:
    """The rows of ``net[table]`` by index; empty if the net has no such table."""
    frame = net.get(table)
    if frame is None or not hasattr(frame, "columns") or len(frame) == 0:
        return {}
    return {int(i): row for i, row in frame.to_dict("index").items()}


def _missing(value: Any) -> bool:
    if value is None or type(value).__name__ in {"NAType", "NaTType"}:
        return True
    return isinstance(value, float) and math.isnan(value)


def text(value: Any) -> str | None:
    if _missing(value):
        return None
    stripped = str(value).strip()
    return stripped or None


def number(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def flag(value: Any, default: bool = True) -> bool:
    return default if _missing(value) else bool(value)


def is_closed(switch: Row) -> bool:
    return flag(switch.get("closed"), default=False)


def point(bus: Row) -> tuple[float, float] | None:
    """A bus's coordinates: from ``geo`` (a GeoJSON point, pandapower 3) or ``x``/``y``."""
    geo = bus.get("geo")
    if isinstance(geo, str) and geo.strip():
        try:
            shape = json.loads(geo)
            x, y = shape["coordinates"][:2]
        except (ValueError, KeyError, TypeError):
            return None
        return (float(x), float(y)) if shape.get("type") == "Point" else None
    x, y = number(bus.get("x")), number(bus.get("y"))
    return (x, y) if x is not None and y is not None else None
