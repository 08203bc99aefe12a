"""Words stage against the anchor, in one run, on the sample dialogues (clean and telephone renditions).

Anchor: plain faster-whisper over each whole channel with the same model and beam size (word timestamps
on, its default settings otherwise), which is what a per-channel annotate script does.
Prints, per model: seconds and x realtime per core for both (one CTranslate2 thread each, one run each:
a run takes seconds, and the machine is shared), the speed ratio, the share of gold IPUs whose first
recognised word starts within +-50 ms of the gold onset (anchor, stage raw, stage re-timed), the share of
recognised words lying where only the other speaker talks, and WER on the two LibriSpeech utterances whose
true text is at hand (benchmarks/data/librispeech).

    python benchmarks/bench_words.py [--models tiny.en,base] [--per-track]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from twotrack.config import Config  # noqa: E402
from twotrack.ingest.annotations import read_ctm  # noqa: E402
from twotrack.ingest.clock import recording_clock  # noqa: E402
from twotrack.ingest.manifest import read_manifest  # noqa: E402
from twotrack.model import Word  # noqa: E402
from twotrack.run import stages  # noqa: E402
from twotrack.words import WordsConfig, load_model, score, transcribe_tracks  # noqa: E402
from twotrack.words.transcribe import to_whisper_rate  # noqa: E402

LIBRI = ROOT / "benchmarks" / "data" / "librispeech"


def inputs():
    """(rendition, id, samples, rate, activity, bleed_db, gold words) for the clean and telephone renditions,
    activity from twotrack's own activity stage (no gold goes into the input); and its seconds."""
    cfg = Config()
    found = read_manifest(ROOT / "data" / "sample" / "manifest.csv", cfg, hash_files=False)
    out, t_act = [], 0.0
    for rec in found.recordings:
        kind = rec.recording_id.split("/")[0]
        if kind not in ("clean", "telephone"):
            continue
        dec = stages.decode_recording(rec, cfg)
        chk = stages.check_recording(dec, rec, cfg)
        t0 = time.perf_counter()
        act, _, _ = stages.detect_activity(dec, rec, cfg, chk)
        t_act += time.perf_counter() - t0
        gold = read_ctm(ROOT / "data" / "sample" / "gold" / f"{rec.recording_id.split('/')[1]}.ctm")
        segs = [[(s.start, s.end) for s in a.segments] for a in sorted(act, key=lambda a: a.track)]
        # the samples the words stage reads: the decoded tracks on A's clock (run/stages.transcribe_recording)
        clock = recording_clock(rec, chk, dec.sample_rate, dec.duration_s)
        samples = np.concatenate(list(dec.blocks(clock=clock.fix)), axis=1)
        out.append((kind, rec.recording_id, samples, dec.sample_rate, segs, chk.bleed_db, gold))
    return out, t_act


def anchor(model, samples, rate, beam_size):
    """Plain faster-whisper over each whole channel."""
    x16 = to_whisper_rate(samples, rate)
    words = []
    for t, ch in enumerate(x16):
        segments, _ = model.transcribe(ch, language="en", beam_size=beam_size, best_of=beam_size,
                                       word_timestamps=True)
        words += [Word("", t, w.start, w.end, w.word.strip()) for s in segments for w in (s.words or ())]
    return words


