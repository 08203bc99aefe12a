"""`twotrack scan PATH... -w WS`: discover, read, check, detect, extract events, (words), store (run.scan)."""

from __future__ import annotations

import sys
import tomllib
from typing import Any

import click

from ..config import Config, load_config
from ..errors import ConfigError
from .common import fail_usage, handle_errors, print_json
from .group import main

EXIT_HELP = ("Exit codes: 0 every recording scanned; 1 some recordings, files or a recording's stages failed "
             "(the rest was scanned; see `twotrack errors`); 2 usage or config error, or the workspace is busy; "
             "130 interrupted (finished recordings are kept; rerun to resume).")


def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML syntax when it parses (0.6, true, [8000, 16000], "x"), else the raw text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def cli_config(config_file: str | None, overrides: tuple[str, ...]) -> Config:
    """Defaults, then ``--config FILE`` (TOML), then each ``--set section.key=value`` in order."""
    cfg = load_config(config_file)
    parsed: dict[str, Any] = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"--set {item!r}: expected section.key=value (e.g. activity.onset=0.6)")
        parsed[key.strip()] = parse_value(value.strip())
    return cfg.with_overrides(parsed) if parsed else cfg


def config_options(fn):
    fn = click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
                      help="Override one config value (repeatable), e.g. --set activity.onset=0.6.")(fn)
    fn = click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), default=None,
                      help="TOML config file whose tables are the sections ([activity] onset = 0.6).")(fn)
    return fn


def _summary_text(d: dict[str, Any], ws: str) -> str:
    rec, hours = d["recordings"], d["hours"]
    lines = []
    if d["status"] == "interrupted":
        lines.append(f"interrupted: {rec['scanned']} recording(s) finished and kept; run the same command to resume")
    if rec["found"] and not rec["scanned"] and d["status"] == "completed":
        lines.append(f"nothing to scan: all {rec['found']} recording(s) are already in the workspace under this "
                     f"config ({rec['skipped']} skipped, {hours['found']:.2f} h)")
    else:
        rt = f", {d['realtime_factor']:.0f}x realtime" if d["realtime_factor"] else ""
        lines.append(f"{rec['found']} recording(s) found ({hours['found']:.2f} h): {rec['scanned']} scanned "
                     f"({hours['scanned']:.2f} h) in {d['time_s']:.1f} s{rt}, {rec['skipped']} skipped "
                     f"(already done), {rec['failed']} failed")
    if rec["metadata_updated"]:
        # the source may be a manifest or a bare file (which names no license or speakers): say what happened
        lines.append(f"metadata updated for {rec['metadata_updated']} recording(s): their license, speakers, tags "
                     "or transcript differ from the stored ones, and this scan's source now holds (audio unchanged)")
    stages = []
    for stage, counts in d["stages"].items():
        if counts:
            stages.append(f"{stage}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if stages:
        lines.append("stages  " + " | ".join(stages))
    for stage, why in d["unavailable_stages"].items():
        lines.append(f"not run: {stage} ({why})")
    n_err = len(d["errors"])
    if rec.get("stage_errors"):
        lines.append(f"{rec['stage_errors']} recording(s) scanned with a stage that failed (status partial; "
                     "the errors below say which)")
    if rec["skipped_failed"]:
        lines.append(f"{rec['skipped_failed']} recording(s) failed in an earlier scan and were not retried "
                     f"(--retry-errors retries them)")
    if n_err:
        lines.append(f"{n_err} error(s) in this scan; `twotrack errors -w {ws}` lists every error:")
        for e in d["errors"][:10]:
            lines.append(f"  {e['path']}: {e['problem']} [{e['stage']}]")
        if n_err > 10:
            lines.append(f"  ... and {n_err - 10} more")
    return "\n".join(lines)


def _run_scan(paths, ws: str, config: Config, jobs: int | None, executor, *, progress: bool, **options):
    """``run.scan`` into workspace ``ws``; a busy workspace is a usage error (exit 2)."""
    from ..run import make_progress
    from ..run import scan as run_scan
    from ..store import LockTimeout, Workspace

    try:
        return run_scan(paths, Workspace(ws, create=True), config, jobs=jobs, executor=executor,
                        progress=make_progress(enabled=progress), **options)
    except LockTimeout as exc:
        fail_usage(str(exc))


def _recipe_options(recipe: str | None, items: tuple[str, ...]) -> dict[str, str]:
    """``--recipe-option KEY=VALUE`` pairs, checked against the recipe (a usage error otherwise)."""
    if not recipe:
        if items:
            fail_usage("--recipe-option needs --recipe NAME")
        return {}
    from ..recipes.registry import get_recipe

    try:
        known = {name for name, _ in get_recipe(recipe).options}
    except ValueError as exc:
        fail_usage(str(exc))
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in known:
            fail_usage(f"--recipe-option {item!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(known))}")
        options[key.strip()] = value.strip()
    return options


@main.command(epilog=EXIT_HELP)
@click.argument("paths", nargs=-1, required=True)
@click.option("-w", "--workspace", "ws", required=True, type=click.Path(file_okay=False),
              help="Workspace folder (created when missing).")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=None,
              help="Worker processes (default: the number of cores; 0 runs in this process).")
