"""Source audio named by URL: read, hashed and scanned through fsspec, with the same results as local files.

Real servers on the loopback interface, started by the tests: a small threaded HTTP server with byte
ranges (below) and moto's standalone S3 server (``ThreadedMotoServer``), which s3fs reaches through the
standard ``AWS_ENDPOINT_URL`` variable with fake keys. The corpus is a handful of 5 s excerpts of the
bundled sample dialogues in every layout the readers have: two-channel FLAC, SPHERE (mu-law and
shorten), and a pair of mono WAVs. Each URL scan is compared with the scan of the same files on disk,
table by table and row for row (the URL written as the local path; ``mtime_ns`` is the one column that
differs by design: an ETag-derived change token for objects).
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import re
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from twotrack.errors import InputError
from twotrack.ingest import remote
from twotrack.ingest.audio import probe, read_all, read_blocks
from twotrack.ingest.hashing import sha256_file
from twotrack.ingest.manifest import read_manifest
from twotrack.ingest.tracks import load_tracks
from twotrack.run import LocalExecutor, scan
from twotrack.store import Workspace, queries

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
REPO = SAMPLE.parents[1]
TABLES = ("recordings", "tracks", "speakers", "sources", "checks", "track_quality", "track_activity", "activity",
          "events", "errors", "stage_results")
# when and how long (not what), and mtime_ns: a file's mtime locally, a change token for an object
VOLATILE = {"run_id", "scanned_at", "created_at", "computed_at", "seconds", "mtime_ns"}
AUDIO = ("clean/demo01.flac", "clean/demo02.flac", "telephone/demo01.sph", "telephone/demo02.sph",
         "paired/demo01.A.wav", "paired/demo01.B.wav")


# ---------------------------------------------------------------------------------------------
# a real HTTP server with byte ranges (http.server has none), on 127.0.0.1
# ---------------------------------------------------------------------------------------------


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with ``Range: bytes=a-b`` (206), Content-Length, ETag and Last-Modified; folders
    as the standard HTML listing; anything under ``forbidden/`` answers 403."""

    def log_message(self, *args):
        pass

    def send_head(self):
        self.left = None
        if self.path.startswith("/forbidden/"):
            self.send_error(403, "Forbidden")
            return None
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            return super().send_head()
        try:
            fh = open(path, "rb")
        except OSError:
            self.send_error(404, "Not Found")
            return None
        st = os.fstat(fh.fileno())
        size, start, end = st.st_size, 0, st.st_size - 1
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:
                start = max(0, size - int(m.group(2)))
            if start >= size:
                fh.close()
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{st.st_mtime_ns:x}-{size:x}"')
        self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
        self.end_headers()
        fh.seek(start)
        self.left = end - start + 1
        return fh

    def copyfile(self, source, outputfile):
        if self.left is None:
            return super().copyfile(source, outputfile)
        while self.left > 0:
            chunk = source.read(min(self.left, 1 << 16))
            if not chunk:
                break
            outputfile.write(chunk)
            self.left -= len(chunk)


class Served:
    """``root`` served at ``url`` until ``close``; ``requests`` counts what was asked for, ``whole_gets``
    the GETs of a file without a byte range, ``sent`` the bytes of files sent."""

    def __init__(self, root: Path):
        self.requests = self.whole_gets = self.sent = 0
        outer = self

        class Counting(RangeHandler):
            def send_head(self):
                outer.requests += 1
                if self.command == "GET" and "Range" not in self.headers and not self.path.endswith("/"):
                    outer.whole_gets += 1
                return super().send_head()

            def copyfile(self, source, outputfile):
                left = self.left or 0
                super().copyfile(source, outputfile)
                outer.sent += left - (self.left or 0)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Counting, directory=str(root)))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------------
# the corpus, the servers, the local references
# ---------------------------------------------------------------------------------------------


def _cut(src: Path, dst: Path, start_s: float, dur_s: float, subtype: str | None = None) -> None:
    info = sf.info(str(src))
    data, rate = sf.read(str(src), start=int(start_s * info.samplerate), frames=int(dur_s * info.samplerate),
                         dtype="int16", always_2d=True)
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(dst), data, rate, subtype=subtype or info.subtype)


