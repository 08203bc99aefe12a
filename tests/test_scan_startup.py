"""What a scan worker loads before its first recording: the stages' libraries, not the command line or the
workspace. Spawned workers re-run the parent's main module, so the console script must import nothing heavy."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

#: Loaded by the command line and the workspace (the scan's main process), never needed by a worker.
MAIN_ONLY = ("click", "rich", "duckdb", "pyarrow", "twotrack.cli", "twotrack.store.workspace",
             "twotrack.store.queries", "twotrack.store.columns", "twotrack.run.scanning")


def _loaded_after(statement: str) -> list[str]:
    code = (f"import sys; {statement}; "
            f"print(' '.join(m for m in {MAIN_ONLY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_a_worker_with_the_whole_pipeline_loads_nothing_of_the_main_process():
    assert _loaded_after("import twotrack.run.worker, twotrack.run.pipeline") == []
    # the guard is not vacuous: the scan itself does load them
    assert set(_loaded_after("from twotrack.run import scan")) >= {"duckdb", "pyarrow", "twotrack.run.scanning"}


def test_the_console_script_imports_the_command_line_only_when_it_runs():
    (entry,) = [e for e in metadata.entry_points(group="console_scripts") if e.name == "twotrack"]
    assert entry.value == "twotrack.__main__:main"
    assert _loaded_after("import twotrack.__main__") == []
    out = subprocess.run([sys.executable, "-m", "twotrack", "--version"], capture_output=True, text=True, check=True)
    assert "twotrack" in out.stdout


def test_the_lazy_names_import_in_a_fresh_interpreter():
    """Each name the two packages load on first use, first thing in a fresh interpreter (a package's own
    ``from . import x`` inside its ``__getattr__`` recursed for ``queries``)."""
    for statement in ("from twotrack.store import queries; queries.errors",
                      "from twotrack.store import PlanView, Workspace, WriteSession, LockTimeout, STAGES, MIGRATIONS",
                      "import twotrack.store as s; s.queries.recording; s.ResultWrite; s.WorkspaceBusy",
                      "from twotrack.run import scan, ScanSummary",
                      "import twotrack.run as r; r.scan; r.ScanSummary"):
        out = subprocess.run([sys.executable, "-c", statement], capture_output=True, text=True)
        assert out.returncode == 0, f"{statement}: {out.stderr[-500:]}"


def test_writing_results_to_the_workspace_does_not_import_pandas(tmp_path):
    """``pa.array`` imports pandas (0.5 CPU s) wherever it is installed; the store builds its arrow tables
    without it, so a scan's main process never loads it (frames kept too: they go through the same builder)."""
    import importlib.util

    assert importlib.util.find_spec("pandas") is not None  # installed here (test extra): the guard can fail
    sample = "data/sample/clean/demo01_367_1688.flac"
    code = ("import sys; from twotrack.run import scan; "
            f"s = scan([{sample!r}], {str(tmp_path / 'ws')!r}, jobs=0, keep_probs=True); "
            "assert s.scanned == 1, s; print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(Path(__file__).resolve().parents[1]))
    assert out.returncode == 0, out.stderr[-800:]
    assert out.stdout.split()[-1] == "False"
