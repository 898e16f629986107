"""Run configuration of ``xdist train``: defaults, config files, and flag overrides.

A run is described by one :class:`TrainConfig`.  Values come, in increasing
precedence, from the defaults below, a config file (TOML or JSON, the same
keys, hyperparameters in ``[intermediate_phase]``, ``[target_phase]`` and ``[eval]``
tables), and command-line flags (``--seed 2``, ``--set target_phase.learning_rate=1e-5``).
The resolved configuration is written next to the run's output and into the
results store with every score, so a number can always be traced to the
settings that made it.

This module does not import torch.

Examples
--------
>>> from xdist.train.config import TrainConfig, apply_overrides
>>> cfg = TrainConfig(model="models/xlmr", target="XNLI", intermediate=("MNLI",))
>>> cfg.target_phase.learning_rate
1e-05
>>> cfg = apply_overrides(cfg, ["target_phase.learning_rate=2e-5", "seed=3"])
>>> cfg.target_phase.learning_rate, cfg.seed
(2e-05, 3)
>>> apply_overrides(cfg, ["target_phase.lr=1"])
Traceback (most recent call last):
...
ValueError: --set target_phase.lr=1: unknown key 'lr' in [target_phase]; did you mean 'learning_rate'? Keys: ...
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

__all__ = [
    "EvalConfig",
    "PhaseConfig",
    "TrainConfig",
    "apply_overrides",
    "load_config",
]

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SAMPLING = ("proportional", "temperature", "uniform")
POOLINGS = ("mean", "cls", "max")


#: Sources of the defaults (see docs/training.md).
JIANT_XSTILTS = "nyu-mll/jiant guides/projects/xstilts.md + jiant/proj/simple/runscript.py (daa5a258)"
JIANT_XTREME = "nyu-mll/jiant jiant/scripts/benchmarks/xtreme/subscripts/{c_tokenize_and_cache,d_write_configs,e_run_models}.sh (daa5a258)"

#: Target-phase values that depend on the task: X-STILTs' released recipe (jiant's XTREME
#: scripts): epochs, gradient accumulation (per-device batch 4), maximum length.
TARGET_DEFAULTS: dict[str, dict[str, Any]] = {
    "XNLI": {"num_train_epochs": 2.0, "gradient_accumulation_steps": 8, "max_length": 256},
    "PAWS-X": {"num_train_epochs": 5.0, "gradient_accumulation_steps": 8, "max_length": 256},
    "UD-POS": {"num_train_epochs": 10.0, "gradient_accumulation_steps": 8, "max_length": 256},
    "PAN-X": {"num_train_epochs": 10.0, "gradient_accumulation_steps": 8, "max_length": 256},
    "XQuAD": {"num_train_epochs": 2.0, "gradient_accumulation_steps": 4, "max_length": 384},
    "MLQA": {"num_train_epochs": 2.0, "gradient_accumulation_steps": 4, "max_length": 384},
    "TyDiQA-GoldP": {"num_train_epochs": 2.0, "gradient_accumulation_steps": 4, "max_length": 384},
}
#: Values for tasks not listed above and for the intermediate phase (jiant's simple runscript).
GENERIC_DEFAULTS: dict[str, Any] = {"num_train_epochs": 3.0, "gradient_accumulation_steps": 1, "max_length": 256}
QA_MAX_LENGTH = 384
_TASK_DEPENDENT = ("num_train_epochs", "gradient_accumulation_steps", "max_length")


@dataclass(frozen=True)
class PhaseConfig:
    """Hyperparameters of one training phase (intermediate or target).

    Defaults are X-STILTs' released recipe for XLM-R (jiant; Phang et al.
    2020 do not print them): AdamW with weight decay 0.01, learning rate
    1e-5 with 10% linear warmup, per-device batch 4, gradient clipping 1.0.
    ``None`` in ``num_train_epochs``, ``gradient_accumulation_steps`` and
    ``max_length`` means "the task's default" (:data:`TARGET_DEFAULTS`, else
    :data:`GENERIC_DEFAULTS`; extractive QA 384 tokens); they are filled in
    by :meth:`TrainConfig.validate`.  See ``docs/training.md`` for sources.
    """

    learning_rate: float = 1e-5
    num_train_epochs: float | None = None
    max_steps: int = -1
    per_device_batch_size: int = 4
    gradient_accumulation_steps: int | None = None
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    max_length: int | None = None
    doc_stride: int = 128
    max_query_length: int = 64
    max_train_examples: int | None = None
    max_dev_examples: int | None = None  # dev examples used for model selection
    eval_steps: int | None = None  # None: evaluate (and save) once per epoch
    early_stopping_patience: int | None = None  # evaluations without improvement before stopping
    save_total_limit: int = 2
    sampling: str = "proportional"  # multi-task: how batches pick a task
    temperature: float = 2.0  # for sampling == "temperature": p_i ~ n_i ** (1 / T)
    model_selection: bool = True  # keep the checkpoint best on English dev
    logging_steps: int = 50

    def resolve(self, tasks) -> PhaseConfig:
        """Fill the task-dependent ``None`` values for ``tasks`` (Task objects)."""
        values = dict(GENERIC_DEFAULTS)
        if len(tasks) == 1 and tasks[0].name in TARGET_DEFAULTS:
            values.update(TARGET_DEFAULTS[tasks[0].name])
        elif any(t.format == "extractive_qa" for t in tasks):
            values["max_length"] = QA_MAX_LENGTH
        return replace(self, **{k: values[k] for k in _TASK_DEPENDENT if getattr(self, k) is None})

    def validate(self, section: str) -> None:
        def bad(key, value, accepted):
            raise ValueError(f"{section}.{key}={value!r} is not valid: expected {accepted}")

        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            bad("learning_rate", self.learning_rate, "a positive number")
        if not ((self.num_train_epochs or 0) > 0 or self.max_steps > 0):
            bad("num_train_epochs", self.num_train_epochs, "> 0 (or max_steps > 0)")
        for key in ("per_device_batch_size", "gradient_accumulation_steps", "max_length",
                    "doc_stride", "max_query_length", "save_total_limit", "logging_steps"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                bad(key, v, "a positive integer")
        for key in ("max_train_examples", "max_dev_examples", "eval_steps", "early_stopping_patience"):
            v = getattr(self, key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                bad(key, v, "a positive integer or none")
        if not 0 <= self.warmup_ratio < 1:
            bad("warmup_ratio", self.warmup_ratio, "a number in [0, 1)")
        if self.weight_decay < 0:
            bad("weight_decay", self.weight_decay, "a number >= 0")
        if self.sampling not in SAMPLING:
            bad("sampling", self.sampling, f"one of {list(SAMPLING)}")
        if not self.temperature > 0:
            bad("temperature", self.temperature, "a positive number")


def _default_intermediate() -> PhaseConfig:
    # jiant's simple runscript as the X-STILTs guide calls it: no validation, last checkpoint.
    return PhaseConfig(model_selection=False)


def _default_target() -> PhaseConfig:
    # jiant's XTREME recipe: validate every 1000 steps on 500 English dev examples, stop after
    # 30 evaluations without improvement, keep the best.
    return PhaseConfig(eval_steps=1000, max_dev_examples=500, early_stopping_patience=30)


@dataclass(frozen=True)
class EvalConfig:
    """How phase 3 evaluates every language."""

    batch_size: int = 128
    languages: tuple[str, ...] | None = None  # None: every language of the target task
    split: str | None = None  # None: the split XTREME reports (Task.eval_split)
    batched_languages: bool = True  # one length-sorted pass over all languages
    retrieval_layer: int | None = None  # None: XTREME's layer for the architecture
    retrieval_pooling: str = "mean"
    retrieval_max_length: int = 512

    def validate(self) -> None:
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"eval.batch_size={self.batch_size!r} is not valid: expected a positive integer")
        if self.retrieval_pooling not in POOLINGS:
            raise ValueError(
                f"eval.retrieval_pooling={self.retrieval_pooling!r} is not valid: expected one of {list(POOLINGS)}"
            )


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one ``xdist train`` run.

    Parameters
    ----------
    model : str
        Local model directory (never a hub name: nothing is downloaded).
    target : str
        Target task (registry name or alias).
    intermediate : tuple of str
        English intermediate task(s); empty skips phase 1; several train one
        shared encoder with one head per task.
    data_dir : str
        Root of the task data (layouts of :mod:`xdist.train.tasks`).
    output : str
        Run directory (phase checkpoints, ``config.json``; the results store
        at ``output/store`` unless ``store`` is given).
    model_name : str, optional
        Name in the results table (default: the model directory's name).
    seed : int
    setting : str
        The results table's ``setting`` (``"zero-shot"``).
    layout : str, optional
        Data layout to read (default: the first one present under ``data_dir``).
    precision : {"auto", "bf16", "fp16", "fp32"}
        ``auto``: bf16 on GPUs that support it, else fp16 on GPU, fp32 on CPU.
    attn_implementation : str
        ``"sdpa"`` (default) or ``"eager"``.
    """

    model: str = ""
    target: str = ""
    intermediate: tuple[str, ...] = ()
    data_dir: str = "data/tasks"
    output: str = "runs/xdist-train"
    store: str | None = None
    model_name: str | None = None
    seed: int = 1
    setting: str = "zero-shot"
    layout: str | None = None
    precision: str = "auto"
    attn_implementation: str = "sdpa"
    group_by_length: bool = True
    dataloader_num_workers: int = 0
    intermediate_phase: PhaseConfig = field(default_factory=_default_intermediate)
    target_phase: PhaseConfig = field(default_factory=_default_target)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def validate(self) -> TrainConfig:
        """Check every value; return the config with task names made canonical."""
        from xdist.train.tasks import get_task

        if not self.model:
            raise ValueError("model is required: give a local model directory (--model PATH)")
        if not self.target:
            raise ValueError("target is required: give a target task (--target TASK)")
        target = get_task(self.target)
        inter = tuple(get_task(t).name for t in self.intermediate)
        if len(set(inter)) != len(inter):
            raise ValueError(f"intermediate={list(self.intermediate)!r} names a task twice")
        for t in inter:
            if get_task(t).format == "retrieval":
                raise ValueError(f"intermediate={t!r} is a retrieval task: it has no training data")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed={self.seed!r} is not valid: expected an integer")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision={self.precision!r} is not valid: expected one of {list(PRECISIONS)}")
        if self.attn_implementation not in ("sdpa", "eager", "flash_attention_2"):
            raise ValueError(
                f"attn_implementation={self.attn_implementation!r} is not valid: expected 'sdpa', 'eager' "
                "or 'flash_attention_2'"
            )
        if not self.setting or "\n" in self.setting:
            raise ValueError(f"setting={self.setting!r} is not valid: expected a non-empty one-line label")
        inter_phase = self.intermediate_phase.resolve([get_task(t) for t in inter]) if inter else \
            self.intermediate_phase
        target_phase = self.target_phase.resolve([target])
        if inter:
            inter_phase.validate("intermediate_phase")
        if target.format != "retrieval":
            target_phase.validate("target_phase")
        self.eval.validate()
        return replace(self, target=target.name, intermediate=inter, intermediate_phase=inter_phase,
                       target_phase=target_phase)

    @property
    def store_path(self) -> str:
        return self.store or os.path.join(self.output, "store")

    @property
    def name(self) -> str:
        return self.model_name or Path(self.model.rstrip("/")).name

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["intermediate"] = list(self.intermediate)
        if d["eval"]["languages"] is not None:
            d["eval"]["languages"] = list(d["eval"]["languages"])
        return d

    def identity(self) -> dict[str, Any]:
        """What defines the run's results (not where files go): the store's config."""
        d = self.to_dict()
        for key in ("output", "store", "data_dir", "dataloader_num_workers"):
            d.pop(key)
        d["eval"].pop("batch_size")
        d["eval"].pop("batched_languages")
        return d


