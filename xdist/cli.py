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
            methods=args.method or ("pearson", "spearman", "kendall"),
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
    c.add_argument("--distance", action="append", choices=DISTANCE_KINDS,
                   help="distance kind(s) (repeatable; default all six)")
    c.add_argument("--method", action="append", choices=("pearson", "spearman", "kendall"),
                   help="correlation method(s) (repeatable; default all three)")
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
    c.add_argument("--impute-distances", action="store_true",
                   help="for languages without URIEL data, use lang2vec's published default "
                        "vector (default: leave them out of that distance kind)")
    c.add_argument("--source-language", action="append", default=None,
                   help="fine-tuning language(s) of the experiments to keep (default en; "
                        "'all' keeps every one)")
    c.add_argument("--min-languages", type=int, default=5,
                   help="leave out experiments with fewer target languages (default 5)")
    c.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
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
    return p


def main(argv=None) -> int:
    """Run the ``xdist`` command line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if getattr(args, "source_language", None) is None and args.command == "correlate":
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
