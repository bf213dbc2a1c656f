"""The metric store: series and points in one embedded DuckDB file (default ``capplan.duckdb``).

Schema::

    series  (id INTEGER PRIMARY KEY, name TEXT UNIQUE, labels TEXT (JSON), kind TEXT)
    points  (series_id INTEGER, ts TIMESTAMP (UTC), value DOUBLE, PRIMARY KEY (series_id, ts))
    ingests (sha256 TEXT PRIMARY KEY, source TEXT, rows BIGINT, points_added BIGINT,
             ingested_at TIMESTAMP)
    meta    (key TEXT PRIMARY KEY, value TEXT)      -- schema version
    reports (id INTEGER PRIMARY KEY, plan TEXT, kind TEXT, title TEXT, period_end TIMESTAMP,
             built_at TIMESTAMP, markdown TEXT, html TEXT, pdf BLOB, pdf_note TEXT)
             -- reports built by ``capplan serve``; created on the first one (older stores
             -- have none, and read as having no reports)

Writes are transactional: :meth:`Store.ingest` runs in ONE transaction (``BEGIN`` …
``COMMIT``; ``ROLLBACK`` on any exception, ``KeyboardInterrupt`` included), and
:meth:`Store.transaction` lets a caller group several ingests into one. Ingesting is
idempotent twice over: a file whose sha256 is already in ``ingests`` adds nothing, and a point
whose (series, ts) is already stored is left as it is (``INSERT … ON CONFLICT DO NOTHING``:
the first value written wins).

Opening: DuckDB lets one process write a store file (or several read it) and says so with a
lock error; :class:`Store` then waits, retrying, up to ``lock_timeout`` seconds (default
:data:`LOCK_TIMEOUT`) and fails with the real reason (the holder's process id). A file that
is not a DuckDB database, is truncated, or fails a checksum is a :class:`StoreError` saying
so, at opening or on the query that finds it out (:mod:`capplan.data.store_file`); capplan
never rewrites or recreates such a file, so what it held stays as it was.

Bulk insert without pandas or pyarrow: DuckDB's Python client can scan a ``dict`` of NumPy
arrays registered as a view (``con.register(name, {"col": array, ...})``), so a million points
go in with one ``INSERT … SELECT`` (no ``executemany``, no temporary files).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from capplan.data.frame import FrameWarning, MetricFrame, MetricKind, TimeArray, to_seconds
from capplan.data.store_file import connect, open_problem
from capplan.errors import StoreError, UsageError

__all__ = [
    "DEFAULT_STORE",
    "LOCK_TIMEOUT",
    "SCHEMA_VERSION",
    "IngestResult",
    "SeriesInfo",
    "Store",
    "StoredReport",
]

DEFAULT_STORE = "capplan.duckdb"
SCHEMA_VERSION = "1"
LOCK_TIMEOUT = 5.0  # seconds a second process waits for the store's lock
_TABLES = ("ingests", "meta", "points", "series")
_REPORTS = (
    "CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY, plan TEXT NOT NULL, "
    "kind TEXT NOT NULL, title TEXT NOT NULL, period_end TIMESTAMP NOT NULL, "
    "built_at TIMESTAMP NOT NULL, markdown TEXT NOT NULL, html TEXT NOT NULL, pdf BLOB, "
    "pdf_note TEXT)"
)
_REPORT_FORMATS = {"md": "markdown", "html": "html", "pdf": "pdf"}
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
    "labels TEXT NOT NULL, kind TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS points (series_id INTEGER NOT NULL, ts TIMESTAMP NOT NULL, "
    "value DOUBLE NOT NULL, PRIMARY KEY (series_id, ts))",
    "CREATE TABLE IF NOT EXISTS ingests (sha256 TEXT PRIMARY KEY, source TEXT NOT NULL, "
    "rows BIGINT NOT NULL, points_added BIGINT NOT NULL, ingested_at TIMESTAMP NOT NULL)",
)


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did; ``skipped_duplicate_file`` when the same bytes were ingested before."""

    source: str
    sha256: str
    series_added: int
    points_added: int
    points_already_stored: int
    skipped_duplicate_file: bool = False
    warnings: tuple[FrameWarning, ...] = ()


@dataclass(frozen=True)
class SeriesInfo:
    """One stored series: size, time range, typical spacing and missing steps at that spacing.

    ``step_seconds`` is the median spacing of consecutive points (0 for a single point);
    ``gaps`` counts the empty step-buckets between the first and last point, the same figure
    :func:`capplan.data.to_panel` reports at that step.
    """

    name: str
    labels: dict[str, str]
    kind: MetricKind
    points: int
    first: np.datetime64
    last: np.datetime64
    step_seconds: int
    gaps: int


