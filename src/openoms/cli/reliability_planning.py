"""``openoms reliability predict`` and ``openoms reliability place``: reliability planning on a
network — the predicted indices (RELRAD) and where the next automation pays off.

```
openoms reliability predict NETWORK [--json] [--report DIR] [--tie-capacity]
openoms reliability place NETWORK [--budget N | --cost-limit X] [--kinds ...] [--top 20] [--json]
```
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from openoms.cli._common import (
    BadValue,
    NetworkOptions,
    config_option,
    network_options,
    say,
    settings_of,
    writing,
)
from openoms.i18n import Lang

__all__ = ["place_command", "predict_command"]


@click.command("predict")
@click.argument("path")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write a PNG chart (SAIDI per feeder, largest contributors) into this folder.",
)
@click.option(
    "--top",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="How many of the largest contributors to list.",
)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="NAME=VALUE",
    help="A class default, e.g. --set overhead_per_km=0.08 --set manual_switching_h=1.5 "
    "(the names of docs/reliability.md, 'Inputs and defaults').",
)
@click.option(
    "--base",
    type=click.Choice(["customers", "units"]),
    default="customers",
    show_default=True,
    help="Weigh by LV customers (IEEE 1366) or count users (transformer areas, HV customers).",
)
@click.option(
    "--overrides",
    "overrides_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV id,failure_rate,repair_h,switching_h[,transfer_kw]: one element's own figures "
    "(empty: default; transfer_kw: a tie's transfer capacity).",
)
@click.option(
    "--tie-capacity",
    is_flag=True,
    default=False,
    help="Check that a tie can carry the part it takes over (its transfer_kw, else the spare "
    "rating of the receiving feeder's path).",
)
@network_options
def predict_command(
    path: str,
    *,
    report_dir: Path | None,
    top: int,
    assignments: tuple[str, ...],
    base: str,
    overrides_path: Path | None,
    tie_capacity: bool,
    options: NetworkOptions,
) -> None:
    """Predicted reliability of a network from its structure (RELRAD): λ, r, U per load
    point; SAIFI, SAIDI, CAIDI, ASAI, EENS per feeder; the components that matter most
    (预测供电可靠性).

    Failure rates, repair and switching times are the defaults of docs/reliability.md
    ("Predictive reliability") unless --overrides gives an element's own."""
    from openoms.reliability.predict import predict  # noqa: PLC0415

    lang = options.lang
    overrides = _read_overrides(overrides_path, lang) if overrides_path is not None else {}
    network = options.checked(path)
    settings = _predict_settings(assignments, base, lang, tie_capacity=tie_capacity)
    prediction = predict(network, settings, overrides, top=top)
    names = {fid: network.feeders.name[i] or fid for i, fid in enumerate(network.feeders.id)}
    out = prediction.as_dict(top=top)
    if report_dir is not None:
        from openoms.viz.predict_chart import write_predict_chart  # noqa: PLC0415

        with writing(report_dir, "the chart"):
            out["report"] = str(
                write_predict_chart(prediction, report_dir, lang=lang, feeder_names=names)
            )
    if options.as_json:
        out["load_points"] = list(prediction.load_point_rows())
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    click.echo(_predict_text(out, names, lang))


def _predict_settings(
    assignments: tuple[str, ...], base: str, lang: Lang, *, tie_capacity: bool = False
) -> Any:
    """``PredictSettings`` with the ``--set NAME=VALUE`` class defaults, ``--base`` and
    ``--tie-capacity``."""
    from dataclasses import fields  # noqa: PLC0415

    from openoms.reliability.predict import PredictSettings  # noqa: PLC0415

    names = {f.name for f in fields(PredictSettings)} - {"base", "tie_capacity"}
    values: dict[str, Any] = {"base": base, "tie_capacity": tie_capacity}
    for item in assignments:
        name, _, text = item.partition("=")
        name = name.strip()
        if name not in names:
            known = ", ".join(sorted(names))
            raise BadValue(
                lang,
                "--set",
                f"未知名称 {name!r}（可用：{known}）",
                f"unknown name {name!r} (known: {known})",
            )
        try:
            values[name] = float(text)
        except ValueError:
            raise BadValue(
                lang, "--set", f"{name} 的值不是数：{text!r}", f"{name}: not a number: {text!r}"
            ) from None
    try:
        return PredictSettings(**values)
    except ValueError as exc:
        raise BadValue(lang, "--set", f"取值无效：{exc}", str(exc)) from None


