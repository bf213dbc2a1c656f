"""Reading plan files: YAML or JSON text → validated :class:`Plan`, errors with line numbers.

ruamel.yaml keeps the line of every key, so a validation error found by pydantic (which only
knows field paths) can be reported as ``plan.yaml:14 components.api.capacity_per_instance``.
JSON is read by the same parser (JSON is YAML 1.2), so it gets line numbers too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from capplan.errors import Issue, PlanError, PlanSyntaxError, PlanValidationError, line_for
from capplan.plan.base import suggest
from capplan.plan.models import Plan
from capplan.plan.safe_yaml import DEFAULT_LIMITS, NUMBER_RANGE, Unreadable, YamlLimits, load_yaml

__all__ = ["apply_overrides", "format_path", "load_plan", "parse_plan_text", "parse_set_option"]


def format_path(parts: tuple[Any, ...] | list[Any]) -> str:
    """``('components', 'db', 'rungs', 2, 'price')`` → ``components.db.rungs[2].price``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# Integers are computed with as floats: one beyond a float's range is a typo or an attack (its
# decimal text may not even be printable: Python refuses ints of over 4,300 digits).
_INT_LIMIT = 2**1024


def _unreadable(node: Unreadable, path: tuple[Any, ...]) -> PlanSyntaxError:
    text = node.text if len(node.text) <= 40 else f"{node.text[:20]}...{node.text[-10:]}"
    return PlanSyntaxError(
        [Issue(f"{node.reason}, got '{text}'", format_path(path), None, node.line)]
    )


def _big_int(value: int, path: tuple[Any, ...], lines: dict[str, int]) -> PlanValidationError:
    digits = int(value.bit_length() * 0.30103) + 1
    return PlanValidationError(
        [
            Issue(
                f"is an integer of about {digits:,} digits; {NUMBER_RANGE}",
                format_path(path),
                None,
                line_for(format_path(path), lines),
            )
        ]
    )


# Lone UTF-16 surrogates ("\ud800" in a quoted YAML string) are not characters: no UTF-8 text,
# JSON answer or validator can hold them.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(text: str, path: tuple[Any, ...], lines: dict[str, int]) -> str:
    bad = _SURROGATE.search(text)
    if bad is not None:
        where = format_path(path)
        raise PlanSyntaxError(
            [
                Issue(
                    f"holds {bad.group()!a}, which is not a character (a lone UTF-16 surrogate)",
                    where,
                    None,
                    line_for(where, lines),
                )
            ]
        )
    return str(text)


def _key(key: Any, path: tuple[Any, ...], lines: dict[str, int]) -> str:
    if isinstance(key, Unreadable):
        raise _unreadable(key, path)
    if isinstance(key, str):
        return _text(key, path, lines)
    if isinstance(key, int) and not isinstance(key, bool) and abs(key) >= _INT_LIMIT:
        raise _big_int(key, path, lines)
    return str(key)


def _plain(node: Any, path: tuple[Any, ...], lines: dict[str, int]) -> Any:
    """Plain dicts, lists and scalars from ruamel's round-trip nodes, recording key lines.

    The text was bounded by :func:`~capplan.plan.safe_yaml.load_yaml` (depth, and nodes once
    aliases are expanded), so the recursion and the copies it makes are bounded too.
    """
    if isinstance(node, Mapping):
        out: dict[Any, Any] = {}
        lc = getattr(node, "lc", None)
        for key, value in node.items():
            sub = (*path, _key(key, path, lines))
            if lc is not None:
                with contextlib.suppress(KeyError, TypeError, AttributeError):
                    lines[format_path(sub)] = lc.key(key)[0] + 1
            out[sub[-1]] = _plain(value, sub, lines)
        return out
    if isinstance(node, list):
        items = []
        lc = getattr(node, "lc", None)
        for i, value in enumerate(node):
            sub = (*path, i)
            if lc is not None:
                with contextlib.suppress(KeyError, TypeError, AttributeError, IndexError):
                    lines[format_path(sub)] = lc.item(i)[0] + 1
            items.append(_plain(value, sub, lines))
        return items
    if isinstance(node, Unreadable):
        raise _unreadable(node, path)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        if abs(node) >= _INT_LIMIT:
            raise _big_int(node, path, lines)
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, dt.datetime):
        return node.date() if (node.hour, node.minute, node.second) == (0, 0, 0) else node
    if isinstance(node, dt.date):
        return dt.date(node.year, node.month, node.day)
    if isinstance(node, str):
        return _text(node, path, lines)
    return node


