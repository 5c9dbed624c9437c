"""The small network with a point table, for the IEC 104 tests; and raw ASDUs.

Three units on loopback: ``U-FTU`` (the FTU D2 on switch K1), ``U-FI`` (the collecting unit of
fault indicator D1) and ``U-RTU`` (substation SA's RTU with breaker CB1's relay points). Ports
are picked free for each test.

The second half is a small encoder of IEC 60870-5-101/104 ASDUs written straight from the
standard, independent of OpenOMS's decoder (:mod:`openoms.ingest.iec104_asdu`) and of
hat-drivers, for what the independent outstation (c104) cannot be made to send: time tags
with the invalid bit, bytes that do not fit their type. Layout (IEC 60870-5-101 §7.2, with
the IEC 60870-5-104 §9 sizes: cause 2 octets, common address 2, IOA 3, little-endian)::

    type id | VSQ (SQ << 7 | number) | cause (T << 7 | P/N << 6 | cause) | originator
    | common address (2) | objects
    SQ=0: n × (IOA (3) | element | time);  SQ=1: IOA (3) | n × (element | time)

(for the time-tagged types, SQ=1 as lib60870 writes it: a time tag after every element).

SIQ = IV << 7 | NT << 6 | SB << 5 | BL << 4 | SPI (§7.2.6.1); DIQ likewise with DPI in bits
1-2 (§7.2.6.2); QDS = IV | NT | SB | BL | OV (bit 1) (§7.2.6.3); IEEE 754 short float (§7.2.6.8);
CP56Time2a (§7.2.6.18): ms (2) | IV << 7 | minutes | SU << 7 | hours | weekday << 5 | day |
month | year % 100.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openoms.grid import network_from_raw
from openoms.grid.model import Network
from tests.grid.small import small_raw, small_rows

__all__ = [
    "asdu",
    "cp56",
    "diq",
    "float_qds",
    "free_port",
    "siq",
    "telecontrol_network",
    "telecontrol_rows",
]


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


def telecontrol_network(ports: dict[str, int] | None = None, **units: dict[str, Any]) -> Network:
    """The network; ``units``: more fields of a unit's row by id, e.g. ``clock``."""
    rows = telecontrol_rows(ports)
    for row in rows["telecontrol_units"]:
        row.update(units.get(row["id"], {}))
    return network_from_raw(small_raw(rows))


# -- raw ASDUs (see the module docstring) -------------------------------------------------------


def cp56(wall: datetime, *, invalid: bool = False, summer: bool = False) -> bytes:
    """CP56Time2a of the wall-clock fields of ``wall`` (its zone, if any, is not looked at)."""
    ms = wall.second * 1000 + wall.microsecond // 1000
    return bytes(
        [
            ms & 0xFF,
            ms >> 8,
            (0x80 if invalid else 0) | wall.minute,
            (0x80 if summer else 0) | wall.hour,
            (wall.isoweekday() << 5) | wall.day,
            wall.month,
            wall.year % 100,
        ]
    )


def siq(on: bool, *, invalid: bool = False) -> bytes:
    return bytes([(0x80 if invalid else 0) | (1 if on else 0)])


def diq(dpi: int) -> bytes:
    return bytes([dpi & 0x03])


def float_qds(value: float, qds: int = 0) -> bytes:
    return struct.pack("<f", value) + bytes([qds])


def asdu(
    type_id: int,
    objects: Sequence[tuple[int, bytes, bytes]],
    *,
    common_address: int,
    cause: int = 3,
    sequence: bool = False,
) -> bytes:
    """An ASDU of ``objects`` (IOA, element, time tag or b""); with ``sequence`` the IOAs must
    be consecutive and only the first is written."""
    if sequence:
        first = objects[0][0]
        assert [o[0] for o in objects] == list(range(first, first + len(objects)))
    head = bytes([type_id, (0x80 if sequence else 0) | len(objects), cause, 0])
    out = bytearray(head + common_address.to_bytes(2, "little"))
    for i, (ioa, element, time) in enumerate(objects):
        if not sequence or i == 0:
            out += ioa.to_bytes(3, "little")
        out += element + time
    return bytes(out)
