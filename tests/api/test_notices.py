"""The notice routes: who may call them, the customer import (all rows or none), a notice
with its deliveries (recipients masked), the media feed, the preview, and no customer
contact data on any public route."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from openoms.outages.notices import NoticeSubject
from openoms.service.notices import build_adapters, deliver_due, publish_notice
from openoms.settings import Settings
from openoms.store.tokens import Role
from tests.api.conftest import Api, operations

A, D, P = Role.ADMIN, Role.DISPATCHER, Role.PLANNER
ALL = frozenset(Role)

CSV = """account,name,phone,email,address,street,village,element_id,meter_id,lang,channels,sensitive
ACCT-7700123,张秀英,13912345678,zhang.xiuying@example.cn,王庄村7号,幸福路,王庄村,TA1,M7,,sms;email,no
ACCT-7700124,Wang Xiaoming,13912340000,,李村3号,,李村,TA2,M8,en,sms,no
"""
PRIVATE = [
    "张秀英",
    "Wang Xiaoming",
    "13912345678",
    "13912340000",
    "zhang.xiuying@example.cn",
    "ACCT-7700123",
    "ACCT-7700124",
    "王庄村7号",
    "李村3号",
]


def import_csv(api: Api, text: str = CSV, role: Role = A) -> Any:
    return api.post("/api/v1/notices/customers", role=role, json={"source": "c.csv", "csv": text})


def notice(api: Api) -> int:
    """The customers imported and a planned-outage notice on TA1 and TA2, delivered (SMS to
    the outbox, the media texts to the feed)."""
    assert import_csv(api).status_code == 200
    context = api.context
    subject = NoticeSubject(
        ref="planned:9",
        kind="planned",
        action="new",
        revision=1,
        starts_at=api.clock.now + timedelta(days=9),
        ends_at=api.clock.now + timedelta(days=9, hours=6),
        element_ids=("TA1", "TA2"),
        villages=("王庄村", "李村"),
        streets=("幸福路",),
        line="甲Ⅰ线",
        reason_zh="更换17号杆",
        reason_en="replace pole 17",
    )
    with context.sessions.begin() as session:
        result = publish_notice(context, session, subject, now=api.clock.now)
    api.clock.advance(seconds=context.settings.notice_hold_s + 1)
    deliver_due(context, build_adapters(context))
    return result.notice_id


def _notice(api: Api) -> dict[str, Any]:
    return {"id": notice(api)}


NOTICE_CASE_ARGS: list[dict[str, Any]] = [
    {"method": "GET", "path": "/api/v1/notices", "allowed": ALL},
    {"method": "GET", "path": "/api/v1/notices/media", "allowed": ALL},
    {
        "method": "GET",
        "path": "/api/v1/notices/{id}",
        "allowed": frozenset({A, D, P}),
        "setup": _notice,
    },
    {
        "method": "POST",
        "path": "/api/v1/notices/preview",
        "allowed": frozenset({A, D, P}),
        "body": lambda _: {"kind": "planned", "starts_at": "2024-06-10T08:00:00+08:00"},
    },
    {
        "method": "POST",
        "path": "/api/v1/notices/customers",
        "allowed": frozenset({A}),
        "body": lambda _: {"source": "c.csv", "csv": CSV},
    },
    {
        "method": "POST",
        "path": "/api/v1/notices/subscriptions",
        "allowed": frozenset({A, D}),
        "body": lambda _: {
            "scope": "account",
            "key": "ACCT-7700123",
            "channel": "sms",
            "subscribed": False,
        },
        "setup": lambda api: {"imported": import_csv(api).status_code},
    },
]
"""The notice routes as keyword arguments of tests/api/test_auth.py's ``Case`` (that table
may take them: ``*(Case(**kw) for kw in NOTICE_CASE_ARGS)``; plain values, so that this
module does not import that one at import time)."""


def notice_cases() -> list[Any]:
    from tests.api.test_auth import Case

    return [Case(**kw) for kw in NOTICE_CASE_ARGS]


def test_every_role_may_make_exactly_its_notice_calls(api: Api) -> None:
    wrong = []
    for case in notice_cases():
        for role in (None, *Role):
            params = case.setup(api)
            kwargs: dict[str, Any] = {} if case.body is None else {"json": case.body(params)}
            response = api.request(case.method, case.path.format(**params), role=role, **kwargs)
            expected = 401 if role is None else case.ok if role in case.allowed else 403
            if response.status_code != expected:
                wrong.append(f"{case.label()} as {role}: {response.status_code} != {expected}")
    assert wrong == []


def test_the_cases_cover_every_notice_route(api: Api) -> None:
    routes = {
        (method, re.sub(r"\{[a-z_]+\}", "{id}", path))
        for (method, path), tags in operations(api.app).items()
        if "notices" in tags
    }
    assert routes == {(kw["method"], kw["path"]) for kw in NOTICE_CASE_ARGS}


def test_a_bad_customer_file_is_refused_whole_naming_each_row(api: Api) -> None:
    bad = CSV + "ACCT-1,李四,12345,,李村9号,,李村,TA9,,,sms,no\n"
    response = import_csv(api, bad)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "c.csv:4: phone '***45'" in detail
    assert "12345" not in detail  # the bad number masked
    unknown = import_csv(api, CSV + "ACCT-1,李四,13900000001,,李村9号,,李村,TA9,,,sms,no\n")
    assert unknown.status_code == 422
    assert (
        "c.csv:4: element_id 'TA9': not a transformer area or HV customer"
        in unknown.json()["detail"]
    )
    # nothing was imported: a subscription for the good rows' accounts is refused
    refused = api.post(
        "/api/v1/notices/subscriptions",
        role=D,
        json={"scope": "account", "key": "ACCT-7700123", "channel": "sms", "subscribed": True},
    )
    assert refused.status_code == 422
    assert "no customer with account" in refused.json()["detail"]


def test_a_notice_shows_every_delivery_with_recipients_masked(api: Api) -> None:
    notice_id = notice(api)
    response = api.get(f"/api/v1/notices/{notice_id}", role=D)
    assert response.status_code == 200
    body = response.json()
    recipients = sorted((d["channel"], d["recipient"], d["state"]) for d in body["items"])
    assert recipients == [
        ("broadcast", "media-zh-CN", "sent"),
        ("email", "z***@example.cn", "pending"),  # no SMTP server configured: it waits
        ("sms", "139****0000", "sent"),
        ("sms", "139****5678", "sent"),
        ("weibo", "media-zh-CN", "sent"),
    ]
    assert "13912345678" not in response.text
    assert "zhang.xiuying@example.cn" not in response.text
    assert body["deliveries"] == {"pending": 1, "sent": 4}
    assert api.get("/api/v1/notices/999", role=D).status_code == 404


def test_the_media_feed_has_the_weibo_post_and_the_announcement(api: Api) -> None:
    notice(api)
    feed = api.get("/api/v1/notices/media", role=Role.VIEWER).json()
    assert sorted(item["channel"] for item in feed) == ["broadcast", "weibo"]
    weibo = next(item for item in feed if item["channel"] == "weibo")
    assert weibo["text"].startswith("#停电通知# 因更换17号杆")
    assert len(weibo["text"]) <= 140
    assert not any(p in str(feed) for p in PRIVATE)


def test_the_preview_renders_without_publishing(api: Api) -> None:
    response = api.post(
        "/api/v1/notices/preview",
        role=P,
        json={
            "kind": "planned",
            "action": "cancelled",
            "starts_at": "2024-06-10T08:00:00+08:00",
            "ends_at": "2024-06-10T14:00:00+08:00",
            "villages": ["王庄村"],
            "line": "甲Ⅰ线",
            "lang": "en",
            "channel": "email",
        },
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Planned outage cancelled: 10 Jun 08:00 to 14:00"
    assert api.get("/api/v1/notices", role=D).json() == []


def test_no_public_route_shows_customer_contact_data(api: Api) -> None:
    notice(api)
    api.fault_outage("K1")  # an outage now, under TA2 with its customers
    outage_ids = [o["id"] for o in api.get("/api/v1/public/outages").json()["current"]]
    assert outage_ids  # the detail page is checked too
    paths = ["/api/v1/public/outages", *(f"/api/v1/public/outages/{i}" for i in outage_ids)]
    public = [path for (method, path), tags in operations(api.app).items() if "public" in tags]
    # Besides reading, the public may only use the three forms, whose answers are checked for
    # personal data in tests/api/test_public.py.
    assert {
        (method, path)
        for (method, path), tags in operations(api.app).items()
        if "public" in tags and method != "GET"
    } == {
        ("POST", "/api/v1/public/lookup"),
        ("POST", "/api/v1/public/reports"),
        ("POST", "/api/v1/public/subscriptions"),
    }
    assert public  # the public routes exist
    for path in paths:
        response = api.get(path)
        assert response.status_code == 200, path
        leaked = [p for p in PRIVATE if p in response.text]
        assert leaked == [], path
    # and the notice routes are not reachable without a token
    for path in ("/api/v1/notices", "/api/v1/notices/media", "/api/v1/notices/1"):
        assert api.get(path).status_code == 401


def test_settings_default_media_language() -> None:
    assert Settings().notice_media_langs == ["zh-CN"]
