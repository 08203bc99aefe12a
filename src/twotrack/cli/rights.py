"""`twotrack consent ...` (the consent ledger) and `twotrack rights ...` (verdicts per purpose, export audits).

Both take ``-w WS``: the workspace folder. The ledger lives at ``WS/rights/ledger.jsonl`` whether or not the
scan has made the workspace yet (consent can be recorded first). Verdicts need the recordings: from the
workspace, or from ``--manifest FILE`` when there is no workspace (or to judge a manifest before a scan).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import ConfigError
from ..rights.consent import SCOPES, replay
from ..rights.errors import ImportRejected
from ..rights.ledger import Ledger, ledger_path
from ..rights.verdicts import PURPOSES
from ..store.workspace import DB_NAME
from .common import handle_errors, load_permissions_option, permissions_option, print_json
from .group import main

_WS = click.option("-w", "--workspace", "ws", required=True, type=click.Path(file_okay=False),
                   help="Workspace folder (the ledger is WS/rights/ledger.jsonl).")
_WS_OPT = click.option("-w", "--workspace", "ws", type=click.Path(file_okay=False), default=None,
                       help="Workspace folder (the ledger is WS/rights/ledger.jsonl).")
_MANIFEST = click.option("--manifest", type=click.Path(exists=True, dir_okay=False), default=None,
                         help="Read recordings from this manifest instead of the workspace.")


def _check_at(ctx, param, value):
    """--at must be a date the ledger can replay to: a usage error naming the value, not a traceback later."""
    if value is None:
        return None
    from ..rights.consent import parse_time

    try:
        parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (e.g. 2026-03-14 or 2026-03-14T09:30:00Z)") from None
    return value


_AT = click.option("--at", "at", default=None, callback=_check_at,
                   help="Judge consent at this ISO 8601 date/time (default: now).")


def _ledger(ws: str) -> Ledger:
    return Ledger(ledger_path(ws))


def _has_workspace(ws: str) -> bool:
    return (Path(ws) / DB_NAME).exists()


def _recordings(ws: str | None, manifest: str | None) -> list:
    if manifest:
        from ..ingest.manifest import read_manifest

        found = read_manifest(manifest, hash_files=False)
        for err in found.errors:
            click.echo(f"warning: {err}", err=True)
        return list(found.recordings)
    if ws and _has_workspace(ws):
        from ..store import Workspace, queries

        return queries.recordings(Workspace(ws))
    raise ConfigError(f"{ws}: no workspace here yet (run `twotrack scan` first) and no --manifest given")


def _speech(ws: str | None) -> dict | None:
    """The workspace's activity-stage speech seconds per recording and track (which channels are unused),
    or None without a workspace (then every track counts as used)."""
    if not ws or not _has_workspace(ws):
        return None
    from ..store import Workspace, queries

    return dict(queries.speech_by_track(Workspace(ws)))


def _warn_unplaced(ws: str, speakers) -> None:
    """Warn about speakers no recording of the workspace names: ids are matched exactly, so an event for a
    mistyped id ('libri-3670') ends or gives nobody's consent. Recorded all the same: the ledger may run
    ahead of the scan. Silent when there is no workspace yet."""
    if not _has_workspace(ws):
        return
    from ..rights.verdicts import speakers_by_track
    from ..store import Workspace, queries

    placed = {s for r in queries.recordings(Workspace(ws)) for _, s in speakers_by_track(r) if s}
    unplaced = sorted(set(speakers) - placed)
    if unplaced:
        names = ", ".join(repr(s) for s in unplaced[:10])
        names += f" and {len(unplaced) - 10} more" if len(unplaced) > 10 else ""
        click.echo(f"warning: no recording of {ws} names speaker(s) {names} (speaker ids are matched exactly; "
                   "recorded all the same)", err=True)


def _report_rejected(exc: ImportRejected) -> None:
    click.echo(f"error: {exc.path}: {len(exc.errors)} malformed row(s); nothing was appended", err=True)
    for e in exc.errors:
        click.echo(f"  {e}", err=True)
    sys.exit(1)


# --------------------------------------------------------------------------------------------
# twotrack consent
# --------------------------------------------------------------------------------------------


_EXIT_READ = ("Exit codes: 0 ok (the chain is not checked here: `consent verify`); 1 a ledger line that cannot be "
              "read; 2 usage error.")


@main.group(epilog="Exit codes: those of its commands (`twotrack consent COMMAND --help`).")
def consent() -> None:
    """The per-speaker consent ledger (append-only, hash-chained; states use W3C DPV terms)."""


@consent.command("import", epilog="Exit codes: 0 appended (or nothing new); 1 some rows were refused "
                                    "(each listed), or an imported ledger's chain does not verify: nothing "
                                    "appended; 2 usage error.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_WS
@handle_errors
def consent_import(file: str, ws: str) -> None:
    """Append the events of a CSV or JSONL FILE (every row is checked first; one bad row appends nothing).

    Columns: speaker, action (grant/amend/withdraw/revoke), scopes (';'-separated), date (ISO 8601),
    evidence (URI), evidence_sha256 [, jurisdiction, expiry, note]. Rows already in the ledger are skipped."""
    led = _ledger(ws)
    try:
        res = led.import_file(file)
    except ImportRejected as exc:
        _report_rejected(exc)
    click.echo(f"appended {len(res.appended)} event(s), skipped {len(res.skipped)} already recorded; "
               f"ledger {led.path}, head {res.head}")
    _warn_unplaced(ws, {e.speaker for e in res.appended})


def _record(ws: str, speaker: str, action: str, scopes: str, date: str, **fields) -> None:
    led = _ledger(ws)
    try:
        ev = led.record(speaker, action, scopes.replace(",", ";") if scopes else scopes, date, **fields)
    except ImportRejected as exc:
        click.echo(f"error: {'; '.join(e.reason for e in exc.errors)}", err=True)
        sys.exit(1)
    click.echo(f"#{ev.seq} {ev.action} {ev.speaker} {';'.join(ev.scopes)} {ev.date} -> {ev.status}; head {ev.hash}")
    _warn_unplaced(ws, {ev.speaker})


def _event_command(action: str, needs_evidence: bool):
    help_text = {
        "grant": "Record that SPEAKER gives consent for --scopes (with the signed document as evidence).",
        "amend": "Record a new consent document for SPEAKER: --scopes becomes the full set of given scopes.",
        "withdraw": "Record that SPEAKER withdraws consent for --scopes (default: all) from --date.",
        "revoke": "Record that the collector revokes SPEAKER's consent for --scopes (default: all) from --date.",
    }[action]

    @consent.command(action, help=help_text, epilog="Exit codes: 0 recorded; 1 the event was refused (the reason "
                                                    "is printed; nothing appended); 2 usage error.")
    @click.argument("speaker")
    @click.option("--scopes", required=needs_evidence, default=None if needs_evidence else "all",
                  help=f"';'- or ','-separated: {', '.join(SCOPES)}" + ("" if needs_evidence else " or all"))
    @click.option("--date", required=True, help="When it takes effect (ISO 8601 date or date-time).")
    @click.option("--evidence", required=needs_evidence, default=None, help="URI of the document.")
    @click.option("--evidence-sha256", required=needs_evidence, default=None, help="sha256 of the document.")
    @click.option("--jurisdiction", default=None, help="ISO 3166 code, e.g. DE, US-CA, EU.")
    @click.option("--expiry", default=None, help="When the consent expires (grant/amend only).")
    @click.option("--note", default=None)
    @_WS
    @handle_errors
    def _cmd(speaker, scopes, date, evidence, evidence_sha256, jurisdiction, expiry, note, ws):
        _record(ws, speaker, action, scopes, date, evidence=evidence, evidence_sha256=evidence_sha256,
                jurisdiction=jurisdiction, expiry=expiry, note=note)

    return _cmd


for _action, _needs in (("grant", True), ("amend", True), ("withdraw", False), ("revoke", False)):
    _event_command(_action, _needs)


@consent.command("show", epilog=_EXIT_READ)
@click.argument("speaker")
@_WS
@_AT
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def consent_show(speaker: str, ws: str, at: str | None, as_json: bool) -> None:
    """SPEAKER's consent per scope at --at (default now), replayed from the ledger, and their events."""
    events = _ledger(ws).events()
    state = replay(events, speaker, at)
    history = [e for e in events if e.speaker == speaker]
    if as_json:
        print_json({"speaker": speaker, "at": state.at, "scopes": {s: st.to_dict() for s, st in state.scopes.items()},
                    "events": [e.to_dict() for e in history]})
        return
    click.echo(f"{speaker} at {state.at} ({state.n_events} of {len(history)} event(s) in effect)")
    for scope in SCOPES:
        click.echo(f"  {state.state(scope).describe()}")
    if history:
        click.echo("events:")
    for e in history:
        extra = f" expires {e.expiry}" if e.expiry else ""
        ev = f" evidence {e.evidence}" if e.evidence else ""
        click.echo(f"  #{e.seq} {e.date} {e.action:<8} {';'.join(e.scopes)} -> {e.status}{extra}{ev}")


