"""Load test of the web explorer: 50 concurrent timeline requests on a 10-hour workspace against a 1-hour one.

Builds (once, cached under --dir) two corpora of two-track 8 kHz telephone audio by tiling the bundled
telephone dialogues (``data/sample/telephone``, decoded by twotrack's SPHERE reader) into --file-min minute
calls (random order and offsets, 16-bit WAV): --baseline-hours (default 1) and --hours (default 10). Each is
scanned with the real ``twotrack scan`` (incremental: a rerun of the benchmark skips what is done).

Then, for each workspace, ``twotrack serve`` runs in its own process on 127.0.0.1 (never another address)
with an empty peak cache, and this script:

1. warms it: one full-recording timeline per recording (computes and caches the waveform peaks; the
   time is printed as the cold cost per hour of audio);
2. loads it: --requests timeline requests (default 1000) from --concurrency client threads (default 50),
   each for a random recording and a random window (the whole call, 5 min, 60 s, or 10 s, which is
   deep zoom drawn from decoded audio), 1200 pixels wide; bounded by --max-seconds (default 120);
3. reads the server's resident memory (VmRSS, and its peak VmHWM) from /proc before and after.

Printed per workspace: recordings, hours, cold peak time, requests done, errors, p50/p95/p99/max latency,
throughput, server RSS after warm-up and peak; then the 10-hour / 1-hour ratios of p95 latency and of peak
memory (flat means close to 1). The client threads share the 2 cores with the server, so latencies
include queueing behind 50 concurrent requests on a small machine.

Usage: .venv/bin/python benchmarks/bench_explorer.py [--hours 10] [--baseline-hours 1] [--file-min 15]
       [--requests 1000] [--concurrency 50] [--max-seconds 120] [--dir DIR] [--jobs N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RATE = 8000
HOST = "127.0.0.1"  # the only address this benchmark ever talks to
WIDTH = 1200
WINDOWS_S = (None, 300.0, 60.0, 10.0)  # None: the whole recording


# ---------------------------------------------------------------------------------------------
# corpora and workspaces
# ---------------------------------------------------------------------------------------------


def dialogues() -> list[np.ndarray]:
    from twotrack.ingest.discover import discover
    from twotrack.ingest.tracks import load_tracks

    recs, errors = discover([REPO / "data" / "sample" / "telephone"])
    if errors or not recs:
        raise SystemExit(f"cannot read the sample telephone dialogues: {errors}")
    return [load_tracks(r, RATE).samples for r in recs]


def make_corpus(folder: Path, hours: float, file_min: float, seed: int) -> int:
    """Tiled two-track calls; returns the number of files. Cached by a spec stamp."""
    import soundfile as sf

    spec = {"hours": hours, "file_min": file_min, "seed": seed, "rate": RATE, "v": 1}
    stamp = folder / "corpus.json"
    if stamp.exists() and json.loads(stamp.read_text()) == spec:
        return len(list(folder.glob("*.wav")))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    src = dialogues()
    per_file = int(file_min * 60 * RATE)
    n_files = int(np.ceil(hours * 60 / file_min))
    for i in range(n_files):
        with sf.SoundFile(folder / f"call{i:04d}.wav", "w", RATE, 2, subtype="PCM_16") as out:
            n = 0
            while n < per_file:
                d = src[int(rng.integers(len(src)))]
                part = np.roll(d, -int(rng.integers(d.shape[1])), axis=1)[:, : per_file - n]
                out.write((part * float(rng.uniform(0.6, 1.1))).T)
                n += part.shape[1]
    stamp.write_text(json.dumps(spec))
    return n_files


def twotrack(*args: str, **kw) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("twotrack")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "import sys; from twotrack.cli import main; sys.exit(main())"]
    return subprocess.run(cmd + list(args), **kw)


def scan(corpus: Path, ws: Path, jobs: int) -> float:
    t0 = time.perf_counter()
    res = twotrack("scan", str(corpus), "-w", str(ws), "--jobs", str(jobs), capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"scan of {corpus} failed:\n{res.stdout}\n{res.stderr}")
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# server and client
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_mem(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0]) / 1024
    return out


class Server:
    def __init__(self, ws: Path, cache: Path):
        self.port = free_port()
        exe = Path(sys.executable).with_name("twotrack")
        self.proc = subprocess.Popen(
            [str(exe), "serve", "-w", str(ws), "--host", HOST, "--port", str(self.port), "--cache-dir", str(cache)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"the explorer exited: {self.proc.stdout.read()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("the explorer did not start within 60 s")
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.read()


def recordings(port: int) -> list[dict]:
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    status, body = get(conn, "/api/recordings")
    conn.close()
    if status != 200:
        raise SystemExit(f"/api/recordings answered {status}")
    return json.loads(body)


def timeline_path(rec: dict, window: float | None, rng: random.Random) -> str:
    dur = float(rec["duration_s"])
    from urllib.parse import quote

    rid = quote(rec["recording_id"], safe="/")
    if window is None or window >= dur:
        return f"/api/recordings/{rid}/timeline?width={WIDTH}"
    a = rng.uniform(0, dur - window)
    return f"/api/recordings/{rid}/timeline?start={a:.3f}&end={a + window:.3f}&width={WIDTH}"


def load(port: int, recs: list[dict], n_requests: int, concurrency: int, max_s: float, seed: int) -> dict:
    rng = random.Random(seed)
    paths = [timeline_path(rng.choice(recs), rng.choice(WINDOWS_S), rng) for _ in range(n_requests)]
    lock = threading.Lock()
    next_i = [0]
    lat: list[float] = []
    errors: list[str] = []
    stop_at = time.monotonic() + max_s

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= len(paths) or time.monotonic() > stop_at:
                break
            t0 = time.perf_counter()
            try:
                status, body = get(conn, paths[i])
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=120)
                status, body = -1, str(exc).encode()
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                if status != 200:
                    errors.append(f"{status} {paths[i]} {body[:200]!r}")
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    x = np.asarray(lat) * 1000
    return {"requests": len(lat), "errors": errors, "wall_s": wall, "rps": len(lat) / wall if wall else 0.0,
            "p50": float(np.percentile(x, 50)), "p95": float(np.percentile(x, 95)),
            "p99": float(np.percentile(x, 99)), "max": float(x.max())}


def measure(name: str, ws: Path, args) -> dict:
    cache = Path(tempfile.mkdtemp(prefix="bench-peaks-"))
    srv = Server(ws, cache)
    try:
        started = proc_mem(srv.proc.pid)
        recs = recordings(srv.port)
        conn = http.client.HTTPConnection(HOST, srv.port, timeout=600)
        t0 = time.perf_counter()
        for rec in recs:  # cold: every recording's peaks computed once
            status, body = get(conn, timeline_path(rec, None, random.Random(0)))
            if status != 200:
                raise SystemExit(f"warm-up failed: {status} {body[:300]!r}")
        cold = time.perf_counter() - t0
        conn.close()
        warm = proc_mem(srv.proc.pid)
        res = load(srv.port, recs, args.requests, args.concurrency, args.max_seconds, args.seed)
        after = proc_mem(srv.proc.pid)
    finally:
        srv.stop()
        shutil.rmtree(cache, ignore_errors=True)
    hours = sum(float(r["duration_s"]) for r in recs) / 3600
    return {"name": name, "recordings": len(recs), "hours": hours, "cold_s": cold, "rss_start": started["VmRSS"],
            "rss_warm": warm["VmRSS"], "rss_after": after["VmRSS"], "peak": after["VmHWM"], **res}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, default=10.0)
    ap.add_argument("--baseline-hours", type=float, default=1.0)
    ap.add_argument("--file-min", type=float, default=15.0)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--max-seconds", type=float, default=120.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "twotrack-bench-explorer")
    args = ap.parse_args()

    results = []
    for name, hours, seed in (("baseline", args.baseline_hours, 11), ("large", args.hours, 12)):
        corpus = args.dir / f"corpus-{hours:g}h"
        ws = args.dir / f"ws-{hours:g}h"
        t0 = time.perf_counter()
        n = make_corpus(corpus, hours, args.file_min, seed)
        gen = time.perf_counter() - t0
        scan_s = scan(corpus, ws, args.jobs)
        print(f"{name}: {n} files of {args.file_min:g} min ({hours:g} h) generated in {gen:.1f} s, "
              f"scanned in {scan_s:.1f} s (cached corpora and workspaces are reused: {args.dir})", flush=True)
        results.append(measure(name, ws, args))

    print()
    print(f"explorer load test: {args.concurrency} concurrent clients, timeline requests {WIDTH} px wide "
          f"(windows: whole call / 300 s / 60 s / 10 s), at most {args.requests} requests or {args.max_seconds:g} s")
    head = (f"{'workspace':<10} {'recs':>5} {'hours':>6} {'cold peaks':>11} {'requests':>8} {'errors':>6} "
            f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'req/s':>7} {'RSS warm':>9} {'RSS peak':>9}")
    print(head)
    for r in results:
        print(f"{r['name']:<10} {r['recordings']:>5} {r['hours']:>6.2f} {r['cold_s']:>9.1f} s {r['requests']:>8} "
              f"{len(r['errors']):>6} {r['p50']:>8.0f} {r['p95']:>8.0f} {r['p99']:>8.0f} {r['max']:>8.0f} "
              f"{r['rps']:>7.1f} {r['rss_warm']:>6.0f} MiB {r['peak']:>6.0f} MiB")
    base, big = results
    print(f"cold peak computation: {base['cold_s'] / base['hours']:.1f} s per hour of audio (baseline), "
          f"{big['cold_s'] / big['hours']:.1f} s per hour (large)")
    print(f"ratios large/baseline: hours x{big['hours'] / base['hours']:.1f}, p50 x{big['p50'] / base['p50']:.2f}, "
          f"p95 x{big['p95'] / base['p95']:.2f}, peak memory x{big['peak'] / base['peak']:.2f} "
          f"(RSS growth during the load: baseline {base['rss_after'] - base['rss_warm']:+.0f} MiB, "
          f"large {big['rss_after'] - big['rss_warm']:+.0f} MiB)")
    for r in results:
        for e in r["errors"][:5]:
            print(f"error ({r['name']}): {e}")
    if any(r["errors"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
