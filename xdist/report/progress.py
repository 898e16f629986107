"""A tiny progress printer for long report builds.

Shows ``[2/5] correlate ...`` lines on standard error only when that is a
terminal and the ``CI`` environment variable is not set; silent otherwise
(pipes, log files, CI, tests).  No dependency on tqdm.
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["Progress", "progress_enabled"]


def progress_enabled(stream=None) -> bool:
    """True when ``stream`` (default stderr) is a TTY and ``CI`` is not set.

    Examples
    --------
    >>> import io
    >>> from xdist.report.progress import progress_enabled
    >>> progress_enabled(io.StringIO())
    False
    """
    stream = sys.stderr if stream is None else stream
    if os.environ.get("CI"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # closed stream
        return False


class Progress:
    """Step counter printed to a terminal.

    Parameters
    ----------
    steps : list of str
        Names of the steps, in order.
    stream : file, optional
        Where to print (default ``sys.stderr``).
    enabled : bool, optional
        Force on or off; default :func:`progress_enabled`.

    Examples
    --------
    >>> import io
    >>> from xdist.report.progress import Progress
    >>> buf = io.StringIO()
    >>> p = Progress(["load", "write"], stream=buf)   # not a TTY: quiet
    >>> p.step("load"); p.done()
    >>> buf.getvalue()
    ''
    """

    def __init__(self, steps, *, stream=None, enabled: bool | None = None):
        self.steps = list(steps)
        self.stream = sys.stderr if stream is None else stream
        self.enabled = progress_enabled(self.stream) if enabled is None else bool(enabled)
        self._t0 = time.monotonic()
        self._width = 0

    def _emit(self, text: str, end: str = "") -> None:
        if not self.enabled:
            return
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad + end)
        self.stream.flush()
        self._width = len(text)

    def step(self, name: str, detail: str = "") -> None:
        """Announce the start of step ``name`` (one of ``steps``)."""
        i = self.steps.index(name) + 1 if name in self.steps else 0
        n = len(self.steps)
        filled = int(20 * (i - 1) / n) if i else 0
        bar = "#" * filled + "." * (20 - filled)
        elapsed = time.monotonic() - self._t0
        extra = f" {detail}" if detail else ""
        self._emit(f"xdist report [{bar}] {i}/{n} {name}{extra} ({elapsed:.0f}s)")

    def done(self) -> None:
        """Finish the line."""
        elapsed = time.monotonic() - self._t0
        self._emit(f"xdist report [{'#' * 20}] done ({elapsed:.0f}s)", end="\n")
