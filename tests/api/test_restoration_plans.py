"""FLISR in advisory mode, end to end on the sample county (issue 15), on SQLite and
PostgreSQL: field reports and a lockout go through the event processor, the service plans the
restoration, and dispatchers read, approve and recompute it over the API.

The fault, on 10kV 城关Ⅰ线 (CG-F01): the cable 城关Ⅰ线4号环网柜进线电缆 (CG-F01-S0004,
CG-F01-N0007–N0008) between ring main units 3 and 4. The DTUs of K02, K03 and K04 see the
fault current, the DTU of K05 (heard ten minutes before, so online) does not; breaker
城关Ⅰ线901开关 (K01) locks out. The expected plan, derived by hand from the sample county's
CSV files (src/openoms/data/sample_county):

- Located zone: CG-F01-K04-DTU = {K04, S0004}. Its detector sits on switch K04, so the fault
  is beyond K04 and the faulted region is S0004 alone (K04 can isolate it).
- Off after the lockout: all of CG-F01, 2,101 LV customers in 15 transformer areas and 3 HV
  customers (众诚木业有限公司, 盛源食品有限公司, 金鼎农机厂) = 2,104 customers, 1,592.5 kW.
- Isolation: the nearest remotely controlled switches on either side of S0004 are
  城关Ⅰ线3号环网柜出线开关 (K04, N0006–N0007) and 城关Ⅰ线4号环网柜出线开关 (K05,
  N0008–N0009), both load-break switches with a DTU. The zone (N0007, N0008) has no
  transformer area: nobody stays dark.
- Upstream: re-closing K01 restores N0001–N0006: 朝阳路1/2/3号台区, 283 + 128 + 85 = 496
  customers, 243 kW.
- Downstream island (N0009 onwards): 2,104 − 496 = 1,608 customers, 1,592.5 − 243 =
  1,349.5 kW. Two normally-open remote ties reach live feeders: K13 to 柏山Ⅰ线 (BS-F01,
  3,453 kW of its own) and K14 to 柏山Ⅱ线 (BS-F02, 1,982.7 kW). At 10.5 kV and pf 0.95 the
  receiving head carries about (3,453 + 1,349.5) / (√3 · 10.5 · 0.95) ≈ 278 A on BS-F01 (480 A
  head sections: ≈ 58 %) or (1,982.7 + 1,349.5) / 17.28 ≈ 193 A on BS-F02 (≈ 40 %, below
  the 48 % its 100 A 北荣庄支线 fuse BS-F02-K06 already carries). Both fit; each restores all
  1,608 customers in one operation, so the lower peak loading decides: K14, with the peak
  loading staying BS-F02-K06's 48 %.
- Steps, all by telecontrol, 30 s each: open K04, open K05, close K01, close K14; everyone
  restored.

After 柏山Ⅱ线#69分段开关 (BS-F02-K02, on the way from BS-F02's breaker to K14) opens, K14's
far side is dead: the plan is stale, and recomputed it restores the island through K13,
with BS-F01's head near 58 % (the power flow says 61 %, the voltage being below 10.5 kV).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import httpx
import pytest

from openoms.api import create_app
from openoms.events import Event, EventKind, EventSource
from openoms.service.processor import EventProcessor
from openoms.service.runtime import build_context
from openoms.settings import Settings, SettingsError
from openoms.store import eventlog, outages
from openoms.store import faults as fault_store
from openoms.store.audit import list_audit
from openoms.store.tokens import Role, create_token
from tests.api.conftest import Api, Clock

pytestmark = pytest.mark.slow

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 Beijing time
SECOND_DISPATCHER = "调度员乙"


@dataclass
class County:
    api: Api
    processor: EventProcessor
    second_dispatcher: str  # the other dispatcher's token

    def feed(self, *events: Event) -> None:
        context = self.api.context
        with context.sessions.begin() as session:
            eventlog.append_events(session, events, received_at=self.api.clock.now)
        while self.processor.process_pending():
            pass

    def outage_id(self) -> int:
        with self.api.context.sessions() as session:
            [fault] = fault_store.list_fault_events(session)
        assert fault.outage_id is not None
        return fault.outage_id

    def plan_path(self, outage_id: int) -> str:
        return f"/api/v1/outages/{outage_id}/restoration-plan"

    def approve(self, outage_id: int, revision: int, **kwargs: Any) -> httpx.Response:
        path = self.plan_path(outage_id) + "/approve"
        return self.api.post(path, json={"revision": revision}, **kwargs)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _dtu(
    device: str, seconds: float, *, alarm: bool, kind: EventKind = EventKind.FTU_REPORT
) -> Event:
    """A DTU / FTU report (or, with ``kind``, a fault indicator's), alarm or heartbeat."""
    payload = {"short_circuit": alarm, "earth_fault": False, "fault_phases": ["A", "B"] * alarm}
    return Event(kind, EventSource.IEC104, device, _at(seconds), payload)


def _position(device: str, seconds: float, *, closed: bool) -> Event:
    return Event(
        EventKind.SWITCH_POSITION, EventSource.IEC104, device, _at(seconds), {"closed": closed}
    )


def _make(database_url: str, tmp_path: Path, **settings: Any) -> Iterator[County]:
    clock = Clock(T0 - timedelta(minutes=20))
    chosen = Settings(
        data_dir=tmp_path, database_url=database_url, network="sample:county", **settings
    )
    context = build_context(chosen, clock=clock)
    with context.sessions.begin() as session:
        tokens = {
            role: create_token(session, name=name, role=role, now=clock.now)
            for role, name in (
                (Role.DISPATCHER, "调度员甲"),
                (Role.CREW, "城关抢修一班"),
                (Role.VIEWER, "值班领导"),
            )
        }
        second = create_token(session, name=SECOND_DISPATCHER, role=Role.DISPATCHER, now=clock.now)
    try:
        with anyio.from_thread.start_blocking_portal() as portal:
            api = Api(create_app(context), context, clock, portal, tokens)
            yield County(api, EventProcessor(context), second)
    finally:
        context.dispose()


@pytest.fixture
def county(database_url: str, tmp_path: Path) -> Iterator[County]:
    yield from _make(database_url, tmp_path)


def _fault_on_cg_f01(county: County) -> int:
    """The fault of the module docstring, through the event processor; the outage's id once
    the reports have gone quiet (the plan is made then)."""
    county.api.clock.now = _at(-600)
    county.feed(_dtu("CG-F01-K05-DTU", -600, alarm=False))  # a heartbeat: K05's DTU is online
    county.api.clock.now = _at(1)
    county.feed(
        *(_dtu(f"CG-F01-K0{k}-DTU", 0.05, alarm=True) for k in (2, 3, 4)),
        Event(
            EventKind.BREAKER_TRIP, EventSource.IEC104, "CG-F01-K01", _at(0.2), {"lockout": True}
        ),
    )
    outage_id = county.outage_id()
    assert county.api.get(county.plan_path(outage_id), role=Role.VIEWER).status_code == 404
    county.api.clock.now = _at(2)  # quiet for fault_quiet_s: the crew SMS, then the plan
    county.processor.tick()
    return outage_id


def _steps(plan: dict[str, Any]) -> list[tuple[str, str, str, str, bool]]:
    return [
        (s["operation"], s["device"], s["name"], s["action"], s["remote"]) for s in plan["steps"]
    ]


PLAN_THROUGH_K14 = [
    ("open", "CG-F01-K04", "城关Ⅰ线3号环网柜出线开关", "isolate", True),
    ("open", "CG-F01-K05", "城关Ⅰ线4号环网柜出线开关", "isolate", True),
    ("close", "CG-F01-K01", "城关Ⅰ线901开关", "restore_upstream", True),
    ("close", "CG-F01-K14", "城关Ⅰ线—柏山Ⅱ线联络线联络开关", "restore_tie", True),
]


def test_a_located_lockout_gets_a_plan_restoring_the_healthy_part_through_the_tie(
    county: County,
) -> None:
    outage_id = _fault_on_cg_f01(county)
    response = county.api.get(county.plan_path(outage_id), role=Role.VIEWER)
    assert response.status_code == 200, response.text
    plan = response.json()
    assert (plan["revision"], plan["feeder_id"], plan["feeder_name"]) == (
        1,
        "CG-F01",
        "10kV 城关Ⅰ线",
    )
    assert plan["zones"] == ["CG-F01-K04-DTU"]
    assert plan["region"] == ["CG-F01-S0004"]
    assert plan["tripped"] == [{"device": "CG-F01-K01", "name": "城关Ⅰ线901开关"}]
    assert [s["device"] for s in plan["isolation"]] == ["CG-F01-K04", "CG-F01-K05"]
    assert _steps(plan) == PLAN_THROUGH_K14
    assert [s["minutes"] for s in plan["steps"]] == [0.5, 1.0, 1.5, 2.0]
    assert (plan["customers_out"], plan["customers_restored"], plan["customers_still_off"]) == (
        2104,
        2104,
        0,
    )
    assert plan["load_restored_kw"] == pytest.approx(1592.5, abs=0.1)
    restored = plan["restored"]
    names = {ta["name"] for ta in restored["transformer_areas"]}
    assert {"朝阳路1号台区", "朝阳路2号台区", "朝阳路3号台区"} <= names
    assert len(names) == 15
    assert {hv["name"] for hv in restored["hv_customers"]} == {
        "众诚木业有限公司",
        "盛源食品有限公司",
        "金鼎农机厂",
    }
    assert "朝阳路" in restored["streets"]
    assert plan["still_off"]["customers"] == 0
    assert plan["still_off"]["transformer_areas"] == []
    assert plan["receiving_feeders"] == ["BS-F02"]
    after = plan["power_flow"]["after"]
    assert after["converged"] is True
    assert after["violations"] == []
    assert after["max_loading_element"] == "BS-F02-K06"  # the 100 A fuse's 48 %, unchanged
    assert after["max_loading"] == pytest.approx(0.48, abs=0.01)
    assert 0.93 <= after["min_u_pu"] < 1.0  # within ±7 %, the far end of the transfer
    assert plan["power_flow"]["scenarios"] > 2
    order_zh, order_en = plan["order"]["zh"], plan["order"]["en"]
    assert "城关Ⅰ线4号环网柜进线电缆（CG-F01-S0004） 故障隔离" in order_zh
    assert "4. 遥控合上 城关Ⅰ线—柏山Ⅱ线联络线联络开关（CG-F01-K14）" in order_zh
    assert "1. Open CG-F01-K04 (城关Ⅰ线3号环网柜出线开关) by telecontrol" in order_en
    assert plan["steps"][3]["check"]["zh"].startswith("检查 城关Ⅰ线—柏山Ⅱ线联络线联络开关")
    assert (plan["approved_by"], plan["approved_at"], plan["stale"]) == (None, None, None)
    with county.api.context.sessions() as session:
        record = outages.get_outage(session, outage_id)
    assert record.located_section == "CG-F01-K04-DTU"
    assert record.steps == ()  # nothing executed: the switching stays with the dispatcher


def test_approval_once_by_a_dispatcher_and_never_by_a_crew(county: County) -> None:
    outage_id = _fault_on_cg_f01(county)
    county.api.clock.now = _at(90)
    refused = county.approve(outage_id, 1, role=Role.CREW)
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:openoms:problem:forbidden"
    recompute = county.api.post(county.plan_path(outage_id) + "/recompute", role=Role.CREW)
    assert recompute.status_code == 403

    approved = county.approve(outage_id, 1, role=Role.DISPATCHER)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["approved_by"] == "调度员甲"
    assert datetime.fromisoformat(body["approved_at"]) == _at(90)
    assert _steps(body) == PLAN_THROUGH_K14

    headers = {"Authorization": f"Bearer {county.second_dispatcher}"}
    second = county.approve(outage_id, 1, headers=headers)
    assert second.status_code == 409
    problem = second.json()
    assert problem["type"] == "urn:openoms:problem:restoration-plan-conflict"
    assert problem["reason"] == "already_approved"
    assert problem["approved_by"] == "调度员甲"
    assert "2026-11-28 10:01:30" in problem["detail"]  # local time (Asia/Shanghai)
    assert problem["detail_zh"] == "第 1 版方案已由 调度员甲 于 2026-11-28 10:01:30 批准"

    shown = county.api.get(county.plan_path(outage_id), role=Role.VIEWER).json()
    assert (shown["approved_by"], shown["revision"]) == ("调度员甲", 1)
    record = county.api.get(f"/api/v1/outages/{outage_id}", role=Role.CREW).json()
    assert record["restoration_plan"] == {
        "revision": 1,
        "approved_by": "调度员甲",
        "approved_at": "2026-11-28T02:01:30Z",
        "steps": 4,
        "customers_restored": 2104,
    }
    with county.api.context.sessions() as session:
        entries = list_audit(session, object_kind="outage", object_id=outage_id)
    approvals = [e for e in entries if e.action == "outage.restoration_plan.approve"]
    assert [(e.actor, e.role, e.at) for e in approvals] == [("调度员甲", "dispatcher", _at(90))]
    assert approvals[0].detail["steps"] == [
        "open CG-F01-K04",
        "open CG-F01-K05",
        "close CG-F01-K01",
        "close CG-F01-K14",
    ]
    computed = [e for e in entries if e.action == "outage.restoration_plan"]
    assert [(e.actor, e.detail["revision"]) for e in computed] == [("system", 1)]


def test_two_dispatchers_approving_at_the_same_moment_one_is_refused(county: County) -> None:
    outage_id = _fault_on_cg_f01(county)
    api = county.api
    path = county.plan_path(outage_id) + "/approve"
    tokens = [api.tokens[Role.DISPATCHER], county.second_dispatcher]

    async def both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=api.app)
        responses: list[httpx.Response] = []
        async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as client:

            async def one(token: str) -> None:
                headers = {"Authorization": f"Bearer {token}"}
                responses.append(await client.post(path, json={"revision": 1}, headers=headers))

            async with anyio.create_task_group() as group:
                for token in tokens:
                    group.start_soon(one, token)
        return responses

    responses = api.portal.call(both)
    assert sorted(r.status_code for r in responses) == [200, 409]
    winner = next(r for r in responses if r.status_code == 200).json()["approved_by"]
    loser = next(r for r in responses if r.status_code == 409).json()
    assert loser["reason"] == "already_approved"
    assert loser["approved_by"] == winner


