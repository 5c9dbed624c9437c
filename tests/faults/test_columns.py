"""Observations as columns (``ObservationColumns``, what ``group_observations`` makes for
``openoms locate`` and the service): the same answers as the same observations as objects, on
every case and on random events with times, phases, directions and earth-fault and
loss-of-voltage flags; the same errors; and the reports grouped into them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openoms.faults import (
    FaultLocator,
    InvalidObservationError,
    Observation,
    ObservationColumns,
    Status,
)
from openoms.faults.observations import STATUS_CODES
from openoms.faults.reports import FaultMode, feeder_detectors, group_observations
from openoms.grid import Location, Network, Topology, network_from_raw
from openoms.grid.load import read_network_records
from openoms.samples import network_path
from tests.faults.cases import case_names, load_case

T0 = datetime(2025, 1, 15, 2, 10, tzinfo=UTC)


def columns(locator: FaultLocator, observations: list[Observation]) -> ObservationColumns:
    """The observations as columns of the locator's network, detailed where not plain."""
    network = locator.network
    ids = network.detectors.id
    index = {d: i for i, d in enumerate(ids)}
    detail = {i: o for i, o in enumerate(observations) if o != Observation(o.detector, o.status)}
    return ObservationColumns(
        ids,
        [index[o.detector] for o in observations],
        [STATUS_CODES[o.status] for o in observations],
        detail,
    )


@pytest.mark.parametrize("name", case_names())
def test_every_case_gives_the_same_answer_from_columns(name: str) -> None:
    locator, options, observations, _ = load_case(name)
    assert locator.locate(observations=columns(locator, observations), **options) == (
        locator.locate(observations=observations, **options)
    )


@cache
def ieee33_everywhere() -> FaultLocator:
    """IEEE 33 with an FTU on every branch, every third one directional."""
    raw = read_network_records(network_path("sample:ieee33"))
    for i, row in enumerate(list(raw.table("sections").rows)):
        raw.add(
            "detectors",
            {
                "id": f"FTU-{row['id']}",
                "kind": "ftu",
                "branch": row["id"],
                "directional": "true" if i % 3 == 0 else "false",
            },
            Location("tests/faults/test_columns.py", element=row["id"]),
        )
    network = network_from_raw(raw)
    return FaultLocator(network, Topology.build(network.graph_arrays(), network.closed_edges()))


def _observation(rng: random.Random, detector: str, status: Status) -> Observation:
    if status is not Status.ALARM:
        return (
            Observation(detector, status, device_time=T0)
            if rng.random() < 0.1
            else (Observation(detector, status))
        )
    if rng.random() < 0.3:
        return Observation(detector, status)
    phases = tuple(sorted(rng.sample("ABC", rng.randint(0, 3))))
    extra: dict[str, Any] = {}
    if rng.random() < 0.6:
        extra["device_time"] = T0 + timedelta(seconds=rng.random() * 3)
    if rng.random() < 0.2:
        extra["permanent"] = rng.choice([True, False])
    if rng.random() < 0.5:
        extra["direction"] = rng.choice([1, -1])
    signal = rng.random()
    if signal < 0.4:
        extra.update(fault_phases=phases, earth_fault=rng.random() < 0.3)
    elif signal < 0.7:
        extra.update(earth_fault=True, earth_fault_phases=phases[:1])
    else:
        extra["loss_of_voltage_phases"] = phases[:2] or ("A",)
    return Observation(detector, status, **extra)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_random_events_give_the_same_answer_from_columns(seed: int) -> None:
    locator = ieee33_everywhere()
    rng = random.Random(seed)
    zones = locator.zones_of_feeder("F1")
    by_id = {z.id: z for z in zones}
    zone = zones[rng.randrange(len(zones))]
    above: set[str] = set()
    while True:
        above.update(zone.detectors)
        if zone.parent is None:
            break
        zone = by_id[zone.parent]
    plain_only = rng.random() < 0.3  # bare statuses: the benchmark's kind of event
    observations = []
    for detector in (d for z in zones for d in z.detectors):
        r = rng.random()
        if r < 0.1:
            status = Status.NO_DATA
        else:
            status = Status.ALARM if (detector in above) != (r < 0.15) else Status.NO_ALARM
        if status is Status.NO_DATA and rng.random() < 0.5:
            continue
        observation = _observation(rng, detector, status)
        observations.append(Observation(detector, status) if plain_only else observation)
    rng.shuffle(observations)
    options: dict[str, Any] = {
        "max_faults": rng.choice([1, 1, 2]),
        "trip_seen": rng.random() < 0.7,
        "reclosed": rng.choice([None, True, False]),
    }
    as_columns = columns(locator, observations)
    assert list(as_columns) == observations
    expected = locator.locate("F1", observations, **options)
    assert locator.locate("F1", as_columns, **options) == expected
    if plain_only:
        index = locator.network.detectors.id.index
        detectors = np.array([index(o.detector) for o in observations], dtype=np.int64)
        codes = np.array([STATUS_CODES[o.status] for o in observations], dtype=np.int8)
        bulk = locator.locate_status("F1", detectors, codes, **options)
        assert (bulk.best, bulk.region, bulk.ties) == (
            expected.best,
            expected.region,
            expected.ties,
        )


