"""Paired files' audio on track A's clock, streamed: the re-timing helper (pure), the exports (their audio
against each other and against their alignments) and the explorer (peaks and audio of lane B).

Real data: tests/data/paired-with-bleed (B: +0.35 s offset, 60 ppm drift; each file holds the other
speaker at -30 dB, 2 ms late), scanned by the real scan; gold words from data/sample/gold."""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from twotrack.ingest.clock import (ClockFix, align_track_blocks, align_tracks, clock_status, own_span,
                                   retime_blocks, to_reference_clock)
from twotrack.model import CheckResult, Isolation, Layout

DATA = Path(__file__).parent / "data" / "paired-with-bleed"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
RID = "paired/demo02_3080_2033"
TRUTH = json.loads((DATA / "demo02_3080_2033.sync.json").read_text())


# ---------------------------------------------------------------------------------------------
# the helper, on a signal with a known clock
# ---------------------------------------------------------------------------------------------

def tones(t: np.ndarray) -> np.ndarray:
    """A band-limited signal (sum of tones under 3 kHz) defined at any time, for exact delayed copies."""
    rng = np.random.default_rng(7)
    f = rng.uniform(80, 3000, 24)
    ph = rng.uniform(0, 2 * np.pi, 24)
    return (np.sin(2 * np.pi * f[:, None] * t[None, :] + ph[:, None]).sum(axis=0) / 12).astype(np.float32)


def residual_lag(y: np.ndarray, ref_t: np.ndarray, sr: int) -> float:
    """Samples by which ``y`` lags ``tones`` at times ``ref_t`` (least squares over a 1/100-sample grid)."""
    taus = np.arange(-1.0, 1.0, 0.01)
    err = [np.mean((y - tones(ref_t - tau / sr)) ** 2) for tau in taus]
    return float(taus[int(np.argmin(err))])


@pytest.mark.parametrize("offset_ms,drift_ppm", [(350.0, 60.0), (-123.4, -45.0)])
def test_a_delayed_drifting_signal_comes_back_on_the_reference_clock(offset_ms, drift_ppm):
    sr, n = 8000, 8000 * 60
    fix = ClockFix(offset_ms, drift_ppm)
    own_t = np.arange(n) / sr
    ref_of_own = (own_t - fix.offset_s) / fix.scale  # t_own = offset + t_ref * (1 + drift)
    recorded = np.where(ref_of_own >= 0, tones(ref_of_own), 0).astype(np.float32)
    out = to_reference_clock(recorded, sr, fix.offset_s, fix.drift_ppm)
    lags = []
    for start_s in (2.0, 20.0, 40.0, 58.0):  # across the whole length: drift would show as a growing lag
        a, b = int(start_s * sr), int((start_s + 0.25) * sr)
        if ref_of_own[0] > start_s:  # a negative offset: the start has no audio of the track
            continue
        lags.append(residual_lag(out[a:b], np.arange(a, b) / sr, sr))
    # the whole-sample shift rounds the offset (<= 0.5 sample); drift leaves no trend
    assert max(abs(x) for x in lags) <= 0.55, lags
    assert max(lags) - min(lags) <= 0.05, lags
    # without the drift term the end would be off by 60 ppm x 58 s = 28 samples: the test can see drift
    streamed = np.concatenate(list(retime_blocks((recorded[i:i + 3001] for i in range(0, n, 3001)), sr,
                                                 fix.offset_s, fix.drift_ppm)))
    assert streamed.shape == out.shape and np.array_equal(streamed, out)


def test_blocks_of_tracks_equal_the_whole_array_and_regions_equal_the_whole_track():
    sr = 16000
    x = np.random.default_rng(3).standard_normal((2, sr * 40)).astype(np.float32)
    synced = CheckResult(Isolation.LEAKY, offset_ms=350.0, drift_ppm=60.0)
    whole, _ = align_tracks(x, sr, Layout.PAIRED, synced)
    fix = clock_status(Layout.PAIRED, synced, sr)[0]
    widths = [1000, 7777, 128000, 5]  # uneven block widths, as a decoder gives them
    blocks, pos, k = [], 0, 0
    while pos < x.shape[1]:
        blocks.append(x[:, pos:pos + widths[k % 4]])
        pos += widths[k % 4]
        k += 1
    out = list(align_track_blocks(iter(blocks), sr, fix))
    assert [b.shape for b in out] == [b.shape for b in blocks]  # each block keeps its width
    assert np.array_equal(np.concatenate(out, axis=1), whole)
    # a region re-timed from the own samples just before it (the explorer's seek) equals the whole track
    for first in (0, 3, sr * 7 + 11, sr * 33):
        own_first, local = own_span(fix, sr, first)
        region = np.concatenate(list(retime_blocks(
            (x[1, i:i + 4096] for i in range(own_first, x.shape[1], 4096)), sr, local.offset_s, local.drift_ppm,
            n_out=sr)))
        assert len(region) == sr
        want = whole[1, first:first + sr]
        assert np.abs(region[:len(want)] - want).max() < 2e-3, first  # white noise at unit power: -55 dB or better


