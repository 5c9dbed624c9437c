"""``openoms serve``, ``openoms db upgrade``, ``openoms token create``: running the service."""

from __future__ import annotations

from pathlib import Path

import click

from openoms.cli._common import config_option, settings_of
from openoms.server import serve_forever
from openoms.service.context import utc_now
from openoms.store import db, tokens

__all__ = ["db_group", "serve_command", "token_group"]


@click.group("db")
def db_group() -> None:
    """The database (数据库)."""


@db_group.command("upgrade")
@config_option
def db_upgrade(config: Path | None) -> None:
    """Apply the database migrations up to the latest (升级数据库结构)."""
    settings = settings_of(config)
    engine = db.make_engine(settings.resolved_database_url)
    revision = db.upgrade(engine)
    engine.dispose()
    click.echo(f"{settings.shown_database_url}: at revision {revision}")


@click.group("token")
def token_group() -> None:
    """API tokens (访问令牌)."""


@token_group.command("create")
@click.option("--name", required=True, help="Whom the token is for (a person or a system).")
@click.option("--role", required=True, type=click.Choice([role.value for role in tokens.Role]))
@config_option
def token_create(name: str, role: str, config: Path | None) -> None:
    """Create an API token; it is printed once and only its hash is stored (创建令牌)."""
    settings = settings_of(config)
    engine = db.make_engine(settings.resolved_database_url)
    db.upgrade(engine)
    with db.make_session_factory(engine).begin() as session:
        token = tokens.create_token(session, name=name, role=tokens.Role(role), now=utc_now())
    engine.dispose()
    click.echo(token)


@click.command("serve")
@config_option
@click.option("--host", default=None, help="Listen address (default from settings).")
@click.option("--port", type=int, default=None, help="Listen port (default from settings).")
def serve_command(config: Path | None, host: str | None, port: int | None) -> None:
    """Run the service: HTTP API, event processing, MQTT when configured (启动服务)."""
    settings = settings_of(config)
    click.echo(f"… loading {settings.network} into {settings.shown_database_url}", err=True)
    serve_forever(settings, host=host or settings.http_host, port=port or settings.http_port)
