"""``xdist sweep``: grid expansion, errors, and a real local-Ray sweep of tiny runs.

The sweep test runs three real ``xdist train`` subprocesses through Ray on a
tiny smoke model: one single-process run, one 2-process DDP run under
``torchrun`` (gloo, CPU), and one that fails (data layout not present) and is
retried; then a rerun that must skip the finished runs without training.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from xdist.train.config import DistributedConfig
from xdist.train.launch import count_parameters, fsdp_enabled, is_main_process, train_command
from xdist.train.sweep import (
    ATTEMPT_FILE,
    LOG_FILE,
    Progress,
    dry_run,
    expand,
    load_sweep,
    parse_sweep,
    run_state,
    run_sweep,
    states,
)

TINY_PHASE = {"num_train_epochs": 1, "learning_rate": 1e-3, "per_device_batch_size": 16, "max_length": 64,
              "warmup_ratio": 0.0, "max_train_examples": 48, "max_dev_examples": 8, "logging_steps": 50}


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A tiny random-init model and toy XNLI/MNLI data for two languages (xdist.train.smoke)."""
    pytest.importorskip("torch")
    from xdist.train.smoke import smoke_config

    cfg = smoke_config(tmp_path_factory.mktemp("shared"), languages=["en", "de"], n_train=48, n_eval=8)
    return cfg.model, cfg.data_dir


def sweep_dict(root: Path, shared, **extra) -> dict:
    model, data = shared
    d = {
        "output_root": str(root / "out"),
        "max_retries": 1,
        "grid": {"models": [model], "intermediate": ["none"], "targets": ["XNLI"], "seeds": [1],
                 "settings": {"full": {}}},
        "base": {"data_dir": data, "layout": "jsonl", "precision": "fp32", "model_name": "tiny",
                 "intermediate_phase": dict(TINY_PHASE), "target_phase": dict(TINY_PHASE),
                 "eval": {"languages": ["en", "de"], "batch_size": 64}},
    }
    for k, v in extra.items():
        if k in ("grid", "base"):
            d[k].update(v)
        else:
            d[k] = v
    return d


FAKE = ("/m/xlmr", "/d")


# ---- expansion and configuration --------------------------------------------------------------


def test_expand_order_names_and_configs(tmp_path):
    s = parse_sweep(sweep_dict(tmp_path, FAKE, grid={
        "models": ["/m/xlmr"], "intermediate": [["SQuAD", "MNLI"], "none", "QQP"],
        "targets": ["XNLI", "panx"], "seeds": [3, 1],
        "settings": {"full": {}, "lr": {"target_phase.learning_rate": 2e-5, "model_name": "tiny-lr"}}},
        base={"model_name": None}))
    runs = expand(s)
    assert len(runs) == 3 * 2 * 2 * 2
    assert [r.name for r in runs[:5]] == [
        "xlmr__squad-v1.1+mnli__xnli__full__s3", "xlmr__squad-v1.1+mnli__xnli__full__s1",
        "xlmr__squad-v1.1+mnli__xnli__lr__s3", "xlmr__squad-v1.1+mnli__xnli__lr__s1",
        "xlmr__squad-v1.1+mnli__pan-x__full__s3"]
    assert runs == expand(s)  # deterministic
    r = runs[3]
    assert r.config.intermediate == ("SQuAD-v1.1", "MNLI") and r.config.seed == 1
    assert r.config.target_phase.learning_rate == 2e-5 and r.config.name == "tiny-lr"
    assert runs[0].config.name == "xlmr" and runs[-1].config.name == "tiny-lr"
    assert r.config.output == str(tmp_path / "out" / r.name)
    assert r.config.store == str(tmp_path / "out" / "store")
    assert runs[0].config.target_phase.learning_rate == 1e-3  # base
    assert {r.config.intermediate for r in runs} == {("SQuAD-v1.1", "MNLI"), (), ("QQP",)}
    assert len({r.name for r in runs}) == len(runs)
    two = expand(parse_sweep(sweep_dict(tmp_path, FAKE, grid={"models": ["/m/xlmr", "/n/mbert"]},
                                        base={"model_name": None})))
    assert [r.name for r in two] == ["xlmr__none__xnli__full__s1", "mbert__none__xnli__full__s1"]
    assert [r.config.name for r in two] == ["xlmr", "mbert"]


