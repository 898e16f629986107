"""The three phases of Phang et al. (2020) as one resumable run.

1. **Intermediate** (optional): the pretrained encoder is trained on one or
   more English intermediate tasks, one head per task, batches of one task
   at a time mixed by size or temperature (:mod:`xdist.train.sampling`);
   model selection on the mean English development score.
2. **Target**: the encoder of phase 1 (or the pretrained one) gets a fresh
   head and is trained on the target task's English training data (SQuAD
   v1.1 for XQuAD, MLQA and TyDiQA-GoldP, as in XTREME), keeping the
   checkpoint best on English dev.  Retrieval tasks (BUCC, Tatoeba) have no
   training data and skip it.
3. **Evaluation** on every language of the target task, in one length-sorted
   pass (:mod:`xdist.train.evaluate`), each language's scores written to the
   results store (:mod:`xdist.store`) as soon as they exist.

Every phase runs on the transformers ``Trainer`` (bf16 on GPUs that support
it, else fp16 on GPU; SDPA attention; length-grouped dynamic padding) and
saves its result with :func:`xdist.train.model.save_phase`; the next phase
loads the encoder with its fingerprint checked, so weights cannot be lost
between phases without an error.  With ``adapters.method = "lora"`` the
encoder stays frozen and LoRA adapters carry over instead, with the same
guarantee (:mod:`xdist.train.adapters`).

**Resuming.** Start the same command again: finished phases are skipped, an
interrupted phase resumes from its last Trainer checkpoint, and languages
already in the store are not evaluated again.  A different configuration in
the same ``--output`` is refused.

Examples
--------
>>> import tempfile
>>> from xdist.train.smoke import run_smoke
>>> summary = run_smoke(tempfile.mkdtemp(), tasks=("XNLI",), intermediate=("MNLI",))  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from xdist.train.config import PhaseConfig, TrainConfig
from xdist.train.launch import is_main_process
from xdist.train.model import (
    TransferModel,
    WeightTransferError,
    head_seed,
    load_encoder,
    load_phase,
    save_phase,
    saved_fingerprint,
)

__all__ = ["PhaseResult", "RunSummary", "run", "train_phase"]

log = logging.getLogger("xdist.train")

CONFIG_FILE = "config.json"
DONE_FILE = "DONE.json"


@dataclass
class PhaseResult:
    """What a phase left behind."""

    name: str
    path: Path
    skipped: bool
    dev_scores: dict[str, float] = field(default_factory=dict)
    train_samples_per_second: float | None = None
    seconds: float = 0.0
    #: How the phase trained (``DONE.json``'s ``distributed``): mode "single", "ddp" or "fsdp", processes, ...
    distributed: dict = field(default_factory=dict)


@dataclass
class RunSummary:
    """What :func:`run` did: phases, per-language scores, and where they are stored."""

    config: TrainConfig
    phases: list[PhaseResult]
    scores: dict[str, dict[str, float]]
    store: Path
    run_id: str
    evaluated: list[str]
    resumed_languages: list[str]
    seconds: float

    def table(self):
        """The run's scores as a results table (``xdist.store.read_store``)."""
        from xdist.store import read_store

        df = read_store(self.store)
        return df[df["source"].str.contains(self.run_id, regex=False)].reset_index(drop=True)


# ---- devices and precision ------------------------------------------------------------------


