"""NIST SPHERE: header parser, header-only probe, streaming reader and writer.

Codings read: 16-bit ``pcm`` in both byte orders (``sample_byte_format`` ``01`` little-endian,
``10`` big-endian), ``ulaw``/``mu-law``, ``alaw``, ``pculaw`` (bit-reversed mu-law), each optionally
``embedded-shorten`` (v1/v2, decoded by ``ingest.shorten``), with any channel count.

Conventions, stated once:
- ``read_sphere_blocks`` yields float32 ``(frames, channels)`` scaled to [-1, 1): a 16-bit sample is
  divided by 32768; a mu-law/A-law byte becomes its G.711 16-bit linear value divided by 32768.
- ``read_sphere`` returns the whole file as int16 ``(frames, channels)``: PCM samples as stored,
  companded bytes as their 16-bit linear value (lossless: each byte has exactly one linear value).
- ``sample_checksum``, when the header has one, is verified after the last sample is decoded
  (NIST's definition: the sum, modulo 65536, of the stored 16-bit samples, or of the stored bytes
  for 1-byte codings). A mismatch is an ``InputError``, raised after the last block is yielded.
- Header quirks are read, repaired, and said in ``AudioInfo.repairs`` (plain sentences).
- A path may be a URL: the file is then opened through ``ingest.remote`` (fsspec, ranged reads with a
  bounded read-ahead) instead of ``open``; header and payload are read the same way, so reading streams.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..model import AudioInfo
from . import g711, remote

MAGIC = b"NIST_1A"
DEFAULT_BLOCK_SAMPLES = 1 << 16
_MAX_HEADER_BYTES = 1 << 20
_MAX_CHANNELS = 1024
_MAX_RATE = 1_000_000

# sample_coding spellings -> our name for the coding of each stored sample
_CODINGS = {
    "pcm": "pcm", "linear": "pcm",
    "ulaw": "ulaw", "mu-law": "ulaw", "mulaw": "ulaw", "u-law": "ulaw",
    "alaw": "alaw", "a-law": "alaw",
    "pculaw": "pculaw",
}
_BYTES_OF = {"pcm": 2, "ulaw": 1, "alaw": 1, "pculaw": 1}


def is_sphere(path: str | Path) -> bool:
    """True when the file starts with the SPHERE magic ``NIST_1A`` (whatever its extension)."""
    try:
        with remote.open_binary(str(path), remote.PROBE_BLOCK) as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except (OSError, InputError):
        return False


# --------------------------------------------------------------------------------------------
# Header
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SphereHeader:
    """A parsed SPHERE header: its declared size and its fields, typed as declared (-i/-r/-s)."""

    header_size: int
    fields: dict[str, int | float | str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # lines that did not parse and were skipped, in words

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self.fields


def _read_header_bytes(path: str) -> tuple[bytes, int]:
    # a local path: file_access and builtin open, as always; a URL: the store's errors and fsspec
    with remote.source_access(path, "file"), remote.open_binary(path, remote.PROBE_BLOCK) as fh:
        size = remote.size_of(fh) if remote.is_url(path) else os.fstat(fh.fileno()).st_size
        head = fh.read(1024)
        if head.startswith(MAGIC):
            lines = head.split(b"\n", 2)
            declared = lines[1].strip() if len(lines) > 1 else b""
            if declared.isdigit() and 1024 < int(declared) <= _MAX_HEADER_BYTES:
                head += fh.read(int(declared) - 1024)
    return head, size


def _parse(where: str, head: bytes, file_size: int | None) -> SphereHeader:
    if not head.startswith(MAGIC):
        raise InputError(where, f"not a SPHERE file: it does not start with NIST_1A (found {head[:8]!r})")
    parts = head.split(b"\n", 2)
    if len(parts) < 3:
        raise InputError(where, "SPHERE header ends before its header-size line")
    size_text = parts[1].strip().decode("ascii", "replace")
    if not size_text.isdigit():
        raise InputError(where, f"SPHERE header size line {size_text!r} is not a number")
    header_size = int(size_text)
    if header_size < 16 or header_size > _MAX_HEADER_BYTES:
        raise InputError(where, f"impossible SPHERE header size {header_size} bytes")
    if file_size is not None and file_size < header_size:
        raise InputError(where, f"truncated file: {file_size} bytes, shorter than its {header_size}-byte header")
    if len(head) < header_size:
        raise InputError(where, f"truncated header: {len(head)} bytes of a declared {header_size}")
    body = head[len(parts[0]) + len(parts[1]) + 2 : header_size]
    fields: dict[str, int | float | str] = {}
    notes: list[str] = []
    pos = 0
    ended = False
    while pos < len(body):
        nl = body.find(b"\n", pos)
        line_end = len(body) if nl < 0 else nl
        line = body[pos:line_end].rstrip(b"\r")
        text = line.decode("latin-1")
        stripped = text.strip()
        if stripped == "end_head":
            ended = True
            break
        if not stripped or stripped.startswith(";"):
            pos = line_end + 1
            continue
        name, _, rest = stripped.partition(" ")
        rest = rest.lstrip(" ")
        kind, _, value = rest.partition(" ")
        if kind.startswith("-s") and kind[2:].isdigit():
            n = int(kind[2:])
            # -sN: exactly N bytes follow one space; the value may hold spaces or even newlines
            start = min(pos + text.find(" " + kind) + 1 + len(kind) + 1, line_end)
            raw = body[start : start + n]
            if start + n != line_end:  # the writer miscounted: the value is the rest of the line
                raw = body[start:line_end].rstrip(b"\r")
                notes.append(
                    f"string field {name} declares {n} characters but its line holds {len(raw)} "
                    f"({raw.decode('latin-1')!r}); the whole line was read"
                )
            fields[name] = raw.decode("latin-1")
            pos = line_end + 1
            continue
        try:
            if kind == "-i":
                fields[name] = int(value.strip())
            elif kind == "-r":
                fields[name] = float(value.strip())
            else:
                raise ValueError
        except ValueError:
            notes.append(f"header line {stripped[:60]!r} could not be read and was skipped")
        pos = line_end + 1
    if not ended:
        raise InputError(where, f"no end_head within the {header_size}-byte SPHERE header")
    return SphereHeader(header_size=header_size, fields=fields, notes=tuple(notes))


def parse_header(path_or_bytes: str | Path | bytes) -> SphereHeader:
    """Parse a SPHERE header from a file path or from the file's first bytes.

    Raises ``InputError`` when the magic, the header-size line or ``end_head`` is missing.
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return _parse("<bytes>", bytes(path_or_bytes), None)
    path = str(path_or_bytes)
    head, size = _read_header_bytes(path)
    if size == 0:
        raise InputError(path, "empty file (0 bytes)")
    return _parse(path, head, size)


