"""``openoms reliability``: indices of a period, history import, and the report.

```
openoms reliability [--from 2024-01-01 --to 2025-01-01] [--by feeder] [--json] [--report DIR]
openoms reliability import history.csv [--base units.csv] [--network sample:county]
openoms reliability imports
openoms reliability predict NETWORK [--json] [--report DIR]      (cli.reliability_planning)
openoms reliability place NETWORK [--budget N] [--json]            (cli.reliability_planning)
openoms reliability savings [--from ... --to ...] [--json]          (cli.reliability_savings)
```

The database and settings are the service's (``--config``); the network is ``--network``, else
the database's current version, else the configured one. Heavy imports happen inside the
commands, so ``openoms --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from openoms.cli._common import (
    config_option,
    encoding_option,
    json_option_with,
    lang_of,
    lang_option_with,
    say,
    settings_of,
    writing,
)
from openoms.cli._db import database
from openoms.cli.reliability_planning import place_command, predict_command
from openoms.cli.reliability_savings import savings_command
from openoms.i18n import Lang
from openoms.reliability.wording import (
    assumption_text,
    caveat_text,
    counts_text,
    period_text,
    settings_text,
    warning_texts,
)
from openoms.service.context import utc_now
from openoms.service.networks import current_network
from openoms.service.reliability import (
    Source,
    engine_settings,
    feeder_names,
    import_history_file,
    parse_levels,
    parse_period,
    run_reliability,
    targets_of,
)
from openoms.store import history

__all__ = ["reliability_group"]

_LABELS: dict[str, tuple[str, str]] = {
    "saifi": ("SAIFI 系统平均停电频率（次/户）", "SAIFI (interruptions per customer)"),
    "saidi_min": ("SAIDI 系统平均停电时间（分钟/户）", "SAIDI (minutes per customer)"),
    "caidi_min": ("CAIDI 用户平均停电持续时间（分钟）", "CAIDI (minutes)"),
    "asai": ("ASAI 平均供电可用率", "ASAI"),
    "maifi": ("MAIFI 瞬时停电频率", "MAIFI"),
    "aihc1_h": ("AIHC-1 用户平均停电时间（小时/户）", "AIHC-1 (hours per user)"),
    "rs1_pct": ("RS-1 供电可靠率（%）", "RS-1 (%)"),
    "rs3_pct": ("RS-3 供电可靠率（不计限电，%）", "RS-3 excluding load limiting (%)"),
    "aitc1": ("AITC-1 用户平均停电次数（次/户）", "AITC-1 (interruptions per user)"),
}


_network_option = click.option(
    "--network",
    default=None,
    help="Network for the customer base (path or sample:county). "
    "Default: the database's current network, else the configured one.",
)
_lang_option = lang_option_with("zh or en.")


@click.group("reliability", invoke_without_command=True)
@click.option("--from", "start", default=None, help="First day (YYYY-MM-DD, utility's zone).")
@click.option("--to", "end", default=None, help="Day after the last (default: tomorrow).")
@click.option(
    "--by",
    type=click.Choice(
        ["feeder", "substation", "grid_cell", "village", "cause", "month", "class", "planned"]
    ),
    default=None,
    help="Break the indices down by this.",
)
@click.option(
    "--source",
    type=click.Choice(["both", "history", "records"]),
    default="both",
    show_default=True,
    help="Imported history, OpenOMS's outage records, or both.",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write the HTML report with PNG charts into this folder.",
)
@click.option(
    "--sustained-threshold",
    "sustained_min",
    type=click.FloatRange(min=0),
    default=None,
    help="Minutes beyond which an interruption is sustained (setting sustained_threshold_min).",
)
@click.option(
    "--sustained-operator",
    type=click.Choice([">", ">="]),
    default=None,
    help="'>' (IEEE 1366: longer than the threshold) or '>=' (5.0 min is sustained).",
)
@click.option(
    "--short-interruption",
    "short_s",
    type=click.FloatRange(min=0),
    default=None,
    help="DL/T 836: leave out interruptions of at most this many seconds; 0 counts all.",
)
@click.option(
    "--med-ddof", type=click.IntRange(min=0), default=None, help="ddof of β (1: n − 1, 0: n)."
)
@click.option(
    "--med-history-years",
    type=click.IntRange(1, 50),
    default=None,
    help="Years of history before --from for T_MED.",
)
@click.option(
    "--med-threshold",
    "med_threshold_min",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Use this T_MED (minutes per day) instead of computing it.",
)
@click.option("--cemi", default=None, help="The n of CEMIn / CEMSMIn, e.g. 3 or 1,2,3.")
@click.option(
    "--celid-hours",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="CELID threshold in hours.",
)
@click.option(
    "--worst", "worst_n", type=click.IntRange(0, 1000), default=None, help="Worst-list length."
)
@json_option_with("Print the result as JSON.")
@_lang_option
@_network_option
@config_option
@click.pass_context
def reliability_group(
    ctx: click.Context,
    *,
    start: str | None,
    end: str | None,
    by: str | None,
    source: str,
    report_dir: Path | None,
    as_json: bool,
    lang: str | None,
    network: str | None,
    config: Path | None,
    sustained_min: float | None,
    sustained_operator: str | None,
    short_s: float | None,
    med_ddof: int | None,
    med_history_years: int | None,
    med_threshold_min: float | None,
    cemi: str | None,
    celid_hours: float | None,
    worst_n: int | None,
) -> None:
    """Reliability indices: IEEE 1366 and DL/T 836, major event days (供电可靠性统计).

    Every engine setting comes from the configuration (TOML / OPENOMS_RELIABILITY_*) unless
    an option here overrides it; the output states the settings used."""
    if ctx.invoked_subcommand is not None:
        return
    language = lang_of(lang)
    settings = settings_of(config)
    now = utc_now()
    first, stop = parse_period(start, end, tz=settings.timezone, now=now)
    engine = engine_settings(
        settings,
        sustained_threshold_s=None if sustained_min is None else sustained_min * 60.0,
        sustained_operator=sustained_operator,
        short_interruption_s=short_s,
        med_ddof=med_ddof,
        med_history_years=med_history_years,
        cemi_n=parse_levels(cemi, "--cemi"),
        celid_threshold_h=celid_hours,
        worst_n=worst_n,
    )
    with database(settings) as sessions, sessions.begin() as session:
        grid = current_network(session, settings.network, prefer=network)
        run = run_reliability(
            session,
            grid,
            start=first,
            end=stop,
            settings=settings,
            now=now,
            by=by,
            source=Source(source),
            with_monthly=report_dir is not None,
            with_previous=report_dir is not None,
            engine=engine,
            med_threshold_min=med_threshold_min,
        )
    out = run.result.as_dict() | {"notes": list(run.notes)}
    if report_dir is not None and run.monthly is not None:
        from openoms.viz.reliability_report import write_report  # noqa: PLC0415

        with writing(report_dir, "the report"):
            files = write_report(
                run.result,
                run.monthly,
                report_dir,
                lang=language,
                notes=run.notes,
                previous=run.previous,
                feeders=feeder_names(grid),
                targets=targets_of(settings),
            )
        out["report"] = str(files.html)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    click.echo(_text(out, language))


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6f}" if abs(value) < 10 and value != 0 else f"{value:,.3f}"
    return str(value)


def _text(out: dict[str, Any], lang: Lang) -> str:
    period = out["period"]
    shown = period_text(out, str(lang))
    lines = [
        say(
            lang,
            f"统计期间 {shown}，{period['hours']:.0f} 小时",
            f"Period {shown}, {period['hours']:.0f} h",
        )
    ]
    lines.append(settings_text(out, lang))
    lines.append(counts_text(out, lang))
    lines += [f"! {warning}" for warning in warning_texts(out, lang)]
    ieee, dlt = out["ieee1366"], out["dlt836"]
    lines.append(
        say(lang, "指标 | 全部 | 不计重大事件日", "index | all days | excluding major event days")
    )
    for key, (zh, en) in _LABELS.items():
        if key in ieee["all"]:
            shown = f"{_number(ieee['all'][key])} | {_number(ieee['excluding_med'][key])}"
        else:
            shown = _number(dlt[key])
        lines.append(f"  {say(lang, zh, en)}: {shown}")
    for n in out["settings"]["cemi_n"]:
        shown = (
            f"{_number(ieee['all'][f'cemi_{n}'])} | {_number(ieee['excluding_med'][f'cemi_{n}'])}"
        )
        lines.append(f"  {say(lang, f'CEMI{n} 停电超过 {n} 次的用户比例', f'CEMI{n}')}: {shown}")
    med = out["med"]
    if med is None:
        lines.append(
            say(
                lang, f"重大事件日阈值：无（{out['med_note']}）", f"T_MED: none ({out['med_note']})"
            )
        )
    else:
        days = ", ".join(out["med_days"]) or say(lang, "无", "none")
        lines.append(
            say(
                lang,
                f"重大事件日阈值 T_MED = {med['t_med_min']:.1f} 分钟；重大事件日：{days}",
                f"T_MED = {med['t_med_min']:.1f} min; major event days: {days}",
            )
        )
        if (caveat := caveat_text(out, lang)) is not None:
            lines.append(f"! {caveat}")
    saved = out["avoided"]
    lines.append(
        say(
            lang,
            f"少停电时户数：自动恢复（FLISR）{saved['automatic_customer_hours']:,.1f}，"
            f"带电作业 {saved['live_line_customer_hours']:,.1f}",
            "customer-hours kept on: automatic restoration "
            f"{saved['automatic_customer_hours']:,.1f}, "
            f"live-line work {saved['live_line_customer_hours']:,.1f}",
        )
    )
    if out["breakdown"] is not None:
        dims = out["breakdown"]["by"]
        lines.append(" | ".join([*dims, "SAIFI", "SAIDI min", "AIHC-1 h", "RS-1 %"]))
        for row in out["breakdown"]["rows"]:
            cells = [str(row[d]) for d in dims]
            cells += [_number(row.get(k)) for k in ("saifi", "saidi_min", "aihc1_h", "rs1_pct")]
            lines.append(" | ".join(cells))
    lines.append(assumption_text(lang))
    lines += [f"! {note}" for note in out["notes"]]
    if "report" in out:
        lines.append(say(lang, f"报告：{out['report']}", f"report: {out['report']}"))
    return "\n".join(lines)


@reliability_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--base",
    "base_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Customer-base CSV for units that are not in the network.",
)
@click.option("--actor", default=None, help="Who imports (default: the login name).")
@encoding_option
@_lang_option
@_network_option
@config_option
def import_command(
    path: Path,
    *,
    base_path: Path | None,
    actor: str | None,
    encoding: str | None,
    lang: str | None,
    network: str | None,
    config: Path | None,
) -> None:
    """Import a CSV of historical interruptions, all or nothing (导入历史停电记录).

    Bad rows are listed with their row number and nothing is imported (exit status 2).
    """
    language = lang_of(lang)
    settings = settings_of(config)
    interactive = sys.stderr.isatty()

    def progress(rows: int) -> None:  # on a terminal only, as the other commands' steps
        text = say(language, f"… 已读 {rows:,} 行", f"… {rows:,} rows read")
        click.echo(f"\r{text}", err=True, nl=False)

    try:
        with database(settings) as sessions, sessions.begin() as session:
            grid = current_network(session, settings.network, prefer=network)
            info = import_history_file(
                session,
                grid,
                path,
                settings=settings,
                actor=actor or os.environ.get("USER", "cli"),
                now=utc_now(),
                base_path=base_path,
                progress=progress if interactive else None,  # a log gets the result line
                encoding=encoding,
            )
    finally:
        if interactive:
            click.echo("", err=True)
    click.echo(
        say(
            language,
            f"{path.name}：已导入 {info.rows:,} 行、{info.events:,} 次停电（导入编号 {info.id}）",
            f"{path.name}: imported {info.rows:,} rows, {info.events:,} events (import {info.id})",
        )
    )


@reliability_group.command("imports")
@json_option_with("Print JSON.")
@config_option
def imports_command(as_json: bool, config: Path | None) -> None:
    """List the imported history files (已导入的历史记录)."""
    with database(settings_of(config)) as sessions, sessions.begin() as session:
        infos = history.list_imports(session)
    if as_json:
        click.echo(json.dumps([asdict(i) for i in infos], default=str, indent=1))
        return
    for i in infos:
        click.echo(
            f"{i.id}  {i.source}  {i.rows:,} rows  {i.events:,} events  "
            f"{i.first_start:%Y-%m-%d}…{i.last_end:%Y-%m-%d}  {i.imported_at:%Y-%m-%d %H:%M}"
            if i.first_start and i.last_end
            else f"{i.id}  {i.source}  (empty)"
        )


@reliability_group.command("delete-import")
@click.argument("import_id", type=int)
@config_option
def delete_import_command(import_id: int, config: Path | None) -> None:
    """Remove an imported file with its rows, to import a corrected one (删除导入记录)."""
    with database(settings_of(config)) as sessions, sessions.begin() as session:
        info = history.delete_import(session, import_id)
    click.echo(f"deleted import {info.id}: {info.source}, {info.rows:,} rows")


reliability_group.add_command(predict_command)
reliability_group.add_command(place_command)
reliability_group.add_command(savings_command)
