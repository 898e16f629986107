"""Run the analyses of a report and collect them as renderer-neutral blocks."""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import os
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from xdist.report.content import Bullets, Figure, Paragraph, Report, Section, Table

__all__ = ["build_report", "REPORT_STEPS", "LARGE_TASK"]

#: Steps announced by the progress printer.
REPORT_STEPS = ["load", "correlate", "models", "figures", "write"]
#: Tasks with at least this many target languages get their own OLS; smaller
#: tasks are pooled in the mixed model.
LARGE_TASK = 20
#: Metric kept per task for models and figures when a task reports several.
PREFERRED_METRICS = ("f1", "accuracy")
DISTANCE_KINDS = ("syntactic", "phonological", "inventory", "featural", "geographic", "genetic")
FIGURE_DPI = 170
#: Experiments with fewer target languages are left out of correlations and figures.
MIN_LANGUAGES = 5


# ----------------------------------------------------------------------------- helpers
def _num(v, nd=3) -> str:
    if v is None or v is pd.NA:
        return "-"
    try:
        if not np.isfinite(float(v)):
            return "-"
    except (TypeError, ValueError):
        return str(v)
    return f"{float(v):.{nd}f}"


def _p(v) -> str:
    if v is None or pd.isna(v):
        return "-"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _ci(lo, hi, nd=3) -> str:
    return f"[{_num(lo, nd)}, {_num(hi, nd)}]"


