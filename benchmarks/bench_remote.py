"""Reading source audio by URL vs from local disk, in the same run: probe, sha256 and a full decode.

The bundled sample corpus (data/sample: 12 files, FLAC, SPHERE mu-law, mu-law WAV pairs, ~12 MB, ~10 min
of audio) is read three ways: local paths (the baseline), http:// from a threaded HTTP server with byte
ranges on 127.0.0.1 (the one the tests use), and s3:// from moto's S3 server on 127.0.0.1 through s3fs
(skipped when moto/s3fs are not installed). Loopback has no network latency or bandwidth limit, so the
ratios are the cost of the fsspec/HTTP machinery itself (requests, copies, read-ahead), the floor of what
a real store adds; a real store adds its round trips (tens of ms per request) and bandwidth on top.

Printed per way and per operation: wall seconds (best of --repeat), ms per file, MB/s, x realtime,
the ratio to local, and the HTTP requests per file (http only; counted by the test server). Also the cost of the URL test a local read now pays (``remote.is_url``).

Usage: .venv/bin/python benchmarks/bench_remote.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
sys.path.insert(0, str(REPO / "tests"))

from timing import best_of  # noqa: E402 - benchmarks/ is on sys.path: the scripts run by path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from test_remote import Served

    from twotrack.ingest import remote
    from twotrack.ingest.audio import probe, read_all
    from twotrack.ingest.hashing import sha256_file

    rels = sorted(str(p.relative_to(SAMPLE)) for p in SAMPLE.glob("*/*") if p.suffix in (".flac", ".sph", ".wav"))
    total_mb = sum((SAMPLE / r).stat().st_size for r in rels) / 1e6
    audio_s = sum(probe(SAMPLE / r).duration_s for r in rels)
    ways: dict[str, list[str]] = {"local": [str(SAMPLE / r) for r in rels]}
    counters: dict[str, object] = {}

    http = Served(SAMPLE)
    ways["http"] = [f"{http.url}/{r}" for r in rels]
    counters["http"] = http

    moto = None
    try:
        import s3fs
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        os.environ.update(AWS_ENDPOINT_URL=f"http://{host}:{port}", AWS_ACCESS_KEY_ID="fake",
                          AWS_SECRET_ACCESS_KEY="fake", AWS_DEFAULT_REGION="us-east-1")
        fs = s3fs.S3FileSystem()
        fs.mkdir("bench")
        for r in rels:
            fs.put_file(str(SAMPLE / r), f"bench/sample/{r}")
        ways["s3"] = [f"s3://bench/sample/{r}" for r in rels]
    except ImportError as exc:
        print(f"s3:// skipped ({exc}); pip install 'twotrack[remote]' moto[server]")

    ops = {
        "probe": lambda paths: [probe(p) for p in paths],
        "sha256": lambda paths: [sha256_file(p) for p in paths],
        "decode": lambda paths: [read_all(p) for p in paths],
    }
    print(f"{len(rels)} files, {total_mb:.1f} MB, {audio_s / 60:.1f} min of audio; best of {args.repeat}")
    for paths in ways.values():  # warm: imports, connection pools, numba caches
        for fn in ops.values():
            fn(paths[:1])
    base: dict[str, float] = {}
    print(f"{'way':6} {'op':7} {'seconds':>8} {'ms/file':>8} {'MB/s':>8} {'x realtime':>11} {'vs local':>9} "
          f"{'requests/file':>14}")
    for way, paths in ways.items():
        for op, fn in ops.items():
            before = getattr(counters.get(way), "requests", 0)
            t, _ = best_of(lambda: fn(paths), args.repeat)
            reqs = (getattr(counters.get(way), "requests", 0) - before) / (args.repeat * len(paths))
            base.setdefault(op, t) if way == "local" else None
            ratio = t / base[op]
            req_text = f"{reqs:.1f}" if way in counters else "-"
            mbs = f"{total_mb / t:8.1f}" if op != "probe" else f"{'-':>8}"  # a probe reads headers only
            print(f"{way:6} {op:7} {t:8.3f} {t / len(paths) * 1e3:8.2f} {mbs} {audio_s / t:11.0f} {ratio:8.2f}x "
                  f"{req_text:>14}")

    # What a local read pays for URL support: one regex test per call.
    n = 200_000
    p = ways["local"][0]
    t0 = time.perf_counter()
    for _ in range(n):
        remote.is_url(p)
    per_call = (time.perf_counter() - t0) / n
    probe_local = base["probe"] / len(rels)
    print(f"remote.is_url on a local path: {per_call * 1e9:.0f} ns per call; a local probe takes "
          f"{probe_local * 1e6:.0f} us ({per_call / probe_local * 100:.3f} % of it)")
    http.close()
    if moto is not None:
        moto.stop()


if __name__ == "__main__":
    main()
