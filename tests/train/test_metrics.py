"""xdist.train.metrics against the official scoring scripts' outputs.

The golden values in tests/fixtures/metrics/golden/ were produced by running
the official scripts on tests/fixtures/metrics/inputs/ (make_golden.sh names
each script and commit); neither the scripts nor seqeval/faiss are needed here.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xdist.train import metrics as M

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "metrics"
TOL = 1e-9


def inp(name):
    return json.loads((FIX / "inputs" / name).read_text(encoding="utf-8"))


def gold(name):
    return json.loads((FIX / "golden" / name).read_text(encoding="utf-8"))["cases"]


def close(a, b, tol=TOL):
    return math.isclose(a, b, rel_tol=0, abs_tol=tol)


# ---- classification ----------------------------------------------------------


def test_accuracy_matches_xtreme():
    cls, g = inp("classification.json"), gold("accuracy.json")
    got = M.accuracy(cls["xnli"]["labels"], cls["xnli"]["predictions"])
    assert close(got["accuracy"], g["xnli"]["accuracy"])


@pytest.mark.parametrize("case", ["qqp", "qqp_no_positive_prediction"])
def test_binary_f1_matches_sklearn(case):
    c, g = inp("classification.json")[case], gold("accuracy.json")[case]
    got = M.binary_f1(c["labels"], c["predictions"], positive=1)
    for k in ("f1", "precision", "recall"):
        assert close(got[k], g[k]), k
    assert close(M.accuracy(c["labels"], c["predictions"])["accuracy"], g["accuracy"])


# ---- tagging -------------------------------------------------------------------

TAGGING = [(t, k) for t, cases in inp("tagging.json").items() for k in cases]


@pytest.mark.parametrize("task,case", TAGGING)
@pytest.mark.parametrize(
    "version,golden", [("1.x", "seqeval_1.2.2.json"), ("0.0.12", "seqeval_0.0.12.json")]
)
def test_seqeval_f1_matches_seqeval(task, case, version, golden):
    c = inp("tagging.json")[task][case]
    g = gold(golden)[task][case]
    got = M.seqeval_f1(c["labels"], c["predictions"], seqeval_version=version)
    for k in ("f1", "precision", "recall"):
        assert close(got[k], g[k]), (k, got[k], g[k])


def test_seqeval_versions_differ_on_cconj_sconj():
    c = inp("tagging.json")["udpos"]["cconj_sconj"]
    new = M.seqeval_f1(c["labels"], c["predictions"], seqeval_version="1.x")["f1"]
    old = M.seqeval_f1(c["labels"], c["predictions"], seqeval_version="0.0.12")["f1"]
    assert new != old


def test_tag_accuracy_counts_tokens():
    c = inp("tagging.json")["udpos"]["random"]
    flat_g = [t for s in c["labels"] for t in s]
    flat_p = [t for s in c["predictions"] for t in s]
    expected = 100 * sum(a == b for a, b in zip(flat_g, flat_p)) / len(flat_g)
    assert close(M.tag_accuracy(c["labels"], c["predictions"])["accuracy"], expected)


# ---- QA ------------------------------------------------------------------------------


def test_squad_v1_matches_official_and_warns_for_missing():
    g = gold("squad_v1.json")["dev"]
    with pytest.warns(M.MissingPredictionWarning, match="q05"):
        got = M.squad_v1(inp("squad_v1/dev.json"), inp("squad_v1/predictions.json"))
    assert close(got["f1"], g["f1"]) and close(got["em"], g["exact_match"])


def test_squad_v1_accepts_mapping_of_answers():
    doc = inp("squad_v1/dev.json")
    answers = {
        qa["id"]: [a["text"] for a in qa["answers"]]
        for art in doc["data"]
        for p in art["paragraphs"]
        for qa in p["qas"]
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.MissingPredictionWarning)
        a = M.squad_v1(answers, inp("squad_v1/predictions.json"))
        b = M.squad_v1(doc["data"], inp("squad_v1/predictions.json"))
    assert a == b


V2 = {
    "plain": {},
    "na_probs": {"na_probs": "na_probs.json"},
    "na_probs_thresh_0.5": {"na_probs": "na_probs.json", "na_prob_thresh": 0.5},
}
V2_KEYS = {
    "f1": "f1", "em": "exact", "n": "total",
    "has_ans_f1": "HasAns_f1", "has_ans_em": "HasAns_exact", "has_ans_n": "HasAns_total",
    "no_ans_f1": "NoAns_f1", "no_ans_em": "NoAns_exact", "no_ans_n": "NoAns_total",
    "best_f1": "best_f1", "best_f1_thresh": "best_f1_thresh",
    "best_em": "best_exact", "best_em_thresh": "best_exact_thresh",
}  # fmt: skip


@pytest.mark.parametrize("case", list(V2))
def test_squad_v2_matches_official(case):
    kw = dict(V2[case])
    if "na_probs" in kw:
        kw["na_probs"] = inp("squad_v2/" + kw["na_probs"])
    got = M.squad_v2(inp("squad_v2/dev.json"), inp("squad_v2/predictions.json"), **kw)
    g = gold("squad_v2.json")[case]
    assert set(got) == set(V2_KEYS)
    for ours, theirs in V2_KEYS.items():
        if theirs in g:
            assert close(got[ours], g[theirs]), (ours, got[ours], g[theirs])
        else:
            assert math.isnan(got[ours]), ours


def test_squad_v2_needs_every_prediction():
    preds = dict(inp("squad_v2/predictions.json"))
    del preds["a3"]
    with pytest.raises(ValueError, match="a3"):
        M.squad_v2(inp("squad_v2/dev.json"), preds)


@pytest.mark.parametrize("lang", ["en", "es", "de", "vi", "hi", "ar", "zh"])
def test_mlqa_matches_official(lang):
    g = gold("mlqa.json")[lang]
    got = M.mlqa(
        inp(f"mlqa/dev-context-{lang}-question-{lang}.json"),
        inp(f"mlqa/predictions-{lang}.json"),
        language=lang,
    )
    assert close(got["f1"], g["f1"]) and close(got["em"], g["exact_match"])


def test_mlqa_language_checked():
    with pytest.raises(ValueError, match="language='fr'"):
        M.mlqa({"q": ["x"]}, {"q": "x"}, language="fr")
    # ISO 639-3 codes resolve through the languages table
    assert M.mlqa({"q": ["der Hund"]}, {"q": "Hund"}, language="deu")["em"] == 100.0


def test_normalize_answer_examples():
    assert M.normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert M.normalize_answer("北京大学，", "zh") == "北 京 大 学"
    assert M.normalize_answer("الولايات", "ar") == "ولايات"
    assert M.normalize_answer("la ciudad de México", "es") == "ciudad de méxico"


# ---- retrieval ------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["random", "ties"])
def test_bucc_f1_matches_xtreme(case):
    c = inp("bucc.json")[case]
    g = gold("bucc.json")[case]
    got = M.bucc_f1([tuple(x) for x in c["candidates"]], c["gold"])
    assert close(got["threshold"], g["best-threshold"])
    assert close(got["f1"], g["F1"]) and close(got["precision"], g["precision"])
    assert close(got["recall"], g["recall"])


def test_bucc_f1_fixed_threshold_and_dataframe_input():
    c = inp("bucc.json")["random"]
    g = gold("bucc.json")["fixed_threshold"]
    df = pd.DataFrame(c["candidates"], columns=["source", "target", "score"])
    got = M.bucc_f1(df, ["\t".join(x) for x in c["gold"]], threshold=g["threshold"])
    for k in ("f1", "precision", "recall", "threshold"):
        assert close(got[k], g[k]), k


def test_bucc_threshold_when_best_is_last_candidate():
    # The official code raises IndexError here; xdist keeps every candidate.
    got = M.bucc_f1({("a", "x"): 0.9, ("b", "y"): 0.5}, [("a", "x"), ("b", "y")])
    assert got["f1"] == 100.0 and got["threshold"] == 0.5


def test_bucc_candidates_match_xtreme_mine_bitext():
    e = inp("embeddings.json")["mining"]
    g = gold("retrieval.json")["mining"]
    got = M.bucc_candidates(np.array(e["x"]), np.array(e["y"]))
    assert got[["source", "target"]].values.tolist() == [[a, b] for a, b, _ in g]
    np.testing.assert_allclose(got["score"].to_numpy(), [s for _, _, s in g], rtol=1e-6)


def test_tatoeba_matches_xtreme():
    e = inp("embeddings.json")["tatoeba"]
    g = gold("retrieval.json")["tatoeba"]
    src, tgt = np.array(e["source"]), np.array(e["target"])
    assert M.nearest_neighbors(tgt, src).tolist() == g["predictions"]
    assert close(M.tatoeba_accuracy(src, tgt)["accuracy"], g["accuracy"])


# ---- dispatch and errors -------------------------------------------------------------------


def test_score_dispatch_keys_start_with_registry_metrics():
    from xdist.train.tasks import get_task

    tag = inp("tagging.json")
    cases = {
        "XNLI": (["a", "b"], ["a", "a"], {}),
        "UD-POS": (tag["udpos"]["runs"]["labels"], tag["udpos"]["runs"]["predictions"], {}),
        "PAN-X": (tag["panx"]["basic"]["labels"], tag["panx"]["basic"]["predictions"], {}),
        "MLQA": ({"q": ["die Katze"]}, {"q": "Katze"}, {"language": "de"}),
        "XQuAD": ({"q": ["die Katze"]}, {"q": "Katze"}, {}),
        "SQuAD-v2.0": ({"q": []}, {"q": ""}, {}),
        "BUCC": ([("s", "t")], {("s", "t"): 1.0}, {}),
        "Tatoeba": ([0, 1], [0, 0], {}),
        "QQP": ([1, 0], [1, 1], {}),
        "CCG": ([["1", "2"]], [["1", "3"]], {}),
        "HellaSwag": ([0, 3], [0, 3], {}),
    }
    for name, (lab, pred, kw) in cases.items():
        got = M.score(name, lab, pred, **kw)
        metrics = get_task(name).metrics
        assert tuple(got)[: len(metrics)] == metrics, name
    assert M.score("XQuAD", {"q": ["die Katze"]}, {"q": "Katze"})["em"] == 0.0  # v1.1 keeps "die"


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: M.accuracy([1, 2], [1]), "differ in length"),
        (lambda: M.accuracy([], []), "empty"),
        (lambda: M.accuracy("abc", "abd"), "sequence"),
        (lambda: M.seqeval_f1([["O"]], [["O", "O"]]), "sentence 0"),
        (lambda: M.seqeval_f1([["O"]], [["O"]], seqeval_version="2"), "seqeval_version"),
        (lambda: M.squad_v1({"q": ["a"]}, ["a"]), "mapping"),
        (lambda: M.squad_v1({"q": []}, {"q": ""}), "no gold answer"),
        (lambda: M.bucc_f1(pd.DataFrame({"src": [1]}), [("a", "b")]), "lacks columns"),
        (lambda: M.bucc_f1({("a", "b"): 1.0}, []), "gold is empty"),
        (lambda: M.tatoeba_accuracy(np.ones((2, 3)), np.ones((3, 3))), "rows"),
        (lambda: M.bucc_candidates(np.ones((2, 3)), np.ones((2, 3)), margin="x"), "margin"),
        (lambda: M.score("MLQA", {"q": ["a"]}, {"q": "a"}), "language"),
        (lambda: M.score("NoSuchTask", [1], [1]), "unknown task"),
    ],
)
def test_bad_input_raises_valueerror(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_metric_keys_do_not_change_with_arguments():
    gold_v2, preds = {"q1": ["x"], "q2": []}, {"q1": "x", "q2": ""}
    assert set(M.squad_v2(gold_v2, preds)) == set(
        M.squad_v2(gold_v2, preds, na_probs={"q1": 0.1, "q2": 0.9})
    )
    assert set(M.bucc_f1({("a", "b"): 1.0}, [("a", "b")])) == set(
        M.bucc_f1({("a", "b"): 1.0}, [("a", "b")], threshold=2.0)
    )


# ---- blockwise nearest-neighbour search ---------------------------------------------------------


def _brute_force_mining(x, y, k, margin, dtype):
    """The full-matrix mining (one stable descending sort per row), as a reference."""

    def unit(a):
        a = np.asarray(a, dtype=np.float64)
        norm = np.linalg.norm(a, axis=1, keepdims=True)
        return (a / np.where(norm == 0, 1.0, norm)).astype(dtype)

    x, y = unit(x), unit(y)
    sim = x @ y.T
    kx, ky = min(k, len(y)), min(k, len(x))
    x2y = np.argsort(-sim, axis=1, kind="stable")[:, :kx]
    y2x = np.argsort(-sim.T, axis=1, kind="stable")[:, :ky]
    x2y_sim = np.take_along_axis(sim, x2y, axis=1).astype(np.float64)
    y2x_sim = np.take_along_axis(sim.T, y2x, axis=1).astype(np.float64)
    x2y_mean, y2x_mean = x2y_sim.mean(axis=1), y2x_sim.mean(axis=1)
    m = {"ratio": np.divide, "distance": np.subtract, "absolute": lambda a, b: a}[margin]
    fwd = m(x2y_sim, (x2y_mean[:, None] + y2x_mean[x2y]) / 2)
    bwd = m(y2x_sim, (y2x_mean[:, None] + x2y_mean[y2x]) / 2)
    src = np.r_[np.arange(len(x)), y2x[np.arange(len(y)), bwd.argmax(axis=1)]]
    trg = np.r_[x2y[np.arange(len(x)), fwd.argmax(axis=1)], np.arange(len(y))]
    scores = np.r_[fwd.max(axis=1), bwd.max(axis=1)]
    seen_s, seen_t, rows = set(), set(), []
    for i in np.argsort(-scores, kind="stable"):
        if src[i] not in seen_s and trg[i] not in seen_t:
            seen_s.add(src[i])
            seen_t.add(trg[i])
            if scores[i] > 0:
                rows.append((int(src[i]), int(trg[i]), float(scores[i])))
    return rows, sim.argmax(axis=1)


def _search_cases():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(300, 24)), rng.normal(size=(257, 24))
    y[:150] = x[rng.permutation(300)[:150]] + rng.normal(scale=0.5, size=(150, 24))
    # exact ties everywhere: one-hot rows, duplicates and zero rows
    hx = np.eye(9)[rng.integers(0, 9, 120)] * (rng.random((120, 1)) > 0.15)
    hy = np.eye(9)[rng.integers(0, 9, 95)] * (rng.random((95, 1)) > 0.15)
    return {"random": (x, y), "ties": (hx, hy), "tiny": (x[:3], y[:2])}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["random", "ties", "tiny"])
@pytest.mark.parametrize("k,margin", [(4, "ratio"), (1, "distance"), (7, "absolute")])
@pytest.mark.parametrize("block,groups", [(37, 5), (64, 64), (2, 1)])
def test_blockwise_search_equals_brute_force(monkeypatch, dtype, case, k, margin, block, groups):
    if block == 2 and case == "random":
        pytest.skip("slow, and covered by ties/tiny")
    monkeypatch.setattr(M, "_DTYPE", dtype)
    monkeypatch.setattr(M, "_BLOCK", block)
    monkeypatch.setattr(M, "_GROUPS", groups)
    x, y = _search_cases()[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 / 0 margins of zero rows, in both
        expected, argmax = _brute_force_mining(x, y, k, margin, dtype)
        got = M.bucc_candidates(x, y, k=k, margin=margin)
    assert [[s, t] for s, t, _ in expected] == got[["source", "target"]].values.tolist()
    # BLAS may round a float32 tile and the full matrix differently (last bit)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got["score"].to_numpy(float), [sc for *_, sc in expected], rtol=rtol)
    assert M.nearest_neighbors(x, y).tolist() == argmax.tolist()


def test_blockwise_search_memory_is_bounded(monkeypatch):
    import tracemalloc

    monkeypatch.setattr(M, "_BLOCK", 512)
    rng = np.random.default_rng(3)
    n, d = 6000, 16
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x + rng.normal(scale=0.3, size=(n, d))).astype(np.float32)
    full = n * n * 8  # the float64 similarity matrix the search used to build (288 MB)
    M.bucc_candidates(x[:50], y[:50])  # one-time costs (lazy imports) are not the search's
    M.tatoeba_accuracy(x[:50], y[:50])
    tracemalloc.start()
    try:
        mined = M.bucc_candidates(x, y)
        acc = M.tatoeba_accuracy(x, y)["accuracy"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < full / 20, peak  # measured: about 5 MB with 512 x 512 tiles
    assert len(mined) > n / 2 and acc > 50
