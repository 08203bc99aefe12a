"""Issue 18, fault 4: `serve` and `capture serve` on a busy port end at once with the documented exit code
(1) and a one-line reason: no banner first, and `capture serve` leaves no workspace behind."""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx
import numpy as np
import soundfile as sf

CODE = "import sys; from twotrack.cli import main; sys.argv[0] = 'twotrack'; sys.exit(main())"


def twotrack(*args, timeout=120):
    return subprocess.run([sys.executable, "-c", CODE, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def _scanned(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sf.write(corpus / "x.wav", np.zeros((16000, 2), np.float32), 16000)
    (corpus / "manifest.csv").write_text("recording_id,path\nx,x.wav\n")
    res = twotrack("scan", corpus / "manifest.csv", "-w", tmp_path / "ws", "-j", "1")
    assert res.returncode in (0, 1), res.stderr
    return tmp_path / "ws"


def test_busy_port_exits_1_with_one_line_and_no_banner(tmp_path):
    ws = _scanned(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for args, made in ((("serve", "-w", ws), None), (("capture", "serve", "-w", tmp_path / "new-ws"), tmp_path / "new-ws")):
            res = twotrack(*args, "--port", port)
            assert res.returncode == 1, (args, res.returncode, res.stdout, res.stderr)
            assert "http://" not in res.stdout and res.stdout == ""
            lines = res.stderr.strip().splitlines()
            assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0], res.stderr
            if made is not None:
                assert not made.exists()  # the workspace is not created for a server that never ran


def test_capture_serve_still_serves_on_a_free_port(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", CODE, "capture", "serve", "-w", str(tmp_path / "ws"), "--port", "0",
                             "--no-scan"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        assert "at http://127.0.0.1:" in banner and ":0/" not in banner  # the real port, not 0
        url = banner.split(" at ")[1].split(" ")[0]
        for _ in range(100):
            try:
                r = httpx.get(url + "favicon.ico", timeout=2)
                break
            except httpx.TransportError:
                import time

                time.sleep(0.1)
        assert r.status_code == 204
    finally:
        proc.terminate()
        proc.wait(20)
