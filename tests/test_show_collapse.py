"""The collapse section of the report and the explorer's diarized lanes, on the shared scanned workspace
copied and collapsed by the real `collapse_workspace` (show_fixtures.collapsed_ws: one recording, about
4 s), and on the shared workspace itself, where collapse has not run."""

from __future__ import annotations

import html
import json
import math
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from show_fixtures import COLLAPSED, RECORDINGS, collapsed_ws, peak_cache_dir, sample_ws  # noqa: F401
from twotrack.show import build_report, create_app
from twotrack.show.data import COLLAPSE_CHART_S
from twotrack.store import Workspace, queries

OTHER = "clean/demo01_367_1688"
KEYS = {  # table column -> (group, name, unit) in a results.json entry, as docs/collapse.md defines them
    "der": ("der", "der", "pct"), "missed": ("der", "missed", "pct"), "false_alarm": ("der", "false_alarm", "pct"),
    "confusion": ("der", "confusion", "pct"), "der_without_overlap": ("der_without_overlap", "der", "pct"),
    "onset_hit_rate": ("turn_taking", "onset_hit_rate", "pct"),
    "overlap_recall": ("turn_taking", "overlap_recall", "pct"),
    "backchannel_recall": ("turn_taking", "backchannel_recall", "pct"),
    "transfer_wrong_speaker_share": ("turn_taking", "transfer_wrong_speaker_share", "pct"),
    "fto_wasserstein_s": ("turn_taking", "fto_wasserstein_s", "ms"),
}


def expected_text(entry: dict, key: str) -> str:
    group, name, unit = KEYS[key]
    v = entry[group][name]
    if v is None:
        return "–"
    return f"{1000 * v:.0f} ms" if unit == "ms" else f"{100 * v:.1f}%"


@pytest.fixture(scope="module")
def collapsed(collapsed_ws, peak_cache_dir, tmp_path_factory):
    """A copy of the collapsed workspace whose results are hidden while the explorer opens on it, then put back
    (so the tests can see the explorer pick them up). Yields (path, results.json, client, timeline before)."""
    copy = tmp_path_factory.mktemp("collapse-show") / "ws"
    shutil.copytree(collapsed_ws, copy)
    path = copy / "collapse" / "results.json"
    results = json.loads(path.read_text())
    hidden = path.with_name("hidden.json")
    path.rename(hidden)
    with TestClient(create_app(copy, cache_dir=peak_cache_dir), raise_server_exceptions=False) as client:
        before = client.get(f"/api/recordings/{COLLAPSED}/timeline?width=300").json()
        hidden.rename(path)
        yield copy, results, client, before


@pytest.fixture(scope="module")
def report(collapsed) -> str:
    return build_report(collapsed[0])


def section(html_text: str) -> str:
    return re.search(r'<section id="collapse">.*?</section>', html_text, flags=re.S).group(0)


def cells(row_html: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in re.findall(r'<td data-key="([a-z_]+)">([^<]*)</td>', row_html)}


def rects(group_html: str) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in re.findall(r'data-start="([\d.]+)" data-end="([\d.]+)"', group_html)]


def covered(segments, runs, t1, tol=1e-3) -> bool:
    """Every segment (clipped to [0, t1]) lies inside one run; every run starts at a segment's start and ends at
    a segment's end (or the window's edge)."""
    segs = [(a, min(b, t1)) for a, b in segments if a < t1]
    starts = {round(a, 3) for a, _ in segs}
    ends = {round(b, 3) for _, b in segs} | {round(t1, 3)}
    inside = all(any(ra - tol <= a and b <= rb + tol for ra, rb in runs) for a, b in segs)
    return inside and all(round(a, 3) in starts and round(b, 3) in ends for a, b in runs)


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------


def test_report_collapse_section_holds_the_results(report, collapsed):
    _, results, _, _ = collapsed
    sec = section(report)
    sentence = re.search(r'<p class="verdict" id="collapse-sentence">(.*?)</p>', sec, flags=re.S).group(1)
    assert html.unescape(sentence) == results["summary"]["sentence"]
    assert sentence.startswith("On your data (1 recording(s)")
    (entry,) = results["recordings"]
    assert entry["recording_id"] == COLLAPSED and entry["error"] is None
    for rid, source in (("corpus", results["summary"]), (COLLAPSED, entry)):
        row = re.search(rf'<tr[^>]*data-recording-id="{re.escape(rid)}">.*?</tr>', sec, flags=re.S).group(0)
        got = cells(row)
        assert set(got) == set(KEYS)
        for key in KEYS:
            assert got[key] == expected_text(source, key), (rid, key)
    # the DER parts in the table add up, as the results say they do
    d = entry["der"]
    assert d["missed"] + d["false_alarm"] + d["confusion"] == pytest.approx(d["der"])
    mapping = ", ".join(f"{h}→{t}" for h, t in sorted(entry["mapping"].items()))
    assert "twotrack-ge2e (2)" in sec and mapping in html.unescape(sec)
    assert 'href="#collapse"' in report


