"""The scan: discover -> plan (what is already done) -> run the rest on an executor -> one writer.

``scan(paths, workspace)`` is the library call behind ``twotrack scan``. Results of each finished
recording go to a writer thread in this process, which commits whatever has arrived in one
transaction; so a killed scan loses only the recordings in flight, and the next scan resumes.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import queue
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .. import __version__
from ..config import Config
from ..errors import InputError
from ..ingest.discover import stream as discover_stream
from ..ingest.extensions import MANIFEST_EXTENSIONS
from ..ingest import remote
from ..ingest.manifest import url_folders
from ..ingest.found import Found, FoundStream
from ..model import AudioInfo, ErrorRecord, Recording
from ..store import ResultWrite, SourceRecord, Workspace, queries
from ..store.workspace import WorkspaceError
from ..store.locks import ScanLock
from ..store.rows import STAGES, dumps, recording_from_json
from .keys import (
    READS_AUDIO, STAGE_VERSION, UPSTREAM, newer_stage_versions, recording_stage_keys, stage_keys, switched_off,
    unavailable_stages,
)
from .executors import Executor, make_executor
from .reuse import Reuse
from .progress import NullProgress, ScanProgress
from .worker import Job, Outcome, crash_outcome, failed_outcome, prestart_scan_worker, scan_one

if TYPE_CHECKING:
    from ..store import WriteSession


@dataclass
class ScanSummary:
    """What one scan did; ``to_dict`` is the stable JSON of ``twotrack scan --json`` (docs/cli.md)."""

    workspace: str
    run_id: int
    status: str  # completed | interrupted
    found: int = 0
    scanned: int = 0
    skipped: int = 0
    failed: int = 0
    skipped_failed: int = 0  # skipped because they failed before with the same content and config
    #: scanned now, not failed, but some stage of theirs failed (e.g. the words model missing): what the
    #: skipped ones count in ``skipped_failed``, for this scan's recordings
    stage_errors: int = 0
    metadata_updated: int = 0
    audio_found_s: float = 0.0
    audio_scanned_s: float = 0.0
    wall_s: float = 0.0
    jobs: int = 1
    stages: dict[str, dict[str, int]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    errors: list[ErrorRecord] = field(default_factory=list)
    discovery_errors: int = 0
    plan_s: float = 0.0  # discovery, hashing and planning (before the first job)
    commit_s: float = 0.0  # time the writer spent with the workspace open (committing, closing)
    commits: int = 0

    @property
    def exit_code(self) -> int:
        if self.status == "interrupted":
            return 130
        return 1 if (self.failed or self.skipped_failed or self.stage_errors or self.discovery_errors) else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "run_id": self.run_id,
            "status": self.status,
            "recordings": {"found": self.found, "scanned": self.scanned, "skipped": self.skipped,
                           "failed": self.failed, "skipped_failed": self.skipped_failed,
                           "stage_errors": self.stage_errors, "metadata_updated": self.metadata_updated},
            "hours": {"found": round(self.audio_found_s / 3600, 6), "scanned": round(self.audio_scanned_s / 3600, 6)},
            "time_s": round(self.wall_s, 3),
            "realtime_factor": round(self.audio_scanned_s / self.wall_s, 2) if self.wall_s > 0 else None,
            "jobs": self.jobs,
            "timing": {"plan_s": round(self.plan_s, 3), "commit_s": round(self.commit_s, 3), "commits": self.commits},
            "stages": self.stages,
            "unavailable_stages": self.unavailable,
            "errors": [e.to_dict() for e in self.errors],
            "exit_code": self.exit_code,
        }


# ---------------------------------------------------------------------------------------------
# discovery and planning
# ---------------------------------------------------------------------------------------------


def _discover(paths: Sequence[str], config: Config) -> FoundStream:
    # Hashes come from the workspace's cache (unchanged size and mtime): no rehash on rescans.
    return discover_stream(paths, config, hash_files=False)


def recipe_stream(prepared) -> FoundStream:
    """A corpus recipe's recordings (``recipes.base.Prepared``) as a discovery: its rows are taken as a
    manifest's are (ids given, a file reached twice is one recording), its named errors are discovery
    errors."""
    out = FoundStream()
    try:
        for rec in prepared.recordings:
            infos = {p: prepared.infos[p] for p in rec.source_paths if p in prepared.infos}
            out.add((rec.recording_id,), Found(rec, infos, described=True),
                    real="|".join(p if remote.is_url(p) else os.path.realpath(p) for p in rec.source_paths))
        out.errors.extend(prepared.errors)
        return out.finish()
    except BaseException:
        out.close()
        raise


def _missing(ws: Workspace, paths: Sequence[str], known: Sequence[ErrorRecord]) -> list[ErrorRecord]:
    """Stored recordings whose source files under this scan's paths are gone (ingest/missing.py)."""
    from ..ingest.missing import missing_errors

    return missing_errors(queries.track_paths_under(ws, _error_roots(paths)), known)


