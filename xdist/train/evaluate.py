"""Zero-shot evaluation: one length-sorted pass over the features of every language.

Evaluating 40 languages one at a time pays, for each language, a partly
empty last batch and the padding of batches whose lengths vary.
:func:`evaluate_languages` instead concatenates the features of all
languages, sorts them by length (longest first), runs the model once over
them in batches with dynamic padding, and splits the outputs back by
language to decode and score each language on its own.  Scores are the same
as a per-language loop (only the batching changes); ``batched=False`` runs
that loop, which ``benchmarks/train_throughput.py`` times against.

Examples
--------
See :func:`xdist.train.pipeline.run`; this module is its evaluation step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import torch

from xdist.train import features as F

__all__ = ["autocast", "evaluate_languages", "predict"]

#: Output keys per task format, and the value that pads sequence outputs.
_PAD = {"logits": 0.0, "start_logits": -1e4, "end_logits": -1e4}


def autocast(device: torch.device, dtype: torch.dtype | None):
    """``torch.autocast`` for ``dtype`` on ``device``, or a no-op."""
    if dtype is None or dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


_MODEL_KEYS = ("input_ids", "attention_mask", "token_type_ids")


def _arrow_columns(features) -> dict:
    """The model-input columns as pyarrow arrays (taking rows from them is cheap)."""
    ds = features.flatten_indices() if getattr(features, "_indices", None) is not None else features
    table = ds.data.table
    return {k: table.column(k) for k in _MODEL_KEYS if k in ds.column_names}


def _is_nested(arrow_type) -> bool:
    """Lists of lists (multiple-choice rows), which :meth:`Collator.take` does not pad."""
    import pyarrow as pa

    return pa.types.is_list(arrow_type.value_type) or pa.types.is_large_list(arrow_type.value_type)


def _rows(columns: dict, idx) -> list[dict]:
    import pyarrow as pa

    take = pa.array(idx, type=pa.int64())
    cols = {k: c.take(take).to_pylist() for k, c in columns.items()}
    keys = list(cols)
    return [dict(zip(keys, vals)) for vals in zip(*(cols[k] for k in keys))]


def predict(model, task: str, features, collator, *, batch_size: int = 128,
            device: torch.device | None = None, dtype: torch.dtype | None = None,
            sort: bool = True) -> dict[str, np.ndarray]:
    """Run ``model``'s head for ``task`` over ``features``; outputs in feature order.

    Parameters
    ----------
    model : TransferModel
    task : str
        Head to use.
    features : datasets.Dataset
        Output of :func:`xdist.train.features.encode` (needs ``length``).
    collator : callable
        :class:`xdist.train.features.Collator`.
    batch_size : int
    device, dtype
        Where to run and the autocast dtype (``None``: float32).
    sort : bool, default True
        Batch by length (longest first) instead of dataset order; shorter
        batches then hold more rows within the same padded size
        (``batch_size`` x the longest length).

    Returns
    -------
    dict of str to numpy.ndarray
        ``logits`` (classification, multiple choice, tagging) or
        ``start_logits``/``end_logits`` (QA), one row per feature; sequence
        outputs padded to the longest feature (logits with 0, span logits
        with -1e4).
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} is not valid: expected a positive integer")
    n = len(features)
    device = device or next(model.parameters()).device
    if n == 0:
        return {}
    lengths = F._numbers(features, "length")
    order = np.argsort(-lengths, kind="stable") if sort else np.arange(n)
    chunks: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    columns = _arrow_columns(features)
    flat = None
    if hasattr(collator, "take") and not any(_is_nested(c.type) for c in columns.values()):
        try:
            flat = F.flat_columns(features, list(columns))
        except ValueError:  # not plain lists of numbers (fixed-size lists, nulls): Collator(rows) pads or says why
            pass
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast(device, dtype):
            for idx in _batches(order, lengths, batch_size, False):
                batch = collator(_rows(columns, idx)) if flat is None else collator.take(flat, idx)
                inputs = {k: v.to(device, non_blocking=True) for k, v in batch.items() if k in _MODEL_KEYS}
                out = model(task=task, **inputs)
                for key in ("logits", "start_logits", "end_logits"):
                    value = getattr(out, key, None)
                    if value is not None:
                        chunks.setdefault(key, []).append((idx, value.float().cpu().numpy()))
    finally:
        model.train(was_training)
    result = {}
    for key, parts in chunks.items():
        first = parts[0][1]
        if not _is_sequence(model, task):
            arr = np.empty((n, *first.shape[1:]), dtype=np.float32)
            for idx, value in parts:
                arr[idx] = value
        else:  # sequence outputs: pad to the longest
            width = max(v.shape[1] for _, v in parts)
            arr = np.full((n, width, *first.shape[2:]), _PAD[key], dtype=np.float32)
            for idx, value in parts:
                arr[idx, : value.shape[1]] = value
        result[key] = arr
    return result


