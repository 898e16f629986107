"""Correlation estimates, bootstrap intervals, permutation p-values and tables.

Everything here treats the *unit* (a language, or a whole language family)
as the thing that is resampled or permuted, never the row of a long table.

Fast path
---------
A bootstrap resample is a row of counts ``w`` over the units (see
:class:`~xdist.stats.bootstrap.ResamplePlan`), and every correlation is
computed as a *weighted* statistic of the original units, which equals the
statistic on the expanded data (each unit repeated ``w_i`` times):

- Pearson: weighted moments ``W @ [x, y, x*y, x^2, y^2]`` (one BLAS call for
  all distance kinds).
- Spearman: weighted midranks without sorting per resample.  Units are sorted
  by value once; with cumulative weights ``C`` in that order, the midrank of
  a tie group ``g`` is ``C(before g) + (w_g + 1) / 2``.  Then weighted Pearson
  of the midranks.
- Kendall tau-b: ``tau_b = w' S w / sqrt((N^2 - sum_g Cx_g^2)(N^2 - sum_g Cy_g^2))``
  with ``S_ij = sign(x_i - x_j) sign(y_i - y_j)``, ``N = sum w`` and ``Cx_g``
  the weight of the ``g``-th tie group of x (copies of one unit are ties in
  both variables, so they add nothing to ``w' S w``).
- Partial correlations: the weighted covariance matrix of (x, y, covariates)
  (of their weighted midranks for Spearman), then
  ``r = c_xy.z / sqrt(c_xx.z c_yy.z)`` with ``c_ab.z = c_ab - c_az C_zz^-1 c_zb``,
  the correlation of the weighted least-squares residuals.

The jackknife (leave one unit or cluster out) and the point estimate use the
same code with 0/1 weights and all-ones weights.  Permutation tests permute
``y`` across units; for partial correlations they permute the residuals of
``y`` on the covariates (Freedman & Lane 1983).

The definitions, and how closely they match R, are in ``docs/statistics.md``.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import warnings
from dataclasses import dataclass
from numbers import Integral
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special

from xdist._checks import check_alpha, check_int
from xdist.stats.adjust import ADJUST_METHODS, adjust_pvalues
from xdist.stats.bootstrap import (
    CI_METHODS,
    ResamplePlan,
    _check_choice,
    _draw_blocks,
    _redraw_counts,
    bootstrap_interval,
    make_rng,
)

__all__ = [
    "METHODS",
    "TABLE_COLUMNS",
    "CorrelationResult",
    "CorrelationCI",
    "correlation",
    "weighted_correlation",
    "bootstrap_correlation_ci",
    "permutation_pvalue",
    "correlation_table",
]

#: Accepted correlation methods.
METHODS = ("pearson", "spearman", "kendall")

#: Columns of :func:`correlation_table` after the ``by`` columns.
TABLE_COLUMNS = [
    "variable",
    "method",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "conf_level",
    "p_value",
    "p_value_analytic",
    "p_adjusted",
    "n",
    "n_clusters",
    "ci_method",
    "n_boot",
    "n_perm",
    "resample_unit",
    "covariates",
    "adjust",
]

# Relative size below which a residual variance counts as zero (collinearity).
_COLLINEAR = 1e-10
# Permuted statistics within this distance of the observed one count as "as extreme".
_PERM_TOL = 1e-10
# Elements per work array (rows of W processed at once times units).
_CHUNK_ELEMENTS = 1 << 18


class CorrelationResult(NamedTuple):
    """Estimate and analytic p-value of :func:`correlation`."""

    estimate: float
    p_value: float


@dataclass(frozen=True)
class CorrelationCI:
    """Result of :func:`bootstrap_correlation_ci`."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    n: int
    n_clusters: int
    n_boot: int
    ci_method: str
    conf_level: float


# --------------------------------------------------------------------------- validation



def _rank1(a: np.ndarray, method: str) -> np.ndarray:
    """Ranks of a 1-d array as :func:`scipy.stats.rankdata` gives them."""
    sorter = np.argsort(a, kind="mergesort")
    inv = np.empty(sorter.size, dtype=np.intp)
    inv[sorter] = np.arange(sorter.size, dtype=np.intp)
    arr = a[sorter]
    obs = np.r_[True, arr[1:] != arr[:-1]]
    dense = obs.cumsum()[inv]
    if method == "dense":
        return dense
    count = np.r_[np.flatnonzero(obs), len(obs)]
    if method == "min":
        return count[dense - 1] + 1
    return 0.5 * (count[dense] + count[dense - 1] + 1)  # average (midranks)


def _rankdata(a, method: str = "average", axis: int | None = None) -> np.ndarray:
    """Ranks along ``axis`` (``scipy.stats.rankdata`` without importing scipy.stats,
    whose import costs about a second of every command-line run)."""
    a = np.asarray(a)
    if axis is None or a.ndim == 1:
        return _rank1(a.ravel(), method)
    return np.apply_along_axis(_rank1, axis, a, method)

def _check_method(method, covariates_given: bool = False, param: str = "method") -> str:
    _check_choice(param, method, METHODS)
    if method == "kendall" and covariates_given:
        raise ValueError(
            f"{param}='kendall' cannot be combined with covariates: a partial Kendall "
            "correlation is not a standard estimator; use 'pearson' or 'spearman' "
            "(e.g. methods=('pearson', 'spearman'))"
        )
    return method


def _as_vector(v, name: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional; got shape {a.shape}")
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(
            f"{name} has {int(bad.sum())} missing or infinite values (positions "
            f"{np.flatnonzero(bad)[:5].tolist()}): drop those units first"
        )
    return a


def _as_matrix(v, name: str, n: int) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] != n:
        raise ValueError(f"{name} must have {n} rows (one per unit); got shape {a.shape}")
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(
            f"{name} has {int(bad.sum())} missing or infinite values: drop those units first"
        )
    return a


# --------------------------------------------------------------------------- kernels
#
# Layout: weights are processed transposed, ``Wt`` of shape (n, b) (units x
# resamples), so that every heavy step is a GEMM over the units.  Key identity:
# the weighted midrank of unit u, minus the weighted mean rank (N + 1) / 2, is
#     R_u = 1/2 sum_v sign(x_u - x_v) w_v        (ties included),
# so ranks for all resamples are one product of the sign matrix with Wt.  With
# integer weights every such product is an integer below N, exact in float32.


def _sign_matrix(v: np.ndarray) -> np.ndarray:
    return np.sign(v[:, None] - v[None, :])


class _Var:
    """One variable: its sign matrix (computed on first use) and tie groups."""

    def __init__(self, v: np.ndarray):
        self.v = v
        self._sign: np.ndarray | None = None
        self._ties: bool | None = None  # computed on first use (Pearson rarely needs it)
        self._groups: np.ndarray | None = None

    @property
    def has_ties(self) -> bool:
        if self._ties is None:
            sv = np.sort(self.v)
            self._ties = bool((sv[1:] == sv[:-1]).any())
        return self._ties

    @property
    def groups(self) -> np.ndarray:
        """Indicator (n_groups x n) of the tie groups (only when there are ties)."""
        if self._groups is None:
            _, inv, counts = np.unique(self.v, return_inverse=True, return_counts=True)
            self._groups = (inv.ravel()[None, :] == np.arange(len(counts))[:, None]).astype(
                np.float64
            )
        return self._groups

    @property
    def sign(self) -> np.ndarray:
        if self._sign is None:
            self._sign = _sign_matrix(self.v)
        return self._sign


