"""LoRA adapters in the three phases: what trains, what is frozen, what carries over, and the settings
written to the store (tiny models and toy data, as the smoke run)."""

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from safetensors.torch import load_file, save_file  # noqa: E402

from xdist.store import read_store  # noqa: E402
from xdist.train import adapters as A  # noqa: E402
from xdist.train.config import AdapterConfig, TrainConfig, apply_overrides  # noqa: E402
from xdist.train.model import (  # noqa: E402
    TransferModel,
    WeightTransferError,
    fingerprint,
    load_encoder,
    load_phase,
    save_phase,
)
from xdist.train.smoke import run_smoke  # noqa: E402
from xdist.train.toy import make_tiny_model, make_tokenizer  # noqa: E402

LORA = AdapterConfig(method="lora", lora_r=4)
FAST = ["target_phase.num_train_epochs=1", "intermediate_phase.num_train_epochs=1"]
# the end-to-end LoRA run: two target epochs, so that phase 2 has a checkpoint to resume from
RUN = dict(target="XNLI", intermediate=("MNLI", "QQP"), languages=["en", "de"], n_train=48, n_eval=12,
           overrides=["intermediate_phase.num_train_epochs=1", "target_phase.num_train_epochs=2",
                      "adapters.method=lora"])
HIDDEN, LAYERS = 32, 2  # make_tiny_model's defaults


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tok = make_tokenizer(["the cat sat on the mat", "der Hund lief schnell", "a b c d e f"] * 4, vocab_size=40)
    return make_tiny_model(tmp_path_factory.mktemp("tiny"), tok, seed=3), tok


def _batch(n=2, length=5):
    ids = torch.randint(5, 15, (n, length))
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def _phase1(path, sharing="per-task"):
    plain = TransferModel(load_encoder(path), {"MNLI": "sentence_pair", "QQP": "sentence_pair"}, {"MNLI": 3, "QQP": 2})
    return A.intermediate_model(plain, AdapterConfig(method="lora", lora_r=4, sharing=sharing), base_path=path)


def _lora_size(r=4, n_modules=2):  # query and value of every layer, A: r x hidden, B: hidden x r
    return LAYERS * n_modules * 2 * r * HIDDEN


def _train_step(model, task, n_labels):
    model.train()
    out = model(task=task, **_batch(), labels=torch.randint(0, n_labels, (2,)))
    out.loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p.add_(0.05 * torch.sign(p.grad))
                p.grad = None


# ---- the model: what trains, what is active ---------------------------------------------------


