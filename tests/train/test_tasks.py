"""The task registry (xdist.train.tasks): names, languages, metrics, layouts."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from xdist.languages import resolve
from xdist.train import tasks as T
from xdist.train.metrics import score

TARGET = ["XNLI", "PAWS-X", "UD-POS", "PAN-X", "XQuAD", "MLQA", "TyDiQA-GoldP", "BUCC", "Tatoeba"]
INTERMEDIATE = [
    "MNLI",
    "ANLI+",
    "QQP",
    "CCG",
    "SQuAD-v1.1",
    "SQuAD-v2.0",
    "HellaSwag",
    "CosmosQA",
    "CommonsenseQA",
]
ALL = T.list_tasks() + T.list_tasks("component")


def test_lists():
    assert T.list_tasks("target") == TARGET
    assert T.list_tasks("intermediate") == INTERMEDIATE
    assert T.list_tasks() == TARGET + INTERMEDIATE
    assert set(T.list_tasks("component")) == {"ANLI", "SNLI"}
    with pytest.raises(ValueError, match="kind='targets'"):
        T.list_tasks("targets")


def test_importing_xdist_train_never_imports_torch():
    code = (
        "import sys, xdist.train, xdist.train.tasks, xdist.train.metrics;"
        "xdist.train.get_task('XNLI'); xdist.train.metrics.score('XNLI', [1], [1]);"
        "heavy = [m for m in ('torch', 'transformers', 'datasets', 'seqeval', 'faiss') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2]
    )


@pytest.mark.parametrize(
    "name, expected",
    [
        ("xnli", "XNLI"), ("PAWSX", "PAWS-X"), ("pawsx", "PAWS-X"), ("udpos", "UD-POS"),
        ("WikiAnn-NER", "PAN-X"), ("wikiann", "PAN-X"), ("panx", "PAN-X"), ("tydiqa", "TyDiQA-GoldP"),
        ("bucc2018", "BUCC"), ("TATOEBA", "Tatoeba"), ("squad", "SQuAD-v1.1"), ("squad_v2", "SQuAD-v2.0"),
        ("anli_plus", "ANLI+"), ("ANLI", "ANLI"), ("multinli", "MNLI"), ("csqa", "CommonsenseQA"),
    ],
)  # fmt: skip
def test_get_task_aliases(name, expected):
    assert T.get_task(name).name == expected


def test_get_task_did_you_mean():
    with pytest.raises(ValueError, match=r"unknown task 'XNLY'.*did you mean 'XNLI'"):
        T.get_task("XNLY")
    with pytest.raises(ValueError, match="non-empty string"):
        T.get_task("")


def test_tasks_are_frozen():
    t = T.get_task("XNLI")
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.name = "other"  # type: ignore[misc]
    assert hash(t) == hash(T.get_task("xnli"))


@pytest.mark.parametrize("name", ALL)
def test_task_fields_are_consistent(name):
    t = T.get_task(name)
    assert t.format in T.FORMATS and t.kind in T.KINDS
    assert t.metrics and t.primary_metric == t.metrics[0]
    assert t.higher_is_better is True
    assert t.eval_split in t.splits
    assert len(set(t.languages)) == len(t.languages)
    # every language is a canonical xdist code
    for lang in t.languages:
        assert resolve(lang) == lang, (name, lang)
    for lay in t.layouts:
        assert set(lay.splits) <= set(t.splits), (name, lay.name)
        for f in lay.files:
            assert f.format in T.FILE_FORMATS
            for role, col in f.fields:
                if f.format in ("tsv", "conll", "id_text", "id_pairs", "text") or (
                    f.format in ("jsonl", "csv") and "." not in col and "," not in col
                ):
                    assert col in f.columns, (name, lay.name, f.split, role, col)
            if f.languages is not None:
                assert set(f.languages) <= set(t.languages)
    if t.train_task:
        assert "train" in T.get_task(t.train_task).splits


def test_xtreme_language_counts():
    counts = {n: len(T.get_task(n).languages) for n in TARGET}
    assert counts == {
        "XNLI": 15,
        "PAWS-X": 7,
        "UD-POS": 33,
        "PAN-X": 40,
        "XQuAD": 11,
        "MLQA": 7,
        "TyDiQA-GoldP": 9,
        "BUCC": 4,
        "Tatoeba": 36,
    }
    assert T.get_task("BUCC").languages == ("de", "fr", "ru", "zh")
    assert "en" not in T.get_task("Tatoeba").languages


def test_labels():
    assert T.get_task("XNLI").labels == ("contradiction", "entailment", "neutral")
    assert len(T.get_task("UD-POS").labels) == 17
    assert T.get_task("PAN-X").labels == ("B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER", "O")
    assert T.get_task("CCG").n_labels == 1363
    assert T.get_task("CommonsenseQA").num_choices == 5


def test_metrics_are_what_score_returns():
    assert T.get_task("UD-POS").metrics == ("f1", "accuracy")
    assert T.get_task("MLQA").metrics == ("f1", "em")
    assert tuple(score("PAWS-X", ["1"], ["1"])) == ("accuracy",)


@pytest.mark.parametrize(
    "name, split, lang, layout, role, expected",
    [
        ("XNLI", "test", "sw", "xtreme", "data", "xnli/test-sw.tsv"),
        ("XNLI", "train", None, "xtreme", "data", "xnli/train-en.tsv"),
        ("PAWS-X", "dev", "ja", "original", "data", "x-final/ja/dev_2k.tsv"),
        ("UD-POS", "dev", "de", "xtreme", "data", "udpos/dev-de.tsv"),
        ("PAN-X", "test", "yo", "xtreme", "data", "panx/test-yo.tsv"),
        ("XQuAD", "test", "th", "xtreme", "data", "xquad/xquad.th.json"),
        ("MLQA", "test", "zh", "xtreme", "data", "mlqa/MLQA_V1/test/test-context-zh-question-zh.json"),
        ("TyDiQA-GoldP", "test", "bn", "xtreme", "data", "tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.bn.dev.json"),
        ("TyDiQA-GoldP", "test", "ko", "original", "data", "tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-korean.json"),
        ("BUCC", "test", "ru", "xtreme", "source", "bucc2018/ru-en.test.ru"),
        ("BUCC", "test", "ru", "original", "gold", "bucc2018/ru-en/ru-en.training.gold"),
        ("Tatoeba", "test", "zh", "original", "source", "LASER/data/tatoeba/v1/tatoeba.cmn-eng.cmn"),
        ("Tatoeba", "test", "sw", "xtreme", "target", "tatoeba/sw-en.en"),
        ("MNLI", "dev", None, "original", "data", "MNLI/dev_matched.tsv"),
        ("SQuAD-v1.1", "train", None, "xtreme", "data", "squad/train-v1.1.json"),
        ("HellaSwag", "dev", None, "jiant", "data", "hellaswag/val.jsonl"),
        ("CommonsenseQA", "test", None, "original", "data", "test_rand_split_no_answers.jsonl"),
        ("XNLI", "dev", "de", "jsonl", "data", "xnli/dev-de.jsonl"),
    ],
)  # fmt: skip
def test_paths(name, split, lang, layout, role, expected):
    assert T.get_task(name).path(split, lang, layout=layout, role=role) == expected


def test_paths_accept_iso639_3_and_root(tmp_path):
    t = T.get_task("XNLI")
    assert t.path("dev", "deu") == "xnli/dev-de.tsv"
    assert t.path("dev", "de", root=tmp_path) == tmp_path / "xnli/dev-de.tsv"


def test_paths_errors():
    t = T.get_task("XNLI")
    with pytest.raises(ValueError, match="split='validation'"):
        t.path("validation", "de")
    with pytest.raises(ValueError, match="language='ja'.*expected one of"):
        t.path("test", "ja")
    with pytest.raises(ValueError, match="language='de'.*split 'train'"):
        t.path("train", "de")
    with pytest.raises(ValueError, match="pass language="):
        t.path("test")
    with pytest.raises(ValueError, match="layout='jiant'"):
        t.path("test", "de", layout="jiant")
    with pytest.raises(ValueError, match="role='gold'"):
        T.get_task("BUCC").path("test", "de", role="gold")


def test_composite_anli_plus():
    t = T.get_task("ANLI+")
    train = t.paths("train")
    assert train["MNLI/data"] == "MNLI/train.tsv"
    assert train["ANLI/r3"] == "anli_v1.0/R3/train.jsonl"
    assert train["SNLI/data"] == "snli_1.0/snli_1.0_train.jsonl"
    assert set(t.paths("dev", layout="jiant")) == {"ANLI/r1", "ANLI/r2", "ANLI/r3"}
    with pytest.raises(ValueError, match="no files of its own"):
        t.layout()


def test_xtreme_layout_flags_stripped_test_labels():
    for name in ("XNLI", "PAWS-X", "UD-POS", "PAN-X", "XQuAD", "MLQA", "TyDiQA-GoldP"):
        f = T.get_task(name).data_file("test", layout="xtreme")
        assert f.labelled is False, name
        assert T.get_task(name).data_file("test", layout="original").labelled is True, name
    assert T.get_task("MLQA").data_file("dev", layout="xtreme").labelled is True


def test_reader_information_for_tsv():
    f = T.get_task("XNLI").data_file("dev", layout="original")
    assert f.header and f.select == "language == {lang}"
    assert f.field_map == {"text_a": "sentence1", "text_b": "sentence2", "label": "gold_label"}
    assert dict(T.get_task("XNLI").layout("original").label_map) == {
        "contradictory": "contradiction"
    }


def test_tasks_table():
    tab = T.tasks_table()
    assert tab["name"].tolist() == TARGET + INTERMEDIATE
    assert {
        "name",
        "kind",
        "format",
        "metrics",
        "primary_metric",
        "higher_is_better",
        "n_labels",
        "n_languages",
        "languages",
        "splits",
    } <= set(tab.columns)
    assert tab["n_languages"].dtype.kind == "i"
    assert tab.set_index("name").loc["UD-POS", "metrics"] == "f1,accuracy"
    assert len(T.tasks_table("component")) == 2


def test_task_languages_long():
    tl = T.task_languages()
    assert len(tl) == 162
    assert tl.query("task == 'PAN-X'")["language"].nunique() == 40


def test_docs_table_matches_registry():
    text = (Path(__file__).resolve().parents[2] / "docs" / "tasks.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[1] in ("target", "intermediate"):
            rows[cells[0].split(" (")[0]] = cells
    assert list(rows) == TARGET + INTERMEDIATE
    for name, cells in rows.items():
        t = T.get_task(name)
        assert cells[3] == ", ".join(t.metrics), name
        assert int(cells[5]) == len(t.languages), name
        assert cells[6].split() == list(t.languages), name


def test_lazy_package_names():
    import xdist.train as xt

    assert xt.get_task is T.get_task
    assert "score" in dir(xt)
    with pytest.raises(AttributeError, match="no_such_name"):
        xt.no_such_name  # noqa: B018
