"""The explorer on a 4-channel file whose talkers are on C and D (tests/test_multichannel_speakers.py's
``field/cd``; hiss on A, silence on B), collapsed as that pair (tests/test_collapse_multichannel.py): a click on
a diarized mark says "click: play the mix", and the mix that was diarized is of track C and D. Before, the
click played every track of the file (A+B+C+D: the hiss and the silent channel too, a 4-channel WAV), not the
mix collapse scored. Real headless Chromium through Playwright, as tests/test_browser.py drives it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
import soundfile as sf

import export_corpus as C
from test_browser import browser, page, serve  # noqa: F401
from test_collapse_multichannel import collapsed  # noqa: F401
from test_multichannel_speakers import SPEAKERS, ws  # noqa: F401


@pytest.fixture(scope="module")
def ws_ad(tmp_path_factory):
    """``field/ad``: the talkers of demo01's first 30 s on A and D (not adjacent lanes), silence on B, -66 dBFS
    hiss on C, scanned for real."""
    root = tmp_path_factory.mktemp("multichannel-ad")
    (root / "corpus" / "field").mkdir(parents=True)
    x, sr = sf.read(C.SAMPLE / "clean" / "demo01_367_1688.flac", dtype="float32", frames=int(C.EXCERPT_S * 16000))
    hiss = (10 ** (-66 / 20) * np.random.default_rng(7).standard_normal(len(x))).astype(np.float32)
    path = root / "corpus" / "field" / "ad.wav"
    sf.write(str(path), np.stack([x[:, 0], np.zeros(len(x), np.float32), hiss, x[:, 1]], axis=1), sr, subtype="PCM_16")
    row = {"recording_id": "field/ad", "path": str(path), "speaker_a": SPEAKERS[0], "speaker_b": "",
           "speaker_c": "", "speaker_d": SPEAKERS[1], "license": "CC-BY-4.0", "channels": "4"}
    return C.scan_rows([row], root / "corpus" / "manifest.csv", root / "ws")


def _play(page, selector: str) -> None:
    """Click the middle of the first mark ``selector`` finds and wait until the page plays."""
    mark = page.locator(selector).first
    mark.scroll_into_view_if_needed()
    box = mark.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("document.getElementById('play-status').getAttribute('data-state') !== 'idle'")


def test_a_diarized_mark_plays_the_mix_of_the_pair_that_was_collapsed(ws, collapsed, page, tmp_path):  # noqa: F811
    assert "field/cd" in {r["recording_id"] for r in collapsed["recordings"]}
    with serve(ws, tmp_path / "peaks") as base:
        page.goto(f"{base}/recordings/field/cd")
        page.wait_for_selector('#timeline[data-ready="1"]')
        _play(page, '#timeline rect.mark.diarized[data-track="3"]')
        assert page.get_attribute("#play-status", "data-tracks") == "C,D"
        asked = [parse_qs(urlparse(u).query) for u, _ in page.watch.requests if "/audio?" in u]
        assert asked and asked[-1]["tracks"] == ["C,D"], asked
        page.wait_for_function("['playing', 'ended'].includes(document.getElementById('play-status')"
                               ".getAttribute('data-state'))")
        assert "track C+D" in page.inner_text("#play-status")
        assert page.watch.errors == []


def test_the_talking_pair_of_a_four_channel_file_gets_the_two_lane_colours(ws, page, tmp_path):  # noqa: F811
    """field/cd (talkers on C and D): the explorer coloured a track by its letter, A blue and B green, every
    other letter grey, so the two talkers' lanes, names and diarized rows were both grey and the unused
    channels A and B carried the colours. The talking pair now gets them (C blue, D green), the unused
    channels grey."""
    with serve(ws, tmp_path / "peaks") as base:
        page.goto(f"{base}/recordings/field/cd")
        page.wait_for_selector('#timeline[data-ready="1"]')
        fill = page.locator("#timeline g.lane text.lane-name").evaluate_all(
            "ts => Object.fromEntries(ts.map(t => [t.textContent, t.getAttribute('fill')]))")
        assert fill["track C"] == "#3b6ea5" and fill["track D"] == "#237a4b", fill
        assert fill["track A"] == fill["track B"] == "#555", fill
        page.goto(f"{base}/recordings/field/ab")
        page.wait_for_selector('#timeline[data-ready="1"]')
        fill = page.locator("#timeline g.lane text.lane-name").evaluate_all(
            "ts => Object.fromEntries(ts.map(t => [t.textContent, t.getAttribute('fill')]))")
        assert fill["track A"] == "#3b6ea5" and fill["track B"] == "#237a4b", fill
        assert page.watch.errors == []


def test_the_between_row_sits_between_the_talking_pair(ws, page, tmp_path):  # noqa: F811
    """field/cd: the "between" row (the pair's gaps, overlaps and floor transfers) was drawn under track A, between
    the two unused channels, two lanes away from the talkers on C and D. It now sits between C and D, and a
    floor transfer to D slopes down towards D, as one to B does on a two-track file."""
    with serve(ws, tmp_path / "peaks") as base:
        page.goto(f"{base}/recordings/field/cd")
        page.wait_for_selector('#timeline[data-ready="1"]')

        def box(sel):
            return page.locator(sel).first.bounding_box()

        between = box("#timeline g.between rect")
        c, d = box('#timeline g.lane[data-track="2"] rect.lane-bg'), box('#timeline g.lane[data-track="3"] rect.lane-bg')
        assert c["y"] + c["height"] <= between["y"] + 0.5 and between["y"] + between["height"] <= d["y"] + 0.5, \
            (c, between, d)
        lines = page.locator('#timeline g.between line.mark').evaluate_all(
            "ls => ls.map(l => [l.dataset.track, parseFloat(l.getAttribute('y1')), parseFloat(l.getAttribute('y2'))])")
        to_d = [(y1, y2) for t, y1, y2 in lines if t == "3"]
        assert to_d and all(y1 < y2 for y1, y2 in to_d), lines
        assert page.watch.errors == []


def test_a_gap_between_the_talking_pair_plays_the_pair(ws, page, tmp_path):  # noqa: F811
    """field/cd: a click on a gap, overlap or floor transfer of the talking pair played every channel of the
    file (A+B+C+D: the hiss and the silent channel too). It plays the pair, C and D."""
    with serve(ws, tmp_path / "peaks") as base:
        page.goto(f"{base}/recordings/field/cd")
        page.wait_for_selector('#timeline[data-ready="1"]')
        _play(page, "#timeline g.between rect.mark.gap")
        assert page.get_attribute("#play-status", "data-tracks") == "C,D"
        assert page.watch.errors == []


def test_play_both_on_a_four_channel_file_plays_the_talking_pair(ws, page, tmp_path):  # noqa: F811
    """field/cd: "▶ play both" played every channel of the file (A+B+C+D: the hiss and the silent channel too).
    It plays the talking pair, C and D, and its title says so."""
    with serve(ws, tmp_path / "peaks") as base:
        page.goto(f"{base}/recordings/field/cd")
        page.wait_for_selector('#timeline[data-ready="1"]')
        assert "talking pair, track C and D" in page.get_attribute("#play-both", "title")
        page.click("#play-both")
        page.wait_for_function("['playing', 'ended'].includes(document.getElementById('play-status')"
                               ".getAttribute('data-state'))")
        assert page.get_attribute("#play-status", "data-tracks") == "C,D"
        asked = [parse_qs(urlparse(u).query) for u, _ in page.watch.requests if "/audio?" in u]
        assert asked and asked[-1]["tracks"] == ["C,D"], asked
        assert "track C+D" in page.inner_text("#play-status")
        page.goto(f"{base}/recordings/field/ab")  # a pair on A, B: the same, A and B
        page.wait_for_selector('#timeline[data-ready="1"]')
        assert page.get_attribute("#play-both", "data-tracks") == "A,B"
        assert page.watch.errors == []


def test_the_diarized_section_leaves_out_the_unused_tracks(ws, collapsed, page, tmp_path):  # noqa: F811
    """field/cd, collapsed as C and D: the diarized section drew a row for each of the four tracks, A and B
    empty. It draws the two rows of the pair."""
    with serve(ws, tmp_path / "peaks") as base:
        page.goto(f"{base}/recordings/field/cd")
        page.wait_for_selector('#timeline[data-ready="1"]')
        labels = page.locator("#timeline text.diar-label").evaluate_all("ts => ts.map(t => t.textContent)")
        assert labels == ["C diarized", "D diarized"], labels
        assert int(page.get_attribute("#timeline", "data-diarized-marks")) > 0
        # the section ends right under its two rows: the axis follows them
        rows = page.locator("#timeline g.diarized-lanes rect").evaluate_all(
            "rs => rs.map(r => parseFloat(r.getAttribute('y')) + parseFloat(r.getAttribute('height')))")
        axis = float(page.locator("#timeline g.axis line").first.get_attribute("y1"))
        assert 0 < axis - max(rows) < 40, (rows, axis)
        assert page.watch.errors == []


def test_the_between_row_of_a_pair_that_is_not_adjacent_names_the_pair(ws_ad, page, tmp_path):
    """field/ad (talkers on A and D): the between row sits under A, above B, labelled "between" as if it were
    between A and B. It names the pair (between A–D, its tooltip "between track A and D"), and a gap in it
    plays A and D."""
    with serve(ws_ad, tmp_path / "peaks") as base:
        page.goto(f"{base}/recordings/field/ad")
        page.wait_for_selector('#timeline[data-ready="1"]')
        assert page.text_content("#timeline g.between text.row-label") == "between A\u2013D"
        assert "between track A and D" in page.text_content("#timeline g.between > rect title")
        _play(page, "#timeline g.between rect.mark.gap")
        assert page.get_attribute("#play-status", "data-tracks") == "A,D"
        assert page.watch.errors == []
