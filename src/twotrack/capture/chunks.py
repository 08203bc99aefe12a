"""The chunk store of one participant's track: numbered, contiguous, idempotent, resumable.

A browser uploads its recording as numbered chunks of raw float32 PCM (little-endian, mono, the device
rate). Each chunk carries ``sample_start`` (the participant's sample counter at its first sample) and
``client_ms`` (the participant's clock, epoch milliseconds, at that sample). The store accepts chunks in
order only, so what is stored is always one contiguous run of samples ``0 .. n_samples``:

- chunk ``seq == next_seq`` whose ``sample_start`` continues the previous chunk: stored (``stored``);
- chunk ``seq < next_seq`` with the same bytes as the stored one: nothing changes (``duplicate``);
- anything else (a gap in ``seq``, a different body for a stored ``seq``, a counter that does not continue,
  an oversized or malformed body) raises ``ChunkRejected`` and nothing changes.

The same store, built with ``contiguous=False``, keeps a track's **capture anchors** (``anchors/``): short
stretches of the microphone's samples with the browser's capture timestamp of their first sample
(``client_ms``), numbered and idempotent like chunks but without a sample counter (``sample_start`` is 0;
where they lie in the track is found from their content at assembly).

Resuming is asking ``next_seq`` and sending from there. Each chunk is two files, ``<seq>.pcm`` and
``<seq>.json``; the JSON is written last (atomically), so a chunk whose JSON is missing was never stored
(a crash mid-write leaves an orphan ``.pcm`` that the next upload of that seq overwrites).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

#: Bytes per sample on the wire and on disk (float32).
SAMPLE_BYTES = 4
#: Largest chunk accepted: 10 s at 192 kHz (a browser sends ~1 s).
MAX_CHUNK_SAMPLES = 192_000 * 10
#: Largest capture anchor accepted: 0.1 s at 192 kHz (a browser sends 20 ms).
MAX_ANCHOR_SAMPLES = 19_200
MAX_SEQ = 10_000_000
MIN_RATE, MAX_RATE = 8000, 192_000


class ChunkRejected(Exception):
    """A chunk that cannot be stored; ``status`` is the HTTP status the server answers with."""

    def __init__(self, status: int, problem: str, next_seq: int | None = None):
        super().__init__(problem)
        self.status = status
        self.problem = problem
        self.next_seq = next_seq


@dataclass(frozen=True)
class ChunkMeta:
    seq: int
    sample_start: int
    n_samples: int
    sample_rate: int
    client_ms: float
    sha256: str
    received_ms: float  # server clock when it was stored (for the capture report)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PutResult:
    status: str  # stored | duplicate
    next_seq: int
    n_samples: int  # samples stored in the track after this call


class ChunkStore:
    """The chunks of one track in ``folder``. Thread-safe within a process (one lock per store object;
    the server keeps one object per track)."""

    def __init__(self, folder: str | os.PathLike, *, contiguous: bool = True, max_samples: int = MAX_CHUNK_SAMPLES,
                 what: str = "chunk"):
        self.folder = Path(folder)
        self.contiguous = contiguous  # False: anchors, whose sample_start is always 0
        self.max_samples = max_samples
        self.what = what
        self._lock = threading.Lock()
        self._metas: list[ChunkMeta] | None = None
        self.duplicates = 0  # re-sent chunks answered without a change (for the capture report)

    # ---- reading ---------------------------------------------------------------------------

    def _load(self) -> list[ChunkMeta]:
        if self._metas is None:
            metas = []
            if self.folder.exists():
                seq = 0
                while (self.folder / f"{seq:08d}.json").exists():
                    metas.append(ChunkMeta(**json.loads((self.folder / f"{seq:08d}.json").read_text())))
                    seq += 1
            self._metas = metas
        return self._metas

    def metas(self) -> list[ChunkMeta]:
        with self._lock:
            return list(self._load())

    @property
    def next_seq(self) -> int:
        return len(self.metas())

    @property
    def n_samples(self) -> int:
        return self._count(self.metas())

    def read(self, seq: int) -> np.ndarray:
        """The samples of stored item ``seq`` as float32."""
        return np.fromfile(self.folder / f"{seq:08d}.pcm", "<f4")

    def read_all(self) -> np.ndarray:
        """Every stored sample, in order, as float32."""
        metas = self.metas()
        out = np.empty(sum(m.n_samples for m in metas), np.float32)
        for m in metas:
            out[m.sample_start:m.sample_start + m.n_samples] = np.fromfile(self.folder / f"{m.seq:08d}.pcm", "<f4")
        return out

    # ---- writing ---------------------------------------------------------------------------

    def put(self, seq: int, sample_start: int, sample_rate: int, client_ms: float, body: bytes,
            received_ms: float) -> PutResult:
        """Store chunk ``seq`` (see the module doc for what is accepted); raises ChunkRejected."""
        if not (0 <= seq < MAX_SEQ):
            raise ChunkRejected(400, f"{self.what} number {seq} out of range")
        if not (MIN_RATE <= sample_rate <= MAX_RATE):
            raise ChunkRejected(400, f"sample rate {sample_rate} Hz out of range {MIN_RATE}..{MAX_RATE}")
        if len(body) == 0 or len(body) % SAMPLE_BYTES:
            raise ChunkRejected(400, f"{self.what} body of {len(body)} bytes is not a whole number of float32 samples")
        n = len(body) // SAMPLE_BYTES
        if n > self.max_samples:
            raise ChunkRejected(413, f"{self.what} of {n} samples is larger than {self.max_samples}")
        if not np.isfinite(client_ms) or (not self.contiguous and client_ms <= 0):
            raise ChunkRejected(400, "client clock is not a number" if not np.isfinite(client_ms)
                                else "capture time must be a positive client clock (epoch ms)")
        if not self.contiguous and sample_start != 0:
            raise ChunkRejected(400, f"{self.what} {seq}: sample_start must be 0 (its place is found from its content)")
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            metas = self._load()
            nxt = len(metas)
            if seq < nxt:
                old = metas[seq]
                if old.sha256 == digest and old.sample_start == sample_start:
                    self.duplicates += 1
                    return PutResult("duplicate", nxt, self._count(metas))
                raise ChunkRejected(409, f"{self.what} {seq} is already stored with different content", nxt)
            if seq > nxt:
                raise ChunkRejected(409, f"{self.what} {seq} out of order: the next {self.what} expected is {nxt}", nxt)
            expected_start = self._count(metas) if self.contiguous else 0
            if sample_start != expected_start:
                raise ChunkRejected(409, f"chunk {seq} starts at sample {sample_start}, expected {expected_start} "
                                         "(the sample counter must continue the previous chunk)", nxt)
            if self.contiguous and metas and sample_rate != metas[0].sample_rate:
                raise ChunkRejected(409, f"chunk {seq} at {sample_rate} Hz, the track is at {metas[0].sample_rate} Hz",
                                    nxt)
            samples = np.frombuffer(body, "<f4")
            if not np.all(np.isfinite(samples)):
                raise ChunkRejected(400, f"{self.what} {seq} holds samples that are not finite numbers", nxt)
            self.folder.mkdir(parents=True, exist_ok=True)
            meta = ChunkMeta(seq, sample_start, n, sample_rate, float(client_ms), digest, float(received_ms))
            pcm = self.folder / f"{seq:08d}.pcm"
            pcm.write_bytes(body)
            tmp = self.folder / f".{seq:08d}.json.tmp"
            tmp.write_text(json.dumps(meta.to_dict()))
            os.replace(tmp, self.folder / f"{seq:08d}.json")  # the chunk exists from here on
            metas.append(meta)
            return PutResult("stored", seq + 1, self._count(metas))

    def _count(self, metas: list[ChunkMeta]) -> int:
        if not self.contiguous:
            return sum(m.n_samples for m in metas)
        return metas[-1].sample_start + metas[-1].n_samples if metas else 0
