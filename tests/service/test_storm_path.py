"""A small storm through the service path (the full one is benchmarks/storm_service.py):
50 trouble calls under 3 simultaneous outages go into the intake and the event processor
with a database (SQLite and PostgreSQL); after every 10 calls the fault notices that changed
are published through the notice engine and delivered to counting channel adapters.

Checked: each outage ends as one open fault record with exactly the areas below its device
off, the records of its early calls merged into it; every customer under an outage is texted
and no one else; every delivery is handed over exactly once (per delivery key, and per
recipient and text), nothing is left pending, and rounds after the storm send nothing.

Network: ``generate_county(substations=1)`` (its default seed); one customer with a phone per
transformer area and HV customer. The outages: the first three candidate devices in edge
order, on three different feeders, with 3 transformer areas below (no HV customer); 16 calls
each (5 or 6 per area, one every 30 s) and 2 lone calls from transformer areas elsewhere.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from openoms.contacts.customers import COLUMNS
from openoms.events import Event, EventKind, EventSource
from openoms.grid.generate import generate_county
from openoms.grid.native import write_csv_folder
from openoms.grid.topology import Topology
from openoms.notify.channels import OutgoingMessage, Receipt
from openoms.outages.calls import CallTree
from openoms.outages.lifecycle import OPEN_STATES, OutageState
from openoms.outages.notices import NoticeChannel
from openoms.outages.records import OutageKind
from openoms.service import calls as call_workflow
from openoms.service.context import ServiceContext
from openoms.service.fault_notices import publish_fault_notices
from openoms.service.notices import customer_element_ids, deliver_due, import_customers
from openoms.service.processor import EventProcessor
from openoms.service.runtime import Service, build_context
from openoms.settings import Settings
from openoms.store.outage_queries import list_outages
from openoms.store.tables import NoticeDelivery, OutboxMessage
from tests.grid.small import small_raw
from tests.notify.notice_helpers import CUSTOMERS_CSV

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # 16:00 in Asia/Shanghai: outside quiet hours


class CountingChannel:
    def __init__(self, channel: NoticeChannel) -> None:
        self._channel = channel
        self.by_key: Counter[str] = Counter()
        self.by_text: Counter[tuple[str, str]] = Counter()

    @property
    def channel(self) -> NoticeChannel:
        return self._channel

    def send(self, message: OutgoingMessage) -> Receipt:
        self.by_key[message.key] += 1
        self.by_text[(message.recipient, message.body)] += 1
        return Receipt("counted")


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[tuple[ServiceContext, list[datetime]]]:
    """The service context on the county, and its clock (the test moves ``now[0]``)."""
    write_csv_folder(generate_county(substations=1), tmp_path / "county")
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, network=str(tmp_path / "county")
    )
    now = [T0]
    built = build_context(settings, clock=lambda: now[0])
    yield built, now
    built.dispose()


def _phones(network: Any) -> dict[str, str]:
    """One phone per transformer area and HV customer."""
    ids = [*network.transformer_areas.id, *network.hv_customers.id]
    return {element: f"139{i:08d}" for i, element in enumerate(ids)}


def _import(context: ServiceContext, phones: dict[str, str]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for i, (element, phone) in enumerate(phones.items()):
        writer.writerow(
            {
                "account": f"A{i:05d}",
                "name": f"用户{i}",
                "phone": phone,
                "address": f"{element} 1号",
                "element_id": element,
                "channels": "sms",
            }
        )
    with context.sessions.begin() as session:
        import_customers(
            session,
            out.getvalue(),
            source="storm.csv",
            element_ids=customer_element_ids(context.network),
            network=context.network.name,
            now=T0,
        )


def _storm(tree: CallTree) -> tuple[list[int], list[tuple[float, str]]]:
    """The three devices (edges) and the calls (minutes after T0, area) in time order."""
    n_areas = len(tree.network.transformer_areas.id)  # units: areas first, then HV customers
    chosen: list[int] = []
    feeders: set[int] = set()
    for edge in np.flatnonzero(tree.candidate).tolist():
        units = tree.units_below(int(tree.edge_child[edge]))
        feeder = int(tree.feeder[tree.unit_node[units[0]]]) if len(units) else -1
        if len(units) != 3 or (units >= n_areas).any() or feeder in feeders:
            continue
        chosen.append(edge)
        feeders.add(feeder)
        if len(chosen) == 3:
            break
    calls: list[tuple[float, str]] = []
    for o, edge in enumerate(chosen):
        units = tree.units_below(int(tree.edge_child[edge])).tolist()
        calls += [(o + 0.5 * j, tree.unit_ids[units[j % len(units)]]) for j in range(16)]
    elsewhere = [
        u
        for u in range(n_areas)
        if tree.pos[tree.unit_node[u]] >= 0 and int(tree.feeder[tree.unit_node[u]]) not in feeders
    ]
    calls += [(3.0, tree.unit_ids[elsewhere[0]]), (6.0, tree.unit_ids[elsewhere[-1]])]
    return chosen, sorted(calls)


def test_a_small_storm_merges_and_notifies_each_customer_once(
    service: tuple[ServiceContext, list[datetime]],
) -> None:
    context, now = service
    network = context.network
    phones = _phones(network)
    _import(context, phones)
    tree = CallTree(network, Topology.build(network.graph_arrays(), network.closed_edges()))
    chosen, calls = _storm(tree)
    assert (len(chosen), len(calls)) == (3, 50)
    adapters = {
        c: CountingChannel(c)
        for c in (NoticeChannel.SMS, NoticeChannel.WEIBO, NoticeChannel.BROADCAST)
    }
    processor = EventProcessor(context)

    def notice_round() -> int:
        with context.sessions.begin() as session:
            call_workflow.refresh_statuses(context, session, now=now[0])
        with context.sessions.begin() as session:
            publish_fault_notices(context, session, now=now[0])
        sent = 0
        while (done := deliver_due(context, adapters, now=now[0])).sent:
            sent += done.sent
        return sent

    for start in range(0, len(calls), 10):
        batch = calls[start : start + 10]
        events = [
            Event(
                EventKind.TROUBLE_CALL,
                EventSource.HTTP,
                None,
                T0 + timedelta(minutes=minute),
                {"element_id": element, "account": f"caller-{start + i}"},
            )
            for i, (minute, element) in enumerate(batch)
        ]
        now[0] = T0 + timedelta(minutes=batch[-1][0])
        context.intake.accept_events(
            events, source=EventSource.HTTP, channel="test", raw_of=[b""] * len(events),
            received_at=now[0],
        )  # fmt: skip
        while processor.process_pending():
            pass
        notice_round()

    with context.sessions() as session:
        faults = list_outages(session, states=OPEN_STATES, kinds=[OutageKind.FAULT])
        merged = list_outages(session, states=[OutageState.MERGED])
        left = session.scalars(
            select(NoticeDelivery.state).where(NoticeDelivery.state != "sent")
        ).all()
    below = {
        edge: {tree.unit_ids[u] for u in tree.units_below(int(tree.edge_child[edge])).tolist()}
        for edge in chosen
    }
    assert sorted(sorted(a.element_id for a in r.areas) for r in faults) == sorted(
        sorted(areas) for areas in below.values()
    )
    assert merged, "the early calls' records are merged into the outage that explains them"
    assert {m.merged_into_id for m in merged} <= {r.id for r in faults}

    sms = adapters[NoticeChannel.SMS]
    texted = {recipient for recipient, _ in sms.by_text}
    assert texted == {phones[element] for areas in below.values() for element in areas}
    assert set(sms.by_key.values()) == {1}
    assert set(sms.by_text.values()) == {1}
    for media in (NoticeChannel.WEIBO, NoticeChannel.BROADCAST):  # a text per outage at least
        assert len(adapters[media].by_key) >= 3
        assert set(adapters[media].by_key.values()) == {1}
    assert left == []
    # later rounds (a restart of the notice worker does the same) hand over nothing
    now[0] += timedelta(minutes=20)
    assert notice_round() == 0


def test_the_running_service_tells_the_customers_of_a_probable_prediction(
    database_url: str, tmp_path: Path
) -> None:
    """On the small network (tests/grid/small.py), five calls from TA2 and HV1 predict K1
    with 5 calls: probable (``call_probable_calls`` 5). The service loop publishes its fault
    notice and the notice worker queues the SMS of TA2's customers (2001, 2002) in the
    outbox; TA1's (1001, 1002) are not told; HV1's only customer has e-mail alone (no SMTP
    host: its delivery waits)."""
    write_csv_folder(small_raw(), tmp_path / "small")
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        network=str(tmp_path / "small"),
        notice_quiet_hours="",
    )
    context = build_context(settings)
    with context.sessions.begin() as session:
        import_customers(
            session,
            CUSTOMERS_CSV,
            source="customers.csv",
            element_ids=customer_element_ids(context.network),
            network=context.network.name,
            now=datetime.now(UTC),
        )
    service = Service(context)
    service.start()
    try:
        at = datetime.now(UTC)
        events = [
            Event(
                EventKind.TROUBLE_CALL,
                EventSource.HTTP,
                None,
                at + timedelta(seconds=i),
                {"element_id": element, "account": f"caller-{i}"},
            )
            for i, element in enumerate(["TA2", "HV1", "TA2", "HV1", "TA2"])
        ]
        context.intake.accept_events(
            events, source=EventSource.HTTP, channel="test", raw_of=[b""] * 5,
            received_at=at,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(_outbox_phones(context)) < 2:
            time.sleep(0.2)
        assert _outbox_phones(context) == ["13800002001", "13800002002"]
        with context.sessions() as session:
            [record] = list_outages(session, states=OPEN_STATES, kinds=[OutageKind.FAULT])
        assert record.operated_device == "K1"
    finally:
        service.stop()
        context.dispose()


def _outbox_phones(context: ServiceContext) -> list[str]:
    with context.sessions() as session:
        return sorted(session.scalars(select(OutboxMessage.recipient_phone)).all())