def _error_roots(paths: Sequence[str]) -> list[str]:
    """Where this scan's discovery errors can lie: each path, and a manifest's folder (its rows name
    files beside it), so that the errors of a fixed file disappear on the next scan."""
    roots = []
    for p in paths:
        if remote.is_url(p):  # a URL prefix is its own root
            roots.append(p)
            continue
        p = os.path.abspath(remote.local_path(p))
        roots.append(p)
        if os.path.isfile(p) and Path(p).suffix.lower() in MANIFEST_EXTENSIONS:
            roots.append(os.path.dirname(p))
            roots.extend(url_folders(p))  # and the folders of the URLs its rows name
    return roots


def _stat(path: str) -> tuple[int, int]:
    """(size, mtime_ns): os.stat for a file; for a URL the object's size and a change token (ETag,
    generation, last-modified: ``ingest.remote.stat_source``), raising InputError when it is missing."""
    if remote.is_url(path):
        return remote.stat_source(path)
    st = os.stat(path)
    return int(st.st_size), int(st.st_mtime_ns)


def source_records(recording: Recording, cache: dict[str, SourceRecord], infos: dict[str, AudioInfo]
                   ) -> tuple[tuple[SourceRecord, ...], Recording]:
    """Hash (or reuse the cached hash of) every source file; the recording comes back with its sha256s."""
    from ..ingest.hashing import sha256_file

    out: dict[str, SourceRecord] = {}
    given = {t.path: t.sha256 for t in recording.tracks if t.sha256}
    for path in recording.source_paths:
        try:
            size, mtime = _stat(path)
        except FileNotFoundError:
            raise InputError(path, "file not found") from None
        except OSError as exc:
            raise InputError(path, f"cannot stat: {exc.strerror or exc}") from None
        old = cache.get(path)
        info = infos.get(path) or (old.info if old and (old.size_bytes, old.mtime_ns) == (size, mtime) else None)
        if path in given:
            digest = given[path]
        elif old and (old.size_bytes, old.mtime_ns) == (size, mtime):
            digest = old.sha256
        else:
            digest = sha256_file(path)
        if info is None:
            from ..ingest.audio import probe

            info = probe(path)
        out[path] = SourceRecord(path=path, sha256=digest, size_bytes=size, mtime_ns=mtime, info=info)
    sources = tuple(out.values())
    return sources, with_digests(recording, sources)


def with_digests(recording: Recording, sources: Sequence[SourceRecord]) -> Recording:
    """The recording with each track's sha256 filled in from its source file's record."""
    digest = {s.path: s.sha256 for s in sources}
    tracks = tuple(t if t.sha256 else replace(t, sha256=digest[t.path]) for t in recording.tracks)
    return replace(recording, tracks=tracks)


