"""Annotation files read whole are bounded: a file or a gzip (bomb) past ``MAX_TEXT_BYTES`` is one error on it."""

from __future__ import annotations

import gzip

import pytest

from twotrack.errors import InputError
from twotrack.ingest import textlines
from twotrack.ingest.annotations import read_words


def test_gzip_that_unpacks_past_the_limit_is_refused(tmp_path, monkeypatch):
    # before: gzip.decompress unpacked it whole (a 1 MB .ctm.gz of zeros held 1 GB, then more for the text)
    monkeypatch.setattr(textlines, "MAX_TEXT_BYTES", 1 << 20)
    bomb = tmp_path / "bomb.ctm"
    bomb.write_bytes(gzip.compress(b"0" * (4 << 20)))
    assert bomb.stat().st_size < 20_000
    with pytest.raises(InputError, match=r"bomb.ctm: annotation file unpacks to more than 1 MiB"):
        read_words(bomb)


def test_file_past_the_limit_is_refused_and_one_under_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(textlines, "MAX_TEXT_BYTES", 1 << 20)
    big = tmp_path / "big.ctm"
    big.write_text("r1 A 0.10 0.20 hello\n" * 60_000)  # 1.2 MB
    with pytest.raises(InputError, match=r"big.ctm: annotation file larger than 1 MiB"):
        read_words(big)
    ok = tmp_path / "ok.ctm.gz"
    ok.write_bytes(gzip.compress(b"r1 A 0.10 0.20 hello\n" * 1000))
    assert len(read_words(ok)) == 1000
