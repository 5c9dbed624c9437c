"""Network versions: each import of the network is kept, and one of them is current.

A version holds the network as the native JSON document (``docs/formats.md``), gzip-compressed,
with the SHA-256 of its canonical form (keys sorted, no whitespace), so that importing the same
network again is recognised and makes no new version. Outage records keep the id of the
version they were analysed on; an older version stays loadable for as long as they need it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openoms.errors import InputError
from openoms.store.tables import NetworkVersion

if TYPE_CHECKING:
    from openoms.grid.records import RawNetwork

# openoms.grid is imported inside the functions that need it: it loads numba and the
# topology engine (about a second), which `openoms db upgrade` or `token create` never use.

__all__ = [
    "NetworkVersionInfo",
    "NetworkVersionNotFoundError",
    "list_network_versions",
    "load_current_network",
    "load_network_version",
    "save_network_version",
]


class NetworkVersionNotFoundError(InputError):
    """No network version with this id."""

    def __init__(self, version_id: int) -> None:
        super().__init__(f"no network version with id {version_id}")
        self.version_id = version_id


@dataclass(frozen=True, slots=True)
class NetworkVersionInfo:
    """A version as listed, without its document."""

    id: int
    name: str
    source: str
    imported_at: datetime
    imported_by: str
    is_current: bool
    summary: dict[str, Any]
    content_sha256: str


def _canonical_document(raw: RawNetwork) -> bytes:
    from openoms.grid.native import write_json_document  # noqa: PLC0415  (see above)

    # The grid package owns the document format; it writes files only, so go through one.
    with tempfile.TemporaryDirectory(prefix="openoms-network-") as folder:
        path = Path(folder) / "network.json"
        write_json_document(raw, path)
        document = json.loads(path.read_text(encoding="utf-8"))
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _raw_network(row: NetworkVersion) -> RawNetwork:
    from openoms.grid.native import read_json_document  # noqa: PLC0415  (see above)
    from openoms.grid.records import Location  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="openoms-network-") as folder:
        path = Path(folder) / "network.json"
        path.write_bytes(gzip.decompress(row.document))
        raw = read_json_document(path)
    # Name rows after the stored version rather than the temporary file they passed through.
    source = f"network version {row.id}"
    for name, table in raw.tables.items():
        table.locations = [
            Location(f"{source}#/{name}", row=location.row) for location in table.locations
        ]
    return raw


def _current(session: Session) -> NetworkVersion | None:
    query = select(NetworkVersion).where(NetworkVersion.is_current).with_for_update()
    return session.scalars(query).one_or_none()


def save_network_version(
    session: Session,
    raw: RawNetwork,
    *,
    source: str,
    actor: str,
    now: datetime,
    summary: dict[str, Any],
) -> tuple[int, bool]:
    """Store ``raw`` as the current network version: ``(version id, whether it is new)``.

    When the current version holds the same document, nothing is written and its id comes
    back with ``False``. Otherwise a new version becomes current and the previous one stays,
    no longer current.
    """
    document = _canonical_document(raw)
    digest = hashlib.sha256(document).hexdigest()
    current = _current(session)
    if current is not None and current.content_sha256 == digest:
        return current.id, False
    if current is not None:
        current.is_current = False
        session.flush()  # at most one current version, held by a unique index
    row = NetworkVersion(
        name=raw.name,
        source=source,
        content_sha256=digest,
        document=gzip.compress(document, compresslevel=6, mtime=0),
        imported_at=now,
        imported_by=actor,
        is_current=True,
        summary=dict(summary),
    )
    session.add(row)
    session.flush()
    return row.id, True


def load_current_network(session: Session) -> tuple[int, RawNetwork] | None:
    """The current version's id and network, or ``None`` before the first import."""
    row = session.scalars(select(NetworkVersion).where(NetworkVersion.is_current)).one_or_none()
    return None if row is None else (row.id, _raw_network(row))


def load_network_version(session: Session, version_id: int) -> RawNetwork:
    """The network of any version, current or not."""
    row = session.get(NetworkVersion, version_id)
    if row is None:
        raise NetworkVersionNotFoundError(version_id)
    return _raw_network(row)


def list_network_versions(session: Session) -> list[NetworkVersionInfo]:
    """Every version, newest first (the documents are not loaded)."""
    query = select(
        NetworkVersion.id,
        NetworkVersion.name,
        NetworkVersion.source,
        NetworkVersion.imported_at,
        NetworkVersion.imported_by,
        NetworkVersion.is_current,
        NetworkVersion.summary,
        NetworkVersion.content_sha256,
    ).order_by(NetworkVersion.id.desc())
    return [NetworkVersionInfo(*row) for row in session.execute(query)]
