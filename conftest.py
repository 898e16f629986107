"""Pytest configuration shared by tests/ and the doctests in xdist/."""

import importlib.util
import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

# The training core needs the optional `train` extra; without it, only its
# torch-free modules are collected (the rest is tested in tests/train, which
# skips what needs torch).
TORCH_FREE_TRAIN_MODULES = {"__init__.py", "tasks.py", "metrics.py", "config.py", "sampling.py",
                            "cli.py", "smoke.py"}
collect_ignore = ["xdist/__main__.py"]
collect_ignore_glob = []
if any(importlib.util.find_spec(m) is None for m in ("torch", "transformers", "datasets")):
    train = os.path.join(os.path.dirname(__file__), "xdist", "train")
    collect_ignore += [
        os.path.join("xdist", "train", f)
        for f in sorted(os.listdir(train))
        if f.endswith(".py") and f not in TORCH_FREE_TRAIN_MODULES
    ]
