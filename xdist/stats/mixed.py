"""lme4-style linear mixed models on statsmodels' MixedLM, with failure detection.

:func:`fit_mixed` takes a long DataFrame and an lme4 formula such as::

    degradation ~ distance + log_size + (1 + distance | task) + (1 | language)

and returns a :class:`MixedResult` with tidy ``fixed`` and ``random`` tables,
a ``fit`` dict (log-likelihood, AIC, BIC, REML criterion, convergence,
singularity) and the warnings raised.  :func:`lrt` compares nested models,
:func:`bootstrap_mixed` gives cluster-bootstrap intervals for the fixed
effects (whole languages or families resampled).

How formulas map onto statsmodels
---------------------------------
statsmodels' ``MixedLM`` has one grouping factor (``groups``) with a
correlated random-effects block (``exog_re``, lme4's ``(1 + x | g)``) and
*variance components*: independent random effects, each a set of columns with
one shared variance, defined inside the groups.

- One grouping factor ``g``: ``groups = g``; the first term of ``g`` is the
  correlated block, further terms of ``g`` (``(1 | g) + (0 + x | g)``,
  ``(x || g)``) are independent variance components inside each group.
  Exact.
- Several factors, all nested in one of them (``(1 + x | family) + (1 |
  language)`` with every language in one family): ``groups`` = the outer
  factor; inner factors are variance components inside each group.  Exact.
- Crossed factors (a language occurs under several tasks; targets cross
  sources): one group holding all rows, every term a variance component over
  it (statsmodels' documented way to fit crossed effects).  Variance
  components are independent, so a correlated term ``(1 + x | task)`` is fitted
  as ``(1 | task) + (0 + x | task)`` with the correlation fixed at 0, and a
  :class:`RandomStructureWarning` says so.

``docs/mixed-models.md`` has the full table and the comparison with lme4.

Estimation
----------
The REML or ML log-likelihood, profiled over the fixed effects and the
residual variance, is statsmodels' (``MixedLM.loglike`` and ``MixedLM.score``,
in statsmodels' Cholesky / square-root parameterisation, which is lme4's
relative covariance factor theta).  It is maximised with scipy's L-BFGS-B
with theta's diagonal bounded below by 1e-5, as lme4 bounds it by 0, and
tight tolerances.  Fixed effects are the GLS estimates given theta and their
standard errors ``sqrt(diag(sigma^2 (X' V^-1 X)^-1))``, as lme4's ``vcov``;
p-values and intervals are Wald z (normal reference), as statsmodels gives
them - not lme4's t without p-value nor lmerTest's Satterthwaite t.

Failures are reported, never passed off as fits
-----------------------------------------------
- :class:`ConvergenceWarning`: the optimizer stopped without converging, or
  the scaled gradient ``|H^-1 g|`` exceeds 2e-3 (lme4's ``check.conv.grad``).
- :class:`SingularFitWarning`: a boundary fit - a relative standard deviation
  (diagonal of theta) below 1e-4 (lme4's ``isSingular``), which also covers a
  correlation of +-1 and a non-positive-definite covariance.
- :class:`CollapsedVarianceWarning`: an optimizer that stopped, "converged",
  at a collapsed variance although a refit from the one-way ANOVA moment
  estimate of that variance reaches a higher likelihood (the refit is then
  reported).  Its best-known form is statsmodels issue 10239: a variance
  below statsmodels' 1e-10 tolerance, where ``MixedLM.fit`` returns the fixed
  effects of terms constant within groups as exactly 0.0 with
  ``converged=True``.  :func:`fit_mixed` cannot fall into it (theta is bounded
  at 1e-5 and the fixed effects are taken in the variance -> 0 limit);
  :func:`diagnose_statsmodels` checks a fit made with statsmodels itself.

Each message says what to do (a simpler random structure, or a fixed
``distance x task`` interaction).  ``on_failure="raise"`` raises
:class:`MixedFitError` instead.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, sparse, stats

from xdist.stats.bootstrap import ResamplePlan, bca_interval, percentile_interval
from xdist.stats.formula import MixedFormula, parse_formula

__all__ = [
    "MixedModelWarning",
    "ConvergenceWarning",
    "SingularFitWarning",
    "CollapsedVarianceWarning",
    "RandomStructureWarning",
    "MixedFitError",
    "MixedResult",
    "fit_mixed",
    "lrt",
    "bootstrap_mixed",
    "diagnose_statsmodels",
    "random_effects",
    "FIXED_COLUMNS",
    "RANDOM_COLUMNS",
]

#: Columns of :attr:`MixedResult.fixed`.
FIXED_COLUMNS = ("term", "estimate", "se", "ci_low", "ci_high", "p_value", "method")
#: Columns of :attr:`MixedResult.random`.
RANDOM_COLUMNS = ("group", "term", "term2", "variance", "sd", "correlation")

#: Lower bound of theta's diagonal (relative standard deviations) in the optimizer.
THETA_LOWER = 1e-5
#: lme4's ``isSingular`` tolerance on theta's diagonal.
SINGULAR_TOL = 1e-4
#: lme4's ``check.conv.grad`` tolerance on the scaled gradient.
GRAD_TOL = 2e-3
#: statsmodels' tolerance in ``MixedLM.get_fe_params`` (issue 10239).
SM_FE_TOL = 1e-10
#: Above this many variance-component columns in one all-rows group (and
#: 2000 rows), the design is stored sparse (4x faster there, 8x slower on
#: small designs).
SPARSE_MIN_COLUMNS = 64


class MixedModelWarning(UserWarning):
    """Base class of the warnings of :mod:`xdist.stats.mixed`."""


class ConvergenceWarning(MixedModelWarning):
    """The optimizer did not converge (flag or gradient)."""


class SingularFitWarning(MixedModelWarning):
    """Boundary fit: a variance ~ 0, a correlation ~ +-1, or a singular covariance."""


class CollapsedVarianceWarning(MixedModelWarning):
    """A variance collapsed to ~0 in a way statsmodels does not report (issue 10239)."""


class RandomStructureWarning(MixedModelWarning):
    """The random structure was changed to fit statsmodels (a correlation fixed at 0)."""


class MixedFitError(RuntimeError):
    """Raised by ``fit_mixed(..., on_failure="raise")``; ``.result`` holds the failed fit."""

    def __init__(self, message: str, result: "MixedResult"):
        super().__init__(message)
        self.result = result


_FAILURES = (ConvergenceWarning, SingularFitWarning, CollapsedVarianceWarning)

_ADVICE = (
    "simplify the random structure (drop the random slope or the smallest variance "
    "component, or use '||' to drop correlations), or model the slopes as fixed effects "
    "(a distance x task interaction, 'distance * task') when there are few tasks"
)


# --------------------------------------------------------------------------- statsmodels


def _sm():
    """Import statsmodels' MixedLM lazily (keeps ``import xdist.stats`` light)."""
    from statsmodels.regression import mixed_linear_model as mlm

    return mlm


def _fe_limit(model, cov_re, vcomp, tol=SM_FE_TOL):
    """GLS fixed effects and X' V^-1 X (V relative to the residual variance).

    As ``MixedLM.get_fe_params``, except that a variance below ``tol`` is
    floored at ``tol`` - the limit of that variance going to 0 - where
    statsmodels' pseudo-inverse sets its inverse to 0, an *infinite* variance
    (statsmodels issue 10239).
    """
    mlm = _sm()
    if model.k_re > 0:
        w, v = np.linalg.eigh(cov_re)
        cov_re_inv = (v / np.maximum(w, tol)) @ v.T
    else:
        cov_re_inv = np.empty((0, 0))
    xtxy = 0.0
    for i in range(model.n_groups):
        vc_var = model._expand_vcomp(vcomp, i)
        vc_vari = 1.0 / np.maximum(vc_var, tol) if vc_var.size else np.empty(0)
        solver = mlm._smw_solver(1.0, model._aex_r[i], model._aex_r2[i], cov_re_inv, vc_vari)
        endex = np.concatenate((model.exog_li[i], model.endog_li[i][:, None]), axis=1)
        xtxy = xtxy + model.exog_li[i].T @ solver(endex)
    xtx = xtxy[:, :-1]
    return np.linalg.solve(xtx, xtxy[:, -1]), xtx


