"""The explorer and the report in a real headless Chromium (Debian's `chromium`, driven by Playwright).

`make test` installs chromium first (`make browser`); Playwright never downloads a browser here. The
explorer runs in a thread on 127.0.0.1 with an ephemeral port. Screenshots of every page go to
test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from pathlib import Path

import pytest
from serving import served

from show_fixtures import (  # noqa: F401
    COLLAPSED, RECORDINGS, WORDS_RECORDING, collapsed_ws, peak_cache_dir, sample_ws, words_ws)
from twotrack.show import create_app, write_report

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

if os.environ.get("TWOTRACK_SKIP_BROWSER") == "1":
    pytest.skip("TWOTRACK_SKIP_BROWSER=1", allow_module_level=True)


def _slug(rid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", rid)


def serve(workspace, cache_dir):
    """The explorer of ``workspace`` on 127.0.0.1:<ephemeral port> in a thread; a context yielding its base URL."""
    return served(create_app(workspace, cache_dir=cache_dir), "the explorer")


@pytest.fixture(scope="module")
def server(sample_ws, peak_cache_dir):
    """The explorer on the shared workspace, stopped after the module."""
    with serve(sample_ws, peak_cache_dir) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.fail("Debian's chromium is not installed: run `make browser` (make test does it first)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class Watch:
    """Console errors, page errors and every request of one page."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.requests: list[tuple[str, dict]] = []
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: self.requests.append((r.url, r.headers)))


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(20000)
    pg.watch = Watch(pg)
    yield pg
    ctx.close()


def api(server: str, path: str):
    with urllib.request.urlopen(server + path, timeout=30) as r:
        return json.loads(r.read())


def test_corpus_page_lists_the_recordings(server, page):
    page.goto(server + "/")
    rows = page.locator("#recordings tbody tr")
    assert rows.count() == len(RECORDINGS)
    ids = page.locator("#recordings tbody a.rec-link").all_inner_texts()
    assert sorted(ids) == sorted(RECORDINGS)
    # sortable: duration descending after two clicks
    header = page.locator("#recordings thead th", has_text="duration")
    header.click()
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    durations = [float(v) for v in page.locator("#recordings tbody tr td:nth-child(2)").evaluate_all(
        "tds => tds.map(td => td.getAttribute('data-v'))")]
    assert durations == sorted(durations, reverse=True)
    # filterable
    page.fill("#filter", "telephone")
    assert page.locator("#recordings tbody tr:not([hidden])").count() == 1
    assert "1 of 3" in page.inner_text("#shown-count")
    page.fill("#filter", "")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-corpus.png"), full_page=True)
    assert page.watch.errors == []


@pytest.mark.parametrize("rid", RECORDINGS)
def test_recording_page_draws_both_lanes_with_every_ipu(server, page, rid):
    detail = api(server, f"/api/recordings/{rid}")
    page.goto(f"{server}/recordings/{rid}")
    page.wait_for_selector('#timeline[data-ready="1"]')
    for t in (0, 1):
        lane = page.locator(f'#timeline g.lane[data-track="{t}"]')
        assert lane.count() == 1
        assert lane.locator("path.wave").count() == 1
        assert lane.locator("rect.activity").count() > 0
        assert lane.locator("rect.mark.ipu").count() == detail["counts_by_track"]["ipu"][t]
    assert int(page.get_attribute("#timeline", "data-ipu-marks")) == detail["counts"]["ipu"] > 0
    between = page.locator("#timeline g.between")
    assert between.locator(".mark").count() == sum(detail["counts"][k] for k in
                                                  ("gap", "overlap-between", "overlap-within", "floor-transfer"))
    page.screenshot(path=str(ARTIFACTS / f"explorer-recording-{_slug(rid)}.png"), full_page=True)
    assert page.watch.errors == []


def _wait_playing(page, tracks: str):
    page.wait_for_selector('#play-status[data-state="playing"]', timeout=15000)
    assert page.get_attribute("#play-status", "data-tracks") == tracks
    assert page.inner_text("#play-status").startswith("playing")


