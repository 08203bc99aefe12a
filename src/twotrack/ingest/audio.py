"""One audio file -> a header-only probe and float32 blocks (frames, channels), memory flat in file length.

WAV/FLAC/OGG/Opus/MP3 go through soundfile (libsndfile); NIST SPHERE is recognised by its magic bytes
(not its extension: LDC and NIST ship SPHERE as ``.wav`` too) and read by ``ingest.sphere``.
Every failure is an ``InputError(path, problem)`` whose problem a person can act on.
A path may be a URL (``s3://``, ``https://``, ...): it is read through ``ingest.remote`` (fsspec), the
header and the audio streamed in ranges; a local path is read exactly as before (fsspec is not imported).
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from ..errors import InputError, file_access
from ..model import AudioInfo
from . import remote

SPHERE_MAGIC = b"NIST_1A"
DEFAULT_BLOCK_SAMPLES = 1 << 16

_HEAD_BYTES = 4096
_MAX_CHANNELS = 1024
_MAX_RATE = 1_000_000
# Below this no speech fits (telephone is 8 kHz); a lower rate is a lying header, and taking it would stretch
# a few kilobytes into hours of audio that the stages resample to 16 kHz (a 1 Hz WAV of 32000 frames used 4.4 GB).
_MIN_RATE = 1000
# Formats whose header frame count is an estimate: a short read there is not truncation.
_APPROXIMATE_LENGTH = frozenset({"MP3"})
# ... unless the MP3 states its frame count (a Xing/Info or VBRI frame: LAME and ffmpeg write one) and the
# audio falls this far short of it: then the file ends early (a cut download), and the scan says so, keeping
# what decoded. Without such a frame the length is guessed from the first frame's bitrate (off by minutes
# for VBR), so nothing is said.
_APPROXIMATE_SLACK_S = 0.5
_MP3_LENGTH_TAGS = (b"Xing", b"Info", b"VBRI")
# libsndfile's log for an Ogg stream cut before its end-of-stream page (the wording differs by version).
_OGG_CUT = ("ended unexpectedly", "lacks an end-of-stream bit")
# WAV format tags libsndfile decodes; any other tag is an unknown codec.
_WAV_TAGS = {
    0x0001: "PCM", 0x0002: "MS ADPCM", 0x0003: "IEEE float", 0x0006: "A-law", 0x0007: "mu-law",
    0x0011: "IMA ADPCM", 0x0031: "GSM 6.10", 0x0040: "G.721", 0x0055: "MPEG layer 3", 0xFFFE: "extensible",
}
_MAGIC_NAMES = ((b"RIFF", "WAV"), (b"RF64", "WAV (RF64)"), (b"fLaC", "FLAC"), (b"OggS", "OGG"), (b"ID3", "MP3"))


def _fmt_s(seconds: float) -> str:
    return f"{seconds:.3f} s"


# --------------------------------------------------------------------------------------------
# Probe
# --------------------------------------------------------------------------------------------


def _read_head(path: str) -> tuple[bytes, int]:
    """First bytes and size of a file; the access problems every format shares."""
    with file_access(path, "file"), open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(_HEAD_BYTES)
    if size == 0:
        raise InputError(path, "empty file (0 bytes)")
    return head, size


def _probe_sphere(path: str) -> AudioInfo:
    # imported when a SPHERE file turns up (its shorten decoder, imported only for shorten files, loads numba)
    from . import sphere

    try:
        info = sphere.probe_sphere(path)
    except InputError:
        raise
    except Exception as exc:  # a decoder bug must not stop a corpus
        raise InputError(path, f"unreadable SPHERE header: {type(exc).__name__}: {exc}") from None
    _check_plausible(path, info.channels, info.sample_rate)
    if info.n_samples <= 0:
        raise InputError(path, "contains no audio samples (SPHERE header only)")
    return info


@dataclass(frozen=True)
class _RiffLayout:
    """The parts of a WAV header needed to explain what libsndfile rejects or silently shortens."""

    format_tag: int | None
    channels: int | None
    sample_rate: int | None
    block_align: int | None
    data_offset: int | None
    data_size: int | None  # bytes declared; None when unset (streamed WAV)


def _parse_riff(path: str, head: bytes, size: int, src: BinaryIO | None = None) -> _RiffLayout:
    """Walk the RIFF chunks up to ``data`` (headers only, by seeking); ``src``: an open object (a URL)."""
    endian = ">" if head[:4] == b"RIFX" else "<"
    tag = channels = rate = align = data_offset = data_size = None
    ds64_data: int | None = None
    with open(path, "rb") if src is None else contextlib.nullcontext(src) as fh:
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk = fh.read(8)
            cid, csize = chunk[:4], struct.unpack(endian + "I", chunk[4:8])[0]
            if cid == b"fmt ":
                body = fh.read(min(csize, 40))
                if len(body) >= 16:
                    tag, channels, rate, _, align = struct.unpack(endian + "HHIIH", body[:14])
            elif cid == b"ds64":
                body = fh.read(16)
                if len(body) == 16:
                    ds64_data = struct.unpack("<Q", body[8:16])[0]
            elif cid == b"data":
                data_offset = pos + 8
                data_size = ds64_data if (head[:4] == b"RF64" and ds64_data is not None) else csize
                if data_size in (0, 0xFFFFFFFF):
                    data_size = None
                break
            pos += 8 + csize + (csize & 1)
    if channels == 0:
        raise InputError(path, "impossible header values: the WAV header declares 0 channels")
    if rate == 0:
        raise InputError(path, "impossible header values: the WAV header declares a sample rate of 0 Hz")
    if align == 0 and tag in (1, 3, 6, 7):
        raise InputError(path, "impossible header values: the WAV header declares 0 bytes per frame")
    return _RiffLayout(tag, channels, rate, align, data_offset, data_size)


def _looks_like_text(head: bytes) -> bool:
    sample = head[:512]
    if not sample or b"\x00" in sample:
        return False
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * len(text)


def _explain_open_failure(path: str, head: bytes, riff: _RiffLayout | None, size: int, exc: Exception) -> str:
    detail = str(exc).split(": ", 1)[-1].strip() if str(exc) else type(exc).__name__
    if "possibly a pipe" in detail:  # libsndfile's MP3 probe says so of a regular file with no MPEG frame in it
        detail = "no audio frame found"
    if riff is not None:
        if riff.format_tag is None:
            return "corrupt or truncated WAV: no 'fmt ' chunk before the audio data"
        if riff.format_tag not in _WAV_TAGS:
            return f"unknown codec: WAV format tag 0x{riff.format_tag:04X}, which libsndfile cannot decode"
        if riff.data_offset is None:
            return f"truncated WAV: the file ends ({size} bytes) before its audio data begins"
        return f"unreadable WAV ({_WAV_TAGS[riff.format_tag]}): {detail}"
    if _looks_like_text(head):
        first = head[:40].decode("utf-8", "replace").splitlines()[0] if head.strip() else ""
        return f"not audio: the file holds text (starts with {first!r})"
    for magic, name in _MAGIC_NAMES:
        if head.startswith(magic):
            return f"unreadable {name} file: {detail}"
    return f"not a recognised audio format (first bytes {head[:8].hex(' ')}): {detail}"


def _check_plausible(path: str, channels: int, sample_rate: float) -> None:
    if not 1 <= channels <= _MAX_CHANNELS:
        raise InputError(path, f"impossible header values: {channels} channels")
    if not _MIN_RATE <= sample_rate <= _MAX_RATE:
        raise InputError(path, f"impossible header values: sample rate {sample_rate:g} Hz "
                               f"(a recording is read at {_MIN_RATE} Hz to {_MAX_RATE} Hz)")


def probe(path: str | Path) -> AudioInfo:
    """What the header says (format, codec, channels, rate, length); no audio payload is decoded.

    Raises ``InputError`` for an empty, unreadable, truncated (where the header allows telling),
    non-audio or undecodable file.
    """
    p = str(path)
    if remote.is_url(p):
        return _probe_url(p)
    head, size = _read_head(p)
    if head.startswith(SPHERE_MAGIC):
        return _probe_sphere(p)
    return _probe_soundfile(p, head, size)


def _probe_url(p: str) -> AudioInfo:
    """``probe`` of an object: one open, the header read in a small range, libsndfile over it."""
    with remote.access(p), remote.open_binary(p, remote.PROBE_BLOCK) as fh:
        size = remote.size_of(fh)
        head = fh.read(_HEAD_BYTES)
        if size == 0:
            raise InputError(p, "empty file (0 bytes)")
        if head.startswith(SPHERE_MAGIC):
            return _probe_sphere(p)
        return _probe_soundfile(p, head, size, fh)


def _probe_soundfile(p: str, head: bytes, size: int, src: BinaryIO | None = None) -> AudioInfo:
    riff = (_parse_riff(p, head, size, src) if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE"
            else None)
    try:
        if src is None:
            info = sf.info(p)
        else:
            src.seek(0)
            guarded = _GuardedReads(src, p)
            info = sf.info(guarded)
            guarded.check(p)
    except InputError:
        raise
    except Exception as exc:  # libsndfile says little; say what is wrong in words
        raise InputError(p, _explain_open_failure(p, head, riff, size, exc)) from None
    _check_plausible(p, info.channels, info.samplerate)
    fmt = "WAV" if info.format in ("WAV", "WAVEX") else info.format
    repairs: list[str] = []
    log = info.extra_info or ""
    if fmt == "OGG" and any(cut in log for cut in _OGG_CUT):
        raise InputError(p, "truncated file: the OGG stream ends without its end-of-stream page")
    if riff is not None and riff.data_offset is not None:
        available = size - riff.data_offset
        if riff.data_size is None and info.frames <= 0 and available > 0:
            raise InputError(p, f"unfinished WAV: the header declares no audio length but {available} bytes follow "
                                "(the recorder never closed the file; rewrite its header, e.g. with sox or ffmpeg)")
        if riff.data_size is None:
            repairs.append("WAV data size unset (streamed recording): length taken from the file size")
        elif riff.data_size - available >= max(riff.block_align or 1, 1):
            bytes_per_s = (riff.block_align or 1) * info.samplerate
            raise InputError(
                p,
                f"truncated file: the header declares {riff.data_size} bytes of audio "
                f"({_fmt_s(riff.data_size / bytes_per_s)}) but only {available} are present "
                f"({_fmt_s(available / bytes_per_s)})",
            )
    if info.frames <= 0:
        raise InputError(p, f"contains no audio samples ({fmt} header only)")
    return AudioInfo(
        path=p,
        format=fmt,
        codec=info.subtype,
        channels=int(info.channels),
        sample_rate=int(info.samplerate),
        n_samples=int(info.frames),
        duration_s=float(info.frames) / float(info.samplerate),
        repairs=tuple(repairs),
    )


# --------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------


class _GuardedReads:
    """An object opened through fsspec, for libsndfile's virtual I/O. libsndfile cannot be told why a
    read failed (its callback just returns fewer bytes), so a failing read (network, store) ends the
    data here and keeps the exception; ``check`` then raises it as an InputError naming the URL,
    instead of libsndfile's "truncated" or a traceback printed by the callback."""

    def __init__(self, fh: BinaryIO, url: str = ""):
        self.fh, self.url, self.error = fh, url, None

    def __repr__(self) -> str:  # libsndfile's messages name the file by it
        return repr(self.url)

    def seek(self, offset: int, whence: int = 0) -> int:
        try:
            return self.fh.seek(offset, whence)
        except Exception as exc:  # noqa: BLE001 - reported by check()
            self.error = self.error or exc
            return self.fh.tell()

    def tell(self) -> int:
        return self.fh.tell()

    def read(self, n: int = -1) -> bytes:
        if self.error is not None:
            return b""
        try:
            return self.fh.read(n)
        except Exception as exc:  # noqa: BLE001 - reported by check()
            self.error = exc
            return b""

    def check(self, path: str) -> None:
        if self.error is not None:
            raise remote.input_error(path, self.error, "reading the object failed")


