"""Synthetic data for every registered task, in any of its on-disk layouts.

:func:`write_toy_data` writes a few dozen examples per split and language, in
the exact files of a layout (default the generic ``jsonl``; ``"xtreme"``,
``"original"`` and ``"jiant"`` write what those distributions look like, down
to XTREME's unlabelled test files), so the whole pipeline -- readers,
features, training, zero-shot evaluation -- runs on CPU in seconds.

The data are made to be learnable in English by a tiny model:

- pairs: the label is given by a marker word in ``text_b`` (``yes/indeed/
  surely`` = entailment or paraphrase, ``no/never/nothing`` = contradiction or
  not a paraphrase, ``maybe/perhaps/possibly`` = neutral);
- tagging: each word has one tag (UPOS classes; names, places and companies
  for PAN-X; a hashed supertag id for CCG);
- QA: the answer is the two words after a marker (``called/named/titled``),
  which the question repeats (SQuAD v2.0: a third have no marker and no answer);
- multiple choice: the right choice repeats two words of the context;
- retrieval: the source side is the English target side "translated".

The other languages are English passed through a deterministic word-level
transformation (:func:`toy_language`): a fraction :func:`toy_distance` of the
vocabulary (larger for another genus, another family, another script) is
replaced by a language-specific cipher of the word, written in the
language's script.  Marker and tag words that a language replaces are
unknown to a model trained on English, so zero-shot scores fall with the toy
distance.  Every language's examples of a split are translations of the
same English examples (parallel, as XNLI or XQuAD).

Examples
--------
>>> import tempfile
>>> from xdist.train.readers import load_examples
>>> root = tempfile.mkdtemp()
>>> paths = write_toy_data(root, ["XNLI"], languages=["de", "sw"], n_train=8, n_eval=4)
>>> sorted(paths["XNLI"]), sorted(paths["XNLI"]["test"])
(['dev', 'test', 'train'], ['de', 'en', 'sw'])
>>> ds = load_examples("XNLI", "test", "sw", data_dir=root, require_labels=True)
>>> len(ds), ds.column_names
(4, ['id', 'language', 'text_a', 'text_b', 'label'])
>>> toy_distance("en"), 0 < toy_distance("de") < toy_distance("sw") < toy_distance("zh")
(0.0, True)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from xdist.train.tasks import DataFile, Layout, Task, get_task

__all__ = ["toy_distance", "toy_examples", "toy_language", "toy_texts", "write_toy_data",
           "write_toy_mlm_corpus", "write_toy_translations"]

# --------------------------------------------------------------------------
# English lexicon

_UPOS_WORDS = {
    "DET": ("the", "a", "this", "every"),
    "ADJ": ("small", "red", "happy", "old", "green", "quiet", "bright"),
    "NOUN": ("cat", "dog", "house", "river", "tree", "book", "car", "city", "child", "bird", "road"),
    "VERB": ("sees", "likes", "finds", "takes", "builds", "reads", "paints"),
    "ADP": ("in", "on", "near", "under", "with"),
    "PRON": ("she", "he", "they", "it"),
    "ADV": ("quickly", "often", "slowly", "today"),
    "AUX": ("is", "was", "will"),
    "CCONJ": ("and", "or", "but"),
    "NUM": ("two", "three", "seven"),
    "PROPN": ("Anna", "Lima", "Oslo"),
    "PUNCT": (".", ","),
    "PART": ("to",),
    "SCONJ": ("because", "when"),
    "INTJ": ("oh", "wow"),
    "SYM": ("%", "+"),
    "X": ("etc",),
}
_UPOS_TEMPLATES = (
    ("PRON", "VERB", "DET", "NOUN", "PUNCT"),
    ("DET", "ADJ", "NOUN", "VERB", "ADP", "DET", "NOUN", "PUNCT"),
    ("PROPN", "AUX", "ADJ", "CCONJ", "ADJ", "PUNCT"),
    ("DET", "NOUN", "VERB", "ADV", "ADP", "PROPN", "PUNCT"),
    ("INTJ", "PUNCT", "PRON", "AUX", "NUM", "NOUN", "SYM", "X", "PUNCT"),
    ("PRON", "VERB", "PART", "VERB", "DET", "NOUN", "SCONJ", "PRON", "VERB", "PUNCT"),
)
#: Content words used as filler text (no marker, entity or answer word among them).
_FILLER = tuple(w for tag in ("ADJ", "NOUN", "VERB", "ADV", "NUM") for w in _UPOS_WORDS[tag])
_MARKERS = {
    "yes": ("yes", "indeed", "surely"),
    "no": ("no", "never", "nothing"),
    "maybe": ("maybe", "perhaps", "possibly"),
}
#: Canonical label -> marker set.
_LABEL_MARKERS = {"entailment": "yes", "1": "yes", "contradiction": "no", "0": "no", "neutral": "maybe"}
_ENTITIES = {
    "PER": (("Boris",), ("Carla",), ("David", "Smith"), ("Elena", "Garcia"), ("Farid",)),
    "LOC": (("Paris",), ("Tokyo",), ("Cairo",), ("New", "Delhi")),
    "ORG": (("Acme", "Corp"), ("Globex",), ("Initech", "Bank")),
}
_QA_MARKERS = ("called", "named", "titled")
_QA_ANSWERS = ("Amber", "Bolt", "Cedar", "Dune", "Ember", "Frost", "Grove", "Haven", "Iris", "Juniper")
_QUESTION_WORDS = ("what", "which")

# --------------------------------------------------------------------------
# toy languages


def _unit(*keys) -> float:
    """A deterministic number in [0, 1) from the keys."""
    h = hashlib.sha256("\x1f".join(map(str, keys)).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def _canonical(code: str) -> str:
    from xdist.languages import resolve

    return resolve(code, param="language")


@lru_cache(maxsize=None)
def _info(code: str) -> tuple[str, str, str]:
    from xdist.languages import language_info

    try:
        row = language_info([code]).iloc[0]
        return str(row["family"]), str(row["genus"]), str(row["script"])
    except (KeyError, ValueError):
        return "", "", "Latin"


def toy_distance(language: str) -> float:
    """How much of the English vocabulary a toy language replaces (0 for English).

    0.15 for another Germanic language, 0.3 for the rest of Indo-European,
    0.5 for other families, plus 0.2 for a non-Latin script, plus a fixed
    per-language jitter below 0.1.

    Examples
    --------
    >>> toy_distance("en"), round(toy_distance("de"), 3) == round(toy_distance("German"), 3)
    (0.0, True)
    """
    code = _canonical(language)
    if code == "en":
        return 0.0
    family, genus, script = _info(code)
    d = 0.15 if genus == "Germanic" else 0.3 if family == "Indo-European" else 0.5
    if script != "Latin":
        d += 0.2
    return d + 0.1 * _unit("jitter", code)


_SCRIPT_START = {
    "Cyrillic": 0x0430, "Greek": 0x03B1, "Arabic": 0x0628, "Hebrew": 0x05D0, "Devanagari": 0x0915,
    "Bengali": 0x0995, "Tamil": 0x0B85, "Telugu": 0x0C15, "Malayalam": 0x0D15, "Thai": 0x0E01,
    "Myanmar": 0x1000, "Georgian": 0x10D0, "Hangul": 0xAC00, "Han": 0x4E00, "Japanese": 0x3041,
}  # fmt: skip


@lru_cache(maxsize=None)
def _alphabet(script: str) -> str:
    if script == "Latin" or script not in _SCRIPT_START:
        return "abcdefghijklmnopqrstuvwxyz" if script == "Latin" else _alphabet("Cyrillic")
    out, cp = [], _SCRIPT_START[script]
    step = 28 if script == "Hangul" else 1  # one syllable per initial consonant block
    while len(out) < 26:
        ch = chr(cp)
        if unicodedata.category(ch).startswith("L"):
            out.append(ch)
        cp += step
    return "".join(out)


class ToyLanguage:
    """English -> a toy language, word by word (see :func:`toy_language`)."""

    def __init__(self, code: str):
        self.code = code
        self.distance = toy_distance(code)
        script = _info(code)[2] if code != "en" else "Latin"
        letters = list("abcdefghijklmnopqrstuvwxyz")
        random.Random(f"toy-cipher-{code}").shuffle(letters)
        self._cipher = dict(zip("abcdefghijklmnopqrstuvwxyz", (_alphabet(script)[ord(c) - 97] for c in letters)))
        self._cased = script in ("Latin", "Cyrillic", "Greek")

    def replaces(self, word: str) -> bool:
        """Whether this language has its own word for ``word``."""
        return self.distance > 0 and any(c.isalpha() for c in word) and \
            _unit("replace", self.code, word.lower()) < self.distance

    def word(self, word: str) -> str:
        if not self.replaces(word):
            return word
        out = "".join(self._cipher.get(c, c) for c in word.lower())
        if self._cased and word[:1].isupper():
            out = out[:1].upper() + out[1:]
        return out

    def tokens(self, tokens: Iterable[str]) -> list[str]:
        return [self.word(w) for w in tokens]

    def __repr__(self) -> str:
        return f"ToyLanguage({self.code!r}, distance={self.distance:.3f})"


def toy_language(language: str) -> ToyLanguage:
    """The word-level transformation that makes English into a toy ``language``.

    A word is replaced when a hash of (language, word) falls below
    :func:`toy_distance`; the replacement is the word through a
    language-specific letter cipher, in the language's script.  The same word
    always gets the same replacement, so word overlap survives translation.

    Examples
    --------
    >>> zh = toy_language("zh")
    >>> zh.word("cat") == zh.word("cat"), toy_language("en").word("cat")
    (True, 'cat')
    """
    return _toy_language(_canonical(language))


@lru_cache(maxsize=None)
def _toy_language(code: str) -> ToyLanguage:
    return ToyLanguage(code)


# --------------------------------------------------------------------------
# English examples per format (canonical schema, label indices)


def _sentence(rng: random.Random, k: int) -> list[str]:
    return [rng.choice(_FILLER) for _ in range(k)]


def _pair(t: Task, rng: random.Random) -> dict:
    label = rng.randrange(len(t.labels))
    a = _sentence(rng, rng.randint(3, 5))
    markers = _MARKERS[_LABEL_MARKERS.get(t.labels[label], "maybe")]
    b = [rng.choice(markers) for _ in range(3)] + rng.sample(a, 1)
    return {"text_a": a, "text_b": b, "label": label}


def _ccg_tag(word: str) -> int:
    return int(_unit("ccg", word.lower()) * 60)


def _tagged(t: Task, rng: random.Random) -> dict:
    if t.schema == "conll_bio":
        words: list[str] = []
        tags: list[str] = []
        for _ in range(rng.randint(1, 2)):
            words += _sentence(rng, rng.randint(1, 3))
            tags += ["O"] * (len(words) - len(tags))
            kind = rng.choice(sorted(_ENTITIES))
            ent = rng.choice(_ENTITIES[kind])
            words += ent
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(ent) - 1)
        words += _sentence(rng, rng.randint(0, 2)) + ["."]
        tags += ["O"] * (len(words) - len(tags))
        return {"tokens": words, "tags": [t.labels.index(x) for x in tags]}
    template = rng.choice(_UPOS_TEMPLATES)
    words = [rng.choice(_UPOS_WORDS[tag]) for tag in template]
    if t.labels:
        return {"tokens": words, "tags": [t.labels.index(tag) for tag in template]}
    return {"tokens": words, "tags": [_ccg_tag(w) for w in words]}  # CCG: supertag ids


def _qa(t: Task, rng: random.Random) -> dict:
    marker = rng.choice(_QA_MARKERS)
    answer = rng.sample(_QA_ANSWERS, 2)
    before = _sentence(rng, rng.randint(2, 5)) + ["the", rng.choice(_UPOS_WORDS["NOUN"])]
    after = _sentence(rng, rng.randint(1, 4)) + ["."]
    answerable = t.schema != "squad_v2.0" or rng.random() < 2 / 3
    if answerable:
        context = before + [marker] + answer + after
        span = (len(before) + 1, len(before) + 3)
    else:
        context = before + _sentence(rng, 2) + after
        span = None
    question = [rng.choice(_QUESTION_WORDS), "is", marker, "?"]
    return {"context": context, "question": question, "span": span}


def _has_context(t: Task) -> bool:
    return any("context" in f.field_map for lay in t.layouts if lay.name != "jsonl" for f in lay.files)


def _choice(t: Task, rng: random.Random) -> dict:
    n = t.num_choices or len(t.labels)
    context = _sentence(rng, rng.randint(6, 9))
    question = _sentence(rng, 2)
    others = [w for w in _FILLER if w not in context]
    choices = [rng.sample(others, 3) for _ in range(n)]
    label = rng.randrange(n)
    choices[label] = rng.sample(context, 2) + [rng.choice(others)]
    if not _has_context(t):  # CommonsenseQA: only a question
        question, context = context + ["?"], []
    if t.schema == "copa":  # (X)COPA: the question names the relation, a value, not text
        question = [rng.choice(("cause", "effect"))]
    elif t.schema == "storycloze":  # XStoryCloze: a story and its endings, no question
        question = []
    return {"context": context, "question": question, "choices": choices, "label": label}


_MAKERS = {"sentence_pair": _pair, "tagging": _tagged, "extractive_qa": _qa, "multiple_choice": _choice}


def _english(t: Task, split: str, n: int, seed: int) -> list[dict]:
    rng = random.Random(f"toy|{seed}|{t.name}|{split}")
    return [_MAKERS[t.format](t, rng) for _ in range(n)]


def _join(tokens: Sequence[str]) -> str:
    return " ".join(tokens)


def _render(t: Task, ex: dict, lang: ToyLanguage, split: str, i: int) -> dict:
    row = {"id": f"{split}-{lang.code}-{i}", "language": lang.code}
    if t.format == "sentence_pair":
        row.update(text_a=_join(lang.tokens(ex["text_a"])), text_b=_join(lang.tokens(ex["text_b"])),
                   label=ex["label"])
    elif t.format == "tagging":
        row.update(tokens=lang.tokens(ex["tokens"]), tags=list(ex["tags"]))
    elif t.format == "extractive_qa":
        ctx = lang.tokens(ex["context"])
        answers = {"text": [], "answer_start": []}
        if ex["span"] is not None:
            a, b = ex["span"]
            answers = {"text": [_join(ctx[a:b])], "answer_start": [len(_join(ctx[:a])) + 1]}
        row.update(context=_join(ctx), question=_join(lang.tokens(ex["question"])), answers=answers)
    else:
        question = ex["question"] if t.schema == "copa" else lang.tokens(ex["question"])
        row.update(context=_join(lang.tokens(ex["context"])), question=_join(question),
                   choices=[_join(lang.tokens(c)) for c in ex["choices"]], label=ex["label"])
    return row


def toy_examples(task, split: str, language: str = "en", *, n: int = 32, seed: int = 0) -> list[dict]:
    """The canonical examples :func:`write_toy_data` writes for one split and language.

    Rows are in the schema :func:`xdist.train.readers.load_examples` returns
    (label and tag indices, SQuAD-style answers), with ids
    ``f"{split}-{language}-{i}"``.  Not for retrieval tasks (see
    :func:`write_toy_data`).

    Examples
    --------
    >>> row = toy_examples("PAWS-X", "dev", "en", n=3)[0]
    >>> sorted(row), row["label"] in (0, 1)
    (['id', 'label', 'language', 'text_a', 'text_b'], True)
    """
    t = get_task(task)
    if t.format == "retrieval":
        raise ValueError(f"task {t.name!r} is a retrieval task: toy_examples() makes examples of the other formats")
    _check_count(n, "n")
    lang = toy_language(language)
    return [_render(t, ex, lang, split, i) for i, ex in enumerate(_english(t, split, n, seed))]


def _retrieval(t: Task, split: str, language: str, n: int, seed: int) -> dict:
    """Source/target rows (and BUCC gold) of a toy retrieval split."""
    lang = toy_language(language)
    rng = random.Random(f"toy|{seed}|{t.name}|{split}")
    english = [_sentence(rng, rng.randint(5, 9)) + ["."] for _ in range(n)]
    if t.schema == "bucc2018":
        extra = [_sentence(rng, rng.randint(5, 9)) + ["."] for _ in range(max(1, n // 4) * 2)]
        src_only, tgt_only = extra[: len(extra) // 2], extra[len(extra) // 2:]
        code = lang.code
        src = [(_join(lang.tokens(s)), k) for k, s in enumerate(english + src_only)]
        tgt = [(_join(s), k) for k, s in enumerate(english + tgt_only)]
        order = random.Random(f"toy|{seed}|{t.name}|{split}|{code}|order")
        order.shuffle(src)
        order.shuffle(tgt)
        sid = {k: f"{code}-{i + 1:09d}" for i, (_, k) in enumerate(src)}
        tid = {k: f"en-{i + 1:09d}" for i, (_, k) in enumerate(tgt)}
        return {
            "source": [{"id": sid[k], "language": code, "text": s} for s, k in src],
            "target": [{"id": tid[k], "language": "en", "text": s} for s, k in tgt],
            "gold": sorted((sid[k], tid[k]) for k in range(n)),
        }
    return {
        "source": [{"id": f"{split}-{lang.code}-{i}", "language": lang.code, "text": _join(lang.tokens(s))}
                   for i, s in enumerate(english)],
        "target": [{"id": f"{split}-en-{i}", "language": "en", "text": _join(s)} for i, s in enumerate(english)],
        "gold": None,
    }


# --------------------------------------------------------------------------
# serialising canonical rows into a layout's files


def _label_name(t: Task, index: int) -> str:
    return t.labels[index] if t.labels else str(index)


def _raw_label(t: Task, lay: Layout, index: int):
    name = _label_name(t, index)
    inverse = {v: k for k, v in lay.label_map}
    if t.format == "multiple_choice" and name not in inverse:
        return index
    return inverse.get(name, name)


def _set(rec: dict, spec: str, value) -> None:
    """Inverse of the readers' field specs: ``col``, ``a.b``, ``a.list[].b``, ``c1,c2``."""
    if "," in spec:
        for s, v in zip(spec.split(","), value):
            _set(rec, s.strip(), v)
        return
    parts = spec.split(".")
    for k, part in enumerate(parts[:-1]):
        if part.endswith("[]"):
            items = rec.setdefault(part[:-2], [{} for _ in value])
            for item, v in zip(items, value):
                _set(item, ".".join(parts[k + 1:]), v)
            return
        rec = rec.setdefault(part, {})
    rec[parts[-1]] = value


