"""Progress on the console: one bar over a sweep's runs (or the runs a report reads), and the counts for a
sweep's last lines.

On a terminal the bar is tqdm's, on stderr, redrawn in place. When stderr is no terminal (a CI log, a file,
a pipe) a bar's redraws would each be a line, so a plain line is written instead each time another tenth
of the work is done, and one at least every ten minutes while nothing moves (at most about a dozen lines;
a CI that kills silent jobs sees one now and then).

A sweep's jobs may run in this process (Hydra's basic launcher), in joblib's workers or on other nodes
(Ray, SLURM): each job leaves an empty marker file in the sweep's folder as each of its runs ends
(:func:`mark`, ``.khusheh_progress/run-<digest>.<status>``), and the process that launched the sweep counts
them (one directory listing, twice a second) for its bar (:class:`SweepBar`).
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# one empty file per job and per run this sweep has finished, named by a digest of its folder (one name
# per folder, however deep or long): job-<digest>.<done|failed>, run-<digest>.<done|skipped|failed>
MARKERS = ".khusheh_progress"
RUN_STATUSES = ("done", "skipped", "failed")
HEARTBEAT = 600.0  # seconds: a plain line at least this often while the work goes on


def mark(sweep_dir: Path, kind: str, folder: Path | str, status: str) -> None:
    """Leave the marker of a ``kind`` ('job' or 'run') whose ``folder`` ended with ``status``."""
    markers = Path(sweep_dir) / MARKERS
    markers.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(str(folder).encode()).hexdigest()
    for old in (markers / f"{kind}-{name}.{s}" for s in ("done", "skipped", "failed")):  # (a redone run)
        old.unlink(missing_ok=True)
    (markers / f"{kind}-{name}.{status}").touch()


@dataclass
class Counts:
    done: int = 0  # runs run by this sweep
    skipped: int = 0  # runs complete already (from an earlier sweep into the same folder)
    failed: int = 0  # runs that failed
    jobs_done: int = 0
    jobs_failed: int = 0

    @property
    def runs(self) -> int:
        return self.done + self.skipped + self.failed


def counts(sweep_dir: Path) -> Counts:
    """What the markers of the sweep in ``sweep_dir`` say so far."""
    try:
        names = os.listdir(Path(sweep_dir) / MARKERS)
    except OSError:
        return Counts()
    c = Counts()
    for name in names:
        kind, _, rest = name.partition("-")
        status = rest.rpartition(".")[2]
        if kind == "run" and status in RUN_STATUSES:
            setattr(c, status, getattr(c, status) + 1)
        elif kind == "job" and status in ("done", "failed"):
            setattr(c, f"jobs_{status}", getattr(c, f"jobs_{status}") + 1)
    return c


def elapsed(seconds: float) -> str:
    """``1:02:03``, ``2:05``, ``7 s``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Bar:
    """A bar over ``total`` items (None: unknown), shown after ``delay`` seconds: tqdm's on a terminal,
    else a plain line at each tenth of the work (and at least every ten minutes). ``update(n, failed)``
    sets how many are done so far (not an increment); ``close()`` ends it (a plain line if the last one
    said less)."""

    def __init__(self, total: int | None, label: str, unit: str, delay: float = 2.0, show: bool = True,
                 stream=None):
        self.total, self.label, self.unit, self.delay, self.show = total, label, unit, delay, show
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.monotonic()
        self.n = self.failed = 0
        self.tty = is_terminal(self.stream)
        self._bar = None
        self._said = (0, self.start)  # (tenths, time) of the last plain line: the first at a tenth of the work
        self._spoke = False  # (a plain line written)
        self._closed = False
        if show and self.tty:
            from tqdm import tqdm
            from .runner import _BAR_LOCK
            tqdm.set_lock(_BAR_LOCK)  # (a thread lock only: see runner.bar)
            self._bar = tqdm(total=total, desc=label, unit=unit, delay=delay, file=self.stream, leave=True)

    def update(self, n: int, failed: int = 0) -> None:
        if not self.show or self._closed or (n, failed) == (self.n, self.failed):
            return
        grew = n > self.n
        self.n, self.failed = n, failed
        if self._bar is not None:
            if failed:
                self._bar.set_postfix_str(f"{failed} failed", refresh=False)
            self._bar.update(n - self._bar.n)  # (tqdm's own pace and delay)
            return
        now = time.monotonic()
        if now - self.start < self.delay:
            return
        tenths = 10 * n // self.total if self.total else -1
        if (grew and tenths > self._said[0]) or now - self._said[1] >= HEARTBEAT:
            self._line(now, tenths)

    def heartbeat(self) -> None:
        """A plain line if none was written for ten minutes (the work goes on)."""
        if self.show and not self.tty and not self._closed:
            now = time.monotonic()
            if now - self._said[1] >= HEARTBEAT:
                self._line(now, self._said[0])

    def _line(self, now: float, tenths: int) -> None:
        of = f" of {self.total}" if self.total else ""
        share = f" ({100 * self.n // self.total}%)" if self.total else ""
        failed = f", {self.failed} failed" if self.failed else ""
        units = self.unit + ("" if (self.total or self.n) == 1 else "s")
        print(f"[khusheh] {self.label}: {self.n}{of} {units}{share}{failed}, {elapsed(now - self.start)}",
              file=self.stream, flush=True)
        self._said, self._spoke = (tenths, now), True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif self.show and not self.tty and self._spoke and self._said[0] < (10 if self.total else 0):
            # (the last line said less than the end; nothing said if it ended before the delay)
            self._line(time.monotonic(), 10)


class SweepBar:
    """The bar of a sweep, fed by its jobs' markers; in a thread of the launching process."""

    def __init__(self, sweep_dir: Path, runs: int | None, show: bool, delay: float, interval: float = 0.5):
        self.sweep_dir = Path(sweep_dir).absolute()  # (a job may change the working folder: hydra.job.chdir)
        self.bar = Bar(runs, "sweep", "run", delay, show)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="khusheh-progress", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()
            self.bar.heartbeat()

    def refresh(self) -> Counts:
        c = counts(self.sweep_dir)
        self.bar.update(c.runs, c.failed)
        return c

    def stop(self) -> Counts:
        """End the bar (the counts so far shown); the counts."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        c = self.refresh()
        self.bar.close()
        return c


# the sweep this process launched (set by the sweeper, stopped at the sweep's end or interrupt)
CURRENT: dict = {}


def start_sweep(sweep_dir: Path, runs: int | None, show: bool, delay: float) -> None:
    stop_sweep()
    CURRENT["bar"] = SweepBar(sweep_dir, runs, show, delay)


def stop_sweep() -> Counts | None:
    bar = CURRENT.pop("bar", None)
    return bar.stop() if bar is not None else None
