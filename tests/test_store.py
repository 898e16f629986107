"""The results store: round trip, resume after SIGKILL, concurrent writers, damage."""

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from xdist.languages import load_languages
from xdist.results import KEY_COLUMNS, RESULT_COLUMNS, validate_results
from xdist.store import (
    ResultsStore,
    StoreConflictError,
    StoreError,
    StoreWarning,
    is_store,
    read_store,
)

RUN = dict(model="XLM-R", setting="zero-shot", intermediate_task="MNLI", target_task="XNLI",
           source="unit test")
LANGS = load_languages()["code"].tolist()[:50]


def start(store, config=None, seed=1, **over):
    return store.start_run(config or {"lr": 2e-5, "epochs": 3}, seed, **{**RUN, **over})


def scores_file(store, run):
    return Path(store.path) / "scores" / f"{run.run_id}.jsonl"


def score_of(i):
    return round(40 + (i * 7.31) % 60, 4)


@pytest.fixture
def store(tmp_path):
    return ResultsStore(tmp_path / "store", create=True)


# -- round trip and run records ---------------------------------------------------


def test_round_trip_validates(store):
    run = start(store)
    run.record("en", "accuracy", 85.0, split="test", phase="eval")
    run.record("deu", "accuracy", 78.5)  # canonicalised to 'de'
    run.record_scores("sw", {"accuracy": 66.25}, note="n")
    run.finish()
    other = start(store, seed=2)
    for lang, s in [("en", 84.0), ("de", 77.0)]:
        other.record(lang, "accuracy", s)
    df = read_store(store.path)
    assert df.columns.tolist() == RESULT_COLUMNS + ["origin"]
    assert len(df) == 5
    df = df.sort_values("seed", kind="stable")  # runs come in run-id order
    assert df["language"].tolist() == ["en", "de", "sw", "en", "de"]
    assert df["score"].tolist() == [85.0, 78.5, 66.25, 84.0, 77.0]
    assert df["seed"].tolist() == [1, 1, 1, 2, 2]
    assert df["source"].str.endswith(f"[xdist store run {run.run_id}]").sum() == 3
    out = validate_results(df)
    assert not out.duplicated(KEY_COLUMNS).any()
    # status filter: only the finished run
    assert read_store(store.path, status="finished")["seed"].unique().tolist() == [1]
    runs = store.runs().set_index("run_id")
    assert runs.loc[run.run_id, "status"] == "finished"
    assert runs.loc[other.run_id, "status"] == "running"
    rec = store.run_record(run.run_id)
    assert rec["config"] == {"lr": 2e-5, "epochs": 3}
    assert rec["identity"]["seed"] == 1
    att = rec["attempts"][0]
    assert att["versions"]["python"] and "torch" in att["versions"]
    assert set(att["git"]) == {"commit", "dirty"}
    assert att["status"] == "finished" and "ended" in att
    with pytest.raises(KeyError, match="run_id='nope' is not in store"):
        store.run_record("nope")


def test_run_id_is_deterministic_and_resume_sees_completed(store):
    a = start(store)
    assert a.run_id.startswith("xlm-r-xnli-s1-") and not a.resumed
    a.record_scores("en", {"em": 70.0, "f1": 80.0}, phase="eval")
    a.record("de", "em", 60.0, phase="eval")
    b = start(store)
    assert b.run_id == a.run_id and b.resumed and b.writer != a.writer
    assert b.completed() == {("eval", "en"), ("eval", "de")}
    assert b.done("eval", "deu") and not b.done("eval", "fr") and not b.done("dev", "en")
    assert start(store, config={"lr": 3e-5}).run_id != a.run_id
    assert start(store, seed=2).run_id != a.run_id
    assert len(store.run_record(a.run_id)["attempts"]) == 2
    assert len(b.scores()) == 3