def test_clicking_a_region_plays_it(server, page):
    rid = "telephone/demo02_3080_2033"  # SPHERE: decoded by the server
    page.goto(f"{server}/recordings/{rid}")
    page.wait_for_selector('#timeline[data-ready="1"]')
    # 1. click an IPU mark of track B: its span plays on B
    page.locator('#timeline g.lane[data-track="1"] rect.mark.ipu').nth(2).click()
    _wait_playing(page, "B")
    page.click("#stop")
    assert page.get_attribute("#play-status", "data-state") == "stopped"
    # 2. drag across lane A: the selected region plays on A
    box = page.locator('#timeline g.lane[data-track="0"] rect.lane-bg').bounding_box()
    y = box["y"] + box["height"] * 0.6
    page.mouse.move(box["x"] + box["width"] * 0.30, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.36, y, steps=5)
    page.mouse.up()
    _wait_playing(page, "A")
    assert page.locator("#timeline rect.selection[visibility=visible]").count() == 1
    # 3. the same selection on both tracks
    page.click("#play-both")
    _wait_playing(page, "both")
    audio = [(u, h) for u, h in page.watch.requests if "/audio?" in u]
    assert audio and all(u.startswith(server) for u, _ in audio)
    assert any("range" in h for _, h in audio), "the media element fetches audio with HTTP range requests"
    page.screenshot(path=str(ARTIFACTS / "explorer-playing.png"), full_page=False)
    assert page.watch.errors == []


def test_zoom_and_scroll(server, page):
    rid = "clean/demo01_367_1688"
    page.goto(f"{server}/recordings/{rid}")
    page.wait_for_selector('#timeline[data-ready="1"]')
    full = page.locator("#timeline rect.mark.ipu").count()
    page.click("#zoom-in")
    page.click("#zoom-in")
    page.wait_for_function("document.getElementById('view-info').textContent.includes('(17.07 s')")
    page.wait_for_function(f"document.querySelectorAll('#timeline rect.mark.ipu').length < {full}")
    info_before = page.inner_text("#view-info")
    page.click("#pan-right")
    page.wait_for_function(f"document.getElementById('view-info').textContent !== {json.dumps(info_before)}")
    page.locator("#timeline").hover()
    page.mouse.wheel(0, 2000)  # zoom out again with the wheel
    page.wait_for_function(f"document.querySelectorAll('#timeline rect.mark.ipu').length === {full}")
    assert page.watch.errors == []


def test_the_timeline_is_not_ready_while_a_new_view_loads(server, page):
    """`data-ready="1"` says the drawn data is the current view's. A zoom draws the old data at the new scale at
    once and fetches the new view 40 ms later; the attribute stayed "1" from the first load meanwhile, so a
    reader (or a test) waiting for it read boxes of one render and labels of the next (a browser test failed
    so on a loaded machine). The new view's response is held back here until the page has been looked at."""
    rid = "clean/demo01_367_1688"
    page.goto(f"{server}/recordings/{rid}")
    page.wait_for_selector('#timeline[data-ready="1"]')
    held = []
    page.route("**/timeline?start=*", lambda route: held.append(route))
    page.click("#zoom-in")
    page.wait_for_function("document.getElementById('view-info').textContent.includes('(34.1')")
    page.wait_for_timeout(200)  # the fetch is scheduled 40 ms after the click; it is held, not answered
    assert held, "the zoom asked for no new view"
    assert page.get_attribute("#timeline", "data-ready") != "1"
    for route in held:
        route.continue_()
    page.wait_for_selector('#timeline[data-ready="1"]')
    assert page.watch.errors == []


