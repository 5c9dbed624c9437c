"""What every lifecycle table (outage, fault event, outbox message) is tested for.

Each test module writes its table out by hand (rows: from; columns: allowed to) and checks
the code's table against it: every pair of states tried (:func:`check_pair`, parametrized over
:func:`every_pair`), and the table as a whole (:func:`assert_exhaustive`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Mapping
from enum import Enum
from typing import TypeVar

import pytest

from openoms.errors import InputError

__all__ = ["assert_exhaustive", "check_pair", "every_pair", "reachable", "without_way_out"]

S = TypeVar("S", bound=Enum)


def every_pair(states: type[S]) -> list[tuple[S, S]]:
    """(current, target) for every two states, a state with itself too."""
    return list(itertools.product(states, states))


def check_pair(
    move: Callable[[S, S], S],
    current: S,
    target: S,
    allowed: Mapping[S, Collection[S]],
    *,
    refused: type[InputError],
    says: str = "",
) -> None:
    """``move(current, target)`` gives ``target`` where ``allowed`` (the table written out by
    hand) has the pair; elsewhere it raises ``refused``, an :class:`InputError` that names both
    states, in attributes and in its text (which holds ``says`` too)."""
    if target in allowed[current]:
        assert move(current, target) is target
        return
    with pytest.raises(refused) as caught:
        move(current, target)
    error = caught.value
    assert isinstance(error, InputError)
    assert (getattr(error, "current", None), getattr(error, "target", None)) == (current, target)
    assert str(current) in str(error)
    assert str(target) in str(error)
    assert f"from {current} to {target}" in str(error)
    assert says in str(error)


def reachable(starts: Collection[S], table: Mapping[S, Collection[S]]) -> set[S]:
    """The states ``table`` leads to from ``starts``, ``starts`` included."""
    seen, frontier = set(starts), list(starts)
    while frontier:
        for nxt in table[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def without_way_out(table: Mapping[S, Collection[S]]) -> set[S]:
    """The final states: those ``table`` allows no move from."""
    return {state for state, out in table.items() if not out}


def assert_exhaustive(
    table: Mapping[S, Collection[S]],
    allowed: Mapping[S, Collection[S]],
    initial: Collection[S],
    terminal: Collection[S],
) -> None:
    """``table`` is ``allowed`` (written out by hand, a row for every state); every state is
    reached from ``initial``; no state moves to itself; and from every state one of
    ``terminal`` is reached."""
    assert {k: set(v) for k, v in table.items()} == {k: set(v) for k, v in allowed.items()}
    states = set(table)
    assert states == set(type(next(iter(states))))  # a row for every state
    assert reachable(initial, table) == states
    for state, out in table.items():
        assert state not in out  # staying put is never a transition
        assert reachable({state}, table) & set(terminal), state