def test_rerecord_same_value_is_noop_different_value_raises_replace_wins(store):
    run = start(store)
    run.record("en", "accuracy", 85.0)
    run.record("en", "accuracy", 85.0)  # same value: nothing written
    again = start(store)
    again.record("en", "accuracy", 85.0)
    assert len(scores_file(store, run).read_text().splitlines()) == 1
    with pytest.raises(StoreError, match=r"differs from the recorded 85.0.*replace=True"):
        again.record("en", "accuracy", 86.0)
    again.record("en", "accuracy", 86.0, replace=True)
    df = read_store(store.path)
    assert df["score"].tolist() == [86.0]


def test_conflicting_values_from_two_writers_raise_on_read(store):
    a = start(store)
    b = start(store)  # the same run started twice at once
    b._entries = lambda: []  # b has not seen a's write yet (a race)
    a.record("en", "accuracy", 85.0)
    b.record("en", "accuracy", 84.0)
    with pytest.raises(StoreConflictError, match=r"two different scores.*85.0.*84.0"):
        read_store(store.path)


def test_same_key_from_two_runs_or_two_splits(store):
    start(store, config={"lr": 1}).record("en", "accuracy", 85.0)
    start(store, config={"lr": 2}).record("en", "accuracy", 85.0)
    with pytest.raises(StoreConflictError, match="recorded more than once.*distinct run= labels"):
        read_store(store.path)
    s2 = ResultsStore(store.path.parent / "s2", create=True)
    start(s2, config={"lr": 1}, run="lr1").record("en", "accuracy", 85.0)
    start(s2, config={"lr": 2}, run="lr2").record("en", "accuracy", 85.0)
    assert sorted(read_store(s2.path)["run"]) == ["lr1", "lr2"]
    s3 = ResultsStore(store.path.parent / "s3", create=True)
    r = start(s3)
    r.record("en", "accuracy", 85.0, split="test")
    r.record("en", "accuracy", 86.0, split="dev", phase="select")
    with pytest.raises(StoreConflictError, match=r"split=\.\.\."):
        read_store(s3.path)
    assert read_store(s3.path, split="dev")["score"].tolist() == [86.0]
    assert read_store(s3.path, phase="eval")["score"].tolist() == [85.0]


# -- validation --------------------------------------------------------------------


@pytest.mark.parametrize("args, kwargs, match", [
    (("en", "", 50.0), {}, r"metric='' is not valid"),
    (("en", "acc", 101.0), {}, r"score\['acc'\]=101.0 is not valid.*0 <= score <= 100"),
    (("en", "acc", -1), {}, r"0 <= score <= 100"),
    (("en", "acc", float("nan")), {}, r"0 <= score <= 100"),
    (("en", "acc", True), {}, r"expected a number in percent"),
    (("en", "acc", "85"), {}, r"expected a number in percent"),
    (("xx", "acc", 50.0), {}, r"unknown language 'xx' in 'language'"),
    (("en", "acc", 50.0), {"split": ""}, r"split='' is not valid"),
    (("en", "acc", 50.0), {"flag": "bad"}, r"flag='bad' is not valid"),
    (("en", "acc", 50.0), {"note": "a\nb"}, r"single line"),
])
def test_record_validates(store, args, kwargs, match):
    run = start(store)
    with pytest.raises(ValueError, match=match) as info:
        run.record(*args, **kwargs)
    assert "\n" not in str(info.value)
    assert not scores_file(store, run).exists()


@pytest.mark.parametrize("kwargs, match", [
    ({"seed": True}, r"seed=True is not valid"),
    ({"seed": 1.5}, r"seed=1.5 is not valid"),
    ({"config": {"f": object()}}, r"config is not valid: expected JSON"),
    ({"config": {"x": float("nan")}}, r"config is not valid"),
    ({"model": ""}, r"model='' is not valid"),
    ({"source_language": "zz"}, r"unknown language 'zz' in 'source_language'"),
])
def test_start_run_validates(store, kwargs, match):
    kw = {"config": {"a": 1}, "seed": 1, **RUN}
    kw.update(kwargs)
    with pytest.raises(ValueError, match=match):
        store.start_run(**kw)