def test_results_key_collisions_are_refused(tmp_path):
    from xdist.train.sweep import _model_slugs

    slugs = _model_slugs(["/a/xlmr", "/b/xlmr", "/c/mbert"])
    assert slugs["/c/mbert"] == "mbert" and len(set(slugs.values())) == 3
    assert slugs["/a/xlmr"].startswith("xlmr-")
    s = parse_sweep(sweep_dict(tmp_path, FAKE, grid={"models": ["/a/xlmr", "/b/xlmr"]},
                               base={"model_name": None}))
    with pytest.raises(ValueError, match="same results-table rows.*need different model names"):
        expand(s)  # both are named 'xlmr' in the results table
    s = parse_sweep(sweep_dict(tmp_path, FAKE, grid={"settings": {"a": {}, "b": {"target_phase.learning_rate": 1}}}))
    with pytest.raises(ValueError, match="give the setting 'b' its own 'setting'"):
        expand(s)  # same model, tasks and seed; only a hyperparameter differs


def test_bad_configs(tmp_path):
    def err(match, **kw):
        with pytest.raises(ValueError, match=match):
            expand(parse_sweep(sweep_dict(tmp_path, FAKE, **kw)))

    err(r"unknown key 'max_retry' .*did you mean 'max_retries'", max_retry=2)
    err(r"unknown key 'model' in \[grid\]; did you mean 'models'", grid={"model": ["x"]})
    err(r"grid.models is empty", grid={"models": []})
    err(r"grid.seeds is empty", grid={"seeds": []})
    err(r"grid.settings is empty", grid={"settings": {}})
    err(r"grid.seeds\[0\]='1' is not valid", grid={"seeds": ["1"]})
    err(r"grid.intermediate\[0\]=5 is not valid", grid={"intermediate": [5]})
    err(r"max_retries=-1 is not valid: expected an integer >= 0", max_retries=-1)
    err(r"max_retries=True is not valid", max_retries=True)
    err(r"max_retries='2' is not valid", max_retries="2")
    err(r"\[base\] sets 'seed'.*use grid.seeds", base={"seed": 3})
    err(r"grid.settings.x sets 'output'", grid={"settings": {"x": {"output": "/elsewhere"}}})
    err(r"unknown key 'learnig_rate' in \[target_phase\]; did you mean 'learning_rate'",
        grid={"settings": {"x": {"target_phase.learnig_rate": 1}}})
    err(r"unknown key 'num_gpu' in \[resources\]; did you mean 'num_gpus'", resources={"num_gpu": 1})
    err(r"unknown task|not a known task|did you mean", grid={"targets": ["XNLL"]})
    err(r"distributed.nproc_per_node=2 needs distributed.launcher",
        base={"distributed": {"nproc_per_node": 2}})
    err(r"grid.models lists", grid={"models": ["/m/x", "/m/x"]})
    err(r"distributed.fsdp='hybrid' is not valid: expected 'auto', 'off' or options",
        base={"distributed": {"launcher": "torchrun", "nproc_per_node": 2, "fsdp": "hybrid"}})
    with pytest.raises(ValueError, match="output_root is required"):
        parse_sweep({"grid": {"models": ["/m"], "targets": ["XNLI"]}})
    with pytest.raises(ValueError, match=r"grid.targets is required"):
        parse_sweep({"output_root": "/o", "grid": {"models": ["/m"]}})
    with pytest.raises(ValueError, match="is not a file"):
        load_sweep(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("grid = [")
    with pytest.raises(ValueError, match="is not valid TOML"):
        load_sweep(bad)


def test_the_documented_sweep_file_expands(tmp_path, monkeypatch):
    import re
    import tomllib

    doc = (Path(__file__).resolve().parents[2] / "docs" / "sweeps.md").read_text(encoding="utf-8")
    data = tomllib.loads(re.search(r"```toml\n(.*?)```", doc, re.S).group(1))
    monkeypatch.chdir(tmp_path)  # its relative paths; nothing is read
    runs = expand(parse_sweep(data))
    assert len(runs) == 2 * 3 * 3 * 2 * 3
    assert {r.config.setting for r in runs} == {"zero-shot", "zero-shot+lora"}


def test_cli_dry_run_and_errors(tmp_path, capsys):
    from xdist.cli import main

    path = tmp_path / "sweep.toml"
    path.write_text(f"""
output_root = "{tmp_path / 'out'}"
[grid]
models = ["/m/xlmr"]
targets = ["XNLI", "PAWS-X"]
seeds = [1, 2]
[base]
data_dir = "/d"
""")
    assert main(["sweep", str(path), "--dry-run", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "xlmr__none__paws-x__default__s2,new," in out
    assert out.count("\n") == 5 and "-m xdist train --config" in out
    path.write_text(path.read_text().replace("seeds", "seed"))
    assert main(["sweep", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'seeds'" in err and "Traceback" not in err


def test_sweep_help_imports_no_ray_or_torch():
    import subprocess
    import sys

    code = ("import sys, xdist.cli; xdist.cli.build_parser(); "
            "print(sorted(m for m in ('ray', 'torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---- launching on several processes ------------------------------------------------------------


def test_train_command_and_fsdp_choice(tmp_path, monkeypatch):
    cfg = tmp_path / "r.json"
    assert train_command(cfg, DistributedConfig(), python="py") == ["py", "-m", "xdist", "train", "--config", str(cfg)]
    cmd = train_command(cfg, DistributedConfig(launcher="accelerate", nproc_per_node=8), python="py")
    assert cmd[:5] == ["py", "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes"]
    assert cmd[5] == "8" and cmd[-5:] == ["-m", "xdist", "train", "--config", str(cfg)]
    big = tmp_path / "big"
    big.mkdir()
    (big / "config.json").write_text(json.dumps({"model_type": "xlm-roberta", "vocab_size": 250880,
                                                 "hidden_size": 2560, "num_hidden_layers": 36,
                                                 "intermediate_size": 10240, "max_position_embeddings": 514}))
    assert 3.3e9 < count_parameters(big) < 3.7e9  # XLM-R XL: 3.5B
    two = DistributedConfig(launcher="torchrun", nproc_per_node=2)
    assert fsdp_enabled(two, big) == "full_shard auto_wrap"
    assert fsdp_enabled(DistributedConfig(), big) == ""  # one process: nothing to shard over
    assert fsdp_enabled(DistributedConfig(launcher="torchrun", nproc_per_node=2, fsdp="off"), big) == ""
    assert fsdp_enabled(two, tmp_path / "nothing-here") == ""
    monkeypatch.setenv("RANK", "1")
    assert not is_main_process()
    monkeypatch.setenv("RANK", "0")
    assert is_main_process()


def test_count_parameters_reads_safetensors_headers(shared):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    model_dir = Path(shared[0])
    files = sorted(model_dir.glob("*.safetensors"))
    assert files
    exact = sum(t.numel() for f in files for t in load_file(str(f)).values())
    assert count_parameters(model_dir) == exact
    assert torch  # used


def test_progress_display():
    out = io.StringIO()
    p = Progress(4, stream=out, tty=False, skipped=1)
    p.update({"done": 1, "running": 2, "failed": 0, "pending": 1})
    p.update({"done": 1, "running": 2, "failed": 0, "pending": 1})  # unchanged: no new line
    p.update({"done": 2, "running": 1, "failed": 1, "pending": 0})
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("xdist sweep: 1/4 done (+1 done earlier), 2 running, 0 failed, 1 pending")
    tty = io.StringIO()
    p = Progress(2, stream=tty, tty=True)
    p.update({"done": 0, "running": 1, "pending": 1})
    p.update({"done": 1, "running": 1, "pending": 0})
    p.close()
    assert tty.getvalue().count("\r\x1b[2K") == 2 and tty.getvalue().count("\n") == 1


# ---- a real sweep on a local Ray --------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    # Three logical CPUs: the single-process run and the 2-process DDP run go side by side (the same
    # work as with two, in less wall time).
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


def test_sweep_on_ray_retries_failures_and_skips_done_runs(tmp_path, shared, ray_local):
    from xdist.store import ResultsStore, read_store

    d = sweep_dict(tmp_path, shared, grid={"settings": {
        "single": {},
        "ddp": {"model_name": "tiny-ddp", "distributed": {"launcher": "torchrun", "nproc_per_node": 2}},
        "broken": {"model_name": "tiny-broken", "layout": "xtreme"},  # no such files: fails every time
    }})
    sweep = parse_sweep(d)
    log = io.StringIO()
    table = run_sweep(sweep, stream=log, tty=False, poll=0.2)
    text = log.getvalue()
    status = dict(zip(table["run"], table["status"]))
    attempts = dict(zip(table["run"], table["attempts"]))
    single, ddp, broken = (f"model__none__xnli__{s}__s1" for s in ("single", "ddp", "broken"))
    assert status == {single: "done", ddp: "done", broken: "failed"}, text
    assert attempts == {single: 1, ddp: 1, broken: 2}
    # the failure is reported with the end of its log, and did not stop the others
    assert f"{broken}: attempt 1 failed (exit status 2); retrying" in text
    assert f"{broken}: FAILED after 2 attempt(s)" in text and "layout" in text.split("FAILED")[1]
    assert Path(sweep.output_root, broken, LOG_FILE).read_text().count("==== xdist sweep: attempt") == 2
    # one store, each language once per run; the DDP run's rows written by rank 0 only
    store = ResultsStore(sweep.store)
    rec = store.records()
    assert sorted(rec["model"].unique()) == ["tiny", "tiny-ddp"]
    assert len(rec) == 4 and not rec.duplicated(["run_id", "language", "metric"]).any()
    runs = store.runs()
    assert sorted(runs["status"]) == ["finished", "finished"] and list(runs["attempts"]) == [1, 1]
    assert len(read_store(sweep.store)) == 4
    assert (Path(sweep.output_root, ddp, "phase2-target", "DONE.json")).is_file()
    summary = json.loads(Path(sweep.output_root, "sweep-summary.json").read_text())
    assert {r["run"]: r["status"] for r in summary["runs"]} == status

    # rerun: finished runs are skipped without starting anything
    logs = {r: Path(sweep.output_root, r, LOG_FILE).stat().st_size for r in (single, ddp)}
    again = run_sweep(sweep, runs=["*single*", "*ddp*"], stream=io.StringIO(), tty=False)
    assert list(again["status"]) == ["skipped", "skipped"] and list(again["attempts"]) == [0, 0]
    assert {r: Path(sweep.output_root, r, LOG_FILE).stat().st_size for r in (single, ddp)} == logs
    assert len(ResultsStore(sweep.store).records()) == 4
    st = states(expand(sweep))
    assert st == {single: "done", ddp: "done", broken: "partial"}
    dry = dry_run(sweep)
    assert list(dry["state"]) == ["done", "done", "partial"]
    assert "torch.distributed.run --standalone --nproc_per_node 2" in dry["command"][1]
    assert dry["num_cpus"].tolist() == [1.0, 2.0, 1.0]

    # what "done" needs: the phase marker and the store's rows
    run = expand(sweep)[0]
    done = run.run_dir / "phase2-target" / "DONE.json"
    done.rename(done.with_suffix(".bak"))
    assert run_state(run) == "partial"
    done.with_suffix(".bak").rename(done)
    other = parse_sweep({**d, "store": str(tmp_path / "other-store")})
    assert run_state(expand(other)[0]) == "partial"  # phases done, rows not in this store
    # a changed sweep file under the same output_root is refused before anything runs
    changed = parse_sweep(sweep_dict(tmp_path, shared, base={"target_phase": {**TINY_PHASE, "learning_rate": 0.01}},
                                     grid={"settings": {"single": {}}}))
    with pytest.raises(ValueError, match=r"different configuration \(differs in target_phase.learning_rate\)"):
        run_sweep(changed, stream=io.StringIO())
    assert not (run.run_dir / ATTEMPT_FILE).read_text().count('"running"')


def test_runs_larger_than_the_local_ray_are_refused_not_queued_forever(tmp_path, ray_local):
    from xdist.train.sweep import _check_fits

    gpu = parse_sweep(sweep_dict(tmp_path, FAKE, resources={"num_gpus": 1}))
    with pytest.raises(ValueError, match=r"xnli__full__s1 asks Ray for num_gpus=1 but the local Ray has 0 "
                                         r"\(resources.num_gpus"):
        run_sweep(gpu, stream=io.StringIO(), tty=False)  # the test's local Ray has 3 CPUs and no GPU
    wide = parse_sweep(sweep_dict(tmp_path, FAKE, base={
        "distributed": {"launcher": "torchrun", "nproc_per_node": 4}}))
    with pytest.raises(ValueError, match=r"num_cpus=4 but the local Ray has 3"):
        _check_fits(expand(wide), wide, {"CPU": 3.0})
    _check_fits(expand(wide), wide, {"CPU": 4.0})  # fits: no error
    assert not any(Path(tmp_path, "out").glob("*/" + LOG_FILE))  # nothing was started


def test_cli_sweep_passes_options_and_exits_1_on_failure(tmp_path, capsys, monkeypatch):
    import pandas as pd

    from xdist.cli import main
    from xdist.train import sweep as sweep_mod

    seen = {}

    def fake_run_sweep(sweep, **kwargs):  # the real one is exercised above; here only the CLI contract
        seen.update(kwargs)
        rows = [{**r.row(), "status": st, "attempts": 1, "seconds": 1.0, "returncode": rc, "log": "x"}
                for r, st, rc in zip(expand(sweep), ("done", "failed"), (0, 2))]
        return pd.DataFrame(rows)

    monkeypatch.setattr(sweep_mod, "run_sweep", fake_run_sweep)
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(sweep_dict(tmp_path, FAKE, grid={"seeds": [1, 2]})))
    assert main(["sweep", str(path), "--max-retries", "3", "--num-cpus", "4", "--address", "auto",
                 "--runs", "*s2"]) == 1
    assert seen == {"address": "auto", "num_cpus": 4, "max_retries": 3, "runs": ["*s2"]}
    cap = capsys.readouterr()
    assert "1 done, 0 skipped, 1 failed" in cap.err and "xlmr__none__xnli__full__s2 failed" in cap.out
    assert main(["sweep", str(path), "--num-cpus", "0"]) == 2


def test_fsdp_training_arguments(monkeypatch, shared):
    pytest.importorskip("torch")
    from types import SimpleNamespace

    from xdist.train.config import TrainConfig
    from xdist.train.pipeline import _fsdp_args

    model = SimpleNamespace(encoder=SimpleNamespace(_no_split_modules=["XLMRobertaEmbeddings", "XLMRobertaLayer"]))
    explicit = TrainConfig(model=shared[0], target="XNLI",
                           distributed=DistributedConfig(launcher="torchrun", nproc_per_node=2,
                                                         fsdp="shard_grad_op auto_wrap"))
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert _fsdp_args(explicit, model) == {}  # one process: nothing to shard across
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert _fsdp_args(explicit, model) == {"fsdp": True, "fsdp_config": {
        "transformer_layer_cls_to_wrap": ["XLMRobertaEmbeddings", "XLMRobertaLayer"],
        "reshard_after_forward": False, "cpu_offload": False}}
    auto = TrainConfig(model=shared[0], target="XNLI",
                       distributed=DistributedConfig(launcher="torchrun", nproc_per_node=2))
    assert _fsdp_args(auto, model) == {}  # a tiny model: DDP
    with pytest.raises(ValueError, match="set distributed.fsdp_layer_cls"):
        _fsdp_args(explicit, SimpleNamespace(encoder=SimpleNamespace()))


def test_cluster_address_errors_and_local_cpus(monkeypatch):
    """--address: an unreachable cluster is a one-line ValueError; a file's num_cpus does not clash."""
    ray = pytest.importorskip("ray")
    from xdist.train import sweep as S

    calls = []

    def fake_init(**kwargs):
        calls.append(kwargs)
        if kwargs.get("address") == "10.255.255.1:1":
            raise ConnectionError("Failed to connect")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    with pytest.raises(ValueError, match=r"address='10.255.255.1:1': could not join a Ray cluster there "
                                         r"\(Failed to connect\).*ray start --head.*RAY_AUTH_MODE=token"
                                         r".*RAY_AUTH_TOKEN=.*ray get-auth-token"):
        S._init_ray("10.255.255.1:1", None)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    with pytest.raises(ValueError, match=r"or it refused this client's token: check that the token"):
        S._init_ray("10.255.255.1:1", None)

    def refused(**kwargs):  # what Ray 2.60 raises when the cluster rejects the client's token
        try:
            raise RuntimeError("Failed to connect to GCS. Last connection error: ray.exceptions."
                               "AuthenticationError: RPC error: InvalidAuthToken: token is missing or incorrect")
        except RuntimeError as err:
            raise ConnectionError("Failed to connect to Ray cluster at h:1") from err

    monkeypatch.setattr(ray, "init", refused)
    with pytest.raises(ValueError, match=r"the Ray cluster there refused this client: it uses token authentication"
                                         r".*check that the token given here is the cluster's"):
        S._init_ray("h:1", None)
    monkeypatch.delenv("RAY_AUTH_MODE")
    with pytest.raises(ValueError, match=r"refused this client.*set RAY_AUTH_MODE=token in the environment"):
        S._init_ray("h:1", None)

    class AuthenticationError(Exception):  # stands in for ray.exceptions.AuthenticationError
        pass

    def no_token(**kwargs):
        raise AuthenticationError("Token authentication is enabled but no authentication token was found")

    monkeypatch.setattr(ray, "init", no_token)
    with pytest.raises(ValueError, match=r"address='h:1': Token authentication is enabled but no .*RAY_AUTH_TOKEN"):
        S._init_ray("h:1", None)
    monkeypatch.setattr(ray, "init", fake_init)
    with pytest.raises(ValueError, match="--num-cpus is for a local Ray"):
        S._init_ray("auto", 4)
    S._init_ray("auto", None)
    assert calls[-1]["address"] == "auto" and "num_cpus" not in calls[-1]


# ---- the run's process: its own group, dies with its Ray worker -------------------------------


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaps counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _wait_until(predicate, limit: float = 30.0) -> bool:
    import time

    end = time.monotonic() + limit
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc (PR_SET_PDEATHSIG)")
def test_run_process_is_its_own_group_and_dies_with_its_worker(tmp_path):
    """No ``preexec_fn`` (unsafe in threaded Ray workers): a new session plus an exec wrapper."""
    import signal
    import subprocess
    import sys

    from xdist.train.sweep import execute_run

    probe = ("import ctypes, os; v = ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(v)); "
             "print('own session', os.getsid(0) == os.getpid(), 'pdeathsig', v.value)")
    res = execute_run([sys.executable, "-c", probe], str(tmp_path / "r"), 1, 1)
    assert res["returncode"] == 0
    assert f"own session True pdeathsig {int(signal.SIGTERM)}" in (tmp_path / "r" / LOG_FILE).read_text()

    # the run starts a process of its own (as torchrun does); both pids go to a file
    child = tmp_path / "child.py"
    child.write_text("import os, subprocess, sys, time\n"
                     "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
                     "open(sys.argv[1] + '.tmp', 'w').write(f'{os.getpid()} {g.pid}')\n"
                     "os.replace(sys.argv[1] + '.tmp', sys.argv[1])\n"
                     "time.sleep(300)\n")
    worker = tmp_path / "worker.py"  # stands in for the Ray worker that runs execute_run
    worker.write_text("import sys\nfrom xdist.train.sweep import execute_run\n"
                      "execute_run([sys.executable, sys.argv[1], sys.argv[2]], sys.argv[3], 1, 1)\n")

    def start(name):
        pids = tmp_path / f"{name}.pids"
        proc = subprocess.Popen([sys.executable, str(worker), str(child), str(pids), str(tmp_path / name)])
        assert _wait_until(pids.exists), f"the run of {name} did not start"
        return proc, [int(x) for x in pids.read_text().split()]

    started = []
    try:
        # the task is interrupted (ray.cancel raises KeyboardInterrupt in it): the whole group goes
        proc, pids = start("cancelled")
        started += pids
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert _wait_until(lambda: not any(_alive(p) for p in pids)), "the run's group outlived its task"
        # the worker is killed outright: the run gets SIGTERM from the kernel
        proc, pids = start("killed")
        started += pids
        proc.kill()
        proc.wait(timeout=60)
        assert _wait_until(lambda: not _alive(pids[0])), "the run outlived its Ray worker"
    finally:
        for pid in started:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


# ---- a sweep on a running Ray cluster (--address) ---------------------------------------------


@pytest.fixture
def ray_head():
    """A Ray head started by `ray start --head`, bound to loopback only, with token authentication.

    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` keeps Ray from replacing 127.0.0.1 by the machine's
    network address (for the head and its clients alike); the token is this fixture's own.
    The head runs in its own session and is stopped with its whole process group (never
    ``ray stop``, which would stop every Ray on the machine).
    """
    import secrets
    import shutil
    import signal
    import socket
    import subprocess
    import sys
    import tempfile

    pytest.importorskip("ray")
    exe = Path(sys.executable).with_name("ray")
    if not exe.is_file():
        pytest.skip(f"no `ray` command beside {sys.executable}: cannot start a Ray head")
    root = Path(tempfile.mkdtemp(prefix="xdray-", dir="/tmp"))  # short: Ray's socket paths are limited
    token = root / "token"
    token.write_text(secrets.token_hex(32))
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_TOKEN")}
    env.update(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = root / "head.log"
    with open(log, "wb") as fh:
        head = subprocess.Popen(
            [str(exe), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
             "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={root / 't'}"],
            stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)

    def stop():
        if head.poll() is None:
            head.send_signal(signal.SIGTERM)  # `ray start --block` stops the processes it started
            try:
                head.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(head.pid, signal.SIGKILL)  # whatever of its group is left
        except ProcessLookupError:
            pass
        head.wait()
        shutil.rmtree(root, ignore_errors=True)

    up = _wait_until(lambda: head.poll() is not None or "Ray runtime started" in log.read_text(), 90)
    if not up or head.poll() is not None:
        text = log.read_text()[-2000:]
        stop()
        pytest.skip(f"`ray start --head` could not start a Ray head here: {text}")
    try:
        yield f"127.0.0.1:{port}", env
    finally:
        stop()


def test_sweep_on_a_ray_cluster_by_address(tmp_path, shared, ray_head):
    """`xdist sweep --address` on a separately started head; a rerun skips the finished run."""
    import subprocess
    import sys

    from xdist.store import ResultsStore

    address, env = ray_head
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(sweep_dict(tmp_path, shared, max_retries=0)))
    # without RAY_AUTH_MODE=token, Ray sends no token to an explicit address: refused, with what to do
    bare = {k: v for k, v in env.items() if k != "RAY_AUTH_MODE"}
    bare["RAY_gcs_server_port_wait_time_s"] = "2"  # Ray's connection retries: ~1 s each
    proc = subprocess.run([sys.executable, "-m", "xdist", "sweep", str(path), "--address", address],
                          capture_output=True, text=True, env=bare, timeout=300)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()[-1]
    assert f"address='{address}': the Ray cluster there refused this client" in err, proc.stderr[-3000:]
    assert "set RAY_AUTH_MODE=token" in err and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "xdist", "sweep", str(path), "--address", address,
                           "--format", "json"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = json.loads(proc.stdout)
    name = "model__none__xnli__full__s1"
    assert [(r["run"], r["status"], r["attempts"]) for r in table] == [(name, "done", 1)]
    sweep = load_sweep(path)
    rec = ResultsStore(sweep.store).records()
    assert sorted(rec["language"].unique()) == ["de", "en"] and set(rec["model"]) == {"tiny"}
    assert "==== xdist sweep: exit status 0" in Path(sweep.output_root, name, LOG_FILE).read_text()
    # a rerun skips it without starting anything (nor joining the cluster)
    again = run_sweep(sweep, address=address, stream=io.StringIO(), tty=False)
    assert list(again["status"]) == ["skipped"] and list(again["attempts"]) == [0]
    assert len(ResultsStore(sweep.store).records()) == len(rec)
