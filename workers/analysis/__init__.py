"""The risk engine: Track -> per-run metrics -> findings over a runner's history (DESIGN §1).

Pure code (numpy only; no Flask, database or network). Two levels:

1. `compute_metrics(track) -> ActivityMetrics` once per activity (store `metrics.to_dict()`);
2. `evaluate(history, as_of, config) -> list[Finding]` over `HistoryItem(id, source, metrics)`s,
   cheap enough to recompute a 10-year history on every new run.

`analyze_tracks` + `render_text` are the stateless `kneeguard analyze` path.
"""

from workers.analysis.config import Thresholds
from workers.analysis.history import Finding, History, HistoryItem
from workers.analysis.metrics import (
    ActivityMetrics,
    DynamicsMetrics,
    ElevationMetrics,
    RouteMetrics,
    compute_metrics,
)
from workers.analysis.report import SCHEMA, analyze_tracks, build_document, render_text
from workers.analysis.rules import RULE_IDS, evaluate, evaluate_dates, history_note, weekly_table
from workers.analysis.severity import SEVERITIES, rank
from workers.analysis.windows import lookback_days

__all__ = [
    "SCHEMA", "RULE_IDS", "ActivityMetrics", "DynamicsMetrics", "ElevationMetrics", "Finding",
    "History", "HistoryItem", "RouteMetrics", "Thresholds", "analyze_tracks", "build_document",
    "SEVERITIES", "compute_metrics", "evaluate", "evaluate_dates", "history_note", "lookback_days",
    "rank", "render_text", "weekly_table",
]
