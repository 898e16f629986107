"""Readers: the data files of every registered task -> canonical examples.

:func:`load_examples` reads one split of one task in one language from any
layout the registry (:mod:`xdist.train.tasks`) records for it -- XTREME's
``download/`` tree, the files as their authors distribute them, jiant's
JSONL, or xdist's generic ``jsonl`` -- and returns a :class:`datasets.Dataset`
in the canonical schema every later step reads (see ``docs/tasks.md``,
"Readers"):

=================  ==============================================================
format             columns (besides ``id`` and ``language``)
=================  ==============================================================
sentence_pair      ``text_a``, ``text_b``, ``label`` (index into ``task.labels``)
tagging            ``tokens``, ``tags`` (one index per token; CCG: the supertag id)
extractive_qa      ``context``, ``question``, ``answers`` (``{"text", "answer_start"}``)
multiple_choice    ``context``, ``question``, ``choices``, ``label`` (choice index)
=================  ==============================================================

``-1`` (and empty answer lists) mark examples without a gold label, as in
XTREME's test files; ``require_labels=True`` turns those into a
:class:`DataError` that names the layout that has the labels.
:func:`load_retrieval` reads BUCC and Tatoeba into a :class:`RetrievalData`.

Everything is parsed in Python from the files under ``data_dir``; nothing is
downloaded and nothing is written to the Hugging Face cache.

Examples
--------
>>> import json, pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> (root / "xnli").mkdir()
>>> row = {"text_a": "A man sleeps.", "text_b": "A man rests.", "label": "entailment"}
>>> _ = (root / "xnli" / "dev-en.jsonl").write_text(json.dumps(row) + "\\n")
>>> ds = load_examples("XNLI", "dev", "en", data_dir=root)
>>> ds[0]
{'id': 'dev-en-0', 'language': 'en', 'text_a': 'A man sleeps.', 'text_b': 'A man rests.', 'label': 1}
>>> find_layout("XNLI", "dev", data_dir=root, language="en")
'jsonl'
"""

from __future__ import annotations

import csv
import glob
import itertools
import json
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from xdist.train.tasks import DataFile, Layout, Task, get_task

__all__ = [
    "DataError",
    "DataWarning",
    "RetrievalData",
    "canonical_features",
    "find_layout",
    "load_examples",
    "load_retrieval",
]


class DataError(ValueError):
    """Data files that are missing, unlabelled where labels are needed, or malformed."""


class DataWarning(UserWarning):
    """Rows of a data file that were skipped (wrong number of fields, tokens/tags mismatch)."""


@dataclass
class RetrievalData:
    """The two sides of a retrieval task, and its gold alignment.

    Attributes
    ----------
    source : datasets.Dataset
        Columns ``id``, ``language``, ``text``: the non-English sentences.
    target : datasets.Dataset
        The English sentences (same columns).
    gold : list of (str, str) or None
        BUCC: (source id, target id) pairs.  ``None`` for Tatoeba, whose
        row ``i`` of ``source`` is the translation of row ``i`` of ``target``.
    labelled : bool
        ``False`` when the distribution hides the gold (BUCC's test split in
        the ``xtreme`` layout has no gold file; Tatoeba's English side is
        sorted there); only returned with ``require_labels=False``.
    """

    source: object
    target: object
    gold: list[tuple[str, str]] | None
    labelled: bool = True


# --------------------------------------------------------------------------
# format rules that the registry states in prose (Layout.notes); kept explicit here

#: Layouts whose TSV files were written by Python's csv.writer (fields with '"' quoted):
#: read with csv quoting to recover the sentences (docs/tasks.md, XTREME's TSV quirk).
#: Every other TSV is read with csv.QUOTE_NONE (quote characters are text).
_CSV_QUOTED_TSV_LAYOUTS = frozenset({"xtreme"})
#: (task, layout) whose CoNLL tokens carry a "{lang}:" prefix (PAN-X as distributed);
#: read as XTREME's panx_preprocess does.
_PREFIXED_TOKENS = frozenset({("PAN-X", "original")})
#: Files whose header line is skipped and whose columns are read by position (XStoryCloze: the
#: release uses StoryCloze's names, copies on the Hugging Face hub snake_case ones).
_POSITIONAL_HEADER = frozenset({"spring2016.val.{lang}.tsv.split_20_80_train.tsv",
                                "spring2016.val.{lang}.tsv.split_20_80_eval.tsv"})
#: Column names that hold an example's own id, in order of preference.
_ID_COLUMNS = ("id", "uid", "pairID", "idx", "ind", "InputStoryid")
#: Raw label values that mean "no gold label" (SNLI '-', Hugging Face -1, blanked tests).
_NO_LABEL = frozenset({"", "-", "-1", "None"})
#: XTREME's ud-conversion-tools (conllu_to_conll.py) part-of-speech precedence used to pick
#: which word of a multiword token keeps its tag when several are highest in the tree.
_POS_PRECEDENCE = {
    "default": "VERB NOUN PROPN PRON ADJ NUM ADV INTJ AUX ADP DET PART CCONJ SCONJ X PUNCT".split(),
    "es": "VERB AUX PRON ADP DET".split(),
    "fr": "VERB AUX PRON NOUN ADJ ADV ADP DET PART SCONJ CONJ".split(),
    "it": "VERB AUX ADV PRON ADP DET INTJ".split(),
}


# --------------------------------------------------------------------------
# canonical schema


