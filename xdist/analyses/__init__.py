"""The research questions as functions over the results table.

- :func:`analysis_frame` - degradation joined with distances and language facts
- :func:`correlate` - degradation versus distance, per experiment, with bootstrap intervals
- :func:`regress` - OLS (cluster-robust) or lme4-style mixed models on the analysis table
- :func:`intermediate_gains`, :func:`intermediate_slope` - intermediate-task effects
- :func:`setting_gap`, :func:`scale_analysis` - settings gap and degradation across model sizes
- :func:`leave_one_out` - which languages (or families) drive a slope
- :func:`gap_summary`, :func:`gap_slope`, :func:`gap_scale`, :func:`multitask_gains`,
  :func:`slope_comparison` - comparing settings (adapters, multi-task and multilingual
  intermediate training, decoder LLMs); see :mod:`xdist.analyses.compare`
"""

from xdist.analyses.compare import (
    GAP_SCALE_COLUMNS,
    GAP_SLOPE_COLUMNS,
    GAP_SUMMARY_COLUMNS,
    MULTITASK_COLUMNS,
    SLOPE_COMPARISON_COLUMNS,
    gap_scale,
    gap_slope,
    gap_summary,
    multitask_gains,
    slope_comparison,
)
from xdist.analyses.correlation import CORRELATION_COLUMNS, correlate
from xdist.analyses.frame import EXPERIMENT_COLUMNS, analysis_frame
from xdist.analyses.influence import LOO_COLUMNS, leave_one_out
from xdist.analyses.intermediate import (
    GAIN_COLUMNS,
    SLOPE_COLUMNS,
    intermediate_gains,
    intermediate_slope,
)
from xdist.analyses.regression import ModelReport, regress, regression_frame
from xdist.analyses.scale import GAP_COLUMNS, SCALE_COLUMNS, scale_analysis, setting_gap

__all__ = [
    "CORRELATION_COLUMNS",
    "EXPERIMENT_COLUMNS",
    "GAIN_COLUMNS",
    "GAP_COLUMNS",
    "GAP_SCALE_COLUMNS",
    "GAP_SLOPE_COLUMNS",
    "GAP_SUMMARY_COLUMNS",
    "LOO_COLUMNS",
    "MULTITASK_COLUMNS",
    "SCALE_COLUMNS",
    "SLOPE_COLUMNS",
    "SLOPE_COMPARISON_COLUMNS",
    "ModelReport",
    "analysis_frame",
    "correlate",
    "gap_scale",
    "gap_slope",
    "gap_summary",
    "intermediate_gains",
    "intermediate_slope",
    "leave_one_out",
    "multitask_gains",
    "regress",
    "regression_frame",
    "scale_analysis",
    "setting_gap",
    "slope_comparison",
]
