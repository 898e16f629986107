"""Intermediate-task training: gains over no intermediate training, and the distance slope.

Intermediate-task training (Phang et al. 2020, "X-STILTs") fine-tunes the
pretrained model on an English task (MNLI, SQuAD, ...) before the target task.
Two questions, each a function:

:func:`intermediate_gains`
    How much does each intermediate task add?  ``gain = score(with I) -
    score(without)`` per target task and language, for the same model,
    setting, target task, metric and source language; then the mean gain over
    the target languages with a bootstrap interval that resamples languages
    (or whole families).
:func:`intermediate_slope`
    Does intermediate training change how degradation grows with distance?
    A linear mixed model per experiment::

        degradation ~ distance * intermediate + log_size + (1 | language)

    with ``intermediate`` a factor whose reference level is no intermediate
    training (``"none"``): the ``distance:MNLI`` term is the change of the
    distance slope under MNLI.  When the fit is singular (the language
    variance collapses) or fails, the same fixed part is fitted by OLS with
    standard errors clustered by language (t with G-1 degrees of freedom),
    and a caveat says so.

Matching rules
--------------
Rows are matched on ``(target task, model, setting, metric, source language,
language)``.  ``run`` labels are not matched (an intermediate-task table and
its baseline are often printed by different sources); when one side has
several runs for a key they are averaged, with a caveat.  Seeds are paired
where both sides have the same seed (the gain is the mean of the per-seed
differences over the shared seeds); otherwise the gain is the difference of
the seed means.

The shipped per-language results contain no intermediate-task rows (X-STILTs
is published only as task averages, ``data/results/published_task_averages.csv``):
both functions need your own results with a non-empty ``intermediate_task``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from xdist._checks import check_alpha, check_choice, check_int, group_seed
from xdist.analyses.frame import _filter, analysis_frame
from xdist.caveats import DataCaveatWarning, caveat
from xdist.distances import DISTANCE_KINDS
from xdist.results import EXCLUDED_FLAGS, REQUIRED_COLUMNS

__all__ = ["GAIN_COLUMNS", "SLOPE_COLUMNS", "intermediate_gains", "intermediate_slope"]

#: Columns of :func:`intermediate_gains`' result, in order.
GAIN_COLUMNS = [
    "task",
    "model",
    "setting",
    "intermediate_task",
    "baseline",
    "metric",
    "source_language",
    "level",
    "language",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "n",
    "method",
    "score",
    "baseline_score",
    "n_seeds_with",
    "n_seeds_without",
    "paired",
    "ci_method",
    "n_boot",
    "resample_unit",
    "n_clusters",
    "runs",
]

#: Columns of :func:`intermediate_slope`' result, in order.
SLOPE_COLUMNS = [
    "task",
    "model",
    "setting",
    "metric",
    "source_language",
    "term",
    "quantity",
    "intermediate_task",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "n_languages",
    "method",
    "model_type",
    "distance",
    "outcome",
]

#: Columns matched between a score with and without intermediate training.
MATCH_COLUMNS = ["target_task", "model", "setting", "metric", "source_language", "language"]
#: Columns of one experiment in the slope model (intermediate task and run pooled).
SLOPE_GROUP = ["task", "model", "setting", "metric", "source_language"]

CI_METHODS = ("bca", "percentile")
CLUSTERS = ("language", "family")
OUTCOMES = ("degradation", "degradation_relative")
COVARIATES = ("log_size",)
#: Fewer target languages than this in a fit gives a caveat.
FEW_LANGUAGES = 10


# --------------------------------------------------------------------------- helpers


def _check_results(results, param: str = "results") -> None:
    if not isinstance(results, pd.DataFrame):
        raise ValueError(
            f"{param}: expected a results DataFrame (xdist.results.read_results), "
            f"got {type(results).__name__}"
        )
    missing = [c for c in REQUIRED_COLUMNS + ["source_language", "flag"] if c not in results]
    if missing:
        raise ValueError(
            f"{param}: missing column(s) {missing}; pass a table from "
            "xdist.results.read_results or validate_results"
        )


def _flags(df: pd.DataFrame, exclude_flags) -> pd.DataFrame:
    """Drop excluded flags and emit caveats for dropped and kept flagged rows."""
    exclude = list(exclude_flags or ())
    dropped = df[df["flag"].isin(exclude)]
    if len(dropped):
        caveat(
            f"{len(dropped)} row(s) flagged {sorted(dropped['flag'].unique())} excluded; "
            "pass exclude_flags=() (--include-flagged) to keep them"
        )
    df = df[~df["flag"].isin(exclude)]
    kept = df[df["flag"] != ""]
    for flag, part in kept.groupby("flag"):
        where = ", ".join(
            f"{r.model}/{r.target_task}/{r.language}" for r in part.head(4).itertuples()
        )
        caveat(
            f"{len(part)} analysed row(s) flagged {flag!r} in their source ({where}"
            f"{', ...' if len(part) > 4 else ''}): see the 'note' column"
        )
    return df


def _select_intermediates(df: pd.DataFrame, baseline: str, intermediate_tasks) -> list[str]:
    present = sorted(df["intermediate_task"].unique())
    others = [t for t in present if t != baseline]
    if not others:
        raise ValueError(
            f"no rows with intermediate_task != {baseline!r} in results: this analysis needs "
            "scores with and without intermediate-task training of the same model, setting, "
            "target task and metric (the shipped per-language results have none; X-STILTs is "
            "published only as task averages)"
        )
    if baseline not in present:
        raise ValueError(
            f"baseline={baseline!r}: no rows with intermediate_task == {baseline!r} (the "
            f"scores without intermediate training); intermediate tasks present are {present}"
        )
    if intermediate_tasks is None:
        return others
    chosen = check_choice("intermediate_tasks", intermediate_tasks, others,
                          what="intermediate task")
    return list(dict.fromkeys(chosen))


def _relay(caught) -> None:
    """Re-emit caught warnings: caveats as they are, others as caveats (deduplicated)."""
    seen = set()
    for w in caught:
        msg = str(w.message)
        if msg in seen:
            continue
        seen.add(msg)
        if issubclass(w.category, DataCaveatWarning):
            caveat(msg)
        else:
            caveat(f"{w.category.__name__}: {msg}")


# --------------------------------------------------------------------------- gains


def intermediate_gains(
    results: pd.DataFrame,
    *,
    baseline: str = "",
    intermediate_tasks=None,
    tasks=None,
    models=None,
    metrics=None,
    source_languages=("en",),
    include_source: bool = False,
    cluster: str = "language",
    ci: str = "bca",
    n_boot: int = 10_000,
    alpha: float = 0.05,
    exclude_flags=EXCLUDED_FLAGS,
    seed: int = 0,
) -> pd.DataFrame:
    """Gain of each intermediate task over no intermediate training.

    Per (target task, model, setting, metric, source language, intermediate
    task): one row per evaluated language (``level == "language"``) with
    ``estimate = score(with I) - score(without)``, then one row
    (``level == "mean"``) with the mean gain over the target languages and a
    bootstrap interval that resamples languages (or whole families).

    Parameters
    ----------
    results : pandas.DataFrame
        A validated results table (:func:`xdist.results.read_results`) with
        rows with and without intermediate training.
    baseline : str
        The ``intermediate_task`` value of the reference scores (default
        ``""``: no intermediate training).
    intermediate_tasks : list of str, optional
        Intermediate tasks to compare with the baseline (default: all).
    tasks, models, metrics : list of str, optional
        Restrict to these target tasks, models, metrics.
    source_languages : list of str or None
        Fine-tuning languages to keep (default English; None keeps all).
    include_source : bool
        Include the source-language gain in the mean (default: target
        languages only; the source-language row is always reported).
    cluster : {"language", "family"}
        Bootstrap unit of the mean: languages, or whole language families.
    ci : {"bca", "percentile"}
        Bootstrap interval method.
    n_boot : int
        Bootstrap resamples (at least 100).
    alpha : float
        One minus the confidence level.
    exclude_flags : iterable of str
        Flagged rows to exclude (default ``superseded`` and ``duplicate``).
    seed : int
        Seed of the bootstrap; each group draws from its own stream derived
        from ``seed`` and the group's values.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GAIN_COLUMNS`.  ``n`` counts languages (1 on language
        rows).  Language rows: ``score``/``baseline_score`` are seed means
        (over the shared seeds when ``paired``), ``se`` the standard error of
        the paired differences or Welch's over unpaired seeds (NaN with
        fewer than 2 seeds a side), no interval.  Mean rows: ``se`` is the
        bootstrap standard deviation, ``ci_low``/``ci_high`` the ``ci_method``
        interval from ``n_boot`` resamples of ``n_clusters`` units.  ``runs``
        lists the run labels (``"with | without"`` on language rows; empty
        when the rows have none).

    Raises
    ------
    ValueError
        No rows with ``intermediate_task != baseline`` (or none equal to it),
        no matching scores, or an argument outside its accepted values.

    Examples
    --------
    >>> import pandas as pd
    >>> from xdist.results import validate_results
    >>> from xdist.analyses.intermediate import intermediate_gains
    >>> langs = ["en", "de", "fr", "es", "ru", "zh"]
    >>> base = [85.0, 78.0, 79.0, 80.0, 74.0, 72.0]
    >>> res = validate_results(pd.DataFrame({
    ...     "model": "m", "setting": "zero-shot", "target_task": "XNLI",
    ...     "metric": "accuracy", "seed": "", "source": "example",
    ...     "intermediate_task": [""] * 6 + ["MNLI"] * 6,
    ...     "language": langs * 2, "score": base + [s + 2 for s in base]}))
    >>> tab = intermediate_gains(res, n_boot=999, ci="percentile", seed=1)
    >>> tab.loc[tab.level == "mean", ["intermediate_task", "estimate", "n"]]
      intermediate_task  estimate  n
    6              MNLI       2.0  5
    """
    _check_results(results)
    if not isinstance(baseline, str):
        raise ValueError(f"baseline={baseline!r} is not valid: expected a string ('' = none)")
    check_choice("cluster", [cluster], CLUSTERS, what="resampling unit")
    check_choice("ci", [ci], CI_METHODS, what="interval method")
    n_boot = check_int("n_boot", n_boot, 100)
    seed = check_int("seed", seed, 0)
    alpha = check_alpha(alpha)

    df = results
    df = _filter(df, "target_task", tasks, "task", "task")
    df = _filter(df, "model", models, "model", "model")
    df = _filter(df, "metric", metrics, "metric", "metric")
    if source_languages is not None:
        from xdist.languages import resolve_codes

        src = [source_languages] if isinstance(source_languages, str) else source_languages
        df = df[df["source_language"].isin(list(resolve_codes(src, param="source_language")))]
    if df.empty:
        raise ValueError("no results left after filtering by task/model/metric/source language")
    inter = _select_intermediates(df, baseline, intermediate_tasks)
    df = _flags(df, exclude_flags)

    base = df[df["intermediate_task"] == baseline]
    treat = df[df["intermediate_task"].isin(inter)]
    gains = _language_gains(treat, base)
    gains["baseline"] = baseline
    if gains.empty:
        raise ValueError(
            "no intermediate-task score has a baseline score of the same target task, model, "
            "setting, metric, source language and language: nothing to compare"
        )
    means = _mean_gains(gains, include_source=include_source, cluster=cluster, ci=ci,
                        n_boot=n_boot, alpha=alpha, seed=seed)
    out = pd.concat([gains, means], ignore_index=True)
    out = out.rename(columns={"target_task": "task"})
    key = ["task", "model", "setting", "metric", "source_language", "intermediate_task"]
    out["_mean"] = out["level"] == "mean"
    out = out.sort_values(key + ["_mean"], kind="stable").drop(columns="_mean")
    return out[GAIN_COLUMNS].reset_index(drop=True)


def _side(part: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Seed means, sds and counts of one side, with its run labels."""
    agg = part.groupby(by, sort=False, dropna=False).agg(
        score=("score", "mean"),
        sd=("score", "std"),
        n_seeds=("score", "size"),
        runs=("run", lambda s: ",".join(sorted(set(s)))),
        n_runs=("run", "nunique"),
    )
    return agg.reset_index()


