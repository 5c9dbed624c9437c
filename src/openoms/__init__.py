"""OpenOMS: outage management and distribution automation for 10 kV distribution networks."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
