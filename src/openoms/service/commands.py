"""The service commands of ``openoms``: ``serve``, ``db upgrade``, ``token create``.

Registered on the main command group by :mod:`openoms.cli`; heavy imports happen inside the
commands, so ``openoms --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["db_group", "serve_command", "token_group"]


def _settings(config: Path | None) -> Any:
    from openoms.settings import load_settings  # noqa: PLC0415

    return load_settings(config)


_config_option = click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Settings file (TOML). Default: $OPENOMS_CONFIG or ./openoms.toml if present; "
    "OPENOMS_* environment variables override it.",
)


@click.group("db")
def db_group() -> None:
    """The database (数据库)."""


@db_group.command("upgrade")
@_config_option
def db_upgrade(config: Path | None) -> None:
    """Apply the database migrations up to the latest (升级数据库结构)."""
    from openoms.store import db  # noqa: PLC0415

    settings = _settings(config)
    engine = db.make_engine(settings.resolved_database_url)
    revision = db.upgrade(engine)
    engine.dispose()
    click.echo(f"{settings.resolved_database_url.split('@')[-1]}: at revision {revision}")


@click.group("token")
def token_group() -> None:
    """API tokens (访问令牌)."""


@token_group.command("create")
@click.option("--name", required=True, help="Whom the token is for (a person or a system).")
@click.option(
    "--role", required=True, type=click.Choice(["admin", "dispatcher", "crew", "planner", "viewer"])
)
@_config_option
def token_create(name: str, role: str, config: Path | None) -> None:
    """Create an API token; it is printed once and only its hash is stored (创建令牌)."""
    from openoms.service.context import utc_now  # noqa: PLC0415
    from openoms.store import db, tokens  # noqa: PLC0415

    settings = _settings(config)
    engine = db.make_engine(settings.resolved_database_url)
    db.upgrade(engine)
    with db.make_session_factory(engine).begin() as session:
        token = tokens.create_token(session, name=name, role=tokens.Role(role), now=utc_now())
    engine.dispose()
    click.echo(token)


@click.command("serve")
@_config_option
@click.option("--host", default=None, help="Listen address (default from settings).")
@click.option("--port", type=int, default=None, help="Listen port (default from settings).")
def serve_command(config: Path | None, host: str | None, port: int | None) -> None:
    """Run the service: HTTP API, event processing, MQTT when configured (启动服务)."""
    import uvicorn  # noqa: PLC0415

    from openoms.api.app import create_app  # noqa: PLC0415
    from openoms.service.runtime import Service, build_context  # noqa: PLC0415

    settings = _settings(config)
    click.echo(f"… loading {settings.network} into {settings.resolved_database_url}", err=True)
    context = build_context(settings)
    service = Service(context)
    service.start()
    app = create_app(context, mqtt_status=lambda: service.mqtt_connected)
    try:
        uvicorn.run(
            app,
            host=host or settings.http_host,
            port=port or settings.http_port,
            log_level="warning",
        )
    finally:
        service.stop()
