"""Launching one ``xdist train`` run on one or several processes (GPUs).

A run whose ``[distributed]`` table asks for ``nproc_per_node > 1`` is started
with ``torchrun`` (or ``accelerate launch``), one process per GPU; the
pipeline then trains with DDP (or FSDP, below) through the transformers
``Trainer``, and only the main process (rank 0) writes the phase directories,
``DONE.json`` markers, ``config.json`` and the results store
(:func:`is_main_process`).

**FSDP.** Models of :data:`FSDP_THRESHOLD` parameters and more are sharded
with FSDP (``fsdp = "full_shard auto_wrap"``, wrapping the encoder's layer
class) when ``fsdp = "auto"``; :func:`count_parameters` counts parameters
from the checkpoint's safetensors headers, or estimates them from
``config.json``, without loading any weight.  FSDP runs on CPU (gloo) too,
where accelerate alone would fall back to DDP
(``xdist.train.pipeline._fsdp_on_cpu``); each phase's ``DONE.json`` records
how it really trained (``distributed``).

This module does not import torch.

Examples
--------
>>> from xdist.train.config import DistributedConfig
>>> cmd = train_command("run/sweep-run.json", DistributedConfig(launcher="torchrun", nproc_per_node=4),
...                     python="python")
>>> " ".join(cmd)
'python -m torch.distributed.run --standalone --nproc_per_node 4 -m xdist train --config run/sweep-run.json'
>>> " ".join(train_command("run/sweep-run.json", DistributedConfig(), python="python"))
'python -m xdist train --config run/sweep-run.json'
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
from pathlib import Path

__all__ = [
    "FSDP_THRESHOLD",
    "count_parameters",
    "fsdp_enabled",
    "is_main_process",
    "rank",
    "train_command",
    "world_size",
    "world_size_of",
]

#: Models with at least this many parameters are sharded with FSDP under ``fsdp = "auto"``.
FSDP_THRESHOLD = 1_000_000_000

#: What ``fsdp = "auto"`` turns on (a transformers ``TrainingArguments.fsdp`` value).
FSDP_AUTO = "full_shard auto_wrap"


def rank() -> int:
    """This process's global rank under torchrun/accelerate (``RANK``), 0 otherwise."""
    return int(os.environ.get("RANK", "0") or 0)


def world_size() -> int:
    """Number of processes of the run (``WORLD_SIZE``), 1 when not launched distributed."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def is_main_process() -> bool:
    """Whether this process writes files and the store (rank 0, or not distributed).

    >>> is_main_process()
    True
    """
    return rank() == 0


def train_command(config_file, dist, *, python: str | None = None) -> list[str]:
    """The command line that runs ``xdist train --config CONFIG_FILE`` as ``dist`` asks.

    Parameters
    ----------
    config_file : path
        A run config (TOML or JSON; a sweep writes ``RUN_DIR/sweep-run.json``).
    dist : xdist.train.config.DistributedConfig
        ``launcher`` ``"none"`` (one process), ``"torchrun"`` or
        ``"accelerate"``, and ``nproc_per_node``.
    python : str, optional
        The interpreter (default: this one, ``sys.executable``).

    Returns
    -------
    list of str
    """
    py = python or sys.executable
    train = ["-m", "xdist", "train", "--config", str(config_file)]
    n = int(dist.nproc_per_node)
    if dist.launcher == "none":
        return [py, *train]
    if dist.launcher == "torchrun":
        return [py, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n), *train]
    if dist.launcher == "accelerate":
        multi = ["--multi_gpu"] if n > 1 else []
        return [py, "-m", "accelerate.commands.launch", *multi, "--num_processes", str(n),
                "--num_machines", "1", "--dynamo_backend", "no", "--mixed_precision", "no", *train]
    raise ValueError(f"distributed.launcher={dist.launcher!r} is not valid: expected one of "
                     "'none', 'torchrun', 'accelerate'")


def _safetensors_count(path: Path) -> int:
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n))
    return sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")


def count_parameters(model_dir) -> int | None:
    """Number of parameters of a local checkpoint, without loading its weights.

    Sums the tensor shapes in the ``*.safetensors`` headers when there are
    any (exact); otherwise estimates from ``config.json`` (embeddings plus
    ``num_hidden_layers`` transformer layers of ``hidden_size`` and
    ``intermediate_size``; within a few percent for BERT/XLM-R/T5 encoders
    and Llama-style decoders).  ``None`` when neither is readable.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "config.json").write_text(json.dumps({"model_type": "xlm-roberta", "vocab_size": 250002,
    ...     "hidden_size": 1024, "num_hidden_layers": 24, "intermediate_size": 4096,
    ...     "max_position_embeddings": 514}))
    >>> round(count_parameters(d) / 1e7) * 10  # XLM-R large: about 560M (millions)
    560
    """
    d = Path(model_dir)
    files = sorted(d.glob("*.safetensors"))
    if files:
        try:
            return sum(_safetensors_count(f) for f in files)
        except (OSError, ValueError, KeyError, struct.error):
            pass
    try:
        cfg = json.loads((d / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    cfg = {**cfg.get("text_config", {}), **cfg}
    h = cfg.get("hidden_size") or cfg.get("d_model")
    layers = cfg.get("num_hidden_layers") or cfg.get("num_layers")
    vocab = cfg.get("vocab_size")
    if not (h and layers and vocab):
        return None
    inter = cfg.get("intermediate_size") or cfg.get("d_ff") or 4 * h
    heads = cfg.get("num_attention_heads") or cfg.get("num_heads") or 1
    kv = cfg.get("num_key_value_heads") or heads
    head_dim = cfg.get("head_dim") or cfg.get("d_kv") or h // heads
    attn = h * head_dim * heads * 2 + h * head_dim * kv * 2 + 4 * h
    gated = cfg.get("model_type", "") in ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "mt5",
                                          "umt5") or "gated" in str(cfg.get("feed_forward_proj", ""))
    ffn = (3 if gated else 2) * h * inter + inter + h
    layer = attn + ffn + 4 * h
    emb = vocab * h + (cfg.get("max_position_embeddings") or 0) * h + (cfg.get("type_vocab_size") or 0) * h
    untied = 0 if cfg.get("tie_word_embeddings", True) or cfg.get("is_encoder_decoder") else vocab * h
    return int(emb + layers * layer + untied)


def fsdp_enabled(dist, model_dir, *, processes: int | None = None) -> str:
    """The ``TrainingArguments.fsdp`` value for a run: ``""`` (off) or e.g. ``"full_shard auto_wrap"``.

    ``fsdp = "auto"`` shards models of at least :data:`FSDP_THRESHOLD`
    parameters when the run has several processes; ``"off"`` never shards;
    any other value (FSDP options such as ``"full_shard auto_wrap"``) is
    used as given (with one process it is ignored: there is nothing to
    shard across).  ``processes``
    is the run's number of processes (default: what ``dist`` launches).

    Examples
    --------
    >>> from xdist.train.config import DistributedConfig
    >>> fsdp_enabled(DistributedConfig(), "models/none")
    ''
    """
    n_proc = world_size_of(dist) if processes is None else processes
    if n_proc < 2 or dist.fsdp == "off":
        return ""
    if dist.fsdp == "auto":
        n = count_parameters(model_dir)
        return FSDP_AUTO if n is not None and n >= FSDP_THRESHOLD else ""
    return dist.fsdp


def world_size_of(dist) -> int:
    """Processes a run with ``dist`` starts (1 unless a launcher is set)."""
    return 1 if dist.launcher == "none" else int(dist.nproc_per_node)
