"""Continued multilingual masked-language modelling during intermediate training.

Phang et al. (2020, X-STILTs) tried keeping the encoder's multilingual
knowledge alive during English intermediate training by adding masked
language modelling (MLM) on text in many languages as one more task of the
multi-task intermediate phase.  This module gives the pipeline
(:mod:`xdist.train.pipeline`) what that needs:

- the corpus: a directory the user supplies with one plain-text file per
  language, ``{lang}.txt`` (UTF-8, one sentence or paragraph per line; blank
  lines are skipped) -- :func:`corpus_files`, :func:`load_corpus`;
- the features: each line tokenized on its own, truncated to the phase's
  ``max_length`` (:func:`encode_corpus`);
- the masking: :func:`mask_tokens` and :class:`MLMCollator` follow
  transformers' ``DataCollatorForLanguageModeling`` exactly (a token is
  selected with probability ``mlm_probability``, never a special or padding
  token; of the selected, 80% become ``<mask>``, 10% a random token of the
  vocabulary, 10% stay; the loss is on the selected tokens only), with the
  random draws seeded by the run's seed and the batch's examples, so a resumed
  run masks as the original did;
- the head: :class:`MLMHead`, the shape of XLM-R's ``lm_head`` (dense, GELU,
  layer norm, projection onto the vocabulary with the input embedding matrix
  plus a bias).  :func:`attach_mlm_head` loads the checkpoint's own
  ``lm_head.*`` weights when it has them, strictly (every weight present,
  shapes equal, the projection tied to the input embeddings), and otherwise
  creates a fresh head tied to the input embeddings; it says which.

The MLM head is a head like the task heads: only the encoder is carried to
the target phase (with its fingerprint checked).

Examples
--------
>>> import datasets
>>> from xdist.train.toy import make_tokenizer
>>> from xdist.train.mlm import MLMCollator, encode_corpus
>>> tok = make_tokenizer(["a b c d e f g h"] * 4, vocab_size=30)
>>> corpus = datasets.Dataset.from_dict({"text": ["a b c d", "e f g h a b"], "language": ["de", "sw"]})
>>> feats = encode_corpus(corpus, tok, max_length=16)
>>> batch = MLMCollator(tok, probability=0.5, seed=1)([feats[0], feats[1]])
>>> sorted(batch), batch["labels"].shape == batch["input_ids"].shape
(['attention_mask', 'input_ids', 'labels'], True)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

__all__ = [
    "MLM_FORMAT",
    "MLM_TASK",
    "MLMCollator",
    "MLMHead",
    "MLMTask",
    "attach_mlm_head",
    "corpus_files",
    "encode_corpus",
    "load_corpus",
    "mask_tokens",
    "read_lm_head",
]

#: Head name of the MLM task in the intermediate model and the sampler.
MLM_TASK = "MLM"
#: Format of the MLM "task" (not a registry format: it has no labels of its own).
MLM_FORMAT = "mlm"

_IGNORE = -100
_LM_HEAD_KEYS = ("dense.weight", "dense.bias", "layer_norm.weight", "layer_norm.bias", "bias")
_LM_HEAD_TIED = ("decoder.weight", "decoder.bias")


@dataclass(frozen=True)
class MLMTask:
    """The MLM "task" of the intermediate phase (what the pipeline passes around as a task)."""

    languages: tuple[str, ...] = ()
    name: str = MLM_TASK
    format: str = MLM_FORMAT


# ---- corpus ---------------------------------------------------------------------------------


def _error(msg: str):
    from xdist.train.readers import DataError

    return DataError(msg)


def corpus_files(corpus, languages: Sequence[str] | None = None) -> dict[str, Path]:
    """Language -> ``{lang}.txt`` of an MLM corpus directory.

    Parameters
    ----------
    corpus : path
        Directory of ``{lang}.txt`` files (xdist language codes, e.g.
        ``de.txt``, ``sw.txt``).
    languages : sequence of str, optional
        Languages to use (any spelling :func:`xdist.languages.resolve`
        knows); default every ``*.txt`` file of the directory.

    Raises
    ------
    ValueError
        ``corpus`` is not a directory, a file name or language is not a known
        language, or no file is found.
    xdist.train.readers.DataError
        A requested language has no file (the message names the path).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "de.txt").write_text("Ein Satz.\\n")
    >>> sorted(corpus_files(d))
    ['de']
    >>> corpus_files(d, ["sw"])
    Traceback (most recent call last):
    ...
    xdist.train.readers.DataError: mlm_languages: no MLM corpus file for 'sw': ... does not exist ...
    """
    from xdist.languages import UnknownLanguageError, resolve

    root = Path(corpus).expanduser() if corpus else None
    if root is None or not root.is_dir():
        raise ValueError(f"mlm_corpus={str(corpus)!r} is not a directory: expected a directory of plain-text "
                         "files {lang}.txt, one sentence or paragraph per line")
    if languages is None:
        out = {}
        for p in sorted(root.glob("*.txt")):
            try:
                code = resolve(p.stem, param="mlm_corpus file name")
            except UnknownLanguageError as err:
                raise ValueError(f"mlm_corpus={str(corpus)!r}: {p.name} is not named after a language ({err}); "
                                 "name the files {lang}.txt or give mlm_languages") from None
            out[code] = p
        if not out:
            raise ValueError(f"mlm_corpus={str(corpus)!r} holds no {{lang}}.txt files: expected e.g. de.txt, sw.txt")
        return out
    if isinstance(languages, str):
        languages = [languages]
    out = {}
    for lang in languages:
        code = resolve(lang, param="mlm_languages")
        path = root / f"{code}.txt"
        if not path.is_file():
            raise _error(f"mlm_languages: no MLM corpus file for {code!r}: {str(path)!r} does not exist (the "
                         f"corpus directory holds {sorted(p.name for p in root.glob('*.txt'))}); expected "
                         "{lang}.txt files, one sentence or paragraph per line")
        out[code] = path
    if not out:
        raise ValueError("mlm_languages is empty: give language codes, or none for every file of mlm_corpus")
    return out


def load_corpus(corpus, languages: Sequence[str] | None = None, *, limit: int | None = None):
    """Read an MLM corpus into a :class:`datasets.Dataset` (``id``, ``language``, ``text``).

    Parameters
    ----------
    corpus, languages
        See :func:`corpus_files`.
    limit : int, optional
        Lines kept per language (the first ``limit`` non-blank ones).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "de.txt").write_text("Ein Satz.\\n\\nNoch einer.\\n")
    >>> _ = (d / "sw.txt").write_text("Sentensi moja.\\n")
    >>> ds = load_corpus(d, limit=1)
    >>> list(ds["language"]), list(ds["text"])
    (['de', 'sw'], ['Ein Satz.', 'Sentensi moja.'])
    """
    import datasets

    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"mlm_max_examples={limit!r} is not valid: expected a positive integer or none")
    rows: dict[str, list] = {"id": [], "language": [], "text": []}
    for code, path in corpus_files(corpus, languages).items():
        n = 0
        try:
            with open(path, encoding="utf-8-sig") as fh:
                for i, line in enumerate(fh, 1):
                    text = line.strip()
                    if not text:
                        continue
                    rows["id"].append(f"{code}/{i}")
                    rows["language"].append(code)
                    rows["text"].append(text)
                    n += 1
                    if limit is not None and n >= limit:
                        break
        except UnicodeDecodeError as exc:
            raise _error(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
        if n == 0:
            raise _error(f"{path}: the MLM corpus file of {code!r} has no text (every line is blank)")
    return datasets.Dataset.from_dict(rows)


def encode_corpus(examples, tokenizer, *, max_length: int):
    """Tokenize corpus lines for MLM: one row per line, truncated to ``max_length`` tokens.

    Returns
    -------
    datasets.Dataset
        ``input_ids``, ``attention_mask``, ``special_tokens_mask``, ``length``,
        ``language`` and ``mlm_row`` (the row's index, which seeds its masks).
    """
    import datasets

    if getattr(tokenizer, "mask_token_id", None) is None:
        raise ValueError(f"tokenizer={type(tokenizer).__name__} has no mask token: MLM needs one (<mask>)")
    if not isinstance(max_length, int) or max_length < 3:
        raise ValueError(f"max_length={max_length!r} is not valid: expected an integer >= 3")
    enc = tokenizer(list(examples["text"]), truncation=True, max_length=max_length,
                    return_special_tokens_mask=True, return_token_type_ids=False)
    ids = enc["input_ids"]
    return datasets.Dataset.from_dict({
        "input_ids": ids,
        "attention_mask": enc["attention_mask"],
        "special_tokens_mask": enc["special_tokens_mask"],
        "length": [len(x) for x in ids],
        "language": list(examples["language"]),
        "mlm_row": list(range(len(ids))),
    })


# ---- masking --------------------------------------------------------------------------------


def mask_tokens(input_ids: torch.Tensor, special_tokens_mask: torch.Tensor, *, probability: float,
                mask_token_id: int, vocab_size: int, generator: torch.Generator | None = None,
                mask_replace_prob: float = 0.8, random_replace_prob: float = 0.1
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask a batch as ``DataCollatorForLanguageModeling.torch_mask_tokens`` does.

    The same random draws in the same order (selection, mask replacement,
    random replacement, random tokens), so with the same generator state the
    result equals transformers' to the token.

    Returns
    -------
    (inputs, labels)
        ``inputs`` with the replacements made (a copy); ``labels`` the
        original ids at selected positions, ``-100`` elsewhere.

    Examples
    --------
    >>> import torch
    >>> ids = torch.arange(10, 30).reshape(2, 10)
    >>> special = torch.zeros_like(ids); special[:, 0] = 1
    >>> inputs, labels = mask_tokens(ids, special, probability=0.5, mask_token_id=4, vocab_size=40,
    ...                              generator=torch.Generator().manual_seed(0))
    >>> bool((labels[:, 0] == -100).all()), bool(((labels == -100) | (labels == ids)).all())
    (True, True)
    """
    if not 0 < probability < 1:
        raise ValueError(f"mlm_probability={probability!r} is not valid: expected a number in (0, 1)")
    inputs = input_ids.clone()
    labels = input_ids.clone()
    prob = torch.full(labels.shape, float(probability))
    prob.masked_fill_(special_tokens_mask.bool(), value=0.0)
    masked = torch.bernoulli(prob, generator=generator).bool()
    labels[~masked] = _IGNORE
    replaced = torch.bernoulli(torch.full(labels.shape, mask_replace_prob), generator=generator).bool() & masked
    inputs[replaced] = mask_token_id
    if mask_replace_prob == 1 or random_replace_prob == 0:
        return inputs, labels
    scaled = random_replace_prob / (1 - mask_replace_prob)
    random = torch.bernoulli(torch.full(labels.shape, scaled), generator=generator).bool() & masked & ~replaced
    words = torch.randint(vocab_size, labels.shape, dtype=torch.long, generator=generator)
    inputs[random] = words[random]
    return inputs, labels


class MLMCollator:
    """Pad MLM rows and mask them (:func:`mask_tokens`), seeded per batch.

    Parameters
    ----------
    tokenizer
        Gives the pad and mask ids and the vocabulary size (``len(tokenizer)``,
        as transformers draws random tokens).
    probability : float, default 0.15
        ``mlm_probability``.
    seed : int
        The run's seed.  A batch's masks depend on the seed and on the
        ``mlm_row`` of its rows only -- not on how many batches came before --
        so a resumed run masks each batch as the interrupted run would have;
        batches are reshuffled every epoch, so examples get new masks.
    """

    def __init__(self, tokenizer, *, probability: float = 0.15, seed: int = 0):
        if getattr(tokenizer, "mask_token_id", None) is None:
            raise ValueError(f"tokenizer={type(tokenizer).__name__} has no mask token: MLM needs one (<mask>)")
        if not 0 < probability < 1:
            raise ValueError(f"mlm_probability={probability!r} is not valid: expected a number in (0, 1)")
        self.pad_id = int(tokenizer.pad_token_id)
        self.mask_id = int(tokenizer.mask_token_id)
        self.vocab_size = len(tokenizer)
        self.probability = float(probability)
        self.seed = int(seed)

    def batch_seed(self, rows: Sequence[Mapping]) -> int:
        key = f"{self.seed}|" + ",".join(str(int(r["mlm_row"])) for r in rows)
        return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little") & (2**63 - 1)

    def __call__(self, rows: Sequence[Mapping]) -> dict:
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        special = torch.ones((len(rows), width), dtype=torch.long)  # padding is never selected
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n] = torch.as_tensor(r["input_ids"], dtype=torch.long)
            attention[i, :n] = 1
            special[i, :n] = torch.as_tensor(r["special_tokens_mask"], dtype=torch.long)
        gen = torch.Generator().manual_seed(self.batch_seed(rows))
        inputs, labels = mask_tokens(ids, special, probability=self.probability, mask_token_id=self.mask_id,
                                     vocab_size=self.vocab_size, generator=gen)
        return {"input_ids": inputs, "attention_mask": attention, "labels": labels}


