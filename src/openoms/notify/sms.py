"""The crew alert: what a repair crew must read first, in one or a few SMS segments.

Pure: no clock, no I/O. The service builds a :class:`CrewAlert` from the located fault and
the impact analysis; :func:`render_crew_sms` turns it into the text that goes into the
outbox. Essentials come first (feeder, section, time, type) so that a phone that shows only
the first segment still tells the crew where to go; the link to the outage page is last.

Length: a Chinese (UCS-2) SMS holds 70 characters, a concatenated one 67 per segment; an
ASCII (GSM 7-bit) one 160, or 153 per segment. :func:`sms_segments` counts them; the
templates keep a typical alert within five segments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from openoms.contacts.phone import mask_phone
from openoms.errors import InputError
from openoms.i18n import CATEGORY_NAMES, FAULT_TYPE_NAMES, Lang, join_list
from openoms.notify.gsm7 import gsm7_septets

__all__ = [
    "FAULT_TYPE_NAMES",
    "CrewAlert",
    "DeviceRef",
    "SensitiveOff",
    "mask_phone",
    "outage_url",
    "render_crew_sms",
    "sms_segments",
]

_MAX_SENSITIVE_LISTED: Final = 3
_UCS2_SINGLE, _UCS2_PART = 70, 67
_GSM_SINGLE, _GSM_PART = 160, 153


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """A switch, pole or indicator as the crew knows it: its name on the plate, and its id."""

    id: str
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class SensitiveOff:
    """A sensitive customer that is off: name, category (``i18n.CATEGORY_NAMES`` key), people."""

    name: str
    category: str
    people: int = 0


@dataclass(frozen=True, slots=True)
class CrewAlert:
    """Everything the crew SMS says about one located sustained fault.

    ``upstream`` is the device that starts the located zone and ``downstream`` the devices
    that bound it below (empty: the zone runs to the end of the line). ``fault_at`` is aware
    UTC; it is shown in ``timezone``.
    """

    outage_id: int
    feeder_name: str
    upstream: DeviceRef
    downstream: tuple[DeviceRef, ...]
    fault_at: datetime
    fault_type: str
    phases: str
    customers_off: int
    transformer_areas_off: int
    outage_url: str
    sensitive: tuple[SensitiveOff, ...] = field(default=())
    timezone: str = "Asia/Shanghai"
    # Where to go in words, per language, when the locator's answer is more than one zone
    # (a region with its probability, tied sections, or no evidence on the feeder): it
    # replaces the zone between ``upstream`` and ``downstream``.
    area: Mapping[Lang, str] | None = None

    def __post_init__(self) -> None:
        if self.fault_at.tzinfo is None:
            raise InputError(f"crew alert of outage {self.outage_id}: fault_at must be aware")
        if self.fault_type not in FAULT_TYPE_NAMES:
            raise InputError(
                f"crew alert of outage {self.outage_id}: fault_type {self.fault_type!r} is not "
                f"one of {', '.join(FAULT_TYPE_NAMES)}"
            )
        if self.phases and set(self.phases) - set("ABC"):
            raise InputError(
                f"crew alert of outage {self.outage_id}: phases {self.phases!r} "
                "must be letters from ABC"
            )
        for s in self.sensitive:
            if s.category not in CATEGORY_NAMES:
                raise InputError(
                    f"crew alert of outage {self.outage_id}: sensitive customer {s.name!r} "
                    f"has unknown category {s.category!r}"
                )


def outage_url(public_base_url: str, outage_id: int) -> str:
    """The link to the outage's page on the public site (``/outages/<id>``)."""
    return f"{public_base_url.rstrip('/')}/outages/{outage_id}"


def _section(alert: CrewAlert, lang: Lang) -> str:
    up = alert.upstream.label
    if lang is Lang.ZH:
        if not alert.downstream:
            return f"{up}至线路末端"
        return f"{up}至{join_list([d.label for d in alert.downstream], lang)}之间"
    if not alert.downstream:
        return f"below {up} to the line end"
    return f"between {up} and {' / '.join(d.label for d in alert.downstream)}"


def _sensitive(alert: CrewAlert, lang: Lang) -> str:
    if not alert.sensitive:
        return ""
    shown = alert.sensitive[:_MAX_SENSITIVE_LISTED]
    more = len(alert.sensitive) - len(shown)
    if lang is Lang.ZH:
        items = [
            f"{s.name}（{CATEGORY_NAMES[s.category][lang]}"
            + (f"{s.people}人）" if s.people else "）")
            for s in shown
        ]
        tail = f"等{len(alert.sensitive)}户" if more else ""
        return f"；敏感用户：{'、'.join(items)}{tail}"
    items = [
        f"{s.name} ({CATEGORY_NAMES[s.category][lang]}"
        + (f", {s.people} people)" if s.people else ")")
        for s in shown
    ]
    tail = f" and {more} more" if more else ""
    return f". Sensitive: {'; '.join(items)}{tail}"


def render_crew_sms(alert: CrewAlert, lang: Lang = Lang.ZH) -> str:
    """The SMS text of ``alert`` in ``lang`` (zh-CN by default).

    >>> from datetime import UTC
    >>> a = CrewAlert(7, "10kV城关线", DeviceRef("K03", "城关3号开关"), (DeviceRef("K05"),),
    ...     datetime(2025, 1, 15, 8, 2, tzinfo=UTC), "single_phase_earth", "A", 120, 3,
    ...     "https://oms.example/outages/7")
    >>> text = render_crew_sms(a, Lang.EN)
    >>> text[:58]
    '[Repair] 10kV城关线 fault between 城关3号开关 and K05, 01-15 16:02'
    """
    local = alert.fault_at.astimezone(ZoneInfo(alert.timezone))
    when = local.strftime("%m-%d %H:%M")
    kind = FAULT_TYPE_NAMES[alert.fault_type][lang]
    section = _section(alert, lang)
    if alert.area:
        section = ("，" if lang is Lang.ZH else ": ") + alert.area[lang]
    if lang is Lang.ZH:
        phases = f"（{alert.phases}相）" if alert.phases else ""
        return (
            f"【故障抢修】{alert.feeder_name}{section}，{when}，{kind}{phases}。"
            f"停电{alert.customers_off}户、{alert.transformer_areas_off}个台区"
            f"{_sensitive(alert, lang)}。详情 {alert.outage_url}"
        )
    phases = f" ({alert.phases})" if alert.phases else ""
    return (
        f"[Repair] {alert.feeder_name}{section if alert.area else ' fault ' + section}, "
        f"{when}, {kind}{phases}. "
        f"Off: {alert.customers_off} customers, {alert.transformer_areas_off} TAs"
        f"{_sensitive(alert, lang)}. {alert.outage_url}"
    )


def sms_segments(text: str) -> int:
    """How many SMS segments ``text`` takes: GSM 7-bit septets (an extension character such
    as ``{`` or ``€`` counts two) when every character has a GSM form, else UCS-2 units
    (:mod:`.gsm7`; the sender cuts segments the same way, :mod:`.smpp_pdus`)."""
    septets = gsm7_septets(text)
    if septets is not None:
        single, part, n = _GSM_SINGLE, _GSM_PART, septets
    else:
        single, part = _UCS2_SINGLE, _UCS2_PART
        n = len(text.encode("utf-16-be")) // 2
    return 1 if n <= single else math.ceil(n / part)
