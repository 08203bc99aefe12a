"""Collapse: how good and how fast the mono diarization pipeline is (run: .venv/bin/python benchmarks/bench_collapse.py).

Prints, in one run:
1. **Quality on published data**: DER (pyannote.metrics, no collar) of the pipeline on the AMI mono excerpts
   in ../shared/data/ami-mono (CC BY 4.0, reference RTTMs from the pyannote-audio repository), with the
   number of speakers estimated and given, with and without the reference's overlap regions.
2. **Quality on the sample corpus**: the two-track truth (activity of each track) against the mix's
   diarization, and the turn-taking damage, for the three clean sample dialogues.
3. **Speed**: seconds of processing per hour of audio, split into VAD / embeddings / the rest, with the
   ratio against a baseline measured in the same run (the project's VAD alone on the same mix), and the
   embedding step with BLAS on one thread against BLAS left to its default thread count.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from twotrack.activity import detect, detect_tracks, to_activity
from twotrack.voice import encoder as enc
from twotrack.collapse.diarize import DiarizeConfig, diarize_mask
from twotrack.collapse.mix import mix_tracks
from twotrack.collapse.run import score_hypothesis
from twotrack.collapse.score import der
from twotrack.collapse.summary import summarise
from twotrack.ingest.annotations import read_rttm
from twotrack.model import Segment

ROOT = Path(__file__).resolve().parents[1]
AMI = Path(os.environ.get("TWOTRACK_AMI", ROOT.parent / "shared" / "data" / "ami-mono"))
if not AMI.is_dir():
    AMI = Path("/work/shared/data/ami-mono")
AMI_FILES = (("tst00.wav", "debug.test.rttm"), ("dev00.wav", "debug.development.rttm"),
             ("mixture.wav", "mixture.rttm"))


def _pct(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{100 * x:.0f}%"


def ami() -> None:
    print("== AMI mono excerpts (DER, no collar) ==")
    if not AMI.is_dir():
        print(f"   {AMI} not found; skipped")
        return
    cfg = DiarizeConfig()
    rows = []
    for wav, rttm in AMI_FILES:
        x, rate = sf.read(AMI / wav, dtype="float32")
        words = read_rttm(AMI / rttm)
        ref = [(w.speaker, Segment(w.start, w.end)) for w in words]
        n_ref = len({w.speaker for w in words})
        dur = len(x) / rate
        speech = detect(x, rate, cfg.activity).mask
        for mode, k in (("estimated", None), ("given", n_ref)):
            d = diarize_mask(x, rate, speech, k, cfg)
            hyp = d.segments()
            full, no_ovl = der(ref, hyp, dur), der(ref, hyp, dur, skip_overlap=True)
            rows.append((full, no_ovl))
            print(f"   {wav:12s} speakers ref {n_ref} hyp {d.n_speakers} ({mode:9s})  DER {100 * full.der:5.1f}% "
                  f"(missed {100 * full.share('missed'):4.1f}, FA {100 * full.share('false_alarm'):4.1f}, "
                  f"confusion {100 * full.share('confusion'):4.1f})   without overlap {100 * no_ovl.der:5.1f}% "
                  f"(missed {100 * no_ovl.share('missed'):4.1f}, confusion {100 * no_ovl.share('confusion'):4.1f})")
    for mode, sel in (("estimated", slice(0, None, 2)), ("given", slice(1, None, 2))):
        full = sum((r[0] for r in rows[sel]), rows[sel][0][0].__class__(0, 0, 0, 0))
        no_ovl = sum((r[1] for r in rows[sel]), rows[sel][0][1].__class__(0, 0, 0, 0))
        print(f"   pooled ({mode:9s}): DER {100 * full.der:.1f}% ({full.total_s:.0f} s of reference speech), "
              f"without overlap {100 * no_ovl.der:.1f}%")
    print("   for scale: the issue's reference point is about 22% DER on the AMI test set for a strong open system;")
    print("   these are 2 min of audio whose reference turns include pauses (missed speech reads high), not that set.")


def sample() -> None:
    print("== sample corpus (clean dialogues): mix + diarization against the two-track truth ==")
    cfg = DiarizeConfig()
    results, t_vad, t_vad_mix, t_emb, t_all, audio_s = [], 0.0, 0.0, 0.0, 0.0, 0.0
    model = enc.load_encoder()
    for path in sorted((ROOT / "data" / "sample" / "clean").glob("*.flac")):
        x, rate = sf.read(path, dtype="float32")
        tracks = x.T
        activity = to_activity(detect_tracks(tracks, rate, cfg.activity))  # the truth, as the scan finds it
        mono = mix_tracks(tracks)
        t0 = time.perf_counter()
        speech = detect(mono, rate, cfg.activity).mask
        t1 = time.perf_counter()
        d = diarize_mask(mono, rate, speech, 2, cfg)
        t2 = time.perf_counter()
        # the embedding step alone, on the same number of windows
        windows = np.zeros((d.n_windows, int(round(cfg.window_s / 0.01)), enc.N_MELS), np.float32) + 1e-3
        t3 = time.perf_counter()
        model.embed(windows)
        t4 = time.perf_counter()
        t_vad_mix += t1 - t0
        t_all += t2 - t0
        t_emb += t4 - t3
        audio_s += len(mono) / rate
        res = score_hypothesis(path.stem, activity, d.segments(), len(mono) / rate)
        results.append(res)
        r, s = res.damage.rates(), res.der.shares()
        print(f"   {path.stem}: DER {100 * s['der']:4.1f}% (missed {100 * s['missed']:.1f}, FA {100 * s['false_alarm']:.1f},"
              f" confusion {100 * s['confusion']:.1f}); onsets ±50 ms {100 * r['onset_hit_rate']:.0f}%, overlaps "
              f"{100 * r['overlap_recall']:.0f}%, backchannels {100 * r['backchannel_recall']:.0f}%, wrong-speaker "
              f"transfers {100 * r['transfer_wrong_speaker_share']:.0f}%, FTO W1 {1000 * r['fto_wasserstein_s']:.0f} ms")
    summary = summarise(results)
    print("   " + summary["sentence"])
    per_hour = 3600.0 / audio_s
    print("== speed (this machine, one BLAS thread) ==")
    print(f"   pipeline: {t_all * per_hour:.0f} s per hour of audio ({audio_s / t_all:.1f}x realtime); "
          f"baseline VAD alone on the mix: {t_vad_mix * per_hour:.0f} s per hour; ratio pipeline/VAD "
          f"{t_all / t_vad_mix:.1f}x; embeddings {t_emb * per_hour:.0f} s per hour ({100 * t_emb / t_all:.0f}% of the pipeline)")


def overlap_guess() -> None:
    print("== the overlap guess (DiarizeConfig.overlap_margin) on the sample corpus: what it trades ==")
    for margin in (0.0, 0.02, 0.04, 0.08):
        cfg = DiarizeConfig(overlap_margin=margin)
        results = []
        for path in sorted((ROOT / "data" / "sample" / "clean").glob("*.flac")):
            x, rate = sf.read(path, dtype="float32")
            activity = to_activity(detect_tracks(x.T, rate, cfg.activity))
            mono = mix_tracks(x.T)
            d = diarize_mask(mono, rate, detect(mono, rate, cfg.activity).mask, 2, cfg)
            results.append(score_hypothesis(path.stem, activity, d.segments(), len(mono) / rate))
        s = summarise(results)
        d, t = s["der"], s["turn_taking"]
        print(f"   margin {margin:.2f}: DER {100 * d['der']:.1f}% (missed {100 * d['missed']:.1f}, FA {100 * d['false_alarm']:.1f},"
              f" confusion {100 * d['confusion']:.1f}); overlaps found {100 * t['overlap_recall']:.0f}% (time "
              f"{100 * t['overlap_time_recall']:.0f}%), precision {_pct(t['overlap_precision'])}; onsets "
              f"{100 * t['onset_hit_rate']:.0f}%; FTO W1 {1000 * t['fto_wasserstein_s']:.0f} ms")


def blas_threads() -> None:
    model = enc.load_encoder()
    x = np.random.default_rng(0).random((128, 150, enc.N_MELS), np.float32) * 1e-3
    model.embed(x[:8])
    t0 = time.perf_counter()
    model.embed(x, threads=1)
    t1 = time.perf_counter()
    model.embed(x, threads=os.cpu_count() or 1)
    t2 = time.perf_counter()
    print(f"   embeddings of 128 windows: BLAS 1 thread {t1 - t0:.2f} s, {os.cpu_count()} threads {t2 - t1:.2f} s "
          f"(ratio {(t2 - t1) / (t1 - t0):.2f}; on a busy machine many threads wait on each other)")


if __name__ == "__main__":
    ami()
    sample()
    overlap_guess()
    blas_threads()
    sys.exit(0)