# ---- head -----------------------------------------------------------------------------------


class MLMHead(nn.Module):
    """XLM-R's ``lm_head``: dense, GELU, layer norm, then the input embeddings (transposed) plus a bias.

    The projection *is* the encoder's input embedding matrix (tied, as in
    XLM-R), held by reference: it is not a parameter of the head, so it is
    saved once, with the encoder.  With ``labels``, logits are computed only
    at the selected (``!= -100``) positions, and the loss is their mean
    cross-entropy.
    """

    def __init__(self, embeddings: nn.Embedding, hidden_size: int, layer_norm_eps: float = 1e-5):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.layer_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(embeddings.weight.shape[0]))
        self._embeddings = (embeddings,)  # a tuple: not registered as a submodule

    @property
    def embeddings(self) -> nn.Embedding:
        return self._embeddings[0]

    def forward(self, hidden: torch.Tensor, labels: torch.Tensor | None = None):
        target = None
        if labels is not None:
            keep = labels != _IGNORE
            hidden, target = hidden[keep], labels[keep]
        x = self.layer_norm(nn.functional.gelu(self.dense(hidden)))
        logits = nn.functional.linear(x, self.embeddings.weight, self.bias).float()
        if target is None:
            return None, logits
        if target.numel() == 0:  # nothing selected in this batch: a zero loss that keeps the graph
            return logits.sum() * 0.0, logits
        return nn.functional.cross_entropy(logits, target), logits


