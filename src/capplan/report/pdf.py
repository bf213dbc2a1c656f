"""Print a self-contained HTML report to PDF with headless Chromium under Playwright.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``scripts/system-deps.sh``) or the
one ``CAPPLAN_CHROMIUM`` names; Playwright's own browser downloads are never used. The page
may request nothing: every request is aborted, so a report that needed the network would
print with blank charts, and the error says so.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from capplan.errors import UsageError

__all__ = ["PDF_HELP", "chromium_path", "html_to_pdf"]

PDF_HELP = (
    "PDF needs the Python package playwright (pip install 'capplan[pdf]') and a Chromium "
    "(Debian package chromium: apt-get install chromium, or set CAPPLAN_CHROMIUM)"
)
_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# every Plotly chart of the page has drawn its plot
_DRAWN = (
    "() => [...document.querySelectorAll('.plotly-graph-div')]"
    ".every(d => d.querySelector('.main-svg'))"
)
_WIDTH = 794  # an A4 page at 96 dpi: charts are laid out at the width they print at


def chromium_path() -> Path | None:
    """The Chromium binary to print with, or None."""
    given = os.environ.get("CAPPLAN_CHROMIUM")
    if given:
        return Path(given) if Path(given).is_file() else None
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(candidate).is_file():
            return Path(candidate)
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return Path(found) if found else None


def html_to_pdf(html_text: str, out: Path, timeout_ms: int = 60_000) -> None:
    """Print ``html_text`` (a page that requests nothing) to the PDF file ``out`` (A4).

    Raises :class:`~capplan.errors.UsageError` naming what to install when Playwright or
    Chromium is missing."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise UsageError(
            f"cannot write PDF: the package playwright is not installed. {PDF_HELP}"
        ) from None
    binary = chromium_path()
    if binary is None:
        raise UsageError(f"cannot write PDF: Chromium is not installed. {PDF_HELP}")
    blocked: list[str] = []

    def only_inline(route: Any) -> None:
        blocked.append(route.request.url)
        route.abort("blockedbyclient")

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(binary), headless=True, args=_ARGS)
            try:
                page = browser.new_page(viewport={"width": _WIDTH, "height": 1123})
                page.route("**/*", only_inline)
                page.set_content(html_text, wait_until="load", timeout=timeout_ms)
                page.wait_for_function(_DRAWN, timeout=timeout_ms)
                page.emulate_media(media="print")
                page.pdf(
                    path=str(out),
                    format="A4",
                    print_background=True,
                    margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"},
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise UsageError(f"cannot write PDF with {binary}: {exc}") from None
    if blocked:
        raise UsageError(
            f"the report requested {blocked[0]} while printing; it must be self-contained"
        )
