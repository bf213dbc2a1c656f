"""Alerting in a plan: the default ``for:`` and labels of the generated alert rules, and where
Alertmanager sends the alerts (receivers, routes by severity and team, grouping, repeats).

Secrets never appear in a plan: a receiver names the FILE that holds its webhook URL, routing
key or password (``api_url_file``, ``routing_key_file``, ``auth_password_file``,
``credentials_file``), which Alertmanager reads when it notifies. A secret given inline is an
error that says which ``*_file`` field to use instead.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from capplan.errors import Issue
from capplan.plan.base import Strict, refuse_inline_secrets, suggest
from capplan.plan.fields import Duration
from capplan.plan.scrape import AvailabilityRule

__all__ = [
    "Alerting",
    "EmailReceiver",
    "NullReceiver",
    "PagerReceiver",
    "Receiver",
    "Route",
    "SlackReceiver",
    "WebhookReceiver",
    "alerting_issues",
]

# Inline secrets, and the field that names the file holding each instead.
_SECRETS = {
    "api_url": "api_url_file",
    "routing_key": "routing_key_file",
    "service_key": "routing_key_file",
    "integration_key": "routing_key_file",
    "auth_password": "auth_password_file",
    "password": "auth_password_file",
    "auth_secret": "auth_password_file",
    "token": "credentials_file",
    "bearer_token": "credentials_file",
    "credentials": "credentials_file",
}
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RECEIVER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


class _ReceiverBase(Strict):
    description: str = Field("", description="Who or what it reaches.")
    send_resolved: bool = Field(True, description="Also notify when the alerts resolve.")

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secret(cls, data: Any) -> Any:
        return refuse_inline_secrets(
            data, _SECRETS, "alertmanager.yml", "Alertmanager reads when it notifies"
        )


class PagerReceiver(_ReceiverBase):
    """PagerDuty (Events API v2): pages the on-call engineer."""

    kind: Literal["pager"]
    routing_key_file: str = Field(
        min_length=1, description="File holding the PagerDuty integration (routing) key."
    )
    url: str | None = Field(None, description="Events API URL (default: PagerDuty's own).")


class SlackReceiver(_ReceiverBase):
    """A Slack channel, through an incoming webhook."""

    kind: Literal["slack"]
    api_url_file: str = Field(min_length=1, description="File holding the webhook URL.")
    channel: str | None = Field(
        None, description="Channel to post to (#alerts); default: the webhook's own."
    )


class EmailReceiver(_ReceiverBase):
    """E-mail through an SMTP server."""

    kind: Literal["email"]
    to: str = Field(min_length=1, description="Recipient address(es), comma-separated.")
    from_: str = Field(alias="from", min_length=1, description="Sender address.")
    smarthost: str = Field(
        pattern=r"^[^\s:]+:\d+$", description="SMTP server as host:port (smtp.example.com:587)."
    )
    auth_username: str | None = Field(None, description="SMTP user name.")
    auth_password_file: str | None = Field(None, description="File holding the SMTP password.")
    require_tls: bool = Field(True, description="Refuse to send without STARTTLS.")


class WebhookReceiver(_ReceiverBase):
    """Any HTTP endpoint that takes Alertmanager's webhook JSON."""

    kind: Literal["webhook"]
    url: str | None = Field(None, description="Endpoint URL (when it holds no secret).")
    url_file: str | None = Field(
        None, description="File holding the URL, when it holds a secret (Alertmanager >= 0.26)."
    )
    credentials_file: str | None = Field(
        None, description="File holding a bearer token sent in the Authorization header."
    )
    max_alerts: Annotated[int, Field(ge=0)] = Field(
        0, description="Most alerts in one message (0: all)."
    )

    @model_validator(mode="after")
    def _one_url(self) -> WebhookReceiver:
        if (self.url is None) == (self.url_file is None):
            raise ValueError("give exactly one of url and url_file")
        return self


class NullReceiver(_ReceiverBase):
    """Notifies no one: for alerts that are seen on dashboards only (an autoscaler acts)."""

    kind: Literal["none"]


