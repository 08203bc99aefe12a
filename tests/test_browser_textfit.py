"""The explorer shows the text fit of aligned transcript lines: a line the words stage left out for not fitting
its audio (docs/words.md "Text fit") is drawn in its track's word strip as such, with its score, and listed
under the timeline with its text, fit, coverage and reason, so a data team sees why a stretch has no word
times. Before: the strip was just empty there (only `twotrack show` and the stage note said why).

Real headless Chromium through Playwright, as tests/test_browser.py drives it. The recording: 30 s of the
sample's demo01 (10-40 s) with a transcript of two track-A lines, the first right ("when it is a crayfish
..."), the second holding the next line's text (it scores fit 2.76 > 1.95 and keeps no words), scanned by
the real CLI with `--words` (about 5 s)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf
from click.testing import CliRunner

from test_browser import ARTIFACTS, PHONE, _page_width, api, browser, page, phone, serve  # noqa: F401

pytest.importorskip("pocketsphinx")

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "clean" / "demo01_367_1688.flac"
RIGHT = (3.438, 8.668, "when it is a crayfish for what is collapsing front desk at not all upset all")
WRONG = (15.147, 23.28, "it is here that most magnificent to mr ames in as he did not set out a new techniques "
                        "its highest production")
#: lines whose text is not on their audio at all (no path through them)
FOX = (3.438, 8.668, "the quick brown fox jumps over the lazy dog and runs far away into the hills")
BOTTLES = (24.0, 29.0, "seven green bottles standing on the wall of an old white castle")


def _scanned(root: Path, lines) -> Path:
    """30 s of the sample's demo01 (10-40 s) with a transcript of track-A ``lines`` ((start, end, text), seconds
    of the excerpt), scanned into ``root``/ws by the real CLI with ``--words``; -> the workspace."""
    from twotrack.cli import main

    corpus = root / "in"
    corpus.mkdir()
    rate = sf.info(str(SAMPLE)).samplerate
    x, _ = sf.read(str(SAMPLE), dtype="float32", start=10 * rate, stop=40 * rate)
    sf.write(str(corpus / "call.wav"), x, rate)
    (corpus / "call.txt").write_text("".join(f"{a:.3f} {b:.3f} A: {text}\n" for a, b, text in lines))
    (corpus / "m.csv").write_text("recording_id,path,speaker_a,speaker_b,license,transcript\n"
                                  "call,call.wav,sa,sb,CC-BY-4.0,call.txt\n")
    ws = root / "ws"
    res = CliRunner().invoke(main, ["scan", str(corpus / "m.csv"), "-w", str(ws), "-j", "0", "--no-progress",
                                    "--words"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return ws


@pytest.fixture(scope="module")
def textfit_ws(tmp_path_factory):
    return _scanned(tmp_path_factory.mktemp("textfit-explorer"), (RIGHT, WRONG))


def test_a_line_left_out_for_not_fitting_is_shown_with_its_score(textfit_ws, page, phone, tmp_path):  # noqa: F811
    from twotrack.cli import main

    shown = json.loads(CliRunner().invoke(main, ["show", "call", "-w", str(textfit_ws), "--json"]).output)
    wrong = next(ln for ln in shown["lines"] if not ln["kept"])  # what `show --json` says of the line
    assert wrong["fit"] > 1.95 and wrong["reason"].startswith("text does not fit its audio")
    with serve(textfit_ws, tmp_path / "peaks") as base:
        timeline = api(base, "/api/recordings/call/timeline?width=1000")
        assert [(ln["name"], ln["start"], ln["fit"], ln["kept"]) for ln in timeline["lines"]] == \
            [("A", wrong["start"], wrong["fit"], False)]
        assert [ln["fit"] for ln in api(base, "/api/recordings/call")["lines"]] == [ln["fit"] for ln in shown["lines"]]
        page.goto(f"{base}/recordings/call")
        page.wait_for_selector('#timeline[data-ready="1"]')
        marks = page.locator('#timeline g.lane[data-track="0"] rect.unfit-line')
        assert marks.count() == 1 and page.locator('#timeline g.lane[data-track="1"] rect.unfit-line').count() == 0
        assert float(marks.get_attribute("data-start")) == pytest.approx(wrong["start"])
        tip = marks.locator("title").text_content()
        assert f"fit {wrong['fit']:.2f}" in tip and wrong["text"] in tip and wrong["reason"] in tip, tip
        # its label, in the word strip where the line's words would be, inside its box
        label = page.locator('#timeline g.lane[data-track="0"] text.unfit-line-text')
        assert label.text_content() == f"line left out: text does not fit (fit {wrong['fit']:.2f})"
        box, lab = marks.bounding_box(), label.bounding_box()
        assert box["x"] <= lab["x"] and lab["x"] + lab["width"] <= box["x"] + box["width"] + 0.5
        words = page.locator('#timeline g.lane[data-track="0"] rect.mark.word').evaluate_all(
            "rs => rs.map(r => [parseFloat(r.dataset.start), parseFloat(r.dataset.end)])")
        assert words and all(b <= wrong["start"] or a >= wrong["end"] for a, b in words)
        # the list under the timeline: each line left out, with its text, score and reason
        table = page.locator("#lines-left-out")
        assert table.is_visible()
        rows = table.locator("tbody tr").evaluate_all("rs => rs.map(r => r.innerText)")
        assert len(rows) == 1 and wrong["text"] in rows[0] and f"{wrong['fit']:.2f}" in rows[0]
        assert f"{100 * wrong['coverage']:.0f}%" in rows[0] and "no word times" in rows[0]
        assert page.locator("ul.legend .sw.unfit").count() == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "explorer-text-fit.png"), full_page=True)
        assert page.watch.errors == []
        # on a phone the page stays the screen's width: the lines' table scrolls inside itself
        phone.goto(f"{base}/recordings/call")
        phone.wait_for_selector('#timeline[data-ready="1"]')
        assert _page_width(phone) == (PHONE["width"], PHONE["width"])
        assert phone.locator("#lines-left-out").evaluate("t => getComputedStyle(t).overflowX") == "auto"
        assert phone.watch.errors == []


@pytest.fixture(scope="module")
def unfit_ws(tmp_path_factory):
    """The same 30 s with a transcript of three track-A lines, none of them right: the first and last are not
    aligned at all, the middle one (WRONG) does not fit. Scanned by the real CLI with `--words` (about 2 s)."""
    return _scanned(tmp_path_factory.mktemp("textfit-many"), (FOX, WRONG, BOTTLES))


def test_more_flagged_lines_than_the_width_are_counted_not_sent(unfit_ws, page, tmp_path):  # noqa: F811
    """The timeline API's `lines` had no cap (`words` has one): a wrong transcript of a long call sent every
    flagged line of the window. A track with more flagged lines in the window than its cap (at most one per
    pixel, at most 1000) sends none, only `lines_count`, and `lines_truncated` is true; the page says how many
    lines are left out there and to zoom in, as it does for words."""
    with serve(unfit_ws, tmp_path / "peaks") as base:
        full = api(base, "/api/recordings/call/timeline?width=1000")
        assert [ln["name"] for ln in full["lines"]] == ["A"] * 3 and all(ln["reason"] for ln in full["lines"])
        assert full["lines_truncated"] is False and full["lines_count"] == {"A": 3}
        narrow = api(base, "/api/recordings/call/timeline?width=2")  # 3 lines, 2 pixels
        assert narrow["lines"] == [] and narrow["lines_truncated"] is True and narrow["lines_count"] == {"A": 3}
        window = api(base, "/api/recordings/call/timeline?start=14&end=30&width=2")  # 2 of them: both sent
        assert [ln["start"] for ln in window["lines"]] == [WRONG[0], 24.0] and window["lines_truncated"] is False
        page.set_viewport_size({"width": 100, "height": 700})  # a plot of 50 px ...
        page.goto(f"{base}/recordings/call")
        page.wait_for_selector('#timeline[data-ready="1"]')
        assert page.locator("#timeline rect.unfit-line").count() == 3  # ... still room for 3 lines
        page.set_viewport_size({"width": 1000, "height": 700})
        page.route("**/timeline?*", lambda route: route.continue_(
            url=route.request.url.replace("width=", "width=2&w=")))  # the page asks for 2 px of it
        page.goto(f"{base}/recordings/call")
        page.wait_for_selector('#timeline[data-ready="1"]')
        hidden = page.locator('#timeline g.lane[data-track="0"] text.lines-hidden')
        assert hidden.text_content() == "3 lines left out in view: zoom in"
        assert page.locator("#timeline rect.unfit-line").count() == 0
        assert page.watch.errors == []


@pytest.fixture(scope="module")
def words_and_lines_ws(tmp_path_factory):
    """The same 30 s, track A: the right line (its words kept) and two wrong ones (flagged, left out). Scanned by
    the real CLI with `--words` (about 3 s)."""
    return _scanned(tmp_path_factory.mktemp("textfit-both"), (RIGHT, WRONG, BOTTLES))


def test_on_a_phone_the_lines_note_does_not_cover_the_words_note(words_and_lines_ws, phone, tmp_path):  # noqa: F811
    """A track whose words and flagged lines are both left out of the view: the words' note sat at the strip's
    left end, the lines' note at its right end; on a 390 px phone they overlapped (the lines' white box hid
    "zoom in to read them"). Now the lines' note follows the words' one: "16 words, 2 lines left out in view:
    zoom in", side by side inside the plot."""
    with serve(words_and_lines_ws, tmp_path / "peaks") as base:
        narrow = api(base, "/api/recordings/call/timeline?width=1")
        assert narrow["lines_truncated"] is True and narrow["lines_count"] == {"A": 2}
        phone.route("**/timeline?*", lambda route: route.continue_(
            url=route.request.url.replace("width=", "width=1&w=")))  # the page asks for 1 px: both are cut
        phone.goto(f"{base}/recordings/call")
        phone.wait_for_selector('#timeline[data-ready="1"]')
        words = phone.locator('#timeline g.lane[data-track="0"] text.words-hidden')
        lines = phone.locator('#timeline g.lane[data-track="0"] text.lines-hidden')
        assert words.text_content().endswith(" words,")
        assert lines.text_content() == "2 lines left out in view: zoom in"
        a, b = words.bounding_box(), lines.bounding_box()
        assert a["x"] + a["width"] <= b["x"], (a, b)
        plot = phone.locator("#timeline svg").bounding_box()
        assert b["x"] + b["width"] <= plot["x"] + plot["width"], (b, plot)
        assert phone.watch.errors == []
