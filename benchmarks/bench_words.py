"""Words stage against the anchor, in one run, on the sample dialogues (clean and telephone renditions).

Anchors, both plain faster-whisper over each whole channel with the same model and word timestamps, timed in the
same run: (1) with the stage's beam size (greedy by default), its other settings faster-whisper's defaults: the
strict comparison, where only what the stage reads and how it re-times differ; (2) faster-whisper's own defaults
(beam 5, best of 5), which is how a per-channel annotate script runs it (moshi-finetune's annotate.py calls
whisper_timestamped with ``beam_size=5``): what a team pays today without the stage.
Prints, per model: seconds and x realtime per core for both (one CTranslate2 thread each, one run each:
a run takes seconds, and the machine is shared), the speed ratio, the share of gold IPUs whose first
recognised word starts within +-50 ms of the gold onset (anchor, stage raw, stage re-timed), the share of
recognised words lying where only the other speaker talks, and WER on the two LibriSpeech utterances whose
true text is at hand (benchmarks/data/librispeech).

Real speech (``real_speech_rows``, printed after the table; ``--real-only`` prints only it): WER against true
text on two sets, LibriSpeech (2 read utterances, 35 words) and the MFA stereo recording (52 s of spontaneous
speech, one take per channel, about 120 words of true text in its TextGrid: tests/data/annotations/
michaelandsickmichael.*), with and without fillers (``words.score.spoken_tokens``: fillers ``um``/``uh``/...
dropped on both sides, ``yknow`` spelled ``you know`` on both sides), stage re-timing off and on, and the anchor
(whole channels) on the MFA recording; plus, on the MFA recording, the share of TextGrid utterances whose first
recognised word starts within +-50/100/200 ms of the utterance start (coarse: 7 utterances in all, 0.6-13 s
long; for comparison, the share whose nearest activity-stage onset is that close, which bounds what snapping
can give). ``--show-text`` prints the MFA reference and recognised text.

    python benchmarks/bench_words.py [--models tiny.en,base] [--per-track] [--real-only] [--show-text]
                                     [--windows text|chunks|whisper] [--max-window-s S]

``--windows`` / ``--max-window-s`` set ``words.windows`` / ``words.max_window_s`` for the stage (default: the
config's); the stage's output also reports, for ``text`` windows, how many windows fell back to timestamps.
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
from twotrack.words.models import reproducible_mkl  # noqa: E402
from twotrack.words.stream import to_whisper_rate  # noqa: E402

LIBRI = ROOT / "benchmarks" / "data" / "librispeech"
#: Real spontaneous speech with true text per channel (MIT, Montreal Forced Aligner tests; PROVENANCE.md there).
MFA = ROOT / "tests" / "data" / "annotations" / "michaelandsickmichael"
RETIME = ("none", "align+snap")


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


def anchor(model, samples, rate, beam_size: int | None):
    """Plain faster-whisper over each whole channel; ``beam_size`` None: faster-whisper's own defaults."""
    x16 = to_whisper_rate(samples, rate)
    beams = {} if beam_size is None else {"beam_size": beam_size, "best_of": beam_size}
    words = []
    for t, ch in enumerate(x16):
        segments, _ = model.transcribe(ch, language="en", word_timestamps=True, **beams)
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


def mfa_input():
    """The MFA stereo recording as the words stage reads it: (samples (2, n), rate, activity per track from
    twotrack's own activity stage, bleed_db, TextGrid utterances as Words, one per interval)."""
    import shutil
    import tempfile

    from twotrack.ingest.annotations import read_textgrid

    cfg = Config()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(MFA.with_suffix(".flac"), tmp)  # a manifest names files inside its own folder
        man = Path(tmp) / "manifest.csv"
        man.write_text("recording_id,path,speaker_a,speaker_b,license\n"
                       f"mfa,{MFA.name}.flac,michael,sickmichael,MIT\n")
        found = read_manifest(man, cfg, hash_files=False)
        if not found.recordings:
            raise SystemExit(f"cannot read {MFA}.flac: {found.errors}")
        rec = found.recordings[0]
        dec = stages.decode_recording(rec, cfg)
        chk = stages.check_recording(dec, rec, cfg)
        act, _, _ = stages.detect_activity(dec, rec, cfg, chk)
        clock = recording_clock(rec, chk, dec.sample_rate, dec.duration_s)
        samples = np.concatenate(list(dec.blocks(clock=clock.fix)), axis=1)
    segs = [[(s.start, s.end) for s in a.segments] for a in sorted(act, key=lambda a: a.track)]
    utts = read_textgrid(MFA.with_suffix(".TextGrid"), recording_id="mfa")
    return samples, dec.sample_rate, segs, chk.bleed_db, utts


def _wer_counts(pairs) -> dict[bool, tuple[int, int]]:
    """{fillers kept: (errors, reference words)} over (reference text, recognised text) pairs."""
    out = {}
    for fillers in (True, False):
        got = [score.wer_spoken(ref, hyp, fillers=fillers) for ref, hyp in pairs]
        out[fillers] = (sum(g[0] for g in got), sum(g[1] for g in got))
    return out


