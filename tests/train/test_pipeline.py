"""The three phases end to end on tiny models and toy data: every task format, weight carry-over,
resume after SIGKILL, and the results store that `xdist correlate` reads."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("datasets")

from xdist.results import read_results, validate_results  # noqa: E402
from xdist.store import read_store  # noqa: E402
from xdist.train import pipeline  # noqa: E402
from xdist.train.model import fingerprint, load_encoder, saved_fingerprint  # noqa: E402
from xdist.train.smoke import run_smoke  # noqa: E402
from xdist.train.tasks import get_task  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FAST = ["target_phase.num_train_epochs=1", "intermediate_phase.num_train_epochs=1"]


def _small(tmp_path, target, intermediate, languages, **kw):
    return run_smoke(tmp_path / "run", target=target, intermediate=intermediate, languages=languages,
                     n_train=48, n_eval=12, overrides=kw.pop("overrides", FAST), **kw)


def _check_store(summary, target, languages):
    t = get_task(target)
    df = read_store(summary.store)
    assert sorted(df["language"].unique()) == sorted(languages)
    assert set(df["metric"]) == set(t.metrics)
    assert len(df) == len(languages) * len(t.metrics)  # one row per language and metric
    assert df["score"].between(0, 100).all()
    assert (df["target_task"] == t.name).all() and (df["setting"] == "zero-shot").all()
    validate_results(df)
    assert len(read_results([str(summary.store)])) == len(df)
    return df


@pytest.mark.parametrize(
    "target, intermediate, languages",
    [
        ("XNLI", ("MNLI",), ["en", "de", "sw"]),  # sentence pair, one intermediate task
        ("PAN-X", ("SQuAD-v1.1", "HellaSwag"), ["en", "yo", "ja"]),  # tagging; multi-task QA + multiple choice
        ("XQuAD", ("CCG",), ["en", "th", "zh"]),  # extractive QA (trains on SQuAD v1.1); tagging intermediate
        ("MLQA", (), ["en", "de", "hi"]),  # QA with MLQA's per-language normalisation; no phase 1
        ("Tatoeba", ("QQP",), ["de", "sw", "kk"]),  # retrieval after intermediate training
        ("BUCC", (), ["de", "zh"]),  # retrieval, threshold tuned on the gold pairs
    ],
)
def test_every_format_end_to_end(tmp_path, target, intermediate, languages):
    summary = _small(tmp_path, target, intermediate, languages)
    df = _check_store(summary, target, languages)
    names = [p.name for p in summary.phases]
    assert names == (["intermediate"] if intermediate else []) + (
        [] if get_task(target).format == "retrieval" else ["target"])
    if intermediate:
        assert (df["intermediate_task"] == ",".join(sorted(get_task(t).name for t in intermediate))).all()
    if get_task(target).format == "retrieval":
        assert df["note"].str.match(r"layer=\d+ pooling=mean").all()


def test_weights_carry_over_between_phases(tmp_path, monkeypatch):
    loaded = []
    real = pipeline.load_encoder

    def spy(path, **kw):
        enc = real(path, **kw)
        loaded.append((Path(path), fingerprint(enc)))
        return enc

    monkeypatch.setattr(pipeline, "load_encoder", spy)
    summary = _small(tmp_path, "XNLI", ("MNLI",), ["en", "de"])
    pretrained, phase1_start = loaded[0]
    assert pretrained == tmp_path / "run" / "model"
    phase1_end = saved_fingerprint(tmp_path / "run" / "phase1-intermediate" / "final" / "encoder")
    # phase 2 loaded the encoder phase 1 ended with: trained, not the pretrained one
    phase2_path, phase2_start = loaded[1]
    assert phase2_path == tmp_path / "run" / "phase1-intermediate" / "final" / "encoder"
    assert phase2_start == phase1_end != phase1_start
    # and what phase 3 evaluated is what phase 2 ended with
    phase2_end = saved_fingerprint(tmp_path / "run" / "phase2-target" / "final" / "encoder")
    assert phase2_end != phase2_start
    assert summary.scores


def test_rerun_skips_everything_and_refuses_other_config(tmp_path):
    first = _small(tmp_path, "XNLI", ("MNLI",), ["en", "de"])
    again = _small(tmp_path, "XNLI", ("MNLI",), ["en", "de"])
    assert all(p.skipped for p in again.phases)
    assert again.evaluated == [] and sorted(again.resumed_languages) == ["de", "en"]
    assert read_store(first.store).equals(read_store(again.store))
    with pytest.raises(ValueError, match="holds a run with a different configuration.*target_phase.learning_rate"):
        _small(tmp_path, "XNLI", ("MNLI",), ["en", "de"], overrides=[*FAST, "target_phase.learning_rate=0.1"])


_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import transformers
    from xdist.store import Run
    from xdist.train.smoke import run_smoke

    where = sys.argv[2]
    if where == "phase2":
        original = transformers.Trainer._save_checkpoint
        def save_then_die(self, *a, **k):
            original(self, *a, **k)
            if "phase2-target" in self.args.output_dir:
                os.kill(os.getpid(), signal.SIGKILL)
        transformers.Trainer._save_checkpoint = save_then_die
    elif where == "phase3":
        original = Run.record_scores
        count = []
        def record_then_die(self, *a, **k):
            original(self, *a, **k)
            count.append(1)
            if len(count) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        Run.record_scores = record_then_die
    run_smoke(sys.argv[1], target="XNLI", intermediate=("MNLI",), languages=["en", "de", "sw", "fr"],
              n_train=48, n_eval=12, overrides=["target_phase.num_train_epochs=2",
                                                "intermediate_phase.num_train_epochs=1"])
    """
)


def _killed_run(out: Path, where: str):
    script = out.parent / "killer.py"
    script.write_text(_KILLER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(script), str(out), where], env=env, capture_output=True,
                          text=True, timeout=300, cwd=out.parent)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]


def test_resume_after_sigkill_in_phase2_and_phase3(tmp_path):
    out = tmp_path / "run"
    _killed_run(out, "phase2")
    assert (out / "phase1-intermediate" / "DONE.json").is_file()
    ckpts = sorted((out / "phase2-target" / "checkpoints").glob("checkpoint-*"))
    assert len(ckpts) == 1 and not (out / "phase2-target" / "DONE.json").exists()
    step = json.loads((ckpts[0] / "trainer_state.json").read_text())["global_step"]

    _killed_run(out, "phase3")  # resumes phase 2 from its checkpoint, dies after two languages
    state = json.loads((out / "phase2-target" / "DONE.json").read_text())
    assert state["train_metrics"]["train_runtime"] > 0
    assert len(read_store(out / "store")) == 2

    summary = run_smoke(out, target="XNLI", intermediate=("MNLI",), languages=["en", "de", "sw", "fr"],
                        n_train=48, n_eval=12, overrides=["target_phase.num_train_epochs=2",
                                                          "intermediate_phase.num_train_epochs=1"])
    assert all(p.skipped for p in summary.phases)
    assert len(summary.resumed_languages) == 2 and len(summary.evaluated) == 2
    df = read_store(out / "store")
    assert sorted(df["language"]) == ["de", "en", "fr", "sw"]  # each exactly once
    final_state = json.loads(
        (sorted((out / "phase2-target" / "checkpoints").glob("checkpoint-*"))[-1] / "trainer_state.json").read_text())
    assert final_state["global_step"] > step  # training continued past the checkpoint it resumed from

    # the resumed run reproduces an uninterrupted one exactly
    clean = run_smoke(tmp_path / "clean", target="XNLI", intermediate=("MNLI",), languages=["en", "de", "sw", "fr"],
                      n_train=48, n_eval=12, overrides=["target_phase.num_train_epochs=2",
                                                        "intermediate_phase.num_train_epochs=1"])
    assert saved_fingerprint(out / "phase2-target" / "final" / "encoder") == saved_fingerprint(
        tmp_path / "clean" / "phase2-target" / "final" / "encoder")
    ref = read_store(clean.store).set_index("language")["score"].sort_index()
    assert df.set_index("language")["score"].sort_index().tolist() == ref.tolist()


class _StopAtPhase2(Exception):
    pass


def test_phase2_head_is_the_same_after_a_restart_before_its_first_checkpoint(tmp_path, monkeypatch):
    """The target head depends on (seed, phase, task), not on the RNG state phase 1 left behind."""
    heads = []
    real = pipeline.train_phase

    def stop_at_phase2(name, model, *args, **kwargs):
        if name == "target":  # as if killed here, before any checkpoint of phase 2
            heads.append({k: v.detach().clone() for k, v in model.heads.state_dict().items()})
            raise _StopAtPhase2
        return real(name, model, *args, **kwargs)

    monkeypatch.setattr(pipeline, "train_phase", stop_at_phase2)
    with pytest.raises(_StopAtPhase2):  # uninterrupted so far: phase 1 trained in this process
        _small(tmp_path, "XNLI", ("MNLI",), ["en"])
    assert (tmp_path / "run" / "phase1-intermediate" / "DONE.json").is_file()
    with pytest.raises(_StopAtPhase2):  # restarted: phase 1 done earlier, phase 2 starts from scratch
        _small(tmp_path, "XNLI", ("MNLI",), ["en"])
    first, restarted = heads
    assert first.keys() == restarted.keys() and first
    assert all(torch.equal(first[k], restarted[k]) for k in first)

    # the head's seed leaves the global RNG alone and does not depend on it
    from xdist.train.model import TransferModel, head_seed, load_encoder

    encoder = load_encoder(tmp_path / "run" / "model")
    torch.manual_seed(0)
    state = torch.random.get_rng_state()
    a = TransferModel(encoder, {"XNLI": "sentence_pair"}, {"XNLI": 3}, seed=head_seed(1, "target"))
    assert torch.equal(torch.random.get_rng_state(), state)
    torch.rand(5)
    b = TransferModel(encoder, {"XNLI": "sentence_pair"}, {"XNLI": 3}, seed=head_seed(1, "target"))
    c = TransferModel(encoder, {"XNLI": "sentence_pair"}, {"XNLI": 3}, seed=head_seed(2, "target"))
    sa, sb, sc = (m.heads.state_dict() for m in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa) and not torch.equal(sa[next(iter(sa))], sc[next(iter(sc))])


def test_cli_smoke_and_errors(tmp_path):
    from xdist.cli import main

    assert main(["train", "--smoke", "--output", str(tmp_path / "s"), "--target", "PAWS-X",
                 "--intermediate", "none", "--languages", "en,de", "--set", "target_phase.num_train_epochs=1"]) == 0
    assert len(read_store(tmp_path / "s" / "store")) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--target", "XNLI", "--output", "o"], "model is required"),
        (["train", "--model", "hub/name", "--target", "XNLI", "--output", "o"], "is not a local model directory"),
        (["train", "--smoke"], "--smoke needs --output"),
        (["train", "--smoke", "--output", "o", "--model", "m"], "--smoke builds its own model"),
        (["train", "--smoke", "--output", "o", "--print-config", "--precision", "bf16"],
         "drop --precision, --print-config"),
        (["train", "--model", "m", "--target", "XNLI", "--set", "target_phase.epochs=2"],
         "did you mean 'num_train_epochs'"),
        (["train", "--model", "m", "--target", "XNLY"], "XNLY"),
    ],
)
def test_cli_errors_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    from xdist.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_data_names_paths(tmp_path):
    from xdist.train.config import TrainConfig
    from xdist.train.toy import make_tiny_model, make_tokenizer

    tok = make_tokenizer(["a b c", "d e f"] * 5, vocab_size=20)
    model = make_tiny_model(tmp_path / "m", tok)
    cfg = TrainConfig(model=str(model), target="XNLI", intermediate=("MNLI",), data_dir=str(tmp_path / "nodata"),
                      output=str(tmp_path / "o"))
    with pytest.raises(ValueError, match="data_dir=.*nodata' is not a directory"):
        pipeline.run(cfg)
    # target data missing: refused before phase 1 trains anything
    from xdist.train.toydata import write_toy_data

    write_toy_data(tmp_path / "data", ["MNLI"], n_train=8, n_eval=4)
    cfg = TrainConfig(model=str(model), target="XNLI", intermediate=("MNLI",), data_dir=str(tmp_path / "data"),
                      output=str(tmp_path / "o2"))
    with pytest.raises(ValueError, match="XNLI.*train") as err:
        pipeline.run(cfg)
    assert "xnli" in str(err.value).lower()
    assert not (tmp_path / "o2" / "phase1-intermediate").exists()


def test_smoke_files_are_written_by_rank_0_alone(tmp_path, monkeypatch):
    """Under torchrun, ranks other than 0 wait for rank 0's toy data and model instead of writing them."""
    from xdist.train import smoke

    monkeypatch.setenv("RANK", "1")
    with pytest.raises(RuntimeError, match="rank 0"):
        smoke._wait_for(tmp_path / "model" / smoke.READY_FILE, timeout=0.3)
    assert not (tmp_path / "model").exists() and not (tmp_path / "data").exists()
    monkeypatch.setenv("RANK", "0")
    cfg = smoke.smoke_config(tmp_path, target="XNLI", intermediate=(), languages=["en", "de"], n_train=16, n_eval=4)
    assert (tmp_path / "model" / smoke.READY_FILE).is_file()
    written = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    monkeypatch.setenv("RANK", "1")
    assert smoke.smoke_config(tmp_path, target="XNLI", intermediate=(), languages=["en", "de"], n_train=16,
                              n_eval=4) == cfg
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == written
