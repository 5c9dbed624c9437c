"""The words of the public pages, zh-CN first, English second."""

from __future__ import annotations

from typing import Final

from openoms.i18n import Lang
from openoms.outages.planned import PlannedState

__all__ = ["CAUSE_NAMES", "CREW_NAMES", "KIND_NAMES", "PLANNED_STATE_NAMES", "TEXTS"]

TEXTS: Final[dict[str, dict[Lang, str]]] = {
    "title": {Lang.ZH: "停电信息", Lang.EN: "Power outages"},
    "skip": {Lang.ZH: "跳到正文", Lang.EN: "Skip to the content"},
    "other_lang": {Lang.ZH: "English", Lang.EN: "中文"},
    "other_lang_label": {Lang.ZH: "Switch to English", Lang.EN: "切换到中文"},
    "current": {Lang.ZH: "正在停电", Lang.EN: "Outages now"},
    "upcoming": {Lang.ZH: "计划停电", Lang.EN: "Planned outages"},
    "none_current": {Lang.ZH: "目前没有停电。", Lang.EN: "No outage at present."},
    "none_upcoming": {Lang.ZH: "暂无计划停电。", Lang.EN: "No planned outage booked."},
    "total": {
        Lang.ZH: "目前共 {customers} 户停电，{outages} 起停电事件。",
        Lang.EN: "{customers} customers are off supply now, in {outages} outage(s).",
    },
    "refreshed": {Lang.ZH: "更新时间", Lang.EN: "Last refreshed"},
    "auto_refresh": {
        Lang.ZH: "本页每分钟自动刷新。时间均为当地时间（{zone}）。",
        Lang.EN: "This page refreshes every minute. Times are local ({zone}).",
    },
    "map": {Lang.ZH: "停电区域地图", Lang.EN: "Map of the areas off supply"},
    "map_note": {
        Lang.ZH: "地图上的线和圆点是停电的线路和台区（红色为故障停电，蓝色为计划停电）；"
        "下方列表包含全部信息。",
        Lang.EN: "Lines and dots on the map are the lines and transformer areas off (red: "
        "faults, blue: planned work); the list below holds all of it.",
    },
    "township_unknown": {Lang.ZH: "其他地区", Lang.EN: "Other areas"},
    "areas": {Lang.ZH: "停电区域", Lang.EN: "Areas off"},
    "customers": {Lang.ZH: "停电户数", Lang.EN: "Customers off"},
    "restored_customers": {Lang.ZH: "已恢复户数", Lang.EN: "Customers restored"},
    "cause": {Lang.ZH: "停电原因", Lang.EN: "Cause"},
    "crew": {Lang.ZH: "抢修进度", Lang.EN: "Repair crew"},
    "started": {Lang.ZH: "停电时间", Lang.EN: "Off since"},
    "starts": {Lang.ZH: "计划开始", Lang.EN: "Starts"},
    "ends": {Lang.ZH: "计划结束", Lang.EN: "Ends"},
    "line": {Lang.ZH: "线路", Lang.EN: "Line"},
    "work_type": {Lang.ZH: "工作内容", Lang.EN: "Work"},
    "customers_affected": {Lang.ZH: "停电户数", Lang.EN: "Customers affected"},
    "areas_affected": {Lang.ZH: "停电台区数", Lang.EN: "Transformer areas affected"},
    "planned": {Lang.ZH: "计划停电 {id}", Lang.EN: "Planned outage {id}"},
    "booking": {Lang.ZH: "计划停电公告", Lang.EN: "Planned-outage notice"},
    "booking_link": {Lang.ZH: "查看计划停电 {id}", Lang.EN: "See planned outage {id}"},
    "progress": {Lang.ZH: "停电进展", Lang.EN: "Progress"},
    "progress_link": {Lang.ZH: "查看停电事件 {id}", Lang.EN: "See outage {id}"},
    "estimate": {Lang.ZH: "预计恢复", Lang.EN: "Expected back"},
    "restored_at": {Lang.ZH: "恢复时间", Lang.EN: "Restored at"},
    "not_known": {Lang.ZH: "待定", Lang.EN: "not known yet"},
    "cause_unknown": {Lang.ZH: "正在查找", Lang.EN: "being investigated"},
    "no_crew": {Lang.ZH: "正在安排", Lang.EN: "being arranged"},
    "details": {Lang.ZH: "详情", Lang.EN: "Details"},
    "outage": {Lang.ZH: "停电事件 {id}", Lang.EN: "Outage {id}"},
    "back": {Lang.ZH: "返回停电信息", Lang.EN: "Back to all outages"},
    "status": {Lang.ZH: "状态", Lang.EN: "Status"},
    "over": {Lang.ZH: "已恢复供电", Lang.EN: "Supply restored"},
    "ongoing": {Lang.ZH: "停电中", Lang.EN: "Off supply"},
    "not_found_title": {Lang.ZH: "未找到", Lang.EN: "Not found"},
    "not_found": {
        Lang.ZH: "没有找到这条停电信息。它可能编号有误，或不对外公布。",
        Lang.EN: "This outage was not found. The number may be wrong, or it is not public.",
    },
    "feed": {Lang.ZH: "数据接口（GeoJSON）", Lang.EN: "Data feed (GeoJSON)"},
    "search_label": {Lang.ZH: "查询乡镇或村", Lang.EN: "Township or village"},
    "search_button": {Lang.ZH: "查询", Lang.EN: "Search"},
    "filtered": {
        Lang.ZH: "“{area}”：目前 {outages} 起停电，{customers} 户停电；计划停电 {planned} 起。",
        Lang.EN: "“{area}”: {outages} outage(s) now, {customers} customers off; {planned} planned.",
    },
    "show_all": {Lang.ZH: "查看全部停电信息", Lang.EN: "Show all outages"},
    "services": {Lang.ZH: "便民服务", Lang.EN: "Services"},
    "lookup": {Lang.ZH: "查询我家是否停电", Lang.EN: "Is my supply off?"},
    "report": {Lang.ZH: "故障报修", Lang.EN: "Report a fault"},
    "subscribe": {Lang.ZH: "订阅停电通知", Lang.EN: "Outage notices"},
    "privacy": {
        Lang.ZH: "本页只公布地区、户数和时间，不含任何用户的姓名、电话、户号或地址。",
        Lang.EN: "This page shows areas, counts and times only: never a customer's name, "
        "phone number, account or address.",
    },
}

