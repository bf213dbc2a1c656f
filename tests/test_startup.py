"""Start-up: every command imports the CLI, so nothing slow to import (SciPy takes most of a
second) is imported before a command needs it."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_imports_no_scipy() -> None:
    code = "import sys, capplan.cli; print(sorted(m for m in sys.modules if m.startswith('scipy')))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
