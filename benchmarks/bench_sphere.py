"""SPHERE decode throughput (x realtime, one core) and memory: twotrack's reader vs desphere-native.

Builds a ~10-minute two-channel 8 kHz recording from the bundled telephone dialogues (tiled), writes
it as mu-law, 16-bit pcm (both byte orders), shorten mu-law and shorten pcm (the shorten files come
from the tests' encoder, ``tests/shorten_encode.py``: same stream format as the reference
encoder, fixed predictors only), then times (CPU time of this process), best of ``--repeat`` runs:

  ours-float  ``read_sphere_blocks`` -> float32 blocks (what the scan consumes)
  ours-int16  ``read_sphere`` -> int16 whole file
  baseline    desphere-native 0.1.1 (the decoder desphere itself calls): ``decode_pcm`` for
              uncompressed files, ``shorten_to_pcm`` for shorten, whole file to int16 PCM bytes,
              timed including reading the file; ratio = baseline time / our int16 time
              (> 1: ours is faster). "same" says whether its samples equal ours.

Also printed: numba compile time of the shorten kernel (cold cache vs cached load, in fresh
processes), peak traced memory (tracemalloc: numpy buffers and Python objects) while streaming a
1-minute and a 60-minute file, desphere's pure-Python shorten path on a 20 s excerpt, and the
checksum of ``ex5_p_sh.sph`` as each decoder reads it.

Run: .venv/bin/python benchmarks/bench_sphere.py [--minutes 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))  # the shorten encoder builds test files only: it lives with the tests

from shorten_encode import encode_shorten  # noqa: E402

from twotrack.ingest import sphere  # noqa: E402

TELEPHONE = sorted((ROOT / "data" / "sample" / "telephone").glob("*.sph"))


def build_audio(minutes: float) -> tuple[np.ndarray, int]:
    parts = [sphere.read_sphere(p)[0] for p in TELEPHONE]
    one = np.concatenate(parts)
    rate = 8000
    n = int(minutes * 60 * rate)
    reps = -(-n // len(one))
    return np.tile(one, (reps, 1))[:n], rate


def best_time(fn, repeat: int) -> float:
    """Best CPU seconds of this process (all its threads) over ``repeat`` runs: per-core cost, and
    steadier than wall time on a shared machine (the page cache holds the files)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def ours_float(path: Path) -> None:
    for _ in sphere.read_sphere_blocks(path):
        pass


def baseline_decode(path: Path, shorten: bool) -> np.ndarray:
    import desphere_native

    data = path.read_bytes()
    if shorten:
        head = sphere.parse_header(data[:4096])
        _, _, pcm = desphere_native.shorten_to_pcm(data[head.header_size :])
    else:
        pcm = desphere_native.decode_pcm(data)
    return np.frombuffer(bytes(pcm), "<i2")


def baseline_python_shorten(path: Path) -> list[int]:
    from desphere import shorten as py_shorten

    data = path.read_bytes()
    head = sphere.parse_header(data[:4096])
    return py_shorten.decode(data[head.header_size :])[0]


