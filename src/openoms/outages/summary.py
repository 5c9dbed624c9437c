"""What an outage record says about its impact: the areas off and the summary, made once.

The processor (a breaker lockout, a switch opened) and a planner's booking both record an
outage from an :class:`~openoms.outages.impact.Impact`; both go through these two functions, so
that a record reads the same whoever made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openoms.i18n import Lang
from openoms.outages.impact import Impact
from openoms.outages.records import AreaOff, ElementKindOff

__all__ = ["areas_of", "outage_summary"]


def areas_of(impact: Impact, *, at: datetime) -> list[AreaOff]:
    """The transformer areas and HV customers of an impact, as outage areas off since ``at``."""
    net = impact.network
    ta, hv = net.transformer_areas, net.hv_customers
    out = [
        AreaOff(
            ta.id[i],
            ElementKindOff.TRANSFORMER_AREA,
            int(ta.lv_customers[i]),
            ta.village[i] or ta.street[i],
            at,
        )
        for i in impact.transformer_area_index.tolist()
    ]
    out += [
        AreaOff(hv.id[i], ElementKindOff.HV_CUSTOMER, 1, hv.village[i] or hv.street[i], at)
        for i in impact.hv_customer_index.tolist()
    ]
    return out


def outage_summary(
    impact: Impact,
    *,
    opened: Sequence[str] | None = None,
    estimated_restoration_at: datetime | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The record's summary: who is off in both languages, the counts, load and villages;
    for a booking also the devices it opens, the expected end and the planner's note."""
    summary: dict[str, Any] = {
        "zh": impact.summary(Lang.ZH),
        "en": impact.summary(Lang.EN),
        "counts": impact.as_dict()["counts"],
        "load_kw": round(impact.load_kw, 1),
        "villages": impact.villages,
    }
    if opened is not None:
        summary |= {
            "opened": list(opened),
            "estimated_restoration_at": (
                estimated_restoration_at.isoformat() if estimated_restoration_at else None
            ),
            "note": note,
        }
    return summary
