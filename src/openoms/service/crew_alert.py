"""The crew SMS of a located sustained fault: who gets it, what it says, into the outbox.

The crew on duty for the grid cell of the located section (the duty roster; the cell's
fallback contact when no one is on duty) gets one SMS per person through the persistent
outbox (:mod:`openoms.store.outbox`), which the outbox worker hands to the SMSC. The outbox
row records the time of the last report the location needed (``trigger_at``) and the worker
the time the SMSC accepted it (``handed_at``): the alert latency of the outage.

The fault event stores ``sent`` once the SMS is in the outbox; what people are shown
(:func:`shown_alert_states`) is what became of it, from the outbox rows of the outage:
queued / sent / delivered / failed / unconfirmed (``sms_receipt_timeout_s`` without a
receipt after the hand-over counts as unconfirmed).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from openoms.contacts.phone import mask_phone
from openoms.faults.lifecycle import AlertState, ShownAlertState, shown_alert_state
from openoms.faults.result import FaultLocation
from openoms.faults.summary import LocationView
from openoms.faults.zones import Zone
from openoms.grid.model import Network
from openoms.i18n import Lang
from openoms.notify.sms import CrewAlert, DeviceRef, SensitiveOff, outage_url, render_crew_sms
from openoms.outages.records import ElementKindOff, OutageRecord
from openoms.service.context import ServiceContext
from openoms.service.fault_view import fault_view, feeder_zones
from openoms.store import outages, outbox, roster
from openoms.store.faults import FaultEventRecord

__all__ = ["CrewAlerter", "grid_cell_of_zone", "grid_cell_of_zones", "shown_alert_states"]

log = logging.getLogger("openoms.notify")

CORRECTION: Final = {Lang.ZH: "【更正】", Lang.EN: "[Correction] "}


def shown_alert_states(
    session: Session,
    records: Sequence[FaultEventRecord],
    *,
    now: datetime,
    receipt_timeout_s: float,
) -> dict[int, ShownAlertState]:
    """Per fault event id: its alert state as people are shown it (see the module doc)."""
    outage_ids = [r.outage_id for r in records if r.alert_state is AlertState.SENT and r.outage_id]
    messages = outbox.message_states_by_outage(session, outage_ids)
    timeout = timedelta(seconds=receipt_timeout_s)
    out: dict[int, ShownAlertState] = {}
    for record in records:
        rows = messages.get(record.outage_id or 0, [])
        out[record.id] = shown_alert_state(
            record.alert_state,
            [
                (state.value, handed_at is not None and now - handed_at > timeout)
                for state, handed_at in rows
            ],
        )
    return out


def _crew_zones(
    network: Network, record: FaultEventRecord, view: LocationView | None, zone: Zone
) -> list[Zone]:
    """The zones whose grid cell's crew goes: the region's (the whole feeder without
    evidence), else the located zone."""
    if view is None:
        return [zone]
    zones = feeder_zones(network, record.open_edges, record.feeder_id)
    if view.answer == "no_evidence":
        return list(zones)
    inside = {z for s in view.region for z in s.zones} or {zone.id}
    return [z for z in zones if z.id in inside]


def grid_cell_of_zone(network: Network, zone: Zone) -> str | None:
    """The grid cell most of the zone's nodes are in (None when the nodes have none)."""
    return grid_cell_of_zones(network, [zone])


def grid_cell_of_zones(network: Network, zones: Sequence[Zone]) -> str | None:
    """The grid cell most of the zones' nodes are in (None when the nodes have none)."""
    graph = network.graph_arrays()
    cells: Counter[int] = Counter()
    for edge_id in (e for zone in zones for e in zone.edges):
        edge = network.edge_index(edge_id)
        if edge is None:
            continue
        for node in (int(graph.edge_from[edge]), int(graph.edge_to[edge])):
            cell = int(network.nodes.grid_cell[node])
            if cell >= 0:
                cells[cell] += 1
    if not cells:
        return None
    return network.grid_cells.id[cells.most_common(1)[0][0]]


def _device(network: Network, edge_id: str, line: str) -> DeviceRef:
    """The device as the crew knows it, without the line's name it starts with (the SMS
    names the line once)."""
    kind, index = network.locate(edge_id)
    table = network.switches if kind.value == "switches" else network.sections
    name = table.name[index] or ""
    if line and name.startswith(line) and len(name) > len(line):
        name = name[len(line) :]
    return DeviceRef(edge_id, name)


