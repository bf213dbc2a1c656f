"""Making a plan's HTTP probes: one request per probe, to its declared URL only, timed from
sending to the whole body read (curl's ``time_total``). The client is injected (tests use a
local server or ``httpx.MockTransport``); the verdicts come from
:mod:`capplan.policy.probe_status`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import httpx

from capplan.plan.probes import Probe
from capplan.policy.probe_status import ProbeResult, classify, failed

__all__ = ["MAX_PARALLEL", "run_probes"]

#: Probes made at the same time.
MAX_PARALLEL = 8


def _probe(
    name: str, probe: Probe, client: httpx.Client, clock: Callable[[], float]
) -> ProbeResult:
    start = clock()
    try:
        response = client.request(
            probe.method,
            probe.url,
            timeout=httpx.Timeout(probe.timeout_seconds),
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        return failed(name, probe, f"no answer within {probe.timeout} (timeout)", clock() - start)
    except httpx.ConnectError as exc:
        return failed(name, probe, f"cannot connect: {exc or 'connection refused'}", None)
    except httpx.HTTPError as exc:
        return failed(name, probe, f"request failed: {exc}", None)
    return classify(name, probe, response.status_code, clock() - start)


def _all(
    probes: Mapping[str, Probe], client: httpx.Client, clock: Callable[[], float]
) -> list[ProbeResult]:
    # at the same time, so that a few probes timing out take one timeout, not the sum
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, max(1, len(probes)))) as pool:
        futures = [pool.submit(_probe, n, p, client, clock) for n, p in probes.items()]
        return [f.result() for f in futures]


def run_probes(
    probes: Mapping[str, Probe],
    client: httpx.Client | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> list[ProbeResult]:
    """Make every probe of ``probes`` (at most :data:`MAX_PARALLEL` at once) and return their
    results in plan order."""
    if client is None:
        with httpx.Client(headers={"User-Agent": "capplan-probe"}) as own:
            return _all(probes, own, clock)
    return _all(probes, client, clock)
