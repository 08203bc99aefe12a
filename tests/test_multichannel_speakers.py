"""A 4-channel recording (a field recorder or an interface file) with the two talkers on two channels and the
others silent or holding only hiss: the manifest names the speakers of the channels that carry them
(``speaker_a`` ... ``speaker_h``); channels with no speaker named and no speech (the activity stage) are
unused: they need no consent, the exports leave them out and say so. A channel with speech and no named
speaker still blocks. Before: every such recording was blocked ("track C: speaker unknown") and never
exported.

The files: 30 s of the sample dialogue ``demo01`` (libri-367 on A, libri-1688 on B), written as 4-channel
16-bit WAVs with soundfile: ``field/ab`` (the talkers on A and B, digital silence on C, -66 dBFS hiss on D),
``field/cd`` (hiss on A, silence on B, the talkers on C and D, named by ``speaker_c``/``speaker_d``),
``field/stranger`` (as ``ab`` but a third voice, the sample's libri-3080, on C, which nobody names).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

import export_corpus as C
from twotrack.checks import run_checks
from twotrack.cli import main
from twotrack.cli import main as main_cli
from twotrack.export import export
from twotrack.ingest.manifest import read_manifest
from twotrack.model import EventKind, Isolation
from twotrack.qualify.workspace import inputs_from_workspace
from twotrack.store import Workspace, queries

PURPOSE = "commercial-training"
SPEAKERS = ("libri-367", "libri-1688")


def _four(x: np.ndarray, third: np.ndarray, order: str) -> np.ndarray:
    n = len(x)
    hiss = (10 ** (-66 / 20) * np.random.default_rng(7).standard_normal(n)).astype(np.float32)
    zeros = np.zeros(n, np.float32)
    return np.stack({"ab": [x[:, 0], x[:, 1], zeros, hiss], "cd": [hiss, zeros, x[:, 0], x[:, 1]],
                     "stranger": [x[:, 0], x[:, 1], third, hiss]}[order], axis=1)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("multichannel")
    corpus = root / "corpus"
    (corpus / "field").mkdir(parents=True)
    x, sr = sf.read(C.SAMPLE / "clean" / "demo01_367_1688.flac", dtype="float32", frames=int(C.EXCERPT_S * 16000))
    other, _ = sf.read(C.SAMPLE / "clean" / "demo02_3080_2033.flac", dtype="float32", frames=len(x))
    ctm = C._ctm_excerpt(C.SAMPLE / "gold" / "demo01_367_1688.ctm", corpus / "demo01.ctm")
    # the same words on the channels C and D hold them in field/cd
    ctm_cd = corpus / "demo01_cd.ctm"
    ctm_cd.write_text("".join(" ".join(p[:1] + [{"A": "C", "B": "D"}.get(p[1], p[1])] + p[2:]) + "\n"
                              for p in (line.split() for line in ctm.read_text().splitlines()) if p))
    rows = []
    for name in ("ab", "cd", "stranger"):
        path = corpus / "field" / f"{name}.wav"
        sf.write(str(path), _four(x, other[:, 0], name), sr, subtype="PCM_16")
        spk = {"speaker_c": SPEAKERS[0], "speaker_d": SPEAKERS[1]} if name == "cd" else \
            {"speaker_a": SPEAKERS[0], "speaker_b": SPEAKERS[1]}
        rows.append({"recording_id": f"field/{name}", "path": str(path), "speaker_a": "", "speaker_b": "",
                     "speaker_c": "", "speaker_d": "", **spk, "license": "CC-BY-4.0", "tags": "register:read",
                     "channels": "4",
                     "transcript": str(ctm_cd if name == "cd" else ctm)})
    return C.scan_rows(rows, corpus / "manifest.csv", root / "ws")


@pytest.fixture(scope="module")
def exports(ws, tmp_path_factory):
    root = tmp_path_factory.mktemp("multichannel-exports")
    return {fmt: (export(ws, root / fmt, fmt, PURPOSE, max_duration_s=12.0), root / fmt)
            for fmt in ("moshi", "lhotse", "parquet")}


def _state(out: Path) -> dict:
    return json.loads((out / ".twotrack" / "export.json").read_text())


def test_manifest_names_the_speakers_of_channels_c_and_d(ws):
    recs = {r.recording_id: r for r in queries.recordings(Workspace(ws))}
    assert recs["field/cd"].speakers == (None, None) + SPEAKERS
    assert recs["field/ab"].speakers == SPEAKERS + (None, None)


def test_a_speaker_column_past_the_files_channels_is_a_row_error(ws, tmp_path):
    src = next(r for r in queries.recordings(Workspace(ws)) if r.recording_id == "field/ab").tracks[0].path
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"recording_id,path,speaker_a,speaker_e\nx,{src},s1,s5\n")
    (tmp_path / "ab.wav").write_bytes(Path(src).read_bytes())
    manifest.write_text("recording_id,path,speaker_a,speaker_e\nx,ab.wav,s1,s5\n")
    found = read_manifest(str(manifest), hash_files=False)
    assert not found.recordings
    assert [e.problem for e in found.errors] == ["line 2: speaker_e names a speaker on track E, but ab.wav has 4 channels"]


def test_rights_allow_the_two_speakers_and_name_the_unused_channels(ws):
    out = CliRunner().invoke(main, ["rights", "-w", str(ws), "--purpose", PURPOSE, "--json"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    rows = {r["recording_id"]: r for r in json.loads(out.output)["recordings"]}
    assert rows["field/ab"]["allowed"] and rows["field/ab"]["unused_tracks"] == ["C", "D"], rows["field/ab"]
    assert rows["field/ab"]["speakers"] == list(SPEAKERS)
    assert rows["field/cd"]["allowed"] and rows["field/cd"]["unused_tracks"] == ["A", "B"], rows["field/cd"]
    assert rows["field/cd"]["speakers"] == list(SPEAKERS)


def test_a_channel_with_speech_and_no_named_speaker_still_blocks(ws):
    out = CliRunner().invoke(main, ["rights", "-w", str(ws), "--purpose", PURPOSE, "--json"], catch_exceptions=False)
    row = next(r for r in json.loads(out.output)["recordings"] if r["recording_id"] == "field/stranger")
    assert not row["allowed"] and row["unused_tracks"] == ["D"]
    assert len(row["reasons"]) == 1 and row["reasons"][0].startswith("track C: speaker unknown"), row["reasons"]
    speech_c = queries.speech_by_track(Workspace(ws))["field/stranger"][2]
    assert speech_c > 5 and f"found {speech_c:.1f} s of speech on it" in row["reasons"][0]


def test_without_the_activity_result_an_unnamed_channel_is_not_taken_as_silent(ws):
    from twotrack.rights.ledger import Ledger
    from twotrack.rights.verdicts import decide

    w = Workspace(ws)
    recs = [r for r in queries.recordings(w) if r.recording_id == "field/ab"]
    v_manifest, = decide(recs, Ledger(w.ledger_path), PURPOSE)  # no workspace speech: as --manifest judges
    v_unknown, = decide(recs, Ledger(w.ledger_path), PURPOSE, speech={})  # a workspace without its activity
    assert not v_manifest.allowed and not v_unknown.allowed
    assert "no activity result shows it silent" in v_unknown.reasons[0].message


def test_exports_write_only_the_speakers_tracks_and_say_what_was_left_out(ws, exports):
    w = Workspace(ws)
    for fmt, (summary, out) in exports.items():
        state = _state(out)
        assert not summary.errors and sorted(state["recordings"]) == ["field/ab", "field/cd"], (fmt, summary.skipped)
        assert state["skipped"]["field/stranger"].startswith("blocked: track C: speaker unknown")
        ab, cd = state["recordings"]["field/ab"], state["recordings"]["field/cd"]
        assert ab["channels"]["source_tracks"] == ["A", "B"] and list(ab["channels"]["left_out"]) == ["C", "D"]
        assert cd["channels"]["source_tracks"] == ["C", "D"] and list(cd["channels"]["left_out"]) == ["A", "B"]
        assert all("unused channel" in why for why in ab["channels"]["left_out"].values())
        assert ab["speakers"] == cd["speakers"] == list(SPEAKERS)
        assert any("left out" in n for n in ab["notes"])
        assert any(n.startswith("2 recording(s) written without their unused channels") for n in summary.notes)
    # moshi-finetune's reader: every chunk stereo, channel 0 the main speaker's source track
    summary, out = exports["moshi"]
    from test_export_moshi import moshi_finetune_samples

    chunks = list(moshi_finetune_samples(out / "train.jsonl", 10.0))
    assert chunks and all(wav.shape[0] == 2 for _, wav, _ in chunks)
    for rid, kept in (("field/ab", [0, 1]), ("field/cd", [2, 3])):
        src = C.tracks_on_clock(w, rid, 24000)[kept]
        piece = _state(out)["recordings"][rid]["pieces"][0]
        audio, rate = sf.read(str(out / piece["path"]), dtype="float32")
        assert rate == 24000 and audio.shape[1] == 2 and piece["main_speaker"] == SPEAKERS[0]
        assert np.abs(audio.T - np.clip(src[:, : len(audio)], -1, 1)).max() < 1e-4


def test_rights_audit_of_the_export_removes_nothing(ws, exports):
    # the audit judges the recordings again with the workspace's speech: the unused channels need no consent
    _, out = exports["moshi"]
    res = CliRunner().invoke(main, ["rights", "audit", str(out), "-w", str(ws), "--json"], catch_exceptions=False)
    assert res.exit_code == 0 and json.loads(res.output)["removals"] == [], res.output


def test_lhotse_loads_the_two_channel_recordings_with_their_speakers(ws, exports):
    lhotse = pytest.importorskip("lhotse")
    from lhotse.qa import validate_recordings_and_supervisions

    _, out = exports["lhotse"]
    recs = lhotse.load_manifest(out / "recordings.jsonl.gz").with_path_prefix(out)
    sups = lhotse.load_manifest(out / "supervisions.jsonl.gz")
    validate_recordings_and_supervisions(recs, sups, read_data=True)
    w = Workspace(ws)
    starts = {p["id"]: p["start_s"] for r in _state(out)["recordings"].values() for p in r["pieces"]}
    for r in recs:
        assert r.num_channels == 2 and r.channel_ids == [0, 1]
        mine = [s for s in sups if s.recording_id == r.id]
        rid = mine[0].custom["source_recording_id"]
        kept = {"field/ab": [0, 1], "field/cd": [2, 3]}[rid]
        audio = r.load_audio()
        a = int(round(starts[r.id] * r.sampling_rate))
        src = np.clip(C.tracks_on_clock(w, rid)[kept][:, a:a + audio.shape[1]], -1, 1)
        assert np.abs(audio - src).max() < 1e-4
        assert {(s.channel, s.speaker) for s in mine} == {(0, SPEAKERS[0]), (1, SPEAKERS[1])}


def test_parquet_rows_hold_the_two_used_channels(ws, exports):
    datasets = pytest.importorskip("datasets")
    _, out = exports["parquet"]
    ds = datasets.load_dataset("parquet", data_files=str(out / "data" / "*" / "*.parquet"), split="train",
                               cache_dir=str(out.parent / "hf-cache"))
    rows = ds.cast_column("audio", datasets.Audio(decode=False))
    assert sorted(set(rows["recording_id"])) == ["field/ab", "field/cd"]
    for row in rows:
        audio, _ = sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="float32")
        assert audio.shape[1] == row["channels"] == 2
        assert {a["track"] for a in row["activity"]} == {"A", "B"}
        assert {a["speaker"] for a in row["activity"]} == set(SPEAKERS)


def test_events_stats_qualify_and_show_read_the_talking_pair(ws):
    w = Workspace(ws)
    for rid, pair in (("field/ab", {0, 1}), ("field/cd", {2, 3})):
        events = queries.events(w, rid)
        assert events and {e.track for e in events if e.kind is EventKind.IPU} == pair
    assert not queries.events(w, "field/stranger")  # three tracks talk: no dyad
    inputs = {r.recording_id: r for r in inputs_from_workspace(w, PURPOSE).recordings}
    for rid in ("field/ab", "field/cd"):
        assert inputs[rid].n_tracks == 2 and inputs[rid].speakers == SPEAKERS
        assert inputs[rid].stats is not None and inputs[rid].consent.allowed and inputs[rid].rights.allowed
    assert inputs["field/stranger"].n_tracks == 3 and inputs["field/stranger"].consent.allowed is False
    out = CliRunner().invoke(main, ["stats", "-w", str(ws), "--json"], catch_exceptions=False)
    turns = json.loads(out.output)["turns"]
    assert turns["recordings"] == 2 and set(turns["speech_share"]) == {"A", "B"}
    shown = CliRunner().invoke(main, ["show", "field/cd", "-w", str(ws), "--json"], catch_exceptions=False)
    tracks = json.loads(shown.output)["tracks"]
    assert [t["used"] for t in tracks] == [False, False, True, True]
    assert tracks[0]["use"].startswith("unused channel")


def test_a_room_mic_picking_up_the_talkers_does_not_make_them_not_isolated():
    x, sr = sf.read(C.SAMPLE / "clean" / "demo01_367_1688.flac", dtype="float32", frames=30 * 16000)
    a, b = np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1])
    lag = int(0.004 * sr)
    room = np.zeros_like(a)
    room[lag:] = 0.2 * (a[:-lag] + b[:-lag])  # a spare input 4 ms away from both talkers, at -14 dB
    room += (1e-3 * np.random.default_rng(5).standard_normal(a.size)).astype(np.float32)
    result = run_checks(np.stack([a, b, room, np.zeros_like(a)]), sr)
    assert [q.dead for q in result.tracks] == [False, False, True, True], result.reasons
    assert result.isolation is Isolation.ISOLATED, result.reasons
    assert "isolation is judged between track A, B" in result.reasons[1]


def test_a_recording_with_no_speaker_and_no_speech_is_not_allowed_and_exports_nothing(tmp_path):
    # every channel unused: the consent of nobody cannot allow a use (and a file of no tracks cannot be written)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    hiss = (1e-4 * np.random.default_rng(1).standard_normal((3 * 16000, 4))).astype(np.float32)
    sf.write(str(corpus / "empty.wav"), hiss, 16000, subtype="PCM_16")
    ws = C.scan_rows([{"recording_id": "empty", "path": str(corpus / "empty.wav"), "license": "CC-BY-4.0"}],
                     corpus / "manifest.csv", tmp_path / "ws")
    out = CliRunner().invoke(main, ["rights", "-w", str(ws), "--purpose", PURPOSE, "--json"], catch_exceptions=False)
    row, = json.loads(out.output)["recordings"]
    assert not row["allowed"] and row["unused_tracks"] == ["A", "B", "C", "D"]
    assert row["reasons"] == ["no track has a speaker named or any speech: nobody whose consent could allow a use"]
    summary = export(ws, tmp_path / "out", "lhotse", PURPOSE, allow_no_text=True)
    assert not summary.errors and "empty" in summary.blocked and summary.exported == 0



def test_the_explorer_and_the_report_say_an_unused_channel_needs_no_consent(ws):
    """The explorer's recording (API and page) and the HTML report listed each unused channel's consent as
    "speaker unknown" (what blocks a recording) next to the verdict "allowed"; they now say it is an unused
    channel that needs no consent, as ``show`` and ``rights`` do. A third voice on C still reads unknown."""
    from fastapi.testclient import TestClient

    from twotrack.show import create_app
    from twotrack.show.data import snapshot
    from twotrack.show.report import render_report

    with TestClient(create_app(ws, cache_dir=Path(ws) / "peaks")) as c:
        got = c.get("/api/recordings/field/ab").json()
        assert got["rights"][PURPOSE]["allowed"]
        notes = {x["track"]: x["note"] for x in got["consent"]}
        assert notes["C"].startswith("unused channel") and "needs no consent" in notes["C"], notes
        assert notes["D"].startswith("unused channel"), notes
        stranger = {x["track"]: x["note"] for x in c.get("/api/recordings/field/stranger").json()["consent"]}
        assert stranger["C"].startswith("speaker unknown") and "s of speech on it" in stranger["C"], stranger
        assert stranger["D"].startswith("unused channel"), stranger
        page = c.get("/recordings/field/ab").text
        assert "speaker unknown" not in page and "unused channel" in page
    report = render_report(snapshot(Workspace(ws)))
    assert "track C: unknown (speaker unknown)" not in report and "track C: – (unused channel" in report
    lanes = page.split("data-speakers='")[1].split("'")[0]  # the timeline's lane labels
    assert "unused channel" in lanes and "null" not in lanes, lanes


def _moshi_cli(ws, out: Path, *main: str) -> dict:
    res = CliRunner().invoke(main_cli, ["export", "moshi", str(out), "-w", str(ws), "--purpose", PURPOSE,
                                        "--max-duration", "0", "--json", *(("--main-speaker", *main) if main else ())],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_moshi_main_speaker_names_the_source_tracks_of_the_talking_pair(ws, tmp_path):
    """``twotrack export moshi --main-speaker C`` on field/cd (talkers on C and D, A and B unused) skipped it
    ("speaker C is not on this recording"), and ``A`` silently meant the first used track (source C), with
    ``main_track`` "A" and ``_mainB`` naming a track that holds hiss. The letters now name the recording's own
    tracks: C and D work, an unused or absent track is skipped with a reason naming the pair; without
    --main-speaker channel 0 is the first track of the pair (A on a two-track file, C here)."""
    w = Workspace(ws)
    src = C.tracks_on_clock(w, "field/cd", 24000)
    for choice, main, other, suffix in (("C", 2, 3, ""), ("D", 3, 2, "_mainD"), (SPEAKERS[1], 3, 2, "_mainD"),
                                        (None, 2, 3, "")):
        out = tmp_path / f"m{choice}"
        summary = _moshi_cli(ws, out, *([choice] if choice else []))
        assert "field/cd" not in summary["skipped"], summary["skipped"]
        piece, = _state(out)["recordings"]["field/cd"]["pieces"]
        assert piece["id"] == "field__cd" + suffix and piece["main_track"] == "CDCD"[main], piece
        assert piece["main_speaker"] == SPEAKERS[main - 2] and piece["other_speaker"] == SPEAKERS[other - 2]
        # moshi-finetune's reader: channel 0 is the chosen source track, channel 1 the other of the pair
        from test_export_moshi import moshi_finetune_samples

        chunks = [(wav, window) for path, wav, window in moshi_finetune_samples(out / "train.jsonl", 10.0)
                  if Path(path).stem == piece["id"]]
        assert chunks and all(wav.shape[0] == 2 for wav, _ in chunks)
        wav = np.concatenate([c for c, _ in chunks], axis=1)
        n = min(wav.shape[1], src.shape[1])
        ref = np.clip(src[[main, other], :n], -1, 1)
        assert np.abs(wav[:, :n] - ref).max() < 1e-3
        assert any(window for _, window in chunks)
    both = _moshi_cli(ws, tmp_path / "both", "both")
    assert "field/cd" not in both["skipped"]
    assert [(p["id"], p["main_track"]) for p in _state(tmp_path / "both")["recordings"]["field/cd"]["pieces"]] == \
        [("field__cd", "C"), ("field__cd_mainD", "D")]
    # A holds hiss, B nothing on field/cd; E is on neither file: each skipped, saying so
    a = _moshi_cli(ws, tmp_path / "a", "A")
    assert "field/ab" not in a["skipped"]
    assert a["skipped"]["field/cd"].startswith("track A is an unused channel of this recording"), a["skipped"]
    assert "its talkers are on track C and D" in a["skipped"]["field/cd"]
    e = _moshi_cli(ws, tmp_path / "e", "E")
    for rid in ("field/ab", "field/cd"):
        assert e["skipped"][rid].startswith("track E is not on this recording (it has 4 tracks, A-D)"), e["skipped"]


def test_moshi_events_name_the_same_tracks_as_main_track(ws, tmp_path):
    """A Moshi example of field/cd (talkers on C and D) said ``main_track`` "D" (its source letter) while its
    events file named the tracks "A" and "B" (the renumbered view): filtering its events by the main track
    found none, and "A" is a track of hiss in that recording. The events now name the source tracks too, as
    on a two-track file, where ``main_track`` and the events' tracks were always the same letters."""
    _moshi_cli(ws, tmp_path / "both", "both")
    out = tmp_path / "both"
    pieces = {p["id"]: p for rid in ("field/ab", "field/cd") for p in _state(out)["recordings"][rid]["pieces"]}
    for pid, pair in (("field__cd", {"C", "D"}), ("field__cd_mainD", {"C", "D"}), ("field__ab_mainB", {"A", "B"})):
        events = json.loads((out / pieces[pid]["events"]).read_text())["events"]
        named = {e["track"] for e in events if e["track"]} | {e["from_track"] for e in events if e["from_track"]}
        assert named == pair, (pid, named)
        main_ipus = [e for e in events if e["kind"] == "ipu" and e["track"] == pieces[pid]["main_track"]]
        assert main_ipus, pid
    # the main speaker's IPUs are the same on field/ab and field/cd (the same audio on other channels)
    ab = json.loads((out / pieces["field__ab_mainB"]["events"]).read_text())["events"]
    cd = json.loads((out / pieces["field__cd_mainD"]["events"]).read_text())["events"]
    assert [(e["start"], e["end"]) for e in ab if e["kind"] == "ipu" and e["track"] == "B"] == \
        [(e["start"], e["end"]) for e in cd if e["kind"] == "ipu" and e["track"] == "D"]


