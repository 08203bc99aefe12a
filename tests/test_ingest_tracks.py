"""Recordings -> tracks (n_tracks, n) at one rate: multichannel, paired, mono; streaming equals whole."""

from pathlib import Path

import numpy as np
import pytest

import ingest_files as files
from twotrack.errors import InputError
from twotrack.ingest.audio import read_all
from twotrack.ingest.clock import align_tracks, clock_fix
from twotrack.ingest.discover import discover
from twotrack.ingest.resample import resample
from twotrack.ingest.tracks import choose_analysis_rate, iter_track_blocks, load_tracks, source_infos
from twotrack.model import CheckResult, Isolation, Layout, Recording, SourceType, TrackSource

REPO = Path(__file__).resolve().parents[1]


def _rec(*tracks, layout=Layout.MULTICHANNEL, **kw):
    return Recording(recording_id="r", tracks=tuple(TrackSource(str(p), c) for p, c in tracks), layout=layout, **kw)


def test_multichannel_tracks_are_the_channels(tmp_path):
    path = files.write(tmp_path / "s.flac", seconds=2.0, rate=16000, channels=2)
    audio = load_tracks(_rec((path, 0), (path, 1)))
    ref, _ = read_all(path)
    assert audio.samples.shape == (2, 32000) and audio.samples.dtype == np.float32
    assert audio.samples.flags.c_contiguous and audio.sample_rate == 16000 and audio.duration_s == 2.0
    np.testing.assert_array_equal(audio.samples, ref.T)
    swapped = load_tracks(_rec((path, 1), (path, 0)))
    np.testing.assert_array_equal(swapped.samples[0], ref[:, 1])


def test_streaming_blocks_equal_whole_load_and_resampling(tmp_path):
    path = files.write(tmp_path / "s.wav", seconds=3.0, rate=16000, channels=2, subtype="FLOAT")
    rec = _rec((path, 0), (path, 1))
    blocks = list(iter_track_blocks(rec, sample_rate=8000, block_s=0.5))
    assert [b.shape for b in blocks] == [(2, 4000)] * 6
    whole = load_tracks(rec, sample_rate=8000)
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), whole.samples)
    ref = resample(read_all(path)[0], 16000, 8000).T
    np.testing.assert_allclose(whole.samples, ref, atol=1e-4)


def test_paired_files_of_different_length_and_rate(tmp_path):
    a = files.write(tmp_path / "x.A.wav", seconds=2.0, rate=16000, channels=1, seed=1, subtype="FLOAT")
    b = files.write(tmp_path / "x.B.wav", seconds=2.5, rate=8000, channels=1, seed=2, subtype="FLOAT")
    rec = _rec((a, 0), (b, 0), layout=Layout.PAIRED)
    audio = load_tracks(rec)  # common rate: the highest source rate
    assert audio.sample_rate == 16000 and audio.samples.shape == (2, 40000)
    np.testing.assert_array_equal(audio.samples[0, :32000], read_all(a)[0][:, 0])
    assert not audio.samples[0, 32000:].any()  # A padded with zeros to B's length
    b_up = resample(read_all(b)[0], 8000, 16000)[:, 0]
    np.testing.assert_allclose(audio.samples[1], b_up, atol=1e-4)
    at8k = load_tracks(rec, sample_rate=8000)
    assert at8k.samples.shape == (2, 20000) and at8k.duration_s == 2.5


def test_a_clock_fix_re_times_the_later_tracks_as_align_tracks_does(tmp_path):
    a = files.write(tmp_path / "x.A.wav", seconds=3.0, rate=16000, channels=1, seed=1, subtype="FLOAT")
    b = files.write(tmp_path / "x.B.wav", seconds=3.0, rate=16000, channels=1, seed=2, subtype="FLOAT")
    rec = _rec((a, 0), (b, 0), layout=Layout.PAIRED)
    synced = CheckResult(Isolation.LEAKY, offset_ms=120.0, drift_ppm=60.0)
    fix = clock_fix(Layout.PAIRED, synced, 16000)
    own = load_tracks(rec)
    whole, _ = align_tracks(own.samples, 16000, Layout.PAIRED, synced)
    fixed = load_tracks(rec, clock=fix)
    np.testing.assert_array_equal(fixed.samples, whole)
    np.testing.assert_array_equal(fixed.samples[0], own.samples[0])  # track A keeps its clock
    blocks = list(iter_track_blocks(rec, block_s=0.7, clock=fix))
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), whole)
    np.testing.assert_array_equal(load_tracks(rec, clock=None).samples, own.samples)


