"""``xdist sweep``: a grid of ``xdist train`` runs on Ray, resumable, into one results store.

A sweep file (TOML or JSON) names a grid -- models x intermediate tasks x
target tasks x settings x seeds -- and a ``[base]`` run configuration shared
by every run.  :func:`expand` turns it into runs in a fixed order, each with
its own directory ``OUTPUT_ROOT/<model>__<intermediate>__<target>__<setting>__s<seed>``;
:func:`run_sweep` runs those that are not done as Ray tasks (a local Ray by
default, ``address=`` for a cluster), each task running ``xdist train
--config RUN_DIR/sweep-run.json`` in a subprocess (with ``torchrun`` or
``accelerate launch`` for a run on several GPUs, :mod:`xdist.train.launch`),
its output in ``RUN_DIR/train.log``.  Every run writes to the sweep's one
results store.  A run that fails is tried again up to ``max_retries`` times
and reported with the end of its log; the others go on.

**Done.** A run is *done* (and skipped by a rerun) when all three hold:

1. ``RUN_DIR/config.json`` holds the run's configuration (the pipeline's own record),
2. each of its training phases has its ``DONE.json`` and ``final/heads.json``
   (phase 1 when it has intermediate tasks, phase 2 unless the target is a
   retrieval task),
3. the store has the run (source ``xdist train --output RUN_DIR``, same
   configuration) with status ``finished`` and an evaluation score for every
   language it evaluates.

A run with ``config.json`` but not done is *partial*: it is started again and
the pipeline resumes it (finished phases skipped, checkpoints reused, scored
languages not evaluated again).  ``RUN_DIR/config.json`` holding another
configuration (the sweep file changed under the same ``output_root``) stops
the sweep before anything runs.

This module imports neither torch nor Ray at import time.

Examples
--------
>>> from xdist.train.sweep import parse_sweep, expand
>>> sweep = parse_sweep({
...     "output_root": "runs/demo",
...     "grid": {"models": ["models/xlmr-base"], "intermediate": [["MNLI"], "none"],
...              "targets": ["XNLI"], "seeds": [1, 2],
...              "settings": {"full": {}, "lr2": {"target_phase.learning_rate": 2e-5,
...                                               "model_name": "xlmr-base-lr2"}}},
...     "base": {"data_dir": "data/tasks"}})
>>> runs = expand(sweep)
>>> len(runs), runs[0].name
(8, 'xlmr-base__mnli__xnli__full__s1')
>>> runs[-1].name, runs[-1].config.target_phase.learning_rate
('xlmr-base__none__xnli__lr2__s2', 2e-05)
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xdist.train.config import TrainConfig, _from_mapping

__all__ = [
    "Sweep",
    "SweepRun",
    "add_parser",
    "expand",
    "load_sweep",
    "parse_sweep",
    "run_state",
    "run_sweep",
]

INSTALL_HINT = "xdist sweep needs Ray: pip install -e '.[train,sweep]'"
RUN_CONFIG = "sweep-run.json"  # the config file a run is started with
ATTEMPT_FILE = "sweep-attempt.json"  # written by the Ray task when an attempt starts and ends
LOG_FILE = "train.log"
SUMMARY_FILE = "sweep-summary.json"
DONE_FILE = "DONE.json"  # the pipeline's phase marker (xdist.train.pipeline.DONE_FILE)
PHASE_DIRS = ("phase1-intermediate", "phase2-target")

_TOP_KEYS = ("grid", "base", "store", "output_root", "max_retries", "num_cpus", "resources")
_GRID_KEYS = ("models", "intermediate", "targets", "settings", "seeds")
_RESOURCE_KEYS = ("num_cpus", "num_gpus")
#: Run fields the grid and the sweep set; ``[base]`` and settings may not.
_RESERVED = {"model": "grid.models", "intermediate": "grid.intermediate", "target": "grid.targets",
             "seed": "grid.seeds", "output": "output_root", "store": "store"}


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep file: the grid, the shared base config, and where and how runs go.

    Attributes
    ----------
    models, targets : tuple of str
    intermediate : tuple of tuple of str
        Each entry one run's intermediate task list (``()`` = none).
    settings : dict
        Name -> override dict (``{"target_phase.learning_rate": 2e-5}``).
    seeds : tuple of int
    base : TrainConfig
    store, output_root : str
        Absolute paths.
    max_retries : int
        Attempts after the first failure.
    num_cpus : int or None
        CPUs of the local Ray (default: all of the machine).
    resources : dict
        ``num_cpus`` and ``num_gpus`` of each run (GPUs per process; a
        multi-process run gets ``nproc_per_node`` times as many).
    """

    models: tuple[str, ...]
    intermediate: tuple[tuple[str, ...], ...]
    targets: tuple[str, ...]
    settings: dict[str, dict[str, Any]]
    seeds: tuple[int, ...]
    base: TrainConfig
    store: str
    output_root: str
    max_retries: int = 1
    num_cpus: int | None = None
    resources: dict[str, float] = field(default_factory=lambda: {"num_cpus": 1, "num_gpus": 0})
    source: str = "<dict>"


