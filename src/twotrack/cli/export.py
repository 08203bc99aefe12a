"""`twotrack export FORMAT -w WS OUT --purpose P`: the recordings P allows, in a trainer's format (export)."""

from __future__ import annotations

import shlex
import sys

import click

from ..errors import ConfigError
from ..rights.verdicts import PURPOSES
from .common import handle_errors, load_permissions_option, permissions_option, print_json
from .group import main

FORMAT_NAMES = ("moshi", "lhotse", "parquet")

EXIT_HELP = ("Exit codes: 0 exported; 1 some recordings could not be read (the others were exported; rerun to "
             "retry them); 2 usage or config error (unknown purpose, folder holding another export, a "
             "--permissions file that cannot be read, or none for a folder decided with one): nothing written.")


def hub_push_command(repo_id: str, out: str) -> str:
    """The command that uploads an export folder to a Hugging Face dataset repo (huggingface_hub's ``hf``
    command): the state folder left out, and files the folder no longer holds (after a withdrawal) deleted
    from the repo. ``huggingface_hub.upload_folder`` does the same from Python (``ignore_patterns``,
    ``delete_patterns``)."""
    from ..paths import EXPORT_STATE_DIR

    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ConfigError(f"--hub {repo_id}: give the dataset repo as USER/NAME")
    return (f"hf upload {shlex.quote(repo_id)} {shlex.quote(str(out))} . --repo-type dataset "
            f"--exclude '{EXPORT_STATE_DIR}/*' --delete '*'")


def _progress(done: int, total: int, rid: str | None) -> None:
    if not sys.stderr.isatty() or not total:
        return
    text = f"export: {done}/{total} recording(s)" + (f"  {rid}" if rid else "")
    click.echo("\r" + text[:100].ljust(100), err=True, nl=rid is None)


def _text(d: dict) -> str:
    from ..export.run import NO_TEXT_SHORT  # loaded already: the export ran

    lines = [
        f"{d['format']} export in {d['out']} for purpose {d['purpose']}: {d['exported']} recording(s), "
        f"{d['pieces']} piece(s), {d['hours']:.3f} h, {d['files']} file(s)",
        f"  this run: {len(d['written'])} written ({d['hours_written']:.3f} h), {d['kept']} unchanged, "
        f"{len(d['removed'])} file(s) removed, in {d['seconds']:.1f} s; consent ledger head {d['ledger_head'][:12]}",
    ]
    perm = d.get("permissions") or {}
    if perm.get("path"):
        lines.append(f"  licenses judged with the permissions table {perm['path']} (sha256 {perm['sha256'][:12]})")
    if d["blocked"]:
        lines.append(f"  {len(d['blocked'])} recording(s) blocked for {d['purpose']} (`twotrack rights` says why):")
        for rid, reasons in list(d["blocked"].items())[:10]:
            lines.append(f"    {rid}: {reasons[0] if reasons else 'blocked'}" + (" ..." if len(reasons) > 1 else ""))
        if len(d["blocked"]) > 10:
            lines.append(f"    ... and {len(d['blocked']) - 10} more (export.json lists them)")
    if d.get("words_sources"):
        lines.append("  words: " + ", ".join(f"{n} recording(s) {src if src != 'none' else 'without text'}"
                                             for src, n in d["words_sources"].items())
                     + " (gold = the manifest's transcript; aligned = its text aligned by the words stage; "
                       "stage = recognised by the words stage)")
    if d.get("unknown_clock"):
        lines.append(f"  {len(d['unknown_clock'])} paired recording(s) left out: their clock is unknown "
                     "(declare b_offset_s/b_drift_ppm in the manifest; --allow-unknown-clock includes them as stored):")
        for rid, why in list(d["unknown_clock"].items())[:10]:
            lines.append(f"    {rid}: {why}")
        if len(d["unknown_clock"]) > 10:
            lines.append(f"    ... and {len(d['unknown_clock']) - 10} more (export.json lists them)")
    if d.get("unknown_clock_included"):
        lines.append(f"  {len(d['unknown_clock_included'])} paired recording(s) exported on unknown clocks "
                     f"(--allow-unknown-clock; export.json and croissant.json record it): "
                     + ", ".join(d["unknown_clock_included"][:10]))
    no_text = set(d.get("no_text") or ())
    if no_text:
        lines.append(f"  {len(no_text)} recording(s) left out for having no text (export with --allow-no-text "
                     "to write their audio):")
        for rid in sorted(no_text)[:10]:  # why: no words stage yet (scan --words), or it found no words
            why = d["skipped"].get(rid, "")
            lines.append(f"    {rid}: {NO_TEXT_SHORT.get(why, why)}")
    other = {rid: why for rid, why in d["skipped"].items() if rid not in no_text}
    if other:
        lines.append(f"  {len(other)} recording(s) allowed but not exportable in this format:")
        for rid, why in list(other.items())[:10]:
            lines.append(f"    {rid}: {why}")
    for e in d["errors"]:
        lines.append(f"  error: {e['path']}: {e['problem']}")
    for n in d["notes"]:
        lines.append(f"  note: {n}")
    return "\n".join(lines)


