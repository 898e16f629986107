"""Access to the data files of the PyPI ``lang2vec`` package (1.1.2).

xdist reads lang2vec's data files (``features.npz``, ``family_features.npz``,
``geocoord_features.npz``, ``letter_codes.json``) directly, through
:mod:`importlib.resources`; it never imports :mod:`lang2vec.lang2vec` itself.
That module does ``import pkg_resources`` at import time, which fails on
setuptools 82 and later (``pkg_resources`` was removed).

For code that still wants lang2vec's own API (``get_features``, ...),
:func:`import_lang2vec` imports it after installing a minimal
``pkg_resources`` stand-in when, and only when, the real one is missing.

``letter_codes.json`` is cached here; the large ``.npz`` arrays are not (the
distance code caches what it derives from them).
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
import os
import sys
import types
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "LANG2VEC_VERSION",
    "data_file",
    "load_npz",
    "letter_codes",
    "import_lang2vec",
]

#: The lang2vec release whose data files the distances were validated on.
LANG2VEC_VERSION = "1.1.2"

_DATA_FILES = (
    "features.npz",
    "family_features.npz",
    "geocoord_features.npz",
    "feature_averages.npz",
    "feature_predictions.npz",
    "letter_codes.json",
    "learned_letter_codes.json",
    "learned.npy",
)


@lru_cache(maxsize=1)
def _package_dir() -> Path:
    """The installed lang2vec package folder.

    Found through the distribution's metadata, not ``import lang2vec``: the
    lang2vec wheel also installs a script ``bin/lang2vec.py``, which shadows
    the package whenever a console script (such as ``xdist``) runs from that
    ``bin`` folder.  Nothing here imports ``lang2vec.lang2vec`` (which needs
    ``pkg_resources``).
    """
    import importlib.metadata
    import importlib.util

    try:
        dist = importlib.metadata.distribution("lang2vec")
        folder = Path(str(dist.locate_file("lang2vec")))
        if (folder / "data").is_dir():
            return folder
    except importlib.metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec("lang2vec")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            if (Path(loc) / "data").is_dir():
                return Path(loc)
    raise ModuleNotFoundError(
        f"lang2vec is not installed: pip install lang2vec=={LANG2VEC_VERSION}"
    )


def data_file(name: str) -> Path:
    """Path of one of lang2vec's shipped data files.

    Parameters
    ----------
    name : str
        File name inside ``lang2vec/data`` (``"features.npz"``, ...).

    Raises
    ------
    ValueError
        If ``name`` is not one of lang2vec's data files.
    ModuleNotFoundError
        If lang2vec is not installed.

    Examples
    --------
    >>> from xdist._lang2vec import data_file
    >>> data_file("features.npz").name
    'features.npz'
    """
    if name not in _DATA_FILES:
        raise ValueError(
            f"name={name!r} is not a lang2vec data file: expected one of {list(_DATA_FILES)}"
        )
    path = _package_dir() / "data" / name
    if not path.exists():  # pragma: no cover - broken installation
        raise FileNotFoundError(
            f"lang2vec data file {path} is missing: reinstall lang2vec=={LANG2VEC_VERSION}"
        )
    return path


def load_npz(name: str) -> dict[str, np.ndarray]:
    """Read a lang2vec ``.npz`` file into a dict of (read-only) arrays.

    Not cached: the raw arrays are large (``features.npz`` holds 92 MB of
    float32, ``family_features.npz`` 118 MB), so callers such as
    :mod:`xdist.distances` cache the small arrays they derive instead, and
    each file is read once per process.

    Examples
    --------
    >>> from xdist._lang2vec import load_npz
    >>> sorted(load_npz("geocoord_features.npz"))
    ['data', 'feats', 'langs', 'sources']
    """
    with np.load(data_file(name)) as z:
        out = {k: z[k] for k in z.files}
    for arr in out.values():
        arr.flags.writeable = False
    return out


@lru_cache(maxsize=1)
def letter_codes() -> dict[str, str]:
    """lang2vec's two-letter -> ISO 639-3 mapping (``letter_codes.json``).

    Examples
    --------
    >>> from xdist._lang2vec import letter_codes
    >>> letter_codes()["ar"], letter_codes()["zh"]
    ('ara', 'zho')
    """
    with open(data_file("letter_codes.json"), encoding="utf-8") as fh:
        return dict(json.load(fh))


# --------------------------------------------------------------------------
# pkg_resources stand-in
# --------------------------------------------------------------------------

def _resource_filename(package_or_requirement: Any, resource_name: str) -> str:
    """What ``pkg_resources.resource_filename`` does for a filesystem install.

    ``package_or_requirement`` is a module name (lang2vec passes its
    ``__name__``, ``"lang2vec.lang2vec"``): resources are looked up next to
    that module, or inside it when it is a package.
    """
    name = getattr(package_or_requirement, "__name__", package_or_requirement)
    if not isinstance(name, str):
        raise TypeError(
            "resource_filename() of the xdist pkg_resources stand-in takes a module "
            f"or module name, got {package_or_requirement!r}"
        )
    module = sys.modules.get(name)
    if module is None:
        module = importlib.import_module(name)
    file = getattr(module, "__file__", None)
    if file is None:  # pragma: no cover - namespace packages, frozen modules
        raise FileNotFoundError(f"cannot locate resources of module {name!r}")
    # a package's __file__ is its __init__.py: both cases give the directory
    base = os.path.dirname(file)
    return os.path.join(base, *resource_name.split("/"))


def _make_pkg_resources_shim() -> types.ModuleType:
    mod = types.ModuleType(
        "pkg_resources",
        "Minimal stand-in for setuptools' pkg_resources, installed by "
        "xdist._lang2vec.import_lang2vec() because the real one is missing "
        "(setuptools >= 82). Provides resource_filename only.",
    )
    mod.resource_filename = _resource_filename  # type: ignore[attr-defined]
    mod.__xdist_shim__ = True  # type: ignore[attr-defined]
    return mod


def _real_pkg_resources_available() -> bool:
    if "pkg_resources" in sys.modules:
        return sys.modules["pkg_resources"] is not None
    try:
        with warnings.catch_warnings():
            # setuptools 81 warns that pkg_resources is deprecated
            warnings.simplefilter("ignore")
            import pkg_resources  # noqa: F401
    except ImportError:
        return False
    return True


def import_lang2vec() -> types.ModuleType:
    """Import and return :mod:`lang2vec.lang2vec`, even without ``pkg_resources``.

    lang2vec 1.1.2 does ``import pkg_resources`` at module level, which
    fails on setuptools >= 82.  When the real ``pkg_resources`` cannot be
    imported, a minimal stand-in providing ``resource_filename`` (all that
    lang2vec uses) is put into ``sys.modules["pkg_resources"]`` first; when
    the real one works, nothing is changed.

    xdist's own distance code does not need this: it reads lang2vec's data
    files directly (see :func:`data_file`).

    Returns
    -------
    module
        The imported ``lang2vec.lang2vec`` module.

    Examples
    --------
    Importing lang2vec takes several seconds (its module-level code scans
    ``family_features.npz``), hence the skip:

    >>> from xdist._lang2vec import import_lang2vec
    >>> l2v = import_lang2vec()  # doctest: +SKIP
    >>> l2v.LETTER_CODES["ar"]  # doctest: +SKIP
    'ara'
    """
    if "lang2vec.lang2vec" in sys.modules and sys.modules["lang2vec.lang2vec"] is not None:
        return sys.modules["lang2vec.lang2vec"]
    if not _real_pkg_resources_available():
        sys.modules["pkg_resources"] = _make_pkg_resources_shim()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module("lang2vec.lang2vec")


# --------------------------------------------------------------------------
# on-disk cache of arrays derived from the data files
# --------------------------------------------------------------------------

def cache_dir() -> Path | None:
    """Folder of xdist's cache of derived URIEL arrays, or None when disabled.

    ``XDIST_CACHE_DIR`` (``off`` disables it), else ``$XDG_CACHE_HOME/xdist``,
    else ``~/.cache/xdist``.
    """
    env = os.environ.get("XDIST_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "none") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "xdist"


def cached_arrays(name: str, sources, key: str, build) -> dict[str, np.ndarray]:
    """Arrays derived from lang2vec data files, computed once and cached on disk.

    Reading ``features.npz`` and ``family_features.npz`` means decompressing
    about 210 MB for a few small derived arrays, which would cost every
    command-line run about a second.  The cache file is named by a hash of
    ``key`` (the derivation's constants), lang2vec's version and each source
    file's size and modification time, so any change rebuilds it.  An
    unreadable or unwritable cache is ignored (the arrays are just built).
    """
    import hashlib

    parts = [name, key, LANG2VEC_VERSION]
    for src in sources:
        st = data_file(src).stat()
        parts.append(f"{src}:{st.st_size}:{st.st_mtime_ns}")
    stamp = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    folder = cache_dir()
    path = None if folder is None else folder / f"{name}-{stamp}.npz"
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return _unpack({k: z[k] for k in z.files})
        except (OSError, ValueError, EOFError):
            pass  # a damaged cache file: rebuild it
    arrays = build()
    if path is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.savez(fh, **_pack(arrays))
            os.replace(tmp, path)
        except OSError:
            pass
    return arrays


def _pack(arrays: dict) -> dict:
    """Boolean arrays as bits (the family matrix is 30 MB as bytes, 4 MB as bits)."""
    out = {}
    for k, v in arrays.items():
        if v.dtype == bool:
            out[f"{k}__bits"] = np.packbits(v, axis=None)
            out[f"{k}__shape"] = np.asarray(v.shape, dtype=np.int64)
        else:
            out[k] = v
    return out


def _unpack(arrays: dict) -> dict:
    out = {}
    for k, v in arrays.items():
        if k.endswith("__bits"):
            name = k[: -len("__bits")]
            shape = tuple(arrays[f"{name}__shape"])
            out[name] = np.unpackbits(v, count=int(np.prod(shape))).astype(bool).reshape(shape)
        elif not k.endswith("__shape"):
            out[k] = v
    return out

