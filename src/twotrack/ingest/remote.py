"""Source audio named by URL (``s3://``, ``gs://``, ``https://``, ...), read through fsspec.

A *URL* here is ``scheme://...`` with a scheme of two or more letters (so ``C://x`` stays a Windows
drive path); ``file://`` URLs are local paths (``local_path``) and never come here. Local paths do
not go through this module's file systems: readers call ``is_url`` (a regex) and take their usual,
unchanged path otherwise, and fsspec is imported only when the first URL is opened.

What a URL source needs, stated once (docs/scale-out.md says it for users):
- the protocol's fsspec package on every machine that reads it (``s3fs`` for ``s3://``, ``aiohttp``
  for ``http(s)://``, ``gcsfs`` for ``gs://``, ``adlfs`` for ``az://``); a missing one is an
  ``InputError`` naming the URL and the package;
- credentials the way the protocol's own tools find them (for S3: ``AWS_ACCESS_KEY_ID`` /
  ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE`` and ``~/.aws``, an instance role; ``AWS_ENDPOINT_URL``
  for an S3-compatible store), or fsspec's own configuration (``FSSPEC_S3_...`` variables, or
  ``~/.config/fsspec/*.json``); twotrack passes no options of its own;
- a size (``Content-Length`` over HTTP) and byte ranges: every reader seeks.

The change test of a rescan (``stat_source``) is the object's size and a stand-in for the mtime made
from what the store says changes with the content: the ETag (S3, HTTP), else a generation or content
MD5 (GCS, Azure), else the last-modified time. A source with none of these gets a new value on every
stat, so it is hashed again on every scan rather than trusted unchanged.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from ..errors import InputError, file_access
from ..model import ErrorRecord
from .extensions import AUDIO_EXTENSIONS, MANIFEST_EXTENSIONS

#: Bytes fetched per request while streaming an object (read-ahead; memory per open object).
READ_BLOCK = 2 << 20
#: Read-ahead while probing a header: a header read must not pull megabytes of audio.
PROBE_BLOCK = 64 << 10

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")
_LOCAL_SCHEMES = frozenset({"file", "local"})
# What to install for the protocols people use; fsspec's own message names the rest.
_PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs",
             "abfss": "adlfs", "adl": "adlfs", "http": "aiohttp", "https": "aiohttp"}
_EXTRA_HINT = "pip install 'twotrack[remote]' (s3fs and aiohttp)"
# info() keys that change with the content, strongest first (S3/HTTP, GCS, Azure, ...).
_CHANGE_KEYS = (("ETag", "etag", "e_tag"), ("generation",), ("md5Hash", "Content-MD5", "content_md5", "Digest"),
                ("LastModified", "Last-Modified", "last_modified", "updated", "mtime", "modified"))


def protocol(path: object) -> str | None:
    """The lower-case scheme of a ``scheme://`` string (two or more letters), else None."""
    if not isinstance(path, str):
        return None
    m = _SCHEME.match(path)
    return m.group(1).lower() if m else None


def is_url(path: object) -> bool:
    """True for a ``scheme://`` string read through fsspec; False for local paths (``file://``
    included), ``pathlib.Path`` objects and Windows drive letters."""
    proto = protocol(path)
    return proto is not None and proto not in _LOCAL_SCHEMES


def local_path(path: str) -> str:
    """``file:///data/x.wav`` (or ``file://localhost/...``) -> ``/data/x.wav``; anything else unchanged."""
    if protocol(path) not in _LOCAL_SCHEMES:
        return path
    parts = urlsplit(path)
    if parts.netloc not in ("", "localhost"):
        return path  # another machine's file: left as it is, it is then "not found" here
    return unquote(parts.path) or "/"


# --------------------------------------------------------------------------------------------
# Errors: fsspec's, the stores' and the network's, as one InputError naming the URL
# --------------------------------------------------------------------------------------------


def _unreachable(exc: BaseException) -> bool:
    name = type(exc).__name__  # aiohttp's ClientConnectorError, botocore's EndpointConnectionError, ...
    return "Endpoint" in name or "Connect" in name or isinstance(exc, (ConnectionError, TimeoutError))


