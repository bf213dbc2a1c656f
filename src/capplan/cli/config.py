"""The configuration file: defaults for the options of the commands that read Prometheus.

``capplan --config FILE`` (or ``CAPPLAN_CONFIG``) reads a TOML file; without one, the first
``capplan.toml``, or ``pyproject.toml`` with a ``[tool.capplan]`` table, found from the
working directory upward, else ``~/.config/capplan/config.toml``. Its ``[prometheus]`` table
sets how to reach Prometheus and within which limits, for ``ingest``, ``forecast``, ``check``
and ``serve``::

    [prometheus]
    username = "alice"
    ca_file = "/etc/ssl/prometheus-ca.pem"
    headers = ["X-Scope-OrgID: team"]
    deadline = 10
    retries = 1
    max_bytes = "16MiB"

A flag wins over its ``CAPPLAN_PROMETHEUS_*`` variable, which wins over the file, which wins
over the built-in default. ``url`` (like ``CAPPLAN_PROMETHEUS_URL``) is the ``--prometheus``
a command reads when it is given no other source: files or a store given on the command
line are read instead.
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from capplan.cli.source_options import parse_headers, parse_size
from capplan.errors import UsageError

__all__ = ["COMMANDS", "config_defaults", "default_config_path", "find_config"]

#: The commands whose options the ``[prometheus]`` table sets.
COMMANDS = ("ingest", "forecast", "check", "serve")


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{key} must be a number of seconds > 0, got {value!r}")
    return float(value)


def _count(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a whole number >= 0, got {value!r}")
    return value


def _size(key: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str):
        parse_size(value)  # a UsageError naming the expected form
        return value
    raise ValueError(f'{key} must be a size such as "64MiB" or a number of bytes, got {value!r}')


def _ratio(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
        raise ValueError(f"{key} must be a number >= 1, got {value!r}")
    return float(value)


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value


def _headers(key: str, value: Any) -> list[str]:
    if isinstance(value, dict):
        items = [f"{name}: {text}" for name, text in value.items()]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise ValueError(f"{key} must be a list of 'Name: value' or a table, got {value!r}")
    parse_headers(items)  # a UsageError naming a malformed one
    return items


# Key of the [prometheus] table → how its value is checked; each key is the name of the
# commands' parameter it sets.
_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "url": _text,
    "username": _text,
    "password": _text,
    "bearer_token": _text,
    "headers": _headers,
    "ca_file": _text,
    "insecure": _flag,
    "connect_timeout": _seconds,
    "read_timeout": _seconds,
    "deadline": _seconds,
    "retries": _count,
    "max_bytes": _size,
    "points_ratio": _ratio,
}
_SECRETS = ("password", "bearer_token")


def find_config(start: Path) -> Path | None:
    """The configuration file that applies in ``start``: the nearest ``capplan.toml`` or
    ``pyproject.toml`` with a ``[tool.capplan]`` table in it or a directory above, else
    :func:`default_config_path` when it exists."""
    for folder in (start, *start.parents):
        if (folder / "capplan.toml").is_file():
            return folder / "capplan.toml"
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
    home = default_config_path()
    return home if home.is_file() else None


def _has_tool_table(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False  # not ours to judge: only a [tool.capplan] table makes it ours
    tool = data.get("tool")
    return isinstance(tool, dict) and "capplan" in tool


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/capplan/config.toml`` (``~/.config`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "capplan" / "config.toml"


def config_defaults(path: Path) -> dict[str, dict[str, Any]]:
    """Click's ``default_map`` from the configuration file at ``path``: per command, its
    parameters' defaults. A :class:`UsageError` names the file, and the line or key, of
    anything wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the configuration file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: is not valid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        data = tool.get("capplan", {}) if isinstance(tool, dict) else {}
        if not isinstance(data, dict):
            raise UsageError(f"{path}: tool.capplan must be a table ([tool.capplan])")
    unknown = sorted(set(data) - {"prometheus"})
    if unknown:
        raise UsageError(f"{path}: unknown table or key {unknown[0]!r}; expected [prometheus]")
    table = data.get("prometheus", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: prometheus must be a table ([prometheus])")
    values: dict[str, Any] = {}
    for key, value in table.items():
        check = _KEYS.get(key)
        if check is None:
            raise UsageError(
                f"{path}: [prometheus] has no key {key!r}; expected one of {', '.join(_KEYS)}"
            )
        try:
            values[key] = check(key, value)
        except (ValueError, UsageError) as exc:
            raise UsageError(f"{path}: [prometheus] {exc}") from None
    if any(key in values for key in _SECRETS) and _shared(path):
        print(
            f"warning: {path} holds a password or token and other users can read it "
            f"(chmod 600 {path})",
            file=sys.stderr,
        )
    if "url" in values:  # the commands' --prometheus
        values["prometheus"] = values.pop("url")
    return {command: dict(values) for command in COMMANDS}


def _shared(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    except OSError:
        return False
