"""``xdist report``: PDF and HTML reports over the analyses.

Small settings throughout (two tasks, few resamples) to stay fast.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from xdist.analyses import correlate  # noqa: E402
from xdist.caveats import collect_caveats  # noqa: E402
from xdist.report import build_report, make_report, write_report  # noqa: E402
from xdist.report.progress import Progress, progress_enabled  # noqa: E402
from xdist.results import load_shipped_results  # noqa: E402

TASKS = ["PAWS-X", "XNLI"]
SMALL = dict(tasks=TASKS, n_boot=200, n_perm=199, seed=3, figure_dpi=50)


@pytest.fixture(scope="module")
def report():
    return build_report(**SMALL)


@pytest.fixture(scope="module")
def html_text(report, tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "r.html"
    write_report(report, out, format="html")
    return out.read_text(encoding="utf-8")


class _Cells(HTMLParser):
    """Collect the data-value attributes of one table's cells, by column index."""

    def __init__(self, table_id):
        super().__init__()
        self.table_id, self.inside, self.rows, self.header = table_id, False, [], []
        self._in_th = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.rows[-1].append(a.get("data-value"))
        elif self.inside and tag == "th":
            self._in_th = True

    def handle_data(self, data):
        if self._in_th:
            self.header.append(data)

    def handle_endtag(self, tag):
        if tag == "th":
            self._in_th = False
        if tag == "table":
            self.inside = False


def _html_correlations(text: str) -> pd.DataFrame:
    p = _Cells("correlations")
    p.feed(text)
    rows = [r for r in p.rows if r]
    # the experiment cell spans its group (rowspan): data cells are the last 6
    vals = [[None if v is None else float(v) for v in r[-6:]] for r in rows]
    cols = ["distance", "n", "estimate", "ci", "p_value", "p_adjusted"]
    return pd.DataFrame(vals, columns=cols)


# ----------------------------------------------------------------------------- content
def test_sections_and_settings(report):
    titles = [s.title for s in report.sections]
    assert titles == ["What was analysed", "Methods", "Correlation of degradation with distance",
                      "Regression and mixed models", "Figures", "Caveats"]
    assert report.settings["n_boot"] == 200 and report.settings["seed"] == 3
    meta = dict(report.meta)
    assert meta["Seed"] == "3" and "PAWS-X" in meta["Tasks"]
    methods = " ".join(b.text for b in report.sections[1].blocks)
    # generated from the settings actually used, not boilerplate
    assert "200 resamples" in methods and "199 permutations" in methods
    assert "Holm" in methods and "REML" in methods and "arb" in methods


def test_models_and_caveats(report):
    models = report.tables["models"]
    assert {"mixed-intercepts", "mixed-slopes"} <= set(models)
    fixed = models["mixed-intercepts"].fixed
    assert fixed["term"].tolist() == ["Intercept", "syntactic", "log_size"]
    assert np.isfinite(fixed["estimate"]).all()
    # flagged source values and few-language experiments are reported
    text = " ".join(report.caveats)
    assert "column_order" in text or "flagged" in text
    assert "fewer than 10 target languages" in text


def test_figures_from_plots(report):
    figs = [b for b in report.sections[4].blocks if hasattr(b, "png")]
    names = {f.name for f in figs}
    assert {"degradation-vs-distance", "forest", "heatmap", "random-slopes"} <= names
    assert all(f.png.startswith(b"\x89PNG") and f.caption for f in figs)
    assert not any("left out: " in c and "figure '" in c for c in report.caveats), report.caveats


# ----------------------------------------------------------------------------- HTML
def test_html_numbers_equal_correlate(report, html_text):
    assert html_text.startswith("<!DOCTYPE html>")
    for title in ("What was analysed", "Methods", "Caveats", "Figures"):
        assert title in html_text
    assert "data:image/png;base64," in html_text and "<link" not in html_text
    got = _html_correlations(html_text)
    with collect_caveats():
        ref = correlate(load_shipped_results(), tasks=TASKS, methods=["spearman"], n_boot=200,
                        n_perm=199, seed=3)
    assert len(got) == len(ref)
    for col in ("estimate", "p_value", "p_adjusted", "n"):
        np.testing.assert_array_equal(got[col].to_numpy(float), ref[col].to_numpy(float))


