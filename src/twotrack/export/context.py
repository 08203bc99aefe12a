"""What an export run knows beyond one recording: the workspace, the rights snapshot, the words, and
(lazily) every purpose's verdicts and the per-recording qualification.

``GoldWords.text_words`` is the ONE place exporters get words from: gold words (a transcript with word
times), else the words stage's stored words (the manifest's text aligned, or recognised), else an
utterance-level transcript as it is; each with its source."""

from __future__ import annotations

import dataclasses
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..config import QualifyConfig
from ..errors import InputError
from ..ingest.annotations import gold_id, has_gold, read_gold, utterance_level
from ..model import Recording, Word
from ..qualify.phases import recording_phase_fit
from ..qualify.requirements import NAMES, evaluate_recording, qualify_corpus
from ..qualify.workspace import inputs_from_workspace
from ..rights.verdicts import PURPOSES, decide
from ..store import queries


@dataclass(frozen=True)
class TextWords:
    """The words an export writes for one recording: per track in time order (None: no text at all),
    where they come from (``gold``, ``aligned``, ``stage``; None without words), and a note."""

    words: dict[int, list[Word]] | None
    source: str | None
    note: str | None = None


def per_track(rec: Recording, words) -> tuple[dict[int, list[Word]], str | None]:
    """A transcript's words per track of ``rec``, sorted, and a note on those left out. A mono file's one
    track holds the whole conversation: every speaker's words go to it (the transcript's A/B name people,
    not channels). Otherwise a word on a track the recording does not have is left out and counted."""
    out: dict[int, list[Word]] = {t: [] for t in range(rec.n_tracks)}
    lost = 0
    for w in words:
        if not (w.end > w.start and w.text.strip()):
            continue
        track = 0 if rec.is_mono else w.track
        if 0 <= track < rec.n_tracks:
            out[track].append(w if track == w.track else dataclasses.replace(w, track=track))
        else:
            lost += 1
    for ws in out.values():
        ws.sort(key=lambda w: (w.start, w.end))
    note = (f"{lost} transcript word(s) on a track the recording does not have ({rec.n_tracks} track(s)) "
            "left out") if lost else None
    return out, note


