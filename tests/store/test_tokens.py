"""API tokens: shown once, stored as a hash, revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openoms.errors import InputError
from openoms.store.tables import ApiToken
from openoms.store.tokens import (
    Role,
    TokenNotFoundError,
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
)
from tests.store.conftest import T0


def test_the_token_is_not_stored_only_its_hash(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        token = create_token(session, name="王调度", role=Role.DISPATCHER, now=T0)
        other = create_token(session, name="王调度", role=Role.DISPATCHER, now=T0)
    assert token.startswith("oms_")
    assert len(token) >= 4 + 43
    assert token != other
    with sessions() as session:
        rows = session.execute(select(*ApiToken.__table__.columns)).all()
    stored = repr(rows)
    assert token not in stored
    assert token[4:] not in stored
    assert token[4:20] not in stored


def test_authenticate(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        token = create_token(session, name="李班长", role=Role.CREW, now=T0)
    with sessions.begin() as session:
        who = authenticate(session, token, now=T0 + timedelta(hours=1))
        assert authenticate(session, token + "x", now=T0) is None
        assert authenticate(session, "Bearer " + token, now=T0) is None
        assert authenticate(session, "", now=T0) is None
    assert who is not None
    assert (who.name, who.role, who.last_used_at) == ("李班长", Role.CREW, T0 + timedelta(hours=1))
    with sessions.begin() as session:
        # Within a minute of the last write, last_used_at is not written again.
        authenticate(session, token, now=T0 + timedelta(hours=1, seconds=30))
        assert not session.dirty
    with sessions() as session:
        (listed,) = list_tokens(session)
    assert listed == who


def test_a_revoked_token_authenticates_no_one(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        token = create_token(session, name="接口", role=Role.VIEWER, now=T0)
        kept = create_token(session, name="大屏", role=Role.VIEWER, now=T0)
        token_id = next(t.id for t in list_tokens(session) if t.name == "接口")
    with sessions.begin() as session:
        revoked = revoke_token(session, token_id, now=T0 + timedelta(days=1))
        again = revoke_token(session, token_id, now=T0 + timedelta(days=2))
    assert revoked.revoked_at == again.revoked_at == T0 + timedelta(days=1)
    with sessions.begin() as session:
        assert authenticate(session, token, now=T0 + timedelta(days=3)) is None
        assert authenticate(session, kept, now=T0 + timedelta(days=3)) is not None
        assert [t.name for t in list_tokens(session, include_revoked=False)] == ["大屏"]
        with pytest.raises(TokenNotFoundError, match="id 77"):
            revoke_token(session, 77, now=T0)
        with pytest.raises(InputError, match="token name"):
            create_token(session, name="  ", role=Role.ADMIN, now=T0)