def device_and_dtype(precision: str = "auto") -> tuple[torch.device, torch.dtype | None]:
    """The device to run on and the mixed-precision dtype (``None``: float32)."""
    if torch.cuda.is_available():
        dev = torch.device("cuda")
        if precision == "auto":
            return dev, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dev = torch.device("cpu")
        if precision == "auto":
            return dev, None
    if precision in ("bf16", "fp16") and dev.type == "cpu" and precision == "fp16":
        raise ValueError("precision='fp16' is not valid on CPU: expected 'bf16', 'fp32' or 'auto'")
    return dev, {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[precision]


# ---- data -----------------------------------------------------------------------------------


def _train_task(target):
    from xdist.train.tasks import get_task

    return get_task(target.train_task) if target.train_task else target


def _dev_source(task):
    """(task, split) whose English data selects the model for ``task``."""
    from xdist.train.tasks import get_task

    for t in (task, get_task(task.train_task) if task.train_task else None):
        if t is None:
            continue
        for split in ("dev", "validation"):
            if split in t.splits and (t.train_language in t.languages or len(t.languages) == 1):
                return t, split
    return None, None


def _load(task, split, language, cfg: TrainConfig, *, require_labels=True, limit=None):
    from xdist.train.readers import load_examples

    return load_examples(task, split, language, data_dir=cfg.data_dir, layout=cfg.layout,
                         require_labels=require_labels, limit=limit)


def _encode_kwargs(phase: PhaseConfig) -> dict:
    return {"max_length": phase.max_length, "doc_stride": phase.doc_stride,
            "max_query_length": phase.max_query_length}


# ---- the Trainer --------------------------------------------------------------------------


class _MultiTaskDataset(torch.utils.data.Dataset):
    """Concatenated per-task feature datasets; rows carry their task's name."""

    def __init__(self, parts: Mapping[str, object]):
        self.parts = dict(parts)
        self.names = list(self.parts)
        self.starts = np.cumsum([0, *(len(d) for d in self.parts.values())])

    def __len__(self):
        return int(self.starts[-1])

    def _locate(self, i: int) -> tuple[str, int]:
        k = int(np.searchsorted(self.starts, i, side="right") - 1)
        return self.names[k], int(i - self.starts[k])

    def __getitem__(self, i):
        return self.__getitems__([i])[0]

    def __getitems__(self, indices):
        task, first = self._locate(indices[0])
        start = int(self.starts[self.names.index(task)])
        local = [int(i) - start for i in indices]
        if min(local) < 0 or max(local) >= len(self.parts[task]):
            raise IndexError("a batch mixes tasks; TaskBatchSampler never does that")
        cols = self.parts[task][local]
        keys = list(cols)
        rows = [dict(zip(keys, vals)) for vals in zip(*(cols[k] for k in keys))]
        for r in rows:
            r["task"] = task
        return rows


class _TaskCollator:
    """Pads a one-task batch with the features' collator and adds ``task``."""

    def __init__(self, base, special: Mapping[str, Callable] | None = None):
        self.base = base
        self.special = dict(special or {})  # head -> its own collator (MLM: xdist.train.mlm.MLMCollator)

    def __call__(self, rows):
        task = rows[0]["task"]
        batch = self.special.get(task, self.base)([{k: v for k, v in r.items() if k != "task"} for r in rows])
        batch["task"] = task
        return batch


def _make_trainer_class():
    from safetensors.torch import load_model, save_model
    from transformers import Trainer

    class PhaseTrainer(Trainer):
        """Trainer with one-task length-grouped batches, xdist's dev evaluation and strict loading."""

        def __init__(self, *args, batch_sampler=None, dev_evaluator=None, **kwargs):
            self._xdist_batch_sampler = batch_sampler
            self._xdist_dev = dev_evaluator
            super().__init__(*args, **kwargs)

        def create_accelerator_and_postprocess(self):
            super().create_accelerator_and_postprocess()
            self.is_fsdp_enabled = self.is_fsdp_enabled or _fsdp_on_cpu(self)

        def get_train_dataloader(self):
            from torch.utils.data import DataLoader

            dl = DataLoader(
                self.train_dataset, batch_sampler=self._xdist_batch_sampler, collate_fn=self.data_collator,
                num_workers=self.args.dataloader_num_workers, pin_memory=self.args.dataloader_pin_memory,
            )
            return self.accelerator.prepare(dl)

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            start = time.time()
            scores = self._xdist_dev(self.model) if self._xdist_dev else {}
            metrics = {f"{metric_key_prefix}_{k}": v for k, v in scores.items()}
            metrics[f"{metric_key_prefix}_runtime"] = round(time.time() - start, 4)
            metrics["epoch"] = self.state.epoch
            self.log(metrics)
            self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
            return metrics

        # Strict, tied-weight-safe checkpoints for a model that is not a PreTrainedModel.
        def _save(self, output_dir=None, state_dict=None):
            output_dir = output_dir or self.args.output_dir
            os.makedirs(output_dir, exist_ok=True)
            if self.is_fsdp_enabled:  # the full state dict Trainer gathered from the shards
                if self.args.should_save and state_dict:
                    from safetensors.torch import save_file

                    save_file({k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()},
                              os.path.join(output_dir, "model.safetensors"))
                return
            save_model(self.accelerator.unwrap_model(self.model), os.path.join(output_dir, "model.safetensors"))

        def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
            if self.is_fsdp_enabled:  # Trainer's sharded FSDP checkpoint (save_fsdp_model)
                return super()._load_from_checkpoint(resume_from_checkpoint, model)
            model = model or self.model
            path = os.path.join(resume_from_checkpoint, "model.safetensors")
            try:
                dev = self.args.device  # "cpu:0" under a multi-process CPU run; safetensors wants "cpu"
                load_model(model, path, strict=True, device="cpu" if dev.type == "cpu" else str(dev))
            except RuntimeError as err:
                raise WeightTransferError(
                    f"checkpoint {path} does not match the model being trained: {str(err)[:300]}"
                ) from None

        def _load_best_model(self):
            if self.is_fsdp_enabled:
                return super()._load_best_model()
            best = self.state.best_model_checkpoint
            if best:
                self._load_from_checkpoint(best)

    return PhaseTrainer


def _dev_evaluator(model_tasks: Mapping[str, object], dev: Mapping[str, object], tokenizer, cfg: TrainConfig,
                   phase: PhaseConfig, device, dtype) -> Callable:
    """A function model -> {task_metric: score, "score": mean primary} on English dev."""
    from xdist.train.evaluate import evaluate_languages

    def evaluate(model) -> dict[str, float]:
        out: dict[str, float] = {}
        primaries = []
        for name, (task, examples) in dev.items():
            scores = evaluate_languages(
                model, task, {task.train_language: examples}, tokenizer, head=name,
                encode_kwargs=_encode_kwargs(phase), batch_size=cfg.eval.batch_size, device=device, dtype=dtype,
            )[task.train_language]
            for metric, value in scores.items():
                out[f"{name}_{metric}"] = float(value)
            primaries.append(float(scores[task.primary_metric]))
        out["score"] = float(np.mean(primaries)) if primaries else float("nan")
        return out

    return evaluate


def train_phase(name: str, model: TransferModel, train: Mapping[str, tuple[object, object]],
                dev: Mapping[str, tuple[object, object]], tokenizer, cfg: TrainConfig, phase: PhaseConfig,
                out_dir: Path, *, device=None, dtype=None) -> PhaseResult:
    """Train ``model`` on ``train`` (head name -> (task, examples)); resumable.

    Checkpoints go to ``out_dir/checkpoints``; the result (best checkpoint on
    English dev when ``phase.model_selection``) is saved to ``out_dir/final``
    by :func:`save_phase`, and ``out_dir/DONE.json`` marks the phase done.
    """
    from transformers import TrainingArguments

    from xdist.train import features as F
    from xdist.train.sampling import TaskBatchSampler

    start = time.time()
    ckpt_dir = out_dir / "checkpoints"
    encoded = {}
    for head, (task, examples) in train.items():
        if getattr(task, "format", None) == "mlm":  # continued MLM (xdist.train.mlm)
            from xdist.train.mlm import encode_corpus

            encoded[head] = encode_corpus(examples, tokenizer, max_length=phase.max_length)
            continue
        encoded[head] = F.encode(task, examples, tokenizer, train=True, **_encode_kwargs(phase))
    lengths = {head: feats["length"] for head, feats in encoded.items()}
    sampler = TaskBatchSampler(
        lengths, phase.per_device_batch_size, sampling=phase.sampling, temperature=phase.temperature,
        seed=cfg.seed, group_by_length=cfg.group_by_length,
    )
    dataset = _MultiTaskDataset(encoded)
    select = phase.model_selection and bool(dev)
    strategy = "steps" if phase.eval_steps else "epoch"
    if dtype == torch.bfloat16:
        mixed = {"bf16": True}
    elif dtype == torch.float16:
        mixed = {"fp16": True}
    else:
        mixed = {}
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        per_device_train_batch_size=phase.per_device_batch_size,
        per_device_eval_batch_size=cfg.eval.batch_size,
        gradient_accumulation_steps=phase.gradient_accumulation_steps,
        learning_rate=phase.learning_rate,
        num_train_epochs=phase.num_train_epochs,
        max_steps=phase.max_steps,
        warmup_steps=phase.warmup_ratio,
        weight_decay=phase.weight_decay,
        max_grad_norm=phase.max_grad_norm,
        lr_scheduler_type="linear",
        eval_strategy=strategy if select else "no",
        save_strategy=strategy,
        eval_steps=phase.eval_steps,
        save_steps=phase.eval_steps or 500,
        save_total_limit=phase.save_total_limit,
        load_best_model_at_end=select,
        metric_for_best_model="score" if select else None,
        greater_is_better=True if select else None,
        logging_steps=phase.logging_steps,
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to="none",
        remove_unused_columns=False,
        dataloader_num_workers=cfg.dataloader_num_workers,
        disable_tqdm=not sys.stderr.isatty(),
        use_cpu=device is not None and device.type == "cpu",
        **_fsdp_args(cfg, model),
        **mixed,
    )
    dev_eval = _dev_evaluator(train, dev, tokenizer, cfg, phase, device, dtype) if dev else None
    callbacks = []
    if select and phase.early_stopping_patience:
        from transformers import EarlyStoppingCallback

        callbacks.append(EarlyStoppingCallback(early_stopping_patience=phase.early_stopping_patience))
    Trainer = _make_trainer_class()
    trainer = Trainer(
        model=model, args=args, train_dataset=dataset,
        eval_dataset=dataset if select else None,
        data_collator=_TaskCollator(F.Collator(tokenizer), _special_collators(train, tokenizer, cfg)),
        batch_sampler=sampler, dev_evaluator=dev_eval, callbacks=callbacks,
    )
    # FSDP shards the model in place (in train()): keep an unsharded copy on rank 0 for the final weights.
    skeleton = copy.deepcopy(model) if trainer.is_fsdp_enabled and is_main_process() else None
    resume = _last_checkpoint(ckpt_dir)
    if resume:
        log.info("%s: resuming from %s", name, resume)
    output = trainer.train(resume_from_checkpoint=resume)
    mode = _distributed_mode(trainer)
    log.info("%s: trained as %s", name, mode)
    if args.fsdp and mode["mode"] != "fsdp":
        log.warning("%s: distributed.fsdp=%r was asked for, but the model was not sharded (%s)",
                    name, cfg.distributed.fsdp, mode)
    dev_scores = dev_eval(trainer.model) if dev_eval else {}
    final = out_dir / "final"
    result = trainer.model
    if trainer.is_fsdp_enabled:  # every process takes part in gathering the full weights
        state = trainer.accelerator.get_state_dict(trainer.model)
        if skeleton is not None:
            skeleton.load_state_dict(state, strict=True)
            result = skeleton
    if is_main_process():  # several processes (torchrun): rank 0 writes, the others wait
        save_phase(result, final, tokenizer=tokenizer,
                   extra={"phase": name, "dev_scores": dev_scores,
                          "best_checkpoint": trainer.state.best_model_checkpoint})
        _write_json(out_dir / DONE_FILE, {"phase": name, "dev_scores": dev_scores,
                                          "train_metrics": output.metrics,
                                          "best_checkpoint": trainer.state.best_model_checkpoint,
                                          "distributed": mode})
    _barrier()
    sps = output.metrics.get("train_samples_per_second")
    return PhaseResult(name, final, skipped=False, dev_scores=dev_scores, train_samples_per_second=sps,
                       seconds=time.time() - start, distributed=mode)


