"""CANDOR (BetterUp; Reece et al. 2023): video calls between two strangers, one folder per conversation.

The release (as public readers of it describe it; docs/recipes.md lists the sources) holds, per
conversation folder named by its conversation id (a UUID):

- ``processed/<convo_id>.mp3``: the call's audio, **stereo**, one participant per channel;
  ``processed/channel_map.json`` (``{"L": user_id, "R": user_id}``) says who is on which channel, and
  ``metadata.json``'s ``speakers`` (``user_id``, ``channel`` L/R) says the same. ``processed/<user_id>.mp4``
  holds each participant's video with their own audio (AAC in MP4: not read here; extracted to
  ``processed/<user_id>.flac`` or ``.wav`` it is, see ``audio=participants``).
- ``transcription/transcribe_output.json``: the AWS Transcribe output, run with channel identification:
  per channel (``ch_0`` = L, ``ch_1`` = R) every recognised word with its start and end time.
- ``transcription/transcript_{audiophile,backbiter,cliffhanger}.csv``: three turn segmentations of those
  words (columns ``turn_id, speaker, start, stop, utterance, ...``; ``speaker`` is the user id; backbiter
  adds ``backchannel, backchannel_speaker, backchannel_start, backchannel_stop``).
- ``survey.csv``: one row per participant (``user_id``, ``partner_id``, ``convo_id``, ``sex``, ``age``,
  ``race``, ``edu``, ``politics``, ``employ``, ... and ~200 post-conversation ratings).

Gold is machine-made (ASR), not human: the words file (word times per channel) is preferred, then
the finest turn model (audiophile). Channel L is track A, R is track B, whichever audio is used.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import jsonfile
from ..errors import ConfigError, InputError
from ..ingest import textlines as tl
from ..model import Word

CANDOR_PATTERNS = {
    "turns": r"transcript_(audiophile|backbiter|cliffhanger)\.csv",
    "words": r"transcribe_output\.json",
    "survey": r"survey\.csv",
    "metadata": r"metadata\.json",
    "channel_map": r"channel_map\.json",
    "audio": r".+\.(mp3|wav|flac|ogg|opus|mp4)",
}
#: Channels in track order: L is track A, R is track B (AWS labels them ch_0, ch_1).
CHANNELS = ("L", "R")
AWS_CHANNELS = ("ch_0", "ch_1")
TURN_MODELS = ("audiophile", "cliffhanger", "backbiter")  # finest first: the order ``transcript=auto`` tries
#: Audio twotrack decodes (the per-participant .mp4 files are AAC in MP4: extract them first).
READABLE_AUDIO = (".mp3", ".wav", ".flac", ".ogg", ".opus")
#: A name for the error of a transcript line whose speaker is neither participant of the conversation.
UNKNOWN_SPEAKER = "unknown speaker"
AUDIO_CHOICES = ("auto", "mix", "participants")
TRANSCRIPT_CHOICES = ("auto", "words") + TURN_MODELS
SURVEY_SPEAKER_FIELDS = ("sex", "age", "race", "edu", "politics", "employ")
_SEX = {"m": "male", "male": "male", "man": "male", "f": "female", "female": "female", "woman": "female"}


# ---------------------------------------------------------------------------------------------
# The conversation's channel map (who is on L, who on R)
# ---------------------------------------------------------------------------------------------


def _load_json(path: str):
    # numbers not strict: the publisher's json.dumps may write NaN in a field twotrack never reads; the times it
    # reads are checked as they are taken (textlines.number)
    return jsonfile.load(path, "metadata file", strict_numbers=False)


def map_from_channel_map(path: str) -> dict[str, str]:
    """``processed/channel_map.json`` -> {"L": user_id, "R": user_id}; ``InputError`` when not that."""
    data = _load_json(path)
    if not isinstance(data, dict) or not all(isinstance(data.get(ch), str) and data[ch] for ch in CHANNELS):
        raise InputError(path, 'expected {"L": <user_id>, "R": <user_id>}')
    return {ch: data[ch] for ch in CHANNELS}


def map_from_metadata(path: str) -> dict[str, str]:
    """``metadata.json``'s ``speakers`` (each with ``user_id`` and ``channel`` L/R) -> {"L": .., "R": ..}."""
    data = _load_json(path)
    speakers = data.get("speakers") if isinstance(data, dict) else None
    out = {}
    for spk in speakers if isinstance(speakers, list) else ():
        if isinstance(spk, dict) and spk.get("channel") in CHANNELS and spk.get("user_id"):
            out[spk["channel"]] = str(spk["user_id"])
    if set(out) != set(CHANNELS):
        raise InputError(path, "no 'speakers' list naming the user_id on channel L and on channel R")
    return out