def test_a_plan_made_stale_by_a_switch_event_is_refused_and_recomputed(county: County) -> None:
    outage_id = _fault_on_cg_f01(county)
    county.api.clock.now = _at(60)
    county.feed(_position("BS-F05-K03", 50, closed=False))  # on 柏山Ⅴ线: not involved
    shown = county.api.get(county.plan_path(outage_id), role=Role.DISPATCHER).json()
    assert shown["stale"] is None
    county.feed(_position("BS-F02-K02", 59, closed=False))  # 柏山Ⅱ线#69分段开关 opens
    shown = county.api.get(county.plan_path(outage_id), role=Role.DISPATCHER).json()
    assert shown["stale"]["changed"] == [
        {"device": "BS-F02-K02", "name": "柏山Ⅱ线#69分段开关", "open_now": True}
    ]
    assert "柏山Ⅱ线#69分段开关（BS-F02-K02）已拉开" in shown["stale"]["zh"]

    refused = county.approve(outage_id, 1, role=Role.DISPATCHER)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["reason"] == "stale"
    assert "BS-F02-K02 (柏山Ⅱ线#69分段开关) is now open" in problem["detail"]
    assert problem["changed"][0]["device"] == "BS-F02-K02"

    recomputed = county.api.post(county.plan_path(outage_id) + "/recompute", role=Role.DISPATCHER)
    assert recomputed.status_code == 200, recomputed.text
    plan = recomputed.json()
    assert (plan["revision"], plan["computed_by"], plan["stale"]) == (2, "调度员甲", None)
    assert _steps(plan) == [
        *PLAN_THROUGH_K14[:3],
        ("close", "CG-F01-K13", "城关Ⅰ线—柏山Ⅰ线联络线联络开关", "restore_tie", True),
    ]
    assert plan["receiving_feeders"] == ["BS-F01"]
    assert plan["customers_restored"] == 2104
    after = plan["power_flow"]["after"]
    assert after["max_loading_element"].startswith("BS-F01-S000")  # BS-F01's head sections
    assert after["max_loading"] == pytest.approx(0.58, abs=0.04)  # by hand: 278 A / 480 A

    old = county.approve(outage_id, 1, role=Role.DISPATCHER)
    assert (old.status_code, old.json()["reason"]) == (409, "revision")
    approved = county.approve(outage_id, 2, role=Role.DISPATCHER)
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"] == "调度员甲"