def test_the_rule_is_align_tracks_rule_and_says_why_nothing_moved():
    sr = 8000
    assert clock_status(Layout.MULTICHANNEL, CheckResult(Isolation.LEAKY, offset_ms=350.0), sr)[0] is None
    fix, entry = clock_status(Layout.PAIRED, CheckResult(Isolation.ISOLATED), sr)
    assert fix is None and not entry["retimed"] and "no clock offset measured" in entry["reason"]
    tiny = CheckResult(Isolation.LEAKY, offset_ms=0.05, drift_ppm=0.5)  # under half a sample and 1 ppm
    assert clock_status(Layout.PAIRED, tiny, sr)[0] is None and align_tracks(np.zeros((2, 10), np.float32), sr,
                                                                            Layout.PAIRED, tiny)[1] is None
    fix, entry = clock_status(Layout.PAIRED, CheckResult(Isolation.LEAKY, offset_ms=350.0, drift_ppm=60.0), sr)
    assert entry["retimed"] and entry["offset_ms"] == 350.0 and entry["drift_ppm"] == 60.0
    assert align_tracks(np.zeros((2, 10), np.float32), sr, Layout.PAIRED,
                        CheckResult(Isolation.LEAKY, offset_ms=350.0, drift_ppm=60.0))[1] == fix.note()


# ---------------------------------------------------------------------------------------------
# a scanned workspace of the paired files with bleed
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bleed_ws(tmp_path_factory) -> Path:
    from twotrack.rights.ledger import Ledger, ledger_path
    from twotrack.run import scan

    root = tmp_path_factory.mktemp("paired-bleed")
    corpus = root / "corpus"
    corpus.mkdir()
    for side in ("A", "B"):
        shutil.copy(DATA / f"demo02_3080_2033.{side}.flac", corpus / f"demo02_3080_2033.{side}.flac")
    shutil.copy(SAMPLE / "gold" / "demo02_3080_2033.ctm", corpus / "demo02_3080_2033.ctm")
    with open(corpus / "manifest.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["recording_id", "path_a", "path_b", "speaker_a", "speaker_b", "license", "source_type",
                    "transcript"])
        w.writerow([RID, corpus / "demo02_3080_2033.A.flac", corpus / "demo02_3080_2033.B.flac", "libri-3080",
                    "libri-2033", "CC-BY-4.0", "two-track", corpus / "demo02_3080_2033.ctm"])
    ws = root / "ws"
    summary = scan([corpus / "manifest.csv"], ws, jobs=0)
    assert summary.scanned == 1 and not summary.errors, summary.to_dict()
    Ledger(ledger_path(ws)).import_file(SAMPLE / "consent.csv")
    return ws


def lag_ms(a: np.ndarray, b: np.ndarray, sr: int, reach_s: float = 1.0) -> float:
    """Lag of ``b`` behind ``a`` (ms) at the largest |cross-correlation| within +-reach."""
    n = len(a) + len(b)
    spec = np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n))
    cc = np.fft.irfft(spec, n)
    reach = int(reach_s * sr)
    lags = np.r_[np.arange(0, reach + 1), np.arange(-reach, 0)]
    vals = np.abs(np.r_[cc[:reach + 1], cc[-reach:]])
    return float(lags[int(np.argmax(vals))] / sr * 1000.0)


def envelope_lag_ms(x: np.ndarray, sr: int, spans: list[tuple[float, float]], reach_s: float = 1.0) -> float:
    """Lag (ms, 10 ms steps) at which the speech envelope of ``x`` best matches the mask of ``spans``."""
    hop = sr // 100
    n = len(x) // hop
    level = 10 * np.log10(np.mean(x[:n * hop].reshape(n, hop) ** 2, axis=1) + 1e-10)
    speech = (level > np.percentile(level, 30) + 20).astype(float)  # well above the floor: own speech, not bleed
    mask = np.zeros(n)
    for a, b in spans:
        mask[int(a * 100):int(b * 100)] = 1.0
    steps = int(reach_s * 100)
    score = [np.dot(np.roll(speech, -k), mask) for k in range(-steps, steps + 1)]
    return float((int(np.argmax(score)) - steps) * 10)


