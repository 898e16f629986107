"""Linear regression of degradation on distances, with cluster-robust inference.

:func:`ols` fits ordinary least squares from a patsy formula
(``"degradation ~ syntactic + log_size"``), pooled or per group (``by="task"``),
and returns a :class:`RegressionResult`: a tidy coefficient table (one row per
group and term), a fit table (one row per group) and the warnings raised.

Standard errors (``se``)
------------------------
- ``"CR1"`` (default when ``cluster`` is given): the cluster-robust sandwich
  ``V = c (X'X)^-1 (sum_g X_g'u_g u_g'X_g) (X'X)^-1`` with the small-sample
  factor ``c = G/(G-1) * (N-1)/(N-K)``, as Stata's ``vce(cluster)``,
  statsmodels' ``cov_type="cluster"`` and R's
  ``sandwich::vcovCL(type="HC1")`` compute it.
- ``"HC1"``: heteroskedasticity-robust, ``c = N/(N-K)`` (CR1 with every row
  its own cluster).
- ``"classical"`` (default without ``cluster``): ``s^2 (X'X)^-1``.

Inference (``small_sample``)
----------------------------
- ``"t"`` (default): t reference distribution with ``G - 1`` degrees of
  freedom for CR1 (Cameron, Gelbach & Miller 2008), ``N - K`` otherwise.
- ``"wild"``: wild (cluster) bootstrap-t with the null imposed ("WCR").  The
  p-value of ``beta_k = 0`` bootstraps from the model refitted without column
  ``k``; the interval inverts the same test, ``{b0 : p(b0) > alpha}`` (so it
  excludes 0 when ``p <= alpha``).  Weights are Rademacher (+-1), or
  Webb's six-point distribution when there are fewer than 12 clusters
  (``weights="auto"``).  With Rademacher weights and ``2**G <= n_boot`` all
  ``2**G`` sign vectors are enumerated instead of drawn (the result is then
  exact and does not depend on ``seed``).
- ``None``: normal reference distribution (no small-sample adjustment of the
  test; the standard error keeps its factor ``c``).

The bootstrap is vectorised over the draws with the cluster-level algebra of
Roodman, MacKinnon, Nielsen & Webb (2019): for coefficient ``k`` with
``z = X (X'X)^-1 e_k`` and restricted residuals ``u``, the bootstrap
numerator is ``a'v`` and the bootstrap cluster scores are ``P v`` with
``a_g = z_g'u_g`` and ``P = diag(a) - D (X'X)^-1 C'``, ``D_g = X_g'z_g``,
``C_g = X_g'u_g``; no bootstrap sample is refitted.  Under ``beta_k = b0`` the
restricted residuals are linear in ``b0``, so each p-value of the test
inversion costs O(B).

Definitions and the agreement with R are in ``docs/regression.md``.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Sequence

import numpy as np
import pandas as pd
import patsy
from patsy.eval import ast_names
from scipy import stats

from xdist._checks import group_seed
from statsmodels.stats.outliers_influence import variance_inflation_factor

__all__ = [
    "BOOT_WEIGHTS",
    "COEFFICIENT_COLUMNS",
    "FIT_COLUMNS",
    "SE_TYPES",
    "SMALL_SAMPLE",
    "RegressionResult",
    "RegressionWarning",
    "ols",
]

#: Accepted values of ``small_sample``.
SMALL_SAMPLE = ("t", "wild", None)
#: Accepted values of ``se``.
SE_TYPES = ("auto", "CR1", "HC1", "classical")
#: Accepted values of ``weights`` (wild bootstrap weight distribution).
BOOT_WEIGHTS = ("auto", "rademacher", "webb")

#: Columns of :attr:`RegressionResult.coefficients` (after the group columns).
COEFFICIENT_COLUMNS = (
    "term",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "std_estimate",
    "vif",
    "n",
    "n_clusters",
    "df_resid",
    "se_type",
    "inference",
    "n_boot",
    "boot_weights",
)
#: Columns of :attr:`RegressionResult.fit` (after the group columns).
FIT_COLUMNS = (
    "n",
    "n_clusters",
    "k",
    "r2",
    "adj_r2",
    "aic",
    "bic",
    "loglik",
    "sigma",
    "se_type",
    "inference",
    "n_boot",
    "boot_weights",
)

#: Fewer clusters than this triggers a :class:`RegressionWarning`.
FEW_CLUSTERS = 10
#: Webb weights replace Rademacher weights (``weights="auto"``) below this G.
WEBB_BELOW = 12
#: A variance inflation factor above this triggers a :class:`RegressionWarning`.
VIF_WARN = 10.0
#: ``|t*| >= |t| (1 - TIE_TOL)`` counts as "at least as extreme": bootstrap
#: statistics that equal the observed one mathematically (the all-ones and
#: all-minus-ones sign vectors under the null) are not lost to rounding.
TIE_TOL = 1e-9

_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


class RegressionWarning(UserWarning):
    """Inference rests on few clusters, predictors are collinear, or rows were dropped."""


@dataclass(frozen=True)
class RegressionResult:
    """What :func:`ols` returns.

    Attributes
    ----------
    coefficients : DataFrame
        One row per (group, term): the group columns (``by``), then
        :data:`COEFFICIENT_COLUMNS`.  ``term`` is the patsy column name
        (``"Intercept"``, ``"syntactic"``, ``"C(task)[T.XNLI]"``);
        ``std_estimate = estimate * sd(x) / sd(y)`` (NaN for the intercept);
        ``vif`` is the variance inflation factor of the column in the design
        with intercept (NaN for the intercept); ``n`` rows and ``n_clusters``
        clusters (NaN without ``cluster``); ``df_resid`` the degrees of
        freedom of the t reference distribution (``inf`` for the normal, NaN
        for the bootstrap); ``se_type`` ``"CR1"``/``"HC1"``/``"classical"``;
        ``inference`` ``"t(G-1)"``, ``"t(n-k)"``, ``"normal"``,
        ``"wild-cluster-bootstrap-t"`` or ``"wild-bootstrap-t"`` (no
        cluster: every row its own cluster); ``n_boot`` bootstrap samples
        (0 without bootstrap) and ``boot_weights`` ``"rademacher"``,
        ``"rademacher-enumerated"``, ``"webb"`` or None.
    fit : DataFrame
        One row per group: the group columns, then :data:`FIT_COLUMNS`
        (``k`` parameters; ``r2`` and ``adj_r2`` as in R's ``summary.lm``;
        ``aic``, ``bic`` and ``loglik`` as R's ``AIC``, ``BIC`` and
        ``logLik`` for ``lm``, which count the residual variance as a
        parameter; ``sigma`` the residual standard error).
    warnings : list of str
        The messages of the :class:`RegressionWarning` raised while fitting.
    formula : str
        The formula fitted.
    by : tuple of str
        The group columns (empty for a pooled fit).
    cluster : str or None
        The cluster column.
    """

    coefficients: pd.DataFrame
    fit: pd.DataFrame
    warnings: list = field(default_factory=list)
    formula: str = ""
    by: tuple = ()
    cluster: str | None = None

    def __repr__(self) -> str:
        groups = len(self.fit)
        return (
            f"RegressionResult(formula={self.formula!r}, groups={groups}, "
            f"terms={len(self.coefficients)}, warnings={len(self.warnings)})"
        )


# --------------------------------------------------------------------- checks


def _choice(value, allowed, param: str):
    if value is None and None in allowed:
        return value
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            f"{param}={value!r} is not accepted: use one of "
            + ", ".join(repr(a) for a in allowed)
        )
    return value


def _column_hint(name: str, columns: Sequence) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in columns], n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    avail = ", ".join(repr(str(c)) for c in columns)
    return f"{hint}; available columns: {avail}"


def _check_column(data: pd.DataFrame, name, param: str) -> None:
    if not isinstance(name, str) or name not in data.columns:
        raise ValueError(
            f"{param}={name!r} is not a column of data" + _column_hint(name, data.columns)
        )


def _check_formula(data: pd.DataFrame, formula, env: patsy.EvalEnvironment) -> None:
    """Raise a one-line ValueError for an unparsable formula or an unknown column."""
    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(
            f"formula={formula!r} is not accepted: pass a patsy formula string "
            "with an outcome, e.g. 'degradation ~ syntactic + log_size'"
        )
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        msg = str(exc).splitlines()[0]
        raise ValueError(f"formula={formula!r} could not be parsed: {msg}") from None
    if not desc.lhs_termlist:
        raise ValueError(f"formula={formula!r} has no outcome left of '~'")
    columns = set(data.columns)
    outer = set(patsy.builtins.__all__) | set(dir(builtins))
    namespace = env.namespace
    for term in list(desc.lhs_termlist) + list(desc.rhs_termlist):
        for factor in term.factors:
            code = getattr(factor, "code", "")
            unknown = [
                n
                for n in ast_names(code)
                if n not in columns and n not in outer and n not in namespace
            ]
            unknown += [q for q in _quoted_names(code) if q not in columns]
            if unknown:
                raise ValueError(
                    f"formula={formula!r} uses unknown column {unknown[0]!r}"
                    + _column_hint(unknown[0], data.columns)
                )


def _quoted_names(code: str) -> list:
    """Column names quoted with Q("...") in a factor's code."""

    out = []
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        return out
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Q"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            out.append(node.args[0].value)
    return out


