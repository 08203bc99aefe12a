"""Collapse on a 4-channel file whose two talkers sit on two of its channels (the others unused): the pair is
mixed and scored as a two-track file is, the results name the tracks used; a file with three talking
tracks keeps a skip reason. Before: every recording with other than two tracks was skipped ("4 track(s):
collapse compares two tracks with their mix").

The files are those of tests/test_multichannel_speakers.py (30 s of the sample's demo01 written as
4-channel WAVs): ``field/ab`` (talkers on A, B; silence on C, hiss on D), ``field/cd`` (hiss on A, silence
on B, the same talkers on C, D), ``field/stranger`` (as ``ab`` with a third voice on C)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_multichannel_speakers import ws  # noqa: F401  (the module's scanned 4-channel workspace)
from twotrack.cli import main
from twotrack.store import Workspace


@pytest.fixture(scope="module")
def collapsed(ws):  # noqa: F811
    res = CliRunner().invoke(main, ["collapse", "-w", str(ws), "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_the_talking_pair_of_a_four_channel_file_is_mixed_and_scored(ws, collapsed):  # noqa: F811
    got = {r["recording_id"]: r for r in collapsed["recordings"]}
    assert sorted(got) == ["field/ab", "field/cd"], collapsed["skipped"]
    ab, cd = got["field/ab"], got["field/cd"]
    assert ab["error"] is None and cd["error"] is None
    assert ab["tracks"] == ["A", "B"] and cd["tracks"] == ["C", "D"]
    assert sorted(ab["mapping"].values()) == ["A", "B"] and sorted(cd["mapping"].values()) == ["C", "D"]
    assert ab["n_speakers"] == cd["n_speakers"] == 2
    # the same two talkers on C, D as on A, B: the pair's mix is the same audio, so are its scores
    assert cd["der"] == pytest.approx(ab["der"], abs=1e-9) and cd["turn_taking"] == ab["turn_taking"]
    assert 0 < ab["der"]["speech_s"] and ab["der"]["der"] < 0.5
    lanes = json.loads(Path(collapsed["path"]).read_text())["lanes"]
    assert sorted(a["track"] for a in lanes["field/cd"]) == [2, 3]  # on the recording's own tracks C, D
    skipped = {s["recording_id"]: s["reason"] for s in collapsed["skipped"]}
    assert list(skipped) == ["field/stranger"]
    assert skipped["field/stranger"].startswith("4 tracks, 3 of them with speech (track A, B, C)"), skipped


def test_the_report_and_the_explorer_name_the_tracks_used(ws, collapsed):  # noqa: F811
    from fastapi.testclient import TestClient

    from twotrack.show import create_app
    from twotrack.show.data import snapshot
    from twotrack.show.report import render_report

    report = render_report(snapshot(Workspace(ws)))
    table = report[report.index("collapse-table"):].split("</table>")[0]
    rows = {rid: table.split(f'<tr data-recording-id="{rid}">')[1].split("</tr>")[0] for rid in ("field/ab", "field/cd")}
    assert "(track C, D)" in rows["field/cd"] and "(track" not in rows["field/ab"], rows
    chart = report.split('<figure class="collapse-lanes" data-recording-id="field/cd">')[1].split("</figure>")[0]
    assert "C true (track C)" in chart and "C diarized" in chart and "A true" not in chart
    with TestClient(create_app(ws, cache_dir=Path(ws) / "peaks")) as c:
        api = c.get("/api/recordings/field/cd/collapse").json()
        assert api["tracks"] == ["C", "D"] and sorted(ln["name"] for ln in api["lanes"]) == ["C", "D"]
        page = c.get("/recordings/field/cd").text
        assert "the mix of track C and D" in page
    text = CliRunner().invoke(main, ["collapse", "-w", str(ws), "-r", "field/cd"], catch_exceptions=False).output
    assert "field/cd (C, D)" in text


def test_the_lane_chart_gives_the_two_tracks_of_a_pair_two_colours():
    """The report's lane chart coloured a track by its letter's parity: a pair on A and C (or B and D) of a
    4-channel file drew both tracks, and their legend entries, in one colour. Each track of the pair now
    has its own colour, in the pair's order (A then C)."""
    import re

    import numpy as np

    from twotrack.show.report import LANE_COLOURS, lane_chart

    truth = [(0, np.array([0.5, 4.0]), np.array([2.0, 5.0])), (2, np.array([2.2]), np.array([3.8]))]
    diarized = [(0, np.array([0.5]), np.array([2.1])), (2, np.array([2.1, 4.0]), np.array([3.9, 5.0]))]
    svg = lane_chart("field/ac", {"duration_s": 6.0, "mapping": {"S0": "A", "S1": "C"}, "der": {"der": 0.1}},
                     truth, diarized)
    colour = {}
    for name in ("A", "C"):
        group = svg.split(f'class="lane true track-{name}"')[1].split("</g>")[0]
        colour[name] = set(re.findall(r'fill="(#[0-9a-fA-F]{6})"', group)) & set(LANE_COLOURS)
    assert colour["A"] and colour["C"] and colour["A"] != colour["C"], colour


def test_a_talking_pair_that_is_one_mix_on_two_channels_is_skipped_as_on_a_two_track_file(tmp_path):
    """A 4-channel file whose talking pair C, D holds one mix twice (the same mono signal on two inputs; A
    hiss, B silence): the checks call it duplicate channels, as they do a two-track file with the mix on A
    and B, which collapse skips. The pair was mixed and scored anyway: DER 50.7 % (its 'two-track truth' is
    the same speech twice, all overlap), and that went into the corpus figure. It is now skipped the same way,
    naming the pair."""
    import numpy as np
    import soundfile as sf

    import export_corpus as C

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    x, sr = sf.read(C.SAMPLE / "clean" / "demo01_367_1688.flac", dtype="float32", frames=int(20 * 16000))
    mix = (x[:, 0] + x[:, 1]) / 2
    hiss = (10 ** (-66 / 20) * np.random.default_rng(7).standard_normal(len(x))).astype(np.float32)
    path = corpus / "dupcd.wav"
    sf.write(str(path), np.stack([hiss, np.zeros_like(hiss), mix, mix], axis=1), sr, subtype="PCM_16")
    ws = C.scan_rows([{"recording_id": "field/dupcd", "path": str(path), "speaker_a": "", "speaker_b": "",
                       "speaker_c": "libri-367", "speaker_d": "libri-1688", "license": "CC-BY-4.0", "channels": "4"}],
                     corpus / "manifest.csv", tmp_path / "ws")
    res = CliRunner().invoke(main, ["collapse", "-w", str(ws), "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["recordings"] == [], out["recordings"]
    (skip,) = out["skipped"]
    assert skip["recording_id"] == "field/dupcd"
    assert skip["reason"].startswith("its talking tracks C and D are copies of one channel"), skip
