"""Metric frames: metric history in long, columnar form, held as NumPy arrays.

A :class:`MetricFrame` is what every reader returns and what the store loads: one entry per
observation (series, timestamp, value). The series are categorical: ``codes`` (int32, one per
point) index ``names`` (one per series), so a fleet of 100,000 series costs four bytes a point
rather than a Python string. Each series also has labels and a kind (gauge or counter).

Timestamps are ``datetime64[s]`` in UTC; values are float64.

Duplicate timestamps within a series: the LAST observation in input order is kept (a later row
corrects an earlier one, as in an append-only export) and the number dropped is reported in a
:class:`FrameWarning`. Readers never print: they attach warnings (missing values skipped, rows
sorted, duplicates merged, negative or constant series) to the frame and the caller shows them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from capplan._types import AnyArray, Array, IndexArray, IntArray
from capplan.errors import DataError

__all__ = [
    "KINDS",
    "FrameWarning",
    "MetricFrame",
    "MetricKind",
    "concat",
    "grouping_order",
    "is_grouped",
    "series_id",
    "to_seconds",
]

MetricKind = Literal["gauge", "counter"]
KINDS: tuple[MetricKind, ...] = ("gauge", "counter")

Int32Array = NDArray[np.int32]
TimeArray = NDArray[np.datetime64]


@dataclass(frozen=True)
class FrameWarning:
    """Something about the data worth telling, but not worth refusing it for.

    ``code`` is one of ``missing``, ``all_missing``, ``unsorted``, ``duplicates``,
    ``negative``, ``constant``, ``non_finite``, ``kind_conflict``, ``stray``.
    """

    code: str
    message: str
    series: str | None = None
    file: str | None = None
    count: int = 0

    def __str__(self) -> str:
        parts = [p for p in (self.file, f"series {self.series}" if self.series else None) if p]
        return f"{' '.join(parts)}: {self.message}" if parts else self.message


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def series_id(name: str, labels: Mapping[str, str] | None = None) -> str:
    """Prometheus-style id: ``http_requests_total{code="200",method="get"}`` (labels sorted)."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def to_seconds(timestamps: ArrayLike) -> TimeArray:
    """``datetime64[s]`` from datetime64 of any unit (floored), epoch seconds, or ISO strings."""
    arr = np.asarray(timestamps)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[s]")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64).astype("datetime64[s]")
    if arr.dtype.kind == "f":
        floored: TimeArray = np.floor(arr).astype(np.int64).astype("datetime64[s]")
        return floored
    parsed: TimeArray = np.asarray(arr, dtype="datetime64[s]")
    return parsed


