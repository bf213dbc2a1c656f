"""The USL fit against the ``usl`` R package's published fit of Gunther's SPEC SDM91 data,
and against data generated from known coefficients."""

from __future__ import annotations

import math

import numpy as np
import pytest

from capplan.loadtest import fit_usl, usl_throughput

# specsdm91 from the `usl` R package (Moeding), after Gunther, "Guerrilla Capacity Planning"
# (2007): a Sun SPARCcenter 2000 in the SPEC SDM91 benchmark, load = simulated users,
# throughput = scripts per hour. The values are those of the package's data/specsdm91.rda.
SDM91_LOAD = [1, 18, 36, 72, 108, 144, 216]
SDM91_THROUGHPUT = [64.9, 995.9, 1652.4, 1853.2, 1828.9, 1775.0, 1702.2]


def test_specsdm91_reproduces_the_published_coefficients() -> None:
    # The package's tests/summary.Rout.save prints, to 4 significant digits:
    #   alpha 2.773e-02, beta 1.044e-04, gamma 9.000e+01 (σ, κ, λ);
    #   "peak: throughput 1884 at load 96.52" (tests/peak-scalability.R: 96.51956).
    fit = fit_usl(np.array(SDM91_LOAD, float), np.array(SDM91_THROUGHPUT))
    assert f"{fit.sigma:.3e}" == "2.773e-02"
    assert f"{fit.kappa:.3e}" == "1.044e-04"
    assert f"{fit.lam:.3e}" == "9.000e+01"
    assert fit.peak_level == pytest.approx(96.51956, rel=1e-4)
    assert round(fit.peak_throughput) == 1884
    assert fit.peak_level == pytest.approx(math.sqrt((1 - fit.sigma) / fit.kappa))


@pytest.mark.parametrize(
    ("lam", "sigma", "kappa"),
    [(12.0, 0.1365, 0.001382), (1000.0, 0.02, 0.0001), (5.0, 0.3, 0.0)],
)
def test_known_coefficients_are_recovered(lam: float, sigma: float, kappa: float) -> None:
    levels = np.array([1, 2, 4, 8, 16, 24, 32, 48, 64], float)
    exact = usl_throughput(levels, lam, sigma, kappa)
    fit = fit_usl(levels, exact)
    assert fit.lam == pytest.approx(lam, rel=1e-6)
    assert fit.sigma == pytest.approx(sigma, rel=1e-5, abs=1e-9)
    assert fit.kappa == pytest.approx(kappa, rel=1e-5, abs=1e-9)
    assert fit.r_squared == pytest.approx(1.0)


def test_noisy_data_recovers_coefficients_roughly() -> None:
    rng = np.random.default_rng(7)
    levels = np.array([1, 2, 4, 8, 16, 24, 32, 48, 64], float)
    noisy = usl_throughput(levels, 100.0, 0.05, 0.0005) * (1 + rng.normal(0, 0.01, levels.size))
    fit = fit_usl(levels, noisy)
    assert fit.sigma == pytest.approx(0.05, abs=0.01)
    assert fit.kappa == pytest.approx(0.0005, rel=0.2)
    assert fit.r_squared > 0.99


def test_without_coherency_cost_the_peak_is_unbounded() -> None:
    levels = np.array([1, 2, 4, 8], float)
    fit = fit_usl(levels, usl_throughput(levels, 10.0, 0.1, 0.0))
    assert math.isinf(fit.peak_level)
    assert fit.peak_throughput == pytest.approx(10.0 / fit.sigma)
