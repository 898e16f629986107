"""Results store: per-language scores of training runs that survive crashes.

A store is a directory that training runs write their scores into while they
run, and that the analysis reads as a results table
(:func:`read_store`, ``xdist correlate --results STORE``).  It guarantees:

- **Nothing lost, nothing half-written.**  Every recorded unit (one
  language in one phase: one or more metrics) is one JSON line, appended
  with a single ``write`` under an exclusive ``flock`` and ``fsync``-ed
  before :meth:`Run.record` returns; every line carries a checksum, and a
  line torn by a crash is ignored by the reader (with a
  :class:`StoreWarning`) and listed by :meth:`ResultsStore.check`.
- **Resume.**  A run's id is a hash of its identity (config, seed, model,
  tasks, ...), so starting the same run again reopens it, and
  :meth:`Run.completed` tells which ``(phase, language)`` units are already
  recorded, so the pipeline skips them.
- **No duplicates.**  Recording a key again with the same score writes
  nothing; a *different* score raises at once (:meth:`Run.record` checks the
  file) unless it says ``replace=True``.  If two writers racing on one run
  still write different scores for a key, reading raises
  :class:`StoreConflictError` instead of picking one.
- **Concurrent writers are safe.**  Appends and run-record updates take
  ``fcntl.flock`` locks, so several processes (different runs, or the same
  run started twice) can write one store at once; readers take a shared lock.

Layout (see ``docs/store.md``)::

    STORE/
      store.json                   marker: {"format": "xdist-results-store", "version": 1}
      .lock                        lock file for run records
      runs/<run_id>.json           run record: identity, config, status, attempts
                                   (versions, git revision, host, times)
      scores/<run_id>.jsonl        one checksummed JSON line per recorded unit of scores

This module never imports torch; versions are looked up with
:mod:`importlib.metadata`.  Unix only (``fcntl``), on a local file system
(``flock`` is not reliable on every network file system).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import math
import os
import platform
import re
import socket
import subprocess
import uuid
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Iterator, Mapping

import pandas as pd

from xdist.languages import UnknownLanguageError, resolve

__all__ = [
    "STORE_FORMAT",
    "STORE_VERSION",
    "RUN_STATUSES",
    "StoreError",
    "StoreConflictError",
    "StoreWarning",
    "ResultsStore",
    "Run",
    "read_store",
    "is_store",
    "versions",
]

STORE_FORMAT = "xdist-results-store"
STORE_VERSION = 1
#: Accepted run statuses; ``running`` is set by :meth:`ResultsStore.start_run`.
RUN_STATUSES = ("running", "finished", "failed", "stopped")
_FINAL_STATUSES = ("finished", "failed", "stopped")
_MARKER = "store.json"
#: Packages whose versions a run record lists (looked up, never imported).
_VERSIONED = (
    "xdist-transfer", "numpy", "pandas", "torch", "transformers", "datasets",
    "tokenizers", "accelerate", "sentencepiece",
)
_SLUG_RE = re.compile(r"[^A-Za-z0-9]+")


class StoreError(ValueError):
    """A results store that cannot be opened or read, or a bad argument."""


class StoreConflictError(StoreError):
    """Two writers recorded different scores for the same key."""


class StoreWarning(UserWarning):
    """A damaged line (a write torn by a crash) was ignored while reading."""


# -- small helpers -------------------------------------------------------------


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def _checksum(obj: Mapping) -> str:
    return hashlib.sha256(_canonical(obj).encode("utf-8")).hexdigest()[:16]


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write_json(path: Path, obj: Any) -> None:
    """Write JSON to ``path`` atomically: temp file, fsync, os.replace, fsync dir."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    data = (json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