@main.command("export", epilog=EXIT_HELP)
@click.argument("fmt", metavar="FORMAT", type=click.Choice(FORMAT_NAMES))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("-w", "--workspace", "ws", required=True, type=click.Path(exists=True, file_okay=False),
              help="Workspace folder (made by `twotrack scan`).")
@click.option("--purpose", required=True, type=click.Choice(list(PURPOSES)),
              help="What the data is for: only recordings allowed for it are exported.")
@click.option("--main-speaker", default=None, metavar="TRACK|SPEAKER_ID|both",
              help="moshi: the track on channel 0 (the voice the model learns): a track letter (A, B; C or D on a "
                   "4-channel file whose talkers are on C and D), the track of a speaker id (recordings "
                   "without that track or speaker are skipped, saying why), or both (two examples). "
                   "Default: the first track of the talking pair (A on a two-track file).")
@click.option("--rate", "--sample-rate", "rate", type=int, default=None,
              help="Sample rate of the exported audio (default: 24000 for moshi, the source's for the others; "
                   "parquet: one config per source rate unless this is given).")
@click.option("--max-duration", type=float, default=None, metavar="SECONDS",
              help="Split longer recordings in silences of both tracks, never inside an IPU (default: 300 for "
                   "moshi, 600 for parquet, none for lhotse; 0: never split).")
@click.option("--other-words", is_flag=True, help="moshi: also write the other speaker's words (SPEAKER_OTHER).")
@click.option("--shard-mb", type=float, default=256.0, show_default=True, help="parquet: target shard size.")
@click.option("--allow-no-text", is_flag=True,
              help="Also export recordings with no text (no gold transcript and no words from `scan --words`); "
                   "by default they are left out, with the reason, since trainers need words with the audio.")
@click.option("--verify", is_flag=True, help="Re-hash the files of unchanged recordings instead of trusting their size.")
@click.option("--allow-unknown-clock", is_flag=True,
              help="Also export paired recordings whose clock is unknown (nothing measured or declared B's clock "
                   "against A's): each file keeps its own clock. Left out by default and listed.")
@permissions_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (docs/export.md).")
@click.option("--hub", "hub_repo", default=None, metavar="USER/NAME",
              help="Also print the one command that pushes the folder to this Hugging Face dataset repo "
                   "(README card and data files; the .twotrack state stays). Nothing is sent.")
@handle_errors
def export_cmd(fmt, out, ws, purpose, main_speaker, rate, max_duration, other_words, shard_mb, verify,
               allow_unknown_clock, as_json, hub_repo=None, allow_no_text=False, permissions=None):
    """Write the recordings of workspace WS that --purpose allows to OUT as FORMAT (moshi, lhotse, parquet).

    Every export folder gets export.json (purpose, config, consent-ledger head, the permissions table that
    judged the licenses (path and sha256), twotrack version, the sha256 and recordings of every file) and
    croissant.json. Rerunning is incremental: only new or changed recordings are
    written, and the files of recordings no longer allowed (after a withdrawal) are removed."""
    from ..export import ExportOptions, run_export

    if fmt != "moshi" and (main_speaker is not None or other_words):
        raise ConfigError("--main-speaker and --other-words apply to moshi exports only")
    push = hub_push_command(hub_repo, out) if hub_repo else None
    table = load_permissions_option(permissions)  # before the folder is touched: a bad table writes nothing
    options = ExportOptions(sample_rate=rate, max_duration_s=max_duration, main_speaker=main_speaker,
                            other_words=other_words, shard_mb=shard_mb, verify=verify,
                            allow_unknown_clock=allow_unknown_clock, allow_no_text=allow_no_text)
    summary = run_export(ws, out, fmt, purpose, options, progress=None if as_json else _progress,
                         permissions=table)
    data = summary.to_dict()
    if push:
        data["push"] = push
    if as_json:
        print_json(data)
    else:
        click.echo(_text(data))
        if push:
            click.echo(f"push to the Hub with:\n  {data['push']}")
    sys.exit(summary.exit_code)
