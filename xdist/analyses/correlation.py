"""Degradation versus typological distance: the correlation table."""

from __future__ import annotations

import re
import warnings

import pandas as pd

from xdist._checks import check_choice
from xdist.analyses.frame import EXPERIMENT_COLUMNS, analysis_frame
from xdist.caveats import caveat
from xdist.distances import DISTANCE_KINDS
from xdist.results import EXCLUDED_FLAGS
from xdist.stats.correlation import correlation_table

__all__ = ["CORRELATION_COLUMNS", "METHODS", "correlate"]

METHODS = ("pearson", "spearman", "kendall")
CONTROLS = ("pretraining_size",)
CLUSTERS = ("language", "family")
OUTCOMES = ("degradation", "degradation_relative")

#: Leading columns of :func:`correlate`'s result, in order.
CORRELATION_COLUMNS = [
    "task",
    "model",
    "setting",
    "intermediate_task",
    "metric",
    "source_language",
    "run",
    "distance",
    "method",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "n",
]

#: Fewer target languages than this in an experiment gives a caveat.
FEW_LANGUAGES = 10
#: Fewer resampled families than this gives a caveat (cluster bootstrap).
FEW_CLUSTERS = 10


def correlate(
    results: pd.DataFrame,
    *,
    tasks=None,
    models=None,
    metrics=None,
    settings=None,
    distances=DISTANCE_KINDS,
    methods=None,
    outcome: str = "degradation",
    ci: str = "bca",
    n_boot: int = 10_000,
    n_perm: int = 9_999,
    cluster: str = "language",
    control: str | None = None,
    adjust: str = "holm",
    alpha: float = 0.05,
    codes: str = "individual",
    source_languages=("en",),
    exclude_flags=EXCLUDED_FLAGS,
    impute_distances: bool | None = None,
    min_languages: int | None = 5,
    seed: int = 0,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Correlate degradation with each distance kind, per experiment.

    One row per (task, model, setting, intermediate task, metric, source
    language, run) x distance kind x method, over the target languages of
    that experiment (degradation averaged over seeds first: the language is
    the unit).

    Parameters
    ----------
    results : pandas.DataFrame
        A validated results table (:func:`xdist.results.read_results`).
    tasks, models, metrics, settings : list of str, optional
        Restrict to these (default: all in ``results``).
    distances : list of str
        Distance kinds (default all six, :data:`xdist.distances.DISTANCE_KINDS`).
    methods : list of {"pearson", "spearman", "kendall"}, optional
        Default: all three, or Pearson and Spearman with ``control``.
    outcome : {"degradation", "degradation_relative"}
    ci : {"bca", "percentile"}
        Bootstrap interval method.
    n_boot : int
        Bootstrap resamples.
    n_perm : int
        Permutations for the p-value.
    cluster : {"language", "family"}
        Resampling unit: languages, or whole language families.
    control : {None, "pretraining_size"}
        Partial correlation controlling for ``log_size``.
    adjust : {"holm", "fdr_bh", "none"}
        Multiple-comparison adjustment across the whole table.
    alpha : float
        1 - confidence level of the intervals.
    codes : {"individual", "lang2vec"}
        Language-code mode of the distances.
    source_languages : list of str or None
        Fine-tuning languages to keep (default English; None = all).
    exclude_flags : iterable of str
        Flagged rows to exclude (default ``superseded`` and ``duplicate``).
    impute_distances : bool or None
        Use lang2vec's default vector for languages without URIEL data in a
        kind.  Default: yes with ``codes="lang2vec"`` (published values), else
        leave them out of that kind's correlations (``n`` says how many
        languages each estimate used).
    min_languages : int or None
        Experiments with fewer target languages are left out (reported as a
        caveat); ``None`` keeps all (groups with fewer than 3 get NaN).
    seed : int
        Seed of the bootstrap and permutations; the same seed gives the same table.
    n_jobs : int
        Processes for the bootstrap (the table does not depend on it).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CORRELATION_COLUMNS`, then ``ci_method, n_boot, n_perm,
        resample_unit, n_clusters, covariates, adjust, p_value_analytic,
        outcome, distance_codes``.

    Examples
    --------
    >>> from xdist.results import load_shipped_results
    >>> from xdist.analyses import correlate
    >>> tab = correlate(load_shipped_results(), tasks=["UD-POS"], distances=["syntactic"],
    ...                 methods=["spearman"], n_boot=2000, n_perm=999, seed=1)
    >>> row = tab.iloc[0]  # 81 of the 104 targets have URIEL syntactic data
    >>> int(row.n), round(float(row.estimate), 2), bool(row.ci_low < row.estimate < row.ci_high)
    (81, 0.54, True)
    """
    if methods is None:  # all that apply: Kendall has no partial version
        methods = METHODS if control is None else ("pearson", "spearman")
    methods = check_choice("method", methods, METHODS, what="method")
    if control is not None and "kendall" in methods:
        raise ValueError(
            f"method='kendall' cannot be combined with control={control!r} (there is no "
            "standard partial Kendall correlation): use method pearson or spearman "
            "(--method pearson --method spearman)"
        )
    distances = check_choice("distance", distances, DISTANCE_KINDS, what="distance kind")
    check_choice("ci", [ci], ("bca", "percentile"), what="interval method")
    check_choice("cluster", [cluster], CLUSTERS, what="resampling unit")
    check_choice("outcome", [outcome], OUTCOMES, what="outcome")
    if control is not None:
        check_choice("control", [control], CONTROLS, what="covariate")
    for name, val, low in (("n_boot", n_boot, 100), ("n_perm", n_perm, 0)):
        if isinstance(val, bool) or not isinstance(val, int) or val < low:
            raise ValueError(f"{name}={val!r} is not valid: expected an integer >= {low}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed={seed!r} is not valid: expected a non-negative integer")

    frame = analysis_frame(
        results,
        tasks=tasks,
        models=models,
        metrics=metrics,
        settings=settings,
        source_languages=source_languages,
        kinds=distances,
        codes=codes,
        exclude_flags=exclude_flags,
        impute_distances=impute_distances,
    )
    sizes = frame.groupby(EXPERIMENT_COLUMNS, sort=False, dropna=False)["language"].nunique()
    if cluster == "family":
        missing = frame["family"].isna() | (frame["family"] == "")
        if missing.any():
            raise ValueError(
                f"cluster='family' needs a family for every language; missing for "
                f"{sorted(frame.loc[missing, 'language'].unique())[:10]}"
            )
    covariates = ["log_size"] if control == "pretraining_size" else None

    if min_languages is not None:
        small = sizes[sizes < min_languages]
        if len(small):
            keep = ~frame.set_index(EXPERIMENT_COLUMNS).index.isin(small.index)
            frame = frame[keep]
            caveat(
                f"{len(small)} experiment(s) with fewer than {min_languages} target languages "
                f"left out (" + "; ".join(
                    f"{k[0]}/{k[1]}/{k[2]}: n={int(v)}" for k, v in small.head(4).items())
                + ("; ..." if len(small) > 4 else "") + "); lower min_languages (--min-languages) to keep them"
            )
            if frame.empty:
                raise ValueError(
                    f"min_languages={min_languages}: no experiment has that many target "
                    f"languages (largest n={int(sizes.max())}); lower min_languages"
                )

    kept_sizes = sizes[sizes >= (min_languages or 0)]
    few = kept_sizes[kept_sizes < FEW_LANGUAGES]
    if len(few):
        caveat(
            f"{len(few)} of {len(kept_sizes)} experiment(s) have fewer than {FEW_LANGUAGES} target "
            f"languages (smallest n={int(few.min())}): intervals are wide and BCa is unreliable"
        )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = correlation_table(
            frame,
            x=list(distances),
            y=outcome,
            by=EXPERIMENT_COLUMNS,
            methods=tuple(methods),
            ci=ci,
            n_boot=n_boot,
            n_perm=n_perm,
            units="language",
            clusters="family" if cluster == "family" else None,
            covariates=covariates,
            alpha=alpha,
            adjust=adjust,
            seed=seed,
            n_jobs=n_jobs,
        )
    _summarise_warnings(caught)
    if cluster == "family":
        few_cl = table[table["n_clusters"] < FEW_CLUSTERS]
        if len(few_cl):
            caveat(
                f"{len(few_cl)} row(s) resample fewer than {FEW_CLUSTERS} families (smallest "
                f"{int(few_cl['n_clusters'].min())}): a cluster bootstrap over so few families "
                "gives intervals that are too narrow or degenerate; read them as unreliable"
            )
    table = table.rename(columns={"variable": "distance"})
    table["outcome"] = outcome
    table["distance_codes"] = codes
    rest = [c for c in table.columns if c not in CORRELATION_COLUMNS]
    return table[CORRELATION_COLUMNS + rest].reset_index(drop=True)


def _summarise_warnings(caught) -> None:
    """Turn the per-row warnings of the statistics layer into a few caveats."""
    from xdist.caveats import DataCaveatWarning

    kinds: dict[str, int] = {}
    examples: dict[str, str] = {}
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, DataCaveatWarning):
            caveat(msg)
            continue
        if "BCa interval undefined" in msg:
            key = "BCa interval undefined (NaN interval; try --ci percentile or more languages)"
        elif "replicates undefined" in msg:
            key = ("bootstrap resamples with a constant variable left out of the interval, "
                   "as R's boot.ci does")
        elif "extreme order statistics" in msg:
            key = ("interval endpoint at the most extreme bootstrap replicate "
                   "(interval as wide as the resamples allow; more --n-boot helps)")
        elif "dropped" in msg and "missing" in msg:
            continue  # already reported as the URIEL-data caveat
        else:
            # anything else from the statistics layer: one caveat per kind of message
            key = re.sub(r"\(task=.*?\)(, variable\(s\)? [^:]*)?", "(...)", msg)
            key = re.sub(r"^correlation_table: ", "", key)
            key = re.sub(r"\[[^\]]*\]", "[...]", key)
        kinds[key] = kinds.get(key, 0) + 1
        m = re.search(r"\(task='([^']*)', model='([^']*)'", msg)
        examples.setdefault(key, f"{m.group(1)}/{m.group(2)}" if m else "")
    for key, count in kinds.items():
        eg = f", e.g. {examples[key]}" if examples[key] else ""
        caveat(f"{count} row(s): {key}{eg}")