# ----------------------------------------------------------------------------- PDF
def test_pdf_written_and_deterministic(tmp_path, monkeypatch):
    import xdist.report.build as build

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # fixed title-page date
    monkeypatch.setattr(build, "_git_revision", lambda: "abc")  # a commit may land meanwhile
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    kw = dict(tasks=["PAWS-X"], n_boot=200, n_perm=99, seed=1, figure_dpi=50)
    r1 = make_report(a, **kw)
    r2 = make_report(b, **kw)
    data = a.read_bytes()
    assert data.startswith(b"%PDF")
    n_pages = len(re.findall(rb"/Type\s*/Page\b", data))
    assert 5 <= n_pages <= 30
    # same inputs and seed: same numbers, and here even the same bytes
    pd.testing.assert_frame_equal(r1.tables["correlations"], r2.tables["correlations"])
    for name, rep in r1.tables["models"].items():
        pd.testing.assert_frame_equal(rep.fixed, r2.tables["models"][name].fixed)
    assert data == b.read_bytes()
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(a), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert "Correlation table" in text and "Caveats" in text
        est = r1.tables["correlations"]["estimate"].dropna()
        assert all(f"{v:.3f}" in text for v in est)


def test_html_deterministic(report, tmp_path):
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    write_report(report, a, format="html")
    write_report(report, b, format="html")
    assert a.read_bytes() == b.read_bytes()


# ----------------------------------------------------------------------------- errors
def _cli(argv, capsys):
    """Run ``xdist`` with the report subcommand registered (as cli.py does)."""
    from xdist import cli
    from xdist.report.cli import add_parser

    orig = cli.build_parser

    def build():
        p = orig()
        sub = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
        if "report" not in sub.choices:
            add_parser(sub)
        return p

    cli.build_parser = build
    try:
        try:
            rc = cli.main(argv)
        except SystemExit as exc:
            rc = exc.code
    finally:
        cli.build_parser = orig
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_missing_folder_one_line_error(tmp_path, capsys):
    out = tmp_path / "nope" / "r.pdf"
    rc, _, err = _cli(["report", "--task", "PAWS-X", "--n-boot", "200", "--output", str(out)],
                      capsys)
    assert rc == 2
    assert err.count("\n") == 1 and "does not exist" in err and err.startswith("xdist report")
    assert not out.parent.exists()


def test_bad_format_one_line_error(tmp_path, capsys):
    rc, _, err = _cli(["report", "--format", "docx", "--output", str(tmp_path / "r.docx")],
                      capsys)
    assert rc == 2 and err.count("\n") == 1 and "--format" in err and "pdf" in err


def test_bad_task_and_api_errors(tmp_path, capsys):
    rc, _, err = _cli(["report", "--task", "XNLJ", "--output", str(tmp_path / "r.pdf")], capsys)
    assert rc == 2 and err.count("\n") == 1 and "XNLI" in err
    assert not (tmp_path / "r.pdf").exists()
    with pytest.raises(ValueError, match="format='docx'"):
        write_report(None, tmp_path / "x", format="docx")
    with pytest.raises(ValueError, match="n_boot=5"):
        build_report(tasks=["PAWS-X"], n_boot=5)
    with pytest.raises(ValueError, match="file not found"):
        build_report(results=[tmp_path / "missing.csv"])


def test_failure_leaves_no_file(tmp_path, report, monkeypatch):
    import xdist.report.pdf as pdf

    def boom(rep, fh):
        fh.write(b"%PDF-partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(pdf, "write_pdf", boom)
    out = tmp_path / "r.pdf"
    with pytest.raises(RuntimeError):
        write_report(report, out)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- progress
def test_progress_quiet_when_not_a_tty(monkeypatch):
    buf = io.StringIO()
    p = Progress(["load", "write"], stream=buf)
    p.step("load")
    p.done()
    assert buf.getvalue() == "" and not progress_enabled(buf)

    class FakeTTY(io.StringIO):
        def isatty(self):
            return True

    tty = FakeTTY()
    monkeypatch.delenv("CI", raising=False)
    assert progress_enabled(tty)
    q = Progress(["load", "write"], stream=tty)
    q.step("load")
    q.done()
    assert "1/2 load" in tty.getvalue()
    monkeypatch.setenv("CI", "true")
    assert not progress_enabled(tty)


def test_cli_writes_html_quietly(tmp_path, capsys):
    out = tmp_path / "r.html"
    rc, stdout, err = _cli(["report", "--task", "PAWS-X", "--n-boot", "200",
                            "--n-perm", "99", "--output", str(out)], capsys)
    assert rc == 0, err
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")  # format from suffix
    assert err == "" and f"wrote {out}" in stdout
