"""Feeder maps: every feeder in its own colour, ties dashed, an outage's area in black.

Drawn with matplotlib (Agg, no screen) to PNG or SVG from the nodes' coordinates. Labels use
Chinese names when a CJK font is installed, and ids otherwise (so that no glyph is missing).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from openoms.errors import InputError
from openoms.grid.model import Network
from openoms.grid.topology import DEAD, STATION, Topology
from openoms.i18n import Lang

if TYPE_CHECKING:
    from openoms.outages.impact import Impact

__all__ = ["NothingToDrawError", "draw_feeder_map"]


class NothingToDrawError(InputError):
    """A map that the network cannot give: no coordinates, or nothing of the feeder to draw;
    names the network and, for a fault map, the feeder."""

    def __init__(self, message: str, *, network: str, feeder: str | None = None) -> None:
        super().__init__(message)
        self.network = network
        self.feeder = feeder


_CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "SimHei",
    "Microsoft YaHei",
)


def _cjk_font() -> str | None:
    from matplotlib import font_manager  # noqa: PLC0415  (imported only when drawing)

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FONTS if name in installed), None)


def draw_feeder_map(
    network: Network,
    topology: Topology,
    path: Path,
    *,
    impact: Impact | None = None,
    lang: Lang = Lang.ZH,
    title: str | None = None,
) -> Path:
    """Draw the network and write it to ``path`` (``.png`` or ``.svg``); return ``path``."""
    import matplotlib as mpl  # noqa: PLC0415  (heavy; only when a map is asked for)

    mpl.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415
    from matplotlib.collections import LineCollection  # noqa: PLC0415
    from matplotlib.lines import Line2D  # noqa: PLC0415

    font = _cjk_font()
    chinese = font is not None and lang is Lang.ZH
    if font is not None:
        mpl.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    lon, lat = network.nodes.lon_deg, network.nodes.lat_deg
    if np.all(np.isnan(lon)):
        raise NothingToDrawError(
            f"network {network.name!r} has no node coordinates to draw", network=network.name
        )
    a, b = network.edge_from, network.edge_to
    n_sections = len(network.sections.id)
    closed = topology.closed
    feeder = topology.feeder_of_nodes
    edge_feeder = np.where(feeder[a] >= 0, feeder[a], feeder[b])
    segments = np.stack(
        [np.column_stack([lon[a], lat[a]]), np.column_stack([lon[b], lat[b]])], axis=1
    )
    cmap = plt.get_cmap("tab20")
    colours = np.array(
        [cmap(int(f) % 20) if f >= 0 else (0.6, 0.6, 0.6, 1.0) for f in edge_feeder.tolist()]
    )
    fig, ax = plt.subplots(figsize=(12, 9), dpi=110)
    live = closed & (edge_feeder != DEAD)
    ax.add_collection(LineCollection(list(segments[live]), colors=colours[live], linewidths=0.9))
    dead = closed & (edge_feeder == DEAD)
    if dead.any():
        ax.add_collection(LineCollection(list(segments[dead]), colors="0.75", linewidths=0.7))
    ties = ~closed
    ties[:n_sections] = False
    ax.add_collection(
        LineCollection(list(segments[ties]), colors="crimson", linewidths=1.0, linestyles="dashed")
    )
    if impact is not None and len(impact.section_index):
        ax.add_collection(
            LineCollection(list(segments[impact.section_index]), colors="black", linewidths=2.2)
        )
    mid = segments[ties].mean(axis=1)
    ax.scatter(mid[:, 0], mid[:, 1], s=22, marker="x", c="crimson", linewidths=1.2, zorder=3)
    sources = network.substations.busbar_node
    ax.scatter(lon[sources], lat[sources], s=120, marker="s", c="black", zorder=3)
    for i, node in enumerate(sources.tolist()):
        label = network.substations.name[i] if chinese else network.substations.id[i]
        ax.annotate(
            label or network.substations.id[i],
            (lon[node], lat[node]),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=9,
            weight="bold",
        )
    ta_nodes = network.transformer_areas.node
    ax.scatter(lon[ta_nodes], lat[ta_nodes], s=3, c="0.35", zorder=2, linewidths=0)
    sc = network.sensitive_customers
    sensitive_nodes = np.concatenate(
        [
            ta_nodes[sc.transformer_area[sc.transformer_area >= 0]],
            network.hv_customers.node[sc.hv_customer[sc.hv_customer >= 0]],
        ]
    )
    ax.scatter(
        lon[sensitive_nodes],
        lat[sensitive_nodes],
        s=40,
        marker="*",
        c="gold",
        edgecolors="black",
        linewidths=0.4,
        zorder=4,
    )
    ax.autoscale()
    ax.set_aspect(1.0 / max(np.cos(np.deg2rad(float(np.nanmean(lat)))), 0.1))
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    legend = [
        Line2D([], [], color=cmap(0), label="feeder (one colour each)"),
        Line2D([], [], color="crimson", marker="x", linestyle="dashed", label="open switch / tie"),
        Line2D([], [], marker="s", color="black", linestyle="", label="substation"),
        Line2D([], [], marker=".", color="0.35", linestyle="", label="transformer area"),
        Line2D(
            [],
            [],
            marker="*",
            color="gold",
            markeredgecolor="black",
            linestyle="",
            label="sensitive customer",
        ),
    ]
    if impact is not None:
        legend.append(Line2D([], [], color="black", linewidth=2.2, label="off supply"))
    ax.legend(handles=legend, loc="lower right", fontsize=8)
    n_feeders = len(network.feeders.id)
    energised = int(np.count_nonzero((feeder >= 0) | (feeder == STATION)))
    ax.set_title(
        title
        or f"{network.name}: {n_feeders} feeders, {energised:,} of "
        f"{len(network.nodes.id):,} nodes energised"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