def make_remote_corpus(root: Path) -> Path:
    """5 s excerpts in every layout, plus a manifest of them (relative paths) with speakers and tags."""
    from shorten_encode import encode_shorten
    from twotrack.ingest.sphere import read_sphere, write_sphere

    _cut(SAMPLE / "clean/demo01_367_1688.flac", root / AUDIO[0], 3.0, 5.0)
    _cut(SAMPLE / "clean/demo02_3080_2033.flac", root / AUDIO[1], 3.0, 5.0)
    (root / "telephone").mkdir(parents=True)
    samples, rate = read_sphere(SAMPLE / "telephone/demo01_367_1688.sph")
    write_sphere(root / AUDIO[2], samples[3 * rate: 8 * rate], rate, "ulaw")
    samples, rate = read_sphere(SAMPLE / "telephone/demo02_3080_2033.sph")
    write_sphere(root / AUDIO[3], samples[3 * rate: 8 * rate], rate, "shorten-pcm", shorten_encoder=encode_shorten)
    for side, rel in zip("AB", AUDIO[4:]):
        _cut(SAMPLE / f"paired/demo01_367_1688.{side}.wav", root / rel, 3.0, 5.0)
    lines = ["recording_id,path,path_a,path_b,speaker_a,speaker_b,license,tags"]
    for i, rel in enumerate(AUDIO[:4]):
        lines.append(f"{rel.rsplit('.', 1)[0]},{rel},,,s{i}a,s{i}b,CC-BY-4.0,rendition:{rel.split('/')[0]}")
    lines.append(f"paired/demo01,,{AUDIO[4]},{AUDIO[5]},p1,p2,CC0-1.0,rendition:paired")
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


