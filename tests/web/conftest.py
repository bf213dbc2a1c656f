"""Fixtures of the service tests: a temp plans directory and a temp metric store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from capplan.data import Store
from capplan.data.ingest import ingest_files
from capplan.web import Settings, create_app
from capplan.web.settings import LOOPBACK_HOSTS

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TOKEN = "s3cret-token"
HOSTS = (*LOOPBACK_HOSTS, "testserver")  # the Host of fastapi.testclient.TestClient


@pytest.fixture(scope="session")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "metrics.duckdb"
    with Store(path) as store:
        ingest_files(store, [ROOT / "examples" / "metrics" / "apm_history.csv"])
    return path


@pytest.fixture
def plans_dir(tmp_path: Path) -> Path:
    plans = tmp_path / "plans"
    plans.mkdir()
    shutil.copy(ROOT / "examples" / "the_bot.yaml", plans / "the_bot.yaml")
    shutil.copy(ROOT / "examples" / "apm.yaml", plans / "apm.yaml")
    shutil.copy(HERE / "fixtures" / "svc.yaml", plans / "svc.yaml")
    (tmp_path / "secret.yaml").write_text("system: outside\n", encoding="utf-8")
    return plans


@pytest.fixture
def settings(plans_dir: Path, store_file: Path) -> Settings:
    return Settings(
        plans_dir=plans_dir,
        store=store_file,
        refresh_seconds=0,
        max_body_bytes=64_000,
        allowed_hosts=HOSTS,
        allow_anonymous_writes=True,  # what the write tests without a token need
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def token_client(settings: Settings) -> Iterator[TestClient]:
    s = Settings(**{**settings.__dict__, "token": TOKEN})
    with TestClient(create_app(s)) as c:
        yield c
