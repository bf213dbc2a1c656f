"""The ``capplan`` command line."""

from capplan.cli import check as _check  # noqa: F401  (registers its commands)
from capplan.cli import compare as _compare  # noqa: F401  (registers its commands)
from capplan.cli import export as _export  # noqa: F401  (registers its commands)
from capplan.cli import forecasting as _forecasting  # noqa: F401  (registers its commands)
from capplan.cli import history as _history  # noqa: F401  (registers its commands)
from capplan.cli import loadtest as _loadtest  # noqa: F401  (registers its commands)
from capplan.cli import report as _report  # noqa: F401  (registers its commands)
from capplan.cli import rightsize as _rightsize  # noqa: F401  (registers its commands)
from capplan.cli import serve as _serve  # noqa: F401  (registers its commands)
from capplan.cli import simulate as _simulate  # noqa: F401  (registers its commands)
from capplan.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
