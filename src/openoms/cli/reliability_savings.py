"""``openoms reliability savings``: the customer-minutes located faults and FLISR saved
against patrol-only fault finding, from the outage records of a period (定位与自愈效益).

```
openoms reliability savings [--from 2026-01-01 --to 2027-01-01] [--patrol-speed 3]
                            [--found-fraction 0.5] [--manual-switching-min 60] [--json]
```
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from openoms.cli._common import (
    config_option,
    json_option_with,
    lang_of,
    lang_option_with,
    settings_of,
)
from openoms.cli._db import database
from openoms.i18n import Lang
from openoms.reliability.location_savings import PatrolSettings, SavingsTotal, savings
from openoms.service.context import utc_now
from openoms.service.networks import current_network
from openoms.service.reliability import parse_period

__all__ = ["savings_command"]


@click.command("savings")
@click.option("--from", "start", default=None, help="First day (YYYY-MM-DD, utility's zone).")
@click.option("--to", "end", default=None, help="Day after the last (default: tomorrow).")
@click.option(
    "--patrol-speed",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="km/h a crew walks the line (default: reliability_patrol_speed_kmh, 3).",
)
@click.option(
    "--found-fraction",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=None,
    help="Share of the line walked before the fault is found (default 0.5).",
)
@click.option(
    "--manual-switching-min",
    type=click.FloatRange(min=0),
    default=None,
    help="Minutes to reach and operate a manual switch (default 60).",
)
@click.option(
    "--network",
    default=None,
    help="Network for the line lengths (default: the database's current network).",
)
@json_option_with("Print the comparison as JSON.")
@lang_option_with("zh or en.")
@config_option
def savings_command(  # click passes options by name
    *,
    start: str | None,
    end: str | None,
    patrol_speed: float | None,
    found_fraction: float | None,
    manual_switching_min: float | None,
    network: str | None,
    as_json: bool,
    lang: str | None,
    config: Path | None,
) -> None:
    """Customer-minutes saved by located faults and FLISR against patrol-only, from the
    outage records (定位与自愈节省的停电时户数).

    Patrol-only, the crew walks the line below the device that opened until it finds the
    fault and nothing comes back before; the assumptions are in docs/reliability.md
    ("What located faults and FLISR saved")."""
    from openoms.service.location_savings import fault_histories  # noqa: PLC0415  (locator)

    settings = settings_of(config)
    language = lang_of(lang)
    patrol = PatrolSettings(
        patrol_speed_kmh=patrol_speed or settings.reliability_patrol_speed_kmh,
        found_fraction=found_fraction or settings.reliability_patrol_found_fraction,
        manual_switching_min=settings.reliability_manual_switching_min
        if manual_switching_min is None
        else manual_switching_min,
    )
    seconds = parse_period(start, end, tz=settings.timezone, now=utc_now())
    first, stop = (datetime.fromtimestamp(t, UTC) for t in seconds)
    with database(settings) as sessions, sessions() as session:
        grid = current_network(session, settings.network, prefer=network)
        read = fault_histories(session, grid, start=first, end=stop)
    total = savings(read.histories, patrol)
    zone = ZoneInfo(settings.timezone)
    out = _as_dict(total) | {
        "period": {
            "from": first.astimezone(zone).isoformat(),
            "to": stop.astimezone(zone).isoformat(),
        },
        "left_out": {"momentary": read.momentary, "feeder_not_in_network": read.not_in_network},
    }
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    click.echo(_text(out, language))


def _as_dict(total: SavingsTotal) -> dict[str, Any]:
    s = total.settings
    return {
        "settings": {
            "patrol_speed_kmh": s.patrol_speed_kmh,
            "found_fraction": s.found_fraction,
            "manual_switching_min": s.manual_switching_min,
        },
        "outages": len(total.outages),
        "actual_customer_minutes": round(total.actual_minutes, 1),
        "patrol_only_customer_minutes": round(total.patrol_only_minutes, 1),
        "saved_customer_minutes": round(total.saved_minutes, 1),
        "saved_share": None if total.saved_share is None else round(total.saved_share, 4),
        "found_estimated": sum(o.found_estimated for o in total.outages),
        "by_feeder": [
            {
                "feeder": feeder,
                "actual_customer_minutes": round(actual, 1),
                "patrol_only_customer_minutes": round(patrol, 1),
                "saved_customer_minutes": round(patrol - actual, 1),
            }
            for feeder, (actual, patrol) in total.by_feeder.items()
        ],
        "by_outage": [
            {
                "outage": o.outage_id,
                "feeder": o.feeder,
                "customers": o.customers,
                "actual_customer_minutes": round(o.actual_minutes, 1),
                "patrol_only_customer_minutes": round(o.patrol_only_minutes, 1),
                "extra_patrol_min": round(o.extra_patrol_min, 1),
                "found_estimated": o.found_estimated,
                "still_off_areas": o.still_off,
            }
            for o in total.outages
        ],
    }


def _text(out: dict[str, Any], lang: Lang) -> str:
    zh = lang is Lang.ZH
    s = out["settings"]
    n = out["outages"]
    if n == 0:
        return (
            "该时段没有持续性故障停电记录，无从比较。"
            if zh
            else "No sustained fault outage in the period: nothing to compare."
        )
    share = out["saved_share"]
    share_text = "-" if share is None else f"{share * 100:.1f} %"
    lines = [
        f"故障停电 {n} 次：实际 {out['actual_customer_minutes']:,.0f} 户·分钟，"
        f"若仅靠人工巡线 {out['patrol_only_customer_minutes']:,.0f} 户·分钟，"
        f"定位与自愈节省 {out['saved_customer_minutes']:,.0f} 户·分钟（{share_text}）。"
        if zh
        else f"{n} fault outages: {out['actual_customer_minutes']:,.0f} customer-minutes; "
        f"patrol-only {out['patrol_only_customer_minutes']:,.0f}; saved by fault location and "
        f"FLISR {out['saved_customer_minutes']:,.0f} ({share_text}).",
    ]
    for row in out["by_feeder"]:
        lines.append(
            f"  {row['feeder']}：节省 {row['saved_customer_minutes']:,.0f} 户·分钟"
            if zh
            else f"  {row['feeder']}: saved {row['saved_customer_minutes']:,.0f} customer-minutes"
        )
    lines.append(
        f"假设：巡线速度 {s['patrol_speed_kmh']:g} km/h，平均巡至 {s['found_fraction']:g} 处发现"
        f"故障，手动操作开关 {s['manual_switching_min']:g} 分钟"
        if zh
        else f"Assumed: patrol at {s['patrol_speed_kmh']:g} km/h, fault found after "
        f"{s['found_fraction']:g} of the line, {s['manual_switching_min']:g} min per manual switch"
    )
    estimated = out["found_estimated"]
    if estimated:
        lines.append(
            f"其中 {estimated} 次无抢修人员确认时间，发现时间按定位区段巡线估算。"
            if zh
            else f"{estimated} outages have no crew confirmation: their finding time is "
            "estimated from patrolling the located region."
        )
    left = out["left_out"]
    if left["momentary"] or left["feeder_not_in_network"]:
        lines.append(
            f"未计入：瞬时停电 {left['momentary']} 次，线路已不在当前网络中 "
            f"{left['feeder_not_in_network']} 次。"
            if zh
            else f"Left out: {left['momentary']} momentary, {left['feeder_not_in_network']} "
            "on feeders no longer in the network."
        )
    return "\n".join(lines)
