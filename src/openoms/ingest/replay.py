"""Reading a file of recorded field messages, for ``openoms locate`` (replaying a past fault).

The file holds MQTT messages as they were received, in any of three forms (docs/faults.md):

- ``mosquitto_sub -v`` output: one message per line, ``<topic> <JSON payload>``;
- JSON Lines: one ``{"topic": ..., "payload": {...}}`` object per line;
- one JSON document ``{"messages": [{"topic": ..., "payload": {...}}, ...], "online": [...]}``
  where ``online`` optionally lists detectors known online at the time.

Every message goes through the same parser as the live MQTT intake (docs/events.md); a
message that parser refuses is an error naming the file, the line (or message index) and
what was wrong, and nothing is located.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from openoms.errors import InputError
from openoms.events import Event
from openoms.grid.model import Network
from openoms.grid.textfile import read_text
from openoms.ingest.payloads import Rejected, parse_mqtt

__all__ = ["RecordedMessages", "ReplayFileError", "read_messages"]

_SHOWN_TOPIC = 120  # characters of a topic shown in a problem


class ReplayFileError(InputError):
    """A file of recorded messages that cannot be replayed; lists every bad message (one
    problem, such as a file that is not text or not JSON, is said on one line)."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        if len(problems) == 1:
            super().__init__(f"{path}: {problems[0]}")
            return
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{path}: {len(problems)} bad message(s):\n{shown}{more}")


@dataclass(frozen=True, slots=True)
class RecordedMessages:
    events: tuple[Event, ...]
    online: frozenset[str] = field(default_factory=frozenset)


def _utility(topic: str) -> str:
    parts = topic.split("/")
    return parts[1] if len(parts) > 1 else ""


def _parse(network: Network, where: str, topic: object, payload: object) -> Event | str:
    if not isinstance(topic, str) or not topic:
        return f"{where}: topic: expected a string"
    raw = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    result = parse_mqtt(topic, raw.encode(), utility=_utility(topic), network=network)
    if isinstance(result, Rejected):
        shown = topic if len(topic) <= _SHOWN_TOPIC else f"{topic[:_SHOWN_TOPIC]}…"
        return f"{where}: {result.reason.value}: {result.detail} (topic {shown})"
    return result


def _document_items(text: str) -> tuple[list[tuple[str, object, object]], list[str], list[str]]:
    doc = json.loads(text)
    problems: list[str] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
        return [], ['document: expected {"messages": [...]}'], []
    online = doc.get("online", [])
    if not isinstance(online, list) or not all(isinstance(x, str) for x in online):
        problems.append("online: expected a list of detector ids")
        online = []
    items: list[tuple[str, object, object]] = []
    for i, message in enumerate(doc["messages"]):
        if not isinstance(message, dict):
            problems.append(f"messages[{i}]: expected an object with topic and payload")
            continue
        items.append((f"messages[{i}]", message.get("topic"), message.get("payload")))
    return items, problems, online


def _line_items(text: str) -> tuple[list[tuple[str, object, object]], list[str]]:
    items: list[tuple[str, object, object]] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"line {number}"
        if stripped.startswith("{"):
            try:
                message = json.loads(stripped)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not JSON: {exc.msg} (column {exc.colno})")
                continue
            except RecursionError:
                problems.append(f"{where}: not JSON: nested too deeply")
                continue
            if not isinstance(message, dict):
                problems.append(f"{where}: expected an object with topic and payload")
                continue
            items.append((where, message.get("topic"), message.get("payload")))
        else:
            topic, _, payload = stripped.partition(" ")
            items.append((where, topic, payload.strip()))
    return items, problems


def read_messages(path: Path, network: Network) -> RecordedMessages:
    """The events of a recorded-message file (UTF-8, or GBK / GB18030: detected); raises
    :class:`ReplayFileError`, or :class:`~openoms.grid.textfile.TextFileError` for a file
    that is not text."""
    text = read_text(path)
    online: list[str] = []
    try:
        if text.lstrip().startswith("{") and '"messages"' in text[:200]:
            items, problems, online = _document_items(text)
        else:
            items, problems = _line_items(text)
    except json.JSONDecodeError as exc:
        raise ReplayFileError(path, [f"line {exc.lineno}: not JSON: {exc.msg}"]) from exc
    except RecursionError as exc:
        raise ReplayFileError(path, ["not JSON: nested too deeply"]) from exc
    events: list[Event] = []
    for where, topic, payload in items:
        parsed = _parse(network, where, topic, payload)
        if isinstance(parsed, str):
            problems.append(parsed)
        else:
            events.append(parsed)
    problems += [f"online: unknown detector {d!r}" for d in online if d not in network]
    if not events and not problems:
        problems.append("no messages")
    if problems:
        raise ReplayFileError(path, problems)
    return RecordedMessages(tuple(events), frozenset(online))
