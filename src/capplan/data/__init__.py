"""Metric history: frames, readers (CSV, Parquet, Prometheus text), panels and the store."""

from capplan.data.frame import KINDS, FrameWarning, MetricFrame, MetricKind, concat, series_id
from capplan.data.ingest import file_sha256, frame_sha256, ingest_files, ingest_frame
from capplan.data.panel import AGGREGATIONS, Panel, parse_step, rate, to_panel
from capplan.data.readers import read_file
from capplan.data.store import DEFAULT_STORE, IngestResult, SeriesInfo, Store

__all__ = [
    "AGGREGATIONS",
    "DEFAULT_STORE",
    "KINDS",
    "FrameWarning",
    "IngestResult",
    "MetricFrame",
    "MetricKind",
    "Panel",
    "SeriesInfo",
    "Store",
    "concat",
    "file_sha256",
    "frame_sha256",
    "ingest_files",
    "ingest_frame",
    "parse_step",
    "rate",
    "read_file",
    "series_id",
    "to_panel",
]
