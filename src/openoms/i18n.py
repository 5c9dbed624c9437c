"""Interface language: Chinese (zh-CN) first, English second.

Texts shown to people live in small per-module tables keyed by :class:`Lang`; this module
only decides which language to use and holds the words shared by several modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

__all__ = ["CATEGORY_NAMES", "FAULT_TYPE_NAMES", "Lang", "detect_lang", "join_list"]


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


def detect_lang(environ: Mapping[str, str]) -> Lang:
    """Chinese when the locale (LC_ALL, LC_MESSAGES, LANG, in that order) is Chinese."""
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(key)
        if value:
            return Lang.ZH if value.lower().startswith("zh") else Lang.EN
    return Lang.ZH


CATEGORY_NAMES: Final[dict[str, dict[Lang, str]]] = {
    "hospital": {Lang.ZH: "医院", Lang.EN: "hospital"},
    "nursing_home": {Lang.ZH: "敬老院", Lang.EN: "nursing home"},
    "school": {Lang.ZH: "学校", Lang.EN: "school"},
    "water_works": {Lang.ZH: "水厂", Lang.EN: "water works"},
    "livestock_farm": {Lang.ZH: "养殖场", Lang.EN: "livestock farm"},
    "government": {Lang.ZH: "政府机关", Lang.EN: "government office"},
    "home_medical": {Lang.ZH: "居家医疗用户", Lang.EN: "home medical equipment"},
    "other": {Lang.ZH: "其他", Lang.EN: "other"},
}


FAULT_TYPE_NAMES: Final[dict[str, dict[Lang, str]]] = {
    "phase_to_phase": {Lang.ZH: "相间短路", Lang.EN: "phase-to-phase fault"},
    "three_phase": {Lang.ZH: "三相短路", Lang.EN: "three-phase fault"},
    "single_phase_earth": {Lang.ZH: "单相接地", Lang.EN: "single-phase earth fault"},
    "two_phase_earth": {Lang.ZH: "两相接地短路", Lang.EN: "two-phase earth fault"},
    "broken_conductor": {Lang.ZH: "断线", Lang.EN: "broken conductor"},
    "unknown": {Lang.ZH: "类型待查", Lang.EN: "type unknown"},
}
"""Names of the values of ``openoms.faults.FaultType`` (the crew SMS, the locator's texts)."""


def join_list(items: list[str], lang: Lang) -> str:
    """``a、b、c`` in Chinese, ``a, b and c`` in English."""
    if lang is Lang.ZH:
        return "、".join(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
