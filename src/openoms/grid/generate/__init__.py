"""A seeded generator of a synthetic Chinese county 10 kV distribution network.

:func:`generate_county` builds the kind of network a county power supply company runs: a
few 110/10 kV substations, 20-odd radial feeders with overhead trunks of insulated aluminium
conductor, cable exits through ring main units in the county town, branch lines with fuses or
switches at their heads, sectionalising and tie switches, reclosers on long rural feeders,
fault indicators, FTUs, DTUs and relays, about a thousand transformer areas (台区) in named
villages and town streets, HV customers, sensitive customers and the grid cells (网格) of the
repair crews. Every name is made up; nothing is real data.

The result is a :class:`~openoms.grid.records.RawNetwork` whose rows use exactly the field
names of :mod:`openoms.grid.schema`, ready for :func:`~openoms.grid.native.write_csv_folder` or
the validator. Its normal state is radial: each feeder is a tree from its breaker, and every tie
switch is normally open.

The stages run in this order (``_build``), each a private module of this package: township
seats and substations (``_places``), each feeder with its switches (``_feeders``) and its
transformer areas in villages and town streets (``_areas``), tie lines between feeders
(``_ties``), HV customers (``_hv_customers``) and sensitive customers (``_sensitive``), then
the tables with every name resolved (``_output``). Names come from ``_names``, equipment from
``_equipment``, randomness from ``_draw``.

The same arguments give the same network: all randomness is drawn from
:meth:`random.Random.random`, the one method whose sequence Python guarantees across versions,
and the few array steps (k-means, nearest neighbours) are deterministic. (Coordinates go
through the C library's sine and cosine, so another platform could in principle differ in a
last digit; a test compares the shipped files with a fresh generation.)

Cost is linear in the size of the network: the default county (24 feeders, about 4,300
sections, 1,300 transformer areas) takes a fraction of a second; ``substations=40,
feeders_per_substation=12`` (480 feeders, about 100,000 nodes) about two seconds of CPU, and
``substations=390, feeders_per_substation=12`` (a million nodes) about half a minute
(``benchmarks/generate.py``). A big county runs out of fresh names: some 16,000 village names
exist, so a village whose drawn names are taken is numbered (李庄二村, 李庄三村, …), and past
483 townships the stems take a direction (东青山乡).

Regenerate the bundled files with::

    python -m openoms.grid.generate --out src/openoms/data/sample_county
    python -m openoms.grid.generate --network ieee33 --out src/openoms/data/ieee33
"""

from __future__ import annotations

from openoms.grid.generate._build import DEFAULT_SEED, generate_county
from openoms.grid.generate._cli import main
from openoms.grid.generate._county import CountyOptions, CountyOptionsError

__all__ = ["DEFAULT_SEED", "CountyOptions", "CountyOptionsError", "generate_county", "main"]
