"""The configuration file's [prometheus] table: it sets the limits and authentication of the
commands that read Prometheus, below their flags and variables; a bad file is a clear
error naming the file and what is wrong."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from capplan.cli import app

Start = Callable[[Callable[[Any], None]], Any]


def config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "capplan.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_the_file_sets_the_limits_below_variables_and_flags(
    fake_prometheus: Start, drip: Callable[[float], Any], tmp_path: Path
) -> None:
    fake = fake_prometheus(drip(0.05))
    path = config(tmp_path, "[prometheus]\ndeadline = 0.4\nretries = 0\n")
    store = tmp_path / "s.duckdb"
    args = ["--config", str(path), "ingest", "--prometheus", fake.url, "--query", "up"]
    args += ["--store", str(store)]
    start = time.perf_counter()
    result = CliRunner().invoke(app, args)
    assert time.perf_counter() - start < 2
    assert result.exit_code == 2
    assert "failed 1 time (last: no complete answer within the 0.4 s deadline)" in result.stderr
    env = {"CAPPLAN_PROMETHEUS_DEADLINE": "0.3"}  # a variable wins over the file
    result = CliRunner().invoke(app, args, env=env)
    assert "failed 1 time (last: no complete answer within the 0.3 s deadline)" in result.stderr
    result = CliRunner().invoke(app, [*args, "--prometheus-retries", "1"], env=env)
    assert "failed 2 times (last: no complete answer within the 0.3 s deadline)" in result.stderr
    assert not store.exists()


def test_the_file_is_found_by_variable_and_in_the_config_home(
    fake_prometheus: Start, drip: Callable[[float], Any], tmp_path: Path
) -> None:
    fake = fake_prometheus(drip(0.05))
    home = tmp_path / "xdg"
    (home / "capplan").mkdir(parents=True)
    (home / "capplan" / "config.toml").write_text("[prometheus]\ndeadline = 0.35\nretries = 0\n")
    args = ["ingest", "--prometheus", fake.url, "--query", "up", "--store", str(tmp_path / "s")]
    result = CliRunner().invoke(app, args, env={"XDG_CONFIG_HOME": str(home)})
    assert "within the 0.35 s deadline" in result.stderr
    other = config(tmp_path, "[prometheus]\ndeadline = 0.25\nretries = 0\n")
    env = {"XDG_CONFIG_HOME": str(home), "CAPPLAN_CONFIG": str(other)}
    result = CliRunner().invoke(app, args, env=env)
    assert "within the 0.25 s deadline" in result.stderr


def test_the_file_reaches_check_and_forecast(
    fake_prometheus: Start, drip: Callable[[float], Any], tmp_path: Path
) -> None:
    fake = fake_prometheus(drip(0.05))
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: api\ndrivers: {users: {initial: 1}}\n"
        "metrics:\n  up: {unit: '%', query: 'up'}\n"
        "thresholds:\n  up: {metric: up, warning: 44, critical: 60}\n"
    )
    path = config(tmp_path, "[prometheus]\ndeadline = 0.3\nretries = 0\n")
    common = ["--prometheus", fake.url, "--since", "1h"]
    result = CliRunner().invoke(
        app, ["--config", str(path), "forecast", "--plan", str(plan), "--horizon", "1h", *common]
    )
    assert result.exit_code == 2
    assert "within the 0.3 s deadline" in result.stderr
    result = CliRunner().invoke(app, ["--config", str(path), "check", str(plan), *common])
    assert result.exit_code == 3
    assert "within the 0.3 s deadline" in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[prometheus\n", "is not valid TOML"),
        ("[prometheus]\ndeadline = 0\n", "[prometheus] deadline must be a number of seconds > 0"),
        ("[prometheus]\nretries = -1\n", "retries must be a whole number >= 0, got -1"),
        ("[prometheus]\nretries = 1.5\n", "retries must be a whole number >= 0"),
        ("[prometheus]\nmax_bytes = 'lots'\n", "must be a size like 64MiB"),
        ("[prometheus]\npoints_ratio = 0.5\n", "points_ratio must be a number >= 1"),
        ("[prometheus]\ninsecure = 'yes'\n", "insecure must be true or false"),
        ("[prometheus]\nheaders = ['no colon']\n", "--header must look like 'Name: value'"),
        ("[prometheus]\ndeadlin = 3\n", "[prometheus] has no key 'deadlin'; expected one of"),
        ("[grafana]\nurl = 'x'\n", "unknown table or key 'grafana'; expected [prometheus]"),
        ("prometheus = 3\n", "prometheus must be a table"),
    ],
)
def test_a_bad_file_is_a_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    path = config(tmp_path, text)
    args = ["--config", str(path), "ingest", "--prometheus", "http://127.0.0.1:9", "--query", "up"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert str(path) in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["--config", str(path), "check", "plan.yaml"])
    assert result.exit_code == 3  # check's code for an error


def test_a_missing_file_named_on_the_command_line_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "none.toml"), "plan", "x.yaml"])
    assert result.exit_code == 2
    assert "cannot read the configuration file" in result.stderr


def test_a_secret_in_a_shared_file_is_warned_about(tmp_path: Path) -> None:
    path = config(tmp_path, "[prometheus]\npassword = 'S3CRET'\n", mode=0o644)
    result = CliRunner().invoke(app, ["--config", str(path), "plan", str(tmp_path / "x.yaml")])
    assert "holds a password or token and other users can read it" in result.stderr
    assert "S3CRET" not in result.output
    os.chmod(path, 0o600)
    result = CliRunner().invoke(app, ["--config", str(path), "plan", str(tmp_path / "x.yaml")])
    assert "other users can read it" not in result.stderr


def test_the_url_comes_from_the_environment_when_no_other_source_is_given(
    fake_prometheus: Start, drip: Callable[[float], Any], tmp_path: Path
) -> None:
    fake = fake_prometheus(drip(0.05))
    env = {
        "CAPPLAN_PROMETHEUS_URL": fake.url,
        "CAPPLAN_PROMETHEUS_DEADLINE": "0.3",
        "CAPPLAN_PROMETHEUS_RETRIES": "0",
    }
    store = tmp_path / "s.duckdb"
    result = CliRunner().invoke(app, ["ingest", "--query", "up", "--store", str(store)], env=env)
    assert result.exit_code == 2
    assert "within the 0.3 s deadline" in result.stderr  # it asked the server of the variable
    data = tmp_path / "cpu.csv"
    data.write_text("timestamp,cpu\n2026-01-01T00:00:00Z,1\n2026-01-01T00:01:00Z,2\n")
    result = CliRunner().invoke(app, ["ingest", str(data), "--store", str(store)], env=env)
    assert result.exit_code == 0, result.stderr  # files given: the variable is not asked for
    result = CliRunner().invoke(
        app, ["forecast", str(data), "--horizon", "2m", "-f", "csv"], env=env
    )
    assert result.exit_code == 0, result.stderr
    result = CliRunner().invoke(
        app, ["ingest", str(data), "--prometheus", fake.url, "--store", str(store)], env=env
    )
    assert result.exit_code == 2  # both on the command line: an error, as before
    assert "give metric files or --prometheus, not both" in result.stderr


def test_the_nearest_project_file_is_found_from_the_working_directory(
    fake_prometheus: Start,
    drip: Callable[[float], Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_prometheus(drip(0.05))
    project = tmp_path / "project"
    work = project / "deploy" / "capacity"
    work.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "x"\n\n[tool.capplan.prometheus]\nurl = "{fake.url}"\n'
        "deadline = 0.45\nretries = 0\n"
    )
    home = tmp_path / "xdg"
    (home / "capplan").mkdir(parents=True)
    (home / "capplan" / "config.toml").write_text("[prometheus]\ndeadline = 0.2\n")
    monkeypatch.chdir(work)
    env = {"XDG_CONFIG_HOME": str(home)}
    args = ["ingest", "--query", "up", "--store", str(tmp_path / "s.duckdb")]
    result = CliRunner().invoke(app, args, env=env)
    assert "within the 0.45 s deadline" in result.stderr  # pyproject.toml beats ~/.config
    (project / "deploy" / "capplan.toml").write_text(
        f'[prometheus]\nurl = "{fake.url}"\ndeadline = 0.35\nretries = 0\n'
    )
    result = CliRunner().invoke(app, args, env=env)
    assert "within the 0.35 s deadline" in result.stderr  # the nearest file wins
    (project / "deploy" / "capplan.toml").unlink()
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n')
    result = CliRunner().invoke(app, ["--config", str(home / "capplan" / "config.toml"), *args])
    assert "--prometheus URL and at least one --query are needed" in result.stderr  # no url
