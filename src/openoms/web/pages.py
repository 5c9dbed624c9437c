"""The public outage pages and their GeoJSON feed (no login, no personal data).

- ``/``: current and planned outages by township and village, customers off, cause (a fixed
  category), the crew's stage, started and expected-back times, a map; refreshes itself.
- ``/outages/{id}``: one outage, the link at the end of the crew SMS
  (:func:`openoms.notify.sms.outage_url`); an unknown or private id answers a 404 page.
- ``/planned/{id}``: one planned outage as booked (its window, places, line, counts, the kind
  of work); a draft, a cancelled booking or an unknown id answers the same 404 page.
- ``/public/outages.geojson``: the outages of ``/`` as a GeoJSON FeatureCollection.

``?lang=en`` switches to English (zh-CN otherwise); times are shown in ``settings.timezone``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import numpy as np
from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session

from openoms.api.deps import ContextDep, SessionDep
from openoms.api.docs_page import STATIC_PREFIX
from openoms.api.routes.public import (
    PUBLIC_KINDS,
    WORK_TYPE_NAMES,
    public_data,
    public_work,
    work_of_outage,
)
from openoms.grid.model import Network
from openoms.i18n import Lang
from openoms.notify.sms import outage_url
from openoms.outages.lifecycle import OPEN_STATES, OutageState
from openoms.outages.planned import PlannedWork
from openoms.outages.records import OutageRecord
from openoms.service.context import ServiceContext
from openoms.store import outages as store
from openoms.store.outages import OutageNotFoundError
from openoms.store.planned import PlannedWorkNotFoundError
from openoms.web.html import Html, join, render
from openoms.web.texts import CAUSE_NAMES, CREW_NAMES, KIND_NAMES, PLANNED_STATE_NAMES, TEXTS
from openoms.web.view import (
    CREW_STAGES,
    PlannedView,
    PublicView,
    by_township,
    planned_view,
    public_view,
)

__all__ = ["FEED_PATH", "PLANNED_PATH", "WEB_STATIC_PREFIX", "install_public_pages", "router"]

WEB_STATIC_DIR: Final = Path(__file__).parent / "static"
WEB_STATIC_PREFIX: Final = "/web"
FEED_PATH: Final = "/public/outages.geojson"
PLANNED_PATH: Final = "/planned"
LEAFLET: Final = f"{STATIC_PREFIX}/vendor/leaflet/dist"
REFRESH_S: Final = 60
_ID: Final = re.compile(r"[1-9][0-9]{0,9}")
_LANG_TAGS: Final = {Lang.ZH: "zh-CN", Lang.EN: "en"}

router = APIRouter()

LangQuery = Annotated[
    str | None, Query(description="zh (default) or en: the language of texts; others: zh.")
]
AreaQuery = Annotated[
    str | None,
    Query(description="Only outages in a township or village whose name contains this."),
]
_AREA_CHARS: Final = 100


def install_public_pages(app: FastAPI) -> None:
    """Add the public pages and the feed to ``app`` (an app of :func:`openoms.api.create_app`,
    whose ``/static`` serves the vendored map library)."""
    app.mount(WEB_STATIC_PREFIX, StaticFiles(directory=WEB_STATIC_DIR), name="web")
    app.include_router(router)


def _lang(value: str | None) -> Lang:
    return Lang.EN if value is not None and value.strip().lower().startswith("en") else Lang.ZH


def _t(key: str, lang: Lang, **values: object) -> str:
    text = TEXTS[key][lang]
    return text.format(**values) if values else text


def _area(value: str | None) -> str | None:
    """The place asked for, trimmed; ``None`` for none."""
    area = (value or "").strip()[:_AREA_CHARS]
    return area or None


def _views(
    context: ServiceContext, session: Session, area: str | None = None
) -> tuple[list[PublicView], list[PlannedView]]:
    """Current outages (newest first), and planned ones booked and not begun (by start);
    only those in a township or village whose name contains ``area`` when given (never
    matched against anything else)."""
    needle = area.casefold() if area else None
    data = public_data(session, context.clock())
    current = [public_view(record, context.network, work) for record, work in data.current]
    upcoming = [planned_view(work, context.network) for work in data.upcoming]

    def shown(view: PublicView | PlannedView) -> bool:
        places = (*view.townships, *view.places)
        return needle is None or any(needle in place.casefold() for place in places)

    return [v for v in current if shown(v)], [v for v in upcoming if shown(v)]


class _Clock:
    """Times as people here read them: the utility's zone, to the minute."""

    def __init__(self, zone: str) -> None:
        self.zone_name = zone
        self.zone = ZoneInfo(zone)

    def __call__(self, at: datetime | None) -> Html:
        if at is None:
            return Html("")
        local = at.astimezone(self.zone)
        return render(
            '<time datetime="$iso">$shown</time>',
            iso=local.isoformat(timespec="minutes"),
            shown=local.strftime("%Y-%m-%d %H:%M"),
        )


