"""Every export folder holds croissant.json, a Croissant 1.0 card with RAI fields, valid for mlcroissant."""

from __future__ import annotations

import json

import pytest

import export_corpus as C
from twotrack.export import export

mlc = pytest.importorskip("mlcroissant")
# mlcroissant's own dependencies warn about their deprecations; not ours to fix
pytestmark = [pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated"),
              pytest.mark.filterwarnings("ignore:The inplace keyword")]

RAI = ("rai:dataCollection", "rai:personalSensitiveInformation", "rai:dataUseCases", "rai:dataLimitations",
       "rai:dataReleaseMaintenancePlan", "rai:dataBiases", "rai:dataSocialImpact")
RECORD_SETS = {"moshi": "examples", "lhotse": "supervisions", "parquet": "pieces"}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    ws = C.workspace(tmp_path_factory)
    root = tmp_path_factory.mktemp("croissant")
    return {fmt: (export(ws, root / fmt, fmt, "commercial-training", max_duration_s=0), root / fmt)
            for fmt in RECORD_SETS}


@pytest.mark.parametrize("fmt", list(RECORD_SETS))
def test_the_card_validates_and_describes_rights_and_files(exports, fmt):
    summary, out = exports[fmt]
    card_path = out / "croissant.json"
    ds = mlc.Dataset(jsonld=str(card_path))  # raises on any validation error
    assert not ds.metadata.ctx.issues.errors and not ds.metadata.ctx.issues.warnings
    card = json.loads(card_path.read_text())
    assert card["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    for key in RAI:
        assert card.get(key), key
    consent = " ".join(card["rai:personalSensitiveInformation"])
    assert summary.ledger_head in consent and "dpv:ConsentGiven" in consent
    assert "ai-training" in consent and "commercial-use" in consent
    assert card["license"] == ["https://spdx.org/licenses/CC-BY-4.0.html"]
    assert any("attribution" in u for u in card["rai:dataUseCases"])
    # manifests are FileObjects whose sha256 is the file's, as export.json records it
    files = {f["path"]: f for f in json.loads((out / ".twotrack" / "export.json").read_text())["files"]}
    for node in card["distribution"]:
        if node["@type"] == "cr:FileObject":
            assert node["sha256"] == files[node["contentUrl"]]["sha256"]
    assert files["croissant.json"]["recording_ids"] == []
    # the card's record set reads back through mlcroissant
    records = list(ds.records(RECORD_SETS[fmt]))
    assert records
    if fmt == "moshi":
        assert len(records) == len((out / "train.jsonl").read_text().splitlines())
        assert {r["examples/audio"].decode() for r in records} == {f"audio/{s}.wav" for s in
                                                               ("clean__demo01", "paired__demo03")}
