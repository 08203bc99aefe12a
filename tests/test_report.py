"""`twotrack report`: one self-contained HTML file whose charts draw the workspace's numbers."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from click.testing import CliRunner

from show_fixtures import RECORDINGS, run_cli, sample_ws  # noqa: F401
from twotrack.cli import main
from twotrack.qualify import qualify_corpus
from twotrack.qualify.workspace import inputs_from_workspace
from twotrack.show import build_report, svg
from twotrack.store import Workspace
from twotrack.turns.corpus import workspace_stats

SECTIONS = ("summary", "turn-taking", "requirements", "phases", "rights", "data-map", "recordings")


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <style> blocks."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data


@pytest.fixture(scope="module")
def report(sample_ws, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    res = run_cli("report", "-w", str(sample_ws), "-o", str(out))
    assert str(out) in res.stdout
    return out.read_text(encoding="utf-8")


def svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


def test_report_is_self_contained(report):
    p = Tags()
    p.feed(report)
    names = {t for t, _ in p.tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "video", "audio", "source"}
    for tag, attrs in p.tags:
        for key in ("src", "href", "srcset", "action", "poster"):
            if key in attrs:
                assert key == "href" and attrs[key].startswith("#"), (tag, attrs)
    assert "url(" not in p.style and "@import" not in p.style and "@font-face" not in p.style
    for sid in SECTIONS:
        assert f'id="{sid}"' in report
    for rid in RECORDINGS:
        assert rid in report


def test_plots_are_svg_with_labelled_axes(report):
    charts = svgs(report)
    titles = [re.search(r"<title[^>]*>(.*?)</title>", s).group(1) for s in charts]
    assert len(charts) >= 8, titles  # FTO, four durations, overlap share, events per minute, data map
    for s in charts:
        labels = re.findall(r'class="axis-label">([^<]+)<', s)
        assert labels and all(label.strip() for label in labels), s[:300]
        assert "<line" in s  # axes are drawn
    fto = next(s for s in charts if "Floor-transfer offsets" in s)
    labels = re.findall(r'class="axis-label">([^<]+)<', fto)
    assert any("FTO (s)" in label for label in labels) and any("transfers" in label for label in labels)


def test_fto_histogram_draws_the_corpus_distribution(report, sample_ws):
    """The bars hold exactly the histogram of `twotrack stats --json` (its library call) for the same workspace."""
    stats = json.loads(json.dumps(workspace_stats(Workspace(sample_ws))))
    hist = stats["turns"]["fto"]["histogram"]
    fto = next(s for s in svgs(report) if "Floor-transfer offsets" in s)
    bars = {}
    for a, b, c in re.findall(r"<rect [^>]*><title>(-?[\d.]+) to (-?[\d.]+): (\d+)</title></rect>", fto):
        bars[round(float(a), 3)] = int(c)
    want = {round(e, 3): c for e, c in zip(hist["edges"], hist["counts"]) if c > 0}
    assert bars == want
    assert sum(bars.values()) == stats["turns"]["fto"]["n"] - hist["below"] - hist["above"]


def test_reference_is_overlaid(report):
    charts = svgs(report)
    fto = next(s for s in charts if "Floor-transfer offsets" in s)
    assert f'stroke="{svg.REFERENCE}"' in fto and "reference" in fto
    assert "reference mode 0.1–0.2 s" in fto  # the published modal range (Levinson & Torreira 2015)
    overlap = next(s for s in charts if "Overlap share of speech" in s)
    assert "reference 4.7%" in overlap
    gaps = next(s for s in charts if "Gap durations" in s)
    assert "reference median: 0.264 s" in gaps


def test_report_holds_the_verdicts(report, sample_ws):
    """The verdicts of `twotrack qualify --json` (its library calls) are the ones the report shows."""
    q = qualify_corpus(inputs_from_workspace(Workspace(sample_ws))).to_json()
    assert f"{q['qualified_hours']:.3f} h" in report
    assert ("PASSED" if q["corpus_passed"] else "FAILED") in report
    matrix = re.search(r'<table class="grid matrix">.*?</table>', report, flags=re.S).group(0)
    assert matrix.count("<tr>") == len(RECORDINGS) + 1
    # withdrawals of the sample ledger (data/sample/RIGHTS.md), with the recordings they reach
    rights = re.search(r'<section id="rights">.*?</section>', report, flags=re.S).group(0)
    assert "#7" in rights and "libri-3080" in rights and "#8" in rights and "libri-2033" in rights
    assert "telephone/demo02_3080_2033" in rights and "blocked" in rights
    for label in ("pre-training", "mid-training", "post-training"):
        assert label in report


def test_sections_without_data_say_so(tmp_path):
    ws = Workspace(tmp_path / "empty", create=True)
    html = build_report(ws)
    assert "The workspace holds no recordings" in html
    assert "No turn-taking data" in html
    assert "No qualification" in html and "No phase labels" in html
    assert "no ledger yet" in html


def test_tampered_ledger_is_reported_not_judged(sample_ws, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(sample_ws, copy)
    ledger = copy / "rights" / "ledger.jsonl"
    lines = ledger.read_text().splitlines()
    lines[2] = lines[2].replace("2024-02-02", "2023-02-02")
    ledger.write_text("\n".join(lines) + "\n")
    html = build_report(Workspace(copy))
    rights = re.search(r'<section id="rights">.*?</section>', html, flags=re.S).group(0)
    assert "fails verification" in rights and "no verdict is given" in rights
    assert "allowed" not in rights


def test_nice_ticks_and_chart_guards():
    assert svg.nice_ticks(0, 10, 6) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert svg.nice_ticks(-2, 2, 5) == [-2.0, -1.0, 0.0, 1.0, 2.0]
    with pytest.raises(ValueError):
        svg.histogram([0, 1], [1, 2], title="t", xlabel="x")
    out = svg.hbars(["a", "b"], [0.1, None], title="t", xlabel="share")
    assert "not measured" in out and out.startswith("<svg")


def test_report_cli_needs_a_workspace(tmp_path):
    res = CliRunner().invoke(main, ["report", "-w", str(tmp_path), "-o", str(tmp_path / "r.html")])
    assert res.exit_code == 2 and "no workspace" in res.output
    assert not (tmp_path / "r.html").exists()
    assert not Path(tmp_path / "workspace.duckdb").exists()  # the report never creates one


def test_errors_are_listed(sample_ws, tmp_path):
    """A file that failed (here: a discovery error written through the store's own API) is named with its problem."""
    from fastapi.testclient import TestClient

    from twotrack.model import ErrorRecord
    from twotrack.show import create_app

    copy = tmp_path / "ws"
    shutil.copytree(sample_ws, copy)
    ws = Workspace(copy)
    bad = ErrorRecord(path="/data/calls/broken.wav", problem="truncated file: audio ends at 0.309 s", stage="ingest")
    with ws.writer() as session:
        session.replace_discovery_errors(["/data/calls"], [bad], run_id=1)
    html = build_report(ws)
    summary = re.search(r'<section id="summary">.*?</section>', html, flags=re.S).group(0)
    assert "/data/calls/broken.wav" in summary and "truncated file: audio ends at 0.309 s" in summary
    page = TestClient(create_app(copy, cache_dir=tmp_path / "cache")).get("/").text
    assert "1 error(s)" in page and "/data/calls/broken.wav" in page


def test_the_glossary_says_the_thresholds_of_the_config_in_use():
    """The plain-words lines quote thresholds: they come from the config the report is made with, so a team
    that sets its own pause threshold or transfer rate reads its own numbers."""
    from twotrack.config import Config
    from twotrack.show.glossary import context

    default = context(Config())
    own = context(Config().with_overrides({"turns.pause_threshold_s": 0.25, "qualify.min_transfers_per_min": 3.0,
                                           "qualify.min_unique_speakers": 40}))
    assert "0.2 s or more" in default["term"]["IPU"] and "0.25 s or more" in own["term"]["IPU"]
    assert "at least 2 times a minute" in default["requirement_text"][2]
    assert "at least 3 times a minute" in own["requirement_text"][2]
    assert "at least 40 speakers" in own["requirement_text"][5]
    assert [t for t, _ in own["terms"]] == [t for t, _ in default["terms"]]
