"""Compile (or load the compiled) numba kernels before a user waits for an answer.

The engines' inner loops are numba kernels compiled with ``cache=True``: the first call after
an install compiles them (seconds per group, tens of seconds for all), later processes load the
machine code from the cache (``__pycache__`` beside the modules, numba's user-wide cache when
that is read-only, or ``$NUMBA_CACHE_DIR``; ``openoms`` points it into the data folder when
the package is read-only). :func:`warm_up` runs each group's kernels on the sample county
through the same calls the commands and the service make (so the same argument types are
compiled), one group at a time, reporting each with its duration: ``openoms warm-up`` runs it,
and so do ``openoms demo`` and ``openoms serve`` at start. :func:`cold_groups` says which groups
have no machine code on disk yet (a command then says it is compiling, instead of going quiet
for seconds).
"""

from __future__ import annotations

import csv
import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from itertools import islice
from pathlib import Path
from typing import Any, Final

import numpy as np

from openoms.grid.model import Network
from openoms.i18n import Lang
from openoms.samples import bundled_path

__all__ = [
    "GROUPS",
    "KernelGroup",
    "cold_groups",
    "compile_with_progress",
    "group_named",
    "kernel_dispatchers",
    "sample_network",
    "warm_up",
]

_HISTORY_ROWS: Final = 400  # of the sample county's history: every kind of row, in ms


@dataclass(frozen=True, slots=True)
class KernelGroup:
    """The kernels of one engine and a run of them on the sample county."""

    name: str
    title_zh: str
    title_en: str
    modules: tuple[str, ...]  # the modules whose numba dispatchers the run compiles
    run: Callable[[Network], None]

    def title(self, lang: Lang) -> str:
        return self.title_zh if lang is Lang.ZH else self.title_en


def _warm_topology(network: Network) -> None:
    from openoms.grid.topology import Topology  # noqa: PLC0415

    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    heads = network.feeders.head_edge
    first = topology.feeder_nodes(0)
    if len(first):
        topology.path_to_source(int(first[-1]))
    edge = int(topology.parent_edge_of_nodes[first[-1]]) if len(first) else int(heads[0])
    topology.preview([(edge, False)])  # regrow, undone
    topology.operate([(int(heads[0]), False)])
    topology.operate([(int(heads[0]), True)])
    busbar_edges = np.flatnonzero(
        (topology.feeder_of_nodes[network.edge_from] == -2)
        & (topology.feeder_of_nodes[network.edge_to] == -2)
        & topology.closed
    )
    if len(busbar_edges):  # an edge of the station zone: the full rebuild
        topology.preview([(int(busbar_edges[0]), False)])


def _warm_faults(network: Network) -> None:
    from openoms.faults.locator import FaultLocator  # noqa: PLC0415
    from openoms.faults.observations import Observation, Status  # noqa: PLC0415
    from openoms.grid.topology import Topology  # noqa: PLC0415

    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    locator = FaultLocator(network, topology)
    lower = network.edge_to[network.detectors.edge]
    feeder_of = topology.feeder_of_nodes[lower]
    if not np.any(feeder_of >= 0):
        return
    feeder = int(np.argmax(np.bincount(feeder_of[feeder_of >= 0])))
    feeder_id = network.feeders.id[feeder]
    rows = np.flatnonzero(feeder_of == feeder)
    ids = [network.detectors.id[i] for i in rows.tolist()]
    short = [
        Observation(d, Status.ALARM, fault_phases=("A", "B"))
        if i < 2
        else Observation(d, Status.NO_ALARM)
        for i, d in enumerate(ids)
    ]
    lost = [Observation(d, Status.ALARM, loss_of_voltage_phases=("A", "B", "C")) for d in ids]
    n_zones = locator.zone_tree(feeder_id).n_zones
    for max_faults in (1, 2, max(n_zones, 1)):
        locator.locate(feeder_id, short, max_faults=max_faults)
    locator.locate(feeder_id, lost)
    status = np.zeros(len(rows), dtype=np.int8)
    status[:2] = 1
    locator.locate_status(feeder_id, rows.astype(np.int64), status)


def _warm_reliability(network: Network) -> None:
    from openoms.reliability import compute, parse_history  # noqa: PLC0415
    from openoms.reliability.base import customer_base_from_network  # noqa: PLC0415

    base = customer_base_from_network(network)
    history = Path(str(files("openoms").joinpath("data", "sample_county_history.csv")))
    with history.open(newline="", encoding="utf-8") as handle:
        rows = list(islice(csv.reader(handle), _HISTORY_ROWS))
    parsed = parse_history(rows, base, source=history.name)
    interruptions, avoided = parsed.interruptions(), parsed.avoided()
    start = int(interruptions.start.min()) if len(interruptions.start) else 0
    end = int(interruptions.start.max()) + 1 if len(interruptions.start) else 86_400
    for by in (None, "month", "feeder"):
        compute(interruptions, base, start=start, end=end, by=by, avoided=avoided)


