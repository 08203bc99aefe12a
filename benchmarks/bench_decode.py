"""Decode-only baseline: streaming read memory (flat in file length) and throughput per format.

Generates a 1-minute and a long (default 60-minute) two-channel 8 kHz recording as WAV PCM-16 (the
named baseline), FLAC, SPHERE mu-law and SPHERE shorten mu-law, then reads each one through
``twotrack.ingest.audio.read_blocks`` in a fresh subprocess per case and prints:

- peak resident memory while streaming (VmHWM after resetting it via /proc/self/clear_refs, so the
  number is the read's own high-water mark) for the short and the long file, and their ratio
  (flat reading means ~1);
- the peak of Python/NumPy allocations during the read (tracemalloc) for both files;
- decode throughput on the long file as x realtime per core (audio seconds / CPU seconds of the
  reading process; every decoder here is single-threaded), and the ratio against WAV PCM.

Usage: .venv/bin/python benchmarks/bench_decode.py [--minutes 60] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RATE = 8000
CHANNELS = 2
SHORTEN_FIXTURE = REPO / "tests/data/sphere/ex5_sh.sph"


# ---------------------------------------------------------------------------------------------
# Test signal: two alternating "speakers" (band-limited noise bursts with syllable-rate envelopes)
# ---------------------------------------------------------------------------------------------


def signal_chunks(seconds: float, chunk_s: float = 60.0, seed: int = 7):
    rng = np.random.default_rng(seed)
    n_total = int(seconds * RATE)
    done = 0
    while done < n_total:
        n = min(int(chunk_s * RATE), n_total - done)
        t = (done + np.arange(n)) / RATE
        noise = rng.standard_normal((n, CHANNELS))
        noise = np.cumsum(noise, axis=0) * 0.02 + noise * 0.3  # some low-frequency weight, like speech
        noise -= noise.mean(axis=0)
        syllable = 0.5 * (1 + np.sin(2 * np.pi * 4.0 * t))
        turn = (np.floor(t / 3.0) % 2).astype(np.float64)  # 3 s turns, A then B
        env = np.stack([syllable * (1 - turn), syllable * turn], axis=1) + 0.01
        x = np.clip(noise * env * 0.25, -1, 1)
        yield (x * 32767).astype(np.int16)
        done += n


def write_soundfile(path: Path, seconds: float, subtype: str) -> None:
    import soundfile as sf

    with sf.SoundFile(path, "w", RATE, CHANNELS, subtype=subtype) as f:
        for chunk in signal_chunks(seconds):
            f.write(chunk)


def write_sphere_file(path: Path, seconds: float, coding: str) -> None:
    sys.path.insert(0, str(REPO / "tests"))  # the shorten encoder builds test files only: it lives with the tests
    from shorten_encode import encode_shorten

    from twotrack.ingest.sphere import write_sphere

    samples = np.concatenate(list(signal_chunks(seconds)))
    write_sphere(path, samples, RATE, coding, shorten_encoder=encode_shorten)


# ---------------------------------------------------------------------------------------------
# Child: read one file and report memory / time
# ---------------------------------------------------------------------------------------------


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def child(path: str, trace: bool, repeat: int) -> None:
    import tracemalloc

    from twotrack.ingest.audio import probe, read_blocks

    info = probe(path)
    # Warm up: imports, libsndfile, and the numba JIT of the SPHERE decoders, outside the measurement.
    for _ in read_blocks(SHORTEN_FIXTURE):
        pass
    for block in read_blocks(path, 4096):
        break
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
        hwm_reset = True
    except OSError:
        hwm_reset = False
    rss_before = _status_kb("VmRSS")
    if trace:
        tracemalloc.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    frames, checksum = 0, 0.0
    for _ in range(repeat):
        for block in read_blocks(path):
            frames += len(block)
            checksum += float(block[0, 0])  # touch the data
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    print(json.dumps({
        "audio_s": frames / info.sample_rate, "cpu_s": cpu, "wall_s": wall, "rss_before_kb": rss_before,
        "hwm_kb": _status_kb("VmHWM"), "hwm_reset": hwm_reset, "traced_peak_b": traced_peak,
        "frames": frames, "codec": info.codec, "format": info.format,
    }))


def run_child(path: Path, trace: bool, repeat: int = 1) -> dict:
    cmd = [sys.executable, __file__, "--child", str(path), "--repeat", str(repeat)] + (["--trace"] if trace else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Parent
# ---------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the long file (default 60)")
    ap.add_argument("--workdir", help="where to write the generated files (default: a temporary folder)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.trace, args.repeat)
        return

    tmp = None if args.workdir else tempfile.TemporaryDirectory(prefix="bench_decode_")
    work = Path(args.workdir or tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    short_s, long_s = 60.0, args.minutes * 60.0
    notes: list[str] = []

    cases: dict[str, dict[str, Path | None]] = {}
    makers = {
        "WAV PCM_16 (baseline)": ("wav", lambda p, s: write_soundfile(p, s, "PCM_16")),
        "FLAC PCM_16": ("flac", lambda p, s: write_soundfile(p, s, "PCM_16")),
        "SPHERE mu-law": ("sph", lambda p, s: write_sphere_file(p, s, "ulaw")),
        "SPHERE shorten mu-law": ("sph", lambda p, s: write_sphere_file(p, s, "shorten-ulaw")),
    }
    print(f"generating 2-channel {RATE} Hz files of {short_s / 60:g} and {long_s / 60:g} min in {work} ...", flush=True)
    for name, (ext, make) in makers.items():
        slug = name.split(" (")[0].lower().replace(" ", "_").replace("-", "")
        cases[name] = {}
        for label, seconds in (("short", short_s), ("long", long_s)):
            path = work / f"{slug}_{label}.{ext}"
            t0 = time.perf_counter()
            try:
                if not path.exists():
                    make(path, seconds)
                cases[name][label] = path
            except Exception as exc:  # noqa: BLE001 - a missing writer is reported, not fatal
                cases[name][label] = None
                notes.append(f"{name}: cannot write the {label} file ({type(exc).__name__}: {exc})")
            if label == "short" and cases[name][label] is None:
                cases[name]["long"] = None
                break
            print(f"  {path.name}: {time.perf_counter() - t0:.1f} s to write", flush=True)

    fallback_shorten = cases["SPHERE shorten mu-law"].get("long") is None
    if fallback_shorten:
        notes.append(f"SPHERE shorten: no shorten writer available; throughput measured by reading "
                     f"{SHORTEN_FIXTURE.name} (2 s, real Switchboard audio) repeatedly; no memory ratio")

    rows = []
    for name, paths in cases.items():
        row = {"case": name}
        for label in ("short", "long"):
            p = paths.get(label)
            row[f"{label}_mem"] = run_child(p, trace=True) if p else None
            row[f"{label}_size"] = p.stat().st_size / 1e6 if p else None
        if paths.get("long"):
            row["speed"] = run_child(paths["long"], trace=False)
        elif name.startswith("SPHERE shorten"):
            row["speed"] = run_child(SHORTEN_FIXTURE, trace=False, repeat=600)  # 600 x 2 s = 20 min of audio
        else:
            row["speed"] = None
        rows.append(row)

    base = rows[0]["speed"]
    base_xrt = base["audio_s"] / base["cpu_s"] if base else None
    header = (f"{'case':<24} {'MB long':>8} {'peakRSS 1min':>13} {'peakRSS long':>13} {'ratio':>6} "
              f"{'alloc 1min':>11} {'alloc long':>11} {'ratio':>6} {'x realtime/core':>16} {'vs WAV':>7}")
    print()
    print(f"streaming read (read_blocks, 65536-sample blocks); long file = {long_s / 60:g} min; "
          f"peak RSS includes the interpreter (~baseline before the read shown in brackets)")
    print(header)
    print("-" * len(header))
    for row in rows:
        s, l, sp = row["short_mem"], row["long_mem"], row["speed"]

        def mb(kb):
            return f"{kb / 1024:.1f}"

        rss_s = f"{mb(s['hwm_kb'])} [{mb(s['rss_before_kb'])}]" if s else "n/a"
        rss_l = f"{mb(l['hwm_kb'])} [{mb(l['rss_before_kb'])}]" if l else "n/a"
        rss_ratio = f"{l['hwm_kb'] / s['hwm_kb']:.2f}" if s and l else "n/a"
        al_s = f"{s['traced_peak_b'] / 1e6:.2f} MB" if s else "n/a"
        al_l = f"{l['traced_peak_b'] / 1e6:.2f} MB" if l else "n/a"
        al_ratio = f"{l['traced_peak_b'] / s['traced_peak_b']:.2f}" if s and l else "n/a"
        xrt = sp["audio_s"] / sp["cpu_s"] if sp else None
        size = f"{row['long_size']:.1f}" if row["long_size"] else "n/a"
        print(f"{row['case']:<24} {size:>8} {rss_s:>13} {rss_l:>13} {rss_ratio:>6} {al_s:>11} {al_l:>11} "
              f"{al_ratio:>6} {(f'{xrt:,.0f}' if xrt else 'n/a'):>16} "
              f"{(f'{xrt / base_xrt:.2f}' if xrt and base_xrt else 'n/a'):>7}")
    print()
    for row in rows:
        sp = row["speed"]
        if sp:
            print(f"  {row['case']}: {sp['audio_s']:.0f} s of audio decoded in {sp['cpu_s']:.2f} s CPU "
                  f"({sp['wall_s']:.2f} s wall), codec {sp['codec']}")
    if any(r["short_mem"] and not r["short_mem"]["hwm_reset"] for r in rows):
        notes.append("/proc/self/clear_refs not writable: peak RSS includes the warm-up")
    for note in notes:
        print("note:", note)
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
