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
    "AdapterConfig",
    "DistributedConfig",
    "derive_setting",
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


LAUNCHERS = ("none", "torchrun", "accelerate")
FSDP_OPTIONS = ("full_shard", "shard_grad_op", "auto_wrap", "offload")  # FSDP2 subset of TrainingArguments.fsdp


@dataclass(frozen=True)
class DistributedConfig:
    """How a run uses several GPUs (``[distributed]``; see :mod:`xdist.train.launch`).

    ``launcher``: ``"none"`` (one process), ``"torchrun"`` or ``"accelerate"``
    (``xdist sweep`` starts the run with it, one process per GPU: DDP);
    ``nproc_per_node``: processes (GPUs); ``fsdp``: ``"auto"`` (FSDP for models of
    1B parameters and more when there are several processes), ``"off"``, or a
    ``TrainingArguments.fsdp`` value such as ``"full_shard auto_wrap"``;
    ``fsdp_layer_cls``: the layer class to wrap (default: the encoder's
    ``_no_split_modules``).
    """

    launcher: str = "none"
    nproc_per_node: int = 1
    fsdp: str = "auto"
    fsdp_layer_cls: str | None = None

    def validate(self) -> None:
        if self.launcher not in LAUNCHERS:
            raise ValueError(f"distributed.launcher={self.launcher!r} is not valid: expected one of {list(LAUNCHERS)}")
        n = self.nproc_per_node
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"distributed.nproc_per_node={n!r} is not valid: expected a positive integer")
        if self.launcher == "none" and n > 1:
            raise ValueError(f"distributed.nproc_per_node={n} needs distributed.launcher 'torchrun' or 'accelerate'")
        tokens = self.fsdp.split() if isinstance(self.fsdp, str) else None
        if not tokens or (self.fsdp not in ("auto", "off") and not set(tokens) <= set(FSDP_OPTIONS)):
            raise ValueError(f"distributed.fsdp={self.fsdp!r} is not valid: expected 'auto', 'off' or options "
                             f"from {list(FSDP_OPTIONS)} such as 'full_shard auto_wrap'")


ADAPTER_METHODS = ("full", "lora")
ADAPTER_SHARING = ("per-task", "shared")


@dataclass(frozen=True)
class AdapterConfig:
    """Full fine-tuning or LoRA adapters (``[adapters]``; see :mod:`xdist.train.adapters`).

    ``method``: ``"full"`` (default: every encoder weight trains) or
    ``"lora"`` (the encoder is frozen; LoRA adapters and the heads train).
    ``sharing``: ``"per-task"`` (one adapter per intermediate task) or
    ``"shared"`` (one adapter for all of them); the target task gets its own
    adapter, stacked on the intermediate one(s).  ``lora_r``, ``lora_alpha``,
    ``lora_dropout``: rank, scaling numerator and dropout of every adapter
    (r 8 and alpha 16 as Hu et al.'s RoBERTa-large GLUE scripts,
    microsoft/LoRA ``examples/NLU/roberta_large_*.sh``; dropout 0.1 is
    xdist's choice, those scripts use none).
    ``target_modules``: the adapted layers; ``None`` is the architecture's
    attention query and value projections (PEFT's table), ``("all-linear",)``
    every linear layer.  ``learning_rate``: the learning rate of both phases
    of a LoRA run (3e-4, those scripts' value; LoRA needs far more than full
    fine-tuning's 1e-5); ``None`` keeps the phases' own.
    Ignored by full fine-tuning.
    """

    method: str = "full"
    sharing: str = "per-task"
    lora_r: int = 8
    lora_alpha: float = 16.0
    lora_dropout: float = 0.1
    target_modules: tuple[str, ...] | None = None
    learning_rate: float | None = 3e-4

    def validate(self) -> None:
        def bad(key, value, accepted):
            raise ValueError(f"adapters.{key}={value!r} is not valid: expected {accepted}")

        if self.method not in ADAPTER_METHODS:
            extra = (" (bottleneck adapters need AdapterHub's `adapters`, which requires transformers 4.x)"
                     if self.method in ("bottleneck", "pfeiffer", "houlsby", "adapter") else "")
            bad("method", self.method, f"one of {list(ADAPTER_METHODS)}{extra}")
        if self.sharing not in ADAPTER_SHARING:
            bad("sharing", self.sharing, f"one of {list(ADAPTER_SHARING)}")
        if isinstance(self.lora_r, bool) or not isinstance(self.lora_r, int) or self.lora_r < 1:
            bad("lora_r", self.lora_r, "a positive integer")
        if isinstance(self.lora_alpha, bool) or not isinstance(self.lora_alpha, (int, float)) or self.lora_alpha <= 0:
            bad("lora_alpha", self.lora_alpha, "a positive number")
        d = self.lora_dropout
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d < 1:
            bad("lora_dropout", d, "a number in [0, 1)")
        tm = self.target_modules
        if tm is not None and (not isinstance(tm, tuple) or not tm
                               or not all(isinstance(m, str) and m.strip() for m in tm)):
            bad("target_modules", tm, "module names (e.g. query,value), all-linear, or none for the "
                                      "architecture's default")
        if tm is not None and "all-linear" in tm and len(tm) > 1:  # PEFT would read it as a module name
            bad("target_modules", tm, "'all-linear' alone (it already adapts every linear layer), or module "
                                      "names without it")
        lr = self.learning_rate
        if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0):
            bad("learning_rate", lr, "a positive number, or none to keep each phase's learning_rate")

    @property
    def setting_modifier(self) -> str | None:
        """The :mod:`xdist.settings` modifier of this method (``None`` for full fine-tuning)."""
        if self.method == "full":
            return None
        return "lora-shared" if self.sharing == "shared" else "lora"


