"""``/metrics`` gives each served plan's SLOs: objective, window and error budget."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def plans_dir(tmp_path: Path) -> Path:
    plans = tmp_path / "plans"
    plans.mkdir()
    shutil.copy(ROOT / "examples" / "omniops.yaml", plans / "omniops.yaml")
    shutil.copy(ROOT / "examples" / "apm.yaml", plans / "apm.yaml")
    return plans


def test_slo_gauges(client: TestClient) -> None:
    r = client.get("/metrics")
    assert r.status_code == 200
    got: dict[str, dict[tuple[str, str], float]] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            if s.name.startswith("capplan_slo_"):
                got.setdefault(s.name, {})[(s.labels["plan"], s.labels["slo"])] = s.value
    key = ("omniops", "availability")
    assert got["capplan_slo_objective_ratio"] == {key: 0.999}
    assert got["capplan_slo_window_seconds"] == {key: 30 * 86400}
    assert got["capplan_slo_error_budget_seconds"][key] == pytest.approx(43.2 * 60)
