"""Plain-text tables for people to read (the CLI's ``--format table``).

Formatting happens only here: result DataFrames keep full-precision numbers.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = [
    "format_correlation_table",
    "format_distance_table",
    "format_frame",
    "format_model_report",
]


def _num(v, nd=3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v):
        return "-"
    return f"{v:.{nd}f}"


def _int(v) -> str:
    return "-" if v is None or pd.isna(v) else str(int(v))


def _p(v) -> str:
    if pd.isna(v):
        return "-"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def format_correlation_table(tab: pd.DataFrame) -> str:
    """Render :func:`xdist.analyses.correlate` output as blocks per experiment.

    Examples
    --------
    >>> import pandas as pd
    >>> from xdist.formatting import format_correlation_table
    >>> row = dict(task="XNLI", model="m", setting="zero-shot", intermediate_task="",
    ...            metric="accuracy", source_language="en", run="", distance="syntactic",
    ...            method="spearman", estimate=0.5, ci_low=0.1, ci_high=0.8, p_value=0.04,
    ...            p_adjusted=0.2, n=14, ci_method="bca", n_boot=1000, n_perm=999,
    ...            resample_unit="language",
    ...            adjust="holm", covariates="", outcome="degradation",
    ...            distance_codes="individual")
    >>> print(format_correlation_table(pd.DataFrame([row])))  # doctest: +NORMALIZE_WHITESPACE
    Correlation of degradation with URIEL distance (individual-language codes)
    95% bca intervals from 1000 resamples of languages; p: permutation (999); p_adj: holm across all 1 rows; n: languages used
    <BLANKLINE>
    XNLI | m | zero-shot | accuracy | 14 languages
      distance   method    n   estimate  95% CI          p      p_adj
      syntactic  spearman  14  0.500     [0.100, 0.800]  0.040  0.200
    """
    if tab.empty:
        return "no correlations to show"
    first = tab.iloc[0]
    level = 95
    ctrl = f", partial on {first['covariates']}" if first.get("covariates") else ""
    lines = [
        f"Correlation of {first['outcome']} with URIEL distance "
        f"({first['distance_codes']}-language codes{ctrl})".replace(
            "lang2vec-language", "lang2vec's published"
        ),
        f"{level}% {first['ci_method']} intervals from {int(first['n_boot'])} resamples of "
        f"{'languages' if first['resample_unit'] == 'language' else 'families (clusters)'}"
        + (f"; p: permutation ({int(first['n_perm'])}); p_adj: {first['adjust']} across all "
           f"{len(tab)} rows" if first.get("n_perm", 1) else "; no p-values (--n-perm 0)")
        + "; n: languages used",
    ]
    keys = ["task", "model", "setting", "intermediate_task", "metric", "source_language", "run"]
    for key, block in tab.groupby(keys, sort=False, dropna=False):
        task, model, setting, inter, metric, src, run = key
        head = [task, model, setting]
        if inter:
            head.append(f"intermediate {inter}")
        head.append(metric)
        if src != "en":
            head.append(f"from {src}")
        if run:
            head.append(f"run {run}")
        n = block["n"].max()
        head.append(f"{int(n) if pd.notna(n) else 0} languages")
        if block["resample_unit"].iloc[0] == "family" and "n_clusters" in block:
            head.append(f"{int(block['n_clusters'].max())} families")
        lines.append("")
        lines.append(" | ".join(str(h) for h in head))
        rows = [["distance", "method", "n", "estimate", "95% CI", "p", "p_adj"]]
        for r in block.itertuples():
            ci = f"[{_num(r.ci_low)}, {_num(r.ci_high)}]"
            nn = str(int(r.n)) if pd.notna(r.n) else "-"
            rows.append([r.distance, r.method, nn, _num(r.estimate), ci, _p(r.p_value),
                         _p(r.p_adjusted)])
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def format_distance_table(tab: pd.DataFrame) -> str:
    """Render :func:`xdist.distances.distances` output: one row per target.

    Examples
    --------
    >>> import pandas as pd
    >>> from xdist.formatting import format_distance_table
    >>> df = pd.DataFrame({"source": "en", "target": ["fr", "fr"],
    ...                    "kind": ["syntactic", "genetic"], "distance": [0.4569, 0.8],
    ...                    "codes": "individual"})
    >>> print(format_distance_table(df))
    URIEL distances from en (individual-language codes)
    target  syntactic  genetic
    fr      0.4569     0.8000
    """
    if tab.empty:
        return "no distances to show"
    wide = tab.pivot_table(index="target", columns="kind", values="distance", aggfunc="first",
                           sort=False)
    kinds = list(dict.fromkeys(tab["kind"]))
    wide = wide.reindex(index=list(dict.fromkeys(tab["target"])), columns=kinds)
    codes = tab["codes"].iloc[0]
    src = tab["source"].iloc[0]
    label = "individual-language codes" if codes == "individual" else "lang2vec's published codes"
    rows = [["target"] + kinds]
    for tgt, r in wide.iterrows():
        rows.append([str(tgt)] + [_num(v, 4) for v in r.tolist()])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = [f"URIEL distances from {src} ({label})"]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    if "imputed" in tab and tab["imputed"].any():
        imp = tab[tab["imputed"]]
        out.append(
            "note: no URIEL data, published default vector used for "
            + ", ".join(f"{r.target} ({r.kind})" for r in imp.itertuples())
        )
    return "\n".join(out)


def _grid(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def format_model_report(report) -> str:
    """Render a :class:`xdist.analyses.regression.ModelReport` for the terminal."""
    fit = report.fit
    lines = []
    if fit.get("model") == "mixed":
        lines.append(f"Linear mixed model ({fit.get('method', '')}): {fit.get('formula', '')}")
        lines.append(
            f"n={fit.get('n_obs')}  logLik={_num(fit.get('loglik'), 2)}  "
            f"AIC={_num(fit.get('aic'), 2)}  BIC={_num(fit.get('bic'), 2)}  "
            f"converged={fit.get('converged')}  singular={fit.get('singular')}"
        )
    else:
        lines.append(f"Least squares: {fit.get('formula', '')}")
        lines.append(
            f"n={_int(fit.get('n'))}  clusters={_int(fit.get('n_clusters'))} ({fit.get('cluster')})  "
            f"R2={_num(fit.get('r2'))}  SE={fit.get('se_type')}  inference={fit.get('inference')}"
        )
    lines.append("")
    lines.append("Fixed effects")
    rows = [["term", "estimate", "se", "95% CI", "p"]]
    boot = "boot_ci_low" in report.fixed
    if boot:
        rows[0].append("bootstrap 95% CI")
    for r in report.fixed.to_dict(orient="records"):
        row = [str(r["term"]), _num(r["estimate"]), _num(r["se"]),
               f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]", _p(r.get("p_value"))]
        if boot:
            row.append(f"[{_num(r['boot_ci_low'])}, {_num(r['boot_ci_high'])}]")
        rows.append(row)
    lines += _grid(rows)
    if len(report.random):
        lines.append("")
        lines.append("Random effects")
        rows = [["group", "term", "variance", "sd", "correlation"]]
        for r in report.random.to_dict(orient="records"):
            term = "" if pd.isna(r.get("term")) else str(r.get("term", ""))
            if isinstance(r.get("term2"), str) and r.get("term2"):
                term = f"{term} x {r['term2']}"
            rows.append([str(r.get("group", "")), term, _num(r.get("variance")),
                         _num(r.get("sd")), _num(r.get("correlation"))])
        lines += _grid(rows)
    for w in report.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def format_frame(df: pd.DataFrame, *, digits: int = 3) -> str:
    """Any result table as aligned text, floats to ``digits`` decimals.

    Examples
    --------
    >>> import pandas as pd
    >>> from xdist.formatting import format_frame
    >>> print(format_frame(pd.DataFrame({"term": ["x"], "estimate": [1.23456]})))
    term  estimate
    x     1.235
    """
    if df.empty:
        return "no rows"
    rows = [[str(c) for c in df.columns]]
    for rec in df.itertuples(index=False):
        cells = []
        for v in rec:
            if isinstance(v, float):
                cells.append(_num(v, digits))
            elif v is None or v is pd.NA:
                cells.append("-")
            else:
                cells.append(str(v))
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
