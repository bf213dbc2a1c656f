"""Compare the Monte Carlo speed of two capplan source trees, run alternately.

On a shared machine the speed of one run drifts by up to a factor of two from one minute to the
next, so two engines timed minutes apart cannot be compared. This script times
``run_plan(plan, simulations=10_000)`` on the benchmark plan of ``bench_plan.py`` in fresh
processes, alternating between the trees (A B B A A B ...), and prints the minimum and median
CPU time of each and the ratio of the medians. With ``--reference``, the second tree's
reference engine (``run_plan(..., engine="reference")``: every path evaluated whole, then
``np.quantile``) is timed too, in processes of its own, and printed beside.

    git worktree add /tmp/capplan-old <commit>
    .venv/bin/python benchmarks/compare_mc.py /tmp/capplan-old/src src --runs 8
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Run in a fresh process with PYTHONPATH set to one tree: the best of `repeats` CPU times.
_CHILD = """
import sys, time
sys.path.insert(0, {here!r})
from one_core import PINNING  # one thread, one pinned CPU, before NumPy
import capplan
from bench_plan import build_plan
plan = build_plan()
capplan.run_plan(plan, simulations={paths}{engine})
best = float("inf")
for _ in range({repeats}):
    start = time.process_time()
    capplan.run_plan(plan, simulations={paths}{engine})
    best = min(best, time.process_time() - start)
print(capplan.__file__)
print(best)
"""


def _time(src: Path, paths: int, repeats: int, engine: str = "fast") -> tuple[str, float]:
    # (Trees from before the engine= argument run the fast engine: the call leaves it out.)
    chosen = "" if engine == "fast" else f", engine={engine!r}"
    code = _CHILD.format(here=str(HERE), paths=paths, repeats=repeats, engine=chosen)
    env = dict(os.environ, PYTHONPATH=str(src))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{src}: the run failed:\n{done.stderr.strip()}")
    where, seconds = done.stdout.strip().splitlines()[-2:]
    return where, float(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("a", type=Path, help="first source tree (the directory holding capplan/)")
    parser.add_argument("b", type=Path, help="second source tree")
    parser.add_argument("--runs", type=int, default=6, help="processes per tree (default 6)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per process")
    parser.add_argument("--paths", type=int, default=10_000, help="Monte Carlo paths")
    parser.add_argument(
        "--reference",
        action="store_true",
        help="also time the second tree's reference engine (engine='reference')",
    )
    args = parser.parse_args(argv)
    for src in (args.a, args.b):
        if not (src / "capplan" / "__init__.py").is_file():
            parser.error(f"{src} is not a source tree: expected {src}/capplan/__init__.py")

    times: dict[Path, list[float]] = {args.a: [], args.b: []}
    reference: list[float] = []
    for run in range(args.runs):
        if args.reference:
            reference.append(_time(args.b.resolve(), args.paths, 1, "reference")[1])
        for src in (args.a, args.b) if run % 2 == 0 else (args.b, args.a):
            where, seconds = _time(src.resolve(), args.paths, args.repeats)
            if not where.startswith(str(src.resolve())):
                raise SystemExit(f"{src}: capplan was imported from {where}, not from this tree")
            times[src].append(seconds)
        print(f"run {run + 1}/{args.runs}", file=sys.stderr)
    width = max(len(str(src)) for src in times)
    for src, values in times.items():
        print(
            f"{src!s:{width}}  min {min(values):.3f} s  median {statistics.median(values):.3f} s"
            f"  (CPU time, {args.paths:,} paths, {len(values)} processes)"
        )
    ratio = statistics.median(times[args.b]) / statistics.median(times[args.a])
    print(f"median of b / median of a: {ratio:.3f}")
    if reference:
        fast = statistics.median(times[args.b])
        slow = statistics.median(reference)
        print(
            f"{args.b!s:{width}}  reference engine: min {min(reference):.3f} s  median "
            f"{slow:.3f} s  ({slow / fast:.2f} × its fast engine)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
