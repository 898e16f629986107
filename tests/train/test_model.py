"""TransferModel heads, and that encoder weights cannot be lost between phases."""

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from safetensors.torch import load_file, save_file  # noqa: E402

from xdist.train.model import (  # noqa: E402
    TransferModel,
    WeightTransferError,
    fingerprint,
    load_encoder,
    load_phase,
    save_phase,
    saved_fingerprint,
)
from xdist.train.toy import make_tiny_model, make_tokenizer  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tok = make_tokenizer(["the cat sat on the mat", "der Hund lief schnell", "a b c d e f"] * 4, vocab_size=40)
    path = make_tiny_model(tmp_path_factory.mktemp("tiny"), tok, seed=3)
    return path, tok


def _batch(n=2, length=5, choices=None):
    shape = (n, choices, length) if choices else (n, length)
    ids = torch.randint(5, 15, shape)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def test_heads_shapes_and_losses(tiny):
    path, _ = tiny
    enc = load_encoder(path)
    formats = {"XNLI": "sentence_pair", "PAN-X": "tagging", "SQuAD-v1.1": "extractive_qa", "HellaSwag": "multiple_choice"}
    model = TransferModel(enc, formats, {"XNLI": 3, "PAN-X": 7})
    out = model(task="XNLI", **_batch(), labels=torch.tensor([0, 2]))
    assert out.logits.shape == (2, 3) and out.loss > 0
    out = model(task="PAN-X", **_batch(), labels=torch.full((2, 5), -100).index_fill_(1, torch.tensor([1]), 3))
    assert out.logits.shape == (2, 5, 7) and torch.isfinite(out.loss)
    out = model(task="SQuAD-v1.1", **_batch(), start_positions=torch.tensor([1, 0]), end_positions=torch.tensor([2, 0]))
    assert out.start_logits.shape == (2, 5) and out.loss > 0
    out = model(task="HellaSwag", **_batch(choices=4), labels=torch.tensor([3, 1]))
    assert out.logits.shape == (2, 4) and out.loss > 0
    assert set(out) == {"loss", "logits"} and out["loss"] is out.loss


def test_bad_task_and_format(tiny):
    path, _ = tiny
    model = TransferModel(load_encoder(path), {"XNLI": "sentence_pair"}, {"XNLI": 3})
    with pytest.raises(ValueError, match="task='MNLI' has no head.*expected one of \\['XNLI'\\]"):
        model(task="MNLI", **_batch())
    with pytest.raises(ValueError, match="format='retrieval' has no trainable head"):
        TransferModel(load_encoder(path), {"BUCC": "retrieval"})
    with pytest.raises(ValueError, match="n_labels=None is not valid for a sentence_pair head"):
        TransferModel(load_encoder(path), {"XNLI": "sentence_pair"})


def test_local_paths_only(tmp_path):
    with pytest.raises(ValueError, match="is not a local model directory.*hf download"):
        load_encoder("FacebookAI/xlm-roberta-base")
    with pytest.raises(ValueError, match="not a local model directory"):
        load_encoder(tmp_path)


def test_loads_pretraining_checkpoint_with_prefix(tiny, tmp_path):
    """A checkpoint saved with its MLM head (keys `roberta.*`) loads fully into the base encoder."""
    from transformers import XLMRobertaForMaskedLM

    path, tok = tiny
    base = load_encoder(path)
    mlm = XLMRobertaForMaskedLM(base.config)
    mlm.roberta.load_state_dict(base.state_dict(), strict=False)
    mlm.save_pretrained(tmp_path / "mlm")
    keys = load_file(str(tmp_path / "mlm" / "model.safetensors"))
    assert any(k.startswith("roberta.encoder.") for k in keys)
    again = load_encoder(tmp_path / "mlm")
    assert fingerprint(again) == fingerprint(base)


def test_key_prefix_mismatch_is_an_error(tiny, tmp_path):
    """The failure of earlier tools: a checkpoint whose keys carry a foreign prefix must not load silently."""
    path, tok = tiny
    state = load_file(str(path / "model.safetensors"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((path / "config.json").read_text())
    save_file({f"encoder.{k}": v for k, v in state.items()}, str(bad / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(WeightTransferError, match="encoder weights are missing.*key-prefix mismatch"):
        load_encoder(bad)


def test_weights_carry_over_and_fingerprint_guards(tiny, tmp_path):
    path, tok = tiny
    enc = load_encoder(path)
    before = fingerprint(enc)
    model = TransferModel(enc, {"MNLI": "sentence_pair"}, {"MNLI": 3})
    with torch.no_grad():  # "train": change every encoder weight
        for p in model.encoder.parameters():
            p.add_(0.01)
    trained = fingerprint(model.encoder)
    assert trained != before
    saved = save_phase(model, tmp_path / "phase1", tokenizer=tok)
    assert saved_fingerprint(saved / "encoder") == trained
    # the next phase starts from exactly the trained weights, not the pretrained ones
    nxt = load_encoder(saved / "encoder", expected_fingerprint=saved_fingerprint(saved / "encoder"))
    assert fingerprint(nxt) == trained
    restored = load_phase(saved, tasks={"XNLI": "sentence_pair"}, n_labels={"XNLI": 3})
    assert set(restored.tasks) == {"MNLI", "XNLI"}
    for a, b in zip(model.heads["MNLI"].parameters(), restored.heads["MNLI"].parameters()):
        assert torch.equal(a, b)
    # weights replaced behind the fingerprint's back: refused
    with pytest.raises(WeightTransferError, match="fingerprint .* differs"):
        load_encoder(path, expected_fingerprint=trained)
    # a corrupted heads file: refused
    meta = json.loads((saved / "heads.json").read_text())
    meta["formats"]["HellaSwag"] = "multiple_choice"
    (saved / "heads.json").write_text(json.dumps(meta))
    with pytest.raises(WeightTransferError, match="heads.safetensors does not match"):
        load_phase(saved)


def test_save_phase_is_atomic(tiny, tmp_path):
    path, tok = tiny
    model = TransferModel(load_encoder(path), {"XNLI": "sentence_pair"}, {"XNLI": 3})
    target = tmp_path / "final"
    save_phase(model, target)
    assert sorted(p.name for p in target.iterdir()) == ["encoder", "heads.json", "heads.safetensors"]
    assert not (tmp_path / "final.tmp").exists()
