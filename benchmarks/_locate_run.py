"""Running the fault-location methods on the same seeded events and scoring them.

Methods per event (each gets the same observed statuses):

- ``locator``: ``FaultLocator.locate`` (prior "uniform", so that every method optimises the
  same objective) on the observations as ``openoms locate`` and the service make them: the
  event's reports (an alarm with its device time and phases from every alarmed detector, the
  silent ones known online or not heard from) grouped by ``group_observations`` before the
  clock starts (its time is kept apart, ``grouping``);
- ``objects``: ``FaultLocator.locate`` on a list of plain ``Observation`` objects (a
  detector and a status each), made before the clock starts;
- ``arrays``: ``FaultLocator.locate_status`` (the same answer from arrays of detector indexes
  and status codes: what bulk telemetry calls, no Python object per report);
- ``kernel``: the locator's array kernels on the benchmark's own detector tree (device
  weights from the statuses, path sums / tree DP, best zone, top three).
- ``exhaustive``: the minimum weighted-Hamming search (every zone, pair, triple).
- ``matrix``: the classic matrix algorithm.

The locator and the kernel are checked against the exhaustive optimum on every event.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any, Final

import numpy as np
from _locate_baselines import (
    ALARM,
    NO_ALARM,
    description_matrix,
    distort,
    exhaustive_multi,
    exhaustive_single,
    hamming_costs,
    matrix_method,
    multi_objective,
)
from _locate_cases import ZoneTree
from numpy.typing import NDArray

TOLERANCE: Final = 1e-9
EXTRA_FAULT_P: Final = 0.01
LAMBDA: Final = math.log((1 - EXTRA_FAULT_P) / EXTRA_FAULT_P)
METHODS: Final = ("locator", "objects", "arrays", "kernel", "exhaustive", "matrix")
T0: Final = datetime(2025, 1, 15, 2, 10, tzinfo=UTC)


@dataclass
class Feeder:
    """One feeder's detector tree with what every method needs, built once."""

    tree: ZoneTree
    false_alarm: NDArray[np.float64]
    miss: NDArray[np.float64]
    w_alarm: NDArray[np.float64]
    w_silent: NDArray[np.float64]
    d: Any  # network description matrix
    order: NDArray[np.int64]
    zero_prior: NDArray[np.float64]


def prepare(tree: ZoneTree, rates: Any) -> Feeder:
    a = np.array([rates[k].false_alarm for k in tree.kind], dtype=np.float64)
    m = np.array([rates[k].miss for k in tree.kind], dtype=np.float64)
    return Feeder(
        tree=tree,
        false_alarm=a,
        miss=m,
        w_alarm=np.log((1 - m) / a),
        w_silent=np.log(m / (1 - a)),
        d=description_matrix(tree.parent),
        order=np.arange(tree.n, dtype=np.int64),
        zero_prior=np.zeros(tree.n),
    )


@dataclass
class Event:
    feeder: int
    truth: tuple[int, ...]  # zone indexes of the faults
    status: NDArray[np.int8]
    distortions: list[tuple[int, str]]


def make_events(
    feeders: list[Feeder], *, n_events: int, n_faults: int, k: int, rng: np.random.Generator
) -> list[Event]:
    """Faults uniformly over the zones (a feeder in proportion to its zones); with several
    faults, zones of one feeder none of which is upstream of another; then ``k`` distortions."""
    sizes = np.array([f.tree.n for f in feeders], dtype=np.float64)
    eligible = sizes if n_faults == 1 else np.where(sizes >= 3 * n_faults, sizes, 0.0)
    events = []
    while len(events) < n_events:
        i = int(rng.choice(len(feeders), p=eligible / eligible.sum()))
        tree = feeders[i].tree
        faults = rng.choice(tree.n, size=n_faults, replace=False)
        if n_faults > 1 and any(
            a != b and a <= b < a + tree.size[a] for a in faults for b in faults
        ):
            continue
        status, done = distort(tree.expected_alarms(faults), k, rng)
        events.append(Event(i, tuple(sorted(faults.tolist())), status, done))
    return events


