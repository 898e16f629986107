"""Retrieval (BUCC, Tatoeba) from pooled hidden states of a tiny random-init XLM-R."""

import os
import random
from collections import namedtuple
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from xdist.train import metrics  # noqa: E402
from xdist.train.retrieval import (  # noqa: E402
    POOLINGS,
    RetrievalResult,
    default_layer,
    embed,
    evaluate_retrieval,
)
from xdist.train.toy import make_tiny_model, make_tokenizer  # noqa: E402

WORDS = ("cat dog house tree river stone light water bread table window garden music night "
         "Katze Hund Haus Baum Fluss Stein Licht Wasser Brot Tisch Fenster Garten Musik Nacht "
         "chat chien maison arbre pierre lumière eau pain fenêtre jardin nuit").split()


def _sentences(n, seed, lo=2, hi=12):
    rng = random.Random(seed)
    out = set()
    while len(out) < n:
        out.add(" ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))))
    return sorted(out)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import XLMRobertaModel

    torch.set_num_threads(1)
    tok = make_tokenizer([" ".join(WORDS)] * 3 + _sentences(40, 0), vocab_size=120)
    path = make_tiny_model(tmp_path_factory.mktemp("tiny"), tok, seed=7)
    model = XLMRobertaModel.from_pretrained(path, add_pooling_layer=False)
    return model, tok


def _retrieval_data(source, target, gold=None):
    """A RetrievalData from readers.py if it exists, else a stand-in with the same fields."""
    from datasets import Dataset

    try:
        from xdist.train.readers import RetrievalData
    except ImportError:
        RetrievalData = namedtuple("RetrievalData", "source target gold")
    src = Dataset.from_dict({"id": [i for i, _ in source], "text": [t for _, t in source]})
    trg = Dataset.from_dict({"id": [i for i, _ in target], "text": [t for _, t in target]})
    return RetrievalData(source=src, target=trg, gold=gold)


def _manual(model, tok, sentence, layer, pooling):
    """Pooled hidden state of one sentence, unpadded, straight from the model."""
    enc = tok([sentence], return_tensors="pt")
    with torch.no_grad():
        h = model(**enc, output_hidden_states=True).hidden_states[layer][0]
    return {"mean": h.mean(0), "cls": h[0], "max": h.max(0).values}[pooling].numpy()


# ---- embed ------------------------------------------------------------------


@pytest.mark.parametrize("pooling", POOLINGS)
def test_sorted_batches_restore_order(tiny, pooling):
    model, tok = tiny
    sents = _sentences(11, 1, lo=1, hi=20)
    random.Random(2).shuffle(sents)
    batched = embed(model, tok, sents, layer=1, pooling=pooling, batch_size=4)
    single = np.stack([embed(model, tok, [s], layer=1, pooling=pooling, batch_size=1)[0] for s in sents])
    assert batched.dtype == np.float32 and batched.shape == (11, model.config.hidden_size)
    np.testing.assert_allclose(batched, single, atol=1e-5, rtol=0)
    # rows really differ, so a permutation would have been caught
    assert np.abs(batched[0] - batched[1]).max() > 1e-3


@pytest.mark.parametrize("pooling", POOLINGS)
def test_pooling_matches_model_and_ignores_padding(tiny, pooling):
    model, tok = tiny
    short, long = "cat dog", " ".join(WORDS[:25])
    got = embed(model, tok, [short, long], layer=2, pooling=pooling)  # short is padded
    np.testing.assert_allclose(got[0], _manual(model, tok, short, 2, pooling), atol=1e-5, rtol=0)
    np.testing.assert_allclose(got[1], _manual(model, tok, long, 2, pooling), atol=1e-5, rtol=0)
    if pooling == "mean":  # averaging the padded positions too would give something else
        enc = tok([short, long], padding=True, return_tensors="pt")
        with torch.no_grad():
            h = model(**enc, output_hidden_states=True).hidden_states[2][0]
        assert np.abs(h.mean(0).numpy() - got[0]).max() > 1e-3


def test_layers_and_negative_index(tiny):
    model, tok = tiny
    sents = ["cat dog house", "Katze Hund"]
    emb0 = embed(model, tok, sents, layer=0)
    np.testing.assert_allclose(emb0[1], _manual(model, tok, sents[1], 0, "mean"), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(embed(model, tok, sents, layer=-1), embed(model, tok, sents, layer=2))
    assert np.abs(emb0 - embed(model, tok, sents, layer=2)).max() > 1e-3


def test_eval_mode_and_training_flag_restored(tiny):
    model, tok = tiny
    model.train()
    try:
        a = embed(model, tok, ["cat dog", "house tree"], layer=1)
        b = embed(model, tok, ["cat dog", "house tree"], layer=1)
        assert model.training
        np.testing.assert_array_equal(a, b)  # dropout was off
    finally:
        model.eval()


def test_truncation_and_empty(tiny):
    model, tok = tiny
    long = " ".join(WORDS * 2)
    np.testing.assert_allclose(
        embed(model, tok, [long], layer=1, max_length=6),
        embed(model, tok, [" ".join(WORDS[:20])], layer=1, max_length=6),
        atol=1e-6,
    )
    assert embed(model, tok, [], layer=1).shape == (0, model.config.hidden_size)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"layer": 3}, r"layer=3 is out of range: the encoder has 3 hidden states.*\[-3, 2\]"),
        ({"layer": -4}, r"layer=-4 is out of range"),
        ({"layer": 1.0}, r"layer=1.0 is not valid"),
        ({"layer": True}, r"layer=True is not valid"),
        ({"layer": 1, "pooling": "sum"},
         r"pooling='sum' is not valid: expected one of \['mean', 'cls', 'max'\]"),
        ({"layer": 1, "batch_size": 0}, r"batch_size=0 is not valid"),
        ({"layer": 1, "max_length": 1}, r"max_length=1 is not valid"),
    ],
)
def test_bad_arguments(tiny, kwargs, match):
    model, tok = tiny
    with pytest.raises(ValueError, match=match):
        embed(model, tok, ["cat"], **kwargs)


