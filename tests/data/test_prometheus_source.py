"""The Prometheus source against httpx.MockTransport: splitting, POST, retries, errors."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable

import httpx
import numpy as np
import pytest

from capplan.data.prometheus import (
    MAX_POINTS,
    PrometheusSource,
    RangeQuery,
    choose_step,
    make_client,
    split_range,
)
from capplan.errors import SourceError

Handler = Callable[[httpx.Request], httpx.Response]


def matrix(result: list[dict[str, object]]) -> dict[str, object]:
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def source(handler: Handler, **kwargs: object) -> PrometheusSource:
    client = httpx.Client(base_url="http://prom.test", transport=httpx.MockTransport(handler))
    return PrometheusSource(client, sleep=lambda _: None, **kwargs)  # type: ignore[arg-type]


def params(request: httpx.Request) -> dict[str, str]:
    if request.method == "POST":
        return dict(httpx.QueryParams(request.content.decode()))
    return dict(request.url.params)


def echo_range(request: httpx.Request) -> httpx.Response:
    """A server whose one series has value = timestamp / 1000 at every step of the request."""
    p = params(request)
    start, end, step = float(p["start"]), float(p["end"]), float(p["step"])
    stamps = np.arange(start, end + step / 2, step)
    values = [[float(t), str(t / 1000)] for t in stamps]
    return httpx.Response(
        200, json=matrix([{"metric": {"__name__": "up", "job": "api"}, "values": values}])
    )


def test_automatic_step_keeps_requests_under_the_point_limit() -> None:
    assert choose_step(0, 3600) == 15
    assert choose_step(0, 90 * 86400) == np.ceil(90 * 86400 / (MAX_POINTS - 1))
    assert choose_step(0, 10, 5) == 5


def test_long_ranges_are_split_without_overlap() -> None:
    pieces = split_range(0, 30_000 * 15, 15)
    assert len(pieces) == 3
    for (_, hi1), (lo2, _) in itertools.pairwise(pieces):
        assert lo2 == hi1 + 15
    assert all((hi - lo) / 15 + 1 <= MAX_POINTS for lo, hi in pieces)


def test_query_range_reads_every_piece_into_one_series() -> None:
    calls: list[dict[str, str]] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            calls.append(params(request))
        return echo_range(request)

    frame = source(handler).query_range("up", 0, 30_000 * 15, step=15)
    assert len(calls) == 3
    assert frame.names == ('up{job="api"}',)
    assert frame.values.size == 30_001
    assert np.all(np.diff(frame.timestamps.astype(np.int64)) == 15)


def test_name_replaces_the_metric_name() -> None:
    frame = source(echo_range).query_range("sum(rate(x[5m]))", 0, 600, 60, name="cpu")
    assert frame.names == ('cpu{job="api"}',)


def test_long_queries_are_posted() -> None:
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        return echo_range(request)

    long_query = "sum(" + " + ".join(f'rate(m{{i="{i}"}}[5m])' for i in range(200)) + ")"
    source(handler).query_range(long_query, 0, 600, 60)
    assert methods == ["POST"]


def test_5xx_and_timeouts_are_retried_with_backoff() -> None:
    answers: list[object] = [httpx.Response(503), httpx.TimeoutException("slow"), None]
    waits: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, httpx.Response) else echo_range(request)

    client = httpx.Client(base_url="http://prom.test", transport=httpx.MockTransport(handler))
    src = PrometheusSource(client, sleep=waits.append, backoff=0.5)
    frame = src.query_range("up", 0, 60, 15)
    assert frame.values.size == 5
    assert waits == [0.5, 1.0]


def test_persistent_failure_names_the_server() -> None:
    src = source(lambda r: httpx.Response(500, text="boom"), retries=2)
    with pytest.raises(SourceError, match=r"failed 3 times \(last: HTTP 500\)"):
        src.query_range("up", 0, 60, 15)


def test_bad_query_shows_prometheus_own_message() -> None:
    body = {"status": "error", "errorType": "bad_data", "error": 'parse error: unexpected "}"'}
    src = source(lambda r: httpx.Response(400, json=body))
    with pytest.raises(SourceError, match=r'bad_data.*parse error: unexpected "}"'):
        src.query_range("up}", 0, 60, 15)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(200, text="<html>proxy</html>"), "not JSON"),
        (httpx.Response(200, json={"status": "success"}), "without data.result"),
        (
            httpx.Response(
                200, json={"status": "success", "data": {"resultType": "vector", "result": []}}
            ),
            "expected a matrix",
        ),
        (
            httpx.Response(200, json=matrix([{"metric": {}, "values": [[1, "x"]]}])),
            "point 1 has a value that is not a number",
        ),
        (httpx.Response(200, json=matrix([])), "returned no data"),
    ],
)
def test_malformed_and_empty_answers_are_clear_errors(
    response: httpx.Response, expected: str
) -> None:
    with pytest.raises(SourceError, match=expected):
        source(lambda r: response).query_range("up", 0, 60, 15)


def test_unreachable_server() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(SourceError, match=r"cannot reach Prometheus at http://prom\.test"):
        source(refuse).query_range("up", 0, 60, 15)


def test_many_queries_run_with_bounded_concurrency() -> None:
    in_flight, peak = 0, 0
    lock = threading.Lock()
    gate = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        gate.wait(0.01)
        with lock:
            in_flight -= 1
        body = json.loads(echo_range(request).content)
        body["data"]["result"][0]["metric"]["q"] = params(request)["query"]
        return httpx.Response(200, json=body)

    queries = [RangeQuery(f"up{{i='{i}'}}", 0, 600, 60) for i in range(12)]
    frame = source(handler, concurrency=3).query_many(queries)
    assert len(frame.names) == 12
    assert peak <= 3


def test_client_carries_auth_and_headers() -> None:
    client = make_client(
        "https://prom.example:9090/", bearer_token="s3cret", headers={"X-Scope-OrgID": "team"}
    )
    assert client.headers["Authorization"] == "Bearer s3cret"
    assert client.headers["X-Scope-OrgID"] == "team"
    assert str(client.base_url) == "https://prom.example:9090"
    basic = make_client("http://p", username="u", password="p")
    request = basic.build_request("GET", "/api/v1/query")
    assert isinstance(basic.auth, httpx.BasicAuth)
    flow = basic.auth.auth_flow(request)
    assert next(flow).headers["Authorization"].startswith("Basic ")


def test_partial_answers_keep_their_warnings() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(echo_range(request).content)
        body["warnings"] = ["store 10.0.0.7:10901 did not respond"]
        return httpx.Response(200, json=body)

    frame = source(handler).query_range("up", 0, 600, 60)
    assert frame.values.size == 11
    (warning,) = frame.warnings
    assert warning.code == "partial"
    assert "store 10.0.0.7:10901 did not respond" in warning.message
