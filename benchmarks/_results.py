"""What every benchmark's results document says about where and with what it ran."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["machine", "versions"]


def machine(load_before: float, load_after: float) -> dict[str, Any]:
    """The machine, and its 1-minute load average before and after the run (other processes
    skew wall times)."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1min_before_after": [load_before, load_after],
    }


def versions(*names: str) -> dict[str, str]:
    """Installed versions of ``names`` (packages not installed are left out)."""
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found
