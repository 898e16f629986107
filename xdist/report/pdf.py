"""Lay a :class:`~xdist.report.content.Report` out as an A4 PDF with matplotlib only.

Text pages are matplotlib figures with ``fig.text``: prose is wrapped to a
conservative number of characters, tables are set in DejaVu Sans Mono with
every cell wrapped to its column width, so nothing is cut off; a table
longer than the page continues on the next with its header repeated, and
rows are never split across pages.  Figures are embedded as PNG images with
their captions below.  No LaTeX, browser or other PDF engine.
"""

from __future__ import annotations

import io
import textwrap

from xdist.report.content import Bullets, Figure, Paragraph, Table

__all__ = ["write_pdf"]

PAGE_W, PAGE_H = 8.27, 11.69  # A4, inches
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 0.7, 0.7, 0.75
USABLE_W = PAGE_W - 2 * MARGIN_X
PT = 1 / 72.0
MONO_ADVANCE = 0.602  # DejaVu Sans Mono advance width, in em

STYLES = {
    # size (pt), weight, family, wrap width (characters), space before (pt)
    "title": (20, "bold", "sans-serif", 38, 0),
    "h1": (14, "bold", "sans-serif", 70, 6),
    "subhead": (10, "bold", "sans-serif", 90, 5),
    "body": (9, "normal", "sans-serif", 98, 2),
    "small": (8, "normal", "sans-serif", 112, 1),
    "caption": (8, "normal", "sans-serif", 112, 2),
    "mono": (7.5, "normal", "monospace", 110, 1),
}


def _wrap(text: str, width: int) -> list:
    out = []
    for para in str(text).split("\n"):
        out += textwrap.wrap(para, width=width, break_long_words=True,
                             break_on_hyphens=False) or [""]
    return out


def _wrap_cell(text: str, width: int) -> list:
    if not text:
        return [""]
    return textwrap.wrap(str(text), width=max(1, width), break_long_words=True,
                         break_on_hyphens=False) or [""]


