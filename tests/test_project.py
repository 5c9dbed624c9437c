"""House rules that a test can hold: quiet imports, pure core, README and CI in step."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PURE = ("grid", "events", "contacts", "faults", "restoration", "outages", "reliability", "patrol")
EDGES = (
    "openoms.store",
    "openoms.notify",
    "openoms.ingest",
    "openoms.service",
    "openoms.api",
    "openoms.web",
    "openoms.cli",
    "openoms.server",
    "openoms.viz",
    "openoms.samples.demo",
)


def test_importing_prints_nothing_and_warns_nothing() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-c",
            "import openoms, openoms.grid, openoms.outages.impact, openoms.outages.switching",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""


def test_the_pure_core_imports_no_edge() -> None:
    offenders = []
    for folder in PURE:
        for path in (ROOT / "src/openoms" / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [
                    f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith(EDGES)
                ]
    assert offenders == []


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    test_command = next(b.strip() for b in blocks if "pytest" in b)
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci
