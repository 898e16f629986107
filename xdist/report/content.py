"""The report as renderer-neutral blocks: paragraphs, lists, tables, figures.

:func:`xdist.report.build.build_report` fills a :class:`Report`;
:mod:`xdist.report.pdf` and :mod:`xdist.report.html` lay it out.  Cells
are already formatted strings (formatting happens only where a person
reads); the full-precision numbers stay in :attr:`Report.tables`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Bullets", "Figure", "Paragraph", "Report", "Section", "Table"]


@dataclass
class Paragraph:
    """A paragraph of running text (wrapped by the renderer)."""

    text: str
    style: str = "body"  # "body", "small", "mono", "subhead"


@dataclass
class Bullets:
    """A list of items (wrapped, hanging indent)."""

    items: list
    numbered: bool = False


@dataclass
class Table:
    """A table of strings.

    ``widths`` are maximum widths in characters (cells wrap to them);
    ``align`` is ``"l"`` or ``"r"`` per column.  With ``group_first=True`` a
    row whose first cell is empty continues the group of the row above: the
    first cell of a group is wrapped and flows down beside its rows (a
    ``rowspan`` in HTML).  ``values`` optionally holds, per row, the
    full-precision numbers behind the cells (``None`` where not numeric),
    written to HTML as ``data-value`` attributes.
    """

    columns: list
    rows: list
    widths: list
    align: list | None = None
    group_first: bool = False
    caption: str = ""
    name: str = ""
    values: list | None = None

    def __post_init__(self):
        k = len(self.columns)
        if self.align is None:
            self.align = ["l"] * k
        for r in self.rows:
            if len(r) != k:
                raise ValueError(f"table {self.name!r}: row {r!r} has {len(r)} cells, expected {k}")


@dataclass
class Figure:
    """A figure rendered to PNG, with its title and caption."""

    title: str
    caption: str
    png: bytes
    size: tuple  # inches (width, height) of the source figure
    name: str = ""


@dataclass
class Section:
    """A numbered section: a title and its blocks."""

    title: str
    blocks: list = field(default_factory=list)
    new_page: bool = True


@dataclass
class Report:
    """Everything a renderer needs, plus the numbers behind it.

    Attributes
    ----------
    title : str
    meta : list of (str, str)
        Title-page facts (date, version, revision, seed, command, settings).
    sections : list of Section
    tables : dict
        Full-precision results: ``"correlations"`` (the
        :func:`xdist.analyses.correlate` table), ``"models"`` (name ->
        :class:`xdist.analyses.ModelReport`), ``"frame"`` (the analysis table).
    caveats : list of str
    settings : dict
        The settings the report was built with.
    """

    title: str
    meta: list
    sections: list
    tables: dict
    caveats: list
    settings: dict
