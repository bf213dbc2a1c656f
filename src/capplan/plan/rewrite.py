"""Plan text with some fields changed, everything else kept: comments, order, flow or block
style and quoting of a YAML plan (ruamel.yaml's round trip), or a JSON plan as JSON.

Changes are dotted field paths (``drivers.users.growth.rate``) → values, as ``--set`` takes
them; a mapping missing on the way is created.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from capplan.errors import PlanSyntaxError
from capplan.plan.safe_yaml import load_yaml

__all__ = ["rewrite_plan_text"]


def _set(root: Any, dotted: str, value: Any, mapping: type) -> None:
    parts = dotted.split(".")
    node = root
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
            continue
        if part not in node or node[part] is None:
            node[part] = mapping()
        node = node[part]
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def _indents(text: str) -> tuple[int, int]:
    """The text's mapping indent and how far a list's dash sits inside its key (2 and 2 when
    the text does not tell)."""
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    indent = offset = None
    for above, line in itertools.pairwise(lines):
        col_above = len(above) - len(above.lstrip())
        col = len(line) - len(line.lstrip())
        if not above.rstrip().endswith(":"):
            continue
        if line.lstrip().startswith("- "):
            offset = col - col_above if offset is None else offset
        elif col > col_above:
            indent = col - col_above if indent is None else indent
        if indent is not None and offset is not None:
            break
    return indent or 2, 2 if offset is None else offset


def rewrite_plan_text(text: str, changes: Mapping[str, Any], file: str = "plan") -> str:
    """``text`` (a YAML or JSON plan) with ``changes`` set, the rest as it was."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanSyntaxError.single(f"is not valid JSON: {exc}", file=file) from None
        for path, value in changes.items():
            _set(data, path, value, dict)
        return json.dumps(data, indent=2) + "\n"
    load_yaml(text, file)  # within the limits every plan is read in
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # long lines stay as they were written
    data = yaml.load(text)
    indent, offset = _indents(text)
    yaml.indent(mapping=indent, sequence=indent + offset, offset=offset)
    for path, value in changes.items():
        _set(data, path, value, CommentedMap)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