@dataclass(frozen=True)
class SweepRun:
    """One grid point: its name (= directory), grid values and full run config."""

    name: str
    model: str
    intermediate: tuple[str, ...]
    target: str
    setting: str
    seed: int
    config: TrainConfig

    @property
    def run_dir(self) -> Path:
        return Path(self.config.output)

    def row(self) -> dict[str, Any]:
        return {"run": self.name, "model": self.model, "intermediate": ",".join(self.intermediate) or "none",
                "target": self.target, "setting": self.setting, "seed": self.seed,
                "run_dir": str(self.run_dir)}


# ---- parsing ----------------------------------------------------------------------------------


def _unknown(where: str, key: str, known: Sequence[str]) -> ValueError:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    return ValueError(f"unknown key {key!r} in {where}{hint} Keys: {', '.join(known)}")


def _nested(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "c": 2}`` -> ``{"a": {"b": 1}, "c": 2}`` (tables may also be nested already)."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        parts = str(key).split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {key!r} sets a key inside {p!r}, which is also given a value")
        if isinstance(value, Mapping):
            node.setdefault(parts[-1], {}).update(_nested(value))
        else:
            node[parts[-1]] = value
    return out


def _check_reserved(data: Mapping[str, Any], where: str) -> None:
    for key in data:
        if key in _RESERVED:
            raise ValueError(f"{where} sets {key!r}, which the sweep sets for every run: use {_RESERVED[key]}")


def _intermediate(value: Any, i: int) -> tuple[str, ...]:
    if isinstance(value, str):
        if value.strip().lower() in ("none", "", "-"):
            return ()
        return tuple(x.strip() for x in value.split(",") if x.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(x, str) and x.strip() for x in value):
        return tuple(x.strip() for x in value)
    raise ValueError(f"grid.intermediate[{i}]={value!r} is not valid: expected a task list such as "
                     "[\"MNLI\"] or [\"SQuAD-v1.1\", \"MNLI\"], a task name, or \"none\"")


def _list(grid: Mapping[str, Any], key: str, default=None) -> list:
    if key not in grid:
        if default is None:
            raise ValueError(f"grid.{key} is required: the sweep grid needs models and targets")
        return default
    value = grid[key]
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"grid.{key}={value!r} is not valid: expected a list")
    if not value:
        raise ValueError(f"grid.{key} is empty: the grid would have no runs; give at least one value")
    return value


def _path(value: Any, key: str, root: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key}={value!r} is not valid: expected a directory path")
    return str((root / os.path.expanduser(value)).resolve())


