"""Storage: database tables, repositories and migrations (SQLAlchemy 2, Alembic).

Every repository function takes a :class:`~sqlalchemy.orm.Session` whose transaction the
caller owns (``with sessions.begin() as session: ...``), takes the time it acts at as an
argument (aware UTC), and returns the domain values of :mod:`openoms.outages.records` and
:mod:`openoms.events`, or the small frozen values defined here, never table rows.
The modules are used by name: ``from openoms.store import db, outages, eventlog``.
"""

from __future__ import annotations

from openoms.store.audit import AuditRecord, list_audit, record_audit
from openoms.store.db import (
    MigrationError,
    current_revision,
    head_revision,
    make_engine,
    make_session_factory,
    upgrade,
)
from openoms.store.deadletters import add_dead_letter, dead_letter_counts
from openoms.store.eventlog import (
    AppendResult,
    EventNotFoundError,
    append_events,
    event_counts,
    last_device_time,
    mark_processed,
    processed_events,
    unprocessed_events,
)
from openoms.store.networks import (
    NetworkVersionInfo,
    NetworkVersionNotFoundError,
    list_network_versions,
    load_current_network,
    load_network_version,
    save_network_version,
)
from openoms.store.outages import (
    UNCHANGED,
    AreaRestorationError,
    OutageNotFoundError,
    add_restoration_step,
    create_outage,
    get_outage,
    list_outages,
    merge_outage,
    open_outage_for_area,
    open_outage_for_device,
    open_outages_with_areas_off,
    transition_outage,
    update_outage,
)
from openoms.store.tokens import (
    Role,
    TokenInfo,
    TokenNotFoundError,
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
)

__all__ = [
    "UNCHANGED",
    "AppendResult",
    "AreaRestorationError",
    "AuditRecord",
    "EventNotFoundError",
    "MigrationError",
    "NetworkVersionInfo",
    "NetworkVersionNotFoundError",
    "OutageNotFoundError",
    "Role",
    "TokenInfo",
    "TokenNotFoundError",
    "add_dead_letter",
    "add_restoration_step",
    "append_events",
    "authenticate",
    "create_outage",
    "create_token",
    "current_revision",
    "dead_letter_counts",
    "event_counts",
    "get_outage",
    "head_revision",
    "last_device_time",
    "list_audit",
    "list_network_versions",
    "list_outages",
    "list_tokens",
    "load_current_network",
    "load_network_version",
    "make_engine",
    "make_session_factory",
    "mark_processed",
    "merge_outage",
    "open_outage_for_area",
    "open_outage_for_device",
    "open_outages_with_areas_off",
    "processed_events",
    "record_audit",
    "revoke_token",
    "save_network_version",
    "transition_outage",
    "unprocessed_events",
    "update_outage",
    "upgrade",
]
