"""Network snapshots: loaded equal to a fresh read, re-read when a file changes, never trusted
when damaged, one whole copy when two processes write at once."""

from __future__ import annotations

import json
import multiprocessing
import os
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import openoms.grid.snapshot as snapshot_module
from openoms.cli import main
from openoms.cli._common import data_dir_of
from openoms.grid.load import load_network
from openoms.grid.model import Network
from openoms.grid.native import write_csv_folder, write_json_document
from openoms.grid.snapshot import (
    SnapshotError,
    SnapshotStore,
    indexed,
    load_snapshot,
    network_tables,
    save_snapshot,
    source_key,
)
from openoms.grid.topology import Topology, TopologyError
from openoms.samples import bundled_path
from openoms.settings import load_settings
from tests.grid.small import small_raw, small_rows


@pytest.fixture
def small_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "small"
    write_csv_folder(small_raw(), folder)
    return folder


def assert_same_network(a: Network, b: Network) -> None:
    """Every column of every table (arrays: dtype and values, texts: equal tuples), the ids."""
    assert a.name == b.name
    for table in network_tables():
        ta, tb = getattr(a, table), getattr(b, table)
        assert type(ta) is type(tb)
        for column in fields(ta):
            x, y = getattr(ta, column.name), getattr(tb, column.name)
            where = f"{table}.{column.name}"
            if isinstance(x, np.ndarray):
                assert isinstance(y, np.ndarray), where
                assert x.dtype == y.dtype, where
                assert x.shape == y.shape, where
                assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), where
            else:
                assert type(x) is type(y), where
                assert x == y, where
    assert a._ids == b._ids


def assert_same_topology(a: Topology, b: Topology) -> None:
    sa, sb = a.state_arrays(), b.state_arrays()
    assert sa.keys() == sb.keys()
    for name in sa:
        assert sa[name].dtype == sb[name].dtype, name
        assert np.array_equal(sa[name], sb[name]), name


