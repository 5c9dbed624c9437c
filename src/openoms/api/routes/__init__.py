"""One router per capability, each under the API's version prefix."""

from __future__ import annotations

from typing import Final

__all__ = ["API_PREFIX"]

API_PREFIX: Final = "/api/v1"
"""Every route of the API starts with this (routers carry it in their own prefix, so that a
route's path is its full template: the label of its metrics)."""