def canonical_features(task):
    """The :class:`datasets.Features` of a task's canonical examples.

    Parameters
    ----------
    task : str or Task
        Task name/alias, a :class:`~xdist.train.tasks.Task`, or a format name
        (``"sentence_pair"``, ...; ``"retrieval"`` gives the columns of
        :attr:`RetrievalData.source`).

    Examples
    --------
    >>> sorted(canonical_features("tagging"))
    ['id', 'language', 'tags', 'tokens']
    """
    from datasets import Features, List, Value

    fmt = task if task in ("sentence_pair", "tagging", "extractive_qa", "multiple_choice",
                           "retrieval") else _task(task).format
    base = {"id": Value("string"), "language": Value("string")}
    extra = {
        "sentence_pair": {"text_a": Value("string"), "text_b": Value("string"), "label": Value("int64")},
        "tagging": {"tokens": List(Value("string")), "tags": List(Value("int64"))},
        "extractive_qa": {
            "context": Value("string"), "question": Value("string"),
            "answers": {"text": List(Value("string")), "answer_start": List(Value("int32"))},
        },
        "multiple_choice": {"context": Value("string"), "question": Value("string"),
                            "choices": List(Value("string")), "label": Value("int64")},
        "retrieval": {"text": Value("string")},
    }[fmt]
    return Features({**base, **extra})


_COLUMNS = {
    "sentence_pair": ("text_a", "text_b", "label"),
    "tagging": ("tokens", "tags"),
    "extractive_qa": ("context", "question", "answers"),
    "multiple_choice": ("context", "question", "choices", "label"),
    "retrieval": ("text",),
}


def _dataset(fmt: str, rows: list[dict]):
    """An in-memory Dataset (no cache files): the Arrow table of the canonical schema."""
    import pyarrow as pa
    from datasets import Dataset

    features = canonical_features(fmt)
    data = {c: [r[c] for r in rows] for c in features}
    # same result as Dataset.from_dict(data, features=features), without its per-value encoding
    return Dataset(pa.Table.from_pydict(data, schema=features.arrow_schema))


# --------------------------------------------------------------------------
# argument checks, layouts and paths


def _task(task) -> Task:
    if isinstance(task, Task):
        return task
    return get_task(task)


def _root(data_dir) -> Path:
    if data_dir is None or (isinstance(data_dir, str) and not data_dir.strip()):
        raise ValueError(f"data_dir={data_dir!r} is not valid: expected the directory the data files lie under")
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise DataError(f"data_dir={str(data_dir)!r} is not a directory: expected the data root "
                        f"(see docs/tasks.md, 'On-disk layouts')")
    return root


def _check_split(t: Task, split) -> None:
    if split not in t.splits:
        raise ValueError(f"split={split!r} is not a split of task {t.name!r}: expected one of {list(t.splits)}")


def _check_limit(limit) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit={limit!r} is not valid: expected a non-negative integer or None")


def _check_language(t: Task, language) -> str | None:
    if language is None:
        return None
    from xdist.languages import UnknownLanguageError, resolve

    try:
        code = resolve(language, param="language")
    except UnknownLanguageError:
        code = language
    if code not in t.languages:
        raise ValueError(f"language={language!r} is not a language of task {t.name!r}: "
                         f"expected one of {list(t.languages)}")
    return code


def _check_layout_name(t: Task, layout) -> None:
    if layout is None:
        return
    names = _layout_names(t)
    if layout not in names:
        raise ValueError(f"layout={layout!r} is not known for task {t.name!r}: expected one of {names} or None")


def _layout_names(t: Task) -> list[str]:
    if t.components:
        comps = [get_task(c) for _, cs in t.components for c in cs]
        return list(dict.fromkeys(n for c in comps for n in c.layout_names))
    return list(t.layout_names)


@dataclass
class _Resolved:
    """The files of one (task, layout, split, language)."""

    layout: Layout
    language: str
    files: list[tuple[DataFile, list[Path]]]  # (record, matching paths; several for glob)
    tried: list[str]  # every path looked for (relative to the root)

    @property
    def missing(self) -> list[str]:
        return [p for (f, paths), p in zip(self.files, self.tried) if not paths]

    @property
    def labelled(self) -> bool:
        return all(f.labelled for f, _ in self.files)


def _resolve(t: Task, lay: Layout, split: str, language: str | None, root: Path) -> _Resolved:
    """Paths of a split in one layout; ValueError if the layout lacks the split/language."""
    files = lay.files_for(split)
    lang = t._language(language, files)  # the registry's own default/availability rules
    code = lay.file_code(lang)
    out, tried = [], []
    for f in files:
        rel = f.template.replace("{lang}", code)
        tried.append(rel)
        if f.glob:
            paths = sorted((Path(p) for p in glob.glob(str(root / rel))), key=lambda p: (p.name, str(p)))
        else:
            paths = [root / rel] if (root / rel).is_file() else []
        out.append((f, paths))
    return _Resolved(lay, lang, out, tried)


def _labelled_resolved(t: Task, res: _Resolved) -> bool:
    if not res.labelled:
        return False
    if t.format == "retrieval" and _needs_gold(t):
        return any(f.role == "gold" for f, _ in res.files)
    return True


def _needs_gold(t: Task) -> bool:
    return any(f.role == "gold" for lay in t.layouts for f in lay.files)


def _labelled_layouts(t: Task, split: str, language: str | None) -> list[str]:
    out = []
    for lay in t.layouts:
        if split not in lay.splits:
            continue
        try:
            res = _resolve(t, lay, split, language, Path("."))
        except ValueError:
            continue
        if _labelled_resolved(t, res):
            out.append(lay.name)
    return out


def _unlabelled_message(t: Task, split: str, res: _Resolved) -> str:
    good = _labelled_layouts(t, split, res.language)
    why = {"xtreme": " (XTREME strips the gold labels of its test splits)"}.get(res.layout.name, "")
    hint = f"use layout={good[0]!r}" if good else "no registered layout has them"
    where = ""
    if good:
        other = _resolve(t, t.layout(good[0]), split, res.language, Path("."))
        where = f" (files: {other.tried})"
    return (f"task {t.name!r} split {split!r} language {res.language!r} has no gold labels in layout "
            f"{res.layout.name!r}{why}: {hint}{where}")


