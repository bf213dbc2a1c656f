"""The Prometheus source against httpx.MockTransport: splitting, POST, retries, errors, the
shapes of a bad answer, limits, and credentials kept out of every message."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator

import httpx
import numpy as np
import pytest

from capplan.data.prometheus import (
    MAX_POINTS,
    PrometheusLimits,
    PrometheusOptions,
    PrometheusSource,
    RangeQuery,
    choose_step,
    make_client,
    redact_url,
    split_credentials,
    split_range,
)
from capplan.errors import SourceError, UsageError

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


def answer_of(result: object) -> httpx.Response:
    """A successful matrix answer whose ``result`` is anything (NaN allowed, as some JSON
    encoders write it)."""
    data = {"resultType": "matrix", "result": result}
    return httpx.Response(200, content=json.dumps({"status": "success", "data": data}).encode())


OK_LABELS = {"__name__": "up"}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (5, "has a result that is not a list: 5"),
        ({"a": 1}, "has a result that is not a list"),
        (["up 1"], "series 1 of the answer to up is not an object with metric and values"),
        ([None], "is not an object"),
        ([{"values": [[0, "1"]]}], "has no metric: "),
        ([{"metric": OK_LABELS}], "has no values: "),
        ([{}], "has no metric and values"),
        ([{"metric": ["up"], "values": []}], "has labels that are not an object"),
        ([{"metric": {"job": 1}, "values": []}], "has label 'job' = 1: expected a string"),
        ([{"metric": {"job": None}, "values": []}], "has label 'job' = None"),
        ([{"metric": {"job": ["a"]}, "values": []}], "has label 'job' = \\['a'\\]"),
        ([{"metric": {"job": "a\x00b"}, "values": []}], "expected a string"),
        ([{"metric": {"job": "\ud800"}, "values": []}], "expected a string"),
        ([{"metric": OK_LABELS, "values": "0 1"}], "has values that are not a list"),
        ([{"metric": OK_LABELS, "values": [0, 1]}], "point 1 is not a \\[time, value\\] pair"),
        ([{"metric": OK_LABELS, "values": [[0, "1", 2]]}], "point 1 is not a \\[time, value\\]"),
        ([{"metric": OK_LABELS, "values": [[float("nan"), "1"]]}], "point 1 has time nan, not a"),
        ([{"metric": OK_LABELS, "values": [[float("inf"), "1"]]}], "has time inf, not a finite"),
        ([{"metric": OK_LABELS, "values": [["0", "1"]]}], "has a time that is not a number: '0'"),
        ([{"metric": OK_LABELS, "values": [[True, "1"]]}], "has a time that is not a number"),
        ([{"metric": OK_LABELS, "values": [[None, "1"]]}], "has a time that is not a number"),
        ([{"metric": OK_LABELS, "values": [[10**400, "1"]]}], "has a time that is not a number"),
        ([{"metric": OK_LABELS, "values": [[1e30, "1"]]}], "has time 1e\\+30, outside the range"),
        ([{"metric": OK_LABELS, "values": [[-3600, "1"]]}], "outside the range asked for"),
        ([{"metric": OK_LABELS, "values": [[0, "x"]]}], "has a value that is not a number: 'x'"),
        ([{"metric": OK_LABELS, "values": [[0, None]]}], "has a value that is not a number"),
        ([{"metric": OK_LABELS, "values": [[0, False]]}], "has a value that is not a number"),
        ([{"metric": OK_LABELS, "values": [[0, {"a": 1}]]}], "has a value that is not a number"),
        ([{"metric": OK_LABELS, "values": [[0, 10**400]]}], "has a value that is not a number"),
        (
            [{"metric": OK_LABELS, "values": [[0, "1"]]}] * 2,
            "series 2 .* repeats the labels of an earlier series: up",
        ),
    ],
)
def test_malformed_shapes_are_clear_errors_naming_the_query(result: object, expected: str) -> None:
    with pytest.raises(SourceError, match=expected) as caught:
        source(lambda r: answer_of(result)).query_range("up", 0, 60, 15)
    assert "up" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"\xff\xfe not utf-8", "not JSON"),
        (b"[" * 100_000, "not JSON"),
        (b'{"status": "success", "data": {"result": []' + b"}" * 1, "not JSON"),
        (b'"success"', "unexpected JSON"),
        (b"NaN", "unexpected JSON"),
        (b'{"status": "error", "errorType": 5, "error": ["x"]}', r"query \(5\): \['x'\]"),
        (b'{"status": "success", "data": {"result": []}}', "returned a None, expected a matrix"),
        (b'{"status": "success", "data": []}', "without data.result"),
        (b'{"status": "success", "data": {"resultType": "matrix", "result": [], "x": 1}, '
         b'"warnings": 7}', "returned no data"),
    ],
)  # fmt: skip
def test_malformed_bodies_are_clear_errors(body: bytes, expected: str) -> None:
    with pytest.raises(SourceError, match=expected):
        source(lambda r: httpx.Response(200, content=body)).query_range("up", 0, 60, 15)


def test_values_as_prometheus_sends_them() -> None:
    values = [[0, "NaN"], [15, "+Inf"], [30, "-Inf"], [45.5, 3], [60, "1e3"]]
    frame = source(lambda r: answer_of([{"metric": OK_LABELS, "values": values}])).query_range(
        "up", 0, 60, 15
    )
    assert frame.timestamps.astype(np.int64).tolist() == [0, 15, 30, 45, 60]
    assert np.isnan(frame.values[0])
    assert frame.values[1:].tolist() == [np.inf, -np.inf, 3.0, 1000.0]


def test_points_beyond_the_ratio_asked_are_refused() -> None:
    # 61 points asked (an hour every minute); 8 million returned would be refused alike
    values = [[i, "1"] for i in range(123)]
    with pytest.raises(SourceError, match=r"123 points, more than the 122 allowed \(2 x the 61"):
        source(lambda r: answer_of([{"metric": OK_LABELS, "values": values}])).query_range(
            "up", 0, 3600, 60
        )
    limits = PrometheusLimits(points_ratio=3)
    frame = source(
        lambda r: answer_of([{"metric": OK_LABELS, "values": values[:62]}]), limits=limits
    ).query_range("up", 0, 3600, 60)
    assert frame.values.size == 62


def test_an_endless_streamed_body_stops_at_the_cap() -> None:
    def forever() -> Iterator[bytes]:
        while True:
            yield b" " * 65_536

    limits = PrometheusLimits(max_bytes=256 * 1024)
    src = source(lambda r: httpx.Response(200, stream=IteratorStream(forever())), limits=limits)
    with pytest.raises(SourceError, match=r"answered more than the 262,144 bytes allowed"):
        src.query_range("up", 0, 60, 15)


class IteratorStream(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks


@pytest.mark.parametrize(
    ("url", "clean", "user", "password"),
    [
        ("http://alice:S3CRET@host:9090", "http://host:9090", "alice", "S3CRET"),
        ("https://alice:p%40ss%3Aw@host/prom", "https://host/prom", "alice", "p@ss:w"),
        ("http://alice:p@ss@host:9090/", "http://host:9090/", "alice", "p@ss"),
        ("http://TOKEN@host", "http://host", "TOKEN", None),
        ("http://host:9090", "http://host:9090", None, None),
        ("http://[::1]:9090", "http://[::1]:9090", None, None),
    ],
)
def test_url_credentials_are_split_off(
    url: str, clean: str, user: str | None, password: str | None
) -> None:
    assert split_credentials(url) == (clean, user, password)


@pytest.mark.parametrize(
    "url", ["host:9090", "ftp://alice:S3CRET@host", "http://alice:S3CRET@", "http://h:port", ""]
)
def test_bad_urls_are_usage_errors_without_the_secret(url: str) -> None:
    with pytest.raises(UsageError, match="must look like http://prometheus:9090") as caught:
        make_client(url)
    assert "S3CRET" not in str(caught.value)


def test_redact_url_hides_every_credential() -> None:
    text = "at http://alice:S3CRET@h:9090/x and https://TOKEN@h2/ and http://h3/?a=b@c"
    assert redact_url(text) == (
        "at http://alice:***@h:9090/x and https://***@h2/ and http://h3/?a=b@c"
    )


def test_url_credentials_become_basic_auth() -> None:
    client = make_client("http://alice:S3CRET@prom.test:9090")
    assert str(client.base_url).rstrip("/") == "http://prom.test:9090"
    assert isinstance(client.auth, httpx.BasicAuth)
    request = next(client.auth.auth_flow(client.build_request("GET", "/x")))
    assert request.headers["Authorization"] == httpx.BasicAuth("alice", "S3CRET")._auth_header
    with pytest.raises(UsageError, match="in the URL or with --username/--password, not both"):
        make_client("http://alice:S3CRET@h", username="bob")
    with pytest.raises(UsageError, match="basic auth or a bearer token, not both"):
        make_client("http://alice:S3CRET@h", bearer_token="t")
    with pytest.raises(UsageError, match="needs a user name"):
        make_client("http://h", password="p")


def test_options_keep_secrets_out_of_repr() -> None:
    options = PrometheusOptions(
        username="alice", password="S3CRET", bearer_token="T0KEN", headers={"X-Key": "K3Y"}
    )
    assert not {"S3CRET", "T0KEN", "K3Y"} & set(repr(options).replace("'", " ").split())
    assert "S3CRET" not in repr(options)


def test_errors_hide_credentials_of_a_client_built_by_hand() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    client = httpx.Client(
        base_url="http://alice:S3CRET@prom.test", transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(SourceError) as caught:
        PrometheusSource(client, retries=0).query_range("up", 0, 60, 15)
    assert "http://alice:***@prom.test" in str(caught.value)
    assert "S3CRET" not in str(caught.value)
