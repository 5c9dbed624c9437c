"""Decoding the process-information ASDUs of IEC 60870-5-104 ourselves, byte by byte.

Why not hat-drivers' decoder: hat-drivers 0.10.10 reads a time-tagged ASDU sent as a sequence
(SQ = 1: one IOA, then N consecutive elements) as N elements followed by ONE time tag. That
is not what lib60870-based outstations send (their GI answers and bursts of M_SP_TB_1,
M_DP_TB_1, M_ME_TD/TE/TF_1 for consecutive addresses carry a CP56Time2a after EVERY element),
so every element after the first is read from the wrong bytes (wrong flags, garbage floats)
and every time tag but the first is lost; and hat's data model (one time per information
object) cannot even say "one time per element". So the master takes the raw ASDU from the
APCI layer and decodes the monitor-direction data types here; everything else (confirmations
of clock sync and interrogation, end of initialisation) still goes through hat-drivers.
An ASDU whose length does not match its type and count, or a data type this module does not
decode, is an :class:`AsduError` (the master dead-letters it with its raw bytes), never a
guess.

Layout (IEC 60870-5-101 §7.2 as profiled by IEC 60870-5-104 §9: cause of transmission two
octets, common address two octets, information object address three octets, all
little-endian):

    type id (1) | variable structure qualifier (1: bit 8 SQ, bits 1-7 number N)
    | cause (1: bit 8 T test, bit 7 P/N negative, bits 1-6 cause) | originator (1)
    | common address (2) | objects

    SQ = 0: N × [IOA (3) | element | time tag]
    SQ = 1: IOA (3) of the first element, then N × [element | time tag] for IOA, IOA+1, …

(For the time-tagged types, SQ = 1 is read as lib60870 writes it, a time tag after every
element: the layout its outstations send in GI answers and bursts.)

Elements (§7.2.6): SIQ (1: SPI bit 1, BL 0x10, SB 0x20, NT 0x40, IV 0x80), DIQ (1: DPI bits
1-2, same quality bits), NVA (2, signed, / 2^15), SVA (2, signed), IEEE 754 short float (4),
QDS (1: OV 0x01, BL, SB, NT, IV). CP56Time2a (§7.2.6.18, 7 octets): milliseconds 0-59999
(2), IV 0x80 + minutes (1), SU 0x80 + hours (1), day of week << 5 + day of month (1), month
(1), year 0-99 (1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Final

__all__ = [
    "DATA_TYPES",
    "MONITOR_DATA_TYPES",
    "AsduError",
    "Cp56Time",
    "DataAsdu",
    "InfoObject",
    "Quality",
    "cp56_datetime",
    "decode_data_asdu",
]

_HEADER: Final = 6  # type, VSQ, cause (2), common address (2)
_IOA: Final = 3
_CP56: Final = 7


@dataclass(frozen=True, slots=True)
class _Type:
    name: str
    kind: str  # "single", "double", "normalized", "scaled", "float"
    size: int  # element octets, quality included
    timed: bool


DATA_TYPES: Final[dict[int, _Type]] = {
    1: _Type("M_SP_NA_1", "single", 1, False),
    3: _Type("M_DP_NA_1", "double", 1, False),
    9: _Type("M_ME_NA_1", "normalized", 3, False),
    11: _Type("M_ME_NB_1", "scaled", 3, False),
    13: _Type("M_ME_NC_1", "float", 5, False),
    21: _Type("M_ME_ND_1", "normalized", 2, False),  # no quality descriptor
    30: _Type("M_SP_TB_1", "single", 1, True),
    31: _Type("M_DP_TB_1", "double", 1, True),
    34: _Type("M_ME_TD_1", "normalized", 3, True),
    35: _Type("M_ME_TE_1", "scaled", 3, True),
    36: _Type("M_ME_TF_1", "float", 5, True),
}
"""The data types decoded here, by type identification."""

MONITOR_DATA_TYPES: Final = frozenset(range(1, 45))
"""Process information in monitor direction (types 1-44): a type among these that
:data:`DATA_TYPES` does not have is undecodable for the master (never handed to a decoder
that might read it wrong)."""


class AsduError(ValueError):
    """An ASDU that cannot be decoded; the message says why (type, lengths)."""


@dataclass(frozen=True, slots=True)
class Quality:
    """The quality bits of SIQ / DIQ / QDS (``overflow`` only for measured values)."""

    invalid: bool = False
    not_topical: bool = False
    substituted: bool = False
    blocked: bool = False
    overflow: bool = False

    @property
    def good(self) -> bool:
        return not (self.invalid or self.not_topical)


@dataclass(frozen=True, slots=True)
class Cp56Time:
    """A CP56Time2a as sent: the wall-clock fields of the sender's clock, not yet a zone."""

    milliseconds: int
    minutes: int
    hours: int
    day_of_month: int
    month: int
    year: int  # 0-99
    invalid: bool
    summer_time: bool

    def __str__(self) -> str:
        return (
            f"20{self.year:02d}-{self.month:02d}-{self.day_of_month:02d} "
            f"{self.hours:02d}:{self.minutes:02d}:{self.milliseconds / 1000:06.3f}"
            + (" IV" if self.invalid else "")
            + (" SU" if self.summer_time else "")
        )