@dataclass
class Tally:
    """One method over one set of events."""

    events: int = 0
    top1: int = 0
    top3: int = 0
    in_region: int = 0
    answered: int = 0  # the method named at least one zone
    optimal: int = 0  # its answer scores the exhaustive optimum (locator, kernel)
    checked: int = 0
    times_us: list[float] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    grouping_us: list[float] = field(default_factory=list)  # locator: group_observations

    def summary(self) -> dict[str, Any]:
        t = sorted(self.times_us)
        share = (lambda x: x / self.events) if self.events else (lambda x: 0.0)
        return {
            "events": self.events,
            "top1": share(self.top1),
            "top3": share(self.top3),
            "in_region": share(self.in_region),
            "answered": share(self.answered),
            "optimal": self.optimal,
            "checked": self.checked,
            "median_us": median(t) if t else None,
            "mean_us": sum(t) / len(t) if t else None,
            "p95_us": t[int(0.95 * (len(t) - 1))] if t else None,
            "mismatches": self.mismatches[:10],
            "mismatch_count": len(self.mismatches),
            "first_us": self.times_us[0] if self.times_us else None,
            "grouping_median_us": median(self.grouping_us) if self.grouping_us else None,
        }


def _clock(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter_ns()
    out = fn()
    return out, (time.perf_counter_ns() - t0) / 1e3


def _observations(feeder: Feeder, status: NDArray[np.int8]) -> list[Any]:
    from openoms.faults.observations import Observation, Status

    names = {ALARM: Status.ALARM, NO_ALARM: Status.NO_ALARM}
    return [
        Observation(d, names.get(int(s), Status.NO_DATA))
        for d, s in zip(feeder.tree.ids, status.tolist(), strict=True)
    ]


def grouped(locator: Any, feeder: Feeder, status: NDArray[np.int8]) -> tuple[Any, float]:
    """The event as ``openoms locate`` and the service read it: a short-circuit report with
    its device time and phases from each alarmed detector, the silent ones known online (no
    alarm) or not heard from (no data), grouped by ``group_observations``; and the µs that
    took."""
    from openoms.faults.reports import group_observations

    ids = feeder.tree.ids
    payload = {"short_circuit": True, "fault_phases": ["A", "B"]}
    rows = [
        (ids[d], T0 + timedelta(milliseconds=d % 1000), payload)
        for d in np.flatnonzero(status == ALARM).tolist()
    ]
    online = {ids[d] for d in np.flatnonzero(status == NO_ALARM).tolist()}
    t0 = time.perf_counter_ns()
    group = group_observations(locator.network, ids, rows, online=online)
    return group.observations, (time.perf_counter_ns() - t0) / 1e3


# (locator, feeder id) → detector indexes; the locator is kept so that its id stays its own.
_DETECTORS: dict[tuple[int, str], tuple[Any, NDArray[np.int64]]] = {}
_CODES: Final = {ALARM: 1, NO_ALARM: 0}


def _status_arrays(
    locator: Any, feeder: Feeder, status: NDArray[np.int8]
) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
    """Detector indexes of the feeder's zones (once per feeder) and the locator's codes."""
    key = (id(locator), feeder.tree.feeder)
    cached = _DETECTORS.get(key)
    if cached is None:
        found = np.array([locator.network.locate(z)[1] for z in feeder.tree.ids], dtype=np.int64)
        _DETECTORS[key] = (locator, found)
    else:
        found = cached[1]
    codes = np.full(status.shape, -1, dtype=np.int8)
    for value, code in _CODES.items():
        codes[status == value] = code
    return found, codes


def kernel_single(feeder: Feeder, status: NDArray[np.int8]) -> NDArray[np.int64]:
    """Best zone first, then the next two: weights, path sums, top three."""
    from openoms.faults.kernels import single_fault_scores

    w = np.where(status == ALARM, feeder.w_alarm, np.where(status == NO_ALARM, feeder.w_silent, 0))
    s = single_fault_scores(feeder.tree.parent, feeder.order, w, feeder.zero_prior)
    top = np.argpartition(-s, 2)[:3] if s.size > 3 else np.arange(s.size)
    return top[np.argsort(-s[top], kind="stable")]


def kernel_multi(feeder: Feeder, status: NDArray[np.int8], max_faults: int) -> NDArray[np.int64]:
    from openoms.faults.kernels import multi_fault_dp_limited

    w = np.where(status == ALARM, feeder.w_alarm, np.where(status == NO_ALARM, feeder.w_silent, 0))
    faults, _ = multi_fault_dp_limited(feeder.tree.parent, feeder.order, w, LAMBDA, max_faults)
    return np.flatnonzero(faults)


def run_single(
    feeders: list[Feeder],
    events: list[Event],
    locator: Any | None,
    *,
    exhaustive: bool = True,
    case: str,
) -> dict[str, Tally]:
    """Single-fault events through every method."""
    tallies = {m: Tally() for m in METHODS}
    for number, e in enumerate(events):
        f = feeders[e.feeder]
        truth = e.truth[0]
        h: NDArray[np.float64] | None = None
        if exhaustive:
            h, us = _clock(
                lambda f=f, e=e: exhaustive_single(
                    f.tree.size, *hamming_costs(e.status, f.false_alarm, f.miss), f.zero_prior
                )
            )
            order = np.argsort(h, kind="stable")[:3]
            _score(
                tallies["exhaustive"],
                us,
                best=[int(order[0])],
                top3=order.tolist(),
                truth=truth,
                region=None,
            )
        top, us = _clock(lambda f=f, e=e: kernel_single(f, e.status))
        _score(
            tallies["kernel"], us, best=[int(top[0])], top3=top.tolist(), truth=truth, region=None
        )
        _check(tallies["kernel"], h, best=(int(top[0]),), f=f, e=e, case=case, number=number)
        found, us = _clock(lambda f=f, e=e: matrix_method(f.d, e.status))
        _score_set(tallies["matrix"], us, found.tolist(), e.truth)
        if locator is not None:
            index = {z: i for i, z in enumerate(f.tree.ids)}
            group, grouping_us = grouped(locator, f, e.status)
            tallies["locator"].grouping_us.append(grouping_us)
            observations = _observations(f, e.status)
            for method, given in (("locator", group), ("objects", observations)):
                try:
                    loc, us = _clock(lambda f=f, o=given: locator.locate(f.tree.feeder, o))
                except Exception as error:  # reported with the event; the run goes on
                    _failed(tallies[method], error, f=f, e=e, case=case, number=number)
                    continue
                best = [index[z] for z in loc.best]
                top3 = [index[c.zone] for c in loc.candidates[:3]]
                region = {index[z] for z in loc.region}
                _score(tallies[method], us, best=best, top3=top3, truth=truth, region=region)
                _check(tallies[method], h, best=tuple(best), f=f, e=e, case=case, number=number)
            detectors, codes = _status_arrays(locator, f, e.status)
            loc, us = _clock(
                lambda f=f, d=detectors, c=codes: locator.locate_status(f.tree.feeder, d, c)
            )
            best = [index[z] for z in loc.best]
            top3 = [index[c.zone] for c in loc.candidates[:3]]
            region = {index[z] for z in loc.region}
            _score(tallies["arrays"], us, best=best, top3=top3, truth=truth, region=region)
            _check(tallies["arrays"], h, best=tuple(best), f=f, e=e, case=case, number=number)
    return tallies


def run_multi(
    feeders: list[Feeder], events: list[Event], locator: Any | None, *, max_faults: int, case: str
) -> dict[str, Tally]:
    """Several-fault events: exact set wanted; the objective ``H(F) + λ·|F|``."""
    tallies = {m: Tally() for m in METHODS}
    for number, e in enumerate(events):
        f = feeders[e.feeder]
        costs = hamming_costs(e.status, f.false_alarm, f.miss)
        (best, value), us = _clock(
            lambda f=f, c=costs: exhaustive_multi(
                f.tree.size, *c, lam=LAMBDA, max_faults=max_faults
            )
        )
        _score_set(tallies["exhaustive"], us, list(best), e.truth)
        found, us = _clock(lambda f=f, e=e: kernel_multi(f, e.status, max_faults))
        _score_set(tallies["kernel"], us, found.tolist(), e.truth)
        _check_multi(
            tallies["kernel"],
            value,
            chosen=found.tolist(),
            f=f,
            costs=costs,
            e=e,
            case=case,
            number=number,
        )
        found, us = _clock(lambda f=f, e=e: matrix_method(f.d, e.status))
        _score_set(tallies["matrix"], us, found.tolist(), e.truth)
        if locator is not None:
            index = {z: i for i, z in enumerate(f.tree.ids)}
            group, grouping_us = grouped(locator, f, e.status)
            tallies["locator"].grouping_us.append(grouping_us)
            observations = _observations(f, e.status)
            for method, given in (("locator", group), ("objects", observations)):
                try:
                    loc, us = _clock(
                        lambda f=f, o=given: locator.locate(
                            f.tree.feeder,
                            o,
                            max_faults=max_faults,
                            extra_fault_probability=EXTRA_FAULT_P,
                        )
                    )
                except Exception as error:  # reported with the event; the run goes on
                    _failed(tallies[method], error, f=f, e=e, case=case, number=number)
                    continue
                chosen = [index[z] for z in loc.best]
                _score_set(tallies[method], us, chosen, e.truth)
                tallies[method].in_region += set(e.truth) <= {index[z] for z in loc.region}
                _check_multi(
                    tallies[method],
                    value,
                    chosen=chosen,
                    f=f,
                    costs=costs,
                    e=e,
                    case=case,
                    number=number,
                )
            detectors, codes = _status_arrays(locator, f, e.status)
            loc, us = _clock(
                lambda f=f, d=detectors, c=codes: locator.locate_status(
                    f.tree.feeder,
                    d,
                    c,
                    max_faults=max_faults,
                    extra_fault_probability=EXTRA_FAULT_P,
                )
            )
            chosen = [index[z] for z in loc.best]
            _score_set(tallies["arrays"], us, chosen, e.truth)
            tallies["arrays"].in_region += set(e.truth) <= {index[z] for z in loc.region}
            _check_multi(
                tallies["arrays"],
                value,
                chosen=chosen,
                f=f,
                costs=costs,
                e=e,
                case=case,
                number=number,
            )
    return tallies


def _failed(t: Tally, error: Exception, *, f: Feeder, e: Event, case: str, number: int) -> None:
    """An exception from the method: counted as a wrong, non-optimal answer and kept."""
    t.events += 1
    t.checked += 1
    report = _mismatch(case, number, f=f, e=e, got=[], value=math.nan, optimum=math.nan)
    report.update(answer_objective=None, optimum=None, error=f"{type(error).__name__}: {error}")
    t.mismatches.append(report)


def _score(
    t: Tally, us: float, *, best: list[int], top3: list[int], truth: int, region: set[int] | None
) -> None:
    t.events += 1
    t.times_us.append(us)
    t.answered += bool(best)
    t.top1 += best[:1] == [truth]
    t.top3 += truth in top3[:3]
    t.in_region += region is not None and truth in region


def _score_set(t: Tally, us: float, found: list[int], truth: tuple[int, ...]) -> None:
    """A set answer (the matrix method; several faults): top-1 when it is exactly the truth,
    top-3 when it holds the truth among at most three zones (one fault)."""
    t.events += 1
    t.times_us.append(us)
    t.answered += bool(found)
    t.top1 += sorted(found) == sorted(truth)
    t.top3 += set(truth) <= set(found) and len(found) <= max(3, len(truth))


def _check(
    t: Tally,
    h: NDArray[np.float64] | None,
    *,
    best: tuple[int, ...],
    f: Feeder,
    e: Event,
    case: str,
    number: int,
) -> None:
    if h is None:
        return
    t.checked += 1
    low = float(h.min())
    got = float(h[best[0]]) if len(best) == 1 else math.inf
    if got - low <= TOLERANCE * max(1.0, abs(low)):
        t.optimal += 1
        return
    t.mismatches.append(
        _mismatch(case, number, f=f, e=e, got=[f.tree.ids[b] for b in best], value=got, optimum=low)
    )


def _check_multi(
    t: Tally,
    value: float,
    *,
    chosen: list[int],
    f: Feeder,
    costs: tuple[Any, Any],
    e: Event,
    case: str,
    number: int,
) -> None:
    t.checked += 1
    got = multi_objective(np.array(chosen, dtype=np.int64), f.tree.size, *costs, lam=LAMBDA)
    if got - value <= TOLERANCE * max(1.0, abs(value)):
        t.optimal += 1
        return
    t.mismatches.append(
        _mismatch(
            case, number, f=f, e=e, got=[f.tree.ids[c] for c in chosen], value=got, optimum=value
        )
    )


def _mismatch(
    case: str, number: int, *, f: Feeder, e: Event, got: list[str], value: float, optimum: float
) -> dict[str, Any]:
    return {
        "case": case,
        "event": number,
        "feeder": f.tree.feeder,
        "truth": [f.tree.ids[z] for z in e.truth],
        "answer": got,
        "answer_objective": value,
        "optimum": optimum,
        "distortions": [(f.tree.ids[d], what) for d, what in e.distortions],
        "alarms": [f.tree.ids[d] for d in np.flatnonzero(e.status == ALARM).tolist()],
    }
