"""Canonical examples -> model features, batches, predictions and scores.

The four trainable formats of :mod:`xdist.train.tasks` go through the same
four steps:

1. :func:`encode` tokenizes a Dataset of canonical examples (the output of
   :mod:`xdist.train.readers`) with a *fast* tokenizer, in batches;
2. :class:`Collator` pads a list of feature rows into tensors;
3. :func:`decode` turns the model outputs, one row per feature, back into one
   prediction per example;
4. :func:`score_predictions` scores them with :func:`xdist.train.metrics.score`.

Conventions (XTREME's ``run_classify.py``, ``run_tag.py``, ``run_squad.py``
and jiant's multiple choice, which Phang et al. 2020 used):

* **sentence pairs** - ``tokenizer(text_a, text_b)``, longest-first truncation.
* **tagging** - the words are tokenized with ``is_split_into_words=True``;
  the first sub-token of a word carries its tag, every other token ``-100``.
  A word the tokenizer turns into no token at all is replaced by the unknown
  token (as XTREME's ``utils_tag.py`` does).  Words cut off by ``max_length``
  carry no label and :func:`decode` predicts :func:`default_tag` for them
  (``O`` for NER, ``NOUN`` for POS, tag id 0 otherwise); XTREME avoids the
  case by splitting long sentences beforehand (its ``utils_preprocess.py``).
* **extractive QA** - the question (left-stripped) is truncated to
  ``max_query_length`` tokens and the context is cut into windows of
  ``max_length`` tokens.  ``doc_stride`` is, as in XTREME / BERT / jiant, the
  *step* between the starts of consecutive windows (the windows overlap by
  ``window - doc_stride`` tokens; with ``doc_stride`` >= the window the
  windows just tile the context).  Training features point at the CLS token
  (index 0) when the answer is not inside the window or the question is
  unanswerable; evaluation features keep the character offsets of the
  context tokens (``[-1, -1]`` elsewhere) and ``token_is_max_context`` (the
  window where a token has the most context on both sides, BERT's rule; an
  answer may only start at such a token).
* **multiple choice** - one row per choice: ``(context + " " + question,
  choice)``, or ``(question, choice)`` without a context.  HellaSwag follows
  jiant instead: ``(ctx_a, ctx_b + " " + ending)`` (see
  :data:`QUESTION_WITH_CHOICE`).

Examples
--------
>>> from datasets import Dataset
>>> from xdist.train.toy import make_tokenizer
>>> from xdist.train import features as F
>>> tok = make_tokenizer(["a cat sat", "a dog ran", "the cat ran"], vocab_size=40)
>>> ex = Dataset.from_dict({"id": ["0", "1"], "language": ["en", "en"],
...                         "text_a": ["a cat", "a dog"], "text_b": ["sat", "ran"],
...                         "label": [1, 0]})
>>> feats = F.encode("PAWS-X", ex, tok)
>>> sorted(feats.column_names)
['attention_mask', 'example_index', 'input_ids', 'labels', 'language', 'length']
>>> batch = F.Collator(tok)([feats[0], feats[1]])
>>> tuple(batch["input_ids"].shape) == (2, max(feats["length"]))
True
>>> import numpy as np
>>> F.decode("PAWS-X", ex, feats, {"logits": np.array([[0.0, 1.0], [2.0, 1.0]])})
[1, 0]
>>> F.score_predictions("PAWS-X", ex, [1, 0], language="en")
{'accuracy': 100.0}
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "TRAINABLE_FORMATS",
    "MODEL_INPUTS",
    "QUESTION_WITH_CHOICE",
    "UnlabelledError",
    "Collator",
    "decode",
    "default_tag",
    "encode",
    "flat_columns",
    "score_predictions",
]

logger = logging.getLogger(__name__)

#: Task formats this module turns into features (retrieval has its own module).
TRAINABLE_FORMATS = ("sentence_pair", "tagging", "extractive_qa", "multiple_choice")

#: Feature columns the model takes; :class:`Collator` drops every other column.
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "labels", "start_positions", "end_positions")

#: Multiple-choice tasks whose ``question`` is the start of every choice (jiant:
#: HellaSwag's ``ctx_b`` is prepended to each ending), not part of the context.
QUESTION_WITH_CHOICE = frozenset({"HellaSwag"})

_TOKENIZER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_INPUT_COLUMNS = {
    "sentence_pair": ("text_a", "text_b"),
    "tagging": ("tokens",),
    "extractive_qa": ("id", "context", "question"),
    "multiple_choice": ("context", "question", "choices"),
}
_LABEL_COLUMNS = {
    "sentence_pair": ("label",),
    "tagging": ("tags",),
    "extractive_qa": ("answers",),
    "multiple_choice": ("label",),
}
_IGNORE = -100


class UnlabelledError(ValueError):
    """Examples lack the gold labels that training or scoring needs."""


# --------------------------------------------------------------------------
# checks


def _get_task(task):
    from xdist.train.tasks import Task, get_task

    t = task if isinstance(task, Task) else get_task(task)
    if t.format not in TRAINABLE_FORMATS:
        raise ValueError(
            f"task={t.name!r} has format {t.format!r}: features are made for the formats "
            f"{list(TRAINABLE_FORMATS)} (retrieval tasks use xdist.train.retrieval)"
        )
    return t


def _check_examples(examples, t, required: Sequence[str]) -> None:
    from datasets import Dataset

    if not isinstance(examples, Dataset):
        raise ValueError(
            f"examples must be a datasets.Dataset of canonical examples, got {type(examples).__name__}"
        )
    missing = [c for c in ("language", *required) if c not in examples.column_names]
    if missing:
        raise ValueError(
            f"examples lack the columns {missing} that {t.format!r} task {t.name!r} needs: "
            f"expected {['id', 'language', *_INPUT_COLUMNS[t.format], *_LABEL_COLUMNS[t.format]]}, "
            f"got {examples.column_names}"
        )
    if len(examples) == 0:
        raise ValueError(f"examples for task {t.name!r} has no rows: nothing to encode")


def _check_tokenizer(tokenizer) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"tokenizer={type(tokenizer).__name__} is not valid: expected a fast (Rust) tokenizer "
            "(transformers.PreTrainedTokenizerFast, AutoTokenizer.from_pretrained(..., use_fast=True)); "
            "word alignment and QA offsets need it"
        )


def _positive_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r} is not valid: expected a positive integer")
    return value


def _n_labels(t) -> int | None:
    if t.format == "multiple_choice":
        return None  # the number of choices of each example
    return t.n_labels


def _class_label(value, n: int | None, eid, train: bool, what: str = "label") -> int:
    if value is None or int(value) == -1:
        if train:
            raise UnlabelledError(
                f"example {eid} has {what} -1 (no gold label): training needs labelled examples"
            )
        return _IGNORE
    v = int(value)
    if v < 0 or (n is not None and v >= n):
        raise ValueError(
            f"example {eid} has {what}={v}: expected -1 (unlabelled) or 0..{(n or 1) - 1}"
        )
    return v


# --------------------------------------------------------------------------
# encode


def encode(task, examples, tokenizer, *, max_length: int = 128, doc_stride: int = 128,
           max_query_length: int = 64, train: bool = True, batch_size: int = 1000):
    """Tokenize canonical examples into model features.

    Parameters
    ----------
    task : str or Task
        A task of :mod:`xdist.train.tasks` with a trainable format.
    examples : datasets.Dataset
        Canonical examples (see the module docstring of
        :mod:`xdist.train.readers`); needs ``language`` and the input columns
        of the format, and the label columns when ``train``.
    tokenizer : transformers.PreTrainedTokenizerFast
        Must be a fast tokenizer.
    max_length : int, default 128
        Tokens per row, special tokens included.
    doc_stride : int, default 128
        QA: step between the starts of consecutive context windows, in tokens.
    max_query_length : int, default 64
        QA: question tokens kept.
    train : bool, default True
        Training features: labels required (``-1`` is an error).  QA:
        ``start_positions``/``end_positions`` instead of ``offset_mapping``.
    batch_size : int, default 1000
        Examples per ``Dataset.map`` batch.

    Returns
    -------
    datasets.Dataset
        ``input_ids``, ``attention_mask`` (``token_type_ids`` where the
        tokenizer returns them; multiple choice: one row per choice),
        ``length`` (tokens of the longest row), ``example_index`` (row in
        ``examples``), ``language``, and per format ``labels`` (int; tagging:
        one per token, ``-100`` except on the first sub-token of each
        labelled word; ``-100`` for unlabelled examples in evaluation),
        ``word_index`` (tagging: word of each first sub-token, -1 elsewhere),
        ``start_positions``/``end_positions`` (QA, ``train``) or
        ``offset_mapping``/``token_is_max_context`` (QA, not ``train``).
        QA examples give one feature per context window, in example order.

    Raises
    ------
    ValueError
        Unknown task or a format without features, a slow tokenizer, missing
        columns, bad lengths; :class:`UnlabelledError` for unlabelled
        training examples.
    """
    t = _get_task(task)
    _check_tokenizer(tokenizer)
    max_length = _positive_int("max_length", max_length)
    doc_stride = _positive_int("doc_stride", doc_stride)
    max_query_length = _positive_int("max_query_length", max_query_length)
    batch_size = _positive_int("batch_size", batch_size)
    n_special = tokenizer.num_special_tokens_to_add(pair=t.format != "tagging")
    if max_length <= n_special:
        raise ValueError(
            f"max_length={max_length} is not valid: expected more than the {n_special} special tokens"
        )
    if t.format == "extractive_qa" and max_length - n_special - max_query_length < 1:
        raise ValueError(
            f"max_length={max_length} is not valid with max_query_length={max_query_length}: "
            f"expected max_length > max_query_length + {n_special} special tokens"
        )
    required = _INPUT_COLUMNS[t.format] + (_LABEL_COLUMNS[t.format] if train else ())
    _check_examples(examples, t, required)
    fn = {
        "sentence_pair": _encode_pairs,
        "tagging": _encode_tagging,
        "extractive_qa": _encode_qa,
        "multiple_choice": _encode_choices,
    }[t.format]
    opts = dict(task=t, tokenizer=tokenizer, max_length=max_length, doc_stride=doc_stride,
                max_query_length=max_query_length, train=train)
    return examples.map(
        lambda batch, idx: fn(batch, idx, **opts),
        batched=True, batch_size=batch_size, with_indices=True,
        remove_columns=examples.column_names, features=_schema(t.format, train, tokenizer),
        new_fingerprint=_fingerprint(examples, tokenizer, opts), desc=f"Encoding {t.name}",
    )


def _fingerprint(examples, tokenizer, opts: Mapping) -> str:
    """Cache key of the features: the examples, the tokenizer, the options and this module's code.

    ``map`` would hash the function, which refers to this module's helpers by
    name only; a change to them must not reuse features cached on disk.
    """
    import hashlib

    from datasets.fingerprint import Hasher

    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    options = {k: (v.name if k == "task" else v) for k, v in opts.items() if k != "tokenizer"}
    return Hasher.hash([examples._fingerprint, source, Hasher.hash(tokenizer), sorted(options.items())])


def _schema(fmt: str, train: bool, tokenizer):
    """The features' column types (given to ``map``, which then skips slow type inference)."""
    import datasets

    seq = getattr(datasets, "List", None) or datasets.Sequence  # datasets < 4 has no List
    Value = datasets.Value

    def tokens(dtype):
        return seq(seq(Value(dtype))) if fmt == "multiple_choice" else seq(Value(dtype))

    cols = {"input_ids": tokens("int32"), "attention_mask": tokens("int8")}
    if "token_type_ids" in getattr(tokenizer, "model_input_names", ()):
        cols["token_type_ids"] = tokens("int8")
    cols["length"] = Value("int32")
    cols["example_index"] = Value("int64")
    cols["language"] = Value("string")
    if fmt in ("sentence_pair", "multiple_choice"):
        cols["labels"] = Value("int32")
    elif fmt == "tagging":
        cols["labels"] = seq(Value("int32"))
        cols["word_index"] = seq(Value("int32"))
    elif train:
        cols["start_positions"] = Value("int32")
        cols["end_positions"] = Value("int32")
    else:
        cols["offset_mapping"] = seq(seq(Value("int32")))
        cols["token_is_max_context"] = seq(Value("bool"))
    return datasets.Features(cols)


