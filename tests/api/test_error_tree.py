"""Every error OpenOMS raises on purpose is in the :class:`OpenOMSError` tree, and every class
of the tree answers a problem document of the one table (or is, on purpose, a server's 500)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any, Final

import openoms
from openoms.api.problems import INTERNAL, lookup, problem_type_uri
from openoms.errors import OpenOMSError
from openoms.grid.topology import TopologyError
from tests.api.conftest import Api

NOT_IMPORTED: Final = (
    "openoms.data",  # the bundled networks and CSV files, not code
    "openoms.store.migrations.env",  # Alembic's env script: runs only inside Alembic
)

_SMSC = "a failure of the SMS centre's link, raised and handled in the outbox worker's thread"
_CHANNEL: Final = (
    "a notice channel (SMTP server, group robot webhook) that failed: raised and handled in "
    "the notice worker, never in a request; its message may name server addresses"
)
SERVER_SIDE: Final[dict[str, str]] = {
    "openoms.notify.smpp.SmppError": _SMSC,
    "openoms.notify.smpp.SmppUnavailableError": _SMSC,
    "openoms.notify.smpp.SmppRejectedError": _SMSC,
    "openoms.notify.smpp.SmppOutcomeUnknownError": _SMSC,
    "openoms.notify.cmpp.CmppUnavailableError": _SMSC,
    "openoms.notify.cmpp.CmppRejectedError": _SMSC,
    "openoms.notify.cmpp.CmppOutcomeUnknownError": _SMSC,
    "openoms.notify.cmpp_pdus.CmppDecodeError": "a CMPP PDU from the gateway that cannot be "
    "decoded: raised and handled in the CMPP link's thread (the link is dropped and "
    "re-opened), never in a request",
    "openoms.notify.channels.ChannelError": _CHANNEL,
    "openoms.notify.channels.ChannelUnavailableError": _CHANNEL,
    "openoms.notify.channels.ChannelRejectedError": _CHANNEL,
    "openoms.notify.channels.ChannelOutcomeUnknownError": _CHANNEL,
    "openoms.store.db.MigrationError": "the database could not be migrated: the operator's "
    "problem, at start-up or in `openoms db upgrade`; its message may name the database",
    "openoms.grid.snapshot.SnapshotError": "a network snapshot (a cache file on the server's "
    "disk) that cannot be trusted; the store answers None and the source is read again; its "
    "message names server paths",
}
"""Errors that are deliberately not in the table, by class: if one ever reaches a handler, it
is a bug of the server, answered as a logged 500 with an ``error_id`` and no detail."""


def _import_every_module() -> list[str]:
    imported = []
    for info in pkgutil.walk_packages(openoms.__path__, "openoms."):
        if info.name.startswith(NOT_IMPORTED):
            continue
        importlib.import_module(info.name)
        imported.append(info.name)
    return imported


def _subclasses(cls: type[OpenOMSError]) -> Iterator[type[OpenOMSError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _tree() -> list[type[OpenOMSError]]:
    """Every subclass of :class:`OpenOMSError` defined in OpenOMS (not in the tests)."""
    assert len(_import_every_module()) > 100
    found = {cls for cls in _subclasses(OpenOMSError) if cls.__module__.startswith("openoms.")}
    return sorted(found, key=_name)


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_every_error_of_the_tree_answers_a_problem_of_the_table() -> None:
    tree = _tree()
    assert TopologyError in tree
    unmapped, generic = [], []
    for cls in tree:
        if _name(cls) in SERVER_SIDE:
            continue
        entry = lookup(cls.__new__(cls))  # the class is what counts, not its fields
        if entry is None:
            unmapped.append(_name(cls))
        elif not 400 <= entry.status < 600 or entry.status == 500 or entry is INTERNAL:
            generic.append(f"{_name(cls)} → {entry.status} {entry.slug}")
    assert not unmapped, f"not in api/problems.py PROBLEM_TYPES (would answer 500): {unmapped}"
    assert not generic, f"not a 4xx or a specific 5xx: {generic}"


def test_the_server_side_errors_are_the_logged_500_on_purpose() -> None:
    tree = {_name(cls): cls for cls in _tree()}
    assert not set(SERVER_SIDE) - set(tree), "SERVER_SIDE names a class that is gone"
    for name, reason in SERVER_SIDE.items():
        cls = tree[name]
        assert reason
        assert lookup(cls.__new__(cls)) is None, f"{name} is in the table: drop it from the list"


def test_a_topology_error_in_a_route_is_a_problem_document(api: Api) -> None:
    path = "/api/v1/topology-question"
    sentence = "node 3 is in the station zone, which has no subtree; ask per feeder"

    def ask() -> None:
        raise TopologyError([sentence, "edge 99 is outside 0..14"])

    api.app.add_api_route(path, ask)
    response = api.get(path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == problem_type_uri("topology-query")
    assert (body["status"], body["instance"]) == (422, path)
    assert body["title"]
    assert sentence in body["detail"]
    assert body["problems"] == [sentence, "edge 99 is outside 0..14"]
    assert "error_id" not in body
