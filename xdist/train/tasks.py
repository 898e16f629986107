"""The task registry: every target and intermediate task, in one place.

One frozen :class:`Task` per task records what training, evaluation and
analysis need to agree on: the canonical name (the one the results table
uses), the input format, the metrics (primary first) and their direction,
the label list, XTREME's languages, the splits, and where the files lie on
disk in each known distribution (:class:`Layout`), down to the columns of each
TSV and the schema of each JSON file, so that a reader can be written from
the registry alone.

Target tasks are XTREME's nine (Hu et al. 2020) with XTREME's language lists
(``evaluate.py``, ``XTREME_TASK2LANGS``); intermediate tasks are those of
Phang et al. (2020, "English intermediate-task training improves zero-shot
cross-lingual transfer too", X-STILTs).  ``ANLI+`` is a composite of the
``component`` tasks ANLI, MNLI and SNLI.

Layouts
-------
``xtreme``
    What google-research/xtreme's ``scripts/download_data.sh`` and
    ``utils_preprocess.py`` write under ``download/`` (commit ``838c13b``,
    2023-01-04).  XTREME **strips the gold labels of its test splits** (and of
    TyDiQA-GoldP's dev set, which it uses as test; Tatoeba's English side is
    sorted; BUCC's test gold file is deleted): such files have
    ``labelled=False``.  Zero-shot evaluation needs the ``original`` layout
    for those splits.
``original``
    The files as their authors distribute them (paths relative to the
    unpacked archive).
``jiant``
    What jiant 2.x's ``download_data`` writes (Hugging Face ``datasets``
    converted to ``{phase}.jsonl``), for intermediate tasks; CCG as jiant 1.x
    read it.
``jsonl``
    A generic alternative: ``{task}/{split}-{lang}.jsonl`` with the same
    fields for every task of a format (see :data:`JSONL_FIELDS`).

Languages are canonical xdist codes (:func:`xdist.languages.resolve`); file
names that use other codes go through :attr:`Layout.file_codes`.

Examples
--------
>>> from xdist.train.tasks import get_task
>>> xnli = get_task("xnli")
>>> xnli.name, xnli.format, xnli.metrics, len(xnli.languages)
('XNLI', 'sentence_pair', ('accuracy',), 15)
>>> xnli.path("test", "sw", layout="original")
'XNLI-1.0/xnli.test.tsv'
>>> get_task("Tatoeba").path("test", "fa", layout="original", role="source")
'LASER/data/tatoeba/v1/tatoeba.pes-eng.pes'
"""

from __future__ import annotations

import difflib
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = [
    "FORMATS",
    "KINDS",
    "FILE_FORMATS",
    "JSONL_FIELDS",
    "DataFile",
    "Layout",
    "Task",
    "get_task",
    "list_tasks",
    "tasks_table",
    "task_languages",
    "Prompt",
    "PROMPT_FILTERS",
]

#: Input formats of tasks.
FORMATS = ("sentence_pair", "tagging", "extractive_qa", "multiple_choice", "retrieval")
#: Kinds of tasks: evaluated in every language, English intermediate, part of a composite, or
#: evaluated in every language by decoder-LLM prompting only (``xdist lm-eval``; XCOPA, XStoryCloze).
KINDS = ("target", "intermediate", "component", "llm")
#: Formats of data files (see :class:`DataFile`).
FILE_FORMATS = (
    "tsv",  # tab-separated rows, `columns` in file order
    "csv",  # comma-separated with header
    "conll",  # one token per line (`columns` per line), blank line between sentences
    "conllu",  # Universal Dependencies CoNLL-U
    "squad_json",  # SQuAD-format JSON: data -> paragraphs -> qas -> answers
    "json",  # a single JSON object (e.g. a tag -> id map)
    "jsonl",  # one JSON object per line, keys in `columns`
    "text",  # one sentence per line, files line-aligned
    "id_text",  # "id<TAB>sentence" per line (BUCC)
    "id_pairs",  # "source_id<TAB>target_id" per line (BUCC gold)
)

#: Fields of the generic ``jsonl`` layout, per task format (and file role for retrieval).
JSONL_FIELDS = {
    "sentence_pair": ("text_a", "text_b", "label"),
    "tagging": ("tokens", "tags"),
    # answers as in Hugging Face `squad`: {"text": [...], "answer_start": [...]}; empty = unanswerable
    "extractive_qa": ("id", "context", "question", "answers"),
    # label: index into choices
    "multiple_choice": ("id", "context", "question", "choices", "label"),
    "retrieval": ("id", "text"),  # source/target files, row i of Tatoeba files aligned
    "retrieval_gold": ("source", "target"),  # BUCC gold pairs
}

_XTREME_SRC = (
    "google-research/xtreme scripts/download_data.sh + utils_preprocess.py, "
    "commit 838c13b69daafb9328785d16caae2711e4012123"
)


@dataclass(frozen=True)
class DataFile:
    """One kind of file of a layout: which split, where, and how to read it.

    Attributes
    ----------
    split : str
        Split the file belongs to (``"train"``, ``"dev"``, ``"test"``, ...).
    template : str
        Path relative to the data root; ``{lang}`` stands for the layout's
        file code of the language.  With ``glob=True`` a glob pattern.
    format : str
        One of :data:`FILE_FORMATS`.
    columns : tuple of str
        TSV/CSV/CoNLL columns in file order, or the JSON keys used.
    fields : tuple of (str, str)
        Reader role -> column (``("text_a", "sentence1")``).  Roles:
        ``text_a, text_b, label`` (pairs), ``token, tag`` or ``tokens, tags``
        (tagging), ``context, question, choices, label`` (multiple choice),
        ``id, text`` (retrieval).
    header : bool
        Whether TSV/CSV files start with a header line.
    role : str
        What the file holds when a split has several files (``"data"``;
        ``"source"``, ``"target"``, ``"gold"`` for retrieval; ``"r1"`` ...).
    languages : tuple of str or None
        Languages the file exists for; ``None``: all of the task's languages.
    labelled : bool
        ``False`` when this distribution removed the gold labels.
    select : str
        Rows to keep when one file holds several languages (``"language ==
        {lang}"``).
    glob : bool
        ``template`` is a glob pattern matching several files to concatenate.
    """

    split: str
    template: str
    format: str
    columns: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    header: bool = False
    role: str = "data"
    languages: tuple[str, ...] | None = None
    labelled: bool = True
    select: str = ""
    glob: bool = False

    def __post_init__(self):
        if self.format not in FILE_FORMATS:
            raise ValueError(
                f"format={self.format!r} is not valid: expected one of {list(FILE_FORMATS)}"
            )

    @property
    def field_map(self) -> dict[str, str]:
        """Reader role -> column, as a dict."""
        return dict(self.fields)


@dataclass(frozen=True)
class Layout:
    """Where a task's files lie in one distribution, and how to read them.

    Attributes
    ----------
    name : str
        ``"xtreme"``, ``"original"``, ``"jiant"`` or ``"jsonl"``.
    files : tuple of DataFile
    file_codes : tuple of (str, str)
        xdist language code -> the code used in file names (``("fa", "pes")``);
        languages not listed use their xdist code.
    label_map : tuple of (str, str)
        Raw label in the files -> the task's canonical label
        (``("contradictory", "contradiction")``).
    source : str
        The script or archive that produces the layout.
    notes : str
        What a reader must know beyond the columns.
    """

    name: str
    files: tuple[DataFile, ...]
    file_codes: tuple[tuple[str, str], ...] = ()
    label_map: tuple[tuple[str, str], ...] = ()
    source: str = ""
    notes: str = ""

    @property
    def splits(self) -> tuple[str, ...]:
        """Splits the layout has files for, in order of first appearance."""
        return tuple(dict.fromkeys(f.split for f in self.files))

    def files_for(self, split: str) -> tuple[DataFile, ...]:
        """The files of one split (several for retrieval or composites)."""
        out = tuple(f for f in self.files if f.split == split)
        if not out:
            raise ValueError(
                f"split={split!r} is not in layout {self.name!r}: expected one of {list(self.splits)}"
            )
        return out

    def file_code(self, language: str) -> str:
        """The code a language has in this layout's file names."""
        return dict(self.file_codes).get(language, language)


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _strip_period(s: str) -> str:
    s = s.strip()
    return s[:-1] if s and unicodedata.category(s[-1]).startswith("P") else s


#: Filters of prompt placeholders (``{context|strip_period}``).
PROMPT_FILTERS = {
    "strip": str.strip,
    "strip_period": _strip_period,  # strip, then drop one final punctuation mark
    "lower_first": lambda s: s[:1].lower() + s[1:],
    "upper_first": lambda s: s[:1].upper() + s[1:],
}