def parse_sweep(data: Mapping[str, Any], *, source: str = "<dict>", root=None) -> Sweep:
    """Check a sweep description (the parsed file) and return a :class:`Sweep`.

    Parameters
    ----------
    data : mapping
        Keys ``grid`` (``models``, ``targets``; optional ``intermediate``
        (default ``["none"]``), ``settings`` (default ``{"default": {}}``),
        ``seeds`` (default ``[1]``)), ``base`` (a ``TrainConfig`` table),
        ``output_root`` (required), ``store`` (default
        ``OUTPUT_ROOT/store``), ``max_retries`` (default 1), ``num_cpus``
        (local Ray), ``resources`` (``num_cpus``, ``num_gpus`` per run).
    source : str
        Where ``data`` came from, for error messages.
    root : path, optional
        Relative paths are taken from here (default: the current directory).

    Raises
    ------
    ValueError
        For unknown keys (with a did-you-mean), an empty grid, bad values.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"sweep {source}: expected a table of keys, got {type(data).__name__}")
    root = Path(root or os.getcwd())
    for key in data:
        if key not in _TOP_KEYS:
            raise _unknown(f"sweep {source}", key, _TOP_KEYS)
    if "grid" not in data or not isinstance(data["grid"], Mapping):
        raise ValueError(f"sweep {source}: a [grid] table is required (keys {', '.join(_GRID_KEYS)})")
    grid = data["grid"]
    for key in grid:
        if key not in _GRID_KEYS:
            raise _unknown("[grid]", key, _GRID_KEYS)
    models = _list(grid, "models")
    for i, m in enumerate(models):
        if not isinstance(m, str) or not m.strip():
            raise ValueError(f"grid.models[{i}]={m!r} is not valid: expected a local model directory")
    models = [_path(m, f"grid.models[{i}]", root) for i, m in enumerate(models)]
    targets = _list(grid, "targets")
    for i, t in enumerate(targets):
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"grid.targets[{i}]={t!r} is not valid: expected a target task name")
    inter = [_intermediate(v, i) for i, v in enumerate(_list(grid, "intermediate", ["none"]))]
    seeds = _list(grid, "seeds", [1])
    for i, s in enumerate(seeds):
        if not isinstance(s, int) or isinstance(s, bool):
            raise ValueError(f"grid.seeds[{i}]={s!r} is not valid: expected an integer")
    settings = grid.get("settings", {"default": {}})
    if not isinstance(settings, Mapping):
        raise ValueError(f"grid.settings={settings!r} is not valid: expected a table of named override "
                         "tables, e.g. {full = {}, lr2 = {\"target_phase.learning_rate\" = 2e-5}}")
    if not settings:
        raise ValueError("grid.settings is empty: the grid would have no runs; give at least one (full = {})")
    for name, over in settings.items():
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]*", name):
            raise ValueError(f"grid.settings name {name!r} is not valid: use letters, digits, '_', '-', '.', '+'")
        if not isinstance(over, Mapping):
            raise ValueError(f"grid.settings.{name}={over!r} is not valid: expected a table of overrides")
        _check_reserved(_nested(over), f"grid.settings.{name}")
    for key, values in (("models", models), ("targets", targets), ("seeds", seeds)):
        dup = sorted({v for v in values if values.count(v) > 1}, key=str)
        if dup:
            raise ValueError(f"grid.{key} lists {dup[0]!r} twice")
    base_data = data.get("base", {})
    if not isinstance(base_data, Mapping):
        raise ValueError(f"base={base_data!r} is not valid: expected a table of run settings")
    base_data = _nested(base_data)
    _check_reserved(base_data, "[base]")
    base = _from_mapping(TrainConfig(), base_data, f"sweep {source} [base]")
    for key in ("data_dir",):
        base = replace(base, **{key: _path(getattr(base, key), f"base.{key}", root)})
    if "output_root" not in data:
        raise ValueError(f"sweep {source}: output_root is required (the directory that holds one folder per run)")
    output_root = _path(data["output_root"], "output_root", root)
    store = _path(data.get("store", os.path.join(output_root, "store")), "store", root)
    retries = data.get("max_retries", 1)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise ValueError(f"max_retries={retries!r} is not valid: expected an integer >= 0 "
                         "(attempts after the first failure)")
    ncpu = data.get("num_cpus")
    if ncpu is not None and (not isinstance(ncpu, int) or isinstance(ncpu, bool) or ncpu < 1):
        raise ValueError(f"num_cpus={ncpu!r} is not valid: expected a positive integer (CPUs of the local Ray)")
    resources = {"num_cpus": 1, "num_gpus": 0}
    res = data.get("resources", {})
    if not isinstance(res, Mapping):
        raise ValueError(f"resources={res!r} is not valid: expected a table with num_cpus, num_gpus")
    for key, value in res.items():
        if key not in _RESOURCE_KEYS:
            raise _unknown("[resources]", key, _RESOURCE_KEYS)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"resources.{key}={value!r} is not valid: expected a number >= 0")
        resources[key] = value
    return Sweep(models=tuple(models), intermediate=tuple(inter), targets=tuple(targets),
                 settings={k: dict(v) for k, v in settings.items()}, seeds=tuple(seeds), base=base,
                 store=store, output_root=output_root, max_retries=retries, num_cpus=ncpu,
                 resources=resources, source=source)


def load_sweep(path) -> Sweep:
    """Read a sweep file (``.toml`` or ``.json``); relative paths are from the current directory."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"config={str(path)!r} is not a file: expected a TOML or JSON sweep file")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except ValueError as err:
        raise ValueError(f"config={str(path)!r} is not valid {p.suffix.lstrip('.').upper() or 'TOML'}: "
                         f"{err}") from None
    return parse_sweep(data, source=str(path))


# ---- expansion --------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.+-]+", "-", text.lower()).strip("-") or "x"


def _model_slugs(models: Sequence[str]) -> dict[str, str]:
    names = {m: _slug(Path(m).name) for m in models}
    counts = {n: list(names.values()).count(n) for n in names.values()}
    return {m: n if counts[n] == 1 else f"{n}-{hashlib.sha256(m.encode()).hexdigest()[:6]}"
            for m, n in names.items()}


def expand(sweep: Sweep) -> list[SweepRun]:
    """The sweep's runs in grid order (models, intermediate, targets, settings, seeds).

    Each run's config is ``[base]``, then the setting's overrides, then the
    grid values, validated (task names canonical).  Two runs that would
    write the same results-table key (model name, setting column,
    intermediate task, target task, seed) are refused: a setting that changes
    only hyperparameters must also set ``setting`` (see
    :mod:`xdist.settings`) or ``model_name``, else the store cannot tell the
    runs apart.
    """
    from xdist.train.tasks import get_task

    def canonical(name: str, where: str) -> str:
        try:
            return get_task(name).name
        except (ValueError, KeyError) as err:
            msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
            raise ValueError(f"{where}: {msg}") from None

    slugs = _model_slugs(sweep.models)
    inters = [tuple(canonical(t, "grid.intermediate") for t in inter) for inter in sweep.intermediate]
    targets = [canonical(t, "grid.targets") for t in sweep.targets]
    for key, values in (("intermediate", inters), ("targets", targets)):
        dup = sorted({v for v in values if values.count(v) > 1}, key=str)
        if dup:
            raise ValueError(f"grid.{key} lists {dup[0]!r} twice")
    runs: list[SweepRun] = []
    keys: dict[tuple, SweepRun] = {}
    for model in sweep.models:
        for inter in inters:
            for target in targets:
                for sname, over in sweep.settings.items():
                    cfg0 = _from_mapping(sweep.base, _nested(over), f"grid.settings.{sname}")
                    for seed in sweep.seeds:
                        name = "__".join([slugs[model], "+".join(_slug(t) for t in inter) or "none",
                                          _slug(target), sname, f"s{seed}"])
                        cfg = replace(cfg0, model=model, intermediate=inter, target=target, seed=seed,
                                      output=os.path.join(sweep.output_root, name), store=sweep.store)
                        try:
                            cfg = cfg.validate()
                        except (ValueError, KeyError) as err:
                            msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
                            raise ValueError(f"run {name}: {msg}") from None
                        key = (cfg.name, cfg.setting, ",".join(sorted(cfg.intermediate)), cfg.target, seed)
                        if key in keys:
                            first = keys[key]
                            fix = (f"models {first.model!r} and {model!r} need different model names: drop "
                                   "model_name from [base]" if first.model != model else
                                   f"give the setting {sname!r} its own 'setting' (e.g. 'zero-shot+lora', "
                                   "see xdist.settings) or 'model_name' override")
                            raise ValueError(
                                f"runs {first.name} and {name} would write the same results-table rows "
                                f"(model {cfg.name!r}, setting {cfg.setting!r}, intermediate "
                                f"{key[2] or 'none'!r}, target {cfg.target!r}, seed {seed}): {fix}")
                        keys[key] = SweepRun(name, model, cfg.intermediate, cfg.target, sname, seed, cfg)
                        runs.append(keys[key])
    return runs


