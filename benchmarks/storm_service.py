"""Storm benchmark through the service path: trouble calls into the intake and the event
processor with a database, fault notices through the notice engine to a counting channel.

    python benchmarks/storm_service.py [--quick] [--outages 1000] [--calls 100000]
                                       [--substations 20] [--seed 1] [--batch-s 10]
                                       [--budget-s 0] [--sms-per-minute 6000]
                                       [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Network and storm as in ``benchmarks/storm.py`` (the sample county scaled up by
``openoms.grid.generate.generate_county``, ``--substations`` × 8 feeders; ``--outages``
devices opened at uniform times in the hour, ``--calls`` calls from their customers with a
log-normal delay, 1 % from customers who are on). One customer with a phone per transformer
area and HV customer is imported (the CSV import of the notice engine), so every outage has
customers to tell.

The service path, single-threaded and on a simulated clock (the hour runs as fast as the
service goes): every ``--batch-s`` simulated seconds, the calls of that slice go into
``Intake.accept_events`` (as the HTTP API hands them over) and ``EventProcessor.
process_pending`` handles them (resolve the area, merge into an open outage, group,
predict, screen: :mod:`openoms.service.calls`, one transaction per event); every simulated
minute, and after the last call, predictions turn probable by time (``refresh_statuses``),
the fault notices that changed are published (:mod:`openoms.service.fault_notices`, the
notice engine's ``publish_notice``) and ``deliver_due`` hands what is due to the channel
adapters: a counting adapter per channel (SMS, Weibo, broadcast). The SMS rate limit is
``--sms-per-minute`` (the setting ``notice_sms_per_minute``).

Measured: the wall time of each slice (processing, and the notice round), from which the
backlog is replayed as if the calls arrived in real time (a slice is ready at its simulated
end; the service takes its measured time): "settled after the last call" is the time from
the last call's arrival until its slice, the final notice round included, is done. Target 60
s. Checked: every delivery handed to the adapters once (per delivery key; and no customer
texted the same SMS twice), no delivery left pending; outages predicted at exactly their
device, or with exactly their areas off; records merged; calls attached to an open outage.
Prints a table,
writes ``benchmarks/results/storm_service.json`` (``storm_service_quick.json`` with
``--quick``); exit status 1 when a notice went twice or the target is missed. With
``--budget-s`` the calls stop going in after that much wall time (the notices of what came in
are still settled): for a storm the service cannot finish on this machine, the rate it
sustained and how far into the hour it got.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any, Final

import numpy as np
from _results import machine, versions
from storm import storm as make_storm

ROOT: Final = Path(__file__).resolve().parents[1]
RESULTS: Final = ROOT / "benchmarks" / "results"
TARGET_SETTLE_S: Final = 60.0
HOUR: Final = 3600.0
T0: Final = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # 16:00 in Asia/Shanghai: no quiet hours
NOTICE_EVERY_S: Final = 60.0

_START: Final = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - _START:7.1f} s] {message}", file=sys.stderr, flush=True)


class CountingChannel:
    """A channel adapter that takes every message and counts it: by delivery key, and by
    recipient and text."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel
        self.by_key: Counter[str] = Counter()
        self.by_text: Counter[tuple[str, str]] = Counter()

    @property
    def channel(self) -> Any:
        return self._channel

    def send(self, message: Any) -> Any:
        from openoms.notify.channels import Receipt

        self.by_key[message.key] += 1
        self.by_text[(message.recipient, message.body)] += 1
        return Receipt("counted")


def customers_csv(network: Any) -> str:
    """One customer with a phone per transformer area and HV customer."""
    from openoms.contacts.customers import COLUMNS

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    ids = [*network.transformer_areas.id, *network.hv_customers.id]
    for i, element in enumerate(ids):
        writer.writerow(
            {
                "account": f"A{i:07d}",
                "name": f"用户{i}",
                "phone": f"139{i:08d}",
                "address": f"{element} 1号",
                "element_id": element,
                "channels": "sms",
            }
        )
    return out.getvalue()


