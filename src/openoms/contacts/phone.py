"""Mobile phone numbers: checked once at the edge, and never shown in full.

Every log line, ``repr`` and API answer that names a recipient goes through
:func:`mask_phone`; the full number is only ever in the database and in the ``submit_sm``
PDU itself.
"""

from __future__ import annotations

import re
from typing import Final

from openoms.errors import InputError

__all__ = ["BadPhoneError", "mask_phone", "normalize_phone"]

# Mainland China mobile numbers: 11 digits starting 13-19, optionally written with +86.
_MOBILE: Final = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")


class BadPhoneError(InputError):
    """Not a mainland China mobile number. The message shows the masked value only."""

    def __init__(self, value: str) -> None:
        super().__init__(
            f"{mask_phone(value)!r} is not a mobile number "
            "(11 digits starting with 13-19, optionally +86)"
        )


def normalize_phone(value: str) -> str:
    """``"+86 138-1234-5678"`` → ``"13812345678"``; anything else raises :class:`BadPhoneError`.

    >>> normalize_phone("+8613812345678")
    '13812345678'
    """
    compact = re.sub(r"[\s-]", "", value)
    match = _MOBILE.fullmatch(compact)
    if match is None:
        raise BadPhoneError(value)
    return match.group(1)


def mask_phone(value: str) -> str:
    """Keep the first three and the last four digits of a mobile number.

    Shorter or odd values keep at most their last two characters, so nothing that could
    be a number leaks whole.

    >>> mask_phone("13812345678")
    '138****5678'
    >>> mask_phone("+8613812345678")
    '+86138****5678'
    >>> mask_phone("12345")
    '***45'
    """
    if len(value) >= 11:
        return f"{value[:-8]}****{value[-4:]}"
    if len(value) <= 2:
        return "*" * len(value)
    return "*" * (len(value) - 2) + value[-2:]
