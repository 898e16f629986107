"""Multilingual intermediate data (translated training files) and continued multilingual MLM.

Tiny models and toy data only: translated files are read and end up in training batches, a
missing file fails before training naming what was looked for, MLM masking follows transformers'
DataCollatorForLanguageModeling to the token and is seeded, the MLM head loads strictly from a
checkpoint's lm_head (or is new and tied), the encoder still carries over with its fingerprint, and
the store records the derived setting."""

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("datasets")

from xdist.cli import main  # noqa: E402
from xdist.store import read_store  # noqa: E402
from xdist.train import pipeline  # noqa: E402
from xdist.train.config import TrainConfig, derive_setting  # noqa: E402
from xdist.train.mlm import (  # noqa: E402
    MLM_TASK,
    MLMCollator,
    attach_mlm_head,
    corpus_files,
    encode_corpus,
    load_corpus,
    mask_tokens,
)
from xdist.train.model import TransferModel, WeightTransferError, fingerprint, load_encoder, load_phase  # noqa: E402
from xdist.train.readers import DataError  # noqa: E402
from xdist.train.smoke import run_smoke, smoke_config  # noqa: E402
from xdist.train.toy import make_tiny_model, make_tokenizer, tiny_config  # noqa: E402
from xdist.train.toydata import write_toy_data, write_toy_mlm_corpus, write_toy_translations  # noqa: E402
from xdist.train.translated import check_translated, load_intermediate, translated_paths  # noqa: E402

FAST = ["target_phase.num_train_epochs=1", "intermediate_phase.num_train_epochs=1"]


@pytest.fixture(scope="module")
def tok():
    return make_tokenizer([f"w{i} x{i % 7} y{i % 5} z" for i in range(60)], vocab_size=60)


# ---- translated intermediate data -----------------------------------------------------------


def test_translated_layouts_follow_xtreme_and_xnli_mt():
    assert translated_paths("MNLI", "de") == {
        "xtreme-translations": "XNLI/translate-train/en-de-translated.tsv",  # gs://xtreme_translations
        "original": "XNLI-MT-1.0/multinli/multinli.train.de.tsv",  # the XNLI authors' translations
        "jsonl": "mnli/train-de.jsonl",
    }
    assert translated_paths("SQuAD-v1.1", "ar")["xtreme-translations"] == \
        "SQuAD/translate-train/squad.translate.train.en-ar.json"
    assert translated_paths("CosmosQA", "sw") == {"jsonl": "cosmosqa/train-sw.jsonl"}
    with pytest.raises(ValueError, match="composite"):
        translated_paths("ANLI+", "de")


def test_xtreme_translation_tsv_is_read_as_the_translated_pair(tmp_path):
    d = tmp_path / "XNLI" / "translate-train"
    d.mkdir(parents=True)
    (d / "en-de-translated.tsv").write_text(
        'A man sleeps.\tA man rests.\tEin Mann schläft.\tEin "Mann" ruht.\tentailment\n'
        "A dog.\tNo dog.\tEin Hund.\tKein Hund.\tcontradictory\n", encoding="utf-8")
    ds = load_intermediate("MNLI", ["de"], data_dir=tmp_path)
    assert ds["text_a"] == ["Ein Mann schläft.", "Ein Hund."]
    assert ds["text_b"][0] == 'Ein "Mann" ruht.'  # no CSV quoting, as TFDS' xtreme_xnli reads them
    assert ds["label"] == [1, 0] and set(ds["language"]) == {"de"}
    assert all(i.startswith("de/") for i in ds["id"])


def test_xtreme_translated_squad_is_read(tmp_path):
    d = tmp_path / "SQuAD" / "translate-train"
    d.mkdir(parents=True)
    qa = {"id": "q1", "question": "Wie heißt die Katze?", "answers": [{"text": "Mia", "answer_start": 16}]}
    squad = {"data": [{"title": "t", "paragraphs": [{"context": "Die Katze heißt Mia.", "qas": [qa]}]}]}
    (d / "squad.translate.train.en-de.json").write_text(json.dumps(squad), encoding="utf-8")
    ds = load_intermediate("SQuAD-v1.1", ["de"], data_dir=tmp_path)
    assert ds[0]["answers"] == {"text": ["Mia"], "answer_start": [16]} and ds[0]["language"] == "de"


