"""The plan file reference as Markdown, rendered from the plan's JSON Schema.

Every object of the schema gets a section with the places it is used in a plan and a table of
its fields: type, default and description. The documentation site renders this at build time
(``docs/hooks.py``), so the reference cannot drift from the models.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["object_paths", "plan_reference", "schema_objects"]

ROOT = "Plan"
_MAX_PATHS = 3
# What the keys of a map stand for, in the paths shown (``drivers.<driver>.scenarios.<scenario>``).
_KEY_NAMES = {
    "drivers": "driver",
    "metrics": "metric",
    "components": "component",
    "thresholds": "threshold",
    "policies": "policy",
    "scenarios": "scenario",
    "receivers": "receiver",
}


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _children(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """(object name, plan path) of each object a schema node refers to, with the path of the
    value in a plan file (``drivers.<name>.growth``)."""
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        yield _ref_name(node["$ref"]), path
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key, []):
            yield from _children(sub, path)
    if isinstance(node.get("items"), dict):
        yield from _children(node["items"], f"{path}[]")
    for sub in node.get("prefixItems", []):
        yield from _children(sub, f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        key = _KEY_NAMES.get(path.rsplit(".", 1)[-1], "name")
        yield from _children(node["additionalProperties"], f"{path}.<{key}>")


def schema_objects(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every object of the schema by name, the plan itself (``Plan``) first, then the others
    in the order a plan file reaches them."""
    defs: dict[str, dict[str, Any]] = schema.get("$defs", {})
    order = [ROOT, *(name for name, _ in _walk(schema) if name != ROOT)]
    objects = {ROOT: schema}
    objects.update({name: defs[name] for name in order if name in defs})
    objects.update({name: body for name, body in defs.items() if name not in objects})
    return objects


def _walk(schema: dict[str, Any]) -> list[tuple[str, str]]:
    """(object, path) pairs breadth first from the top level, each object once per path."""
    defs: dict[str, dict[str, Any]] = schema.get("$defs", {})
    seen: set[tuple[str, str]] = set()
    found: list[tuple[str, str]] = [(ROOT, "")]
    queue = [(ROOT, "", schema)]
    while queue:
        _, path, body = queue.pop(0)
        for field, prop in body.get("properties", {}).items():
            where = f"{path}.{field}" if path else field
            for child, child_path in _children(prop, where):
                if (child, child_path) in seen or child not in defs:
                    continue
                seen.add((child, child_path))
                found.append((child, child_path))
                if len(found) < 10_000:  # recursive schemas stop here
                    queue.append((child, child_path, defs[child]))
    return found


def object_paths(schema: dict[str, Any]) -> dict[str, list[str]]:
    """The places (``components.<name>.price``) each object of the schema is used at."""
    out: dict[str, list[str]] = {}
    for name, path in _walk(schema):
        if path and path not in out.setdefault(name, []):
            out[name].append(path)
    return out


def _anchor(name: str) -> str:
    return name.lower()


def _link(name: str) -> str:
    return f"[{name}](#{_anchor(name)})"


def _bounds(node: dict[str, Any]) -> str:
    parts = []
    for key, sign in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
    ):
        if key in node:
            parts.append(f"{sign} {_number(node[key])}")
    if "minLength" in node and node["minLength"] > 0:
        parts.append("not empty")
    return f" ({', '.join(parts)})" if parts else ""