def select(runs: Sequence[SweepRun], patterns: Iterable[str] | None) -> list[SweepRun]:
    """Runs whose name matches one of the shell-style ``patterns`` (all when none)."""
    patterns = list(patterns or [])
    if not patterns:
        return list(runs)
    chosen = [r for r in runs if any(fnmatch.fnmatchcase(r.name, p) for p in patterns)]
    if not chosen:
        raise ValueError(f"--runs {' '.join(patterns)!r} matches none of the {len(runs)} runs "
                         f"(e.g. {runs[0].name!r}); use shell patterns such as '*__xnli__*'")
    return chosen


# ---- done, partial, new -----------------------------------------------------------------------


def _json(obj) -> Any:
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


class _StoreIndex:
    """The store's run records by source, read once; a run's scores are read only when needed."""

    def __init__(self, path: str):
        from xdist.store import ResultsStore, is_store

        self.runs: dict[str, list[dict]] = {}
        self.store = None
        if not is_store(path):
            return
        self.store = ResultsStore(path)
        for f in sorted((self.store.path / "runs").glob("*.json")):
            try:
                rec = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            self.runs.setdefault(rec.get("source", ""), []).append(rec)

    def finished(self, run: SweepRun) -> bool:
        """Whether the store holds ``run`` finished, with an evaluation score for every language."""
        from xdist.languages import resolve
        from xdist.store import Run
        from xdist.train.tasks import get_task

        source = f"xdist train --output {os.path.abspath(run.config.output)}"
        config = _json(run.config.identity())
        langs = {resolve(x) for x in (run.config.eval.languages or get_task(run.target).languages)}
        for rec in self.runs.get(source, []):
            if rec.get("config") == config and rec.get("status") == "finished":
                handle = Run(store=self.store, run_id=rec["run_id"], identity=rec["identity"],
                             source=rec["source"], writer="xdist-sweep-check")
                if langs <= {lang for phase, lang in handle.completed() if phase == "eval"}:
                    return True
        return False


def _conflict(run: SweepRun) -> str | None:
    """Keys in which ``RUN_DIR/config.json`` differs from the run's config, or None."""
    path = run.run_dir / "config.json"
    if not path.is_file():
        return None
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return "config.json (unreadable)"
    new = _json({"identity": run.config.identity(), "model": run.config.model,
                 "data_dir": run.config.data_dir})
    old = {k: old.get(k) for k in new}

    def diff(a, b, prefix=""):
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                yield from diff(a.get(k), b.get(k), f"{prefix}{k}.")
        elif a != b:
            yield prefix.rstrip(".").removeprefix("identity.")

    keys = list(diff(old, new))
    return ", ".join(keys[:6]) if keys else None


def _phases_done(run: SweepRun) -> bool:
    from xdist.train.tasks import get_task

    need = []
    if run.config.intermediate:
        need.append(PHASE_DIRS[0])
    if get_task(run.target).format != "retrieval":
        need.append(PHASE_DIRS[1])
    return all((run.run_dir / d / DONE_FILE).is_file() and (run.run_dir / d / "final" / "heads.json").is_file()
               for d in need)


def run_state(run: SweepRun, index: _StoreIndex | None = None) -> str:
    """``"done"``, ``"partial"`` (started: the pipeline resumes it) or ``"new"``.

    See the module docstring for what *done* means.  Raises ``ValueError``
    when the run directory holds a run with another configuration.
    """
    bad = _conflict(run)
    if bad:
        raise ValueError(
            f"run {run.name}: {run.run_dir}/config.json holds a run with a different configuration "
            f"(differs in {bad}): the sweep file changed under the same output_root; use another "
            "output_root, or delete that run directory to start it over")
    if not (run.run_dir / "config.json").is_file():
        return "new"
    index = index or _StoreIndex(run.config.store_path)
    return "done" if _phases_done(run) and index.finished(run) else "partial"