def test_diarized_lanes_under_the_true_lanes(collapsed_ws, peak_cache_dir, page):
    """After `twotrack collapse`, the recording page draws the diarized lanes under the true ones: exactly the
    API's diarized segments, each track's own speech as a thin line above them."""
    with serve(collapsed_ws, peak_cache_dir) as base:
        col = api(base, f"/api/recordings/{COLLAPSED}/timeline")["collapse"]
        page.goto(f"{base}/recordings/{COLLAPSED}")
        page.wait_for_selector('#timeline[data-ready="1"]')
        n = sum(len(lane["segments"]) for lane in col["lanes"])
        assert n > 0 and int(page.get_attribute("#timeline", "data-diarized-marks")) == n
        g = page.locator("#timeline g.diarized-lanes")
        assert g.locator("rect.mark.diarized").count() == n and g.locator("rect.diar-truth").count() > 0
        for t in (0, 1):
            lane_box = page.locator(f'#timeline g.lane[data-track="{t}"] rect.lane-bg').bounding_box()
            first = g.locator(f'rect.mark.diarized[data-track="{t}"]').first.bounding_box()
            assert first["y"] > lane_box["y"] + lane_box["height"] - 1  # under the true lanes
        assert "DER" in page.inner_text("#timeline")
        assert page.locator("#collapse-scores td").count() == 10
        page.screenshot(path=str(ARTIFACTS / "explorer-recording-collapse.png"), full_page=True)
        assert page.watch.errors == []
        # on a phone the narrow gutter still holds every label whole (none starts left of the timeline)
        ctx = page.context.browser.new_context(viewport=PHONE, is_mobile=True)
        pg = ctx.new_page()
        pg.goto(f"{base}/recordings/{COLLAPSED}")
        pg.wait_for_selector('#timeline[data-ready="1"]')
        left = pg.locator("#timeline svg").bounding_box()["x"]
        labels = pg.locator("#timeline text.diar-label, #timeline text.lane-name").evaluate_all(TEXT_BOXES)
        assert len(labels) == 4 and all(b["l"] >= left for b in labels), labels
        ctx.close()


def test_report_opens_offline_without_errors(sample_ws, browser, tmp_path):
    out = write_report(sample_ws, tmp_path / "report.html")
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
    pg = ctx.new_page()
    watch = Watch(pg)
    pg.goto(out.as_uri())
    pg.wait_for_load_state("load")
    assert watch.errors == []
    assert [u for u, _ in watch.requests] == [out.as_uri()], "the report must not load anything"
    n_svg = pg.locator("svg").count()
    assert n_svg >= 8
    assert pg.locator("svg text.axis-label").count() >= 2 * (n_svg - 2)
    for sid in ("summary", "turn-taking", "requirements", "phases", "rights", "data-map", "recordings"):
        assert pg.locator(f"section#{sid}").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    ctx.close()


def test_api_docs_page(server, page):
    page.goto(server + "/docs")
    assert page.locator("section.endpoint").count() >= 6
    assert "timeline" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "explorer-api-docs.png"), full_page=True)
    assert page.watch.errors == []


PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    """A phone-sized page (390 x 844 CSS pixels, a mobile viewport)."""
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    pg = ctx.new_page()
    pg.set_default_timeout(20000)
    pg.watch = Watch(pg)
    yield pg
    ctx.close()


def _page_width(pg) -> tuple[int, int]:
    return tuple(pg.evaluate("[document.documentElement.scrollWidth, window.innerWidth]"))


def test_pages_fit_a_phone_screen(server, phone, sample_ws, tmp_path):
    """On a 390 px phone no page is wider than the screen (a mobile browser would otherwise zoom the whole
    page out to the widest table, making every text tiny): wide tables scroll sideways inside themselves."""
    report = write_report(sample_ws, tmp_path / "report.html")
    for url in (server + "/", f"{server}/recordings/{RECORDINGS[0]}", report.as_uri()):
        phone.goto(url)
        if "/recordings/" in url:
            phone.wait_for_selector('#timeline[data-ready="1"]')
        assert _page_width(phone) == (PHONE["width"], PHONE["width"]), url
        wide = phone.locator("table").evaluate_all(
            "ts => ts.filter(t => t.scrollWidth > t.clientWidth + 1).map(t => getComputedStyle(t).overflowX)")
        assert all(o == "auto" for o in wide), url  # the tables wider than the screen scroll
        if url == report.as_uri():
            # the charts keep their drawn size (shrunk to 370 px their 9-11 px labels were about 5 px) and scroll
            sizes = phone.locator("figure svg").evaluate_all(
                "ss => ss.map(s => [+s.getAttribute('width'), s.getBoundingClientRect().width,"
                " getComputedStyle(s.parentNode).overflowX])")
            assert sizes and all(abs(w - shown) < 1 and o == "auto" for w, shown, o in sizes), sizes
    phone.goto(server + "/")
    assert phone.locator("#recordings").evaluate("t => t.scrollWidth > t.clientWidth")  # it does need to scroll
    assert phone.watch.errors == []


