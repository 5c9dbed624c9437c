"""Every error is an RFC 9457 problem document from the one table, and a bug leaks nothing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.exceptions import RequestValidationError

from openoms.api.problems import PROBLEM_TYPES, lookup, problem_type_uri
from openoms.errors import InputError, UnknownDeviceError, UnsupportedOperationError
from openoms.outages.lifecycle import IllegalTransitionError, OutageState
from openoms.store.outages import AreaRestorationError, OutageNotFoundError
from openoms.store.tokens import Role
from tests.api.conftest import Api

D = Role.DISPATCHER


def assert_problem(response: httpx.Response, status: int, slug: str, path: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == (problem_type_uri(slug) if slug != "about:blank" else slug)
    assert body["status"] == status
    assert body["instance"] == path
    assert body["title"]
    assert body["detail"]
    assert "unknown" not in body["title"].lower()
    return body


def status_of(exc: Exception) -> int | None:
    entry = lookup(exc)
    return None if entry is None else entry.status


def test_the_table_maps_the_most_specific_class() -> None:
    assert lookup(UnknownDeviceError("X", network="n")) is PROBLEM_TYPES[UnknownDeviceError]
    assert status_of(IllegalTransitionError(OutageState.CLOSED, OutageState.DETECTED)) == 409
    assert status_of(OutageNotFoundError(3)) == 404
    assert status_of(AreaRestorationError(3, unknown=["X"])) == 422
    assert status_of(UnsupportedOperationError("X", "no")) == 422
    assert status_of(InputError("bad")) == 422
    assert status_of(RuntimeError("bug")) is None
    slugs = [entry.slug for entry in PROBLEM_TYPES.values()]
    assert len(slugs) == len(set(slugs))
    assert PROBLEM_TYPES[RequestValidationError].status == 422


def test_mapped_errors_become_problem_documents(api: Api) -> None:
    body = assert_problem(
        api.get("/api/v1/grid/devices/NOPE", role=D),
        404,
        "unknown-device",
        "/api/v1/grid/devices/NOPE",
    )
    assert body["device_id"] == "NOPE"

    body = assert_problem(
        api.get("/api/v1/outages/999", role=D), 404, "outage-not-found", "/api/v1/outages/999"
    )
    assert body["outage_id"] == 999

    outage = api.fault_outage("K1")
    path = f"/api/v1/outages/{outage}/transitions"
    body = assert_problem(
        api.post(path, role=D, json={"to": "closed"}), 409, "illegal-transition", path
    )
    assert body["current_state"] == "detected"
    assert body["target_state"] == "closed"
    assert "located" in body["allowed"]

    path = f"/api/v1/outages/{outage}/restoration-steps"
    body = assert_problem(
        api.post(path, role=D, json={"element_ids": ["TA9", "TA2", "TA2"], "how": "switching"}),
        422,
        "areas-not-off",
        path,
    )
    assert "TA9" in body["detail"]
    assert (body["unknown"], body["repeated"], body["outage_id"]) == (["TA9"], ["TA2"], outage)
    assert "already_restored" not in body

    body = assert_problem(
        api.post(
            "/api/v1/outages", role=D, json={"open": ["TA1"], "starts_at": "2024-06-09T00:00Z"}
        ),
        422,
        "invalid-input",
        "/api/v1/outages",
    )
    assert "TA1" in body["detail"]


def test_request_validation_names_every_field(api: Api) -> None:
    outage = api.fault_outage("K1")
    path = f"/api/v1/outages/{outage}/transitions"
    body = assert_problem(
        api.post(path, role=D, json={"to": "nowhere", "colour": "red"}),
        422,
        "invalid-request",
        path,
    )
    locations = {tuple(e["location"]) for e in body["errors"]}
    assert locations == {("body", "to"), ("body", "colour")}
    assert all(e["message"] and e["type"] for e in body["errors"])
    assert "2 problems" in body["detail"]

    body = assert_problem(
        api.get("/api/v1/outages?limit=0&state=sleeping", role=D),
        422,
        "invalid-request",
        "/api/v1/outages",
    )
    assert {tuple(e["location"]) for e in body["errors"]} == {
        ("query", "limit"),
        ("query", "state", 0),
    }

    path = "/api/v1/events"
    body = assert_problem(
        api.post(path, role=D, content=b"{not json", headers={"content-type": "application/json"}),
        422,
        "invalid-request",
        path,
    )


def test_authentication_and_role_problems(api: Api) -> None:
    assert_problem(api.get("/api/v1/outages"), 401, "unauthenticated", "/api/v1/outages")
    body = assert_problem(
        api.post("/api/v1/tokens", role=D, json={"name": "x", "role": "admin"}),
        403,
        "forbidden",
        "/api/v1/tokens",
    )
    assert body["role"] == "dispatcher"
    assert body["allowed_roles"] == ["admin"]


def test_framework_errors_are_problems_too(api: Api) -> None:
    assert_problem(api.get("/api/v1/nowhere", role=D), 404, "about:blank", "/api/v1/nowhere")
    response = api.request("DELETE", "/api/v1/outages", role=D)
    assert_problem(response, 405, "about:blank", "/api/v1/outages")
    assert "GET" in response.headers["allow"]


def test_a_bug_is_a_logged_500_problem_that_leaks_nothing(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    def explode() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    api.app.add_api_route("/api/v1/explode", explode)
    with caplog.at_level(logging.ERROR, logger="openoms.api"):
        response = api.get("/api/v1/explode")
    body = assert_problem(response, 500, "internal-error", "/api/v1/explode")
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    assert body["error_id"] in body["detail"]
    logged = [r for r in caplog.records if body["error_id"] in r.getMessage()]
    assert logged
    assert logged[0].exc_info is not None


def test_openapi_documents_every_error_as_a_problem(api: Api) -> None:
    schema = api.get("/api/v1/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "Problem" in schema["components"]["schemas"]
    errors = 0
    for operations in schema["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    errors += 1
                    assert list(response["content"]) == ["application/problem+json"]
    assert errors > 20


def test_the_docs_list_every_problem_type() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs/api.md").read_text(encoding="utf-8")
    for entry in PROBLEM_TYPES.values():
        assert f"| `{entry.uri}` | {entry.status} | {entry.title} |" in docs
