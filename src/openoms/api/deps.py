"""The dependencies every router shares: the service context and a database session.

Sessions come from the API's own connection pool (``context.http``), never the ingest's or
the event processor's. A ``GET`` or ``HEAD`` gets a read-only session: on SQLite it does not
take the write lock, so reads never queue behind writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Final

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openoms.service.context import ServiceContext

__all__ = ["ContextDep", "SessionDep", "get_context", "get_session"]


async def get_context(request: Request) -> ServiceContext:  # async: no worker thread
    """The context :func:`openoms.api.app.create_app` was built with."""
    context: ServiceContext = request.app.state.context
    return context


ContextDep = Annotated[ServiceContext, Depends(get_context)]


_READS: Final = frozenset({"GET", "HEAD"})


async def get_session(context: ContextDep, request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed when the route returns, rolled back when it
    raises. ``scope="function"`` below commits BEFORE the response is sent, so a client never
    sees a success whose commit failed.

    Async, so that a request costs no worker thread for it: the session is made without I/O
    (it connects on first use, in the route's thread) and only a session that began a
    transaction is committed or rolled back, in a worker thread.
    """
    database = context.http
    sessions = database.read_sessions if request.method in _READS else database.sessions
    session = sessions()
    try:
        yield session
        if session.in_transaction():
            await run_in_threadpool(session.commit)
    except BaseException:
        if session.in_transaction():
            await run_in_threadpool(session.rollback)
        raise
    finally:
        if session.in_transaction():  # not reached in practice: commit or rollback ended it
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