def _model_columns(enc) -> dict[str, list]:
    return {k: enc[k] for k in _TOKENIZER_INPUTS if k in enc}


def _tokenize_pairs(tokenizer, firsts: list[str], seconds: list[str], max_length: int) -> dict[str, list]:
    """``tokenizer(firsts, seconds, truncation=True, max_length=max_length)``'s model inputs, faster.

    Calls the Rust tokenizer's ``encode_batch_fast``, which skips the
    character offsets that sentence-pair and multiple-choice features never
    use (about a third of the tokenizing time), with the truncation,
    padding and special-token settings that transformers would set, and
    restores the tokenizer's settings afterwards.  Tokenizers without it
    (or with settings this does not mirror) go through ``tokenizer(...)``.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    fast = getattr(backend, "encode_batch_fast", None)
    if fast is None or not _plain_call(tokenizer):
        return _model_columns(tokenizer(firsts, seconds, truncation=True, max_length=max_length))
    names = getattr(tokenizer, "model_input_names", ("input_ids", "attention_mask"))
    with _BACKEND_LOCK:  # set, encode, restore: one thread at a time
        truncation, padding, special = backend.truncation, backend.padding, backend.encode_special_tokens
        try:
            backend.enable_truncation(max_length, stride=0, strategy="longest_first",
                                      direction=tokenizer.truncation_side)
            if padding is not None:
                backend.no_padding()
            backend.encode_special_tokens = bool(getattr(tokenizer, "split_special_tokens", False))
            encodings = fast(list(zip(firsts, seconds)), add_special_tokens=True)
        finally:
            if truncation is None:
                backend.no_truncation()
            else:
                backend.enable_truncation(**{k: truncation[k] for k in ("max_length", "stride", "strategy",
                                                                        "direction")})
            if padding is not None:
                backend.enable_padding(**padding)
            backend.encode_special_tokens = special
    out = {"input_ids": [e.ids for e in encodings]}
    if "token_type_ids" in names:
        out["token_type_ids"] = [e.type_ids for e in encodings]
    if "attention_mask" in names:
        out["attention_mask"] = [e.attention_mask for e in encodings]
    return out


#: Held while :func:`_tokenize_pairs` changes a Rust tokenizer's settings and encodes.
_BACKEND_LOCK = threading.Lock()


def _plain_call(tokenizer) -> bool:
    """Whether ``tokenizer(...)`` is transformers' own fast path (no subclass override, no input modes)."""
    try:
        from transformers.tokenization_utils_base import PreTrainedTokenizerBase
        from transformers.tokenization_utils_tokenizers import TokenizersBackend
    except ImportError:  # another transformers layout: take the tokenizer's own call
        return False
    cls = type(tokenizer)
    return (cls.__call__ is PreTrainedTokenizerBase.__call__ and cls._encode_plus is TokenizersBackend._encode_plus
            and not hasattr(tokenizer, "_switch_to_input_mode")
            and getattr(tokenizer, "truncation_side", "right") in ("left", "right"))


