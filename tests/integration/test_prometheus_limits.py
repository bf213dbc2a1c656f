"""The Prometheus client against a local server that misbehaves: each misbehaviour is a clear
SourceError within its deadline (small deadlines here), and a store is left untouched."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from capplan.cli import app
from capplan.data import Store, ingest_files
from capplan.data.prometheus import (
    PrometheusLimits,
    PrometheusOptions,
    PrometheusSource,
)
from capplan.errors import SourceError

ROOT = Path(__file__).resolve().parents[2]
Handler = Any  # the fake server's request handler (tests/integration/conftest.py)
Start = Callable[[Callable[[Handler], None]], Any]

# small limits: every misbehaviour must end well within a second
FAST = PrometheusLimits(connect_timeout=0.5, read_timeout=0.3, deadline=0.5, retries=0)


def source(url: str, limits: PrometheusLimits = FAST, **options: object) -> PrometheusSource:
    client = PrometheusOptions(limits=limits, **options).client(url)  # type: ignore[arg-type]
    return PrometheusSource(client, limits=limits, sleep=lambda _: None)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    start = time.perf_counter()
    yield
    took = time.perf_counter() - start
    assert took < seconds, f"took {took:.2f} s, more than {seconds} s"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# misbehaviours ---------------------------------------------------------------------------------
def endless(handler: Handler) -> None:
    """A body that never ends (chunked, 64 KiB at a time)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"[" * 65_536
    while not handler.wait(0):
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def huge_length(handler: Handler) -> None:
    """Announces 8 GB, then sends nothing."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(8 * 1024**3))
    handler.end_headers()
    handler.wait()


def silent(handler: Handler) -> None:
    """Reads the request and never answers."""
    handler.wait()


def too_many_points(handler: Handler) -> None:
    """50,000 points from the start asked, a second apart, whatever the step asked."""
    start = float(handler.params()["start"])
    values: list[list[object]] = [[start + i, "1"] for i in range(50_000)]
    handler.answer(handler.matrix([({"__name__": "up"}, values)]))


# tests -----------------------------------------------------------------------------------------
def test_an_endless_body_stops_at_the_size_cap(fake_prometheus: Start) -> None:
    fake = fake_prometheus(endless)
    limits = PrometheusLimits(deadline=5, retries=0, max_bytes=1024 * 1024)
    before = _rss_mb()
    with within(3), pytest.raises(SourceError, match=r"more than the 1 MiB allowed"):
        source(fake.url, limits).query_range("up", 0, 60, 15)
    assert _rss_mb() - before < 100


def test_an_announced_huge_body_is_refused_before_reading(fake_prometheus: Start) -> None:
    fake = fake_prometheus(huge_length)
    limits = PrometheusLimits(deadline=5, retries=0, max_bytes=1024 * 1024)
    with within(1), pytest.raises(SourceError, match=r"Content-Length 8,589,934,592 bytes"):
        source(fake.url, limits).query_range("up", 0, 60, 15)


def test_a_dripping_body_stops_at_the_deadline(
    fake_prometheus: Start, drip: Callable[[float], Any]
) -> None:
    fake = fake_prometheus(drip(0.05))
    with (
        within(0.5 + 0.3),
        pytest.raises(SourceError, match=r"no complete answer within the 0.5 s deadline"),
    ):
        source(fake.url).query_range("up", 0, 60, 15)


def test_the_deadline_holds_when_each_drip_is_shorter_than_the_read_timeout(
    fake_prometheus: Start,
    drip: Callable[[float], Any],
) -> None:
    # a byte every 0.4 s, read timeout 5 s: only the deadline's watchdog can stop at 0.5 s
    fake = fake_prometheus(drip(0.4))
    limits = PrometheusLimits(read_timeout=5, deadline=0.5, retries=0)
    with within(0.5 + 0.2), pytest.raises(SourceError, match=r"0.5 s deadline"):
        source(fake.url, limits).query_range("up", 0, 60, 15)


def test_a_server_that_never_answers_times_out_and_is_retried(fake_prometheus: Start) -> None:
    fake = fake_prometheus(silent)
    limits = PrometheusLimits(read_timeout=0.2, deadline=5, retries=2)
    with (
        within(3 * 0.2 + 0.4),
        pytest.raises(SourceError, match=r"failed 3 times \(last: nothing read for 0.2 s\)"),
    ):
        source(fake.url, limits).query_range("up", 0, 60, 15)
    assert len(fake.seen) == 3


def test_a_silent_server_stops_at_the_deadline_before_the_read_timeout(
    fake_prometheus: Start,
) -> None:
    fake = fake_prometheus(silent)
    limits = PrometheusLimits(read_timeout=10, deadline=0.3, retries=1)
    with within(2 * 0.3 + 0.3), pytest.raises(SourceError, match=r"failed 2 times.*0.3 s deadline"):
        source(fake.url, limits).query_range("up", 0, 60, 15)


def test_too_many_points_are_refused(fake_prometheus: Start) -> None:
    fake = fake_prometheus(too_many_points)
    with (
        within(2),
        pytest.raises(SourceError, match=r"50,000 points, more than the 8 allowed \(2 x the 4"),
    ):
        source(fake.url, PrometheusLimits(retries=0)).query_range("up", 0, 45, 15)


def test_a_redirect_loop_is_a_clear_error(fake_prometheus: Start) -> None:
    def loop(handler: Handler) -> None:
        handler.redirect("/b" if handler.path.startswith("/api") or handler.path == "/a" else "/a")

    fake = fake_prometheus(loop)
    with within(1), pytest.raises(SourceError, match=r"redirects in a loop: .*/b -> .*/a -> .*/b"):
        source(fake.url).query_range("up", 0, 60, 15)


def test_too_many_redirects(fake_prometheus: Start) -> None:
    def onwards(handler: Handler) -> None:
        handler.redirect(f"/hop{len(handler.server.fake.seen)}")

    fake = fake_prometheus(onwards)
    limits = PrometheusLimits(deadline=2, retries=0, max_redirects=3)
    with within(1), pytest.raises(SourceError, match=r"redirected more than 3 times"):
        source(fake.url, limits).query_range("up", 0, 60, 15)
    assert len(fake.seen) == 4


def test_a_same_origin_redirect_keeps_credentials_and_headers(fake_prometheus: Start) -> None:
    def moved(handler: Handler) -> None:
        if handler.path.startswith("/api"):
            handler.redirect("/prometheus" + handler.path, 307)
        else:
            handler.echo()

    fake = fake_prometheus(moved)
    host = fake.url.removeprefix("http://")
    src = source(f"http://alice:S3CRET@{host}", headers={"X-Scope-OrgID": "team"})
    assert src.query_range("up", 0, 60, 15).values.size == 5
    (_, first), (_, second) = fake.seen
    assert first["Authorization"] == second["Authorization"]
    assert first["Authorization"].startswith("Basic ")
    assert second["X-Scope-OrgID"] == "team"


@pytest.mark.parametrize(
    "options",
    [
        {"username": "alice", "password": "S3CRET", "headers": {"X-Scope-OrgID": "team"}},
        {"bearer_token": "S3CRET", "headers": {"X-Scope-OrgID": "team", "X-Api-Key": "k"}},
    ],
)
def test_a_redirect_to_another_origin_drops_credentials_and_headers(
    fake_prometheus: Start, options: dict[str, object]
) -> None:
    other = fake_prometheus(lambda h: h.echo())

    def away(handler: Handler) -> None:
        handler.redirect(other.url + handler.path, 307)

    fake = fake_prometheus(away)
    assert source(fake.url, **options).query_range("up", 0, 60, 15).values.size == 5
    ((_, sent),), ((_, forwarded),) = fake.seen, other.seen
    assert "Authorization" in sent
    assert sent["X-Scope-OrgID"] == "team"
    kept = {k.lower() for k in forwarded}
    assert not kept & {"authorization", "x-scope-orgid", "x-api-key", "cookie"}


def test_the_cli_refuses_too_many_points_and_leaves_the_store_untouched(
    fake_prometheus: Start, tmp_path: Path
) -> None:
    store = tmp_path / "s.duckdb"
    with Store(store) as db:
        ingest_files(db, [ROOT / "examples" / "metrics" / "apm_history.csv"])
        before = [(s.name, s.points) for s in db.list_series()]
    fake = fake_prometheus(too_many_points)
    args = ["ingest", "--prometheus", fake.url, "--query", "up", "--since", "15m", "--step", "15s"]
    start = time.perf_counter()
    result = CliRunner().invoke(app, [*args, "--store", str(store)])
    assert time.perf_counter() - start < 5
    assert result.exit_code == 2, result.output
    assert "50,000 points, more than the 122 allowed" in result.stderr
    with Store(store, read_only=True) as db:
        assert [(s.name, s.points) for s in db.list_series()] == before


def test_cli_flags_and_environment_set_the_limits(
    fake_prometheus: Start, drip: Callable[[float], Any], tmp_path: Path
) -> None:
    fake = fake_prometheus(drip(0.05))
    store = tmp_path / "s.duckdb"
    args = ["ingest", "--prometheus", fake.url, "--query", "up", "--store", str(store)]
    env = {"CAPPLAN_PROMETHEUS_DEADLINE": "0.4", "CAPPLAN_PROMETHEUS_RETRIES": "0"}
    start = time.perf_counter()
    result = CliRunner().invoke(app, args, env=env)
    assert time.perf_counter() - start < 2
    assert result.exit_code == 2
    assert "failed 1 time (last: no complete answer within the 0.4 s deadline)" in result.stderr
    result = CliRunner().invoke(
        app, [*args, "--prometheus-deadline", "0.3", "--prometheus-retries", "1"], env=env
    )
    assert "failed 2 times (last: no complete answer within the 0.3 s deadline)" in result.stderr
    assert not store.exists()


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--prometheus-deadline", "0", "deadline must be a number of seconds above 0"),
        ("--prometheus-read-timeout", "nan", "read timeout must be a number of seconds"),
        ("--prometheus-retries", "-1", "retries must be 0 to 100"),
        ("--prometheus-max-bytes", "lots", "must be a size like 64MiB"),
        ("--prometheus-max-bytes", "12", "at least 1024"),
        ("--prometheus-points-ratio", "0.5", "points ratio must be a number from 1"),
    ],
)
def test_bad_limits_are_usage_errors(flag: str, value: str, expected: str) -> None:
    args = ["ingest", "--prometheus", "http://127.0.0.1:9", "--query", "up", flag, value]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert expected in result.stderr


def test_limits_reach_forecast_and_check(fake_prometheus: Start, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: api\ndrivers: {users: {initial: 1}}\n"
        "metrics:\n  up: {unit: '%', query: 'up'}\n"
        "thresholds:\n  up: {metric: up, warning: 44, critical: 60}\n"
    )
    fake = fake_prometheus(too_many_points)
    common = ["--prometheus", fake.url, "--prometheus-points-ratio", "1.5", "--since", "1h"]
    result = CliRunner().invoke(app, ["forecast", "--plan", str(plan), "--horizon", "1h", *common])
    assert result.exit_code == 2
    assert "1.5 x the 241 asked for" in result.stderr
    result = CliRunner().invoke(app, ["check", str(plan), *common])
    assert result.exit_code == 3
    assert "1.5 x the 241 asked for" in result.stderr


def test_a_json_bomb_of_nesting_is_a_clear_error(fake_prometheus: Start) -> None:
    fake = fake_prometheus(lambda h: h.answer(b"[" * 100_000 + b"]" * 100_000))
    with within(2), pytest.raises(SourceError, match="not JSON"):
        source(fake.url, PrometheusLimits(retries=0)).query_range("up", 0, 60, 15)


def test_a_well_behaved_server_still_works(fake_prometheus: Start) -> None:
    fake = fake_prometheus(lambda h: h.echo())
    frame = source(fake.url).query_range("up", 0, 3600, 60)
    assert frame.names == ('up{job="api"}',)
    assert frame.values.size == 61
    assert json.loads(json.dumps(fake.seen[0][1]))["Accept-Encoding"] == "gzip, deflate"
