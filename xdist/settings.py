"""The vocabulary of the ``setting`` column: how a model was trained for the target task.

One place names every setting the training core writes and the analyses
select, so that "adapters versus full fine-tuning" or "multilingual versus
English intermediate data" is a comparison between two ``setting`` values of
the same results table.

A setting is a *base* followed by optional *modifiers*, joined by ``+`` in a
fixed order::

    zero-shot                                 full fine-tuning on English (Phang et al. 2020)
    zero-shot+lora                            LoRA adapters, one per intermediate task, stacked
                                              under the target task's adapter
    zero-shot+lora-shared                     one LoRA adapter shared by all intermediate tasks
    zero-shot+multilingual-intermediate       intermediate task trained on several languages
    zero-shot+multilingual-intermediate+mlm   ... plus continued multilingual MLM
    llm-0shot, llm-5shot                      a decoder LLM scored by the log-likelihood of the
                                              choices, with k English demonstrations
    llm-0shot+lora                            ... after LoRA fine-tuning on an English
                                              intermediate task
    translate-train-all, translate-test       published settings of the shipped data

Examples
--------
>>> from xdist.settings import compose_setting, parse_setting
>>> compose_setting("zero-shot", ["mlm", "lora"])
'zero-shot+lora+mlm'
>>> parse_setting("llm-5shot+lora")
('llm-5shot', ('lora',))
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "BASES",
    "MODIFIERS",
    "FULL_FINETUNING",
    "compose_setting",
    "parse_setting",
    "llm_setting",
]

#: Full fine-tuning on English data, evaluated zero-shot on every language.
FULL_FINETUNING = "zero-shot"

#: Bases (the first part of a setting).  ``llm-<k>shot`` is a pattern, for any k >= 0.
BASES = ("zero-shot", "translate-train", "translate-train-all", "translate-test", "llm-<k>shot")

#: Modifiers, in the order they are written.
MODIFIERS = ("lora", "lora-shared", "multilingual-intermediate", "mlm")

_LLM = re.compile(r"^llm-(\d+)shot$")


def _check_base(base: str) -> str:
    if not isinstance(base, str) or not (base in BASES[:-1] or _LLM.match(base)):
        raise ValueError(
            f"setting base {base!r} is not known: expected one of {', '.join(BASES[:-1])} "
            "or llm-<k>shot (e.g. llm-0shot, llm-5shot)"
        )
    return base


def compose_setting(base: str = FULL_FINETUNING, modifiers: Iterable[str] = ()) -> str:
    """Join a base and modifiers into one ``setting`` value, modifiers in canonical order.

    Parameters
    ----------
    base : str
        One of :data:`BASES` (``llm-<k>shot`` for any k).
    modifiers : iterable of str
        Any of :data:`MODIFIERS`, each at most once; ``lora`` and
        ``lora-shared`` exclude each other.

    Returns
    -------
    str

    Examples
    --------
    >>> compose_setting("zero-shot")
    'zero-shot'
    >>> compose_setting("zero-shot", ["multilingual-intermediate", "lora-shared"])
    'zero-shot+lora-shared+multilingual-intermediate'
    """
    base = _check_base(base)
    mods = list(modifiers)
    for m in mods:
        if m not in MODIFIERS:
            raise ValueError(f"setting modifier {m!r} is not known: expected one of {', '.join(MODIFIERS)}")
    if len(set(mods)) != len(mods):
        raise ValueError(f"setting modifiers {mods!r} repeat a modifier: give each at most once")
    if "lora" in mods and "lora-shared" in mods:
        raise ValueError("setting modifiers 'lora' and 'lora-shared' exclude each other: give one")
    ordered = [m for m in MODIFIERS if m in mods]
    return "+".join([base, *ordered])


def parse_setting(setting: str) -> tuple[str, tuple[str, ...]]:
    """Split a ``setting`` value into its base and modifiers (checked).

    Examples
    --------
    >>> parse_setting("zero-shot+lora-shared")
    ('zero-shot', ('lora-shared',))
    """
    if not isinstance(setting, str) or not setting:
        raise ValueError(f"setting={setting!r} is not accepted: expected a string such as 'zero-shot+lora'")
    base, *mods = setting.split("+")
    composed = compose_setting(base, mods)
    if composed != setting:
        raise ValueError(f"setting={setting!r} is not in canonical order: write {composed!r}")
    return base, tuple(mods)


def llm_setting(shots: int, modifiers: Iterable[str] = ()) -> str:
    """The setting of a decoder-LLM evaluation with ``shots`` English demonstrations.

    Examples
    --------
    >>> llm_setting(0), llm_setting(5, ["lora"])
    ('llm-0shot', 'llm-5shot+lora')
    """
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 0:
        raise ValueError(f"shots={shots!r} is not accepted: expected a non-negative int")
    return compose_setting(f"llm-{shots}shot", modifiers)
