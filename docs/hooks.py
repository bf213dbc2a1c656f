"""MkDocs hook: the plan file reference is rendered from the plan's JSON Schema at build time.

``reference.md`` holds the page's introduction and a ``<!-- plan-reference -->`` line, which
this hook replaces with :func:`capplan.plan.reference.plan_reference`, so the field tables are
never written by hand and cannot drift from the models.
"""

from __future__ import annotations

from typing import Any

from mkdocs.exceptions import PluginError

from capplan.plan.reference import plan_reference

MARKER = "<!-- plan-reference -->"
PAGE = "reference.md"


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise PluginError(f"{PAGE} has no '{MARKER}' line to put the generated reference at")
    return markdown.replace(MARKER, plan_reference())
