"""Fuzz tests: hypothesis-generated hostile input for every parser of user input.

Each test asserts the same contract: a clean :class:`~capplan.errors.CapplanError` (or a
valid result), never another exception, and within the time and memory budgets of
:func:`within_budget`. ``make test`` runs a few hundred examples per surface (profile
``suite``); ``make fuzz`` runs thousands (profile ``fuzz``, ``HYPOTHESIS_PROFILE=fuzz``) and
prints how many inputs each surface tried.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, settings

T = TypeVar("T")

settings.register_profile(
    "suite",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    max_examples=5_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

SECONDS = 2.0  # no single input may take longer
MEGABYTES = 300  # nor grow the process by more


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def within_budget(what: str) -> Iterator[None]:
    """Fail when the block takes over :data:`SECONDS` or raises the peak RSS by over
    :data:`MEGABYTES` (ru_maxrss only grows: a blowup shows as a jump)."""
    before, start = _rss_mb(), time.perf_counter()
    yield
    took, grew = time.perf_counter() - start, _rss_mb() - before
    assert took < SECONDS, f"{what}: took {took:.2f} s (budget {SECONDS} s)"
    assert grew < MEGABYTES, f"{what}: grew by {grew:.0f} MB (budget {MEGABYTES} MB)"


def run_clean(call: Callable[[], T], what: str) -> T | None:
    """Run ``call`` within budget; a CapplanError is a clean answer (None), any other
    exception fails the test."""
    from capplan.errors import CapplanError

    with within_budget(what):
        try:
            return call()
        except CapplanError:
            return None


@pytest.fixture(scope="session")
def clean() -> Callable[[Callable[[], T], str], T | None]:
    """``clean(call, what)``: see :func:`run_clean` (a session fixture, as hypothesis
    tests may not use function-scoped ones)."""
    return run_clean