def find_layout(task, split: str, *, data_dir, language: str | None = None,
                require_labels: bool = False) -> str:
    """The first of the task's layouts whose files for ``split`` exist under ``data_dir``.

    Parameters
    ----------
    task : str or Task
    split : str
    data_dir : path
        The data root the registry's paths are relative to.
    language : str, optional
        Needed where files are per language (defaults as in :meth:`Task.paths`).
    require_labels : bool, default False
        Skip layouts whose files lack the gold labels (XTREME's test splits).

    Returns
    -------
    str
        A layout name.  For a composite (``ANLI+``): the first name under which
        every component's files exist (a component without that layout uses
        its first, as :meth:`Task.paths` does).

    Raises
    ------
    DataError
        No layout has the files; the message lists the paths tried under
        ``data_dir`` and the layouts accepted.

    Examples
    --------
    >>> import tempfile
    >>> find_layout("PAWS-X", "test", data_dir=tempfile.mkdtemp(), language="de")
    Traceback (most recent call last):
    ...
    xdist.train.readers.DataError: no files for task 'PAWS-X' split 'test' language 'de' under ...
    """
    t = _task(task)
    _check_split(t, split)
    root = _root(data_dir)
    language = _check_language(t, language)
    if t.components:
        return _find_composite_layout(t, split, root, language, require_labels)
    tried: list[str] = []
    unlabelled: _Resolved | None = None
    for lay in t.layouts:
        if split not in lay.splits:
            continue
        try:
            res = _resolve(t, lay, split, language, root)
        except ValueError as exc:
            tried.append(f"{lay.name}: {exc}")
            continue
        if res.missing:
            tried.append(f"{lay.name}: {res.missing}")
            continue
        if require_labels and not _labelled_resolved(t, res):
            unlabelled = unlabelled or res
            tried.append(f"{lay.name}: unlabelled")
            continue
        return lay.name
    if unlabelled is not None:
        raise DataError(f"{_unlabelled_message(t, split, unlabelled)}; tried {'; '.join(tried)}")
    accepted = [lay.name for lay in t.layouts if split in lay.splits]
    if require_labels:
        accepted = [n for n in accepted if n in _labelled_layouts(t, split, language)]
    lang = f" language {language!r}" if language else ""
    raise DataError(f"no files for task {t.name!r} split {split!r}{lang} under {str(root)!r}: "
                    f"tried {'; '.join(tried)}; layouts accepted: {accepted}")


def _component_layout(ct: Task, layout: str | None) -> str | None:
    return layout if layout in ct.layout_names else None


def _find_composite_layout(t: Task, split: str, root: Path, language, require_labels: bool) -> str:
    comps = [get_task(c) for c in dict(t.components).get(split, ())]
    problems = []
    for name in _layout_names(t):
        ok = True
        for ct in comps:
            lay = ct.layout(_component_layout(ct, name))
            try:
                res = _resolve(ct, lay, split, language, root)
            except ValueError as exc:
                problems.append(f"{name}/{ct.name}: {exc}")
                ok = False
                break
            if res.missing or (require_labels and not res.labelled):
                problems.append(f"{name}/{ct.name}: {res.missing or 'unlabelled'}")
                ok = False
                break
        if ok:
            return name
    raise DataError(f"no files for task {t.name!r} split {split!r} (components {[c.name for c in comps]}) "
                    f"under {str(root)!r}: tried {'; '.join(problems)}; layouts accepted: {_layout_names(t)}")


# --------------------------------------------------------------------------
# public loaders


def load_examples(task, split: str, language: str | None = None, *, data_dir, layout: str | None = None,
                  require_labels: bool = False, limit: int | None = None):
    """Read one split of a task in one language into canonical examples.

    Parameters
    ----------
    task : str or Task
        Name or alias (``"xnli"``, ``"WikiAnn-NER"``, ``"ANLI+"``...).
    split : str
        One of ``task.splits``.
    language : str, optional
        xdist code (or any spelling :func:`xdist.languages.resolve` knows);
        defaults to the only language a split has (``train`` -> ``en``).
    data_dir : path
        Data root; the registry's paths are relative to it.
    layout : str, optional
        ``"xtreme"``, ``"original"``, ``"jiant"`` or ``"jsonl"``; default: the
        first of the task's layouts whose files exist (and are labelled when
        ``require_labels``).  For ``ANLI+`` every component is found on its
        own; a named layout a component lacks is looked up for it likewise.
    require_labels : bool, default False
        Raise :class:`DataError` instead of returning examples without gold
        labels (XTREME's test files: use ``layout="original"``).
    limit : int, optional
        Keep the first ``limit`` examples.

    Returns
    -------
    datasets.Dataset
        Canonical columns (see the module docstring); ``id`` is the file's
        own id where it has unique ones, else ``f"{split}-{language}-{row}"``;
        composites prefix the component (``"MNLI/..."``).

    Raises
    ------
    DataError
        Missing files (the message lists the paths tried and the layouts
        accepted), unlabelled files with ``require_labels``, malformed files.
    ValueError
        Unknown task, split, language or layout.

    Notes
    -----
    Rows of a labelled file without a gold label (SNLI's ``'-'``, jiant's
    ``-1``) are dropped; a file where no row has one is read as unlabelled.
    """
    t = _task(task)
    if t.format == "retrieval":
        raise ValueError(f"task {t.name!r} is a retrieval task: use load_retrieval(), not load_examples()")
    _check_split(t, split)
    _check_limit(limit)
    _check_layout_name(t, layout)
    root = _root(data_dir)
    language = _check_language(t, language)
    if t.components:
        rows = []
        for comp in dict(t.components).get(split, ()):
            ct = get_task(comp)
            if limit is not None and len(rows) >= limit:
                break
            name = _component_layout(ct, layout) or find_layout(
                ct, split, data_dir=root, language=language, require_labels=require_labels)
            part = _load_rows(ct, split, language, root, name, require_labels,
                              None if limit is None else limit - len(rows))
            rows.extend({**r, "id": f"{ct.name}/{r['id']}"} for r in part)
        return _dataset(t.format, rows)
    name = layout or find_layout(t, split, data_dir=root, language=language, require_labels=require_labels)
    return _dataset(t.format, _load_rows(t, split, language, root, name, require_labels, limit))


