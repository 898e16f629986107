"""Figures of the analysis: each function takes a tidy DataFrame and returns a Figure.

Every function builds a new :class:`matplotlib.figure.Figure` (Agg canvas, not
registered with pyplot: no global state is touched, and nothing is shown).
Save it with ``fig.savefig(...)``; ``plt.close(fig)`` is harmless and left to
the caller.  Sizes are for print (7 in, the A4 text width), fonts 8 pt or more.

==========================  ====================================================
:func:`degradation_vs_distance`  degradation against distance, one panel per task,
                                 OLS line with a language-bootstrap band, labels
:func:`forest`                   estimates with intervals (correlations, slopes)
:func:`correlation_heatmap`      correlations, diverging colours in [-1, 1]
:func:`degradation_by_family`    per-language degradation grouped by family
:func:`random_slopes`            fixed slope plus each group's predicted deviation
:func:`gain_vs_distance`         intermediate-task gain against distance
==========================  ====================================================

Bad input (a missing column, an unknown value, rows that would be drawn on top
of each other) raises a one-line :class:`ValueError` naming the parameter and
what is available.
"""

from __future__ import annotations

import hashlib
import math
import textwrap

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

__all__ = [
    "degradation_vs_distance",
    "forest",
    "correlation_heatmap",
    "degradation_by_family",
    "random_slopes",
    "gain_vs_distance",
]

#: Width of a full-width figure (A4 text width), inches.
PAGE_WIDTH = 7.0
#: Smallest font used (points).
FONT = 8.0
URIEL_KINDS = ("syntactic", "phonological", "inventory", "featural", "geographic", "genetic")
_OUTCOME_LABELS = {
    "degradation": "degradation (points)",
    "degradation_relative": "relative degradation (fraction of source score)",
    "gain": "gain (points)",
}
_METHOD_LABELS = {"spearman": "Spearman's ρ", "pearson": "Pearson's r", "kendall": "Kendall's τ"}
_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f", "#bcbd22"]


# --------------------------------------------------------------------------- helpers


def _cols(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _need(df, columns, param: str = "frame") -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{param}: expected a pandas DataFrame, got {type(df).__name__}")
    for c in columns:
        if c not in df.columns:
            raise ValueError(f"{param}: column {c!r} not found; available columns are "
                             f"{list(df.columns)}")


def _numeric(df, column, param) -> None:
    if not pd.api.types.is_numeric_dtype(df[column]) or pd.api.types.is_bool_dtype(df[column]):
        raise ValueError(f"{param}: column {column!r} must be numeric, got dtype "
                         f"{df[column].dtype}")


def _unique_rows(df, key: list, param: str, hint: str) -> None:
    """Raise when several rows share ``key`` (they would be drawn on top of each other)."""
    dup = df.duplicated(key, keep=False)
    if not dup.any():
        return
    sub = df[dup]
    vals = tuple(sub.iloc[0][key])
    rows = sub[(sub[key].astype(str) == pd.Series([str(v) for v in vals], index=key)).all(axis=1)]
    varying = [c for c in df.columns if c not in key and rows[c].astype(str).nunique() > 1]
    raise ValueError(f"{param}: {len(rows)} rows for {dict(zip(key, vals))} "
                     f"(they differ in {varying[:8]}); {hint}")


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _style(ax) -> None:
    ax.tick_params(labelsize=FONT)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _freeze_layout(fig) -> None:
    """Run the layout once and keep it, so that label positions stay where they were placed."""
    fig.canvas.draw()
    fig.set_layout_engine("none")


def _label_of(values) -> str:
    return " · ".join(str(v) for v in values)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) if len(text) > width else text


def _outcome_label(outcome: str) -> str:
    return _OUTCOME_LABELS.get(outcome, outcome)


def _distance_label(distance: str) -> str:
    return f"{distance} distance (URIEL)" if distance in URIEL_KINDS else distance


def _stream(seed: int, key) -> np.random.Generator:
    h = hashlib.blake2b("\x1f".join(map(str, key)).encode(), digest_size=8)
    return np.random.default_rng(np.random.SeedSequence([int(seed), int.from_bytes(h.digest(),
                                                                                    "little")]))


def _check_seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} is not valid: expected a non-negative integer")
    return int(seed)


def _ols_line(x, y):
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    xm = x.mean(axis=-1, keepdims=True)
    ym = y.mean(axis=-1, keepdims=True)
    sxx = ((x - xm) ** 2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = ((x - xm) * (y - ym)).sum(axis=-1) / sxx
    b = np.where(sxx > 0, b, np.nan)
    a = ym[..., 0] - b * xm[..., 0]
    return a, b


def _boot_band(x, y, grid, *, ci, n_boot, rng):
    """Percentile band of the OLS line over ``grid``, resampling rows (languages)."""
    n = len(x)
    idx = rng.integers(0, n, size=(n_boot, n))
    a, b = _ols_line(x[idx], y[idx])
    pred = a[:, None] + b[:, None] * grid[None, :]
    lo = (1 - ci) / 2
    with np.errstate(all="ignore"):
        low = np.nanquantile(pred, lo, axis=0)
        high = np.nanquantile(pred, 1 - lo, axis=0)
    return low, high


def _place_labels(ax, xs, ys, texts, *, color="0.15", fontsize=FONT, obstacles=(),
                  max_radius=28.0, bands=None):
    """Label points without overlaps: greedy search over offsets; returns (artists, omitted).

    Candidate positions around each point (8 directions, growing radius) are
    tried in display space against the points, the labels already placed and
    the axes' edges; a label placed far from its point gets a thin leader
    line; a label with no free position is left out (the count is returned).
    ``bands`` (data y limits per point, shape (n, 2)) keeps each label inside
    its row; ``max_radius`` (points) bounds the distance from the point.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    trans = ax.transData
    pts = trans.transform(np.column_stack([xs, ys]))
    px = fig.dpi / 72.0
    ab = ax.get_window_extent(renderer)
    r_mark = 3.2 * px
    occupied = [Bbox.from_extents(p[0] - r_mark, p[1] - r_mark, p[0] + r_mark, p[1] + r_mark)
                for p in pts]
    occupied.extend(obstacles)
    # size of each text
    probe = ax.text(0, 0, "", fontsize=fontsize)
    sizes = []
    for t in texts:
        probe.set_text(str(t))
        bb = probe.get_window_extent(renderer)
        sizes.append((bb.width, bb.height))
    probe.remove()
    # crowded points first
    d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
    order = np.argsort(-(d < 30 * px).sum(axis=1), kind="stable")
    dirs = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1)]
    radii = [r for r in (2.0, 5.0, 9.0, 14.0, 20.0, 28.0) if r <= max_radius]
    if bands is not None:
        b = np.asarray(bands, float)
        lo = trans.transform(np.column_stack([xs, b[:, 0]]))[:, 1]
        hi = trans.transform(np.column_stack([xs, b[:, 1]]))[:, 1]
        ybands = np.column_stack([np.minimum(lo, hi), np.maximum(lo, hi)])
    artists, omitted = [], 0
    for i in order:
        w, h = sizes[i]
        placed = False
        for r in radii:
            for dx, dy in dirs:
                norm = math.hypot(dx, dy)
                ox, oy = r * dx / norm * px, r * dy / norm * px
                cx = pts[i, 0] + ox + (r_mark if dx > 0 else -r_mark if dx < 0 else 0)
                cy = pts[i, 1] + oy + (r_mark if dy > 0 else -r_mark if dy < 0 else 0)
                x0 = cx if dx > 0 else cx - w if dx < 0 else cx - w / 2
                y0 = cy if dy > 0 else cy - h if dy < 0 else cy - h / 2
                box = Bbox.from_extents(x0, y0, x0 + w, y0 + h)
                if box.x0 < ab.x0 + 1 or box.x1 > ab.x1 - 1 or box.y0 < ab.y0 + 1 or \
                        box.y1 > ab.y1 - 1:
                    continue
                if bands is not None and (box.y0 < ybands[i, 0] or box.y1 > ybands[i, 1]):
                    continue
                if any(box.overlaps(o) for o in occupied):
                    continue
                ha = "left" if dx > 0 else "right" if dx < 0 else "center"
                va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
                far = r >= 9.0
                art = ax.annotate(
                    str(texts[i]), xy=(xs[i], ys[i]),
                    xytext=((cx - pts[i, 0]) / px, (cy - pts[i, 1]) / px),
                    textcoords="offset points", ha=ha, va=va, fontsize=fontsize, color=color,
                    annotation_clip=False,
                    arrowprops=(dict(arrowstyle="-", color="0.6", lw=0.5, shrinkA=0,
                                     shrinkB=2) if far else None))
                art.set_gid("language-label")
                artists.append(art)
                occupied.append(box.padded(1.5 * px))
                placed = True
                break
            if placed:
                break
        if not placed:
            omitted += 1
    return artists, omitted


def _pad_limits(values, frac=0.06):
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return (0.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return lo - frac * span, hi + frac * span


# --------------------------------------------------------------------------- 1. degradation


def degradation_vs_distance(frame: pd.DataFrame, *, distance: str = "syntactic",
                            outcome: str = "degradation", by="task", label: bool = True,
                            ci: float = 0.95, n_boot: int = 1000, seed: int = 0,
                            col_wrap: int = 3, height: float = 3.2,
                            width: float = PAGE_WIDTH) -> Figure:
    """Degradation against distance, one panel per ``by`` value, with the OLS line.

    Each panel shows one point per language, the least-squares line and its
    ``ci`` bootstrap band (``n_boot`` resamples of the languages, seeded: the
    same ``seed`` gives the same band), and the language codes, placed so that
    they do not overlap (a label with no free place is left out and the panel
    title says how many).  Rows with a missing distance or outcome are left
    out; the title gives the number of languages used.

    Parameters
    ----------
    frame : pandas.DataFrame
        An analysis table (:func:`xdist.analyses.analysis_frame`) or any table
        with ``language``, ``distance``, ``outcome`` and the ``by`` columns,
        one row per language within each panel (filter to one model and
        setting, or add those columns to ``by``).
    distance, outcome : str
        Columns on the x and y axes.
    by : str or sequence of str
        Column(s) making the panels.
    label : bool
        Label the points with their language codes.
    ci : float
        Coverage of the band, in (0, 1).
    n_boot : int
        Bootstrap resamples of languages for the band.
    seed : int
        Seed of the bootstrap (each panel draws its own stream from it).
    col_wrap : int
        Panels per row.
    height : float
        Height of one panel row, inches.
    width : float
        Width of the figure, inches (default 7, the A4 text width).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel; the band is the collection with gid ``"band"``,
        the labels are the texts with gid ``"language-label"``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"task": ["T"] * 5, "language": list("abcde"),
    ...                    "syntactic": [0.1, 0.2, 0.3, 0.4, 0.5],
    ...                    "degradation": [1.0, 2.5, 2.0, 4.0, 5.5]})
    >>> fig = degradation_vs_distance(df, n_boot=200)
    >>> len(fig.axes)
    1
    """
    keys = _cols(by)
    _need(frame, ["language", distance, outcome, *keys])
    _numeric(frame, distance, "frame")
    _numeric(frame, outcome, "frame")
    if not 0 < float(ci) < 1:
        raise ValueError(f"ci={ci!r} is not valid: expected a coverage strictly between 0 and 1")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 10:
        raise ValueError(f"n_boot={n_boot!r} is not valid: expected an integer >= 10")
    if isinstance(col_wrap, bool) or not isinstance(col_wrap, (int, np.integer)) or col_wrap < 1:
        raise ValueError(f"col_wrap={col_wrap!r} is not valid: expected an integer >= 1")
    seed = _check_seed(seed)
    if frame.empty:
        raise ValueError("frame: no rows to plot")
    _unique_rows(frame, [*keys, "language"], "frame",
                 f"plot one row per language in each panel: filter the frame or add the "
                 f"varying columns to by={by!r}")
    groups = list(frame.groupby(keys, sort=False, dropna=False)) if keys else [((), frame)]
    n_pan = len(groups)
    ncol = min(col_wrap, n_pan)
    nrow = math.ceil(n_pan / ncol)
    fig = _figure(width, height * nrow)
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for k in range(n_pan, nrow * ncol):
        axes.flat[k].remove()
    used = []
    for k, (key, sub) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        ax = axes.flat[k]
        _style(ax)
        ok = sub[distance].notna() & sub[outcome].notna()
        d = sub[ok]
        x = d[distance].to_numpy(float)
        y = d[outcome].to_numpy(float)
        ax.scatter(x, y, s=14, color=_COLORS[0], zorder=3, linewidths=0)
        if len(d) >= 3 and np.ptp(x) > 0:
            grid = np.linspace(x.min(), x.max(), 60)
            a, b = _ols_line(x, y)
            low, high = _boot_band(x, y, grid, ci=ci, n_boot=int(n_boot),
                                   rng=_stream(seed, key))
            band = ax.fill_between(grid, low, high, color=_COLORS[0], alpha=0.18, lw=0,
                                   zorder=1)
            band.set_gid("band")
            (line,) = ax.plot(grid, a + b * grid, color=_COLORS[0], lw=1.3, zorder=2)
            line.set_gid("fit")
            ylim = _pad_limits(np.concatenate([y, low, high]), 0.08)
        else:
            ylim = _pad_limits(y, 0.08)
        ax.set_xlim(*_pad_limits(x, 0.08))
        ax.set_ylim(*ylim)
        ax.set_xlabel(_distance_label(distance), fontsize=FONT + 1)
        ax.set_ylabel(_outcome_label(outcome), fontsize=FONT + 1)
        miss = int((~ok).sum())
        title = f"{_label_of(key)} (n = {len(d)})" if keys else f"n = {len(d)}"
        if miss:
            title += f", {miss} without a value"
        title = _wrap(title, int(12 * width / ncol))
        used.append((ax, d, title))
        # room for a second line saying how many labels did not fit
        ax.set_title(title + ("\n " if label else ""), fontsize=FONT + 1)
    _freeze_layout(fig)
    for ax, d, title in used:
        if label and len(d):
            _, omitted = _place_labels(ax, d[distance].to_numpy(float),
                                       d[outcome].to_numpy(float), d["language"].tolist())
            ax.set_title(title + (f"\n{omitted} labels omitted (no room)" if omitted
                                  else "\n "), fontsize=FONT + 1)
    return fig


# --------------------------------------------------------------------------- 2. forest


def forest(table: pd.DataFrame, *, y=("task", "model"), estimate: str = "estimate",
           by="distance", hue=None, ci_low: str = "ci_low", ci_high: str = "ci_high",
           xlabel: str | None = None, title: str | None = None, drop_intercept: bool = True,
           width: float = PAGE_WIDTH) -> Figure:
    """Forest plot: estimates with their intervals, one row per ``y``, a zero line.

    For :func:`xdist.analyses.correlate` output (one method, one setting):
    rows are (task, model), one panel per distance kind (``by``).  For a
    regression or mixed-model table (``ModelReport.fixed``,
    ``MixedResult.fixed``): ``y="term", by=None``.  Filled markers: the
    ``p_adjusted`` (or, without it, ``p_value``) is below 0.05; the row label
    ends with the number of languages ``n`` when the table has it.

    Parameters
    ----------
    table : pandas.DataFrame
        Tidy result table with ``estimate``, ``ci_low``, ``ci_high``.
    y : str or sequence of str
        Column(s) labelling the rows (top to bottom in table order).
    estimate, ci_low, ci_high : str
        Columns of the point estimate and the interval.
    by : str or None
        Column making the panels (side by side, rows shared).
    hue : str or None
        Column drawn in colours, dodged within a row (e.g. ``"method"``).
    xlabel, title : str or None
        Override the automatic axis label and title.
    drop_intercept : bool
        Leave out rows whose ``y`` value is ``Intercept`` (its scale dwarfs
        the slopes).
    width : float
        Figure width, inches.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> tab = pd.DataFrame({"term": ["Intercept", "syntactic", "log_size"],
    ...                     "estimate": [5.0, 20.0, -1.0], "ci_low": [1.0, 10.0, -3.0],
    ...                     "ci_high": [9.0, 30.0, 1.0]})
    >>> fig = forest(tab, y="term", by=None)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['syntactic', 'log_size']
    """
    ykeys, bykeys, huekeys = _cols(y), _cols(by), _cols(hue)
    if not ykeys:
        raise ValueError("y: expected one or more column names, got none")
    hint = (" (for a regression or mixed-model table pass y='term', by=None)"
            if "term" in getattr(table, "columns", []) else "")
    try:
        _need(table, [*ykeys, *bykeys, *huekeys, estimate, ci_low, ci_high], "table")
    except ValueError as exc:
        raise ValueError(str(exc) + hint) from None
    for c in (estimate, ci_low, ci_high):
        _numeric(table, c, "table")
    tab = table.copy()
    if drop_intercept:
        inter = tab[ykeys].astype(str).isin(["Intercept", "(Intercept)"]).any(axis=1)
        tab = tab[~inter]
    if tab.empty:
        raise ValueError("table: no rows to plot")
    _unique_rows(tab, [*ykeys, *bykeys, *huekeys], "table",
                 "filter the table (one method, setting, metric) or add the varying columns "
                 "to y or hue")
    rows = list(dict.fromkeys(tuple(r) for r in tab[ykeys].itertuples(index=False)))
    panels = list(dict.fromkeys(tab[bykeys[0]])) if bykeys else [None]
    hues = list(dict.fromkeys(tab[huekeys[0]])) if huekeys else [None]
    sig = "p_adjusted" if "p_adjusted" in tab.columns else (
        "p_value" if "p_value" in tab.columns else None)
    labels = []
    for r in rows:
        lab = _label_of(r)
        if "n" in tab.columns:
            ns = tab.loc[(tab[ykeys] == pd.Series(r, index=ykeys)).all(axis=1), "n"].dropna()
            if len(ns):
                lo, hi = int(ns.min()), int(ns.max())
                lab += f" (n={lo})" if lo == hi else f" (n={lo}–{hi})"
        labels.append(lab)
    nrow = len(rows)
    height = max(1.9, 0.95 + 0.2 * nrow * (1 + 0.4 * (len(hues) - 1)))
    fig = _figure(width, height)
    axes = fig.subplots(1, len(panels), sharey=True, sharex=True, squeeze=False)[0]
    pos = {r: nrow - 1 - i for i, r in enumerate(rows)}
    off = (np.linspace(0.25, -0.25, len(hues)) if len(hues) > 1 else np.zeros(1))
    for ax, pan in zip(axes, panels):
        _style(ax)
        sub = tab if pan is None else tab[tab[bykeys[0]] == pan]
        for h, (hv, dy) in enumerate(zip(hues, off)):
            s = sub if hv is None else sub[sub[huekeys[0]] == hv]
            if s.empty:
                continue
            yy = np.array([pos[tuple(r)] for r in s[ykeys].itertuples(index=False)]) + dy
            est = s[estimate].to_numpy(float)
            lo = s[ci_low].to_numpy(float)
            hi = s[ci_high].to_numpy(float)
            col = _COLORS[h % len(_COLORS)] if hv is not None else "0.15"
            ax.hlines(yy, lo, hi, color=col, lw=1.1, zorder=2)
            filled = (s[sig].to_numpy(float) < 0.05) if sig else np.ones(len(s), bool)
            ax.scatter(est[filled], yy[filled], s=18, color=col, zorder=3,
                       label=None if hv is None else str(hv))
            ax.scatter(est[~filled], yy[~filled], s=18, facecolor="white", edgecolor=col,
                       zorder=3)
        ax.axvline(0.0, color="0.4", lw=0.8, ls="--", zorder=1)
        ax.set_ylim(-0.7, nrow - 0.3)
        if pan is not None:
            ax.set_title(_wrap(str(pan), 22), fontsize=FONT + 1)
        ax.grid(axis="y", color="0.92", lw=0.6)
    axes[0].set_yticks(list(range(nrow - 1, -1, -1)), [_wrap(lbl, 45) for lbl in labels],
                       fontsize=FONT)
    if xlabel is None:
        xlabel = "estimate with interval"
        if "method" in tab.columns and tab["method"].nunique() == 1:
            m = str(tab["method"].iloc[0])
            xlabel = (f"{_METHOD_LABELS[m]} with interval" if m in _METHOD_LABELS
                      else f"estimate with interval ({m})")
    fig.supxlabel(xlabel, fontsize=FONT + 1)
    if title is None:
        outcome = (f" of {tab['outcome'].iloc[0]}" if "outcome" in tab.columns
                   and tab["outcome"].nunique() == 1 else "")
        title = f"Estimates{outcome} with intervals"
        if sig:
            title += f"; filled: {sig} < 0.05"
    fig.suptitle(_wrap(title, 90), fontsize=FONT + 1)
    if huekeys:
        handles = [Line2D([], [], marker="o", color=_COLORS[h % len(_COLORS)], lw=1.1,
                          markersize=4, label=str(hv)) for h, hv in enumerate(hues)]
        fig.legend(handles=handles, loc="outside right upper", ncol=1,
                   fontsize=FONT, frameon=False, title=huekeys[0], title_fontsize=FONT)
    return fig


# --------------------------------------------------------------------------- 3. heatmap


def correlation_heatmap(table: pd.DataFrame, *, method: str = "spearman",
                        rows=("task", "model"), cols: str = "distance", annotate: bool = True,
                        width: float | None = None) -> Figure:
    """Heatmap of correlations: rows x distance kinds, colours centred at 0 in [-1, 1].

    Cells are annotated with the estimate (two decimals); ``*`` marks
    ``p_adjusted < 0.05`` (when the table has ``p_adjusted``).  Empty cells
    (no estimate) are grey.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`xdist.analyses.correlate` output (or any table with
        ``method``, ``estimate`` and the ``rows`` and ``cols`` columns), one
        row per cell after filtering ``method``.
    method : str
        Which correlation to show (a value of the ``method`` column).
    rows : str or sequence of str
        Column(s) labelling the rows.
    cols : str
        Column of the heatmap's columns.
    annotate : bool
        Write the values in the cells.
    width : float or None
        Figure width in inches (default: from the number of columns, at most 7).

    Returns
    -------
    matplotlib.figure.Figure
        The heatmap axes and its colour bar.

    Examples
    --------
    >>> import pandas as pd
    >>> tab = pd.DataFrame({"task": ["A", "A", "B", "B"], "model": "m",
    ...                     "distance": ["syntactic", "genetic"] * 2, "method": "spearman",
    ...                     "estimate": [0.5, 0.2, -0.1, 0.8],
    ...                     "p_adjusted": [0.01, 0.5, 0.9, 0.001]})
    >>> fig = correlation_heatmap(tab)
    >>> len(fig.axes)
    2
    """
    rkeys = _cols(rows)
    _need(table, [*rkeys, cols, "method", "estimate"], "table")
    _numeric(table, "estimate", "table")
    methods = list(dict.fromkeys(table["method"].astype(str)))
    if method not in methods:
        raise ValueError(f"method={method!r} is not in the table: available methods are "
                         f"{methods}")
    tab = table[table["method"] == method]
    _unique_rows(tab, [*rkeys, cols], "table",
                 "filter the table (one setting, metric, outcome) or add the varying columns "
                 "to rows")
    rlabels = list(dict.fromkeys(tuple(r) for r in tab[rkeys].itertuples(index=False)))
    clabels = list(dict.fromkeys(tab[cols]))
    est = np.full((len(rlabels), len(clabels)), np.nan)
    padj = np.full_like(est, np.nan)
    ri = {r: i for i, r in enumerate(rlabels)}
    ci_ = {c: j for j, c in enumerate(clabels)}
    has_p = "p_adjusted" in tab.columns
    for rec in tab.itertuples(index=False):
        rec = rec._asdict() if hasattr(rec, "_asdict") else dict(zip(tab.columns, rec))
        i = ri[tuple(rec[k] for k in rkeys)]
        j = ci_[rec[cols]]
        est[i, j] = rec["estimate"]
        if has_p:
            padj[i, j] = rec["p_adjusted"]
    nr, nc = est.shape
    ylabels = [_label_of(r) for r in rlabels]
    longest = max(len(s) for s in ylabels)
    if width is None:
        width = min(PAGE_WIDTH, 0.065 * longest + 0.72 * nc + 1.6)
    fig = _figure(width, 1.2 + 0.26 * nr)
    ax = fig.add_subplot()
    ax.set_facecolor("0.85")
    im = ax.imshow(np.ma.masked_invalid(est), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto",
                   interpolation="nearest")
    ax.set_xticks(range(nc), [str(c) for c in clabels], fontsize=FONT, rotation=30,
                  ha="right", rotation_mode="anchor")
    ax.set_yticks(range(nr), ylabels, fontsize=FONT)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    if annotate:
        for i in range(nr):
            for j in range(nc):
                v = est[i, j]
                if not np.isfinite(v):
                    continue
                star = "*" if has_p and padj[i, j] < 0.05 else ""
                t = ax.text(j, i, f"{v:.2f}{star}", ha="center", va="center", fontsize=FONT,
                            color="white" if abs(v) > 0.6 else "0.1")
                t.set_gid("cell-value")
    cb = fig.colorbar(im, ax=ax, shrink=min(1.0, 3.0 / (1.2 + 0.26 * nr)) if nr > 10 else 1.0,
                      pad=0.02)
    cb.set_label(_METHOD_LABELS.get(method, method), fontsize=FONT + 1)
    cb.ax.tick_params(labelsize=FONT)
    outcome = tab["outcome"].iloc[0] if "outcome" in tab.columns and tab["outcome"].nunique() \
        == 1 else "the outcome"
    title = f"{_METHOD_LABELS.get(method, method)} of {outcome} with distance"
    if has_p:
        adj = (f" ({tab['adjust'].iloc[0]})" if "adjust" in tab.columns
               and tab["adjust"].nunique() == 1 else "")
        title += f"; * p_adjusted{adj} < 0.05"
    ax.set_title(_wrap(title, int(12 * width)), fontsize=FONT + 1)
    return fig


# --------------------------------------------------------------------------- 4. by family


def degradation_by_family(frame: pd.DataFrame, *, outcome: str = "degradation", task=None,
                          top: int | None = None, label: bool = True,
                          width: float = PAGE_WIDTH) -> Figure:
    """Per-language degradation grouped by language family (a strip per family).

    One row per family (ordered by median ``outcome``, the largest at the
    top; the row label gives the number of languages), one point per
    language, a vertical tick at the family median and the language codes
    placed without overlap (labels with no free place are left out; the
    title says how many).  Where the frame has several experiments for a
    language (models, settings), the point is their mean and the title says
    so; with several tasks the points are coloured by task.

    Parameters
    ----------
    frame : pandas.DataFrame
        An analysis table (:func:`xdist.analyses.analysis_frame`): columns
        ``language``, ``family``, ``task`` and ``outcome``.
    outcome : str
        Column on the x axis.
    task : str, sequence of str or None
        Keep these tasks (default: all).
    top : int or None
        Show the ``top`` families with the most languages; the others are
        pooled into one row "other families (k)".
    label : bool
        Label the points with their language codes.
    width : float
        Figure width, inches.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"task": "T", "language": list("abcd"),
    ...                    "family": ["F1", "F1", "F2", "F3"],
    ...                    "degradation": [1.0, 2.0, 5.0, 3.0]})
    >>> fig = degradation_by_family(df)
    >>> len(fig.axes[0].get_yticklabels())
    3
    """
    _need(frame, ["language", "family", "task", outcome])
    _numeric(frame, outcome, "frame")
    tab = frame
    if task is not None:
        tasks = _cols(task)
        known = list(dict.fromkeys(frame["task"].astype(str)))
        for t in tasks:
            if t not in known:
                raise ValueError(f"task={t!r} is not in the frame: available tasks are {known}")
        tab = frame[frame["task"].isin(tasks)]
    if top is not None and (isinstance(top, bool) or not isinstance(top, (int, np.integer))
                            or top < 1):
        raise ValueError(f"top={top!r} is not valid: expected None or an integer >= 1")
    tab = tab[tab[outcome].notna()]
    if tab.empty:
        raise ValueError(f"frame: no rows with a value of {outcome!r} to plot")
    per = tab.groupby(["task", "language"], sort=False).agg(
        value=(outcome, "mean"), n_exp=(outcome, "size"),
        family=("family", "first")).reset_index()
    per["family"] = per["family"].fillna("unknown family").astype(str)
    per.loc[per["family"].str.strip() == "", "family"] = "unknown family"
    sizes = per.groupby("family")["language"].nunique().sort_values(ascending=False,
                                                                    kind="stable")
    if top is not None and len(sizes) > top:
        keep = set(sizes.index[:top])
        rest = len(sizes) - top
        per.loc[~per["family"].isin(keep), "family"] = f"{rest} other families"
    med = per.groupby("family")["value"].median().sort_values(ascending=False, kind="stable")
    fams = list(med.index)  # the largest median first, at the top
    nlang = per.groupby("family")["language"].nunique()
    tasks_ = list(dict.fromkeys(per["task"]))
    # rows of large families are taller (room for their points and labels)
    hgt = {f: float(np.clip(np.sqrt(nlang[f]) / 1.8, 1.0, 4.0)) for f in fams}
    edges = np.concatenate([[0.0], np.cumsum([hgt[f] for f in fams])])
    fig = _figure(width, max(2.2, 1.2 + 0.3 * edges[-1]))
    ax = fig.add_subplot()
    _style(ax)
    ypos = {f: (edges[i] + edges[i + 1]) / 2 for i, f in enumerate(fams)}
    rng = np.random.default_rng(0)  # jitter only; fixed, so the figure is reproducible
    half = per["family"].map(hgt).to_numpy(float) / 2
    per["y"] = per["family"].map(ypos) + rng.uniform(-0.6, 0.6, len(per)) * half
    for k, t in enumerate(tasks_):
        s = per[per["task"] == t]
        ax.scatter(s["value"], s["y"], s=16, color=_COLORS[k % len(_COLORS)], zorder=3,
                   linewidths=0, label=t)
    for f, i in ypos.items():
        (tick,) = ax.plot([med[f]] * 2, [i - 0.32 * hgt[f], i + 0.32 * hgt[f]], color="0.25",
                          lw=1.2, zorder=2)
        tick.set_gid("family-median")
    ax.set_yticks([ypos[f] for f in fams], [f"{f} ({nlang[f]})" for f in fams], fontsize=FONT)
    ax.set_ylim(edges[-1], 0.0)
    ax.set_xlim(*_pad_limits(per["value"], 0.05))
    ax.grid(axis="y", color="0.92", lw=0.6)
    ax.set_xlabel(_outcome_label(outcome), fontsize=FONT + 1)
    if len(tasks_) > 1:
        fig.legend(*ax.get_legend_handles_labels(), fontsize=FONT, frameon=False,
                   loc="outside lower center", ncol=min(len(tasks_), 6), title="task",
                   title_fontsize=FONT)
    title = f"{_outcome_label(outcome).split(' (')[0].capitalize()} per language, by family"
    title += f" ({', '.join(tasks_)})" if len(tasks_) <= 3 else ""
    if (per["n_exp"] > 1).any():
        title += f"; mean over up to {int(per['n_exp'].max())} experiments per language"
    title = _wrap(title + "; tick: family median", int(13 * width))
    ax.set_title(title + ("\n " if label else ""), fontsize=FONT + 1)
    _freeze_layout(fig)
    if label:
        row = per["family"].map(ypos).to_numpy(float)
        hh = per["family"].map(hgt).to_numpy(float) / 2
        ticks = []
        for f, i in ypos.items():
            (x0, y0), (x1, y1) = ax.transData.transform([(med[f], i - 0.32 * hgt[f]),
                                                         (med[f], i + 0.32 * hgt[f])])
            ticks.append(Bbox.from_extents(x0 - 1.5, min(y0, y1), x1 + 1.5, max(y0, y1)))
        _, omitted = _place_labels(ax, per["value"].to_numpy(float), per["y"].to_numpy(float),
                                   per["language"].tolist(), max_radius=9.0, obstacles=ticks,
                                   bands=np.column_stack([row - hh, row + hh]))
        ax.set_title(title + (f"\n{omitted} of {len(per)} language labels omitted (no room)"
                              if omitted else "\n "), fontsize=FONT + 1)
    return fig


# --------------------------------------------------------------------------- 5. random slopes


def random_slopes(result, *, term: str | None = None, group: str = "task",
                  width: float = PAGE_WIDTH) -> Figure:
    """Each group's slope: the fixed slope plus the group's predicted random deviation.

    Points are ``fixed + BLUP`` per level of ``group`` (from
    :func:`xdist.stats.mixed.random_effects`) with their conditional 95%
    interval (lme4's ``condVar``, fixed-effect uncertainty not included);
    the vertical line and band are the fixed effect and its interval.  A
    singular fit (the slope variance ~0) shows all groups at the fixed slope,
    and the title says so.

    Parameters
    ----------
    result : xdist.stats.mixed.MixedResult
        A fit of :func:`xdist.stats.mixed.fit_mixed` with a random slope of
        ``term`` on ``group``, e.g. ``degradation ~ syntactic + (1 + syntactic
        | task)``.  A :class:`xdist.analyses.regression.ModelReport` keeps only
        tables and is not accepted: fit with ``fit_mixed`` (same formula).
    term : str or None
        The slope (default: the first random slope of ``group``).
    group : str
        The grouping factor.
    width : float
        Figure width, inches.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from xdist.stats.mixed import fit_mixed
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"task": np.repeat(list("ABCDEF"), 10), "x": rng.uniform(size=60)})
    >>> df["y"] = (rng.normal(0, 2, 6).repeat(10) + (10 + rng.normal(0, 3, 6).repeat(10)) * df.x
    ...            + rng.normal(0, 0.5, 60))
    >>> fig = random_slopes(fit_mixed(df, "y ~ x + (1 + x | task)"))
    >>> len(fig.axes[0].get_yticklabels())
    6
    """
    from xdist.stats.mixed import MixedResult, random_effects

    if not isinstance(result, MixedResult):
        inner = getattr(result, "result", None)
        if isinstance(inner, MixedResult):
            result = inner
        else:
            raise ValueError(f"result: expected a MixedResult from xdist.stats.mixed.fit_mixed, "
                             f"got {type(result).__name__}; a ModelReport holds only tables: "
                             "refit the same formula with fit_mixed")
    re = random_effects(result)
    groups = list(dict.fromkeys(re["group"]))
    if group not in groups:
        raise ValueError(f"group={group!r} has no random effects in {result.formula.text!r}: "
                         f"grouping factors are {groups}")
    slopes = [t for t in dict.fromkeys(re.loc[re["group"] == group, "term"]) if t != "Intercept"]
    if term is None:
        if not slopes:
            raise ValueError(f"group={group!r} has only a random intercept in "
                             f"{result.formula.text!r}: add a random slope, e.g. "
                             f"(1 + x | {group})")
        term = slopes[0]
    if term not in slopes:
        raise ValueError(f"term={term!r} has no random slope on {group!r}: random slopes of "
                         f"{group!r} are {slopes}")
    fx = result.fixed.set_index("term").loc[term]
    dev = re[(re["group"] == group) & (re["term"] == term)].copy()
    dev["slope"] = float(fx["estimate"]) + dev["estimate"]
    dev = dev.sort_values("slope", kind="stable").reset_index(drop=True)
    n = len(dev)
    fig = _figure(width, max(2.0, 1.1 + 0.3 * n))
    ax = fig.add_subplot()
    _style(ax)
    ax.axvspan(float(fx["ci_low"]), float(fx["ci_high"]), color=_COLORS[0], alpha=0.15, lw=0,
               label="fixed effect, 95% interval").set_gid("fixed-band")
    ax.axvline(float(fx["estimate"]), color=_COLORS[0], lw=1.3, label="fixed slope")
    ax.axvline(0.0, color="0.4", lw=0.8, ls="--")
    yy = np.arange(n)
    z = 1.959963984540054
    ax.hlines(yy, dev["slope"] - z * dev["se"], dev["slope"] + z * dev["se"], color="0.2",
              lw=1.0)
    ax.scatter(dev["slope"], yy, s=22, color="0.1", zorder=3,
               label="fixed + predicted deviation (conditional 95%)")
    ax.set_yticks(yy, [str(v) for v in dev["level"]], fontsize=FONT)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(f"slope of {term} (units of {result.formula.response} per unit {term})",
                  fontsize=FONT + 1)
    ax.set_ylabel(group, fontsize=FONT + 1)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=FONT, frameon=False,
               loc="outside lower center", ncol=3)
    title = f"Slope of {term} per {group}: {result.formula.text}"
    if result.singular:
        title += " — singular fit: the deviations are shrunk to ~0"
    ax.set_title(_wrap(title, int(13 * width)), fontsize=FONT + 1)
    return fig


# --------------------------------------------------------------------------- 6. gains


def gain_vs_distance(gains: pd.DataFrame, frame_or_distances: pd.DataFrame, *,
                     distance: str = "syntactic", title: str | None = None, col_wrap: int = 3,
                     height: float = 3.2, width: float = PAGE_WIDTH) -> Figure:
    """Intermediate-task gain against distance, one colour and OLS line per intermediate task.

    Parameters
    ----------
    gains : pandas.DataFrame
        :func:`xdist.analyses.intermediate_gains` output; its language rows
        (``level == "language"``) are plotted: ``estimate`` is the gain in
        score points.  One panel per combination of ``task, model, setting,
        metric, source_language`` that varies.
    frame_or_distances : pandas.DataFrame
        The distance of each language: an analysis table (``language`` and a
        ``distance`` column) or :func:`xdist.distances.distances` output
        (``target, kind, distance``).  Languages without a distance (the
        source language) are left out.
    distance : str
        The distance kind.
    title : str or None
        Figure title (default "Intermediate-task gain against distance"); say
        here when the gains are simulated.
    col_wrap, height, width
        Panels per row, panel height and figure width (inches).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({"task": "T", "level": "language", "intermediate_task": "MNLI",
    ...                   "language": list("abcd"), "estimate": [1.0, 2.0, 2.5, 4.0]})
    >>> d = pd.DataFrame({"language": list("abcd"), "syntactic": [0.1, 0.3, 0.4, 0.6]})
    >>> fig = gain_vs_distance(g, d)
    >>> len(fig.axes)
    1
    """
    _need(gains, ["language", "intermediate_task", "estimate"], "gains")
    _numeric(gains, "estimate", "gains")
    if not isinstance(frame_or_distances, pd.DataFrame):
        raise ValueError("frame_or_distances: expected a pandas DataFrame, got "
                         f"{type(frame_or_distances).__name__}")
    fd = frame_or_distances
    if {"target", "kind", "distance"} <= set(fd.columns):
        kinds = list(dict.fromkeys(fd["kind"]))
        if distance not in kinds:
            raise ValueError(f"distance={distance!r} is not in frame_or_distances: available "
                             f"kinds are {kinds}")
        dist = fd[fd["kind"] == distance].rename(columns={"target": "language",
                                                          "distance": "_d"})
    else:
        _need(fd, ["language", distance], "frame_or_distances")
        dist = fd.rename(columns={distance: "_d"})
    _numeric(dist, "_d", "frame_or_distances")
    dist = dist[["language", "_d"]].dropna().drop_duplicates()
    bad = dist["language"][dist["language"].duplicated()]
    if len(bad):
        raise ValueError(f"frame_or_distances: language {bad.iloc[0]!r} has several "
                         f"{distance} distances (several source languages?); pass one per "
                         "language")
    g = gains[gains["level"] == "language"] if "level" in gains.columns else gains
    g = g.merge(dist, on="language", how="inner")
    g = g[g["estimate"].notna()]
    if g.empty:
        raise ValueError(f"gains: no language row has a {distance} distance in "
                         "frame_or_distances")
    exp = [c for c in ("task", "model", "setting", "metric", "source_language")
           if c in g.columns and g[c].nunique() > 1]
    _unique_rows(g, [*exp, "intermediate_task", "language"], "gains",
                 "pass one row per language and intermediate task")
    panels = list(g.groupby(exp, sort=False)) if exp else [((), g)]
    its = list(dict.fromkeys(g["intermediate_task"]))
    ncol = min(col_wrap, len(panels))
    nrow = math.ceil(len(panels) / ncol)
    fig = _figure(width, height * nrow + 0.4)
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for k in range(len(panels), nrow * ncol):
        axes.flat[k].remove()
    for ax, (key, sub) in zip(axes.flat, panels):
        key = key if isinstance(key, tuple) else (key,)
        _style(ax)
        for h, it in enumerate(its):
            s = sub[sub["intermediate_task"] == it]
            if s.empty:
                continue
            col = _COLORS[h % len(_COLORS)]
            x = s["_d"].to_numpy(float)
            y = s["estimate"].to_numpy(float)
            ax.scatter(x, y, s=16, color=col, linewidths=0, zorder=3)
            if len(s) >= 3 and np.ptp(x) > 0:
                a, b = _ols_line(x, y)
                grid = np.linspace(x.min(), x.max(), 20)
                ax.plot(grid, a + b * grid, color=col, lw=1.3, zorder=2)[0].set_gid("fit")
        ax.axhline(0.0, color="0.4", lw=0.8, ls="--")
        ax.set_xlabel(_distance_label(distance), fontsize=FONT + 1)
        ax.set_ylabel("gain over no intermediate task (points)", fontsize=FONT + 1)
        t = f"{_label_of(key)} (n = {sub['language'].nunique()})" if exp else \
            f"n = {sub['language'].nunique()} languages"
        ax.set_title(_wrap(t, int(9 * width / ncol)), fontsize=FONT + 1)
    handles = [Line2D([], [], marker="o", color=_COLORS[h % len(_COLORS)], lw=1.3,
                      markersize=4, label=str(it)) for h, it in enumerate(its)]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(its), 6),
               fontsize=FONT, frameon=False, title="intermediate task (OLS line)",
               title_fontsize=FONT)
    fig.suptitle(_wrap(title or "Intermediate-task gain against distance", int(13 * width)),
                 fontsize=FONT + 1)
    return fig