def test_finish_and_read_validate_status(store):
    run = start(store)
    with pytest.raises(ValueError, match=r"status='done' is not valid"):
        run.finish("done")
    with pytest.raises(ValueError, match=r"status='ok' is not valid"):
        store.read(status="ok")
    run.finish("failed")
    assert store.runs()["status"].tolist() == ["failed"]


# -- bad store paths ---------------------------------------------------------------


def test_bad_store_paths(tmp_path):
    f = tmp_path / "results.csv"
    f.write_text("model\n")
    with pytest.raises(StoreError, match="is a file, not a results store directory"):
        read_store(f)
    with pytest.raises(StoreError, match="does not exist.*create=True"):
        read_store(tmp_path / "missing")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(StoreError, match="is not a results store"):
        read_store(tmp_path / "other")
    with pytest.raises(StoreError, match="non-empty directory without store.json"):
        ResultsStore(tmp_path / "other", create=True)
    (tmp_path / "empty").mkdir()
    assert is_store(ResultsStore(tmp_path / "empty", create=True).path)
    bad = ResultsStore(tmp_path / "v9", create=True).path
    (bad / "store.json").write_text(json.dumps({"format": "xdist-results-store", "version": 9}))
    with pytest.raises(StoreError, match="version=9"):
        read_store(bad)
    assert not is_store(f) and not is_store(tmp_path / "missing")
    empty = read_store(tmp_path / "empty")
    assert empty.empty and empty.columns.tolist() == RESULT_COLUMNS + ["origin"]


# -- damaged lines -------------------------------------------------------------------


