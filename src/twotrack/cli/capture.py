"""`twotrack capture serve|sessions|expire -w WS`: the capture server (library call:
``twotrack.capture.create_app``), the list of its sessions, and the expiry of abandoned ones."""

from __future__ import annotations

import re
from pathlib import Path

import click

from .common import handle_errors, load_permissions_option, permissions_option, print_json
from .group import main
from .scan import cli_config, config_options


@main.group("capture", epilog="Exit codes: those of its command (`twotrack capture serve --help`, "
                              "`twotrack capture sessions --help`, `twotrack capture expire --help`).")
def capture() -> None:
    """Record two-track conversations in the browser, with consent first (docs/capture.md)."""


class Duration(click.ParamType):
    """A duration: 72h, 90m, 3d, 45s, or plain seconds; 0 means never."""

    name = "DURATION"
    UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}

    def convert(self, value, param, ctx):
        from ..config import MAX_EXPIRE_AFTER_S

        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*", str(value))
            if not m:
                self.fail(f"{value!r} is not a duration (e.g. 72h, 90m, 3d, 45s, or seconds; 0: never)", param, ctx)
            seconds = float(m.group(1)) * self.UNITS[m.group(2) or "s"]
        if not seconds <= MAX_EXPIRE_AFTER_S:  # no date to expire at; 0 is the way to say never
            self.fail(f"{value!r} is longer than 100 years (0: never)", param, ctx)
        return seconds


def _expiry_options(fn):
    fn = click.option("--keep-expired-audio", "keep_audio", is_flag=True, default=None,
                      help="Keep the partial audio of expired sessions (their links expire all the same). "
                           "Default: deleted, with a record of what and when in the session "
                           "(capture.keep_expired_audio).")(fn)
    fn = click.option("--expire-after", "expire_after", type=Duration(), default=None,
                      help="Unfinished sessions expire after this long without activity: 72h, 90m, 3d, 45s "
                           "or seconds; 0: never. Default 72h (capture.expire_after_s).")(fn)
    return config_options(fn)


def _policy(config_file, overrides, expire_after, keep_audio):
    """Defaults, then --config, then --set, then --expire-after / --keep-expired-audio."""
    from ..capture.expiry import ExpiryPolicy

    p = ExpiryPolicy.from_config(cli_config(config_file, overrides).capture)
    return ExpiryPolicy(p.after_s if expire_after is None else expire_after,
                        p.keep_audio if keep_audio is None else keep_audio, p.check_s)


def _policy_text(p) -> str:
    from ..capture.expiry import duration_text

    if p.after_s <= 0:
        return "unfinished sessions never expire"
    return (f"unfinished sessions expire after {duration_text(p.after_s)} without activity, their partial audio "
            + ("kept" if p.keep_audio else "deleted"))


@capture.command("serve", epilog="Exit codes: 0 stopped; 1 the address could not be bound; 2 a bad workspace, "
                  "option or config, a --permissions file that cannot be read, or another capture server "
                  "already serves it.")
@click.option("-w", "--workspace", "ws", required=True, type=click.Path(file_okay=False),
              help="Workspace folder (created when missing); recordings go to WS/capture/.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Browsers allow the microphone only on localhost or over HTTPS: "
                   "for other machines put a TLS proxy in front (docs/capture.md).")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option("--no-scan", is_flag=True, help="Do not scan recordings after assembly.")
@_expiry_options
@permissions_option
@handle_errors
def serve(ws: str, host: str, port: int, no_scan: bool, config_file, overrides, expire_after, keep_audio,
          permissions: str | None) -> None:
    """Start the capture server: open http://HOST:PORT/ to create a session and get its two join links.
    Stop it with Ctrl-C (sessions, chunks and recordings stay in the workspace).

    Sessions left unfinished expire after --expire-after without activity: their join links answer 410 and
    their partial audio is deleted (unless --keep-expired-audio). The server applies this when it starts,
    every capture.expire_check_s (300 s) while it runs, and whenever an overdue session's link is used."""
    from ..capture.server import create_app
    from .listen import bind_or_exit, serve_on, url

    policy = _policy(config_file, overrides, expire_after, keep_audio)  # a bad value ends here, exit 2
    sock = bind_or_exit(host, port)  # first: a busy port ends here, before the workspace is made
    table = load_permissions_option(permissions)  # a bad table: exit 2 before the workspace is made
    lock = _one_server(Path(ws), policy=policy)  # held while this process serves (closed at exit)
    app = create_app(ws, scan=not no_scan, permissions=table, expiry=policy)
    click.echo(f"twotrack capture for {Path(ws).absolute()} at {url(host, sock)} (Ctrl-C stops it)")
    click.echo(_policy_text(policy))
    serve_on(app, sock, host)
    lock.close()


