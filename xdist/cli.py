"""The ``xdist`` command line: thin subcommands over the Python API.

Every subcommand parses its arguments, calls the library, and prints or
writes the result.  Bad input ends with a one-line ``xdist <cmd>: error:``
message and exit status 2, never a traceback (set ``XDIST_DEBUG=1`` to see
one).  Heavy modules are imported inside the subcommands, so ``xdist --help``
stays fast and never imports torch.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["main", "build_parser"]

DISTANCE_KINDS = ("syntactic", "phonological", "inventory", "featural", "geographic", "genetic")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like argparse but with our prefix
        self.exit(2, f"{self.prog}: error: {message}\n")


def _write_output(text: str, output: str | None) -> None:
    """Print, or write atomically so a failure never leaves a half-written file."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    path = Path(output)
    if path.is_dir():
        raise ValueError(f"--output {output!r} is a directory: expected a file path")
    if not path.parent.exists():
        raise ValueError(f"--output {output!r}: folder {str(path.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _print_notes(notes) -> None:
    for n in notes:
        sys.stderr.write(f"note: {n}\n")


def _render(df, fmt: str, table_fn) -> str:
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "json":
        return df.to_json(orient="records", indent=1, force_ascii=False)
    return table_fn(df)


def _flag_args(parser) -> None:
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--include-flagged", action="store_true",
                   help="keep rows flagged superseded/duplicate (excluded by default)")
    g.add_argument("--exclude-flag", action="append", metavar="FLAG",
                   choices=("suspect", "column_order", "superseded", "duplicate"),
                   help="also exclude rows with this flag, e.g. column_order (repeatable)")


def _exclude_flags(args):
    from xdist.results import EXCLUDED_FLAGS

    if getattr(args, "include_flagged", False):
        return ()
    return tuple(dict.fromkeys([*EXCLUDED_FLAGS, *(getattr(args, "exclude_flag", None) or [])]))


# -- correlate ------------------------------------------------------------------
def _cmd_correlate(args) -> int:
    from xdist.analyses import correlate
    from xdist.caveats import collect_caveats
    from xdist.formatting import format_correlation_table
    from xdist.results import read_results, shipped_results_paths

    paths = args.results or shipped_results_paths()
    with collect_caveats() as notes:
        res = read_results(paths, scale=args.scale)
        tab = correlate(
            res,
            tasks=args.task,
            models=args.model,
            metrics=args.metric,
            distances=args.distance or DISTANCE_KINDS,
            methods=args.method,
            settings=args.setting,
            exclude_flags=_exclude_flags(args),
            outcome=args.outcome,
            ci=args.ci,
            n_boot=args.n_boot,
            n_perm=args.n_perm,
            cluster=args.cluster,
            control=args.control,
            adjust=args.adjust,
            codes=args.codes,
            source_languages=None if args.source_language == ["all"] else args.source_language,
            impute_distances=args.impute_distances,
            min_languages=args.min_languages,
            n_jobs=args.jobs,
            seed=args.seed,
        )
    _write_output(_render(tab, args.format, format_correlation_table), args.output)
    _print_notes(notes)
    return 0


# -- distances ------------------------------------------------------------------
def _cmd_distances(args) -> int:
    from xdist.distances import distances
    from xdist.formatting import format_distance_table

    tab = distances(args.targets, source=args.source, kinds=args.kind or DISTANCE_KINDS,
                    codes=args.codes)
    cols = ["source", "target", "kind", "distance", "codes"]
    extra = [c for c in tab.columns if c not in cols]
    tab = tab[cols + extra]
    _write_output(_render(tab, args.format, format_distance_table), args.output)
    return 0


# -- regress ----------------------------------------------------------------------
def _read_table(path: str):
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise ValueError(f"--data {path!r}: file not found")
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(p)
        return pd.read_csv(p, sep="\t" if p.suffix.lower() == ".tsv" else ",")
    except Exception as exc:  # noqa: BLE001 - any reader failure is bad input here
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"--data {path!r}: cannot read it as a table: {first}") from None


