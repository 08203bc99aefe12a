"""A CANDOR release in its published layout, built from the bundled sample dialogues (nothing of the
corpus ships): one folder per conversation named by its id, with ``processed/`` (the stereo mix
``<convo_id>.mp3``, ``channel_map.json``), ``transcription/`` (``transcribe_output.json`` in AWS
Transcribe's channel-identification shape, ``transcript_{audiophile,cliffhanger,backbiter}.csv``),
``metadata.json`` and ``survey.csv``. The words are the sample's gold (data/sample/gold/*.ctm); the
turns are those words merged per side (``recipe_corpora.utterances``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import soundfile as sf

from recipe_corpora import CLIP_S, DIALOGUES, SAMPLE, gold_words, utterances

# conversation id -> (sample dialogue, user on L, user on R, how its audio is published)
CONVS = {
    "0a1b2c3d-0001-4e5f-8a9b-000000000001": (DIALOGUES[0], "5f00000000000000000000a1", "5f00000000000000000000b1",
                                              "mix"),
    "0a1b2c3d-0002-4e5f-8a9b-000000000002": (DIALOGUES[1], "5f00000000000000000000a2", "5f00000000000000000000b2",
                                              "participants"),
    "0a1b2c3d-0003-4e5f-8a9b-000000000003": (DIALOGUES[2], "5f00000000000000000000a3", "5f00000000000000000000b3",
                                              "mix-metadata-only"),
}
SURVEY = {  # user -> (sex as written, age)
    "5f00000000000000000000a1": ("female", "34"), "5f00000000000000000000b1": ("male", "51"),
    "5f00000000000000000000a2": ("male", "22"), "5f00000000000000000000b2": ("female", "45"),
    "5f00000000000000000000a3": ("female", "29"), "5f00000000000000000000b3": ("female", "63"),
    "5f00000000000000000000c1": ("F", "40"), "5f00000000000000000000c2": ("M", "38"),
}
TURN_COLUMNS = ["turn_id", "speaker", "start", "stop", "utterance", "interval", "delta", "questions",
                "end_question", "overlap", "n_words"]
BACKCHANNEL_COLUMNS = ["backchannel", "backchannel_count", "backchannel_speaker", "backchannel_start",
                       "backchannel_stop"]


def _clean(name: str):
    x, rate = sf.read(SAMPLE / "clean" / f"{name}.flac", dtype="float32")
    return x[: int(CLIP_S * rate)], rate


def aws_words(name: str) -> dict:
    """AWS Transcribe output with channel identification: per channel its words (times as strings,
    as AWS writes them) and a punctuation item after each channel's last word."""
    channels = []
    for track, label in enumerate(("ch_0", "ch_1")):
        items = [{"start_time": f"{s:.3f}", "end_time": f"{e:.3f}", "type": "pronunciation",
                  "alternatives": [{"confidence": "0.98", "content": text}]}
                 for t, s, e, text in gold_words(name) if t == track]
        items.append({"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": "."}]})
        channels.append({"channel_label": label, "items": items})
    text = " ".join(w[3] for w in gold_words(name))
    return {"jobName": "candor-fixture", "status": "COMPLETED",
            "results": {"transcripts": [{"transcript": text}], "channel_labels": {"channels": channels,
                                                                                  "number_of_channels": 2}}}


def turn_rows(name: str, users: tuple[str, str]) -> list[dict]:
    rows, prev = [], None
    for i, (track, s, e, text) in enumerate(utterances(name)):
        rows.append({"turn_id": i, "speaker": users[track], "start": f"{s:.2f}", "stop": f"{e:.2f}",
                     "utterance": text, "interval": "" if prev is None else f"{s - prev:.2f}", "delta": f"{e - s:.2f}",
                     "questions": 0, "end_question": False, "overlap": prev is not None and s < prev,
                     "n_words": len(text.split())})
        prev = e
    return rows


def backbiter_rows(rows: list[dict]) -> list[dict]:
    """Backbiter's shape: a short turn (under 1 s) of the other speaker inside the previous turn's span
    becomes that turn's backchannel columns (the sample has few; the first such turn is moved)."""
    out, moved = [], False
    for row in rows:
        row = dict(row, backchannel="", backchannel_count=0, backchannel_speaker="", backchannel_start="",
                   backchannel_stop="")
        last = out[-1] if out else None
        if (not moved and last and row["speaker"] != last["speaker"]
                and float(row["stop"]) - float(row["start"]) < 1.0):
            last.update(backchannel=row["utterance"], backchannel_count=1, backchannel_speaker=row["speaker"],
                        backchannel_start=row["start"], backchannel_stop=row["stop"])
            moved = True
            continue
        out.append(row)
    return out


