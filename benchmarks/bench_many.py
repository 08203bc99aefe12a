"""Many short recordings: every corpus command at two corpus sizes, and how each grows.

Cuts ``--large`` (default 1600) and ``--small`` (default 200) pieces of 5-10 s from the bundled clean
dialogues (``data/sample/clean``, resampled to 8 kHz, two-track FLAC) into nested folders, with a
manifest (speakers from a pool of one per 20 pieces, mixed licenses, a gold CTM per piece) and a consent
CSV for the speakers. Scans both (``scan -j 2``), then runs each command on both workspaces, each in
its own process: rescan, stats, eval, consent import, rights, qualify, map, report, export (moshi,
lhotse, parquet), show, info, and the explorer's corpus page, ``/api/recordings`` and ``/report``
(FastAPI TestClient; first request, so the snapshot is read).

The baseline is the small corpus, measured in the same run. Printed per command: wall seconds and peak
resident MB at both sizes, and the growth ratio (large time / small time) over the size ratio: about 1
or below is linear (fixed start-up costs pull it below 1); well above 1 grows faster than the corpus.
Before 2026-12-05 ``report`` and the explorer's ``/report`` searched a list per recording (quadratic):
at 500 and 4,000 recordings the report's CPU time was 4.1 and 60 s (growth 1.8 over the 8x size
ratio); now 3.0 and 11.9 s (0.5).

Usage: .venv/bin/python benchmarks/bench_many.py [--small 200] [--large 1600] [--dir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

REPO = Path(__file__).resolve().parents[1]
LICENSES = ["CC-BY-4.0"] * 6 + ["CC-BY-NC-4.0", "CC0-1.0", "CC-BY-SA-4.0"]


def dialogues() -> list[tuple[str, np.ndarray, list[tuple[str, float, float, str]]]]:
    """(stem, (n, 2) float32 audio at 8 kHz, gold words) of each bundled clean dialogue."""
    out = []
    for f in sorted((REPO / "data/sample/clean").glob("*.flac")):
        x, sr = sf.read(f, dtype="float32")
        y = resample_poly(x, 8000, sr, axis=0).astype("float32")
        words = []
        for line in (REPO / "data/sample/gold" / f"{f.stem}.ctm").read_text().splitlines():
            if line.strip() and not line.startswith(";;"):
                _, ch, s, d, w = line.split()[:5]
                words.append((ch, float(s), float(d), w))
        out.append((f.stem, y, words))
    return out


def make_corpus(folder: Path, n: int, seed: int = 1) -> Path:
    """Write ``n`` pieces, manifest.csv and consent.csv under ``folder``; returns the manifest."""
    rng = random.Random(seed)
    dlg = dialogues()
    speakers = [f"spk{i:05d}" for i in range(max(20, n // 20))]
    rows = []
    for k in range(n):
        stem, y, words = dlg[k % len(dlg)]
        dur = rng.uniform(5, 10)
        start = rng.uniform(0, len(y) / 8000 - dur - 0.1)
        rid = f"site{k % 7}/batch{(k // 50) % 40:02d}/call-{k:05d}_{stem[:6]}"
        path = folder / "audio" / f"{rid}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, y[int(start * 8000):int((start + dur) * 8000)] * rng.uniform(0.5, 1.0), 8000, subtype="PCM_16")
        ctm = folder / "gold" / f"{rid.replace('/', '__')}.ctm"
        ctm.parent.mkdir(parents=True, exist_ok=True)
        ctm.write_text("".join(f"{ctm.stem} {ch} {s - start:.3f} {d:.3f} {w}\n" for ch, s, d, w in words
                               if s >= start and s + d <= start + dur))
        a, b = rng.sample(speakers, 2)
        rows.append({"recording_id": rid, "path": f"audio/{rid}.flac", "speaker_a": a, "speaker_b": b,
                     "license": rng.choice(LICENSES), "tags": f"site:{k % 7};topic:t{k % 13}",
                     "source_type": "two-track", "transcript": f"gold/{ctm.name}"})
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(folder / "consent.csv", "w") as fh:
        fh.write("speaker,action,scopes,date,evidence,evidence_sha256,jurisdiction,expiry,note\n")
        for i, s in enumerate(speakers):
            uri = f"https://consent.example.org/bench/{s}/form.pdf"
            h = hashlib.sha256(f"form {s}\n".encode()).hexdigest()
            scopes = ("ai-training;commercial-use;redistribution;voice-likeness" if i % 5
                      else "ai-training;redistribution;research-only")
            fh.write(f"{s},grant,{scopes},2024-01-{1 + i % 28:02d},{uri},{h},US-CA,,form v1\n")
            if i % 17 == 3:
                fh.write(f"{s},withdraw,commercial-use,2025-03-{1 + i % 28:02d},{uri}.w,{h[::-1]},US-CA,,letter\n")
    return manifest


EXPLORER = """
import sys
from fastapi.testclient import TestClient
from twotrack.show.app import create_app
c = TestClient(create_app(sys.argv[1]))
r = c.get(sys.argv[2])
assert r.status_code == 200, r.text[:300]
print(len(r.content))
"""


def run(args: list[str]) -> float:
    """Wall seconds of one command in its own process (exit 0 or 1, as a partly failed run gives)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, env=env, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return wall


