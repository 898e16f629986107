"""Toy data: every task round-trips through the readers, in every layout; deterministic per seed."""

import collections
import hashlib

import pytest

pytest.importorskip("datasets")

from xdist.train.readers import load_examples, load_retrieval  # noqa: E402
from xdist.train.tasks import get_task, list_tasks  # noqa: E402
from xdist.train.toydata import (  # noqa: E402
    toy_distance,
    toy_examples,
    toy_language,
    toy_texts,
    write_toy_data,
)

ALL = list_tasks("target") + list_tasks("intermediate")
LANGS = ["de", "zh", "sw"]


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _check_split(t, split, lang, root, n):
    """Read one written split back and compare it with toy_examples()."""
    if t.format == "retrieval":
        data = load_retrieval(t, split, lang, data_dir=root, require_labels=False)
        assert len(data.source) >= n and len(data.target) >= n
        assert set(data.source["language"]) == {lang} and set(data.target["language"]) == {"en"}
        if data.labelled and t.name == "BUCC":
            assert len(data.gold) == n
            src = dict(zip(data.source["id"], data.source["text"]))
            tgt = dict(zip(data.target["id"], data.target["text"]))
            assert all(len(src[s].split()) == len(tgt[g].split()) for s, g in data.gold)
        elif data.labelled:
            assert data.gold is None and len(data.source) == len(data.target) == n
        return
    ds = load_examples(t, split, lang, data_dir=root)
    want = toy_examples(t, split, lang, n=n)
    assert len(ds) == n
    got = {tuple(str(r[c]) for c in ds.column_names if c != "id") for r in ds}
    exp = {tuple(str(r[c]) for c in ds.column_names if c != "id") for r in want}
    if got != exp:  # files a layout leaves unlabelled: same inputs, no labels
        strip = {"label": -1, "answers": {"text": [], "answer_start": []}}
        for r in want:
            for k, v in strip.items():
                if k in r:
                    r[k] = v
            if "tags" in r:
                r["tags"] = [-1] * len(r["tags"])
        exp = {tuple(str(r[c]) for c in ds.column_names if c != "id") for r in want}
        assert got == exp
    assert len(set(ds["id"])) == len(ds)


@pytest.mark.parametrize("layout", ["jsonl", "xtreme", "original", "jiant"])
def test_round_trip_every_task(tmp_path, layout):
    written = write_toy_data(tmp_path, ALL, languages=LANGS, n_train=6, n_eval=4, layout=layout)
    assert set(written) == set(ALL) - {"ANLI+"} | {"ANLI", "SNLI"}  # the composite's components
    for name, splits in written.items():
        t = get_task(name)
        for split, langs in splits.items():
            for lang, files in langs.items():
                assert all(p.is_file() for p in files.values())
                _check_split(t, split, lang, tmp_path, 6 if split == "train" else 4)
    # the composite reads from its components' files
    assert len(load_examples("ANLI+", "train", data_dir=tmp_path)) == 18
    # no temporary files are left behind
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


def test_jsonl_splits_and_languages(tmp_path):
    written = write_toy_data(tmp_path, ["XNLI", "Tatoeba", "MLQA"], languages=["de", "ja"], n_train=3, n_eval=2)
    assert sorted(written["XNLI"]["train"]) == ["en"]
    assert sorted(written["XNLI"]["test"]) == ["de", "en"]  # ja is not an XNLI language; en always
    assert sorted(written["Tatoeba"]["test"]) == ["de", "ja"]  # Tatoeba has no English side to evaluate
    assert written["XNLI"]["dev"]["de"] == {"data": tmp_path / "xnli/dev-de.jsonl"}
    assert set(written["Tatoeba"]["test"]["ja"]) == {"source", "target"}
    ds = load_examples("XNLI", "test", "de", data_dir=tmp_path, require_labels=True)
    assert ds["id"] == ["test-de-0", "test-de-1"]


def test_default_languages_are_the_registry_s(tmp_path):
    written = write_toy_data(tmp_path, "PAN-X", n_train=2, n_eval=2)
    assert sorted(written["PAN-X"]["test"]) == sorted(get_task("PAN-X").languages)
    assert len(written["PAN-X"]["test"]) == 40


def test_deterministic_per_seed(tmp_path):
    tasks = ["XNLI", "PAN-X", "SQuAD-v2.0", "HellaSwag", "BUCC"]
    for name in ("a", "b", "c"):
        write_toy_data(tmp_path / name, tasks, languages=["de", "zh"], n_train=5, n_eval=3,
                       seed=1 if name != "c" else 2)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    assert toy_texts(tasks, languages=["de"], n_train=5, n_eval=3, seed=1) == \
        toy_texts(tasks, languages=["de"], n_train=5, n_eval=3, seed=1)


