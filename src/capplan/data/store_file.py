"""Opening a store's DuckDB file: waiting while another process holds its lock, and what
DuckDB says about a damaged, foreign or locked file, said plainly."""

from __future__ import annotations

import re
import time

import duckdb

from capplan.errors import StoreError

__all__ = ["connect", "lock_problem", "open_problem"]

_LOCKED = re.compile(r"could not set lock|conflicting lock", re.IGNORECASE)
_HOLDER = re.compile(r"lock is held in (.*?) \(PID (\d+)\)")


def connect(name: str, read_only: bool, lock_timeout: float) -> duckdb.DuckDBPyConnection:
    """A connection to the store file, waiting up to ``lock_timeout`` seconds while another
    process holds its lock (retrying at growing intervals, at most 0.25 s apart)."""
    deadline = time.monotonic() + max(0.0, lock_timeout)
    pause = 0.01
    while True:
        try:
            return duckdb.connect(name, read_only=read_only)
        except duckdb.Error as exc:
            message = str(exc)
            left = deadline - time.monotonic()
            if not _LOCKED.search(message):
                raise StoreError(open_problem(message), path=name) from None
            if left <= 0:
                raise StoreError(lock_problem(message, lock_timeout), path=name) from None
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.25)


def lock_problem(message: str, waited: float) -> str:
    holder = _HOLDER.search(message)
    who = f"process {holder.group(2)} ({holder.group(1)})" if holder else "another process"
    return (
        f"is locked by {who}: waited {waited:g} s for it; DuckDB lets one process write a "
        "store (or several read it) at a time. Try again when it is done"
    )


def open_problem(message: str) -> str:
    """What is wrong with a store file, from DuckDB's message (its first line kept)."""
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    lower = message.lower()
    if "not a valid duckdb database" in lower:
        return "is not a capplan store (not a DuckDB database file)"
    if "could not read enough bytes" in lower:
        return (
            "is truncated or damaged: a part it points to is not there, so the store cannot "
            f"be read (DuckDB: {first}); restore it from a backup, or ingest again into a "
            "new store"
        )
    if "corrupt" in lower or "checksum" in lower or "metadata block" in lower:
        return f"is damaged: {first}; restore it from a backup, or ingest again into a new store"
    if "wal" in lower and ("replay" in lower or "checkpoint" in lower):
        return f"has a damaged write-ahead log ({first}); move the .wal file beside it away"
    if _LOCKED.search(message):
        return lock_problem(message, 0)
    if "version" in lower or "serializ" in lower:
        return f"was written by an incompatible DuckDB version: {first}"
    return f"cannot open the store: {first}"