def _distributed_mode(trainer) -> dict:
    """How ``trainer`` really trained, read from the prepared model rather than the configuration.

    ``mode`` is ``"fsdp"`` when parameters are FSDP2 shards (``DTensor``),
    ``"ddp"`` for several processes otherwise, ``"single"`` for one;
    ``sharded_parameters`` counts the sharded parameter tensors of
    ``parameters``, and ``fsdp_units`` the modules sharded as a unit (the
    wrapped layers and the model itself).
    """
    params = list(trainer.model.parameters())
    sharded = units = 0
    if torch.distributed.is_available():  # builds without torch.distributed cannot shard
        from torch.distributed.fsdp import FSDPModule
        from torch.distributed.tensor import DTensor

        sharded = sum(isinstance(p, DTensor) for p in params)
        units = sum(isinstance(m, FSDPModule) for m in trainer.model.modules())
    processes = int(trainer.accelerator.num_processes)
    mode = "fsdp" if sharded else "ddp" if processes > 1 else "single"
    return {"mode": mode, "processes": processes, "device": trainer.args.device.type,
            "sharded_parameters": sharded, "parameters": len(params), "fsdp_units": units}


def _special_collators(train: Mapping[str, tuple[object, object]], tokenizer, cfg: TrainConfig) -> dict:
    """Collators of heads whose batches are not plain padded features (MLM masks its own)."""
    from xdist.train.mlm import MLMCollator

    return {head: MLMCollator(tokenizer, probability=cfg.mlm_probability, seed=cfg.seed)
            for head, (task, _) in train.items() if getattr(task, "format", None) == "mlm"}


