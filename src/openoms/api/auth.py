"""Who is calling: bearer tokens, the current user, and role checks.

A token is sent as ``Authorization: Bearer oms_...`` and checked with
:func:`openoms.store.tokens.authenticate` (only its SHA-256 is stored). Role checks are a
dependency factory, :func:`require`, and the aliases below name the groups of roles the
routers use; ``admin`` passes every check. What each role may do is in docs/api.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from openoms.api.deps import ContextDep
from openoms.errors import ForbiddenError, OpenOMSError
from openoms.store.tokens import Role, authenticate, record_token_use, token_use_due

__all__ = [
    "Admin",
    "AuthenticationError",
    "CurrentUser",
    "EventReader",
    "EventSender",
    "ForbiddenError",
    "OutageCreator",
    "PlanApprover",
    "Reader",
    "StepWriter",
    "TransitionWriter",
    "User",
    "require",
]


log = logging.getLogger("openoms.api")


class AuthenticationError(OpenOMSError):
    """No bearer token, or one that is unknown, revoked or malformed."""

    def __init__(self, message: str, *, token_given: bool) -> None:
        super().__init__(message)
        self.token_given = token_given

    @property
    def www_authenticate(self) -> str:
        """The RFC 6750 challenge: ``invalid_token`` when a token was sent but refused."""
        if self.token_given:
            return 'Bearer realm="openoms", error="invalid_token"'
        return 'Bearer realm="openoms"'


@dataclass(frozen=True, slots=True)
class User:
    """The caller, as the token says: the token's name (a person or a system) and role."""

    name: str
    role: Role


_bearer: Final = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="oms_…",
    description="An API token: `openoms token create --name … --role …`.",
)


def current_user(
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise AuthenticationError(
            "this endpoint needs an API token: send 'Authorization: Bearer oms_...'",
            token_given=False,
        )
    now = context.clock()
    database = context.http
    with database.read_sessions.begin() as session:  # a read: no write lock on SQLite
        info = authenticate(session, credentials.credentials, now=now, record_use=False)
    if info is None:
        raise AuthenticationError(
            "the API token is not valid (unknown, revoked or mistyped)", token_given=True
        )
    if token_use_due(info, now=now):  # at most once a minute per token
        try:
            with database.sessions.begin() as session:
                record_token_use(session, info.id, now=now)
        except (OperationalError, PoolTimeoutError):  # a busy database: the next call will
            log.warning("api token %d: last_used_at not recorded (database busy)", info.id)
    return User(name=info.name, role=Role(info.role))


CurrentUser = Annotated[User, Depends(current_user)]


def require(*roles: Role) -> Callable[[User], Coroutine[Any, Any, User]]:
    """A dependency that lets ``roles`` (and admin) through and refuses everyone else."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def check_role(user: CurrentUser) -> User:  # async: no worker thread for this
        if user.role not in allowed:
            raise ForbiddenError(user.role, allowed)
        return user

    return check_role


Reader = Annotated[User, Depends(require(Role.DISPATCHER, Role.CREW, Role.PLANNER, Role.VIEWER))]
"""Everyone with a token: read the grid and the outages."""
TransitionWriter = Annotated[User, Depends(require(Role.DISPATCHER, Role.CREW, Role.PLANNER))]
"""Outage transitions; the route narrows crew and planner to their moves."""
StepWriter = Annotated[User, Depends(require(Role.DISPATCHER, Role.CREW))]
"""Restoration steps; the route narrows a crew to repair steps."""
OutageCreator = Annotated[User, Depends(require(Role.DISPATCHER))]
"""Recording outages by hand (planned work is booked: /planned-outages)."""
EventSender = Annotated[User, Depends(require(Role.DISPATCHER, Role.CREW))]
"""Posting events; a crew only crew status."""
EventReader = Annotated[User, Depends(require(Role.DISPATCHER))]
"""Reading the event log, the dead letters (raw device payloads, trouble calls) and
telemetry: the control room's."""
PlanApprover = Annotated[User, Depends(require(Role.DISPATCHER))]
"""Approving and recomputing restoration plans: dispatchers (and administrators) only."""
Admin = Annotated[User, Depends(require())]
"""Token management."""
