"""Decoder LLMs: zero- and few-shot evaluation by the log-likelihood of the choices.

A causal language model answers a classification or multiple-choice example
by the choice whose continuation it finds most likely after the prompt
(lm-evaluation-harness's ``multiple_choice`` output type).  This module
renders every example with the task's prompt template from the registry
(:attr:`xdist.train.tasks.Task.prompts`), scores all (context,
continuation) requests of a language in batches, and writes
``accuracy`` (argmax of the summed log-probability) and ``accuracy_norm``
(argmax of the summed log-probability divided by the continuation's length
in characters, the harness's ``acc_norm``) per language to the results store
(:mod:`xdist.store`), with the setting ``llm-<k>shot`` (``+lora`` after LoRA
fine-tuning on an English intermediate task; :func:`xdist.settings.llm_setting`).

Tokenisation follows the harness: trailing whitespace of the context moves to
the continuation; context + continuation are encoded together and the
continuation is the tokens after those of the context alone, so a token that
spans the boundary is scored as part of the continuation; an empty context is
replaced by the model's prefix token (BOS, else EOS).  Where the tokenizer
itself puts a BOS token in front of a text (Llama, Gemma, the toy model),
every request starts with it.  Contexts longer than the model's window are
cut from the left.

Examples
--------
>>> from xdist.train.llm import LMEvalConfig
>>> cfg = LMEvalConfig(model="models/tiny", tasks=("xcopa",), data_dir="data", output="runs/x", shots=2)
>>> cfg.validate().tasks, cfg.setting
(('XCOPA',), 'llm-2shot')
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xdist.settings import llm_setting

__all__ = [
    "LMEvalConfig",
    "LMEvalSummary",
    "Request",
    "load_causal_lm",
    "encode_request",
    "loglikelihoods",
    "render_requests",
    "fewshot_pool",
    "score_choices",
    "evaluate_language",
    "finetune_lora",
    "run",
    "run_smoke",
]

#: Precisions accepted by :func:`load_causal_lm`.
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
#: Formats a prompt can score (a label or a choice per continuation).
SCORABLE_FORMATS = ("sentence_pair", "multiple_choice")
#: Between few-shot demonstrations (and before the example), as in the harness.
FEWSHOT_DELIMITER = "\n\n"


# ---- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LMEvalConfig:
    """Everything one ``xdist lm-eval`` invocation needs.

    Attributes
    ----------
    model : str
        Local model directory (``config.json``, weights, tokenizer).
    tasks : tuple of str
        Tasks to evaluate; each needs a prompt in the registry (XNLI,
        PAWS-X, XCOPA, XStoryCloze, ...).
    data_dir, output : str
        Task data root; run directory (``store/``, ``lora/``, ``config.json``).
    shots : int
        English demonstrations before each example (0: zero-shot).
    languages : tuple of str or None
        Languages to evaluate (default every language of each task).
    intermediate : str or None
        English task to fine-tune a LoRA adapter on before evaluating (needs
        ``lora=True``; the only fine-tuning offered).
    lora : bool
    seed : int
        Seeds the demonstrations and LoRA training.
    batch_size : int
        Requests (example x choice) per forward pass.
    limit : int or None
        First N examples per language (for quick checks; recorded in the
        run's identity).
    layout, store, model_name, prompt, precision, max_length, padding_side
        Data layout (default: first found); results store (default
        ``OUTPUT/store``); name in the results table (default the model
        directory's name); prompt name (default the task's first);
        ``auto``/``bf16``/``fp16``/``fp32``; token window (default the
        model's); ``right`` or ``left`` padding of batches.
    lora_r, lora_alpha, lora_dropout, lora_learning_rate, lora_epochs, lora_batch_size, lora_max_examples
        LoRA fine-tuning (rank 8, alpha 16, dropout 0.05 on every linear
        layer of the decoder; AdamW 2e-4, linear decay, one epoch, batches of
        8, the first 10,000 shuffled English training examples).
    """

    model: str = ""
    tasks: tuple[str, ...] = ()
    data_dir: str = ""
    output: str = ""
    shots: int = 0
    languages: tuple[str, ...] | None = None
    intermediate: str | None = None
    lora: bool = False
    seed: int = 1
    batch_size: int = 16
    limit: int | None = None
    layout: str | None = None
    store: str | None = None
    model_name: str | None = None
    prompt: str | None = None
    precision: str = "auto"
    max_length: int | None = None
    padding_side: str = "right"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_learning_rate: float = 2e-4
    lora_epochs: float = 1.0
    lora_batch_size: int = 8
    lora_max_examples: int | None = 10_000

    def validate(self) -> LMEvalConfig:
        """Check every value; return the config with task names and languages canonical."""
        from xdist.languages import resolve
        from xdist.train.tasks import get_task

        if not self.model:
            raise ValueError("model is required: give a local model directory (--model PATH)")
        if not self.output:
            raise ValueError("output is required: give a run directory (--output DIR)")
        if not self.data_dir:
            raise ValueError("data_dir is required: give the task data root (--data-dir DIR)")
        names = (self.tasks,) if isinstance(self.tasks, str) else tuple(self.tasks)
        if not names:
            raise ValueError("tasks is empty: give at least one task (--task XNLI,XCOPA)")
        tasks = tuple(dict.fromkeys(get_task(t).name for t in names))
        for name in tasks:
            _check_scorable(get_task(name), "tasks")
            get_task(name).prompt(self.prompt)
        for key in ("shots", "seed", "batch_size", "lora_r", "lora_alpha", "lora_batch_size"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{key}={value!r} is not valid: expected an integer")
        if self.shots < 0:
            raise ValueError(f"shots={self.shots!r} is not valid: expected an integer >= 0")
        for key in ("batch_size", "lora_r", "lora_alpha", "lora_batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}={getattr(self, key)!r} is not valid: expected an integer >= 1")
        for key in ("limit", "max_length", "lora_max_examples"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{key}={value!r} is not valid: expected a positive integer or None")
        if not (isinstance(self.lora_learning_rate, (int, float)) and self.lora_learning_rate > 0):
            raise ValueError(f"lora_learning_rate={self.lora_learning_rate!r} is not valid: expected > 0")
        if not (isinstance(self.lora_epochs, (int, float)) and self.lora_epochs > 0):
            raise ValueError(f"lora_epochs={self.lora_epochs!r} is not valid: expected > 0")
        if not (isinstance(self.lora_dropout, (int, float)) and 0 <= self.lora_dropout < 1):
            raise ValueError(f"lora_dropout={self.lora_dropout!r} is not valid: expected 0 <= p < 1")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision={self.precision!r} is not valid: expected one of {list(PRECISIONS)}")
        if self.padding_side not in ("right", "left"):
            raise ValueError(f"padding_side={self.padding_side!r} is not valid: expected 'right' or 'left'")
        if self.layout is not None and self.layout not in ("xtreme", "original", "jiant", "jsonl"):
            raise ValueError(f"layout={self.layout!r} is not valid: expected one of "
                             "['xtreme', 'original', 'jiant', 'jsonl'] or None")
        inter = None
        if self.intermediate:
            t = get_task(self.intermediate)
            _check_scorable(t, "intermediate")
            t.prompt(None)
            if not self.lora:
                raise ValueError(f"intermediate={self.intermediate!r} needs lora=True (--lora): LoRA is the "
                                 "only fine-tuning xdist lm-eval does")
            inter = t.name
        elif self.lora:
            raise ValueError("lora=True needs an English intermediate task to fine-tune on (--intermediate TASK)")
        langs = None
        if self.languages is not None:
            given = (self.languages,) if isinstance(self.languages, str) else tuple(self.languages)
            if not given:
                raise ValueError("languages is empty: give language codes or None for each task's own")
            langs = tuple(dict.fromkeys(resolve(x, param="languages") for x in given))
            known = {lang for n in tasks for lang in get_task(n).languages}
            bad = [x for x in langs if x not in known]
            if bad:
                raise ValueError(f"languages={list(bad)!r} are not languages of {list(tasks)}: expected any of "
                                 f"{sorted(known)}")
        return replace(self, tasks=tasks, intermediate=inter, languages=langs)

    @property
    def setting(self) -> str:
        """The results table's ``setting`` (``llm-<k>shot``, ``+lora`` after fine-tuning)."""
        return llm_setting(self.shots, ["lora"] if self.lora else [])

    @property
    def name(self) -> str:
        """The model's name in the results table."""
        return self.model_name or Path(str(self.model).rstrip("/")).name

    @property
    def store_path(self) -> str:
        return self.store or os.path.join(self.output, "store")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["tasks"] = list(self.tasks)
        if self.languages is not None:
            d["languages"] = list(self.languages)
        return d

    def lora_identity(self) -> dict[str, Any]:
        """What the LoRA adapter depends on (a different value retrains it); ``data_dir`` resolved."""
        keys = ("model", "intermediate", "seed", "lora_r", "lora_alpha", "lora_dropout", "lora_learning_rate",
                "lora_epochs", "lora_batch_size", "lora_max_examples", "max_length", "layout")
        d = {k: getattr(self, k) for k in keys}
        d["model"] = os.path.abspath(self.model)
        d["data_dir"] = _resolved(self.data_dir)
        return d

    def identity(self, task: str) -> dict[str, Any]:
        """What one task's scores depend on: part of its store run's identity.

        The same model evaluated on another data directory (``data_dir``,
        resolved: a symbolic link or a relative path names the directory it
        points to) is another run.
        """
        d = {k: getattr(self, k) for k in ("shots", "seed", "limit", "layout", "prompt", "max_length")}
        d.update(program="xdist lm-eval", model=os.path.abspath(self.model), task=task,
                 data_dir=_resolved(self.data_dir), prompt=self.prompt or _task(task).prompt().name,
                 precision=self.precision)
        if self.lora:
            d["lora"] = self.lora_identity()
        return d


def _resolved(path) -> str:
    """``path`` absolute, ``~`` expanded and symbolic links resolved ("" stays "")."""
    return str(Path(os.path.expanduser(str(path))).resolve()) if path else ""


def _task(name):
    from xdist.train.tasks import get_task

    return get_task(name)


def _check_scorable(t, param: str) -> None:
    if t.format not in SCORABLE_FORMATS:
        from xdist.train.tasks import list_tasks

        ok = [n for n in list_tasks() + list_tasks("llm")
              if _task(n).prompts and _task(n).format in SCORABLE_FORMATS]
        raise ValueError(f"{param}={t.name!r} is a {t.format} task: decoder-LLM scoring needs a "
                         f"sentence-pair or multiple-choice task with a prompt: expected one of {ok}")


# ---- model loading ---------------------------------------------------------------------------


def _device_dtype(precision: str):
    """The device and the dtype to load the model in (the encoder pipeline's choice; float32 for None)."""
    import torch

    from xdist.train.pipeline import device_and_dtype

    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} is not valid: expected one of {list(PRECISIONS)}")
    dev, dtype = device_and_dtype(precision)
    return dev, dtype or torch.float32


def _check_model_dir(path) -> Path:
    p = Path(str(path))
    if not p.is_dir():
        raise ValueError(f"model={str(path)!r} is not a local model directory: give the path of a "
                         "checkpoint saved with save_pretrained (nothing is downloaded; fetch it once with "
                         "e.g. `hf download ORG/NAME --local-dir models/NAME`)")
    if not (p / "config.json").is_file():
        raise ValueError(f"model={str(path)!r} has no config.json: expected a directory written by "
                         "save_pretrained (config.json, weights, tokenizer files)")
    return p


def load_causal_lm(path, *, precision: str = "auto", attn_implementation: str = "sdpa"):
    """Load a local causal LM and its tokenizer; nothing is downloaded.

    Parameters
    ----------
    path : path
        A directory written by ``save_pretrained`` (``config.json``, weights,
        tokenizer files).  A hub id is refused.
    precision : {"auto", "bf16", "fp16", "fp32"}
        ``auto``: bf16 on GPUs that support it, else fp16 on GPU, fp32 on CPU.
    attn_implementation : str
        ``sdpa`` (PyTorch scaled-dot-product attention) by default.

    Returns
    -------
    (model, tokenizer)
        The model in eval mode on the device.

    Raises
    ------
    ValueError
        When ``path`` is not a local model directory.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from xdist.train.model import _quiet

    p = _check_model_dir(path)
    device, dtype = _device_dtype(precision)
    with _quiet():
        tokenizer = AutoTokenizer.from_pretrained(p, local_files_only=True)
        try:
            model = AutoModelForCausalLM.from_pretrained(p, local_files_only=True, dtype=dtype,
                                                         attn_implementation=attn_implementation)
        except ValueError as err:
            raise ValueError(f"model={str(path)!r} does not load as a causal LM: {err}") from None
    model.to(device)
    model.eval()
    return model, tokenizer


# ---- requests and log-likelihoods ------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One continuation to score: token ids of the context and of the continuation."""

    context: tuple[int, ...]
    continuation: tuple[int, ...]


def _prefix_ids(tokenizer) -> tuple[list[int], int | None]:
    """(tokens the tokenizer puts before a text, the prefix token for an empty context)."""
    cached = getattr(tokenizer, "_xdist_prefix", None)
    if cached is not None:
        return cached
    bos = tokenizer.bos_token_id
    with_special = tokenizer("x", add_special_tokens=True)["input_ids"]
    plain = tokenizer("x", add_special_tokens=False)["input_ids"]
    lead = []
    if bos is not None and len(with_special) > len(plain) and with_special[0] == bos:
        lead = [bos]
    prefix = bos if bos is not None else tokenizer.eos_token_id
    out = (lead, prefix)
    try:
        tokenizer._xdist_prefix = out
    except AttributeError:  # pragma: no cover - slotted tokenizers
        pass
    return out


def encode_request(tokenizer, context: str, continuation: str) -> Request:
    """Token ids of ``context`` and ``continuation`` as the harness splits them.

    Trailing whitespace of the context moves to the continuation; the
    context + continuation string is encoded once and the continuation is
    the tokens after those of the context alone (so a token spanning the
    boundary belongs to the continuation).  An empty context becomes the
    model's prefix token; tokenizers that put BOS before a text get it
    in front of every context.

    Examples
    --------
    >>> from xdist.train.toy import make_tokenizer
    >>> tok = make_tokenizer(["the cat sat on the mat"] * 4, vocab_size=30)
    >>> r = encode_request(tok, "the cat ", "sat")
    >>> r.context[0] == tok.bos_token_id, tok.decode(r.continuation)
    (True, 'sat')
    """
    if not isinstance(continuation, str) or continuation == "":
        raise ValueError(f"continuation={continuation!r} is not valid: expected a non-empty string")
    lead, prefix = _prefix_ids(tokenizer)
    n = len(context) - len(context.rstrip())
    if n:
        context, continuation = context[:-n], context[-n:] + continuation
    if context == "":
        if prefix is None:
            raise ValueError("the tokenizer has neither a BOS nor an EOS token to stand for an empty context")
        ctx = [prefix]
        cont = tokenizer(continuation, add_special_tokens=False)["input_ids"]
        return Request(tuple(ctx), tuple(cont))
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    ctx = tokenizer(context, add_special_tokens=False)["input_ids"]
    cont = whole[len(ctx):]
    if not cont:  # the context's last token swallowed the continuation: score it on its own
        cont = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    return Request(tuple(lead + ctx), tuple(cont))


def _window(model, tokenizer, max_length: int | None) -> int:
    if max_length:
        return int(max_length)
    n = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
    tm = getattr(tokenizer, "model_max_length", None)
    cands = [x for x in (n, tm) if isinstance(x, int) and 0 < x < 10**7]
    return min(cands) if cands else 2048


def _inputs(req: Request, window: int) -> tuple[list[int], int]:
    """(input ids, number of continuation tokens) of one request, cut to ``window`` from the left."""
    if len(req.continuation) > window:
        raise ValueError(f"a continuation of {len(req.continuation)} tokens does not fit the model's window "
                         f"of {window} tokens: raise max_length (--max-length; default the model's)")
    full = list(req.context) + list(req.continuation)
    return full[-(window + 1):][:-1], len(req.continuation)


def loglikelihoods(model, requests: Sequence[Request], *, batch_size: int = 16, max_length: int | None = None,
                   padding_side: str = "right", tokenizer=None) -> list[tuple[float, bool]]:
    """Summed log-probability of each request's continuation, and whether it is the greedy one.

    Requests are deduplicated, requests with the same input sequence (the
    one-token continuations of one context) share a row, and rows are
    sorted by length (longest first, so that batches hold similar lengths
    and memory errors come first) and scored ``batch_size`` at a time in one
    forward pass each, padded on the right
    or the left with the attention mask and explicit position ids, so the
    numbers do not depend on the batch or the padding.  Log-softmax is taken
    in float32 over the continuation positions only.

    Parameters
    ----------
    model : transformers causal LM
    requests : sequence of Request
    batch_size : int
    max_length : int, optional
        Token window (default the model's ``max_position_embeddings``).
    padding_side : {"right", "left"}
    tokenizer : optional
        Only for its ``model_max_length`` and pad id.

    Returns
    -------
    list of (float, bool)
        In the order of ``requests``.
    """
    import torch

    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side={padding_side!r} is not valid: expected 'right' or 'left'")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} is not valid: expected a positive integer")
    window = _window(model, tokenizer, max_length)
    unique: dict[tuple, int] = {}
    keys = []
    for r in requests:
        keys.append(unique.setdefault((r.context, r.continuation), len(unique)))
    # one row per distinct input sequence: requests with the same input (one-token
    # continuations of one context) are all scored from the same forward pass
    rows_of: dict[tuple, int] = {}
    inputs: list[list[int]] = []
    members: list[list[tuple[int, tuple[int, ...]]]] = []  # row -> [(request, continuation)]
    for k, (ctx, cont) in enumerate(unique):
        seq, _ = _inputs(Request(ctx, cont), window)
        row = rows_of.setdefault(tuple(seq), len(inputs))
        if row == len(inputs):
            inputs.append(seq)
            members.append([])
        members[row].append((k, cont))
    order = sorted(range(len(inputs)), key=lambda i: (-len(inputs[i]), i))
    pad = 0
    if tokenizer is not None and tokenizer.pad_token_id is not None:
        pad = tokenizer.pad_token_id
    device = next(model.parameters()).device
    results: list[tuple[float, bool] | None] = [None] * len(unique)
    with torch.inference_mode():
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            width = max(len(inputs[i]) for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                seq = inputs[i]
                sl = slice(0, len(seq)) if padding_side == "right" else slice(width - len(seq), width)
                ids[row, sl] = torch.tensor(seq, dtype=torch.long)
                mask[row, sl] = 1
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            ids, mask, pos = ids.to(device), mask.to(device), pos.to(device)
            logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits
            rows, cols, targets, owners = [], [], [], []
            for row, i in enumerate(idx):
                end = len(inputs[i]) if padding_side == "right" else width
                for k, cont in members[i]:
                    n = len(cont)
                    # the logits at position t predict token t + 1: the continuation's n
                    # tokens are predicted by the last n input positions
                    for j in range(n):
                        rows.append(row)
                        cols.append(end - n + j)
                        targets.append(cont[j])
                        owners.append(k)
            sel = logits[torch.tensor(rows, device=device), torch.tensor(cols, device=device)].float()
            logp = torch.log_softmax(sel, dim=-1)
            tgt = torch.tensor(targets, device=device)
            tok_lp = logp.gather(-1, tgt[:, None])[:, 0].cpu().tolist()
            greedy = (logp.argmax(-1) == tgt).cpu().tolist()
            acc: dict[int, list] = {}
            for o, lp, g in zip(owners, tok_lp, greedy):
                a = acc.setdefault(o, [0.0, True])
                a[0] += lp
                a[1] = a[1] and bool(g)
            for o, (lp, g) in acc.items():
                results[o] = (float(lp), bool(g))
    return [results[k] for k in keys]  # type: ignore[misc]


# ---- prompts, demonstrations -----------------------------------------------------------------


def _fields(example: Mapping) -> dict:
    return {k: v for k, v in dict(example).items() if k not in ("id", "language", "label")}


def _gold(example: Mapping, n: int, where: str) -> int:
    label = int(example["label"])
    if not 0 <= label < n:
        raise ValueError(f"{where}: label {label} has no choice (there are {n}); the file has no gold labels?")
    return label


def render_requests(prompt, example: Mapping, language: str, *, demonstrations: Sequence[Mapping] = (),
                    demo_language: str = "en") -> tuple[str, list[str], list[str]]:
    """``(context, continuations, choice_texts)`` of one example, demonstrations first.

    Each demonstration is rendered with ``demo_language``'s words and its gold
    continuation; demonstrations and the example are separated by a blank
    line (:data:`FEWSHOT_DELIMITER`).  ``continuations`` start with the
    prompt's delimiter; ``choice_texts`` are without it (their lengths
    normalise ``accuracy_norm``).

    Examples
    --------
    >>> from xdist.train.tasks import get_task
    >>> p = get_task("XCOPA").prompt()
    >>> ex = {"context": "Il vaso si ruppe.", "question": "cause", "choices": ["Cadde.", "Volò."], "label": 0}
    >>> demo = {"context": "The man fell.", "question": "effect", "choices": ["He cried.", "He flew."], "label": 0}
    >>> ctx, conts, texts = render_requests(p, ex, "it", demonstrations=[demo])
    >>> print(ctx)
    The man fell therefore he cried.
    <BLANKLINE>
    Il vaso si ruppe perché
    >>> conts
    [' cadde.', ' volò.']
    """
    parts = []
    for d in demonstrations:
        dctx, dconts = prompt.render(_fields(d), demo_language)
        parts.append(dctx + prompt.delimiter + dconts[_gold(d, len(dconts), "demonstration")])
    ctx, texts = prompt.render(_fields(example), language)
    if parts:
        ctx = FEWSHOT_DELIMITER.join(parts) + FEWSHOT_DELIMITER + ctx
    return ctx, [prompt.delimiter + t for t in texts], texts


def _source_task(t):
    """The task whose English training data gives demonstrations / LoRA data for ``t``."""
    return _task(t.train_task) if t.train_task else t


def fewshot_pool(task, *, data_dir, layout: str | None = None, limit: int | None = None):
    """The English examples demonstrations are drawn from (train split, else dev), as a list of dicts.

    XCOPA's come from COPA (its ``train_task``), XNLI's from MultiNLI train.
    """
    from xdist.train.readers import load_examples

    t = _task(task)
    src = _source_task(t)
    split = "train" if "train" in src.splits else ("dev" if "dev" in src.splits else src.eval_split)
    lay = layout if layout in src.layout_names else None
    ds = load_examples(src, split, src.train_language, data_dir=data_dir, layout=lay, require_labels=True,
                       limit=limit)
    return [dict(r) for r in ds]


def _demos(pool: Sequence[Mapping], k: int, seed: int, task: str, index: int) -> list[Mapping]:
    """k demonstrations for the ``index``-th example: seeded by (seed, task, index) only, so the
    same example index gets the same demonstrations in every language and every run."""
    if k == 0:
        return []
    if len(pool) < k:
        raise ValueError(f"shots={k} is more than the {len(pool)} English examples to draw demonstrations from")
    rng = random.Random(f"xdist-fewshot|{seed}|{task}|{index}")
    return [pool[i] for i in rng.sample(range(len(pool)), k)]


# ---- scoring ---------------------------------------------------------------------------------


def score_choices(loglik: Sequence[Sequence[float]], choice_texts: Sequence[Sequence[str]],
                  labels: Sequence[int]) -> dict[str, float]:
    """``accuracy`` and ``accuracy_norm`` (percent) from per-choice log-likelihoods.

    ``accuracy_norm`` divides each log-likelihood by the length of its
    choice text in characters (Unicode code points, the harness's
    ``acc_norm``).  Ties go to the first choice.

    Examples
    --------
    >>> score_choices([[-1.0, -2.0], [-9.0, -10.0]], [["a", "b"], ["x", "much longer"]], [0, 1])
    {'accuracy': 50.0, 'accuracy_norm': 100.0}
    """
    if not (len(loglik) == len(choice_texts) == len(labels)) or not labels:
        raise ValueError(f"loglik, choice_texts and labels must be non-empty and of one length, got "
                         f"{len(loglik)}, {len(choice_texts)}, {len(labels)}")
    hit = hit_norm = 0
    for ll, texts, gold in zip(loglik, choice_texts, labels):
        norm = [x / max(len(t), 1) for x, t in zip(ll, texts)]
        hit += int(max(range(len(ll)), key=lambda i: (ll[i], -i)) == gold)
        hit_norm += int(max(range(len(norm)), key=lambda i: (norm[i], -i)) == gold)
    n = len(labels)
    return {"accuracy": 100.0 * hit / n, "accuracy_norm": 100.0 * hit_norm / n}


def evaluate_language(model, tokenizer, task, examples: Sequence[Mapping], language: str, *, prompt=None,
                      pool: Sequence[Mapping] = (), shots: int = 0, seed: int = 1, batch_size: int = 16,
                      max_length: int | None = None, padding_side: str = "right") -> dict[str, float]:
    """Score one language's examples; ``{"accuracy": ..., "accuracy_norm": ...}`` in percent."""
    t = _task(task)
    prompt = prompt or t.prompt()
    reqs, spans, texts, labels = [], [], [], []
    for i, ex in enumerate(examples):
        label = _gold(ex, t.num_choices or len(t.labels) or 10**9, f"{t.name} {language} example {ex.get('id', i)}")
        demos = _demos(pool, shots, seed, t.name, i)
        ctx, conts, ctexts = render_requests(prompt, ex, language, demonstrations=demos)
        if label >= len(conts):
            raise ValueError(f"{t.name} {language} example {ex.get('id', i)}: label {label} but "
                             f"{len(conts)} choices")
        spans.append((len(reqs), len(reqs) + len(conts)))
        reqs.extend(encode_request(tokenizer, ctx, c) for c in conts)
        texts.append(ctexts)
        labels.append(label)
    if not reqs:
        raise ValueError(f"{t.name} {language}: no examples to score")
    lls = loglikelihoods(model, reqs, batch_size=batch_size, max_length=max_length, padding_side=padding_side,
                         tokenizer=tokenizer)
    per = [[lls[j][0] for j in range(a, b)] for a, b in spans]
    return score_choices(per, texts, labels)


# ---- LoRA fine-tuning ------------------------------------------------------------------------


def _sha(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def finetune_lora(model, tokenizer, cfg: LMEvalConfig, *, progress: Callable[[str], None] | None = None):
    """Fine-tune a LoRA adapter on ``cfg.intermediate``'s English training data; return the PEFT model.

    Each example is its prompt's context + delimiter + gold continuation
    (tokenised as :func:`encode_request` does); the loss is the mean
    cross-entropy over the continuation tokens only.  The adapter is saved
    under ``OUTPUT/lora/<task>-s<seed>-<hash>/adapter`` with ``DONE.json``;
    when that exists for the same configuration (``cfg.lora_identity()``),
    it is loaded instead of trained again.

    Returns
    -------
    (model, adapter_path, reused)
        The PEFT-wrapped model in eval mode, the adapter directory, and
        whether it was loaded from an earlier run.
    """
    with warnings.catch_warnings():  # transformers deprecation raised inside peft, not ours to fix
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return _finetune_lora(model, tokenizer, cfg, progress)


def _finetune_lora(model, tokenizer, cfg: LMEvalConfig, progress):
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    say = progress or (lambda msg: None)
    ident = cfg.lora_identity()
    tag = f"{cfg.intermediate}-s{cfg.seed}-{_sha(ident)[:8]}"
    out = Path(cfg.output) / "lora" / tag
    done = out / "DONE.json"
    if done.is_file():
        rec = json.loads(done.read_text(encoding="utf-8"))
        if rec.get("identity") == json.loads(json.dumps(ident, default=str)):
            say(f"LoRA adapter {out / 'adapter'} already trained: loading it")
            pm = PeftModel.from_pretrained(model, out / "adapter", is_trainable=False)
            pm.eval()
            return pm, out / "adapter", True
    t = _task(cfg.intermediate)
    prompt = t.prompt()
    pool = fewshot_pool(t, data_dir=cfg.data_dir, layout=cfg.layout)
    rng = random.Random(f"xdist-lora|{cfg.seed}|{t.name}")
    rng.shuffle(pool)
    if cfg.lora_max_examples:
        pool = pool[:cfg.lora_max_examples]
    window = _window(model, tokenizer, cfg.max_length)
    seqs = []
    for i, ex in enumerate(pool):
        ctx, conts, _ = render_requests(prompt, ex, t.train_language)
        r = encode_request(tokenizer, ctx, conts[_gold(ex, len(conts), f"{t.name} train example {i}")])
        if len(r.continuation) >= window:
            raise ValueError(f"{t.name} train example {i}: the continuation does not fit the model's window "
                             f"of {window} tokens")
        seqs.append(((list(r.context) + list(r.continuation))[-window:], len(r.continuation)))
    lcfg = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")
    torch.manual_seed(cfg.seed)
    pm = get_peft_model(model, lcfg)
    pm.train()
    params = [p for p in pm.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lora_learning_rate, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(seqs) / cfg.lora_batch_size)
    total = max(1, math.ceil(steps_per_epoch * cfg.lora_epochs))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / total))
    device = next(pm.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    step, t0, last = 0, time.time(), float("nan")
    order_rng = random.Random(f"xdist-lora-order|{cfg.seed}")
    while step < total:
        order = list(range(len(seqs)))
        order_rng.shuffle(order)
        for b in range(0, len(order), cfg.lora_batch_size):
            if step >= total:
                break
            batch = [seqs[i] for i in order[b:b + cfg.lora_batch_size]]
            width = max(len(s) for s, _ in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros_like(ids)
            labels = torch.full_like(ids, -100)  # the target token at each position; -100: no loss
            for row, (s, n) in enumerate(batch):
                ids[row, :len(s)] = torch.tensor(s)
                mask[row, :len(s)] = 1
                labels[row, len(s) - n:len(s)] = torch.tensor(s[len(s) - n:])  # the continuation only
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = pm(input_ids=ids.to(device), attention_mask=mask.to(device),
                        position_ids=pos.to(device)).logits.float()
            # logits at position p predict token p + 1
            loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                                     labels[:, 1:].reshape(-1).to(device), ignore_index=-100)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            last = float(loss.detach())
    say(f"LoRA on {t.name}: {step} steps over {len(seqs)} examples, last loss {last:.4f}, "
        f"{time.time() - t0:.1f} s")
    pm.eval()
    (out / "adapter").mkdir(parents=True, exist_ok=True)
    pm.save_pretrained(out / "adapter")
    tmp = out / ".DONE.json.tmp"
    tmp.write_text(json.dumps({"identity": ident, "steps": step, "examples": len(seqs), "last_loss": last},
                              indent=1, default=str), encoding="utf-8")
    os.replace(tmp, done)
    return pm, out / "adapter", False


# ---- the run ---------------------------------------------------------------------------------


@dataclass
class LMEvalSummary:
    """What :func:`run` did."""

    config: LMEvalConfig
    store: str
    scores: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # task -> lang -> metric
    resumed: dict[str, list[str]] = field(default_factory=dict)  # task -> languages already in the store
    run_ids: dict[str, str] = field(default_factory=dict)
    adapter: str | None = None
    adapter_reused: bool = False
    seconds: float = 0.0

    def table(self):
        """This invocation's runs as a results table (read back from the store)."""
        from xdist.store import read_store

        df = read_store(self.store)
        keep = df["source"].apply(lambda s: any(rid in s for rid in self.run_ids.values()))
        return df[keep].reset_index(drop=True)


def run(cfg: LMEvalConfig, *, progress: Callable[[str], None] | None = None) -> LMEvalSummary:
    """Evaluate a local causal LM on every task and language of ``cfg``; write the scores to the store.

    Resumable: languages already recorded for a task's run (same model,
    setting, seed and configuration) are skipped, and a finished LoRA adapter
    is loaded instead of trained again.

    Returns
    -------
    LMEvalSummary
    """
    from xdist.store import ResultsStore
    from xdist.train.readers import load_examples

    say = progress or (lambda msg: None)
    t0 = time.time()
    cfg = cfg.validate()
    _check_model_dir(cfg.model)
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    _write_config(out, cfg, write=False)  # refuse another configuration before anything runs
    store = ResultsStore(cfg.store_path, create=True)
    summary = LMEvalSummary(cfg, str(cfg.store_path))
    plans = []
    for name in cfg.tasks:
        t = _task(name)
        srun = store.start_run(cfg.identity(t.name), cfg.seed, model=cfg.name, setting=cfg.setting,
                               intermediate_task=cfg.intermediate or "", target_task=t.name,
                               source=f"xdist lm-eval --output {os.path.abspath(cfg.output)}")
        langs = [x for x in (cfg.languages or t.languages) if x in t.languages]
        done = [x for x in langs if srun.done("eval", x)]
        todo = [x for x in langs if x not in done]
        summary.run_ids[t.name] = srun.run_id
        summary.resumed[t.name] = done
        if done:
            say(f"{t.name}: {len(done)} languages already in the store, skipped")
        if not langs:
            say(f"{t.name}: none of the languages asked for ({', '.join(cfg.languages or ())}) is a "
                f"language of {t.name}")
        plans.append((t, srun, todo))
    if not any(todo for _, _, todo in plans):
        _write_config(out, cfg)
        for _, srun, _ in plans:
            srun.finish("finished")
        summary.seconds = time.time() - t0
        return summary
    try:
        _preflight(cfg, plans)
        _write_config(out, cfg)  # recorded once its files are there: a wrong --layout can still be corrected
        model, tokenizer = load_causal_lm(cfg.model, precision=cfg.precision)
        if cfg.lora:
            model, adapter, reused = finetune_lora(model, tokenizer, cfg, progress=say)
            summary.adapter, summary.adapter_reused = str(adapter), reused
    except BaseException as err:
        for _, srun, _ in plans:
            srun.finish("stopped" if isinstance(err, KeyboardInterrupt) else "failed")
        raise
    for n, (t, srun, todo) in enumerate(plans):
        status = "failed"
        try:
            prompt = t.prompt(cfg.prompt)
            pool = fewshot_pool(t, data_dir=cfg.data_dir, layout=cfg.layout) if cfg.shots else []
            for lang in todo:
                lay = cfg.layout if cfg.layout in t.layout_names else None
                ds = load_examples(t, t.eval_split, lang, data_dir=cfg.data_dir, layout=lay, require_labels=True,
                                   limit=cfg.limit)
                t1 = time.time()
                scores = evaluate_language(model, tokenizer, t, [dict(r) for r in ds], lang, prompt=prompt,
                                           pool=pool, shots=cfg.shots, seed=cfg.seed, batch_size=cfg.batch_size,
                                           max_length=cfg.max_length, padding_side=cfg.padding_side)
                note = f"prompt {prompt.name}; {len(ds)} examples; accuracy_norm by characters"
                srun.record_scores(lang, scores, split=t.eval_split, phase="eval", note=note)
                summary.scores.setdefault(t.name, {})[lang] = scores
                say(f"{t.name} {lang}: accuracy {scores['accuracy']:.2f}, accuracy_norm "
                    f"{scores['accuracy_norm']:.2f} ({len(ds)} examples, {time.time() - t1:.1f} s)")
            status = "finished"
        except KeyboardInterrupt:
            status = "stopped"
            raise
        finally:
            srun.finish(status)
            if status != "finished":  # the tasks after it will not run: not left "running" in the store
                for _, rest, _ in plans[n + 1:]:
                    rest.finish(status)
    summary.seconds = time.time() - t0
    return summary


def _preflight(cfg: LMEvalConfig, plans) -> None:
    """Every file the run will read exists (with gold labels), before the model is loaded."""
    from xdist.train.readers import DataError, find_layout

    def check(task, split, lang):
        lay = cfg.layout if cfg.layout in task.layout_names else None
        if lay is None:
            find_layout(task, split, data_dir=cfg.data_dir, language=lang, require_labels=True)
            return
        missing = [str(p) for p in task.paths(split, lang, layout=lay, root=cfg.data_dir).values()
                   if "*" not in str(p) and not Path(p).is_file()]
        if missing:
            raise DataError(f"{task.name} {split} {lang}: layout {lay!r} needs {missing}, not found")

    for t, _, todo in plans:
        for lang in todo:
            check(t, t.eval_split, lang)
        if todo and cfg.shots:
            src = _source_task(t)
            check(src, "train" if "train" in src.splits else "dev", src.train_language)
    if cfg.lora:
        src = _source_task(_task(cfg.intermediate))
        check(src, "train" if "train" in src.splits else "dev", src.train_language)


def _write_config(out: Path, cfg: LMEvalConfig, *, write: bool = True) -> None:
    """``OUTPUT/config.json``; a different configuration for the same output is refused (``write=False``:
    only that check)."""
    path = out / "config.json"
    new = cfg.to_dict()
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        same = ("model", "intermediate", "lora", "seed", "shots", "prompt", "limit", "max_length", "layout",
                "lora_r", "lora_alpha", "lora_dropout", "lora_learning_rate", "lora_epochs", "lora_batch_size",
                "lora_max_examples", "store")
        diff = [k for k in same if old.get(k) != new.get(k)]
        # the directory as first resolved (config.json keeps data_dir as typed, relative to where it ran)
        before = old.get("data_dir_resolved") or (_resolved(old["data_dir"]) if "data_dir" in old else None)
        if before is not None and before != _resolved(new["data_dir"]):
            diff.append("data_dir")
        if diff:
            raise ValueError(f"output={str(out)!r} holds a run with another configuration (differs in {diff}): "
                             "use another --output, or the same options to resume")
    if not write:
        return
    new["data_dir_resolved"] = _resolved(new["data_dir"])
    tmp = out / ".config.json.tmp"
    tmp.write_text(json.dumps(new, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# ---- smoke run -------------------------------------------------------------------------------


def run_smoke(output, *, tasks: Iterable[str] = ("XNLI", "XCOPA"), shots: int = 0,
              intermediate: str | None = None, seed: int = 1, languages: Sequence[str] | None = None,
              n_eval: int = 16, n_train: int = 48, batch_size: int = 16, limit: int | None = None,
              prompt: str | None = None, max_length: int | None = None, precision: str = "auto",
              progress: Callable[[str], None] | None = None) -> LMEvalSummary:
    """``xdist lm-eval --smoke``: a tiny random-init causal LM and toy data, on CPU in seconds.

    Writes toy data for ``tasks`` (and the intermediate task) in the
    ``jsonl`` layout under ``OUTPUT/data``, trains a tokenizer on it, saves
    a 2-layer Llama-style model under ``OUTPUT/model`` and runs :func:`run`
    (with LoRA when ``intermediate`` is given).  ``limit``, ``prompt``,
    ``max_length`` and ``precision`` are passed to the run as
    :class:`LMEvalConfig` takes them; the store (``OUTPUT/store``), model
    name (``tiny-random-llama``) and layout (``jsonl``) are fixed.
    """
    from xdist.train.toy import make_tiny_causal_lm, make_tokenizer
    from xdist.train.toydata import toy_texts, write_toy_data

    out = Path(output)
    names = [_task(t).name for t in ([tasks] if isinstance(tasks, str) else tasks)]
    data_names = list(dict.fromkeys(names + ([_task(intermediate).name] if intermediate else [])))
    data_names += [_source_task(_task(n)).name for n in data_names if _source_task(_task(n)).name not in data_names]
    data, model_dir = out / "data", out / "model"
    cfg = LMEvalConfig(model=str(model_dir), tasks=tuple(names), data_dir=str(data), output=str(out),
                       shots=shots, languages=tuple(languages) if languages else None,
                       intermediate=intermediate, lora=bool(intermediate), seed=seed, batch_size=batch_size,
                       model_name="tiny-random-llama", lora_epochs=2.0, lora_learning_rate=5e-3,
                       lora_batch_size=8, limit=limit, prompt=prompt, max_length=max_length, precision=precision)
    cfg.validate()  # bad values (a prompt, a limit) are refused before anything is built
    if not (data / "DONE").is_file():
        write_toy_data(data, data_names, languages=languages, n_train=n_train, n_eval=n_eval, seed=seed)
        (data / "DONE").write_text("toy data\n", encoding="utf-8")
    if not (model_dir / "config.json").is_file():
        texts = toy_texts(data_names, languages=languages, n_train=n_train, n_eval=n_eval, seed=seed)
        # connector words of the prompts, so that they are not all <unk>
        for n in data_names:
            for p in _task(n).prompts:
                texts += [w for _, ws in p.words for _, w in ws]
        tok = make_tokenizer(texts, vocab_size=400)
        make_tiny_causal_lm(model_dir, tok, seed=seed)
    return run(cfg, progress=progress)