@pytest.fixture(scope="module")
def words_server(words_ws, peak_cache_dir):
    """The explorer on the one-recording workspace scanned with `--words`."""
    with serve(words_ws, peak_cache_dir) as base:
        yield base


def _zoom_to(page, seconds: float):
    """Zoom in with the + button until the view is at most ``seconds`` long."""
    for _ in range(12):
        span = float(re.search(r"\(([0-9.]+) s", page.inner_text("#view-info")).group(1))
        if span <= seconds:
            break
        before = page.inner_text("#view-info")
        page.click("#zoom-in")
        page.wait_for_function(f"document.getElementById('view-info').textContent !== {json.dumps(before)}")
    page.wait_for_function("document.getElementById('timeline').getAttribute('data-ready') === '1'")


def test_words_on_each_lane_readable_when_zoomed_in(words_server, page):
    """Each lane draws exactly its track's words (a box per word); zoomed in to about 5 s most of them carry
    their text, each text inside its own box and never over another."""
    rid = WORDS_RECORDING
    whole = api(words_server, f"/api/recordings/{rid}/timeline?width=1000")
    per_track = {w["track"]: len(w["word"]) for w in whole["words"]}
    assert all(n > 20 for n in per_track.values()) and not whole["words_truncated"]
    page.goto(f"{words_server}/recordings/{rid}")
    page.wait_for_selector('#timeline[data-ready="1"]')
    for t, n in per_track.items():
        assert page.locator(f'#timeline g.lane[data-track="{t}"] rect.mark.word').count() == n
    assert page.locator("ul.legend .sw.word").count() == 1
    for t in per_track:
        # zoom to about 5 s around a word of this track (the zoom centres on the selection a click makes)
        page.click("#zoom-fit")
        page.wait_for_function("document.getElementById('view-info').textContent.includes('showing 0.00 s')")
        page.locator(f'#timeline g.lane[data-track="{t}"] rect.mark.word').nth(per_track[t] // 2).click()
        page.click("#stop")
        _zoom_to(page, 6.0)
        lane = page.locator(f'#timeline g.lane[data-track="{t}"]')
        boxes = lane.locator("rect.mark.word").evaluate_all(
            "rs => rs.map(r => { const b = r.getBoundingClientRect(); return [b.left, b.right, r.dataset.word]; })")
        texts = lane.locator("text.word-text").evaluate_all(
            "ts => ts.map(t => { const b = t.getBoundingClientRect(); return [b.left, b.right, t.textContent]; })")
        assert boxes and len(texts) >= 0.6 * len(boxes), (t, len(texts), len(boxes))
        for left, right, text in texts:
            box = next(b for b in boxes if b[0] <= left <= b[1])  # the word box the text starts in
            assert right <= box[1] + 0.5, f"{text!r} runs out of its box"
            assert text == box[2] or (text.endswith("…") and box[2].startswith(text[:-1]))
        ends = sorted(texts)
        assert all(a[1] <= b[0] for a, b in zip(ends, ends[1:])), "word texts overlap"
    page.screenshot(path=str(ARTIFACTS / "explorer-words-zoomed.png"), full_page=False)
    assert page.watch.errors == []


def test_too_many_words_for_the_width_are_counted_not_cut(words_server, browser):
    """A view holding more words than pixels gets their count, not the first few: cutting drew words over the
    start of a long view and none over the rest. The lane says how many there are and to zoom in."""
    rid = WORDS_RECORDING
    narrow = api(words_server, f"/api/recordings/{rid}/timeline?width=40")
    full = api(words_server, f"/api/recordings/{rid}/timeline?width=1000")
    assert narrow["words_truncated"] is True
    for w, f in zip(narrow["words"], full["words"]):
        assert w["word"] == [] and w["count"] == len(f["word"]) == f["count"] > 40
    ctx = browser.new_context(viewport={"width": 100, "height": 700})  # a plot of 50 px: fewer than the words
    pg = ctx.new_page()
    watch = Watch(pg)
    pg.goto(f"{words_server}/recordings/{rid}")
    pg.wait_for_selector('#timeline[data-ready="1"]')
    hidden = pg.locator("#timeline text.words-hidden").evaluate_all("ts => ts.map(t => t.textContent)")
    assert sorted(hidden) == sorted(f"{f['count']} words in view: zoom in to read them" for f in full["words"])
    assert pg.locator("#timeline rect.mark.word").count() == 0
    assert watch.errors == []
    ctx.close()


def test_a_recording_without_words_says_so(server, page):
    page.goto(f"{server}/recordings/{RECORDINGS[0]}")
    page.wait_for_selector('#timeline[data-ready="1"]')
    assert "scan --words" in page.inner_text("#no-words")
    assert page.locator("#timeline rect.mark.word").count() == 0
    labels = page.locator("#timeline text.row-label").evaluate_all("ts => ts.map(t => t.textContent)")
    assert "IPUs" in labels and "words" not in labels  # no empty "words" row is announced


def test_the_timeline_works_from_the_keyboard(server, page):
    """Without a mouse: Tab reaches the timeline (with a visible focus ring); Space plays the view on both
    tracks, pauses it and resumes it where it paused, Esc stops; + zooms, the arrows scroll, Home goes to the
    start and 0 shows the whole recording.
    After a click on the timeline the keys work at once."""
    rid = RECORDINGS[0]
    page.goto(f"{server}/recordings/{rid}")
    page.wait_for_selector('#timeline[data-ready="1"]')
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "timeline":
            break
    assert page.evaluate("document.activeElement.id") == "timeline", "Tab never reaches the timeline"
    assert page.locator("#timeline").evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    page.keyboard.press("Space")
    _wait_playing(page, "both")
    page.wait_for_function("document.getElementById('player').currentTime > 0.3")
    page.keyboard.press("Space")  # pause
    assert page.get_attribute("#play-status", "data-state") == "paused"
    at = page.evaluate("document.getElementById('player').currentTime")
    page.wait_for_timeout(300)
    assert page.evaluate("document.getElementById('player').currentTime") == at
    page.keyboard.press("Space")  # resume from there, not from the start
    _wait_playing(page, "both")
    page.wait_for_function(f"document.getElementById('player').currentTime > {at + 0.1}")
    page.keyboard.press("Escape")
    assert page.get_attribute("#play-status", "data-state") == "stopped"

    def info():
        return page.inner_text("#view-info")

    whole = info()
    page.keyboard.press("+")
    page.wait_for_function(f"document.getElementById('view-info').textContent !== {json.dumps(whole)}")
    zoomed = info()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"document.getElementById('view-info').textContent !== {json.dumps(zoomed)}")
    page.keyboard.press("Home")
    page.wait_for_function("document.getElementById('view-info').textContent.startsWith('showing 0.00 s')")
    page.keyboard.press("0")
    page.wait_for_function(f"document.getElementById('view-info').textContent.startsWith({json.dumps(whole[:40])})")
    # a click on a lane plays there and leaves the focus on the timeline, so Space stops it
    box = page.locator('#timeline g.lane[data-track="1"] rect.lane-bg').bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    _wait_playing(page, "B")
    assert page.evaluate("document.activeElement.id") == "timeline"
    page.keyboard.press("Escape")
    assert page.get_attribute("#play-status", "data-state") == "stopped"
    assert "Space" in page.inner_text("#keys")
    assert page.watch.errors == []


