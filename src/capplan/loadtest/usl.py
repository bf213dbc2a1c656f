"""The Universal Scalability Law fitted to throughput at several concurrency levels.

``X(N) = λN / (1 + σ(N − 1) + κN(N − 1))``: λ the throughput of one unit of concurrency, σ
contention (serialisation), κ coherency (crosstalk); the throughput peaks at
``N* = sqrt((1 − σ) / κ)``. Fitted by bounded nonlinear least squares
(:func:`scipy.optimize.curve_fit`, σ and κ ≥ 0), as the ``usl`` R package does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from capplan._types import Array

__all__ = ["MIN_LEVELS", "UslFit", "fit_usl", "usl_throughput"]

#: Distinct concurrency levels needed to fit the law's three coefficients.
MIN_LEVELS = 3


def usl_throughput(n: Array | float, lam: float, sigma: float, kappa: float) -> Array:
    """``λN / (1 + σ(N − 1) + κN(N − 1))`` for every level in ``n``."""
    n = np.asarray(n, dtype=float)
    return np.asarray(lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1)))


@dataclass(frozen=True)
class UslFit:
    """The fitted coefficients, the peak and how well the law fits (R²)."""

    lam: float
    sigma: float
    kappa: float
    r_squared: float

    @property
    def peak_level(self) -> float:
        """``N* = sqrt((1 − σ) / κ)``; infinite without coherency cost (κ = 0)."""
        if self.kappa <= 0:
            return math.inf
        return max(1.0, math.sqrt(max(0.0, 1 - self.sigma) / self.kappa))

    @property
    def peak_throughput(self) -> float:
        """``X(N*)``; with κ = 0 the Amdahl ceiling λ / σ (infinite when σ = 0 too)."""
        peak = self.peak_level
        if math.isinf(peak):
            return self.lam / self.sigma if self.sigma > 0 else math.inf
        return float(usl_throughput(peak, self.lam, self.sigma, self.kappa))

    def throughput(self, n: Array | float) -> Array:
        """The fitted throughput at levels ``n``."""
        return usl_throughput(n, self.lam, self.sigma, self.kappa)


def fit_usl(levels: Array, throughput: Array) -> UslFit:
    """λ, σ and κ by least squares over the measured points (at least :data:`MIN_LEVELS`
    distinct levels, every level and throughput > 0; the caller checks). Several starting
    points are tried and the best fit kept: the sum of squares has flat valleys in κ."""
    n = np.asarray(levels, dtype=float)
    x = np.asarray(throughput, dtype=float)
    lam0 = float(np.max(x / n))
    from scipy.optimize import curve_fit  # here: SciPy is slow to import at start-up

    best: tuple[float, np.ndarray] | None = None
    for sigma0, kappa0 in ((0.01, 1e-4), (0.1, 1e-3), (0.001, 1e-6), (0.5, 0.0)):
        try:
            params, _ = curve_fit(
                usl_throughput,
                n,
                x,
                p0=(lam0, sigma0, kappa0),
                bounds=((0.0, 0.0, 0.0), (np.inf, np.inf, np.inf)),
                maxfev=20_000,
            )
        except (RuntimeError, ValueError):  # no convergence from this start
            continue
        sse = float(np.sum((usl_throughput(n, *params) - x) ** 2))
        if best is None or sse < best[0]:
            best = (sse, params)
    if best is None:  # every start failed: the linear law through the points
        params = np.array([lam0, 0.0, 0.0])
        best = (float(np.sum((usl_throughput(n, *params) - x) ** 2)), params)
    sse, (lam, sigma, kappa) = best
    # A bound reached only to rounding (κ of 1e-18) is the bound: no coherency cost.
    top = float(n.max())
    sigma = 0.0 if sigma * top < 1e-9 else sigma
    kappa = 0.0 if kappa * top * top < 1e-9 else kappa
    sst = float(np.sum((x - x.mean()) ** 2))
    r2 = 1 - sse / sst if sst > 0 else 1.0
    return UslFit(float(lam), float(sigma), float(kappa), r2)
