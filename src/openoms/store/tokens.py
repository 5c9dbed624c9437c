"""API tokens: created once, shown once, stored as a SHA-256 hash only.

A token is ``oms_`` followed by 32 random bytes (URL-safe base64): far too much entropy to
guess, so a plain (unsalted) SHA-256 is the right hash: it lets :func:`authenticate` find
the token with one indexed lookup, and a leaked table gives no usable token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from openoms.errors import InputError
from openoms.store.tables import ApiToken

__all__ = [
    "TOKEN_PREFIX",
    "Role",
    "TokenInfo",
    "TokenNotFoundError",
    "authenticate",
    "create_token",
    "list_tokens",
    "record_token_use",
    "revoke_token",
    "token_use_due",
]

TOKEN_PREFIX: Final = "oms_"
_LAST_USED_RESOLUTION: Final = timedelta(minutes=1)
"""``last_used_at`` is written at most once a minute per token: reads stay reads."""


class Role(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    CREW = "crew"
    PLANNER = "planner"
    VIEWER = "viewer"


class TokenNotFoundError(InputError):
    """No API token with this id."""

    def __init__(self, token_id: int) -> None:
        super().__init__(f"no API token with id {token_id}")
        self.token_id = token_id


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as the service sees it (never the token itself)."""

    id: int
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def create_token(session: Session, *, name: str, role: Role, now: datetime) -> str:
    """A new token for ``name`` with ``role``; the plaintext is returned here and only here."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InputError(f"token name {name!r}: give 1 to 100 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name,
            role=Role(role).value,
            token_sha256=_digest(token),
            created_at=now,
            revoked_at=None,
            last_used_at=None,
        )
    )
    session.flush()
    return token


def authenticate(
    session: Session, token: str, *, now: datetime, record_use: bool = True
) -> TokenInfo | None:
    """Who ``token`` belongs to, or ``None`` if it is unknown or revoked.

    ``record_use``: also write ``last_used_at`` when it is due (:func:`token_use_due`); a
    caller that authenticates in a read-only transaction passes False and calls
    :func:`record_token_use` in a write transaction of its own.
    """
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_sha256 == _digest(token))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if record_use and token_use_due(_info(row), now=now):
        row.last_used_at = now
        session.flush()
    return _info(row)


def token_use_due(info: TokenInfo, *, now: datetime) -> bool:
    """Whether ``last_used_at`` should move to ``now`` (at most once a minute per token)."""
    return info.last_used_at is None or now - info.last_used_at >= _LAST_USED_RESOLUTION


def record_token_use(session: Session, token_id: int, *, now: datetime) -> None:
    """Set ``last_used_at`` to ``now`` unless another request did within the resolution."""
    statement = (
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(
                ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at <= now - _LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(statement)


def revoke_token(session: Session, token_id: int, *, now: datetime) -> TokenInfo:
    """Revoke the token (from now on it authenticates no one); revoking twice keeps the first
    time."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise TokenNotFoundError(token_id)
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return _info(row)


def list_tokens(session: Session, *, include_revoked: bool = True) -> list[TokenInfo]:
    """Every token, oldest first."""
    query = select(ApiToken).order_by(ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return [_info(row) for row in session.scalars(query)]