_SECTIONS = {"intermediate_phase": "intermediate_phase", "target_phase": "target_phase", "eval": "eval"}
_SECTION_TYPES = {"intermediate_phase": PhaseConfig, "target_phase": PhaseConfig, "eval": EvalConfig}


def _keys(cls) -> list[str]:
    return [f.name for f in fields(cls)]


def _unknown(where: str, key: str, cls, prefix: str) -> ValueError:
    keys = _keys(cls)
    close = [_ALIASES[key]] if _ALIASES.get(key) in keys else difflib.get_close_matches(key, keys, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    return ValueError(f"{prefix}unknown key {key!r} in {where}{hint} Keys: {', '.join(keys)}")


_ALIASES = {"lr": "learning_rate", "epochs": "num_train_epochs", "batch_size": "per_device_batch_size",
            "max_seq_length": "max_length", "warmup": "warmup_ratio", "grad_accum": "gradient_accumulation_steps"}


def _coerce(value: Any, current: Any, annotation: str, key: str, prefix: str) -> Any:
    """Convert a string from the command line to the type of the field."""
    if not isinstance(value, str):
        if "tuple" in annotation and isinstance(value, list):
            return tuple(value)
        return value
    text = value.strip()
    if text.lower() in ("none", "null") and ("None" in annotation or current is None):
        return None
    if "tuple" in annotation:
        return tuple(x.strip() for x in text.split(",") if x.strip())
    if "bool" in annotation:
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"{prefix}{key}={value!r} is not valid: expected true or false")
    if "int" in annotation and "float" not in annotation:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{prefix}{key}={value!r} is not valid: expected an integer") from None
    if "float" in annotation:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{prefix}{key}={value!r} is not valid: expected a number") from None
    return text