def source_key(recording: Recording) -> str:
    """The content identity of a recording: layout and, per track, the file's sha256 and channel."""
    parts = [recording.layout.value] + [f"{t.sha256}:{t.channel}" for t in recording.tracks]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def stages_to_run(stored: dict[str, tuple[str, str, str]], skey: str, keys: dict[str, str],
                  retry_errors: bool, off: Collection[str] = ()) -> tuple[str, ...]:
    """Stages not done, and every stage reading one that reruns (``stages.UPSTREAM``: a redone stage
    redoes what follows). A switched-off stage (``off``) counts as done unless its upstream reruns.
    Decoding runs (and is recorded) again with any stage that reads the audio."""
    run: list[str] = []
    for stage in STAGES:
        old = stored.get(stage)
        done = stage in off or (old is not None and old[0] == skey and old[1] == keys[stage]
                                and not (retry_errors and old[2] in ("error", "blocked")))
        if not done or UPSTREAM[stage] in run:
            run.append(stage)
    if run and run[0] != "decode" and any(s in READS_AUDIO and s not in off for s in run):
        run.insert(0, "decode")
    return tuple(run)


class JobStream(Iterator[Job]):
    """Jobs read back one at a time, as an executor pulls them, from the plan's spill file: the driver
    holds the job in hand, not one entry per recording. ``len()`` is the number still to come (an
    executor sizes its batches from it, as it would from a list)."""

    def __init__(self, spill: IO[bytes] | None = None, count: int = 0, build: Callable[..., Job] | None = None):
        self._spill, self._left, self._build = spill, count, build
        if spill is not None:
            spill.seek(0)

    def __len__(self) -> int:
        return self._left

    def __next__(self) -> Job:
        if not self._left:
            self.close()
            raise StopIteration
        self._left -= 1
        return self._build(*pickle.load(self._spill))

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None


@dataclass
class Plan:
    """What a scan will do. ``jobs`` is a stream read back from disk as the executor pulls it;
    ``n_jobs`` and ``expected_s`` (audio seconds) count the jobs up front, for the progress display."""

    jobs: JobStream = field(default_factory=JobStream)
    n_jobs: int = 0
    expected_s: float = 0.0
    immediate: list[Outcome] = field(default_factory=list)  # failed before any work (unreadable source)
    skipped: int = 0
    skipped_failed: int = 0  # of the skipped: failed before with the same content and config
    metadata_changed: list[Recording] = field(default_factory=list)
    audio_found_s: float = 0.0
    reused: Counter = field(default_factory=Counter)


def _expected_s(sources: Sequence[SourceRecord]) -> float:
    return max((s.info.duration_s for s in sources if s.info), default=0.0)


def _batches(items: Iterable[Found], size: int) -> Iterator[list[Found]]:
    batch: list[Found] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def make_plan(ws: Workspace, found: Iterable[Found], config: Config, keys: dict[str, str],
              unavailable: dict[str, str], retry_errors: bool = False, keep_probs: bool = False,
              batch: int = 4096) -> Plan:
    """Decide, for every recording, what is done and what runs (stat and hash now, every count exact),
    and return the jobs as a stream built from those decisions.

    Recordings are taken in batches: each batch reads only its own rows of the workspace, and the
    decisions for the recordings to run go to a spill file on disk, so the driver's memory does not
    grow with the corpus.
    """
    plan = Plan()
    spill = tempfile.TemporaryFile(prefix="twotrack-plan-")
    try:
        for items in _batches(found, batch):
            _plan_batch(ws, items, config, keys, unavailable, retry_errors, plan, spill)
    except BaseException:
        spill.close()
        raise

    def build(rec: Recording, run: tuple[str, ...], sources: tuple[SourceRecord, ...], reuse: Reuse,
              stored_status: dict[str, str]) -> Job:
        return Job(recording=rec, config=config, source_key=source_key(rec), run=run,
                   keys=recording_stage_keys(keys, rec),
                   unavailable=unavailable, reuse=reuse, stored_status=stored_status, sources=sources,
                   expected_s=_expected_s(sources), keep_probs=keep_probs)

    plan.jobs = JobStream(spill, plan.n_jobs, build)
    return plan


