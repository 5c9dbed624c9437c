"""The switching order (操作票): a plan as numbered steps a crew or dispatcher carries out,
with the check after each step and the interlocks, in Chinese or English.

Names come from the network (the switch's name, its id in brackets); the checks after a
restoring step quote the power flow's figures for the receiving feeder.
"""

from __future__ import annotations

from dataclasses import dataclass

from openoms.grid.model import Network
from openoms.i18n import Lang, join_list
from openoms.restoration.planner import RestorationPlan, Step, StepAction

__all__ = ["OrderLine", "render", "step_checks", "switching_order"]


@dataclass(frozen=True, slots=True)
class OrderLine:
    number: int  # 1, 2, … for a step; 0 for a note or check line
    text: str


def _switch(network: Network, edge: int) -> str:
    device = network.edge_id(edge)
    n_sections = len(network.sections.id)
    name = (
        network.switches.name[edge - n_sections]
        if edge >= n_sections
        else network.sections.name[edge]
    )
    return f"{name}（{device}）" if name else device


def _switch_en(network: Network, edge: int) -> str:
    device = network.edge_id(edge)
    n_sections = len(network.sections.id)
    name = (
        network.switches.name[edge - n_sections]
        if edge >= n_sections
        else network.sections.name[edge]
    )
    return f"{device} ({name})" if name else device


def _region(plan: RestorationPlan, lang: Lang) -> str:
    net = plan.network
    named = _switch if lang is Lang.ZH else _switch_en
    return join_list([named(net, e) for e in plan.region], lang)


def _step_text(plan: RestorationPlan, step: Step, lang: Lang) -> str:
    net = plan.network
    kind = (
        net.switches.kind[step.edge - len(net.sections.id)]
        if step.edge >= len(net.sections.id)
        else ""
    )
    fuse = kind == "fuse"
    if lang is Lang.ZH:
        how = "遥控" if step.remote else "现场手动"
        name = _switch(net, step.edge)
        verb = ("更换熔丝后合上" if fuse else "合上") if step.close else "拉开"
        why = {
            StepAction.ISOLATE: "隔离故障区段",
            StepAction.RESTORE_UPSTREAM: "恢复故障点上游供电",
            StepAction.SPLIT: "分割非故障区域",
            StepAction.RESTORE_TIE: "由联络开关恢复非故障区域供电",
            StepAction.RESTORE_SWITCH: "恢复其后非故障区段供电",
        }[step.action]
        return f"{how}{verb} {name}（{why}，约 {step.minutes:.1f} 分钟时完成）"
    how = "by telecontrol" if step.remote else "by hand on site"
    name = _switch_en(net, step.edge)
    verb = ("replace the fuse link and close" if fuse else "close") if step.close else "open"
    why = {
        StepAction.ISOLATE: "isolates the faulted section",
        StepAction.RESTORE_UPSTREAM: "restores supply upstream of the fault",
        StepAction.SPLIT: "splits a healthy area",
        StepAction.RESTORE_TIE: "restores a healthy area through a tie",
        StepAction.RESTORE_SWITCH: "restores the healthy sections behind it",
    }[step.action]
    return f"{verb.capitalize()} {name} {how} ({why}; done at about {step.minutes:.1f} min)"


def _check_text(plan: RestorationPlan, index: int, lang: Lang) -> str:
    step = plan.steps[index]
    if plan.first_stage is not None and plan.stage_of(index) == 1:
        plan = plan.first_stage  # the figures of the remote stage's own candidates
    net = plan.network
    zh = lang is Lang.ZH
    name = _switch(net, step.edge) if zh else net.edge_id(step.edge)
    if not step.close:
        if step.action is StepAction.ISOLATE:
            if zh:
                return f"检查 {name} 确在分闸位置（位置信号与现场指示一致）"
            return f"check {name} is open (position feedback and the indicator on site agree)"
        return f"检查 {name} 确在分闸位置" if zh else f"check {name} is open"
    chosen = next(
        (c for c in plan.chosen if any(e == step.edge and close for e, close in c.ops)), None
    )
    check = chosen.check if chosen is not None else plan.final_check  # the end state's
    if check is None or not check.converged:
        return f"检查 {name} 确在合闸位置" if zh else f"check {name} is closed"
    if zh:
        return (
            f"检查 {name} 确在合闸位置，带电正常；预计最低电压 {check.min_u_pu:.3f} pu，"
            f"所涉线路最大负载率 {check.max_loading:.0%}（{check.max_loading_element}）"
        )
    return (
        f"check {name} is closed and the section is live; expected lowest voltage "
        f"{check.min_u_pu:.3f} pu, highest loading on the feeders involved "
        f"{check.max_loading:.0%} "
        f"({check.max_loading_element})"
    )


def step_checks(plan: RestorationPlan, lang: Lang = Lang.ZH) -> list[str]:
    """The check after each step of the plan (as in the switching order), one per step."""
    return [_check_text(plan, i, lang) for i in range(len(plan.steps))]


