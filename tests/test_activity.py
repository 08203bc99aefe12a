"""Voice activity: the silero model on real audio, the energy refiner, the crosstalk rule, streaming."""

import dataclasses
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from twotrack.activity import detect, detect_stream, detect_tracks, silero, to_activity
from twotrack.activity.crosstalk import bleed_only, estimate_bleed_db, thresholds_db
from twotrack.activity.energy import SILENCE_DB, frame_energy_db, noise_floor_db
from twotrack.activity.refine import RefineParams, energy_support, refine_edges
from twotrack.config import ActivityConfig
from twotrack.ingest.audio import read_all
from twotrack.model import FRAMES
from twotrack.timeline import hysteresis, pad_runs, runs

DATA = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def clean():
    """20 s of a clean two-track demo dialogue at 16 kHz, (2, n)."""
    x, sr = read_all(DATA / "clean" / "demo01_367_1688.flac")
    return np.ascontiguousarray(x[: 20 * sr].T), sr


@pytest.fixture(scope="module")
def telephone():
    """20 s of its telephone rendition (8 kHz mu-law, line noise, -28 dB crosstalk), (2, n)."""
    x, sr = read_all(DATA / "telephone" / "demo01_367_1688.sph")
    return np.ascontiguousarray(x[: 20 * sr].T), sr


# ------------------------------------------------------------------------------------------------
# the model
# ------------------------------------------------------------------------------------------------