def conversation_map(conversation: str | Path) -> dict[str, str]:
    """The channel map of a conversation folder: ``processed/channel_map.json``, else ``metadata.json``."""
    folder = Path(conversation)
    cmap = folder / "processed" / "channel_map.json"
    if cmap.is_file():
        return map_from_channel_map(str(cmap))
    meta = folder / "metadata.json"
    if meta.is_file():
        return map_from_metadata(str(meta))
    raise InputError(str(folder), "no processed/channel_map.json or metadata.json: which participant is on "
                                  "which channel is unknown")


# ---------------------------------------------------------------------------------------------
# Gold readers (``ingest.annotations`` formats ``candor-words`` and ``candor-turns``)
# ---------------------------------------------------------------------------------------------


def _conversation_of(transcript: str) -> Path:
    return Path(transcript).resolve().parent.parent  # <convo>/transcription/<file>


def read_candor_words(path: str | Path, recording_id: str | None = None) -> list[Word]:
    """``transcribe_output.json`` (AWS Transcribe, channel identification): every ``pronunciation`` item
    of channel ``ch_0`` on track A, ``ch_1`` on track B; punctuation left out. The recording id is the
    conversation folder's name unless given; a word's speaker is the participant on its channel when
    the conversation's channel map is beside the file."""
    p = str(path)
    rid = recording_id or _conversation_of(p).name
    data = _load_json(p)
    channels = (((data or {}).get("results") or {}).get("channel_labels") or {}).get("channels") \
        if isinstance(data, dict) else None
    if not isinstance(channels, list):
        raise InputError(p, "no results.channel_labels.channels: not an AWS Transcribe output with one channel "
                            "per participant")
    try:
        cmap = conversation_map(_conversation_of(p))
    except InputError:
        cmap = {}
    words = []
    for i, channel in enumerate(channels):
        label = channel.get("channel_label") if isinstance(channel, dict) else None
        if label not in AWS_CHANNELS:
            raise InputError(p, f"channel {i}: unknown channel {label!r} (expected ch_0 or ch_1)")
        track = AWS_CHANNELS.index(label)
        speaker = cmap.get(CHANNELS[track], label)
        for j, item in enumerate(channel.get("items") or ()):
            if not isinstance(item, dict) or item.get("type") != "pronunciation":
                continue
            where = f"{label} item {j}"
            try:
                text = str(item["alternatives"][0]["content"])
                start, end = float(item["start_time"]), float(item["end_time"])
            except (KeyError, IndexError, TypeError, ValueError):
                raise InputError(p, f"{where}: expected start_time, end_time and alternatives[0].content") from None
            words.append(tl.word(p, 0, rid, track, start, end, text, speaker))
    return tl.by_time(words)