def _problem(url: str, exc: BaseException, doing: str) -> str:
    proto = protocol(url) or "?"
    # fsspec's HTTP file system reports any failed HEAD/GET as FileNotFoundError, the reason in __cause__
    cause = exc.__cause__ if isinstance(exc, FileNotFoundError) else None
    if cause is not None and (getattr(cause, "status", None) in (401, 403) or _unreachable(cause)):
        exc = cause
    name = type(exc).__name__
    status = getattr(exc, "status", None)
    if isinstance(exc, FileNotFoundError) or status == 404:
        return "object not found (no such object, prefix or bucket)"
    if isinstance(exc, IsADirectoryError):
        return "is a prefix (folder), not an object"
    if isinstance(exc, PermissionError) or status in (401, 403):
        return (f"access denied: the store refused the credentials in use ({exc}); configure them the way "
                f"{proto}:// tools read them (docs/scale-out.md)")
    if "Credential" in name:  # botocore's NoCredentialsError / PartialCredentialsError, google-auth's
        return (f"no credentials for {proto}:// ({exc}); set them the way the protocol's own tools read them "
                "(for s3: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws, an instance role)")
    if _unreachable(exc):
        return f"cannot reach the store: {name}: {exc}"
    if "support range requests" in str(exc):  # fsspec's HTTP file: a 200 with the whole body to a Range GET
        return (f"{doing}: the HTTP server does not answer byte-range requests (the Range header), which "
                "reading audio from a URL needs (objects larger than one read block are fetched in ranges); "
                "serve the files from a server that does (nginx, Apache, caddy, object storage; Python's "
                "http.server does not) or copy them here")
    return f"{doing}: {name}: {exc}"


def input_error(url: str, exc: BaseException, doing: str = "cannot read") -> InputError:
    """``exc`` (raised while touching ``url``) as an InputError that says what went wrong in words."""
    return InputError(url, _problem(url, exc, doing))


@contextmanager
def access(url: str, doing: str = "cannot read"):
    """Turn whatever fsspec, the store or the network raises into one InputError naming ``url``."""
    try:
        yield
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - every backend has its own exception types
        raise input_error(url, exc, doing) from None


def source_access(path: str, what: str = "file", doing: str = "cannot open"):
    """``errors.file_access`` for a local path (as before), ``access`` for a URL."""
    return access(path, doing) if is_url(path) else file_access(path, what, doing)


# --------------------------------------------------------------------------------------------
# File systems and objects
# --------------------------------------------------------------------------------------------


def _filesystem(url: str) -> tuple[Any, str]:
    """(fsspec file system, path inside it) for a URL; InputError when its package is missing."""
    proto = protocol(url) or "?"
    try:
        import fsspec.core
    except ImportError:
        raise InputError(url, f"URLs are read through fsspec, which is not installed: {_EXTRA_HINT}") from None
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:
        package = _PACKAGES.get(proto)
        need = f"install {package} for {proto}://" if package else f"install the fsspec package for {proto}://"
        raise InputError(url, f"{need} (fsspec says: {exc}); for s3:// and http(s)://: {_EXTRA_HINT}") from None
    except ValueError as exc:
        if "not known" in str(exc).lower():
            raise InputError(url, f"unknown protocol {proto}://: no fsspec file system reads it") from None
        raise input_error(url, exc, "invalid URL") from None
    except Exception as exc:  # noqa: BLE001 - a backend failing to start (bad config, credentials)
        raise input_error(url, exc, "cannot set up the file system") from None


def open_binary(path: str, block_size: int = READ_BLOCK) -> BinaryIO:
    """A seekable binary file object: builtin ``open`` for a local path, fsspec for a URL (read-ahead
    of ``block_size`` bytes per request). Close it (``with``). Errors on opening a URL are InputErrors."""
    if not is_url(path):
        return open(path, "rb")
    fs, inner = _filesystem(path)
    with access(path, "cannot open"):
        fh = fs.open(inner, "rb", block_size=block_size, cache_type="readahead")
    if not fh.seekable() or getattr(fh, "size", None) is None:
        fh.close()
        raise InputError(path, "the server does not say the object's size (no Content-Length) or does not allow "
                               "byte ranges; audio readers need both")
    return fh


