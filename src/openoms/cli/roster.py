"""``openoms roster import FILE`` and ``openoms roster show``: the duty rosters (值班表).

Registered on the main command group by :mod:`openoms.cli`. Grid cell ids are checked
against the current network in the database, or, before the service has loaded one,
against the configured network (``--network``, default the ``network`` setting).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from openoms.cli._common import config_option, encoding_option, settings_of
from openoms.cli._db import database
from openoms.contacts.phone import mask_phone
from openoms.service.networks import current_raw
from openoms.store import roster

__all__ = ["roster_group"]

_db_option = click.option(
    "--db", "db_url", default=None, help="Database URL (default: from the settings)."
)


@click.group("roster")
def roster_group() -> None:
    """Duty rosters of the grid cells: who gets the crew SMS (网格值班表)."""


@roster_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_db_option
@config_option
@click.option("--network", default=None, help="Network whose grid cells the file may name.")
@encoding_option
def roster_import(
    file: Path, db_url: str | None, config: Path | None, network: str | None, encoding: str | None
) -> None:
    """Import a roster CSV: all rows or none; replaces the roster of the grid cells it names.

    Columns: grid_cell,crew,person,phone,starts_at,ends_at,fallback (see docs/notify.md).
    """
    settings = settings_of(config)
    with database(settings, db_url) as sessions, sessions.begin() as session:
        raw, _ = current_raw(session, network or settings.network)
        table = raw.tables.get("grid_cells")
        cells = {str(row["id"]) for row in table.rows} if table is not None else set()
        contacts = roster.import_roster(
            session, file, grid_cells=cells, timezone=settings.timezone, encoding=encoding
        )
    n_cells = len({c.grid_cell for c in contacts})
    click.echo(f"{file}: {len(contacts)} 行导入，{n_cells} 个网格 / {len(contacts)} rows imported")


@roster_group.command("show")
@click.option("--at", "at_text", default=None, help="Who is on duty at this time (ISO 8601).")
@click.option("--grid-cell", default=None, help="Only this grid cell.")
@_db_option
@config_option
def roster_show(
    at_text: str | None, grid_cell: str | None, db_url: str | None, config: Path | None
) -> None:
    """Who is on duty now (or --at) per grid cell, phone numbers masked (当前值班)."""
    settings = settings_of(config)
    zone = ZoneInfo(settings.timezone)
    try:
        at = datetime.fromisoformat(at_text) if at_text else datetime.now(UTC)
    except ValueError as exc:
        raise click.BadParameter(f"{at_text!r} is not an ISO 8601 time", param_hint="--at") from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    with database(settings, db_url) as sessions, sessions() as session:
        cells = sorted({c.grid_cell for c in roster.list_roster(session, grid_cell=grid_cell)})
        duty = {cell: roster.on_duty(session, cell, at) for cell in cells}
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