def test_per_task_adapters_train_only_their_own_task(tiny):
    path, _ = tiny
    model = _phase1(path)
    heads = sum(p.numel() for p in model.heads.parameters())
    trainable = A.trainable_parameters(model)
    assert all(".lora_" in n or n.startswith("heads.") for n in trainable)  # base encoder frozen
    assert sum(trainable.values()) == 2 * _lora_size() + heads
    assert not any(p.requires_grad for n, p in model.encoder.named_parameters() if ".lora_" not in n)

    model(task="QQP", **_batch(), labels=torch.tensor([0, 1])).loss.backward()
    grads = {n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert any("lora_A.intermediate-QQP" in n or "lora_B.intermediate-QQP" in n for n in grads)
    assert not any("intermediate-MNLI" in n for n in grads)  # a QQP batch runs (and trains) the QQP adapter only
    assert not any(n.startswith("heads.MNLI") for n in grads)
    assert all(layer.active_adapters == ["intermediate-QQP"] for layer in model._tuner_layers)
    # activating adapters never changes what the optimizer was given
    assert A.trainable_parameters(model) == trainable


def test_shared_adapter_is_one_for_all_tasks(tiny):
    path, _ = tiny
    model = _phase1(path, sharing="shared")
    assert model.task_adapters == {"MNLI": ("intermediate",), "QQP": ("intermediate",)}
    heads = sum(p.numel() for p in model.heads.parameters())
    assert sum(A.trainable_parameters(model).values()) == _lora_size() + heads


def test_target_stack_starts_where_phase1_ended_and_base_is_untouched(tiny, tmp_path):
    path, tok = tiny
    pretrained = fingerprint(load_encoder(path))
    model = _phase1(path)
    for _ in range(3):
        _train_step(model, "MNLI", 3)
        _train_step(model, "QQP", 2)
    assert A.base_fingerprint(model.encoder) == pretrained  # adapter training leaves the base as it was
    saved = save_phase(model, tmp_path / "p1", tokenizer=tok)
    assert sorted(p.name for p in saved.iterdir()) == ["adapters.json", "adapters.safetensors", "heads.json",
                                                       "heads.safetensors"]
    info = json.loads((saved / "adapters.json").read_text())
    assert info["base_fingerprint"] == pretrained
    assert info["adapter_fingerprint"] == A.adapter_fingerprint(model.encoder)

    target = A.target_model(path, {"XNLI": "sentence_pair"}, {"XNLI": 3}, LORA, intermediate=saved)
    assert target.task_adapters == {"XNLI": ("intermediate-MNLI", "intermediate-QQP", "target")}
    # phase 2 starts from exactly the adapters phase 1 ended with ...
    names = ["intermediate-MNLI", "intermediate-QQP"]
    assert A.adapter_fingerprint(target.encoder, names) == A.adapter_fingerprint(model.encoder, names)
    # ... frozen: only the target adapter and the target head train
    trainable = A.trainable_parameters(target)
    assert all(".lora_A.target." in n or ".lora_B.target." in n or n.startswith("heads.") for n in trainable)
    assert sum(trainable.values()) == _lora_size() + sum(p.numel() for p in target.heads.parameters())
    # "stacked": the deltas add up; the new adapter's B is zero, so the stack computes what phase 1's
    # encoder with both intermediate adapters active computes
    model.eval(), target.eval()
    batch = _batch(3, 6)
    model.activate(names)
    with torch.no_grad():
        before = model.encoder(**batch).last_hidden_state
        target.activate(target.task_adapters["XNLI"])
        after = target.encoder(**batch).last_hidden_state
    torch.testing.assert_close(after, before)


def test_renamed_or_changed_adapters_are_refused(tiny, tmp_path):
    path, tok = tiny
    model = _phase1(path)
    _train_step(model, "MNLI", 3)
    saved = save_phase(model, tmp_path / "p1")
    restored = load_phase(saved)
    assert A.adapter_fingerprint(restored.encoder) == A.adapter_fingerprint(model.encoder)
    for a, b in zip(model.heads.parameters(), restored.heads.parameters()):
        assert torch.equal(a, b)
    weights = saved / "adapters.safetensors"
    state = load_file(str(weights))

    # the failure of earlier tools: keys saved under another prefix must not load silently
    save_file({f"base_model.model.{k}": v for k, v in state.items()}, str(weights))
    with pytest.raises(WeightTransferError, match="adapter weights are missing.*key-prefix mismatch"):
        load_phase(saved)
    one = dict(state)
    one.pop(next(k for k in one if "intermediate-QQP" in k))
    save_file(one, str(weights))
    with pytest.raises(WeightTransferError, match="1 adapter weights are missing"):
        load_phase(saved)
    # same keys, other values: the fingerprint catches it
    save_file({k: v + 1 for k, v in state.items()}, str(weights))
    with pytest.raises(WeightTransferError, match="adapters' fingerprint .* differs"):
        load_phase(saved)
    save_file(state, str(weights))
    # another base model than the adapters were trained on
    other = make_tiny_model(tmp_path / "other", tok, seed=4)
    with pytest.raises(WeightTransferError, match="is not the encoder the adapters .* were trained on"):
        load_phase(saved, base=other)
    assert A.adapter_fingerprint(load_phase(saved).encoder) == A.adapter_fingerprint(model.encoder)


# ---- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, inter, message",
    [
        (["adapters.method=houlsby"], ("MNLI",), r"adapters.method='houlsby' is not valid: expected one of \['full', "
                                                 r"'lora'\] \(bottleneck adapters need AdapterHub"),
        (["adapters.sharing=mixed"], ("MNLI",), "adapters.sharing='mixed' is not valid: expected one of"),
        (["adapters.method=lora", "adapters.lora_r=0"], ("MNLI",), "adapters.lora_r=0 is not valid: expected a"),
        (["adapters.method=lora", "adapters.lora_dropout=1.5"], ("MNLI",), r"lora_dropout=1.5 is not valid.*\[0, 1\)"),
        (["adapters.method=lora", "adapters.lora_alpha=-1"], ("MNLI",), "lora_alpha=-1.0 is not valid"),
        (["adapters.method=lora", "adapters.learning_rate=0"], ("MNLI",), "adapters.learning_rate=0.0 is not valid"),
        (["adapters.method=lora", "adapters.sharing=shared"], (), "adapters.sharing='shared' needs intermediate tasks"),
        (["adapters.method=lora", "setting=zero-shot"], ("MNLI",), "setting='zero-shot' does not match adapters"),
        (["setting=zero-shot+lora"], ("MNLI",), "setting='zero-shot\\+lora' does not match adapters.method='full'"),
        (["adapters.lora_rank=4"], ("MNLI",), "unknown key 'lora_rank' in \\[adapters\\]; did you mean 'lora_r'"),
        (["adapters.method=lora", "adapters.target_modules=all-linear,query"], ("MNLI",),
         r"adapters.target_modules=\('all-linear', 'query'\) is not valid: expected 'all-linear' alone"),
    ],
)
def test_bad_adapter_config(overrides, inter, message):
    cfg = TrainConfig(model="m", target="XNLI", intermediate=inter)
    with pytest.raises(ValueError, match=message):
        apply_overrides(cfg, overrides).validate()


