"""Statistics for transfer-versus-distance analyses.

- :func:`correlation_table` - correlations per group with bootstrap intervals,
  permutation and analytic p-values and adjustment across the table
- :func:`correlation`, :func:`bootstrap_correlation_ci`,
  :func:`permutation_pvalue`, :func:`weighted_correlation` - the pieces
- :class:`ResamplePlan`, :func:`percentile_interval`, :func:`bca_interval` -
  bootstrap machinery (units or whole clusters resampled, seeded)
- :func:`adjust_pvalues` - Holm / Benjamini-Hochberg adjustment

Definitions and their agreement with R are in ``docs/statistics.md``.
"""

from xdist.stats.adjust import ADJUST_METHODS, adjust_pvalues
from xdist.stats.bootstrap import (
    CI_METHODS,
    BootstrapWarning,
    ResamplePlan,
    bca_interval,
    bootstrap_interval,
    percentile_interval,
)
from xdist.stats.correlation import (
    METHODS,
    TABLE_COLUMNS,
    CorrelationCI,
    CorrelationResult,
    bootstrap_correlation_ci,
    correlation,
    correlation_table,
    permutation_pvalue,
    weighted_correlation,
)

__all__ = [
    "ADJUST_METHODS",
    "CI_METHODS",
    "METHODS",
    "TABLE_COLUMNS",
    "BootstrapWarning",
    "CorrelationCI",
    "CorrelationResult",
    "ResamplePlan",
    "adjust_pvalues",
    "bca_interval",
    "bootstrap_correlation_ci",
    "bootstrap_interval",
    "correlation",
    "correlation_table",
    "percentile_interval",
    "permutation_pvalue",
    "weighted_correlation",
]