def _read_overrides(path: Path, lang: Lang) -> dict[str, Any]:
    """The ``--overrides`` CSV as ``{id: Override}``; a bad row stops with its number."""
    import csv  # noqa: PLC0415

    from openoms.reliability.predict import Override  # noqa: PLC0415

    def number(row: dict[str, str | None], key: str, line: int) -> float | None:
        text = (row.get(key) or "").strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not (value >= 0 and value != float("inf")):
            raise BadValue(
                lang,
                "--overrides",
                f"第 {line} 行 {key} 不是非负数：{text!r}",
                f"row {line}: {key} is not a number ≥ 0: {text!r}",
            )
        return value

    out: dict[str, Any] = {}
    with path.open(encoding="utf-8-sig", newline="") as file:
        for line, row in enumerate(csv.DictReader(file), start=2):
            element = (row.get("id") or "").strip()
            if not element:
                raise BadValue(lang, "--overrides", f"第 {line} 行缺少 id", f"row {line}: no id")
            out[element] = Override(
                number(row, "failure_rate", line),
                number(row, "repair_h", line),
                number(row, "switching_h", line),
                number(row, "transfer_kw", line),
            )
    return out


def _predict_text(out: dict[str, Any], names: dict[str, str], lang: Lang) -> str:
    def num(value: Any, digits: int) -> str:
        return "—" if value is None else f"{value:,.{digits}f}"

    base = out["settings"]["base"]
    lines = [
        say(
            lang,
            "预测供电可靠性（RELRAD 解析法，正常运行方式；"
            + ("按低压用户计）" if base == "customers" else "按用户计）"),
            "Predicted reliability (RELRAD, normal switch state; "
            + ("per LV customer)" if base == "customers" else "per user)"),
        ),
        say(
            lang,
            "线路 | 负荷点 | 用户 | SAIFI 次/年 | SAIDI 小时/年 | CAIDI 小时 | ASAI | "
            "缺供电量 kWh/年",
            "feeder | load points | customers | SAIFI /yr | SAIDI h/yr | CAIDI h | ASAI | "
            "EENS kWh/yr",
        ),
    ]
    system = dict(out["system"], name=say(lang, "全系统", "system"))
    for row in [*out["feeders"], system]:
        lines.append(
            f"  {row['name']} | {row['load_points']} | {row['customers']:,.0f} | "
            f"{num(row['saifi'], 4)} | {num(row['saidi_h'], 4)} | {num(row['caidi_h'], 3)} | "
            f"{num(row['asai'], 6)} | {num(row['eens_kwh'], 1)}"
        )
    lines.append(
        say(
            lang,
            "贡献最大的元件 | 线路 | 故障率 次/年 | 停电时户数/年 | 占比",
            "largest contributors | feeder | λ /yr | customer-hours/yr | share",
        )
    )
    for c in out["top_contributors"]:
        lines.append(
            f"  {c['name']} ({c['id']}) | {names.get(c['feeder'], c['feeder'])} | "
            f"{c['failure_rate']:.4f} | {c['customer_hours']:,.1f} | {100 * c['share']:.1f} %"
        )
    if out["unsupplied_load_points"]:
        n = len(out["unsupplied_load_points"])
        lines.append(
            say(
                lang,
                f"! {n} 个负荷点正常方式下无线路供电，未计入",
                f"! {n} load points on no feeder",
            )
        )
    from openoms.reliability.predict import PredictSettings  # noqa: PLC0415

    default = asdict(PredictSettings())
    changed = [
        f"{k}={v:g}"
        for k, v in out["settings"].items()
        if k not in ("base", "tie_capacity") and v != default[k]
    ]
    if changed:
        lines.append(say(lang, "本次设定：", "settings of this run: ") + ", ".join(changed))
    checked = bool(out["settings"].get("tie_capacity"))
    lines.append(
        say(
            lang,
            "其余故障率、修复与操作时间为默认假设值（见 docs/reliability.md），"
            + ("联络线转供容量已校核。" if checked else "联络线转供容量未校核。"),
            "Other rates and times are assumed defaults (docs/reliability.md); tie transfer "
            + ("capacity is checked." if checked else "capacity is not checked."),
        )
    )
    if "report" in out:
        lines.append(say(lang, f"图表：{out['report']}", f"chart: {out['report']}"))
    return "\n".join(lines)


