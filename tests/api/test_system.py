"""Health and Prometheus metrics (a registry per app)."""

from __future__ import annotations

from dataclasses import replace

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from openoms.api import create_app
from openoms.store.tokens import Role
from tests.api.conftest import Api


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_health_reports_database_network_and_mqtt(api: Api) -> None:
    body = api.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["database"]["reachable"] is True
    assert body["network"] == {
        "name": "small",
        "version_id": api.context.network_version_id,
        "feeders": 3,
        "nodes": 14,
    }
    assert body["mqtt"] == {"configured": False, "connected": None}


def test_health_says_when_the_database_is_gone(api: Api) -> None:
    broken = replace(api.context, engine=create_engine("sqlite:////nonexistent/folder/x.db"))
    app = create_app(broken, mqtt_status=lambda: True)
    api.app = app
    response = api.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["database"]["reachable"] is False
    assert response.json()["mqtt"]["connected"] is True
    broken.engine.dispose()


def test_metrics_count_requests_events_dead_letters_and_outages(api: Api) -> None:
    outage = api.fault_outage("K1")
    api.post(f"/api/v1/outages/{outage}/transitions", role=Role.DISPATCHER, json={"to": "located"})
    api.fault_outage("CB3")
    events = [
        {"kind": "trouble_call", "device_time": "2024-06-01T07:59:00Z"},
        {"kind": "switch_position", "device_id": "NOPE", "device_time": "2024-06-01T07:59:00Z",
         "payload": {"closed": True}},
        {"kind": "bogus"},
    ]  # fmt: skip
    api.post("/api/v1/events/batch", role=Role.DISPATCHER, json={"events": events})
    api.post("/api/v1/events/batch", role=Role.DISPATCHER, json={"events": events[:1]})
    api.get("/api/v1/no/such/path/123")
    api.get("/api/v1/outages/12345", role=Role.VIEWER)

    response = api.get("/api/v1/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)

    def value(name: str, **labels: str) -> float:
        return found[(name, tuple(sorted(labels.items())))]

    assert value("openoms_database_up") == 1
    assert value("openoms_event_log_events", kind="trouble_call") == 1
    assert value("openoms_dead_letters", reason="malformed") == 1
    assert value("openoms_dead_letters", reason="unknown_device") == 1
    assert value("openoms_intake_events_total", outcome="accepted") == 1
    assert value("openoms_intake_events_total", outcome="duplicate") == 1
    assert value("openoms_intake_rejected_total", reason="unknown_device") == 1
    assert value("openoms_open_outages", state="detected") == 1
    assert value("openoms_open_outages", state="located") == 1
    assert value("openoms_open_outages", state="isolated") == 0
    requests = "openoms_http_requests_total"
    assert value(requests, method="POST", route="/api/v1/events/batch", status="202") == 2
    assert value(requests, method="GET", route="/api/v1/outages/{outage_id}", status="404") == 1
    assert value(requests, method="GET", route="unmatched", status="404") == 1
    assert (
        value(
            "openoms_http_request_duration_seconds_count",
            method="POST",
            route="/api/v1/events/batch",
        )
        == 2
    )

    other = create_app(api.context)  # a registry of its own: counts nothing of the first app
    api.app = other
    fresh = samples(api.get("/api/v1/metrics").text)
    assert not any(
        name == requests and dict(labels).get("route") != "/api/v1/metrics"
        for name, labels in fresh
    )
