"""Export throughput per format against a decode-only baseline measured in the same run, and memory.

Builds a corpus of two-track recordings from the bundled clean sample dialogues (each recording is the
three dialogues concatenated in a rotated order, 16 kHz stereo FLAC), scans it into a workspace with the
real scan (not timed), grants every speaker consent, then, each in a fresh subprocess:

- ``decode@24k`` / ``decode@src``: stream every recording's tracks through ``iter_track_blocks`` at 24 kHz
  (what the Moshi export resamples to) and at the source rate (what Lhotse and Parquet keep): the
  baselines;
- ``moshi``, ``lhotse``, ``parquet``: a full export of the corpus (audio, manifests, export.json,
  croissant.json), on half the corpus and on all of it.

It prints hours of audio per core-hour (audio hours / CPU hours of the exporting process: every stage here
is single-threaded), the ratio of each export to its baseline (1.0 = the export costs no more than
decoding), and the peak resident memory of the half and the full corpus (flat streaming: ~1).

Usage: .venv/bin/python benchmarks/bench_export.py [--recordings 16] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample" / "clean"


def build_corpus(folder: Path, n: int) -> Path:
    import numpy as np
    import soundfile as sf

    sources = sorted(SAMPLE.glob("*.flac"))
    parts = [sf.read(str(p), dtype="int16")[0] for p in sources]
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["recording_id,path,speaker_a,speaker_b,license,tags,source_type"]
    for i in range(n):
        order = [parts[(i + k) % len(parts)] for k in range(len(parts))]
        audio = np.concatenate(order)
        if i % 2:  # vary the content a little: swap the channels of every other recording
            audio = audio[:, ::-1]
        path = folder / f"rec{i:03d}.flac"
        sf.write(str(path), audio, 16000, subtype="PCM_16")
        rows.append(f"bench/rec{i:03d},{path.name},spk{i % 7},spk{(i + 3) % 7},CC-BY-4.0,register:read,two-track")
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def prepare(workdir: Path, n: int) -> dict[str, Path]:
    from twotrack.rights.ledger import Ledger, ledger_path
    from twotrack.run import scan

    out = {}
    for label, count in (("half", n // 2), ("full", n)):
        manifest = build_corpus(workdir / f"corpus-{label}", count)
        ws = workdir / f"ws-{label}"
        t0 = time.monotonic()
        summary = scan([manifest], ws, jobs=None)
        print(f"scanned {label} corpus: {summary.scanned} recordings, {summary.audio_scanned_s / 3600:.2f} h "
              f"in {time.monotonic() - t0:.0f} s (not part of the export timings)", flush=True)
        led = Ledger(ledger_path(ws))
        for s in range(7):
            led.grant(f"spk{s}", ["ai-training", "commercial-use", "redistribution"], "2024-01-01",
                      "https://consent.example.org/bench", "0" * 64)
        out[label] = ws
    return out


def child(task: str, ws: str, out: str) -> None:
    """Runs in a fresh process: one task, then prints JSON with CPU seconds, audio seconds and peak RSS."""
    import resource

    from twotrack.store import Workspace, queries

    w = Workspace(ws)
    audio_s = sum(queries.durations(w).values())
    t0 = time.process_time()
    if task.startswith("decode"):
        from twotrack.ingest.tracks import iter_track_blocks

        rate = 24000 if task == "decode@24k" else None
        for rec in queries.recordings(w):
            for _ in iter_track_blocks(rec, rate):
                pass
    else:
        from twotrack.export import export

        opts = {"max_duration_s": 120.0} if task == "moshi" else {}
        s = export(ws, out, task, "commercial-training", **opts)
        assert not s.errors, s.errors
    cpu = time.process_time() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cpu_s": cpu, "audio_s": audio_s, "rss_mb": rss_mb}))


def run_child(task: str, ws: Path, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    res = subprocess.run([sys.executable, __file__, "--child", task, str(ws), str(out)], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    if res.returncode:
        raise SystemExit(f"{task} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recordings", type=int, default=16, help="recordings in the full corpus (3.4 min each)")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--child", nargs=3, metavar=("TASK", "WS", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-export-"))
    workspaces = prepare(workdir, args.recordings)
    tasks = [("decode@24k", None), ("moshi", "decode@24k"), ("decode@src", None), ("lhotse", "decode@src"),
             ("parquet", "decode@src")]
    results: dict[str, dict[str, dict]] = {}
    for task, _ in tasks:
        for label in ("half", "full"):
            results.setdefault(task, {})[label] = run_child(task, workspaces[label], workdir / f"out-{task}-{label}")
    print()
    print(f"{'task':<12}{'h/core-h':>10}{'vs baseline':>13}{'RSS half MB':>13}{'RSS full MB':>13}{'full/half':>11}")
    for task, base in tasks:
        full, half = results[task]["full"], results[task]["half"]
        speed = (full["audio_s"] / 3600) / (full["cpu_s"] / 3600)
        ratio = ""
        if base:
            b = results[base]["full"]
            ratio = f"{speed / ((b['audio_s'] / 3600) / (b['cpu_s'] / 3600)):.2f}"
        print(f"{task:<12}{speed:>10.0f}{ratio:>13}{half['rss_mb']:>13.0f}{full['rss_mb']:>13.0f}"
              f"{full['rss_mb'] / half['rss_mb']:>11.2f}")
    hours = results["moshi"]["full"]["audio_s"] / 3600
    print(f"\nfull corpus: {args.recordings} recordings, {hours:.2f} h; half: {args.recordings // 2}. "
          f"h/core-h = hours of audio exported per CPU-hour of the single exporting process; "
          f"'vs baseline' = that speed / decoding the same audio at the same rate (1.0 = export costs "
          f"nothing beyond decoding). Work dir: {workdir}")


if __name__ == "__main__":
    main()
