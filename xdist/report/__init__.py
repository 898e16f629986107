"""``xdist report``: a PDF or HTML report over the analyses.

- :func:`build_report` runs the analyses (correlations, models, figures) and
  returns a :class:`Report` of renderer-neutral blocks plus the numbers;
- :func:`write_report` writes it atomically as PDF (matplotlib only) or HTML
  (one self-contained file);
- :func:`make_report` does both.

Examples
--------
>>> from xdist.report import make_report
>>> rep = make_report("out.pdf", tasks=["PAWS-X"], n_boot=200)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the builder imports pandas and the analyses: loaded on first use,
    from xdist.report.content import Report  # so that `xdist --help` stays fast

__all__ = ["FORMATS", "Report", "build_report", "make_report", "write_report"]

FORMATS = ("pdf", "html")


def _check_output(path, fmt: str) -> Path:
    if fmt not in FORMATS:
        raise ValueError(f"format={fmt!r} is not valid: expected one of {list(FORMATS)}")
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"--output {str(path)!r} is a directory: expected a file path")
    if not p.parent.exists():
        raise ValueError(f"--output {str(path)!r}: folder {str(p.parent)!r} does not exist; "
                         f"create it first")
    return p


def write_report(report: "Report", path, *, format: str = "pdf") -> Path:  # noqa: A002
    """Write ``report`` to ``path`` as ``"pdf"`` or ``"html"``, atomically.

    The file is written to a temporary file in the same folder and moved into
    place, so a failure never leaves a broken report behind.

    Raises
    ------
    ValueError
        Unknown ``format``, ``path`` a directory, or its folder missing.
    """
    p = _check_output(path, format)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        if format == "pdf":
            from xdist.report.pdf import write_pdf

            with os.fdopen(fd, "wb") as fh:
                write_pdf(report, fh)
        else:
            from xdist.report.html import render_html

            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(render_html(report))
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def make_report(output, *, format: str = "pdf", progress=None, **kwargs) -> "Report":  # noqa: A002
    """Build the report (:func:`build_report` keywords) and write it to ``output``."""
    from xdist.report.build import REPORT_STEPS, build_report
    from xdist.report.progress import Progress

    _check_output(output, format)  # fail before the long work
    progress = progress or Progress(REPORT_STEPS, enabled=False)
    report = build_report(progress=progress, **kwargs)
    progress.step("write")
    write_report(report, output, format=format)
    progress.done()
    return report


def __getattr__(name):
    if name in ("build_report", "REPORT_STEPS"):
        from xdist.report import build

        return getattr(build, name)
    if name == "Report":
        from xdist.report.content import Report

        return Report
    raise AttributeError(f"module 'xdist.report' has no attribute {name!r}")
