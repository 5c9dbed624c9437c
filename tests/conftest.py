"""Shared fixtures: the databases and the MQTT broker the service tests run against.

The PostgreSQL server (127.0.0.1:5432, trust auth, database ``test``) and the Mosquitto broker
(127.0.0.1:1883) run on the CI machine. Without them, tests that need them skip with the
reason; with ``CI=true`` a missing service is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get(
    "OPENOMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MQTT_HOST = os.environ.get("OPENOMS_TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("OPENOMS_TEST_MQTT_PORT", "1883"))


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_service(name: str, reachable: bool, detail: str) -> None:
    """Skip (or, in CI, fail) when a real service the test needs is not there."""
    if reachable:
        return
    message = f"{name} is not reachable ({detail})"
    if _in_ci():
        pytest.fail(f"CI=true and {message}: CI must run it")
    pytest.skip(message)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> str:
    url = make_url(POSTGRES_URL)
    require_service(
        "PostgreSQL",
        _port_open(url.host or "127.0.0.1", url.port or 5432),
        f"{url.host}:{url.port}",
    )
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database, on SQLite and on PostgreSQL (its own schema, dropped after): for the
    tests of the migrations themselves."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'openoms.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        # Every connection of the test uses the fresh schema.
        yield str(make_url(server).update_query_dict({"options": f"-csearch_path={schema}"}))
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the newest revision once per session."""
    from openoms.store.db import upgrade

    path = tmp_path_factory.mktemp("template") / "openoms.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_template(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL database migrated to the newest revision once per session: each test's
    database is a ``CREATE DATABASE … TEMPLATE`` copy of it (tens of milliseconds instead of
    running every migration again)."""
    from openoms.store.db import upgrade

    name = f"openoms_template_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(make_url(postgres_server).set(database=name).render_as_string(False))
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database migrated to the newest revision, on SQLite (a copy of the session's migrated
    file) and on PostgreSQL (its own database, copied from the session's migrated template and
    dropped after). ``empty_database_url`` gives one with no tables."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path_factory.mktemp("db") / "openoms.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    server: str = request.getfixturevalue("postgres_server")
    source: str = request.getfixturevalue("_postgres_template")
    name = f"openoms_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            # FORCE: a test may leave a pooled connection behind (a service thread's engine).
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def mqtt_broker() -> tuple[str, int]:
    require_service("MQTT broker", _port_open(MQTT_HOST, MQTT_PORT), f"{MQTT_HOST}:{MQTT_PORT}")
    return MQTT_HOST, MQTT_PORT


@pytest.fixture(autouse=True, scope="session")
def _data_dir_in_a_temporary_folder(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """Commands keep network snapshots in the data folder: never the user's during tests (the
    variable is inherited by the commands tests run as processes)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENOMS_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        yield
