"""The fast engine against the reference evaluation (capplan.engine.evaluate): the same
figures, levels, events, quantiles and event probabilities under the numeric contract, on
every example plan and on generated plans (growth models, the four component kinds, steps,
uncertainty), deterministic and Monte Carlo with a fixed seed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan import CapplanError, Plan, Projection, run_plan
from capplan.engine.evaluate import RTOL
from capplan.engine.montecarlo.blocks import BLOCK_CELLS
from capplan.plan.loader import load_plan, validate_plan_data

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def assert_same(fast: Projection, reference: Projection) -> None:
    """Equal under the numeric contract: float figures and quantiles within RTOL (NaN where
    NaN), levels, events, recommendations and event probabilities exactly."""
    assert fast.values.keys() == reference.values.keys()
    for name, values in reference.values.items():
        np.testing.assert_allclose(fast.values[name], values, rtol=RTOL, atol=0, err_msg=name)
    assert fast.levels == reference.levels
    assert fast.events == reference.events
    assert fast.recommendations == reference.recommendations
    assert fast.quantiles.keys() == reference.quantiles.keys()
    for name, q in reference.quantiles.items():
        np.testing.assert_allclose(fast.quantiles[name], q, rtol=RTOL, atol=0, err_msg=name)
    assert [p.to_dict() for p in fast.probabilities] == [
        p.to_dict() for p in reference.probabilities
    ]


def both(plan: Plan, scenario: str | None, simulations: int = 0) -> None:
    """Both engines give the same projection, or the same error."""
    try:
        fast = run_plan(plan, scenario, simulations=simulations, seed=11)
    except CapplanError as exc:
        error: CapplanError | None = exc
    else:
        error = None
    if error is not None:
        with pytest.raises(type(error)) as raised:
            run_plan(plan, scenario, simulations=simulations, seed=11, engine="reference")
        assert str(raised.value) == str(error)
        return
    reference = run_plan(plan, scenario, simulations=simulations, seed=11, engine="reference")
    assert_same(fast, reference)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_deterministic(path: Path) -> None:
    plan = load_plan(path)
    for scenario in plan.scenario_names():
        both(plan, scenario)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_monte_carlo(path: Path) -> None:
    """Enough paths for the fast engine to split them into blocks and add totals up at the
    end (its batches of over 16,384 cells do)."""
    plan = load_plan(path)
    paths = max(400, 2 * BLOCK_CELLS // (plan.horizon + 1))
    both(plan, None, simulations=paths)


def test_unknown_engine_is_a_usage_error() -> None:
    from capplan import UsageError

    with pytest.raises(UsageError, match="engine must be"):
        run_plan(load_plan(EXAMPLES[0]), engine="quick")  # type: ignore[arg-type]


# -- generated plans -----------------------------------------------------------------------

rates = st.floats(-0.05, 0.3, allow_nan=False)


@st.composite
def uncertainty(draw: st.DrawFn) -> dict[str, Any] | None:
    kind = draw(st.sampled_from([None, "normal", "uniform", "triangular"]))
    per = draw(st.sampled_from(["path", "period"]))
    if kind is None:
        return None
    if kind == "normal":
        return {"dist": "normal", "sd": draw(st.floats(0, 0.05)), "per": per}
    low = draw(st.floats(-0.05, 0.1))
    return {"dist": kind, "low": low, "high": low + draw(st.floats(0, 0.15)), "per": per}


@st.composite
def growth(draw: st.DrawFn) -> dict[str, Any]:
    model = draw(st.sampled_from(["compound", "annual", "linear", "logistic", "points", "none"]))
    if model == "compound":
        out = {"model": model, "rate": draw(rates), "churn": draw(st.floats(0, 0.05))}
    elif model == "annual":
        out = {"model": model, "rate": draw(st.floats(-0.3, 2.0))}
    elif model == "linear":
        out = {"model": model, "per_month": draw(st.floats(0, 500))}
    elif model == "logistic":
        out = {"model": model, "rate": draw(st.floats(0.01, 0.5)), "capacity": 1e6}
    elif model == "points":
        out = {
            "model": model,
            "points": {"0": 100, "6": draw(st.floats(0, 5e4)), "12": draw(st.floats(0, 5e4))},
            "interpolation": draw(st.sampled_from(["linear", "exponential", "step"])),
        }
        return out
    else:
        return {"model": "none"}
    if model != "logistic" or draw(st.booleans()):
        unc = draw(uncertainty())
        if unc is not None:
            out["uncertainty"] = unc
    return out


def components(draw: st.DrawFn, kinds: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, kind in enumerate(kinds):
        name = f"{kind[:4]}{i}"
        if kind == "horizontal":
            out[name] = {
                "kind": kind,
                "demand": "users * 0.01 + load",
                "capacity_per_instance": draw(st.floats(1, 200)),
                "buffer": draw(st.floats(0, 0.5)),
                "min_instances": draw(st.integers(0, 3)),
                "instance": {"vcpu": 2, "memory_gb": draw(st.floats(0, 16))},
                "price": {"per_vcpu": draw(st.floats(0, 30)), "fixed": draw(st.floats(0, 50))},
            }
            if draw(st.booleans()):
                out[name]["max_instances"] = draw(st.integers(3, 40))
        elif kind == "vertical":
            out[name] = {
                "kind": kind,
                "demand": {"connections": "users * 0.02", "storage_gb": "load * 3"},
                "headroom": draw(st.floats(0, 0.4)),
                "rungs": [
                    {
                        "name": f"r{k}",
                        "limits": {"connections": 100 * 2**k, "storage_gb": 200 * 2**k},
                        "price": draw(st.floats(0, 100)) * 2**k,
                        "vcpu": 2**k,
                    }
                    for k in range(draw(st.integers(1, 4)))
                ],
            }
        elif kind == "tiers":
            count = draw(st.integers(1, 4))
            out[name] = {
                "kind": kind,
                "demand": "users",
                "interpolate": draw(st.booleans()),
                "tiers": [
                    {
                        "name": f"t{k}",
                        "capacity": 1_000 * 3**k,
                        "price": draw(st.floats(0, 500)) * 3**k,
                        "allocations": {"app": {"instances": 2 * 3**k, "vcpu": 4 * 3**k}},
                    }
                    for k in range(count)
                ],
            }
        else:
            out[name] = {
                "kind": "formula",
                "resources": {"instances": "ceil(load / 7) + 1", "memory_gb": "max(2, load)"},
                "capacity": {"memory_gb": draw(st.floats(1, 500))},
                "price": {"per_instance": draw(st.floats(0, 40))},
            }
            if draw(st.booleans()):
                out[name]["cost"] = "users * 0.001 + 2"
    return out


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    step = draw(st.sampled_from(["month", "week", "day"]))
    kinds = draw(
        st.lists(st.sampled_from(["horizontal", "vertical", "tiers", "formula"]), min_size=1)
    )
    initial = draw(st.one_of(st.just(0.0), st.floats(1e-3, 5e4)))
    users: dict[str, Any] = {"initial": initial, "growth": draw(growth())}
    if draw(st.booleans()):
        at = draw(st.integers(1, 6))
        users["steps"] = [
            {"at": at, "add": draw(st.floats(0, 1e4))}
            if draw(st.booleans())
            else {"at": at, "multiply": draw(st.floats(0.5, 3))}
        ]
    comps = components(draw, kinds[:5])
    first = next(iter(comps))
    data: dict[str, Any] = {
        "system": "generated",
        "start": "2026-01",
        "step": step,
        "horizon": draw(st.integers(1, 18)),
        "drivers": {
            "users": users,
            "load": {"initial": draw(st.floats(1, 300)), "growth": draw(growth())},
        },
        "metrics": {"spend": {"expr": f"{first}.cost + load"}},
        "components": comps,
        "thresholds": {
            "hot": {"metric": f"{first}.utilization", "warning": 0.6, "critical": 0.9},
            "spend": {"metric": "spend", "warning": draw(st.floats(10, 5_000))},
        },
        "budget": {"per": "users"},
    }
    return validate_plan_data(data, "generated.yaml", {})


@settings(max_examples=60, deadline=None, derandomize=True)
@given(plans())
def test_generated_plans_deterministic(plan: Plan) -> None:
    both(plan, None)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(plans(), st.sampled_from([2, 37, 1_500]))
def test_generated_plans_monte_carlo(plan: Plan, paths: int) -> None:
    both(plan, None, simulations=paths)
