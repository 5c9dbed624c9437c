"""Health and metrics: anonymous, for load balancers and Prometheus."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from openoms.api.deps import ContextDep
from openoms.api.metrics import ApiMetrics
from openoms.api.routes import API_PREFIX
from openoms.api.schemas import DatabaseHealth, HealthOut, MqttHealth, NetworkHealth

__all__ = ["router"]

log = logging.getLogger("openoms.api")

router = APIRouter(prefix=API_PREFIX, tags=["system"])


async def get_metrics(request: Request) -> ApiMetrics:  # async: no worker thread
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


async def get_mqtt_status(request: Request) -> Callable[[], bool | None] | None:
    status: Callable[[], bool | None] | None = request.app.state.mqtt_status
    return status


@router.get(
    "/health",
    summary="Is the service able to work: database, network, MQTT",
    responses={503: {"model": HealthOut, "description": "The database is not reachable."}},
)
def health(
    context: ContextDep,
    response: Response,
    mqtt_status: Annotated[Callable[[], bool | None] | None, Depends(get_mqtt_status)],
) -> HealthOut:
    try:  # the API's pool: a check of what answers the API, never the workers' connections
        with context.http.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        reachable = True
    except SQLAlchemyError:
        log.warning("health: the database is not reachable", exc_info=True)
        reachable = False
    net = context.network
    mqtt_configured = context.settings.mqtt_host is not None
    if not reachable:
        response.status_code = 503
    return HealthOut(
        status="ok" if reachable else "degraded",
        database=DatabaseHealth(reachable=reachable, dialect=context.engine.dialect.name),
        network=NetworkHealth(
            name=net.name,
            version_id=context.network_version_id,
            feeders=len(net.feeders.id),
            nodes=len(net.nodes.id),
        ),
        mqtt=MqttHealth(
            configured=mqtt_configured,
            connected=mqtt_status() if mqtt_status is not None else None,
        ),
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
def metrics(registry: Annotated[ApiMetrics, Depends(get_metrics)]) -> Response:
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
