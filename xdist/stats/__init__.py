"""Statistics for transfer-versus-distance analyses.

- :func:`correlation_table` - correlations per group with bootstrap intervals,
  permutation and analytic p-values and adjustment across the table
- :func:`correlation`, :func:`bootstrap_correlation_ci`,
  :func:`permutation_pvalue`, :func:`weighted_correlation` - the pieces
- :class:`ResamplePlan`, :func:`percentile_interval`, :func:`bca_interval` -
  bootstrap machinery (units or whole clusters resampled, seeded)
- :func:`adjust_pvalues` - Holm / Benjamini-Hochberg adjustment
- :func:`ols` - least squares with cluster-robust standard errors, t(G-1) or
  wild cluster bootstrap-t inference (``docs/regression.md``)
- :func:`fit_mixed`, :func:`lrt`, :func:`bootstrap_mixed` - lme4-style mixed
  models on statsmodels' MixedLM, checked against lme4 (``docs/mixed-models.md``)

The regression and mixed-model names are imported on first use, so that
``import xdist.stats`` for correlations does not load statsmodels.

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

_LAZY = {
    "ols": "xdist.stats.regression",
    "RegressionResult": "xdist.stats.regression",
    "RegressionWarning": "xdist.stats.regression",
    "fit_mixed": "xdist.stats.mixed",
    "MixedResult": "xdist.stats.mixed",
    "lrt": "xdist.stats.mixed",
    "bootstrap_mixed": "xdist.stats.mixed",
    "diagnose_statsmodels": "xdist.stats.mixed",
    "MixedModelWarning": "xdist.stats.mixed",
    "SingularFitWarning": "xdist.stats.mixed",
    "CollapsedVarianceWarning": "xdist.stats.mixed",
    "RandomStructureWarning": "xdist.stats.mixed",
    "MixedFitError": "xdist.stats.mixed",
    "MixedConvergenceWarning": "xdist.stats.mixed",
    "parse_formula": "xdist.stats.formula",
}
__all__ += list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        attr = "ConvergenceWarning" if name == "MixedConvergenceWarning" else name
        value = getattr(module, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'xdist.stats' has no attribute {name!r}")