def real_speech_rows(name: str, mfa, beam_size: int, **words) -> list[dict]:
    """WER rows (model, set, re-timing, with/without fillers) and the MFA utterance-onset shares for one model,
    with the stage's default language handling off (``multilingual_model`` None, as in the table above; a
    multilingual model then detects the language itself, per track)."""
    cfg = WordsConfig(model=name, multilingual_model=None, beam_size=beam_size, **words)
    refs = dict(line.split(" ", 1) for line in (LIBRI / "transcripts.txt").read_text().splitlines() if line)
    libri = {utt: sf.read(LIBRI / f"{utt}.flac", dtype="float32") for utt in refs}
    x, rate, act, bleed, utts = mfa
    rows = []
    for mode in RETIME:
        c = dataclasses.replace(cfg, retime=mode)
        pairs = []
        for utt, ref in refs.items():
            y, r = libri[utt]
            res = transcribe_tracks(y[None, :], r, [[(0.0, len(y) / r)]], None, c)
            pairs.append((ref, " ".join(w.text for w in res.words)))
        rows.append({"model": name, "set": "librispeech", "retime": mode, "wer": _wer_counts(pairs)})
        t0 = time.perf_counter()
        res = transcribe_tracks(x, rate, act, bleed, c, recording_id="mfa")
        secs = time.perf_counter() - t0
        pairs = [(" ".join(u.text for u in utts if u.track == t), " ".join(w.text for w in res.words if w.track == t))
                 for t in (0, 1)]
        onsets = {tol: score.onset_share(res.words, utts, tolerance_s=tol) for tol in (0.05, 0.1, 0.2)}
        rows.append({"model": name, "set": "mfa", "retime": mode, "wer": _wer_counts(pairs), "onsets": onsets,
                     "seconds": secs, "languages": res.languages, "text": pairs})
    # the anchor (plain faster-whisper over each whole channel): what the stage loses by reading only the
    # activity stage's segments shows as the difference
    model, _ = load_model(name)
    anc = anchor(model, x, rate, beam_size)
    pairs = [(" ".join(u.text for u in utts if u.track == t), " ".join(w.text for w in anc if w.track == t))
             for t in (0, 1)]
    rows.append({"model": name, "set": "mfa", "retime": "anchor", "wer": _wer_counts(pairs), "text": pairs,
                 "onsets": {tol: score.onset_share(anc, utts, tolerance_s=tol) for tol in (0.05, 0.1, 0.2)}})
    plain = anchor(model, x, rate, None)
    pairs = [(" ".join(u.text for u in utts if u.track == t), " ".join(w.text for w in plain if w.track == t))
             for t in (0, 1)]
    rows.append({"model": name, "set": "mfa", "retime": "anchor-fw", "wer": _wer_counts(pairs), "text": pairs,
                 "onsets": {tol: score.onset_share(plain, utts, tolerance_s=tol) for tol in (0.05, 0.1, 0.2)}})
    return rows


def activity_onsets(act, utts, tolerances=(0.05, 0.1, 0.2)) -> dict[float, tuple[int, int]]:
    """{tolerance: (reference utterances with an activity onset on their track that close, utterances)}."""
    out = {}
    for tol in tolerances:
        hits = n = 0
        for t, segs in enumerate(act):
            starts = np.asarray([a for a, _ in segs], np.float64)
            for s, _ in score.ipus(utts, t):
                n += 1
                hits += bool(starts.size and np.min(np.abs(starts - s)) <= tol + 1e-9)
        out[tol] = (hits, n)
    return out


def real_speech(models: list[str], mfa, beam_size: int, **words) -> list[dict]:
    """Every model's real-speech rows, then the activity stage's own onsets on the MFA recording."""
    rows = [r for name in models for r in real_speech_rows(name, mfa, beam_size, **words)]
    return rows + [{"model": "activity", "set": "mfa", "retime": "-", "onsets": activity_onsets(mfa[2], mfa[4])}]


