"""A Prometheus configuration from a plan's ``scrape`` block (``prometheus-config`` exporter).

``prometheus.yml`` holds:

- ``global``: the scrape and rule evaluation intervals;
- ``rule_files``: the rules file ``capplan export prometheus-rules`` writes, when the plan
  gives any rule (write both into the same directory);
- ``alerting.alertmanagers``: ``scrape.alertmanagers`` when ``alerting`` declares receivers
  (the ``alertmanager`` export routes them);
- ``scrape_configs``: one per job, in plan order: ``static_configs`` with the targets (and the
  job's labels), or ``kubernetes_sd_configs`` with the role and namespaces (the labels then
  set by ``relabel_configs``); path, scheme, interval and timeout; basic auth or a bearer
  token read from a file.

No secret is written: ``password_file`` and ``credentials_file`` name files Prometheus reads
when it scrapes; the header lists them.
"""

from __future__ import annotations

from typing import Any

from capplan.export.base import EXPORTERS, dump_yaml, header
from capplan.export.prometheus import prometheus_rules, rules_file_name
from capplan.plan.models import Plan
from capplan.plan.scrape import ScrapeJob

__all__ = ["PROMETHEUS_FILE", "prometheus_config", "scrape_secret_files"]

PROMETHEUS_FILE = "prometheus.yml"


def _job(name: str, job: ScrapeJob) -> dict[str, Any]:
    out: dict[str, Any] = {"job_name": name}
    if job.interval is not None:
        out["scrape_interval"] = job.interval
    if job.timeout is not None:
        out["scrape_timeout"] = job.timeout
    out["metrics_path"] = job.metrics_path
    out["scheme"] = job.scheme
    if job.basic_auth is not None:
        out["basic_auth"] = {
            "username": job.basic_auth.username,
            "password_file": job.basic_auth.password_file,
        }
    if job.credentials_file is not None:
        out["authorization"] = {"type": "Bearer", "credentials_file": job.credentials_file}
    if job.kubernetes_sd is not None:
        sd: dict[str, Any] = {"role": job.kubernetes_sd}
        if job.namespaces:
            sd["namespaces"] = {"names": list(job.namespaces)}
        out["kubernetes_sd_configs"] = [sd]
        if job.labels:
            out["relabel_configs"] = [
                {"target_label": label, "replacement": value}
                for label, value in sorted(job.labels.items())
            ]
    else:
        static: dict[str, Any] = {"targets": list(job.targets)}
        if job.labels:
            static["labels"] = dict(sorted(job.labels.items()))
        out["static_configs"] = [static]
    return out


def scrape_secret_files(plan: Plan) -> list[tuple[str, str]]:
    """(job, file) of every password or token file the configuration reads, in plan order."""
    found = []
    for name, job in plan.scrape.jobs.items():
        if job.basic_auth is not None:
            found.append((name, job.basic_auth.password_file))
        if job.credentials_file is not None:
            found.append((name, job.credentials_file))
    return found


def _notes(plan: Plan, rules: str | None) -> list[str]:
    notes = [f"Scrapes the plan's {len(plan.scrape.jobs)} job(s)."]
    if rules is not None:
        notes.append(f"Loads {rules}: write it beside this file (capplan export prometheus-rules).")
    notes += ["", f"Check: promtool check config {PROMETHEUS_FILE}"]
    files = scrape_secret_files(plan)
    if files:
        notes += ["", "Secrets are read from these files, which must exist where Prometheus runs:"]
        notes += [f"  {path} ({job})" for job, path in files]
    return notes


@EXPORTERS.register("prometheus-config")
def prometheus_config(plan: Plan) -> dict[str, str]:
    """``prometheus.yml``: intervals, rule files, Alertmanagers and scrape jobs; nothing
    when the plan declares no scrape job."""
    scrape = plan.scrape
    if not scrape.jobs:
        return {}
    doc: dict[str, Any] = {
        "global": {
            "scrape_interval": scrape.interval,
            "evaluation_interval": scrape.evaluation_interval,
        }
    }
    rules = rules_file_name(plan) if prometheus_rules(plan) else None
    if rules is not None:
        doc["rule_files"] = [rules]
    if plan.alerting.receivers and scrape.alertmanagers:
        doc["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": list(scrape.alertmanagers)}]}]
        }
    doc["scrape_configs"] = [_job(name, job) for name, job in scrape.jobs.items()]
    text = header(plan, "Prometheus configuration", _notes(plan, rules)) + dump_yaml(doc)
    return {PROMETHEUS_FILE: text}
