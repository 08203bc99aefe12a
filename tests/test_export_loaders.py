"""Every export folder loads where people load data, with the consumers' own code and no network:
``datasets.load_dataset(folder)`` (the README card's configs), audio decoded per sample rate (torchcodec +
FFmpeg), and every Croissant record set read with mlcroissant, audio and word alignments included.

The corpus: 30-second excerpts of one sample dialogue at 16 kHz (``clean/demo01``) and another at 8 kHz
(``telephone/demo03``, the SPHERE rendition as PCM WAV), both tagged ``language:en``; their gold CTM words
with case and punctuation put back on a few words (the sample CTMs are lower case at the source), so the
tests can see that the exports keep them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import export_corpus as C
from twotrack.export import export
from twotrack.export.lhotse import LOADING as LHOTSE_LOADING
from twotrack.export.moshi import LOADING as MOSHI_LOADING
from twotrack.export.parquet import LOADING as PARQUET_LOADING

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# a cache of our own: datasets keys a local folder's cache by its name and card, not by its path, so a
# folder of the same name from an earlier test session must not answer for this one
_CACHE = tempfile.mkdtemp(prefix="hf-datasets-cache-")
os.environ["HF_DATASETS_CACHE"] = _CACHE
datasets = pytest.importorskip("datasets")
datasets.config.HF_DATASETS_CACHE = Path(_CACHE)  # in case another module imported datasets first
mlc = pytest.importorskip("mlcroissant")
yaml = pytest.importorskip("yaml")
pytestmark = [pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated"),
              pytest.mark.filterwarnings("ignore:The inplace keyword"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]

DOCS = Path(__file__).resolve().parents[1] / "docs" / "export.md"
PURPOSE = "research-training"
LOADING = {"moshi": MOSHI_LOADING, "lhotse": LHOTSE_LOADING, "parquet": PARQUET_LOADING}
#: Words given back their case and punctuation in the test's CTM (as a human transcript would have them).
CASED = {"it": "It", "locks": "locks,", "officers": "officers.", "so": "So"}


def _build(root: Path) -> Path:
    corpus = root / "corpus"
    rows = []
    for rid, src, gold, spk in (("clean/demo01", "clean/demo01_367_1688.flac", "demo01_367_1688", ("libri-367", "libri-1688")),
                                ("telephone/demo03", "telephone/demo03_2609_367.sph", "demo03_2609_367",
                                 ("libri-2609", "libri-367"))):
        wav = C._excerpt(C.SAMPLE / src, corpus / (rid + ".wav"))
        ctm = C._ctm_excerpt(C.SAMPLE / "gold" / f"{gold}.ctm", corpus / f"{gold}.ctm", words=CASED)
        rows.append({"recording_id": rid, "path": str(wav), "speaker_a": spk[0], "speaker_b": spk[1],
                     "license": "CC-BY-4.0", "tags": "register:read;language:en", "source_type": "two-track",
                     "transcript": str(ctm)})
    return C.scan_rows(rows, corpus / "manifest.csv", root / "ws")


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("loaders"))


@pytest.fixture(scope="module")
def folders(ws, tmp_path_factory):
    root = tmp_path_factory.mktemp("loader-exports")
    return {fmt: (export(ws, root / fmt, fmt, PURPOSE, max_duration_s=12.0), root / fmt) for fmt in LOADING}


def _state(out: Path) -> dict:
    return json.loads((out / ".twotrack" / "export.json").read_text())


def _run_loading(fmt: str, out: Path) -> dict:
    """The card's and the docs' loading lines, run as they are."""
    scope = {"folder": str(out)}
    exec(LOADING[fmt], scope)  # noqa: S102 - the documented snippet is what is tested
    return scope


def _front_matter(out: Path) -> dict:
    text = (out / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


# ---------------------------------------------------------------------------------------------
# datasets
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(LOADING))
def test_the_documented_loading_lines_are_in_the_docs_and_run(folders, fmt, capsys):
    _, out = folders[fmt]
    assert textwrap.dedent(LOADING[fmt]).strip() in DOCS.read_text(), f"docs/export.md lacks the {fmt} lines"
    assert LOADING[fmt].strip() in (out / "README.md").read_text()
    _run_loading(fmt, out)
    printed = capsys.readouterr().out
    assert ("24000" if fmt == "moshi" else "16000") in printed


def test_moshi_folder_loads_one_row_per_wav_with_text_and_upsampling_noted(folders):
    summary, out = folders["moshi"]
    state = _state(out)
    ds = datasets.load_dataset(str(out), split="train")
    pieces = {p["id"]: p for r in state["recordings"].values() for p in r["pieces"]}
    assert ds.num_rows == len(pieces) == summary.pieces and set(ds["id"]) == set(pieces)
    assert set(ds.column_names) >= {"audio", "id", "text_main", "text_other", "duration", "source_sample_rate"}
    # one audio sample decoded (moshi writes every example at 24 kHz): stereo, the length it claims
    row = ds[0]
    audio = row["audio"].get_all_samples()
    assert audio.sample_rate == 24000 and audio.data.shape[0] == 2
    assert audio.data.shape[1] == pytest.approx(row["duration"] * 24000, abs=2)
    # the 8 kHz telephone audio is said to be upsampled, in export.json and in the card
    up = {(g["from_hz"], g["to_hz"]): g for g in state["resampled"]}
    assert up[(8000, 24000)]["recordings"] == ["telephone/demo03"] and up[(8000, 24000)]["upsampled"]
    assert up[(16000, 24000)]["recordings"] == ["clean/demo01"]
    assert any("upsampled from 8000 Hz to 24000 Hz" in n for n in state["recordings"]["telephone/demo03"]["notes"])
    card = (out / "README.md").read_text()
    assert "upsampled from 8000 Hz to 24000 Hz" in card and "telephone-band" in card


def test_lhotse_folder_loads_and_decodes_one_sample_per_rate(folders):
    summary, out = folders["lhotse"]
    ds = datasets.load_dataset(str(out), split="train")
    assert ds.num_rows == summary.pieces
    rates = {}
    for i, rate in enumerate(ds["sample_rate"]):
        rates.setdefault(rate, i)
    assert sorted(rates) == [8000, 16000]
    for rate, i in rates.items():  # one sample per rate, decoded at the file's own rate
        row = ds[i]
        audio = row["audio"].get_all_samples()
        assert audio.sample_rate == rate and audio.data.shape[0] == 2
        ref, ref_rate = sf.read(out / "audio" / f"{row['id']}.flac", dtype="float32")
        assert ref_rate == rate and np.abs(audio.data.numpy().T - ref).max() < 1e-4
    # the supervisions load with the json loader by name, one row per IPU, with the cased words
    sups = datasets.load_dataset("json", data_files=str(out / "supervisions.jsonl.gz"), split="train")
    assert sups.num_rows == sum(p["supervisions"] for r in _state(out)["recordings"].values() for p in r["pieces"])
    assert any(t.startswith("It locks, is an officers.") for t in sups["text"])


def test_parquet_folder_has_one_config_per_rate_with_the_rate_in_its_audio_feature(folders):
    summary, out = folders["parquet"]
    names = datasets.get_dataset_config_names(str(out))
    assert names == ["16000hz", "8000hz"]
    meta = _front_matter(out)
    assert [c.get("default", False) for c in meta["configs"]] == [True, False]
    rows = 0
    for name in names:
        rate = int(name[:-2])
        ds = datasets.load_dataset(str(out), name, split="train")
        assert ds.features["audio"].sampling_rate == rate  # no cast needed
        assert set(ds["sample_rate"]) == {rate}
        audio = ds[0]["audio"].get_all_samples()
        assert audio.sample_rate == rate and audio.data.shape == (2, round(ds[0]["duration_s"] * rate))
        raw = ds.cast_column("audio", datasets.Audio(decode=False))[0]["audio"]["bytes"]
        ref, ref_rate = sf.read(io.BytesIO(raw), dtype="float32")
        assert ref_rate == rate and np.abs(audio.data.numpy().T - ref).max() < 1e-4
        rows += ds.num_rows
    assert rows == summary.pieces
    # the default config is what load_dataset(folder) gives
    assert datasets.load_dataset(str(out), split="train").features["audio"].sampling_rate == 16000


def test_a_sample_rate_option_gives_one_rate_and_one_config(ws, tmp_path):
    out = tmp_path / "pq8k"
    summary = export(ws, out, "parquet", PURPOSE, max_duration_s=0, sample_rate=8000)
    assert summary.exported == 2
    assert datasets.get_dataset_config_names(str(out)) == ["8000hz"]
    ds = datasets.load_dataset(str(out), split="train")
    assert ds.num_rows == 2 and ds.features["audio"].sampling_rate == 8000
    assert {g["from_hz"]: g["upsampled"] for g in _state(out)["resampled"]} == {16000: False}


# ---------------------------------------------------------------------------------------------
# the card
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(LOADING))
def test_the_card_front_matter_and_body(folders, ws, fmt):
    summary, out = folders[fmt]
    meta = _front_matter(out)
    assert meta["license"] == "cc-by-4.0" and meta["language"] == ["en"]
    assert "automatic-speech-recognition" in meta["task_categories"] and meta["size_categories"] == ["n<1K"]
    # configs name data files only: never the state folder, the cards or the per-recording parts
    for config in meta["configs"]:
        for split in config["data_files"]:
            paths = split["path"] if isinstance(split["path"], list) else [split["path"]]
            for pattern in paths:
                hits = list(out.glob(pattern))
                assert hits, pattern
                assert not any(h.name in ("README.md", "croissant.json") or ".twotrack" in h.parts for h in hits)
    body = (out / "README.md").read_text()
    for needle in (summary.ledger_head, "ai-training", "attribution", "## The eight requirements",
                   "Phase fit", "docs/activity.md", "docs/checks.md", "docs/turn-taking.md", "docs/rights.md",
                   "Withdrawal policy", "withdrawal/revocation event(s)", "**2 recording(s)**", "**3 speaker(s)**",
                   "gold transcript"):
        assert needle in body, needle
    assert not (out / "export.json").exists() and (out / ".twotrack" / "export.json").is_file()
    assert not list(out.rglob("*lock*")), "a finished export leaves no lock file"


def test_mixed_licenses_become_other_with_the_spdx_expression():
    from twotrack.export.card import hub_license, size_category

    assert hub_license("CC-BY-4.0") == "cc-by-4.0" and hub_license("ODbL-1.0") == "odbl"
    assert hub_license("LicenseRef-Unknown") is None and hub_license("MIT OR Apache-2.0") is None
    assert size_category(999) == "n<1K" and size_category(1000) == "1K<n<10K"


def test_a_mixed_license_card(ws, tmp_path):
    from twotrack.export.card import front_matter
    from twotrack.export.state import State
    from twotrack.store import Workspace, queries

    recs = queries.recordings(Workspace(ws))

    class _Exp:
        name = "parquet"

        def hf_configs(self, state):
            return []

    class _Ctx:
        purpose = PURPOSE

    meta = front_matter(_Exp(), State({}), _Ctx(), recs, 3, ["CC-BY-4.0", "CC-BY-SA-4.0"])
    assert meta["license"] == "other" and meta["license_details"] == "CC-BY-4.0 AND CC-BY-SA-4.0"
    assert meta["license_link"] == "README.md#license"


# ---------------------------------------------------------------------------------------------
# Croissant
# ---------------------------------------------------------------------------------------------


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("fmt", list(LOADING))
def test_every_croissant_record_set_loads_with_audio_and_word_alignments(folders, fmt):
    _, out = folders[fmt]
    card = json.loads((out / "croissant.json").read_text())
    ds = mlc.Dataset(jsonld=str(out / "croissant.json"))
    assert not ds.metadata.ctx.issues.errors and not ds.metadata.ctx.issues.warnings
    for key in ("rai:dataCollection", "rai:personalSensitiveInformation", "rai:dataReleaseMaintenancePlan"):
        assert card[key]
    assert "Withdrawal policy" in card["rai:dataReleaseMaintenancePlan"]
    assert "ai-training" in " ".join(card["rai:personalSensitiveInformation"])
    objects = {n["contentUrl"]: n for n in card["distribution"] if n["@type"] == "cr:FileObject"}
    records = {rs["@id"]: list(ds.records(rs["@id"])) for rs in card["recordSet"]}
    assert all(records.values()), {k: len(v) for k, v in records.items()}
    expected = {"moshi": {"examples", "words", "events"}, "lhotse": {"recordings", "supervisions", "audio"},
                "parquet": {"pieces"}}[fmt]
    assert set(records) == expected

    # one audio field
    if fmt == "parquet":
        rec = records["pieces"][0]
        audio, rate = sf.read(io.BytesIO(rec["pieces/audio"]), dtype="float32")
        assert rate == rec["pieces/sample_rate"] and audio.shape[1] == rec["pieces/channels"] == 2
        for rel, node in objects.items():  # shards are FileObjects with their sha256
            assert node["encodingFormat"] == "application/x-parquet" and node["sha256"] == _sha(out / rel)
    else:
        rs, field = ("examples", "examples/audio") if fmt == "moshi" else ("audio", "audio/audio")
        rec = records[rs][0]
        rel = rec[field].decode()
        node = objects[rel]  # the audio file is a FileObject: contentUrl, encoding format, sha256
        assert node["encodingFormat"] == ("audio/wav" if fmt == "moshi" else "audio/flac")
        assert node["sha256"] == _sha(out / rel)
        audio, rate = sf.read(out / rel, dtype="float32")
        assert audio.shape[1] == 2 and rate == rec[f"{rs}/sample_rate"]

    # one word alignment, its case and punctuation kept
    if fmt == "moshi":
        words = [(r["words/word"].decode(), r["words/start"], r["words/speaker"].decode()) for r in records["words"]]
        first = next(w for w in words if w[0] == "It")
        assert first[1] == pytest.approx(0.315) and first[2] == "SPEAKER_MAIN"
        assert {"locks,", "officers."} <= {w[0] for w in words}
        assert {r["events/kind"].decode() for r in records["events"]} >= {"ipu", "turn"}
    elif fmt == "lhotse":
        words = [w for r in records["supervisions"] for w in (r["supervisions/words"] or [])]
        first = next(w for w in words if w["supervisions/words/word"] == b"It")
        assert first["supervisions/words/start"] == pytest.approx(0.315)
        assert any(r["supervisions/events"] for r in records["supervisions"])
    else:
        words = [w for r in records["pieces"] for w in (r["pieces/words"] or [])]
        first = next(w for w in words if w["pieces/words/word"] == b"It")
        assert first["pieces/words/start"] == pytest.approx(0.315) and first["pieces/words/track"] == b"A"
        texts = [t["pieces/text/text"] for r in records["pieces"] for t in r["pieces/text"]]
        assert any(t.startswith(b"It locks, is an officers.") for t in texts)
        assert all(r["pieces/events"] for r in records["pieces"])


# ---------------------------------------------------------------------------------------------
# case and punctuation, state files, locks, interrupted and old folders
# ---------------------------------------------------------------------------------------------


def test_moshi_alignments_and_metadata_keep_case_and_punctuation(folders):
    _, out = folders["moshi"]
    ali = json.loads((out / "audio" / "clean__demo01_p000.json").read_text())["alignments"]
    assert [a[0] for a in ali[:5]] == ["It", "locks,", "is", "an", "officers."]
    with open(out / "metadata.csv", newline="") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    assert rows["clean__demo01_p000"]["text_main"].startswith("It locks, is an officers. So")


def _kill_after_first_recording(ws: Path, out: Path) -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        import os
        from twotrack.export import ExportOptions, run_export
        def progress(done, total, rid):
            if done == 1 and rid is not None:
                os._exit(9)  # killed mid-run: no cleanup, no final record
        run_export({str(ws)!r}, {str(out)!r}, "parquet", {PURPOSE!r}, ExportOptions(max_duration_s=0),
                   progress=progress)
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_an_interrupted_export_is_recognised_and_resumed(ws, tmp_path):
    out = tmp_path / "pq"
    proc = _kill_after_first_recording(ws, out)
    assert proc.returncode == 9, proc.stderr
    assert (out / ".twotrack" / "lock").exists()  # the killed run's lock is still there
    assert _state(out)["complete"] is False
    summary = export(ws, out, "parquet", PURPOSE, max_duration_s=0)
    assert any("resumed an interrupted export" in n for n in summary.notes)
    assert not (out / ".twotrack" / "lock").exists() and _state(out)["complete"] is True
    ds = datasets.load_dataset(str(out), "16000hz", split="train")
    assert ds.num_rows == 1 and datasets.load_dataset(str(out), "8000hz", split="train").num_rows == 1
    again = export(ws, out, "parquet", PURPOSE, max_duration_s=0)
    assert again.written == [] and not any("resumed" in n for n in again.notes)


def test_a_folder_from_before_the_state_folder_is_read_and_upgraded(ws, tmp_path):
    from twotrack.rights.audit import read_export

    out = tmp_path / "old"
    export(ws, out, "moshi", PURPOSE, max_duration_s=0)
    # make it look as an older twotrack left it: record at the top, a zero-byte lock, no README
    (out / ".twotrack" / "export.json").rename(out / "export.json")
    (out / ".twotrack").rmdir()
    (out / ".export.lock").write_bytes(b"")
    (out / "README.md").unlink()
    assert read_export(out)["format"] == "moshi"  # `rights audit` reads the old place
    summary = export(ws, out, "moshi", PURPOSE, max_duration_s=0)
    assert summary.exported == 2 and not summary.errors
    assert not (out / "export.json").exists() and not (out / ".export.lock").exists()
    assert _state(out)["complete"] is True and (out / "README.md").is_file()
    assert read_export(out)["format"] == "moshi"
    assert datasets.load_dataset(str(out), split="train").num_rows == 2


def test_an_audit_drops_the_withdrawn_rows_of_the_metadata_files(ws, tmp_path_factory, tmp_path):
    import shutil

    from twotrack.rights.audit import apply_audit, audit_export
    from twotrack.rights.ledger import Ledger, ledger_path
    from twotrack.store import Workspace, queries

    ws2 = tmp_path / "ws"
    shutil.copytree(ws, ws2, ignore=shutil.ignore_patterns("*.lock"))
    outs = {fmt: tmp_path / f"audited-{fmt}" for fmt in ("moshi", "lhotse")}
    for fmt, out in outs.items():
        export(ws2, out, fmt, PURPOSE, max_duration_s=0)
        assert sorted(datasets.load_dataset(str(out), split="train")["id"]) == ["clean__demo01", "telephone__demo03"]
    Ledger(ledger_path(ws2)).withdraw("libri-1688", ["ai-training"], "2025-01-01")
    recs = queries.recordings(Workspace(ws2))
    for fmt, out in outs.items():
        removals = audit_export(out, ledger_path(ws2), recs)
        assert {rid for r in removals for rid in r.recording_ids} == {"clean/demo01"}
        apply_audit(out, removals)
        meta = (out / ("metadata.csv" if fmt == "moshi" else "metadata.jsonl")).read_text()
        assert "clean__demo01" not in meta and "telephone__demo03" in meta
        # the rerun rewrites the card; the folder then loads afresh, not from the datasets cache of before
        export(ws2, out, fmt, PURPOSE, max_duration_s=0)
        assert datasets.load_dataset(str(out), split="train")["id"] == ["telephone__demo03"]


def test_cli_sample_rate_and_the_push_command(ws, tmp_path):
    from click.testing import CliRunner

    from twotrack.cli import main

    out = tmp_path / "cli"
    res = CliRunner().invoke(main, ["export", "lhotse", str(out), "-w", str(ws), "--purpose", PURPOSE,
                                    "--sample-rate", "16000", "--hub", "someone/convo", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["push"] == (f"hf upload someone/convo {out} . --repo-type dataset --exclude '.twotrack/*' "
                            f"--delete '*'")
    assert set(datasets.load_dataset(str(out), split="train")["sample_rate"]) == {16000}
    bad = CliRunner().invoke(main, ["export", "lhotse", str(tmp_path / "x"), "-w", str(ws), "--purpose", PURPOSE,
                                    "--hub", "no-slash"])
    assert bad.exit_code == 2 and "USER/NAME" in bad.output and not (tmp_path / "x").exists()