def _soundfile_blocks(path: str, block_samples: int) -> Iterator[np.ndarray]:
    if remote.is_url(path):
        yield from _soundfile_url_blocks(path, block_samples)
        return
    with sf.SoundFile(path) as f:
        while True:
            block = f.read(block_samples, dtype="float32", always_2d=True)
            if len(block) == 0:
                return
            yield block


@contextmanager
def open_soundfile(path: str) -> Iterator[sf.SoundFile]:
    """A seekable libsndfile reader on a local file or a URL (through fsspec's ranged reads), for
    readers that jump into a file (the explorer); store errors become an InputError naming the URL."""
    if not remote.is_url(path):
        with sf.SoundFile(path) as f:
            yield f
        return
    with remote.access(path):
        fh = remote.open_binary(path)
    with fh, sf.SoundFile(fh) as f:
        yield f


def _soundfile_url_blocks(path: str, block_samples: int) -> Iterator[np.ndarray]:
    with remote.access(path):  # only the store's errors here; the decoder's are told as for a file
        fh = remote.open_binary(path)
    with fh:
        guarded = _GuardedReads(fh, path)
        with sf.SoundFile(guarded) as f:
            while True:
                block = f.read(block_samples, dtype="float32", always_2d=True)
                guarded.check(path)
                if len(block) == 0:
                    return
                yield block


