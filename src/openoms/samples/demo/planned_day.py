"""The planned-outage part of the scripted day: a planner books work on the feeder of the
nursing home ten days ahead, over HTTP, sees what live-line work would keep on, approves it
(the notice goes to the customers with contact data) and reads the notice.

The work is the section just above the nursing home's transformer area: an outage would
cut the home off; the comparison shows what live-line work saves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from openoms.grid.model import Network
from openoms.grid.topology import Topology
from openoms.samples.demo.day import LOCAL, DemoClient

__all__ = ["nursing_home_work", "run_planned"]


def nursing_home_work(network: Network, topology: Topology) -> str:
    """The section above the transformer area of the largest nursing home (deterministic)."""
    sc, ta = network.sensitive_customers, network.transformer_areas
    homes = [
        i for i, c in enumerate(sc.category) if c == "nursing_home" and sc.transformer_area[i] >= 0
    ]
    home = max(homes, key=lambda i: int(sc.people[i]))
    _, path = topology.path_to_source(int(ta.node[sc.transformer_area[home]]))
    n_sections = len(network.sections.id)
    section = next(int(e) for e in path.tolist() if e < n_sections)
    return network.edge_id(section)


def run_planned(
    client: DemoClient, network: Network, topology: Topology, *, say: Callable[[str], None]
) -> dict[str, Any]:
    """Book, compare, approve; returns the booking as the API shows it, with the notice."""
    section = nursing_home_work(network, topology)
    day = datetime.now(LOCAL).replace(hour=8, minute=0, second=0, microsecond=0)
    day += timedelta(days=10)
    body = {
        "work_on": [section],
        "work_type": "maintenance",
        "reason": "更换绝缘子及横担",
        "crews": ["柏山供电所检修班"],
        "starts_at": day.isoformat(),
        "ends_at": (day + timedelta(hours=6)).isoformat(),
    }
    work = client.call("POST", "/api/v1/planned-outages", body)
    comparison = work["summary"]["comparison"]
    live = comparison["live_line"]
    say(
        f"planned work {work['id']} on {section} ({work['summary'].get('line')}), "
        f"{day:%Y-%m-%d %H:%M}, 6 h: {work['customers']} customers off, "
        f"{comparison['outage']['customer_hours']:g} customer-hours, "
        f"{comparison['outage']['sensitive_off']} sensitive; live-line work keeps "
        f"{live['saves_customers']} customers ({live['saves_hours']:g} customer-hours) on"
    )
    for op in work["switching"]:
        verb = "close" if op["close"] else "open"
        say(f"  switching {op['number']}: {verb} {op['name']} ({op['device']})")
    approved: dict[str, Any] = client.call(
        "POST", f"/api/v1/planned-outages/{work['id']}/approve", {}
    )
    notice = client.call("GET", f"/api/v1/planned-outages/{work['id']}/notice?channel=sms")
    say(f"approved and notified ({approved['state']}); the SMS: {notice['body']}")
    return approved | {"notice_sms_zh": notice["body"]}
