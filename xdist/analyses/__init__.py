"""The research questions as functions over the results table.

- :func:`analysis_frame` - degradation joined with distances and language facts
- :func:`correlate` - degradation versus distance, per experiment, with bootstrap intervals
"""

from xdist.analyses.correlation import CORRELATION_COLUMNS, correlate
from xdist.analyses.frame import EXPERIMENT_COLUMNS, analysis_frame

__all__ = ["CORRELATION_COLUMNS", "EXPERIMENT_COLUMNS", "analysis_frame", "correlate"]