#: Codecs whose samples are floats as stored: a file can hold NaN or infinity (a broken export or effect).
FLOAT_CODECS = frozenset({"FLOAT", "DOUBLE"})


def _checked_blocks(info: AudioInfo, block_samples: int,
                    repairs: list[tuple[str, str]] | None = None, verify: bool = True) -> Iterator[np.ndarray]:
    path = info.path
    if info.format == "SPHERE":
        from . import sphere

        raw = sphere.read_sphere_blocks(path, block_samples, verify_checksum=verify)
    else:
        raw = _soundfile_blocks(path, block_samples)
    n = 0
    floats = info.codec in FLOAT_CODECS
    bad, first_bad = 0, 0
    try:
        for block in raw:
            block = np.asarray(block, dtype=np.float32)
            if block.ndim == 1:
                block = block[:, None]
            if block.shape[1] != info.channels:
                raise InputError(path, f"decoder gave {block.shape[1]} channels, header says {info.channels}")
            if floats:
                # NaN or infinity would turn every level, floor and filter after it into NaN (labels then
                # depend on the order a filter visits values): such samples are read as silence, and told
                finite = np.isfinite(block)
                if not finite.all():
                    first_bad = first_bad if bad else n + int(np.argmin(finite.all(axis=1)))
                    bad += block.size - int(np.count_nonzero(finite))
                    block = np.where(finite, block, np.float32(0.0))
            n += len(block)
            yield block
    except InputError:
        raise
    except Exception as exc:  # libsndfile/decoder failures mid-stream: name the place
        raise InputError(
            path,
            f"truncated or corrupt audio: decoding failed at {_fmt_s(n / info.sample_rate)} of "
            f"{_fmt_s(info.duration_s)} ({type(exc).__name__}: {exc})",
        ) from None
    if n < info.n_samples and info.format not in _APPROXIMATE_LENGTH:
        raise InputError(
            path,
            f"truncated file: audio ends at {_fmt_s(n / info.sample_rate)}, header says {_fmt_s(info.duration_s)}",
        )
    if info.format in _APPROXIMATE_LENGTH and repairs is not None:
        _tell_mp3_length(info, n, repairs)
    if bad and repairs is not None:
        repairs.append((path, f"{bad} non-finite sample(s) (NaN or infinity) read as silence, the first at "
                              f"{_fmt_s(first_bad / info.sample_rate)}"))