_ID_LIKE = ("id", "uid", "pairID", "idx", "ind", "promptID", "index", "qid1", "qid2", "source_id")


def _record(t: Task, lay: Layout, f: DataFile, row: dict, file_code: str) -> dict:
    fm = f.field_map
    rec: dict = {}
    if t.format == "sentence_pair":
        _set(rec, fm["text_a"], row["text_a"])
        _set(rec, fm["text_b"], row["text_b"])
    elif t.format == "tagging":
        _set(rec, fm["tokens"], " ".join(row["tokens"]) if f.format == "tsv" else row["tokens"])
    elif t.format == "extractive_qa":
        _set(rec, fm["id"], row["id"])
        _set(rec, fm["context"], row["context"])
        _set(rec, fm["question"], row["question"])
        empty = {"text": [], "answer_start": []}
        _set(rec, fm["answers"], row["answers"] if f.labelled else empty)
    else:
        if "context" in fm and "," in fm["context"]:  # XStoryCloze: sentences in k columns
            k = len(fm["context"].split(","))
            words = row["context"].split(" ")
            step = -(-len(words) // k)
            _set(rec, fm["context"], [" ".join(words[i * step:(i + 1) * step]) for i in range(k)])
        elif "context" in fm:
            _set(rec, fm["context"], row["context"])
        if "question" in fm:
            _set(rec, fm["question"], row["question"])
        _set(rec, fm["choices"], row["choices"])
        if "choice_labels" in fm:
            _set(rec, fm["choice_labels"], [chr(65 + i) for i in range(len(row["choices"]))])
    if "label" in fm:
        _set(rec, fm["label"], _raw_label(t, lay, row["label"]) if f.labelled else -1)
    if "tags" in fm and f.labelled:
        names = [_label_name(t, i) for i in row["tags"]]
        _set(rec, fm["tags"], " ".join(names) if f.format == "tsv" else names)
    if "ctx" in f.columns:  # HellaSwag
        rec["ctx"] = f"{row['context']} {row['question']}"
    for col in f.columns:
        if col in rec:
            continue
        if col in _ID_LIKE:
            rec[col] = row["id"]
        elif col == "language":
            rec[col] = file_code
        else:
            rec[col] = "toy" if f.format == "jsonl" else ""
    return rec


def _tsv(f: DataFile, lay: Layout, recs: list[dict]) -> str:
    buf = io.StringIO()
    cols = list(f.columns)
    if f.format == "csv":
        w = csv.writer(buf, lineterminator="\n")
    elif lay.name == "xtreme":
        w = csv.writer(buf, delimiter="\t")  # as XTREME's utils_preprocess (\r\n, '"' quoting)
    else:
        w = None
    rows = ([cols] if f.header else []) + [[str(r.get(c, "")) for c in cols] for r in recs]
    if w is None:
        return "".join("\t".join(r) + "\n" for r in rows)
    w.writerows(rows)
    return buf.getvalue()


def _jsonl(recs: Iterable[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)


def _conll(t: Task, lay: Layout, f: DataFile, rows: list[dict], file_code: str) -> str:
    prefix = f"{file_code}:" if (t.name, lay.name) == ("PAN-X", "original") else ""
    out = []
    for r in rows:
        for tok, tag in zip(r["tokens"], r["tags"]):
            out.append(f"{prefix}{tok}\t{_label_name(t, tag)}\n" if f.labelled else f"{prefix}{tok}\n")
        out.append("\n")
    return "".join(out)


def _conllu(t: Task, rows: list[dict]) -> str:
    out = []
    for k, r in enumerate(rows):
        out.append(f"# sent_id = toy-{k}\n# text = {' '.join(r['tokens'])}\n")
        for i, (tok, tag) in enumerate(zip(r["tokens"], r["tags"]), 1):
            head, rel = (0, "root") if i == 1 else (1, "dep")
            out.append(f"{i}\t{tok}\t{tok.lower()}\t{_label_name(t, tag)}\t_\t_\t{head}\t{rel}\t{head}:{rel}\t_\n")
        out.append("\n")
    return "".join(out)


def _squad(t: Task, f: DataFile, rows: list[dict]) -> str:
    v2 = t.schema == "squad_v2.0"
    paragraphs = []
    for r in rows:
        qa: dict = {"id": r["id"], "question": r["question"]}
        if f.labelled:
            qa["answers"] = [{"text": x, "answer_start": s}
                             for x, s in zip(r["answers"]["text"], r["answers"]["answer_start"])]
            if v2:
                qa["is_impossible"] = not r["answers"]["text"]
        else:  # as XTREME's remove_qa_test_annotations
            qa["answers"] = [{"answer_start": 0, "text": ""}]
        paragraphs.append({"context": r["context"], "qas": [qa]})
    data = {"version": "v2.0" if v2 else "1.1", "data": [{"title": "toy", "paragraphs": paragraphs}]}
    return json.dumps(data, ensure_ascii=False)


def _concrete(template: str, code: str) -> str:
    return template.replace("{lang}", code).replace("*", "toy")


def _serialise(t: Task, lay: Layout, f: DataFile, parts: list[tuple[str, list[dict]]]) -> str:
    """File content for the rows of one or more languages ((code, rows) pairs)."""
    if f.format in ("tsv", "csv", "jsonl"):
        recs = [_record(t, lay, f, r, code) for code, rows in parts for r in rows]
        return _jsonl(recs) if f.format == "jsonl" else _tsv(f, lay, recs)
    rows = [r for _, rows in parts for r in rows]
    if f.format == "conll":
        return _conll(t, lay, f, rows, parts[0][0])
    if f.format == "conllu":
        return _conllu(t, rows)
    if f.format == "squad_json":
        if f.select:  # TyDiQA's training file: every language, ids prefixed "{language name}-"
            return _squad(t, f, [{**r, "id": f"{code}-{r['id']}"} for code, rs in parts for r in rs])
        return _squad(t, f, rows)
    raise ValueError(f"format {f.format!r} is not written by the toy writer")  # pragma: no cover


def _retrieval_files(t: Task, lay: Layout, files: Sequence[DataFile], data: dict, code: str) -> dict:
    out = {}
    for f in files:
        rel = _concrete(f.template, code)
        if f.role == "gold":
            pairs = data["gold"]
            out[rel] = (_jsonl({"source": s, "target": g} for s, g in pairs) if f.format == "jsonl"
                        else "".join(f"{s}\t{g}\n" for s, g in pairs))
            continue
        rows = data[f.role]
        if f.format == "jsonl":
            out[rel] = _jsonl({"id": r["id"], "text": r["text"]} for r in rows)
        elif f.format == "id_text":
            out[rel] = "".join(f"{r['id']}\t{r['text']}\n" for r in rows)
        else:
            texts = [r["text"] for r in rows]
            if not f.labelled:  # XTREME sorts Tatoeba's English side
                texts = sorted(texts)
            out[rel] = "".join(x + "\n" for x in texts)
    return out


# --------------------------------------------------------------------------
# the writer


def _check_count(n, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name}={n!r} is not valid: expected a positive integer")


def _tasks(tasks) -> list[Task]:
    if isinstance(tasks, (str, Task)):
        tasks = [tasks]
    out: list[Task] = []
    for name in tasks:
        t = get_task(name)
        parts = [get_task(c) for _, cs in t.components for c in cs] if t.components else [t]
        out.extend(p for p in parts if p not in out)
    if not out:
        raise ValueError("tasks is empty: give at least one task name")
    return out


def _pick_layout(t: Task, layout: str) -> Layout:
    return t.layout(layout) if layout in t.layout_names else t.layouts[0]


def _split_languages(t: Task, lay: Layout, split: str, wanted: list[str] | None) -> list[str]:
    langs = [t.train_language] if split == "train" else list(wanted if wanted is not None else t.languages)
    if split != "train":
        langs = [t.train_language] + langs
    out = []
    for lang in dict.fromkeys(langs):
        if lang not in t.languages:
            continue
        try:
            t.paths(split, lang, layout=lay.name)
        except ValueError:
            continue
        out.append(lang)
    return out


def write_toy_data(root, tasks, *, languages: Sequence[str] | None = None, n_train: int = 64,
                   n_eval: int = 32, seed: int = 0, layout: str = "jsonl") -> dict:
    """Write synthetic data for ``tasks`` under ``root``, in a layout of the registry.

    Parameters
    ----------
    root : path
        Data root (created); pass it as ``data_dir`` to the readers.
    tasks : str or sequence of str
        Task names or aliases; a composite (``ANLI+``) writes its components.
    languages : sequence of str, optional
        Evaluation languages; default each task's own (all 40 for PAN-X).
        Languages a task lacks are skipped for it.  The training language
        (English) always gets every split; the others get every split but
        ``train``.
    n_train, n_eval : int
        Examples per ``train`` file and per file of the other splits
        (retrieval: sentence pairs per language).
    seed : int
        The examples drawn (the toy languages do not depend on it).
    layout : str, default "jsonl"
        ``"jsonl"``, ``"xtreme"``, ``"original"`` or ``"jiant"``; a task
        without it is written in its first layout (as :meth:`Task.paths`
        does for composites).  Files a layout leaves unlabelled (XTREME's
        test splits) are written without labels, as there.

    Returns
    -------
    dict
        ``{task: {split: {language: {role: Path}}}}`` -- the files written
        (roles as in :meth:`Task.paths`: ``"data"``, ``"source"``,
        ``"target"``, ``"gold"``, ``"r1"``...).  Files that hold several
        languages (XNLI's original dev file) appear under each.

    Notes
    -----
    All files are built in memory first and each is written atomically
    (temporary file, then rename), so a failure leaves no partial file.
    """
    _check_count(n_train, "n_train")
    _check_count(n_eval, "n_eval")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed={seed!r} is not valid: expected an integer")
    known = ("jsonl", "xtreme", "original", "jiant")
    if layout not in known:
        raise ValueError(f"layout={layout!r} is not valid: expected one of {list(known)}")
    if languages is not None:
        if isinstance(languages, str):
            languages = [languages]
        languages = [_canonical(x) for x in languages]
        if not languages:
            raise ValueError("languages is empty: give language codes or None for each task's own")
    root = Path(root)
    contents: dict[str, str] = {}
    written: dict = {}
    for t in _tasks(tasks):
        lay = _pick_layout(t, layout)
        for split in lay.splits:
            n = n_train if split == "train" else n_eval
            langs = _split_languages(t, lay, split, languages)
            files = lay.files_for(split)
            if t.format == "retrieval":
                for lang in langs:
                    data = _retrieval(t, split, lang, n, seed)
                    rels = _retrieval_files(t, lay, files, data, lay.file_code(lang))
                    contents.update(rels)
                    written.setdefault(t.name, {}).setdefault(split, {})[lang] = {
                        f.role: root / _concrete(f.template, lay.file_code(lang)) for f in files}
                continue
            rows = {lang: toy_examples(t, split, lang, n=n, seed=seed) for lang in langs}
            for f in files:
                groups: dict[str, list[tuple[str, list[dict]]]] = {}
                chunk = _role_chunk(files, f)
                for lang in langs:
                    code = lay.file_code(lang)
                    part = rows[lang][chunk[0]::chunk[1]]
                    groups.setdefault(_concrete(f.template, code), []).append((code, part))
                    written.setdefault(t.name, {}).setdefault(split, {}).setdefault(lang, {})[f.role] = \
                        root / _concrete(f.template, code)
                for rel, parts in groups.items():
                    contents[rel] = _serialise(t, lay, f, parts)
    for rel, text in contents.items():
        _write_atomic(root / rel, text)
    return written


def _role_chunk(files: Sequence[DataFile], f: DataFile) -> tuple[int, int]:
    """(offset, stride) of the rows a file gets when a split has several files (ANLI's rounds)."""
    roles = [x.role for x in files]
    return roles.index(f.role), len(roles)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def toy_texts(tasks, *, languages: Sequence[str] | None = None, n_train: int = 64, n_eval: int = 32,
              seed: int = 0) -> list[str]:
    """Every text :func:`write_toy_data` writes for these arguments (for training a tokenizer).

    Examples
    --------
    >>> texts = toy_texts(["PAN-X"], languages=["ja"], n_train=4, n_eval=2)
    >>> len(texts) > 0 and all(isinstance(x, str) for x in texts)
    True
    """
    _check_count(n_train, "n_train")
    _check_count(n_eval, "n_eval")
    langs = None if languages is None else [_canonical(x) for x in ([languages] if isinstance(languages, str)
                                                                   else languages)]
    out: list[str] = []
    for t in _tasks(tasks):
        lay = _pick_layout(t, "jsonl")
        for split in lay.splits:
            n = n_train if split == "train" else n_eval
            for lang in _split_languages(t, lay, split, langs):
                if t.format == "retrieval":
                    data = _retrieval(t, split, lang, n, seed)
                    out += [r["text"] for side in ("source", "target") for r in data[side]]
                    continue
                for r in toy_examples(t, split, lang, n=n, seed=seed):
                    if t.format == "sentence_pair":
                        out += [r["text_a"], r["text_b"]]
                    elif t.format == "tagging":
                        out.append(" ".join(r["tokens"]))
                    else:
                        out += [r["context"], r["question"], *r.get("choices", ())]
    return [x for x in out if x]


# --------------------------------------------------------------------------
# multilingual intermediate training: translated training files and an MLM corpus


def write_toy_translations(root, tasks, languages: Sequence[str], *, n: int = 64, seed: int = 0) -> dict:
    """Write "machine-translated" training files of intermediate ``tasks`` in ``languages``.

    Each file holds the toy translations of the same English training
    examples :func:`write_toy_data` writes (parallel, as XTREME's
    translate-train files), in the generic layout that
    :mod:`xdist.train.translated` reads: ``{task}/train-{lang}.jsonl``.
    English is skipped (it is the task's own training file).

    Returns
    -------
    dict
        ``{task: {language: Path}}`` of the files written.

    Examples
    --------
    >>> import tempfile
    >>> paths = write_toy_translations(tempfile.mkdtemp(), ["MNLI"], ["de", "en"], n=4)
    >>> sorted(paths["MNLI"]), paths["MNLI"]["de"].name
    (['de'], 'train-de.jsonl')
    """
    from xdist.train.translated import translated_task

    _check_count(n, "n")
    if isinstance(languages, str):
        languages = [languages]
    langs = [_canonical(x) for x in languages]
    root = Path(root)
    written: dict = {}
    for t in _tasks(tasks):
        if t.format == "retrieval":
            raise ValueError(f"task {t.name!r} is a retrieval task: it has no training data to translate")
        for lang in langs:
            if lang == t.train_language:
                continue
            tt = translated_task(t, lang)
            lay = tt.layout("jsonl")
            f = lay.files_for("train")[0]
            rel = tt.path("train", lang, layout="jsonl")
            rows = toy_examples(t, "train", lang, n=n, seed=seed)
            _write_atomic(root / rel, _serialise(t, lay, f, [(lang, rows)]))
            written.setdefault(t.name, {})[lang] = root / rel
    return written


def write_toy_mlm_corpus(directory, languages: Sequence[str], *, n: int = 64, seed: int = 0) -> dict:
    """Write a toy MLM corpus: ``{lang}.txt``, one sentence per line, in each toy language.

    The sentences are random English filler words passed through
    :func:`toy_language`, so each language's text looks like its toy
    evaluation data (what continued multilingual MLM is meant to expose the
    encoder to).

    Returns
    -------
    dict
        ``{language: Path}``.

    Examples
    --------
    >>> import tempfile
    >>> paths = write_toy_mlm_corpus(tempfile.mkdtemp(), ["de", "sw"], n=3)
    >>> len(paths["sw"].read_text(encoding="utf-8").splitlines())
    3
    """
    _check_count(n, "n")
    if isinstance(languages, str):
        languages = [languages]
    directory = Path(directory)
    written = {}
    for code in (_canonical(x) for x in languages):
        lang = toy_language(code)
        rng = random.Random(f"toy-mlm|{seed}|{code}")
        lines = [_join(lang.tokens(_sentence(rng, rng.randint(4, 12)))) for _ in range(n)]
        _write_atomic(directory / f"{code}.txt", "\n".join(lines) + "\n")
        written[code] = directory / f"{code}.txt"
    return written
