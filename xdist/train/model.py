"""One shared encoder, one head per task, and weights that provably carry across phases.

:class:`TransferModel` is what every phase of the pipeline trains: a Hugging
Face base encoder (``AutoModel``; the encoder stack of encoder-decoder models
such as mT5 through ``AutoModelForTextEncoding``) with a head per task,
chosen by the task's format:

=================  ===============================================  ==========================
format             head                                             loss
=================  ===============================================  ==========================
sentence_pair      dense-tanh-dense on the first token (RoBERTa's)  cross-entropy
tagging            linear on every token                            cross-entropy, -100 ignored
extractive_qa      linear to start and end logits                   mean of start and end CE
multiple_choice    dense-tanh-dense to one score per choice         cross-entropy over choices
=================  ===============================================  ==========================

**Weight carry-over.** Earlier tools lost the encoder between phases without
a word: a checkpoint saved with one key prefix (``roberta.encoder...``) was
loaded into a model expecting another, every key was "missing", and the
encoder silently started from random weights.  Here that cannot happen:

- the encoder is saved on its own (:func:`save_phase`), with the SHA-256
  *fingerprint* of its tensors;
- :func:`load_encoder` raises :class:`WeightTransferError` when any encoder
  weight is missing from the checkpoint (only a pooler, which no head uses,
  may be absent), and, given the fingerprint that was saved, when the loaded
  tensors differ from it.

Examples
--------
>>> import tempfile, torch
>>> from xdist.train.toy import make_tokenizer, make_tiny_model
>>> from xdist.train.model import TransferModel, load_encoder, save_phase, fingerprint
>>> tok = make_tokenizer(["a b c d", "e f g h"] * 3, vocab_size=30)
>>> path = make_tiny_model(tempfile.mkdtemp(), tok)
>>> model = TransferModel(load_encoder(path), {"XNLI": "sentence_pair"}, {"XNLI": 3})
>>> out = model(task="XNLI", input_ids=torch.tensor([[0, 5, 2]]), labels=torch.tensor([1]))
>>> tuple(out.logits.shape), out.loss.item() > 0
((1, 3), True)
>>> saved = save_phase(model, tempfile.mkdtemp(), tokenizer=tok)
>>> load_encoder(saved / "encoder", expected_fingerprint=fingerprint(model.encoder)) is not None
True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

__all__ = [
    "HEAD_FORMATS",
    "TransferModel",
    "TransferOutput",
    "WeightTransferError",
    "fingerprint",
    "head_seed",
    "load_encoder",
    "load_phase",
    "save_phase",
]

#: Task formats that have a trainable head.
HEAD_FORMATS = ("sentence_pair", "tagging", "extractive_qa", "multiple_choice")

FINGERPRINT_FILE = "fingerprint.json"


class WeightTransferError(RuntimeError):
    """Encoder weights did not load, or are not the weights that were saved."""


@dataclass
class TransferOutput(Mapping):
    """Output of :class:`TransferModel` (also a mapping, as the Trainer expects)."""

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    start_logits: torch.Tensor | None = None
    end_logits: torch.Tensor | None = None

    def _items(self):
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def __getitem__(self, key):
        if isinstance(key, int):
            return list(self._items().values())[key]
        return self._items()[key]

    def __iter__(self):
        return iter(self._items())

    def __len__(self):
        return len(self._items())


def _hidden_size(config) -> int:
    for name in ("hidden_size", "d_model", "n_embd"):
        if getattr(config, name, None):
            return int(getattr(config, name))
    raise ValueError(f"cannot tell the hidden size of a {type(config).__name__}")


def _dropout(config) -> float:
    for name in ("classifier_dropout", "hidden_dropout_prob", "dropout_rate", "dropout"):
        value = getattr(config, name, None)
        if isinstance(value, (int, float)):
            return float(value)
    return 0.1


class _PooledHead(nn.Module):
    """RoBERTa's classification head: dropout, dense, tanh, dropout, projection."""

    def __init__(self, hidden: int, n_out: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden, hidden)
        self.out_proj = nn.Linear(hidden, n_out)

    def forward(self, pooled):
        x = self.dropout(pooled)
        x = torch.tanh(self.dense(x))
        return self.out_proj(self.dropout(x))


