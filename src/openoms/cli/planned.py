"""``openoms planned …``: planned outages (计划停电).

``preview`` works on a network file alone: the switching that isolates the work and keeps
everyone else on, who is off, and what live-line work or a mobile generator would keep on.
``book``, ``approve``, ``postpone``, ``cancel``, ``list`` and ``show`` work on the service's
database (the current network there, in the switch states its processed events left),
as the HTTP routes do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from openoms.cli._common import (
    BadValue,
    NetworkOptions,
    config_option,
    json_option,
    lang_of,
    lang_option,
    network_options,
    settings_of,
)
from openoms.i18n import Lang
from openoms.outages.planned import WORK_TYPE_ZH, PlannedState, PlannedWork, WorkType

if TYPE_CHECKING:
    from openoms.service.context import ServiceContext
    from openoms.settings import Settings

__all__ = ["planned_group"]

_db_option = click.option(
    "--db", "db_url", default=None, help="Database URL (default: from the settings)."
)
_as_option = click.option(
    "--as", "actor", default="planner", show_default=True, help="Who books or approves (名字)."
)
_start = click.option("--start", "start", required=True, help="Start, ISO 8601 (local time).")
_end = click.option("--end", "end", required=True, help="End, ISO 8601 (local time).")
_work_on = click.option(
    "--work-on", default="", metavar="ELEMENT[,…]", help="Sections or switches worked on."
)
_open = click.option(
    "--open", "opened", default="", metavar="SWITCH[,…]", help="Or: the switches to open."
)
_type = click.option(
    "--type",
    "work_type",
    type=click.Choice([w.value for w in WorkType]),
    default=WorkType.MAINTENANCE.value,
    show_default=True,
    help="Work type; 'temporary' may keep the 24 h notice to important users.",
)
_reason = click.option("--reason", default="", help="The work to be done (shown in the notice).")


def _ids(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _time(text: str, option: str, zone: ZoneInfo, lang: Lang) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise BadValue(
            lang, option, f"{text!r} 不是 ISO 8601 时间", f"{text!r} is not an ISO 8601 time"
        ) from None
    return (at if at.tzinfo else at.replace(tzinfo=zone)).astimezone(UTC)


def _local(at: datetime | str, zone: ZoneInfo) -> str:
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _switching_lines(switching: Any, lang: Lang) -> list[str]:
    lines = []
    for op in switching:
        verb = (
            ("合上" if op["close"] else "拉开")
            if lang is Lang.ZH
            else ("close" if op["close"] else "open")
        )
        how = (
            ("遥控" if op["remote"] else "现场")
            if lang is Lang.ZH
            else ("remote" if op["remote"] else "by hand")
        )
        lines.append(f"  {op['number']}. {verb} {op['name']} ({op['device']}) [{how}]")
    return lines


def _comparison_lines(comparison: dict[str, Any], lang: Lang) -> list[str]:
    out, live, temp = comparison["outage"], comparison["live_line"], comparison["temporary_supply"]
    if lang is Lang.ZH:
        return [
            f"  停电作业：{out['customers_off']} 户停电，{out['customer_hours']:g} 户·时，"
            f"少供电量 {out['energy_not_supplied_kwh']:g} kWh，敏感用户 {out['sensitive_off']} 个",
            f"  带电作业：{live['customers_off']} 户停电，少停 {live['saves_customers']} 户、"
            f"{live['saves_hours']:g} 户·时",
            f"  发电车保供：{temp['customers_off']} 户停电（保供 "
            f"{'、'.join(temp['supplied_by_generator']) or '无'}），少停 "
            f"{temp['saves_customers']} 户、{temp['saves_hours']:g} 户·时",
        ]
    return [
        f"  outage: {out['customers_off']} customers off, {out['customer_hours']:g} "
        f"customer-hours, {out['energy_not_supplied_kwh']:g} kWh not supplied, "
        f"{out['sensitive_off']} sensitive",
        f"  live-line work: {live['customers_off']} off; keeps {live['saves_customers']} "
        f"customers, {live['saves_hours']:g} customer-hours on",
        f"  mobile generator: {temp['customers_off']} off (holds "
        f"{', '.join(temp['supplied_by_generator']) or 'none'}); keeps "
        f"{temp['saves_customers']} customers, {temp['saves_hours']:g} customer-hours on",
    ]


def _text(
    *,
    summary: dict[str, Any],
    switching: Any,
    starts_at: datetime,
    ends_at: datetime,
    zone: ZoneInfo,
    lang: Lang,
    header: str,
    notice: str,
) -> str:
    zh = lang is Lang.ZH
    window = f"{_local(starts_at, zone)} – {_local(ends_at, zone)}"
    lines = [header, ("  时间：" if zh else "  window: ") + window]
    if summary.get("line"):
        lines.append(("  线路：" if zh else "  line: ") + str(summary["line"]))
    lines.append(("  停电范围：" if zh else "  who is off: ") + str(summary["zh" if zh else "en"]))
    lines.append("倒闸操作：" if zh else "switching:")
    lines += _switching_lines(switching, lang)
    lines.append("停电、带电作业与发电车保供比较：" if zh else "outage, live-line work, generator:")
    lines += _comparison_lines(summary["comparison"], lang)
    lines.append(notice)
    return "\n".join(lines)


@click.group("planned")
def planned_group() -> None:
    """Planned outages: preview, book, approve and notify, postpone, cancel (计划停电)."""


@planned_group.command("preview")
@click.argument("path")
@_work_on
@_open
@_start
@_end
@_type
@_reason
@config_option
@network_options
def preview_command(  # click passes options by name
    path: str,
    *,
    work_on: str,
    opened: str,
    start: str,
    end: str,
    work_type: str,
    reason: str,
    config: Path | None,
    options: NetworkOptions,
) -> None:
    """The switching, who is off and the live-line comparison of planned work on a network
    file, and whether its start still keeps the notice lead time (from now)."""
    from openoms.outages.impact import ImpactAnalyser  # noqa: PLC0415
    from openoms.outages.planned import NoticeTooLateError, check_notice_lead_time  # noqa: PLC0415
    from openoms.restoration import RestorationPlanner  # noqa: PLC0415
    from openoms.service.planned import plan_work, summary_of  # noqa: PLC0415

    settings = settings_of(config)
    zone, lang = ZoneInfo(settings.timezone), options.lang
    starts_at = _time(start, "--start", zone, lang)
    ends_at = _time(end, "--end", zone, lang)
    if not _ids(work_on) and not _ids(opened):
        raise BadValue(lang, "--work-on", "请给出作业区段或要拉开的开关", "name the work or --open")
    network, topology = options.indexed(path)
    analyser = ImpactAnalyser(network, topology)
    plan = plan_work(
        network,
        analyser,
        RestorationPlanner(network),
        settings,
        starts_at=starts_at,
        ends_at=ends_at,
        work_on=_ids(work_on),
        opened=_ids(opened),
    )
    summary = summary_of(network, plan, reason=reason, ends_at=ends_at)
    try:
        check = check_notice_lead_time(
            starts_at,
            now=datetime.now(UTC),
            notice_days=settings.planned_notice_days,
            temporary_notice_hours=settings.temporary_notice_hours,
            temporary=work_type == WorkType.TEMPORARY.value,
            zone=zone,
        )
        problem = None
        notice = (
            f"通知截止：{_local(check.deadline, zone)}"
            if lang is Lang.ZH
            else f"notice deadline: {_local(check.deadline, zone)}"
        )
    except NoticeTooLateError as exc:
        problem = str(exc)
        notice = problem
    if options.as_json:
        click.echo(
            json.dumps(
                {
                    "opened": list(plan.opened),
                    "switching": list(plan.switching),
                    "summary": summary,
                    "notice_problem": problem,
                },
                ensure_ascii=False,
                indent=1,
                default=str,
            )
        )
        return
    header = (
        f"计划停电预览：{WORK_TYPE_ZH[WorkType(work_type)]} {reason}".rstrip()
        if lang is Lang.ZH
        else f"planned outage preview: {work_type} {reason}".rstrip()
    )
    click.echo(
        _text(
            summary=summary,
            switching=plan.switching,
            starts_at=starts_at,
            ends_at=ends_at,
            zone=zone,
            lang=lang,
            header=header,
            notice=notice,
        )
    )


@contextmanager
def _service(settings: Settings, db_url: str | None) -> Iterator[ServiceContext]:
    from openoms.service.runtime import build_context  # noqa: PLC0415

    if db_url is not None:
        settings = settings.model_copy(update={"database_url": db_url})
    context = build_context(settings)
    try:
        # The switch states the running service would plan on: the network's present states
        # with every processed switching event of the log replayed (a tie closed or a switch
        # opened since the network was loaded counts).
        from openoms.service.processor import EventProcessor  # noqa: PLC0415

        with context.sessions() as session:
            EventProcessor(context).rebuild_live_state(session)
        yield context
    finally:
        context.dispose()


def _show(work: PlannedWork, zone: ZoneInfo, lang: Lang, *, as_json: bool) -> None:
    if as_json:
        from dataclasses import asdict  # noqa: PLC0415

        click.echo(json.dumps(asdict(work), ensure_ascii=False, indent=1, default=str))
        return
    zh = lang is Lang.ZH
    kind = WORK_TYPE_ZH[work.work_type] if zh else work.work_type.value
    header = (
        f"计划停电 {work.id}（{work.state}，第 {work.revision} 版）：{kind} {work.reason}"
        if zh
        else f"planned outage {work.id} ({work.state}, revision {work.revision}): "
        f"{kind} {work.reason}"
    )
    notice = work.notice
    deadline = _local(str(notice["deadline"]), zone) if notice.get("deadline") else "-"
    flagged = (
        (" （临时检修，短期通知）" if zh else " (temporary maintenance, short notice)")
        if (notice.get("flagged"))
        else ""
    )
    click.echo(
        _text(
            summary=work.summary,
            switching=work.switching,
            starts_at=work.starts_at,
            ends_at=work.ends_at,
            zone=zone,
            lang=lang,
            header=header,
            notice=(f"通知截止：{deadline}" if zh else f"notice deadline: {deadline}") + flagged,
        )
    )


def _who(actor: str) -> Any:
    from openoms.service.outages import Principal  # noqa: PLC0415
    from openoms.store.tokens import Role  # noqa: PLC0415

    return Principal(actor, Role.PLANNER)


@planned_group.command("book")
@_work_on
@_open
@_start
@_end
@_type
@click.option("--reason", required=True, help="The work to be done (shown in the notice).")
@click.option("--crew", "crews", multiple=True, help="Crew doing the work (repeatable).")
@_as_option
@_db_option
@config_option
@lang_option
@json_option
def book_command(  # click passes options by name
    *,
    work_on: str,
    opened: str,
    start: str,
    end: str,
    work_type: str,
    reason: str,
    crews: tuple[str, ...],
    actor: str,
    db_url: str | None,
    config: Path | None,
    lang: str | None,
    as_json: bool,
) -> None:
    """Book planned work as a draft on the current network in its live switch states (refused
    when its start is too close for the notice)."""
    from openoms.service import planned  # noqa: PLC0415

    settings, language = settings_of(config), lang_of(lang)
    zone = ZoneInfo(settings.timezone)
    starts_at = _time(start, "--start", zone, language)
    ends_at = _time(end, "--end", zone, language)
    with _service(settings, db_url) as context, context.sessions.begin() as session:
        work = planned.book_work(
            context,
            session,
            _who(actor),
            work_type=WorkType(work_type),
            reason=reason,
            starts_at=starts_at,
            ends_at=ends_at,
            work_on=_ids(work_on),
            opened=_ids(opened),
            crews=crews,
            now=context.clock(),
        )
    _show(work, zone, language, as_json=as_json)


def _move(
    action: str,
    work_id: int,
    *,
    actor: str,
    db_url: str | None,
    config: Path | None,
    lang: str | None,
    as_json: bool,
    note: str | None,
    window: tuple[str, str] | None = None,
) -> None:
    from openoms.service import planned  # noqa: PLC0415

    settings, language = settings_of(config), lang_of(lang)
    zone = ZoneInfo(settings.timezone)
    with _service(settings, db_url) as context, context.sessions.begin() as session:
        now, who = context.clock(), _who(actor)
        if action == "approve":
            work = planned.approve_work(context, session, who, work_id, now=now, note=note)
        elif action == "cancel":
            work = planned.cancel_work(context, session, who, work_id, now=now, note=note)
        else:
            assert window is not None
            work = planned.postpone_work(
                context,
                session,
                who,
                work_id,
                starts_at=_time(window[0], "--start", zone, language),
                ends_at=_time(window[1], "--end", zone, language),
                now=now,
                note=note,
            )
    _show(work, zone, language, as_json=as_json)


_note = click.option("--note", default=None, help="A note kept with the state change.")


@planned_group.command("approve")
@click.argument("work_id", type=int)
@_note
@_as_option
@_db_option
@config_option
@lang_option
@json_option
def approve_command(work_id: int, **kwargs: Any) -> None:
    """Approve planned work (the notice lead time is checked now) and send its notice."""
    _move("approve", work_id, **kwargs)


@planned_group.command("cancel")
@click.argument("work_id", type=int)
@_note
@_as_option
@_db_option
@config_option
@lang_option
@json_option
def cancel_command(work_id: int, **kwargs: Any) -> None:
    """Call planned work off (customers already told get the cancellation)."""
    _move("cancel", work_id, **kwargs)


@planned_group.command("postpone")
@click.argument("work_id", type=int)
@_start
@_end
@_note
@_as_option
@_db_option
@config_option
@lang_option
@json_option
def postpone_command(work_id: int, *, start: str, end: str, **kwargs: Any) -> None:
    """Put planned work off to a new window (a correction goes to customers told)."""
    _move("postpone", work_id, window=(start, end), **kwargs)


@planned_group.command("list")
@click.option(
    "--state", "states", multiple=True, type=click.Choice([s.value for s in PlannedState])
)
@_db_option
@config_option
@lang_option
@json_option
def list_command(
    *,
    states: tuple[str, ...],
    db_url: str | None,
    config: Path | None,
    lang: str | None,
    as_json: bool,
) -> None:
    """Planned outages by start, in local time."""
    from openoms.cli._db import database  # noqa: PLC0415
    from openoms.store import planned as store  # noqa: PLC0415

    settings, language = settings_of(config), lang_of(lang)
    zone = ZoneInfo(settings.timezone)
    with database(settings, db_url) as sessions, sessions() as session:
        found = store.list_work(
            session, states=[PlannedState(s) for s in states] if states else None
        )
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": w.id,
                        "state": w.state,
                        "starts_at": w.starts_at.isoformat(),
                        "ends_at": w.ends_at.isoformat(),
                        "customers": w.customers,
                        "reason": w.reason,
                    }
                    for w in found
                ],
                ensure_ascii=False,
                indent=1,
            )
        )
        return
    if not found:
        click.echo("没有计划停电" if language is Lang.ZH else "no planned outages")
    for w in found:
        line = w.summary.get("line") or "-"
        click.echo(
            f"{w.id:>5}  {w.state:<12} {_local(w.starts_at, zone)} – {_local(w.ends_at, zone)}  "
            f"{line}  {w.customers} {'户' if language is Lang.ZH else 'customers'}  {w.reason}"
        )


@planned_group.command("show")
@click.argument("work_id", type=int)
@_db_option
@config_option
@lang_option
@json_option
def show_command(
    work_id: int, *, db_url: str | None, config: Path | None, lang: str | None, as_json: bool
) -> None:
    """One planned outage: window, switching, who is off, comparison, notice deadline."""
    from openoms.cli._db import database  # noqa: PLC0415
    from openoms.store import planned as store  # noqa: PLC0415

    settings, language = settings_of(config), lang_of(lang)
    with database(settings, db_url) as sessions, sessions() as session:
        work = store.get_work(session, work_id)
    _show(work, ZoneInfo(settings.timezone), language, as_json=as_json)