GROUPS: Final[tuple[KernelGroup, ...]] = (
    KernelGroup("topology", "拓扑分析", "topology", ("openoms.grid._kernels",), _warm_topology),
    KernelGroup(
        "faults",
        "故障定位",
        "fault location",
        ("openoms.faults.kernels", "openoms.faults.zones"),
        _warm_faults,
    ),
    KernelGroup(
        "reliability",
        "可靠性统计",
        "reliability",
        ("openoms.reliability._kernels",),
        _warm_reliability,
    ),
)


def group_named(name: str) -> KernelGroup:
    for group in GROUPS:
        if group.name == name:
            return group
    raise KeyError(name)


def kernel_dispatchers(group: KernelGroup) -> dict[str, Any]:
    """``module.name`` → numba dispatcher for every kernel of ``group`` (imports numba)."""
    out: dict[str, Any] = {}
    for name in group.modules:
        module = importlib.import_module(name)
        compile_all = getattr(module, "compile_kernels", None)
        if compile_all is not None:  # a module that hands its kernels to numba lazily
            compile_all()
        for attribute, value in vars(module).items():
            if hasattr(value, "py_func") and hasattr(value, "stats"):
                out[f"{name}.{attribute}"] = value
    return out


def _has_machine_code(dispatcher: Any) -> bool:
    """Whether numba's cache folder has an index for ``dispatcher`` (numba's file naming:
    ``<module>.<qualname>-<first line>.py<version>.nbi``); ``True`` when unsure."""
    try:
        folder = Path(dispatcher.stats.cache_path)
        function = dispatcher.py_func
        qualname = function.__qualname__.replace("<locals>", "").replace(".", "_")
        line = function.__code__.co_firstlineno
    except (AttributeError, TypeError):
        return True
    return any(folder.glob(f"*.{qualname}-{line}.py*.nbi"))


def cold_groups(groups: Sequence[KernelGroup] = GROUPS) -> list[KernelGroup]:
    """The groups with a kernel that numba would compile now (nothing cached on disk)."""
    return [g for g in groups if not all(map(_has_machine_code, kernel_dispatchers(g).values()))]


def sample_network(data_dir: Path | None = None) -> Network:
    """The sample county, from its snapshot in ``data_dir`` when there is one (and saving one
    when not), else read and checked."""
    from openoms.grid.load import load_network  # noqa: PLC0415  (scipy: only when read)

    source = bundled_path("sample:county")
    if data_dir is None:
        return load_network(source)
    from openoms.grid.snapshot import SnapshotStore, indexed  # noqa: PLC0415

    store = SnapshotStore(data_dir / "snapshots")
    snapshot, key = store.load(source)
    if snapshot is not None:
        return snapshot.network
    network = load_network(source)
    store.save(source, indexed(network), key)
    return network


def warm_up(
    groups: Sequence[KernelGroup] = GROUPS,
    *,
    network: Network | None = None,
    data_dir: Path | None = None,
    progress: Callable[[KernelGroup, float], None] | None = None,
) -> float:
    """Compile or load every kernel of ``groups``, one group at a time; ``progress`` gets each
    group and its seconds. ``network``: the sample county if already loaded (else it is
    loaded, from ``data_dir``'s snapshots when given). Returns the total seconds."""
    start = time.perf_counter()
    county = network if network is not None else sample_network(data_dir)
    for group in groups:
        t0 = time.perf_counter()
        kernel_dispatchers(group)
        group.run(county)
        if progress is not None:
            progress(group, time.perf_counter() - t0)
    return time.perf_counter() - start


def compile_with_progress(
    write: Callable[[str], None],
    lang: Lang = Lang.EN,
    *,
    groups: Sequence[KernelGroup] = GROUPS,
    network: Network | None = None,
    data_dir: Path | None = None,
    indent: str = "",
    total: bool = True,
) -> float:
    """:func:`warm_up` with a line for the start ("compiling the fast kernels once…" when
    any group has no machine code on disk, else "loading the compiled fast kernels…"), one per
    group with its seconds and, with ``total``, one with the whole time (numba's own start
    and reading the sample county included), each given to ``write``. Returns that time."""
    start = time.perf_counter()
    cold = {group.name for group in cold_groups(groups)}
    zh = lang is Lang.ZH
    if cold:
        write(indent + ("编译计算内核（仅此一次）…" if zh else "compiling the fast kernels once…"))
    else:
        write(indent + ("加载已编译的计算内核…" if zh else "loading the compiled fast kernels…"))

    def progress(group: KernelGroup, seconds: float) -> None:
        if lang is Lang.ZH:
            how = "已编译" if group.name in cold else "从缓存加载"
        else:
            how = "compiled" if group.name in cold else "loaded from the cache"
        write(f"{indent}  {group.title(lang)}: {seconds:.1f} s ({how})")

    warm_up(groups, network=network, data_dir=data_dir, progress=progress)
    seconds = time.perf_counter() - start
    if total:
        write(f"{indent}  {'合计' if zh else 'in all'}: {seconds:.1f} s")
    return seconds
