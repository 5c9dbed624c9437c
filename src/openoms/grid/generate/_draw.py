"""Random draws that give the same sequence on every Python version.

Every draw is built on :meth:`random.Random.random`, the one method whose sequence Python
guarantees across versions (``randint``, ``choice`` and ``shuffle`` may change), so that the
same seed gives the same county everywhere.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["Draw"]

_T = TypeVar("_T")


class Draw:
    """Draws built only on ``random.Random.random``, whose sequence Python guarantees."""

    __slots__ = ("random",)

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed).random

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""
        return low + min(int(self.random() * (high - low + 1)), high - low)

    def chance(self, p: float) -> bool:
        return self.random() < p

    def side(self) -> float:
        return 1.0 if self.random() < 0.5 else -1.0

    def choice(self, items: Sequence[_T]) -> _T:
        return items[min(int(self.random() * len(items)), len(items) - 1)]

    def weighted(self, items: Sequence[tuple[_T, float]]) -> _T:
        point = self.random() * sum(w for _, w in items)
        for item, w in items:
            point -= w
            if point < 0:
                return item
        return items[-1][0]

    def shuffle(self, items: list[_T]) -> None:
        for i in range(len(items) - 1, 0, -1):
            j = self.integer(0, i)
            items[i], items[j] = items[j], items[i]
