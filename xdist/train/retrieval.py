"""Sentence retrieval without training data (BUCC, Tatoeba), as XTREME does it.

A sentence is embedded by pooling the hidden states of one layer of a
pretrained (or fine-tuned) encoder; translations are then found by cosine
similarity (Tatoeba) or margin-based bitext mining (BUCC).  The scoring is
:mod:`xdist.train.metrics` (:func:`~xdist.train.metrics.tatoeba_accuracy`,
:func:`~xdist.train.metrics.bucc_candidates`, :func:`~xdist.train.metrics.bucc_f1`);
this module only makes the embeddings and wires them in.

Settings, checked against google-research/xtreme (commit ``838c13b``:
``scripts/run_bucc2018.sh``, ``scripts/run_tatoeba.sh``,
``third_party/evaluate_retrieval.py``, formerly ``run_retrieval.py``,
``third_party/utils_retrieve.py``) and against jiant's XTREME runner
(``jiant/scripts/benchmarks/xtreme/xtreme_runconfig_writer.py``: the toolkit of
Phang et al. 2020):

layer
    ``layer`` indexes ``hidden_states`` (0 = embedding output, ``i`` = output
    of transformer layer ``i``).  XTREME's ``--specific_layer`` indexes
    ``hidden_states[-num_layers:]`` instead, so its ``7`` for mBERT is our
    ``8`` and its ``13`` for XLM-R large (Tatoeba, ``NLAYER=24``) our ``14``.
    jiant uses ``14`` for XLM-R large on both tasks.  See :func:`default_layer`.
pooling
    ``"mean"`` over every non-padding token, ``<s>``/``</s>`` (``[CLS]``/``[SEP]``)
    included: XTREME's ``mean_pool_embedding`` with ``pool_skip_special_token``
    off, and jiant's ``MeanPoolerHead``.  ``run_bucc2018.sh`` passes
    ``--pool_type cls``, but the flag did not reach ``extract_embeddings``
    until commit ``287a7b7`` (October 2021), so the published XTREME numbers
    are mean-pooled.  ``"cls"`` (first token) and ``"max"`` are alternatives.
max_length
    512 subword tokens, specials included (``MAXL=512`` in both scripts);
    longer sentences keep their first ``max_length - 2`` subwords.
normalisation
    None here: :func:`embed` returns raw pooled vectors; the metrics
    L2-normalise them (XTREME's ``--dist cosine``).
BUCC
    Identical sentences are embedded once (XTREME's ``text_load_unify``);
    candidates come from ratio-margin mining with ``k=4`` in both directions;
    a text that occurs more than once on its side is dropped when candidates
    are mapped back to ids (XTREME's ``read_sent2id``), so its ids are never
    predicted.  The threshold: see :func:`evaluate_retrieval`.

Batches are formed after sorting the sentences by token length (less
padding, same result up to float rounding); rows come back in input order.

Examples
--------
>>> from types import SimpleNamespace
>>> from xdist.train.retrieval import default_layer
>>> default_layer(SimpleNamespace(model_type="xlm-roberta", num_hidden_layers=24))
14
>>> default_layer(SimpleNamespace(model_type="bert", num_hidden_layers=12))
8

With a model (needs the ``train`` extra)::

    result = evaluate_retrieval("Tatoeba", encoder, tokenizer, data)   # doctest: +SKIP
    result.scores, result.layer, result.pooling
    ({'accuracy': 57.3}, 14, 'mean')
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["POOLINGS", "RetrievalResult", "default_layer", "embed", "evaluate_retrieval"]

#: Pooling methods of :func:`embed` (the same names as ``eval.retrieval_pooling``).
POOLINGS = ("mean", "cls", "max")

#: XTREME's layer (``hidden_states`` index) by encoder depth, see :func:`default_layer`.
_XTREME_LAYERS = {12: 8, 16: 12, 24: 14}


@dataclass(frozen=True)
class RetrievalResult:
    """Scores of one language and the settings that produced them.

    Attributes
    ----------
    scores : dict of str to float
        Tatoeba: ``{"accuracy"}``; BUCC: ``{"f1", "precision", "recall",
        "threshold"}`` (percentages, threshold raw; ``nan`` scores where there
        was no gold to score against).
    layer : int
        The ``hidden_states`` index used (0 = embeddings); a negative ``layer=``
        is recorded as the equivalent non-negative index when the encoder's
        config gives its depth.
    pooling : str
    max_length : int
        Token limit actually applied (after the tokenizer's own limit).
    predictions : list
        Tatoeba: for every target (English) row, the index of the source row
        retrieved.  BUCC: the ``(source_id, target_id)`` pairs extracted at the
        threshold (what XTREME writes to ``predictions/bucc2018/test-{lang}.tsv``).
    """

    scores: dict[str, float]
    layer: int
    pooling: str
    max_length: int
    predictions: list = field(default_factory=list, repr=False)

    @property
    def settings(self) -> dict[str, Any]:
        """``{"layer", "pooling", "max_length"}``, to record next to the scores."""
        return {"layer": self.layer, "pooling": self.pooling, "max_length": self.max_length}


# --------------------------------------------------------------------------
# validation helpers


def _config_of(obj):
    return getattr(obj, "config", obj)


def _num_layers(config) -> int | None:
    n = getattr(config, "num_hidden_layers", None)
    if n is None:
        n = getattr(config, "n_layers", None)
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0:
        return int(n)
    return None


def _layer_index(layer: Any, n_states: int) -> int:
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise ValueError(
            f"layer={layer!r} is not valid: expected an integer index into hidden_states "
            f"(0 = embeddings, {n_states - 1} = last layer, negative counts from the end)"
        )
    if not -n_states <= layer < n_states:
        raise ValueError(
            f"layer={layer!r} is out of range: the encoder has {n_states} hidden states "
            f"(0 = embeddings, {n_states - 1} = last layer); expected an integer in "
            f"[{-n_states}, {n_states - 1}]"
        )
    return int(layer) % n_states


def _positive_int(value: Any, param: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{param}={value!r} is not valid: expected an integer >= {minimum}")
    return int(value)


def _check_pooling(pooling: Any) -> str:
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r} is not valid: expected one of {list(POOLINGS)}")
    return pooling


def _sentences(sentences: Any, param: str = "sentences") -> list[str]:
    if isinstance(sentences, str):
        raise ValueError(f"{param} must be a sequence of strings, got a single string {sentences[:40]!r}")
    try:
        texts = list(sentences)
    except TypeError:
        raise ValueError(f"{param} must be a sequence of strings, got {type(sentences).__name__}") from None
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"{param}[{i}] is {t!r}: expected a string (every sentence must have text)")
    return texts


def default_layer(config) -> int:
    """XTREME's layer for an encoder, as a ``hidden_states`` index (0 = embeddings).

    The rule, by the number of transformer layers ``L``:

    * ``L = 12`` (mBERT, XLM-R base): **8**, XTREME's ``--specific_layer 7`` on
      ``hidden_states[-12:]`` (the output of the 8th layer);
    * ``L = 24`` (XLM-R large): **14**, ``run_tatoeba.sh`` (``NLAYER=24``,
      ``LAYER=13``) and jiant's ``retrieval_layer=14``, used for both tasks
      (``run_bucc2018.sh`` leaves ``--num_layers`` at 12, which for a 24-layer
      model selects ``hidden_states[20]``: an artefact, not followed);
    * ``L = 16`` (XLM-100, ``xlm-mlm-100-1280``): **12**, what both scripts
      select with ``--num_layers`` left at 12;
    * any other depth: ``max(1, round(2 * L / 3))``, the same relative depth as
      the 12-layer choice (a 2-layer toy model gets 1).

    Parameters
    ----------
    config : transformers.PretrainedConfig or model
        Anything with ``num_hidden_layers`` (or ``n_layers``), or a model with
        such a ``.config``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> [default_layer(SimpleNamespace(num_hidden_layers=n)) for n in (2, 6, 12, 16, 24)]
    [1, 4, 8, 12, 14]
    """
    n = _num_layers(_config_of(config))
    if n is None or n == 0:
        raise ValueError(
            f"config={type(config).__name__} has no usable num_hidden_layers: pass an encoder "
            "configuration (or model) with a positive number of layers, or give layer= explicitly"
        )
    if n in _XTREME_LAYERS:
        return _XTREME_LAYERS[n]
    return max(1, round(2 * n / 3))


# --------------------------------------------------------------------------
# embeddings


def _pool(hidden, mask, pooling: str):
    import torch

    if pooling == "cls":
        return hidden[:, 0]
    m = mask.unsqueeze(-1).to(torch.bool)
    if pooling == "max":
        return hidden.masked_fill(~m, float("-inf")).max(dim=1).values
    summed = (hidden * m.to(hidden.dtype)).sum(dim=1)
    return summed / m.sum(dim=1).clamp(min=1).to(hidden.dtype)


def _effective_max_length(tokenizer, max_length: int) -> int:
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 2 <= limit < max_length:
        return limit
    return max_length


def embed(encoder, tokenizer, sentences: Sequence[str], *, layer: int, pooling: str = "mean",
          batch_size: int = 64, max_length: int = 512, device=None) -> np.ndarray:
    """Pooled hidden states of one layer, one row per sentence.

    Parameters
    ----------
    encoder : transformers.PreTrainedModel
        A base model (``XLMRobertaModel``, ``BertModel``, ...) that returns
        ``hidden_states`` when called with ``output_hidden_states=True``.  It
        is put in eval mode for the call and given back in the mode it had.
    tokenizer : transformers.PreTrainedTokenizerBase
        Adds the model's special tokens (``<s> A </s>``).
    sentences : sequence of str
    layer : int
        Index into ``hidden_states``: 0 = embedding output, ``i`` = output of
        layer ``i``, negative counts from the end (-1 = last layer).
    pooling : {"mean", "cls", "max"}
        ``"mean"`` averages every non-padding token (specials included, as
        XTREME); ``"cls"`` takes the first token; ``"max"`` the element-wise
        maximum over non-padding tokens.
    batch_size : int
        Sentences per forward pass (sentences are sorted by length first).
    max_length : int
        Token limit, specials included (lowered to the tokenizer's
        ``model_max_length`` if that is smaller).
    device : str or torch.device, optional
        Where to run; default the encoder's device.  The encoder is moved
        there if it is elsewhere.

    Returns
    -------
    numpy.ndarray
        ``float32``, shape ``(len(sentences), hidden_size)``, in input order.

    Examples
    --------
    >>> vecs = embed(encoder, tokenizer, ["Hello.", "Hallo."], layer=8)  # doctest: +SKIP
    >>> vecs.shape  # doctest: +SKIP
    (2, 768)
    """
    import torch

    texts = _sentences(sentences)
    pooling = _check_pooling(pooling)
    batch_size = _positive_int(batch_size, "batch_size")
    max_length = _positive_int(max_length, "max_length", 2)
    config = getattr(encoder, "config", None)
    n_layers = _num_layers(config)
    index = _layer_index(layer, n_layers + 1) if n_layers is not None else None
    if not texts:
        hidden = int(getattr(config, "hidden_size", 0) or 0)
        return np.zeros((0, hidden), dtype=np.float32)

    limit = _effective_max_length(tokenizer, max_length)
    encoded = tokenizer(texts, truncation=True, max_length=limit, add_special_tokens=True)
    ids = encoded["input_ids"]
    type_ids = encoded.get("token_type_ids")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    # longest first (an out-of-memory error shows on the first batch); ties keep input order
    order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))

    if device is None:
        try:
            device = next(encoder.parameters()).device
        except (StopIteration, AttributeError):
            device = torch.device("cpu")
    else:
        device = torch.device(device)
        encoder.to(device)

    out: np.ndarray | None = None
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                width = max(len(ids[i]) for i in rows)
                input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                types = torch.zeros((len(rows), width), dtype=torch.long) if type_ids is not None else None
                for r, i in enumerate(rows):
                    n = len(ids[i])
                    input_ids[r, :n] = torch.as_tensor(ids[i], dtype=torch.long)
                    mask[r, :n] = 1
                    if types is not None:
                        types[r, :n] = torch.as_tensor(type_ids[i], dtype=torch.long)
                inputs = {"input_ids": input_ids.to(device), "attention_mask": mask.to(device)}
                if types is not None:
                    inputs["token_type_ids"] = types.to(device)
                outputs = encoder(**inputs, output_hidden_states=True, return_dict=True)
                states = getattr(outputs, "hidden_states", None)
                if states is None:
                    raise ValueError(
                        f"encoder={type(encoder).__name__} returned no hidden_states: pass a "
                        "Hugging Face base model that supports output_hidden_states=True"
                    )
                if index is None:  # depth unknown from the config: check against the output
                    index = _layer_index(layer, len(states))
                pooled = _pool(states[index].float(), inputs["attention_mask"], pooling)
                if out is None:
                    out = np.empty((len(texts), pooled.shape[-1]), dtype=np.float32)
                out[rows] = pooled.cpu().numpy()
    finally:
        encoder.train(was_training)
    return out


# --------------------------------------------------------------------------
# evaluation


def _column(table: Any, name: str, param: str) -> list:
    try:
        values = table[name]
    except (KeyError, IndexError, TypeError, ValueError):
        cols = getattr(table, "column_names", None) or list(getattr(table, "columns", []) or [])
        raise ValueError(
            f"{param} has no {name!r} column: expected a table with columns ['id', 'text']"
            + (f" (got {list(cols)})" if cols else "")
        ) from None
    return list(values)


def _unify(texts: list[str], ids: list[str]) -> tuple[list[str], list[str | None]]:
    """Distinct texts in first-seen order, and the id of each, or None if its text repeats.

    XTREME embeds each distinct line once (``text_load_unify``) and maps mined
    sentences back to ids through a text -> id table that drops every
    (stripped) text seen more than once (``read_sent2id``).
    """
    counts = Counter(t.strip() for t in texts)
    unique: dict[str, str] = {}
    for t, i in zip(texts, ids):
        unique.setdefault(t, i)
    return list(unique), [i if counts[t.strip()] == 1 else None for t, i in unique.items()]


def _bucc(data, *, threshold, k: int, margin: str, embed_kw: dict):
    import pandas as pd

    from xdist.train.metrics import bucc_candidates, bucc_f1

    src, trg = data.source, data.target
    gold = getattr(data, "gold", None)
    if gold is not None:
        gold = list(gold)
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating, np.integer)) \
                or not math.isfinite(float(threshold)):
            raise ValueError(f"threshold={threshold!r} is not valid: expected a finite number or None")
        threshold = float(threshold)
    if not gold and threshold is None:
        raise ValueError(
            "data.gold is empty and threshold=None: BUCC needs gold pairs to tune the threshold on, "
            "or a fixed threshold= (for example the one evaluate_retrieval returned on dev)"
        )
    src_ids = [str(i) for i in _column(src, "id", "data.source")]
    trg_ids = [str(i) for i in _column(trg, "id", "data.target")]
    src_texts = _sentences(_column(src, "text", "data.source"), "data.source['text']")
    trg_texts = _sentences(_column(trg, "text", "data.target"), "data.target['text']")
    if not src_texts or not trg_texts:
        raise ValueError(
            f"data has {len(src_texts)} source and {len(trg_texts)} target sentences: BUCC needs both sides"
        )
    u_src, u_src_ids = _unify(src_texts, src_ids)
    u_trg, u_trg_ids = _unify(trg_texts, trg_ids)
    x = embed(sentences=u_src, **embed_kw)
    y = embed(sentences=u_trg, **embed_kw)
    mined = bucc_candidates(x, y, k=k, margin=margin)
    rows = [
        (u_src_ids[s], u_trg_ids[t], sc)
        for s, t, sc in zip(mined["source"], mined["target"], mined["score"])
        if u_src_ids[s] is not None and u_trg_ids[t] is not None
    ]
    candidates = pd.DataFrame(rows, columns=["source", "target", "score"])
    if gold:
        scores = bucc_f1(candidates, gold, threshold=threshold)
    else:
        nan = float("nan")
        scores = {"f1": nan, "precision": nan, "recall": nan, "threshold": threshold}
    used = scores["threshold"]
    pairs = [(s, t) for s, t, sc in rows if sc >= used]
    return scores, pairs


def evaluate_retrieval(task, encoder, tokenizer, data, *, layer: int | None = None, pooling: str = "mean",
                       batch_size: int = 64, max_length: int = 512, device=None,
                       threshold: float | None = None, k: int = 4, margin: str = "ratio") -> RetrievalResult:
    """Score one language of BUCC or Tatoeba from the encoder's pooled hidden states.

    Parameters
    ----------
    task : str or Task
        ``"BUCC"`` or ``"Tatoeba"`` (or an alias).
    encoder, tokenizer
        As for :func:`embed`.
    data : RetrievalData
        From :func:`xdist.train.readers.load_retrieval`, or any object with
        ``.source`` and ``.target`` tables (``datasets.Dataset``, DataFrame or
        dict of lists with columns ``id``, ``text``; ``source`` is the
        non-English side) and ``.gold`` (BUCC: ``(source_id, target_id)``
        pairs or None; ignored for Tatoeba, whose rows are aligned).
    layer : int, optional
        ``hidden_states`` index; default :func:`default_layer`.
    pooling, batch_size, max_length, device
        As for :func:`embed`.
    threshold : float, optional
        BUCC only.  ``None`` (default): tuned on ``data.gold``, the split being
        scored, as XTREME's ``bucc_eval`` does whenever gold exists (an oracle
        threshold; XTREME's reported test numbers are BUCC's training set,
        whose gold it tunes on).  A number: extract every candidate scoring at
        least that, e.g. ``result.scores["threshold"]`` of the dev split (BUCC's
        protocol: tune on the sample set, apply to the test set).  Without
        gold, a threshold is required and the scores are ``nan`` (the
        predictions are still returned).
    k, margin
        BUCC mining settings (:func:`xdist.train.metrics.bucc_candidates`;
        XTREME: 4, ``"ratio"``).

    Returns
    -------
    RetrievalResult
        Tatoeba: ``scores={"accuracy"}``; BUCC: ``{"f1", "precision",
        "recall", "threshold"}``; with the layer and pooling used.
    """
    from xdist.train.metrics import nearest_neighbors, tatoeba_accuracy
    from xdist.train.tasks import get_task

    t = get_task(task)
    if t.name not in ("BUCC", "Tatoeba"):
        raise ValueError(f"task={t.name!r} is not a retrieval task: expected 'BUCC' or 'Tatoeba'")
    if not (hasattr(data, "source") and hasattr(data, "target")):
        raise ValueError(
            f"data={type(data).__name__} is not valid: expected a RetrievalData "
            "(an object with .source, .target and .gold)"
        )
    if layer is None:
        layer = default_layer(encoder)
    n_layers = _num_layers(getattr(encoder, "config", None))
    if n_layers is not None:
        layer = _layer_index(layer, n_layers + 1)
    pooling = _check_pooling(pooling)
    max_length = _positive_int(max_length, "max_length", 2)
    common = {"encoder": encoder, "tokenizer": tokenizer, "layer": layer, "pooling": pooling,
              "batch_size": batch_size, "max_length": max_length, "device": device}

    if t.name == "Tatoeba":
        src = _sentences(_column(data.source, "text", "data.source"), "data.source['text']")
        trg = _sentences(_column(data.target, "text", "data.target"), "data.target['text']")
        if len(src) != len(trg) or not src:
            raise ValueError(
                f"data has {len(src)} source and {len(trg)} target sentences: Tatoeba needs the same "
                "non-zero number on both sides (row i of one is the translation of row i of the other)"
            )
        x = embed(sentences=src, **common)
        y = embed(sentences=trg, **common)
        scores = tatoeba_accuracy(x, y)
        predictions = nearest_neighbors(y, x).tolist()
    else:
        scores, predictions = _bucc(data, threshold=threshold, k=k, margin=margin, embed_kw=common)
    return RetrievalResult(dict(scores), int(layer), pooling,
                           _effective_max_length(tokenizer, max_length), predictions)