class GoldWords:
    """Words per recording: gold from the transcript path in the manifest (files parsed once per run),
    and, given the workspace, the words stage's stored words (``text_words``)."""

    def __init__(self, keep: int = 16, workspace: Any = None):
        self._cache: OrderedDict[str, dict[str, list[Word]]] = OrderedDict()
        self._keep = keep
        self.workspace = workspace
        self._counts: dict[str, dict[str, Any]] | None = None

    def stored_counts(self) -> dict[str, dict[str, Any]]:
        """recording_id -> stored words per track and source (``queries.word_counts``), read once."""
        if self._counts is None:
            self._counts = queries.word_counts(self.workspace) if self.workspace is not None else {}
        return self._counts

    def unfit_lines(self, rec: Recording) -> int:
        """Transcript lines of ``rec`` the words stage judged not to fit their audio (``words.textfit``) and
        left without words (``words.text_fit = keep`` keeps theirs: they are text like any other line)."""
        return int(self.stored_counts().get(rec.recording_id, {}).get("unfit_dropped_lines", 0))

    def dropped_lines(self, rec: Recording) -> int:
        """Transcript lines of ``rec`` that kept no words: judged not to fit, or not aligned at all."""
        return int(self.stored_counts().get(rec.recording_id, {}).get("dropped_lines", 0))

    def has_stored(self, rec: Recording) -> bool:
        return sum(self.stored_counts().get(rec.recording_id, {}).get("tracks", {}).values()) > 0

    def stored(self, rec: Recording) -> TextWords | None:
        """The words stage's words of ``rec`` per track (every track present), or None when it has none."""
        if self.workspace is None or not self.has_stored(rec):
            return None
        got = queries.words(self.workspace, rec.recording_id)
        out: dict[int, list[Word]] = {t: [] for t in range(rec.n_tracks)}
        for w in got.words:
            if 0 <= w.track < rec.n_tracks and w.end > w.start and w.text.strip():
                out[w.track].append(w)
        return TextWords(out, got.source or "stage")

    def text_words(self, rec: Recording) -> TextWords:
        """Gold words with word times, else the stored words (aligned transcript text, or recognised),
        else an utterance-level transcript's lines as they are, else no text (``words`` None)."""
        gold, note = self.words(rec)
        has_gold = gold is not None and any(gold.values())
        if has_gold and not utterance_level(gold):
            return TextWords(gold, "gold", note)
        stored = self.stored(rec)
        if stored is not None:
            why = "; the transcript has no word times" if has_gold else ""
            return TextWords(stored.words, stored.source, (note + "; " if note else "") + f"words from the "
                             f"words stage ({stored.source}){why}" if (note or has_gold) else None)
        if gold is not None:
            if has_gold and self.workspace is not None and self.dropped_lines(rec):
                # every line kept no words: those judged not to fit or not aligned at all are not text
                gold = self._without_dropped(rec, gold)
                if not any(gold.values()):
                    return TextWords(None, None, note)
            return TextWords(gold, "gold", note)
        return TextWords(None, None, note)

    def _without_dropped(self, rec: Recording, gold: dict[int, list[Word]]) -> dict[int, list[Word]]:
        """``gold`` (utterance-level lines) without the lines that kept no words in the words stage (judged not
        to fit their audio, or no path through their text at all)."""
        unfit = {(ln["track"], round(ln["start"], 4), round(ln["end"], 4))
                 for ln in queries.words(self.workspace, rec.recording_id).dropped}
        return {t: [w for w in ws if (t, round(w.start, 4), round(w.end, 4)) not in unfit] for t, ws in gold.items()}

    def has_text(self, rec: Recording) -> bool:
        """Whether ``text_words`` would give words (a transcript with words for it, or stored words)."""
        if self.has_stored(rec):
            return True
        if not has_gold(rec):
            return False
        gold = self.words(rec)[0]
        if gold is not None and self.workspace is not None and self.dropped_lines(rec):
            gold = self._without_dropped(rec, gold)  # lines judged not to fit, or not aligned, are not text
            return any(gold.values())
        return gold is not None

    def _read(self, path: str) -> dict[str, list[Word]]:
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        data = read_gold(path)
        self._cache[path] = data
        while len(self._cache) > self._keep:
            self._cache.popitem(last=False)
        return data

    def words(self, rec: Recording) -> tuple[dict[int, list[Word]] | None, str | None]:
        """(words per track, or None) and a note when a transcript was named but gave no words."""
        if any(rec.track_transcripts):  # a recipe's per-track gold (Switchboard, AMI)
            return self._track_words(rec)
        if not rec.transcript:
            return None, None
        try:
            by_id = self._read(rec.transcript)
        except InputError as exc:
            return None, f"transcript unreadable: {exc}"
        except OSError as exc:
            return None, f"transcript unreadable: {rec.transcript}: {exc.strerror or exc}"
        key = gold_id(rec, by_id)
        if key is None:
            return None, f"transcript {rec.transcript} has no words for {rec.recording_id}"
        return per_track(rec, by_id[key])

    @staticmethod
    def _track_words(rec: Recording) -> tuple[dict[int, list[Word]] | None, str | None]:
        from ..ingest.annotations import recording_gold

        try:
            words = recording_gold(rec)
        except InputError as exc:
            return None, f"transcript unreadable: {exc}"
        return per_track(rec, words)

    def file_hash(self, rec: Recording) -> str | None:
        if any(rec.track_transcripts):
            stats = []
            for path in rec.track_transcripts:
                try:
                    st = os.stat(path) if path else None
                except OSError:
                    st = None
                stats.append(f"{st.st_size}:{st.st_mtime_ns}" if st else "-")
            return "|".join(stats)
        if not rec.transcript:
            return None
        try:
            st = os.stat(rec.transcript)
        except OSError:
            return "missing"
        return f"{st.st_size}:{st.st_mtime_ns}"