def states(runs: Sequence[SweepRun]) -> dict[str, str]:
    """:func:`run_state` of every run (the store is read once per store)."""
    indexes: dict[str, _StoreIndex] = {}
    out = {}
    for r in runs:
        idx = indexes.get(r.config.store_path)
        if idx is None:
            idx = indexes[r.config.store_path] = _StoreIndex(r.config.store_path)
        out[r.name] = run_state(r, idx)
    return out


# ---- the Ray task -----------------------------------------------------------------------------


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


#: Run by a fresh interpreter between the Ray worker and the run's command (Linux): it asks the
#: kernel to send SIGTERM when its parent (the worker) dies (PR_SET_PDEATHSIG, kept across exec),
#: gives up if the worker is already gone, then execs the command in its own place.  Done here
#: rather than in ``preexec_fn``, which is unsafe in a threaded parent such as a Ray worker.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(128 + signal.SIGTERM)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def _child_command(argv: list[str]) -> list[str]:
    """``argv``, wrapped on Linux so that the run dies with the Ray worker that started it."""
    if not sys.platform.startswith("linux"):
        return list(argv)
    return [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *argv]


def _kill_group(proc: subprocess.Popen, grace: float = 40.0) -> None:
    """SIGTERM the run's process group, SIGKILL after ``grace`` s.

    torchrun starts its workers in sessions of their own, so they are not in
    the group: it passes SIGTERM on to them and waits up to 30 s for them
    before it exits, hence a grace longer than that.
    """
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def execute_run(argv: list[str], run_dir: str, attempt: int, attempts: int) -> dict:
    """Run one attempt of a run in a subprocess, output appended to ``RUN_DIR/train.log``.

    This is the body of the Ray task; a crash or OOM of the training process
    ends this attempt only.  The command runs in its own session, and its
    process group is sent SIGTERM (SIGKILL 40 s later) when the task is
    interrupted; ``torchrun`` passes the signal on to its workers (which it
    starts in sessions of their own).  On Linux the run is also sent SIGTERM
    when the Ray worker dies (:data:`_DIE_WITH_PARENT`).

    Returns
    -------
    dict
        ``returncode``, ``seconds``, ``host``, ``log_offset`` (where this
        attempt's output starts in the log).
    """
    rd = Path(run_dir)
    rd.mkdir(parents=True, exist_ok=True)
    log = rd / LOG_FILE
    host = socket.gethostname()
    start = time.time()
    _write_json(rd / ATTEMPT_FILE, {"attempt": attempt, "state": "running", "host": host, "pid": os.getpid(),
                                    "started": start})
    with open(log, "ab") as fh:
        offset = fh.tell()
        fh.write((f"==== xdist sweep: attempt {attempt} of {attempts} on {host} at "
                  f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(start))}: {' '.join(argv)}\n").encode())
        fh.flush()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # its own session: its process group is signalled as one when the task is interrupted
        proc = subprocess.Popen(_child_command(argv), stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, cwd=str(rd), start_new_session=True)
        try:
            proc.wait()
        except BaseException:  # a cancelled task (KeyboardInterrupt) or a failing worker: no orphans
            _kill_group(proc)
            raise
        fh.write(f"==== xdist sweep: exit status {proc.returncode}\n".encode())
    seconds = time.time() - start
    _write_json(rd / ATTEMPT_FILE, {"attempt": attempt, "state": "ended", "returncode": proc.returncode,
                                    "host": host, "started": start, "seconds": seconds})
    return {"returncode": proc.returncode, "seconds": seconds, "host": host, "log_offset": offset}


def log_tail(run_dir, *, offset: int = 0, lines: int = 15) -> str:
    """The last ``lines`` lines of a run's log from ``offset`` (one attempt's output)."""
    path = Path(run_dir) / LOG_FILE
    if not path.is_file():
        return ""
    with open(path, "rb") as fh:
        fh.seek(max(offset, 0))
        text = fh.read().decode("utf-8", "replace")
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _resources(sweep: Sweep, run: SweepRun) -> dict[str, float]:
    from xdist.train.launch import world_size_of

    n = world_size_of(run.config.distributed)
    cpus = max(float(sweep.resources["num_cpus"]), float(n))
    gpus = float(sweep.resources["num_gpus"]) * n
    return {"num_cpus": cpus, "num_gpus": gpus}


def _check_fits(runs: Sequence[SweepRun], sweep: Sweep, available: Mapping[str, float]) -> None:
    """Refuse runs that ask for more CPUs or GPUs than the local Ray has (Ray would queue them forever)."""
    for run in runs:
        need = _resources(sweep, run)
        for key, ray_key in (("num_cpus", "CPU"), ("num_gpus", "GPU")):
            have = float(available.get(ray_key, 0))
            if need[key] > have:
                raise ValueError(
                    f"run {run.name} asks Ray for {key}={need[key]:g} but the local Ray has {have:g} "
                    f"(resources.{key} of the sweep file, times distributed.nproc_per_node for a multi-process "
                    f"run): lower resources.{key}, or give the local Ray more (num_cpus / --num-cpus; GPUs "
                    "are those of this machine), or use a cluster (--address)")