@dataclass(frozen=True, eq=False)
class MetricFrame:
    """Long metric data: ``codes[i]`` names the series of point i, ``names[codes[i]]`` its id.

    ``labels`` and ``kinds`` are aligned with ``names``. Construct with :meth:`from_arrays` or
    :meth:`from_series`; every method returns a new frame.
    """

    codes: Int32Array
    names: tuple[str, ...]
    timestamps: TimeArray
    values: Array
    labels: tuple[Mapping[str, str], ...]
    kinds: tuple[MetricKind, ...]
    warnings: tuple[FrameWarning, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.codes)
        if len(self.timestamps) != n or len(self.values) != n:
            raise ValueError("codes, timestamps and values must have the same length")
        if not len(self.labels) == len(self.kinds) == len(self.names):
            raise ValueError("names, labels and kinds must have the same length")
        if self.codes.dtype != np.int32 or self.values.dtype != np.float64:
            raise TypeError("codes must be int32 and values float64")
        if self.timestamps.dtype != np.dtype("datetime64[s]"):
            raise TypeError("timestamps must be datetime64[s]")
        if len(set(self.names)) != len(self.names):
            raise ValueError("series names must be unique")
        if n and (int(self.codes.min()) < 0 or int(self.codes.max()) >= len(self.names)):
            raise ValueError("a series code is out of range")
        for kind in self.kinds:
            if kind not in KINDS:
                raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")

    # construction ---------------------------------------------------------------------------
    @classmethod
    def empty(cls) -> MetricFrame:
        """A frame with no series and no points."""
        return cls(np.zeros(0, np.int32), (), np.zeros(0, "datetime64[s]"), np.zeros(0), (), ())

    @classmethod
    def from_arrays(
        cls,
        series: ArrayLike,
        timestamps: ArrayLike,
        values: ArrayLike,
        *,
        labels: Mapping[str, Mapping[str, str]] | None = None,
        kinds: Mapping[str, MetricKind] | None = None,
    ) -> MetricFrame:
        """A frame from one series id per point (names come out sorted); kinds default gauge."""
        ids = np.asarray(series).astype(str)
        names, inverse = np.unique(ids, return_inverse=True)
        name_list = tuple(str(x) for x in names)
        labels, kinds = labels or {}, kinds or {}
        return cls(
            inverse.reshape(-1).astype(np.int32),
            name_list,
            to_seconds(timestamps).reshape(-1),
            np.asarray(values, dtype=np.float64).reshape(-1),
            tuple(dict(labels.get(n, {})) for n in name_list),
            tuple(kinds.get(n, "gauge") for n in name_list),
        )

    @classmethod
    def from_series(
        cls,
        data: Mapping[str, tuple[ArrayLike, ArrayLike]],
        *,
        labels: Mapping[str, Mapping[str, str]] | None = None,
        kinds: Mapping[str, MetricKind] | None = None,
    ) -> MetricFrame:
        """A frame from ``{series id: (timestamps, values)}``, keeping the mapping's order."""
        names = tuple(data)
        stamps = [to_seconds(ts).reshape(-1) for ts, _ in data.values()]
        vals = [np.asarray(v, dtype=np.float64).reshape(-1) for _, v in data.values()]
        for name, ts, v in zip(names, stamps, vals, strict=True):
            if len(ts) != len(v):
                raise ValueError(f"series {name}: {len(ts)} timestamps but {len(v)} values")
        sizes = [len(v) for v in vals]
        labels, kinds = labels or {}, kinds or {}
        return cls(
            np.repeat(np.arange(len(names), dtype=np.int32), sizes),
            names,
            np.concatenate(stamps) if stamps else np.zeros(0, "datetime64[s]"),
            np.concatenate(vals) if vals else np.zeros(0),
            tuple(dict(labels.get(n, {})) for n in names),
            tuple(kinds.get(n, "gauge") for n in names),
        )

    # views ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.codes)

    @property
    def n_series(self) -> int:
        return len(self.names)

    @property
    def series(self) -> NDArray[np.object_]:
        """The series id of every point (an object array; prefer ``codes`` in hot paths)."""
        return np.asarray(self.names, dtype=object)[self.codes]

    def point_counts(self) -> IntArray:
        """Points per series, aligned with ``names``."""
        return np.bincount(self.codes, minlength=self.n_series).astype(np.int64)

    def index(self, name: str) -> int:
        """The position of a series in ``names``; ``KeyError`` naming it if absent."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(name) from None

    def get(self, name: str) -> tuple[TimeArray, Array]:
        """Timestamps and values of one series, in frame order."""
        mask = self.codes == self.index(name)
        return self.timestamps[mask], self.values[mask]

    @property
    def is_sorted(self) -> bool:
        """True when points are grouped by series code and in time order within each."""
        return is_grouped(self.codes, self.timestamps.view(np.int64))

    # transformations --------------------------------------------------------------------------
    def with_warnings(self, *warnings: FrameWarning) -> MetricFrame:
        """The same frame with more warnings attached."""
        return replace(self, warnings=self.warnings + tuple(warnings)) if warnings else self

    def take(self, index: AnyArray) -> MetricFrame:
        """The points at ``index`` (an integer or boolean array), series table unchanged."""
        return replace(
            self,
            codes=self.codes[index],
            timestamps=self.timestamps[index],
            values=self.values[index],
        )

    def compact(self) -> MetricFrame:
        """Drop series that have no points (codes are renumbered, order kept)."""
        used = np.bincount(self.codes, minlength=self.n_series) > 0
        if used.all():
            return self
        keep = np.flatnonzero(used)
        remap = np.full(self.n_series, -1, dtype=np.int32)
        remap[keep] = np.arange(len(keep), dtype=np.int32)
        return replace(
            self,
            codes=remap[self.codes],
            names=tuple(self.names[i] for i in keep),
            labels=tuple(self.labels[i] for i in keep),
            kinds=tuple(self.kinds[i] for i in keep),
        )

    def select(self, *patterns: str) -> MetricFrame:
        """The series whose id matches any glob (``fnmatch``, case-sensitive); all if none."""
        if not patterns:
            return self
        wanted = np.array(
            [any(fnmatch.fnmatchcase(n, p) for p in patterns) for n in self.names], dtype=bool
        )
        if wanted.all():
            return self
        return self.take(wanted[self.codes] if len(wanted) else np.zeros(0, bool)).compact()

    def sorted(self) -> MetricFrame:
        """Points grouped by series and in time order; stable, so input order breaks ties."""
        if self.is_sorted:
            return self
        return self.take(grouping_order(self.codes, self.timestamps.view(np.int64)))

    def deduplicated(self) -> tuple[MetricFrame, int]:
        """Sorted, with one point per (series, timestamp): the last in input order wins.

        Returns the frame and how many points were dropped.
        """
        frame = self.sorted()
        if len(frame) < 2:
            return frame, 0
        keep = np.ones(len(frame), dtype=bool)
        keep[:-1] = (frame.codes[1:] != frame.codes[:-1]) | (
            frame.timestamps[1:] != frame.timestamps[:-1]
        )
        dropped = int(len(frame) - keep.sum())
        return (frame.take(keep), dropped) if dropped else (frame, 0)


def is_grouped(codes: NDArray[np.int32], seconds: IntArray) -> bool:
    """True when ``codes`` never decrease and ``seconds`` never decrease within a code.

    Uses one-byte comparisons rather than ``np.diff`` so 67M points cost little memory.
    """
    if len(codes) < 2:
        return True
    if not bool(np.all(codes[1:] >= codes[:-1])):
        return False
    back = np.flatnonzero(seconds[1:] < seconds[:-1])
    return bool(np.all(codes[back + 1] != codes[back]))


def grouping_order(codes: NDArray[np.int32], seconds: IntArray) -> IndexArray:
    """The stable permutation sorting points by (code, time), input order breaking ties.

    ``np.lexsort`` does this with two stable argsorts (slow on tens of millions of points).
    When code, time (in units of the gcd of the times) and position fit in 63 bits, they are
    packed into one int64 key and sorted with ``np.sort``, which is several times faster; the
    position, in the low bits, makes every key unique and the result stable.
    """
    n = len(codes)
    if n < 2:
        return np.arange(n, dtype=np.intp)
    rel = seconds - seconds.min()
    unit = int(np.gcd.reduce(rel)) or 1
    if unit > 1:
        rel //= unit
    code_bits = int(codes.max()).bit_length()
    time_bits = int(rel.max()).bit_length()
    index_bits = (n - 1).bit_length()
    if code_bits + time_bits + index_bits > 63:
        return np.lexsort((seconds, codes))
    key = codes.astype(np.int64) << (time_bits + index_bits)
    rel <<= index_bits
    key |= rel
    del rel
    key |= np.arange(n, dtype=np.int64)
    key.sort()
    key &= (1 << index_bits) - 1
    return key.astype(np.intp, copy=False)


def concat(frames: Iterable[MetricFrame]) -> MetricFrame:
    """One frame holding every point of ``frames``; series with the same id are merged.

    The first frame's labels win; a series that is a gauge in one frame and a counter in
    another raises :class:`DataError`. Points are not sorted or deduplicated.
    """
    frames = list(frames)
    if not frames:
        return MetricFrame.empty()
    position: dict[str, int] = {}
    labels: list[Mapping[str, str]] = []
    kinds: list[MetricKind] = []
    codes: list[Int32Array] = []
    for frame in frames:
        remap = np.empty(frame.n_series, dtype=np.int32)
        for i, name in enumerate(frame.names):
            j = position.get(name)
            if j is None:
                j = position[name] = len(labels)
                labels.append(frame.labels[i])
                kinds.append(frame.kinds[i])
            elif kinds[j] != frame.kinds[i]:
                raise DataError(
                    f"is a {kinds[j]} in one source and a {frame.kinds[i]} in another",
                    series=name,
                )
            remap[i] = j
        codes.append(remap[frame.codes])
    return MetricFrame(
        np.concatenate(codes),
        tuple(position),
        np.concatenate([f.timestamps for f in frames]),
        np.concatenate([f.values for f in frames]),
        tuple(labels),
        tuple(kinds),
        tuple(w for f in frames for w in f.warnings),
    )