def _size(node: dict[str, Any]) -> str:
    least = node.get("minItems", node.get("minProperties", 0))
    return f", at least {least}" if least else ""


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def type_text(node: Any) -> str:
    """A schema node as words: ``number (≥ 0)``, ``list of [Step](#step)``, ``map of ...``."""
    if not isinstance(node, dict) or not node:
        return "any"
    if "$ref" in node:
        return _link(_ref_name(node["$ref"]))
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    for key in ("oneOf", "anyOf"):
        if key in node:
            options = [sub for sub in node[key] if sub.get("type") != "null"]
            text = " or ".join(type_text(sub) for sub in options)
            if len(options) < len(node[key]):
                text += " or `null`"
            return text
    kind = node.get("type")
    if kind == "array":
        if "prefixItems" in node:
            return "[" + ", ".join(type_text(s) for s in node["prefixItems"]) + "]"
        return f"list of {type_text(node.get('items'))}{_size(node)}"
    if kind == "object":
        values = node.get("additionalProperties")
        return f"map of name → {type_text(values)}{_size(node)}"
    if kind == "string" and node.get("format") == "date":
        return "date"
    if isinstance(kind, str):
        return f"{kind}{_bounds(node)}"
    return "any"


def _cell(text: str) -> str:
    """Text fit for one table cell: one line, pipes escaped."""
    return re.sub(r"\s+", " ", text).replace("|", "\\|").strip()


def _default(name: str, prop: dict[str, Any], required: set[str]) -> str:
    if name in required:
        return "required"
    if "default" not in prop:
        return "empty" if prop.get("type") in ("object", "array") else ""
    value = prop["default"]
    if value is None:
        return ""
    return f"`{json.dumps(value)}`"


def _description(prop: dict[str, Any], defs: dict[str, dict[str, Any]]) -> str:
    if "description" in prop:
        return str(prop["description"])
    refs = [n for n, _ in _children(prop, "") if n in defs]
    if len(refs) == 1:
        first = str(defs[refs[0]].get("description", "")).split("\n\n")[0]
        return first
    return ""


def _discriminator(body: dict[str, Any]) -> str:
    """``kind: "hpa"`` for an object that is one member of a tagged union."""
    for field in ("kind", "model"):
        const = body.get("properties", {}).get(field, {}).get("const")
        if const is not None:
            return f"`{field}: {const}`"
    return ""


def object_section(
    name: str, body: dict[str, Any], defs: dict[str, dict[str, Any]], paths: list[str]
) -> str:
    """One object's section: a heading, where it is used, its description and its fields."""
    title = "Top level" if name == ROOT else name
    tag = _discriminator(body)
    lines = [f"## {title} {{#{_anchor(name)}}}", ""]
    where = [f"`{p}`" for p in paths[:_MAX_PATHS]]
    if len(paths) > _MAX_PATHS:
        where.append(f"and {len(paths) - _MAX_PATHS} more")
    if where or tag:
        said = f"At {', '.join(where)}" if where else ""
        if tag:
            said = f"{said}, with {tag}" if said else f"With {tag}"
        lines += [said + ".", ""]
    description = str(body.get("description", "")).strip()
    if description and name != ROOT:
        lines += [re.sub(r"\s*\n\s*", " ", description), ""]
    properties: dict[str, Any] = body.get("properties", {})
    if not properties:
        return "\n".join(lines)
    required = set(body.get("required", []))
    lines += ["| field | type | default | description |", "|---|---|---|---|"]
    tag_field = tag.strip("`").split(":")[0] if tag else None
    ordered = sorted(properties.items(), key=lambda item: item[0] != tag_field)
    for field, prop in ordered:
        cells = (
            f"`{field}`",
            type_text(prop),
            _default(field, prop, required),
            _description(prop, defs),
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines.append("")
    return "\n".join(lines)


def plan_reference(schema: dict[str, Any] | None = None) -> str:
    """The whole reference: a section per object of the plan's schema (by default the schema
    ``capplan schema`` prints), top level first."""
    if schema is None:
        from capplan.plan.models import Plan

        schema = Plan.model_json_schema(by_alias=True)
    defs: dict[str, dict[str, Any]] = schema.get("$defs", {})
    paths = object_paths(schema)
    sections = [
        object_section(name, body, defs, paths.get(name, []))
        for name, body in schema_objects(schema).items()
    ]
    return "\n".join(sections).rstrip() + "\n"