def _open_resolved(t: Task, split: str, language, root: Path, name: str) -> _Resolved:
    lay = t.layout(name)
    if split not in lay.splits:
        raise DataError(f"layout {name!r} of task {t.name!r} has no split {split!r}: it has {list(lay.splits)}; "
                        f"layouts with it: {[x.name for x in t.layouts if split in x.splits]}")
    try:
        res = _resolve(t, lay, split, language, root)
    except ValueError as exc:
        raise DataError(f"layout {name!r} of task {t.name!r}: {exc}") from None
    if res.missing:
        accepted = [x.name for x in t.layouts if split in x.splits]
        raise DataError(f"missing files for task {t.name!r} split {split!r} language {res.language!r} in layout "
                        f"{name!r} under {str(root)!r}: {res.missing}; layouts accepted: {accepted}")
    return res


def _load_rows(t: Task, split: str, language, root: Path, name: str, require_labels: bool,
               limit: int | None) -> list[dict]:
    res = _open_resolved(t, split, language, root, name)
    if require_labels and not res.labelled:
        raise DataError(_unlabelled_message(t, split, res))
    rows = list(itertools.islice(_examples(t, split, res), limit))
    if require_labels and rows and not _has_labels(t, rows):
        raise DataError(f"task {t.name!r} split {split!r} language {res.language!r}: the files of layout "
                        f"{name!r} ({res.tried}) hold no gold labels; require_labels=True needs labelled files")
    _assign_ids(rows, split, res.language)
    return rows


def load_retrieval(task, split: str, language: str, *, data_dir, layout: str | None = None,
                   require_labels: bool = True) -> RetrievalData:
    """Read the two sides (and BUCC's gold pairs) of a retrieval task.

    Parameters
    ----------
    task : str or Task
        ``"BUCC"`` or ``"Tatoeba"``.
    split : str
    language : str
        The non-English language.
    data_dir : path
    layout : str, optional
        Default: the first layout with the files (and the gold, see
        ``require_labels``).
    require_labels : bool, default True
        Insist on the gold: BUCC's gold pairs, Tatoeba's aligned English side
        (XTREME's layout hides both for the test split: use
        ``layout="original"``).

    Returns
    -------
    RetrievalData
        Ids: the file's (BUCC), else ``f"{split}-{language}-{row}"``
        (source) and ``f"{split}-en-{row}"`` (target).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "LASER/data/tatoeba/v1").mkdir(parents=True)
    >>> _ = (root / "LASER/data/tatoeba/v1/tatoeba.deu-eng.deu").write_text("Hallo.\\nDanke.\\n")
    >>> _ = (root / "LASER/data/tatoeba/v1/tatoeba.deu-eng.eng").write_text("Hello.\\nThanks.\\n")
    >>> data = load_retrieval("Tatoeba", "test", "de", data_dir=root)
    >>> list(data.source["text"]), list(data.target["id"]), data.gold
    (['Hallo.', 'Danke.'], ['test-en-0', 'test-en-1'], None)
    """
    t = _task(task)
    if t.format != "retrieval":
        raise ValueError(f"task {t.name!r} is not a retrieval task ({t.format}): use load_examples()")
    _check_split(t, split)
    _check_layout_name(t, layout)
    if language is None:
        raise ValueError(f"language=None is not valid for task {t.name!r}: expected one of {list(t.languages)}")
    root = _root(data_dir)
    language = _check_language(t, language)
    name = layout or find_layout(t, split, data_dir=root, language=language, require_labels=require_labels)
    res = _open_resolved(t, split, language, root, name)
    labelled = _labelled_resolved(t, res)
    if require_labels and not labelled:
        raise DataError(_unlabelled_message(t, split, res))
    sides: dict[str, list[dict]] = {}
    gold = None
    for f, paths in res.files:
        if f.role == "gold":
            gold = list(_guarded(_read_pairs(f, paths[0]), paths[0]))
            continue
        side_lang = res.language if f.role == "source" else "en"
        sides[f.role] = list(_guarded(_read_sentences(f, paths[0], split, side_lang), paths[0]))
    if set(sides) != {"source", "target"}:
        raise DataError(f"layout {name!r} of task {t.name!r} does not give both sides (source, target): "
                        f"it has {sorted(sides)}")
    if not _needs_gold(t) and labelled and len(sides["source"]) != len(sides["target"]):
        raise DataError(f"{t.name} {split} {res.language}: the aligned files have {len(sides['source'])} and "
                        f"{len(sides['target'])} lines ({res.tried}); row i of each must be a pair")
    for side in sides.values():
        _check_unique(side, "retrieval ids")
    return RetrievalData(_dataset("retrieval", sides["source"]), _dataset("retrieval", sides["target"]),
                         gold, labelled)


# --------------------------------------------------------------------------
# ids and label checks


