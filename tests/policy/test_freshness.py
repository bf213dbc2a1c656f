"""Freshness of a series: the age of its newest sample against a maximum age, and the parsers
of ``--now`` and ``--max-age``."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from capplan.errors import UsageError
from capplan.formatting import fmt_age
from capplan.plan.models import Threshold
from capplan.policy.freshness import (
    default_max_age,
    freshness,
    instant,
    longest_for,
    parse_instant,
    parse_max_age,
)

NOW = np.datetime64("2026-12-01T12:00:00", "s")


def test_fresh_and_stale() -> None:
    last = np.datetime64("2026-12-01T09:00:00", "s")
    fresh = freshness("cpu", last, NOW, 4 * 3600)
    assert (fresh.age_seconds, fresh.stale) == (3 * 3600, False)
    stale = freshness("cpu", last, NOW, 3 * 3600 - 1)
    assert stale.stale
    assert stale.to_dict() == {
        "series": "cpu",
        "last_sample": "2026-12-01T09:00:00Z",
        "age_seconds": 10800.0,
        "max_age_seconds": 10799,
        "stale": True,
    }


def test_exactly_max_age_is_not_stale_and_zero_turns_the_check_off() -> None:
    last = NOW - np.timedelta64(600, "s")
    assert not freshness("cpu", last, NOW, 600).stale
    off = freshness("cpu", last - np.timedelta64(365, "D"), NOW, 0)
    assert (off.stale, off.max_age_seconds) == (False, None)
    assert off.age_seconds == 600 + 365 * 86400


def test_no_sample_is_not_stale() -> None:
    none = freshness("cpu", None, NOW, 60)
    assert (none.last_sample, none.age_seconds, none.stale) == (None, None, False)


def test_default_max_age_is_three_steps_or_the_longest_for() -> None:
    assert default_max_age(3600, 600) == 3 * 3600
    assert default_max_age(60, 3600) == 3600
    assert default_max_age(0, 0) == 3 * 300  # one sample: the 5m Prometheus lookback stands in
    cpu = Threshold.model_validate(
        {"metric": "cpu", "for": "5m", "warning": {"value": 70, "for": "1h"}, "critical": 90}
    )
    mem = Threshold.model_validate({"metric": "mem", "warning": 70})
    assert longest_for([cpu, mem]) == 3600
    assert longest_for([mem]) == 0
    assert longest_for([]) == 0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("off", 0), ("OFF", 0), ("0", 0), ("0s", 0), ("3h", 10800), ("1h30m", 5400), ("2d", 172800)],
)
def test_parse_max_age(text: str, seconds: float) -> None:
    assert parse_max_age(text) == seconds


@pytest.mark.parametrize("text", ["soon", "3 hours", "-1h", ""])
def test_parse_max_age_says_what_was_expected(text: str) -> None:
    with pytest.raises(UsageError, match=r"--max-age: expected a duration such as .* or 'off'"):
        parse_max_age(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-13T00:00:00Z", "2026-10-13T00:00:00"),
        ("2026-10-13T02:00:00+02:00", "2026-10-13T00:00:00"),
        ("2026-10-13 00:00", "2026-10-13T00:00:00"),
        ("2026-10-13", "2026-10-13T00:00:00"),
    ],
)
def test_parse_instant(text: str, expected: str) -> None:
    assert parse_instant(text) == np.datetime64(expected, "s")


@pytest.mark.parametrize("text", ["yesterday", "13/10/2026", "1760313600"])
def test_parse_instant_says_what_was_expected(text: str) -> None:
    with pytest.raises(UsageError, match=r"--now: expected an ISO 8601 time such as"):
        parse_instant(text)


def test_instant_accepts_datetimes_and_unix_seconds() -> None:
    aware = dt.datetime(2026, 10, 13, 2, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert instant(aware) == np.datetime64("2026-10-13T00:00:00", "s")
    assert instant(1_760_313_600) == np.datetime64("2025-10-13T00:00:00", "s")
    assert instant(np.datetime64("2026-10-13T00:00:00.750")) == np.datetime64(
        "2026-10-13T00:00:00", "s"
    )
    before = np.datetime64(dt.datetime.now(dt.UTC).replace(tzinfo=None), "s")
    assert instant(None) >= before


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(49 * 86400, "7w 0d"), (52 * 86400 + 7200, "7w 3d"), (11400, "3h 10m"), (42, "42s")],
)
def test_fmt_age(seconds: float, text: str) -> None:
    assert fmt_age(seconds) == text
