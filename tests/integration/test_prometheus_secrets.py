"""No Prometheus secret on any surface: the service started with ``http://alice:S3CRET@...``
(or a password or bearer token option) answers every route, refreshes against a server
that works, fails, loops and hangs, and neither a response, an error message nor a log line
holds the secret; the CLI's output and what it stores hold none either."""

from __future__ import annotations

import base64
import itertools
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from capplan.cli import app as cli_app
from capplan.cli.serve import build_settings
from capplan.data import Store
from capplan.data.prometheus import PrometheusLimits, PrometheusOptions
from capplan.web import Settings, create_app

Handler = Any  # the fake server's request handler (tests/integration/conftest.py)
Start = Callable[[Callable[[Handler], None]], Any]

SECRET = "S3CRET"
PLAN = """system: api
drivers: {users: {initial: 1}}
metrics:
  up: {unit: '%', query: 'up'}
thresholds:
  up: {metric: up, warning: 44, critical: 60}
"""
LIMITS = PrometheusLimits(connect_timeout=0.5, read_timeout=0.3, deadline=0.5, retries=0)


def secrets_in(text: str) -> list[str]:
    """Every form the secret could leak in: plain, percent-encoded, or inside basic auth."""
    forms = [SECRET, quote(SECRET), base64.b64encode(f"alice:{SECRET}".encode()).decode()]
    return [form for form in forms if form in text]


class Server:
    """A Prometheus that wants ``expected`` in Authorization and behaves as ``mode`` says."""

    def __init__(self, expected: str) -> None:
        self.expected = expected
        self.mode = "ok"
        self.authorized = 0

    def __call__(self, handler: Handler) -> None:
        if handler.headers.get("Authorization") != self.expected:
            handler.answer(b"unauthorized", 401, {"Content-Type": "text/plain"})
            return
        self.authorized += 1
        if self.mode == "ok":
            handler.echo()
        elif self.mode == "fail":
            handler.answer(b"overloaded", 503)
        elif self.mode == "loop":
            handler.redirect(handler.path)
        elif self.mode == "bad":
            handler.answer(b'{"status": "success", "data": {"resultType": "matrix", "result": 5}}')
        elif self.mode == "hang":
            handler.wait()


def routes(app: FastAPI) -> Iterator[str]:
    """The path of every GET route of the app (static files left out)."""

    def walk(items: list[Any], prefix: str) -> Iterator[str]:
        for route in items:
            if hasattr(route, "original_router"):
                inner = getattr(route.include_context, "prefix", "") or ""
                yield from walk(route.original_router.routes, prefix + inner)
            elif "GET" in (getattr(route, "methods", None) or ()):
                yield prefix + route.path

    yield from (p for p in walk(app.routes, "") if not p.startswith("/static"))


def crawl(client: TestClient, app: FastAPI) -> dict[str, str]:
    """Every GET route with every plan and series filled in: ``{url: headers and body}``."""
    plans = [p["name"] for p in client.get("/api/plans").json()]
    series = [s["series"] for s in client.get("/api/series").json()] or ["up"]
    fill = {"name": plans, "series": [quote(s, safe="") for s in series]}
    fill["kind"] = ["prometheus-rules", "grafana"]
    seen: dict[str, str] = {}
    for path in routes(app):
        names = re.findall(r"{(\w+)(?::\w+)?}", path)
        for values in itertools.product(*(fill.get(n, ["x"]) for n in names)):
            url = path
            for name, value in zip(names, values, strict=True):
                url = re.sub(r"{" + name + r"(?::\w+)?}", value, url)
            extra = [f"{url}?series={s}" for s in fill["series"]] if url.endswith("view") else []
            for one in [url, *extra]:
                response = client.get(one)
                assert response.status_code < 500, (one, response.text)
                seen[one] = f"{response.headers}\n{response.text}"
    assert "/api/status" in seen
    assert "/metrics" in seen
    return seen


