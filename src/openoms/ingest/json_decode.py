"""Payload bytes to a JSON value, or why they are refused: the first step of every message.

Pure: no clock, no session, no I/O. :func:`decode_json` takes at most
:data:`MAX_PAYLOAD_BYTES` of UTF-8 (a leading byte-order mark, which some device firmware
and Windows tools write, is skipped) holding JSON whose numbers are finite
and whose strings hold no U+0000 (PostgreSQL cannot store it), so that whatever it returns can
be stored on both databases. What the value says is read by :mod:`.documents`. Import both
from :mod:`.payloads`, with the rest of parsing.
"""

from __future__ import annotations

import json
import math
from typing import Final

from openoms.ingest.rejections import Rejected, RejectReason

__all__ = ["MAX_PAYLOAD_BYTES", "decode_json"]

MAX_PAYLOAD_BYTES: Final = 65_536


def decode_json(payload: bytes) -> object | Rejected:
    """The JSON value of ``payload`` (UTF-8, finite numbers only) or ``malformed``."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejected(
            RejectReason.MALFORMED,
            f"payload: {len(payload)} bytes, more than {MAX_PAYLOAD_BYTES}",
        )
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejected(
            RejectReason.MALFORMED, f"payload: not UTF-8 ({exc.reason} at byte {exc.start})"
        )
    try:
        if text.startswith("\ufeff"):  # a UTF-8 byte-order mark: not part of the JSON
            text = text[1:]
        doc: object = _DECODER.decode(text)
    except RecursionError:
        return Rejected(RejectReason.MALFORMED, "payload: JSON nested too deeply")
    except ValueError as exc:  # JSONDecodeError, NaN / Infinity, over-long integers
        return Rejected(RejectReason.MALFORMED, f"payload: not JSON ({exc})")
    if "\\u0000" in text and _has_nul(doc):
        # PostgreSQL text (and jsonb) cannot hold U+0000.
        return Rejected(RejectReason.MALFORMED, "payload: a string holds U+0000 (NUL)")
    return doc


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:30]} is out of range")
    return value


# Built once: json.loads with these hooks would build a decoder for every message.
_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def _has_nul(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
