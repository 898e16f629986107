"""Task metrics that reproduce the official scoring scripts, in pure Python/numpy.

Every function returns a ``dict`` of floats whose keys are fixed (the same
keys whatever the arguments; ``nan`` where a value does not apply).  Scores
are **percentages (0-100)**, as XTREME and the official scripts report them
and as the results table stores them; thresholds and counts are raw numbers.

Each metric is checked in ``tests/train/test_metrics.py`` against the output
of the official script on fixed examples (``tests/fixtures/metrics/``, made by
``make_golden.sh``, which names each script and its commit).  None of those
scripts, nor seqeval or faiss, is needed at run time.

=====================  ==========================================================
function               reproduces
=====================  ==========================================================
:func:`accuracy`       XTREME ``evaluate.py`` ``accuracy`` (XNLI, PAWS-X, Tatoeba)
:func:`binary_f1`      scikit-learn ``f1_score`` (GLUE QQP F1)
:func:`tag_accuracy`   token accuracy (CCG; UD-POS as most later papers report it)
:func:`seqeval_f1`     seqeval ``f1_score`` as XTREME calls it (PAN-X *and* UD-POS)
:func:`squad_v1`       SQuAD ``evaluate-v1.1.py`` (SQuAD v1.1, XQuAD, TyDiQA-GoldP)
:func:`squad_v2`       SQuAD ``evaluate-v2.0.py`` (HasAns/NoAns, best threshold)
:func:`mlqa`           MLQA ``mlqa_evaluation_v1.py`` (per-language normalisation)
:func:`bucc_f1`        XTREME ``utils_retrieve.bucc_eval`` (threshold tuned on gold)
:func:`bucc_candidates` XTREME ``utils_retrieve.mine_bitext`` (ratio margin, k=4)
:func:`tatoeba_accuracy` XTREME ``similarity_search`` + accuracy
=====================  ==========================================================

:func:`score` dispatches on a task of :mod:`xdist.train.tasks`.
"""

from __future__ import annotations

import collections
import math
import re
import string
import sys
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "MissingPredictionWarning",
    "MLQA_LANGUAGES",
    "accuracy",
    "binary_f1",
    "tag_accuracy",
    "seqeval_f1",
    "normalize_answer",
    "squad_v1",
    "squad_v2",
    "mlqa",
    "bucc_f1",
    "bucc_candidates",
    "nearest_neighbors",
    "tatoeba_accuracy",
    "score",
]

NAN = float("nan")


class MissingPredictionWarning(UserWarning):
    """A gold question has no prediction; it scores 0 (as the official scripts do)."""


# --------------------------------------------------------------------------
# input checks


def _as_list(values: Any, param: str) -> list:
    if isinstance(values, (str, bytes)) or values is None:
        raise ValueError(
            f"{param} must be a sequence of labels, got {type(values).__name__} {values!r:.60}"
        )
    try:
        out = list(values)
    except TypeError:
        raise ValueError(
            f"{param} must be a sequence of labels, got {type(values).__name__}"
        ) from None
    return out


def _paired(labels: Any, predictions: Any) -> tuple[list, list]:
    lab = _as_list(labels, "labels")
    pred = _as_list(predictions, "predictions")
    if len(lab) != len(pred):
        raise ValueError(
            f"labels and predictions differ in length: {len(lab)} labels, "
            f"{len(pred)} predictions; pass one prediction per gold label"
        )
    if not lab:
        raise ValueError("labels is empty: a metric needs at least one example")
    return lab, pred


def _paired_sequences(labels: Any, predictions: Any) -> tuple[list[list], list[list]]:
    lab, pred = _paired(labels, predictions)
    lab_s = [_as_list(s, f"labels[{i}]") for i, s in enumerate(lab)]
    pred_s = [_as_list(s, f"predictions[{i}]") for i, s in enumerate(pred)]
    for i, (a, b) in enumerate(zip(lab_s, pred_s)):
        if len(a) != len(b):
            raise ValueError(
                f"sentence {i} has {len(a)} gold tags but {len(b)} predicted tags; "
                "pass one predicted tag per gold token"
            )
    return lab_s, pred_s


# --------------------------------------------------------------------------
# classification


def accuracy(labels: Sequence, predictions: Sequence) -> dict[str, float]:
    """Percentage of predictions equal to the gold label.

    As XTREME's ``evaluate.py`` scores XNLI, PAWS-X, Tatoeba (predicted index
    versus gold index) and multiple-choice tasks: ``100 * correct / n``.
    Labels are compared with ``==``, so ``"1"`` and ``1`` differ.

    Parameters
    ----------
    labels, predictions : sequence
        Gold and predicted labels, one per example, same length.

    Returns
    -------
    dict
        ``{"accuracy": float}`` in percent.

    Examples
    --------
    >>> from xdist.train.metrics import accuracy
    >>> accuracy(["entailment", "neutral", "neutral"], ["entailment", "neutral", "contradiction"])
    {'accuracy': 66.66666666666666}
    """
    lab, pred = _paired(labels, predictions)
    correct = sum(int(p == g) for p, g in zip(pred, lab))
    return {"accuracy": float(correct) / len(pred) * 100}


def binary_f1(labels: Sequence, predictions: Sequence, *, positive: Any = 1) -> dict[str, float]:
    """F1, precision and recall of the positive class (GLUE's QQP and MRPC F1).

    Same as scikit-learn's ``f1_score(labels, predictions, pos_label=positive)``
    (undefined precision or recall count as 0).

    Parameters
    ----------
    labels, predictions : sequence
        Gold and predicted labels.
    positive : label
        The positive class (QQP: ``1``, "is duplicate").

    Returns
    -------
    dict
        ``{"f1", "precision", "recall"}`` in percent.

    Examples
    --------
    >>> from xdist.train.metrics import binary_f1
    >>> binary_f1([1, 0, 1, 1], [1, 1, 0, 1])["f1"]
    66.66666666666666
    """
    lab, pred = _paired(labels, predictions)
    tp = sum(1 for g, p in zip(lab, pred) if g == positive and p == positive)
    n_pred = sum(1 for p in pred if p == positive)
    n_true = sum(1 for g in lab if g == positive)
    prec = tp / n_pred if n_pred else 0.0
    rec = tp / n_true if n_true else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
    return {"f1": f1 * 100, "precision": prec * 100, "recall": rec * 100}