def _running_server(ws: Path) -> tuple[str, dict | None] | None:
    """(pid, its expiry policy as it wrote it in the lock, or None) of the capture server that serves ``ws``
    now, or None when none does. A server holds the serve lock exclusively while it runs; what a killed one
    wrote there stays, but its lock went with it. A lock whose text is not "PID" or "PID {policy}" (bytes
    written over it by something else) gives the pid "unknown" and the record ``{"unreadable": text}``."""
    import fcntl
    import json

    lock = ws / "capture" / ".serve.lock"
    try:
        fh = open(lock, "rb")
    except OSError:
        return None
    with fh:
        try:  # shared and given back at once: taken, nobody holds the lock exclusively
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            return None
        except OSError:
            text = fh.read(4096).decode("utf-8", "replace").strip()
    holder, _, what = text.partition(" ")
    if what == "expire" or not holder:  # `capture expire` holds it (or a server between truncate and write)
        return None
    if not holder.isdigit():
        return "unknown", {"unreadable": text[:60]}
    try:  # a server of an earlier twotrack wrote its pid alone
        record = json.loads(what) if what else None
    except ValueError:
        record = {"unreadable": text[:60]}
    return holder, record if isinstance(record, dict) or record is None else {"unreadable": text[:60]}


def _lock_name(ws) -> str:
    return str(Path(ws) / "capture" / ".serve.lock")


def _server_policy(record: dict):
    """The expiry policy a running server recorded in its lock, checked as the config checks it (a NaN or a
    limit past 100 years has no date a listing can show), or None when the record does not hold one."""
    from ..capture.expiry import ExpiryPolicy
    from ..config import CaptureConfig
    from ..errors import ConfigError

    try:
        if not isinstance(record.get("keep_expired_audio"), bool):
            return None
        return ExpiryPolicy.from_config(CaptureConfig(
            expire_after_s=float(record["expire_after_s"]), expire_check_s=float(record["expire_check_s"]),
            keep_expired_audio=record["keep_expired_audio"]))
    except (KeyError, TypeError, ValueError, ConfigError):
        return None


def _at(ctx, param, value):
    if value is None:
        return None
    from ..rights.consent import parse_time

    try:
        return parse_time(value).timestamp()
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


_AT = click.option("--at", "at", default=None, callback=_at, metavar="TIME",
                   help="Judge ages and expiry at this ISO 8601 date/time instead of now.")


def _sessions_store(ws: str, policy):
    """The workspace's session store, or exit 2 without capture sessions."""
    from ..capture.sessions import SessionStore

    if not (Path(ws) / "capture" / "sessions").is_dir():
        raise click.UsageError(f"{ws}: no capture sessions here (WS/capture/sessions is missing)")
    return SessionStore(ws, policy=policy)


def _minute(text: str) -> str:
    """2026-12-08T01:28:59.063783Z -> 2026-12-08 01:28Z (the listing's width)."""
    return text[:16].replace("T", " ") + "Z"


def session_row(store, s, now: float) -> dict:
    """One session as `capture sessions` shows it: state, idle time, when it expires, what each track holds."""
    from ..capture.expiry import GONE, LIVE, finished, held_audio, iso, last_activity

    folder = store.folder(s.session_id)
    idle = now - last_activity(s, folder)
    p = store.policy
    if s.state in GONE:
        expires = f"expired {s.expiry['at']}" if s.expiry else "expired"
    elif s.state not in LIVE or finished(s):
        expires = None  # finished (or assembling / assembled / failed): never touched
    elif p.after_s <= 0:
        expires = "never"
    else:
        expires = iso(now + max(0.0, p.after_s - idle))
    audio = held_audio(folder)
    tracks = {r: {"consented": q.consent is not None, "finished": q.finished is not None, "name": q.name,
                  "speaker_id": q.speaker_id, "seconds": audio[r]["seconds"], "bytes": audio[r]["bytes"]}
              for r, q in s.participants.items()}
    return {"session_id": s.session_id, "state": s.state, "title": s.title, "created_at": s.created_at,
            "last_activity": iso(last_activity(s, folder)), "idle_s": round(idle, 1), "expires": expires,
            "overdue": s.state in LIVE and expires not in (None, "never") and idle >= p.after_s,
            "tracks": tracks, "recording_id": s.recording_id, "expiry": s.expiry}


