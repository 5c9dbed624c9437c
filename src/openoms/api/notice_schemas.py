"""Schemas of the notice routes (:mod:`openoms.api.routes.notices`).

A delivery shows its recipient masked (``138****1001``, ``w***@example.cn``) and the
customer's account; the routes that show them are the control room's and the admin's,
never public ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from openoms.api.schemas import Name, RequestBody, UtcTime
from openoms.outages.notices import NoticeSubject
from openoms.store.notices import DeliveryItem, NoticeItem

__all__ = [
    "CustomersImportIn",
    "CustomersImportOut",
    "DeliveryOut",
    "MediaItemOut",
    "NoticeDetailOut",
    "NoticeOut",
    "NoticePreviewIn",
    "NoticePreviewOut",
    "SubjectOut",
    "SubscriptionIn",
    "SubscriptionOut",
]

Channel = Literal["sms", "email", "wecom", "dingtalk", "feishu", "weibo", "broadcast"]


class SubjectOut(BaseModel):
    ref: str
    kind: str
    action: str
    revision: int
    starts_at: datetime
    ends_at: datetime | None
    element_ids: list[str]
    villages: list[str]
    streets: list[str]
    line: str | None
    reason_zh: str
    reason_en: str

    @classmethod
    def from_domain(cls, s: NoticeSubject) -> SubjectOut:
        return cls(
            ref=s.ref,
            kind=s.kind,
            action=s.action,
            revision=s.revision,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            element_ids=list(s.element_ids),
            villages=list(s.villages),
            streets=list(s.streets),
            line=s.line,
            reason_zh=s.reason_zh,
            reason_en=s.reason_en,
        )


class NoticeOut(BaseModel):
    id: int
    subject: SubjectOut
    created_at: datetime
    deliveries: dict[str, int] = Field(description="Deliveries per state.")

    @classmethod
    def from_domain(cls, item: NoticeItem) -> NoticeOut:
        return cls(
            id=item.id,
            subject=SubjectOut.from_domain(item.subject),
            created_at=item.created_at,
            deliveries=item.states,
        )


class DeliveryOut(BaseModel):
    id: int
    channel: str
    account: str | None
    recipient: str = Field(description="Masked for SMS and e-mail.")
    lang: str
    title: str | None
    body: str
    state: str
    attempts: int
    not_before: datetime
    sent_at: datetime | None
    result: str | None
    outbox_id: int | None

    @classmethod
    def from_domain(cls, d: DeliveryItem) -> DeliveryOut:
        return cls(
            id=d.id,
            channel=d.channel,
            account=d.account,
            recipient=d.masked_recipient,
            lang=d.lang,
            title=d.title,
            body=d.body,
            state=d.state.value,
            attempts=d.attempts,
            not_before=d.not_before,
            sent_at=d.sent_at,
            result=d.result,
            outbox_id=d.outbox_id,
        )


class NoticeDetailOut(NoticeOut):
    items: list[DeliveryOut]


class MediaItemOut(BaseModel):
    """A text for the media desk: a Weibo post or a TV / radio announcement."""

    id: int
    notice_id: int
    channel: str
    lang: str
    title: str | None
    text: str
    published_at: datetime | None

    @classmethod
    def from_domain(cls, d: DeliveryItem) -> MediaItemOut:
        return cls(
            id=d.id,
            notice_id=d.notice_id,
            channel=d.channel,
            lang=d.lang,
            title=d.title,
            text=d.body,
            published_at=d.sent_at,
        )


class CustomersImportIn(RequestBody):
    source: Name = Field(description="Where the rows came from (a file name), named in errors.")
    csv: Annotated[str, Field(max_length=50_000_000)] = Field(
        description="The customer CSV (docs/notices.md)."
    )


class CustomersImportOut(BaseModel):
    imported: int


class SubscriptionIn(RequestBody):
    scope: Literal["account", "address"]
    key: Annotated[str, Field(min_length=1, max_length=300)]
    channel: Literal["sms", "email"]
    subscribed: bool


class SubscriptionOut(BaseModel):
    customers: int = Field(description="How many customers the choice applies to.")


class NoticePreviewIn(RequestBody):
    """A subject to render without publishing it."""

    ref: Name = "preview"
    kind: Literal["planned", "temporary", "fault"]
    action: Literal["new", "changed", "cancelled", "restored"] = "new"
    starts_at: UtcTime
    ends_at: UtcTime | None = None
    villages: list[Name] = Field(default_factory=list, max_length=500)
    streets: list[Name] = Field(default_factory=list, max_length=500)
    line: Name | None = None
    reason_zh: Annotated[str, Field(max_length=500)] = ""
    reason_en: Annotated[str, Field(max_length=500)] = ""
    lang: Literal["zh-CN", "en"] = "zh-CN"
    channel: Channel = "sms"


class NoticePreviewOut(BaseModel):
    title: str
    body: str