_MODEL_CLASS = None


def _model_class():
    """statsmodels' MixedLM whose fixed effects are :func:`_fe_limit` (cached)."""
    global _MODEL_CLASS
    if _MODEL_CLASS is not None:
        return _MODEL_CLASS
    mlm = _sm()

    class _MixedLM(mlm.MixedLM):
        _fe_cache = None
        _xtvix = None

        def get_fe_params(self, cov_re, vcomp, tol=SM_FE_TOL):
            key = (np.asarray(cov_re).tobytes(), np.asarray(vcomp).tobytes())
            if self._fe_cache is not None and self._fe_cache[0] == key:
                return self._fe_cache[1].copy(), False
            fe, xtx = _fe_limit(self, cov_re, vcomp, tol)
            self._xtvix = xtx
            self._fe_cache = (key, fe.copy())
            return fe, False

    _MODEL_CLASS = _MixedLM
    return _MixedLM


def _one_blas_thread():
    """Context limiting BLAS to one thread (if threadpoolctl is installed).

    The fits here are many small LAPACK calls; OpenBLAS threads only add
    synchronisation, badly so on a busy machine.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional dependency
        return contextlib.nullcontext()
    return threadpool_limits(1)


# --------------------------------------------------------------------------- design


@dataclass
class _Design:
    """Everything a fit needs, as arrays (resampled without patsy in the bootstrap)."""

    y: np.ndarray
    X: np.ndarray
    fe_names: list
    codes: dict  # grouping factor -> int codes per row
    levels: dict  # grouping factor -> level labels
    z: dict  # random-effect column name -> float values per row ("Intercept" = 1)
    response: str

    @property
    def n(self) -> int:
        return len(self.y)


@dataclass
class _Plan:
    """How the random terms map onto statsmodels' MixedLM."""

    kind: str  # "grouped" or "crossed"
    primary: str | None  # the groups factor when grouped
    re_cols: tuple  # exog_re columns (correlated block) of the primary factor
    vcs: list  # [(factor, column)] variance components
    notes: list = field(default_factory=list)  # RandomStructureWarning messages
    mapping: list = field(default_factory=list)  # human-readable mapping

    @property
    def k_re(self) -> int:
        return len(self.re_cols)

    @property
    def k_re2(self) -> int:
        return self.k_re * (self.k_re + 1) // 2

    @property
    def n_theta(self) -> int:
        return self.k_re2 + len(self.vcs)


def _combine(data: pd.DataFrame, factors: Sequence[str]) -> pd.Series:
    if len(factors) == 1:
        return data[factors[0]]
    return data[list(factors)].astype(str).agg(":".join, axis=1)


def _build_design(data: pd.DataFrame, formula: MixedFormula):
    import patsy

    used = set()
    for t in formula.random:
        used.update(t.factors)
        used.update(t.slopes)
    try:
        y_df, X_df = patsy.dmatrices(formula.fixed_formula, data, return_type="dataframe",
                                     NA_action=patsy.NAAction(NA_types=[]))
    except patsy.PatsyError as exc:
        msg = " ".join(str(exc).split("\n")[0].split())
        raise ValueError(f"formula={formula.text!r}: the fixed part cannot be built: {msg}") \
            from None
    if y_df.shape[1] != 1:
        raise ValueError(f"formula={formula.text!r}: the response {formula.response!r} must "
                         "be one numeric column (a categorical response is not accepted)")
    keep = np.isfinite(y_df.to_numpy(dtype=float)[:, 0]) & np.isfinite(
        X_df.to_numpy(dtype=float)).all(axis=1)
    for col in used:
        keep &= data[col].notna().to_numpy()
    n_dropped = int((~keep).sum())
    rows = data.index[keep]
    y = y_df.to_numpy(dtype=float)[keep, 0]
    X = X_df.to_numpy(dtype=float)[keep]
    if len(y) == 0:
        raise ValueError(f"data: no row is complete for formula {formula.text!r}")
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        raise ValueError(f"formula={formula.text!r}: the fixed-effects design is rank "
                         f"deficient (rank {rank} < {X.shape[1]} columns "
                         f"{list(X_df.columns)}); drop collinear terms")
    sub = data.loc[rows]
    codes, levels, z = {}, {}, {"Intercept": np.ones(len(y))}
    for t in formula.random:
        if t.group not in codes:
            c, lv = pd.factorize(_combine(sub, t.factors), sort=True)
            codes[t.group] = c.astype(np.int64)
            levels[t.group] = np.asarray(lv, dtype=object)
        for s in t.slopes:
            if s not in z:
                col = sub[s]
                if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
                    raise ValueError(f"formula={formula.text!r}: random slope column {s!r} "
                                     f"must be numeric, got dtype {col.dtype}; use a fixed "
                                     "interaction or a numeric coding")
                z[s] = col.to_numpy(dtype=float)
    design = _Design(y=y, X=X, fe_names=[str(c) for c in X_df.columns], codes=codes,
                     levels=levels, z=z, response=formula.response)
    return design, n_dropped, keep


def _nested(inner: np.ndarray, outer: np.ndarray) -> bool:
    """True when every level of ``inner`` occurs within one level of ``outer``."""
    pairs = np.unique(np.stack([inner, outer], axis=1), axis=0)
    return len(pairs) == len(np.unique(inner))


def _plan(formula: MixedFormula, design: _Design) -> _Plan:
    terms = list(formula.random)
    seen = set()
    for t in terms:
        for c in t.columns:
            if (t.group, c) in seen:
                raise ValueError(f"formula={formula.text!r}: the random effect {c!r} of "
                                 f"{t.group!r} appears twice")
            seen.add((t.group, c))
    factors = list(formula.grouping_factors)
    primary = None
    if len(factors) == 1:
        primary = factors[0]
    else:
        cands = [f for f in factors
                 if all(_nested(design.codes[o], design.codes[f]) for o in factors if o != f)]
        # prefer the factor whose first term is a correlated block
        multi = [f for f in cands
                 if any(t.group == f and t.correlated and len(t.columns) > 1 for t in terms)]
        primary = (multi or cands or [None])[0]

    notes, mapping, vcs = [], [], []
    re_cols: tuple = ()
    if primary is not None:
        first = next(t for t in terms if t.group == primary)
        re_cols = first.columns
        mapping.append(f"{first.text} -> groups={primary!r}, exog_re={list(re_cols)}"
                       + (" (correlated)" if len(re_cols) > 1 else ""))
        rest = [t for t in terms if t is not first]
        kind = "grouped"
    else:
        rest = terms
        kind = "crossed"
        mapping.append("crossed factors -> one group of all rows, every term a variance "
                       "component")
    for t in rest:
        if t.correlated and len(t.columns) > 1:
            split = " + ".join(
                f"({'1' if c == 'Intercept' else '0 + ' + c} | {t.group})" for c in t.columns)
            why = ("its factor is crossed with the others" if kind == "crossed" else
                   f"only one correlated block is possible, on {primary!r}")
            notes.append(
                f"{t.text} is fitted as {split}: statsmodels' MixedLM takes it only as "
                f"independent variance components ({why}), so the correlation between "
                f"{' and '.join(t.columns)} is fixed at 0; write {split} (or "
                f"({' + '.join(c for c in t.columns if c != 'Intercept')} || {t.group})) "
                "to state this, or drop the crossed terms to estimate the correlation")
        for c in t.columns:
            vcs.append((t.group, c))
            where = "inside each group" if kind == "grouped" else "over all rows"
            mapping.append(f"({'1' if c == 'Intercept' else '0 + ' + c} | {t.group}) -> "
                           f"variance component {t.group}:{c} {where}")
    return _Plan(kind=kind, primary=primary, re_cols=re_cols, vcs=vcs, notes=notes,
                 mapping=mapping)


def _indicator(codes: np.ndarray, values: np.ndarray, n_levels: int, as_sparse: bool):
    n = len(codes)
    if as_sparse:
        return sparse.csr_matrix((values, (np.arange(n), codes)), shape=(n, n_levels))
    m = np.zeros((n, n_levels))
    m[np.arange(n), codes] = values
    return m