# --------------------------------------------------------------------------
# tagging


def tag_accuracy(labels: Sequence[Sequence], predictions: Sequence[Sequence]) -> dict[str, float]:
    """Token-level accuracy over sentences of tags (CCG; UD-POS accuracy).

    Parameters
    ----------
    labels, predictions : sequence of sequences
        One list of tags per sentence; each predicted sentence as long as its
        gold sentence.

    Returns
    -------
    dict
        ``{"accuracy": float}``: percent of tokens tagged correctly.

    Examples
    --------
    >>> from xdist.train.metrics import tag_accuracy
    >>> tag_accuracy([["DET", "NOUN"], ["VERB"]], [["DET", "VERB"], ["VERB"]])
    {'accuracy': 66.66666666666666}
    """
    lab, pred = _paired_sequences(labels, predictions)
    n = sum(len(s) for s in lab)
    if n == 0:
        raise ValueError("labels has no tokens: a metric needs at least one token")
    correct = sum(int(g == p) for a, b in zip(lab, pred) for g, p in zip(a, b))
    return {"accuracy": correct / n * 100}


_SEQEVAL_VERSIONS = ("1.x", "0.0.12")


def _seqeval_entities(seq: list[list[str]], version: str) -> set[tuple[str, int, int]]:
    """seqeval's ``get_entities`` (prefix IOB/IOBES, ``suffix=False``), nested input.

    Sentences are joined with an ``"O"`` after each, as seqeval does, so
    offsets run over the whole corpus.  Any tag is accepted: its first
    character is read as the chunk tag and the rest as the type, which is
    what happens to POS tags such as ``"NOUN"`` in XTREME.
    """
    flat = [tag for sent in seq for tag in list(sent) + ["O"]]
    chunks = set()
    prev_tag, prev_type, begin = "O", "", 0
    for i, chunk in enumerate(flat + ["O"]):
        if not isinstance(chunk, str) or not chunk:
            raise ValueError(f"tag {chunk!r} at flat position {i} is not a non-empty string")
        tag = chunk[0]
        if version == "1.x":
            type_ = chunk[1:].split("-", maxsplit=1)[-1] or "_"
        else:  # 0.0.12
            type_ = chunk.split("-")[-1]
        # end_of_chunk
        end = (
            prev_tag in ("E", "S")
            or (prev_tag in ("B", "I") and tag in ("B", "S", "O"))
            or (prev_tag not in ("O", ".") and prev_type != type_)
        )
        if end:
            chunks.add((prev_type, begin, i - 1))
        # start_of_chunk
        start = (
            tag in ("B", "S")
            or (prev_tag in ("E", "S", "O") and tag in ("E", "I"))
            or (tag not in ("O", ".") and prev_type != type_)
        )
        if start:
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def seqeval_f1(
    labels: Sequence[Sequence[str]],
    predictions: Sequence[Sequence[str]],
    *,
    seqeval_version: str = "1.x",
) -> dict[str, float]:
    """Micro-averaged chunk F1 exactly as ``seqeval.metrics.f1_score`` gives it.

    XTREME scores **both PAN-X and UD-POS** with seqeval's default
    ``f1_score`` (``evaluate.py``, ``third_party/run_tag.py``).  For BIO
    entity tags (PAN-X) this is the CoNLL entity F1.  For POS tags, which have
    no ``B-``/``I-`` prefix, seqeval reads the first character as the chunk tag
    and the rest as the type, so a run of identical tags (``NOUN NOUN``)
    counts as one chunk, ``SCONJ``/``SYM`` (``S``) are single-token chunks and
    ``INTJ`` (``I``) continues a chunk: the number is close to, but not, token
    accuracy.  Use :func:`tag_accuracy` for the latter.

    Parameters
    ----------
    labels, predictions : sequence of sequences of str
        One list of tags per sentence.
    seqeval_version : {"1.x", "0.0.12"}
        How a tag is split into chunk tag and type.  ``"1.x"`` (seqeval
        1.0-1.2.2, what ``pip install seqeval`` gives today):
        ``type = tag[1:].split("-", 1)[-1] or "_"``; ``"0.0.12"`` (the version
        XTREME's published numbers of April 2020 were computed with):
        ``type = tag.split("-")[-1]``.  They differ only for unusual tag
        sequences (for UPOS, ``CCONJ`` directly followed by ``SCONJ``).

    Returns
    -------
    dict
        ``{"f1", "precision", "recall"}`` in percent (0 where undefined).

    Examples
    --------
    >>> from xdist.train.metrics import seqeval_f1
    >>> gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    >>> pred = [["B-PER", "I-PER", "O", "B-ORG"]]
    >>> seqeval_f1(gold, pred)
    {'f1': 50.0, 'precision': 50.0, 'recall': 50.0}
    """
    if seqeval_version not in _SEQEVAL_VERSIONS:
        raise ValueError(
            f"seqeval_version={seqeval_version!r} is not valid: expected one of {list(_SEQEVAL_VERSIONS)}"
        )
    lab, pred = _paired_sequences(labels, predictions)
    true_ent = _seqeval_entities(lab, seqeval_version)
    pred_ent = _seqeval_entities(pred, seqeval_version)
    correct = len(true_ent & pred_ent)
    p = correct / len(pred_ent) if pred_ent else 0.0
    r = correct / len(true_ent) if true_ent else 0.0
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {"f1": f1 * 100, "precision": p * 100, "recall": r * 100}


# --------------------------------------------------------------------------
# extractive QA

#: Languages MLQA's normalisation knows (mlqa_evaluation_v1.py raises on others).
MLQA_LANGUAGES = ("en", "es", "hi", "vi", "de", "ar", "zh")

_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_SQUAD_PUNCT = frozenset(string.punctuation)
_MLQA_ARTICLES = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    # As in mlqa_evaluation_v1.py: the first alternative can never match
    # ('^' after text), so every "ال" anywhere in a word becomes a space.
    "ar": re.compile(r"\sال^|ال"),
}
_MLQA_MIXED_SEGMENTATION = ("zh",)
_CJK = re.compile(r"[\u4e00-\u9fa5]")


@lru_cache(maxsize=1)
def _mlqa_punct() -> frozenset:
    # Every code point whose Unicode category starts with "P", plus ASCII
    # punctuation (which includes symbols such as "$" and "+"), as MLQA does;
    # the Unicode tables are those of the running Python.
    return frozenset(
        chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")
    ).union(string.punctuation)