def _tell_mp3_length(info: AudioInfo, n: int, repairs: list[tuple[str, str]]) -> None:
    """What an MP3's decoded length says about the file: cut short of the frame count it states, or (no
    count stated) stopped exactly at libsndfile's guess, which for VBR is often short of the real audio."""
    short_s = (info.n_samples - n) / info.sample_rate
    if short_s <= _APPROXIMATE_SLACK_S and n != info.n_samples:
        return
    states, bitrates = _mp3_head(info.path)
    if short_s > _APPROXIMATE_SLACK_S and states:
        repairs.append((info.path, f"probably truncated: the audio ends at {_fmt_s(n / info.sample_rate)}, the "
                                   f"MP3 header says {_fmt_s(info.duration_s)} (the audio that decoded is used)"))
    elif n == info.n_samples and n > 0 and not states and len(bitrates) > 1:
        # a constant bitrate makes libsndfile's guess right: only a variable one (frames seen at several
        # bitrates) leaves audio after it
        repairs.append((info.path, f"{_fmt_s(n / info.sample_rate)} decoded, where libsndfile's guess of the length "
                                   "ends: the MP3 states no length (no Xing/Info frame; VBR) and may hold more audio "
                                   "after it; rewrite its header to read it all (ffmpeg -i IN.mp3 -c copy OUT.mp3)"))