def _fsdp_args(cfg: TrainConfig, model) -> dict:
    """``TrainingArguments`` FSDP options for this run (none in a single process; docs/sweeps.md)."""
    from xdist.train.launch import fsdp_enabled, world_size

    mode = fsdp_enabled(cfg.distributed, cfg.model, processes=world_size())
    if not mode:
        return {}
    layers = ([cfg.distributed.fsdp_layer_cls] if cfg.distributed.fsdp_layer_cls else
              sorted(getattr(model.encoder, "_no_split_modules", None) or []))
    if not layers:
        raise ValueError(f"distributed.fsdp={mode!r}: the encoder of {cfg.model!r} names no layer class to wrap; "
                         "set distributed.fsdp_layer_cls (e.g. 'XLMRobertaLayer')")
    # transformers' FSDP2 form of the options ("full_shard auto_wrap" strings are deprecated there).
    options = mode.split()
    fsdp_config = {"transformer_layer_cls_to_wrap": layers, "reshard_after_forward": "shard_grad_op" not in options,
                   "cpu_offload": "offload" in options}
    return {"fsdp": True, "fsdp_config": fsdp_config}


def _fsdp_on_cpu(trainer) -> bool:
    """Give accelerate the FSDP plugin of a multi-process CPU run, which it would drop; True if it did.

    accelerate (1.16) turns ``fsdp_plugin`` into ``DistributedType.FSDP`` only
    for accelerator devices (``AcceleratorState.__init__``: the branch
    ``elif self.distributed_type in [MULTI_GPU, MULTI_MLU, ..., MULTI_NEURON]``
    has no ``MULTI_CPU``), so a CPU run under ``torchrun`` (gloo) with
    ``distributed.fsdp`` set would silently train with DDP.  torch's FSDP2
    (``fully_shard``) does run on CPU with gloo: this sets the state that
    branch would have set, and ``Accelerator.prepare`` then shards the model
    (its parameters become ``DTensor`` shards).  Nothing changes where
    accelerate already chose FSDP, or for FSDP1.
    """
    from accelerate.state import PartialState
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    plugin_args = trainer.args.fsdp_plugin_args
    state = trainer.accelerator.state
    if (plugin_args is None or plugin_args.get("fsdp_version") != 2
            or state.distributed_type != DistributedType.MULTI_CPU):
        return False
    plugin = FullyShardedDataParallelPlugin(**plugin_args)
    if state.mixed_precision != "no":
        plugin.set_mixed_precision(state.mixed_precision)
    state.fsdp_plugin = plugin
    state.distributed_type = DistributedType.FSDP
    PartialState._shared_state["distributed_type"] = DistributedType.FSDP
    return True