def _mlqa_language(language: str) -> str:
    if isinstance(language, str) and language.strip().lower() in MLQA_LANGUAGES:
        return language.strip().lower()
    code = None
    if isinstance(language, str) and language.strip():
        from xdist.languages import UnknownLanguageError, resolve

        try:
            code = resolve(language, param="language")
        except UnknownLanguageError:
            code = None
    if code not in MLQA_LANGUAGES:
        raise ValueError(
            f"language={language!r} is not one MLQA's normalisation knows: "
            f"expected one of {list(MLQA_LANGUAGES)}"
        )
    return code


def _mixed_segmentation(text: str) -> list[str]:
    punct = _mlqa_punct()
    out: list[str] = []
    temp = ""
    for char in text:
        if _CJK.search(char) or char in punct:
            if temp != "":
                out.extend(temp.split())
                temp = ""
            out.append(char)
        else:
            temp += char
    if temp != "":
        out.extend(temp.split())
    return out


def normalize_answer(text: str, language: str | None = None) -> str:
    """Normalise an answer string as the official QA scripts do.

    Parameters
    ----------
    text : str
        Answer text.
    language : str or None
        ``None``: SQuAD (v1.1 and v2.0) normalisation: lower-case, drop ASCII
        punctuation, drop the English articles a/an/the, collapse whitespace.
        XTREME applies this to XQuAD and TyDiQA-GoldP in every language.
        One of :data:`MLQA_LANGUAGES`: MLQA's normalisation: lower-case, drop
        every Unicode punctuation character, drop that language's articles
        (none for hi and zh; every ``"ال"`` for ar), and split zh into single
        CJK characters and whitespace tokens (``mixed_segmentation``).

    Examples
    --------
    >>> from xdist.train.metrics import normalize_answer
    >>> normalize_answer("The  Eiffel Tower!")
    'eiffel tower'
    >>> normalize_answer("Der Turm.", "de")
    'turm'
    >>> normalize_answer("北京大学", "zh")
    '北 京 大 学'
    """
    if not isinstance(text, str):
        raise ValueError(f"answer text must be a string, got {type(text).__name__} {text!r:.60}")
    if language is None:
        s = text.lower()
        s = "".join(ch for ch in s if ch not in _SQUAD_PUNCT)
        s = _SQUAD_ARTICLES.sub(" ", s)
        return " ".join(s.split())
    lang = _mlqa_language(language)
    punct = _mlqa_punct()
    s = text.lower()
    s = "".join(ch for ch in s if ch not in punct)
    if lang in _MLQA_ARTICLES:
        s = _MLQA_ARTICLES[lang].sub(" ", s)
    tokens = _mixed_segmentation(s) if lang in _MLQA_MIXED_SEGMENTATION else s.split()
    return " ".join(t for t in tokens if t.strip() != "")


def _token_f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def _gold_answers(gold: Any, param: str = "gold") -> dict[str, list[str]]:
    """qid -> list of gold answer texts, in dataset order.

    Accepts a SQuAD-format dataset (the parsed JSON with ``"data"``, or its
    list of articles) or a mapping qid -> list of answer texts.
    """
    if isinstance(gold, Mapping) and "data" in gold and not isinstance(gold["data"], str):
        gold = gold["data"]
    out: dict[str, list[str]] = {}
    if isinstance(gold, Mapping):
        for qid, answers in gold.items():
            if isinstance(answers, str):
                raise ValueError(f"{param}[{qid!r}] is a string: give a list of gold answer texts")
            out[str(qid)] = [a["text"] if isinstance(a, Mapping) else a for a in answers]
        return out
    if isinstance(gold, (str, bytes)):
        raise ValueError(
            f"{param} must be a SQuAD-format dataset or a mapping question id -> answers, "
            "not a string (parse the JSON file first)"
        )
    try:
        for article in gold:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    out[str(qa["id"])] = [a["text"] for a in qa["answers"]]
    except (TypeError, KeyError) as err:
        raise ValueError(
            f"{param} is not a SQuAD-format dataset (articles -> paragraphs -> qas -> "
            f"answers -> text) nor a mapping question id -> answers: {err!r}"
        ) from None
    return out


def _check_predictions(predictions: Any) -> Mapping:
    if not isinstance(predictions, Mapping):
        raise ValueError(
            "predictions must be a mapping question id -> predicted answer text, "
            f"got {type(predictions).__name__}"
        )
    return predictions


def _qa_score(gold: Any, predictions: Any, language: str | None) -> dict[str, float]:
    answers = _gold_answers(gold)
    predictions = _check_predictions(predictions)
    if not answers:
        raise ValueError("gold has no questions: a metric needs at least one question")
    f1 = em = 0.0
    missing = []
    for qid, truths in answers.items():
        if not truths:
            raise ValueError(
                f"question {qid!r} has no gold answer: the v1.1/MLQA scripts need at least "
                "one (use squad_v2 for unanswerable questions)"
            )
        if qid not in predictions:
            missing.append(qid)
            continue
        pred = predictions[qid]
        if not isinstance(pred, str):
            raise ValueError(
                f"prediction for question {qid!r} must be a string, got {type(pred).__name__}"
            )
        pn = normalize_answer(pred, language)
        norm_truths = [normalize_answer(t, language) for t in truths]
        em += max(float(pn == t) for t in norm_truths)
        pt = pn.split()
        f1 += max(_token_f1(pt, t.split()) for t in norm_truths)
    if missing:
        warnings.warn(
            f"{len(missing)} of {len(answers)} questions have no prediction and score 0 "
            f"(first: {missing[0]!r})",
            MissingPredictionWarning,
            stacklevel=3,
        )
    n = len(answers)
    return {"f1": 100.0 * f1 / n, "em": 100.0 * em / n}