# --------------------------------------------------------------------------------------------
# Layout: what the header means, checked and repaired
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SphereLayout:
    path: str
    header: SphereHeader
    channels: int
    sample_rate: int
    n_samples: int  # per channel
    coding: str  # pcm, ulaw, alaw, pculaw
    shorten: bool
    n_bytes: int
    byte_order: str  # "<" or ">" for 2-byte pcm, "|" for 1 byte
    data_offset: int
    data_bytes: int
    checksum: int | None
    repairs: tuple[str, ...]

    @property
    def codec(self) -> str:
        if self.shorten:
            return f"shorten-{self.coding}"
        if self.coding == "pcm":
            return "pcm_s16le" if self.byte_order == "<" else "pcm_s16be"
        return self.coding


def _int_field(path: str, header: SphereHeader, name: str) -> int | None:
    value = header.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if not isinstance(value, int):
        raise InputError(path, f"impossible header values: {name} is {value!r}, not an integer")
    return value


def _guess_byte_order(path: str, data_offset: int, data_bytes: int) -> tuple[str, str]:
    """Pick the byte order under which 16-bit audio changes less from sample to sample."""
    with remote.open_binary(path, remote.PROBE_BLOCK) as fh:  # builtin open for a local path
        fh.seek(data_offset)
        raw = fh.read(min(data_bytes, 1 << 16) & ~1)
    if len(raw) < 4:
        return "<", "no sample_byte_format and too little audio to tell; read as 01 (little-endian)"
    rough = {}
    for order in "<>":
        x = np.frombuffer(raw, order + "i2").astype(np.float64)
        rough[order] = float(np.mean(np.abs(np.diff(x))))
    order = min(rough, key=rough.get)
    name = "01 (little-endian)" if order == "<" else "10 (big-endian)"
    return order, f"no usable sample_byte_format; read as {name}, the order under which the audio is smoother"


