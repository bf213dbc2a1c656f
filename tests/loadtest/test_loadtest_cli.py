"""``capplan loadtest`` on the bundled example results."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.loadtest import Limits, analyse, read_runs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "loadtests"
runner = CliRunner()


def test_json_output_matches_the_library() -> None:
    result = runner.invoke(app, ["loadtest", str(EXAMPLES / "k6"), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    expected = analyse(read_runs([EXAMPLES / "k6"]), Limits(500, 0.01))
    assert expected.capacity is not None
    assert expected.fit is not None
    assert data["capacity"]["throughput"] == expected.capacity.throughput
    assert data["usl"]["sigma"] == expected.fit.sigma
    assert [r["level"] for r in data["runs"]] == [2, 5, 10, 15, 20, 30, 40]
    assert data["limits"] == {"latency_p95_ms": 500.0, "error_rate": 0.01}


def test_table_and_limits() -> None:
    result = runner.invoke(
        app,
        ["loadtest", str(EXAMPLES / "locust"), "--latency-limit", "1s", "--error-limit", "2%"],
    )
    assert result.exit_code == 0, result.output
    a = analyse(read_runs([EXAMPLES / "locust"]), Limits(1000, 0.02))
    assert a.capacity is not None
    assert f"Capacity per instance: {a.capacity.throughput:.1f} req/s" in result.output


def test_markdown_and_plot(tmp_path: Path) -> None:
    chart = tmp_path / "usl.html"
    result = runner.invoke(
        app,
        ["loadtest", str(EXAMPLES / "freeagentics"), "-f", "markdown", "--plot", str(chart)],
    )
    assert result.exit_code == 0, result.output
    assert "| level | throughput (req/s) |" in result.output
    assert "**Capacity per instance:" in result.output
    html = chart.read_text()
    assert "plotly" in html
    assert "measured" in html
    assert "USL" in html


def test_bad_input_exits_2_with_the_file_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"metrics": {"http_reqs": {"rate": "fast"}}}')
    result = runner.invoke(app, ["loadtest", str(bad)])
    assert result.exit_code == 2
    assert "bad.json" in result.output
    assert "metrics.http_reqs.rate" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["loadtest", str(bad), "--error-limit", "150%"])
    assert result.exit_code == 2
    assert "--error-limit" in result.output