# -- page pieces -------------------------------------------------------------------------

_DOCUMENT: Final = """<!doctype html>
<html lang="$lang_tag">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
$head_extra<link rel="stylesheet" href="$web/public.css">
</head>
<body>
<a class="skip" href="#main">$skip</a>
<header class="top">
<h1>$heading</h1>
<nav aria-label="$lang_nav">
<a href="$other_href" hreflang="$other_tag" lang="$other_tag">$other</a>
</nav>
</header>
<nav class="services" aria-label="$services_label"><ul>$services</ul></nav>
<main id="main" tabindex="-1">
$content
</main>
<footer>
<p>$privacy</p>
<p><a href="$feed">$feed_name</a></p>
</footer>
$scripts</body>
</html>
"""


def _document(
    lang: Lang,
    *,
    title: str,
    heading: str,
    content: Html,
    path: str,
    status: int = 200,
    keep: str = "",
    live: bool = True,
) -> HTMLResponse:
    """The page around ``content``; ``keep`` is query text the language switch keeps.
    ``live``: the map library and the refresh every minute (not on the forms, where a
    reload would lose what was typed)."""
    other = Lang.ZH if lang is Lang.EN else Lang.EN
    switch = "&".join(q for q in ("lang=en" if other is Lang.EN else "", keep) if q)
    page = render(
        _DOCUMENT,
        lang_tag=_LANG_TAGS[lang],
        title=title,
        heading=heading,
        head_extra=render(
            '<link rel="stylesheet" href="$leaflet/leaflet.css">\n'
            '<noscript><meta http-equiv="refresh" content="$refresh"></noscript>\n',
            leaflet=LEAFLET,
            refresh=REFRESH_S,
        )
        if live
        else Html(""),
        scripts=render(
            '<script src="$leaflet/leaflet.js"></script>\n<script src="$web/public.js"></script>\n',
            leaflet=LEAFLET,
            web=WEB_STATIC_PREFIX,
        )
        if live
        else Html(""),
        web=WEB_STATIC_PREFIX,
        services_label=_t("services", lang),
        services=_services(lang, path),
        skip=_t("skip", lang),
        lang_nav=_t("other_lang_label", lang),
        other_href=path + (f"?{switch}" if switch else ""),
        other_tag=_LANG_TAGS[other],
        other=_t("other_lang", lang),
        content=content,
        privacy=_t("privacy", lang),
        feed=FEED_PATH + ("?lang=en" if lang is Lang.EN else ""),
        feed_name=_t("feed", lang),
    )
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-cache"})


SERVICES: Final = (("/", "title"), ("/lookup", "lookup"), ("/report", "report"),
                   ("/subscribe", "subscribe"))  # fmt: skip
"""The public pages every page links to, in this order (path, text key)."""


