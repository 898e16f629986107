"""TaskBatchSampler: one task per batch, every example once per epoch, length grouping, determinism."""

import numpy as np
import pytest

from xdist.train.sampling import TaskBatchSampler, task_shares


def _lengths(seed=0):
    rng = np.random.default_rng(seed)
    return {"MNLI": rng.integers(5, 120, 1000), "SQuAD-v1.1": rng.integers(100, 384, 300)}


def test_proportional_covers_each_example_once_and_batches_are_single_task():
    s = TaskBatchSampler(_lengths(), 32, seed=1)
    batches = list(s)
    assert len(batches) == len(s) == 32 + 10
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1300))
    for b in batches:
        assert (max(b) < 1000) or (min(b) >= 1000)


def test_length_grouping_reduces_padding():
    lengths = _lengths()
    allx = np.concatenate(list(lengths.values()))

    def padding(sampler):
        return sum(len(b) * allx[b].max() - allx[b].sum() for b in sampler)

    grouped = TaskBatchSampler(lengths, 32, seed=1)
    plain = TaskBatchSampler(lengths, 32, seed=1, group_by_length=False)
    assert padding(grouped) < 0.5 * padding(plain)


def test_deterministic_per_seed_and_epoch():
    a, b = TaskBatchSampler(_lengths(), 16, seed=3), TaskBatchSampler(_lengths(), 16, seed=3)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)


def test_temperature_shares_and_upsampling():
    sizes = {"big": 900, "small": 100}
    assert task_shares(sizes, "temperature", 1.0) == {"big": 0.9, "small": 0.1}
    assert task_shares(sizes, "uniform") == {"big": 0.5, "small": 0.5}
    s = TaskBatchSampler({"big": [10] * 900, "small": [10] * 100}, 10, sampling="temperature", temperature=1e9)
    counts = {"big": 0, "small": 0}
    for batch in s:
        counts["big" if batch[0] < 900 else "small"] += 1
    assert counts == {"big": 50, "small": 50}  # small cycles through its data five times


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lengths": {}}, "lengths is empty"),
        ({"batch_size": 0}, "batch_size=0 is not valid"),
        ({"sampling": "random"}, "sampling='random' is not valid"),
        ({"lengths": {"a": []}}, "task 'a' has no training examples"),
    ],
)
def test_errors(kwargs, message):
    args = {"lengths": {"a": [1, 2]}, "batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        TaskBatchSampler(args.pop("lengths"), args.pop("batch_size"), **args)
