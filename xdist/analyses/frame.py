"""The analysis table: degradation joined with distances and language facts.

:func:`analysis_frame` turns a results table into one row per (experiment,
target language), averaged over seeds, with every covariate the analyses use
under fixed names:

``task, model, setting, intermediate_task, metric, source_language, run``
    the experiment (``task`` is the results table's ``target_task``)
``language``
    the target language (canonical code)
``score, source_score, degradation, degradation_relative``
    means over seeds (see :mod:`xdist.degradation`); ``n_seeds`` counts them
``syntactic, phonological, inventory, featural, geographic, genetic``
    URIEL distance from ``source_language`` to ``language``
    (:mod:`xdist.distances`); ``distance_codes`` says which code mode;
    ``imputed_distances`` lists the kinds where a language (or the source)
    has no URIEL data.  Those distances are missing (NaN) unless
    ``impute_distances=True``, which uses lang2vec's published default
    vector (what published analyses did, silently)
``family, genus, script``
    from the languages table
``log_size``
    ``log10(1 + XLM-R CC-100 pretraining tokens in millions)``: 0 for
    languages not in CC-100.  The same proxy is used for every model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xdist._checks import check_choice
from xdist.caveats import caveat
from xdist.degradation import degradation
from xdist.distances import DISTANCE_KINDS, distances as _distances
from xdist.languages import load_languages
from xdist.results import EXCLUDED_FLAGS, ResultsError

__all__ = ["EXPERIMENT_COLUMNS", "analysis_frame", "check_choice"]

#: Columns identifying one experiment in the analysis table (seed averaged out).
EXPERIMENT_COLUMNS = [
    "task",
    "model",
    "setting",
    "intermediate_task",
    "metric",
    "source_language",
    "run",
]


def _filter(df: pd.DataFrame, col: str, values, param: str, what: str) -> pd.DataFrame:
    if values is None:
        return df
    check_choice(param, values, sorted(df[col].unique()), what=what)
    values = [values] if isinstance(values, str) else list(values)
    return df[df[col].isin(values)]


def analysis_frame(
    results: pd.DataFrame,
    *,
    tasks=None,
    models=None,
    metrics=None,
    settings=None,
    source_languages=("en",),
    kinds=DISTANCE_KINDS,
    codes: str = "individual",
    exclude_flags=EXCLUDED_FLAGS,
    impute_distances: bool | None = None,
) -> pd.DataFrame:
    """Join degradation, distances and language facts, one row per language.

    Parameters
    ----------
    results : pandas.DataFrame
        A validated results table (:func:`xdist.results.read_results`).
    tasks, models, metrics, settings : list of str, optional
        Keep only these target tasks, models, metrics, settings (default: all).
    source_languages : list of str or None
        Keep only experiments fine-tuned on these languages (default English;
        ``None`` keeps all).
    kinds : list of str
        Distance kinds to join (default all six).
    codes : {"individual", "lang2vec"}
        Language-code mode of the distances (see :mod:`xdist.distances`).
    exclude_flags : iterable of str
        Flags whose rows are excluded (default ``superseded``, ``duplicate``).
    impute_distances : bool or None
        For languages without URIEL data in a kind, use lang2vec's default
        vector (as the published distances do) instead of a missing value.
        ``None`` (default): ``True`` with ``codes="lang2vec"`` (the published
        values, quirks included), ``False`` with individual codes.

    Returns
    -------
    pandas.DataFrame
        Columns described in the module docstring.

    Examples
    --------
    >>> from xdist.results import load_shipped_results
    >>> from xdist.analyses import analysis_frame
    >>> fr = analysis_frame(load_shipped_results(), tasks=["UD-POS"])
    >>> fr["language"].nunique(), fr["distance_codes"].unique().tolist()
    (104, ['individual'])
    """
    from xdist.languages import resolve_codes

    df = results.rename(columns={"target_task": "task"})
    df = _filter(df, "task", tasks, "task", "task")
    df = _filter(df, "model", models, "model", "model")
    df = _filter(df, "metric", metrics, "metric", "metric")
    df = _filter(df, "setting", settings, "setting", "setting")
    if source_languages is not None:
        src = resolve_codes(
            [source_languages] if isinstance(source_languages, str) else source_languages,
            param="source_language",
        )
        df = df[df["source_language"].isin(list(src))]
    if df.empty:
        raise ResultsError(
            "no results left after filtering by task/model/metric/source language; "
            "check the filters against the results table"
        )
    kinds = check_choice("distance", kinds, DISTANCE_KINDS, what="distance kind")
    if impute_distances is None:
        impute_distances = codes == "lang2vec"

    if exclude_flags:
        dropped = df[df["flag"].isin(list(exclude_flags))]
        if len(dropped):
            caveat(
                f"{len(dropped)} row(s) flagged {sorted(dropped['flag'].unique())} excluded "
                f"(e.g. {dropped['origin'].iloc[0]}); pass exclude_flags=() (--include-flagged) to keep them"
            )
    kept = df[df["flag"].ne("") & ~df["flag"].isin(list(exclude_flags or ()))]
    for flag, part in kept.groupby("flag"):
        langs = ", ".join(
            f"{r.model}/{r.task}/{r.language}" for r in part.head(4).itertuples()
        )
        caveat(
            f"{len(part)} analysed row(s) flagged {flag!r} in their source ({langs}"
            f"{', ...' if len(part) > 4 else ''}): see the 'note' column"
        )

    deg = degradation(df.rename(columns={"task": "target_task"}), exclude_flags=exclude_flags)
    deg = deg.rename(columns={"target_task": "task"})
    exp_cols = EXPERIMENT_COLUMNS
    agg = (
        deg.groupby(exp_cols + ["language"], sort=False, dropna=False)
        .agg(
            score=("score", "mean"),
            source_score=("source_score", "mean"),
            degradation=("degradation", "mean"),
            degradation_relative=("degradation_relative", "mean"),
            n_seeds=("score", "size"),
        )
        .reset_index()
    )

    # distances: one vectorized call per source language
    parts = []
    for src_lang, sub in agg.groupby("source_language", sort=False):
        d = _distances(sorted(sub["language"].unique()), source=src_lang, kinds=kinds, codes=codes)
        parts.append(d)
    dist = pd.concat(parts, ignore_index=True)
    wide = dist.pivot_table(
        index=["source", "target"], columns="kind", values="distance", aggfunc="first"
    )
    wide = wide.reindex(columns=kinds).reset_index()
    wide.columns.name = None
    if "imputed" in dist:
        imp = (
            dist[dist["imputed"]]
            .groupby(["source", "target"])["kind"]
            .agg(lambda s: ",".join(sorted(s)))
            .rename("imputed_distances")
            .reset_index()
        )
        wide = wide.merge(imp, on=["source", "target"], how="left")
        wide["imputed_distances"] = wide["imputed_distances"].fillna("")
    else:  # pragma: no cover
        wide["imputed_distances"] = ""
    wide = wide.rename(columns={"source": "source_language", "target": "language"})
    out = agg.merge(wide, on=["source_language", "language"], how="left", validate="m:1")
    out["distance_codes"] = codes
    imputed = out.loc[out["imputed_distances"] != "", ["language", "imputed_distances"]]
    if len(imputed):
        langs = imputed.drop_duplicates("language")
        listing = ", ".join(
            f"{r.language} ({r.imputed_distances})" for r in langs.head(8).itertuples()
        ) + (", ..." if len(langs) > 8 else "")
        if impute_distances:
            caveat(
                f"{len(langs)} language(s) have no URIEL data for some distance kinds and use "
                f"lang2vec's published default vector there: {listing}"
            )
        else:
            for kind in kinds:
                miss = out["imputed_distances"].str.split(",").apply(lambda ks: kind in ks)
                out.loc[miss, kind] = np.nan
            caveat(
                f"{len(langs)} language(s) have no URIEL data for some distance kinds and are "
                f"left out of those: {listing}; impute_distances=True (--impute-distances) uses "
                "lang2vec's published default vector instead"
            )

    langs = load_languages().set_index("code")
    info = langs.reindex(out["language"])
    out["family"] = info["family"].to_numpy()
    out["genus"] = info["genus"].to_numpy()
    out["script"] = info["script"].to_numpy()
    tokens = info["xlmr_tokens_m"].to_numpy(dtype=float)
    out["log_size"] = np.log10(1.0 + np.nan_to_num(tokens, nan=0.0))
    return out
