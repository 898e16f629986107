"""Argument checks shared by the analysis and statistics modules.

Every check raises a one-line :class:`ValueError` that names the parameter,
the bad value and what would be accepted (with "did you mean" for names).
"""

from __future__ import annotations

import difflib
import hashlib
from numbers import Integral

import numpy as np

__all__ = ["check_choice", "check_int", "check_alpha", "group_seed"]


def check_choice(param: str, values, allowed, *, what: str = "value") -> list:
    """Validate one choice or a list of choices; return them as a list.

    ``None`` means all of ``allowed``.

    Examples
    --------
    >>> from xdist._checks import check_choice
    >>> check_choice("method", "spearman", ["pearson", "spearman"])
    ['spearman']
    >>> check_choice("method", "spearmann", ["pearson", "spearman"], what="method")
    Traceback (most recent call last):
    ...
    ValueError: method='spearmann' is not a known method: expected one of ['pearson', 'spearman']; did you mean 'spearman'?
    """
    if values is None:
        return list(allowed)
    if isinstance(values, str):
        values = [values]
    values = list(values)
    allowed = list(allowed)
    for v in values:
        if v not in allowed:
            close = difflib.get_close_matches(str(v), [str(a) for a in allowed], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            shown = allowed if len(allowed) <= 40 else allowed[:40] + ["..."]
            raise ValueError(f"{param}={v!r} is not a known {what}: expected one of {shown}{hint}")
    return values


def check_int(param: str, value, minimum: int) -> int:
    """An integer (not a bool) of at least ``minimum``.

    Examples
    --------
    >>> from xdist._checks import check_int
    >>> check_int("n_boot", 1000, 1)
    1000
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{param}={value!r} is not valid: expected an integer >= {minimum}")
    return int(value)


def check_alpha(alpha) -> float:
    """A level strictly between 0 and 1 (0.05 gives 95% intervals)."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        a = np.nan
    if not 0 < a < 1:
        raise ValueError(
            f"alpha={alpha!r} is not valid: expected a number strictly between 0 and 1 "
            "(0.05 gives 95% intervals)"
        )
    return a


def group_seed(seed: int, key) -> np.random.SeedSequence:
    """A seed per group from ``seed`` and the group's values.

    A group's random stream does not depend on which other groups are analysed
    or on their order.
    """
    h = hashlib.blake2b("\x1f".join(map(str, key)).encode(), digest_size=8)
    return np.random.SeedSequence([seed, int.from_bytes(h.digest(), "little")])