def url_manifest(local: Path, dst: Path, base: str) -> Path:
    """The same manifest with every audio path an absolute URL under ``base``."""
    text = local.read_text()
    for rel in AUDIO:
        text = text.replace(f",{rel}", f",{base}/{rel}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(text)
    return dst


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_remote_corpus(tmp_path_factory.mktemp("remote") / "corpus")


@pytest.fixture(scope="module")
def http(corpus):
    served = Served(corpus)
    yield served
    served.close()


@pytest.fixture(scope="module")
def manifest_reference(corpus, tmp_path_factory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("ref_manifest") / "ws", create=True)
    summary = scan([corpus / "manifest.csv"], ws, jobs=0)
    assert summary.status == "completed" and (summary.found, summary.scanned, summary.failed) == (5, 5, 0)
    return ws


@pytest.fixture(scope="module")
def folder_reference(corpus, tmp_path_factory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("ref_folder") / "ws", create=True)
    summary = scan([corpus], ws, jobs=0)
    assert summary.status == "completed" and (summary.found, summary.scanned, summary.failed) == (5, 5, 0)
    return ws


@pytest.fixture(scope="module")
def s3(corpus):
    """moto's S3 server on loopback, the corpus uploaded under s3://corpus-bucket/data/; s3fs finds it
    through AWS_ENDPOINT_URL and fake keys, the way a real deployment configures an S3-compatible store."""
    pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "fake",
                           "AWS_SECRET_ACCESS_KEY": "fake", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            mp.setenv(key, value)
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()
        fs = s3fs.S3FileSystem()
        fs.mkdir("corpus-bucket")
        for rel in AUDIO:
            fs.put_file(str(corpus / rel), f"corpus-bucket/data/{rel}")
        fs.pipe_file("corpus-bucket/data/.hidden/x.wav", (corpus / AUDIO[4]).read_bytes())
        fs.pipe_file("corpus-bucket/data/notes.txt", b"not audio")
        yield fs
        s3fs.S3FileSystem.clear_instance_cache()
    server.stop()


def rows(ws: Workspace, table: str, url: str | None = None, local: str | None = None) -> list[dict]:
    """A table's rows without the volatile columns, sorted; strings naming ``url`` rewritten to ``local``."""
    cols = [r["column_name"] for r in ws.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]) if r["column_name"] not in VOLATILE]
    out = ws.query(f"SELECT {', '.join(cols)} FROM {table}")
    if url:
        out = [{k: v.replace(url, local) if isinstance(v, str) else v for k, v in r.items()} for r in out]
    return sorted(out, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def assert_same_rows(ws: Workspace, reference: Workspace, url: str, local: str) -> None:
    for table in TABLES:
        got, want = rows(ws, table, url, local), rows(reference, table)
        assert len(got) == len(want), table
        assert got == want, table
    counts = queries.counts(ws)
    assert counts["activity"] > 0 and counts["events"] > 0 and counts["sources"] == 6  # not a vacuous match


# ---------------------------------------------------------------------------------------------


def test_what_is_a_url():
    assert remote.is_url("s3://bucket/x.flac") and remote.is_url("https://h/x.wav") and remote.is_url("gs://b/k")
    assert not remote.is_url("/data/x.flac") and not remote.is_url("x.flac") and not remote.is_url("C:\\x.wav")
    assert not remote.is_url("c://x.wav")  # a drive letter, not a scheme
    assert not remote.is_url("file:///data/x.flac") and not remote.is_url(Path("s3://b/x"))
    assert remote.local_path("file:///data/my%20x.flac") == "/data/my x.flac"
    assert remote.local_path("file://localhost/data/x.flac") == "/data/x.flac"
    assert remote.local_path("/data/x.flac") == "/data/x.flac"


def test_over_http_probe_read_hash_and_tracks_equal_the_local_files(corpus, http):
    for rel in AUDIO:
        url, path = f"{http.url}/{rel}", str(corpus / rel)
        got, want = probe(url), probe(path)
        assert got.path == url
        assert {**got.to_dict(), "path": path} == want.to_dict(), rel
        assert sha256_file(url) == sha256_file(path)
        a, rate = read_all(url)
        b, _ = read_all(path)
        assert rate == got.sample_rate and a.shape == b.shape and np.array_equal(a, b), rel
        # streamed: many small blocks, each read as it is consumed
        blocks = list(read_blocks(url, 4096))
        assert len(blocks) > 5 and np.array_equal(np.concatenate(blocks), b)
    # a paired recording from a manifest of URLs: the tracks engine reads both objects
    (rec,) = [r for r in read_manifest_of_urls(corpus, http.url).recordings if r.recording_id == "paired/demo01"]
    local = [r for r in read_manifest(corpus / "manifest.csv").recordings if r.recording_id == "paired/demo01"][0]
    assert [t.path for t in rec.tracks] == [f"{http.url}/{AUDIO[4]}", f"{http.url}/{AUDIO[5]}"]
    assert [t.sha256 for t in rec.tracks] == [t.sha256 for t in local.tracks]
    x, y = load_tracks(rec, 8000), load_tracks(local, 8000)
    assert x.sample_rate == y.sample_rate == 8000 and np.array_equal(x.samples, y.samples)


def test_reading_an_object_streams_it_in_ranges(tmp_path):
    """The first blocks of a long object cost a few ranges, not the object; the rest streams on demand."""
    from twotrack.ingest.sphere import write_sphere

    rng = np.random.default_rng(3)
    audio = (rng.standard_normal((180 * 16000, 2)) * 3000).astype(np.int16)  # 3 min, 11.5 MB as PCM
    sf.write(tmp_path / "long.wav", audio, 16000, subtype="PCM_16")
    write_sphere(tmp_path / "long.sph", audio, 16000, "pcm")
    box = Served(tmp_path)
    try:
        for name in ("long.wav", "long.sph"):
            size = (tmp_path / name).stat().st_size
            box.sent = 0
            blocks = read_blocks(f"{box.url}/{name}", 4096)
            first = [next(blocks) for _ in range(3)]
            assert box.sent < size / 2, (name, box.sent, size)  # header probe + one read-ahead window
            got = np.concatenate(first + list(blocks))
            assert np.array_equal(got, read_all(tmp_path / name)[0])
            assert size <= box.sent < 1.5 * size  # everything, about once
    finally:
        box.close()


def read_manifest_of_urls(corpus: Path, base: str):
    return read_manifest(url_manifest(corpus / "manifest.csv", corpus.parent / "urls" / "manifest.csv", base))


def test_a_manifest_of_http_urls_scans_like_the_local_files_row_for_row(corpus, http, manifest_reference, tmp_path):
    manifest = url_manifest(corpus / "manifest.csv", tmp_path / "m" / "manifest.csv", http.url)
    ws = Workspace(tmp_path / "ws", create=True)
    summary = scan([manifest], ws, jobs=0)
    assert summary.status == "completed" and (summary.found, summary.scanned, summary.failed) == (5, 5, 0)
    assert all(p.startswith(http.url) for r in queries.recordings(ws) for p in r.source_paths)
    assert_same_rows(ws, manifest_reference, http.url, str(corpus))
    again = scan([manifest], ws, jobs=0)  # unchanged objects (same size and ETag): nothing is read again
    assert (again.scanned, again.skipped) == (0, 5)


def test_a_url_folder_over_http_is_listed_like_a_folder(corpus, http, folder_reference, tmp_path):
    ws = Workspace(tmp_path / "ws", create=True)
    summary = scan([f"{http.url}/"], ws, jobs=0)  # the server's HTML index pages, as fsspec lists them
    assert summary.status == "completed" and summary.scanned == 5
    assert_same_rows(ws, folder_reference, http.url, str(corpus))


def test_an_s3_prefix_scans_like_the_local_folder_and_a_changed_object_is_rescanned(
        corpus, s3, folder_reference, tmp_path):
    urls, errors = remote.list_audio("s3://corpus-bucket/data/")
    assert errors == [] and urls == [f"s3://corpus-bucket/data/{rel}" for rel in sorted(AUDIO)]  # no hidden, no .txt
    ws = Workspace(tmp_path / "ws", create=True)
    # the default executor: spawned worker processes, which find the store through the same environment
    summary = scan(["s3://corpus-bucket/data/"], ws, executor=LocalExecutor(2))
    assert summary.status == "completed" and (summary.found, summary.scanned, summary.failed) == (5, 5, 0)
    assert {r.recording_id for r in queries.recordings(ws)} == {
        "clean/demo01", "clean/demo02", "telephone/demo01", "telephone/demo02", "paired/demo01"}
    assert_same_rows(ws, folder_reference, "s3://corpus-bucket/data", str(corpus))

    # Same size, other content: the ETag changes, so the rescan hashes it again and rescans that recording.
    b = f"corpus-bucket/data/{AUDIO[5]}"
    assert s3.size(b) == (corpus / AUDIO[4]).stat().st_size
    s3.pipe_file(b, (corpus / AUDIO[4]).read_bytes())
    again = scan(["s3://corpus-bucket/data/"], ws, jobs=0)
    assert (again.scanned, again.skipped) == (1, 4)
    (src,) = [s for s in ws.query("SELECT path, sha256 FROM sources") if s["path"].endswith(AUDIO[5])]
    assert src["sha256"] == sha256_file(corpus / AUDIO[4])


def test_bad_urls_are_one_error_each_naming_the_url_and_the_scan_goes_on(corpus, http, s3, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    raw = (corpus / AUDIO[4]).read_bytes()
    (served / "cut.wav").write_bytes(raw[: len(raw) // 2])  # the WAV header promises twice as much
    flac = (corpus / AUDIO[0]).read_bytes()
    (served / "cut.flac").write_bytes(flac[: len(flac) // 2])  # header fine; the audio stops midway
    box = Served(served)
    try:
        rows_ = [("good", f"{http.url}/{AUDIO[0]}"), ("missing", f"{http.url}/nothing/here.wav"),
                 ("cut_wav", f"{box.url}/cut.wav"), ("cut_flac", f"{box.url}/cut.flac"),
                 ("unknown", "foo://host/x.wav"), ("denied", f"{http.url}/forbidden/x.wav"),
                 ("no_object", "s3://corpus-bucket/data/nope.flac"), ("no_bucket", "s3://no-such-bucket/x.flac"),
                 ("dead_server", "http://127.0.0.1:9/x.wav")]
        manifest = tmp_path / "m.csv"
        manifest.write_text("recording_id,path\n" + "".join(f"{rid},{url}\n" for rid, url in rows_))
        ws = Workspace(tmp_path / "ws", create=True)
        summary = scan([manifest, "s3://no-such-bucket/prefix/"], ws, jobs=0)
        first = sorted((e.path, e.problem) for e in queries.errors(ws))
        again = scan([manifest, "s3://no-such-bucket/prefix/"], ws, jobs=0)
        assert (again.scanned, again.skipped) == (0, 2)
        assert sorted((e.path, e.problem) for e in queries.errors(ws)) == first  # replaced, not piled up
    finally:
        box.close()
    assert summary.status == "completed"
    assert (summary.found, summary.scanned, summary.failed) == (2, 2, 1)  # good, and cut_flac fails decoding
    assert queries.recording(ws, "good").recording_id == "good"
    problems = {e.path: e.problem for e in queries.errors(ws)}
    assert len(problems) == len(queries.errors(ws)) == 9
    url = dict(rows_)
    assert problems[url["missing"]].startswith("object not found")
    # the same words as for the same bytes on disk
    with pytest.raises(InputError) as local:
        probe(served / "cut.wav")
    assert problems[url["cut_wav"]] == local.value.problem + " (manifest m.csv line 4)"
    assert local.value.problem.startswith("truncated file: the header declares")
    with pytest.raises(InputError) as local:
        list(read_blocks(served / "cut.flac"))
    assert problems[url["cut_flac"]] == local.value.problem
    assert local.value.problem.startswith("truncated or corrupt audio: decoding failed at")
    assert problems[url["unknown"]].startswith("unknown protocol foo://")
    assert problems[url["denied"]].startswith("access denied")
    assert problems[url["no_object"]].startswith("object not found")
    assert problems[url["no_bucket"]].startswith("object not found")
    assert problems[url["dead_server"]].startswith("cannot reach the store")
    assert problems["s3://no-such-bucket/prefix/"].startswith("object not found")


PROBE = r"""
import sys
{setup}
from twotrack.errors import InputError
from twotrack.ingest.audio import probe
try:
    probe(sys.argv[1])
except InputError as exc:
    print(exc)
"""


def test_a_missing_protocol_package_or_missing_credentials_say_what_to_do(tmp_path):
    # s3fs not installed (as on a worker without the extra)
    out = subprocess.run([sys.executable, "-c", PROBE.format(setup="sys.modules['s3fs'] = None"), "s3://b/x.flac"],
                         capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.stdout.strip().startswith("s3://b/x.flac: install s3fs for s3://"), out
    assert "pip install 'twotrack[remote]'" in out.stdout
    # s3fs installed, no credentials anywhere (no keys, no profile files, no instance metadata)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", AWS_ENDPOINT_URL="http://127.0.0.1:9")
    out = subprocess.run([sys.executable, "-c", PROBE.format(setup=""), "s3://b/x.flac"], capture_output=True,
                         text=True, timeout=60, cwd=REPO, env=env)
    assert out.stdout.strip().startswith("s3://b/x.flac: no credentials for s3://"), out
    assert "AWS_ACCESS_KEY_ID" in out.stdout


def test_local_reading_never_imports_fsspec(corpus):
    code = ("import sys; from twotrack.ingest.audio import probe, read_all; from twotrack.ingest.hashing import "
            "sha256_file; from twotrack.run.scanning import _stat; from twotrack.ingest.discover import discover; "
            "[(probe(p), read_all(p), sha256_file(p), _stat(p)) for p in sys.argv[1:]]; "
            "recs, errs = discover([sys.argv[1].rsplit('/', 2)[0]]); assert len(recs) == 5 and not errs, errs; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fsspec', 's3fs', 'aiohttp')))")
    out = subprocess.run([sys.executable, "-c", code, *(str(corpus / rel) for rel in AUDIO)], capture_output=True,
                         text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_file_urls_are_local_paths(corpus, folder_reference, tmp_path):
    ws = Workspace(tmp_path / "ws", create=True)
    summary = scan([f"file://{corpus}"], ws, jobs=0)
    assert summary.status == "completed" and summary.scanned == 5
    assert all(p.startswith(str(corpus)) for r in queries.recordings(ws) for p in r.source_paths)


def test_a_url_naming_one_object_is_one_recording_named_by_its_stem(corpus, http, tmp_path):
    ws = Workspace(tmp_path / "ws", create=True)
    before = http.whole_gets
    summary = scan([f"{http.url}/{AUDIO[0]}", f"{http.url}/clean/missing.flac"], ws, jobs=0)
    assert (summary.found, summary.scanned) == (1, 1)
    assert [r.recording_id for r in queries.recordings(ws)] == ["demo01"]
    assert [e.problem for e in summary.errors] == ["object not found (no such object, prefix or bucket)"]
    assert http.whole_gets - before <= 1  # not listed (an HTTP "listing" of a file GETs all of it); the
    # one whole GET: fsspec retries a 404 HEAD of the missing object as a GET


def test_a_manifest_url_argument_and_a_transcript_url_are_refused_clearly(corpus, http, tmp_path):
    ws = Workspace(tmp_path / "ws", create=True)
    summary = scan([f"{http.url}/manifest.csv"], ws, jobs=0)
    assert summary.found == 0 and summary.errors[0].problem.startswith("a manifest is read from a local file only")
    (tmp_path / "m.csv").write_text(f"recording_id,path,transcript\nx,{http.url}/{AUDIO[0]},{http.url}/x.ctm\n")
    found = read_manifest(tmp_path / "m.csv")
    assert found.recordings == [] and "transcript" in found.errors[0].problem and "URL" in found.errors[0].problem


def test_stat_of_an_object_and_its_change_token(http):
    with pytest.raises(InputError, match="not found"):
        remote.stat_source(f"{http.url}/nothing.wav")
    size, token = remote.stat_source(f"{http.url}/{AUDIO[0]}")
    assert size > 0 and remote.stat_source(f"{http.url}/{AUDIO[0]}") == (size, token)
    assert remote.change_token({"ETag": '"abc"'}) == remote.change_token({"ETag": "abc"})
    assert remote.change_token({"ETag": '"abc"'}) != remote.change_token({"ETag": '"abd"'})
    assert remote.change_token({}) != remote.change_token({})  # nothing to tell a change by: never trusted


def test_the_explorer_plays_and_draws_url_sources(corpus, http, manifest_reference, tmp_path):
    """Audio regions seek into the object by byte ranges; they equal the explorer's answer on the local files."""
    from fastapi.testclient import TestClient

    from twotrack.show import create_app

    manifest = url_manifest(corpus / "manifest.csv", tmp_path / "m" / "manifest.csv", http.url)
    ws = Workspace(tmp_path / "ws", create=True)
    assert scan([manifest], ws, jobs=0).failed == 0
    params = {"tracks": "both", "start": 1.25, "end": 2.5}
    with TestClient(create_app(ws, cache_dir=tmp_path / "peaks"), raise_server_exceptions=False) as remote_app, \
            TestClient(create_app(manifest_reference, cache_dir=tmp_path / "peaks_local"),
                       raise_server_exceptions=False) as local_app:
        for rec in queries.recordings(ws):
            rid = rec.recording_id
            got = remote_app.get(f"/api/recordings/{rid}/audio", params=params)
            want = local_app.get(f"/api/recordings/{rid}/audio", params=params)
            assert got.status_code == want.status_code == 200, (rid, got.text)
            assert got.content == want.content, rid
            peaks = remote_app.get(f"/api/recordings/{rid}/peaks", params={"start": 0, "end": 3})
            assert peaks.status_code == 200 and peaks.json() == local_app.get(
                f"/api/recordings/{rid}/peaks", params={"start": 0, "end": 3}).json()
