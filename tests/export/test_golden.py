"""Golden files: every exporter's output on every example plan, byte for byte.

The expected files live in ``tests/export/golden/<example>/<kind>/<file>``. After a deliberate
change to an exporter (or an example plan), rewrite them and review the diff:

    CAPPLAN_UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/export/test_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import capplan
from capplan.export import EXPORTERS

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
UPDATE = os.environ.get("CAPPLAN_UPDATE_GOLDEN") == "1"


def test_every_kind_is_registered() -> None:
    assert EXPORTERS.names() == [
        "alertmanager",
        "compose",
        "grafana",
        "kubernetes",
        "prometheus-config",
        "prometheus-rules",
    ]


@pytest.mark.parametrize("kind", EXPORTERS.names())
@pytest.mark.parametrize("example", EXAMPLES)
def test_matches_golden(example: str, kind: str) -> None:
    plan = capplan.load_plan(ROOT / "examples" / f"{example}.yaml")
    files = EXPORTERS.get(kind)(plan)
    assert files == EXPORTERS.get(kind)(plan), "output must be deterministic"
    folder = GOLDEN / example / kind
    if UPDATE:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8", newline="")
        (folder / ".keep").write_text("", encoding="utf-8")
    expected = {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted(folder.glob("*"))
        if p.is_file() and p.name != ".keep"
    }
    assert folder.is_dir(), (
        f"no golden files for {example}/{kind}; run with CAPPLAN_UPDATE_GOLDEN=1"
    )
    assert sorted(files) == sorted(expected), "generated file names differ from the golden ones"
    for name, text in files.items():
        assert text == expected[name], f"{example}/{kind}/{name} differs from its golden file"
