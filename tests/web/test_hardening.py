"""Service hardening: the Host allow-list, relative redirects, security headers on every
answer, no inline script, a symlink out of the plans directory skipped (not the listing),
the request time budget and the nesting bound of request bodies."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import replace
from pathlib import Path

import plotly.graph_objects as go
import pytest
from fastapi.testclient import TestClient

from capplan.web import Settings, create_app
from capplan.web.charts import _div
from capplan.web.docs import inline_script_hashes
from capplan.web.security import check_nesting, host_name, relative_location
from capplan.web.settings import LOOPBACK_HOSTS

PATHS = [
    "/",
    "/plans/svc",
    "/plans/svc/scenarios",
    "/forecasts",
    "/forecasts/view?series=avg_cpu_usage",
    "/api/plans",
    "/api/status",
    "/api/plans/nope",
    "/metrics",
    "/static/style.css",
    "/static/charts.js",
]


@pytest.fixture
def loopback(settings: Settings) -> Settings:
    """The default allow-list: loopback names only."""
    return replace(settings, allowed_hosts=LOOPBACK_HOSTS)


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST:8080", "127.0.0.1", "127.0.0.1:80", "[::1]:8080", "::1"]
)
def test_loopback_hosts_allowed(loopback: Settings, host: str) -> None:
    with TestClient(create_app(loopback)) as client:
        assert client.get("/api/status", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "attacker.com:8080", "localhost.evil.example", "10.0.0.1", ""]
)
def test_other_hosts_refused(loopback: Settings, host: str) -> None:
    with TestClient(create_app(loopback)) as client:
        for path in ("/api/status", "/", "/api/plans/svc", "/metrics"):
            r = client.get(path, headers={"host": host})
            assert r.status_code == 400, (host, path)
            assert r.json()["error"] == "bad_host"
            assert r.headers["x-frame-options"] == "DENY"
        r = client.put("/api/plans/x", content="system: x", headers={"host": host})
        assert r.status_code == 400


def test_allowed_host_names_and_wildcards(settings: Settings) -> None:
    named = replace(settings, allowed_hosts=("capplan.internal", "*.example.com"))
    with TestClient(create_app(named)) as client:
        for host, status in (
            ("capplan.internal", 200),
            ("capplan.internal.:443", 200),
            ("a.example.com", 200),
            ("example.com", 400),
            ("localhost", 400),
        ):
            assert client.get("/api/status", headers={"host": host}).status_code == status
    with TestClient(create_app(replace(settings, allowed_hosts=("*",)))) as client:
        assert client.get("/api/status", headers={"host": "anything"}).status_code == 200


def test_host_name() -> None:
    assert host_name("[::1]:8080") == "::1"
    assert host_name("LocalHost.:80") == "localhost"
    assert host_name("::1") == "::1"
    assert host_name(" example.com ") == "example.com"


def test_redirects_are_relative(client: TestClient) -> None:
    r = client.get("/api/plans/", headers={"host": "localhost:8080"}, follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "/api/plans"
    assert relative_location("http://evil.example:80/a/b?x=1#f") == "/a/b?x=1#f"
    assert relative_location("/already?relative") == "/already?relative"
    assert relative_location("https://host") == "/"


def test_security_headers_everywhere(client: TestClient) -> None:
    for path in PATHS:
        r = client.get(path)
        assert r.status_code in (200, 404), path
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] == "no-referrer", path
        policy = r.headers["content-security-policy"]
        assert "script-src 'self';" in policy, path
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-eval" not in policy
        assert len(r.headers.get_list("x-content-type-options")) == 1, path
    big = client.post("/api/plans/validate", content="x" * 70_000)
    assert big.status_code == 413
    assert big.headers["x-frame-options"] == "DENY"


def test_docs_pages_are_offline_and_allow_only_their_own_inline_script(client: TestClient) -> None:
    """/docs and /redoc load Swagger UI and ReDoc from the service; the one inline script of
    a docs page is allowed by its hash, not by 'unsafe-inline'."""
    for path, asset in (
        ("/docs", "/static/docs/swagger-ui-bundle.js"),
        ("/docs/oauth2-redirect", None),
        ("/redoc", "/static/docs/redoc.standalone.js"),
    ):
        r = client.get(path)
        assert r.status_code == 200, path
        html = r.text
        assert "https://" not in html, path  # nothing from outside
        policy = r.headers["content-security-policy"]
        assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0], policy
        assert "http" not in policy, policy
        assert "frame-ancestors 'none'" in policy
        inline = inline_script_hashes(html)
        assert len(inline) == (0 if path == "/redoc" else 1), path
        script_src = policy.split("script-src ", 1)[1].split(";")[0].split()
        assert script_src == ["'self'", *inline], policy
        if asset is not None:
            assert f'src="{asset}"' in html, path
            js = client.get(asset)
            assert js.status_code == 200, asset
            assert js.headers["content-type"].startswith("text/javascript"), asset
    assert client.get("/static/docs/swagger-ui.css").status_code == 200
    redoc = client.get("/static/docs/redoc.standalone.js").content
    assert b"cdn.redoc.ly" not in redoc  # its logo, the one outside address it loads
    assert len(redoc) > 500_000


def test_pages_have_no_inline_script(client: TestClient) -> None:
    """Every <script> either loads a file of the service or holds JSON data, so the policy
    ``script-src 'self'`` lets the pages work (checked in Chromium by tests/e2e)."""
    for path in PATHS[:5]:
        page = client.get(path).text
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert re.fullmatch(
                r'<script (src="/static/[a-z.]+\.js"( defer)?|type="application/json" id="[^"]+")>',
                tag,
            ), (path, tag)
    assert page.count('type="application/json"') == 1  # the forecast chart


def test_chart_data_cannot_close_its_block() -> None:
    title = "</script><script>alert(1)</script> & <!--"
    html = _div(go.Figure(layout={"title": {"text": title}}))
    assert html.count("</script>") == 1  # its own end only
    block = re.search(r'<script type="application/json" id="[^"]+">(.*)</script>', html)
    assert block is not None
    assert json.loads(block.group(1))["layout"]["title"]["text"] == title


def test_symlink_out_of_plans_dir_skips_that_plan(
    client: TestClient, plans_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (plans_dir / "link.yaml").symlink_to(plans_dir.parent / "secret.yaml")
    with caplog.at_level(logging.WARNING, logger="capplan.web"):
        r = client.get("/api/plans")
    assert r.status_code == 200
    assert {p["name"] for p in r.json()} == {"apm", "the_bot", "svc"}
    assert "link.yaml points outside the plans directory; skipped" in caplog.text
    index = client.get("/")
    assert index.status_code == 200
    assert "the_bot" in index.text
    assert "outside" not in client.get("/api/plans").text
    assert client.get("/api/plans/link").status_code == 404
    client.app.state.capplan.refresh()  # type: ignore[attr-defined]
    body = client.get("/api/status").json()
    assert body["skipped_plans"] == ["link"]
    assert "plans: link.yaml points outside the plans directory; skipped" in body["reasons"]


def test_request_over_budget_is_503(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A projection that outlasts the request budget is answered 503 at the budget; the
    next request is not held up."""

    def slow(*args: object, **kwargs: object) -> None:
        time.sleep(0.5)
        raise AssertionError("not reached in time")

    monkeypatch.setattr("capplan.web.state.run_plan", slow)
    with TestClient(create_app(replace(settings, request_seconds=0.1))) as client:
        t0 = time.perf_counter()
        r = client.get("/api/plans/svc/projection")
        assert time.perf_counter() - t0 < 0.4
        assert r.status_code == 503
        assert r.json() == {
            "error": "over_budget",
            "message": "computing plan 'svc' did not finish within the 0.1 s budget of a "
            "request (the service is busy, or the request asks for too much)",
            "issues": [],
        }
        assert client.get("/plans/svc").status_code == 503
        assert client.get("/api/status").status_code == 200


