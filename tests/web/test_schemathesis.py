"""Property-based run of schemathesis against the app's own OpenAPI spec: never a 500,
never a traceback. Bounded (few examples per operation) to stay fast."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from capplan.data import Store
from capplan.data.ingest import ingest_files
from capplan.web import Settings, create_app

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def web_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("fuzz")
    plans = base / "plans"
    plans.mkdir()
    for src in (ROOT / "examples" / "apm.yaml", HERE / "fixtures" / "svc.yaml"):
        shutil.copy(src, plans / src.name)
    store = base / "m.duckdb"
    with Store(store) as db:
        ingest_files(db, [ROOT / "examples" / "metrics" / "apm_history.csv"])
    app = create_app(
        Settings(
            plans_dir=plans,
            store=store,
            refresh_seconds=0,
            max_body_bytes=20_000,
            allowed_hosts=("*",),
        )
    )
    app.state.capplan.refresh()
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _operations() -> list[str]:
    app = create_app(Settings(plans_dir=ROOT / "examples", refresh_seconds=0, allowed_hosts=("*",)))
    spec = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [f"{op.ok().method.upper()} {op.ok().path}" for op in spec.get_all_operations()]  # type: ignore[union-attr]


@pytest.mark.parametrize("operation", _operations())
def test_api_never_500(web_schema: Any, operation: str) -> None:
    """Every operation of the spec, with generated parameters and bodies."""
    method, path = operation.split(" ", 1)
    op = web_schema[path][method.lower()]

    @given(case=op.as_strategy())
    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        response = case.call()
        assert response.status_code < 500, (method, case.formatted_path, response.text[:300])
        assert "Traceback" not in response.text

    run()
