"""Ray workers read source audio by URL: the manifest of http:// URLs scanned on Ray equals the local files' scan.

The HTTP server runs in this (the driver's) process on 127.0.0.1; Ray's workers are other processes that
reach it the way cluster workers reach object storage. A local Ray instance (2 CPUs, loopback only) is
started here unless one is already running in this pytest session.
"""

from __future__ import annotations

import logging
import os

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # before Ray is imported: bind to 127.0.0.1 only

import pytest  # noqa: E402

ray = pytest.importorskip("ray")

from test_remote import assert_same_rows, corpus, http, manifest_reference, url_manifest  # noqa: E402,F401

from twotrack.run import scan  # noqa: E402
from twotrack.run.ray_executor import RayExecutor  # noqa: E402
from twotrack.store import Workspace  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    if started:
        ray.shutdown()


def test_ray_workers_read_http_urls_and_store_the_same_rows(local_ray, corpus, http, manifest_reference, tmp_path):
    manifest = url_manifest(corpus / "manifest.csv", tmp_path / "m" / "manifest.csv", http.url)
    ex = RayExecutor()
    ws = Workspace(tmp_path / "ws", create=True)
    summary = scan([manifest], ws, executor=ex)
    assert summary.status == "completed" and (summary.found, summary.scanned, summary.failed) == (5, 5, 0)
    assert ex.stats["items"] == 5
    assert_same_rows(ws, manifest_reference, http.url, str(corpus))
