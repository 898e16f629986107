"""``xdist train --smoke``: the whole pipeline on a tiny model and toy data, on CPU.

:func:`run_smoke` writes synthetic data for the chosen tasks
(:mod:`xdist.train.toydata`, in the registry's ``jsonl`` layout), trains a
tokenizer on it, saves a random-init encoder of a few thousand parameters
(:mod:`xdist.train.toy`), and runs :func:`xdist.train.pipeline.run` with
small settings: intermediate training, target training with model selection,
and evaluation in every language, written to the results store.  It checks
an install end to end in about a minute and is how the tests run every task
format through the real code.

Examples
--------
>>> import tempfile
>>> from xdist.train.smoke import run_smoke
>>> summary = run_smoke(tempfile.mkdtemp(), target="XNLI", intermediate=("MNLI",))  # doctest: +SKIP
>>> sorted(summary.scores)[:3]  # doctest: +SKIP
['ar', 'bg', 'de']
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from xdist.train.config import EvalConfig, PhaseConfig, TrainConfig, apply_overrides
from xdist.train.launch import is_main_process

__all__ = ["SMOKE_PHASE", "run_smoke", "smoke_config"]

#: Written in ``model/`` once the toy data, tokenizer and model are complete (other ranks wait for it).
READY_FILE = ".xdist-smoke-ready"

#: Training settings of a smoke run (small batches, a few epochs, short sequences).
SMOKE_PHASE = PhaseConfig(
    learning_rate=1e-3, num_train_epochs=4.0, per_device_batch_size=16, warmup_ratio=0.0,
    max_length=64, doc_stride=32, max_query_length=16, logging_steps=10, save_total_limit=2,
)


def _texts(root: Path) -> Iterable[str]:
    def walk(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)

    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield from walk(json.loads(line))
                except json.JSONDecodeError:
                    yield from line.split("\t")


def smoke_config(output, *, target: str = "XNLI", intermediate: Sequence[str] = ("MNLI",), seed: int = 1,
                 languages: Sequence[str] | None = None, n_train: int = 384, n_eval: int = 32,
                 overrides: Sequence[str] = (), intermediate_languages: Sequence[str] | None = None,
                 mlm_languages: Sequence[str] | None = None) -> TrainConfig:
    """Write toy data, a tokenizer and a tiny model under ``output``; return the run's config.

    Parameters
    ----------
    output : path
        Run directory; gets ``data/``, ``model/``, the phases and ``store/``.
    target, intermediate
        Tasks to run (any of the registry; QA targets also get SQuAD v1.1
        data, which XTREME trains them on).
    languages : sequence of str, optional
        Evaluation languages (default: all of the target task's).
    n_train, n_eval : int
        Examples per training file and per evaluation language.
    overrides : sequence of str
        ``KEY=VALUE`` settings applied last (as ``--set``).
    intermediate_languages : sequence of str, optional
        Intermediate training languages; the non-English ones get toy
        translated training files (``data/{task}/train-{lang}.jsonl``).
    mlm_languages : sequence of str, optional
        Turns on continued MLM on a toy corpus in these languages
        (``data/mlm-corpus/{lang}.txt``).
    """
    from xdist.train.tasks import get_task
    from xdist.train.toy import make_tiny_model, make_tokenizer
    from xdist.train.toydata import write_toy_data, write_toy_mlm_corpus, write_toy_translations

    out = Path(output)
    t = get_task(target)
    inter = tuple(get_task(x).name for x in intermediate)
    tasks = [t.name, *inter]
    if t.train_task:
        tasks.append(get_task(t.train_task).name)
    data = out / "data"
    model_dir = out / "model"
    if not is_main_process():  # under torchrun rank 0 writes the toy data and model; the others wait for it
        _wait_for(model_dir / READY_FILE)
    elif not (model_dir / "config.json").is_file():
        write_toy_data(data, list(dict.fromkeys(tasks)), languages=languages, n_train=n_train,
                       n_eval=n_eval, seed=seed)
        if intermediate_languages:
            write_toy_translations(data, inter, intermediate_languages, n=n_train // 2, seed=seed)
        if mlm_languages:
            write_toy_mlm_corpus(data / "mlm-corpus", mlm_languages, n=n_train, seed=seed)
        tok = make_tokenizer(_texts(data), vocab_size=400)
        make_tiny_model(model_dir, tok, hidden_size=32, num_layers=2, num_heads=2, max_position=128,
                        seed=seed)
    if is_main_process():
        (model_dir / READY_FILE).touch()
    cfg = TrainConfig(
        model=str(model_dir), model_name="xdist-smoke-tiny", target=t.name, intermediate=inter,
        data_dir=str(data), output=str(out), seed=seed, layout="jsonl", precision="fp32",
        intermediate_phase=SMOKE_PHASE,
        target_phase=SMOKE_PHASE,
        eval=EvalConfig(batch_size=64, languages=tuple(languages) if languages else None,
                        retrieval_max_length=64),
    )
    if intermediate_languages:
        cfg = replace(cfg, intermediate_languages=tuple(intermediate_languages))
    if mlm_languages:
        cfg = replace(cfg, mlm_corpus=str(data / "mlm-corpus"), mlm_languages=tuple(mlm_languages))
    # LoRA (--adapter lora) keeps SMOKE_PHASE's learning rate rather than adapters.learning_rate
    cfg = replace(cfg, adapters=replace(cfg.adapters, learning_rate=None))
    return apply_overrides(cfg, overrides)


def run_smoke(output, *, target: str = "XNLI", intermediate: Sequence[str] = ("MNLI",), seed: int = 1,
              languages: Sequence[str] | None = None, n_train: int = 384, n_eval: int = 32,
              overrides: Sequence[str] = (), progress=None, intermediate_languages: Sequence[str] | None = None,
              mlm_languages: Sequence[str] | None = None):
    """Run all three phases on toy data with a tiny random-init model (CPU, about a minute).

    Returns
    -------
    xdist.train.pipeline.RunSummary
    """
    import torch

    from xdist.train.pipeline import run

    cfg = smoke_config(output, target=target, intermediate=intermediate, seed=seed, languages=languages,
                       n_train=n_train, n_eval=n_eval, overrides=overrides,
                       intermediate_languages=intermediate_languages, mlm_languages=mlm_languages)
    threads = torch.get_num_threads()
    torch.set_num_threads(min(threads, 2))  # tiny matrices: more threads only add overhead
    try:
        return run(cfg, progress=progress)
    finally:
        torch.set_num_threads(threads)


def _wait_for(path: Path, timeout: float = 900.0) -> None:
    """Wait until ``path`` exists (rank 0 writing the smoke model), or fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not path.is_file():
        if time.monotonic() > deadline:
            raise RuntimeError(f"waited {timeout:.0f} s for rank 0 to write the smoke model ({path} is missing)")
        time.sleep(0.2)
