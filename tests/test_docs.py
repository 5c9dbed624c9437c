"""The repository explains itself: no reference to notes outside it, no broken link.

Everything the code and the documents rely on is in ``docs/``. No file of the project may
point a reader to the developers' private notes (kept outside the repository), and every
relative link ``[text](path)`` in README.md and ``docs/*.md`` must lead to a file or folder
of the repository.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]

# Built, not written out, so that this file does not name them itself.
FORBIDDEN: Final = ("DOMAIN" + ".md", "DESIGN" + ".md", "../" + "shared")

SCANNED_DIRS: Final = ("src", "tests", "benchmarks", "docs")
SCANNED_FILES: Final = ("README.md", "pyproject.toml")
SKIPPED_DIRS: Final = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
BINARY_SUFFIXES: Final = frozenset({".pyc", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico"})

LINK: Final = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE: Final = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
SCHEME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def project_files() -> Iterator[Path]:
    """The text files of the project: the scanned folders (build output and caches left out)
    and the top-level files."""
    for name in SCANNED_FILES:
        path = ROOT / name
        if path.is_file():
            yield path
    for folder in SCANNED_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            relative = path.relative_to(ROOT).parts
            if any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in relative):
                continue
            if path.is_file() and path.suffix.lower() not in BINARY_SUFFIXES:
                yield path


def test_no_file_refers_to_notes_outside_the_repository() -> None:
    found = []
    for path in project_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not a text file
        for number, line in enumerate(text.splitlines(), start=1):
            found += [
                f"{path.relative_to(ROOT)}:{number}: {name}" for name in FORBIDDEN if name in line
            ]
    assert not found, "the repository must explain itself (put it in docs/):\n" + "\n".join(found)


def link_targets(markdown: str) -> list[str]:
    """The targets of the inline links ``[text](target)``, outside fenced code blocks."""
    return LINK.findall(FENCE.sub("", markdown))


def broken_links(path: Path) -> list[str]:
    """Relative links of a Markdown file whose target does not exist in the repository."""
    broken = []
    for target in link_targets(path.read_text(encoding="utf-8")):
        if SCHEME.match(target) or target.startswith("#"):
            continue  # a web address, or a heading of the same page
        file_part = target.split("#", 1)[0].split("?", 1)[0]
        resolved = (path.parent / file_part).resolve()
        inside = resolved == ROOT or ROOT in resolved.parents
        if not (inside and resolved.exists()):
            broken.append(f"{path.relative_to(ROOT)}: ({target})")
    return broken


def test_every_relative_link_of_the_documents_exists() -> None:
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = [link for document in documents for link in broken_links(document)]
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)


def test_the_link_check_sees_links() -> None:
    """The pattern finds links (with a heading, a title, inside text) and skips code blocks."""
    text = (
        'See [a](docs/a.md#part), [`b`](../b.py "title") and [c](https://example.org).\n'
        "```python\nx = y[0](z)  # [not](a-link.md)\n```\n"
    )
    assert link_targets(text) == ["docs/a.md#part", "../b.py", "https://example.org"]