def _batches(order: np.ndarray, lengths: np.ndarray, batch_size: int, by_tokens: bool):
    """Consecutive slices of ``order``: ``batch_size`` rows, or, when sorted, a token budget.

    Sorted longest first, a batch may hold more (shorter) rows as long as its
    padded size stays within that of the first batch (``batch_size`` x the
    longest length), at most 8 x ``batch_size`` rows: the same peak memory,
    fewer and fuller batches.
    """
    n = order.size
    if not by_tokens:
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]
        return
    budget = batch_size * int(lengths[order[0]]) if n else 0
    start = 0
    while start < n:
        longest = int(lengths[order[start]])
        size = max(batch_size, min(8 * batch_size, budget // max(longest, 1)))
        yield order[start:start + size]
        start += size


def _is_sequence(model, task: str) -> bool:
    return model.formats.get(task) in ("tagging", "extractive_qa")


def evaluate_languages(model, task, examples: Mapping[str, object], tokenizer, *,
                       head: str | None = None, encode_kwargs: Mapping | None = None,
                       batch_size: int = 128, device=None, dtype=None, batched: bool = True,
                       on_language: Callable[[str, dict], None] | None = None,
                       max_examples_per_pass: int = 100_000) -> dict[str, dict[str, float]]:
    """Score ``model`` on the examples of every language.

    Parameters
    ----------
    model : TransferModel
    task : str or Task
        The task whose metric scores the predictions.
    examples : mapping of str to datasets.Dataset
        Language -> labelled examples (:func:`xdist.train.readers.load_examples`).
    tokenizer
    head : str, optional
        Head of ``model`` to use (default: the task's name).
    encode_kwargs : mapping, optional
        ``max_length``, ``doc_stride``, ``max_query_length`` for :func:`~xdist.train.features.encode`.
    batch_size : int
    device, dtype
    batched : bool, default True
        One length-sorted pass over all languages; ``False``: one pass per
        language in dataset order (the usual loop).
    on_language : callable, optional
        Called as ``on_language(language, scores)`` as soon as a language is
        scored (the pipeline records it in the store there).
    max_examples_per_pass : int
        Bounds memory: languages are grouped into passes of at most this many
        examples.

    Returns
    -------
    dict
        Language -> ``{metric: percent}``.
    """
    from datasets import concatenate_datasets

    from xdist.train.tasks import get_task

    t = get_task(task) if isinstance(task, str) else task
    head = head or t.name
    collator = F.Collator(tokenizer)
    kw = dict(encode_kwargs or {})
    results: dict[str, dict[str, float]] = {}

    def finish(lang: str, feats, outputs: dict, offset: int = 0):
        preds = F.decode(t, examples[lang], feats, outputs, example_offset=offset)
        scores = F.score_predictions(t, examples[lang], preds, language=lang)
        results[lang] = scores
        if on_language is not None:
            on_language(lang, scores)

    if not batched:
        for lang, ex in examples.items():
            feats = F.encode(t, ex, tokenizer, train=False, **kw)
            finish(lang, feats, predict(model, head, feats, collator, batch_size=batch_size, device=device,
                                        dtype=dtype, sort=False))
        return results
    for group in _passes(examples, max_examples_per_pass):
        # one tokenisation pass and one length-sorted model pass over the group's languages
        combined = concatenate_datasets([examples[lang] for lang in group]) if len(group) > 1 else examples[group[0]]
        feats = F.encode(t, combined, tokenizer, train=False, **kw)
        outputs = predict(model, head, feats, collator, batch_size=batch_size, device=device, dtype=dtype)
        starts = np.cumsum([0, *(len(examples[lang]) for lang in group)])
        cuts = np.searchsorted(F._numbers(feats, "example_index"), starts)  # features follow example order
        for k, lang in enumerate(group):
            lo, hi = int(cuts[k]), int(cuts[k + 1])
            finish(lang, feats.select(range(lo, hi)), {key: v[lo:hi] for key, v in outputs.items()},
                   offset=int(starts[k]))
    return results


def _passes(examples: Mapping[str, object], limit: int) -> Iterable[list[str]]:
    group: list[str] = []
    size = 0
    for lang, ex in examples.items():
        if group and size + len(ex) > limit:
            yield group
            group, size = [], 0
        group.append(lang)
        size += len(ex)
    if group:
        yield group
