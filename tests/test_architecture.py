"""The layers of docs/architecture.md, held by the import graph.

Every ``import`` in ``src/openoms`` (module level, inside functions and under
``TYPE_CHECKING`` alike) is an arrow from the importing package to the imported one. The
arrows must point down the layers below, never in a circle, and the picture in
docs/architecture.md must show exactly these arrows (run this file with ``--print-graph`` as a
script to print the picture's block after a deliberate change).
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Final

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "openoms"

# Lowest first. A unit may import units of its own layer (no cycle) and of the layers below.
LAYERS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("foundation", ("errors", "i18n", "settings", "samples")),
    (
        "pure core",
        ("grid", "events", "contacts", "faults", "outages", "reliability", "restoration"),
    ),
    ("storage", ("store",)),
    ("adapters", ("ingest", "notify", "viz")),
    ("workflows", ("service",)),
    ("http", ("api", "web")),
    ("composition root", ("server",)),
    ("commands", ("cli", "samples.demo")),
)
LAYER_OF: Final = {unit: i for i, (_, units) in enumerate(LAYERS) for unit in units}
PURE: Final = LAYERS[1][1]


def unit_of(module: str) -> str:
    """``openoms.samples.demo.day`` → ``samples.demo``; ``openoms.grid.model`` → ``grid``."""
    parts = module.split(".")[1:]
    if parts[:2] == ["samples", "demo"]:
        return "samples.demo"
    return parts[0]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Absolute names of the openoms modules a file imports, with their line numbers."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            found.append((name, node.lineno))
    return [(n, line) for n, line in found if n == "openoms" or n.startswith("openoms.")]


def package_graph() -> dict[tuple[str, str], list[str]]:
    """(from unit, to unit) → where (file:line) for every arrow between two units."""
    arrows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(SRC.rglob("*.py")):
        if "data" in path.relative_to(SRC).parts[:1]:
            continue
        source = unit_of(module_name(path)) if path.parent != SRC else path.stem
        for name, line in imports_of(path):
            if name == "openoms":
                continue
            target = unit_of(name)
            if target != source:
                arrows[(source, target)].append(f"{path.relative_to(ROOT)}:{line}")
    return dict(arrows)


def test_every_unit_has_a_layer() -> None:
    units = {u for arrow in package_graph() for u in arrow}
    units |= {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    units |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert sorted(units - set(LAYER_OF)) == []


def test_arrows_point_down_the_layers() -> None:
    upward = [
        f"{a} → {b}: {where[0]}"
        for (a, b), where in package_graph().items()
        if LAYER_OF[b] > LAYER_OF[a]
    ]
    assert upward == []


def test_no_package_cycle() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in package_graph():
        graph[a].add(b)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_pure_core_does_no_io_and_imports_no_edge() -> None:
    edges = {u for u, layer in LAYER_OF.items() if layer > LAYER_OF["reliability"]}
    forbidden = [
        f"{a} → {b}: {where[0]}"
        for (a, b), where in package_graph().items()
        if a in PURE and b in edges
    ]
    assert forbidden == []
    drivers = re.compile(r"^(sqlalchemy|fastapi|uvicorn|paho|hat|click|matplotlib)\b")
    io = []
    for unit in PURE:
        for path in (SRC / unit).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                io += [f"{path.relative_to(ROOT)}: {n}" for n in names if drivers.match(n)]
    assert io == []


def mermaid() -> str:
    """The picture of docs/architecture.md: one subgraph per layer, every arrow except those
    into the foundation layer (everything may use errors, i18n, settings and samples)."""
    lines = ["flowchart BT"]
    for i, (name, units) in enumerate(LAYERS):
        lines.append(f'  subgraph L{i}["{name}"]')
        lines += [f"    {u.replace('.', '_')}[{u}]" for u in units]
        lines.append("  end")
    for a, b in sorted(package_graph()):
        if LAYER_OF[b] == 0:
            continue
        lines.append(f"  {a.replace('.', '_')} --> {b.replace('.', '_')}")
    return "\n".join(lines)


def test_the_architecture_picture_shows_the_real_arrows() -> None:
    text = (ROOT / "docs/architecture.md").read_text(encoding="utf-8")
    block = re.search(r"```mermaid\n(.*?)\n```", text, flags=re.DOTALL)
    assert block is not None, "docs/architecture.md has no mermaid picture"
    assert block.group(1) == mermaid(), (
        "the picture is out of date: python tests/test_architecture.py --print-graph"
    )


if __name__ == "__main__" and "--print-graph" in sys.argv:
    print(mermaid())