def test_config_settings_learning_rate_and_identity():
    base = TrainConfig(model="m", target="XNLI", intermediate=("MNLI", "QQP"))
    full = base.validate()
    assert full.setting == "zero-shot" and "adapters" not in full.identity()  # ids of earlier full runs kept
    lora = apply_overrides(base, ["adapters.method=lora"]).validate()
    assert lora.setting == "zero-shot+lora"
    assert lora.intermediate_phase.learning_rate == lora.target_phase.learning_rate == 3e-4
    assert lora.identity()["adapters"]["method"] == "lora"
    shared = apply_overrides(base, ["adapters.method=lora", "adapters.sharing=shared",
                                    "adapters.learning_rate=none", "target_phase.learning_rate=1e-4"]).validate()
    assert shared.setting == "zero-shot+lora-shared" and shared.target_phase.learning_rate == 1e-4
    assert shared.validate() == shared  # idempotent
    cfg = apply_overrides(base, ["adapters.method=lora", "adapters.target_modules=query,key,value"]).validate()
    assert cfg.adapters.target_modules == ("query", "key", "value")
    assert json.loads(json.dumps(cfg.to_dict()))["adapters"] == cfg.to_dict()["adapters"]  # JSON round trip
    with pytest.raises(ValueError, match="adapters.method='lora' trains nothing for Tatoeba"):
        apply_overrides(TrainConfig(model="m", target="Tatoeba"), ["adapters.method=lora"]).validate()


def test_target_modules_default_and_errors(tiny):
    path, _ = tiny
    enc = load_encoder(path)
    assert A.lora_target_modules(enc.config) == ["query", "value"]
    with pytest.raises(ValueError, match="adapters.target_modules=\\['nosuch'\\] matches no module"):
        A.add_adapters(enc, {"x": {**A.lora_spec(LORA, enc.config), "target_modules": ["nosuch"]}})
    enc = load_encoder(path)
    A.add_adapters(enc, {"x": A.lora_spec(AdapterConfig(method="lora", target_modules=("all-linear",)), enc.config)})
    adapted = {n.rsplit(".lora_A", 1)[0] for n in A.adapter_state(enc) if ".lora_A." in n}
    assert len(adapted) == LAYERS * 6  # query, key, value, attention output, intermediate, output


