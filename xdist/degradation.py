"""Degradation: how much a target language loses against the source language.

For every group of the results table (one experiment: model, setting,
intermediate task, target task, source language, metric, seed, run), with
``s`` the source-language score and ``t`` a target-language score:

``degradation``           ``s - t``, in score points (positive = worse than the source)
``degradation_relative``  ``(s - t) / s``, a fraction of the source score

The source-language row itself is not a target and is left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xdist.results import EXCLUDED_FLAGS, GROUP_COLUMNS, PIVOT_TASKS, ResultsError, _group_ids

__all__ = ["DEGRADATION_COLUMNS", "degradation"]

#: Columns added by :func:`degradation`.
DEGRADATION_COLUMNS = ["source_score", "degradation", "degradation_relative"]


def degradation(results: pd.DataFrame, *, exclude_flags=EXCLUDED_FLAGS) -> pd.DataFrame:
    """Absolute and relative degradation of every target language.

    Parameters
    ----------
    results : pandas.DataFrame
        A validated results table (:func:`xdist.results.read_results`).
    exclude_flags : iterable of str
        Rows with these flags are left out before computing (by default the
        ``superseded`` and ``duplicate`` copies).  Pass ``()`` to keep all.

    Returns
    -------
    pandas.DataFrame
        One row per target-language score: the results columns plus
        ``source_score``, ``degradation`` and ``degradation_relative``.

    Examples
    --------
    >>> import pandas as pd
    >>> from xdist.results import validate_results
    >>> from xdist.degradation import degradation
    >>> res = validate_results(pd.DataFrame({
    ...     "model": "m", "setting": "zero-shot", "intermediate_task": "",
    ...     "target_task": "XNLI", "language": ["en", "de", "sw"], "metric": "accuracy",
    ...     "score": [80.0, 72.0, 60.0], "seed": "", "source": "example"}))
    >>> degradation(res)[["language", "degradation", "degradation_relative"]].values.tolist()
    [['de', 8.0, 0.1], ['sw', 20.0, 0.25]]
    """
    missing = [c for c in GROUP_COLUMNS + ["language", "score", "flag"] if c not in results]
    if missing:
        raise ResultsError(
            f"results: missing column(s) {missing}; pass a table from xdist.results.read_results"
        )
    df = results
    if exclude_flags:
        df = df[~df["flag"].isin(list(exclude_flags))]
    pivot = df["target_task"].isin(PIVOT_TASKS)
    if pivot.any():
        from xdist.caveats import caveat

        caveat(
            f"{sorted(df.loc[pivot, 'target_task'].unique())} left out of degradation: retrieval "
            "tasks are scored against the English side and have no English score of their own; "
            "analyse their scores directly"
        )
        df = df[~pivot]
    keys = pd.Series(_group_ids(df, GROUP_COLUMNS), index=df.index)
    is_src = (df["language"] == df["source_language"]).to_numpy()
    src = pd.Series(df["score"].to_numpy()[is_src], index=keys.to_numpy()[is_src])
    if src.index.has_duplicates:  # pragma: no cover - prevented by key validation
        raise ResultsError("results: a group has more than one source-language row")
    tgt = df.loc[~is_src].copy()
    tgt_keys = keys.to_numpy()[~is_src]
    source_score = src.reindex(tgt_keys).to_numpy()
    if np.isnan(source_score).any():
        row = tgt.iloc[int(np.flatnonzero(np.isnan(source_score))[0])]
        raise ResultsError(
            f"results: the group of row {row.get('origin', '?')} (model={row['model']!r}, "
            f"target_task={row['target_task']!r}, metric={row['metric']!r}) has no usable "
            f"source-language ({row['source_language']!r}) row"
            + (f" after excluding flags {list(exclude_flags)}" if exclude_flags else "")
        )
    tgt["source_score"] = source_score
    tgt["degradation"] = source_score - tgt["score"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        tgt["degradation_relative"] = np.where(
            source_score > 0, tgt["degradation"].to_numpy() / source_score, np.nan
        )
    return tgt.reset_index(drop=True)
