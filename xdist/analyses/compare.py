"""Comparing training settings: adapters, multi-task and multilingual intermediate data, LLMs.

The training core writes each way of training as a ``setting`` value
(:mod:`xdist.settings`): ``zero-shot`` is full fine-tuning on English,
``zero-shot+lora`` LoRA adapters, ``zero-shot+multilingual-intermediate``
intermediate training on several languages, ``llm-0shot``/``llm-5shot`` a
decoder LLM prompted with k English demonstrations.  A multi-task intermediate
phase is written as the sorted task names joined by ``","`` in
``intermediate_task`` (``"MNLI,QQP"``).  Each question is a comparison
between two settings of the same results table:

:func:`gap_summary`
    ``gap = score(setting) - score(reference)`` per (task, model,
    intermediate task, metric, language) - by default what LoRA adapters
    gain over full fine-tuning - and its mean over the target languages with
    a bootstrap interval that resamples languages (or whole families).
:func:`gap_slope`
    The same gap against one or more URIEL distance kinds, by OLS with
    standard errors clustered by language or family (CR1, t with G-1 df):
    does the setting help far languages more than near ones?
:func:`multitask_gains`
    Multi-task intermediate training against single-task: the score with
    ``"MNLI,QQP"`` minus the score with the best single component (chosen
    by its mean over the target languages) or with each component, per
    language (who wins where) and on average with a bootstrap interval.
:func:`gap_scale`
    The gap (by default multilingual minus English intermediate training)
    across model sizes: ``gap ~ log_params (+ distance)`` over the models'
    per-language gaps, OLS clustered by language.
:func:`slope_comparison`
    Degradation against distance per (model, setting, task) - by default
    every ``llm-*`` setting - beside the reference setting's (the encoder's
    ``zero-shot``), and the difference of the slopes with a bootstrap
    interval over languages, paired where both were evaluated on a language.

The per-language gaps come from :func:`xdist.analyses.scale.setting_gap`
(seed means, runs matched across labels), the means and intervals from the
same bootstrap as :func:`xdist.analyses.intermediate_gains` (which
:func:`multitask_gains` calls), the regressions from
:func:`xdist.stats.regression.ols`.  Every random step draws from a stream
derived from ``seed`` and the group's values.

The shipped data has no adapter, multilingual-intermediate or LLM rows; it
has zero-shot and translate-train-all scores of several models on XNLI and
PAWS-X, a genuine two-settings comparison the same functions answer (see
``docs/analyses.md`` and ``notebooks/06_settings.ipynb``).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from xdist._checks import check_alpha, check_choice, check_int, group_seed
from xdist.analyses.frame import _filter, analysis_frame
from xdist.analyses.intermediate import (
    CI_METHODS,
    CLUSTERS,
    _check_results,
    _mean_gains,
    _relay,
    intermediate_gains,
)
from xdist.analyses.scale import setting_gap
from xdist.caveats import DataCaveatWarning, caveat
from xdist.distances import DISTANCE_KINDS
from xdist.results import EXCLUDED_FLAGS

__all__ = [
    "GAP_SCALE_COLUMNS",
    "GAP_SLOPE_COLUMNS",
    "GAP_SUMMARY_COLUMNS",
    "MULTITASK_COLUMNS",
    "SLOPE_COMPARISON_COLUMNS",
    "gap_scale",
    "gap_slope",
    "gap_summary",
    "multitask_gains",
    "slope_comparison",
]

#: Columns of :func:`gap_summary`' result, in order.
GAP_SUMMARY_COLUMNS = [
    "task", "model", "intermediate_task", "reference_intermediate_task", "metric",
    "source_language", "setting", "reference", "level", "language", "estimate", "se",
    "ci_low", "ci_high", "n", "n_positive", "method", "score", "reference_score",
    "ci_method", "n_boot", "resample_unit", "n_clusters",
]
#: Columns of :func:`gap_slope`' result, in order.
GAP_SLOPE_COLUMNS = [
    "task", "model", "intermediate_task", "reference_intermediate_task", "metric",
    "source_language", "setting", "reference", "term", "estimate", "se", "ci_low", "ci_high",
    "p_value", "n", "n_clusters", "method", "cluster",
]
#: Columns of :func:`gap_scale`' result, in order.
GAP_SCALE_COLUMNS = [
    "task", "intermediate_task", "reference_intermediate_task", "metric", "source_language",
    "setting", "reference", "term", "estimate", "se", "ci_low", "ci_high", "p_value", "n",
    "n_languages", "n_models", "models", "method", "distance", "centered",
]
#: Columns of :func:`multitask_gains`' result, in order.
MULTITASK_COLUMNS = [
    "task", "model", "setting", "single_setting", "multi_task", "single_task", "against",
    "metric", "source_language", "level", "language", "estimate", "se", "ci_low", "ci_high",
    "n", "n_positive", "method", "score", "single_score", "paired", "ci_method", "n_boot",
    "resample_unit", "n_clusters",
]
#: Columns of :func:`slope_comparison`' result, in order.
SLOPE_COMPARISON_COLUMNS = [
    "task", "metric", "source_language", "model", "setting", "intermediate_task", "quantity",
    "reference_model", "reference_setting", "reference_intermediate_task", "estimate", "se",
    "ci_low", "ci_high", "p_value", "n", "n_reference", "n_shared", "n_clusters", "method",
    "distance", "outcome",
]

#: Key of one per-language gap (the settings are columns of their own).
GAP_KEY = ["task", "model", "intermediate_task", "metric", "source_language"]
#: Experiment of :func:`slope_comparison` (runs averaged).
EXPERIMENT = ["task", "model", "setting", "intermediate_task", "metric", "source_language"]
#: Separator of a multi-task ``intermediate_task`` (as the training core writes it).
MULTITASK_SEPARATOR = ","
AGAINST = ("best", "each")
OUTCOMES = ("degradation", "degradation_relative")
_LLM = re.compile(r"^llm-\d+shot(\+|$)")
_URIEL_NOTES = ("have no URIEL data for some distance kinds",)
_SIZE_NOTES = ("no published parameter count for", "are not in data/models/models.csv")


# --------------------------------------------------------------------------- helpers


def _check_setting_pair(setting, reference) -> tuple[str, str]:
    for name, v in (("setting", setting), ("reference", reference)):
        if not isinstance(v, str) or not v:
            raise ValueError(f"{name}={v!r} is not valid: expected a setting such as "
                             "'zero-shot+lora' (see xdist.settings)")
    if setting == reference:
        raise ValueError(f"setting={setting!r} and reference={reference!r} are the same: "
                         "expected two different settings")
    return setting, reference


def _in_vocabulary(setting: str) -> bool:
    """Whether ``setting`` is spelled as :mod:`xdist.settings` writes it (no "did you mean")."""
    from xdist.settings import parse_setting

    try:
        parse_setting(setting)
    except ValueError:
        return False
    return True


def _require_settings(results: pd.DataFrame, settings, tasks) -> pd.DataFrame:
    """Filter to ``tasks`` and check every setting has rows there; return the filtered table."""
    sub = _filter(results, "target_task", tasks, "task", "task")
    present_all = sorted(sub["setting"].unique())
    for s in settings:
        if s not in present_all:
            import difflib

            close = [] if _in_vocabulary(s) else difflib.get_close_matches(s, present_all, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            where = f" for task{'s' if len(sub['target_task'].unique()) > 1 else ''} " + \
                ", ".join(sorted(sub["target_task"].unique())) if tasks is not None else ""
            raise ValueError(f"no rows with setting {s!r}{where}: settings present are "
                             f"{present_all}{hint}")
        if tasks is not None:
            for t, part in sub.groupby("target_task"):
                have = sorted(part["setting"].unique())
                if s not in have:
                    raise ValueError(f"no rows with setting {s!r} for task {t}: settings "
                                     f"present for {t} are {have}")
    return sub


def _quiet(fn, *args, unused=(), **kwargs):
    """Call ``fn`` and pass its caveats on, except those about columns the caller does not use."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    _relay([w for w in caught
            if not (issubclass(w.category, DataCaveatWarning)
                    and any(u in str(w.message) for u in unused))])
    return out


