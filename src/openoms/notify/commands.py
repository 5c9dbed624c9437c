"""``openoms roster import FILE`` and ``openoms roster show``: the duty rosters (值班表).

Registered on the main command group by :mod:`openoms.cli`. Grid cell ids are checked
against the current network in the database, or, before the service has loaded one,
against the configured network (``--network``, default the ``network`` setting).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["roster_group"]

_config_option = click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Settings file (TOML). Default: $OPENOMS_CONFIG or ./openoms.toml if present.",
)
_db_option = click.option(
    "--db", "db_url", default=None, help="Database URL (default: from the settings)."
)


def _grid_cells(session: Session, network: str) -> set[str]:
    from openoms.grid.load import read_network_records  # noqa: PLC0415
    from openoms.samples import network_path  # noqa: PLC0415
    from openoms.store.networks import load_current_network  # noqa: PLC0415

    current = load_current_network(session)
    raw = current[1] if current is not None else read_network_records(network_path(network))
    table = raw.tables.get("grid_cells")
    return {str(row["id"]) for row in table.rows} if table is not None else set()


@click.group("roster")
def roster_group() -> None:
    """Duty rosters of the grid cells: who gets the crew SMS (网格值班表)."""


@roster_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_db_option
@_config_option
@click.option("--network", default=None, help="Network whose grid cells the file may name.")
def roster_import(file: Path, db_url: str | None, config: Path | None, network: str | None) -> None:
    """Import a roster CSV: all rows or none; replaces the roster of the grid cells it names.

    Columns: grid_cell,crew,person,phone,starts_at,ends_at,fallback (see docs/notify.md).
    """
    from openoms.settings import load_settings  # noqa: PLC0415
    from openoms.store import db, roster  # noqa: PLC0415

    settings = load_settings(config)
    engine = db.make_engine(db_url or settings.resolved_database_url)
    try:
        db.upgrade(engine)
        with db.make_session_factory(engine).begin() as session:
            cells = _grid_cells(session, network or settings.network)
            contacts = roster.import_roster(
                session, file, grid_cells=cells, timezone=settings.timezone
            )
    finally:
        engine.dispose()
    n_cells = len({c.grid_cell for c in contacts})
    click.echo(f"{file}: {len(contacts)} 行导入，{n_cells} 个网格 / {len(contacts)} rows imported")


@roster_group.command("show")
@click.option("--at", "at_text", default=None, help="Who is on duty at this time (ISO 8601).")
@click.option("--grid-cell", default=None, help="Only this grid cell.")
@_db_option
@_config_option
def roster_show(
    at_text: str | None, grid_cell: str | None, db_url: str | None, config: Path | None
) -> None:
    """Who is on duty now (or --at) per grid cell, phone numbers masked (当前值班)."""
    from openoms.notify.phone import mask_phone  # noqa: PLC0415
    from openoms.settings import load_settings  # noqa: PLC0415
    from openoms.store import db, roster  # noqa: PLC0415

    settings = load_settings(config)
    zone = ZoneInfo(settings.timezone)
    try:
        at = datetime.fromisoformat(at_text) if at_text else datetime.now(UTC)
    except ValueError as exc:
        raise click.BadParameter(f"{at_text!r} is not an ISO 8601 time", param_hint="--at") from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    engine = db.make_engine(db_url or settings.resolved_database_url)
    try:
        db.upgrade(engine)
        with db.make_session_factory(engine)() as session:
            cells = sorted({c.grid_cell for c in roster.list_roster(session, grid_cell=grid_cell)})
            duty = {cell: roster.on_duty(session, cell, at) for cell in cells}
    finally:
        engine.dispose()
    click.echo(f"{at.astimezone(zone):%Y-%m-%d %H:%M} ({settings.timezone})")
    if not duty:
        click.echo("无值班表 / no roster")
    for cell, contacts in duty.items():
        for c in contacts:
            when = (
                "备用联系人 fallback"
                if c.is_fallback
                else f"{c.starts_at.astimezone(zone):%m-%d %H:%M}–"  # type: ignore[union-attr]
                f"{c.ends_at.astimezone(zone):%m-%d %H:%M}"  # type: ignore[union-attr]
            )
            click.echo(f"{cell}  {c.crew}  {c.person}  {mask_phone(c.phone)}  {when}")
