"""The verdict of one HTTP probe (``probes:`` in a plan): ok, slow or failing, and the check
status it gives. Pure: the requests are made by :mod:`capplan.data.probing`.

============  =================================================  ====================
verdict       when                                               check status
============  =================================================  ====================
ok            an expected status, within the latency limit       ok
slow          an expected status, slower than ``latency``        ``slow_severity``
failing       another status, no connection, or a timeout        ``severity``
============  =================================================  ====================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from capplan.plan.probes import Probe

__all__ = ["ProbeResult", "ProbeVerdict", "classify", "failed"]

ProbeVerdict = Literal["ok", "slow", "failing"]


@dataclass(frozen=True)
class ProbeResult:
    """One probe made: its verdict, the status of the check it gives, what was measured."""

    name: str
    url: str
    verdict: ProbeVerdict
    status: Literal["ok", "warning", "critical"]
    http_status: int | None
    latency_seconds: float | None
    message: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "probe": self.name,
            "url": self.url,
            "verdict": self.verdict,
            "status": self.status,
            "http_status": self.http_status,
            "latency_seconds": self.latency_seconds,
            "message": self.message,
        }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def classify(name: str, probe: Probe, http_status: int, latency_seconds: float) -> ProbeResult:
    """The verdict of an answer with ``http_status`` after ``latency_seconds``."""
    expected = ", ".join(str(s) for s in probe.status)
    if http_status not in probe.status:
        return ProbeResult(
            name,
            probe.url,
            "failing",
            probe.severity,
            http_status,
            latency_seconds,
            f"status {http_status}, expected {expected}",
        )
    limit = probe.latency_seconds
    if limit is not None and latency_seconds > limit:
        return ProbeResult(
            name,
            probe.url,
            "slow",
            probe.slow_severity,
            http_status,
            latency_seconds,
            f"answered in {_ms(latency_seconds)}, above the limit of {probe.latency}",
        )
    within = f" (limit {probe.latency})" if limit is not None else ""
    return ProbeResult(
        name,
        probe.url,
        "ok",
        "ok",
        http_status,
        latency_seconds,
        f"status {http_status} in {_ms(latency_seconds)}{within}",
    )


def failed(name: str, probe: Probe, reason: str, latency_seconds: float | None) -> ProbeResult:
    """A probe that got no answer: ``reason`` says why (refused, timeout)."""
    return ProbeResult(name, probe.url, "failing", probe.severity, None, latency_seconds, reason)
