"""The documentation is complete and builds: the README's plan reference names every field the
schema accepts, in the table of its object; the docs site's reference is rendered from the
schema; ``mkdocs build --strict`` passes with no warning; every command of the tutorials runs
on the bundled examples, and the service tutorial's server answers what the page shows."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from capplan.cli import app
from capplan.plan.models import Plan
from capplan.plan.reference import ROOT as ROOT_OBJECT
from capplan.plan.reference import object_paths, plan_reference, schema_objects

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
SCHEMA: dict[str, Any] = Plan.model_json_schema(by_alias=True)
MARKER = re.compile(r"^<!-- fields: ([\w ]+) -->$")


def reference_tables(text: str) -> list[tuple[set[str], str]]:
    """(objects, table text) of each table of the README's plan reference, the objects named
    by the ``<!-- fields: A B -->`` line above the table."""
    section = text.split("\n## Plan file reference\n", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    tables = []
    for i, line in enumerate(lines):
        found = MARKER.match(line.strip())
        if found:
            rows = []
            for row in lines[i + 1 :]:
                if not row.startswith("|"):
                    break
                rows.append(row)
            assert rows, f"no table below {line!r}"
            tables.append((set(found.group(1).split()), "\n".join(rows)))
    return tables


def names_in(table: str) -> set[str]:
    """Every word inside backticks in a table: `x`, `budget.per`, `{vcpu, memory_gb}`."""
    spans = re.findall(r"`([^`]+)`", table)
    return {word for span in spans for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span)}


def test_readme_plan_reference_names_every_field_of_the_schema() -> None:
    tables = reference_tables(README.read_text(encoding="utf-8"))
    objects = schema_objects(SCHEMA)
    tabled = {name for names, _ in tables for name in names}
    unknown = sorted(tabled - set(objects))
    assert not unknown, f"README marks tables for objects the schema does not have: {unknown}"
    missing = [f"{name} (no table)" for name in objects if name not in tabled]
    for name, body in objects.items():
        shown: set[str] = set()
        for names, table in tables:
            if name in names:
                shown |= names_in(table)
        missing += [f"{name}.{field}" for field in body.get("properties", {}) if field not in shown]
    assert not missing, f"missing from the README's plan reference tables: {', '.join(missing)}"


def test_reference_tables_are_found() -> None:
    text = "\n## Plan file reference\n\n<!-- fields: A B -->\n| f |\n|---|\n| `x` |\n\n## Next\n"
    ((names, table),) = reference_tables(text)
    assert names == {"A", "B"}
    assert names_in(table) == {"x"}


# -- the generated reference ------------------------------------------------------------------


def test_generated_reference_has_a_section_and_a_row_per_field() -> None:
    text = plan_reference()
    for name, body in schema_objects(SCHEMA).items():
        anchor = name.lower()
        assert f"{{#{anchor}}}" in text, name
        section = text.split(f"{{#{anchor}}}", 1)[1].split("\n## ", 1)[0]
        for field in body.get("properties", {}):
            assert f"| `{field}` |" in section, f"{name}.{field}"
    links = set(re.findall(r"\]\(#([a-z]+)\)", text))
    anchors = set(re.findall(r"\{#([a-z]+)\}", text))
    assert links <= anchors


def test_generated_reference_says_where_each_object_is_used() -> None:
    paths = object_paths(SCHEMA)
    assert paths["Driver"] == ["drivers.<driver>"]
    assert paths["Deploy"] == ["components.<component>.deploy"]
    assert "thresholds.<threshold>.runway" in paths["RunwayRule"]
    assert "policies.<policy>.behavior.scale_down.policies[]" in paths["HpaRule"]
    text = plan_reference()
    assert "At `policies.<policy>`, with `kind: hpa`." in text
    assert '| `kind` | `"hpa"` | required |  |' in text
    assert "| `horizon` | integer (≥ 1) | `12` | Number of periods projected. |" in text
    assert next(iter(schema_objects(SCHEMA))) == ROOT_OBJECT


# -- the docs site ----------------------------------------------------------------------------


def tool(name: str, package: str) -> str:
    """The path of a command-line tool, from the test's environment first; fails if missing."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: {package}")
    return found


