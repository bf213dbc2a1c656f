"""Reading the load-test results a plan names (``capacity_per_instance: {loadtest: ...}``)
when the plan is loaded, and the notes saying what each derived capacity is."""

from __future__ import annotations

from pathlib import Path

from capplan.errors import DataError, Issue, PlanValidationError, line_for
from capplan.plan.components import HorizontalComponent
from capplan.plan.loadtest_ref import LoadTestCapacity
from capplan.plan.models import Plan
from capplan.units import duration_seconds

__all__ = ["capacity_notes", "resolve_loadtests"]


def _base_dir(file: str) -> Path | None:
    """The directory relative paths are read from; None for a plan not read from a file
    (standard input, the text of a request: such a plan names no file on this machine)."""
    path = Path(file)
    if (file.startswith("<") and file.endswith(">")) or not path.is_file():
        return None
    return path.resolve().parent


def resolve_loadtests(plan: Plan, file: str, lines: dict[str, int]) -> None:
    """Read the results every ``capacity_per_instance: {loadtest: ...}`` names and record the
    capacity at its limits; every problem is reported with the plan file, line and the
    results file."""
    from capplan.loadtest import Limits, analyse, read_runs

    issues: list[Issue] = []
    for name, comp in plan.components.items():
        if not isinstance(comp, HorizontalComponent):
            continue
        ref = comp.capacity_per_instance
        if not isinstance(ref, LoadTestCapacity):
            continue
        path = f"components.{name}.capacity_per_instance.loadtest"
        line = line_for(path, lines)
        base = _base_dir(file)
        if base is None:
            issues.append(
                Issue(
                    f"names load-test results '{ref.loadtest}', which a plan not read from a "
                    "file (standard input, a request) cannot use; load it from its file, or "
                    "give capacity_per_instance as a number",
                    path=path,
                    file=file,
                    line=line,
                )
            )
            continue
        results = base / ref.loadtest
        limits = Limits(duration_seconds(ref.latency_limit) * 1000, ref.error_limit)
        try:
            analysis = analyse(read_runs([results]), limits)
        except DataError as exc:
            issues.append(
                Issue(f"cannot read the load-test results: {exc}", path=path, file=file, line=line)
            )
            continue
        capacity = analysis.capacity
        if capacity is None:
            issues.append(
                Issue(
                    f"gives no capacity: every run in {results} breaks the limits (p95 ≤ "
                    f"{limits.latency_ms:g} ms, errors ≤ {limits.error_rate:.2%})",
                    path=path,
                    file=file,
                    line=line,
                )
            )
            continue
        runs = len(analysis.runs)
        note = (
            f"{name}: capacity_per_instance {capacity.throughput:.4g} from {runs} load-test "
            f"run{'' if runs == 1 else 's'} in {ref.loadtest} (p95 ≤ {limits.latency_ms:g} ms, "
            f"errors ≤ {limits.error_rate:.2%}): {capacity.reason}"
        )
        ref.resolve(capacity.throughput, note)
    if issues:
        raise PlanValidationError(issues)


def capacity_notes(plan: Plan) -> list[str]:
    """One line per capacity taken from load-test results: the figure and where it comes from."""
    return [
        comp.capacity_per_instance.note
        for comp in plan.components.values()
        if isinstance(comp, HorizontalComponent)
        and isinstance(comp.capacity_per_instance, LoadTestCapacity)
        and comp.capacity_per_instance.note
    ]