def test_bad_sentences(tiny):
    model, tok = tiny
    with pytest.raises(ValueError, match=r"sentences\[1\] is None"):
        embed(model, tok, ["cat", None], layer=1)
    with pytest.raises(ValueError, match="single string"):
        embed(model, tok, "cat dog", layer=1)


def test_default_layer():
    layers = {n: default_layer(SimpleNamespace(num_hidden_layers=n)) for n in (1, 2, 6, 12, 16, 24)}
    assert layers == {1: 1, 2: 1, 6: 4, 12: 8, 16: 12, 24: 14}
    assert default_layer(SimpleNamespace(config=SimpleNamespace(num_hidden_layers=24))) == 14
    with pytest.raises(ValueError, match="num_hidden_layers"):
        default_layer(SimpleNamespace(hidden_size=4))


# ---- evaluate_retrieval -----------------------------------------------------


def test_tatoeba_identical_sentences(tiny):
    model, tok = tiny
    sents = _sentences(25, 3)
    data = _retrieval_data(list(enumerate(sents)), list(enumerate(sents)))
    res = evaluate_retrieval("tatoeba", model, tok, data, batch_size=8)
    assert isinstance(res, RetrievalResult)
    assert res.scores == {"accuracy": 100.0}
    assert (res.layer, res.pooling) == (default_layer(model.config), "mean") == (1, "mean")
    assert res.predictions == list(range(25))
    assert res.settings == {"layer": 1, "pooling": "mean", "max_length": 512}
    # explicit negative layer is recorded as the hidden_states index
    assert evaluate_retrieval("Tatoeba", model, tok, data, layer=-1, pooling="cls").layer == 2


def test_tatoeba_rejects_unaligned(tiny):
    model, tok = tiny
    data = _retrieval_data([(0, "cat")], [(0, "cat"), (1, "dog")])
    with pytest.raises(ValueError, match="1 source and 2 target"):
        evaluate_retrieval("Tatoeba", model, tok, data)


