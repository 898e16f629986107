"""Which languages drive a slope: leave one language (or family) out.

:func:`leave_one_out` refits an OLS formula (``"degradation ~ syntactic"``)
once per language - or per language family - left out, within each
experiment, and reports for every left-out unit

- the slope without it and its change from the full fit (how much the
  unit drives the estimate), and
- the held-out prediction error: the refit predicts the left-out unit's
  outcome, as LangRank (Lin et al. 2019) and LITMUS (Srinivasan et al. 2021)
  evaluate transfer predictors on languages not seen in fitting.

Each refit is least squares on the remaining rows (a few small solves per
group, no iterative fitting), so the analysis is fast also for the 104
targets of the UD matrix.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import patsy

from xdist._checks import check_choice
from xdist.analyses.frame import EXPERIMENT_COLUMNS, analysis_frame
from xdist.caveats import caveat
from xdist.distances import DISTANCE_KINDS
from xdist.results import EXCLUDED_FLAGS

__all__ = ["LOO_COLUMNS", "UNITS", "leave_one_out"]

#: Accepted values of ``unit``.
UNITS = ("language", "family")

#: Columns of :func:`leave_one_out`' result after the ``by`` columns.
LOO_COLUMNS = [
    "unit",
    "left_out",
    "term",
    "estimate",
    "full_estimate",
    "change",
    "n",
    "n_left_out",
    "n_units",
    "observed",
    "predicted",
    "error",
    "abs_error",
    "mae",
    "rmse",
    "formula",
]


def _is_results(data: pd.DataFrame) -> bool:
    return "target_task" in data.columns and "score" in data.columns and "degradation" not in data


def leave_one_out(
    data: pd.DataFrame,
    *,
    formula: str = "degradation ~ syntactic",
    unit: str = "language",
    by=tuple(EXPERIMENT_COLUMNS),
    term: str | None = None,
    tasks=None,
    models=None,
    metrics=None,
    codes: str = "individual",
    source_languages=("en",),
    exclude_flags=EXCLUDED_FLAGS,
    impute_distances: bool | None = None,
) -> pd.DataFrame:
    """Refit a slope leaving out each language (or family) in turn.

    Parameters
    ----------
    data : pandas.DataFrame
        An analysis table (:func:`xdist.analyses.analysis_frame`, or any
        tidy table with the formula's columns, ``unit`` and ``by``), or a
        results table (:func:`xdist.results.read_results`), which is turned
        into the analysis table first (with ``tasks`` ... ``impute_distances``).
    formula : str
        patsy formula fitted by least squares (``"degradation ~ syntactic +
        log_size"``).  Rows with a missing value in a formula column are left
        out.
    unit : {"language", "family"}
        What is left out: one language, or one whole language family.
    by : list of str
        Columns of one experiment; each group is refitted separately
        (default: the experiment columns of the analysis table; ``()`` for
        one pooled fit).
    term : str, optional
        The coefficient reported (default: the first term after the
        intercept, e.g. ``"syntactic"``).
    tasks, models, metrics, codes, source_languages, exclude_flags, impute_distances
        Passed to :func:`xdist.analyses.analysis_frame` when ``data`` is a
        results table; ignored otherwise.

    Returns
    -------
    pandas.DataFrame
        One row per (group, left-out unit): the ``by`` columns, then
        :data:`LOO_COLUMNS`.  ``estimate`` is the coefficient of ``term``
        without the unit, ``full_estimate`` with all units, ``change =
        estimate - full_estimate``; ``n`` rows in the refit, ``n_left_out``
        rows of the unit, ``n_units`` units in the group.  ``observed`` and
        ``predicted`` are the unit's mean outcome and the refit's mean
        prediction for its rows, ``error = observed - predicted``,
        ``abs_error`` the mean absolute error over its rows.  ``mae`` and
        ``rmse`` (the same on every row of a group) summarise the held-out
        error over the group's units: the mean of ``abs_error`` and the root
        mean square of ``error``.  A refit whose design is rank deficient
        without the unit gives NaN (with a caveat).

    Raises
    ------
    ValueError
        Bad ``formula``/``term``/``unit``, a missing column, or no group with
        enough units (at least the number of coefficients + 2).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from xdist.analyses.influence import leave_one_out
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"language": [f"l{i}" for i in range(10)],
    ...                    "syntactic": np.linspace(0.3, 0.8, 10)})
    >>> df["degradation"] = 30 * df.syntactic + rng.normal(0, 0.5, 10)
    >>> df.loc[9, "degradation"] += 10          # one language far off the line
    >>> loo = leave_one_out(df, by=())
    >>> top = loo.loc[loo.change.abs().idxmax()]
    >>> top.left_out, bool(abs(top.error) > 5 * loo.mae.iloc[0] / 2)
    ('l9', True)
    """
    if not isinstance(data, pd.DataFrame) or data.empty:
        raise ValueError("data: expected a non-empty pandas DataFrame (analysis or results table)")
    unit = check_choice("unit", [unit], UNITS, what="left-out unit")[0]
    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(
            f"formula={formula!r} is not valid: expected 'outcome ~ terms', e.g. "
            "'degradation ~ syntactic + log_size'"
        )
    if "|" in formula:
        raise ValueError(
            f"formula={formula!r}: random terms are not accepted here; leave_one_out refits "
            "by least squares (give the fixed part only)"
        )
    if _is_results(data):
        # only the distance kinds the formula uses (all six when it names none)
        kinds = [k for k in DISTANCE_KINDS if re.search(rf"\b{k}\b", formula)]
        data = analysis_frame(data, tasks=tasks, models=models, metrics=metrics,
                              source_languages=source_languages, kinds=kinds or DISTANCE_KINDS,
                              codes=codes, exclude_flags=exclude_flags,
                              impute_distances=impute_distances)
    by = [by] if isinstance(by, str) else list(by or ())
    for col in by + [unit]:
        if col not in data.columns:
            check_choice("by" if col in by else "unit", [col], list(data.columns), what="column")
    units = data[unit]
    if units.isna().any() or (units.astype(str) == "").any():
        bad = data.loc[units.isna() | (units.astype(str) == ""), "language"
                       if "language" in data else unit].astype(str).unique().tolist()
        raise ValueError(
            f"unit={unit!r} needs a value on every row; missing for {bad[:10]}"
        )

    rows = []
    skipped = []
    singular = []
    groups = data.groupby(by, sort=False, dropna=False) if by else [((), data)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        try:
            y, X = patsy.dmatrices(formula, g, NA_action="drop", return_type="dataframe")
        except patsy.PatsyError as exc:
            raise ValueError(
                f"formula={formula!r} failed: {str(exc).splitlines()[0]}"
            ) from None
        names = list(X.columns)
        if term is None:
            slope = next((n for n in names if n != "Intercept"), None)
            if slope is None:
                raise ValueError(f"formula={formula!r} has no term besides the intercept")
        else:
            slope = check_choice("term", [term], names, what="term of the formula")[0]
        j = names.index(slope)
        u = g.loc[X.index, unit].astype(str).to_numpy()
        yv = y.to_numpy(float)[:, 0]
        Xv = X.to_numpy(float)
        labels = list(dict.fromkeys(u))
        k = Xv.shape[1]
        label = "/".join(str(v) for v in key) or "pooled"
        if len(labels) < k + 2:
            skipped.append(f"{label} ({len(labels)} {unit}s)")
            continue
        full = np.linalg.lstsq(Xv, yv, rcond=None)
        if full[2] < k:
            singular.append(f"{label} (full fit)")
            continue
        beta_full = full[0]
        grow = []
        for lab in labels:
            out_mask = u == lab
            keep = ~out_mask
            Xk = Xv[keep]
            beta, _, rank, _ = np.linalg.lstsq(Xk, yv[keep], rcond=None)
            if rank < k:
                singular.append(f"{label} without {lab}")
                beta = np.full(k, np.nan)
            pred = Xv[out_mask] @ beta
            err = yv[out_mask] - pred
            grow.append(dict(zip(by, key), unit=unit, left_out=lab, term=slope,
                             estimate=beta[j], full_estimate=beta_full[j],
                             change=beta[j] - beta_full[j], n=int(keep.sum()),
                             n_left_out=int(out_mask.sum()), n_units=len(labels),
                             observed=float(yv[out_mask].mean()),
                             predicted=float(pred.mean()), error=float(err.mean()),
                             abs_error=float(np.abs(err).mean()), formula=formula))
        errs = np.array([r["error"] for r in grow])
        abs_errs = np.array([r["abs_error"] for r in grow])
        mae = float(np.nanmean(abs_errs)) if np.isfinite(abs_errs).any() else np.nan
        rmse = float(np.sqrt(np.nanmean(errs**2))) if np.isfinite(errs).any() else np.nan
        for r in grow:
            r["mae"], r["rmse"] = mae, rmse
        rows.extend(grow)
    if skipped:
        caveat(f"{len(skipped)} group(s) with too few {unit}s for leave-one-out are left out: "
               + ", ".join(skipped[:4]) + (", ..." if len(skipped) > 4 else ""))
    if singular:
        caveat(f"{len(singular)} refit(s) with a rank-deficient design give NaN: "
               + ", ".join(singular[:4]) + (", ..." if len(singular) > 4 else ""))
    if not rows:
        raise ValueError(
            f"no group has enough {unit}s for leave-one-out with {formula!r} (need the number "
            "of coefficients + 2)"
        )
    return pd.DataFrame(rows)[by + LOO_COLUMNS].reset_index(drop=True)
