"""Reports and text forms of projections."""

from capplan.report.formats import PROJECTION_FORMATS, SCENARIO_FORMATS, scenario_summary

__all__ = ["PROJECTION_FORMATS", "SCENARIO_FORMATS", "scenario_summary"]