def _luminance(colour: str) -> float:
    h = colour.lstrip("#")
    h = "".join(c * 2 for c in h) if len(h) == 3 else h
    rgb = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two #rgb / #rrggbb colours."""
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a["l"] < b["r"] - 0.5 and b["l"] < a["r"] - 0.5 and a["t"] < b["b"] - 0.5 and b["t"] < a["b"] - 0.5:
                out.append((a["s"], b["s"]))
    return out


TEXT_BOXES = """ts => ts.map(t => { const b = t.getBoundingClientRect();
  return {l: b.left, r: b.right, t: b.top, b: b.bottom, s: t.textContent, fill: t.getAttribute('fill')}; })"""


def test_lane_labels_are_clear_and_readable(server, page, phone):
    """Each lane says which track and speaker it is; no label in the gutter runs over another; every text of
    the timeline reaches 4.5:1 contrast on the lanes' lightest background. On a phone the gutter shrinks to
    the track letter so the plot keeps most of the width."""
    rid = RECORDINGS[0]
    detail = api(server, f"/api/recordings/{rid}")
    page.goto(f"{server}/recordings/{rid}")
    page.wait_for_selector('#timeline[data-ready="1"]')
    for t, tr in enumerate(detail["tracks"]):
        lane = page.locator(f'#timeline g.lane[data-track="{t}"]')
        assert lane.locator("text.lane-name").text_content() == f"track {tr['name']}"
        assert lane.locator("text.lane-speaker").text_content() == tr["speaker"]
    gutter = page.locator("#timeline text.lane-name, #timeline text.lane-speaker, #timeline text.row-label")
    boxes = gutter.evaluate_all(TEXT_BOXES)
    assert len(boxes) >= 8 and _overlapping(boxes) == []
    fills = {b["fill"] for b in page.locator("#timeline svg text").evaluate_all(TEXT_BOXES)}
    for fill in fills:
        for bg in ("#ffffff", "#f7f9fc", "#fbfbfb"):
            assert contrast(fill, bg) >= 4.5, (fill, bg)
    # the phone: the letter alone, a plot of most of the width
    phone.goto(f"{server}/recordings/{rid}")
    phone.wait_for_selector('#timeline[data-ready="1"]')
    names = phone.locator("#timeline text.lane-name").evaluate_all("ts => ts.map(t => t.textContent)")
    assert names == [tr["name"] for tr in detail["tracks"]]
    plot = phone.locator('#timeline g.lane[data-track="0"] rect.lane-bg').bounding_box()["width"]
    assert plot >= 0.8 * phone.locator("#timeline").bounding_box()["width"]
    assert page.watch.errors == [] and phone.watch.errors == []


