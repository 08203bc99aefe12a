"""Calibration of the words stage's text-fit check (``words/textfit.py``): does a transcript line's text
belong to its span's audio?

Right lines are real speech with its text: the sample dialogues' utterances (their CTM words grouped at
pauses of 0.5 s or more; the CTM text is pocketsphinx output, so it is acoustically consistent, not true
text), the two LibriSpeech utterances with true text and the MFA stereo recording's TextGrid utterances
(spontaneous, one take hoarse), each in its clean and telephone rendition (the dialogues' own SPHERE
files; LibriSpeech and MFA band-passed to 300-3400 Hz, 8 kHz mu-law and back). Wrong lines are the same
spans given realistic wrong text:

- ``shifted``: the same speaker's next line (a vendor's lines shifted by one);
- ``other``: a line of similar length from another recording (another call's transcript);
- ``speaker``: the other speaker's line nearest in time (a line for the other speaker);
- ``half``: half of the line's words (every other one) replaced by another recording's words.

Each case is aligned as the stage aligns it (span padded 0.15 s; default beams, then the wide-beam retry)
and its candidate signals are printed: the alignment's log acoustic score per frame, the same normalised by
a free phone loop on the same audio (difference and ratio), the share of tokens squeezed to their shortest
length, the share of aligned word time outside the track's activity, and tokens per second of aligned
speech. The threshold on the chosen signal is picked on the tune part (by speaker: the dialogues demo01,
demo03 and the LibriSpeech utterances, speakers 367, 1688, 2609) and reported on the held-out part (demo02's
speakers 3080, 2033 and the MFA speaker), with precision and recall of flagging and the cost per second.

    python benchmarks/bench_textfit.py [--limit N] [--dump FILE.tsv] [--load FILE.tsv]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from twotrack.words.align import transcript_words  # noqa: E402
from twotrack.words.retime import align_detail  # noqa: E402
from twotrack.words.stream import to_whisper_rate  # noqa: E402
from twotrack.config import TEXT_FIT_MAX, TEXT_FIT_MIN_COVERAGE  # noqa: E402
from twotrack.words import textfit  # noqa: E402

PAD_S = 0.15  # as align.align_text_blocks
PAUSE_S = 0.5  # CTM words closer than this form one line
TUNE = ("demo01", "demo03", "libri")  # speakers 367, 1688, 2609
HELD = ("demo02", "mfa")  # speakers 3080, 2033, michael


@dataclass
class Line:
    source: str  # demo01 ... / libri / mfa
    rendition: str  # clean / telephone
    track: int
    start: float
    end: float
    text: str


def telephone(x16: np.ndarray) -> np.ndarray:
    """A 16 kHz track as over a phone line: 300-3400 Hz, 8 kHz 8-bit mu-law, back at 16 kHz."""
    import soxr

    from twotrack.robustness import bandpass

    y = soxr.resample(bandpass(x16.astype(np.float64), 16000), 16000, 8000).clip(-1, 1)
    mu = 255.0
    c = np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu)
    c = np.round(c * 127) / 127  # 8 bits
    y = np.sign(c) * ((1 + mu) ** np.abs(c) - 1) / mu
    return soxr.resample(y, 8000, 16000).astype(np.float32)


def ctm_lines(words, source, rendition) -> list[Line]:
    out = []
    for t in (0, 1):
        ws = sorted((w for w in words if w.track == t), key=lambda w: w.start)
        cur = []
        for w in ws:
            if cur and w.start - cur[-1].end >= PAUSE_S:
                out.append(Line(source, rendition, t, cur[0].start, cur[-1].end, " ".join(x.text for x in cur)))
                cur = []
            cur.append(w)
        if cur:
            out.append(Line(source, rendition, t, cur[0].start, cur[-1].end, " ".join(x.text for x in cur)))
    return out


def load():
    """-> list of (Line, audio16 of its track, activity pairs of its track), right text."""
    import bench_words as bw
    import soundfile as sf

    items = []
    rows, _ = bw.inputs()
    for kind, rid, samples, rate, segs, _, gold in rows:
        x16 = to_whisper_rate(samples, rate)
        for ln in ctm_lines(gold, rid.split("/")[1][:6], kind):
            items.append((ln, x16[ln.track], segs[ln.track]))
    mfa, rate, segs, _, utts = bw.mfa_input()
    x16 = to_whisper_rate(mfa, rate)
    for rendition in ("clean", "telephone"):
        tracks = x16 if rendition == "clean" else np.stack([telephone(c) for c in x16])
        for u in utts:
            if u.text.strip():
                items.append((Line("mfa", rendition, u.track, u.start, u.end, u.text), tracks[u.track], segs[u.track]))
    texts = dict(ln.split(" ", 1) for ln in (bw.LIBRI / "transcripts.txt").read_text().splitlines() if ln.strip())
    for uid, text in sorted(texts.items()):
        x, r = sf.read(bw.LIBRI / f"{uid}.flac", dtype="float32")
        x16 = to_whisper_rate(x[None, :], r)[0]
        act = mono_activity(bw.LIBRI / f"{uid}.flac")
        for rendition in ("clean", "telephone"):
            y = x16 if rendition == "clean" else telephone(x16)
            items.append((Line("libri", rendition, 0, 0.2, len(y) / 16000 - 0.2, text.lower()), y, act[0]))
    return items


def mono_activity(path: Path) -> list[list[tuple[float, float]]]:
    """The activity stage's segments of a mono file (one track), as the words stage would read them."""
    import shutil
    import tempfile

    from twotrack.config import Config
    from twotrack.ingest.manifest import read_manifest
    from twotrack.run import stages

    cfg = Config()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(path, tmp)
        man = Path(tmp) / "manifest.csv"
        man.write_text(f"recording_id,path,license\nx,{path.name},CC-BY-4.0\n")
        rec = read_manifest(man, cfg, hash_files=False).recordings[0]
        dec = stages.decode_recording(rec, cfg)
        chk = stages.check_recording(dec, rec, cfg)
        act, _, _ = stages.detect_activity(dec, rec, cfg, chk)
    return [[(s.start, s.end) for s in a.segments] for a in sorted(act, key=lambda a: a.track)]


