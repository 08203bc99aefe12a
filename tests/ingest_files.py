"""Real audio files (good and bad) written by the ingest tests into a folder they own."""

from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path

import numpy as np
import soundfile as sf


def tone(seconds: float, rate: int, channels: int, seed: int = 0) -> np.ndarray:
    """Distinct, reproducible content per channel (a sine each plus a little noise), float32 in [-0.5, 0.5]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * rate))) / rate
    cols = [0.3 * np.sin(2 * np.pi * (220 + 110 * c) * t) + 0.05 * rng.standard_normal(len(t)) for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.float32)


def write(path: Path, seconds: float = 1.0, rate: int = 16000, channels: int = 2, seed: int = 0, **kw) -> Path:
    """A good audio file; format from the extension (``subtype``/``format`` passed through)."""
    sf.write(path, tone(seconds, rate, channels, seed), rate, **kw)
    return path


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def truncated(path: Path, keep: float = 0.5, **kw) -> Path:
    """A good file cut after ``keep`` of its bytes (format from the extension)."""
    write(path, **kw)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def text_as_wav(path: Path) -> Path:
    path.write_text("this is a transcript, not audio\nspeaker A: hello\n")
    return path


def wav_with_fields(path: Path, **fields) -> Path:
    """A PCM_16 WAV whose ``fmt `` chunk fields are overwritten (format_tag, channels, rate)."""
    write(path, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    offsets = {"format_tag": (20, "<H"), "channels": (22, "<H"), "rate": (24, "<I")}
    for name, value in fields.items():
        at, fmt = offsets[name]
        data[at : at + struct.calcsize(fmt)] = struct.pack(fmt, value)
    path.write_bytes(bytes(data))
    return path


def sphere_ulaw(path: Path, fields: dict[str, int | str], payload: bytes) -> Path:
    """A NIST SPHERE file with the given header fields (1024-byte header) and raw payload."""
    lines = ["NIST_1A", "   1024"]
    for key, value in fields.items():
        if isinstance(value, int):
            lines.append(f"{key} -i {value}")
        else:
            lines.append(f"{key} -s{len(value)} {value}")
    lines.append("end_head")
    header = ("\n".join(lines) + "\n").encode()
    path.write_bytes(header + b" " * (1024 - len(header)) + payload)
    return path


def impossible_sphere(path: Path) -> Path:
    """Two channels of mu-law at a sample rate of 0 Hz."""
    return sphere_ulaw(path, {"sample_count": 800, "sample_rate": 0, "channel_count": 2, "sample_n_bytes": 1,
                              "sample_coding": "ulaw", "sample_byte_format": "1"}, bytes(1600))


def run_unprivileged(fn):
    """Run ``fn()`` as a user that file permissions apply to (root reads chmod-000 files).

    Not root: call it here. Root: fork, drop to uid/gid 65534 (nobody) in the child, send the result
    back pickled through a pipe.
    """
    if os.geteuid() != 0:
        return fn()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        try:
            os.setgid(65534)
            os.setuid(65534)
            payload = pickle.dumps(("ok", fn()))
        except BaseException as exc:  # noqa: BLE001 - sent back to the parent
            payload = pickle.dumps(("raised", repr(exc)))
        with os.fdopen(write_fd, "wb") as out:
            out.write(payload)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as inp:
        status, value = pickle.loads(inp.read())
    os.waitpid(pid, 0)
    if status != "ok":
        raise RuntimeError(f"unprivileged child failed: {value}")
    return value
