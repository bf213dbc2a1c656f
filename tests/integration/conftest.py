"""A small local HTTP server thread that plays a Prometheus server, well or badly behaved.

``fake_prometheus(behave)`` starts one on a free loopback port; ``behave(handler)`` writes
the answer (or never does): ``handler.echo()`` answers as a well-behaved server would,
``handler.answer(body)``, ``handler.redirect(location)`` and ``handler.wait()`` are the
pieces of a bad one. Every request's path and headers are recorded in ``seen``. At the
end of the test ``stop`` is set, so that a handler still waiting or dripping returns.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

Behave = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeHTTPServer

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self.server.fake.seen.append((self.path, dict(self.headers.items())))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
            self.server.fake.behave(self)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass

    def params(self) -> dict[str, str]:
        query = urlsplit(self.path).query or self.body.decode()
        return {k: v[0] for k, v in parse_qs(query).items()}

    def answer(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.answer(b"", status, {"Location": location})

    @staticmethod
    def matrix(series: list[tuple[dict[str, str], list[list[object]]]]) -> bytes:
        """A successful query_range answer of ``(labels, [[time, "value"], ...])`` series."""
        result = [{"metric": labels, "values": values} for labels, values in series]
        data = {"resultType": "matrix", "result": result}
        return json.dumps({"status": "success", "data": data}).encode()

    def echo(self) -> None:
        """Answer as a well-behaved server: ``up{job="api"}`` = 1 at every step asked."""
        p = self.params()
        start, end, step = float(p["start"]), float(p["end"]), float(p["step"])
        count = int((end - start) / step) + 1
        values: list[list[object]] = [[start + i * step, "1"] for i in range(count)]
        self.answer(self.matrix([({"__name__": "up", "job": "api"}, values)]))

    def wait(self, seconds: float | None = None) -> bool:
        """Sleep until the test ends (or ``seconds``); True when the test ended."""
        return self.server.fake.stop.wait(seconds)


class FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakePrometheus


@dataclass
class FakePrometheus:
    behave: Behave
    url: str = ""
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def fake_prometheus() -> Iterator[Callable[[Behave], FakePrometheus]]:
    servers: list[tuple[FakeHTTPServer, FakePrometheus]] = []

    def start(behave: Behave) -> FakePrometheus:
        server = FakeHTTPServer(("127.0.0.1", 0), Handler)
        fake = FakePrometheus(behave, url=f"http://127.0.0.1:{server.server_address[1]}")
        server.fake = fake
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append((server, fake))
        return fake

    yield start
    for server, fake in servers:
        fake.stop.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def drip() -> Callable[[float], Behave]:
    """``drip(interval)``: headers at once, then one byte every ``interval`` seconds, so that
    no read times out while the answer never ends."""

    def make(interval: float) -> Behave:
        def behave(handler: Handler) -> None:
            handler.send_response(200)
            handler.send_header("Content-Length", "1000000")
            handler.end_headers()
            while not handler.wait(interval):
                handler.wfile.write(b" ")
                handler.wfile.flush()

        return behave

    return make
