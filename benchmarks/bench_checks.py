"""Cost of the checks as a share of decode time, on a 10-minute two-track 8 kHz recording.

The recording is the three telephone renditions of the sample corpus (8 kHz mu-law, -28 dB / 3 ms
crosstalk) laid end to end until it lasts 10 minutes, written in the same run as a mu-law WAV (the
telephone format) and as a 16-bit FLAC. The baseline is decoding that file with soundfile to float32;
the checks run on the decoded array. Every time is the best of ``--repeats`` runs (the machine is
shared, so the best run is the one least disturbed by others).

    .venv/bin/python benchmarks/bench_checks.py [--minutes 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from twotrack.checks import estimate_bleed, run_checks
from twotrack.ingest.sphere import read_sphere
from twotrack.model import Layout

from timing import best_of  # benchmarks/ is on sys.path: the scripts run by path

ROOT = Path(__file__).resolve().parents[1]
TELEPHONE = sorted((ROOT / "data" / "sample" / "telephone").glob("*.sph"))


def build(minutes: float) -> tuple[np.ndarray, int]:
    parts, sr = [], 8000
    for path in TELEPHONE:
        x, sr = read_sphere(path)
        parts.append(x)
    one = np.concatenate(parts)
    n = int(minutes * 60 * sr)
    reps = -(-n // len(one))
    return np.concatenate([one] * reps)[:n], sr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    pcm, sr = build(args.minutes)
    duration = len(pcm) / sr
    print(f"recording: {duration / 60:.1f} min, 2 tracks, {sr} Hz (telephone renditions end to end)")
    with tempfile.TemporaryDirectory() as tmp:
        files = {"WAV mu-law": (Path(tmp) / "rec.wav", "ULAW"), "FLAC 16-bit": (Path(tmp) / "rec.flac", "PCM_16")}
        for path, subtype in files.values():
            sf.write(path, pcm, sr, subtype=subtype)
        decoded = {}
        decode_s = {}
        for name, (path, _) in files.items():
            decode_s[name], (x, _) = best_of(lambda p=path: sf.read(p, dtype="float32"), args.repeats)
            decoded[name] = np.ascontiguousarray(x.T)
    tracks = decoded["WAV mu-law"]
    runs = {
        "run_checks (one multichannel file)": lambda: run_checks(tracks, sr, codec="ULAW", layout=Layout.MULTICHANNEL),
        "run_checks (as paired files: +-5 s offset search)": lambda: run_checks(tracks, sr, codec="ULAW", layout=Layout.PAIRED),
        "estimate_bleed alone": lambda: estimate_bleed(tracks[0], tracks[1], sr),
    }
    print(f"\n{'baseline: soundfile decode to float32':54s} {'seconds':>8s}")
    for name, s in decode_s.items():
        print(f"  {name:52s} {s:8.3f}")
    print(f"\n{'checks':54s} {'seconds':>8s} {'x realtime':>11s} " + " ".join(f"{'/ ' + n:>14s}" for n in decode_s))
    results = {}
    for name, fn in runs.items():
        s, results[name] = best_of(fn, args.repeats)
        ratios = " ".join(f"{s / d:13.1f}x" for d in decode_s.values())
        print(f"  {name:52s} {s:8.3f} {duration / s:10.0f}x {ratios}")
    r = results["run_checks (one multichannel file)"]
    print(f"\nverdict {r.isolation.value}, bleed {r.bleed_db} dB at {r.bleed_lag_ms} ms ({r.bleed_direction}), "
          f"offset {r.offset_ms} ms, drift {r.drift_ppm} ppm")
    p = results["run_checks (as paired files: +-5 s offset search)"]
    print(f"as paired: offset {p.offset_ms} ms, drift {p.drift_ppm} ppm, bleed {p.bleed_db} dB at {p.bleed_lag_ms} ms")


if __name__ == "__main__":
    main()
