"""The service part of ``openoms demo``: a running OpenOMS, a scripted day over HTTP.

Starts the service on the embedded default (a fresh SQLite database in the demo folder, the
sample county) with its HTTP API on a free loopback port, replays the scripted day of
:mod:`.day` against it, prints the outage records it made and draws the customers off
through the day.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from openoms.contacts.customers import parse_customers
from openoms.contacts.phone import mask_phone
from openoms.faults.lifecycle import AlertState
from openoms.i18n import Lang
from openoms.notify.smsc_sim import SmscSimulator
from openoms.samples import data_file
from openoms.samples.demo.day import LOCAL, DemoClient, plan_day, run_day
from openoms.samples.demo.planned_day import run_planned
from openoms.server import free_port, serving
from openoms.service.context import ServiceContext
from openoms.service.runtime import Service
from openoms.settings import Settings
from openoms.store import customers, eventlog, roster, tokens
from openoms.store import faults as fault_store

__all__ = ["run_service_day"]


def _wait_processed(context: ServiceContext, *, timeout_s: float = 30.0) -> None:
    """Until every event is processed and every located fault has settled (its crew SMS
    queued or its advisory raised): the scripted day runs faster than a real one."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with context.sessions() as session:
            settled = not eventlog.unprocessed_events(session, limit=1) and not any(
                f.alert_state is AlertState.NONE
                and (f.lockout or (f.located_zone is not None and f.reclosed is not None))
                for f in fault_store.open_fault_events(session)
            )
        if settled:
            return
        time.sleep(0.05)
    raise TimeoutError("the service did not process the events in time")


ROSTER = data_file("sample_county_roster.csv")
CUSTOMERS = data_file("sample_county_customers.csv")


def _draw_fault(service: Service, path: Path) -> Path | None:
    """The map of the day's sustained fault: zones shaded by posterior, detectors' reports."""
    from openoms.viz.fault_map import draw_fault_map  # noqa: PLC0415  (matplotlib)

    tracker = service.processor.faults
    with service.context.sessions() as session:
        sustained = [f for f in fault_store.list_fault_events(session) if f.lockout]
        if not sustained:
            return None
        record = sustained[-1]
        group, location = tracker.locate_record(session, record)
    if location is None:
        return None
    zones = tracker.locator(record.open_edges).zones_of_feeder(record.feeder_id)
    return draw_fault_map(service.context.network, zones, location, group.observations, path)


