"""Mono diarization from models shipped inside PyPI wheels: who speaks when, on one channel.

The pipeline (docs/collapse.md says why each step is as it is):

1. **Speech**: the project's own voice activity detector (``twotrack.activity.detect``: silero VAD v6
   ONNX + energy refinement) on the mono mix, 10 ms frames.
2. **Embeddings**: the speech frames are joined (silences cut out, as the encoder was trained on
   speech), and a window of ``window_s`` of speech every ``step_s`` is embedded by the GE2E voice
   encoder (``encoder``: weights from the Resemblyzer wheel, run in numpy).
3. **Clustering**: spectral clustering of the windows' cosine affinity (each window keeps its strongest
   links; k-means on the Laplacian's first eigenvectors) into ``n_speakers`` groups; with the number
   unknown it is estimated from the eigengap of the same Laplacian. (Average-linkage agglomerative
   clustering is the alternative, ``clustering="ahc"``; spectral did better on the AMI excerpts.)
4. **Resegmentation at 10 ms**: each speech frame scores every speaker by the cosine similarity of
   the windows that hold it to that speaker's centroid, weighted by a Hann taper over the window
   (the window's centre counts most); the frame takes the best speaker. Label runs shorter than
   ``min_run_s`` that sit inside one stretch of speech take their neighbour's label.

One speaker per frame by default: the pipeline has no overlap detector, so while two people talk at
once it hears only one of them. That is a limit of this pipeline (overlap is most mono diarizers'
strongest source of error); the scorer reports it rather than hiding it. ``overlap_margin`` > 0 adds
a crude guess: where two speakers' frame scores are nearly tied (around speaker changes) both are
marked; docs/collapse.md gives what that trades (overlaps found against false alarms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..config import ActivityConfig
from ..model import FRAMES, Segment
from ..timeline import mask_to_segments
from ..voice import encoder as enc
from ..voice.windows import unit, window_starts, windows_at


@dataclass(frozen=True)
class DiarizeConfig:
    """Settings of the mono diarization pipeline (seconds, never frames)."""

    window_s: float = 1.5  # speech per embedding window (the encoder was trained on 1.6 s)
    step_s: float = 0.5  # hop between windows (over speech only)
    min_run_s: float = 0.3  # a speaker run shorter than this inside continuous speech is smoothed away
    max_speakers: int = 8  # upper bound when the number of speakers is estimated
    max_cluster_windows: int = 1500  # clustering runs on at most this many windows (the rest are assigned)
    clustering: str = "spectral"  # or "ahc" (average-linkage agglomerative, cosine)
    refine_rounds: int = 0  # nearest-centroid reassignment rounds after the clustering
    affinity_keep: float = 0.2  # spectral / eigengap: each window keeps its strongest this share of links
    overlap_margin: float = 0.0  # > 0: a frame whose second-best speaker scores within this of the best
    #                              gets both speakers (a crude overlap guess at speaker changes; 0 = off)
    activity: ActivityConfig = field(default_factory=ActivityConfig)

    def __post_init__(self):
        if not (0 < self.step_s <= self.window_s):
            raise ValueError(f"diarize: need 0 < step_s <= window_s, got {self.step_s}, {self.window_s}")
        if self.max_speakers < 1:
            raise ValueError("diarize: max_speakers must be >= 1")
        if not self.overlap_margin >= 0:
            raise ValueError(f"diarize: overlap_margin must be >= 0, got {self.overlap_margin}")


@dataclass(frozen=True, eq=False)
class Diarization:
    """The diarizer's answer on the 10 ms grid: ``labels[i]`` is frame i's speaker (-1: no speech)."""

    labels: np.ndarray  # int64 (n_frames,)
    n_speakers: int
    n_windows: int = 0
    estimated: bool = False  # True when the number of speakers was estimated, not given
    second: np.ndarray | None = None  # int64 (n_frames,): a second, overlapping speaker (-1: none)

    @property
    def n_frames(self) -> int:
        return int(self.labels.size)

    @property
    def speech(self) -> np.ndarray:
        return self.labels >= 0

    def masks(self) -> np.ndarray:
        """bool (n_speakers, n_frames): one activity lane per diarized speaker."""
        ids = np.arange(self.n_speakers)[:, None]
        out = self.labels[None, :] == ids
        if self.second is not None:
            out |= self.second[None, :] == ids
        return out

    def segments(self) -> list[tuple[str, Segment]]:
        """``(label, segment)`` in time order; labels are ``S0``, ``S1``, ..."""
        out = [(f"S{k}", seg) for k, m in enumerate(self.masks()) for seg in mask_to_segments(m)]
        return sorted(out, key=lambda item: (item[1].start, item[0]))


# --------------------------------------------------------------------------------------------
# Clustering
# --------------------------------------------------------------------------------------------


def _laplacian_spectrum(emb: np.ndarray, keep: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of the normalised Laplacian of the windows' pruned cosine affinity.

    Each window keeps only its strongest ``keep`` share of links (so the matrix is close to block
    diagonal, one block per speaker); the pruned matrix is symmetrised."""
    x = unit(np.asarray(emb, np.float64))
    n = len(x)
    aff = np.clip(x @ x.T, 0.0, 1.0)
    np.fill_diagonal(aff, 0.0)
    k = min(n - 1, max(2, int(np.ceil(keep * n))))
    cut = np.partition(aff, n - k, axis=1)[:, n - k][:, None]
    pruned = np.where(aff >= cut, aff, 0.0)
    sym = 0.5 * (pruned + pruned.T)
    inv = 1.0 / np.sqrt(np.maximum(sym.sum(axis=1), 1e-12))
    return np.linalg.eigh(np.eye(n) - inv[:, None] * sym * inv[None, :])


