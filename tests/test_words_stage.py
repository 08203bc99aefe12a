"""The words stage end to end, as a user runs it: `scan --words` on short real dialogue audio (tiny.en,
bundled), words in the workspace and in `show --json`, a Moshi export from stage words for a recording
without gold, `--allow-no-text`, a track without speech, a Fisher-style transcript aligned, and keys."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

pytest.importorskip("faster_whisper")
pytest.importorskip("pocketsphinx")

from twotrack.cli import main  # noqa: E402
from twotrack.ingest.annotations import read_ctm  # noqa: E402
from twotrack.paths import EXPORT_JSON  # noqa: E402
from twotrack.store import Workspace, queries  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
DIALOGUE = "demo01_367_1688"
SECONDS = 14.0
#: Keep the test fast: the English model only, no language detection by the multilingual model.
FAST = ("--set", "words.multilingual_model=\"\"")
HEADER = "recording_id,path,path_a,path_b,speaker_a,speaker_b,license,tags,source_type,transcript\n"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def utterances(words, pause_s: float = 0.3) -> list[tuple[float, float, int, str]]:
    """Gold CTM words joined into utterance lines (start, end, track, text), as a Fisher transcript has them."""
    out: list[list] = []
    for w in sorted(words, key=lambda w: (w.track, w.start)):
        if out and out[-1][2] == w.track and w.start - out[-1][1] < pause_s:
            out[-1][1], out[-1][3] = w.end, out[-1][3] + " " + w.text
        else:
            out.append([w.start, w.end, w.track, w.text])
    return sorted((tuple(u) for u in out), key=lambda u: u[0])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """talk: 14 s of a sample dialogue; lone: the same with track B silent; told: the same audio as talk
    with an utterance-level (Fisher-style) transcript made from the gold word times."""
    d = tmp_path_factory.mktemp("words_corpus")
    x, rate = sf.read(SAMPLE / "clean" / f"{DIALOGUE}.flac", dtype="float32", always_2d=True)
    x = x[: int(SECONDS * rate)]
    sf.write(d / "talk.flac", x, rate)
    lone = x.copy()
    lone[:, 1] = 0.0
    sf.write(d / "lone.flac", lone, rate)
    sf.write(d / "told.flac", x, rate)
    gold = [w for w in read_ctm(SAMPLE / "gold" / f"{DIALOGUE}.ctm") if w.end < SECONDS - 0.2]
    lines = [f"{a:.2f} {b:.2f} {'AB'[t]}: {text}" for a, b, t, text in utterances(gold)]
    (d / "told.txt").write_text("# utterance-level transcript (no word times)\n" + "\n".join(lines) + "\n")
    (d / "manifest.csv").write_text(
        HEADER
        + "talk,talk.flac,,,libri-367,libri-1688,CC-BY-4.0,,two-track,\n"
        + "lone,lone.flac,,,libri-367,libri-1688,CC-BY-4.0,,two-track,\n"
        + "told,told.flac,,,libri-367,libri-1688,CC-BY-4.0,,two-track,told.txt\n")
    return d


@pytest.fixture(scope="module")
def scanned(corpus, tmp_path_factory):
    """A workspace scanned without words first, then with --words (the second scan runs words only)."""
    ws = str(tmp_path_factory.mktemp("words_ws") / "ws")
    first = run("scan", str(corpus / "manifest.csv"), "-w", ws, "-j", "0", "--no-progress", "--json")
    assert first.exit_code == 0, first.stdout
    keys_before = {(r["recording_id"], r["stage"]): r["stage_key"] for r in queries.stage_table(Workspace(ws))}
    second = run("scan", str(corpus / "manifest.csv"), "-w", ws, "-j", "0", "--no-progress", "--json", "--words", *FAST)
    assert second.exit_code == 0, second.stdout
    consent = run("consent", "import", str(SAMPLE / "consent.csv"), "-w", ws)
    assert consent.exit_code == 0, consent.stdout
    return ws, json.loads(first.stdout), json.loads(second.stdout), keys_before


def test_words_off_is_skipped_and_words_on_runs_only_the_words_stage(scanned, corpus):
    ws, first, second, keys_before = scanned
    assert first["stages"]["words"] == {"skipped": 3}
    # turning words on recomputes words (decoding again for it), nothing else
    assert second["stages"]["words"] == {"ok": 3}
    assert second["stages"]["checks"] == {"reused": 3} and second["stages"]["activity"] == {"reused": 3}
    assert second["stages"]["events"] == {"reused": 3}
    after = {(r["recording_id"], r["stage"]): r["stage_key"] for r in queries.stage_table(Workspace(ws))}
    for (rid, stage), key in keys_before.items():
        if stage != "words":
            assert after[(rid, stage)] == key, (rid, stage)
    assert after[("talk", "words")] != keys_before[("talk", "words")]
    # scanning again without --words computes nothing and keeps the words
    again = json.loads(run("scan", str(corpus / "manifest.csv"), "-w", ws, "-j", "0", "--no-progress",
                           "--json").stdout)
    assert again["recordings"]["skipped"] == 3 and again["recordings"]["scanned"] == 0
    assert queries.words(Workspace(ws), "talk").words


def test_words_are_stored_per_track_and_shown(scanned):
    ws = scanned[0]
    stored = queries.words(Workspace(ws), "talk")
    assert stored.source == "stage"
    by_track = {t: [w for w in stored.words if w.track == t] for t in (0, 1)}
    assert len(by_track[0]) >= 10 and len(by_track[1]) >= 10
    res = run("show", "talk", "-w", ws, "--json")
    d = json.loads(res.stdout)
    assert d["words_source"] == "stage"
    assert d["words"] and set(d["words"][0]) == {"track", "start", "end", "word", "probability"}
    starts = [w["start"] for w in d["words"]]
    assert starts == sorted(starts)
    assert {w["track"] for w in d["words"]} == {"A", "B"}
    assert all(w["end"] >= w["start"] and 0.0 <= w["probability"] <= 1.0 for w in d["words"])
    assert set(d["languages"]) == {"A", "B"} and d["languages"]["A"]["language"] == "en"
    # each track's words lie on that track's own speech (activity, padded), on A's clock
    segs = {a["track"]: np.asarray(a["segments"]) for a in d["activity"]}
    for w in d["words"]:
        s = segs[0 if w["track"] == "A" else 1]
        mid = (w["start"] + w["end"]) / 2
        assert np.any((s[:, 0] - 0.3 <= mid) & (mid <= s[:, 1] + 0.3)), w
    text = run("show", "talk", "-w", ws)
    assert "words A:" in text.stdout and "words B:" in text.stdout


def test_a_track_without_speech_gets_no_words(scanned):
    ws = scanned[0]
    stored = queries.words(Workspace(ws), "lone")
    assert stored.words and all(w.track == 0 for w in stored.words)
    assert stored.languages[1][0] == "unknown"
    status = {r["stage"]: r["status"] for r in queries.stage_table(Workspace(ws), "lone")}
    assert status["words"] == "ok"


def test_utterance_level_transcript_is_aligned(scanned, corpus):
    ws = scanned[0]
    stored = queries.words(Workspace(ws), "told")
    assert stored.source == "aligned"
    gold = [w for w in read_ctm(SAMPLE / "gold" / f"{DIALOGUE}.ctm") if w.end < SECONDS - 0.2]
    # the transcript's own words, in order, on their tracks, with times close to the gold word times
    for t in (0, 1):
        mine = [w for w in stored.words if w.track == t]
        ref = [w for w in gold if w.track == t]
        assert [w.text for w in mine] == [w.text for w in ref]
        err = np.abs(np.array([w.start for w in mine]) - np.array([w.start for w in ref]))
        assert np.median(err) < 0.05


def test_a_transcript_of_part_of_the_recording_is_aligned_and_the_rest_recognised(corpus, tmp_path):
    # CALLHOME transcribes 10 of up to 30 minutes per call: the recipe says which stretch (transcribed_span_s);
    # the words stage aligns the transcript there and recognises the speech after it, so every stretch of
    # speech has words. 7.95 s lies in a pause of both tracks (track B resumes at 8.14 s).
    cut = 7.95
    gold = [w for w in read_ctm(SAMPLE / "gold" / f"{DIALOGUE}.ctm") if w.end < SECONDS - 0.2]
    told = [w for w in gold if w.end < cut]
    lines = [f"{a:.2f} {b:.2f} {'AB'[t]}: {text}" for a, b, t, text in utterances(told)]
    (tmp_path / "part.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "part.flac").write_bytes((corpus / "told.flac").read_bytes())
    (tmp_path / "manifest.csv").write_text(HEADER.strip() + ",transcribed_span_s\n"
                                           + f"part,part.flac,,,libri-367,libri-1688,CC-BY-4.0,,two-track,part.txt,0-{cut}\n")
    ws = str(tmp_path / "ws")
    got = run("scan", str(tmp_path / "manifest.csv"), "-w", ws, "-j", "0", "--no-progress", "--words", *FAST)
    assert got.exit_code == 0, got.stdout
    stored = queries.words(Workspace(ws), "part")
    assert stored.source == "aligned+stage"
    mid = {w: (w.start + w.end) / 2 for w in stored.words}
    for t in (0, 1):  # inside the stretch: the transcript's words, and no recognised word beside them
        assert [w.text for w in stored.words if w.track == t and mid[w] < cut] == [w.text for w in told if w.track == t]
    after = [w for w in stored.words if mid[w] >= cut]
    spoken = [w for w in gold if w.start >= cut]
    assert len(after) >= 0.7 * len(spoken) and {w.track for w in after} == {0, 1}
    # recognised words start near the gold word of the same text (re-timed as any stage word)
    starts = {(w.track, w.text.lower()): w.start for w in spoken}
    near = [abs(w.start - starts[(w.track, w.text.lower().strip(".,?!"))]) < 0.1 for w in after
            if (w.track, w.text.lower().strip(".,?!")) in starts]
    assert len(near) >= 0.5 * len(after) and np.mean(near) > 0.8
    scored = json.loads(run("eval", "-w", ws, "--json").stdout)["recordings"]["part"]
    assert scored["scored_span_s"] == [0.0, cut]


def test_moshi_export_writes_stage_words_and_leaves_out_no_text(scanned, corpus, tmp_path):
    ws = scanned[0]
    out = tmp_path / "moshi"
    res = run("export", "moshi", str(out), "-w", ws, "--purpose", "commercial-training", "--max-duration", "0")
    assert res.exit_code == 0, res.stdout
    state = json.loads((out / EXPORT_JSON).read_text())
    assert state["recordings"]["talk"]["words_source"] == "stage"
    assert state["recordings"]["told"]["words_source"] == "aligned"
    ali = json.loads((out / "audio" / "talk.json").read_text())["alignments"]
    stored = [w for w in queries.words(Workspace(ws), "talk").words if w.track == 0]
    assert [a[0] for a in ali] == [w.text for w in stored]
    assert all(a[2] == "SPEAKER_MAIN" and a[1][0] < a[1][1] for a in ali)
    assert "stage" in res.stdout and "words:" in res.stdout

    # a workspace scanned without --words has no text for these recordings (talk, lone): left out, said so
    bare = str(tmp_path / "bare")
    assert run("scan", str(corpus / "manifest.csv"), "-w", bare, "-j", "0", "--no-progress").exit_code == 0
    assert run("consent", "import", str(SAMPLE / "consent.csv"), "-w", bare).exit_code == 0
    left = run("export", "moshi", str(tmp_path / "left"), "-w", bare, "--purpose", "commercial-training",
               "--max-duration", "0", "--json")
    summary = json.loads(left.stdout)
    assert sorted(summary["no_text"]) == ["lone", "talk"]
    assert "no text" in summary["skipped"]["talk"]
    assert summary["exported"] == 1  # told: its transcript is text (utterances, as they are)
    said = run("export", "moshi", str(tmp_path / "left"), "-w", bare, "--purpose", "commercial-training",
               "--max-duration", "0")
    assert "left out for having no text" in said.stdout and "--allow-no-text" in said.stdout
    allowed = run("export", "moshi", str(tmp_path / "all"), "-w", bare, "--purpose", "commercial-training",
                  "--max-duration", "0", "--allow-no-text", "--json")
    assert json.loads(allowed.stdout)["exported"] == 3
    assert (tmp_path / "all" / "audio" / "talk.wav").exists() and not (tmp_path / "all" / "audio" / "talk.json").exists()


def test_lhotse_supervisions_carry_stage_words(scanned, tmp_path):
    lhotse = pytest.importorskip("lhotse")
    ws = scanned[0]
    out = tmp_path / "lhotse"
    res = run("export", "lhotse", str(out), "-w", ws, "--purpose", "commercial-training")
    assert res.exit_code == 0, res.stdout
    sups = lhotse.load_manifest(out / "supervisions.jsonl.gz")
    talk = [s for s in sups if s.recording_id == "talk"]
    assert talk and all(s.text for s in talk if s.alignment and s.alignment["word"])
    n_aligned = sum(len(s.alignment["word"]) for s in talk if s.alignment)
    assert n_aligned >= 0.9 * len(queries.words(Workspace(ws), "talk").words)


def test_explorer_draws_words_on_each_lane(scanned, tmp_path):
    """The explorer in Debian's chromium (tests/test_browser.py's pattern): a box per stored word in its
    track's lane, the words' text where there is room, and a click on a word plays it on that track."""
    import os
    import shutil
    import urllib.request

    if os.environ.get("TWOTRACK_SKIP_BROWSER") == "1":
        pytest.skip("TWOTRACK_SKIP_BROWSER=1")
    chromium = "/usr/bin/chromium"
    if not (Path(chromium).exists() or shutil.which("chromium")):
        pytest.skip("Debian's chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright
    from serving import served

    from twotrack.show import create_app

    ws = scanned[0]
    stored = queries.words(Workspace(ws), "talk").words
    with served(create_app(ws, cache_dir=tmp_path / "peaks"), "the explorer") as base:
        api = json.loads(urllib.request.urlopen(f"{base}/api/recordings/talk/timeline?width=800").read())
        assert [len(w["word"]) for w in api["words"]] == [sum(1 for w in stored if w.track == t) for t in (0, 1)]
        assert api["words_source"] == "stage"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True,
                                        args=["--headless", "--no-sandbox", "--disable-gpu",
                                              "--autoplay-policy=no-user-gesture-required"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base}/recordings/talk")
            page.wait_for_selector('#timeline[data-ready="1"]')
            for t in (0, 1):
                lane = page.locator(f'#timeline g.lane[data-track="{t}"]')
                assert lane.locator("rect.mark.word").count() == sum(1 for w in stored if w.track == t)
                assert lane.locator("text.word-text").count() > 0
            first = page.locator('#timeline g.lane[data-track="1"] rect.mark.word').first
            assert first.get_attribute("data-word") == next(w.text for w in stored if w.track == 1)
            first.click()
            page.wait_for_selector('#play-status[data-state="playing"]', timeout=15000)
            assert page.get_attribute("#play-status", "data-tracks") == "B"
            artifacts = Path(__file__).resolve().parents[1] / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / "explorer-words.png"), full_page=True)
            browser.close()
            assert errors == []


def test_a_missing_model_is_a_named_error_of_the_recording(corpus, tmp_path):
    ws = str(tmp_path / "ws")
    res = run("scan", str(corpus / "manifest.csv"), "-w", ws, "-j", "0", "--no-progress", "--json", "--words",
              "--set", "words.model=/nonexistent/whisper-model")
    summary = json.loads(res.stdout)
    # a stage error leaves the recording partial (not failed): listed, the scan goes on, and the exit code says
    # something failed (told's transcript is aligned, which needs no recogniser)
    assert res.exit_code == 1 and summary["stages"]["words"] == {"error": 2, "ok": 1}
    assert summary["recordings"]["stage_errors"] == 2 and summary["recordings"]["failed"] == 0
    assert summary["stages"]["events"] == {"ok": 3}  # the other stages' results are kept
    err = next(e for e in summary["errors"] if e["stage"] == "words")
    assert "/nonexistent/whisper-model" in err["path"] and "not found" in err["problem"]
    status = {r["recording_id"]: r["status"] for r in queries.recording_table(Workspace(ws))}
    assert status == {"talk": "partial", "lone": "partial", "told": "ok"}