def _barrier() -> None:
    """Wait for every process of a distributed run (no-op in a single process)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


def _last_checkpoint(path: Path) -> str | None:
    if not path.is_dir():
        return None
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(path))


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# ---- the run --------------------------------------------------------------------------------


def _check_output(cfg: TrainConfig) -> None:
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    path = out / CONFIG_FILE
    identity = {"identity": cfg.identity(), "model": cfg.model, "data_dir": cfg.data_dir}
    if cfg.mlm_corpus:
        identity["mlm_corpus"] = cfg.mlm_corpus
    if path.is_file():
        old = json.loads(path.read_text())
        old_identity = {k: old.get(k) for k in identity}
        if old_identity != identity:
            diff = sorted(_diff(old_identity, identity))
            raise ValueError(
                f"output={cfg.output!r} holds a run with a different configuration (differs in "
                f"{', '.join(diff[:6])}): give another --output, or delete that directory to start over"
            )
        return
    if is_main_process():
        _write_json(path, {**identity, "config": cfg.to_dict(),
                           "xdist": {"written": time.strftime("%Y-%m-%dT%H:%M:%S")}})


def _diff(a, b, prefix=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from _diff(a.get(k), b.get(k), f"{prefix}{k}.")
    elif a != b:
        yield prefix.rstrip(".")


def _done_phase(name: str, out_dir: Path) -> PhaseResult:
    done = json.loads((out_dir / DONE_FILE).read_text())
    return PhaseResult(name, out_dir / "final", skipped=True, dev_scores=done["dev_scores"],
                       distributed=done.get("distributed", {}))


def _phase_done(out_dir: Path) -> bool:
    return (out_dir / DONE_FILE).is_file() and (out_dir / "final" / "heads.json").is_file()


def run(cfg: TrainConfig, *, progress: Callable[[str], None] | None = None) -> RunSummary:
    """Run (or resume) intermediate training, target training and evaluation.

    Parameters
    ----------
    cfg : TrainConfig
        See :mod:`xdist.train.config`.
    progress : callable, optional
        Receives one-line progress messages.

    Returns
    -------
    RunSummary
    """
    import datasets

    bars = datasets.is_progress_bar_enabled()
    if not sys.stderr.isatty():  # no progress bars in logs and CI
        datasets.disable_progress_bars()
    try:
        return _run(cfg, progress)
    finally:
        if bars:
            datasets.enable_progress_bars()


def _run(cfg: TrainConfig, progress) -> RunSummary:
    from transformers import AutoTokenizer

    from xdist.store import ResultsStore
    from xdist.train.tasks import get_task

    t0 = time.time()
    cfg = cfg.validate()
    say = progress or (lambda msg: log.info(msg))
    _check_output(cfg)
    out = Path(cfg.output)
    device, dtype = device_and_dtype(cfg.precision)
    torch.manual_seed(cfg.seed)
    tokenizer = AutoTokenizer.from_pretrained(_model_dir(cfg.model), local_files_only=True)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"model={cfg.model!r} has no fast tokenizer (tokenizer.json); xdist needs one")
    target = get_task(cfg.target)
    _preflight(cfg, target)
    phases: list[PhaseResult] = []
    encoder_dir: Path | str = cfg.model
    adapters_dir: Path | None = None  # phase 1's adapters (adapters.method != "full")
    fingerprint: str | None = None

    # Phase 1: intermediate task(s).
    if cfg.intermediate:
        pdir = out / "phase1-intermediate"
        if _phase_done(pdir):
            say(f"phase 1 ({', '.join(cfg.intermediate)}): done earlier, skipped")
            phases.append(_done_phase("intermediate", pdir))
        else:
            say(f"phase 1: intermediate training on {', '.join(cfg.intermediate)}")
            tasks = [get_task(t) for t in cfg.intermediate]
            ph = cfg.intermediate_phase
            train = {t.name: (t, _load_intermediate(t, cfg, ph, say)) for t in tasks}
            if cfg.mlm_corpus:
                train.update(_mlm_data(cfg, say))
            dev = _dev_sets(tasks, cfg, ph)
            encoder = load_encoder(cfg.model, attn_implementation=cfg.attn_implementation)
            model = TransferModel(encoder, {t.name: t.format for t in tasks}, _n_labels(tasks),
                                  seed=head_seed(cfg.seed, "intermediate"))
            if cfg.adapters.method != "full":  # frozen base + LoRA adapter(s): xdist.train.adapters
                from xdist.train.adapters import intermediate_model

                model = intermediate_model(model, cfg.adapters, base_path=encoder_dir)
                say(f"phase 1: {_adapter_summary(model)}")
            if cfg.mlm_corpus:
                _attach_mlm(model, cfg, out, say)
            phases.append(train_phase("intermediate", model, train, dev, tokenizer, cfg, ph, pdir,
                                      device=device, dtype=dtype))
            del model, encoder
        if cfg.adapters.method != "full":  # the base encoder stays frozen; the adapters carry over
            adapters_dir = pdir / "final"
        else:
            encoder_dir = pdir / "final" / "encoder"
            fingerprint = saved_fingerprint(encoder_dir)
            if fingerprint is None:
                raise WeightTransferError(f"{encoder_dir} has no fingerprint.json: phase 1 did not finish saving")

    # Phase 2: target task in English.
    model: TransferModel | None = None
    if target.format == "retrieval":
        say(f"phase 2: {target.name} is a retrieval task without training data, skipped")
        if adapters_dir is not None:  # the base with the intermediate adapter(s), all active
            encoder = load_phase(adapters_dir, attn_implementation=cfg.attn_implementation).encoder
        else:
            encoder = load_encoder(encoder_dir, expected_fingerprint=fingerprint,
                                   attn_implementation=cfg.attn_implementation)
    else:
        pdir = out / "phase2-target"
        if _phase_done(pdir):
            say(f"phase 2 ({target.name}): done earlier, skipped")
            phases.append(_done_phase("target", pdir))
        else:
            src = _train_task(target)
            ph = cfg.target_phase
            say(f"phase 2: target training on English {src.name}" +
                (f" (for {target.name})" if src is not target else ""))
            train = {target.name: (src, _load(src, "train", src.train_language, cfg, limit=ph.max_train_examples))}
            dev_task, dev_split = _dev_source(target)
            dev = {}
            if dev_task is not None and ph.model_selection:
                dev = {target.name: (dev_task, _load(dev_task, dev_split, dev_task.train_language, cfg,
                                                     limit=ph.max_dev_examples))}
            if cfg.adapters.method != "full":  # a target adapter stacked on the intermediate one(s)
                from xdist.train.adapters import target_model

                model = target_model(encoder_dir, {target.name: target.format}, _n_labels([target]),
                                     cfg.adapters, intermediate=adapters_dir, expected_fingerprint=fingerprint,
                                     attn_implementation=cfg.attn_implementation, seed=cfg.seed)
                say(f"phase 2: {_adapter_summary(model)}")
            else:
                encoder = load_encoder(encoder_dir, expected_fingerprint=fingerprint,
                                       attn_implementation=cfg.attn_implementation)
                # the head depends on (seed, phase, task) alone, not on what phase 1 left in the RNG: a run
                # restarted in phase 2 before its first checkpoint starts from the same head
                model = TransferModel(encoder, {target.name: target.format}, _n_labels([target]),
                                      seed=head_seed(cfg.seed, "target"))
            phases.append(train_phase("target", model, train, dev, tokenizer, cfg, ph, pdir,
                                      device=device, dtype=dtype))
        if not is_main_process():  # evaluation and the store are rank 0's
            return RunSummary(cfg, phases, {}, Path(cfg.store_path), "", [], [], time.time() - t0)
        model = load_phase(pdir / "final", attn_implementation=cfg.attn_implementation)
        encoder = model.encoder

    # Phase 3: every language.
    if not is_main_process():
        return RunSummary(cfg, phases, {}, Path(cfg.store_path), "", [], [], time.time() - t0)
    store = ResultsStore(cfg.store_path, create=True)
    source = f"xdist train --output {os.path.abspath(cfg.output)}"
    srun = store.start_run(
        cfg.identity(), cfg.seed, model=cfg.name, setting=cfg.setting,
        intermediate_task=",".join(sorted(cfg.intermediate)), target_task=target.name, source=source,
    )
    languages = list(cfg.eval.languages or target.languages)
    split = cfg.eval.split or target.eval_split
    done = [lang for lang in languages if srun.done("eval", lang)]
    todo = [lang for lang in languages if lang not in done]
    if done:
        say(f"phase 3: {len(done)} languages already in the store, skipped")
    say(f"phase 3: evaluating {target.name} {split} in {len(todo)} languages")
    scores: dict[str, dict[str, float]] = {}
    note = ""
    if target.format == "retrieval":
        from xdist.train.retrieval import default_layer

        layer = cfg.eval.retrieval_layer if cfg.eval.retrieval_layer is not None else default_layer(encoder.config)
        note = f"layer={layer} pooling={cfg.eval.retrieval_pooling}"

    def record(lang: str, values: dict) -> None:
        keep = {k: float(v) for k, v in values.items() if k in target.metrics and np.isfinite(v)}
        srun.record_scores(lang, keep, split=split, phase="eval", note=note)
        scores[lang] = keep

    try:
        if target.format == "retrieval":
            _evaluate_retrieval(target, encoder, tokenizer, cfg, split, todo, record, device, layer)
        elif todo:
            model.to(device)
            examples = {lang: _load(target, split, lang, cfg) for lang in todo}
            from xdist.train.evaluate import evaluate_languages

            evaluate_languages(
                model, target, examples, tokenizer, encode_kwargs=_encode_kwargs(cfg.target_phase),
                batch_size=cfg.eval.batch_size, device=device, dtype=dtype,
                batched=cfg.eval.batched_languages, on_language=record,
            )
    except BaseException as err:
        srun.finish("stopped" if isinstance(err, KeyboardInterrupt) else "failed")
        raise
    srun.finish("finished")
    say(f"done: {len(scores)} languages scored; results in {cfg.store_path}")
    return RunSummary(cfg, phases, scores, Path(cfg.store_path), srun.run_id, todo, done, time.time() - t0)


def _preflight(cfg: TrainConfig, target) -> None:
    """Fail before any training when a file the run will need is missing or unlabelled."""
    from xdist.train.readers import find_layout
    from xdist.train.tasks import get_task

    needs = []
    for name in cfg.intermediate:
        t = get_task(name)
        if t.train_language in cfg.intermediate_languages:  # else only translated files (checked below)
            needs.append((t, "train", t.train_language))
        if cfg.intermediate_phase.model_selection:
            dt, split = _dev_source(t)
            if dt is not None:
                needs.append((dt, split, dt.train_language))
    if target.format != "retrieval":
        src = _train_task(target)
        needs.append((src, "train", src.train_language))
        if cfg.target_phase.model_selection:
            dt, split = _dev_source(target)
            if dt is not None:
                needs.append((dt, split, dt.train_language))
    split = cfg.eval.split or target.eval_split
    for lang in cfg.eval.languages or target.languages:
        needs.append((target, split, lang))
    _preflight_multilingual(cfg)
    for task, sp, lang in needs:
        if task.format == "retrieval":
            continue  # read (and checked) per language in phase 3
        layout = cfg.layout if cfg.layout in task.layout_names else None
        if layout is None:
            find_layout(task, sp, data_dir=cfg.data_dir, language=lang, require_labels=True)


# ---- multilingual intermediate data and continued MLM (docs/training.md) -------------------


def _load_intermediate(task, cfg: TrainConfig, phase: PhaseConfig, say):
    """An intermediate task's training set: English, plus translated files for other languages."""
    if tuple(cfg.intermediate_languages) == (task.train_language,):
        return _load(task, "train", task.train_language, cfg, limit=phase.max_train_examples)
    from collections import Counter

    from xdist.train.translated import load_intermediate

    data = load_intermediate(task, cfg.intermediate_languages, data_dir=cfg.data_dir, layout=cfg.layout,
                             limit=phase.max_train_examples)
    counts = Counter(data["language"])
    say(f"phase 1: {task.name} training examples by language (pooled, one head): "
        + ", ".join(f"{lang}={counts[lang]}" for lang in cfg.intermediate_languages))
    return data