def print_real_speech(rows: list[dict], verbose: bool = False) -> None:
    print()
    print("WER against true text (errors/reference words); fillers: um/uh/... kept or dropped on both sides")
    print(f"{'model':8} {'set':12} {'retime':11} {'with fillers':>18} {'without fillers':>18} | "
          f"{'MFA utterance onsets +-50 / 100 / 200 ms':>42}")
    for r in rows:
        cells = [f"{e}/{n} = {e / max(n, 1):6.1%}" for e, n in (r["wer"][True], r["wer"][False])] if "wer" in r \
            else ["", ""]
        ons = ""
        if "onsets" in r:
            ons = " / ".join(f"{h}/{n}" for h, n in r["onsets"].values())
        if "seconds" in r:
            ons += f"   ({r['seconds']:.1f} s, languages {', '.join(v[0] for v in r['languages'].values())})"
        print(f"{r['model']:8} {r['set']:12} {r['retime']:11} {cells[0]:>18} {cells[1]:>18} | {ons}")
        if verbose and "text" in r:
            for t, (ref, hyp) in enumerate(r["text"]):
                print(f"    track {'AB'[t]} ref: {ref}\n    track {'AB'[t]} hyp: {hyp}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="tiny.en,base")
    ap.add_argument("--beam-size", type=int, default=WordsConfig().beam_size)
    ap.add_argument("--per-track", action="store_true", help="one recogniser pass per track (joint_tracks off)")
    ap.add_argument("--real-only", action="store_true",
                    help="only the real-speech part: WER on LibriSpeech and the MFA recording, MFA utterance onsets")
    ap.add_argument("--show-text", action="store_true", help="print the MFA reference and recognised text")
    ap.add_argument("--windows", default=WordsConfig().windows, help="words.windows for the stage")
    ap.add_argument("--max-window-s", type=float, default=WordsConfig().max_window_s,
                    help="words.max_window_s for the stage")
    args = ap.parse_args()
    stage_opts = {"windows": args.windows, "max_window_s": args.max_window_s}
    # process-wide, so the anchor runs under the same MKL mode as the stage (load_model sets it too)
    print(f"stage: windows {args.windows}, max_window_s {args.max_window_s}; MKL_CBWR {reproducible_mkl()}")
    mfa = mfa_input()
    if args.real_only:
        print_real_speech(real_speech(args.models.split(","), mfa, args.beam_size, **stage_opts), args.show_text)
        return
    data, t_act = inputs()
    total_s = sum(d[2].shape[1] / d[3] for d in data)
    print(f"{len(data)} recordings, {total_s:.0f} s ({total_s * 2:.0f} track-seconds); activity stage {t_act:.1f} s "
          f"(already run by the scan; not counted below)")
    rows = []
    for name in args.models.split(","):
        cfg = WordsConfig(model=name, multilingual_model=None, beam_size=args.beam_size,
                          joint_tracks=not args.per_track, **stage_opts)
        model, _ = load_model(name)  # load once, outside the timings
        acc = {k: {"stage": 0.0, "anchor": 0.0, "hits": [0, 0, 0, 0], "n": 0, "xt": [0, 0, 0, 0, 0, 0],
                   "dec": 0.0, "cpu": [0.0, 0.0, 0.0, 0.0]} for k in ("clean", "telephone")}
        for kind, rid, x, rate, act, bleed, gold in data:
            a = acc[kind]
            t0, c0 = time.perf_counter(), time.process_time()
            res = transcribe_tracks(x, rate, act, bleed, cfg)
            a["stage"] += time.perf_counter() - t0
            a["cpu"][0] += time.process_time() - c0
            a["dec"] += res.decoded_s
            c0 = time.process_time()
            raw = transcribe_tracks(x, rate, act, bleed, dataclasses.replace(cfg, retime="none", crosstalk_rule=False))
            a["cpu"][3] += time.process_time() - c0  # the recogniser's share: the stage less re-timing
            t0, c0 = time.perf_counter(), time.process_time()
            anc = anchor(model, x, rate, args.beam_size)
            a["anchor"] += time.perf_counter() - t0
            a["cpu"][1] += time.process_time() - c0
            c0 = time.process_time()
            plain = anchor(model, x, rate, None)  # faster-whisper's own defaults (beam 5)
            a["cpu"][2] += time.process_time() - c0
            for i, words in enumerate((anc, raw.words, res.words, plain)):
                a["hits"][i] += score.onset_share(words, gold)[0]
            a["n"] += score.onset_share(res.words, gold)[1]
            for i, words in enumerate((anc, res.words, plain)):
                b, m = score.crosstalk_share(words, gold)
                a["xt"][2 * i] += b
                a["xt"][2 * i + 1] += m
            print(f"  {name} {rid}: stage {res.decoded_s:.0f} s decoded, {len(res.words)} words, "
                  f"dropped {res.dropped_crosstalk}, alignment failures {res.alignment_failures}"
                  + (f", text windows {res.text_windows} ({res.text_fallbacks} fell back)" if res.text_windows else ""),
                  flush=True)
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
              f"ratio {a['cpu'][1] / a['cpu'][0]:.2f}, stage {dur / a['cpu'][0]:.1f} x realtime per CPU second; "
              f"anchor at faster-whisper's defaults (beam 5) {a['cpu'][2]:.1f} s, ratio {a['cpu'][2] / a['cpu'][0]:.2f}, "
              f"its first words within +-50 ms {a['hits'][3] / a['n']:.3f}, "
              f"crosstalk {a['xt'][4] / max(a['xt'][5], 1):.3f}; "
              f"stage without re-timing {a['cpu'][3]:.1f} s, ratio {a['cpu'][1] / a['cpu'][3]:.2f}")
    print()
    for name in dict.fromkeys(r[0] for r in rows):
        wer = next(r[4] for r in rows if r[0] == name)
        print(f"WER {name} on 2 LibriSpeech test-other utterances (true text): "
              + ", ".join(f"{mode}: {e}/{m} = {e / m:.1%}" for mode, (e, m) in wer.items()))
    print("xRT/core: recording seconds per second of one core (CTranslate2 and pocketsphinx on one thread); "
          "decoded: share of track audio given to the recogniser.")
    print_real_speech(real_speech(args.models.split(","), mfa, args.beam_size, **stage_opts), args.show_text)


if __name__ == "__main__":
    main()