def _gaps(results, *, setting, reference, distances, tasks, models, model_families, metrics,
          intermediate_tasks, reference_intermediate_task, source_languages, exclude_flags,
          codes, impute_distances, parameters, use_distances=True,
          use_sizes=False) -> pd.DataFrame:
    """Per-language gaps ``score(setting) - score(reference)`` via :func:`setting_gap`."""
    _check_results(results)
    setting, reference = _check_setting_pair(setting, reference)
    sub = _require_settings(results, [setting, reference], tasks)
    sub = sub[sub["setting"].isin([setting, reference])]
    treat, ref = sub[sub["setting"] == setting], sub[sub["setting"] == reference]
    if intermediate_tasks is not None:
        chosen = check_choice("intermediate_tasks", intermediate_tasks,
                              sorted(treat["intermediate_task"].unique()),
                              what=f"intermediate task of setting {setting!r}")
        treat = treat[treat["intermediate_task"].isin(chosen)]
        if reference_intermediate_task is None:
            ref = ref[ref["intermediate_task"].isin(chosen)]
    if reference_intermediate_task is not None:
        if not isinstance(reference_intermediate_task, str):
            raise ValueError(f"reference_intermediate_task={reference_intermediate_task!r} is "
                             "not valid: expected one intermediate_task value ('' = none)")
        check_choice("reference_intermediate_task", [reference_intermediate_task],
                     sorted(ref["intermediate_task"].unique()),
                     what=f"intermediate task of reference {reference!r}")
        ref = ref[ref["intermediate_task"] == reference_intermediate_task]
        # match every intermediate task of the setting against this one reference
        ref = pd.concat([ref.assign(intermediate_task=t)
                         for t in sorted(treat["intermediate_task"].unique())],
                        ignore_index=True)
    call = dict(settings=(reference, setting), distances=list(distances), tasks=None,
                models=models, model_families=model_families, metrics=metrics, codes=codes,
                source_languages=source_languages, exclude_flags=exclude_flags,
                impute_distances=impute_distances, parameters=parameters)
    both = pd.concat([treat, ref], ignore_index=True)
    unused = (() if use_distances else _URIEL_NOTES) + (() if use_sizes else _SIZE_NOTES)
    out = _quiet(setting_gap, both, unused=unused, **call)
    out = out.rename(columns={"setting_a": "reference", "setting_b": "setting",
                              "score_a": "reference_score", "score_b": "score"})
    out["reference_intermediate_task"] = (out["intermediate_task"]
                                          if reference_intermediate_task is None
                                          else reference_intermediate_task)
    return out


def _bootstrap_means(gaps: pd.DataFrame, *, cluster, ci, n_boot, alpha, seed) -> pd.DataFrame:
    """Mean gap over languages per group with the bootstrap of :func:`intermediate_gains`."""
    g = pd.DataFrame({
        "target_task": gaps["task"], "model": gaps["model"], "setting": gaps["setting"],
        "metric": gaps["metric"], "source_language": gaps["source_language"],
        "intermediate_task": gaps["intermediate_task"],
        "baseline": gaps["reference"] + " | " + gaps["reference_intermediate_task"],
        "language": gaps["language"], "estimate": gaps["gap"], "score": gaps["score"],
        "baseline_score": gaps["reference_score"], "n_seeds_with": 1, "n_seeds_without": 1,
        "paired": False, "runs": "",
    })
    means = _mean_gains(g, include_source=False, cluster=cluster, ci=ci, n_boot=n_boot,
                        alpha=alpha, seed=seed)
    ref = means["baseline"].str.split(" | ", n=1, regex=False)
    return means.assign(task=means["target_task"], reference=ref.str[0],
                        reference_intermediate_task=ref.str[1],
                        reference_score=means["baseline_score"])


def _check_common(cluster, ci, n_boot, alpha, seed):
    check_choice("cluster", [cluster], CLUSTERS, what="resampling unit")
    check_choice("ci", [ci], CI_METHODS, what="interval method")
    return check_int("n_boot", n_boot, 100), check_alpha(alpha), check_int("seed", seed, 0)


