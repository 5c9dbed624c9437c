"""Customer notices: the notices and their deliveries (control room), the media feed (the
media desk), the customer import (admin) and subscriptions (the service desk, for a
customer who asks). Customer contact data is never on a public route: deliveries show
recipients masked, and only to dispatchers, planners and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from openoms.api.auth import Admin, Reader, User, require
from openoms.api.deps import ContextDep, SessionDep
from openoms.api.notice_schemas import (
    CustomersImportIn,
    CustomersImportOut,
    DeliveryOut,
    MediaItemOut,
    NoticeDetailOut,
    NoticeOut,
    NoticePreviewIn,
    NoticePreviewOut,
    SubscriptionIn,
    SubscriptionOut,
)
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.contacts.customers import CustomerChannel
from openoms.outages.notices import NoticeChannel, NoticeSubject
from openoms.service.notices import customer_element_ids, import_customers, preview_notice
from openoms.store import customers as customer_store
from openoms.store import notices as notice_store
from openoms.store.audit import record_audit
from openoms.store.tokens import Role

__all__ = ["router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/notices", tags=["notices"], responses=problem_responses(401, 403)
)

NoticeReader = Annotated[User, Depends(require(Role.DISPATCHER, Role.PLANNER))]
"""Notices with their (masked) recipients: the control room and the planners."""
ServiceDesk = Annotated[User, Depends(require(Role.DISPATCHER))]
"""Recording a customer's subscription choice."""


@router.get("", summary="The newest notices, with their deliveries per state")
def get_notices(
    session: SessionDep,
    _user: Reader,
    ref: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[NoticeOut]:
    return [
        NoticeOut.from_domain(n) for n in notice_store.list_notices(session, ref=ref, limit=limit)
    ]


@router.get("/media", summary="The media feed: Weibo posts and TV / radio announcements")
def get_media(
    session: SessionDep,
    _user: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[MediaItemOut]:
    return [MediaItemOut.from_domain(d) for d in notice_store.media_feed(session, limit=limit)]


@router.get(
    "/{notice_id}",
    summary="One notice with every delivery: to whom (masked), when, the result",
    responses=problem_responses(404),
)
def get_notice(
    session: SessionDep, _user: NoticeReader, notice_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> NoticeDetailOut:
    try:
        item = notice_store.get_notice(session, notice_id)
    except notice_store.NoticeNotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    deliveries = notice_store.deliveries_of(session, notice_id)
    base = NoticeOut.from_domain(item)
    return NoticeDetailOut(
        **base.model_dump(), items=[DeliveryOut.from_domain(d) for d in deliveries]
    )


@router.post(
    "/preview",
    summary="Render a notice without publishing it",
    responses=problem_responses(422),
)
def post_preview(
    context: ContextDep, _user: NoticeReader, body: NoticePreviewIn
) -> NoticePreviewOut:
    subject = NoticeSubject(
        ref=body.ref,
        kind=body.kind,
        action=body.action,
        revision=0,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        element_ids=(),
        villages=tuple(body.villages),
        streets=tuple(body.streets),
        line=body.line,
        reason_zh=body.reason_zh,
        reason_en=body.reason_en,
    )
    title, text = preview_notice(
        subject, NoticeChannel(body.channel), lang=body.lang, settings=context.settings
    )
    return NoticePreviewOut(title=title, body=text)


@router.post(
    "/customers",
    summary="Import the customers with their contact data (replaces them all; admin)",
    responses=problem_responses(422),
)
def post_customers(
    context: ContextDep, session: SessionDep, user: Admin, body: CustomersImportIn
) -> CustomersImportOut:
    now = context.clock()
    count = import_customers(
        session,
        body.csv,
        source=body.source,
        element_ids=customer_element_ids(context.network),
        network=context.network.name,
        now=now,
    )
    record_audit(
        session,
        at=now,
        actor=user.name,
        role=user.role,
        action="customers.import",
        object_kind="customers",
        object_id=None,
        detail={"source": body.source, "count": count},
    )
    return CustomersImportOut(imported=count)


@router.post(
    "/subscriptions",
    summary="Record a customer's choice for a channel, by account or by address",
    responses=problem_responses(422),
)
def post_subscription(
    context: ContextDep, session: SessionDep, user: ServiceDesk, body: SubscriptionIn
) -> SubscriptionOut:
    now = context.clock()
    count = customer_store.set_subscription(
        session,
        scope=customer_store.SubscriptionScope(body.scope),
        key=body.key,
        channel=CustomerChannel(body.channel),
        subscribed=body.subscribed,
        now=now,
    )
    record_audit(
        session,
        at=now,
        actor=user.name,
        role=user.role,
        action="customers.subscribe" if body.subscribed else "customers.unsubscribe",
        object_kind="subscription",
        object_id=None,
        detail={"scope": body.scope, "channel": body.channel, "customers": count},
    )
    return SubscriptionOut(customers=count)