def _language_gains(treat: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    keyt = MATCH_COLUMNS + ["intermediate_task"]
    t = _side(treat, keyt)
    b = _side(base, MATCH_COLUMNS).rename(
        columns={"score": "baseline_score", "sd": "sd_b", "n_seeds": "n_seeds_without",
                 "runs": "runs_b", "n_runs": "n_runs_b"}
    )
    t = t.rename(columns={"n_seeds": "n_seeds_with"})
    out = t.merge(b, on=MATCH_COLUMNS, how="left")

    missing = out["baseline_score"].isna()
    if missing.any():
        miss = out[missing]
        listing = ", ".join(
            f"{r.model}/{r.target_task}/{r.intermediate_task}/{r.language}"
            for r in miss.head(4).itertuples()
        )
        caveat(
            f"{int(missing.sum())} intermediate-task score(s) have no baseline score of the same "
            f"target task, model, setting, metric and language and are left out ({listing}"
            f"{', ...' if len(miss) > 4 else ''})"
        )
        out = out[~missing]
    multi = out[(out["n_runs"] > 1) | (out["n_runs_b"] > 1)]
    if len(multi):
        caveat(
            f"{len(multi)} language score(s) average several published runs on one side "
            f"(e.g. {multi.iloc[0]['model']}/{multi.iloc[0]['target_task']}: runs "
            f"{multi.iloc[0]['runs']!r} vs {multi.iloc[0]['runs_b']!r})"
        )

    # seed pairing
    ts = treat[treat["seed"].notna()]
    bs = base[base["seed"].notna()]
    pairs = ts.merge(bs[MATCH_COLUMNS + ["seed", "score"]], on=MATCH_COLUMNS + ["seed"],
                     suffixes=("", "_base"))
    if len(pairs):
        pairs["d"] = pairs["score"] - pairs["score_base"]
        pagg = pairs.groupby(keyt, sort=False).agg(
            p_score=("score", "mean"), p_base=("score_base", "mean"), p_sd=("d", "std"),
            n_pairs=("d", "size"),
        ).reset_index()
        out = out.merge(pagg, on=keyt, how="left")
    else:
        out = out.assign(p_score=np.nan, p_base=np.nan, p_sd=np.nan, n_pairs=np.nan)
    paired = out["n_pairs"].fillna(0).to_numpy() >= 1
    score = np.where(paired, out["p_score"], out["score"]).astype(float)
    bscore = np.where(paired, out["p_base"], out["baseline_score"]).astype(float)
    nw = out["n_seeds_with"].to_numpy(dtype=float)
    nb = out["n_seeds_without"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se_paired = out["p_sd"].to_numpy(dtype=float) / np.sqrt(out["n_pairs"].to_numpy(float))
        sd_w = out["sd"].to_numpy(float)
        sd_b = out["sd_b"].to_numpy(float)
        se_welch = np.sqrt(sd_w**2 / nw + sd_b**2 / nb)
    se_welch = np.where((nw >= 2) & (nb >= 2), se_welch, np.nan)
    n_pairs = out["n_pairs"].fillna(0).to_numpy()
    res = out[keyt].copy()
    res["level"] = "language"
    res["estimate"] = score - bscore
    res["se"] = np.where(paired, np.where(n_pairs >= 2, se_paired, np.nan), se_welch)
    res["ci_low"] = np.nan
    res["ci_high"] = np.nan
    res["n"] = 1
    res["method"] = np.where(paired, "paired difference over shared seeds",
                             "difference of seed means")
    res["score"] = score
    res["baseline_score"] = bscore
    res["n_seeds_with"] = np.where(paired, n_pairs, nw).astype(int)
    res["n_seeds_without"] = np.where(paired, n_pairs, nb).astype(int)
    res["paired"] = paired
    res["ci_method"] = ""
    res["n_boot"] = 0
    res["resample_unit"] = ""
    res["n_clusters"] = np.nan
    res["runs"] = [f"{a} | {b}" if (a or b) else "" for a, b in zip(out["runs"], out["runs_b"])]
    return res.reset_index(drop=True)


def _mean_gains(gains: pd.DataFrame, *, include_source: bool, cluster: str, ci: str,
                n_boot: int, alpha: float, seed: int) -> pd.DataFrame:
    from xdist.languages import load_languages
    from xdist.stats.bootstrap import ResamplePlan, bootstrap_interval

    key = ["target_task", "model", "setting", "metric", "source_language", "intermediate_task",
           "baseline"]
    fam = load_languages().set_index("code")["family"]
    rows = []
    few = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k, g in gains.groupby(key, sort=False):
            if not include_source:
                g = g[g["language"] != g["source_language"]]
            g = g[np.isfinite(g["estimate"])]
            n = len(g)
            est = float(g["estimate"].mean()) if n else np.nan
            row = dict(zip(key, k))
            row.update(level="mean", language="", estimate=est, n=n,
                       method="mean over languages", score=g["score"].mean(),
                       baseline_score=g["baseline_score"].mean(),
                       n_seeds_with=int(g["n_seeds_with"].min()) if n else 0,
                       n_seeds_without=int(g["n_seeds_without"].min()) if n else 0,
                       paired=bool(g["paired"].all()) if n else False,
                       ci_method=ci, n_boot=n_boot, resample_unit=cluster,
                       runs=",".join(sorted(set(g["runs"]) - {""})))
            clusters = None
            if cluster == "family":
                clusters = fam.reindex(g["language"]).to_numpy(dtype=object)
                bad = [lang for lang, c in zip(g["language"], clusters)
                       if not isinstance(c, str) or c == ""]
                if bad:
                    raise ValueError(
                        "cluster='family' needs a family for every language; missing for "
                        f"{bad[:10]}"
                    )
            if n < 3:
                few.append(f"{k[1]}/{k[0]}/{k[5]} (n={n})")
                row.update(se=np.nan, ci_low=np.nan, ci_high=np.nan,
                           n_clusters=len(set(clusters)) if clusters is not None else n)
                rows.append(row)
                continue
            plan = ResamplePlan(n, n_boot=n_boot, seed=group_seed(seed, k), clusters=clusters)
            x = g["estimate"].to_numpy(dtype=float)
            w = plan.weights_t  # (n, B)
            reps = (x @ w) / w.sum(axis=0)
            jw = plan.jackknife_weights  # (G, n)
            with np.errstate(invalid="ignore", divide="ignore"):
                jack = (jw @ x) / jw.sum(axis=1)
            lo, hi = bootstrap_interval(reps, est, jack, ci=ci, alpha=alpha,
                                        labels=[f"{k[1]}/{k[0]}/{k[5]}"])
            row.update(se=float(np.std(reps, ddof=1)), ci_low=lo, ci_high=hi,
                       n_clusters=plan.n_clusters)
            rows.append(row)
    _relay(caught)
    if few:
        caveat(f"{len(few)} mean gain(s) from fewer than 3 languages have no interval: "
               + ", ".join(few[:4]) + (", ..." if len(few) > 4 else ""))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- slope


def _fit_fixed_or_mixed(data: pd.DataFrame, rhs: str, *, use_mixed: bool, reml: bool,
                        alpha: float, label: str, random: str = "language",
                        show: dict | None = None):
    """Fit ``y ~ rhs (+ (1 | random))``; OLS clustered by ``random`` as the fallback.

    ``show`` maps the internal column names to the names used in messages.
    Returns ``(table, model_type, method)`` where ``table`` has ``term,
    estimate, se, ci_low, ci_high, p_value``.
    """
    import re

    from xdist.stats.mixed import fit_mixed
    from xdist.stats.regression import ols

    show = dict(show or {})
    pattern = (re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(show, key=len,
                                                                        reverse=True)) + r")\b")
               if show else None)

    def note(text: str) -> None:
        caveat(pattern.sub(lambda m: show[m.group(1)], text) if pattern else text)

    if use_mixed:
        reason = None
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = fit_mixed(data, f"y ~ {rhs} + (1 | {random})", reml=reml, alpha=alpha)
            if res.singular or not res.converged or res.failed:
                why = "; ".join(w for w in res.warnings if "Warning" in w.split(":", 1)[0])
                reason = why.split(". ")[0] if why else "the fit failed"
            else:
                tab = res.fixed[["term", "estimate", "se", "ci_low", "ci_high", "p_value"]].copy()
                for w in caught:
                    if not issubclass(w.category, DataCaveatWarning):
                        note(f"{label}: {w.category.__name__}: {w.message}")
                return tab, "mixed", f"LMM ({'REML' if reml else 'ML'}), (1 | {random}), Wald z"
        except (ValueError, np.linalg.LinAlgError) as exc:
            reason = str(exc).splitlines()[0]
        note(
            f"{label}: the mixed model with (1 | {random}) is not usable ({reason}); "
            f"reporting OLS of the same fixed part with standard errors clustered by {random} "
            "(CR1, t with G-1 df) instead"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ols(data, f"y ~ {rhs}", cluster=random, alpha=alpha)
    for w in caught:
        note(f"{label}: {w.message}")
    tab = res.coefficients[["term", "estimate", "se", "ci_low", "ci_high", "p_value"]].copy()
    return tab, "ols", f"OLS, CR1 clustered by {random}, t(G-1)"


def intermediate_slope(
    results: pd.DataFrame,
    *,
    distance: str = "syntactic",
    outcome: str = "degradation",
    baseline: str = "",
    intermediate_tasks=None,
    tasks=None,
    models=None,
    metrics=None,
    covariates=("log_size",),
    reml: bool = True,
    alpha: float = 0.05,
    codes: str = "individual",
    source_languages=("en",),
    exclude_flags=EXCLUDED_FLAGS,
    impute_distances: bool | None = None,
) -> pd.DataFrame:
    """Does intermediate training change the distance slope of degradation?

    Per (target task, model, setting, metric, source language) with scores
    with and without intermediate training, fits::

        outcome ~ distance * intermediate + covariates + (1 | language)

    (``intermediate``: treatment coding, reference = no intermediate
    training) with :func:`xdist.stats.mixed.fit_mixed`.  A singular or failed
    fit falls back to OLS with language-clustered standard errors (a caveat
    says so; ``model_type`` says which was reported).

    Parameters
    ----------
    results : pandas.DataFrame
        A validated results table with rows with and without intermediate
        training (degradation is computed within each experiment, against
        its own source-language score).
    distance : str
        Distance kind (one of :data:`xdist.distances.DISTANCE_KINDS`).
    outcome : {"degradation", "degradation_relative"}
    baseline : str
        ``intermediate_task`` value of the reference level (default ``""``).
    intermediate_tasks : list of str, optional
        Intermediate tasks to include (default all).
    tasks, models, metrics : list of str, optional
        Restrict to these.
    covariates : list of str
        Extra fixed effects (default ``("log_size",)``; ``()`` for none).  A
        covariate constant within an experiment is left out with a caveat.
    reml : bool
        REML (default) or ML.
    alpha : float
        One minus the confidence level (Wald for the mixed model, t(G-1) for OLS).
    codes, source_languages, exclude_flags, impute_distances
        As in :func:`xdist.analyses.analysis_frame`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SLOPE_COLUMNS`, one row per fixed-effect term.
        ``quantity``: ``"slope"`` (the distance slope without intermediate
        training), ``"slope_change"`` (``distance:I``, the change of the slope
        under intermediate task ``I``), ``"shift"`` (``I``, the change of the
        intercept), ``"intercept"`` or ``"covariate"``.  ``n`` rows (languages
        x levels), ``n_languages`` languages.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from xdist.results import validate_results
    >>> from xdist.distances import distances
    >>> from xdist.analyses.intermediate import intermediate_slope
    >>> langs = ["de", "fr", "es", "ru", "ar", "zh", "hi", "tr", "fi", "ja"]
    >>> d = distances(langs, source="en", kinds=["syntactic"]).set_index("target")["distance"]
    >>> rows = []
    >>> for it, slope in [("", 40.0), ("MNLI", 30.0)]:
    ...     rows.append({"intermediate_task": it, "language": "en", "score": 85.0})
    ...     rows += [{"intermediate_task": it, "language": l,
    ...               "score": 85.0 - 5 - slope * d[l] + 0.1 * (i % 3)}
    ...              for i, l in enumerate(langs)]
    >>> res = validate_results(pd.DataFrame(rows).assign(
    ...     model="m", setting="zero-shot", target_task="XNLI", metric="accuracy",
    ...     seed="", source="example"))
    >>> tab = intermediate_slope(res, covariates=())
    >>> row = tab[tab.quantity == "slope_change"].iloc[0]
    >>> row.term, round(float(row.estimate), 1)
    ('syntactic:MNLI', -10.0)
    """
    _check_results(results)
    if not isinstance(baseline, str):
        raise ValueError(f"baseline={baseline!r} is not valid: expected a string ('' = none)")
    distance = check_choice("distance", [distance], DISTANCE_KINDS, what="distance kind")[0]
    check_choice("outcome", [outcome], OUTCOMES, what="outcome")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or ())
    check_choice("covariates", covariates, COVARIATES, what="covariate")
    alpha = check_alpha(alpha)
    if not isinstance(reml, (bool, np.bool_)):
        raise ValueError(f"reml={reml!r} is not valid: expected True (REML) or False (ML)")

    sub = _filter(results, "target_task", tasks, "task", "task")
    sub = _filter(sub, "model", models, "model", "model")
    sub = _filter(sub, "metric", metrics, "metric", "metric")
    inter = _select_intermediates(sub, baseline, intermediate_tasks)
    sub = sub[sub["intermediate_task"].isin([baseline] + inter)]

    frame = analysis_frame(sub, source_languages=source_languages, kinds=[distance], codes=codes,
                           exclude_flags=exclude_flags, impute_distances=impute_distances)
    frame = frame[np.isfinite(frame[distance]) & np.isfinite(frame[outcome])]
    rows = []
    for key, g in frame.groupby(SLOPE_GROUP, sort=False):
        label = "/".join(str(k) for k in key[:3])
        levels = [t for t in inter if (g["intermediate_task"] == t).any()]
        if not levels or not (g["intermediate_task"] == baseline).any():
            caveat(f"{label}: no scores {'with' if not levels else 'without'} intermediate "
                   "training; left out")
            continue
        runs = g.groupby("intermediate_task")["run"].nunique()
        if (runs > 1).any():
            caveat(f"{label}: several published runs of one intermediate task enter the fit "
                   f"as separate rows ({', '.join(f'{k!r}' for k in runs[runs > 1].index)})")
        data = pd.DataFrame({"y": g[outcome].to_numpy(float), "x": g[distance].to_numpy(float),
                             "language": g["language"].to_numpy()})
        rhs = ["x"]
        names = {"Intercept": ("Intercept", "intercept", ""), "x": (distance, "slope", "")}
        for i, t in enumerate(levels):
            col = f"ix{i}"
            data[col] = (g["intermediate_task"] == t).to_numpy(float)
            rhs += [col, f"x:{col}"]
            names[col] = (t, "shift", t)
            names[f"x:{col}"] = (f"{distance}:{t}", "slope_change", t)
        for c in covariates:
            v = g[c].to_numpy(float)
            if np.nanstd(v) == 0:
                caveat(f"{label}: covariate {c!r} is constant here and is left out")
                continue
            data[c] = v
            rhs.append(c)
            names[c] = (c, "covariate", "")
        n_lang = data["language"].nunique()
        if n_lang < FEW_LANGUAGES:
            caveat(f"{label}: only {n_lang} languages: the slope change rests on few languages")
        show = {"y": outcome, **{k: v[0] for k, v in names.items() if k != "Intercept"}}
        tab, model_type, method = _fit_fixed_or_mixed(
            data, " + ".join(rhs), use_mixed=True, reml=reml, alpha=alpha, label=label,
            show=show)
        for r in tab.itertuples():
            term, quantity, it = names.get(r.term, (r.term, "covariate", ""))
            rows.append(dict(zip(SLOPE_GROUP, key), term=term, quantity=quantity,
                             intermediate_task=it, estimate=r.estimate, se=r.se,
                             ci_low=r.ci_low, ci_high=r.ci_high, p_value=r.p_value,
                             n=len(data), n_languages=n_lang, method=method,
                             model_type=model_type, distance=distance, outcome=outcome))
    if not rows:
        raise ValueError(
            "no experiment has scores both with and without intermediate training after "
            "filtering (check tasks/models/metrics and the distances of the languages)"
        )
    return pd.DataFrame(rows)[SLOPE_COLUMNS]