def _float(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _git_revision() -> str:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return "not available (not a git checkout)"
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not available"
    return f"{rev}{' (with uncommitted changes)' if dirty else ''}"


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def _report_date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        when = _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc)
    else:
        when = _dt.datetime.now(tz=_dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _display_path(p) -> str:
    p = Path(p)
    root = Path(__file__).resolve().parents[2]
    try:
        return str(p.resolve().relative_to(root))
    except ValueError:
        return str(p)


def _one_metric(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep one metric per task: F1, else accuracy, else the first in sort order."""
    keep = []
    for task, sub in frame.groupby("task", sort=True):
        mets = sorted(sub["metric"].unique())
        pick = next((m for m in PREFERRED_METRICS if m in mets), mets[0])
        keep.append(sub[sub["metric"] == pick])
    return pd.concat(keep, ignore_index=True) if keep else frame.iloc[:0]


def _reference_experiments(frame: pd.DataFrame) -> pd.DataFrame:
    """One experiment per task for the figures: the (model, run) with the most
    target languages; ties go to the model present in most tasks, then by name."""
    n_tasks = frame.groupby("model")["task"].nunique()
    rows = []
    for task, sub in frame.groupby("task", sort=True):
        cand = (sub.groupby(["model", "run"], dropna=False)["language"].nunique()
                .rename("n").reset_index())
        cand["n_tasks"] = cand["model"].map(n_tasks)
        cand = cand.sort_values(["n", "n_tasks", "model", "run"],
                                ascending=[False, False, True, True])
        best = cand.iloc[0]
        rows.append({"task": task, "model": best["model"], "run": best["run"], "n": int(best["n"])})
    return pd.DataFrame(rows)


def _figure_png(fig, dpi: int = FIGURE_DPI) -> tuple[bytes, tuple]:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    size = tuple(float(x) for x in fig.get_size_inches())
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue(), size


def _model_block(name: str, title: str, rep, note: str) -> list:
    """Blocks of one fitted model (a ModelReport)."""
    fit = rep.fit
    blocks = [Paragraph(title, "subhead"), Paragraph(note, "small")]
    if fit.get("model") == "mixed":
        groups = fit.get("n_groups") or {}
        gtxt = ", ".join(f"{k}: {v}" for k, v in groups.items())
        blocks.append(Paragraph(
            f"Linear mixed model, {fit.get('method', '')}: {fit.get('formula', '')}. "
            f"n = {fit.get('n_obs')} rows ({gtxt}); log-likelihood {_num(fit.get('loglik'), 2)}, "
            f"AIC {_num(fit.get('aic'), 1)}, BIC {_num(fit.get('bic'), 1)}; "
            f"converged: {'yes' if fit.get('converged') else 'NO'}; "
            f"singular: {'YES' if fit.get('singular') else 'no'}. Intervals and p: Wald z.",
            "body"))
    else:
        blocks.append(Paragraph(
            f"Least squares: {fit.get('formula', '')}. n = {int(fit.get('n', 0))} languages, "
            f"{int(fit.get('n_clusters') or 0)} clusters ({fit.get('cluster')}); "
            f"R2 = {_num(fit.get('r2'))}; standard errors {fit.get('se_type')} clustered by "
            f"{fit.get('cluster')}, inference {fit.get('inference')}.", "body"))
    rows, vals = [], []
    for r in rep.fixed.to_dict(orient="records"):
        rows.append([str(r["term"]), _num(r["estimate"]), _num(r["se"]),
                     _ci(r["ci_low"], r["ci_high"]), _p(r.get("p_value"))])
        vals.append([None] + [_float(r.get(c)) for c in ("estimate", "se")]
                    + [None, _float(r.get("p_value"))])
    blocks.append(Table(["term", "estimate", "SE", "95% CI", "p"], rows,
                        widths=[26, 10, 9, 22, 8], align=["l", "r", "r", "r", "r"],
                        caption="Fixed effects", name=f"{name}-fixed", values=vals))
    if len(rep.random):
        rows = []
        for r in rep.random.to_dict(orient="records"):
            term = "" if r.get("term") is None or pd.isna(r.get("term")) else str(r["term"])
            t2 = r.get("term2")
            if isinstance(t2, str) and t2:
                term = f"{term} x {t2}"
            rows.append([str(r.get("group", "")), term, _num(r.get("variance")),
                         _num(r.get("sd")), _num(r.get("correlation"))])
        blocks.append(Table(["group", "term", "variance", "SD", "correlation"], rows,
                            widths=[14, 22, 10, 9, 11], align=["l", "l", "r", "r", "r"],
                            caption="Random effects", name=f"{name}-random"))
    if rep.warnings:
        blocks.append(Paragraph("Warnings raised by this fit:", "small"))
        blocks.append(Bullets([str(w) for w in rep.warnings]))
    else:
        blocks.append(Paragraph("No warnings raised by this fit.", "small"))
    return blocks


# ----------------------------------------------------------------------------- main
def build_report(
    results=None,
    *,
    tasks=None,
    methods=("spearman",),
    distance: str = "syntactic",
    n_boot: int = 2000,
    n_perm: int = 9999,
    seed: int = 0,
    full_table: bool = False,
    figure_dpi: int = FIGURE_DPI,
    command: str | None = None,
    progress=None,
) -> Report:
    """Run the analyses of the report and return its content.

    Parameters
    ----------
    results : list of path, optional
        Results files (CSV or Parquet, :func:`xdist.results.read_results`);
        default: the shipped published results.
    tasks : list of str, optional
        Target tasks to analyse (default: all).
    methods : list of {"pearson", "spearman", "kendall"}
        Correlation methods of the main table (default Spearman).
    distance : str
        Distance kind used in the models and figures (default syntactic); the
        correlation table always has all six.
    n_boot, n_perm : int
        Bootstrap resamples and permutations of the correlations.
    seed : int
        Seed of every random procedure; the same inputs and seed give the same numbers.
    full_table : bool
        Add an appendix with Pearson, Spearman and Kendall and the details
        of each row (costs about three times the correlation time).
    figure_dpi : int
        Resolution of the figures (PNG, embedded in PDF and HTML).
    command : str, optional
        The command line to print on the title page.
    progress : xdist.report.progress.Progress, optional

    Returns
    -------
    xdist.report.content.Report

    Examples
    --------
    >>> from xdist.report import build_report
    >>> rep = build_report(tasks=["PAWS-X"], n_boot=200, n_perm=99, seed=1)  # doctest: +SKIP
    >>> [s.title for s in rep.sections][:2]  # doctest: +SKIP
    ['What was analysed', 'Methods']
    """
    from xdist import __version__
    from xdist.analyses import analysis_frame, correlate
    from xdist.analyses.frame import check_choice
    from xdist.caveats import collect_caveats
    from xdist.results import EXCLUDED_FLAGS, FLAGS, read_results, shipped_results_paths

    from xdist.report.progress import Progress

    methods = check_choice("method", methods, ("pearson", "spearman", "kendall"), what="method")
    check_choice("distance", [distance], DISTANCE_KINDS, what="distance kind")
    for pname, val, low in (("n_boot", n_boot, 100), ("n_perm", n_perm, 0), ("seed", seed, 0),
                            ("figure_dpi", figure_dpi, 30)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < low:
            raise ValueError(f"{pname}={val!r} is not valid: expected an integer >= {low}")
    progress = progress or Progress(REPORT_STEPS, enabled=False)
    shipped = results is None
    paths = [Path(p) for p in (shipped_results_paths() if shipped else results)]
    for p in paths:
        if not p.exists():
            raise ValueError(f"--results {str(p)!r}: file not found")

    settings = dict(
        results=[_display_path(p) for p in paths], shipped=shipped,
        tasks=list(tasks) if tasks else None, methods=list(methods), distances=list(DISTANCE_KINDS),
        model_distance=distance, outcome="degradation", ci="bca", n_boot=int(n_boot),
        n_perm=int(n_perm), cluster="language", adjust="holm", codes="individual",
        impute_distances=False, min_languages=MIN_LANGUAGES, source_languages=["en"],
        exclude_flags=list(EXCLUDED_FLAGS), seed=int(seed), full_table=bool(full_table),
    )
    models: dict = {}
    figures: list = []
    model_blocks: list = []
    extra_notes: list = []

    with collect_caveats() as notes:
        # -- load
        progress.step("load")
        res = read_results(paths)
        frame = analysis_frame(res, tasks=tasks, source_languages=("en",))
        task_list = sorted(frame["task"].unique())
        raw = res[res["target_task"].isin(task_list)]

        # -- correlate
        progress.step("correlate")
        corr_kw = dict(tasks=task_list, distances=DISTANCE_KINDS, outcome="degradation",
                       ci="bca", n_boot=int(n_boot), n_perm=int(n_perm), cluster="language",
                       adjust="holm", codes="individual", min_languages=MIN_LANGUAGES,
                       seed=int(seed))
        corr = correlate(res, methods=methods, **corr_kw)
        full = None
        if full_table:
            full = (corr if set(methods) == {"pearson", "spearman", "kendall"}
                    else correlate(res, methods=("pearson", "spearman", "kendall"), **corr_kw))

        # -- models
        progress.step("models")
        zs = _one_metric(frame[frame["setting"] == "zero-shot"])
        if not zs.empty:
            from xdist.analyses import EXPERIMENT_COLUMNS

            n_exp = zs.groupby(EXPERIMENT_COLUMNS, dropna=False)["language"].transform("nunique")
            small = zs[n_exp < MIN_LANGUAGES]
            if len(small):
                extra_notes.append(
                    f"models and figures leave out zero-shot experiments with fewer than "
                    f"{MIN_LANGUAGES} target languages, as the correlations do: "
                    + ", ".join(sorted({f"{r.task}/{r.model}" for r in small.itertuples()})))
            zs = zs[n_exp >= MIN_LANGUAGES]
        mixed_res = None
        if zs.empty:
            extra_notes.append("no zero-shot experiments in the selection: no models fitted")
            sizes = pd.Series(dtype=int)
        else:
            sizes = zs.groupby("task")["language"].nunique()
        large = sorted(sizes[sizes >= LARGE_TASK].index)
        pooled = sorted(sizes[sizes < LARGE_TASK].index)
        model_blocks, mixed_res = _fit_models(zs, large, pooled, distance, seed, models,
                                              extra_notes)

        # -- figures
        progress.step("figures")
        figures = _make_figures(frame, zs, corr, res, distance, n_boot, seed, mixed_res,
                                large, extra_notes, figure_dpi)

    caveats = list(dict.fromkeys(list(notes) + extra_notes))
    for name, rep in models.items():
        for w in rep.warnings:
            caveats.append(f"model {name}: {w}")

    meta = [
        ("Date", _report_date()),
        ("xdist version", __version__),
        ("Git revision", _git_revision()),
        ("Seed", str(seed)),
        ("Command", command or "xdist.report.build_report(...) from Python"),
        ("Results", "shipped published results" if shipped else "user-supplied results"),
        ("Input files", "; ".join(settings["results"])),
        ("Tasks", ", ".join(task_list)),
        ("Correlation methods", ", ".join(methods)),
        ("Bootstrap / permutations",
         f"{n_boot} BCa resamples of languages / {n_perm} permutations"),
        ("Distance in models and figures", distance),
    ]

    sections = [
        Section("What was analysed", _analysed_blocks(raw, frame, corr, paths, FLAGS,
                                                      EXCLUDED_FLAGS)),
        Section("Methods", _methods_blocks(settings, corr, frame, large, pooled, models)),
        Section("Correlation of degradation with distance", _corr_blocks(corr, settings)),
        Section("Regression and mixed models", model_blocks),
        Section("Figures", figures),
        Section("Caveats", [Paragraph(
            "Everything about the data and the fits that a reader of the numbers should know, "
            "collected while this report was built (data caveats of the analyses, warnings of "
            "the model fits, figures left out).", "body"),
            Bullets(caveats or ["none"], numbered=True)]),
    ]
    if full is not None:
        sections.append(Section("Appendix: full correlation table", _full_blocks(full)))
    tables = {"correlations": corr, "models": models, "frame": frame}
    if full is not None:
        tables["full_correlations"] = full
    return Report(title="Zero-shot transfer degradation and typological distance",
                  meta=meta, sections=sections, tables=tables, caveats=caveats,
                  settings=settings)


# ----------------------------------------------------------------------------- sections
def _analysed_blocks(raw, frame, corr, paths, FLAGS, EXCLUDED_FLAGS) -> list:
    blocks = [Paragraph(
        f"{len(raw)} result rows of {raw['target_task'].nunique()} target task(s), "
        f"{raw['model'].nunique()} model(s) and {raw['source'].nunique()} source(s) were read. "
        f"The analyses use the experiments fine-tuned on English (source language en), one row "
        f"per experiment and target language after averaging seeds: {len(frame)} rows, "
        f"{frame['language'].nunique()} distinct target languages.", "body")]

    # input files
    rows = []
    for p in paths:
        n = int((raw["origin"].str.rsplit(":", n=1).str[0] == str(p)).sum())
        rows.append([_display_path(p), str(n), _sha256(p)])
    blocks.append(Table(["input file", "rows (selected tasks)", "sha256 (first 12)"], rows,
                        widths=[60, 20, 16], align=["l", "r", "l"], caption="Input files",
                        name="inputs"))

    # sources, grouped, with run labels
    rows = []
    for src, sub in raw.groupby("source", sort=True):
        runs = ", ".join(sorted(r for r in sub["run"].unique() if r)) or "(none)"
        flagged = int((sub["flag"] != "").sum())
        rows.append([src, runs, ", ".join(sorted(sub["target_task"].unique())),
                     str(sub["model"].nunique()), str(len(sub)), str(flagged)])
    blocks.append(Table(["source", "run label", "tasks", "models", "rows", "flagged"], rows,
                        widths=[42, 20, 18, 6, 6, 7], align=["l", "l", "l", "r", "r", "r"],
                        caption="Sources of the results (provenance of every row)",
                        name="sources"))

    # tasks
    rows = []
    exp_n = corr.groupby(["task", "model", "setting", "metric", "run"])["n"].max()
    for task, sub in frame.groupby("task", sort=True):
        rsub = raw[(raw["target_task"] == task)]
        n_exp = int(exp_n.loc[task].shape[0]) if task in exp_n.index.get_level_values(0) else 0
        langs = sub.groupby(["model", "setting", "metric", "run"])["language"].nunique()
        rows.append([task, ", ".join(sorted(sub["metric"].unique())),
                     ", ".join(sorted(sub["setting"].unique())),
                     str(sub["model"].nunique()), str(n_exp),
                     f"{int(langs.min())}-{int(langs.max())}" if langs.min() != langs.max()
                     else str(int(langs.min())),
                     str(sub["language"].nunique()),
                     str(rsub["source_language"].nunique())])
    blocks.append(Table(["task", "metrics", "settings", "models", "experiments correlated",
                         "target languages per experiment", "distinct targets",
                         "source languages in file"], rows,
                        widths=[10, 12, 24, 7, 12, 14, 9, 10],
                        align=["l", "l", "l", "r", "r", "r", "r", "r"],
                        caption="Tasks (experiments correlated: with at least 5 target languages)",
                        name="tasks"))

    # models
    rows = []
    for model, sub in frame.groupby("model", sort=True):
        rows.append([model, ", ".join(sorted(sub["task"].unique())),
                     ", ".join(sorted(sub["setting"].unique())),
                     ", ".join(sorted(r for r in sub["run"].unique() if r)) or "(none)"])
    blocks.append(Table(["model", "tasks", "settings", "runs"], rows,
                        widths=[26, 26, 26, 24], caption="Models", name="models"))

    # flagged rows
    flagged = raw[raw["flag"] != ""]
    if len(flagged):
        rows = []
        for flag, sub in flagged.groupby("flag", sort=True):
            eg = "; ".join(sorted({f"{r.model}/{r.target_task}/{r.language}"
                                   for r in sub.itertuples()})[:4])
            handling = "excluded" if flag in EXCLUDED_FLAGS else "analysed, listed as caveat"
            rows.append([flag, str(len(sub)), handling, FLAGS.get(flag, ""), eg])
        blocks.append(Table(["flag", "rows", "handling", "meaning", "examples"], rows,
                            widths=[12, 5, 14, 34, 36], align=["l", "r", "l", "l", "l"],
                            caption="Flagged rows (kept as printed in their source, never "
                                    "silently fixed; see the 'note' column of the data)",
                            name="flags"))
    else:
        blocks.append(Paragraph("No row of the selected tasks is flagged.", "body"))
    return blocks


def _methods_blocks(st, corr, frame, large, pooled, models) -> list:
    kinds = ", ".join(st["distances"])
    n_tests = int(corr["p_value"].notna().sum())
    n_exp = corr.groupby(["task", "model", "setting", "metric", "run"]).ngroups
    paras = [
        ("Distance. ", f"For each experiment the distance between its fine-tuning language (en) "
         f"and each target language is computed for the six URIEL kinds ({kinds}) from the data "
         f"files of the PyPI lang2vec package, by the published lang2vec definitions "
         f"(typological kinds: angular distance arccos(cos)/(pi/2) between binary feature "
         f"vectors; geographic and genetic as published; docs/distances.md). Languages are "
         f"looked up under their individual-language ISO 639-3 codes (for example ar -> arb, "
         f"zh -> cmn, fa -> pes, sw -> swh). The lang2vec code mode (--codes lang2vec in "
         f"'xdist correlate') would use lang2vec's published macrolanguage codes instead, "
         f"which put Arabic, Chinese, Malay, Persian and Swahili at one point. Languages "
         f"without URIEL data in a kind are left out of that kind's estimates (no imputation "
         f"with lang2vec's default vector); n in each row says how many languages were used."),
        ("Degradation. ", f"Degradation is the source-language (English) score minus the "
         f"target-language score of the same experiment, in absolute points of the task "
         f"metric (percent scale), after averaging seeds; higher means more is lost in "
         f"transfer. The relative degradation, (source - target) / source, is available as "
         f"the outcome degradation_relative but is not used here. Rows flagged "
         f"{' or '.join(st['exclude_flags'])} are excluded; experiments with fewer than "
         f"{st['min_languages']} target languages are left out of the correlations."),
        ("Correlations. ", f"{', '.join(m.capitalize() for m in st['methods'])} correlation "
         f"of degradation with each distance kind, per experiment (task x model x setting x "
         f"metric x run): {len(corr)} rows over {n_exp} experiments. 95% intervals are BCa "
         f"bootstrap intervals from {st['n_boot']} resamples in which the resampling unit is "
         f"the target language (languages are drawn with replacement; each resample "
         f"recomputes the correlation). p-values are two-sided permutation p-values from "
         f"{st['n_perm']} permutations of degradation across languages, (1 + #|r*| >= |r|) / "
         f"(1 + permutations). p_adj applies Holm's step-down adjustment across all "
         f"{n_tests} tests of the table with a p-value. No partial correlation is used "
         f"(no covariate). "
         f"Every random procedure draws from seed {st['seed']}."),
    ]
    mixed_txt = ""
    if len(pooled) >= 2:
        mixed_txt = (f"Across the smaller tasks ({', '.join(pooled)}; fewer than {LARGE_TASK} "
                     f"target languages each) a linear mixed model "
                     f"degradation ~ {st['model_distance']} + log_size + (1 | task) + "
                     f"(1 | language) is fitted by REML (statsmodels MixedLM with lme4's "
                     f"parameterisation; Wald z intervals and p-values), together with a "
                     f"model with an uncorrelated random slope of {st['model_distance']} per "
                     f"task for the random-slopes figure. ")
    elif pooled:
        mixed_txt = (f"Only one smaller task ({pooled[0]}) is selected: no mixed model across "
                     f"tasks is fitted. ")
    ols_txt = ""
    if large:
        ols_txt = (f"Each task with at least {LARGE_TASK} target languages ({', '.join(large)}) "
                   f"gets a least-squares fit degradation ~ {st['model_distance']} + log_size "
                   f"with CR1 standard errors clustered by language family and t inference "
                   f"with G - 1 degrees of freedom (G families). ")
    paras.append(("Models. ",
                  f"Models use the zero-shot experiments and one metric per task (F1 where a "
                  f"task reports several, else accuracy). log_size is log10(1 + CC-100 "
                  f"pretraining tokens in millions) of the target language (0 for languages "
                  f"not in CC-100), the same proxy for every model. "
                  + mixed_txt + ols_txt
                  + "Singular, boundary and non-converged fits are reported as warnings with "
                    "the tables, never passed off as fits. Rows pooled from several models of "
                    "one task are not independent beyond what the random effects capture."))
    blocks = []
    for head, text in paras:
        blocks.append(Paragraph(head.strip(), "subhead"))
        blocks.append(Paragraph(text, "body"))
    return blocks


def _experiment_label(r) -> str:
    parts = [r["task"], r["model"], r["setting"]]
    if r.get("intermediate_task"):
        parts.append(f"intermediate {r['intermediate_task']}")
    parts.append(r["metric"])
    if r.get("source_language") and r["source_language"] != "en":
        parts.append(f"from {r['source_language']}")
    if r.get("run"):
        parts.append(f"run {r['run']}")
    return " / ".join(str(p) for p in parts)


def _corr_rows(tab: pd.DataFrame, *, with_method: bool):
    keys = ["task", "model", "setting", "intermediate_task", "metric", "source_language", "run"]
    rows, vals = [], []
    for _, block in tab.groupby(keys, sort=False, dropna=False):
        label = _experiment_label(block.iloc[0].to_dict())
        for i, r in enumerate(block.to_dict(orient="records")):
            cells = [label if i == 0 else "", r["distance"]]
            v = [None, None]
            if with_method:
                cells.append(r["method"])
                v.append(None)
            cells += [str(int(r["n"])) if pd.notna(r["n"]) else "-", _num(r["estimate"]),
                      _ci(r["ci_low"], r["ci_high"]), _p(r["p_value"]), _p(r["p_adjusted"])]
            v += [_float(r["n"]), _float(r["estimate"]), None, _float(r["p_value"]),
                  _float(r["p_adjusted"])]
            rows.append(cells)
            vals.append(v)
    return rows, vals


def _corr_blocks(corr: pd.DataFrame, st) -> list:
    methods = list(dict.fromkeys(corr["method"]))
    with_method = len(methods) > 1
    sym = {"spearman": "rho", "pearson": "r", "kendall": "tau"}
    est = sym[methods[0]] if not with_method else "estimate"
    rows, vals = _corr_rows(corr, with_method=with_method)
    cols = ["experiment", "distance"] + (["method"] if with_method else []) + \
        ["n", est, "95% CI (BCa)", "p", "p_adj"]
    widths = [34, 12] + ([8] if with_method else []) + [4, 8, 17, 7, 7]
    align = ["l", "l"] + (["l"] if with_method else []) + ["r", "r", "r", "r", "r"]
    n_sig = int((corr["p_adjusted"] < 0.05).sum())
    n_tests = int(corr["p_value"].notna().sum())
    return [
        Paragraph(
            f"{', '.join(m.capitalize() for m in methods)} correlation of degradation (points) "
            f"with URIEL distance from English, per experiment and distance kind. A positive "
            f"value means more distant languages lose more. {len(corr)} rows; {n_sig} have "
            f"p_adj < 0.05 (Holm across the {n_tests} rows with a p-value). n: target languages "
            f"with data in that distance kind. Interval: 95% BCa from {st['n_boot']} resamples of "
            f"languages ('-' where BCa is undefined); p: permutation ({st['n_perm']}).", "body"),
        Table(cols, rows, widths=widths, align=align, group_first=True,
              caption="Correlation table", name="correlations", values=vals),
    ]


def _full_blocks(full: pd.DataFrame) -> list:
    rows, vals = _corr_rows(full, with_method=True)
    return [
        Paragraph("All three methods for every experiment and distance kind, with the same "
                  "bootstrap and permutation settings; p_adj is Holm across this whole "
                  f"table ({len(full)} rows).", "body"),
        Table(["experiment", "distance", "method", "n", "estimate", "95% CI (BCa)", "p",
               "p_adj"], rows, widths=[34, 12, 8, 4, 8, 17, 7, 7],
              align=["l", "l", "l", "r", "r", "r", "r", "r"], group_first=True,
              caption="Full correlation table", name="full-correlations", values=vals),
    ]


# ----------------------------------------------------------------------------- models
def _fit_models(zs, large, pooled, distance, seed, models, notes):
    from xdist.analyses import ModelReport, regress
    from xdist.stats.mixed import fit_mixed

    blocks = []
    mixed_res = None
    if len(pooled) >= 2:
        data = zs[zs["task"].isin(pooled)]
        f1 = f"degradation ~ {distance} + log_size + (1 | task) + (1 | language)"
        rep = regress(data, f1, reml=True, seed=seed)
        models["mixed-intercepts"] = rep
        blocks += _model_block("mixed-intercepts", f"Mixed model across tasks ({len(pooled)} "
                               f"tasks)", rep,
                               f"Zero-shot experiments of {', '.join(pooled)}; all models and "
                               f"runs pooled.")
        f2 = f"degradation ~ {distance} + log_size + ({distance} || task) + (1 | language)"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            mixed_res = fit_mixed(data, f2, reml=True)
        msgs = list(mixed_res.warnings)
        for w in caught:
            text = f"{w.category.__name__}: {w.message}"
            if str(w.message) not in " ".join(msgs) and text not in msgs:
                msgs.append(text)
        rep2 = ModelReport(fixed=mixed_res.fixed.reset_index(drop=True),
                           random=mixed_res.random.reset_index(drop=True),
                           fit={"model": "mixed", **mixed_res.fit}, warnings=msgs)
        models["mixed-slopes"] = rep2
        blocks += _model_block("mixed-slopes", "Mixed model with random slopes per task", rep2,
                               f"As above, with an uncorrelated random slope of {distance} per "
                               f"task (shown in the random-slopes figure).")
    elif pooled:
        notes.append(f"only one task with fewer than {LARGE_TASK} languages ({pooled[0]}): "
                     f"no mixed model across tasks")
    for task in large:
        data = zs[zs["task"] == task]
        if data["family"].isna().any() or (data["family"] == "").any():
            cluster, why = "language", " (family missing for some languages)"
        else:
            cluster, why = "family", ""
        rep = regress(data, f"degradation ~ {distance} + log_size", cluster=cluster, seed=seed)
        name = f"ols-{task}"
        models[name] = rep
        blocks += _model_block(name, f"Least squares on {task}", rep,
                               f"Zero-shot {task}, one row per target language; standard "
                               f"errors clustered by {cluster}{why}.")
    if not blocks:
        blocks.append(Paragraph("No model could be fitted on this selection (needs zero-shot "
                                "experiments: two or more tasks with fewer than "
                                f"{LARGE_TASK} languages, or one task with at least "
                                f"{LARGE_TASK}).", "body"))
    return blocks, mixed_res


# ----------------------------------------------------------------------------- figures
def _make_figures(frame, zs, corr, res, distance, n_boot, seed, mixed_res, large, notes, dpi):
    import matplotlib

    matplotlib.use("Agg", force=False)
    try:
        from xdist import plots
    except ImportError as exc:  # pragma: no cover - plots ships with xdist
        notes.append(f"figures left out: xdist.plots cannot be imported ({exc})")
        return [Paragraph("Figures unavailable (xdist.plots could not be imported).", "body")]

    blocks = []
    ref = _reference_experiments(zs) if not zs.empty else pd.DataFrame()
    if len(ref):
        small = ref[ref["n"] < MIN_LANGUAGES]
        if len(small):
            notes.append("left out of the figures (fewer than "
                         f"{MIN_LANGUAGES} target languages per experiment): "
                         + ", ".join(f"{r.task} (n={r.n})" for r in small.itertuples()))
        ref = ref[ref["n"] >= MIN_LANGUAGES].reset_index(drop=True)
    if len(ref):
        key = zs.set_index(["task", "model", "run"]).index
        ref_idx = pd.MultiIndex.from_frame(ref[["task", "model", "run"]])
        fz = zs[key.isin(ref_idx)]
        desc = "; ".join(f"{r.task}: {r.model}" + (f" ({r.run})" if r.run else "")
                         for r in ref.itertuples())
        ck = corr.merge(ref[["task", "model", "run"]], on=["task", "model", "run"])
        ck = ck[ck["metric"].isin(fz["metric"].unique()) & (ck["setting"] == "zero-shot")]
        ck = ck[ck["method"] == ck["method"].iloc[0]] if len(ck) else ck
    else:
        fz, desc, ck = zs, "", corr.iloc[:0]

    def add(name, title, caption, make):
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="matplotlib")
                fig = make()
        except Exception as exc:  # noqa: BLE001 - reported as a caveat, never hidden
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            notes.append(f"figure '{title}' left out: {type(exc).__name__}: {first}")
            return
        png, size = _figure_png(fig, dpi)
        blocks.append(Figure(title=title, caption=caption, png=png, size=size, name=name))

    if len(fz):
        add("degradation-vs-distance", f"Degradation versus {distance} distance",
            f"Zero-shot degradation (points) of each target language against its {distance} "
            f"distance from English, one panel per task, with the least-squares line and its "
            f"95% percentile bootstrap band ({n_boot} resamples of languages, seed {seed}). One "
            f"experiment "
            f"per task (the model evaluated on most languages): {desc}.",
            lambda: plots.degradation_vs_distance(fz, distance=distance, outcome="degradation",
                                                  by="task", label=True, ci=0.95,
                                                  n_boot=n_boot, seed=seed))
    if len(ck):
        add("forest", "Correlation estimates across tasks and distance kinds",
            f"{ck['method'].iloc[0].capitalize()} correlation of degradation with each distance "
            f"kind, with 95% BCa intervals, for the same experiments as the first figure. "
            f"Estimates from few languages have wide intervals.",
            lambda: plots.forest(ck))
        add("heatmap", "Correlation heatmap",
            f"{ck['method'].iloc[0].capitalize()} correlations (tasks x distance kinds) of the "
            f"same experiments; cells without an estimate are blank.",
            lambda: plots.correlation_heatmap(ck, method=ck["method"].iloc[0]))
    fam_tasks = large or (list(fz.groupby("task")["language"].nunique().sort_values(
        ascending=False).index[:1]) if len(fz) else [])
    for task in fam_tasks:
        add(f"families-{task}", f"{task}: degradation by language family",
            f"Zero-shot degradation of each {task} target language, grouped by language family "
            f"(languages table).",
            lambda task=task: plots.degradation_by_family(fz, outcome="degradation", task=task))
    if mixed_res is not None:
        add("random-slopes", f"Random slopes of {distance} per task",
            f"Slope of {distance} distance per task from the mixed model with random slopes "
            f"(fixed slope plus the task's predicted deviation, with its conditional SD). "
            f"Few tasks make the slope variance poorly determined; see the model's warnings.",
            lambda: plots.random_slopes(mixed_res, term=distance, group="task"))
    has_inter = bool((res["intermediate_task"] != "").any())
    if has_inter:
        from xdist.analyses import intermediate_gains

        def _gains():
            gains = intermediate_gains(res, n_boot=max(100, n_boot), seed=seed,
                                       tasks=sorted(frame["task"].unique()))
            return plots.gain_vs_distance(gains, frame, distance=distance)

        add("gain-vs-distance", f"Intermediate-task gain versus {distance} distance",
            "Gain of each intermediate task over no intermediate training, per target "
            "language, against distance from English (user-supplied results).", _gains)
    else:
        notes.append("the results have no per-language intermediate-task rows: the "
                     "intermediate-task gain figure is left out")
    if not blocks:
        blocks.append(Paragraph("No figure could be drawn for this selection.", "body"))
    return blocks