def wrong_texts(items, rng) -> list[tuple[int, str, str]]:
    """(index of the right line whose audio it uses, kind, wrong text)."""
    out = []
    lines = [it[0] for it in items]
    split = {i: ("tune" if ln.source in TUNE else "held") for i, ln in enumerate(lines)}
    for i, ln in enumerate(lines):
        same = [j for j, m in enumerate(lines) if m.source == ln.source and m.rendition == ln.rendition
                and m.track == ln.track and m.start > ln.start]
        if same:
            out.append((i, "shifted", lines[min(same, key=lambda j: lines[j].start)].text))
        n = len(transcript_words(ln.text))
        pool = [j for j, m in enumerate(lines) if m.source != ln.source and split[j] == split[i]
                and m.rendition == ln.rendition]
        if pool:
            near = sorted(pool, key=lambda j: (abs(len(transcript_words(lines[j].text)) - n), rng.random()))[:5]
            j = near[int(rng.integers(len(near)))]
            out.append((i, "other", lines[j].text))
            ws, other = transcript_words(ln.text), transcript_words(lines[j].text)
            if len(ws) >= 2:
                mixed = [other[k % len(other)] if k % 2 else w for k, w in enumerate(ws)]
                out.append((i, "half", " ".join(mixed)))
        opp = [j for j, m in enumerate(lines) if m.source == ln.source and m.rendition == ln.rendition
               and m.track != ln.track]
        if opp:
            j = min(opp, key=lambda j: abs((lines[j].start + lines[j].end) - (ln.start + ln.end)))
            if lines[j].text != ln.text:
                out.append((i, "speaker", lines[j].text))
    return out


