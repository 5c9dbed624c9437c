"""The public forms: the supply lookup, the fault report (a trouble call through the intake
and the processor) and the notice subscription, as JSON and as pages; rate limits per client;
hostile input refused naming its field; never a customer's name, phone, e-mail or address.

The customers (tests/api conftest's small network): 甲 on TA2 (李村, put off by opening K1),
乙 on TA5 (张营, where planned work on CB3 is booked for 10 June), 丙 and 丁 at the same
address on TA1.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from openoms.contacts.customers import Customer, CustomerChannel
from openoms.events import EventKind
from openoms.outages.records import OutageKind
from openoms.service.processor import EventProcessor
from openoms.store import eventlog
from openoms.store.calls import CallLink
from openoms.store.customers import effective_channels, list_customers, replace_customers
from openoms.store.tables_calls import TroubleCall
from tests.api.conftest import Api
from tests.api.test_public import book_planned

CUSTOMERS = (
    Customer("ACC-1001", "张秀英", "13912345678", "zxy@example.cn", "李村 8 号", "李村路", "李村",
             "TA2"),
    Customer("ACC-2002", "Wang Xiaoming", "13800001111", None, "张营 3 号", "", "张营", "TA5"),
    Customer("ACC-3003", "赵丙", "13700002222", "bing@example.cn", "王庄 1 号", "", "王庄村",
             "TA1"),
    Customer("ACC-4004", "钱丁", "13600003333", None, "王庄 1 号", "", "王庄村", "TA1"),
)  # fmt: skip
PRIVATE = [
    "张秀英",
    "Wang Xiaoming",
    "赵丙",
    "钱丁",
    "13912345678",
    "13800001111",
    "zxy@example.cn",
    "bing@example.cn",
    "李村 8 号",
    "张营 3 号",
    "王庄 1 号",
    "李村路",
]


@pytest.fixture
def forms(web: Api) -> Api:
    with web.context.sessions.begin() as session:
        replace_customers(session, CUSTOMERS, source="tests", now=web.clock.now)
    return web


def _lookup(api: Api, **body: str) -> dict[str, object]:
    response = api.post("/api/v1/public/lookup", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


# -- lookup ------------------------------------------------------------------------------


def test_an_affected_account_is_told_its_outage_and_the_local_time_it_is_expected_back(
    forms: Api,
) -> None:
    # The estimate 2024-06-01T10:00Z is 18:00 in Asia/Shanghai (UTC+8, no DST).
    outage = forms.fault_outage(
        "K1", summary={"en": "K1 open", "estimated_restoration_at": "2024-06-01T10:00:00+00:00"}
    )
    answer = _lookup(forms, account="ACC-1001")
    assert answer["status"] == "affected"
    assert answer["message"] == (
        f"您的供电受停电影响（停电事件 {outage}），预计 2024-06-01 18:00 恢复供电（当地时间）。"
    )
    assert answer["outage"] == {
        "id": outage,
        "kind": "fault",
        "url": f"http://127.0.0.1:8080/outages/{outage}",
        "started_at": "2024-06-01T07:30:00Z",
        "estimated_restoration_at": "2024-06-01T10:00:00Z",
        "estimated_restoration_local": "2024-06-01 18:00",
    }
    assert answer["area_ref"] == "TA2"
    english = forms.post(
        "/api/v1/public/lookup", params={"lang": "en"}, json={"account": "ACC-1001"}
    ).json()
    assert english["message"] == (
        f"Your supply is affected by outage {outage}; expected back at 2024-06-01 18:00 "
        "(local time)."
    )
    # By address, compared without blanks and case.
    assert _lookup(forms, address=" 李村8号 ")["status"] == "affected"


def test_an_unaffected_account_hears_of_its_next_planned_outage(forms: Api) -> None:
    forms.fault_outage("K1")  # 李村 only
    planned = book_planned(forms, "CB3")  # TA5, 10 June 08:00 to 14:00 local
    answer = _lookup(forms, account="ACC-2002")
    assert answer["status"] == "not_affected"
    assert answer["outage"] is None
    assert answer["planned"] == {
        "id": planned,
        "url": f"http://127.0.0.1:8080/planned/{planned}",
        "starts_at": "2024-06-10T00:00:00Z",
        "ends_at": "2024-06-10T06:00:00Z",
        "starts_local": "2024-06-10 08:00",
        "ends_local": "2024-06-10 14:00",
    }
    assert answer["message"] == (
        f"您的供电目前没有受到已知停电的影响。计划停电 {planned}：2024-06-10 08:00 至 "
        "2024-06-10 14:00（当地时间）。"
    )
    assert _lookup(forms, account="ACC-3003") == {
        "status": "not_affected",
        "message": "您的供电目前没有受到已知停电的影响。",
        "outage": None,
        "planned": None,
        "area_ref": "TA1",
    }


def test_an_unknown_account_is_only_not_found(forms: Api) -> None:
    for body in ({"account": "ACC-9999"}, {"address": "不存在的地址"}):
        assert _lookup(forms, **body) == {
            "status": "not_found",
            "message": "没有找到这个户号或地址。请按电费单核对后再查。",
            "outage": None,
            "planned": None,
            "area_ref": None,
        }


def test_a_customers_own_fault_is_not_an_outage_of_the_lookup(forms: Api) -> None:
    forms.fault_outage("FU1", kind=OutageKind.CUSTOMER)  # private: one customer's own
    assert _lookup(forms, account="ACC-1001")["status"] == "not_affected"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"account": "A", "address": "B"}, "body"),
        ({"account": "x" * 65}, "account"),
        ({"account": "ACC\u0000"}, "account"),
        ({"account": "   "}, "account"),
        ({"account": "ACC-1001", "name": "张秀英"}, "name"),
        ({"address": "a\nb"}, "address"),
    ],
)
def test_hostile_lookups_are_422_naming_the_field(
    forms: Api, body: dict[str, str], field: str
) -> None:
    response = forms.post("/api/v1/public/lookup", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "urn:openoms:problem:invalid-request"
    assert any(e["location"][-1] == field or e["location"] == [field] for e in problem["errors"])
    assert "张秀英" not in response.text


def test_lookups_are_rate_limited_per_client(forms: Api) -> None:
    limit = forms.context.settings.public_lookups_per_minute
    for _ in range(limit):
        assert forms.post("/api/v1/public/lookup", json={"account": "X"}).status_code == 200
    refused = forms.post("/api/v1/public/lookup", json={"account": "ACC-1001"})
    assert refused.status_code == 429
    assert refused.json()["type"] == "urn:openoms:problem:rate-limited"
    assert refused.json()["limit"] == limit
    assert refused.headers["Retry-After"] == "60"  # all sent at the same clock time
    # Another client is not limited; after a minute this one is served again.
    other = forms.post(
        "/api/v1/public/lookup", json={"account": "X"}, headers={"X-Real-IP": "ignored"}
    )
    assert other.status_code == 429  # the peer address counts, not a header anyone can send
    forms.clock.advance(seconds=60)
    assert forms.post("/api/v1/public/lookup", json={"account": "X"}).status_code == 200


# -- fault report ----------------------------------------------------------------------------


def _calls(api: Api) -> list[TroubleCall]:
    with api.context.sessions() as session:
        return list(session.scalars(select(TroubleCall).order_by(TroubleCall.id)))


def test_a_report_in_a_known_outage_is_merged_into_it_by_the_processor(forms: Api) -> None:
    outage = forms.fault_outage("K1")
    body = {
        "account": "ACC-1001",
        "description": "全村停电",
        "phone": "+86 139 1234 5678",
        "idempotency_key": "form-0000001",
    }
    response = forms.post("/api/v1/public/reports", json=body)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["status"] == "known_outage"
    assert answer["duplicate"] is False
    assert answer["outage"]["id"] == outage
    assert answer["message"] == f"已收到您的报修。您所在区域已在停电事件 {outage} 中，正在抢修。"
    for secret in PRIVATE:
        assert secret not in response.text
    # Sent twice (a double click): one event, one call.
    again = forms.post("/api/v1/public/reports", json=body)
    assert again.json()["duplicate"] is True
    with forms.context.sessions() as session:
        logged = eventlog.list_events(session, kinds=[EventKind.TROUBLE_CALL], limit=10)
    assert len(logged) == 1
    assert logged[0].event.payload == {
        "channel": "web",
        "description": "全村停电",
        "account": "ACC-1001",
        "callback_phone": "13912345678",
    }
    assert logged[0].event.sender is not None
    assert logged[0].event.sender.name == "public-web"
    EventProcessor(forms.context).process_pending()
    [call] = _calls(forms)
    assert (call.link, call.outage_id, call.element_id) == (CallLink.ATTACHED, outage, "TA2")


def test_a_report_elsewhere_is_being_assessed_and_grouped_by_the_processor(forms: Api) -> None:
    # By address: the one area of the customers there (TA1) goes into the call.
    response = forms.post(
        "/api/v1/public/reports",
        json={"address": "王庄1号", "description": "停电了"},
        params={"lang": "en"},
    )
    assert response.status_code == 202
    assert response.json() == {
        "status": "being_assessed",
        "duplicate": False,
        "message": "Your report is received and is being assessed.",
        "outage": None,
    }
    # From a lookup's area, with an unknown account: still received (nothing said of it).
    area = forms.post(
        "/api/v1/public/reports",
        json={"transformer_area": "TA1", "account": "nobody", "description": "线断了"},
    )
    assert area.json()["status"] == "being_assessed"
    EventProcessor(forms.context).process_pending()
    calls = _calls(forms)
    assert [c.element_id for c in calls] == ["TA1", "TA1"]
    assert all(c.link != CallLink.UNRESOLVED for c in calls)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "x"}, "body"),
        ({"account": "ACC-1001"}, "description"),
        ({"account": "ACC-1001", "description": "x" * 501}, "description"),
        ({"account": "ACC-1001", "description": "x", "phone": "12345"}, "phone"),
        ({"account": "ACC-1001", "description": "x", "idempotency_key": "a b"}, "idempotency_key"),
        ({"account": "ACC-1001", "description": "a\u0000"}, "description"),
        ({"account": "ACC-1001", "description": "x", "device_id": "CB1"}, "device_id"),
    ],
)
def test_hostile_reports_are_422_naming_the_field(
    forms: Api, body: dict[str, str], field: str
) -> None:
    response = forms.post("/api/v1/public/reports", json=body)
    assert response.status_code == 422, response.text
    locations = [e["location"] for e in response.json()["errors"]]
    assert any(loc[-1] == field for loc in locations), locations


def test_a_report_naming_a_device_that_is_not_an_area_is_422(forms: Api) -> None:
    for element in ("CB1", "NO-SUCH"):
        response = forms.post(
            "/api/v1/public/reports", json={"transformer_area": element, "description": "x"}
        )
        assert response.status_code == 422
        assert response.json()["detail"].startswith("transformer_area: ")
    with forms.context.sessions() as session:
        assert eventlog.list_events(session, kinds=[EventKind.TROUBLE_CALL], limit=10) == []


def test_reports_are_rate_limited(forms: Api) -> None:
    limit = forms.context.settings.public_forms_per_minute
    body = {"transformer_area": "TA1", "description": "x"}
    codes = [forms.post("/api/v1/public/reports", json=body).status_code for _ in range(limit + 1)]
    assert codes == [202] * limit + [429]


# -- subscriptions ---------------------------------------------------------------------------


def _channels(api: Api) -> dict[str, tuple[CustomerChannel, ...]]:
    with api.context.sessions() as session:
        return effective_channels(session, list_customers(session))


def test_unsubscribe_and_subscribe_with_the_registered_contact(forms: Api) -> None:
    assert _channels(forms)["ACC-1001"] == (CustomerChannel.SMS, CustomerChannel.EMAIL)
    off = forms.post(
        "/api/v1/public/subscriptions",
        json={"account": "ACC-1001", "channel": "sms", "contact": "139-1234-5678",
              "subscribed": False},
    )  # fmt: skip
    assert off.status_code == 200, off.text
    assert off.json() == {
        "status": "unsubscribed",
        "channel": "sms",
        "message": "已退订短信停电通知。",
    }
    assert _channels(forms)["ACC-1001"] == (CustomerChannel.EMAIL,)
    on = forms.post(
        "/api/v1/public/subscriptions",
        params={"lang": "en"},
        json={"account": "ACC-1001", "channel": "sms", "contact": "13912345678",
              "subscribed": True},
    )  # fmt: skip
    assert on.json()["message"] == "Subscribed to outage notices by SMS."
    assert _channels(forms)["ACC-1001"] == (CustomerChannel.SMS, CustomerChannel.EMAIL)


def test_by_address_only_the_household_whose_contact_matches_is_changed(forms: Api) -> None:
    response = forms.post(
        "/api/v1/public/subscriptions",
        json={"address": "王庄 1 号", "channel": "sms", "contact": "13600003333",
              "subscribed": False},
    )  # fmt: skip
    assert response.status_code == 200
    channels = _channels(forms)
    assert channels["ACC-4004"] == ()
    assert channels["ACC-3003"] == (CustomerChannel.SMS, CustomerChannel.EMAIL)


def test_a_wrong_contact_is_the_same_404_as_an_unknown_account(forms: Api) -> None:
    bodies = [
        {"account": "ACC-1001", "channel": "sms", "contact": "13800001111"},  # someone else's
        {"account": "ACC-9999", "channel": "sms", "contact": "13912345678"},
        {"account": "ACC-1001", "channel": "email", "contact": "other@example.cn"},
        {"account": "ACC-2002", "channel": "email", "contact": "x@example.cn"},  # has none
    ]
    answers = [
        forms.post("/api/v1/public/subscriptions", json={**b, "subscribed": False}) for b in bodies
    ]
    assert {r.status_code for r in answers} == {404}
    assert len({(r.json()["type"], r.json()["detail"]) for r in answers}) == 1
    assert answers[0].json()["type"] == "urn:openoms:problem:customer-not-found"
    assert _channels(forms)["ACC-1001"] == (CustomerChannel.SMS, CustomerChannel.EMAIL)


def test_a_subscription_with_a_bad_phone_or_channel_is_422(forms: Api) -> None:
    bad_phone = forms.post(
        "/api/v1/public/subscriptions",
        json={"account": "ACC-1001", "channel": "sms", "contact": "zxy@example.cn",
              "subscribed": False},
    )  # fmt: skip
    assert bad_phone.status_code == 422
    assert bad_phone.json()["detail"].startswith("contact: ")
    bad_channel = forms.post(
        "/api/v1/public/subscriptions",
        json={"account": "ACC-1001", "channel": "wechat", "contact": "x", "subscribed": False},
    )
    assert bad_channel.status_code == 422
    assert ["body", "channel"] in [e["location"] for e in bad_channel.json()["errors"]]


# -- the pages -------------------------------------------------------------------------------


def _form(api: Api, path: str, **fields: str) -> tuple[int, str]:
    response = api.post(
        path,
        content="&".join(f"{k}={v}" for k, v in fields.items()).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return response.status_code, response.text


def test_the_lookup_page_answers_and_links_to_the_outage_and_the_report_form(forms: Api) -> None:
    outage = forms.fault_outage("K1")
    page = forms.get("/lookup")
    assert page.status_code == 200
    assert '<label for="f-account">户号</label>' in page.text
    assert 'aria-current="page"' in page.text
    status, html = _form(forms, "/lookup", account="ACC-1001")
    assert status == 200
    assert f"您的供电受停电影响（停电事件 {outage}），恢复时间待定。" in html
    assert f'href="/outages/{outage}"' in html
    assert 'href="/report?area=TA2"' in html
    assert 'role="status"' in html
    status, html = _form(forms, "/lookup?lang=en", account="ACC-9999")
    assert "No customer has this account number or address." in html
    for secret in PRIVATE:
        assert secret not in html


def test_the_report_page_sends_a_call_and_says_what_happened(forms: Api) -> None:
    outage = forms.fault_outage("K1")
    page = forms.get("/report", params={"area": "TA2"})
    assert 'name="transformer_area" type="text" value="TA2"' in page.text
    key = page.text.split('name="idempotency_key" value="')[1].split('"')[0]
    status, html = _form(
        forms, "/report", transformer_area="TA2", description="%E5%81%9C%E7%94%B5",
        phone="13912345678", idempotency_key=key,
    )  # fmt: skip
    assert status == 202
    assert f"您所在区域已在停电事件 {outage} 中" in html
    assert "13912345678" not in html
    status, html = _form(forms, "/report", description="x", phone="123")
    assert status == 422
    assert 'role="alert"' in html
    assert '<a href="#f-phone">回访电话（可不填）</a>' in html
    assert 'id="f-phone" name="phone" type="tel" value="123"' in html
    assert 'aria-invalid="true"' in html
    assert "✗ 不是有效的手机号码（11 位，以 1 开头）" in html
    status, html = _form(forms, "/report", description="x")
    assert status == 422
    assert "请填写户号、地址或台区中的一项" in html


def test_the_subscribe_page_unsubscribes_without_login(forms: Api) -> None:
    assert "<legend>通知方式</legend>" in forms.get("/subscribe").text
    status, html = _form(
        forms, "/subscribe", account="ACC-1001", channel="email", contact="ZXY%40example.cn",
        subscribed="false",
    )  # fmt: skip
    assert status == 200
    assert "已退订电子邮件停电通知。" in html
    assert _channels(forms)["ACC-1001"] == (CustomerChannel.SMS,)
    status, html = _form(
        forms, "/subscribe", account="ACC-1001", channel="sms", contact="13800001111",
        subscribed="false",
    )  # fmt: skip
    assert status == 404
    assert "没有找到这个户号（或地址）与该联系方式的登记" in html
    assert "zxy@example.cn" not in html.casefold()


def test_hostile_form_values_are_escaped_and_named(forms: Api) -> None:
    status, html = _form(forms, "/lookup", account="%3Cscript%3Ealert(1)%3C/script%3E")
    assert status == 200  # a well-formed account that no customer has
    assert "<script>alert" not in html
    status, html = _form(forms, "/lookup", account="a" * 65)
    assert status == 422
    assert "太长（最多 64 个字符）" in html
    status, html = _form(forms, "/lookup", account="1", address="2")
    assert status == 422
    assert "请填写户号或地址（只填一项）" in html


def test_the_form_pages_are_rate_limited_too(forms: Api) -> None:
    limit = forms.context.settings.public_lookups_per_minute
    codes = [_form(forms, "/lookup", account="X")[0] for _ in range(limit + 1)]
    assert codes == [200] * limit + [429]
    assert "提交过于频繁，请 60 秒后再试。" in _form(forms, "/lookup", account="X")[1]
    forms.clock.advance(minutes=1)
    assert _form(forms, "/lookup", account="X")[0] == 200


def test_no_form_answer_holds_personal_data(forms: Api) -> None:
    forms.fault_outage("K1")
    book_planned(forms, "CB3")
    forms.clock.advance(seconds=1)
    responses = [
        forms.post("/api/v1/public/lookup", json={"account": c.account}) for c in CUSTOMERS
    ]
    responses += [
        forms.post("/api/v1/public/lookup", json={"address": c.address}) for c in CUSTOMERS
    ]
    forms.clock.advance(minutes=1)
    responses += [
        forms.post(
            "/api/v1/public/reports",
            json={"account": c.account, "description": "停电", "phone": c.phone},
        )
        for c in CUSTOMERS
    ]
    forms.clock.advance(minutes=1)
    responses += [
        forms.post(
            "/api/v1/public/subscriptions",
            json={
                "account": c.account,
                "channel": "sms",
                "contact": c.phone or "",
                "subscribed": True,
            },
        )
        for c in CUSTOMERS
    ]
    assert all(r.status_code < 300 for r in responses), [r.text for r in responses]
    forms.clock.advance(minutes=1)
    EventProcessor(forms.context).process_pending()
    pages = [forms.get(p) for p in ("/", "/public/outages.geojson", "/lookup", "/report")]
    for response in [*responses, *pages]:
        text = response.text + str(response.headers)
        for secret in PRIVATE:
            assert secret not in text, (secret, response.url)
