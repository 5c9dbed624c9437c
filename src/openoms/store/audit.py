"""The audit log: who did what to which object, and when. Entries are only ever added."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openoms.errors import InputError
from openoms.store.tables import AuditEntry

__all__ = ["AuditRecord", "list_audit", "record_audit"]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    role: str
    action: str  # "<object kind>.<verb>", e.g. outage.transition, token.revoke
    object_kind: str
    object_id: str | None
    detail: dict[str, Any]


def record_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    object_kind: str,
    object_id: str | int | None,
    detail: Mapping[str, Any],
) -> int:
    """Add an entry (``detail`` must be JSON-serialisable); returns its id."""
    if not actor:
        raise InputError(f"audit entry {action!r}: the actor must be named")
    entry = AuditEntry(
        at=at,
        actor=actor,
        role=str(role),
        action=action,
        object_kind=object_kind,
        object_id=None if object_id is None else str(object_id),
        detail=dict(detail),
    )
    session.add(entry)
    session.flush()
    return entry.id


def list_audit(
    session: Session,
    *,
    object_kind: str | None = None,
    object_id: str | int | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """Entries newest first, optionally of one kind of object or one object."""
    query = select(AuditEntry)
    if object_kind is not None:
        query = query.where(AuditEntry.object_kind == object_kind)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == str(object_id))
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return [
        AuditRecord(
            id=e.id,
            at=e.at,
            actor=e.actor,
            role=e.role,
            action=e.action,
            object_kind=e.object_kind,
            object_id=e.object_id,
            detail=dict(e.detail),
        )
        for e in session.scalars(query)
    ]
