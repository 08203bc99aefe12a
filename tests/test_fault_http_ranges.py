"""Audio served over HTTP by a server that ignores byte ranges (Python's ``http.server``, the first thing a
team tries): an object larger than one read block cannot be streamed, and the error says why in words and
what to do, naming the URL; smaller objects (one read) and the rest of the scan go on. Before, the error was
fsspec's own advice ("Open with block_size=0 for a streaming file interface"), which a user cannot act on."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import soundfile as sf

from twotrack.run import scan
from twotrack.store import Workspace, queries


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_a_server_without_ranges_is_named_with_what_to_do(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    x = (np.random.default_rng(1).standard_normal((48000 * 25, 2)) * 0.05).astype(np.float32)
    sf.write(served / "big.wav", x, 48000, subtype="PCM_16")  # 4.8 MB: more than fsspec fetches in one read
    sf.write(served / "small.wav", x[: 48000 * 3], 48000, subtype="PCM_16")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(served)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        summary = scan([f"{base}/big.wav", f"{base}/small.wav"], tmp_path / "ws", jobs=0)
    finally:
        server.shutdown()
        server.server_close()
    ws = Workspace(tmp_path / "ws")
    assert summary.failed == 1 and queries.recording(ws, "small") is not None
    (err,) = queries.errors(ws)
    assert err.path == f"{base}/big.wav"
    assert "the HTTP server does not answer byte-range requests" in err.problem
    assert "block_size" not in err.problem
