"""What an export run knows beyond one recording: the workspace, the rights snapshot, the gold words,
and (lazily) every purpose's verdicts and the per-recording qualification."""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import QualifyConfig
from ..errors import InputError
from ..ingest.annotations import match_recording, read_gold, recording_words, utterance_level
from ..model import Recording, Word
from ..qualify.phases import recording_phase_fit
from ..qualify.requirements import NAMES, evaluate_recording
from ..qualify.workspace import inputs_from_workspace
from ..rights.verdicts import PURPOSES, decide


class GoldWords:
    """Gold words per recording, from the transcript path in the manifest (files parsed once per run)."""

    def __init__(self, keep: int = 16):
        self._cache: OrderedDict[str, dict[str, list[Word]]] = OrderedDict()
        self._keep = keep

    def _read(self, path: str) -> dict[str, list[Word]]:
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        data = read_gold(path)
        self._cache[path] = data
        while len(self._cache) > self._keep:
            self._cache.popitem(last=False)
        return data

    @staticmethod
    def _match(rec: Recording, by_id: dict[str, list[Word]]) -> str | None:
        return match_recording(rec, by_id)

    def words(self, rec: Recording) -> tuple[dict[int, list[Word]] | None, str | None]:
        """(gold words per track, or None) and a note when a transcript was named but gave no words."""
        if not rec.transcript:
            return None, None
        try:
            by_id = self._read(rec.transcript)
        except InputError as exc:
            return None, f"transcript unreadable: {exc}"
        except OSError as exc:
            return None, f"transcript unreadable: {rec.transcript}: {exc.strerror or exc}"
        out = recording_words(rec, by_id)
        if out is None:
            return None, f"transcript {rec.transcript} has no words for {rec.recording_id}"
        return out, None

    def file_hash(self, rec: Recording) -> str | None:
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
    _all_verdicts: dict[str, dict[str, Any]] | None = None
    _qualification: dict[str, dict[str, Any]] | None = None
    notes: list[str] = field(default_factory=list)

    def all_verdicts(self) -> dict[str, dict[str, Any]]:
        """purpose -> recording_id -> Verdict, for every known purpose (what Parquet rows carry)."""
        if self._all_verdicts is None:
            self._all_verdicts = {p: {v.recording_id: v for v in decide(self.recordings, self.events, p)}
                                  for p in PURPOSES}
        return self._all_verdicts

    def qualification(self) -> dict[str, dict[str, Any]]:
        """recording_id -> its own qualification (requirements judged per recording, data type, phase
        fit from its own failures). Corpus-level requirements are not per-row facts and stay out."""
        if self._qualification is None:
            self._qualification = {}
            try:
                cfg = QualifyConfig()
                inputs = inputs_from_workspace(self.workspace, self.purpose, cfg)
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