def _build_model(design: _Design, plan: _Plan, codes: dict | None = None):
    """statsmodels MixedLM (the 10239-safe subclass) from design arrays."""
    mlm = _sm()
    codes = design.codes if codes is None else codes
    n = design.n
    if plan.kind == "grouped":
        groups = codes[plan.primary]
        exog_re = np.column_stack([design.z[c] for c in plan.re_cols])
    else:
        groups = np.zeros(n, dtype=np.int64)
        exog_re = None
    labels = np.unique(groups)
    names, colnames, mats = [], [], []
    if plan.vcs:
        if plan.kind == "crossed":
            total = sum(int(codes[f].max()) + 1 for f, _ in plan.vcs)
            as_sparse = total > SPARSE_MIN_COLUMNS and n > 2000
            for f, c in plan.vcs:
                nl = int(codes[f].max()) + 1
                names.append(f"{f}:{c}")
                colnames.append([[f"{f}[{j}]:{c}" for j in range(nl)]])
                mats.append([_indicator(codes[f], design.z[c], nl, as_sparse)])
        else:
            order = np.argsort(groups, kind="stable")
            bounds = np.searchsorted(groups[order], labels, side="left").tolist() + [n]
            for f, c in plan.vcs:
                cn, mt = [], []
                for gi in range(len(labels)):
                    rows = order[bounds[gi]:bounds[gi + 1]]
                    local, inv = np.unique(codes[f][rows], return_inverse=True)
                    cn.append([f"{f}[{j}]:{c}" for j in local])
                    mt.append(_indicator(inv, design.z[c][rows], len(local), False))
                names.append(f"{f}:{c}")
                colnames.append(cn)
                mats.append(mt)
    exog_vc = mlm.VCSpec(names, colnames, mats) if names else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _model_class()(design.y, design.X, groups, exog_re=exog_re, exog_vc=exog_vc,
                               use_sqrt=True)
    model.reml = True
    model.cov_pen = None
    model.fe_pen = None
    model._freepat = None
    model._cov_sing = 0
    return model


# --------------------------------------------------------------------------- optimisation


def _theta_bounds(plan: _Plan) -> list:
    ix = np.tril_indices(plan.k_re)
    b = [(THETA_LOWER, None) if i == j else (None, None) for i, j in zip(*ix)]
    return b + [(THETA_LOWER, None)] * len(plan.vcs)


def _diag_index(plan: _Plan) -> np.ndarray:
    """Positions of theta's diagonal (variance-like) entries in the packed vector."""
    ix = np.tril_indices(plan.k_re)
    d = [k for k, (i, j) in enumerate(zip(*ix)) if i == j]
    return np.array(d + list(range(plan.k_re2, plan.n_theta)), dtype=int)


def _default_theta(plan: _Plan) -> np.ndarray:
    th = np.zeros(plan.n_theta)
    th[_diag_index(plan)] = 1.0
    return th


@dataclass
class _Opt:
    theta: np.ndarray
    loglik: float
    success: bool
    message: str
    n_iter: int
    grad_max: float
    scaled_grad: float


#: L-BFGS-B tolerances: "fit" for reported fits (agreement with lme4 to ~1e-6),
#: "bootstrap" for refits whose spread is what matters (fewer iterations).
_TOLERANCES = {"fit": {"ftol": 1e-14, "gtol": 1e-8},
               "bootstrap": {"ftol": 1e-10, "gtol": 1e-6}}


def _objective(model):
    """Negative profiled log-likelihood and its gradient in theta, for scipy.optimize.

    Numerical failures (singular matrices, overflow) give ``inf`` so that the
    optimizer backs off instead of stopping.
    """

    def fun(theta):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                f = -model.loglike(theta, profile_fe=True)
                g = -model.score(theta, profile_fe=True)
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
                return np.inf, np.zeros_like(theta)
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            return np.inf, np.zeros_like(theta)
        return f, g

    return fun


def _optimize(model, theta0: np.ndarray, plan: _Plan, reml: bool, maxiter: int,
              tol: str = "fit") -> _Opt:
    model.reml = reml
    bounds = _theta_bounds(plan)
    lower = np.array([b[0] if b[0] is not None else -np.inf for b in bounds])
    theta0 = np.maximum(np.asarray(theta0, dtype=float), lower)

    fun = _objective(model)

    if maxiter == 0:
        f, g = fun(theta0)
        return _Opt(theta0, -f, False, "maxiter=0: no optimisation", 0,
                    float(np.max(np.abs(g))) if g.size else 0.0, np.inf)
    res = optimize.minimize(fun, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"maxiter": maxiter, "maxcor": 20, **_TOLERANCES[tol]})
    theta = res.x
    f, g = float(res.fun), np.asarray(res.jac, dtype=float)
    # KKT: a parameter at its lower bound whose gradient pushes outward is done
    at_lb = (theta <= lower * (1 + 1e-8)) & (g > 0)
    gfree = np.where(at_lb, 0.0, g)
    try:
        step = res.hess_inv.matvec(gfree) if hasattr(res.hess_inv, "matvec") else \
            np.asarray(res.hess_inv) @ gfree
        step = np.where(at_lb, 0.0, step)
        scaled = float(np.max(np.abs(step))) if step.size else 0.0
    except Exception:  # pragma: no cover - no curvature information
        scaled = np.inf
    # L-BFGS-B's line search can fail ("ABNORMAL") at the optimum itself when the
    # tolerances are tight; that is convergence when the scaled gradient is small
    success = bool(res.success) or (res.status == 2 and scaled <= GRAD_TOL)
    return _Opt(theta=theta, loglik=float(-f), success=success and bool(np.isfinite(f)),
                message=str(res.message), n_iter=int(res.nit),
                grad_max=float(np.max(np.abs(gfree))) if g.size else 0.0,
                scaled_grad=scaled)


def _unpack(theta: np.ndarray, plan: _Plan):
    """Relative covariance of the block (L L') and relative variance components."""
    k = plan.k_re
    L = np.zeros((k, k))
    L[np.tril_indices(k)] = theta[: plan.k_re2]
    return L, L @ L.T, theta[plan.k_re2:] ** 2