@dataclass(frozen=True, slots=True)
class InfoObject:
    """One element: its address, value and quality, and its own time tag (timed types).

    ``value``: 0 / 1 for a single point; 0-3 for a double point (DPI: 1 off, 2 on, 0 and 3
    indeterminate); the number for measured values (normalized: -1 to 1 - 2^-15)."""

    ioa: int
    kind: str
    value: float
    quality: Quality
    time: Cp56Time | None


@dataclass(frozen=True, slots=True)
class DataAsdu:
    type_id: int
    type_name: str
    sequence: bool
    cause: int  # 1 periodic, 2 background, 3 spontaneous, 5 requested, 20 interrogated, …
    negative: bool
    test: bool
    originator: int
    common_address: int
    objects: tuple[InfoObject, ...]


def decode_data_asdu(asdu: bytes) -> DataAsdu:
    """The elements of a process-information ASDU of :data:`DATA_TYPES`; raises
    :class:`AsduError` for any other type or a length that does not fit."""
    if len(asdu) < _HEADER:
        raise AsduError(f"{len(asdu)} octets: shorter than an ASDU header ({_HEADER})")
    type_id = asdu[0]
    spec = DATA_TYPES.get(type_id)
    if spec is None:
        raise AsduError(f"type {type_id} is not a data type this master decodes")
    sequence = bool(asdu[1] & 0x80)
    count = asdu[1] & 0x7F
    if count == 0:
        raise AsduError(f"{spec.name}: the variable structure qualifier says 0 objects")
    step = spec.size + (_CP56 if spec.timed else 0)
    body = len(asdu) - _HEADER
    expected = _IOA + count * step if sequence else count * (_IOA + step)
    if body != expected:
        raise AsduError(
            f"{spec.name} with {count} object(s), SQ={int(sequence)}: {expected} octets of "
            f"objects expected, {body} received"
        )
    objects: list[InfoObject] = []
    at = _HEADER
    ioa = 0
    for i in range(count):
        if not sequence or i == 0:
            ioa = int.from_bytes(asdu[at : at + _IOA], "little")
            at += _IOA
        else:
            ioa += 1
        value, quality = _element(spec.kind, spec.size, asdu[at : at + spec.size])
        at += spec.size
        time = None
        if spec.timed:
            time = _cp56(asdu[at : at + _CP56])
            at += _CP56
        objects.append(InfoObject(ioa, spec.kind, value, quality, time))
    return DataAsdu(
        type_id=type_id,
        type_name=spec.name,
        sequence=sequence,
        cause=asdu[2] & 0x3F,
        negative=bool(asdu[2] & 0x40),
        test=bool(asdu[2] & 0x80),
        originator=asdu[3],
        common_address=int.from_bytes(asdu[4:6], "little"),
        objects=tuple(objects),
    )


def _quality(octet: int, *, overflow: bool) -> Quality:
    return Quality(
        invalid=bool(octet & 0x80),
        not_topical=bool(octet & 0x40),
        substituted=bool(octet & 0x20),
        blocked=bool(octet & 0x10),
        overflow=overflow and bool(octet & 0x01),
    )


def _element(kind: str, size: int, octets: bytes) -> tuple[float, Quality]:
    if kind == "single":
        return float(octets[0] & 0x01), _quality(octets[0], overflow=False)
    if kind == "double":
        return float(octets[0] & 0x03), _quality(octets[0], overflow=False)
    quality = _quality(octets[-1], overflow=True) if size in (3, 5) else Quality()
    if kind == "normalized":
        return struct.unpack("<h", octets[:2])[0] / 32768, quality
    if kind == "scaled":
        return float(struct.unpack("<h", octets[:2])[0]), quality
    return float(struct.unpack("<f", octets[:4])[0]), quality


def _cp56(octets: bytes) -> Cp56Time:
    return Cp56Time(
        milliseconds=octets[0] | (octets[1] << 8),
        minutes=octets[2] & 0x3F,
        hours=octets[3] & 0x1F,
        day_of_month=octets[4] & 0x1F,
        month=octets[5] & 0x0F,
        year=octets[6] & 0x7F,
        invalid=bool(octets[2] & 0x80),
        summer_time=bool(octets[3] & 0x80),
    )


def cp56_datetime(time: Cp56Time, zone: tzinfo = UTC) -> datetime | None:
    """The aware UTC instant of ``time`` read as wall-clock time in ``zone``; ``None`` when
    the fields are no date (month 0, 60 000 ms, …). The IV bit is the caller's business.

    In a zone with daylight saving time the SU bit decides the repeated hour of autumn: set,
    the first (summer) reading; clear, the second."""
    if time.milliseconds >= 60_000:
        return None
    try:
        wall = datetime(
            2000 + time.year,
            time.month,
            time.day_of_month,
            time.hours,
            time.minutes,
            time.milliseconds // 1000,
            (time.milliseconds % 1000) * 1000,
            tzinfo=zone,
            fold=0 if time.summer_time else 1,
        )
    except ValueError:
        return None
    return wall.astimezone(UTC)
