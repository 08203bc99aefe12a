"""Serve an ASGI app on 127.0.0.1 at an ephemeral port in a thread, for tests that drive a real browser."""

from __future__ import annotations

import contextlib
import threading
import time


@contextlib.contextmanager
def served(app, what: str = "the server", start_timeout_s: float = 30.0):
    """Yield the app's base URL (``http://127.0.0.1:PORT``); stop the server on exit."""
    import uvicorn

    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not (srv.started and srv.servers):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)