def parse_plan_text(
    text: str, file: str = "<plan>", limits: YamlLimits = DEFAULT_LIMITS
) -> tuple[dict[str, Any], dict[str, int]]:
    """The plan as plain data and a map of field path → line number.

    Aliases, size and nesting are bounded by ``limits`` (see :mod:`capplan.plan.safe_yaml`)
    before anything is built, so hostile text is refused in the time it takes to read it.
    """
    data = load_yaml(text, file, limits)
    if data is None:
        raise PlanSyntaxError.single(
            "is empty; expected a mapping with 'system' and 'drivers'", file=file, line=1
        )
    lines: dict[str, int] = {}
    try:
        plain = _plain(data, (), lines)
    except PlanError as exc:
        raise exc.with_file(file) from None
    if not isinstance(plain, dict):
        raise PlanSyntaxError.single(
            f"must be a mapping at the top level, got {type(plain).__name__}", file=file, line=1
        )
    return plain, lines


def parse_set_option(text: str) -> tuple[str, Any]:
    """``drivers.users.initial=10000`` → ``('drivers.users.initial', 10000)``; the value is
    read as a YAML scalar so numbers, booleans and lists keep their types."""
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise ValueError(f"expected PATH=VALUE such as drivers.users.initial=10000, got '{text}'")
    if not raw.strip():
        return path.strip(), ""
    try:
        value = _plain(load_yaml(raw, "--set"), (), {})
    except PlanError as exc:
        reasons = "; ".join(str(Issue(i.message, path=i.path)) for i in exc.issues)
        raise ValueError(f"the value of {path.strip()} {reasons}") from None
    return path.strip(), value


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with each dotted path set (``rungs.2.price`` or ``rungs[2].price``)."""
    import copy

    out = copy.deepcopy(data)
    for dotted, value in overrides.items():
        parts = [p for p in dotted.replace("[", ".").replace("]", "").split(".") if p]
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            where = ".".join(parts[: i + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise PlanValidationError.single(
                        f"cannot set '{dotted}': '{part}' is not an index of a list of "
                        f"{len(node)} items",
                        path=where,
                    )
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {})
            else:
                raise PlanValidationError.single(
                    f"cannot set '{dotted}': '{'.'.join(parts[:i])}' is a value, not a mapping",
                    path=where,
                )
    return out


_UNION_TAGS = frozenset(
    {
        "horizontal",
        "vertical",
        "tiers",
        "formula",
        "compound",
        "annual",
        "linear",
        "logistic",
        "points",
        "none",
    }
)


def _clean_loc(data: Any, loc: tuple[Any, ...]) -> list[Any]:
    """Pydantic's error location without union tags and validator names, following the data."""
    out: list[Any] = []
    node: Any = data
    tag_skipped = False
    for part in loc:
        if (
            not tag_skipped
            and isinstance(node, dict)
            and isinstance(part, str)
            and part in (node.get("kind"), node.get("model"))
        ):
            # The discriminator tag of a union member (``tiers`` for ``kind: tiers``) comes
            # first, even when the member also has a field of that name (``tiers: [...]``).
            tag_skipped = True
            continue
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            out.append(part)
            node = node[part]
            tag_skipped = False
        elif (
            isinstance(node, dict)
            and isinstance(part, str)
            and (
                (not tag_skipped and part in _UNION_TAGS)
                or "[" in part
                or part.startswith(("function-", "str", "int", "float", "date", "Level", "list"))
            )
        ):
            continue  # a union tag or a validator's name, not a field
        else:
            if not isinstance(part, str) or not part.startswith(("function-", "union")):
                out.append(part)
            node = None
    return out


