"""The bytes of a metric file before DuckDB reads it: gzip or not whatever its name says, its
lines (for counting them), its CSV header and dialect, and DuckDB's read errors made short."""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from capplan.errors import DataError

__all__ = ["csv_header", "duckdb_problem", "first_line", "is_gzip", "open_binary", "text_lines"]

_DUCKDB_LINE = re.compile(r"CSV Error on Line: (\d+)")
_DUCKDB_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_GZIP_MAGIC = b"\x1f\x8b"
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_MAX_HEADER = 16 << 20  # bytes: a header line longer than this is not a CSV header


def csv_header(path: Path, name: str) -> tuple[str, list[str]]:
    """The delimiter (the most frequent of , ; tab | in the header) and the column names.

    Read here, with the csv module, so that DuckDB can then parse with a fixed dialect: its
    sniffer, given a ragged row, may pick that row as the header instead of reporting it.
    """
    try:
        with open_binary(path) as fh:
            raw_line = first_line(fh)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read: {exc}", file=name) from None  # a broken gzip stream
    if raw_line is None:
        raise DataError("is empty", file=name)
    if len(raw_line) > _MAX_HEADER:
        raise DataError(
            f"the header line is over {_MAX_HEADER >> 20} MiB long; not a CSV header",
            file=name,
            row=1,
        )
    try:
        line = raw_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"is not UTF-8 text ({exc.reason})", file=name, row=1) from None
    if name.lower().endswith((".tsv", ".tsv.gz")):
        delimiter = "\t"
    else:
        delimiter = max((",", ";", "\t", "|"), key=line.count)
    try:
        header = [c.strip() for c in next(csv.reader([line], delimiter=delimiter), [])]
    except csv.Error as exc:
        raise DataError(f"cannot read the header: {exc}", file=name, row=1) from None
    if not header:
        raise DataError("is empty", file=name)
    for i, column in enumerate(header):
        if not column:
            header[i] = f"column{i + 1}"
        elif header.index(column) != i:
            raise DataError(f"column '{column}' appears twice in the header", file=name, row=1)
    return delimiter, header


def duckdb_problem(message: str) -> tuple[int | None, str]:
    """The line and the gist of a DuckDB read error, without its advice for SQL users."""
    line = _DUCKDB_LINE.search(message)
    row = int(line.group(1)) if line else None
    columns = _DUCKDB_COLUMNS.search(message)
    if columns:
        return row, f"expected {columns.group(1)} columns, found {columns.group(2)}"
    kept: list[str] = []
    in_original = False
    for text in (t.strip() for t in message.strip().splitlines()):
        if text.startswith("Possible fixes"):
            break
        if text.startswith("Original Line"):
            in_original = True  # the quoted line runs until the next empty line
        elif not text:
            in_original = False
        elif not in_original and "CSV Error on Line" not in text:
            kept.append(text.removeprefix("Invalid Input Error: "))
    return row, "; ".join(kept) or message.strip().splitlines()[0]


def is_gzip(path: Path) -> bool:
    """True when the file starts like gzip data, whatever its name says."""
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def open_binary(path: Path) -> gzip.GzipFile | io.BufferedReader:
    """A file opened for reading bytes (the caller closes it), gunzipped if it is gzip."""
    if is_gzip(path):
        return gzip.GzipFile(path, "rb")
    return open(path, "rb")


def text_lines(fh: gzip.GzipFile | io.BufferedReader) -> Iterator[str]:
    """Lines of a byte stream split at ``\\n``, ``\\r\\n`` or a bare ``\\r``, without their
    ends (latin-1, so any bytes count; used to count lines, not to read them)."""
    text = io.TextIOWrapper(fh, encoding="latin-1", newline=None)
    for line in text:
        yield line.rstrip("\n")


def first_line(fh: gzip.GzipFile | io.BufferedReader) -> bytes | None:
    """The first line holding more than white space, without its end; None if there is
    none. Reads about :data:`_MAX_HEADER` bytes at most past the blank lines."""
    buffer, eof = b"", False
    while True:
        found = _LINE_BREAK.search(buffer)
        if found:
            line = buffer[: found.start()]
            if line.strip():
                return line
            buffer = buffer[found.end() :]
            continue
        if eof:
            return buffer if buffer.strip() else None
        if len(buffer) > _MAX_HEADER:
            return buffer
        chunk = fh.read(1 << 20)
        eof = not chunk
        buffer += chunk