def _impact_json(folder: Path, device: str, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        main, ["impact", str(folder), "--open", device, "--json", *extra], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


@pytest.mark.parametrize("name", ["sample:county", "sample:ieee33"])
def test_a_loaded_snapshot_equals_the_freshly_read_network(name: str, tmp_path: Path) -> None:
    source = bundled_path(name)
    fresh = load_network(source)
    store = SnapshotStore(tmp_path)
    missing, key = store.load(source)
    assert missing is None
    assert store.save(source, indexed(fresh), key) == store.path(source, key)
    loaded, key_again = store.load(source)
    assert key_again == key
    assert loaded is not None
    assert_same_network(fresh, loaded.network)
    assert loaded.topology is not None
    assert_same_topology(
        Topology.build(fresh.graph_arrays(), fresh.closed_edges()), loaded.topology
    )


def test_texts_with_empty_values_and_empty_tables_round_trip(tmp_path: Path) -> None:
    rows = small_rows()
    rows["nodes"][3]["name"] = "一个节点"  # most names are empty (None), one is not
    network = load_network(_csv(tmp_path / "net", rows))
    assert network.telecontrol_units.id == ()  # an empty table
    assert None in network.nodes.name
    target = tmp_path / "s.npz"
    save_snapshot(indexed(network), target, key="k")
    assert_same_network(network, load_snapshot(target, key="k").network)


def test_a_restored_topology_operates_like_a_fresh_one(small_folder: Path, tmp_path: Path) -> None:
    network = load_network(small_folder)
    target = tmp_path / "s.npz"
    save_snapshot(indexed(network), target, key="k")
    restored = load_snapshot(target, key="k").topology
    fresh = Topology.build(network.graph_arrays(), network.closed_edges())
    assert restored is not None
    k1 = network.edge_index("K1")
    t1 = network.edge_index("T1")
    assert k1 is not None
    assert t1 is not None
    for topology in (fresh, restored):
        assert topology.nodes_below_edge(k1).tolist() == fresh.nodes_below_edge(k1).tolist()
    ops = [(k1, False), (t1, True)]
    a, b = fresh.operate(ops), restored.operate(ops)
    assert a.lost.tolist() == b.lost.tolist()
    assert a.transferred.tolist() == b.transferred.tolist()
    assert_same_topology(fresh, restored)


def test_restore_refuses_arrays_of_another_graph(small_folder: Path) -> None:
    network = load_network(small_folder)
    arrays = Topology.build(network.graph_arrays(), network.closed_edges()).state_arrays()
    arrays["state"] = arrays["state"][:, :-1]
    del arrays["loops"]
    with pytest.raises(TopologyError) as caught:
        Topology.restore(network.graph_arrays(), arrays)
    assert any("state" in p for p in caught.value.problems)
    assert any("loops" in p for p in caught.value.problems)


def _csv(folder: Path, rows: dict[str, list[dict[str, Any]]]) -> Path:
    write_csv_folder(small_raw(rows), folder)
    return folder


def test_a_changed_file_is_read_again(small_folder: Path) -> None:
    assert _impact_json(small_folder, "K1")["counts"]["lv_customers"] == 35
    store = SnapshotStore(data_dir_of() / "snapshots")
    first_key = source_key(small_folder)
    assert store.path(small_folder, first_key).is_file()  # saved by the first command
    rows = small_rows()
    ta = next(r for r in rows["transformer_areas"] if r["id"] == "TA2")
    ta["lv_customers"] = 36
    _csv(small_folder, rows)
    assert source_key(small_folder) != first_key
    assert _impact_json(small_folder, "K1")["counts"]["lv_customers"] == 36
    # the newer snapshot replaced the older one
    assert not store.path(small_folder, first_key).exists()
    assert store.path(small_folder, source_key(small_folder)).is_file()
    # a file the readers take (a table that was absent) counts too; other files do not
    key = source_key(small_folder)
    (small_folder / "notes.txt").write_text("not a table", encoding="utf-8")
    assert source_key(small_folder) == key
    (small_folder / "telecontrol_units.csv").unlink()
    assert source_key(small_folder) != key


def test_the_same_files_elsewhere_keep_their_own_name(small_folder: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write_csv_folder(small_raw(), other)
    assert source_key(other) != source_key(small_folder)  # the folder name is the network's
    document = tmp_path / "small.json"
    write_json_document(small_raw(), document)
    assert _impact_json(document, "K1")["nodes"] == ["A3", "A4"]
    assert _impact_json(document, "K1")["nodes"] == ["A3", "A4"]


def test_the_format_version_and_the_code_are_in_the_key(
    small_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = source_key(small_folder)
    monkeypatch.setattr(snapshot_module, "SNAPSHOT_VERSION", snapshot_module.SNAPSHOT_VERSION + 1)
    assert source_key(small_folder) != key
    monkeypatch.undo()
    monkeypatch.setattr(snapshot_module, "_code_fingerprint", lambda: b"other code")
    assert source_key(small_folder) != key


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif how == "flipped":  # one bit of an array's data, as a disk would rot it
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("transformer_areas.lv_customers.npy")
        local = info.header_offset
        name_length = int.from_bytes(data[local + 26 : local + 28], "little")
        extra_length = int.from_bytes(data[local + 28 : local + 30], "little")
        last = local + 30 + name_length + extra_length + info.compress_size - 1
        data[last] ^= 0x01
        path.write_bytes(bytes(data))
    elif how == "garbage":
        path.write_bytes(b"not a zip at all")
    elif how == "rewritten":  # a valid archive whose array no longer matches the checksum
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        arrays["transformer_areas.lv_customers"] = arrays["transformer_areas.lv_customers"] + 1
        with path.open("wb") as out:
            np.savez(out, allow_pickle=False, **arrays)
    elif how == "other key":  # a whole snapshot, of other files, under this name
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        header = json.loads(arrays["header"].tobytes())
        header["key"] = "0" * 64
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        with path.open("wb") as out:
            np.savez(out, allow_pickle=False, **arrays)
    else:  # pragma: no cover
        raise AssertionError(how)


def _saved(folder: Path, store: SnapshotStore) -> Path:
    key = source_key(folder)
    store.save(folder, indexed(load_network(folder)), key)
    return store.path(folder, key)


@pytest.mark.parametrize("how", ["truncated", "flipped", "garbage", "rewritten", "other key"])
def test_a_damaged_snapshot_is_detected_and_rebuilt(small_folder: Path, how: str) -> None:
    store = SnapshotStore(data_dir_of() / "snapshots")
    assert _impact_json(small_folder, "K1")["counts"]["lv_customers"] == 35
    target = store.path(small_folder, source_key(small_folder))
    _damage(target, how)
    with pytest.raises(SnapshotError):
        load_snapshot(target, key=source_key(small_folder))
    assert store.load(small_folder)[0] is None
    assert not target.exists()  # removed, never trusted
    _damage(_saved(small_folder, store), how)
    assert _impact_json(small_folder, "K1")["counts"]["lv_customers"] == 35  # read again
    loaded, _ = store.load(small_folder)  # and saved again, whole
    assert loaded is not None
    assert_same_network(load_network(small_folder), loaded.network)


def test_no_cache_reads_the_files_and_saves_nothing(small_folder: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = CliRunner(env={"OPENOMS_DATA_DIR": str(data)}).invoke(
        main, ["impact", str(small_folder), "--open", "K1", "--json", "--no-cache"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["nodes"] == ["A3", "A4"]
    assert not (data / "snapshots").exists()


def test_a_text_holding_nul_is_not_saved(small_folder: Path, tmp_path: Path) -> None:
    rows = small_rows()
    rows["nodes"][2]["name"] = "a\x00b"  # only a JSON document can say that ("\u0000")
    document = tmp_path / "nul.json"
    write_json_document(small_raw(rows), document)
    network = load_network(document)
    assert network.nodes.name[2] == "a\x00b"
    with pytest.raises(SnapshotError, match="NUL"):
        save_snapshot(indexed(network), tmp_path / "s.npz", key="k")
    store = SnapshotStore(tmp_path / "snapshots")
    assert store.save(document, indexed(network), source_key(document)) is None
    assert _impact_json(document, "K1")["nodes"] == ["A3", "A4"]  # works, uncached


def _race(folder: str, store_folder: str, rounds: int, barrier: Any) -> None:
    source = Path(folder)
    network = load_network(source)
    store = SnapshotStore(Path(store_folder))
    key = source_key(source)
    barrier.wait()
    for _ in range(rounds):
        assert store.save(source, indexed(network), key) is not None
        loaded, _ = store.load(source)  # a reader between the writers
        assert loaded is not None


def test_two_processes_racing_leave_one_good_copy(small_folder: Path, tmp_path: Path) -> None:
    store_folder = tmp_path / "snapshots"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [
        context.Process(target=_race, args=(str(small_folder), str(store_folder), 25, barrier))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert sorted(p.name for p in store_folder.iterdir()) == [
        SnapshotStore(store_folder).path(small_folder, source_key(small_folder)).name
    ]  # one copy, no temporary file left
    loaded, _ = SnapshotStore(store_folder).load(small_folder)
    assert loaded is not None
    assert_same_network(load_network(small_folder), loaded.network)


def test_a_snapshot_is_one_zip_of_plain_arrays(small_folder: Path, tmp_path: Path) -> None:
    target = tmp_path / "s.npz"
    save_snapshot(indexed(load_network(small_folder)), target, key="k")
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
    assert "header.npy" in names
    with np.load(target, allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"XDG_DATA_HOME": "/srv/xdg"},
        {"OPENOMS_DATA_DIR": "/srv/openoms"},
        {"OPENOMS_DATA_DIR": "/srv/openoms", "XDG_DATA_HOME": "/srv/xdg"},
    ],
)
def test_the_data_folder_without_pydantic_is_the_settings_one(
    environ: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no openoms.toml here
    assert data_dir_of(environ) == load_settings(environ=environ).data_dir
    (tmp_path / "openoms.toml").write_text('data_dir = "/srv/from-file"\n', encoding="utf-8")
    assert data_dir_of(environ) == load_settings(environ=environ).data_dir


def test_an_unwritable_data_folder_only_costs_time(small_folder: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the data folder should be", encoding="utf-8")
    result = CliRunner(env={"OPENOMS_DATA_DIR": str(blocked)}).invoke(
        main, ["impact", str(small_folder), "--open", "K1", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["nodes"] == ["A3", "A4"]


def test_temporary_files_are_named_apart_from_snapshots(tmp_path: Path) -> None:
    # the store's glob of older snapshots must never catch another writer's temporary file
    store = SnapshotStore(tmp_path)
    network = load_network(bundled_path("sample:ieee33"))
    source = bundled_path("sample:ieee33")
    key = source_key(source)
    (tmp_path / f".{store.path(source, key).stem}-x.tmp").write_bytes(b"partial")
    assert store.save(source, indexed(network), key) is not None
    assert len([p for p in os.listdir(tmp_path) if p.endswith(".tmp")]) == 1


def test_the_encoding_is_in_the_key_and_an_encoded_read_is_cached(small_folder: Path) -> None:
    detected = source_key(small_folder)
    assert source_key(small_folder, "gb18030") != detected
    assert source_key(small_folder, "GB18030") == source_key(small_folder, "gb18030")
    assert _impact_json(small_folder, "K1", "--encoding", "utf-8")["nodes"] == ["A3", "A4"]
    store = SnapshotStore(data_dir_of() / "snapshots")
    assert store.path(small_folder, source_key(small_folder, "utf-8")).is_file()
    loaded, _key = store.load(small_folder, "utf-8")
    assert loaded is not None


def test_a_file_that_cannot_be_read_is_left_to_the_reader(
    small_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(_source: Path, _encoding: str | None = None) -> str:
        raise PermissionError(13, "Permission denied", str(_source / "nodes.csv"))

    monkeypatch.setattr(snapshot_module, "source_key", unreadable)
    store = SnapshotStore(tmp_path / "snapshots")
    assert store.load(small_folder) == (None, "")
    snapshot = indexed(load_network(small_folder))
    assert store.save(small_folder, snapshot, "") is None
    assert not (tmp_path / "snapshots").exists()