def _fit(data: pd.DataFrame, formula: str, *, cluster: str, alpha: float, label: str):
    """OLS with CR1 standard errors by ``cluster``; None (and a caveat) if it cannot be fitted."""
    from xdist.stats.regression import ols

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = ols(data, formula, cluster=cluster, alpha=alpha)
    except (ValueError, np.linalg.LinAlgError) as exc:
        caveat(f"{label}: not fitted ({str(exc).splitlines()[0]}); left out")
        return None
    for w in caught:
        caveat(f"{label}: {w.message}")
    return res.coefficients


# --------------------------------------------------------------------------- gap summary


def gap_summary(
    results: pd.DataFrame,
    *,
    setting: str = "zero-shot+lora",
    reference: str = "zero-shot",
    tasks=None,
    models=None,
    model_families=None,
    metrics=None,
    intermediate_tasks=None,
    reference_intermediate_task: str | None = None,
    source_languages=("en",),
    cluster: str = "language",
    ci: str = "bca",
    n_boot: int = 10_000,
    alpha: float = 0.05,
    exclude_flags=EXCLUDED_FLAGS,
    seed: int = 0,
) -> pd.DataFrame:
    """The gap between two settings per language, and its mean over languages.

    ``gap = score(setting) - score(reference)`` for the same model, target
    task, intermediate task, metric and source language; by default what
    LoRA adapters (``zero-shot+lora``) gain over full fine-tuning
    (``zero-shot``), negative where adapters lose.

    Parameters
    ----------
    results : pandas.DataFrame
        A validated results table (:func:`xdist.results.read_results`).
    setting, reference : str
        The two ``setting`` values (:mod:`xdist.settings`).
    tasks, models, metrics : list of str, optional
        Restrict to these target tasks, models, metrics.
    model_families : list of str, optional
        Keep models of these families (:func:`xdist.pretrained.load_models`).
    intermediate_tasks : list of str, optional
        Intermediate tasks of ``setting`` to keep (default all).
    reference_intermediate_task : str, optional
        Compare every intermediate task of ``setting`` with this one
        intermediate task of ``reference`` (``""``: none), instead of
        matching equal ``intermediate_task`` values.
    source_languages : list of str or None
        Fine-tuning languages to keep (default English; None keeps all).
    cluster : {"language", "family"}
        Bootstrap unit of the mean: languages, or whole families.
    ci : {"bca", "percentile"}
        Bootstrap interval method.
    n_boot : int
        Bootstrap resamples (at least 100).
    alpha : float
        One minus the confidence level.
    exclude_flags : iterable of str
        Flagged rows to exclude (default ``superseded``, ``duplicate``).
    seed : int
        Seed of the bootstrap; each group draws from its own stream.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GAP_SUMMARY_COLUMNS`.  Rows with ``level ==
        "language"``: ``estimate`` is the gap, ``score``/``reference_score``
        the seed means, ``n_positive`` 1 where the setting wins; no interval.
        One row per group with ``level == "mean"``: the mean gap over the
        ``n`` target languages, ``se`` the bootstrap standard deviation,
        ``ci_low``/``ci_high`` the ``ci_method`` interval, ``n_positive`` the
        number of languages where the setting wins.

    Raises
    ------
    ValueError
        A setting absent (``no rows with setting 'zero-shot+lora' for task
        XNLI: settings present are [...]``), no language scored in both, or
        an argument outside its accepted values.

    Examples
    --------
    >>> from xdist.results import read_results, shipped_results_paths
    >>> from xdist.analyses.compare import gap_summary
    >>> res = read_results(shipped_results_paths()[0])
    >>> tab = gap_summary(res, setting="translate-train-all", reference="zero-shot",
    ...                   tasks=["XNLI"], models=["XLM-R Base"], n_boot=1000, seed=0)
    >>> mean = tab[tab.level == "mean"].iloc[0]
    >>> round(float(mean.estimate), 2), int(mean.n), int(mean.n_positive)
    (3.14, 14, 14)
    """
    n_boot, alpha, seed = _check_common(cluster, ci, n_boot, alpha, seed)
    gaps = _gaps(results, setting=setting, reference=reference, distances=["syntactic"],
                 tasks=tasks, models=models, model_families=model_families, metrics=metrics,
                 intermediate_tasks=intermediate_tasks,
                 reference_intermediate_task=reference_intermediate_task,
                 source_languages=source_languages, exclude_flags=exclude_flags,
                 codes="individual", impute_distances=None, parameters=None,
                 use_distances=False)
    langs = gaps.assign(level="language", estimate=gaps["gap"], se=np.nan, ci_low=np.nan,
                        ci_high=np.nan, n=1, n_positive=(gaps["gap"] > 0).astype(int),
                        method="difference of seed means", ci_method="", n_boot=0,
                        resample_unit="", n_clusters=np.nan)
    means = _bootstrap_means(gaps, cluster=cluster, ci=ci, n_boot=n_boot, alpha=alpha,
                             seed=seed)
    wins = (langs.groupby(GAP_KEY + ["reference_intermediate_task"], sort=False)["n_positive"]
            .sum().rename("n_positive").reset_index())
    means = means.merge(wins, on=GAP_KEY + ["reference_intermediate_task"], how="left")
    means["method"] = "mean over languages, bootstrap over " + means["resample_unit"] + "s"
    out = pd.concat([langs[GAP_SUMMARY_COLUMNS], means[GAP_SUMMARY_COLUMNS]], ignore_index=True)
    out["_mean"] = out["level"] == "mean"
    out = out.sort_values(GAP_KEY + ["reference_intermediate_task", "_mean"], kind="stable")
    out["n_positive"] = out["n_positive"].astype(int)
    out["n"] = out["n"].astype(int)
    return out.drop(columns="_mean").reset_index(drop=True)


# --------------------------------------------------------------------------- gap slope


