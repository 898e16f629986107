"""The ``xdist lm-eval`` subcommand: ``add_parser(sub)`` registers it on the main CLI.

Parsing needs only the standard library; torch, transformers and peft are
imported when a run starts (``xdist --help`` stays light).
"""

from __future__ import annotations

import sys

__all__ = ["add_parser", "run"]

INSTALL_HINT = (
    "xdist lm-eval needs the optional training dependencies: "
    "pip install torch==2.13.0 && pip install -e '.[train]'"
)


def add_parser(sub):
    """Register ``lm-eval`` on ``sub`` (from ``ArgumentParser.add_subparsers``)."""
    t = sub.add_parser(
        "lm-eval",
        help="zero-/few-shot decoder-LLM evaluation by log-likelihood of the choices, every language",
        description=(
            "Score a local causal language model on XNLI, PAWS-X, XCOPA, XStoryCloze (any registry task "
            "with a prompt) by the log-likelihood of each choice after the task's prompt, with K English "
            "demonstrations (--shots), optionally after LoRA fine-tuning on an English intermediate task. "
            "Per-language accuracy and accuracy_norm go to a results store that `xdist correlate --results "
            "STORE` reads. Running the same command again skips languages already scored (docs/llm.md)."
        ),
    )
    t.add_argument("--model", metavar="PATH", help="local model directory (nothing is downloaded)")
    t.add_argument("--task", metavar="TASK[,TASK...]", help="tasks, e.g. XNLI,PAWS-X,XCOPA,XStoryCloze")
    t.add_argument("--data-dir", metavar="DIR", help="root of the task data (docs/tasks.md layouts)")
    t.add_argument("--output", metavar="DIR", help="run directory (config.json, lora/, store/)")
    t.add_argument("--shots", type=int, default=0, metavar="K",
                   help="English demonstrations before each example (default 0)")
    t.add_argument("--languages", metavar="LANG[,LANG...]", help="languages (default: all of each task's)")
    t.add_argument("--intermediate", metavar="TASK", help="English task to fine-tune a LoRA adapter on first")
    t.add_argument("--lora", action="store_true", help="fine-tune a LoRA adapter on --intermediate")
    t.add_argument("--seed", type=int, default=1, help="seed of demonstrations and LoRA training (default 1)")
    t.add_argument("--batch-size", type=int, default=16, help="requests per forward pass (default 16)")
    t.add_argument("--limit", type=int, default=None, metavar="N", help="first N examples per language")
    t.add_argument("--prompt", default=None, help="prompt name (default: the task's first, 'harness')")
    t.add_argument("--layout", choices=("xtreme", "original", "jiant", "jsonl"),
                   help="data layout (default: the first found under --data-dir)")
    t.add_argument("--store", metavar="DIR", help="results store (default OUTPUT/store)")
    t.add_argument("--model-name", metavar="NAME", help="model name in the results table "
                                                         "(default: the model directory's name)")
    t.add_argument("--precision", choices=("auto", "bf16", "fp16", "fp32"), default="auto",
                   help="auto (default): bf16/fp16 on GPU, fp32 on CPU")
    t.add_argument("--max-length", type=int, default=None, metavar="N",
                   help="token window (default: the model's)")
    t.add_argument("--smoke", action="store_true",
                   help="tiny random-init causal LM and toy data; seconds on CPU (default tasks XNLI,XCOPA); "
                        "takes --limit, --prompt, --max-length, --precision, not --store, --model-name, --layout")
    t.set_defaults(func=run)
    return t


def _list(value):
    if value is None:
        return None
    return tuple(x.strip() for x in value.split(",") if x.strip())


def run(args) -> int:
    """Handler of ``xdist lm-eval``. Bad input raises ValueError (printed as one line by the CLI)."""
    if args.smoke:
        if not args.output:
            raise ValueError("--smoke needs --output DIR (where the toy data, model and results go)")
        if args.model or args.data_dir:
            raise ValueError("--smoke builds its own model and data: drop --model and --data-dir")
        if args.lora and not args.intermediate:
            raise ValueError("--lora needs --intermediate TASK (the English task to fine-tune on)")
        fixed = {"--store": args.store, "--model-name": args.model_name, "--layout": args.layout}
        given = [flag for flag, value in fixed.items() if value is not None]
        if given:
            raise ValueError(f"--smoke fixes its own store (OUTPUT/store), model name and layout (jsonl): "
                             f"drop {', '.join(given)}")
    else:
        for flag, value in (("--model", args.model), ("--task", args.task), ("--data-dir", args.data_dir),
                            ("--output", args.output)):
            if not value:
                raise ValueError(f"{flag} is required (or --smoke for a check on toy data)")
    if args.intermediate and not args.lora:
        raise ValueError(f"--intermediate {args.intermediate} needs --lora (LoRA is the fine-tuning lm-eval does)")
    try:
        import peft  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as err:
        raise ValueError(f"{INSTALL_HINT} ({err})") from None
    from xdist.train.llm import LMEvalConfig, run as run_eval, run_smoke

    def progress(msg: str) -> None:
        sys.stderr.write(f"xdist lm-eval: {msg}\n")
        sys.stderr.flush()

    if args.smoke:
        summary = run_smoke(args.output, tasks=_list(args.task) or ("XNLI", "XCOPA"), shots=args.shots,
                            intermediate=args.intermediate, seed=args.seed, languages=_list(args.languages),
                            batch_size=args.batch_size, limit=args.limit, prompt=args.prompt,
                            max_length=args.max_length, precision=args.precision, progress=progress)
    else:
        cfg = LMEvalConfig(
            model=args.model, tasks=_list(args.task) or (), data_dir=args.data_dir, output=args.output,
            shots=args.shots, languages=_list(args.languages), intermediate=args.intermediate or None,
            lora=args.lora, seed=args.seed, batch_size=args.batch_size, limit=args.limit, layout=args.layout,
            store=args.store, model_name=args.model_name, prompt=args.prompt, precision=args.precision,
            max_length=args.max_length,
        )
        summary = run_eval(cfg, progress=progress)
    _print_summary(summary)
    return 0


def _print_summary(summary) -> None:
    out = sys.stdout
    cfg = summary.config
    out.write(f"model {cfg.name}, setting {cfg.setting}"
              + (f", intermediate {cfg.intermediate}" if cfg.intermediate else "") + "\n")
    if summary.adapter:
        out.write(f"LoRA adapter: {summary.adapter}" + (" (trained earlier)" if summary.adapter_reused else "")
                  + "\n")
    for task, langs in summary.scores.items():
        out.write(f"{task} accuracy / accuracy_norm by language (this invocation):\n")
        for lang in sorted(langs):
            s = langs[lang]
            out.write(f"  {lang:>4}  {s['accuracy']:6.2f}  {s['accuracy_norm']:6.2f}\n")
    for task, done in summary.resumed.items():
        if done:
            out.write(f"{task}: {len(done)} languages were already in the store\n")
    out.write(f"results store: {summary.store}  (xdist correlate --results {summary.store})\n")
    out.write(f"{summary.seconds:.1f} s\n")
