"""The DuckDB store: idempotent, transactional ingest; listing and loading series."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pytest

from capplan.data import MetricFrame, Store, file_sha256, ingest_files, read_file, to_panel
from capplan.data import store as store_module
from capplan.errors import DataError, StoreError, UsageError

Write = Callable[[str, str], Path]

DAY1 = "timestamp,value\n" + "".join(f"2024-01-01 00:{m:02d}:00,{m}\n" for m in range(0, 30, 5))
# overlaps DAY1 on 00:20 and 00:25 (with different values), then goes on, with a gap at 00:40
DAY1_LATER = "timestamp,value\n" + "".join(
    f"2024-01-01 00:{m:02d}:00,{100 + m}\n" for m in (20, 25, 30, 35, 45)
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "capplan.duckdb"


def test_same_file_twice_adds_nothing(db: Path, write: Write) -> None:
    path = write("cpu.csv", DAY1)
    with Store(db) as store:
        [first] = ingest_files(store, [path])
        assert (first.series_added, first.points_added, first.skipped_duplicate_file) == (
            1,
            6,
            False,
        )
        [again] = ingest_files(store, [path])
        assert (again.series_added, again.points_added, again.skipped_duplicate_file) == (
            0,
            0,
            True,
        )
        # even handed the frame directly, the sha256 is recognised
        again2 = store.ingest(read_file(path), str(path), file_sha256(path))
        assert again2.skipped_duplicate_file
        assert store.counts() == (1, 6)


def test_same_bytes_twice_in_one_call(db: Path, write: Write, tmp_path: Path) -> None:
    a = write("a.csv", DAY1)
    (tmp_path / "copy").mkdir()
    b = tmp_path / "copy" / "a.csv"
    b.write_text(DAY1)
    with Store(db) as store:
        results = ingest_files(store, [a, b])
        assert [r.skipped_duplicate_file for r in results] == [False, True]
        assert store.counts() == (1, 6)


def test_overlapping_files_do_not_duplicate_points(db: Path, tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    a = tmp_path / "one" / "cpu.csv"
    b = tmp_path / "two" / "cpu.csv"
    a.write_text(DAY1)
    b.write_text(DAY1_LATER)
    with Store(db) as store:
        ingest_files(store, [a])
        [second] = ingest_files(store, [b])
        assert (second.series_added, second.points_added, second.points_already_stored) == (0, 3, 2)
        frame = store.load()
        assert len(frame) == 9
        _, values = frame.get("cpu")
        assert values[4:6].tolist() == [20.0, 25.0]  # the first value written wins
        [info] = store.list_series()
        assert (info.points, info.step_seconds, info.gaps) == (9, 300, 1)
        assert info.first == np.datetime64("2024-01-01T00:00:00")
        assert info.last == np.datetime64("2024-01-01T00:45:00")


def test_failure_mid_ingest_leaves_the_store_unchanged(
    db: Path, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write("first.csv", DAY1)
    second = write("second.csv", DAY1_LATER.replace("timestamp,value", "timestamp,mem"))
    with Store(db) as store:
        ingest_files(store, [first])
        before = (store.counts(), store.list_series())

        def boom(self: Store, frame: MetricFrame, ids: np.ndarray) -> int:
            raise RuntimeError("disk full")

        monkeypatch.setattr(store_module.Store, "_add_points", boom)
        with pytest.raises(RuntimeError, match="disk full"):
            ingest_files(store, [second])  # the new series row was already inserted
        assert (store.counts(), store.list_series()) == before
        assert not store.has_ingested(file_sha256(second))
        monkeypatch.undo()
        [ok] = ingest_files(store, [second])  # nothing was recorded, so it can be retried
        assert ok.points_added == 5


def test_interrupt_mid_ingest_rolls_back(
    db: Path, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write("cpu.csv", DAY1)
    real = store_module.Store._add_points

    def interrupted(self: Store, frame: MetricFrame, ids: np.ndarray) -> int:
        real(self, frame, ids)
        raise KeyboardInterrupt

    with Store(db) as store:
        monkeypatch.setattr(store_module.Store, "_add_points", interrupted)
        with pytest.raises(KeyboardInterrupt):
            ingest_files(store, [path])
        assert store.counts() == (0, 0)
    with Store(db) as store:
        assert store.counts() == (0, 0)


def test_a_bad_file_among_several_writes_nothing(db: Path, write: Write) -> None:
    good = write("good.csv", DAY1)
    bad = write("bad.csv", "timestamp,value\n2024-01-01,1\n2024-01-02,abc\n")
    with Store(db) as store:
        with pytest.raises(DataError, match=r"bad\.csv:3 column value"):
            ingest_files(store, [good, bad])
        assert store.counts() == (0, 0)


def test_reopen_persists(db: Path, write: Write) -> None:
    path = write("cpu.csv", DAY1)
    with Store(db) as store:
        ingest_files(store, [path])
    with Store(db, read_only=True) as store:
        assert store.counts() == (1, 6)
        assert store.has_ingested(file_sha256(path))
        frame = store.load()
    assert frame.names == ("cpu",)
    assert frame.values.tolist() == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]


def test_labels_kinds_glob_and_since(db: Path, fixtures: Path) -> None:
    with Store(db) as store:
        ingest_files(store, [fixtures / "long.csv", fixtures / "metrics.om"])
        cpu = store.load("cpu_usage*")
        assert cpu.names == ('cpu_usage{host="web-1"}', 'cpu_usage{host="web-2"}')
        assert cpu.labels[0] == {"host": "web-1"}
        counter = store.list_series("http_requests_total{host*")
        assert [(i.kind, i.points, i.step_seconds) for i in counter] == [("counter", 3, 300)]
        late = store.load("cpu_usage*", since="2024-01-01T01:05:00+01:00")
        assert len(late) == 2
        assert set(late.timestamps.tolist()) == {np.datetime64("2024-01-01T00:05:00").item()}
        assert store.load("nothing*").n_series == 0


def test_list_series_agrees_with_the_panel_on_nab(db: Path, nab: Path) -> None:
    files = [nab / "ec2_cpu_utilization_ac20cd.csv", nab / "ec2_disk_write_bytes_1ef3de.csv"]
    with Store(db) as store:
        results = ingest_files(store, files)
        assert [r.points_added for r in results] == [4032, 4719]
        assert [w.code for w in results[1].warnings] == ["duplicates"]
        infos = {i.name: i for i in store.list_series()}
        frame = store.load()
    ac = infos["ec2_cpu_utilization_ac20cd"]
    assert (ac.points, ac.step_seconds, ac.gaps) == (4032, 300, 5)
    assert ac.first == np.datetime64("2014-04-02T14:29:00")
    assert ac.last == np.datetime64("2014-04-16T14:49:00")
    panel = to_panel(frame, "5m")
    for name, gaps in zip(panel.ids, panel.gaps, strict=True):
        assert infos[name].gaps == gaps
    assert infos["ec2_disk_write_bytes_1ef3de"].gaps == 12


def test_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("hello, this is not a database\n" * 100)
    with pytest.raises(StoreError, match=r"notes\.duckdb: is not a capplan store"):
        Store(path)


def test_a_duckdb_database_with_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.close()
    with pytest.raises(StoreError, match=r"not a capplan store .*invoices"):
        Store(path)


def test_read_only_store_must_exist(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such store"):
        Store(tmp_path / "missing.duckdb", read_only=True)
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)


def test_frame_with_repeated_points_and_nan(db: Path) -> None:
    stamps = np.array(["2024-01-01", "2024-01-01", "2024-01-02"], dtype="datetime64[s]")
    frame = MetricFrame.from_arrays(["a", "a", "b"], stamps, [1.0, 2.0, np.nan])
    with Store(db) as store:
        result = store.ingest(frame, "made-in-memory", "0" * 64)
        assert (result.series_added, result.points_added) == (1, 1)
        assert store.load().values.tolist() == [2.0]  # last wins within a frame
        with pytest.raises(UsageError, match="since: expected an ISO 8601 time"):
            store.load(since="yesterday")


# --- damaged files and a second process ---------------------------------------------------------
def _damaged(good: Path, how: str) -> Path:
    """A copy of ``good`` cut short, or with 16 bytes of a block inverted."""
    path = good.with_name(f"{how}.duckdb")
    data = bytearray(good.read_bytes())
    if how.startswith("cut"):
        data = data[: int(how[3:])]
    else:
        at = int(how[4:])
        data[at : at + 16] = bytes(b ^ 0xFF for b in data[at : at + 16])
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("cut0", "is not a capplan store (not a DuckDB database file)"),
        ("cut100", "is truncated or damaged: a part it points to is not there"),
        ("cut8192", "is truncated or damaged"),
        ("flip0", "is not a capplan store (not a DuckDB database file)"),
        ("flip100", "is damaged: Corrupt database file: computed checksum"),
        ("flip8202", "is damaged: "),
        ("flip12388", "is damaged: Corrupt database file: computed checksum"),
    ],
)
def test_a_damaged_store_says_what_is_wrong_and_stays_as_it_was(
    db: Path, write: Write, how: str, message: str
) -> None:
    with Store(db) as store:
        ingest_files(store, [write("cpu.csv", DAY1)])
    path = _damaged(db, how)
    before = path.read_bytes()
    for read_only in (False, True):
        with pytest.raises(StoreError) as err, Store(path, read_only=read_only) as store:
            ingest_files(store, [write("more.csv", DAY1_LATER)])
        assert str(err.value).startswith(f"{path}: {message}")
        assert "in use" not in str(err.value)
        assert "locked" not in str(err.value)
    assert path.read_bytes() == before


HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("ready", flush=True)
sys.stdin.read()
"""


def test_a_second_process_waits_for_the_lock_then_names_the_holder(db: Path, write: Write) -> None:
    with Store(db) as store:
        ingest_files(store, [write("cpu.csv", DAY1)])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "ready\n"
        for read_only in (False, True):
            start = time.monotonic()
            with pytest.raises(StoreError) as err:
                Store(db, read_only=read_only, lock_timeout=0.3)
            assert 0.3 <= time.monotonic() - start < 2
            assert str(err.value).startswith(f"{db}: is locked by process {holder.pid} ("), str(
                err.value
            )
            assert "waited 0.3 s for it" in str(err.value)
        assert holder.stdin is not None
        threading.Timer(0.2, holder.stdin.close).start()  # the holder lets go in 0.2 s
        with Store(db, lock_timeout=10) as store:
            assert store.counts() == (1, 6)
    finally:
        holder.kill()
        holder.wait()