@dataclass(frozen=True)
class StoredReport:
    """One report kept in the store (without its content): ``formats`` are those it has
    (``md``, ``html`` and, when it could be printed, ``pdf``; else ``pdf_note`` says why
    not). Times are Unix seconds."""

    id: int
    plan: str
    kind: str
    title: str
    period_end: float
    built_at: float
    formats: tuple[str, ...]
    pdf_note: str | None


class Store:
    """A DuckDB file holding metric history; use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        path: str | Path = DEFAULT_STORE,
        *,
        read_only: bool = False,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.path = Path(path)
        name = str(path)
        if self.path.is_dir():
            raise StoreError("is a directory, not a store file", path=name)
        if read_only and not self.path.exists():
            raise StoreError("no such store; ingest some data first", path=name)
        self._con = connect(name, read_only, lock_timeout)
        self._depth = 0
        try:
            with self._errors():
                self._check_or_create(read_only)
        except BaseException:
            self._con.close()
            raise

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """DuckDB errors (a damaged file found out by a query) as a :class:`StoreError`."""
        try:
            yield
        except duckdb.Error as exc:
            raise StoreError(open_problem(str(exc)), path=str(self.path)) from None

    def _check_or_create(self, read_only: bool) -> None:
        present = {
            str(r[0])
            for r in self._con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        if present and not set(_TABLES) <= present:
            raise StoreError(
                "is a DuckDB database but not a capplan store (it has other tables: "
                f"{', '.join(sorted(present))})",
                path=str(self.path),
            )
        if not present:
            if read_only:
                raise StoreError("is an empty DuckDB database, not a capplan store", str(self.path))
            with self.transaction():
                for statement in _SCHEMA:
                    self._con.execute(statement)
                self._con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
        got = self._con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if got is None or got[0] != SCHEMA_VERSION:
            raise StoreError(
                f"has store schema version {got[0] if got else 'none'}; this capplan reads "
                f"version {SCHEMA_VERSION}",
                path=str(self.path),
            )

    # lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; nested uses join the outermost, which alone commits or rolls back."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            with suppress(duckdb.Error):  # the connection may already be gone
                self._con.execute("ROLLBACK")
            raise
        self._depth = 0
        try:
            self._con.execute("COMMIT")
        except duckdb.Error as exc:
            raise StoreError(f"could not commit: {exc}", path=str(self.path)) from None

    # writing ----------------------------------------------------------------------------------
    def has_ingested(self, sha256: str) -> bool:
        """True when a file with this content was ingested before."""
        with self._errors():
            got = self._con.execute("SELECT 1 FROM ingests WHERE sha256 = ?", [sha256]).fetchone()
        return got is not None

    def ingest(self, frame: MetricFrame, source: str, sha256: str) -> IngestResult:
        """Add a frame read from ``source`` (whose bytes hash to ``sha256``), atomically."""
        with self._errors(), self.transaction():
            if self.has_ingested(sha256):
                return IngestResult(source, sha256, 0, 0, 0, True, frame.warnings)
            frame, _ = frame.take(~np.isnan(frame.values)).compact().deduplicated()
            ids, series_added = self._add_series(frame)
            points_added = self._add_points(frame, ids)
            self._con.execute(
                "INSERT INTO ingests VALUES (?, ?, ?, ?, ?)",
                [sha256, source, len(frame), points_added, _utc_now()],
            )
        return IngestResult(
            source,
            sha256,
            series_added,
            points_added,
            len(frame) - points_added,
            False,
            frame.warnings,
        )

    def _add_series(self, frame: MetricFrame) -> tuple[np.ndarray[Any, np.dtype[np.int32]], int]:
        """Store ids for the frame's series (new ones are created), and how many were new."""
        incoming = {
            "ord": np.arange(frame.n_series, dtype=np.int64),
            "name": np.asarray(frame.names, dtype=object),
            "labels": np.asarray([json.dumps(dict(lab), sort_keys=True) for lab in frame.labels]),
            "kind": np.asarray(frame.kinds, dtype=object),
        }
        self._con.register("_incoming_series", incoming)
        try:
            added = self._con.execute(
                "INSERT INTO series SELECT (SELECT coalesce(max(id), 0) FROM series) "
                "+ CAST(row_number() OVER (ORDER BY ord) AS INTEGER), name, labels, kind "
                "FROM _incoming_series i WHERE NOT EXISTS "
                "(SELECT 1 FROM series s WHERE s.name = i.name)"
            ).fetchone()
            mapped = self._con.execute(
                "SELECT i.ord, s.id FROM _incoming_series i JOIN series s ON s.name = i.name"
            ).fetchnumpy()
        finally:
            self._con.unregister("_incoming_series")
        ids = np.zeros(frame.n_series, dtype=np.int32)
        ids[np.asarray(mapped["ord"], dtype=np.int64)] = np.asarray(mapped["id"], dtype=np.int32)
        return ids, int(added[0]) if added else 0

    def _add_points(self, frame: MetricFrame, ids: np.ndarray[Any, np.dtype[np.int32]]) -> int:
        """Insert the points not yet stored; how many were inserted."""
        if not len(frame):
            return 0
        self._con.register(
            "_incoming_points",
            {"series_id": ids[frame.codes], "ts": frame.timestamps, "value": frame.values},
        )
        try:
            got = self._con.execute(
                "INSERT INTO points SELECT series_id, CAST(ts AS TIMESTAMP), value "
                "FROM _incoming_points ON CONFLICT DO NOTHING"
            ).fetchone()
        finally:
            self._con.unregister("_incoming_points")
        return int(got[0]) if got else 0

    def add_report(
        self,
        plan: str,
        kind: str,
        title: str,
        period_end: float,
        built_at: float,
        markdown: str,
        html: str,
        pdf: bytes | None,
        pdf_note: str | None,
    ) -> int:
        """Keep a built report (one transaction: all of it or nothing); its id."""
        with self._errors(), self.transaction():
            self._con.execute(_REPORTS)
            got = self._con.execute(
                "INSERT INTO reports SELECT (SELECT coalesce(max(id), 0) + 1 FROM reports), "
                "?, ?, ?, make_timestamp(CAST(? * 1e6 AS BIGINT)), "
                "make_timestamp(CAST(? * 1e6 AS BIGINT)), ?, ?, ?, ? RETURNING id",
                [plan, kind, title, period_end, built_at, markdown, html, pdf, pdf_note],
            ).fetchone()
        assert got is not None
        return int(got[0])

    def _has_reports(self) -> bool:
        got = self._con.execute(
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_name = 'reports'"
        ).fetchone()
        return got is not None

    def list_reports(self) -> list[StoredReport]:
        """Every kept report, newest period first (then newest built first)."""
        with self._errors():
            if not self._has_reports():
                return []
            rows = self._con.execute(
                "SELECT id, plan, kind, title, epoch_us(period_end), epoch_us(built_at), "
                "pdf IS NOT NULL, pdf_note FROM reports ORDER BY period_end DESC, id DESC"
            ).fetchall()
        return [
            StoredReport(
                id=int(r[0]),
                plan=str(r[1]),
                kind=str(r[2]),
                title=str(r[3]),
                period_end=int(r[4]) / 1e6,
                built_at=int(r[5]) / 1e6,
                formats=("md", "html", "pdf") if r[6] else ("md", "html"),
                pdf_note=None if r[7] is None else str(r[7]),
            )
            for r in rows
        ]

    def report_content(self, report_id: int, fmt: str) -> str | bytes | None:
        """The ``fmt`` (``md``, ``html`` or ``pdf``) of report ``report_id``; None when
        there is no such report, or it has no PDF."""
        column = _REPORT_FORMATS.get(fmt)
        if column is None:
            raise UsageError(f"unknown report format '{fmt}'; available: html, md, pdf")
        with self._errors():
            if not self._has_reports():
                return None
            got = self._con.execute(
                f"SELECT {column} FROM reports WHERE id = ?", [report_id]
            ).fetchone()
        if got is None or got[0] is None:
            return None
        value = got[0]
        return bytes(value) if fmt == "pdf" else str(value)

    # reading ----------------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        """``(series, points)`` stored."""
        with self._errors():
            got = self._con.execute(
                "SELECT (SELECT count(*) FROM series), (SELECT count(*) FROM points)"
            ).fetchone()
        assert got is not None
        return int(got[0]), int(got[1])

    def _selected(self, glob: str | None) -> list[tuple[int, str, str, str]]:
        rows = self._con.execute("SELECT id, name, labels, kind FROM series ORDER BY id").fetchall()
        return [
            (int(r[0]), str(r[1]), str(r[2]), str(r[3]))
            for r in rows
            if glob is None or fnmatch.fnmatchcase(str(r[1]), glob)
        ]

    def _filter(self, chosen: list[tuple[int, str, str, str]], everything: bool) -> str:
        if everything:
            return "TRUE"
        self._con.register("_chosen", {"id": np.asarray([c[0] for c in chosen], dtype=np.int32)})
        return "series_id IN (SELECT id FROM _chosen)"

    def list_series(self, glob: str | None = None) -> list[SeriesInfo]:
        """Every stored series (or those whose name matches ``glob``), ordered by name."""
        with self._errors():
            return self._list_series(glob)

    def _list_series(self, glob: str | None) -> list[SeriesInfo]:
        chosen = self._selected(glob)
        if not chosen:
            return []
        where = self._filter(chosen, glob is None)
        try:
            rows = self._con.execute(
                f"""
                WITH p AS (SELECT series_id, ts, epoch(ts) AS s FROM points WHERE {where}),
                spaced AS (
                    SELECT series_id, s - lag(s) OVER (PARTITION BY series_id ORDER BY ts) AS d
                    FROM p),
                step AS (
                    SELECT series_id,
                           CAST(coalesce(round(quantile_disc(d, 0.5)), 0) AS BIGINT) AS step
                    FROM spaced GROUP BY series_id)
                SELECT p.series_id, count(*), epoch(min(p.ts)), epoch(max(p.ts)),
                    any_value(st.step),
                    CASE WHEN any_value(st.step) > 0 THEN
                        max(floor(p.s / st.step)) - min(floor(p.s / st.step)) + 1
                        - count(DISTINCT floor(p.s / st.step))
                    ELSE 0 END
                FROM p JOIN step st USING (series_id) GROUP BY p.series_id
                """
            ).fetchall()
        finally:
            if glob is not None:
                self._con.unregister("_chosen")
        stats = {int(r[0]): r[1:] for r in rows}
        out = []
        for sid, name, labels, kind in chosen:
            if sid not in stats:
                continue
            points, first, last, step, gaps = stats[sid]
            out.append(
                SeriesInfo(
                    name=name,
                    labels=json.loads(labels),
                    kind="counter" if kind == "counter" else "gauge",
                    points=int(points),
                    first=np.datetime64(int(first), "s"),
                    last=np.datetime64(int(last), "s"),
                    step_seconds=int(step),
                    gaps=int(gaps),
                )
            )
        return sorted(out, key=lambda info: info.name)

    def load(
        self, glob: str | None = None, since: str | np.datetime64 | dt.datetime | None = None
    ) -> MetricFrame:
        """Stored points (of series matching ``glob``, at or after ``since``) as a sorted frame."""
        with self._errors():
            return self._load(glob, since)

    def _load(
        self, glob: str | None, since: str | np.datetime64 | dt.datetime | None
    ) -> MetricFrame:
        chosen = self._selected(glob)
        if not chosen:
            return MetricFrame.empty()
        where = self._filter(chosen, glob is None)
        params: list[object] = []
        if since is not None:
            where += " AND ts >= CAST(? AS TIMESTAMP)"
            params.append(str(_as_utc_seconds(since)).replace("T", " "))
        try:
            got = self._con.execute(
                f"SELECT series_id, epoch_us(ts) AS us, value FROM points WHERE {where} "
                "ORDER BY series_id, ts",
                params,
            ).fetchnumpy()
        finally:
            if glob is not None:
                self._con.unregister("_chosen")
        lookup = np.full(max(c[0] for c in chosen) + 1, -1, dtype=np.int32)
        lookup[[c[0] for c in chosen]] = np.arange(len(chosen), dtype=np.int32)
        micros = np.asarray(got["us"], dtype=np.int64)
        return MetricFrame(
            lookup[np.asarray(got["series_id"], dtype=np.int64)],
            tuple(c[1] for c in chosen),
            np.floor_divide(micros, 1_000_000).astype("datetime64[s]"),
            np.asarray(got["value"], dtype=np.float64),
            tuple(json.loads(c[2]) for c in chosen),
            tuple("counter" if c[3] == "counter" else "gauge" for c in chosen),
        ).compact()


def _as_utc_seconds(value: str | np.datetime64 | dt.datetime) -> np.datetime64:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return np.datetime64(value, "s")
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(
                f"since: expected an ISO 8601 time such as 2024-01-01T00:00:00Z, got {value!r}"
            ) from None
        return _as_utc_seconds(parsed)
    stamp: TimeArray = to_seconds(np.asarray([value]))
    return stamp[0]  # type: ignore[no-any-return]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
