"""The HTTP API of OpenOMS (FastAPI): build it with :func:`create_app` from a service context."""

from __future__ import annotations

from openoms.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
