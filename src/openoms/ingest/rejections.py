"""Why a message is refused, and the checks that need the network or the clock's reading.

Pure: the network, the receipt time and the last accepted device time come in as arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from openoms.events import Event, EventKind
from openoms.grid.model import ElementKind, Network

__all__ = [
    "MAX_AHEAD",
    "ORDERED_KINDS",
    "RejectReason",
    "Rejected",
    "check_device",
    "check_time",
    "quoted",
]

MAX_AHEAD: Final = timedelta(minutes=5)  # a device clock further ahead than this is refused


class RejectReason(StrEnum):
    MALFORMED = "malformed"  # not JSON, wrong shape, wrong types: the detail names the field
    UNKNOWN_TOPIC = "unknown_topic"  # not one of the topics of docs/events.md
    UNKNOWN_DEVICE = "unknown_device"  # not in the network, or the wrong kind for the topic
    OUT_OF_ORDER = "out_of_order"  # older than the last accepted report of the device and kind
    FUTURE = "future"  # device time more than MAX_AHEAD after receipt
    UNKNOWN_POINT = "unknown_point"  # IEC 104: an address the unit's point table does not have
    UNDECODABLE = "undecodable"  # IEC 104: an ASDU that cannot be decoded (raw bytes kept)
    CLOCK_SKEW = "clock_skew"  # the sender's clock is far off (a whole report, not one event)
    IMPLAUSIBLE_TIME = "implausible_time"  # e.g. seconds sent where milliseconds are expected


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why a message was refused; ``detail`` is a sentence naming the field or device."""

    reason: RejectReason
    detail: str


def quoted(text: str, limit: int = 60) -> str:
    """A user-supplied string for a detail sentence: quoted, escaped, shortened."""
    shown = text if len(text) <= limit else text[:limit] + "…"
    return repr(shown)


# Which network element may send each kind of event: its table and allowed kinds (None: any).
_BREAKERS: Final = frozenset({"breaker", "recloser"})
_SENDERS: Final[Mapping[EventKind, tuple[ElementKind, frozenset[str] | None, str]]] = {
    EventKind.INDICATOR_REPORT: (
        ElementKind.DETECTOR,
        frozenset({"fault_indicator"}),
        "a fault_indicator detector",
    ),
    EventKind.FTU_REPORT: (ElementKind.DETECTOR, frozenset({"ftu", "dtu"}), "an ftu or dtu"),
    EventKind.BREAKER_TRIP: (ElementKind.SWITCH, _BREAKERS, "a breaker or recloser"),
    EventKind.BREAKER_RECLOSE: (ElementKind.SWITCH, _BREAKERS, "a breaker or recloser"),
    EventKind.SWITCH_POSITION: (ElementKind.SWITCH, None, "a switch"),
}

# Kinds whose device time must not go backwards (per device and kind).
ORDERED_KINDS: Final = frozenset(_SENDERS)


def check_device(network: Network, kind: EventKind, device_id: str | None) -> Rejected | None:
    """``unknown_device`` when ``device_id`` may not send ``kind`` events, else ``None``.

    Trouble calls and crew status come from people, not network devices: not checked.
    """
    sender = _SENDERS.get(kind)
    if sender is None:
        return None
    table, kinds, wanted = sender
    if device_id is None:
        return Rejected(RejectReason.UNKNOWN_DEVICE, f"a {kind} event needs a device id")
    if device_id not in network:
        return Rejected(
            RejectReason.UNKNOWN_DEVICE,
            f"device {quoted(device_id)} is not in the network {network.name!r}",
        )
    element, index = network.locate(device_id)
    if element is not table:
        return Rejected(
            RejectReason.UNKNOWN_DEVICE,
            f"{quoted(device_id)} is one of the {element} of the network; "
            f"{kind} events come from {wanted}",
        )
    actual = (
        network.detectors.kind[index]
        if table is ElementKind.DETECTOR
        else network.switches.kind[index]
    )
    if kinds is not None and actual not in kinds:
        return Rejected(
            RejectReason.UNKNOWN_DEVICE,
            f"device {quoted(device_id)} is of kind {actual!r}; {kind} events come from {wanted}",
        )
    return None


def check_time(
    event: Event,
    *,
    received_at: datetime,
    last: datetime | None,
    max_ahead: timedelta = MAX_AHEAD,
) -> Rejected | None:
    """``future`` or ``out_of_order`` for ``event``, else ``None``.

    ``last`` is the device time of the last accepted event of the same device and kind
    (``None``: none yet); only the kinds of :data:`ORDERED_KINDS` are held to it. A report at
    the same millisecond as the last one is not out of order (a duplicate is caught by its
    idempotency key instead).
    """
    ahead = event.device_time - received_at
    if ahead > max_ahead:
        return Rejected(
            RejectReason.FUTURE,
            f"device time {_iso(event.device_time)} is {_minutes(ahead)} after the receipt "
            f"time {_iso(received_at)} (at most {_minutes(max_ahead)} allowed)",
        )
    if last is not None and event.kind in ORDERED_KINDS and event.device_time < last:
        return Rejected(
            RejectReason.OUT_OF_ORDER,
            f"device time {_iso(event.device_time)} of {quoted(event.device_id or '')} is older "
            f"than its last accepted {event.kind} at {_iso(last)}",
        )
    return None


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.1f} min"