def _ids(batch, idx) -> list:
    ids = batch["id"] if "id" in batch else None
    return [f"{i} (id {ids[j]!r})" if ids is not None else str(i) for j, i in enumerate(idx)]


def _encode_pairs(batch, idx, *, task, tokenizer, max_length, train, **_):
    out = _tokenize_pairs(tokenizer, list(batch["text_a"]), list(batch["text_b"]), max_length)
    out["length"] = [len(x) for x in out["input_ids"]]
    labels = batch["label"] if "label" in batch else [None] * len(idx)
    names = _ids(batch, idx)
    out["labels"] = [_class_label(v, task.n_labels, names[j], train) for j, v in enumerate(labels)]
    out["example_index"] = list(idx)
    out["language"] = list(batch["language"])
    return out


def _encode_choices(batch, idx, *, task, tokenizer, max_length, train, **_):
    firsts, seconds, counts = [], [], []
    names = _ids(batch, idx)
    with_choice = task.name in QUESTION_WITH_CHOICE
    for j, (context, question, choices) in enumerate(zip(batch["context"], batch["question"], batch["choices"])):
        if not choices:
            raise ValueError(f"example {names[j]} has no choices: expected a non-empty list of answers")
        context, question = context or "", question or ""
        for choice in choices:
            if with_choice:
                firsts.append(context or question)
                seconds.append(f"{question} {choice}" if question and context else choice)
            else:
                firsts.append(" ".join(s for s in (context, question) if s))
                seconds.append(choice)
        counts.append(len(choices))
    enc = _tokenize_pairs(tokenizer, firsts, seconds, max_length)
    cols = list(enc)
    out: dict[str, list] = {k: [] for k in cols}
    out["length"] = []
    start = 0
    for n in counts:
        for k in cols:
            out[k].append(enc[k][start:start + n])
        out["length"].append(max(len(x) for x in enc["input_ids"][start:start + n]))
        start += n
    labels = batch["label"] if "label" in batch else [None] * len(idx)
    out["labels"] = [_class_label(v, counts[j], names[j], train) for j, v in enumerate(labels)]
    out["example_index"] = list(idx)
    out["language"] = list(batch["language"])
    return out


