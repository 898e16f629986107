"""The ``xdist report`` subcommand: ``add_parser(sub)`` registers it on the main CLI."""

from __future__ import annotations

import shlex
import sys

__all__ = ["add_parser", "run"]

DEFAULT_OUTPUT = "reports/xdist-report.pdf"


def add_parser(sub):
    """Register ``report`` on ``sub`` (from ``ArgumentParser.add_subparsers``)."""
    r = sub.add_parser(
        "report",
        help="write a PDF or HTML report of the analyses (default: the shipped data)",
        description=(
            "Run the correlations, the models across tasks and the figures and write them, "
            "with what was analysed, the methods as actually run and the caveats, to one PDF "
            "(matplotlib only) or self-contained HTML file. The same inputs and seed give the "
            "same numbers."
        ),
    )
    r.add_argument("--results", action="append", metavar="FILE",
                   help="results table (CSV or Parquet); repeatable (default: shipped data)")
    r.add_argument("--task", action="append", help="target task(s) to keep (repeatable)")
    r.add_argument("--output", metavar="FILE", default=None,
                   help=f"file to write (default {DEFAULT_OUTPUT}, or .html with --format html)")
    r.add_argument("--format", choices=("pdf", "html"), default=None,
                   help="pdf (default) or html; default taken from --output's suffix")
    r.add_argument("--method", action="append", choices=("pearson", "spearman", "kendall"),
                   help="correlation method(s) of the main table (default spearman)")
    r.add_argument("--distance", default="syntactic",
                   choices=("syntactic", "phonological", "inventory", "featural", "geographic",
                            "genetic"),
                   help="distance kind of the models and figures (default syntactic)")
    r.add_argument("--n-boot", type=int, default=2000,
                   help="bootstrap resamples of the correlations (default 2000)")
    r.add_argument("--n-perm", type=int, default=9999,
                   help="permutations for the p-values (default 9999)")
    r.add_argument("--full-table", action="store_true",
                   help="add an appendix with all three correlation methods")
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.set_defaults(func=run)
    return r


def run(args) -> int:
    """Handler of ``xdist report``: build, write, print the path. Errors raise ValueError."""
    from pathlib import Path

    from xdist.report import make_report
    from xdist.report.build import REPORT_STEPS
    from xdist.report.progress import Progress

    fmt = args.format
    output = args.output
    if fmt is None:
        fmt = "html" if output and Path(output).suffix.lower() in (".html", ".htm") else "pdf"
    if output is None:
        output = DEFAULT_OUTPUT if fmt == "pdf" else DEFAULT_OUTPUT[:-4] + ".html"
        Path(output).parent.mkdir(parents=True, exist_ok=True)  # the default folder only
    argv = getattr(args, "argv", None) or sys.argv[1:]
    command = "xdist " + " ".join(shlex.quote(a) for a in argv)
    progress = Progress(REPORT_STEPS)
    try:
        make_report(output, format=fmt, progress=progress, results=args.results,
                    tasks=args.task, methods=tuple(args.method or ("spearman",)),
                    distance=args.distance, n_boot=args.n_boot, n_perm=args.n_perm,
                    seed=args.seed, full_table=args.full_table, command=command)
    except BaseException:
        if progress.enabled:  # end the progress line before the error message
            sys.stderr.write("\n")
        raise
    sys.stdout.write(f"wrote {output}\n")
    return 0