def _write_run_config(sweep: Sweep, run: SweepRun) -> Path:
    run.run_dir.mkdir(parents=True, exist_ok=True)
    path = run.run_dir / RUN_CONFIG
    _write_json(path, {**run.config.to_dict(),
                       "xdist": {"sweep": sweep.source, "run": run.name, "setting_name": run.setting}})
    return path


# ---- progress ---------------------------------------------------------------------------------


class Progress:
    """Counts of runs done / running / failed / pending: one updating line on a terminal,
    a plain line per change elsewhere (logs, CI)."""

    def __init__(self, total: int, *, stream=None, tty: bool | None = None, skipped: int = 0):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.total = total
        self.skipped = skipped
        self.start = time.time()
        self._last = None

    def line(self, counts: Mapping[str, int]) -> str:
        el = int(time.time() - self.start)
        skip = f" (+{self.skipped} done earlier)" if self.skipped else ""
        return (f"xdist sweep: {counts.get('done', 0)}/{self.total} done{skip}, {counts.get('running', 0)} running, "
                f"{counts.get('failed', 0)} failed, {counts.get('pending', 0)} pending "
                f"[{el // 60}:{el % 60:02d}]")

    def update(self, counts: Mapping[str, int]) -> None:
        key = tuple(sorted(counts.items()))
        if self.tty:
            self.stream.write("\r\x1b[2K" + self.line(counts))
        elif key != self._last:
            self.stream.write(self.line(counts) + "\n")
        self._last = key
        self.stream.flush()

    def event(self, text: str) -> None:
        self.stream.write(("\r\x1b[2K" if self.tty else "") + f"xdist sweep: {text}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


# ---- running ----------------------------------------------------------------------------------


#: How a client is given a Ray cluster's authentication token (Ray token authentication, docs/sweeps.md).
_TOKEN_HELP = ("Give xdist sweep the cluster's token: RAY_AUTH_TOKEN=<token> (`ray get-auth-token` on the head "
               "prints it), or RAY_AUTH_TOKEN_PATH=<file>, or the file ~/.ray/auth_token")


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _connect_error(address: str, err: BaseException) -> str:
    """The message for a cluster that could not be joined: refused for its token, or not there."""
    cause = f"{err} {err.__cause__ or ''}"
    token_set = os.environ.get("RAY_AUTH_MODE", "").strip().lower() == "token"
    if "InvalidAuthToken" in cause or "AuthenticationError" in cause:
        fix = ("check that the token given here is the cluster's (RAY_AUTH_MODE=token is set). " if token_set else
               "set RAY_AUTH_MODE=token in the environment of xdist sweep (with an explicit address or "
               "RAY_ADDRESS, Ray sends a token only when told to). ")
        return (f"address={address!r}: the Ray cluster there refused this client: it uses token "
                f"authentication and the token is missing or wrong; {fix}{_TOKEN_HELP}")
    auth = ("or it refused this client's token: check that the token given here is the cluster's. "
            if token_set else
            "or it refused this client: a cluster with token authentication (Ray's default when the head has "
            "a token) needs RAY_AUTH_MODE=token in the environment of xdist sweep. ")
    return (f"address={address!r}: could not join a Ray cluster there ({_first_line(err)}). Either "
            "none runs there: start one with `ray start --head` and pass its address (HOST:PORT, "
            f"ray://HOST:PORT or 'auto'), or leave --address out for a local Ray; {auth}{_TOKEN_HELP}")


def _init_ray(address: str | None, num_cpus: int | None):
    try:
        import ray
    except ImportError as err:
        raise ValueError(f"{INSTALL_HINT} ({err})") from None
    if ray.is_initialized():
        return ray, False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
    if address:
        if num_cpus is not None:
            raise ValueError("--num-cpus is for a local Ray: a cluster (--address) has its own CPUs")
        try:
            ray.init(address=address, **kwargs)
        except ConnectionError as err:
            raise ValueError(_connect_error(address, err)) from None
        except Exception as err:  # ray.exceptions.AuthenticationError: token mode on, no token here
            if type(err).__name__ != "AuthenticationError":
                raise
            raise ValueError(f"address={address!r}: {_first_line(err)}. {_TOKEN_HELP}") from None
    else:
        ray.init(num_cpus=num_cpus, **kwargs)
    return ray, True


def run_sweep(sweep: Sweep, *, address: str | None = None, num_cpus: int | None = None,
              max_retries: int | None = None, runs: Iterable[str] | None = None, stream=None,
              tty: bool | None = None, poll: float = 1.0):
    """Run every run of ``sweep`` that is not done; return one row per run.

    Parameters
    ----------
    sweep : Sweep
    address : str, optional
        A Ray cluster (``HOST:PORT``, ``ray://HOST:10001`` or ``auto``);
        default a local Ray (or the one already initialised in this process).
        A cluster with token authentication needs ``RAY_AUTH_MODE=token`` and
        its token (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or
        ``~/.ray/auth_token``) in this process's environment; a refused or
        unreachable cluster is a ``ValueError`` saying which and what to do
        (docs/sweeps.md).
    num_cpus : int, optional
        CPUs of the local Ray (default ``sweep.num_cpus``, else all).
    max_retries : int, optional
        Overrides ``sweep.max_retries``.
    runs : iterable of str, optional
        Shell patterns: only the runs whose names match.
    stream : file, optional
        Where progress goes (default stderr); ``tty`` forces the display.

    Returns
    -------
    pandas.DataFrame
        ``run, model, intermediate, target, setting, seed, run_dir, status``
        (``done``, ``skipped`` = done earlier, ``failed``), ``attempts``,
        ``seconds``, ``returncode``, ``log``; also written to
        ``OUTPUT_ROOT/sweep-summary.json``.

    Examples
    --------
    >>> from xdist.train.sweep import load_sweep, run_sweep
    >>> table = run_sweep(load_sweep("sweep.toml"))  # doctest: +SKIP
    >>> (table["status"] == "failed").any()  # doctest: +SKIP
    False
    """
    import pandas as pd

    retries = sweep.max_retries if max_retries is None else max_retries
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise ValueError(f"max_retries={retries!r} is not valid: expected an integer >= 0")
    chosen = select(expand(sweep), runs)
    state = states(chosen)  # raises on a changed configuration before anything runs
    rows = {r.name: {**r.row(), "status": "skipped" if state[r.name] == "done" else "pending",
                     "attempts": 0, "seconds": 0.0, "returncode": None,
                     "log": str(r.run_dir / LOG_FILE)} for r in chosen}
    todo = [r for r in chosen if state[r.name] != "done"]
    show = Progress(len(todo), stream=stream, tty=tty, skipped=len(chosen) - len(todo))
    Path(sweep.output_root).mkdir(parents=True, exist_ok=True)
    if todo:
        from xdist.store import ResultsStore
        from xdist.train.launch import train_command

        ResultsStore(sweep.store, create=True)  # created once here, not raced by the first runs
        # the sweep file's num_cpus sizes a local Ray; a cluster (--address) has its own CPUs
        local_cpus = sweep.num_cpus if num_cpus is None else num_cpus
        ray, owned = _init_ray(address, num_cpus if address else local_cpus)
        task = ray.remote(execute_run)
        inflight: dict[Any, SweepRun] = {}
        offsets: dict[str, int] = {}

        def submit(run: SweepRun) -> None:
            rows[run.name]["attempts"] += 1
            argv = train_command(_write_run_config(sweep, run), run.config.distributed)
            ref = task.options(max_retries=0, name=f"xdist-sweep:{run.name}", **_resources(sweep, run)).remote(
                argv, str(run.run_dir), rows[run.name]["attempts"], retries + 1)
            inflight[ref] = run

        started: dict[str, int] = {}  # run name -> the attempt seen running (its task wrote ATTEMPT_FILE)

        def counts() -> dict[str, int]:
            c = {"done": 0, "failed": 0, "running": 0, "pending": 0}
            for run in inflight.values():
                attempt = rows[run.name]["attempts"]
                if started.get(run.name) != attempt and _running(run, attempt):
                    started[run.name] = attempt
            for run in todo:
                st = rows[run.name]["status"]
                if st == "pending" and started.get(run.name) == rows[run.name]["attempts"]:
                    st = "running"
                c[st] += 1
            return c

        try:
            if address is None:  # a local Ray never grows: a run asking for more would wait forever
                _check_fits(todo, sweep, ray.cluster_resources())
            for run in todo:
                (run.run_dir / ATTEMPT_FILE).unlink(missing_ok=True)
                submit(run)
            show.update(counts())
            while inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=poll)
                for ref in ready:
                    run = inflight.pop(ref)
                    row = rows[run.name]
                    try:
                        res = ray.get(ref)
                        rc, reason = res["returncode"], f"exit status {res['returncode']}"
                        row["seconds"] += res["seconds"]
                        offsets[run.name] = res["log_offset"]
                    except Exception as err:  # noqa: BLE001 - a worker crash is one failed attempt
                        rc, reason = None, f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
                    row["returncode"] = rc
                    ok = rc == 0 and run_state(run) == "done"
                    if rc == 0 and not ok:
                        reason = "exit status 0 but the run is not done (phases or store rows missing)"
                    if ok:
                        row["status"] = "done"
                        show.event(f"{run.name}: done ({row['seconds']:.0f} s)")
                    elif row["attempts"] <= retries:
                        show.event(f"{run.name}: attempt {row['attempts']} failed ({reason}); retrying")
                        submit(run)
                    else:
                        row["status"] = "failed"
                        tail = log_tail(run.run_dir, offset=offsets.get(run.name, 0))
                        show.event(f"{run.name}: FAILED after {row['attempts']} attempt(s) ({reason}); "
                                   f"log {run.run_dir / LOG_FILE}; last lines:\n"
                                   + "\n".join("    " + x for x in tail.splitlines()))
                show.update(counts())
        except KeyboardInterrupt:
            for ref in inflight:
                ray.cancel(ref, force=True)
            raise
        finally:
            show.close()
            if owned:
                ray.shutdown()
    table = pd.DataFrame(list(rows.values()))
    table["seed"] = table["seed"].astype(int)
    _write_json(Path(sweep.output_root) / SUMMARY_FILE,
                {"sweep": sweep.source, "store": sweep.store, "written": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                      time.gmtime()),
                 "runs": table.to_dict(orient="records")})
    return table