@capture.command("sessions", epilog="Exit codes: 0 listed; 2 a bad option or config, or no capture sessions "
                                    "in the workspace.")
@click.option("-w", "--workspace", "ws", required=True, type=click.Path(file_okay=False), help="Workspace folder.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per session, in a list.")
@_AT
@_expiry_options
@handle_errors
def sessions(ws: str, as_json: bool, at, config_file, overrides, expire_after, keep_audio) -> None:
    """List the capture sessions of a workspace: state, time since their last activity, when an unfinished
    one expires, and what each track holds. Changes nothing. Expiry is judged by the limit of the capture
    server that serves the workspace now (it writes it in its lock, WS/capture/.serve.lock), else by the
    config; expiry options given here decide instead."""
    import time

    from ..capture.expiry import duration_text

    policy = _policy(config_file, overrides, expire_after, keep_audio)
    given = config_file is not None or any(o.startswith("capture.") for o in overrides) or \
        expire_after is not None or keep_audio is not None
    server = _running_server(Path(ws))
    record = server[1] if server else None
    theirs = None if record is None else _server_policy(record)
    if given:
        limit_from = "the options given"
    elif theirs is not None:  # the sessions expire when the server that runs says, not when the config does
        policy, limit_from = theirs, f"the running capture server (pid {server[0]})"
    elif record is not None:  # something wrote over the lock: say so rather than trust (or crash on) it
        limit_from = (f"the config: a capture server runs (pid {server[0]}) but the limit in its lock "
                      f"{_lock_name(ws)} is not readable")
    elif server:
        limit_from = f"the config: a capture server runs (pid {server[0]}) but did not record its limit"
    else:
        limit_from = "the config: no capture server runs"
    store = _sessions_store(ws, policy)
    now = at if at is not None else time.time()
    rows = [{**session_row(store, s, now), "expire_after_s": policy.after_s, "limit_from": limit_from}
            for s in store.list(on_error=lambda sid, exc: click.echo(
                f"warning: session {sid}: session.json not readable ({exc})", err=True))]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no capture sessions")
        return
    click.echo(f"{'session':<20}  {'state':<10}  {'idle':>8}  {'expires':<26}  {'A':<18}  {'B':<18}  title")
    for r in rows:
        e = r["expiry"]

        def track(role):
            t = r["tracks"][role]
            if e and e["audio_action"] == "delete":
                word = "deleted" if r["state"] == "expired" else "deleting"
                return f"{word} {e['audio'][role]['seconds']:.0f} s" if e["audio"][role]["files"] else "-"
            if not t["consented"]:
                return "-"
            return f"{'finished' if t['finished'] else 'consented'} {t['seconds']:.0f} s"

        if r["overdue"]:
            exp = "overdue (next pass)"
        elif r["expires"] in (None, "never"):
            exp = r["expires"] or "- (finished)"
        elif e:
            exp = f"expired {_minute(e['at'])}"
        else:
            exp = _minute(r["expires"])
        idle = "-" if e else duration_text(r["idle_s"])
        click.echo(f"{r['session_id']:<20}  {r['state']:<10}  {idle:>8}  {exp:<26}  {track('A'):<18}  "
                   f"{track('B'):<18}  {r['title']}")
    if limit_from.startswith("the running"):
        click.echo(f"{_policy_text(store.policy)} (the running capture server, pid {server[0]})")
    else:
        click.echo(_policy_text(store.policy) + ("" if given else f" ({limit_from})"))
    if given and theirs is not None:
        click.echo(f"the running capture server (pid {server[0]}) expires them after "
                   f"{duration_text(theirs.after_s) if theirs.after_s > 0 else 'never'}: the listing judges by the "
                   "options given")


@capture.command("expire", epilog="Exit codes: 0 done (also when nothing was due); 1 a session's audio could not "
                                  "be deleted (it stays expiring; run again); 2 a bad option or config, no capture "
                                  "sessions in the workspace, or a capture server serves it (it expires sessions "
                                  "itself).")