def _issues_from(exc: ValidationError, data: Any, context: dict[str, Any]) -> list[Issue]:
    unknown: dict[str, set[str]] = context.get("unknown_fields", {})
    issues: list[Issue] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False):
        loc = _clean_loc(data, tuple(err["loc"]))
        path = format_path(loc)
        kind = err["type"]
        got = err.get("input")
        if kind == "extra_forbidden":
            field = str(loc[-1]) if loc else "?"
            message = f"is not a known field{suggest(field, unknown.get(field, set()))}"
            allowed = sorted(unknown.get(field, set()))
            if allowed:
                message += f"; expected one of: {', '.join(allowed)}"
        elif kind == "missing":
            message = "is required but missing"
        elif kind == "union_tag_invalid":
            tag = err.get("ctx", {}).get("tag", got)
            expected = err.get("ctx", {}).get("expected_tags", "")
            message = f"has an unknown kind '{tag}'; expected one of: {expected}"
        elif kind == "union_tag_not_found":
            discriminator = err.get("ctx", {}).get("discriminator", "kind").strip("'")
            message = f"needs a '{discriminator}' field"
        else:
            text = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            message = f"{text[0].lower()}{text[1:]}" if text else "is invalid"
            if kind not in {"value_error", "assertion_error"} and not isinstance(got, dict | list):
                message = f"{message}, got {got!r}"
            message = f"is invalid: {message}" if kind != "value_error" else message
        key = (path, message)
        if key not in seen:
            seen.add(key)
            issues.append(Issue(message, path=path))
    return issues


def validate_plan_data(data: dict[str, Any], file: str, lines: dict[str, int]) -> Plan:
    """Validate plain plan data; every problem is reported at once, each with its line."""
    from capplan.plan.compiled import compile_plan
    from capplan.plan.partial import valid_part_issues

    context: dict[str, Any] = {}
    try:
        plan = Plan.model_validate(data, context=context)
    except ValidationError as exc:
        # The whole-plan checks (expressions, names) of the parts that are valid are reported
        # with the field errors, so that one run lists every problem.
        issues = _issues_from(exc, data, context) + valid_part_issues(data)
        raise PlanValidationError(issues).with_file(file, lines) from None
    plan._source = file
    plan._lines = lines
    from capplan.plan.loadtest_capacity import resolve_loadtests

    resolve_loadtests(plan, file, lines)  # capacity_per_instance: {loadtest: ...}
    compile_plan(plan)  # cross-checks: names, cycles, scenarios
    return plan


def load_plan(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Plan:
    """Read, validate and cross-check a plan file (YAML or JSON).

    ``overrides`` maps dotted field paths to values set before validation, as the CLI's
    ``--set drivers.users.initial=10000`` does. ``-`` reads the plan from standard input.
    """
    file = str(path)
    if file == "-":
        file = "<stdin>"
        try:
            text = sys.stdin.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise PlanSyntaxError.single(f"cannot be read: {exc}", file=file) from None
        return _plan_from_text(text, file, overrides)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanSyntaxError.single("does not exist", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanSyntaxError.single(f"cannot be read: {exc}", file=file) from None
    return _plan_from_text(text, file, overrides)


def _plan_from_text(text: str, file: str, overrides: Mapping[str, Any] | None) -> Plan:
    data, lines = parse_plan_text(text, file)
    if overrides:
        try:
            data = apply_overrides(data, overrides)
        except PlanValidationError as exc:
            raise exc.with_file(file, lines) from None
    return validate_plan_data(data, file, lines)
