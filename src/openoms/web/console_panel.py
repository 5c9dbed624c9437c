"""The console's outage list and outage panel as HTML fragments (escaped by :mod:`.html`).

The fragments are asked for by the console's script with the API token and inserted as they
are; the actions shown are those the caller's role may take, each a form that the script
sends to the existing API route (``data-action``). Names, never ids: lines, devices,
villages, crews; times in the utility's zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from openoms.faults.summary import LocationView
from openoms.grid.model import ElementKind, Network
from openoms.i18n import CATEGORY_NAMES, Lang
from openoms.outages.lifecycle import OPEN_STATES, TRANSITIONS, OutageState
from openoms.outages.records import OutageKind, OutageRecord
from openoms.service.outages import CREW_TRANSITIONS, PLANNER_TRANSITIONS
from openoms.store.audit import AuditRecord
from openoms.store.faults import FaultEventRecord
from openoms.store.notices import NoticeItem
from openoms.store.outbox import OutboxItem
from openoms.store.tokens import Role
from openoms.web.console_texts import CONSOLE_TEXTS, HOW_NAMES, STATE_NAMES
from openoms.web.html import Html, join, render
from openoms.web.texts import KIND_NAMES

__all__ = [
    "Impact",
    "OutageFacts",
    "impact_of",
    "outage_list",
    "outage_panel",
]


def t(key: str, lang: Lang, **values: object) -> str:
    text = CONSOLE_TEXTS[key][lang]
    return text.format(**values) if values else text


@dataclass(frozen=True, slots=True)
class Impact:
    """Who an outage puts off: names for the dispatcher (never shown to the public)."""

    villages: tuple[str, ...]
    areas_off: int  # transformer areas and HV customers still off
    areas: int  # all of the outage's
    customers_off: int
    hv_customers: tuple[str, ...]
    sensitive: tuple[str, ...]  # "name (category)"
    customer_minutes: float  # sum of customers × minutes off, up to now for those still off


def impact_of(
    record: OutageRecord, network: Network, now: datetime, lang: Lang = Lang.ZH
) -> Impact:
    """The outage's impact at ``now``: each area counts ``customers × (back or now − off)``."""
    hv, sc = network.hv_customers, network.sensitive_customers
    hv_names: list[str] = []
    ta_indexes: set[int] = set()
    hv_indexes: set[int] = set()
    minutes = 0.0
    for area in record.areas:
        end = area.restored_at or now
        minutes += area.customers * max(0.0, (end - area.off_at).total_seconds() / 60)
        if area.element_id not in network:
            continue
        kind, i = network.locate(area.element_id)
        if kind is ElementKind.HV_CUSTOMER:
            hv_indexes.add(i)
            hv_names.append(hv.name[i] or hv.id[i])
        elif kind is ElementKind.TRANSFORMER_AREA:
            ta_indexes.add(i)
    sensitive = [
        f"{sc.name[s] or sc.id[s]} ({_category(sc.category[s], lang)})"
        for s in range(len(sc.id))
        if int(sc.transformer_area[s]) in ta_indexes or int(sc.hv_customer[s]) in hv_indexes
    ]
    return Impact(
        villages=tuple(sorted({a.village for a in record.areas if a.village})),
        areas_off=sum(1 for a in record.areas if a.restored_at is None),
        areas=len(record.areas),
        customers_off=record.customers_off,
        hv_customers=tuple(hv_names),
        sensitive=tuple(sensitive),
        customer_minutes=round(minutes, 1),
    )


def _category(category: str, lang: Lang) -> str:
    names = CATEGORY_NAMES.get(category)
    return names[lang] if names else category


@dataclass(frozen=True, slots=True)
class OutageFacts:
    """Everything the panel shows of one outage, read by the route."""

    record: OutageRecord
    faults: Sequence[tuple[FaultEventRecord, LocationView | None]]
    alerts: Sequence[OutboxItem]
    notices: Sequence[NoticeItem]
    audit: Sequence[AuditRecord]


class Clock:
    """Times in the utility's zone, to the minute (with the date when not today)."""

    def __init__(self, zone: str) -> None:
        self.zone = ZoneInfo(zone)
        self.zone_name = zone

    def __call__(self, at: datetime | None) -> Html:
        if at is None:
            return Html("")
        local = at.astimezone(self.zone)
        return render(
            '<time datetime="$iso">$shown</time>',
            iso=local.isoformat(timespec="seconds"),
            shown=local.strftime("%m-%d %H:%M:%S"),
        )


def _name(network: Network, element_id: str | None) -> str:
    if not element_id:
        return ""
    if element_id not in network:
        return element_id
    kind, i = network.locate(element_id)
    name: str | None = getattr(network, kind.value).name[i]
    return name or element_id


