"""``capplan rightsize`` from files: formats, patches and clear errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.rightsize.generate import write_csv
from typer.testing import CliRunner

from capplan.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def usage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(tmp_path_factory.mktemp("usage") / "usage.csv", 12, 1)


def test_json_and_csv(usage: Path) -> None:
    result = runner.invoke(app, ["rightsize", str(usage), "-f", "json", "--price-vcpu", "20"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["strategy"] == "simple"
    assert len(data["containers"]) == 12
    assert data["containers"][0]["severity"] == "critical"
    result = runner.invoke(app, ["rightsize", str(usage), "-f", "csv", "-n", "shop"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("namespace,kind,workload,container")
    assert all(
        ",shop," not in line or line.startswith("shop") for line in result.stdout.splitlines()
    )


def test_patches_never_replace_a_foreign_file(usage: Path, tmp_path: Path) -> None:
    args = ["rightsize", str(usage), "-f", "patch", "-o", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    assert "shop.deployment.steady-00.yaml" in written
    assert runner.invoke(app, args).exit_code == 0  # its own files are replaced
    (tmp_path / "shop.deployment.steady-00.yaml").write_text("mine: true\n")
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "was not written by capplan" in result.output
    assert (tmp_path / "shop.deployment.steady-00.yaml").read_text() == "mine: true\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--selector", "app=nothing"],
            "no container matches --selector app=nothing; the usage series have namespaces: "
            "batch, payments, search, shop",
        ),
        (
            ["--namespace", "nope", "--namespace", "shop*x"],
            "no container matches --namespace nope and --namespace shop*x; the usage series "
            "have namespaces: batch, payments, search, shop",
        ),
        (["--strategy", "magic"], "unknown strategy 'magic'; available: forecast, simple"),
        (["--format", "patch"], "give --output FOLDER"),
        (["--cpu-percentile", "0"], "--cpu-percentile must be in (0, 100]"),
    ],
)
def test_bad_arguments(usage: Path, extra: list[str], message: str) -> None:
    result = runner.invoke(app, ["rightsize", str(usage), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_series_without_container_labels(tmp_path: Path) -> None:
    path = tmp_path / "pods.csv"
    lines = ["series,timestamp,value,namespace,pod"]
    lines += [
        f"container_memory_working_set_bytes,{1_790_000_000 + 60 * i},1e8,shop,api-0"
        for i in range(5)
    ]
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["rightsize", str(path)])
    assert result.exit_code == 2, result.output
    assert "no 'container' label" in result.output
    assert "Traceback" not in result.output


def test_series_with_and_without_container_labels(tmp_path: Path) -> None:
    """Pod-level series (no container label) beside container ones are left out, not an
    error; the containers are sized from their own series."""
    path = write_csv(tmp_path / "usage.csv", 4, 1)
    text = path.read_text().splitlines()
    pod_level = [
        f"container_memory_working_set_bytes,{1_790_000_000 + 300 * i},9e9,shop,api-0,,,"
        for i in range(300)
    ]
    path.write_text("\n".join([*text, *pod_level]) + "\n")
    result = runner.invoke(app, ["rightsize", str(path), "-f", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["containers"]
    assert len(rows) == 4
    assert all(r["memory_request_recommended"] < 1e9 for r in rows)


def test_unset_requests_are_flagged_in_every_format(tmp_path: Path) -> None:
    """A container with no request still gets a recommendation, and every format says
    its request is not set."""
    usage = write_csv(tmp_path / "usage.csv", 6, 1)  # the sixth profile sets no request
    base = ["rightsize", str(usage), "--selector", "workload=norequest-*"]
    outputs = {}
    for fmt in ("table", "json", "yaml", "csv", "html"):
        result = runner.invoke(app, [*base, "-f", fmt])
        assert result.exit_code == 0, result.output
        outputs[fmt] = result.stdout
    (row,) = json.loads(outputs["json"])["containers"]
    assert row["workload"] == "norequest-05"
    assert row["cpu_request"] is None
    assert row["cpu_request_recommended"] > 0
    assert row["memory_request"] is None
    assert row["memory_request_recommended"] > 0
    assert row["severity"] == "critical"
    for fmt in ("table", "json", "yaml", "csv", "html"):
        assert "no CPU request set" in outputs[fmt], fmt
        assert "no memory request set" in outputs[fmt], fmt
    assert "not set →" in outputs["table"]
    result = runner.invoke(app, [*base, "-f", "patch", "-o", str(tmp_path / "patches")])
    assert result.exit_code == 0, result.output
    (patch,) = (tmp_path / "patches").iterdir()
    header = [line for line in patch.read_text().splitlines() if line.startswith("#")]
    assert header[-1].startswith("# app: no CPU request set; no memory request set")
    assert "requests:" in patch.read_text()


def test_allow_hpa(tmp_path: Path) -> None:
    """An HPA on CPU utilization leaves the CPU request as it is, unless --allow-hpa."""
    import csv

    from tests.rightsize.generate import hpa_rows, rows

    samples = rows(4, 1) + hpa_rows("shop", "steady-00", "cpu", "utilization")
    keys = sorted({k for *_, labels in samples for k in labels})
    path = tmp_path / "usage.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["series", "timestamp", "value", *keys])
        for metric, ts, value, labels in samples:
            writer.writerow([metric, ts, repr(value), *(labels.get(k, "") for k in keys)])
    for extra, held in (([], True), (["--allow-hpa"], False)):
        result = runner.invoke(app, ["rightsize", str(path), "-f", "json", *extra])
        assert result.exit_code == 0, result.output
        row = next(
            r for r in json.loads(result.stdout)["containers"] if r["workload"] == "steady-00"
        )
        assert (row["cpu_request_recommended"] is None) is held
        assert ("an HPA scales it on CPU utilization" in row["flags"]) is held
        assert row["memory_request_recommended"] is not None
