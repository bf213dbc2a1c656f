"""``-`` as a metric file: standard input, saved to a temporary file named for its format.

The readers choose their format by a file's name (``.csv``, ``.parquet``, ``.prom``) and
DuckDB reads files, not streams: standard input is copied to ``stdin.<format>`` in a
temporary folder, the format told from its first bytes, and the folder removed afterwards.
"""

from __future__ import annotations

import gzip
import io
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from capplan.errors import UsageError

__all__ = ["stdin_as_file"]


def _suffix(data: bytes) -> str:
    """The file name suffix of ``data``'s format, told from its first bytes."""
    if data.startswith(b"\x1f\x8b"):  # gzip: the format of what it holds, then .gz
        try:
            inner = gzip.GzipFile(fileobj=io.BytesIO(data)).read(1 << 16)
        except (OSError, EOFError):
            return ".csv.gz"
        return _suffix(inner) + ".gz"
    if data.startswith(b"PAR1"):
        return ".parquet"
    head = data[: 1 << 16]
    if head.lstrip().startswith((b"# HELP", b"# TYPE", b"# EOF")) or b"\n# TYPE " in head:
        return ".prom"
    return ".csv"


@contextmanager
def stdin_as_file(files: list[Path] | None) -> Iterator[list[Path] | None]:
    """``files`` with ``-`` standing for standard input (at most once)."""
    if not files or all(str(f) != "-" for f in files):
        yield files
        return
    if sum(str(f) == "-" for f in files) > 1:
        raise UsageError("'-' (standard input) can be given once")
    data = sys.stdin.buffer.read()
    if not data:
        raise UsageError("'-' was given but standard input is empty")
    with tempfile.TemporaryDirectory(prefix="capplan-stdin-") as folder:
        path = Path(folder) / f"stdin{_suffix(data)}"
        path.write_bytes(data)
        yield [path if str(f) == "-" else f for f in files]
