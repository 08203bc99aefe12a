"""Speed of turn-taking event extraction (run: .venv/bin/python benchmarks/bench_turns.py).

Prints, in one run: the time of ``extract_table`` and ``extract_events`` on synthetic two-track
conversations of 1, 10 and 60 minutes, their realtime factor, the peak extra memory (tracemalloc), and
the ratio against a baseline measured in the same run: a plain per-frame Python loop that only finds
the IPUs of both tracks (the first, smallest step of the work), on the same 10-minute masks.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from twotrack.config import TurnsConfig
from twotrack.turns import extract_events, extract_table

from timing import best_of  # benchmarks/ is on sys.path: the scripts run by path


def conversation(minutes: float, seed: int = 0) -> np.ndarray:
    """Alternating turns of 1-3 IPUs with pauses, gaps, overlaps and listener backchannels."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 6000)
    m = np.zeros((2, n), bool)
    t, who = 0, 0
    while t < n - 100:
        for _ in range(int(rng.integers(1, 4))):
            d = int(rng.integers(50, 400))
            m[who, t:t + d] = True
            t += d + int(rng.integers(20, 60))
        if rng.random() < 0.5:
            a = int(rng.integers(max(0, t - 300), t))
            m[1 - who, a:a + int(rng.integers(15, 60))] = True
        t = max(0, t + int(rng.normal(20, 45)))
        who = 1 - who
    return m


def per_frame_ipus(mask: np.ndarray, pause: int) -> list[tuple[int, int]]:
    """Baseline: IPUs by walking the frames in Python."""
    out, start, silence = [], None, 0
    for i, v in enumerate(mask.tolist()):
        if v:
            if start is None:
                start = i
            elif silence >= pause:
                out.append((start, i - silence))
                start = i
            silence = 0
        elif start is not None:
            silence += 1
    if start is not None:
        out.append((start, len(mask) - silence))
    return out


def main() -> None:
    cfg = TurnsConfig()
    print(f"{'audio':>8} {'events':>7} {'table s':>9} {'x realtime':>11} {'events s':>9} {'peak MiB':>9}")
    for minutes in (1, 10, 60):
        m = conversation(minutes)
        n_events = len(extract_table(m, cfg)["kind"])
        t_table, _ = best_of(lambda: extract_table(m, cfg))
        t_events, _ = best_of(lambda: extract_events(m, cfg))
        tracemalloc.start()
        extract_table(m, cfg)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"{minutes:>6} min {n_events:>7} {t_table:>9.4f} {minutes * 60 / t_table:>11.0f} {t_events:>9.4f} {peak:>9.1f}")

    m = conversation(10)
    t_base, _ = best_of(lambda: [per_frame_ipus(m[k], 20) for k in (0, 1)], repeat=1)
    t_full, _ = best_of(lambda: extract_table(m, cfg))
    print(f"baseline per-frame loop, IPUs only, 10 min: {t_base:.3f} s; full vectorised events: {t_full:.4f} s; "
          f"ratio {t_base / t_full:.0f}x")


if __name__ == "__main__":
    main()
