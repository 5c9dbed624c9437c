"""``openoms serve`` as a separate process, configured as in production (a TOML settings file),
and a small keep-alive HTTP/1.1 client to talk to it.

Shared by ``benchmarks/load.py`` and the service tests that run the real service
(``tests/service/test_load.py``, ``tests/service/test_crash_safety.py``), which import it as
``benchmarks._serve``; a script here imports it as ``_serve``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from openoms.grid.model import Network

__all__ = [
    "RUN",
    "Connection",
    "Service",
    "fault_indicators",
    "free_port",
    "http_get",
    "http_post",
    "once",
]

RUN: Final = [sys.executable, "-c", "from openoms.cli import run; run()"]
"""``openoms`` in a new process of this interpreter."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fault_indicators(network: Network) -> list[str]:
    """The fault indicators of ``network`` (the service runs the sample county): what a stream
    of field reports publishes for."""
    detectors = network.detectors
    return [d for d, k in zip(detectors.id, detectors.kind, strict=True) if k == "fault_indicator"]


@dataclass
class Service:
    """``openoms serve`` on the database ``url`` and the MQTT broker, its settings file and
    log in ``folder``, on a port and a utility (MQTT topics) of its own."""

    url: str
    folder: Path
    port: int
    utility: str
    env: dict[str, str]  # the environment of its processes: the settings file, no OPENOMS_*
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def configure(
        cls,
        folder: Path,
        url: str,
        broker: tuple[str, int],
        *,
        prefix: str = "serve",
        extra: Sequence[str] = (),
    ) -> Service:
        """Write ``folder/openoms.toml``: the sample county, ``url``, ``broker``, a free port,
        a utility named ``prefix`` and a random suffix, then the ``extra`` TOML lines."""
        utility = f"{prefix}{uuid.uuid4().hex[:8]}"
        port = free_port()
        config = folder / "openoms.toml"
        config.write_text(
            "\n".join(
                [
                    f"data_dir = {json.dumps(str(folder))}",
                    f"database_url = {json.dumps(url)}",
                    'network = "sample:county"',
                    f'utility = "{utility}"',
                    f'mqtt_host = "{broker[0]}"',
                    f"mqtt_port = {broker[1]}",
                    f'mqtt_client_id = "openoms-{utility}"',
                    f"http_port = {port}",
                    *extra,
                    "",
                ]
            ),
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENOMS_")} | {
            "OPENOMS_CONFIG": str(config)
        }
        return cls(url, folder, port, utility, env)

    @property
    def log(self) -> Path:
        """What the service writes (stdout and stderr), across restarts."""
        return self.folder / "serve.log"

    def token(self, name: str, role: str) -> str:
        """A new API token (``openoms token create``)."""
        done = subprocess.run(
            [*RUN, "token", "create", "--name", name, "--role", role],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"openoms token create: {done.stderr[-3000:]}")
        return done.stdout.strip().splitlines()[-1]

    def start(self, timeout_s: float = 120.0) -> None:
        """Start the service and wait until ``/api/v1/health`` answers 200."""
        with self.log.open("ab") as handle:  # the child keeps its own copy of the fd
            self.process = subprocess.Popen(
                [*RUN, "serve"], env=self.env, stdout=handle, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            status, _ = asyncio.run(once(self.port, http_get("/api/v1/health"), 2))
            if status == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the service did not come up:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: the service gets no chance to finish anything."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM and wait (SIGKILL after ``timeout_s``); nothing if it is not running."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Connection:
    """One keep-alive HTTP/1.1 connection over asyncio streams (lighter than any client
    library: the client must not be what limits many connections on a small machine);
    reopened after the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request (:func:`http_get`, :func:`http_post`): (status, body)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        body = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def once(port: int, raw: bytes, timeout: float) -> tuple[int | None, bytes]:
    """One request on a connection of its own: (status, body), or (None, b"") when there is
    no answer within ``timeout`` seconds."""
    connection = Connection(port)
    try:
        return await asyncio.wait_for(connection.request(raw), timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        return None, b""
    finally:
        connection.close()


def http_get(path: str, bearer: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {bearer}\r\n" if bearer else ""
    return f"GET {path} HTTP/1.1\r\nHost: openoms\r\n{auth}\r\n".encode()


def http_post(path: str, bearer: str, document: Any) -> bytes:
    body = json.dumps(document).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: openoms\r\nAuthorization: Bearer {bearer}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
