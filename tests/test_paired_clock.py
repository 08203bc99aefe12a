"""Paired files' clocks (issue 18, section 1): declared, measured, unknown, and what each reader does with it.

The end-to-end part runs the real command line on the bundled sample: the clean FLAC rendition (one file,
one clock) and the paired rendition (B.wav started 0.35 s earlier and runs 60 ppm fast; the two files share
no signal, so the checks cannot measure it). Without a declaration, requirement 1 fails and the exports leave
the paired recordings out and list them; with ``b_offset_s=0.35, b_drift_ppm=60`` the paired rendition's
onset hits match the FLAC rendition's and B's exported audio lines up with the FLAC's channel B.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from show_fixtures import run_cli
from twotrack.config import Config
from twotrack.ingest.clock import CONTRADICTION_MS, decide_clock, recording_clock
from twotrack.ingest.manifest import read_manifest
from twotrack.model import CheckResult, ClockDeclaration, Isolation, Layout, Recording, TrackSource

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
BLEED = Path(__file__).parent / "data" / "paired-with-bleed"
DIALOGUES = ("demo01_367_1688", "demo02_3080_2033", "demo03_2609_367")
SPEAKERS = {"demo01_367_1688": ("libri-367", "libri-1688"), "demo02_3080_2033": ("libri-3080", "libri-2033"),
            "demo03_2609_367": ("libri-2609", "libri-367")}
FIELDS = ["recording_id", "path", "path_a", "path_b", "speaker_a", "speaker_b", "license", "source_type",
          "transcript", "b_offset_s", "b_drift_ppm"]


# ---------------------------------------------------------------------------------------------
# the rule, on plain records
# ---------------------------------------------------------------------------------------------

def test_the_rule_measured_declared_unknown_shared():
    clean = CheckResult(Isolation.ISOLATED)
    synced = CheckResult(Isolation.LEAKY, offset_ms=351.0, drift_ppm=59.0)
    declared = ClockDeclaration(0.35, 60.0)
    assert decide_clock(Layout.MULTICHANNEL, 2, clean, None, 16000).status == "shared"
    unknown = decide_clock(Layout.PAIRED, 2, clean, None, 16000)
    assert unknown.status == "unknown" and unknown.fix is None and "b_offset_s" in unknown.entry["reason"]
    dec = decide_clock(Layout.PAIRED, 2, clean, declared, 16000)
    assert dec.status == "declared" and (dec.fix.offset_ms, dec.fix.drift_ppm) == (350.0, 60.0)
    assert dec.entry["retimed"] is True
    # a measurement wins and is checked against the declaration: 1 ms + 1 ppm apart agree
    both = decide_clock(Layout.PAIRED, 2, synced, declared, 16000, duration_s=600.0)
    assert both.status == "measured" and both.fix.offset_ms == 351.0 and both.contradiction is None
    assert both.entry["declared"]["offset_ms"] == 350.0
    # 30 ms apart at the start, or a drift that walks 21 ms away over the recording: an error with both numbers
    off = decide_clock(Layout.PAIRED, 2, synced, ClockDeclaration(0.32, 60.0), 16000, duration_s=60.0)
    assert off.status == "unknown" and off.fix is None
    assert "+320.0 ms" in off.contradiction and "+351.0 ms" in off.contradiction
    walk = decide_clock(Layout.PAIRED, 2, synced, ClockDeclaration(0.351, 59.0 + 21e3 / 600.0), 16000,
                        duration_s=600.0)
    assert walk.contradiction and f"> {CONTRADICTION_MS:g} ms" in walk.contradiction
    # capture's rows: one file whose tracks a tool placed on one clock -> measured
    cap = decide_clock(Layout.MULTICHANNEL, 2, clean, ClockDeclaration(0.0, 0.0, "measured"), 48000)
    assert cap.status == "measured" and cap.fix is None


def _manifest(tmp_path: Path, pair: dict, one: dict | None = None) -> Path:
    """A JSONL manifest: line 1 a pair of mono WAVs with the cells ``pair``, line 2 one stereo FLAC with ``one``."""
    a = tmp_path / "x.A.wav"
    b = tmp_path / "x.B.wav"
    for p in (a, b):
        sf.write(p, np.zeros(1600, np.float32), 16000)
    stereo = tmp_path / "y.flac"
    sf.write(stereo, np.zeros((1600, 2), np.float32), 16000)
    rows = [{"recording_id": "pair", "path_a": a.name, "path_b": b.name, **pair},
            {"recording_id": "one", "path": stereo.name, **(one or {})}]
    m = tmp_path / "m.jsonl"
    m.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return m


def test_manifest_columns_declare_the_clock(tmp_path):
    found = read_manifest(_manifest(tmp_path, {"b_offset_s": 0.35, "b_drift_ppm": 60},
                                    {"b_offset_s": 0, "b_drift_ppm": 0, "clock_source": "measured"}))
    assert not found.errors
    by_id = {r.recording_id: r for r in found.recordings}
    assert by_id["pair"].clock == ClockDeclaration(0.35, 60.0, "declared")
    assert by_id["one"].clock == ClockDeclaration(0.0, 0.0, "measured")  # what capture's rows say
    assert Recording.from_dict(by_id["pair"].to_dict()) == by_id["pair"]
    # one file's channels share its clock: declaring a drift for it is refused, naming the line
    found = read_manifest(_manifest(tmp_path, {}, {"b_drift_ppm": 60}))
    assert [r.recording_id for r in found.recordings] == ["pair"]
    assert "line 2" in found.errors[0].problem and "share" in found.errors[0].problem
    # the JSON of a recording without a declaration is as it was (keys hashing it do not change)
    assert "clock" not in found.recordings[0].to_dict() and found.recordings[0].clock is None


@pytest.mark.parametrize("cells,problem", [
    ({"b_offset_s": "soon"}, "not a number"), ({"b_offset_s": "nan"}, "finite"),
    ({"b_drift_ppm": 50000}, "ppm"), ({"clock_source": "measured"}, "without b_offset_s"),
    ({"b_offset_s": 0.1, "clock_source": "guessed"}, "clock_source"),
])
def test_a_bad_declaration_is_a_row_error(tmp_path, cells, problem):
    found = read_manifest(_manifest(tmp_path, cells))
    assert "pair" not in {r.recording_id for r in found.recordings}
    assert any("line 1" in e.problem and problem in e.problem for e in found.errors), found.errors


def test_a_changed_declaration_rekeys_activity_and_what_follows():
    from twotrack.run.keys import recording_stage_keys, stage_keys, unavailable_stages

    keys = stage_keys(Config(), unavailable_stages())
    tracks = (TrackSource("a.wav", 0), TrackSource("b.wav", 0))
    plain = Recording("r", tracks, Layout.PAIRED)
    assert recording_stage_keys(keys, plain) == keys  # workspaces scanned before stay current
    k1 = recording_stage_keys(keys, Recording("r", tracks, Layout.PAIRED, clock=ClockDeclaration(0.35, 60.0)))
    k2 = recording_stage_keys(keys, Recording("r", tracks, Layout.PAIRED, clock=ClockDeclaration(0.35, 61.0)))
    for stage in ("decode", "checks"):
        assert k1[stage] == k2[stage] == keys[stage]
    for stage in ("activity", "events"):
        assert len({k1[stage], k2[stage], keys[stage]}) == 3


# ---------------------------------------------------------------------------------------------
# a declaration the measurement contradicts: the activity stage's error, with both numbers
# ---------------------------------------------------------------------------------------------

def test_a_contradicted_declaration_is_a_recording_error(tmp_path):
    from twotrack.run import scan
    from twotrack.store import Workspace, queries

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for side in ("A", "B"):  # B: +0.35 s, 60 ppm; each file hears the other speaker at -30 dB
        shutil.copy(BLEED / f"demo02_3080_2033.{side}.flac", corpus / f"x.{side}.flac")

    def scan_with(offset: str, drift: str):
        (corpus / "m.csv").write_text("recording_id,path_a,path_b,b_offset_s,b_drift_ppm\n"
                                      f"p/x,x.A.flac,x.B.flac,{offset},{drift}\n")
        return scan([corpus / "m.csv"], tmp_path / "ws", jobs=0)

    bad = scan_with("0.30", "60")
    (err,) = bad.errors
    assert err.stage == "activity" and err.path.endswith("x.B.flac")
    assert "declared B offset +300.0 ms" in err.problem and "measured offset +35" in err.problem
    ws = Workspace(tmp_path / "ws")
    res = queries.result(ws, "p/x")
    assert recording_clock(res.recording, res.checks, res.sample_rate, res.duration_s).status == "unknown"
    assert res.checks.offset_ms == pytest.approx(350.0, abs=3.0)  # the measurement is kept
    good = scan_with("0.35", "60")  # corrected: activity and events rerun, decode's checks are reused
    assert not good.errors and good.scanned == 1
    res = queries.result(ws, "p/x")
    clock = recording_clock(res.recording, res.checks, res.sample_rate, res.duration_s)
    assert clock.status == "measured" and clock.entry["declared"]["offset_ms"] == 350.0 and res.events


# ---------------------------------------------------------------------------------------------
# the sample, end to end through the command line
# ---------------------------------------------------------------------------------------------

def _write_manifest(corpus: Path, declare: bool) -> Path:
    rows = []
    for d in DIALOGUES:
        a, b = SPEAKERS[d]
        common = {"speaker_a": a, "speaker_b": b, "license": "CC-BY-4.0", "source_type": "two-track",
                  "transcript": f"gold/{d}.ctm"}
        rows.append({"recording_id": f"clean/{d}", "path": f"clean/{d}.flac", **common})
        rows.append({"recording_id": f"paired/{d}", "path_a": f"paired/{d}.A.wav", "path_b": f"paired/{d}.B.wav",
                     **common, **({"b_offset_s": "0.35", "b_drift_ppm": "60"} if declare else {})})
    path = corpus / "manifest.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("paired-clock")
    for d in DIALOGUES:
        for rel in (f"clean/{d}.flac", f"paired/{d}.A.wav", f"paired/{d}.B.wav", f"gold/{d}.ctm"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(SAMPLE / rel, root / rel)
    return root


def _json(*args: str) -> dict:
    return json.loads(run_cli(*args).stdout)


def _onset_rates(ws: Path, gold: Path) -> dict[str, float]:
    """Onset hits pooled over the dialogues, per rendition (from `eval --json`'s per-recording rows)."""
    data = _json("eval", "-w", str(ws), "--gold", str(gold), "--json")
    rows = data["recordings"]
    out = {}
    for rendition in ("clean", "paired"):
        mine = [r for rid, r in rows.items() if rid.startswith(rendition + "/")]
        hits = sum(r["ipu_onset_hit_rate"] * r["n_gold_ipus"] for r in mine)
        out[rendition] = hits / sum(r["n_gold_ipus"] for r in mine)
    return out


def _lags_ms(exported: np.ndarray, reference: np.ndarray, rate: int, parts: int = 3) -> list[float]:
    """Lag (ms) of ``exported`` behind ``reference`` in each of ``parts`` stretches of the recording, at the
    largest cross-correlation within +-0.6 s (parabolic peak): a constant offset and a drift both show."""
    n = min(len(exported), len(reference))
    reach = int(0.6 * rate)
    out = []
    for i in range(parts):
        a, b = i * n // parts, (i + 1) * n // parts
        x, y = reference[a:b], exported[a:b]
        m = 2 * (b - a)
        cc = np.fft.irfft(np.fft.rfft(y, m) * np.conj(np.fft.rfft(x, m)), m)
        vals = np.r_[cc[-reach:], cc[:reach + 1]]
        k = int(np.argmax(vals))
        shift = 0.0
        if 0 < k < len(vals) - 1:
            y0, y1, y2 = vals[k - 1], vals[k], vals[k + 1]
            shift = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
        out.append((k - reach + shift) / rate * 1000.0)
    return out


def _clean_b(d: str, rate: int) -> np.ndarray:
    x, sr = sf.read(SAMPLE / "clean" / f"{d}.flac", dtype="float32")
    return soxr.resample(x[:, 1], sr, rate) if sr != rate else x[:, 1]


def _exported_b(out: Path, fmt: str, rid: str) -> tuple[np.ndarray, int]:
    (piece,) = json.loads((out / ".twotrack" / "export.json").read_text())["recordings"][rid]["pieces"]
    audio, rate = sf.read(out / piece["path"], dtype="float32", always_2d=True)
    return audio[:, 1], rate  # moshi: channel 1 is the other speaker (B, main speaker A); lhotse: channel B


def test_paired_sample_end_to_end(corpus, tmp_path):
    ws = tmp_path / "ws"
    gold = corpus / "gold"
    purpose = "research-training"
    paired = [f"paired/{d}" for d in DIALOGUES]

    # 1. no declaration: the checks find no shared signal, so the paired clock is unknown
    run_cli("scan", str(_write_manifest(corpus, declare=False)), "-w", str(ws))
    run_cli("consent", "import", str(SAMPLE / "consent.csv"), "-w", str(ws))
    shown = _json("show", "paired/demo03_2609_367", "-w", str(ws), "--json")["clock"]
    assert shown["status"] == "unknown" and "b_offset_s" in shown["reason"]
    assert _json("show", "clean/demo03_2609_367", "-w", str(ws), "--json")["clock"]["status"] == "shared"
    qual = {r["recording_id"]: {q["id"]: q for q in r["requirements"]}
            for r in _json("qualify", "-w", str(ws), "--purpose", purpose, "--json")["recordings"]}
    for rid in paired:
        req1 = qual[rid][1]
        assert req1["passed"] is False and req1["evidence"]["clock"] == "unknown"
        assert any("unknown clock" in r and "b_offset_s" in r and "shared reference" in r for r in req1["reasons"])
    assert all(qual[f"clean/{d}"][1]["passed"] for d in DIALOGUES)
    before = _onset_rates(ws, gold)
    for fmt in ("moshi", "lhotse"):
        out = tmp_path / f"{fmt}-unknown"
        summary = _json("export", fmt, str(out), "-w", str(ws), "--purpose", purpose, "--json")
        allowed = [rid for rid in paired if rid not in summary["blocked"]]
        assert allowed, summary["blocked"]  # at least one paired recording is allowed for the purpose
        assert sorted(summary["unknown_clock"]) == allowed and summary["exported"] >= 1
        state = json.loads((out / ".twotrack" / "export.json").read_text())
        assert not set(paired) & set(state["recordings"])
        assert all(state["skipped"][rid].startswith("clock unknown:") for rid in allowed)
        assert state["clock"] == {"allow_unknown_clock": False, "unknown_clock_included": []}
    # --allow-unknown-clock: included, recorded, and B sits where its own file put it (350 ms off)
    out = tmp_path / "moshi-allowed"
    summary = _json("export", "moshi", str(out), "-w", str(ws), "--purpose", purpose, "--allow-unknown-clock", "--json")
    state = json.loads((out / ".twotrack" / "export.json").read_text())
    assert state["clock"]["allow_unknown_clock"] is True
    assert state["clock"]["unknown_clock_included"] == sorted(summary["unknown_clock_included"]) == allowed
    card = json.loads((out / "croissant.json").read_text())
    assert any("--allow-unknown-clock" in t for t in card["rai:dataLimitations"])
    b, rate = _exported_b(out, "moshi", allowed[0])
    lags = _lags_ms(b, _clean_b(allowed[0].split("/")[1], rate), rate)
    assert all(abs(lag - 350.0) < 10.0 for lag in lags), lags

    # 2. declared b_offset_s=0.35, b_drift_ppm=60: activity and events recompute, decode's checks are reused
    run_cli("scan", str(_write_manifest(corpus, declare=True)), "-w", str(ws))
    shown = _json("show", "paired/demo03_2609_367", "-w", str(ws), "--json")["clock"]
    assert shown["status"] == "declared" and (shown["offset_ms"], shown["drift_ppm"]) == (350.0, 60.0)
    after = _onset_rates(ws, gold)
    print(f"onset hits pooled over 3 dialogues: FLAC {after['clean']:.3f}; paired undeclared "
          f"{before['paired']:.3f}, declared {after['paired']:.3f}")
    assert abs(after["paired"] - after["clean"]) <= 0.03
    assert before["paired"] < after["clean"] - 0.2  # without the declaration it was far off
    qual = {r["recording_id"]: {q["id"]: q for q in r["requirements"]}
            for r in _json("qualify", "-w", str(ws), "--purpose", purpose, "--json")["recordings"]}
    for rid in paired:
        assert qual[rid][1]["passed"] is True and qual[rid][1]["evidence"]["clock"] == "declared"
    for fmt in ("moshi", "lhotse"):
        out = tmp_path / f"{fmt}-declared"
        summary = _json("export", fmt, str(out), "-w", str(ws), "--purpose", purpose, "--json")
        assert not summary["unknown_clock"] and not summary["errors"]
        recs = json.loads((out / ".twotrack" / "export.json").read_text())["recordings"]
        for rid in allowed:
            assert recs[rid]["clock"]["status"] == "declared"
            b, rate = _exported_b(out, fmt, rid)
            lags = _lags_ms(b, _clean_b(rid.split("/")[1], rate), rate)
            print(f"{fmt} {rid}: B lag behind the FLAC's B by part: {', '.join(f'{x:+.2f}' for x in lags)} ms")
            assert all(abs(lag) <= 5.0 for lag in lags), (fmt, rid, lags)
