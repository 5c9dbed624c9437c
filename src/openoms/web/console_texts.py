"""The words of the operator console, zh-CN first, English second."""

from __future__ import annotations

from typing import Final

from openoms.i18n import Lang
from openoms.outages.lifecycle import OutageState

__all__ = ["CONSOLE_TEXTS", "HOW_NAMES", "STATE_NAMES"]

CONSOLE_TEXTS: Final[dict[str, dict[Lang, str]]] = {
    "title": {Lang.ZH: "配网抢修指挥", Lang.EN: "Dispatch console"},
    "sld_title": {Lang.ZH: "单线图", Lang.EN: "Single-line diagram"},
    "reliability": {Lang.ZH: "供电可靠性", Lang.EN: "Reliability"},
    "login": {Lang.ZH: "登录", Lang.EN: "Log in"},
    "logout": {Lang.ZH: "退出", Lang.EN: "Log out"},
    "token": {Lang.ZH: "API 令牌（由管理员发放）", Lang.EN: "API token (issued by the admin)"},
    "login_help": {
        Lang.ZH: "令牌只保存在本浏览器标签页中，关闭标签页即失效。",
        Lang.EN: "The token is kept in this browser tab only, and forgotten when it closes.",
    },
    "login_failed": {
        Lang.ZH: "令牌无效（未知、已吊销或输入有误）。",
        Lang.EN: "The token is not valid (unknown, revoked or mistyped).",
    },
    "map": {Lang.ZH: "配网地图", Lang.EN: "Network map"},
    "search": {Lang.ZH: "查找设备、线路、村或台区", Lang.EN: "Find a device, line, village or TA"},
    "outages": {Lang.ZH: "停电事件", Lang.EN: "Outages"},
    "no_outages": {Lang.ZH: "目前没有停电事件。", Lang.EN: "No open outage."},
    "live": {Lang.ZH: "实时", Lang.EN: "Live"},
    "offline": {Lang.ZH: "连接中断，正在重连", Lang.EN: "Disconnected, reconnecting"},
    "new_outage": {Lang.ZH: "新停电事件", Lang.EN: "New outage"},
    "outage": {Lang.ZH: "停电事件 {id}", Lang.EN: "Outage {id}"},
    "back": {Lang.ZH: "返回地图", Lang.EN: "Back to the map"},
    "kind": {Lang.ZH: "类型", Lang.EN: "Kind"},
    "state": {Lang.ZH: "状态", Lang.EN: "State"},
    "feeder": {Lang.ZH: "线路", Lang.EN: "Line"},
    "operated": {Lang.ZH: "动作设备", Lang.EN: "Device that opened"},
    "located": {Lang.ZH: "故障区段", Lang.EN: "Faulted section"},
    "cause": {Lang.ZH: "原因", Lang.EN: "Cause"},
    "crew": {Lang.ZH: "抢修队", Lang.EN: "Crew"},
    "started": {Lang.ZH: "停电时间", Lang.EN: "Off since"},
    "estimate": {Lang.ZH: "预计恢复", Lang.EN: "Expected back"},
    "restored_at": {Lang.ZH: "恢复时间", Lang.EN: "Restored at"},
    "not_known": {Lang.ZH: "未知", Lang.EN: "not known"},
    "impact": {Lang.ZH: "停电范围", Lang.EN: "Who is off"},
    "villages": {Lang.ZH: "村", Lang.EN: "Villages"},
    "areas_off": {Lang.ZH: "停电台区", Lang.EN: "Transformer areas off"},
    "customers_off": {Lang.ZH: "停电户数", Lang.EN: "Customers off"},
    "hv_customers": {Lang.ZH: "高压用户", Lang.EN: "HV customers"},
    "sensitive": {Lang.ZH: "敏感用户", Lang.EN: "Sensitive customers"},
    "customer_minutes": {Lang.ZH: "累计停电时户数（户·分钟）", Lang.EN: "Customer-minutes so far"},
    "none": {Lang.ZH: "无", Lang.EN: "none"},
    "location": {Lang.ZH: "故障定位", Lang.EN: "Fault location"},
    "no_location": {Lang.ZH: "尚未定位。", Lang.EN: "Not located yet."},
    "probability": {Lang.ZH: "概率", Lang.EN: "Probability"},
    "candidates": {Lang.ZH: "候选区段", Lang.EN: "Candidate zones"},
    "zone": {Lang.ZH: "区段（起点）", Lang.EN: "Zone (starts at)"},
    "contradicting": {Lang.ZH: "与定位矛盾的指示器", Lang.EN: "Indicators contradicting it"},
    "expected": {Lang.ZH: "应为", Lang.EN: "expected"},
    "observed": {Lang.ZH: "实报", Lang.EN: "reported"},
    "sms": {Lang.ZH: "短信通知", Lang.EN: "Crew SMS"},
    "no_sms": {Lang.ZH: "未发短信。", Lang.EN: "No SMS sent."},
    "notices": {Lang.ZH: "停电公告", Lang.EN: "Notices"},
    "no_notices": {Lang.ZH: "未发公告。", Lang.EN: "No notice sent."},
    "timeline": {Lang.ZH: "时间线", Lang.EN: "Timeline"},
    "actions": {Lang.ZH: "操作", Lang.EN: "Actions"},
    "no_actions": {
        Lang.ZH: "您的角色在此事件上没有可用操作。",
        Lang.EN: "Your role has no action on this outage.",
    },
    "dispatch": {Lang.ZH: "派发抢修队", Lang.EN: "Dispatch a crew"},
    "crew_name": {Lang.ZH: "抢修队名称", Lang.EN: "Crew name"},
    "move_to": {Lang.ZH: "改为：{state}", Lang.EN: "Move to: {state}"},
    "restore": {Lang.ZH: "记录恢复送电", Lang.EN: "Record restoration"},
    "how": {Lang.ZH: "方式", Lang.EN: "How"},
    "correct": {Lang.ZH: "更正原因、抢修队、预计恢复时间", Lang.EN: "Correct cause, crew, ETR"},
    "save": {Lang.ZH: "保存", Lang.EN: "Save"},
    "done": {Lang.ZH: "已完成", Lang.EN: "Done"},
    "sld_link": {Lang.ZH: "单线图", Lang.EN: "Single-line diagram"},
    "legend_dead": {Lang.ZH: "灰色虚线：停电", Lang.EN: "Grey dashed: de-energised"},
    "legend_open": {
        Lang.ZH: "黑点：合上的开关；白点：断开的开关；红线：故障区域（橙色：其他候选区段）；"
        "红点：停电台区；橙圈：报警的指示器；紫圈：与定位矛盾的指示器",
        Lang.EN: "Black dot: closed switch; white dot: open switch; red line: fault region "
        "(orange: other candidates); red dot: area off; amber ring: indicator that reported; "
        "purple ring: indicator contradicting the location",
    },
    "step": {
        Lang.ZH: "第 {n} 步恢复 {areas} 个台区、{customers} 户",
        Lang.EN: "Step {n}: {areas} areas, {customers} customers back",
    },
    "changed_other": {Lang.ZH: "其他", Lang.EN: "other"},
    "changed": {Lang.ZH: "更正 {fields}", Lang.EN: "Corrected {fields}"},
    "times_local": {Lang.ZH: "时间为当地时间（{zone}）", Lang.EN: "Times are local ({zone})"},
}

