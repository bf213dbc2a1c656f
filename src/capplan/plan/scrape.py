"""What Prometheus scrapes, in a plan: its intervals, the Alertmanagers it sends to, and the
scrape jobs (static targets or Kubernetes service discovery), for ``capplan export
prometheus-config``; and the availability alerts on those jobs (``up == 0`` for a while).

Secrets never appear in a plan: basic auth and bearer tokens name the FILE holding the
password or token (``password_file``, ``credentials_file``), which Prometheus reads when it
scrapes, as the Alertmanager receivers do.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from capplan.plan.base import Strict, refuse_inline_secrets
from capplan.plan.fields import Duration
from capplan.units import duration_seconds

__all__ = ["AvailabilityRule", "BasicAuth", "Scrape", "ScrapeJob"]

_JOB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TARGET = re.compile(r"^[^\s/:]+(:\d+)?$")
_SECRETS = {"password": "password_file", "bearer_token": "credentials_file"}
_SECRETS_ON_JOB = {
    "bearer_token": "credentials_file",
    "token": "credentials_file",
    "credentials": "credentials_file",
    "password": "basic_auth.password_file",
}


def _no_inline_secret(data: Any, secrets: dict[str, str]) -> Any:
    return refuse_inline_secrets(
        data, secrets, "prometheus.yml", "Prometheus reads when it scrapes"
    )


def _label_names(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not _LABEL_NAME.match(name) or name.startswith("__"):
            raise ValueError(f"'{name}' is not a Prometheus label name (or is reserved)")
    return value


class BasicAuth(Strict):
    """HTTP basic authentication of a scrape job; the password is read from a file."""

    username: str = Field(min_length=1, description="User name.")
    password_file: str = Field(min_length=1, description="File holding the password.")

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        return _no_inline_secret(data, _SECRETS)


class ScrapeJob(Strict):
    """One scrape job: static ``targets`` or Kubernetes service discovery (``kubernetes_sd``)."""

    targets: list[str] = Field(
        default_factory=list, description="host:port of each target (static_configs)."
    )
    kubernetes_sd: (
        Literal["node", "pod", "service", "endpoints", "endpointslice", "ingress"] | None
    ) = Field(None, description="Discover targets in Kubernetes with this role instead.")
    namespaces: list[str] = Field(
        default_factory=list, description="With kubernetes_sd: the namespaces (default: all)."
    )
    metrics_path: str = Field("/metrics", description="HTTP path of the metrics.")
    scheme: Literal["http", "https"] = Field("http", description="http or https.")
    interval: Duration | None = Field(None, description="Scrape interval (default: scrape's).")
    timeout: Duration | None = Field(
        None, description="Scrape timeout, at most the interval (default: Prometheus' 10s)."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels added to every target's series."
    )
    basic_auth: BasicAuth | None = Field(
        None, description="{username, password_file}: basic authentication."
    )
    credentials_file: str | None = Field(
        None, description="File holding a bearer token sent in the Authorization header."
    )
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        return _no_inline_secret(data, _SECRETS_ON_JOB)

    _labels = field_validator("labels")(_label_names)

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        for target in value:
            if not _TARGET.match(target):
                raise ValueError(f"a target is host:port (localhost:9100), got '{target}'")
        return value

    @field_validator("metrics_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"must start with '/', got '{value}'")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ScrapeJob:
        if bool(self.targets) == (self.kubernetes_sd is not None):
            raise ValueError("give exactly one of targets and kubernetes_sd")
        if self.namespaces and self.kubernetes_sd is None:
            raise ValueError("namespaces applies to kubernetes_sd only")
        if self.basic_auth is not None and self.credentials_file is not None:
            raise ValueError("give basic_auth or credentials_file, not both")
        if (
            self.interval is not None
            and self.timeout is not None
            and duration_seconds(self.timeout) > duration_seconds(self.interval)
        ):
            raise ValueError(
                f"timeout ({self.timeout}) must not exceed its scrape interval "
                f"({self.interval}): Prometheus refuses such a job"
            )
        return self


class Scrape(Strict):
    """Prometheus' own settings for ``capplan export prometheus-config``."""

    interval: Duration = Field("1m", description="Default scrape interval (Prometheus': 1m).")
    evaluation_interval: Duration = Field("1m", description="How often rules are evaluated.")
    alertmanagers: list[str] = Field(
        default_factory=lambda: ["localhost:9093"],
        description="host:port of the Alertmanagers alerts go to, when alerting declares "
        "receivers.",
    )
    jobs: dict[str, ScrapeJob] = Field(
        default_factory=dict, description="Scrape jobs by job name (the job label)."
    )

    @field_validator("jobs")
    @classmethod
    def _job_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not _JOB_NAME.match(name):
                raise ValueError(
                    f"job name '{name}' must start with a letter and hold only letters, "
                    "digits, _, . and -"
                )
        return value

    @model_validator(mode="after")
    def _timeouts(self) -> Scrape:
        for name, job in self.jobs.items():
            interval = job.interval or self.interval
            if job.timeout is not None and duration_seconds(job.timeout) > duration_seconds(
                interval
            ):  # the job's own interval is checked by the job; this is the inherited one
                raise ValueError(
                    f"jobs.{name}.timeout ({job.timeout}) must not exceed its scrape interval "
                    f"({interval}): Prometheus refuses such a job"
                )
        return self

    @field_validator("alertmanagers")
    @classmethod
    def _alertmanagers(cls, value: list[str]) -> list[str]:
        for target in value:
            if not _TARGET.match(target):
                raise ValueError(f"an Alertmanager is host:port (localhost:9093), got '{target}'")
        return value


class AvailabilityRule(Strict):
    """An alert when the targets of a scrape job are down: ``up{job="app"} == 0`` for
    ``for``."""

    job: str = Field(min_length=1, description="The job label of the targets (a scrape job).")
    for_: Duration = Field(
        "1m", alias="for", description="How long a target must be down before it fires."
    )
    severity: Literal["warning", "critical"] = Field("critical", description="Alert severity.")
    component: str | None = Field(
        None, description="The component the job serves: the alert is grouped under it."
    )
    description: str = Field("", description="What is down, for the alert's description.")
    runbook_url: str | None = Field(None, description="Link put in the alert's annotations.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra alert labels.")

    _labels = field_validator("labels")(_label_names)

    @field_validator("job")
    @classmethod
    def _job(cls, value: str) -> str:
        if '"' in value or "\\" in value or "\n" in value:
            raise ValueError(f"a job name holds no quote, backslash or newline, got {value!r}")
        return value
