"""Lhotse manifests, loaded and validated by lhotse itself (a test-only dependency: it imports torch)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import export_corpus as C
from twotrack.export import export
from twotrack.model import EventKind
from twotrack.store import Workspace, queries

lhotse = pytest.importorskip("lhotse")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    ws = C.workspace(tmp_path_factory)
    out = tmp_path_factory.mktemp("lhotse") / "out"
    summary = export(ws, out, "lhotse", "research-training")
    return ws, out, summary


def test_lhotse_loads_and_validates_the_manifests(exported):
    from lhotse.qa import validate_recordings_and_supervisions

    ws, out, summary = exported
    recs = lhotse.load_manifest(out / "recordings.jsonl.gz").with_path_prefix(out)
    sups = lhotse.load_manifest(out / "supervisions.jsonl.gz")
    assert isinstance(recs, lhotse.RecordingSet) and isinstance(sups, lhotse.SupervisionSet)
    validate_recordings_and_supervisions(recs, sups, read_data=True)  # raises on any inconsistency
    assert sorted(r.id for r in recs) == ["clean__demo01", "clean__demo02", "paired__demo03"]  # all allowed
    w = Workspace(ws)
    for r in recs:
        assert r.channel_ids == [0, 1] and r.num_channels == 2
        rid = next(s.custom["source_recording_id"] for s in sups if s.recording_id == r.id)
        audio = r.load_audio()
        src = C.tracks_on_clock(w, rid)  # the source rate: lhotse keeps it by default; paired B on A's clock
        assert r.sampling_rate == 16000 and audio.shape == src.shape
        assert np.abs(audio - np.clip(src, -1, 1)).max() < 1e-4
    cuts = lhotse.CutSet.from_manifests(recordings=recs, supervisions=sups)
    assert len(cuts) == 3 and all(len(c.supervisions) > 0 for c in cuts)


def test_one_supervision_per_ipu_with_speaker_words_and_events(exported):
    ws, out, _ = exported
    w = Workspace(ws)
    sups = lhotse.load_manifest(out / "supervisions.jsonl.gz")
    by_rec: dict[str, list] = {}
    for s in sups:
        by_rec.setdefault(s.custom["source_recording_id"], []).append(s)
    for rid, items in by_rec.items():
        rec = queries.recording(w, rid)
        events = queries.events(w, rid)
        ipus = [e for e in events if e.kind is EventKind.IPU]
        assert len(items) == len(ipus)
        for track in (0, 1):
            mine = [s for s in items if s.channel == track]
            assert {s.speaker for s in mine} == {rec.speakers[track]}
            assert len(mine) == sum(1 for e in ipus if e.track == track)
        # every word is in the supervision of its own channel, inside the supervision's span
        for s in items:
            for word in s.alignment["word"]:
                assert s.start - 1e-3 <= word.start and word.end <= s.end + 1e-3
            assert s.text == " ".join(a.symbol for a in s.alignment["word"])
        # each non-IPU/turn event ends in exactly one supervision of its track
        attached = [e for s in items for e in s.custom["events"]]
        kinds = {e.kind.value for e in events} - {"ipu", "turn"}
        assert {e["kind"] for e in attached} <= kinds
        transfers = [e for e in events if e.kind is EventKind.FLOOR_TRANSFER]
        got = [e for e in attached if e["kind"] == "floor-transfer"]
        assert len(got) == len(transfers)
        assert sorted(round(e["value"], 3) for e in got) == sorted(round(e.value, 3) for e in transfers)
        n_bc = sum(1 for e in events if e.kind is EventKind.BACKCHANNEL)
        assert sum(s.custom["backchannel"] for s in items) == n_bc
    assert sum(len(s.alignment["word"]) for s in sups) > 100


def test_split_recordings_and_the_audit_can_rewrite_the_gzip_manifests(exported, tmp_path):
    ws, _, _ = exported
    out = tmp_path / "split"
    export(ws, out, "lhotse", "research-training", max_duration_s=12.0)
    recs = lhotse.load_manifest(out / "recordings.jsonl.gz").with_path_prefix(out)
    sups = lhotse.load_manifest(out / "supervisions.jsonl.gz")
    from lhotse.qa import validate_recordings_and_supervisions

    validate_recordings_and_supervisions(recs, sups, read_data=True)
    assert all(r.duration <= 12.0 + 1e-6 for r in recs) and len(recs) > 3
    state = json.loads((out / ".twotrack" / "export.json").read_text())
    assert state["manifests"] == ["recordings.jsonl.gz", "supervisions.jsonl.gz", "metadata.jsonl"]
    # every piece's FLAC and its supervisions part name the piece ids the manifests use
    ids = {i for f in state["files"] if f["path"].startswith("audio/") for i in f["ids"]}
    assert ids == {r.id for r in recs}
