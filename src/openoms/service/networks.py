"""Which network a command or the service works on: the database's current version, else the
configured one (a path or ``sample:county``) read from its source."""

from __future__ import annotations

from sqlalchemy.orm import Session

from openoms.grid.load import check_raw, read_network_records
from openoms.grid.model import Network
from openoms.grid.problems import InvalidNetworkError
from openoms.grid.records import RawNetwork
from openoms.samples import network_path
from openoms.store import networks

__all__ = ["checked_network", "current_network", "current_raw"]


def current_raw(
    session: Session, configured: str, *, prefer: str | None = None
) -> tuple[RawNetwork, str]:
    """``prefer`` when given, else the database's current network, else ``configured``; with
    the words that name where it came from (for error messages)."""
    if prefer is None:
        current = networks.load_current_network(session)
        if current is not None:
            return current[1], "the database's current network"
    source = prefer or configured
    return read_network_records(network_path(source)), source


def checked_network(raw: RawNetwork, source: str) -> Network:
    """The checked network; :class:`InvalidNetworkError` with every problem otherwise."""
    result = check_raw(raw)
    if result.network is None:
        raise InvalidNetworkError(source, result.problems)
    return result.network


def current_network(session: Session, configured: str, *, prefer: str | None = None) -> Network:
    """:func:`current_raw`, checked."""
    raw, source = current_raw(session, configured, prefer=prefer)
    return checked_network(raw, source)
