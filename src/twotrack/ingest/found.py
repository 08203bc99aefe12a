"""What discovery found, held on disk: a million-file corpus costs the driver a few bytes per recording.

Discovery walks folder by folder and reads manifests row by row; each candidate recording (its id
candidates, the recording and the probes of its files) is pickled to an anonymous temporary file as
soon as it is known, and only fixed-size 64-bit hashes stay in memory: one per id candidate and one
for the files' real paths. When the walk ends, the ids are made unique and duplicates are found over
those arrays with numpy; the recordings are then streamed back from the file in discovery order.

The rules are discover.py's (module doc there): walked ids climb from the stem to longer relative
paths while two recordings share one; a manifest's ids are given and never renamed; a file reached
twice is one recording; an id taken twice is an error for every later claimant.
"""

from __future__ import annotations

import hashlib
import pickle
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import IO

import numpy as np

from ..model import AudioInfo, ErrorRecord, Recording


def hash64(text: str) -> int:
    """A stable 64-bit hash of a string (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class Found:
    """One recording found, with the header probe of each of its source files. ``described``: a manifest
    row or a corpus recipe named it (its license, speakers, tags, transcript); a walked file names none."""

    recording: Recording
    infos: dict[str, AudioInfo]
    described: bool = False


@dataclass(frozen=True)
class Origin:
    """Where a recording came from, for error messages: a manifest and its line, or a walk."""

    manifest: str | None = None
    line: int = 0


@dataclass
class _Entry:
    keys: tuple[str, ...]  # id candidates, shortest first (a manifest row: its one given id)
    found: Found
    origin: Origin


class FoundStream:
    """Candidates as discovery adds them (``add``), then, after ``finish``, the recordings with final
    ids, streamed from disk (iterate; each pass re-reads the file). ``errors`` holds discovery's errors
    (complete after ``finish``); ``len()`` the number of recordings."""

    def __init__(self) -> None:
        self.errors: list[ErrorRecord] = []
        self._file: IO[bytes] | None = tempfile.TemporaryFile(prefix="twotrack-found-")
        self._keys: list[np.ndarray] = []  # chunks of (n, 4) uint64: id candidates, padded with the last
        self._real: list[np.ndarray] = []  # chunks of (n,) uint64: the files' real paths (0: never merged)
        self._from_manifest: list[np.ndarray] = []
        self._pending_keys: list[tuple[int, int, int, int]] = []
        self._pending_real: list[int] = []
        self._pending_manifest: list[bool] = []
        self._n = 0
        self._level: np.ndarray | None = None  # which id candidate each entry ends with
        self._keep: np.ndarray | None = None  # False: a duplicate (dropped, with an error)
        self._count = 0

    # -- building -------------------------------------------------------------------------------

    def add(self, keys: tuple[str, ...], found: Found, origin: Origin = Origin(), real: str | None = None) -> None:
        """One candidate. ``real``: the identity of its files (real paths); a second candidate with the
        same identity is the same recording reached twice and is dropped silently."""
        assert self._file is not None and self._level is None, "add after finish"
        pickle.dump(_Entry(tuple(keys), found, origin), self._file, protocol=pickle.HIGHEST_PROTOCOL)
        hashed = [hash64(k) for k in keys[:4]]
        self._pending_keys.append(tuple(hashed + [hashed[-1]] * (4 - len(hashed))))
        self._pending_real.append(hash64(real) if real else 0)
        self._pending_manifest.append(origin.manifest is not None)
        self._n += 1
        if len(self._pending_real) >= 65536:
            self._flush()

    def _flush(self) -> None:
        if self._pending_real:
            self._keys.append(np.array(self._pending_keys, dtype=np.uint64).reshape(-1, 4))
            self._real.append(np.array(self._pending_real, dtype=np.uint64))
            self._from_manifest.append(np.array(self._pending_manifest, dtype=bool))
            self._pending_keys, self._pending_real, self._pending_manifest = [], [], []

    def finish(self) -> FoundStream:
        """Settle the ids (see the module doc) and add an error for every id claimed twice."""
        self._flush()
        n = self._n
        keys = np.concatenate(self._keys) if self._keys else np.zeros((0, 4), np.uint64)
        real = np.concatenate(self._real) if self._real else np.zeros(0, np.uint64)
        manifest = np.concatenate(self._from_manifest) if self._from_manifest else np.zeros(0, bool)
        self._keys = self._real = self._from_manifest = []
        keep = np.ones(n, dtype=bool)
        keep[_later_repeats(real, real != 0)] = False
        level = _unique_levels(keys, keep & ~manifest)
        final = keys[np.arange(n), level]
        # The first claimant of an id owns it, walked recordings before manifest rows (a manifest's
        # id is given, so it is the one refused).
        order = np.lexsort((np.arange(n), manifest))
        order = order[keep[order]]
        claimed = final[order]
        losers = order[_later_repeats(claimed, np.ones(len(order), bool))]
        self._level, self._keep = level, keep
        if len(losers):
            keep[losers] = False
            ids, first = np.unique(claimed, return_index=True)
            owners = order[first[np.searchsorted(ids, final[losers])]]
            self.errors.extend(self._claim_errors(losers, owners))
        self._count = int(keep.sum())
        return self

    def _claim_errors(self, losers: np.ndarray, owners: np.ndarray) -> list[ErrorRecord]:
        """One error per refused claimant (``losers[k]`` lost its id to ``owners[k]``), in discovery order."""
        wanted = set(losers.tolist()) | set(owners.tolist())
        entries = {i: e for i, e in self._entries() if i in wanted}
        errors = []
        for i, owner_i in sorted(zip(losers.tolist(), owners.tolist())):
            lost, owner = entries[i], entries[owner_i]
            rid = lost.keys[self._level[i]]
            if lost.origin.manifest and lost.origin.manifest == owner.origin.manifest:
                errors.append(ErrorRecord(path=lost.origin.manifest, recording_id=rid, problem=(
                    f"line {lost.origin.line}: duplicate recording_id {rid!r} (first on line {owner.origin.line})")))
            elif lost.origin.manifest and owner.origin.manifest:
                errors.append(ErrorRecord(path=lost.origin.manifest, recording_id=rid, problem=(
                    f"line {lost.origin.line}: recording id {rid!r} is already used by {owner.origin.manifest} "
                    f"line {owner.origin.line}")))
            else:
                rec = lost.found.recording
                errors.append(ErrorRecord(
                    path=rec.tracks[0].path if rec.tracks else rid, recording_id=rid,
                    problem=f"recording id {rid!r} is already used by {owner.found.recording.tracks[0].path}"))
        return errors

    # -- reading --------------------------------------------------------------------------------

    def _entries(self) -> Iterator[tuple[int, _Entry]]:
        if self._file is None:
            raise ValueError("the discovery was closed")
        self._file.seek(0)
        for i in range(self._n):
            yield i, pickle.load(self._file)

    def __iter__(self) -> Iterator[Found]:
        if self._keep is None:
            raise ValueError("finish() the discovery before reading it")
        for i, entry in self._entries():
            if self._keep[i]:
                rid = entry.keys[self._level[i]]
                rec = entry.found.recording
                if rec.recording_id != rid:
                    rec = replace(rec, recording_id=rid)
                yield Found(rec, entry.found.infos, entry.found.described)

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> FoundStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _later_repeats(values: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Indices (into ``values``) of eligible entries whose value an earlier eligible entry has."""
    idx = np.flatnonzero(eligible)
    if len(idx) < 2:
        return np.zeros(0, dtype=np.int64)
    _, first = np.unique(values[idx], return_index=True)
    repeat = np.ones(len(idx), dtype=bool)
    repeat[first] = False
    return idx[repeat]


def _unique_levels(keys: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """For each row, the id candidate it ends with: rows sharing their current candidate move to the
    next longer one, round after round, until no shared candidate can move (only eligible rows count
    and move; the others keep candidate 0)."""
    n = len(keys)
    level = np.zeros(n, dtype=np.int8)
    idx = np.flatnonzero(eligible)
    while len(idx):
        current = keys[idx, level[idx]]
        _, inverse, counts = np.unique(current, return_inverse=True, return_counts=True)
        move = (counts[inverse] > 1) & (level[idx] < 3)
        if not move.any():
            break
        level[idx[move]] += 1
    return level