def gap_slope(
    results: pd.DataFrame,
    *,
    setting: str = "zero-shot+lora",
    reference: str = "zero-shot",
    distances=("syntactic",),
    cluster: str = "language",
    alpha: float = 0.05,
    tasks=None,
    models=None,
    model_families=None,
    metrics=None,
    intermediate_tasks=None,
    reference_intermediate_task: str | None = None,
    codes: str = "individual",
    source_languages=("en",),
    exclude_flags=EXCLUDED_FLAGS,
    impute_distances: bool | None = None,
) -> pd.DataFrame:
    """The gap between two settings against distance: ``gap ~ d1 + d2 + ...``.

    Per (task, model, intermediate task, metric, source language), the
    per-language gaps of :func:`gap_summary` are regressed on the distance
    kinds by :func:`xdist.stats.regression.ols` with standard errors
    clustered by ``cluster`` (CR1, t with G-1 degrees of freedom).  A
    positive distance coefficient: the setting gains more on far languages.

    Parameters
    ----------
    results : pandas.DataFrame
        A validated results table.
    setting, reference : str
        ``gap = score(setting) - score(reference)``.
    distances : list of str
        Distance kinds, the regressors (default ``("syntactic",)``).
    cluster : {"language", "family"}
        Cluster of the standard errors.  With one row per language,
        ``"language"`` is the heteroskedasticity-robust CR1; ``"family"``
        allows correlated gaps within a family.
    alpha : float
        One minus the confidence level.
    tasks, models, model_families, metrics, intermediate_tasks, reference_intermediate_task
        As in :func:`gap_summary`.
    codes, source_languages, exclude_flags, impute_distances
        As in :func:`xdist.analyses.analysis_frame`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GAP_SLOPE_COLUMNS`, one row per term (``Intercept``
        and each distance kind).  A group that cannot be fitted (too few
        languages) is left out with a caveat.

    Examples
    --------
    >>> from xdist.results import read_results, shipped_results_paths
    >>> from xdist.analyses.compare import gap_slope
    >>> res = read_results(shipped_results_paths()[0])
    >>> tab = gap_slope(res, setting="translate-train-all", reference="zero-shot",
    ...                 tasks=["XNLI"], models=["XLM-R Base"])
    >>> row = tab[tab.term == "syntactic"].iloc[0]
    >>> int(row.n), bool(row.estimate > 0), row.method
    (14, True, 'OLS, CR1 clustered by language, t(G-1)')
    """
    check_choice("cluster", [cluster], CLUSTERS, what="cluster")
    alpha = check_alpha(alpha)
    distances = check_choice("distances", distances, DISTANCE_KINDS, what="distance kind")
    if not distances:
        raise ValueError("distances=[] is not valid: expected at least one distance kind")
    distances = list(dict.fromkeys(distances))
    gaps = _gaps(results, setting=setting, reference=reference, distances=distances,
                 tasks=tasks, models=models, model_families=model_families, metrics=metrics,
                 intermediate_tasks=intermediate_tasks,
                 reference_intermediate_task=reference_intermediate_task,
                 source_languages=source_languages, exclude_flags=exclude_flags, codes=codes,
                 impute_distances=impute_distances, parameters=None)
    formula = "gap ~ " + " + ".join(distances)
    rows = []
    key = GAP_KEY + ["reference_intermediate_task"]
    for k, g in gaps.groupby(key, sort=False):
        g = g.dropna(subset=distances + ["gap", cluster])
        label = "/".join(str(v) for v in (k[1], k[0], k[3]))
        coef = _fit(g, formula, cluster=cluster, alpha=alpha, label=label)
        if coef is None:
            continue
        for r in coef.itertuples():
            rows.append(dict(zip(key, k), setting=setting, reference=reference, term=r.term,
                             estimate=r.estimate, se=r.se, ci_low=r.ci_low,
                             ci_high=r.ci_high, p_value=r.p_value, n=int(r.n),
                             n_clusters=r.n_clusters,
                             method=f"OLS, {r.se_type} clustered by {cluster}, {r.inference}",
                             cluster=cluster))
    if not rows:
        raise ValueError(f"no group has enough languages to fit {formula!r} (check the "
                         "filters and the distances of the languages)")
    return pd.DataFrame(rows)[GAP_SLOPE_COLUMNS]


# --------------------------------------------------------------------------- gap scale


