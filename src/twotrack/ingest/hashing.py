"""Content hashes of source files: a file is identified by what it holds, not where it lies."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import file_access
from . import remote

#: Bytes read per call: large enough that hashing runs at disk/sha256 speed, small enough to stay flat.
CHUNK_BYTES = 1 << 20


def sha256_file(path: str | Path, chunk_bytes: int = CHUNK_BYTES) -> str:
    """Hex sha256 of a file's bytes, read in fixed-size chunks into one reused buffer.

    A URL (``s3://``, ``https://``, ...) is streamed from the store the same way (``ingest.remote``),
    in ranged requests of ``chunk_bytes`` plus read-ahead; memory stays flat.
    """
    digest = hashlib.sha256()
    buf = bytearray(chunk_bytes)
    view = memoryview(buf)
    if remote.is_url(path):
        access = remote.access(path, "cannot read the object to hash it")
        opened = remote.open_binary
    else:
        access = file_access(path, "file", doing="cannot read the file to hash it")
        opened = lambda p, size: open(p, "rb", buffering=0)  # noqa: E731 - unbuffered: readinto fills buf
    with access, opened(path, chunk_bytes) as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            digest.update(view[:n])
    return digest.hexdigest()
