"""The small network with a point table, for the IEC 104 tests.

Three units on loopback: ``U-FTU`` (the FTU D2 on switch K1), ``U-FI`` (the collecting unit of
fault indicator D1) and ``U-RTU`` (substation SA's RTU with breaker CB1's relay points). Ports
are picked free for each test.
"""

from __future__ import annotations

import socket
from typing import Any

from openoms.grid import network_from_raw
from openoms.grid.model import Network
from tests.grid.small import small_raw, small_rows

__all__ = ["free_port", "telecontrol_network", "telecontrol_rows"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _p(unit: str, ioa: int, asdu: str, element: str, point: str, **extra: Any) -> dict[str, Any]:
    return {"unit": unit, "ioa": ioa, "asdu_type": asdu, "element": element, "point": point} | extra


def telecontrol_rows(ports: dict[str, int] | None = None) -> dict[str, list[dict[str, Any]]]:
    ports = ports or {"U-FTU": 2404, "U-FI": 2405, "U-RTU": 2406}
    rows = small_rows()
    rows["telecontrol_units"] = [
        {"id": unit, "host": "127.0.0.1", "port": port, "common_address": address}
        for address, (unit, port) in enumerate(ports.items(), 1)
    ]
    rows["telecontrol_points"] = [
        _p("U-FTU", 1, "single", "D2", "short_circuit_a"),
        _p("U-FTU", 2, "single", "D2", "short_circuit_b"),
        _p("U-FTU", 3, "single", "D2", "short_circuit_c"),
        _p("U-FTU", 4, "single", "D2", "earth_fault"),
        _p("U-FTU", 5, "double", "K1", "switch_closed"),
        _p("U-FTU", 16385, "float", "D2", "load_current_a"),
        _p("U-FTU", 16386, "float", "D2", "load_current_b"),
        _p("U-FTU", 16387, "float", "D2", "load_current_c"),
        _p("U-FTU", 16388, "scaled", "D2", "active_power_kw", scale=0.1),
        _p("U-FI", 1, "single", "D1", "short_circuit_a"),
        _p("U-FI", 2, "single", "D1", "short_circuit_b"),
        _p("U-FI", 3, "single", "D1", "short_circuit_c"),
        _p("U-FI", 16385, "float", "D1", "load_current_a"),
        _p("U-RTU", 1, "double", "CB1", "switch_closed"),
        _p("U-RTU", 2, "single", "CB1", "protection_trip"),
        _p("U-RTU", 3, "single", "CB1", "lockout"),
        _p("U-RTU", 4, "single", "CB1", "reclose_success"),
        _p("U-RTU", 5, "single", "CB1", "reclose_failure"),
    ]
    return rows


def telecontrol_network(ports: dict[str, int] | None = None) -> Network:
    return network_from_raw(small_raw(telecontrol_rows(ports)))