def with_stored_description(found: Recording, stored: Recording) -> Recording:
    """A walked file names no license, speakers, tags, transcript or metadata. Where the workspace holds the
    recording as a manifest or recipe described it, that description stays: rescanning the folder to pick
    up new files must not empty the rights of the ones already there. A manifest (or recipe) scan is what
    changes a description. Kept only while the tracks still fit it (same number of tracks)."""
    if stored.n_tracks != found.n_tracks:
        return found
    return replace(found, speakers=stored.speakers, license=stored.license, tags=stored.tags,
                   transcript=stored.transcript, metadata=stored.metadata,
                   track_transcripts=stored.track_transcripts, clock=stored.clock)


def _plan_batch(ws: Workspace, items: list[Found], config: Config, keys: dict[str, str],
                unavailable: dict[str, str], retry_errors: bool, plan: Plan, spill: IO[bytes]) -> None:
    view = queries.plan_view(ws, [f.recording.recording_id for f in items],
                             sorted({p for f in items for p in f.recording.source_paths}))
    infos = {p: i for f in items for p, i in f.infos.items()}
    to_run: list[tuple[Recording, tuple[str, ...], tuple[SourceRecord, ...]]] = []
    for item in items:
        found = item.recording
        rid = found.recording_id
        if not item.described and rid in view.stored:
            found = with_stored_description(found, recording_from_json(view.stored[rid][0]))
        try:
            sources, rec = source_records(found, view.cache, infos)
        except InputError as exc:
            job = Job(recording=found, config=config, source_key="", run=STAGES, keys=recording_stage_keys(keys, found),
                      unavailable=unavailable)
            plan.immediate.append(failed_outcome(job, exc.problem, stage="decode", path=exc.path))
            continue
        expected = _expected_s(sources)
        plan.audio_found_s += expected
        st = view.state.get(rid, {})
        off = switched_off(config)
        run = stages_to_run(st, source_key(rec), recording_stage_keys(keys, rec), retry_errors, off)
        for stage in STAGES:
            if stage not in run:
                plan.reused[stage] += 1
        if not run:
            plan.skipped += 1
            plan.skipped_failed += any(v[2] in ("error", "blocked") for v in st.values())
            old = view.stored.get(rid)
            # Read the stored JSON through today's model first, so a field added since (with its default)
            # is not a metadata change of every recording.
            if old and _recording_json(recording_from_json(old[0])) != _recording_json(rec):
                plan.metadata_changed.append(rec)
            continue
        to_run.append((rec, run, sources))
        plan.n_jobs += 1
        plan.expected_s += expected
    # Stored inputs of partial reruns (checks for activity's bleed input, activity for events), read
    # now, before the writer owns the workspace.
    inputs = queries.stored_inputs(ws, [rec.recording_id for rec, run, _ in to_run if "checks" not in run])
    for rec, run, sources in to_run:
        rid = rec.recording_id
        reuse = Reuse()
        if rid in inputs:
            _, dur, rate = view.stored[rid]
            got = inputs[rid]
            reuse = Reuse(duration_s=dur, sample_rate=rate, checks=got["checks"],
                          activity=got["activity"] if "activity" not in run else ())
        st = view.state.get(rid, {})
        stored_status = {s: st[s][2] for s in STAGES if s not in run and s in st}
        pickle.dump((rec, run, sources, reuse, stored_status), spill, protocol=pickle.HIGHEST_PROTOCOL)


def _recording_json(rec: Recording) -> str:
    return dumps(rec.to_dict())


# ---------------------------------------------------------------------------------------------
# the single writer
# ---------------------------------------------------------------------------------------------

_STOP = object()