def _standardize(a: np.ndarray) -> np.ndarray:
    c = a - a.mean(axis=0)
    sd = np.sqrt((c**2).mean(axis=0))
    sd = np.where(sd > 0, sd, 1.0)
    return c / sd


def _coldot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("nb,nb->b", a, b)


_BLAS_CONTROLLER = None


@contextlib.contextmanager
def _one_blas_thread():
    """Run the block with one BLAS thread (through threadpoolctl, when installed).

    The matrix products here are small to medium; with two cores a second BLAS
    thread gains little on an idle machine and, because OpenBLAS threads spin
    while waiting, makes everything several times slower on a busy one.  Without
    threadpoolctl the BLAS settings are left alone.
    """
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # optional
            _BLAS_CONTROLLER = False
        else:
            _BLAS_CONTROLLER = ThreadpoolController()
    if _BLAS_CONTROLLER is False:
        yield
        return
    with _BLAS_CONTROLLER.limit(limits=1, user_api="blas"):
        yield


def _single_blas(fn):
    """Decorator: run ``fn`` under :func:`_one_blas_thread`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _one_blas_thread():
            return fn(*args, **kwargs)

    return wrapper


# OpenBLAS runs a GEMM on one thread when m * n * k < 4 * 65536; below that size a
# second thread costs more than it saves (and spins afterwards, slowing what follows).
_SINGLE_THREAD_GEMM = 4 * 65536


def _gemm_single(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A @ B for a small A, in column blocks small enough for single-threaded BLAS."""
    width = max(256, _SINGLE_THREAD_GEMM // max(A.shape[0] * A.shape[1], 1))
    if B.shape[1] <= width:
        return A @ B
    out = np.empty((A.shape[0], B.shape[1]))
    for s in range(0, B.shape[1], width):
        np.matmul(A, B[:, s : s + width], out=out[:, s : s + width])
    return out


class _Chunk:
    """Transposed weights of a chunk of resamples and quantities shared by all variables."""

    def __init__(self, Wt: np.ndarray, exact32: bool):
        self.Wt = Wt
        self.W32 = Wt.astype(np.float32) if exact32 else None
        self._N: np.ndarray | None = None
        self._cache: dict[str, np.ndarray] = {}

    @property
    def N(self) -> np.ndarray:
        """Total weight of every resample."""
        if self._N is None:
            self._N = self.Wt.sum(axis=0)
        return self._N

    def mul(self, A: np.ndarray, A32: np.ndarray | None = None) -> np.ndarray:
        """A @ Wt, in float32 when exact."""
        if self.W32 is not None and A32 is not None:
            return A32 @ self.W32
        return A @ self.Wt

    def power(self, p: int) -> np.ndarray:
        key = f"p{p}"
        if key not in self._cache:
            w = self.Wt
            self._cache[key] = _coldot(w, w) if p == 2 else _coldot(w * w, w)
        return self._cache[key]

    def group_power(self, var: _Var, p: int) -> np.ndarray:
        """sum over tie groups of (group weight)^p."""
        if not var.has_ties:
            return self.power(p)
        g = var.groups @ self.Wt
        return _coldot(g, g) if p == 2 else _coldot(g * g, g)

    def degenerate(self, var: _Var) -> np.ndarray:
        """Resamples in which the variable is constant (all weight on one tie group)."""
        if not var.has_ties:
            if "single" not in self._cache:
                self._cache["single"] = self.Wt.max(axis=0) >= self.N
            return self._cache["single"]
        return (var.groups @ self.Wt).max(axis=0) >= self.N

    def rank_comoment(self, var: _Var) -> np.ndarray:
        """Sum of squared centred midranks, (N^3 - sum_g C_g^3) / 12 (0: constant)."""
        return (self.N**3 - self.group_power(var, 3)) / 12.0

    def tie_pairs(self, var: _Var) -> np.ndarray:
        """N^2 - sum_g C_g^2 (twice the pairs not tied in the variable)."""
        return self.N**2 - self.group_power(var, 2)


class _Engine:
    """Correlation of every column of X with y under many weight vectors.

    ``estimate(W)`` returns an array (B, k) for weights W (B, n).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, method: str, Z: np.ndarray | None = None):
        self.method = method
        self.n, self.k = X.shape
        self.m = 0 if Z is None else Z.shape[1]
        self.vx = [_Var(X[:, j]) for j in range(self.k)]
        self.vy = _Var(y)
        self.vz = [] if Z is None else [_Var(Z[:, j]) for j in range(self.m)]
        if method == "pearson":
            V = _standardize(np.column_stack([X, y] + ([] if Z is None else [Z])))
            k, m = self.k, self.m
            xi, yi, zi = list(range(k)), k, list(range(k + 1, k + 1 + m))
            pairs = [(j, yi) for j in xi] + [(j, j) for j in xi] + [(yi, yi)]
            pairs += [(j, z) for j in xi for z in zi] + [(yi, z) for z in zi]
            pairs += [(z1, z2) for a, z1 in enumerate(zi) for z2 in zi[a:]]
            self._col = {pair: i for i, pair in enumerate(pairs)}
            # last row of ones: the total weight N comes out of the same GEMM
            self._MT = np.ascontiguousarray(
                np.column_stack([V] + [V[:, a] * V[:, b] for a, b in pairs] + [np.ones(len(y))]).T
            )
        else:
            if method == "kendall":
                S = np.concatenate([v.sign * self.vy.sign for v in self.vx], axis=0)
            else:
                S = np.concatenate([v.sign for v in self.vx + [self.vy] + self.vz], axis=0)
            self._S = np.ascontiguousarray(S)
            self._S32 = self._S.astype(np.float32)

    def estimate(self, W: np.ndarray) -> np.ndarray:
        """Estimates for weights W (B, n): array (B, k)."""
        return self.estimate_t(np.asarray(W, dtype=np.float64).T)

    def estimate_t(self, Wt: np.ndarray) -> np.ndarray:
        """Estimates for transposed weights Wt (n, B): array (B, k)."""
        Wt = np.asarray(Wt, dtype=np.float64)
        B = Wt.shape[1]
        exact32 = (
            self.method != "pearson"
            and B > 0
            and Wt.sum(axis=0).max() < 2**23
            and np.array_equal(Wt, np.rint(Wt))
        )
        rows = self._S.shape[0] if self.method != "pearson" else self._MT.shape[0]
        chunk = B if self.method == "pearson" else max(64, (1 << 21) // max(rows, 1))
        out = np.empty((B, self.k))
        fn = getattr(self, "_" + self.method)
        with np.errstate(divide="ignore", invalid="ignore"):
            for s in range(0, B, chunk):
                w = Wt if chunk >= B else Wt[:, s : s + chunk]
                if self.method != "pearson":  # Pearson: one GEMM, any memory layout
                    w = np.ascontiguousarray(w)
                out[s : s + chunk] = fn(_Chunk(w, exact32))
        return out

    def estimate_blocks(self, blocks, B: int, weights_of, extra: np.ndarray | None = None):
        """Estimates (B + 1 + e, k) for an iterable of (start, W block (b, n)) pairs.

        Row B is the estimate itself (all-ones weights, the same numbers as
        ``estimate(ones)``); rows B + 1, ... are those of ``extra`` (e, n),
        further weight rows (the jackknife).  Pearson keeps only the weighted
        sums of each block (one small GEMM per block into a preallocated
        array) and finishes all columns at once; the other methods estimate
        block by block.  ``weights_of(rows)`` must return the weights
        (len(rows), n) of the given resamples (rows < B) again: Pearson asks
        for the rare resamples in which a variable may be constant, to check
        them exactly.
        """
        ones = np.ones((1, self.n))
        e = 0 if extra is None else extra.shape[0]
        if self.method != "pearson":
            out = np.empty((B + 1 + e, self.k))
            for s, w in blocks:
                out[s : s + w.shape[0]] = self.estimate_t(w.T)
            out[B] = self.estimate(ones)[0]
            if e:
                out[B + 1 :] = self.estimate_t(extra.T)
            return out
        MT = self._MT
        # the sums straight into their final layout (a row per sum, a column per resample)
        A = np.empty((MT.shape[0], B + 1 + e))
        for s, w in blocks:
            np.matmul(MT, w.T, out=A[:, s : s + w.shape[0]])
        if e:
            np.matmul(MT, extra.T, out=A[:, B + 1 :])
        # the estimate as estimate(ones) computes it (the same product, bit for bit)
        A[:, B] = _gemm_single(MT, ones.T)[:, 0]

        def rows_weights(rows):
            boot, rest = rows[rows < B], rows[rows >= B] - B
            parts = [weights_of(boot)] if boot.size else []
            if rest.size:
                parts.append(np.concatenate([ones, extra])[rest] if e else ones[rest])
            return np.concatenate(parts)

        return self._pearson_finish(A, rows_weights)

    # ---------------------------------------------------------------- helpers

    def _finish(self, cxy, cxx, cyy, bad_x, bad_y, cxz=None, cyz=None, czz=None, bad_z=None):
        """Correlation (partial when covariate co-moments are given) from co-moments.

        Shapes: cxy, cxx, bad_x (B, k); cyy, bad_y (B,); cxz (B, k, m);
        cyz (B, m); czz (B, m, m); bad_z (B,).
        """
        if self.m:
            d = np.sqrt(np.einsum("bii->bi", czz))
            dd = d[:, :, None] * d[:, None, :]
            czn = czz / np.where(dd > 0, dd, 1.0)
            singular = bad_z | (np.linalg.det(czn) <= _COLLINEAR)
            czz_safe = np.where(singular[:, None, None], np.eye(self.m)[None], czz)
            inv = np.linalg.inv(czz_safe)
            u = np.einsum("bkm,bml->bkl", cxz, inv)
            cxy_r = cxy - np.einsum("bkm,bm->bk", u, cyz)
            cxx_r = cxx - np.einsum("bkm,bkm->bk", u, cxz)
            cyy_r = cyy - np.einsum("bm,bml,bl->b", cyz, inv, cyz)
            bad = (
                bad_x
                | bad_y[:, None]
                | singular[:, None]
                | (cxx_r <= _COLLINEAR * cxx)
                | (cyy_r <= _COLLINEAR * cyy)[:, None]
            )
            cxy, cxx, cyy = cxy_r, cxx_r, cyy_r
        else:
            bad = bad_x | bad_y[:, None]
        r = cxy / np.sqrt(cxx * cyy[:, None])
        np.clip(r, -1.0, 1.0, out=r)
        r[bad] = np.nan
        return r

    # ---------------------------------------------------------------- methods

    def _pearson(self, ch: _Chunk):
        A = _gemm_single(self._MT, ch.Wt)
        ch._N = A[-1]
        return self._pearson_finish(A, lambda rows: ch.Wt[:, rows].T)

    def _pearson_finish(self, A: np.ndarray, weights_of) -> np.ndarray:
        """Correlations (B, k) from weighted sums ``A`` (rows of ``_MT``, a column per resample).

        ``weights_of(rows)`` returns the weights (len(rows), n) of the given
        resamples: a constant variable has zero weighted variance, but rounding
        makes it tiny instead, so resamples with a tiny variance are checked
        exactly (all weight on one tie group) on their weights.
        """
        k, m = self.k, self.m
        N = A[-1]
        p = k + 1 + m
        S = A[:p]

        def cm(a, b):
            i = self._col.get((a, b), self._col.get((b, a)))
            return A[p + i] - S[a] * S[b] / N

        with np.errstate(divide="ignore", invalid="ignore"):
            ss = [cm(i, i) for i in range(p)]  # weighted sum of squares of every variable
            bad = self._constant(ss, N, weights_of)
            yi, zi = k, list(range(k + 1, p))
            cxy = np.column_stack([cm(j, yi) for j in range(k)])
            cxx = np.column_stack(ss[:k])
            cyy = ss[k]
            bad_x = bad[:k].T
            bad_y = bad[k]
            if not m:
                return self._finish(cxy, cxx, cyy, bad_x, bad_y)
            cxz = np.stack([np.column_stack([cm(j, z) for z in zi]) for j in range(k)], axis=1)
            cyz = np.column_stack([cm(yi, z) for z in zi])
            czz = np.stack(
                [np.column_stack([ss[a] if a == b else cm(a, b) for b in zi]) for a in zi], axis=1
            )
            bad_z = bad[k + 1 :].any(axis=0)
            return self._finish(cxy, cxx, cyy, bad_x, bad_y, cxz, cyz, czz, bad_z)

    def _constant(self, ss: list, N: np.ndarray, weights_of) -> np.ndarray:
        """Resamples in which each variable (x columns, y, z) is constant: bool (p, B)."""
        cand = [~(v > 1e-9 * N) for v in ss]
        bad = np.zeros((len(ss), len(N)), dtype=bool)
        rows = np.flatnonzero(np.logical_or.reduce(cand) if len(cand) > 1 else cand[0])
        if rows.size:
            w = np.asarray(weights_of(rows), dtype=np.float64).T  # (n, len(rows))
            for i, var in enumerate(self.vx + [self.vy] + self.vz):
                sel = np.flatnonzero(cand[i][rows])
                if sel.size:
                    gw = var.groups @ w[:, sel] if var.has_ties else w[:, sel]
                    bad[i, rows[sel]] = gw.max(axis=0) >= N[rows[sel]]
        return bad

    def _spearman(self, ch: _Chunk):
        k, m, n = self.k, self.m, self.n
        Wt = ch.Wt
        b = Wt.shape[1]
        # twice the centred midranks of x columns, y, z columns: (k + 1 + m, n, b)
        R2 = ch.mul(self._S, self._S32).reshape(k + 1 + m, n, b)
        WRy = Wt * R2[k]  # w * 2 R_y, float64
        cxy = 0.25 * np.einsum("knb,nb->bk", R2[:k], WRy)
        cxx = np.column_stack([ch.rank_comoment(v) for v in self.vx])
        cyy = ch.rank_comoment(self.vy)
        if not m:
            return self._finish(cxy, cxx, cyy, cxx <= 0, cyy <= 0)
        WRz = [Wt * R2[k + 1 + a] for a in range(m)]
        czz = np.empty((b, m, m))
        for a, va in enumerate(self.vz):
            czz[:, a, a] = ch.rank_comoment(va)
            for c in range(a + 1, m):
                czz[:, a, c] = czz[:, c, a] = 0.25 * _coldot(WRz[a], R2[k + 1 + c])
        bad_z = (np.einsum("bii->bi", czz) <= 0).any(axis=1)
        cyz = np.column_stack([0.25 * _coldot(WRy, R2[k + 1 + a]) for a in range(m)])
        cxz = np.stack([0.25 * np.einsum("knb,nb->bk", R2[:k], wz) for wz in WRz], axis=2)
        return self._finish(cxy, cxx, cyy, cxx <= 0, cyy <= 0, cxz, cyz, czz, bad_z)

    def _kendall(self, ch: _Chunk):
        k, n = self.k, self.n
        Wt = ch.Wt
        b = Wt.shape[1]
        T = ch.mul(self._S, self._S32).reshape(k, n, b)
        num = np.einsum("knb,nb->bk", T, Wt)
        dy = ch.tie_pairs(self.vy)
        dx = np.column_stack([ch.tie_pairs(v) for v in self.vx])
        r = num / np.sqrt(dx * dy[:, None])
        r[(dx <= 0) | (dy <= 0)[:, None]] = np.nan
        np.clip(r, -1.0, 1.0, out=r)
        return r


# --------------------------------------------------------------------------- permutations


def _perm_stats(X, y, Z, method, perms):
    """Observed (k,) and permuted (P, k) statistics, and the tolerance for "as extreme"."""
    n, k = X.shape
    P = perms.shape[0]
    if method == "kendall":
        num = _kendall_numerators if hasattr(np, "bitwise_count") else _kendall_numerators_gemm
        obs = num(X, y, np.arange(n)[None, :])[0]
        return obs, num(X, y, perms), 0.5
    if method == "spearman":
        X = _rankdata(X, axis=0)
        y = _rankdata(y)
        Z = None if Z is None else _rankdata(Z, axis=0)
    if Z is None:
        rx = X - X.mean(axis=0)
        ry = y - y.mean()
        Q = None
    else:
        Q, _ = np.linalg.qr(np.column_stack([np.ones(n), Z]))
        rx = X - Q @ (Q.T @ X)
        ry = y - Q @ (Q.T @ y)
    with np.errstate(divide="ignore", invalid="ignore"):
        rx = rx / np.sqrt((rx**2).sum(axis=0))
        ry = ry / np.sqrt((ry**2).sum())
    obs = ry @ rx
    out = np.empty((P, k))
    chunk = max(1, (1 << 18) // n)
    for s in range(0, P, chunk):
        yp = ry[perms[s : s + chunk]]
        num = yp @ rx
        if Q is not None:
            e2 = 1.0 - ((yp @ Q) ** 2).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                num = num / np.sqrt(np.maximum(e2, 0.0))[:, None]
        out[s : s + chunk] = num
    return obs, out, _PERM_TOL


def _kendall_numerators(X: np.ndarray, y: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """Kendall numerators sum_{i<j} sign(x_i - x_j) sign(y_p(i) - y_p(j)), (P, k), as floats.

    With ``r_i = y[p(i)]`` the numerator is ``sum_ij sx_ij 1(r_i > r_j)``.  The
    set ``{j : r_j < r_i}`` is a prefix of the units ordered by ``r``, so it is
    built as a bit mask by cumulative OR along that order (n steps vectorised
    over permutations); the sums are then popcounts of the mask AND the bit
    masks of ``sx_i. = +1`` and ``sx_i. = -1``.  O(P n^2 / 64) word operations.
    """
    n, k = X.shape
    nw = (n + 63) // 64
    one = np.uint64(1)
    bit = np.zeros((n, nw), dtype=np.uint64)
    bit[np.arange(n), np.arange(n) // 64] = one << (np.arange(n) % 64).astype(np.uint64)
    pos = np.zeros((k, n, nw), dtype=np.uint64)
    neg = np.zeros((k, n, nw), dtype=np.uint64)
    for j in range(k):
        sx = np.sign(X[:, j][:, None] - X[:, j][None, :])
        for w in range(nw):
            cols = slice(64 * w, min(64 * (w + 1), n))
            bw = bit[cols, w][None, :]
            pos[j, :, w] = np.bitwise_or.reduce(np.where(sx[:, cols] > 0, bw, 0), axis=1)
            neg[j, :, w] = np.bitwise_or.reduce(np.where(sx[:, cols] < 0, bw, 0), axis=1)
    x_ties = [len(np.unique(X[:, j])) < n for j in range(k)]
    yr = _rankdata(y, method="min").astype(np.int64) - 1  # number of smaller values
    untied_y = int(yr.sum())  # pairs (i, j) with y_i > y_j
    o = np.argsort(yr, kind="stable")
    P = perms.shape[0]
    out = np.empty((P, k))
    chunk = max(1, (1 << 21) // ((n + 1) * nw))
    unit_rows = np.repeat(np.arange(n), min(chunk, P))
    bit_t = np.ascontiguousarray(bit.T)  # (nw, n)
    word_offsets = np.arange(nw)[None, :]
    for s in range(0, P, chunk):
        # transposed layout: (units, permutations)
        pt = np.ascontiguousarray(perms[s : s + chunk].T)
        p = pt.shape[1]
        cols = np.arange(p)
        inv = np.empty(n * p, dtype=np.int64)
        inv[(pt * p + cols).ravel()] = unit_rows[: n * p]
        sigma = inv.reshape(n, p)[o]  # sigma[a]: the unit receiving the a-th smallest y
        pref = np.zeros((n + 1, nw, p), dtype=np.uint64)
        for a in range(n):
            np.bitwise_or(pref[a], bit_t[:, sigma[a]], out=pref[a + 1])
        # G[i, :, c] = bits of {j : r_j < r_i} in permutation c
        idx = (yr[pt] * (nw * p))[:, None, :] + word_offsets[:, :, None] * p + cols
        G = np.take(pref.ravel(), idx).reshape(n * nw, p)
        for j in range(k):
            # sum(G & pos) - sum(G & neg) = 2 sum(G & pos) - sum(G & (pos | neg)); without
            # ties in x, pos | neg is everything but i itself (never in G_i), and
            # sum(G) is the number of pairs untied in y
            cp = np.bitwise_count(G & pos[j].reshape(n * nw, 1)).sum(axis=0, dtype=np.int64)
            c = 2 * cp
            if x_ties[j]:
                c -= cp
                c -= np.bitwise_count(G & neg[j].reshape(n * nw, 1)).sum(axis=0, dtype=np.int64)
            else:
                c -= untied_y
            out[s : s + p, j] = c
    return out


def _kendall_numerators_gemm(X: np.ndarray, y: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """Same as :func:`_kendall_numerators` by comparisons and one GEMM (numpy < 2)."""
    n, k = X.shape
    yr = _rankdata(y, method="dense").astype(np.int32)
    sx = np.sign(X[:, None, :] - X[None, :, :]).reshape(n * n, k).astype(np.float32)
    out = np.empty((perms.shape[0], k))
    chunk = max(1, (1 << 20) // (n * n))
    for s in range(0, perms.shape[0], chunk):
        yp = yr[perms[s : s + chunk]]
        gt = np.greater(yp[:, :, None], yp[:, None, :]).reshape(len(yp), n * n)
        out[s : s + chunk] = gt.astype(np.float32) @ sx
    return out


def _draw_perms(n: int, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permuted(np.tile(np.arange(n), (n_perm, 1)), axis=1)


def _perm_pvalues(X, y, Z, method, perms, estimate) -> np.ndarray:
    """Permutation p-values of the columns of X; NaN where ``estimate`` is undefined."""
    obs, perm, tol = _perm_stats(X, y, Z, method, perms)
    count = (np.abs(perm) >= np.abs(obs) - tol).sum(axis=0)
    p = (count + 1.0) / (perms.shape[0] + 1.0)
    with np.errstate(invalid="ignore"):
        undefined = ~np.isfinite(obs) | ~np.isfinite(perm).all(axis=0) | ~np.isfinite(estimate)
    p[undefined] = np.nan
    return p


# --------------------------------------------------------------------------- analytic p


@functools.lru_cache(maxsize=64)
def _kendall_null(n: int) -> np.ndarray:
    """Null distribution of the number of concordant pairs for n untied units."""
    pmf = np.ones(1)
    for j in range(2, n + 1):
        pmf = np.convolve(pmf, np.full(j, 1.0 / j))
    return pmf


def _kendall_p(tau: float, x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided p-value of Kendall's tau-b as R's cor.test (exact or normal)."""
    n = len(x)
    _, xt = np.unique(x, return_counts=True)
    _, yt = np.unique(y, return_counts=True)
    ties = (xt > 1).any() or (yt > 1).any()
    if n < 50 and not ties:
        q = int(round((tau + 1) * n * (n - 1) / 4))
        pmf = _kendall_null(n)
        if q > n * (n - 1) / 4:
            p = pmf[q:].sum()
        else:
            p = pmf[: q + 1].sum()
        return float(min(2 * p, 1.0))
    xt = xt[xt > 1].astype(np.float64)
    yt = yt[yt > 1].astype(np.float64)
    T0 = n * (n - 1) / 2
    T1 = (xt * (xt - 1)).sum() / 2
    T2 = (yt * (yt - 1)).sum() / 2
    S = tau * np.sqrt((T0 - T1) * (T0 - T2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = (xt * (xt - 1) * (2 * xt + 5)).sum()
    vu = (yt * (yt - 1) * (2 * yt + 5)).sum()
    v1 = (xt * (xt - 1)).sum() * (yt * (yt - 1)).sum()
    v2 = (xt * (xt - 1) * (xt - 2)).sum() * (yt * (yt - 1) * (yt - 2)).sum()
    var_S = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    z = S / np.sqrt(var_S)
    return float(2 * special.ndtr(-abs(z)))


def _analytic_p(method: str, r: float, x: np.ndarray, y: np.ndarray, n_cov: int) -> float:
    n = len(x)
    if not np.isfinite(r):
        return np.nan
    if method == "kendall":
        return _kendall_p(r, x, y)
    df = n - 2 - n_cov
    if df < 1:
        return np.nan
    if abs(r) >= 1.0:
        return 0.0
    t = r * np.sqrt(df / ((1.0 - r) * (1.0 + r)))
    return float(2.0 * special.stdtr(df, -abs(t)))


# --------------------------------------------------------------------------- public API


@_single_blas
def weighted_correlation(x, y, weights, *, method: str = "pearson", covariates=None) -> np.ndarray:
    """Correlation of units under weights (bootstrap counts), as on the expanded data.

    With integer weights the result equals the correlation of the data in
    which unit ``i`` is repeated ``weights[i]`` times (what
    :func:`scipy.stats.pearsonr`, :func:`~scipy.stats.spearmanr` or
    :func:`~scipy.stats.kendalltau` (tau-b) give on ``np.repeat(x, w)``).

    Parameters
    ----------
    x : array-like, shape (n,) or (n, k)
        One or several variables (e.g. distance kinds), one row per unit.
    y : array-like, shape (n,)
        The outcome.
    weights : array-like, shape (n,) or (B, n)
        Non-negative weights, one row per resample.
    method : {"pearson", "spearman", "kendall"}
    covariates : array-like, shape (n,) or (n, m), optional
        Partial out these variables (Pearson and Spearman only).

    Returns
    -------
    ndarray, shape ``weights.shape[:-1] + x.shape[1:]``
        NaN where a variable is constant (or collinear with the covariates)
        under the weights.

    Examples
    --------
    >>> x, y = [1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 5.0]
    >>> w = [2, 0, 1, 1]
    >>> r = weighted_correlation(x, y, w, method="spearman")
    >>> from scipy import stats
    >>> bool(np.isclose(r, stats.spearmanr(np.repeat(x, w), np.repeat(y, w))[0]))
    True
    """
    y = _as_vector(y, "y")
    n = len(y)
    xa = np.asarray(x, dtype=np.float64)
    X = _as_matrix(xa, "x", n)
    Z = None if covariates is None else _as_matrix(covariates, "covariates", n)
    _check_method(method, Z is not None)
    w = np.asarray(weights, dtype=np.float64)
    W = w[None, :] if w.ndim == 1 else w
    if W.ndim != 2 or W.shape[1] != n:
        raise ValueError(f"weights must have shape (n,) or (B, n) with n={n}; got {w.shape}")
    if not np.isfinite(W).all() or (W < 0).any():
        raise ValueError("weights must be finite and non-negative")
    r = _Engine(X, y, method, Z).estimate(W)
    shape = w.shape[:-1] + xa.shape[1:]
    return r.reshape(shape) if shape else r[0, 0]


def correlation(x, y, method: str = "pearson", *, covariates=None) -> CorrelationResult:
    """Correlation estimate and analytic two-sided p-value.

    Parameters
    ----------
    x, y : array-like, shape (n,)
        One value per unit, no missing values; ``n >= 3``.
    method : {"pearson", "spearman", "kendall"}
        Pearson's r (t-test with n - 2 df, as R's ``cor.test``); Spearman's
        rho with average ranks for ties (t approximation, as
        :func:`scipy.stats.spearmanr` and R's ``cor.test(exact=FALSE)``);
        Kendall's tau-b (exact null distribution for n < 50 without ties,
        otherwise the tie-corrected normal approximation, as R's ``cor.test``).
    covariates : array-like, shape (n,) or (n, m), optional
        Partial correlation controlling for these (Pearson: correlation of
        OLS residuals; Spearman: the same on ranks, as
        ``pingouin.partial_corr``); p-value from t with n - 2 - m df.

    Returns
    -------
    CorrelationResult
        ``(estimate, p_value)``.

    Examples
    --------
    >>> r, p = correlation([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], "kendall")
    >>> round(r, 3), round(p, 4)
    (0.6, 0.2333)
    """
    y = _as_vector(y, "y")
    x = _as_vector(x, "x")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length; got {len(x)} and {len(y)}")
    Z = None if covariates is None else _as_matrix(covariates, "covariates", len(y))
    _check_method(method, Z is not None)
    m = 0 if Z is None else Z.shape[1]
    if len(x) < 3 + m:
        raise ValueError(
            f"need at least {3 + m} units for a {'partial ' if m else ''}correlation; got {len(x)}"
        )
    r = float(_Engine(x[:, None], y, method, Z).estimate(np.ones((1, len(x))))[0, 0])
    return CorrelationResult(r, _analytic_p(method, r, x, y, m))


@_single_blas
def bootstrap_correlation_ci(
    x,
    y,
    *,
    method: str = "pearson",
    n_boot: int = 10_000,
    ci: str = "bca",
    alpha: float = 0.05,
    clusters=None,
    covariates=None,
    seed=0,
    plan: ResamplePlan | None = None,
) -> CorrelationCI:
    """Bootstrap confidence interval of a correlation, resampling units or clusters.

    Parameters
    ----------
    x, y : array-like, shape (n,)
        One value per unit (language), no missing values.
    method : {"pearson", "spearman", "kendall"}
    n_boot : int, default 10000
        Number of resamples (ignored when ``plan`` is given).
    ci : {"bca", "percentile"}
        BCa (acceleration from the leave-one-unit-out jackknife) or
        percentile interval, both as R's ``boot.ci``.
    alpha : float, default 0.05
        One minus the confidence level.
    clusters : array-like, shape (n,), optional
        Cluster label of each unit (e.g. family): resample whole clusters.
    covariates : array-like, shape (n,) or (n, m), optional
        Bootstrap the partial correlation.
    seed : int, default 0
        Seed of the resampling (ignored when ``plan`` is given).
    plan : ResamplePlan, optional
        Precomputed resamples to reuse across variables and methods.

    Returns
    -------
    CorrelationCI
        ``estimate, ci_low, ci_high, se`` (standard deviation of the finite
        replicates), ``n``, ``n_clusters``, ``n_boot``, ``ci_method``,
        ``conf_level``.  Undefined intervals are NaN with a
        :class:`~xdist.stats.bootstrap.BootstrapWarning`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=40); y = x + rng.normal(size=40)
    >>> res = bootstrap_correlation_ci(x, y, method="spearman", n_boot=2000, seed=1)
    >>> bool(res.ci_low < res.estimate < res.ci_high)
    True
    """
    y = _as_vector(y, "y")
    x = _as_vector(x, "x")
    n = len(y)
    if len(x) != n:
        raise ValueError(f"x and y must have the same length; got {len(x)} and {n}")
    Z = None if covariates is None else _as_matrix(covariates, "covariates", n)
    _check_method(method, Z is not None)
    _check_choice("ci", ci, ("bca", "percentile"))
    alpha = check_alpha(alpha)
    if plan is not None and plan.n_units != n:
        raise ValueError(f"plan is for {plan.n_units} units but x has {n}")
    m = 0 if Z is None else Z.shape[1]
    if n < 3 + m:
        raise ValueError(f"need at least {3 + m} units; got {n}")
    eng = _Engine(x[:, None], y, method, Z)
    if plan is None:
        # the resamples of ResamplePlan(n, n_boot, seed, clusters), block by block;
        # the estimate (exactly as correlation() and the table compute it) and the
        # jackknife go through the same sums
        n_boot = check_int("n_boot", n_boot, 1)
        index, labels = ResamplePlan._clusters(n, clusters)
        n_clusters = len(labels)
        rng = make_rng(seed)
        state = rng.bit_generator.state
        blocks = _draw_blocks(n_clusters, n_boot, rng)
        if clusters is not None:
            blocks = ((s, b[:, index]) for s, b in blocks)

        def weights_of(rows):
            counts = _redraw_counts(rng, state, n_clusters, rows)
            return counts if clusters is None else counts[:, index]

        jack_w = None
        if ci == "bca":
            jack_w = (index[None, :] != np.arange(n_clusters)[:, None]).astype(np.float64)
        est = eng.estimate_blocks(blocks, n_boot, weights_of, jack_w)
        reps, t0 = est[:n_boot], est[n_boot]
        jack = est[n_boot + 1 :] if ci == "bca" else None
    else:
        t0 = eng.estimate(np.ones((1, n)))[0]
        n_boot, n_clusters = plan.n_boot, plan.n_clusters
        reps = eng.estimate_t(plan.weights_t)
        jack = eng.estimate_t(plan.jackknife_weights.T) if ci == "bca" else None
    low, high = bootstrap_interval(
        reps[:, 0], t0[0], None if jack is None else jack[:, 0], ci=ci, alpha=alpha
    )
    fin = reps[:, 0]
    if not np.isfinite(fin).all():
        fin = fin[np.isfinite(fin)]
    se = float(np.std(fin, ddof=1)) if fin.size > 1 else np.nan
    return CorrelationCI(float(t0[0]), low, high, se, n, n_clusters, n_boot, ci, 1.0 - alpha)


@_single_blas
def permutation_pvalue(
    x, y, *, method: str = "pearson", n_perm: int = 9_999, covariates=None, seed=0
) -> float:
    """Two-sided permutation p-value of a correlation, permuting y across units.

    ``p = (#{|t*| >= |t|} + 1) / (n_perm + 1)`` over ``n_perm`` random
    permutations (permuted statistics within 1e-10 of the observed one count
    as equally extreme).  With covariates, the residuals of y on the
    covariates are permuted (Freedman & Lane 1983).

    Examples
    --------
    >>> x = np.arange(10.0); y = x + np.array([0, 2, -1, 1, 0, -2, 1, 0, 2, -1])
    >>> p = permutation_pvalue(x, y, n_perm=999, seed=0)
    >>> bool(p <= 0.002)
    True
    """
    y = _as_vector(y, "y")
    x = _as_vector(x, "x")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length; got {len(x)} and {len(y)}")
    Z = None if covariates is None else _as_matrix(covariates, "covariates", len(y))
    _check_method(method, Z is not None)
    n_perm = check_int("n_perm", n_perm, 1)
    m = 0 if Z is None else Z.shape[1]
    if len(y) < 3 + m:
        raise ValueError(f"need at least {3 + m} units; got {len(y)}")
    perms = _draw_perms(len(y), n_perm, make_rng(seed))
    t0 = _Engine(x[:, None], y, method, Z).estimate(np.ones((1, len(y))))[0]
    return float(_perm_pvalues(x[:, None], y, Z, method, perms, t0)[0])


# --------------------------------------------------------------------------- the table


def _columns(data: pd.DataFrame, value, param: str, *, allow_none: bool = False) -> list[str]:
    if value is None:
        if allow_none:
            return []
        raise ValueError(f"{param} is required: name a column of data")
    cols = [value] if isinstance(value, str) else list(value)
    if not cols and not allow_none:
        raise ValueError(f"{param} is empty: name at least one column of data")
    for c in cols:
        if c not in data.columns:
            close = difflib.get_close_matches(str(c), [str(k) for k in data.columns], n=3)
            hint = f" (did you mean {', '.join(repr(h) for h in close)}?)" if close else ""
            raise KeyError(
                f"{param}: column {c!r} not in data{hint}; columns are "
                + ", ".join(repr(k) for k in data.columns)
            )
    if len(set(cols)) != len(cols):
        raise ValueError(f"{param} names a column twice: {cols}")
    return cols


def _numeric(data: pd.DataFrame, cols: list[str], param: str):
    for c in cols:
        if not pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]):
            raise ValueError(
                f"{param}: column {c!r} must be numeric; it has dtype {data[c].dtype}"
            )


def _stable_entropy(*parts) -> int:
    h = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8)
    return int.from_bytes(h.digest(), "little")