class _Pages:
    """Pages of text laid out top to bottom, flushed into a PdfPages."""

    def __init__(self, pdf, title: str):
        self.pdf = pdf
        self.title = title
        self.fig = None
        self.y = 0.0  # inches from the bottom
        self.page = 0

    # -- page handling
    def new_page(self):
        import matplotlib.pyplot as plt

        self.close_page()
        self.fig = plt.figure(figsize=(PAGE_W, PAGE_H))
        self.page += 1
        self.y = PAGE_H - MARGIN_TOP
        if self.page > 1:
            self._text(MARGIN_X, PAGE_H - 0.4, f"xdist report: {self.title}", 7, "normal",
                       "sans-serif", color="0.4")
        self._text(PAGE_W / 2, 0.4, f"{self.page}", 8, "normal", "sans-serif", color="0.3",
                   ha="center")

    def close_page(self):
        import matplotlib.pyplot as plt

        if self.fig is not None:
            self.pdf.savefig(self.fig)
            plt.close(self.fig)
            self.fig = None

    def room(self) -> float:
        return self.y - MARGIN_BOTTOM

    def need(self, height: float):
        if self.fig is None or self.room() < height:
            self.new_page()

    # -- primitives
    def _text(self, x, y, s, size, weight, family, *, color="black", ha="left"):
        self.fig.text(x / PAGE_W, y / PAGE_H, s, fontsize=size, fontweight=weight,
                      family=family, color=color, ha=ha, va="top", parse_math=False)

    def rule(self, x0, x1, lw=0.5, color="0.3"):
        from matplotlib.lines import Line2D

        self.fig.add_artist(Line2D([x0 / PAGE_W, x1 / PAGE_W], [self.y / PAGE_H] * 2,
                                   transform=self.fig.transFigure, lw=lw, color=color))

    def lines(self, lines, style: str, *, indent=0.0, keep_together=False, color="black"):
        size, weight, family, _, before = STYLES[style]
        lh = size * 1.3 * PT
        if keep_together:
            self.need(before * PT + lh * len(lines))
        elif self.fig is None:
            self.new_page()
        self.y -= before * PT
        for ln in lines:
            if self.room() < lh:
                self.new_page()
            self._text(MARGIN_X + indent, self.y, ln, size, weight, family, color=color)
            self.y -= lh

    def paragraph(self, text: str, style: str = "body"):
        width = STYLES[style][3]
        self.lines(_wrap(text, width), style, keep_together=(style in ("subhead", "h1")))
        if style == "subhead":  # keep a heading with the first lines after it
            self.need(5 * 9 * 1.3 * PT)

    def bullets(self, items, numbered: bool):
        size, weight, family, width, before = STYLES["body"]
        lh = size * 1.3 * PT
        for i, item in enumerate(items, 1):
            mark = f"{i}." if numbered else "-"
            wrapped = _wrap(str(item), width - 5)
            self.need(lh * min(len(wrapped), 3) + before * PT)
            self.y -= before * PT
            for j, ln in enumerate(wrapped):
                if self.room() < lh:
                    self.new_page()
                if j == 0:
                    self._text(MARGIN_X, self.y, mark, size, weight, family)
                self._text(MARGIN_X + 0.28, self.y, ln, size, weight, family)
                self.y -= lh

    # -- tables
    def table(self, t: Table):
        ncol = len(t.columns)
        widths = list(t.widths)
        gap = 2
        total = sum(widths) + gap * (ncol - 1)
        size = min(STYLES["mono"][0], USABLE_W / (total * MONO_ADVANCE * PT))
        cw = size * MONO_ADVANCE * PT  # inches per character
        lh = size * 1.28 * PT
        x_end = MARGIN_X + total * cw

        header = [_wrap_cell(c, w) for c, w in zip(t.columns, widths)]
        h_lines = max(len(h) for h in header)

        # rows as lists of wrapped cells; group_first flows the first cell down its group
        rows = [[_wrap_cell(c, w) for c, w in zip(r, widths)] for r in t.rows]
        groups = []  # (start, end) row indices
        if t.group_first:
            starts = [i for i, r in enumerate(t.rows) if r[0] != ""] or [0]
            if starts[0] != 0:
                starts.insert(0, 0)
            for a, b in zip(starts, starts[1:] + [len(rows)]):
                groups.append((a, b))
                first = rows[a][0]
                heights = [max(len(c) for c in rows[i][1:]) if ncol > 1 else 1
                           for i in range(a, b)]
                # distribute the wrapped first cell over the rows of the group
                k = 0
                for i, h in zip(range(a, b), heights):
                    take = first[k:k + h] if i < b - 1 else first[k:]
                    rows[i][0] = take or [""]
                    k += len(take)
        else:
            groups = [(i, i + 1) for i in range(len(rows))]
        # rules between rows when some row wraps onto several lines
        multi = any(max(len(c) for c in r) > 1 for r in rows)

        def draw_header(cont: bool):
            cap = t.caption + (" (continued)" if cont else "")
            if cap:
                self.lines(_wrap(cap, STYLES["subhead"][3]), "subhead", keep_together=True)
                self.y -= 2 * PT
            for li in range(h_lines):
                self._line([c[li] if li < len(c) else "" for c in header], widths, t.align,
                           gap, size, "bold")
                self.y -= lh
            self.y -= lh * 0.05
            self.rule(MARGIN_X, x_end, lw=0.6)
            self.y -= lh * 0.3

        head_h = (h_lines + 0.6) * lh + (STYLES["subhead"][0] * 1.3 + 7) * PT * bool(t.caption)
        first_group_h = sum(max(len(c) for c in rows[i]) for i in range(*groups[0])) * lh \
            if rows else lh
        self.need(head_h + min(first_group_h, 10 * lh) + 4 * PT)
        self.y -= 4 * PT
        draw_header(False)
        for gi, (a, b) in enumerate(groups):
            heights = [max(len(c) for c in rows[i]) for i in range(a, b)]
            gh = sum(heights) * lh
            # keep small groups together; split big ones by row
            if gh <= self.room() or gh > (PAGE_H - MARGIN_TOP - MARGIN_BOTTOM) / 2:
                pass
            else:
                self.new_page()
                draw_header(True)
            for i, h in zip(range(a, b), heights):
                if self.room() < h * lh:
                    self.new_page()
                    draw_header(True)
                for li in range(h):
                    self._line([c[li] if li < len(c) else "" for c in rows[i]], widths,
                               t.align, gap, size, "normal")
                    self.y -= lh
            if gi < len(groups) - 1 and (t.group_first or multi):
                self.y -= lh * 0.05
                self.rule(MARGIN_X, x_end, lw=0.3, color="0.75")
                self.y -= lh * 0.2
        self.y -= lh * 0.05
        self.rule(MARGIN_X, x_end, lw=0.6)
        self.y -= lh * 0.8

    def _line(self, cells, widths, align, gap, size, weight):
        """One physical line of a table as one monospace string (cells padded)."""
        parts = [c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(cells, widths, align)]
        text = (" " * gap).join(parts).rstrip()
        if text:
            self._text(MARGIN_X, self.y, text, size, weight, "monospace")

    # -- figures
    def figure(self, f: Figure, number: int):
        import matplotlib.image as mpimg

        img = mpimg.imread(io.BytesIO(f.png), format="png")
        h_px, w_px = img.shape[:2]
        cap_lines = _wrap(f"Figure {number}. {f.caption}", STYLES["caption"][3])
        cap_h = len(cap_lines) * STYLES["caption"][0] * 1.3 * PT + 6 * PT
        title_h = (STYLES["subhead"][0] * 1.3 + 8) * PT
        max_h = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM - cap_h - title_h - 0.2
        w = USABLE_W
        h = w * h_px / w_px
        if h > max_h:
            h = max_h
            w = h * w_px / h_px
        self.need(title_h + h + cap_h + 0.1)
        self.lines([f"Figure {number}: {f.title}"], "subhead")
        self.y -= 4 * PT
        left = MARGIN_X + (USABLE_W - w) / 2
        ax = self.fig.add_axes([left / PAGE_W, (self.y - h) / PAGE_H, w / PAGE_W, h / PAGE_H])
        ax.imshow(img, interpolation="none")
        ax.set_axis_off()
        self.y -= h + 6 * PT
        self.lines(cap_lines, "caption", color="0.15")
        self.y -= 10 * PT


