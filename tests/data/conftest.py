"""Shared paths and helpers for the metric-data tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
NAB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nab"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def nab() -> Path:
    assert NAB.is_dir(), f"the NAB evaluation data is missing: {NAB} (see shared/data/README.md)"
    return NAB


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``text`` to a file named ``name`` in a temporary directory; return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write
