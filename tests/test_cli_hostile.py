"""Hostile input on every file argument of the command line (issue 10).

Every file argument of ``openoms`` gets what an outside harness fed it: a binary file, UTF-16
text, 50 MB of random bytes, JSON nested 100,000 deep, a folder where a file belongs, and a
CSV field past the size limit (an unterminated quote). Each must end in a non-zero exit and
ONE line on stderr naming the file, never a traceback, and nothing written: no import, no
roster, no converted network, no map. The table runs through the console entry point
``run()`` in this process (as click's ``CliRunner`` does); a representative subset runs as a
real process, the way a user does.

Files in UTF-8 with or without a BOM, GBK and GB18030 (what Chinese GIS and billing systems
export) are read, detected or named with ``--encoding``, and their Chinese names survive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from openoms.cli import run
from openoms.grid.native import write_csv_folder, write_json_document
from openoms.store import history, roster
from openoms.store.db import make_engine, make_session_factory, upgrade
from tests.grid.small import small_raw, small_rows

HISTORY_HEADER = "event_id,unit_id,customers,start,step_end,class,cause"
BASE_HEADER = "unit_id,customers,kva,feeder,substation,grid_cell,village"
ROSTER_HEADER = "grid_cell,crew,person,phone,starts_at,ends_at,fallback"
NODES_HEADER = "id,kind,lon_deg,lat_deg,grid_cell"
HISTORY = (
    f"{HISTORY_HEADER}\n"
    "E1,TA1,40,2024-03-05 08:15:00,2024-03-05 09:15:00,故障停电,树障\n"
    "E2,TA4,50,2024-03-10 10:00:00,2024-03-10 12:00:00,计划停电,检修\n"
)
ROSTER = (
    f"{ROSTER_HEADER}\n"
    "G1,城关抢修一班,王建国,13800000001,2025-01-15T08:00,2025-01-15T20:00,no\n"
    "G1,城关抢修一班,张所长,13800000009,,,yes\n"
)
REPORTS = (
    '{"topic": "openoms/demo/indicators/D1/report", '
    '"payload": {"sn": "D1", "ts": 1764300000050, "data": {"short_circuit_a": 1}}}\n'
    '{"topic": "openoms/demo/switches/CB1/event", '
    '"payload": {"sn": "CB1", "ts": 1764300000200, "event": "trip", "lockout": true}}\n'
)
RANDOM_BYTES = 50 * 1024 * 1024


# -- running the command ------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    code: int | None  # None: an exception escaped run(), a traceback for the user
    stdout: str
    stderr: str

    def one_error_line(self) -> str:
        """The only line on stderr, after checking the command failed as a user should see."""
        shown = self.stderr[:3000]
        assert "Traceback" not in self.stderr, shown
        assert self.code not in (0, None), (self.code, shown)
        lines = self.stderr.strip("\n").splitlines()
        assert len(lines) == 1, shown
        assert lines[0].startswith("error: "), shown
        assert len(lines[0]) < 1000, shown  # a line for people, not a copy of the input
        return lines[0]


def in_process(args: list[str], env: dict[str, str]) -> Outcome:
    """``openoms ARGS`` through the console entry point, in this process."""
    runner = CliRunner()
    with runner.isolation(env=env) as (out, err, _):
        argv, sys.argv = sys.argv, ["openoms", *args]
        code: int | None = 0
        try:
            run()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:  # what a user would see as a traceback
            code = None
            sys.stderr.write("Traceback (escaped run()):\n" + traceback.format_exc())
        finally:
            sys.argv = argv
        sys.stderr.flush()
        return Outcome(code, out.getvalue().decode(), err.getvalue().decode())


def as_process(args: list[str], env: dict[str, str]) -> Outcome:
    """``openoms ARGS`` as a user runs it: a new Python process."""
    done = subprocess.run(
        [sys.executable, "-c", "from openoms.cli import run; run()", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
        timeout=180,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


# -- the files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """The small network, good files of each kind, a database and the environment."""

    root: Path
    database_url: str
    env: dict[str, str]

    @property
    def small(self) -> Path:  # the small network, a CSV folder
        return self.root / "small"

    @property
    def history(self) -> Path:  # a good history file
        return self.root / "history.csv"

    @property
    def reports(self) -> Path:  # good recorded messages
        return self.root / "reports.jsonl"

    @property
    def random(self) -> Path:  # 50 MB of random bytes
        return self.root / "random.bin"

    def stored(self) -> tuple[int, int]:
        """Imports and roster rows in the database."""
        engine = make_engine(self.database_url)
        try:
            with make_session_factory(engine)() as session:
                return len(history.list_imports(session)), len(roster.list_roster(session))
        finally:
            engine.dispose()


def make_world(root: Path) -> World:
    root.mkdir(parents=True, exist_ok=True)
    write_csv_folder(small_raw(), root / "small")
    (root / "history.csv").write_text(HISTORY, encoding="utf-8")
    (root / "reports.jsonl").write_text(REPORTS, encoding="utf-8")
    url = f"sqlite:///{root / 'openoms.db'}"
    upgrade(url)
    env = {"OPENOMS_DATABASE_URL": url, "OPENOMS_CONFIG": "", "OPENOMS_DATA_DIR": str(root)}
    return World(root, url, env)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """One world for the refusals: nothing is ever stored in its database."""
    made = make_world(tmp_path_factory.mktemp("hostile"))
    made.random.write_bytes(os.urandom(RANDOM_BYTES))
    return made


@pytest.fixture
def own_world(tmp_path: Path) -> World:
    """A world with a database of its own, for imports that are meant to succeed."""
    return make_world(tmp_path / "own")


HOSTILE = ("binary", "utf-16", "random-50MB", "deep-nesting", "folder", "huge-field")


def make_hostile(kind: str, path: Path, *, header: str, world: World) -> None:
    """Write the hostile file of ``kind`` at ``path``; ``header``: the first line a good file
    of this argument has (a JSON object's start for JSON arguments)."""
    match kind:
        case "binary":
            path.write_bytes(bytes(range(256)) * 64)
        case "utf-16":
            path.write_text(f"{header}\n", encoding="utf-16")
        case "random-50MB":
            path.symlink_to(world.random)
        case "deep-nesting":
            path.write_text("[" * 100_000, encoding="utf-8")
        case "folder":
            path.mkdir()
        case "huge-field":  # an unterminated quote: the field runs on past the limit
            path.write_text(f'{header}\n"{"x" * 200_000}\n', encoding="utf-8")
        case _:  # pragma: no cover
            raise AssertionError(kind)


# -- every file argument --------------------------------------------------------------------


_JSON_START = '{"format": "openoms-network", "format_version": 1, "name": "x"'


@dataclass(frozen=True)
class Slot:
    """One file argument of one command."""

    name: str
    file_name: str  # the hostile file's name (for a network folder: its nodes.csv)
    header: str
    args: Callable[[Path, World, Path], list[str]]  # (hostile file, world, output folder)
    nests: bool = False  # a format that nests (JSON, TOML): gets the deep-nesting file
    in_folder: bool = False  # the file is a table of a network CSV folder
    writes: tuple[str, ...] = ()  # files of the output folder that must not be written
    stores: bool = False  # imports into the database: nothing may be stored

    @classmethod
    def network(
        cls,
        name: str,
        args: Callable[[Path, World, Path], list[str]],
        *,
        writes: tuple[str, ...] = (),
        stores: bool = False,
    ) -> Slot:
        """A network argument, the hostile file in place of a JSON document."""
        return cls(
            name, "network.json", _JSON_START, args, nests=True, writes=writes, stores=stores
        )

    def place(self, case_dir: Path, world: World) -> tuple[Path, Path]:
        """(the argument, the hostile file) in ``case_dir``."""
        if not self.in_folder:
            return case_dir / self.file_name, case_dir / self.file_name
        folder = case_dir / "network"
        write_csv_folder(small_raw(), folder)
        (folder / self.file_name).unlink()
        return folder, folder / self.file_name


SLOTS = (
    Slot.network("grid check PATH", lambda p, _w, _o: ["grid", "check", str(p)]),
    Slot.network(
        "grid show PATH",
        lambda p, _w, o: ["grid", "show", str(p), "--map", str(o / "map.png")],
        writes=("map.png",),
    ),
    Slot.network(
        "grid convert SOURCE",
        lambda p, _w, o: ["grid", "convert", str(p), str(o / "converted.json")],
        writes=("converted.json",),
    ),
    Slot.network(
        "impact PATH",
        lambda p, _w, o: ["impact", str(p), "--open", "K1", "--map", str(o / "impact.svg")],
        writes=("impact.svg",),
    ),
    Slot.network("switching PATH", lambda p, _w, _o: ["switching", str(p), "open:K1"]),
    Slot.network("locate PATH", lambda p, w, _o: ["locate", str(p), "--reports", str(w.reports)]),
    Slot(
        "locate --reports",
        "reports.jsonl",
        REPORTS.splitlines()[0],  # a good message, then the hostile line
        lambda p, w, o: ["locate", str(w.small), "--reports", str(p), "--map", str(o / "f.png")],
        nests=True,
        writes=("f.png",),
    ),
    Slot(
        "network CSV folder (nodes.csv)",
        "nodes.csv",
        NODES_HEADER,
        lambda p, _w, _o: ["grid", "check", str(p)],
        in_folder=True,
    ),
    Slot(
        "network CSV folder (sections.csv) of impact",
        "sections.csv",
        "id,from_node,to_node,kind,length_km",
        lambda p, _w, _o: ["impact", str(p), "--open", "K1"],
        in_folder=True,
    ),
    Slot(
        "reliability import FILE",
        "history.csv",
        HISTORY_HEADER,
        lambda p, w, _o: ["reliability", "import", str(p), "--network", str(w.small)],
        stores=True,
    ),
    Slot(
        "reliability import --base",
        "base.csv",
        BASE_HEADER,
        lambda p, w, _o: [
            *("reliability", "import", str(w.history)),
            *("--base", str(p), "--network", str(w.small)),
        ],
        stores=True,
    ),
    Slot.network(
        "reliability import --network",
        lambda p, w, _o: ["reliability", "import", str(w.history), "--network", str(p)],
        stores=True,
    ),
    Slot(
        "--config",
        "openoms.toml",
        'a = ["x"',
        lambda p, _w, _o: ["reliability", "imports", "--config", str(p)],
        nests=True,
    ),
    Slot(
        "roster import FILE",
        "roster.csv",
        ROSTER_HEADER,
        lambda p, w, _o: ["roster", "import", str(p), "--network", str(w.small)],
        stores=True,
    ),
)
CASES = [
    pytest.param(slot, kind, id=f"{slot.name}: {kind}")
    for slot in SLOTS
    for kind in HOSTILE
    if slot.nests or kind != "deep-nesting"  # in CSV, nesting is just text
]


def check_refused(outcome: Outcome, hostile: Path, world: World, written: list[Path]) -> None:
    line = outcome.one_error_line()
    assert str(hostile) in line, line
    assert [p for p in written if p.exists()] == []
    assert world.stored() == (0, 0)


@pytest.mark.parametrize(("slot", "kind"), CASES)
def test_every_file_argument_refuses_hostile_files_in_one_line(
    world: World, tmp_path: Path, slot: Slot, kind: str
) -> None:
    argument, hostile = slot.place(tmp_path, world)
    make_hostile(kind, hostile, header=slot.header, world=world)
    out = tmp_path / "out"
    out.mkdir()
    outcome = in_process(slot.args(argument, world, out), world.env)
    check_refused(outcome, hostile, world, [out / name for name in slot.writes])


@pytest.mark.slow  # real processes: a few seconds each
@pytest.mark.parametrize(
    ("slot_name", "kind"),
    [
        ("network CSV folder (nodes.csv)", "binary"),
        ("impact PATH", "deep-nesting"),
        ("grid show PATH", "random-50MB"),
        ("reliability import FILE", "folder"),
        ("roster import FILE", "huge-field"),
        ("locate --reports", "utf-16"),
    ],
)
def test_as_a_process_the_user_sees_one_line_and_no_traceback(
    world: World, tmp_path: Path, slot_name: str, kind: str
) -> None:
    [slot] = [s for s in SLOTS if s.name == slot_name]
    argument, hostile = slot.place(tmp_path, world)
    make_hostile(kind, hostile, header=slot.header, world=world)
    out = tmp_path / "out"
    out.mkdir()
    outcome = as_process(slot.args(argument, world, out), world.env)
    assert outcome.code == 2
    check_refused(outcome, hostile, world, [out / name for name in slot.writes])


# -- bad input that used to pass ------------------------------------------------------------


def test_an_empty_device_list_is_refused(world: World) -> None:
    for opened in ("", " , ,"):
        outcome = in_process(["impact", str(world.small), "--open", opened], world.env)
        assert "--open" in outcome.one_error_line()
        assert outcome.stdout == ""


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", '"NaN"', "1e999"])
def test_a_length_that_is_not_a_finite_number_is_refused(
    world: World, tmp_path: Path, value: str
) -> None:
    rows = small_rows()
    rows["sections"][0]["length_km"] = 123456.5
    path = tmp_path / "small.json"
    write_json_document(small_raw(rows), path)
    text = path.read_text(encoding="utf-8")
    assert text.count("123456.5") == 1
    path.write_text(text.replace("123456.5", value), encoding="utf-8")
    checked = in_process(["grid", "check", str(path), "--json"], world.env)
    assert checked.code == 1
    [problem] = json.loads(checked.stdout)["problems"]
    assert (problem["field"], problem["element_id"]) == ("length_km", "s1")
    assert "finite" in problem["message"]
    for args in (["impact", str(path), "--open", "K1"], ["grid", "show", str(path), "--no-map"]):
        outcome = in_process(args, world.env)
        assert outcome.code == 2
        assert "length_km" in outcome.stderr
        assert outcome.stdout == ""


def test_a_history_file_without_rows_imports_nothing(world: World, tmp_path: Path) -> None:
    for name, text in (
        ("header.csv", f"{HISTORY_HEADER}\n"),
        ("blank.csv", f"{HISTORY_HEADER}\n\n\n"),
    ):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        args = ["reliability", "import", str(path), "--network", str(world.small)]
        line = in_process(args, world.env).one_error_line()
        assert f"{name}: no rows after the header; nothing imported" in line
    assert world.stored() == (0, 0)


@pytest.mark.parametrize("name", ["x.gif", "x.jpg", "x", "x.png.exe", "folder"])
def test_a_map_is_png_or_svg_and_a_refused_one_writes_nothing(
    world: World, tmp_path: Path, name: str
) -> None:
    target = tmp_path / name
    if name == "folder":
        target.mkdir()
    small, reports = str(world.small), str(world.reports)
    for args in (
        ["grid", "show", small, "--map", str(target)],
        ["impact", small, "--open", "K1", "--map", str(target)],
        ["locate", small, "--reports", reports, "--map", str(target)],
    ):
        line = in_process(args, world.env).one_error_line()
        assert "--map" in line
        assert str(target) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == (["folder"] if name == "folder" else [])


def test_a_map_or_report_where_a_file_is_in_the_way(world: World, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder", encoding="utf-8")
    line = in_process(
        ["impact", str(world.small), "--open", "K1", "--map", str(blocker / "m.png")], world.env
    ).one_error_line()
    assert "is a file, not a folder" in line
    line = in_process(["reliability", "--report", str(blocker)], world.env).one_error_line()
    assert "--report" in line
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_grid_convert_writes_nothing_over_a_file_or_into_a_folder(
    world: World, tmp_path: Path
) -> None:
    a_file = tmp_path / "network"
    a_file.write_text("keep", encoding="utf-8")
    a_folder = tmp_path / "network.json"
    a_folder.mkdir()
    for target in (a_file, a_folder):
        line = in_process(["grid", "convert", str(world.small), str(target)], world.env)
        assert str(target) in line.one_error_line()
    assert a_file.read_text(encoding="utf-8") == "keep"
    assert list(a_folder.iterdir()) == []


def test_settings_nested_too_deeply_are_one_line(world: World, tmp_path: Path) -> None:
    path = tmp_path / "openoms.toml"
    path.write_text("a = " + "[" * 100_000, encoding="utf-8")
    line = in_process(["reliability", "imports", "--config", str(path)], world.env)
    assert line.one_error_line() == f"error: {path}: not valid TOML: nested too deeply"


def test_an_unknown_encoding_is_one_line(world: World) -> None:
    line = in_process(
        ["impact", str(world.small), "--open", "K1", "--encoding", "klingon"], world.env
    ).one_error_line()
    assert "'klingon'" in line
    assert "--encoding" in line


# -- encodings that must be read ------------------------------------------------------------

EXT_B_VILLAGE = "𠮷村"  # a character of GB18030 that GBK does not have
ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")


def _reencode(folder: Path, encoding: str) -> None:
    for path in folder.glob("*.csv"):
        path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))


