"""Typed warnings about the data an analysis ran on.

Analyses never drop or impute silently: whenever they exclude flagged rows,
analyse rows flagged as doubtful, use a default URIEL vector for a language
without data, or estimate from very few languages, they emit a
:class:`DataCaveatWarning` saying so.  The CLI prints these as ``note:`` lines
on standard error; :func:`collect_caveats` gathers them in Python.
"""

from __future__ import annotations

import contextlib
import warnings

__all__ = ["DataCaveatWarning", "caveat", "collect_caveats"]


class DataCaveatWarning(UserWarning):
    """Something about the analysed data a reader of the result should know."""


def caveat(message: str) -> None:
    """Emit a :class:`DataCaveatWarning`."""
    warnings.warn(message, DataCaveatWarning, stacklevel=3)


@contextlib.contextmanager
def collect_caveats():
    """Collect :class:`DataCaveatWarning` messages raised inside the block.

    Examples
    --------
    >>> from xdist.caveats import caveat, collect_caveats
    >>> with collect_caveats() as notes:
    ...     caveat("3 rows excluded")
    >>> notes
    ['3 rows excluded']
    """
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataCaveatWarning)
        yield notes
    for w in caught:
        if issubclass(w.category, DataCaveatWarning):
            notes.append(str(w.message))
        else:  # pass everything else on unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    # de-duplicate, keep order
    notes[:] = list(dict.fromkeys(notes))
