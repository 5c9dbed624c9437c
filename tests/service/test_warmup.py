"""``openoms warm-up``: every kernel compiled or loaded, a line per group; cold groups found."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from openoms.cli import main
from openoms.service.warmup import GROUPS, cold_groups, kernel_dispatchers


@pytest.mark.slow  # seconds when the kernels are cached, tens of seconds when not
def test_warm_up_compiles_every_kernel_with_a_line_per_group() -> None:
    result = CliRunner().invoke(main, ["warm-up", "--lang", "en"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] in {"compiling the fast kernels once…", "loading the compiled fast kernels…"}
    for group in GROUPS:
        assert any(line.startswith(f"  {group.title_en}: ") for line in lines), group.name
    assert lines[-1].startswith("done in ")
    dispatchers = {n.rsplit(".")[-1]: d for g in GROUPS for n, d in kernel_dispatchers(g).items()}
    # kernels only called by kernels are compiled into their callers: no signature of their own
    reached = {n for n, d in dispatchers.items() if d.signatures}
    todo = list(reached)
    while todo:
        for callee in dispatchers[todo.pop()].py_func.__code__.co_names:
            if callee in dispatchers and callee not in reached:
                reached.add(callee)
                todo.append(callee)
    never_run = sorted(set(dispatchers) - reached)
    assert never_run == []  # a kernel the warm-up misses would compile at a user's first call
    assert cold_groups() == []


def test_an_empty_numba_cache_makes_every_group_cold(tmp_path: Path) -> None:
    code = (
        "import json; from openoms.service.warmup import cold_groups; "
        "print(json.dumps([g.name for g in cold_groups()]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"NUMBA_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert json.loads(done.stdout) == [g.name for g in GROUPS]
