"""Peak memory against recording length: ``scan -j 1``, ``export moshi``, ``export parquet`` and ``collapse``.

Generates two 8 kHz two-track WAV files (16-bit PCM) in a temp folder: a short one (``--short-min``,
default 10 minutes) and a long one (``--hours``, default 6), each low-level noise (about -62 dBFS,
independent per track) with a speech burst every ``--burst-every-min`` minutes (default 5): a
20-second stretch of a bundled telephone dialogue (``data/sample/telephone``, both tracks with their
crosstalk, read through twotrack's own SPHERE reader). The files are written block by block, so the
generator itself stays small. A manifest gives each file a license and the two sample speakers whose
(fictional) consent ``data/sample/consent.csv`` grants, so the exports include them.

Every command runs through the CLI in its own process; its peak resident memory is read from
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` in a small wrapper process that starts it (the largest
single process of its tree: for ``scan -j 1`` the larger of the main process and its one worker).

Printed: a table of wall time and peak RSS per command and length, and the ratio long / short per
command (the issue's bar: ``scan -j 1`` <= 1.3 between 10 minutes and 6 hours).

``--words``: the scan runs the words stage too (``scan --words``, tiny.en, every track taken as English)
on files with speech throughout (a burst every 0.4 minutes unless ``--burst-every-min`` says otherwise),
and only the scan is measured, without and with words (issue 19: the words stage's memory flat in
recording length; the scan's own growth is the first line).

Usage: .venv/bin/python benchmarks/bench_memory.py [--hours 6] [--short-min 10] [--dir DIR] [--keep]
       [--only scan] (a quick run: --hours 1)
       .venv/bin/python benchmarks/bench_memory.py --words --hours 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RATE = 8000
NOISE_DBFS = -62.0
BURST_S = 20.0
SPEAKERS = ("libri-367", "libri-1688")  # granted commercial use in data/sample/consent.csv
PURPOSE = "research-training"


def sample_dialogues() -> list[np.ndarray]:
    """The bundled telephone dialogues as float32 (2, n) at 8 kHz, read by twotrack itself."""
    from twotrack.ingest.discover import discover
    from twotrack.ingest.tracks import load_tracks

    recordings, errors = discover([REPO / "data/sample/telephone"])
    if errors or not recordings:
        raise SystemExit(f"cannot read the sample telephone dialogues: {errors}")
    return [load_tracks(r, RATE).samples for r in recordings]


def write_file(path: Path, minutes: float, burst_every_min: float, seed: int) -> dict:
    """Noise plus a speech burst every ``burst_every_min`` minutes, written in 60 s blocks."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    dialogues = sample_dialogues()
    n_total = int(round(minutes * 60 * RATE))
    burst_n = int(BURST_S * RATE)
    n_bursts = max(2, int(minutes // burst_every_min))
    # burst starts spread over the file, each at a random place inside its share
    share = n_total // n_bursts
    starts = [k * share + int(rng.integers(0, max(1, share - burst_n))) for k in range(n_bursts)]
    bursts = []
    for _ in starts:
        d = dialogues[int(rng.integers(len(dialogues)))]
        s = int(rng.integers(0, d.shape[1] - burst_n))
        bursts.append(d[:, s : s + burst_n] * float(rng.uniform(0.6, 1.1)))
    noise_amp = 10.0 ** (NOISE_DBFS / 20.0)
    block = 60 * RATE
    with sf.SoundFile(str(path), "w", RATE, 2, subtype="PCM_16") as f:
        for pos in range(0, n_total, block):
            n = min(block, n_total - pos)
            x = (rng.standard_normal((2, n)) * noise_amp).astype(np.float32)
            for s, b in zip(starts, bursts):
                lo, hi = max(s, pos), min(s + burst_n, pos + n)
                if lo < hi:
                    x[:, lo - pos : hi - pos] += b[:, lo - s : hi - s]
            f.write(np.clip(x, -1, 1).T)
    return {"minutes": minutes, "bursts": n_bursts, "bytes": path.stat().st_size}


def write_manifest(folder: Path, name: str, wav: Path) -> Path:
    manifest = folder / f"{name}.csv"
    manifest.write_text(
        "recording_id,path,speaker_a,speaker_b,license,source_type\n"
        f"{name},{wav.name},{SPEAKERS[0]},{SPEAKERS[1]},CC-BY-4.0,two-track\n")
    return manifest


def measure(cmd: list[str]) -> dict:
    """Run ``cmd`` in a wrapper process that reports the peak RSS of its tree and the wall time."""
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(cmd)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"measuring {cmd} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(cmd: list[str]) -> None:
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if run.returncode not in (0, 1):  # scan exits 1 when a recording failed: reported, not fatal here
        sys.stderr.write(run.stdout[-2000:] + run.stderr[-4000:])
        raise SystemExit(run.returncode)
    print(json.dumps({"wall_s": wall, "peak_mb": peak_kb / 1024, "rc": run.returncode,
                      "tail": (run.stdout + run.stderr)[-400:]}))


def cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from twotrack.cli import main; main()", *args]


def run_length(folder: Path, name: str, minutes: float, args) -> dict:
    wav = folder / f"{name}.wav"
    info = write_file(wav, minutes, args.burst_every_min, seed=hash(name) % 2**32)
    manifest = write_manifest(folder, name, wav)
    ws = folder / f"ws-{name}"
    shutil.rmtree(ws, ignore_errors=True)
    res = {"info": info, "scan": measure(cli("scan", str(manifest), "-w", str(ws), "-j", "1"))}
    if args.words:  # the same scan with the words stage, in its own workspace: the difference is the stage's
        res["scan --words"] = measure(cli("scan", str(manifest), "-w", str(ws) + "-words", "-j", "1", "--words",
                                          "--set", "words.multilingual_model="))
    if args.only != "scan":
        subprocess.run(cli("consent", "import", str(REPO / "data/sample/consent.csv"), "-w", str(ws)),
                       check=True, capture_output=True)
        for fmt in ("moshi", "parquet"):
            out = folder / f"out-{name}-{fmt}"
            shutil.rmtree(out, ignore_errors=True)
            # the files have no words (noise and bursts, scanned without --words): without --allow-no-text the
            # export leaves them out and measures nothing
            res[f"export {fmt}"] = measure(cli("export", fmt, str(out), "-w", str(ws), "--purpose", PURPOSE,
                                               "--allow-no-text"))
            files = [p for p in out.rglob("*") if p.is_file()]
            if not any(p.suffix in (".wav", ".parquet") for p in files):
                raise SystemExit(f"export {fmt} wrote no audio:\n{res[f'export {fmt}']['tail']}")
            res[f"export {fmt}"]["out_mb"] = sum(p.stat().st_size for p in files) / 1e6
            shutil.rmtree(out, ignore_errors=True)
        # mono mix + diarization of the whole recording, read as a stream (it once loaded the tracks whole)
        res["collapse"] = measure(cli("collapse", "-w", str(ws), "--json"))
    wav.unlink()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=6.0, help="length of the long file")
    ap.add_argument("--short-min", type=float, default=10.0, help="length of the short file (minutes)")
    ap.add_argument("--burst-every-min", type=float, default=None, help="default 5 (0.4 with --words)")
    ap.add_argument("--words", action="store_true", help="scan --words on files with speech throughout")
    ap.add_argument("--only", choices=("scan", "all"), default="all")
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the workspaces")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child))
        return

    if args.burst_every_min is None:
        args.burst_every_min = 0.4 if args.words else 5.0
    if args.words:
        args.only = "scan"
    folder = args.dir or Path(tempfile.mkdtemp(prefix="twotrack-bench-memory-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; files in {folder}")
    lengths = {"short": args.short_min, "long": args.hours * 60}
    results = {}
    for name, minutes in lengths.items():
        t0 = time.perf_counter()
        results[name] = run_length(folder, name, minutes, args)
        print(f"  {name}: {minutes / 60:.2f} h done in {time.perf_counter() - t0:.0f} s", flush=True)
    commands = [k for k in results["short"] if k != "info"]
    print(f"\n{'command':<16} {'length':>8} {'wall s':>8} {'x realtime':>10} {'peak RSS MB':>12}")
    for cmd in commands:
        for name, minutes in lengths.items():
            r = results[name][cmd]
            print(f"{cmd:<16} {minutes / 60:>7.2f}h {r['wall_s']:>8.1f} {minutes * 60 / r['wall_s']:>10.0f} "
                  f"{r['peak_mb']:>12.0f}")
    print(f"\npeak RSS ratio, {lengths['long'] / 60:g} h / {lengths['short']:g} min:")
    for cmd in commands:
        ratio = results["long"][cmd]["peak_mb"] / results["short"][cmd]["peak_mb"]
        print(f"  {cmd:<16} {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"lengths_min": lengths, "results": results}, indent=1))
    if not args.keep and args.dir is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
