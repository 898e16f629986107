"""Parameter-efficient intermediate and target training: LoRA adapters that provably carry over.

With ``adapters.method = "lora"`` (:class:`xdist.train.config.AdapterConfig`)
the pretrained encoder stays frozen in every phase and only low-rank
adapters (Hu et al. 2021, through PEFT's public functional API) and the task
heads train:

- **Phase 1**, ``sharing = "per-task"``: one adapter per intermediate task,
  named ``intermediate-<task>``; a batch of task *t* runs (and trains)
  adapter *t* and head *t* only.  ``sharing = "shared"``: one adapter,
  ``intermediate``, trained by the batches of every task (each task keeps
  its own head).
- **Phase 2**: the intermediate adapter(s) are loaded *frozen and active*,
  and a new trainable adapter ``target`` is stacked on them, with the
  target head.
- **Phase 3** evaluates the same stack.

**What "stacked" means here.** A LoRA adapter adds a low-rank update
``B A`` to a frozen weight ``W``; PEFT sums the updates of every active
adapter, so a linear layer of the stack computes
``W x + sum_i s_i B_i A_i x`` (``s_i = lora_alpha / r``) over the
intermediate adapter(s) and the target adapter.  Because the update is
additive, sequential and parallel stacking are the same, and the target
adapter starts from exactly what phase 1 left: at step 0 the stack computes
what the intermediate adapter(s) alone compute (the target adapter's ``B``
starts at zero).  With per-task adapters and several
intermediate tasks, phase 2 sums all of them, although each was trained
alone in phase 1 (the additive combination of task vectors, not a learned
fusion); with ``"shared"`` there is one intermediate adapter.

**Carry-over.** A phase saves ``adapters.safetensors`` (every adapter
tensor, keyed exactly as in the encoder) and ``adapters.json`` (the adapter
configurations, which adapters each task runs, the SHA-256 of the adapter
tensors and of the frozen base encoder, and the base model's path), next to
``heads.safetensors``/``heads.json`` (:func:`xdist.train.model.save_phase`
calls :func:`write_adapters`).  :func:`load_adapted_model` refuses with
:class:`~xdist.train.model.WeightTransferError` a base encoder whose
fingerprint differs from the recorded one, any adapter key missing from
(or unexpected in) the file, and adapter tensors that differ from their
fingerprint.

Examples
--------
>>> import tempfile
>>> from xdist.train.config import AdapterConfig
>>> from xdist.train.toy import make_tokenizer, make_tiny_model
>>> from xdist.train.model import TransferModel, load_encoder, load_phase, save_phase
>>> from xdist.train.adapters import intermediate_model, trainable_parameters
>>> tok = make_tokenizer(["a b c d", "e f g h"] * 3, vocab_size=30)
>>> path = make_tiny_model(tempfile.mkdtemp(), tok)
>>> plain = TransferModel(load_encoder(path), {"MNLI": "sentence_pair", "QQP": "sentence_pair"},
...                       {"MNLI": 3, "QQP": 2})
>>> model = intermediate_model(plain, AdapterConfig(method="lora", lora_r=4), base_path=path)
>>> model.task_adapters
{'MNLI': ('intermediate-MNLI',), 'QQP': ('intermediate-QQP',)}
>>> sorted({name.split(".")[0] for name in trainable_parameters(model)})
['encoder', 'heads']
>>> saved = save_phase(model, tempfile.mkdtemp())
>>> load_phase(saved).adapter_specs["intermediate-QQP"]["target_modules"]
['query', 'value']
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from xdist.train.model import TransferModel, WeightTransferError, _head_key, fingerprint, load_encoder

__all__ = [
    "ADAPTERS_FILE",
    "ADAPTER_WEIGHTS",
    "AdaptedTransferModel",
    "SHARED_ADAPTER",
    "TARGET_ADAPTER",
    "adapter_fingerprint",
    "adapter_names",
    "adapter_state",
    "add_adapters",
    "base_fingerprint",
    "intermediate_model",
    "load_adapted_model",
    "lora_spec",
    "lora_target_modules",
    "target_model",
    "trainable_parameters",
    "write_adapters",
]

ADAPTERS_FILE = "adapters.json"
ADAPTER_WEIGHTS = "adapters.safetensors"
#: Name of the one adapter of ``sharing = "shared"``.
SHARED_ADAPTER = "intermediate"
#: Name of the target task's adapter (phase 2).
TARGET_ADAPTER = "target"
#: Sub-module names under which PEFT's LoRA layers keep adapter tensors (``...query.lora_A.<adapter>.weight``).
_ADAPTER_LAYERS = ("lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector")
_PEFT_MULTI_ADAPTER_WARNING = "Already found a `peft_config` attribute in the model"


# ---- names and keys ---------------------------------------------------------------------------


def adapter_names(tasks: Sequence[str], sharing: str) -> dict[str, str]:
    """Intermediate task -> the adapter its batches train.

    Examples
    --------
    >>> adapter_names(["MNLI", "SQuAD-v1.1"], "per-task")
    {'MNLI': 'intermediate-MNLI', 'SQuAD-v1.1': 'intermediate-SQuAD-v1_1'}
    >>> adapter_names(["MNLI", "QQP"], "shared")
    {'MNLI': 'intermediate', 'QQP': 'intermediate'}
    """
    if sharing == "per-task":
        return {t: f"intermediate-{_head_key(t)}" for t in tasks}
    if sharing == "shared":
        return {t: SHARED_ADAPTER for t in tasks}
    raise ValueError(f"adapters.sharing={sharing!r} is not valid: expected 'per-task' or 'shared'")


def _adapter_of(key: str) -> str | None:
    """The adapter a state-dict key belongs to (``None`` for a base-encoder key)."""
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        if part in _ADAPTER_LAYERS:
            return parts[i + 1]
    return None


def adapter_state(encoder: nn.Module, names: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
    """The adapter tensors of ``encoder`` (of ``names``, default all), keyed as in its state dict."""
    state = encoder.state_dict()
    keep = None if names is None else set(names)
    return {k: v for k, v in state.items()
            if (a := _adapter_of(k)) is not None and (keep is None or a in keep)}


def base_fingerprint(encoder: nn.Module) -> str:
    """:func:`~xdist.train.model.fingerprint` of the base encoder under its adapters.

    Adapter tensors are left out and PEFT's ``.base_layer`` wrapping is undone,
    so the value equals the fingerprint of the same encoder before adapters
    were added: equal fingerprints mean the base weights are untouched.
    """
    state = {k.replace(".base_layer.", "."): v for k, v in encoder.state_dict().items()
             if _adapter_of(k) is None}
    return fingerprint(state)


def adapter_fingerprint(encoder: nn.Module, names: Sequence[str] | None = None) -> str:
    """:func:`~xdist.train.model.fingerprint` of the adapter tensors (of ``names``, default all)."""
    return fingerprint(adapter_state(encoder, names))


# ---- adding adapters --------------------------------------------------------------------------


def lora_target_modules(config, requested: Sequence[str] | None = None) -> list[str] | str:
    """The modules LoRA adapts: ``requested``, or the architecture's default.

    The default is PEFT's per-architecture table
    (``TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING``): the attention
    query and value projections (``query``/``value`` for BERT and XLM-R,
    ``q``/``v`` for mT5), as in Hu et al. (2021).  ``("all-linear",)`` adapts
    every linear layer of the encoder.

    Examples
    --------
    >>> from transformers import XLMRobertaConfig
    >>> lora_target_modules(XLMRobertaConfig())
    ['query', 'value']
    >>> lora_target_modules(XLMRobertaConfig(), ("all-linear",))
    'all-linear'
    """
    if requested:
        requested = list(requested)
        return "all-linear" if requested == ["all-linear"] else requested
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as defaults

    model_type = getattr(config, "model_type", None)
    if model_type not in defaults:
        raise ValueError(
            f"adapters.target_modules=None: no default LoRA target modules are known for "
            f"model_type={model_type!r}; give them, e.g. --set adapters.target_modules=query,value "
            "(module names of the encoder) or adapters.target_modules=all-linear"
        )
    return list(defaults[model_type])


def lora_spec(adapters, encoder_config) -> dict:
    """The JSON-able LoRA configuration of one adapter (what ``adapters.json`` records).

    Parameters
    ----------
    adapters : xdist.train.config.AdapterConfig
    encoder_config : transformers.PretrainedConfig
        The encoder's configuration (for the default target modules).
    """
    if adapters.method != "lora":
        raise ValueError(f"adapters.method={adapters.method!r} has no adapters: expected 'lora'")
    return {"method": "lora", "r": int(adapters.lora_r), "lora_alpha": float(adapters.lora_alpha),
            "lora_dropout": float(adapters.lora_dropout),
            "target_modules": lora_target_modules(encoder_config, adapters.target_modules)}


def add_adapters(encoder: nn.Module, specs: Mapping[str, Mapping]) -> None:
    """Inject freshly initialised adapters (name -> :func:`lora_spec`) into ``encoder``, in place.

    LoRA's ``B`` starts at zero, so a new adapter does not change the
    encoder's output until it is trained.
    """
    from peft import LoraConfig
    from peft.functional import inject_adapter_in_model

    for name, spec in specs.items():
        if spec.get("method") != "lora":
            raise ValueError(f"adapter {name!r}: method={spec.get('method')!r} is not valid: expected 'lora'")
        config = LoraConfig(r=spec["r"], lora_alpha=spec["lora_alpha"], lora_dropout=spec["lora_dropout"],
                            target_modules=spec["target_modules"], bias="none")
        with warnings.catch_warnings():
            # several named adapters in one model is what we want, not a mistake
            warnings.filterwarnings("ignore", message=_PEFT_MULTI_ADAPTER_WARNING)
            try:
                inject_adapter_in_model(config, encoder, adapter_name=name)
            except ValueError as err:
                if "not found in the base model" not in str(err) and "target_modules" not in str(err):
                    raise
                raise ValueError(
                    f"adapters.target_modules={spec['target_modules']!r} matches no module of the "
                    f"{type(encoder).__name__}: expected names of its linear layers (e.g. 'query', "
                    "'value', 'dense') or 'all-linear'"
                ) from None


# ---- the model --------------------------------------------------------------------------------


class AdaptedTransferModel(TransferModel):
    """A :class:`~xdist.train.model.TransferModel` whose frozen encoder carries named adapters.

    Parameters
    ----------
    encoder : transformers.PreTrainedModel
        The base encoder with the adapters already injected (:func:`add_adapters`).
    formats, n_labels, pooling
        As for :class:`~xdist.train.model.TransferModel`.
    specs : mapping of str to dict
        Adapter name -> its :func:`lora_spec` (every adapter in the encoder).
    task_adapters : mapping of str to sequence of str
        Task -> the adapters active (summed) when a batch of that task runs.
    trainable : sequence of str
        The adapters that train; every other adapter and the whole base
        encoder are frozen (the heads always train).
    base_path : path, optional
        The base model directory (recorded when the phase is saved).

    Notes
    -----
    ``forward(task=...)`` activates ``task_adapters[task]`` before running
    the encoder.  Which parameters train is fixed when the model is built
    (the optimizer is made from them); activating adapters never changes it.
    """

    def __init__(self, encoder, formats: Mapping[str, str], n_labels: Mapping[str, int] | None = None, *,
                 pooling: str | None = None, specs: Mapping[str, Mapping],
                 task_adapters: Mapping[str, Sequence[str]], trainable: Sequence[str] = (), base_path=None):
        super().__init__(encoder, formats, n_labels, pooling=pooling)
        from peft.tuners.tuners_utils import BaseTunerLayer

        self._tuner_layers = [m for m in encoder.modules() if isinstance(m, BaseTunerLayer)]
        present = {_adapter_of(k) for k in encoder.state_dict()} - {None}
        self.adapter_specs = {name: dict(spec) for name, spec in specs.items()}
        if not self._tuner_layers or set(self.adapter_specs) != present:
            raise ValueError(
                f"specs={sorted(self.adapter_specs)!r} do not match the adapters in the encoder "
                f"({sorted(present)}): add them with add_adapters first"
            )
        missing = [t for t in self.formats if t not in task_adapters]
        if missing:
            raise ValueError(f"task_adapters has no adapters for task(s) {missing}: expected one entry per task")
        self.task_adapters = {t: tuple(task_adapters[t]) for t in self.formats}
        unknown = sorted({a for names in self.task_adapters.values() for a in names} - present)
        unknown += sorted(set(trainable) - present)
        if unknown:
            raise ValueError(f"adapter(s) {unknown} are not in the encoder: expected some of {sorted(present)}")
        self.trainable_adapters = tuple(trainable)
        self.base_path = None if base_path is None else str(base_path)
        self._active: list[str] | None = None
        self._freeze()
        self.activate(self.stack())

    def stack(self) -> list[str]:
        """Every adapter some task runs, in order (what runs when the encoder is used alone)."""
        return list(dict.fromkeys(a for names in self.task_adapters.values() for a in names))

    def _freeze(self) -> None:
        trainable = set(self.trainable_adapters)
        for name, p in self.encoder.named_parameters():
            p.requires_grad_(_adapter_of(name) in trainable)

    def activate(self, names: Sequence[str]) -> None:
        """Make ``names`` the active (summed) adapters of every adapted layer."""
        names = list(names)
        if names == self._active:
            return
        for layer in self._tuner_layers:
            layer.set_adapter(names)  # PEFT also marks them trainable ...
        self._freeze()  # ... which only self.trainable_adapters are
        self._active = names

    def forward(self, task=None, input_ids=None, attention_mask=None, token_type_ids=None,
                labels=None, start_positions=None, end_positions=None):
        name = task[0] if isinstance(task, (list, tuple)) and task else task
        if name is None and len(self.formats) == 1:
            name = next(iter(self.formats))
        if name in self.task_adapters:
            self.activate(self.task_adapters[name])
        return super().forward(task=task, input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids, labels=labels, start_positions=start_positions,
                               end_positions=end_positions)


def trainable_parameters(model: nn.Module) -> dict[str, int]:
    """Name -> number of elements of every parameter that trains."""
    return {n: p.numel() for n, p in model.named_parameters() if p.requires_grad}


def intermediate_model(model: TransferModel, adapters, *, base_path=None) -> AdaptedTransferModel:
    """Phase 1: add the intermediate adapter(s) to ``model``'s encoder and freeze the base.

    Parameters
    ----------
    model : TransferModel
        The pretrained encoder with one head per intermediate task.
    adapters : xdist.train.config.AdapterConfig
        ``method="lora"``; ``sharing`` picks one adapter per task or one for all.
    base_path : path, optional
        Where the base encoder was loaded from (recorded with the saved phase).
    """
    spec = lora_spec(adapters, model.encoder.config)
    names = adapter_names(model.tasks, adapters.sharing)
    specs = {name: spec for name in dict.fromkeys(names.values())}
    add_adapters(model.encoder, specs)
    adapted = AdaptedTransferModel(
        model.encoder, model.formats, model.n_labels, pooling=model.pooling, specs=specs,
        task_adapters={t: (names[t],) for t in model.tasks}, trainable=list(specs), base_path=base_path,
    )
    adapted.heads = model.heads  # the heads the caller built, not a second initialisation
    return adapted


def target_model(base, formats: Mapping[str, str], n_labels: Mapping[str, int] | None, adapters, *,
                 intermediate=None, expected_fingerprint: str | None = None,
                 attn_implementation: str | None = "sdpa", seed: int | None = None) -> AdaptedTransferModel:
    """Phase 2: the frozen base, the intermediate adapter(s) frozen and active, a new ``target`` adapter.

    Parameters
    ----------
    base : path
        The base model directory (the one phase 1 started from).
    formats, n_labels
        The target task's head.
    adapters : xdist.train.config.AdapterConfig
    intermediate : path, optional
        Phase 1's saved ``final/`` directory; ``None`` trains the target
        adapter on the base encoder alone.
    expected_fingerprint : str, optional
        Fingerprint the base encoder must have (checked when there is no
        intermediate phase; otherwise the one recorded with its adapters is).
    seed : int, optional
        Seeds the new adapter and head (on a forked RNG): they are then the
        same whether phase 1 ran in this process or was done earlier, so a
        run resumed in phase 2 matches an uninterrupted one.
    """
    if intermediate is not None:
        previous = load_adapted_model(intermediate, base=base, attn_implementation=attn_implementation)
        encoder, specs, stack = previous.encoder, dict(previous.adapter_specs), previous.stack()
        base_path = previous.base_path
    else:
        encoder = load_encoder(base, expected_fingerprint=expected_fingerprint,
                               attn_implementation=attn_implementation)
        specs, stack, base_path = {}, [], base
    spec = lora_spec(adapters, encoder.config)
    specs[TARGET_ADAPTER] = spec
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        add_adapters(encoder, {TARGET_ADAPTER: spec})
        return AdaptedTransferModel(
            encoder, formats, n_labels, specs=specs, task_adapters={t: (*stack, TARGET_ADAPTER) for t in formats},
            trainable=[TARGET_ADAPTER], base_path=base_path,
        )


# ---- saving and loading -----------------------------------------------------------------------


def write_adapters(model: AdaptedTransferModel, directory) -> dict[str, str]:
    """Write ``adapters.safetensors`` and ``adapters.json`` into ``directory``; return the fingerprints.

    Called by :func:`xdist.train.model.save_phase` for an adapted model
    (into its temporary directory, which is renamed into place when complete).
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    state = {k: v.detach().cpu().contiguous() for k, v in adapter_state(model.encoder).items()}
    save_file(state, str(directory / ADAPTER_WEIGHTS))
    prints = {"adapter_fingerprint": fingerprint(state), "base_fingerprint": base_fingerprint(model.encoder)}
    info = {
        "adapters": model.adapter_specs,
        "task_adapters": {t: list(v) for t, v in model.task_adapters.items()},
        "trainable": list(model.trainable_adapters),
        "base_model": None if model.base_path is None else str(Path(model.base_path).resolve()),
        **prints,
    }
    (directory / ADAPTERS_FILE).write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    return prints


