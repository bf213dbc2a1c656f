"""Fuzz: the Prometheus answer reader on arbitrary JSON, arbitrary bytes and near-valid
matrix and vector answers, alone and through the source (MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
from hypothesis import event, given
from hypothesis import strategies as st

from capplan.data.frame import MetricFrame
from capplan.data.prometheus import PrometheusSource
from capplan.data.prometheus_answer import AskedRange, read_answer

START, END, STEP = 1_700_000_000.0, 1_700_000_600.0, 60.0
ASKED = AskedRange("rate(up[5m])", START, END, STEP)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**64, 10**400, -(10**400)])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)
GOOD_TIME = st.integers(min_value=int(START), max_value=int(END)) | st.floats(START, END)
BAD_TIME = (
    st.floats(min_value=START - 2 * STEP, max_value=END + 2 * STEP)
    | st.sampled_from([float("nan"), float("inf"), -1.0, 0, 1e30, 10**400, True, "1700000000"])
    | SCALARS
)
GOOD_VALUE = st.sampled_from(["1", "0.5", "NaN", "+Inf", "-Inf", "1e400", "-3", "1e-300"])
BAD_VALUE = st.sampled_from(["x", "", " 2 ", "0x10", "1_0"]) | SCALARS
GOOD_LABELS = st.dictionaries(
    st.sampled_from(["__name__", "job", "instance", "é"]), st.text(max_size=8), max_size=3
)
BAD_LABELS = (
    st.dictionaries(st.sampled_from(["", "\x00", "job"]), st.text(max_size=8) | SCALARS, max_size=3)
    | JSON
)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` three times in four, ``bad`` otherwise."""
    return st.sampled_from([True, True, True, False]).flatmap(lambda ok: good if ok else bad)


PAIR = mostly(st.tuples(mostly(GOOD_TIME, BAD_TIME), mostly(GOOD_VALUE, BAD_VALUE)).map(list), JSON)
GOOD_ITEM = st.fixed_dictionaries(
    {"metric": mostly(GOOD_LABELS, BAD_LABELS), "values": st.lists(PAIR, max_size=30)}
)
ANY_ITEM = st.fixed_dictionaries(
    {},
    optional={
        "metric": GOOD_LABELS | JSON,
        "values": st.lists(PAIR, max_size=30) | JSON,
        "value": PAIR,
        "histograms": JSON,
    },
)
ITEM = mostly(GOOD_ITEM, ANY_ITEM)
ANSWER = st.fixed_dictionaries(
    {
        "status": mostly(st.just("success"), st.sampled_from(["error", None, 1])),
        "data": mostly(
            st.fixed_dictionaries(
                {
                    "resultType": mostly(st.just("matrix"), st.sampled_from(["vector", "scalar"])),
                    "result": mostly(st.lists(ITEM, max_size=6), JSON),
                }
            ),
            JSON,
        ),
    },
    optional={"warnings": JSON, "errorType": JSON, "error": JSON},
)


def _check_frame(frame: MetricFrame) -> None:
    stamps = frame.timestamps.astype(np.int64)
    assert np.all((stamps >= START - STEP - 1) & (stamps <= END + STEP))
    assert len(frame.names) == len(set(frame.names))


def _read(body: bytes) -> MetricFrame:
    frame, _ = read_answer(200, body, ASKED, where="http://prom.test/api/v1/query_range")
    _check_frame(frame)
    return frame


@given(JSON)
def test_any_json_is_a_clean_answer(clean: Callable[..., Any], value: object) -> None:
    body = json.dumps(value).encode()
    clean(lambda: _read(body), body[:60])


@given(st.binary(max_size=300))
def test_any_bytes_are_a_clean_answer(clean: Callable[..., Any], body: bytes) -> None:
    clean(lambda: _read(body), body[:60])


@given(ANSWER)
def test_near_valid_answers(clean: Callable[..., Any], answer: dict[str, Any]) -> None:
    body = json.dumps(answer).encode()
    found = clean(lambda: _read(body), body[:80])
    event("a valid frame" if found is not None else "a clean error")


@given(ANSWER)
def test_near_valid_answers_through_the_source(
    clean: Callable[..., Any], answer: dict[str, Any]
) -> None:
    body = json.dumps(answer).encode()
    client = httpx.Client(
        base_url="http://prom.test",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body)),
    )
    src = PrometheusSource(client, retries=0, sleep=lambda _: None)

    def run() -> MetricFrame:
        frame = src.query_range(ASKED.query, START, END, STEP)
        _check_frame(frame)
        return frame

    found = clean(run, body[:80])
    event("a valid frame" if found is not None else "a clean error")