def _feeder_name(network: Network, feeder_id: str | None) -> str:
    return _name(network, feeder_id) if feeder_id else ""


def _operated(network: Network, record: OutageRecord, sep: str) -> str:
    """The device that opened, or those a dispatcher or planner named (``summary.opened``)."""
    if record.operated_device:
        return _name(network, record.operated_device)
    opened = record.summary.get("opened")
    if isinstance(opened, list):
        return sep.join(_name(network, str(element)) for element in opened)
    return ""


def _rows(rows: Sequence[tuple[str, Html | str]]) -> Html:
    return join(render("<div><dt>$k</dt><dd>$v</dd></div>", k=k, v=v) for k, v in rows)


def _estimate(record: OutageRecord) -> datetime | None:
    return _estimate_of(record.summary.get("estimated_restoration_at"))


def _estimate_of(value: object) -> datetime | None:
    """An estimate as stored (ISO 8601 text with an offset), or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def outage_list(
    records: Sequence[OutageRecord], network: Network, lang: Lang, clock: Clock
) -> Html:
    """The open outages, newest first, each a link to its panel."""
    if not records:
        return render('<p class="empty">$text</p>', text=t("no_outages", lang))
    items = [
        render(
            '<li class="outage-item $kind" data-outage="$id"><a href="/console/outages/$id$q">'
            '<span class="o-title">$title</span> <span class="badge">$state</span>'
            '<span class="o-line">$feeder · $customers · $started</span></a></li>',
            kind=r.kind.value,
            id=r.id,
            q="?lang=en" if lang is Lang.EN else "",
            title=t("outage", lang, id=r.id),
            state=STATE_NAMES[r.state][lang],
            feeder=_feeder_name(network, r.feeder_id),
            customers=f"{r.customers_off} {'户' if lang is Lang.ZH else 'customers'}",
            started=clock(r.started_at),
        )
        for r in records
    ]
    return render('<ul class="outage-list">$items</ul>', items=join(items))


def _location(
    network: Network, event: FaultEventRecord, view: LocationView | None, lang: Lang
) -> Html:
    if view is None:
        return render('<p class="empty">$text</p>', text=t("no_location", lang))
    loc = view.location
    candidates = [
        render(
            '<tr><td>$zone</td><td class="num">$p</td></tr>',
            zone=view.name(c.zone),
            p=f"{c.posterior:.1%}",
        )
        for c in loc.candidates[:10]
        if c.posterior >= 0.001  # the rest are shown as nothing
    ]
    contradictions = [
        render(
            "<li>$name: $expected $e, $observed $o</li>",
            name=view.name(c.detector),
            expected=t("expected", lang),
            e=c.expected,
            observed=t("observed", lang),
            o=c.observed,
        )
        for c in loc.contradictions
    ]
    return render(
        '<p class="where">$where</p><p>$p_label: <strong>$p</strong></p>'
        '<table class="candidates"><caption>$cand</caption><thead><tr><th>$zone</th>'
        "<th>$p_label</th></tr></thead><tbody>$rows</tbody></table>"
        "<h4>$contra</h4>$contra_list",
        where=view.where(lang),
        p_label=t("probability", lang),
        p=f"{view.probability:.1%}",
        cand=t("candidates", lang),
        zone=t("zone", lang),
        rows=join(candidates),
        contra=t("contradicting", lang),
        contra_list=render("<ul>$li</ul>", li=join(contradictions))
        if contradictions
        else render('<p class="empty">$n</p>', n=t("none", lang)),
    )


_FIELDS: Final = {
    "located_section": "located",
    "cause": "cause",
    "crew": "crew",
    "summary": "estimate",
}


def _changes(network: Network, detail: Mapping[str, Any], lang: Lang, clock: Clock) -> str:
    """An audited correction in words: each field's label and its new value (names)."""
    parts = []
    for field_name, change in detail.items():
        label = t(_FIELDS.get(field_name, "changed_other"), lang)
        new = change[1] if isinstance(change, list) and len(change) == 2 else change
        if field_name == "summary":
            at = _estimate_of(
                new.get("estimated_restoration_at") if isinstance(new, dict) else None
            )
            shown = at.astimezone(clock.zone).strftime("%m-%d %H:%M") if at else None
            parts.append(f"{label} {shown or t('not_known', lang)}")
        elif field_name == "located_section":
            parts.append(f"{label} {_name(network, new) if new else t('not_known', lang)}")
        else:
            parts.append(f"{label} {new if new else t('not_known', lang)}")
    return ("、" if lang is Lang.ZH else ", ").join(parts)