def test_mono_is_one_track(tmp_path):
    path = files.write(tmp_path / "m.wav", seconds=1.0, rate=16000, channels=1, subtype="PCM_16")
    audio = load_tracks(_rec((path, 0), layout=Layout.MONO, source_type=SourceType.MONO))
    assert audio.n_tracks == 1 and audio.samples.shape == (1, 16000)


def test_declared_channel_count_must_match_the_file(tmp_path):
    three = files.write(tmp_path / "three.wav", channels=3, subtype="PCM_16")
    rec = _rec((three, 0), (three, 1), metadata={"channels": "2"})
    with pytest.raises(InputError) as err:
        load_tracks(rec)
    assert err.value.path == str(three) and "2 channel(s) declared but the file has 3" in err.value.problem
    one = files.write(tmp_path / "one.wav", channels=1, subtype="PCM_16")
    with pytest.raises(InputError, match="reads channel 1 but the file has 1"):
        iter_track_blocks(_rec((one, 0), (one, 1)))
    with pytest.raises(InputError, match="mono but the file has 3"):
        source_infos(_rec((three, 0), layout=Layout.MONO))


def test_choose_analysis_rate():
    assert choose_analysis_rate([8000, 8000]) == 8000  # telephone stays at 8 kHz
    assert choose_analysis_rate([8000]) == 8000 and choose_analysis_rate([6000]) == 8000
    assert choose_analysis_rate([16000, 8000]) == 16000
    assert choose_analysis_rate([44100, 48000]) == 16000
    with pytest.raises(ValueError):
        choose_analysis_rate([])


def test_sample_corpus_paired_and_clean_tracks():
    recs, errors = discover([REPO / "data/sample/paired", REPO / "data/sample/clean"], hash_files=False)
    assert not errors
    by_id = {r.recording_id: r for r in recs}
    paired = load_tracks(by_id["paired/demo01_367_1688"])
    clean = load_tracks(by_id["clean/demo01_367_1688"])
    assert paired.sample_rate == clean.sample_rate == 16000
    # B started 0.35 s earlier, so its file is longer and A is zero-padded at the end
    assert paired.samples.shape[1] > clean.samples.shape[1]
    n = clean.samples.shape[1]
    assert np.corrcoef(paired.samples[0, :n], clean.samples[0])[0, 1] > 0.99  # A.wav = FLAC ch0 (mu-law)


def test_sample_telephone_tracks_at_8k():
    pytest.importorskip("twotrack.ingest.sphere")
    recs, errors = discover([REPO / "data/sample/telephone"], hash_files=False)
    assert not errors and len(recs) == 3
    rec = recs[0]
    rate = choose_analysis_rate(i.sample_rate for i in source_infos(rec).values())
    assert rate == 8000
    blocks = list(iter_track_blocks(rec, rate, block_s=10.0))
    assert all(b.shape[0] == 2 and b.dtype == np.float32 for b in blocks)
    audio = load_tracks(rec, rate)
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), audio.samples)
    assert 60 < audio.duration_s < 70 and np.abs(audio.samples).max() <= 1.0


def test_sphere_fixtures_through_discovery_and_tracks():
    pytest.importorskip("twotrack.ingest.sphere")
    folder = REPO / "tests/data/sphere"
    recs, errors = discover([folder], hash_files=False)
    assert errors == []
    by_id = {r.recording_id: r for r in recs}
    assert len(by_id) == len(list(folder.glob("*.sph")))
    assert by_id["ex5"].layout is Layout.MULTICHANNEL and by_id["ex6"].n_tracks == 4 and by_id["ex8"].is_mono
    ex5 = load_tracks(by_id["ex5"])
    c1, c2 = load_tracks(by_id["ex5_c1"]), load_tracks(by_id["ex5_c2"])
    assert ex5.sample_rate == 8000 and ex5.samples.shape == (2, 16000)
    np.testing.assert_array_equal(ex5.samples[0], c1.samples[0])  # per-channel content = single-channel files
    np.testing.assert_array_equal(ex5.samples[1], c2.samples[0])
    for name in ("ex5_sh", "ex5_p", "ex5_p01", "swb"):  # same call: shorten, pcm both orders, quirky header
        other = load_tracks(by_id[name])
        assert other.samples.shape == ex5.samples.shape, name
        np.testing.assert_allclose(other.samples, ex5.samples, atol=1 / 32768, err_msg=name)