def test_nesting_bound() -> None:
    check_nesting(b'{"a": [[1, 2], {"b": [3]}], "c": "[[[[ in a string ]]]]"}', "f")
    check_nesting(b"[" * 64 + b"]" * 64, "f")
    with pytest.raises(Exception, match=r"f:3 nests \[ \] and \{ \} deeper than 64 levels"):
        check_nesting(b"a:\n b:\n  " + b"{x: " * 65, "f")


def test_deep_bodies_refused_quickly(client: TestClient, plans_dir: Path) -> None:
    for body in (b"[" * 60_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000):
        t0 = time.perf_counter()
        r = client.post("/api/plans/validate", content=body)
        assert time.perf_counter() - t0 < 0.5
        assert r.status_code == 422
        assert r.json()["issues"][0]["file"] == "<request>"
        r = client.put("/api/plans/deep", content=body)
        assert r.status_code == 422
    assert not (plans_dir / "deep.yaml").exists()


def test_plans_in_folders_are_found(client: TestClient, plans_dir: Path) -> None:
    """Plans in folders of --plans are served (3 levels deep, hidden folders skipped); a
    name already taken higher up, or a link out of the folder, is not."""
    svc = (plans_dir / "svc.yaml").read_text()
    (plans_dir / "team" / "checks").mkdir(parents=True)
    (plans_dir / "team" / "checks" / "nested.yaml").write_text(svc)
    (plans_dir / "team" / "apm.yaml").write_text("system: a shadowed copy\n")
    (plans_dir / ".git").mkdir()
    (plans_dir / ".git" / "hidden.yaml").write_text(svc)
    (plans_dir / "a" / "b" / "c").mkdir(parents=True)
    (plans_dir / "a" / "b" / "c" / "deep.yaml").write_text(svc)
    (plans_dir / "team" / "out.yaml").symlink_to(plans_dir.parent / "secret.yaml")
    names = {p["name"] for p in client.get("/api/plans").json()}
    assert names == {"apm", "the_bot", "svc", "nested"}
    r = client.get("/api/plans/nested")
    assert r.status_code == 200, r.text
    assert client.get("/api/plans/apm").json()["system"] != "a shadowed copy"
    for name in ("hidden", "deep", "out"):
        assert client.get(f"/api/plans/{name}").status_code == 404, name
    assert client.get("/plans/nested").status_code == 200