def test_translated_files_are_pooled_per_language(tmp_path):
    write_toy_data(tmp_path, ["MNLI"], n_train=10, n_eval=2)
    write_toy_translations(tmp_path, ["MNLI"], ["de", "sw", "en"], n=6)
    ds = load_intermediate("MNLI", ["en", "de", "sw"], data_dir=tmp_path, layout="jsonl", limit=5)
    assert Counter(ds["language"]) == {"en": 5, "de": 5, "sw": 5}
    en = load_intermediate("MNLI", ["en"], data_dir=tmp_path)
    de = load_intermediate("MNLI", ["de"], data_dir=tmp_path)
    assert en["label"][:6] == de["label"]  # parallel translations of the same English examples
    assert en["text_a"][:6] != de["text_a"]


def test_missing_translated_file_names_paths_and_layouts(tmp_path):
    write_toy_data(tmp_path, ["MNLI"], n_train=4, n_eval=2)
    with pytest.raises(DataError) as err:
        check_translated("MNLI", "fr", data_dir=tmp_path)
    msg = str(err.value)
    for part in ("'MNLI'", "'fr'", "XNLI/translate-train/en-fr-translated.tsv",
                 "XNLI-MT-1.0/multinli/multinli.train.fr.tsv", "mnli/train-fr.jsonl", "xtreme-translations"):
        assert part in msg