def write_pdf(report, path) -> None:
    """Write ``report`` as a PDF to ``path`` (a file object or path; not atomic by itself).

    The PDF metadata carries no creation date, so the same report gives the
    same bytes.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_pdf import PdfPages

    from xdist import __version__

    meta = {"Title": f"xdist report: {report.title}", "Author": "xdist",
            "Creator": f"xdist {__version__} (matplotlib)", "CreationDate": None,
            "Producer": None}
    with matplotlib.rc_context({"svg.hashsalt": "xdist",
                                "font.family": "sans-serif", "text.usetex": False}):
        with PdfPages(path, metadata=meta) as pdf:
            pages = _Pages(pdf, report.title)
            _title_page(pages, report)
            fig_no = 0
            for si, sec in enumerate(report.sections, 1):
                if sec.new_page or pages.fig is None:
                    pages.new_page()
                else:
                    pages.need(1.5)
                pages.lines([f"{si}. {sec.title}"], "h1")
                pages.y -= 6 * PT
                for b in sec.blocks:
                    if isinstance(b, Paragraph):
                        pages.paragraph(b.text, b.style)
                    elif isinstance(b, Bullets):
                        pages.bullets(b.items, b.numbered)
                    elif isinstance(b, Table):
                        pages.table(b)
                    elif isinstance(b, Figure):
                        fig_no += 1
                        pages.figure(b, fig_no)
                    else:  # pragma: no cover
                        raise TypeError(f"unknown report block {type(b).__name__}")
            pages.close_page()


def _title_page(pages: _Pages, report) -> None:
    pages.new_page()
    pages.y -= 1.0
    pages.lines(["xdist report"], "h1", color="0.35")
    pages.lines(_wrap(report.title, STYLES["title"][3]), "title")
    pages.y -= 0.3
    size, _, family, width, _ = STYLES["body"]
    lh = size * 1.3 * PT
    key_w = 2.2
    for key, value in report.meta:
        wrapped = _wrap(str(value), 64)
        pages.need(lh * len(wrapped) + 4 * PT)
        pages.y -= 4 * PT
        pages._text(MARGIN_X, pages.y, key, size, "bold", family)
        for ln in wrapped:
            pages._text(MARGIN_X + key_w, pages.y, ln, size, "normal", family)
            pages.y -= lh
    pages.y -= 0.3
    pages.lines(_wrap("Sections: " + "; ".join(f"{i}. {s.title}" for i, s in
                                               enumerate(report.sections, 1)),
                      STYLES["small"][3]), "small", color="0.3")