def test_report_draws_true_lanes_above_diarized_lanes(report, collapsed):
    path, results, _, _ = collapsed
    sec = section(report)
    figs = re.findall(r'<figure class="collapse-lanes" data-recording-id="([^"]+)">(.*?)</figure>', sec, flags=re.S)
    assert [rid for rid, _ in figs] == [COLLAPSED]
    svg = figs[0][1]
    labels = re.findall(r'class="axis-label">([^<]+)<', svg)
    assert "time (s)" in labels and "lane" in labels
    (entry,) = results["recordings"]
    t1 = min(entry["duration_s"], COLLAPSE_CHART_S)
    truth = {a.track: [(s.start, s.end) for s in a.segments] for a in queries.activity(Workspace(path), COLLAPSED)}
    lanes = {a["track"]: [(s["start"], s["end"]) for s in a["segments"]] for a in results["lanes"][COLLAPSED]}
    assert sorted(truth) == sorted(lanes) == [0, 1]
    order = [m.start() for m in re.finditer(r'<g class="lane (true|diarized|disagree)', svg)]
    assert len(order) == 5  # A true, B true, A diarized, B diarized, disagree: top to bottom in that order
    for t, name in ((0, "A"), (1, "B")):
        true_g = re.search(rf'<g class="lane true track-{name}".*?</g>', svg, flags=re.S).group(0)
        diar_g = re.search(rf'<g class="lane diarized track-{name}".*?</g>', svg, flags=re.S).group(0)
        assert svg.index(true_g) < svg.index(re.search(r'<g class="lane diarized', svg).group(0))
        assert rects(true_g) and covered(truth[t], rects(true_g), t1), name
        assert rects(diar_g) and covered(lanes[t], rects(diar_g), t1), name
    # where the lanes differ: something, since the DER is not zero, and only inside the window
    dis = rects(re.search(r'<g class="lane disagree".*?</g>', svg, flags=re.S).group(0))
    assert entry["der"]["der"] > 0 and dis and all(0 <= a < b <= t1 + 1e-6 for a, b in dis)


def test_report_without_collapse_says_how_to_run_it(sample_ws):
    sec = section(build_report(sample_ws))
    assert "No collapse results" in sec and "has not been run" in sec
    assert f"twotrack collapse -w {sample_ws}" in sec and "twotrack[collapse]" in html.unescape(sec)
    assert "<svg" not in sec and "<table" not in sec