def _running(run: SweepRun, attempt: int) -> bool:
    try:
        info = json.loads((run.run_dir / ATTEMPT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return info.get("attempt") == attempt and info.get("state") == "running"


def dry_run(sweep: Sweep, *, runs: Iterable[str] | None = None):
    """The runs a sweep would start, without starting anything: one row per run with ``state``
    (``done``, ``partial``, ``new``), the resources and the command line.

    Examples
    --------
    >>> from xdist.train.sweep import parse_sweep, dry_run
    >>> s = parse_sweep({"output_root": "/tmp/xdist-doc-sweep", "grid": {"models": ["/m/xlmr"],
    ...                  "targets": ["XNLI", "PAWS-X"]}})
    >>> dry_run(s)[["run", "state", "num_gpus"]].values.tolist()
    [['xlmr__none__xnli__default__s1', 'new', 0.0], ['xlmr__none__paws-x__default__s1', 'new', 0.0]]
    """
    import pandas as pd

    from xdist.train.launch import FSDP_THRESHOLD, count_parameters, train_command

    chosen = select(expand(sweep), runs)
    state = states(chosen)
    out = []
    for r in chosen:
        res = _resources(sweep, r)
        n = count_parameters(r.model)
        row = {**r.row(), "state": state[r.name], **res,
               "command": " ".join(train_command(r.run_dir / RUN_CONFIG, r.config.distributed, python="python"))}
        row["parameters"] = n
        row["note"] = ("FSDP suggested: >= 1B parameters; set distributed.launcher and nproc_per_node"
                       if n and n >= FSDP_THRESHOLD and r.config.distributed.launcher == "none" else "")
        out.append(row)
    df = pd.DataFrame(out)
    df["parameters"] = df["parameters"].astype("Int64")
    return df


# ---- command line -----------------------------------------------------------------------------


def add_parser(sub):
    """Register ``sweep`` on ``sub`` (from ``ArgumentParser.add_subparsers``)."""
    s = sub.add_parser(
        "sweep",
        help="a grid of xdist train runs (models x tasks x settings x seeds) on Ray, resumable",
        description=(
            "Run every grid point of a sweep file (TOML or JSON, see docs/sweeps.md) as an `xdist train` "
            "run in its own directory under output_root, on a local Ray (default) or a Ray cluster "
            "(--address), all writing to one results store. Failed runs are retried and reported; the "
            "others go on. Running the same command again skips finished runs and resumes the others. "
            "Exit status 1 when a run finally failed."
        ),
    )
    s.add_argument("config", metavar="CONFIG", help="sweep file (.toml or .json)")
    s.add_argument("--dry-run", action="store_true", help="list the runs, their state and commands; run nothing")
    s.add_argument("--address", metavar="ADDR",
                   help="Ray cluster address (HOST:PORT, ray://HOST:10001 or auto); a cluster with token "
                        "authentication also needs RAY_AUTH_MODE=token and its token (RAY_AUTH_TOKEN)")
    s.add_argument("--num-cpus", type=int, metavar="N",
                   help="CPUs of the local Ray (default: sweep num_cpus, else all)")
    s.add_argument("--max-retries", type=int, metavar="N", help="attempts after a failure (default: the file's, 1)")
    s.add_argument("--runs", action="append", metavar="PATTERN",
                   help="only runs whose name matches this shell pattern, e.g. '*__xnli__*' (repeatable)")
    s.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="how --dry-run and the final summary are printed")
    s.set_defaults(func=_cmd_sweep)
    return s


def _cmd_sweep(args) -> int:
    sweep = load_sweep(args.config)
    if args.num_cpus is not None and args.num_cpus < 1:
        raise ValueError(f"--num-cpus {args.num_cpus} is not valid: expected a positive integer")
    if args.dry_run:
        df = dry_run(sweep, runs=args.runs)
        cols = ["run", "state", "num_cpus", "num_gpus", "parameters", "note", "command"]
        _print(df if args.format != "table" else df[cols], args.format)
        return 0
    table = run_sweep(sweep, address=args.address, num_cpus=args.num_cpus, max_retries=args.max_retries,
                      runs=args.runs)
    _print(table[["run", "status", "attempts", "seconds", "log"]] if args.format == "table" else table,
           args.format)
    counts = table["status"].value_counts().to_dict()
    sys.stderr.write("xdist sweep: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("done", "skipped", "failed"))
                     + f"; results store {sweep.store} (xdist correlate --results {sweep.store})\n")
    return 1 if counts.get("failed") else 0


def _print(df, fmt: str) -> None:
    if fmt == "csv":
        text = df.to_csv(index=False)
    elif fmt == "json":
        text = df.to_json(orient="records", indent=1)
    else:
        import pandas as pd

        with pd.option_context("display.max_colwidth", 200, "display.width", 250):
            text = df.to_string(index=False)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
