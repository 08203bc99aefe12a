"""What the capture server and the assembler accept as numbers, checked once at the door and once before
the tracks are placed (issue 18: a NaN clock gave a 500, a hostile stamp a 20 TiB allocation).

At the door (HTTP 400): every clock value is a finite epoch millisecond below ``EPOCH_MS_MAX``, a device rate
is within the chunk store's 8-192 kHz, microphone settings are finite. Before placement: each track's rate on
the server clock is within ``MAX_RATE_DEVIATION`` of its nominal rate, and the tracks start no further apart
than the session's own duration (its longest track) plus ``MAX_EXTRA_OFFSET_S``; anything else is refused with
the reason in the session report instead of being assembled.
"""

from __future__ import annotations

import math

import numpy as np

from .chunks import MAX_RATE, MIN_RATE
from .sessions import SessionError

#: Largest clock value accepted (epoch ms; about the year 5138): larger ones are not a clock.
EPOCH_MS_MAX = 1e14
#: A track's rate on the server clock may differ from its nominal rate by this fraction (sound cards and
#: browser clocks are within a few hundred ppm; 1 % is a generous ceiling, not a tolerance).
MAX_RATE_DEVIATION = 0.01
#: The tracks may start at most the longest track's duration plus this far apart (a participant who joins
#: later still overlaps the other's recording; stamps further apart are a wrong clock, not a conversation).
MAX_EXTRA_OFFSET_S = 30.0


def check_clock_values(what: str, values) -> None:
    """400 unless every value is a finite epoch millisecond in [0, EPOCH_MS_MAX)."""
    for v in values:
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise SessionError(400, f"{what}: {v!r} is not a finite number of milliseconds")
        if not 0 <= v < EPOCH_MS_MAX:
            raise SessionError(400, f"{what}: {v!r} is out of range (epoch milliseconds, 0 to {EPOCH_MS_MAX:.0e})")


def check_settings(sample_rate: int, settings: dict) -> None:
    """400 for a device rate outside 8-192 kHz or a microphone setting that is a non-finite number."""
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise SessionError(400, f"sample_rate {sample_rate} Hz is out of range {MIN_RATE}..{MAX_RATE}")
    for key, v in settings.items():
        if isinstance(v, float) and not math.isfinite(v):
            raise SessionError(400, f"setting {key!r}: {v!r} is not a finite number")


def over_full_scale(samples: np.ndarray) -> int:
    """Samples beyond +-1.0 (a float microphone signal is within it; the 24-bit FLAC clips them)."""
    return int(np.count_nonzero(np.abs(samples) > 1.0))


def placement_problems(tracks: list[tuple[np.ndarray, object, object]], roles: list[str]) -> list[str]:
    """Why the tracks (samples, SampleClock, ClockFit), as their clocks place them, must not be assembled."""
    problems, starts, durations = [], [], []
    for (samples, sc, cf), role in zip(tracks, roles):
        ms_per_sample = float(sc.ms_per_sample) * (1.0 + float(cf.drift_ppm) * 1e-6)
        nominal = 1000.0 / sc.nominal_rate
        start = float(cf.server_ms(sc.start_ms))
        if not (math.isfinite(ms_per_sample) and math.isfinite(start)):
            problems.append(f"track {role}: its clock fit is not a finite number")
            continue
        if abs(ms_per_sample / nominal - 1.0) > MAX_RATE_DEVIATION:
            rate = 1000.0 / ms_per_sample if ms_per_sample > 0 else float("inf")
            problems.append(
                f"track {role}: its chunk stamps put it at {rate:.6g} samples per second of server time against "
                f"{sc.nominal_rate} Hz nominal (more than {MAX_RATE_DEVIATION:.0%} apart): the page's clock stamps "
                "are wrong")
            continue
        starts.append((start, role))
        durations.append(len(samples) / sc.nominal_rate)
    if len(starts) == 2:
        (s_a, r_a), (s_b, r_b) = starts
        apart = abs(s_b - s_a) / 1000.0
        allowed = max(durations) + MAX_EXTRA_OFFSET_S
        if apart > allowed:
            late = r_b if s_b > s_a else r_a
            problems.append(
                f"track {late} would start {apart:.3f} s after the other, more than the session's own duration "
                f"({max(durations):.3f} s, its longest track) plus {MAX_EXTRA_OFFSET_S:g} s: a page clock is wrong "
                "(the chunk stamps or clock exchanges of one track); not assembled")
    return problems


def refused_report(sid: str, per_track: list[dict], problems: list[str]) -> dict:
    """The session report of an assembly refused by ``placement_problems``: no FLAC, no manifest row."""
    from ..rights.consent import utc_now

    return {"recording_id": None, "session_id": sid, "status": "refused", "assembled_at": utc_now(), "path": None,
            "reason": "; ".join(problems), "problems": problems, "tracks": per_track, "warnings": []}


def full_scale_warnings(per_track: list[dict]) -> list[str]:
    """One line per track that held samples beyond +-1.0 (clipped in the FLAC, so said here)."""
    return [f"track {t['role']}: {t['over_full_scale_samples']} sample(s) beyond full scale (+-1.0) were clipped "
            "in the FLAC" for t in per_track if t.get("over_full_scale_samples")]
