"""A map of one located fault: the feeder, each zone shaded by its posterior, the region the
crew is sent to outlined, and what every detector said.

Drawn with matplotlib (Agg) from the grid model's coordinates; used by ``openoms locate
--map`` and the demo. Labels are ids (the machine may have no CJK font; see
:mod:`.feeder_map`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from openoms.faults.observations import Observation, Status
from openoms.faults.result import FaultLocation
from openoms.faults.zones import Zone
from openoms.grid.model import Network
from openoms.viz.feeder_map import NothingToDrawError

__all__ = ["draw_fault_map"]

_STATUS_STYLE = {
    Status.ALARM: ("^", "red", "alarm"),
    Status.NO_ALARM: ("o", "limegreen", "no alarm (online)"),
    Status.NO_DATA: ("o", "0.7", "no data"),
}


def draw_fault_map(
    network: Network,
    zones: Sequence[Zone],
    location: FaultLocation,
    observations: Sequence[Observation],
    path: Path,
    *,
    title: str | None = None,
) -> Path:
    """Write the map of ``location`` on its feeder to ``path`` (.png or .svg)."""
    import matplotlib as mpl  # noqa: PLC0415  (heavy; only when a map is asked for)

    mpl.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415
    from matplotlib.collections import LineCollection  # noqa: PLC0415
    from matplotlib.lines import Line2D  # noqa: PLC0415

    lon, lat = network.nodes.lon_deg, network.nodes.lat_deg
    a, b = network.edge_from, network.edge_to
    posterior = {c.zone: c.posterior for c in location.candidates}
    region = set(location.region)
    edges: list[int] = []
    weights: list[float] = []
    in_region: list[bool] = []
    for zone in zones:
        for edge_id in zone.edges:
            edge = network.edge_index(edge_id)
            if edge is None:
                continue
            edges.append(edge)
            weights.append(posterior.get(zone.id, 0.0))
            in_region.append(zone.id in region)
    if not edges:
        raise NothingToDrawError(
            f"feeder {location.feeder}: no zones to draw",
            network=network.name,
            feeder=location.feeder,
        )
    e = np.asarray(edges)
    segments = np.stack(
        [np.column_stack([lon[a[e]], lat[a[e]]]), np.column_stack([lon[b[e]], lat[b[e]]])], axis=1
    )
    if np.isnan(segments).any():
        raise NothingToDrawError(
            f"feeder {location.feeder}: nodes without coordinates",
            network=network.name,
            feeder=location.feeder,
        )
    fig, ax = plt.subplots(figsize=(11, 8), dpi=110)
    mask = np.asarray(in_region)
    ax.add_collection(
        LineCollection(list(segments[mask]), colors="black", linewidths=6.0, alpha=0.25)
    )
    cmap = plt.get_cmap("Reds")
    shades = [cmap(0.15 + 0.85 * w) for w in weights]
    ax.add_collection(LineCollection(list(segments), colors=shades, linewidths=2.0))
    det = network.detectors
    contradicted = {c.detector for c in location.contradictions}
    for obs in observations:
        _, index = network.locate(obs.detector)
        edge = int(det.edge[index])
        x = (lon[a[edge]] + lon[b[edge]]) / 2
        y = (lat[a[edge]] + lat[b[edge]]) / 2
        marker, colour, _ = _STATUS_STYLE[obs.status]
        ax.scatter([x], [y], marker=marker, s=60, c=colour, edgecolors="black", zorder=4)
        if obs.detector in contradicted:
            ax.scatter([x], [y], marker="o", s=220, facecolors="none", edgecolors="purple",
                       linewidths=1.6, zorder=5)  # fmt: skip
    by_id = {z.id: z for z in zones}
    for zone_id in location.best:
        best = by_id.get(zone_id)
        edge = network.edge_index(best.upstream_device) if best is not None else None
        if edge is not None:
            ax.annotate(
                f"{zone_id}\n{posterior.get(zone_id, 0.0):.0%}",
                (lon[b[edge]], lat[b[edge]]),
                xytext=(8, 8),
                textcoords="offset points",
                fontsize=9,
                weight="bold",
            )
    ax.autoscale()
    ax.set_aspect(1.0 / max(np.cos(np.deg2rad(float(np.nanmean(lat[a[e]])))), 0.1))
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    handles = [
        Line2D([], [], color=cmap(0.9), linewidth=2, label="zone, shaded by posterior"),
        Line2D([], [], color="black", alpha=0.25, linewidth=6, label="region the crew is sent to"),
        *[
            Line2D([], [], marker=m, color=c, markeredgecolor="black", linestyle="", label=text)
            for m, c, text in _STATUS_STYLE.values()
        ],
        Line2D(
            [],
            [],
            marker="o",
            markerfacecolor="none",
            markeredgecolor="purple",
            linestyle="",
            label="contradicts the best hypothesis",
        ),
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.set_title(
        title
        or f"{location.feeder}: fault located in {', '.join(location.best)} "
        f"({location.fault_type.value}, region mass {location.region_mass:.0%})"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
