"""The one exception tree of OpenOMS.

Every error the project raises on purpose derives from :class:`OpenOMSError`; each subclass
carries the fields a caller (the CLI, later the API's problem-document table) needs to say
what went wrong and where.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ForbiddenError",
    "InputError",
    "OpenOMSError",
    "TooLargeError",
    "UnknownDeviceError",
    "UnsupportedOperationError",
]


class OpenOMSError(Exception):
    """Root of every error OpenOMS raises on purpose."""


class InputError(OpenOMSError):
    """Bad input from a file, a message or a user, that can be named precisely."""


class UnknownDeviceError(InputError):
    """A device id that the network does not have."""

    def __init__(self, device_id: str, *, network: str) -> None:
        super().__init__(f"unknown device {device_id!r} in network {network!r}")
        self.device_id = device_id
        self.network = network


class UnsupportedOperationError(InputError):
    """An operation that makes no sense for this kind of device."""

    def __init__(self, device_id: str, message: str) -> None:
        super().__init__(f"{device_id}: {message}")
        self.device_id = device_id


class TooLargeError(InputError):
    """Input larger than a configured limit (HTTP 413): ``size`` where ``limit`` is allowed."""

    def __init__(self, what: str, *, size: int, limit: int, setting: str | None = None) -> None:
        named = f" ({setting})" if setting else ""
        super().__init__(f"{what}: {size} where at most {limit} are allowed{named}")
        self.size = size
        self.limit = limit


class ForbiddenError(OpenOMSError):
    """A known principal whose role does not allow what was asked (HTTP 403)."""

    def __init__(self, role: str, allowed: Iterable[str], *, what: str = "this call") -> None:
        allowed = frozenset(allowed)
        super().__init__(
            f"role {str(role)!r} may not make {what}; allowed: {', '.join(sorted(allowed))}"
        )
        self.role = role
        self.allowed = allowed