def _cmd_regress(args) -> int:
    import json

    from xdist.analyses.regression import regress, regression_frame
    from xdist.caveats import collect_caveats
    from xdist.formatting import format_model_report
    from xdist.results import read_results, shipped_results_paths

    if args.results and args.data:
        raise ValueError("give either --results or --data, not both")
    if args.data and any(getattr(args, a) for a in ("task", "model", "metric", "setting")):
        raise ValueError("--task/--model/--metric/--setting filter --results; with --data, "
                         "filter the table yourself")
    with collect_caveats() as notes:
        if args.data:
            data = _read_table(args.data)
        else:
            res = read_results(args.results or shipped_results_paths(), scale=args.scale)
            data = regression_frame(
                res, tasks=args.task, models=args.model, metrics=args.metric,
                settings=args.setting, exclude_flags=_exclude_flags(args),
                source_languages=None if args.source_language == ["all"] else args.source_language,
                codes=args.codes, impute_distances=args.impute_distances)
        report = regress(data, args.formula, cluster=args.cluster, bootstrap=args.bootstrap,
                         reml=args.reml, seed=args.seed)
    if args.format == "json":
        text = json.dumps(report.to_dict(), indent=1, ensure_ascii=False)
    else:
        text = format_model_report(report)
    _write_output(text, args.output)
    _print_notes(notes)
    return 0


# -- research questions: intermediate, scale, loo, models ---------------------------
def _load_results(args):
    from xdist.results import read_results, shipped_results_paths

    return read_results(args.results or shipped_results_paths(), scale=args.scale)


def _filters(args) -> dict:
    return dict(
        tasks=args.task,
        models=args.model,
        metrics=args.metric,
        source_languages=None if args.source_language == ["all"] else args.source_language,
        exclude_flags=_exclude_flags(args),
    )


def _run_table(args, compute) -> int:
    from xdist.caveats import collect_caveats
    from xdist.formatting import format_frame

    with collect_caveats() as notes:
        tab = compute()
    _write_output(_render(tab, args.format, format_frame), args.output)
    _print_notes(notes)
    return 0


def _cmd_intermediate(args) -> int:
    from xdist.analyses import intermediate_gains, intermediate_slope

    def compute():
        res = _load_results(args)
        if args.what == "gains":
            return intermediate_gains(
                res, baseline=args.baseline, intermediate_tasks=args.intermediate_task,
                cluster=args.cluster, ci=args.ci, n_boot=args.n_boot, seed=args.seed,
                **_filters(args))
        return intermediate_slope(
            res, distance=args.distance, outcome=args.outcome, baseline=args.baseline,
            intermediate_tasks=args.intermediate_task, reml=args.reml, codes=args.codes,
            impute_distances=args.impute_distances, **_filters(args))

    return _run_table(args, compute)


def _cmd_scale(args) -> int:
    from xdist.analyses import scale_analysis, setting_gap

    settings = tuple(args.setting) if args.setting else ("zero-shot", "translate-train-all")

    def compute():
        res = _load_results(args)
        if args.what == "gap":
            return setting_gap(res, settings=settings, model_families=args.model_family,
                               codes=args.codes, impute_distances=args.impute_distances,
                               **_filters(args))
        return scale_analysis(res, outcome=args.outcome, settings=settings,
                              distance=args.distance, model_families=args.model_family,
                              min_models=args.min_models, reml=args.reml, codes=args.codes,
                              impute_distances=args.impute_distances, **_filters(args))

    return _run_table(args, compute)


def _cmd_compare(args) -> int:
    from xdist.analyses import compare

    def compute():
        res = _load_results(args)
        f = _filters(args)
        if args.what != "llm" and args.setting and len(args.setting) > 1:
            raise ValueError(f"--setting given {len(args.setting)} times: `compare "
                             f"{args.what}` takes one setting")
        if args.what == "multitask":
            return compare.multitask_gains(
                res, setting=args.setting[0] if args.setting else "zero-shot+lora",
                single_setting=args.single_setting,
                against=args.against, separator=args.separator, cluster=args.cluster, ci=args.ci,
                n_boot=args.n_boot, alpha=args.alpha, seed=args.seed, **f)
        if args.what == "llm":
            return compare.slope_comparison(
                res, settings=args.setting, reference=args.reference or "zero-shot",
                distance=args.distance[0] if args.distance else "syntactic",
                outcome=args.outcome, reference_models=args.reference_model,
                match_models=args.match_models, cluster=args.cluster, ci=args.ci,
                n_boot=args.n_boot, alpha=args.alpha, codes=args.codes,
                impute_distances=args.impute_distances, seed=args.seed, **f)
        default = ("zero-shot+multilingual-intermediate" if args.what == "scale"
                   else "zero-shot+lora")
        pair = dict(setting=args.setting[0] if args.setting else default,
                    reference=args.reference or "zero-shot",
                    model_families=args.model_family, intermediate_tasks=args.intermediate_task,
                    reference_intermediate_task=args.reference_intermediate_task)
        if args.what == "gap":
            return compare.gap_summary(res, cluster=args.cluster, ci=args.ci,
                                       n_boot=args.n_boot, alpha=args.alpha, seed=args.seed,
                                       **pair, **f)
        if args.what == "slope":
            return compare.gap_slope(res, distances=args.distance or ["syntactic"],
                                     cluster=args.cluster, alpha=args.alpha, codes=args.codes,
                                     impute_distances=args.impute_distances, **pair, **f)
        if args.distance and len(args.distance) > 1:
            raise ValueError("--distance given several times: `compare scale` takes one "
                             "distance covariate")
        return compare.gap_scale(res, distance=args.distance[0] if args.distance else None,
                                 parameters=_parameter_counts(args.parameters),
                                 alpha=args.alpha, codes=args.codes,
                                 impute_distances=args.impute_distances, **pair, **f)

    return _run_table(args, compute)


