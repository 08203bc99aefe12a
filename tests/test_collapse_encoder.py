"""The numpy GE2E encoder reproduces the original Resemblyzer package (its torch + librosa forward pass),
and its weights reader runs no code from the file."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from twotrack.errors import InputError
from twotrack.voice import encoder as enc
from twotrack.voice.torchfile import load_legacy_checkpoint

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "collapse" / "resemblyzer_reference.npz"
DIALOGUE = ROOT / "data" / "sample" / "clean" / "demo01_367_1688.flac"


@pytest.fixture(scope="module")
def reference():
    return np.load(REFERENCE)


@pytest.fixture(scope="module")
def clips(reference):
    audio, rate = sf.read(DIALOGUE, dtype="float32")
    assert rate == enc.SAMPLE_RATE
    return [audio[int(s * rate): int((s + d) * rate), int(ch)] for ch, s, d in reference["clips"]]


def test_weights_are_read_from_the_wheel_without_torch():
    state = load_legacy_checkpoint(enc.weights_path())["model_state"]
    assert state["lstm.weight_ih_l0"].shape == (1024, 40)
    assert state["lstm.weight_hh_l2"].shape == (1024, 256)
    assert state["linear.weight"].shape == (256, 256)
    assert all(a.dtype == np.float32 and np.all(np.isfinite(a)) for a in state.values())


def test_mel_spectrogram_matches_resemblyzer(reference, clips):
    for k, clip in enumerate(clips):
        mel = enc.mel_spectrogram(enc.normalise_volume(clip))
        ref = reference[f"mel_{k}"]
        assert mel.shape == ref.shape
        np.testing.assert_allclose(mel, ref, rtol=1e-4, atol=1e-6 * ref.max())


def test_embeddings_match_resemblyzer(reference, clips):
    model = enc.load_encoder()
    for k, clip in enumerate(clips):
        mel = enc.mel_spectrogram(enc.normalise_volume(clip))
        full = model.embed(np.stack([mel[0:160], mel[200:360]]))
        short = model.embed(mel[None, 100:190])
        got = np.concatenate([full, short])
        np.testing.assert_allclose(got, reference[f"emb_{k}"], atol=2e-5)
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_reader_refuses_a_checkpoint_that_would_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        for obj in (0x1950A86A20F9469CFC6C, 1001, {}):
            pickle.dump(obj, fh, protocol=2)
        pickle.dump({"model_state": Evil()}, fh, protocol=2)
        pickle.dump([], fh, protocol=2)
    with pytest.raises(InputError, match="system"):
        load_legacy_checkpoint(path)


def test_reader_names_the_file_when_it_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "not.pt"
    path.write_bytes(b"PK\x03\x04 zip, not legacy")
    with pytest.raises(InputError, match="not.pt"):
        load_legacy_checkpoint(path)