@dataclass
class Context:
    """What a run knows beyond one recording: the workspace, the rights snapshot, lazily the rest."""

    workspace: Any  # store.Workspace
    purpose: str
    events: list  # consent events of the ledger snapshot
    ledger_head: str
    recordings: list[Recording]
    verdicts: dict[str, Any]  # recording_id -> Verdict for the purpose
    permissions: Any = None  # the permissions table every verdict of the run reads (None: the packaged one)
    speech: dict[str, dict[int, float]] | None = None  # activity speech per track: which channels are unused
    _all_verdicts: dict[str, dict[str, Any]] | None = None
    _qualification: dict[str, dict[str, Any]] | None = None
    notes: list[str] = field(default_factory=list)

    def corpus_qualification(self, recording_ids) -> Any:
        """The eight requirements and the phase fit of the exported recordings taken as one corpus (a
        ``qualify.requirements.QualifyReport``), or None when the workspace cannot say (noted)."""
        try:
            cfg = QualifyConfig(purpose=self.purpose)
            inputs = inputs_from_workspace(self.workspace, self.purpose, cfg, permissions=self.permissions)
            keep = set(recording_ids)
            inputs = dataclasses.replace(inputs, recordings=tuple(r for r in inputs.recordings
                                                                  if r.recording_id in keep))
            return qualify_corpus(inputs, cfg)
        except Exception as exc:  # noqa: BLE001 - the card says so instead of failing the export
            self.notes.append(f"corpus qualification unavailable: {type(exc).__name__}: {exc}")
            return None

    def permissions_text(self) -> str:
        """How the cards name the table that judged the licenses (the file's name, not its local path)."""
        path = getattr(self.permissions, "path", None)
        if not path:
            return "the built-in permissions table"
        return (f"the built-in permissions table with the team's table `{os.path.basename(path)}` "
                f"(sha256 {self.permissions.sha256}) over it")

    def all_verdicts(self) -> dict[str, dict[str, Any]]:
        """purpose -> recording_id -> Verdict, for every known purpose (what Parquet rows carry)."""
        if self._all_verdicts is None:
            self._all_verdicts = {p: {v.recording_id: v for v in decide(self.recordings, self.events, p,
                                                                          permissions=self.permissions,
                                                                          speech=self.speech)}
                                  for p in PURPOSES}
        return self._all_verdicts

    def qualification(self) -> dict[str, dict[str, Any]]:
        """recording_id -> its own qualification (requirements judged per recording, data type, phase
        fit from its own failures). Corpus-level requirements are not per-row facts and stay out."""
        if self._qualification is None:
            self._qualification = {}
            try:
                cfg = QualifyConfig()
                inputs = inputs_from_workspace(self.workspace, self.purpose, cfg, permissions=self.permissions)
                for rec in inputs.recordings:
                    finding, checks = evaluate_recording(rec, cfg)
                    failed = sorted(i for i, c in checks.items() if c.passed is False)
                    fit = recording_phase_fit(finding, failed, NAMES)
                    self._qualification[rec.recording_id] = {
                        "data_type": finding.data_type,
                        "type_confirmed": bool(finding.confirmed),
                        "passed_own_checks": not failed,
                        "failed": failed,
                        "requirements": [
                            {"id": int(i), "name": NAMES.get(i, str(i)), "passed": c.passed,
                             "reasons": list(c.reasons)}
                            for i, c in sorted(checks.items())
                        ],
                        "phase_fit": fit.labels(),
                    }
            except Exception as exc:  # noqa: BLE001 - qualification is optional content, never a blocker
                self.notes.append(f"qualification unavailable: {type(exc).__name__}: {exc}")
        return self._qualification
