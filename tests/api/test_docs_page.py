"""The API docs page works without internet: Swagger UI comes from inside the package.

The copies in ``src/openoms/api/static/vendor`` must be exactly what
``tools/vendor_assets.py`` fetched from the npm registry (the manifest's SHA-256 per file),
each library with its licence, and the page must reference nothing outside this server.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from openoms.api.docs_page import STATIC_DIR
from tests.api.conftest import Api

VENDOR = STATIC_DIR / "vendor"
MANIFEST = json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_vendored_files_are_the_npm_release_with_their_licence(name: str) -> None:
    entry = MANIFEST[name]
    files = entry["files"]
    assert any(file.startswith("LICENSE") for file in files), f"{name} has no licence file"
    assert entry["licence"] in {"Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "ISC"}
    for file, digest in files.items():
        data = (VENDOR / name / file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{name}/{file} differs from npm"
    folder = VENDOR / name
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert on_disk == set(files), f"{name}: files not in the manifest: {on_disk - set(files)}"


def test_docs_page_references_only_this_server(api: Api) -> None:
    response = api.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.text
    assert "cdn." not in html
    external = [url for url in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if "//" in url]
    assert external == []
    assert '"validatorUrl": null' in html  # no schema sent to validator.swagger.io
    for asset in re.findall(r"""(?:src|href)=["'](/static/[^"']+)""", html):
        served = api.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 0
    assert (
        api.get("/static/vendor/swagger-ui-dist/swagger-ui-bundle.js")
        .headers["content-type"]
        .startswith(("application/javascript", "text/javascript"))
    )


def test_openapi_document_is_still_served(api: Api) -> None:
    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "OpenOMS"
