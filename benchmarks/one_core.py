"""Import first in every benchmark: one thread per BLAS/OpenMP pool and one pinned CPU, so
figures compare like with like on a shared machine.

Thread pools are sized when NumPy is first imported, so this module must be imported before
anything that imports NumPy (capplan does).
"""

from __future__ import annotations

import os

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
for _var in THREAD_VARS:
    os.environ[_var] = "1"


def _pin_to_one_core() -> str:
    """Pin this process to one CPU; say which, or why not."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (os.sched_setaffinity is not available on this platform)"
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    except OSError as exc:
        return f"not pinned ({exc})"
    return f"pinned to CPU {cpu}"


PINNING = _pin_to_one_core()
