"""The own-voice option of the activity stage (docs/activity.md, "Own voice"): babble conditions over several
noise realisations, default against ``own_voice = true``, and what the option costs, in one run.

Scores pool every realisation of a condition (``robustness.make_condition(..., realisation=k)``; k = 0 is
``bench_activity_robust.py``'s set) on one half (tune by default: the report half is read once per
candidate). Cost: CPU time of ``activity.detect_tracks`` with and without the option on a judged condition
(babble 10 dB) and on conditions whose tracks are not judged (clean 16 kHz, A-law 8 kHz: only the
encoder's mel frames are made), one process, ratios in the same run.

Usage: .venv/bin/python benchmarks/bench_ownvoice.py [--half tune|report] [--realisations 5]
       [--conditions babble_20,babble_10,babble_5] [--set key=value ...] [--no-cost]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _fmt(m: dict) -> str:
    return (f"{m['ipu_onset_hit_rate']:.3f} / {m['ipu_offset_hit_rate']:.3f} / {m['frame_f1']:.3f} / "
            f"{m['ipu_recall']:.3f} (n={m['n_gold_ipus']})")


def _cpu(fn) -> float:
    best = float("inf")
    for _ in range(2):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main() -> int:
    from bench_activity_robust import parse_value

    from twotrack import robustness as rb
    from twotrack.activity import detect_tracks, to_activity
    from twotrack.config import ActivityConfig

    ap = argparse.ArgumentParser()
    ap.add_argument("--half", default="tune", choices=["tune", "report"])
    ap.add_argument("--realisations", type=int, default=5)
    ap.add_argument("--conditions", default="babble_20,babble_10,babble_5")
    ap.add_argument("--set", nargs="*", default=[], help="ActivityConfig overrides key=value (own_voice is set)")
    ap.add_argument("--no-cost", action="store_true")
    args = ap.parse_args()
    overrides = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    base, own = ActivityConfig(), ActivityConfig(**{**overrides, "own_voice": True})
    ids = rb.TUNE if args.half == "tune" else rb.REPORT
    dialogues = rb.load_dialogues(REPO / "data/sample/clean", REPO / "data/sample/gold")
    print(f"{args.half} half, {args.realisations} realisations; onset / offset hits, frame F1, IPU recall")
    for name in [n for n in args.conditions.split(",") if n]:
        runs = {"default": [], "own_voice": []}
        for d in dialogues:
            if d.id not in ids:
                continue
            for k in range(args.realisations):
                cond = rb.make_condition(d, name, dialogues, realisation=k)
                cond = rb.Condition(cond.name, f"{cond.dialogue}#{k}", cond.tracks, cond.rate, cond.words, cond.note)
                for label, cfg in (("default", base), ("own_voice", own)):
                    runs[label].append((cond, to_activity(detect_tracks(cond.tracks, cond.rate, cfg))))
        print(f"{name:<10} default {_fmt(rb.score(runs['default']))} | own_voice {_fmt(rb.score(runs['own_voice']))}",
              flush=True)
    if not args.no_cost:
        d = next(x for x in dialogues if x.id in ids)
        print(f"\ncost on {d.id} (CPU s of detect_tracks, one process; x realtime per track):")
        for name in ("babble_10", "clean", "alaw"):
            cond = rb.make_condition(d, name, dialogues)
            detect_tracks(cond.tracks[:, : cond.rate * 5], cond.rate, own)  # load the models once
            t_base = _cpu(lambda: detect_tracks(cond.tracks, cond.rate, base))
            t_own = _cpu(lambda: detect_tracks(cond.tracks, cond.rate, own))
            audio = cond.duration_s * cond.tracks.shape[0]
            print(f"{name:<10} ({cond.rate} Hz) default {audio / t_base:.0f}x, own_voice {audio / t_own:.0f}x "
                  f"realtime per track: {t_own / t_base:.2f}x the CPU time")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
