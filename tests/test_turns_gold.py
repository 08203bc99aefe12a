"""Events from gold word times agree with the constructed structure of the sample dialogues.

For each dialogue in data/sample/gold/: masks are built from the CTM words (merged across silences
shorter than the pause threshold), events are extracted, and then compared with ``events.json``:
- every constructed floor transfer (``transfers[]``) is found, same direction, with the new turn
  starting at the constructed first word (+-10 ms, one frame) and FTO equal to ``fto_speech``
  within 10 ms (each edge is rounded to the 10 ms grid);
- the backchannels found are exactly the constructed ``backchannels[]`` (same track, +-10 ms);
- the overlaps found are the constructed ``overlaps[]``.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from twotrack.config import TurnsConfig
from twotrack.model import FRAMES, EventKind as K, Segment, track_index
from twotrack.timeline import merge_segments, segments_to_mask
from twotrack.turns import extract_events

GOLD = Path(__file__).resolve().parent.parent / "data" / "sample" / "gold"
IDS = sorted(p.name[: -len(".events.json")] for p in GOLD.glob("*.events.json"))
TOL = 0.0105  # one frame, plus float noise


def read_ctm(path):
    """Word segments per track from a CTM (``id channel start dur word``; ``;;`` comments)."""
    words = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith(";;"):
            continue
        _, channel, start, dur, *_ = line.split()
        words.setdefault(track_index(channel), []).append(Segment(float(start), float(start) + float(dur)))
    return words


def gold_masks(rec_id, cfg):
    truth = json.loads((GOLD / f"{rec_id}.events.json").read_text())
    words = read_ctm(GOLD / f"{rec_id}.ctm")
    n = FRAMES.n_frames(truth["duration"])
    masks = np.stack([segments_to_mask(merge_segments(words[t], cfg.pause_threshold_s), n) for t in (0, 1)])
    return masks, truth


def agreement(rec_id, cfg=TurnsConfig()):
    masks, truth = gold_masks(rec_id, cfg)
    events = extract_events(masks, cfg)
    transfers = [e for e in events if e.kind is K.FLOOR_TRANSFER]
    turns = truth["turns"]
    matched_tr, fto_err = 0, []
    for g in truth["transfers"]:
        new_start = turns[g["to_turn"]]["speech_start"]
        to, frm = track_index(g["to"]), track_index(g["from"])
        # the event's new-turn start is its end for FTO >= 0, its start for FTO < 0
        hits = [
            e for e in transfers
            if (e.track, e.from_track) == (to, frm)
            and abs((e.end if e.value >= 0 else e.start) - new_start) <= TOL
        ]
        if hits:
            matched_tr += 1
            fto_err.append(abs(hits[0].value - g["fto_speech"]))
    found_bc = [e for e in events if e.kind is K.BACKCHANNEL]
    gold_bc = truth["backchannels"]
    bc_hits = sum(
        any(e.track == track_index(b["channel"]) and abs(e.start - b["start"]) <= TOL and abs(e.end - b["end"]) <= TOL
            for e in found_bc)
        for b in gold_bc
    )
    overlaps = [e for e in events if e.kind in (K.OVERLAP_BETWEEN, K.OVERLAP_WITHIN)]
    ov_hits = sum(
        any(abs(e.start - o["start"]) <= TOL and abs(e.end - o["end"]) <= TOL for e in overlaps)
        for o in truth["overlaps"]
    )
    return {
        "transfers": len(truth["transfers"]),
        "found_transfers": len(transfers),
        "matched_transfers": matched_tr,
        "max_fto_error_s": max(fto_err) if fto_err else None,
        "backchannels": len(gold_bc),
        "found_backchannels": len(found_bc),
        "matched_backchannels": bc_hits,
        "overlaps": len(truth["overlaps"]),
        "found_overlaps": len(overlaps),
        "matched_overlaps": ov_hits,
    }


@pytest.mark.parametrize("rec_id", IDS)
def test_events_match_constructed_structure(rec_id):
    a = agreement(rec_id)
    assert a["transfers"] > 0 and a["backchannels"] > 0
    # floor transfers: all found, none extra, FTO within one frame
    assert a["matched_transfers"] == a["transfers"] == a["found_transfers"], a
    assert a["max_fto_error_s"] <= TOL, a
    # backchannels: recall and precision 1
    assert a["matched_backchannels"] == a["backchannels"] == a["found_backchannels"], a
    # overlaps: the constructed ones, and no others
    assert a["matched_overlaps"] == a["overlaps"] == a["found_overlaps"], a


def test_sample_corpus_is_present():
    assert len(IDS) == 3