def _timeline(facts: OutageFacts, network: Network, lang: Lang, clock: Clock) -> Html:
    entries: list[tuple[datetime, str, str]] = []
    for change in facts.record.history:
        text = STATE_NAMES[change.to_state][lang]
        entries.append(
            (change.at, text, change.actor + (f"：{change.note}" if change.note else ""))
        )
    for step in facts.record.steps:
        text = t(
            "step",
            lang,
            n=step.number,
            areas=step.areas_restored,
            customers=step.customers_restored,
        )
        entries.append(
            (step.at, f"{text}（{HOW_NAMES.get(step.how, {}).get(lang, step.how)}）", "")
        )
    for entry in facts.audit:
        if entry.action == "outage.update":
            fields = _changes(network, entry.detail, lang, clock)
            entries.append((entry.at, t("changed", lang, fields=fields), entry.actor))
    for event, _ in facts.faults:
        if event.alerted_at is not None:
            entries.append((event.alerted_at, t("sms", lang), event.alert_state))
    entries.sort(key=lambda e: e[0])
    items = [
        render(
            "<li>$at <strong>$what</strong> <span>$who</span></li>", at=clock(at), what=w, who=who
        )
        for at, w, who in entries
    ]
    return render('<ol class="timeline">$items</ol>', items=join(items))


def _actions(
    facts: OutageFacts, network: Network, *, role: Role, lang: Lang, clock: Clock, now: datetime
) -> Html:
    record = facts.record
    dispatch = role in (Role.ADMIN, Role.DISPATCHER)
    moves = sorted(TRANSITIONS[record.state], key=list(OutageState).index)
    allowed = [
        s
        for s in moves
        if s is not OutageState.MERGED
        and (
            dispatch
            or (role is Role.CREW and s in CREW_TRANSITIONS)
            or (
                role is Role.PLANNER
                and record.kind is OutageKind.PLANNED
                and s in PLANNER_TRANSITIONS
            )
        )
    ]
    forms: list[Html] = []
    if dispatch and record.state in OPEN_STATES:
        forms.append(
            render(
                '<form class="action" data-action="dispatch" data-outage="$id">'
                '<label>$crew_name <input name="crew" required maxlength="200" value="$crew">'
                '</label><button type="submit">$dispatch</button></form>',
                id=record.id,
                crew_name=t("crew_name", lang),
                crew=record.crew or "",
                dispatch=t("dispatch", lang),
            )
        )
    buttons = [
        render(
            '<button type="button" class="move" data-action="transition" data-outage="$id"'
            ' data-to="$to">$text</button>',
            id=record.id,
            to=s.value,
            text=t("move_to", lang, state=STATE_NAMES[s][lang]),
        )
        for s in allowed
        if s is not OutageState.RESTORED  # restoring is recording the areas back (below)
    ]
    if buttons:
        forms.append(render('<div class="moves">$b</div>', b=join(buttons)))
    still_off = [a for a in record.areas if a.restored_at is None]
    if still_off and (dispatch or role is Role.CREW):
        hows = ("repair",) if role is Role.CREW else tuple(HOW_NAMES)
        boxes = [
            render(
                '<label class="area"><input type="checkbox" name="element" value="$id" checked>'
                " $name ($village, $n)</label>",
                id=a.element_id,
                name=_name(network, a.element_id),
                village=a.village or "",
                n=a.customers,
            )
            for a in still_off[:200]
        ]
        options = [
            render('<option value="$v">$n</option>', v=h, n=HOW_NAMES[h][lang]) for h in hows
        ]
        forms.append(
            render(
                '<form class="action" data-action="restore" data-outage="$id"><fieldset>'
                '<legend>$title</legend>$boxes<label>$how <select name="how">$options</select>'
                '</label><button type="submit">$title</button></fieldset></form>',
                id=record.id,
                title=t("restore", lang),
                boxes=join(boxes),
                how=t("how", lang),
                options=join(options),
            )
        )
    if dispatch:
        estimate = _estimate(record)
        forms.append(
            render(
                '<form class="action" data-action="correct" data-outage="$id"'
                ' data-offset="$offset"><fieldset>'
                "<legend>$title</legend>"
                '<label>$cause_l <input name="cause" maxlength="200" value="$cause"></label>'
                '<label>$crew_l <input name="crew" maxlength="200" value="$crew"></label>'
                '<label>$etr_l <input name="etr" type="datetime-local" value="$etr"></label>'
                '<button type="submit">$save</button></fieldset></form>',
                id=record.id,
                title=t("correct", lang),
                cause_l=t("cause", lang),
                cause=record.cause or "",
                crew_l=t("crew", lang),
                crew=record.crew or "",
                etr_l=t("estimate", lang),
                etr=""
                if estimate is None
                else estimate.astimezone(clock.zone).isoformat(timespec="minutes")[:16],
                offset=_offset(now.astimezone(clock.zone).strftime("%z")),
                save=t("save", lang),
            )
        )
    if not forms:
        return render('<p class="empty">$text</p>', text=t("no_actions", lang))
    return join(forms)


