"""Computing work of the service, off the event loop and within a time budget.

Validating a plan, projecting it, running its scenarios, exporting it and rendering its
pages take CPU; on the event loop they would stall every other request. :class:`Workers`
runs them in a small pool of threads of its own, each request within a time budget: past
it the request is answered 503 at once. The thread cannot be stopped (Python threads are
not killable) and finishes in the background, still holding its slot: the pool's size
bounds what a flood of expensive requests can take, and requests that only read a cache
(``/api/status``, cached pages, ``/metrics``) never wait for the pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from capplan.web.errors import ApiError

__all__ = ["Workers"]

T = TypeVar("T")


class Workers:
    """A pool of ``threads`` threads; each call given ``budget_seconds`` to finish."""

    def __init__(self, threads: int, budget_seconds: float) -> None:
        self.threads = max(1, threads)
        self.budget_seconds = budget_seconds
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="capplan-work")
            return self._pool

    async def run(self, what: str, func: Callable[..., T], *args: object) -> T:
        """``func(*args)`` in the pool; 503 when it (with its wait for a thread) takes longer
        than the budget. ``what`` names the work in that message."""
        context = contextvars.copy_context()
        future = self._executor().submit(context.run, func, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.budget_seconds)
        except TimeoutError:
            future.cancel()  # still queued: dropped; running: finishes in the background
            raise ApiError(
                503,
                "over_budget",
                f"{what} did not finish within the {self.budget_seconds:g} s budget of a "
                "request (the service is busy, or the request asks for too much)",
            ) from None

    def close(self) -> None:
        """Drop queued calls and let running ones finish (a later call starts a new pool)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
