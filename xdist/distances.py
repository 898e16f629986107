"""URIEL typological distances, as published by lang2vec, for any languages.

Papers relating cross-lingual transfer to "lang2vec distance" use the
precomputed distances of ``lang2vec.distance(kind, l1, l2)``, which exists only
in the GitHub version of lang2vec.  The PyPI release (1.1.2) ships the URIEL
feature data but no distance function.  This module computes the six
distance kinds from the PyPI data files by the definitions that reproduce the
published 4-decimal values (see ``docs/distances.md`` for the definitions,
the validation against published values and the known exceptions).

Kinds
-----
``syntactic``, ``phonological``, ``inventory``, ``featural``
    Angular distance ``arccos(cos_sim) / (pi / 2)`` between binary "union"
    vectors (a feature is 1 when any URIEL source says 1).  A language with
    no positive feature in the kind gets the default vector.
``geographic``
    Great-circle distance divided by the antipodal distance, between
    coordinates recovered from ``geocoord_features.npz``.  1.0 when either
    language has no coordinates.
``genetic``
    ``d(L1 -> L2) = 1 - |A(L1) & A(L2)| / (|A(L1)| + 1)`` over the family
    and branch features ``A``; **asymmetric**, normalised by the depth of
    ``L1``, the row (source) language.  1.0 when either language has no
    family data; 0 for a language with itself.

Code modes
----------
``codes="individual"`` (default) looks languages up by their
individual-language ISO 639-3 code (``ar -> arb``, ``zh -> cmn``), which have
real URIEL data; where only the macrolanguage code has data (Latvian ``lvs``
versus ``lav``, Odia, Pashto, Inupiaq), the macrolanguage's data is used.  ``codes="lang2vec"`` uses the codes lang2vec's
``letter_codes.json`` gives (``ar -> ara``, a macrolanguage) and reproduces
the published values, including the quirk that several macrolanguage codes
behave as if they had no data at all (:data:`LANG2VEC_NO_DATA`).

Every distance records whether a default was used: the ``imputed`` column of
:func:`distances`, ``attrs["no_data"]`` of :func:`distance_matrix`.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Iterable

import numpy as np
import pandas as pd

from xdist._lang2vec import LANG2VEC_VERSION, cached_arrays, load_npz
from xdist.languages import iso639_3, resolve_codes

__all__ = [
    "DISTANCE_KINDS",
    "CODE_MODES",
    "TYPOLOGICAL_KINDS",
    "ALWAYS_ZERO_FEATURES",
    "DEFAULT_VECTOR_ZEROS",
    "LANG2VEC_NO_DATA",
    "distance_matrix",
    "distances",
]

#: The six URIEL distance kinds, in lang2vec's order of presentation.
DISTANCE_KINDS = ("syntactic", "phonological", "inventory", "featural", "geographic", "genetic")

#: Accepted values of ``codes``.
CODE_MODES = ("individual", "lang2vec")

#: Feature-name prefixes of the typological kinds (featural = all of them).
TYPOLOGICAL_KINDS = {
    "syntactic": ("S_",),
    "phonological": ("P_",),
    "inventory": ("INV_",),
    "featural": ("S_", "P_", "INV_"),
}

#: Features that are 0 for every language in the published distances.
ALWAYS_ZERO_FEATURES = ("S_VOX", "P_UVULARS")

#: Features that are 0 in the default vector (all others are 1): 98 of the
#: 103 syntactic features, 284 of the 289 featural ones.  The published
#: values fix the count (five) and exclude every feature that any checked
#: language has, which leaves 11 syntactic candidates that all give identical
#: values; we take the five rarest in the data (see docs/distances.md).
DEFAULT_VECTOR_ZEROS = ("S_VOX", "S_OVX", "S_XVO", "S_XOV", "S_DEMONSTRATIVE_PREFIX")

#: ISO 639-3 codes that behave as having no URIEL data at all in the
#: published lang2vec distances (``codes="lang2vec"`` only): default
#: vectors, geographic 1.0, genetic 1.0.  Each was checked against published
#: values (docs/distances.md).  All are macrolanguages, but not every
#: macrolanguage is affected: ``est``, ``kur``, ``lav`` and ``nor`` have
#: (other) data there; macrolanguages not listed were not checked.
LANG2VEC_NO_DATA = frozenset(
    {"ara", "aze", "fas", "mon", "msa", "orm", "sqi", "swa", "uzb", "zho"}
)

_GEO_ITERATIONS = 10
_GEO_SUBSAMPLE = 8


# --------------------------------------------------------------------------
# validation of arguments
# --------------------------------------------------------------------------

def _check_kind(kind, param: str = "kind") -> str:
    if isinstance(kind, str) and kind in DISTANCE_KINDS:
        return kind
    hint = ""
    if isinstance(kind, str):
        close = difflib.get_close_matches(kind.lower(), DISTANCE_KINDS, n=1, cutoff=0.5)
        if close:
            hint = f"; did you mean {close[0]!r}?"
    raise ValueError(
        f"unknown distance kind {kind!r} in {param!r}: expected one of {DISTANCE_KINDS}{hint}"
    )


def _check_codes(codes) -> str:
    if codes not in CODE_MODES:
        raise ValueError(f"codes={codes!r} is not valid: expected one of {CODE_MODES}")
    return codes


def _as_list(values, param: str) -> list:
    if isinstance(values, str):
        return [values]
    if values is None:
        raise ValueError(f"{param!r} is None: expected a language code or a list of them")
    out = list(values)
    if not out:
        raise ValueError(f"{param!r} is empty: expected at least one language code")
    return out


# --------------------------------------------------------------------------
# data (each file read once per process)
# --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _typological_data():
    """Binary union matrix over all URIEL languages: (index, feats, B)."""
    def build():
        z = load_npz("features.npz")
        feats = np.asarray(z["feats"]).astype(str)
        binary = (z["data"] == 1).any(axis=2)  # languages x features
        binary[:, np.isin(feats, ALWAYS_ZERO_FEATURES)] = False
        return {"langs": np.asarray(z["langs"]).astype(str), "feats": feats, "binary": binary}

    a = cached_arrays("typological", ["features.npz"], f"v1:{ALWAYS_ZERO_FEATURES}", build)
    index = {code: i for i, code in enumerate(a["langs"])}
    return index, a["feats"], a["binary"]


@lru_cache(maxsize=None)
def _typological(kind: str):
    index, feats, binary = _typological_data()
    cols = np.flatnonzero([f.startswith(TYPOLOGICAL_KINDS[kind]) for f in feats])
    x = binary[:, cols]
    has = x.any(axis=1)
    default = ~np.isin(feats[cols], DEFAULT_VECTOR_ZEROS)
    return index, x, has, default


@lru_cache(maxsize=1)
def _family_data():
    """Family membership (bool, languages x F_ features) and its index."""
    def build():
        z = load_npz("family_features.npz")
        return {"langs": np.asarray(z["langs"]).astype(str), "member": z["data"][:, :, 0] == 1}

    a = cached_arrays("family", ["family_features.npz"], "v1", build)
    index = {code: i for i, code in enumerate(a["langs"])}
    return index, a["member"]


def _unit(lat_deg, lon_deg) -> np.ndarray:
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


@lru_cache(maxsize=1)
def _geo_data():
    """Coordinates recovered from the reference-point distances.

    ``geocoord_features.npz`` holds, per language, the great-circle distance
    (divided by pi R) to 299 reference points named ``GC_lat_lon`` (names
    rounded to whole degrees).  With unit vectors ``x`` (language) and
    ``r_k`` (points), ``cos(pi * value_k) = r_k . x`` is linear in ``x``, so
    all languages are solved at once by least squares; the reference points
    are then refined from the languages the same way, alternating a few
    times, and the solution is rotated back onto the named grid.

    Returns (index, unit vectors [NaN rows without data], has_data, rmse).
    """
    a = cached_arrays("geographic", ["geocoord_features.npz"],
                      f"v1:{_GEO_ITERATIONS}:{_GEO_SUBSAMPLE}", _solve_geo)
    index = {code: i for i, code in enumerate(a["langs"])}
    return index, a["vectors"], a["has"], a["rmse"]


def _solve_geo() -> dict:
    z = load_npz("geocoord_features.npz")
    values = z["data"][:, :, 0].astype(np.float64)
    names = np.asarray(z["feats"]).astype(str)
    grid = np.array([[float(v) for v in n[3:].split("_")] for n in names])
    # rows that are constant (codes such as 'und', 'mul', 'zxx') carry no location
    has = (values.max(axis=1) > values.min(axis=1)) & (values.min(axis=1) >= 0)
    c = np.cos(np.pi * values[has])  # languages x points
    r0 = _unit(grid[:, 0], grid[:, 1])
    r = r0.copy()
    # refining 299 points needs far fewer than ~8000 languages: every 8th
    # (the recovered distances change by < 1e-6, against 4-decimal values)
    sub = c[::_GEO_SUBSAMPLE]
    for _ in range(_GEO_ITERATIONS):
        x = np.linalg.solve(r.T @ r, r.T @ sub.T).T
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        r = np.linalg.solve(x.T @ x, x.T @ sub).T
        r /= np.linalg.norm(r, axis=1, keepdims=True)
    x = np.linalg.solve(r.T @ r, r.T @ c.T).T
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    # distances fix the points only up to a rotation: align with the named grid
    u, _, vt = np.linalg.svd(r.T @ r0)
    d = np.sign(np.linalg.det(u @ vt))
    rot = u @ np.diag([1.0, 1.0, d]) @ vt
    x = x @ rot
    fitted = np.arccos(np.clip(x @ (r @ rot).T, -1.0, 1.0)) / np.pi
    rmse = np.full(len(values), np.nan)
    rmse[has] = np.sqrt(np.mean((fitted - values[has]) ** 2, axis=1))
    vectors = np.full((len(values), 3), np.nan)
    vectors[has] = x
    return {"langs": np.asarray(z["langs"]).astype(str), "vectors": vectors, "has": has,
            "rmse": rmse}


def _recovered_coordinates() -> pd.DataFrame:
    """Recovered latitude/longitude of every URIEL language (diagnostic).

    Columns ``iso639_3, lat, lon, rmse`` (rmse of the fitted against the
    stored reference-point distances, in units of pi R); NaN where the
    language has no geographic data.
    """
    index, vectors, has, rmse = _geo_data()
    lat = np.degrees(np.arcsin(np.clip(vectors[:, 2], -1, 1)))
    lon = np.degrees(np.arctan2(vectors[:, 1], vectors[:, 0]))
    return pd.DataFrame({"iso639_3": list(index), "lat": lat, "lon": lon, "rmse": rmse})


# --------------------------------------------------------------------------
# computation on ISO 639-3 codes
# --------------------------------------------------------------------------

def _rows(iso3: np.ndarray, index: dict, no_data: frozenset) -> np.ndarray:
    """Row of each code in a data matrix, -1 where absent or forced absent."""
    return np.array(
        [index.get(c, -1) if c not in no_data else -1 for c in iso3], dtype=np.int64
    )


def _angular(v: np.ndarray) -> np.ndarray:
    """All-pairs arccos(cosine) / (pi/2) of the rows of a 0/1 matrix."""
    v = v.astype(np.float64)
    gram = v @ v.T  # exact integer counts
    norm = np.sqrt(np.diag(gram))
    cos = gram / np.outer(norm, norm)
    return np.arccos(np.clip(cos, -1.0, 1.0)) / (np.pi / 2)


def _with_fallback(rows, has_row, fallback_rows):
    """Use the fallback row where the primary code has no data but the fallback has."""
    if fallback_rows is None:
        return rows, has_row(rows)
    has = has_row(rows)
    use = ~has & has_row(fallback_rows)
    return np.where(use, fallback_rows, rows), has | use


def _compute_iso3(iso3, kind: str, codes: str = "individual", fallback=None):
    """Distance matrix (rows = source) and has-data flags for ISO 639-3 codes.

    ``fallback``: optional second ISO 639-3 code per language, used where the
    first has no data in ``kind`` (individual mode: the macrolanguage code).
    """
    iso3 = np.asarray([str(c).strip().lower() if isinstance(c, str) else "" for c in iso3])
    no_data = LANG2VEC_NO_DATA if codes == "lang2vec" else frozenset()
    if fallback is not None:
        fallback = [str(c).strip().lower() if isinstance(c, str) else "" for c in fallback]
    # the same URIEL language twice (e.g. two codes for one language)
    same = (iso3[:, None] == iso3[None, :]) & (iso3 != "")[:, None]
    np.fill_diagonal(same, True)
    if kind in TYPOLOGICAL_KINDS:
        index, x, has_all, default = _typological(kind)
        def has_row(r):
            return (r >= 0) & has_all[np.maximum(r, 0)]

        fb = None if fallback is None else _rows(fallback, index, LANG2VEC_NO_DATA)
        rows, has = _with_fallback(_rows(iso3, index, no_data), has_row, fb)
        v = np.where(has[:, None], x[np.maximum(rows, 0)], default[None, :])
        d = _angular(v)
    elif kind == "geographic":
        index, vectors, has_all, _ = _geo_data()
        def has_row(r):
            return (r >= 0) & has_all[np.maximum(r, 0)]

        fb = None if fallback is None else _rows(fallback, index, LANG2VEC_NO_DATA)
        rows, has = _with_fallback(_rows(iso3, index, no_data), has_row, fb)
        x = np.where(has[:, None], vectors[np.maximum(rows, 0)], 0.0)
        d = np.arccos(np.clip(x @ x.T, -1.0, 1.0)) / np.pi
        d[~has, :] = 1.0
        d[:, ~has] = 1.0
    else:  # genetic
        index, member = _family_data()
        def has_row(r):
            return (r >= 0) & member[np.maximum(r, 0)].any(axis=1)

        fb = None if fallback is None else _rows(fallback, index, LANG2VEC_NO_DATA)
        rows, _ = _with_fallback(_rows(iso3, index, no_data), has_row, fb)
        a = np.where((rows >= 0)[:, None], member[np.maximum(rows, 0)], False)
        a = a[:, a.any(axis=0)].astype(np.float64)  # only the features in use
        depth = a.sum(axis=1)
        has = depth > 0
        shared = a @ a.T
        d = 1.0 - shared / (depth[:, None] + 1.0)
    # zero for a language against itself; for genetic this reads the "+1" in
    # the denominator as the language's own leaf, shared only with itself
    d[same] = 0.0
    return d, has


def _distance_matrix_iso3(iso3_codes, kind: str, codes: str = "individual") -> pd.DataFrame:
    """Square distance matrix for raw ISO 639-3 codes (rows = source).

    Lower-level than :func:`distance_matrix`: no languages table involved.
    ``codes="lang2vec"`` treats :data:`LANG2VEC_NO_DATA` as having no data.
    ``attrs["no_data"]`` lists the codes without data in ``kind``.

    Examples
    --------
    >>> from xdist.distances import _distance_matrix_iso3
    >>> float(_distance_matrix_iso3(["eng", "fra"], "syntactic").loc["eng", "fra"].round(4))
    0.4569
    """
    kind = _check_kind(kind)
    codes = _check_codes(codes)
    iso3 = [str(c).strip().lower() for c in _as_list(iso3_codes, "iso3_codes")]
    d, has = _compute_iso3(iso3, kind, codes)
    out = pd.DataFrame(d, index=pd.Index(iso3, name="source"), columns=pd.Index(iso3, name="target"))
    out.attrs.update(_attrs(kind, codes, [c for c, h in zip(iso3, has) if not h]))
    return out


def _attrs(kind: str, codes: str, no_data: list) -> dict:
    return {
        "kind": kind,
        "codes": codes,
        "no_data": list(no_data),
        "direction": (
            "d(row -> column), normalised by the row language's depth"
            if kind == "genetic"
            else "symmetric"
        ),
        "source": f"lang2vec {LANG2VEC_VERSION} data files (URIEL)",
    }


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------

def distance_matrix(languages, *, kind: str, codes: str = "individual") -> pd.DataFrame:
    """All pairwise URIEL distances of one kind among a set of languages.

    Parameters
    ----------
    languages : iterable of str
        Language codes (anything :func:`xdist.languages.resolve` accepts).
        Must not contain the same language twice.
    kind : {"syntactic", "phonological", "inventory", "featural", "geographic", "genetic"}
        Distance kind (see :data:`DISTANCE_KINDS`).
    codes : {"individual", "lang2vec"}
        Which ISO 639-3 code looks each language up in URIEL:
        ``"individual"`` (``ar -> arb``, default) or ``"lang2vec"``
        (``ar -> ara``, reproducing published lang2vec values, see the module
        docstring).

    Returns
    -------
    pandas.DataFrame
        Square, index (``source``) and columns (``target``) the canonical xdist
        codes in input order; cell ``[s, t]`` is ``d(s -> t)``.  All kinds but
        ``genetic`` are symmetric with a zero diagonal; ``genetic`` is
        normalised by the row language's depth (diagonal also 0).
        ``attrs`` records ``kind``, ``codes``, ``direction`` and ``no_data``
        (languages without data in this kind, for which the default vector
        or 1.0 was used).

    Raises
    ------
    ValueError
        Unknown ``kind`` or ``codes``, empty or duplicated ``languages``.
    xdist.languages.UnknownLanguageError
        A code that is not in the languages table.

    Examples
    --------
    >>> from xdist.distances import distance_matrix
    >>> distance_matrix(["en", "fr", "de"], kind="syntactic").round(4)  # doctest: +NORMALIZE_WHITESPACE
    target      en      fr      de
    source
    en      0.0000  0.4569  0.4204
    fr      0.4569  0.0000  0.4632
    de      0.4204  0.4632  0.0000
    """
    kind = _check_kind(kind)
    codes = _check_codes(codes)
    canon = resolve_codes(_as_list(languages, "languages"), param="languages")
    dup = pd.Index(canon)[pd.Index(canon).duplicated()].unique().tolist()
    if dup:
        raise ValueError(
            f"languages contains the same language more than once: {dup} "
            "(after resolving codes to canonical xdist codes); pass each language once"
        )
    iso3 = iso639_3(canon, mode=codes, param="languages")
    d, has = _compute_iso3(iso3, kind, codes, _fallback_codes(canon, codes))
    out = pd.DataFrame(
        d,
        index=pd.Index(list(canon), name="source"),
        columns=pd.Index(list(canon), name="target"),
    )
    out.attrs.update(_attrs(kind, codes, [c for c, h in zip(canon, has) if not h]))
    return out


def _fallback_codes(langs, codes: str):
    """Individual mode: each language's lang2vec (macrolanguage) code, as fallback.

    Some individual-language codes have no URIEL data where the macrolanguage
    code has real data (Latvian ``lvs``/``lav``, Odia ``ory``/``ori``, Pashto
    ``pbt``/``pus``, Inupiaq ``esk``/``ipk``); there the macrolanguage's data
    is used.  The codes of :data:`LANG2VEC_NO_DATA` are never a fallback.
    """
    if codes != "individual":
        return None
    return iso639_3(langs, mode="lang2vec", param="targets")


def distances(
    targets,
    *,
    source: str = "en",
    kinds: Iterable[str] | str = DISTANCE_KINDS,
    codes: str = "individual",
) -> pd.DataFrame:
    """URIEL distances from one source language to many targets, tidy.

    Parameters
    ----------
    targets : str or iterable of str
        Target language codes (anything :func:`xdist.languages.resolve`
        accepts); may include the source.
    source : str
        Source language code, ``"en"`` by default.
    kinds : str or iterable of str
        Distance kinds, default all six (:data:`DISTANCE_KINDS`).
    codes : {"individual", "lang2vec"}
        Code mode, see :func:`distance_matrix`.

    Returns
    -------
    pandas.DataFrame
        One row per target and kind (targets in input order, kinds in the
        given order) with columns ``source, target, kind, distance, codes,
        imputed``: canonical xdist codes, the distance ``d(source -> target)``
        (for ``genetic`` normalised by the source's depth), the code mode, and
        whether either language had no URIEL data in that kind (so the
        default vector, or 1.0, was used).

    Raises
    ------
    ValueError
        Unknown kind or code mode, empty ``targets`` or ``kinds``.
    xdist.languages.UnknownLanguageError
        A code that is not in the languages table.

    Examples
    --------
    >>> from xdist.distances import distances
    >>> d = distances(["fr", "de"], kinds=["syntactic", "genetic"])
    >>> d.round(4)
      source target       kind  distance       codes  imputed
    0     en     fr  syntactic    0.4569  individual    False
    1     en     fr    genetic    0.9000  individual    False
    2     en     de  syntactic    0.4204  individual    False
    3     en     de    genetic    0.6000  individual    False
    """
    codes = _check_codes(codes)
    kinds = [_check_kind(k, "kinds") for k in _as_list(kinds, "kinds")]
    tgt = resolve_codes(_as_list(targets, "targets"), param="targets")
    src = resolve_codes([source], param="source")[0] if isinstance(source, str) else None
    if src is None:
        raise ValueError(f"source={source!r} is not valid: expected one language code such as 'en'")
    langs = [src] + list(dict.fromkeys(tgt))  # source first, unique targets
    iso3 = iso639_3(langs, mode=codes, param="targets")
    fallback = _fallback_codes(langs, codes)
    pos = {c: i for i, c in enumerate(langs)}
    col = np.array([pos[t] for t in tgt])
    n_t, n_k = len(tgt), len(kinds)
    dist = np.empty((n_t, n_k))
    imputed = np.empty((n_t, n_k), dtype=bool)
    for j, kind in enumerate(kinds):
        d, has = _compute_iso3(iso3, kind, codes, fallback)
        dist[:, j] = d[0, col]
        imputed[:, j] = ~(has[0] & has[col])
    return pd.DataFrame(
        {
            "source": np.repeat(np.asarray([src], dtype=object), n_t * n_k),
            "target": np.repeat(np.asarray(tgt, dtype=object), n_k),
            "kind": np.tile(np.asarray(kinds, dtype=object), n_t),
            "distance": dist.ravel(),
            "codes": np.repeat(np.asarray([codes], dtype=object), n_t * n_k),
            "imputed": imputed.ravel(),
        }
    )