def _csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def survey_rows(convo: str, users: tuple[str, str]) -> list[dict]:
    return [{"convo_id": convo, "user_id": u, "partner_id": users[1 - i], "sex": SURVEY[u][0], "age": SURVEY[u][1],
             "race": "white", "edu": "4", "politics": "3", "employ": "1", "overall_affect": "6"}
            for i, u in enumerate(users)]


SURVEY_COLUMNS = ["convo_id", "user_id", "partner_id", "sex", "age", "race", "edu", "politics", "employ",
                  "overall_affect"]


def write_conversation(root: Path, convo: str, name: str, users: tuple[str, str], audio: str,
                       words: bool = True, turns: bool = True) -> Path:
    folder = root / convo
    processed = folder / "processed"
    processed.mkdir(parents=True, exist_ok=True)
    x, rate = _clean(name)
    if audio in ("mix", "mix-metadata-only"):
        sf.write(processed / f"{convo}.mp3", x, rate)  # stereo: L = the sample's side A, R = side B
    elif audio == "mono-mix":
        sf.write(processed / f"{convo}.mp3", 0.5 * (x[:, 0] + x[:, 1]), rate)
    elif audio == "participants":  # each participant's audio, extracted from the release's <user_id>.mp4
        for i, user in enumerate(users):
            sf.write(processed / f"{user}.flac", x[:, i], rate)
    if audio != "mix-metadata-only":
        (processed / "channel_map.json").write_text(json.dumps({"L": users[0], "R": users[1]}))
    (folder / "metadata.json").write_text(json.dumps(
        {"id": convo, "speakers": [{"user_id": users[0], "channel": "L"}, {"user_id": users[1], "channel": "R"}]}))
    if words:
        (folder / "transcription").mkdir(parents=True, exist_ok=True)
        (folder / "transcription" / "transcribe_output.json").write_text(json.dumps(aws_words(name)))
    if turns:
        rows = turn_rows(name, users)
        _csv(folder / "transcription" / "transcript_audiophile.csv", TURN_COLUMNS, rows)
        _csv(folder / "transcription" / "transcript_cliffhanger.csv", TURN_COLUMNS, rows)
        _csv(folder / "transcription" / "transcript_backbiter.csv", TURN_COLUMNS + BACKCHANNEL_COLUMNS,
             backbiter_rows(rows))
    _csv(folder / "survey.csv", SURVEY_COLUMNS, survey_rows(convo, users))
    return folder


def build_candor(root: Path) -> Path:
    """``<root>/my_candor_copy/<convo_id>/...`` for the three conversations of ``CONVS``: the first with
    everything (stereo mix, words, three turn files), the second with the participants' own audio and
    turn files only, the third with a stereo mix, metadata.json (no channel_map.json) and turn files."""
    release = root / "my_candor_copy"
    for convo, (name, a, b, audio) in CONVS.items():
        write_conversation(release, convo, name, (a, b), audio, words=audio == "mix")
    return root


BROKEN = {
    "no-transcript": "0b000000-0000-4000-8000-000000000001",
    "no-audio": "0b000000-0000-4000-8000-000000000002",
    "unknown-speaker": "0b000000-0000-4000-8000-000000000003",
    "bad-survey": "0b000000-0000-4000-8000-000000000004",
    "mono": "0b000000-0000-4000-8000-000000000005",
}


def build_candor_broken(root: Path) -> Path:
    """One broken piece per conversation: a mix without a transcription folder; transcripts and the
    participants' .mp4 videos but no readable audio; an audiophile turn by someone not in the call;
    an unreadable survey.csv; a one-channel mix."""
    users = ("5f00000000000000000000c1", "5f00000000000000000000c2")
    for kind, convo in BROKEN.items():
        audio = "mono-mix" if kind == "mono" else "none" if kind == "no-audio" else "mix"
        folder = write_conversation(root / "broken", convo, DIALOGUES[0], users, audio, words=False,
                                    turns=kind != "no-transcript")
        if kind == "no-transcript":
            (folder / "transcription").mkdir(exist_ok=True)
        if kind == "no-audio":
            for user in users:  # the release's per-participant videos: AAC in MP4, not decoded here
                (folder / "processed" / f"{user}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
        if kind == "unknown-speaker":
            path = folder / "transcription" / "transcript_audiophile.csv"
            lines = path.read_text().splitlines()
            lines.insert(3, "99,5f0000000000000000000099,3.00,3.50,who is this,,0.5,0,False,False,3")
            path.write_text("\n".join(lines) + "\n")
            for other in ("cliffhanger", "backbiter"):
                (folder / "transcription" / f"transcript_{other}.csv").unlink()
        if kind == "bad-survey":
            (folder / "survey.csv").write_bytes(bytes(range(1, 256)) * 4)
    return root