def _mlm_data(cfg: TrainConfig, say) -> dict:
    from collections import Counter

    from xdist.train.mlm import MLM_TASK, MLMTask, load_corpus

    corpus = load_corpus(cfg.mlm_corpus, cfg.mlm_languages, limit=cfg.mlm_max_examples)
    counts = Counter(corpus["language"])
    say(f"phase 1: + MLM on {cfg.mlm_corpus} (probability {cfg.mlm_probability}), lines by language: "
        + ", ".join(f"{lang}={n}" for lang, n in counts.items()))
    return {MLM_TASK: (MLMTask(tuple(counts)), corpus)}


def _attach_mlm(model: TransferModel, cfg: TrainConfig, out: Path, say) -> None:
    """Add the MLM head and record where it came from in the log and the run's config.json."""
    from xdist.train.mlm import attach_mlm_head

    source = attach_mlm_head(model, cfg.model)
    what = {"checkpoint": f"the checkpoint's pretrained lm_head ({cfg.model})",
            "fresh": "a new head tied to the input embeddings (the checkpoint has no lm_head)"}[source]
    say(f"phase 1: MLM head: {what}")
    path = out / CONFIG_FILE
    data = json.loads(path.read_text())
    data["mlm_head"] = source
    _write_json(path, data)


def _preflight_multilingual(cfg: TrainConfig) -> None:
    """Translated training files and MLM corpus files exist (before any training)."""
    from xdist.train.tasks import get_task

    for name in cfg.intermediate:
        t = get_task(name)
        for lang in cfg.intermediate_languages:
            if lang != t.train_language:
                from xdist.train.translated import check_translated

                check_translated(t, lang, data_dir=cfg.data_dir, layout=cfg.layout)
    if cfg.mlm_corpus:
        from xdist.train.mlm import corpus_files

        corpus_files(cfg.mlm_corpus, cfg.mlm_languages)