def commands(ws: Path, corpus: Path, out: Path) -> list[tuple[str, list[str]]]:
    tt = [sys.executable, "-m", "twotrack"]
    py = [sys.executable, "-c", EXPLORER, str(ws)]
    return [
        ("rescan", tt + ["scan", "-j", "2", "--no-progress", "-w", str(ws), str(corpus / "manifest.csv")]),
        ("stats", tt + ["stats", "-w", str(ws)]),
        ("eval", tt + ["eval", "-w", str(ws)]),
        ("consent import", tt + ["consent", "import", "-w", str(ws), str(corpus / "consent.csv")]),
        ("rights", tt + ["rights", "-w", str(ws), "--purpose", "research-training"]),
        ("qualify", tt + ["qualify", "-w", str(ws)]),
        ("map", tt + ["map", "-w", str(ws)]),
        ("report", tt + ["report", "-w", str(ws), "-o", str(out / "report.html")]),
        *[(f"export {f}", tt + ["export", "-w", str(ws), "--purpose", "research-training", f, str(out / f)])
          for f in ("moshi", "lhotse", "parquet")],
        ("show", tt + ["show", "-w", str(ws), "call-00001_demo02"]),
        ("info", tt + ["info", str(corpus / "manifest.csv")]),
        ("explorer /", py + ["/"]),
        ("explorer /api/recordings", py + ["/api/recordings"]),
        ("explorer /report", py + ["/report"]),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=200)
    ap.add_argument("--large", type=int, default=1600)
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="bench-many-"))
    timer = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
    results: dict[int, dict[str, tuple[float, float]]] = {}
    try:
        for n in (args.small, args.large):
            corpus, ws, out = root / f"c{n}", root / f"ws{n}", root / f"out{n}"
            if not (corpus / "manifest.csv").exists():
                make_corpus(corpus, n)
            shutil.rmtree(ws, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            wall = run([sys.executable, "-m", "twotrack", "scan", "-j", "2", "--no-progress", "-w", str(ws),
                        str(corpus / "manifest.csv")])
            results[n] = {"scan -j 2": (wall, float("nan"))}
            for name, cmd in commands(ws, corpus, out):
                # peak resident memory from GNU time when it is there (-f %M: kilobytes)
                rss = float("nan")
                if timer:
                    rss_file = out / "rss.txt"
                    wall = run([timer, "-f", "%M", "-o", str(rss_file), *cmd])
                    rss = int(rss_file.read_text().split()[-1]) / 1024
                else:
                    wall = run(cmd)
                results[n][name] = (wall, rss)
            print(f"{n} recordings done", flush=True)
        size = args.large / args.small
        print(f"\n{args.small} and {args.large} recordings of 5-10 s (size ratio {size:.0f}); "
              f"growth = (large wall / small wall) / size ratio")
        print(f"{'command':28s} {'small s':>8s} {'large s':>8s} {'small MB':>9s} {'large MB':>9s} {'growth':>7s}")
        for name in results[args.small]:
            (ws_, rs), (wl, rl) = results[args.small][name], results[args.large][name]
            print(f"{name:28s} {ws_:8.2f} {wl:8.2f} {rs:9.0f} {rl:9.0f} {wl / ws_ / size:7.2f}")
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
