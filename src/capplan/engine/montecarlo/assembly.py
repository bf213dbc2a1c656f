"""Which arrays of a component sized block by block are assembled whole, and how.

A component of a large batch is sized one block of paths at a time. On its first block, the
fast engine decides (:meth:`Assembly.decide`) which of the block's arrays (:class:`Part`: its
level, an output or an expression's result) it gathers over every block: the outputs that
follow from no other array, those read later or asked for, and the arrays others follow
from. Of those, the ones only the Monte Carlo summary reads are *spare*: stored period by
period, for the summary to reorder in place.

One array may stand for several parts (a tier's ``demand`` output is its demand
expression's result): parts are told apart by name, arrays by identity (``is``), as the
first block hands them over.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from capplan._types import AnyArray
from capplan.engine.montecarlo.derivations import Derived
from capplan.sizing.result import Sized

__all__ = ["ADDS", "Assembly", "Part", "block_parts"]


@dataclass(frozen=True)
class Part:
    """One array of a component's block: its ``level``, an ``output`` or an ``input`` (an
    expression's result) named ``key``, or the array its summed amounts follow from
    (``adds``)."""

    kind: Literal["level", "output", "input", "adds"]
    key: str = ""


#: The part holding what a component adds to the totals at the end.
ADDS = Part("adds")


def block_parts(
    s: Sized, outputs: Mapping[str, AnyArray], inputs: Mapping[str, AnyArray]
) -> dict[Part, AnyArray]:
    """Every array of one block: its level, outputs and expressions' results."""
    parts: dict[Part, AnyArray] = {}
    if s.level is not None:
        parts[Part("level")] = s.level
    parts.update({Part("output", key): value for key, value in outputs.items()})
    parts.update({Part("input", key): value for key, value in inputs.items()})
    return parts


def _holds(arrays: Collection[AnyArray], values: AnyArray) -> bool:
    return any(values is other for other in arrays)


@dataclass(frozen=True)
class Assembly:
    """What is gathered of a component over its blocks, decided on its first block."""

    first: dict[Part, AnyArray]  # the first block's arrays
    gathered: tuple[Part, ...]  # assembled whole over the blocks
    spare: frozenset[Part]  # of those, the ones only the summary reads

    @classmethod
    def decide(
        cls, first: dict[Part, AnyArray], derived: Mapping[str, Derived], kept: Collection[str]
    ) -> Assembly:
        """``derived``: how outputs follow from others on the first block; ``kept``: the
        outputs read later or asked for. (The level is never gathered: the summary counts
        it from the sizing of each block.)"""
        # The arrays whose order statistics others are derived from (a derived source's
        # follow from its own source, so its values are not needed).
        sources = []
        for how in derived.values():
            link: Derived | None = how
            while link is not None:
                if link.parent is None and link.values is not None:
                    sources.append(link.values)
                link = link.parent
        shared = [
            arr
            for part, arr in first.items()
            if _holds(sources, arr) or (part.kind != "level" and part.key in kept)
        ]
        gathered = tuple(
            part
            for part, arr in first.items()
            if part.kind != "level"
            and (_holds(shared, arr) or (part.kind == "output" and part.key not in derived))
        )
        spare = frozenset(part for part in gathered if not _holds(shared, first[part]))
        return cls(first, gathered, spare)

    def outputs_read(self) -> set[str]:
        """The outputs gathered: what sizing after the first block must compute."""
        return {part.key for part in self.gathered if part.kind == "output"}

    def rebase(self, derived: Derived, whole: Mapping[Part, AnyArray]) -> Derived:
        """``derived`` (and its parents) found on the first block, for the arrays gathered
        from every block (``whole``): an array of the first block that was gathered is
        swapped for the whole one; another one was not gathered and is dropped, which only a
        derived source or a component's level may be; an array from elsewhere (a figure
        assembled before) stays."""
        parent = None if derived.parent is None else self.rebase(derived.parent, whole)
        values = derived.values
        if values is not None:
            gathered = [part for part in self.gathered if self.first[part] is values]
            if gathered:
                values = whole[gathered[0]]
            elif _holds(list(self.first.values()), values):
                assert parent is not None or derived.source.endswith(".level"), derived.source
                values = None
        return Derived(derived.source, values, derived.apply, parent)