def test_an_empty_main_speaker_is_refused_before_the_folder_is_touched(ws, tmp_path):
    """``--main-speaker ""`` (a script's unset variable) meant "A" before the default became "the first track
    of the pair"; then it named a speaker "" that no recording has: every recording was skipped and a rerun
    on an export folder removed all its files, exit 0. It is now a usage error (exit 2) and nothing changes."""
    out = tmp_path / "m"
    _moshi_cli(ws, out)
    before = sorted(p.name for p in (out / "audio").iterdir())
    assert before
    for blank in ("", "  "):
        res = CliRunner().invoke(main_cli, ["export", "moshi", str(out), "-w", str(ws), "--purpose", PURPOSE,
                                            "--main-speaker", blank])
        assert res.exit_code == 2, res.output
        assert "--main-speaker" in res.output and "empty" in res.output, res.output
        assert sorted(p.name for p in (out / "audio").iterdir()) == before
    with pytest.raises(Exception, match="main_speaker"):
        export(ws, tmp_path / "api", "moshi", PURPOSE, main_speaker=" ")
    assert not (tmp_path / "api" / "audio").exists()


def test_export_json_says_channel_0_was_the_first_of_the_pair_when_no_main_speaker_was_given(ws, tmp_path):
    """Without --main-speaker channel 0 is the first track of the talking pair (C on field/cd), but export.json
    recorded ``main_speaker`` "A" alone (kept so the keys stay): a team repeating the export from its record
    with ``--main-speaker A`` lost field/cd (skipped: track A is unused). The record now says the option was
    left out and what that chooses; given, it is recorded as given."""
    _moshi_cli(ws, tmp_path / "default")
    export_cfg = _state(tmp_path / "default")["config"]["export"]
    assert export_cfg["main_speaker"] == "A"  # as before: the keys of earlier exports stay the same
    assert export_cfg["main_speaker_given"] is False
    assert "first track of the talking pair" in export_cfg["main_speaker_means"]
    _moshi_cli(ws, tmp_path / "given", "A")
    export_cfg = _state(tmp_path / "given")["config"]["export"]
    assert export_cfg["main_speaker"] == "A" and export_cfg["main_speaker_given"] is True
    assert "main_speaker_means" not in export_cfg
