"""Progress of a scan: a rich bar on a terminal, a plain line every few seconds otherwise.

Both show recordings done, hours done of hours to scan, speed as a multiple of real time, the
estimated time left (from the audio rate so far), and the errors so far. Output goes to stderr so a
``--json`` summary on stdout stays clean.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "--:--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class ScanProgress:
    """Counts shared by every display; ``line()`` is the plain-text form."""

    def __init__(self) -> None:
        self.n_total = 0
        self.audio_total_s = 0.0
        self.n_done = 0
        self.audio_done_s = 0.0
        self.errors = 0
        self.t0 = time.monotonic()

    def start(self, n_recordings: int, audio_s: float) -> None:
        self.n_total, self.audio_total_s = n_recordings, audio_s
        self.t0 = time.monotonic()

    def advance(self, audio_s: float, failed: bool) -> None:
        self.n_done += 1
        self.audio_done_s += audio_s
        self.errors += int(failed)

    def finish(self) -> None:
        pass

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.t0

    @property
    def realtime(self) -> float:
        return self.audio_done_s / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.audio_done_s <= 0:
            return None
        return max(0.0, self.audio_total_s - self.audio_done_s) / self.realtime

    def line(self) -> str:
        return (f"scan: {self.n_done}/{self.n_total} recordings, {self.audio_done_s / 3600:.2f}/"
                f"{self.audio_total_s / 3600:.2f} h, {self.realtime:.0f}x realtime, ETA {_clock(self.eta_s)}, "
                f"{self.errors} error(s)")


class NullProgress(ScanProgress):
    """Counts only (library use, tests)."""


class PlainProgress(ScanProgress):
    """One line at most every ``interval_s`` seconds, and one at the end."""

    def __init__(self, stream: TextIO | None = None, interval_s: float = 5.0):
        super().__init__()
        self.stream = stream or sys.stderr
        self.interval_s = interval_s
        self._last = 0.0

    def start(self, n_recordings: int, audio_s: float) -> None:
        super().start(n_recordings, audio_s)
        self._last = time.monotonic()
        print(f"scan: {n_recordings} recording(s) to scan, {audio_s / 3600:.2f} h of audio", file=self.stream,
              flush=True)

    def advance(self, audio_s: float, failed: bool) -> None:
        super().advance(audio_s, failed)
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            print(self.line(), file=self.stream, flush=True)

    def finish(self) -> None:
        if self.n_total:
            print(self.line(), file=self.stream, flush=True)


class RichProgress(ScanProgress):
    """A live bar (rich) for terminals."""

    def __init__(self, stream: TextIO | None = None):
        super().__init__()
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("[bold]scan"), BarColumn(), TextColumn("{task.fields[text]}"),
            console=Console(file=stream or sys.stderr), transient=False, refresh_per_second=4,
        )
        self._task = None

    def _text(self) -> str:
        return (f"{self.n_done}/{self.n_total} rec  {self.audio_done_s / 3600:.2f}/{self.audio_total_s / 3600:.2f} h"
                f"  {self.realtime:.0f}x realtime  ETA {_clock(self.eta_s)}  errors {self.errors}")

    def start(self, n_recordings: int, audio_s: float) -> None:
        super().start(n_recordings, audio_s)
        if n_recordings:
            self._progress.start()
            self._task = self._progress.add_task("scan", total=max(audio_s, 1e-9), text=self._text())

    def advance(self, audio_s: float, failed: bool) -> None:
        super().advance(audio_s, failed)
        if self._task is not None:
            self._progress.update(self._task, completed=self.audio_done_s, text=self._text())

    def finish(self) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=self.audio_done_s, text=self._text())
            self._progress.stop()


def make_progress(stream: TextIO | None = None, enabled: bool = True) -> ScanProgress:
    """Rich on a terminal, plain lines otherwise, nothing when disabled."""
    stream = stream or sys.stderr
    if not enabled:
        return NullProgress()
    if hasattr(stream, "isatty") and stream.isatty():
        return RichProgress(stream)
    return PlainProgress(stream)
