"""End to end (issue 4): simulated FTUs and the substation RTU over IEC 60870-5-104 and fault
indicators over MQTT report a permanent fault on the sample county; the running service
locates it, puts the section and the impact on the outage record, and the crew on duty for
the grid cell gets exactly one SMS over SMPP, within 2 s of the last report.

Real parts on loopback: the service's IEC 104 master (hat-drivers) against simulated
outstations built with the same library, the CI Mosquitto broker, and an SMPP session to the
SMSC test peer (hat-drivers' PDU codec). Runs on SQLite and on PostgreSQL.

The fault: feeder BS-F05 (10kV 柏山Ⅴ线, with 桃庄镇敬老院), in the zone of indicator
BS-F05-FI11, below FTU BS-F05-K03-FTU. On the path from the breaker: the relay (RTU
TU-BS), indicators FI01, FI02, FI03 and FTUs K02, K03 — all alarm. FTU K10 (another branch)
is connected and silent: no alarm.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import generate_latest
from sqlalchemy import select

from openoms.api.metrics import ApiMetrics
from openoms.faults.locator import FaultLocator
from openoms.grid.topology import Topology
from openoms.ingest.iec104_sim import SimulatedOutstation
from openoms.notify.smsc_sim import SmscSimulator
from openoms.service.context import ServiceContext
from openoms.service.crew_alert import grid_cell_of_zone
from openoms.service.runtime import Service, build_context
from openoms.settings import Settings
from openoms.store import faults as fault_store
from openoms.store import outages, outbox, restoration_plans, roster
from openoms.store.tables import EventRow

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]

FEEDER = "BS-F05"
ZONE = "BS-F05-FI11"
UNITS = ("TU-BS", "TU-BS-F05-K02-FTU", "TU-BS-F05-K03-FTU", "TU-BS-F05-K10-FTU")
FTU_ALARMS = ("BS-F05-K02-FTU", "BS-F05-K03-FTU")
INDICATOR_ALARMS = ("BS-F05-FI01", "BS-F05-FI02", "BS-F05-FI03", "BS-F05-FI11")
PHONE = "13912345678"


def _diagnosis(context: ServiceContext, smsc: SmscSimulator) -> str:
    """What the service did, for a failure message: events by kind and outcome, fault
    events, outbox rows."""
    with context.sessions() as session:
        rows = session.execute(
            select(EventRow.kind, EventRow.device_id, EventRow.outcome, EventRow.processed_at)
        ).all()
        faults = fault_store.list_fault_events(session)
        queued = outbox.list_messages(session)
    lines = [f"{len(rows)} events:"]
    lines += [f"  {kind} {device} -> {outcome} ({at})" for kind, device, outcome, at in rows]
    lines += [f"fault event {f.as_dict()}" for f in faults]
    lines += [f"outbox {item!r}" for item in queued]
    lines.append(f"SMSC binds {smsc.binds}")
    return "\n".join(lines)


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def running(
    database_url: str, mqtt_broker: tuple[str, int], tmp_path: Path
) -> Iterator[tuple[ServiceContext, Service, SmscSimulator, dict[str, SimulatedOutstation]]]:
    host, port = mqtt_broker
    smsc = SmscSimulator(password="secret").start()
    utility = f"e2e{uuid.uuid4().hex[:8]}"
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        network="sample:county",
        utility=utility,
        mqtt_host=host,
        mqtt_port=port,
        mqtt_client_id=f"openoms-{utility}",
        iec104_enabled=True,
        iec104_units=list(UNITS),
        smpp_host="127.0.0.1",
        smpp_port=smsc.port,
        smpp_password="secret",
    )
    context = build_context(settings)
    network = context.network
    locator = FaultLocator(network, Topology.build(network.graph_arrays(), network.closed_edges()))
    zone = next(z for z in locator.zones_of_feeder(FEEDER) if z.id == ZONE)
    cell = grid_cell_of_zone(network, zone)
    assert cell is not None
    now = datetime.now(UTC).astimezone()
    shift = (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M%z")
    end = (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M%z")
    (tmp_path / "roster.csv").write_text(
        "grid_cell,crew,person,phone,starts_at,ends_at,fallback\n"
        f"{cell},桃庄供电所抢修一班,赵班长,{PHONE},{shift},{end},no\n"
        f"{cell},桃庄供电所抢修值班组,钱所长,13900000000,,,yes\n",
        encoding="utf-8",
    )
    with context.sessions.begin() as session:
        roster.import_roster(
            session, tmp_path / "roster.csv", grid_cells=set(network.grid_cells.id)
        )
    stations = {unit: SimulatedOutstation(unit, network) for unit in UNITS}
    for station in stations.values():
        station.start()
    service = Service(context)
    service.start()
    try:
        yield context, service, smsc, stations
    finally:
        service.stop()
        for station in stations.values():
            station.stop()
        smsc.stop()
        context.dispose()


def test_fault_reports_become_a_located_outage_and_one_crew_sms_within_2_s(
    running: tuple[ServiceContext, Service, SmscSimulator, dict[str, SimulatedOutstation]],
) -> None:
    context, service, smsc, stations = running
    utility = context.settings.utility
    _wait(
        lambda: all(s.interrogations >= 1 for s in stations.values()), 10, "IEC 104 interrogations"
    )
    assert service.mqtt_connected is not None
    _wait(lambda: service.mqtt_connected, 10, "the MQTT subscription")
    time.sleep(0.3)  # the interrogated states are logged (they are the FTUs' heartbeats)

    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{utility}")
    host, port = context.settings.mqtt_host or "", context.settings.mqtt_port
    publisher.connect(host, port)
    publisher.loop_start()
    try:
        fault = datetime.now(UTC)
        rtu = stations["TU-BS"]
        rtu.set_points("BS-F05-K01", {"protection_trip": 1}, at=fault + timedelta(seconds=0.1))
        for ftu in FTU_ALARMS:
            unit = stations[f"TU-{ftu}"]
            unit.set_points(ftu, {"short_circuit_a": 1, "short_circuit_b": 1}, at=fault)
        for i, indicator in enumerate(INDICATOR_ALARMS):
            doc = {
                "sn": indicator,
                "ts": int((fault + timedelta(milliseconds=20 + i)).timestamp() * 1000),
                "msg_id": f"{indicator}-1",
                "data": {"short_circuit_a": 1, "short_circuit_b": 1, "battery_v": 3.6},
            }
            topic = f"openoms/{utility}/indicators/{indicator}/report"
            publisher.publish(topic, json.dumps(doc), qos=1).wait_for_publish(5)
        rtu.set_points(
            "BS-F05-K01",
            {"reclose_failure": 1, "switch_closed": 0},
            at=fault + timedelta(seconds=1.6),
        )
        last_report = time.monotonic()
        last_report_utc = datetime.now(UTC)
    finally:
        publisher.loop_stop()
        publisher.disconnect()

    messages = smsc.wait_for(1, timeout=10)
    handed = time.monotonic()
    assert len(messages) == 1, _diagnosis(context, smsc)
    [sms] = messages
    assert sms.destination == PHONE
    assert "柏山Ⅴ线" in sms.text
    assert "AB相" in sms.text
    assert "敬老院" in sms.text
    elapsed = (sms.received_at - last_report_utc).total_seconds()
    print(f"SMS handed to the SMSC {elapsed:.3f} s after the last report")
    assert elapsed < 2.0, (
        f"SMS {elapsed:.2f} s after the last report (wall {handed - last_report:.2f} s)"
    )

    with context.sessions() as session:
        [event] = fault_store.list_fault_events(session)
        assert event.feeder_id == FEEDER
        assert event.located_zone == ZONE
        assert event.lockout is True
        assert event.outage_id is not None
        record = outages.get_outage(session, event.outage_id)
        assert record.located_section == ZONE
        assert record.operated_device == "BS-F05-K01"
        assert record.customers_off > 0
        assert "桃庄镇敬老院" in record.summary["zh"]

    outage_id = event.outage_id

    def handed_over() -> dict[int, timedelta]:
        # the SMSC has the message before the outbox worker records its submit_sm_resp
        with context.sessions() as session:
            return dict(outbox.handover_latencies(session, outage_id))

    _wait(lambda: len(handed_over()) == 1, 5, "the hand-over recorded in the outbox")
    assert all(latency.total_seconds() < 2.0 for latency in handed_over().values())
    time.sleep(1.0)
    assert len(smsc.messages) == 1  # and no second one

    # FLISR, advisory (the default mode): after the SMS, the plan is on the outage: open the
    # recloser above the branch (柏山Ⅴ线#116重合器, remote), re-close the breaker; the
    # nursing home is among those restored.

    def planned() -> bool:
        with context.sessions() as session:
            return restoration_plans.find_plan(session, outage_id) is not None

    _wait(planned, 10, "the restoration plan")
    with context.sessions() as session:
        plan = restoration_plans.get_plan(session, outage_id)
    assert plan["zones"] == [ZONE]
    assert [(s["operation"], s["device"], s["remote"]) for s in plan["steps"]] == [
        ("open", "BS-F05-K03", True),
        ("close", "BS-F05-K01", True),
    ]
    assert "桃庄镇敬老院" in {s["name"] for s in plan["restored"]["sensitive_customers"]}

    # the IEC 104 links as the service's /metrics shows them (the real master's status)
    scrape = generate_latest(ApiMetrics(context, service.iec104_status).registry).decode()
    for unit_id in service.iec104_status():
        assert f'openoms_iec104_connected{{unit="{unit_id}"}} 1.0' in scrape
        assert f'openoms_iec104_clock_skew_total{{unit="{unit_id}"}} 0.0' in scrape
    interrogations = [
        float(line.rsplit(" ", 1)[1])
        for line in scrape.splitlines()
        if line.startswith("openoms_iec104_interrogations_total{")
    ]
    assert interrogations
    assert all(n >= 1 for n in interrogations)
