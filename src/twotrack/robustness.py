"""The activity robustness set: the sample dialogues under noise, codecs, level and speed changes.

Evaluation-side material (docs/activity.md, "Robustness"): pure functions that degrade two-track audio
and move its gold word times with it, plus ``build_conditions`` that makes every condition of one
dialogue. The benchmark (benchmarks/bench_activity_robust.py) and the tests both build the set from here,
so there is one definition of each condition; scoring is ``twotrack.evaluate`` (one scorer).

Conditions (names are stable; the table in the docs uses them):

- ``clean``: the clean 16 kHz rendition as it is;
- ``pink_{20,10,5}``, ``babble_{20,10,5}``, ``music_{20,10,5}``: noise added to each track
  independently (each side has its own room) at that SNR against the track's *active speech level*
  (mean power over its gold words), 16 kHz. Pink: 1/f noise. Babble: the sum of six tracks of the
  *other* sample dialogues at random shifts (other people talking in the room; never this dialogue's
  speakers at these times). Music-like: synthetic tonal chords (harmonic notes, 0.3-1.2 s each, attack
  and decay, a bass line), a stand-in for background music that shares speech's harmonic structure;
- ``opus_{12,24}``: each track encoded as its own mono Opus stream through libsndfile (soundfile) at
  that nominal bitrate (the compression level that gives it on white noise, ``codec_level``), decoded,
  re-aligned (codec delay removed by cross-correlation: a constant delay is the codec's, not the
  detector's); 16 kHz;
- ``mp3_32``: MPEG-1/2 layer III at 32 kbps constant bitrate through libsndfile (LAME), 16 kHz;
- ``alaw``, ``gsm``: the narrowband telephone path: resampled to 8 kHz (soxr), band-limited to
  300-3400 Hz, then G.711 A-law (``ingest.g711``) or GSM 06.10 full rate (13 kbps, libsndfile's
  ``GSM610``); evaluated at 8 kHz;
- ``quiet_b``: track B 20 dB quieter (its speakers still clean; track A unchanged);
- ``speed_{0.9,1.1}``: resampled with soxr so the audio plays 10 % slower / faster (tempo and pitch
  together, as a speed-perturbed corpus does); the gold times are scaled with it;
- ``echo_33``: each track carries the other track's signal (telephone band) 180 ms late and 33 dB down
  over the middle half of the call (``add_echo``): a network echo that an echo canceller lets through
  for a while, what a file-level bleed estimate misses (seen on a real Fisher call).

Every condition is deterministic (seeded by the condition and dialogue names).
"""

from __future__ import annotations

import functools
import io
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .model import Word

SNRS = (20, 10, 5)
NOISES = ("pink", "babble", "music")
CODECS = ("opus_12", "opus_24", "mp3_32", "alaw", "gsm")
CONDITIONS = ("clean", *(f"{k}_{s}" for k in NOISES for s in SNRS), *CODECS, "quiet_b", "speed_0.9", "speed_1.1",
              "echo_33")
#: The late echo of ``echo_33``: delay (s), and the stretch of the call it covers (fractions of its length).
ECHO_DELAY_S = 0.18
ECHO_SPAN = (0.3, 0.8)


@dataclass(frozen=True)
class Dialogue:
    """Two-track audio float32 (n_tracks, n) at ``rate`` with its gold words (track 0 = channel A)."""

    id: str
    tracks: np.ndarray
    rate: int
    words: tuple[Word, ...]

    @property
    def duration_s(self) -> float:
        return self.tracks.shape[1] / self.rate


def load_dialogues(clean_dir: str | Path, gold_dir: str | Path) -> list[Dialogue]:
    """Every ``*.flac`` of ``clean_dir`` with the CTM of the same stem in ``gold_dir``."""
    import soundfile as sf

    from .ingest.annotations import read_ctm

    out = []
    for path in sorted(Path(clean_dir).glob("*.flac")):
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
        words = read_ctm(Path(gold_dir) / f"{path.stem}.ctm")
        out.append(Dialogue(path.stem, np.ascontiguousarray(audio.T), int(rate), tuple(words)))
    return out


def _rng(*names: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("/".join(names).encode()))


# ------------------------------------------------------------------------------------------------
# Levels and noises
# ------------------------------------------------------------------------------------------------


