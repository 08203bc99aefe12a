"""Read the tensors of a legacy (pre-zip) PyTorch checkpoint into numpy, without torch.

The GE2E voice encoder's weights ship in the ``Resemblyzer`` wheel as ``pretrained.pt``, written by
``torch.save`` in the legacy format, which is five things one after the other:

1. a pickled magic number, 2. a pickled protocol version, 3. a pickled dict of system info,
4. the pickled object, whose tensors point at *storages* by persistent id
   ``("storage", storage class, key, device, n_elements, view)`` and are rebuilt by
   ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``,
5. a pickled list of storage keys, then each storage's raw bytes in that order, each preceded by
   its element count as a little-endian int64.

The unpickler below resolves only the handful of globals such a checkpoint needs (tensor rebuild,
storage classes, ``OrderedDict``) and refuses everything else, so loading a file cannot run code.
"""

from __future__ import annotations

import collections
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _Storage:
    def __init__(self, key: str, dtype: np.dtype, n: int):
        self.key, self.dtype, self.n = key, np.dtype(dtype), int(n)
        self.data: np.ndarray | None = None


class _LazyTensor:
    """A tensor whose storage bytes come later in the file."""

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)

    def materialise(self) -> np.ndarray:
        data = self.storage.data
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:], shape=self.size, strides=tuple(s * item for s in self.stride), writeable=False)
        return np.array(view)  # own copy: contiguous, independent of the storage buffer


def _rebuild_tensor(storage, offset, size, stride, *_rest):
    return _LazyTensor(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, fh, storages: dict[str, _Storage], path: str):
        super().__init__(fh)
        self.storages, self.path = storages, path

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise InputError(self.path, f"checkpoint refers to {module}.{name}, which a weights file has no need of")

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise InputError(self.path, f"unknown persistent id {pid!r}")
        _, dtype, key, _device, n, view = pid[:6]
        if view is not None:
            raise InputError(self.path, "storage views are not supported")
        if key not in self.storages:
            self.storages[key] = _Storage(key, dtype, n)
        return self.storages[key]


def _materialise(obj: Any) -> Any:
    if isinstance(obj, _LazyTensor):
        return obj.materialise()
    if isinstance(obj, dict):
        return type(obj)((k, _materialise(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v) for v in obj)
    return obj


def load_legacy_checkpoint(path: str | Path) -> Any:
    """The object saved in a legacy ``torch.save`` file, with every tensor as a numpy array."""
    p = str(path)
    storages: dict[str, _Storage] = {}
    try:
        with open(p, "rb") as fh:
            if pickle.load(fh) != _MAGIC:
                raise InputError(p, "not a legacy PyTorch checkpoint (bad magic number)")
            pickle.load(fh)  # protocol version
            pickle.load(fh)  # system info
            obj = _Unpickler(fh, storages, p).load()
            keys = pickle.load(fh)
            for key in keys:
                st = storages[key]
                n = int(np.frombuffer(fh.read(8), "<i8")[0])
                raw = fh.read(n * st.dtype.itemsize)
                if n != st.n or len(raw) != n * st.dtype.itemsize:
                    raise InputError(p, f"storage {key} is truncated or has the wrong size")
                st.data = np.frombuffer(raw, st.dtype.newbyteorder("<"))
    except (OSError, pickle.UnpicklingError, EOFError, KeyError, IndexError) as exc:
        raise InputError(p, f"cannot read checkpoint: {exc}") from None
    return _materialise(obj)