@click.command("place")
@click.argument("path")
@click.option("--budget", "count", type=click.IntRange(1), default=None, help="Devices to place.")
@click.option(
    "--cost-limit",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Money to spend, in the unit of the cost table (10k CNY, 万元).",
)
@click.option(
    "--kinds",
    default="remote_switch,new_ftu_switch,recloser",
    show_default=True,
    help="Candidate kinds: remote_switch, new_ftu_switch, recloser (tie: with --tie).",
)
@click.option(
    "--tie",
    "ties",
    multiple=True,
    metavar="NODE:NODE",
    help="A new normally-open remote tie between two nodes on different feeders (repeatable).",
)
@click.option(
    "--objective",
    type=click.Choice(["saidi", "saifi", "eens"]),
    default="saidi",
    show_default=True,
    help="The benefit ranked per cost: SAIDI minutes, SAIFI, or EENS kWh saved per year.",
)
@click.option(
    "--top", type=click.IntRange(1, 10000), default=20, show_default=True, help="Rows ranked."
)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="NAME=VALUE",
    help="A class default of the prediction, as for 'reliability predict'.",
)
@click.option(
    "--base",
    type=click.Choice(["customers", "units"]),
    default="customers",
    show_default=True,
    help="Weigh by LV customers (IEEE 1366) or count users.",
)
@click.option(
    "--overrides",
    "overrides_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV id,failure_rate,repair_h,switching_h, as for 'reliability predict'.",
)
@config_option
@network_options
def place_command(
    path: str,
    *,
    count: int | None,
    cost_limit: float | None,
    kinds: str,
    ties: tuple[str, ...],
    objective: str,
    top: int,
    assignments: tuple[str, ...],
    base: str,
    overrides_path: Path | None,
    config: Path | None,
    options: NetworkOptions,
) -> None:
    """Where automation pays off: candidate changes (a manual switch made remote, a new FTU
    switch on a section, a recloser for a fuse or sectionaliser, a new tie) ranked by
    predicted benefit per cost, and with --budget / --cost-limit a greedy plan
    (自动化改造选点：按单位投资的可靠性收益排序).

    Costs are the settings' reliability_automation_costs (10k CNY; placeholder defaults)."""
    from openoms.errors import InputError  # noqa: PLC0415
    from openoms.reliability.placement import KINDS, Placement  # noqa: PLC0415

    lang = options.lang
    wanted = tuple(k.strip() for k in kinds.split(",") if k.strip())
    for kind in wanted:
        if kind not in KINDS or kind == "tie":
            known = "remote_switch, new_ftu_switch, recloser"
            raise BadValue(
                lang,
                "--kinds",
                f"未知类型 {kind!r}（可用：{known}）",
                f"unknown kind {kind!r} ({known})",
            )
    pairs = []
    for item in ties:
        a, sep, b = item.partition(":")
        if not sep or not a.strip() or not b.strip():
            raise BadValue(
                lang, "--tie", f"应为 节点:节点，得到 {item!r}", f"not NODE:NODE: {item!r}"
            )
        pairs.append((a.strip(), b.strip()))
    costs = settings_of(config).reliability_automation_costs
    overrides = _read_overrides(overrides_path, lang) if overrides_path is not None else {}
    network = options.checked(path)
    settings = _predict_settings(assignments, base, lang)
    progress = _progress(lang) if not options.as_json and sys.stderr.isatty() else None
    try:
        placement = Placement(network, costs, settings, overrides)
        candidates = placement.candidates(wanted, ties=pairs)
        effects = placement.evaluate(candidates, objective=objective, progress=progress)
        if progress is not None:
            click.echo("", err=True)
        plan = None
        if count is not None or cost_limit is not None:
            plan = placement.plan(
                candidates,
                count=count,
                cost_limit=cost_limit,
                objective=objective,
                effects=effects,
                on_pick=_pick_progress(lang) if progress is not None else None,
            )
            if progress is not None:
                click.echo("", err=True)
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    ranked = placement.rank(effects)
    system = placement.system()
    out: dict[str, Any] = {
        "objective": objective,
        "costs": costs,
        "cost_unit": "10k CNY",
        "settings": asdict(settings),
        "system": {"saifi": system[0], "saidi_min": 60 * system[1], "eens_kwh": system[2]},
        "candidates": len(effects),
        "with_benefit": sum(1 for e in effects if e.benefit > 0),
        "ranking": [e.as_dict() for e in ranked[:top]],
        "plan": plan.as_dict() if plan is not None else None,
    }
    if options.as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    click.echo(_place_text(out, lang))


