"""An independent re-check of a switching state with pandapower (test-only).

Built straight from the network's arrays, not from the planner's power-flow model: a bus per
node, a line per section (out of service when open), a bus-bus switch per switch, an external
grid at each substation busbar, a load per transformer area and HV customer at the same power
factor assumption (or the given kvar). pandapower's Newton-Raphson then says which buses are
supplied, their voltages and the section currents.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from openoms.grid.model import Network


@dataclass(frozen=True)
class PandapowerResult:
    supplied: set[int]  # node indexes with a voltage
    min_u_pu: float
    max_u_pu: float
    violations: list[str]


class PandapowerNet:
    """The sub-network of ``nodes`` as a pandapower net, built once (bulk creators); each
    :meth:`run` sets the branch states and runs Newton-Raphson."""

    def __init__(
        self,
        network: Network,
        nodes: NDArray[np.int32],
        *,
        band: float,
        source_u_pu: float = 1.05,
        power_factor: float = 0.95,
        ta_kvar: NDArray[np.float64] | None = None,
        default_r: float = 0.27,
        default_x: float = 0.35,
    ) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pandapower as pp
        self.pp = pp
        self.network, self.band = network, band
        kv = float(np.nanmax(network.substations.voltage_kv))
        net = pp.create_empty_network()
        keep = np.zeros(len(network.nodes.id), dtype=np.bool_)
        keep[nodes] = True
        self.nodes = np.flatnonzero(keep)
        bus_index = pp.create_buses(net, len(self.nodes), vn_kv=kv)
        bus = np.full(len(network.nodes.id), -1, dtype=np.int64)
        bus[self.nodes] = bus_index
        self.bus = bus
        slack = [int(bus[s]) for s in network.substations.busbar_node.tolist() if keep[s]]
        for b in slack:
            pp.create_ext_grid(net, b, vm_pu=source_u_pu, s_sc_max_mva=1e6, rx_max=0.1)
        sec = network.sections
        inside = keep[sec.from_node] & keep[sec.to_node]
        self.section_rows = np.flatnonzero(inside)
        rows = self.section_rows
        r = np.where(np.isnan(sec.r_ohm_per_km), default_r, sec.r_ohm_per_km)[rows]
        x = np.where(np.isnan(sec.x_ohm_per_km), default_x, sec.x_ohm_per_km)[rows]
        self.ampacity = sec.ampacity_a[rows]
        self.lines = pp.create_lines_from_parameters(
            net,
            bus[sec.from_node[rows]],
            bus[sec.to_node[rows]],
            length_km=sec.length_km[rows],
            r_ohm_per_km=r,
            x_ohm_per_km=x,
            c_nf_per_km=np.zeros(len(rows)),
            max_i_ka=np.where(self.ampacity > 0, self.ampacity / 1e3, 99.0),
        )
        sw = network.switches
        inside_sw = keep[sw.from_node] & keep[sw.to_node]
        self.switch_rows = np.flatnonzero(inside_sw)
        self.switches = pp.create_switches(
            net,
            bus[sw.from_node[self.switch_rows]],
            bus[sw.to_node[self.switch_rows]],
            et="b",
            closed=True,
        )
        tan_phi = math.tan(math.acos(power_factor))
        tas, hvs = network.transformer_areas, network.hv_customers
        ta_rows = np.flatnonzero(keep[tas.node])
        hv_rows = np.flatnonzero(keep[hvs.node])
        p = np.concatenate([tas.load_kw[ta_rows], hvs.load_kw[hv_rows]])
        q_ta = ta_kvar[ta_rows] if ta_kvar is not None else tas.load_kw[ta_rows] * tan_phi
        q = np.concatenate([q_ta, hvs.load_kw[hv_rows] * tan_phi])
        load_bus = np.concatenate([bus[tas.node[ta_rows]], bus[hvs.node[hv_rows]]])
        if len(load_bus):
            pp.create_loads(net, load_bus, p_mw=p / 1e3, q_mvar=q / 1e3)
        self.net = net

    def run(self, closed: NDArray[np.bool_]) -> PandapowerResult:
        """Supplied buses, voltages and limit violations with the branch states ``closed``."""
        net, network = self.net, self.network
        n_sections = len(network.sections.id)
        net.line.loc[self.lines, "in_service"] = closed[self.section_rows]
        net.switch.loc[self.switches, "closed"] = closed[n_sections + self.switch_rows]
        self.pp.runpp(net, algorithm="nr", tolerance_mva=1e-9, max_iteration=50, numba=False)
        vm = net.res_bus.vm_pu.loc[self.bus[self.nodes]].to_numpy()
        on = ~np.isnan(vm)
        supplied = set(self.nodes[on].tolist())
        low, high = 1 - self.band - 1e-9, 1 + self.band + 1e-9
        violations = [
            f"{network.nodes.id[v]} at {u:.4f} pu"
            for v, u in zip(self.nodes[on].tolist(), vm[on].tolist(), strict=True)
            if not low <= u <= high
        ]
        current = net.res_line.i_ka.loc[self.lines].to_numpy() * 1e3
        for row, amp, i_a in zip(self.section_rows.tolist(), self.ampacity, current, strict=True):
            if amp > 0 and i_a > amp * (1 + 1e-9):
                violations.append(f"{network.sections.id[row]} at {i_a:.1f} A > {amp:.0f} A")
        return PandapowerResult(
            supplied,
            float(vm[on].min()) if on.any() else math.nan,
            float(vm[on].max()) if on.any() else math.nan,
            violations,
        )


def pandapower_check(
    network: Network,
    closed: NDArray[np.bool_],
    nodes: NDArray[np.int32],
    *,
    band: float,
    source_u_pu: float = 1.05,
    power_factor: float = 0.95,
    ta_kvar: NDArray[np.float64] | None = None,
) -> PandapowerResult:
    """One run of :class:`PandapowerNet`."""
    built = PandapowerNet(
        network,
        nodes,
        band=band,
        source_u_pu=source_u_pu,
        power_factor=power_factor,
        ta_kvar=ta_kvar,
    )
    return built.run(closed)
