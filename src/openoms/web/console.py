"""The operator console: the network map with its live state, the outages, one outage's
panel with the actions the role allows, and a feeder's single-line diagram.

Pages (no data in them, so they need no token; the script asks for the data with it):

- ``/console``: the login (an API token the administrator issued, kept in the tab's
  ``sessionStorage`` and sent as ``Authorization: Bearer``), then the map and the list;
- ``/console/outages/{id}``: the same, with the outage's panel open;
- ``/console/feeders/{id}/sld``: the single-line diagram of one feeder;
- ``/console/reliability``: the reliability dashboard (:mod:`.reliability`).

Fragments (HTML, the API's token and roles, :data:`openoms.api.auth.Reader`):

- ``/console/parts/outages``: the open outages;
- ``/console/parts/outages/{id}``: one outage's panel (:mod:`.console_panel`);
- ``/console/parts/feeders/{id}/sld.svg``: the diagram (:mod:`.sld`).

The map's data are the API's ``/api/v1/console/network`` and ``/state``, its live updates
the stream ``/api/v1/console/stream`` (:mod:`openoms.api.routes.console_stream`); the actions
call the API's outage routes. ``?lang=en`` switches to English; times are in
``settings.timezone``.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from openoms.api.auth import Reader
from openoms.api.deps import ContextDep, SessionDep
from openoms.api.docs_page import STATIC_PREFIX
from openoms.api.routes import API_PREFIX
from openoms.api.routes.console import FEEDER_COLOURS, open_outages
from openoms.api.routes.console_stream import STREAM_PATH
from openoms.errors import UnknownDeviceError
from openoms.grid.model import ElementKind
from openoms.i18n import Lang
from openoms.service.fault_view import fault_view
from openoms.store import faults as fault_store
from openoms.store import notices as notice_store
from openoms.store import outages as store
from openoms.store import outbox
from openoms.store.audit import list_audit
from openoms.web.console_panel import Clock, OutageFacts, outage_list, outage_panel, t
from openoms.web.html import Html, render
from openoms.web.pages import WEB_STATIC_PREFIX, LangQuery
from openoms.web.sld import feeder_diagram, render_svg

__all__ = ["CONSOLE_PATH", "router"]

CONSOLE_PATH: Final = "/console"
LEAFLET: Final = f"{STATIC_PREFIX}/vendor/leaflet/dist"
_LANG_TAGS: Final = {Lang.ZH: "zh-CN", Lang.EN: "en"}

router = APIRouter()


def _lang(value: str | None) -> Lang:
    return Lang.EN if value is not None and value.strip().lower().startswith("en") else Lang.ZH


_SHELL: Final = """<!doctype html>
<html lang="$lang_tag">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<link rel="stylesheet" href="$leaflet/leaflet.css">
<link rel="stylesheet" href="$web/console.css">
</head>
<body data-lang="$lang" data-api="$api" data-stream="$stream" data-tiles="$tiles"
 data-attribution="$attribution" data-outage="$outage" data-feeder="$feeder" data-view="$view">