@dataclass(frozen=True)
class Prompt:
    """How a decoder LLM reads one example: a context and one continuation per choice.

    The model scores each choice by the log-likelihood of
    ``delimiter + continuation`` after ``context`` (lm-evaluation-harness's
    ``doc_to_text``, ``doc_to_choice`` and ``target_delimiter``).

    Attributes
    ----------
    name : str
    context : str
        Template of the context.  ``{field}`` is a field of the canonical
        example (``text_a``, ``text_b``, ``context``, ``question``) or a word
        of the language (:attr:`words`); ``{@field}`` is the word named by the
        example's value of ``field`` (XCOPA's ``cause``/``effect``
        connectors); ``{x|filter}`` applies one of :data:`PROMPT_FILTERS`.
    choices : tuple of str
        One template per label index (sentence pairs), or one template with
        ``{choice}`` applied to each of the example's ``choices`` (multiple
        choice).
    delimiter : str
        Put between context and continuation (``" "``; ``""`` for PAWS-X,
        whose context is empty).
    words : tuple of (str, tuple of (str, str))
        Language -> (name, word) pairs: the per-language connector words.
    source : str
        Where the template comes from.
    notes : str
    """

    name: str
    context: str
    choices: tuple[str, ...]
    delimiter: str = " "
    words: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    source: str = ""
    notes: str = ""

    @property
    def per_choice(self) -> bool:
        """Whether :attr:`choices` is one ``{choice}`` template applied to each option."""
        return len(self.choices) == 1 and any(
            m.group(1).split("|")[0].strip() == "choice" for m in _PLACEHOLDER.finditer(self.choices[0]))

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages :attr:`words` has words for (all languages when the prompt has none)."""
        return tuple(lang for lang, _ in self.words)

    def words_for(self, language: str) -> dict[str, str]:
        """The words of one language; a clear error when the prompt has none for it."""
        if not self.words:
            return {}
        table = dict(self.words)
        if language not in table:
            raise ValueError(f"language={language!r} has no words in prompt {self.name!r}: "
                             f"expected one of {list(table)}")
        return dict(table[language])

    def render(self, example, language: str) -> tuple[str, list[str]]:
        """``(context, continuations)`` of one canonical example in ``language``.

        Continuations do not include :attr:`delimiter`.

        Examples
        --------
        >>> from xdist.train.tasks import get_task
        >>> p = get_task("XNLI").prompt()
        >>> p.render({"text_a": "Er schläft", "text_b": "Er ist wach"}, "de")
        ('Er schläft, richtig?', ['Nein, Er ist wach', 'Ja, Er ist wach', 'Auch, Er ist wach'])
        """
        words = self.words_for(language)
        context = self._fill(self.context, example, words)
        if self.per_choice:
            options = example.get("choices")
            if not options:
                raise ValueError(f"prompt {self.name!r} needs the example's 'choices', got {options!r}")
            conts = [self._fill(self.choices[0], {**example, "choice": c}, words) for c in options]
        else:
            conts = [self._fill(c, example, words) for c in self.choices]
        return context, conts

    def _fill(self, template: str, example, words: dict[str, str]) -> str:
        def one(m: re.Match) -> str:
            spec, *filters = [x.strip() for x in m.group(1).split("|")]
            if spec.startswith("@"):
                key = str(example.get(spec[1:], ""))
                if key not in words:
                    raise ValueError(f"prompt {self.name!r}: {spec[1:]}={key!r} has no word: "
                                     f"expected one of {sorted(words)}")
                value = words[key]
            elif spec in example:
                value = "" if example[spec] is None else str(example[spec])
            elif spec in words:
                value = words[spec]
            else:
                raise ValueError(f"prompt {self.name!r}: placeholder {{{spec}}} is neither a field of "
                                 f"the example ({sorted(example)}) nor a word ({sorted(words)})")
            for f in filters:
                if f not in PROMPT_FILTERS:
                    raise ValueError(f"prompt {self.name!r}: filter {f!r} is not known: expected one of "
                                     f"{list(PROMPT_FILTERS)}")
                value = PROMPT_FILTERS[f](value)
            return value

        return _PLACEHOLDER.sub(one, template)


def _words(table: dict[str, dict[str, str]]) -> tuple:
    return tuple((lang, tuple(w.items())) for lang, w in table.items())


@dataclass(frozen=True)
class Task:
    """A task of the registry.

    Attributes
    ----------
    name : str
        Canonical name, as in the results table (``"PAN-X"``).
    kind : str
        ``"target"`` (evaluated in every language), ``"intermediate"``
        (English intermediate task) or ``"component"`` (part of a composite).
    format : str
        One of :data:`FORMATS`.
    metrics : tuple of str
        Metric names, primary first (``("f1", "em")``); keys of
        :func:`xdist.train.metrics.score`.
    higher_is_better : bool
    labels : tuple of str
        Label list in the order XTREME / jiant index it (empty for span QA
        and retrieval; choice indices for multiple choice).
    languages : tuple of str
        Evaluation languages (XTREME's list for target tasks), canonical xdist codes.
    splits : tuple of str
    layouts : tuple of Layout
        Known on-disk layouts; the first is the default.
    schema : str
        What a reader parses (``"squad_v1.1"``, ``"conll_bio"``, ...).
    aliases : tuple of str
        Other accepted names (case-insensitive).
    xtreme_name : str or None
        XTREME's identifier (``"panx"``).
    train_language : str
        Language of the training data in the zero-shot setting.
    train_task : str or None
        Task whose ``train`` split trains this one when it has none of its own
        in XTREME's zero-shot setting (XQuAD, MLQA, TyDiQA-GoldP: SQuAD v1.1).
    eval_split : str
        The split XTREME reports.
    label_count : int or None
        Number of labels where the list is not spelled out (CCG: 1363).
    num_choices : int or None
        Answer options per example (multiple choice).
    components : tuple of (str, tuple of str)
        For composites: split -> component tasks whose files make it up.
    reference : str
        Dataset paper and download location.
    notes : str
    prompts : tuple of Prompt
        Prompt templates for scoring with a decoder LLM (``xdist lm-eval``),
        the default first; empty for tasks no prompt is written for.
    """

    name: str
    kind: str
    format: str
    metrics: tuple[str, ...]
    higher_is_better: bool
    labels: tuple[str, ...]
    languages: tuple[str, ...]
    splits: tuple[str, ...]
    layouts: tuple[Layout, ...]
    schema: str
    aliases: tuple[str, ...] = ()
    xtreme_name: str | None = None
    train_language: str = "en"
    train_task: str | None = None
    eval_split: str = "test"
    label_count: int | None = None
    num_choices: int | None = None
    components: tuple[tuple[str, tuple[str, ...]], ...] = ()
    reference: str = ""
    notes: str = ""
    prompts: tuple[Prompt, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} is not valid: expected one of {list(KINDS)}")
        if self.format not in FORMATS:
            raise ValueError(f"format={self.format!r} is not valid: expected one of {list(FORMATS)}")
        if not self.metrics:
            raise ValueError(f"task {self.name!r} needs at least one metric")

    def prompt(self, name: str | None = None) -> Prompt:
        """The prompt template called ``name`` (default: the first).

        Examples
        --------
        >>> from xdist.train.tasks import get_task
        >>> get_task("XCOPA").prompt().name
        'harness'
        """
        if not self.prompts:
            with_prompts = [n for n, t in _REGISTRY.items() if t.prompts]
            raise ValueError(f"task {self.name!r} has no prompt template for decoder-LLM scoring: "
                             f"tasks with prompts are {with_prompts}")
        if name is None:
            return self.prompts[0]
        for p in self.prompts:
            if p.name == name:
                return p
        raise ValueError(f"prompt={name!r} is not known for task {self.name!r}: expected one of "
                         f"{[p.name for p in self.prompts]}")

    @property
    def primary_metric(self) -> str:
        """The metric reported first (``metrics[0]``)."""
        return self.metrics[0]

    @property
    def n_labels(self) -> int | None:
        """Number of labels (``None`` for span QA and retrieval)."""
        if self.labels:
            return len(self.labels)
        return self.label_count

    @property
    def layout_names(self) -> tuple[str, ...]:
        return tuple(lay.name for lay in self.layouts)

    def layout(self, name: str | None = None) -> Layout:
        """The layout called ``name`` (default: the first, XTREME's for target tasks).

        Examples
        --------
        >>> from xdist.train.tasks import get_task
        >>> get_task("MLQA").layout().name
        'xtreme'
        """
        if not self.layouts:
            raise ValueError(
                f"task {self.name!r} has no files of its own: it is made of "
                f"{sorted({c for _, cs in self.components for c in cs})}; use paths()"
            )
        if name is None:
            return self.layouts[0]
        for lay in self.layouts:
            if lay.name == name:
                return lay
        raise ValueError(
            f"layout={name!r} is not known for task {self.name!r}: expected one of "
            f"{list(self.layout_names)}"
        )

    def _language(self, language: str | None, files: Iterable[DataFile]) -> str:
        files = list(files)
        needs_lang = any("{lang}" in f.template or f.select for f in files)
        restricted = [f.languages for f in files if f.languages is not None]
        if language is None:
            if restricted and len(restricted[0]) == 1:
                return restricted[0][0]
            if len(self.languages) == 1:
                return self.languages[0]
            if not needs_lang:
                return self.train_language
            raise ValueError(
                f"task {self.name!r} split {files[0].split!r} has one file per language: "
                f"pass language= (one of {list(self.languages)})"
            )
        from xdist.languages import UnknownLanguageError, resolve

        try:
            code = resolve(language, param="language")
        except UnknownLanguageError:
            code = language
        allowed = restricted[0] if restricted else self.languages
        if code not in allowed:
            raise ValueError(
                f"language={language!r} is not available for task {self.name!r} split "
                f"{files[0].split!r}: expected one of {list(allowed)}"
            )
        return code

    def paths(
        self,
        split: str,
        language: str | None = None,
        *,
        layout: str | None = None,
        root: str | os.PathLike | None = None,
    ) -> dict[str, str | Path]:
        """Role -> path of the files of one split and language.

        Parameters
        ----------
        split : str
            One of :attr:`splits`.
        language : str, optional
            Needed where files are per language; defaults to the only
            language a file exists for (``train-en``).
        layout : str, optional
            Layout name; default the task's first layout.  For composites
            each component's layout of that name (or its first).
        root : path, optional
            Data root to prefix; without it paths are relative strings.

        Returns
        -------
        dict
            ``{"data": path}`` for most tasks; ``{"source", "target",
            "gold"}`` for BUCC; ``{"r1", "r2", "r3"}`` for ANLI; for
            composites the component name prefixes the role
            (``"MNLI/data"``).  Glob patterns are returned as such.

        Examples
        --------
        >>> from xdist.train.tasks import get_task
        >>> get_task("BUCC").paths("dev", "de")
        {'source': 'bucc2018/de-en.dev.de', 'target': 'bucc2018/de-en.dev.en', 'gold': 'bucc2018/de-en.dev.gold'}
        >>> sorted(get_task("ANLI+").paths("train"))
        ['ANLI/r1', 'ANLI/r2', 'ANLI/r3', 'MNLI/data', 'SNLI/data']
        """
        if split not in self.splits:
            raise ValueError(
                f"split={split!r} is not a split of task {self.name!r}: expected one of {list(self.splits)}"
            )
        if self.components:
            parts = dict(self.components).get(split, ())
            out: dict[str, str | Path] = {}
            for comp in parts:
                ct = get_task(comp)
                lay = layout if layout in ct.layout_names else None
                for role, p in ct.paths(split, language, layout=lay, root=root).items():
                    out[f"{ct.name}/{role}"] = p
            return out
        lay = self.layout(layout)
        files = lay.files_for(split)
        lang = self._language(language, files)
        code = lay.file_code(lang)
        out = {}
        for f in files:
            rel = f.template.replace("{lang}", code)
            out[f.role] = Path(root) / rel if root is not None else rel
        return out

    def path(
        self,
        split: str,
        language: str | None = None,
        *,
        layout: str | None = None,
        role: str = "data",
        root: str | os.PathLike | None = None,
    ) -> str | Path:
        """Path of one file (see :meth:`paths`); ``role`` picks among several.

        Examples
        --------
        >>> from xdist.train.tasks import get_task
        >>> get_task("XNLI").path("train")
        'xnli/train-en.tsv'
        >>> get_task("TyDiQA-GoldP").path("test", "sw", layout="original")
        'tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-swahili.json'
        """
        got = self.paths(split, language, layout=layout, root=root)
        if role not in got:
            raise ValueError(
                f"role={role!r} is not a file of task {self.name!r} split {split!r}: "
                f"expected one of {list(got)}"
            )
        return got[role]

    def data_file(self, split: str, *, layout: str | None = None, role: str = "data") -> DataFile:
        """The :class:`DataFile` record (columns, fields, header...) of one file."""
        for f in self.layout(layout).files_for(split):
            if f.role == role:
                return f
        roles = [f.role for f in self.layout(layout).files_for(split)]
        raise ValueError(
            f"role={role!r} is not a file of task {self.name!r} split {split!r}: expected one of {roles}"
        )


# --------------------------------------------------------------------------
# helpers to write the registry compactly


def _f(split, template, fmt, columns=(), fields=(), **kw) -> DataFile:
    return DataFile(split, template, fmt, tuple(columns), tuple(fields), **kw)


def _jsonl_layout(slug: str, fmt: str, splits: Iterable[str], *, gold: bool = False) -> Layout:
    files = []
    for sp in splits:
        if fmt == "retrieval":
            cols = JSONL_FIELDS["retrieval"]
            fl = (("id", "id"), ("text", "text"))
            files.append(_f(sp, f"{slug}/{sp}-{{lang}}.source.jsonl", "jsonl", cols, fl, role="source"))
            files.append(_f(sp, f"{slug}/{sp}-{{lang}}.target.jsonl", "jsonl", cols, fl, role="target"))
            if gold:
                g = JSONL_FIELDS["retrieval_gold"]
                files.append(
                    _f(sp, f"{slug}/{sp}-{{lang}}.gold.jsonl", "jsonl", g, tuple(zip(g, g)), role="gold")
                )
        else:
            cols = JSONL_FIELDS[fmt]
            files.append(_f(sp, f"{slug}/{sp}-{{lang}}.jsonl", "jsonl", cols, tuple(zip(cols, cols))))
    return Layout(
        "jsonl",
        tuple(files),
        source="xdist generic layout (docs/tasks.md)",
        notes="One JSON object per line with the fields of xdist.train.tasks.JSONL_FIELDS[format].",
    )


_PAIR = (("text_a", "sentence1"), ("text_b", "sentence2"), ("label", "label"))
_CONLL = (("token", "token"), ("tag", "tag"))
_NLI_LABELS = ("contradiction", "entailment", "neutral")
_UPOS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
    "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
)  # fmt: skip
_PANX_TAGS = ("B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER", "O")


def _langs(s: str) -> tuple[str, ...]:
    return tuple(s.split(","))


# XTREME's evaluate.py, XTREME_TASK2LANGS (XTREME, not XTREME-R), in its order.
_L = {
    "xnli": _langs("ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh"),
    "pawsx": _langs("de,en,es,fr,ja,ko,zh"),
    "panx": _langs(
        "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,"
        "it,pt,es,bg,ru,ja,ka,ko,th,sw,yo,my,zh,kk,tr,et,fi,hu"
    ),
    "udpos": _langs(
        "af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,"
        "nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,zh"
    ),
    "bucc2018": _langs("de,fr,ru,zh"),
    "tatoeba": _langs(
        "ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,"
        "pt,es,bg,ru,ja,ka,ko,th,sw,zh,kk,tr,et,fi,hu"
    ),
    "xquad": _langs("en,es,de,el,ru,tr,ar,vi,th,zh,hi"),
    "mlqa": _langs("en,es,de,ar,hi,vi,zh"),
    "tydiqa": _langs("en,ar,bn,fi,id,ko,ru,sw,te"),
}

# LASER Tatoeba file codes (XTREME utils_preprocess.py, tatoeba_preprocess).
_TATOEBA_CODES = {
    "af": "afr", "ar": "ara", "bg": "bul", "bn": "ben", "de": "deu", "el": "ell",
    "es": "spa", "et": "est", "eu": "eus", "fa": "pes", "fi": "fin", "fr": "fra",
    "he": "heb", "hi": "hin", "hu": "hun", "id": "ind", "it": "ita", "ja": "jpn",
    "jv": "jav", "ka": "kat", "kk": "kaz", "ko": "kor", "ml": "mal", "mr": "mar",
    "nl": "nld", "pt": "por", "ru": "rus", "sw": "swh", "ta": "tam", "te": "tel",
    "th": "tha", "tl": "tgl", "tr": "tur", "ur": "urd", "vi": "vie", "zh": "cmn",
}  # fmt: skip

# TyDiQA file names use English language names (XTREME tydiqa_preprocess LANG2ISO).
_TYDIQA_NAMES = {
    "ar": "arabic", "bn": "bengali", "en": "english", "fi": "finnish", "id": "indonesian",
    "ko": "korean", "ru": "russian", "sw": "swahili", "te": "telugu",
}  # fmt: skip

_XNLI_DEV_COLUMNS = (
    "language", "gold_label", "sentence1_binary_parse", "sentence2_binary_parse",
    "sentence1_parse", "sentence2_parse", "sentence1", "sentence2", "promptID", "pairID",
    "genre", "label1", "label2", "label3", "label4", "label5", "sentence1_tokenized",
    "sentence2_tokenized", "match",
)  # fmt: skip
_MNLI_BASE = (
    "index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
    "sentence1_parse", "sentence2_parse", "sentence1", "sentence2",
)  # fmt: skip
_SQUAD_V1 = "squad_v1.1"

_TSV_QUOTES = (
    "Written by Python's csv.writer(delimiter='\\t'), which quotes fields containing '\"' "
    "(doubling inner quotes); XTREME reads them back with transformers' DataProcessor "
    "(quotechar=None), i.e. keeps those quotes in the text. Read with csv (quotechar '\"') "
    "to recover the original sentences."
)


def _xnli() -> Task:
    xtreme = Layout(
        "xtreme",
        (
            _f("train", "xnli/train-en.tsv", "tsv", ("sentence1", "sentence2", "label"), _PAIR, languages=("en",)),
            _f("dev", "xnli/dev-{lang}.tsv", "tsv", ("sentence1", "sentence2", "label"), _PAIR),
            _f("test", "xnli/test-{lang}.tsv", "tsv", ("sentence1", "sentence2"), _PAIR[:2], labelled=False),
        ),
        source=_XTREME_SRC + " (download_xnli, xnli_preprocess)",
        notes="train-en.tsv is MultiNLI train (XNLI-MT-1.0/multinli/multinli.train.en.tsv) with "
        "'contradictory' renamed 'contradiction'. " + _TSV_QUOTES,
    )
    orig_fields = (("text_a", "sentence1"), ("text_b", "sentence2"), ("label", "gold_label"))
    original = Layout(
        "original",
        (
            _f("train", "XNLI-MT-1.0/multinli/multinli.train.{lang}.tsv", "tsv", ("premise", "hypo", "label"),
               (("text_a", "premise"), ("text_b", "hypo"), ("label", "label")), header=True),
            _f("dev", "XNLI-1.0/xnli.dev.tsv", "tsv", _XNLI_DEV_COLUMNS, orig_fields, header=True,
               select="language == {lang}"),
            _f("test", "XNLI-1.0/xnli.test.tsv", "tsv", _XNLI_DEV_COLUMNS, orig_fields, header=True,
               select="language == {lang}"),
        ),
        label_map=(("contradictory", "contradiction"),),
        source="https://dl.fbaipublicfiles.com/XNLI/XNLI-1.0.zip and XNLI-MT-1.0.zip (Conneau et al. 2018)",
        notes="dev/test hold all 15 languages in one file: keep rows whose 'language' column is the "
        "code. multinli.train.{lang}.tsv is machine-translated MultiNLI (English: the original); "
        "quote characters there are text, not CSV quoting: read with csv.QUOTE_NONE.",
    )
    return Task(
        "XNLI", "target", "sentence_pair", ("accuracy",), True, _NLI_LABELS, _L["xnli"],
        ("train", "dev", "test"), (xtreme, original, _jsonl_layout("xnli", "sentence_pair", ("train", "dev", "test"))),
        schema="nli_pair", aliases=("xnli",), xtreme_name="xnli",
        reference="Conneau et al. 2018, XNLI: Evaluating Cross-lingual Sentence Representations",
        notes="Training data in the zero-shot setting: MultiNLI train (English).",
    )


def _pawsx() -> Task:
    cols = ("sentence1", "sentence2", "label")
    xtreme = Layout(
        "xtreme",
        (
            _f("train", "pawsx/train-en.tsv", "tsv", cols, _PAIR, languages=("en",)),
            _f("dev", "pawsx/dev-{lang}.tsv", "tsv", cols, _PAIR),
            _f("test", "pawsx/test-{lang}.tsv", "tsv", cols[:2], _PAIR[:2], labelled=False),
        ),
        source=_XTREME_SRC + " (download_pawsx, pawsx_preprocess)",
        notes="The header line of the original files is dropped. " + _TSV_QUOTES,
    )
    ocols = ("id", "sentence1", "sentence2", "label")
    original = Layout(
        "original",
        (
            _f("train", "x-final/{lang}/train.tsv", "tsv", ocols, _PAIR, header=True, languages=("en",)),
            _f("dev", "x-final/{lang}/dev_2k.tsv", "tsv", ocols, _PAIR, header=True),
            _f("test", "x-final/{lang}/test_2k.tsv", "tsv", ocols, _PAIR, header=True),
        ),
        source="https://storage.googleapis.com/paws/pawsx/x-final.tar.gz (Yang et al. 2019)",
        notes="Non-English directories also hold translated_train.tsv (machine-translated train).",
    )
    return Task(
        "PAWS-X", "target", "sentence_pair", ("accuracy",), True, ("0", "1"), _L["pawsx"],
        ("train", "dev", "test"), (xtreme, original, _jsonl_layout("pawsx", "sentence_pair", ("train", "dev", "test"))),
        schema="paraphrase_pair", aliases=("pawsx", "paws-x", "paws_x"), xtreme_name="pawsx",
        reference="Yang et al. 2019, PAWS-X: A Cross-lingual Adversarial Dataset for Paraphrase Identification",
        notes="Label 1: paraphrase.",
    )


def _udpos() -> Task:
    xtreme = Layout(
        "xtreme",
        (
            _f("train", "udpos/train-{lang}.tsv", "conll", ("token", "tag"), _CONLL),
            _f("dev", "udpos/dev-{lang}.tsv", "conll", ("token", "tag"), _CONLL),
            _f("test", "udpos/test-{lang}.tsv", "conll", ("token",), _CONLL[:1], labelled=False),
        ),
        source=_XTREME_SRC + " (download_udpos, udpos_preprocess)",
        notes="UD v2.5; all treebanks of a language concatenated (file names sorted); multiword "
        "tokens replaced by their fused surface forms (ud-conversion-tools conllu_to_conll.py "
        "--replace_subtokens_with_fused_forms); U+200C removed; sentences made of '_' tokens "
        "dropped. Languages with test-only treebanks (e.g. th, tl, yo) have no train/dev file.",
    )
    original = Layout(
        "original",
        tuple(
            _f(sp, f"ud-treebanks-v2.5/UD_*/{{lang}}_*-ud-{sp}.conllu", "conllu",
               ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC"),
               (("token", "FORM"), ("tag", "UPOS")), glob=True)
            for sp in ("train", "dev", "test")
        ),
        source="https://lindat.mff.cuni.cz/repository/xmlui/handle/11234/1-3105 (UD v2.5)",
        notes="Concatenate every treebank of the language (XTREME does); skip multiword-token "
        "ranges ('1-2') and empty nodes ('1.1').",
    )
    return Task(
        "UD-POS", "target", "tagging", ("f1", "accuracy"), True, _UPOS, _L["udpos"],
        ("train", "dev", "test"), (xtreme, original, _jsonl_layout("udpos", "tagging", ("train", "dev", "test"))),
        schema="conll_upos", aliases=("udpos", "ud-pos", "pos", "ud_pos"), xtreme_name="udpos",
        reference="Nivre et al. 2018, Universal Dependencies v2.5",
        notes="XTREME reports seqeval's chunk F1 over UPOS tags (xdist.train.metrics.seqeval_f1), "
        "not token accuracy; many later papers report accuracy.",
    )


def _panx() -> Task:
    xtreme = Layout(
        "xtreme",
        (
            _f("train", "panx/train-{lang}.tsv", "conll", ("token", "tag"), _CONLL),
            _f("dev", "panx/dev-{lang}.tsv", "conll", ("token", "tag"), _CONLL),
            _f("test", "panx/test-{lang}.tsv", "conll", ("token",), _CONLL[:1], labelled=False),
        ),
        source=_XTREME_SRC + " (download_panx, panx_preprocess)",
        notes="AmazonPhotos.zip must be downloaded by hand (download_data.sh prints the link). "
        "The '{lang}:' prefix of each token is removed.",
    )
    original = Layout(
        "original",
        tuple(
            _f(sp, f"panx_dataset/{{lang}}-{sp}", "conll", ("token", "tag"), _CONLL)
            for sp in ("train", "dev", "test")
        ),
        source="AmazonPhotos.zip -> {lang}.tar.gz -> members train/dev/test (Rahimi et al. 2019 "
        "splits of Pan et al. 2017), named {lang}-{split} by XTREME's download_panx",
        notes="Tokens are prefixed '{lang}:' (strip up to the first ':'). Also on the Hugging Face "
        "Hub as 'wikiann'.",
    )
    return Task(
        "PAN-X", "target", "tagging", ("f1",), True, _PANX_TAGS, _L["panx"],
        ("train", "dev", "test"), (xtreme, original, _jsonl_layout("panx", "tagging", ("train", "dev", "test"))),
        schema="conll_bio", aliases=("WikiAnn-NER", "wikiann", "panx", "pan-x", "wikiann_ner", "ner"),
        xtreme_name="panx",
        reference="Pan et al. 2017, Cross-lingual Name Tagging and Linking for 282 Languages; "
        "Rahimi et al. 2019 splits",
        notes="Entity-level F1 (seqeval) over BIO tags LOC/ORG/PER.",
    )


def _qa_task(name, xtreme_name, languages, splits, xtreme_files, orig_files, *, aliases, reference,
             notes, schema=_SQUAD_V1, file_codes=(), orig_source="", xtreme_notes="") -> Task:
    xtreme = Layout("xtreme", tuple(xtreme_files), source=_XTREME_SRC, notes=xtreme_notes)
    original = Layout("original", tuple(orig_files), file_codes=tuple(file_codes), source=orig_source)
    return Task(
        name, "target", "extractive_qa", ("f1", "em"), True, (), languages, splits,
        (xtreme, original, _jsonl_layout(xtreme_name, "extractive_qa", splits)),
        schema=schema, aliases=aliases, xtreme_name=xtreme_name, train_task="SQuAD-v1.1",
        reference=reference, notes=notes,
    )


def _xquad() -> Task:
    return _qa_task(
        "XQuAD", "xquad", _L["xquad"], ("test",),
        [_f("test", "xquad/xquad.{lang}.json", "squad_json", labelled=False)],
        [_f("test", "xquad.{lang}.json", "squad_json")],
        aliases=("xquad",),
        reference="Artetxe et al. 2020, On the Cross-lingual Transferability of Monolingual "
        "Representations; https://github.com/deepmind/xquad",
        notes="Scored with the SQuAD v1.1 script in every language (XTREME). Training data: "
        "SQuAD v1.1 train.",
        orig_source="https://raw.githubusercontent.com/deepmind/xquad/master/xquad.{lang}.json",
        xtreme_notes="xquad_preprocess replaces every answer list by [{'answer_start': 0, 'text': ''}].",
    )


def _mlqa() -> Task:
    return _qa_task(
        "MLQA", "mlqa", _L["mlqa"], ("dev", "test"),
        [
            _f("dev", "mlqa/MLQA_V1/dev/dev-context-{lang}-question-{lang}.json", "squad_json"),
            _f("test", "mlqa/MLQA_V1/test/test-context-{lang}-question-{lang}.json", "squad_json", labelled=False),
        ],
        [
            _f("dev", "MLQA_V1/dev/dev-context-{lang}-question-{lang}.json", "squad_json"),
            _f("test", "MLQA_V1/test/test-context-{lang}-question-{lang}.json", "squad_json"),
        ],
        aliases=("mlqa",), schema="mlqa_v1.0",
        reference="Lewis et al. 2020, MLQA: Evaluating Cross-lingual Extractive Question Answering; "
        "https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip",
        notes="Scored with MLQA's script, whose normalisation depends on the context language "
        "(xdist.train.metrics.mlqa). XTREME uses the same-language pairs only. Training data: "
        "SQuAD v1.1 train.",
        orig_source="https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip",
        xtreme_notes="mlqa_preprocess strips the answers of the test files in place; dev keeps them.",
    )


def _tydiqa() -> Task:
    return _qa_task(
        "TyDiQA-GoldP", "tydiqa", _L["tydiqa"], ("train", "test"),
        [
            _f("train", "tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.{lang}.train.json", "squad_json"),
            _f("test", "tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.{lang}.dev.json", "squad_json", labelled=False),
        ],
        [
            _f("train", "tydiqa-goldp-v1.1-train.json", "squad_json", select="question id starts with '{lang}-'"),
            _f("test", "tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-{lang}.json", "squad_json"),
        ],
        aliases=("tydiqa", "tydiqa-goldp", "tydi qa", "tydiqa_goldp"),
        file_codes=tuple(_TYDIQA_NAMES.items()),
        reference="Clark et al. 2020, TyDi QA; https://storage.googleapis.com/tydiqa/v1.1/",
        notes="XTREME's test split is the GoldP dev set. Scored with the SQuAD v1.1 script "
        "(XTREME). Training data in the zero-shot setting: SQuAD v1.1 train (the TyDiQA train "
        "files serve in-language experiments).",
        orig_source="https://storage.googleapis.com/tydiqa/v1.1/tydiqa-goldp-v1.1-{train.json,dev.tgz}",
        xtreme_notes="tydiqa_preprocess splits train by language (question ids lose their "
        "language prefix), renames dev files to ISO codes and strips their answers.",
    )


def _bucc() -> Task:
    def bfiles(split, stem, gold, prefix):
        out = [
            _f(split, f"{prefix}{{lang}}-en.{stem}.{{lang}}", "id_text", ("id", "text"),
               (("id", "id"), ("text", "text")), role="source"),
            _f(split, f"{prefix}{{lang}}-en.{stem}.en", "id_text", ("id", "text"),
               (("id", "id"), ("text", "text")), role="target"),
        ]
        if gold:
            out.append(_f(split, f"{prefix}{{lang}}-en.{stem}.gold", "id_pairs", ("source", "target"),
                          (("source", "source"), ("target", "target")), role="gold"))
        return out

    xtreme = Layout(
        "xtreme",
        tuple(bfiles("dev", "dev", True, "bucc2018/") + bfiles("test", "test", False, "bucc2018/")),
        source=_XTREME_SRC + " (download_bucc18)",
        notes="XTREME's test split is BUCC 2018's *training* set with its gold file deleted; dev is "
        "BUCC's sample set.",
    )
    original = Layout(
        "original",
        tuple(bfiles("dev", "sample", True, "bucc2018/{lang}-en/")
              + bfiles("test", "training", True, "bucc2018/{lang}-en/")),
        source="https://comparable.limsi.fr/bucc2018/bucc2018-{lang}-en.{training,sample}-gold.tar.bz2 "
        "(Zweigenbaum et al. 2018)",
        notes="Split names follow XTREME: test = BUCC 'training', dev = BUCC 'sample'. BUCC's own "
        "test set (gold not public) is not registered.",
    )
    return Task(
        "BUCC", "target", "retrieval", ("f1",), True, (), _L["bucc2018"], ("dev", "test"),
        (xtreme, original, _jsonl_layout("bucc2018", "retrieval", ("dev", "test"), gold=True)),
        schema="bucc2018", aliases=("bucc2018", "bucc 2018", "bucc-2018"), xtreme_name="bucc2018",
        train_task=None,
        reference="Zweigenbaum et al. 2018, Overview of the Third BUCC Shared Task",
        notes="Bitext mining from {lang} into English; F1 against the gold pairs with the threshold "
        "tuned on those gold pairs (xdist.train.metrics.bucc_f1). No training data.",
    )


def _tatoeba() -> Task:
    fl = (("text", "text"),)
    xtreme = Layout(
        "xtreme",
        (
            _f("test", "tatoeba/{lang}-en.{lang}", "text", ("text",), fl, role="source"),
            _f("test", "tatoeba/{lang}-en.en", "text", ("text",), fl, role="target", labelled=False),
        ),
        source=_XTREME_SRC + " (download_tatoeba, tatoeba_preprocess)",
        notes="The English side is sorted alphabetically, which hides the alignment (the gold).",
    )
    original = Layout(
        "original",
        (
            _f("test", "LASER/data/tatoeba/v1/tatoeba.{lang}-eng.{lang}", "text", ("text",), fl, role="source"),
            _f("test", "LASER/data/tatoeba/v1/tatoeba.{lang}-eng.eng", "text", ("text",), fl, role="target"),
        ),
        file_codes=tuple(_TATOEBA_CODES.items()),
        source="https://github.com/facebookresearch/LASER data/tatoeba/v1 (Artetxe & Schwenk 2019)",
        notes="Line i of the two files are translations of each other (1,000 pairs per language).",
    )
    return Task(
        "Tatoeba", "target", "retrieval", ("accuracy",), True, (), _L["tatoeba"], ("test",),
        (xtreme, original, _jsonl_layout("tatoeba", "retrieval", ("test",))),
        schema="aligned_lines", aliases=("tatoeba",), xtreme_name="tatoeba", train_task=None,
        reference="Artetxe & Schwenk 2019, Massively Multilingual Sentence Embeddings for "
        "Zero-Shot Cross-Lingual Transfer and Beyond",
        notes="Nearest-neighbour retrieval by cosine similarity (xdist.train.metrics."
        "tatoeba_accuracy). English is not an evaluation language. No training data.",
    )


# ---- intermediate tasks -----------------------------------------------------


def _mnli() -> Task:
    f = (("text_a", "sentence1"), ("text_b", "sentence2"), ("label", "gold_label"))
    dev_cols = _MNLI_BASE + ("label1", "label2", "label3", "label4", "label5", "gold_label")
    original = Layout(
        "original",
        (
            _f("train", "MNLI/train.tsv", "tsv", _MNLI_BASE + ("label1", "gold_label"), f, header=True),
            _f("dev", "MNLI/dev_matched.tsv", "tsv", dev_cols, f, header=True),
            _f("dev_mismatched", "MNLI/dev_mismatched.tsv", "tsv", dev_cols, f, header=True),
            _f("test", "MNLI/test_matched.tsv", "tsv", _MNLI_BASE, f[:2], header=True, labelled=False),
        ),
        source="GLUE: https://dl.fbaipublicfiles.com/glue/data/MNLI.zip (Williams et al. 2018)",
        notes="Read columns by header name with csv.QUOTE_NONE (the text contains quotes).",
    )
    jf = (("text_a", "premise"), ("text_b", "hypothesis"), ("label", "label"))
    jcols = ("premise", "hypothesis", "label", "idx")
    jiant = Layout(
        "jiant",
        (
            _f("train", "mnli/train.jsonl", "jsonl", jcols, jf),
            _f("dev", "mnli/val.jsonl", "jsonl", jcols, jf),
            _f("dev_mismatched", "mnli_mismatched/val.jsonl", "jsonl", jcols, jf),
            _f("test", "mnli/test.jsonl", "jsonl", jcols, jf, labelled=False),
        ),
        source="jiant 2.x download_data (Hugging Face glue/mnli; labels mapped to strings)",
    )
    return Task(
        "MNLI", "intermediate", "sentence_pair", ("accuracy",), True, _NLI_LABELS, ("en",),
        ("train", "dev", "dev_mismatched", "test"),
        (original, jiant, _jsonl_layout("mnli", "sentence_pair", ("train", "dev", "dev_mismatched", "test"))),
        schema="nli_pair", aliases=("mnli", "multinli", "multi-nli"), eval_split="dev",
        reference="Williams et al. 2018, A Broad-Coverage Challenge Corpus for Sentence "
        "Understanding through Inference",
        notes="dev = matched.",
    )


def _anli() -> Task:
    cols = ("uid", "context", "hypothesis", "label", "reason")
    f = (("text_a", "context"), ("text_b", "hypothesis"), ("label", "label"))
    original = Layout(
        "original",
        tuple(
            _f(sp, f"anli_v1.0/R{r}/{sp}.jsonl", "jsonl", cols, f, role=f"r{r}")
            for sp in ("train", "dev", "test")
            for r in (1, 2, 3)
        ),
        label_map=(("e", "entailment"), ("n", "neutral"), ("c", "contradiction")),
        source="https://dl.fbaipublicfiles.com/anli/anli_v1.0.zip (Nie et al. 2020)",
    )
    jiant = Layout(
        "jiant",
        tuple(
            _f(sp, f"adversarial_nli_r{r}/{js}.jsonl", "jsonl", cols, f, role=f"r{r}")
            for sp, js in (("train", "train"), ("dev", "val"), ("test", "test"))
            for r in (1, 2, 3)
        ),
        label_map=(("e", "entailment"), ("n", "neutral"), ("c", "contradiction")),
        source="jiant 2.x download_data (Hugging Face anli; 'premise' renamed 'context')",
    )
    return Task(
        "ANLI", "component", "sentence_pair", ("accuracy",), True, _NLI_LABELS, ("en",),
        ("train", "dev", "test"), (original, jiant), schema="nli_pair",
        aliases=("adversarial_nli", "adversarial-nli"), eval_split="dev",
        reference="Nie et al. 2020, Adversarial NLI", notes="Rounds R1-R3 together.",
    )


def _snli() -> Task:
    cols = ("sentence1", "sentence2", "gold_label")
    f = (("text_a", "sentence1"), ("text_b", "sentence2"), ("label", "gold_label"))
    original = Layout(
        "original",
        tuple(_f(sp, f"snli_1.0/snli_1.0_{sp}.jsonl", "jsonl", cols, f) for sp in ("train", "dev", "test")),
        source="https://nlp.stanford.edu/projects/snli/snli_1.0.zip (Bowman et al. 2015)",
        notes="Drop pairs whose gold_label is '-' (no annotator consensus), as jiant does.",
    )
    jf = (("text_a", "premise"), ("text_b", "hypothesis"), ("label", "label"))
    jiant = Layout(
        "jiant",
        tuple(_f(sp, f"snli/{js}.jsonl", "jsonl", ("premise", "hypothesis", "label"), jf)
              for sp, js in (("train", "train"), ("dev", "val"), ("test", "test"))),
        source="jiant 2.x download_data (Hugging Face snli)",
        notes="Drop rows with label -1.",
    )
    return Task(
        "SNLI", "component", "sentence_pair", ("accuracy",), True, _NLI_LABELS, ("en",),
        ("train", "dev", "test"), (original, jiant), schema="nli_pair", aliases=("snli",),
        eval_split="dev", reference="Bowman et al. 2015, A large annotated corpus for learning "
        "natural language inference",
    )


def _anli_plus() -> Task:
    return Task(
        "ANLI+", "intermediate", "sentence_pair", ("accuracy",), True, _NLI_LABELS, ("en",),
        ("train", "dev"), (), schema="nli_pair",
        aliases=("anli_plus", "anli-plus", "anliplus", "anli plus"), eval_split="dev",
        components=(("train", ("ANLI", "MNLI", "SNLI")), ("dev", ("ANLI",))),
        reference="Phang et al. 2020 (X-STILTs): ANLI combined with MNLI and SNLI, after Nie et al. 2020",
        notes="train: ANLI R1-R3 + MNLI + SNLI train concatenated; dev: ANLI R1-R3 dev.",
    )


def _qqp() -> Task:
    cols = ("id", "qid1", "qid2", "question1", "question2", "is_duplicate")
    f = (("text_a", "question1"), ("text_b", "question2"), ("label", "is_duplicate"))
    original = Layout(
        "original",
        (
            _f("train", "QQP/train.tsv", "tsv", cols, f, header=True),
            _f("dev", "QQP/dev.tsv", "tsv", cols, f, header=True),
            _f("test", "QQP/test.tsv", "tsv", ("id", "question1", "question2"), f[:2], header=True,
               labelled=False),
        ),
        source="GLUE: https://dl.fbaipublicfiles.com/glue/data/QQP-clean.zip",
        notes="Read with csv.QUOTE_NONE.",
    )
    jcols = ("text_a", "text_b", "label", "idx")
    jf = (("text_a", "text_a"), ("text_b", "text_b"), ("label", "label"))
    jiant = Layout(
        "jiant",
        tuple(_f(sp, f"qqp/{js}.jsonl", "jsonl", jcols, jf, labelled=(sp != "test"))
              for sp, js in (("train", "train"), ("dev", "val"), ("test", "test"))),
        source="jiant 2.x download_data (Hugging Face glue/qqp)",
    )
    return Task(
        "QQP", "intermediate", "sentence_pair", ("f1", "accuracy"), True, ("0", "1"), ("en",),
        ("train", "dev", "test"), (original, jiant, _jsonl_layout("qqp", "sentence_pair", ("train", "dev", "test"))),
        schema="paraphrase_pair", aliases=("qqp", "quora", "quora question pairs"), eval_split="dev",
        reference="Quora Question Pairs (GLUE, Wang et al. 2019)",
        notes="GLUE reports F1 of the duplicate class and accuracy; jiant's model selection uses "
        "their mean.",
    )


def _ccg() -> Task:
    jiant = Layout(
        "jiant",
        tuple(
            _f(sp, f"CCG/ccg_1363.{sp}", "tsv", ("text", "tags"), (("tokens", "text"), ("tags", "tags")))
            for sp in ("train", "dev", "test")
        ),
        source="jiant 1.x CCGTaggingTask (rel_path 'CCG/'); jiant 2.x reads the same 'text<TAB>tags' "
        "lines from config paths plus a tags_to_id.json",
        notes="One sentence per line: space-separated tokens, TAB, space-separated supertag ids "
        "(0-1362). Built from CCGbank (LDC2005T13, licensed): sections 02-21 train, 00 dev, 23 test.",
    )
    return Task(
        "CCG", "intermediate", "tagging", ("accuracy",), True, (), ("en",), ("train", "dev", "test"),
        (jiant, _jsonl_layout("ccg", "tagging", ("train", "dev", "test"))), schema="ccg_supertags",
        aliases=("ccg", "ccgbank", "ccg supertagging"), eval_split="dev", label_count=1363,
        reference="Hockenmaier & Steedman 2007, CCGbank",
        notes="Token accuracy over 1,363 supertags (jiant).",
    )


def _squad(version: str) -> Task:
    v1 = version == "1.1"
    tr, dv = (f"train-v{version}.json", f"dev-v{version}.json")
    sub = "squad_v1" if v1 else "squad_v2"
    layouts = [
        Layout("original", (_f("train", tr, "squad_json"), _f("dev", dv, "squad_json")),
               source=f"https://rajpurkar.github.io/SQuAD-explorer/dataset/{tr} and {dv}"),
        Layout("jiant", (_f("train", f"{sub}/{tr}", "squad_json"), _f("dev", f"{sub}/{dv}", "squad_json")),
               source="jiant 2.x download_data (files as distributed)"),
    ]
    if v1:
        layouts.insert(1, Layout(
            "xtreme", (_f("train", f"squad/{tr}", "squad_json"), _f("dev", f"squad/{dv}", "squad_json")),
            source=_XTREME_SRC + " (download_squad)"))
    layouts.append(_jsonl_layout(sub, "extractive_qa", ("train", "dev")))
    return Task(
        f"SQuAD-v{version}", "intermediate", "extractive_qa", ("f1", "em"), True, (), ("en",),
        ("train", "dev"), tuple(layouts), schema=f"squad_v{version}",
        aliases=(sub, f"squad{version}", f"squad v{version}", f"squad-{version}", f"squadv{version[0]}")
        + (("squad",) if v1 else ()),
        eval_split="dev",
        reference="Rajpurkar et al. 2016, SQuAD" if v1 else "Rajpurkar et al. 2018, Know What You "
        "Don't Know: Unanswerable Questions for SQuAD",
        notes="Also the English training data of XQuAD, MLQA and TyDiQA-GoldP in XTREME." if v1 else
        "Unanswerable questions have an empty answer list (is_impossible: true) and "
        "plausible_answers; scored with evaluate-v2.0.py (xdist.train.metrics.squad_v2).",
    )


def _mc(name, slug, n, original, jiant, *, aliases, reference, notes) -> Task:
    return Task(
        name, "intermediate", "multiple_choice", ("accuracy",), True,
        tuple(str(i) for i in range(n)), ("en",), ("train", "dev", "test"),
        (original, jiant, _jsonl_layout(slug, "multiple_choice", ("train", "dev", "test"))),
        schema=slug, aliases=aliases, eval_split="dev", num_choices=n, reference=reference, notes=notes,
    )


def _hellaswag() -> Task:
    cols = ("ind", "activity_label", "ctx_a", "ctx_b", "ctx", "split", "split_type", "label",
            "endings", "source_id")
    f = (("context", "ctx_a"), ("question", "ctx_b"), ("choices", "endings"), ("label", "label"))
    original = Layout(
        "original",
        tuple(_f(sp, f"hellaswag_{js}.jsonl", "jsonl", cols, f, labelled=(sp != "test"))
              for sp, js in (("train", "train"), ("dev", "val"), ("test", "test"))),
        source="https://github.com/rowanz/hellaswag data/hellaswag_{train,val,test}.jsonl",
        notes="jiant: prompt = ctx_a, choice i = ctx_b + ' ' + endings[i].",
    )
    jiant = Layout(
        "jiant",
        tuple(_f(sp, f"hellaswag/{js}.jsonl", "jsonl", cols, f, labelled=(sp != "test"))
              for sp, js in (("train", "train"), ("dev", "val"), ("test", "test"))),
        source="jiant 2.x download_data (Hugging Face hellaswag; label '0'-'3' -> int)",
    )
    return _mc("HellaSwag", "hellaswag", 4, original, jiant, aliases=("hellaswag", "hella swag"),
               reference="Zellers et al. 2019, HellaSwag", notes="Four endings per context.")


def _cosmosqa() -> Task:
    cols = ("id", "context", "question", "answer0", "answer1", "answer2", "answer3", "label")
    f = (("context", "context"), ("question", "question"),
         ("choices", "answer0,answer1,answer2,answer3"), ("label", "label"))
    original = Layout(
        "original",
        (
            _f("train", "cosmosqa/data/train.csv", "csv", cols, f, header=True),
            _f("dev", "cosmosqa/data/valid.csv", "csv", cols, f, header=True),
            _f("test", "cosmosqa/data/test.jsonl", "jsonl", cols[:-1], f[:3], labelled=False),
        ),
        source="https://github.com/wilburOne/cosmosqa data/",
        notes="jiant: prompt = context + ' ' + question; choices answer0-answer3.",
    )
    jiant = Layout(
        "jiant",
        tuple(_f(sp, f"cosmosqa/{js}.jsonl", "jsonl", cols, f, labelled=(sp != "test"))
              for sp, js in (("train", "train"), ("dev", "val"), ("test", "test"))),
        source="jiant 2.x download_data (Hugging Face cosmos_qa)",
    )
    return _mc("CosmosQA", "cosmosqa", 4, original, jiant, aliases=("cosmosqa", "cosmos qa", "cosmos_qa"),
               reference="Huang et al. 2019, Cosmos QA", notes="Four answers per question.")


def _commonsenseqa() -> Task:
    ocols = ("id", "question", "answerKey")
    of = (("question", "question.stem"), ("choices", "question.choices[].text"),
          ("choice_labels", "question.choices[].label"), ("label", "answerKey"))
    original = Layout(
        "original",
        (
            _f("train", "train_rand_split.jsonl", "jsonl", ocols, of),
            _f("dev", "dev_rand_split.jsonl", "jsonl", ocols, of),
            _f("test", "test_rand_split_no_answers.jsonl", "jsonl", ocols[:2], of[:3], labelled=False),
        ),
        label_map=(("A", "0"), ("B", "1"), ("C", "2"), ("D", "3"), ("E", "4")),
        source="https://s3.amazonaws.com/commensenseqa/{train_rand_split,dev_rand_split,"
        "test_rand_split_no_answers}.jsonl (Talmor et al. 2019)",
        notes="question is an object: stem, question_concept, choices [{label, text}].",
    )
    jcols = ("id", "question", "question_concept", "choices", "answerKey")
    jf = (("question", "question"), ("choices", "choices.text"), ("choice_labels", "choices.label"),
          ("label", "answerKey"))
    jiant = Layout(
        "jiant",
        tuple(_f(sp, f"commonsenseqa/{js}.jsonl", "jsonl", jcols, jf, labelled=(sp != "test"))
              for sp, js in (("train", "train"), ("dev", "val"), ("test", "test"))),
        label_map=(("A", "0"), ("B", "1"), ("C", "2"), ("D", "3"), ("E", "4")),
        source="jiant 2.x download_data (Hugging Face commonsense_qa: question is a string, "
        "choices {label: [...], text: [...]})",
    )
    return _mc("CommonsenseQA", "commonsenseqa", 5, original, jiant,
               aliases=("commonsenseqa", "commonsense qa", "csqa", "commonsense_qa"),
               reference="Talmor et al. 2019, CommonsenseQA",
               notes="Five answers per question, keyed A-E.")


# --------------------------------------------------------------------------
# decoder-LLM tasks and prompts (xdist lm-eval, docs/llm.md)

_HARNESS = "EleutherAI/lm-evaluation-harness lm_eval/tasks/"

# lm-evaluation-harness xnli/utils.py (words translated word by word, as there).
_XNLI_WORDS = {
    "ar": {"right": "صحيح", "yes": "نعم", "also": "لذا", "no": "رقم"},
    "bg": {"right": "правилно", "yes": "да", "also": "така", "no": "не"},
    "de": {"right": "richtig", "yes": "Ja", "also": "Auch", "no": "Nein"},
    "el": {"right": "σωστός", "yes": "Ναί", "also": "Έτσι", "no": "όχι"},
    "en": {"right": "right", "yes": "Yes", "also": "Also", "no": "No"},
    "es": {"right": "correcto", "yes": "Sí", "also": "Asi que", "no": "No"},
    "fr": {"right": "correct", "yes": "Oui", "also": "Aussi", "no": "Non"},
    "hi": {"right": "सही", "yes": "हाँ", "also": "इसलिए", "no": "नहीं"},
    "ru": {"right": "правильно", "yes": "Да", "also": "Так", "no": "Нет"},
    "sw": {"right": "sahihi", "yes": "Ndiyo", "also": "Hivyo", "no": "Hapana"},
    "th": {"right": "ถูกต้อง", "yes": "ใช่", "also": "ดังนั้น", "no": "ไม่"},
    "tr": {"right": "doğru", "yes": "Evet", "also": "Böylece", "no": "Hayır"},
    "ur": {"right": "صحیح", "yes": "جی ہاں", "also": "اس لئے", "no": "نہیں"},
    "vi": {"right": "đúng", "yes": "Vâng", "also": "Vì vậy", "no": "Không"},
    "zh": {"right": "正确", "yes": "是的", "also": "所以", "no": "不是的"},
}  # fmt: skip
# lm-evaluation-harness paws-x/_generate_config.py (its French "no" is "No", kept).
_PAWSX_WORDS = {
    "de": {"right": "richtig", "yes": "Ja", "no": "Nein"},
    "en": {"right": "right", "yes": "Yes", "no": "No"},
    "es": {"right": "verdad", "yes": "Sí", "no": "No"},
    "fr": {"right": "n'est-ce pas", "yes": "Oui", "no": "No"},
    "ja": {"right": "ですね", "yes": "はい", "no": "いいえ"},
    "ko": {"right": "맞죠", "yes": "예", "no": "아니요"},
    "zh": {"right": "对吧", "yes": "是", "no": "不是"},
}  # fmt: skip
# lm-evaluation-harness xcopa/utils.py connectors; English as its copa task.
_XCOPA_WORDS = {
    "en": {"cause": "because", "effect": "therefore"},
    "et": {"cause": "sest", "effect": "seetõttu"},
    "ht": {"cause": "poukisa", "effect": "donk sa"},
    "id": {"cause": "karena", "effect": "maka"},
    "it": {"cause": "perché", "effect": "quindi"},
    "qu": {"cause": "imataq", "effect": "chaymi"},
    "sw": {"cause": "kwa sababu", "effect": "kwa hiyo"},
    "ta": {"cause": "காரணமாக", "effect": "எனவே"},
    "th": {"cause": "เพราะ", "effect": "ดังนั้น"},
    "tr": {"cause": "çünkü", "effect": "bu yüzden"},
    "vi": {"cause": "bởi vì", "effect": "vì vậy"},
    "zh": {"cause": "因为", "effect": "所以"},
}  # fmt: skip


def _nli_prompt(languages) -> Prompt:
    return Prompt(
        "harness", "{text_a}, {right}?",
        # label order: contradiction, entailment, neutral
        ("{no}, {text_b}", "{yes}, {text_b}", "{also}, {text_b}"),
        words=_words({k: _XNLI_WORDS[k] for k in languages}),
        source=_HARNESS + "xnli (XGLM / mGPT format)",
        notes="premise + ', right?' then 'Yes|Also|No, ' + hypothesis.",
    )


_PAWSX_PROMPT = Prompt(
    "harness", "", ("{text_a}, {right}? {no}, {text_b}", "{text_a}, {right}? {yes}, {text_b}"),
    delimiter="", words=_words(_PAWSX_WORDS), source=_HARNESS + "paws-x",
    notes="Empty context: each choice is the whole sequence, scored after the model's prefix token.",
)
_COPA_PROMPT = Prompt(
    "harness", "{context|strip_period} {@question}", ("{choice|lower_first}",),
    words=_words(_XCOPA_WORDS), source=_HARNESS + "xcopa/utils.py, copa",
    notes="premise without its final punctuation + because/therefore; choice with a lower-case first "
    "letter. The harness drops the last character whatever it is; every COPA/XCOPA premise ends in one "
    "punctuation mark.",
)
_STORY_PROMPT = Prompt(
    "harness", "{context}", ("{choice}",), source=_HARNESS + "xstorycloze",
    notes="the four story sentences joined by spaces; the two endings.",
)
_HELLASWAG_PROMPT = Prompt(
    "harness", "{context} {question|upper_first}", ("{choice}",), source=_HARNESS + "hellaswag",
    notes="ctx_a + ' ' + ctx_b capitalised; the harness also prefixes the activity label and removes "
    "WikiHow's bracketed markup, which the canonical examples do not keep.",
)
_PROMPTS = {
    "XNLI": (_nli_prompt(_XNLI_WORDS),),
    "MNLI": (_nli_prompt(["en"]),),
    "PAWS-X": (_PAWSX_PROMPT,),
    "HellaSwag": (_HELLASWAG_PROMPT,),
}

_COPA_COLUMNS = ("premise", "choice1", "choice2", "question", "label", "idx")
_COPA_FIELDS = (("context", "premise"), ("question", "question"), ("choices", "choice1,choice2"),
                ("label", "label"))


def _copa() -> Task:
    original = Layout(
        "original",
        tuple(_f(sp, f"COPA/{js}.jsonl", "jsonl", _COPA_COLUMNS, _COPA_FIELDS, labelled=(sp != "test"))
              for sp, js in (("train", "train"), ("dev", "val"), ("test", "test"))),
        source="SuperGLUE COPA (https://dl.fbaipublicfiles.com/glue/superglue/data/v2/COPA.zip)",
        notes="question is 'cause' or 'effect'; label 0/1 = choice1/choice2; test labels withheld.",
    )
    return Task(
        "COPA", "llm", "multiple_choice", ("accuracy",), True, ("0", "1"), ("en",),
        ("train", "dev", "test"), (original, _jsonl_layout("copa", "multiple_choice", ("train", "dev", "test"))),
        schema="copa", aliases=("copa",), eval_split="dev", num_choices=2,
        reference="Roemmele et al. 2011, Choice of Plausible Alternatives; SuperGLUE",
        notes="English source of XCOPA: few-shot demonstrations and LoRA training data.",
        prompts=(_COPA_PROMPT,),
    )


def _xcopa() -> Task:
    original = Layout(
        "original",
        (
            _f("dev", "data/{lang}/val.{lang}.jsonl", "jsonl", _COPA_COLUMNS + ("changed",), _COPA_FIELDS),
            _f("test", "data/{lang}/test.{lang}.jsonl", "jsonl", _COPA_COLUMNS + ("changed",), _COPA_FIELDS),
        ),
        source="https://github.com/cambridgeltl/xcopa data/ (Ponti et al. 2020)",
        notes="The repository has no English: put COPA's English files (same fields) at "
        "data/en/{val,test}.en.jsonl for the source-language score; question 'cause'/'effect'.",
    )
    return Task(
        "XCOPA", "llm", "multiple_choice", ("accuracy",), True, ("0", "1"),
        _langs("en,et,ht,id,it,qu,sw,ta,th,tr,vi,zh"), ("dev", "test"),
        (original, _jsonl_layout("xcopa", "multiple_choice", ("dev", "test"))),
        schema="copa", aliases=("xcopa",), train_task="COPA", num_choices=2,
        reference="Ponti et al. 2020, XCOPA: A Multilingual Dataset for Causal Commonsense Reasoning",
        notes="COPA's validation (100) and test (500) examples translated into 11 languages; English "
        "(the source language) is COPA itself; English training data: COPA train.",
        prompts=(_COPA_PROMPT,),
    )


def _xstorycloze() -> Task:
    cols = ("InputStoryid", "InputSentence1", "InputSentence2", "InputSentence3", "InputSentence4",
            "RandomFifthSentenceQuiz1", "RandomFifthSentenceQuiz2", "AnswerRightEnding")
    fields = (("context", "InputSentence1,InputSentence2,InputSentence3,InputSentence4"),
              ("choices", "RandomFifthSentenceQuiz1,RandomFifthSentenceQuiz2"), ("label", "AnswerRightEnding"))
    original = Layout(
        "original",
        tuple(_f(sp, f"spring2016.val.{{lang}}.tsv.split_20_80_{part}.tsv", "tsv", cols, fields, header=True)
              for sp, part in (("train", "train"), ("test", "eval"))),
        label_map=(("1", "0"), ("2", "1")),
        source="https://github.com/facebookresearch/fairseq/tree/main/examples/xglm XStoryCloze "
        "(Lin et al. 2022); English from StoryCloze spring2016.val.tsv split as its README says",
        notes="Header line, eight tab-separated columns read by position (the copies on the Hugging Face "
        "hub name them input_sentence_1 ...); AnswerRightEnding 1/2.",
    )
    return Task(
        "XStoryCloze", "llm", "multiple_choice", ("accuracy",), True, ("0", "1"),
        _langs("en,ru,zh,es,ar,hi,id,te,sw,eu,my"), ("train", "test"),
        (original, _jsonl_layout("xstorycloze", "multiple_choice", ("train", "test"))),
        schema="storycloze", aliases=("xstorycloze", "xstory_cloze", "xstory-cloze"), num_choices=2,
        reference="Lin et al. 2022, Few-shot Learning with Multilingual Generative Language Models",
        notes="360 training and 1,510 evaluation stories per language, line-aligned across languages.",
        prompts=(_STORY_PROMPT,),
    )


def _build() -> dict[str, Task]:
    tasks = [
        _xnli(), _pawsx(), _udpos(), _panx(), _xquad(), _mlqa(), _tydiqa(), _bucc(), _tatoeba(),
        _mnli(), _anli_plus(), _qqp(), _ccg(), _squad("1.1"), _squad("2.0"), _hellaswag(),
        _cosmosqa(), _commonsenseqa(),
        _anli(), _snli(),
        _xcopa(), _xstorycloze(), _copa(),
    ]
    tasks = [replace(t, prompts=_PROMPTS[t.name]) if t.name in _PROMPTS else t for t in tasks]
    return {t.name: t for t in tasks}


_REGISTRY: dict[str, Task] = _build()


def _key(s: str) -> str:
    return s.strip().lower()


def _alias_map() -> dict[str, str]:
    out: dict[str, str] = {}
    for t in _REGISTRY.values():
        out.setdefault(_key(t.name), t.name)
    for t in _REGISTRY.values():
        for a in t.aliases + ((t.xtreme_name,) if t.xtreme_name else ()):
            out.setdefault(_key(a), t.name)
    return out


_ALIASES = _alias_map()


def get_task(name: str) -> Task:
    """The registered task called ``name`` (canonical name or alias, any case).

    Raises
    ------
    ValueError
        For an unknown name; the message suggests close matches.

    Examples
    --------
    >>> from xdist.train.tasks import get_task
    >>> get_task("WikiAnn-NER").name, get_task("squad").name, get_task("anli_plus").name
    ('PAN-X', 'SQuAD-v1.1', 'ANLI+')
    """
    if isinstance(name, Task):
        return name
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"task name must be a non-empty string, got {name!r}")
    hit = _ALIASES.get(_key(name))
    if hit is None:
        close = difflib.get_close_matches(_key(name), list(_ALIASES), n=3, cutoff=0.5)
        hint = ""
        if close:
            hint = "; did you mean " + ", ".join(repr(_ALIASES[c]) for c in dict.fromkeys(close)) + "?"
        raise ValueError(
            f"unknown task {name!r}: known tasks are {list(_REGISTRY)}{hint}"
        )
    return _REGISTRY[hit]


def list_tasks(kind: str | None = None) -> list[str]:
    """Canonical names of the registered tasks, target tasks first.

    Parameters
    ----------
    kind : {"target", "intermediate", "component", "llm"} or None
        Only tasks of this kind; ``None``: target and intermediate tasks
        (components and the LLM-only tasks are listed only when asked for).

    Examples
    --------
    >>> from xdist.train.tasks import list_tasks
    >>> list_tasks("target")
    ['XNLI', 'PAWS-X', 'UD-POS', 'PAN-X', 'XQuAD', 'MLQA', 'TyDiQA-GoldP', 'BUCC', 'Tatoeba']
    >>> len(list_tasks("intermediate"))
    9
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not valid: expected one of {list(KINDS)} or None")
    if kind is None:
        return [n for n, t in _REGISTRY.items() if t.kind in ("target", "intermediate")]
    return [n for n, t in _REGISTRY.items() if t.kind == kind]


def tasks_table(kind: str | None = None):
    """The registry as a DataFrame, one row per task.

    Columns: ``name, kind, format, metrics`` (comma-separated, primary
    first), ``primary_metric, higher_is_better, n_labels, n_languages,
    languages`` (space-separated), ``splits, eval_split, train_task,
    xtreme_name, layouts, aliases``.

    Examples
    --------
    >>> from xdist.train.tasks import tasks_table
    >>> tab = tasks_table("target")
    >>> row = tab.set_index("name").loc["PAN-X"]
    >>> int(row["n_languages"]), row["primary_metric"]
    (40, 'f1')
    """
    import pandas as pd

    rows = []
    for n in list_tasks(kind):
        t = _REGISTRY[n]
        rows.append(
            {
                "name": t.name,
                "kind": t.kind,
                "format": t.format,
                "metrics": ",".join(t.metrics),
                "primary_metric": t.primary_metric,
                "higher_is_better": t.higher_is_better,
                "n_labels": t.n_labels,
                "n_languages": len(t.languages),
                "languages": " ".join(t.languages),
                "splits": ",".join(t.splits),
                "eval_split": t.eval_split,
                "train_task": t.train_task or "",
                "xtreme_name": t.xtreme_name or "",
                "layouts": ",".join(t.layout_names) if t.layouts else "",
                "aliases": ",".join(t.aliases),
            }
        )
    out = pd.DataFrame(rows)
    out["n_labels"] = out["n_labels"].astype("Int64")
    return out


def task_languages(kind: str | None = "target"):
    """Tidy (task, language) pairs: one row per evaluation language of each task.

    Examples
    --------
    >>> from xdist.train.tasks import task_languages
    >>> tl = task_languages()
    >>> len(tl), tl.columns.tolist()
    (162, ['task', 'language'])
    """
    import pandas as pd

    rows = [(n, lang) for n in list_tasks(kind) for lang in _REGISTRY[n].languages]
    return pd.DataFrame(rows, columns=["task", "language"])