def test_terms_and_requirements_are_explained(server, page, sample_ws, words_ws, browser, tmp_path):
    """A newcomer reads what an IPU, a turn, a gap, an FTO ... are and what each of the eight requirements asks,
    in the report and in the explorer (the list's fold-out, the timeline legend's tooltips and fold-out, the
    recording's requirement table). The report's stage table lists every stage that ran, words included."""
    from twotrack.config import Config
    from twotrack.qualify.requirements import NAMES
    from twotrack.show.glossary import requirement_texts, terms

    TERMS, REQUIREMENTS = terms(Config()), requirement_texts(Config())
    defined = [t for t, _ in TERMS]
    assert {"IPU", "turn", "backchannel", "pause", "gap", "overlap", "floor transfer", "FTO", "interruption",
            "isolation"} <= set(defined)
    assert sorted(REQUIREMENTS) == sorted(NAMES) == list(range(1, 9))
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
    rp = ctx.new_page()
    for ws, words_status in ((sample_ws, "skipped"), (words_ws, "ok")):
        out = write_report(ws, tmp_path / f"report-{words_status}.html")
        rp.goto(out.as_uri())
        assert rp.locator("#terms + dl.terms dt").all_inner_texts() == defined
        assert rp.locator("nav.toc a[href='#terms']").count() == 1
        texts = rp.locator("section#requirements .req-text").all_inner_texts()
        assert texts == [REQUIREMENTS[i] for i in range(1, 9)]
        stages = dict(rp.locator("section#summary table.grid tbody tr").evaluate_all(
            "rs => rs.map(r => [r.cells[0].textContent, r.cells[1].textContent])"))
        assert list(stages)[:5] == ["decode", "checks", "activity", "events", "words"]
        assert stages["words"].startswith(words_status), stages
        assert "% below" in rp.locator("section#turn-taking").inner_text()  # quantiles as words, not q0.301
        why = rp.locator("section#requirements table.grid").first.locator("tbody td:nth-child(4)")
        assert not any(h.startswith("<br>") for h in why.evaluate_all("ts => ts.map(t => t.innerHTML)"))
    ctx.close()
    page.goto(server + "/")
    page.click("details.legend-terms summary")
    assert page.locator("details.legend-terms dl.terms dt").all_inner_texts() == defined
    assert page.locator("details.legend-terms ol.requirements li").count() == 8
    fails = page.locator("#recordings td span[title]").first.get_attribute("title")
    assert re.match(r"\d: [a-z]", fails), fails  # "no (fails 2)" names the requirement on hover
    page.goto(f"{server}/recordings/{RECORDINGS[0]}")
    page.wait_for_selector('#timeline[data-ready="1"]')
    titles = page.locator("ul.legend li").evaluate_all("ls => ls.map(l => l.title)")
    assert sum(1 for t in titles if t) >= 9
    assert page.locator("#requirements .req-text").all_inner_texts() == [REQUIREMENTS[i] for i in range(1, 9)]
    page.click("details.terms summary")
    assert "floor-transfer offset" in page.inner_text("details.terms")
    assert page.watch.errors == []


