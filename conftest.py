"""Pytest configuration shared by tests/ and the doctests in xdist/."""

import importlib.util
import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

# The training core needs the optional `train` extra; without torch its
# modules are not collected (their torch-free parts are tested in tests/train).
collect_ignore = ["xdist/__main__.py"]
collect_ignore_glob = []
if importlib.util.find_spec("torch") is None:
    collect_ignore_glob += ["xdist/train/pipeline*.py", "xdist/train/model*.py"]