def _label(by: list[str], key) -> str:
    if not by:
        return "all rows"
    return "(" + ", ".join(f"{c}={v!r}" for c, v in zip(by, key)) + ")"


@_single_blas
def correlation_table(
    data: pd.DataFrame,
    *,
    x,
    y: str,
    by=None,
    methods=METHODS,
    ci: str = "bca",
    n_boot: int = 10_000,
    n_perm: int = 9_999,
    units: str = "language",
    clusters: str | None = None,
    covariates=None,
    alpha: float = 0.05,
    adjust: str = "holm",
    seed: int = 0,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Correlations of one or several variables with an outcome, per group, in one table.

    Parameters
    ----------
    data : DataFrame
        Tidy, one row per unit (language) per group.
    x : str or list of str
        The variable column(s), e.g. several distance kinds.
    y : str
        The outcome column, e.g. degradation.
    by : str or list of str, optional
        Grouping columns (task, model, ...); one correlation per group.
    methods : str or sequence of {"pearson", "spearman", "kendall"}
    ci : {"bca", "percentile", "none"}
        Bootstrap interval (``"none"``: no bootstrap, NaN bounds).
    n_boot : int, default 10000
        Bootstrap resamples; the same resamples serve every variable and
        method of a group.
    n_perm : int, default 9999
        Permutations for ``p_value`` (0: no permutation test, NaN).
    units : str, default "language"
        Column naming the unit; one row per unit per group.
    clusters : str, optional
        Column naming the cluster of each unit (e.g. ``"family"``): the
        bootstrap then draws whole clusters.  Every unit needs a label (give
        isolates their own).
    covariates : str or list of str, optional
        Partial correlations controlling for these columns (e.g. log
        pretraining size); Pearson and Spearman only.
    alpha : float, default 0.05
        One minus the confidence level of the intervals.
    adjust : {"holm", "fdr_bh", "bonferroni", "none"}
        Adjustment of ``p_value`` across the whole table (all groups,
        variables and methods) into ``p_adjusted``.
    seed : int, default 0
        Seed; each group's resamples and permutations derive from it and
        from the group's key and units, so a group's result does not depend
        on the other groups or on row order.
    n_jobs : int, default 1
        Processes over which the groups are spread (forked; POSIX only).  The
        table is the same for any ``n_jobs``: each group has its own random
        stream.

    Returns
    -------
    DataFrame
        One row per (group, variable, method): the ``by`` columns, then

        ``variable``  the x column
        ``method``  pearson / spearman / kendall
        ``estimate``  the correlation (partial with covariates)
        ``se``  standard deviation of the bootstrap replicates
        ``ci_low``, ``ci_high``  bootstrap interval bounds
        ``conf_level``  ``1 - alpha``
        ``p_value``  two-sided permutation p-value, (count + 1) / (n_perm + 1)
        ``p_value_analytic``  t / exact / normal p-value (see :func:`correlation`)
        ``p_adjusted``  ``p_value`` adjusted across the whole table
        ``n``  units used (after dropping missing values)
        ``n_clusters``  clusters among them (``n`` without clusters)
        ``ci_method``, ``n_boot``, ``n_perm``  how the interval and p were made
        ``resample_unit``  the units or clusters column name
        ``covariates``  comma-separated covariate columns, ``""`` for none
        ``adjust``  the adjustment method

    Warns
    -----
    UserWarning
        Units dropped for missing values (listed), groups with fewer than 3
        units (NaN results), undefined estimates.
    BootstrapWarning
        Undefined intervals or left-out replicates, with the group named.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"language": [f"l{i}" for i in range(20)],
    ...                    "distance": rng.uniform(size=20)})
    >>> df["degradation"] = 10 * df["distance"] + rng.normal(size=20)
    >>> tab = correlation_table(df, x="distance", y="degradation", n_boot=999, n_perm=999)
    >>> tab[["method", "n"]].values.tolist()
    [['pearson', 20], ['spearman', 20], ['kendall', 20]]
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    xs = _columns(data, x, "x")
    if not isinstance(y, str):
        raise ValueError(f"y={y!r} is not accepted: name one column (a string)")
    (ycol,) = _columns(data, y, "y")
    bys = _columns(data, by, "by", allow_none=True)
    (ucol,) = _columns(data, units, "units")
    ccol = None if clusters is None else _columns(data, clusters, "clusters")[0]
    covs = _columns(data, covariates, "covariates", allow_none=True)
    _numeric(data, xs, "x")
    _numeric(data, [ycol], "y")
    _numeric(data, covs, "covariates")
    clash = set(bys) & set(TABLE_COLUMNS)
    if clash:
        raise ValueError(f"by columns {sorted(clash)} clash with result columns; rename them")
    meths = [methods] if isinstance(methods, str) else list(methods)
    if not meths:
        raise ValueError(f"methods is empty: use some of {', '.join(repr(m) for m in METHODS)}")
    for mth in meths:
        _check_method(mth, bool(covs), param="methods")
    _check_choice("ci", ci, CI_METHODS)
    _check_choice("adjust", adjust, ADJUST_METHODS)
    alpha = check_alpha(alpha)
    n_boot = check_int("n_boot", n_boot, 0 if ci == "none" else 1)
    n_perm = check_int("n_perm", n_perm, 0)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed={seed!r} is not accepted: pass a non-negative int")
    if ci == "none":
        n_boot = 0

    rows: list[dict] = []
    if bys:
        groups = list(data.groupby(bys, sort=True, dropna=False, observed=True))
    else:
        groups = [((), data)]
    tasks = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        tasks.append((g, key, _label(bys, key), bys, xs, ycol, ucol, ccol, covs, meths, ci,
                      n_boot, n_perm, alpha, seed))
    n_jobs = check_int("n_jobs", n_jobs, 1)
    for group_rows in _run_groups(tasks, n_jobs):
        rows.extend(group_rows)
    out = pd.DataFrame(rows, columns=bys + TABLE_COLUMNS)
    out["p_adjusted"] = adjust_pvalues(out["p_value"].to_numpy(dtype=np.float64), adjust)
    out["adjust"] = adjust
    for c in ("n", "n_clusters", "n_boot", "n_perm"):
        out[c] = out[c].astype(np.int64)
    return out


