"""The public outage pages and their GeoJSON feed: areas, counts, times in the utility's zone,
the crew's stage and the cause category, planned outages as booked (their own page, a
postponed one saying so, never a draft or a cancelled one), zh and en, a 404 page, the crew
SMS link, and never a customer's name, phone number, account or address."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.from_thread
import httpx
import pytest

from openoms.api import create_app
from openoms.grid.model import Network
from openoms.outages.lifecycle import OutageState
from openoms.outages.planned import PlannedState, WorkType
from openoms.outages.records import OutageKind
from openoms.store import outages
from openoms.web import install_public_pages
from openoms.web.view import cause_category
from tests.api.conftest import Api
from tests.api.conftest import Clock as ApiClock
from tests.api.test_public import (
    PRIVATE,
    _private_outage_data,
    book_planned,
    postpone_planned,
    start_planned,
    switch,
)
from tests.service.test_crew_alert_texts import LOCKOUT, _report, _rig, _settle


def _planned(api: Api, device: str = "CB3", **fields: object) -> int:
    """Planned work booked and notified for 10 June, 00:00 to 06:00 UTC (08:00 to 14:00 in
    Beijing time); CB3 puts off TA5 (张营, 30 customers) on 乙Ⅰ线."""
    return book_planned(api, device, **fields)  # type: ignore[arg-type]


def _section(html: str, heading_id: str) -> str:
    """The HTML of the ``<section>`` labelled by ``heading_id``."""
    found = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', html, re.S)
    assert found is not None, heading_id
    return found.group(1)


def _html(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("text/html"), response.headers
    return response.text


def test_the_page_lists_outages_now_and_planned_by_area_with_counts_and_local_times(
    web: Api,
) -> None:
    fault = web.fault_outage("K1")  # 李村: TA2 (36 customers) off since 07:30 UTC
    customer = web.fault_outage("FU1", kind=OutageKind.CUSTOMER)
    planned = _planned(web)  # 张营

    page = web.get("/")
    assert page.status_code == 200
    html = _html(page)
    assert '<html lang="zh-CN">' in html
    assert "<title>停电信息</title>" in html
    now = _section(html, "current-h")
    later = _section(html, "upcoming-h")
    assert f'href="/outages/{fault}"' in now
    assert "李村" in now
    assert "张营" not in now
    assert f'href="/planned/{planned}"' in later
    assert f'id="planned-{planned}"' in later
    assert "张营" in later
    assert "李村" not in later
    assert f"/outages/{customer}" not in html  # one customer's own fault is private
    assert "目前共 36 户停电，1 起停电事件。" in html  # the planned outage has not begun
    assert "<dt>停电户数</dt><dd>36</dd>" in now
    # 07:30 UTC is 15:30 in Asia/Shanghai; the refresh is the clock's 08:00 UTC, 16:00 local.
    assert '<time datetime="2024-06-01T15:30+08:00">2024-06-01 15:30</time>' in now
    # The booking's window, 10 June 00:00 to 06:00 UTC, is 08:00 to 14:00 local.
    assert '<dt>计划开始</dt><dd><time datetime="2024-06-10T08:00+08:00">2024-06-10 08:00' in later
    assert '<dt>计划结束</dt><dd><time datetime="2024-06-10T14:00+08:00">2024-06-10 14:00' in later
    assert '更新时间：<time datetime="2024-06-01T16:00+08:00">2024-06-01 16:00</time>' in html
    assert "Asia/Shanghai" in html
    assert "<dt>停电原因</dt><dd>正在查找</dd>" in now  # no cause yet
    assert "<dt>抢修进度</dt><dd>正在安排</dd>" in now  # no crew yet
    for row in ("线路</dt><dd>乙Ⅰ线", "状态</dt><dd>已公告", "停电户数</dt><dd>30",
                "停电台区数</dt><dd>1", "工作内容</dt><dd>计划检修"):  # fmt: skip
        assert f"<dt>{row}</dd>" in later, row

    english = _html(web.get("/", params={"lang": "en"}))
    assert '<html lang="en">' in english
    assert "<title>Power outages</title>" in english
    assert "36 customers are off supply now, in 1 outage(s)." in english
    assert "<dt>Customers off</dt><dd>36</dd>" in english
    assert f'href="/outages/{fault}?lang=en"' in english
    assert f'href="/planned/{planned}?lang=en"' in english
    assert "<dt>Work</dt><dd>planned maintenance</dd>" in english
    assert "<dt>Status</dt><dd>Announced</dd>" in english
    assert "<dt>Customers affected</dt><dd>30</dd>" in english
    assert "停电户数" not in english
    assert 'href="/" hreflang="zh-CN"' in english  # the way back to Chinese
    assert 'href="/?lang=en" hreflang="en"' in html


def test_an_unknown_language_is_chinese_not_an_error(web: Api) -> None:
    for lang in ("fr", "x" * 500, ""):
        response = web.get("/", params={"lang": lang})
        assert response.status_code == 200
        assert '<html lang="zh-CN">' in response.text
    assert '<html lang="en">' in web.get("/", params={"lang": "EN"}).text


def test_a_village_or_township_search_narrows_the_page_and_the_feed(web: Api) -> None:
    fault = web.fault_outage("K1")  # 李村
    planned = _planned(web)  # 张营
    html = _html(web.get("/", params={"area": " 李 "}))
    assert '<form class="search" role="search" action="/" method="get">' in html
    assert '<label for="area">查询乡镇或村</label>' in html
    assert 'id="area" name="area" type="search" value="李"' in html
    assert "“李”：目前 1 起停电，36 户停电；计划停电 0 起。" in html
    assert f'href="/outages/{fault}"' in html
    assert f'href="/planned/{planned}"' not in html
    assert 'data-feed="/public/outages.geojson?area=%E6%9D%8E"' in html
    assert 'href="/?lang=en&amp;area=%E6%9D%8E" hreflang="en"' in html  # the switch keeps it
    feed = web.get("/public/outages.geojson", params={"area": "张营"}).json()
    assert [f["id"] for f in feed["features"]] == [f"planned-{planned}"]
    english = _html(web.get("/", params={"area": "张营", "lang": "en"}))
    assert "“张营”: 0 outage(s) now, 0 customers off; 1 planned." in english
    assert '<input type="hidden" name="lang" value="en">' in english
    hostile = _html(web.get("/", params={"area": '<script>alert("x")</script>'}))
    assert "<script>alert" not in hostile
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in hostile


def test_personal_data_finds_nothing(web: Api) -> None:
    _, planned = _private_outage_data(web)
    assert len(web.get("/public/outages.geojson").json()["features"]) == 2  # fault, booking
    start_planned(web, planned[0])
    assert len(web.get("/public/outages.geojson").json()["features"]) == 2  # fault, its record
    for secret in PRIVATE:
        feed = web.get("/public/outages.geojson", params={"area": secret}).json()
        assert feed["features"] == [], secret
        assert "目前 0 起停电" in web.get("/", params={"area": secret}).text, secret


def test_an_empty_page_says_so(web: Api) -> None:
    html = _html(web.get("/"))
    assert "目前共 0 户停电，0 起停电事件。" in html
    assert "目前没有停电。" in _section(html, "current-h")
    assert "暂无计划停电。" in _section(html, "upcoming-h")
    assert "No outage at present." in web.get("/?lang=en").text


def test_the_crew_stage_and_the_cause_category_never_the_crew_or_the_typed_cause(
    web: Api,
) -> None:
    fault = web.fault_outage("K1")
    with web.context.sessions.begin() as session:
        outages.update_outage(
            session,
            fault,
            cause="树枝碰线，王师傅 13912345678 报",
            crew="抢修一班 张三 13900001111",
            at=web.clock.now,
            actor="d",
        )
    page = _html(web.get(f"/outages/{fault}"))
    assert "<dt>停电原因</dt><dd>树木碰线</dd>" in page
    assert '<li class="now" aria-current="step">已安排抢修队</li>' in page
    for typed in ("王师傅", "13912345678", "张三", "13900001111", "抢修一班", "树枝碰线"):
        assert typed not in page

    stages = []
    for state in (OutageState.CREW_DISPATCHED, OutageState.CREW_ON_SITE, OutageState.ISOLATED):
        with web.context.sessions.begin() as session:
            outages.transition_outage(session, fault, state, at=web.clock.now, actor="d")
        page = _html(web.get(f"/outages/{fault}"))
        found = re.search(r'<li class="now" aria-current="step">([^<]+)</li>', page)
        assert found is not None
        stages.append(found.group(1))
        assert page.count('aria-current="step"') == 1
    assert stages == ["抢修队正在赶往现场", "抢修队已到达现场", "正在抢修"]
    english = _html(web.get(f"/outages/{fault}", params={"lang": "en"}))
    assert '<li class="now" aria-current="step">repairing</li>' in english
    assert "<dt>Cause</dt><dd>trees on the line</dd>" in english


def test_isolated_by_remote_switching_before_any_crew_is_not_repairing(web: Api) -> None:
    fault = web.fault_outage("K1")
    with web.context.sessions.begin() as session:
        outages.transition_outage(session, fault, OutageState.ISOLATED, at=web.clock.now, actor="s")
    page = _html(web.get(f"/outages/{fault}"))
    assert "<dt>抢修进度</dt><dd>正在安排</dd>" in page


@pytest.mark.parametrize(
    ("typed", "kind", "category"),
    [
        (None, OutageKind.FAULT, None),
        ("  ", OutageKind.FAULT, None),
        (None, OutageKind.PLANNED, "maintenance"),
        ("雷击闪络", OutageKind.FAULT, "lightning"),
        ("bird nest", OutageKind.FAULT, "bird"),
        ("挖掘机挖断电缆", OutageKind.FAULT, "external"),
        ("Insulator flashover", OutageKind.FAULT, "equipment"),
        ("reported by 张秀英 (13912345678)", OutageKind.FAULT, "other"),
    ],
)
def test_a_typed_cause_becomes_one_of_the_public_categories(
    typed: str | None, kind: OutageKind, category: str | None
) -> None:
    assert cause_category(typed, kind) == category


def test_the_sms_link_opens_the_outage_page(tmp_path: Path, database_url: str) -> None:
    """A crew SMS from the fault workflow (reports and a lockout, the processor, the outbox)
    ends with the link built from ``public_base_url``; its path answers the outage's page."""
    rig = _rig(database_url, tmp_path, public_base_url="https://oms.example.cn/")
    try:
        fault, body = _settle(rig, _report("DC", 0.01, True), _report("DA", 0.02, True), LOCKOUT)
        found = re.search(r"详情 (\S+)$", body)
        assert found is not None, body
        link = urlsplit(found.group(1))
        assert (link.scheme, link.netloc) == ("https", "oms.example.cn")
        assert link.path == f"/outages/{fault.outage_id}"
        with anyio.from_thread.start_blocking_portal() as portal:
            app = create_app(rig.context)
            install_public_pages(app)
            page = Api(app, rig.context, ApiClock(rig.clock.now), portal).get(link.path)
        assert page.status_code == 200
        html = _html(page)
        assert f"<h1>停电事件 {fault.outage_id}</h1>" in html
        assert "<dt>状态</dt><dd>停电中</dd>" in html
    finally:
        rig.context.dispose()


