"""`twotrack export FORMAT -w WS OUT --purpose P`: the recordings P allows, in a trainer's format (export)."""

from __future__ import annotations

import sys

import click

from ..errors import ConfigError
from ..rights.verdicts import PURPOSES
from .common import handle_errors, print_json
from .group import main

FORMAT_NAMES = ("moshi", "lhotse", "parquet")

EXIT_HELP = ("Exit codes: 0 exported; 1 some recordings could not be read (the others were exported; rerun to "
             "retry them); 2 usage or config error (unknown purpose, folder holding another export).")


def _progress(done: int, total: int, rid: str | None) -> None:
    if not sys.stderr.isatty() or not total:
        return
    text = f"export: {done}/{total} recording(s)" + (f"  {rid}" if rid else "")
    click.echo("\r" + text[:100].ljust(100), err=True, nl=rid is None)


def _text(d: dict) -> str:
    lines = [
        f"{d['format']} export in {d['out']} for purpose {d['purpose']}: {d['exported']} recording(s), "
        f"{d['pieces']} piece(s), {d['hours']:.3f} h, {d['files']} file(s)",
        f"  this run: {len(d['written'])} written ({d['hours_written']:.3f} h), {d['kept']} unchanged, "
        f"{len(d['removed'])} file(s) removed, in {d['seconds']:.1f} s; consent ledger head {d['ledger_head'][:12]}",
    ]
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
    no_text = set(d.get("no_text") or ())
    if no_text:
        lines.append(f"  {len(no_text)} recording(s) left out for having no text (no gold transcript, no words): "
                     "scan with --words to transcribe them, or export with --allow-no-text to write their audio")
        for rid in sorted(no_text)[:10]:
            lines.append(f"    {rid}")
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
@click.option("--main-speaker", default=None, metavar="A|B|SPEAKER_ID|both",
              help="moshi: the track on channel 0 (the voice the model learns): A (default), B, the track of "
                   "a speaker id (recordings without that speaker are skipped), or both (two examples).")
@click.option("--rate", type=int, default=None,
              help="Sample rate of the exported audio (default: 24000 for moshi, the source's for the others).")
@click.option("--max-duration", type=float, default=None, metavar="SECONDS",
              help="Split longer recordings in silences of both tracks, never inside an IPU (default: 300 for "
                   "moshi, 600 for parquet, none for lhotse; 0: never split).")
@click.option("--other-words", is_flag=True, help="moshi: also write the other speaker's words (SPEAKER_OTHER).")
@click.option("--shard-mb", type=float, default=256.0, show_default=True, help="parquet: target shard size.")
@click.option("--allow-no-text", is_flag=True,
              help="Also export recordings with no text (no gold transcript and no words from `scan --words`); "
                   "by default they are left out, with the reason, since trainers need words with the audio.")
@click.option("--verify", is_flag=True, help="Re-hash the files of unchanged recordings instead of trusting their size.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (docs/export.md).")
@handle_errors
def export_cmd(fmt, out, ws, purpose, main_speaker, rate, max_duration, other_words, shard_mb, allow_no_text, verify,
               as_json):
    """Write the recordings of workspace WS that --purpose allows to OUT as FORMAT (moshi, lhotse, parquet).

    Every export folder gets export.json (purpose, config, consent-ledger head, twotrack version, the sha256 and
    recordings of every file) and croissant.json. Rerunning is incremental: only new or changed recordings are
    written, and the files of recordings no longer allowed (after a withdrawal) are removed."""
    from ..export import ExportOptions, run_export

    if fmt != "moshi" and (main_speaker is not None or other_words):
        raise ConfigError("--main-speaker and --other-words apply to moshi exports only")
    if rate is not None and rate <= 0:
        raise ConfigError(f"--rate {rate}: must be a positive number of samples per second")
    if max_duration is not None and max_duration < 0:
        raise ConfigError(f"--max-duration {max_duration}: must be >= 0")
    if shard_mb <= 0:
        raise ConfigError(f"--shard-mb {shard_mb}: must be > 0")
    options = ExportOptions(sample_rate=rate, max_duration_s=max_duration, main_speaker=main_speaker or "A",
                            other_words=other_words, shard_mb=shard_mb, verify=verify,
                            allow_no_text=allow_no_text)
    summary = run_export(ws, out, fmt, purpose, options, progress=None if as_json else _progress)
    data = summary.to_dict()
    if as_json:
        print_json(data)
    else:
        click.echo(_text(data))
    sys.exit(summary.exit_code)
