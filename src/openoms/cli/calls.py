"""``openoms calls predict NETWORK --calls FILE``: the operated devices from trouble calls
(故障报修研判).

The calls file is CSV with a header: ``time`` (ISO 8601; without an offset it is the utility's
local time, ``--timezone``) and, per row, one of ``transformer_area``, ``element_id`` (a
transformer area or HV customer), ``account`` or ``meter_id`` (these two with
``--customers``, the customer file). Optional column ``account`` also tells repeated calls of
one customer apart. Every bad row is named by file, row and column, all at once.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from openoms.cli._common import NetworkOptions, network_options, say
from openoms.cli.locate import _checked_timezone
from openoms.errors import InputError
from openoms.i18n import Lang

if TYPE_CHECKING:  # the engines load when the command runs
    from openoms.grid.model import Network
    from openoms.outages.calls import Call, CallTree, Prediction

__all__ = ["CallFileError", "calls_group", "read_calls"]

UNIT_COLUMNS = ("transformer_area", "element_id", "account", "meter_id")


@dataclass(frozen=True, slots=True)
class CallRow:
    """A call as read: its line in the file, the unit's element id, the time, the account."""

    row: int
    element_id: str
    at: datetime
    account: str | None


class CallFileError(InputError):
    """Every problem of a calls file, each naming the file, row and column."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the calls file:\n" + "\n".join(problems))
        self.problems = problems


def read_calls(
    text: str,
    *,
    source: str,
    network: Network,
    timezone: str,
    customers: dict[str, tuple[str, str]] | None = None,
) -> list[CallRow]:
    """The calls of a CSV text; ``customers`` maps accounts and meter ids to (account,
    element id). Raises :class:`CallFileError` with every problem."""
    from openoms.grid.model import ElementKind  # noqa: PLC0415

    zone = ZoneInfo(timezone)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    if "time" not in header or not set(UNIT_COLUMNS) & set(header):
        raise CallFileError(
            [
                f"{source}, row 1: the header needs a time column and one of "
                f"{', '.join(UNIT_COLUMNS)}; it has {', '.join(header) or 'nothing'}"
            ]
        )
    problems: list[str] = []
    rows: list[CallRow] = []
    for n, raw in enumerate(reader, start=2):
        record = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        where = f"{source}, row {n}"
        try:
            at = datetime.fromisoformat(record["time"])
        except ValueError:
            problems.append(f"{where}, column time: {record['time']!r} is not an ISO 8601 time")
            continue
        at = at.replace(tzinfo=zone) if at.tzinfo is None else at
        account = record.get("account") or None
        element = record.get("transformer_area") or record.get("element_id") or ""
        column = "transformer_area" if record.get("transformer_area") else "element_id"
        if not element:
            for column in ("account", "meter_id"):
                key = record.get(column)
                if not key:
                    continue
                if customers is None:
                    problems.append(
                        f"{where}, column {column}: {key!r} needs the customer file (--customers)"
                    )
                elif key not in customers:
                    problems.append(f"{where}, column {column}: no customer has {key!r}")
                else:
                    account, element = customers[key]
                break
            else:
                problems.append(f"{where}: no {', '.join(UNIT_COLUMNS)} given")
            if not element:
                continue
        found = network.locate(element) if element in network else None
        if found is None or found[0] not in {
            ElementKind.TRANSFORMER_AREA,
            ElementKind.HV_CUSTOMER,
        }:
            problems.append(
                f"{where}, column {column}: {element!r} is not a transformer area or HV "
                f"customer of network {network.name!r}"
            )
            continue
        rows.append(CallRow(n, element, at.astimezone(ZoneInfo("UTC")), account))
    if problems:
        raise CallFileError(problems)
    return rows


def _customers(path: Path) -> dict[str, tuple[str, str]]:
    from openoms.contacts.customers import parse_customers  # noqa: PLC0415

    out: dict[str, tuple[str, str]] = {}
    for customer in parse_customers(path.read_text(encoding="utf-8"), source=str(path)):
        out[customer.account] = (customer.account, customer.element_id)
        if customer.meter_id:
            out[customer.meter_id] = (customer.account, customer.element_id)
    return out


def telemetered_closed(network: Network) -> set[str]:
    """Switches with a position point (``switch_closed``) that the network has closed."""
    points = network.telecontrol_points
    switches = network.switches
    return {
        switches.id[int(points.switch[i])]
        for i in range(len(points.point))
        if points.point[i] == "switch_closed"
        and points.switch[i] >= 0
        and bool(switches.present_closed[int(points.switch[i])])
    }


def device_name(network: Network, device: str) -> str:
    """The name the grid model gives a switch, area or HV customer (else its id)."""
    from openoms.grid.model import ElementKind  # noqa: PLC0415

    kind, index = network.locate(device)
    table = {
        ElementKind.SWITCH: network.switches.name,
        ElementKind.TRANSFORMER_AREA: network.transformer_areas.name,
        ElementKind.HV_CUSTOMER: network.hv_customers.name,
        ElementKind.FEEDER: network.feeders.name,
    }.get(kind)
    return (table[index] if table is not None else None) or device


_STATUS = {"predicted": "预测", "probable": "很可能", "confirmed": "已确认"}
_KIND_ZH = {
    "breaker": "断路器",
    "recloser": "重合器",
    "sectionaliser": "分段器",
    "fuse": "熔断器",
    "load_break_switch": "负荷开关",
    "transformer_area": "台区配变",
    "hv_customer": "高压用户进线",
}


def _document(
    network: Network,
    rows: list[CallRow],
    results: list[tuple[Any, Prediction]],
    zone: ZoneInfo,
) -> dict[str, Any]:
    def local(at: datetime) -> str:
        return at.astimezone(zone).isoformat(timespec="seconds")

    groups = []
    for group, prediction in results:
        member = list(group.calls)
        groups.append(
            {
                "feeder": network.feeders.id[group.feeder] if group.feeder >= 0 else None,
                "first_call_at": local(group.first_at),
                "last_call_at": local(group.last_at),
                "rows": [rows[i].row for i in member],
                "predicted": [
                    {
                        "device": o.device,
                        "device_name": device_name(network, o.device),
                        "device_kind": o.device_kind,
                        "feeder": o.feeder,
                        "customers_off": o.customers_off,
                        "callers": o.callers,
                        "calls": len(o.calls),
                        "rows": [rows[member[c]].row for c in o.calls],
                        "score": round(o.score, 3),
                        "status": o.status.value,
                        "first_call_at": local(o.first_call_at),
                        "transformer_areas": list(o.transformer_areas),
                        "hv_customers": list(o.hv_customers),
                    }
                    for o in prediction.outages
                ],
                "screened": [
                    {
                        "row": rows[member[s.call]].row,
                        "element_id": s.unit_id,
                        "name": device_name(network, s.unit_id),
                        "customers_off": 1,
                        "area_score": round(s.area_score, 3),
                    }
                    for s in prediction.screened
                ],
                "unexplained": [rows[member[c]].row for c in prediction.unexplained],
                "not_energised": [rows[member[c]].row for c in prediction.not_energised],
            }
        )
    return {"calls": len(rows), "groups": groups}


def _text(document: dict[str, Any], network: Network, lang: Lang, timezone: str) -> str:
    zh = lang is Lang.ZH
    lines = [
        say(
            lang,
            f"来电 {document['calls']} 个，分为 {len(document['groups'])} 组（时间为 {timezone}）",
            f"{document['calls']} calls in {len(document['groups'])} groups (times in {timezone})",
        )
    ]
    for number, group in enumerate(document["groups"], start=1):
        feeder = group["feeder"]
        name = (
            device_name(network, feeder) if feeder else say(lang, "（不在馈线上）", "(no feeder)")
        )
        first = group["first_call_at"][:16].replace("T", " ")
        lines.append("")
        lines.append(
            f"第 {number} 组 · {name} · 首次来电 {first} · 来电 {len(group['rows'])} 个"
            if zh
            else f"Group {number} · {name} · first call {first} · {len(group['rows'])} call(s)"
        )
        for o in group["predicted"]:
            kind = _KIND_ZH.get(o["device_kind"], o["device_kind"]) if zh else o["device_kind"]
            kind = kind.replace("_", " ")
            status = _STATUS[o["status"]] if zh else o["status"]
            lines.append(
                f"  预测动作设备：{o['device_name']}（{o['device']}，{kind}）· 停电用户 "
                f"{o['customers_off']:,} 户 · 来电 {o['calls']} · 状态 {status}"
                if zh
                else f"  predicted: {o['device_name']} ({o['device']}, {kind}) · "
                f"{o['customers_off']:,} customers off · {o['calls']} calls · {status}"
            )
        for s in group["screened"]:
            lines.append(
                f"  用户侧问题（不派线路抢修，计 1 户）：{s['name']}（{s['element_id']}），"
                f"第 {s['row']} 行"
                if zh
                else f"  customer-side (no line crew, 1 customer): {s['name']} "
                f"({s['element_id']}), row {s['row']}"
            )
        if group["unexplained"]:
            shown = ", ".join(str(r) for r in group["unexplained"])
            lines.append(
                f"  待更多来电（该台区来电尚少）：第 {shown} 行"
                if zh
                else f"  waiting for more calls (too few for their area yet): rows {shown}"
            )
        if group["not_energised"]:
            shown = ", ".join(str(r) for r in group["not_energised"])
            lines.append(
                f"  所在台区已停电：第 {shown} 行"
                if zh
                else f"  area already off supply: rows {shown}"
            )
    return "\n".join(lines)


def predict_calls(
    network: Network,
    tree: CallTree,
    rows: list[CallRow],
    *,
    method: str,
    telemetered: set[str],
    settings_timezone: str,
) -> dict[str, Any]:
    from openoms.cli._common import settings_of  # noqa: PLC0415
    from openoms.outages.calls import Call, CallMethod, CallOptions  # noqa: PLC0415

    options = CallOptions.from_settings(settings_of(None))
    calls: list[Call] = [Call(tree.unit(r.element_id), r.at, r.account) for r in rows]
    now = max((c.at for c in calls), default=None)
    results = []
    for group in tree.group_calls(calls, window=options.window):
        members = [calls[i] for i in group.calls]
        prediction = tree.predict(
            members,
            telemetered_closed=telemetered,
            method=CallMethod(method),
            options=options,
            now=now,
        )
        results.append((group, prediction))
    return _document(network, rows, results, ZoneInfo(settings_timezone))


@click.group("calls")
def calls_group() -> None:
    """Trouble calls: predict the operated devices (故障报修研判)."""


@calls_group.command("predict")
@click.argument("path")
@click.option(
    "--calls",
    "calls_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV: time and one of transformer_area, element_id, account, meter_id.",
)
@click.option(
    "--customers",
    "customers_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Customer CSV (accounts, meter ids → transformer areas), for account / meter_id rows.",
)
@click.option(
    "--method",
    type=click.Choice(["bayes", "rules"]),
    default="bayes",
    show_default=True,
    help="bayes: the exact roll-up and tree DP; rules: the classic roll-up rules.",
)
@click.option(
    "--no-telemetry",
    is_flag=True,
    help="Ignore the switches telemetered closed (by default never predicted, nor above).",
)
@click.option("--timezone", default=None, help="The utility's zone (default: settings).")
@network_options
def predict_command(  # click passes options by name
    path: str,
    *,
    calls_path: Path,
    customers_path: Path | None,
    method: str,
    no_telemetry: bool,
    timezone: str | None,
    options: NetworkOptions,
) -> None:
    """Group the calls by feeder and time, and predict the operated device of each group:
    its name, customers off, calls, status; lone calls screened as customer-side.

    Example: openoms calls predict sample:county --calls calls.csv
    """
    zone = _checked_timezone(timezone, options.lang)
    network, topology = options.indexed(path)
    from openoms.outages.calls import CallTree  # noqa: PLC0415

    customers = _customers(customers_path) if customers_path is not None else None
    rows = read_calls(
        calls_path.read_text(encoding="utf-8"),
        source=str(calls_path),
        network=network,
        timezone=zone,
        customers=customers,
    )
    tree = CallTree(network, topology)
    document = predict_calls(
        network,
        tree,
        rows,
        method=method,
        telemetered=set() if no_telemetry else telemetered_closed(network),
        settings_timezone=zone,
    )
    if options.as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=1))
    else:
        click.echo(_text(document, network, options.lang, zone))