def _services(lang: Lang, path: str) -> Html:
    """Links to the outage list and the three forms; the page shown is marked current."""
    q = "?lang=en" if lang is Lang.EN else ""
    return join(
        render(
            '<li><a href="$href$q"$current>$text</a></li>',
            href=href,
            q=q,
            current=Html(' aria-current="page"') if href == path else Html(""),
            text=_t(key, lang),
        )
        for href, key in SERVICES
    )


def _query(lang: Lang, area: str | None = None) -> str:
    """The query string that keeps the language (and the place asked for)."""
    params = {"lang": "en"} if lang is Lang.EN else {}
    if area:
        params["area"] = area
    return f"?{urlencode(params)}" if params else ""


def _status(view: PublicView, lang: Lang) -> str:
    state = view.outage.status
    if state in OPEN_STATES:
        return _t("ongoing", lang)
    if state is OutageState.CANCELLED:
        return {Lang.ZH: "已取消", Lang.EN: "Cancelled"}[lang]
    if state is OutageState.MERGED:
        return {Lang.ZH: "已并入其他停电事件", Lang.EN: "Merged into another outage"}[lang]
    return _t("over", lang)


def _crew(view: PublicView, lang: Lang) -> Html:
    """The crew's progress as an ordered list of the four stages, the present one marked."""
    if view.crew is None:
        return render("$text", text=_t("no_crew", lang))
    now = CREW_STAGES.index(view.crew)
    steps = [
        render(
            '<li class="$css"$current>$name</li>',
            css="done" if i < now else "now" if i == now else "todo",
            current=Html(' aria-current="step"') if i == now else Html(""),
            name=CREW_NAMES[stage][lang],
        )
        for i, stage in enumerate(CREW_STAGES)
    ]
    return render('<ol class="stages">$steps</ol>', steps=join(steps))


def _places_text(places: list[str], lang: Lang) -> str:
    text = "、".join(places) if lang is Lang.ZH else ", ".join(places)
    return text or _t("township_unknown", lang)


def _rows(rows: list[tuple[str, Html | str]]) -> Html:
    return join(render("<div><dt>$k</dt><dd>$v</dd></div>", k=k, v=v) for k, v in rows)


def _card(view: PublicView, lang: Lang, clock: _Clock, *, level: int, link: bool) -> Html:
    o = view.outage
    places = _places_text(view.places, lang)
    title = (
        render('<a href="/outages/$id$q">$places</a>', id=o.id, q=_query(lang), places=places)
        if link
        else render("$places", places=places)
    )
    rows: list[tuple[str, Html | str]] = []
    if o.townships:
        rows.append((_t("areas", lang), " / ".join([*o.townships, *o.villages])))
    rows.append((_t("status", lang), _status(view, lang)))
    rows.append((_t("customers", lang), str(o.customers_off)))
    if o.customers_restored:
        rows.append((_t("restored_customers", lang), str(o.customers_restored)))
    rows.append((_t("started", lang), clock(o.started_at)))
    if o.restored_at is not None:
        rows.append((_t("restored_at", lang), clock(o.restored_at)))
    else:
        estimate = clock(o.estimated_restoration_at) or _t("not_known", lang)
        rows.append((_t("estimate", lang), estimate))
    cause = CAUSE_NAMES[view.cause][lang] if view.cause else _t("cause_unknown", lang)
    rows.append((_t("cause", lang), cause))
    if view.work_type is not None:
        rows.append((_t("work_type", lang), WORK_TYPE_NAMES[view.work_type][lang]))
    if o.status in OPEN_STATES and o.kind == "fault":
        rows.append((_t("crew", lang), _crew(view, lang)))
    if o.planned_id is not None:
        rows.append(
            (
                _t("booking", lang),
                render(
                    '<a href="$path/$id$q">$text</a>',
                    path=PLANNED_PATH,
                    id=o.planned_id,
                    q=_query(lang),
                    text=_t("booking_link", lang, id=o.planned_id),
                ),
            )
        )
    return render(
        '<article class="outage $kind" id="outage-$id" aria-labelledby="outage-$id-h">'
        '<h$level id="outage-$id-h">$title <span class="badge">$kind_name</span></h$level>'
        "<dl>$rows</dl></article>",
        kind=o.kind,
        id=o.id,
        level=level,
        title=title,
        kind_name=KIND_NAMES[o.kind][lang],
        rows=_rows(rows),
    )


