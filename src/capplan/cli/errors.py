"""Exit codes of the CLI, and the one place errors become messages and codes.

=====  ==========================================================
code   meaning
=====  ==========================================================
0      success
2      bad input: the plan file, a data file or an argument is wrong
70     internal error (a bug: please report it with the command)
130    interrupted
=====  ==========================================================

``capplan check`` is meant for cron and CI, so its codes say what it found (as Nagios
plugins do); its errors use 3 instead of 2, which there means critical:

=====  ==========================================================
code   ``capplan check``
=====  ==========================================================
0      every observed threshold is ok
1      a warning level is firing, or a metric has no data
2      a critical (or emergency) level is firing
3      error: bad plan, bad data, missing store, bad argument
70     internal error
=====  ==========================================================
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.markup import escape

from capplan.cli.output import err_console
from capplan.errors import CapplanError, PlanError

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CHECK_ERROR",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "exit_code",
    "handle_errors",
]

EXIT_BAD_INPUT = 2
EXIT_CHECK_ERROR = 3  # `capplan check` only: its 2 means critical
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

P = ParamSpec("P")
R = TypeVar("R")


def exit_code(exc: BaseException) -> int:
    """The exit code for an exception."""
    if isinstance(exc, CapplanError):
        return EXIT_BAD_INPUT
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_INTERNAL


def report(exc: BaseException) -> None:
    """Print an error for people: every issue on its own line, no traceback."""
    if isinstance(exc, PlanError) and exc.issues:
        for issue in exc.issues:
            err_console.print(
                f"[bold red]error:[/bold red] {escape(str(issue))}",
                markup=True,
                highlight=False,
                soft_wrap=True,
            )
    elif isinstance(exc, CapplanError):
        err_console.print(
            f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
    elif isinstance(exc, KeyboardInterrupt):
        err_console.print("interrupted", highlight=False)
    else:
        err_console.print(
            f"[bold red]internal error:[/bold red] {type(exc).__name__}: {escape(str(exc))}\n"
            "This is a bug in capplan; set CAPPLAN_DEBUG=1 for the traceback and report it.",
            highlight=False,
            soft_wrap=True,
        )


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command, turning errors into a message on stderr and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except (Exception, KeyboardInterrupt) as exc:
            if os.environ.get("CAPPLAN_DEBUG") and not isinstance(exc, CapplanError):
                raise
            report(exc)
            raise typer.Exit(exit_code(exc)) from None

    return wrapper
