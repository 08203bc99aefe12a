"""Local process pool vs Ray on the same generated corpus, Ray's overhead, and driver memory.

Run: .venv/bin/python benchmarks/bench_ray.py [--recordings 24] [--seconds 10] [--items 20000] [--only plan]

Prints, in one run:

1. **Work phase, 1 and 2 CPUs**: the scan's plan for one corpus (excerpts of the bundled dialogues,
   two-track WAV), ``scan_one`` over its jobs through ``LocalExecutor(cpus)`` and through
   ``RayExecutor`` on a local Ray instance with ``cpus`` CPUs: wall, x realtime, the ratio to the
   local pool, and the parallelism reached (sum of per-recording seconds / wall). Ray is timed on
   its first pass (the workers import the stages, as the pool's workers do on every scan) and on
   warm workers; ``ray.init`` is timed on its own.
1b. **The whole scan** (discovery, plan, work, the single writer) into a fresh workspace at 2 CPUs:
   wall, the driver's peak RSS growth, and the writer's commit time and capacity.
2. **Overhead per recording**: a near-empty function mapped over many small items, one item per Ray
   task vs batched, and through the local pool, as microseconds per item.
3. **Driver memory under back-pressure**: a lazy stream of N and 10 x N items (1 KiB each) through
   Ray with the in-flight window vs with no window (everything submitted at once): the growth of
   the driver's RSS. With the window it stays flat as N grows; without it, it grows with N.
3b. **Driver memory of discovery and plan**: N and 10 x N real two-track WAVs (hard links to one
   0.1 s file, 10,000 to a folder) discovered and planned against an empty workspace, every file
   probed, stat'ed and hashed, jobs pulled one by one and dropped as an executor's window would:
   the growth of the driver's RSS for the scan's streamed discovery + plan, against discovery held
   in memory as lists (the baseline). ``--only plan`` runs this part alone (no Ray needed).
4. **Ray Data** (when ``ray.data`` imports: it needs pandas, i.e. ``ray[data]``): the same
   near-empty map as a Ray Data ``map_batches`` stream, for the per-item cost and the start-up.

The machine's load average is printed too: on a shared machine, read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # a local instance on 127.0.0.1 only

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample" / "clean"
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


class PeakRSS:
    """Samples this process's resident memory every few ms; ``peak - start`` is the growth."""

    def __init__(self, every_s: float = 0.01):
        self.every_s, self.start, self.peak = every_s, 0, 0
        self._stop = threading.Event()

    def __enter__(self):
        gc.collect()
        self.start = self.peak = rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.every_s):
            self.peak = max(self.peak, rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def make_corpus(folder: Path, n: int, seconds: float) -> float:
    """``n`` two-track WAV excerpts of the sample dialogues (different windows); returns the audio seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted(SAMPLE.glob("*.flac"))
    total = 0.0
    for i in range(n):
        src = sources[i % len(sources)]
        info = sf.info(str(src))
        span = info.duration - seconds
        start = (i // len(sources)) * 7.3 % max(span, 1e-9)
        data, rate = sf.read(str(src), start=int(start * info.samplerate), frames=int(seconds * info.samplerate),
                             dtype="int16", always_2d=True)
        sf.write(str(folder / f"r{i:04d}.wav"), data, rate, subtype="PCM_16")
        total += len(data) / rate
    return total


def timed_scan(corpus: Path, executor, workdir: Path, name: str) -> dict:
    from twotrack.run import scan
    from twotrack.store import Workspace

    ws = Workspace(workdir / name, create=True)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        summary = scan([corpus], ws, executor=executor)
        wall = time.perf_counter() - t0
    assert summary.status == "completed" and summary.failed == 0, summary.to_dict()
    return {"wall": wall, "audio": summary.audio_scanned_s, "n": summary.scanned, "rss_mb": mem.growth_mb,
            "commit_s": summary.commit_s}


def plan_jobs(corpus: Path, ws_path: Path) -> list:
    """The scan's plan for ``corpus`` against an empty workspace (what ``scan`` hands its executor)."""
    from twotrack.config import Config
    from twotrack.run.keys import stage_keys, unavailable_stages
    from twotrack.run.scanning import _discover, make_plan
    from twotrack.store import Workspace

    config = Config()
    unavailable = unavailable_stages()
    keys = stage_keys(config, unavailable)
    with _discover([str(corpus)], config) as found:
        return list(make_plan(Workspace(ws_path, create=True), found, config, keys, unavailable).jobs)


def timed_map(executor, jobs: list) -> dict:
    from twotrack.run.worker import crash_outcome, scan_one

    t0 = time.perf_counter()
    outcomes = list(executor.map_unordered(scan_one, jobs, on_crash=crash_outcome))
    wall = time.perf_counter() - t0
    assert not any(o.failed for o in outcomes) and len(outcomes) == len(jobs)
    return {"wall": wall, "audio": sum(o.audio_s for o in outcomes), "busy": sum(o.seconds for o in outcomes)}


def tiny(x):
    """The near-empty per-item function: a small array in, a smaller one out (like a short result)."""
    return (x * 2).astype(np.float16)


def items(n: int, size: int = 256):
    """A lazy stream of ``n`` small arrays (``size`` float32 each: 1 KiB)."""
    base = np.arange(size, dtype=np.float32) / size
    for i in range(n):
        yield base + (i % 100)


def linked_corpus(n: int, folder: Path) -> None:
    """``n`` two-track WAVs on distinct paths, 10,000 to a folder: hard links to a 0.1 s file, so
    discovery probes and the plan stats and hashes every one for real, at little disk cost."""
    per_inode = 50_000  # file systems cap the links to one inode (ext4: 65,000)
    for i in range(n):
        path = folder / f"f{i // 10_000:03d}" / f"r{i:07d}.wav"
        if path.exists():
            continue
        src = folder.parent / f"{folder.name}.src{i // per_inode}.wav"  # outside the corpus
        if not src.exists():
            folder.mkdir(parents=True, exist_ok=True)
            sf.write(str(src), np.zeros((800, 2), dtype=np.int16), 8000, subtype="PCM_16")
        path.parent.mkdir(parents=True, exist_ok=True)
        os.link(src, path)


def plan_memory(n: int, workdir: Path) -> dict:
    """Driver RSS growth for ``n`` files: discovery held in memory as lists (the baseline) against
    the streamed discovery and plan the scan uses (jobs pulled one by one and dropped)."""
    from twotrack.config import Config
    from twotrack.ingest.discover import scan as discover_in_memory
    from twotrack.run.keys import stage_keys, unavailable_stages
    from twotrack.run.scanning import _discover, make_plan
    from twotrack.store import Workspace, queries

    config = Config()
    unavailable = unavailable_stages()
    keys = stage_keys(config, unavailable)
    corpus = workdir / f"plan_files_{n}"
    linked_corpus(n, corpus)
    ws = Workspace(workdir / f"plan_ws_{n}", create=True)
    queries.plan_view(ws, ["warm-up"], ["warm-up"])  # one-time imports and connections
    discover_in_memory([str(corpus / "f000")], config, hash_files=False)
    with PeakRSS() as held:
        t0 = time.perf_counter()
        found = discover_in_memory([str(corpus)], config, hash_files=False)
        held_s = time.perf_counter() - t0
        assert len(found.recordings) == n
    del found
    with PeakRSS() as streamed:
        t0 = time.perf_counter()
        with _discover([str(corpus)], config) as stream:
            plan = make_plan(ws, stream, config, keys, unavailable)
        count = 0
        for job in plan.jobs:  # what the executor does: pull one, ship it, forget it
            count += 1
        del plan, job
        wall = time.perf_counter() - t0
    assert count == n
    return {"n": n, "held_mb": held.growth_mb, "held_s": held_s, "streamed_mb": streamed.growth_mb, "wall": wall}


def report_plan_memory(n: int, workdir: Path) -> None:
    import shutil

    print("\n3b. driver RSS growth of discovery and plan over real files (probe, stat, hash every one)")
    print("   baseline: discovery held in memory as lists; streamed: the scan's discovery + plan, jobs pulled and dropped")
    runs = [plan_memory(k, workdir) for k in (n, 10 * n)]
    for r in runs:
        print(f"   N={r['n']:>8}: baseline +{r['held_mb']:7.1f} MB ({r['held_mb'] * 2**20 / r['n']:5.0f} B/recording, "
              f"{r['held_s']:5.1f} s); streamed +{r['streamed_mb']:6.1f} MB "
              f"({r['streamed_mb'] * 2**20 / r['n']:4.0f} B/recording, {r['wall']:5.1f} s with the plan); "
              f"streamed / baseline {r['streamed_mb'] / max(r['held_mb'], 1e-9):.2f}")
    print(f"   growth from N to 10N: baseline {runs[1]['held_mb'] - runs[0]['held_mb']:+.1f} MB, "
          f"streamed {runs[1]['streamed_mb'] - runs[0]['streamed_mb']:+.1f} MB")
    for k in (n, 10 * n):
        shutil.rmtree(workdir / f"plan_files_{k}", ignore_errors=True)


def ray_session(ray, cpus: int) -> float:
    if ray.is_initialized():
        ray.shutdown()
    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
    # The benchmark's own functions travel by value (the workers cannot import this script).
    import sys

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    return time.perf_counter() - t0


def per_item_us(executor, n: int) -> float:
    t0 = time.perf_counter()
    count = sum(1 for _ in executor.map_unordered(tiny, items(n)))
    assert count == n
    return (time.perf_counter() - t0) / n * 1e6


# ---------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recordings", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each recording")
    ap.add_argument("--items", type=int, default=20000, help="N for the driver-memory parts 3 and 3b (10 x N also runs)")
    ap.add_argument("--repeats", type=int, default=2, help="local and warm Ray scans: best of this many")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--only", choices=["plan"], default=None, help="run one part alone (plan: part 3b)")
    args = ap.parse_args()

    if args.only == "plan":
        import shutil

        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_ray_"))
        report_plan_memory(args.items, workdir)
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        return

    import ray

    from twotrack.run import LocalExecutor
    from twotrack.run.ray_executor import RayExecutor

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_ray_"))
    corpus = workdir / "corpus"
    audio_s = make_corpus(corpus, args.recordings, args.seconds)
    print(f"corpus: {args.recordings} two-track recordings x {args.seconds:.0f} s = {audio_s / 60:.1f} min of audio; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    n_small = 2000
    us_local = per_item_us(LocalExecutor(2), n_small)  # before any Ray session exists in this process

    # 1. the work phase: the plan's jobs through each executor -----------------------------------
    jobs = plan_jobs(corpus, workdir / "plan")

    def best(runs):  # the machine is shared: the fastest of the repeats is the least disturbed
        return min(runs, key=lambda r: r["wall"])

    work, inits = {}, {}
    for cpus in (1, 2):
        work[("local", cpus)] = best([timed_map(LocalExecutor(cpus), jobs) for _ in range(args.repeats)])
        inits[cpus] = ray_session(ray, cpus)
        ex = RayExecutor()
        work[("ray cold", cpus)] = timed_map(ex, jobs)
        work[("ray warm", cpus)] = best([timed_map(ex, jobs) for _ in range(args.repeats)])
        work[("ray warm", cpus)]["tasks"] = ex.stats["tasks"]
    print("\n1. work phase: scan_one over the plan's jobs (x realtime = audio s / wall s; parallelism = "
          "sum of per-recording seconds / wall)")
    print(f"   {'executor':<10} {'cpus':>4} {'wall s':>8} {'x realtime':>11} {'vs local':>9} {'parallelism':>12}")
    for (kind, cpus), r in sorted(work.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        ratio = work[("local", cpus)]["wall"] / r["wall"]
        print(f"   {kind:<10} {cpus:>4} {r['wall']:>8.2f} {r['audio'] / r['wall']:>11.1f} {ratio:>8.2f}x "
              f"{r['busy'] / r['wall']:>12.2f}")
    for cpus in (1, 2):
        print(f"   ray.init with {cpus} CPU(s): {inits[cpus]:.1f} s (once per session, not in the walls above)")
    sp_local = work[("local", 1)]["wall"] / work[("local", 2)]["wall"]
    sp_ray = work[("ray warm", 1)]["wall"] / work[("ray warm", 2)]["wall"]
    print(f"   speed-up 1 -> 2 CPUs: local {sp_local:.2f}x, ray (warm) {sp_ray:.2f}x")
    w2 = work[("ray warm", 2)]
    print(f"   ray warm, 2 CPUs: {w2['tasks']} tasks for {args.recordings} recordings; per-recording CPU seconds "
          f"ray {w2['busy'] / args.recordings * 1e3:.0f} ms vs local "
          f"{work[('local', 2)]['busy'] / args.recordings * 1e3:.0f} ms")

    # 1b. end to end: the whole scan into a workspace, 2 CPUs ----------------------------------
    e2e = {"local": best([timed_scan(corpus, LocalExecutor(2), workdir, f"local{k}") for k in range(args.repeats)]),
           "ray warm": best([timed_scan(corpus, RayExecutor(), workdir, f"ray{k}") for k in range(args.repeats)])}
    print("\n1b. the whole scan (discover, plan, work, single writer) into a fresh workspace, 2 CPUs")
    print(f"   {'executor':<10} {'wall s':>8} {'x realtime':>11} {'vs local':>9} {'driver MB':>10} {'commit s':>9}")
    for kind, r in e2e.items():
        print(f"   {kind:<10} {r['wall']:>8.2f} {r['audio'] / r['wall']:>11.1f} "
              f"{e2e['local']['wall'] / r['wall']:>8.2f}x {r['rss_mb']:>10.1f} {r['commit_s']:>9.2f}")
    commit = e2e["ray warm"]
    print(f"   the single writer: {commit['commit_s']:.2f} s of commits for {commit['n']} recordings "
          f"({commit['commit_s'] / commit['wall']:.0%} of the wall, in its own thread): about "
          f"{commit['n'] / max(commit['commit_s'], 1e-9):.0f} recordings/s of capacity at this batch size")

    # 2. overhead per item ----------------------------------------------------------------------
    batched = RayExecutor(max_batch=64)
    single = RayExecutor(max_batch=1)
    per_item_us(single, 200)  # warm the workers
    us_single = per_item_us(single, n_small)
    us_batched = per_item_us(batched, n_small * 5)
    print("\n2. overhead per item (a near-empty function, 2 CPUs, warm workers)")
    print(f"   ray, one item per task:  {us_single:9.0f} us/item")
    print(f"   ray, 64 items per task:  {us_batched:9.0f} us/item  ({us_single / us_batched:.0f}x less)")
    print(f"   local pool (pipes):      {us_local:9.0f} us/item  (includes starting 2 worker processes)")

    # 3. driver memory --------------------------------------------------------------------------
    print("\n3. driver RSS growth streaming 1 KiB items through Ray, 64 items per task")
    rows = []
    sum(1 for _ in RayExecutor(max_batch=64).map_unordered(tiny, items(args.items)))  # one-time allocations
    for label, window in (("window 4 (2 per CPU)", None), ("no window", 10**9)):
        for n in (args.items, 10 * args.items):
            ex = RayExecutor(max_batch=64, max_in_flight=window)
            with PeakRSS() as mem:
                t0 = time.perf_counter()
                count = sum(1 for _ in ex.map_unordered(tiny, items(n)))
                wall = time.perf_counter() - t0
            assert count == n
            rows.append((label, n, mem.growth_mb, ex.stats["max_in_flight"], wall))
            print(f"   {label:<22} N={n:>8}: +{mem.growth_mb:7.1f} MB, at most {ex.stats['max_in_flight']:>5} tasks "
                  f"in flight, {wall:6.1f} s")
    w_small, w_big = rows[0][2], rows[1][2]
    u_small, u_big = rows[2][2], rows[3][2]
    print(f"   growth from N to 10N: window {w_big - w_small:+.1f} MB, no window {u_big - u_small:+.1f} MB")

    report_plan_memory(args.items, workdir)

    # 4. Ray Data -------------------------------------------------------------------------------
    print("\n4. Ray Data map_batches (the alternative to tasks)")
    try:
        import ray.data  # noqa: F401
    except ImportError as exc:
        print(f"   not measured: ray.data does not import here ({exc}); it needs ray[data] (pandas)")
    else:
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        ray.data.DataContext.get_current().enable_progress_bars = False

        def double(batch):
            return {"y": [tiny(x) for x in batch["x"]]}

        for n in (n_small, n_small * 5):
            t0 = time.perf_counter()
            ds = ray.data.from_items([{"x": x} for x in items(n)]).map_batches(double, batch_size=64)
            count = sum(1 for _ in ds.iter_rows())
            wall = time.perf_counter() - t0
            assert count == n
            print(f"   N={n:>6}, 64 per batch: {wall / n * 1e6:9.0f} us/item, {wall:.1f} s in all "
                  f"(tasks, 64 per task: {us_batched:.0f} us/item)")
        t0 = time.perf_counter()
        sum(1 for _ in ray.data.from_items([{"x": x} for x in items(1)]).map_batches(double).iter_rows())
        print(f"   one item end to end: {time.perf_counter() - t0:.2f} s (tasks: one item costs {us_single / 1e3:.1f} ms)")
    ray.shutdown()


if __name__ == "__main__":
    main()
