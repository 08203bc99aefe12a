"""NIST SPHERE reader: every fixture decodes, compressed files equal their uncompressed twins,
header quirks are repaired and said, bad input is an InputError naming the file and the problem."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from shorten_encode import encode_shorten

from twotrack.errors import InputError
from twotrack.ingest import g711, shorten
from twotrack.ingest.sphere import (
    is_sphere, parse_header, probe_sphere, read_sphere, read_sphere_blocks, read_sphere_stored, write_sphere,
)

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "data" / "sphere"
TELEPHONE = sorted((ROOT / "data" / "sample" / "telephone").glob("*.sph"))
FIXTURES = sorted(FIX.glob("*.sph"))


def pcm(name: str) -> np.ndarray:
    return read_sphere(FIX / name)[0]


def stored(name: str) -> np.ndarray:
    return read_sphere_stored(FIX / name)[0]


# --------------------------------------------------------------------------------------------
# Fixtures (NIST sphere_2.7 test data; see tests/data/sphere/readme.txt)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_every_fixture_decodes_and_blocks_agree(path):
    info = probe_sphere(path)
    whole, rate = read_sphere(path)  # checksum (when present) is verified here
    assert rate == info.sample_rate and whole.shape == (info.n_samples, info.channels)
    assert info.duration_s == pytest.approx(info.n_samples / info.sample_rate)
    blocks = list(read_sphere_blocks(path, block_samples=1000))
    assert all(b.dtype == np.float32 and len(b) <= 1000 and b.shape[1] == info.channels for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), whole.astype(np.float32) / 32768)


def test_pcm_shorten_ex5_p_sh_equals_its_pcm_twin():
    """desphere 0.1.1 got channel 1 wrong from sample 8704 (checksum 1626, header 14808)."""
    decoded, original = pcm("ex5_p_sh.sph"), pcm("ex5_p.sph")
    assert decoded.shape == original.shape == (16000, 2)
    np.testing.assert_array_equal(decoded, original)
    assert int(decoded.astype(np.int64).sum()) % 65536 == parse_header(FIX / "ex5_p_sh.sph").get("sample_checksum")


def test_nist_checksum_definition_on_uncompressed_fixtures():
    # 16-bit: the sum of the samples modulo 65536; 1-byte codings: the sum of the stored bytes
    raw = (FIX / "ex5_p.sph").read_bytes()[1024:]
    assert int(np.frombuffer(raw, ">i2").astype(np.int64).sum()) % 65536 == 14808
    raw = (FIX / "ex5.sph").read_bytes()[1024:]
    assert int(np.frombuffer(raw, np.uint8).astype(np.int64).sum()) % 65536 == 60052


def test_pcm_variants_and_mulaw_agree():
    ex5_p = pcm("ex5_p.sph")
    np.testing.assert_array_equal(pcm("ex5_p01.sph"), ex5_p)  # byte order 01 == 10
    np.testing.assert_array_equal(pcm("ex5.sph"), ex5_p)  # the pcm twin is the mu-law decode
    np.testing.assert_array_equal(pcm("ex1_01st.sph"), pcm("ex1_01.sph"))
    assert probe_sphere(FIX / "ex5_p.sph").codec == "pcm_s16be"
    assert probe_sphere(FIX / "ex5_p01.sph").codec == "pcm_s16le"


def test_mulaw_shorten_equals_mulaw_byte_for_byte():
    np.testing.assert_array_equal(stored("ex5_sh.sph"), stored("ex5.sph"))
    np.testing.assert_array_equal(stored("ex4_sh.sph"), stored("ex4.sph"))
    assert probe_sphere(FIX / "ex5_sh.sph").codec == "shorten-ulaw"


def test_channels_equal_the_single_channel_fixtures():
    ex5 = stored("ex5.sph")
    np.testing.assert_array_equal(ex5[:, 0], stored("ex5_c1.sph")[:, 0])
    np.testing.assert_array_equal(ex5[:, 1], stored("ex5_c2.sph")[:, 0])


def test_ex8_is_mono_and_two_copies_of_channel_2():
    ex8 = stored("ex8.sph")
    assert ex8.shape == (32000, 1)
    c2 = stored("ex5_c2.sph")[:, 0]
    np.testing.assert_array_equal(ex8[:, 0], np.concatenate([c2, c2]))


def test_ex7_pculaw_shorten_is_bit_reversed_mulaw_of_ex4():
    info = probe_sphere(FIX / "ex7_sh.sph")
    assert info.codec == "shorten-pculaw" and info.n_samples == 16000
    ex7, coding = read_sphere_stored(FIX / "ex7_sh.sph")
    assert coding == "pculaw"
    np.testing.assert_array_equal(g711.BIT_REVERSE[ex7], stored("ex4.sph"))
    np.testing.assert_array_equal(pcm("ex7_sh.sph"), pcm("ex4.sph"))


def test_swb_sample_count_across_channels_is_repaired_and_said():
    info = probe_sphere(FIX / "swb.sph")
    assert info.n_samples == 16000 and info.channels == 2 and info.duration_s == 2.0
    assert info.header["sample_count"] == 32000
    assert any("sample_count 32000 counted both channels; read as 16000 per channel" in r for r in info.repairs)
    np.testing.assert_array_equal(stored("swb.sph"), stored("ex5.sph"))


def test_ex6_four_channels_hold_four_sines():
    x = pcm("ex6.sph")
    assert x.shape == (8000, 4)
    # libsndfile reads the same samples; the readme lists the sines in the opposite channel order
    np.testing.assert_array_equal(x, sf.read(str(FIX / "ex6.sph"), dtype="int16", always_2d=True)[0])
    x = x.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x - x.mean(axis=0), axis=0))  # 1 s at 8 kHz: 1 Hz bins
    peaks = spectrum.argmax(axis=0)
    assert [int(p) for p in peaks[:3]] == [100, 50, 25]
    assert peaks[3] in (12, 13)  # 12.5 Hz falls between bins


def test_header_fields_are_typed():
    head = parse_header(FIX / "ex1_01.sph")
    assert head.header_size == 1024
    assert head.get("sample_count") == 16000 and head.get("realvalue") == pytest.approx(99.9)
    assert head.get("recording_environment") == "quiet office, door closed (room EJ186)"
    assert head.get("microphone") == "    Sennheiser HMD414"  # -s21: leading spaces are part of the value
    assert parse_header((FIX / "ex1_01.sph").read_bytes()[:1024]).fields == head.fields


def test_is_sphere(tmp_path):
    assert is_sphere(FIX / "ex5.sph")
    (tmp_path / "x.wav").write_bytes(b"RIFF....WAVE")
    assert not is_sphere(tmp_path / "x.wav") and not is_sphere(tmp_path / "missing.sph")


# --------------------------------------------------------------------------------------------
# Demo telephone files: libsndfile reads mu-law SPHERE too and is the oracle
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", TELEPHONE, ids=lambda p: p.name)
def test_telephone_demo_files_match_libsndfile(path):
    ours, rate = read_sphere(path)
    theirs, sf_rate = sf.read(str(path), dtype="int16", always_2d=True)
    assert rate == sf_rate == 8000 and ours.shape[1] == 2
    np.testing.assert_array_equal(ours, theirs)
    info = probe_sphere(path)
    assert info.codec == "ulaw"
    # these files declare "sample_coding -s5 mu-law": read whole, and said
    assert any("sample_coding declares 5 characters" in r for r in info.repairs)


# --------------------------------------------------------------------------------------------
# G.711 tables and the mu-law rank table of shorten
# --------------------------------------------------------------------------------------------


def test_g711_tables_match_libsndfile():
    x = np.concatenate([np.arange(-32768, 32768, 7), [-32768, 32767, 0, -1, 1]]).astype(np.int16)
    for subtype, encode, table in [("ULAW", g711.linear_to_ulaw, g711.ULAW_TO_LINEAR),
                                   ("ALAW", g711.linear_to_alaw, g711.ALAW_TO_LINEAR)]:
        buf = io.BytesIO()
        sf.write(buf, x, 8000, subtype=subtype, format="RAW")
        theirs_bytes = np.frombuffer(buf.getvalue(), np.uint8)
        np.testing.assert_array_equal(encode(x), theirs_bytes)
        buf.seek(0)
        theirs = sf.read(buf, dtype="int16", samplerate=8000, channels=1, subtype=subtype, format="RAW")[0]
        np.testing.assert_array_equal(table[theirs_bytes], theirs)


def test_ulaw_rank_table_rows():
    table = shorten.ULAW_OUTWARD
    assert table.shape == (13, 256)
    for row in table:
        assert sorted(row.tolist()) == list(range(256))
    linear = g711.ULAW_TO_LINEAR.astype(int)
    # shift 0: rank order is linear order (-0 sits below every negative code in this layout)
    assert np.all(np.diff(linear[table[0, 1:]]) >= 0) and table[0, 0] == 127
    sizes = []
    for s in range(13):
        pos, neg = shorten.ulaw_reachable(s)
        centre = table[s, 128 - len(neg) : 128 + len(pos)]
        assert np.all(np.diff(linear[centre]) > 0)  # reachable ranks are in sort order
        # every byte G.711 makes from 16-bit audio on a 2**(s+3) grid is reachable at shift s
        grid = np.arange(-32768, 32768, 1 << (s + 3))
        assert set(g711.linear_to_ulaw(grid).tolist()) <= set(centre.tolist()) | {127, 255}
        sizes.append(len(centre))
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == 255
    assert table[1, 128 + 8] == 255 - 16  # shift 1: rank 8 is code 16 (segment 0 keeps even codes only)


# --------------------------------------------------------------------------------------------
# Shorten: streaming resumption and encoder round trips (self-consistency beyond the fixtures)
# --------------------------------------------------------------------------------------------


def test_shorten_decoder_resumes_across_small_input_windows():
    data = (FIX / "ex5_p_sh.sph").read_bytes()[1024:]
    chunks = [v.copy() for _, v in shorten.decode_blocks(io.BytesIO(data), frames_per_chunk=300, read_bytes=700)]
    assert max(len(c) for c in chunks) <= shorten.MAX_BLOCKSIZE
    np.testing.assert_array_equal(np.concatenate(chunks)[:16000], pcm("ex5_p.sph"))


def _test_signal(n: int, channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 8000
    cols = []
    for c in range(channels):
        x = 8000 * np.sin(2 * np.pi * (200 + 150 * c) * t) + rng.normal(0, 30, n)  # smooth: order 2-3
        x[n // 5 : n // 3] = 0  # digital silence: zero blocks
        x[n // 3 : n // 2] = rng.normal(-400, 2000, n // 2 - n // 3)  # noise with an offset: order 0
        x[-n // 8 :] = np.clip(x[-n // 8 :] * 6, -32768, 32767)  # loud, clipped
        cols.append(x)
    return np.round(np.stack(cols, axis=1)).clip(-32768, 32767).astype(np.int16)


@pytest.mark.parametrize("byte_order", ["<", ">"])
def test_shorten_pcm_round_trip(tmp_path, byte_order):
    x = _test_signal(20_011, 3)
    x[: 20_011 // 5] &= ~np.int16(7)  # low bits zero: bit shift 3 at the start
    stats: dict[str, int] = {}
    payload = encode_shorten(x, blocksize=100, byte_order=byte_order, stats=stats)
    assert stats["zero"] and stats["diff0"] and stats["diff2"] + stats["diff3"] and stats["max_shift"] >= 3
    decoded = np.concatenate([v.copy() for _, v in shorten.decode_blocks(io.BytesIO(payload), read_bytes=4096)])
    np.testing.assert_array_equal(decoded[: len(x)], x)
    path = tmp_path / "x.sph"
    write_sphere(path, x, 8000, "shorten-pcm", byte_format="01" if byte_order == "<" else "10",
                 shorten_encoder=encode_shorten)
    assert probe_sphere(path).codec == "shorten-pcm"
    np.testing.assert_array_equal(read_sphere(path)[0], x)


def test_shorten_mulaw_round_trip_with_bit_shifts(tmp_path):
    x = _test_signal(12_345, 2, seed=1)
    x[:6000] = (x[:6000] // 256) * 256  # a coarse linear grid: mu-law bytes that fit shifted rank tables
    codes = g711.linear_to_ulaw(x)
    stats: dict[str, int] = {}
    payload = encode_shorten(codes, ulaw=True, stats=stats)
    assert stats["max_shift"] >= 2 and stats["shift_changes"] >= 2
    decoded = np.concatenate([v.copy() for _, v in shorten.decode_blocks(io.BytesIO(payload))])
    np.testing.assert_array_equal(decoded[: len(codes)].astype(np.uint8), codes)
    path = tmp_path / "u.sph"
    write_sphere(path, x, 8000, "shorten-ulaw", shorten_encoder=encode_shorten)
    np.testing.assert_array_equal(read_sphere_stored(path)[0], codes)


def test_written_pcm_ulaw_alaw_read_back(tmp_path):
    x = _test_signal(5000, 2)
    for coding, fmt, expect in [
        ("pcm", "01", x), ("pcm", "10", x),
        ("ulaw", "01", g711.ULAW_TO_LINEAR[g711.linear_to_ulaw(x)]),
        ("alaw", "01", g711.ALAW_TO_LINEAR[g711.linear_to_alaw(x)]),
    ]:
        path = tmp_path / f"{coding}{fmt}.sph"
        write_sphere(path, x, 16000, coding, byte_format=fmt)
        back, rate = read_sphere(path)
        assert rate == 16000
        np.testing.assert_array_equal(back, expect)
        blocks = np.concatenate(list(read_sphere_blocks(path, 777)))
        np.testing.assert_array_equal(blocks, expect.astype(np.float32) / 32768)


# --------------------------------------------------------------------------------------------
# Header quirks that are repaired
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["01", "10"])
def test_missing_byte_format_is_guessed_and_said(tmp_path, fmt):
    x = _test_signal(4000, 1)
    path = tmp_path / "x.sph"
    write_sphere(path, x, 8000, "pcm", byte_format=fmt, extra_fields={"sample_byte_format": None})
    info = probe_sphere(path)
    assert info.codec == ("pcm_s16le" if fmt == "01" else "pcm_s16be")
    assert any("no usable sample_byte_format" in r for r in info.repairs)
    np.testing.assert_array_equal(read_sphere(path)[0], x)


def test_missing_sample_count_is_taken_from_file_size(tmp_path):
    x = _test_signal(3000, 2)
    path = tmp_path / "x.sph"
    write_sphere(path, x, 8000, "ulaw", extra_fields={"sample_count": None})
    info = probe_sphere(path)
    assert info.n_samples == 3000 and any("no sample_count" in r for r in info.repairs)


# --------------------------------------------------------------------------------------------
# Bad input: one clear InputError naming the file and the problem
# --------------------------------------------------------------------------------------------


def _header(lines: list[str], size: str = "   1024") -> bytes:
    text = "\n".join(["NIST_1A", size, *lines]) + "\n"
    return text.encode().ljust(1024, b" ")


GOOD = ["sample_rate -i 8000", "channel_count -i 1", "sample_n_bytes -i 2", "sample_coding -s3 pcm",
        "sample_byte_format -s2 01", "sample_count -i 100"]


def _with(overrides: dict[str, str]) -> list[str]:
    lines = [ln for ln in GOOD if ln.split()[0] not in overrides]
    return lines + [v for v in overrides.values() if v] + ["end_head"]


@pytest.mark.parametrize(
    "lines, size, needle",
    [
        (_with({"channel_count": "channel_count -i 0"}), "   1024", "channel_count 0"),
        (_with({"sample_rate": "sample_rate -i 0"}), "   1024", "sample_rate 0"),
        (_with({"sample_rate": "sample_rate -i -8000"}), "   1024", "sample_rate -8000"),
        (_with({"sample_rate": ""}), "   1024", "no sample_rate"),
        (_with({"sample_n_bytes": "sample_n_bytes -i 3"}), "   1024", "sample_n_bytes 3"),
        (_with({"sample_count": "sample_count -i -5"}), "   1024", "sample_count -5"),
        (_with({"sample_coding": "sample_coding -s4 gsm7"}), "   1024", "unknown sample_coding 'gsm7'"),
        (_with({"sample_coding": "sample_coding -s26 pcm,embedded-wavpack-v1.00"}), "   1024", "embedded-wavpack"),
        (_with({}), "  1O24", "is not a number"),
        (GOOD, "   1024", "no end_head"),
    ],
)
def test_impossible_headers_are_input_errors(tmp_path, lines, size, needle):
    path = tmp_path / "bad.sph"
    path.write_bytes(_header(lines, size) + bytes(200))
    with pytest.raises(InputError) as err:
        probe_sphere(path)
    assert err.value.path == str(path) and needle in err.value.problem
    with pytest.raises(InputError):
        list(read_sphere_blocks(path))


def test_truncated_payload_says_expected_and_found(tmp_path):
    path = tmp_path / "short.sph"
    path.write_bytes(_header(_with({})) + bytes(2 * 60))  # 100 samples declared, 60 present
    with pytest.raises(InputError) as err:
        probe_sphere(path)
    assert "100 samples per channel" in err.value.problem and "60 samples per channel" in err.value.problem


def test_truncated_and_corrupt_shorten_streams(tmp_path):
    data = (FIX / "ex5_p_sh.sph").read_bytes()
    cut = tmp_path / "cut.sph"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        read_sphere(cut)
    assert err.value.path == str(cut) and ("truncated" in err.value.problem or "ends" in err.value.problem)

    flipped = bytearray(data)
    for i in range(5000, len(flipped), 997):
        flipped[i] ^= 0x5A
    bad = tmp_path / "corrupt.sph"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(InputError) as err:
        read_sphere(bad)
    assert err.value.path == str(bad)

    nomagic = tmp_path / "nomagic.sph"
    nomagic.write_bytes(data[:1024] + b"xxxx" + data[1028:])
    with pytest.raises(InputError, match="ajkg"):
        read_sphere(nomagic)


def test_checksum_mismatch_is_an_error_after_the_blocks(tmp_path):
    x = _test_signal(3000, 2)
    path = tmp_path / "x.sph"
    write_sphere(path, x, 8000, "pcm", extra_fields={"sample_checksum": 12345})
    seen = []
    with pytest.raises(InputError, match="sample_checksum mismatch: the header says 12345"):
        for block in read_sphere_blocks(path, 1000):
            seen.append(block)
    assert sum(len(b) for b in seen) == 3000  # streaming: every block came before the verdict
    assert read_sphere(path, verify_checksum=False)[0].shape == (3000, 2)


def test_not_sphere_and_empty_files(tmp_path):
    empty = tmp_path / "empty.sph"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        probe_sphere(empty)
    text = tmp_path / "text.sph"
    text.write_text("hello, not audio\n")
    with pytest.raises(InputError, match="not a SPHERE file"):
        probe_sphere(text)


def test_random_corruption_never_crashes(tmp_path):
    """Damaged shorten payloads end in an InputError (corrupt stream, truncation or checksum) or
    decode to the right length; the numba kernel never reads or writes out of bounds."""
    rng = np.random.default_rng(7)
    data = (FIX / "ex5_p_sh.sph").read_bytes()
    path = tmp_path / "fuzz.sph"
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(int(rng.integers(1, 8))):
            damaged[int(rng.integers(1029, len(damaged)))] = int(rng.integers(0, 256))
        if rng.random() < 0.3:
            damaged = damaged[: int(rng.integers(1029, len(damaged)))]
        path.write_bytes(bytes(damaged))
        try:
            audio, _ = read_sphere(path)
        except InputError as exc:
            assert exc.path == str(path)
        else:
            assert audio.shape == (16000, 2)


def test_a_scan_verifies_the_checksum_on_its_first_read_only(tmp_path):
    """``decode_recording`` fails a recording whose payload does not match its checksum; the stage
    reads after it (``Decoded.blocks``) skip the sum, and give the same samples as a verified read."""
    from twotrack.config import Config
    from twotrack.ingest.discover import discover
    from twotrack.ingest.tracks import iter_track_blocks
    from twotrack.run.stages import decode_recording

    x = _test_signal(24001, 2)  # odd: the pair lookup's last byte goes through the 1-byte table
    good, bad = tmp_path / "good.sph", tmp_path / "bad.sph"
    write_sphere(good, x, 8000, "ulaw")
    write_sphere(bad, x, 8000, "ulaw", extra_fields={"sample_checksum": 12345})
    (rec_bad,), _ = discover([str(bad)])
    with pytest.raises(InputError, match="sample_checksum mismatch"):
        decode_recording(rec_bad, Config())
    with pytest.raises(InputError, match="sample_checksum mismatch"):
        list(iter_track_blocks(rec_bad, 8000))
    assert sum(b.shape[1] for b in iter_track_blocks(rec_bad, 8000, verify=False)) == 24001
    (rec,), _ = discover([str(good)])
    decoded = decode_recording(rec, Config())
    again = np.concatenate(list(decoded.blocks()), axis=1)
    verified = np.concatenate(list(iter_track_blocks(rec, 8000)), axis=1)
    assert again.tobytes() == verified.tobytes()
    whole, _ = read_sphere(good)
    assert np.array_equal(again, (whole.astype(np.float32) / np.float32(32768)).T)
