"""HTTP probes in a plan: the health checks ``capplan check --probes`` makes (the APM
runbook's ``monitor-app-performance.sh``: status 200 from ``/health``, answered within 2 s).

Only the URLs declared here are ever requested.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from capplan.plan.base import Strict
from capplan.plan.fields import Duration
from capplan.units import duration_seconds

__all__ = ["Probe"]

Status = Annotated[int, Field(ge=100, le=599)]


class Probe(Strict):
    """One HTTP check: the status expected, and how fast the answer must come."""

    url: str = Field(description="The URL requested (http or https).")
    method: Literal["GET", "HEAD"] = Field("GET", description="GET or HEAD.")
    status: list[Status] = Field(
        default_factory=lambda: [200],
        description="The status code(s) that count as healthy: one or a list (default 200).",
    )
    latency: Duration | None = Field(
        None, description="An answer slower than this is 'slow' (2s); none: not checked."
    )
    timeout: Duration = Field("10s", description="No answer within this is 'failing' (a timeout).")
    severity: Literal["warning", "critical"] = Field(
        "critical", description="The check status of a failing probe."
    )
    slow_severity: Literal["warning", "critical"] = Field(
        "warning", description="The check status of a slow probe."
    )
    description: str = ""

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http:// or https:// URL with a host, got '{value}'")
        if parts.password is not None:
            raise ValueError("must not hold a password (it would be written in the plan)")
        return value.strip()

    @field_validator("latency", "timeout")
    @classmethod
    def _positive(cls, value: str | None) -> str | None:
        if value is not None and duration_seconds(value) <= 0:
            raise ValueError(f"must be a duration > 0, got '{value}'")
        return value

    @model_validator(mode="after")
    def _latency_within_timeout(self) -> Probe:
        if self.latency is not None and duration_seconds(self.latency) > duration_seconds(
            self.timeout
        ):
            raise ValueError(
                f"latency ({self.latency}) must not exceed timeout ({self.timeout}): a "
                "slower answer is a timeout"
            )
        return self

    @property
    def latency_seconds(self) -> float | None:
        return None if self.latency is None else duration_seconds(self.latency)

    @property
    def timeout_seconds(self) -> float:
        return duration_seconds(self.timeout)