def _layout(path: str) -> SphereLayout:
    head, size = _read_header_bytes(path)
    if size == 0:
        raise InputError(path, "empty file (0 bytes)")
    header = _parse(path, head, size)
    repairs: list[str] = list(header.notes)

    coding_text = str(header.get("sample_coding", "")).strip().lower()
    if not coding_text:
        coding_text = "pcm"
        repairs.append("no sample_coding field; read as pcm, the SPHERE default")
    tokens = [t.strip() for t in coding_text.split(",") if t.strip()]
    base, extra = tokens[0], tokens[1:]
    if base not in _CODINGS:
        raise InputError(
            path, f"unknown sample_coding {coding_text!r} (known: pcm, ulaw/mu-law, alaw, pculaw, +embedded-shorten)"
        )
    coding = _CODINGS[base]
    shorten = False
    for token in extra:
        if token.startswith("embedded-shorten"):
            shorten = True
        else:
            raise InputError(path, f"unsupported sample_coding {coding_text!r}: compression {token!r} is not supported")

    channels = _int_field(path, header, "channel_count")
    if channels is None:
        channels = 1
        repairs.append("no channel_count field; read as 1 channel, the SPHERE default")
    if channels <= 0 or channels > _MAX_CHANNELS:
        raise InputError(path, f"impossible header values: channel_count {channels}")
    rate = _int_field(path, header, "sample_rate")
    if rate is None:
        raise InputError(path, "impossible header values: no sample_rate field")
    if rate <= 0 or rate > _MAX_RATE:
        raise InputError(path, f"impossible header values: sample_rate {rate}")
    n_bytes = _int_field(path, header, "sample_n_bytes")
    if n_bytes is None:
        n_bytes = _BYTES_OF[coding]
        repairs.append(f"no sample_n_bytes field; read as {n_bytes} byte(s) per sample, as {coding} implies")
    if n_bytes != _BYTES_OF[coding]:
        raise InputError(
            path,
            f"impossible header values: sample_n_bytes {n_bytes} with sample_coding {coding_text!r} "
            f"({_BYTES_OF[coding]} expected"
            + ("; 8-, 24- and 32-bit linear pcm are not supported)" if coding == "pcm" else ")"),
        )

    data_offset = header.header_size
    data_bytes = size - data_offset
    byte_order = "|"
    if coding == "pcm" and not shorten:
        fmt = str(header.get("sample_byte_format", "")).strip()
        if fmt == "01":
            byte_order = "<"
        elif fmt == "10":
            byte_order = ">"
        else:
            byte_order, note = _guess_byte_order(path, data_offset, data_bytes)
            repairs.append(note if not fmt else note.replace("no usable", f"sample_byte_format {fmt!r} is not 01/10:"))
    elif coding == "pcm":
        byte_order = "<" if str(header.get("sample_byte_format", "")).strip() == "01" else ">"

    count = _int_field(path, header, "sample_count")
    frame_bytes = channels * n_bytes
    if count is not None and count < 0:
        raise InputError(path, f"impossible header values: sample_count {count}")
    if shorten:
        if count is None:
            raise InputError(path, "shorten-compressed SPHERE without sample_count: its length cannot be known")
        if data_bytes < 5 and count > 0:
            raise InputError(path, f"truncated payload: no shorten stream after the header ({data_bytes} bytes)")
        n_samples = count
    elif count is None:
        n_samples = data_bytes // frame_bytes
        repairs.append(f"no sample_count field; {n_samples} samples per channel taken from the file size")
    else:
        n_samples = count
        expected = count * frame_bytes
        if data_bytes < expected:
            # the Switchboard quirk: the payload holds exactly sample_count samples in all
            if channels > 1 and count % channels == 0 and data_bytes // frame_bytes == count // channels:
                n_samples = count // channels
                repairs.append(
                    f"sample_count {count} counted both channels; read as {n_samples} per channel"
                    if channels == 2
                    else f"sample_count {count} counted all {channels} channels; read as {n_samples} per channel"
                )
                expected = n_samples * frame_bytes
            else:
                found = data_bytes // frame_bytes
                raise InputError(
                    path,
                    f"truncated payload: the header declares {count} samples per channel "
                    f"({expected} bytes) but the file holds {data_bytes} bytes ({found} samples per channel)",
                )
        if data_bytes > expected:
            repairs.append(f"{data_bytes - expected} bytes after the declared samples were ignored")
    checksum = _int_field(path, header, "sample_checksum")
    return SphereLayout(
        path=path, header=header, channels=channels, sample_rate=rate, n_samples=n_samples, coding=coding,
        shorten=shorten, n_bytes=n_bytes, byte_order=byte_order, data_offset=data_offset,
        data_bytes=data_bytes, checksum=checksum, repairs=tuple(repairs),
    )