def test_the_scan_measured_the_clock_the_exports_and_explorer_use(bleed_ws):
    from twotrack.store import Workspace, queries

    checks = queries.checks(Workspace(bleed_ws), RID)
    assert abs(checks.offset_ms - TRUTH["offset_s"] * 1000) < 5 and abs(checks.drift_ppm - TRUTH["drift_ppm"]) < 5


def test_lhotse_export_puts_b_on_a_clock_and_supervisions_on_the_audio(bleed_ws, tmp_path):
    from twotrack.export import export
    from twotrack.export.audio import BytesSink, stream_pieces
    from twotrack.store import Workspace, queries

    out = tmp_path / "lhotse"
    summary = export(bleed_ws, out, "lhotse", "research-training")
    assert summary.exported == 1 and not summary.errors, summary.to_dict()
    state = json.loads((out / ".twotrack" / "export.json").read_text())
    clock = state["recordings"][RID]["clock"]
    assert clock["retimed"] and abs(clock["offset_ms"] - 350) < 5 and abs(clock["drift_ppm"] - 60) < 5, clock
    assert any("re-timed onto A's clock" in n for n in state["recordings"][RID]["notes"])
    audio, sr = sf.read(out / state["recordings"][RID]["pieces"][0]["path"], dtype="float32")
    after = lag_ms(audio[:, 0], audio[:, 1], sr)
    # the same recording streamed on each file's own clock (what the export wrote before)
    rec = queries.result(Workspace(bleed_ws), RID).recording
    sink = BytesSink(sr, (0, 1))
    stream_pieces(rec, sr, [0.0, audio.shape[0] / sr], [sink.sink()])
    own, _ = sf.read(io.BytesIO(sink.data[0]), dtype="float32")
    before = lag_ms(own[:, 0], own[:, 1], sr)
    assert abs(before - 352) < 6, before  # 350 ms, plus the bleed's 2 ms and the mean drift (~2 ms)
    assert abs(after) <= 3.0, after  # the bleed itself is 2 ms late each way
    # late in the file too (drift: 60 ppm x 60 s = 3.6 ms if it were left)
    tail = slice(int(44 * sr), int(64 * sr))
    assert abs(lag_ms(audio[tail, 0], audio[tail, 1], sr, 0.05)) <= 3.0
    # supervisions of track B (activity on A's clock) sit on channel B's speech
    with gzip.open(out / "supervisions.jsonl.gz", "rt") as fh:
        sups = [json.loads(x) for x in fh]
    spans_b = [(s["start"], s["start"] + s["duration"]) for s in sups if s["channel"] == 1]
    assert len(spans_b) >= 5
    # (supervisions are detected IPUs: their edges sit ~20 ms off the energy threshold used here, either clock)
    on_a = envelope_lag_ms(audio[:, 1], sr, spans_b)
    assert abs(on_a) <= 40.0, on_a
    assert abs(envelope_lag_ms(own[:, 1], sr, spans_b) - on_a - 350) <= 20.0  # the check can see the old miss


def test_moshi_export_b_words_sit_on_b_audio(bleed_ws, tmp_path):
    from twotrack.export import export

    out = tmp_path / "moshi"
    summary = export(bleed_ws, out, "moshi", "research-training", main_speaker="both")
    assert summary.exported == 1 and not summary.errors, summary.to_dict()
    pieces = json.loads((out / ".twotrack" / "export.json").read_text())["recordings"][RID]["pieces"]
    main_b = next(p for p in pieces if p["main_track"] == "B")
    audio, sr = sf.read(out / main_b["path"], dtype="float32")  # channel 0 = B, the main speaker
    assert sr == 24000
    words = json.loads((out / main_b["path"]).with_suffix(".json").read_text())["alignments"]
    spans = [tuple(w[1]) for w in words if w[2] == "SPEAKER_MAIN"]
    assert len(spans) >= 20
    assert abs(envelope_lag_ms(audio[:, 0], sr, spans)) <= 20.0
    assert abs(lag_ms(audio[:, 1], audio[:, 0], sr)) <= 3.0


def test_parquet_export_audio_is_on_a_clock(bleed_ws, tmp_path):
    import pyarrow.parquet as pq

    from twotrack.export import export

    out = tmp_path / "parquet"
    assert not export(bleed_ws, out, "parquet", "research-training").errors
    shard = next(out.rglob("*.parquet"))
    row = pq.read_table(shard, columns=["audio"]).to_pylist()[0]
    audio, sr = sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="float32")
    assert abs(lag_ms(audio[:, 0], audio[:, 1], sr)) <= 3.0


