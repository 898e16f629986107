"""The batched multi-language evaluation gives exactly the scores of a per-language loop."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from xdist.train.evaluate import evaluate_languages  # noqa: E402
from xdist.train.model import TransferModel, load_encoder  # noqa: E402
from xdist.train.readers import load_examples  # noqa: E402
from xdist.train.smoke import smoke_config  # noqa: E402
from xdist.train.tasks import get_task  # noqa: E402


@pytest.mark.parametrize("target, languages", [
    ("XNLI", ["en", "de", "sw", "zh"]),
    ("PAN-X", ["en", "ar", "ja"]),
    ("XQuAD", ["en", "el", "th"]),
])
def test_batched_passes_equal_per_language_loop(tmp_path, target, languages):
    cfg = smoke_config(tmp_path, target=target, intermediate=(), languages=languages, n_train=16, n_eval=24)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(cfg.model, local_files_only=True)
    task = get_task(target)
    torch.manual_seed(0)
    model = TransferModel(load_encoder(cfg.model), {task.name: task.format}, {task.name: task.n_labels})
    examples = {lang: load_examples(task, task.eval_split, lang, data_dir=cfg.data_dir, layout="jsonl",
                                    require_labels=True) for lang in languages}
    kw = {"max_length": 64, "doc_stride": 32, "max_query_length": 16}
    seen = []
    loop = evaluate_languages(model, task, examples, tok, encode_kwargs=kw, batch_size=7, batched=False)
    one_pass = evaluate_languages(model, task, examples, tok, encode_kwargs=kw, batch_size=7,
                                  on_language=lambda lang, s: seen.append(lang))
    # several passes, languages split between them: the example offsets must line up
    passes = evaluate_languages(model, task, examples, tok, encode_kwargs=kw, batch_size=5,
                                max_examples_per_pass=30)
    assert set(loop) == set(languages) and sorted(seen) == sorted(languages)
    for lang in languages:
        assert one_pass[lang] == pytest.approx(loop[lang], abs=1e-9), lang
        assert passes[lang] == pytest.approx(loop[lang], abs=1e-9), lang