def _rows(path: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, [(line, row by column)]) of a CSV transcript; ``InputError`` when unreadable."""
    import csv
    import io

    text = tl.open_text(path)
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader, [])]
        rows = [(reader.line_num, dict(zip(header, cells))) for cells in reader if any(c.strip() for c in cells)]
    except csv.Error as exc:
        raise InputError(path, f"line {reader.line_num}: {exc}") from None
    missing = [c for c in ("speaker", "start", "stop") if c not in header]
    if missing:
        raise InputError(path, f"no column {', '.join(missing)} in the header (expected turn_id, speaker, start, "
                               f"stop, utterance, ...)")
    return header, rows


def read_candor_turns(path: str | Path, recording_id: str | None = None,
                      channel_map: dict[str, str] | None = None) -> list[Word]:
    """A ``transcript_<model>.csv``: each turn (``start``..``stop``, ``utterance``) one unit on its
    speaker's track (IPU-level gold), and in backbiter's file each backchannel (``backchannel_start``..
    ``backchannel_stop`` by ``backchannel_speaker``) one more. The speaker (a user id) -> track comes from
    ``channel_map`` or the conversation's own map; a speaker on neither channel is an ``InputError``
    whose problem starts with ``unknown speaker``. Turns that do not last are left out."""
    p = str(path)
    rid = recording_id or _conversation_of(p).name
    cmap = channel_map or conversation_map(_conversation_of(p))
    track_of = {uid: CHANNELS.index(ch) for ch, uid in cmap.items()}
    _, rows = _rows(p)
    words = []

    def add(line: int, speaker: str, start: str, stop: str, text: str, what: str) -> None:
        speaker = speaker.strip()
        if speaker not in track_of:
            raise InputError(p, f"line {line}: {UNKNOWN_SPEAKER} {speaker!r} ({what}; the conversation's channels "
                                f"are L={cmap['L']}, R={cmap['R']})")
        s, e = tl.number(p, line, start, f"{what} start"), tl.number(p, line, stop, f"{what} stop")
        if e > s:
            words.append(tl.word(p, line, rid, track_of[speaker], s, e, text.strip(), speaker))

    for line, row in rows:
        add(line, row.get("speaker", ""), row.get("start", ""), row.get("stop", ""), row.get("utterance", ""), "turn")
        if (row.get("backchannel_start") or "").strip():
            add(line, row.get("backchannel_speaker", ""), row["backchannel_start"], row.get("backchannel_stop", ""),
                row.get("backchannel", ""), "backchannel")
    return tl.by_time(words)


# ---------------------------------------------------------------------------------------------
# The recipe
# ---------------------------------------------------------------------------------------------


class _Conversation:
    """The files of one conversation folder, by kind."""

    def __init__(self, folder: str):
        self.folder = folder
        self.id = os.path.basename(folder)
        self.turns: dict[str, str] = {}  # model -> csv
        self.words: str | None = None
        self.survey: str | None = None
        self.metadata: str | None = None
        self.channel_map: str | None = None
        self.audio: dict[str, str] = {}  # stem -> file in processed/ (readable formats preferred)
        self.videos: dict[str, str] = {}  # stem -> .mp4 in processed/

    @property
    def transcripts(self) -> list[str]:
        return ([self.words] if self.words else []) + [self.turns[m] for m in TURN_MODELS if m in self.turns]


def _inside(files: dict[str, list[str]], kinds: tuple[str, ...], subfolder: str):
    """(kind, file, conversation folder) of the files of ``kinds`` that sit in a conversation's
    ``subfolder`` (any case); files elsewhere are not the conversation's."""
    for kind in kinds:
        for f in files.get(kind, ()):
            parent = os.path.dirname(f)
            if os.path.basename(parent).lower() == subfolder:
                yield kind, f, os.path.dirname(parent)


def _group(files: dict[str, list[str]]) -> dict[str, _Conversation]:
    """Conversation folder -> its files. A folder is a conversation when it holds ``transcription/`` or
    ``processed/`` (its survey.csv and metadata.json are only taken there)."""
    convs: dict[str, _Conversation] = {}

    def conv(folder: str) -> _Conversation:
        return convs.setdefault(folder, _Conversation(folder))

    for kind, f, folder in _inside(files, ("turns", "words"), "transcription"):
        c = conv(folder)
        if kind == "words":
            c.words = f
        else:
            c.turns[Path(f).stem.split("_", 1)[1].lower()] = f
    for kind, f, folder in _inside(files, ("audio", "channel_map"), "processed"):
        c = conv(folder)
        stem, ext = os.path.splitext(os.path.basename(f))
        if kind == "channel_map":
            c.channel_map = f
        elif ext.lower() == ".mp4":
            c.videos[stem] = f
        elif stem not in c.audio or READABLE_AUDIO.index(ext.lower()) < READABLE_AUDIO.index(
                os.path.splitext(c.audio[stem])[1].lower()):
            c.audio[stem] = f
    for kind in ("survey", "metadata"):
        for f in files.get(kind, ()):
            folder = os.path.dirname(f)
            if folder in convs:
                setattr(convs[folder], kind, f)
    return convs


def _choice(options, name: str, choices: tuple[str, ...]) -> str:
    value = (options.get(name) or choices[0]).strip().lower()
    if value not in choices:
        raise ConfigError(f"candor: {name} {value!r} is not one of {', '.join(choices)}")
    return value


def read_survey(path: str, prepared) -> dict[str, dict[str, str]]:
    """``survey.csv``: user_id -> row (every column, as written); an unreadable file is an
    ``unreadable table`` error and no rows."""
    from .base import BAD_TABLE, read_csv_rows

    before = len(prepared.errors)
    rows = read_csv_rows(path, prepared, header=False)
    if not rows or len(prepared.errors) > before:  # a parse error: said once, no rows taken from it
        return {}
    header = [h.strip() for h in rows[0][1]]
    if "user_id" not in header:
        prepared.error(BAD_TABLE, path, f"no user_id column in the header (got {', '.join(header[:6])}...): not a "
                                        "CANDOR survey.csv")
        return {}
    return {row["user_id"]: row for _, cells in rows[1:] for row in [dict(zip(header, cells))] if row.get("user_id")}


