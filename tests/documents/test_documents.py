"""Each example reproduces its capacity document figure by figure: every figure the audit
files list as reproduced matches, every inconsistency of a document pins both figures, and
each file's counts are the counts of its items."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.documents.audit import KINDS, ROOT, STATUSES, Audit, audits, close, figure
from typer.testing import CliRunner

from capplan.cli import app

AUDITS = audits()
QUERIES = ("plan", "total", "event", "tier", "field", "command")


def _items(*statuses: str) -> list[Any]:
    return [
        pytest.param(audit, item, id=f"{audit.path.stem}:{item['id']}")
        for audit in AUDITS
        for item in audit.items
        if item["status"] in statuses
    ]


def test_every_audit_names_an_example() -> None:
    examples = {p.name for p in (ROOT / "examples").glob("*.yaml")}
    assert AUDITS
    assert {a.example.name for a in AUDITS} <= examples


@pytest.mark.parametrize("audit", AUDITS, ids=lambda a: a.path.stem)
def test_audit_is_well_formed_and_counted(audit: Audit) -> None:
    ids = [item["id"] for item in audit.items]
    assert len(ids) == len(set(ids)), "item ids must be unique"
    for item in audit.items:
        where = f"{audit.path.name}: {item.get('id')}"
        assert item["status"] in STATUSES, where
        assert item["kind"] in KINDS, where
        assert item.get("says"), f"{where}: 'says' quotes the document"
        queries = [q for q in QUERIES if q in item]
        if item["status"] in ("reproduced", "inconsistent"):
            assert len(queries) == 1, f"{where}: one of {QUERIES}"
            if queries != ["command"]:
                assert "document" in item, f"{where}: the document's figure"
        if item["status"] == "inconsistent":
            assert item.get("arithmetic"), f"{where}: the arithmetic that shows it"
            assert "capplan" in item or queries == ["command"], f"{where}: capplan's figure"
        if item["status"] in ("absent", "out_of_scope"):
            assert item.get("reason"), f"{where}: why"
    assert audit.counts == audit.tally()


class _Answer(BaseHTTPRequestHandler):
    """Answers every GET with the test server's ``status`` after its ``delay`` (seconds)."""

    status = 200
    delay = 0.0

    def do_GET(self) -> None:
        time.sleep(self.delay)
        try:
            self.send_response(self.status)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")
        except OSError:  # the client gave up
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _server(spec: dict[str, Any] | None) -> Iterator[str]:
    """A local HTTP server for an item's ``server: {status, delay}`` (its URL is ``{server}``
    in the command), so a probe item checks a real answer; nothing without ``server``."""
    if spec is None:
        yield ""
        return
    handler = type(
        "Answer",
        (_Answer,),
        {"status": int(spec.get("status", 200)), "delay": float(spec.get("delay", 0.0))},
    )
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@cache
def _invoke(args: tuple[str, ...]) -> tuple[int, str]:
    """A command that writes no file and asks no server gives the same answer each time: the
    items quoting one forecast or report run it once."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(("audit", "item"), _items("reproduced", "inconsistent"))
def test_figure(audit: Audit, item: dict[str, Any], tmp_path: Path) -> None:
    if "command" in item:
        with _server(item.get("server")) as url:
            args = [
                str(a).format(example=audit.example, tmp=tmp_path, server=url)
                for a in item["command"]
            ]
            if "server" in item or any("{tmp}" in str(a) for a in item["command"]):
                result = CliRunner().invoke(app, args)
                code, output = result.exit_code, result.output
            else:
                code, output = _invoke(tuple(args))
        assert code == int(item.get("exit", 0)), output
        text = output + "".join(
            p.read_text(encoding="utf-8") for p in sorted(tmp_path.rglob("*")) if p.is_file()
        )
        for needle in item["contains"]:
            assert str(needle) in text, f"{item['id']}: {needle!r} not in the output"
        return
    got = figure(audit, item)
    tolerance = item.get("tolerance")
    if item["status"] == "reproduced":
        assert close(got, float(item["document"]), tolerance), (
            f"{item['id']}: capplan {got!r}, the document {item['document']!r}"
        )
    else:
        assert close(got, float(item["capplan"]), tolerance), (
            f"{item['id']}: capplan {got!r}, pinned {item['capplan']!r}"
        )
        assert not close(got, float(item["document"]), tolerance), (
            f"{item['id']}: capplan now agrees with the document ({got!r}): reproduced?"
        )
