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


def test_every_command_is_in_the_lazy_table_and_only_its_own_module_loads():
    """``twotrack.cli`` imports no command module until a command is looked up; the table names every
    command some module registers (a module added without its row would never be listed)."""
    code = ("import sys, pkgutil, twotrack.cli as c; "
            "first = sorted(m for m in sys.modules if m.startswith('twotrack.cli.') and m != 'twotrack.cli.group'); "
            "c.main.get_command(None, 'scan'); "
            "after_scan = sorted(m for m in sys.modules if m.startswith('twotrack.cli.')); "
            "[__import__('twotrack.cli.' + m.name) for m in pkgutil.iter_modules(c.__path__)]; "
            "print(first, after_scan, sorted(c.main.commands) == sorted(c.COMMANDS), sep='|')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, after_scan, complete = out.stdout.strip().split("|")
    assert first == "[]"
    assert "'twotrack.cli.scan'" in after_scan and "'twotrack.cli.rights'" not in after_scan
    assert complete == "True"
    listed = subprocess.run([sys.executable, "-m", "twotrack", "--help"], capture_output=True, text=True, check=True)
    from twotrack.cli import COMMANDS

    assert [line.split()[0] for line in listed.stdout.split("Commands:")[1].splitlines()
            if line.startswith("  ") and line.split()[0] in COMMANDS] == list(COMMANDS)
    typo = subprocess.run([sys.executable, "-m", "twotrack", "scna"], capture_output=True, text=True)
    assert typo.returncode == 2 and "Did you mean 'scan'?" in typo.stderr  # suggested among every command


def test_the_scan_command_starts_its_worker_before_loading_the_workspace(tmp_path):
    """``twotrack scan`` spawns its first worker before DuckDB, pyarrow and the config file are loaded, so the
    worker's imports overlap them; what was loaded at the spawn is recorded by wrapping the executor."""
    sample = str(Path(__file__).resolve().parents[1] / "data/sample/clean/demo01_367_1688.flac")
    code = ("import sys\n"
            "if __name__ == '__main__':  # the spawned worker re-runs this file as its main module\n"
            "    from twotrack.run import executors\n"
            "    start = executors.LocalExecutor._start\n"
            "    seen = []\n"
            "    def spy(self, fn, warm=None):\n"
            "        seen.append(sorted(m for m in ('duckdb', 'pyarrow', 'twotrack.store.workspace') if m in sys.modules))\n"
            "        return start(self, fn, warm)\n"
            "    executors.LocalExecutor._start = spy\n"
            "    from twotrack.cli import main\n"
            f"    try:\n        main(['scan', '-j', '1', '--no-progress', '-w', {str(tmp_path / 'ws')!r}, {sample!r}])\n"
            "    except SystemExit as e:\n        print(e.code, seen)\n")
    script = tmp_path / "spy.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-800:]
    assert out.stdout.splitlines()[-1] == "0 [[]]"  # scanned (exit 0); one worker, started before any of them
