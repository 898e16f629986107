"""Decoder-LLM evaluation (xdist.train.llm): log-likelihood scoring, prompts, few-shot, LoRA, store, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from xdist.store import read_store  # noqa: E402
from xdist.train import llm  # noqa: E402
from xdist.train.readers import load_examples  # noqa: E402
from xdist.train.tasks import Prompt, get_task, list_tasks  # noqa: E402
from xdist.train.toy import make_tiny_causal_lm, make_tokenizer  # noqa: E402
from xdist.train.toydata import toy_examples, toy_texts, write_toy_data  # noqa: E402

TASKS = ["XNLI", "PAWS-X", "XCOPA", "XStoryCloze", "COPA"]
LANGS = ["en", "de", "sw", "zh"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("llm")
    data = root / "data"
    write_toy_data(data, TASKS, languages=LANGS, n_train=24, n_eval=8, seed=0)
    texts = toy_texts(TASKS, languages=LANGS, n_train=24, n_eval=8, seed=0)
    texts += [w for t in TASKS for p in get_task(t).prompts for _, ws in p.words for _, w in ws]
    tok = make_tokenizer(texts, vocab_size=300)
    model_dir = make_tiny_causal_lm(root / "model", tok, seed=0)
    model, tokenizer = llm.load_causal_lm(model_dir)
    return {"root": root, "data": data, "model_dir": model_dir, "model": model, "tok": tokenizer}


def _naive(model, req: llm.Request) -> float:
    """One example at a time, no padding: the reference the batched scorer must match."""
    ids = torch.tensor([list(req.context) + list(req.continuation)])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
    n, total = len(req.continuation), 0.0
    start = ids.shape[1] - n
    for j in range(n):
        total += float(logp[start + j - 1, ids[0, start + j]])
    return total


def _requests(env, task="XCOPA", lang="sw", shots=2):
    t = get_task(task)
    pool = llm.fewshot_pool(t, data_dir=env["data"])
    reqs = []
    for i, ex in enumerate(load_examples(t, t.eval_split, lang, data_dir=env["data"])):
        demos = llm._demos(pool, shots, 1, t.name, i)
        ctx, conts, _ = llm.render_requests(t.prompt(), dict(ex), lang, demonstrations=demos)
        reqs += [llm.encode_request(env["tok"], ctx, c) for c in conts]
    return reqs


# ---- scorer ----------------------------------------------------------------------------------


def test_batched_loglikelihood_equals_naive_loop(env):
    reqs = _requests(env, "XCOPA", "sw") + _requests(env, "PAWS-X", "de", shots=0) + _requests(env, "XNLI", "zh", 1)
    got = llm.loglikelihoods(env["model"], reqs, batch_size=5, tokenizer=env["tok"])
    want = [_naive(env["model"], r) for r in reqs]
    assert [g for g, _ in got] == pytest.approx(want, abs=1e-5)
    assert all(isinstance(g, bool) for _, g in got)


@pytest.mark.parametrize("batch_size, side", [(1, "right"), (3, "left"), (64, "right"), (64, "left")])
def test_scores_do_not_depend_on_batching_or_padding(env, batch_size, side):
    reqs = _requests(env, "XStoryCloze", "en", shots=1)
    reqs = reqs + reqs[:3]  # duplicates are scored once and returned for each
    ref = llm.loglikelihoods(env["model"], reqs, batch_size=7, padding_side="right", tokenizer=env["tok"])
    got = llm.loglikelihoods(env["model"], reqs, batch_size=batch_size, padding_side=side, tokenizer=env["tok"])
    assert [g for g, _ in got] == pytest.approx([r for r, _ in ref], abs=1e-5)
    assert [g for _, g in got] == [r for _, r in ref]


def test_one_token_continuations_of_one_context_share_a_forward_pass(env):
    model = env["model"]
    ctx = llm.encode_request(env["tok"], "today dog sees", " house").context
    reqs = [llm.Request(ctx, (t,)) for t in range(5, 25)] + [llm.Request(ctx, (7, 8))]
    calls = []
    hook = model.register_forward_hook(lambda mod, args, kwargs, out: calls.append(kwargs["input_ids"].shape),
                                       with_kwargs=True)
    try:
        got = llm.loglikelihoods(model, reqs, batch_size=1, tokenizer=env["tok"])
    finally:
        hook.remove()
    assert len(calls) == 2  # the 20 one-token continuations in one row, the two-token one in another
    assert [g for g, _ in got] == pytest.approx([_naive(model, r) for r in reqs], abs=1e-5)


def test_left_truncation_keeps_the_continuation(env):
    req = _requests(env, "XCOPA", "en", shots=4)[0]
    short = llm.loglikelihoods(env["model"], [req], max_length=12, tokenizer=env["tok"])[0][0]
    cut = llm.Request(tuple((list(req.context) + list(req.continuation))[-13:-len(req.continuation)]),
                      req.continuation)
    assert short == pytest.approx(_naive(env["model"], cut), abs=1e-5)
    with pytest.raises(ValueError, match=r"does not fit the model's window of 8 tokens: raise max_length"):
        llm.loglikelihoods(env["model"], [llm.Request((1,), tuple(range(5, 20)))], max_length=8)


def test_encode_request_boundary(env):
    tok = env["tok"]
    bos = tok.bos_token_id
    r = llm.encode_request(tok, "today dog sees ", "house")
    plain = tok("today dog sees house", add_special_tokens=False)["input_ids"]
    assert r.context[0] == bos and list(r.context[1:] + r.continuation) == plain
    assert tok.decode(r.continuation).strip() == "house"
    empty = llm.encode_request(tok, "", "today dog")
    assert empty.context == (bos,)
    assert list(empty.continuation) == tok("today dog", add_special_tokens=False)["input_ids"]
    with pytest.raises(ValueError, match="continuation"):
        llm.encode_request(tok, "x", "")


def test_score_choices_argmax_and_character_normalisation():
    out = llm.score_choices([[-3.0, -3.0], [-4.0, -6.0]], [["ab", "cd"], ["x", "longer"]], [0, 1])
    assert out == {"accuracy": 50.0, "accuracy_norm": 100.0}  # tie -> first choice
    with pytest.raises(ValueError, match="one length"):
        llm.score_choices([[0.0]], [], [0])


# ---- prompts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("task, lang, example, want", [
    ("XNLI", "de", {"text_a": "Er schläft", "text_b": "Er ist wach", "label": 0},
     ("Er schläft, richtig?", [" Nein, Er ist wach", " Ja, Er ist wach", " Auch, Er ist wach"])),
    ("XNLI", "sw", {"text_a": "A", "text_b": "B", "label": 0},
     ("A, sahihi?", [" Hapana, B", " Ndiyo, B", " Hivyo, B"])),
    ("PAWS-X", "ja", {"text_a": "A", "text_b": "B", "label": 1},
     ("", ["A, ですね? いいえ, B", "A, ですね? はい, B"])),
    ("XCOPA", "zh", {"context": "杯子碎了。", "question": "cause", "choices": ["我摔了它。", "我洗了它。"], "label": 0},
     ("杯子碎了 因为", [" 我摔了它。", " 我洗了它。"])),
    ("XCOPA", "tr", {"context": "Adam düştü.", "question": "effect", "choices": ["Ağladı.", "Uçtu."], "label": 0},
     ("Adam düştü bu yüzden", [" ağladı.", " uçtu."])),
    ("COPA", "en", {"context": "The man fell.", "question": "cause", "choices": ["He slipped.", "He ate."],
                    "label": 0}, ("The man fell because", [" he slipped.", " he ate."])),
    ("XStoryCloze", "my", {"context": "s1 s2 s3 s4", "question": "", "choices": ["e1", "e2"], "label": 1},
     ("s1 s2 s3 s4", [" e1", " e2"])),
])  # fmt: skip
def test_prompt_rendering(task, lang, example, want):
    ctx, conts, texts = llm.render_requests(get_task(task).prompt(), example, lang)
    assert (ctx, conts) == want
    assert texts == [c[len(get_task(task).prompt().delimiter):] for c in conts]


def test_prompts_live_in_the_registry():
    for name in ("XNLI", "PAWS-X", "XCOPA", "XStoryCloze", "COPA", "MNLI", "HellaSwag"):
        p = get_task(name).prompt()
        assert isinstance(p, Prompt) and p.source.startswith("EleutherAI/lm-evaluation-harness")
    for name in ("XNLI", "PAWS-X", "XCOPA"):
        t = get_task(name)
        assert set(t.prompt().languages) == set(t.languages), name
    assert get_task("XNLI").prompt().words_for("fr")["yes"] == "Oui"
    with pytest.raises(ValueError, match="no words"):
        get_task("XNLI").prompt().render({"text_a": "a", "text_b": "b"}, "ja")
    with pytest.raises(ValueError, match="no prompt template"):
        get_task("UD-POS").prompt()
    with pytest.raises(ValueError, match="prompt='other'"):
        get_task("XNLI").prompt("other")
    bad = Prompt("p", "{text_a|shout}", ("{text_b}",))
    with pytest.raises(ValueError, match="filter 'shout'"):
        bad.render({"text_a": "a", "text_b": "b"}, "en")
    with pytest.raises(ValueError, match="placeholder"):
        Prompt("p", "{nothing}", ("x",)).render({"text_a": "a"}, "en")


def test_new_registry_tasks():
    assert list_tasks("llm") == ["XCOPA", "XStoryCloze", "COPA"]
    assert "XCOPA" not in list_tasks() and "XCOPA" not in list_tasks("target")
    xcopa, story = get_task("xcopa"), get_task("xstory_cloze")
    assert xcopa.languages == ("en", "et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")
    assert story.languages == ("en", "ru", "zh", "es", "ar", "hi", "id", "te", "sw", "eu", "my")
    assert xcopa.path("test", "qu", layout="original") == "data/qu/test.qu.jsonl"
    assert xcopa.path("dev", "et", layout="original") == "data/et/val.et.jsonl"
    assert story.path("train", "eu", layout="original") == "spring2016.val.eu.tsv.split_20_80_train.tsv"
    assert story.path("test", "eu", layout="original") == "spring2016.val.eu.tsv.split_20_80_eval.tsv"
    assert xcopa.train_task == "COPA" and get_task("COPA").languages == ("en",)
    for t in (xcopa, story, get_task("COPA")):
        assert t.kind == "llm" and t.format == "multiple_choice" and t.eval_split in t.splits
        for lay in t.layouts:
            assert set(lay.splits) <= set(t.splits)
            for f in lay.files:
                for _, col in f.fields:
                    assert all(c in f.columns for c in col.split(",")), (t.name, lay.name, col)


def test_readers_on_files_as_distributed(tmp_path):
    (tmp_path / "data" / "it").mkdir(parents=True)
    line = {"premise": "L'uomo aprì il rubinetto.", "choice1": "Il water si riempì d'acqua.",
            "choice2": "Dell'acqua fluì dal beccuccio.", "question": "effect", "label": 1, "idx": 1,
            "changed": False}
    (tmp_path / "data" / "it" / "test.it.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    ds = load_examples("XCOPA", "test", "it", data_dir=tmp_path)
    assert ds[0]["choices"] == [line["choice1"], line["choice2"]] and ds[0]["label"] == 1
    assert ds[0]["question"] == "effect" and ds[0]["id"] == "1"
    for header in ("InputStoryid\tInputSentence1\tInputSentence2\tInputSentence3\tInputSentence4\t"
                   "RandomFifthSentenceQuiz1\tRandomFifthSentenceQuiz2\tAnswerRightEnding",
                   "story_id\tinput_sentence_1\tinput_sentence_2\tinput_sentence_3\tinput_sentence_4\t"
                   "sentence_quiz1\tsentence_quiz2\tanswer_right_ending"):
        row = "abc-1\tRick grew up.\tHe was sad.\tHe met a friend.\t\"He smiled.\"\tHe was happy.\tHe cried.\t1"
        (tmp_path / "spring2016.val.ru.tsv.split_20_80_eval.tsv").write_text(f"{header}\n{row}\n", encoding="utf-8")
        ds = load_examples("XStoryCloze", "test", "ru", data_dir=tmp_path)
        assert ds[0]["context"] == 'Rick grew up. He was sad. He met a friend. "He smiled."'
        assert ds[0]["choices"] == ["He was happy.", "He cried."] and ds[0]["label"] == 0
        assert ds[0]["id"] == "abc-1"


@pytest.mark.parametrize("layout", ["jsonl", "original"])
def test_toy_data_round_trips(tmp_path, layout):
    write_toy_data(tmp_path, ["XCOPA", "XStoryCloze", "COPA"], languages=["en", "sw"], n_train=6, n_eval=4,
                   layout=layout)
    for task, split in (("XCOPA", "test"), ("XStoryCloze", "test"), ("XStoryCloze", "train"), ("COPA", "train")):
        lang = "en" if split == "train" else "sw"
        got = [dict(r) for r in load_examples(task, split, lang, data_dir=tmp_path)]
        want = toy_examples(task, split, lang, n=len(got))
        keys = ("context", "question", "choices", "label")
        assert [[r[k] for k in keys] for r in got] == [[r[k] for k in keys] for r in want]
    assert {r["question"] for r in toy_examples("XCOPA", "test", "sw", n=20)} == {"cause", "effect"}


# ---- few-shot --------------------------------------------------------------------------------


def test_fewshot_is_english_and_deterministic_under_seed(env):
    pool = llm.fewshot_pool("XCOPA", data_dir=env["data"])  # COPA train, English
    assert len(pool) == 24 and {r["language"] for r in pool} == {"en"}
    a = [llm._demos(pool, 3, 1, "XCOPA", i) for i in range(5)]
    assert a == [llm._demos(pool, 3, 1, "XCOPA", i) for i in range(5)]
    assert a != [llm._demos(pool, 3, 2, "XCOPA", i) for i in range(5)]
    assert len({tuple(d["id"] for d in x) for x in a}) > 1  # each example has its own draw
    ex = toy_examples("XCOPA", "test", "sw", n=1)[0]
    ctx, _, _ = llm.render_requests(get_task("XCOPA").prompt(), ex, "sw", demonstrations=a[0])
    parts = ctx.split(llm.FEWSHOT_DELIMITER)
    assert len(parts) == 4 and all((" because " in p or " therefore " in p) for p in parts[:3])
    assert parts[3].endswith(("kwa sababu", "kwa hiyo"))
    with pytest.raises(ValueError, match="shots=30"):
        llm._demos(pool, 30, 1, "XCOPA", 0)


# ---- runs, store, resume, LoRA ---------------------------------------------------------------


def _cfg(env, out, **kw):
    base = dict(model=str(env["model_dir"]), tasks=("XCOPA",), data_dir=str(env["data"]), output=str(out),
                languages=("en", "sw", "zh"), batch_size=8, model_name="tiny")
    base.update(kw)
    return llm.LMEvalConfig(**base)


def test_run_writes_rows_and_resume_does_not_duplicate(env, tmp_path):
    s1 = llm.run(_cfg(env, tmp_path, tasks=("XCOPA", "XStoryCloze"), shots=1, languages=("en", "sw")))
    df = read_store(tmp_path / "store")
    assert len(df) == 2 * 2 * 2  # tasks x languages x metrics
    assert set(df["setting"]) == {"llm-1shot"} and set(df["intermediate_task"]) == {""}
    assert set(df["metric"]) == {"accuracy", "accuracy_norm"} and df["score"].between(0, 100).all()
    assert set(df["model"]) == {"tiny"} and set(df["seed"]) == {1}
    row = df.query("target_task == 'XCOPA' and language == 'sw' and metric == 'accuracy'")
    assert float(row["score"].iloc[0]) == pytest.approx(s1.scores["XCOPA"]["sw"]["accuracy"])
    assert df["source"].str.startswith("xdist lm-eval").all()
    # a rerun (same config) scores nothing again; one more language is added
    s2 = llm.run(_cfg(env, tmp_path, tasks=("XCOPA", "XStoryCloze"), shots=1, languages=("en", "sw")))
    assert s2.scores == {} and s2.resumed["XCOPA"] == ["en", "sw"]
    s3 = llm.run(_cfg(env, tmp_path, tasks=("XCOPA", "XStoryCloze"), shots=1, languages=("en", "sw", "zh")))
    assert set(s3.scores["XCOPA"]) == {"zh"}
    df = read_store(tmp_path / "store")
    assert len(df) == 2 * 3 * 2 and not df.duplicated(["target_task", "language", "metric"]).any()
    # another configuration for the same output is refused
    with pytest.raises(ValueError, match="another configuration"):
        llm.run(_cfg(env, tmp_path, tasks=("XCOPA",), shots=3))
    # the analysis reads the store end to end
    from xdist.cli import main

    assert main(["correlate", "--results", str(tmp_path / "store"), "--min-languages", "2",
                 "--distance", "genetic", "--method", "pearson", "--n-boot", "100", "--n-perm", "99",
                 "--format", "csv", "--output", str(tmp_path / "corr.csv")]) == 0
    corr = (tmp_path / "corr.csv").read_text(encoding="utf-8")
    assert "XCOPA" in corr and "llm-1shot" in corr


def test_data_dir_is_part_of_the_run_identity(env, tmp_path, monkeypatch):
    """The same model on another data directory is another run, not one to skip (or overwrite)."""
    import shutil
    from dataclasses import replace

    other = tmp_path / "other-data"
    shutil.copytree(env["data"], other)
    store = str(tmp_path / "shared-store")
    a = _cfg(env, tmp_path / "a", languages=("sw",), limit=2, store=store)
    b = replace(a, data_dir=str(other), output=str(tmp_path / "b"))
    assert a.identity("XCOPA")["data_dir"] == str(Path(env["data"]).resolve())
    assert a.identity("XCOPA") != b.identity("XCOPA")
    lora = replace(a, intermediate="COPA", lora=True)
    assert lora.lora_identity() != replace(lora, data_dir=str(other)).lora_identity()
    # paths are resolved: a relative path or a symbolic link to the same directory is the same run
    (tmp_path / "link").symlink_to(env["data"])
    monkeypatch.chdir(tmp_path)
    assert replace(a, data_dir="link").identity("XCOPA") == a.identity("XCOPA")
    assert replace(lora, data_dir="link").lora_identity() == lora.lora_identity()
    # one store: the second evaluation is scored as a run of its own, not skipped as done
    s1 = llm.run(a)
    s2 = llm.run(b)
    assert set(s2.scores["XCOPA"]) == {"sw"} and s2.resumed["XCOPA"] == []
    assert s2.run_ids["XCOPA"] != s1.run_ids["XCOPA"]
    from xdist.store import ResultsStore, StoreConflictError

    assert sorted(ResultsStore(store).runs()["run_id"]) == sorted([s1.run_ids["XCOPA"], s2.run_ids["XCOPA"]])
    # with the same results key (model name, setting, task, seed) the store will not mix them silently
    with pytest.raises(StoreConflictError, match="is recorded more than once"):
        read_store(store)
    # the same output directory on other data is refused (its config.json holds the first data_dir)
    with pytest.raises(ValueError, match=r"another configuration \(differs in \['data_dir'\]\)"):
        llm.run(replace(a, data_dir=str(other)))
    assert llm.run(replace(a, data_dir="link")).resumed["XCOPA"] == ["sw"]  # the same directory: resumed
    # a relative data_dir is checked as the directory it named where the run was made, not from here
    rel = replace(a, data_dir="link", output=str(tmp_path / "rel"))
    (tmp_path / "rel").mkdir()
    llm._write_config(tmp_path / "rel", rel)
    (tmp_path / "elsewhere" / "link").parent.mkdir()
    (tmp_path / "elsewhere" / "link").symlink_to(other)
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(ValueError, match=r"differs in \['data_dir'\]"):
        llm._write_config(tmp_path / "rel", rel, write=False)  # "link" here is another directory
    llm._write_config(tmp_path / "rel", replace(rel, data_dir=str(env["data"])), write=False)  # the same one


@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning")
def test_lora_changes_the_adapter_and_scores_are_recorded(env, tmp_path):
    from dataclasses import replace

    from peft import PeftModel
    from safetensors.torch import load_file

    cfg = _cfg(env, tmp_path, intermediate="COPA", lora=True, lora_epochs=2.0, lora_learning_rate=1e-2,
               languages=("en", "sw"))
    s = llm.run(cfg)
    assert not s.adapter_reused and Path(s.adapter, "adapter_model.safetensors").is_file()
    weights = load_file(Path(s.adapter, "adapter_model.safetensors"))
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and any(float(v.abs().max()) > 0 for v in lora_b)  # lora_B starts at zero
    done = json.loads((Path(s.adapter).parent / "DONE.json").read_text(encoding="utf-8"))
    assert done["steps"] == 6 and done["examples"] == 24  # 2 epochs of 24 examples in batches of 8
    # the adapter changes the model's log-likelihoods
    reqs = _requests(env, "XCOPA", "sw", shots=0)[:4]
    base, tok = llm.load_causal_lm(env["model_dir"])
    before = [x for x, _ in llm.loglikelihoods(base, reqs, tokenizer=tok)]
    tuned = PeftModel.from_pretrained(base, s.adapter)
    after = [x for x, _ in llm.loglikelihoods(tuned, reqs, tokenizer=tok)]
    assert max(abs(a - b) for a, b in zip(after, before)) > 1e-3
    df = read_store(tmp_path / "store")
    assert set(df["setting"]) == {"llm-0shot+lora"} and set(df["intermediate_task"]) == {"COPA"}
    assert len(df) == 4
    # one more language: the adapter is loaded, not trained again; scored languages are skipped
    s2 = llm.run(replace(cfg, languages=("en", "sw", "zh")))
    assert s2.adapter_reused and set(s2.scores["XCOPA"]) == {"zh"}
    assert len(read_store(tmp_path / "store")) == 6


# ---- CLI -------------------------------------------------------------------------------------


def test_cli_smoke_end_to_end(tmp_path, capsys):
    from xdist.cli import main

    out = tmp_path / "smoke"
    assert main(["lm-eval", "--smoke", "--output", str(out), "--task", "XCOPA", "--languages", "en,sw",
                 "--shots", "1"]) == 0
    text = capsys.readouterr().out
    assert "setting llm-1shot" in text and "XCOPA accuracy / accuracy_norm" in text
    df = read_store(out / "store")
    assert set(df["language"]) == {"en", "sw"} and len(df) == 4
    assert main(["lm-eval", "--smoke", "--output", str(out), "--task", "XCOPA", "--languages", "en,sw",
                 "--shots", "1"]) == 0
    assert "2 languages were already in the store" in capsys.readouterr().out
    assert len(read_store(out / "store")) == 4


@pytest.mark.parametrize("argv, message", [
    (["--model", "{nope}", "--task", "XNLI", "--data-dir", "d", "--output", "o"], "is not a local model directory"),
    (["--model", "{empty}", "--task", "XNLI", "--data-dir", "d", "--output", "o"], "has no config.json"),
    (["--model", "{model}", "--task", "UD-POS", "--data-dir", "d", "--output", "o"], "is a tagging task"),
    (["--model", "{model}", "--task", "SQuAD", "--data-dir", "d", "--output", "o"], "expected one of ['XNLI'"),
    (["--model", "{model}", "--task", "XNLY", "--data-dir", "d", "--output", "o"], "did you mean 'XNLI'"),
    (["--model", "{model}", "--task", "XNLI", "--data-dir", "d", "--output", "o", "--shots", "-2"], "shots=-2"),
    (["--model", "{model}", "--task", "XNLI", "--data-dir", "d", "--output", "o", "--languages", "qu"],
     "are not languages of"),
    (["--model", "{model}", "--task", "XNLI", "--data-dir", "d", "--output", "o", "--intermediate", "MNLI"],
     "needs --lora"),
    (["--model", "{model}", "--task", "XNLI", "--data-dir", "d", "--output", "o", "--lora"], "--intermediate"),
    (["--task", "XNLI", "--data-dir", "d", "--output", "o"], "--model is required"),
    (["--smoke"], "--smoke needs --output"),
    (["--smoke", "--output", "o", "--store", "s"], "--smoke fixes its own store (OUTPUT/store), model name and "
                                                   "layout (jsonl): drop --store"),
    (["--smoke", "--output", "o", "--model-name", "m", "--layout", "jsonl"], "drop --model-name, --layout"),
    (["--smoke", "--output", "o", "--task", "XCOPA", "--prompt", "nope"], "nope"),
    (["--smoke", "--output", "o", "--task", "XCOPA", "--limit", "0"], "limit=0 is not valid"),
])  # fmt: skip
def test_cli_bad_input_is_one_line(env, tmp_path, capsys, monkeypatch, argv, message):
    from xdist.cli import main

    monkeypatch.chdir(tmp_path)  # relative paths (-o o) land here, if anything is written
    (tmp_path / "empty").mkdir()
    subst = {"{nope}": str(tmp_path / "nope"), "{empty}": str(tmp_path / "empty"), "{model}": str(env["model_dir"])}
    argv = [subst.get(a, a) for a in argv]
    assert main(["lm-eval", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("xdist lm-eval: error:") and message in err and "\n" not in err


def test_cli_smoke_honours_limit_and_prompt(tmp_path, capsys):
    from xdist.cli import main

    out = tmp_path / "smoke"
    prompts = [p.name for p in get_task("XCOPA").prompts]
    assert main(["lm-eval", "--smoke", "--output", str(out), "--task", "XCOPA", "--languages", "en,sw",
                 "--limit", "3", "--prompt", prompts[-1]]) == 0
    capsys.readouterr()
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["limit"] == 3 and cfg["prompt"] == prompts[-1]
    runs = [json.loads(p.read_text()) for p in (out / "store" / "runs").glob("*.json")]
    assert [(r["config"]["limit"], r["config"]["prompt"]) for r in runs] == [(3, prompts[-1])]
    notes = set(read_store(out / "store")["note"])
    assert notes == {f"prompt {prompts[-1]}; 3 examples; accuracy_norm by characters"}


def test_missing_data_is_a_clear_error(env, tmp_path):
    from xdist.train.readers import DataError

    (tmp_path / "nodata").mkdir()
    with pytest.raises(DataError, match=r"XNLI.*xnli\.test\.tsv"):
        llm.run(_cfg(env, tmp_path, tasks=("XNLI",), data_dir=str(tmp_path / "nodata"), languages=("en",)))
    runs = [json.loads(p.read_text()) for p in (tmp_path / "store" / "runs").glob("*.json")]
    assert [r["status"] for r in runs] == ["failed"]  # marked, not left "running"
    with pytest.raises(ValueError, match="shots=30 is more than"):  # the first task fails while scoring
        llm.run(_cfg(env, tmp_path / "o3", tasks=("XCOPA", "XStoryCloze"), shots=30, languages=("en",)))
    runs = [json.loads(p.read_text()) for p in (tmp_path / "o3" / "store" / "runs").glob("*.json")]
    assert sorted(r["status"] for r in runs) == ["failed", "failed"]  # the second one too
    with pytest.raises(DataError, match=r"layout 'original' needs .*data/sw/test\.sw\.jsonl"):
        llm.run(_cfg(env, tmp_path / "o2", data_dir=str(env["data"]), layout="original", languages=("sw",)))
    # nothing ran: the same --output takes the corrected layout (not "another configuration")
    s = llm.run(_cfg(env, tmp_path / "o2", data_dir=str(env["data"]), layout="jsonl", languages=("sw",),
                     limit=2))
    assert set(s.scores["XCOPA"]) == {"sw"}
    assert json.loads((tmp_path / "o2" / "config.json").read_text())["layout"] == "jsonl"


def test_help_does_not_import_torch():
    code = ("import sys, xdist.cli as c\ntry:\n    c.main(['lm-eval', '--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'transformers', 'peft', 'datasets') if m in sys.modules]\n"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True)
