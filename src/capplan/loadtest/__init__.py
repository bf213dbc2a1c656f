"""Load-test results → per-instance capacity: k6, Locust and FreeAgentics-format runs, the
Universal Scalability Law fitted over their concurrency levels, and the largest throughput
within a latency and an error limit."""

from capplan.loadtest.analysis import Analysis, Capacity, Limits, analyse, capacity_at_limits
from capplan.loadtest.files import read_runs
from capplan.loadtest.render import analysis_data, analysis_markdown
from capplan.loadtest.runs import LoadRun, parse_freeagentics, parse_k6, parse_locust, parse_run
from capplan.loadtest.usl import MIN_LEVELS, UslFit, fit_usl, usl_throughput

__all__ = [
    "MIN_LEVELS",
    "Analysis",
    "Capacity",
    "Limits",
    "LoadRun",
    "UslFit",
    "analyse",
    "analysis_data",
    "analysis_markdown",
    "capacity_at_limits",
    "fit_usl",
    "parse_freeagentics",
    "parse_k6",
    "parse_locust",
    "parse_run",
    "read_runs",
    "usl_throughput",
]
