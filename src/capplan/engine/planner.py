"""One plan run: plan + scenario + horizon → :class:`Projection` (with Monte Carlo if asked)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

from capplan.engine.evaluate import DEFAULT_CHUNK, evaluate
from capplan.engine.events import SEVERITY_RANK, find_events, recommend
from capplan.engine.hosts import host_events, host_over_capacity, host_values
from capplan.engine.montecarlo.stream import evaluate_fast
from capplan.engine.montecarlo.summary import simulate_fast
from capplan.engine.projection import Projection
from capplan.engine.provisioning import provisioning_events, provisioning_values
from capplan.engine.service_events import service_events
from capplan.engine.simulation import MonteCarlo, simulate_reference
from capplan.errors import EvaluationError, UsageError
from capplan.growth.models import central_rate
from capplan.plan.compiled import CompiledPlan, compile_plan
from capplan.plan.loadtest_capacity import capacity_notes
from capplan.plan.models import MAX_PERIODS, Plan
from capplan.timeline import MONTHS_PER_PERIOD, Timeline

__all__ = ["PlanEngine", "periods_for_months", "run_plan", "run_scenarios"]

#: ``fast``: the block-wise, streaming engine (:mod:`capplan.engine.montecarlo`);
#: ``reference``: the plain one (:mod:`capplan.engine.evaluate`), slower, for checks.
PlanEngine = Literal["fast", "reference"]


def periods_for_months(plan: Plan, months: int | None) -> int:
    """The number of periods for a horizon in months (the plan's own horizon when None)."""
    if months is None:
        return plan.horizon
    if months < 1:
        raise UsageError(f"--months must be at least 1, got {months}")
    periods = max(1, round(months / MONTHS_PER_PERIOD[plan.step]))
    if periods > MAX_PERIODS[plan.step]:
        limit = round(MAX_PERIODS[plan.step] * MONTHS_PER_PERIOD[plan.step])
        raise UsageError(
            f"--months must be at most {limit} for a plan in {plan.step}s, got {months}"
        )
    return periods


def run_plan(
    plan: Plan,
    scenario: str | None = None,
    months: int | None = None,
    simulations: int = 0,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
    engine: PlanEngine = "fast",
    today: dt.date | None = None,
) -> Projection:
    """Project ``plan`` under ``scenario`` for ``months`` (default: the plan's horizon).

    With ``simulations`` >= 2, uncertain growth rates are sampled on that many paths and the
    projection carries P10/P50/P90 of every figure and the probability of each event by each
    period; ``progress(paths_done)`` is called as chunks finish. ``engine="reference"``
    computes the same figures the plain way (slower; for checks). ``today`` (default: the
    current date) is the date action dates are overdue against and the period labelled "now"
    holds; it is also period 0 of a plan without ``start``.
    """
    try:
        return _run_plan(plan, scenario, months, simulations, seed, progress, engine, today)
    except EvaluationError as exc:
        # Figures fail deep in the engine, which knows field paths but not the file: name
        # the file and the line of the failing field, as for any other plan error.
        raise exc.with_file(plan.source, plan._lines) from None


def _run_plan(
    plan: Plan,
    scenario: str | None,
    months: int | None,
    simulations: int,
    seed: int | None,
    progress: Callable[[int], None] | None,
    engine: PlanEngine,
    today: dt.date | None,
) -> Projection:
    if engine not in ("fast", "reference"):
        raise UsageError(f"engine must be 'fast' or 'reference', got {engine!r}")
    compiled = compile_plan(plan)
    name = plan.resolve_scenario(scenario)
    if simulations < 0:
        raise UsageError(f"--simulations must be >= 0, got {simulations}")
    timeline = Timeline.for_today(plan.step, periods_for_months(plan, months), plan.start, today)
    base = (evaluate if engine == "reference" else evaluate_fast)(compiled, name, timeline)
    events = sorted(
        [*find_events(plan, base, timeline), *service_events(plan, base, timeline)],
        key=lambda e: (e.period, -SEVERITY_RANK[e.severity]),
    )
    levels = {
        comp: [s.level_names[i] for i in s.level[0]]
        for comp, s in base.sized.items()
        if s.level is not None
    }
    values = {k: v[0] for k, v in base.values.items()}
    over_capacity = {comp: s.exceeded[0].tolist() for comp, s in base.sized.items()}
    if plan.hosts:
        values.update(host_values(plan, values))
        over_capacity.update(host_over_capacity(plan, values))
        events = [*events, *host_events(plan, values, timeline)]
    if any(c.provisioned for c in plan.components.values()):
        values.update(provisioning_values(plan, values, timeline))
        events = [*events, *provisioning_events(plan, values, timeline)]
    events.sort(key=lambda e: (e.period, -SEVERITY_RANK[e.severity]))
    projection = Projection(
        plan=plan,
        scenario=name,
        timeline=timeline,
        values=values,
        levels=levels,
        over_capacity=over_capacity,
        events=events,
        recommendations=recommend(plan, base, timeline, events),
    )
    projection.notes += capacity_notes(plan)  # capacities taken from load-test results
    if simulations >= 2:
        rng_seed = plan.simulation.seed if seed is None else seed
        mc: MonteCarlo
        if engine == "reference":
            mc = simulate_reference(compiled, name, timeline, simulations, base, rng_seed)
        else:
            mc = simulate_fast(
                compiled, name, timeline, simulations, base, rng_seed, DEFAULT_CHUNK, progress
            )
        if not _uncertain(compiled, name):
            projection.notes.append(
                f"No driver of scenario '{name}' has an uncertain growth rate, so every path "
                "is the same and P10, P50 and P90 are equal: give a growth model an "
                "'uncertainty' for a spread."
            )
        projection.simulations = simulations
        projection.quantiles = mc.quantiles
        projection.probabilities = mc.probabilities
    return projection


def _uncertain(compiled: CompiledPlan, scenario: str) -> bool:
    """Whether some driver of the scenario has a sampled growth rate."""
    return any(
        getattr(spec.growth, "uncertainty", None) is not None
        and central_rate(spec.growth) is not None
        for spec in compiled.drivers[scenario].values()
    )


def run_scenarios(
    plan: Plan, months: int | None = None, today: dt.date | None = None
) -> dict[str, Projection]:
    """Every scenario of the plan, deterministic, in declaration order."""
    return {name: run_plan(plan, name, months, today=today) for name in plan.scenario_names()}