def features(audio, act, start, end, text, loop):
    a = max(0.0, start - PAD_S)
    b = min(len(audio) / 16000, end + PAD_S)
    span = audio[int(round(a * 16000)):int(round(b * 16000))]
    words = transcript_words(text)
    t0 = time.process_time()
    got, wide = align_detail(span, words), False
    if got is None:
        got, wide = align_detail(span, words, wide=True), True
    t_align = time.process_time() - t0
    row = {"seconds": len(span) / 16000, "n_words": len(words), "aligned": got is not None, "wide": wide,
           "t_align": t_align}
    if got is None or got.frames == 0:
        return row
    pl, pl_frames = loop
    a_pf, l_pf = got.log_score / got.frames, pl / max(pl_frames, 1)
    times = got.times[np.isfinite(got.times[:, 0])] + a
    seg = np.asarray(act, np.float64).reshape(-1, 2)
    inside = 0.0
    for s, e in times:
        inside += float(np.clip(np.minimum(seg[:, 1], e) - np.maximum(seg[:, 0], s), 0, None).sum())
    covered = float((times[:, 1] - times[:, 0]).sum())
    row["coverage"] = textfit.speech_coverage(times, seg, start, end)
    row.update(a_pf=1000 * a_pf, pl_pf=1000 * l_pf, diff=1000 * (a_pf - l_pf), ratio=a_pf / l_pf if l_pf < 0 else np.nan,
               squeezed=got.squeezed / max(got.n_tokens, 1), outside=1 - inside / covered if covered > 0 else 1.0,
               rate=got.n_tokens / max(got.word_frames * 0.01, 0.01))
    return row


SIGNALS = {"a_pf": -1, "diff": -1, "ratio": 1, "squeezed": 1, "outside": 1, "rate": 1, "coverage": -1}  # +1: larger = worse


def flag(rows, sig, thr):
    """bool per row: flagged (a line that did not align is flagged by the stage anyway)."""
    sgn = SIGNALS[sig]
    return np.array([(not r["aligned"]) or (sgn * (float(r[sig]) - thr) > 0) for r in rows])


def pr(rows, flagged):
    wrong = np.array([r["kind"] != "right" for r in rows])
    tp, fp = int((flagged & wrong).sum()), int((flagged & ~wrong).sum())
    fn = int((~flagged & wrong).sum())
    return tp, fp, fn, tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def flag_rule(rows, ratio_max, coverage_min):
    """The product's rule (``words.align``): flagged when the ratio is above ``ratio_max`` or the coverage below
    ``coverage_min``; a line that did not align is flagged too (it gets no words anyway)."""
    return np.array([(not r["aligned"]) or float(r["ratio"]) > ratio_max
                     or (np.isfinite(float(r["coverage"])) and float(r["coverage"]) < coverage_min) for r in rows])


def choose_rule(rows, max_false=0.02):
    """(ratio_max, coverage_min) that flags the most aligned wrong lines while flagging at most ``max_false``
    of the aligned right ones; ties go to the rule that flags least (higher ratio, lower coverage)."""
    right = [r for r in rows if r["kind"] == "right" and r["aligned"]]
    wrong = [r for r in rows if r["kind"] != "right" and r["aligned"]]
    best = None
    for rmax in np.round(np.arange(1.3, 2.51, 0.05), 2):
        for cmin in np.round(np.arange(0.0, 0.81, 0.05), 2):
            fr = int(flag_rule(right, rmax, cmin).sum())
            if fr > max_false * len(right):
                continue
            key = (int(flag_rule(wrong, rmax, cmin).sum()), -fr, rmax, -cmin)
            if best is None or key > best[0]:
                best = (key, rmax, cmin)
    return (best[1], best[2]) if best else (np.nan, np.nan)


def rule_line(part, rmax, cmin):
    fl = flag_rule(part, rmax, cmin)
    tp, fp, fn, p, r = pr(part, fl)
    right = [i for i, x in enumerate(part) if x["kind"] == "right" and x["aligned"]]
    aw = [i for i, x in enumerate(part) if x["kind"] != "right" and x["aligned"]]
    return (f"P {p:.3f} R {r:.3f} (tp/fp/fn {tp}/{fp}/{fn}); aligned right lines flagged {int(fl[right].sum())}/"
            f"{len(right)}, aligned wrong lines flagged {int(fl[aw].sum())}/{len(aw)}")


