"""Right-sizing in the service: ``GET /api/rightsize`` agrees with ``capplan rightsize
--store`` on the same store, ``/metrics`` carries the ``capplan_rightsize_*`` gauges, the
``/rightsize`` page lists every container, and the serve options are checked."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.rightsize.generate import write_csv
from tests.web.conftest import HOSTS
from typer.testing import CliRunner

import capplan.cli.serve  # noqa: F401  (registers the command)
from capplan.cli.app import app
from capplan.data import Store
from capplan.data.ingest import ingest_files
from capplan.rightsize import Prices
from capplan.web import Settings, create_app
from capplan.web.rightsizing import RightsizeOptions

runner = CliRunner()
KEY = ("namespace", "kind", "workload", "container")


@pytest.fixture(scope="module")
def k8s_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("k8s-store")
    path = folder / "k8s.duckdb"
    with Store(path) as store:
        ingest_files(store, [write_csv(folder / "usage.csv", 12, 2)])
    return path


@pytest.fixture(scope="module")
def k8s_client(k8s_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    plans = tmp_path_factory.mktemp("plans")
    settings = Settings(
        plans_dir=plans,
        store=k8s_store,
        refresh_seconds=0,
        allowed_hosts=HOSTS,
        rightsize=RightsizeOptions(prices=Prices(20.0, 3.0)),
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_api_is_the_cli_on_the_same_store(k8s_client: TestClient, k8s_store: Path) -> None:
    r = k8s_client.get("/api/rightsize")
    assert r.status_code == 200
    body = r.json()
    assert body["problem"] is None
    assert body["strategy"] == "simple"
    assert body["source"] == "store"
    args = ["rightsize", "--store", str(k8s_store), "-f", "json", "--since", "14d"]
    args += ["--price-vcpu", "20", "--price-gb", "3", "--now", "2026-09-24T00:00:00"]
    cli = runner.invoke(app, args)
    assert cli.exit_code == 0, cli.output
    expected = json.loads(cli.stdout)["containers"]
    assert len(body["containers"]) == len(expected) == 12
    assert body["containers"] == expected
    assert any(c["flags"].startswith("no CPU request set") for c in body["containers"])


def test_metrics_carry_now_and_recommended(k8s_client: TestClient) -> None:
    rows = k8s_client.get("/api/rightsize").json()["containers"]
    r = k8s_client.get("/metrics")
    assert r.status_code == 200
    got: dict[str, dict[tuple[str, ...], float]] = defaultdict(dict)
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            if s.name.startswith("capplan_rightsize_"):
                extra = tuple(v for k, v in sorted(s.labels.items()) if k not in KEY)
                got[s.name][tuple(s.labels[k] for k in KEY) + extra] = s.value
    assert set(got) == {
        "capplan_rightsize_cpu_request_cores",
        "capplan_rightsize_memory_request_bytes",
        "capplan_rightsize_memory_limit_bytes",
        "capplan_rightsize_monthly_change",
        "capplan_rightsize_severity",
        "capplan_rightsize_request_unset",
    }
    for row in rows:
        key = tuple(row[k] for k in KEY)
        cpu = got["capplan_rightsize_cpu_request_cores"]
        assert cpu[(*key, "recommended")] == pytest.approx(row["cpu_request_recommended"])
        if row["cpu_request"] is None:
            assert (*key, "now") not in cpu
            assert got["capplan_rightsize_request_unset"][(*key, "cpu")] == 1
        else:
            assert cpu[(*key, "now")] == pytest.approx(row["cpu_request"])
            assert got["capplan_rightsize_request_unset"][(*key, "cpu")] == 0
        memory = got["capplan_rightsize_memory_request_bytes"]
        assert memory[(*key, "recommended")] == row["memory_request_recommended"]
        change = got["capplan_rightsize_monthly_change"][key]
        assert math.isclose(change, row["monthly_change"], abs_tol=0.005)
        severity = {k[-1]: v for k, v in got["capplan_rightsize_severity"].items() if k[:4] == key}
        assert severity == {s: float(s == row["severity"]) for s in severity}
        assert set(severity) == {"critical", "warning", "over", "ok"}


def test_page_lists_every_container(k8s_client: TestClient) -> None:
    rows = k8s_client.get("/api/rightsize").json()["containers"]
    r = k8s_client.get("/rightsize")
    assert r.status_code == 200
    assert '<a href="/rightsize">right-sizing</a>' in r.text
    assert r.text.count('<tr data-severity="') == len(rows)
    for row in rows:
        assert f'data-key="{row["namespace"]}/{row["workload"]}/{row["container"]}"' in r.text
    assert "not set" in r.text
    assert "<!--data-age-->" not in r.text


def test_without_container_series_it_says_so(client: TestClient) -> None:
    """The shared fixture's store has no cAdvisor series: no rows, the reason, no gauge."""
    body = client.get("/api/rightsize").json()
    assert body["containers"] == []
    assert "the store holds no container series" in body["problem"]
    page = client.get("/rightsize")
    assert page.status_code == 200
    assert "the store holds no container series" in page.text
    metrics = client.get("/metrics").text
    assert "capplan_rightsize_cpu_request_cores{" not in metrics


def test_namespace_option_and_nothing_matched(
    k8s_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    plans = tmp_path_factory.mktemp("plans-ns")
    for namespaces, expect in ((("shop",), 3), (("nowhere",), 0)):
        settings = Settings(
            plans_dir=plans,
            store=k8s_store,
            refresh_seconds=0,
            allowed_hosts=HOSTS,
            rightsize=RightsizeOptions(namespaces=namespaces),
        )
        with TestClient(create_app(settings)) as c:
            body = c.get("/api/rightsize").json()
        assert len(body["containers"]) == expect
        assert {row["namespace"] for row in body["containers"]} <= {"shop"}
        if not expect:
            assert body["problem"].startswith("no container matches --namespace nowhere")
            assert "batch, payments, search, shop" in body["problem"]


def test_serve_rightsize_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda application, **kw: seen.update(app=application))
    args = ["serve", "--plans", str(tmp_path), "--refresh", "0"]
    more = ["--rightsize-namespace", "shop", "--rightsize-namespace", "pay*"]
    more += ["--rightsize-selector", "app=api", "--rightsize-strategy", "forecast"]
    more += ["--rightsize-since", "7d", "--rightsize-price-vcpu", "25"]
    result = runner.invoke(app, [*args, *more])
    assert result.exit_code == 0, result.output
    options = seen["app"].state.capplan.settings.rightsize
    assert options == RightsizeOptions(
        ("shop", "pay*"), "app=api", "forecast", 7 * 86400, Prices(25.0, 0.0, "USD")
    )
    for bad, message in (
        (["--rightsize-strategy", "magic"], "unknown strategy 'magic'; available: forecast"),
        (["--rightsize-selector", "app"], "--rightsize-selector must look like"),
        (["--rightsize-since", "soon"], "--rightsize-since"),
        (["--rightsize-price-gb", "-1"], "--rightsize-price-gb must be >= 0"),
    ):
        result = runner.invoke(app, [*args, *bad])
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert "Traceback" not in result.output
