"""RFC 9457 problem documents: every error the API returns, from ONE table.

:data:`PROBLEM_TYPES` maps an exception class to its HTTP status, a stable type slug and a
title. An exception is looked up along its class's MRO, so the most specific entry wins
(:class:`~openoms.errors.UnknownDeviceError` is an :class:`~openoms.errors.InputError`, but
answers 404, not 422). The ``detail`` is the exception's own message, written for people;
a few exceptions add extension members naming what was wrong (``device_id``, ``allowed``).

Anything not in the table is a bug: it is logged with an ``error_id`` and answered with a 500
problem that carries the same ``error_id`` and nothing of the internals. A busy database (no
pooled connection in time, a statement or lock timeout, SQLite's "database is locked") is not
a bug but load: ``503`` with ``Retry-After``, a fixed detail (never the SQL) and a warning in
the log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openoms.api.auth import AuthenticationError, ForbiddenError
from openoms.api.public_schemas import CustomerNotFoundError
from openoms.api.rate import RateLimitedError
from openoms.api.schemas import Problem
from openoms.errors import InputError, TooLargeError, UnknownDeviceError
from openoms.grid.topology import TopologyError
from openoms.outages.lifecycle import TRANSITIONS, IllegalTransitionError
from openoms.outages.planned import (
    PLANNED_TRANSITIONS,
    IllegalPlannedTransitionError,
    NoticeTooLateError,
)
from openoms.store.faults import FaultEventNotFoundError
from openoms.store.outages import AreaRestorationError, OutageNotFoundError
from openoms.store.planned import PlannedWorkNotFoundError
from openoms.store.restoration_plans import PlanConflictError, PlanNotFoundError
from openoms.store.tokens import TokenNotFoundError

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_TYPES",
    "ProblemResponse",
    "ProblemType",
    "UnexpectedErrorMiddleware",
    "install_problem_handlers",
    "problem_responses",
    "problem_type_uri",
]

log = logging.getLogger("openoms.api")

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
_TYPE_PREFIX: Final = "urn:openoms:problem:"

Extensions = Callable[[Exception], dict[str, Any]]


def _no_extensions(_exc: Exception) -> dict[str, Any]:
    return {}


def _device(exc: Exception) -> dict[str, Any]:
    return {"device_id": getattr(exc, "device_id", None)}


def _outage(exc: Exception) -> dict[str, Any]:
    return {"outage_id": getattr(exc, "outage_id", None)}


def _token(exc: Exception) -> dict[str, Any]:
    return {"token_id": getattr(exc, "token_id", None)}


def _areas(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, AreaRestorationError)
    return {
        "outage_id": exc.outage_id,
        "unknown": list(exc.unknown) or None,
        "already_restored": exc.already_restored or None,
        "repeated": list(exc.repeated) or None,
    }


def _transition(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, IllegalTransitionError)
    return {
        "current_state": exc.current.value,
        "target_state": exc.target.value,
        "allowed": sorted(TRANSITIONS[exc.current]),
    }


def _plan_conflict(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, PlanConflictError)
    return {"outage_id": exc.outage_id, "reason": exc.reason, **exc.details}


def _planned_transition(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, IllegalPlannedTransitionError)
    return {
        "current_state": exc.current.value,
        "target_state": exc.target.value,
        "allowed": sorted(PLANNED_TRANSITIONS[exc.current]),
    }


def _notice(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, NoticeTooLateError)
    return {
        "rule": exc.rule,
        "starts_at": exc.starts_at.isoformat(),
        "deadline": exc.deadline.isoformat(),
        "notice_hours": exc.notice.total_seconds() / 3600.0,
    }


def _work(exc: Exception) -> dict[str, Any]:
    return {"planned_outage_id": getattr(exc, "work_id", None)}


def _fault(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, FaultEventNotFoundError)
    return {"fault_id": exc.fault_id}


def _topology(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, TopologyError)
    return {"problems": list(exc.problems)}


def _too_large(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, TooLargeError)
    return {"size": exc.size, "limit": exc.limit}


def _rate(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, RateLimitedError)
    return {"limit": exc.limit, "retry_after_s": exc.retry_after_s}


def _forbidden(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, ForbiddenError)
    return {"role": exc.role, "allowed_roles": sorted(exc.allowed)}


_BUSY: Final = (
    "The database did not answer in time (the service is under load). Send the request again "
    "after Retry-After seconds: a re-sent event is recognised by its idempotency key."
)


@dataclass(frozen=True, slots=True)
class ProblemType:
    status: int
    slug: str
    title: str
    extensions: Extensions = _no_extensions
    detail: str | None = None  # a fixed detail instead of the exception's message
    retry_after: bool = False  # answered with Retry-After (http_retry_after_s): try again

    @property
    def uri(self) -> str:
        return problem_type_uri(self.slug)


PROBLEM_TYPES: Final[Mapping[type[Exception], ProblemType]] = {
    UnknownDeviceError: ProblemType(404, "unknown-device", "No such device", _device),
    OutageNotFoundError: ProblemType(404, "outage-not-found", "No such outage", _outage),
    TokenNotFoundError: ProblemType(404, "token-not-found", "No such token", _token),
    FaultEventNotFoundError: ProblemType(404, "fault-not-found", "No such fault event", _fault),
    IllegalTransitionError: ProblemType(
        409, "illegal-transition", "Transition not allowed", _transition
    ),
    PlannedWorkNotFoundError: ProblemType(
        404, "planned-outage-not-found", "No such planned outage", _work
    ),
    IllegalPlannedTransitionError: ProblemType(
        409,
        "illegal-planned-transition",
        "Planned-outage transition not allowed",
        _planned_transition,
    ),
    NoticeTooLateError: ProblemType(
        422, "notice-too-late", "The notice lead time cannot be kept", _notice
    ),
    AreaRestorationError: ProblemType(422, "areas-not-off", "Areas not off in this outage", _areas),
    PlanNotFoundError: ProblemType(
        404, "restoration-plan-not-found", "No restoration plan for this outage", _outage
    ),
    PlanConflictError: ProblemType(
        409, "restoration-plan-conflict", "Restoration plan not approvable", _plan_conflict
    ),
    TopologyError: ProblemType(
        422, "topology-query", "No answer in the network's topology", _topology
    ),
    TooLargeError: ProblemType(413, "request-too-large", "Request too large", _too_large),
    CustomerNotFoundError: ProblemType(404, "customer-not-found", "No such customer"),
    RateLimitedError: ProblemType(429, "rate-limited", "Too many requests", _rate),
    InputError: ProblemType(422, "invalid-input", "Invalid input"),
    RequestValidationError: ProblemType(422, "invalid-request", "Invalid request"),
    AuthenticationError: ProblemType(401, "unauthenticated", "Authentication required"),
    ForbiddenError: ProblemType(403, "forbidden", "Not allowed for this role", _forbidden),
    PoolTimeoutError: ProblemType(
        503, "database-busy", "Database busy", detail=_BUSY, retry_after=True
    ),
    OperationalError: ProblemType(
        503, "database-unavailable", "Database unavailable", detail=_BUSY, retry_after=True
    ),
}
"""The one table: exception class → (status, type slug, title[, extension members])."""

INTERNAL: Final = ProblemType(500, "internal-error", "Internal server error")
RETRY_AFTER_S: Final = 1
"""Retry-After of a 503 when the app has no settings to read ``http_retry_after_s`` from."""


def problem_type_uri(slug: str) -> str:
    """The ``type`` member of a problem: a stable URN, listed in docs/api.md."""
    return _TYPE_PREFIX + slug


def lookup(exc: Exception) -> ProblemType | None:
    """The table entry of ``exc``'s most specific class that has one."""
    for cls in type(exc).__mro__:
        entry = PROBLEM_TYPES.get(cls)
        if entry is not None:
            return entry
    return None


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem_body(
    *, type_uri: str, title: str, status: int, detail: str, instance: str, **extensions: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type_uri,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update({key: value for key, value in extensions.items() if value is not None})
    return body


def _validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Each error's location, message and type; never the input (it may be large or private)."""
    return [
        {
            "location": [part if isinstance(part, int) else str(part) for part in e["loc"]],
            "message": str(e["msg"]),
            "type": str(e["type"]),
        }
        for e in errors
    ]


def _validation_detail(errors: list[dict[str, Any]]) -> str:
    shown = "; ".join(
        f"{'.'.join(str(p) for p in e['location'])}: {e['message']}" for e in errors[:3]
    )
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    noun = "problem" if len(errors) == 1 else "problems"
    return f"{len(errors)} {noun} in the request: {shown}{more}"


def mapped_problem(request: Request, exc: Exception) -> ProblemResponse:
    """The problem document of an exception of the table."""
    entry = lookup(exc)
    if entry is None:  # registered only for table entries; kept honest all the same
        return internal_problem(request.url.path, request.method, exc)
    headers: dict[str, str] = {}
    extensions = entry.extensions(exc)
    if isinstance(exc, RequestValidationError):
        errors = _validation_errors(exc.errors())
        detail = _validation_detail(errors)
        extensions["errors"] = errors
    else:
        detail = entry.detail or str(exc) or entry.title
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = exc.www_authenticate
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(exc.retry_after_s)
    if entry.retry_after:
        headers["Retry-After"] = str(_retry_after_s(request))
        cause = getattr(exc, "orig", None) or exc  # the driver's error: its class, no SQL
        log.warning(
            "%s on %s %s: %s", entry.slug, request.method, request.url.path, type(cause).__name__
        )
    body = problem_body(
        type_uri=entry.uri,
        title=entry.title,
        status=entry.status,
        detail=detail,
        instance=request.url.path,
        **extensions,
    )
    return ProblemResponse(body, status_code=entry.status, headers=headers or None)


def _retry_after_s(request: Request) -> int:
    context = getattr(request.app.state, "context", None)
    settings = getattr(context, "settings", None)
    return int(getattr(settings, "http_retry_after_s", RETRY_AFTER_S))


def http_problem(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
    """Plain HTTP errors of the framework (no such route, method not allowed): about:blank."""
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    body = problem_body(
        type_uri="about:blank",
        title=phrase,
        status=exc.status_code,
        detail=detail or f"{phrase}: {request.method} {request.url.path}",
        instance=request.url.path,
    )
    return ProblemResponse(body, status_code=exc.status_code, headers=exc.headers)


def internal_problem(path: str, method: str, exc: BaseException) -> ProblemResponse:
    error_id = uuid.uuid4().hex[:16]
    log.error("unexpected error %s on %s %s", error_id, method, path, exc_info=exc)
    body = problem_body(
        type_uri=INTERNAL.uri,
        title=INTERNAL.title,
        status=INTERNAL.status,
        detail=f"The server could not complete the request; the error is logged as {error_id}.",
        instance=path,
        error_id=error_id,
    )
    return ProblemResponse(body, status_code=INTERNAL.status)


class UnexpectedErrorMiddleware:
    """Turns an exception no handler took into a logged 500 problem.

    Starlette's own last-resort handler re-raises after answering; this one answers, logs
    once (with the traceback and an ``error_id`` the client also gets) and stops there.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late for a problem document
                raise
            response = internal_problem(scope.get("path", ""), scope.get("method", ""), exc)
            await response(scope, receive, send)


async def _handle_mapped(request: Request, exc: Exception) -> ProblemResponse:
    return mapped_problem(request, exc)


async def _handle_http(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    return http_problem(request, exc)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the table's handlers, the framework's HTTP errors and the 500 catch-all."""
    for exc_class in PROBLEM_TYPES:
        app.add_exception_handler(exc_class, _handle_mapped)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_middleware(UnexpectedErrorMiddleware)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a route: the problem documents it may answer with."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        titles = dict.fromkeys(e.title for e in PROBLEM_TYPES.values() if e.status == status)
        description = " / ".join(titles) or HTTPStatus(status).phrase
        out[status] = {"model": Problem, "description": description}
    return out


def problems_in_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Every error response of the schema as ``application/problem+json`` with the
    :class:`Problem` schema (FastAPI files response models under ``application/json`` and adds
    its own 422 shape, which this API never sends)."""
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = {PROBLEM_MEDIA_TYPE: problem}
                    if int(status) == 422 and "Validation Error" in response["description"]:
                        response["description"] = PROBLEM_TYPES[RequestValidationError].title
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema
