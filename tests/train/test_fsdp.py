"""FSDP for real: a 2-process ``xdist train --smoke`` under ``torchrun`` on CPU (gloo), killed and resumed.

accelerate runs FSDP only on accelerator devices and would train this run
with DDP; the pipeline hands it the FSDP plugin on CPU
(``xdist.train.pipeline._fsdp_on_cpu``), so the FSDP2 code paths — sharding
with the encoder's layer class wrapped, Trainer's FSDP checkpoints, resuming
from them, gathering the full weights on rank 0 — run here as on GPUs.

The run goes through the real CLI in subprocesses.  A small wrapper (the
``_WORKER`` script) adds two observations without changing what runs: right
after accelerate shards the model it gathers the full weights and rank 0
records the encoder's fingerprint (so the test sees what each phase started
from, after sharding), and, when asked, each rank kills itself with SIGKILL
after writing phase 2's first checkpoint.
"""

from __future__ import annotations

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
pytest.importorskip("accelerate")
if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
LANGUAGES = ["en", "de"]
ARGS = ["train", "--smoke", "--target", "XNLI", "--intermediate", "MNLI", "--languages", ",".join(LANGUAGES),
        "--set", "intermediate_phase.num_train_epochs=1", "--set", "target_phase.num_train_epochs=2",
        "--set", "distributed.launcher=torchrun", "--set", "distributed.nproc_per_node=2",
        "--set", "distributed.fsdp=full_shard auto_wrap"]

_WORKER = textwrap.dedent(
    """
    import json, os, signal, sys

    import accelerate.accelerator
    import transformers

    out, kill = sys.argv[1], sys.argv[2] == "kill"
    rank = int(os.environ["RANK"])

    prepare = accelerate.accelerator.fsdp2_prepare_model  # what Accelerator.prepare shards the model with
    def prepare_and_record(accelerator, model):
        model = prepare(accelerator, model)
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
        from xdist.train.model import fingerprint

        full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        if rank == 0:
            enc = {k[len("encoder."):]: v for k, v in full.items() if k.startswith("encoder.")}
            with open(os.path.join(out, "sharded-start.jsonl"), "a") as fh:
                fh.write(json.dumps({"encoder": fingerprint(enc)}) + "\\n")
        return model
    accelerate.accelerator.fsdp2_prepare_model = prepare_and_record

    if kill:
        save = transformers.Trainer._save_checkpoint
        def save_then_die(self, *args, **kwargs):
            save(self, *args, **kwargs)
            if "phase2-target" in self.args.output_dir:
                os.kill(os.getpid(), signal.SIGKILL)
        transformers.Trainer._save_checkpoint = save_then_die

    from xdist.cli import main
    sys.exit(main(sys.argv[3:]))
    """
)


def _torchrun(out: Path, *, kill: bool, logs: Path) -> subprocess.CompletedProcess:
    script = out.parent / "fsdp_worker.py"
    script.write_text(_WORKER)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "--log-dir", str(logs), "--redirects", "3", str(script), str(out), "kill" if kill else "run",
           *ARGS, "--output", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=out.parent, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:  # a hung collective: end torchrun and both ranks
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"torchrun did not finish in 300 s:\n{_tail(logs)}") from None
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def _rank_logs(logs: Path) -> dict[int, str]:
    """Each rank's stdout and stderr (torchrun --redirects 3: LOGS/<run>/attempt_0/<rank>/std{out,err}.log)."""
    text: dict[int, str] = {}
    for f in sorted(logs.rglob("std*.log")):
        r = int(f.parent.name)
        text[r] = text.get(r, "") + f.read_text(errors="replace")
    return text


def _tail(logs: Path) -> str:
    return "\n".join(f"--- rank {r}\n{t[-1500:]}" for r, t in _rank_logs(logs).items())


def test_fsdp_on_cpu_shards_resumes_and_saves_a_full_model(tmp_path):
    from safetensors.torch import load_file

    from xdist.store import ResultsStore, read_store
    from xdist.train.model import load_phase, saved_fingerprint
    from xdist.train.smoke import smoke_config

    out = tmp_path / "run"
    # the toy data and model, written once here (each rank would write them otherwise)
    smoke_config(out, target="XNLI", intermediate=("MNLI",), languages=LANGUAGES, n_train=48, n_eval=12)

    # 1. killed in phase 2, right after its first checkpoint (every rank)
    killed = _torchrun(out, kill=True, logs=tmp_path / "logs-killed")
    assert killed.returncode != 0, _tail(tmp_path / "logs-killed")
    assert "SIGKILL" in killed.stderr, killed.stderr[-2000:]  # torchrun reports the ranks' signal
    assert (out / "phase1-intermediate" / "DONE.json").is_file()
    assert not (out / "phase2-target" / "DONE.json").exists()
    ckpts = sorted((out / "phase2-target" / "checkpoints").glob("checkpoint-*"))
    assert len(ckpts) == 1
    assert (ckpts[0] / "pytorch_model_fsdp.bin").is_file()  # Trainer's FSDP checkpoint, which resuming reads
    killed_step = json.loads((ckpts[0] / "trainer_state.json").read_text())["global_step"]
    assert not (out / "store").exists()

    # 2. the same command again: phase 1 skipped, phase 2 resumed from its FSDP checkpoint, phase 3 on rank 0
    resumed = _torchrun(out, kill=False, logs=tmp_path / "logs-resumed")
    logs = _rank_logs(tmp_path / "logs-resumed")
    assert resumed.returncode == 0, _tail(tmp_path / "logs-resumed")
    assert "phase 1 (MNLI): done earlier, skipped" in logs[0]
    last = sorted((out / "phase2-target" / "checkpoints").glob("checkpoint-*"),
                  key=lambda p: int(p.name.split("-")[1]))[-1]
    assert json.loads((last / "trainer_state.json").read_text())["global_step"] > killed_step

    # FSDP really sharded, in both phases: every parameter a DTensor shard, the layers wrapped
    for phase in ("phase1-intermediate", "phase2-target"):
        mode = json.loads((out / phase / "DONE.json").read_text())["distributed"]
        assert mode["mode"] == "fsdp" and mode["processes"] == 2 and mode["device"] == "cpu", mode
        assert mode["sharded_parameters"] == mode["parameters"] > 0
        # the root, the embeddings and the two XLMRobertaLayer (the encoder's _no_split_modules)
        assert mode["fsdp_units"] == 4, mode

    # rank 0 alone wrote the results: each language and metric once, one finished run
    assert "phase 3: evaluating XNLI" in logs[0] and "phase 3" not in logs[1]
    records = ResultsStore(out / "store").records()
    assert sorted(records["language"]) == sorted(LANGUAGES) and not records.duplicated(["language", "metric"]).any()
    assert list(ResultsStore(out / "store").runs()["status"]) == ["finished"]
    assert len(read_store(out / "store")) == len(LANGUAGES)

    # the encoder carried across phases, after sharding: phase 2 (both its first start and the resumed one)
    # started from exactly the encoder phase 1 ended with, not from the pretrained one
    starts = [json.loads(line)["encoder"] for line in (out / "sharded-start.jsonl").read_text().splitlines()]
    phase1_end = saved_fingerprint(out / "phase1-intermediate" / "final" / "encoder")
    assert len(starts) == 3  # phase 1, phase 2 (killed), phase 2 (resumed)
    assert starts[1] == starts[2] == phase1_end != starts[0]

    # the final weights, gathered from the shards, load back strictly as a full model (fingerprint checked)
    final = load_phase(out / "phase2-target" / "final")
    assert final.tasks == ("XNLI",)
    assert saved_fingerprint(out / "phase2-target" / "final" / "encoder") != phase1_end
    weights = final.state_dict()
    assert not any("_fsdp" in k or "_orig_mod" in k or "module." in k for k in weights)
    # Trainer's checkpoints hold the same full, unrenamed keys; and the final weights are exactly the best
    # checkpoint's (model selection reloaded it from its FSDP checkpoint before the weights were gathered)
    assert set(load_file(str(last / "model.safetensors"))) == set(weights)
    best = json.loads((out / "phase2-target" / "DONE.json").read_text())["best_checkpoint"]
    in_best = load_file(str(Path(best) / "model.safetensors"))
    assert all(torch.equal(in_best[k], v) for k, v in weights.items())


def test_accelerate_launcher_runs_fsdp_on_cpu(tmp_path):
    """``distributed.launcher = "accelerate"``: the command ``xdist sweep`` starts trains with FSDP on 2 processes."""
    from xdist.store import ResultsStore
    from xdist.train.config import apply_overrides
    from xdist.train.launch import train_command
    from xdist.train.smoke import smoke_config

    out = tmp_path / "run"
    cfg = smoke_config(out, target="XNLI", intermediate=("MNLI",), languages=LANGUAGES, n_train=48, n_eval=12)
    cfg = apply_overrides(cfg, ["distributed.launcher=accelerate", "distributed.nproc_per_node=2",
                                "distributed.fsdp=full_shard auto_wrap", "intermediate_phase.num_train_epochs=1",
                                "target_phase.num_train_epochs=1"])
    config_file = tmp_path / "run.json"
    config_file.write_text(json.dumps(cfg.to_dict()))
    cmd = train_command(config_file, cfg.distributed)
    assert cmd[1:3] == ["-m", "accelerate.commands.launch"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for phase in ("phase1-intermediate", "phase2-target"):
        mode = json.loads((out / phase / "DONE.json").read_text())["distributed"]
        assert mode["mode"] == "fsdp" and mode["processes"] == 2 and mode["sharded_parameters"] == mode["parameters"]
    assert proc.stdout.count("XNLI accuracy by language") == 1  # rank 0 alone reports
    records = ResultsStore(out / "store").records()
    assert sorted(records["language"]) == sorted(LANGUAGES) and not records.duplicated(["language", "metric"]).any()