def test_columns_of_another_table_and_the_errors_are_the_same() -> None:
    locator = ieee33_everywhere()
    ids = locator.network.detectors.id
    own = ObservationColumns(ids, [0, 1, 2], [1, 1, 0])
    other = ObservationColumns(("x", *ids), [1, 2, 3], [1, 1, 0])  # same ids, shifted
    assert locator.locate("F1", own) == locator.locate("F1", other)
    bad = [
        Observation(ids[0], Status.ALARM),
        Observation(ids[1], Status.ALARM, direction=2),
        Observation("nope", Status.NO_ALARM),
        Observation(ids[0], Status.NO_ALARM),
    ]
    with pytest.raises(InvalidObservationError) as from_objects:
        locator.locate("F1", bad)
    table = ("nope", *ids)
    with pytest.raises(InvalidObservationError) as from_columns:
        locator.locate(
            "F1",
            ObservationColumns(table, [1, 2, 0, 1], [1, 1, 0, 0], {1: bad[1]}),
        )
    assert from_columns.value.problems == from_objects.value.problems
    assert len(from_objects.value.problems) == 3  # the direction, 'nope', the repeat


def test_the_columns_are_a_sequence_of_observations() -> None:
    detailed = Observation("b", Status.ALARM, device_time=T0, fault_phases=("A",))
    obs = ObservationColumns(("a", "b", "c"), [0, 1, 2], [-1, 0, 1], {1: detailed})
    assert len(obs) == 3
    assert obs[0] == Observation("a", Status.NO_DATA)
    assert obs[1] is detailed  # its own status wins over the column
    assert obs.status_codes.tolist() == [-1, 1, 1]
    assert obs[-1] == Observation("c", Status.ALARM)
    assert obs[1:] == (detailed, Observation("c", Status.ALARM))
    assert obs == (Observation("a", Status.NO_DATA), detailed, Observation("c", Status.ALARM))
    assert obs != (Observation("a", Status.NO_DATA),)
    with pytest.raises(IndexError):
        obs[3]
    for args, message in (
        (((), [0], [1]), r"detectors\[0\] = 0 is outside 0..-1"),
        ((("a",), [0], [2]), r"status\[0\] = 2 is not 1, 0 or -1"),
        ((("a",), [0, 0], [1]), "1-D and of one length"),
        ((("a", "b"), [0], [1], {0: Observation("b", Status.ALARM)}), "for a report of 'a'"),
        ((("a",), [0], [1], {3: Observation("a", Status.ALARM)}), r"detail\[3\]: no report"),
    ):
        with pytest.raises(InvalidObservationError, match=message):
            ObservationColumns(*args)


def _county() -> tuple[Network, FaultLocator]:
    network = network_from_raw(read_network_records(network_path("sample:county")))
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    return network, FaultLocator(network, topology)


