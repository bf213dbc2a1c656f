"""One plan run: plan + scenario + horizon → :class:`Projection` (with Monte Carlo if asked)."""

from __future__ import annotations

from collections.abc import Callable

from capplan.errors import EvaluationError, UsageError
from capplan.evaluate import evaluate
from capplan.events import find_events, recommend
from capplan.montecarlo import DEFAULT_CHUNK, simulate
from capplan.plan.compiled import compile_plan
from capplan.plan.models import MAX_PERIODS, Plan
from capplan.projection import Projection
from capplan.timeline import MONTHS_PER_PERIOD, Timeline

__all__ = ["periods_for_months", "run_plan", "run_scenarios"]


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
) -> Projection:
    """Project ``plan`` under ``scenario`` for ``months`` (default: the plan's horizon).

    With ``simulations`` >= 2, uncertain growth rates are sampled on that many paths and the
    projection carries P10/P50/P90 of every figure and the probability of each event by each
    period; ``progress(paths_done)`` is called as chunks finish.
    """
    try:
        return _run_plan(plan, scenario, months, simulations, seed, progress)
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
) -> Projection:
    compiled = compile_plan(plan)
    name = plan.resolve_scenario(scenario)
    if simulations < 0:
        raise UsageError(f"--simulations must be >= 0, got {simulations}")
    timeline = Timeline.for_today(plan.step, periods_for_months(plan, months), plan.start)
    base = evaluate(compiled, name, timeline)
    events = find_events(plan, base, timeline)
    levels = {
        comp: [s.level_names[i] for i in s.level[0]]
        for comp, s in base.sized.items()
        if s.level is not None
    }
    projection = Projection(
        plan=plan,
        scenario=name,
        timeline=timeline,
        values={k: v[0] for k, v in base.values.items()},
        levels=levels,
        events=events,
        recommendations=recommend(plan, base, timeline, events),
    )
    if simulations >= 2:
        mc = simulate(
            compiled,
            name,
            timeline,
            simulations,
            base,
            seed=plan.simulation.seed if seed is None else seed,
            chunk=DEFAULT_CHUNK,
            progress=progress,
        )
        projection.simulations = simulations
        projection.quantiles = mc.quantiles
        projection.probabilities = mc.probabilities
    return projection


def run_scenarios(plan: Plan, months: int | None = None) -> dict[str, Projection]:
    """Every scenario of the plan, deterministic, in declaration order."""
    return {name: run_plan(plan, name, months) for name in plan.scenario_names()}
