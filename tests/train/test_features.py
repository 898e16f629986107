"""Tests of xdist.train.features: encode, Collator, decode, score_predictions."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
datasets = pytest.importorskip("datasets")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from datasets import Dataset  # noqa: E402

from xdist.train import features as F  # noqa: E402
from xdist.train.tasks import get_task  # noqa: E402
from xdist.train.toy import make_tokenizer  # noqa: E402

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital of France and Berlin is the capital of Germany.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Who is the president of the republic?",
    "Angela Merkel visited Paris in May.",
    "A man is playing a guitar on the street.",
]


@pytest.fixture(scope="module")
def tok():
    datasets.disable_progress_bars()
    return make_tokenizer(CORPUS * 3, vocab_size=150)


def _pairs(labels=(2, 0, 1)):
    n = len(labels)
    return Dataset.from_dict({
        "id": [f"p{i}" for i in range(n)],
        "language": ["en"] * n,
        "text_a": ["A man is playing a guitar.", "The fox jumps.", "Paris is the capital of France."][:n],
        "text_b": ["A man plays music.", "The dog sleeps.", "France has a capital."][:n],
        "label": list(labels),
    })


PANX_TAGS = get_task("PAN-X").labels  # B-LOC B-ORG B-PER I-LOC I-ORG I-PER O


def _tagging():
    t = PANX_TAGS.index
    return Dataset.from_dict({
        "id": ["s0", "s1"],
        "language": ["de", "de"],
        "tokens": [["Angela", "Merkel", "visited", "Paris", "."], ["Der", "Fuchs", "", "springt"]],
        "tags": [[t("B-PER"), t("I-PER"), t("O"), t("B-LOC"), t("O")], [t("O"), t("B-ORG"), t("O"), t("O")]],
    })


LONG_CONTEXT = ("The quick brown fox jumps over the lazy dog. " * 5) + "Berlin is the capital of Germany."


def _qa(answers=None, task_context=LONG_CONTEXT):
    answers = answers or [
        {"text": ["Germany"], "answer_start": [task_context.index("Germany")]},
        {"text": ["Paris"], "answer_start": [0]},
    ]
    return Dataset.from_dict({
        "id": ["q1", "q2"],
        "language": ["en", "en"],
        "context": [task_context, "Paris is the capital of France."],
        "question": ["  Berlin is the capital of which country?", "Who is the capital of France?"],
        "answers": answers,
    })


def _choices():
    return Dataset.from_dict({
        "id": ["m0", "m1"],
        "language": ["en", "en"],
        "context": ["A man is playing a guitar.", ""],
        "question": ["What does he play?", "Where is Paris?"],
        "choices": [["a guitar", "the fox", "music", "France"], ["France", "Germany", "the dog", "a street"]],
        "label": [0, 1],
    })


# --------------------------------------------------------------------------
# sentence pairs


def test_pairs_encode_decode_score(tok):
    ex = _pairs()
    feats = F.encode("XNLI", ex, tok)
    assert set(feats.column_names) == {"input_ids", "attention_mask", "length", "labels", "example_index", "language"}
    assert feats["labels"][:] == [2, 0, 1]
    assert feats["example_index"][:] == [0, 1, 2]
    assert feats["language"][:] == ["en"] * 3
    for i in range(3):
        want = tok(ex[i]["text_a"], ex[i]["text_b"])["input_ids"]
        assert feats[i]["input_ids"] == want
        assert feats[i]["length"] == len(want)
    logits = np.eye(3)[[2, 0, 0]]
    preds = F.decode("XNLI", ex, feats, {"logits": logits})
    assert preds == [2, 0, 0]
    assert F.score_predictions("XNLI", ex, preds, language="en")["accuracy"] == pytest.approx(200 / 3)


def test_pairs_truncation(tok):
    ex = _pairs()
    feats = F.encode("XNLI", ex, tok, max_length=12)
    assert max(feats["length"]) == 12
    assert all(len(x) <= 12 for x in feats["input_ids"])
    # both texts keep tokens (longest-first truncation): two segments separated by </s></s>
    assert all(x.count(tok.sep_token_id) == 3 for x in feats["input_ids"])


def test_pairs_unlabelled(tok):
    ex = _pairs(labels=(2, -1, 1))
    with pytest.raises(F.UnlabelledError, match="label -1"):
        F.encode("XNLI", ex, tok, train=True)
    feats = F.encode("XNLI", ex, tok, train=False)
    assert feats["labels"][:] == [2, -100, 1]
    with pytest.raises(F.UnlabelledError, match="1 of 3 examples"):
        F.score_predictions("XNLI", ex, [2, 0, 1], language="en")
    with pytest.raises(ValueError, match="label=7"):
        F.encode("XNLI", _pairs(labels=(7, 0, 1)), tok)


def test_qqp_f1_uses_positive_class(tok):
    ex = _pairs(labels=(1, 0, 1))
    scores = F.score_predictions("QQP", ex, [1, 1, 1], language="en")
    assert scores["accuracy"] == pytest.approx(200 / 3)
    assert scores["f1"] == pytest.approx(80.0)


# --------------------------------------------------------------------------
# tagging


def test_tagging_first_subtoken_rule(tok):
    ex = _tagging()
    feats = F.encode("PAN-X", ex, tok)
    assert "word_index" in feats.column_names
    for i in range(len(ex)):
        words = list(ex[i]["tokens"])
        words = [w or tok.unk_token for w in words]  # an empty word becomes <unk>
        enc = tok(words, is_split_into_words=True)
        assert feats[i]["input_ids"] == enc["input_ids"]
        labels, word_index = feats[i]["labels"], feats[i]["word_index"]
        prev = None
        for pos, w in enumerate(enc.word_ids()):
            first = w is not None and w != prev
            assert labels[pos] == (ex[i]["tags"][w] if first else -100)
            assert word_index[pos] == (w if first else -1)
            prev = w if w is not None else prev
        assert sorted(w for w in word_index if w >= 0) == list(range(len(words)))
    # "Merkel" is several sub-tokens: only its first one is labelled
    enc = tok(list(ex[0]["tokens"]), is_split_into_words=True)
    merkel = [p for p, w in enumerate(enc.word_ids()) if w == 1]
    assert len(merkel) > 1
    assert [feats[0]["labels"][p] for p in merkel] == [PANX_TAGS.index("I-PER")] + [-100] * (len(merkel) - 1)


def _perfect_tag_logits(feats, n_tags):
    width = max(feats["length"])
    logits = np.zeros((len(feats), width + 3, n_tags))  # wider than the features, as padded outputs are
    for f, labels in enumerate(feats["labels"]):
        for pos, lab in enumerate(labels):
            if lab >= 0:
                logits[f, pos, lab] = 5.0
    return logits


def test_tagging_decode_perfect_logits(tok):
    ex = _tagging()
    feats = F.encode("PAN-X", ex, tok, train=False)
    preds = F.decode("PAN-X", ex, feats, {"logits": _perfect_tag_logits(feats, len(PANX_TAGS))})
    assert preds == [list(t) for t in ex["tags"]]
    scores = F.score_predictions("PAN-X", ex, preds, language="de")
    assert scores["f1"] == 100.0


def test_tagging_truncated_words_get_default_tag(tok, caplog):
    ex = _tagging()
    feats = F.encode("PAN-X", ex, tok, max_length=8)
    assert max(feats["length"]) == 8
    kept = {w for w in feats[0]["word_index"] if w >= 0}
    assert kept and len(kept) < len(ex[0]["tokens"])  # some words are cut off
    logits = _perfect_tag_logits(feats, len(PANX_TAGS))
    with caplog.at_level("WARNING", logger="xdist.train.features"):
        preds = F.decode("PAN-X", ex, feats, {"logits": logits})
    assert "default tag 'O'" in caplog.text
    assert [len(p) for p in preds] == [len(t) for t in ex["tokens"]]
    for w, tag in enumerate(preds[0]):
        assert tag == (ex[0]["tags"][w] if w in kept else PANX_TAGS.index("O"))
    assert get_task("UD-POS").labels[F.default_tag("UD-POS")] == "NOUN"
    assert F.default_tag("CCG") == 0


def test_tagging_unlabelled_and_ccg_scoring(tok):
    ex = _tagging().map(lambda r: {"tags": [-1] * len(r["tokens"])})
    with pytest.raises(F.UnlabelledError, match="no gold tags"):
        F.encode("PAN-X", ex, tok, train=True)
    feats = F.encode("PAN-X", ex, tok, train=False)
    assert all(lab == -100 for row in feats["labels"] for lab in row)
    with pytest.raises(F.UnlabelledError, match="without gold tag"):
        F.score_predictions("PAN-X", ex, [[6] * 5, [6] * 4], language="de")
    ccg = Dataset.from_dict({"id": ["c"], "language": ["en"], "tokens": [["The", "dog"]], "tags": [[1200, 7]]})
    feats = F.encode("CCG", ccg, tok)
    preds = F.decode("CCG", ccg, feats, {"logits": _perfect_tag_logits(feats, 1363)})
    assert preds == [[1200, 7]]
    assert F.score_predictions("CCG", ccg, [[1200, 8]], language="en")["accuracy"] == 50.0


# --------------------------------------------------------------------------
# extractive QA


def _context_tokens(feats, f):
    return [p for p, (s, e) in enumerate(feats[f]["offset_mapping"]) if s >= 0]


def test_qa_windows_and_positions(tok):
    ex = _qa()
    kw = dict(max_length=48, doc_stride=20, max_query_length=8)
    train = F.encode("SQuAD-v1.1", ex, tok, train=True, **kw)
    evals = F.encode("SQuAD-v1.1", ex, tok, train=False, **kw)
    assert {"start_positions", "end_positions"} <= set(train.column_names)
    assert "offset_mapping" not in train.column_names
    assert {"offset_mapping", "token_is_max_context"} <= set(evals.column_names)
    assert "start_positions" not in evals.column_names
    assert train["example_index"][:] == evals["example_index"][:]
    ex_index = np.asarray(train["example_index"])
    assert (ex_index == 0).sum() > 2 and (ex_index == 1).sum() == 1  # the long context has several windows
    assert list(ex_index) == sorted(ex_index)
    assert max(train["length"]) == 48
    # the question is cut to max_query_length tokens
    assert len(tok(ex[0]["question"], add_special_tokens=False)["input_ids"]) > 8
    for f in range(len(train)):
        ids = train[f]["input_ids"]
        assert ids.index(tok.sep_token_id) - 1 <= 8
    # the answer lies in the last windows only; other windows point at CLS
    context = ex[0]["context"]
    hits = []
    for f in np.nonzero(ex_index == 0)[0]:
        s, e = train[int(f)]["start_positions"], train[int(f)]["end_positions"]
        off = evals[int(f)]["offset_mapping"]
        if s == 0:
            assert e == 0
            continue
        assert context[off[s][0]:off[e][1]] == "Germany"
        hits.append(int(f))
    assert hits and hits[0] > 0  # not in the first window
    # offsets are [-1, -1] outside the context
    for f in range(len(evals)):
        seq = evals[f]["offset_mapping"]
        ctx = _context_tokens(evals, f)
        assert seq[0] == [-1, -1] and seq[-1] == [-1, -1]
        assert ctx == list(range(ctx[0], ctx[-1] + 1))


def test_qa_doc_stride_is_the_window_step(tok):
    ex = _qa()
    evals = F.encode("SQuAD-v1.1", ex, tok, train=False, max_length=48, doc_stride=10, max_query_length=8)
    rows = [f for f, e in enumerate(evals["example_index"]) if e == 0]
    starts = [evals[f]["offset_mapping"][_context_tokens(evals, f)[0]][0] for f in rows]
    # windows start doc_stride context tokens apart
    doc = tok(ex[0]["context"], add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    doc_starts = [s for s, _ in doc]
    for w, start in enumerate(starts):
        assert start in (doc_starts[10 * w], doc_starts[10 * w] + 1)  # the latter when the token starts with a space
    # every context token is the max-context token of exactly one window: the flagged tokens of
    # the windows are contiguous blocks that follow each other and add up to the context
    total, prev_end = 0, -1
    for f in rows:
        flagged = [p for p in _context_tokens(evals, f) if evals[f]["token_is_max_context"][p]]
        assert flagged == list(range(flagged[0], flagged[-1] + 1))
        first = evals[f]["offset_mapping"][flagged[0]]
        assert first[0] >= prev_end
        prev_end = evals[f]["offset_mapping"][flagged[-1]][1]
        total += len(flagged)
    assert total == len(doc) and prev_end == len(ex[0]["context"])


def _perfect_span_logits(train, evals):
    width = max(evals["length"])
    start = np.full((len(evals), width), -10.0)
    end = np.full((len(evals), width), -10.0)
    for f, (s, e) in enumerate(zip(train["start_positions"], train["end_positions"])):
        start[f, s] = 10.0
        end[f, e] = 10.0
    return {"start_logits": start, "end_logits": end}


def test_qa_decode_perfect_logits(tok):
    ex = _qa()
    kw = dict(max_length=48, doc_stride=20, max_query_length=8)
    train = F.encode("XQuAD", ex, tok, train=True, **kw)
    evals = F.encode("XQuAD", ex, tok, train=False, **kw)
    preds = F.decode("XQuAD", ex, evals, _perfect_span_logits(train, evals))
    assert preds == {"q1": "Germany", "q2": "Paris"}
    scores = F.score_predictions("XQuAD", ex, preds, language="en")
    assert scores["f1"] == 100.0 and scores["em"] == 100.0
    assert F.score_predictions("MLQA", ex, preds, language="de")["em"] == 100.0
    # max_answer_length bounds the span
    assert F.decode("XQuAD", ex, evals, _perfect_span_logits(train, evals), max_answer_length=1)["q1"] != "Germany"


def test_decode_follows_feature_order(tok):
    """Features may be shuffled or selected (outputs aligned with them): same predictions."""
    ex = _qa()
    kw = dict(max_length=48, doc_stride=20, max_query_length=8)
    train = F.encode("XQuAD", ex, tok, train=True, **kw)
    evals = F.encode("XQuAD", ex, tok, train=False, **kw)
    outputs = _perfect_span_logits(train, evals)
    order = np.random.default_rng(0).permutation(len(evals))
    shuffled = {k: v[order] for k, v in outputs.items()}
    assert F.decode("XQuAD", ex, evals.select(order), shuffled) == {"q1": "Germany", "q2": "Paris"}
    tags = _tagging()
    feats = F.encode("PAN-X", tags, tok)
    logits = _perfect_tag_logits(feats, len(PANX_TAGS))
    preds = F.decode("PAN-X", tags, feats.select([1, 0]), {"logits": logits[[1, 0]]})
    assert preds == [list(t) for t in tags["tags"]]


def test_qa_squad_v2_null(tok):
    ex = _qa(answers=[{"text": [], "answer_start": []}, {"text": ["Paris"], "answer_start": [0]}])
    kw = dict(max_length=48, doc_stride=20, max_query_length=8)
    train = F.encode("SQuAD-v2.0", ex, tok, train=True, **kw)
    rows0 = [f for f, e in enumerate(train["example_index"]) if e == 0]
    assert all(train[f]["start_positions"] == 0 == train[f]["end_positions"] for f in rows0)
    evals = F.encode("SQuAD-v2.0", ex, tok, train=False, **kw)
    preds = F.decode("SQuAD-v2.0", ex, evals, _perfect_span_logits(train, evals))
    assert preds == {"q1": "", "q2": "Paris"}
    scores = F.score_predictions("SQuAD-v2.0", ex, preds, language="en")
    assert scores["f1"] == 100.0 and scores["no_ans_n"] == 1
    # v1.1 needs an answer to train on
    with pytest.raises(F.UnlabelledError, match="no gold answer"):
        F.encode("SQuAD-v1.1", ex, tok, train=True, **kw)


def test_qa_unlabelled_scoring(tok):
    ex = _qa(answers=[{"text": [], "answer_start": []}] * 2)
    evals = F.encode("XQuAD", ex, tok, train=False, max_length=48, doc_stride=20, max_query_length=8)
    assert len(evals) > 2
    with pytest.raises(F.UnlabelledError, match="2 of 2 examples"):
        F.score_predictions("XQuAD", ex, {"q1": "", "q2": ""}, language="en")
    with pytest.raises(F.UnlabelledError):
        F.score_predictions("SQuAD-v2.0", ex, {"q1": "", "q2": ""}, language="en")


def test_qa_lengths_checked(tok):
    with pytest.raises(ValueError, match="max_query_length"):
        F.encode("XQuAD", _qa(), tok, max_length=20, max_query_length=16, train=False)
    with pytest.raises(ValueError, match="doc_stride=0"):
        F.encode("XQuAD", _qa(), tok, doc_stride=0, train=False)
    train = F.encode("XQuAD", _qa(), tok, train=True, max_length=48, max_query_length=8)
    with pytest.raises(ValueError, match="train=False"):
        F.decode("XQuAD", _qa(), train, {"start_logits": np.zeros((len(train), 48)),
                                          "end_logits": np.zeros((len(train), 48))})


# --------------------------------------------------------------------------
# multiple choice


def test_choices_encode_decode(tok):
    ex = _choices()
    feats = F.encode("CosmosQA", ex, tok)
    assert len(feats) == 2
    row = feats[0]
    assert len(row["input_ids"]) == 4
    want = tok("A man is playing a guitar. What does he play?", "music")["input_ids"]
    assert row["input_ids"][2] == want
    assert feats[1]["input_ids"][0] == tok("Where is Paris?", "France")["input_ids"]
    assert row["length"] == max(len(x) for x in row["input_ids"])
    assert feats["labels"][:] == [0, 1]
    preds = F.decode("CosmosQA", ex, feats, {"logits": np.array([[3.0, 1, 0, 0], [0, 0, 2, 1]])})
    assert preds == [0, 2]
    assert F.score_predictions("CosmosQA", ex, preds, language="en")["accuracy"] == 50.0
    # HellaSwag: the question (ctx_b) starts every ending, as in jiant
    hs = F.encode("HellaSwag", ex, tok)
    assert hs[0]["input_ids"][1] == tok("A man is playing a guitar.", "What does he play? the fox")["input_ids"]


def test_choices_label_checks(tok):
    ex = _choices().map(lambda r, i: {"label": [-1, 5][i]}, with_indices=True)
    with pytest.raises(F.UnlabelledError):
        F.encode("CosmosQA", ex.select([0]), tok)
    with pytest.raises(ValueError, match="label=5"):
        F.encode("CosmosQA", ex.select([1]), tok, train=False)


# --------------------------------------------------------------------------
# Collator


def test_collator_pairs_and_padding(tok):
    feats = F.encode("XNLI", _pairs(), tok)
    collate = F.Collator(tok)
    batch = collate([feats[i] for i in range(3)])
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    width = max(feats["length"])
    assert batch["input_ids"].shape == (3, width) and batch["input_ids"].dtype == torch.long
    for i, n in enumerate(feats["length"]):
        assert batch["input_ids"][i, :n].tolist() == feats[i]["input_ids"]
        assert (batch["input_ids"][i, n:] == tok.pad_token_id).all()
        assert batch["attention_mask"][i].sum() == n
    assert batch["labels"].tolist() == [2, 0, 1]
    batch = F.Collator(tok, pad_to_multiple_of=8)([feats[0]])
    assert batch["input_ids"].shape[1] % 8 == 0 and batch["input_ids"].shape[1] >= feats[0]["length"]
    with_types = dict(feats[0], token_type_ids=[0] * feats[0]["length"])
    assert "token_type_ids" in collate([with_types])


def test_collator_tagging_qa_choices(tok):
    feats = F.encode("PAN-X", _tagging(), tok)
    batch = F.Collator(tok)([feats[0], feats[1]])
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    short = int(np.argmin(feats["length"]))
    assert (batch["labels"][short, min(feats["length"]):] == -100).all()
    qa = F.encode("XQuAD", _qa(), tok, train=True, max_length=48, max_query_length=8)
    batch = F.Collator(tok)([qa[i] for i in range(len(qa))])
    assert set(batch) == {"input_ids", "attention_mask", "start_positions", "end_positions"}
    assert batch["start_positions"].shape == (len(qa),)
    qa_eval = F.encode("XQuAD", _qa(), tok, train=False, max_length=48, max_query_length=8)
    assert set(F.Collator(tok)([qa_eval[0]])) == {"input_ids", "attention_mask"}
    mc = F.encode("CommonsenseQA", _choices().map(lambda r: {"choices": r["choices"] + ["x"]}), tok)
    batch = F.Collator(tok, pad_to_multiple_of=4)([mc[0], mc[1]])
    width = max(mc["length"])
    assert batch["input_ids"].shape == (2, 5, -(-width // 4) * 4)
    assert batch["labels"].tolist() == [0, 1]
    assert batch["attention_mask"][0, 2].sum() == len(mc[0]["input_ids"][2])
    with pytest.raises(ValueError, match="same number of choices"):
        F.Collator(tok)([mc[0], {**mc[1], "input_ids": mc[1]["input_ids"][:3],
                                 "attention_mask": mc[1]["attention_mask"][:3]}])


def _wordpiece_tokenizer():
    """A BERT-style tokenizer (WordPiece, [CLS] A [SEP] B [SEP], token type ids), trained here."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    t = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    t.normalizer = normalizers.BertNormalizer()
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    t.train_from_iterator(CORPUS * 3, trainers.WordPieceTrainer(
        vocab_size=120, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    cls, sep = t.token_to_id("[CLS]"), t.token_to_id("[SEP]")
    t.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return PreTrainedTokenizerFast(tokenizer_object=t, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]",
                                   model_input_names=["input_ids", "token_type_ids", "attention_mask"])


@pytest.mark.parametrize("kind", ["unigram", "wordpiece"])
def test_pair_tokenizing_equals_the_tokenizer_call(tok, kind):
    """The offsets-free fast path gives exactly what ``tokenizer(a, b, truncation=True)`` gives."""
    t = tok if kind == "unigram" else _wordpiece_tokenizer()
    firsts = [CORPUS[1] * 4, "", CORPUS[0], f"a {t.mask_token} b", CORPUS[2]]
    seconds = [CORPUS[3], CORPUS[4], CORPUS[5] * 6, CORPUS[0], ""]
    for max_length in (12, 40, 512):
        for side in ("right", "left"):
            t.truncation_side = side
            want = F._model_columns(t(firsts, seconds, truncation=True, max_length=max_length))
            got = F._tokenize_pairs(t, firsts, seconds, max_length)
            assert got == want
    t.truncation_side = "right"
    assert kind == "unigram" or "token_type_ids" in got and any(1 in row for row in got["token_type_ids"])
    # the tokenizer's own settings come back unchanged
    t.backend_tokenizer.no_truncation()
    t.backend_tokenizer.enable_padding(pad_id=t.pad_token_id, pad_token=t.pad_token, length=64)
    padding = t.backend_tokenizer.padding
    F._tokenize_pairs(t, firsts, seconds, 16)
    assert t.backend_tokenizer.truncation is None and t.backend_tokenizer.padding == padding
    t.backend_tokenizer.no_padding()


def test_collator_take_equals_collating_rows(tok):
    """``Collator.take`` over flat Arrow columns pads exactly as ``Collator(rows)`` does."""
    feats = F.encode("XNLI", _pairs(), tok).map(lambda r: {"token_type_ids": [1] * r["length"]})
    shuffled = feats.select([2, 0, 1])  # an indices mapping
    names = ["input_ids", "attention_mask", "token_type_ids"]
    for ds in (feats, shuffled):
        flat = F.flat_columns(ds, names)
        for multiple in (None, 8):
            collate = F.Collator(tok, pad_to_multiple_of=multiple)
            for idx in ([0, 1, 2], [2, 0], [1]):
                rows = [{k: ds[i][k] for k in names} for i in idx]
                want, got = collate(rows), collate.take(flat, idx)
                assert set(got) == set(want)
                for k in want:
                    assert got[k].dtype == want[k].dtype and torch.equal(got[k], want[k])
    with pytest.raises(ValueError, match="idx is empty"):
        F.Collator(tok).take(F.flat_columns(feats, names), [])
    mc = F.encode("CommonsenseQA", _choices(), tok)
    with pytest.raises(ValueError, match="'input_ids'.*expected one list of numbers per row"):
        F.flat_columns(mc, ["input_ids"])


# --------------------------------------------------------------------------
# errors


class _SlowTokenizer:
    is_fast = False


def test_errors(tok):
    with pytest.raises(ValueError, match="unknown task"):
        F.encode("no-such-task", _pairs(), tok)
    with pytest.raises(ValueError, match="format 'retrieval'"):
        F.encode("Tatoeba", _pairs(), tok)
    with pytest.raises(ValueError, match="fast"):
        F.encode("XNLI", _pairs(), _SlowTokenizer())
    with pytest.raises(ValueError, match=r"lack the columns \['text_b'\]"):
        F.encode("XNLI", _pairs().remove_columns("text_b"), tok)
    with pytest.raises(ValueError, match="no rows"):
        F.encode("XNLI", _pairs().select([]), tok)
    with pytest.raises(ValueError, match="datasets.Dataset"):
        F.encode("XNLI", {"text_a": ["x"]}, tok)
    with pytest.raises(ValueError, match="max_length=3"):
        F.encode("XNLI", _pairs(), tok, max_length=3)
    feats = F.encode("XNLI", _pairs(), tok)
    with pytest.raises(ValueError, match="one row per feature"):
        F.decode("XNLI", _pairs(), feats, {"logits": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="lack 'logits'"):
        F.decode("XNLI", _pairs(), feats, {"start_logits": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="one feature per example"):
        F.decode("XNLI", _pairs().select([0, 1]).add_item({**_pairs()[0], "id": "x"}).add_item(
            {**_pairs()[0], "id": "y"}), feats.select([0, 1]), {"logits": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="one entry per example"):
        F.score_predictions("XNLI", _pairs(), [0], language="en")
    with pytest.raises(ValueError, match="pad token"):
        F.Collator(_SlowTokenizer())


def test_flat_columns_refuses_nulls_and_predict_falls_back_to_rows(tok):
    """Columns ``Collator.take`` cannot pad go through ``Collator(rows)``, which pads them or says why."""
    from xdist.train.evaluate import predict
    from xdist.train.model import TransferModel
    from xdist.train.toy import make_tiny_model
    from transformers import AutoModel

    with pytest.raises(ValueError, match="'input_ids' has missing values"):
        F.flat_columns(Dataset.from_dict({"input_ids": [[0, None, 2], [0, 2]]},
                                         features=datasets.Features({"input_ids": datasets.Sequence(
                                             datasets.Value("int32"))})), ["input_ids"])
    feats = F.encode("XNLI", _pairs(), tok)
    width = max(feats["length"])
    fixed = feats.map(lambda r: {"input_ids": r["input_ids"] + [tok.pad_token_id] * (width - r["length"]),
                                 "attention_mask": r["attention_mask"] + [0] * (width - r["length"])},
                      features=datasets.Features({
                          **feats.features,
                          "input_ids": datasets.Sequence(datasets.Value("int32"), length=width),
                          "attention_mask": datasets.Sequence(datasets.Value("int8"), length=width)}))
    with pytest.raises(ValueError, match="expected one list of numbers per row"):
        F.flat_columns(fixed, ["input_ids"])
    import tempfile

    path = make_tiny_model(tempfile.mkdtemp(), tok, hidden_size=16, num_layers=1, num_heads=2, max_position=64, seed=0)
    model = TransferModel(AutoModel.from_pretrained(path), {"XNLI": "sentence_pair"}, {"XNLI": 3}, seed=0)
    a = predict(model, "XNLI", feats, F.Collator(tok))["logits"]
    b = predict(model, "XNLI", fixed, F.Collator(tok))["logits"]
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_pair_tokenizing_takes_the_tokenizers_own_call_when_it_is_overridden(tok):
    calls = []

    class Custom(type(tok)):
        def __call__(self, *args, **kwargs):
            calls.append(kwargs.get("max_length"))
            return super().__call__(*args, **kwargs)

    custom = Custom(tokenizer_object=tok.backend_tokenizer, pad_token=tok.pad_token)
    assert F._plain_call(tok) and not F._plain_call(custom)
    got = F._tokenize_pairs(custom, [CORPUS[0]], [CORPUS[1]], 16)
    assert calls == [16] and got == F._model_columns(tok([CORPUS[0]], [CORPUS[1]], truncation=True, max_length=16))
