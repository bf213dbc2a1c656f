"""`capplan ingest` and `capplan series` against real NAB files and a DuckDB store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capplan.cli import app

NAB = Path(__file__).resolve().parents[3] / "shared" / "data" / "nab"
CPU = NAB / "ec2_cpu_utilization_24ae8d.csv"
TAXI = NAB / "nyc_taxi.csv"
runner = CliRunner()


def test_ingest_is_idempotent_and_series_lists_what_is_stored(tmp_path: Path) -> None:
    store = tmp_path / "m.duckdb"
    first = runner.invoke(app, ["ingest", str(CPU), str(TAXI), "--store", str(store)])
    assert first.exit_code == 0, first.stderr
    assert "4,032" in first.stdout
    again = runner.invoke(app, ["ingest", str(CPU), "--store", str(store)])
    assert again.exit_code == 0
    assert "nothing added" in again.stdout
    listed = runner.invoke(app, ["series", "--store", str(store), "--format", "json"])
    assert listed.exit_code == 0
    rows = {r["series"]: r for r in json.loads(listed.stdout)}
    assert rows["ec2_cpu_utilization_24ae8d"]["points"] == 4032
    assert rows["ec2_cpu_utilization_24ae8d"]["step"] == "5m"
    assert rows["nyc_taxi"]["step"] == "30m"
    only = runner.invoke(app, ["series", "--store", str(store), "--series", "nyc*"])
    assert "nyc_taxi" in only.stdout
    assert "ec2_cpu" not in only.stdout


def test_a_bad_file_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    store = tmp_path / "m.duckdb"
    assert runner.invoke(app, ["ingest", str(CPU), "--store", str(store)]).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,abc\n")
    result = runner.invoke(app, ["ingest", str(TAXI), str(bad), "--store", str(store)])
    assert result.exit_code == 2
    assert "bad.csv:3" in result.stderr
    assert "Traceback" not in result.stderr
    listed = runner.invoke(app, ["series", "--store", str(store), "--format", "json"])
    assert [r["series"] for r in json.loads(listed.stdout)] == ["ec2_cpu_utilization_24ae8d"]


def test_series_on_a_missing_store_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["series", "--store", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def _mock_prometheus(monkeypatch: pytest.MonkeyPatch, handler: object) -> None:
    import httpx

    from capplan.data.prometheus import PrometheusOptions

    def client(self: PrometheusOptions, url: str) -> httpx.Client:
        return httpx.Client(base_url=url, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]

    monkeypatch.setattr(PrometheusOptions, "client", client)


def test_ingest_from_prometheus_twice_adds_nothing_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    stamps: list[float] = []  # the same points each time, within the range first asked for

    def handler(request: httpx.Request) -> httpx.Response:
        stamps[:] = stamps or [int(float(request.url.params["start"])) + 300 * i for i in range(10)]
        values = [[t, str(i)] for i, t in enumerate(stamps)]
        body = {"metric": {"__name__": "up", "job": "api"}, "values": values}
        data = {"resultType": "matrix", "result": [body]}
        return httpx.Response(200, json={"status": "success", "data": data})

    _mock_prometheus(monkeypatch, handler)
    store = tmp_path / "p.duckdb"
    args = ["ingest", "--prometheus", "http://prom:9090", "--query", "up", "--store", str(store)]
    first = runner.invoke(app, [*args, "--step", "5m", "--since", "1h"])
    assert first.exit_code == 0, first.stderr
    second = runner.invoke(app, [*args, "--step", "5m", "--since", "1h"])
    assert "nothing added" in second.stdout
    listed = json.loads(runner.invoke(app, ["series", "--store", str(store), "-f", "json"]).stdout)
    assert [(r["series"], r["points"]) for r in listed] == [('up{job="api"}', 10)]


def test_promql_error_shows_prometheus_message_and_leaves_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    error = {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}
    _mock_prometheus(monkeypatch, lambda request: httpx.Response(400, json=error))
    store = tmp_path / "p.duckdb"
    result = runner.invoke(
        app, ["ingest", "--prometheus", "http://prom:9090", "--query", "up{", "--store", str(store)]
    )
    assert result.exit_code == 2
    assert "parse error at char 3" in result.stderr
    assert not store.exists()
