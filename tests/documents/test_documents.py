"""Each example reproduces its capacity document figure by figure: every figure the audit
files list as reproduced matches, every inconsistency of a document pins both figures, and
each file's counts are the counts of its items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.documents.audit import KINDS, ROOT, STATUSES, Audit, audits, close, figure
from typer.testing import CliRunner

from capplan.cli import app

AUDITS = audits()
QUERIES = ("plan", "total", "event", "tier", "field", "command")


def _items(*statuses: str) -> list[Any]:
    return [
        pytest.param(audit, item, id=f"{audit.path.stem}:{item['id']}")
        for audit in AUDITS
        for item in audit.items
        if item["status"] in statuses
    ]


def test_every_audit_names_an_example() -> None:
    examples = {p.name for p in (ROOT / "examples").glob("*.yaml")}
    assert AUDITS
    assert {a.example.name for a in AUDITS} <= examples


@pytest.mark.parametrize("audit", AUDITS, ids=lambda a: a.path.stem)
def test_audit_is_well_formed_and_counted(audit: Audit) -> None:
    ids = [item["id"] for item in audit.items]
    assert len(ids) == len(set(ids)), "item ids must be unique"
    for item in audit.items:
        where = f"{audit.path.name}: {item.get('id')}"
        assert item["status"] in STATUSES, where
        assert item["kind"] in KINDS, where
        assert item.get("says"), f"{where}: 'says' quotes the document"
        queries = [q for q in QUERIES if q in item]
        if item["status"] in ("reproduced", "inconsistent"):
            assert len(queries) == 1, f"{where}: one of {QUERIES}"
            if queries != ["command"]:
                assert "document" in item, f"{where}: the document's figure"
        if item["status"] == "inconsistent":
            assert item.get("arithmetic"), f"{where}: the arithmetic that shows it"
            assert "capplan" in item or queries == ["command"], f"{where}: capplan's figure"
        if item["status"] in ("absent", "out_of_scope"):
            assert item.get("reason"), f"{where}: why"
    assert audit.counts == audit.tally()


@pytest.mark.parametrize(("audit", "item"), _items("reproduced", "inconsistent"))
def test_figure(audit: Audit, item: dict[str, Any], tmp_path: Path) -> None:
    if "command" in item:
        args = [str(a).format(example=audit.example, tmp=tmp_path) for a in item["command"]]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        text = result.output + "".join(
            p.read_text(encoding="utf-8") for p in sorted(tmp_path.rglob("*")) if p.is_file()
        )
        for needle in item["contains"]:
            assert str(needle) in text, f"{item['id']}: {needle!r} not in the output"
        return
    got = figure(audit, item)
    tolerance = item.get("tolerance")
    if item["status"] == "reproduced":
        assert close(got, float(item["document"]), tolerance), (
            f"{item['id']}: capplan {got!r}, the document {item['document']!r}"
        )
    else:
        assert close(got, float(item["capplan"]), tolerance), (
            f"{item['id']}: capplan {got!r}, pinned {item['capplan']!r}"
        )
        assert not close(got, float(item["document"]), tolerance), (
            f"{item['id']}: capplan now agrees with the document ({got!r}): reproduced?"
        )
