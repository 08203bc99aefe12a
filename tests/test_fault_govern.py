"""Faults found by the 2026-12-05 sweep of the govern and export path (consent, rights, stats, export):
each test failed on the code before its fix (notes/sweep-govern-2026-12-05.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf
import pytest
from click.testing import CliRunner

from twotrack.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _failed_only_workspace(tmp_path) -> Path:
    """A workspace whose one recording failed to decode (a FLAC cut after its first frames)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rng = np.random.default_rng(0)
    sf.write(corpus / "cut.flac", (rng.standard_normal((16000 * 4, 2)) * 0.1).astype(np.float32), 16000)
    data = (corpus / "cut.flac").read_bytes()
    (corpus / "cut.flac").write_bytes(data[: len(data) // 3])
    ws = tmp_path / "ws"
    run("scan", corpus, "-w", ws, "--jobs", "0", "--no-progress")
    return ws


def test_stats_of_a_workspace_with_only_failed_recordings_says_no_turn_statistics(tmp_path):
    ws = _failed_only_workspace(tmp_path)
    r = run("stats", "-w", ws, "--json")
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert data["recordings"]["failed"] == 1
    assert data["turns"] is None  # docs/cli.md: null when no events are stored
    r = run("stats", "-w", ws)
    assert r.exit_code == 0, r.output
    assert "no turn-taking statistics" in r.output


SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def test_a_bad_at_date_is_a_usage_error_naming_the_value_in_every_command(tmp_path):
    ws = tmp_path / "ws"
    assert run("consent", "import", SAMPLE / "consent.csv", "-w", ws).exit_code == 0
    export_dir = tmp_path / "out"
    export_dir.mkdir()
    for args in (("consent", "show", "libri-367", "-w", ws), ("consent", "list", "-w", ws),
                 ("rights", "-w", ws, "--manifest", SAMPLE / "manifest.csv", "--purpose", "research-training"),
                 ("rights", "audit", export_dir, "-w", ws)):
        r = run(*args, "--at", "14/03/2026")
        assert r.exit_code == 2, (args, r.output)
        assert "--at" in r.output and "14/03/2026" in r.output and "ISO 8601" in r.output


def test_a_date_out_of_range_after_its_utc_offset_is_a_row_error_not_a_crash(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text("speaker,action,scopes,date,evidence,evidence_sha256\n"
                   f"s1,grant,ai-training,0001-01-01T00:00:00+01:00,https://x.example/a.pdf,{'a' * 64}\n")
    r = run("consent", "import", csv, "-w", tmp_path / "ws")
    assert r.exit_code == 1
    assert "row 2:" in r.output and "0001-01-01T00:00:00+01:00" in r.output


def test_a_withdrawal_whose_speaker_id_differs_only_in_case_is_refused_not_recorded_for_nobody(tmp_path):
    from twotrack.rights.ledger import ledger_path

    ws = tmp_path / "ws"
    assert run("consent", "import", SAMPLE / "consent.csv", "-w", ws).exit_code == 0
    before = ledger_path(ws).read_bytes()
    # before: recorded as a withdrawal of a speaker "LIBRI-367" nobody granted; libri-367 stayed allowed
    r = run("consent", "withdraw", "LIBRI-367", "--date", "2026-12-01", "-w", ws)
    assert r.exit_code == 1
    assert "'LIBRI-367'" in r.output and "'libri-367'" in r.output
    assert ledger_path(ws).read_bytes() == before
    csv = tmp_path / "w.csv"
    csv.write_text("speaker,action,scopes,date,evidence,evidence_sha256\n"
                   "libri-1688,withdraw,all,2026-12-01,,\n"
                   "Libri-367,withdraw,all,2026-12-01,,\n")
    r = run("consent", "import", csv, "-w", ws)
    assert r.exit_code == 1 and "row 3:" in r.output and "'libri-367'" in r.output and "row 2" not in r.output
    assert ledger_path(ws).read_bytes() == before
    # the same fact in another Unicode form (NFD) is the same trap
    assert run("consent", "grant", "jos\u00e9", "--scopes", "ai-training", "--date", "2024-01-01",
               "--evidence", "https://x.example/a.pdf", "--evidence-sha256", "a" * 64, "-w", ws).exit_code == 0
    r = run("consent", "withdraw", "jose\u0301", "--date", "2026-12-01", "-w", ws)
    assert r.exit_code == 1
    # the exact id works, and a new speaker is still welcome
    assert run("consent", "withdraw", "libri-367", "--date", "2026-12-01", "-w", ws).exit_code == 0
    assert run("consent", "withdraw", "nobody-42", "--date", "2026-12-01", "-w", ws).exit_code == 0


def test_an_export_folder_that_refuses_writes_or_removals_is_one_named_error(tmp_path, tmp_path_factory):
    import export_corpus as C
    from twotrack.rights.ledger import Ledger, ledger_path

    ws = C.private_copy(tmp_path_factory, tmp_path / "ws")
    (tmp_path / "a-file").write_text("not a folder\n")
    r = run("export", "moshi", tmp_path / "a-file" / "out", "-w", ws, "--purpose", "research-training")
    assert r.exit_code == 1 and "a-file" in r.output and "Not a directory" in r.output  # before: a traceback

    out = tmp_path / "out"
    assert run("export", "moshi", out, "-w", ws, "--purpose", "research-training").exit_code == 0
    Ledger(ledger_path(ws)).withdraw("libri-1688", "all", "2026-01-01")
    stuck = out / "audio" / "clean__demo01.json"
    stuck.unlink()
    (stuck / "x").mkdir(parents=True)  # a withdrawn recording's file that cannot be unlinked
    r = run("export", "moshi", out, "-w", ws, "--purpose", "research-training")
    assert r.exit_code == 1 and str(stuck) in r.output and "rerun" in r.output
    (stuck / "x").rmdir()
    stuck.rmdir()
    r = run("export", "moshi", out, "-w", ws, "--purpose", "research-training")
    assert r.exit_code == 0
    assert not list(out.rglob("clean__demo01*"))


def _exported_then_withdrawn(tmp_path, tmp_path_factory, fmt="moshi"):
    """An export of the export corpus for research-training, then libri-1688 (clean/demo01) withdrawn."""
    import export_corpus as C
    from twotrack.rights.ledger import Ledger, ledger_path

    ws = C.private_copy(tmp_path_factory, tmp_path / "ws")
    out = tmp_path / f"out-{fmt}"
    assert run("export", fmt, out, "-w", ws, "--purpose", "research-training").exit_code == 0
    Ledger(ledger_path(ws)).withdraw("libri-1688", "all", "2026-01-01")
    return ws, out


def test_audit_apply_on_a_file_it_cannot_remove_is_one_named_error(tmp_path, tmp_path_factory):
    ws, out = _exported_then_withdrawn(tmp_path, tmp_path_factory)
    stuck = out / "audio" / "clean__demo01.json"
    stuck.unlink()
    (stuck / "x").mkdir(parents=True)
    r = run("rights", "audit", out, "-w", ws, "--apply")
    assert r.exit_code == 1 and str(stuck) in r.output and "rerun" in r.output  # before: IsADirectoryError
    (stuck / "x").rmdir()
    stuck.rmdir()
    r = run("rights", "audit", out, "-w", ws, "--apply")
    assert r.exit_code == 0 and not list(out.rglob("clean__demo01*"))


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated", "ignore:The inplace keyword")
@pytest.mark.parametrize("fmt", ["moshi", "lhotse", "parquet"])
def test_after_audit_apply_the_croissant_card_still_loads_and_holds_no_withdrawn_record(tmp_path, tmp_path_factory,
                                                                                        fmt):
    import hashlib

    mlc = pytest.importorskip("mlcroissant")
    ws, out = _exported_then_withdrawn(tmp_path, tmp_path_factory, fmt)
    r = run("rights", "audit", out, "-w", ws, "--apply")
    assert r.exit_code == 0 and "remove" in r.output
    card = json.loads((out / "croissant.json").read_text())
    # before: the card kept the removed files and the manifests' old sha256, so mlcroissant refused to read it
    for node in card["distribution"]:
        if node["@type"] == "cr:FileObject":
            path = out / node["contentUrl"]
            assert path.exists(), node["contentUrl"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == node["sha256"], node["contentUrl"]
    ds = mlc.Dataset(jsonld=str(out / "croissant.json"))
    for rs in card["recordSet"]:
        text = repr(list(ds.records(rs["@id"])))
        assert "demo01" not in text, rs["@id"]
    files = {f["path"]: f for f in json.loads((out / ".twotrack" / "export.json").read_text())["files"]}
    for rel, f in files.items():
        data = (out / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f.get("bytes", len(data)), rel


def test_consent_files_separated_by_semicolons_or_tabs_are_read(tmp_path):
    """Spreadsheets in many locales save "CSV" with ';' (scopes then sit in quotes); .tsv was in the
    importer's docstring but refused."""
    from twotrack.rights.ledger import Ledger, ledger_path

    ws = tmp_path / "ws"
    h = "b" * 64
    semi = tmp_path / "excel.csv"
    semi.write_text("speaker;action;scopes;date;evidence;evidence_sha256\r\n"
                    f's1;grant;"ai-training;commercial-use";2024-01-15;https://x.example/a.pdf;{h}\r\n', encoding="utf-8-sig")
    r = run("consent", "import", semi, "-w", ws)
    assert r.exit_code == 0 and "appended 1 event(s)" in r.output, r.output
    tsv = tmp_path / "sheet.tsv"
    tsv.write_text("speaker\taction\tscopes\tdate\tevidence\tevidence_sha256\n"
                   f"s2\tgrant\tai-training;redistribution\t2024-01-16\thttps://x.example/b.pdf\t{h}\n")
    r = run("consent", "import", tsv, "-w", ws)
    assert r.exit_code == 0 and "appended 1 event(s)" in r.output, r.output
    events = Ledger(ledger_path(ws)).events()
    assert [(e.speaker, e.scopes) for e in events] == [("s1", ("ai-training", "commercial-use")),
                                                       ("s2", ("ai-training", "redistribution"))]
    # a ';' file whose scopes are not quoted has too many cells on that row: named, nothing appended
    bad = tmp_path / "bad.csv"
    bad.write_text("speaker;action;scopes;date;evidence;evidence_sha256\n"
                   f"s3;grant;ai-training;commercial-use;2024-01-15;https://x.example/a.pdf;{h}\n")
    r = run("consent", "import", bad, "-w", ws)
    assert r.exit_code == 1 and "row 2: 7 cells, the header has 6" in r.output


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated", "ignore:The inplace keyword")
def test_cards_name_licenses_by_their_spdx_spelling_not_the_manifests(tmp_path):
    """'cc-by-4.0' in one manifest row and 'CC-BY-4.0' in another are one license: the verdicts already read
    them so; the README card called the folder 'other' (mixed) and croissant.json linked
    https://spdx.org/licenses/cc-by-4.0.html, which is not the SPDX page's name."""
    import export_corpus as C
    from twotrack.export import export

    corpus = tmp_path / "corpus"
    rows = []
    for (rid, (a, _, spk_a, spk_b, gold)), lic in zip(list(C.RECORDINGS.items())[:2], ("cc-by-4.0", "CC-BY-4.0")):
        wav = C._excerpt(C.SAMPLE / a, corpus / a.replace(".flac", ".wav"))
        ctm = C._ctm_excerpt(C.SAMPLE / "gold" / f"{gold}.ctm", corpus / f"{gold}.ctm")
        rows.append({"recording_id": rid, "path": str(wav), "speaker_a": spk_a, "speaker_b": spk_b, "license": lic,
                     "tags": "register:read", "source_type": "two-track", "transcript": str(ctm)})
    ws = C.scan_rows(rows, corpus / "manifest.csv", tmp_path / "ws")
    out = tmp_path / "out"
    s = export(ws, out, "lhotse", "research-training")
    assert sorted(s.written) == ["clean/demo01", "clean/demo02"]
    card = (out / "README.md").read_text()
    assert 'license: "cc-by-4.0"' in card and "Every recording is under `CC-BY-4.0`" in card
    assert json.loads((out / "croissant.json").read_text())["license"] == ["https://spdx.org/licenses/CC-BY-4.0.html"]


def test_a_ledger_that_cannot_be_created_or_opened_is_one_named_error(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "rights").write_text("a file where the ledger's folder goes\n")
    args = ("--scopes", "ai-training", "--date", "2024-01-01", "--evidence", "https://x.example/a.pdf",
            "--evidence-sha256", "c" * 64)
    r = run("consent", "grant", "s1", *args, "-w", tmp_path / "ws")
    assert r.exit_code == 1 and "ledger" in r.output and str(tmp_path / "ws" / "rights") in r.output  # before: FileExistsError
    (tmp_path / "a-file").write_text("x\n")
    r = run("consent", "import", SAMPLE / "consent.csv", "-w", tmp_path / "a-file" / "ws")
    assert r.exit_code == 1 and "a-file" in r.output  # before: NotADirectoryError
    (tmp_path / "ws2" / "rights" / "ledger.jsonl").mkdir(parents=True)
    for cmd in (("consent", "grant", "s1", *args), ("consent", "show", "s1"), ("consent", "verify")):
        r = run(*cmd, "-w", tmp_path / "ws2")
        assert r.exit_code == 1 and "ledger.jsonl" in r.output, (cmd, r.output)  # before: IsADirectoryError


def test_the_report_of_a_workspace_whose_ledger_cannot_be_opened_says_so_in_its_rights_section(tmp_path):
    """As a tampered ledger is: the rest of the report is written, the rights section gives no verdict."""
    import re

    from twotrack.show.report import build_report
    from twotrack.store import Workspace

    ws = _failed_only_workspace(tmp_path)
    (ws / "rights").mkdir(exist_ok=True)
    (ws / "rights" / "ledger.jsonl").mkdir()  # before: the whole report stopped (IsADirectoryError, then exit 1)
    html = build_report(Workspace(ws))
    rights = re.search(r'<section id="rights">.*?</section>', html, flags=re.S).group(0)
    assert "cannot open the consent ledger" in rights and "no verdict is given" in rights
    r = run("report", "-w", ws, "-o", tmp_path / "r.html")
    assert r.exit_code == 0 and (tmp_path / "r.html").exists()


def test_an_event_for_a_speaker_on_no_recording_of_the_workspace_is_recorded_with_a_warning(tmp_path):
    """A typo in a withdrawal ('libri-3670' for libri-367) ends nobody's consent: the command said nothing."""
    ws = tmp_path / "ws"
    r = run("scan", SAMPLE / "manifest.csv", "-w", ws, "--jobs", "0", "--no-progress")
    assert r.exit_code == 0
    assert run("consent", "import", SAMPLE / "consent.csv", "-w", ws).exit_code == 0
    r = run("consent", "withdraw", "libri-3670", "--date", "2026-12-01", "-w", ws)
    assert r.exit_code == 0 and "#9 withdraw libri-3670" in r.output
    assert "warning" in r.output and "'libri-3670'" in r.output and "no recording" in r.output
    r = run("consent", "withdraw", "libri-367", "--date", "2026-12-01", "-w", ws)
    assert r.exit_code == 0 and "warning" not in r.output
    csv = tmp_path / "c.csv"
    csv.write_text("speaker,action,scopes,date,evidence,evidence_sha256\n"
                   "libri-2609,withdraw,all,2026-12-01,,\nlibri-26O9,withdraw,all,2026-12-02,,\n")
    r = run("consent", "import", csv, "-w", ws)
    assert r.exit_code == 0 and "'libri-26O9'" in r.output and "'libri-2609'" not in r.output
    # no workspace yet (consent recorded before the scan): nothing to compare with, no warning
    r = run("consent", "withdraw", "libri-3670", "--date", "2026-12-01", "-w", tmp_path / "new")
    assert r.exit_code == 0 and "warning" not in r.output
