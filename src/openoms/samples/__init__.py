"""The networks bundled with OpenOMS, named ``sample:county`` and ``sample:ieee33``, and the demo.

This module only finds the bundled data (no engine, no I/O beyond a path); the demo that runs
the main job on the sample county is :mod:`openoms.samples.demo`, which sits on top of every
other package and is imported only by ``openoms demo``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

__all__ = ["BUNDLED", "bundled_path", "data_file", "network_path"]

BUNDLED: Final = {"sample:county": "sample_county", "sample:ieee33": "ieee33"}


def bundled_path(name: str) -> Path:
    """The folder of a bundled network (``sample:county`` or ``sample:ieee33``)."""
    return Path(str(files("openoms").joinpath("data", BUNDLED[name])))


def data_file(name: str) -> Path:
    """A file shipped with the samples (``sample_county_roster.csv``, ``..._history.csv``)."""
    return Path(str(files("openoms").joinpath("data", name)))


def network_path(name: str) -> Path:
    """A bundled network's folder, or ``name`` itself as a path."""
    return bundled_path(name) if name in BUNDLED else Path(name)