def _assign_ids(rows: list[dict], split: str, language: str) -> None:
    """The file's own id where a row has one, else its row id; row ids for all if that repeats an id."""
    ids = [r.get("id") or f"{split}-{language}-{i}" for i, r in enumerate(rows)]
    if len(set(ids)) != len(ids):
        ids = [f"{split}-{language}-{i}" for i in range(len(rows))]
    for r, i in zip(rows, ids):
        r["id"] = i


def _check_unique(rows: list[dict], what: str) -> None:
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise DataError(f"duplicate {what}: {dup!r}")


def _has_labels(t: Task, rows: list[dict]) -> bool:
    if t.format in ("sentence_pair", "multiple_choice"):
        return any(r["label"] >= 0 for r in rows)
    if t.format == "tagging":
        return any(tag >= 0 for r in rows for tag in r["tags"])
    if t.schema == "squad_v2.0":
        return True  # empty answer lists are gold (unanswerable)
    return any(r["answers"]["text"] for r in rows)


class _LabelMap:
    """Raw label -> index into ``task.labels`` via the layout's label_map."""

    def __init__(self, t: Task, lay: Layout):
        self.t = t
        self.raw = dict(lay.label_map)
        self.index = {lab: i for i, lab in enumerate(t.labels)}
        self.jsonl = lay.name == "jsonl"  # the generic layout also accepts integer indices
        self.n = t.n_labels
        self.cache: dict = {}

    def __call__(self, raw, where: str, line: int | None = None) -> int | None:
        """Index, or None for "no gold label"; ``where`` (and ``line``) locate errors."""
        key = (raw.__class__, raw) if isinstance(raw, (str, int)) else None
        if key is not None and key in self.cache:
            return self.cache[key]
        out = self._convert(raw, where if line is None else f"{where}:{line}")
        if key is not None:
            self.cache[key] = out
        return out

    def _convert(self, raw, where: str) -> int | None:
        if raw is None or isinstance(raw, bool):
            if raw is None:
                return None
            raise DataError(f"{where}: label {raw!r} is not valid")
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, int) and raw < 0:
            return None
        s = str(raw).strip()
        if s in _NO_LABEL:
            return None
        s = self.raw.get(s, s)
        if self.index:
            if s in self.index:
                return self.index[s]
            if self.jsonl and isinstance(raw, int) and 0 <= raw < len(self.index):
                return raw
        elif self.n is not None and s.lstrip("-").isdigit() and 0 <= int(s) < self.n:
            return int(s)
        accepted = list(self.t.labels) if self.t.labels else f"integers 0..{(self.n or 0) - 1}"
        raise DataError(f"{where}: label {raw!r} is not one of the labels of {self.t.name}: {accepted}")


# --------------------------------------------------------------------------
# reading records


def _open(path: Path):
    return open(path, encoding="utf-8-sig", newline="")


def _csv_reader(fh, f: DataFile, quoted: bool):
    if csv.field_size_limit() < 2**24:  # long contexts (CosmosQA) exceed csv's default 128 KiB
        csv.field_size_limit(2**24)
    if f.format == "csv":
        return csv.reader(fh)
    if quoted:
        return csv.reader(fh, delimiter="\t", quotechar='"')
    return csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)


def _select(f: DataFile, code: str):
    """(kind, value) of a DataFile.select rule."""
    if not f.select:
        return None
    m = re.fullmatch(r"\s*(\w+)\s*==\s*\{lang\}\s*", f.select)
    if m:
        return ("column", m.group(1), code)
    m = re.fullmatch(r"\s*question id starts with '\{lang\}(.*)'\s*", f.select)
    if m:
        return ("id_prefix", None, code + m.group(1))
    raise DataError(f"select={f.select!r} of {f.template} is not understood by the reader")


def _report_bad(path: Path, bad: list[int], good: int, expected: str) -> None:
    if not bad:
        return
    if not good:
        raise DataError(f"{path}: no row has the expected {expected} (first bad line {bad[0]}); "
                        f"is this file in the layout you named?")
    lines = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
    warnings.warn(f"{path}: skipped {len(bad)} rows without the expected {expected} (lines {lines})",
                  DataWarning, stacklevel=4)


def _header_rows(f: DataFile, path: Path, quoted: bool) -> Iterator[tuple[int, dict]]:
    """(line number, column -> value) of a TSV/CSV file; names from the header line if it has one."""
    with _open(path) as fh:
        reader = _csv_reader(fh, f, quoted)
        names = list(f.columns) if not f.header else None
        skip_header = f.header and f.template in _POSITIONAL_HEADER
        if skip_header:
            names = list(f.columns)
        bad: list[int] = []
        good = 0
        for cells in reader:
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if skip_header:
                skip_header = False
                continue
            if names is None:
                names = [c.strip() for c in cells]
                need = [c for c in _needed_columns(f) if c not in names]
                if need:
                    raise DataError(f"{path}: header {names} lacks the columns {need} "
                                    f"(expected the columns {list(f.columns)})")
                continue
            if len(cells) != len(names):
                bad.append(reader.line_num)
                continue
            good += 1
            yield reader.line_num, dict(zip(names, cells))
        _report_bad(path, bad, good, f"{len(names or ())} tab/comma-separated fields")


def _needed_columns(f: DataFile) -> list[str]:
    out = []
    for _, col in f.fields:
        out.extend(c.split(".")[0].replace("[]", "") for c in col.split(","))
    if f.select:
        m = re.fullmatch(r"\s*(\w+)\s*==.*", f.select)
        if m:
            out.append(m.group(1))
    return out


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict]]:
    with _open(path) as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{i}: not a JSON object ({exc.msg})") from None
            if not isinstance(rec, dict):
                raise DataError(f"{path}:{i}: expected a JSON object, got {type(rec).__name__}")
            yield i, rec