def _speaker_meta(row: dict[str, str]) -> dict[str, str]:
    meta = {k: row[k].strip() for k in SURVEY_SPEAKER_FIELDS if (row.get(k) or "").strip()}
    if "sex" in meta:
        meta["sex"] = _SEX.get(meta["sex"].lower(), meta["sex"])
    return meta


def _channel_map(c: _Conversation, prepared) -> dict[str, str] | None:
    """The conversation's channel map: channel_map.json, checked against metadata.json when both exist."""
    from .base import BAD_METADATA

    found = {}
    for path, reader in ((c.channel_map, map_from_channel_map), (c.metadata, map_from_metadata)):
        if path:
            try:
                found[path] = reader(path)
            except InputError as exc:
                prepared.error(BAD_METADATA, path, exc.problem, c.id)
    maps = list(found.values())
    if len(maps) == 2 and maps[0] != maps[1]:
        prepared.error(BAD_METADATA, c.metadata, f"its speakers' channels {maps[1]} contradict "
                                                 f"processed/channel_map.json {maps[0]}; the channel map is used", c.id)
    if not maps:
        prepared.error(BAD_METADATA, c.folder, "no readable processed/channel_map.json or metadata.json: which "
                                               "participant is on which channel is unknown (no speakers, no turn gold)",
                       c.id)
        return None
    return maps[0]


def _gold(c: _Conversation, cmap: dict[str, str] | None, choice: str, prepared) -> tuple[str | None, str | None]:
    """(transcript path, format) of the conversation's gold: the words file, else the finest turn model
    (``transcript=auto``), or the one asked for. Each unusable file is a named error."""
    from .base import BAD_TRANSCRIPT, UNKNOWN_CHANNEL

    order = ("words",) + TURN_MODELS if choice == "auto" else (choice,)
    for kind in order:
        path = c.words if kind == "words" else c.turns.get(kind)
        if path is None:
            continue
        try:
            if kind == "words":
                read_candor_words(path, c.id)
            elif cmap is None:
                continue  # no map: the turn files' user ids cannot be put on tracks (said once already)
            else:
                read_candor_turns(path, c.id, cmap)
        except InputError as exc:
            name = (UNKNOWN_SPEAKER if UNKNOWN_SPEAKER in exc.problem else
                    UNKNOWN_CHANNEL if "unknown channel" in exc.problem else BAD_TRANSCRIPT)
            prepared.error(name, path, f"{exc.problem}; not used as gold", c.id)
            continue
        return path, ("candor-words" if kind == "words" else "candor-turns")
    return None, None


def _videos(c: _Conversation) -> str:
    return ", ".join(f"{stem}.mp4" for stem in sorted(c.videos) if stem != c.id) or f"{c.id}.mp4"


def _probe(prepared, path: str, rid: str):
    from .base import probe_into

    return probe_into(prepared, path, rid)