@pytest.mark.parametrize("path", ["/outages/999", "/outages/0", "/outages/abc", "/outages/1e3"])
def test_an_unknown_outage_answers_a_404_page_in_the_language_asked(web: Api, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 404
    html = _html(response)
    assert '<html lang="zh-CN">' in html
    assert "没有找到这条停电信息" in html
    english = web.get(path, params={"lang": "en"})
    assert english.status_code == 404
    assert "This outage was not found." in _html(english)


def test_a_private_outage_answers_the_same_404_page(web: Api) -> None:
    customer = web.fault_outage("FU1", kind=OutageKind.CUSTOMER)
    response = web.get(f"/outages/{customer}")
    assert response.status_code == 404
    assert "没有找到这条停电信息" in _html(response)


def test_no_page_or_feed_holds_personal_data(web: Api) -> None:
    outage_ids, planned_ids = _private_outage_data(web)
    assert len(outage_ids) == 2  # customer (private), fault
    paths = [
        "/",
        "/public/outages.geojson",
        *(f"/outages/{i}" for i in outage_ids),
        *(f"/planned/{i}" for i in planned_ids),  # notified, draft, cancelled
        "/lookup",
        "/report",
        "/subscribe",
    ]
    before = [web.get(path, params=params) for path in paths for params in ({}, {"lang": "en"})]
    assert [r.status_code for r in before] == [200] * 4 + [404, 404, 200, 200] + [
        200,
        200,
    ] + [404] * 4 + [200] * 6
    record = start_planned(web, planned_ids[0])  # the planned outage has begun
    after = [
        web.get(path, params=params)
        for path in [*paths, f"/outages/{record}"]
        for params in ({}, {"lang": "en"})
    ]
    assert [r.status_code for r in after[-2:]] == [200, 200]
    assert len(web.get("/public/outages.geojson").json()["features"]) == 2
    for response in [*before, *after]:
        text = response.text + str(response.headers)
        for secret in PRIVATE:
            assert secret not in text, (secret, response.url)


def _in_range(position: list[float]) -> bool:
    lon, lat = position
    return -180 <= lon <= 180 and -90 <= lat <= 90


def _positions(*nodes: str) -> list[list[float]]:
    """Positions of the small network's nodes (tests/grid/small.py): A0 at 113.00° E and
    every next node 0.01° further east, all at 35° N."""
    order = ["A0", "A1", "A2", "A3", "A4", "A5", "A6", "C1", "C2", "B0", "B1", "B2", "B3", "B4"]
    return [[round(113 + 0.01 * order.index(n), 2), 35.0] for n in nodes]


def test_the_lines_off_run_from_each_area_to_where_they_meet_and_up_to_the_breaker(
    web: Api,
) -> None:
    web.fault_outage("CB1")  # TA1 (A2), TA2 (A4), TA3 (A6) and HV1 (A3) off
    [feature] = web.get("/public/outages.geojson").json()["features"]
    points, lines = (g["coordinates"] for g in feature["geometry"]["geometries"])
    assert sorted(points) == _positions("A2", "A4", "A6")
    assert lines == [
        _positions("A2", "A1"),
        _positions("A4", "A3", "A2"),  # stops where it joins a drawn line
        _positions("A6", "A5", "A1"),
        _positions("A1", "A0"),  # the breaker CB1 to the busbar
    ]


def test_the_feed_is_geojson_of_the_same_outages(web: Api, small_network: Network) -> None:
    fault = web.fault_outage("K1")
    planned = _planned(web)
    response = web.get("/public/outages.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    feed: dict[str, Any] = response.json()
    assert feed["type"] == "FeatureCollection"
    assert feed["generated_at"] == "2024-06-01T08:00:00Z"
    assert [f["id"] for f in feed["features"]] == [fault, f"planned-{planned}"]
    for feature in feed["features"]:
        assert feature["type"] == "Feature"
        geometry = feature["geometry"]
        assert geometry["type"] == "GeometryCollection"
        assert [g["type"] for g in geometry["geometries"]] == ["MultiPoint", "MultiLineString"]
        points, lines = (g["coordinates"] for g in geometry["geometries"])
        assert points
        assert lines
        assert all(len(p) == 2 and _in_range(p) for p in points)
        assert all(len(line) >= 2 for line in lines)
        assert all(len(p) == 2 and _in_range(p) for line in lines for p in line)
    now, later = feed["features"]
    # TA2 (node A4) is off: its position, longitude first (RFC 7946), and the line from it up
    # to the opened switch K1 (A4 -s2- A3 -K1- A2). HV1 (at A3) has no point: one customer.
    node = int(small_network.transformer_areas.node[small_network.locate("TA2")[1]])
    assert small_network.nodes.id[node] == "A4"
    assert now["geometry"]["geometries"][0]["coordinates"] == [
        [float(small_network.nodes.lon_deg[node]), float(small_network.nodes.lat_deg[node])]
    ]
    assert now["geometry"]["geometries"][1]["coordinates"] == [_positions("A4", "A3", "A2")]
    # The planned outage opens CB3, the feeder's head: TA5 (B3) up to the busbar B0.
    assert later["geometry"]["geometries"][1]["coordinates"] == [_positions("B3", "B2", "B1", "B0")]
    assert now["properties"] == {
        "id": fault,
        "url": f"http://127.0.0.1:8080/outages/{fault}",
        "kind": "fault",
        "kind_name": "故障停电",
        "status": "detected",
        "upcoming": False,
        "townships": [],
        "villages": ["李村"],
        "places": ["李村"],
        "customers_off": 36,
        "customers_restored": 0,
        "transformer_areas_off": 1,
        "cause": None,
        "cause_name": None,
        "crew": None,
        "crew_name": None,
        "started_at": "2024-06-01T07:30:00Z",
        "estimated_restoration_at": None,
        "restored_at": None,
        "planned_id": None,
        "work_type": None,
        "work_type_name": None,
    }
    assert later["properties"] == {
        "id": planned,
        "url": f"http://127.0.0.1:8080/planned/{planned}",
        "kind": "planned",
        "kind_name": "计划停电",
        "status": "notified",
        "status_name": "已公告",
        "upcoming": True,
        "townships": [],
        "villages": ["张营"],
        "places": ["张营"],
        "line": "乙Ⅰ线",
        "customers_off": 30,
        "customers_restored": 0,
        "transformer_areas_off": 1,
        "cause": "maintenance",
        "cause_name": "计划检修",
        "crew": None,
        "crew_name": None,
        "started_at": "2024-06-10T00:00:00Z",  # the window, as for the outages now
        "estimated_restoration_at": "2024-06-10T06:00:00Z",
        "restored_at": None,
        "starts_at": "2024-06-10T00:00:00Z",
        "ends_at": "2024-06-10T06:00:00Z",
        "planned_id": planned,
        "work_type": "maintenance",
        "work_type_name": "计划检修",
    }
    english = web.get("/public/outages.geojson", params={"lang": "en"}).json()
    assert english["features"][1]["properties"]["work_type_name"] == "planned maintenance"
    assert english["features"][1]["properties"]["status_name"] == "Announced"
    assert english["lang"] == "en"


def test_the_pages_load_nothing_from_outside_this_server(web: Api) -> None:
    fault = web.fault_outage("K1")
    planned = _planned(web)
    for path in ("/", f"/outages/{fault}", "/outages/999", f"/planned/{planned}", "/planned/9"):
        html = web.get(path).text
        external = [u for u in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if "//" in u]
        assert external == [], path
        assets = re.findall(r"""(?:src|href)=["'](/(?:static|web)/[^"']+)""", html)
        assert {a.rsplit("/", 1)[-1] for a in assets} == {
            "leaflet.css",
            "leaflet.js",
            "public.css",
            "public.js",
        }
        for asset in assets:
            served = web.get(asset)
            assert served.status_code == 200, asset
            assert served.content
    assert 'data-tiles=""' in web.get("/").text  # no tile server unless one is set


def test_a_tile_server_is_an_optional_setting(web: Api) -> None:
    settings = web.context.settings.model_copy(
        update={
            "public_map_tiles_url": "https://tiles.example.cn/{z}/{x}/{y}.png",
            "public_map_tiles_attribution": "© <Example>",
        }
    )
    web.context.settings = settings  # the app's context: read on every request
    html = web.get("/").text
    assert 'data-tiles="https://tiles.example.cn/{z}/{x}/{y}.png"' in html
    assert 'data-attribution="© &lt;Example&gt;"' in html  # escaped like every value


def test_the_page_is_accessible_in_its_markup(web: Api) -> None:
    """Landmarks, a skip link, labelled regions, headings in order, the language of the
    language switch; the browser test drives the keyboard."""
    web.fault_outage("K1")
    html = _html(web.get("/"))
    assert '<a class="skip" href="#main">跳到正文</a>' in html
    for landmark in ("<header", "<nav aria-label=", '<main id="main"', "<footer"):
        assert landmark in html
    assert '<div id="map" role="region" aria-label="停电区域地图"' in html
    assert '<p id="refreshed" aria-live="polite">' in html
    levels = [int(n) for n in re.findall(r"<h([1-6])[ >]", html)]
    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert 'lang="en">English</a>' in html


def test_times_follow_the_configured_zone(web: Api) -> None:
    fault = web.fault_outage("K1", started_at=datetime(2024, 6, 1, 7, 0, tzinfo=UTC))
    settings = web.context.settings.model_copy(update={"timezone": "Europe/Berlin"})
    web.context.settings = settings
    html = web.get(f"/outages/{fault}").text
    assert '<time datetime="2024-06-01T09:00+02:00">2024-06-01 09:00</time>' in html
    assert "Europe/Berlin" in html


def test_a_planned_outage_has_its_own_page(web: Api) -> None:
    planned = _planned(web, work_type=WorkType.CONSTRUCTION)
    response = web.get(f"/planned/{planned}")
    assert response.status_code == 200
    html = _html(response)
    assert f"<h1>计划停电 {planned}</h1>" in html
    assert f"<title>计划停电 {planned} · 停电信息</title>" in html
    assert f'<article class="outage planned notified" id="planned-{planned}"' in html
    assert "<dt>工作内容</dt><dd>工程施工</dd>" in html
    assert "<dt>线路</dt><dd>乙Ⅰ线</dd>" in html
    assert f'data-feature="planned-{planned}"' in html  # the map shows this one only
    assert f'href="/planned/{planned}?lang=en" hreflang="en"' in html
    english = _html(web.get(f"/planned/{planned}", params={"lang": "en"}))
    assert f"<h1>Planned outage {planned}</h1>" in english
    assert "<dt>Work</dt><dd>construction work</dd>" in english
    assert "<dt>Ends</dt><dd><time" in english


def test_a_postponed_planned_outage_says_so_with_its_new_window(web: Api) -> None:
    planned = _planned(web)
    # Put off by two days: 12 June 00:00 to 06:00 UTC, 08:00 to 14:00 local.
    postpone_planned(
        web, planned, datetime(2024, 6, 12, tzinfo=UTC), datetime(2024, 6, 12, 6, tzinfo=UTC)
    )
    for html in (
        _section(_html(web.get("/")), "upcoming-h"),
        _html(web.get(f"/planned/{planned}")),
    ):
        assert "<dt>状态</dt><dd>已延期，时间已改为下列新时间</dd>" in html
        assert '<dt>计划开始</dt><dd><time datetime="2024-06-12T08:00+08:00">' in html
        assert '<dt>计划结束</dt><dd><time datetime="2024-06-12T14:00+08:00">' in html
        assert "2024-06-10" not in html  # the old window is gone
    english = _html(web.get(f"/planned/{planned}", params={"lang": "en"}))
    assert "<dt>Status</dt><dd>Postponed: the new times are below</dd>" in english
    [feature] = web.get("/public/outages.geojson").json()["features"]
    assert (feature["properties"]["status"], feature["properties"]["starts_at"]) == (
        "postponed",
        "2024-06-12T00:00:00Z",
    )


@pytest.mark.parametrize("state", [PlannedState.DRAFT, PlannedState.CANCELLED])
def test_a_draft_or_cancelled_planned_outage_does_not_exist_for_the_public(
    web: Api, state: PlannedState
) -> None:
    hidden = _planned(web, state=state)
    response = web.get(f"/planned/{hidden}")
    assert response.status_code == 404
    assert "没有找到这条停电信息" in _html(response)
    assert response.text.replace(f"/planned/{hidden}", "/planned/999") == (
        web.get("/planned/999").text
    )  # the same page as for an id that does not exist
    html = _html(web.get("/"))
    assert "暂无计划停电。" in _section(html, "upcoming-h")
    assert f"planned-{hidden}" not in html
    assert web.get("/public/outages.geojson").json()["features"] == []
    assert web.get("/public/outages.geojson", params={"area": "张营"}).json()["features"] == []


@pytest.mark.parametrize("path", ["/planned/0", "/planned/abc", "/planned/-1", "/planned/1e3"])
def test_an_unknown_planned_outage_answers_the_404_page(web: Api, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 404
    assert "没有找到这条停电信息" in _html(response)


def test_planned_work_under_way_shows_as_an_outage_now_until_it_is_done(web: Api) -> None:
    planned = _planned(web)
    record = start_planned(web, planned, after=timedelta(minutes=10))  # CB3 opened 00:09:55
    html = _html(web.get("/"))
    now = _section(html, "current-h")
    assert f'href="/outages/{record}"' in now
    assert "暂无计划停电。" in _section(html, "upcoming-h")
    assert "目前共 30 户停电，1 起停电事件。" in html
    assert "<dt>状态</dt><dd>停电中</dd>" in now
    assert '<dt>停电时间</dt><dd><time datetime="2024-06-10T08:09+08:00">' in now
    # The expected end is the booking's: 06:00 UTC, 14:00 local.
    assert '<dt>预计恢复</dt><dd><time datetime="2024-06-10T14:00+08:00">' in now
    assert "<dt>停电原因</dt><dd>计划检修</dd>" in now
    assert "<dt>工作内容</dt><dd>计划检修</dd>" in now
    assert "抢修进度" not in now  # planned work: no repair crew to follow
    assert f'<a href="/planned/{planned}">查看计划停电 {planned}</a>' in now
    booking = _html(web.get(f"/planned/{planned}"))
    assert "<dt>状态</dt><dd>正在停电施工</dd>" in booking
    assert f'<a href="/outages/{record}">查看停电事件 {record}</a>' in booking
    assert f'data-feature="{record}"' in booking  # its outage record is on the map
    [feature] = web.get("/public/outages.geojson").json()["features"]
    assert (feature["id"], feature["properties"]["planned_id"]) == (record, planned)
    assert feature["properties"]["estimated_restoration_at"] == "2024-06-10T06:00:00Z"

    web.clock.advance(hours=5)
    switch(web, "CB3", closed=True)  # supply back: the work is completed
    assert "<dt>状态</dt><dd>已完成，已恢复供电</dd>" in _html(web.get(f"/planned/{planned}"))
    assert "<dt>状态</dt><dd>已恢复供电</dd>" in _html(web.get(f"/outages/{record}"))
    assert web.get("/public/outages.geojson").json()["features"] == []


def test_a_construction_record_of_planned_work_is_not_third_party_damage() -> None:
    """The record of started planned work carries its work type as its cause; "construction"
    must not read as the external-damage category of a fault."""
    assert cause_category("construction", OutageKind.PLANNED) == "maintenance"
    assert cause_category("construction", OutageKind.FAULT) == "external"