def _group_label(by: tuple, key: tuple) -> str:
    if not by:
        return "pooled fit"
    return "group " + ", ".join(f"{b}={k!r}" for b, k in zip(by, key))


# ---------------------------------------------------------------- the fit


def _sandwich_factor(se_type: str, n: int, k: int, g: int) -> float:
    if se_type == "CR1":
        return g / (g - 1) * (n - 1) / (n - k)
    return n / (n - k)  # HC1


def _robust_vcov(X, u, ids, g, xtx_inv, factor):
    scores = np.zeros((g, X.shape[1]))
    np.add.at(scores, ids, X * u[:, None])
    return factor * xtx_inv @ (scores.T @ scores) @ xtx_inv


def _weights_matrix(kind: str, g: int, n_boot: int, ss: np.random.SeedSequence):
    """Bootstrap weights, shape (G, B), and the label of the scheme used."""
    if kind == "rademacher" and 2**g <= n_boot:
        codes = (np.arange(2**g)[None, :] >> np.arange(g)[:, None]) & 1
        return 2.0 * codes - 1.0, "rademacher-enumerated"
    rng = np.random.default_rng(ss)
    if kind == "rademacher":
        return 2.0 * rng.integers(0, 2, size=(g, n_boot)) - 1.0, "rademacher"
    return _WEBB[rng.integers(0, 6, size=(g, n_boot))], "webb"