def test_grouped_reports_by_hand() -> None:
    network, locator = _county()
    feeder = network.feeders.id[0]
    detectors = feeder_detectors(network, locator.zones_of_feeder(feeder))
    relays = [d for d in detectors if network.detectors.kind[network.locate(d)[1]] == "relay"]
    others = [d for d in detectors if d not in relays]
    breaker = network.edge_id(int(network.detectors.edge[network.locate(relays[0])[1]]))
    alarm, heartbeat, online = others[0], others[1], others[2]
    rows: list[tuple[str, datetime, dict[str, Any]]] = [
        (alarm, T0 + timedelta(seconds=2), {"short_circuit": True, "fault_phases": ["B", "A"]}),
        (alarm, T0 + timedelta(seconds=1), {"short_circuit": True, "fault_direction": 1}),
        (heartbeat, T0, {}),
        ("elsewhere", T0, {"short_circuit": True}),
    ]
    group = group_observations(
        network, detectors, rows, online={online}, tripped={breaker: T0 - timedelta(seconds=1)}
    )
    assert isinstance(group.observations, ObservationColumns)
    assert (group.mode, group.reports, group.alarms) == (FaultMode.SHORT_CIRCUIT, 4, 2)
    said = {o.detector: o for o in group.observations}
    assert list(said) == detectors
    assert said[alarm] == Observation(
        alarm,
        Status.ALARM,
        device_time=T0 + timedelta(seconds=1),
        fault_phases=("A", "B"),
        direction=1,
    )
    assert said[relays[0]] == Observation(
        relays[0], Status.ALARM, device_time=T0 - timedelta(seconds=1)
    )
    assert said[heartbeat] == Observation(heartbeat, Status.NO_ALARM)
    assert said[online] == Observation(online, Status.NO_ALARM)
    assert all(said[d] == Observation(d, Status.NO_DATA) for d in [*others[3:], *relays[1:]])
    as_objects = list(group.observations)
    assert locator.locate(feeder, group.observations) == locator.locate(feeder, as_objects)


def test_phases_without_the_flag_of_the_mode_are_no_alarm_and_locate() -> None:
    """A short-circuit report during an earth fault, and a firmware that fills the phase
    lists without raising a flag: heard as "no alarm" without phases (the locator refuses
    phases on a non-alarm), so the fault still locates instead of the whole event failing."""
    network, locator = _county()
    feeder = network.feeders.id[0]
    detectors = feeder_detectors(network, locator.zones_of_feeder(feeder))
    relays = {d for d in detectors if network.detectors.kind[network.locate(d)[1]] == "relay"}
    first, second, third = [d for d in detectors if d not in relays][:3]
    rows: list[tuple[str, datetime, dict[str, Any]]] = [
        (first, T0, {"earth_fault": True, "earth_fault_phases": ["C"]}),
        (second, T0, {"short_circuit": True, "fault_phases": ["A", "B"]}),
        (third, T0, {"fault_phases": ["A"], "loss_of_voltage_phases": ["B"]}),
    ]
    group = group_observations(network, detectors, rows, mode=FaultMode.EARTH_FAULT)
    said = {o.detector: o for o in group.observations}
    assert said[first] == Observation(
        first, Status.ALARM, device_time=T0, earth_fault=True, earth_fault_phases=("C",)
    )
    assert said[second] == Observation(second, Status.NO_ALARM, device_time=None)
    assert said[third] == Observation(third, Status.NO_ALARM, device_time=None)
    location = locator.locate(feeder, group.observations)
    assert location.best


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), plain=st.integers(0, 5))
def test_column_summaries_are_the_object_ones(seed: int, n: int, plain: int) -> None:
    """fault time (the lower median, ties included), type and permanence from the detail
    columns equal the functions on the observations."""
    from zoneinfo import ZoneInfo

    from openoms.faults.likelihood import Signal
    from openoms.faults.observations import DetailColumns
    from openoms.faults.summary import (
        fault_time,
        fault_time_of,
        fault_type,
        fault_type_of,
        permanence,
        permanence_of,
    )

    rng = random.Random(seed)
    zones = [UTC, ZoneInfo("UTC"), timezone(timedelta(0))]
    alarms = []
    for i in range(n):
        when = T0 + timedelta(seconds=rng.choice([0, 0, 1, 2, rng.random()]))
        alarms.append(
            Observation(
                f"d{i}",
                Status.ALARM,
                device_time=when.replace(tzinfo=rng.choice(zones)) if rng.random() < 0.8 else None,
                fault_phases=tuple(sorted(rng.sample("ABC", rng.randint(0, 3)))),
                earth_fault=rng.random() < 0.4,
                earth_fault_phases=tuple(rng.sample("ABC", rng.randint(0, 2))),
                loss_of_voltage_phases=tuple(rng.sample("ABC", rng.randint(0, 3))),
                permanent=rng.choice([None, True, False]),
            )
        )
    details = DetailColumns.of(alarms)
    assert not details.problems
    rows = np.arange(n, dtype=np.int64)
    got = fault_time_of(details, rows)
    want = fault_time(alarms)
    assert got == want
    if got is not None and want is not None:
        assert got.tzinfo is want.tzinfo  # the very same time tag
    for signal in Signal:
        assert fault_type_of(signal, details, rows, plain=plain) == fault_type(
            signal, alarms, plain=plain
        )
    for reclosed in (None, True, False):
        assert permanence_of(reclosed, details, rows) == permanence(reclosed, alarms)
