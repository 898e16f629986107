"""Training core: English intermediate task -> English target task -> every language.

The pipeline of Phang et al. (2020, "X-STILTs") will live here and needs the
optional ``train`` extra (torch, transformers, datasets).  The parts that need
neither are usable and tested without it:

- :mod:`xdist.train.tasks` - the task registry (format, metrics, labels,
  languages, splits and on-disk layouts of every target and intermediate task)
- :mod:`xdist.train.metrics` - the tasks' metrics, checked against the
  official scoring scripts

Importing this package imports nothing heavy; the names below are loaded
from their modules on first use.

Examples
--------
>>> import xdist.train as xt
>>> xt.get_task("wikiann-ner").name
'PAN-X'
"""

from __future__ import annotations

import importlib

_LAZY = {
    # xdist.train.tasks
    "Task": "tasks",
    "Layout": "tasks",
    "DataFile": "tasks",
    "get_task": "tasks",
    "list_tasks": "tasks",
    "tasks_table": "tasks",
    "task_languages": "tasks",
    # xdist.train.metrics
    "score": "metrics",
}

__all__ = [
    "DataFile",
    "Layout",
    "Task",
    "get_task",
    "list_tasks",
    "score",
    "task_languages",
    "tasks_table",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'xdist.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"xdist.train.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
