"""Plans whose capacity comes from load-test results, through the service: one read from the
plans directory reads the results beside it; the text of a request reads no file."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from capplan.loadtest import Limits, analyse, read_runs

RESULTS = Path(__file__).resolve().parents[2] / "examples" / "loadtests" / "k6"

PLAN = """\
system: demo
start: 2026-01
horizon: 6
drivers:
  rps: {initial: 200}
components:
  api:
    kind: horizontal
    demand: rps
    capacity_per_instance: {loadtest: RESULTS}
"""


def test_a_request_cannot_make_the_service_read_files(client: TestClient) -> None:
    r = client.post("/api/plans/validate", content=PLAN.replace("RESULTS", "/etc"))
    assert r.status_code == 422
    (issue,) = r.json()["issues"]
    assert issue["path"] == "components.api.capacity_per_instance.loadtest"
    assert issue["line"] == 10
    assert "not read from a file" in issue["message"]


def test_a_plan_in_the_plans_directory_reads_its_results(
    client: TestClient, plans_dir: Path
) -> None:
    shutil.copytree(RESULTS, plans_dir / "results")
    (plans_dir / "lt.yaml").write_text(PLAN.replace("RESULTS", "results"))
    r = client.get("/api/plans/lt/projection")
    assert r.status_code == 200, r.text
    capacity = analyse(read_runs([RESULTS]), Limits()).capacity
    assert capacity is not None
    assert r.json()["rows"][0]["api.instances"] == math.ceil(200 / capacity.throughput)