class _TokenHead(nn.Module):
    def __init__(self, hidden: int, n_out: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden, n_out)

    def forward(self, hidden_states):
        return self.classifier(self.dropout(hidden_states))


def _make_head(fmt: str, hidden: int, n_labels: int | None, dropout: float) -> nn.Module:
    if fmt == "sentence_pair":
        if not n_labels or n_labels < 2:
            raise ValueError(f"n_labels={n_labels!r} is not valid for a sentence_pair head: expected >= 2")
        return _PooledHead(hidden, n_labels, dropout)
    if fmt == "tagging":
        if not n_labels or n_labels < 2:
            raise ValueError(f"n_labels={n_labels!r} is not valid for a tagging head: expected >= 2")
        return _TokenHead(hidden, n_labels, dropout)
    if fmt == "extractive_qa":
        return nn.Linear(hidden, 2)
    if fmt == "multiple_choice":
        return _PooledHead(hidden, 1, dropout)
    raise ValueError(f"format={fmt!r} has no trainable head: expected one of {list(HEAD_FORMATS)}")


def head_seed(seed: int, *keys: str) -> int:
    """A seed derived from ``seed`` and ``keys`` (e.g. a phase and a task), the same in every process.

    Examples
    --------
    >>> head_seed(1, "target", "XNLI") == head_seed(1, "target", "XNLI") != head_seed(2, "target", "XNLI")
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed={seed!r} is not valid: expected an integer")
    digest = hashlib.sha256("\x1f".join([str(seed), *map(str, keys)]).encode()).digest()
    return int.from_bytes(digest[:8], "little") % (2**63 - 1)


class TransferModel(nn.Module):
    """A shared encoder with one head per task.

    Parameters
    ----------
    encoder : transformers.PreTrainedModel
        A base encoder (no task head), e.g. from :func:`load_encoder`.
    formats : mapping of str to str
        Task name -> task format (:data:`HEAD_FORMATS`).
    n_labels : mapping of str to int, optional
        Task name -> number of labels (classification and tagging tasks).
    pooling : {"first", "mean"}, optional
        Sentence representation for the pooled heads: the first token
        (``<s>``/``[CLS]``, default) or the mean over non-padding tokens
        (default for encoder-decoder encoders, which have no CLS token).
    seed : int, optional
        Initialises each task's head from ``head_seed(seed, task)`` on a
        forked RNG (the global RNG is left as it was), so a head does not
        depend on what ran before in the process: the pipeline passes one
        seed per phase, and a run restarted in phase 2 gets the head an
        uninterrupted run gets.  Default: the global torch RNG.

    Notes
    -----
    ``forward(task=..., **batch)`` runs the encoder once and the head of
    ``task``; it returns the loss when the batch holds ``labels`` (or
    ``start_positions``/``end_positions``).  Multiple-choice batches are
    ``(batch, choices, length)``.
    """

    def __init__(self, encoder, formats: Mapping[str, str], n_labels: Mapping[str, int] | None = None,
                 *, pooling: str | None = None, seed: int | None = None):
        super().__init__()
        if not formats:
            raise ValueError("formats is empty: give at least one task -> format")
        self.encoder = encoder
        self.config = encoder.config
        n_labels = dict(n_labels or {})
        hidden, dropout = _hidden_size(encoder.config), _dropout(encoder.config)
        self.formats = dict(formats)
        self.n_labels = {t: n_labels.get(t) for t in self.formats}
        heads = {}
        for t, f in self.formats.items():
            with torch.random.fork_rng(devices=[], enabled=seed is not None):
                if seed is not None:  # the CPU generator only (torch.manual_seed would reseed CUDA too)
                    torch.random.default_generator.manual_seed(head_seed(seed, t))
                heads[_head_key(t)] = _make_head(f, hidden, n_labels.get(t), dropout)
        self.heads = nn.ModuleDict(heads)
        if pooling is None:
            pooling = "mean" if getattr(encoder.config, "is_encoder_decoder", False) else "first"
        if pooling not in ("first", "mean"):
            raise ValueError(f"pooling={pooling!r} is not valid: expected 'first' or 'mean'")
        self.pooling = pooling

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.formats)

    def _pool(self, hidden, attention_mask):
        if self.pooling == "first":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def forward(self, task=None, input_ids=None, attention_mask=None, token_type_ids=None,
                labels=None, start_positions=None, end_positions=None):
        if task is None:
            if len(self.formats) != 1:
                raise ValueError(f"task=None is ambiguous: this model has heads for {list(self.formats)}")
            task = next(iter(self.formats))
        if isinstance(task, (list, tuple)):
            if len(set(task)) != 1:
                raise ValueError(f"a batch must hold one task, got {sorted(set(task))}")
            task = task[0]
        fmt = self.formats.get(task)
        if fmt is None:
            raise ValueError(f"task={task!r} has no head in this model: expected one of {list(self.formats)}")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        n_choices = None
        if fmt == "multiple_choice":
            n_choices = input_ids.shape[1]
            input_ids = input_ids.reshape(-1, input_ids.shape[-1])
            attention_mask = attention_mask.reshape(-1, attention_mask.shape[-1])
            if token_type_ids is not None:
                token_type_ids = token_type_ids.reshape(-1, token_type_ids.shape[-1])
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**kwargs).last_hidden_state
        head = self.heads[_head_key(task)]
        loss = None
        if fmt == "mlm":  # continued masked LM: xdist.train.mlm.MLMHead computes its own loss
            loss, logits = head(hidden, labels)
            return TransferOutput(loss=loss, logits=logits)
        if fmt == "extractive_qa":
            start, end = head(hidden).float().split(1, dim=-1)
            start, end = start.squeeze(-1), end.squeeze(-1)
            pad = attention_mask == 0
            start = start.masked_fill(pad, torch.finfo(start.dtype).min)
            end = end.masked_fill(pad, torch.finfo(end.dtype).min)
            if start_positions is not None and end_positions is not None:
                n = start.shape[1]
                fn = nn.CrossEntropyLoss(ignore_index=n)
                loss = (fn(start, start_positions.clamp(0, n)) + fn(end, end_positions.clamp(0, n))) / 2
            return TransferOutput(loss=loss, start_logits=start, end_logits=end)
        if fmt == "tagging":
            logits = head(hidden).float()
            if labels is not None:
                loss = nn.functional.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100
                )
            return TransferOutput(loss=loss, logits=logits)
        logits = head(self._pool(hidden, attention_mask)).float()
        if n_choices is not None:
            logits = logits.reshape(-1, n_choices)
        if labels is not None:
            loss = nn.functional.cross_entropy(logits, labels)
        return TransferOutput(loss=loss, logits=logits)


def _head_key(task: str) -> str:
    # ModuleDict keys cannot contain "."; task names may ("SQuAD-v1.1").
    return task.replace(".", "_")


# ---- saving, loading and fingerprints -------------------------------------------------------


def fingerprint(encoder: nn.Module | Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of an encoder's tensors (names, dtypes, shapes and values), hex.

    Two encoders have the same fingerprint exactly when every parameter and
    buffer is identical, whatever device they are on.  A mapping of name to
    tensor (a state dict, e.g. adapter weights) is fingerprinted the same way.
    """
    h = hashlib.sha256()
    state = encoder if isinstance(encoder, Mapping) else encoder.state_dict()
    for name in sorted(state):
        t = state[name].detach()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.to("cpu").contiguous().view(torch.uint8).numpy().tobytes()
                 if t.numel() else b"")
    return h.hexdigest()