# ---- the pipeline end to end ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def per_task_run(tmp_path_factory):
    """One LoRA run, per-task adapters for MNLI and QQP, target XNLI; records what phase 2 started from."""
    out = tmp_path_factory.mktemp("lora") / "run"
    started = {}
    real = A.target_model

    def spy(*args, **kw):
        model = real(*args, **kw)
        started["inter"] = A.adapter_fingerprint(model.encoder, ["intermediate-MNLI", "intermediate-QQP"])
        started["base"] = A.base_fingerprint(model.encoder)
        return model

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(A, "target_model", spy)
        summary = run_smoke(out, **RUN)
    return out, summary, started


def test_lora_per_task_end_to_end(per_task_run):
    out, summary, started = per_task_run
    df = read_store(summary.store)
    assert sorted(df["language"]) == ["de", "en"]
    assert (df["setting"] == "zero-shot+lora").all() and (df["intermediate_task"] == "MNLI,QQP").all()
    p1, p2 = out / "phase1-intermediate" / "final", out / "phase2-target" / "final"
    assert not (p1 / "encoder").exists() and not (p2 / "encoder").exists()  # no copies of the frozen base
    pretrained = fingerprint(load_encoder(out / "model"))
    info1 = json.loads((p1 / "adapters.json").read_text())
    info2 = json.loads((p2 / "adapters.json").read_text())
    # the base encoder is unchanged by adapter training, in both phases
    assert info1["base_fingerprint"] == info2["base_fingerprint"] == started["base"] == pretrained
    # phase 2 started from exactly the adapters phase 1 ended with, and kept them frozen
    assert started["inter"] == info1["adapter_fingerprint"]
    s1, s2 = load_file(str(p1 / "adapters.safetensors")), load_file(str(p2 / "adapters.safetensors"))
    assert set(s1) < set(s2)
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    # every adapter trained: B starts at zero
    for name, state in (("intermediate-MNLI", s1), ("intermediate-QQP", s1), ("target", s2)):
        assert any(v.abs().sum() > 0 for k, v in state.items() if f".lora_B.{name}." in k), name
    assert info2["task_adapters"] == {"XNLI": ["intermediate-MNLI", "intermediate-QQP", "target"]}
    assert info2["trainable"] == ["target"]
    # phase 3 evaluated the stack that phase 2 saved
    model = load_phase(p2)
    assert model.stack() == ["intermediate-MNLI", "intermediate-QQP", "target"]


def test_method_change_does_not_reuse_the_output(per_task_run):
    out, summary, _ = per_task_run
    args = {k: v for k, v in RUN.items() if k != "overrides"}
    for extra, differs in ((["adapters.method=full"], "identity.adapters"),
                           (["adapters.method=lora", "adapters.sharing=shared"], "identity.adapters.sharing"),
                           (["adapters.method=lora", "adapters.lora_r=4"], "identity.adapters.lora_r")):
        with pytest.raises(ValueError, match=f"holds a run with a different configuration.*{differs}"):
            run_smoke(out, overrides=[*RUN["overrides"], *extra], **args)
    again = run_smoke(out, **RUN)  # same config: all done
    assert all(p.skipped for p in again.phases) and again.evaluated == []


class _Killed(Exception):
    pass