def choose(rows, sig, max_false=0.02):
    """The threshold on ``sig`` that flags the most wrong lines while flagging at most ``max_false`` of
    the right ones (on these rows)."""
    right = sorted(float(r[sig]) * SIGNALS[sig] for r in rows if r["kind"] == "right" and r["aligned"])
    if not right:
        return np.nan
    k = int(np.floor(len(right) * (1 - max_false)))
    return SIGNALS[sig] * right[min(k, len(right) - 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="right lines per source and rendition (0: all)")
    ap.add_argument("--dump", help="write the per-case rows here (TSV)")
    ap.add_argument("--load", help="read per-case rows from here instead of aligning")
    ap.add_argument("--max-false", type=float, default=0.02, help="right lines flagged on the tune part, at most")
    args = ap.parse_args()
    if args.load:
        with open(args.load) as f:
            rows = [{k: (v if k in ("kind", "source", "rendition", "split", "text") else
                         (v == "True" if v in ("True", "False") else float(v) if v else np.nan))
                     for k, v in r.items()} for r in csv.DictReader(f, delimiter="\t")]
    else:
        rows = measure(args)
        if args.dump:
            keys = sorted({k for r in rows for k in r})
            with open(args.dump, "w", newline="") as f:
                w = csv.DictWriter(f, keys, delimiter="\t")
                w.writeheader()
                w.writerows(rows)
    report(rows, args.max_false)


def measure(args):
    rng = np.random.default_rng(20261205)
    t0 = time.perf_counter()
    items = load()
    if args.limit:
        kept, seen = [], {}
        for it in items:
            k = (it[0].source, it[0].rendition)
            seen[k] = seen.get(k, 0) + 1
            if seen[k] <= args.limit:
                kept.append(it)
        items = kept
    print(f"loaded {len(items)} right lines in {time.perf_counter() - t0:.1f} s", flush=True)
    cases = [(i, "right", it[0].text) for i, it in enumerate(items)] + wrong_texts(items, rng)
    loops, t_loop, rows = {}, 0.0, []
    for i, kind, text in cases:
        ln, audio, act = items[i]
        if i not in loops:
            a, b = max(0.0, ln.start - PAD_S), min(len(audio) / 16000, ln.end + PAD_S)
            t = time.process_time()
            loops[i] = textfit.phone_loop_log_score(audio[int(round(a * 16000)):int(round(b * 16000))])
            t_loop += time.process_time() - t
        r = features(audio, act, ln.start, ln.end, text, loops[i])
        r.update(kind=kind, source=ln.source, rendition=ln.rendition, line=i,
                 split="tune" if ln.source in TUNE else "held", text=text[:60])
        rows.append(r)
    right_s = sum(r["seconds"] for r in rows if r["kind"] == "right")
    t_right = sum(r["t_align"] for r in rows if r["kind"] == "right")
    print(f"cost: {right_s:.0f} s of right lines; their alignment {t_right:.1f} s CPU "
          f"({t_right / right_s:.3f} s per s), the phone loop {t_loop:.1f} s CPU ({t_loop / right_s:.3f} s per s, "
          f"+{100 * t_loop / max(t_right, 1e-9):.0f} % on the alignment)")
    return rows


def report(rows, max_false):
    kinds = ["right", "shifted", "other", "speaker", "half"]
    print("\ncases (aligned / all; a wrong line that does not align gets no words already):", ", ".join(
        f"{k} {sum(1 for r in rows if r['kind'] == k and r['aligned'])}/{sum(1 for r in rows if r['kind'] == k)}"
        for k in kinds))
    print("\nmedian [10th, 90th percentile] of each signal, aligned cases:")
    print(f"{'signal':9}" + "".join(f"{k:>24}" for k in kinds))
    for sig in SIGNALS:
        cells = []
        for k in kinds:
            v = np.array([float(r[sig]) for r in rows if r["kind"] == k and r["aligned"]])
            cells.append(f"{np.median(v):.3f} [{np.percentile(v, 10):.3f}, {np.percentile(v, 90):.3f}]"
                         if len(v) else "-")
        print(f"{sig:9}" + "".join(f"{c:>24}" for c in cells))
    print("\nright ratio by source and rendition (median, max):", ", ".join(
        f"{s} {rd} {np.median(v):.2f}/{np.max(v):.2f}" for s in ("demo01", "demo02", "demo03", "libri", "mfa")
        for rd in ("clean", "telephone")
        if len(v := [float(r["ratio"]) for r in rows if r["kind"] == "right" and r["aligned"] and r["source"] == s
                     and r["rendition"] == rd])))
    folds = (("tune = demo01+demo03+libri (speakers 367, 1688, 2609), held = demo02+mfa (3080, 2033, michael)", TUNE),
             ("tune = demo02+mfa, held = demo01+demo03+libri", HELD))
    for title, tune_sources in folds:
        tune = [r for r in rows if r["source"] in tune_sources]
        held = [r for r in rows if r["source"] not in tune_sources]
        print(f"\n{title}; threshold per signal on tune (right lines flagged <= {100 * max_false:.0f} %), "
              "reported on tune and held: tp/fp/fn, precision, recall of flagging (unaligned lines count as "
              "flagged); right = right lines flagged; aligned wrong = wrong lines that aligned and are flagged:")
        for sig in SIGNALS:
            thr = choose(tune, sig, max_false)
            out = []
            for name, part in (("tune", tune), ("held", held)):
                fl = flag(part, sig, thr)
                tp, fp, fn, p, r = pr(part, fl)
                right = [i for i, x in enumerate(part) if x["kind"] == "right"]
                aw = [i for i, x in enumerate(part) if x["kind"] != "right" and x["aligned"]]
                out.append(f"{name} {tp}/{fp}/{fn} P {p:.3f} R {r:.3f} right {int(fl[right].sum())}/{len(right)} "
                           f"aligned wrong {int(fl[aw].sum())}/{len(aw)}")
            print(f"  {sig:9} thr {thr:7.3f}  " + "  |  ".join(out))
        rmax, cmin = choose_rule(tune, max_false)
        print(f"  the product's rule (ratio above R or coverage below C), chosen on tune: R {rmax:g}, C {cmin:g}")
        print(f"    tune: {rule_line(tune, rmax, cmin)}")
        print(f"    held: {rule_line(held, rmax, cmin)}")
        for rend in ("clean", "telephone"):
            print(f"    held {rend:9} flagged: " + flagged_by_kind(held, rend, kinds, rmax, cmin))
    rmax, cmin = choose_rule(rows, max_false)
    print(f"\nall lines, the same choice: R {rmax:g}, C {cmin:g}: {rule_line(rows, rmax, cmin)}")
    print(f"the product's default (words.text_fit_max {TEXT_FIT_MAX:g}, words.text_fit_min_coverage "
          f"{TEXT_FIT_MIN_COVERAGE:g}):")
    for title, part in (("demo01+demo03+libri", [r for r in rows if r["source"] in TUNE]),
                        ("demo02+mfa", [r for r in rows if r["source"] not in TUNE]), ("all", rows)):
        print(f"  {title:20} {rule_line(part, TEXT_FIT_MAX, TEXT_FIT_MIN_COVERAGE)}")
        for rend in ("clean", "telephone"):
            print(f"    {rend:9} flagged: " + flagged_by_kind(part, rend, kinds, TEXT_FIT_MAX, TEXT_FIT_MIN_COVERAGE))


def flagged_by_kind(rows, rendition: str, kinds, rmax: float, cmin: float) -> str:
    """"kind flagged/lines, ..." of one rendition's lines under the rule (ratio above rmax or coverage below cmin)."""
    cells = []
    for k in kinds:
        part = [r for r in rows if r["kind"] == k and r["rendition"] == rendition]
        f = flag_rule(part, rmax, cmin) if part else np.zeros(0, bool)
        cells.append(f"{k} {int(f.sum())}/{len(part)}")
    return ", ".join(cells)

if __name__ == "__main__":
    main()
