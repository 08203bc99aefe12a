"""Verdicts per purpose: speakers' consents (their meet) and the license, with reasons."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from twotrack.errors import ConfigError
from twotrack.model import Layout, Recording, TrackSource
from twotrack.rights.ledger import Ledger
from twotrack.rights.verdicts import PURPOSES, decide, rights_report

H = "d" * 64
DOC = "https://consent.example.org/f/"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def rec(rid: str, speakers, license="CC-BY-4.0", layout=Layout.MULTICHANNEL, metadata=None) -> Recording:
    n = 1 if layout is Layout.MONO else 2
    return Recording(rid, tuple(TrackSource(f"/x/{rid}.flac", c) for c in range(n)), layout, tuple(speakers),
                     license=license, metadata=metadata or {})


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    led = Ledger(tmp_path / "ledger.jsonl")
    everything = ["ai-training", "commercial-use", "redistribution", "voice-likeness"]
    for spk in ("alice", "bob", "carol"):
        led.grant(spk, everything, "2024-01-01", DOC + spk, H)
    led.grant("dan", ["ai-training", "research-only"], "2024-01-01", DOC + "dan", H)
    return led


def test_withdrawal_blocks_every_recording_of_that_speaker_for_that_scope_from_its_date(ledger):
    recs = [rec("r1", ["alice", "bob"]), rec("r2", ["carol", "alice"]), rec("r3", ["bob", "carol"])]
    ledger.withdraw("alice", ["commercial-use"], "2025-06-01")

    before = decide(recs, ledger, "commercial-training", at="2025-05-31")
    assert [v.allowed for v in before] == [True, True, True]

    after = {v.recording_id: v for v in decide(recs, ledger, "commercial-training", at="2025-06-01")}
    assert not after["r1"].allowed and not after["r2"].allowed and after["r3"].allowed
    r = after["r2"].reasons[0]
    assert (r.kind, r.speaker, r.track, r.scope, r.status, r.event_seq) == (
        "consent", "alice", "B", "commercial-use", "dpv:ConsentWithdrawn", 5)
    assert "2025-06-01" in r.message and after["r2"].license_allowed and not after["r2"].consent_allowed

    # other scopes are untouched: research training and redistribution still pass
    assert all(v.allowed for v in decide(recs, ledger, "research-training", at="2025-07-01"))
    assert all(v.allowed for v in decide(recs, ledger, "redistribution", at="2025-07-01"))


def test_two_speaker_recording_needs_both(ledger):
    verdicts = decide(
        [rec("both", ["alice", "bob"]), rec("one", ["alice", "eve"]), rec("unknown", ["alice", None]),
         rec("unknown2", ["alice", "unknown"]), rec("missing", ["alice"])],
        ledger, "research-training", at="2025-01-01")
    v = {x.recording_id: x for x in verdicts}
    assert v["both"].allowed
    assert not v["one"].allowed
    assert [(r.speaker, r.scope, r.status) for r in v["one"].reasons] == [("eve", "ai-training", "dpv:ConsentUnknown")]
    for rid in ("unknown", "unknown2", "missing"):  # a track whose speaker is not known blocks
        assert not v[rid].allowed
        assert [(r.kind, r.track) for r in v[rid].reasons] == [("speaker", "B")]


def test_research_only_excludes_commercial_purposes(ledger):
    r = rec("d", ["dan", "alice"])
    assert decide([r], ledger, "research-training")[0].allowed
    v = decide([r], ledger, "commercial-training")[0]
    assert not v.allowed
    assert {(x.speaker, x.scope) for x in v.reasons} == {("dan", "commercial-use"), ("dan", "research-only")}


def test_license_reasons_and_meet_with_license(ledger):
    recs = [rec("nc", ["alice", "bob"], "CC-BY-NC-4.0"), rec("unk", ["alice", "bob"], "LicenseRef-Unknown"),
            rec("none", ["alice", "bob"], None), rec("bad", ["alice", "bob"], "CC-BY-4.0 AND"),
            rec("or", ["alice", "bob"], "CC-BY-NC-4.0 OR CC-BY-SA-4.0")]
    v = {x.recording_id: x for x in decide(recs, ledger, "commercial-training")}
    assert [r.message for r in v["nc"].reasons] == ["license CC-BY-NC-4.0: no commercial use"]
    assert v["nc"].consent_allowed and not v["nc"].license_allowed
    assert not v["unk"].allowed and not v["none"].allowed and not v["bad"].allowed
    assert "invalid license expression" in v["bad"].reasons[0].message
    assert v["or"].allowed and "share-alike (CC-BY-SA-4.0)" in v["or"].duties


def test_mono_recording_names_its_speakers_in_metadata(ledger):
    mono = rec("m", [], layout=Layout.MONO, metadata={"speaker_a": "alice", "speaker_b": "eve"})
    v = decide([mono], ledger, "research-training")[0]
    assert not v.allowed and v.reasons[0].speaker == "eve"
    nobody = decide([rec("m0", [], layout=Layout.MONO)], ledger, "research-training")[0]
    assert not nobody.allowed and nobody.reasons[0].kind == "speaker"


def test_report_shape_and_unknown_purpose(ledger):
    report = rights_report([rec("r1", ["alice", "bob"])], ledger, "voice-synthesis")
    assert report["purpose"] == "voice-synthesis" and report["ledger_head"] == ledger.head
    row = report["recordings"][0]
    assert set(row) >= {"recording_id", "allowed", "reasons"} and row["allowed"] is True
    json.dumps(report)
    with pytest.raises(ConfigError, match="unknown purpose"):
        decide([], ledger, "world-domination")
    assert set(PURPOSES) >= {"commercial-training", "research-training", "redistribution", "voice-synthesis"}


def _sample_recordings() -> list[Recording]:
    # The rights columns of the bundled manifest, read directly (the audio itself is not needed here).
    out = []
    with open(SAMPLE / "manifest.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            layout = Layout.PAIRED if row["path_a"] else Layout.MULTICHANNEL
            out.append(rec(row["recording_id"], [row["speaker_a"], row["speaker_b"]], row["license"], layout))
    return out


def test_sample_corpus_rights(tmp_path):
    led = Ledger(tmp_path / "ledger.jsonl")
    res = led.import_file(SAMPLE / "consent.csv")
    assert len(res.appended) == 8 and led.verify().ok
    recs = _sample_recordings()
    assert len(recs) == 9
    assert sorted(r.recording_id for r in recs if r.license == "LicenseRef-Unknown") == ["telephone/demo03_2609_367"]

    def allowed(purpose, at="2026-11-01"):
        return sorted(v.recording_id for v in decide(recs, led, purpose, at=at) if v.allowed)

    ids = lambda *names: sorted(f"{r}/{n}" for r in ("clean", "telephone", "paired") for n in names)  # noqa: E731
    d1, d2, d3 = "demo01_367_1688", "demo02_3080_2033", "demo03_2609_367"
    # libri-3080 withdrew commercial-use on 2026-03-14 and libri-2033 is research-only: demo02 is out
    assert allowed("commercial-training") == sorted(set(ids(d1, d3)) - {"telephone/" + d3})
    assert allowed("commercial-training", at="2026-03-13") == allowed("commercial-training")  # 2033 still blocks
    assert allowed("research-training") == sorted(set(ids(d1, d2, d3)) - {"telephone/" + d3})
    # libri-2033 withdrew redistribution on 2026-06-30
    assert "clean/" + d2 in allowed("redistribution", at="2026-06-29")
    assert "clean/" + d2 not in allowed("redistribution", at="2026-06-30")
    # libri-2609 never gave voice-likeness
    assert allowed("voice-synthesis") == ids(d1)


def test_a_tampered_ledger_decides_nothing(ledger):
    from twotrack.rights.ledger import LedgerError

    events, head = ledger.snapshot()
    assert head == ledger.head and len(events) == 4
    lines = ledger.path.read_text().splitlines()
    lines[3] = lines[3].replace('"research-only"', '"commercial-use"')  # dan "gains" commercial consent
    ledger.path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LedgerError, match="line 4"):
        decide([rec("d", ["dan", "alice"])], ledger, "commercial-training")