def _village_folder(root: Path, encoding: str) -> tuple[Path, str]:
    """The small network with TA2's village renamed, every CSV file in ``encoding``."""
    village = EXT_B_VILLAGE if encoding in {"gb18030", "utf-8", "utf-8-sig"} else "李家村"
    rows = small_rows()
    rows["transformer_areas"][1]["village"] = village
    folder = root / f"net-{encoding}"
    write_csv_folder(small_raw(rows), folder)
    _reencode(folder, encoding)
    return folder, village


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_network_csv_in_chinese_encodings_is_read_with_its_names(
    world: World, tmp_path: Path, encoding: str
) -> None:
    folder, village = _village_folder(tmp_path, encoding)
    if encoding.startswith("gb"):  # not UTF-8 at all
        with pytest.raises(UnicodeDecodeError):
            (folder / "transformer_areas.csv").read_bytes().decode("utf-8")
    detected = in_process(["impact", str(folder), "--open", "CB1", "--json"], world.env)
    assert detected.code == 0, detected.stderr
    assert {village, "王庄村"} <= set(json.loads(detected.stdout)["villages"])
    given = in_process(
        ["impact", str(folder), "--open", "CB1", "--json", "--encoding", encoding], world.env
    )
    assert json.loads(given.stdout)["villages"] == json.loads(detected.stdout)["villages"]
    converted = tmp_path / "converted.json"
    assert in_process(["grid", "convert", str(folder), str(converted)], world.env).code == 0
    assert village in converted.read_text(encoding="utf-8")  # written as UTF-8