def test_toy_languages():
    assert toy_distance("en") == 0 and toy_language("en").word("house") == "house"
    d = {x: toy_distance(x) for x in ("de", "es", "sw", "zh", "ar")}
    assert 0 < d["de"] < d["es"] < d["sw"] < d["zh"] and d["ar"] > d["sw"]
    zh, ru = toy_language("zh"), toy_language("ru")
    words = [w for w in ("house", "river", "tree", "book", "child", "city", "bird", "road", "dog", "cat")]
    assert any(zh.word(w) != w for w in words)
    assert all("\u4e00" <= c <= "\u9fff" for w in words if zh.replaces(w) for c in zh.word(w))
    assert all("\u0400" <= c <= "\u04ff" for w in words if ru.replaces(w) for c in ru.word(w))
    assert toy_language("German") is toy_language("de")
    # replaced shares grow with the distance
    vocab = [f"w{i}x" for i in range(400)]
    share = {x: sum(toy_language(x).replaces(w) for w in vocab) / len(vocab) for x in ("de", "es", "zh")}
    assert share["de"] < share["es"] < share["zh"]


def _marker_rule(train):
    """Label by the marker word of text_b, as learned from the English training data."""
    vocab = collections.defaultdict(collections.Counter)
    for r in train:
        for w in r["text_b"].split():
            vocab[w][r["label"]] += 1
    markers = {w: c.most_common(1)[0][0] for w, c in vocab.items() if len(c) == 1 and sum(c.values()) >= 3}

    def predict(r):
        hits = [markers[w] for w in r["text_b"].split() if w in markers]
        return hits[0] if hits else -1

    return predict


def test_patterns_are_learnable_in_english_and_transfer_less_far_away():
    train = toy_examples("XNLI", "train", "en", n=400)
    rule = _marker_rule(train)
    acc = {}
    for lang in ("en", "de", "sw", "zh"):
        test = toy_examples("XNLI", "test", lang, n=300)
        acc[lang] = sum(rule(r) == r["label"] for r in test) / len(test)
    assert acc["en"] > 0.95
    assert acc["en"] >= acc["de"] > acc["zh"] and acc["de"] > acc["sw"]
    # tags follow the words; QA answers follow a marker the question repeats
    pos = toy_examples("UD-POS", "train", "en", n=50)
    tag_of = collections.defaultdict(set)
    for r in pos:
        for w, tag in zip(r["tokens"], r["tags"]):
            tag_of[w].add(tag)
    assert all(len(tags) == 1 for tags in tag_of.values())
    for r in toy_examples("SQuAD-v2.0", "train", "en", n=30):
        marker = r["question"].split()[2]
        if r["answers"]["text"]:
            start = r["answers"]["answer_start"][0]
            assert r["context"][start:].startswith(r["answers"]["text"][0])
            assert r["context"][:start].split()[-1] == marker
        else:
            assert marker not in r["context"].split()
    for r in toy_examples("CosmosQA", "dev", "en", n=20):
        words = set(r["context"].split())
        overlap = [len(words & set(c.split())) for c in r["choices"]]
        assert overlap[r["label"]] >= 2 and overlap[r["label"]] == max(overlap)


def test_qa_answers_in_every_language():
    for lang in ("ar", "th", "ko", "hi"):
        for r in toy_examples("XQuAD", "test", lang, n=10):
            start = r["answers"]["answer_start"][0]
            text = r["answers"]["text"][0]
            assert r["context"][start:start + len(text)] == text


def test_texts_cover_the_written_files(tmp_path):
    write_toy_data(tmp_path, ["XNLI", "BUCC"], languages=["ru"], n_train=3, n_eval=2)
    texts = toy_texts(["XNLI", "BUCC"], languages=["ru"], n_train=3, n_eval=2)
    ds = load_examples("XNLI", "dev", "ru", data_dir=tmp_path)
    assert set(ds["text_a"]) <= set(texts)
    bucc = load_retrieval("BUCC", "dev", "ru", data_dir=tmp_path)
    assert set(bucc.source["text"]) <= set(texts)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="n_train=0"):
        write_toy_data(tmp_path, ["XNLI"], n_train=0)
    with pytest.raises(ValueError, match="layout='hf'"):
        write_toy_data(tmp_path, ["XNLI"], layout="hf")
    with pytest.raises(ValueError, match="unknown task"):
        write_toy_data(tmp_path, ["XNLX"])
    with pytest.raises(ValueError, match="language"):
        write_toy_data(tmp_path, ["XNLI"], languages=["xx-not-a-language"])
    with pytest.raises(ValueError, match="seed="):
        write_toy_data(tmp_path, ["XNLI"], seed="1")
    with pytest.raises(ValueError, match="retrieval"):
        toy_examples("BUCC", "dev", "de")
    assert not any(tmp_path.iterdir())  # nothing written on bad arguments