def _parameter_counts(items):
    """``--parameters MODEL=COUNT`` (repeatable) as a dict."""
    out = {}
    for item in items or ():
        model, sep, count = item.rpartition("=")
        try:
            value = float(count)
        except ValueError:
            value = float("nan")
        if not sep or not model or not value > 0:
            raise ValueError(f"--parameters {item!r} is not valid: expected MODEL=COUNT, e.g. "
                             "--parameters my-model=278e6")
        out[model] = value
    return out


def _cmd_loo(args) -> int:
    from xdist.analyses import leave_one_out

    def compute():
        return leave_one_out(_load_results(args), formula=args.formula, unit=args.unit,
                             codes=args.codes, impute_distances=args.impute_distances,
                             **_filters(args))

    return _run_table(args, compute)


def _cmd_models(args) -> int:
    from xdist.pretrained import load_models

    def compute():
        tab = load_models()
        if args.family:
            from xdist._checks import check_choice

            check_choice("family", args.family, sorted(tab["family"].unique()), what="family")
            tab = tab[tab["family"].isin(args.family)]
        return tab

    return _run_table(args, compute)


def build_parser() -> argparse.ArgumentParser:
    from xdist import __version__

    p = _Parser(
        prog="xdist",
        description="Zero-shot cross-lingual transfer versus typological distance.",
    )
    p.add_argument("--version", action="version", version=f"xdist {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    c = sub.add_parser(
        "correlate",
        help="correlate degradation with URIEL distance (default: the shipped data)",
        description=(
            "Correlate zero-shot degradation (source-language score minus target score) with "
            "URIEL typological distance, per task and model, with bootstrap intervals over "
            "languages and permutation p-values adjusted across the whole table. With no "
            "arguments it runs on the shipped published results."
        ),
    )
    c.add_argument("--results", action="append", metavar="FILE",
                   help="results table (CSV or Parquet); repeatable (default: shipped data)")
    c.add_argument("--task", action="append", help="target task(s) to keep (repeatable)")
    c.add_argument("--model", action="append", help="model(s) to keep (repeatable)")
    c.add_argument("--metric", action="append", help="metric(s) to keep (repeatable)")
    c.add_argument("--setting", action="append",
                   help="setting(s) to keep, e.g. zero-shot (repeatable; default all)")
    _flag_args(c)
    c.add_argument("--distance", action="append", choices=DISTANCE_KINDS,
                   help="distance kind(s) (repeatable; default all six)")
    c.add_argument("--method", action="append", choices=("pearson", "spearman", "kendall"),
                   help="correlation method(s) (repeatable; default all three, or pearson and "
                        "spearman with --control)")
    c.add_argument("--outcome", choices=("degradation", "degradation_relative"),
                   default="degradation", help="absolute (points) or relative degradation")
    c.add_argument("--ci", choices=("bca", "percentile"), default="bca",
                   help="bootstrap interval method (default bca)")
    c.add_argument("--n-boot", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    c.add_argument("--n-perm", type=int, default=9_999,
                   help="permutations for the p-value (default 9999)")
    c.add_argument("--cluster", choices=("language", "family"), default="language",
                   help="resampling unit: languages or whole families (default language)")
    c.add_argument("--control", choices=("pretraining_size",), default=None,
                   help="partial correlation controlling for log pretraining size")
    c.add_argument("--adjust", choices=("holm", "fdr_bh", "none"), default="holm",
                   help="multiple-comparison adjustment across the table (default holm)")
    c.add_argument("--scale", choices=("percent", "fraction"), default="percent",
                   help="scale of the score column of --results (default percent)")
    c.add_argument("--codes", choices=("individual", "lang2vec"), default="individual",
                   help="language codes for distances: individual languages (default) or "
                        "lang2vec's published (macrolanguage) codes")
    c.add_argument("--impute-distances", action="store_true", default=None,
                   help="for languages without URIEL data, use lang2vec's published default "
                        "vector (default: leave them out of that distance kind)")
    c.add_argument("--source-language", action="append", default=None,
                   help="fine-tuning language(s) of the experiments to keep (default en; "
                        "'all' keeps every one)")
    c.add_argument("--min-languages", type=int, default=5,
                   help="leave out experiments with fewer target languages (default 5)")
    c.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    c.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="processes for the bootstrap (default: 2 or the number of cores); "
                        "the table does not depend on it")
    c.add_argument("--format", choices=("table", "csv", "json"), default="table")
    c.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    c.set_defaults(func=_cmd_correlate)

    d = sub.add_parser(
        "distances",
        help="URIEL distances from one language to others",
        description="Print URIEL typological distances from --from to each TARGET.",
    )
    d.add_argument("targets", nargs="+", metavar="TARGET", help="target language codes")
    d.add_argument("--from", dest="source", default="eng", help="source language (default eng)")
    d.add_argument("--kind", action="append", choices=DISTANCE_KINDS,
                   help="distance kind(s) (repeatable; default all six)")
    d.add_argument("--codes", choices=("individual", "lang2vec"), default="individual",
                   help="individual-language codes (default) or lang2vec's published codes")
    d.add_argument("--format", choices=("table", "csv", "json"), default="table")
    d.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    d.set_defaults(func=_cmd_distances)

    r = sub.add_parser(
        "regress",
        help="regression or mixed model of degradation on distance (lme4-style formulas)",
        description=(
            "Fit a formula to degradation data: least squares with language-clustered "
            "standard errors and t(G-1) inference, or, when the formula has random terms "
            "'(1 + x | g)', a linear mixed model (lme4 syntax). --results joins degradation, "
            "the six distance kinds, log_size, task, language and family; --data takes any "
            "tidy table whose columns the formula names."
        ),
    )
    r.add_argument("--formula", required=True,
                   help="e.g. 'degradation ~ syntactic + log_size + (1 | task) + (1 | language)'")
    r.add_argument("--results", action="append", metavar="FILE",
                   help="results table(s) (default: the shipped data)")
    r.add_argument("--data", metavar="FILE", help="any tidy CSV/Parquet table instead of results")
    r.add_argument("--task", action="append", help="target task(s) to keep (with --results)")
    r.add_argument("--model", action="append", help="model(s) to keep (with --results)")
    r.add_argument("--metric", action="append", help="metric(s) to keep (with --results)")
    r.add_argument("--setting", action="append",
                   help="setting(s) to keep, e.g. zero-shot (with --results; default all)")
    _flag_args(r)
    r.add_argument("--source-language", action="append", default=None,
                   help="fine-tuning language(s) to keep (default en; 'all' keeps every one)")
    r.add_argument("--bootstrap", type=int, default=0, metavar="N",
                   help="N resamples: wild cluster bootstrap-t (OLS) or cluster bootstrap (mixed)")
    r.add_argument("--cluster", default="language",
                   help="clustering/resampling unit: language or family (any column with --data)")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--reml", dest="reml", action="store_true", default=True,
                   help="REML estimation of mixed models (default)")
    g.add_argument("--ml", dest="reml", action="store_false", help="maximum likelihood")
    r.add_argument("--scale", choices=("percent", "fraction"), default="percent")
    r.add_argument("--codes", choices=("individual", "lang2vec"), default="individual")
    r.add_argument("--impute-distances", action="store_true", default=None,
                   help="use lang2vec's default vector for languages without URIEL data")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--format", choices=("table", "json"), default="table")
    r.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    r.set_defaults(func=_cmd_regress)

    def results_args(q, *, distances=True):
        q.add_argument("--results", action="append", metavar="FILE",
                       help="results table(s), CSV or Parquet (default: the shipped data)")
        q.add_argument("--task", action="append", help="target task(s) to keep (repeatable)")
        q.add_argument("--model", action="append", help="model(s) to keep (repeatable)")
        q.add_argument("--metric", action="append", help="metric(s) to keep (repeatable)")
        q.add_argument("--source-language", action="append", default=None,
                       help="fine-tuning language(s) to keep (default en; 'all' keeps every one)")
        q.add_argument("--scale", choices=("percent", "fraction"), default="percent",
                       help="scale of the score column (default percent)")
        _flag_args(q)
        if distances:
            q.add_argument("--codes", choices=("individual", "lang2vec"), default="individual")
            q.add_argument("--impute-distances", action="store_true", default=None,
                           help="use lang2vec's default vector for languages without URIEL data")
        q.add_argument("--format", choices=("table", "csv", "json"), default="table")
        q.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")

    kinds = DISTANCE_KINDS
    it = sub.add_parser("intermediate", help="intermediate-task effects: gains and distance slope",
                        description="Effects of English intermediate-task training.")
    itsub = it.add_subparsers(dest="what", metavar="WHAT", parser_class=_Parser, required=True)
    q = itsub.add_parser("gains", help="gain of each intermediate task over none, per language",
                         description="Score with each intermediate task minus score without, "
                                     "per target task and language, with a bootstrap interval "
                                     "of the mean gain over languages (or families).")
    results_args(q, distances=False)
    q.add_argument("--baseline", default="", help="intermediate_task of the baseline (default: none)")
    q.add_argument("--intermediate-task", action="append", help="intermediate task(s) to compare")
    q.add_argument("--cluster", choices=("language", "family"), default="language")
    q.add_argument("--ci", choices=("bca", "percentile"), default="bca")
    q.add_argument("--n-boot", type=int, default=10_000)
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_cmd_intermediate)
    q = itsub.add_parser("slope", help="does intermediate training change the distance slope",
                         description="Mixed model degradation ~ distance * intermediate + "
                                     "log_size + (1 | language) per experiment.")
    results_args(q)
    q.add_argument("--distance", choices=kinds, default="syntactic")
    q.add_argument("--outcome", choices=("degradation", "degradation_relative"),
                   default="degradation")
    q.add_argument("--baseline", default="")
    q.add_argument("--intermediate-task", action="append")
    q.add_argument("--ml", dest="reml", action="store_false", default=True,
                   help="maximum likelihood instead of REML")
    q.set_defaults(func=_cmd_intermediate)

    sc = sub.add_parser("scale", help="settings gap and degradation across model sizes",
                        description="Scale: the gap between settings (zero-shot versus "
                                    "translate-train-all) and degradation across model sizes "
                                    "(log10 parameters, data/models/models.csv).")
    scsub = sc.add_subparsers(dest="what", metavar="WHAT", parser_class=_Parser, required=True)
    for name, helptext in (("gap", "the gap between two settings per model and language"),
                           ("fit", "outcome ~ log_params * distance + (1 | language)")):
        q = scsub.add_parser(name, help=helptext, description=helptext)
        results_args(q)
        q.add_argument("--setting", action="append",
                       help="the two settings to compare (default zero-shot, translate-train-all)")
        q.add_argument("--model-family", action="append", help="model families (e.g. XLM-R)")
        if name == "fit":
            q.add_argument("--outcome", choices=("gap", "degradation", "degradation_relative"),
                           default="gap")
            q.add_argument("--distance", choices=kinds, default="syntactic")
            q.add_argument("--min-models", type=int, default=3)
            q.add_argument("--ml", dest="reml", action="store_false", default=True)
        q.set_defaults(func=_cmd_scale)

    cp = sub.add_parser(
        "compare", help="compare settings: adapters, multi-task, multilingual intermediate, LLMs",
        description="Compare two training settings of the same results (xdist.settings): the "
                    "per-language gap and its mean (gap), the gap against distance (slope), "
                    "multi-task against single-task intermediate training (multitask), the gap "
                    "across model sizes (scale), and degradation slopes of LLM settings beside "
                    "the encoder's (llm). See docs/analyses.md.")
    cpsub = cp.add_subparsers(dest="what", metavar="WHAT", parser_class=_Parser, required=True)
    for name, helptext in (
        ("gap", "score(setting) - score(reference) per language, mean with bootstrap CI "
                "(default zero-shot+lora vs zero-shot)"),
        ("slope", "gap ~ distance(s), OLS clustered by language or family"),
        ("multitask", "multi-task intermediate training (e.g. 'MNLI,QQP') against single-task"),
        ("scale", "gap ~ log_params (+ distance) across models (default "
                  "zero-shot+multilingual-intermediate vs zero-shot)"),
        ("llm", "degradation ~ distance slopes of LLM settings beside the reference's, and "
                "their difference with a paired bootstrap CI"),
    ):
        q = cpsub.add_parser(name, help=helptext, description=helptext)
        results_args(q, distances=name in ("slope", "scale", "llm"))
        q.add_argument("--setting", action="append",
                       help="the setting to compare (llm: repeatable, default every llm-*)")
        q.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level")
        if name != "multitask":
            q.add_argument("--reference", help="the reference setting (default zero-shot)")
        if name in ("gap", "slope", "scale"):
            q.add_argument("--model-family", action="append", help="model families (e.g. XLM-R)")
            q.add_argument("--intermediate-task", action="append",
                           help="intermediate task(s) of --setting to keep")
            q.add_argument("--reference-intermediate-task", default=None,
                           help="compare with this intermediate task of --reference ('' = none) "
                                "instead of the same one")
        if name in ("slope", "scale", "llm"):
            q.add_argument("--distance", action="append", choices=kinds,
                           help="distance kind(s) (slope: repeatable; default syntactic; "
                                "scale: optional covariate)")
        if name in ("gap", "multitask", "llm"):
            q.add_argument("--cluster", choices=("language", "family"), default="language")
            q.add_argument("--ci", choices=("bca", "percentile"), default="bca")
            q.add_argument("--n-boot", type=int, default=10_000)
            q.add_argument("--seed", type=int, default=0)
        if name == "slope":
            q.add_argument("--cluster", choices=("language", "family"), default="language")
        if name == "scale":
            q.add_argument("--parameters", action="append", metavar="MODEL=COUNT",
                           help="parameter count of a model outside data/models/models.csv "
                                "(repeatable)")
        if name == "multitask":
            q.add_argument("--single-setting", help="setting of the single-task rows "
                                                    "(default: --setting)")
            q.add_argument("--against", choices=("best", "each"), default="best")
            q.add_argument("--separator", default=",",
                           help="separator of a multi-task intermediate_task (default ',')")
        if name == "llm":
            q.add_argument("--outcome", choices=("degradation", "degradation_relative"),
                           default="degradation")
            q.add_argument("--reference-model", action="append",
                           help="models of the reference setting to compare with")
            q.add_argument("--match-models", action="store_true",
                           help="compare each experiment only with the same model's reference")
        q.set_defaults(func=_cmd_compare)

    q = sub.add_parser("loo", help="which languages drive a slope: leave one language/family out",
                       description="Refit a formula leaving out each language (or family) in turn: "
                                   "the slope without it and the held-out prediction error.")
    results_args(q)
    q.add_argument("--formula", default="degradation ~ syntactic")
    q.add_argument("--unit", choices=("language", "family"), default="language")
    q.set_defaults(func=_cmd_loo)

    from xdist.report.cli import add_parser as add_report_parser

    add_report_parser(sub)

    from xdist.train.cli import add_parser as add_train_parser

    add_train_parser(sub)

    from xdist.train.llm_cli import add_parser as add_lm_eval_parser

    add_lm_eval_parser(sub)

    from xdist.train.sweep import add_parser as add_sweep_parser  # Ray is imported only when a sweep runs

    add_sweep_parser(sub)

    q = sub.add_parser("models", help="the pretrained-models table (parameters, provenance)")
    q.add_argument("--family", action="append", help="model families to keep")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table")
    q.add_argument("--output", metavar="FILE")
    q.set_defaults(func=_cmd_models)
    return p


def main(argv=None) -> int:
    """Run the ``xdist`` command line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if hasattr(args, "source_language") and args.source_language is None:
        args.source_language = ["en"]
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError, PermissionError) as exc:
        if os.environ.get("XDIST_DEBUG"):
            raise
        msg = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        msg = " ".join(msg.split())
        sys.stderr.write(f"xdist {args.command}: error: {msg}\n")
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        sys.stderr.write(f"xdist {args.command}: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