def test_no_plan_on_a_feeder_whose_flisr_is_disabled(database_url: str, tmp_path: Path) -> None:
    for county in _make(database_url, tmp_path, flisr_modes={"CG-F01": "disabled"}):
        outage_id = _fault_on_cg_f01(county)
        county.api.clock.now = _at(120)
        county.processor.tick()  # the final location: still nothing planned
        response = county.api.get(county.plan_path(outage_id), role=Role.DISPATCHER)
        assert response.status_code == 404
        assert response.json()["type"] == "urn:openoms:problem:restoration-plan-not-found"


def test_a_plan_leaning_on_the_feeder_of_another_approved_plan_is_refused(
    county: County,
) -> None:
    # 城关Ⅷ线 (CG-F08) ties to 柏山Ⅱ线 too (K22). A fault beyond 城关Ⅷ线2号环网柜出线开关
    # (K03: its DTU and K02's alarm; the FTU of K04 and the indicators heard before and
    # silent) is isolated by
    # K03 and K04, and the part beyond K04 goes to BS-F02 through K22, each transfer checked
    # alone. With CG-F01's plan through K14 already approved onto BS-F02, the second is refused.
    first = _fault_on_cg_f01(county)
    assert county.approve(first, 1, role=Role.DISPATCHER).status_code == 200
    county.api.clock.now = _at(300)
    heartbeats = [_dtu("CG-F08-K04-FTU", 300, alarm=False)]
    for i in range(1, 12):  # the line's fault indicators, heard: online, no alarm
        heartbeats.append(
            _dtu(f"CG-F08-FI{i:02d}", 300, alarm=False, kind=EventKind.INDICATOR_REPORT)
        )
    county.feed(*heartbeats)
    county.api.clock.now = _at(901)
    county.feed(
        *(_dtu(f"CG-F08-K0{k}-DTU", 900.05, alarm=True) for k in (2, 3)),
        Event(
            EventKind.BREAKER_TRIP, EventSource.IEC104, "CG-F08-K01", _at(900.2), {"lockout": True}
        ),
    )
    county.api.clock.now = _at(902)
    county.processor.tick()
    with county.api.context.sessions() as session:
        fault = next(f for f in fault_store.list_fault_events(session) if f.feeder_id == "CG-F08")
    assert fault.outage_id is not None
    plan = county.api.get(county.plan_path(fault.outage_id), role=Role.DISPATCHER).json()
    assert plan["zones"] == ["CG-F08-K03-DTU"]
    assert [(s["operation"], s["device"]) for s in plan["steps"]] == [
        ("open", "CG-F08-K03"),
        ("open", "CG-F08-K04"),
        ("close", "CG-F08-K01"),
        ("close", "CG-F08-K22"),
    ]
    assert plan["receiving_feeders"] == ["BS-F02"]
    headers = {"Authorization": f"Bearer {county.second_dispatcher}"}
    refused = county.approve(fault.outage_id, 1, headers=headers)
    assert refused.status_code == 409
    problem = refused.json()
    assert (problem["reason"], problem["other_outage_id"], problem["shared"]) == (
        "conflicting",
        first,
        ["BS-F02"],
    )
    assert "approved by 调度员甲 at 2026-11-28" in problem["detail"]
    assert "10kV 柏山Ⅱ线 (BS-F02)" in problem["detail"]
    assert problem["detail_zh"].endswith("同样使用 10kV 柏山Ⅱ线 (BS-F02)，两个方案不能同时执行")


def test_a_feeder_mode_for_a_feeder_the_network_does_not_have_stops_the_service(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        network="sample:county",
        flisr_modes={"CG-F01": "advisory", "CG-F99": "disabled"},
    )
    with pytest.raises(SettingsError, match=r"flisr_modes names feeders .*: CG-F99$"):
        build_context(settings)