def _encode_tagging(batch, idx, *, task, tokenizer, max_length, train, **_):
    words = [list(w) for w in batch["tokens"]]
    names = _ids(batch, idx)
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
    # words that give no token at all become the unknown token (XTREME's utils_tag.py)
    redo = []
    for j in range(len(words)):
        seen = {w for w in enc.word_ids(j) if w is not None}
        last = max(seen, default=-1)
        truncated = len(enc["input_ids"][j]) >= max_length
        empty = [w for w in range(len(words[j])) if w not in seen and (w < last or not truncated)]
        if empty and tokenizer.unk_token is not None:
            for w in empty:
                words[j][w] = tokenizer.unk_token
            redo.append(j)
    if redo:
        fixed = tokenizer([words[j] for j in redo], is_split_into_words=True, truncation=True,
                          max_length=max_length)
    cols = list(_model_columns(enc))
    out: dict[str, list] = {k: [] for k in cols}
    out.update(labels=[], word_index=[], length=[])
    where = {j: r for r, j in enumerate(redo)}
    tags_col = batch["tags"] if "tags" in batch else None
    n_tags = task.n_labels
    for j in range(len(words)):
        src, row = (fixed, where[j]) if j in where else (enc, j)
        for k in cols:
            out[k].append(src[k][row])
        tags = tags_col[j] if tags_col is not None else None
        if tags is not None and len(tags) != len(words[j]):
            raise ValueError(
                f"example {names[j]} has {len(words[j])} tokens but {len(tags)} tags: expected one tag per token"
            )
        if train and tags is not None and words[j] and all(int(x) == -1 for x in tags):
            raise UnlabelledError(
                f"example {names[j]} has no gold tags (all -1): training needs labelled examples"
            )
        labels, word_index, prev = [], [], None
        for w in src.word_ids(row):
            if w is None or w == prev:
                labels.append(_IGNORE)
                word_index.append(-1)
            else:
                word_index.append(w)
                labels.append(_IGNORE if tags is None else
                              _class_label(tags[w], n_tags, names[j], False, what=f"tag of word {w}"))
            prev = w if w is not None else prev
        out["labels"].append(labels)
        out["word_index"].append(word_index)
        out["length"].append(len(labels))
    out["example_index"] = list(idx)
    out["language"] = list(batch["language"])
    return out


def _truncate_questions(tokenizer, questions: list[str], max_query_length: int) -> list[str]:
    """Cut each question after its ``max_query_length``-th token (XTREME's ``max_query_length``)."""
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    out = list(questions)
    for j, ids in enumerate(enc["input_ids"]):
        if len(ids) > max_query_length:
            out[j] = questions[j][: enc["offset_mapping"][j][max_query_length - 1][1]]
    return out


@lru_cache(maxsize=1)
def _spaces() -> np.ndarray:
    """Code points for which ``str.isspace`` is true."""
    return np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint32)


def _space_mask(text: str) -> np.ndarray:
    codes = np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)
    return np.isin(codes, _spaces())


def _trim_offsets(offsets: np.ndarray, is_space: np.ndarray) -> np.ndarray:
    """Move token starts past leading whitespace (SentencePiece's '▁' maps to the space)."""
    starts, ends = offsets[:, 0].copy(), offsets[:, 1]
    while True:
        movable = starts < ends
        movable[movable] = is_space[starts[movable]]
        if not movable.any():
            break
        starts[movable] += 1
    return np.stack([starts, ends], axis=1)


def _max_context(spans: list[tuple[int, int]]) -> list[np.ndarray]:
    """BERT's ``_check_is_max_context`` for every token of every window.

    ``spans`` are (first context token, number of context tokens) per window;
    the window where a token has the largest ``min(left, right) + 0.01 *
    window length`` wins, the first one on ties.
    """
    n = max((s + n for s, n in spans), default=0)
    best = np.full(n, -1.0)
    owner = np.full(n, -1)
    for w, (s, length) in enumerate(spans):
        k = np.arange(length)
        score = np.minimum(k, length - 1 - k) + 0.01 * length
        better = score > best[s + k]
        best[s + k[better]] = score[better]
        owner[s + k[better]] = w
    return [owner[s:s + length] == w for w, (s, length) in enumerate(spans)]


def _encode_qa(batch, idx, *, task, tokenizer, max_length, doc_stride, max_query_length, train):
    questions = [(q or "").lstrip() for q in batch["question"]]
    contexts = [c or "" for c in batch["context"]]
    names = _ids(batch, idx)
    answers = batch["answers"] if "answers" in batch else None
    v2 = task.schema == "squad_v2.0"
    questions = _truncate_questions(tokenizer, questions, max_query_length)
    q_len = [len(x) for x in tokenizer(questions, add_special_tokens=False)["input_ids"]]
    n_special = tokenizer.num_special_tokens_to_add(pair=True)
    groups: dict[int, list[int]] = {}
    for j, n in enumerate(q_len):
        groups.setdefault(n, []).append(j)
    per_example: list[list[dict]] = [[] for _ in questions]
    for n_q, members in groups.items():
        room = max_length - n_q - n_special
        if room < 1:
            raise ValueError(
                f"max_length={max_length} leaves no room for the context of example {names[members[0]]} "
                f"(question of {n_q} tokens): raise max_length or lower max_query_length"
            )
        overlap = max(0, room - doc_stride)  # windows start doc_stride tokens apart
        step = room - overlap
        enc = tokenizer([questions[j] for j in members], [contexts[j] for j in members],
                        truncation="only_second", max_length=max_length, stride=overlap,
                        return_overflowing_tokens=True, return_offsets_mapping=True)
        mapping = enc["overflow_to_sample_mapping"]
        for f in range(len(enc["input_ids"])):
            j = members[mapping[f]]
            seq = enc.sequence_ids(f)
            if 1 in seq:  # [CLS] question [SEP] context [SEP]: the context is contiguous
                first, last = seq.index(1), len(seq) - 1 - seq[::-1].index(1)
                ctx_pos = np.arange(first, last + 1)
            else:
                ctx_pos = np.zeros(0, dtype=np.int64)
            offsets = np.asarray(enc["offset_mapping"][f], dtype=np.int64).reshape(-1, 2)
            feat = {k: enc[k][f] for k in _TOKENIZER_INPUTS if k in enc}
            feat["_ctx"] = ctx_pos
            feat["_offsets"] = offsets
            feat["_start"] = len(per_example[j]) * step
            per_example[j].append(feat)
    cols = [k for k in _TOKENIZER_INPUTS if k in per_example[0][0]]
    out: dict[str, list] = {k: [] for k in cols}
    out["length"], out["example_index"], out["language"] = [], [], []
    if train:
        out["start_positions"], out["end_positions"] = [], []
    else:
        out["offset_mapping"], out["token_is_max_context"] = [], []
    for j, feats in enumerate(per_example):
        is_space = _space_mask(contexts[j])
        if train:
            gold = answers[j] if answers is not None else None
            texts = list(gold["text"]) if gold else []
            starts = list(gold["answer_start"]) if gold else []
            if not texts and not v2:
                raise UnlabelledError(
                    f"example {names[j]} has no gold answer: training {task.name!r} needs one "
                    "(only SQuAD v2.0 has unanswerable questions)"
                )
            if texts and len(starts) != len(texts):
                raise ValueError(f"example {names[j]} has {len(texts)} answer texts but {len(starts)} answer_start")
        else:
            spans = [(feat["_start"], len(feat["_ctx"])) for feat in feats]
            max_ctx = _max_context(spans)
        for w, feat in enumerate(feats):
            for k in cols:
                out[k].append(feat[k])
            n_tok = len(feat["input_ids"])
            ctx_pos = feat["_ctx"]
            offsets = np.full((n_tok, 2), -1, dtype=np.int64)
            if len(ctx_pos):
                offsets[ctx_pos] = _trim_offsets(feat["_offsets"][ctx_pos], is_space)
            if train:
                s, e = _answer_positions(offsets, ctx_pos, texts, starts)
                out["start_positions"].append(s)
                out["end_positions"].append(e)
            else:
                out["offset_mapping"].append(offsets)
                flags = np.zeros(n_tok, dtype=bool)
                flags[ctx_pos] = max_ctx[w]
                out["token_is_max_context"].append(flags)
            out["length"].append(n_tok)
            out["example_index"].append(idx[j])
            out["language"].append(batch["language"][j])
    return out