#: Bitrates (kbps) of MPEG audio layer III by bitrate index: MPEG-1, and MPEG-2/2.5 (ISO 11172-3, 13818-3).
_MP3_KBPS = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
             2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits
#: How much of an MP3's start is read to see whether its bitrate varies (frame headers only).
_MP3_HEAD_BYTES = 1 << 20


def _mp3_head(path: str) -> tuple[bool, set[int]]:
    """(whether an MP3's first frame is a Xing/Info/VBRI frame, which holds the stream's frame count; the
    bitrates (kbps) of the layer III frames in its first ``_MP3_HEAD_BYTES``, walked header to header)."""
    with remote.access(path) if remote.is_url(path) else file_access(path, "file"):
        opened = remote.open_binary(path, remote.PROBE_BLOCK) if remote.is_url(path) else open(path, "rb")
        with opened as fh:
            head = fh.read(10)
            skip = 0
            if head[:3] == b"ID3" and len(head) == 10:  # an ID3v2 tag first: its size is 4 x 7-bit bytes
                skip = 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | head[9] & 0x7F)
            fh.seek(skip)
            data = fh.read(_MP3_HEAD_BYTES)
    sync = next((i for i in range(min(len(data), 4096) - 1) if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0), None)
    if sync is None:
        return False, set()
    states = any(tag in data[sync + 4: sync + 64] for tag in _MP3_LENGTH_TAGS)
    bitrates: set[int] = set()
    pos = sync
    while pos + 4 <= len(data):  # per frame: its 4-byte header gives its length
        b1, b2 = data[pos + 1], data[pos + 2]
        version, layer, index, rate_index = (b1 >> 3) & 3, (b1 >> 1) & 3, b2 >> 4, (b2 >> 2) & 3
        if data[pos] != 0xFF or b1 & 0xE0 != 0xE0 or layer != 1 or version == 1 or index in (0, 15) \
                or rate_index == 3:
            break  # not a layer III frame header: stop (a tag, garbage, or free format)
        kbps = _MP3_KBPS[1 if version == 3 else 2][index]
        rate = _MP3_RATES[version][rate_index]
        pos += (144 if version == 3 else 72) * kbps * 1000 // rate + ((b2 >> 1) & 1)
        bitrates.add(kbps)
    return states, bitrates

def read_blocks(
    path: str | Path, block_samples: int = DEFAULT_BLOCK_SAMPLES, *, info: AudioInfo | None = None,
    repairs: list[tuple[str, str]] | None = None, verify: bool = True,
) -> Iterator[np.ndarray]:
    """Stream a file as float32 blocks of shape (frames <= block_samples, channels), values in [-1, 1].

    The header is probed now (so a bad file raises ``InputError`` at the call, not at the first block);
    decoding happens as the blocks are consumed. Pass ``info`` from an earlier ``probe`` to skip it.
    A file that ends before its header says raises ``InputError`` after its last block. Samples a float
    file holds as NaN or infinity are read as 0; ``repairs`` (when given) receives ``(path, problem)``
    saying how many and where, after the last block. ``verify`` False skips the check of a stored
    checksum (SPHERE ``sample_checksum``): for a re-read of a file whose first read verified it.
    """
    if block_samples <= 0:
        raise ValueError("block_samples must be positive")
    if info is None:
        info = probe(path)
    return _checked_blocks(info, block_samples, repairs, verify)


def read_all(path: str | Path) -> tuple[np.ndarray, int]:
    """The whole file as float32 (frames, channels) and its sample rate."""
    info = probe(path)
    out = np.empty((info.n_samples, info.channels), np.float32)
    pos, extra = 0, []
    for block in read_blocks(path, info=info):
        take = min(len(block), len(out) - pos)
        out[pos : pos + take] = block[:take]
        pos += take
        if take < len(block):  # estimated lengths (MP3) can run long
            extra.append(block[take:])
    audio = np.concatenate([out[:pos], *extra]) if extra else out[:pos]
    return audio, info.sample_rate