def speech_power(track: np.ndarray, rate: int, words: Iterable[Word]) -> float:
    """Mean power of ``track`` over the spans of ``words`` (the active speech level)."""
    mask = np.zeros(track.size, bool)
    for w in words:
        mask[int(w.start * rate) : int(np.ceil(w.end * rate))] = True
    x = track[mask] if mask.any() else track
    return float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-power 1/f noise (white noise shaped in the frequency domain)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    spec /= np.sqrt(np.maximum(f, 1.0))
    x = np.fft.irfft(spec, n)
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def babble_noise(n: int, sources: Sequence[np.ndarray], rng: np.random.Generator, talkers: int = 6) -> np.ndarray:
    """Unit-power babble: ``talkers`` speech tracks from ``sources`` (other recordings), each at a random
    circular shift, tiled to ``n`` samples and summed."""
    if not sources:
        raise ValueError("babble needs other speech")
    out = np.zeros(n, np.float64)
    for k in range(talkers):
        src = np.asarray(sources[k % len(sources)], np.float64)
        src = src / np.sqrt(np.mean(src**2) + 1e-20)
        src = np.roll(src, int(rng.integers(src.size)))
        out += np.resize(src, n)
    return (out / np.sqrt(np.mean(out**2) + 1e-20)).astype(np.float32)


def music_noise(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-power music-like noise: a sequence of chords (three harmonic notes from a major or minor
    triad plus a bass note), 0.3-1.2 s each, with a short attack and an exponential decay."""
    t_all = np.arange(n) / rate
    out = np.zeros(n, np.float64)
    pos = 0
    while pos < n:
        dur = int(rng.uniform(0.3, 1.2) * rate)
        root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
        third = 4 if rng.random() < 0.5 else 3
        notes = [root * 2 ** (s / 12) * 2 for s in (0, third, 7)] + [root / 2]
        t = t_all[: min(dur, n - pos)]
        env = np.minimum(t / 0.02, 1.0) * np.exp(-t / rng.uniform(0.3, 1.0))
        seg = np.zeros(t.size)
        for f0 in notes:
            for h in range(1, 6):
                if f0 * h < rate / 2:
                    seg += np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi)) / h
        out[pos : pos + t.size] += seg * env
        pos += t.size
    return (out / np.sqrt(np.mean(out**2) + 1e-20)).astype(np.float32)


def add_noise(tracks: np.ndarray, noises: np.ndarray, snr_db: float, speech_powers: Sequence[float]) -> np.ndarray:
    """``tracks`` + each track's unit-power noise scaled to ``snr_db`` below its speech power."""
    out = np.array(tracks, np.float32)
    for i in range(out.shape[0]):
        gain = np.sqrt(speech_powers[i] / 10 ** (snr_db / 10))
        out[i] += (gain * noises[i]).astype(np.float32)
    return out


# ------------------------------------------------------------------------------------------------
# Codecs
# ------------------------------------------------------------------------------------------------


def align_to(decoded: np.ndarray, reference: np.ndarray, max_lag: int) -> np.ndarray:
    """``decoded`` shifted by the lag (|lag| <= max_lag samples) that best correlates it with
    ``reference``, cut or zero-padded to the reference's length."""
    n = reference.size
    a = np.zeros(n + 2 * max_lag, np.float64)
    m = min(decoded.size, a.size)
    a[:m] = decoded[:m]
    size = 1 << int(np.ceil(np.log2(a.size + n)))
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(reference, size)), size)
    lags = np.r_[corr[: 2 * max_lag + 1]]  # decoded later than the reference by 0..2*max_lag
    lag = int(np.argmax(lags))
    out = np.zeros(n, np.float32)
    seg = decoded[lag : lag + n]
    out[: seg.size] = seg
    return out


def _sf_roundtrip(x: np.ndarray, rate: int, fmt: str, subtype: str, level: float | None = None
                  ) -> tuple[np.ndarray, int]:
    """(decoded float32, encoded bytes) of one mono track through libsndfile."""
    import soundfile as sf

    buf = io.BytesIO()
    kw = {} if level is None else {"compression_level": level}
    if fmt == "MP3":
        kw["bitrate_mode"] = "CONSTANT"
    sf.write(buf, np.clip(x, -1, 1), rate, format=fmt, subtype=subtype, **kw)
    size = buf.tell()
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float32")
    return y, size


def _noise_kbps(fmt: str, subtype: str, rate: int, level: float) -> float:
    """Bitrate of white noise (which takes the whole bitrate the encoder is allowed) at ``level``: the
    size difference of 4 s and 1 s of it over 3 s, so the container's headers do not count."""
    noise = (np.random.default_rng(0).standard_normal(4 * rate) * 0.1).astype(np.float32)
    long = _sf_roundtrip(noise, rate, fmt, subtype, level)[1]
    short = _sf_roundtrip(noise[:rate], rate, fmt, subtype, level)[1]
    return (long - short) * 8 / 3.0 / 1000