def wer_rows(cfg):
    refs = dict(line.split(" ", 1) for line in (LIBRI / "transcripts.txt").read_text().splitlines() if line)
    out = {}
    for mode in ("none", "align+snap"):
        err = n = 0
        for utt, ref in refs.items():
            x, rate = sf.read(LIBRI / f"{utt}.flac", dtype="float32")
            res = transcribe_tracks(x[None, :], rate, [[(0.0, len(x) / rate)]], None,
                                    dataclasses.replace(cfg, retime=mode))
            e, m = score.wer(ref, " ".join(w.text for w in res.words))
            err, n = err + e, n + m
        out[mode] = (err, n)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="tiny.en,base")
    ap.add_argument("--beam-size", type=int, default=WordsConfig().beam_size)
    ap.add_argument("--per-track", action="store_true", help="one recogniser pass per track (joint_tracks off)")
    args = ap.parse_args()
    data, t_act = inputs()
    total_s = sum(d[2].shape[1] / d[3] for d in data)
    print(f"{len(data)} recordings, {total_s:.0f} s ({total_s * 2:.0f} track-seconds); activity stage {t_act:.1f} s "
          f"(already run by the scan; not counted below)")
    rows = []
    for name in args.models.split(","):
        cfg = WordsConfig(model=name, multilingual_model=None, beam_size=args.beam_size,
                          joint_tracks=not args.per_track)
        model, _ = load_model(name)  # load once, outside the timings
        acc = {k: {"stage": 0.0, "anchor": 0.0, "hits": [0, 0, 0], "n": 0, "xt": [0, 0, 0, 0], "dec": 0.0,
                   "cpu": [0.0, 0.0]} for k in ("clean", "telephone")}
        for kind, rid, x, rate, act, bleed, gold in data:
            a = acc[kind]
            t0, c0 = time.perf_counter(), time.process_time()
            res = transcribe_tracks(x, rate, act, bleed, cfg)
            a["stage"] += time.perf_counter() - t0
            a["cpu"][0] += time.process_time() - c0
            a["dec"] += res.decoded_s
            raw = transcribe_tracks(x, rate, act, bleed, dataclasses.replace(cfg, retime="none", crosstalk_rule=False))
            t0, c0 = time.perf_counter(), time.process_time()
            anc = anchor(model, x, rate, args.beam_size)
            a["anchor"] += time.perf_counter() - t0
            a["cpu"][1] += time.process_time() - c0
            for i, words in enumerate((anc, raw.words, res.words)):
                a["hits"][i] += score.onset_share(words, gold)[0]
            a["n"] += score.onset_share(res.words, gold)[1]
            b1, n1 = score.crosstalk_share(anc, gold)
            b2, n2 = score.crosstalk_share(res.words, gold)
            a["xt"] = [a["xt"][0] + b1, a["xt"][1] + n1, a["xt"][2] + b2, a["xt"][3] + n2]
            print(f"  {name} {rid}: stage {res.decoded_s:.0f} s decoded, {len(res.words)} words, "
                  f"dropped {res.dropped_crosstalk}, alignment failures {res.alignment_failures}", flush=True)
        wer = wer_rows(cfg)
        for kind, a in acc.items():
            dur = sum(d[2].shape[1] / d[3] for d in data if d[0] == kind)
            rows.append((name, kind, a, dur, wer))
    print()
    print(f"{'model':8} {'set':9} {'stage s':>8} {'anchor s':>9} {'ratio':>6} {'stage xRT/core':>15} "
          f"{'decoded':>8} | {'+-50ms: anchor':>14} {'raw':>6} {'retimed':>8} | {'xtalk anchor':>12} {'stage':>6}")
    for name, kind, a, dur, _ in rows:
        n = a["n"]
        print(f"{name:8} {kind:9} {a['stage']:8.1f} {a['anchor']:9.1f} {a['anchor'] / a['stage']:6.2f} "
              f"{dur / a['stage']:15.1f} {a['dec'] / (2 * dur):8.0%} | {a['hits'][0] / n:14.3f} {a['hits'][1] / n:6.3f} "
              f"{a['hits'][2] / n:8.3f} | {a['xt'][0] / max(a['xt'][1], 1):12.3f} {a['xt'][2] / max(a['xt'][3], 1):6.3f}")
    print()
    # CPU seconds of this process (CTranslate2 and pocketsphinx on one thread each): steadier than wall time
    # on a shared machine
    for name, kind, a, dur, _ in rows:
        print(f"CPU {name} {kind}: stage {a['cpu'][0]:.1f} s, anchor {a['cpu'][1]:.1f} s, "
              f"ratio {a['cpu'][1] / a['cpu'][0]:.2f}, stage {dur / a['cpu'][0]:.1f} x realtime per CPU second")
    print()
    for name in dict.fromkeys(r[0] for r in rows):
        wer = next(r[4] for r in rows if r[0] == name)
        print(f"WER {name} on 2 LibriSpeech test-other utterances (true text): "
              + ", ".join(f"{mode}: {e}/{m} = {e / m:.1%}" for mode, (e, m) in wer.items()))
    print("xRT/core: recording seconds per second of one core (CTranslate2 and pocketsphinx on one thread); "
          "decoded: share of track audio given to the recogniser.")


if __name__ == "__main__":
    main()