@click.option("-w", "--workspace", "ws", required=True, type=click.Path(file_okay=False), help="Workspace folder.")
@click.option("--dry-run", is_flag=True, help="Say what would expire; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="The expired sessions and their expiry records as JSON.")
@_AT
@_expiry_options
@handle_errors
def expire_cmd(ws: str, dry_run: bool, as_json: bool, at, config_file, overrides, expire_after, keep_audio) -> None:
    """Expire the workspace's abandoned capture sessions now, as the server does at start: unfinished
    sessions idle for --expire-after lose their links and (unless --keep-expired-audio) their partial audio;
    an expiry a stopped process left half done is finished. Finished sessions are never touched."""
    import sys
    import time

    from ..capture.expiry import iso, sweep

    import logging

    policy = _policy(config_file, overrides, expire_after, keep_audio)
    if at is not None and not dry_run and at > time.time():
        # judged at a moment still to come, sessions not yet idle for the limit would lose their audio now,
        # under a record saying they expired then
        raise click.UsageError(f"--at {iso(at)} is in the future: `capture expire` deletes now, so it judges at "
                               "now or an earlier moment; add --dry-run to see what will have expired by then")
    store = _sessions_store(ws, policy)
    logging.getLogger("twotrack.capture").setLevel(logging.ERROR)  # the server's log lines: said below instead
    lock = None if dry_run else _one_server(Path(ws), doing="expire")
    try:
        rows = sweep(store, policy, now=at, dry_run=dry_run)  # judged at --at; deletion times are real
    finally:
        if lock is not None:
            lock.close()
    if as_json:
        print_json(rows)
    else:
        for r in rows:
            if "error" in r:
                click.echo(f"{r['session_id']}  NOT DONE: {r['error']} (it stays expiring; run again)")
            elif dry_run:
                secs = sum(a["seconds"] for a in r["audio"].values())
                click.echo(f"{r['session_id']}  {r['state']}, idle since {r['last_activity']}: would {r['would']} "
                           f"({secs:.1f} s of audio)")
            else:
                e = r["expiry"]
                secs = sum(a["seconds"] for a in e["audio"].values())
                files = sum(a["files"] for a in e["audio"].values())
                what = (f"deleted {secs:.1f} s of audio ({files} files) at {e['deleted_at']}"
                        if e["audio_action"] == "delete" else f"kept {secs:.1f} s of audio")
                click.echo(f"{r['session_id']}  expired (was {e['state_before']}, idle since {e['last_activity']}): "
                           f"{what}")
        n = sum("error" not in r for r in rows)
        click.echo(f"{n} session(s) {'would expire' if dry_run else 'expired'}; {_policy_text(policy)}")
    if any("error" in r for r in rows):
        sys.exit(1)


def _one_server(ws: Path, doing: str = "serve", policy=None):
    """An exclusive lock on WS/capture/.serve.lock, or exit 2 naming the process that holds it. Two servers
    on one workspace would each keep their own in-memory locks and chunk counters over the same session
    files: two participants finishing on the two servers overwrite each other's session.json. ``capture
    expire`` takes it too: the server holds sessions in memory and expires them itself."""
    import fcntl
    import os
    import time

    path = ws / "capture" / ".serve.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+", encoding="utf-8", errors="replace")  # bytes written over it: still read
    except OSError as exc:
        raise click.UsageError(f"{path}: cannot use the workspace ({exc.strerror or exc})") from None

    def take() -> bool:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    # `capture sessions` peeks at the lock (shared, for an instant): wait a moment before naming a holder
    taken = take()
    for wait in (0.02, 0.05, 0.1, 0.2, 0.3):
        if taken:
            break
        time.sleep(wait)
        taken = take()
    if not taken:
        fh.seek(0)
        holder, _, what = fh.read(4096).strip().partition(" ")  # "PID {policy}" (a server) or "PID expire"
        fh.close()
        holder = holder if holder.isdigit() else ""  # not a pid: said as '?'
        if what == "expire":
            raise click.UsageError(f"`twotrack capture expire` (pid {holder}) is expiring sessions of {ws}: run "
                                   "this again when it is done") from None
        if doing == "expire":
            raise click.UsageError(f"a capture server serves {ws} (pid {holder or '?'}): it expires sessions "
                                   "itself (at start and every capture.expire_check_s); stop it to expire by "
                                   "hand") from None
        raise click.UsageError(f"another capture server already serves {ws} (pid {holder or '?'}): one server "
                               "per workspace; stop it or use another workspace") from None
    fh.seek(0)
    fh.truncate()
    if doing == "expire":
        fh.write(f"{os.getpid()} expire")
    else:  # the pid, then the server's expiry policy: `capture sessions` judges by it while the lock is held
        import json

        fh.write(f"{os.getpid()}" + ("" if policy is None else " " + json.dumps(
            {"expire_after_s": policy.after_s, "keep_expired_audio": policy.keep_audio,
             "expire_check_s": policy.check_s})))
    fh.flush()
    return fh