def _planned_card(view: PlannedView, lang: Lang, clock: _Clock, *, level: int, link: bool) -> Html:
    """A booking: where, the line, the state (a postponed one says so: its times are the new
    window), the window, the counts affected and the kind of work."""
    p = view.planned
    places = _places_text(view.places, lang)
    title = (
        render(
            '<a href="$path/$id$q">$places</a>',
            path=PLANNED_PATH,
            id=p.id,
            q=_query(lang),
            places=places,
        )
        if link
        else render("$places", places=places)
    )
    rows: list[tuple[str, Html | str]] = []
    if p.townships:
        rows.append((_t("areas", lang), " / ".join([*p.townships, *p.villages])))
    if p.line:
        rows.append((_t("line", lang), p.line))
    rows.append((_t("status", lang), PLANNED_STATE_NAMES[p.state][lang]))
    rows.append((_t("starts", lang), clock(p.starts_at)))
    rows.append((_t("ends", lang), clock(p.ends_at)))
    rows.append((_t("customers_affected", lang), str(p.customers)))
    rows.append((_t("areas_affected", lang), str(p.transformer_areas)))
    rows.append((_t("work_type", lang), WORK_TYPE_NAMES[p.work_type][lang]))
    if p.outage_id is not None:
        rows.append(
            (
                _t("progress", lang),
                render(
                    '<a href="/outages/$id$q">$text</a>',
                    id=p.outage_id,
                    q=_query(lang),
                    text=_t("progress_link", lang, id=p.outage_id),
                ),
            )
        )
    return render(
        '<article class="outage planned $state" id="planned-$id" aria-labelledby="planned-$id-h">'
        '<h$level id="planned-$id-h">$title <span class="badge">$kind_name</span></h$level>'
        "<dl>$rows</dl></article>",
        state=p.state.value,
        id=p.id,
        level=level,
        title=title,
        kind_name=KIND_NAMES["planned"][lang],
        rows=_rows(rows),
    )


def _search(lang: Lang, area: str | None) -> Html:
    return render(
        '<form class="search" role="search" action="/" method="get">'
        '<label for="area">$label</label><span class="search-row">'
        '<input id="area" name="area" type="search" value="$area" maxlength="$max">'
        '$lang_field<button type="submit">$button</button></span></form>',
        label=_t("search_label", lang),
        area=area or "",
        max=_AREA_CHARS,
        lang_field=(
            Html('<input type="hidden" name="lang" value="en">') if lang is Lang.EN else Html("")
        ),
        button=_t("search_button", lang),
    )


def _map(
    context: ServiceContext, lang: Lang, *, feature: str | None = None, area: str | None = None
) -> Html:
    """The map of the feed's features (only ``feature``, a feature id, when given)."""
    lon, lat = _centre(context.network)
    settings = context.settings
    return render(
        '<section class="map" aria-labelledby="map-h"><h2 id="map-h" class="sr-only">$name</h2>'
        '<div id="map" role="region" aria-label="$name" data-feed="$feed" data-feature="$feature"'
        ' data-lon="$lon" data-lat="$lat" data-tiles="$tiles" data-attribution="$attribution">'
        '</div><p class="note">$note</p></section>',
        name=_t("map", lang),
        feed=FEED_PATH + _query(lang, area),
        feature=feature or "",
        lon=lon,
        lat=lat,
        tiles=settings.public_map_tiles_url or "",
        attribution=settings.public_map_tiles_attribution,
        note=_t("map_note", lang),
    )