def _groups_in_process(tasks):
    """Run groups in a worker; return each group's rows and the warnings it raised."""
    out = []
    for t in tasks:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rows = _table_group(*t)
        out.append((rows, [(w.category, str(w.message)) for w in caught]))
    return out


def _run_groups(tasks, n_jobs: int):
    """Rows of every group, in input order; groups spread over ``n_jobs`` processes.

    Every group has its own random stream (from ``seed`` and its key), so the
    result does not depend on ``n_jobs``.  Workers are forked (POSIX), get
    groups balanced by size, and their warnings are re-emitted here in order.
    """
    import multiprocessing as mp

    if n_jobs <= 1 or len(tasks) < 2 or "fork" not in mp.get_all_start_methods():
        for t in tasks:
            yield _table_group(*t)
        return
    n_jobs = min(n_jobs, len(tasks))
    order = sorted(range(len(tasks)), key=lambda i: -len(tasks[i][0]))
    parts = [order[j::n_jobs] for j in range(n_jobs)]
    with mp.get_context("fork").Pool(n_jobs) as pool:
        done = pool.map(_groups_in_process, [[tasks[i] for i in part] for part in parts])
    results = {}
    for part, res in zip(parts, done):
        results.update(zip(part, res))
    for i in range(len(tasks)):
        rows, caught = results[i]
        for category, message in caught:
            warnings.warn(message, category, stacklevel=4)
        yield rows