def _cluster_sum(values: np.ndarray, ids: np.ndarray, g: int) -> np.ndarray:
    out = np.zeros((g,) + values.shape[1:])
    np.add.at(out, ids, values)
    return out


def _wild(X, y, beta, se, ids, g, xtx_inv, V, factor, alpha):
    """WCR p-values of ``beta_k = 0`` and WCR test-inversion intervals, per coefficient.

    Under ``beta_k = b0`` the restricted residuals are ``u0 - b0 u1`` with
    ``u0 = M_{-k} y`` and ``u1 = M_{-k} x_k`` (``M_{-k}`` the annihilator of
    the other columns), so the bootstrap numerators ``a(b0)'V`` and cluster
    scores ``P(b0) V`` are linear in ``b0`` and the sums of squared scores
    quadratic: they are formed once and every p-value ``p(b0)`` costs O(B).
    """
    n, K = X.shape
    p = np.full(K, np.nan)
    lo = np.full(K, np.nan)
    hi = np.full(K, np.nan)
    undefined = 0
    for k in range(K):
        Xr = np.delete(X, k, axis=1)
        u0, u1 = y.copy(), X[:, k].copy()
        if Xr.shape[1]:
            coef = np.linalg.lstsq(Xr, np.column_stack([u0, u1]), rcond=None)[0]
            u0 = u0 - Xr @ coef[:, 0]
            u1 = u1 - Xr @ coef[:, 1]
        z = X @ xtx_inv[:, k]  # b_k = z'y
        DQ = _cluster_sum(X * z[:, None], ids, g) @ xtx_inv

        def parts(u):
            a = _cluster_sum(z * u, ids, g)
            P = np.diag(a) - DQ @ _cluster_sum(X * u[:, None], ids, g).T
            return a @ V, P @ V

        A0, S0 = parts(u0)
        A1, S1 = parts(u1)
        # sum_g (S0 - b0 S1)^2 = Q00 - 2 b0 Q01 + b0^2 Q11: O(B) per p(b0)
        Q00 = np.einsum("gb,gb->b", S0, S0)
        Q01 = np.einsum("gb,gb->b", S0, S1)
        Q11 = np.einsum("gb,gb->b", S1, S1)

        def pvalue(b0: float) -> tuple[float, int]:
            ss = np.maximum(Q00 - 2 * b0 * Q01 + b0 * b0 * Q11, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                t_star = (A0 - b0 * A1) / np.sqrt(factor * ss)
            ok = np.isfinite(t_star)
            if not ok.any():
                return np.nan, int(ok.size)
            t_obs = abs((beta[k] - b0) / se[k])
            return float(np.mean(np.abs(t_star[ok]) >= t_obs * (1 - TIE_TOL))), int((~ok).sum())

        p[k], undefined_k = pvalue(0.0)
        undefined = max(undefined, undefined_k)
        lo[k] = _invert(pvalue, beta[k], se[k], alpha, side=-1)
        hi[k] = _invert(pvalue, beta[k], se[k], alpha, side=+1)
    return p, lo, hi, undefined


#: Doublings of the step when bracketing an interval bound, and bisection steps.
INVERT_DOUBLINGS = 60
INVERT_BISECTIONS = 50


def _invert(pvalue, estimate: float, se: float, alpha: float, side: int) -> float:
    """Bound of ``{b0 : p(b0) > alpha}`` on one side of ``estimate``.

    Steps out from the estimate by ``se, 2 se, 4 se, ...`` until
    ``p(b0) <= alpha``, then bisects the last step 50 times; returns the
    midpoint of the final bracket (``+-inf`` if no step rejects).  The same
    sequence of evaluations is written out in ``make_golden.R``.
    """
    inner, h = estimate, se
    for _ in range(INVERT_DOUBLINGS):
        outer = estimate + side * h
        if not pvalue(outer)[0] > alpha:
            break
        inner, h = outer, 2 * h
    else:
        return side * np.inf
    for _ in range(INVERT_BISECTIONS):
        mid = (inner + outer) / 2
        if pvalue(mid)[0] > alpha:
            inner = mid
        else:
            outer = mid
    return (inner + outer) / 2


def _fit_one(
    sub: pd.DataFrame,
    formula: str,
    env,
    *,
    label: str,
    key: tuple,
    cluster: str | None,
    se_type: str,
    small_sample,
    n_boot: int,
    seed: int,
    weights: str,
    alpha: float,
    notes: list,
):
    try:
        yd, Xd = patsy.dmatrices(
            formula, sub, eval_env=env, NA_action="drop", return_type="dataframe"
        )
    except patsy.PatsyError as exc:
        msg = str(exc).splitlines()[0]
        raise ValueError(f"formula={formula!r} failed for the {label}: {msg}") from None
    if yd.shape[1] != 1:
        raise ValueError(
            f"formula={formula!r}: the outcome must be one numeric column, "
            f"got {yd.shape[1]} columns {list(yd.columns)} (is it a string column?)"
        )
    n_missing = len(sub) - len(yd)
    if n_missing:
        notes.append(
            f"{label}: {n_missing} of {len(sub)} rows dropped because a "
            "variable in the formula is missing"
        )
    y = yd.to_numpy(dtype=np.float64)[:, 0]
    X = Xd.to_numpy(dtype=np.float64)
    terms = list(Xd.columns)
    n, K = X.shape
    if n <= K:
        raise ValueError(
            f"{label}: {n} rows for {K} parameters ({', '.join(terms)}); "
            "ols needs more rows than parameters"
        )
    has_int = "Intercept" in terms
    for j, t in enumerate(terms):
        if t != "Intercept" and np.ptp(X[:, j]) == 0:
            raise ValueError(
                f"{label}: predictor {t!r} is constant (all {X[0, j]!r}); "
                "drop it from formula or fit across groups"
            )
    if np.ptp(y) == 0:
        raise ValueError(f"{label}: the outcome is constant (all {y[0]!r})")
    rank = np.linalg.matrix_rank(X)
    if rank < K:
        raise ValueError(
            f"{label}: the design is rank deficient (rank {rank} < {K} columns "
            f"{', '.join(terms)}): some predictors are collinear"
        )

    if cluster is not None:
        cl = sub.loc[yd.index, cluster]
        if cl.isna().any():
            raise ValueError(
                f"cluster={cluster!r} has missing values in {int(cl.isna().sum())} "
                f"rows of the {label}"
            )
        ids, levels = pd.factorize(cl, sort=True)
        g = len(levels)
        if g < 2:
            raise ValueError(
                f"cluster={cluster!r}: the {label} has {g} cluster; "
                "clustered standard errors need at least 2"
            )
        if g < FEW_CLUSTERS:
            advice = (
                "prefer small_sample='wild'"
                if small_sample != "wild"
                else "even the wild cluster bootstrap is approximate"
            )
            notes.append(
                f"{label}: only {g} clusters of {cluster!r}; cluster-robust "
                f"inference is unreliable with fewer than {FEW_CLUSTERS} ({advice})"
            )
    else:
        ids, g = np.arange(n), n

    # OLS through QR: (X'X)^-1 = R^-1 R^-T
    q, r = np.linalg.qr(X)
    beta = np.linalg.solve(r, q.T @ y)
    r_inv = np.linalg.solve(r, np.eye(K))
    xtx_inv = r_inv @ r_inv.T
    resid = y - X @ beta
    rss = float(resid @ resid)
    sigma2 = rss / (n - K)
    if se_type == "classical":
        vcov = sigma2 * xtx_inv
        factor = np.nan
    else:
        factor = _sandwich_factor(se_type, n, K, g)
        vcov = _robust_vcov(X, resid, ids, g, xtx_inv, factor)
    se = np.sqrt(np.diag(vcov))

    boot_label = None
    used_boot = 0
    if small_sample == "t":
        df = float(g - 1) if se_type == "CR1" else float(n - K)
        inference = "t(G-1)" if se_type == "CR1" else "t(n-k)"
        tstat = beta / se
        p = 2 * stats.t.sf(np.abs(tstat), df)
        crit = stats.t.ppf(1 - alpha / 2, df)
        lo, hi = beta - crit * se, beta + crit * se
    elif small_sample is None:
        df = np.inf
        inference = "normal"
        p = 2 * stats.norm.sf(np.abs(beta / se))
        crit = stats.norm.ppf(1 - alpha / 2)
        lo, hi = beta - crit * se, beta + crit * se
    else:  # wild
        df = np.nan
        inference = "wild-cluster-bootstrap-t" if cluster is not None else "wild-bootstrap-t"
        kind = weights
        if kind == "auto":
            kind = "webb" if g < WEBB_BELOW else "rademacher"
        V, boot_label = _weights_matrix(kind, g, n_boot, group_seed(seed, key))
        used_boot = V.shape[1]
        p, lo, hi, bad = _wild(X, y, beta, se, ids, g, xtx_inv, V, factor, alpha)
        if bad:
            notes.append(
                f"{label}: {bad} of {used_boot} bootstrap samples gave an undefined "
                "t statistic (zero standard error) and were left out"
            )

    # standardized coefficients and VIF
    sd_y = np.std(y, ddof=1)
    std_est = beta * X.std(axis=0, ddof=1) / sd_y
    Xv = X if has_int else np.column_stack([np.ones(n), X])
    off = 0 if has_int else 1
    vif = np.full(K, np.nan)
    for j, t in enumerate(terms):
        if t == "Intercept":
            std_est[j] = np.nan
            continue
        if K - (1 if has_int else 0) > 1:
            with np.errstate(divide="ignore"):
                vif[j] = variance_inflation_factor(Xv, j + off)
        else:
            vif[j] = 1.0
    high = [f"{t} ({v:.1f})" for t, v in zip(terms, vif) if np.isfinite(v) and v > VIF_WARN]
    if high:
        notes.append(
            f"{label}: variance inflation factor above {VIF_WARN:g} for "
            + ", ".join(high)
            + "; the predictors are collinear and their coefficients are unstable"
        )

    n_clusters = float(g) if cluster is not None else np.nan
    coef = pd.DataFrame(
        {
            "term": terms,
            "estimate": beta,
            "se": se,
            "ci_low": lo,
            "ci_high": hi,
            "p_value": p,
            "std_estimate": std_est,
            "vif": vif,
            "n": n,
            "n_clusters": n_clusters,
            "df_resid": df,
            "se_type": se_type,
            "inference": inference,
            "n_boot": used_boot,
            "boot_weights": boot_label,
        }
    )
    # fit statistics, as R's summary.lm / logLik.lm
    if has_int:
        tss = float(((y - y.mean()) ** 2).sum())
    else:
        tss = float((y**2).sum())
    r2 = 1 - rss / tss
    adj_r2 = 1 - (1 - r2) * (n - int(has_int)) / (n - K)
    loglik = -0.5 * n * (np.log(2 * np.pi) + np.log(rss / n) + 1)
    fit = {
        "n": n,
        "n_clusters": n_clusters,
        "k": K,
        "r2": r2,
        "adj_r2": adj_r2,
        "aic": -2 * loglik + 2 * (K + 1),
        "bic": -2 * loglik + np.log(n) * (K + 1),
        "loglik": loglik,
        "sigma": np.sqrt(sigma2),
        "se_type": se_type,
        "inference": inference,
        "n_boot": used_boot,
        "boot_weights": boot_label,
    }
    return coef, fit


# ---------------------------------------------------------------- public


def ols(
    data: pd.DataFrame,
    formula: str,
    *,
    cluster: str | None = None,
    by: str | Sequence[str] | None = None,
    small_sample: str | None = "t",
    se: str = "auto",
    alpha: float = 0.05,
    n_boot: int = 9999,
    seed: int = 0,
    weights: str = "auto",
) -> RegressionResult:
    """Ordinary least squares with cluster-robust inference, pooled or per group.

    Parameters
    ----------
    data : DataFrame
        Long table, one row per observation (e.g. task x language).
    formula : str
        patsy formula, ``"degradation ~ syntactic + log_size"``; functions
        (``np.log(size)``), ``C(task)`` and ``Q("odd name")`` work as in
        statsmodels.  Rows with a missing value in a formula variable are
        dropped with a :class:`RegressionWarning`.
    cluster : str, optional
        Column whose values are the clusters (language, family).  Gives CR1
        standard errors and, with ``small_sample="t"``, t(G-1) inference.
    by : str or list of str, optional
        Fit the model separately in each group of these columns (one design
        per group, as ``lapply(split(data, data$task), lm)``).  Without it
        one pooled model is fitted (add ``C(task)`` to the formula for task
        fixed effects).
    small_sample : {"t", "wild", None}, default "t"
        Reference distribution for tests and intervals: t with G-1 (CR1) or
        n-k (HC1, classical) degrees of freedom; the wild (cluster)
        bootstrap-t (null-imposed p-value, interval by inverting that test);
        or the normal.
    se : {"auto", "CR1", "HC1", "classical"}, default "auto"
        ``"auto"`` is CR1 with ``cluster``, otherwise HC1 with
        ``small_sample="wild"`` and classical else.  CR1 needs ``cluster``;
        HC1 and classical refuse it.
    alpha : float, default 0.05
        Intervals have coverage ``1 - alpha``.
    n_boot : int, default 9999
        Wild bootstrap samples (ignored unless ``small_sample="wild"``).  With
        Rademacher weights and ``2**G <= n_boot`` the ``2**G`` sign vectors
        are enumerated instead.
    seed : int, default 0
        Seed of the wild bootstrap; each group draws from its own stream
        derived from ``seed`` and the group's values, so a group's result
        does not depend on the other groups.
    weights : {"auto", "rademacher", "webb"}, default "auto"
        Wild bootstrap weights; ``"auto"`` takes Webb's six-point weights
        when there are fewer than 12 clusters and Rademacher weights
        otherwise.

    Returns
    -------
    RegressionResult
        ``.coefficients`` (one row per group and term), ``.fit`` (one row per
        group) and ``.warnings``.

    Raises
    ------
    ValueError
        Unknown column (in ``formula``, ``cluster`` or ``by``), an argument
        outside its accepted values, a group with no more rows than
        parameters, a constant predictor or outcome, a rank-deficient design,
        fewer than 2 clusters or missing cluster values.

    Warns
    -----
    RegressionWarning
        Fewer than 10 clusters; a variance inflation factor above 10; rows
        dropped for missing values; undefined bootstrap statistics.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> lang = np.repeat([f"l{i}" for i in range(12)], 3)
    >>> syn = np.repeat(rng.uniform(0.3, 0.7, 12), 3)
    >>> df = pd.DataFrame({"lang": lang, "syntactic": syn,
    ...                    "degradation": 20 * syn + rng.normal(0, 1, 36)})
    >>> res = ols(df, "degradation ~ syntactic", cluster="lang")
    >>> res.coefficients[["term", "n_clusters", "df_resid", "se_type", "inference"]]
            term  n_clusters  df_resid se_type inference
    0  Intercept        12.0      11.0     CR1    t(G-1)
    1  syntactic        12.0      11.0     CR1    t(G-1)
    >>> bool(res.coefficients.loc[1, "p_value"] < 0.05)
    True
    >>> wild = ols(df, "degradation ~ syntactic", cluster="lang",
    ...            small_sample="wild", weights="rademacher", n_boot=9999)
    >>> row = wild.coefficients.iloc[1]
    >>> row["inference"], int(row["n_boot"]), row["boot_weights"]
    ('wild-cluster-bootstrap-t', 4096, 'rademacher-enumerated')
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(
            f"data must be a pandas DataFrame (long table), got {type(data).__name__}"
        )
    env = patsy.EvalEnvironment.capture(1)
    data = data.reset_index(drop=True)  # unique labels for aligning dropped rows
    _check_formula(data, formula, env)
    _choice(small_sample, SMALL_SAMPLE, "small_sample")
    _choice(se, SE_TYPES, "se")
    _choice(weights, BOOT_WEIGHTS, "weights")
    if cluster is not None:
        _check_column(data, cluster, "cluster")
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} is not accepted: pass a number in (0, 1)")
    if isinstance(n_boot, bool) or not isinstance(n_boot, Integral) or n_boot < 1:
        raise ValueError(f"n_boot={n_boot!r} is not accepted: pass a positive int")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(
            f"seed={seed!r} is not accepted: pass a non-negative int so that "
            "results are reproducible"
        )
    se_type = se
    if se == "auto":
        se_type = "CR1" if cluster is not None else ("HC1" if small_sample == "wild" else "classical")
    if se_type == "CR1" and cluster is None:
        raise ValueError("se='CR1' needs cluster=COLUMN (the column of clusters)")
    if se_type != "CR1" and cluster is not None:
        raise ValueError(
            f"se={se!r} does not use clusters but cluster={cluster!r} was given: "
            "use se='CR1' (or 'auto'), or drop cluster"
        )
    if se_type == "classical" and small_sample == "wild":
        raise ValueError(
            "se='classical' cannot be combined with small_sample='wild': the wild "
            "bootstrap studentizes with a robust standard error (use se='HC1' or 'CR1')"
        )

    if by is None:
        by_cols: tuple = ()
    elif isinstance(by, str):
        by_cols = (by,)
    else:
        by_cols = tuple(by)
    for b in by_cols:
        _check_column(data, b, "by")
        if data[b].isna().any():
            raise ValueError(
                f"by={b!r} has missing values in {int(data[b].isna().sum())} rows: "
                "fill or drop them first"
            )
    if cluster is not None and cluster in by_cols:
        raise ValueError(f"cluster={cluster!r} is also a by column: every group would have 1 cluster")

    if by_cols:
        groups = [
            (k if isinstance(k, tuple) else (k,), g)
            for k, g in data.groupby(list(by_cols), sort=True)
        ]
    else:
        groups = [((), data)]

    notes: list = []
    coef_parts, fit_rows = [], []
    for key, sub in groups:
        label = _group_label(by_cols, key)
        coef, fit = _fit_one(
            sub,
            formula,
            env,
            label=label,
            key=key,
            cluster=cluster,
            se_type=se_type,
            small_sample=small_sample,
            n_boot=int(n_boot),
            seed=int(seed),
            weights=weights,
            alpha=float(alpha),
            notes=notes,
        )
        for i, (b, v) in enumerate(zip(by_cols, key)):
            coef.insert(i, b, v)
            fit[b] = v
        coef_parts.append(coef)
        fit_rows.append(fit)
    coefficients = pd.concat(coef_parts, ignore_index=True)
    fit_table = pd.DataFrame(fit_rows, columns=list(by_cols) + list(FIT_COLUMNS))
    for msg in notes:
        warnings.warn(msg, RegressionWarning, stacklevel=2)
    return RegressionResult(
        coefficients=coefficients,
        fit=fit_table,
        warnings=list(notes),
        formula=formula,
        by=by_cols,
        cluster=cluster,
    )