STATE_NAMES: Final[dict[OutageState, dict[Lang, str]]] = {
    OutageState.DETECTED: {Lang.ZH: "已发现", Lang.EN: "detected"},
    OutageState.LOCATED: {Lang.ZH: "已定位", Lang.EN: "located"},
    OutageState.CREW_DISPATCHED: {Lang.ZH: "已派抢修队", Lang.EN: "crew dispatched"},
    OutageState.CREW_ON_SITE: {Lang.ZH: "抢修队到达现场", Lang.EN: "crew on site"},
    OutageState.ISOLATED: {Lang.ZH: "已隔离", Lang.EN: "isolated"},
    OutageState.PARTLY_RESTORED: {Lang.ZH: "部分恢复", Lang.EN: "partly restored"},
    OutageState.RESTORED: {Lang.ZH: "已恢复", Lang.EN: "restored"},
    OutageState.CLOSED: {Lang.ZH: "已关闭", Lang.EN: "closed"},
    OutageState.CANCELLED: {Lang.ZH: "已取消", Lang.EN: "cancelled"},
    OutageState.MERGED: {Lang.ZH: "已合并", Lang.EN: "merged"},
}

HOW_NAMES: Final[dict[str, dict[Lang, str]]] = {
    "repair": {Lang.ZH: "修复", Lang.EN: "repair"},
    "switching": {Lang.ZH: "倒闸操作", Lang.EN: "switching"},
    "flisr": {Lang.ZH: "自动转供", Lang.EN: "FLISR"},
    "live_line": {Lang.ZH: "带电作业", Lang.EN: "live-line work"},
}