@contextlib.contextmanager
def _flocked(path: Path, mode: int) -> Iterator[int]:
    """Open ``path`` and hold an flock on it: exclusive (created if missing,
    opened for appending) or shared (read-only)."""
    if mode == fcntl.LOCK_SH:
        fd = os.open(path, os.O_RDONLY)
    else:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def _text(param: str, value: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise StoreError(f"{param}={value!r} is not valid: expected a string")
    value = value.strip()
    if not value and not allow_empty:
        raise StoreError(f"{param}={value!r} is not valid: expected a non-empty string")
    if "\n" in value or "\r" in value:
        raise StoreError(f"{param}={value!r} is not valid: expected a single line of text")
    return value


def _language(param: str, value: Any) -> str:
    try:
        return resolve(value, param=param)
    except UnknownLanguageError as exc:
        raise StoreError(str(exc)) from None


def _score(param: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise StoreError(f"{param}={value!r} is not valid: expected a number in percent (0-100)")
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= 100.0:
        raise StoreError(
            f"{param}={value!r} is not valid: expected a score in percent, 0 <= score <= 100 "
            "(multiply fractions by 100)"
        )
    return value


def _flag(value: Any) -> str:
    from xdist.results import FLAGS

    value = _text("flag", value, allow_empty=True)
    if value not in FLAGS:
        raise StoreError(
            f"flag={value!r} is not valid: expected '' or one of {[f for f in FLAGS if f]}"
        )
    return value


def versions() -> dict[str, str | None]:
    """Python and package versions, looked up without importing the packages.

    Examples
    --------
    >>> from xdist.store import versions
    >>> sorted(versions())[:3]
    ['accelerate', 'datasets', 'numpy']
    """
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    if out.get("xdist-transfer") is None:
        from xdist import __version__

        out["xdist-transfer"] = __version__
    return out


def _git_revision() -> dict[str, Any]:
    """Commit and dirtiness of the git checkout holding this package, if any."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=10)
        if rev.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=10)
        return {"commit": rev.stdout.strip(),
                "dirty": bool(dirty.stdout.strip()) if dirty.returncode == 0 else None}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def _read_from(path: Path, pos: int) -> bytes:
    """The bytes of ``path`` from ``pos`` on, read under a shared lock, so
    never half of a write in progress."""
    try:
        with _flocked(path, fcntl.LOCK_SH) as fd:
            size = os.fstat(fd).st_size
            chunks = []
            while pos < size:
                chunk = os.pread(fd, size - pos, pos)
                if not chunk:
                    break
                chunks.append(chunk)
                pos += len(chunk)
            return b"".join(chunks)
    except FileNotFoundError:
        return b""


def _parse(path: Path, data: bytes, first_line: int, *, final: bool):
    """Parse score lines.

    Returns valid entries (one per metric), damaged lines, and the number of
    bytes of ``data`` that are whole lines (ending in a newline).  A final
    fragment without a newline is parsed too (a complete, checksummed line is
    data even without its newline); it is reported as torn only if ``final``.
    """
    entries: list[dict] = []
    problems: list[dict] = []
    complete = data.rfind(b"\n") + 1
    lines = data.split(b"\n")
    for n, raw in enumerate(lines):
        if not raw.strip():
            continue
        i = first_line + n
        last = n == len(lines) - 1  # the fragment after the last newline
        try:
            entry = json.loads(raw.decode("utf-8"))
            ok = (isinstance(entry, dict) and entry.pop("sha", None) == _checksum(entry)
                  and isinstance(entry.get("scores"), dict))
        except ValueError:
            ok = False
        if not ok:
            if last and not final:
                continue
            problems.append({
                "file": str(path), "line": i,
                "problem": "torn final line (write interrupted)" if last
                else "damaged line (torn by an interrupted write, or corrupted)",
                "text": raw[:80].decode("utf-8", "replace"),
            })
            continue
        for metric, score in entry.pop("scores").items():
            entries.append({**entry, "metric": metric, "score": score,
                            "_origin": f"{path}:{i}"})
    return entries, problems, complete


# -- the store -----------------------------------------------------------------


def is_store(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a results store directory (has ``store.json``).

    Examples
    --------
    >>> from xdist.store import is_store
    >>> is_store("no/such/dir")
    False
    """
    p = Path(path)
    return p.is_dir() and (p / _MARKER).is_file()


class ResultsStore:
    """A results store directory.

    Parameters
    ----------
    path : str or path-like
        The store directory.
    create : bool
        Create the store if ``path`` does not exist or is an empty directory.
        Without it, a missing store is an error.

    Raises
    ------
    StoreError
        If ``path`` is a file, is missing (and ``create`` is false), or is a
        non-empty directory that is not a store.

    Examples
    --------
    >>> import tempfile
    >>> from xdist.store import ResultsStore
    >>> store = ResultsStore(tempfile.mkdtemp() + "/store", create=True)
    >>> run = store.start_run({"lr": 2e-5}, seed=1, model="XLM-R", setting="zero-shot",
    ...                       intermediate_task="", target_task="XNLI", source="unit test")
    >>> for lang, acc in [("en", 85.0), ("de", 78.5)]:
    ...     if not run.done("eval", lang):
    ...         run.record(lang, "accuracy", acc, split="test", phase="eval")
    >>> run.finish("finished")
    >>> store.read()[["language", "metric", "score", "seed"]]
      language    metric  score  seed
    0       en  accuracy   85.0     1
    1       de  accuracy   78.5     1
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = False):
        self.path = Path(path)
        p = self.path
        if p.exists() and not p.is_dir():
            raise StoreError(
                f"store={str(p)!r} is a file, not a results store directory; pass a store "
                "directory, or read a CSV/Parquet results table with xdist.results.read_results"
            )
        if not (p / _MARKER).is_file():
            if not create:
                what = ("does not exist" if not p.exists()
                        else "is not a results store (no store.json)")
                raise StoreError(
                    f"store={str(p)!r} {what}; pass an existing store directory, or "
                    "ResultsStore(path, create=True) to make one"
                )
            if p.exists() and any(p.iterdir()):
                raise StoreError(
                    f"store={str(p)!r} is a non-empty directory without store.json; refusing to "
                    "create a store there: pass a new or empty directory"
                )
            p.mkdir(parents=True, exist_ok=True)
            with _flocked(p / ".lock", fcntl.LOCK_EX):
                if not (p / _MARKER).is_file():
                    (p / "runs").mkdir(exist_ok=True)
                    (p / "scores").mkdir(exist_ok=True)
                    _atomic_write_json(p / _MARKER, {"format": STORE_FORMAT,
                                                     "version": STORE_VERSION,
                                                     "created": _now()})
        try:
            marker = json.loads((p / _MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"store={str(p)!r}: cannot read store.json: {exc}") from None
        if marker.get("format") != STORE_FORMAT or marker.get("version") != STORE_VERSION:
            raise StoreError(
                f"store={str(p)!r}: store.json says format={marker.get('format')!r} "
                f"version={marker.get('version')!r}; this xdist reads {STORE_FORMAT!r} "
                f"version {STORE_VERSION}"
            )
        (p / "runs").mkdir(exist_ok=True)
        (p / "scores").mkdir(exist_ok=True)

    def __repr__(self) -> str:
        return f"ResultsStore({str(self.path)!r})"

    # -- runs --------------------------------------------------------------------

    def start_run(
        self,
        config: Mapping[str, Any],
        seed: int,
        *,
        model: str,
        setting: str,
        intermediate_task: str,
        target_task: str,
        source: str,
        source_language: str = "en",
        run: str = "",
    ) -> "Run":
        """Start a run, or resume it if the same run was started before.

        Parameters
        ----------
        config : mapping
            The run's full configuration (JSON-serialisable); part of its
            identity, stored in the run record.
        seed : int
            The run's seed.
        model, setting, intermediate_task, target_task, source_language, run
            The results-table columns of the run (``intermediate_task`` and
            ``run`` may be empty).
        source : str
            Provenance written to the ``source`` column (e.g. the run
            directory or script); the run id is appended when read.

        Returns
        -------
        Run
            A handle to record scores; :meth:`Run.completed` lists what an
            earlier attempt already recorded.

        Raises
        ------
        StoreError
            For invalid arguments (one-line message naming the parameter).
        """
        if not isinstance(config, Mapping):
            raise StoreError(f"config={config!r} is not valid: expected a dict")
        try:
            config = json.loads(_canonical(dict(config)))
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"config is not valid: expected JSON-serialisable values (str, int, float, "
                f"bool, None, lists, dicts) without NaN: {exc}"
            ) from None
        if isinstance(seed, bool) or not isinstance(seed, Integral):
            raise StoreError(f"seed={seed!r} is not valid: expected an integer")
        identity = {
            "model": _text("model", model),
            "setting": _text("setting", setting),
            "intermediate_task": _text("intermediate_task", intermediate_task, allow_empty=True),
            "target_task": _text("target_task", target_task),
            "source_language": _language("source_language", source_language),
            "seed": int(seed),
            "run": _text("run", run, allow_empty=True),
        }
        source = _text("source", source)
        digest = _checksum({"identity": identity, "config": config})[:12]
        slug = _SLUG_RE.sub("-", f"{identity['model']}-{identity['target_task']}"
                                  f"-s{identity['seed']}").strip("-").lower()[:48]
        run_id = f"{slug}-{digest}"
        attempt = {
            "writer": uuid.uuid4().hex,
            "started": _now(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "versions": versions(),
            "git": _git_revision(),
        }
        rec_path = self.path / "runs" / f"{run_id}.json"
        with self._lock():
            if rec_path.is_file():
                record = self._read_record(rec_path)
                if record["identity"] != identity or record["config"] != config:
                    raise StoreError(  # pragma: no cover - a 48-bit hash collision
                        f"run id {run_id!r} already holds a different run; use a distinct run label"
                    )
                record["attempts"].append(attempt)
            else:
                record = {"run_id": run_id, "identity": identity, "config": config,
                          "source": source, "created": attempt["started"], "attempts": [attempt]}
            record["status"] = "running"
            record["updated"] = attempt["started"]
            _atomic_write_json(rec_path, record)
        return Run(store=self, run_id=run_id, identity=identity, source=source,
                   writer=attempt["writer"], resumed=len(record["attempts"]) > 1)

    def runs(self) -> pd.DataFrame:
        """One row per run: run id, status, attempts, identity columns and times.

        Examples
        --------
        >>> import tempfile
        >>> from xdist.store import ResultsStore
        >>> ResultsStore(tempfile.mkdtemp(), create=True).runs().columns.tolist()[:3]
        ['run_id', 'status', 'attempts']
        """
        rows = []
        for f in sorted((self.path / "runs").glob("*.json")):
            rec = self._read_record(f)
            rows.append({"run_id": rec["run_id"], "status": rec["status"],
                         "attempts": len(rec["attempts"]), **rec["identity"],
                         "source": rec["source"], "created": rec["created"],
                         "updated": rec["updated"]})
        cols = ["run_id", "status", "attempts", "model", "setting", "intermediate_task",
                "target_task", "source_language", "seed", "run", "source", "created", "updated"]
        return pd.DataFrame(rows, columns=cols)

    def run_record(self, run_id: str) -> dict:
        """The full run record (config, versions, git revision, attempts) of ``run_id``."""
        path = self.path / "runs" / f"{run_id}.json"
        if not path.is_file():
            known = sorted(f.stem for f in (self.path / "runs").glob("*.json"))
            raise KeyError(f"run_id={run_id!r} is not in store {str(self.path)!r}: "
                           f"known runs are {known[:20]}")
        return self._read_record(path)

    def _set_status(self, run_id: str, status: str, writer: str) -> None:
        path = self.path / "runs" / f"{run_id}.json"
        with self._lock():
            record = self._read_record(path)
            record["status"] = status
            record["updated"] = _now()
            for att in record["attempts"]:
                if att["writer"] == writer:
                    att["ended"] = record["updated"]
                    att["status"] = status
            _atomic_write_json(path, record)

    def _lock(self):
        return _flocked(self.path / ".lock", fcntl.LOCK_EX)

    def _read_record(self, path: Path) -> dict:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: cannot read run record: {exc}") from None

    # -- scores ------------------------------------------------------------------

    def _append(self, run_id: str, entry: dict) -> None:
        """Append one checksummed line to the run's score file, durably."""
        entry = dict(entry)
        entry["sha"] = _checksum(entry)
        line = (_canonical(entry) + "\n").encode("utf-8")
        if len(line) > 1_000_000:
            raise StoreError(f"scores entry of run {run_id!r} is {len(line)} bytes; "
                             "expected under 1 MB (shorten the note)")
        path = self.path / "scores" / f"{run_id}.jsonl"
        new = not path.exists()
        with _flocked(path, fcntl.LOCK_EX) as fd:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                # A previous writer died mid-line: end the torn line so it
                # stays a separate (ignored, reported) line.
                _write_all(fd, b"\n")
            _write_all(fd, line)
            os.fsync(fd)
        if new:
            _fsync_dir(path.parent)

    def _scan(self, run_ids=None) -> tuple[list[dict], list[dict]]:
        """All valid entries (in file order) and all damaged lines."""
        entries: list[dict] = []
        problems: list[dict] = []
        files = sorted((self.path / "scores").glob("*.jsonl"))
        if run_ids is not None:
            files = [f for f in files if f.stem in set(run_ids)]
        for f in files:
            e, p, _ = _parse(f, _read_from(f, 0), 1, final=True)
            entries += e
            problems += p
        return entries, problems

    def check(self) -> pd.DataFrame:
        """Damaged lines in the store (torn writes), one row each.

        Returns
        -------
        pandas.DataFrame
            Columns ``file``, ``line``, ``problem``, ``text``; empty when the
            store is intact.

        Examples
        --------
        >>> import tempfile
        >>> from xdist.store import ResultsStore
        >>> ResultsStore(tempfile.mkdtemp(), create=True).check().empty
        True
        """
        _, problems = self._scan()
        return pd.DataFrame(problems, columns=["file", "line", "problem", "text"])

    def records(self, *, warn: bool = True) -> pd.DataFrame:
        """Every score with its provenance, one row per stored key (latest write).

        The stored key is (run id, phase, split, language, metric); unlike
        :meth:`read`, the same results-table key may appear in several rows
        (several splits, phases or runs).

        Parameters
        ----------
        warn : bool
            Warn (:class:`StoreWarning`) about damaged lines that were ignored.

        Returns
        -------
        pandas.DataFrame
            The results-table columns plus ``run_id``, ``phase``, ``writer``,
            ``recorded`` (UTC time) and ``origin`` (``file:line``).

        Raises
        ------
        StoreConflictError
            If two writers recorded different scores for one stored key and
            the later one did not say ``replace=True``.
        """
        entries, problems = self._scan()
        if problems and warn:
            shown = "; ".join(f"{p['file']}:{p['line']}" for p in problems[:5])
            warnings.warn(
                f"results store {str(self.path)!r}: ignored {len(problems)} damaged line(s) "
                f"left by interrupted writes ({shown}); ResultsStore.check() lists them",
                StoreWarning, stacklevel=3,
            )
        latest: dict[tuple, dict] = {}
        for e in entries:
            k = (e["run_id"], e["phase"], e["split"], e["language"], e["metric"])
            old = latest.get(k)
            if (old is not None and old["writer"] != e["writer"] and old["score"] != e["score"]
                    and not e.get("replace", False)):
                raise StoreConflictError(
                    f"results store {str(self.path)!r}: run {e['run_id']!r} has two different "
                    f"scores for phase={e['phase']!r} split={e['split']!r} "
                    f"language={e['language']!r} metric={e['metric']!r}: {old['score']!r} "
                    f"({old['_origin']}) and {e['score']!r} ({e['_origin']}) from different "
                    "writers; record the correct one again with replace=True"
                )
            latest[k] = e
        from xdist.results import RESULT_COLUMNS

        extra = ["run_id", "phase", "writer", "recorded", "origin"]
        rows = []
        for e in latest.values():
            row = {c: e.get(c, "") for c in RESULT_COLUMNS}
            row["source"] = f"{e['source']} [xdist store run {e['run_id']}]"
            row["origin"] = e["_origin"]
            row.update({c: e[c] for c in ("run_id", "phase", "writer", "recorded")})
            rows.append(row)
        df = pd.DataFrame(rows, columns=RESULT_COLUMNS + extra)
        df["score"] = df["score"].astype(float)
        df["seed"] = df["seed"].astype("Int64")
        return df.reset_index(drop=True)

    def read(self, *, split: str | None = None, phase: str | None = None,
             status: str | None = None) -> pd.DataFrame:
        """The store as a results table (see :mod:`xdist.results`).

        Parameters
        ----------
        split, phase : str, optional
            Keep only scores of this evaluation split / pipeline phase.
        status : str, optional
            Keep only runs with this status (``"finished"`` drops runs that
            are still running, failed or were killed).

        Returns
        -------
        pandas.DataFrame
            Columns :data:`xdist.results.RESULT_COLUMNS` plus ``origin``
            (``scores/<run_id>.jsonl:line``), one row per key; runs in run-id
            order, each run's scores in write order;
            ``score`` float (percent), ``seed`` Int64.  The ``source`` column
            ends with ``[xdist store run <run_id>]``.

        Raises
        ------
        StoreConflictError
            See :meth:`records`.

        Warns
        -----
        StoreWarning
            When damaged lines (torn by a crash) were ignored.
        """
        from xdist.results import RESULT_COLUMNS

        df = self.records()
        if status is not None:
            if status not in RUN_STATUSES:
                raise StoreError(f"status={status!r} is not valid: expected one of "
                                 f"{list(RUN_STATUSES)}")
            keep = set(self.runs().query("status == @status")["run_id"])
            df = df[df["run_id"].isin(keep)]
        if split is not None:
            df = df[df["split"] == split]
        if phase is not None:
            df = df[df["phase"] == phase]
        _check_unique(df, self.path)
        return df[RESULT_COLUMNS + ["origin"]].reset_index(drop=True)


def _check_unique(df: pd.DataFrame, path: Path) -> None:
    """One row per results-table key, or a StoreConflictError naming the rows."""
    from xdist.results import KEY_COLUMNS

    if not len(df):
        return
    dup = df.duplicated(KEY_COLUMNS, keep=False)
    if not dup.any():
        return
    first = df.loc[dup].iloc[0]
    same = df.loc[dup & (df[KEY_COLUMNS] == first[KEY_COLUMNS]).all(axis=1)]
    where = ", ".join(
        f"run {r} phase={p!r} split={s!r} ({o})"
        for r, p, s, o in zip(same.run_id, same.phase, same.split, same.origin)
    )
    key = ", ".join(f"{c}={int(first[c]) if c == 'seed' else first[c]!r}" for c in KEY_COLUMNS)
    raise StoreConflictError(
        f"results store {str(path)!r}: the results key ({key}) is recorded more than once: "
        f"{where}; read one split/phase with read(split=..., phase=...), or give different "
        "runs distinct run= labels"
    )


def read_store(path: str | os.PathLike, *, split: str | None = None,
               phase: str | None = None, status: str | None = None) -> pd.DataFrame:
    """Read a results store directory as a results table.

    Same as ``ResultsStore(path).read(...)``; see :meth:`ResultsStore.read`.
    The result passes :func:`xdist.results.validate_results`.

    Examples
    --------
    >>> import tempfile
    >>> from xdist.store import ResultsStore, read_store
    >>> path = tempfile.mkdtemp() + "/s"
    >>> run = ResultsStore(path, create=True).start_run(
    ...     {}, 0, model="m", setting="zero-shot", intermediate_task="", target_task="XNLI",
    ...     source="doctest")
    >>> run.record_scores("de", {"accuracy": 70.0}, split="test", phase="eval")
    >>> read_store(path)[["language", "score"]].values.tolist()
    [['de', 70.0]]
    """
    return ResultsStore(path).read(split=split, phase=phase, status=status)


@dataclass
class Run:
    """Handle of one run in a store; made by :meth:`ResultsStore.start_run`.

    Attributes
    ----------
    run_id : str
        ``<slug>-<hash>``; the same config, seed and columns give the same id.
    resumed : bool
        Whether an earlier attempt of this run exists.
    """

    store: ResultsStore
    run_id: str
    identity: dict
    source: str
    writer: str
    resumed: bool = False
    _cache: list = field(default_factory=list, repr=False)
    _pos: int = field(default=0, repr=False)
    _line: int = field(default=1, repr=False)

    def _entries(self) -> list[dict]:
        """Valid entries of this run's score file, read incrementally."""
        path = self.store.path / "scores" / f"{self.run_id}.jsonl"
        data = _read_from(path, self._pos)
        complete = data.rfind(b"\n") + 1
        self._cache += _parse(path, data[:complete], self._line, final=True)[0]
        self._pos += complete
        self._line += data.count(b"\n", 0, complete)
        # A final line without its newline counts if it is complete (checksum).
        return self._cache + _parse(path, data[complete:], self._line, final=False)[0]

    def completed(self) -> set[tuple[str, str]]:
        """``(phase, language)`` units already recorded by any attempt of this run.

        Reads the run's score file, so it also sees a concurrent attempt.
        """
        return {(e["phase"], e["language"]) for e in self._entries()}

    def done(self, phase: str, language: str) -> bool:
        """Whether ``(phase, language)`` is already recorded (skip it on resume)."""
        return (_text("phase", phase), _language("language", language)) in self.completed()

    def scores(self) -> pd.DataFrame:
        """This run's scores as a results table (with ``phase``)."""
        df = self.store.records()
        return df[df["run_id"] == self.run_id].reset_index(drop=True)

    def record(self, language: str, metric: str, score: float, *, split: str = "test",
               phase: str = "eval", note: str = "", flag: str = "",
               replace: bool = False) -> None:
        """Record one score (percent); durable when this returns.

        To record several metrics of one evaluation (``em`` and ``f1``) so
        that they are done together, use :meth:`record_scores`.
        """
        self.record_scores(language, {metric: score}, split=split, phase=phase, note=note,
                           flag=flag, replace=replace)

    def record_scores(self, language: str, scores: Mapping[str, float], *,
                      split: str = "test", phase: str = "eval", note: str = "",
                      flag: str = "", replace: bool = False) -> None:
        """Record the scores of one ``(phase, language)`` unit in one atomic write.

        Parameters
        ----------
        language : str
            Evaluated language (any code :func:`xdist.languages.resolve` knows).
        scores : mapping of str to float
            Metric name -> score in percent (0-100).
        split : str
            Evaluation split (``"test"``, ``"dev"``).
        phase : str
            Pipeline phase, the unit :meth:`done` and :meth:`completed` track.
        note, flag : str
            Results-table ``note`` and ``flag``.
        replace : bool
            Deliberately replace a score recorded earlier (the reader keeps the
            latest); without it, a different score for a recorded key raises.

        Raises
        ------
        StoreError
            For invalid arguments, or a different score for a key this run
            already recorded (unless ``replace=True``).
        """
        language = _language("language", language)
        split = _text("split", split)
        phase = _text("phase", phase)
        note = _text("note", note, allow_empty=True)
        flag = _flag(flag)
        if not isinstance(scores, Mapping) or not scores:
            raise StoreError(f"scores={scores!r} is not valid: expected a non-empty dict "
                             "of metric -> score (percent)")
        clean = {_text("metric", m): _score(f"score[{m!r}]", s) for m, s in scores.items()}
        recorded = {(e["phase"], e["split"], e["language"], e["metric"]): e["score"]
                    for e in self._entries()}
        todo = {}
        for m, s in clean.items():
            old = recorded.get((phase, split, language, m))
            if old is None or replace:
                todo[m] = s
            elif old != s:
                raise StoreError(
                    f"score[{m!r}]={s!r} for language={language!r} split={split!r} "
                    f"phase={phase!r} differs from the recorded {old!r} in run "
                    f"{self.run_id!r}; pass replace=True to replace it"
                )
        if not todo:
            return
        # All metrics of the unit in one line: a unit is recorded all or nothing.
        entry = {**self.identity, "run_id": self.run_id, "source": self.source,
                 "writer": self.writer, "recorded": _now(), "phase": phase, "split": split,
                 "language": language, "scores": todo, "note": note, "flag": flag}
        if replace:
            entry["replace"] = True
        self.store._append(self.run_id, entry)

    def finish(self, status: str = "finished") -> None:
        """Mark the run ``finished``, ``failed`` or ``stopped`` in its record."""
        if status not in _FINAL_STATUSES:
            raise StoreError(f"status={status!r} is not valid: expected one of "
                             f"{list(_FINAL_STATUSES)}")
        self.store._set_status(self.run_id, status, self.writer)