def test_missing_translated_file_stops_the_run_before_training(tmp_path, monkeypatch):
    cfg = smoke_config(tmp_path / "run", target="XNLI", intermediate=("MNLI",), languages=["en", "de"],
                       n_train=8, n_eval=4, intermediate_languages=["en", "de"], overrides=FAST)
    cfg = dataclasses.replace(cfg, intermediate_languages=("en", "de", "fr"))
    monkeypatch.setattr(pipeline, "train_phase", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(DataError, match=r"mnli/train-fr\.jsonl"):
        pipeline.run(cfg)


def test_translated_only_run_does_not_need_the_english_training_file(tmp_path):
    from xdist.train.tasks import get_task

    cfg = smoke_config(tmp_path / "run", target="XNLI", intermediate=("MNLI",), languages=["en", "de"],
                       n_train=8, n_eval=4, intermediate_languages=["en", "de"], overrides=FAST)
    (Path(cfg.data_dir) / "mnli" / "train-en.jsonl").unlink()
    cfg = dataclasses.replace(cfg, layout=None)  # found, and checked, by the preflight
    pipeline._preflight(dataclasses.replace(cfg, intermediate_languages=("de",)).validate(), get_task("XNLI"))
    with pytest.raises(DataError, match=r"mnli/train-en\.jsonl"):  # English requested: still required
        pipeline._preflight(cfg.validate(), get_task("XNLI"))


# ---- MLM corpus and masking -----------------------------------------------------------------


def test_corpus_files_and_limits(tmp_path):
    write_toy_mlm_corpus(tmp_path, ["de", "sw"], n=5)
    assert sorted(corpus_files(tmp_path)) == ["de", "sw"]
    ds = load_corpus(tmp_path, ["swahili"], limit=3)
    assert ds["language"] == ["sw"] * 3
    with pytest.raises(DataError, match=r"no MLM corpus file for 'fr'.*fr\.txt"):
        corpus_files(tmp_path, ["de", "fr"])
    with pytest.raises(ValueError, match="is not a directory"):
        corpus_files(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("x\n")
    with pytest.raises(ValueError, match="notes.txt is not named after a language"):
        corpus_files(tmp_path)


def test_masking_matches_transformers_collator(tok):
    from transformers import DataCollatorForLanguageModeling

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, len(tok), (8, 40), generator=g)
    special = torch.zeros_like(ids)
    special[:, 0] = special[:, -1] = 1
    ours = mask_tokens(ids, special, probability=0.15, mask_token_id=tok.mask_token_id, vocab_size=len(tok),
                       generator=torch.Generator().manual_seed(7))
    hf = DataCollatorForLanguageModeling(tok, mlm_probability=0.15)
    hf.generator = torch.Generator().manual_seed(7)
    theirs = hf.torch_mask_tokens(ids.clone(), special_tokens_mask=special.clone())
    assert torch.equal(ours[0], theirs[0]) and torch.equal(ours[1], theirs[1])


def test_masking_statistics(tok):
    n, width = 400, 64
    ids = torch.randint(5, len(tok), (n, width), generator=torch.Generator().manual_seed(1))
    special = torch.zeros_like(ids)
    special[:, 0] = special[:, -1] = 1
    inputs, labels = mask_tokens(ids, special, probability=0.15, mask_token_id=tok.mask_token_id,
                                 vocab_size=len(tok), generator=torch.Generator().manual_seed(2))
    selected = labels != -100
    assert not selected[special.bool()].any()
    assert torch.equal(labels[selected], ids[selected]) and torch.equal(inputs[~selected], ids[~selected])
    share = selected.sum().item() / (n * (width - 2))
    assert abs(share - 0.15) < 0.01  # ~3,700 of 24,800 tokens: 3 sd is 0.007
    k = selected.sum().item()
    to_mask = (inputs[selected] == tok.mask_token_id).sum().item() / k
    kept = (inputs[selected] == ids[selected]).sum().item() / k
    assert abs(to_mask - 0.8) < 0.025 and abs(kept - 0.1) < 0.025  # 10% random (a few draw the same id)


def test_collator_is_seeded_by_seed_and_batch_and_never_masks_padding(tok):
    texts = load_corpus_like(tok)
    feats = encode_corpus(texts, tok, max_length=16)
    rows = [feats[i] for i in range(6)]
    a = MLMCollator(tok, probability=0.3, seed=1)
    b1, b2 = a(rows), a(rows)
    assert torch.equal(b1["input_ids"], b2["input_ids"]) and torch.equal(b1["labels"], b2["labels"])
    other = MLMCollator(tok, probability=0.3, seed=2)(rows)
    assert not torch.equal(other["labels"], b1["labels"])
    assert not torch.equal(a(rows[::-1])["labels"], b1["labels"].flip(0))  # another batch, other draws
    pad = b1["attention_mask"] == 0
    assert pad.any() and (b1["labels"][pad] == -100).all() and (b1["input_ids"][pad] == tok.pad_token_id).all()


def load_corpus_like(tok):
    import datasets

    texts = [" ".join(f"w{i + j}" for j in range(3 + i % 9)) for i in range(12)]
    return datasets.Dataset.from_dict({"text": texts, "language": ["de"] * 12})


# ---- MLM head ------------------------------------------------------------------------------


def _masked_lm_checkpoint(path, tok, *, drop=None):
    from safetensors.torch import load_file, save_file
    from transformers import XLMRobertaForMaskedLM

    torch.manual_seed(0)
    lm = XLMRobertaForMaskedLM(tiny_config(tok, hidden_size=16, num_heads=2, max_position=32))
    lm.save_pretrained(path)
    tok.save_pretrained(path)
    if drop:
        state = load_file(str(Path(path) / "model.safetensors"))
        del state[drop]
        save_file(state, str(Path(path) / "model.safetensors"), metadata={"format": "pt"})
    return lm


def test_mlm_head_loaded_strictly_from_lm_head(tmp_path, tok):
    lm = _masked_lm_checkpoint(tmp_path / "mlm", tok)
    model = TransferModel(load_encoder(tmp_path / "mlm"), {"XNLI": "sentence_pair"}, {"XNLI": 3})
    assert attach_mlm_head(model, tmp_path / "mlm") == "checkpoint"
    head = model.heads[MLM_TASK]
    for name in ("dense.weight", "dense.bias", "layer_norm.weight", "bias"):
        assert torch.equal(head.state_dict()[name], lm.lm_head.state_dict()[name])
    assert head.embeddings.weight is model.encoder.get_input_embeddings().weight  # tied, held once
    assert not any("decoder" in k for k in model.heads.state_dict())
    ids = torch.tensor([[0, 7, 8, 9, 2]])
    labels = torch.tensor([[-100, 7, -100, 9, -100]])
    model.eval(), lm.eval()  # no dropout: compare the functions
    out = model(task=MLM_TASK, input_ids=ids, labels=labels)
    assert out.logits.shape == (2, len(tok))  # only the selected positions are projected
    with torch.no_grad():
        ref = lm(input_ids=ids).logits[0, [1, 3]]
    assert torch.allclose(out.logits, ref, atol=1e-5)  # same function as the pretrained MLM
    out.loss.backward()
    assert model.encoder.get_input_embeddings().weight.grad.abs().sum() > 0


def test_mlm_head_with_missing_weight_is_refused(tmp_path, tok):
    _masked_lm_checkpoint(tmp_path / "bad", tok, drop="lm_head.layer_norm.weight")
    model = TransferModel(load_encoder(tmp_path / "bad"), {"XNLI": "sentence_pair"}, {"XNLI": 3})
    with pytest.raises(WeightTransferError, match=r"missing \['lm_head.layer_norm.weight'\]"):
        attach_mlm_head(model, tmp_path / "bad")


def test_mlm_head_is_new_and_tied_without_lm_head(tmp_path, tok):
    path = make_tiny_model(tmp_path / "base", tok, hidden_size=16, max_position=32)
    model = TransferModel(load_encoder(path), {"XNLI": "sentence_pair"}, {"XNLI": 3})
    assert attach_mlm_head(model, path) == "fresh"
    assert model.heads[MLM_TASK].embeddings is model.encoder.get_input_embeddings()
    out = model(task=MLM_TASK, input_ids=torch.tensor([[0, 5, 2]]), labels=torch.tensor([[-100, -100, -100]]))
    assert out.loss.item() == 0.0  # nothing selected: a zero loss, not NaN


# ---- configuration and setting -------------------------------------------------------------


def test_setting_is_derived_unless_given():
    base = dict(model="m", target="XNLI", intermediate=("MNLI",))
    assert TrainConfig(**base).validate().setting == "zero-shot"
    assert TrainConfig(**base, intermediate_languages=("en", "German")).validate().setting == \
        "zero-shot+multilingual-intermediate"
    cfg = TrainConfig(**base, mlm_corpus="corpus").validate()
    assert cfg.setting == "zero-shot+mlm" == derive_setting(cfg)
    assert TrainConfig(**base, mlm_corpus="c", setting="mine").validate().setting == "mine"
    assert TrainConfig(**base, intermediate_languages=("de", "en")).validate().intermediate_languages == ("de", "en")
    # English only: the run's identity is what it was before these options existed
    assert "intermediate_languages" not in TrainConfig(**base).validate().identity()


@pytest.mark.parametrize("kw, match", [
    ({"intermediate": (), "intermediate_languages": ("en", "de")}, "needs an intermediate task"),
    ({"intermediate": (), "mlm_corpus": "c"}, "mlm_corpus needs an intermediate task"),
    ({"mlm_languages": ("de",)}, "mlm_languages needs mlm_corpus"),
    ({"mlm_corpus": "c", "mlm_probability": 1.5}, r"mlm_probability=1.5 is not valid"),
    ({"mlm_corpus": "c", "mlm_max_examples": 0}, r"mlm_max_examples=0 is not valid"),
    ({"intermediate_languages": ("en", "xx-not")}, "intermediate_languages"),
    ({"intermediate_languages": ("en", "en")}, "names a language twice"),
    ({"intermediate": ("ANLI+",), "intermediate_languages": ("en", "de")}, "composite"),
])
def test_bad_multilingual_options(kw, match):
    base = dict(model="m", target="XNLI", intermediate=("MNLI",))
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{**base, **kw}).validate()


