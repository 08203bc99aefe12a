"""Whether a transcript line's text is what was said on its span ("text fit"), from the forced alignment.

A forced alignment always finds *some* path for a text (with the wide-beam retry almost any text fits), so
a line whose text belongs elsewhere (a vendor's lines shifted by one, another call's transcript, the other
speaker's line) gets word times anyway. What tells it apart is how much worse the forced path scores than
the best the acoustic model can do on the same audio with no text at all: a free phone loop (pocketsphinx's
``allphone`` search with its English phone language model). Right text costs little against the loop;
wrong text forces phones onto audio that does not hold them. The per-frame difference of the two log scores
is the line's fit (``benchmarks/bench_textfit.py`` chose it and its threshold; docs/words.md).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from .retime import ALIGN_RATE, Alignment

_loops: dict[int, object] = {}
_lock = threading.Lock()


def _phone_loop():
    """One allphone decoder per thread (not thread-safe), its front end made new per use (as ``retime``)."""
    from pocketsphinx import Decoder, get_model_path

    key = threading.get_ident()
    with _lock:
        d = _loops.get(key)
    if d is None:
        d = Decoder(samprate=ALIGN_RATE, lm=None, allphone=f"{get_model_path()}/en-us-phone.lm.bin",
                    bestpath=False, loglevel="FATAL")
        with _lock:
            _loops[key] = d
    d.reinit_feat()
    return d


def phone_loop_log_score(audio: np.ndarray) -> tuple[float, int]:
    """(natural log of the best free phone path's acoustic score, its frames) over ``audio`` (float32, 16 kHz)."""
    d = _phone_loop()
    pcm = (np.clip(np.asarray(audio, np.float32), -1.0, 1.0) * 32767.0).astype(np.int16).tobytes()
    d.start_utt()
    d.process_raw(pcm, full_utt=True)
    d.end_utt()
    segs = list(d.seg() or ())
    return float(sum(math.log(s.ascore) if s.ascore > 0 else -50.0 for s in segs)), int(d.n_frames())


def misfit(alignment: Alignment, loop_log_score: float, loop_frames: int) -> float | None:
    """How much worse the forced path scores than the free phone loop, per frame: the ratio of their log
    scores per frame (both negative; 1 = the text explains the audio as well as the best phone string, larger =
    worse). None when either has no frames or the loop scores no worse than zero (nothing to compare)."""
    if alignment.frames <= 0 or loop_frames <= 0:
        return None
    own, loop = alignment.log_score / alignment.frames, loop_log_score / loop_frames
    if not (loop < 0.0 and own <= 0.0):
        return None
    return own / loop


def speech_coverage(times: np.ndarray, activity: np.ndarray, start: float, end: float) -> float | None:
    """The share of the track's speech (``activity`` (n, 2) seconds) inside the line's span [start, end) that
    the line's aligned words (``times`` (k, 2) seconds, recording clock) cover. A text much shorter than what
    was said (the neighbour's "so" on a 9 s turn) aligns with a good score, its few words placed in one corner
    and the rest of the speech absorbed as noise: little of the speech is covered. None without speech in the span."""
    seg = np.asarray(activity, np.float64).reshape(-1, 2)
    seg = np.stack([np.maximum(seg[:, 0], start), np.minimum(seg[:, 1], end)], axis=1) if len(seg) else seg
    seg = seg[seg[:, 1] > seg[:, 0]]
    speech = float((seg[:, 1] - seg[:, 0]).sum()) if len(seg) else 0.0
    if speech <= 0.0:
        return None
    t = np.asarray(times, np.float64).reshape(-1, 2)
    t = t[np.isfinite(t[:, 0])]
    lo = np.maximum(t[:, None, 0], seg[None, :, 0])
    hi = np.minimum(t[:, None, 1], seg[None, :, 1])
    return float(np.clip(hi - lo, 0.0, None).sum()) / speech
