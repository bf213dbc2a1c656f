"""Where the fast engine hands its figures: a :class:`ColumnSink` receives each sizing and
figure as soon as it is final (the Monte Carlo summary is one); :class:`Collect` keeps them
all."""

from __future__ import annotations

from typing import Protocol

from capplan.engine.montecarlo.derivations import Derived
from capplan.sizing.result import Array, Sized

__all__ = ["Collect", "ColumnSink"]


class ColumnSink(Protocol):
    """Receives the figures of a run as they are computed (see :func:`stream`)."""

    def column(
        self,
        name: str,
        values: Array | None,
        derived: Derived | None = None,
        spare: bool = False,
    ) -> None:
        """One figure, shape (paths, periods + 1), final; with ``derived`` when it is a
        non-decreasing function of one other array. ``values`` is None only when streaming,
        for a derived figure that nothing else reads and the sink did not ask to keep.
        ``spare`` says nothing else reads the values either: the sink may reorder them in
        place (they are then stored period by period, ``values.T`` being C-contiguous), and
        must not keep them, as their memory is reused once the call returns."""

    def component(self, name: str, sized: Sized, rows: slice) -> None:
        """The sizing of a component for the paths ``rows``, handed over before the
        component's columns: once for all paths, or once per block of paths when streaming.
        A figure derived from the level (``f"{name}.level"``) comes without the level's
        values: the sink finds its order statistics from these blocks."""


class Collect:
    """A sink that keeps everything, in the order the figures were computed."""

    def __init__(self) -> None:
        self.values: dict[str, Array] = {}
        self.sized: dict[str, Sized] = {}

    def column(self, name: str, values: Array | None, *how: object, **_: object) -> None:
        """(How a figure follows from another matters to summaries only.)"""
        assert values is not None, "evaluate_fast() assembles every figure"
        self.values[name] = values

    def component(self, name: str, sized: Sized, rows: slice) -> None:
        self.sized[name] = sized
