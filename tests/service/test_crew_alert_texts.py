"""What the crew SMS and the API's fault view say, through the running workflow (reports
and a lockout into the event log, the processor, the outbox, ``GET /api/v1/faults/{id}``):
the region over a branch point with its target probability, tied sections, no evidence, the
local time. Network and posteriors: tests/faults/fork.py, tests/faults/test_ties.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest

from openoms.api import create_app
from openoms.events import Event, EventKind, EventSource
from openoms.store import faults as fault_store
from openoms.store import outbox
from openoms.store.tokens import Role, create_token
from tests.api.conftest import Api
from tests.api.conftest import Clock as ApiClock
from tests.faults.fork import fork_rows
from tests.service.test_faults import Rig, _make_rig

# 07:20 UTC is 15:20 in Asia/Shanghai (UTC+8): the SMS and the view show 15:20.
T0 = datetime(2026, 12, 3, 7, 20, tzinfo=UTC)
IND = EventKind.INDICATOR_REPORT


def _report(device: str, seconds: float, alarm: bool) -> Event:
    payload = {"short_circuit": alarm, "earth_fault": False, "fault_phases": ["A", "B"] * alarm}
    return Event(IND, EventSource.MQTT, device, T0 + timedelta(seconds=seconds), payload)


LOCKOUT = Event(
    EventKind.BREAKER_TRIP, EventSource.MQTT, "CB", T0 + timedelta(seconds=0.1), {"lockout": True}
)


def _rig(database_url: str, tmp_path: Path, **settings: Any) -> Rig:
    rig = _make_rig(database_url, tmp_path, fork_rows(), **settings)
    rig.clock.now = T0 + timedelta(seconds=1)
    return rig


@pytest.fixture
def rig(database_url: str, tmp_path: Path) -> Iterator[Rig]:
    made = _rig(database_url, tmp_path)
    yield made
    made.context.dispose()


def _settle(rig: Rig, *events: Event) -> tuple[fault_store.FaultEventRecord, str]:
    rig.feed(*events)
    rig.clock.now = T0 + timedelta(minutes=2)  # reports have gone quiet
    rig.later(0)
    with rig.context.sessions() as session:
        [fault] = fault_store.list_fault_events(session)
        [message] = outbox.list_messages(session)
    return fault, message.body


def _detail(rig: Rig, fault_id: int) -> dict[str, Any]:
    with rig.context.sessions.begin() as session:
        token = create_token(session, name="crew-1", role=Role.CREW, now=rig.clock.now)
    with anyio.from_thread.start_blocking_portal() as portal:
        api = Api(create_app(rig.context), rig.context, ApiClock(rig.clock.now), portal)
        api.tokens[Role.CREW] = token
        response = api.get(f"/api/v1/faults/{fault_id}", role=Role.CREW)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_tie_sends_the_crew_to_the_region_in_the_sms_and_the_view(rig: Rig) -> None:
    # R (tripped), DC, DA, DB alarm: DA and DB tie at 900/1831 = 49 % each; the region
    # {DC, DA, DB} spans the fork at N3 and holds 1830/1831, labelled ≥95 % (the target).
    fault, body = _settle(
        rig,
        _report("DC", 0.01, True),
        _report("DA", 0.02, True),
        _report("DB", 0.03, True),
        LOCKOUT,
    )
    assert body.startswith("【故障抢修】10kV 丙线，故障区域（概率≥95%）：#20故障指示器以下至")
    assert "东支线#8（末端）" in body
    assert "西支线#6（末端）" in body
    assert "2个区段并列最可能（各49%）" in body
    assert "，12-03 15:20，相间短路（AB相）。" in body  # 07:20Z in Beijing time
    where = _detail(rig, fault.id)["where"]
    assert where["answer"] == "region"
    assert where["target"] == 0.95
    assert where["reaches_target"] is True
    assert {t["zones"][0] for t in where["ties"]} == {"DA", "DB"}
    [stretch] = where["region"]
    assert set(stretch["zones"]) == {"DC", "DA", "DB"}
    assert stretch["start"] == {
        "id": "DC",
        "name": "丙线#20故障指示器",
        "kind": "detector",
        "line_end": False,
        "open": False,
    }
    assert sorted(e["name"] for e in stretch["ends"]) == ["丙线东支线#8", "丙线西支线#6"]
    assert where["contradictions"] == []
    assert where["fault_time_local"].startswith("2026-12-03T15:20:00")
    assert where["fault_time_local"].endswith("+08:00")
    assert where["fault_type_name"] == {"zh": "相间短路", "en": "phase-to-phase fault"}
    assert where["text"]["zh"] in body


def test_without_indicator_reports_the_sms_names_the_feeder_and_no_section(rig: Rig) -> None:
    # Only the lockout: the relay on the head alarms, the indicators are silent and not known
    # online (no data). Every zone scores alike: the prior alone, nothing located.
    fault, body = _settle(rig, LOCKOUT)
    assert body.startswith(
        "【故障抢修】10kV 丙线，无故障指示器信息，无法定位故障区段，请全线巡视，"
        "12-03 15:20，类型待查。"
    )
    where = _detail(rig, fault.id)["where"]
    assert where["answer"] == "no_evidence"
    assert where["region"] == []
    assert where["summary"]["en"] == (
        "10kV 丙线: no fault indicator information: no section located, patrol the whole feeder"
    )


def test_the_english_sms_of_a_single_section(database_url: str, tmp_path: Path) -> None:
    # DB silent: DA alone holds 900 / (931 + 30·0.1/0.97) = 96 % ≥ 95 %: one section.
    rig = _rig(database_url, tmp_path, sms_lang="en")
    try:
        _, body = _settle(
            rig,
            _report("DC", 0.01, True),
            _report("DA", 0.02, True),
            _report("DB", 0.03, False),
            LOCKOUT,
        )
    finally:
        rig.context.dispose()
    assert body.startswith(
        "[Repair] 10kV 丙线: faulted section from 东支线故障指示器 down to 东支线#8 (line end) "
        "(96%), 12-03 15:20, phase-to-phase fault (AB). "
    )
