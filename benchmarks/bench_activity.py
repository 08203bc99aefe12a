"""Voice activity speed, agreement and memory on two-track 8 kHz telephone audio (one command).

    .venv/bin/python benchmarks/bench_activity.py [--minutes 10] [--sph data/sample/telephone/demo01_367_1688.sph]

Measured in one run, against a baseline measured in the same run:
- throughput in x realtime per core (recording duration / CPU seconds of this single-threaded process):
  the reference single-stream silero loop (one model call per 32 ms window per track), the batched
  silero streams over every window, and the full pipeline (energy gate + batched silero + refiner +
  crosstalk rule + turn-taking events), all over the same tiled recording;
- agreement of the pipeline's final speech labels (10 ms frames) with the same pipeline fed by the
  single-stream probabilities, and of the plain hysteresis labels of batched vs single-stream silero;
- peak resident memory of the streaming pipeline on a 1-minute and a 60-minute recording (each in its
  own process, the audio generated block by block so only the pipeline holds memory).
CPU time, not wall time, so other work on a shared machine disturbs the numbers less.

``--noisy-memory [--baseline-src DIR]`` measures only the noisy-edge rule's memory (docs/activity.md
"Noisy edges"): the same call with pink noise at 10 dB SNR added block by block (the rule switches on),
10 and 30 minutes, each in its own process: the peak of numpy/Python allocations (tracemalloc) and the
peak resident memory of the activity stage, rule off, and rule on with a second read of the audio and
with none (``reread=None``: everything from the first pass). With ``--baseline-src`` (another source
tree, e.g. ``git archive <commit> src | tar -x -C DIR``) the rule-on rows run on that tree too, in the
same run, as the ``before`` rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPH = ROOT / "data" / "sample" / "telephone" / "demo01_367_1688.sph"


def load_source(path: Path) -> tuple[np.ndarray, int]:
    from twotrack.ingest.audio import read_all

    x, sr = read_all(path)
    if sr != 8000 or x.shape[1] != 2:
        raise SystemExit(f"{path}: expected two-track 8 kHz audio, got {x.shape[1]} ch at {sr} Hz")
    return np.ascontiguousarray(x.T), sr


def tiled_blocks(source: np.ndarray, total: int, block: int):
    """Blocks (2, block) of ``source`` repeated until ``total`` samples, without building the whole."""
    n = source.shape[1]
    pos = 0
    while pos < total:
        take = min(block, total - pos)
        idx = (pos + np.arange(take)) % n
        yield source[:, idx]
        pos += take


def tiled_gold(sph: Path, source_s: float, total_s: float):
    """Gold words of the source (data/sample/gold/<stem>.ctm when present), repeated like the audio."""
    ctm = ROOT / "data" / "sample" / "gold" / f"{sph.stem}.ctm"
    if not ctm.is_file():
        return None
    from twotrack.ingest.annotations import read_gold
    from twotrack.model import Word

    words = [w for ws in read_gold(ctm).values() for w in ws]
    out = []
    for k in range(int(np.ceil(total_s / source_s))):
        off = k * source_s
        out += [Word("tiled", w.track, w.start + off, w.end + off, w.text) for w in words if w.end + off <= total_s]
    return out


def cpu(fn):
    t = time.process_time()
    out = fn()
    return out, time.process_time() - t


def pipeline(blocks, sr, activity=None, reread: bool = True):
    """Full activity + events of one recording from ``blocks()`` (a function: the stage may read the audio
    twice, as the scan's decode lets it; ``reread=False``: it may not)."""
    from twotrack.activity import detect_stream
    from twotrack.config import Config
    from twotrack.turns import extract_events

    cfg = Config()
    frames = detect_stream(blocks(), sr, activity or cfg.activity, reread=blocks if reread else None)
    masks = np.stack([f.mask for f in frames])
    events = extract_events(masks, cfg.turns)
    return frames, events


def noisy_edges_cost(tracks: np.ndarray, sr: int, gold, duration: float, blocks_of) -> None:
    """The noisy-edge rule's cost (docs/activity.md "Noisy edges"): the same audio with pink noise at 10 dB
    SNR per track, where the rule switches on, through the full pipeline with and without it."""
    from twotrack import robustness as rb
    from twotrack.config import ActivityConfig

    rng = np.random.default_rng(10)
    by_track = [[w for w in (gold or []) if w.track == t] for t in range(tracks.shape[0])]
    powers = [rb.speech_power(tracks[t], sr, by_track[t]) for t in range(tracks.shape[0])]
    noisy = rb.add_noise(tracks, np.stack([rb.pink_noise(tracks.shape[1], rng) for _ in tracks]), 10.0, powers)
    configs = {"off": ActivityConfig(denoise_snr_db=0.0),  # no noisy edges
               "v6": ActivityConfig(denoise_onset_floor_window_s=0.0),  # noisy edges without the music onsets
               "on": ActivityConfig()}
    runs = {}
    for _ in range(2):
        for name, cfg in configs.items():
            (frames, _), t = cpu(lambda: pipeline(blocks_of(noisy), sr, cfg))
            runs.setdefault(name, []).append((t, frames))
    t_off, t_v6, t_on = (min(t for t, _ in runs[k]) for k in ("off", "v6", "on"))
    print("\nnoisy edges, the same audio + pink noise at 10 dB SNR per track (the rule switches on; best of 2):")
    print(f"  full pipeline without the rule {t_off:6.2f} CPU s ({duration / t_off:.0f}x realtime), "
          f"with it {t_on:6.2f} s ({duration / t_on:.0f}x): +{(t_on / t_off - 1) * 100:.1f}%")
    print(f"  of which the music onsets' faster band floors (denoise_onset_floor_window_s): {t_v6:6.2f} -> "
          f"{t_on:6.2f} CPU s, +{(t_on / t_v6 - 1) * 100:.1f}%")
    if gold is not None:
        from twotrack.evaluate import evaluate_activity
        from twotrack.model import TrackActivity
        from twotrack.timeline import mask_to_segments

        for name in ("off", "on"):
            masks = [f.mask for f in runs[name][0][1]]
            act = [TrackActivity(t, tuple(mask_to_segments(m))) for t, m in enumerate(masks)]
            r = evaluate_activity({"tiled": act}, {"tiled": gold}, {"tiled": duration})
            print(f"  rule {name:3s}: onset hits {r['ipu_onset_hit_rate']:.3f}  offset hits {r['ipu_offset_hit_rate']:.3f}"
                  f"  frame F1 {r['frame_f1']:.3f}")


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def noisy_blocks(source: np.ndarray, total: int, block: int, gains: np.ndarray, seed: int = 10):
    """``tiled_blocks`` with unit-power pink noise times ``gains`` (per track) added, made block by block
    (the same blocks on every read of the audio)."""
    from twotrack import robustness as rb

    for k, x in enumerate(tiled_blocks(source, total, block)):
        rng = np.random.default_rng((seed, k))
        noise = np.stack([rb.pink_noise(x.shape[1], rng) for _ in x])
        yield (x + gains[:, None].astype(np.float32) * noise).astype(np.float32)


def memory_child(npy: str, minutes: float, mode: str = "plain", gains: np.ndarray | None = None) -> None:
    """Run in a subprocess: stream a tiled recording through the pipeline, print peak memory (MB):
    resident (VmHWM) and the peak of Python/numpy allocations during the pipeline (tracemalloc).
    The 8 kHz source comes decoded in a .npy file, so the file reader's own memory is not counted.
    ``mode``: ``plain``; or, with pink noise times ``gains`` added (``noise_gains``), ``off`` (the noisy-edge
    rule off), ``reread`` (on, a second read of the audio) or ``once`` (on, no second read)."""
    import tracemalloc

    source, sr = np.load(npy), 8000
    from twotrack.activity import silero
    from twotrack.config import ActivityConfig

    silero.session()  # load the model first: its memory is not a function of the recording's length
    base = peak_rss_mb()
    total = int(minutes * 60 * sr)
    if mode == "plain":
        blocks, activity, reread = (lambda: tiled_blocks(source, total, 8 * sr)), None, True
    else:
        blocks = lambda: noisy_blocks(source, total, 8 * sr, gains)  # noqa: E731
        activity = ActivityConfig(denoise_snr_db=0.0) if mode == "off" else ActivityConfig()
        reread = mode != "once"
    tracemalloc.start()
    frames, events = pipeline(blocks, sr, activity, reread)
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"minutes": minutes, "peak_mb": peak_rss_mb(), "before_mb": base,
                      "heap_peak_mb": heap_peak / 2**20, "n_events": len(events),
                      "speech_frames": int(sum(f.mask.sum() for f in frames))}))


