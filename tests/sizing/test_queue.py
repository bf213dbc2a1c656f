"""Erlang C queue sizing: a published worked example, the closed formula, large loads, and the
queue component in a plan."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import capplan
from capplan.errors import PlanValidationError
from capplan.sizing.queue import QueueTarget, erlang_b, erlang_c, queue_figures, servers_needed


def closed_form_c(n: int, a: float) -> float:
    """The textbook formula, with exact factorials (fine for small n)."""
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


# The Erlang C calculator of Telefónica's traffic pages (personal.telefonica.terra.es, "mcerlc"):
# "600 calls with call length of 120 seconds, that is a traffic of 20 erlangs. For a target
# delay probability of 15% the number of circuits needed are 26. The average delay is 2.5
# sec/CCS, so, 1800 total seconds or 3 seconds per call. If circuits are incremented to 30,
# delay is reduced to 2.5%."
def test_published_example_twenty_erlangs() -> None:
    load = 600 / 3600 * 120
    assert load == 20
    smallest = next(n for n in range(21, 60) if erlang_c(n, load) <= 0.15)
    assert smallest == 26
    assert round(erlang_c(30, load), 3) == 0.025
    figures = queue_figures(np.array([26.0]), np.array([load]), 120.0, None)
    assert round(float(figures["mean_wait"][0])) == 3  # seconds per call
    assert round(float(figures["mean_wait"][0]) * 600) == pytest.approx(1800, rel=0.05)
    # A mean wait of at most 3 s needs those 26 servers too (25 give 5.0 s).
    got = servers_needed(np.array([load]), 120.0, QueueTarget(mean_wait=3.0))
    assert got.tolist() == [26.0]


# The worked example of Call Centre Helper's "Erlang C formula made simple", as pyworkforce's
# ErlangC tutorial also prints it: 100 calls in 30 minutes, 3 minutes each (10 erlangs), 80% of
# calls answered within 20 s, occupancy at most 85% → 14 agents ("raw_positions") at a service
# level of 0.888, occupancy 0.714 and a waiting probability of 0.174; 13 fall short.
def test_published_example_agents_for_80_20() -> None:
    arrivals, aht = 100 / 1800, 180.0
    load = arrivals * aht
    assert load == pytest.approx(10)
    target = QueueTarget(wait=20.0, percentile=0.8, max_occupancy=0.85)
    assert servers_needed(np.array([load]), aht, target).tolist() == [14.0]
    figures = queue_figures(np.array([14.0, 13.0]), np.array([load, load]), aht, 20.0)
    assert round(float(figures["service_level"][0]), 3) == 0.888
    assert round(float(figures["occupancy"][0]), 3) == 0.714
    assert round(float(figures["wait_probability"][0]), 3) == 0.174
    assert float(figures["service_level"][1]) < 0.8


@pytest.mark.parametrize(("n", "a"), [(1, 0.5), (3, 2.0), (10, 7.3), (26, 20.0), (40, 35.5)])
def test_recursion_equals_the_closed_formula(n: int, a: float) -> None:
    assert erlang_c(n, a) == pytest.approx(closed_form_c(n, a), rel=1e-12)


def test_erlang_b_table_value() -> None:
    # Erlang B tables: 10 erlangs on 10 lines block 21.5% of calls.
    assert round(erlang_b(10, 10.0), 3) == 0.215


def test_thousands_of_servers_stay_finite() -> None:
    # A^n / n! overflows a float from n ≈ 170; the recursion does not.
    c = erlang_c(5000, 4900.0)
    assert 0 < c < 1
    needed = servers_needed(np.array([4900.0]), 1.0, QueueTarget(wait=0.1, percentile=0.9))
    assert 4900 < needed[0] < 5200


def test_service_level_target_is_the_fewest_servers_meeting_it() -> None:
    load, aht, wait = 48.0, 240.0, 15.0  # 360 calls per half hour, 4 minutes each
    n = int(servers_needed(np.array([load]), aht, QueueTarget(wait=wait, percentile=0.8))[0])

    def level(servers: int) -> float:
        return 1 - closed_form_c(servers, load) * math.exp(-(servers - load) * wait / aht)

    assert level(n) >= 0.8 > level(n - 1)
    figures = queue_figures(np.array([float(n)]), np.array([load]), aht, wait)
    assert figures["service_level"][0] == pytest.approx(level(n), rel=1e-9)
    assert figures["occupancy"][0] == pytest.approx(load / n)


def test_max_occupancy_adds_servers() -> None:
    target = QueueTarget(mean_wait=60.0, max_occupancy=0.8)
    got = servers_needed(np.array([40.0, 0.0]), 10.0, target)
    assert got.tolist() == [50.0, 0.0]


PLAN = """\
system: support desk
start: 2026-01
horizon: 6
drivers:
  calls:
    description: Calls per hour
    initial: 600
    growth: {{model: compound, rate: 0.1}}
