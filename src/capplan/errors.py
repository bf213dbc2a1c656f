"""The one exception tree of capplan.

Every error capplan raises on purpose derives from :class:`CapplanError` and carries
enough context (file, line, field path, series) to say what was expected and what was
got. The CLI maps each class to an exit code in one place (``cli/errors.py``), the service
to an HTTP status in another (``web/errors.py``)::

    CapplanError
     ├── PlanError                 the plan file is wrong (exit 2)
     │    ├── PlanSyntaxError      not parseable YAML / JSON
     │    ├── PlanValidationError  a field is missing, unknown or out of range
     │    ├── ExpressionError      an expression does not parse, names an unknown
     │    │                         quantity, or the expressions form a cycle
     │    └── EvaluationError      a computed figure is invalid (division by zero,
     │                              NaN, negative demand) in some period
     ├── DataError                 a metric file or series is wrong: unreadable, no
     │                              data rows, a value or time that does not parse;
     │                              names the file, row, column and series (exit 2)
     ├── StoreError                the metric store (a DuckDB file) cannot be opened
     │                              or is not a capplan store (exit 2)
     ├── SourceError               a metric source (Prometheus) is unreachable, rejects
     │                              the query (its own message) or answers nonsense (exit 2)
     ├── ForecastError             forecast input or call is wrong: not a 2-D panel,
     │                              infinite values, horizon < 1, model not fitted (exit 2)
     ├── UsageError                a command-line argument or API parameter is wrong (exit 2)
     ├── ClusterError              a Dask cluster cannot be reached, or a partition of a
     │                              fleet failed or was lost on it; names it (exit 2)
     └── ApiError                  in ``capplan.web.errors``: the service's own 4xx/5xx
                                    answer (an unknown plan or series, a request over its
                                    time budget...) with its HTTP status and error kind
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CapplanError",
    "ClusterError",
    "DataError",
    "EvaluationError",
    "ExpressionError",
    "ForecastError",
    "Issue",
    "PlanError",
    "PlanSyntaxError",
    "PlanValidationError",
    "SourceError",
    "StoreError",
    "UsageError",
    "line_for",
]


@dataclass(frozen=True)
class Issue:
    """One problem found in a plan: where it is and what is wrong."""

    message: str
    path: str = ""
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        prefix = " ".join(part for part in (where, self.path) if part)
        return f"{prefix} {self.message}" if prefix else self.message

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


class CapplanError(Exception):
    """Root of every error capplan raises on purpose."""


@dataclass
class PlanError(CapplanError):
    """The plan file is wrong; ``issues`` lists every problem found, each with its place."""

    issues: list[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)

    @classmethod
    def single(
        cls, message: str, *, path: str = "", file: str | None = None, line: int | None = None
    ) -> PlanError:
        return cls([Issue(message, path=path, file=file, line=line)])

    def with_file(self, file: str, lines: dict[str, int] | None = None) -> PlanError:
        """The same error with the file name (and lines looked up by path) filled in."""
        lines = lines or {}
        fixed = [
            Issue(
                i.message,
                path=i.path,
                file=i.file or file,
                line=i.line if i.line is not None else line_for(i.path, lines),
            )
            for i in self.issues
        ]
        return type(self)(fixed)


class PlanSyntaxError(PlanError):
    """The plan file is not parseable YAML or JSON."""


class PlanValidationError(PlanError):
    """A field of the plan is missing, unknown, of the wrong type or out of range."""


class ExpressionError(PlanError):
    """An expression does not parse, names an unknown quantity, or expressions form a cycle."""


class EvaluationError(PlanError):
    """A computed figure is invalid (division by zero, NaN, a negative demand)."""


@dataclass
class DataError(CapplanError):
    """Metric data is wrong; says where (file, row, column, series), what was expected and got.

    ``row`` is the line of a text file (the header is line 1) or the 1-based record of a
    Parquet file. Rendered as ``nab.csv:1043 column value: expected a number, got 'abc'``.
    """

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    series: str | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or ""
        if self.row is not None:
            where = f"{where}:{self.row}" if where else f"row {self.row}"
        parts = [where] if where else []
        if self.column is not None:
            parts.append(f"column {self.column}")
        if self.series is not None:
            parts.append(f"series {self.series}")
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


@dataclass
class StoreError(CapplanError):
    """The metric store cannot be opened, is not a capplan store, or cannot be written."""

    message: str
    path: str | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ForecastError(CapplanError):
    """Forecast input or call is wrong: the panel shape, infinite values, horizon, fitting order."""


class UsageError(CapplanError):
    """A command-line argument or API parameter is wrong."""


class ClusterError(CapplanError):
    """A Dask cluster cannot be reached, or a partition of a fleet failed or was lost on it."""


def line_for(path: str, lines: dict[str, int]) -> int | None:
    """The line of a field path (``a.b[2].c``) or of its nearest ancestor that has one."""
    parts = path.replace("[", ".[").split(".") if path else []
    while parts:
        key = ".".join(parts).replace(".[", "[")
        if key in lines:
            return lines[key]
        parts.pop()
    return None


class SourceError(CapplanError):
    """A metric source (a Prometheus server) is unreachable, rejects the query or answers
    something that is not a valid result; the message names the server and the query."""
