"""Reading metric files (CSV, Parquet, Prometheus/OpenMetrics text) into a MetricFrame.

CSV and Parquet are read with DuckDB (no pandas or pyarrow). For CSV the header line is read
with the csv module (the delimiter is the most frequent of ``, ; tab |``) and DuckDB then
parses the file with that fixed dialect, every column as text, into a temporary in-memory
table; every check and conversion is one vectorized SQL pass over that table, so a
million-row file takes about a second. Reading as text (rather than letting DuckDB's sniffer
type the columns) is what lets an error name the offending row, column and text:
``nab.csv:1043 column value: expected a number, got 'abc'``. Row numbers are lines of the file
(the header is line 1; empty lines, which DuckDB skips, are counted back in), or 1-based
records of a Parquet file.

Layouts, told apart by the header (or forced with ``layout=``):

* long: ``series,timestamp,value[,label columns...]`` — one row per observation; extra columns
  are labels and become part of the id (``cpu{host="a"}``), as in Prometheus;
* wide: ``timestamp,colA,colB,...`` — one column per series (NAB files, spreadsheet exports).
  A single value column named ``value`` takes the file's stem as its id (``ec2_cpu_...``).

Timestamps: ISO 8601 with or without an offset (``2024-01-01T01:00:00+01:00`` is
``2024-01-01T00:00:00Z``); naive times are UTC unless ``tz`` names a zone; numbers are epoch
seconds, milliseconds, microseconds or nanoseconds, told apart by the magnitude of the
column's median. Every time must be a real one after 1970-01-01 and before 2200-01-01 (see
:mod:`capplan.data.times`): ``inf``, ``epoch``, ``infinity``, ``1e30`` or the year 10000 are
errors naming the row. Values: empty cells and ``NaN``/``NA``/``null`` are missing (skipped,
with a warning); anything else that is not a finite number is an error. Series whose name
ends in ``_total`` are counters.

Files: UTF-8 text with ``\n``, ``\r\n`` or bare ``\r`` line ends; gzip-compressed or not
whatever the name says (told by the content, so a plain file named ``.csv.gz`` reads as is).
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np

from capplan._types import Array, IntArray
from capplan.data.cleaning import prepare
from capplan.data.exposition import read_exposition
from capplan.data.file_bytes import csv_header, duckdb_problem, is_gzip, open_binary, text_lines
from capplan.data.frame import MetricFrame, MetricKind, series_id
from capplan.data.times import LATEST_SECONDS, TIME_RANGE, in_range
from capplan.errors import DataError, UsageError

__all__ = ["EXPOSITION_SUFFIXES", "Layout", "read_file", "read_table"]

Layout = Literal["auto", "long", "wide"]
EXPOSITION_SUFFIXES = (".prom", ".txt", ".om", ".openmetrics")
_CSV_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
_TIME_NAMES = ("timestamp", "time", "datetime", "date", "ts", "ds", "time_stamp")
_SERIES_NAMES = ("series", "series_id", "unique_id", "id", "name", "metric", "metric_name")
_VALUE_NAMES = ("value", "y", "val")
_MISSING = ("", "nan", "-nan", "na", "n/a", "null", "none")
_SHOWN = 40  # characters of a bad cell quoted in a message
_ISO_EXPECTED = "expected ISO 8601 such as 2024-01-01T00:00:00Z or epoch seconds"
_UNITS = {1.0: "seconds", 1e3: "milliseconds", 1e6: "microseconds", 1e9: "nanoseconds"}


def read_file(
    path: str | Path,
    *,
    layout: Layout = "auto",
    timestamp_column: str | None = None,
    series_column: str | None = None,
    value_column: str | None = None,
    tz: str | None = None,
) -> MetricFrame:
    """Read a metric file, choosing the reader by suffix; see the module docstring.

    Raises :class:`DataError` naming the file (and row and column when one is at fault).
    The frame comes back sorted and deduplicated, with warnings attached.
    """
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise DataError("no such file", file=name)
    if not p.is_file():
        raise DataError("is not a file", file=name)
    lower = p.name.lower()
    if lower.endswith(EXPOSITION_SUFFIXES):
        return read_exposition(p)
    if lower.endswith(".parquet"):
        source: Literal["csv", "parquet"] = "parquet"
    elif lower.endswith(_CSV_SUFFIXES):
        source = "csv"
    else:
        raise DataError(
            "unknown file type; expected .csv, .parquet, or Prometheus text "
            f"({', '.join(EXPOSITION_SUFFIXES)})",
            file=name,
        )
    return read_table(
        p,
        source,
        layout=layout,
        timestamp_column=timestamp_column,
        series_column=series_column,
        value_column=value_column,
        tz=tz,
    )


def read_table(
    path: Path,
    source: Literal["csv", "parquet"],
    *,
    layout: Layout = "auto",
    timestamp_column: str | None = None,
    series_column: str | None = None,
    value_column: str | None = None,
    tz: str | None = None,
) -> MetricFrame:
    """Read a CSV or Parquet file in long or wide layout (``read_file`` picks ``source``)."""
    with duckdb.connect() as con:
        _set_timezone(con, tz)
        table = _Table(con, path, source)
        columns = table.columns
        ts_col = _find(table, timestamp_column, _TIME_NAMES, "timestamp")
        series_col = _find(table, series_column, _SERIES_NAMES, "series")
        value_col = _find(table, value_column, _VALUE_NAMES, "value")
        if layout == "auto":
            layout = "long" if series_col and value_col else "wide"
        if ts_col is None:
            raise DataError(
                "has no timestamp column; expected one named "
                f"{', '.join(_TIME_NAMES)} (or pass timestamp_column); got {', '.join(columns)}",
                file=table.name,
                row=1 if source == "csv" else None,
            )
        seconds = table.times(ts_col)
        if layout == "long":
            if series_col is None or value_col is None:
                raise DataError(
                    "long layout needs series and value columns (series,timestamp,value); "
                    f"got {', '.join(columns)}",
                    file=table.name,
                )
            label_cols = [c for c in columns if c not in (ts_col, series_col, value_col)]
            frame = table.long_frame(series_col, value_col, label_cols, seconds)
        else:
            value_cols = [c for c in columns if c != ts_col]
            if not value_cols:
                raise DataError("has a timestamp column but no value columns", file=table.name)
            frame = table.wide_frame(value_cols, seconds)
    return prepare(frame, source=table.name)


def _set_timezone(con: duckdb.DuckDBPyConnection, tz: str | None) -> None:
    zone = tz or "UTC"
    try:
        con.execute(f"SET TimeZone = {_literal(zone)}")
    except duckdb.Error:
        raise UsageError(
            f"unknown time zone '{zone}'; expected an IANA name such as UTC or Europe/Paris"
        ) from None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _kind(name: str) -> MetricKind:
    return "counter" if name.split("{", 1)[0].endswith("_total") else "gauge"


class _Table:
    """A file loaded as text into the temporary table ``raw``; rows keep file order (rowid)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, source: str) -> None:
        self.con, self.path, self.source, self.name = con, path, source, str(path)
        if path.stat().st_size == 0:
            raise DataError("is empty", file=self.name)
        try:
            if source == "csv":
                delimiter, header = csv_header(path, self.name)
                columns = ", ".join(f"{_literal(c)}: 'VARCHAR'" for c in header)
                compression = "gzip" if is_gzip(path) else "none"
                con.execute(
                    "CREATE TEMP TABLE raw AS SELECT * FROM read_csv(?, auto_detect = false, "
                    f"header = true, skip = 0, delim = {_literal(delimiter)}, quote = '\"', "
                    f"escape = '\"', compression = '{compression}', columns = {{{columns}}})",
                    [str(path)],
                )
            else:
                described = con.execute(
                    "DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]
                ).fetchall()
                casts = ", ".join(
                    f"CAST({_ident(str(row[0]))} AS VARCHAR) AS {_ident(str(row[0]))}"
                    for row in described
                )
                con.execute(
                    f"CREATE TEMP TABLE raw AS SELECT {casts} FROM read_parquet(?)", [str(path)]
                )
        except duckdb.Error as exc:
            line, problem = duckdb_problem(str(exc))
            raise DataError(
                f"cannot read as {source.upper()}: {problem}", file=self.name, row=line
            ) from None
        self.columns = [str(r[0]) for r in con.execute("DESCRIBE raw").fetchall()]
        count = con.execute("SELECT count(*) FROM raw").fetchone()
        self.n_rows = int(count[0]) if count else 0
        if self.n_rows == 0:
            raise DataError("has no data rows", file=self.name)

    def row_number(self, rowid: int) -> int:
        """The line (CSV, header = 1) or record (Parquet, 1-based) of a data row."""
        if self.source != "csv":
            return rowid + 1
        target, seen = rowid + 2, 0
        try:
            with open_binary(self.path) as fh:
                for line_no, line in enumerate(text_lines(fh), 1):
                    if line:  # DuckDB skips only empty lines
                        seen += 1
                        if seen == target:
                            return line_no
        except (OSError, EOFError, zlib.error):
            pass
        return target

    def _text(self, rowid: int, column: str) -> str:
        got = self.con.execute(
            f"SELECT {_ident(column)} FROM raw WHERE rowid = ?", [rowid]
        ).fetchone()
        return "" if got is None or got[0] is None else str(got[0])

    def _error(self, rowid: int, column: str, message: str) -> DataError:
        return DataError(message, file=self.name, row=self.row_number(rowid), column=column)

    def times(self, column: str) -> IntArray:
        """Epoch seconds of a timestamp column, in file order (errors name the row)."""
        q = f"trim({_ident(column)})"
        empty = self.con.execute(
            f"SELECT rowid FROM raw WHERE {q} IS NULL OR {q} = '' ORDER BY rowid LIMIT 1"
        ).fetchone()
        if empty:
            raise self._error(int(empty[0]), column, "expected a time, got an empty cell")
        numeric = self.con.execute(
            f"SELECT bool_and(TRY_CAST({q} AS DOUBLE) IS NOT NULL) FROM raw"
        ).fetchone()
        if numeric and numeric[0]:
            return self._epoch_numbers(column, q)
        # DuckDB also reads words as times (epoch, infinity): a time starts with a digit
        bad = self.con.execute(
            f"SELECT rowid FROM raw WHERE left({q}, 1) NOT BETWEEN '0' AND '9' "
            f"OR TRY_CAST({q} AS TIMESTAMPTZ) IS NULL ORDER BY rowid LIMIT 1"
        ).fetchone()
        if bad:
            text = _shown(self._text(int(bad[0]), column))
            raise self._error(
                int(bad[0]), column, f"cannot parse '{text}' as a time; {_ISO_EXPECTED}"
            )
        micros = np.asarray(
            self.con.execute(
                f"SELECT epoch_us(CAST({q} AS TIMESTAMPTZ)) AS t FROM raw ORDER BY rowid"
            ).fetchnumpy()["t"],
            dtype=np.int64,
        )
        inside = (micros > 0) & (micros < LATEST_SECONDS * 1_000_000)
        if not inside.all():
            rowid = int(np.argmin(inside))  # rows come in rowid order, from 0
            text = _shown(self._text(rowid, column))
            raise self._error(rowid, column, f"'{text}' is out of range: expected {TIME_RANGE}")
        return np.floor_divide(micros, 1_000_000)

    def _epoch_numbers(self, column: str, q: str) -> IntArray:
        """Numbers as epoch seconds; the unit (seconds to nanoseconds) is told by the (lower)
        median magnitude, so one wild row is out of range instead of rescaling every other."""
        raw = self.con.execute(
            f"SELECT CAST({q} AS DOUBLE) AS t FROM raw ORDER BY rowid"
        ).fetchnumpy()["t"]
        numbers = np.asarray(raw, dtype=np.float64)
        finite = np.isfinite(numbers)
        if not finite.all():
            rowid = int(np.argmin(finite))
            text = _shown(self._text(rowid, column))
            raise self._error(rowid, column, f"cannot parse '{text}' as a time; {_ISO_EXPECTED}")
        magnitude = np.abs(numbers)
        middle = (len(magnitude) - 1) // 2  # the lower median: of two rows, the smaller
        typical = float(np.partition(magnitude, middle)[middle])
        scale = 1.0 if typical < 1e11 else 1e3 if typical < 1e14 else 1e6 if typical < 1e17 else 1e9
        seconds = numbers / scale
        inside = in_range(seconds)
        if not inside.all():
            rowid = int(np.argmin(inside))
            text = _shown(self._text(rowid, column))
            raise self._error(
                rowid,
                column,
                f"'{text}' is out of range as epoch {_UNITS[scale]} (the unit of the "
                f"column's typical value): expected {TIME_RANGE}",
            )
        return np.floor(seconds).astype(np.int64)

    def numbers(self, columns: list[str]) -> dict[str, Array]:
        """Float columns in file order; missing cells are NaN, any other non-number an error."""
        missing = ", ".join(_literal(m) for m in _MISSING)
        checks = []
        for c in columns:
            q = f"trim({_ident(c)})"
            checks.append(
                (
                    c,
                    f"({q} IS NOT NULL AND lower({q}) NOT IN ({missing}) AND "
                    f"(TRY_CAST({q} AS DOUBLE) IS NULL OR isinf(TRY_CAST({q} AS DOUBLE))))",
                )
            )
        cases = " ".join(f"WHEN {cond} THEN {_literal(c)}" for c, cond in checks)
        where = " OR ".join(cond for _, cond in checks)
        bad = self.con.execute(
            f"SELECT rowid, CASE {cases} END FROM raw WHERE {where} ORDER BY rowid LIMIT 1"
        ).fetchone()
        if bad:
            rowid, column = int(bad[0]), str(bad[1])
            text = _shown(self._text(rowid, column))
            raise self._error(rowid, column, f"expected a number, got '{text}'")
        select = ", ".join(
            f"COALESCE(TRY_CAST(trim({_ident(c)}) AS DOUBLE), 'NaN'::DOUBLE) AS c{i}"
            for i, c in enumerate(columns)
        )
        got = self.con.execute(f"SELECT {select} FROM raw ORDER BY rowid").fetchnumpy()
        return {c: np.asarray(got[f"c{i}"], dtype=np.float64) for i, c in enumerate(columns)}

    def wide_frame(self, value_cols: list[str], seconds: IntArray) -> MetricFrame:
        values = self.numbers(value_cols)
        if len(value_cols) == 1 and value_cols[0].strip().lower() in _VALUE_NAMES:
            names = [self.path.name.split(".")[0]]
        else:
            names = [c.strip() for c in value_cols]
        n = len(seconds)
        return MetricFrame(
            np.repeat(np.arange(len(names), dtype=np.int32), n),
            tuple(names),
            np.tile(seconds, len(names)).astype("datetime64[s]"),
            np.concatenate([values[c] for c in value_cols]),
            tuple({} for _ in names),
            tuple(_kind(n) for n in names),
        )

    def long_frame(
        self,
        series_col: str,
        value_col: str,
        label_cols: list[str],
        seconds: IntArray,
    ) -> MetricFrame:
        s = f"trim({_ident(series_col)})"
        empty = self.con.execute(
            f"SELECT rowid FROM raw WHERE {s} IS NULL OR {s} = '' ORDER BY rowid LIMIT 1"
        ).fetchone()
        if empty:
            raise self._error(int(empty[0]), series_col, "expected a series id, got an empty cell")
        keys = [s] + [f"NULLIF(trim({_ident(c)}), '')" for c in label_cols]
        order = ", ".join(keys)
        distinct = self.con.execute(f"SELECT DISTINCT {order} FROM raw ORDER BY {order}").fetchall()
        codes = self.con.execute(
            f"SELECT CAST(dense_rank() OVER (ORDER BY {order}) - 1 AS INTEGER) AS code "
            "FROM raw ORDER BY rowid"
        ).fetchnumpy()["code"]
        names: list[str] = []
        labels: list[dict[str, str]] = []
        for row in distinct:
            lab = {c.strip(): str(v) for c, v in zip(label_cols, row[1:], strict=True) if v}
            names.append(series_id(str(row[0]), lab))
            labels.append(lab)
        if len(set(names)) != len(names):
            raise DataError("two series have the same id after joining labels", file=self.name)
        return MetricFrame(
            np.asarray(codes, dtype=np.int32),
            tuple(names),
            seconds.astype("datetime64[s]"),
            self.numbers([value_col])[value_col],
            tuple(labels),
            tuple(_kind(n) for n in names),
        )


def _shown(text: str) -> str:
    """A cell as quoted in a message: cut to :data:`_SHOWN` characters."""
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _find(table: _Table, wanted: str | None, aliases: tuple[str, ...], what: str) -> str | None:
    """The column named ``wanted`` (case-insensitive), else the first alias present."""
    by_lower = {c.strip().lower(): c for c in table.columns}
    if wanted is not None:
        found = by_lower.get(wanted.strip().lower())
        if found is None:
            raise DataError(
                f"has no {what} column '{wanted}'; columns: {', '.join(table.columns)}",
                file=table.name,
            )
        return found
    for alias in aliases:
        if alias in by_lower:
            return by_lower[alias]
    return None
