"""Resampling plans and bootstrap confidence intervals.

A bootstrap resample of ``n`` units is stored as a row of *counts*: how often
each unit was drawn.  A :class:`ResamplePlan` draws ``n_boot`` such rows once
(seeded) so that every statistic of the same units - several distance kinds,
several correlation methods - is computed on the same resamples, as weighted
statistics (``W @ x`` instead of gathering ``x[idx]``).  A cluster (family)
bootstrap draws whole clusters with replacement; every unit of a cluster gets
its cluster's count.

The intervals follow R's ``boot`` package (Davison & Hinkley 1997) exactly:

- :func:`percentile_interval` is ``boot:::perc.ci``: order statistics of the
  finite replicates, interpolated on the normal quantile scale
  (``boot:::norm.inter``).
- :func:`bca_interval` is ``boot:::bca.ci`` with ``L = empinf(type="jack")``:
  bias correction ``z0 = qnorm(mean(t < t0))`` and acceleration
  ``a = sum(L^3) / (6 sum(L^2)^1.5)`` from the jackknife influence values
  ``L_i = (g - 1) (t0 - t_(-i))`` over the ``g`` units (clusters).

Where an interval is undefined (BCa with every replicate on one side of the
estimate, a zero or undefined acceleration, fewer than 3 units, no finite
replicate) the functions return NaN bounds and emit a
:class:`BootstrapWarning` saying why; they never raise for such data and never
fall back to another interval silently.
"""

from __future__ import annotations

import copy
import math
import warnings
from numbers import Integral
from typing import Sequence

import numpy as np
from scipy import special

from xdist._checks import check_alpha, check_int

__all__ = [
    "BootstrapWarning",
    "ResamplePlan",
    "CI_METHODS",
    "make_rng",
    "percentile_interval",
    "bca_interval",
    "bootstrap_interval",
]

# Resamples drawn per block by ResamplePlan (part of the definition of the stream).
_BLOCK = 1024
# Resamples counted at once (any value gives the same counts; 512 keeps the work
# arrays of a chunk in the CPU cache and the calls few).
_COUNT_ROWS = 512

#: Accepted values of ``ci``.
CI_METHODS = ("bca", "percentile", "none")

#: Replicates within this distance of the estimate count as equal to it when
#: the BCa bias correction counts ``t < t0`` (so that a replicate that equals
#: the estimate mathematically is not counted as smaller because of rounding).
TIE_TOLERANCE = 1e-10


class BootstrapWarning(UserWarning):
    """A bootstrap interval is undefined or rests on fewer replicates than drawn."""


