"""History import rate: parse a 1M-row history CSV and store it (SQLite, PostgreSQL).

    python benchmarks/reliability_import.py [--rows 1000000] [--postgres URL]

Writes a seeded file of (event, unit, step) rows for the sample county's transformer areas,
then times ``parse_history`` (csv module + numpy chunks) and ``import_history`` (bulk insert in
one transaction) on a fresh SQLite file and, if reachable, PostgreSQL (a throw-away schema).
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from openoms.grid.load import check_raw, read_network_records
from openoms.reliability.base import customer_base_from_network
from openoms.reliability.history_csv import parse_history
from openoms.samples import bundled_path
from openoms.store import history
from openoms.store.db import make_engine, make_session_factory, upgrade


def write_file(path: Path, rows: int, units: tuple[str, ...], seed: int = 1) -> None:
    rng = random.Random(seed)
    first = datetime(2020, 1, 1, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as stream:
        out = csv.writer(stream, lineterminator="\n")
        out.writerow(["event_id", "unit_id", "customers", "start", "step_end", "class", "cause"])
        done, event = 0, 0
        while done < rows:
            event += 1
            start = first + timedelta(seconds=rng.randrange(5 * 365 * 86_400))
            stamp = start.strftime("%Y-%m-%dT%H:%M:%S+00:00")
            for unit in rng.sample(units, rng.randint(1, 9)):
                end = start + timedelta(seconds=rng.randint(60, 20_000))
                out.writerow(
                    [
                        f"E{event}",
                        unit,
                        1,
                        stamp,
                        end.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                        "fault_internal",
                        "tree",
                    ]
                )
                done += 1
                if done == rows:
                    break


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    network = check_raw(read_network_records(bundled_path("sample:county"))).network
    assert network is not None
    base = customer_base_from_network(network)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.csv"
        write_file(path, args.rows, base.unit_id)
        started = time.perf_counter()
        with path.open(newline="", encoding="utf-8") as stream:
            rows = parse_history(csv.reader(stream), base, source=path.name)
        parse_s = time.perf_counter() - started
        print(f"parse: {len(rows):,} rows in {parse_s:.1f} s = {len(rows) / parse_s:,.0f} rows/s")
        urls = {"sqlite": f"sqlite:///{Path(folder) / 'bench.db'}"}
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = None
        try:
            admin = create_engine(args.postgres)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            urls["postgresql"] = str(
                make_url(args.postgres).update_query_dict({"options": f"-csearch_path={schema}"})
            )
        except Exception as exc:
            print(f"postgresql: skipped ({exc.__class__.__name__})")
        try:
            for name, url in urls.items():
                upgrade(url)
                engine = make_engine(url)
                started = time.perf_counter()
                with make_session_factory(engine).begin() as session:
                    history.import_history(
                        session,
                        rows,
                        base,
                        source=path.name,
                        content_sha256=uuid.uuid4().hex,
                        timezone="Asia/Shanghai",
                        actor="bench",
                        now=datetime.now(UTC),
                    )
                store_s = time.perf_counter() - started
                started = time.perf_counter()
                with make_session_factory(engine).begin() as session:
                    back = history.load_history(session, base, start=0, end=2**40)
                load_s = time.perf_counter() - started
                engine.dispose()
                print(
                    f"{name}: store {store_s:.1f} s = {len(rows) / store_s:,.0f} rows/s; "
                    f"load {len(back):,} rows in {load_s:.1f} s"
                )
        finally:
            if admin is not None and "postgresql" in urls:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
