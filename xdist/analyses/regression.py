"""Regression of degradation on distance: one entry point for OLS and mixed models.

:func:`regress` fits a formula to an analysis table.  A formula with random
terms ``(... | group)`` is a linear mixed model (:func:`xdist.stats.mixed.fit_mixed`,
lme4 syntax); one without is least squares with standard errors clustered by
language or family and small-sample inference (:func:`xdist.stats.regression.ols`).

Both give the same tidy report: ``fixed`` (``term, estimate, se, ci_low,
ci_high, p_value, ...``), ``random`` (variance components; empty for OLS),
``fit`` (one dict of fit statistics) and ``warnings``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xdist._checks import check_choice
from xdist.analyses.frame import analysis_frame
from xdist.results import EXCLUDED_FLAGS

__all__ = ["ModelReport", "regress", "regression_frame"]

_RANDOM = re.compile(r"\([^()|]*\|\|?[^()]*\)")
CLUSTERS = ("language", "family")


@dataclass
class ModelReport:
    """A fitted regression or mixed model as tidy tables.

    Attributes
    ----------
    fixed : pandas.DataFrame
        ``term, estimate, se, ci_low, ci_high, p_value`` and details.
    random : pandas.DataFrame
        Variance components (mixed models), else empty.
    fit : dict
        Fit statistics; ``model`` is ``"ols"`` or ``"mixed"``.
    warnings : list of str
    """

    fixed: pd.DataFrame
    random: pd.DataFrame
    fit: dict
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-safe ``{"fixed": [...], "random": [...], "fit": {...}, "warnings": [...]}``."""
        return {
            "fixed": _records(self.fixed),
            "random": _records(self.random),
            "fit": _jsonable(self.fit),
            "warnings": list(self.warnings),
        }


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if x is pd.NA or x is None:
        return None
    return x if isinstance(x, (str, int, bool)) else str(x)


def _records(df: pd.DataFrame) -> list:
    return [_jsonable(r) for r in df.to_dict(orient="records")]


def regression_frame(
    results: pd.DataFrame,
    *,
    tasks=None,
    models=None,
    metrics=None,
    settings=None,
    source_languages=("en",),
    codes: str = "individual",
    exclude_flags=EXCLUDED_FLAGS,
    impute_distances: bool | None = None,
) -> pd.DataFrame:
    """The analysis table that ``xdist regress --results`` fits formulas to.

    :func:`xdist.analyses.analysis_frame` with all six distance kinds: columns
    ``degradation, degradation_relative, syntactic, ..., genetic, log_size,
    task, model, setting, intermediate_task, metric, language,
    source_language, family, genus, script``.
    """
    return analysis_frame(
        results,
        tasks=tasks,
        models=models,
        metrics=metrics,
        settings=settings,
        source_languages=source_languages,
        codes=codes,
        exclude_flags=exclude_flags,
        impute_distances=impute_distances,
    )


def regress(
    data: pd.DataFrame,
    formula: str,
    *,
    cluster: str = "language",
    bootstrap: int = 0,
    reml: bool = True,
    alpha: float = 0.05,
    seed: int = 0,
    n_jobs: int = 2,
) -> ModelReport:
    """Fit ``formula`` to a tidy table: OLS or, with random terms, a mixed model.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table whose columns the formula names (for example
        :func:`regression_frame` of a results table, or covariates you built).
    formula : str
        Patsy/lme4 formula: ``"degradation ~ syntactic + log_size"`` (OLS) or
        ``"degradation ~ syntactic + (1 + syntactic | task) + (1 | language)"``.
    cluster : str
        Column of the clustering unit: OLS standard errors are clustered by
        it (t with G-1 degrees of freedom); the bootstrap resamples it.
        ``"language"`` or ``"family"`` for results tables; any column for
        your own data.
    bootstrap : int
        0 for analytic inference; N > 0 for N resamples: a wild cluster
        bootstrap-t for OLS, a cluster bootstrap of the fixed effects for a
        mixed model.
    reml : bool
        REML (default) or ML for mixed models.
    alpha : float
        1 - confidence level.
    seed : int
        Seed of the bootstrap.
    n_jobs : int
        Processes for the mixed-model bootstrap.

    Returns
    -------
    ModelReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from xdist.analyses.regression import regress
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"language": np.repeat([f"l{i}" for i in range(12)], 3),
    ...                    "task": np.tile(["a", "b", "c"], 12),
    ...                    "syntactic": np.repeat(rng.uniform(0.3, 0.7, 12), 3)})
    >>> df["degradation"] = 20 * df.syntactic + rng.normal(0, 1, 36)
    >>> rep = regress(df, "degradation ~ syntactic")
    >>> rep.fit["model"], rep.fixed.term.tolist()
    ('ols', ['Intercept', 'syntactic'])
    """
    from xdist.stats.mixed import bootstrap_mixed, fit_mixed
    from xdist.stats.regression import ols

    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(
            f"formula={formula!r} is not valid: expected 'outcome ~ terms', e.g. "
            "'degradation ~ syntactic + log_size + (1 | language)'"
        )
    if not isinstance(data, pd.DataFrame) or data.empty:
        raise ValueError("data: expected a non-empty pandas DataFrame")
    if cluster not in data.columns:
        check_choice("cluster", [cluster], list(data.columns), what="column")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise ValueError(f"bootstrap={bootstrap!r} is not valid: expected 0 or a positive integer")
    mixed = bool(_RANDOM.search(formula))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if mixed:
            res = fit_mixed(data, formula, reml=reml, alpha=alpha)
            fixed = res.fixed.copy()
            if bootstrap:
                boot = bootstrap_mixed(res, cluster=cluster, n_boot=bootstrap, seed=seed,
                                       alpha=alpha, n_jobs=n_jobs)
                fixed = fixed.merge(
                    boot[["term", "ci_low", "ci_high", "se", "n_boot"]].rename(
                        columns={"ci_low": "boot_ci_low", "ci_high": "boot_ci_high",
                                 "se": "boot_se"}),
                    on="term", how="left")
                fixed["boot_cluster"] = cluster
            fit = {"model": "mixed", **res.fit}
            random = res.random.copy()
            msgs = list(res.warnings)
        else:
            res = ols(data, formula, cluster=cluster,
                      small_sample="wild" if bootstrap else "t",
                      n_boot=bootstrap or 9999, alpha=alpha, seed=seed)
            fixed = res.coefficients.copy()
            fit = {"model": "ols", "formula": formula, "cluster": cluster,
                   **res.fit.iloc[0].to_dict()}
            random = pd.DataFrame(columns=["group", "term", "variance", "sd"])
            msgs = list(res.warnings)
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if str(w.message) not in " ".join(msgs) and text not in msgs:
            msgs.append(text)
    return ModelReport(fixed=fixed.reset_index(drop=True), random=random.reset_index(drop=True),
                       fit=fit, warnings=list(dict.fromkeys(msgs)))
