"""The order in which a county is built; every stage draws from the one seeded sequence, so
the order is part of the result."""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from openoms.grid.generate._county import County, CountyOptions
from openoms.grid.generate._feeders import build_feeder
from openoms.grid.generate._hv_customers import add_hv_customers
from openoms.grid.generate._output import emit
from openoms.grid.generate._places import assign_townships, place_townships_and_substations
from openoms.grid.generate._sensitive import add_sensitive_customers
from openoms.grid.generate._telecontrol import add_telecontrol
from openoms.grid.generate._ties import connect_ties
from openoms.grid.records import RawNetwork

__all__ = ["DEFAULT_SEED", "generate_county"]

DEFAULT_SEED: Final = 20261128


def generate_county(
    *,
    seed: int = DEFAULT_SEED,
    substations: int = 3,
    feeders_per_substation: int = 8,
    options: CountyOptions | None = None,
) -> RawNetwork:
    """A synthetic county 10 kV network, the same for the same arguments; see the package doc.

    >>> net = generate_county()
    >>> len(net.tables["substations"]), len(net.tables["feeders"])
    (3, 24)
    """
    county = County(seed, substations, feeders_per_substation, options or CountyOptions())
    with _cyclic_gc_paused():
        return _build(county)


def _build(county: County) -> RawNetwork:
    place_townships_and_substations(county)
    for s in range(county.n_substations):
        offset = county.draw.uniform(0.0, 2 * math.pi)
        for i in range(county.n_per_substation):
            bearing = offset + 2 * math.pi * i / county.n_per_substation
            build_feeder(county, s, i + 1, bearing + county.draw.uniform(-0.15, 0.15))
    connect_ties(county)
    node_township = assign_townships(county)
    add_hv_customers(county, node_township)
    add_sensitive_customers(county)
    raw = emit(county)
    add_telecontrol(raw, f"generator:{county.seed}")
    return raw


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a county is built: the build allocates
    millions of rows that all stay alive, which the collector would walk again and again (some
    40 % of the time of a county of a million nodes) to find nothing to free. Reference
    counting still frees everything as usual; the collector's previous state is restored."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