@contextlib.contextmanager
def _quiet():
    """No load reports or progress bars from transformers (xdist checks and reports itself)."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _check_model_dir(path) -> Path:
    p = Path(path)
    if not p.is_dir() or not (p / "config.json").is_file():
        raise ValueError(
            f"model={str(path)!r} is not a local model directory (with config.json): xdist loads "
            "models only from local paths; download a checkpoint once (e.g. `hf download "
            "FacebookAI/xlm-roberta-large --local-dir DIR`) and pass DIR"
        )
    return p


def load_encoder(path, *, expected_fingerprint: str | None = None, attn_implementation: str | None = "sdpa",
                 dtype=None):
    """Load the base encoder of a local checkpoint, refusing to start from random weights.

    Parameters
    ----------
    path : path
        A local model directory: a pretrained checkpoint (with or without
        its pretraining head, e.g. ``XLMRobertaForMaskedLM``) or the
        ``encoder/`` directory a phase saved.
    expected_fingerprint : str, optional
        The :func:`fingerprint` recorded when the encoder was saved; the
        loaded tensors must match it exactly.
    attn_implementation : str, default "sdpa"
        Attention kernel (``"sdpa"``: PyTorch's scaled-dot-product
        attention; ``"eager"``; ``None`` lets transformers choose).  Falls
        back to transformers' choice for architectures without SDPA.
    dtype : torch.dtype, optional

    Raises
    ------
    WeightTransferError
        When the checkpoint lacks weights the encoder needs (e.g. a key
        prefix mismatch) or the tensors differ from ``expected_fingerprint``.
    """
    from transformers import AutoConfig, AutoModel, AutoModelForTextEncoding
    p = _check_model_dir(path)
    config = AutoConfig.from_pretrained(p, local_files_only=True)
    cls = AutoModelForTextEncoding if getattr(config, "is_encoder_decoder", False) else AutoModel
    kwargs = {"local_files_only": True, "output_loading_info": True}
    if dtype is not None:
        kwargs["dtype"] = dtype
    with _quiet():  # the load report is checked below, not printed
        model, info = _from_pretrained(cls, p, config, kwargs, attn_implementation)
    missing = sorted(k for k in info.get("missing_keys", ()) if not k.startswith("pooler."))
    if missing:
        unexpected = sorted(info.get("unexpected_keys", ()))
        hint = f"; the checkpoint has instead e.g. {unexpected[:3]}" if unexpected else ""
        raise WeightTransferError(
            f"model={str(path)!r}: {len(missing)} encoder weights are missing from the checkpoint "
            f"(e.g. {missing[:3]}){hint}. Refusing to train from randomly initialised weights; "
            "a key-prefix mismatch between how the checkpoint was saved and the encoder class "
            "is the usual cause"
        )
    if getattr(model, "pooler", None) is not None and any(
        k.startswith("pooler.") for k in info.get("missing_keys", ())
    ):
        model.pooler = None  # random and unused: keep it out of the fingerprint and the optimizer
    if expected_fingerprint is not None:
        got = fingerprint(model)
        if got != expected_fingerprint:
            raise WeightTransferError(
                f"model={str(path)!r}: the loaded encoder's fingerprint {got[:12]} differs from the "
                f"one saved with it ({expected_fingerprint[:12]}): the weights did not carry over"
            )
    return model


def _from_pretrained(cls, path, config, kwargs, attn_implementation):
    import inspect

    extra = {}
    try:
        model_cls = cls._model_mapping[type(config)]
        if "add_pooling_layer" in inspect.signature(model_cls.__init__).parameters:
            extra["add_pooling_layer"] = False
    except (KeyError, AttributeError, TypeError):
        pass
    if attn_implementation is not None:
        try:
            return cls.from_pretrained(path, attn_implementation=attn_implementation, **extra, **kwargs)
        except (ValueError, ImportError) as err:
            if "attn_implementation" not in str(err) and "sdpa" not in str(err).lower():
                raise
    return cls.from_pretrained(path, **extra, **kwargs)


def save_phase(model: TransferModel, path, *, tokenizer=None, extra: Mapping | None = None) -> Path:
    """Save a phase's result: ``encoder/`` (with its fingerprint), ``heads.safetensors``, ``heads.json``.

    A model with adapters (:mod:`xdist.train.adapters`) saves
    ``adapters.safetensors`` and ``adapters.json`` instead of ``encoder/``.

    Written into a temporary directory and renamed into place, so a phase
    directory either is complete or does not exist.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import shutil

    from safetensors.torch import save_file

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    if getattr(model, "adapter_specs", None) is not None:
        # adapters (xdist.train.adapters): the base stays frozen where it is; save the adapters
        # with their fingerprint and the base's
        from xdist.train.adapters import write_adapters

        tmp.mkdir(parents=True)
        carried = write_adapters(model, tmp)
    else:
        (tmp / "encoder").mkdir(parents=True)
        with _quiet():
            model.encoder.save_pretrained(tmp / "encoder")
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp / "encoder")
        fp = fingerprint(model.encoder)
        (tmp / "encoder" / FINGERPRINT_FILE).write_text(json.dumps({"sha256": fp}) + "\n")
        carried = {"encoder_fingerprint": fp}
    heads = {k: v.detach().cpu().contiguous() for k, v in model.heads.state_dict().items()}
    save_file(heads, str(tmp / "heads.safetensors"))
    meta = {"formats": model.formats, "n_labels": model.n_labels, "pooling": model.pooling,
            **carried, **dict(extra or {})}
    (tmp / "heads.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    for f in tmp.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    return path


def saved_fingerprint(encoder_dir) -> str | None:
    """The fingerprint saved with an ``encoder/`` directory (``None`` for a pretrained checkpoint)."""
    f = Path(encoder_dir) / FINGERPRINT_FILE
    if not f.is_file():
        return None
    return json.loads(f.read_text())["sha256"]


def load_phase(path, *, tasks: Mapping[str, str] | None = None, n_labels: Mapping[str, int] | None = None,
               attn_implementation: str | None = "sdpa", base=None) -> TransferModel:
    """Load a phase saved by :func:`save_phase`, checking the encoder's fingerprint.

    ``tasks`` (name -> format) adds fresh heads for tasks the phase did not
    train; heads the phase trained are restored.  A phase saved with
    adapters loads as :class:`xdist.train.adapters.AdaptedTransferModel`: the
    base encoder (``base``, default the directory recorded with the
    adapters; its fingerprint checked) with every adapter checked.
    """
    from safetensors.torch import load_file

    path = Path(path)
    meta = json.loads((path / "heads.json").read_text())
    formats = dict(meta["formats"])
    labels = {k: v for k, v in meta["n_labels"].items() if v is not None}
    formats.update(tasks or {})
    labels.update(n_labels or {})
    mlm = [t for t, f in formats.items() if f == "mlm"]  # continued-MLM heads (xdist.train.mlm), added below
    for t in mlm:
        formats.pop(t)
    if "adapter_fingerprint" in meta:
        from xdist.train.adapters import load_adapted_model

        model = load_adapted_model(path, formats, labels, pooling=meta.get("pooling"), base=base,
                                   attn_implementation=attn_implementation)
    else:
        encoder = load_encoder(path / "encoder", expected_fingerprint=meta["encoder_fingerprint"],
                               attn_implementation=attn_implementation)
        model = TransferModel(encoder, formats, labels, pooling=meta.get("pooling"))
    if mlm:
        from xdist.train.mlm import attach_mlm_head

        for t in mlm:
            attach_mlm_head(model, path / "encoder", name=t)  # weights restored from heads.safetensors
    state = load_file(str(path / "heads.safetensors"))
    missing, unexpected = model.heads.load_state_dict(state, strict=False)
    trained = {_head_key(t) for t in meta["formats"]}
    bad = [k for k in missing if k.split(".")[0] in trained]
    if bad or unexpected:
        raise WeightTransferError(
            f"{path}/heads.safetensors does not match the heads in heads.json "
            f"(missing {bad[:3]}, unexpected {list(unexpected)[:3]})"
        )
    return model
