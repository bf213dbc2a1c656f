"""Every command shown in the README runs, from a fresh directory holding the examples."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def readme_lines() -> list[str]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n(.*?)```", text, flags=re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    tools = ("$ capplan", "$ promtool", "$ amtool")
    return [line[2:] for line in lines if line.startswith(tools)]


def readme_commands() -> list[str]:
    return [line.split("  #")[0].strip() for line in readme_lines()]


def expected_exit(command: str) -> int:
    """The exit code a README line's comment announces (``# exit 1: ...``), else 0."""
    for line in readme_lines():
        if line.split("  #")[0].strip() == command and "  #" in line:
            found = re.search(r"\bexit (\d+)", line.split("  #", 1)[1])
            if found:
                return int(found.group(1))
    return 0


def test_readme_shows_every_command() -> None:
    shown = {shlex.split(c)[1] for c in readme_commands() if c.startswith("capplan")}
    assert shown >= {"init", "plan", "scenarios", "validate", "schema"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", work / "examples")
    return work


PROMETHEUS = "http://localhost:9090"
# The tools the README runs besides capplan, and the Debian packages that provide them.
PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs(command: str, workdir: Path, request: pytest.FixtureRequest) -> None:
    if PROMETHEUS in command:  # the README's Prometheus is the real one the fixture starts
        command = command.replace(PROMETHEUS, request.getfixturevalue("prometheus_url"))
    tool, *args = shlex.split(command)
    if tool in PACKAGES:
        found = shutil.which(tool)
        if found is None:
            pytest.fail(f"{tool} is not installed: install the Debian package '{PACKAGES[tool]}'")
        argv = [found, *args]
    else:
        argv = [sys.executable, "-m", "capplan", *args]
    result = subprocess.run(
        argv,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == expected_exit(command), result.stderr
    assert "Traceback" not in result.stderr
    output = next((a for i, a in enumerate(args) if args[i - 1] in ("--output", "-o")), None)
    if output:
        assert (workdir / output).stat().st_size > 0
    elif tool == "capplan" and args[0] != "init":
        assert result.stdout.strip()