def size_of(fh: Any) -> int:
    """Size in bytes of an object opened by ``open_binary`` (a URL)."""
    return int(fh.size)


def change_token(info: dict[str, Any]) -> int:
    """A 63-bit number that changes when the object does (see the module doc for the keys used);
    ``time.time_ns()`` when the store says nothing usable, so the object is hashed again."""
    for keys in _CHANGE_KEYS:
        for key in keys:
            value = info.get(key)
            if value not in (None, ""):
                text = str(value).strip()
                if key.lower().replace("_", "") == "etag":
                    text = text.removeprefix("W/").strip('"')  # one object's ETag, quoted or not
                digest = hashlib.blake2b(f"{key}={text}".encode(), digest_size=8).digest()
                return int.from_bytes(digest, "little") >> 1  # fits a signed BIGINT column
    return time.time_ns()


def stat_source(path: str) -> tuple[int, int]:
    """(size in bytes, mtime_ns) of a source: ``os.stat`` for a local path; for a URL the object's
    size and ``change_token``. InputError when the object is missing or unreadable."""
    if not is_url(path):
        st = os.stat(path)
        return int(st.st_size), int(st.st_mtime_ns)
    fs, inner = _filesystem(path)
    with access(path, "cannot stat"):
        info = fs.info(inner)
    if info.get("type") == "directory":
        raise InputError(path, "is a prefix (folder), not an object")
    if info.get("size") is None:
        raise InputError(path, "the server does not say the object's size (no Content-Length)")
    return int(info["size"]), change_token(info)


# --------------------------------------------------------------------------------------------
# Listing: the URL counterpart of discover.walk_audio
# --------------------------------------------------------------------------------------------


def _full(fs: Any, name: str) -> str:
    return name if is_url(name) else fs.unstrip_protocol(name)


def list_audio(url_prefix: str) -> tuple[list[str], list[ErrorRecord]]:
    """Audio objects under a URL prefix (sorted full URLs), and one error when it cannot be listed.

    Like a folder walk: only audio extensions (any case), and no object with a hidden name (a part
    after the prefix starting with ``.``). A URL that names one object is returned as it is, whatever
    its extension (as a file named on the command line). Nothing at all under the prefix is an error.
    """
    if posixpath.splitext(urlsplit(url_prefix).path)[1].lower() in MANIFEST_EXTENSIONS:
        return [], [ErrorRecord(path=url_prefix, problem="a manifest is read from a local file only: copy it here "
                                                         "(its rows may name URLs)")]
    if posixpath.splitext(urlsplit(url_prefix).path)[1].lower() in AUDIO_EXTENSIONS:
        return [url_prefix], []  # one object: its probe says whether it exists (listing HTTP would GET it)
    try:
        fs, inner = _filesystem(url_prefix)
        with access(url_prefix, "cannot list"):
            fs.invalidate_cache(inner)  # a fresh listing every scan (fsspec keeps listings per process)
            names = fs.find(inner)
    except InputError as exc:
        return [], [ErrorRecord(path=url_prefix, problem=exc.problem)]
    base = inner.rstrip("/")
    if names == [base] or names == [inner]:  # the URL is one object
        return [url_prefix], []
    if not names:
        return [], [ErrorRecord(path=url_prefix, problem="nothing found under this URL (no such bucket or prefix, "
                                                          "or it is empty)")]
    out = []
    for name in names:
        rel = name[len(base):].lstrip("/") if name.startswith(base) else posixpath.basename(name)
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        if posixpath.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
            out.append(_full(fs, name))
    return sorted(out), []


def listing_root(url: str, urls: list[str]) -> str:
    """The root recording ids are made relative to: the prefix, or the folder of a URL naming one object."""
    return posixpath.dirname(url) if urls == [url] else url.rstrip("/")


def by_folder(urls: list[str]) -> Iterator[list[str]]:
    """Sorted URLs grouped by their folder (``posixpath.dirname``), for pairing within a folder."""
    groups: dict[str, list[str]] = {}
    for url in urls:
        groups.setdefault(posixpath.dirname(url), []).append(url)
    for folder in sorted(groups):
        yield groups[folder]