def _estimates(model, theta: np.ndarray, plan: _Plan):
    """Fixed effects, their covariance, residual variance, covariances at theta."""
    L, cov_rel, vc_rel = _unpack(theta, plan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model._fe_cache = None
        fe, _ = model.get_fe_params(cov_rel, vc_rel)
        xtvix = model._xtvix.copy()
        scale = float(model.get_scale(fe, cov_rel, np.maximum(vc_rel, SM_FE_TOL)))
    cov_fe = scale * np.linalg.inv(xtvix)
    return fe, cov_fe, scale, L, cov_rel * scale, vc_rel * scale


# --------------------------------------------------------------------------- result


class MixedResult:
    """A fitted mixed model: tidy tables, fit statistics and warnings.

    Attributes
    ----------
    fixed : pandas.DataFrame
        One row per fixed effect: ``term, estimate, se, ci_low, ci_high,
        p_value, method``.  ``se`` as lme4's ``vcov``; interval and p-value
        are Wald z (``method == "Wald z"``), as statsmodels reports them.
    random : pandas.DataFrame
        ``group, term, term2, variance, sd, correlation``: one row per
        variance (``term2`` empty), one per correlation of a correlated block
        (``variance`` holds the covariance, ``correlation`` the correlation),
        and the residual (``group == "Residual"``).
    fit : dict
        ``loglik, aic, bic, reml_criterion, deviance, method, converged,
        singular, n_obs, n_groups`` (dict per factor) and details
        (``n_params``, ``n_iter``, ``scaled_gradient``, ``n_dropped_missing``,
        ``mapping``, ``formula``, ``optimizer``, ``statsmodels_version``).
    warnings : list of str
        Messages of the warnings emitted by the fit, class name first.
    formula : xdist.stats.formula.MixedFormula
    model : statsmodels MixedLM
        The underlying statsmodels model.
    theta : numpy.ndarray
        Relative covariance factor (statsmodels' packed square-root
        parameters, lme4's theta).
    """

    def __init__(self, *, fixed, random, fit, warnings_, formula, model, theta, design,
                 plan, data, reml, alpha, cov_fe):
        self.fixed = fixed
        self.random = random
        self.fit = fit
        self.warnings = warnings_
        self.formula = formula
        self.model = model
        self.theta = theta
        self.cov_fe = cov_fe
        self._design = design
        self._plan = plan
        self._data = data
        self._reml = reml
        self._alpha = alpha

    @property
    def converged(self) -> bool:
        return bool(self.fit["converged"])

    @property
    def singular(self) -> bool:
        return bool(self.fit["singular"])

    @property
    def failed(self) -> bool:
        """True when a convergence, singular-fit or collapsed-variance warning was raised."""
        return any(w.split(":", 1)[0] in {c.__name__ for c in _FAILURES} for w in self.warnings)

    def to_dict(self) -> dict:
        """JSON-safe dict ``{"fixed": [...], "random": [...], "fit": {...}, "warnings": [...]}``.

        Examples
        --------
        >>> import json
        >>> rng = np.random.default_rng(0)
        >>> g = np.repeat(np.arange(8), 6)
        >>> df = pd.DataFrame({"y": rng.normal(size=48) + g, "g": g})
        >>> res = fit_mixed(df, "y ~ 1 + (1 | g)")
        >>> sorted(json.loads(json.dumps(res.to_dict())))
        ['fit', 'fixed', 'random', 'warnings']
        """
        return {"fixed": _records(self.fixed), "random": _records(self.random),
                "fit": _jsonable(self.fit), "warnings": list(self.warnings)}

    def __repr__(self) -> str:
        f = self.fit
        head = (f"MixedResult({self.formula.text!r}, {f['method']}, n_obs={f['n_obs']}, "
                f"loglik={f['loglik']:.4f}, converged={f['converged']}, "
                f"singular={f['singular']}, {len(self.warnings)} warnings)")
        return head


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    if x is None or isinstance(x, (str, int)):
        return x
    if x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return None
    return str(x)


def _records(df: pd.DataFrame) -> list:
    out = []
    for rec in df.to_dict(orient="records"):
        out.append({k: (None if (v is None or (isinstance(v, float) and not math.isfinite(v))
                                 or v is pd.NA) else _jsonable(v)) for k, v in rec.items()})
    return out


# --------------------------------------------------------------------------- diagnostics


def _theta_names(plan: _Plan) -> list:
    """(group, term, term2) for every packed theta entry."""
    out = []
    ix = np.tril_indices(plan.k_re)
    for i, j in zip(*ix):
        out.append((plan.primary, plan.re_cols[i], plan.re_cols[j]))
    for f, c in plan.vcs:
        out.append((f, c, c))
    return out


def _term_text(group: str, term: str) -> str:
    return f"({'1' if term == 'Intercept' else '0 + ' + term} | {group})"


def _anova_moment(resid: np.ndarray, codes: np.ndarray):
    """One-way ANOVA moment estimate of a between-group variance (and its F test)."""
    k = int(codes.max()) + 1
    n = len(resid)
    cnt = np.bincount(codes, minlength=k).astype(float)
    if k < 2 or n - k < 1:
        return np.nan, np.nan, np.nan
    means = np.bincount(codes, weights=resid, minlength=k) / np.maximum(cnt, 1)
    grand = resid.mean()
    ssb = float((cnt * (means - grand) ** 2).sum())
    ssw = float(((resid - means[codes]) ** 2).sum())
    msb, msw = ssb / (k - 1), ssw / (n - k)
    n0 = (n - (cnt ** 2).sum() / n) / (k - 1)
    var_b = (msb - msw) / n0
    F = msb / msw if msw > 0 else np.inf
    p = float(stats.f.sf(F, k - 1, n - k)) if np.isfinite(F) else 0.0
    return var_b, msw, (F, p)


def diagnose_statsmodels(result, *, emit: bool = True) -> list:
    """Check a fit made with statsmodels' own ``MixedLM.fit`` for silent failures.

    Parameters
    ----------
    result : statsmodels MixedLMResults
        The result of ``MixedLM.fit`` (or ``smf.mixedlm(...).fit()``).
    emit : bool, default True
        Also emit each finding as its typed warning.

    Returns
    -------
    list of str
        Findings, each prefixed with its warning class: ``ConvergenceWarning``
        (statsmodels' flag is False), ``SingularFitWarning`` (a relative
        standard deviation below 1e-4), ``CollapsedVarianceWarning`` (a
        variance below statsmodels' 1e-10 tolerance, where statsmodels returns
        the fixed effects of terms constant within groups as 0.0 - issue
        10239; the message gives the values in the variance -> 0 limit and the
        one-way ANOVA of the OLS residuals by group).

    Examples
    --------
    >>> import statsmodels.formula.api as smf
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(10), 8)
    >>> df = pd.DataFrame({"y": 5 + rng.normal(size=10)[g] + rng.normal(size=80), "g": g})
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     sm = smf.mixedlm("y ~ 1", df, groups="g").fit(
    ...         start_params=np.array([1e-6]), method="lbfgs", maxiter=0)
    >>> sm.converged, bool(sm.fe_params.iloc[0] == 0)   # "converged", intercept 0.0
    (True, True)
    >>> [m.split(":")[0] for m in diagnose_statsmodels(sm, emit=False)]
    ['SingularFitWarning', 'CollapsedVarianceWarning']
    """
    model = getattr(result, "model", None)
    mlm = _sm()
    if not isinstance(model, mlm.MixedLM):
        raise ValueError(f"result must be a statsmodels MixedLMResults, got "
                         f"{type(result).__name__}")
    cov_rel = np.atleast_2d(np.asarray(result.cov_re_unscaled, dtype=float))
    if model.k_re == 0:
        cov_rel = np.zeros((0, 0))
    vc_rel = np.asarray(result.vcomp, dtype=float) / float(result.scale)
    names = list(model.exog_names)
    fe = np.asarray(result.fe_params, dtype=float)
    found = []
    if not result.converged:
        found.append((ConvergenceWarning,
                      "statsmodels' optimizer did not converge (converged=False); the "
                      f"estimates are not a fit: refit (xdist.stats.fit_mixed), or {_ADVICE}"))
    w = np.linalg.eigvalsh(cov_rel) if cov_rel.size else np.empty(0)
    theta_small = (w.size and w.min() < SINGULAR_TOL ** 2) or (vc_rel < SINGULAR_TOL ** 2).any()
    if theta_small:
        found.append((SingularFitWarning,
                      "boundary (singular) fit: a random-effects variance is ~0 relative to "
                      f"the residual variance (eigenvalues {np.round(w, 12).tolist()}, "
                      f"variance components {np.round(vc_rel, 12).tolist()}, relative); {_ADVICE}"))
    if (w.size and w.min() < SM_FE_TOL) or (vc_rel < SM_FE_TOL).any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lim, _ = _fe_limit(model, cov_rel, vc_rel)
        bad = ~np.isclose(fe, lim, rtol=1e-6, atol=1e-8)
        if bad.any():
            beta, *_ = np.linalg.lstsq(model.exog, model.endog, rcond=None)
            resid = model.endog - model.exog @ beta
            codes = pd.factorize(np.asarray(model.groups))[0]
            _, _, ftest = _anova_moment(resid, codes) if model.n_groups > 1 else (0, 0, None)
            ftxt = ("" if not isinstance(ftest, tuple) else
                    f"; a one-way ANOVA of the OLS residuals by group gives F = {ftest[0]:.3g} "
                    f"(p = {ftest[1]:.2g})")
            shown = ", ".join(f"{n} = {a:.6g} (variance -> 0 limit: {b:.6g})"
                              for n, a, b, x in zip(names, fe, lim, bad) if x)
            found.append((CollapsedVarianceWarning,
                          "a random-effects variance fell below statsmodels' tolerance "
                          f"{SM_FE_TOL:g} and statsmodels returned {shown}, with converged="
                          f"{bool(result.converged)} (statsmodels issue 10239){ftxt}. The fixed "
                          "effects of terms constant within groups are wrong: refit with "
                          f"xdist.stats.fit_mixed, which bounds the variances, or {_ADVICE}"))
    texts = [f"{cls.__name__}: {m}" for cls, m in found]
    if emit:
        for cls, m in found:
            warnings.warn(cls(m), stacklevel=2)
    return texts


# --------------------------------------------------------------------------- fit


def _check_data(data) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame (long format, one row per "
                         f"observation), got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("data is empty")
    return data


def _check_choice(param, value, allowed):
    if value not in allowed:
        raise ValueError(f"{param}={value!r} is not accepted: use one of "
                         + ", ".join(repr(a) for a in allowed))
    return value


def _check_int(param, value, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < minimum:
        raise ValueError(f"{param}={value!r} is not accepted: pass an int >= {minimum}")
    return int(value)


def _start_theta(start, plan: _Plan, formula_text: str) -> np.ndarray:
    if start is None:
        return _default_theta(plan)
    if isinstance(start, MixedResult):
        th = np.asarray(start.theta, dtype=float)
    else:
        th = np.asarray(start, dtype=float).ravel()
    if th.shape != (plan.n_theta,) or not np.all(np.isfinite(th)):
        names = [f"{g}:{a}" + ("" if a == b else f",{b}") for g, a, b in _theta_names(plan)]
        raise ValueError(f"start has {th.size} finite values; the random structure of "
                         f"{formula_text!r} has {plan.n_theta} theta parameters ({names}); "
                         "pass a MixedResult of the same formula or such an array")
    return th


def fit_mixed(data: pd.DataFrame, formula: str, *, reml: bool = True, alpha: float = 0.05,
              maxiter: int = 1000, start=None, on_failure: str = "warn",
              check_collapse: bool = True) -> MixedResult:
    """Fit a linear mixed model given by an lme4-style formula.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per observation.  Rows with a missing value in a
        used column are left out (counted in ``fit["n_dropped_missing"]``,
        with a :class:`MixedModelWarning`).
    formula : str
        ``response ~ fixed + (terms | group) + ...`` (see
        :mod:`xdist.stats.formula` for the random terms accepted).
    reml : bool, default True
        REML (lme4's default) or ML (for likelihood-ratio tests of fixed effects).
    alpha : float, default 0.05
        One minus the level of the Wald intervals.
    maxiter : int, default 1000
        Iterations of the optimizer (L-BFGS-B).
    start : MixedResult or array, optional
        Start values of theta (a previous fit of the same formula).
    on_failure : {"warn", "raise"}, default "warn"
        On a convergence, singular-fit or collapsed-variance warning: emit it
        (the result carries it in ``.warnings`` and ``.fit``) or raise
        :class:`MixedFitError` (its ``.result`` holds the fit).
    check_collapse : bool, default True
        Refit from the one-way ANOVA moment estimate when a variance is ~0
        (see Notes).

    Returns
    -------
    MixedResult

    Notes
    -----
    When a variance ends near 0 (its standard deviation below 0.1% of the
    residual one) the model is refitted once from a start where that
    variance is the one-way ANOVA moment estimate of the OLS residuals by its
    factor (1 when the estimate is not positive).  A better refit replaces the
    fit with a :class:`CollapsedVarianceWarning`; otherwise the variance is a
    genuine boundary estimate (:class:`SingularFitWarning` when below lme4's
    singular tolerance).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> task = np.repeat(["a", "b", "c", "d", "e", "f"], 20)
    >>> x = rng.uniform(0, 1, size=120)
    >>> u = dict(zip("abcdef", rng.normal(0, 2, size=6)))
    >>> y = 3 + 5 * x + np.array([u[t] for t in task]) + rng.normal(0, 1, size=120)
    >>> df = pd.DataFrame({"y": y, "x": x, "task": task})
    >>> res = fit_mixed(df, "y ~ x + (1 | task)")
    >>> res.fixed[["term", "estimate"]].round(2)
            term  estimate
    0  Intercept      3.49
    1          x      4.64
    >>> res.fit["method"], res.fit["converged"], res.fit["n_groups"]
    ('REML', True, {'task': 6})
    """
    data = _check_data(data)
    if not isinstance(reml, (bool, np.bool_)):
        raise ValueError(f"reml={reml!r} is not accepted: pass True (REML) or False (ML)")
    try:
        alpha_f = float(alpha)
    except (TypeError, ValueError):
        alpha_f = np.nan
    if not 0 < alpha_f < 1:
        raise ValueError(f"alpha={alpha!r} is not accepted: pass a number strictly between "
                         "0 and 1 (0.05 gives 95% intervals)")
    maxiter = _check_int("maxiter", maxiter, 0)
    _check_choice("on_failure", on_failure, ("warn", "raise"))
    parsed = parse_formula(formula, [str(c) for c in data.columns])
    design, n_dropped, keep = _build_design(data, parsed)
    plan = _plan(parsed, design)
    for f, c in [(plan.primary, None)] + list(plan.vcs):
        if f is not None and len(design.levels[f]) < 2:
            raise ValueError(f"formula={formula!r}: grouping factor {f!r} has "
                             f"{len(design.levels[f])} level; a random effect needs at "
                             "least 2 (at least 5 to be estimable)")
    theta0 = _start_theta(start, plan, formula)
    model = _build_model(design, plan)
    with _one_blas_thread():
        return _fit(data, formula, parsed, design, plan, model, theta0, n_dropped, bool(reml),
                    alpha_f, maxiter, on_failure, check_collapse)


def _fit(data, formula, parsed, design, plan, model, theta0, n_dropped, reml, alpha_f,
         maxiter, on_failure, check_collapse):
    opt = _optimize(model, theta0, plan, reml, maxiter)

    messages: list = []  # (class, message)
    for note in plan.notes:
        messages.append((RandomStructureWarning, note))
    if n_dropped:
        messages.append((MixedModelWarning,
                         f"{n_dropped} of {len(data)} rows left out: a value used by "
                         f"{formula!r} is missing or not finite"))

    # collapsed variance: refit from the moment estimate
    names = _theta_names(plan)
    didx = _diag_index(plan)
    if check_collapse and maxiter > 0:
        opt, collapse_msgs = _collapse_check(model, design, plan, opt, bool(reml), maxiter,
                                             names, didx)
        messages.extend((CollapsedVarianceWarning, m) for m in collapse_msgs)

    fe, cov_fe, scale, L, cov_re, vcomp = _estimates(model, opt.theta, plan)

    converged = opt.success and opt.scaled_grad <= GRAD_TOL
    if not converged:
        why = (f"the optimizer stopped: {opt.message} after {opt.n_iter} iterations"
               if not opt.success else
               f"the scaled gradient |H^-1 g| = {opt.scaled_grad:.2g} exceeds {GRAD_TOL}")
        messages.append((ConvergenceWarning,
                         f"{formula!r} did not converge ({why}; max |gradient| = "
                         f"{opt.grad_max:.3g}); the estimates are not a fit: raise maxiter, "
                         f"rescale covariates, or {_ADVICE}"))

    # singular fit (lme4's isSingular: theta diagonal below 1e-4)
    sing_msgs = []
    for k in didx:
        g, a, b = names[k]
        if opt.theta[k] < SINGULAR_TOL:
            if plan.kind == "grouped" and g == plan.primary and k < plan.k_re2 and \
                    plan.re_cols.index(a) > 0:
                i = plan.re_cols.index(a)
                sd = np.sqrt(np.diag(cov_re))
                with np.errstate(all="ignore"):
                    r = cov_re[i, :i] / (sd[i] * sd[:i])
                if sd[i] > 1e-3 * np.sqrt(scale) and np.nanmax(np.abs(r)) > 0.99:
                    sing_msgs.append(f"the correlation of {a} with "
                                     f"{plan.re_cols[int(np.nanargmax(np.abs(r)))]} in "
                                     f"{g!r} is {r[np.nanargmax(np.abs(r))]:+.4f} (~ +-1)")
                    continue
            sing_msgs.append(f"the variance of {_term_text(g, a)} is ~0 "
                             f"(sd / residual sd = {opt.theta[k]:.2g})")
    if plan.k_re > 1:
        w = np.linalg.eigvalsh(cov_re)
        if w.min() <= 1e-10 * max(w.max(), 1e-300) and not sing_msgs:
            sing_msgs.append(f"the random-effects covariance of {plan.primary!r} is not "
                             f"positive definite (eigenvalues {w.round(6).tolist()})")
    singular = bool(sing_msgs)
    if singular:
        messages.append((SingularFitWarning,
                         f"boundary (singular) fit of {formula!r}: " + "; ".join(sing_msgs)
                         + f". The random structure is not supported by the data: {_ADVICE}"))

    fit = _fit_dict(parsed, design, plan, opt, bool(reml), converged, singular, n_dropped,
                    fe)
    fixed = _fixed_table(design.fe_names, fe, cov_fe, alpha_f)
    random = _random_table(plan, cov_re, vcomp, scale)
    texts = [f"{cls.__name__}: {m}" for cls, m in messages]
    result = MixedResult(fixed=fixed, random=random, fit=fit, warnings_=texts,
                         formula=parsed, model=model, theta=opt.theta.copy(), design=design,
                         plan=plan, data=data, reml=bool(reml), alpha=alpha_f,
                         cov_fe=pd.DataFrame(cov_fe, index=design.fe_names,
                                             columns=design.fe_names))
    failures = [(cls, m) for cls, m in messages if issubclass(cls, _FAILURES)]
    if on_failure == "raise" and failures:
        cls, m = failures[0]
        raise MixedFitError(f"{cls.__name__}: {m}", result)
    for cls, m in messages:
        warnings.warn(cls(m), stacklevel=3)
    return result


def _collapse_check(model, design, plan, opt, reml, maxiter, names, didx):
    """Refit from the ANOVA moment estimate when a variance ended ~0."""
    _, cov_rel, vc_rel = _unpack(opt.theta, plan)
    near = []
    for k in didx:
        g, a, _ = names[k]
        rms = float(np.sqrt(np.mean(design.z[a] ** 2)))
        if opt.theta[k] * rms < 1e-3:
            near.append(k)
    if not near:
        return opt, []
    beta, *_ = np.linalg.lstsq(design.X, design.y, rcond=None)
    resid = design.y - design.X @ beta
    th = opt.theta.copy()
    info = {}
    for k in near:
        g, a, _ = names[k]
        val = 1.0
        if a == "Intercept":
            var_b, msw, ftest = _anova_moment(resid, design.codes[g])
            info[k] = ftest
            if np.isfinite(var_b) and var_b > 0 and msw > 0:
                val = float(np.sqrt(var_b / msw))
        else:
            val = 1.0 / max(float(np.sqrt(np.mean(design.z[a] ** 2))), 1e-12)
        if k < plan.k_re2:  # a diagonal entry of the block: restart its row
            i = plan.re_cols.index(a)
            row0 = i * (i + 1) // 2
            th[row0:row0 + i] = 0.0
        th[k] = val
    opt2 = _optimize(model, th, plan, reml, maxiter)
    gain = opt2.loglik - opt.loglik
    if not (opt2.success and gain > 1e-4):
        return opt, []
    msgs = []
    for k in near:
        g, a, _ = names[k]
        ftxt = ""
        if k in info and isinstance(info[k], tuple):
            F, p = info[k]
            ftxt = (f"; a one-way ANOVA of the OLS residuals by {g!r} gives F = {F:.3g} "
                    f"(p = {p:.2g})")
        msgs.append(
            f"the optimizer converged with the variance of {_term_text(g, a)} collapsed to "
            f"~0 (sd / residual sd = {opt.theta[k]:.2g}){ftxt}; a refit from the moment "
            f"estimate reached a log-likelihood higher by {gain:.4g} with sd / residual sd "
            f"= {opt2.theta[k]:.3g}, and the refit is reported. Check the fit (compare "
            f"with lme4, or other starts); if it recurs: {_ADVICE}")
    return opt2, msgs


def _n_params(design: _Design, plan: _Plan) -> int:
    return design.X.shape[1] + plan.n_theta + 1


def _fit_dict(parsed, design, plan, opt, reml, converged, singular, n_dropped, fe) -> dict:
    import statsmodels

    ll = opt.loglik
    k = _n_params(design, plan)
    n = design.n
    return {
        "loglik": ll,
        "aic": -2 * ll + 2 * k,
        "bic": -2 * ll + k * math.log(n),
        "reml_criterion": -2 * ll if reml else None,
        "deviance": None if reml else -2 * ll,
        "method": "REML" if reml else "ML",
        "converged": bool(converged),
        "singular": bool(singular),
        "n_obs": int(n),
        "n_groups": {f: int(len(v)) for f, v in design.levels.items()},
        "n_params": int(k),
        "n_iter": int(opt.n_iter),
        "scaled_gradient": float(opt.scaled_grad),
        "n_dropped_missing": int(n_dropped),
        "formula": parsed.text,
        "mapping": list(plan.mapping),
        "optimizer": "scipy L-BFGS-B on statsmodels MixedLM.loglike (theta >= 1e-5)",
        "statsmodels_version": statsmodels.__version__,
    }


def _fixed_table(names, fe, cov_fe, alpha) -> pd.DataFrame:
    se = np.sqrt(np.diag(cov_fe))
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.norm.sf(np.abs(fe / se))
    return pd.DataFrame({"term": names, "estimate": fe, "se": se, "ci_low": fe - z * se,
                         "ci_high": fe + z * se, "p_value": p, "method": "Wald z"})


def _random_table(plan: _Plan, cov_re, vcomp, scale) -> pd.DataFrame:
    rows = []
    if plan.k_re:
        sd = np.sqrt(np.diag(cov_re))
        for i, c in enumerate(plan.re_cols):
            rows.append((plan.primary, c, None, cov_re[i, i], sd[i], np.nan))
        for i in range(plan.k_re):
            for j in range(i + 1, plan.k_re):
                with np.errstate(all="ignore"):
                    r = cov_re[i, j] / (sd[i] * sd[j])
                rows.append((plan.primary, plan.re_cols[i], plan.re_cols[j], cov_re[i, j],
                             np.nan, r))
    for (f, c), v in zip(plan.vcs, vcomp):
        rows.append((f, c, None, v, np.sqrt(v), np.nan))
    rows.append(("Residual", None, None, scale, np.sqrt(scale), np.nan))
    df = pd.DataFrame(rows, columns=list(RANDOM_COLUMNS))
    for c in ("variance", "sd", "correlation"):
        df[c] = df[c].astype(float)
    return df


# --------------------------------------------------------------------------- LRT


def _refit(res: MixedResult, reml: bool) -> MixedResult:
    if res._reml == reml:
        return res
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelWarning)
        return fit_mixed(res._data, res.formula.text, reml=reml, alpha=res._alpha,
                         start=res.theta)


def lrt(small: MixedResult, big: MixedResult, *, refit: bool | None = None) -> pd.DataFrame:
    """Likelihood-ratio test of two nested mixed models.

    Parameters
    ----------
    small, big : MixedResult
        Fits of the same rows; ``small`` nested in ``big``.
    refit : bool, optional
        Refit REML fits with ML first.  Default: when the fixed effects differ
        (REML likelihoods of different fixed effects are not comparable) - as
        lme4's ``anova`` does; REML fits that differ only in their random
        terms are compared by their REML likelihoods (``anova(refit=FALSE)``).

    Returns
    -------
    pandas.DataFrame
        One row: ``small, big, loglik_small, loglik_big, chi2, df, p_value, method``.

    Notes
    -----
    ``p_value`` is ``P(chi2_df > chi2)``, as lme4's ``anova``.  When the test
    sets variances to 0 - on the boundary of the parameter space - the null
    distribution is a mixture of chi-squares and this p-value is
    conservative (about twice too large for one variance; Self & Liang 1987).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> g = np.repeat(np.arange(10), 8)
    >>> x = rng.normal(size=80)
    >>> df = pd.DataFrame({"y": x + rng.normal(size=10)[g] + rng.normal(size=80), "x": x, "g": g})
    >>> out = lrt(fit_mixed(df, "y ~ 1 + (1 | g)"), fit_mixed(df, "y ~ x + (1 | g)"))
    >>> out[["df", "method"]].to_dict("records")
    [{'df': 1, 'method': 'ML (refit)'}]
    """
    for name, r in (("small", small), ("big", big)):
        if not isinstance(r, MixedResult):
            raise ValueError(f"{name} must be a MixedResult from fit_mixed, got "
                             f"{type(r).__name__}")
    ds, db = small._design, big._design
    if ds.n != db.n or not np.allclose(ds.y, db.y) or ds.response != db.response:
        raise ValueError("small and big were fitted to different rows or responses "
                         f"({ds.n} and {db.n} rows); a likelihood-ratio test needs the same "
                         "data")
    same_fixed = ds.fe_names == db.fe_names and np.allclose(ds.X, db.X)
    if refit is None:
        refit = not same_fixed and (small._reml or big._reml)
    if not refit and small._reml != big._reml:
        raise ValueError("small and big use different methods (REML and ML); pass refit=True")
    if not refit and small._reml and not same_fixed:
        raise ValueError("refit=False with REML fits whose fixed effects differ: REML "
                         "likelihoods of different fixed effects are not comparable; pass "
                         "refit=True (ML refits)")
    if refit:
        s, b = _refit(small, False), _refit(big, False)
        method = "ML (refit)" if (small._reml or big._reml) else "ML"
    else:
        s, b = small, big
        method = "REML" if small._reml else "ML"
    ks, kb = s.fit["n_params"], b.fit["n_params"]
    if kb <= ks:
        raise ValueError(f"big has {kb} parameters and small {ks}: pass the nested (smaller) "
                         "model as small")
    chi2 = max(2.0 * (b.fit["loglik"] - s.fit["loglik"]), 0.0)
    dfree = kb - ks
    return pd.DataFrame([{
        "small": small.formula.text, "big": big.formula.text,
        "loglik_small": s.fit["loglik"], "loglik_big": b.fit["loglik"],
        "chi2": chi2, "df": int(dfree), "p_value": float(stats.chi2.sf(chi2, dfree)),
        "method": method,
    }])


# --------------------------------------------------------------------------- bootstrap

_WORKER: dict = {}


def _init_worker(state, limit_threads=False):
    _WORKER.clear()
    _WORKER.update(state)
    if limit_threads:
        # one BLAS thread per worker process: the workers already use the cores
        _WORKER["_limits"] = _one_blas_thread()


def _resample_codes(design: _Design, counts: np.ndarray, cluster_rows: list,
                    relabel: list):
    """Rows and relabelled factor codes of one cluster resample."""
    parts, copies = [], []
    for c in np.flatnonzero(counts):
        r = cluster_rows[c]
        for k in range(int(counts[c])):
            parts.append(r)
            copies.append(np.full(len(r), k, dtype=np.int64))
    rows = np.concatenate(parts)
    copy = np.concatenate(copies)
    codes = {}
    for f, c in design.codes.items():
        cc = c[rows]
        if f in relabel:
            cc = cc + copy * (int(c.max()) + 1)
        codes[f] = np.unique(cc, return_inverse=True)[1].astype(np.int64)
    return rows, codes


def _subset(design: _Design, rows: np.ndarray, codes: dict) -> _Design:
    return _Design(y=design.y[rows], X=design.X[rows], fe_names=design.fe_names, codes=codes,
                   levels={f: np.arange(int(c.max()) + 1) for f, c in codes.items()},
                   z={k: v[rows] for k, v in design.z.items()}, response=design.response)


def _theta_hessian(model, theta: np.ndarray, reml: bool):
    """Hessian of -loglik in theta by central differences of statsmodels' score."""
    model.reml = reml
    k = len(theta)
    H = np.zeros((k, k))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for i in range(k):
            h = 1e-5 * max(1.0, abs(theta[i]))
            e = np.zeros(k)
            e[i] = h
            H[:, i] = (model.score(theta - e) - model.score(theta + e)) / (2 * h)
    return (H + H.T) / 2


def _newton_warm(model, theta0, hess_inv0, plan, reml, maxiter):
    """BFGS from the full-data theta *and* its inverse Hessian: a near-Newton first step.

    Unbounded (statsmodels' square-root parameterisation: the sign of a
    diagonal entry of theta does not change the covariance).  Returns None when
    it fails or ends near the boundary, where the bounded L-BFGS-B takes over.
    """
    model.reml = reml

    fun = _objective(model)

    res = optimize.minimize(fun, theta0, jac=True, method="BFGS",
                            options={"hess_inv0": hess_inv0, "gtol": 1e-5,
                                     "maxiter": maxiter})
    theta = np.asarray(res.x, dtype=float).copy()
    didx = _diag_index(plan)
    theta[didx] = np.abs(theta[didx])
    if not res.success or theta[didx].min() < 1e-3:
        return None
    return theta


def _boot_one(counts: np.ndarray, state: dict):
    design, plan = state["design"], state["plan"]
    rows, codes = _resample_codes(design, counts, state["cluster_rows"], state["relabel"])
    d = _subset(design, rows, codes)
    model = _build_model(d, plan)
    theta = None
    if state.get("hess_inv0") is not None:
        theta = _newton_warm(model, state["theta0"], state["hess_inv0"], plan, state["reml"],
                             state["maxiter"])
    if theta is not None:
        ok = True
    else:
        opt = _optimize(model, state["theta0"], plan, state["reml"], state["maxiter"],
                        tol="bootstrap")
        theta, ok = opt.theta, opt.success
    L, cov_rel, vc_rel = _unpack(theta, plan)
    model._fe_cache = None
    fe, _ = model.get_fe_params(cov_rel, vc_rel)
    ok = ok and bool(np.all(np.isfinite(fe)))
    return fe, ok


def _boot_chunk(counts_block: np.ndarray):
    out = [_boot_one(c, _WORKER) for c in counts_block]
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def bootstrap_mixed(result: MixedResult, *, cluster: str, n_boot: int = 1000, seed=0,
                    ci: str = "percentile", alpha: float = 0.05, n_jobs: int = 2,
                    warm_start: bool = True, maxiter: int = 1000) -> pd.DataFrame:
    """Cluster-bootstrap intervals for the fixed effects of a mixed model.

    Whole clusters (languages, or families) are drawn with replacement; a
    cluster drawn twice enters as two distinct levels of every grouping factor
    nested in it (the cluster factor itself, and finer ones), while factors
    crossed with it or coarser keep their levels.  Each resample refits the
    model from design arrays sliced per cluster (no patsy), warm-started from
    the full-data theta *and* curvature: BFGS whose initial inverse Hessian is
    the full-data one (finite differences of statsmodels' score), so that its
    first step is close to Newton's; a refit that fails or ends near a zero
    variance is redone by the bounded L-BFGS-B (diagonal of the start floored
    at 0.01).  No final Hessian is computed; ``n_jobs`` processes share the
    resamples.

    Parameters
    ----------
    result : MixedResult
        The full-data fit.
    cluster : str
        Column of the fitted data whose levels are resampled.
    n_boot : int, default 1000
        Number of resamples.
    seed : int, default 0
        Seed of :class:`xdist.stats.bootstrap.ResamplePlan`; the same seed gives
        the same resampled clusters and the same intervals.
    ci : {"percentile", "bca"}, default "percentile"
        Interval: R's ``boot`` percentile or BCa (BCa refits once per left-out
        cluster for the jackknife).
    alpha : float, default 0.05
    n_jobs : int, default 2
        Worker processes (1 runs in this process).
    warm_start : bool, default True
        Start each refit from the full-data theta and curvature (else by
        L-BFGS-B from lme4's default start, theta = 1).
    maxiter : int, default 1000

    Returns
    -------
    pandas.DataFrame
        One row per fixed effect: ``term, estimate, se, ci_low, ci_high, n,
        n_boot, method``; ``se`` is the standard deviation of the replicates,
        ``n`` the number of clusters, ``n_boot`` the resamples whose refit
        converged (the others are left out, with a :class:`ConvergenceWarning`).
        ``attrs["replicates"]`` holds the replicates (n_boot x terms, NaN where
        a refit failed) and ``attrs["counts"]`` the resampled cluster counts.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> g = np.repeat(np.arange(12), 5)
    >>> x = rng.normal(size=60)
    >>> df = pd.DataFrame({"y": 2 * x + rng.normal(size=12)[g] + rng.normal(size=60),
    ...                    "x": x, "g": g})
    >>> res = fit_mixed(df, "y ~ x + (1 | g)")
    >>> ci = bootstrap_mixed(res, cluster="g", n_boot=50, seed=1, n_jobs=1)
    >>> list(ci.columns)
    ['term', 'estimate', 'se', 'ci_low', 'ci_high', 'n', 'n_boot', 'method']
    """
    if not isinstance(result, MixedResult):
        raise ValueError(f"result must be a MixedResult from fit_mixed, got "
                         f"{type(result).__name__}")
    n_boot = _check_int("n_boot", n_boot, 1)
    n_jobs = _check_int("n_jobs", n_jobs, 1)
    maxiter = _check_int("maxiter", maxiter, 1)
    _check_choice("ci", ci, ("percentile", "bca"))
    data = result._data
    if not isinstance(cluster, str) or cluster not in data.columns:
        from xdist.stats.formula import _suggest

        raise ValueError(f"cluster={cluster!r} is not a column of the fitted data; "
                         + _suggest(str(cluster), [str(c) for c in data.columns]))
    design, plan = result._design, result._plan
    keep = np.ones(len(data), dtype=bool)
    if result.fit["n_dropped_missing"]:
        _, _, keep = _build_design(data, result.formula)
    cl = data[cluster].to_numpy()[keep]
    if pd.isna(cl).any():
        raise ValueError(f"cluster={cluster!r} has missing values in fitted rows")
    ccodes, clabels = pd.factorize(cl, sort=True)
    n_cl = len(clabels)
    if n_cl < 2:
        raise ValueError(f"cluster={cluster!r} has {n_cl} level; resampling needs >= 2")
    relabel = [f for f, c in design.codes.items() if _nested(c, ccodes)]
    order = np.argsort(ccodes, kind="stable")
    bounds = np.searchsorted(ccodes[order], np.arange(n_cl + 1))
    cluster_rows = [order[bounds[i]:bounds[i + 1]] for i in range(n_cl)]
    rplan = ResamplePlan(n_cl, n_boot=n_boot, seed=seed)
    counts = rplan.counts
    theta0 = result.theta.copy() if warm_start else _default_theta(plan)
    didx = _diag_index(plan)
    theta0[didx] = np.maximum(theta0[didx], 1e-2)
    hess_inv0 = None
    if warm_start and theta0[didx].min() >= 1e-3:
        # curvature of the full-data fit: the first quasi-Newton step is ~Newton's
        with _one_blas_thread():
            H = _theta_hessian(result.model, result.theta, result._reml)
        if np.all(np.isfinite(H)) and np.linalg.eigvalsh(H).min() > 0:
            hess_inv0 = np.linalg.inv(H)
    state = {"design": design, "plan": plan, "cluster_rows": cluster_rows,
             "relabel": relabel, "theta0": theta0, "reml": result._reml, "maxiter": maxiter,
             "hess_inv0": hess_inv0}

    reps, oks = _run_boot(counts, state, n_jobs)
    reps = np.where(oks[:, None], reps, np.nan)
    n_bad = int((~oks).sum())
    good = reps[oks]
    names = design.fe_names
    est = result.fixed["estimate"].to_numpy()
    if n_bad:
        warnings.warn(ConvergenceWarning(
            f"{n_bad} of {n_boot} bootstrap refits did not converge and are left out of "
            f"the intervals; {_ADVICE}"), stacklevel=2)
    if ci == "percentile":
        low, high = percentile_interval(good, alpha, labels=names)
    else:
        jack = []
        for c in range(n_cl):
            cnt = np.ones(n_cl, dtype=np.int64)
            cnt[c] = 0
            fe, ok = _boot_one(cnt, state)
            jack.append(fe if ok else np.full(len(names), np.nan))
        low, high = bca_interval(good, est, np.array(jack), alpha, labels=names)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        se = np.std(good, axis=0, ddof=1)
    out = pd.DataFrame({"term": names, "estimate": est, "se": se,
                        "ci_low": np.atleast_1d(low), "ci_high": np.atleast_1d(high),
                        "n": n_cl, "n_boot": int(oks.sum()),
                        "method": f"cluster bootstrap ({ci}, clusters: {cluster})"})
    out.attrs["replicates"] = reps
    out.attrs["counts"] = counts
    out.attrs["relabelled_factors"] = relabel
    out.attrs["seed"] = seed
    return out


def _run_boot(counts: np.ndarray, state: dict, n_jobs: int):
    n_boot = counts.shape[0]
    if n_jobs == 1 or n_boot < 4:
        _init_worker(state)
        try:
            with _one_blas_thread():
                return _boot_chunk(counts)
        finally:
            _WORKER.clear()
    n_jobs = min(n_jobs, os.cpu_count() or 1, n_boot)
    n_chunks = min(n_boot, 4 * n_jobs)
    blocks = np.array_split(counts, n_chunks)
    with ProcessPoolExecutor(max_workers=n_jobs, initializer=_init_worker,
                             initargs=(state, True)) as ex:
        parts = list(ex.map(_boot_chunk, blocks))
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


# --------------------------------------------------------------------------- random effects


def random_effects(result: MixedResult) -> pd.DataFrame:
    """Predicted random effects (BLUPs, lme4's ``ranef``) of every level of every factor.

    The conditional modes ``b = G Z' V^-1 (y - X beta)`` at the fitted
    variances, computed as ``Lambda (Lambda' Z' Z Lambda + I)^-1 Lambda' Z'
    (y - X beta)`` with the relative covariance factor ``Lambda`` (theta), as
    lme4 does, so that a singular fit (a variance at ~0) gives deviations of
    ~0 rather than an error.  ``se`` is the conditional standard deviation
    (lme4's ``condVar``; the uncertainty of the fixed effects is not included).

    Parameters
    ----------
    result : MixedResult
        A fit of :func:`fit_mixed`.

    Returns
    -------
    pandas.DataFrame
        ``group, level, term, estimate, se``: one row per level of each
        grouping factor and each of its random terms (``term`` is
        ``"Intercept"`` or the slope column), in the units of the response,
        as deviations from the fixed effects.  The group's own slope of ``x``
        is the fixed ``x`` plus its ``x`` deviation.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(6), 8)
    >>> df = pd.DataFrame({"y": rng.normal(size=48) + g, "g": g})
    >>> re = random_effects(fit_mixed(df, "y ~ 1 + (1 | g)"))
    >>> re.columns.tolist(), len(re)
    (['group', 'level', 'term', 'estimate', 'se'], 6)
    """
    if not isinstance(result, MixedResult):
        raise ValueError(f"result: expected a MixedResult from fit_mixed, got "
                         f"{type(result).__name__} (a ModelReport of xdist.analyses.regress "
                         "keeps only the tables; fit with xdist.stats.mixed.fit_mixed)")
    design, plan = result._design, result._plan
    n = design.n
    L, _, _ = _unpack(result.theta, plan)
    beta = result.fixed["estimate"].to_numpy(dtype=float)
    resid = design.y - design.X @ beta
    labels, zcols, lam_blocks = [], [], []
    rows = np.arange(n)
    if plan.k_re:
        codes = design.codes[plan.primary]
        levels = design.levels[plan.primary]
        for j in range(len(levels)):
            at = codes == j
            for c in plan.re_cols:
                zcols.append(sparse.csc_matrix((design.z[c][at], (rows[at], np.zeros(at.sum(),
                                               dtype=np.int64))), shape=(n, 1)))
                labels.append((plan.primary, levels[j], c))
            lam_blocks.append(sparse.csc_matrix(L))
    for i, (f, c) in enumerate(plan.vcs):
        codes = design.codes[f]
        nl = len(design.levels[f])
        zcols.append(sparse.csc_matrix((design.z[c], (rows, codes)), shape=(n, nl)))
        labels.extend((f, lv, c) for lv in design.levels[f])
        lam_blocks.append(sparse.identity(nl, format="csc") * float(result.theta[plan.k_re2 + i]))
    Z = sparse.hstack(zcols, format="csc")
    Lam = sparse.block_diag(lam_blocks, format="csc")
    ZL = Z @ Lam
    q = Z.shape[1]
    M = (ZL.T @ ZL).toarray() + np.eye(q)
    rhs = ZL.T @ resid
    u = np.linalg.solve(M, rhs)
    b = Lam @ u
    scale = float(result.random.loc[result.random["group"] == "Residual", "variance"].iloc[0])
    lam_d = Lam.toarray()
    cond = scale * np.einsum("ij,ij->i", lam_d @ np.linalg.inv(M), lam_d)
    out = pd.DataFrame(labels, columns=["group", "level", "term"])
    out["estimate"] = np.asarray(b, dtype=float)
    out["se"] = np.sqrt(np.maximum(cond, 0.0))
    return out
