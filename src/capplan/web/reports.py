"""Reports built on a schedule by the service (``capplan serve --report-schedule``).

Each refresh, after the forecasts, runs the ``reports`` stage: :meth:`ReportScheduler.run`
looks at the clock (injected: tests move it by hand), and for every schedule whose slot has
passed since the last look it queues one report per served plan with observed metrics. It
then builds every queued report from the store's history, as of its slot, and keeps it in
the store (Markdown, HTML and, when Chromium can print it, PDF; else the reason is kept).
A build that fails stays queued and is tried again at the next refresh; the stage is
``failed`` with the reasons until every queued report is built. Slots that passed before the
service started are not built.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from capplan.data import MetricFrame, Store
from capplan.data.store import StoredReport
from capplan.errors import CapplanError
from capplan.plan.models import Plan
from capplan.policy.freshness import instant, iso_time
from capplan.report.periodic import periodic_report
from capplan.report.periodic_html import periodic_html
from capplan.report.periodic_text import periodic_markdown
from capplan.report.schedule import ReportSchedule
from capplan.web.stages import Stages

__all__ = ["BuiltReport", "ReportJob", "ReportScheduler", "build_report", "print_pdf"]

log = logging.getLogger("capplan.web")

#: prints a report's HTML: the PDF bytes, or (None, why not)
Printer = Callable[[str], tuple[bytes | None, str | None]]


@dataclass(frozen=True)
class ReportJob:
    """One report to build: plan ``plan``'s ``kind`` report for the period ending at ``slot``
    (Unix seconds)."""

    plan: str
    kind: str
    slot: float

    @property
    def label(self) -> str:
        return f"{self.plan} {self.kind} report of {iso_time(instant(self.slot))}"


@dataclass(frozen=True)
class BuiltReport:
    """A report's title and its forms, ready to keep."""

    title: str
    markdown: str
    html: str
    pdf: bytes | None
    pdf_note: str | None


def print_pdf(html: str) -> tuple[bytes | None, str | None]:
    """``html`` printed to PDF by headless Chromium, or (None, the reason it is skipped)."""
    from capplan.report.pdf import PDF_HELP, chromium_path, html_to_pdf

    try:
        import playwright  # noqa: F401
    except ImportError:
        return None, f"PDF skipped: the package playwright is not installed. {PDF_HELP}"
    if chromium_path() is None:
        return None, f"PDF skipped: Chromium is not installed. {PDF_HELP}"
    with TemporaryDirectory(prefix="capplan-report-") as tmp:
        out = Path(tmp) / "report.pdf"
        try:
            html_to_pdf(html, out)
        except CapplanError as exc:
            return None, f"PDF skipped: {exc}"
        return out.read_bytes(), None


def build_report(
    job: ReportJob, plan: Plan, frame: MetricFrame, horizon: str, printer: Printer
) -> BuiltReport:
    """Plan ``plan``'s report of ``job`` from ``frame``, in every form."""
    rep = periodic_report(
        job.kind,  # type: ignore[arg-type]  # a schedule's kind is weekly or monthly
        plan,
        frame,
        now=np.datetime64(int(job.slot), "s"),
        horizon=horizon,
    )
    html = periodic_html(rep, None)
    pdf, note = printer(html)
    return BuiltReport(rep.title, periodic_markdown(rep, None), html, pdf, note)


def observed(plan: Plan) -> bool:
    """Whether ``plan`` has an observed metric (one whose history comes from monitoring)."""
    return any(m.expr is None for m in plan.metrics.values())


class ReportScheduler:
    """The report schedules of a service, the reports queued and the ``reports`` stage.

    ``clock`` gives the time (Unix seconds); ``build`` and ``printer`` are replaceable (tests
    inject failures and a printer that needs no browser). ``lock`` is held while the store
    is written."""

    def __init__(
        self,
        schedules: Sequence[ReportSchedule],
        store: Path | None,
        stages: Stages,
        lock: threading.Lock,
        clock: Callable[[], float] = time.time,
        horizon: str = "90d",
    ) -> None:
        self.schedules = tuple(schedules)
        self.store = store
        self.stages = stages
        self.lock = lock
        self.clock = clock
        self.horizon = horizon
        self.build = build_report
        self.printer: Printer = print_pdf
        started = clock()
        self._seen = {s: s.last_slot(started) for s in self.schedules}
        self.queued: dict[ReportJob, str | None] = {}  # job → why its last build failed

    def due(self, plans: Mapping[str, Plan], now: float) -> None:
        """Queue a report per plan with observed metrics for each slot passed since the
        last look."""
        for schedule, seen in self._seen.items():
            slot = schedule.last_slot(now)
            if slot <= seen:
                continue
            self._seen[schedule] = slot
            for name, plan in sorted(plans.items()):
                if observed(plan):
                    self.queued.setdefault(ReportJob(name, schedule.kind, slot), None)

    def run(self, plans: Mapping[str, Plan], frame: MetricFrame) -> None:
        """The ``reports`` stage of a refresh: queue what is due, build what is queued."""
        if not self.schedules:
            return
        self.stages.start("reports", time.time())
        self.due(plans, self.clock())
        for job in sorted(self.queued, key=lambda j: (j.slot, j.plan, j.kind)):
            plan = plans.get(job.plan)
            if plan is None:
                log.warning("report: plan %s is no longer served; %s dropped", job.plan, job.label)
                del self.queued[job]
                continue
            try:
                self._keep(job, self.build(job, plan, frame, self.horizon, self.printer))
            except Exception as exc:
                reason = _reason(exc)
                log.warning("report: %s failed: %s", job.label, reason)
                self.queued[job] = reason
            else:
                del self.queued[job]
        failures = [f"{job.label}: {why}" for job, why in self.queued.items() if why]
        if failures:
            self.stages.failed(
                "reports", time.time(), "; ".join(failures) + "; tried again at the next refresh"
            )
        else:
            self.stages.ok("reports", time.time())

    def listing(self) -> list[StoredReport]:
        """The reports kept in the store, newest first (none without a store file)."""
        if self.store is None or not self.store.is_file():
            return []
        with self.lock, Store(self.store, read_only=True) as store:
            return store.list_reports()

    def content(self, report_id: int, fmt: str) -> str | bytes | None:
        """The ``fmt`` form (md, html, pdf) of kept report ``report_id``, or None."""
        if self.store is None or not self.store.is_file():
            return None
        with self.lock, Store(self.store, read_only=True) as store:
            return store.report_content(report_id, fmt)

    def _keep(self, job: ReportJob, built: BuiltReport) -> None:
        if self.store is None:
            raise CapplanError("no --store to keep reports in")
        with self.lock, Store(self.store) as store:
            store.add_report(
                job.plan,
                job.kind,
                built.title,
                job.slot,
                self.clock(),
                built.markdown,
                built.html,
                built.pdf,
                built.pdf_note,
            )


def _reason(exc: Exception) -> str:
    """The message of a capplan error; a bug's type (its traceback is logged)."""
    if isinstance(exc, CapplanError):
        return str(exc)
    log.error("report build failed", exc_info=exc)
    return f"internal error ({type(exc).__name__})"