def _sensitive(network: Network, record: OutageRecord) -> tuple[SensitiveOff, ...]:
    off = {a.element_id for a in record.areas if a.restored_at is None}
    sc, ta, hv = network.sensitive_customers, network.transformer_areas, network.hv_customers
    out: list[SensitiveOff] = []
    for i in range(len(sc.id)):
        t, h = int(sc.transformer_area[i]), int(sc.hv_customer[i])
        if (t >= 0 and ta.id[t] in off) or (h >= 0 and hv.id[h] in off):
            people = int(sc.people[i])
            out.append(SensitiveOff(sc.name[i] or sc.id[i], sc.category[i], max(people, 0)))
    return tuple(out)


class CrewAlerter:
    """Puts the crew SMS of a fault event in the outbox; ``wake`` nudges the outbox worker."""

    def __init__(self, context: ServiceContext, *, wake: Callable[[], None] | None = None) -> None:
        self.context = context
        self.wake = wake
        self._wake_due = False

    def __call__(
        self,
        session: Session,
        record: FaultEventRecord,
        location: FaultLocation,
        zone: Zone,
        correction: bool,
    ) -> AlertState:
        return self.alert(session, record, location, zone, correction=correction)

    def flush_wake(self) -> None:
        """Nudge the outbox worker, after the transaction that queued messages committed."""
        if self._wake_due and self.wake is not None:
            self.wake()
        self._wake_due = False

    def alert(
        self,
        session: Session,
        record: FaultEventRecord,
        location: FaultLocation,
        zone: Zone,
        *,
        correction: bool = False,
    ) -> AlertState:
        """Queue the SMS; returns the alert state: ``sent`` / ``no_contact`` / ``no_outage``."""
        if record.outage_id is None:
            return AlertState.NO_OUTAGE
        network = self.context.network
        settings = self.context.settings
        outage = outages.get_outage(session, record.outage_id)
        try:
            view = fault_view(network, record, location)
        except Exception:  # the SMS still goes, naming the located zone as before
            log.exception("fault %s: the location could not be put in words", record.id)
            view = None
        cell = grid_cell_of_zones(network, _crew_zones(network, record, view, zone))
        now = self.context.clock()
        contacts = roster.on_duty(session, cell, now) if cell is not None else []
        if not contacts:
            log.warning("fault %s: no one on duty for grid cell %s", record.id, cell)
            return AlertState.NO_CONTACT
        feeder_index = network.feeders.id.index(record.feeder_id)
        feeder_name = network.feeders.name[feeder_index] or record.feeder_id
        line = feeder_name.removeprefix("10kV").strip()  # 10kV 柏山Ⅴ线 → 柏山Ⅴ线
        lang = Lang(getattr(settings, "sms_lang", "zh"))
        alert = CrewAlert(
            outage_id=outage.id,
            feeder_name=feeder_name,
            upstream=_device(network, zone.upstream_device, line),
            downstream=tuple(_device(network, d, line) for d in zone.downstream_devices),
            fault_at=location.fault_time or record.t0,
            fault_type=location.fault_type.value,
            phases="".join(location.phases),
            customers_off=outage.customers_off,
            transformer_areas_off=sum(
                1
                for a in outage.areas
                if a.restored_at is None and a.element_kind == ElementKindOff.TRANSFORMER_AREA
            ),
            outage_url=outage_url(
                getattr(settings, "public_base_url", "http://127.0.0.1:8080"), outage.id
            ),
            sensitive=_sensitive(network, outage),
            timezone=settings.timezone,
            # the region with its probability, ties, or no evidence (docs/faults.md)
            area={lang: view.where(lang) for lang in Lang} if view is not None else None,
        )
        body = render_crew_sms(alert, lang)
        if correction:
            body = CORRECTION[lang] + body
        queued = 0
        for contact in contacts:
            result = outbox.enqueue(
                session,
                dedupe_key=f"crew_alert:{outage.id}:{zone.id}:{contact.phone}",
                kind="crew_alert",
                phone=contact.phone,
                name=contact.person,
                body=body,
                lang=lang.value,
                now=now,
                outage_id=outage.id,
                trigger_at=record.last_report_at,
            )
            queued += int(result.created)
            log.info(
                "fault %s: crew SMS for %s (%s, %s) queued",
                record.id,
                contact.person,
                contact.crew,
                mask_phone(contact.phone),
            )
        self._wake_due = self._wake_due or queued > 0
        return AlertState.SENT