_CENTRES: dict[int, tuple[Network, tuple[float, float]]] = {}


def _centre(network: Network) -> tuple[float, float]:
    """The middle of the network's known node positions (where the map opens when nothing
    is off), as (lon, lat)."""
    found = _CENTRES.get(id(network))
    if found is not None and found[0] is network:
        return found[1]
    lon = network.nodes.lon_deg[np.isfinite(network.nodes.lon_deg)]
    lat = network.nodes.lat_deg[np.isfinite(network.nodes.lat_deg)]
    centre = (
        (round(float(lon.min() + lon.max()) / 2, 5), round(float(lat.min() + lat.max()) / 2, 5))
        if lon.size and lat.size
        else (0.0, 0.0)
    )
    _CENTRES.clear()  # one network at a time: the service's
    _CENTRES[id(network)] = (network, centre)
    return centre


def _refreshed(context: ServiceContext, lang: Lang, clock: _Clock) -> Html:
    return render(
        '<p id="refreshed" aria-live="polite">$label$colon$at</p><p class="note">$auto</p>',
        label=_t("refreshed", lang),
        colon="：" if lang is Lang.ZH else ": ",
        at=clock(context.clock()),
        auto=_t("auto_refresh", lang, zone=clock.zone_name),
    )


def _grouped(
    views: Sequence[PublicView | PlannedView], lang: Lang, clock: _Clock, empty: str
) -> Html:
    if not views:
        return render('<p class="empty">$text</p>', text=empty)

    def card(view: PublicView | PlannedView) -> Html:
        if isinstance(view, PlannedView):
            return _planned_card(view, lang, clock, level=4, link=True)
        return _card(view, lang, clock, level=4, link=True)

    return join(
        render(
            '<h3>$township</h3><ul class="cards">$cards</ul>',
            township=township or _t("township_unknown", lang),
            cards=join(render("<li>$card</li>", card=card(v)) for v in group),
        )
        for township, group in by_township(views)
    )


# -- routes --------------------------------------------------------------------------------


@router.get("/", include_in_schema=False)
def public_index(
    context: ContextDep,
    session: SessionDep,
    lang: LangQuery = None,
    area: AreaQuery = None,
) -> HTMLResponse:
    language = _lang(lang)
    place = _area(area)
    clock = _Clock(context.settings.timezone)
    current, upcoming = _views(context, session, place)
    customers = sum(v.outage.customers_off for v in current)
    total = (
        render(
            '$text <a href="/$q">$all</a>',
            text=_t(
                "filtered",
                language,
                area=place,
                outages=len(current),
                customers=customers,
                planned=len(upcoming),
            ),
            q=_query(language),
            all=_t("show_all", language),
        )
        if place
        else _t("total", language, customers=customers, outages=len(current))
    )
    content = render(
        '<p class="summary">$total</p>$refreshed$search$map<div id="outages">'
        '<section aria-labelledby="current-h"><h2 id="current-h">$current_h</h2>$current'
        "</section>"
        '<section aria-labelledby="upcoming-h"><h2 id="upcoming-h">$upcoming_h</h2>$upcoming'
        "</section></div>",
        total=total,
        refreshed=_refreshed(context, language, clock),
        search=_search(language, place),
        map=_map(context, language, area=place),
        current_h=_t("current", language),
        current=_grouped(current, language, clock, _t("none_current", language)),
        upcoming_h=_t("upcoming", language),
        upcoming=_grouped(upcoming, language, clock, _t("none_upcoming", language)),
    )
    title = _t("title", language)
    return _document(
        language,
        title=title,
        heading=title,
        content=content,
        path="/",
        keep=f"area={quote(place)}" if place else "",
    )


