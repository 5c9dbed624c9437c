"""API tokens (admin only): create (the token is shown once; only its SHA-256 is kept), list,
revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from openoms.api.auth import Admin
from openoms.api.deps import ContextDep, SessionDep
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.api.schemas import TokenIn, TokenInfoOut, TokenOut
from openoms.store.audit import record_audit
from openoms.store.tokens import create_token, list_tokens, revoke_token

__all__ = ["router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/tokens", tags=["tokens"], responses=problem_responses(401, 403)
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token (shown in this answer only)",
    responses=problem_responses(422),
)
def post_token(context: ContextDep, session: SessionDep, user: Admin, body: TokenIn) -> TokenOut:
    now = context.clock()
    token = create_token(session, name=body.name, role=body.role, now=now)
    record_audit(
        session,
        at=now,
        actor=user.name,
        role=user.role,
        action="token.create",
        object_kind="token",
        object_id=None,
        detail={"name": body.name, "role": body.role.value},
    )
    return TokenOut(name=body.name, role=body.role, token=token)


@router.get("", summary="Every token (never the token itself)")
def get_tokens(session: SessionDep, _user: Admin) -> list[TokenInfoOut]:
    return [TokenInfoOut.from_domain(info) for info in list_tokens(session)]


@router.delete(
    "/{token_id}",
    summary="Revoke a token: from now on it authenticates no one",
    responses=problem_responses(404, 422),
)
def delete_token(
    context: ContextDep,
    session: SessionDep,
    user: Admin,
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> TokenInfoOut:
    now = context.clock()
    info = revoke_token(session, token_id, now=now)
    record_audit(
        session,
        at=now,
        actor=user.name,
        role=user.role,
        action="token.revoke",
        object_kind="token",
        object_id=token_id,
        detail={"name": info.name, "role": info.role.value},
    )
    return TokenInfoOut.from_domain(info)
