"""Send a short message (a check's firing thresholds, a report's summary) to people, through
Apprise: Slack (``slack://``), e-mail (``mailto://``, ``mailtos://``), Microsoft Teams
(``msteams://``), PagerDuty (``pagerduty://``), generic webhooks (``json://``, ``form://``)
and every other service Apprise knows.

Targets hold credentials, so they are read from the environment (the URL ``env`` stands for
those of ``CAPPLAN_NOTIFY_URLS``, separated by spaces, commas or new lines) or from a file
(an Apprise configuration file: one URL a line, or its YAML form), besides the command line;
no message or error ever
shows one: :class:`Targets` masks every URL with Apprise's privacy form and every secret
part (user, password, tokens in the path or query) wherever it appears.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from capplan.errors import CapplanError, UsageError

__all__ = [
    "ENV_URLS",
    "LINK_HELP",
    "SEND_CONFIG_HELP",
    "URL_HELP",
    "DeliveryError",
    "Targets",
    "load_targets",
    "send",
]

ENV_URLS = "CAPPLAN_NOTIFY_URLS"
URL_HELP = (
    "Apprise URL (repeatable): slack://, mailto://, msteams://, pagerduty://, json:// ...; "
    f"'env' for the URLs in {ENV_URLS}. Keep credentials in that variable or a config file, "
    "not on the command line."
)
SEND_CONFIG_HELP = "Apprise configuration file of the targets (one URL a line, or YAML)."
LINK_HELP = "Link put in the message (e.g. the dashboard of `capplan serve`)."
_SPLIT = re.compile(r"[\s,]+")
# parts of a URL too short or too common to be a secret worth masking
_PLAIN = {"", "localhost", "127.0.0.1", "json", "form", "xml", "yes", "no", "true", "false"}


class DeliveryError(CapplanError):
    """A notification target is unknown to Apprise or did not take the message (exit 2)."""


def _secrets(url: str) -> set[str]:
    """The parts of ``url`` that may be credentials: user and password, path segments and
    query values (hosts of http(s) webhooks excepted)."""
    out: set[str] = set()
    try:
        parts = urlsplit(url)
    except ValueError:
        return {url}
    for value in (parts.username, parts.password):
        if value:
            out |= {value, unquote(value)}
    if parts.scheme not in ("json", "jsons", "form", "forms", "xml", "xmls", "http", "https"):
        host = parts.netloc.rsplit("@", 1)[-1].rsplit(":", 1)[0].strip()  # case kept
        if host and host not in _PLAIN:
            out.add(host)
    for segment in parts.path.split("/"):
        if len(segment) >= 4:
            out |= {segment, unquote(segment)}
    for _, value in parse_qsl(parts.query):
        if len(value) >= 4 and value.lower() not in _PLAIN:
            out.add(value)
    return {s for s in out if s and s.lower() not in _PLAIN}


@dataclass
class Targets:
    """Where to send, with what masks them: ``urls`` the raw URLs, ``config_files`` Apprise
    configuration files."""

    urls: list[str] = field(default_factory=list)
    config_files: list[Path] = field(default_factory=list)
    _secrets: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        for url in self.urls:
            self._secrets |= _secrets(url)
        for path in self.config_files:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for token in re.findall(r"[a-z][a-z0-9+.-]*://\S+", text, flags=re.IGNORECASE):
                self._secrets |= _secrets(token.strip("'\""))

    def __bool__(self) -> bool:
        return bool(self.urls or self.config_files)

    def mask(self, text: str) -> str:
        """``text`` with every secret part of every target replaced by ``****``."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "****")
        return text

    def describe(self) -> str:
        """The targets, masked: ``slack://****/****/****, json://hooks.example/****``."""
        names = [self.mask(_short(u)) for u in self.urls]
        names += [f"targets in {p}" for p in self.config_files]
        return ", ".join(names)


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def load_targets(
    urls: Iterable[str] = (),
    config_files: Iterable[Path] = (),
    *,
    environ: Mapping[str, str] | None = None,
) -> Targets:
    """The targets of the command line's ``urls`` and ``config_files``; the URL ``env``
    stands for those of the environment variable ``CAPPLAN_NOTIFY_URLS``. A configuration
    file that cannot be read is a :class:`UsageError` (which does not show its contents)."""
    env = os.environ if environ is None else environ
    found: list[str] = []
    for url in urls:
        if url.strip().lower() == "env":
            listed = [u for u in _SPLIT.split(env.get(ENV_URLS, "")) if u]
            if not listed:
                raise UsageError(f"the notification URL 'env' names {ENV_URLS}, which is not set")
            found += listed
        elif url.strip():
            found.append(url.strip())
    files = []
    for path in config_files:
        if not Path(path).is_file():
            raise UsageError(f"--send-config: no such file: {path}")
        files.append(Path(path))
    return Targets(found, files)


def send(
    targets: Targets,
    title: str,
    body: str,
    *,
    attach: Sequence[Path] = (),
) -> int:
    """Send ``title`` and ``body`` (plain text) to every target; the number reached. Raises
    :class:`DeliveryError`, its message masked, when a URL is not one Apprise knows, or when
    any target did not take the message (unreachable, refused)."""
    import apprise  # imported here: the CLI starts faster without it

    app = apprise.Apprise()
    for url in targets.urls:
        if not app.add(url):
            raise DeliveryError(
                targets.mask(
                    f"not a notification URL Apprise knows: {_short(url)} "
                    "(see https://github.com/caronc/apprise/wiki for the services and their URLs)"
                )
            )
    for path in targets.config_files:
        config = apprise.AppriseConfig()
        if not config.add(str(path)) or not app.add(config) or not len(config):
            raise DeliveryError(f"no notification URL could be read from {path}")
    attachments = [str(p) for p in attach if Path(p).is_file()] or None
    with apprise.LogCapture(level=apprise.logging.WARNING) as logs:  # type: ignore[no-untyped-call]
        ok = app.notify(body=body, title=title, attach=attachments)
        log = logs.getvalue()
    if not ok:
        reason = " ".join(line.strip() for line in log.splitlines() if line.strip())[-600:]
        raise DeliveryError(
            targets.mask(
                f"could not deliver the notification to {targets.describe()}"
                + (f": {reason}" if reason else "")
            )
        )
    return len(app)
