"""Vendor the browser libraries OpenOMS serves, from the npm registry, with their licences.

Nothing is fetched from a CDN at run time: a dispatch network often has no internet. Each
library in ``MANIFEST`` is fetched once with ``npm pack <name>@<version>`` (the registry's
integrity hash is checked by npm), the listed files are copied to
``src/openoms/api/static/vendor/<name>/`` together with its licence files, and
``manifest.json`` there records name, version, licence and the SHA-256 of every copied file
(``tests/api/test_docs_page.py`` holds the copies to it). Run it after changing a version:

    python tools/vendor_assets.py
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
VENDOR: Final = ROOT / "src" / "openoms" / "api" / "static" / "vendor"

# name → (version, licence, files to copy besides the licence files; a pattern with * is a
# glob in the package). Paths inside the package are kept (Leaflet's CSS finds its images
# relative to itself).
MANIFEST: Final[dict[str, tuple[str, str, tuple[str, ...]]]] = {
    "swagger-ui-dist": (
        "5.35.0",
        "Apache-2.0",
        ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"),
    ),
    "leaflet": (
        "1.9.4",
        "BSD-2-Clause",
        ("dist/leaflet.js", "dist/leaflet.css", "dist/images/*"),
    ),
}
LICENCE_FILES: Final = ("LICENSE", "LICENSE.md", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendor(name: str, version: str, licence: str, files: tuple[str, ...]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        packed = subprocess.run(
            ["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", tmp],
            check=True,
            capture_output=True,
            text=True,
        )
        info = json.loads(packed.stdout)[0]
        with tarfile.open(Path(tmp) / info["filename"]) as tar:
            tar.extractall(tmp, filter="data")
        package = Path(tmp) / "package"
        target = VENDOR / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        listed = [
            path.relative_to(package).as_posix()
            for pattern in files
            for path in (sorted(package.glob(pattern)) if "*" in pattern else [package / pattern])
        ]
        copied = listed + [f for f in LICENCE_FILES if (package / f).exists()]
        for file in copied:
            (target / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(package / file, target / file)
        return {
            "version": version,
            "licence": licence,
            "integrity": info["integrity"],
            "files": {file: sha256(target / file) for file in sorted(copied)},
        }


def main() -> int:
    VENDOR.mkdir(parents=True, exist_ok=True)
    manifest = {
        name: vendor(name, version, licence, files)
        for name, (version, licence, files) in MANIFEST.items()
    }
    (VENDOR / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    for name, entry in manifest.items():
        print(f"{name} {entry['version']} ({entry['licence']}): {len(entry['files'])} files")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