def test_mkdocs_build_is_strict_and_warns_about_nothing(tmp_path: Path) -> None:
    mkdocs = tool("mkdocs", "pip install -e '.[dev]' installs it")
    site = tmp_path / "site"
    result = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    warnings = [line for line in output.splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings)
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    assert 'id="runwayrule"' in reference
    assert "capacity_per_instance" in reference
    assert "plan-reference" not in reference  # the marker was replaced by the tables


def console_lines(page: Path) -> list[str]:
    """The ``$ capplan ...`` and ``$ promtool ...`` lines of a page's console blocks, in order."""
    text = page.read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n(.*?)```", text, flags=re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    tools = ("$ capplan ", "$ promtool ")
    return [line[2:].split("  #")[0].strip() for line in lines if line.startswith(tools)]


TUTORIALS = ("plan", "forecast", "autoscaling", "service")


def test_every_page_is_in_the_site_and_every_tutorial_shows_commands() -> None:
    pages = {p.stem for p in DOCS.glob("*.md")}
    assert pages == {"index", "reference", *TUTORIALS}
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert all(f"{page}.md" in nav for page in pages)
    assert all(console_lines(DOCS / f"{page}.md") for page in TUTORIALS)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding a copy of the examples, as the working directory, with no
    configuration file read."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/capplan/config.toml
    monkeypatch.delenv("CAPPLAN_CONFIG", raising=False)
    monkeypatch.delenv("CAPPLAN_PROMETHEUS_URL", raising=False)
    return tmp_path


def run_console(page: Path, workdir: Path) -> None:
    runner = CliRunner()
    for command in console_lines(page):
        name, *args = shlex.split(command)
        if name == "promtool":
            argv = [tool("promtool", "install the Debian package 'prometheus'"), *args]
            done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            continue
        result = runner.invoke(app, args)
        assert result.exit_code == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("page", [*TUTORIALS, "reference"])
def test_tutorial_commands_run_on_the_examples(page: str, workdir: Path) -> None:
    run_console(DOCS / f"{page}.md", workdir)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sh_lines(page: Path, prefix: str) -> list[str]:
    """The lines of a page's ``sh`` blocks that start with ``prefix`` (continuations joined)."""
    text = page.read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return [line for line in lines if line.startswith(prefix)]


@pytest.fixture
def served(workdir: Path) -> Iterator[str]:
    """The service tutorial's server, started as the page says (on a free port) after its
    console commands; its base URL."""
    page = DOCS / "service.md"
    run_console(page, workdir)
    command = sh_lines(page, "capplan serve --plans examples")[0]
    port = free_port()
    args = shlex.split(command.replace("--port 8080", f"--port {port}"))
    assert f"--port {port}" in " ".join(args)
    server = subprocess.Popen(
        [sys.executable, "-m", "capplan", *args[1:]],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                if httpx.get(f"{base}/api/status", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer within 60 s"
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_service_tutorial_server_answers_every_request_shown(served: str) -> None:
    page = DOCS / "service.md"
    urls = [shlex.split(line)[-1] for line in sh_lines(page, "curl -s ")]
    assert len(urls) >= 5
    for url in urls:
        answer = httpx.get(url.replace("localhost:8080", served, 1), timeout=30)
        assert answer.status_code == 200, f"{url}: {answer.status_code} {answer.text[:200]}"
    metrics = httpx.get(f"{served}/metrics", timeout=30).text
    served_names = set(re.findall(r"^(capplan_[a-z_]+)[{ ]", metrics, re.MULTILINE))
    for name, family in re.findall(r"`(capplan_[a-z_]+)(\*?)", page.read_text(encoding="utf-8")):
        if family:  # `capplan_rightsize_*`: some gauge of that family has a sample
            assert any(n.startswith(name) for n in served_names), name
        else:
            assert name in served_names, name
    assert httpx.get(f"{served}/", timeout=30).status_code == 200
    assert httpx.get(f"{served}/forecasts", timeout=30).status_code == 200
