"""The interactive API documentation, served entirely from inside the package.

FastAPI's default docs page loads Swagger UI from a CDN, which leaves it blank on a dispatch
network without internet. Here the page is FastAPI's own HTML with the Swagger UI files that
``tools/vendor_assets.py`` copied from the npm registry (``static/vendor``, with their
licences and a manifest of their hashes), and with the online validator badge turned off (it
would send the schema to validator.swagger.io).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "STATIC_PREFIX", "install_docs"]

STATIC_DIR: Final = Path(__file__).parent / "static"
STATIC_PREFIX: Final = "/static"
_SWAGGER: Final = f"{STATIC_PREFIX}/vendor/swagger-ui-dist"


def install_docs(app: FastAPI, *, docs_url: str, openapi_url: str) -> None:
    """Serve ``static/`` under ``/static`` and the Swagger UI page at ``docs_url``."""
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")

    @app.get(docs_url, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{_SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{_SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{_SWAGGER}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