def test_clean_paired_files_without_an_estimate_use_the_declared_clock(tmp_path_factory, tmp_path):
    import export_corpus as C
    from twotrack.export import export

    out = tmp_path / "lhotse"
    export(C.workspace(tmp_path_factory), out, "lhotse", "commercial-training")
    rec = json.loads((out / ".twotrack" / "export.json").read_text())["recordings"]
    clock = rec["paired/demo03"]["clock"]  # no shared signal: the manifest's declaration puts B on A's clock
    assert clock["status"] == "declared" and clock["retimed"] is True
    assert (clock["offset_ms"], clock["drift_ppm"]) == (350.0, 60.0)
    assert rec["clean/demo01"]["clock"]["status"] == "shared"
    assert "share its clock" in rec["clean/demo01"]["clock"]["reason"]


# ---------------------------------------------------------------------------------------------
# the explorer
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(bleed_ws, tmp_path_factory):
    from fastapi.testclient import TestClient

    from twotrack.show import create_app

    app = create_app(bleed_ws, cache_dir=tmp_path_factory.mktemp("peaks"))
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def retimed(bleed_ws):
    """Both tracks at 16 kHz, B re-timed by align_tracks with the stored checks (what activity saw)."""
    from twotrack.ingest.tracks import load_tracks
    from twotrack.store import Workspace, queries

    res = queries.result(Workspace(bleed_ws), RID)
    audio = load_tracks(res.recording, 16000)
    moved, note = align_tracks(audio.samples, audio.sample_rate, res.recording.layout, res.checks)
    assert note is not None
    return audio.samples, moved


def test_explorer_audio_of_lane_b_is_on_a_clock(client, retimed):
    own, moved = retimed
    sr = 16000
    r = client.get(f"/api/recordings/{RID}/audio", params={"tracks": "B", "start": 30.0, "end": 35.0})
    assert r.status_code == 200 and r.headers["x-twotrack-clock"].startswith("A; later tracks re-timed")
    got, rate = sf.read(io.BytesIO(r.content), dtype="float32")
    assert rate == sr
    want = moved[1, 30 * sr:35 * sr]
    assert np.abs(got - want).max() <= 1.5 / 32767  # the same samples, to 16-bit rounding
    assert np.abs(got - own[1, 30 * sr:35 * sr]).max() > 0.01  # and not the file's own clock
    # a byte range of the whole stereo rendering, deep inside it: the same samples again
    frame0 = 50 * sr
    first = 44 + frame0 * 4
    r = client.get(f"/api/recordings/{RID}/audio", headers={"Range": f"bytes={first}-{first + 4 * 8000 - 1}"})
    assert r.status_code == 206
    pcm = np.frombuffer(r.content, "<i2").reshape(-1, 2).T / 32767.0
    assert np.abs(pcm[0] - own[0, frame0:frame0 + 8000]).max() <= 1.5 / 32767  # A as it is
    assert np.abs(pcm[1] - moved[1, frame0:frame0 + 8000]).max() <= 1.5 / 32767


def test_explorer_peaks_of_lane_b_are_on_a_clock(client, retimed):
    from twotrack.show.peaks import frame_peaks

    own, moved = retimed
    detail = client.get(f"/api/recordings/{RID}").json()
    assert detail["clock"]["retimed"] and abs(detail["clock"]["offset_ms"] - 350) < 5
    # one pixel per 10 ms frame: the cached frame peaks
    r = client.get(f"/api/recordings/{RID}/peaks", params={"start": 20.0, "end": 30.0, "width": 1000}).json()
    assert r["source"].startswith("frames") and r["clock"]["retimed"]
    want = frame_peaks(moved[:, 20 * 16000:30 * 16000], 160) / 32767.0
    got_b = np.array([r["tracks"][1]["min"], r["tracks"][1]["max"]])
    assert np.abs(got_b - want[1]).max() <= 2e-4
    stale = frame_peaks(own[:, 20 * 16000:30 * 16000], 160) / 32767.0
    assert np.abs(got_b - stale[1]).max() > 0.01
    # deep zoom: decoded audio of the window
    r = client.get(f"/api/recordings/{RID}/peaks",
                   params={"start": 40.0, "end": 40.5, "width": 1600, "tracks": "B"}).json()
    assert r["source"] == "audio"
    seg = moved[1, 40 * 16000:40 * 16000 + 8000].reshape(1600, 5)
    assert np.abs(np.array(r["tracks"][0]["max"]) - seg.max(axis=1)).max() <= 2e-4
