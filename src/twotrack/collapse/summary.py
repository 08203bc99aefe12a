"""Pool per-recording collapse results into one corpus figure and say it in one sentence."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .score import DerParts, TurnDamage


def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.0f}%"


def summarise(results: Sequence[Any]) -> dict[str, Any]:
    """Corpus figures from ``RecordingCollapse`` results (failed ones are counted, not pooled).

    Errors and counts are pooled (sums of seconds and events over recordings), so a long recording
    weighs more than a short one, as in a corpus-level DER."""
    ok = [r for r in results if r.error is None]
    der = sum((r.der for r in ok), DerParts(0.0, 0.0, 0.0, 0.0))
    der_no = sum((r.der_no_overlap for r in ok), DerParts(0.0, 0.0, 0.0, 0.0))
    damage = sum((r.damage for r in ok), TurnDamage())
    audio_s = sum(r.duration_s for r in ok)
    seconds = sum(r.seconds for r in ok)
    out: dict[str, Any] = {
        "recordings": len(ok),
        "failed": len(results) - len(ok),
        "hours": audio_s / 3600.0,
        "der": der.shares(),
        "der_without_overlap": der_no.shares(),
        "turn_taking": damage.rates(),
        "counts": {k: v for k, v in damage.to_dict().items() if not k.startswith("fto_")},
        "processing_s": seconds,
        "seconds_per_audio_hour": seconds / audio_s * 3600.0 if audio_s > 0 else float("nan"),
    }
    out["sentence"] = sentence(out)
    return out


def sentence(s: dict[str, Any]) -> str:
    """"On your data, going mono costs ..." from ``summarise``'s figures."""
    if not s["recordings"]:
        return "No two-track recording could be collapsed, so there is nothing to compare."
    d, t = s["der"], s["turn_taking"]
    fto = t["fto_wasserstein_s"]
    fto_text = "n/a" if not math.isfinite(fto) else f"{1000 * fto:.0f} ms"
    return (
        f"On your data ({s['recordings']} recording(s), {s['hours']:.2f} h), going mono costs "
        f"{_pct(d['der'])} diarization error (missed {_pct(d['missed'])}, false alarm {_pct(d['false_alarm'])}, "
        f"confusion {_pct(d['confusion'])}; {_pct(s['der_without_overlap']['der'])} outside overlaps): "
        f"only {_pct(t['onset_hit_rate'])} of speech onsets stay within 50 ms, "
        f"{_pct(t['overlap_recall'])} of between-speaker overlaps and {_pct(t['backchannel_recall'])} of "
        f"backchannels survive, the floor-transfer offsets move by {fto_text} (Wasserstein), and "
        f"{_pct(t['transfer_wrong_speaker_share'])} of floor transfers go to the wrong speaker "
        f"({_pct(t['transfer_missed_share'])} are not found at all)."
    )
