"""Bad metric files and damaged stores through the CLI: exit 2 (`check`: 3) naming the file and
row, never an internal error; a poisoned minute file is refused or cleaned in time and memory."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from capplan.cli import app
from capplan.data import MetricFrame, Store

runner = CliRunner()
T0 = np.datetime64("2024-03-01T00:00:00", "s")
NOW = "2024-03-03T02:00:00Z"  # a minute after the last of 3,000 minutes from T0
PLAN = """\
system: demo
drivers:
  users: {initial: 100}
metrics:
  cpu: {unit: "%", series: "cpu"}
thresholds:
  cpu_hot: {metric: cpu, unit: "%", for: 5m, warning: 80, critical: 90}
"""


def minute_file(path: Path, bad: str | None) -> Path:
    """3,000 minutes of a CPU series; ``bad`` (a time) as one more row in the middle."""
    stamps = T0 + np.arange(3000, dtype=np.int64) * np.timedelta64(60, "s")
    rows = [f"{t}Z,{50 + 10 * np.sin(i / 100):.3f}" for i, t in enumerate(stamps)]
    if bad is not None:
        rows.insert(1500, f"{bad},55")
    path.write_text("timestamp,cpu\n" + "\n".join(rows) + "\n")
    return path


# Runs in a fresh interpreter so that its peak memory is this work's alone; each command is
# timed from after the imports. The peak is VmHWM, the high-water mark of this interpreter's
# own memory: getrusage's maxrss would also count the pytest process it was started from
# (Linux keeps the larger of the two across the exec).
MEASURE = """
import json, sys, time
from typer.testing import CliRunner
from capplan.cli import app
out = []
for args in json.loads(sys.argv[1]):
    start = time.perf_counter()
    result = CliRunner().invoke(app, args)
    out.append([result.exit_code, time.perf_counter() - start, result.output])
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak = int(status.split()[0]) / 1024
print(json.dumps({"runs": out, "peak_mb": peak}))
"""


def test_a_poisoned_minute_file_is_refused_or_cleaned_within_budget(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    store = tmp_path / "s.duckdb"
    batches = []
    for bad in ("inf", "epoch", "-infinity", "1971-06-01T00:00:00Z"):
        data = minute_file(tmp_path / "cpu.csv", bad)
        tag = bad.strip("-")
        path = data.rename(tmp_path / f"{tag}.csv")
        batches.append(
            [
                ["forecast", str(path), "--horizon", "1h", "--now", NOW, "-f", "csv"],
                ["ingest", str(path), "--store", str(store)],
                ["check", str(plan), str(path), "--now", NOW],
            ]
        )
    good = minute_file(tmp_path / "good.csv", None)
    seeded = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps([["ingest", str(good), "--store", str(store)]])],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(seeded.stdout.strip().splitlines()[-1])["runs"][0][0] == 0
    cases, runs = [], []
    for batch in batches:  # one interpreter per file: its peak is that file's commands'
        got = subprocess.run(
            [sys.executable, "-c", MEASURE, json.dumps(batch)],
            capture_output=True,
            text=True,
            check=True,
        )
        report = json.loads(got.stdout.strip().splitlines()[-1])
        assert report["peak_mb"] < 300, (batch[0][1], report["peak_mb"])
        cases += batch
        runs += report["runs"]
    for args, (code, seconds, output) in zip(cases, runs, strict=True):
        assert seconds < 2, (args, seconds)
        assert "Traceback" not in output
        assert "internal error" not in output
        name = Path(args[2] if args[0] == "check" else args[1]).name
        if name.startswith("1971"):
            assert code == 0, output
            assert (
                f"{name} series cpu: 1 point at 1971-06-01T00:00:00Z (value 55) lies 53 years "
                "before the rest of the series (2024-03-01T00:00Z to 2024-03-03T01:59Z); "
                "dropped as implausible"
            ) in " ".join(output.split())
        else:
            assert code == (3 if args[0] == "check" else 2), output
            word = name.removesuffix(".csv")
            assert f"{name}:1502 column timestamp: cannot parse '" in output
            assert f"{word}' as a time" in output
    listed = subprocess.run(
        [sys.executable, "-m", "capplan", "series", "--store", str(store), "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    [series] = json.loads(listed.stdout)  # the failed ingests and the stray added nothing
    assert (series["points"], series["first"]) == (3000, "2024-03-01T00:00:00")


BAD_FILES = [
    (
        "cr.csv",
        b"timestamp,value\r2024-01-01,1\r2024-01-02,2\r2024-01-03,x\r",
        "cr.csv:4 column value",
    ),
    (
        "plain.csv.gz",
        b"timestamp,value\n2024-01-01,1\n2024-01-02,x\n",
        "plain.csv.gz:3 column value",
    ),
    (
        "e30.csv",
        b"timestamp,value\n1709251200,1\n1e30,2\n1709251320,3\n",
        "e30.csv:3 column timestamp: '1e30' is out of range",
    ),
    (
        "nan.prom",
        b"up 1 1709251200000\nup 1 NaN\n",
        "nan.prom:2 series up: the timestamp is not a time",
    ),
    (
        "big.prom",
        b"up 1 1709251200000\nup 1 1e400\n",
        "big.prom:2 series up: the timestamp is not a time",
    ),
    (
        "t400.prom",
        b"up 1 1709251200000\nup 1 " + b"9" * 400 + b"\n",
        "t400.prom:2: not valid Prometheus text",
    ),
    (
        "v400.prom",
        b"up 1 1709251200000\nup " + b"9" * 400 + b" 1709251260000\n",
        "v400.prom:2 series up: the value is not a number",
    ),
    (
        "t20.om",
        b"# TYPE up gauge\nup 1 " + b"1" * 20 + b"\n# EOF\n",
        "t20.om:2 series up: the timestamp is not a time",
    ),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
@pytest.mark.parametrize("command", ["ingest", "forecast"])
def test_bad_files_exit_2_naming_the_file_and_row(
    tmp_path: Path, command: str, name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    args = ["--store", str(tmp_path / "s.duckdb")] if command == "ingest" else ["--horizon", "1h"]
    result = runner.invoke(app, [command, str(path), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert "internal error" not in result.output


def test_bare_cr_and_plain_gz_files_read_as_they_are(tmp_path: Path) -> None:
    cr = tmp_path / "cr.csv"
    cr.write_bytes(b"timestamp,cpu\r2024-01-01T00:00:00Z,1\r2024-01-01T00:01:00Z,2\r")
    plain = tmp_path / "mem.csv.gz"
    plain.write_text("timestamp,mem\n2024-01-01T00:00:00Z,3\n")
    packed = tmp_path / "disk.csv"
    packed.write_bytes(gzip.compress(b"timestamp,disk\r\n2024-01-01T00:00:00Z,4\r\n"))
    store = tmp_path / "s.duckdb"
    result = runner.invoke(app, ["ingest", str(cr), str(plain), str(packed), "--store", str(store)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["series", "--store", str(store), "-f", "json"])
    assert {(s["series"], s["points"]) for s in json.loads(listed.stdout)} == {
        ("cpu", 2),
        ("mem", 1),
        ("disk", 1),
    }


@pytest.mark.parametrize(
    ("damage", "message"),
    [("cut", "is truncated or damaged"), ("flip", "is damaged: Corrupt database file")],
)
def test_a_damaged_store_exits_2_and_is_left_as_it_was(
    tmp_path: Path, damage: str, message: str
) -> None:
    store = tmp_path / "s.duckdb"
    good = minute_file(tmp_path / "cpu.csv", None)
    assert runner.invoke(app, ["ingest", str(good), "--store", str(store)]).exit_code == 0
    data = bytearray(store.read_bytes())
    if damage == "cut":
        data = data[:8192]
    else:
        data[12388:12404] = bytes(b ^ 0xFF for b in data[12388:12404])
    store.write_bytes(bytes(data))
    more = minute_file(tmp_path / "more.csv", None)
    for args in (
        ["ingest", str(more), "--store", str(store)],
        ["series", "--store", str(store)],
        ["forecast", "--store", str(store), "--horizon", "1h"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert f"error: {store}: {message}" in " ".join(result.stderr.split())
        assert "in use" not in result.output
        assert "Traceback" not in result.output
    assert store.read_bytes() == bytes(data)


def test_a_stray_point_already_in_the_store_is_set_aside_by_the_forecast(tmp_path: Path) -> None:
    """A store filled before times were checked may hold an epoch row: the panel drops it."""
    stamps = np.concatenate(
        [np.array([0], "datetime64[s]"), T0 + np.arange(3000) * np.timedelta64(60, "s")]
    )
    frame = MetricFrame.from_series({"cpu": (stamps, 50 + np.sin(np.arange(3001) / 100))})
    store = tmp_path / "old.duckdb"
    with Store(store) as db:
        db.ingest(frame, "old export", "0" * 64)
    result = runner.invoke(
        app, ["forecast", "--store", str(store), "--horizon", "1h", "--now", NOW, "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    assert warnings[0].startswith(
        "series cpu: 1 point at 1970-01-01T00:00:00Z (value 50) lies 54 years before the rest"
    )
