"""An Alertmanager configuration from a plan's ``alerting`` block (``alertmanager`` exporter).

``alertmanager.yml`` holds:

- ``route``: the root route (the default receiver, ``group_by``, ``group_wait``,
  ``group_interval``, ``repeat_interval``) and one child route per plan route, in order, with
  matchers on ``severity``, ``team`` and any other label (``severity=~"critical|warning"`` for
  several values) and its own grouping, intervals and ``continue``;
- ``inhibit_rules`` (unless ``inhibit: false``): a critical alert silences the warning of the
  same capplan threshold (label ``threshold``), an emergency the critical of it, and, for
  alerts from other rule files, a critical alert the warning of the same ``alertname``; each
  only where the ``inhibit_equal`` labels (``instance``) are equal too;
- ``receivers``: PagerDuty (``pager``), Slack, e-mail, webhook, or none (notifies no one).

No secret is written: receivers point at files (``routing_key_file``, ``api_url_file``,
``auth_password_file``, ``credentials_file``, ``url_file``) that Alertmanager reads when it
notifies. The header lists those files and, for every route, the ``amtool config routes test``
line that shows where its alerts go.
"""

from __future__ import annotations

import json
import re
from typing import Any

from capplan.export.base import EXPORTERS, dump_yaml, header
from capplan.plan.alerting import (
    Alerting,
    EmailReceiver,
    NullReceiver,
    PagerReceiver,
    Receiver,
    Route,
    SlackReceiver,
    WebhookReceiver,
)
from capplan.plan.models import Plan

__all__ = ["ALERTMANAGER_FILE", "alertmanager_config", "secret_files"]

ALERTMANAGER_FILE = "alertmanager.yml"

# Slack messages: what fired, each alert's summary and its runbook link.
_SLACK_TITLE = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}]'
    " {{ .CommonLabels.alertname }}"
)
_SLACK_TEXT = (
    "{{ range .Alerts }}{{ .Annotations.summary }}"
    "{{ if .Annotations.runbook_url }} (runbook: {{ .Annotations.runbook_url }}){{ end }}\n"
    "{{ end }}"
)


def _matcher(label: str, values: list[str], negate: bool = False) -> str:
    if len(values) == 1:
        op = "!=" if negate else "="
        return f"{label}{op}{json.dumps(values[0])}"
    op = "!~" if negate else "=~"
    return f"{label}{op}{json.dumps('|'.join(re.escape(v) for v in values))}"


def _route(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {"receiver": route.receiver}
    if route.matchers():
        out["matchers"] = [_matcher(k, v) for k, v in route.matchers().items()]
    if route.group_by is not None:
        out["group_by"] = list(route.group_by)
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if (value := getattr(route, key)) is not None:
            out[key] = value
    if route.continue_:
        out["continue"] = True
    return out


def _inhibit_rules(alerting: Alerting) -> list[dict[str, Any]]:
    if not alerting.inhibit:
        return []
    equal = [label for label in alerting.inhibit_equal if label not in ("threshold", "alertname")]
    capplan = 'threshold=~".+"'
    return [
        {
            "source_matchers": ['severity="critical"', capplan],
            "target_matchers": ['severity="warning"', capplan],
            "equal": ["threshold", *equal],
        },
        {
            "source_matchers": ['level="emergency"', capplan],
            "target_matchers": ['severity="critical"', 'level!="emergency"', capplan],
            "equal": ["threshold", *equal],
        },
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["alertname", *equal],
        },
    ]


def _receiver(name: str, receiver: Receiver) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if isinstance(receiver, NullReceiver):
        return out
    config: dict[str, Any]
    if isinstance(receiver, PagerReceiver):
        config = {"routing_key_file": receiver.routing_key_file}
        if receiver.url:
            config["url"] = receiver.url
        key = "pagerduty_configs"
    elif isinstance(receiver, SlackReceiver):
        config = {"api_url_file": receiver.api_url_file}
        if receiver.channel:
            config["channel"] = receiver.channel
        config.update({"title": _SLACK_TITLE, "text": _SLACK_TEXT})
        key = "slack_configs"
    elif isinstance(receiver, EmailReceiver):
        config = {"to": receiver.to, "from": receiver.from_, "smarthost": receiver.smarthost}
        if receiver.auth_username:
            config["auth_username"] = receiver.auth_username
        if receiver.auth_password_file:
            config["auth_password_file"] = receiver.auth_password_file
        config["require_tls"] = receiver.require_tls
        key = "email_configs"
    else:
        assert isinstance(receiver, WebhookReceiver)
        config = {"url": receiver.url} if receiver.url else {"url_file": receiver.url_file}
        if receiver.credentials_file:
            config["http_config"] = {
                "authorization": {"type": "Bearer", "credentials_file": receiver.credentials_file}
            }
        if receiver.max_alerts:
            config["max_alerts"] = receiver.max_alerts
        key = "webhook_configs"
    config["send_resolved"] = receiver.send_resolved
    out[key] = [config]
    return out


def secret_files(alerting: Alerting) -> list[tuple[str, str]]:
    """(receiver, file) of every secret file the configuration reads, in plan order."""
    fields = ("routing_key_file", "api_url_file", "auth_password_file", "credentials_file")
    found = []
    for name, receiver in alerting.receivers.items():
        for key in (*fields, "url_file"):
            if (path := getattr(receiver, key, None)) is not None:
                found.append((name, path))
    return found


def _route_line(route: Route) -> str:
    labels = " ".join(f"{k}={v[0]}" for k, v in route.matchers().items())
    return f"amtool config routes test --config.file={ALERTMANAGER_FILE} {labels}".rstrip()


def _notes(alerting: Alerting) -> list[str]:
    notes = [
        "Sends alerts to the plan's receivers by their routes, in order: the first route that",
        "matches wins, unless it has continue.",
    ]
    if alerting.inhibit:
        notes.append("A critical alert silences the warning of the same threshold.")
    notes += ["", f"Check: amtool check-config {ALERTMANAGER_FILE}"]
    for route in alerting.routes:
        if route.matchers():
            notes.append(f"  {_route_line(route)}   # -> {route.receiver}")
    notes.append(f"Alerts no route matches go to {alerting.root_receiver()}.")
    files = secret_files(alerting)
    if files:
        notes += [
            "",
            "Secrets are read from these files, which must exist where Alertmanager runs:",
        ]
        notes += [f"  {path} ({name})" for name, path in files]
    return notes


@EXPORTERS.register("alertmanager")
def alertmanager_config(plan: Plan) -> dict[str, str]:
    """``alertmanager.yml``: routes, inhibition and receivers; nothing without receivers."""
    alerting = plan.alerting
    if not alerting.receivers:
        return {}
    root: dict[str, Any] = {
        "receiver": alerting.root_receiver(),
        "group_by": list(alerting.group_by),
        "group_wait": alerting.group_wait,
        "group_interval": alerting.group_interval,
        "repeat_interval": alerting.repeat_interval,
    }
    if alerting.routes:
        root["routes"] = [_route(r) for r in alerting.routes]
    doc: dict[str, Any] = {"route": root}
    inhibit = _inhibit_rules(alerting)
    if inhibit:
        doc["inhibit_rules"] = inhibit
    doc["receivers"] = [_receiver(n, r) for n, r in alerting.receivers.items()]
    text = header(plan, "Alertmanager configuration", _notes(alerting)) + dump_yaml(doc)
    return {ALERTMANAGER_FILE: text}
