"""Multiple-comparison adjustment of p-values (Holm, Benjamini-Hochberg).

Matches R's ``p.adjust`` (checked against it in the tests): missing p-values
stay missing and do not count towards the number of tests.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ADJUST_METHODS", "adjust_pvalues"]

#: Accepted values of ``method`` (R's names in brackets): ``"holm"`` (holm),
#: ``"fdr_bh"`` (BH), ``"bonferroni"`` (bonferroni), ``"none"`` (none).
ADJUST_METHODS = ("holm", "fdr_bh", "bonferroni", "none")


def adjust_pvalues(p, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons across all of ``p``.

    Parameters
    ----------
    p : array-like of float
        p-values, any shape; NaN marks a test that was not done and is left
        out (it stays NaN and does not count in the number of tests ``m``).
    method : {"holm", "fdr_bh", "bonferroni", "none"}
        ``"holm"``: Holm's step-down family-wise error control,
        ``p~(i) = max_{j<=i} min(1, (m - j + 1) p(j))`` over the sorted
        p-values.  ``"fdr_bh"``: Benjamini-Hochberg false discovery rate,
        ``p~(i) = min_{j>=i} min(1, m p(j) / j)``.  ``"bonferroni"``:
        ``min(1, m p)``.  ``"none"``: unchanged.

    Returns
    -------
    ndarray of float
        Adjusted p-values, same shape as ``p``.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, np.nan, 0.03], method="holm").tolist()
    [0.03, 0.06, nan, 0.06]
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="fdr_bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    if not isinstance(method, str) or method not in ADJUST_METHODS:
        raise ValueError(
            f"method={method!r} is not accepted: use one of "
            + ", ".join(repr(m) for m in ADJUST_METHODS)
        )
    arr = np.asarray(p, dtype=np.float64)
    out = arr.copy()
    flat = arr.ravel()
    ok = ~np.isnan(flat)
    if ((flat[ok] < 0) | (flat[ok] > 1)).any():
        bad = flat[ok][(flat[ok] < 0) | (flat[ok] > 1)]
        raise ValueError(f"p contains values outside [0, 1]: {bad[:5].tolist()}")
    if method == "none" or not ok.any():
        return out
    q = flat[ok]
    m = q.size
    if method == "bonferroni":
        adj = np.minimum(1.0, m * q)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        steps = (m - np.arange(m)) * q[order]
        adj_sorted = np.minimum(1.0, np.maximum.accumulate(steps))
        adj = np.empty(m)
        adj[order] = adj_sorted
    else:  # fdr_bh
        order = np.argsort(q, kind="stable")[::-1]
        steps = m / np.arange(m, 0, -1) * q[order]
        adj_sorted = np.minimum(1.0, np.minimum.accumulate(steps))
        adj = np.empty(m)
        adj[order] = adj_sorted
    res = out.ravel()
    res[ok] = adj
    return res.reshape(arr.shape)
