"""Evaluation of any :class:`~vidsr.models.base.VSRModel` on a dataset of clips."""

from vidsr.evaluation.evaluate import (
    METRIC_KEYS,
    ClipScores,
    EvaluationResult,
    ModelScores,
    count_params,
    evaluate,
    score_clip,
    super_resolve,
)
from vidsr.evaluation.tables import format_number, format_tables

__all__ = [
    "METRIC_KEYS",
    "ClipScores",
    "EvaluationResult",
    "ModelScores",
    "count_params",
    "evaluate",
    "format_number",
    "format_tables",
    "score_clip",
    "super_resolve",
]