def test_unreadable_results_are_said_not_drawn(collapsed, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(collapsed[0], copy)
    (copy / "collapse" / "results.json").write_text('{"summary": ')
    sec = section(build_report(copy))
    assert "cannot be read" in sec and "<svg" not in sec


# ---------------------------------------------------------------------------------------------
# the explorer
# ---------------------------------------------------------------------------------------------


def test_timeline_carries_the_diarized_lanes(collapsed):
    _, results, client, before = collapsed
    assert before["collapse"] is None  # the explorer was opened before collapse ran...
    r = client.get(f"/api/recordings/{COLLAPSED}/timeline?start=10&end=30&width=400")
    assert r.status_code == 200, r.text
    col = r.json()["collapse"]  # ...and sees its results once they are written
    (entry,) = results["recordings"]
    assert col["der"] == entry["der"] and col["turn_taking"] == entry["turn_taking"]
    assert col["mapping"] == entry["mapping"] and col["diarizer"] == "twotrack-ge2e" and col["error"] is None
    want = {a["track"]: [[round(s["start"], 3), round(s["end"], 3)] for s in a["segments"]
                         if s["end"] > 10 and s["start"] < 30] for a in results["lanes"][COLLAPSED]}
    assert {ln["track"]: ln["segments"] for ln in col["lanes"]} == want
    assert [ln["name"] for ln in col["lanes"]] == ["A", "B"] and all(want.values())
    other = client.get(f"/api/recordings/{OTHER}/timeline?width=200").json()
    assert other["collapse"] is None


def test_collapse_endpoint(collapsed):
    _, results, client, _ = collapsed
    r = client.get(f"/api/recordings/{COLLAPSED}/collapse")
    assert r.status_code == 200, r.text
    got = r.json()
    (entry,) = results["recordings"]
    for key in ("recording_id", "duration_s", "diarizer", "n_speakers", "der", "der_without_overlap", "turn_taking",
                "mapping", "error"):
        assert got[key] == entry[key], key
    want = {a["track"]: [[round(s["start"], 3), round(s["end"], 3)] for s in a["segments"]]
            for a in results["lanes"][COLLAPSED]}
    assert {ln["track"]: ln["segments"] for ln in got["lanes"]} == want
    assert got["corpus_sentence"] == results["summary"]["sentence"]
    # a recording collapse did not run on, and an unknown one: 404 with the reason
    r = client.get(f"/api/recordings/{OTHER}/collapse")
    assert r.status_code == 404 and "not in the collapse results" in r.json()["detail"]
    assert f"-r {OTHER}" in r.json()["detail"]
    r = client.get("/api/recordings/no/such/collapse")
    assert r.status_code == 404 and "no recording 'no/such'" in r.json()["detail"]
    assert "/api/recordings/{recording_id}/collapse" in client.get("/openapi.json").json()["paths"]


def test_recording_page_shows_the_scores(collapsed):
    _, results, client, _ = collapsed
    page = client.get(f"/recordings/{COLLAPSED}").text
    assert 'data-collapse="1"' in page
    (entry,) = results["recordings"]
    table = re.search(r'<table class="grid" id="collapse-scores">.*?</table>', page, flags=re.S).group(0)
    got = cells(table)
    assert got == {k: expected_text(entry, k) for k in KEYS}
    other = client.get(f"/recordings/{OTHER}").text
    assert 'data-collapse="0"' in other and "not in the collapse results" in other


def test_explorer_without_collapse(sample_ws, peak_cache_dir):
    with TestClient(create_app(sample_ws, cache_dir=peak_cache_dir), raise_server_exceptions=False) as client:
        tl = client.get(f"/api/recordings/{COLLAPSED}/timeline?width=100")
        assert tl.status_code == 200 and "collapse" in tl.json() and tl.json()["collapse"] is None
        for rid in RECORDINGS:
            r = client.get(f"/api/recordings/{rid}/collapse")
            assert r.status_code == 404
            assert "has not been run" in r.json()["detail"] and "twotrack collapse -w" in r.json()["detail"]
        page = client.get(f"/recordings/{RECORDINGS[0]}").text
        assert 'data-collapse="0"' in page and "No mono + diarization results" in page
    assert not (Path(sample_ws) / "collapse").exists()  # nothing here wrote into the shared workspace


def test_numbers_are_finite_or_null(collapsed):
    """The API never sends NaN (JSON has none): figures that cannot be measured are null."""
    _, _, client, _ = collapsed
    got = client.get(f"/api/recordings/{COLLAPSED}/collapse").json()
    for group in ("der", "der_without_overlap", "turn_taking"):
        for v in got[group].values():
            assert v is None or math.isfinite(v)


def test_collapsed_report_stays_self_contained(report):
    """The lane charts are inline SVG with labelled axes: still no script and no link out of the file."""
    assert "<script" not in report and " src=" not in report
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', report))
    for svg in re.findall(r"<svg\b.*?</svg>", report, flags=re.S):
        labels = re.findall(r'class="axis-label">([^<]+)<', svg)
        assert labels and all(label.strip() for label in labels)


def test_failed_and_skipped_recordings_are_said(collapsed, peak_cache_dir, tmp_path):
    """A recording collapse failed on gets its error in the table and the page; one it skipped, the reason
    (the entries are written into a copy of the real results, as `collapse_workspace` writes them)."""
    copy = tmp_path / "ws"
    shutil.copytree(collapsed[0], copy)
    path = copy / "collapse" / "results.json"
    results = json.loads(path.read_text())
    results["recordings"].append({"recording_id": OTHER, "duration_s": 0.0, "diarizer": "twotrack-ge2e",
                                  "n_speakers": 0, "mapping": {}, "error": "cannot decode: truncated file"})
    skipped = "telephone/demo02_3080_2033"
    results["skipped"].append({"recording_id": skipped, "reason": "no stored activity"})
    path.write_text(json.dumps(results))
    sec = section(build_report(copy))
    row = re.search(rf'<tr data-recording-id="{re.escape(OTHER)}">.*?</tr>', sec, flags=re.S).group(0)
    assert "failed: cannot decode: truncated file" in row and not cells(row)
    assert f"{skipped} (no stored activity)" in sec
    assert len(re.findall(r'<figure class="collapse-lanes"', sec)) == 1  # no lanes for the failed one
    with TestClient(create_app(copy, cache_dir=peak_cache_dir), raise_server_exceptions=False) as client:
        r = client.get(f"/api/recordings/{skipped}/collapse")
        assert r.status_code == 404 and "skipped" in r.json()["detail"] and "no stored activity" in r.json()["detail"]
        r = client.get(f"/api/recordings/{OTHER}/collapse")
        assert r.status_code == 200 and r.json()["error"] == "cannot decode: truncated file" and r.json()["lanes"] == []
        page = client.get(f"/recordings/{OTHER}").text
        assert "Collapse failed on this recording: cannot decode: truncated file" in page
        assert 'data-collapse="0"' in page
        assert "Collapse skipped this recording: no stored activity" in client.get(f"/recordings/{skipped}").text
