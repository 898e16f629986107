"""Machine-translated training data of the intermediate tasks (multilingual intermediate training).

Phang et al. (2020, X-STILTs) also tried intermediate training on the
intermediate task's data in several languages, machine-translated from
English, as an alternative to English-only intermediate training.  xdist
reads such files where the user has put them, in one of three layouts
(first found wins; ``layout=`` picks one):

``xtreme-translations``
    XTREME's translations (google-research/xtreme README, "Translations";
    ``gs://xtreme_translations``), copied under the data root as in the
    bucket: ``XNLI/translate-train/en-{lang}-translated.tsv`` for MNLI
    (five tab-separated columns: English premise, English hypothesis,
    translated premise, translated hypothesis, label; ``contradictory`` is
    read as ``contradiction``; no CSV quoting, as TensorFlow Datasets'
    ``xtreme_xnli`` reads them) and
    ``SQuAD/translate-train/squad.translate.train.en-{lang}.json`` for
    SQuAD v1.1 (SQuAD JSON).
``original``
    MNLI only: the XNLI authors' machine-translated MultiNLI,
    ``XNLI-MT-1.0/multinli/multinli.train.{lang}.tsv`` (the registry's XNLI
    ``original`` training file).
``jsonl``
    Any intermediate task: ``{task}/train-{lang}.jsonl`` with the fields of
    :data:`xdist.train.tasks.JSONL_FIELDS` (the task's own ``jsonl``
    directory, e.g. ``mnli/train-de.jsonl``, ``squad-v1.1/train-de.jsonl``).

English (``"en"``) is always the task's own training data, read as without
this module.  :func:`load_intermediate` concatenates the languages into the
task's training set (one head, batches mixing languages); see
``docs/training.md``, "Multilingual intermediate data and MLM".

Examples
--------
>>> from xdist.train.translated import translated_paths
>>> for layout, path in translated_paths("MNLI", "de").items():
...     print(layout, path)
xtreme-translations XNLI/translate-train/en-de-translated.tsv
original XNLI-MT-1.0/multinli/multinli.train.de.tsv
jsonl mnli/train-de.jsonl
>>> translated_paths("SQuAD", "sw")["xtreme-translations"]
'SQuAD/translate-train/squad.translate.train.en-sw.json'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from xdist.train.tasks import JSONL_FIELDS, DataFile, Layout, Task, get_task

__all__ = ["TRANSLATION_SOURCE", "load_intermediate", "translated_layouts", "translated_paths",
           "translated_task", "check_translated"]

#: Where the ``xtreme-translations`` layout comes from.
TRANSLATION_SOURCE = ("google-research/xtreme README 'Translations' (gs://xtreme_translations; MNLI: "
                      "XNLI/translate-train/en-{lang}-translated.tsv, SQuAD v1.1: SQuAD/translate-train/"
                      "squad.translate.train.en-{lang}.json), commit 838c13b")

_XNLI_TRANSLATED_COLUMNS = ("sentence1_en", "sentence2_en", "sentence1", "sentence2", "label")


def _task(task) -> Task:
    return task if isinstance(task, Task) else get_task(task)


def _jsonl_train_file(t: Task) -> DataFile:
    for lay in t.layouts:
        if lay.name == "jsonl":
            for f in lay.files:
                if f.split == "train":
                    return replace(f, languages=None)
    cols = JSONL_FIELDS[t.format]
    return DataFile("train", f"{t.name.lower()}/train-{{lang}}.jsonl", "jsonl", cols, tuple(zip(cols, cols)))


def translated_layouts(task) -> tuple[Layout, ...]:
    """The layouts translated training files of ``task`` are looked for in, in order.

    Examples
    --------
    >>> [lay.name for lay in translated_layouts("HellaSwag")]
    ['jsonl']
    """
    t = _task(task)
    if t.format == "retrieval":
        raise ValueError(f"task {t.name!r} is a retrieval task: it has no training data to translate")
    out: list[Layout] = []
    if t.name == "MNLI":
        pair = (("text_a", "sentence1"), ("text_b", "sentence2"), ("label", "label"))
        out.append(Layout(
            "xtreme-translations",
            (DataFile("train", "XNLI/translate-train/en-{lang}-translated.tsv", "tsv", _XNLI_TRANSLATED_COLUMNS,
                      pair),),
            label_map=(("contradictory", "contradiction"),), source=TRANSLATION_SOURCE,
            notes="Columns: English pair, translated pair, label (README); read with csv.QUOTE_NONE.",
        ))
        xnli = get_task("XNLI").layout("original")
        out.append(Layout("original", (replace(xnli.files_for("train")[0], languages=None),),
                          label_map=xnli.label_map, source=xnli.source,
                          notes="XNLI-MT-1.0: MultiNLI train machine-translated by the XNLI authors."))
    elif t.name == "SQuAD-v1.1":
        out.append(Layout(
            "xtreme-translations",
            (DataFile("train", "SQuAD/translate-train/squad.translate.train.en-{lang}.json", "squad_json"),),
            source=TRANSLATION_SOURCE,
        ))
    out.append(Layout("jsonl", (_jsonl_train_file(t),), source="xdist generic layout (docs/tasks.md)"))
    return tuple(out)


def translated_task(task, language: str) -> Task:
    """``task`` with only its translated ``train`` files in ``language`` (for the readers).

    Examples
    --------
    >>> t = translated_task("MNLI", "German")
    >>> t.languages, t.layout_names, t.train_language
    (('de',), ('xtreme-translations', 'original', 'jsonl'), 'de')
    """
    from xdist.languages import resolve

    t = _task(task)
    if t.components:
        raise ValueError(
            f"task {t.name!r} is a composite of {sorted({c for _, cs in t.components for c in cs})}: "
            "translated data is read for tasks with files of their own (give the translated data "
            "as one of its components, e.g. MNLI)"
        )
    code = resolve(language, param="intermediate_languages")
    return replace(t, languages=(code,), splits=("train",), layouts=translated_layouts(t), train_language=code)


def translated_paths(task, language: str) -> dict[str, str]:
    """Layout -> path (relative to the data root) of the translated training file of ``task``."""
    tt = translated_task(task, language)
    return {lay.name: str(tt.path("train", tt.languages[0], layout=lay.name)) for lay in tt.layouts}


def check_translated(task, language: str, *, data_dir, layout: str | None = None) -> str:
    """The layout whose translated training file of ``task`` in ``language`` exists under ``data_dir``.

    Raises
    ------
    xdist.train.readers.DataError
        Naming the task, the language, every path looked for and its layout.
    """
    from xdist.train.readers import DataError, _root

    tt = translated_task(task, language)
    root = _root(data_dir)
    names = [layout] if layout in tt.layout_names else list(tt.layout_names)
    for name in names:
        if (root / tt.path("train", tt.languages[0], layout=name)).is_file():
            return name
    tried = "; ".join(f"{name}: {tt.path('train', tt.languages[0], layout=name)}" for name in names)
    raise DataError(
        f"intermediate_languages: no translated training file for {_task(task).name!r} in "
        f"{tt.languages[0]!r} under {str(root)!r}: looked for {tried} (see docs/training.md, "
        "'Multilingual intermediate data and MLM'); supply the file or drop the language"
    )


def load_intermediate(task, languages: Sequence[str], *, data_dir, layout: str | None = None,
                      limit: int | None = None):
    """The training set of an intermediate task in several languages, concatenated.

    Parameters
    ----------
    task : str or Task
    languages : sequence of str
        ``"en"`` reads the task's own (English) training data; every other
        language its translated file (:func:`translated_layouts`).
    data_dir : path
    layout : str, optional
        The run's layout: used for English, and for translations when it is
        one of :func:`translated_layouts` (``"jsonl"``, ``"original"``).
    limit : int, optional
        Examples kept per language (the phase's ``max_train_examples``).

    Returns
    -------
    datasets.Dataset
        Canonical examples; the ``language`` column tells the languages apart,
        ids are prefixed ``"{language}/"`` for translated rows.

    Examples
    --------
    >>> import tempfile
    >>> from xdist.train.toydata import write_toy_data, write_toy_translations
    >>> root = tempfile.mkdtemp()
    >>> _ = write_toy_data(root, ["MNLI"], n_train=6, n_eval=2)
    >>> _ = write_toy_translations(root, ["MNLI"], ["de", "sw"], n=4)
    >>> ds = load_intermediate("MNLI", ["en", "de", "sw"], data_dir=root)
    >>> sorted(set(ds["language"])), len(ds)
    (['de', 'en', 'sw'], 14)
    """
    import datasets

    from xdist.train.readers import load_examples

    t = _task(task)
    parts = []
    for lang in languages:
        if lang == t.train_language:
            own = layout if layout in t.layout_names else None
            parts.append(load_examples(t, "train", t.train_language, data_dir=data_dir, layout=own,
                                       require_labels=True, limit=limit))
            continue
        name = check_translated(t, lang, data_dir=data_dir, layout=layout)
        tt = translated_task(t, lang)
        ds = load_examples(tt, "train", tt.languages[0], data_dir=data_dir, layout=name, require_labels=True,
                           limit=limit)
        parts.append(ds.map(lambda r, c=tt.languages[0]: {"id": f"{c}/{r['id']}"}))
    if len(parts) == 1:
        return parts[0]
    return datasets.concatenate_datasets(parts)
