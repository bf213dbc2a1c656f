"""The synthetic example histories the audits read are what their generators write, and the
FreeAgentics one starts at its runbook's baseline (CPU 40%, memory 60%, connection pool 30%,
p95 500 ms, errors 0.2%)."""

from __future__ import annotations

import csv
import importlib.util
import io
from types import ModuleType

import numpy as np
import pytest
from tests.documents.audit import ROOT

METRICS = ROOT / "examples" / "metrics"
HISTORY = METRICS / "freeagentics_history.csv"


def _generator() -> ModuleType:
    path = METRICS / "generate_histories.py"
    spec = importlib.util.spec_from_file_location("generate_histories", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["freeagentics", "apm_app"])
def test_the_bundled_history_is_the_generators(name: str) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(_generator().rows(name))
    history = METRICS / f"{name}_history.csv"
    assert history.read_text(encoding="utf-8") == out.getvalue()


def test_the_first_day_averages_the_runbooks_baseline() -> None:
    with HISTORY.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 28 * 24
    day = rows[:24]
    baseline = {
        "cpu_utilization": 40,
        "memory_utilization": 60,
        "db_connections_utilization": 30,
        "response_time_p95": 500,
        "error_rate": 0.2,
    }
    for name, level in baseline.items():
        mean = float(np.mean([float(r[name]) for r in day]))
        # the daily cycle averages out over a day; the rise adds 0.14 hours × rate at most
        assert abs(mean - level) < 0.05 * level + 0.02, (name, mean)