def probe_sphere(path: str | Path) -> AudioInfo:
    """What the SPHERE header says (no payload decoded): format "SPHERE", codec, channels, rate,
    samples per channel, duration, the repairs made, and the raw header fields."""
    lay = _layout(str(path))
    return AudioInfo(
        path=lay.path, format="SPHERE", codec=lay.codec, channels=lay.channels, sample_rate=lay.sample_rate,
        n_samples=lay.n_samples, duration_s=lay.n_samples / lay.sample_rate, repairs=lay.repairs,
        header=dict(lay.header.fields),
    )


# --------------------------------------------------------------------------------------------
# Reading: stored values (int16 pcm samples or uint8 companded bytes), then conversions
# --------------------------------------------------------------------------------------------


def _checksum_of(values: np.ndarray) -> int:
    return int(values.sum(dtype=np.int64)) & 0xFFFF


def _raw_chunks(lay: SphereLayout, block: int) -> Iterator[np.ndarray]:
    dtype = np.dtype(lay.byte_order + "i2") if lay.coding == "pcm" else np.dtype(np.uint8)
    left = lay.n_samples
    with remote.open_binary(lay.path) as fh:  # builtin open for a local path
        fh.seek(lay.data_offset)
        while left > 0:
            n = min(block, left)
            raw = fh.read(n * lay.channels * lay.n_bytes)
            got = len(raw) // (lay.channels * lay.n_bytes)
            if got:
                chunk = np.frombuffer(raw[: got * lay.channels * lay.n_bytes], dtype).reshape(got, lay.channels)
                yield chunk.astype(np.int16, copy=False) if lay.coding == "pcm" else chunk
            left -= got
            if got < n:
                done = lay.n_samples - left
                raise InputError(
                    lay.path,
                    f"truncated payload: expected {lay.n_samples} samples per channel, found {done}",
                )


