"""The GSM 03.38 default alphabet (3GPP TS 23.038 §6.2.1) and its extension table: which
texts go as GSM 7-bit, and how many septets they take. Pure: no I/O.

Septets are kept unpacked, one per octet, as SMPP carries them with ``data_coding`` 0 (the
SMSC packs them for the air). A character of the extension table is two septets: the
escape ``0x1B`` and its code.
"""

from __future__ import annotations

from typing import Final

__all__ = ["GSM7_ALPHABET", "GSM7_EXTENSION", "gsm7_decode", "gsm7_encode", "gsm7_septets"]

# GSM 03.38 default alphabet: the character of each septet 0x00-0x7F (0x1B is the escape).
GSM7_ALPHABET: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION: Final[dict[str, int]] = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
"""Characters of the extension table: sent as ``0x1B`` and this septet."""

_GSM7_CODE: Final = {c: i for i, c in enumerate(GSM7_ALPHABET) if i != 0x1B}
_GSM7_EXT_CHAR: Final = {v: k for k, v in GSM7_EXTENSION.items()}
_ESC: Final = 0x1B


def gsm7_encode(text: str) -> tuple[bytes, ...] | None:
    """Each character of ``text`` as its GSM 03.38 septets (unpacked, one per octet), or
    ``None`` if a character has no GSM form.

    >>> gsm7_encode("a_{€")
    (b'a', b'\\x11', b'\\x1b(', b'\\x1be')
    """
    out: list[bytes] = []
    for char in text:
        code = _GSM7_CODE.get(char)
        if code is not None:
            out.append(bytes((code,)))
            continue
        ext = GSM7_EXTENSION.get(char)
        if ext is None:
            return None
        out.append(bytes((_ESC, ext)))
    return tuple(out)


def gsm7_decode(data: bytes) -> str:
    """Unpacked GSM 03.38 septets back to text (an unknown escape: the basic character)."""
    out: list[str] = []
    i = 0
    while i < len(data):
        septet = data[i] & 0x7F
        if septet == _ESC and i + 1 < len(data):
            nxt = data[i + 1] & 0x7F
            out.append(_GSM7_EXT_CHAR.get(nxt, GSM7_ALPHABET[nxt]))
            i += 2
            continue
        out.append(GSM7_ALPHABET[septet] if septet != _ESC else " ")
        i += 1
    return "".join(out)


def gsm7_septets(text: str) -> int | None:
    """Septets ``text`` takes in GSM 7-bit, or ``None`` if a character has no GSM form.

    >>> gsm7_septets("a_{€"), gsm7_septets("停")
    (6, None)
    """
    encoded = gsm7_encode(text)
    return None if encoded is None else sum(len(c) for c in encoded)
