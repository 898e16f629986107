"""Model scale: does a larger model close the gap to far languages?

:func:`setting_gap`
    The gap between two settings (by default zero-shot and
    translate-train-all) per (model, target task, language, metric) where both
    were evaluated: ``gap = score(settings[1]) - score(settings[0])``, the
    points that training on (machine-translated) target-language data adds
    over English-only fine-tuning.  Each row carries the model's published
    parameter count (:mod:`xdist.pretrained`) and the language's distances.
:func:`scale_analysis`
    The gap - or the degradation of one setting - against ``log10``
    parameters and its interaction with distance, per target task and
    metric, across models::

        outcome ~ log_params * distance + (1 | language)

    ``log_params:distance`` asks whether the distance slope changes with
    model size (negative for degradation: larger models lose less on far
    languages).  With fewer than ``min_models`` model sizes the random
    intercept is not fitted and OLS with standard errors clustered by
    language (t with G-1 degrees of freedom) is reported; a singular or
    failed mixed fit falls back the same way.  A caveat says which.

What the shipped data can answer: only the XLM-R series has published
per-language scores at several sizes (XNLI translate-train-all: Base, Large,
XL, XXL; MLQA zero-shot: Large, XL, XXL; XNLI zero-shot: Base, Large).  See
``docs/analyses.md`` for what that supports and what it does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xdist._checks import check_choice
from xdist.analyses.frame import analysis_frame
from xdist._checks import check_alpha, check_int
from xdist.analyses.intermediate import _fit_fixed_or_mixed
from xdist.caveats import caveat
from xdist.distances import DISTANCE_KINDS
from xdist.results import EXCLUDED_FLAGS

__all__ = ["GAP_COLUMNS", "SCALE_COLUMNS", "scale_analysis", "setting_gap"]

#: Leading columns of :func:`setting_gap`'s result (the distance kinds and
#: language facts follow).
GAP_COLUMNS = [
    "task",
    "model",
    "model_family",
    "parameters",
    "log_params",
    "intermediate_task",
    "metric",
    "source_language",
    "language",
    "setting_a",
    "setting_b",
    "score_a",
    "score_b",
    "gap",
    "source_score_a",
    "source_score_b",
    "degradation_a",
    "degradation_b",
    "runs_a",
    "runs_b",
]

#: Columns of :func:`scale_analysis`' result, in order.
SCALE_COLUMNS = [
    "task",
    "setting",
    "intermediate_task",
    "metric",
    "source_language",
    "outcome",
    "term",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "n_languages",
    "n_models",
    "models",
    "method",
    "model_type",
    "distance",
    "centered",
]

OUTCOMES = ("gap", "degradation", "degradation_relative")
_LANG_COLS = ["log_size", "family", "genus", "script"]


def _check_settings(settings, available) -> list[str]:
    if isinstance(settings, str) or settings is None:
        raise ValueError(
            f"settings={settings!r} is not valid: expected two settings, e.g. "
            "('zero-shot', 'translate-train-all')"
        )
    settings = list(settings)
    if len(settings) != 2 or settings[0] == settings[1]:
        raise ValueError(
            f"settings={settings!r} is not valid: expected two different settings, e.g. "
            "('zero-shot', 'translate-train-all')"
        )
    check_choice("settings", settings, sorted(available), what="setting")
    return settings


def _check_parameters(parameters) -> dict:
    """``parameters``: a mapping model -> positive parameter count (or None)."""
    if parameters is None:
        return {}
    if isinstance(parameters, pd.Series):
        parameters = parameters.to_dict()
    if not isinstance(parameters, dict):
        raise ValueError(
            f"parameters={parameters!r} is not valid: expected a mapping of model name to "
            "parameter count, e.g. {'my-model': 278_000_000}"
        )
    out = {}
    for m, v in parameters.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = np.nan
        if not isinstance(m, str) or not np.isfinite(f) or f <= 0:
            raise ValueError(
                f"parameters: {m!r}: {v!r} is not valid: expected a model name mapped to a "
                "positive parameter count"
            )
        out[m] = f
    return out


def _model_sizes(models, parameters=None) -> pd.DataFrame:
    """Family and published parameter count per model; ``parameters`` adds or overrides counts.

    Models outside ``data/models/models.csv`` without a count in ``parameters``
    get NaN (with a caveat), so that results of your own models still load.
    """
    from xdist.pretrained import load_models

    given = _check_parameters(parameters)
    tab = load_models().drop_duplicates("model").set_index("model")
    models = list(dict.fromkeys(models))
    unknown = [m for m in models if m not in tab.index and m not in given]
    if unknown:
        caveat(f"model(s) {unknown} are not in data/models/models.csv: no parameter count "
               "(pass parameters={model: count} or add a row there)")
    fam = tab["family"].reindex(models).fillna("").astype(str).to_numpy()
    params = (tab["parameters"].astype("Float64").reindex(models)
              .to_numpy(dtype=float, na_value=np.nan))
    out = pd.DataFrame({"model": models, "model_family": fam, "parameters": params})
    out["parameters"] = [given.get(m, p) for m, p in zip(out["model"], out["parameters"])]
    out["log_params"] = np.log10(out["parameters"].astype(float))
    return out


def _prefilter(results: pd.DataFrame, settings, tasks) -> pd.DataFrame:
    sub = results[results["setting"].isin(list(settings))]
    if tasks is not None:
        tasks = check_choice("task", tasks, sorted(sub["target_task"].unique()), what="task")
        sub = sub[sub["target_task"].isin(tasks)]
    return sub


def _select_models(results, models, model_families):
    if model_families is None:
        return models
    from xdist.pretrained import load_models

    tab = load_models()
    fams = check_choice("model_families", model_families, sorted(tab["family"].unique()),
                        what="model family")
    chosen = set(tab.loc[tab["family"].isin(fams), "model"])
    present = sorted(set(results["model"]) & chosen)
    if models is not None:
        models = [models] if isinstance(models, str) else list(models)
        present = [m for m in present if m in models]
    if not present:
        raise ValueError(
            f"model_families={list(fams)!r}: no model of these families in results"
            + (" among models=" + repr(models) if models is not None else "")
        )
    return present


def setting_gap(
    results: pd.DataFrame,
    *,
    settings=("zero-shot", "translate-train-all"),
    distances=DISTANCE_KINDS,
    tasks=None,
    models=None,
    model_families=None,
    metrics=None,
    codes: str = "individual",
    source_languages=("en",),
    exclude_flags=EXCLUDED_FLAGS,
    impute_distances: bool | None = None,
    parameters=None,
) -> pd.DataFrame:
    """The gap between two settings per (model, task, language, metric).

    Parameters
    ----------
    results : pandas.DataFrame
        A validated results table (:func:`xdist.results.read_results`).
    settings : pair of str
        ``(a, b)``; ``gap = score_b - score_a`` (default: what
        translate-train-all adds over zero-shot).
    distances : list of str
        Distance kinds to join (default all six).
    tasks, models, metrics : list of str, optional
        Restrict to these.
    model_families : list of str, optional
        Keep models of these families (``"XLM-R"``; see
        :func:`xdist.pretrained.load_models`).
    codes, source_languages, exclude_flags, impute_distances
        As in :func:`xdist.analyses.analysis_frame`.
    parameters : dict, optional
        Parameter counts by model name, for models outside
        ``data/models/models.csv`` (your own) or to override it; models with
        neither get NaN ``parameters`` with a caveat.

    Returns
    -------
    pandas.DataFrame
        One row per (task, model, intermediate task, metric, source
        language, target language) evaluated in both settings: columns
        :data:`GAP_COLUMNS`, then the distance kinds and ``log_size, family,
        genus, script`` of the language.  ``parameters``/``log_params`` are
        NaN for models without a published total.  Scores are means over
        seeds (and over published runs, with a caveat, where a setting has
        several); ``runs_a``/``runs_b`` list the run labels.  The source
        language is not a target and has no row.

    Examples
    --------
    >>> from xdist.results import read_results, shipped_results_paths
    >>> from xdist.analyses.scale import setting_gap
    >>> res = read_results(shipped_results_paths()[0])
    >>> gap = setting_gap(res, tasks=["XNLI"], model_families=["XLM-R"],
    ...                   distances=["syntactic"])
    >>> gap.groupby("model")["gap"].mean().round(2)
    model
    XLM-R Base     3.14
    XLM-R Large    2.91
    Name: gap, dtype: float64
    """
    if not isinstance(results, pd.DataFrame) or "setting" not in results:
        raise ValueError("results: expected a results DataFrame (xdist.results.read_results)")
    settings = _check_settings(settings, results["setting"].unique())
    distances = check_choice("distances", distances, DISTANCE_KINDS, what="distance kind")
    sub = _prefilter(results, settings, tasks)
    models = _select_models(sub, models, model_families)
    frame = analysis_frame(sub, tasks=tasks, models=models, metrics=metrics,
                           source_languages=source_languages, kinds=distances, codes=codes,
                           exclude_flags=exclude_flags, impute_distances=impute_distances)
    key = ["task", "model", "intermediate_task", "metric", "source_language", "language"]
    sides = []
    for s, tag in zip(settings, ("a", "b")):
        part = frame[frame["setting"] == s]
        agg = part.groupby(key, sort=False).agg(
            score=("score", "mean"), source_score=("source_score", "mean"),
            degradation=("degradation", "mean"),
            runs=("run", lambda r: ",".join(sorted(set(r)))), n_runs=("run", "nunique"),
        ).reset_index()
        multi = agg[agg["n_runs"] > 1]
        if len(multi):
            caveat(
                f"{len(multi)} score(s) of setting {s!r} average several published runs "
                f"(e.g. {multi.iloc[0]['model']}/{multi.iloc[0]['task']}: {multi.iloc[0]['runs']})"
            )
        agg = agg.drop(columns="n_runs").rename(
            columns={c: f"{c}_{tag}" for c in ("score", "source_score", "degradation", "runs")})
        sides.append(agg)
    out = sides[0].merge(sides[1], on=key, how="inner")
    if out.empty:
        have = frame.groupby("model")["setting"].agg(lambda s: sorted(set(s)))
        raise ValueError(
            f"settings={settings!r}: no (model, task, language, metric) has scores in both "
            "settings; settings per model: "
            + "; ".join(f"{m}: {v}" for m, v in have.head(8).items())
        )
    only = (
        pd.concat([sides[0][key], sides[1][key]])
        .drop_duplicates()
        .merge(out[key], on=key, how="left", indicator=True)
    )
    only = only[only["_merge"] == "left_only"]
    if len(only):
        caveat(
            f"{len(only)} (model, task, language, metric) score(s) exist in only one of the "
            f"settings {settings} and are left out (e.g. "
            + ", ".join(f"{r.model}/{r.task}/{r.language}" for r in only.head(3).itertuples())
            + ")"
        )
    out["setting_a"], out["setting_b"] = settings
    out["gap"] = out["score_b"] - out["score_a"]
    langcols = list(distances) + _LANG_COLS
    lang = frame.drop_duplicates(["source_language", "language"])[
        ["source_language", "language"] + langcols]
    out = out.merge(lang, on=["source_language", "language"], how="left")
    sizes = _model_sizes(out["model"].unique(), parameters)
    out = out.merge(sizes, on="model", how="left")
    nosize = sizes.loc[sizes["parameters"].isna(), "model"].tolist()
    if nosize:
        caveat(f"no published parameter count for {nosize}: their log_params is NaN "
               "(see data/models/models.csv)")
    return out[GAP_COLUMNS + langcols].reset_index(drop=True)


def _column_order_rows(results, frame_keys: pd.DataFrame, exclude_flags) -> list[str]:
    """Analysed rows flagged ``column_order`` among the experiments used."""
    if "column_order" in set(exclude_flags or ()):
        return []
    flagged = results[results["flag"] == "column_order"].rename(columns={"target_task": "task"})
    if flagged.empty:
        return []
    hit = flagged.merge(frame_keys, on=["task", "model", "setting", "metric", "language"])
    return sorted({f"{r.model} {r.metric} {r.language}" for r in hit.itertuples()})


def scale_analysis(
    results: pd.DataFrame,
    *,
    outcome: str = "gap",
    settings=("zero-shot", "translate-train-all"),
    distance: str = "syntactic",
    tasks=None,
    models=None,
    model_families=None,
    metrics=None,
    min_models: int = 3,
    center: bool = True,
    reml: bool = True,
    alpha: float = 0.05,
    codes: str = "individual",
    source_languages=("en",),
    exclude_flags=EXCLUDED_FLAGS,
    impute_distances: bool | None = None,
    parameters=None,
) -> pd.DataFrame:
    """The setting gap (or degradation) against model size and its interaction with distance.

    Per (target task, metric, source language, intermediate task) - and per
    setting for ``outcome="degradation"`` - across the models that have a
    published parameter count::

        outcome ~ log_params * distance + (1 | language)

    Parameters
    ----------
    results : pandas.DataFrame
        A validated results table.
    outcome : {"gap", "degradation", "degradation_relative"}
        ``"gap"``: :func:`setting_gap` between ``settings``; otherwise the
        degradation within each of ``settings`` (each fitted separately).
    settings : pair of str
        The two settings (``outcome="gap"``) or the settings to analyse.
    distance : str
        Distance kind.
    tasks, models, metrics : list of str, optional
        Restrict to these.
    model_families : list of str, optional
        Keep models of these families (``["XLM-R"]``).  Mixing families
        confounds size with architecture and pretraining data (a caveat says so).
    min_models : int
        Fewest distinct model sizes for the mixed model (default 3); with
        fewer, OLS with language-clustered standard errors.  Groups with one
        size are left out.
    center : bool
        Center ``log_params`` and the distance at their means over the
        group's rows (default), so that each main effect is the effect at the
        mean of the other variable; the interaction does not change.
    reml : bool
        REML (default) or ML for the mixed model.
    alpha : float
        One minus the confidence level.
    codes, source_languages, exclude_flags, impute_distances
        As in :func:`xdist.analyses.analysis_frame`.
    parameters : dict, optional
        Parameter counts by model name (as in :func:`setting_gap`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SCALE_COLUMNS`, one row per term: ``Intercept``,
        ``log_params`` (outcome change per tenfold parameters), the distance
        kind, and ``log_params:<distance>``.  ``setting`` is ``"a -> b"``
        for the gap.  ``n`` rows, ``n_languages``, ``n_models`` distinct
        sizes, ``models`` the models used.

    Examples
    --------
    >>> from xdist.results import read_results, shipped_results_paths
    >>> from xdist.analyses.scale import scale_analysis
    >>> res = read_results(shipped_results_paths()[0])
    >>> tab = scale_analysis(res, outcome="degradation", tasks=["XNLI"],
    ...                      settings=["translate-train-all"], model_families=["XLM-R"])
    >>> row = tab[tab.term == "log_params"].iloc[0]
    >>> row.model_type, int(row.n_models), bool(row.estimate < 0)
    ('mixed', 4, True)
    """
    if not isinstance(results, pd.DataFrame) or "setting" not in results:
        raise ValueError("results: expected a results DataFrame (xdist.results.read_results)")
    check_choice("outcome", [outcome], OUTCOMES, what="outcome")
    distance = check_choice("distance", [distance], DISTANCE_KINDS, what="distance kind")[0]
    min_models = check_int("min_models", min_models, 2)
    alpha = check_alpha(alpha)
    if not isinstance(center, (bool, np.bool_)):
        raise ValueError(f"center={center!r} is not valid: expected True or False")

    common = dict(tasks=tasks, models=models, metrics=metrics, codes=codes,
                  source_languages=source_languages, exclude_flags=exclude_flags,
                  impute_distances=impute_distances)
    if outcome == "gap":
        data = setting_gap(results, settings=settings, distances=[distance],
                           model_families=model_families, parameters=parameters, **common)
        data = data.rename(columns={"gap": "y"})
        data["setting"] = f"{data['setting_a'].iloc[0]} -> {data['setting_b'].iloc[0]}"
        used = pd.concat([
            data[["task", "model", "metric", "language"]].assign(setting=s)
            for s in (data["setting_a"].iloc[0], data["setting_b"].iloc[0])])
    else:
        if isinstance(settings, str):
            settings = [settings]
        settings = check_choice("settings", settings, sorted(results["setting"].unique()),
                                what="setting")
        sub = _prefilter(results, settings, tasks)
        common["models"] = _select_models(sub, models, model_families)
        data = analysis_frame(sub, kinds=[distance], **common)
        sizes = _model_sizes(data["model"].unique(), parameters)
        data = data.merge(sizes, on="model", how="left").rename(columns={outcome: "y"})
        used = data[["task", "model", "metric", "language", "setting"]]
    flagged = _column_order_rows(results, used.drop_duplicates(), exclude_flags)
    if flagged:
        caveat(
            f"{len(flagged)} analysed score(s) flagged 'column_order' (language labels probably "
            f"swapped in the source) enter the fits: {', '.join(flagged[:8])}"
            f"{', ...' if len(flagged) > 8 else ''}; exclude them to check the estimates "
            "(--exclude-flag column_order; exclude_flags=(*EXCLUDED_FLAGS, 'column_order'))"
        )
    nosize = sorted(data.loc[data["log_params"].isna(), "model"].unique())
    if nosize:
        caveat(f"models without a published parameter count are left out: {nosize}")
    data = data[np.isfinite(data["log_params"]) & np.isfinite(data[distance])
                & np.isfinite(data["y"])]
    fams = sorted(data["model_family"].unique())
    if len(fams) > 1:
        caveat(f"models of several families ({fams}) are pooled: model size is confounded with "
               "architecture and pretraining data; model_families=['XLM-R'] keeps one family")

    group = ["task", "setting", "intermediate_task", "metric", "source_language"]
    rows = []
    for key, g in data.groupby(group, sort=False):
        label = "/".join(str(k) for k in (key[0], key[1], key[3]))
        n_models = g["log_params"].nunique()
        mods = ", ".join(sorted(g["model"].unique(), key=lambda m: g.loc[g.model == m,
                                                                         "log_params"].iloc[0]))
        if n_models < 2:
            caveat(f"{label}: one model size only ({mods}); no size effect can be estimated")
            continue
        lp = g["log_params"].to_numpy(float)
        x = g[distance].to_numpy(float)
        if center:
            lp = lp - lp.mean()
            x = x - x.mean()
        d = pd.DataFrame({"y": g["y"].to_numpy(float), "log_params": lp, "x": x,
                          "language": g["language"].to_numpy()})
        n_lang = d["language"].nunique()
        use_mixed = n_models >= min_models
        if not use_mixed:
            caveat(
                f"{label}: {n_models} model sizes ({mods}) is fewer than min_models={min_models}: "
                "OLS with standard errors clustered by language instead of the mixed model; the "
                "size effect rests on these sizes only"
            )
        names = {"x": distance, "log_params:x": f"log_params:{distance}"}
        tab, model_type, method = _fit_fixed_or_mixed(
            d, "log_params * x", use_mixed=use_mixed, reml=reml, alpha=alpha, label=label,
            show={"y": outcome, **names})
        for r in tab.itertuples():
            rows.append(dict(zip(group, key), outcome=outcome, term=names.get(r.term, r.term),
                             estimate=r.estimate, se=r.se, ci_low=r.ci_low, ci_high=r.ci_high,
                             p_value=r.p_value, n=len(d), n_languages=n_lang,
                             n_models=n_models, models=mods, method=method,
                             model_type=model_type, distance=distance, centered=bool(center)))
    if not rows:
        raise ValueError(
            "no task has scores of two or more model sizes with published parameter counts "
            "after filtering (check models/model_families/settings and data/models/models.csv)"
        )
    return pd.DataFrame(rows)[SCALE_COLUMNS]