def test_a_gbk_file_read_as_utf8_is_refused_not_misread(world: World, tmp_path: Path) -> None:
    folder, _ = _village_folder(tmp_path, "gbk")
    args = ["impact", str(folder), "--open", "CB1", "--encoding", "utf-8"]
    line = in_process(args, world.env).one_error_line()
    assert f"error: {folder / 'substations.csv'}, line 2: not utf-8 text" in line  # 甲变


def test_a_damaged_utf8_file_is_refused_not_read_as_gb18030(world: World, tmp_path: Path) -> None:
    folder, _ = _village_folder(tmp_path, "utf-8")
    areas = folder / "transformer_areas.csv"
    areas.write_bytes(areas.read_bytes().replace("王庄村".encode(), "王庄村".encode()[:-1], 1))
    line = in_process(["grid", "check", str(folder)], world.env).one_error_line()
    assert f"{areas}, line 2: not valid UTF-8" in line


def test_a_json_network_in_gbk_is_read(world: World, tmp_path: Path) -> None:
    path = tmp_path / "small.json"
    write_json_document(small_raw(), path)
    path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))
    outcome = in_process(["impact", str(path), "--open", "CB1", "--json"], world.env)
    assert outcome.code == 0, outcome.stderr
    assert "王庄村" in json.loads(outcome.stdout)["villages"]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_history_and_roster_in_chinese_encodings_keep_their_names(
    own_world: World, encoding: str
) -> None:
    w = own_world
    w.history.write_bytes(HISTORY.encode(encoding))
    imported = in_process(
        ["reliability", "import", str(w.history), "--network", str(w.small), "--lang", "en"],
        w.env,
    )
    assert imported.code == 0, imported.stderr
    assert "imported 2 rows, 2 events" in imported.stdout
    period = ["--from", "2024-03-01", "--to", "2024-04-01", "--source", "history"]
    result = in_process(
        ["reliability", *period, "--by", "cause", "--json", "--network", str(w.small)], w.env
    )
    assert result.code == 0, result.stderr
    causes = {row["cause"] for row in json.loads(result.stdout)["breakdown"]["rows"]}
    assert causes == {"树障", "检修"}

    path = w.root / "roster.csv"
    path.write_bytes(ROSTER.encode(encoding))
    done = in_process(["roster", "import", str(path), "--network", str(w.small)], w.env)
    assert done.code == 0, done.stderr
    shown = in_process(["roster", "show", "--at", "2025-01-15T10:00+08:00"], w.env)
    assert "城关抢修一班  王建国" in shown.stdout
    assert w.stored() == (1, 2)


def test_a_gbk_history_with_encoding_given(own_world: World) -> None:
    w = own_world
    w.history.write_bytes(HISTORY.encode("gbk"))
    args = ["reliability", "import", str(w.history), "--network", str(w.small)]
    wrong = in_process([*args, "--encoding", "utf-8"], w.env)
    assert "not utf-8 text" in wrong.one_error_line()
    assert w.stored() == (0, 0)
    assert in_process([*args, "--encoding", "gbk"], w.env).code == 0
    assert w.stored() == (1, 0)
