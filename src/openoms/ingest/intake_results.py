"""What the intake reports: the outcome of one call, the totals since start, and the
Prometheus counters of both (``openoms_ingest_*``, by source and reason).

Values only, made by :class:`~.intake.Intake` (which re-exports them); the counters are
registered only in the registry the intake is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openoms.events import EventSource
from openoms.ingest.payloads import RejectReason

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["IntakeCounts", "IntakeMetrics", "IntakeResult", "RejectedItem"]


@dataclass(frozen=True, slots=True)
class RejectedItem:
    """A refused message: its position in the call's input, the reason and the sentence."""

    index: int
    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What one call did: event-log ids written, keys already there, items refused, and
    messages ignored (an empty MQTT payload: a retained topic being cleared)."""

    accepted: tuple[int, ...] = ()
    duplicates: tuple[str, ...] = ()
    rejected: tuple[RejectedItem, ...] = ()
    ignored: int = 0


@dataclass(frozen=True, slots=True)
class IntakeCounts:
    """Totals since the intake was built (for the metrics endpoint)."""

    accepted: int
    duplicates: int
    rejected: Mapping[str, int]  # by reason; every reason present, 0 when none
    ignored: int = 0  # empty MQTT payloads (retained topics cleared): neither event nor letter
    telemetry: int = 0  # telemetry samples stored (latest value, sampled history)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


class IntakeMetrics:
    """prometheus_client counters, registered in the registry the caller gives."""

    def __init__(self, registry: CollectorRegistry) -> None:
        from prometheus_client import Counter  # noqa: PLC0415  (only with a registry)

        self.accepted = Counter(
            "openoms_ingest_accepted",
            "Events written to the event log.",
            ["source"],
            registry=registry,
        )
        self.duplicates = Counter(
            "openoms_ingest_duplicates",
            "Events already in the event log (redelivered).",
            ["source"],
            registry=registry,
        )
        self.rejected = Counter(
            "openoms_ingest_rejected",
            "Messages written to dead_letters, by reason.",
            ["source", "reason"],
            registry=registry,
        )
        self.ignored = Counter(
            "openoms_ingest_ignored",
            "Empty MQTT payloads (a retained topic cleared): acknowledged, not stored.",
            ["source"],
            registry=registry,
        )
        self.telemetry = Counter(
            "openoms_ingest_telemetry",
            "Telemetry samples stored (latest value and sampled history, not the event log).",
            ["source"],
            registry=registry,
        )
        for source in EventSource:
            self.ignored.labels(source.value)
            self.telemetry.labels(source.value)
            self.accepted.labels(source.value)
            self.duplicates.labels(source.value)
            for reason in RejectReason:
                self.rejected.labels(source.value, reason.value)