def squad_v1(gold: Any, predictions: Mapping[str, str]) -> dict[str, float]:
    """SQuAD v1.1 F1 and exact match (official ``evaluate-v1.1.py``).

    XTREME scores XQuAD and TyDiQA-GoldP with this same script in every
    language, so only ASCII punctuation and the English articles are removed.

    Parameters
    ----------
    gold : dict or list or mapping
        The parsed SQuAD-format JSON (with ``"data"``), its list of articles,
        or a mapping question id -> list of gold answer texts.
    predictions : mapping
        Question id -> predicted answer text.  A question without a prediction
        scores 0 and raises a :class:`MissingPredictionWarning`; predictions
        for unknown ids are ignored (as the official script does).

    Returns
    -------
    dict
        ``{"f1", "em"}`` in percent: the mean over questions of the best
        score over the gold answers.

    Examples
    --------
    >>> from xdist.train.metrics import squad_v1
    >>> gold = {"q1": ["the Eiffel Tower", "Eiffel Tower"], "q2": ["1889"]}
    >>> squad_v1(gold, {"q1": "Eiffel tower.", "q2": "in 1889"})
    {'f1': 83.33333333333333, 'em': 50.0}
    """
    return _qa_score(gold, predictions, None)


def mlqa(gold: Any, predictions: Mapping[str, str], *, language: str) -> dict[str, float]:
    """MLQA F1 and exact match (official ``mlqa_evaluation_v1.py``).

    Like :func:`squad_v1` but normalised for the answer language (see
    :func:`normalize_answer`); XTREME's ``third_party/evaluate_mlqa.py`` is the
    same script.

    Parameters
    ----------
    gold, predictions
        As for :func:`squad_v1`.
    language : str
        Answer (context) language, one of :data:`MLQA_LANGUAGES` (or a code
        that :func:`xdist.languages.resolve` maps to one).

    Returns
    -------
    dict
        ``{"f1", "em"}`` in percent.

    Examples
    --------
    >>> from xdist.train.metrics import mlqa
    >>> mlqa({"q1": ["die Berliner Mauer"]}, {"q1": "Berliner Mauer"}, language="de")
    {'f1': 100.0, 'em': 100.0}
    """
    return _qa_score(gold, predictions, _mlqa_language(language))


def _v2_gold(gold: Any) -> tuple[dict[str, list[str]], dict[str, bool]]:
    """qid -> raw answer texts, qid -> has answer (from the raw list, as v2.0 does)."""
    answers = _gold_answers(gold)
    has_ans = {qid: bool(a) for qid, a in answers.items()}
    return answers, has_ans


def _v2_tokens(s: str) -> list[str]:
    if not s:
        return []
    return normalize_answer(s).split()


def _v2_f1(a_gold: str, a_pred: str) -> float:
    gold_toks = _v2_tokens(a_gold)
    pred_toks = _v2_tokens(a_pred)
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return float(gold_toks == pred_toks)
    return _token_f1(pred_toks, gold_toks)


def _v2_best_thresh(preds, scores, na_probs, has_ans) -> tuple[float, float]:
    num_no_ans = sum(1 for k in has_ans if not has_ans[k])
    cur_score = best_score = num_no_ans
    best_thresh = 0.0
    for qid in sorted(na_probs, key=lambda k: na_probs[k]):
        if qid not in scores:
            continue
        if has_ans[qid]:
            diff = scores[qid]
        else:
            diff = -1 if preds[qid] else 0
        cur_score += diff
        if cur_score > best_score:
            best_score = cur_score
            best_thresh = na_probs[qid]
    return 100.0 * best_score / len(scores), float(best_thresh)


def squad_v2(
    gold: Any,
    predictions: Mapping[str, str],
    *,
    na_probs: Mapping[str, float] | None = None,
    na_prob_thresh: float = 1.0,
) -> dict[str, float]:
    """SQuAD v2.0 scores with unanswerable questions (official ``evaluate-v2.0.py``).

    A question is unanswerable when its gold answer list is empty; the only
    correct prediction for it is the empty string.  With ``na_probs`` a
    question whose no-answer probability exceeds ``na_prob_thresh`` counts as
    predicted unanswerable, and the best threshold is searched as the script
    does (questions in ``na_probs`` order, stable sort by probability).

    Parameters
    ----------
    gold
        As for :func:`squad_v1`; answer lists may be empty.
    predictions : mapping
        Question id -> predicted text (``""`` for "no answer").  Every gold
        question needs one (the official script fails otherwise).
    na_probs : mapping, optional
        Question id -> model probability of no answer (the script's
        ``--na-prob-file``); default 0 for every question.
    na_prob_thresh : float
        The script's ``--na-prob-thresh`` (default 1.0).

    Returns
    -------
    dict
        ``f1, em, n`` over all questions; ``has_ans_f1, has_ans_em, has_ans_n``
        and ``no_ans_f1, no_ans_em, no_ans_n`` (NaN scores when a group is
        empty); ``best_f1, best_f1_thresh, best_em, best_em_thresh`` (NaN
        without ``na_probs``).  Scores in percent.

    Examples
    --------
    >>> from xdist.train.metrics import squad_v2
    >>> gold = {"q1": ["Paris"], "q2": []}
    >>> r = squad_v2(gold, {"q1": "Paris", "q2": ""})
    >>> r["f1"], r["has_ans_n"], r["no_ans_em"]
    (100.0, 1.0, 100.0)
    """
    answers, has_ans = _v2_gold(gold)
    predictions = _check_predictions(predictions)
    if not answers:
        raise ValueError("gold has no questions: a metric needs at least one question")
    missing = [q for q in answers if q not in predictions]
    if missing:
        raise ValueError(
            f"{len(missing)} gold questions have no prediction (first: {missing[0]!r}): "
            "SQuAD v2.0 needs a prediction for every question ('' for no answer)"
        )
    given = na_probs is not None
    if na_probs is None:
        na_probs = {k: 0.0 for k in predictions}
    elif not isinstance(na_probs, Mapping):
        raise ValueError(
            f"na_probs must be a mapping question id -> probability, got {type(na_probs).__name__}"
        )
    else:
        lacking = [q for q in answers if q not in na_probs]
        if lacking:
            raise ValueError(
                f"na_probs lacks {len(lacking)} gold questions (first: {lacking[0]!r}): "
                "give a no-answer probability for every question"
            )
    exact_raw: dict[str, float] = {}
    f1_raw: dict[str, float] = {}
    for qid, texts in answers.items():
        golds = [t for t in texts if normalize_answer(t)] or [""]
        pred = predictions[qid]
        if not isinstance(pred, str):
            raise ValueError(
                f"prediction for question {qid!r} must be a string, got {type(pred).__name__}"
            )
        exact_raw[qid] = max(float(normalize_answer(a) == normalize_answer(pred)) for a in golds)
        f1_raw[qid] = max(_v2_f1(a, pred) for a in golds)

    def thresh(scores):
        return {
            q: (float(not has_ans[q]) if na_probs[q] > na_prob_thresh else s)
            for q, s in scores.items()
        }

    exact_t, f1_t = thresh(exact_raw), thresh(f1_raw)

    def block(qids):
        if not qids:
            return NAN, NAN, 0.0
        n = len(qids)
        return (
            100.0 * sum(f1_t[q] for q in qids) / n,
            100.0 * sum(exact_t[q] for q in qids) / n,
            float(n),
        )

    out: dict[str, float] = {}
    out["f1"], out["em"], out["n"] = block(list(exact_t))
    out["has_ans_f1"], out["has_ans_em"], out["has_ans_n"] = block(
        [q for q, v in has_ans.items() if v]
    )
    out["no_ans_f1"], out["no_ans_em"], out["no_ans_n"] = block(
        [q for q, v in has_ans.items() if not v]
    )
    out["best_f1"] = out["best_f1_thresh"] = out["best_em"] = out["best_em_thresh"] = NAN
    if given:
        out["best_em"], out["best_em_thresh"] = _v2_best_thresh(
            predictions, exact_raw, na_probs, has_ans
        )
        out["best_f1"], out["best_f1_thresh"] = _v2_best_thresh(
            predictions, f1_raw, na_probs, has_ans
        )
    return out


