"""Database tables (SQLAlchemy 2). The same schema runs on SQLite and PostgreSQL.

One shape of three (docs/architecture.md, "Rules of the house"): these rows are converted
to domain values in the repositories of this package, never passed to the pure core. The
tables are declared per capability, on the one :class:`Base` of :mod:`.tables_base`:

- :mod:`.tables_outages`: network versions, outages, their areas, steps and state changes;
- :mod:`.tables_events`: the event log and the dead letters;
- :mod:`.tables_faults`: fault events;
- :mod:`.tables_notify`: the outbox and the duty roster;
- :mod:`.tables_access`: API tokens and the audit log;
- :mod:`.tables_history`: imported reliability history;
- :mod:`.tables_planned`: planned outages (bookings) and their state changes;
- :mod:`.tables_telemetry`: telemetry, the latest value and sampled history per point;
- :mod:`.tables_notices`: customers with contact data, subscriptions, notices, deliveries;
- :mod:`.tables_calls`: trouble calls, their call groups and the outages explaining them;
- :mod:`.tables_switching`: FLISR executions, the switches they hold, their commands.

This module gathers them: import every table from here, so that ``Base.metadata`` holds the
whole schema (Alembic and the tests read it). Every change to a table comes with an Alembic
migration in ``store/migrations/versions``; a test checks that the migrations produce exactly
these tables.

Times are timezone-aware UTC in Python; SQLite stores them as UTC text, PostgreSQL as
``timestamptz``.
"""

from __future__ import annotations

from openoms.store.tables_access import ApiToken, AuditEntry
from openoms.store.tables_base import NAMING, Base, UTCDateTime
from openoms.store.tables_calls import TroubleCall
from openoms.store.tables_events import DeadLetter, EventRow
from openoms.store.tables_faults import FaultEvent
from openoms.store.tables_history import (
    ReliabilityHistoryRow,
    ReliabilityImport,
    ReliabilityUnit,
)
from openoms.store.tables_notices import (
    CustomerRow,
    CustomerSubscription,
    NoticeDelivery,
    NoticeRow,
    NoticeSubjectRow,
)
from openoms.store.tables_notify import DutyShift, OutboxMessage, OutboxPart
from openoms.store.tables_outages import (
    NetworkVersion,
    Outage,
    OutageArea,
    OutageStep,
    OutageTransition,
)
from openoms.store.tables_planned import PlannedTransition, PlannedWorkRow
from openoms.store.tables_switching import (
    SwitchingCommandRow,
    SwitchingExecution,
    SwitchingReservation,
)
from openoms.store.tables_telemetry import TelemetryHistoryRow, TelemetryLatest

__all__ = [
    "NAMING",
    "ApiToken",
    "AuditEntry",
    "Base",
    "CustomerRow",
    "CustomerSubscription",
    "DeadLetter",
    "DutyShift",
    "EventRow",
    "FaultEvent",
    "NetworkVersion",
    "NoticeDelivery",
    "NoticeRow",
    "NoticeSubjectRow",
    "Outage",
    "OutageArea",
    "OutageStep",
    "OutageTransition",
    "OutboxMessage",
    "OutboxPart",
    "PlannedTransition",
    "PlannedWorkRow",
    "ReliabilityHistoryRow",
    "ReliabilityImport",
    "ReliabilityUnit",
    "SwitchingCommandRow",
    "SwitchingExecution",
    "SwitchingReservation",
    "TelemetryHistoryRow",
    "TelemetryLatest",
    "TroubleCall",
    "UTCDateTime",
]

# Kept for the migration test: every table of the schema, by name.
TABLE_NAMES = tuple(sorted(Base.metadata.tables))
