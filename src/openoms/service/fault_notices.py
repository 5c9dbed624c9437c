"""Fault notices: the customers of a fault outage told through the notice engine.

A fault outage record (a trouble-call prediction of :mod:`openoms.service.calls`, or a
device outage) becomes the notice subject ``outage:<id>`` (kind ``fault``, its open areas,
its feeder's name, the villages of its areas, no announced end). :func:`publish_fault_notices`
compares every fault record with the subject last published for it and publishes what
changed, in the caller's transaction:

- an open record that is due a notice and was never announced: ``new``; one whose open
  areas changed since: ``changed`` (the engine sends corrections only to whom it concerns);
- a record that was announced and is now merged into another or cancelled: ``cancelled``
  (the customers the surviving record covers get its notice instead); restored or closed:
  ``restored``.

A trouble-call prediction is due a notice once it is ``probable`` or ``confirmed`` (a lone
``predicted`` group may still move or vanish with the next call: telling customers then
would mean a correction per call); a record without a prediction (a device event) or past
``detected`` is due at once. Publishing again with nothing changed records nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from openoms.grid.model import Network
from openoms.outages.lifecycle import OPEN_STATES, OutageState
from openoms.outages.notices import NoticeAction, NoticeKind, NoticeSubject
from openoms.outages.records import OutageKind, OutageRecord
from openoms.service.context import ServiceContext
from openoms.service.notices import publish_notice
from openoms.store import notices as notice_store
from openoms.store.outage_queries import get_outage, list_outages
from openoms.store.tables import NoticeSubjectRow

__all__ = ["NOTIFIED_STATUSES", "fault_ref", "fault_subject", "publish_fault_notices"]

NOTIFIED_STATUSES: Final = frozenset({"probable", "confirmed"})
"""Prediction statuses at which the customers are told."""
_ACTIVE: Final = (NoticeAction.NEW.value, NoticeAction.CHANGED.value)
_LIST_LIMIT: Final = 1_000_000


def fault_ref(outage_id: int) -> str:
    return f"outage:{outage_id}"


def _line(network: Network, feeder_id: str | None) -> str | None:
    if feeder_id is None or feeder_id not in network.feeders.id:
        return None
    return network.feeders.name[network.feeders.id.index(feeder_id)] or feeder_id


def _open_areas(record: OutageRecord) -> tuple[str, ...]:
    return tuple(sorted({a.element_id for a in record.areas if a.restored_at is None}))


def fault_subject(
    network: Network, record: OutageRecord, *, revision: int, action: NoticeAction
) -> NoticeSubject:
    """The notice subject of fault record ``record`` at ``revision``."""
    villages = sorted({a.village for a in record.areas if a.village})
    return NoticeSubject(
        ref=fault_ref(record.id),
        kind=NoticeKind.FAULT.value,
        action=action.value,
        revision=revision,
        starts_at=record.started_at,
        ends_at=None,
        element_ids=_open_areas(record),
        villages=tuple(villages),
        streets=(),
        line=_line(network, record.feeder_id),
        reason_zh="故障停电，抢修人员正在处理",
        reason_en="a fault; the repair crew is on it",
    )


def _due(record: OutageRecord) -> bool:
    prediction: Any = record.summary.get("prediction")
    if record.state is not OutageState.DETECTED or not isinstance(prediction, dict):
        return True
    return prediction.get("status") in NOTIFIED_STATUSES


def publish_fault_notices(context: ServiceContext, session: Session, *, now: datetime) -> list[str]:
    """Publish the fault notices that changed (see the module docstring), in ``session``
    (the caller commits); the subject refs published."""
    published = {
        ref: (revision, action, tuple(sorted(elements)))
        for ref, revision, action, elements in session.execute(
            select(
                NoticeSubjectRow.ref,
                NoticeSubjectRow.revision,
                NoticeSubjectRow.action,
                NoticeSubjectRow.element_ids,
            ).where(NoticeSubjectRow.kind == NoticeKind.FAULT.value)
        ).all()
    }
    network = context.network
    done: list[str] = []
    open_ids: set[str] = set()
    for record in list_outages(
        session, states=OPEN_STATES, kinds=[OutageKind.FAULT], limit=_LIST_LIMIT
    ):
        ref = fault_ref(record.id)
        open_ids.add(ref)
        last = published.get(ref)
        areas = _open_areas(record)
        if not areas or not _due(record):
            continue
        if last is not None and last[1] in _ACTIVE and last[2] == areas:
            continue  # told already
        action = NoticeAction.NEW if last is None else NoticeAction.CHANGED
        revision = 1 if last is None else last[0] + 1
        subject = fault_subject(network, record, revision=revision, action=action)
        publish_notice(context, session, subject, now=now)
        done.append(ref)
    for ref, (revision, action, _) in published.items():
        if action not in _ACTIVE or ref in open_ids:
            continue
        record = get_outage(session, int(ref.removeprefix("outage:")))
        ended = record.state in (OutageState.RESTORED, OutageState.CLOSED)
        final = NoticeAction.RESTORED if ended else NoticeAction.CANCELLED
        previous = notice_store.get_subject(session, ref)
        assert previous is not None  # listed above, in this transaction
        subject = replace(previous, action=final.value, revision=revision + 1)
        publish_notice(context, session, subject, now=now)
        done.append(ref)
    return done
