"""The results table: one long, tidy table of per-language scores.

Format
------
One row per score.  Required columns:

``model``              model name as reported (``"XLM-R Large"``)
``setting``            how the model was trained for the target task
                       (``"zero-shot"``, ``"translate-train-all"``, ...)
``intermediate_task``  English intermediate task (``"MNLI"``), empty when none
``target_task``        the evaluated task (``"XNLI"``)
``language``           the evaluated language (ISO 639-1 or 639-3)
``metric``             ``"accuracy"``, ``"f1"``, ``"em"``, ...
``score``              the score, in percent (0-100) unless ``scale="fraction"``
``seed``               integer seed of the run, empty when unknown
``source``             where the number comes from (file, paper, repo@commit)

Optional columns:

``source_language``    the language the model was fine-tuned on (default ``"en"``)
``run``                label distinguishing published runs of the same configuration
                       (default empty)
``split``              evaluation split (``"test"``, ``"dev"``)
``note``               free text
``flag``               empty, or a known problem: ``suspect``, ``column_order``
                       (kept and analysed, reported as caveats), ``superseded``,
                       ``duplicate`` (kept for provenance, excluded from analyses by
                       default)

A row is identified by its *key* (:data:`KEY_COLUMNS`); two rows with the same
key are an error.  All rows of a key without ``language`` form a *group*: one
experiment evaluated on several languages.  Every group needs the row of its
source language, because degradation is measured against it.

Loading canonicalises language codes (``"arb"`` -> ``"ar"``, see
:mod:`xdist.languages`) and converts fraction scores to percent when
``scale="fraction"``.  Every problem raises :class:`ResultsError`, a
``ValueError`` whose one-line message names the file, the row (as a 1-based
line number of the CSV, header = line 1) or the group, and what would be
accepted.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from xdist.languages import UnknownLanguageError, _alias_map, resolve

__all__ = [
    "REQUIRED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "RESULT_COLUMNS",
    "KEY_COLUMNS",
    "GROUP_COLUMNS",
    "FLAGS",
    "EXCLUDED_FLAGS",
    "ResultsError",
    "read_results",
    "validate_results",
    "shipped_results_paths",
    "load_shipped_results",
]

REQUIRED_COLUMNS = [
    "model",
    "setting",
    "intermediate_task",
    "target_task",
    "language",
    "metric",
    "score",
    "seed",
    "source",
]
#: Optional columns and their defaults.
OPTIONAL_COLUMNS = {
    "source_language": "en",
    "run": "",
    "split": "",
    "note": "",
    "flag": "",
}
#: All columns of a validated results table, in order.
RESULT_COLUMNS = REQUIRED_COLUMNS + list(OPTIONAL_COLUMNS)
#: Columns that identify one score.
KEY_COLUMNS = [
    "model",
    "setting",
    "intermediate_task",
    "target_task",
    "source_language",
    "language",
    "metric",
    "seed",
    "run",
]
#: Columns that identify one experiment (a key without the language).
GROUP_COLUMNS = [c for c in KEY_COLUMNS if c != "language"]
#: Accepted values of ``flag`` and what they mean.
FLAGS = {
    "": "no known problem",
    "suspect": "value doubtful in its source; analysed, listed as a caveat",
    "column_order": "language labels probably swapped in the source; analysed, listed as a caveat",
    "superseded": "another row carries the corrected value; excluded from analyses by default",
    "duplicate": "identical copy of a measurement printed elsewhere; excluded from analyses by default",
}
#: Flags whose rows analyses exclude unless asked otherwise.
EXCLUDED_FLAGS = ("superseded", "duplicate")

_SCALES = ("percent", "fraction")
_TEXT_REQUIRED = ("model", "setting", "target_task", "language", "metric", "source")


class ResultsError(ValueError):
    """Invalid results table; the message names the file, row or group."""


def _where(origin: str, lines: Sequence[int] | np.ndarray) -> str:
    lines = list(lines)
    if len(lines) == 1:
        return f"{origin}: row {lines[0]}"
    shown = ", ".join(str(i) for i in lines[:5]) + (", ..." if len(lines) > 5 else "")
    return f"{origin}: rows {shown}"


def _group_label(row: pd.Series | dict) -> str:
    parts = []
    for c in GROUP_COLUMNS:
        v = row[c]
        if c == "seed":
            v = "" if pd.isna(v) else int(v)
        if v != "" or c in ("model", "target_task"):
            parts.append(f"{c}={v!r}")
    return "(" + ", ".join(parts) + ")"


def _read_one(path: Path) -> pd.DataFrame:
    if path.is_dir():  # a results store written by the training core
        from xdist.store import StoreError, read_store

        try:
            return read_store(path)
        except StoreError as exc:
            raise ResultsError(f"results={str(path)!r}: {exc}") from None
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
            # Parquet may hold real dtypes; compare as text like CSV does.
            df = df.astype({c: "string" for c in df.columns if c != "score"})
        elif suffix in (".csv", ".tsv", ".txt"):
            df = pd.read_csv(
                path,
                sep="\t" if suffix == ".tsv" else ",",
                dtype=str,
                keep_default_na=False,
                na_values=[],
            )
        else:
            raise ResultsError(
                f"results={str(path)!r}: unsupported file type {suffix or '(none)'!r}; "
                "expected .csv, .tsv or .parquet"
            )
    except ResultsError:
        raise
    except FileNotFoundError:
        raise ResultsError(f"results={str(path)!r}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ResultsError(f"results={str(path)!r}: cannot read as {suffix[1:]}: {first}") from None
    return df


def read_results(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    scale: str = "percent",
) -> pd.DataFrame:
    """Read and validate results files (CSV, TSV, Parquet) or results stores.

    Parameters
    ----------
    paths : path or list of paths
        Files in the results format (see the module docstring), or results
        store directories written by the training core
        (:class:`xdist.store.ResultsStore`).  Several are concatenated and
        validated together, so a key may not repeat across them either.
    scale : {"percent", "fraction"}
        Scale of the ``score`` column.  Fractions (0-1) are converted to
        percent.  The scale is never guessed: percent data whose scores all
        lie in [0, 1] raises an error asking for ``scale="fraction"``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RESULT_COLUMNS` plus ``origin`` (``file:line``);
        canonical language codes; ``score`` float (percent); ``seed`` Int64.

    Raises
    ------
    ResultsError
        With a one-line message naming the file and row or group.

    Examples
    --------
    >>> from xdist.results import read_results, shipped_results_paths
    >>> res = read_results(shipped_results_paths())
    >>> res.loc[res.target_task == "XNLI", "language"].nunique()
    15
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise ResultsError("results: no files given; pass at least one CSV or Parquet file")
    frames = []
    for path in paths:
        df = _read_one(path)
        if "origin" not in df.columns:
            df["origin"] = [f"{path}:{i + 2}" for i in range(len(df))]
        frames.append(validate_results(df, scale=scale, origin=str(path), check_groups=False))
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    origin = str(paths[0]) if len(paths) == 1 else "results"
    _check_keys(out, origin)
    _check_groups(out, origin)
    return out


def validate_results(
    df: pd.DataFrame,
    *,
    scale: str = "percent",
    origin: str = "results",
    check_groups: bool = True,
) -> pd.DataFrame:
    """Validate a results DataFrame and return its canonical form.

    Parameters
    ----------
    df : pandas.DataFrame
        A table in the results format.
    scale : {"percent", "fraction"}
        Scale of ``score``; fractions are converted to percent.
    origin : str
        Name used in error messages (the file name).
    check_groups : bool
        Check that every group has its source-language row.

    Returns
    -------
    pandas.DataFrame
        A new, canonical table; the input is not modified.

    Examples
    --------
    >>> import pandas as pd
    >>> from xdist.results import validate_results
    >>> df = pd.DataFrame({
    ...     "model": "m", "setting": "zero-shot", "intermediate_task": "",
    ...     "target_task": "XNLI", "language": ["en", "deu"], "metric": "accuracy",
    ...     "score": [85.0, 78.5], "seed": "", "source": "my run"})
    >>> validate_results(df)["language"].tolist()
    ['en', 'de']
    """
    if scale not in _SCALES:
        raise ResultsError(f"scale={scale!r} is not valid: expected one of {list(_SCALES)}")
    if not isinstance(df, pd.DataFrame):
        raise ResultsError(f"{origin}: expected a pandas DataFrame, got {type(df).__name__}")
    df = df.copy()
    has_origin = "origin" in df.columns
    if not has_origin:
        df["origin"] = [f"{origin}:{i + 2}" for i in range(len(df))]
    lines = np.arange(2, len(df) + 2) if not has_origin else None

    def where(mask) -> str:
        idx = np.flatnonzero(np.asarray(mask))
        if lines is not None:
            return _where(origin, lines[idx])
        files: dict[str, list[int]] = {}
        for o in df["origin"].iloc[idx]:
            f, _, line = str(o).rpartition(":")
            files.setdefault(f, []).append(int(line) if line.isdigit() else line)
        return "; ".join(_where(f, ls) for f, ls in files.items())

    # -- columns -----------------------------------------------------------
    known = set(RESULT_COLUMNS) | {"origin"}
    unknown = [c for c in df.columns if c not in known]
    if unknown:
        hints = []
        for c in unknown:
            close = difflib.get_close_matches(str(c), RESULT_COLUMNS, n=1)
            hints.append(f"{c!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ResultsError(
            f"{origin}: unknown column(s) {', '.join(hints)}; accepted columns are "
            f"{REQUIRED_COLUMNS} (required) and {list(OPTIONAL_COLUMNS)} (optional)"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ResultsError(
            f"{origin}: missing required column(s) {missing}; a results table needs "
            f"{REQUIRED_COLUMNS}"
        )
    for col, default in OPTIONAL_COLUMNS.items():
        if col not in df.columns:
            df[col] = default
    if df.empty:
        raise ResultsError(f"{origin}: no rows")

    # -- text columns --------------------------------------------------------
    for col in RESULT_COLUMNS:
        if col in ("score", "seed"):
            continue
        s = df[col].astype(object)
        s = s.where(s.notna(), "").astype(str).str.strip()
        df[col] = s.replace({"nan": "", "None": "", "<NA>": ""}) if col != "note" else s
    for col in _TEXT_REQUIRED:
        empty = df[col] == ""
        if empty.any():
            raise ResultsError(f"{where(empty)}: empty {col!r}; every row needs a {col}")
    if (df["source_language"] == "").any():
        df.loc[df["source_language"] == "", "source_language"] = OPTIONAL_COLUMNS["source_language"]

    bad_flag = ~df["flag"].isin(list(FLAGS))
    if bad_flag.any():
        val = df.loc[bad_flag, "flag"].iloc[0]
        raise ResultsError(
            f"{where(bad_flag)}: unknown flag {val!r} in column 'flag'; accepted flags are "
            f"{[f for f in FLAGS if f]} or empty"
        )

    # -- languages -----------------------------------------------------------
    amap = _alias_map()
    for col in ("language", "source_language"):
        low = df[col].str.lower()
        canon = low.map(amap)
        bad = canon.isna()
        if bad.any():
            val = df.loc[bad, col].iloc[0]
            try:
                resolve(val, param=col)
            except UnknownLanguageError as exc:
                first = where(bad & (df[col] == val))
                raise ResultsError(f"{first}: {exc}") from None
        df[col] = canon.astype(str)

    # -- seed ------------------------------------------------------------------
    seed_obj = df["seed"].astype(object)  # an already validated table holds Int64
    seed_txt = seed_obj.where(seed_obj.notna(), "").astype(str).str.strip()
    seed_txt = seed_txt.replace({"nan": "", "None": "", "<NA>": ""})
    seed_num = pd.to_numeric(seed_txt.replace("", np.nan), errors="coerce")
    bad = (seed_txt != "") & (seed_num.isna() | (seed_num % 1 != 0))
    if bad.any():
        val = seed_txt[bad].iloc[0]
        raise ResultsError(
            f"{where(bad)}: seed {val!r} is not an integer; give an integer or leave it empty"
        )
    df["seed"] = seed_num.astype("Int64")

    # -- score -----------------------------------------------------------------
    raw = df["score"].astype(object)
    score = pd.to_numeric(raw, errors="coerce").astype(float)
    missing = raw.isna() | (raw.astype(str).str.strip() == "")
    if missing.any():
        raise ResultsError(
            f"{where(missing)}: missing score; every row needs a number "
            "(remove the row if the language was not evaluated)"
        )
    bad = score.isna() | ~np.isfinite(score)
    if bad.any():
        val = raw[bad].iloc[0]
        raise ResultsError(f"{where(bad)}: score {val!r} is not a finite number")
    hi = 1.0 if scale == "fraction" else 100.0
    out_of_range = (score < 0) | (score > hi)
    if out_of_range.any():
        val = score[out_of_range].iloc[0]
        extra = (
            "; percent scores need scale='percent'" if scale == "fraction" and val <= 100 else ""
        )
        raise ResultsError(
            f"{where(out_of_range)}: score {val:g} is outside 0-{hi:g} for scale={scale!r}{extra}"
        )
    df["score"] = score

    df = df[RESULT_COLUMNS + ["origin"]].reset_index(drop=True)
    if scale == "percent":
        _check_not_fractions(df, origin)
    else:
        df["score"] = df["score"] * 100.0

    _check_keys(df, origin)
    if check_groups:
        _check_groups(df, origin)
    return df


def _group_ids(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """One string key per row for the given columns (vectorized)."""
    if not len(df):
        return np.array([], dtype=object)
    parts = [df[c].astype("string").fillna("<NA>") for c in cols]
    return parts[0].str.cat(parts[1:], sep="\x1f").to_numpy(dtype=object)


def _check_not_fractions(df: pd.DataFrame, origin: str) -> None:
    gid = _group_ids(df, GROUP_COLUMNS)
    mx = pd.Series(df["score"].to_numpy()).groupby(gid).max()
    frac = mx[(mx <= 1.0) & (mx > 0)]  # all zeros read the same on either scale
    if len(frac):
        first = np.flatnonzero(gid == frac.index[0])[0]
        row = df.iloc[first]
        raise ResultsError(
            f"{origin}: group {_group_label(row)} has all scores between 0 and 1 "
            f"(max {frac.iloc[0]:g}); they look like fractions: pass scale='fraction' "
            "(--scale fraction) if they are, or give percentages"
        )


def _check_keys(df: pd.DataFrame, origin: str) -> None:
    dup = df.duplicated(KEY_COLUMNS, keep=False)
    if dup.any():
        first_key = df.loc[dup, KEY_COLUMNS].iloc[0]
        same = (df[KEY_COLUMNS].astype("string").fillna("<NA>")
                == first_key.astype("string").fillna("<NA>")).all(axis=1)
        places = ", ".join(df.loc[same, "origin"].head(5))
        row = df.loc[same].iloc[0]
        raise ResultsError(
            f"{origin}: duplicate rows for the same key {_group_label(row)[:-1]}, "
            f"language={row['language']!r}) at {places}; each (model, setting, "
            "intermediate_task, target_task, source_language, language, metric, seed, run) "
            "must appear once: give distinct 'run' labels to different published runs"
        )


#: Target tasks scored only against a source-language pivot (retrieval of the English
#: translation): they have no source-language score, so their groups need no source row and
#: have no degradation (:func:`xdist.degradation.degradation` leaves them out with a caveat).
PIVOT_TASKS = ("BUCC", "Tatoeba")


def _check_groups(df: pd.DataFrame, origin: str) -> None:
    df = df[~df["target_task"].isin(PIVOT_TASKS)]
    has_src = df["language"] == df["source_language"]
    gid = _group_ids(df, GROUP_COLUMNS)
    with_src = set(gid[has_src.to_numpy()])
    lacking = [g for g in dict.fromkeys(gid) if g not in with_src]
    if lacking:
        first = np.flatnonzero(gid == lacking[0])[0]
        row = df.iloc[first]
        more = f" (and {len(lacking) - 1} more groups)" if len(lacking) > 1 else ""
        raise ResultsError(
            f"{origin}: group {_group_label(row)} has no row for its source language "
            f"{row['source_language']!r}{more}; degradation needs the source-language score: add "
            f"a row with language={row['source_language']!r} or set 'source_language'"
        )


def shipped_results_paths() -> list[Path]:
    """Paths of the per-language results shipped in ``data/results/``.

    Examples
    --------
    >>> from xdist.results import shipped_results_paths
    >>> sorted(p.name for p in shipped_results_paths())
    ['published_readme_tables.csv', 'udpos_xlmr_base_transfer_matrix.csv']
    """
    from xdist._paths import data_path

    names = ["published_readme_tables.csv", "udpos_xlmr_base_transfer_matrix.csv"]
    return [data_path("results", n) for n in names]


def load_shipped_results() -> pd.DataFrame:
    """Load and validate all shipped per-language results.

    Examples
    --------
    >>> from xdist.results import load_shipped_results
    >>> res = load_shipped_results()
    >>> int((res.target_task == "UD-POS").sum())
    6825
    """
    return read_results(shipped_results_paths())