Receiver = Annotated[
    PagerReceiver | SlackReceiver | EmailReceiver | WebhookReceiver | NullReceiver,
    Field(discriminator="kind"),
]


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Route(Strict):
    """Alerts whose labels match go to ``receiver``; the first matching route wins unless it
    has ``continue``."""

    receiver: str = Field(description="A receiver of alerting.receivers.")
    severity: list[str] = Field(
        default_factory=list,
        description="Severities matched (critical, warning, info): one or a list.",
    )
    team: list[str] = Field(
        default_factory=list, description="Values of the team label matched: one or a list."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Other labels matched exactly (threshold: api_errors)."
    )
    continue_: bool = Field(
        False, alias="continue", description="Keep matching the routes after this one."
    )
    group_by: list[str] | None = Field(None, description="Grouping here (default: alerting's).")
    group_wait: Duration | None = Field(None, description="Default: alerting's group_wait.")
    group_interval: Duration | None = Field(None, description="Default: alerting's.")
    repeat_interval: Duration | None = Field(
        None, description="How often a still-firing group is sent again (default: alerting's)."
    )
    description: str = ""

    _severity = field_validator("severity", "team", mode="before")(_one_or_many)

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _LABEL_NAME.match(name):
                raise ValueError(f"'{name}' is not a Prometheus label name")
        return value

    def matchers(self) -> dict[str, list[str]]:
        """Label → accepted values, in the order Alertmanager's matchers are written."""
        found: dict[str, list[str]] = {}
        if self.severity:
            found["severity"] = list(self.severity)
        if self.team:
            found["team"] = list(self.team)
        for name, value in self.labels.items():
            found[name] = [value]
        return found


class Alerting(Strict):
    """The generated alert rules' defaults, and the Alertmanager routing of their alerts."""

    for_: Duration = Field(
        "5m",
        alias="for",
        description="How long a condition must hold before it fires where neither its level "
        "nor its threshold says: the alert rules' for:, and what check waits.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels added to every alert rule (team: payments); a metric's or "
        "threshold's own labels win.",
    )
    receivers: dict[str, Receiver] = Field(
        default_factory=dict, description="Where alerts can go, by name."
    )
    default_receiver: str | None = Field(
        None, description="Receiver of alerts no route matches (default: the first receiver)."
    )
    routes: list[Route] = Field(
        default_factory=list, description="Routes by severity, team or labels, in order."
    )
    group_by: list[str] = Field(
        default_factory=lambda: ["alertname"],
        description="Labels that group alerts into one notification.",
    )
    group_wait: Duration = Field(
        "30s", description="Wait before the first notification of a group."
    )
    group_interval: Duration = Field(
        "5m", description="Wait before notifying of new alerts in a group already notified."
    )
    repeat_interval: Duration = Field(
        "4h", description="How often a still-firing group is sent again."
    )
    inhibit: bool = Field(
        True,
        description="A critical alert silences the warning of the same threshold (or "
        "alertname) with the same inhibit_equal labels; an emergency, the critical.",
    )
    inhibit_equal: list[str] = Field(
        default_factory=lambda: ["instance"],
        description="Labels a silencing alert and the silenced one must share.",
    )
    availability: list[AvailabilityRule] = Field(
        default_factory=list,
        description="Alerts when a scrape job's targets are down: up{job} == 0 for a while "
        "({job: app, for: 1m, severity: critical}).",
    )

    @field_validator("receivers")
    @classmethod
    def _receiver_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not _RECEIVER_NAME.match(name):
                raise ValueError(
                    f"name '{name}' must start with a letter and hold only letters, digits, _ and -"
                )
        return value

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _LABEL_NAME.match(name):
                raise ValueError(f"'{name}' is not a Prometheus label name")
        return value

    def root_receiver(self) -> str | None:
        """The receiver of alerts that no route matches."""
        return self.default_receiver or next(iter(self.receivers), None)

    def receiver_for(self, labels: dict[str, str]) -> list[str]:
        """The receivers an alert with ``labels`` goes to (Alertmanager's route walk: the
        first matching route, and the ones after it while they have ``continue``)."""
        found: list[str] = []
        for route in self.routes:
            if all(labels.get(k, "") in v for k, v in route.matchers().items()):
                found.append(route.receiver)
                if not route.continue_:
                    return found
        root = self.root_receiver()
        return found or ([root] if root else [])


def alerting_issues(
    alerting: Alerting, components: list[str], metric_components: dict[str, str]
) -> list[Issue]:
    """Names the alerting block and metrics refer to that the plan does not declare."""
    issues: list[Issue] = []
    declared = list(alerting.receivers)
    listed = ", ".join(declared) or "none"

    def unknown(name: str, path: str) -> None:
        issues.append(
            Issue(
                f"names receiver '{name}', which alerting.receivers does not declare"
                f"{suggest(name, declared)}; declared: {listed}",
                path=path,
            )
        )

    if alerting.default_receiver is not None and alerting.default_receiver not in declared:
        unknown(alerting.default_receiver, "alerting.default_receiver")
    for i, route in enumerate(alerting.routes):
        if route.receiver not in declared:
            unknown(route.receiver, f"alerting.routes[{i}].receiver")
    for metric, component in metric_components.items():
        if component not in components:
            issues.append(
                Issue(
                    f"names component '{component}', which the plan does not define"
                    f"{suggest(component, components)}",
                    path=f"metrics.{metric}.component",
                )
            )
    return issues
