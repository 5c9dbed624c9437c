"""``python -m openoms.grid.generate --out DIR``; see :func:`openoms.grid.generate.main`."""

from openoms.grid.generate._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