def load_adapted_model(path, formats: Mapping[str, str] | None = None, n_labels: Mapping[str, int] | None = None,
                       *, pooling: str | None = None, base=None,
                       attn_implementation: str | None = "sdpa") -> AdaptedTransferModel:
    """The base encoder with the adapters saved in ``path``, every one checked (heads are not restored).

    :func:`xdist.train.model.load_phase` calls this for a phase saved with
    adapters and restores the heads.

    Parameters
    ----------
    path : path
        A phase's ``final/`` directory holding ``adapters.json`` and ``adapters.safetensors``.
    formats, n_labels, pooling
        Heads of the returned model (default: the tasks the phase ran).
        Tasks the phase did not run get the whole adapter stack.
    base : path, optional
        The base model directory (default: the one recorded in ``adapters.json``).

    Raises
    ------
    WeightTransferError
        When the base encoder is not the one the adapters were trained on,
        an adapter weight is missing from the file or the file has keys the
        adapters do not (e.g. a key-prefix mismatch), or the tensors differ
        from their recorded fingerprint.
    """
    from safetensors.torch import load_file

    path = Path(path)
    info_file, weights_file = path / ADAPTERS_FILE, path / ADAPTER_WEIGHTS
    if not info_file.is_file() or not weights_file.is_file():
        raise WeightTransferError(
            f"{path} has no {ADAPTERS_FILE} and {ADAPTER_WEIGHTS}: not a phase saved with adapters"
        )
    info = json.loads(info_file.read_text())
    base = base if base is not None else info.get("base_model")
    if base is None:
        raise ValueError(f"base=None: {info_file} records no base model; give the base model directory")
    encoder = load_encoder(base, attn_implementation=attn_implementation)
    got = fingerprint(encoder)
    if got != info["base_fingerprint"]:
        raise WeightTransferError(
            f"base={str(base)!r} is not the encoder the adapters in {path} were trained on: its fingerprint "
            f"{got[:12]} differs from the recorded {info['base_fingerprint'][:12]}"
        )
    add_adapters(encoder, info["adapters"])
    expected = set(adapter_state(encoder))
    saved = load_file(str(weights_file))
    missing, unexpected = sorted(expected - set(saved)), sorted(set(saved) - expected)
    if missing or unexpected:
        raise WeightTransferError(
            f"{weights_file}: {len(missing)} adapter weights are missing (e.g. {missing[:3]}) and "
            f"{len(unexpected)} keys are not adapter weights of this encoder (e.g. {unexpected[:3]}). "
            "Refusing to continue with randomly initialised adapters; a key-prefix mismatch between how "
            "the adapters were saved and the encoder is the usual cause"
        )
    try:
        encoder.load_state_dict(saved, strict=False)
    except RuntimeError as err:  # shapes
        raise WeightTransferError(
            f"{weights_file} does not fit the adapters in {info_file}: {str(err)[:300]}"
        ) from None
    got = adapter_fingerprint(encoder)
    if got != info["adapter_fingerprint"]:
        raise WeightTransferError(
            f"{weights_file}: the loaded adapters' fingerprint {got[:12]} differs from the one saved with them "
            f"({info['adapter_fingerprint'][:12]}): the adapters did not carry over"
        )
    task_adapters = dict(info["task_adapters"])
    if formats is None:
        heads = json.loads((path / "heads.json").read_text())
        formats = heads["formats"]
        n_labels = {k: v for k, v in heads["n_labels"].items() if v is not None}
        pooling = heads.get("pooling")
    stack = list(dict.fromkeys(a for names in task_adapters.values() for a in names))
    return AdaptedTransferModel(
        encoder, formats, n_labels, pooling=pooling, specs=info["adapters"],
        task_adapters={t: task_adapters.get(t, stack) for t in formats}, base_path=base,
    )
