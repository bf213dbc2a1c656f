"""Ingesting files into the store: the whole of ``capplan ingest FILE...`` except the printing.

:func:`ingest_files` hashes each file (sha256 of its bytes, so re-ingesting the same file is
recognised before it is even parsed), reads every new file first (a bad file raises
:class:`~capplan.errors.DataError` before anything is written), then writes them all in ONE
store transaction: either every file goes in or, on any error or interrupt, none does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from capplan.data.frame import MetricFrame
from capplan.data.readers import Layout, read_file
from capplan.data.store import IngestResult, Store
from capplan.errors import DataError

__all__ = ["file_sha256", "frame_sha256", "ingest_files", "ingest_frame"]

Progress = Callable[[Path, IngestResult], None]


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except FileNotFoundError:
        raise DataError("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise DataError("is not a file", file=str(path)) from None
    return digest.hexdigest()


def ingest_files(
    store: Store,
    paths: Iterable[str | Path],
    *,
    progress: Progress | None = None,
    layout: Layout = "auto",
    timestamp_column: str | None = None,
    series_column: str | None = None,
    value_column: str | None = None,
    tz: str | None = None,
) -> list[IngestResult]:
    """Ingest files atomically, one result per path in order; ``progress`` after each write.

    A file already ingested (same sha256, or the same bytes earlier in ``paths``) is not
    read again and comes back with ``skipped_duplicate_file=True``. Reading options are those
    of :func:`~capplan.data.read_file`.
    """
    staged: list[tuple[Path, str, MetricFrame]] = []
    seen: set[str] = set()
    for item in paths:
        path = Path(item)
        sha = file_sha256(path)
        if sha in seen or store.has_ingested(sha):
            frame = MetricFrame.empty()
        else:
            frame = read_file(
                path,
                layout=layout,
                timestamp_column=timestamp_column,
                series_column=series_column,
                value_column=value_column,
                tz=tz,
            )
        seen.add(sha)
        staged.append((path, sha, frame))
    results: list[IngestResult] = []
    with store.transaction():
        for path, sha, frame in staged:
            result = store.ingest(frame, str(path), sha)
            results.append(result)
            if progress is not None:
                progress(path, result)
    return results


def frame_sha256(frame: MetricFrame) -> str:
    """Hex sha256 of a frame's content (series names, times, values): the identity of data
    pulled from a server, so pulling the very same data twice adds nothing."""
    digest = hashlib.sha256()
    digest.update("\n".join(frame.names).encode())
    for array in (frame.codes, frame.timestamps.astype("int64"), frame.values):
        digest.update(array.tobytes())
    return digest.hexdigest()


def ingest_frame(store: Store, frame: MetricFrame, source: str) -> IngestResult:
    """Ingest data that did not come from a file (a Prometheus query), in one transaction."""
    with store.transaction():
        return store.ingest(frame, source, frame_sha256(frame))