def _records(f: DataFile, path: Path, lay: Layout) -> Iterator[tuple[int, dict]]:
    if f.format in ("tsv", "csv"):
        return _header_rows(f, path, quoted=(f.format == "tsv" and lay.name in _CSV_QUOTED_TSV_LAYOUTS))
    if f.format == "jsonl":
        return _jsonl_rows(path)
    raise DataError(f"{path}: format {f.format!r} holds no records")  # pragma: no cover - registry guard


_MISSING = object()


def _get(rec, spec: str, where: str, *, required: bool = True):
    """Value of a field spec: ``col``, ``a.b``, ``a.list[].b``, or ``c1,c2`` (a list)."""
    if "," in spec:
        return [_get(rec, s.strip(), where, required=required) for s in spec.split(",")]
    value = _walk(rec, spec.split("."))
    if value is _MISSING:
        if required:
            raise DataError(f"{where}: no field {spec!r}")
        return None
    return value


def _walk(value, parts: list[str]):
    for k, part in enumerate(parts):
        many = part.endswith("[]")
        key = part[:-2] if many else part
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
        if many:
            if not isinstance(value, list):
                return _MISSING
            rest = parts[k + 1:]
            return [_walk(v, rest) if rest else v for v in value]
    return value


def _own_id(rec: dict):
    for col in _ID_COLUMNS:
        v = rec.get(col)
        if v is not None and str(v).strip() != "":
            return str(v).strip()
    return None


# --------------------------------------------------------------------------
# per-format readers


def _examples(t: Task, split: str, res: _Resolved) -> Iterator[dict]:
    lab = _LabelMap(t, res.layout)
    for f, paths in res.files:
        for path in paths:
            if t.format in ("sentence_pair", "multiple_choice"):
                it = _record_examples(t, f, path, res, lab)
                it = _drop_missing_labels(it) if f.labelled else it
            elif t.format == "tagging":
                it = _tagging_examples(t, f, path, res, lab)
            else:
                it = _qa_examples(t, f, path, res)
            yield from _guarded(it, path)


def _guarded(it: Iterable, path: Path) -> Iterator:
    """Undecodable bytes and broken CSV quoting as DataError naming the file."""
    try:
        yield from it
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: {exc}") from None


def _drop_missing_labels(it: Iterable[dict]) -> Iterator[dict]:
    """Rows without a gold label are dropped, unless no row of the file has one (unlabelled file)."""
    held: list[dict] = []
    seen = False
    for ex in it:
        if ex["label"] < 0:
            if not seen:
                held.append(ex)
            continue
        seen, held = True, []
        yield ex
    if not seen:
        yield from held


def _keep(sel, rec: dict) -> bool:
    if sel is None:
        return True
    kind, col, value = sel
    if kind == "column":
        return str(rec.get(col, "")).strip() == value
    return str(_own_id(rec) or "").startswith(value)


def _record_examples(t: Task, f: DataFile, path: Path, res: _Resolved, lab: _LabelMap) -> Iterator[dict]:
    fm = f.field_map
    sel = _select(f, res.layout.file_code(res.language))
    spath = str(path)
    pair = t.format == "sentence_pair"
    label_key = fm.get("label") if f.labelled else None
    if pair:
        ka, kb = fm["text_a"], fm["text_b"]
        fast = all(_is_column(k) for k in (ka, kb, label_key or "label"))
    for line, rec in _records(f, path, res.layout):
        if sel is not None and not _keep(sel, rec):
            continue
        ex = {"id": _own_id(rec), "language": res.language}
        if pair and fast:  # plain columns: the common case, kept quick for MNLI-sized files
            a, b = rec.get(ka, _MISSING), rec.get(kb, _MISSING)
            if a is _MISSING or b is _MISSING:
                raise DataError(f"{spath}:{line}: no field {ka if a is _MISSING else kb!r}")
            ex["text_a"], ex["text_b"] = _text(a), _text(b)
            label = lab(rec.get(label_key), spath, line) if label_key else None
            ex["label"] = -1 if label is None else label
        elif pair:
            where = f"{spath}:{line}"
            ex["text_a"] = _text(_get(rec, ka, where))
            ex["text_b"] = _text(_get(rec, kb, where))
            label = lab(_get(rec, label_key, where, required=False), spath, line) if label_key else None
            ex["label"] = -1 if label is None else label
        else:
            ex.update(_choice_example(t, fm, rec, f"{spath}:{line}", lab, f.labelled))
        yield ex


def _is_column(spec: str) -> bool:
    return not any(c in spec for c in ".,[")


def _text(value) -> str:
    return "" if value is None else str(value)


def _choice_example(t: Task, fm: dict, rec: dict, where: str, lab: _LabelMap, labelled: bool) -> dict:
    choices = _get(rec, fm["choices"], where)
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise DataError(f"{where}: choices {choices!r} is not a list of strings")
    if t.num_choices is not None and len(choices) != t.num_choices:
        raise DataError(f"{where}: {len(choices)} choices, {t.name} has {t.num_choices}")
    label = None
    if "label" in fm and labelled:
        raw = _get(rec, fm["label"], where, required=False)
        keys = _get(rec, fm["choice_labels"], where, required=False) if "choice_labels" in fm else None
        if isinstance(keys, list) and raw in keys:
            label = keys.index(raw)
        else:
            label = lab(raw, where)
    context = _get(rec, fm["context"], where) if "context" in fm else ""
    if isinstance(context, list):  # several columns (XStoryCloze's four sentences): one text
        context = " ".join(x for x in (_text(c).strip() for c in context) if x)
    return {
        "context": _text(context),
        "question": _text(_get(rec, fm["question"], where)) if "question" in fm else "",
        "choices": choices,
        "label": -1 if label is None else label,
    }