def test_model_is_found_without_importing_silero_vad():
    code = ("import sys; from twotrack.activity import silero; p = silero.model_path(); "
            "assert p.name == 'silero_vad.onnx' and p.is_file(); assert 'silero_vad' not in sys.modules; "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_model_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(silero.ModelNotFound, match="pip install --no-deps silero-vad"):
        silero.model_path()


def test_model_signature_is_what_the_feeder_assumes():
    sess = silero.session()
    inputs = {i.name: i.shape for i in sess.get_inputs()}
    assert set(inputs) == {"input", "state", "sr"}
    assert inputs["state"][0] == 2 and inputs["state"][2] == silero.STATE_SIZE
    assert silero.WINDOW == {8000: 256, 16000: 512} and silero.CONTEXT == {8000: 32, 16000: 64}


@pytest.mark.parametrize("which", ["clean", "telephone"])
def test_batched_equals_single_stream(which, request):
    tracks, sr = request.getfixturevalue(which)
    single = np.stack([silero.probs_single(t, sr) for t in tracks])
    batched = silero.probs_batched_tracks(tracks, sr, chunk_s=5.0, warmup_s=1.0, group_streams=8)
    assert batched.shape == single.shape == (2, silero.n_windows(tracks.shape[1], sr))
    # the first chunk of each track starts from the true start-of-file state: identical
    first = int(round(5.0 / silero.WINDOW_S))
    np.testing.assert_allclose(batched[:, :first], single[:, :first], atol=1e-5)
    # later chunks start from a warmed-up state: the model's long memory leaves differences, but the
    # speech decisions mostly agree (the benchmark measures the final labels on 10 min)
    agree = np.mean(np.stack([hysteresis(b, 0.5, 0.35) == hysteresis(s, 0.5, 0.35) for b, s in zip(batched, single)]))
    assert agree > 0.9


def test_streaming_does_not_depend_on_block_size(clean):
    tracks, sr = clean
    cfg = dataclasses.replace(ActivityConfig(), batch_chunk_s=4.0, batch_group_streams=4)
    whole = detect_tracks(tracks, sr, cfg)
    half_second = detect_stream((tracks[:, i : i + sr // 2] for i in range(0, tracks.shape[1], sr // 2)), sr, cfg)
    for a, b in zip(whole, half_second):
        assert np.array_equal(a.mask, b.mask)
        assert np.array_equal(a.prob, b.prob)


def test_detect_real_speech_and_activity_segments(clean):
    tracks, sr = clean
    frames = detect_tracks(tracks, sr)
    n_frames = FRAMES.n_frames(tracks.shape[1] / sr)
    assert all(f.n_frames == n_frames and f.prob.dtype == np.float32 for f in frames)
    # clean track: digital silence outside speech, so speech frames are where the energy is
    for f in frames:
        sound = f.energy_db > SILENCE_DB + 1
        assert f.mask.sum() > 100
        assert np.mean(sound[f.mask]) > 0.95
    activity = to_activity(frames)
    assert [a.track for a in activity] == [0, 1]
    assert all(s.start < s.end for a in activity for s in a.segments)
    one = detect(tracks[0], sr)
    assert one.n_frames == n_frames


def test_other_rates_are_resampled_to_the_model_rate(clean):
    import soxr

    tracks, sr = clean
    x44 = soxr.resample(tracks[0, : 5 * sr], sr, 44100).astype(np.float32)
    f = detect(x44, 44100)
    assert f.n_frames == FRAMES.n_frames(len(x44) / 44100)
    assert f.mask.any()


def test_energy_detector_finds_bursts():
    sr = 8000
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(sr * 4) * 1e-3).astype(np.float32)
    t = np.arange(sr) / sr
    x[sr : 2 * sr] += 0.2 * np.sin(2 * np.pi * 300 * t).astype(np.float32)
    f = detect(x, sr, dataclasses.replace(ActivityConfig(), detector="energy", onset_lead_s=0.0, offset_lag_s=0.0))
    starts, stops = runs(f.mask)
    assert len(starts) == 1
    assert abs(starts[0] - 100) <= 2 and abs(stops[0] - 200) <= 2


def test_unknown_detector_is_an_error():
    with pytest.raises(ValueError, match="unknown activity detector"):
        detect(np.zeros(8000, np.float32), 8000, dataclasses.replace(ActivityConfig(), detector="nope"))


# ------------------------------------------------------------------------------------------------
# energy, floor, refiner
# ------------------------------------------------------------------------------------------------


def _bursts(sr=8000, seconds=6.0, edges=((1.0, 2.0), (3.0, 4.5)), noise_db=-55.0, seed=0):
    """Noise at ``noise_db`` with 400 Hz bursts (with 5 ms ramps) at known edges (seconds)."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    x = rng.standard_normal(n) * 10 ** (noise_db / 20)
    for a, b in edges:
        i, j = int(a * sr), int(b * sr)
        t = np.arange(j - i) / sr
        ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.005)
        x[i:j] += 0.1 * ramp * np.sin(2 * np.pi * 400 * t)
    return x.astype(np.float32)


def test_noise_floor_follows_the_noise_and_ignores_digital_silence():
    x = _bursts()
    e = frame_energy_db(x, 8000)
    floor = noise_floor_db(e)
    assert np.all(np.abs(floor - (-55)) < 4)
    e2 = e.copy()
    e2[:50] = SILENCE_DB  # a muted start
    assert np.all(noise_floor_db(e2)[:50] > -60)


def test_refiner_moves_edges_toward_the_truth():
    x = _bursts()
    e = frame_energy_db(x, 8000)
    floor = noise_floor_db(e)
    truth = [(100, 200), (300, 450)]
    rough = np.zeros(e.size, bool)
    rough[108:190] = True  # a model 80 ms late at the onset, 100 ms early at the offset
    rough[285:470] = True  # 150 ms early, 200 ms late
    refined = refine_edges(rough, e, floor, RefineParams())
    starts, stops = runs(refined)
    assert len(starts) == 2
    for (a, b), s, t in zip(truth, starts, stops):
        assert abs(s - a) <= 1 and abs(t - b) <= 1
    rs, rt = runs(rough)
    assert np.sum(np.abs(starts - [100, 300])) < np.sum(np.abs(rs - [100, 300]))


def test_energy_support_cuts_model_speech_over_noise():
    x = _bursts(edges=((1.0, 2.0),))
    e = frame_energy_db(x, 8000)
    floor = noise_floor_db(e)
    m = np.zeros(e.size, bool)
    m[100:320] = True  # the burst, then 1.2 s of noise the model called speech
    kept = energy_support(m, e, floor, level_db=2.0, min_gap=10)
    s, t = runs(kept)
    assert len(s) == 1 and s[0] == 100 and abs(t[0] - 200) <= 3  # cut on a 50 ms average: the refiner sets the edge


def test_hysteresis_and_padding():
    p = np.array([0.1, 0.3, 0.6, 0.3, 0.1, 0.3, 0.1])
    assert hysteresis(p, 0.5, 0.2).tolist() == [0, 1, 1, 1, 0, 0, 0]
    m = np.array([0, 0, 1, 0, 0, 0, 1, 1, 0], bool)
    assert pad_runs(m, 1, 1).astype(int).tolist() == [0, 1, 1, 1, 0, 1, 1, 1, 1]


# ------------------------------------------------------------------------------------------------
# crosstalk
# ------------------------------------------------------------------------------------------------


def _bleed_pair(clean, bleed_db=-28.0, lag_ms=3.0, noise_db=-60.0):
    """Track B = B's own speech + A's speech at ``bleed_db``, ``lag_ms`` late + noise."""
    tracks, sr = clean
    a, b = tracks
    lag = int(sr * lag_ms / 1000)
    rng = np.random.default_rng(3)
    leaked = np.zeros_like(a)
    leaked[lag:] = a[:-lag] * 10 ** (bleed_db / 20)
    noise = rng.standard_normal((2, a.size)).astype(np.float32) * 10 ** (noise_db / 20)
    return np.stack([a, b + leaked]) + noise, sr


def test_bleed_level_is_read_from_the_recording(clean):
    pair, sr = _bleed_pair(clean)
    e = np.stack([frame_energy_db(t, sr) for t in pair])
    floor = np.stack([noise_floor_db(t) for t in e])
    est = estimate_bleed_db(e, floor, min_frames=50)
    assert abs(est[1, 0] - (-28)) < 4  # A heard on B


def test_crosstalk_rule_removes_a_bleed_only_copy(clean):
    tracks, sr = clean
    pair, sr = _bleed_pair(clean)
    own_b = frame_energy_db(tracks[1], sr) > SILENCE_DB + 1  # where B really makes sound
    a_talks = frame_energy_db(tracks[0], sr) > -45
    bleed_only_b = a_talks & ~own_b
    assert bleed_only_b.sum() > 200
    for bleed in (None, (-28.0, 3.0)):
        frames = detect_tracks(pair, sr, bleed=bleed)
        b = frames[1].mask[: own_b.size]
        assert np.mean(b[bleed_only_b]) < 0.02  # the copy of A is not B's speech
        b_speech = detect(tracks[1], sr).mask[: own_b.size]
        assert np.mean(b[b_speech]) > 0.9  # B's own speech stays
    # the rule is what removes it: without it the energy detector takes the bleed for speech
    off = dataclasses.replace(ActivityConfig(), detector="energy", crosstalk_rule=False)
    on = dataclasses.replace(off, crosstalk_rule=True)
    leak_off = detect_tracks(pair, sr, off)[1].mask[: own_b.size][bleed_only_b].mean()
    leak_on = detect_tracks(pair, sr, on)[1].mask[: own_b.size][bleed_only_b].mean()
    assert leak_off > 0.3 and leak_on < 0.02


def test_bleed_only_frame_rule():
    e = np.full((2, 40), -60.0)
    e[0, 5:35] = -20.0  # A talks
    e[1, 5:35] = -48.0  # its copy on B, 28 dB down
    e[1, 25:35] = -22.0  # B talks over it
    thr = thresholds_db(e, np.full_like(e, -60.0), (-28.0, 3.0), -15.0, 8.0, -6.0)
    assert np.allclose(thr, -20.0)
    out = bleed_only(e, thr, lag_ms=3.0)
    assert out[1, 8:20].all()  # the copy
    assert not out[1, 28:33].any()  # B's own speech
    assert not out[0, 5:35].any()  # A is never B's bleed


def test_long_recordings_are_decided_piece_by_piece_with_the_same_result(telephone):
    from twotrack.activity.detect import analyse_stream, decide

    tracks, sr = telephone
    prob, energy = analyse_stream([tracks], sr)
    whole, floor_whole, _ = decide(prob, energy, piece_frames=10**9)
    pieces, floor_pieces, _ = decide(prob, energy, piece_frames=700)
    assert np.array_equal(whole, pieces)
    assert np.array_equal(floor_whole, floor_pieces)


def test_silero_model_dir_falls_back_per_rate_and_changes_the_activity_key(tmp_path):
    """``activity.silero_model_dir`` is used only for a rate it has a file for, and it enters the activity
    stage's key (results of another model are never reused)."""
    from twotrack.config import Config
    from twotrack.run.keys import stage_keys

    (tmp_path / "8000.onnx").write_bytes(b"")
    assert silero.model_file(8000, str(tmp_path)) == tmp_path / "8000.onnx"
    assert silero.model_file(16000, str(tmp_path)) == silero.model_path()
    assert silero.model_file(8000) == silero.model_path()
    plain = stage_keys(Config(), {})
    other = stage_keys(Config.from_dict({"activity": {"silero_model_dir": str(tmp_path)}}), {})
    assert plain["checks"] == other["checks"] and plain["activity"] != other["activity"]


def test_frame_windows_is_the_sliding_window_view_it_stands_for():
    from numpy.lib.stride_tricks import sliding_window_view

    from twotrack.activity.silero import CONTEXT, WINDOW, frame_windows

    rng = np.random.default_rng(2)
    for rate in (8000, 16000):
        win, ctx = WINDOW[rate], CONTEXT[rate]
        for m in (1, 3, 256):
            audio = rng.standard_normal(m * win + 7).astype(np.float32)
            context = rng.standard_normal(ctx + 5).astype(np.float32)
            got = frame_windows(audio, rate, context)
            x = np.concatenate([context[-ctx:], audio[: m * win]])
            want = sliding_window_view(x, ctx + win)[::win][:m]
            assert got.shape == want.shape == (m, ctx + win) and np.array_equal(got, want)
            assert not got.flags.writeable


def test_energy_stream_uses_whole_frame_blocks_as_they_come_with_the_same_numbers():
    """``EnergyStream.feed`` uses a C-contiguous block of whole frames as it is (no copy into the
    carried-over samples); the numbers are those of the joining path, which a non-contiguous view of
    the same samples takes, for any cut."""
    from twotrack.activity.energy import EnergyStream

    rng = np.random.default_rng(4)
    x = (rng.standard_normal((2, 8000 * 5 + 37)) * 0.1).astype(np.float32)
    strided = np.repeat(x, 2, axis=1)[:, ::2]  # the same samples, not contiguous
    assert np.array_equal(strided, x) and not strided.flags.c_contiguous
    for cuts in ([0, 8000, 16000, 24000, 32000, 40000], [0, 80, 8000, 8033, 8080, 20001, 40000]):
        edges = cuts + [x.shape[1]]
        fast, joined = EnergyStream(2, 8000), EnergyStream(2, 8000)
        got = [fast.feed(np.ascontiguousarray(x[:, a:b])) for a, b in zip(edges, edges[1:])] + [fast.finish()]
        want = [joined.feed(strided[:, a:b]) for a, b in zip(edges, edges[1:])] + [joined.finish()]
        assert np.concatenate(got, axis=1).tobytes() == np.concatenate(want, axis=1).tobytes()
        assert sum(g.shape[1] for g in got) == FRAMES.n_frames(x.shape[1] / 8000)