# --------------------------------------------------------------------------
# retrieval


def _candidate_dict(candidates: Any) -> dict[tuple[str, str], float]:
    """(source id, target id) -> score; a repeated pair keeps its maximum score."""
    out: dict[tuple[str, str], float] = {}

    def add(src, trg, sc):
        try:
            sc = float(sc)
        except (TypeError, ValueError):
            raise ValueError(
                f"candidate score {sc!r} for pair ({src!r}, {trg!r}) is not a number"
            ) from None
        if math.isnan(sc):
            raise ValueError(f"candidate score for pair ({src!r}, {trg!r}) is NaN")
        key = (str(src), str(trg))
        out[key] = max(sc, out.get(key, sc))

    if hasattr(candidates, "columns"):  # DataFrame
        need = ["source", "target", "score"]
        lack = [c for c in need if c not in candidates.columns]
        if lack:
            raise ValueError(
                f"candidates lacks columns {lack}: expected columns {need} "
                f"(got {list(candidates.columns)})"
            )
        for src, trg, sc in zip(candidates["source"], candidates["target"], candidates["score"]):
            add(src, trg, sc)
    elif isinstance(candidates, Mapping):
        for key, sc in candidates.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ValueError(
                    f"candidates keys must be (source id, target id) pairs, got {key!r}"
                )
            add(key[0], key[1], sc)
    else:
        for row in _as_list(candidates, "candidates"):
            if len(row) != 3:
                raise ValueError(
                    f"candidates rows must be (source id, target id, score), got {row!r}"
                )
            add(*row)
    return out


def _gold_pairs(gold: Any) -> set[tuple[str, str]]:
    if hasattr(gold, "columns"):
        lack = [c for c in ("source", "target") if c not in gold.columns]
        if lack:
            raise ValueError(f"gold lacks columns {lack}: expected columns ['source', 'target']")
        rows = list(zip(gold["source"], gold["target"]))
    else:
        rows = _as_list(gold, "gold")
    out = set()
    for row in rows:
        if isinstance(row, str):
            parts = row.rstrip("\n").split("\t")
        else:
            parts = list(row)
        if len(parts) != 2:
            raise ValueError(
                f"gold pairs must be (source id, target id) or 'source\\ttarget', got {row!r}"
            )
        out.add((str(parts[0]).strip(), str(parts[1]).strip()))
    if not out:
        raise ValueError("gold is empty: BUCC F1 needs at least one gold pair")
    return out


def _bucc_optimize(items: list[tuple[tuple[str, str], float]], gold: set) -> float:
    ngold = len(gold)
    nextract = ncorrect = 0
    threshold = 0.0
    best_f1 = 0.0
    for i in range(len(items)):
        nextract += 1
        if items[i][0] in gold:
            ncorrect += 1
        if ncorrect > 0:
            precision = ncorrect / nextract
            recall = ncorrect / ngold
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best_f1:
                best_f1 = f1
                if i + 1 < len(items):
                    threshold = (items[i][1] + items[i + 1][1]) / 2
                else:
                    # The official code indexes past the end here (IndexError);
                    # keeping every candidate is what the threshold intends.
                    threshold = items[i][1]
    return threshold


def bucc_f1(candidates: Any, gold: Any, *, threshold: float | None = None) -> dict[str, float]:
    """BUCC 2018 bitext-mining F1 as XTREME computes it (``utils_retrieve.bucc_eval``).

    Candidate pairs are sorted by decreasing score; the threshold is the
    midpoint between the score at which F1 against the gold pairs is highest
    and the next score, then every candidate with ``score >= threshold`` is
    extracted and scored against the gold pairs.  XTREME tunes the threshold
    on the same gold pairs it scores (its ``test`` split is BUCC's training
    set), so the number is an oracle-threshold F1; pass ``threshold`` (for
    example one tuned on the ``dev`` split) to score with a fixed threshold.

    Parameters
    ----------
    candidates : mapping or DataFrame or iterable
        ``{(source_id, target_id): score}``, a DataFrame with columns
        ``source, target, score`` (for example from :func:`bucc_candidates`),
        or ``(source_id, target_id, score)`` triples.  Ids are compared as
        strings; a repeated pair keeps its highest score (as XTREME does).
        Order matters only between equal scores (stable sort, as XTREME).
    gold : iterable
        Gold ``(source_id, target_id)`` pairs, ``"source\\ttarget"`` lines of a
        BUCC ``.gold`` file, or a DataFrame with columns ``source, target``.
    threshold : float, optional
        Fixed threshold; default: optimised on ``gold``.

    Returns
    -------
    dict
        ``{"f1", "precision", "recall"}`` in percent and ``"threshold"``.

    Examples
    --------
    >>> from xdist.train.metrics import bucc_f1
    >>> cands = {("de-1", "en-1"): 1.3, ("de-2", "en-9"): 1.2, ("de-3", "en-3"): 1.1, ("de-4", "en-5"): 0.9}
    >>> gold = [("de-1", "en-1"), ("de-3", "en-3"), ("de-4", "en-4")]
    >>> r = bucc_f1(cands, gold)
    >>> round(r["f1"], 4), round(r["threshold"], 4)
    (66.6667, 1.0)
    """
    cand = _candidate_dict(candidates)
    gold_set = _gold_pairs(gold)
    if threshold is None:
        items = sorted(cand.items(), key=lambda x: -x[1])
        threshold = _bucc_optimize(items, gold_set)
    else:
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise ValueError(f"threshold={threshold!r} is not a number") from None
    extracted = {pair for pair, sc in cand.items() if sc >= threshold}
    ncorrect = len(gold_set & extracted)
    if ncorrect > 0:
        precision = ncorrect / len(extracted)
        recall = ncorrect / len(gold_set)
        f1 = 2 * precision * recall / (precision + recall)
    else:
        precision = recall = f1 = 0.0
    return {
        "f1": 100 * f1,
        "precision": 100 * precision,
        "recall": 100 * recall,
        "threshold": float(threshold),
    }


