"""Hosts: the components' summed vCPU, memory and storage against the machines they share;
overcommit is a critical event, flagged like any over-capacity figure."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from capplan import Plan, PlanValidationError, run_plan
from capplan.cli import app
from capplan.plan.loader import load_plan, validate_plan_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def make_plan(hosts: dict[str, Any]) -> Plan:
    return validate_plan_data(
        {
            "system": "demo",
            "start": "2026-01",
            "horizon": 3,
            "drivers": {"rps": {"initial": 100, "growth": {"model": "linear", "per_month": 100}}},
            "components": {
                "api": {
                    "kind": "horizontal",
                    "demand": "rps",
                    "capacity_per_instance": 100,
                    "instance": {"vcpu": 2, "memory_gb": 4},
                },
                "db": {"kind": "formula", "resources": {"vcpu": 2, "memory_gb": 8}},
            },
            "hosts": hosts,
        },
        "mem.yaml",
        {},
    )


def test_freeagentics_host_is_overcommitted_at_period_0() -> None:
    projection = run_plan(load_plan(EXAMPLES / "freeagentics.yaml"), today=dt.date(2026, 1, 5))
    values = projection.values
    assert values["compose_host.vcpu"][0] == pytest.approx(12)  # 3×2 + 2 + 2 + 0.5 + 0.5 + 1
    assert values["compose_host.vcpu_utilization"][0] == pytest.approx(1.5)
    assert values["compose_host.memory_gb"][0] == pytest.approx(27)  # 12 + 4 + 6 + 1 + 1 + 3
    assert values["compose_host.hosts_needed"][0] == 2
    [event] = [e for e in projection.events if e.kind == "overcommit"]
    assert (event.period, event.severity, event.component) == (0, "critical", "compose_host")
    assert "12 vCPU of 8 (150%)" in event.message
    assert "27 GB memory of 16 (169%)" in event.message
    assert projection.over_capacity_components["compose_host"] == 0
    assert any(
        r.startswith("Hosts: compose_host is overcommitted") for r in projection.recommendations
    )


def test_host_within_capacity_has_no_event_and_a_pool_multiplies_capacity() -> None:
    # api: 1, 2, 3, 4 instances of 2 vCPU; db 2 vCPU → 4, 6, 8, 10 vCPU
    single = run_plan(make_plan({"node": {"vcpu": 8}}))
    assert single.values["node.vcpu"].tolist() == [4, 6, 8, 10]
    assert single.values["node.hosts_needed"].tolist() == [1, 1, 1, 2]
    [event] = [e for e in single.events if e.kind == "overcommit"]
    assert event.period == 3  # 8 of 8 is full, not over
    pool = run_plan(make_plan({"node": {"vcpu": 8, "count": 2}}))
    assert pool.values["node.vcpu_utilization"].tolist() == [0.25, 0.375, 0.5, 0.625]
    assert not [e for e in pool.events if e.kind == "overcommit"]
    assert pool.over_capacity_components == {}


def test_host_sums_only_its_components() -> None:
    projection = run_plan(make_plan({"db_host": {"memory_gb": 16, "components": ["db"]}}))
    assert projection.values["db_host.memory_gb"].tolist() == [8, 8, 8, 8]
    assert "db_host.vcpu" not in projection.values  # the host gives no vCPU figure


def test_host_column_in_the_table_and_csv() -> None:
    result = CliRunner().invoke(
        app, ["plan", str(EXAMPLES / "freeagentics.yaml"), "-m", "2", "--today", "2026-01-05"]
    )
    assert result.exit_code == 0, result.output
    assert "compose_host use" in result.output
    assert "169% (over)" in result.output
    csv = CliRunner().invoke(app, ["plan", str(EXAMPLES / "freeagentics.yaml"), "-f", "csv"])
    header = csv.output.splitlines()[0].split(",")
    for column in ("compose_host.vcpu", "compose_host.hosts_needed", "compose_host.over_capacity"):
        assert column in header


@pytest.mark.parametrize(
    ("hosts", "path", "expected"),
    [
        ({"node": {"vcpu": 8, "components": ["apii"]}}, "hosts.node.components.0", "did you mean"),
        ({"node": {"count": 2}}, "hosts.node", "at least one of vcpu, memory_gb and storage_gb"),
        ({"node": {"vcpu": 0}}, "hosts.node.vcpu", "greater than 0"),
        ({"api": {"vcpu": 8}}, "hosts.api", "must be unique"),
    ],
)
def test_bad_hosts_are_errors_naming_the_field(
    hosts: dict[str, Any], path: str, expected: str
) -> None:
    with pytest.raises(PlanValidationError) as info:
        run_plan(make_plan(hosts))
    issues = info.value.issues
    assert any(i.path == path and expected in i.message for i in issues), issues


def test_export_compose_notes_the_overcommit() -> None:
    from capplan.export.compose import COMPOSE_FILE, compose_file

    text = compose_file(load_plan(EXAMPLES / "freeagentics.yaml"))[COMPOSE_FILE]
    [note] = [line for line in text.splitlines() if "OVERCOMMIT" in line]
    assert note.startswith("# OVERCOMMIT: compose_host is overcommitted in 2026-01 (period 0)")
    assert "12 vCPU of 8 (150%)" in note