@router.get("/outages/{outage_id}", include_in_schema=False)
def public_outage_page(
    context: ContextDep, session: SessionDep, outage_id: str, lang: LangQuery = None
) -> HTMLResponse:
    language = _lang(lang)
    record = _public_record(session, outage_id)
    if record is None:
        return _not_found(language, f"/outages/{outage_id}")
    clock = _Clock(context.settings.timezone)
    view = public_view(record, context.network, work_of_outage(session, record))
    content = render(
        '$refreshed$map<div id="outages">$card</div><p><a href="/$q">$back</a></p>',
        refreshed=_refreshed(context, language, clock),
        map=_map(context, language, feature=str(record.id)),
        card=_card(view, language, clock, level=2, link=False),
        q=_query(language),
        back=_t("back", language),
    )
    heading = _t("outage", language, id=record.id)
    return _document(
        language,
        title=f"{heading} · {_t('title', language)}",
        heading=heading,
        content=content,
        path=f"/outages/{record.id}",
    )


@router.get(PLANNED_PATH + "/{planned_id}", include_in_schema=False)
def public_planned_page(
    context: ContextDep, session: SessionDep, planned_id: str, lang: LangQuery = None
) -> HTMLResponse:
    language = _lang(lang)
    work = _public_work(session, planned_id)
    if work is None:
        return _not_found(language, f"{PLANNED_PATH}/{planned_id}")
    clock = _Clock(context.settings.timezone)
    view = planned_view(work, context.network)
    feature = str(work.outage_id) if work.outage_id is not None else f"planned-{work.id}"
    content = render(
        '$refreshed$map<div id="outages">$card</div><p><a href="/$q">$back</a></p>',
        refreshed=_refreshed(context, language, clock),
        map=_map(context, language, feature=feature),
        card=_planned_card(view, language, clock, level=2, link=False),
        q=_query(language),
        back=_t("back", language),
    )
    heading = _t("planned", language, id=work.id)
    return _document(
        language,
        title=f"{heading} · {_t('title', language)}",
        heading=heading,
        content=content,
        path=f"{PLANNED_PATH}/{work.id}",
    )


def _public_work(session: Session, planned_id: str) -> PlannedWork | None:
    if not _ID.fullmatch(planned_id) or int(planned_id) > 2**31 - 1:
        return None
    try:
        return public_work(session, int(planned_id))
    except PlannedWorkNotFoundError:
        return None  # unknown, a draft or cancelled: all the same to the public


def _public_record(session: Session, outage_id: str) -> OutageRecord | None:
    if not _ID.fullmatch(outage_id) or int(outage_id) > 2**31 - 1:
        return None
    try:
        record = store.get_outage(session, int(outage_id))
    except OutageNotFoundError:
        return None
    return record if record.kind in PUBLIC_KINDS else None  # private records do not exist


def _not_found(lang: Lang, path: str) -> HTMLResponse:
    title = _t("not_found_title", lang)
    content = render(
        '<p class="empty">$text</p><p><a href="/$q">$back</a></p>',
        text=_t("not_found", lang),
        q=_query(lang),
        back=_t("back", lang),
    )
    return _document(
        lang,
        title=f"{title} · {_t('title', lang)}",
        heading=title,
        content=content,
        path=path,
        status=404,
    )


def _utc(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _geometry(view: PublicView | PlannedView) -> dict[str, Any] | None:
    """The transformer areas off (MultiPoint) and the lines between them (MultiLineString),
    longitude first; ``None`` when the network has no position for any of them."""
    if not view.positions and not view.lines:
        return None
    return {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "MultiPoint", "coordinates": [list(p) for p in view.positions]},
            {
                "type": "MultiLineString",
                "coordinates": [[list(p) for p in line] for line in view.lines],
            },
        ],
    }


def _work_type(view: PublicView | PlannedView, lang: Lang) -> dict[str, Any]:
    work_type = view.planned.work_type if isinstance(view, PlannedView) else view.work_type
    return {
        "work_type": None if work_type is None else work_type.value,
        "work_type_name": None if work_type is None else WORK_TYPE_NAMES[work_type][lang],
    }


