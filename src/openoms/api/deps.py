"""The dependencies every router shares: the service context and a database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from openoms.service.context import ServiceContext

__all__ = ["ContextDep", "SessionDep", "get_context", "get_session"]


def get_context(request: Request) -> ServiceContext:
    """The context :func:`openoms.api.app.create_app` was built with."""
    context: ServiceContext = request.app.state.context
    return context


ContextDep = Annotated[ServiceContext, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back when it
    raises. ``scope="function"`` below commits BEFORE the response is sent, so a client never
    sees a success whose commit failed."""
    with context.sessions.begin() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