def _database(args: argparse.Namespace, workdir: Path) -> tuple[str, Any]:
    """The database URL and a function dropping it after (PostgreSQL: a database of its own)."""
    if not args.pg:
        return f"sqlite:///{workdir / 'storm.db'}", lambda: None
    from sqlalchemy import create_engine, text

    name = f"openoms_storm_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.pg.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from sqlalchemy import func, select

    from openoms.events import Event, EventKind, EventSource
    from openoms.grid.generate import generate_county
    from openoms.grid.native import write_csv_folder
    from openoms.grid.topology import Topology
    from openoms.outages.calls import CallTree
    from openoms.outages.lifecycle import OPEN_STATES, OutageState
    from openoms.outages.notices import NoticeChannel
    from openoms.outages.records import OutageKind
    from openoms.service import calls as call_workflow
    from openoms.service.fault_notices import publish_fault_notices
    from openoms.service.notices import customer_element_ids, deliver_due, import_customers
    from openoms.service.processor import EventProcessor
    from openoms.service.runtime import build_context
    from openoms.settings import Settings
    from openoms.store.outage_queries import list_outages
    from openoms.store.tables import NoticeDelivery, Outage, TroubleCall

    say(f"generating the county: {args.substations} substations")
    folder = workdir / "county"
    write_csv_folder(generate_county(substations=args.substations), folder)
    url, drop = _database(args, workdir)
    now = [T0]
    settings = Settings(
        data_dir=workdir,
        database_url=url,
        network=str(folder),
        notice_sms_per_minute=args.sms_per_minute,
    )
    context = build_context(settings, clock=lambda: now[0])
    try:
        network = context.network
        with context.sessions.begin() as session:
            imported = import_customers(
                session,
                customers_csv(network),
                source="storm.csv",
                element_ids=customer_element_ids(network),
                network=network.name,
                now=T0,
            )
        topology = Topology.build(network.graph_arrays(), network.closed_edges())
        tree = CallTree(network, topology)
        rng = np.random.default_rng(args.seed)
        chosen, calls = make_storm(tree, rng, args.outages, args.calls)
        say(
            f"{len(network.nodes.id):,} nodes, {len(tree.unit_ids):,} areas, {imported:,} "
            f"customers with a phone; storm: {len(chosen)} outages, {len(calls):,} calls"
        )
        events = [
            Event(
                EventKind.TROUBLE_CALL,
                EventSource.HTTP,
                None,
                c.at,
                {"element_id": tree.unit_ids[c.unit], "account": c.account},
            )
            for c in calls
        ]
        adapters = {
            channel: CountingChannel(channel)
            for channel in (NoticeChannel.SMS, NoticeChannel.WEIBO, NoticeChannel.BROADCAST)
        }
        processor = EventProcessor(context)

        def notice_round(at: datetime) -> int:
            with context.sessions.begin() as session:
                call_workflow.refresh_statuses(context, session, now=at)
            with context.sessions.begin() as session:
                publish_fault_notices(context, session, now=at)
            sent = 0
            while True:
                done = deliver_due(context, adapters, now=at, batch=500)
                sent += done.sent
                if done.sent == 0:
                    return sent

        last_at = (calls[-1].at - T0).total_seconds()
        slices = int(last_at // args.batch_s) + 1
        arrivals: list[float] = []
        services: list[float] = []
        processing = notices_s = 0.0
        next_notice = NOTICE_EVERY_S
        i = 0
        loop_started = time.perf_counter()
        stopped = False
        for k in range(slices):
            if args.budget_s and time.perf_counter() - loop_started > args.budget_s:
                stopped = True  # the wall-time budget is spent: settle what came in
                t = time.perf_counter()
                notice_round(now[0])
                notices_s += time.perf_counter() - t
                services[-1] += time.perf_counter() - t
                say(f"budget of {args.budget_s:.0f} s spent after {i:,} calls: stopped")
                break
            end = min((k + 1) * args.batch_s, last_at)
            batch = []
            while i < len(events) and (events[i].device_time - T0).total_seconds() <= end:
                batch.append(events[i])
                i += 1
            now[0] = T0 + timedelta(seconds=end)
            started = time.perf_counter()
            if batch:
                context.intake.accept_events(
                    batch,
                    source=EventSource.HTTP,
                    channel="storm",
                    raw_of=lambda _i, _e: b"",
                    received_at=now[0],
                )
                while processor.process_pending(limit=500):
                    pass
            spent = time.perf_counter() - started
            processing += spent
            if end >= next_notice or k == slices - 1:
                t = time.perf_counter()
                notice_round(now[0])
                notices_s += time.perf_counter() - t
                spent += time.perf_counter() - t
                next_notice += NOTICE_EVERY_S
            arrivals.append(end)
            services.append(spent)
            if (k + 1) % max(1, slices // 20) == 0:
                say(
                    f"{i:,} calls ({end / 60:.0f} simulated min): processing {processing:.0f} s, "
                    f"notices {notices_s:.0f} s"
                )
        # the backlog as if the calls arrived in real time
        finish = 0.0
        for arrival, service in zip(arrivals, services, strict=True):
            finish = max(arrival, finish) + service
        settle = finish - arrivals[-1]

        with context.sessions() as session:
            links = dict(
                session.execute(
                    select(TroubleCall.link, func.count()).group_by(TroubleCall.link)
                ).all()
            )
            screened = session.scalar(select(func.count()).where(TroubleCall.screened)) or 0
            by_kind_state = {
                f"{kind}/{state}": n
                for kind, state, n in session.execute(
                    select(Outage.kind, Outage.state, func.count()).group_by(
                        Outage.kind, Outage.state
                    )
                ).all()
            }
            faults = list_outages(
                session, states=OPEN_STATES, kinds=[OutageKind.FAULT], limit=1_000_000
            )
            deliveries = dict(
                session.execute(
                    select(NoticeDelivery.state, func.count()).group_by(NoticeDelivery.state)
                ).all()
            )
        opened = {network.edge_id(e): e for e in chosen}
        predicted = {r.operated_device for r in faults}
        areas_of_record = {frozenset(a.element_id for a in r.areas) for r in faults}
        same_off = sum(
            frozenset(tree.unit_ids[u] for u in tree.units_below(int(tree.edge_child[e])).tolist())
            in areas_of_record
            for e in chosen
        )
        not_yet = sum(
            1
            for r in faults
            if r.state is OutageState.DETECTED
            and r.summary.get("prediction", {}).get("status") == "predicted"
        )
        sms = adapters[NoticeChannel.SMS]
        twice = [k for k, n in sms.by_text.items() if n > 1]
        with context.sessions() as session:
            examples = [
                [
                    {"refs": list(refs), "account": account, "sent_at": str(at)}
                    for refs, account, at in session.execute(
                        select(NoticeDelivery.refs, NoticeDelivery.account, NoticeDelivery.sent_at)
                        .where(
                            NoticeDelivery.recipient == recipient,
                            NoticeDelivery.body == body,
                            NoticeDelivery.state == "sent",
                        )
                        .order_by(NoticeDelivery.id)
                    ).all()
                ]
                for recipient, body in twice[:5]
            ]
        sent = {c.value: sum(a.by_key.values()) for c, a in adapters.items()}
        twice_by_key = sum(n > 1 for a in adapters.values() for n in a.by_key.values())
        twice_by_text = len(twice)
        media_alike = sum(
            n - 1
            for c, a in adapters.items()
            if c is not NoticeChannel.SMS
            for n in a.by_text.values()
            if n > 1
        )
        sms_customers = len({r for r, _ in adapters[NoticeChannel.SMS].by_text})
        per_slice = [s for s in services if s > 0]
        return {
            "network": {
                "substations": args.substations,
                "nodes": len(network.nodes.id),
                "areas": len(tree.unit_ids),
                "customers_with_phone": imported,
            },
            "database": "postgresql" if args.pg else "sqlite",
            "storm": {"outages": len(chosen), "calls": len(calls), "batch_s": args.batch_s},
            "stopped_by_budget": {
                "budget_s": args.budget_s,
                "calls_processed": i,
                "simulated_min_covered": round(arrivals[-1] / 60, 1),
            }
            if stopped
            else None,
            "service": {
                "processing_s": round(processing, 1),
                "notice_rounds_s": round(notices_s, 1),
                "calls_per_s": round(i / processing, 1),
                "slice_median_s": round(median(per_slice), 3),
                "slice_max_s": round(max(per_slice), 3),
                "keeps_up_with_the_hour": not stopped and processing + notices_s < last_at,
                # with a budget stop: the backlog behind the last call processed
                "settled_after_last_call_s": round(settle, 2),
            },
            "results": {
                "call_links": links,
                "calls_screened": screened,
                "outages_by_kind_state": by_kind_state,
                "open_fault_records": len(faults),
                "devices_with_several_open_records": sum(
                    n > 1 for n in Counter(r.operated_device for r in faults).values()
                ),
                "outages_predicted_exactly": len(set(opened) & predicted),
                "outages_with_the_same_areas_off": same_off,
                "predictions_not_yet_probable": not_yet,
                "records_merged": sum(
                    n for k, n in by_kind_state.items() if k.endswith(f"/{OutageState.MERGED}")
                ),
            },
            "notices": {
                "handed_to_adapters": sent,
                "customers_texted": sms_customers,
                "delivery_states": deliveries,
                "sent_twice_same_key": twice_by_key,
                "sent_twice_same_text_to_same_recipient": twice_by_text,
                "same_text_twice_examples": examples,
                # different outages whose media texts read the same (same line, villages,
                # start minute): not a repeat of one notice
                "media_texts_alike": media_alike,
            },
            "target_settle_s": TARGET_SETTLE_S,
        }
    finally:
        context.dispose()
        drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 outages, 3,000 calls, 2 subst.")
    parser.add_argument("--outages", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--substations", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-s", type=float, default=10.0, help="simulated s per slice")
    parser.add_argument("--sms-per-minute", type=int, default=6000)
    parser.add_argument("--pg", default="", help="a PostgreSQL server URL (default SQLite)")
    parser.add_argument(
        "--budget-s", type=float, default=0.0, help="stop feeding calls after this wall time"
    )
    args = parser.parse_args()
    if args.quick:
        args.outages, args.calls, args.substations = 30, 3000, 2
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="storm-service-") as tmp:
        result = run(args, Path(tmp))
    result["machine"] = machine(load_before, os.getloadavg()[0])
    result["versions"] = versions("numpy", "sqlalchemy")
    result["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["command"] = " ".join(["python", "benchmarks/storm_service.py", *sys.argv[1:]])
    name = "storm_service_quick.json" if args.quick else "storm_service.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    s, r, n = result["service"], result["results"], result["notices"]
    print(json.dumps(result, indent=1, ensure_ascii=False))
    print(
        f"\n{result['storm']['calls']:,} calls, {result['storm']['outages']} outages "
        f"({result['database']}): {s['calls_per_s']} calls/s through the service; "
        f"processing {s['processing_s']} s + notice rounds {s['notice_rounds_s']} s for the "
        f"simulated hour; settled {s['settled_after_last_call_s']} s after the last call "
        f"(target {TARGET_SETTLE_S:.0f} s)"
    )
    print(
        f"predicted at exactly their device: {r['outages_predicted_exactly']}, with exactly "
        f"their areas off: {r['outages_with_the_same_areas_off']}; records merged: "
        f"{r['records_merged']}; notices handed over: {n['handed_to_adapters']}, twice: "
        f"{n['sent_twice_same_key']} (the same SMS text twice to one customer: "
        f"{n['sent_twice_same_text_to_same_recipient']})"
    )
    ok = (
        n["sent_twice_same_key"] == 0
        and n["sent_twice_same_text_to_same_recipient"] == 0
        and s["settled_after_last_call_s"] <= TARGET_SETTLE_S
        and s["keeps_up_with_the_hour"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
