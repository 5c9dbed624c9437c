"""Network versions: the same document is one version; a changed one becomes current."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openoms.grid.load import check_raw
from openoms.grid.records import RawNetwork
from openoms.outages.records import OutageKind
from openoms.store.networks import (
    NetworkVersionNotFoundError,
    list_network_versions,
    load_current_network,
    load_network_version,
    save_network_version,
)
from openoms.store.outages import create_outage, get_outage
from openoms.store.tables import NetworkVersion
from tests.grid.small import small_raw, small_rows
from tests.store.conftest import T0


def _rows(raw: RawNetwork) -> dict[str, list[dict[str, object]]]:
    return {name: table.rows for name, table in raw.tables.items() if table.rows}


def _save(session: Session, raw: RawNetwork, *, hours: int = 0) -> tuple[int, bool]:
    return save_network_version(
        session,
        raw,
        source="tests/grid/small.py",
        actor="admin",
        now=T0 + timedelta(hours=hours),
        summary={"feeders": len(raw.tables["feeders"])},
    )


def test_a_saved_network_loads_back_unchanged(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        assert load_current_network(session) is None
        version_id, new = _save(session, small_raw())
    assert new
    with sessions() as session:
        current = load_current_network(session)
    assert current is not None
    assert current[0] == version_id
    loaded = current[1]
    assert loaded.name == "small"
    assert _rows(loaded) == _rows(small_raw())
    assert check_raw(loaded).network is not None
    # Rows are located in the stored version, not in a temporary file.
    location = loaded.tables["switches"].locations[2]
    assert str(location) == f"network version {version_id}#/switches row 2"


def test_the_document_is_gzip_json_with_its_hash(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        version_id, _ = _save(session, small_raw())
    with sessions() as session:
        row = session.get_one(NetworkVersion, version_id)
        document = gzip.decompress(row.document)
    assert row.content_sha256 == hashlib.sha256(document).hexdigest()
    parsed = json.loads(document)
    assert parsed["format"] == "openoms-network"
    assert [f["id"] for f in parsed["feeders"]] == ["F1", "F2", "F3"]


def test_the_same_network_again_is_the_same_version(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first, _ = _save(session, small_raw())
    with sessions.begin() as session:
        assert _save(session, small_raw(), hours=1) == (first, False)
    with sessions() as session:
        assert [v.id for v in list_network_versions(session)] == [first]


def test_a_changed_network_becomes_the_current_version(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first, _ = _save(session, small_raw())
        outage = create_outage(
            session,
            kind=OutageKind.FAULT,
            network_version_id=first,
            started_at=T0,
            actor="system",
            now=T0,
        )
    rows = small_rows()
    rows["transformer_areas"][0]["lv_customers"] = 41
    with sessions.begin() as session:
        second, new = _save(session, small_raw(rows), hours=1)
    assert new
    assert second != first
    with sessions() as session:
        versions = list_network_versions(session)
        current = load_current_network(session)
        old = load_network_version(session, first)
        assert get_outage(session, outage).network_version_id == first
        current_ids = session.scalars(select(NetworkVersion.id).where(NetworkVersion.is_current))
        assert current_ids.all() == [second]
    assert [(v.id, v.is_current) for v in versions] == [(second, True), (first, False)]
    assert versions[0].imported_at == T0 + timedelta(hours=1)
    assert versions[0].imported_by == "admin"
    assert versions[0].summary == {"feeders": 3}
    assert current is not None
    assert current[0] == second
    assert current[1].tables["transformer_areas"].rows[0]["lv_customers"] == 41
    assert old.tables["transformer_areas"].rows[0]["lv_customers"] == 40
    # Going back to the first document makes a third version: history is never rewritten.
    with sessions.begin() as session:
        third, new = _save(session, small_raw(), hours=2)
    assert new
    assert third not in (first, second)


def test_an_unknown_version_is_named(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(NetworkVersionNotFoundError, match="id 42"):
        load_network_version(session, 42)
