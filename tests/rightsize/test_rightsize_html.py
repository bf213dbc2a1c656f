"""``capplan rightsize --format html``: a self-contained page, its rows checked against the
JSON of the same run, and opened in headless Chromium with every outside request blocked."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import offline_page
from tests.rightsize.generate import write_csv
from typer.testing import CliRunner

from capplan.cli import app
from capplan.rightsize import cpu_quantity, memory_quantity

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
runner = CliRunner()


class Rows(HTMLParser):
    """The rows of ``#recommendations``: each ``tr``'s data attributes and cell texts; and
    every ``src`` / ``href`` the page names."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[dict[str, str], list[str]]] = []
        self.links: list[str] = []
        self.style = ""
        self._in_style = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.links += [found[k] for k in ("src", "href") if k in found]
        if tag == "tr" and "data-key" in found:
            self.rows.append((found, []))
        elif tag == "td" and self.rows:
            self._cell = []
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1][1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_style:
            self.style += data


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("html")
    usage = write_csv(folder / "usage.csv", 24, 1)
    page = folder / "rightsize.html"
    common = ["rightsize", str(usage), "--price-vcpu", "20", "--price-gb", "3"]
    result = runner.invoke(app, [*common, "-f", "html", "-o", str(page)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, [*common, "-f", "json"])
    assert result.exit_code == 0, result.output
    return page, json.loads(result.stdout)["containers"]


def test_rows_are_the_recommendations(written: tuple[Path, list[dict[str, Any]]]) -> None:
    page, rows = written
    parsed = Rows()
    parsed.feed(page.read_text(encoding="utf-8"))
    assert [link for link in parsed.links if not link.startswith("data:")] == []
    assert len(parsed.rows) == len(rows) == 24
    for (attrs, cells), row in zip(parsed.rows, rows, strict=True):
        assert attrs["data-key"] == f"{row['namespace']}/{row['workload']}/{row['container']}"
        assert attrs["data-severity"] == row["severity"] == cells[0]
        assert cells[1:5] == [row["namespace"], row["workload"], row["kind"], row["container"]]
        now = cpu_quantity(row["cpu_request"])
        assert cells[6] == ("not set" if now == "-" else now)
        assert cells[7] == cpu_quantity(row["cpu_request_recommended"])
        assert cells[11] == memory_quantity(row["memory_request_recommended"])
        assert cells[13] == memory_quantity(row["memory_limit_recommended"])
        change = row["monthly_change"]
        assert cells[14].endswith(f"{abs(change):,.2f} USD")
        assert cells[14].startswith("-" if change < -0.005 else "+" if change > 0.005 else "0")
        assert cells[15] == row["flags"]
    for severity in ("critical", "warning", "over", "ok"):
        assert f".severity-{severity} {{ background: #" in parsed.style
    assert {attrs["data-severity"] for attrs, _ in parsed.rows} >= {"critical", "over"}


def test_opens_in_chromium_offline(written: tuple[Path, list[dict[str, Any]]]) -> None:
    """No console error, no request but the file itself; the badges are coloured."""
    page_file, rows = written
    with offline_page(page_file, width=1400) as seen:
        shown = seen.page.locator("#recommendations tbody tr").count()
        colour = seen.page.evaluate(
            "() => getComputedStyle(document.querySelector("
            "'tbody .badge.severity-critical')).backgroundColor"
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        seen.page.screenshot(path=str(ARTIFACTS / "rightsize-html.png"), full_page=True)
    assert not seen.outside, f"the page asked for {seen.outside}"
    assert not seen.errors, seen.errors
    assert shown == len(rows)
    assert colour == "rgb(198, 40, 40)"  # #c62828