def _shorten_chunks(lay: SphereLayout, block: int) -> Iterator[np.ndarray]:
    from . import shorten

    want = lay.n_samples * lay.channels  # stored values
    done = 0
    carry = np.empty(0, np.int16 if lay.coding == "pcm" else np.uint8)
    with remote.open_binary(lay.path) as fh:  # builtin open for a local path
        fh.seek(lay.data_offset)
        stream = shorten.decode_blocks(fh, frames_per_chunk=block)
        try:
            for info, values in stream:
                if info.is_ulaw and lay.coding == "pcm":
                    raise InputError(lay.path, "header says 16-bit pcm but the shorten stream holds mu-law")
                flat = values.reshape(-1)
                if lay.coding != "pcm":
                    if info.is_ulaw:
                        flat = flat.astype(np.uint8)
                    else:  # 1-byte data shortened as 16-bit pairs: recover the bytes in the stream's order
                        order = ">" if info.ftype == shorten.TYPE_S16HL else "<"
                        flat = flat.astype(order + "i2").view(np.uint8)
                flat = flat[: want - done]
                if carry.size:
                    flat = np.concatenate([carry, flat])
                usable = flat.size - flat.size % lay.channels
                carry = flat[usable:].copy()
                if usable:
                    done += usable
                    yield flat[:usable].reshape(-1, lay.channels)
                if done >= want:
                    break
        except shorten.ShortenError as exc:
            raise InputError(lay.path, str(exc)) from None
        finally:
            stream.close()
    if done < want:
        found = done // lay.channels
        hint = ""
        if lay.channels > 1 and found > 0 and found * lay.channels == lay.n_samples:
            hint = " (the header's sample_count seems to count all channels)"
        raise InputError(
            lay.path,
            f"truncated payload: expected {lay.n_samples} samples per channel, the shorten stream holds {found}{hint}",
        )


def _stored_chunks(lay: SphereLayout, block: int) -> Iterator[np.ndarray]:
    """The samples as stored (int16 pcm or uint8 bytes), in chunks of at most ``block`` frames."""
    source = _shorten_chunks(lay, block) if lay.shorten else _raw_chunks(lay, block)
    for chunk in source:
        for start in range(0, len(chunk), block):
            yield chunk[start : start + block]


def pair_table(table: np.ndarray) -> np.ndarray:
    """The 1-byte lookup ``table`` (256 values) extended to byte *pairs*: entry ``v`` holds the values of
    the two bytes whose native 2-byte word is ``v``, as one unsigned word of twice the table's width.
    One lookup then decodes two samples: ``np.take`` of 1-byte indices spends most of its time casting
    them to 8-byte ones, and this halves the indices (the samples are the same)."""
    pairs = np.stack(np.meshgrid(np.arange(256), np.arange(256), indexing="ij"), axis=-1).reshape(-1, 2)
    words = pairs.astype(np.uint8).view(np.uint16).ravel()  # the native word of each byte pair
    out = np.empty((65536, 2), table.dtype)
    out[words] = table[pairs]
    return out.view(np.dtype(f"u{2 * table.dtype.itemsize}")).ravel()


_PAIR_TABLES: dict[tuple[str, str], np.ndarray] = {}


def _pairs_for(coding: str, kind: str, table: np.ndarray) -> np.ndarray:
    """``pair_table(table)``, made once per coding and output kind (512 KB each)."""
    key = (coding, kind)
    if key not in _PAIR_TABLES:
        _PAIR_TABLES[key] = pair_table(table)
    return _PAIR_TABLES[key]


def _lut_sum(stored: np.ndarray, table: np.ndarray, out: np.ndarray, check: bool,
             pairs: np.ndarray | None = None) -> int:
    """``out = table[stored]`` for 1-byte codings; returns the sum of the stored bytes (the checksum)
    when ``check``. numpy, not numba: the scan's workers then never import numba for SPHERE mu-law or
    A-law (numba's import and cache load were ~0.5 s of a worker's start-up; the lookup is as fast).
    ``pairs``: ``pair_table(table)``, used for the even-length bulk of a contiguous chunk (4x faster)."""
    flat, dest = stored.reshape(-1), out.reshape(-1)
    even = flat.size - flat.size % 2
    if pairs is not None and even and flat.flags.c_contiguous and dest.flags.c_contiguous:
        # mode="clip": every index is in range (uint16 into 65 536 entries, uint8 into 256), so the
        # bounds check "raise" makes per index is skipped (≈ 30 % of the lookup; the same values)
        np.take(pairs, flat[:even].view(np.uint16), out=dest[:even].view(pairs.dtype), mode="clip")
        if even < flat.size:
            dest[even:] = table[flat[even:]]
    else:
        np.take(table, stored, out=out, mode="clip")
    return int(stored.sum(dtype=np.int64)) if check else 0