components:
  agents:
    kind: queue
    arrivals: calls / 3600
    service_time: 2m
    target: {{wait: 20s, percentile: 0.8}}
    price: {{per_instance: 3000}}
    instance: {{vcpu: 1}}
{extra}
thresholds:
  service_level:
    metric: agents.service_level
    direction: below
    warning: 0.8
"""


def load_plan(tmp_path: Path, extra: str = "") -> capplan.Plan:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.format(extra=extra))
    return capplan.load_plan(path)


def test_queue_component_in_a_plan(tmp_path: Path) -> None:
    projection = capplan.run_plan(load_plan(tmp_path))
    values = projection.values
    calls = values["calls"]
    expected = servers_needed(calls / 3600 * 120, 120.0, QueueTarget(wait=20.0))
    assert values["agents.instances"].tolist() == expected.tolist()
    assert values["agents.servers"].tolist() == expected.tolist()
    assert values["agents.offered_load"][0] == pytest.approx(20.0)
    assert np.all(values["agents.service_level"] >= 0.8)
    assert values["agents.cost"].tolist() == (expected * 3000).tolist()
    assert values["agents.vcpu"].tolist() == expected.tolist()
    assert values["agents.utilization"].tolist() == values["agents.occupancy"].tolist()
    assert not [e for e in projection.events if e.kind == "threshold"]


def test_max_servers_caps_and_reports(tmp_path: Path) -> None:
    projection = capplan.run_plan(load_plan(tmp_path, "    max_servers: 24"))
    values = projection.values
    assert values["agents.instances"].max() == 24
    assert values["agents.servers_needed"][-1] > 24
    exceeded = [e for e in projection.events if e.kind == "capacity_exceeded"]
    assert exceeded
    assert "exceeds max_servers 24" in exceeded[0].message
    missed = [e for e in projection.events if e.kind == "threshold"]
    assert missed  # the service level falls below 80% once capped
    assert np.all(np.isfinite(values["agents.service_level"]))


def test_monte_carlo_engines_agree(tmp_path: Path) -> None:
    plan = load_plan(tmp_path, "    max_servers: 24")
    fast = capplan.run_plan(plan, simulations=50, seed=1)
    reference = capplan.run_plan(plan, simulations=50, seed=1, engine="reference")
    for key in ("agents.instances", "agents.service_level", "agents.cost", "total.cost"):
        np.testing.assert_allclose(fast.quantiles[key], reference.quantiles[key], rtol=1e-12)
    assert (
        fast.quantiles["agents.instances"][1].tolist() == fast.values["agents.instances"].tolist()
    )


def test_a_target_is_required(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.format(extra="").replace("{wait: 20s, percentile: 0.8}", "{}"))
    with pytest.raises(PlanValidationError) as info:
        capplan.load_plan(path)
    (issue,) = info.value.issues
    assert issue.path == "components.agents.target"
    assert "'wait'" in issue.message
    assert issue.line == 14


@settings(max_examples=60, deadline=None)
@given(
    load=st.floats(min_value=0.01, max_value=300),
    service=st.floats(min_value=0.5, max_value=600),
    wait=st.floats(min_value=0.0, max_value=120),
    percentile=st.floats(min_value=0.05, max_value=0.99),
)
def test_servers_needed_is_the_fewest_meeting_the_service_level(
    load: float, service: float, wait: float, percentile: float
) -> None:
    target = QueueTarget(wait=wait, percentile=percentile)
    n = servers_needed(np.array([load, load * 1.5]), service, target)
    assert n[0] <= n[1]  # more load never needs fewer servers
    assert n[0] > load

    def level(servers: float) -> float:
        figures = queue_figures(np.array([servers]), np.array([load]), service, wait)
        return float(figures["service_level"][0])

    assert level(n[0]) >= percentile - 1e-9
    if n[0] - 1 > load:
        assert level(n[0] - 1) < percentile


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=1, max_value=60), share=st.floats(min_value=0.01, max_value=0.99))
def test_erlang_c_matches_the_closed_formula(n: int, share: float) -> None:
    load = n * share
    assert erlang_c(n, load) == pytest.approx(closed_form_c(n, load), rel=1e-9)
    assert erlang_b(n, load) <= erlang_c(n, load) <= 1