def _table_group(
    g, key, label, bys, xs, ycol, ucol, ccol, covs, meths, ci, n_boot, n_perm, alpha, seed
):
    units = g[ucol]
    if units.isna().any():
        raise ValueError(f"units: column {ucol!r} has missing values in group {label}")
    dup = units[units.duplicated()].unique()
    if len(dup):
        raise ValueError(
            f"units: group {label} has several rows for unit(s) "
            f"{[str(u) for u in dup[:5]]} in column {ucol!r}; a correlation table needs one "
            "row per unit per group (add the distinguishing column to by=)"
        )
    g = g.iloc[np.argsort(units.astype(str).to_numpy(), kind="stable")]
    unit_labels = g[ucol].astype(str).to_numpy()
    yv = g[ycol].to_numpy(dtype=np.float64)
    Zall = g[covs].to_numpy(dtype=np.float64) if covs else None
    base_ok = np.isfinite(yv)
    if Zall is not None:
        base_ok &= np.isfinite(Zall).all(axis=1)
    masks: dict[bytes, list[int]] = {}
    for j, xc in enumerate(xs):
        ok = base_ok & np.isfinite(g[xc].to_numpy(dtype=np.float64))
        masks.setdefault(ok.tobytes(), []).append(j)
    results: dict[tuple[int, str], dict] = {}
    m = len(covs)
    for mk, idx in masks.items():
        ok = np.frombuffer(mk, dtype=bool)
        vars_ = [xs[j] for j in idx]
        if not ok.all():
            missing = [c for c in [ycol] + covs + vars_ if g[c].isna().to_numpy()[~ok].any()]
            warnings.warn(
                f"correlation_table: group {label}, variable(s) {vars_}: dropped "
                f"{int((~ok).sum())} unit(s) with missing {missing}: "
                f"{unit_labels[~ok].tolist()}",
                UserWarning,
                stacklevel=3,
            )
        n = int(ok.sum())
        X = g[vars_].to_numpy(dtype=np.float64)[ok]
        y = yv[ok]
        Z = None if Zall is None else Zall[ok]
        ul = unit_labels[ok]
        cl = None
        n_clusters = n
        if ccol is not None:
            cvals = g[ccol].to_numpy()[ok]
            miss = pd.isna(cvals)
            if miss.any():
                raise ValueError(
                    f"clusters: column {ccol!r} is missing for unit(s) {ul[miss].tolist()} "
                    f"in group {label}; give every unit a cluster (isolates their own)"
                )
            cl = cvals.astype(str)
            n_clusters = len(np.unique(cl))
        base = dict(n=n, n_clusters=n_clusters)
        nan_row = dict(estimate=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan,
                       p_value=np.nan, p_value_analytic=np.nan)
        if n < 3 + m:
            warnings.warn(
                f"correlation_table: group {label}, variable(s) {vars_}: only {n} unit(s) "
                f"(need {3 + m}); estimates are NaN",
                UserWarning,
                stacklevel=3,
            )
            for j, v in zip(idx, vars_):
                for mth in meths:
                    results[(j, mth)] = {**base, **nan_row}
            continue
        ss = np.random.SeedSequence([seed, _stable_entropy(*key, "|", *ul)])
        boot_ss, perm_ss = ss.spawn(2)
        plan = ResamplePlan(n, n_boot=n_boot, seed=boot_ss, clusters=cl) if n_boot else None
        perms = _draw_perms(n, n_perm, np.random.default_rng(perm_ss)) if n_perm else None
        ones = np.ones((1, n))
        for mth in meths:
            eng = _Engine(X, y, mth, Z)
            t0 = eng.estimate(ones)[0]
            labels = [f"{label}, variable {v!r}, {mth}" for v in vars_]
            for j in np.flatnonzero(~np.isfinite(t0)):
                warnings.warn(
                    f"correlation_table: {labels[j]}: estimate undefined (a variable is "
                    "constant or collinear with the covariates)",
                    UserWarning,
                    stacklevel=3,
                )
            if plan is not None:
                reps = eng.estimate_t(plan.weights_t)
                jack = eng.estimate_t(plan.jackknife_weights.T) if ci == "bca" else None
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    low, high = bootstrap_interval(
                        reps, t0, jack, ci=ci, alpha=alpha, labels=labels
                    )
                for w in caught:
                    warnings.warn("correlation_table: " + str(w.message), w.category, stacklevel=3)
                fin = np.isfinite(reps)
                cnt = fin.sum(axis=0)
                with np.errstate(invalid="ignore", divide="ignore"):
                    mean = np.where(fin, reps, 0).sum(axis=0) / cnt
                    se = np.sqrt(np.where(fin, (reps - mean) ** 2, 0).sum(axis=0) / (cnt - 1))
                se[cnt < 2] = np.nan
            else:
                low = high = se = np.full(len(vars_), np.nan)
            if perms is not None:
                pperm = _perm_pvalues(X, y, Z, mth, perms, t0)
            else:
                pperm = np.full(len(vars_), np.nan)
            for c, (j, v) in enumerate(zip(idx, vars_)):
                results[(j, mth)] = {
                    **base,
                    "estimate": float(t0[c]),
                    "se": float(se[c]),
                    "ci_low": float(low[c]),
                    "ci_high": float(high[c]),
                    "p_value": float(pperm[c]),
                    "p_value_analytic": _analytic_p(mth, float(t0[c]), X[:, c], y, m),
                }
    out = []
    for j, v in enumerate(xs):
        for mth in meths:
            out.append(
                {
                    **dict(zip(bys, key)),
                    "variable": v,
                    "method": mth,
                    **results[(j, mth)],
                    "conf_level": 1.0 - alpha,
                    "ci_method": ci,
                    "n_boot": n_boot,
                    "n_perm": n_perm,
                    "resample_unit": ccol if ccol is not None else ucol,
                    "covariates": ",".join(covs),
                    "adjust": "",
                }
            )
    return out
