"""The ``xdist train`` subcommand: ``add_parser(sub)`` registers it on the main CLI.

Parsing needs nothing beyond the standard library; torch, transformers and
datasets are imported only when a run starts, with a clear message when the
``train`` extra is missing.
"""

from __future__ import annotations

import json
import sys

__all__ = ["add_parser", "run"]

INSTALL_HINT = (
    "xdist train needs the optional training dependencies: "
    "pip install torch==2.13.0 && pip install -e '.[train]'"
)


def add_parser(sub):
    """Register ``train`` on ``sub`` (from ``ArgumentParser.add_subparsers``)."""
    t = sub.add_parser(
        "train",
        help="intermediate task -> target task -> zero-shot evaluation in every language",
        description=(
            "Train a local pretrained model on English intermediate task(s), then on the English "
            "target task, and evaluate it zero-shot on every language of the target task; scores go "
            "to a results store that `xdist correlate --results STORE` reads. Running the same "
            "command again resumes: finished phases are skipped, an interrupted phase restarts "
            "from its last checkpoint, scored languages are not evaluated again. "
            "Values come from the defaults, then --config FILE, then the flags and --set."
        ),
    )
    t.add_argument("--model", metavar="PATH", help="local model directory (nothing is downloaded)")
    t.add_argument("--intermediate", metavar="TASK[,TASK...]", default=None,
                   help="English intermediate task(s); several = one shared encoder, one head each; "
                        "omit (or 'none') to skip phase 1")
    t.add_argument("--target", metavar="TASK", help="target task, e.g. XNLI, PAN-X, XQuAD, Tatoeba")
    t.add_argument("--data-dir", metavar="DIR", help="root of the task data (see docs/training.md)")
    t.add_argument("--output", metavar="DIR", help="run directory (checkpoints, config.json, store/)")
    t.add_argument("--seed", type=int, default=None, help="random seed (default 1)")
    t.add_argument("--config", metavar="FILE", help="TOML or JSON config (see docs/training.md)")
    t.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
                   help="override a config value, e.g. target_phase.learning_rate=2e-5 (repeatable)")
    t.add_argument("--store", metavar="DIR", help="results store (default OUTPUT/store)")
    t.add_argument("--model-name", metavar="NAME", help="model name in the results table "
                                                         "(default: the model directory's name)")
    t.add_argument("--setting", help="results-table setting (default: derived from the run, e.g. zero-shot, "
                                     "zero-shot+multilingual-intermediate+mlm)")
    t.add_argument("--intermediate-languages", metavar="LANG[,LANG...]",
                   help="languages of the intermediate training data (default en); the others are read from "
                        "translated training files (see docs/training.md)")
    t.add_argument("--mlm-corpus", metavar="DIR",
                   help="continued multilingual MLM during phase 1 on DIR/{lang}.txt (one sentence per line)")
    t.add_argument("--mlm-languages", metavar="LANG[,LANG...]",
                   help="MLM corpus languages (default: every file of --mlm-corpus; with --smoke: turns MLM "
                        "on, on a toy corpus)")
    t.add_argument("--adapter", choices=("full", "lora"),
                   help="full fine-tuning (default) or LoRA adapters on a frozen encoder (adapters.method)")
    t.add_argument("--adapter-sharing", choices=("per-task", "shared"),
                   help="with --adapter lora: one adapter per intermediate task (default) or one shared by "
                        "them (adapters.sharing); the target task's adapter is stacked on them")
    t.add_argument("--layout", choices=("xtreme", "original", "jiant", "jsonl"),
                   help="data layout (default: the first found under --data-dir)")
    t.add_argument("--precision", choices=("auto", "bf16", "fp16", "fp32"),
                   help="auto (default): bf16/fp16 on GPU, fp32 on CPU")
    t.add_argument("--languages", metavar="LANG[,LANG...]",
                   help="evaluation languages (default: all of the target task's)")
    t.add_argument("--smoke", action="store_true",
                   help="tiny random-init model, tokenizer and toy data for the chosen tasks; all three "
                        "phases on CPU in about a minute (default tasks: --intermediate MNLI --target XNLI)")
    t.add_argument("--print-config", action="store_true",
                   help="print the resolved configuration as JSON and exit")
    t.set_defaults(func=run)
    return t


def _tasks(value):
    if value is None:
        return None
    if value.strip().lower() in ("", "none", "-"):
        return ()
    return tuple(x.strip() for x in value.split(",") if x.strip())


def _adapter_overrides(args) -> list[str]:
    """--adapter / --adapter-sharing as ``--set`` items (which, given too, take precedence)."""
    out = []
    if getattr(args, "adapter", None):
        out.append(f"adapters.method={args.adapter}")
    if getattr(args, "adapter_sharing", None):
        out.append(f"adapters.sharing={args.adapter_sharing}")
    return out