@pytest.mark.parametrize(
    ("url_user", "options", "authorization"),
    [
        ("alice:S3CRET@", PrometheusOptions(limits=LIMITS), "basic"),
        ("", PrometheusOptions(username="alice", password=SECRET, limits=LIMITS), "basic"),
        ("", PrometheusOptions(bearer_token=SECRET, limits=LIMITS), f"Bearer {SECRET}"),
    ],
    ids=["url", "password-option", "bearer-token"],
)
def test_no_secret_on_any_surface_of_the_service(
    fake_prometheus: Start,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    url_user: str,
    options: PrometheusOptions,
    authorization: str,
) -> None:
    if authorization == "basic":
        authorization = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
    server = Server(authorization)
    fake = fake_prometheus(server)
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "api.yaml").write_text(PLAN, encoding="utf-8")
    settings = Settings(
        plans_dir=plans,
        store=tmp_path / "store.duckdb",
        refresh_seconds=0,
        prometheus_url=fake.url.replace("http://", f"http://{url_user}"),
        prometheus_options=options,
        history="1h",
        forecast_horizon="1h",
        allowed_hosts=("testserver",),
        pull_timeout_seconds=5,
    )
    assert not secrets_in(repr(options))
    caplog.set_level(logging.DEBUG)
    app = create_app(settings)
    surfaces: dict[str, str] = {}
    with TestClient(app) as client:
        state = app.state.capplan
        assert server.authorized >= 1  # the credentials did reach Prometheus
        series = {s["series"] for s in client.get("/api/series").json()}
        assert series == {'up{job="api"}'}
        surfaces.update({f"ok {k}": v for k, v in crawl(client, app).items()})
        for mode in ("fail", "loop", "bad", "hang"):
            server.mode = mode
            state.refresh()
            status = client.get("/api/status").json()
            assert status["status"] == "degraded", (mode, status)
            assert any(r.startswith("prometheus: ") for r in status["reasons"]), (mode, status)
            surfaces.update({f"{mode} {k}": v for k, v in crawl(client, app).items()})
    shown_url = str(surfaces["fail /api/status"])
    assert (
        f"http://127.0.0.1:{fake.url.rsplit(':', 1)[1]}" in shown_url or "alice:***@" in shown_url
    )
    leaks = {where: secrets_in(text) for where, text in surfaces.items() if secrets_in(text)}
    assert not leaks, f"the secret is shown by {sorted(leaks)[:5]}"
    lines = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert lines, "nothing was logged"
    assert not [line for line in lines if secrets_in(line)]
    assert not secrets_in(caplog.text)


def test_serve_options_keep_the_credentials_out_of_the_url(tmp_path: Path) -> None:
    settings = build_settings(
        tmp_path, None, "127.0.0.1", 8080, None, 0, "http://alice:S3CRET@prom:9090", "7d", 1000
    )
    assert settings.prometheus_url == "http://prom:9090"
    assert settings.prometheus_options.username == "alice"
    assert settings.prometheus_options.password == SECRET
    assert not secrets_in(repr(settings))


def test_the_cli_shows_and_stores_no_secret(fake_prometheus: Start, tmp_path: Path) -> None:
    basic = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
    server = Server(basic)
    fake = fake_prometheus(server)
    url = fake.url.replace("http://", "http://alice:S3CRET@")
    store = tmp_path / "s.duckdb"
    args = ["ingest", "--prometheus", url, "--query", "up", "--since", "1h", "--store", str(store)]
    ok = CliRunner().invoke(cli_app, args)
    assert ok.exit_code == 0, ok.output
    outputs = [ok.output]
    fast = ["--prometheus-deadline", "0.5", "--prometheus-retries", "0"]
    for mode in ("fail", "loop", "bad", "hang"):
        server.mode = mode
        result = CliRunner().invoke(cli_app, [*args, *fast])
        assert result.exit_code == 2, (mode, result.output)
        outputs.append(result.output)
    server.mode = "ok"
    for command in (["forecast", "--horizon", "1h"], ["check"]):
        plan = tmp_path / "plan.yaml"
        plan.write_text(PLAN, encoding="utf-8")
        cmd = [command[0], *([str(plan)] if command[0] == "check" else ["--plan", str(plan)])]
        result = CliRunner().invoke(cli_app, [*cmd, *command[1:], "--prometheus", url, *fast])
        assert result.exit_code in (0, 1), result.output
        outputs.append(result.output)
    bad_url = CliRunner().invoke(
        cli_app, ["ingest", "--prometheus", "ftp://alice:S3CRET@h", "--query", "up"]
    )
    assert bad_url.exit_code == 2
    outputs.append(bad_url.output)
    assert not [text for text in outputs if secrets_in(text)]
    with Store(store, read_only=True) as db:
        stored = repr(db.list_series()) + repr(db._con.execute("select * from ingests").fetchall())
    assert not secrets_in(stored)