def _check_adapters(cfg: TrainConfig, inter: tuple[str, ...], target, setting: str | None):
    """Check ``[adapters]`` against the run; return (intermediate_phase, target_phase) learning rates set."""
    a = cfg.adapters
    a.validate()
    if a.method != "full":
        if a.sharing == "shared" and not inter:
            raise ValueError("adapters.sharing='shared' needs intermediate tasks (--intermediate TASK,...): "
                             "it is one adapter shared by them")
        if cfg.mlm_corpus is not None:
            raise ValueError(f"adapters.method={a.method!r} with mlm_corpus is not supported: continued MLM "
                             "trains the full encoder; use adapters.method='full' or drop mlm_corpus")
        if target.format == "retrieval" and not inter:
            raise ValueError(f"adapters.method={a.method!r} trains nothing for {target.name}, a retrieval task "
                             "without training data, when there is no intermediate task: give --intermediate "
                             "or use adapters.method='full'")
    if setting is not None:  # a setting given explicitly must not contradict the method
        from xdist.settings import parse_setting

        try:
            mods = parse_setting(setting)[1]
        except ValueError:
            mods = None  # a free-form label: the user's own
        if mods is not None:
            named = [m for m in mods if m in ("lora", "lora-shared")]
            want = [a.setting_modifier] if a.setting_modifier else []
            if named != want:
                raise ValueError(
                    f"setting={setting!r} does not match adapters.method={a.method!r}, "
                    f"adapters.sharing={a.sharing!r} (which write {'+'.join(want) or 'no adapter modifier'}): "
                    "leave setting unset to derive it"
                )
    inter_phase, target_phase = cfg.intermediate_phase, cfg.target_phase
    if a.method != "full" and a.learning_rate is not None:
        inter_phase = replace(inter_phase, learning_rate=a.learning_rate)
        target_phase = replace(target_phase, learning_rate=a.learning_rate)
    return inter_phase, target_phase


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
    setting : str, optional
        The results table's ``setting``; default (``None``) :func:`derive_setting`:
        ``"zero-shot"``, plus ``+multilingual-intermediate`` / ``+mlm`` (below).
    layout : str, optional
        Data layout to read (default: the first one present under ``data_dir``).
    precision : {"auto", "bf16", "fp16", "fp32"}
        ``auto``: bf16 on GPUs that support it, else fp16 on GPU, fp32 on CPU.
    attn_implementation : str
        ``"sdpa"`` (default) or ``"eager"``.
    intermediate_languages : tuple of str
        Languages of the intermediate training data (default English only);
        others are read from translated files (:mod:`xdist.train.translated`).
    mlm_corpus : str, optional
        Directory of ``{lang}.txt`` files: continued multilingual MLM as one
        more task of phase 1 (:mod:`xdist.train.mlm`).
    mlm_languages : tuple of str, optional
        Corpus languages used (default: every file of ``mlm_corpus``).
    mlm_probability : float
        Share of tokens selected for masking (0.15).
    mlm_max_examples : int, optional
        Corpus lines used per language (default all).
    adapters : AdapterConfig
        Full fine-tuning (default) or LoRA adapters (``[adapters]``).
    """

    model: str = ""
    target: str = ""
    intermediate: tuple[str, ...] = ()
    data_dir: str = "data/tasks"
    output: str = "runs/xdist-train"
    store: str | None = None
    model_name: str | None = None
    seed: int = 1
    setting: str | None = None  # None: derive_setting(self)
    layout: str | None = None
    precision: str = "auto"
    attn_implementation: str = "sdpa"
    group_by_length: bool = True
    dataloader_num_workers: int = 0
    intermediate_languages: tuple[str, ...] = ("en",)
    mlm_corpus: str | None = None
    mlm_languages: tuple[str, ...] | None = None
    mlm_probability: float = 0.15
    mlm_max_examples: int | None = None
    intermediate_phase: PhaseConfig = field(default_factory=_default_intermediate)
    target_phase: PhaseConfig = field(default_factory=_default_target)
    eval: EvalConfig = field(default_factory=EvalConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    adapters: AdapterConfig = field(default_factory=AdapterConfig)

    def validate(self) -> TrainConfig:
        """Check every value; return the config with task names made canonical."""
        from xdist.train.tasks import get_task

        if not self.model:
            raise ValueError("model is required: give a local model directory (--model PATH)")
        if not self.target:
            raise ValueError("target is required: give a target task (--target TASK)")
        target = get_task(self.target)
        if target.kind != "target":
            from xdist.train.tasks import list_tasks

            hint = " (decoder-LLM tasks are scored by `xdist lm-eval`)" if target.kind == "llm" else ""
            raise ValueError(f"target={self.target!r} is not a target task of the encoder pipeline{hint}: "
                             f"expected one of {', '.join(list_tasks('target'))}")
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
        multi = _check_multilingual(self, inter)
        setting = derive_setting(replace(self, intermediate=inter, **multi)) if self.setting is None \
            else self.setting
        if not isinstance(setting, str) or not setting or "\n" in setting:
            raise ValueError(f"setting={setting!r} is not valid: expected a non-empty one-line label")
        inter_phase, target_phase = _check_adapters(self, inter, target, self.setting)
        inter_phase = inter_phase.resolve([get_task(t) for t in inter]) if inter else inter_phase
        target_phase = target_phase.resolve([target])
        if inter:
            inter_phase.validate("intermediate_phase")
        if target.format != "retrieval":
            target_phase.validate("target_phase")
        self.eval.validate()
        self.distributed.validate()
        return replace(self, target=target.name, intermediate=inter, intermediate_phase=inter_phase,
                       target_phase=target_phase, setting=setting, **multi)

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
        d["intermediate_languages"] = list(self.intermediate_languages)
        if self.mlm_languages is not None:
            d["mlm_languages"] = list(self.mlm_languages)
        if self.adapters.target_modules is not None:
            d["adapters"]["target_modules"] = list(self.adapters.target_modules)
        return d

    def identity(self) -> dict[str, Any]:
        """What defines the run's results (not where files go): the store's config."""
        d = self.to_dict()
        for key in ("output", "store", "data_dir", "dataloader_num_workers"):
            d.pop(key)
        d["eval"].pop("batch_size")
        d["eval"].pop("batched_languages")
        d.pop("mlm_corpus")  # a location, like data_dir; the run directory's config.json keeps it
        if tuple(self.intermediate_languages) == ("en",) and self.mlm_corpus is None:
            for key in _MULTILINGUAL_KEYS:  # English only, no MLM: ids of runs made before these keys
                d.pop(key, None)
        if self.distributed == DistributedConfig():  # one process: ids of runs made before [distributed]
            d.pop("distributed")
        if self.adapters.method == "full":  # ids of full fine-tuning runs made before [adapters]
            d.pop("adapters")
        return d


_MULTILINGUAL_KEYS = ("intermediate_languages", "mlm_languages", "mlm_probability", "mlm_max_examples")


def derive_setting(cfg: TrainConfig) -> str:
    """The results table's ``setting`` of a run, from what the run does (:mod:`xdist.settings`).

    ``"zero-shot"`` (English fine-tuning, zero-shot evaluation), plus
    ``multilingual-intermediate`` when the intermediate data are not English
    only, ``mlm`` when continued multilingual MLM is on, and ``lora`` /
    ``lora-shared`` for LoRA adapters per intermediate task / shared
    (``[adapters]``).  The one place that maps run options to setting
    modifiers: add new ones here.

    Examples
    --------
    >>> from xdist.train.config import AdapterConfig, TrainConfig, derive_setting
    >>> derive_setting(TrainConfig())
    'zero-shot'
    >>> derive_setting(TrainConfig(intermediate_languages=("en", "de"), mlm_corpus="corpus"))
    'zero-shot+multilingual-intermediate+mlm'
    >>> derive_setting(TrainConfig(adapters=AdapterConfig(method="lora", sharing="shared")))
    'zero-shot+lora-shared'
    """
    from xdist.settings import compose_setting

    mods = []
    if set(cfg.intermediate_languages or ("en",)) != {"en"}:
        mods.append("multilingual-intermediate")
    if cfg.mlm_corpus:
        mods.append("mlm")
    if cfg.adapters.setting_modifier:
        mods.append(cfg.adapters.setting_modifier)
    return compose_setting("zero-shot", mods)


def _languages(values, param: str) -> tuple[str, ...]:
    from xdist.languages import UnknownLanguageError, resolve

    if isinstance(values, str):
        values = tuple(x.strip() for x in values.split(",") if x.strip())
    out = []
    for v in values:
        try:
            out.append(resolve(v, param=param))
        except UnknownLanguageError as err:
            raise ValueError(f"{param}: {err}") from None
    if not out:
        raise ValueError(f"{param}=() is not valid: expected one or more language codes (e.g. en,de,sw)")
    if len(set(out)) != len(out):
        raise ValueError(f"{param}={list(values)!r} names a language twice")
    return tuple(out)


def _check_multilingual(cfg: TrainConfig, inter: tuple[str, ...]) -> dict[str, Any]:
    """Check the multilingual-intermediate and MLM options; return their canonical values."""
    langs = _languages(cfg.intermediate_languages, "intermediate_languages")
    if set(langs) != {"en"}:
        if not inter:
            raise ValueError(f"intermediate_languages={list(langs)!r} needs an intermediate task "
                             "(--intermediate TASK): there is no phase 1 to train on them")
        from xdist.train.translated import translated_task

        for t in inter:
            for lang in langs:
                if lang != "en":
                    translated_task(t, lang)  # raises for tasks without translated files (composites)
    mlm_langs = None
    if cfg.mlm_corpus is not None:
        if not isinstance(cfg.mlm_corpus, str) or not cfg.mlm_corpus.strip():
            raise ValueError(f"mlm_corpus={cfg.mlm_corpus!r} is not valid: expected a directory of {{lang}}.txt "
                             "files, or none")
        if not inter:
            raise ValueError("mlm_corpus needs an intermediate task (--intermediate TASK): MLM is trained as "
                             "one more task of phase 1")
    if cfg.mlm_languages is not None:
        if cfg.mlm_corpus is None:
            raise ValueError("mlm_languages needs mlm_corpus (--mlm-corpus DIR)")
        mlm_langs = _languages(cfg.mlm_languages, "mlm_languages")
    p = cfg.mlm_probability
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p < 1:
        raise ValueError(f"mlm_probability={p!r} is not valid: expected a number in (0, 1), e.g. 0.15")
    n = cfg.mlm_max_examples
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"mlm_max_examples={n!r} is not valid: expected a positive integer or none")
    return {"intermediate_languages": langs, "mlm_languages": mlm_langs}


_SECTIONS = {"intermediate_phase": "intermediate_phase", "target_phase": "target_phase", "eval": "eval"}
_SECTION_TYPES = {"intermediate_phase": PhaseConfig, "target_phase": PhaseConfig, "eval": EvalConfig}
_SECTIONS["distributed"] = "distributed"
_SECTION_TYPES["distributed"] = DistributedConfig
_SECTIONS["adapters"] = "adapters"
_SECTION_TYPES["adapters"] = AdapterConfig


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
    if "identity" in data and isinstance(data.get("config"), Mapping):
        # a run directory's config.json: the identity block, the full config and provenance
        data = data["config"]
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