def prepare_candor(paths, options):
    """Every CANDOR conversation folder under ``paths`` -> one recording named by its conversation id:
    the stereo mix (channel L = track A, R = track B; one file, one clock), or the two participants'
    own audio files (paired, clock declared shared), or, when only a one-channel mix exists, a mono
    recording (post-training unfit). Speakers ``candor-<user_id>`` with survey.csv's sex, age, ...; gold
    from the words file or a turn file (machine-made: AWS Transcribe)."""
    from ..model import ClockDeclaration, Layout, Recording, SourceType, TrackSource
    from .base import (AUDIO_WITHOUT_TRANSCRIPT, MISSING_CHANNEL, NOT_IN_TABLE, NOTHING_FOUND,
                       TRANSCRIPT_WITHOUT_AUDIO, Prepared)

    audio_choice = _choice(options, "audio", AUDIO_CHOICES)
    gold_choice = _choice(options, "transcript", TRANSCRIPT_CHOICES)
    prepared = Prepared()
    files = prepared.index(paths, CANDOR_PATTERNS)
    convs = _group(files)
    if not convs:
        for root in paths:
            if os.path.exists(root):
                prepared.error(NOTHING_FOUND, root, "no CANDOR conversation folder (<convo_id>/transcription/ or "
                                                    "<convo_id>/processed/) under this path")
    seen: dict[str, str] = {}
    for folder in sorted(convs):
        c = convs[folder]
        rid = c.id
        if rid in seen:
            kind = "duplicate audio" if c.audio else "duplicate transcript"
            prepared.error(kind, folder, f"a second copy of conversation {rid!r} (first: {seen[rid]}); this one is "
                                         "ignored", rid)
            continue
        seen[rid] = folder
        cmap = _channel_map(c, prepared) if (c.channel_map or c.metadata or c.audio or c.turns) else None
        users = (cmap["L"], cmap["R"]) if cmap else (None, None)

        # -- audio: the stereo mix, the participants' own files, or a mono mix --------------------
        mix = c.audio.get(rid)
        mix_info = _probe(prepared, mix, rid) if mix else None
        own = [c.audio.get(u) if u else None for u in users]
        layout = None
        if audio_choice != "mix" and all(own) and (audio_choice == "participants" or mix_info is None
                                                   or mix_info.channels != 2):
            if all(_probe(prepared, f, rid) is not None for f in own):
                layout = "participant-files"
        if layout is None and mix_info is not None:
            layout = "stereo-mix" if mix_info.channels == 2 else "mono-mix" if mix_info.channels == 1 else None
            if layout is None:
                prepared.error(MISSING_CHANNEL, mix, f"expected 2 channels (L, R), the file has {mix_info.channels}",
                               rid)
        if layout is None:
            for f in c.transcripts:
                hint = (f"; processed/ holds {_videos(c)} (AAC in MP4, not read: extract each participant's audio, "
                        f"e.g. ffmpeg -i <user_id>.mp4 -vn <user_id>.flac)" if c.videos else "")
                prepared.error(TRANSCRIPT_WITHOUT_AUDIO, f, f"no readable processed/{rid}.mp3 or participants' audio "
                                                            f"in {folder}{hint}", rid)
                break
            continue

        # -- gold, speakers, metadata --------------------------------------------------------------
        transcript, fmt = _gold(c, cmap, gold_choice, prepared)
        if not c.transcripts:
            prepared.error(AUDIO_WITHOUT_TRANSCRIPT, mix if layout != "participant-files" else own[0],
                           f"no transcription/transcribe_output.json or transcript_*.csv in {folder}", rid)
        survey = read_survey(c.survey, prepared) if c.survey else {}
        if c.survey is None and cmap:
            prepared.error(NOT_IN_TABLE, folder, "no survey.csv in the conversation folder: speakers' sex and age "
                                                 "unknown", rid)
        speakers = []
        for ch, user in zip(CHANNELS, users):
            spk = f"candor-{user}" if user else None
            speakers.append(spk)
            if spk is None:
                continue
            row = survey.get(user)
            if row is None and c.survey and survey:
                prepared.error(NOT_IN_TABLE, c.survey, f"participant {user} (channel {ch}) has no row", rid)
            prepared.speaker(spk, corpus="candor", user_id=user, **(_speaker_meta(row) if row else {}))
        metadata = {"conversation_folder": folder, "audio_layout": layout}
        if cmap:
            metadata["channel_map"] = f"L={cmap['L']},R={cmap['R']}"
        if c.survey:
            metadata["survey"] = c.survey
        if c.metadata:
            metadata["metadata_file"] = c.metadata
        tags = {"corpus": "candor", "register": "spontaneous-video-call"}
        common = dict(license=options.get("license"), tags=tags)
        if layout == "mono-mix":
            prepared.error(MISSING_CHANNEL, mix, "one channel: the two participants are mixed; scanned as a mono "
                           "recording (post-training unfit)" + (f"; processed/ holds {_videos(c)}: extract the "
                                                                "participants' audio for two tracks" if c.videos
                                                                else ""), rid)
            if transcript:
                metadata["transcript_unused"] = transcript  # a mix has one track: the gold's two sides do not fit
            prepared.recordings.append(Recording(
                recording_id=rid, tracks=(TrackSource(mix, 0),), layout=Layout.MONO, speakers=(),
                source_type=SourceType.MONO, metadata=metadata, **common))
            continue
        if transcript:
            metadata.update(transcript_format=fmt, gold_source="machine (AWS Transcribe)")
        if layout == "stereo-mix":
            tracks, rec_layout, clock = (TrackSource(mix, 0), TrackSource(mix, 1)), Layout.MULTICHANNEL, None
        else:
            # The publisher's per-participant renders of one call, on the call's timeline (the transcripts
            # index both): declared shared, not measured; the checks still test it when the tracks share a signal.
            tracks, rec_layout = (TrackSource(own[0], 0), TrackSource(own[1], 0)), Layout.PAIRED
            clock = ClockDeclaration(offset_s=0.0, drift_ppm=0.0, source="declared")
        prepared.recordings.append(Recording(
            recording_id=rid, tracks=tracks, layout=rec_layout, speakers=tuple(speakers),
            source_type=SourceType.TWO_TRACK, transcript=transcript, metadata=metadata, clock=clock, **common))
    return prepared