def make_rng(seed, param: str = "seed") -> np.random.Generator:
    """Return a numpy Generator for ``seed`` (an int, a SeedSequence or a Generator).

    Examples
    --------
    >>> int(make_rng(0).integers(10)) == int(make_rng(0).integers(10))
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not (
        isinstance(seed, (Integral, np.random.SeedSequence))
    ):
        raise ValueError(
            f"{param}={seed!r} is not accepted: pass a non-negative int (or a "
            "numpy SeedSequence / Generator) so that results are reproducible"
        )
    if isinstance(seed, Integral) and seed < 0:
        raise ValueError(f"{param}={seed!r} is not accepted: pass a non-negative int")
    return np.random.default_rng(seed)




def _check_choice(param: str, value, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            f"{param}={value!r} is not accepted: use one of "
            + ", ".join(repr(a) for a in allowed)
        )
    return value


def _draw_index_blocks(g: int, n_boot: int, rng: np.random.Generator):
    """Yield (start, draws): the clusters drawn for resamples ``start, start + 1, ...``.

    ``draws`` has shape (<= _BLOCK, g); row ``b`` holds the ``g`` clusters drawn
    with replacement for resample ``start + b``.  Blocks of ``_BLOCK`` rows, one
    ``rng.integers`` call each: this defines the stream of every plan.
    """
    dtype = np.int16 if g < np.iinfo(np.int16).max else np.int64
    for s in range(0, n_boot, _BLOCK):
        yield s, rng.integers(0, g, size=(min(_BLOCK, n_boot - s), g), dtype=dtype)


def _row_offsets(rows: int, g: int, dtype) -> np.ndarray:
    """(rows, g) array whose row ``b`` is ``b * g`` (bin offsets of the rows)."""
    return np.repeat(np.arange(rows, dtype=dtype) * g, g).reshape(rows, g)


# ufunc.at is fast (an indexed inner loop) from numpy 1.25 on; before, bincount is faster
_FAST_AT = np.lib.NumpyVersion(np.__version__) >= "1.25.0"


class _Counter:
    """Counts rows of draws, ``counts[b, c] = #{j : draws[b, j] == c}``, as float64.

    The count of every (row, value) pair is incremented in place
    (``np.add.at`` on the flat bins ``row * g + draw``; the bins of a row are
    contiguous) in a buffer that is reused: a returned array is overwritten by
    the next call.  The bin index is uint16 when it fits (a quarter of the
    memory traffic of intp).  No call allocates (numpy >= 1.25; before,
    ``np.bincount`` counts): fresh arrays of hundreds of kilobytes cost page
    faults, which on a virtual machine cost more than the counting.  Callers
    count at most ``rows`` rows at a time.
    """

    def __init__(self, g: int, rows: int = _COUNT_ROWS):
        self.g = g
        self.small = rows * g <= 1 << 16 and g < np.iinfo(np.int16).max
        dtype = np.uint16 if self.small else np.intp
        self.offsets = _row_offsets(rows, g, dtype)
        self.idx = np.empty((rows, g), dtype=dtype)
        self.out = np.empty((rows, g))

    def __call__(self, draws: np.ndarray) -> np.ndarray:
        c, g = draws.shape[0], self.g
        idx = self.idx[:c]
        if self.small:  # draws are int16 in [0, g): their bits as uint16 are the values
            np.add(draws.view(np.uint16), self.offsets[:c], out=idx)
        else:
            np.copyto(idx, draws, casting="unsafe")
            np.add(idx, self.offsets[:c], out=idx)
        counts = self.out[:c]
        if _FAST_AT:
            counts.fill(0.0)
            np.add.at(counts.reshape(-1), idx.reshape(-1), 1.0)
        else:
            np.copyto(counts, np.bincount(idx.reshape(-1), minlength=c * g).reshape(c, g))
        return counts


def _draw_blocks(g: int, n_boot: int, rng: np.random.Generator):
    """Yield (start, counts) chunks of bootstrap counts, counts of shape (<= _COUNT_ROWS, g).

    The resamples of :func:`_draw_index_blocks` (the stream: blocks of
    ``_BLOCK`` draws), counted ``_COUNT_ROWS`` rows at a time: ``counts[b, c]``
    (float64) is how often cluster ``c`` was drawn in resample ``start + b``.
    Consume or copy a chunk before asking for the next one.
    """
    count = _Counter(g, min(_COUNT_ROWS, n_boot))
    for s, draws in _draw_index_blocks(g, n_boot, rng):
        for u in range(0, draws.shape[0], _COUNT_ROWS):
            yield s + u, count(draws[u : u + _COUNT_ROWS])


def _redraw_counts(rng: np.random.Generator, state: dict, g: int, rows: np.ndarray) -> np.ndarray:
    """Counts (float64, one row per entry of ``rows``) of resamples drawn again.

    ``state`` is ``rng.bit_generator.state`` from before :func:`_draw_blocks`
    drew the resamples; the stream is replayed (on a copy, ``rng`` is left
    alone) up to the last resample in ``rows``.  For the rare resamples that
    need a second look, so that the draws need not be kept.
    """
    rows = np.asarray(rows, dtype=np.intp)
    bg = copy.deepcopy(rng.bit_generator)
    bg.state = state
    out = np.empty((rows.size, g))
    stop = int(rows.max()) + 1 if rows.size else 0
    for s, counts in _draw_blocks(g, stop, np.random.Generator(bg)):
        hit = np.flatnonzero((rows >= s) & (rows < s + counts.shape[0]))
        out[hit] = counts[rows[hit] - s]
    return out


class ResamplePlan:
    """Bootstrap resamples of units (or of whole clusters of units), drawn once.

    Parameters
    ----------
    n_units : int or sequence
        Number of units, or the unit labels (only their number is used).
    n_boot : int, default 10000
        Number of resamples.
    seed : int, SeedSequence or Generator, default 0
        Seed of the draw; the same seed gives the same plan.
    clusters : sequence, optional
        One cluster label per unit (e.g. the language family).  When given,
        whole clusters are drawn with replacement and each unit gets the count
        of its cluster (cluster bootstrap); the jackknife leaves out one
        cluster at a time.

    Attributes
    ----------
    counts : ndarray of int, shape (n_boot, n_clusters)
        How often each cluster (each unit, without clusters) was drawn; every
        row sums to ``n_clusters``.
    weights, weights_t : ndarray of float, shapes (n_boot, n_units), (n_units, n_boot)
        The counts per unit (a unit gets its cluster's count), read-only.
    cluster_index : ndarray of int, shape (n_units,)
        The cluster of each unit (``arange(n_units)`` without clusters).
    cluster_labels : ndarray
        The cluster labels in the order of ``counts``' columns.

    Notes
    -----
    Resamples are drawn in blocks of 1024 from ``numpy.random.default_rng(seed)``
    (``integers(0, n_clusters, size=(1024, n_clusters))`` per block, counted);
    the block size is fixed, so a seed always gives the same resamples, also
    in :func:`~xdist.stats.bootstrap_correlation_ci`, which draws the same
    blocks without storing them.

    Examples
    --------
    >>> plan = ResamplePlan(5, n_boot=3, seed=1)
    >>> plan.weights.shape, plan.counts.sum(axis=1).tolist()
    ((3, 5), [5, 5, 5])
    >>> fam = ResamplePlan(4, n_boot=2, seed=1, clusters=["a", "a", "b", "c"])
    >>> bool((fam.weights[:, 0] == fam.weights[:, 1]).all())
    True
    """

    def __init__(self, n_units, n_boot: int = 10_000, seed=0, clusters=None):
        n = self._n_units(n_units)
        n_boot = check_int("n_boot", n_boot, 1)
        index, labels = self._clusters(n, clusters)
        g = len(labels)
        counts_t = np.empty((g, n_boot))
        for s, block in _draw_blocks(g, n_boot, make_rng(seed)):
            counts_t[:, s : s + block.shape[0]] = block.T
        self._init(counts_t, index, labels)

    @classmethod
    def from_counts(cls, counts, clusters=None) -> "ResamplePlan":
        """Build a plan from given counts (one row per resample, one column per cluster).

        Without ``clusters`` the columns are the units.  With ``clusters`` (one
        label per unit) the columns are the clusters in sorted label order.

        Examples
        --------
        >>> ResamplePlan.from_counts([[2, 0, 1], [1, 1, 1]]).n_boot
        2
        """
        counts = np.asarray(counts)
        if counts.ndim != 2 or counts.shape[0] < 1 or not np.issubdtype(counts.dtype, np.integer):
            raise ValueError(
                "counts must be a 2-d integer array (one row per resample, one column "
                f"per unit or cluster); got shape {counts.shape} and dtype {counts.dtype}"
            )
        if (counts < 0).any():
            raise ValueError("counts must be non-negative")
        n = counts.shape[1] if clusters is None else len(clusters)
        index, labels = cls._clusters(n, clusters)
        if counts.shape[1] != len(labels):
            raise ValueError(
                f"counts has {counts.shape[1]} columns but there are {len(labels)} clusters"
            )
        self = cls.__new__(cls)
        self._init(np.ascontiguousarray(counts.T, dtype=np.float64), index, labels)
        return self

    @staticmethod
    def _n_units(n_units) -> int:
        if isinstance(n_units, Integral) and not isinstance(n_units, (bool, np.bool_)):
            n = int(n_units)
        else:
            try:
                n = len(n_units)
            except TypeError:
                raise ValueError(
                    f"n_units={n_units!r} is not accepted: pass the number of units or "
                    "a sequence of unit labels"
                ) from None
        if n < 1:
            raise ValueError(f"n_units={n_units!r} is not accepted: need at least one unit")
        return n

    @staticmethod
    def _clusters(n: int, clusters):
        if clusters is None:
            return np.arange(n), np.arange(n)
        labels = np.asarray(clusters)
        if labels.ndim != 1 or len(labels) != n:
            raise ValueError(
                f"clusters must have one label per unit ({n}); got shape {labels.shape}"
            )
        if labels.dtype.kind == "f" and np.isnan(labels).any():
            raise ValueError("clusters contains NaN: give every unit a cluster label")
        if labels.dtype == object and any(
            v is None or (isinstance(v, float) and np.isnan(v)) for v in labels
        ):
            raise ValueError("clusters contains missing labels: give every unit a cluster label")
        uniq, index = np.unique(labels, return_inverse=True)
        return index.ravel(), uniq

    def _init(self, counts_t, index, labels):
        counts_t.flags.writeable = False
        self._counts_t = counts_t  # float64 (n_clusters, n_boot)
        self.cluster_index = index
        self.cluster_labels = labels
        self._weights = None

    @property
    def counts(self) -> np.ndarray:
        """How often each cluster (unit) was drawn, shape (n_boot, n_clusters), int64."""
        return self._counts_t.T.astype(np.int64)

    @property
    def n_boot(self) -> int:
        """Number of resamples."""
        return self._counts_t.shape[1]

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.cluster_index)

    @property
    def n_clusters(self) -> int:
        """Number of resampled clusters (the number of units without clusters)."""
        return self._counts_t.shape[0]

    @property
    def clustered(self) -> bool:
        """Whether whole clusters (rather than single units) are resampled."""
        return self.n_clusters != self.n_units or not np.array_equal(
            self.cluster_index, np.arange(self.n_units)
        )

    @property
    def weights(self) -> np.ndarray:
        """Counts per unit, shape (n_boot, n_units), float64 (a view of :attr:`weights_t`)."""
        return self.weights_t.T

    @property
    def weights_t(self) -> np.ndarray:
        """Counts per unit, transposed: shape (n_units, n_boot), float64, contiguous (cached)."""
        if self._weights is None:
            if self.clustered:
                self._weights = self._counts_t[self.cluster_index]
                self._weights.flags.writeable = False
            else:
                self._weights = self._counts_t
        return self._weights

    @property
    def jackknife_weights(self) -> np.ndarray:
        """Leave-one-cluster-out weights, shape (n_clusters, n_units)."""
        return (self.cluster_index[None, :] != np.arange(self.n_clusters)[:, None]).astype(
            np.float64
        )

    def indices(self) -> list[np.ndarray]:
        """The resampled unit indices of every resample (units of a cluster repeated).

        Examples
        --------
        >>> ResamplePlan.from_counts([[2, 0, 1]]).indices()[0].tolist()
        [0, 0, 2]
        """
        w = self.weights.astype(np.int64)
        return [np.repeat(np.arange(self.n_units), row) for row in w]

    def __repr__(self) -> str:
        kind = f"{self.n_clusters} clusters of " if self.clustered else ""
        return f"ResamplePlan({kind}{self.n_units} units, n_boot={self.n_boot})"


# --------------------------------------------------------------------------- intervals


def _as_2d(replicates) -> tuple[np.ndarray, bool]:
    t = np.asarray(replicates, dtype=np.float64)
    if t.ndim == 1:
        return t[:, None], True
    if t.ndim != 2:
        raise ValueError(f"replicates must be 1-d or 2-d; got shape {t.shape}")
    return t, False


def _select(f: np.ndarray, kth: list) -> np.ndarray:
    """A copy of ``f`` arranged so that ``out[k]`` is the k-th order statistic for every k.

    ``kth`` is sorted.  One single-``kth`` partition per index, each on the
    part right of the previous one (numpy's partition with several ``kth`` at
    once is several times slower than single ones); an index right after the
    previous one only needs the minimum of that part.
    """
    fp = np.array(f, dtype=np.float64, copy=True)
    lo = 0
    for k in kth:
        if k < lo:
            continue
        if k == lo:
            j = lo + int(np.argmin(fp[lo:]))
            fp[lo], fp[j] = fp[j], fp[lo]
        else:
            fp[lo:].partition(k - lo)
        lo = k + 1
    return fp


def _norm_inter(t: np.ndarray, finite: np.ndarray, alpha: np.ndarray, labels):
    """R's ``boot:::norm.inter`` for several columns at once.

    ``t`` (B, k) holds the replicates, ``finite`` (B, k) marks those used and
    ``alpha`` (k, q) the levels of every column.  Returns (k, q) quantiles.
    Only the needed order statistics are selected (:func:`_select`).
    """
    k, q = alpha.shape
    out = np.full((k, q), np.nan)
    extreme = []
    for j in range(k):
        fin = finite[:, j]
        f = t[:, j] if fin.all() else t[fin, j]
        R = f.size
        if R == 0 or not np.isfinite(alpha[j]).all():
            continue
        levels = alpha[j].tolist()
        rk = [(R + 1) * a for a in levels]
        if not all(1 < r < R for r in rk):
            extreme.append(j)
        kk = [math.trunc(r) for r in rk]
        ints = [kv == r for kv, r in zip(kk, rk)]
        need = set()
        for kv, iv in zip(kk, ints):
            if iv or kv <= 0 or kv >= R:
                need.add(min(max(kv, 1), R) - 1)
            else:
                need.update((kv - 1, kv))
        fp = _select(f, sorted(need))
        interp = [i for i, (kv, iv) in enumerate(zip(kk, ints)) if not iv and 0 < kv < R]
        if interp:
            # z1, z2, z3 of every interpolated level in one call
            z = special.ndtri(
                [v for i in interp for v in (levels[i], kk[i] / (R + 1), (kk[i] + 1) / (R + 1))]
            ).tolist()
        for i, (kv, iv) in enumerate(zip(kk, ints)):
            if iv:
                out[j, i] = fp[kv - 1]
            elif kv <= 0:
                out[j, i] = fp[0]
            elif kv >= R:
                out[j, i] = fp[R - 1]
            else:
                z1, z2, z3 = z[3 * interp.index(i) : 3 * interp.index(i) + 3]
                a, b = float(fp[kv - 1]), float(fp[kv])
                out[j, i] = a + (z1 - z2) / (z3 - z2) * (b - a)
    if extreme:
        warnings.warn(
            f"extreme order statistics used as interval endpoints{_which(labels, extreme)}: "
            "increase n_boot (the interval is as wide as the replicates allow, as in R's boot)",
            BootstrapWarning,
            stacklevel=3,
        )
    return out


def _which(labels, idx) -> str:
    if labels is None:
        return ""
    return " for " + ", ".join(str(labels[i]) for i in idx)


def _finite(t: np.ndarray, labels, finite: np.ndarray | None = None) -> np.ndarray:
    """``isfinite(t)`` (or the given ``finite``), warning when replicates are left out."""
    if finite is None:
        finite = np.isfinite(t)
    dropped = t.shape[0] - finite.sum(axis=0)
    if (dropped > 0).any():
        parts = [
            f"{dropped[i]} of {t.shape[0]}" + ("" if labels is None else f" ({labels[i]})")
            for i in np.flatnonzero(dropped)
        ]
        warnings.warn(
            "bootstrap replicates undefined (a resample with a constant variable) were "
            "left out, as R's boot.ci does: " + ", ".join(parts),
            BootstrapWarning,
            stacklevel=3,
        )
    return finite


def _levels(alpha: float) -> np.ndarray:
    conf = 1.0 - alpha
    # R: alpha <- (1 + c(-conf, conf))/2
    return (1.0 + np.array([-conf, conf])) / 2.0


def percentile_interval(replicates, alpha: float = 0.05, *, labels=None):
    """Percentile interval of bootstrap replicates, as R's ``boot.ci(type="perc")``.

    Parameters
    ----------
    replicates : array-like, shape (B,) or (B, k)
        Bootstrap replicates (one column per statistic).  Non-finite values are
        left out (with a :class:`BootstrapWarning`).
    alpha : float, default 0.05
        One minus the confidence level.
    labels : sequence, optional
        Names of the columns, used in warnings.

    Returns
    -------
    low, high : float or ndarray of shape (k,)
        Bounds; NaN where no replicate is finite.

    Notes
    -----
    With ``R`` finite replicates, the bound at level ``p`` is the order
    statistic ``(R + 1) p`` when that is an integer; otherwise the two
    neighbouring order statistics are interpolated on the normal quantile
    scale (``boot:::norm.inter``).

    Examples
    --------
    >>> low, high = percentile_interval(np.arange(1, 1000) / 1000)
    >>> round(low, 10), round(high, 10)
    (0.025, 0.975)
    """
    alpha = check_alpha(alpha)
    t, single = _as_2d(replicates)
    finite = _finite(t, labels)
    n_finite = finite.sum(axis=0)
    if (n_finite == 0).any():
        warnings.warn(
            "no finite bootstrap replicate" + _which(labels, np.flatnonzero(n_finite == 0))
            + ": interval is NaN",
            BootstrapWarning,
            stacklevel=2,
        )
    lev = np.broadcast_to(_levels(alpha), (t.shape[1], 2))
    q = _norm_inter(t, finite, lev, labels)
    if single:
        return float(q[0, 0]), float(q[0, 1])
    return q[:, 0], q[:, 1]


def bca_interval(replicates, estimate, jackknife, alpha: float = 0.05, *, labels=None):
    """Bias-corrected and accelerated (BCa) interval, as R's ``boot.ci(type="bca")``.

    Parameters
    ----------
    replicates : array-like, shape (B,) or (B, k)
        Bootstrap replicates; non-finite ones are left out (with a warning).
    estimate : float or array-like, shape (k,)
        The estimate on the original data (``t0``).
    jackknife : array-like, shape (g,) or (g, k)
        Leave-one-unit-out (or leave-one-cluster-out) estimates ``t_(-i)``.
    alpha : float, default 0.05
        One minus the confidence level.
    labels : sequence, optional
        Names of the columns, used in warnings.

    Returns
    -------
    low, high : float or ndarray of shape (k,)
        Bounds; NaN (with a :class:`BootstrapWarning`) where BCa is undefined.

    Notes
    -----
    ``z0 = Phi^-1(#{t* < t0} / R)`` over the ``R`` finite replicates, where
    replicates within ``1e-10`` of ``t0`` count as equal to it; the
    acceleration is ``a = sum(L^3) / (6 (sum L^2)^1.5)`` with jackknife
    influence values ``L_i = (g - 1)(t0 - t_(-i))`` (R's ``empinf(type="jack")``;
    Efron's version centres on the mean of the ``t_(-i)`` instead of ``t0``).
    The bounds are the percentile bounds at levels
    ``Phi(z0 + (z0 + z) / (1 - a (z0 + z)))`` for ``z = Phi^-1(alpha/2)`` and
    ``Phi^-1(1 - alpha/2)``.  Undefined - NaN bounds and a warning - when
    ``z0`` is infinite (no replicate below, or none above, the estimate),
    when a jackknife estimate is undefined, when ``sum L^2 = 0``, or with
    fewer than 3 units.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = rng.normal(0.5, 0.1, size=999)
    >>> jack = 0.5 + rng.normal(0, 0.01, size=20)
    >>> low, high = bca_interval(t, 0.5, jack)
    >>> bool(0.25 < low < 0.35 and 0.65 < high < 0.75)
    True
    """
    alpha = check_alpha(alpha)
    t, single = _as_2d(replicates)
    k = t.shape[1]
    t0 = np.broadcast_to(np.asarray(estimate, dtype=np.float64), (k,))
    jack = np.asarray(jackknife, dtype=np.float64)
    if jack.ndim == 1:
        jack = jack[:, None]
    if jack.shape[1] != k:
        raise ValueError(f"jackknife has {jack.shape[1]} columns, replicates {k}")
    low = np.full(k, np.nan)
    high = np.full(k, np.nan)
    reasons: dict[str, list[int]] = {}

    g = jack.shape[0]
    if g < 3:
        reasons.setdefault(f"fewer than 3 units ({g})", []).extend(range(k))
        ok = np.zeros(k, dtype=bool)
    else:
        ok = np.isfinite(t0)
        for i in np.flatnonzero(~ok):
            reasons.setdefault("estimate undefined", []).append(i)

    finite = np.isfinite(t)
    n_fin = finite.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # t < t0 and |t - t0| >= tol  <=>  t0 - t >= tol (t - t0 == -(t0 - t) exactly)
        below = np.subtract(t0, t) >= TIE_TOLERANCE
        if not (n_fin == t.shape[0]).all():
            below &= finite
        less = np.count_nonzero(below, axis=0)
        z0 = special.ndtri(less / n_fin)
        L = (g - 1) * (t0[None, :] - jack)
        s2 = (L**2).sum(axis=0)
        a = (L**3).sum(axis=0) / (6 * s2**1.5)
    for i in np.flatnonzero(ok):
        if n_fin[i] == 0:
            reasons.setdefault("no finite replicate", []).append(i)
        elif not np.isfinite(z0[i]):
            side = "below" if less[i] == 0 else "above"
            reasons.setdefault(
                f"no replicate {side} the estimate (bias correction infinite)", []
            ).append(i)
        elif not np.isfinite(jack[:, i]).all():
            reasons.setdefault(
                "a leave-one-out estimate is undefined (acceleration undefined)", []
            ).append(i)
        elif not np.isfinite(a[i]):
            reasons.setdefault(
                "all leave-one-out estimates equal the estimate (acceleration undefined)", []
            ).append(i)
    is_good = np.ones(k, dtype=bool)
    is_good[[i for idx in reasons.values() for i in idx]] = False
    good = np.flatnonzero(is_good)
    if good.size:
        z = special.ndtri(_levels(alpha))[None, :]
        zz = z0[good, None] + z
        adj = special.ndtr(z0[good, None] + zz / (1 - a[good, None] * zz))
        glabels = None if labels is None else [labels[i] for i in good]
        tg, fg = (t, finite) if good.size == k else (t[:, good], finite[:, good])
        q = _norm_inter(tg, _finite(tg, glabels, fg), adj, glabels)
        low[good], high[good] = q[:, 0], q[:, 1]
    for reason, idx in reasons.items():
        warnings.warn(
            f"BCa interval undefined{_which(labels, idx)}: {reason}; the interval is NaN "
            "(use ci='percentile' or more units)",
            BootstrapWarning,
            stacklevel=2,
        )
    if single:
        return float(low[0]), float(high[0])
    return low, high


def bootstrap_interval(
    replicates, estimate, jackknife=None, *, ci: str = "bca", alpha: float = 0.05, labels=None
):
    """Percentile or BCa interval (dispatch on ``ci``), NaN bounds for ``ci="none"``.

    Examples
    --------
    >>> low, high = bootstrap_interval(np.arange(1, 1000) / 1000, 0.5, ci="percentile")
    >>> round(low, 10), round(high, 10)
    (0.025, 0.975)
    """
    _check_choice("ci", ci, CI_METHODS)
    if ci == "percentile":
        return percentile_interval(replicates, alpha, labels=labels)
    if ci == "bca":
        if jackknife is None:
            raise ValueError("ci='bca' needs the jackknife estimates (jackknife=...)")
        return bca_interval(replicates, estimate, jackknife, alpha, labels=labels)
    t, single = _as_2d(replicates)
    nan = np.full(t.shape[1], np.nan)
    return (np.nan, np.nan) if single else (nan, nan.copy())
