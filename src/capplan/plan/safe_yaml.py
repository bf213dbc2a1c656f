"""Reading YAML (and JSON) plan text within bounds: aliases, size and nesting are limited.

A YAML anchor can be referred to many times (``b: &b [*a, *a, *a]``), and aliases of aliases
multiply: 300 bytes can stand for a billion nodes once expanded. The parser's events are
counted as they are read, and the text is refused when it

- uses more than :attr:`YamlLimits.aliases` aliases (``*name``, ``<<: *name``),
- would hold more than :attr:`YamlLimits.nodes` nodes once every alias is expanded, or
- nests mappings and lists more than :attr:`YamlLimits.depth` deep (aliases included),

or when an alias refers to the node that contains it, or when a key is a mapping or a list.
Each refusal names the line, the field and the limit. The count stops the reading at the first
event past a limit, so a refusal costs no more than reading the text up to that point, and
nothing larger than the limits is built.

Scalars that YAML cannot turn into a value (an integer of 5,000 digits, ``!!bool maybe``) are
read as :class:`Unreadable` values carrying their line and the reason, so that the loader can
report them with their field path; a date that does not exist (``2026-13-01``) is kept as the
text it is, for the field that expects a date to reject.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    Event,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.parser import RoundTripParser
from ruamel.yaml.scanner import RoundTripScanner, ScannerError

from capplan.errors import Issue, PlanSyntaxError

__all__ = [
    "DEFAULT_LIMITS",
    "NUMBER_RANGE",
    "Unreadable",
    "YamlLimits",
    "check_limits",
    "load_yaml",
]


@dataclass(frozen=True)
class YamlLimits:
    """How much YAML a plan may hold; generous for real plans (the examples hold a few
    hundred nodes, no aliases and nest 6 deep)."""

    aliases: int = 100
    nodes: int = 100_000
    depth: int = 64


DEFAULT_LIMITS = YamlLimits()
COMPLEX_KEY = "has a mapping or list as a key; keys must be plain text or numbers"
NUMBER_RANGE = "numbers must lie within ±1.8e308, a float's range"


@dataclass(frozen=True)
class Unreadable:
    """A scalar YAML could not turn into a value: its text, line (1-based) and the reason."""

    text: str
    line: int
    reason: str


class _Frame:
    """One open mapping or list while the events are read."""

    __slots__ = ("anchor", "base", "deepest", "index", "is_map", "key", "nodes_at_start")

    def __init__(self, anchor: str | None, is_map: bool, base: int, nodes: int) -> None:
        self.anchor = anchor
        self.is_map = is_map
        self.base = base  # nesting depth outside this collection
        self.deepest = base + 1  # deepest nesting reached inside it, aliases expanded
        self.nodes_at_start = nodes
        self.index = 0  # items seen (a mapping counts keys and values)
        self.key: str = "?"


class _Count:
    """The running totals of :func:`check_limits`, and where the reading is."""

    def __init__(self, file: str, limits: YamlLimits) -> None:
        self.file, self.limits = file, limits
        self.nodes = self.aliases = self.depth = 0
        self.sizes: dict[str, int] = {}  # anchor → nodes it stands for, aliases expanded
        self.heights: dict[str, int] = {}  # anchor → levels of nesting it holds
        self.stack: list[_Frame] = []

    def refuse(self, message: str, event: Event) -> PlanSyntaxError:
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        path = ""
        for frame in self.stack:
            if not frame.is_map:
                path += f"[{frame.index}]"
            elif frame.index % 2 == 1:  # inside a value: name its key
                path += f".{frame.key}" if path else frame.key
        if len(path) > 100:  # a path 64 levels deep says no more than its ends
            path = f"{path[:50]}...{path[-40:]}"
        return PlanSyntaxError([Issue(message, path=path, file=self.file, line=line)])

    def item_done(self, reached: int) -> None:
        if self.stack:
            top = self.stack[-1]
            top.deepest = max(top.deepest, reached)
            if top.is_map and top.index % 2 == 1:
                top.key = "?"
            top.index += 1

    def alias(self, event: AliasEvent) -> None:
        self.aliases += 1
        name, limits = str(event.anchor), self.limits
        if self.aliases > limits.aliases:
            raise self.refuse(
                f"alias *{name} is one too many: at most {limits.aliases} aliases are allowed",
                event,
            )
        if name not in self.sizes:
            if any(frame.anchor == name for frame in self.stack):
                raise self.refuse(f"alias *{name} refers to the node that contains it", event)
            raise self.refuse(f"alias *{name} refers to no anchor &{name} before it", event)
        if self.at_key() and self.heights[name] > 0:
            raise self.refuse(f"{COMPLEX_KEY} (*{name} is one)", event)
        self.nodes += self.sizes[name]
        if self.nodes > limits.nodes:
            raise self.refuse(
                f"alias *{name} expands the plan past {limits.nodes:,} nodes, the limit "
                f"(*{name} alone stands for {self.sizes[name]:,})",
                event,
            )
        reached = self.depth + self.heights[name]
        if reached > limits.depth:
            raise self.refuse(
                f"alias *{name} nests the plan {reached} levels deep; at most "
                f"{limits.depth} levels are allowed",
                event,
            )
        self.item_done(reached)

    def at_key(self) -> bool:
        return bool(self.stack) and self.stack[-1].is_map and self.stack[-1].index % 2 == 0

    def node(self, event: NodeEvent) -> None:
        if self.at_key():
            if not isinstance(event, ScalarEvent):
                raise self.refuse(COMPLEX_KEY, event)
            self.stack[-1].key = str(event.value)[:80]
        self.nodes += 1
        if self.nodes > self.limits.nodes:
            raise self.refuse(f"holds more than {self.limits.nodes:,} nodes, the limit", event)
        anchor = None if event.anchor is None else str(event.anchor)
        if isinstance(event, CollectionStartEvent):
            is_map = isinstance(event, MappingStartEvent)
            self.stack.append(_Frame(anchor, is_map, self.depth, self.nodes - 1))
            self.depth += 1
            if self.depth > self.limits.depth:
                raise self.refuse(
                    f"nests more than {self.limits.depth} levels deep, the limit", event
                )
        else:
            if anchor is not None:
                self.sizes[anchor], self.heights[anchor] = 1, 0
            self.item_done(self.depth)

    def end(self) -> None:
        frame = self.stack.pop()
        self.depth = frame.base
        if frame.anchor is not None:
            self.sizes[frame.anchor] = self.nodes - frame.nodes_at_start
            self.heights[frame.anchor] = frame.deepest - frame.base
        self.item_done(frame.deepest)

    def feed(self, event: Event) -> None:
        if isinstance(event, AliasEvent):
            self.alias(event)
        elif isinstance(event, NodeEvent):
            self.node(event)
        elif isinstance(event, CollectionEndEvent) and self.stack:
            self.end()


def check_limits(events: Iterable[Event], file: str, limits: YamlLimits = DEFAULT_LIMITS) -> None:
    """Read parser events and raise :class:`PlanSyntaxError` at the first limit passed.

    Each collection's size and nesting are known when it ends, so an alias to it adds them
    without reading it again: the cost is one pass over the events, as written.
    """
    count = _Count(file, limits)
    for event in events:
        count.feed(event)


class _Scanner(RoundTripScanner):
    """The round-trip scanner with its simple-key bookkeeping in constant time per token.

    ruamel (as PyYAML) looks at every pending possible simple key for every token: each ``[``
    or ``{`` opens one, so ``[[[[...`` costs the square of its length (a second for 1,000).
    Possible keys are kept in the order they were found, which is also the order of their
    token numbers, lines and offsets: the nearest is the first, and the stale ones (on an
    earlier line, or over 1,024 characters back) come first.
    """

    def next_possible_simple_key(self) -> Any:
        for key in self.possible_simple_keys.values():
            return key.token_number
        return None

    def stale_possible_simple_keys(self) -> None:
        keys = self.possible_simple_keys
        if not keys:
            return
        line, index = self.reader.line, self.reader.index
        while keys:
            level = next(iter(keys))
            key = keys[level]
            if key.line == line and index - key.index <= 1024:
                return
            if key.required:
                raise ScannerError(
                    "while scanning a simple key",
                    key.mark,
                    "could not find expected ':'",
                    self.reader.get_mark(),
                )
            del keys[level]


class _CountingParser(RoundTripParser):
    """The round-trip parser, counting each event as the composer takes it: the composer
    builds (and recurses) only as far as the first limit passed."""

    def get_event(self) -> Any:
        event = super().get_event()
        self.loader.count.feed(event)
        return event


class _PlanConstructor(RoundTripConstructor):
    """The round-trip constructor, but a scalar it cannot build is a value, not an exception."""

    def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
        if not isinstance(node, ScalarNode):
            return super().construct_non_recursive_object(node, tag)
        try:
            return super().construct_non_recursive_object(node, tag)
        except MarkedYAMLError:
            raise
        except (ValueError, TypeError, KeyError, OverflowError, IndexError) as exc:
            text = str(node.value)
            if (tag or node.tag) == "tag:yaml.org,2002:timestamp":
                return text  # 2026-13-01: text, for the field to reject as a date
            kind = str(tag or node.tag).rsplit(":", 1)[-1]
            digits = sum(c.isdigit() for c in text)
            if kind == "int" and digits > 300:
                reason = f"is an integer of {digits:,} digits; {NUMBER_RANGE}"
            elif isinstance(exc, ValueError | OverflowError):
                reason = f"cannot be read as {kind}: {exc}"
            else:
                reason = f"cannot be read as {kind}"
            return Unreadable(text, node.start_mark.line + 1, reason)


def _syntax_error(exc: YAMLError, file: str) -> PlanSyntaxError:
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "malformed"
        return PlanSyntaxError(
            [Issue(f"is not valid YAML or JSON: {problem}", file=file, line=line)]
        )
    return PlanSyntaxError([Issue(f"is not valid YAML or JSON: {exc}", file=file)])


def load_yaml(text: str, file: str = "<plan>", limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """The YAML document in ``text`` (ruamel round-trip objects, so keys keep their lines),
    read within ``limits``; a :class:`PlanSyntaxError` names the line of any problem."""
    yaml = YAML(typ="rt")
    yaml.Scanner = _Scanner
    yaml.Parser = _CountingParser
    yaml.Constructor = _PlanConstructor
    yaml.count = _Count(file, limits)  # type: ignore[attr-defined]
    try:
        return yaml.load(text)
    except YAMLError as exc:
        raise _syntax_error(exc, file) from None
