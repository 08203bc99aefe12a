"""The CANDOR recipe on a release built in its published layout from the sample dialogues (tests/candor_corpus.py)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from candor_corpus import BROKEN, CONVS, SURVEY, backbiter_rows, build_candor, build_candor_broken, turn_rows
from recipe_corpora import gold_words, utterances
from twotrack.cli import main
from twotrack.evaluate import gold_from_workspace
from twotrack.ingest.annotations import recording_gold
from twotrack.qualify.requirements import qualify_corpus
from twotrack.qualify.workspace import inputs_from_workspace
from twotrack.recipes.candor import read_candor_turns
from twotrack.recipes.registry import prepare
from twotrack.store import Workspace, queries


def _kinds(prepared) -> list[str]:
    return sorted(e.problem.split(":", 1)[0] for e in prepared.errors)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """The fixture release scanned once through the command line (every test below reads it)."""
    root = build_candor(tmp_path_factory.mktemp("candor"))
    ws = root / "ws"
    result = CliRunner().invoke(main, ["scan", "--recipe", "candor", str(root / "my_candor_copy"), "-w", str(ws),
                                       "-j", "0", "--no-progress", "--json"])
    assert result.exit_code == 0, result.output
    return root, Workspace(ws)


def test_every_conversation_is_a_two_track_recording_with_its_speakers(scanned):
    _, ws = scanned
    assert queries.error_table(ws) == []
    recs = {r.recording_id: r for r in queries.recordings(ws)}
    assert sorted(recs) == sorted(CONVS)
    for convo, (_, left, right, audio) in CONVS.items():
        rec = recs[convo]
        assert rec.speakers == (f"candor-{left}", f"candor-{right}")  # channel L = track A
        assert rec.source_type.value == "two-track" and rec.tags == {"corpus": "candor",
                                                                     "register": "spontaneous-video-call"}
        if audio == "participants":  # the participants' own files: paired, clock declared (not measured)
            assert rec.layout.value == "paired" and [t.path.rsplit("/", 1)[-1] for t in rec.tracks] == [
                f"{left}.flac", f"{right}.flac"]
            assert rec.clock is not None and (rec.clock.offset_s, rec.clock.drift_ppm, rec.clock.source) == (
                0.0, 0.0, "declared")
        else:  # the stereo mix: one file, L on channel 0, R on channel 1, one clock
            assert rec.layout.value == "multichannel" and [t.channel for t in rec.tracks] == [0, 1]
            assert rec.tracks[0].path.endswith(f"processed/{convo}.mp3") and rec.clock is None
    meta = {k: json.loads(v or "{}") for k, v in queries.speaker_metadata(ws).items()}
    for user, (sex, age) in SURVEY.items():
        if any(user in v[1:3] for v in CONVS.values()):
            assert meta[f"candor-{user}"]["sex"] == sex and meta[f"candor-{user}"]["age"] == age


def test_gold_is_the_words_file_else_the_audiophile_turns(scanned):
    _, ws = scanned
    recs = {r.recording_id: r for r in queries.recordings(ws)}
    gold, errors = gold_from_workspace(ws.path)
    assert errors == [] and sorted(gold) == sorted(CONVS)
    for convo, (name, left, right, audio) in CONVS.items():
        rec = recs[convo]
        if audio == "mix":  # transcribe_output.json: word times per channel, ch_0 -> track A
            assert rec.metadata["transcript_format"] == "candor-words"
            assert sorted((w.track, round(w.start, 3), w.text) for w in gold[convo]) == sorted(
                (t, round(s, 3), text) for t, s, e, text in gold_words(name))
            assert {w.speaker for w in gold[convo] if w.track == 0} == {left}
        else:  # no words file: each audiophile turn on its speaker's track
            assert rec.transcript.endswith("transcript_audiophile.csv")
            assert sorted((w.track, round(w.start, 2), round(w.end, 2)) for w in gold[convo]) == sorted(
                (t, round(s, 2), round(e, 2)) for t, s, e, _ in utterances(name))
        assert rec.metadata["gold_source"].startswith("machine")


def test_eval_reads_the_recipe_gold_and_qualify_the_survey(scanned):
    _, ws = scanned
    result = CliRunner().invoke(main, ["eval", "-w", str(ws.path), "--json"])
    assert result.exit_code == 0, result.output
    ev = json.loads(result.output)
    assert ev["n_recordings"] == 3 and ev["unmatched_recordings"] == []
    assert ev["frame_f1"] > 0.8
    report = qualify_corpus(inputs_from_workspace(ws))
    req = {r.id: r for r in report.requirements}
    assert req[5].evidence["unique_speakers"] == 6 and req[5].evidence["tracks_without_speaker_id"] == 0
    assert set(req[5].evidence["metadata_balance"]["sex"]["hours_share"]) == {"female", "male"}
    assert req[4].evidence["topics"] == []  # the calls had no assigned topic
    assert {r.data_type.data_type for r in report.recordings} == {"two-track"}


def test_broken_release_gives_one_named_error_per_piece(tmp_path):
    got = prepare("candor", [build_candor_broken(tmp_path)])
    assert _kinds(got) == ["audio without transcript", "missing channel", "transcript without audio",
                           "unknown speaker", "unreadable table"]
    by_kind = {e.problem.split(":", 1)[0]: e for e in got.errors}
    assert by_kind["audio without transcript"].recording_id == BROKEN["no-transcript"]
    assert by_kind["transcript without audio"].recording_id == BROKEN["no-audio"]
    assert ".mp4" in by_kind["transcript without audio"].problem  # says how to get the participants' audio
    assert by_kind["unknown speaker"].path.endswith("transcript_audiophile.csv")
    assert "line 4" in by_kind["unknown speaker"].problem
    assert by_kind["unreadable table"].path.endswith("survey.csv")
    recs = {r.recording_id: r for r in got.recordings}
    assert BROKEN["no-audio"] not in recs  # nothing to scan
    assert recs[BROKEN["unknown-speaker"]].transcript is None  # its only transcript is not gold
    assert recs[BROKEN["no-transcript"]].transcript is None
    mono = recs[BROKEN["mono"]]  # a one-channel mix: a mono recording, named as such
    assert mono.layout.value == "mono" and mono.source_type.value == "mono" and mono.n_tracks == 1
    assert "post-training unfit" in by_kind["missing channel"].problem


def test_a_mono_mix_is_scanned_as_mono_and_unfit_for_post_training(tmp_path):
    root = build_candor_broken(tmp_path)
    ws = Workspace(tmp_path / "ws", create=True)
    from twotrack.run import scan

    summary = scan([root / "broken" / BROKEN["mono"]], ws, jobs=0, recipe="candor")
    assert summary.scanned == 1
    report = qualify_corpus(inputs_from_workspace(ws))
    (rec,) = report.recordings
    assert rec.data_type.data_type == "mono" and rec.phase_fit.post == "unfit"


def test_options_choose_the_audio_and_the_transcript(tmp_path):
    from twotrack.errors import ConfigError

    root = build_candor(tmp_path)
    convo = next(c for c, v in CONVS.items() if v[3] == "mix")
    name, left, right, _ = CONVS[convo]
    # the participants' own files beside the mix: used first with audio=participants only
    folder = root / "my_candor_copy" / convo
    import soundfile as sf

    x, rate = sf.read(folder / "processed" / f"{convo}.mp3")
    for i, user in enumerate((left, right)):
        sf.write(folder / "processed" / f"{user}.wav", x[:, i], rate)
    by_id = {r.recording_id: r for r in prepare("candor", [folder]).recordings}
    assert by_id[convo].layout.value == "multichannel"
    by_id = {r.recording_id: r for r in prepare("candor", [folder], {"audio": "participants"}).recordings}
    assert by_id[convo].layout.value == "paired" and by_id[convo].clock.source == "declared"
    # transcript=backbiter: turns plus the backchannels its columns carry, each on its speaker's track
    got = prepare("candor", [folder], {"transcript": "backbiter"})
    rec = got.recordings[0]
    assert rec.transcript.endswith("transcript_backbiter.csv") and got.errors == []
    words = recording_gold(rec)
    assert sorted((w.track, round(w.start, 2)) for w in words) == sorted(
        (t, round(s, 2)) for t, s, _, _ in utterances(name))
    assert len(backbiter_rows(turn_rows(name, (left, right)))) < len(utterances(name))  # one did move
    with pytest.raises(ConfigError, match="transcript"):
        prepare("candor", [folder], {"transcript": "human"})
    with pytest.raises(ConfigError, match="audio"):
        prepare("candor", [folder], {"audio": "left"})


def test_turn_reader_needs_the_channel_map(tmp_path):
    from twotrack.errors import InputError

    root = build_candor(tmp_path)
    convo = next(iter(CONVS))
    csv_path = root / "my_candor_copy" / convo / "transcription" / "transcript_audiophile.csv"
    assert {w.track for w in read_candor_turns(csv_path)} == {0, 1}
    (root / "my_candor_copy" / convo / "processed" / "channel_map.json").unlink()
    (root / "my_candor_copy" / convo / "metadata.json").unlink()
    with pytest.raises(InputError, match="which participant"):
        read_candor_turns(csv_path)
    got = prepare("candor", [root / "my_candor_copy" / convo])
    assert _kinds(got) == ["unreadable metadata"]  # the words file still gives gold (its channels are tracks)
    assert got.recordings[0].transcript.endswith("transcribe_output.json")
    assert got.recordings[0].speakers == (None, None)


def test_recipes_command_lists_candor_with_what_it_reads():
    result = CliRunner().invoke(main, ["recipes", "--json"])
    listed = {r["name"]: r for r in json.loads(result.output)}
    reads = " ".join(x["file"] + " " + x["becomes"] for x in listed["candor"]["reads"])
    assert "channel_map.json" in reads and "transcribe_output.json" in reads and "mono" in reads
    assert {o["name"] for o in listed["candor"]["options"]} == {"license", "audio", "transcript"}
