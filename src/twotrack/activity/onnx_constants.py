"""The constant tensors of an ONNX model file, read straight from its protobuf encoding.

An ONNX file is a protobuf ``ModelProto``. Its weights sit in ``Constant`` nodes and graph initializers,
also inside the sub-graphs of control-flow nodes (the silero model keeps each sample rate's weights in one
branch of an ``If``). Reading them needs five message types and four field kinds; the ``onnx`` package
would do it too, but its import alone costs about 0.6 s of every scan's start-up. Field numbers are those of
onnx.proto (IR version 3 and later), which has kept them stable since.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Field numbers of onnx.proto's messages that lead to tensors.
_MODEL_GRAPH = 7
_GRAPH_NODE, _GRAPH_INITIALIZER = 1, 5
_NODE_OUTPUT, _NODE_OP_TYPE, _NODE_ATTRIBUTE = 2, 4, 5
_ATTR_TENSOR, _ATTR_GRAPH, _ATTR_GRAPHS = 5, 6, 11
_TENSOR_DIMS, _TENSOR_TYPE, _TENSOR_FLOATS, _TENSOR_INT64S, _TENSOR_NAME, _TENSOR_RAW = 1, 2, 4, 7, 8, 9
#: onnx TensorProto.DataType -> numpy, for the types weights come in
_DTYPES = {1: np.float32, 6: np.int32, 7: np.int64, 10: np.float16, 11: np.float64}


class MalformedModel(ValueError):
    """The bytes are not a protobuf message of the expected shape."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise MalformedModel("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of one message: an int for varint and fixed fields, the bytes
    of a length-delimited field (a sub-message, a string or a packed array)."""
    out = []
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = int.from_bytes(buf[pos : pos + 8], "little"), pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = int.from_bytes(buf[pos : pos + 4], "little"), pos + 4
        else:
            raise MalformedModel(f"wire type {wire} (field {number})")
        if pos > end:
            raise MalformedModel(f"field {number} runs past the end of its message")
        out.append((number, wire, value))
    return out


def _packed_varints(values: list[tuple[int, int | bytes]]) -> list[int]:
    out: list[int] = []
    for wire, v in values:
        if wire == 0:
            out.append(int(v))
        else:  # packed
            pos = 0
            while pos < len(v):
                x, pos = _varint(v, pos)
                out.append(x)
    return out


def tensor(buf: bytes) -> tuple[str, np.ndarray]:
    """(name, array) of a ``TensorProto``."""
    dims, dtype_code, name, raw = [], 1, "", None
    floats: list[bytes] = []
    int64s: list[tuple[int, int | bytes]] = []
    for number, wire, value in fields(buf):
        if number == _TENSOR_DIMS:
            dims.append((wire, value))
        elif number == _TENSOR_TYPE:
            dtype_code = int(value)
        elif number == _TENSOR_NAME:
            name = bytes(value).decode("utf-8", "replace")
        elif number == _TENSOR_RAW:
            raw = bytes(value)
        elif number == _TENSOR_FLOATS:
            floats.append(value if wire == 2 else int(value).to_bytes(4, "little"))
        elif number == _TENSOR_INT64S:
            int64s.append((wire, value))
    shape = tuple(_packed_varints(dims))
    dtype = _DTYPES.get(dtype_code)
    if dtype is None:
        raise MalformedModel(f"tensor {name!r}: data type {dtype_code} is not read here")
    if raw is not None:
        arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
    elif floats:
        arr = np.frombuffer(b"".join(floats), dtype="<f4").astype(np.float32)
    else:
        arr = np.array([v - (1 << 64) if v >= 1 << 63 else v for v in _packed_varints(int64s)], np.int64)
    size = int(np.prod(shape)) if shape else 1
    if arr.size != size:
        raise MalformedModel(f"tensor {name!r}: {arr.size} values for shape {shape}")
    return name, arr.reshape(shape)


def _graph(buf: bytes, out: dict[str, np.ndarray]) -> None:
    for number, _, value in fields(buf):
        if number == _GRAPH_INITIALIZER:
            name, arr = tensor(value)
            out[name] = arr
        elif number == _GRAPH_NODE:
            _node(value, out)


def _node(buf: bytes, out: dict[str, np.ndarray]) -> None:
    outputs, op_type, attributes = [], "", []
    for number, _, value in fields(buf):
        if number == _NODE_OUTPUT:
            outputs.append(bytes(value).decode("utf-8", "replace"))
        elif number == _NODE_OP_TYPE:
            op_type = bytes(value).decode("utf-8", "replace")
        elif number == _NODE_ATTRIBUTE:
            attributes.append(value)
    for attr in attributes:
        for number, _, value in fields(attr):
            if number == _ATTR_TENSOR and op_type == "Constant" and outputs:  # named by the node's output
                out[outputs[0]] = tensor(value)[1]
            elif number in (_ATTR_GRAPH, _ATTR_GRAPHS):  # the branches of If, the bodies of Loop / Scan
                _graph(value, out)


def read_constants(path: str | Path) -> dict[str, np.ndarray]:
    """Every graph initializer and ``Constant`` node's value of the model file, by tensor name (the output
    name for a Constant), sub-graphs included."""
    data = Path(path).read_bytes()
    out: dict[str, np.ndarray] = {}
    graphs = [value for number, wire, value in fields(data) if number == _MODEL_GRAPH and wire == 2]
    if not graphs:
        raise MalformedModel(f"{path}: no graph in the model file")
    for g in graphs:
        _graph(g, out)
    return out
