"""Notify fixtures: a migrated database, an SMSC simulator on loopback, a sender bound to it,
and an independent SMSC: the npm package ``smpp`` run with node (:class:`NodeSmsc`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openoms.notify.smpp import SmppSender
from openoms.notify.smsc_sim import SmscSimulator
from openoms.store import outbox
from openoms.store.db import make_engine, make_session_factory

T0 = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
"""16:00 in Asia/Shanghai."""

PHONE = "13812345678"


def enqueue_alert(
    session: Session,
    key: str = "crew_alert:1:13812345678",
    *,
    body: str = "【故障抢修】测试",
    now: datetime = T0,
    trigger_at: datetime | None = None,
) -> outbox.EnqueueResult:
    """A crew alert to 王建国 (:data:`PHONE`) queued in the outbox at ``now``."""
    return outbox.enqueue(
        session,
        dedupe_key=key,
        kind="crew_alert",
        phone=PHONE,
        name="王建国",
        body=body,
        lang="zh",
        now=now,
        trigger_at=trigger_at,
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def smsc() -> Iterator[SmscSimulator]:
    with SmscSimulator(receipt_delay_s=0.05) as simulator:
        yield simulator


def make_sender(smsc: SmscSimulator, **kwargs: Any) -> SmppSender:
    return SmppSender(
        "127.0.0.1",
        smsc.port,
        "openoms",
        "secret",
        "95598",
        response_timeout_s=kwargs.pop("response_timeout_s", 2.0),
        reconnect_delay_s=kwargs.pop("reconnect_delay_s", 0.1),
        **kwargs,
    )


@pytest.fixture
def sender(smsc: SmscSimulator) -> Iterator[SmppSender]:
    with make_sender(smsc) as s:
        yield s


NODE_SMSC_DIR = Path(__file__).parent / "smsc_node"


def _node_or_skip() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node, npm
    reason = "node and npm are needed for the independent SMSC (npm package smpp)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; on CI they must be installed")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node_smsc_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``npm ci`` of tests/notify/smsc_node (its package-lock.json) into a temporary
    directory, once per session: the ``node_modules`` the server script runs with."""
    _, npm = _node_or_skip()
    where = tmp_path_factory.mktemp("smsc_node")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(NODE_SMSC_DIR / name, where / name)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        reason = f"npm ci of the test SMSC failed: {done.stderr.strip()[-500:]}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return where / "node_modules"


class NodeSmsc:
    """tests/notify/smsc_node/server.js in a node process: an SMSC on loopback whose every
    received PDU (decoded by the npm library) and every reassembled message is a line of
    :attr:`log` (see the script for the ``config`` keys)."""

    def __init__(self, modules: Path, workdir: Path, **config: Any) -> None:
        node, _ = _node_or_skip()
        self.log = workdir / "smsc.jsonl"
        self.log.touch()
        settings = {"system_id": "openoms", "password": "secret", "log": str(self.log)}
        settings |= config
        config_path = workdir / "smsc.json"
        config_path.write_text(json.dumps(settings), encoding="utf-8")
        self.process = subprocess.Popen(
            [node, str(NODE_SMSC_DIR / "server.js"), str(config_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ | {"NODE_PATH": str(modules)},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=5)
            error = self.process.stderr.read() if self.process.stderr else ""
            self.stop()
            raise RuntimeError(f"the node SMSC did not start: {error}")
        self.port = int(json.loads(line)["port"])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def records(self, event: str | None = None, **match: Any) -> list[dict[str, Any]]:
        """The lines logged so far (of ``event``, with the fields of ``match``)."""
        out = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            if event is not None and entry.get("event") != event:
                continue
            if all(entry.get(k) == v for k, v in match.items()):
                out.append(entry)
        return out

    def pdus(self, command: str) -> list[dict[str, Any]]:
        return self.records("pdu", command=command)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` every 20 ms until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def node_smsc(node_smsc_modules: Path, tmp_path: Path) -> Iterator[Callable[..., NodeSmsc]]:
    """Start a node SMSC with the given config (stopped after the test)."""
    started: list[NodeSmsc] = []

    def start(**config: Any) -> NodeSmsc:
        workdir = tmp_path / f"smsc{len(started)}"
        workdir.mkdir()
        smsc = NodeSmsc(node_smsc_modules, workdir, **config)
        started.append(smsc)
        return smsc

    yield start
    for smsc in started:
        smsc.stop()