def _report_faults(
    faults: list[dict[str, Any]], smsc: SmscSimulator, out: Path, say: Callable[[str, str], None]
) -> None:
    for fault in faults:
        where = fault.get("located_zone") or "-"
        say(
            f"      故障 #{fault['id']} {fault['feeder_id']}：定位于 {where}"
            f"（{fault['fault_type']}，告警 {fault['alert_state']}）",
            f"      fault #{fault['id']} on {fault['feeder_id']}: located at {where}"
            f" ({fault['fault_type']}, alert {fault['alert_state']})",
        )
    customer_phones = {c.phone for c in parse_customers(CUSTOMERS.read_text("utf-8"), source="")}
    notices = [m for m in smsc.messages if m.destination in customer_phones]
    for message in smsc.messages:
        if message.destination not in customer_phones:
            say(
                f"      抢修短信 → {mask_phone(message.destination)}：{message.text}",
                f"      crew SMS → {mask_phone(message.destination)}: {message.text}",
            )
    for message in notices[:2]:
        say(
            f"      停电通知短信 → {mask_phone(message.destination)}：{message.text}",
            f"      notice SMS → {mask_phone(message.destination)}: {message.text}",
        )
    if notices:
        say(
            f"      停电通知短信共 {len(notices)} 条（有联系方式的受影响用户各一条）",
            f"      {len(notices)} notice SMS in all (one per affected customer with a phone)",
        )
    (out / "faults.json").write_text(
        json.dumps(faults, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )


def _draw_day(records: list[dict[str, Any]], day: datetime, path: Path) -> Path:
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415

    changes: list[tuple[datetime, int]] = []
    for record in records:
        for area in record["areas"]:
            changes.append((datetime.fromisoformat(area["off_at"]), area["customers"]))
            if area.get("restored_at"):
                changes.append((datetime.fromisoformat(area["restored_at"]), -area["customers"]))
    changes.sort()
    times, off, level = [day], [0], 0
    for at, delta in changes:
        times.append(at.astimezone(LOCAL))
        off.append(level)
        level += delta
        times.append(at.astimezone(LOCAL))
        off.append(level)
    times.append(day + timedelta(hours=24))
    off.append(level)
    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=110)
    x = [(t - day).total_seconds() / 3600 for t in times]
    ax.fill_between(x, off, alpha=0.35)
    ax.plot(x, off, linewidth=1.2)
    ax.set_xticks(range(0, 25, 3))
    ax.set_ylabel("customers off supply")
    ax.set_xlabel(f"hour of {day:%Y-%m-%d} (Asia/Shanghai)")
    ax.set_title("Sample county, scripted day: customers off supply (step restoration)")
    ax.set_xlim(0, 24)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def run_service_day(out: Path, lang: Lang) -> list[dict[str, Any]]:
    """Run the service, replay the day, print and return the outage records."""

    def say(zh: str, en: str) -> None:
        click.echo(zh if lang is Lang.ZH else en)

    folder = out / "service"
    shutil.rmtree(folder, ignore_errors=True)
    port = free_port()
    smsc = SmscSimulator(password="demo").start()  # stands in for the carrier's SMSC
    settings = Settings(
        data_dir=folder,
        network="sample:county",
        http_port=port,
        smpp_host="127.0.0.1",
        smpp_port=smsc.port,
        smpp_password="demo",
        public_base_url=f"http://127.0.0.1:{port}",
        # the day is replayed in seconds: the planned work's notice goes out at once, at
        # whatever hour the demo runs (in service it waits notice_hold_s and quiet hours)
        notice_hold_s=0.0,
        notice_quiet_hours="",
    )

    def import_roster(context: ServiceContext) -> None:
        text = CUSTOMERS.read_text(encoding="utf-8")
        found = parse_customers(text, source=CUSTOMERS.name)
        with context.sessions.begin() as session:
            roster.import_roster(session, ROSTER, grid_cells=set(context.network.grid_cells.id))
            customers.replace_customers(session, found, source=CUSTOMERS.name, now=context.clock())

    try:
        with serving(settings, port=port, prepare=import_roster) as running:
            context, url = running.context, running.base_url
            with context.sessions.begin() as session:
                token = tokens.create_token(
                    session,
                    name="demo dispatcher",
                    role=tokens.Role.DISPATCHER,
                    now=context.clock(),
                )
            say(
                f"      服务已启动：{url}/api/v1/docs（SQLite：{folder}）",
                f"      service running: {url}/api/v1/docs (SQLite in {folder})",
            )
            # Yesterday, so that every device time of the day lies in the past.
            day = datetime.now(LOCAL).replace(hour=0, minute=0, second=0, microsecond=0)
            day -= timedelta(days=1)
            plan = plan_day(context.network, context.analyser.topology, day=day)
            records = run_day(
                DemoClient(url, token),
                plan,
                wait=lambda: _wait_processed(context),
                say=lambda text: click.echo(f"      {text}"),
            )
            with context.sessions.begin() as session:
                planner = tokens.create_token(
                    session, name="demo planner", role=tokens.Role.PLANNER, now=context.clock()
                )
            planned = run_planned(
                DemoClient(url, planner),
                context.network,
                context.analyser.topology,
                say=lambda text: click.echo(f"      {text}"),
            )
            off = set(planned["element_ids"])
            told = [
                c
                for c in parse_customers(CUSTOMERS.read_text("utf-8"), source="")
                if c.element_id in off and c.phone and "sms" in c.channels
            ]
            smsc.wait_for(1 + len(told), timeout=30)  # the crew SMS and the notices
            faults = DemoClient(url, token).call("GET", "/api/v1/faults")
            fault_map = _draw_fault(running.service, out / "06-fault.png")
    finally:
        smsc.stop()
    _report_faults(faults, smsc, out, say)
    if fault_map is not None:
        say(f"      故障定位图：{fault_map}", f"      map of the located fault: {fault_map}")
    say("      停电记录：", "      outage records:")
    for record in sorted(records, key=lambda r: r["id"]):
        steps = len(record.get("steps", []))
        text = record["summary"].get("zh" if lang is Lang.ZH else "en", "")
        say(
            f"      #{record['id']} {record['kind']} {record['state']}"
            f"{'（瞬时）' if record['momentary'] else ''} {record.get('feeder_id') or ''} "
            f"恢复步骤 {steps}：{text}",
            f"      #{record['id']} {record['kind']} {record['state']}"
            f"{' (momentary)' if record['momentary'] else ''} {record.get('feeder_id') or ''} "
            f"{steps} restoration step(s): {text}",
        )
    (out / "planned.json").write_text(
        json.dumps(planned, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    (out / "outages.json").write_text(
        json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    picture = _draw_day(records, day, out / "05-day.png")
    say(f"      全天停电用户曲线：{picture}", f"      customers off through the day: {picture}")
    return records
