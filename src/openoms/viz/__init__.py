"""Pictures drawn from engine results (matplotlib): feeder maps, located faults, the
reliability report with its charts.

Imported by name (``from openoms.viz.feeder_map import draw_feeder_map``) so that only the
commands that draw pay for matplotlib; this package itself exports nothing.
"""

__all__: list[str] = []