def estimate_speakers(emb: np.ndarray, max_speakers: int = 8, keep: float = 0.2) -> int:
    """Number of speakers: where the largest gap among the smallest ``max_speakers + 1`` eigenvalues of
    the affinity's normalised Laplacian falls (one near-zero eigenvalue per well-separated group)."""
    n = len(emb)
    if n < 3:
        return 1
    vals, _ = _laplacian_spectrum(emb, keep)
    top = min(max_speakers, n - 1)
    return int(np.argmax(np.diff(vals[: top + 1])) + 1)


def cluster(emb: np.ndarray, n_speakers: int, keep: float = 0.2, method: str = "spectral",
            refine_rounds: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels (n,) and unit centroids (n_speakers, d) of embeddings.

    ``spectral``: k-means (best of 10 seeded k-means++ starts) on the rows of the first ``n_speakers``
    eigenvectors of the pruned affinity's Laplacian. ``ahc``: average-linkage agglomerative clustering
    on cosine distance. Either may be followed by nearest-centroid reassignment rounds."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.cluster.vq import kmeans2

    x = unit(np.asarray(emb, np.float64))
    n = len(x)
    k = max(1, min(int(n_speakers), n))
    if k == 1 or n < 3:
        labels = np.zeros(n, np.int64) if k == 1 else np.arange(n, dtype=np.int64) % k
    elif method == "spectral":
        _, vecs = _laplacian_spectrum(x, keep)
        rows = unit(vecs[:, :k])
        best = None
        for seed in range(10):
            cent, lab = kmeans2(rows, k, seed=seed, minit="++")
            inertia = float(np.sum((rows - cent[lab]) ** 2))
            if best is None or inertia < best[0]:
                best = (inertia, lab)
        labels = best[1].astype(np.int64)
    elif method == "ahc":
        labels = fcluster(linkage(x, method="average", metric="cosine"), t=k, criterion="maxclust") - 1
        labels = labels.astype(np.int64)
    else:
        raise ValueError(f"unknown clustering method {method!r} (spectral or ahc)")
    for _ in range(max(0, refine_rounds)):
        new = np.argmax(x @ _centroids(x, labels, k).T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
    labels = _relabel_by_onset(labels)
    return labels, _centroids(x, labels, k)


def _centroids(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    sums = np.zeros((k, x.shape[1]))
    np.add.at(sums, labels, x)
    empty = ~np.any(sums, axis=1)
    sums[empty] = -1.0  # an emptied cluster attracts nothing
    return unit(sums)


def _relabel_by_onset(labels: np.ndarray) -> np.ndarray:
    """Speaker numbers in order of first appearance (S0 speaks first)."""
    _, first = np.unique(labels, return_index=True)
    order = labels[np.sort(first)]
    remap = np.full(max(int(labels.max(initial=0)) + 1, 1), -1, np.int64)
    remap[order] = np.arange(len(order))
    return remap[labels]


# --------------------------------------------------------------------------------------------
# Resegmentation
# --------------------------------------------------------------------------------------------


def frame_scores(sim: np.ndarray, starts: np.ndarray, length: int, n: int) -> np.ndarray:
    """Per-frame speaker scores (n, K): the Hann-weighted mean of ``sim`` (n_windows, K) over the
    windows ``[start, start + length)`` that hold each frame."""
    from scipy.signal import oaconvolve

    taper = np.hanning(length + 2)[1:-1]
    impulses = np.zeros((n, sim.shape[1]))
    np.add.at(impulses, starts, sim)
    hits = np.zeros(n)
    np.add.at(hits, starts, 1.0)
    num = oaconvolve(impulses, taper[:, None], axes=0)[:n]
    den = np.convolve(hits, taper)[:n]
    return num / np.maximum(den, 1e-9)[:, None]


def smooth_labels(labels: np.ndarray, min_run: int) -> np.ndarray:
    """Label runs shorter than ``min_run`` frames that have speech on both sides (no silence between)
    take the label of the run before them; labels of -1 (no speech) are never changed."""
    out = labels.copy()
    if min_run <= 1 or out.size == 0:
        return out
    change = np.flatnonzero(np.diff(out) != 0) + 1
    starts = np.concatenate(([0], change))
    stops = np.concatenate((change, [out.size]))
    vals = out[starts]
    inner = np.zeros(len(starts), bool)
    inner[1:-1] = (vals[1:-1] >= 0) & (vals[:-2] >= 0) & (vals[2:] >= 0)
    short = inner & ((stops - starts) < min_run)
    # the label before each short run, following chains of short runs back to a kept one
    keep_idx = np.where(~short, np.arange(len(starts)), -1)
    keep_idx = np.maximum.accumulate(keep_idx)
    new_vals = np.where(short, vals[np.maximum(keep_idx, 0)], vals)
    return np.repeat(new_vals, stops - starts)


# --------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------


def _to_16k(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate == enc.SAMPLE_RATE:
        return np.asarray(mono, np.float32)
    import soxr

    return soxr.resample(np.asarray(mono, np.float32), sample_rate, enc.SAMPLE_RATE).astype(np.float32)


#: Windows gathered and embedded at a time: a whole recording's windows copied at once (150 x 40 float32
#: each) grew by 150 MB an hour of speech. A multiple of the encoder's batch, so the batches are unchanged.
EMBED_CHUNK = 1024


def embed_windows(speech_mel: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Unit embeddings float32 (len(starts), 256) of the windows ``[s, s + length)`` of ``speech_mel``,
    gathered ``EMBED_CHUNK`` at a time (the same numbers as embedding them all in one call)."""
    encoder = enc.load_encoder()
    out = np.empty((len(starts), encoder.w_out.shape[1]), np.float32)
    for a in range(0, len(starts), EMBED_CHUNK):
        out[a:a + EMBED_CHUNK] = encoder.embed(windows_at(speech_mel, starts[a:a + EMBED_CHUNK], length))
    return out


def _nothing_to_label(speech: np.ndarray, n_speakers: int | None) -> Diarization | None:
    """The answer without any audio read when there is none to find (no speech frame), after checking
    ``n_speakers``; else None. Asked before the mel frames are made, which is the costly part."""
    if n_speakers is not None and n_speakers < 1:
        raise ValueError(f"n_speakers must be >= 1, got {n_speakers}")
    if speech.any():
        return None
    return Diarization(np.full(speech.size, -1, np.int64), n_speakers or 0, 0, n_speakers is None)


def diarize_mask(mono: np.ndarray, sample_rate: int, speech: np.ndarray, n_speakers: int | None = None,
                 cfg: DiarizeConfig = DiarizeConfig()) -> Diarization:
    """Speaker labels of the speech frames ``speech`` (bool, 10 ms grid) of ``mono`` audio."""
    speech = np.asarray(speech, bool)
    empty = _nothing_to_label(speech, n_speakers)
    if empty is not None:
        return empty
    return diarize_mel(enc.mel_spectrogram(enc.normalise_volume(_to_16k(mono, sample_rate))), speech, n_speakers,
                       cfg)


def diarize_mel(mel: np.ndarray, speech: np.ndarray, n_speakers: int | None = None,
                cfg: DiarizeConfig = DiarizeConfig(), *, speech_rows: bool = False) -> Diarization:
    """Speaker labels of the speech frames ``speech`` (bool, 10 ms grid) from the encoder's mel frames
    ``mel`` float32 (n, 40) of the volume-normalised audio (``encoder.mel_spectrogram``). ``speech_rows``:
    ``mel`` holds the rows of the speech frames only, in order (``mel_normalised(rows=)``)."""
    speech = np.asarray(speech, bool)
    empty = _nothing_to_label(speech, n_speakers)
    if empty is not None:
        return empty
    n_frames = speech.size
    idx = np.flatnonzero(speech)
    labels = np.full(n_frames, -1, np.int64)
    if speech_rows:
        if mel.shape[0] != idx.size:
            raise ValueError(f"{mel.shape[0]} mel rows for {idx.size} speech frames")
        speech_mel = mel
    else:
        if mel.shape[0] < n_frames:
            mel = np.concatenate([mel, np.zeros((n_frames - mel.shape[0], enc.N_MELS), np.float32)])
        speech_mel = mel[idx]  # silences cut out

    length = max(1, int(round(cfg.window_s / FRAMES.hop_s)))
    step = max(1, int(round(cfg.step_s / FRAMES.hop_s)))
    length = min(length, idx.size)
    starts = window_starts(idx.size, length, step)
    emb = embed_windows(speech_mel, starts, length)

    # Cluster a bounded, evenly spread subset; every window then goes to its nearest centroid.
    pick = np.unique(np.linspace(0, len(emb) - 1, min(len(emb), cfg.max_cluster_windows)).round().astype(int))
    k = n_speakers if n_speakers is not None else estimate_speakers(emb[pick], cfg.max_speakers, cfg.affinity_keep)
    _, cent = cluster(emb[pick], k, cfg.affinity_keep, cfg.clustering, cfg.refine_rounds)
    k = cent.shape[0]

    sim = unit(emb.astype(np.float64)) @ cent.T
    scores = frame_scores(sim, starts, length, idx.size)
    labels[idx] = np.argmax(scores, axis=1)
    labels = smooth_labels(labels, int(round(cfg.min_run_s / FRAMES.hop_s)))
    second = None
    if cfg.overlap_margin > 0 and k >= 2:
        order = np.argsort(scores, axis=1)
        best, runner = order[:, -1], order[:, -2]
        close = np.take_along_axis(scores, best[:, None], 1)[:, 0] - np.take_along_axis(scores, runner[:, None], 1)[:, 0]
        second = np.full(n_frames, -1, np.int64)
        tied = close < cfg.overlap_margin
        # the overlapping speaker is whichever of the two the (smoothed) label is not
        other = np.where(labels[idx] == best, runner, best)
        second[idx[tied]] = other[tied]
    return Diarization(labels, k, len(starts), n_speakers is None, second)


def diarize_mono(mono: np.ndarray, sample_rate: int, n_speakers: int | None = None,
            cfg: DiarizeConfig = DiarizeConfig()) -> Diarization:
    """Who speaks when in mono audio (float32 (n,), 8 or 16 kHz or any rate soxr can resample).

    ``n_speakers`` None estimates the number (eigengap); a dyadic recording passes 2."""
    from ..activity import detect

    mono = np.asarray(mono, np.float32)
    if mono.ndim != 1:
        raise ValueError(f"mono audio is 1-D, got shape {mono.shape}")
    vad = detect(mono, sample_rate, cfg.activity)
    return diarize_mask(mono, sample_rate, vad.mask, n_speakers, cfg)


def mel_normalised(blocks: Iterable[np.ndarray], sample_rate: int, n_frames: int,
                   rows: np.ndarray | None = None) -> np.ndarray:
    """float32 (n_frames, 40): ``encoder.mel_spectrogram(normalise_volume(audio at 16 kHz))`` of mono blocks
    float32 (1, n), read once; ``rows`` (sorted frame indices): only those frames' rows, (len(rows), 40).
    Each block's frames go straight to their rows, so nothing but the answer grows with length. The volume
    gain is one number for the whole recording, known only at the end: the mel power of the raw audio is
    scaled by its square then (power is quadratic in the gain)."""
    from ..activity.ownvoice import MelStream
    from ..activity.tap import Resampler

    rows = np.arange(n_frames) if rows is None else np.asarray(rows, np.int64)
    out = np.zeros((rows.size, enc.N_MELS), np.float32)  # frames the audio never reaches stay zero
    resampler = Resampler(1, sample_rate, enc.SAMPLE_RATE)
    mel = MelStream(1, enc.SAMPLE_RATE)
    sumsq, count, pos = 0.0, 0, 0

    def push(x: np.ndarray, last: bool = False) -> None:
        nonlocal sumsq, count, pos
        sumsq += float(np.sum(np.square(x, dtype=np.float64)))
        count += x.shape[1]
        mel.push(x, last=last)
        for part in mel.parts:  # (1, m, 40): frames pos .. pos + m
            a, b = np.searchsorted(rows, [pos, pos + part.shape[1]])
            out[a:b] = part[0, rows[a:b] - pos]
            pos += part.shape[1]
        mel.parts.clear()

    for block in blocks:
        push(resampler.feed(np.asarray(block, np.float32)))
    push(resampler.feed(np.zeros((1, 0), np.float32), last=True), last=True)
    rms = float(np.sqrt(sumsq / count)) if count else 0.0
    if rms > 0.0:
        gain_db = enc.NORM_TARGET_DBFS - 20.0 * np.log10(rms)
        if gain_db > 0:  # normalise_volume raises, never lowers
            out *= np.float32(10.0 ** (gain_db / 10.0))
    return out


def diarize_stream(blocks: Callable[[], Iterable[np.ndarray]], sample_rate: int, n_speakers: int | None = None,
                   cfg: DiarizeConfig = DiarizeConfig()) -> Diarization:
    """``diarize_mono`` of mono audio given as blocks float32 (1, n): ``blocks()`` reads them from the
    start, once for the voice activity (again when its refiner asks) and once for the mel frames, so no
    array of the recording's length in samples is held (docs/memory.md)."""
    from ..activity import detect_stream

    vad = detect_stream(blocks(), sample_rate, cfg.activity, reread=blocks)[0]
    empty = _nothing_to_label(vad.mask, n_speakers)
    if empty is not None:
        return empty
    idx = np.flatnonzero(vad.mask)
    return diarize_mel(mel_normalised(blocks(), sample_rate, vad.mask.size, idx), vad.mask, n_speakers, cfg,
                       speech_rows=True)

