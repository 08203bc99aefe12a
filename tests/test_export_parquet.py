"""Parquet shards, read back with Hugging Face datasets, DuckDB and pyarrow."""

from __future__ import annotations

import io
import json

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf

import export_corpus as C
from twotrack.export import export
from twotrack.model import EventKind
from twotrack.store import Workspace, queries


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    ws = C.workspace(tmp_path_factory)
    out = tmp_path_factory.mktemp("parquet") / "out"
    # a small shard size so the three recordings need several shards
    summary = export(ws, out, "parquet", "research-training", max_duration_s=12.0, shard_mb=0.6)
    return ws, out, summary


def test_hugging_face_datasets_loads_the_shards_with_an_audio_column(exported):
    datasets = pytest.importorskip("datasets")
    ws, out, _ = exported
    ds = datasets.load_dataset("parquet", data_files=str(out / "data" / "*" / "*.parquet"), split="train")
    assert isinstance(ds.features["audio"], datasets.Audio)
    state = json.loads((out / ".twotrack" / "export.json").read_text())
    n_pieces = sum(len(r["pieces"]) for r in state["recordings"].values())
    assert ds.num_rows == n_pieces and sorted(set(ds["recording_id"])) == ["clean/demo01", "clean/demo02",
                                                                         "paired/demo03"]
    rows = ds.cast_column("audio", datasets.Audio(decode=False))
    w = Workspace(ws)
    tracks = {rid: C.tracks_on_clock(w, rid) for rid in set(ds["recording_id"])}  # paired B on A's clock
    for row in rows:
        audio, rate = sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="float32")
        assert rate == row["sample_rate"] == 16000 and audio.shape[1] == row["channels"] == 2
        start = int(round(row["start_s"] * rate))
        ref = np.clip(tracks[row["recording_id"]][:, start:start + len(audio)], -1, 1)
        assert np.abs(audio.T - ref).max() < 1e-4
        assert len(audio) / rate == pytest.approx(row["duration_s"])
        assert {a["track"] for a in row["activity"]} == {"A", "B"}
        assert all(0 <= s["start"] < s["end"] <= row["duration_s"] + 1e-6 for a in row["activity"]
                   for s in a["segments"])
        assert row["checks"]["isolation"] and {r["purpose"] for r in row["rights"]} >= {"research-training"}
        assert [r["allowed"] for r in row["rights"] if r["purpose"] == "research-training"] == [True]
        assert row["qualification"]["phase_fit"]["post"] in ("fit", "partial", "unfit")
        assert row["words"] and all(w_["track"] in ("A", "B") for w_ in row["words"])


def test_duckdb_queries_the_nested_columns(exported):
    ws, out, _ = exported
    glob = str(out / "data" / "*" / "*.parquet")
    con = duckdb.connect()
    per_rec = dict(con.execute(
        f"SELECT recording_id, count(*) FROM (SELECT recording_id, unnest(events) AS e FROM '{glob}') "
        f"WHERE e.kind = 'ipu' GROUP BY 1").fetchall())
    w = Workspace(ws)
    assert per_rec == {rid: sum(1 for e in queries.events(w, rid) if e.kind is EventKind.IPU) for rid in per_rec}
    blocked = con.execute(
        f"SELECT DISTINCT recording_id FROM (SELECT recording_id, unnest(rights) AS r FROM '{glob}') "
        f"WHERE r.purpose = 'commercial-training' AND NOT r.allowed").fetchall()
    assert blocked == [("clean/demo02",)]
    speech = con.execute(
        f"SELECT sum(s.\"end\" - s.start) FROM (SELECT unnest(a.segments) AS s FROM "
        f"(SELECT unnest(activity) AS a FROM '{glob}') WHERE a.track = 'A')").fetchone()[0]
    assert speech > 10


def test_shards_are_sized_and_recorded(exported):
    _, out, _ = exported
    state = json.loads((out / ".twotrack" / "export.json").read_text())
    shards = sorted((f for f in state["files"] if f["path"].startswith("data/")), key=lambda f: f["path"])
    assert len(shards) >= 2
    # one folder per sample rate (the test corpus is all 16 kHz)
    assert sorted(str(p.relative_to(out)) for p in (out / "data").rglob("*.parquet")) == [f["path"] for f in shards]
    assert all(f["path"].startswith("data/16000hz/") for f in shards)
    seen = set()
    for f in shards:
        table = pq.read_table(out / f["path"], columns=["id", "recording_id"])
        assert sorted(set(table.column("recording_id").to_pylist())) == f["recording_ids"]
        assert sorted(table.column("id").to_pylist()) == f["ids"]
        seen.update(f["ids"])
    assert len(seen) == sum(len(r["pieces"]) for r in state["recordings"].values())


def test_a_rerun_drops_withdrawn_rows_from_their_shards(tmp_path_factory, tmp_path):
    ws = C.private_copy(tmp_path_factory, tmp_path / "ws")
    out = tmp_path / "pq"
    export(ws, out, "parquet", "research-training", max_duration_s=0, shard_mb=1000)  # one shard
    assert len(list((out / "data").rglob("*.parquet"))) == 1
    from twotrack.rights.ledger import Ledger, ledger_path

    Ledger(ledger_path(ws)).withdraw("libri-2033", ["ai-training"], "2025-01-01")
    again = export(ws, out, "parquet", "research-training", max_duration_s=0, shard_mb=1000)
    assert "clean/demo02" in again.blocked and again.written == []  # the others are kept, rewritten in place
    (shard,) = (out / "data").rglob("*.parquet")
    ids = pq.read_table(shard, columns=["recording_id"]).column("recording_id").to_pylist()
    assert sorted(ids) == C.COMMERCIAL_ALLOWED
    state = json.loads((out / ".twotrack" / "export.json").read_text())
    from twotrack.export.state import sha256_file

    entry = next(f for f in state["files"] if f["path"].startswith("data/"))
    assert entry["recording_ids"] == C.COMMERCIAL_ALLOWED and entry["sha256"] == sha256_file(shard)
