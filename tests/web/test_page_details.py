"""What the dashboard pages show beside their figures: the age of the data on every page,
runway rows coloured only when due, and charts whose money axes carry the currency and whose
legends stay clear of the titles."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from capplan.engine.planner import run_plan, run_scenarios
from capplan.plan import load_plan
from capplan.web.charts import cost_chart, events_chart, money_axis, scenario_chart
from capplan.web.pages import data_age
from capplan.web.snapshot import SOON_SECONDS, LastSample, RunwayRow, Snapshot

ROOT = Path(__file__).resolve().parents[2]

PAGES = [
    "/",
    "/plans/apm",
    "/plans/the_bot/scenarios",
    "/forecasts",
    "/forecasts/view?series=avg_cpu_usage",
]
AGE = re.compile(
    r'<span id="data-age">data as of (\d{4}-\d\d-\d\d \d\d:\d\d) UTC, (\d+s|\d+m \d+s) ago'
    r" · newest sample 2026-10-12 23:00 UTC, \d+w \d+d ago</span>"
)


def test_every_page_says_how_old_its_data_is(client: TestClient) -> None:
    for path in PAGES:
        for _ in range(2):  # rendered, then from the cache: the age is filled in each time
            html = client.get(path).text
            found = AGE.search(html)
            assert found, (path, html[:600])
            assert "<!--data-age-->" not in html
    plan = client.get("/plans/apm").text
    assert re.search(r"plan file apm\.yaml, modified \d{4}-\d\d-\d\d \d\d:\d\d UTC", plan)


def test_data_age_before_the_first_refresh() -> None:
    assert data_age(Snapshot(), time.time()) == "no data yet: the first refresh has not finished"
    at = np.datetime64("2026-10-12T23:00:00", "s")
    snap = Snapshot(forecast_at=1_000_000.0, last_samples=(LastSample("s", at, None),))
    text = data_age(snap, 1_000_000.0 + 252)
    assert text.startswith("data as of 1970-01-12 13:46 UTC, 4m 12s ago · newest sample ")


def _row(p10: str | None, p50: str | None = None, crossed: str | None = None) -> RunwayRow:
    def t(text: str | None) -> np.datetime64 | None:
        return None if text is None else np.datetime64(text, "s")

    return RunwayRow(
        "s", "plan", "cpu", "critical", 80.0, "above", t(p10), t(p50), None, "m", t(crossed)
    )


@pytest.mark.parametrize(
    ("row", "due"),
    [
        (_row(None, crossed="2026-01-01T00:00:00"), "crossed"),
        (_row("2026-01-01T00:00:00", "2026-01-02T00:00:00"), "past"),
        (_row("2026-01-01T00:00:00"), "soon"),  # earliest plausible gone by, likely none
        (_row("2026-03-10T00:00:00", "2026-04-01T00:00:00"), "soon"),
        (_row("2026-04-01T00:00:00", "2026-05-01T00:00:00"), "later"),
        (_row(None), "beyond"),
    ],
)
def test_runway_due(row: RunwayRow, due: str) -> None:
    now = float(np.datetime64("2026-03-01T00:00:00", "s").astype(np.int64))
    assert row.due(now) == due
    assert SOON_SECONDS == 14 * 86400


def test_runway_rows_not_within_the_horizon_are_not_coloured(client: TestClient) -> None:
    for path in ("/", "/forecasts"):
        html = client.get(path).text
        rows = re.findall(r'<tr class="(due-[a-z]+)( warning| critical)?">', html)
        assert rows, path
        for due, level in rows:
            if due in ("due-beyond", "due-later"):
                assert not level, (path, due, level)
            else:
                assert level, (path, due)
        assert "not within the horizon</td>" in html


def test_money_axes_carry_the_currency() -> None:
    assert money_axis("USD")["tickprefix"] == "$"
    assert money_axis("CHF")["ticksuffix"] == " CHF"
    plan = load_plan(ROOT / "examples" / "the_bot.yaml")
    figure = _figure(cost_chart(run_plan(plan)))
    layout = figure["layout"]
    assert layout["yaxis"]["tickprefix"] == "$"
    assert layout["yaxis2"]["tickprefix"] == "$"
    assert layout["yaxis"]["exponentformat"] == "B"
    # the legend sits in a row under the plot, clear of the title
    assert layout["legend"]["orientation"] == "h"
    assert layout["legend"]["y"] < 0
    assert layout["legend"]["yanchor"] == "top"
    chf = plan.model_copy(update={"currency": "CHF"})
    layout = _figure(scenario_chart(run_scenarios(chf)))["layout"]
    assert layout["yaxis"]["ticksuffix"] == " CHF"
    assert layout["yaxis"]["tickprefix"] == ""
    assert "CHF" in layout["title"]["text"]


def _figure(div: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="[^"]+">(.*)</script>', div)
    assert found
    figure: dict[str, object] = json.loads(found.group(1))
    return figure


def test_plan_page_flags_over_capacity(client: TestClient) -> None:
    """the_bot's platform (a tier component) outgrows its largest tier in 2027-09 (period
    20) of the moderate scenario: a banner names it, and those rows are marked."""
    html = client.get("/plans/the_bot").text
    banner = re.search(r'<div class="over-capacity" id="over-capacity">(.*?)</div>', html, re.S)
    assert banner, html[:2000]
    assert '<span class="badge">platform from 2027-09 (period 20)</span>' in banner.group(1)
    rows = re.findall(r'<tr class="over"><td>(\d+)</td>', html)
    assert rows == [str(t) for t in range(20, 25)]
    assert html.count('<td class="over-cell">tier_100k (over)</td>') == 5
    assert "over capacity: platform" in html  # the shaded periods of the cost chart
    # conservative growth stays within the largest tier: no banner, no marked row
    html = client.get("/plans/the_bot?scenario=conservative").text
    assert 'id="over-capacity"' not in html
    assert 'class="over"' not in html
    # max_instances: apm_service needs more instances than it may have from the start
    html = client.get("/plans/apm").text
    assert '<span class="badge">apm_service from 2026-01 (period 0)</span>' in html


def test_scenarios_page_flags_over_capacity(client: TestClient) -> None:
    html = client.get("/plans/the_bot/scenarios").text
    banner = re.search(r'<div class="over-capacity" id="over-capacity">(.*?)</div>', html, re.S)
    assert banner
    text = banner.group(1)
    assert "moderate: platform from 2027-09 (period 20)" in text
    assert "aggressive: platform from 2027-02 (period 13)" in text
    assert '<span class="badge ok">conservative: none</span>' in text
    row = re.search(r'<tr class="over-row">(.*?)</tr>', html, re.S)
    assert row
    assert row.group(1).count('class="over-cell"') == 2


def test_a_plan_without_prices_or_events_draws_no_empty_chart() -> None:
    """The APM checks plan prices nothing and has no event: no blank chart is drawn."""
    plan = load_plan(ROOT / "examples" / "metrics" / "apm_checks.yaml")
    p = run_plan(plan)
    assert not p.events
    assert cost_chart(p) == ""
    assert events_chart(p) == ""
    assert scenario_chart(run_scenarios(plan)) == ""
