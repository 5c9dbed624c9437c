"""``openoms notices …``: customer notices (停电通知).

- ``notices customers import FILE``: the customers with their contact data (CSV, all rows or
  none; every ``element_id`` checked against the network);
- ``notices list`` / ``notices show ID``: what was published and, per delivery, to whom
  (masked), when and the result;
- ``notices preview``: a notice rendered to stdout for a published subject (``--ref``) or
  one described by options, in zh-CN or English, on one channel or all.

Registered on the main command group by :mod:`openoms.cli`. The database and the engines
are imported inside the commands, so ``openoms notices --help`` loads neither.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from openoms.cli._common import config_option, encoding_option, settings_of

__all__ = ["notices_group"]

_db_option = click.option(
    "--db", "db_url", default=None, help="Database URL (default: from the settings)."
)
_CHANNELS = ("sms", "email", "wecom", "dingtalk", "feishu", "weibo", "broadcast")


@click.group("notices")
def notices_group() -> None:
    """Customer notices: customers, published notices, previews (停电通知)."""


@notices_group.group("customers")
def customers_group() -> None:
    """Customers with contact data (客户联系信息)."""


@customers_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_db_option
@config_option
@click.option("--network", default=None, help="Network whose areas the file may name.")
@encoding_option
def customers_import(
    file: Path, db_url: str | None, config: Path | None, network: str | None, encoding: str | None
) -> None:
    """Import a customer CSV: all rows or none; replaces every customer.

    Columns: account,name,phone,email,address,street,village,element_id,meter_id,lang,
    channels,sensitive (see docs/notices.md).
    """
    from openoms.cli._db import database  # noqa: PLC0415
    from openoms.grid.textfile import read_text  # noqa: PLC0415
    from openoms.service.networks import current_raw  # noqa: PLC0415
    from openoms.service.notices import import_customers  # noqa: PLC0415

    settings = settings_of(config)
    text = read_text(file, encoding)
    with database(settings, db_url) as sessions, sessions.begin() as session:
        raw, _ = current_raw(session, network or settings.network)
        ids: set[str] = set()
        for table in ("transformer_areas", "hv_customers"):
            rows = raw.tables.get(table)
            ids |= {str(row["id"]) for row in rows.rows} if rows is not None else set()
        count = import_customers(
            session,
            text,
            source=str(file),
            element_ids=ids,
            network=raw.name,
            now=_now(),
        )
    click.echo(f"{file}: {count} 户导入 / {count} customers imported")


def _now() -> datetime:
    from datetime import UTC  # noqa: PLC0415

    return datetime.now(UTC)


@notices_group.command("list")
@click.option("--ref", default=None, help="Only notices of this subject (planned:12, outage:5).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_db_option
@config_option
def notices_list(
    ref: str | None, limit: int, as_json: bool, db_url: str | None, config: Path | None
) -> None:
    """The newest notices with their deliveries per state (通知列表)."""
    from openoms.cli._db import database  # noqa: PLC0415
    from openoms.store import notices as notice_store  # noqa: PLC0415

    settings = settings_of(config)
    zone = ZoneInfo(settings.timezone)
    with database(settings, db_url) as sessions, sessions() as session:
        items = notice_store.list_notices(session, ref=ref, limit=limit)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": n.id,
                        "ref": n.subject.ref,
                        "kind": n.subject.kind,
                        "action": n.subject.action,
                        "revision": n.subject.revision,
                        "created_at": n.created_at.isoformat(),
                        "deliveries": n.states,
                    }
                    for n in items
                ],
                ensure_ascii=False,
            )
        )
        return
    if not items:
        click.echo("无通知 / no notices")
    for n in items:
        states = ", ".join(f"{k} {v}" for k, v in n.states.items()) or "-"
        click.echo(
            f"{n.id}  {n.created_at.astimezone(zone):%Y-%m-%d %H:%M}  {n.subject.ref} "
            f"r{n.subject.revision} {n.subject.kind}/{n.subject.action}  {states}"
        )


@notices_group.command("show")
@click.argument("notice_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_db_option
@config_option
def notices_show(notice_id: int, as_json: bool, db_url: str | None, config: Path | None) -> None:
    """One notice: every delivery, to whom (masked), when, the result (通知详情)."""
    from openoms.cli._db import database  # noqa: PLC0415
    from openoms.store import notices as notice_store  # noqa: PLC0415

    settings = settings_of(config)
    zone = ZoneInfo(settings.timezone)
    with database(settings, db_url) as sessions, sessions() as session:
        item = notice_store.get_notice(session, notice_id)
        deliveries = notice_store.deliveries_of(session, notice_id)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "id": item.id,
                    "ref": item.subject.ref,
                    "action": item.subject.action,
                    "revision": item.subject.revision,
                    "deliveries": [
                        {
                            "id": d.id,
                            "channel": d.channel,
                            "account": d.account,
                            "recipient": d.masked_recipient,
                            "state": d.state.value,
                            "attempts": d.attempts,
                            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                            "result": d.result,
                        }
                        for d in deliveries
                    ],
                },
                ensure_ascii=False,
            )
        )
        return
    s = item.subject
    click.echo(f"{item.id}  {s.ref} r{s.revision} {s.kind}/{s.action}")
    for d in deliveries:
        when = f"{d.sent_at.astimezone(zone):%m-%d %H:%M}" if d.sent_at else "-"
        click.echo(
            f"  {d.id}  {d.channel:9} {d.account or '':12} {d.masked_recipient:24} "
            f"{d.state:11} {when}  {d.result or ''}"
        )


@notices_group.command("preview")
@click.option("--ref", default=None, help="A published subject (planned:12, outage:5).")
@click.option("--kind", type=click.Choice(["planned", "temporary", "fault"]), default="planned")
@click.option(
    "--action",
    type=click.Choice(["new", "changed", "cancelled", "restored"]),
    default=None,
    help="How it reads (default: the subject's own).",
)
@click.option("--starts", default=None, help="Start (ISO 8601; local zone without offset).")
@click.option("--ends", default=None, help="End (ISO 8601; empty: until further notice).")
@click.option("--villages", default="", help="Villages, comma-separated.")
@click.option("--streets", default="", help="Streets, comma-separated.")
@click.option("--line", default=None, help="The line's name as people know it.")
@click.option("--reason-zh", default="", help="The reason in Chinese.")
@click.option("--reason-en", default="", help="The reason in English.")
@click.option("--lang", type=click.Choice(["zh-CN", "en"]), default="zh-CN", show_default=True)
@click.option("--channel", type=click.Choice([*_CHANNELS, "all"]), default="all", show_default=True)
@_db_option
@config_option
def notices_preview(  # click passes options by name
    *,
    ref: str | None,
    kind: str,
    action: str | None,
    starts: str | None,
    ends: str | None,
    villages: str,
    streets: str,
    line: str | None,
    reason_zh: str,
    reason_en: str,
    lang: str,
    channel: str,
    db_url: str | None,
    config: Path | None,
) -> None:
    """Render a notice to stdout without sending it (通知预览)."""
    from dataclasses import replace  # noqa: PLC0415

    from openoms.outages.notices import NoticeChannel, NoticeSubject  # noqa: PLC0415
    from openoms.service.notices import preview_notice  # noqa: PLC0415

    settings = settings_of(config)
    zone = ZoneInfo(settings.timezone)
    if ref is not None:
        from openoms.cli._db import database  # noqa: PLC0415
        from openoms.store import notices as notice_store  # noqa: PLC0415

        with database(settings, db_url) as sessions, sessions() as session:
            found = notice_store.get_subject(session, ref)
        if found is None:
            raise click.BadParameter(f"no published notice subject {ref!r}", param_hint="--ref")
        subject = found if action is None else replace(found, action=action)
    else:
        if starts is None:
            raise click.BadParameter("give --ref, or --starts (and the other options)")
        subject = NoticeSubject(
            ref="preview",
            kind=kind,
            action=action or "new",
            revision=0,
            starts_at=_time(starts, zone, "--starts"),
            ends_at=_time(ends, zone, "--ends") if ends else None,
            element_ids=(),
            villages=_names(villages),
            streets=_names(streets),
            line=line,
            reason_zh=reason_zh,
            reason_en=reason_en,
        )
    channels = _CHANNELS if channel == "all" else (channel,)
    for name in channels:
        title, body = preview_notice(subject, NoticeChannel(name), lang=lang, settings=settings)
        click.echo(f"== {name} ==")
        if title:
            click.echo(title)
        click.echo(body)
        click.echo()


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace("，", ",").split(",") if part.strip())


def _time(text: str, zone: ZoneInfo, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint=option) from exc
    return value.replace(tzinfo=zone) if value.tzinfo is None else value