def _answer_positions(offsets: np.ndarray, ctx_pos: np.ndarray, texts: list, starts: list) -> tuple[int, int]:
    """Token span of the first gold answer in one window; (0, 0) (CLS) when it is not inside."""
    if not texts or not len(ctx_pos):
        return 0, 0
    start_char = int(starts[0])
    end_char = start_char + len(texts[0])
    first, last = int(ctx_pos[0]), int(ctx_pos[-1])
    if not (offsets[first, 0] <= start_char and offsets[last, 1] >= end_char):
        return 0, 0
    # as run_qa.py: the last token of the leading run starting at or before the answer start, the
    # first token of the trailing run ending at or after the answer end
    after = offsets[first:last + 1, 0] > start_char
    start = first + (int(after.argmax()) if after.any() else last + 1 - first) - 1
    before = offsets[first:last + 1, 1] < end_char
    end = first + (len(before) - 1 - int(before[::-1].argmax()) if before.any() else -1) + 1
    return start, end


# --------------------------------------------------------------------------
# collate


class Collator:
    """Pad feature rows into a batch of ``torch.long`` tensors.

    Parameters
    ----------
    tokenizer
        Gives the padding id (``pad_token_id``) and ``pad_token_type_id``.
    pad_to_multiple_of : int, optional
        Round the padded length up to a multiple of this (tensor cores).

    Notes
    -----
    Rows are padded on the right to the longest row of the batch.
    ``input_ids`` take the padding id, ``attention_mask`` 0, ``labels`` of
    tagging -100.  Multiple-choice rows become ``(batch, choices, length)``
    (every row of a batch must have the same number of choices).  Columns not
    in :data:`MODEL_INPUTS` (``example_index``, ``language``, ``length``,
    ``offset_mapping``, ``word_index``, ...) are dropped.

    Examples
    --------
    >>> from xdist.train.toy import make_tokenizer
    >>> from xdist.train.features import Collator
    >>> tok = make_tokenizer(["a cat sat", "a dog ran"], vocab_size=30)
    >>> batch = Collator(tok)([{"input_ids": [0, 7, 2], "attention_mask": [1, 1, 1], "labels": 1},
    ...                        {"input_ids": [0, 2], "attention_mask": [1, 1], "labels": 0}])
    >>> batch["input_ids"].tolist(), batch["labels"].tolist()
    ([[0, 7, 2], [0, 2, 1]], [1, 0])
    """

    def __init__(self, tokenizer, pad_to_multiple_of: int | None = None):
        pad_id = getattr(tokenizer, "pad_token_id", None)
        if pad_id is None:
            raise ValueError(
                f"tokenizer={type(tokenizer).__name__} has no pad token: expected a tokenizer with pad_token set"
            )
        if pad_to_multiple_of is not None:
            _positive_int("pad_to_multiple_of", pad_to_multiple_of)
        self.pad_to_multiple_of = pad_to_multiple_of
        self.pad_values = {
            "input_ids": int(pad_id),
            "attention_mask": 0,
            "token_type_ids": int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
            "labels": _IGNORE,
        }

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict:
        import torch

        if not rows:
            raise ValueError("rows is empty: a batch needs at least one feature row")
        keys = [k for k in MODEL_INPUTS if k in rows[0]]
        if "input_ids" not in keys:
            raise ValueError(f"feature rows need input_ids, got the columns {sorted(rows[0])}")
        for r in rows:
            lacking = [k for k in keys if k not in r]
            if lacking:
                raise ValueError(f"every feature row needs the columns {keys}: a row lacks {lacking}")
        ids = [r["input_ids"] for r in rows]
        choices = _depth(ids[0]) == 2
        if choices:
            n_choices = {len(x) for x in ids}
            if len(n_choices) != 1:
                raise ValueError(
                    f"multiple-choice rows of one batch must have the same number of choices, got {sorted(n_choices)}"
                )
            width = max(len(c) for x in ids for c in x)
        else:
            width = max(len(x) for x in ids)
        if self.pad_to_multiple_of:
            m = self.pad_to_multiple_of
            width = -(-width // m) * m
        batch = {}
        for k in keys:
            values = [r[k] for r in rows]
            if _depth(values[0]) == 0:
                batch[k] = torch.tensor([int(v) for v in values], dtype=torch.long)
            elif choices and k != "labels":
                flat = [c for v in values for c in v]
                arr = _pad(flat, width, self.pad_values.get(k, 0))
                batch[k] = torch.from_numpy(arr.reshape(len(rows), -1, width))
            else:
                batch[k] = torch.from_numpy(_pad(values, width, self.pad_values.get(k, 0)))
        return batch

    def take(self, columns: Mapping[str, tuple[np.ndarray, np.ndarray]], idx) -> dict:
        """The batch of rows ``idx`` of flattened list columns, padded as :meth:`__call__` pads them.

        Evaluation batches thousands of rows a second: this gathers them
        with numpy from :func:`flat_columns` instead of building one Python
        list per row.

        Parameters
        ----------
        columns : mapping of str to (values, offsets)
            :func:`flat_columns` of the features' model inputs (lists of
            integers per row; not the nested lists of multiple choice).
        idx : sequence of int
            Rows to take, in batch order.

        Returns
        -------
        dict of str to torch.Tensor
            ``torch.long`` tensors of shape ``(len(idx), width)``.

        Examples
        --------
        >>> import datasets
        >>> from xdist.train.toy import make_tokenizer
        >>> from xdist.train.features import Collator, flat_columns
        >>> tok = make_tokenizer(["a cat sat", "a dog ran"], vocab_size=30)
        >>> feats = datasets.Dataset.from_dict({"input_ids": [[0, 7, 2], [0, 2]]})
        >>> Collator(tok).take(flat_columns(feats, ["input_ids"]), [1, 0])["input_ids"].tolist()
        [[0, 2, 1], [0, 7, 2]]
        """
        import torch

        idx = np.asarray(idx, dtype=np.int64)
        if idx.size == 0:
            raise ValueError("idx is empty: a batch needs at least one feature row")
        batch, width = {}, None
        for k, (values, offsets) in columns.items():
            starts = offsets[idx]
            lengths = offsets[idx + 1] - starts
            if width is None:
                width = int(lengths.max())
                if self.pad_to_multiple_of:
                    width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
            row = np.repeat(np.arange(idx.size), lengths)
            pos = np.arange(row.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            out = np.full((idx.size, width), self.pad_values.get(k, 0), dtype=np.int64)
            out[row, pos] = values[starts[row] + pos]
            batch[k] = torch.from_numpy(out)
        return batch


def flat_columns(ds, names: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Columns of lists of numbers as ``(values, offsets)`` numpy arrays, read from the Arrow buffers.

    Row ``i`` of column ``name`` is ``values[offsets[i]:offsets[i + 1]]``
    (respects select/shuffle indices).  :meth:`Collator.take` pads batches
    from them.

    Raises
    ------
    ValueError
        A column that is not one list of numbers per row (multiple choice
        holds lists of lists).
    """
    import pyarrow as pa

    table = ds.select_columns(list(names)).with_format("arrow")[:]
    out = {}
    for name in names:
        col = table[name].combine_chunks()
        if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)) or not (
                pa.types.is_integer(col.type.value_type) or pa.types.is_floating(col.type.value_type)):
            raise ValueError(f"features column {name!r} has type {col.type}: expected one list of numbers per row")
        if col.null_count or col.values.null_count:
            raise ValueError(f"features column {name!r} has missing values (null): expected numbers in every row")
        offsets = col.offsets.to_numpy().astype(np.int64)
        out[name] = (col.values.to_numpy(zero_copy_only=False), offsets)
    return out


def _depth(x) -> int:
    """0 for a scalar, 1 for a sequence of scalars, 2 for a (ragged) sequence of sequences."""
    if getattr(x, "ndim", None) is not None:
        return int(x.ndim)
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        return 0
    return 1 + (_depth(x[0]) if len(x) else 0)


def _pad(seqs: Sequence, width: int, value: int) -> np.ndarray:
    out = np.full((len(seqs), width), value, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = np.asarray(s, dtype=np.int64)
    return out


# --------------------------------------------------------------------------
# decode


def default_tag(task) -> int:
    """The tag predicted for words that have no token (cut off by ``max_length``).

    ``O`` where the task has it (NER), ``NOUN`` for UPOS (the most frequent
    tag of most treebanks), else tag id 0 (CCG).

    Examples
    --------
    >>> from xdist.train.features import default_tag
    >>> from xdist.train.tasks import get_task
    >>> get_task("PAN-X").labels[default_tag("PAN-X")], get_task("UD-POS").labels[default_tag("UD-POS")]
    ('O', 'NOUN')
    """
    t = _get_task(task)
    for tag in ("O", "NOUN"):
        if tag in t.labels:
            return t.labels.index(tag)
    return 0


def _column(ds, name: str) -> list:
    """One column of a Dataset as a Python list (respects select/shuffle indices)."""
    return ds.select_columns([name]).with_format(None)[:][name]


def _numbers(ds, name: str) -> np.ndarray:
    """A column of scalars as one numpy array, read from the Arrow buffer.

    ``np.asarray(ds[name])`` iterates a ``datasets`` column row by row (about
    30 µs a row); this reads it at once (respects select/shuffle indices).
    """
    return ds.select_columns([name]).with_format("arrow")[:][name].to_numpy()


def _ragged(ds, name: str, width: int | None = None) -> list[np.ndarray]:
    """A column of lists (``width``: of lists of ``width`` numbers) as one numpy array per row.

    Reads the Arrow buffers directly: much faster than Python lists for long columns.
    """
    col = ds.select_columns([name]).with_format("arrow")[:][name].combine_chunks()
    offsets = col.offsets.to_numpy()
    values = col.values
    n_inner = len(values)
    if width is not None:
        values = values.flatten()
    flat = values.to_numpy(zero_copy_only=False)
    if width is not None:
        if len(flat) != width * n_inner:
            raise ValueError(f"features column {name!r} must hold lists of {width} numbers per token")
        flat = flat.reshape(-1, width)
    return [flat[offsets[i]:offsets[i + 1]] for i in range(len(col))]


def _outputs(outputs, keys: Sequence[str], n: int) -> list[np.ndarray]:
    if not isinstance(outputs, Mapping):
        raise ValueError(f"outputs must be a mapping of output name -> array, got {type(outputs).__name__}")
    arrays = []
    for k in keys:
        if k not in outputs:
            raise ValueError(f"outputs lack {k!r}: expected the keys {list(keys)}, got {sorted(outputs)}")
        a = np.asarray(outputs[k])
        if a.shape[0] != n:
            raise ValueError(f"outputs[{k!r}] has {a.shape[0]} rows but features has {n}: expected one row per feature")
        arrays.append(a)
    return arrays


def _feature_examples(features, n_examples: int, offset: int = 0) -> np.ndarray:
    if "example_index" not in features.column_names:
        raise ValueError("features lack example_index: expected the output of encode()")
    ex = np.asarray(_column(features, "example_index"), dtype=np.int64) - offset
    if len(ex) and (ex.min() < 0 or ex.max() >= n_examples):
        raise ValueError(
            f"features point at example {int(ex.max())} but examples has {n_examples} rows: "
            "decode with the examples the features were encoded from"
        )
    return ex


def decode(task, examples, features, outputs: Mapping[str, Any], *, n_best_size: int = 20,
           max_answer_length: int = 30, example_offset: int = 0):
    """Turn model outputs (one row per feature) into one prediction per example.

    Parameters
    ----------
    task : str or Task
    examples : datasets.Dataset
        The examples ``features`` were encoded from.
    features : datasets.Dataset
        Output of :func:`encode` (QA: with ``train=False``).
    outputs : mapping of str to numpy.ndarray
        ``logits`` ``(n, C)`` (pairs, multiple choice) or ``(n, T, L)``
        (tagging, ``T`` >= the longest feature); QA ``start_logits`` and
        ``end_logits`` ``(n, T)``.
    n_best_size : int, default 20
        QA: start and end positions considered per window.
    max_answer_length : int, default 30
        QA: longest answer, in tokens.
    example_offset : int, default 0
        Subtracted from ``example_index``: the row of ``examples[0]`` in the
        examples the features were encoded from (when several languages were
        encoded at once and are decoded one at a time).

    Returns
    -------
    list of int
        Pairs and multiple choice: predicted label index per example.
    list of list of int
        Tagging: predicted tag id per word (from the first sub-token;
        :func:`default_tag` for words without a token).
    dict of str to str
        QA: example id -> answer text, cut from the original context.  The
        best span over all windows of the example (start + end logit, the
        start in its max-context window, ``start <= end``, at most
        ``max_answer_length`` tokens); ``""`` when no span is valid.  SQuAD
        v2.0: ``""`` when the null score (CLS start + end, the lowest over
        the windows) beats the best span (threshold 0.0).
    """
    t = _get_task(task)
    n_best_size = _positive_int("n_best_size", n_best_size)
    max_answer_length = _positive_int("max_answer_length", max_answer_length)
    n_ex = len(examples)
    feat_ex = _feature_examples(features, n_ex, example_offset)
    if t.format == "extractive_qa":
        return _decode_qa(t, examples, features, feat_ex, outputs, n_best_size, max_answer_length)
    if len(feat_ex) != n_ex or (n_ex and not np.array_equal(np.sort(feat_ex), np.arange(n_ex))):
        raise ValueError(
            f"features has {len(feat_ex)} rows for {n_ex} examples: expected one feature per example "
            "(decode with the examples the features were encoded from)"
        )
    (logits,) = _outputs(outputs, ("logits",), len(feat_ex))
    if t.format == "tagging":
        return _decode_tagging(t, examples, features, feat_ex, logits)
    if logits.ndim == 3 and logits.shape[-1] == 1:
        logits = logits[..., 0]
    if logits.ndim != 2:
        raise ValueError(f"outputs['logits'] has shape {logits.shape}: expected (features, classes)")
    preds = [0] * n_ex
    for f, label in zip(feat_ex, logits.argmax(axis=-1)):
        preds[int(f)] = int(label)
    return preds


def _decode_tagging(t, examples, features, feat_ex, logits) -> list[list[int]]:
    if logits.ndim != 3:
        raise ValueError(f"outputs['logits'] has shape {logits.shape}: expected (features, tokens, tags)")
    if "word_index" not in features.column_names:
        raise ValueError("features lack word_index: expected the output of encode() for a tagging task")
    n_words = [len(w) for w in _column(examples, "tokens")]
    fill = default_tag(t)
    preds = [[fill] * n for n in n_words]
    filled = 0
    for f, word_index in enumerate(_ragged(features, "word_index")):
        wi = np.asarray(word_index, dtype=np.int64)
        if len(wi) > logits.shape[1]:
            raise ValueError(
                f"outputs['logits'] covers {logits.shape[1]} tokens but feature {f} has {len(wi)}"
            )
        pos = np.nonzero(wi >= 0)[0]
        row = preds[int(feat_ex[f])]
        tags = logits[f, pos].argmax(axis=-1)
        for w, tag in zip(wi[pos], tags):
            row[int(w)] = int(tag)
        filled += len(row) - len(pos)
    if filled:
        logger.warning("%d of %d words of %s had no token (cut by max_length) and get the default tag %r",
                       filled, sum(n_words), t.name, t.labels[fill] if t.labels else fill)
    return preds


def _decode_qa(t, examples, features, feat_ex, outputs, n_best_size, max_answer_length) -> dict[str, str]:
    for col in ("id", "context"):
        if col not in examples.column_names:
            raise ValueError(f"examples lack {col!r}: QA decoding needs the example ids and contexts")
    if "offset_mapping" not in features.column_names:
        raise ValueError("features lack offset_mapping: decode QA features encoded with train=False")
    start_logits, end_logits = _outputs(outputs, ("start_logits", "end_logits"), len(feat_ex))
    v2 = t.schema == "squad_v2.0"
    ids = [str(i) for i in _column(examples, "id")]
    contexts = _column(examples, "context")
    offsets_col = _ragged(features, "offset_mapping", width=2)
    max_ctx_col = (_ragged(features, "token_is_max_context")
                   if "token_is_max_context" in features.column_names else None)
    by_example: dict[int, list[int]] = {}
    for f, e in enumerate(feat_ex):
        by_example.setdefault(int(e), []).append(f)
    preds: dict[str, str] = {}
    for e in range(len(ids)):
        best = (-np.inf, "")
        null = np.inf
        context = contexts[e] or ""
        for f in by_example.get(e, ()):
            off = np.asarray(offsets_col[f], dtype=np.int64).reshape(-1, 2)
            n = len(off)
            s_log = np.asarray(start_logits[f][:n], dtype=np.float64)
            e_log = np.asarray(end_logits[f][:n], dtype=np.float64)
            null = min(null, s_log[0] + e_log[0])
            valid = off[:, 0] >= 0
            can_start = valid & (np.asarray(max_ctx_col[f], dtype=bool) if max_ctx_col is not None else True)
            starts = [i for i in np.argsort(s_log)[::-1][:n_best_size] if can_start[i]]
            ends = [i for i in np.argsort(e_log)[::-1][:n_best_size] if valid[i]]
            if not starts or not ends:
                continue
            s_idx, e_idx = np.asarray(starts), np.asarray(ends)
            score = s_log[s_idx][:, None] + e_log[e_idx][None, :]
            length = e_idx[None, :] - s_idx[:, None] + 1
            score[(length < 1) | (length > max_answer_length)] = -np.inf
            for flat in np.argsort(-score, axis=None, kind="stable"):
                a, b = divmod(int(flat), len(e_idx))
                if not np.isfinite(score[a, b]) or score[a, b] <= best[0]:
                    break
                text = context[off[s_idx[a], 0]: off[e_idx[b], 1]]
                if text:
                    best = (float(score[a, b]), text)
                    break
        if v2 and (not np.isfinite(best[0]) or null - best[0] > 0.0):
            preds[ids[e]] = ""
        else:
            preds[ids[e]] = best[1]
    return preds


# --------------------------------------------------------------------------
# score


def score_predictions(task, examples, predictions, *, language: str | None = None) -> dict[str, float]:
    """Score :func:`decode` predictions with the task's metric.

    Parameters
    ----------
    task : str or Task
    examples : datasets.Dataset
        Labelled examples (the gold labels).
    predictions
        What :func:`decode` returns for the task.
    language : str, optional
        Language of the examples (MLQA's normalisation needs it).

    Returns
    -------
    dict
        :func:`xdist.train.metrics.score`'s dict: metric -> percent (and the
        extra keys some metrics add).

    Raises
    ------
    UnlabelledError
        When an example has no gold label (``-1``, all tags ``-1``, or no
        answer where the task needs one).
    """
    from xdist.train.metrics import score

    t = _get_task(task)
    col = _LABEL_COLUMNS[t.format][0]
    required = (col, "id") if t.format == "extractive_qa" else (col,)
    missing = [c for c in required if c not in examples.column_names]
    if missing:
        raise UnlabelledError(f"examples lack {missing}: scoring {t.name!r} needs the gold labels")
    gold_col = _column(examples, col)
    n = len(gold_col)
    if t.format == "extractive_qa":
        gold = {str(i): list(a["text"]) for i, a in zip(_column(examples, "id"), gold_col)}
        empty = [q for q, a in gold.items() if not a]
        if empty and (t.schema != "squad_v2.0" or len(empty) == n):
            raise UnlabelledError(
                f"{len(empty)} of {n} examples of {t.name!r} have no gold answer (first: {empty[0]!r}): "
                "scoring needs labelled examples (e.g. the 'original' layout, not XTREME's blanked test files)"
            )
        if not isinstance(predictions, Mapping):
            raise ValueError(
                f"predictions must be a mapping example id -> answer text, got {type(predictions).__name__}"
            )
        return score(t, gold, dict(predictions), language=language)
    if isinstance(predictions, (str, bytes, Mapping)) or len(predictions) != n:
        raise ValueError(
            f"predictions must be a list with one entry per example ({n}), got "
            f"{type(predictions).__name__} of length {len(predictions) if hasattr(predictions, '__len__') else '?'}"
        )
    names = list(t.labels) if t.labels else None

    def name(i: int) -> str:
        return names[i] if names is not None else str(i)

    if t.format == "tagging":
        unlabelled = [j for j, tags in enumerate(gold_col) if any(int(x) < 0 for x in tags)]
        if unlabelled:
            raise UnlabelledError(
                f"{len(unlabelled)} of {n} examples of {t.name!r} have words without gold tag (-1), "
                f"first: row {unlabelled[0]}; scoring needs labelled examples"
            )
        labels = [[name(int(x)) for x in tags] for tags in gold_col]
        preds = []
        for j, (p, g) in enumerate(zip(predictions, gold_col)):
            if len(p) != len(g):
                raise ValueError(f"prediction {j} has {len(p)} tags for {len(g)} words: expected one per word")
            preds.append([name(int(x)) for x in p])
        return score(t, labels, preds, language=language)
    unlabelled = [j for j, v in enumerate(gold_col) if v is None or int(v) < 0]
    if unlabelled:
        raise UnlabelledError(
            f"{len(unlabelled)} of {n} examples of {t.name!r} have label -1 (first: row {unlabelled[0]}): "
            "scoring needs labelled examples (e.g. the 'original' layout, not XTREME's unlabelled test files)"
        )
    if t.format == "multiple_choice":
        return score(t, [int(v) for v in gold_col], [int(p) for p in predictions], language=language)
    return score(t, [name(int(v)) for v in gold_col], [name(int(p)) for p in predictions], language=language)