def _embeddings(x: Any, param: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{param} must be a 2-D array (sentences x dimensions) with at least one row, "
            f"got shape {arr.shape}"
        )
    return arr


# Rows (and columns) per tile of the similarity matrix in the searches below:
# memory is O(_BLOCK**2 + (n + m) * k) whatever the number of sentences.
_BLOCK = 4096
# Precision of the similarities: float32, as faiss (XTREME's search) computes them.
_DTYPE = np.float32
# Runs per line whose maxima bound a line's k-th largest before it holds k.
_GROUPS = 64


def _unit_rows(x: Any, param: str) -> np.ndarray:
    """L2-normalised rows as ``_DTYPE`` (zero rows stay zero, as ``faiss.normalize_L2``).

    Norms are taken in float64, block by block, so that no float64 copy of a
    large input is ever held whole.
    """
    arr = _embeddings(x, param)
    out = np.empty(arr.shape, dtype=_DTYPE)
    step = max(1, (1 << 18) // arr.shape[1])  # float64 blocks of 2 MB
    for i in range(0, arr.shape[0], step):
        block = arr[i : i + step].astype(np.float64)
        if not np.isfinite(block).all():
            raise ValueError(f"{param} contains NaN or infinite values")
        norm = np.linalg.norm(block, axis=1, keepdims=True)
        out[i : i + step] = block / np.where(norm == 0, 1.0, norm)
    return out


def _same_dims(a: np.ndarray, b: np.ndarray, a_name: str, b_name: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{a_name} have {a.shape[1]} dimensions but {b_name} have {b.shape[1]}")


def _spans(n: int, block: int) -> list[tuple[int, int]]:
    return [(i, min(i + block, n)) for i in range(0, n, block)]


def _tile_top(tile: np.ndarray, k: int) -> np.ndarray:
    """Mask of the exact top-``k`` of every row of ``tile`` (C-contiguous).

    "Top" is in the order (decreasing value, increasing column): of values tied
    at the k-th place, the lowest columns are kept.
    """
    r, c = tile.shape
    if k >= c:
        return np.ones(tile.shape, dtype=bool)
    kth = np.partition(tile, c - k, axis=1)[:, c - k]
    keep = tile >= kth[:, None]
    count = np.count_nonzero(keep, axis=1)
    for i in np.flatnonzero(count > k):  # ties at the k-th place
        tied = np.flatnonzero(tile[i] == kth[i])
        keep[i, tied[k - (count[i] - len(tied)) :]] = False
    return keep


def _lines(a: np.ndarray, axis: int) -> np.ndarray:
    """``a`` with its lines along ``axis`` as C-contiguous rows."""
    return np.ascontiguousarray(a if axis == 1 else a.T)


def _kth_bound(sim: np.ndarray, k: int, axis: int) -> np.ndarray:
    """A cheap lower bound of the k-th largest value of every line of ``sim``.

    The line is cut into ``g >= k`` equal runs; the k-th largest of the runs'
    maxima is the value of ``k`` distinct elements at least, so the line's k-th
    largest is no lower.
    """
    length = sim.shape[axis]
    g = min(length, max(k, _GROUPS))
    w = length // g
    if g < k:
        return np.full(sim.shape[1 - axis], -np.inf, dtype=sim.dtype)
    if axis == 1:
        maxima = sim[:, : g * w].reshape(sim.shape[0], g, w).max(axis=2)
    else:
        maxima = np.ascontiguousarray(sim[: g * w].reshape(g, w, sim.shape[1]).max(axis=1).T)
    return np.partition(maxima, g - k, axis=1)[:, g - k]


def _update(val: np.ndarray, idx: np.ndarray, sim: np.ndarray, offset: int, axis: int) -> None:
    """Fold one tile into the running top-k of its lines along ``axis``, in place.

    Line ``i`` is row ``i`` of ``sim`` (``axis=1``) or column ``i`` (``axis=0``);
    its positions along ``axis`` are the indices ``offset, offset + 1, ...``, all
    higher than any index already held, so only values strictly above the line's
    current k-th can enter.  While a line holds fewer than ``k`` (its first
    tile), :func:`_kth_bound` bounds the candidates; if ties still let too many
    through, the tile's exact top-k is selected.
    """
    lines, k = val.shape
    shape = (-1, 1) if axis == 1 else (1, -1)
    bound = np.nextafter(val[:, -1], np.inf).astype(sim.dtype)  # strictly above the k-th
    enter = sim >= bound.reshape(shape)
    count, limit = np.count_nonzero(enter), 16 * k * lines
    if count > limit:
        bound = np.maximum(bound, _kth_bound(sim, k, axis))
        enter = sim >= bound.reshape(shape)
        count = np.count_nonzero(enter)
        if count > limit:  # many equal values: select the exact top-k
            top = _tile_top(_lines(sim, axis), k)
            enter = top if axis == 1 else np.ascontiguousarray(top.T)
    if count == 0:
        return
    rows, cols = np.divmod(np.flatnonzero(enter), sim.shape[1])
    keys, cand = (rows, cols) if axis == 1 else (cols, rows)
    _fold(val, idx, keys, cand + offset, sim[rows, cols])


def _fold(val: np.ndarray, idx: np.ndarray, rows: np.ndarray, cand_idx, cand_val) -> None:
    """Fold candidates into a running top-k, in place.

    ``val, idx`` (r x k) hold each row's best ``k`` in decreasing value then
    increasing index; ``rows`` says which row each candidate belongs to.  Kept
    are the ``k`` first of the row's old and new values in that order.
    """
    if len(rows) == 0:
        return
    touched, pos = np.unique(rows, return_inverse=True)
    r, k = len(touched), val.shape[1]
    keys = np.concatenate((np.repeat(np.arange(r), k), pos))
    all_idx = np.concatenate((idx[touched].ravel(), cand_idx))
    all_val = np.concatenate((val[touched].ravel(), cand_val))
    order = np.lexsort((all_idx, -all_val, keys))
    counts = np.bincount(keys, minlength=r)
    take = order[(np.cumsum(counts) - counts)[:, None] + np.arange(k)]
    val[touched] = all_val[take]
    idx[touched] = all_idx[take]


def _knn(x: np.ndarray, y: np.ndarray, kx: int, ky: int, block: int):
    """Exact k-nn by inner product in both directions, tile by tile.

    Returns ``(x2y_sim, x2y_ind, y2x_sim, y2x_ind)``: for each row of ``x`` its
    ``kx`` most similar rows of ``y`` (and the reverse), in decreasing similarity,
    ties to the lowest index; the same neighbours, in the same order, as a
    stable descending sort of every row of the full matrix ``x @ y.T``.
    """
    n, m = len(x), len(y)
    far = np.iinfo(np.int64).max
    x2y_sim, x2y_ind = np.full((n, kx), -np.inf, x.dtype), np.full((n, kx), far)
    y2x_sim, y2x_ind = np.full((m, ky), -np.inf, x.dtype), np.full((m, ky), far)
    for i0, i1 in _spans(n, block):
        for j0, j1 in _spans(m, block):
            sim = x[i0:i1] @ y[j0:j1].T
            _update(x2y_sim[i0:i1], x2y_ind[i0:i1], sim, j0, axis=1)
            _update(y2x_sim[j0:j1], y2x_ind[j0:j1], sim, i0, axis=0)
    return x2y_sim, x2y_ind, y2x_sim, y2x_ind


def nearest_neighbors(queries: Any, database: Any) -> np.ndarray:
    """Index of the most cosine-similar ``database`` row for every query row.

    Same as XTREME's ``similarity_search`` (faiss exact search on
    L2-normalised float32 vectors); ties go to the lowest index.  The search
    runs tile by tile, so memory stays small whatever the sizes.

    Examples
    --------
    >>> import numpy as np
    >>> from xdist.train.metrics import nearest_neighbors
    >>> nearest_neighbors(np.eye(3)[[2, 0]], np.eye(3)).tolist()
    [2, 0]
    """
    q = _unit_rows(queries, "queries")
    d = _unit_rows(database, "database")
    _same_dims(q, d, "queries", "database")
    return _nearest(q, d)


def _nearest(q: np.ndarray, d: np.ndarray) -> np.ndarray:
    best_sim = np.full(len(q), -np.inf, q.dtype)
    best = np.zeros(len(q), dtype=np.int64)
    for i0, i1 in _spans(len(q), _BLOCK):
        for j0, j1 in _spans(len(d), _BLOCK):
            sim = q[i0:i1] @ d[j0:j1].T
            arg = sim.argmax(axis=1)  # first of ties
            top = sim[np.arange(i1 - i0), arg]
            better = top > best_sim[i0:i1]  # strict: earlier columns win ties
            best_sim[i0:i1][better] = top[better]
            best[i0:i1][better] = arg[better] + j0
    return best


def tatoeba_accuracy(source_embeddings: Any, target_embeddings: Any) -> dict[str, float]:
    """Tatoeba sentence-retrieval accuracy as XTREME computes it.

    Row ``i`` of both arrays is a translation pair (the LASER Tatoeba files
    are line-aligned).  As in XTREME's ``evaluate_retrieval.py`` every
    **English** (target) sentence is matched to its nearest non-English
    (source) sentence by cosine similarity; the accuracy is the percentage of
    English sentences whose nearest neighbour is their translation.

    Parameters
    ----------
    source_embeddings : array, shape (n, d)
        Sentence embeddings of the non-English side.
    target_embeddings : array, shape (n, d)
        Embeddings of the English side, aligned row by row.

    Returns
    -------
    dict
        ``{"accuracy": float}`` in percent.

    Examples
    --------
    >>> import numpy as np
    >>> from xdist.train.metrics import tatoeba_accuracy
    >>> src = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> tgt = np.array([[0.9, 0.1], [0.8, 0.2], [0.5, 0.6]])
    >>> tatoeba_accuracy(src, tgt)
    {'accuracy': 66.66666666666666}
    """
    src = _embeddings(source_embeddings, "source_embeddings")
    tgt = _embeddings(target_embeddings, "target_embeddings")
    if src.shape[0] != tgt.shape[0]:
        raise ValueError(
            f"source_embeddings has {src.shape[0]} rows but target_embeddings has "
            f"{tgt.shape[0]}: Tatoeba pairs row i with row i"
        )
    _same_dims(src, tgt, "source_embeddings", "target_embeddings")
    pred = _nearest(_unit_rows(tgt, "target_embeddings"), _unit_rows(src, "source_embeddings"))
    return accuracy(list(range(len(pred))), pred.tolist())


def bucc_candidates(
    source_embeddings: Any,
    target_embeddings: Any,
    *,
    source_ids: Sequence | None = None,
    target_ids: Sequence | None = None,
    k: int = 4,
    margin: str = "ratio",
    threshold: float = 0.0,
):
    """Candidate bitext pairs by margin-based mining, as XTREME's ``mine_bitext``.

    XTREME's default (``mode="mine"``, ``retrieval="max"``, cosine, ``k=4``,
    ratio margin, threshold 0): the score of a pair is
    ``cos(x, y) / ((mean_k cos(x, .) + mean_k cos(., y)) / 2)`` over the ``k``
    nearest neighbours in the other language; each source sentence proposes
    its best target and each target its best source; proposals are taken in
    decreasing score, skipping any whose source or target is already used,
    and kept if the score exceeds ``threshold``.

    XTREME first merges identical sentences (one embedding per distinct
    text) and later drops sentences whose text occurs more than once when it
    maps texts back to ids; do the same before calling this if the numbers
    must match XTREME.

    Parameters
    ----------
    source_embeddings, target_embeddings : array, shape (n, d) and (m, d)
    source_ids, target_ids : sequence, optional
        Ids of the rows (BUCC ids such as ``"de-000000001"``); default the
        row numbers.
    k : int
        Neighbourhood size (``min(k, rows)`` is used, as XTREME).
    margin : {"ratio", "distance", "absolute"}
    threshold : float
        Keep pairs with score strictly above this.

    Returns
    -------
    pandas.DataFrame
        Columns ``source, target, score``, in decreasing score: the input of
        :func:`bucc_f1`.

    Examples
    --------
    >>> import numpy as np
    >>> from xdist.train.metrics import bucc_candidates
    >>> x = np.array([[1.0, 0.1], [0.1, 1.0]])
    >>> y = np.array([[0.2, 1.0], [1.0, 0.0], [0.7, 0.7]])
    >>> bucc_candidates(x, y, k=2)[["source", "target"]].values.tolist()
    [[0, 1], [1, 0]]
    """
    import pandas as pd

    margins = {
        "ratio": lambda a, b: a / b,
        "distance": lambda a, b: a - b,
        "absolute": lambda a, b: a,
    }
    if margin not in margins:
        raise ValueError(f"margin={margin!r} is not valid: expected one of {list(margins)}")
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k={k!r} is not valid: expected a positive integer")
    x = _unit_rows(source_embeddings, "source_embeddings")
    y = _unit_rows(target_embeddings, "target_embeddings")
    _same_dims(x, y, "source_embeddings", "target_embeddings")
    src_ids = list(range(len(x))) if source_ids is None else _as_list(source_ids, "source_ids")
    trg_ids = list(range(len(y))) if target_ids is None else _as_list(target_ids, "target_ids")
    if len(src_ids) != len(x) or len(trg_ids) != len(y):
        raise ValueError(
            f"got {len(src_ids)} source_ids for {len(x)} source rows and {len(trg_ids)} "
            f"target_ids for {len(y)} target rows: give one id per row"
        )
    m = margins[margin]
    kx, ky = min(k, y.shape[0]), min(k, x.shape[0])
    # k-nn in both directions (descending similarity, ties to the lowest index),
    # tile by tile: the full similarity matrix is never held
    x2y_sim, x2y_ind, y2x_sim, y2x_ind = _knn(x, y, kx, ky, _BLOCK)
    x2y_sim, y2x_sim = x2y_sim.astype(np.float64), y2x_sim.astype(np.float64)
    x2y_mean = x2y_sim.mean(axis=1)
    y2x_mean = y2x_sim.mean(axis=1)
    fwd = m(x2y_sim, (x2y_mean[:, None] + y2x_mean[x2y_ind]) / 2)
    bwd = m(y2x_sim, (y2x_mean[:, None] + x2y_mean[y2x_ind]) / 2)
    fwd_best = x2y_ind[np.arange(x.shape[0]), fwd.argmax(axis=1)]
    bwd_best = y2x_ind[np.arange(y.shape[0]), bwd.argmax(axis=1)]
    indices = np.stack(
        (
            np.concatenate((np.arange(x.shape[0]), bwd_best)),
            np.concatenate((fwd_best, np.arange(y.shape[0]))),
        ),
        axis=1,
    )
    scores = np.concatenate((fwd.max(axis=1), bwd.max(axis=1)))
    seen_src, seen_trg = set(), set()
    rows = []
    for i in np.argsort(-scores, kind="stable"):
        s, t = int(indices[i, 0]), int(indices[i, 1])
        if s not in seen_src and t not in seen_trg:
            seen_src.add(s)
            seen_trg.add(t)
            if scores[i] > threshold:
                rows.append((src_ids[s], trg_ids[t], float(scores[i])))
    return pd.DataFrame(rows, columns=["source", "target", "score"])


# --------------------------------------------------------------------------
# dispatch


def score(
    task: Any, labels: Any, predictions: Any, *, language: str | None = None
) -> dict[str, float]:
    """Score predictions with the metric(s) a task of the registry reports.

    Parameters
    ----------
    task : str or Task
        Name (or alias) of a task in :mod:`xdist.train.tasks`.
    labels, predictions
        What that task's metric takes: label sequences (classification,
        multiple choice; Tatoeba gold and predicted indices), tag sequences
        (tagging), a SQuAD-format gold dataset and a mapping id -> answer
        (QA), gold pairs and scored candidate pairs (BUCC).
    language : str, optional
        Required for MLQA (its normalisation depends on it).

    Returns
    -------
    dict
        Keys start with the task's metric names, primary first.

    Examples
    --------
    >>> from xdist.train.metrics import score
    >>> score("PAN-X", [["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]])["f1"]
    100.0
    >>> score("UD-POS", [["DET", "NOUN", "NOUN"]], [["DET", "NOUN", "VERB"]])
    {'f1': 40.0, 'accuracy': 66.66666666666666, 'precision': 33.33333333333333, 'recall': 50.0}
    """
    from xdist.train.tasks import get_task

    t = get_task(task) if isinstance(task, str) else task
    name = t.name
    if name in ("PAN-X",):
        return seqeval_f1(labels, predictions)
    if name == "UD-POS":
        f = seqeval_f1(labels, predictions)
        return {
            "f1": f["f1"],
            "accuracy": tag_accuracy(labels, predictions)["accuracy"],
            "precision": f["precision"],
            "recall": f["recall"],
        }
    if name == "CCG":
        return tag_accuracy(labels, predictions)
    if name == "MLQA":
        if language is None:
            raise ValueError("MLQA needs language=: its answer normalisation is per language")
        return mlqa(labels, predictions, language=language)
    if name == "SQuAD-v2.0":
        r = squad_v2(labels, predictions)
        return {
            "f1": r["f1"],
            "em": r["em"],
            **{k: v for k, v in r.items() if k not in ("f1", "em")},
        }
    if t.format == "extractive_qa":
        return squad_v1(labels, predictions)
    if name == "BUCC":
        return bucc_f1(predictions, labels)
    if name == "QQP":
        f = binary_f1(labels, predictions, positive=_qqp_positive(labels))
        return {
            "f1": f["f1"],
            "accuracy": accuracy(labels, predictions)["accuracy"],
            "precision": f["precision"],
            "recall": f["recall"],
        }
    return accuracy(labels, predictions)


def _qqp_positive(labels: Any):
    lab = _as_list(labels, "labels")
    return "1" if any(isinstance(v, str) for v in lab) else 1