def test_resume_phase2_from_a_checkpoint_with_adapters(per_task_run, tmp_path, monkeypatch):
    """Interrupted after phase 2's first checkpoint, the rerun resumes and ends where an uninterrupted run did."""
    import shutil

    import transformers

    out, _, _ = per_task_run
    resumed = tmp_path / "run"
    # phase 1 as the uninterrupted run left it (config.json names that run's paths: written anew)
    shutil.copytree(out, resumed, ignore=shutil.ignore_patterns("phase2-target", "store", "config.json"))
    real = transformers.Trainer._save_checkpoint

    def save_then_die(self, *a, **k):
        real(self, *a, **k)
        raise _Killed

    monkeypatch.setattr(transformers.Trainer, "_save_checkpoint", save_then_die)
    with pytest.raises(_Killed):
        run_smoke(resumed, **RUN)
    ckpts = sorted((resumed / "phase2-target" / "checkpoints").glob("checkpoint-*"))
    assert len(ckpts) == 1 and not (resumed / "phase2-target" / "DONE.json").exists()
    monkeypatch.setattr(transformers.Trainer, "_save_checkpoint", real)

    summary = run_smoke(resumed, **RUN)
    assert [p.skipped for p in summary.phases] == [True, False]
    final = sorted((resumed / "phase2-target" / "checkpoints").glob("checkpoint-*"))[-1]
    assert json.loads((final / "trainer_state.json").read_text())["global_step"] > int(ckpts[0].name.split("-")[1])
    clean = json.loads((out / "phase2-target" / "final" / "adapters.json").read_text())
    again = json.loads((resumed / "phase2-target" / "final" / "adapters.json").read_text())
    assert again["adapter_fingerprint"] == clean["adapter_fingerprint"]
    ref = read_store(out / "store").set_index("language")["score"].sort_index()
    assert read_store(resumed / "store").set_index("language")["score"].sort_index().tolist() == ref.tolist()


def test_cli_smoke_shared_adapter(tmp_path, capsys, monkeypatch):
    from xdist.cli import main
    from xdist.train import smoke

    real = smoke.run_smoke
    monkeypatch.setattr(smoke, "run_smoke", lambda *a, **k: real(*a, **{**k, "n_train": 48, "n_eval": 12}))  # small
    out = tmp_path / "s"
    assert main(["train", "--smoke", "--adapter", "lora", "--adapter-sharing", "shared", "--intermediate",
                 "MNLI,QQP", "--target", "XNLI", "--languages", "en", "--output", str(out),
                 "--set", "intermediate_phase.num_train_epochs=1", "--set", "target_phase.num_train_epochs=1"]) == 0
    df = read_store(out / "store")
    assert df["setting"].tolist() == ["zero-shot+lora-shared"]
    info = json.loads((out / "phase2-target" / "final" / "adapters.json").read_text())
    assert info["task_adapters"] == {"XNLI": ["intermediate", "target"]}
    assert "LoRA adapters (MNLI: intermediate; QQP: intermediate)" in capsys.readouterr().err


def test_cli_adapter_errors_are_one_line(capsys, tmp_path, monkeypatch):
    from xdist.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["train", "--model", "m", "--target", "XNLI", "--adapter", "lora", "--adapter-sharing", "shared"]) == 2
    err = capsys.readouterr().err
    assert "adapters.sharing='shared' needs intermediate tasks" in err and err.count("\n") == 1
    assert main(["train", "--model", "m", "--target", "XNLI", "--set", "adapters.method=prefix"]) == 2
    assert "adapters.method='prefix' is not valid" in capsys.readouterr().err
    assert main(["train", "--model", "m", "--target", "XNLI", "--intermediate", "MNLI", "--adapter-sharing",
                 "shared"]) == 2
    assert "--adapter-sharing shared needs adapters (--adapter lora)" in capsys.readouterr().err


def test_cli_smoke_passes_setting_on(capsys, tmp_path, monkeypatch):
    """--setting reaches a --smoke run too: one contradicting the adapter method is refused there as well."""
    from xdist.cli import main
    from xdist.train import smoke

    real = smoke.run_smoke
    monkeypatch.setattr(smoke, "run_smoke", lambda *a, **k: real(*a, **{**k, "n_train": 8, "n_eval": 4}))
    assert main(["train", "--smoke", "--adapter", "lora", "--setting", "zero-shot", "--languages", "en",
                 "--output", str(tmp_path / "s")]) == 2
    assert "setting='zero-shot' does not match adapters.method='lora'" in capsys.readouterr().err


def test_print_config_shows_adapters(capsys, tmp_path):
    from xdist.cli import main

    assert main(["train", "--model", str(tmp_path), "--target", "XNLI", "--intermediate", "MNLI",
                 "--adapter", "lora", "--print-config"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["adapters"]["method"] == "lora" and cfg["setting"] == "zero-shot+lora"
    assert Path(cfg["model"]) == tmp_path