<header class="top">
<h1><a href="/console$q">$heading</a></h1>
<span id="live" class="live" role="status" data-on="$live" data-off="$offline"></span>
<span id="who" class="who"></span>
<nav><a href="/console/reliability$q">$reliability</a>
<a href="$other_href" hreflang="$other_tag">$other</a>
<button type="button" id="logout" hidden>$logout</button></nav>
</header>
<form id="login" class="login" hidden>
<label for="token">$token_label</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">$login</button>
<p class="note">$login_help</p>
<p class="error" role="alert" data-failed="$login_failed"></p>
</form>
<div id="alert" class="alert" role="alert" hidden></div>
$content
<script src="$leaflet/leaflet.js"></script>
<script src="$web/console.js"></script>
</body>
</html>
"""

_MAP: Final = """<main id="console" class="console" hidden>
<section class="map-pane" aria-label="$map_label">
<form class="search" role="search" id="search-form">
<label class="sr-only" for="search">$search</label>
<input id="search" type="search" placeholder="$search" list="search-list" autocomplete="off">
<datalist id="search-list"></datalist>
</form>
<div id="map" role="region" aria-label="$map_label"></div>
<p class="note">$legend</p>
</section>
<aside class="side">
<div id="panel"></div>
<section aria-labelledby="outages-h"><h2 id="outages-h">$outages</h2>
<div id="outage-list"></div></section>
</aside>
</main>"""

_SLD: Final = """<main id="console" class="console sld-page" hidden>
<p><a href="/console$q">$back</a></p>
<div id="sld" class="sld-box"></div>
</main>"""


def _shell(
    context: ContextDep,
    lang: Lang,
    *,
    path: str,
    view: str,
    content: Html,
    title: str,
    outage: str = "",
    feeder: str = "",
) -> HTMLResponse:
    other = Lang.ZH if lang is Lang.EN else Lang.EN
    settings = context.settings
    page = render(
        _SHELL,
        lang_tag=_LANG_TAGS[lang],
        lang=lang.value,
        title=title,
        leaflet=LEAFLET,
        web=WEB_STATIC_PREFIX,
        api=API_PREFIX,
        stream=STREAM_PATH,
        tiles=settings.public_map_tiles_url or "",
        attribution=settings.public_map_tiles_attribution,
        outage=outage,
        feeder=feeder,
        view=view,
        q="?lang=en" if lang is Lang.EN else "",
        heading=t("title", lang),
        live=t("live", lang),
        offline=t("offline", lang),
        other_href=path + ("?lang=en" if other is Lang.EN else ""),
        other_tag=_LANG_TAGS[other],
        other="English" if other is Lang.EN else "中文",
        logout=t("logout", lang),
        reliability=t("reliability", lang),
        token_label=t("token", lang),
        login=t("login", lang),
        login_help=t("login_help", lang),
        login_failed=t("login_failed", lang),
        content=content,
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


def _map(lang: Lang) -> Html:
    return render(
        _MAP,
        map_label=t("map", lang),
        search=t("search", lang),
        legend=f"{t('legend_dead', lang)}；{t('legend_open', lang)}",
        outages=t("outages", lang),
    )


@router.get(CONSOLE_PATH, include_in_schema=False)
def console_page(context: ContextDep, lang: LangQuery = None) -> HTMLResponse:
    language = _lang(lang)
    return _shell(
        context,
        language,
        path=CONSOLE_PATH,
        view="map",
        content=_map(language),
        title=t("title", language),
    )


OutageId = Annotated[int, Path(ge=1, le=2**31 - 1)]
FeederId = Annotated[str, Path(min_length=1, max_length=100)]


@router.get(CONSOLE_PATH + "/outages/{outage_id}", include_in_schema=False)
def console_outage_page(
    context: ContextDep, outage_id: OutageId, lang: LangQuery = None
) -> HTMLResponse:
    language = _lang(lang)
    return _shell(
        context,
        language,
        path=f"{CONSOLE_PATH}/outages/{outage_id}",
        view="map",
        content=_map(language),
        outage=str(outage_id),
        title=f"{t('outage', language, id=outage_id)} · {t('title', language)}",
    )


@router.get(CONSOLE_PATH + "/feeders/{feeder_id}/sld", include_in_schema=False)
def console_sld_page(
    context: ContextDep, feeder_id: FeederId, lang: LangQuery = None
) -> HTMLResponse:
    language = _lang(lang)
    content = render(_SLD, q="?lang=en" if language is Lang.EN else "", back=t("back", language))
    return _shell(
        context,
        language,
        path=f"{CONSOLE_PATH}/feeders/{feeder_id}/sld",
        view="sld",
        content=content,
        feeder=feeder_id,
        title=f"{t('sld_title', language)} · {t('title', language)}",
    )


# -- fragments (the API's token) ----------------------------------------------------------
_PARTS: Final = CONSOLE_PATH + "/parts"


def _html(fragment: Html) -> HTMLResponse:
    return HTMLResponse(fragment, headers={"Cache-Control": "no-store"})


@router.get(_PARTS + "/outages", include_in_schema=False)
def outage_list_part(
    context: ContextDep, session: SessionDep, _user: Reader, lang: LangQuery = None
) -> HTMLResponse:
    clock = Clock(context.settings.timezone)
    records = open_outages(context, session)
    return _html(outage_list(records, context.network, _lang(lang), clock))


@router.get(_PARTS + "/outages/{outage_id}", include_in_schema=False)
def outage_panel_part(
    context: ContextDep,
    session: SessionDep,
    user: Reader,
    outage_id: OutageId,
    lang: LangQuery = None,
) -> HTMLResponse:
    record = store.get_outage(session, outage_id)
    network = context.network
    events = fault_store.list_fault_events(session, limit=10, outage_id=outage_id)
    facts = OutageFacts(
        record=record,
        faults=[(event, fault_view(network, event)) for event in events],
        alerts=outbox.list_messages(session, outage_id=outage_id),
        notices=notice_store.list_notices(session, ref=f"outage:{outage_id}", limit=20),
        audit=list_audit(session, object_kind="outage", object_id=outage_id, limit=100),
    )
    fragment = outage_panel(
        facts,
        network,
        role=user.role,
        lang=_lang(lang),
        clock=Clock(context.settings.timezone),
        now=context.clock(),
    )
    return _html(fragment)


@router.get(_PARTS + "/feeders/{feeder_id}/sld.svg", include_in_schema=False)
def sld_part(
    context: ContextDep,
    _user: Reader,
    session: SessionDep,
    feeder_id: FeederId,
    lang: LangQuery = None,
) -> Response:
    network = context.network
    kind, feeder = network.locate(feeder_id)  # 404 for an unknown id
    if kind is not ElementKind.FEEDER:
        raise UnknownDeviceError(feeder_id, network=network.name)
    diagram = feeder_diagram(network, feeder)
    off = {
        int(network.transformer_areas.node[network.locate(a.element_id)[1]])
        for record in open_outages(context, session)
        if record.feeder_id == feeder_id
        for a in record.areas
        if a.restored_at is None
        and a.element_kind == "transformer_area"
        and a.element_id in network
    }
    language = _lang(lang)
    with context.lock:
        svg = render_svg(
            network,
            diagram,
            context.analyser.topology,
            colour=FEEDER_COLOURS[feeder % len(FEEDER_COLOURS)],
            title=f"{network.feeders.name[feeder] or feeder_id} · {t('sld_title', language)}",
            highlight=frozenset(off),
        )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
