"""The one languages table: codes, names, family, script and pretraining size.

Every part of xdist (results loading, distances, analyses, training) reads
languages through this module, so a language code means the same thing
everywhere.

Codes
-----
A language's canonical xdist ``code`` is its ISO 639-1 code where one exists
(``"ar"``, ``"zh"``), otherwise its ISO 639-3 code (``"aii"``, ``"yue"``), as
XTREME and most result tables print them.  Input may use either, the ISO 639-3
code of the individual language (``"arb"``), the ISO 639-3 macrolanguage code
(``"ara"``), or an alias listed in the table; all resolve to the canonical code.

Two ISO 639-3 codes are kept per language:

``iso639_3``
    The individual language (``ar -> arb``, ``zh -> cmn``, ``ms -> zsm``,
    ``fa -> pes``, ``sw -> swh``, ``et -> ekk``, ...).  Typological distances
    use this by default, because URIEL has real data for these codes.
``iso639_3_lang2vec``
    The code that lang2vec's ``letter_codes.json`` maps the two-letter code to
    (``ar -> ara``, a macrolanguage).  Only used to reproduce published
    lang2vec values exactly (see :mod:`xdist.distances`).

The table lives in ``data/languages/languages.csv``; its columns are documented
in ``data/languages/README.md``.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Iterable

import numpy as np
import pandas as pd

from xdist._paths import data_path

__all__ = [
    "LANGUAGE_COLUMNS",
    "UnknownLanguageError",
    "load_languages",
    "resolve",
    "resolve_codes",
    "iso639_3",
    "language_info",
]

#: Columns of the languages table, in order.
LANGUAGE_COLUMNS = [
    "code",  # canonical xdist code (ISO 639-1 if any, else ISO 639-3)
    "iso639_1",  # may be empty
    "iso639_3",  # individual language
    "iso639_3_lang2vec",  # what lang2vec's letter_codes.json gives (may be a macrolanguage)
    "name",
    "family",  # top-level family ("Indo-European", "Afro-Asiatic", "Isolate", ...)
    "genus",  # branch below the family ("Germanic", "Semitic", ...), may be empty
    "script",  # main script as ISO 15924 name ("Latin", "Arabic", ...)
    "xlmr_tokens_m",  # XLM-R CC-100 pretraining tokens, millions; empty if not in CC-100
    "xlmr_size_gib",  # XLM-R CC-100 pretraining size, GiB; empty if not in CC-100
    "aliases",  # other accepted spellings, ';'-separated
    "source",  # provenance of the row
]


class UnknownLanguageError(KeyError, ValueError):
    """A language code that is not in the languages table.

    Subclasses both :class:`KeyError` and :class:`ValueError` so either can
    be caught.
    """

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    path = data_path("languages", "languages.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    missing = [c for c in LANGUAGE_COLUMNS if c not in df.columns]
    if missing:  # pragma: no cover - guards the shipped file
        raise ValueError(f"{path}: missing columns {missing}")
    for col in ("xlmr_tokens_m", "xlmr_size_gib"):
        df[col] = pd.to_numeric(df[col].replace("", np.nan))
    return df


@lru_cache(maxsize=1)
def _alias_map() -> dict[str, str]:
    """Every accepted spelling (lower-cased) -> canonical code."""
    df = _table()
    out: dict[str, str] = {}
    # Order matters: later entries never override earlier ones, so a canonical
    # code always wins over somebody else's alias.
    for col in ("code", "iso639_1", "iso639_3", "iso639_3_lang2vec"):
        for code, val in zip(df["code"], df[col]):
            if val:
                out.setdefault(val.lower(), code)
    for code, aliases, name in zip(df["code"], df["aliases"], df["name"]):
        for a in filter(None, (s.strip() for s in aliases.split(";"))):
            out.setdefault(a.lower(), code)
        out.setdefault(name.lower(), code)
    return out


def load_languages() -> pd.DataFrame:
    """Return the languages table (a copy).

    Returns
    -------
    pandas.DataFrame
        One row per language with the columns in :data:`LANGUAGE_COLUMNS`;
        ``xlmr_tokens_m`` and ``xlmr_size_gib`` are floats (NaN when the
        language is not in XLM-R's pretraining data).

    Examples
    --------
    >>> from xdist.languages import load_languages
    >>> langs = load_languages()
    >>> langs.set_index("code").loc["ar", ["iso639_3", "iso639_3_lang2vec"]].tolist()
    ['arb', 'ara']
    """
    return _table().copy()


def _did_you_mean(value: str) -> str:
    keys = list(_alias_map())
    close = difflib.get_close_matches(value.lower(), keys, n=3, cutoff=0.6)
    if not close:
        return ""
    amap = _alias_map()
    hints = []
    for c in close:
        canon = amap[c]
        hints.append(c if c == canon else f"{c} ({canon})")
    return f"; did you mean {', '.join(repr(h) for h in hints)}?"


def resolve(code: str, *, param: str = "language") -> str:
    """Return the canonical xdist code of a language.

    Parameters
    ----------
    code : str
        ISO 639-1, ISO 639-3 (individual or macrolanguage), English name or
        alias, case-insensitive.
    param : str
        Name of the parameter or column the code came from, used in the error.

    Raises
    ------
    UnknownLanguageError
        If the code is not in the languages table; the message suggests close
        matches.

    Examples
    --------
    >>> from xdist.languages import resolve
    >>> resolve("arb"), resolve("ZH"), resolve("swa"), resolve("German")
    ('ar', 'zh', 'sw', 'de')
    """
    if not isinstance(code, str) or not code.strip():
        raise UnknownLanguageError(
            f"empty or non-text language code {code!r} in {param!r}: "
            "expected an ISO 639-1 or ISO 639-3 code such as 'de' or 'deu'"
        )
    hit = _alias_map().get(code.strip().lower())
    if hit is None:
        raise UnknownLanguageError(
            f"unknown language {code!r} in {param!r}: expected an ISO 639-1 or "
            f"ISO 639-3 code from data/languages/languages.csv{_did_you_mean(code)}"
        )
    return hit


def resolve_codes(codes: Iterable[str], *, param: str = "language") -> np.ndarray:
    """Vectorized :func:`resolve`: canonical codes for many inputs.

    Unknown codes raise on the first one (in input order), naming it.

    Examples
    --------
    >>> from xdist.languages import resolve_codes
    >>> resolve_codes(["en", "fra", "cmn"]).tolist()
    ['en', 'fr', 'zh']
    """
    codes = list(codes)
    amap = _alias_map()
    out = np.empty(len(codes), dtype=object)
    for i, c in enumerate(codes):
        hit = amap.get(c.strip().lower()) if isinstance(c, str) else None
        out[i] = hit if hit is not None else resolve(c, param=param)
    return out


def iso639_3(codes, *, mode: str = "individual", param: str = "language"):
    """ISO 639-3 code(s) of language(s) for looking up URIEL data.

    Parameters
    ----------
    codes : str or iterable of str
        Any codes :func:`resolve` accepts.
    mode : {"individual", "lang2vec"}
        ``"individual"`` gives the individual-language code (``ar -> arb``);
        ``"lang2vec"`` gives what lang2vec's ``letter_codes.json`` gives
        (``ar -> ara``, a macrolanguage), to reproduce published values.

    Returns
    -------
    str or numpy.ndarray
        Same shape as the input.

    Examples
    --------
    >>> from xdist.languages import iso639_3
    >>> iso639_3("zh"), iso639_3("zh", mode="lang2vec")
    ('cmn', 'zho')
    """
    modes = {"individual": "iso639_3", "lang2vec": "iso639_3_lang2vec"}
    if mode not in modes:
        raise ValueError(f"mode={mode!r} is not valid: expected one of {sorted(modes)}")
    col = _table().set_index("code")[modes[mode]]
    if isinstance(codes, str):
        return col[resolve(codes, param=param)]
    canon = resolve_codes(codes, param=param)
    return col.reindex(canon).to_numpy()


def language_info(codes: Iterable[str], *, param: str = "language") -> pd.DataFrame:
    """Rows of the languages table for the given codes, in input order.

    The result is indexed by position and has an extra first column ``input``
    with the code as given.

    Examples
    --------
    >>> from xdist.languages import language_info
    >>> language_info(["hi", "ur"])[["input", "code", "script"]].values.tolist()
    [['hi', 'hi', 'Devanagari'], ['ur', 'ur', 'Arabic']]
    """
    codes = list(codes)
    canon = resolve_codes(codes, param=param)
    out = _table().set_index("code").loc[canon].reset_index()
    out.insert(0, "input", codes)
    return out