def test_cli_flags(tmp_path, capsys):
    assert main(["train", "--print-config", "--model", "m", "--target", "XNLI", "--intermediate", "MNLI",
                 "--intermediate-languages", "en,de,fr", "--mlm-corpus", "corpus", "--mlm-languages", "de,sw"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["intermediate_languages"] == ["en", "de", "fr"] and cfg["mlm_languages"] == ["de", "sw"]
    assert cfg["mlm_corpus"] == "corpus" and cfg["setting"] == "zero-shot+multilingual-intermediate+mlm"
    assert main(["train", "--smoke", "--output", str(tmp_path / "s"), "--mlm-corpus", "x"]) == 2
    assert "drop --mlm-corpus" in capsys.readouterr().err


# ---- end to end ----------------------------------------------------------------------------


def test_end_to_end_with_translations_and_mlm(tmp_path, monkeypatch):
    batches = []
    real_collate = pipeline._TaskCollator.__call__

    def spy_collate(self, rows):
        batch = real_collate(self, rows)
        batches.append((rows[0]["task"], Counter(r["language"] for r in rows), batch))
        return batch

    loaded = []
    real_load = pipeline.load_encoder

    def spy_load(path, **kw):
        enc = real_load(path, **kw)
        loaded.append((Path(path), kw.get("expected_fingerprint"), fingerprint(enc)))
        return enc

    monkeypatch.setattr(pipeline._TaskCollator, "__call__", spy_collate)
    monkeypatch.setattr(pipeline, "load_encoder", spy_load)
    out = tmp_path / "run"
    summary = run_smoke(out, target="XNLI", intermediate=("MNLI",), languages=["en", "de"], n_train=32, n_eval=8,
                        overrides=FAST, intermediate_languages=["en", "de", "sw"], mlm_languages=["de", "en"])

    # translated examples and MLM batches went through training, counted per language
    mnli = sum((c for task, c, _ in batches if task == "MNLI"), Counter())
    assert mnli == {"en": 32, "de": 16, "sw": 16}  # one epoch: every example once
    mlm = [(c, b) for task, c, b in batches if task == MLM_TASK]
    assert sum((c for c, _ in mlm), Counter()) == {"de": 32, "en": 32}
    assert all((b["labels"] != -100).any() for _, b in mlm)
    assert any((b["input_ids"] != b["labels"])[b["labels"] != -100].any() for _, b in mlm)  # tokens replaced

    # the encoder carries over with its fingerprint; the MLM head does not
    p1 = out / "phase1-intermediate" / "final"
    assert json.loads((p1 / "heads.json").read_text())["formats"] == {"MNLI": "sentence_pair", MLM_TASK: "mlm"}
    (pretrained,), (phase2,) = [x for x in loaded if x[0] == out / "model"], \
        [x for x in loaded if x[0] == p1 / "encoder"]
    assert phase2[1] is not None and phase2[1] == phase2[2] != pretrained[2]
    assert load_phase(out / "phase2-target" / "final").tasks == ("XNLI",)
    from safetensors.torch import load_file

    phase1 = load_phase(p1)  # the phase-1 result, MLM head included, loads back
    saved = load_file(str(p1 / "heads.safetensors"))
    assert phase1.tasks == ("MNLI", MLM_TASK)
    assert torch.equal(phase1.heads[MLM_TASK].dense.weight, saved[f"{MLM_TASK}.dense.weight"])

    # setting and provenance
    df = read_store(summary.store)
    assert set(df["setting"]) == {"zero-shot+multilingual-intermediate+mlm"}
    assert sorted(df["language"]) == ["de", "en"] and set(df["intermediate_task"]) == {"MNLI"}
    config = json.loads((out / "config.json").read_text())
    assert config["mlm_head"] == "fresh" and config["identity"]["intermediate_languages"] == ["en", "de", "sw"]

    # running it again resumes: nothing is trained or written twice
    again = run_smoke(out, target="XNLI", intermediate=("MNLI",), languages=["en", "de"], n_train=32, n_eval=8,
                      overrides=FAST, intermediate_languages=["en", "de", "sw"], mlm_languages=["de", "en"])
    assert [p.skipped for p in again.phases] == [True, True] and len(read_store(summary.store)) == len(df)