def _bucc_data(n_planted=8, n_distract=20, seed=5):
    rng = random.Random(seed)
    pool = _sentences(n_planted + 2 * n_distract, seed, lo=4, hi=14)
    planted = pool[:n_planted]
    src_only, trg_only = pool[n_planted:n_planted + n_distract], pool[n_planted + n_distract:]
    src = [(f"de-{i:09d}", t) for i, t in enumerate(planted + src_only)]
    trg = [(f"en-{i:09d}", t) for i, t in enumerate(planted + trg_only)]
    gold = [(src[i][0], trg[i][0]) for i in range(n_planted)]
    rng.shuffle(src)
    rng.shuffle(trg)
    return src, trg, gold


def test_bucc_planted_pairs(tiny):
    model, tok = tiny
    src, trg, gold = _bucc_data()
    data = _retrieval_data(src, trg, gold)
    res = evaluate_retrieval("BUCC", model, tok, data, batch_size=16)
    assert set(res.scores) == {"f1", "precision", "recall", "threshold"}
    assert res.scores["f1"] >= 90 and res.scores["recall"] == 100.0
    assert set(gold) <= set(res.predictions)
    # the same numbers as the metric module on the same embeddings
    x = embed(model, tok, [t for _, t in src], layer=res.layer)
    y = embed(model, tok, [t for _, t in trg], layer=res.layer)
    cands = metrics.bucc_candidates(x, y, source_ids=[i for i, _ in src], target_ids=[i for i, _ in trg])
    assert res.scores == pytest.approx(metrics.bucc_f1(cands, gold))
    # a fixed threshold (as tuned on dev) reproduces it; an unreachable one extracts nothing
    fixed = evaluate_retrieval("bucc2018", model, tok, data, threshold=res.scores["threshold"])
    assert fixed.scores == pytest.approx(res.scores)
    none = evaluate_retrieval("BUCC", model, tok, data, threshold=1e6)
    assert none.scores["f1"] == 0.0 and none.predictions == []


def test_bucc_without_gold(tiny):
    model, tok = tiny
    src, trg, gold = _bucc_data(4, 6)
    with pytest.raises(ValueError, match="threshold"):
        evaluate_retrieval("BUCC", model, tok, _retrieval_data(src, trg, None))
    res = evaluate_retrieval("BUCC", model, tok, _retrieval_data(src, trg, None), threshold=0.0)
    assert np.isnan(res.scores["f1"]) and res.scores["threshold"] == 0.0
    assert set(gold) <= set(res.predictions)


def test_bucc_repeated_text_is_never_predicted(tiny):
    model, tok = tiny
    src, trg, gold = _bucc_data(4, 6)
    dup = src[0][1]
    src = src + [("de-000000099", dup)]  # a text that occurs twice on the source side
    res = evaluate_retrieval("BUCC", model, tok, _retrieval_data(src, trg, gold))
    bad = {i for i, t in src if t == dup}
    assert not bad & {s for s, _ in res.predictions}


def test_evaluate_bad_input(tiny):
    model, tok = tiny
    data = _retrieval_data([(0, "cat")], [(0, "cat")])
    with pytest.raises(ValueError, match="task='XNLI' is not a retrieval task"):
        evaluate_retrieval("XNLI", model, tok, data)
    with pytest.raises(ValueError, match="expected a RetrievalData"):
        evaluate_retrieval("Tatoeba", model, tok, {"source": [], "target": []})
    with pytest.raises(ValueError, match="layer=7 is out of range"):
        evaluate_retrieval("Tatoeba", model, tok, data, layer=7)
    no_id = SimpleNamespace(source={"text": ["cat"]}, target={"text": ["cat"]}, gold=[("0", "0")])
    with pytest.raises(ValueError, match="data.source has no 'id' column"):
        evaluate_retrieval("BUCC", model, tok, no_id)