@functools.lru_cache(maxsize=16)
def codec_level(fmt: str, subtype: str, rate: int, kbps: float) -> float:
    """libsndfile's compression level that encodes at ``kbps`` nominal (speech with pauses then takes
    less). The bitrate falls as the level rises: bisection for Opus; MP3's bitrates are steps, so the
    middle of the levels that give it within 10 %."""
    if fmt == "MP3":
        levels = np.round(np.arange(0.0, 0.995, 0.01), 2)
        got = np.array([_noise_kbps(fmt, subtype, rate, float(lv)) for lv in levels])
        near = np.flatnonzero(np.abs(got - kbps) <= 0.1 * kbps)
        return float(levels[near[near.size // 2]] if near.size else levels[np.argmin(np.abs(got - kbps))])
    lo, hi = 0.0, 0.999
    for _ in range(10):
        mid = (lo + hi) / 2
        if _noise_kbps(fmt, subtype, rate, mid) > kbps:
            lo = mid
        else:
            hi = mid
    return round((lo + hi) / 2, 4)


def codec_track(x: np.ndarray, rate: int, codec: str) -> tuple[np.ndarray, int, float]:
    """One mono track through ``codec`` (see module doc) -> (decoded float32, its rate, kbps of the
    encoded file: below the nominal rate where the encoder saves bits in pauses)."""
    from .ingest.g711 import ALAW_TO_LINEAR, linear_to_alaw
    from .ingest.resample import resample

    x = np.asarray(x, np.float32)
    if codec in ("alaw", "gsm"):
        y8 = bandpass(resample(x, rate, 8000) if rate != 8000 else x, 8000)
        if codec == "alaw":
            codes = linear_to_alaw(np.round(np.clip(y8, -1, 1) * 32767).astype(np.int32))
            return (ALAW_TO_LINEAR[codes] / 32768.0).astype(np.float32), 8000, 64.0
        y, size = _sf_roundtrip(y8, 8000, "WAV", "GSM610")
        return align_to(y, y8, 400), 8000, size * 8 / (y8.size / 8000) / 1000
    kind, kbps = codec.split("_")
    fmt, subtype = {"opus": ("OGG", "OPUS"), "mp3": ("MP3", "MPEG_LAYER_III")}[kind]
    y, size = _sf_roundtrip(x, rate, fmt, subtype, codec_level(fmt, subtype, rate, float(kbps)))
    return align_to(y, x, int(0.1 * rate)), rate, size * 8 / (x.size / rate) / 1000


def bandpass(x: np.ndarray, rate: int, lo: float = 300.0, hi: float = 3400.0) -> np.ndarray:
    """The telephone band (FFT mask with 100 Hz raised-cosine ramps)."""
    spec = np.fft.rfft(np.asarray(x, np.float64))
    f = np.fft.rfftfreq(x.size, 1 / rate)
    ramp = lambda d: np.clip(0.5 - 0.5 * np.cos(np.pi * np.clip(d / 100.0, 0, 1)), 0, 1)  # noqa: E731
    gain = ramp(f - (lo - 100)) * ramp((hi + 100) - f)
    return np.fft.irfft(spec * gain, x.size).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# Conditions
# ------------------------------------------------------------------------------------------------


def add_echo(tracks: np.ndarray, rate: int, level_db: float, delay_s: float = ECHO_DELAY_S,
             span: tuple[float, float] = ECHO_SPAN) -> np.ndarray:
    """Each track plus the other track's signal (telephone band) ``delay_s`` late at ``level_db``, over
    the ``span`` of the call with 2 s fades: a network echo that an echo canceller lets through for a
    while, the kind a file-level bleed estimate misses (two tracks)."""
    n = tracks.shape[1]
    k = int(round(delay_s * rate))
    gain = np.zeros(n, np.float32)
    a, b = int(span[0] * n), int(span[1] * n)
    fade = min(int(2 * rate), (b - a) // 2)
    gain[a:b] = 1.0
    gain[a : a + fade] = np.linspace(0.0, 1.0, fade)
    gain[b - fade : b] = np.linspace(1.0, 0.0, fade)
    gain *= np.float32(10 ** (level_db / 20))
    out = tracks.copy()
    for target, source in ((0, 1), (1, 0)):
        late = np.zeros(n, np.float32)
        late[k:] = bandpass(tracks[source], rate)[: n - k]
        out[target] += late * gain
    return out


@dataclass(frozen=True)
class Condition:
    """One degraded rendition of a dialogue: audio float32 (n_tracks, n) at ``rate`` and its gold."""

    name: str
    dialogue: str
    tracks: np.ndarray
    rate: int
    words: tuple[Word, ...]
    note: str = ""

    @property
    def duration_s(self) -> float:
        return self.tracks.shape[1] / self.rate


def _scaled_words(words: Iterable[Word], factor: float) -> tuple[Word, ...]:
    return tuple(replace(w, start=w.start * factor, end=w.end * factor) for w in words)


def make_condition(d: Dialogue, name: str, others: Sequence[Dialogue] = (), realisation: int = 0) -> Condition:
    """Condition ``name`` (one of ``CONDITIONS``) of dialogue ``d``; babble takes its talkers from
    ``others`` (other dialogues). ``realisation`` > 0 draws another noise of the same kind (other seeds:
    more material to tune on than one fixed noise per dialogue); 0 is the benchmark's set."""
    x, rate = d.tracks, d.rate
    n_tracks, n = x.shape
    by_track = [[w for w in d.words if w.track == t] for t in range(n_tracks)]
    if name == "clean":
        return Condition(name, d.id, x.copy(), rate, d.words)
    kind, _, arg = name.rpartition("_")
    if kind in NOISES:
        snr = float(arg)
        rng = _rng(name, d.id) if realisation == 0 else _rng(name, d.id, str(realisation))
        if kind == "pink":
            noises = np.stack([pink_noise(n, rng) for _ in range(n_tracks)])
        elif kind == "babble":
            sources = [o.tracks[t] for o in others if o.id != d.id for t in range(o.tracks.shape[0])]
            noises = np.stack([babble_noise(n, sources, rng) for _ in range(n_tracks)])
        else:
            noises = np.stack([music_noise(n, rate, rng) for _ in range(n_tracks)])
        powers = [speech_power(x[t], rate, by_track[t]) for t in range(n_tracks)]
        return Condition(name, d.id, add_noise(x, noises, snr, powers), rate, d.words, f"{snr:g} dB SNR per track")
    if name in CODECS:
        outs = [codec_track(x[t], rate, name) for t in range(n_tracks)]
        kbps = np.mean([o[2] for o in outs])
        return Condition(name, d.id, np.stack([o[0] for o in outs]), outs[0][1], d.words,
                         f"{kbps:.1f} kbps per track")
    if name == "quiet_b":
        y = x.copy()
        y[1] *= 10 ** (-20 / 20)
        return Condition(name, d.id, y, rate, d.words, "track B -20 dB")
    if kind == "speed":
        from .ingest.resample import resample

        factor = float(arg)
        # read at rate*factor samples per second of source, played at rate: `factor` times faster
        y = np.stack([resample(x[t], int(round(rate * factor)), rate) for t in range(n_tracks)])
        return Condition(name, d.id, y.astype(np.float32), rate, _scaled_words(d.words, 1 / factor),
                         f"tempo and pitch x{factor:g}")
    if kind == "echo":
        return Condition(name, d.id, add_echo(x, rate, -float(arg)), rate, d.words,
                         f"other side {arg} dB down, {ECHO_DELAY_S * 1000:g} ms late, mid-call")
    raise ValueError(f"unknown robustness condition {name!r} (known: {', '.join(CONDITIONS)})")


def build_conditions(dialogues: Sequence[Dialogue], names: Iterable[str] = CONDITIONS) -> Iterable[Condition]:
    """Every named condition of every dialogue (generated lazily, one at a time)."""
    for name in names:
        for d in dialogues:
            yield make_condition(d, name, dialogues)


# ------------------------------------------------------------------------------------------------
# Scoring (twotrack.evaluate: the one scorer)
# ------------------------------------------------------------------------------------------------

#: Tune / report halves by dialogue: demo02's two speakers occur in no other sample dialogue, so the
#: report half is speaker-disjoint from the tune half (demo01 and demo03 share speaker 367).
TUNE = ("demo01_367_1688", "demo03_2609_367")
REPORT = ("demo02_3080_2033",)


def detect_condition(cond: Condition, cfg=None) -> list:
    """``activity.detect_tracks`` + ``to_activity`` of one condition (list of ``TrackActivity``)."""
    from .activity import detect_tracks, to_activity
    from .config import ActivityConfig

    cfg = cfg or ActivityConfig()
    return to_activity(detect_tracks(cond.tracks, cond.rate, cfg), cfg.detector)


def score(results: Sequence[tuple[Condition, list]], track: int | None = None) -> dict:
    """``evaluate.evaluate_activity`` pooled over (condition, activity) pairs; ``track`` keeps one track
    (its gold words and its activity) only."""
    from .evaluate import evaluate_activity

    activity, gold, durations = {}, {}, {}
    for cond, act in results:
        key = f"{cond.name}/{cond.dialogue}"
        activity[key] = [a for a in act if track is None or a.track == track]
        gold[key] = [w for w in cond.words if track is None or w.track == track]
        durations[key] = cond.duration_s
    return evaluate_activity(activity, gold, durations)
