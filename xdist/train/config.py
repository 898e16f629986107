"""Run configuration of ``xdist train``: defaults, config files, and flag overrides.

A run is described by one :class:`TrainConfig`.  Values come, in increasing
precedence, from the defaults below, a config file (TOML or JSON, the same
keys, hyperparameters in ``[intermediate]``, ``[target]`` and ``[eval]``
tables), and command-line flags (``--seed 2``, ``--set target.learning_rate=1e-5``).
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
>>> cfg = apply_overrides(cfg, ["target.learning_rate=2e-5", "seed=3"])
>>> cfg.target_phase.learning_rate, cfg.seed
(2e-05, 3)
>>> apply_overrides(cfg, ["target.lr=1"])
Traceback (most recent call last):
...
ValueError: --set target.lr=1: unknown key 'lr' in [target]; did you mean 'learning_rate'? Keys: ...
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


@dataclass(frozen=True)
class PhaseConfig:
    """Hyperparameters of one training phase (intermediate or target).

    Defaults follow the replication settings of Phang et al. (2020) for
    XLM-R: AdamW, learning rate 1e-5, linear decay after warmup, batch 32
    (``per_device_batch_size * gradient_accumulation_steps * devices``), model
    selection on the English development set after every epoch; see
    ``docs/training.md`` for the sources and the per-task values.
    """

    learning_rate: float = 1e-5
    num_train_epochs: float = 3.0
    max_steps: int = -1
    per_device_batch_size: int = 32
    gradient_accumulation_steps: int = 1
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    max_length: int = 128
    doc_stride: int = 128
    max_query_length: int = 64
    max_train_examples: int | None = None
    max_dev_examples: int | None = None
    eval_steps: int | None = None  # None: evaluate and save once per epoch
    save_total_limit: int = 2
    sampling: str = "proportional"  # multi-task: how batches pick a task
    temperature: float = 2.0  # for sampling == "temperature": p_i ~ n_i ** (1 / T)
    model_selection: bool = True  # keep the checkpoint best on English dev
    logging_steps: int = 50

    def validate(self, section: str) -> None:
        def bad(key, value, accepted):
            raise ValueError(f"{section}.{key}={value!r} is not valid: expected {accepted}")

        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            bad("learning_rate", self.learning_rate, "a positive number")
        if not (self.num_train_epochs > 0 or self.max_steps > 0):
            bad("num_train_epochs", self.num_train_epochs, "> 0 (or max_steps > 0)")
        for key in ("per_device_batch_size", "gradient_accumulation_steps", "max_length",
                    "doc_stride", "max_query_length", "save_total_limit", "logging_steps"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                bad(key, v, "a positive integer")
        for key in ("max_train_examples", "max_dev_examples", "eval_steps"):
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
    return PhaseConfig(num_train_epochs=2.0)


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
    target_phase: PhaseConfig = field(default_factory=PhaseConfig)
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
        self.intermediate_phase.validate("intermediate")
        self.target_phase.validate("target")
        self.eval.validate()
        return replace(self, target=target.name, intermediate=inter)

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


_SECTIONS = {"intermediate": "intermediate_phase", "target": "target_phase", "eval": "eval"}
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

    Top-level keys are :class:`TrainConfig` fields; ``[intermediate]``,
    ``[target]`` and ``[eval]`` hold :class:`PhaseConfig` / :class:`EvalConfig`
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
    """Apply ``KEY=VALUE`` overrides (``seed=2``, ``target.learning_rate=1e-5``)."""
    for item in overrides:
        prefix = f"--set {item}: "
        if "=" not in item:
            raise ValueError(f"--set {item!r} is not valid: expected KEY=VALUE (e.g. target.learning_rate=1e-5)")
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
