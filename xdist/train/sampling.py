"""Batches for training: one task per batch, lengths grouped, tasks mixed by size or temperature.

:class:`TaskBatchSampler` yields lists of indices into a concatenation of
per-task datasets.  Within a task, examples are shuffled, cut into
*megabatches* of ``megabatch`` batches, sorted by length inside each
megabatch (longest first) and split into batches, as transformers'
``LengthGroupedSampler`` does: batches hold examples of similar length, so
dynamic padding wastes little, while the order stays random.  Across tasks
(multi-task intermediate training) the epoch's batches are mixed:

``proportional``
    every batch of every task once per epoch, in random order: a task is
    picked with probability proportional to its size (Phang et al. 2020).
``temperature``
    task *i* gets a share ``p_i = n_i**(1/T) / sum_j n_j**(1/T)`` of the
    epoch's batches (``T=1``: proportional; ``T`` large: uniform); tasks with
    more than their natural share cycle through their data again, tasks with
    less are subsampled.
``uniform``
    every task the same number of batches.

The order depends only on ``seed`` and the epoch (``set_epoch``), so a run
resumed mid-epoch sees the same batches as the one it replaces (the Trainer
skips the batches already trained).  numpy only; no torch import.

Examples
--------
>>> import numpy as np
>>> from xdist.train.sampling import TaskBatchSampler
>>> s = TaskBatchSampler({"MNLI": [5, 9, 7, 3], "SQuAD-v1.1": [30, 12]}, batch_size=2, seed=0)
>>> len(s), s.task_sizes, s.offsets
(3, {'MNLI': 4, 'SQuAD-v1.1': 2}, {'MNLI': 0, 'SQuAD-v1.1': 4})
>>> sorted(i for batch in s for i in batch)
[0, 1, 2, 3, 4, 5]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

__all__ = ["TaskBatchSampler", "task_shares"]


def task_shares(sizes: Mapping[str, int], sampling: str = "proportional", temperature: float = 1.0) -> dict[str, float]:
    """Probability of each task per batch under a sampling scheme.

    Examples
    --------
    >>> task_shares({"a": 900, "b": 100}, "temperature", 2.0)
    {'a': 0.75, 'b': 0.25}
    """
    if sampling not in ("proportional", "temperature", "uniform"):
        raise ValueError(
            f"sampling={sampling!r} is not valid: expected 'proportional', 'temperature' or 'uniform'"
        )
    n = np.array([float(v) for v in sizes.values()])
    if sampling == "uniform":
        w = np.ones_like(n)
    elif sampling == "temperature":
        if not temperature > 0:
            raise ValueError(f"temperature={temperature!r} is not valid: expected a positive number")
        w = n ** (1.0 / temperature)
    else:
        w = n
    w = w / w.sum()
    return {k: round(float(v), 12) for k, v in zip(sizes, w)}


class TaskBatchSampler:
    """Single-task, length-grouped batches over several tasks (a ``batch_sampler``).

    Parameters
    ----------
    lengths : mapping of str to sequence of int
        Task -> length (tokens) of each of its examples, in dataset order.
        Tasks are concatenated in this order: task *k*'s example *i* has
        index ``offsets[k] + i``.
    batch_size : int
    sampling : {"proportional", "temperature", "uniform"}
    temperature : float
    seed : int
    group_by_length : bool, default True
        Sort within megabatches; ``False`` gives plain shuffled batches.
    megabatch : int, default 50
        Batches per megabatch (transformers uses 50).
    drop_last : bool, default False
    """

    def __init__(self, lengths: Mapping[str, Sequence[int]], batch_size: int, *,
                 sampling: str = "proportional", temperature: float = 1.0, seed: int = 0,
                 group_by_length: bool = True, megabatch: int = 50, drop_last: bool = False):
        if not lengths:
            raise ValueError("lengths is empty: give at least one task -> example lengths")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} is not valid: expected a positive integer")
        self.lengths = {k: np.asarray(v, dtype=np.int64) for k, v in lengths.items()}
        for k, v in self.lengths.items():
            if v.size == 0:
                raise ValueError(f"task {k!r} has no training examples")
        self.batch_size = batch_size
        self.sampling = sampling
        self.temperature = temperature
        self.seed = int(seed)
        self.group_by_length = group_by_length
        self.megabatch = megabatch
        self.drop_last = drop_last
        self.epoch = 0
        self.task_sizes = {k: int(v.size) for k, v in self.lengths.items()}
        self.offsets = dict(zip(self.lengths, np.cumsum([0, *self.task_sizes.values()])[:-1].tolist()))
        self.shares = task_shares(self.task_sizes, sampling, temperature)
        natural = {k: self._n_batches(n) for k, n in self.task_sizes.items()}
        total = sum(natural.values())
        if sampling == "proportional" or len(self.lengths) == 1:
            self.batches_per_task = natural
        else:
            self.batches_per_task = {k: max(1, int(round(total * p))) for k, p in self.shares.items()}

    def _n_batches(self, n: int) -> int:
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` (called by the Trainer at each epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return sum(self.batches_per_task.values())

    def _task_batches(self, task: str, rng: np.random.Generator, n_batches: int) -> list[np.ndarray]:
        lengths = self.lengths[task]
        out: list[np.ndarray] = []
        while len(out) < n_batches:  # cycle through the data when a task is upsampled
            order = rng.permutation(lengths.size)
            if self.group_by_length:
                size = self.megabatch * self.batch_size
                order = np.concatenate([
                    chunk[np.argsort(-lengths[chunk], kind="stable")]
                    for chunk in np.array_split(order, range(size, order.size, size))
                ])
            for start in range(0, order.size, self.batch_size):
                batch = order[start:start + self.batch_size]
                if self.drop_last and batch.size < self.batch_size:
                    continue
                out.append(batch + self.offsets[task])
        return out[:n_batches]

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        batches: list[np.ndarray] = []
        for task, n in self.batches_per_task.items():
            batches.extend(self._task_batches(task, rng, n))
        for i in rng.permutation(len(batches)):
            yield batches[i].tolist()
