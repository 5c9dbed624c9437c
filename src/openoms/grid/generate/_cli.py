"""``python -m openoms.grid.generate``: write the sample county (or IEEE 33) to files.

The command lives here rather than in ``__main__.py`` so that the package can re-export
:func:`main` without importing ``__main__`` (which ``python -m`` would then warn about).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from openoms.grid.generate._build import DEFAULT_SEED, generate_county
from openoms.grid.native import write_csv_folder, write_json_document

__all__ = ["main"]


def _at_least_one(text: str) -> int:
    """argparse type of a count: a whole number of at least 1, said plainly otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m openoms.grid.generate --out DIR``: write a generated or published network."""
    parser = argparse.ArgumentParser(
        prog="python -m openoms.grid.generate",
        description="Write the synthetic county network (or IEEE 33) in the native format.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder for the CSV files, or the .json file (or its folder)",
    )
    parser.add_argument("--network", choices=("county", "ieee33"), default="county")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--substations", type=_at_least_one, default=3)
    parser.add_argument("--feeders-per-substation", type=_at_least_one, default=8)
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    args = parser.parse_args(argv)
    if args.network == "ieee33":
        from openoms.grid.ieee33 import ieee33  # noqa: PLC0415  # only this command needs it

        raw = ieee33()
    else:
        raw = generate_county(
            seed=args.seed,
            substations=args.substations,
            feeders_per_substation=args.feeders_per_substation,
        )
    out: Path = args.out
    if args.format == "csv":
        write_csv_folder(raw, out)
    else:
        if out.suffix.lower() != ".json":
            out.mkdir(parents=True, exist_ok=True)
            out = out / "network.json"
        write_json_document(raw, out)
    return 0