def _tags(t: Task, raw_tags, lab: _LabelMap, where: str) -> list[int]:
    out = []
    for raw in raw_tags:
        i = lab(raw, where)
        if i is None:
            raise DataError(f"{where}: tag {raw!r} is not a tag of {t.name}")
        out.append(i)
    return out


def _tagging_examples(t: Task, f: DataFile, path: Path, res: _Resolved, lab: _LabelMap) -> Iterator[dict]:
    if f.format == "conll":
        prefixed = (t.name, res.layout.name) in _PREFIXED_TOKENS
        sentences = _read_conll(path, labelled=f.labelled, prefixed=prefixed)
    elif f.format == "conllu":
        sentences = _read_conllu(path, res.layout.file_code(res.language))
    elif f.format in ("tsv", "jsonl"):
        yield from _tagging_records(t, f, path, res, lab)
        return
    else:
        raise DataError(f"{path}: format {f.format!r} is not a tagging format")
    for line, tokens, tags in sentences:
        if tags is None or not f.labelled:
            ids = [-1] * len(tokens)
        else:
            ids = _tags(t, tags, lab, f"{path}:{line}")
        yield {"id": None, "language": res.language, "tokens": tokens, "tags": ids}


def _tagging_records(t: Task, f: DataFile, path: Path, res: _Resolved, lab: _LabelMap) -> Iterator[dict]:
    fm = f.field_map
    bad: list[int] = []
    good = 0
    for line, rec in _records(f, path, res.layout):
        where = f"{path}:{line}"
        tokens = _get(rec, fm["tokens"], where)
        tokens = tokens.split(" ") if isinstance(tokens, str) else tokens
        if not isinstance(tokens, list):
            raise DataError(f"{where}: tokens {tokens!r} is not a list")
        raw = _get(rec, fm["tags"], where, required=False) if ("tags" in fm and f.labelled) else None
        if isinstance(raw, str):
            raw = raw.split()
        if raw is None or all(_is_missing(x) for x in raw) or not raw:
            tags = [-1] * len(tokens)
        else:
            if len(raw) != len(tokens):
                if f.format == "jsonl":
                    raise DataError(f"{where}: {len(tokens)} tokens but {len(raw)} tags")
                bad.append(line)  # jiant's CCG files: tags of re-tokenized text, a few sentences differ
                continue
            tags = _tags(t, raw, lab, where)
        good += 1
        yield {"id": _own_id(rec), "language": res.language, "tokens": [str(x) for x in tokens], "tags": tags}
    _report_bad(path, bad, good, "one tag per token")


def _is_missing(x) -> bool:
    return x is None or (isinstance(x, int) and not isinstance(x, bool) and x < 0) or str(x).strip() in _NO_LABEL


def _read_conll(path: Path, *, labelled: bool, prefixed: bool) -> Iterator[tuple[int, list, list | None]]:
    """(first line, tokens, tags or None) per sentence of a token-per-line file.

    ``prefixed``: PAN-X as distributed ("en:token<TAB>tag"), read as XTREME's
    panx_preprocess does: a line without exactly two fields ends the sentence,
    the token is what follows the first ':', a token without ':' is dropped.
    """
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    with _open(path) as fh:
        for i, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            cells = line.split("\t")
            boundary = not line.strip() or line.startswith("-DOCSTART-")
            if prefixed:
                boundary = boundary or len(cells) != 2
            if boundary:
                if tokens:
                    yield start, tokens, (tags if labelled else None)
                tokens, tags = [], []
                continue
            if prefixed:
                k = cells[0].find(":")
                if k < 0:
                    continue
                token = cells[0][k + 1:].strip()
            else:
                token = cells[0]
            if not tokens:
                start = i
            tokens.append(token)
            if labelled:
                if len(cells) < 2 or not cells[-1].strip():
                    raise DataError(f"{path}:{i}: no tag on the line {line!r} (expected token<TAB>tag)")
                tags.append(cells[-1].strip())
    if tokens:
        yield start, tokens, (tags if labelled else None)


def _read_conllu(path: Path, lang: str) -> Iterator[tuple[int, list, list]]:
    """(first line, forms, UPOS tags) per sentence of a CoNLL-U file, as XTREME's UD-POS files.

    XTREME converts UD with ud-conversion-tools' ``conllu_to_conll.py
    --replace_subtokens_with_fused_forms`` and ``utils_preprocess.py
    udpos_preprocess``: comments and empty nodes (``8.1``) are skipped; each
    multiword token (``1-2``) becomes one token, its surface form, tagged with
    the UPOS of its word nearest the root (fewest ancestors over basic and
    enhanced dependencies; ties broken by a per-language POS precedence);
    sentences that are all (or all but one) ``_`` are dropped; U+200C and
    spaces inside tokens are removed.
    """
    block: list[tuple[int, list[str]]] = []
    with _open(path) as fh:
        for i, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if block:
                    out = _conllu_sentence(block, lang, path)
                    if out is not None:
                        yield out
                block = []
                continue
            if line.startswith("#"):
                continue
            cells = line.split("\t")
            if len(cells) != 10:
                raise DataError(f"{path}:{i}: {len(cells)} fields, CoNLL-U has 10")
            block.append((i, cells))
    if block:
        out = _conllu_sentence(block, lang, path)
        if out is not None:
            yield out


