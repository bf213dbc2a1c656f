"""The report's figures on the APM example, the budget's month arithmetic and the masking of
notification targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from capplan.data import read_file
from capplan.notify import DeliveryError, Targets, load_targets
from capplan.plan.loader import load_plan
from capplan.report.periodic import BudgetSummary, periodic_report

ROOT = Path(__file__).resolve().parents[2]
NOW = np.datetime64("2026-10-13T00:00:00", "s")


@pytest.fixture(scope="module")
def monthly() -> object:
    plan = load_plan(ROOT / "examples" / "apm.yaml", {"budget.monthly_limit": 2000})
    checks = load_plan(ROOT / "examples" / "metrics" / "apm_checks.yaml")
    frame = read_file(ROOT / "examples" / "metrics" / "apm_history.csv")
    return periodic_report("monthly", plan, frame, now=NOW, checks=[checks], forecast=False)


def test_metric_figures_match_numpy(monthly: object) -> None:
    frame = read_file(ROOT / "examples" / "metrics" / "apm_history.csv")
    ts, vs = frame.get("avg_cpu_usage")
    start = NOW - np.timedelta64(30, "D")
    cur = vs[(ts > start) & (ts <= NOW)]
    prev = vs[(ts > start - np.timedelta64(30, "D")) & (ts <= start)]
    m = next(m for m in monthly.metrics if m.series == "avg_cpu_usage")  # type: ignore[attr-defined]
    assert m.average == pytest.approx(cur.mean())
    assert m.peak == pytest.approx(cur.max())
    assert m.p95 == pytest.approx(np.percentile(cur, 95))
    assert m.change_pct == pytest.approx((cur.mean() - prev.mean()) / prev.mean() * 100)


def test_budget_of_october(monthly: object) -> None:
    b = monthly.budget  # type: ignore[attr-defined]
    # October is one plan period ($1,843.73): 13 of its 31 days are to date
    assert b.month == "2026-10"
    assert b.month_cost == pytest.approx(1843.725339067)
    assert b.cost_to_date == pytest.approx(1843.725339067 * 13 / 31)
    assert b.warning is not None
    assert "92%" in b.warning
    assert monthly.notes  # type: ignore[attr-defined]  # apm.yaml's unobserved metrics


@pytest.mark.parametrize(
    ("to_date", "month", "warned"),
    [(100, 700, False), (100, 800, True), (800, 900, True), (100, 1100, True)],
)
def test_budget_warns_from_80_percent(to_date: float, month: float, warned: bool) -> None:
    b = BudgetSummary("2026-10", "USD", month, to_date, 0.0, 1000)
    assert (b.warning is not None) is warned
    assert BudgetSummary("2026-10", "USD", month, to_date, 0.0, None).warning is None


def test_targets_mask_every_secret() -> None:
    t = Targets(["slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general"])
    text = t.mask("failed: slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general")
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in text
    assert "T1JJ3T3L2" not in text
    t = Targets(["mailtos://alice:pa55word@smtp.example.com?to=ops@example.com"])
    assert "pa55word" not in t.describe()
    assert "alice" not in t.describe()


def test_env_targets() -> None:
    t = load_targets(["env"], environ={"CAPPLAN_NOTIFY_URLS": "json://a.example/x, json://b/y"})
    assert t.urls == ["json://a.example/x", "json://b/y"]
    with pytest.raises(Exception, match="CAPPLAN_NOTIFY_URLS"):
        load_targets(["env"], environ={})
    assert issubclass(DeliveryError, Exception)