KIND_NAMES: Final[dict[str, dict[Lang, str]]] = {
    "fault": {Lang.ZH: "故障停电", Lang.EN: "Fault"},
    "planned": {Lang.ZH: "计划停电", Lang.EN: "Planned work"},
}

PLANNED_STATE_NAMES: Final[dict[PlannedState, dict[Lang, str]]] = {
    PlannedState.APPROVED: {Lang.ZH: "已安排", Lang.EN: "Scheduled"},
    PlannedState.NOTIFIED: {Lang.ZH: "已公告", Lang.EN: "Announced"},
    PlannedState.POSTPONED: {
        Lang.ZH: "已延期，时间已改为下列新时间",
        Lang.EN: "Postponed: the new times are below",
    },
    PlannedState.IN_PROGRESS: {Lang.ZH: "正在停电施工", Lang.EN: "Under way, off supply"},
    PlannedState.COMPLETED: {Lang.ZH: "已完成，已恢复供电", Lang.EN: "Done, supply restored"},
}
"""The states of a booking the public sees (a draft or a cancelled one is never shown)."""

CREW_NAMES: Final[dict[str, dict[Lang, str]]] = {
    "assigned": {Lang.ZH: "已安排抢修队", Lang.EN: "crew assigned"},
    "en_route": {Lang.ZH: "抢修队正在赶往现场", Lang.EN: "crew on the way"},
    "on_site": {Lang.ZH: "抢修队已到达现场", Lang.EN: "crew on site"},
    "repairing": {Lang.ZH: "正在抢修", Lang.EN: "repairing"},
}

CAUSE_NAMES: Final[dict[str, dict[Lang, str]]] = {
    "lightning": {Lang.ZH: "雷击", Lang.EN: "lightning"},
    "wind": {Lang.ZH: "大风", Lang.EN: "wind"},
    "ice": {Lang.ZH: "覆冰或积雪", Lang.EN: "ice or snow"},
    "tree": {Lang.ZH: "树木碰线", Lang.EN: "trees on the line"},
    "bird": {Lang.ZH: "鸟害", Lang.EN: "birds"},
    "animal": {Lang.ZH: "小动物", Lang.EN: "animals"},
    "external": {Lang.ZH: "外力破坏", Lang.EN: "third-party damage"},
    "maintenance": {Lang.ZH: "计划检修", Lang.EN: "planned maintenance"},
    "overload": {Lang.ZH: "过负荷", Lang.EN: "overload"},
    "equipment": {Lang.ZH: "设备故障", Lang.EN: "equipment failure"},
    "other": {Lang.ZH: "其他原因", Lang.EN: "other causes"},
}
