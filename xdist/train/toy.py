"""Tiny models and tokenizers for smoke runs and tests: built here, never downloaded.

:func:`make_tokenizer` trains a Unigram tokenizer with the XLM-R special
tokens on the fly (``tokenizers``), :func:`make_tiny_model` saves a
random-init XLM-R-style encoder of a few thousand parameters next to it, so
the whole pipeline (:mod:`xdist.train.pipeline`) can run on CPU in seconds
with the same loading code that reads a real checkpoint.

Examples
--------
>>> import tempfile
>>> from xdist.train.toy import make_tokenizer, make_tiny_model
>>> tok = make_tokenizer(["a small corpus", "ein kleiner Korpus"], vocab_size=60)
>>> tok.pad_token, tok.cls_token, tok.sep_token
('<pad>', '<s>', '</s>')
>>> path = make_tiny_model(tempfile.mkdtemp(), tok)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["SPECIAL_TOKENS", "make_tokenizer", "make_tiny_model", "tiny_config", "make_tiny_causal_lm"]

#: XLM-R's special tokens, in XLM-R's id order.
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


def make_tokenizer(texts: Iterable[str], *, vocab_size: int = 500, path=None):
    """Train a small Unigram (SentencePiece-style) tokenizer with XLM-R's special tokens.

    Parameters
    ----------
    texts : iterable of str
        Training text (toy data of every language that will be evaluated).
    vocab_size : int, default 500
    path : path, optional
        Directory to save the tokenizer to (``save_pretrained``).

    Returns
    -------
    transformers.PreTrainedTokenizerFast
        Encodes single sentences as ``<s> A </s>`` and pairs as
        ``<s> A </s></s> B </s>``, as XLM-R does.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if not isinstance(vocab_size, int) or vocab_size < len(SPECIAL_TOKENS) + 10:
        raise ValueError(f"vocab_size={vocab_size!r} is not valid: expected an integer >= 15")
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise ValueError("texts is empty: give the sentences the tokenizer should cover")
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), unk_token="<unk>",
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    cls_id, sep_id = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", cls_id), ("</s>", sep_id)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", cls_token="<s>",
        sep_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
        model_max_length=512,
    )
    if path is not None:
        os.makedirs(path, exist_ok=True)
        fast.save_pretrained(path)
    return fast


def tiny_config(tokenizer, *, hidden_size: int = 32, num_layers: int = 2, num_heads: int = 2,
                intermediate_size: int | None = None, max_position: int = 256, **kw):
    """An XLM-R configuration of the given size for ``tokenizer``'s vocabulary.

    ``hidden_size=768, num_layers=12, num_heads=12`` with a 250,002 vocabulary
    is XLM-R base; the benchmarks build that shape with random weights.
    """
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size or 4 * hidden_size,
        max_position_embeddings=max_position + 2,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
        **kw,
    )


def make_tiny_model(path, tokenizer, *, hidden_size: int = 32, num_layers: int = 2,
                    num_heads: int = 2, max_position: int = 256, seed: int = 0) -> Path:
    """Save a random-init XLM-R-style encoder and ``tokenizer`` to ``path``.

    The directory then loads like any local checkpoint
    (``AutoModel.from_pretrained(path)``, ``xdist train --model PATH``).

    Returns
    -------
    pathlib.Path
    """
    from transformers import XLMRobertaModel

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = tiny_config(tokenizer, hidden_size=hidden_size, num_layers=num_layers,
                         num_heads=num_heads, max_position=max_position)
    return _save_seeded(lambda: XLMRobertaModel(config, add_pooling_layer=False), path, tokenizer, seed)


def make_tiny_causal_lm(path, tokenizer, *, hidden_size: int = 32, num_layers: int = 2, num_heads: int = 2,
                        max_position: int = 512, seed: int = 0) -> Path:
    """Save a random-init Llama-style causal LM and ``tokenizer`` to ``path``.

    Two decoder layers of width 32 by default (about 53,000 parameters with a
    500-token vocabulary), untied input and output embeddings, SDPA
    attention.  The directory loads like any local checkpoint
    (``AutoModelForCausalLM.from_pretrained(path)``, ``xdist lm-eval --model
    PATH``).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> from xdist.train.toy import make_tokenizer, make_tiny_causal_lm
    >>> tok = make_tokenizer(["a small corpus"], vocab_size=30)
    >>> make_tiny_causal_lm(tempfile.mkdtemp(), tok).joinpath("config.json").is_file()  # doctest: +SKIP
    True
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    if not isinstance(hidden_size, int) or not isinstance(num_heads, int) or num_heads < 1 \
            or hidden_size % num_heads:
        raise ValueError(f"hidden_size={hidden_size!r} is not valid: expected an integer multiple of "
                         f"num_heads={num_heads!r}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers, num_attention_heads=num_heads, num_key_value_heads=num_heads,
        max_position_embeddings=max_position, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    return _save_seeded(lambda: LlamaForCausalLM(config), path, tokenizer, seed)


def _save_seeded(build, path: Path, tokenizer, seed: int) -> Path:
    """Build a random-init model under ``seed`` (torch's global RNG left as it was) and save it."""
    import torch

    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = build()
    finally:
        torch.random.set_rng_state(state)
    from xdist.train.model import _quiet

    with _quiet():
        model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