def _weight_files(model_dir: Path) -> list[Path]:
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        p = model_dir / index
        if p.is_file():
            shards = sorted(set(json.loads(p.read_text())["weight_map"].values()))
            return [model_dir / s for s in shards]
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (model_dir / name).is_file():
            return [model_dir / name]
    return []


def read_lm_head(model_dir) -> dict[str, torch.Tensor] | None:
    """The checkpoint's ``lm_head.*`` tensors (prefix removed), or ``None`` when it has none.

    Reads ``model.safetensors`` (sharded or not) or ``pytorch_model.bin``
    (``weights_only``), without loading the rest of the model.
    """
    found: dict[str, torch.Tensor] = {}
    for f in _weight_files(Path(model_dir)):
        if f.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(f), framework="pt") as fh:
                for k in fh.keys():
                    if k.startswith("lm_head."):
                        found[k[len("lm_head."):]] = fh.get_tensor(k)
        else:
            state = torch.load(f, map_location="cpu", weights_only=True)
            found.update({k[len("lm_head."):]: v for k, v in state.items() if k.startswith("lm_head.")})
    return found or None


def attach_mlm_head(model, model_dir, *, name: str = MLM_TASK) -> str:
    """Give ``model`` (a :class:`~xdist.train.model.TransferModel`) an MLM head called ``name``.

    Parameters
    ----------
    model : TransferModel
    model_dir : path
        The pretrained checkpoint the encoder came from.  When it holds
        ``lm_head.*`` weights (XLM-R's ``XLMRobertaForMaskedLM`` checkpoints),
        they are loaded strictly; otherwise the head is new (dense layer
        initialised as the encoder's, normal with the config's
        ``initializer_range``).  Either way the projection is the encoder's
        input embeddings.

    Returns
    -------
    str
        ``"checkpoint"`` (the pretrained ``lm_head``) or ``"fresh"``.

    Raises
    ------
    WeightTransferError
        The checkpoint's ``lm_head`` lacks weights, has unknown ones, has
        other shapes, or its projection is not the input embedding matrix.
    """
    from xdist.train.model import WeightTransferError, _head_key, _hidden_size

    enc = model.encoder
    emb = enc.get_input_embeddings()
    cfg = enc.config
    eps = float(getattr(cfg, "layer_norm_eps", None) or getattr(cfg, "layer_norm_epsilon", None) or 1e-5)
    head = MLMHead(emb, _hidden_size(cfg), eps)
    state = read_lm_head(model_dir)
    if state is None:
        std = float(getattr(cfg, "initializer_range", 0.02) or 0.02)
        with torch.no_grad():
            head.dense.weight.normal_(0.0, std)
            head.dense.bias.zero_()
        source = "fresh"
    else:
        where = f"model={str(model_dir)!r}: lm_head"
        missing = [k for k in _LM_HEAD_KEYS if k not in state]
        unknown = sorted(k for k in state if k not in _LM_HEAD_KEYS + _LM_HEAD_TIED)
        if missing or unknown:
            raise WeightTransferError(
                f"{where} does not match XLM-R's MLM head: missing {['lm_head.' + k for k in missing]}, "
                f"unknown {['lm_head.' + k for k in unknown]}; expected lm_head.{{{', '.join(_LM_HEAD_KEYS)}}}"
            )
        try:
            head.load_state_dict({k: state[k] for k in _LM_HEAD_KEYS}, strict=True)
        except RuntimeError as err:
            raise WeightTransferError(f"{where} does not fit this encoder: {str(err)[:300]}") from None
        weight = emb.weight.detach().to("cpu")
        if "decoder.weight" in state and not torch.equal(state["decoder.weight"].to(weight.dtype), weight):
            raise WeightTransferError(f"{where}.decoder.weight differs from the input embeddings: xdist ties the "
                                      "MLM projection to them, as XLM-R does")
        if "decoder.bias" in state and not torch.equal(state["decoder.bias"], state["bias"]):
            raise WeightTransferError(f"{where}.decoder.bias differs from lm_head.bias: expected them tied")
        source = "checkpoint"
    model.formats[name] = MLM_FORMAT
    model.n_labels[name] = None
    model.heads[_head_key(name)] = head
    return source