def _offset(z: str) -> str:
    """``+0800`` → ``+08:00`` (what an ISO 8601 time carries)."""
    return f"{z[:3]}:{z[3:]}" if len(z) == 5 else "+00:00"


def outage_panel(
    facts: OutageFacts,
    network: Network,
    *,
    role: Role,
    lang: Lang,
    clock: Clock,
    now: datetime,
) -> Html:
    """One outage: summary, impact, location, crew SMS, notices, timeline, actions."""
    record = facts.record
    impact = impact_of(record, network, now, lang)
    not_known = t("not_known", lang)
    sep = "、" if lang is Lang.ZH else ", "
    summary = [
        (t("kind", lang), KIND_NAMES.get(record.kind.value, {}).get(lang, record.kind.value)),
        (t("state", lang), STATE_NAMES[record.state][lang]),
        (t("feeder", lang), _feeder_name(network, record.feeder_id)),
        (t("operated", lang), _operated(network, record, sep) or not_known),
        (t("located", lang), _name(network, record.located_section) or not_known),
        (t("cause", lang), record.cause or not_known),
        (t("crew", lang), record.crew or not_known),
        (t("started", lang), clock(record.started_at)),
        (t("estimate", lang), clock(_estimate(record)) or not_known),
    ]
    if record.restored_at is not None:
        summary.append((t("restored_at", lang), clock(record.restored_at)))
    none = t("none", lang)
    impact_rows = [
        (t("villages", lang), sep.join(impact.villages) or none),
        (t("areas_off", lang), f"{impact.areas_off} / {impact.areas}"),
        (t("customers_off", lang), str(impact.customers_off)),
        (t("hv_customers", lang), sep.join(impact.hv_customers) or none),
        (t("sensitive", lang), sep.join(impact.sensitive) or none),
        (t("customer_minutes", lang), f"{impact.customer_minutes:.0f}"),
    ]
    locations = [_location(network, event, view, lang) for event, view in facts.faults]
    alerts = [
        render(
            '<li>$who <span class="badge">$state</span> $at</li>',
            who=f"{a.recipient_name} {a.masked_phone}",
            state=a.state.value,
            at=clock(a.handed_at or a.created_at),
        )
        for a in facts.alerts
    ]
    notices = [
        render(
            "<li>$at $kind · $action · $states</li>",
            at=clock(n.created_at),
            kind=n.subject.kind,
            action=n.subject.action,
            states=", ".join(f"{k} {v}" for k, v in sorted(n.states.items())),
        )
        for n in facts.notices
    ]
    feeder = record.feeder_id
    sld = (
        render(
            '<p><a href="/console/feeders/$f/sld$q">$text</a></p>',
            f=feeder,
            q="?lang=en" if lang is Lang.EN else "",
            text=t("sld_link", lang) + " · " + _feeder_name(network, feeder),
        )
        if feeder
        else Html("")
    )
    empty = '<p class="empty">$t</p>'
    return render(
        '<article class="panel" data-outage="$id" data-state="$state">'
        '<h2 id="panel-h">$title <span class="badge">$state_name</span></h2>'
        "<dl>$summary</dl>$sld"
        "<section><h3>$impact_h</h3><dl>$impact</dl></section>"
        "<section><h3>$loc_h</h3>$locations</section>"
        "<section><h3>$sms_h</h3>$alerts</section>"
        "<section><h3>$notices_h</h3>$notices</section>"
        '<section class="actions"><h3>$actions_h</h3>$actions<p class="result" role="status">'
        "</p></section>"
        "<section><h3>$timeline_h</h3>$timeline</section></article>",
        id=record.id,
        state=record.state.value,
        title=t("outage", lang, id=record.id),
        state_name=STATE_NAMES[record.state][lang],
        summary=_rows(summary),
        sld=sld,
        impact_h=t("impact", lang),
        impact=_rows(impact_rows),
        loc_h=t("location", lang),
        locations=join(locations) if locations else render(empty, t=t("no_location", lang)),
        sms_h=t("sms", lang),
        alerts=render("<ul>$li</ul>", li=join(alerts))
        if alerts
        else render(empty, t=t("no_sms", lang)),
        notices_h=t("notices", lang),
        notices=render("<ul>$li</ul>", li=join(notices))
        if notices
        else render(empty, t=t("no_notices", lang)),
        actions_h=t("actions", lang),
        actions=_actions(facts, network, role=role, lang=lang, clock=clock, now=now),
        timeline_h=t("timeline", lang),
        timeline=_timeline(facts, network, lang, clock),
    )