def _conllu_sentence(block, lang: str, path: Path):
    words: dict[int, list[str]] = {}
    parents: dict[int, set[int]] = {}
    multi: list[tuple[int, int, str]] = []
    for line, cells in block:
        wid = cells[0]
        if "." in wid:
            continue
        if "-" in wid:
            a, b = wid.split("-", 1)
            try:
                multi.append((int(a), int(b), cells[1]))
            except ValueError:
                raise DataError(f"{path}:{line}: bad multiword id {wid!r}") from None
            continue
        try:
            i = int(wid)
        except ValueError:
            raise DataError(f"{path}:{line}: bad word id {wid!r}") from None
        words[i] = [cells[1], cells[3]]
        heads = {int(cells[6])} if cells[6].isdigit() else set()
        if cells[8] != "_":
            heads |= {int(h) for h in (d.split(":")[0] for d in cells[8].split("|")) if h.isdigit()}
        parents[i] = heads
    if multi:
        prec = _POS_PRECEDENCE.get(lang, _POS_PRECEDENCE["default"])

        def n_ancestors(x: int) -> int:
            seen, todo = set(), [x]
            while todo:
                for p in parents.get(todo.pop(), ()):
                    if p not in seen:
                        seen.add(p)
                        todo.append(p)
            seen.discard(x)
            return len(seen)

        for a, b, form in multi:
            span = [w for w in range(a, b + 1) if w in words]
            if not span:
                continue
            depth = [n_ancestors(w) for w in span]
            top = [w for w, d in zip(span, depth) if d == min(depth)]
            head = top[0]
            if len(top) > 1:
                rank = {w: prec.index(words[w][1]) if words[w][1] in prec else len(prec) for w in top}
                head = min(top, key=lambda w: rank[w])  # first of the best-ranked, as XTREME
            words[head][0] = form
            for w in span:
                if w != head:
                    del words[w]
    forms = [words[i][0] for i in sorted(words)]
    tags = [words[i][1] for i in sorted(words)]
    n_empty = sum(w == "_" for w in forms)
    if not forms or not (n_empty == 0 or n_empty < len(forms) - 1):
        return None
    forms = ["".join(w.replace("\u200c", "").split(" ")) for w in forms]
    return block[0][0], forms, tags


def _qa_examples(t: Task, f: DataFile, path: Path, res: _Resolved) -> Iterator[dict]:
    if f.format == "jsonl":
        fm = f.field_map
        for line, rec in _records(f, path, res.layout):
            where = f"{path}:{line}"
            answers = _get(rec, fm.get("answers", "answers"), where, required=False) or {}
            if isinstance(answers, list):  # SQuAD style list of {text, answer_start}
                answers = {"text": [a["text"] for a in answers], "answer_start": [a["answer_start"] for a in answers]}
            yield _qa_row(rec.get("id"), res.language, _get(rec, fm["context"], where),
                          _get(rec, fm["question"], where), answers if f.labelled else {}, where)
        return
    if f.format != "squad_json":
        raise DataError(f"{path}: format {f.format!r} is not a QA format")
    sel = _select(f, res.layout.file_code(res.language))
    with _open(path) as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DataError(f"{path}: expected SQuAD JSON ({{'data': [{{'paragraphs': [...]}}]}})")
    for a, article in enumerate(data["data"]):
        for p, para in enumerate(article.get("paragraphs", ())):
            for q, qa in enumerate(para.get("qas", ())):
                qid = str(qa.get("id", ""))
                if sel is not None and not qid.startswith(sel[2]):
                    continue
                where = f"{path}: data[{a}].paragraphs[{p}].qas[{q}]"
                answers = {}
                if f.labelled and not qa.get("is_impossible", False):
                    answers = {"text": [x["text"] for x in qa.get("answers", ())],
                               "answer_start": [x["answer_start"] for x in qa.get("answers", ())]}
                yield _qa_row(qid, res.language, para.get("context"), qa.get("question"), answers, where)


def _qa_row(qid, language: str, context, question, answers: dict, where: str) -> dict:
    if not isinstance(context, str) or not isinstance(question, str):
        raise DataError(f"{where}: context and question must be strings")
    text = [str(x) for x in answers.get("text", ())]
    start = [int(x) for x in answers.get("answer_start", ())]
    if len(text) != len(start):
        raise DataError(f"{where}: answers have {len(text)} texts and {len(start)} starts")
    return {"id": str(qid) if qid not in (None, "") else None, "language": language, "context": context,
            "question": question, "answers": {"text": text, "answer_start": start}}


# ---- retrieval files


def _read_sentences(f: DataFile, path: Path, split: str, language: str) -> Iterator[dict]:
    if f.format == "text":
        with _open(path) as fh:
            for i, line in enumerate(fh):
                yield {"id": f"{split}-{language}-{i}", "language": language, "text": line.strip()}
    elif f.format == "id_text":
        with _open(path) as fh:
            for i, line in enumerate(fh, 1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                sid, sep, text = line.partition("\t")
                if not sep:
                    raise DataError(f"{path}:{i}: expected 'id<TAB>sentence', got {line[:60]!r}")
                yield {"id": sid.strip(), "language": language, "text": text.strip()}
    elif f.format == "jsonl":
        fm = f.field_map
        for i, (line, rec) in enumerate(_jsonl_rows(path)):
            where = f"{path}:{line}"
            sid = rec.get(fm.get("id", "id"))
            yield {"id": str(sid) if sid not in (None, "") else f"{split}-{language}-{i}", "language": language,
                   "text": _text(_get(rec, fm.get("text", "text"), where))}
    else:
        raise DataError(f"{path}: format {f.format!r} is not a sentence file")


def _read_pairs(f: DataFile, path: Path) -> Iterator[tuple[str, str]]:
    if f.format == "jsonl":
        fm = f.field_map
        for line, rec in _jsonl_rows(path):
            where = f"{path}:{line}"
            yield str(_get(rec, fm["source"], where)), str(_get(rec, fm["target"], where))
        return
    with _open(path) as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            cells = line.split()
            if len(cells) != 2:
                raise DataError(f"{path}:{i}: expected 'source_id<TAB>target_id', got {line.strip()[:60]!r}")
            yield cells[0], cells[1]