def _progress(lang: Lang) -> Any:
    step = {"every": 1}

    def show(done: int, total: int) -> None:
        step["every"] = max(1, total // 100)
        if done % step["every"] == 0 or done == total:
            text = say(
                lang, f"评估候选方案 {done}/{total}", f"evaluating candidates {done}/{total}"
            )
            click.echo(f"\r… {text}", err=True, nl=False)

    return show


def _pick_progress(lang: Lang) -> Any:
    def show(n: int) -> None:
        text = say(lang, f"预算方案：已选 {n} 项", f"budget plan: {n} picked")
        click.echo(f"\r… {text}", err=True, nl=False)

    return show


_KIND_TEXT: dict[str, tuple[str, str]] = {
    "remote_switch": ("开关加装FTU（改遥控）", "make remote (FTU retrofit)"),
    "new_ftu_switch": ("新增FTU分段开关", "new FTU switch on section"),
    "recloser": ("更换为重合器", "replace by a recloser"),
    "tie": ("新增联络开关", "new tie"),
}


def _place_text(out: dict[str, Any], lang: Lang) -> str:
    def row(e: dict[str, Any]) -> str:
        e = {k: (0.0 if isinstance(v, float) and abs(v) < 5e-9 else v) for k, v in e.items()}
        kind = say(lang, *_KIND_TEXT[e["kind"]])
        element = e["element"] + (f"—{e['other']}" if e.get("other") else "")
        feeders = "、".join(f["name"] for f in e["feeders"]) or "—"
        return (
            f"  {kind} | {e['name']} ({element}) | {feeders} | {e['d_saidi_min']:+.3f} | "
            f"{e['d_saifi']:+.5f} | {e['d_eens_kwh']:+,.1f} | {e['cost']:g} | "
            f"{e['benefit_per_cost']:.4f}"
        )

    s = out["system"]
    unit = {"saidi": ("分钟/户", "min per customer"), "saifi": ("次/户", "per customer")}.get(
        out["objective"], ("kWh", "kWh")
    )
    lines = [
        say(
            lang,
            f"自动化选点（预测法）：候选 {out['candidates']} 个，有收益 {out['with_benefit']} 个；"
            f"现状 SAIDI {s['saidi_min']:.2f} 分钟/户·年，SAIFI {s['saifi']:.4f} 次/户·年，"
            f"缺供电量 {s['eens_kwh']:,.0f} kWh/年",
            f"Automation placement (predictive): {out['candidates']} candidates, "
            f"{out['with_benefit']} with a benefit; now SAIDI {s['saidi_min']:.2f} min per "
            f"customer-year, SAIFI {s['saifi']:.4f}, EENS {s['eens_kwh']:,.0f} kWh/yr",
        ),
        say(
            lang,
            "措施 | 设备（编号） | 线路 | ΔSAIDI 分钟/户·年 | ΔSAIFI 次/户·年 | ΔEENS kWh/年 | "
            f"投资 万元 | 收益/投资（{unit[0]}/万元）",
            "change | element (id) | feeder | ΔSAIDI min/customer·yr | ΔSAIFI /yr | "
            f"ΔEENS kWh/yr | cost 10k CNY | benefit/cost ({unit[1]} per 10k CNY)",
        ),
    ]
    lines += [row(e) for e in out["ranking"]]
    plan = out["plan"]
    if plan is not None:
        lines.append(
            say(
                lang,
                "预算方案（贪心，每选一项后重新评估）：",
                "Budget plan (greedy, re-evaluated after each pick):",
            )
        )
        for i, step in enumerate(plan["steps"], start=1):
            lines.append(
                f"  {i}. {row(step).strip()} | "
                + say(lang, "累计投资 ", "total ")
                + f"{step['cost_total']:g} | SAIDI → {step['saidi_min_after']:.2f}"
            )
        pct = plan["change_pct"]
        change = "—" if pct["saidi"] is None else f"{pct['saidi']:+.1f} %"
        saifi = "—" if pct["saifi"] is None else f"{pct['saifi']:+.1f} %"
        lines.append(
            say(
                lang,
                f"共 {plan['devices']} 项、投资 {plan['cost']:g} 万元：SAIDI "
                f"{plan['before']['saidi_min']:.2f} → {plan['after']['saidi_min']:.2f} 分钟/户·年"
                f"（{change}），SAIFI {saifi}",
                f"With {plan['devices']} devices for {plan['cost']:g} (10k CNY): SAIDI "
                f"{plan['before']['saidi_min']:.2f} → {plan['after']['saidi_min']:.2f} min per "
                f"customer-year ({change}), SAIFI {saifi}",
            )
        )
    lines.append(
        say(
            lang,
            "收益来自模型的故障率与操作时间（默认假设值），非历史统计；投资单价为占位默认值，"
            "请按本单位造价设置 reliability_automation_costs。",
            "Benefits come from the model's rates and times (assumed defaults), not history; "
            "the costs are placeholders: set reliability_automation_costs to your own.",
        )
    )
    return "\n".join(lines)
