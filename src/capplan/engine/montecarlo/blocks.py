"""Evaluating a large batch of paths a block of rows at a time.

For 10,000 paths each figure is an array of a few MB, larger than a core's cache: a chain of
NumPy operations on whole arrays sends every intermediate result through main memory, and
each fresh array costs page faults. Evaluated a block of rows at a time, the intermediates of
one step stay in the cache and only the step's results are written out whole.

Every operation of the engine works element by element along the paths (nothing mixes two
paths), so the figures are the same to the bit whatever the block size. :class:`Gather`
assembles the blocks' results and keeps which results are the same array (the engine finds
how figures follow from one another by identity) and which repeat one row on every path.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from capplan._types import AnyArray

__all__ = [
    "BLOCK_CELLS",
    "DEFAULT_TUNING",
    "DEFER_CELLS",
    "Buffers",
    "Gather",
    "Tuning",
    "row_blocks",
    "rows_of",
]

#: Cells (paths × periods) of one block: 512 KB per float64 array, so that a step's
#: intermediates mostly stay in a core's L2 cache while the per-block overhead stays small
#: (benchmarks/bench_plan.py ran fastest with this size among 16k to 128k cells).
BLOCK_CELLS = 65_536
#: Batches of more cells (paths × periods) than this add up contributions at the end, in
#: blocks of this many cells: small enough for a block of every total and a component's
#: amounts to stay in a core's cache. Smaller batches (a deterministic run) add each
#: component as it is sized, which costs less there. (See :mod:`.contributions`.)
DEFER_CELLS = 16_384


@dataclass(frozen=True)
class Tuning:
    """How the fast engine splits its work: the figures do not depend on it (tests split
    small runs into many blocks with small values)."""

    block_cells: int = BLOCK_CELLS
    defer_cells: int = DEFER_CELLS


DEFAULT_TUNING = Tuning()


K = TypeVar("K", bound=Hashable)


def row_blocks(paths: int, periods: int, cells: int = BLOCK_CELLS) -> list[slice]:
    """Slices of rows (paths) covering ``range(paths)``, each of about ``cells`` cells."""
    rows = max(1, cells // max(1, periods))
    if paths <= rows:
        return [slice(0, paths)]
    count = -(-paths // rows)  # blocks of nearly equal size
    bounds = np.linspace(0, paths, count + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def rows_of(env: Mapping[str, AnyArray], names: Iterable[str], rows: slice) -> dict[str, AnyArray]:
    """The rows ``rows`` of the arrays named ``names`` (views, no copies)."""
    return {name: env[name][rows] for name in names if name in env}


class Buffers:
    """Arrays handed back once used, handed out again for the same shape and type: a fresh
    array of a few MB costs a page fault per 4 KB on first touch, a reused one none."""

    def __init__(self) -> None:
        self.free: dict[tuple[tuple[int, ...], np.dtype[Any]], list[AnyArray]] = {}

    def take(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> AnyArray:
        """An array of ``shape`` and ``dtype`` whose values are undefined."""
        stack = self.free.get((shape, dtype))
        return stack.pop() if stack else np.empty(shape, dtype)

    def give(self, array: AnyArray) -> None:
        """Hand ``array`` back: nothing may read or write it afterwards."""
        self.free.setdefault((array.shape, array.dtype), []).append(array)


class _Slot:
    """One assembled array: a row repeated on every path until a block differs, then a full
    array, stored period by period (``transposed``) or path by path."""

    def __init__(
        self,
        shape: tuple[int, int],
        rows: slice,
        block: AnyArray,
        transposed: bool,
        buffers: Buffers,
    ) -> None:
        self.shape = shape
        self.transposed = transposed
        self.buffers = buffers
        self.full: AnyArray | None = None
        self.row: AnyArray | None = None
        if block.strides[0] == 0:
            self.row = block[0].copy()
        else:
            self._materialize(rows, block)

    def _materialize(self, rows: slice, block: AnyArray) -> None:
        if self.transposed:
            full = self.buffers.take(self.shape[::-1], block.dtype).T
        else:
            full = np.empty(self.shape, dtype=block.dtype)
        if self.row is not None:
            full[: rows.start] = self.row
        full[rows] = block
        self.full, self.row = full, None

    def write(self, rows: slice, block: AnyArray) -> None:
        if self.full is not None:
            self.full[rows] = block
        elif not (
            block.strides[0] == 0
            and self.row is not None
            and np.array_equal(block[0], self.row, equal_nan=True)
        ):
            self._materialize(rows, block)

    def result(self) -> AnyArray:
        if self.full is not None:
            return self.full
        assert self.row is not None
        return np.broadcast_to(self.row, self.shape)

    def copy(self) -> _Slot:
        """A slot of its own holding what this one holds so far."""
        twin = copy.copy(self)
        twin.full = None if self.full is None else self.full.copy(order="K")
        twin.row = None if self.row is None else self.row.copy()
        return twin


class Gather(Generic[K]):
    """Assembles named arrays computed block by block into arrays of the whole ``shape``.

    Names whose arrays are the same object in a block get the same assembled array; an array
    that repeats one row on every path in every block stays a read-only broadcast of that row.
    The arrays named in ``transposed`` are stored period by period (their ``.T`` is
    C-contiguous), the layout in which order statistics over paths are found, in arrays taken
    from ``buffers`` when given.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        transposed: Collection[K] = (),
        buffers: Buffers | None = None,
    ) -> None:
        self.shape = shape
        self.transposed = transposed
        self.buffers = buffers or Buffers()
        self.slots: dict[K, _Slot] = {}
        self.same_as: dict[K, K] = {}  # name → the first name holding the same array

    def add(self, rows: slice, arrays: Mapping[K, AnyArray]) -> None:
        """The block of rows ``rows`` of every named array (each of shape (rows, periods))."""
        shape = (rows.stop - rows.start, self.shape[1])
        names = list(arrays)
        for i, (name, block) in enumerate(arrays.items()):
            # The first name holding the same array object in this block.
            owner = next(other for other in names[: i + 1] if arrays[other] is block)
            if block.shape != shape:
                block = np.broadcast_to(block, shape)
            if name not in self.slots and name not in self.same_as:  # the first block
                if owner != name:
                    self.same_as[name] = owner
                else:
                    transposed = name in self.transposed
                    self.slots[name] = _Slot(self.shape, rows, block, transposed, self.buffers)
                continue
            if self.same_as.get(name) == owner:
                continue
            if name in self.same_as:  # no longer the same array: a copy of its own from here
                self.slots[name] = self.slots[self.same_as.pop(name)].copy()
            self.slots[name].write(rows, block)

    def result(self) -> dict[K, AnyArray]:
        """Every named array, whole; names that shared an array share the assembled one."""
        done = {name: slot.result() for name, slot in self.slots.items()}
        for name, owner in self.same_as.items():
            done[name] = done[owner]
        return done