def switching_order(plan: RestorationPlan, lang: Lang = Lang.ZH) -> list[OrderLine]:
    """The plan as a switching order: a heading, the interlocks, numbered steps each with its
    check, and what stays dark."""
    net = plan.network
    zh = lang is Lang.ZH
    lines: list[OrderLine] = []
    region = _region(plan, lang)
    if not plan.steps and not plan.customers_out:
        text = (
            f"{region} 无停电（瞬时故障已由重合闸消除），无需倒闸操作"
            if zh
            else f"nobody is off after the fault on {region} (cleared by a reclose): no switching"
        )
        return [OrderLine(0, text)]
    tripped = join_list([_switch(net, e) if zh else net.edge_id(e) for e in plan.tripped], lang)
    if zh:
        lines.append(OrderLine(0, f"操作任务：{region} 故障隔离及非故障区域恢复供电"))
        if plan.tripped:
            lines.append(OrderLine(0, f"前提：{tripped} 已跳闸，故障区段无电压"))
        lines.append(
            OrderLine(
                0,
                "闭锁要求：严禁合闸于故障区段或接地区段；严禁两条线路并列（合环）运行；"
                "每步操作后确认位置信号再进行下一步",
            )
        )
    else:
        lines.append(
            OrderLine(0, f"Task: isolate the fault on {region} and restore the healthy sections")
        )
        if plan.tripped:
            lines.append(
                OrderLine(0, f"Before: {tripped} has tripped; the faulted section is dead")
            )
        lines.append(
            OrderLine(
                0,
                "Interlocks: never close onto the faulted or an earthed section; never parallel "
                "two feeders; confirm each position before the next step",
            )
        )
    two_stages = any(plan.stage_of(i) == 2 for i in range(len(plan.steps)))
    for number, step in enumerate(plan.steps, start=1):
        stage = plan.stage_of(number - 1)
        if two_stages and (number == 1 or stage != plan.stage_of(number - 2)):
            lines.append(OrderLine(0, _stage_heading(plan, stage, lang)))
        lines.append(OrderLine(number, _step_text(plan, step, lang)))
        lines.append(OrderLine(0, _check_text(plan, number - 1, lang)))
        if step.action is StepAction.ISOLATE and step is _last_isolation(plan):
            if zh:
                lines.append(OrderLine(0, "验明故障区段两侧开关均已断开，故障区段已隔离"))
            else:
                lines.append(
                    OrderLine(0, "confirm every switch around the faulted section is open")
                )
    dark = plan.dark_nodes
    customers = int(plan.customers_out - plan.customers_restored)
    zone = len(plan.zone_nodes)
    if zh:
        lines.append(
            OrderLine(
                0,
                f"操作完成后：恢复 {plan.customers_restored} 户（{plan.load_restored_kw:.0f} kW）；"
                f"仍停电 {customers} 户（{len(dark)} 个节点，其中故障区段 {zone} 个）",
            )
        )
        if plan.sensitive_dark:
            lines.append(OrderLine(0, "仍停电的敏感用户：" + _sensitive(net, plan.sensitive_dark)))
    else:
        lines.append(
            OrderLine(
                0,
                f"Afterwards: {plan.customers_restored} customers restored "
                f"({plan.load_restored_kw:.0f} kW); {customers} still off ({len(dark)} nodes, "
                f"{zone} of them in the faulted section)",
            )
        )
        if plan.sensitive_dark:
            lines.append(
                OrderLine(0, "Sensitive customers still off: " + ", ".join(plan.sensitive_dark))
            )
    return lines


def _stage_heading(plan: RestorationPlan, stage: int, lang: Lang) -> str:
    first = plan.first_stage
    if stage == 1:
        if first is None:
            return "第一阶段：遥控操作" if lang is Lang.ZH else "Stage 1: by telecontrol"
        if lang is Lang.ZH:
            return f"第一阶段：遥控操作（恢复 {first.customers_restored} 户）"
        return f"Stage 1: by telecontrol (restores {first.customers_restored} customers)"
    if lang is Lang.ZH:
        return "第二阶段：抢修人员到达现场后"
    return "Stage 2: once the crew is on site"


def _last_isolation(plan: RestorationPlan) -> Step | None:
    isolating = [s for s in plan.steps if s.action is StepAction.ISOLATE]
    return isolating[-1] if isolating else None


def _sensitive(network: Network, ids: tuple[str, ...]) -> str:
    sc = network.sensitive_customers
    index = {i: k for k, i in enumerate(sc.id)}
    names = [sc.name[index[i]] or i for i in ids]
    return "、".join(names)


def render(lines: list[OrderLine]) -> str:
    """One line of text per order line, steps numbered, checks indented."""
    out = []
    for line in lines:
        out.append(f"{line.number}. {line.text}" if line.number else f"   {line.text}")
    return "\n".join(out)