@consent.command("list", epilog=_EXIT_READ)
@_WS
@_AT
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def consent_list(ws: str, at: str | None, as_json: bool) -> None:
    """Every speaker in the ledger and the status of each scope at --at (default now)."""
    states = _ledger(ws).states(at=at)
    if as_json:
        print_json({s: {k: v.status for k, v in c.scopes.items()} for s, c in states.items()})
        return
    short = {"dpv:ConsentGiven": "given", "dpv:ConsentWithdrawn": "withdrawn", "dpv:ConsentRevoked": "revoked",
             "dpv:ConsentExpired": "expired", "dpv:ConsentUnknown": "-"}
    # the first column as wide as the longest id: a capture id (ann-5yxo4r-a ...) ran into its first status
    width = max([len("speaker"), *map(len, states)]) + 2
    click.echo("speaker".ljust(width) + "".join(s.ljust(16) for s in SCOPES).rstrip())
    for spk, c in states.items():
        click.echo(spk.ljust(width) + "".join(short.get(c.state(s).status, c.state(s).status).ljust(16)
                                               for s in SCOPES).rstrip())


@consent.command("verify", epilog="Exit codes: 0 the chain is intact (and holds --head); 1 it is not: the "
                                    "first bad event is named; 2 usage error.")
@_WS
@click.option("--head", default=None, help="A head recorded elsewhere (e.g. an export's) that must be in the chain.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def consent_verify(ws: str, head: str | None, as_json: bool) -> None:
    """Check the hash chain; exit 1 naming the first bad event when the ledger was tampered with."""
    led = _ledger(ws)
    res = led.verify(expected_head=head)
    if as_json:
        print_json(res.to_dict())
    else:
        click.echo(f"{led.path}: {res}", err=not res.ok)
    if not res.ok:
        sys.exit(1)


# --------------------------------------------------------------------------------------------
# twotrack rights
# --------------------------------------------------------------------------------------------


@main.group(invoke_without_command=True, epilog="Exit codes: 0 judged (allowed or not); 1 a ledger that does "
            "not verify or an unreadable file; 2 no -w/--purpose, no workspace and no --manifest, a bad option, or a "
            "--permissions file that cannot be read. "
            "`rights audit` has its own (`twotrack rights audit --help`).")
@_WS_OPT
@click.option("--purpose", type=click.Choice(list(PURPOSES)), default=None, help="What the data is for.")
@_AT
@_MANIFEST
@permissions_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handle_errors
def rights(ctx, ws, purpose, at, manifest, permissions, as_json) -> None:
    """Allowed/blocked per recording for --purpose, with the reasons (speaker, scope, license term)."""
    if ctx.invoked_subcommand is not None:
        return
    if not purpose or not ws:
        raise ConfigError(f"twotrack rights needs -w WS and --purpose ({', '.join(PURPOSES)})")
    from ..rights.verdicts import rights_report

    table = load_permissions_option(permissions)
    recordings = _recordings(ws, manifest)
    led = _ledger(ws)
    report = rights_report(recordings, led, purpose, at=at, permissions=table, speech=_speech(ws))
    if as_json:
        print_json(report)
        return
    s = report["summary"]
    click.echo(f"purpose {purpose}: {s['allowed']} of {s['recordings']} recording(s) allowed "
               f"(consent at {report['at']}, ledger head {report['ledger_head'][:12]})")
    if table.path is not None:
        click.echo(f"licenses judged by {table.describe()}")
    for row in report["recordings"]:
        mark = "allowed" if row["allowed"] else "BLOCKED"
        click.echo(f"  {mark:<8} {row['recording_id']}  [{row['license']}]")
        for r in row["reasons"]:
            click.echo(f"           - {r}")
        if row["unused_tracks"]:
            click.echo(f"           unused: track {', '.join(row['unused_tracks'])} (no speaker named, no speech: "
                       "no consent needed, left out of exports)")
        if row["allowed"] and row["duties"]:
            click.echo(f"           duties: {', '.join(row['duties'])}")


@rights.command("audit", epilog="Exit codes: 0 audited (files to remove are listed, or removed with --apply); 1 "
                                 "not an export folder, or a ledger that does not verify or no longer holds the "
                                 "export's head; 2 no workspace and no --manifest, a bad option, a --permissions file that "
                                 "cannot be read, or none for an export decided with one (nothing removed).")
@click.argument("export_dir", type=click.Path(exists=True, file_okay=False))
@_WS
@_AT
@_MANIFEST
@permissions_option
@click.option("--apply", "apply_", is_flag=True, help="Remove the files and rewrite the manifests.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def rights_audit(export_dir, ws, at, manifest, permissions, apply_, as_json) -> None:
    """Files of EXPORT_DIR that must be removed after consent changes since the export (exactly those)."""
    from ..rights.audit import apply_audit, audit_report

    table = load_permissions_option(permissions)
    led = _ledger(ws)
    report = audit_report(export_dir, led, _recordings(ws, manifest), at=at, permissions=table, speech=_speech(ws))
    applied = (apply_audit(export_dir, report.removals, ledger_head=report.ledger_head, permissions=table.record())
               if apply_ and report.removals else None)
    if as_json:
        out = report.to_dict()
        out["applied"] = applied.to_dict() if applied else None
        print_json(out)
        return
    click.echo(f"{export_dir}: purpose {report.purpose}; made under ledger head {report.export_head[:12]}, "
               f"{report.new_events} event(s) since; {report.files_checked} file(s) checked")
    if report.permissions_note:
        click.echo(report.permissions_note)
    if not report.removals:
        click.echo("nothing to remove")
    for r in report.removals:
        click.echo(f"  remove {r.path}")
        for why in r.reasons:
            click.echo(f"         - {why}")
    if applied:
        click.echo(f"removed {len(applied.removed)} file(s)"
                   + (f" ({len(applied.missing)} already gone)" if applied.missing else "")
                   + "".join(f"; {m}: {n} line(s) dropped" for m, n in applied.manifest_lines_dropped.items() if n))
    elif report.removals:
        click.echo("run again with --apply to remove them and rewrite the manifests")

