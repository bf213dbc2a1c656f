"""A load-test analysis as JSON-ready data and as Markdown."""

from __future__ import annotations

import math
from typing import Any

from capplan.loadtest.analysis import Analysis

__all__ = ["analysis_data", "analysis_markdown"]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def analysis_data(a: Analysis) -> dict[str, Any]:
    """Runs, limits, the USL fit (null when not fitted), the capacity and the warnings."""
    fit = None
    if a.fit is not None:
        fit = {
            "lambda": a.fit.lam,
            "sigma": a.fit.sigma,
            "kappa": a.fit.kappa,
            "r_squared": a.fit.r_squared,
            "peak_level": _finite(a.fit.peak_level),
            "peak_throughput": _finite(a.fit.peak_throughput),
        }
    capacity = None
    if a.capacity is not None:
        capacity = {
            "throughput": a.capacity.throughput,
            "level": a.capacity.level,
            "bound_by": a.capacity.bound_by,
            "reason": a.capacity.reason,
        }
    return {
        "limits": {"latency_p95_ms": a.limits.latency_ms, "error_rate": a.limits.error_rate},
        "runs": [
            {
                "source": r.source,
                "format": r.format,
                "level": r.level,
                "throughput": r.throughput,
                "p95_ms": r.p95_ms,
                "error_rate": r.error_rate,
                "p50_ms": r.p50_ms,
                "p99_ms": r.p99_ms,
                "target_rps": r.target_rps,
                "duration_s": r.duration_s,
                "resource_usage": dict(r.resource_usage),
                "bottlenecks": list(r.bottlenecks),
                "fitted_throughput": float(a.fit.throughput(r.level)) if a.fit else None,
            }
            for r in a.runs
        ],
        "usl": fit,
        "capacity": capacity,
        "warnings": list(a.warnings),
    }


def _num(value: float, digits: int = 4) -> str:
    return "∞" if math.isinf(value) else f"{value:.{digits}g}"


def analysis_markdown(a: Analysis) -> str:
    """The runs as a table, then the fit, the capacity and the warnings."""
    out = [
        "# Load-test capacity",
        "",
        f"Limits: p95 ≤ {a.limits.latency_ms:g} ms, errors ≤ {a.limits.error_rate:.2%}.",
        "",
        "| level | throughput (req/s) | USL fit | p95 (ms) | errors | run |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for r in a.runs:
        fitted = _num(float(a.fit.throughput(r.level))) if a.fit else "–"
        out.append(
            f"| {r.level:g} | {_num(r.throughput)} | {fitted} | {_num(r.p95_ms)} | "
            f"{r.error_rate:.2%} | {r.source} |"
        )
    out.append("")
    if a.fit is not None:
        f = a.fit
        out.append(
            f"USL: λ = {_num(f.lam)}, σ = {_num(f.sigma)}, κ = {_num(f.kappa)}, "
            f"R² = {f.r_squared:.4f}; peak {_num(f.peak_throughput)} req/s at level "
            f"{_num(f.peak_level)}."
        )
    else:
        out.append("USL: not fitted.")
    if a.capacity is not None:
        c = a.capacity
        out.append("")
        out.append(
            f"**Capacity per instance: {c.throughput:.1f} req/s** at level {c.level:.3g} "
            f"({c.reason}; bounded by {c.bound_by})."
        )
    else:
        out += ["", "**Capacity per instance: none** — every run breaks the limits."]
    if a.warnings:
        out += ["", *(f"- warning: {w}" for w in a.warnings)]
    return "\n".join(out) + "\n"
