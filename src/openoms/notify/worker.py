"""The outbox worker: a thread that sends due outbox rows and records delivery receipts.

At :meth:`OutboxWorker.start` rows left in ``sending`` by a stopped process become
``unconfirmed`` (never resent blindly; see :mod:`openoms.store.outbox`). Then, in a loop:
apply the delivery receipts that came in, claim due rows (``sending`` committed before the
submit), submit each, and record the outcome:

- message id → ``sent`` (hand-over time recorded; a receipt later makes it ``delivered``);
- SMSC error status or no session → ``queued`` again after an exponential back-off, or
  ``failed`` for a permanent error or when the attempts are used up;
- the connection lost or no answer after the submit left → ``unconfirmed``.

Call :meth:`OutboxWorker.wake` after an enqueue: the worker then starts at once instead of
at its next poll (``poll_s``, 0.5 s by default), which is what keeps fault → SMS within the
2 s target. When the channel binds a session (at start, or again after the SMSC was away or
refused the bind), rows waiting for their back-off become due at once (:func:`outbox.retry_now`)
and the worker wakes: an SMSC that comes back gets the waiting alerts within a round.
Receipts are applied in the worker's own thread, after the submit's outcome is
committed, so a fast receipt never races the ``sent`` record.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy.orm import Session, sessionmaker

from openoms.contacts.messages import MessageState
from openoms.contacts.phone import mask_phone
from openoms.notify.smpp import (
    DeliveryReceipt,
    SmppOutcomeUnknownError,
    SmppRejectedError,
    SmppUnavailableError,
    SmsChannel,
)
from openoms.store import outbox
from openoms.store.outbox import OutboxItem, RetryPolicy

__all__ = ["OutboxWorker", "WorkerOptions"]

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    poll_s: float = 0.5  # longest sleep without a wake-up
    batch: int = 10  # rows claimed per round
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=8))


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.outcomes = Counter(
            "openoms_sms_submits",
            "SMS submit outcomes (sent, retry, failed, unconfirmed)",
            ["outcome"],
            registry=registry,
        )
        self.receipts = Counter(
            "openoms_sms_receipts", "Delivery receipts by stat", ["stat"], registry=registry
        )
        self.handover = Histogram(
            "openoms_sms_handover_seconds",
            "From the last report a message needed to its hand-over to the SMSC",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=registry,
        )


class OutboxWorker:
    """Sends the outbox through ``sender`` in a thread of its own."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sender: SmsChannel,
        clock: Callable[[], datetime] = _utc_now,
        *,
        options: WorkerOptions | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._sessions = sessions
        self._sender = sender
        self._clock = clock
        self._options = options or WorkerOptions()
        self._metrics = _Metrics(registry) if registry is not None else None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._receipts: queue.SimpleQueue[DeliveryReceipt] = queue.SimpleQueue()
        self._bound = threading.Event()
        self._thread: threading.Thread | None = None
        self.recovered: list[int] = []
        sender.set_receipt_callback(self._on_receipt)
        sender.set_bound_callback(self._on_bound)

    def start(self) -> None:
        """Mark rows interrupted mid-send ``unconfirmed``, then start the thread."""
        with self._sessions.begin() as session:
            self.recovered = outbox.recover_interrupted(session)
        for message_id in self.recovered:
            log.warning(
                "outbox %d was being sent when the service stopped: unconfirmed, not resent",
                message_id,
            )
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def wake(self) -> None:
        """Look at the outbox now (call after an enqueue has committed)."""
        self._wake.set()

    def _on_receipt(self, receipt: DeliveryReceipt) -> None:  # the sender's thread
        self._receipts.put(receipt)
        self._wake.set()

    def _on_bound(self) -> None:  # the sender's thread
        self._bound.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.run_once()
                timeout = self._sleep_s()
            except Exception:
                log.exception("outbox worker round failed; retrying after %s s", 1.0)
                timeout = 1.0
            self._wake.wait(timeout)

    def _sleep_s(self) -> float:
        with self._sessions() as session:
            due = outbox.next_due_at(session)
        if due is None:
            return self._options.poll_s
        return min(max((due - self._clock()).total_seconds(), 0.0), self._options.poll_s)

    def run_once(self) -> int:
        """Apply waiting receipts, then send what is due; the number of rows submitted."""
        self._apply_receipts()
        if self._bound.is_set():
            self._bound.clear()
            with self._sessions.begin() as session:
                expedited = outbox.retry_now(session, now=self._clock())
            if expedited:
                log.info("SMPP session bound: %d waiting message(s) due now", len(expedited))
        with self._sessions.begin() as session:
            items = outbox.claim_due(session, now=self._clock(), limit=self._options.batch)
        for item in items:
            if self._stopping.is_set():
                # Claimed but not submitted: safe to put back (nothing left this process).
                self._record_failure(item, "stopped before the submit", permanent=False)
                continue
            self._send(item)
        return len(items)

    def _send(self, item: OutboxItem) -> None:
        who = f"{item.recipient_name} {mask_phone(item.recipient_phone)}"
        try:
            message_ids = self._sender.submit(item.recipient_phone, item.body)
        except SmppRejectedError as exc:
            self._record_failure(item, str(exc), permanent=exc.permanent)
        except SmppUnavailableError as exc:
            self._record_failure(item, str(exc), permanent=False)
        except (SmppOutcomeUnknownError, Exception) as exc:  # anything after the submit left
            with self._sessions.begin() as session:
                outbox.mark_unconfirmed(session, item.id, reason=str(exc))
            log.error("outbox %d to %s: %s; unconfirmed, not resent", item.id, who, exc)
            self._count("unconfirmed")
        else:
            handed_at = self._clock()
            with self._sessions.begin() as session:
                outbox.mark_sent(session, item.id, smsc_message_id=message_ids, handed_at=handed_at)
            log.info(
                "outbox %d to %s: handed to the SMSC, id %s", item.id, who, " ".join(message_ids)
            )
            self._count("sent")
            if self._metrics is not None and item.trigger_at is not None:
                self._metrics.handover.observe((handed_at - item.trigger_at).total_seconds())

    def _record_failure(self, item: OutboxItem, error: str, *, permanent: bool) -> None:
        with self._sessions.begin() as session:
            state = outbox.mark_attempt_failed(
                session,
                item.id,
                error=error,
                now=self._clock(),
                policy=self._options.retry,
                permanent=permanent,
            )
        log.warning(
            "outbox %d to %s, attempt %d: %s; now %s",
            item.id,
            mask_phone(item.recipient_phone),
            item.attempts,
            error,
            state,
        )
        self._count("retry" if state is MessageState.QUEUED else "failed")

    def _apply_receipts(self) -> None:
        while True:
            try:
                receipt = self._receipts.get_nowait()
            except queue.Empty:
                return
            with self._sessions.begin() as session:
                matched = outbox.record_receipt(
                    session,
                    smsc_message_id=receipt.message_id,
                    stat=receipt.stat,
                    recipient=receipt.recipient,
                    done_at=receipt.received_at,
                )
            if matched is None:
                log.warning("delivery receipt %r matches no outbox message", receipt)
            if self._metrics is not None:
                self._metrics.receipts.labels(receipt.stat).inc()

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.outcomes.labels(outcome).inc()
