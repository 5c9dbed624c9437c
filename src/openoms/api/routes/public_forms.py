"""The public forms (no login): is my supply off, report a fault, subscribe to notices.

- ``POST /public/lookup`` (account or address): ``affected`` (with the public outage's id,
  link and expected-back time), ``not_affected`` (with the next planned outage booked for the
  supply, if any) or ``not_found``. Nothing else: never the customer's name, phone, e-mail or
  address; ``not_found`` says only that no customer has this account or address.
- ``POST /public/reports`` (account, address or the ``area_ref`` of a lookup; a description;
  an optional phone number for a call back): a ``trouble_call`` event through the intake, as
  a phone-centre call would be (logged, idempotent by the form's id, then processed by the
  event processor). The answer says whether the place is off in an outage already known.
- ``POST /public/subscriptions`` (account or address, channel, the contact registered for it,
  subscribe or not): the customer's choice in the subscriptions store. The contact must be
  the phone number or e-mail address the customer import holds for that account: an unknown
  account and a contact that does not match get the same 404.

Each form is rate-limited per client address (``public_lookups_per_minute``,
``public_forms_per_minute``; :mod:`openoms.api.rate`): over the limit, ``429`` with
``Retry-After``. The HTML pages (:mod:`openoms.web.forms`) call the same functions.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Annotated, Final, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.orm import Session

from openoms.api.deps import ContextDep, SessionDep
from openoms.api.problems import problem_responses
from openoms.api.public_schemas import (
    CustomerNotFoundError,
    LookupIn,
    LookupOut,
    PublicOutageRef,
    PublicPlannedRef,
    ReportIn,
    ReportOut,
    SubscriptionIn,
    SubscriptionOut,
)
from openoms.api.rate import ClientRateLimiter
from openoms.api.routes import API_PREFIX
from openoms.api.routes.public import (
    PUBLIC_KINDS,
    UPCOMING_STATES,
    public_outage,
    work_of_outage,
)
from openoms.contacts.customers import Customer, CustomerChannel
from openoms.contacts.phone import BadPhoneError, normalize_phone
from openoms.errors import InputError
from openoms.events import Event, EventKind, EventSource, Sender
from openoms.grid.model import ElementKind
from openoms.i18n import Lang
from openoms.notify.sms import outage_url
from openoms.outages.records import OutageRecord
from openoms.service.context import ServiceContext
from openoms.store import planned as planned_store
from openoms.store.customers import (
    SubscriptionScope,
    customer_by_account,
    customers_at_address,
    set_subscription,
)
from openoms.store.outage_queries import open_outages_with_areas_off

__all__ = [
    "FormKind",
    "check_rate",
    "lookup_supply",
    "report_fault",
    "router",
    "set_choice",
]

router = APIRouter(prefix=f"{API_PREFIX}/public", tags=["public"])

FormKind = Literal["lookup", "form"]
WEB_SENDER: Final = Sender("public-web", "public")
"""The sender logged with every fault report of the public forms."""
_PLANNED_PATH: Final = "/planned"
_LIMITERS_LOCK: Final = threading.Lock()

_MESSAGES: Final[dict[str, dict[Lang, str]]] = {
    "affected": {
        Lang.ZH: "您的供电受停电影响（停电事件 {id}），预计 {at} 恢复供电（当地时间）。",
        Lang.EN: "Your supply is affected by outage {id}; expected back at {at} (local time).",
    },
    "affected_unknown": {
        Lang.ZH: "您的供电受停电影响（停电事件 {id}），恢复时间待定。",
        Lang.EN: "Your supply is affected by outage {id}; when it comes back is not known yet.",
    },
    "not_affected": {
        Lang.ZH: "您的供电目前没有受到已知停电的影响。",
        Lang.EN: "Your supply is not affected by any known outage.",
    },
    "planned": {
        Lang.ZH: "计划停电 {id}：{starts} 至 {ends}（当地时间）。",
        Lang.EN: "Planned outage {id}: {starts} to {ends} (local time).",
    },
    "not_found": {
        Lang.ZH: "没有找到这个户号或地址。请按电费单核对后再查。",
        Lang.EN: "No customer has this account number or address. Check it against your bill.",
    },
    "known_outage": {
        Lang.ZH: "已收到您的报修。您所在区域已在停电事件 {id} 中，正在抢修。",
        Lang.EN: "Your report is received. Your area is off in known outage {id}; "
        "it is being repaired.",
    },
    "being_assessed": {
        Lang.ZH: "已收到您的报修，正在核实处理。",
        Lang.EN: "Your report is received and is being assessed.",
    },
    "subscribed": {
        Lang.ZH: "已订阅{channel}停电通知。",
        Lang.EN: "Subscribed to outage notices by {channel}.",
    },
    "unsubscribed": {
        Lang.ZH: "已退订{channel}停电通知。",
        Lang.EN: "Unsubscribed from outage notices by {channel}.",
    },
}
CHANNEL_NAMES: Final[dict[str, dict[Lang, str]]] = {
    "sms": {Lang.ZH: "短信", Lang.EN: "SMS"},
    "email": {Lang.ZH: "电子邮件", Lang.EN: "e-mail"},
}


def message(key: str, lang: Lang, **values: object) -> str:
    text = _MESSAGES[key][lang]
    return text.format(**values) if values else text


def _local(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _lang(value: str | None) -> Lang:
    return Lang.EN if value is not None and value.strip().lower().startswith("en") else Lang.ZH


# -- rate limits ---------------------------------------------------------------------------


def check_rate(request: Request, context: ServiceContext, kind: FormKind) -> None:
    """Count one request of the client at ``request`` to the forms of ``kind``; raises
    :class:`~openoms.api.rate.RateLimitedError` over the limit."""
    state = request.app.state
    with _LIMITERS_LOCK:
        limiters: dict[str, ClientRateLimiter] | None = getattr(state, "public_limiters", None)
        if limiters is None:
            settings = context.settings
            limiters = {
                "lookup": ClientRateLimiter(
                    "lookups",
                    per_minute=settings.public_lookups_per_minute,
                    setting="public_lookups_per_minute",
                ),
                "form": ClientRateLimiter(
                    "fault reports or subscription changes",
                    per_minute=settings.public_forms_per_minute,
                    setting="public_forms_per_minute",
                ),
            }
            state.public_limiters = limiters
    client = request.client.host if request.client is not None else "unknown"
    limiters[kind].check(client, context.clock())


def _lookup_rate(request: Request, context: ContextDep) -> None:
    check_rate(request, context, "lookup")


def _form_rate(request: Request, context: ContextDep) -> None:
    check_rate(request, context, "form")


LangParam = Annotated[str | None, Query(description="zh (default) or en: the message's language.")]


# -- lookup --------------------------------------------------------------------------------


def _customers(session: Session, account: str | None, address: str | None) -> list[Customer]:
    if account is not None:
        found = customer_by_account(session, account)
        return [] if found is None else [found]
    return customers_at_address(session, address or "")


def _outage_ref(context: ServiceContext, session: Session, record: OutageRecord) -> PublicOutageRef:
    shown = public_outage(record, context.network, work_of_outage(session, record))
    at = shown.estimated_restoration_at
    return PublicOutageRef(
        id=record.id,
        kind=shown.kind,
        url=outage_url(context.settings.public_base_url, record.id),
        started_at=shown.started_at,
        estimated_restoration_at=at,
        estimated_restoration_local=None if at is None else _local(at, context.settings.timezone),
    )


def _known_outage(
    context: ServiceContext, session: Session, elements: list[str]
) -> PublicOutageRef | None:
    """The newest public outage (fault or planned, begun) with one of ``elements`` off."""
    records = open_outages_with_areas_off(session, elements, started_by=context.clock())
    public = [r for r in records if r.kind in PUBLIC_KINDS]
    return _outage_ref(context, session, public[0]) if public else None


def _next_planned(
    context: ServiceContext, session: Session, elements: list[str]
) -> PublicPlannedRef | None:
    wanted = set(elements)
    works = planned_store.list_work(
        session, states=UPCOMING_STATES, ends_after=context.clock(), limit=5000
    )
    ahead = [w for w in works if w.outage_id is None and wanted & set(w.element_ids)]
    if not ahead:
        return None
    work = min(ahead, key=lambda w: (w.starts_at, w.id))
    zone = context.settings.timezone
    base = context.settings.public_base_url.rstrip("/")
    return PublicPlannedRef(
        id=work.id,
        url=f"{base}{_PLANNED_PATH}/{work.id}",
        starts_at=work.starts_at,
        ends_at=work.ends_at,
        starts_local=_local(work.starts_at, zone),
        ends_local=_local(work.ends_at, zone),
    )


def lookup_supply(
    context: ServiceContext, session: Session, query: LookupIn, lang: Lang
) -> LookupOut:
    """Whether the supply of the account (or of the customers at the address) is off now."""
    customers = _customers(session, query.account, query.address)
    if not customers:
        return LookupOut(status="not_found", message=message("not_found", lang))
    elements = sorted({c.element_id for c in customers})
    area_ref = elements[0] if len(elements) == 1 else None
    outage = _known_outage(context, session, elements)
    if outage is not None:
        text = (
            message("affected", lang, id=outage.id, at=outage.estimated_restoration_local)
            if outage.estimated_restoration_local
            else message("affected_unknown", lang, id=outage.id)
        )
        return LookupOut(status="affected", message=text, outage=outage, area_ref=area_ref)
    planned = _next_planned(context, session, elements)
    text = message("not_affected", lang)
    if planned is not None:
        text += " " if lang is Lang.EN else ""
        text += message(
            "planned", lang, id=planned.id, starts=planned.starts_local, ends=planned.ends_local
        )
    return LookupOut(status="not_affected", message=text, planned=planned, area_ref=area_ref)


@router.post(
    "/lookup",
    summary="Is my supply off? By account number or address (no personal data answered)",
    responses=problem_responses(422, 429),
    dependencies=[Depends(_lookup_rate)],
)
def post_lookup(
    context: ContextDep, session: SessionDep, body: LookupIn, lang: LangParam = None
) -> LookupOut:
    return lookup_supply(context, session, body, _lang(lang))


# -- fault report --------------------------------------------------------------------------


def _bad_area(element: str) -> InputError:
    return InputError(f"transformer_area: {element!r} is not a transformer area of the network")


def _report_area(context: ServiceContext, session: Session, report: ReportIn) -> str | None:
    """The transformer area (or HV customer) the report is about, when it says or its
    account / address tells; an unknown account or address gives none (the dispatcher
    sees the report as a call without a place)."""
    network = context.network
    if report.transformer_area is not None:
        element = report.transformer_area
        if element not in network:
            raise _bad_area(element)
        kind, _ = network.locate(element)
        if kind not in (ElementKind.TRANSFORMER_AREA, ElementKind.HV_CUSTOMER):
            raise _bad_area(element)
        return element
    elements = {c.element_id for c in _customers(session, report.account, report.address)}
    return next(iter(elements)) if len(elements) == 1 else None


def report_fault(
    context: ServiceContext, report: ReportIn, lang: Lang, *, channel: str
) -> ReportOut:
    """The report as a ``trouble_call`` event through the intake (one transaction on the
    API's pool); whether its place is off in a known public outage."""
    sessions = context.http.sessions
    with sessions() as session:
        element = _report_area(context, session, report)
    payload: dict[str, str] = {"channel": "web", "description": report.description}
    if report.account is not None:
        payload["account"] = report.account
    if report.address is not None:
        payload["address"] = report.address
    if element is not None and (report.transformer_area is not None or report.account is None):
        payload["transformer_area"] = element  # the processor finds an account's itself
    if report.phone is not None:
        payload["callback_phone"] = report.phone
    now = context.clock()
    event = Event(
        kind=EventKind.TROUBLE_CALL,
        source=EventSource.HTTP,
        device_id=None,
        device_time=now,
        payload=payload,
        idempotency_key="" if report.idempotency_key is None else f"web:{report.idempotency_key}",
        sender=WEB_SENDER,
    )
    raw = json.dumps(payload, ensure_ascii=False).encode()
    result = context.intake.accept_events(
        [event],
        source=EventSource.HTTP,
        channel=channel,
        raw_of=[raw],
        received_at=now,
        sessions=sessions,
    )
    if result.rejected:
        raise InputError(f"the report was refused: {result.rejected[0].detail}")
    with sessions() as session:
        outage = None if element is None else _known_outage(context, session, [element])
    if outage is not None:
        return ReportOut(
            status="known_outage",
            duplicate=bool(result.duplicates),
            message=message("known_outage", lang, id=outage.id),
            outage=outage,
        )
    return ReportOut(
        status="being_assessed",
        duplicate=bool(result.duplicates),
        message=message("being_assessed", lang),
    )


@router.post(
    "/reports",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Report a fault (a trouble call through the intake, as the phone centre's)",
    responses=problem_responses(422, 429),
    dependencies=[Depends(_form_rate)],
)
def post_report(
    context: ContextDep, request: Request, body: ReportIn, lang: LangParam = None
) -> ReportOut:
    return report_fault(context, body, _lang(lang), channel=request.url.path)


# -- subscriptions -------------------------------------------------------------------------


def _matches(customer: Customer, channel: CustomerChannel, contact: str) -> bool:
    if channel is CustomerChannel.SMS:
        try:
            return customer.phone is not None and normalize_phone(contact) == customer.phone
        except BadPhoneError:
            return False
    return customer.email is not None and contact.casefold() == customer.email.casefold()


def set_choice(
    context: ServiceContext, session: Session, choice: SubscriptionIn, lang: Lang
) -> SubscriptionOut:
    """Record the choice for every customer (by account, or at the address) whose registered
    contact for the channel is ``choice.contact``; :class:`CustomerNotFoundError` when none
    is. The choice is stored by account: one household's choice never changes a
    neighbour's at the same address."""
    channel = CustomerChannel(choice.channel)
    if channel is CustomerChannel.SMS:
        try:
            normalize_phone(choice.contact)
        except BadPhoneError:
            raise InputError(
                "contact: is not a mainland mobile number (the SMS channel needs the phone "
                "number registered with the account)"
            ) from None
    customers = _customers(session, choice.account, choice.address)
    matching = [c for c in customers if _matches(c, channel, choice.contact)]
    if not matching:
        raise CustomerNotFoundError
    for customer in matching:
        set_subscription(
            session,
            scope=SubscriptionScope.ACCOUNT,
            key=customer.account,
            channel=channel,
            subscribed=choice.subscribed,
            now=context.clock(),
        )
    key: Literal["subscribed", "unsubscribed"] = (
        "subscribed" if choice.subscribed else "unsubscribed"
    )
    return SubscriptionOut(
        status=key,
        channel=choice.channel,
        message=message(key, lang, channel=CHANNEL_NAMES[choice.channel][lang]),
    )


@router.post(
    "/subscriptions",
    summary="Subscribe to or unsubscribe from outage notices (account + registered contact)",
    responses=problem_responses(404, 422, 429),
    dependencies=[Depends(_form_rate)],
)
def post_subscription(
    context: ContextDep, session: SessionDep, body: SubscriptionIn, lang: LangParam = None
) -> SubscriptionOut:
    return set_choice(context, session, body, _lang(lang))
