"""A workspace folder that cannot be made or written (a parent that is a file, a read-only mount) is a
usage error naming the folder and the reason (exit 2), for the scan and for the readers. Before, the scan
died with a FileNotFoundError / PermissionError traceback from ``Path.mkdir`` or the lock files."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from twotrack.cli import main
from twotrack.store import Workspace, WorkspaceError


def test_a_workspace_under_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file where a folder was meant\n")
    with pytest.raises(WorkspaceError, match=r"notes\.txt/ws: cannot create or open the workspace here: Not a directory"):
        Workspace(blocker / "ws", create=True)


def test_scan_into_an_unmakeable_workspace_exits_2_without_a_traceback(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x\n")
    audio = tmp_path / "in"
    audio.mkdir()
    result = CliRunner().invoke(main, ["scan", str(audio), "-w", str(blocker / "ws"), "--no-progress", "-j", "0"])
    assert result.exit_code == 2, result.output
    assert "cannot create or open the workspace here" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