def noise_gains(source: np.ndarray, sph: Path, snr_db: float = 10.0) -> np.ndarray:
    """Per track, the gain of unit-power noise ``snr_db`` under the track's speech (its gold words' power)."""
    from twotrack import robustness as rb

    gold = tiled_gold(sph, source.shape[1] / 8000, source.shape[1] / 8000) or []
    powers = [rb.speech_power(source[t], 8000, [w for w in gold if w.track == t]) for t in range(source.shape[0])]
    return np.sqrt(np.asarray(powers) / 10 ** (snr_db / 10))


def peak_memory(source: np.ndarray, minutes: float, mode: str = "plain", src: Path | None = None,
                gains: np.ndarray | None = None) -> dict:
    """``memory_child`` in a fresh process; ``src``: the source tree it imports twotrack from."""
    import os
    import tempfile

    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    with tempfile.TemporaryDirectory() as tmp:
        npy = Path(tmp) / "source.npy"
        np.save(npy, source)
        extra = [] if gains is None else ["--child-gains", ",".join(repr(float(g)) for g in gains)]
        out = subprocess.run([sys.executable, __file__, "--memory-child", str(minutes), "--child-mode", mode,
                              "--sph", str(npy), *extra], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def noisy_memory(source: np.ndarray, sph: Path, baseline: Path | None, lengths=(10.0, 30.0)) -> None:
    """The noisy-edge rule's peak memory against recording length (``--noisy-memory``)."""
    gains = noise_gains(source, sph)
    here = Path(__file__).resolve().parents[1] / "src"
    rows = [("rule off", "off", here), ("rule on, second read", "reread", here), ("rule on, one read", "once", here)]
    if baseline is not None:
        rows += [("  before: rule on, second read", "reread", baseline), ("  before: rule on, one read", "once", baseline)]
    print(f"noisy-edge rule, {sph.name} tiled + pink noise at 10 dB SNR per track, 8 kHz, 2 tracks; peak MB "
          f"during the activity stage (each its own process; tracemalloc heap / resident above the loaded model)")
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  " + "  ".join(f"{m:>4.0f} min heap   RSS" for m in lengths) + "   heap 30/10 min")
    for name, mode, src in rows:
        got = [peak_memory(source, m, mode, src, gains) for m in lengths]
        cells = "  ".join(f"{g['heap_peak_mb']:13.1f} {g['peak_mb'] - g['before_mb']:5.0f}" for g in got)
        print(f"{name:{width}}  {cells}   {got[-1]['heap_peak_mb'] / got[0]['heap_peak_mb']:14.2f}"
              f"   (speech frames at {lengths[-1]:.0f} min: {got[-1]['speech_frames']})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the tiled recording (default 10)")
    ap.add_argument("--sph", type=Path, default=DEFAULT_SPH, help="two-track 8 kHz source to tile")
    ap.add_argument("--noisy-memory", action="store_true", help="only the noisy-edge rule's memory (see above)")
    ap.add_argument("--baseline-src", type=Path, default=None, help="with --noisy-memory: the 'before' source tree")
    ap.add_argument("--memory-child", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-mode", default="plain", help=argparse.SUPPRESS)
    ap.add_argument("--child-gains", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child is not None:
        gains = None if args.child_gains is None else np.array([float(g) for g in args.child_gains.split(",")])
        memory_child(str(args.sph), args.memory_child, args.child_mode, gains)
        return
    if args.noisy_memory:
        noisy_memory(load_source(args.sph)[0], args.sph, args.baseline_src)
        return

    from twotrack.activity import silero
    from twotrack.activity.detect import frames_from
    from twotrack.activity.energy import frame_energy_db
    from twotrack.timeline import hysteresis, resample_to_grid
    from twotrack.config import ActivityConfig
    from twotrack.model import FRAMES

    source, sr = load_source(args.sph)
    # memory first, in fresh processes (before this one holds the 10-minute recording)
    small, large = peak_memory(source, 1.0), peak_memory(source, 60.0)

    total = int(args.minutes * 60 * sr)
    tracks = np.concatenate(list(tiled_blocks(source, total, 60 * sr)), axis=1)
    duration = total / sr
    silero.session()  # model load is not part of any throughput
    print(f"two-track 8 kHz telephone audio: {args.sph.name} tiled to {duration / 60:.1f} min "
          f"({duration:.0f} s); onnxruntime 1 thread; CPU time of this process")

    single, t_single = cpu(lambda: np.stack([silero.probs_single(t, sr) for t in tracks]))
    cfg = ActivityConfig()
    batched, t_batched = cpu(lambda: silero.probs_batched_tracks(
        tracks, sr, cfg.batch_chunk_s, cfg.batch_warmup_s, cfg.batch_group_streams))
    def blocks_of(x):
        return lambda: (x[:, i : i + 8 * sr] for i in range(0, x.shape[1], 8 * sr))

    (frames, events), t_full = cpu(lambda: pipeline(blocks_of(tracks), sr))

    # agreement: the same decisions fed by single-stream probabilities
    n_frames = FRAMES.n_frames(duration)
    energy = np.stack([frame_energy_db(t, sr)[:n_frames] for t in tracks])
    prob_single = np.stack([resample_to_grid(p, silero.WINDOW_S, n_frames) for p in single])
    ref = np.stack([f.mask for f in frames_from(prob_single, energy, cfg)])
    got = np.stack([f.mask for f in frames])
    agree_final = float(np.mean(ref == got))
    agree_raw = float(np.mean([hysteresis(b, cfg.onset, cfg.offset) == hysteresis(s, cfg.onset, cfg.offset)
                               for b, s in zip(batched, single)]))

    rows = [("single-stream silero loop (baseline)", t_single),
            ("batched silero, every window", t_batched),
            ("full pipeline: gate + batched silero + refine + crosstalk + events", t_full)]
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'':{width}}  {'CPU s':>7}  {'x realtime/core':>15}  {'vs baseline':>11}")
    for name, t in rows:
        print(f"{name:{width}}  {t:7.2f}  {duration / t:15.0f}  {t_single / t:10.2f}x")
    print()
    print(f"labels, full pipeline on batched vs on single-stream probabilities: {agree_final * 100:.2f}% of frames agree")
    print(f"labels, plain hysteresis of batched vs single-stream silero:        {agree_raw * 100:.2f}% of frames agree")
    print(f"events found: {len(events)}")
    gold = tiled_gold(args.sph, source.shape[1] / sr, duration)
    if gold is not None:
        from twotrack.timeline import mask_to_segments
        from twotrack.evaluate import evaluate_activity
        from twotrack.model import TrackActivity

        print("against the source's gold words, tiled the same way (which labels are right where they differ):")
        for name, masks in (("on single-stream probabilities", ref), ("on batched probabilities", got)):
            act = [TrackActivity(t, tuple(mask_to_segments(m))) for t, m in enumerate(masks)]
            r = evaluate_activity({"tiled": act}, {"tiled": gold}, {"tiled": duration})
            print(f"  pipeline {name:32s} onset hits {r['ipu_onset_hit_rate']:.3f}  frame precision "
                  f"{r['frame_precision']:.3f} recall {r['frame_recall']:.3f} F1 {r['frame_f1']:.3f}")

    noisy_edges_cost(tracks, sr, gold, duration, blocks_of)

    print()
    print(f"peak resident memory, streaming pipeline:  1 min {small['peak_mb']:.0f} MB   60 min {large['peak_mb']:.0f} MB"
          f"   ratio {large['peak_mb'] / small['peak_mb']:.2f}")
    print(f"  of which above the loaded model ({small['before_mb']:.0f} MB):     1 min {small['peak_mb'] - small['before_mb']:.0f} MB"
          f"   60 min {large['peak_mb'] - large['before_mb']:.0f} MB")
    print(f"peak numpy/Python allocations during it:   1 min {small['heap_peak_mb']:.1f} MB   60 min "
          f"{large['heap_peak_mb']:.1f} MB   (audio of 60 min would be {60 * 60 * sr * 2 * 4 / 2**20:.0f} MB as float32)")
    print()
    checks = [
        ("full pipeline >= 4x the single-stream loop", t_single / t_full >= 4),
        ("full pipeline >= 500x realtime per core", duration / t_full >= 500),
        ("batched labels agree with single-stream on >= 99% of frames", agree_final >= 0.99),
        ("peak memory 60 min / 1 min <= 1.25", large["peak_mb"] / small["peak_mb"] <= 1.25),
    ]
    for name, ok in checks:
        print(f"[{'met' if ok else 'MISSED'}] {name}")


if __name__ == "__main__":
    main()