def _model_dir(path: str) -> str:
    from xdist.train.model import _check_model_dir

    return str(_check_model_dir(path))


def _adapter_summary(model) -> str:
    from xdist.train.adapters import trainable_parameters

    n_train = sum(trainable_parameters(model).values())
    n_all = sum(p.numel() for p in model.parameters())
    stacks = "; ".join(f"{t}: {' + '.join(a)}" for t, a in model.task_adapters.items())
    return f"LoRA adapters ({stacks}); {n_train:,} of {n_all:,} parameters train (adapters and heads)"


def _n_labels(tasks) -> dict[str, int]:
    return {t.name: t.n_labels for t in tasks if t.format in ("sentence_pair", "tagging")}


def _dev_sets(tasks, cfg: TrainConfig, phase: PhaseConfig) -> dict:
    if not phase.model_selection:
        return {}
    dev = {}
    for t in tasks:
        dt, split = _dev_source(t)
        if dt is not None:
            dev[t.name] = (dt, _load(dt, split, dt.train_language, cfg, limit=phase.max_dev_examples))
    return dev


def _evaluate_retrieval(target, encoder, tokenizer, cfg: TrainConfig, split: str, languages, record,
                        device, layer: int) -> None:
    from xdist.train.readers import load_retrieval
    from xdist.train.retrieval import evaluate_retrieval

    encoder.to(device)
    for lang in languages:
        data = load_retrieval(target, split, lang, data_dir=cfg.data_dir, layout=cfg.layout)
        result = evaluate_retrieval(target, encoder, tokenizer, data, layer=layer,
                                    pooling=cfg.eval.retrieval_pooling, batch_size=cfg.eval.batch_size,
                                    max_length=cfg.eval.retrieval_max_length, device=device)
        record(lang, result.scores)
