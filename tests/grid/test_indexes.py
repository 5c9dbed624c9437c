"""The linear-time groupings and lookups the query engines are set up from."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openoms.errors import UnknownDeviceError
from openoms.grid import network_from_raw
from openoms.grid.model import ElementKind, group_indices
from tests.grid.small import small_raw


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 200_000).flatmap(
        lambda n: st.tuples(st.just(n), st.lists(st.integers(0, n - 1), max_size=300))
    ),
    st.booleans(),
)
def test_group_indices_is_the_stable_grouping(case: tuple[int, list[int]], ordered: bool) -> None:
    n, values = case
    keys = np.asarray(sorted(values) if ordered else values, dtype=np.int32)
    indptr, order = group_indices(keys, n)
    assert indptr.dtype == order.dtype == np.int32
    assert np.array_equal(order, np.argsort(keys, kind="stable"))
    assert np.array_equal(indptr, np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=n))]))


def test_network_indexes() -> None:
    network = network_from_raw(small_raw())
    ids = list(network.detectors.id[::-1])
    assert network.indexes(ElementKind.DETECTOR, ids).tolist() == [
        network.locate(d)[1] for d in ids
    ]
    assert network.indexes(ElementKind.DETECTOR, []).tolist() == []
    with pytest.raises(UnknownDeviceError, match="'K1'"):
        network.indexes(ElementKind.DETECTOR, [*ids, "K1"])
    with pytest.raises(UnknownDeviceError, match="'nope'"):
        network.indexes(ElementKind.DETECTOR, ["nope"])
