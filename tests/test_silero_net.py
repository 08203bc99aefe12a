"""The numpy forward pass of silero's network (activity/silero_net.py) against onnxruntime on the same file."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from twotrack.activity import silero
from twotrack.activity.onnx_constants import MalformedModel, read_constants
from twotrack.activity.silero_net import UnknownLayout, nets_from_file
from twotrack.ingest.audio import read_all

DATA = Path(__file__).resolve().parents[1] / "data" / "sample"
INPUTS = {r: (silero.WINDOW[r], silero.CONTEXT[r]) for r in silero.RATES}
SOURCES = {8000: DATA / "telephone" / "demo02_3080_2033.sph", 16000: DATA / "clean" / "demo02_3080_2033.flac"}


def _rows(rate: int, seconds: float = 12.0) -> list[np.ndarray]:
    x, sr = read_all(SOURCES[rate])
    assert sr == rate
    n = int(seconds * rate) // silero.WINDOW[rate] * silero.WINDOW[rate]
    return [np.ascontiguousarray(silero.frame_windows(x[:n, t], rate)) for t in range(x.shape[1])]


@pytest.mark.parametrize("rate", [8000, 16000])
def test_run_windows_gives_onnxruntimes_probabilities_and_states(rate, tmp_path):
    """Real speech, four streams over two tracks, a gap of silence (negative index) and a state carried in
    midway: the numpy path equals the onnxruntime session on the same weights within float32 rounding."""
    assert silero.net(rate) is not None
    rows = _rows(rate)
    steps = len(rows[0]) // 2
    index = np.stack([np.arange(steps), np.arange(steps, 2 * steps), np.arange(steps), np.arange(steps, 2 * steps)], 1)
    index[20:30, 1] = -1  # silence read in the middle of a stream
    track_of = np.array([0, 0, 1, 1])
    start_at = np.array([-1, 40, -1, 10])
    init = np.random.default_rng(1).normal(0, 0.5, (2, 4, silero.STATE_SIZE)).astype(np.float32)
    shutil.copy(silero.model_path(), tmp_path / f"{rate}.onnx")  # another file: onnxruntime runs it
    assert silero.net(rate, str(tmp_path)) is None
    want, want_state = silero.run_windows(rows, track_of, index, rate, start_at, init, model_dir=str(tmp_path))
    got, got_state = silero.run_windows(rows, track_of, index, rate, start_at, init)
    assert got.shape == want.shape == (4, steps) and got_state.shape == want_state.shape
    assert want.min() < 0.1 and want.max() > 0.9  # speech and silence both met
    np.testing.assert_allclose(got, want, atol=2e-5)
    np.testing.assert_allclose(got_state, want_state, atol=5e-3, rtol=1e-3)  # c grows large: relative


def test_the_verified_file_agrees_with_onnxruntime_and_another_file_is_checked(tmp_path):
    path = str(silero.model_path())
    for rate in silero.RATES:
        assert silero.agrees_with_onnxruntime(silero.net(rate), path)
    # the same weights under another hash: checked against onnxruntime, then used
    copy = _unverified_copy(tmp_path)
    assert silero._checked_net(str(copy), 8000) is not None


def _unverified_copy(folder: Path) -> Path:
    """The wheel's model file plus one unknown protobuf field (number 99, varint 1), which onnxruntime and
    the reader skip: the same model under another sha256."""
    copy = folder / "silero_vad.onnx"
    copy.write_bytes(silero.model_path().read_bytes() + bytes([0x98, 0x06, 0x01]))
    return copy


def test_weights_differing_from_what_onnxruntime_runs_fall_back(tmp_path, monkeypatch):
    """Where the forward pass would not reproduce the model (here: its LSTM weights altered after reading),
    the check refuses it and onnxruntime runs the model."""
    import twotrack.activity.silero_net as net_module

    real = net_module.nets_from_file

    def altered(path, inputs):
        nets = real(path, inputs)
        for n in nets.values():
            n.w_hh_t[:] *= 1.5
        return nets

    monkeypatch.setattr(net_module, "nets_from_file", altered)
    net_module.cached_nets.cache_clear()
    copy = _unverified_copy(tmp_path)
    try:
        assert silero._checked_net(str(copy), 8000) is None
    finally:
        net_module.cached_nets.cache_clear()


def test_constants_are_read_from_the_if_branches():
    consts = read_constants(silero.model_path())
    basis = [v for k, v in consts.items() if k.endswith("stft.forward_basis_buffer")]
    assert sorted(b.shape for b in basis) == [(130, 1, 128), (258, 1, 256)]
    nets = nets_from_file(silero.model_path(), INPUTS)
    assert sorted(nets) == [8000, 16000] and nets[8000].bins == 65 and nets[16000].bins == 129


def test_bad_model_files_are_named_errors(tmp_path):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff" * 40)
    with pytest.raises(MalformedModel):
        read_constants(garbage)
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(silero.model_path().read_bytes()[:100_000])
    with pytest.raises(MalformedModel):
        read_constants(cut)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(MalformedModel, match="no graph"):
        read_constants(empty)
    with pytest.raises(UnknownLayout):
        nets_from_file(silero.model_path(), {})  # no rate asked for
    with pytest.raises(UnknownLayout, match="frames per window"):  # a window the weights were not made for
        nets_from_file(silero.model_path(), {8000: (512, 32)})
    assert silero._checked_net(str(cut), 8000) is None  # unreadable: onnxruntime would run (and name) it
