"""The notebooks in ``notebooks/`` run top to bottom, and no outputs are committed.

Each notebook is executed with nbclient in a fresh ``python3`` kernel (the
interpreter running the tests, through ipykernel), with ``notebooks/`` as the
working directory and the Agg matplotlib backend; any error in any cell fails
the test.  nbformat, nbclient and ipykernel are in the ``test`` extra: when
they are missing the tests fail (they are never skipped).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_quick_start.ipynb",
    "02_mixed_models.ipynb",
    "03_intermediate_tasks.ipynb",
    "04_scale.ipynb",
    "05_your_own_results.ipynb",
    "06_settings.ipynb",
]
#: Seconds one cell may run before the notebook fails.
CELL_TIMEOUT = 300


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as exc:  # never skip: the notebook tests are part of CI
        error = str(exc)
    pytest.fail(
        f"{module} is not installed ({error}); the notebook tests need nbformat, nbclient and "
        "ipykernel: pip install -e '.[test]'",
        pytrace=False,
    )


def test_all_notebooks_present():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch, tmp_path):
    nbformat = _require("nbformat")
    nbclient = _require("nbclient")
    _require("ipykernel")
    # The kernel inherits this environment: no GUI backend, this checkout's xdist, and no
    # user-level kernelspec, so that "python3" is ipykernel's spec of this environment
    # (jupyter_client runs its argv "python" as sys.executable).
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    nb = nbformat.read(path, as_version=4)
    # one extra cell reports which interpreter and which xdist the kernel used
    nb.cells.append(nbformat.v4.new_code_cell(
        "import sys, xdist\nprint(sys.executable)\nprint(xdist.__file__)", id="test-interpreter"))
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # no terminal colours
        pytest.fail(f"{path.name}: a cell raised an error:\n{message}", pytrace=False)
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")
    executable, module = nb.cells[-1].outputs[0]["text"].split()
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert Path(module).resolve() == (ROOT / "xdist" / "__init__.py").resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_has_no_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    stale = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not stale, (
        f"{path.name}: cells {stale} have outputs or execution counts; regenerate the notebooks with "
        "python scripts/make_notebooks.py (never commit executed notebooks)"
    )


def test_notebooks_match_generator():
    _require("nbformat")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_notebooks.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr or proc.stdout