def _update(obj, values: Mapping[str, Any], where: str, prefix: str = ""):
    changes = {}
    annotations = {f.name: str(f.type) for f in fields(obj)}
    for key, value in values.items():
        if key not in annotations:
            raise _unknown(where, key, type(obj), prefix)
        if key in _SECTION_TYPES:
            if not isinstance(value, Mapping):
                raise ValueError(f"{prefix}{key} must be a table of keys, got {value!r}")
            changes[key] = _update(getattr(obj, key), value, f"[{key}]", prefix)
            continue
        changes[key] = _coerce(value, getattr(obj, key), annotations[key], key, prefix)
    return replace(obj, **changes)


def _from_mapping(cfg: TrainConfig, data: Mapping[str, Any], where: str) -> TrainConfig:
    flat = {}
    for key, value in data.items():
        flat[_SECTIONS.get(key, key)] = value
    return _update(cfg, flat, where, prefix=f"{where}: ")


def load_config(path, base: TrainConfig | None = None) -> TrainConfig:
    """Read a TOML or JSON config file on top of ``base`` (default: the defaults).

    Top-level keys are :class:`TrainConfig` fields; ``[intermediate_phase]``,
    ``[target_phase]`` and ``[eval]`` hold :class:`PhaseConfig` / :class:`EvalConfig`
    fields.  A ``config.json`` written by a run is a valid config file.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"config={str(path)!r} is not a file: expected a TOML or JSON config file")
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"config={str(path)!r} is not valid JSON: {err}") from None
    else:
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"config={str(path)!r} is not valid TOML: {err}") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"config={str(path)!r} must hold a table of keys")
    data = {k: v for k, v in data.items() if k != "xdist"}  # provenance block of written configs
    return _from_mapping(base or TrainConfig(), data, str(path))


def apply_overrides(cfg: TrainConfig, overrides: Iterable[str]) -> TrainConfig:
    """Apply ``KEY=VALUE`` overrides (``seed=2``, ``target_phase.learning_rate=1e-5``)."""
    for item in overrides:
        prefix = f"--set {item}: "
        if "=" not in item:
            raise ValueError(f"--set {item!r} is not valid: expected KEY=VALUE (e.g. target_phase.learning_rate=1e-5)")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        if len(parts) == 1:
            cfg = _update(cfg, {parts[0]: value}, "the run config", prefix)
        elif len(parts) == 2 and parts[0] in _SECTIONS:
            section = _SECTIONS[parts[0]]
            sub = _update(getattr(cfg, section), {parts[1]: value}, f"[{parts[0]}]", prefix)
            cfg = replace(cfg, **{section: sub})
        else:
            raise ValueError(
                f"--set {item!r} is not valid: KEY is a run field or SECTION.KEY with SECTION one of "
                f"{list(_SECTIONS)}"
            )
    return cfg
