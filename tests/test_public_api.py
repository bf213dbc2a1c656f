"""The curated public API: sorted, importable, and nothing private leaks out."""

from __future__ import annotations

import capplan
import capplan.errors


def test_all_is_sorted_and_every_name_exists() -> None:
    names = list(capplan.__all__)
    assert names == sorted(names)
    for name in names:
        assert hasattr(capplan, name), name


def test_no_private_names_are_exported() -> None:
    assert all(not n.startswith("_") or n == "__version__" for n in capplan.__all__)


def test_errors_share_one_root() -> None:
    for name in capplan.__all__:
        obj = getattr(capplan, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, capplan.CapplanError), name


def test_every_error_class_is_exported() -> None:
    for name in capplan.errors.__all__:
        obj = getattr(capplan.errors, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert name in capplan.__all__, name