def _decoded(lay: SphereLayout, block: int, kind: str, verify: bool) -> Iterator[np.ndarray]:
    """Chunks as ``kind``: "float" (float32 in [-1, 1)), "int16" (16-bit linear) or "stored"; the
    checksum is summed on the way (in the same pass as the conversion) and verified at the end."""
    check = verify and lay.checksum is not None
    table = pairs = None
    if lay.coding != "pcm" and kind != "stored":
        table = g711.LINEAR_TABLES[lay.coding]
        if kind == "float":
            table = table.astype(np.float32) / np.float32(32768)
        pairs = _pairs_for(lay.coding, kind, table)
    scale = np.float32(1 / 32768)
    total = 0
    for chunk in _stored_chunks(lay, block):
        if table is not None:
            out = np.empty(chunk.shape, table.dtype)
            total += _lut_sum(chunk, table, out, check, pairs)
            yield out
        elif kind == "float":  # 16-bit pcm: numpy's vectorised convert beats a scalar loop here
            if check:
                total += int(chunk.sum(dtype=np.int64))
            yield np.multiply(chunk, scale, dtype=np.float32)
        else:
            if check:
                total += int(chunk.sum(dtype=np.int64))
            yield chunk
    total &= 0xFFFF
    if check and total != lay.checksum & 0xFFFF:
        raise InputError(
            lay.path,
            f"sample_checksum mismatch: the header says {lay.checksum}, the decoded samples sum to {total} "
            "(corrupt payload or decoder error)",
        )


def read_sphere_blocks(
    path: str | Path, block_samples: int = DEFAULT_BLOCK_SAMPLES, *, verify_checksum: bool = True
) -> Iterator[np.ndarray]:
    """Stream a SPHERE file as float32 blocks ``(frames <= block_samples, channels)`` in [-1, 1).

    The header is read when the first block is requested. Memory is flat in file length. A bad
    header, a truncated payload, a corrupt shorten stream or a ``sample_checksum`` mismatch raises
    ``InputError`` (the checksum after the last block).
    """
    if block_samples <= 0:
        raise ValueError("block_samples must be positive")
    lay = _layout(str(path))
    yield from _decoded(lay, block_samples, "float", verify_checksum)


def read_sphere(path: str | Path, *, verify_checksum: bool = True) -> tuple[np.ndarray, int]:
    """The whole file as int16 ``(frames, channels)`` (companded bytes as their 16-bit linear value)
    and the sample rate."""
    lay = _layout(str(path))
    out = np.empty((lay.n_samples, lay.channels), np.int16)
    pos = 0
    for chunk in _decoded(lay, DEFAULT_BLOCK_SAMPLES, "int16", verify_checksum):
        out[pos : pos + len(chunk)] = chunk
        pos += len(chunk)
    return out[:pos], lay.sample_rate


def read_sphere_stored(path: str | Path, *, verify_checksum: bool = True) -> tuple[np.ndarray, str]:
    """The whole file as stored: int16 samples for pcm, uint8 bytes for mu-law/A-law/pculaw; and the coding."""
    lay = _layout(str(path))
    chunks = list(_decoded(lay, DEFAULT_BLOCK_SAMPLES, "stored", verify_checksum))
    dtype = np.int16 if lay.coding == "pcm" else np.uint8
    data = np.concatenate(chunks) if chunks else np.empty((0, lay.channels), dtype)
    return data, lay.coding


# --------------------------------------------------------------------------------------------
# Writing (tests, benchmarks, fixtures)
# --------------------------------------------------------------------------------------------

