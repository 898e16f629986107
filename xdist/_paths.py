"""Where xdist finds its shipped data.

The shipped data lives in ``data/`` at the repository root (next to the
``xdist`` package in a clone or an editable install).  Set ``XDIST_DATA_DIR``
to use a copy elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "data_path"]


def data_dir() -> Path:
    """Return the directory holding xdist's shipped data."""
    env = os.environ.get("XDIST_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "data"


def data_path(*parts: str) -> Path:
    """Return the path of a shipped data file, failing clearly if it is missing."""
    path = data_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"shipped data file {path} not found: run xdist from a clone of the "
            "repository (pip install -e .) or set XDIST_DATA_DIR to its data/ folder"
        )
    return path
