"""The set-up contract: `make test` and `.ci/run` install the system packages the suite needs
through one script, which says how to install them when it cannot itself."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "bash scripts/system-deps.sh"


def test_make_test_and_ci_call_the_same_system_packages_script() -> None:
    dry = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    lines = dry.splitlines()
    assert SCRIPT in lines
    assert lines.index(SCRIPT) < next(i for i, line in enumerate(lines) if "pytest" in line)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert SCRIPT in ci
    assert ci.index(SCRIPT) < ci.index("make check")


def test_without_root_the_script_prints_the_command_and_fails(tmp_path: Path) -> None:
    """No promtool or amtool on the PATH, not root: the exact apt command, exit 1, nothing
    installed."""
    fake_id = tmp_path / "id"
    fake_id.write_text("#!/bin/sh\necho 1000\n")
    fake_id.chmod(0o755)
    done = subprocess.run(
        ["/bin/bash", str(ROOT / "scripts" / "system-deps.sh")],
        env={**os.environ, "PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "The tests need the Debian packages: prometheus prometheus-alertmanager" in done.stderr
    assert "sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install" in (
        done.stderr
    )


def test_with_everything_present_the_script_does_nothing() -> None:
    done = subprocess.run(
        ["/bin/bash", str(ROOT / "scripts" / "system-deps.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