class Writer(threading.Thread):
    """Commits outcomes as they arrive; everything queued while a commit runs goes in the next one.

    It keeps the workspace open between commits while results flow (opening and closing DuckDB
    costs more than a small commit) and closes it when a reader queues up: at once when idle, after
    at most ``min_hold_s`` of committing otherwise, and after ``linger_s`` without results anyway.
    """

    def __init__(self, ws: Workspace, run_id: int, max_batch: int = 256, linger_s: float = 5.0,
                 poll_s: float = 0.01, min_hold_s: float = 0.5):
        super().__init__(name="twotrack-writer", daemon=True)
        self.ws, self.run_id, self.max_batch = ws, run_id, max_batch
        self.linger_s, self.poll_s, self.min_hold_s = linger_s, poll_s, min_hold_s
        self.queue: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.committed = 0
        self.commit_s = 0.0
        self.commits = 0
        self.opens = 0
        self.last: Callable[[WriteSession], None] | None = None
        self.last_ran = False

    def put(self, write: ResultWrite) -> None:
        if self.error is not None:
            raise RuntimeError(f"the workspace writer failed: {self.error}") from self.error
        self.queue.put(write)

    def run(self) -> None:
        session = self.ws.writer()
        last = time.monotonic()
        try:
            while True:
                try:
                    first = self.queue.get(timeout=self.poll_s if session.is_open else None)
                except queue.Empty:
                    if not session.yield_if_waited() and time.monotonic() - last > self.linger_s:
                        session.close()
                    continue
                if first is _STOP:
                    self._run_last(session)
                    return
                batch, stop = [first], False
                while len(batch) < self.max_batch:
                    try:
                        nxt = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        stop = True
                        break
                    batch.append(nxt)
                t0 = time.perf_counter()
                session.commit(batch, self.run_id)
                session.yield_if_waited(self.min_hold_s)
                self.commit_s += time.perf_counter() - t0
                self.commits += 1
                self.committed += len(batch)
                last = time.monotonic()
                if stop:
                    self._run_last(session)
                    return
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            self.error = exc
        finally:
            t0 = time.perf_counter()
            session.close()
            self.commit_s += time.perf_counter() - t0
            self.opens = session.opens

    def _run_last(self, session: WriteSession) -> None:
        if self.last is not None:
            self.last(session)
            self.last_ran = True

    def close(self, last: Callable[[WriteSession], None] | None = None) -> bool:
        """Commit what is queued and stop. ``last(session)`` then runs on the writer's own session, unless a
        commit failed: the scan's final write without opening (and checkpointing) the workspace once more
        at the end. True when it ran."""
        self.last = last
        self.queue.put(_STOP)
        self.join()
        return self.last_ran


# ---------------------------------------------------------------------------------------------
# the scan
# ---------------------------------------------------------------------------------------------


class _TermAsInterrupt:
    """SIGTERM stops a scan the way Ctrl-C does (commit what finished, then stop)."""

    def __enter__(self):
        self.old = None
        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGTERM, self.old)


@contextmanager
def _worker_started_early(executor: Executor):
    """A worker starting (and importing the pipeline) while this process reads the workspace, discovers and
    plans; stopped at once if the plan leaves it nothing to do (a rescan of finished work)."""
    prestart_scan_worker(executor)
    try:
        yield
    finally:
        executor.discard_prestarted()


