"""Make int8 variants of the silero v6 model for measurement (issue 22, option 1): not used by default.

    .venv/bin/python benchmarks/silero_int8.py [--out ~/.cache/twotrack/models/silero-int8] [--mode static|dynamic]

Needs the ``onnx`` package (pinned in pyproject's ``bench`` extra). Reads only files on this machine: the
silero-vad wheel's ``silero_vad.onnx`` (its sha256 is checked against ``SOURCE_SHA256``) and,
for static quantization, the tune half of the sample dialogues (demo01, demo03) as calibration audio.

The wheel's graph picks the 8 kHz or 16 kHz weights inside an ``If``, whose Conv weights onnxruntime's
quantizer cannot reach, so ``sr`` is fixed per rate and onnxruntime's constant folding resolves the ``If``
(``<out>/<rate>.float32.onnx``, equal to the wheel's model). Then (``<out>/<rate>.onnx``):
- ``dynamic``: ``quantize_dynamic`` (Conv -> ConvInteger, Gemm -> MatMulInteger). Measured slower than
  float32 on this CPU (ConvInteger has no fast kernel): 43 us per window vs 25 us at batch 64-256;
- ``static``: ``quantize_static`` of the Convs (QDQ, uint8 activations, int8 weights per channel) with
  activation ranges calibrated on real model inputs and states of the calibration audio. All Convs: 7 us
  per window but wrong labels; the STFT and encoder.0 left float32 (``--keep-float 2``, the default): 17 us.
Point the activity stage at a variant with the setting ``activity.silero_model_dir = <out>`` (part of the
activity stage's key, so results of another model are never reused).
The hashes of what was written are printed and kept in ``<out>/manifest.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

SOURCE = "silero_vad.onnx"
from twotrack.activity.silero import VERIFIED_MODEL_SHA256 as SOURCE_SHA256  # noqa: E402  (silero-vad 6.2.3)
CALIBRATION = ("demo01_367_1688", "demo03_2609_367")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fold_rate(src: Path, rate: int, dst: Path) -> None:
    """The wheel's graph with ``sr`` fixed to ``rate``: onnxruntime's basic optimisation (constant
    folding) then resolves the ``If`` on the rate and leaves that rate's Convs with initializer weights."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    inputs = [i for i in graph.input if i.name != "sr"]
    del graph.input[:]
    graph.input.extend(inputs)
    graph.initializer.append(numpy_helper.from_array(np.array(rate, np.int64), "sr"))
    fixed = dst.with_suffix(".sr.onnx")
    onnx.save(model, str(fixed))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.optimized_model_filepath = str(dst)
    opts.log_severity_level = 3
    ort.InferenceSession(str(fixed), opts, providers=["CPUExecutionProvider"])
    fixed.unlink()
    folded = onnx.load(str(dst))  # keep the ``sr`` input (unused) so that callers feed it as before
    folded.graph.input.append(onnx.helper.make_tensor_value_info("sr", onnx.TensorProto.INT64, []))
    onnx.save(folded, str(dst))


def calibration_batches(rate: int, steps: int = 400, every: int = 8) -> list[dict]:
    """Model inputs and states met by 64 batched streams of real audio (float32 reference model)."""
    from twotrack.activity import silero
    from twotrack.ingest.audio import read_all

    folder, ext = ("telephone", "sph") if rate == 8000 else ("clean", "flac")
    rows = []
    for name in CALIBRATION:
        x, sr = read_all(REPO / "data/sample" / folder / f"{name}.{ext}")
        assert sr == rate, (sr, rate)
        for t in range(x.shape[1]):
            rows.append(silero.frame_windows(x[:, t], rate))
    rows = np.concatenate(rows)
    n_streams = 64
    span = len(rows) // n_streams
    sess = silero.session(1, None)  # the wheel's float32 model
    state = np.zeros((2, n_streams, silero.STATE_SIZE), np.float32)
    sr = np.array(rate, np.int64)
    out = []
    for j in range(min(steps, span)):
        x = rows[np.arange(n_streams) * span + j]
        if j % every == 0:
            out.append({"input": x.copy(), "state": state.copy(), "sr": sr})
        _, state = sess.run(None, {"input": x, "state": state, "sr": sr})
    return out


def main() -> int:
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)

    from twotrack.activity import silero

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path.home() / ".cache/twotrack/models/silero-int8")
    ap.add_argument("--mode", choices=("static", "dynamic"), default="static")
    ap.add_argument("--sha256", default=SOURCE_SHA256, help="expected sha256 of the wheel's source graph")
    ap.add_argument("--keep-float", type=int, default=2,
                    help="static: the first N Convs stay float32 (2 = the STFT and encoder.0, the measured variant)")
    ap.add_argument("--skip-rates", type=int, nargs="*", default=[], help="rates left to the float32 model")
    args = ap.parse_args()

    src = silero.model_path().parent / SOURCE
    digest = sha256(src)
    if args.sha256 and digest != args.sha256:
        raise SystemExit(f"{src}: sha256 {digest} is not the expected {args.sha256}")
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = {"source": str(src), "source_sha256": digest, "mode": args.mode, "keep_float": args.keep_float,
                "files": {}}
    for rate in silero.RATES:
        plain = args.out / f"{rate}.float32.onnx"
        fold_rate(src, rate, plain)
        dst = args.out / f"{rate}.onnx"
        if rate in args.skip_rates:
            continue
        if args.mode == "dynamic":
            quantize_dynamic(str(plain), str(dst), weight_type=QuantType.QInt8)
        else:
            batches = calibration_batches(rate)

            class Reader(CalibrationDataReader):
                def __init__(self):
                    self.it = iter(batches)

                def get_next(self):
                    return next(self.it, None)

            import onnx

            convs = [n.name for n in onnx.load(str(plain)).graph.node if n.op_type == "Conv"]
            quantize_static(str(plain), str(dst), Reader(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=["Conv"], per_channel=True,
                            nodes_to_exclude=convs[: args.keep_float])
        manifest["files"][dst.name] = sha256(dst)
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(json.dumps(manifest, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
