"""Lay a :class:`~xdist.report.content.Report` out as one self-contained HTML file.

Inline CSS, figures as base64 PNG, tables as HTML tables.  Numeric cells
carry their full-precision value in a ``data-value`` attribute.
"""

from __future__ import annotations

import base64
import html

from xdist.report.content import Bullets, Figure, Paragraph, Table

__all__ = ["render_html"]

_CSS = """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em;color:#111;line-height:1.45;font-size:15px}
h1{font-size:1.7em;margin-bottom:.2em} h2{border-bottom:1px solid #999;margin-top:2em}
h3{font-size:1.05em;margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.85em}
caption{text-align:left;font-weight:bold;padding:.3em 0}
th,td{border-bottom:1px solid #ddd;padding:.2em .6em;vertical-align:top}
th{border-bottom:2px solid #555;text-align:left} td.r,th.r{text-align:right;white-space:nowrap}
td.g{max-width:18em} dl.meta{display:grid;grid-template-columns:14em 1fr;gap:.2em 1em}
dl.meta dt{font-weight:bold} dl.meta dd{margin:0}
figure{margin:1.5em 0} figure img{max-width:100%} figcaption{font-size:.9em;color:#333}
.small{font-size:.88em;color:#333}
"""


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def _table(t: Table) -> str:
    out = [f'<table id="{_e(t.name)}">' if t.name else "<table>"]
    if t.caption:
        out.append(f"<caption>{_e(t.caption)}</caption>")
    out.append("<thead><tr>" + "".join(
        f'<th class="{a}">{_e(c)}</th>' for c, a in zip(t.columns, t.align)) + "</tr></thead>")
    out.append("<tbody>")
    spans = {}
    if t.group_first:
        start = 0
        for i, r in enumerate(t.rows):
            if r[0] != "" or i == 0:
                start = i
                spans[start] = 1
            else:
                spans[start] += 1
    for i, r in enumerate(t.rows):
        vals = t.values[i] if t.values else [None] * len(r)
        cells = []
        for j, (c, a, v) in enumerate(zip(r, t.align, vals)):
            if t.group_first and j == 0:
                if i not in spans:
                    continue
                cells.append(f'<td class="g" rowspan="{spans[i]}">{_e(c)}</td>')
                continue
            dv = f' data-value="{v!r}"' if v is not None else ""
            cells.append(f'<td class="{a}"{dv}>{_e(c)}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def render_html(report) -> str:
    """The report as one HTML document (a string)."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>xdist report: {_e(report.title)}</title>",
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{_e(report.title)}</h1>", '<dl class="meta">']
    for k, v in report.meta:
        parts.append(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>")
    parts.append("</dl>")
    fig_no = 0
    for si, sec in enumerate(report.sections, 1):
        sid = "section-" + "-".join(sec.title.lower().replace(":", "").split())
        parts.append(f'<section id="{_e(sid)}"><h2>{si}. {_e(sec.title)}</h2>')
        for b in sec.blocks:
            if isinstance(b, Paragraph):
                if b.style == "subhead":
                    parts.append(f"<h3>{_e(b.text)}</h3>")
                else:
                    cls = ' class="small"' if b.style == "small" else ""
                    parts.append(f"<p{cls}>{_e(b.text)}</p>")
            elif isinstance(b, Bullets):
                tag = "ol" if b.numbered else "ul"
                parts.append(f"<{tag}>" + "".join(f"<li>{_e(i)}</li>" for i in b.items)
                             + f"</{tag}>")
            elif isinstance(b, Table):
                parts.append(_table(b))
            elif isinstance(b, Figure):
                fig_no += 1
                data = base64.b64encode(b.png).decode("ascii")
                parts.append(
                    f'<figure id="figure-{_e(b.name)}"><h3>Figure {fig_no}: {_e(b.title)}</h3>'
                    f'<img alt="{_e(b.title)}" src="data:image/png;base64,{data}">'
                    f"<figcaption>Figure {fig_no}. {_e(b.caption)}</figcaption></figure>")
            else:  # pragma: no cover
                raise TypeError(f"unknown report block {type(b).__name__}")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