def test_failed_files_are_in_sight(sample_ws, browser, tmp_path, peak_cache_dir):
    """A workspace with a few failed files shows them on the list page without a click (the fold-out was
    closed, so the only sign was a number on a card); the errors card links to the list."""
    from twotrack.model import ErrorRecord
    from twotrack.store import Workspace

    copy = tmp_path / "ws"
    shutil.copytree(sample_ws, copy)
    bad = ErrorRecord(path="/data/calls/broken.wav", problem="truncated file: audio ends at 0.309 s", stage="ingest")
    with Workspace(copy).writer() as session:
        session.replace_discovery_errors(["/data/calls"], [bad], run_id=1)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    watch = Watch(pg)
    with serve(copy, peak_cache_dir) as base:
        pg.goto(base + "/")
        problem = pg.locator("#errors td", has_text="truncated file: audio ends at 0.309 s")
        assert problem.is_visible()
        pg.click("a.card[href='#errors']")
        assert pg.evaluate("location.hash") == "#errors"
        pg.screenshot(path=str(ARTIFACTS / "explorer-errors.png"), full_page=True)
    assert watch.errors == []
    ctx.close()


def test_axis_reads_minutes_past_the_first_minute(server, page):
    """Ticks are m:ss once the view reaches a minute (so a place in a long call reads 19:58.0, not 1198.0 s)
    and seconds before it; the axis is named accordingly."""
    rid = RECORDINGS[0]  # 68 s
    page.goto(f"{server}/recordings/{rid}")
    page.wait_for_selector('#timeline[data-ready="1"]')

    def ticks():
        return page.locator("#timeline text.tick").evaluate_all("ts => ts.map(t => t.textContent)")

    whole = ticks()
    assert whole[0] == "0:00" and "1:00" in whole and all(re.fullmatch(r"\d:\d\d", t) for t in whole), whole
    assert page.locator("#timeline text.axis-name").text_content() == "time (m:ss)"
    page.focus("#timeline")
    for _ in range(4):
        page.keyboard.press("+")
    page.keyboard.press("Home")
    page.wait_for_function("document.getElementById('view-info').textContent.startsWith('showing 0.00 s to 4.27 s')")
    start = ticks()
    assert all(re.fullmatch(r"\d\.\d s", t) for t in start), start
    page.keyboard.press("End")
    page.wait_for_function("document.getElementById('view-info').textContent.includes('to 68.27 s')")
    end = ticks()
    assert end and all(re.fullmatch(r"1:0\d\.\d", t) for t in end), end
    assert page.watch.errors == []