_WRITE_CODINGS = {
    "pcm": ("pcm", False), "ulaw": ("ulaw", False), "alaw": ("alaw", False),
    "shorten-pcm": ("pcm", True), "shorten-ulaw": ("ulaw", True),
}


def _header_bytes(fields: list[tuple[str, Any]], header_size: int = 1024) -> bytes:
    lines = [b"NIST_1A", f"{header_size:7d}".encode()]
    for name, value in fields:
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int):
            lines.append(f"{name} -i {value}".encode())
        elif isinstance(value, float):
            lines.append(f"{name} -r {value:.6f}".encode())
        else:
            raw = str(value).encode("latin-1")
            lines.append(f"{name} -s{len(raw)} ".encode() + raw)
    lines.append(b"end_head")
    text = b"\n".join(lines) + b"\n"
    if len(text) > header_size:
        return _header_bytes(fields, header_size + 1024)
    return text + b" " * (header_size - len(text))


def write_sphere(
    path: str | Path,
    samples_int16: np.ndarray,
    sample_rate: int,
    coding: str = "ulaw",
    *,
    byte_format: str = "01",
    extra_fields: dict[str, Any] | None = None,
    checksum: bool = True,
    shorten_blocksize: int = 256,
    shorten_encoder: Callable[..., bytes] | None = None,
) -> None:
    """Write int16 ``(frames, channels)`` audio as a SPHERE file.

    ``coding``: ``pcm`` (``byte_format`` ``01`` or ``10``), ``ulaw``, ``alaw``, ``shorten-pcm`` or
    ``shorten-ulaw``. twotrack reads shorten but ships no encoder: the shorten codings need
    ``shorten_encoder(values, ulaw=, blocksize=) -> bytes`` (the tests' ``tests/shorten_encode.py``
    builds test and benchmark files). ``extra_fields`` are added to (or override) the header, e.g. to
    build files with quirky headers for tests.
    """
    x = np.asarray(samples_int16)
    if x.ndim == 1:
        x = x[:, None]
    x = x.astype(np.int16, copy=False)
    if coding not in _WRITE_CODINGS:
        raise ValueError(f"coding must be one of {sorted(_WRITE_CODINGS)}")
    base, compressed = _WRITE_CODINGS[coding]
    if compressed and shorten_encoder is None:
        raise ValueError(f"coding {coding!r} needs shorten_encoder= (twotrack ships no shorten encoder)")
    if base == "pcm":
        stored = x
        order = "<" if byte_format == "01" else ">"
        payload_values = x
    else:
        stored = g711.linear_to_ulaw(x) if base == "ulaw" else g711.linear_to_alaw(x)
        order = "|"
        payload_values = stored
    fields: list[tuple[str, Any]] = [
        ("channel_count", int(x.shape[1])),
        ("sample_count", int(x.shape[0])),
        ("sample_rate", int(sample_rate)),
        ("sample_n_bytes", 2 if base == "pcm" else 1),
        ("sample_byte_format", byte_format if base == "pcm" else "1"),
        ("sample_coding", {"pcm": "pcm", "ulaw": "ulaw", "alaw": "alaw"}[base] + (",embedded-shorten-v2.00" if compressed else "")),
    ]
    if base == "pcm":
        fields.append(("sample_sig_bits", 16))
    if checksum:
        fields.append(("sample_checksum", _checksum_of(stored)))
    if extra_fields:
        names = [n for n, _ in fields]
        for name, value in extra_fields.items():
            if name in names:
                fields[names.index(name)] = (name, value)
            else:
                fields.append((name, value))
        fields = [(n, v) for n, v in fields if v is not None]
    if compressed:
        payload = shorten_encoder(payload_values, ulaw=(base == "ulaw"), blocksize=shorten_blocksize)
    else:
        payload = np.ascontiguousarray(payload_values).astype(order + "i2" if base == "pcm" else np.uint8).tobytes()
    with open(path, "wb") as fh:
        fh.write(_header_bytes(fields))
        fh.write(payload)