def gap_scale(
    results: pd.DataFrame,
    *,
    setting: str = "zero-shot+multilingual-intermediate",
    reference: str = "zero-shot",
    distance: str | None = None,
    center: bool = True,
    alpha: float = 0.05,
    tasks=None,
    models=None,
    model_families=None,
    metrics=None,
    intermediate_tasks=None,
    reference_intermediate_task: str | None = None,
    parameters=None,
    codes: str = "individual",
    source_languages=("en",),
    exclude_flags=EXCLUDED_FLAGS,
    impute_distances: bool | None = None,
) -> pd.DataFrame:
    """The gap between two settings across model sizes: ``gap ~ log_params (+ distance)``.

    Per (task, intermediate task, metric, source language), over the
    per-language gaps of every model with a parameter count, by OLS with
    standard errors clustered by language (the same language recurs across
    models; CR1, t with G-1 df).  By default the gap of multilingual over
    English intermediate training: a negative ``log_params`` coefficient
    means larger models need the multilingual data less.  For the
    interaction with distance and a random language intercept use
    :func:`xdist.analyses.scale_analysis` with the same two settings.

    Parameters
    ----------
    results : pandas.DataFrame
        A validated results table.
    setting, reference : str
        ``gap = score(setting) - score(reference)`` (e.g.
        ``"zero-shot+multilingual-intermediate+mlm"``).
    distance : str, optional
        A distance kind to add as a covariate (default none).
    center : bool
        Center ``log_params`` (and the distance) at the mean over the group's
        rows, so that the intercept is the gap of a model of mean log size.
    alpha : float
        One minus the confidence level.
    tasks, models, model_families, metrics, intermediate_tasks, reference_intermediate_task
        As in :func:`gap_summary`.
    parameters : dict, optional
        Parameter counts by model for models outside
        ``data/models/models.csv`` (your own); models without a count are
        left out with a caveat.
    codes, source_languages, exclude_flags, impute_distances
        As in :func:`xdist.analyses.analysis_frame`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GAP_SCALE_COLUMNS`, one row per term (``Intercept``,
        ``log_params`` - gap change per tenfold parameters - and the
        distance).  Groups with fewer than two model sizes are left out with
        a caveat.

    Examples
    --------
    >>> from xdist.results import read_results, shipped_results_paths
    >>> from xdist.analyses.compare import gap_scale
    >>> res = read_results(shipped_results_paths()[0])
    >>> tab = gap_scale(res, setting="translate-train-all", reference="zero-shot",
    ...                 tasks=["XNLI"], model_families=["XLM-R"])  # Base and Large
    >>> row = tab[tab.term == "log_params"].iloc[0]
    >>> int(row.n_models), int(row.n), row.models
    (2, 28, 'XLM-R Base, XLM-R Large')
    """
    alpha = check_alpha(alpha)
    if distance is not None:
        distance = check_choice("distance", [distance], DISTANCE_KINDS, what="distance kind")[0]
    if not isinstance(center, (bool, np.bool_)):
        raise ValueError(f"center={center!r} is not valid: expected True or False")
    gaps = _gaps(results, setting=setting, reference=reference,
                 distances=[distance or "syntactic"], tasks=tasks, models=models,
                 model_families=model_families, metrics=metrics,
                 intermediate_tasks=intermediate_tasks,
                 reference_intermediate_task=reference_intermediate_task,
                 source_languages=source_languages, exclude_flags=exclude_flags, codes=codes,
                 impute_distances=impute_distances, parameters=parameters,
                 use_distances=distance is not None, use_sizes=True)
    nosize = sorted(gaps.loc[gaps["log_params"].isna(), "model"].unique())
    if nosize:
        caveat(f"models without a parameter count are left out: {nosize}")
    gaps = gaps[np.isfinite(gaps["log_params"])]
    fams = sorted(set(gaps["model_family"]) - {""})
    if len(fams) > 1:
        caveat(f"models of several families ({fams}) are pooled: model size is confounded with "
               "architecture and pretraining data; model_families=[...] keeps one family")
    cols = ["log_params"] + ([distance] if distance else [])
    key = ["task", "intermediate_task", "reference_intermediate_task", "metric",
           "source_language"]
    rows = []
    for k, g in gaps.groupby(key, sort=False):
        g = g.dropna(subset=cols + ["gap"])
        label = f"{k[0]}/{k[1] or 'no intermediate'}/{k[3]}"
        sizes = g.drop_duplicates("model").sort_values("log_params")
        n_models = sizes["log_params"].nunique()
        if n_models < 2:
            caveat(f"{label}: {n_models} model size(s) ({', '.join(sizes['model'])}); no size "
                   "effect can be estimated")
            continue
        d = g[["gap", "language"] + cols].copy()
        if center:
            for c in cols:
                d[c] = d[c] - d[c].mean()
        coef = _fit(d, "gap ~ " + " + ".join(cols), cluster="language", alpha=alpha,
                    label=label)
        if coef is None:
            continue
        if n_models == 2:
            caveat(f"{label}: two model sizes only: the log_params coefficient is a contrast "
                   "between two models, not a trend")
        for r in coef.itertuples():
            rows.append(dict(zip(key, k), setting=setting, reference=reference, term=r.term,
                             estimate=r.estimate, se=r.se, ci_low=r.ci_low, ci_high=r.ci_high,
                             p_value=r.p_value, n=int(r.n), n_languages=g["language"].nunique(),
                             n_models=n_models, models=", ".join(sizes["model"]),
                             method=f"OLS, {r.se_type} clustered by language, {r.inference}",
                             distance=distance or "", centered=bool(center)))
    if not rows:
        raise ValueError(
            f"no task has gaps between {setting!r} and {reference!r} of two or more model sizes "
            "with parameter counts (check the filters; pass parameters={model: count} for "
            "models outside data/models/models.csv)"
        )
    return pd.DataFrame(rows)[GAP_SCALE_COLUMNS]


# --------------------------------------------------------------------------- multi-task


def _split_tasks(name: str, separator: str) -> list[str]:
    return [p.strip() for p in name.split(separator) if p.strip()]


