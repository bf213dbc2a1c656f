"""The documentation is complete: the README's plan reference names every field the schema
accepts, in the table of its object."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from capplan.plan.models import Plan
from capplan.plan.reference import schema_objects

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SCHEMA: dict[str, Any] = Plan.model_json_schema(by_alias=True)
MARKER = re.compile(r"^<!-- fields: ([\w ]+) -->$")


def reference_tables(text: str) -> list[tuple[set[str], str]]:
    """(objects, table text) of each table of the README's plan reference, the objects named
    by the ``<!-- fields: A B -->`` line above the table."""
    section = text.split("\n## Plan file reference\n", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    tables = []
    for i, line in enumerate(lines):
        found = MARKER.match(line.strip())
        if found:
            rows = []
            for row in lines[i + 1 :]:
                if not row.startswith("|"):
                    break
                rows.append(row)
            assert rows, f"no table below {line!r}"
            tables.append((set(found.group(1).split()), "\n".join(rows)))
    return tables


def names_in(table: str) -> set[str]:
    """Every word inside backticks in a table: `x`, `budget.per`, `{vcpu, memory_gb}`."""
    spans = re.findall(r"`([^`]+)`", table)
    return {word for span in spans for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span)}


def test_readme_plan_reference_names_every_field_of_the_schema() -> None:
    tables = reference_tables(README.read_text(encoding="utf-8"))
    objects = schema_objects(SCHEMA)
    tabled = {name for names, _ in tables for name in names}
    unknown = sorted(tabled - set(objects))
    assert not unknown, f"README marks tables for objects the schema does not have: {unknown}"
    missing = [f"{name} (no table)" for name in objects if name not in tabled]
    for name, body in objects.items():
        shown: set[str] = set()
        for names, table in tables:
            if name in names:
                shown |= names_in(table)
        missing += [f"{name}.{field}" for field in body.get("properties", {}) if field not in shown]
    assert not missing, f"missing from the README's plan reference tables: {', '.join(missing)}"


def test_reference_tables_are_found() -> None:
    text = "\n## Plan file reference\n\n<!-- fields: A B -->\n| f |\n|---|\n| `x` |\n\n## Next\n"
    ((names, table),) = reference_tables(text)
    assert names == {"A", "B"}
    assert names_in(table) == {"x"}
