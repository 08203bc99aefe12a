"""AMI Meeting Corpus (CC BY 4.0): individual headset channels and the NITE word annotations.

Audio ``amicorpus/<meeting>/audio/<meeting>.Headset-<N>.wav`` (one close-talk microphone per
participant, 16 kHz); manual annotations ``words/<meeting>.<letter>.words.xml`` (NITE XML: ``<w
starttime= endtime=>word</w>`` per word, ``punc="true"`` for punctuation), ``corpusResources/meetings.xml``
(per meeting, each participant letter's ``global_name`` and headset ``channel``) and, when present,
``corpusResources/participants.xml`` (per participant, named by its ``nite:id``: sex, age at collection,
native language; without a sex, the global name's first letter, ``F``/``M``, gives it). A meeting has three to five speakers: data type ``multiparty``, whichever headsets
are kept.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import ConfigError, InputError, file_access
from ..ingest import textlines as tl
from ..model import Word

AMI_PATTERNS = {
    "audio": r"[A-Z]{2}\d{4}[a-z]?\.Headset-\d+\.wav",
    "words": r"[A-Z]{2}\d{4}[a-z]?\.[A-Z]\.words\.xml",
    "meetings": r"meetings\.xml",
    "participants": r"participants\.xml",
    # the corpus's other microphones (lhotse's ami.py downloads them as mic ihm-mix, sdm, mdm, mdm8-bf): one
    # signal of the whole room each, not a speaker's own; named when a meeting has no headsets
    "room_audio": r"[A-Z]{2}\d{4}[a-z]?(?:\.Mix-Headset|\.Array\d-\d\d|_MDM8)\.wav",
}
_HEADSET = re.compile(r"^(?P<meeting>[A-Z]{2}\d{4}[a-z]?)\.Headset-(?P<n>\d+)\.wav$", re.IGNORECASE)
_WORDS = re.compile(r"^(?P<meeting>[A-Z]{2}\d{4}[a-z]?)\.(?P<letter>[A-Z])\.words\.xml$", re.IGNORECASE)
#: Scenario meetings (ES, IS, TS): teams design a remote control; the others are natural meetings.
SCENARIO_PREFIXES = ("ES", "IS", "TS")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def meeting_id(name: str) -> str:
    """A meeting id as the corpus spells it, ``ES2002a`` (site, type and number upper case, the session letter lower),
    whatever case a copy's file names have: an ISO 9660 disc or a renaming tool writes ``ES2002A.HEADSET-0.WAV``, and
    a meeting whose audio and words files differ in case was two meetings, neither with gold."""
    return name[:6].upper() + name[6:].lower()


def _parse(path: str) -> ET.Element:
    with file_access(path, "annotation file"):
        try:
            return ET.parse(path).getroot()
        except ET.ParseError as exc:
            raise InputError(path, f"not well-formed XML: {exc}") from None


def read_ami_words(path: str | Path, recording_id: str | None = None, track: int = 0) -> list[Word]:
    """The timed words of one AMI ``words.xml`` (punctuation and untimed elements left out)."""
    p = str(path)
    m = _WORDS.match(Path(p).name)
    rid = recording_id or (m.group("meeting") if m else Path(p).stem)
    words = []
    for el in _parse(p).iter():
        if _local(el.tag) != "w" or el.get("punc") == "true" or "starttime" not in el.attrib:
            continue
        start = tl.number(p, 0, el.get("starttime", ""), "starttime")
        end = tl.number(p, 0, el.get("endtime", ""), "endtime")
        words.append(tl.word(p, 0, rid, track, start, end, (el.text or "").strip(),
                             m.group("letter") if m else None))
    return tl.by_time(words)


def read_meetings(path: str, prepared) -> dict[str, dict[str, tuple[str, int]]]:
    """``meetings.xml``: meeting -> participant letter -> (global name, headset channel)."""
    from .base import BAD_TABLE

    out: dict[str, dict[str, tuple[str, int]]] = {}
    try:
        root = _parse(path)
    except InputError as exc:
        prepared.error(BAD_TABLE, path, exc.problem)
        return out
    for meeting in root.iter():
        if "observation" not in meeting.attrib:  # the element naming a meeting, whatever its tag
            continue
        for spk in meeting:
            letter, name, channel = spk.get("nxt_agent"), spk.get("global_name"), spk.get("channel")
            if letter and name and channel is not None and channel.isdigit():
                out.setdefault(meeting_id(meeting.get("observation")), {})[letter.upper()] = (name, int(channel))
    return out


#: ``participants.xml`` attributes kept as speaker metadata (besides sex), as the file names them.
PARTICIPANT_FIELDS = {"age_at_collection": "age", "native_language": "native_language"}


def read_participants(path: str, prepared) -> dict[str, dict[str, str]]:
    """``participants.xml``: global name -> {sex, age, native_language}. Each ``<participant>`` names its
    person by its ``nite:id`` (the global name meetings.xml uses; readers of the release match the two,
    e.g. a NITE-XML reader in the ami-meeting-summaries code and an AMI channel reader that takes
    ``<participant nite:id=".." sex=".." native_language="..">``); a ``global_name`` attribute is read
    too. Sex from a ``sex``/``gender`` attribute or child element."""
    from .base import BAD_TABLE

    try:
        root = _parse(path)
    except InputError as exc:
        prepared.error(BAD_TABLE, path, exc.problem)
        return {}
    out: dict[str, dict[str, str]] = {}
    for el in root.iter():
        name = el.get("global_name")
        if not name and _local(el.tag) == "participant":
            name = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
        if not name:
            continue
        sex = el.get("sex") or el.get("gender")
        for child in el:
            if _local(child.tag).lower() in ("sex", "gender") and (child.text or "").strip():
                sex = child.text.strip()
        sex = (sex or "").strip().lower()
        meta = out.setdefault(name, {})  # a person may have an entry per meeting series
        if sex:
            meta.setdefault("sex", {"f": "female", "m": "male"}.get(sex, sex))
        for attr, key in PARTICIPANT_FIELDS.items():
            if (el.get(attr) or "").strip():
                meta.setdefault(key, el.get(attr).strip())
    return out


def sex_of_global_name(name: str) -> str | None:
    """AMI's global participant names start with the participant's sex (``FEE005`` a woman, ``MEE006`` a
    man; lhotse's ami.py takes the gender from this letter): the fallback when participants.xml says none."""
    return {"F": "female", "M": "male"}.get(name[:1].upper())


def check_ami_words(path: str, meeting: str, prepared) -> bool:
    """Whether a ``words.xml`` can serve as gold (``read_ami_words`` reads it); otherwise an ``unreadable
    transcript`` error naming the file and the problem, so the scan goes on without that track's gold."""
    from .base import BAD_TRANSCRIPT

    try:
        read_ami_words(path, meeting)
    except InputError as exc:
        prepared.error(BAD_TRANSCRIPT, path, f"{exc.problem}; no gold for this participant", meeting)
        return False
    return True


def _headsets(option: str | None) -> list[int] | None:
    if option is None or option.strip().lower() in ("", "all"):
        return None
    try:
        chosen = [int(x) for x in option.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"ami: headsets {option!r} is not 'all' or a list of headset numbers like 0,1") from None
    if len(chosen) < 2 or len(set(chosen)) != len(chosen):
        raise ConfigError(f"ami: headsets {option!r}: name at least two different headsets (e.g. 0,1)")
    return chosen


def prepare_ami(paths, options):
    """Every meeting with ``Headset-N.wav`` files under ``paths`` becomes one recording (a track per
    headset kept: all, or ``headsets=0,1``), data type multiparty; each track's speaker is its wearer
    (``ami-<global name>``, via meetings.xml) and its gold the wearer's ``words.xml``."""
    from ..model import ClockDeclaration, Layout, Recording, SourceType, TrackSource
    from .base import (AUDIO_WITHOUT_TRANSCRIPT, MISSING_CHANNEL, NOT_IN_TABLE,
                       TRANSCRIPT_WITHOUT_AUDIO, Prepared, table_missing, probe_into)

    chosen = _headsets(options.get("headsets"))
    prepared = Prepared()
    files = prepared.index(paths, AMI_PATTERNS, "<meeting>.Headset-N.wav, <meeting>.<letter>.words.xml, "
                                                "meetings.xml, participants.xml")
    audio: dict[str, dict[int, str]] = {}
    for f in files.get("audio", ()):
        m = _HEADSET.match(Path(f).name)
        audio.setdefault(meeting_id(m.group("meeting")), {}).setdefault(int(m.group("n")), f)
    words: dict[str, dict[str, str]] = {}
    for f in files.get("words", ()):
        m = _WORDS.match(Path(f).name)
        words.setdefault(meeting_id(m.group("meeting")), {}).setdefault(m.group("letter").upper(), f)
    meetings: dict[str, dict[str, tuple[str, int]]] = {}
    for f in files.get("meetings", ()):
        for k, v in read_meetings(f, prepared).items():
            meetings.setdefault(k, v)
    people: dict[str, dict[str, str]] = {}
    for f in files.get("participants", ()):
        people.update(read_participants(f, prepared))
    if not meetings:
        table_missing(prepared, paths, "no corpusResources/meetings.xml under this path: headsets cannot be "
                                       "matched to speakers and words")
    for meeting in sorted(audio):
        headsets = audio[meeting]
        keep = sorted(headsets) if chosen is None else chosen
        missing = [n for n in keep if n not in headsets]
        if missing:
            prepared.error(MISSING_CHANNEL, headsets[min(headsets)], f"meeting {meeting} has no Headset-"
                                                                      f"{','.join(map(str, missing))}.wav", meeting)
            continue
        infos = [probe_into(prepared, headsets[n], meeting) for n in keep]
        if any(i is None for i in infos):
            continue
        wearers = {ch: (letter, name) for letter, (name, ch) in meetings.get(meeting, {}).items()}
        absent = sorted(ch for ch in wearers if ch not in headsets) if chosen is None else []
        if absent:  # a partial download: a participant meetings.xml names has no headset file, so no track
            who = ", ".join(f"Headset-{ch}.wav (worn by {wearers[ch][0]}, ami-{wearers[ch][1]})" for ch in absent)
            prepared.error(MISSING_CHANNEL, headsets[min(headsets)], f"meeting {meeting} has no {who}: that "
                                                                      "participant's speech is on no track of its "
                                                                      "own; the other headsets are scanned", meeting)
        if meetings and meeting not in meetings:
            prepared.error(NOT_IN_TABLE, headsets[keep[0]], f"meeting {meeting} is not in meetings.xml", meeting)
        speakers, gold = [], []
        for n in keep:
            letter, name = wearers.get(n, (None, None))
            spk = f"ami-{name}" if name else None
            speakers.append(spk)
            if spk:
                meta = dict(people.get(name, {}))
                meta.setdefault("sex", sex_of_global_name(name))
                prepared.speaker(spk, corpus="ami", global_name=name, **meta)
            f = words.get(meeting, {}).get(letter) if letter else None
            if f is None and meeting in meetings:
                prepared.error(AUDIO_WITHOUT_TRANSCRIPT, headsets[n], f"no {meeting}.{letter or '?'}.words.xml for "
                                                                      f"headset {n} under the given folders", meeting)
            gold.append(f if f is None or check_ami_words(f, meeting, prepared) else None)
        tags = {"corpus": "ami", "register": "meeting"}
        if meeting[:2].upper() in SCENARIO_PREFIXES:
            tags["topic"] = "remote-control-design"
        others = sorted(set(headsets) - set(keep))
        metadata = {"headsets": ",".join(map(str, keep)), "meeting_speakers": str(len(meetings.get(meeting, {})) or
                                                                                  len(headsets))}
        if others:
            metadata["headsets_left_out"] = ",".join(map(str, others))
        prepared.recordings.append(Recording(
            recording_id=meeting, tracks=tuple(TrackSource(headsets[n], 0) for n in keep), layout=Layout.PAIRED,
            speakers=tuple(speakers), source_type=SourceType.MULTIPARTY, license=options.get("license") or "CC-BY-4.0",
            tags=tags, metadata=metadata, track_transcripts=tuple(gold) if any(gold) else (),
            # the headsets were recorded on one synchronised system (Carletta et al. 2005: all devices "produce
            # output signals that are synchronized with each other"): declared shared, as the files share no
            # signal the checks could measure it on; without it every meeting was left out of exports (clock
            # unknown)
            clock=ClockDeclaration(offset_s=0.0, drift_ppm=0.0, source="declared")))
    room: dict[str, list[str]] = {}
    for f in files.get("room_audio", ()):
        room.setdefault(meeting_id(re.split(r"[._]", Path(f).name, maxsplit=1)[0]), []).append(f)
    for meeting in sorted(set(room) - set(audio)):
        names = ", ".join(Path(f).name for f in room[meeting])
        prepared.error(MISSING_CHANNEL, room[meeting][0], f"meeting {meeting} has only room audio ({names}): one mix "
                                                          "of every speaker, not two-track material; twotrack reads "
                                                          f"the close-talk {meeting}.Headset-N.wav files, one per "
                                                          "speaker", meeting)
    for meeting in sorted(set(words) - set(audio) - set(room)):
        for f in words[meeting].values():
            prepared.error(TRANSCRIPT_WITHOUT_AUDIO, f, f"no {meeting}.Headset-N.wav under the given folders", meeting)
    return prepared
