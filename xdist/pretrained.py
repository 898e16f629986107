"""The pretrained-models table: family, architecture and size of each model.

One row per model name used in the shipped results (the exact ``model``
strings of ``data/results/``), read from ``data/models/models.csv``:

``model``         the model name exactly as in the results tables
``family``        model family (``"XLM-R"``, ``"mT5"``, ``"mBERT"``, ...)
``architecture``  ``"encoder"``, ``"encoder-decoder"``, ``"decoder"``, or empty
                  when not recorded or not applicable
``parameters``    total number of parameters as published (integer), empty
                  when no checked source prints a total
``printed``       the count exactly as the source prints it (``"3.5B"``,
                  ``"580 million"``), also where it is not used as a total
``source``        where the count is printed (``github:owner/repo/path@commit``)
``note``          why a value is what it is (or why it is empty)

No count is computed or guessed: where the source prints only a partial
count (mBERT's ``110M``, which is English BERT-Base's; mDeBERTa's backbone
``86M``) the total is left empty and the note says why.
``data/models/README.md`` lists every source.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Iterable

import numpy as np
import pandas as pd

from xdist._paths import data_path

__all__ = [
    "ARCHITECTURES",
    "MODEL_COLUMNS",
    "UnknownModelError",
    "load_models",
    "log_parameters",
    "model_info",
]

#: Columns of the models table, in order.
MODEL_COLUMNS = ["model", "family", "architecture", "parameters", "printed", "source", "note"]
#: Accepted values of ``architecture`` (empty: not recorded or not applicable).
ARCHITECTURES = ("encoder", "encoder-decoder", "decoder", "")


class UnknownModelError(KeyError, ValueError):
    """A model name that is not in the models table (a ``KeyError`` and a ``ValueError``)."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


def _validate(df: pd.DataFrame, origin: str) -> pd.DataFrame:
    missing = [c for c in MODEL_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{origin}: missing column(s) {missing}; expected {MODEL_COLUMNS}")
    df = df[MODEL_COLUMNS].copy()
    for col in MODEL_COLUMNS:
        if col != "parameters":
            df[col] = df[col].fillna("").astype(str).str.strip()
    empty = df["model"] == ""
    if empty.any():
        raise ValueError(f"{origin}: row {int(np.flatnonzero(empty)[0]) + 2} has an empty 'model'")
    dup = df["model"].duplicated(keep=False)
    if dup.any():
        raise ValueError(
            f"{origin}: model {df.loc[dup, 'model'].iloc[0]!r} appears more than once; "
            "each model name must have one row"
        )
    bad = ~df["architecture"].isin(ARCHITECTURES)
    if bad.any():
        raise ValueError(
            f"{origin}: architecture {df.loc[bad, 'architecture'].iloc[0]!r} of model "
            f"{df.loc[bad, 'model'].iloc[0]!r} is not one of {list(ARCHITECTURES)}"
        )
    raw = df["parameters"].astype("string").fillna("").str.strip()
    num = pd.to_numeric(raw.replace("", np.nan), errors="coerce")
    bad = (raw != "") & (num.isna() | (num <= 0) | (num % 1 != 0))
    if bad.any():
        raise ValueError(
            f"{origin}: parameters {raw[bad].iloc[0]!r} of model {df.loc[bad, 'model'].iloc[0]!r} "
            "is not a positive integer; give the total count (250000000) or leave it empty"
        )
    df["parameters"] = num.astype("Int64")
    nosource = df["parameters"].notna() & (df["source"] == "")
    if nosource.any():
        raise ValueError(
            f"{origin}: model {df.loc[nosource, 'model'].iloc[0]!r} has a parameter count "
            "but no 'source'; every count needs the place where it is printed"
        )
    return df.reset_index(drop=True)


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    path = data_path("models", "models.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    return _validate(df, str(path))


def load_models() -> pd.DataFrame:
    """The models table (a copy), columns :data:`MODEL_COLUMNS`.

    ``parameters`` is a nullable integer (``Int64``): missing where no checked
    source prints a total.

    Examples
    --------
    >>> from xdist.pretrained import load_models
    >>> tab = load_models()
    >>> tab.loc[tab.family == "XLM-R", ["model", "parameters"]].head(4)
             model   parameters
    0   XLM-R Base    250000000
    1  XLM-R Large    560000000
    2     XLM-R XL   3500000000
    3    XLM-R XXL  10700000000
    """
    return _table().copy()


def _names(names, param: str = "names") -> list[str]:
    if isinstance(names, str):
        return [names]
    try:
        out = list(names)
    except TypeError:
        raise ValueError(
            f"{param}={names!r} is not valid: expected a model name or a list of model names"
        ) from None
    for n in out:
        if not isinstance(n, str):
            raise ValueError(f"{param}: {n!r} is not a model name (expected str)")
    return out


def _check_known(names: list[str], param: str) -> None:
    known = _table()["model"].tolist()
    for n in names:
        if n not in known:
            close = difflib.get_close_matches(n, known, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownModelError(
                f"{param}: unknown model {n!r}{hint} (known models are listed in "
                "data/models/models.csv; add a row there for a new model)"
            )


def model_info(names: str | Iterable[str]) -> pd.DataFrame:
    """Rows of the models table for ``names``, in the order given.

    Parameters
    ----------
    names : str or list of str
        Model names exactly as in the results tables (duplicates are kept).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MODEL_COLUMNS`, one row per name.

    Raises
    ------
    UnknownModelError
        (a ``ValueError`` and ``KeyError``) for a name not in the table, with
        the closest known names.

    Examples
    --------
    >>> from xdist.pretrained import model_info
    >>> model_info(["mT5-XL", "XLM-R Base"])[["model", "architecture", "printed"]]
            model     architecture      printed
    0      mT5-XL  encoder-decoder  3.7 billion
    1  XLM-R Base          encoder         250M
    >>> model_info("XLM-R Bsae")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xdist.pretrained.UnknownModelError: names: unknown model 'XLM-R Bsae'; did you mean ...
    """
    names = _names(names)
    _check_known(names, "names")
    tab = _table().set_index("model", drop=False)
    return tab.loc[names].reset_index(drop=True)


def log_parameters(names: str | Iterable[str]) -> pd.Series:
    """``log10`` of each model's published parameter count.

    Parameters
    ----------
    names : str or list of str
        Model names exactly as in the results tables.

    Returns
    -------
    pandas.Series
        float, indexed by the names in the order given; NaN for a known
        model whose total is not published (see its ``note`` in
        :func:`load_models`).

    Raises
    ------
    UnknownModelError
        For a name not in the table (with did-you-mean).

    Examples
    --------
    >>> from xdist.pretrained import log_parameters
    >>> log_parameters(["XLM-R Large", "XLM-R XXL", "mBERT"]).round(3)
    XLM-R Large     8.748
    XLM-R XXL      10.029
    mBERT             NaN
    dtype: float64
    """
    info = model_info(names)
    params = info["parameters"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(np.log10(params), index=pd.Index(info["model"].tolist()), dtype=float)
