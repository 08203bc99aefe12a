"""store/ is the only code that knows the workspace's tables and SQL (issue 17).

Scans every module of src/twotrack outside store/ for SQL in string literals (docstrings and comments
are prose, not queries) and for imports of duckdb; a hit names file:line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import twotrack
from twotrack.store import schema

PACKAGE = Path(twotrack.__file__).parent

#: Table names, read from the schema's own CREATE TABLE statements (a new table is covered at once).
TABLES = tuple(sorted({m.group(1) for step in schema.MIGRATIONS for stmt in step.statements
                       for m in re.finditer(r"CREATE\s+TABLE\s+(\w+)", stmt, re.I)}))

_TABLE = "|".join(TABLES)
SQL = [
    ("SELECT ... FROM", re.compile(r"\bSELECT\b[\s\S]*?\bFROM\b", re.I)),
    ("INSERT INTO", re.compile(r"\bINSERT\s+INTO\b", re.I)),
    ("CREATE TABLE/VIEW/INDEX", re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\w*\s+)?(?:TABLE|VIEW|INDEX)\b", re.I)),
    ("DELETE FROM", re.compile(r"\bDELETE\s+FROM\b", re.I)),
    ("UPDATE ... SET", re.compile(r"\bUPDATE\s+\w+\s+SET\b", re.I)),
    ("DROP/ALTER TABLE", re.compile(r"\b(?:DROP|ALTER)\s+TABLE\b", re.I)),
    # a workspace table named where a query names one: after FROM, JOIN, INTO, UPDATE, TABLE
    ("workspace table", re.compile(rf"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:{_TABLE})\b(?!\s*[-/.(])", re.I)),
]


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.add(id(body[0].value))
    return out


def _strings(tree: ast.AST):
    """(line, text) of every string literal that is not a docstring; an f-string's literal parts are
    joined with a placeholder so a query split around ``{table}`` still reads as one."""
    skip = _docstrings(tree)
    inside_fstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                if isinstance(v, ast.Constant) and isinstance(v.value, str):
                    parts.append(v.value)
                    inside_fstrings.add(id(v))
                else:
                    parts.append(" x ")
            yield node.lineno, "".join(parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip \
                and id(node) not in inside_fstrings:
            yield node.lineno, node.value


def sql_outside_store(package: Path) -> list[str]:
    """``file:line: what`` for every SQL text or duckdb import in ``package`` outside its store/."""
    hits = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent)
        if path.relative_to(package).parts[0] == "store":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n == "duckdb" or n.startswith("duckdb.") for n in names):
                hits.append(f"{rel}:{node.lineno}: imports duckdb")
        for line, text in _strings(tree):
            for what, rx in SQL:
                if rx.search(text):
                    snippet = " ".join(text.split())[:80]
                    hits.append(f"{rel}:{line}: {what}: {snippet!r}")
                    break
    return hits


def test_the_scanner_knows_the_tables_and_finds_sql(tmp_path):
    assert {"recordings", "tracks", "events", "errors", "stage_results", "runs"} <= set(TABLES)
    pkg = tmp_path / "pkg"
    (pkg / "store").mkdir(parents=True)
    (pkg / "show").mkdir()
    (pkg / "store" / "q.py").write_text('Q = "SELECT recording_id FROM recordings"\n')  # store may
    (pkg / "show" / "ok.py").write_text(
        '"""Reads events from the workspace: SELECT ... FROM in a docstring is prose."""\n'
        '# SELECT x FROM events in a comment is prose too\n'
        'MSG = "no recording in the recordings table"\n')
    (pkg / "show" / "bad.py").write_text(
        'import duckdb\n'
        'def f(ws, rid, name):\n'
        '    ws.query("SELECT kind, start_s "\n'
        '             "FROM events WHERE recording_id = ?", [rid])\n'
        '    ws.query(f"DELETE FROM {name}")\n'
        '    return "recordings JOIN tracks", "UPDATE runs SET x = 1", "insert into errors values (1)"\n')
    hits = sql_outside_store(pkg)
    assert sorted(h.split(": ")[0] for h in hits) == ["pkg/show/bad.py:1", "pkg/show/bad.py:3", "pkg/show/bad.py:5",
                                                "pkg/show/bad.py:6", "pkg/show/bad.py:6", "pkg/show/bad.py:6"]


def test_no_sql_outside_store():
    hits = sql_outside_store(PACKAGE)
    assert not hits, "SQL outside twotrack/store (read through store.queries instead):\n" + "\n".join(hits)


def test_the_store_does_not_import_the_stages_above_it():
    """Corpus statistics live in turns/ over what store.queries returns, not inside the store."""
    above = ("turns", "show", "qualify", "rights", "export", "run", "collapse", "checks", "activity")
    hits = []
    for path in sorted((PACKAGE / "store").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level >= 2 and (node.module or "").split(".")[0] in above:
                hits.append(f"store/{path.name}:{node.lineno}: from {'.' * node.level}{node.module}")
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            hits += [f"store/{path.name}:{node.lineno}: {m}" for m in mods
                     if m.split(".")[:2] in [["twotrack", a] for a in above]]
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("twotrack.") \
                    and node.value.split(".")[1] in above:
                hits.append(f"store/{path.name}:{node.lineno}: {node.value!r} (importlib)")
    assert not hits, "\n".join(hits)
