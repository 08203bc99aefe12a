"""Expiry of abandoned capture sessions: their links stop working and their partial audio is deleted.

A session that is not finished (``open``, ``recording``, or ``stopped`` with a track not finished) and has
seen no activity for ``after_s`` seconds (capture.expire_after_s) expires: every participant request
answers 410, and the audio it holds (each track's chunks, anchors and clock exchanges) is deleted, since the
participants agreed to a finished recording, not to fragments of one. ``session.json`` stays, with an
``expiry`` record saying when, after how long, what the session held and whether (and when) it was deleted.
A session whose two tracks are finished, or that is being or has been assembled, is never touched.

Expiry is two steps on disk, like assembly: the session is first saved ``expiring`` with the inventory of
what it holds, then its track folders are deleted and it is saved ``expired``. A process that stops in
between leaves ``expiring``; the next pass (at server start, periodically, or ``twotrack capture expire``)
finishes the deletion that the record names, whatever the policy says now.

Time comes from the store's clock (``SessionStore(clock=...)``, epoch seconds), so tests age sessions
without waiting.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger("twotrack.capture")

#: States in which a session can expire (and a track may still be missing).
LIVE = ("open", "recording", "stopped")
#: States in which its links answer 410.
GONE = ("expiring", "expired")
ROLES = ("A", "B")


@dataclass(frozen=True)
class ExpiryPolicy:
    after_s: float = 72 * 3600.0  # 0: sessions never expire
    keep_audio: bool = False
    check_s: float = 300.0

    @classmethod
    def from_config(cls, cfg) -> ExpiryPolicy:
        """From a ``config.CaptureConfig``."""
        return cls(float(cfg.expire_after_s), bool(cfg.keep_expired_audio), float(cfg.expire_check_s))


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch(text: str) -> float:
    from ..rights.consent import parse_time

    return parse_time(text).timestamp()


def duration_text(seconds: float) -> str:
    """72 h, 90 min, 45 s: how long, in the largest whole-ish unit."""
    s = float(seconds)
    if s >= 3600:
        return f"{round(s / 3600, 1):g} h"
    if s >= 120:
        return f"{round(s / 60, 1):g} min"
    if 0 < s < 1:  # rounded, 0.04 s read "0 s": a limit that expires at once said what 0 (never) means
        return f"{s:.2g} s"
    return f"{round(s, 1):g} s"


def finished(session) -> bool:
    return all(p.finished is not None for p in session.participants.values())


def last_activity(session, folder: Path) -> float:
    """Epoch seconds of the session's last activity. A session saved before activity was recorded has none:
    its creation or its newest file, whichever is later, stands for it."""
    if session.last_activity:
        return epoch(session.last_activity)
    newest = epoch(session.created_at)
    for path in folder.rglob("*"):
        try:
            newest = max(newest, path.stat().st_mtime)
        except OSError:
            pass
    return newest


def due(session, folder: Path, now: float, policy: ExpiryPolicy) -> bool:
    """Whether ``session`` expires at ``now``: live, not finished, idle for at least ``after_s``."""
    if policy.after_s <= 0 or session.state not in LIVE or finished(session):
        return False
    return now - last_activity(session, folder) >= policy.after_s


def held_audio(folder: Path) -> dict:
    """What each track folder holds: chunks, samples and seconds of audio, anchors, files and bytes."""
    out = {}
    for role in ROLES:
        base = folder / role
        chunks = samples = anchors = files = size = 0
        seconds = 0.0
        if base.exists():
            for path in base.rglob("*"):
                if path.is_file():
                    files += 1
                    size += path.stat().st_size
            for meta in sorted((base / "chunks").glob("*.json")):
                try:
                    m = json.loads(meta.read_text())
                    chunks += 1
                    samples += int(m["n_samples"])
                    seconds += int(m["n_samples"]) / int(m["sample_rate"])
                except (OSError, ValueError, KeyError, ZeroDivisionError):
                    pass
            anchors = len(list((base / "anchors").glob("*.json")))
        out[role] = {"chunks": chunks, "samples": samples, "seconds": round(seconds, 3), "anchors": anchors,
                     "files": files, "bytes": size}
    return out


def gone_problem(session) -> str:
    """What a participant's link says about an expired session (the 410's detail)."""
    e = session.expiry or {}
    when = e.get("at", "?")
    idle = duration_text(e.get("after_s") or 0)
    if e.get("audio_action") == "keep":
        audio = "the audio it held is kept by the operator"
    else:
        audio = "the partial audio it held was deleted"
    return (f"this capture session expired at {when}, after {idle} without activity, before the recording was "
            f"finished; its links no longer work and {audio}. Ask the host for a new session.")


def begin(store, sid: str, policy: ExpiryPolicy, now: float) -> bool:
    """Step 1 (under the session's lock): a due session is saved ``expiring`` with the inventory of what it
    holds and what will become of it. False when it is not due (nor already expiring or expired)."""
    s = store.get(sid)
    if s.state in GONE:
        return True
    folder = store.folder(sid)
    if not due(s, folder, now, policy):
        return False
    s.expiry = {
        "at": iso(now), "after_s": policy.after_s, "last_activity": iso(last_activity(s, folder)),
        "state_before": s.state, "audio": held_audio(folder),
        "audio_action": "keep" if policy.keep_audio else "delete", "deleted_at": None,
    }
    s.state = "expiring"
    store.save(s)
    return True


def finish(store, sid: str, *, resumed: bool = False) -> None:
    """Step 2 (under the session's lock): delete what step 1 recorded for deletion, save ``expired``."""
    s = store.get(sid)
    if s.state != "expiring":
        return
    if resumed:
        s.expiry["resumed_at"] = iso(store.now())  # a process stopped mid-expiry left it: finish what it recorded
    store.forget(sid)  # cached chunk stores and relay boxes of the session
    folder = store.folder(sid)
    if s.expiry.get("audio_action") == "delete":
        for role in ROLES:
            if (folder / role).exists():
                shutil.rmtree(folder / role)
        s.expiry["deleted_at"] = iso(store.now())
    s.state = "expired"
    store.save(s)
    audio = s.expiry["audio"]
    held = ", ".join(f"{r} {a['seconds']:g} s in {a['files']} files" for r, a in audio.items() if a["files"])
    log.warning("capture session %s expired (idle since %s): %s", sid, s.expiry["last_activity"],
                ("audio deleted: " if s.expiry["audio_action"] == "delete" else "audio kept: ") + held if held
                else "it held no audio")


def expire(store, sid: str, policy: ExpiryPolicy, *, now: float | None = None) -> bool:
    """Expire session ``sid`` if it is due at ``now`` (default: the store's clock), or finish an expiry left
    ``expiring``; True when it is expired now. Raises OSError when its files cannot be deleted (it stays
    ``expiring``, its links gone; the next pass retries)."""
    with store.lock(sid):
        resumed = store.get(sid).state == "expiring"
        if not begin(store, sid, policy, store.now() if now is None else now):
            return False
        finish(store, sid, resumed=resumed)
        return True


def sweep(store, policy: ExpiryPolicy, *, now: float | None = None, dry_run: bool = False) -> list[dict]:
    """One pass over every session: finish interrupted expiries, expire the due ones. Returns one row per
    session expired (or, ``dry_run``, that would be): ``{session_id, expiry | would}``; a session whose
    files cannot be deleted gets ``error`` and the pass goes on."""
    now = store.now() if now is None else now
    out = []
    for s in store.list(on_error=lambda sid, exc: log.warning("capture session %s not readable: %s", sid, exc)):
        folder = store.folder(s.session_id)
        if s.state != "expiring" and not due(s, folder, now, policy):
            continue
        if dry_run:
            out.append({"session_id": s.session_id, "state": s.state,
                        "would": "finish deleting" if s.state == "expiring" else
                        ("expire, keep audio" if policy.keep_audio else "expire, delete audio"),
                        "last_activity": iso(last_activity(s, folder)), "audio": held_audio(folder)})
            continue
        try:
            if expire(store, s.session_id, policy, now=now):
                out.append({"session_id": s.session_id, "expiry": store.get(s.session_id).expiry})
        except OSError as exc:
            log.error("capture session %s: expiry could not delete its audio: %s", s.session_id, exc)
            out.append({"session_id": s.session_id, "error": f"{type(exc).__name__}: {exc}"})
    return out