def _resolve(args):
    from dataclasses import replace

    from xdist.train.config import EvalConfig, TrainConfig, apply_overrides, load_config

    cfg = load_config(args.config) if args.config else TrainConfig()
    changes = {}
    for flag, key in (("model", "model"), ("target", "target"), ("data_dir", "data_dir"),
                      ("output", "output"), ("seed", "seed"), ("store", "store"),
                      ("model_name", "model_name"), ("setting", "setting"), ("layout", "layout"),
                      ("precision", "precision")):
        value = getattr(args, flag)
        if value is not None:
            changes[key] = value
    inter = _tasks(args.intermediate)
    if inter is not None:
        changes["intermediate"] = inter
    for flag in ("intermediate_languages", "mlm_languages"):
        if getattr(args, flag):
            changes[flag] = _tasks(getattr(args, flag))
    if args.mlm_corpus:
        changes["mlm_corpus"] = args.mlm_corpus
    cfg = replace(cfg, **changes)
    cfg = apply_overrides(cfg, _adapter_overrides(args))
    if args.languages:
        cfg = replace(cfg, eval=replace(cfg.eval, languages=_tasks(args.languages)))
    cfg = apply_overrides(cfg, args.overrides)
    if getattr(args, "adapter_sharing", None) and cfg.adapters.method == "full":
        raise ValueError(f"--adapter-sharing {args.adapter_sharing} needs adapters (--adapter lora): full "
                         "fine-tuning has none to share")
    if not isinstance(cfg.eval, EvalConfig):  # pragma: no cover - guarded by apply_overrides
        raise ValueError("eval must be a table")
    return cfg


def run(args) -> int:
    """Handler of ``xdist train``. Bad input raises ValueError (printed as one line by the CLI)."""
    if args.smoke:
        if not args.output:
            raise ValueError("--smoke needs --output DIR (where the toy data, model and results go)")
        if args.model or args.data_dir or args.config:
            raise ValueError("--smoke builds its own model and data: drop --model, --data-dir and --config")
        if args.mlm_corpus:
            raise ValueError("--smoke builds its own MLM corpus: drop --mlm-corpus and give --mlm-languages")
        fixed = {"--store": args.store, "--model-name": args.model_name, "--layout": args.layout,
                 "--precision": args.precision, "--print-config": args.print_config or None}
        given = [flag for flag, value in fixed.items() if value is not None]
        if given:
            raise ValueError(f"--smoke fixes its own store, model name, layout and precision and always runs: "
                             f"drop {', '.join(given)} (or use --set KEY=VALUE for other settings)")
    cfg = _resolve(args)
    if args.print_config and not args.smoke:
        sys.stdout.write(json.dumps(cfg.validate().to_dict(), indent=1) + "\n")
        return 0
    try:
        import datasets  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as err:
        raise ValueError(f"{INSTALL_HINT} ({err})") from None
    from xdist.train.model import WeightTransferError

    def progress(msg: str) -> None:
        sys.stderr.write(f"xdist train: {msg}\n")
        sys.stderr.flush()

    try:
        if args.smoke:
            from xdist.train.smoke import run_smoke

            inter = _tasks(args.intermediate)
            summary = run_smoke(
                args.output, target=args.target or "XNLI",
                intermediate=("MNLI",) if inter is None else inter,
                seed=1 if args.seed is None else args.seed, languages=_tasks(args.languages),
                overrides=[*_adapter_overrides(args), *([f"setting={args.setting}"] if args.setting else []),
                           *args.overrides], progress=progress,
                intermediate_languages=_tasks(args.intermediate_languages),
                mlm_languages=_tasks(args.mlm_languages),
            )
        else:
            from xdist.train.pipeline import run as run_pipeline

            summary = run_pipeline(cfg, progress=progress)
    except WeightTransferError as err:
        raise ValueError(str(err)) from None
    from xdist.train.launch import is_main_process

    if is_main_process():  # under torchrun the other ranks neither score nor write: rank 0 reports
        _print_summary(summary)
    return 0


def _print_summary(summary) -> None:
    cfg = summary.config
    out = sys.stdout
    for ph in summary.phases:
        dev = ", ".join(f"{k}={v:.2f}" for k, v in ph.dev_scores.items() if k == "score" or k.endswith("_" + "f1")
                        or k.endswith("_accuracy"))
        state = "skipped (done earlier)" if ph.skipped else f"{ph.seconds:.1f} s"
        out.write(f"phase {ph.name}: {state}" + (f"; English dev {dev}" if dev else "") + "\n")
    from xdist.train.tasks import get_task

    metric = get_task(cfg.target).primary_metric
    scored = {lang: s for lang, s in summary.scores.items() if metric in s}
    if scored:
        out.write(f"{cfg.target} {metric} by language (this invocation):\n")
        for lang in sorted(scored):
            out.write(f"  {lang:>4}  {scored[lang][metric]:6.2f}\n")
    if summary.resumed_languages:
        out.write(f"{len(summary.resumed_languages)} languages were already in the store\n")
    out.write(f"results store: {summary.store}  (xdist correlate --results {summary.store})\n")
    out.write(f"run id: {summary.run_id}; {summary.seconds:.1f} s\n")