@click.option("--executor", "executor_name", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: a process pool on this machine; ray: Ray tasks on a cluster (pip install "
                   "'twotrack[ray]'; docs/scale-out.md).")
@click.option("--address", default=None, metavar="auto|HOST:PORT|ray://HOST:PORT",
              help="With --executor ray: the cluster to join (default: start a local Ray instance with --jobs CPUs).")
@config_options
@click.option("--words", "words", is_flag=True,
              help="Also transcribe every track with word times (the words stage; same as [words] enabled = true; "
                   "docs/words.md).")
@click.option("--retry-errors", is_flag=True, help="Retry recordings that failed before (same content and config).")
@click.option("--keep-frames", is_flag=True,
              help="Keep per-frame speech probabilities in the workspace (Parquet, 1 byte per 10 ms per track).")
@click.option("--no-progress", is_flag=True, help="No progress bar or progress lines.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (docs/cli.md).")
@click.option("--recipe", default=None, metavar="NAME",
              help="Read PATH... as a corpus in its publisher's layout (fisher, switchboard, ...; "
                   "`twotrack recipes` lists them): speakers, topics and gold come with the audio.")
@click.option("--recipe-option", "recipe_options", multiple=True, metavar="KEY=VALUE",
              help="An option of the recipe (repeatable), e.g. --recipe-option headsets=0,1 for ami.")
@handle_errors
def scan(paths, ws, jobs, executor_name, address, config_file, overrides, words, retry_errors, keep_frames,
         no_progress, as_json, recipe=None, recipe_options=()):
    """Scan folders, audio files or manifests (PATH...) into the workspace.

    Only what is not already stored is computed: a rescan skips recordings whose content and config
    are unchanged, a changed activity setting recomputes activity and events only. Ctrl-C stops
    cleanly and a rerun resumes.
    """
    from ..run import make_executor
    from ..run.worker import prestart_scan_worker

    executor = None
    if executor_name == "local" and not address:
        # the first worker starts first: its imports (the pipeline, ~0.3 s) overlap this process loading
        # DuckDB, pyarrow and the config, opening the workspace and planning; closed below if unused
        executor = make_executor(jobs)
        prestart_scan_worker(executor)
    try:
        config = cli_config(config_file, overrides)
        if words:
            config = config.with_overrides({"words.enabled": True})
        options = _recipe_options(recipe, recipe_options)
        if executor_name == "ray":
            from ..run.ray_executor import make_ray_executor

            executor = make_ray_executor(address, jobs)  # Ray is imported only here
        elif address:
            fail_usage("--address needs --executor ray")
        summary = _run_scan(paths, ws, config, jobs, executor, retry_errors=retry_errors, keep_probs=keep_frames,
                            progress=not no_progress, recipe=recipe, recipe_options=options)
    finally:
        if executor is not None:
            executor.close()
    data = summary.to_dict()
    if as_json:
        print_json(data)
    else:
        click.echo(_summary_text(data, ws))
    sys.exit(summary.exit_code)