def scan(
    paths: Sequence[str | Path],
    workspace: Workspace | str | Path,
    config: Config | None = None,
    *,
    jobs: int | None = None,
    executor: Executor | None = None,
    progress: ScanProgress | None = None,
    retry_errors: bool = False,
    keep_probs: bool = False,
    recipe: str | None = None,
    recipe_options: dict[str, str] | None = None,
) -> ScanSummary:
    """Scan ``paths`` into ``workspace``: only what is not already stored under this config is computed.

    ``jobs``: worker processes (None: all cores; 0: in this process). Ctrl-C or SIGTERM stop cleanly:
    finished recordings are committed and the summary says ``interrupted``. ``recipe``: read ``paths``
    as a corpus in its publisher's layout (``recipes.registry``; ``recipe_options`` are its options):
    its recordings are scanned, its named errors stored as discovery errors, its speakers' metadata
    stored in the workspace.
    """
    t0 = time.monotonic()
    config = config or Config()
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace, create=True)
    progress = progress or NullProgress()
    paths = [str(p) for p in paths]
    if recipe is not None:
        from ..recipes.registry import get_recipe

        get_recipe(recipe)  # an unknown name fails before anything is written
    executor = executor or make_executor(jobs)
    with ScanLock(ws.path), _TermAsInterrupt(), _worker_started_early(executor):
        unavailable = unavailable_stages(config)
        keys = stage_keys(config, unavailable)
        newer = newer_stage_versions(queries.stage_versions_recorded(ws))
        if newer:  # recomputing them with this older code would silently replace a newer twotrack's results
            said = ", ".join(f"{st} v{theirs} (this twotrack: v{ours})" for st, (theirs, ours) in sorted(newer.items()))
            raise WorkspaceError(f"{ws.path}: results computed by a newer twotrack: stage {said}; scan it with "
                                 "that version, or scan into a new workspace")
        with ws.writer() as w:  # the versions are recorded so that an older twotrack can tell (above)
            run_id = w.begin_run(paths, config.to_dict(), {**keys, "versions": dict(STAGE_VERSION)}, executor.jobs,
                                 __version__)
        summary = ScanSummary(workspace=str(ws.path), run_id=run_id, status="interrupted", jobs=executor.jobs,
                              unavailable=unavailable)
        writer = Writer(ws, run_id)
        counts: dict[str, Counter] = {s: Counter() for s in STAGES}
        try:
            speakers: dict[str, dict[str, str]] = {}
            if recipe is not None:
                from ..recipes.registry import prepare as prepare_recipe

                prepared = prepare_recipe(recipe, paths, recipe_options)
                speakers, discovered = prepared.speakers, recipe_stream(prepared)
            else:
                discovered = _discover(paths, config)
            with discovered as found:
                found.errors.extend(_missing(ws, paths, found.errors))
                with ws.writer() as w:
                    w.replace_discovery_errors(_error_roots(paths), found.errors, run_id)
                    w.set_speaker_metadata(speakers)
                summary.errors.extend(found.errors)
                summary.discovery_errors = len(found.errors)
                summary.found = len(found)
                plan = make_plan(ws, found, config, keys, unavailable, retry_errors, keep_probs)
            with ws.writer() as w:
                w.update_recordings(plan.metadata_changed)
            summary.skipped, summary.skipped_failed = plan.skipped, plan.skipped_failed
            summary.metadata_updated = len(plan.metadata_changed)
            summary.audio_found_s = plan.audio_found_s
            for stage, n in plan.reused.items():
                counts[stage]["reused"] += n
            summary.plan_s = time.monotonic() - t0

            writer.start()

            def take(outcome: Outcome) -> None:
                writer.put(outcome.write)
                summary.scanned += 1
                summary.failed += int(outcome.failed)
                summary.stage_errors += int(not outcome.failed and any(
                    st.status in ("error", "blocked") for st in outcome.write.stages))
                summary.audio_scanned_s += outcome.audio_s
                summary.errors.extend(outcome.write.result.errors)
                for st in outcome.write.stages:
                    counts[st.stage][st.status] += 1
                progress.advance(outcome.audio_s, outcome.failed or bool(outcome.write.result.errors))

            progress.start(plan.n_jobs + len(plan.immediate), plan.expected_s)
            for outcome in plan.immediate:
                take(outcome)
            with closing(plan.jobs):
                for outcome in executor.map_unordered(scan_one, plan.jobs, on_crash=crash_outcome):
                    take(outcome)
            summary.status = "completed"
        except KeyboardInterrupt:
            summary.status = "interrupted"
        except BaseException:
            summary.status = "failed"
            raise
        finally:
            progress.finish()
            summary.stages = {s: dict(c) for s, c in counts.items()}
            notes = [f"{s} unavailable: {why}" for s, why in unavailable.items()]

            def end_run(session: WriteSession) -> None:
                summary.wall_s = time.monotonic() - t0
                session.end_run(run_id, summary.status, n_found=summary.found, n_scanned=summary.scanned,
                                n_skipped=summary.skipped, n_failed=summary.failed,
                                audio_s=summary.audio_scanned_s, wall_s=summary.wall_s, notes=notes)

            ended = writer.close(end_run) if writer.is_alive() else False
            if writer.error is not None:
                summary.status = "failed"
            summary.commit_s, summary.commits = writer.commit_s, writer.commits
            if not ended:  # no writer ran, or a commit failed: the run is closed in a session of its own
                with ws.writer() as w:
                    end_run(w)
        if writer.error is not None:
            raise writer.error
    return summary