def test_torn_final_line_ignored_warned_and_reported(store):
    run = start(store)
    run.record("en", "accuracy", 85.0)
    run.record("de", "accuracy", 78.0)
    path = scores_file(store, run)
    full = path.read_bytes().splitlines(keepends=True)[-1]
    with open(path, "ab") as fh:  # a write cut short by a crash
        fh.write(full[: len(full) // 2])
    with pytest.warns(StoreWarning, match=r"ignored 1 damaged line.*jsonl:3"):
        df = read_store(store.path)
    assert df["language"].tolist() == ["en", "de"]
    problems = store.check()
    assert problems[["line", "problem"]].values.tolist() == [
        [3, "torn final line (write interrupted)"]]
    # resuming appends after the torn fragment, which stays ignored
    resumed = start(store)
    assert resumed.completed() == {("eval", "en"), ("eval", "de")}
    resumed.record("sw", "accuracy", 60.0)
    with pytest.warns(StoreWarning):
        df = read_store(store.path)
    assert df["language"].tolist() == ["en", "de", "sw"]
    assert store.check()["problem"].str.startswith("damaged line").tolist() == [True]


def test_corrupted_line_is_ignored_not_read_as_data(store):
    run = start(store)
    run.record("en", "accuracy", 85.0)
    run.record("de", "accuracy", 78.0)
    path = scores_file(store, run)
    path.write_text(path.read_text().replace("78.0", "98.0"))
    with pytest.warns(StoreWarning, match="ignored 1 damaged line"):
        assert read_store(store.path)["score"].tolist() == [85.0]


def test_complete_line_without_newline_is_kept(store):
    run = start(store)
    run.record("en", "accuracy", 85.0)
    path = scores_file(store, run)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_store(store.path)["score"].tolist() == [85.0]
    run.record("de", "accuracy", 70.0)
    assert store.check().empty and len(read_store(store.path)) == 2


# -- concurrency ---------------------------------------------------------------------

N_PROC, N_SCORES = 4, 200
METRICS = [f"m{k}" for k in range(8)]


def _writer(path, seed, offset):
    store = ResultsStore(path)
    run = store.start_run({"k": "v"}, seed, **RUN)
    for i in range(N_SCORES):
        lang, metric = LANGS[(i + offset) % 50], METRICS[(i + offset) // 50]
        run.record(lang, metric, score_of(i + offset + seed))
    run.finish()


def test_concurrent_writers_lose_and_duplicate_nothing(store):
    # processes 0, 1: two runs of their own; processes 2, 3: the same run (seed 7),
    # started twice at once, writing overlapping keys with equal values.
    jobs = [(1, 0), (2, 0), (7, 0), (7, 100)]
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(store.path), s, o)) for s, o in jobs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = read_store(store.path)
    assert store.check().empty
    assert not df.duplicated(KEY_COLUMNS).any()
    counts = df.groupby("seed").size().to_dict()
    assert counts == {1: 200, 2: 200, 7: 300}  # offsets 0..199 and 100..299 overlap by 100
    for seed, offsets in [(1, range(200)), (2, range(200)), (7, range(300))]:
        want = {(LANGS[j % 50], METRICS[j // 50]): score_of(j + seed) for j in offsets}
        got = df[df.seed == seed].set_index(["language", "metric"])["score"].to_dict()
        assert got == want
    runs = store.runs().set_index("seed")
    assert runs.loc[7, "attempts"] == 2 and (runs["status"] == "finished").all()
    validate_results(df, check_groups=False)


# -- a writer killed by SIGKILL, then resumed -----------------------------------------

_CHILD = r"""
import sys, time
from xdist.store import ResultsStore
from xdist.languages import load_languages
path, delay = sys.argv[1], float(sys.argv[2])
langs = load_languages()["code"].tolist()[:50]
run = ResultsStore(path).start_run({"k": 1}, 3, model="XLM-R", setting="zero-shot",
    intermediate_task="", target_task="XNLI", source="kill test")
done = run.completed()
print("resumed" if run.resumed else "new", len(done), flush=True)
for i in range(200):
    phase, lang = f"p{i // 50}", langs[i % 50]
    if (phase, lang) in done:
        continue
    run.record_scores(lang, {"em": (i * 3.7) % 100, "f1": (i * 5.3) % 100}, phase=phase,
                      split=f"s{i // 50}")
    time.sleep(delay)
run.finish()
print("finished", flush=True)
"""


def test_resume_after_sigkill_loses_and_duplicates_nothing(store):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [sys.executable, "-c", _CHILD, str(store.path)]
    child = subprocess.Popen(cmd + ["0.002"], env=env, stdout=subprocess.PIPE, text=True)
    scores = store.path / "scores"
    deadline = time.time() + 30
    while time.time() < deadline:
        files = list(scores.glob("*.jsonl"))
        if files and files[0].read_bytes().count(b"\n") >= 60:
            break
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert store.runs()["status"].tolist() == ["running"]
    n_before = len(store.records(warn=False))
    assert 120 <= n_before < 400
    out = subprocess.run(cmd + ["0"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    first = out.stdout.split()
    assert first[0] == "resumed" and int(first[1]) * 2 >= n_before - 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StoreWarning)  # a torn line is possible, not required
        rec = store.records()
    assert len(rec) == 400 and not rec.duplicated(KEY_COLUMNS + ["split"]).any()
    lines = [ln for ln in next(scores.glob("*.jsonl")).read_text().splitlines() if ln]
    assert len(lines) - len(store.check()) == 200  # every unit written exactly once
    want = {(f"p{i // 50}", LANGS[i % 50], m): v for i in range(200)
            for m, v in (("em", (i * 3.7) % 100), ("f1", (i * 5.3) % 100))}
    got = {(p, lang, m): s for p, lang, m, s in
           zip(rec.phase, rec.language, rec.metric, rec.score)}
    assert got == want
    assert store.runs()["status"].tolist() == ["finished"]
    assert store.runs()["attempts"].tolist() == [2]
    for split in ("s0", "s1", "s2", "s3"):
        validate_results(read_store(store.path, split=split), check_groups=False)