def compile_times() -> tuple[tuple[float, float], tuple[float, float]]:
    """(wall, cpu) seconds for import + first shorten decode in a fresh process: with an empty
    numba cache (compiles), then with the cache it left (loads)."""
    code = (
        "import time; w = time.perf_counter(); c = time.process_time();"
        "from twotrack.ingest import sphere;"
        f"sphere.read_sphere({str(ROOT / 'tests/data/sphere/ex5_p_sh.sph')!r});"
        "print(time.perf_counter() - w, time.process_time() - c)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT / "src"))

        def run() -> tuple[float, float]:
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            wall, cpu = out.stdout.split()
            return float(wall), float(cpu)

        return run(), run()


def peak_stream_mib(path: Path) -> float:
    tracemalloc.start()
    for _ in sphere.read_sphere_blocks(path):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    (cold_w, cold_c), (warm_w, warm_c) = compile_times()
    print(f"numba shorten kernel, import + first decode in a fresh process: empty cache {cold_c:.1f} s CPU "
          f"({cold_w:.1f} s wall), cached {warm_c:.1f} s CPU ({warm_w:.1f} s wall); "
          f"compile ~{cold_c - warm_c:.1f} s CPU, paid once per machine")

    audio, rate = build_audio(args.minutes)
    duration = len(audio) / rate
    minute = audio[: 60 * rate]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = {}
        for coding, label in [("ulaw", "mu-law"), ("pcm", "pcm 01"), ("pcm", "pcm 10"),
                              ("shorten-ulaw", "shorten mu-law"), ("shorten-pcm", "shorten pcm")]:
            path = tmp / (label.replace(" ", "_") + ".sph")
            fmt = "10" if label == "pcm 10" else "01"
            t = time.perf_counter()
            sphere.write_sphere(path, audio, rate, coding, byte_format=fmt, shorten_encoder=encode_shorten)
            files[label] = (path, coding.startswith("shorten"), time.perf_counter() - t)

        print(f"\nfile: {duration / 60:.1f} min, 2 channels, {rate} Hz (bundled telephone dialogues, tiled); one core")
        print(f"{'coding':<16}{'MB':>7}{'ours-float':>12}{'ours-int16':>12}{'baseline':>11}{'ratio':>8}  same")
        for label, (path, shorten, _) in files.items():
            mb = path.stat().st_size / 1e6
            ref = sphere.read_sphere(path)[0]
            t_float = best_time(lambda: ours_float(path), args.repeat)
            t_int = best_time(lambda: sphere.read_sphere(path), args.repeat)
            try:
                base = baseline_decode(path, shorten)
                same = "yes" if np.array_equal(base.reshape(ref.shape), ref) else f"NO ({int(np.sum(base.reshape(ref.shape) != ref))} samples differ)"
                t_base = best_time(lambda: baseline_decode(path, shorten), args.repeat)
                base_txt, ratio = f"{duration / t_base:>9.0f}x", f"{t_base / t_int:>7.2f}"
            except Exception as exc:  # the baseline may refuse a file
                base_txt, ratio, same = f"{'failed':>10}", f"{'-':>7}", f"({type(exc).__name__}: {exc})"
            print(f"{label:<16}{mb:>7.1f}{duration / t_float:>11.0f}x{duration / t_int:>11.0f}x{base_txt} {ratio}  {same}")

        print("\npeak traced memory while streaming (read_sphere_blocks, 65536-frame blocks):")
        hour = np.tile(audio, (-(-60 * 60 * rate // len(audio)), 1))[: 60 * 60 * rate]
        for coding in ("ulaw", "shorten-pcm"):
            sizes = {}
            for label, x in (("1 min", minute), ("60 min", hour)):
                path = tmp / f"mem_{coding}_{label.replace(' ', '')}.sph"
                sphere.write_sphere(path, x, rate, coding, shorten_encoder=encode_shorten)
                sizes[label] = peak_stream_mib(path)
                path.unlink()
            print(f"  {coding:<12} " + "   ".join(f"{k}: {v:6.1f} MiB" for k, v in sizes.items()))
        del hour

        short = tmp / "short.sph"
        sphere.write_sphere(short, audio[: 20 * rate], rate, "shorten-pcm", shorten_encoder=encode_shorten)
        t_py = best_time(lambda: baseline_python_shorten(short), 1)
        t_ours = best_time(lambda: sphere.read_sphere(short), args.repeat)
        print(f"\ndesphere pure-Python shorten (no native module), 20 s excerpt: {20 / t_py:.0f}x realtime "
              f"(ours {20 / t_ours:.0f}x, ratio {t_py / t_ours:.0f})")
        fixture = ROOT / "tests/data/sphere/ex5_p_sh.sph"
        want = sphere.parse_header(fixture).get("sample_checksum")
        ours = int(sphere.read_sphere(fixture)[0].astype(np.int64).sum()) % 65536
        theirs = int(baseline_decode(fixture, True)[:32000].astype(np.int64).sum()) % 65536
        print(f"ex5_p_sh.sph sample_checksum: header {want}, ours {ours}, desphere-native {theirs}")
        enc = files["shorten pcm"][2]
        print(f"\n(test encoder: writing the {duration / 60:.0f}-min shorten pcm file took {enc:.1f} s; not part of decoding)")


if __name__ == "__main__":
    main()