def _outage_feature(view: PublicView, lang: Lang, base: str) -> dict[str, Any]:
    o = view.outage
    return {
        "type": "Feature",
        "id": o.id,
        "geometry": _geometry(view),
        "properties": {
            "id": o.id,
            "url": outage_url(base, o.id),
            "kind": o.kind,
            "kind_name": KIND_NAMES[o.kind][lang],
            "status": o.status.value,
            "upcoming": False,
            "townships": o.townships,
            "villages": o.villages,
            "places": view.places,
            "customers_off": o.customers_off,
            "customers_restored": o.customers_restored,
            "transformer_areas_off": o.transformer_areas_off,
            "cause": view.cause,
            "cause_name": CAUSE_NAMES[view.cause][lang] if view.cause else None,
            "crew": view.crew,
            "crew_name": CREW_NAMES[view.crew][lang] if view.crew else None,
            "started_at": _utc(o.started_at),
            "estimated_restoration_at": _utc(o.estimated_restoration_at),
            "restored_at": _utc(o.restored_at),
            "planned_id": o.planned_id,
            **_work_type(view, lang),
        },
    }


def _planned_feature(view: PlannedView, lang: Lang, base: str) -> dict[str, Any]:
    """A booking not begun: the same properties as an outage (``started_at`` and
    ``estimated_restoration_at`` are its window) and its own (``starts_at``, ``ends_at``,
    ``line``, the state as ``status``); its feature id is ``planned-<id>``."""
    p = view.planned
    return {
        "type": "Feature",
        "id": f"planned-{p.id}",
        "geometry": _geometry(view),
        "properties": {
            "id": p.id,
            "url": f"{base.rstrip('/')}{PLANNED_PATH}/{p.id}",
            "kind": "planned",
            "kind_name": KIND_NAMES["planned"][lang],
            "status": p.state.value,
            "status_name": PLANNED_STATE_NAMES[p.state][lang],
            "upcoming": True,
            "townships": p.townships,
            "villages": p.villages,
            "places": view.places,
            "line": p.line,
            "customers_off": p.customers,
            "customers_restored": 0,
            "transformer_areas_off": p.transformer_areas,
            "cause": "maintenance",
            "cause_name": CAUSE_NAMES["maintenance"][lang],
            "crew": None,
            "crew_name": None,
            "started_at": _utc(p.starts_at),
            "estimated_restoration_at": _utc(p.ends_at),
            "restored_at": None,
            "starts_at": _utc(p.starts_at),
            "ends_at": _utc(p.ends_at),
            "planned_id": p.id,
            **_work_type(view, lang),
        },
    }


@router.get(
    FEED_PATH,
    tags=["public"],
    summary="The public outages as GeoJSON (RFC 7946) for media and other apps",
    response_class=JSONResponse,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def public_outages_geojson(
    context: ContextDep, session: SessionDep, lang: LangQuery = None, area: AreaQuery = None
) -> JSONResponse:
    """Every current public outage, then every planned outage booked and not begun, as a
    Feature: a GeometryCollection of the transformer areas off (MultiPoint) and the lines off
    (MultiLineString), ``null`` when the network has no position for them, and the same
    places, counts, cause category, crew stage and times as the page. Times are UTC
    (RFC 3339)."""
    language = _lang(lang)
    base = context.settings.public_base_url
    current, upcoming = _views(context, session, _area(area))
    features = [_outage_feature(v, language, base) for v in current]
    features += [_planned_feature(v, language, base) for v in upcoming]
    body = {
        "type": "FeatureCollection",
        "generated_at": _utc(context.clock()),
        "lang": language.value,
        "features": features,
    }
    return JSONResponse(
        body,
        media_type="application/geo+json",
        headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
    )