def multitask_gains(
    results: pd.DataFrame,
    *,
    setting: str = "zero-shot+lora",
    single_setting: str | None = None,
    against: str = "best",
    separator: str = MULTITASK_SEPARATOR,
    tasks=None,
    models=None,
    metrics=None,
    source_languages=("en",),
    cluster: str = "language",
    ci: str = "bca",
    n_boot: int = 10_000,
    alpha: float = 0.05,
    exclude_flags=EXCLUDED_FLAGS,
    seed: int = 0,
) -> pd.DataFrame:
    """Does multi-task intermediate training beat single-task, and on which languages?

    A multi-task intermediate phase is an ``intermediate_task`` naming
    several tasks (``"MNLI,QQP"``, the sorted names joined by ``separator``
    as the training core writes them).  Its score is compared, language by
    language, with the score after one of its component tasks alone, for the
    same model, target task, metric and source language, by
    :func:`xdist.analyses.intermediate_gains` (seeds paired where both sides
    share them; mean over target languages with a bootstrap interval).

    Parameters
    ----------
    results : pandas.DataFrame
        A validated results table.
    setting : str
        Setting of the multi-task rows (default ``zero-shot+lora``:
        adapter-based; ``zero-shot+lora-shared`` for one shared adapter).
    single_setting : str, optional
        Setting of the single-task rows (default: ``setting``).
    against : {"best", "each"}
        ``"best"``: the component with the highest mean score over the
        target languages scored by every component and the multi-task run
        (chosen once per model, task and metric, never per language: a
        per-language maximum would favour the singles by chance);
        ``"each"``: every component in turn.
    separator : str
        Separator of the task names in a multi-task ``intermediate_task``.
    tasks, models, metrics : list of str, optional
        Restrict to these.
    source_languages, cluster, ci, n_boot, alpha, exclude_flags, seed
        As in :func:`xdist.analyses.intermediate_gains`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MULTITASK_COLUMNS`.  ``estimate = score(multi) -
        score(single)``; language rows (``level == "language"``, the source
        language included) with ``n_positive`` 1 where the multi-task run
        wins, and one ``level == "mean"`` row per comparison: the mean over
        the ``n`` target languages with a bootstrap interval, ``n_positive``
        the number of target languages won.

    Raises
    ------
    ValueError
        No multi-task rows in ``setting``, none of their components scored
        in ``single_setting``, or an argument outside its accepted values.

    Examples
    --------
    >>> import pandas as pd
    >>> from xdist.results import validate_results
    >>> from xdist.analyses.compare import multitask_gains
    >>> langs = ["en", "de", "fr", "es", "ru", "zh"]
    >>> base = [85.0, 78.0, 79.0, 80.0, 74.0, 72.0]
    >>> shift = {"MNLI": 0.0, "QQP": -1.0, "MNLI,QQP": 1.5}
    >>> res = validate_results(pd.DataFrame([
    ...     dict(intermediate_task=t, language=l, score=s + d)
    ...     for t, d in shift.items() for l, s in zip(langs, base)]).assign(
    ...     model="m", setting="zero-shot+lora", target_task="XNLI",
    ...     metric="accuracy", seed="", source="example"))
    >>> tab = multitask_gains(res, n_boot=999, ci="percentile")
    >>> tab.loc[tab.level == "mean", ["multi_task", "single_task", "estimate", "n", "n_positive"]]
      multi_task single_task  estimate  n  n_positive
    6   MNLI,QQP        MNLI       1.5  5           5
    """
    _check_results(results)
    check_choice("against", [against], AGAINST, what="comparison")
    n_boot, alpha, seed = _check_common(cluster, ci, n_boot, alpha, seed)
    if not isinstance(separator, str) or not separator:
        raise ValueError(f"separator={separator!r} is not valid: expected a non-empty string "
                         "such as ','")
    single_setting = setting if single_setting is None else single_setting
    if not isinstance(setting, str) or not isinstance(single_setting, str):
        raise ValueError(f"setting={setting!r}, single_setting={single_setting!r}: expected "
                         "setting values such as 'zero-shot+lora'")
    sub = _require_settings(results, dict.fromkeys([setting, single_setting]), tasks)
    sub = _filter(sub, "model", models, "model", "model")
    sub = _filter(sub, "metric", metrics, "metric", "metric")
    multi_rows = sub[(sub["setting"] == setting)
                     & (sub["intermediate_task"].map(lambda t: len(_split_tasks(t, separator)))
                        > 1)]
    if multi_rows.empty:
        present = sorted(sub.loc[sub["setting"] == setting, "intermediate_task"].unique())
        raise ValueError(
            f"no rows with a multi-task intermediate_task (task names joined by {separator!r}, "
            f"e.g. 'MNLI{separator}QQP') in setting {setting!r}: intermediate tasks present "
            f"are {present}"
        )
    singles = sub[(sub["setting"] == single_setting)
                  & (sub["intermediate_task"].map(lambda t: len(_split_tasks(t, separator)))
                     == 1)]
    singles = singles.assign(intermediate_task=singles["intermediate_task"].str.strip(),
                             setting=setting)
    group = ["target_task", "model", "metric", "source_language"]
    parts = []
    missing = []
    for k, mg in multi_rows.groupby(group + ["intermediate_task"], sort=False):
        multi = k[-1]
        comps = _split_tasks(multi, separator)
        sg = singles
        for c, v in zip(group, k[:-1]):
            sg = sg[sg[c] == v]
        have = [c for c in comps if (sg["intermediate_task"] == c).any()]
        if len(have) < len(comps):
            missing.append(f"{k[1]}/{k[0]}/{multi}: {sorted(set(comps) - set(have))}")
        if not have:
            continue
        if against == "best":
            langs = set(mg["language"]) - {k[3]}
            for c in have:
                langs &= set(sg.loc[sg["intermediate_task"] == c, "language"])
            means = {c: sg[(sg["intermediate_task"] == c)
                           & sg["language"].isin(langs)]["score"].mean() for c in have}
            have = [c for c in have if np.isfinite(means[c])]
            if not have:
                missing.append(f"{k[1]}/{k[0]}/{multi}: no target language scored by the "
                               "multi-task run and every component")
                continue
            chosen = [max(have, key=lambda c: (means[c], -have.index(c)))]
        else:
            chosen = have
        for c in chosen:
            part = pd.concat([mg, sg[sg["intermediate_task"] == c]], ignore_index=True)
            tab = intermediate_gains(
                part, baseline=c, intermediate_tasks=[multi], source_languages=[k[3]],
                cluster=cluster, ci=ci, n_boot=n_boot, alpha=alpha,
                exclude_flags=exclude_flags, seed=seed)
            parts.append(tab)
    if missing:
        caveat(f"{len(missing)} multi-task run(s) lack single-task scores of some components "
               f"in setting {single_setting!r} (or shared languages): " + "; ".join(missing[:4])
               + ("; ..." if len(missing) > 4 else ""))
    if not parts:
        raise ValueError(
            f"no multi-task run has a single-task score of one of its components in setting "
            f"{single_setting!r} for the same model, task and metric: nothing to compare"
        )
    out = pd.concat(parts, ignore_index=True).rename(
        columns={"intermediate_task": "multi_task", "baseline": "single_task",
                 "baseline_score": "single_score"})
    out["single_setting"] = single_setting
    out["against"] = against
    lang = out["level"] == "language"
    out["n_positive"] = np.where(lang, (out["estimate"] > 0).astype(int), 0)
    key = ["task", "model", "metric", "source_language", "multi_task", "single_task"]
    target = lang & (out["language"] != out["source_language"])
    wins = out[target].groupby(key)["n_positive"].sum()
    mean_idx = out.index[~lang]
    out.loc[mean_idx, "n_positive"] = [
        int(wins.get(tuple(r), 0)) for r in out.loc[mean_idx, key].itertuples(index=False)]
    out["n_positive"] = out["n_positive"].astype(int)
    out["method"] = np.where(lang, out["method"], "mean over languages, bootstrap over "
                             + out["resample_unit"] + "s")
    return out[MULTITASK_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- slopes


def _weighted_slopes(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Least-squares slopes of ``y`` on ``x`` for each column of weights ``w`` (n, B)."""
    s0 = w.sum(axis=0)
    sx, sy = x @ w, y @ w
    sxx, sxy = (x * x) @ w, (x * y) @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        den = sxx - sx * sx / s0
        slope = (sxy - sx * sy / s0) / den
    slope[~(den > 1e-12 * np.maximum(sxx, 1.0))] = np.nan
    return slope


def _strata_plan(langs, strata, *, n_boot, seed, key, clusters):
    """Bootstrap weights (n, B) and jackknife weights (n, G) resampling within each stratum.

    Languages of a stratum (shared by both experiments, or scored in only one)
    are resampled among themselves (whole families with ``clusters``), so each
    side keeps its number of languages; the jackknife leaves out one unit
    (language or family within a stratum) at a time.
    """
    from xdist.stats.bootstrap import ResamplePlan

    n = len(langs)
    w = np.zeros((n, n_boot))
    jack = []
    n_clusters = 0
    for name in ("shared", "first", "second"):
        idx = np.flatnonzero(strata == name)
        if not len(idx):
            continue
        plan = ResamplePlan(len(idx), n_boot=n_boot, seed=group_seed(seed, (*key, name)),
                            clusters=None if clusters is None else clusters[idx])
        w[idx] = plan.weights_t
        jw = np.ones((plan.n_clusters, n))
        jw[:, idx] = plan.jackknife_weights
        jack.append(jw)
        n_clusters += plan.n_clusters
    return w, np.concatenate(jack).T, n_clusters


def slope_comparison(
    results: pd.DataFrame,
    *,
    settings=None,
    reference: str = "zero-shot",
    distance: str = "syntactic",
    outcome: str = "degradation",
    reference_models=None,
    match_models: bool = False,
    tasks=None,
    models=None,
    metrics=None,
    cluster: str = "language",
    ci: str = "bca",
    n_boot: int = 10_000,
    alpha: float = 0.05,
    codes: str = "individual",
    source_languages=("en",),
    exclude_flags=EXCLUDED_FLAGS,
    impute_distances: bool | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Degradation against distance of some settings beside a reference setting's.

    For every experiment (model, setting, intermediate task, task, metric,
    source language) in ``settings`` or ``reference``, the slope of
    ``outcome ~ distance`` (OLS over its target languages, standard errors
    clustered by ``cluster``: CR1, t with G-1 df).  Then, for every
    experiment in ``settings`` and every reference experiment of the same
    task, metric and source language, the difference of the slopes
    ``slope - reference slope`` with a bootstrap interval: languages (or
    whole families) are resampled and both slopes are refitted on each
    resample.  The languages scored in both experiments are resampled
    together (paired: a drawn language enters both fits); those scored in
    only one are resampled among themselves (strata), so each fit keeps its
    number of languages.  By default the settings are every
    decoder-LLM setting (``llm-0shot``, ``llm-5shot``, ``llm-0shot+lora``,
    ...) and the reference the encoder's full fine-tuning (``zero-shot``).

    Parameters
    ----------
    results : pandas.DataFrame
        A validated results table.  Degradation is computed within each
        experiment, against its own source-language score.
    settings : list of str, optional
        Settings to compare with ``reference`` (default: every ``llm-*``
        setting present).
    reference : str
        Reference setting (default ``zero-shot``).
    distance : str
        Distance kind.
    outcome : {"degradation", "degradation_relative"}
    reference_models : list of str, optional
        Models of the reference setting to compare with (default all).
    match_models : bool
        Compare an experiment only with reference experiments of the same
        model (e.g. translate-train-all against zero-shot of each model);
        default False: with every reference model (an LLM against each
        encoder).
    tasks, models, metrics : list of str, optional
        Restrict to these (``models`` filters both sides).
    cluster : {"language", "family"}
        Cluster of the slope standard errors and resampling unit of the
        difference.
    ci : {"bca", "percentile"}
        Bootstrap interval method of the difference.
    n_boot : int
        Bootstrap resamples (at least 100).
    alpha : float
        One minus the confidence level.
    codes, source_languages, exclude_flags, impute_distances
        As in :func:`xdist.analyses.analysis_frame`.
    seed : int
        Seed of the bootstrap; each pair draws from its own stream.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SLOPE_COMPARISON_COLUMNS`.  ``quantity == "slope"``:
        one row per experiment (the reference experiments included; the
        ``reference_*`` columns empty), ``p_value`` of slope = 0, ``n``
        languages.  ``quantity == "slope_difference"``: one row per (experiment,
        reference experiment), ``se`` the bootstrap standard deviation,
        ``p_value`` NaN, ``n``/``n_reference`` the languages of each side,
        ``n_shared`` those of both.

    Raises
    ------
    ValueError
        No rows of ``settings`` (no LLM setting by default) or of
        ``reference``, or an argument outside its accepted values.

    Examples
    --------
    >>> from xdist.results import read_results, shipped_results_paths
    >>> from xdist.analyses.compare import slope_comparison
    >>> res = read_results(shipped_results_paths()[0])
    >>> tab = slope_comparison(res, settings=["translate-train-all"], tasks=["XNLI"],
    ...                        models=["XLM-R Base"], n_boot=1000, seed=0)
    >>> diff = tab[tab.quantity == "slope_difference"].iloc[0]
    >>> diff.setting, diff.reference_setting, int(diff.n_shared), bool(diff.estimate < 0)
    ('translate-train-all', 'zero-shot', 14, True)
    """
    _check_results(results)
    distance = check_choice("distance", [distance], DISTANCE_KINDS, what="distance kind")[0]
    check_choice("outcome", [outcome], OUTCOMES, what="outcome")
    n_boot, alpha, seed = _check_common(cluster, ci, n_boot, alpha, seed)
    if not isinstance(reference, str) or not reference:
        raise ValueError(f"reference={reference!r} is not valid: expected a setting such as "
                         "'zero-shot'")
    scoped = _filter(results, "target_task", tasks, "task", "task")
    if settings is None:
        settings = sorted(s for s in scoped["setting"].unique() if _LLM.match(s))
        if not settings:
            raise ValueError(
                "no rows with a decoder-LLM setting (llm-<k>shot, e.g. llm-0shot, llm-5shot) "
                f"in results: settings present are {sorted(scoped['setting'].unique())}; pass "
                "settings=[...] to compare others"
            )
    settings = [settings] if isinstance(settings, str) else list(dict.fromkeys(settings))
    if not isinstance(match_models, (bool, np.bool_)):
        raise ValueError(f"match_models={match_models!r} is not valid: expected True or False")
    if reference in settings:
        raise ValueError(f"settings={settings!r} include reference={reference!r}: expected "
                         "settings to compare with it")
    sub = _require_settings(results, [*settings, reference], tasks)
    sub = _filter(sub, "model", models, "model", "model")
    sub = sub[sub["setting"].isin([*settings, reference])]
    if reference_models is not None:
        refm = check_choice("reference_models", reference_models,
                            sorted(sub.loc[sub["setting"] == reference, "model"].unique()),
                            what=f"model of setting {reference!r}")
        sub = sub[(sub["setting"] != reference) | sub["model"].isin(refm)]
    frame = analysis_frame(sub, metrics=metrics, source_languages=source_languages,
                           kinds=[distance], codes=codes, exclude_flags=exclude_flags,
                           impute_distances=impute_distances)
    runs = frame.groupby(EXPERIMENT + ["language"])["run"].nunique()
    if (runs > 1).any():
        k = runs[runs > 1].index[0]
        caveat(f"{int((runs > 1).sum())} language score(s) average several published runs "
               f"(e.g. {k[1]}/{k[0]}/{k[2]}/{k[6]})")
    data = (frame.groupby(EXPERIMENT + ["language"], sort=False)
            .agg(y=(outcome, "mean"), x=(distance, "first"), family=("family", "first"))
            .reset_index())
    data = data[np.isfinite(data["x"]) & np.isfinite(data["y"])]

    rows, slopes = [], {}
    for k, g in data.groupby(EXPERIMENT, sort=False):
        label = "/".join(str(v) for v in (k[1], k[2], k[0], k[4]))
        coef = _fit(g.rename(columns={"y": outcome, "x": distance}),
                    f"{outcome} ~ {distance}", cluster=cluster, alpha=alpha, label=label)
        if coef is None:
            continue
        r = coef[coef["term"] == distance].iloc[0]
        slopes[k] = (g, float(r.estimate))
        rows.append(dict(zip(EXPERIMENT, k), quantity="slope", reference_model="",
                         reference_setting="", reference_intermediate_task="",
                         estimate=r.estimate, se=r.se, ci_low=r.ci_low, ci_high=r.ci_high,
                         p_value=r.p_value, n=int(r.n), n_reference=0, n_shared=0,
                         n_clusters=r.n_clusters,
                         method=f"OLS, {r.se_type} clustered by {cluster}, {r.inference}",
                         distance=distance, outcome=outcome))
    from xdist.languages import load_languages
    from xdist.stats.bootstrap import bootstrap_interval

    fam = load_languages().set_index("code")["family"]
    compared = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k, (g, est) in slopes.items():
            if k[2] == reference:
                continue
            for kr, (gr, est_r) in slopes.items():
                if kr[2] != reference or (kr[0], kr[4], kr[5]) != (k[0], k[4], k[5]):
                    continue
                if match_models and kr[1] != k[1]:
                    continue
                compared += 1
                langs = sorted(set(g["language"]) | set(gr["language"]))
                x = (pd.concat([g, gr]).drop_duplicates("language").set_index("language")["x"]
                     .reindex(langs).to_numpy(float))
                ya = g.set_index("language")["y"].reindex(langs)
                yb = gr.set_index("language")["y"].reindex(langs)
                ma, mb = ya.notna().to_numpy(float), yb.notna().to_numpy(float)
                ya, yb = ya.fillna(0.0).to_numpy(float), yb.fillna(0.0).to_numpy(float)
                clusters = None
                if cluster == "family":
                    clusters = fam.reindex(langs).fillna("").to_numpy(dtype=object)
                    bad = [lang for lang, c in zip(langs, clusters) if c == ""]
                    if bad:
                        raise ValueError("cluster='family' needs a family for every language; "
                                         f"missing for {bad[:10]}")
                strata = np.where(ma * mb > 0, "shared", np.where(ma > 0, "first", "second"))
                w, jw, n_clusters = _strata_plan(np.asarray(langs), strata, n_boot=n_boot,
                                                 seed=seed, key=(*k, *kr), clusters=clusters)
                reps = (_weighted_slopes(x, ya, w * ma[:, None])
                        - _weighted_slopes(x, yb, w * mb[:, None]))
                jack = (_weighted_slopes(x, ya, jw * ma[:, None])
                        - _weighted_slopes(x, yb, jw * mb[:, None]))
                diff = est - est_r
                label = f"{k[1]}/{k[2]} - {kr[1]}/{kr[2]} ({k[0]}/{k[4]})"
                lo, hi = bootstrap_interval(reps, diff, jack, ci=ci, alpha=alpha, labels=[label])
                n_shared = int((ma * mb).sum())
                pairing = ("paired" if n_shared == len(langs)
                           else "paired on shared languages, stratified")
                rows.append(dict(zip(EXPERIMENT, k), quantity="slope_difference",
                                 reference_model=kr[1], reference_setting=kr[2],
                                 reference_intermediate_task=kr[3], estimate=diff,
                                 se=float(np.nanstd(reps, ddof=1)), ci_low=lo, ci_high=hi,
                                 p_value=np.nan, n=int(ma.sum()), n_reference=int(mb.sum()),
                                 n_shared=n_shared, n_clusters=float(n_clusters),
                                 method=f"difference of OLS slopes, {ci} bootstrap over "
                                        f"{cluster}s ({pairing})",
                                 distance=distance, outcome=outcome))
    _relay(caught)
    if not compared:
        raise ValueError(
            f"no experiment of settings {settings} has a reference experiment of setting "
            f"{reference!r} with the same task, metric and source language and enough "
            "languages to fit a slope"
        )
    return pd.DataFrame(rows)[SLOPE_COMPARISON_COLUMNS]
