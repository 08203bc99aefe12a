"""Reference statistics: the built-in published figures, user-built references, distances."""

import dataclasses
import json

import numpy as np
import pytest
from scipy import stats

from qualify_corpora import clean_corpus
from twotrack.config import QualifyConfig
from twotrack.errors import InputError
from twotrack.qualify import build_reference, load_reference, qualify_corpus, save_reference
from twotrack.qualify.reference import DEFAULT_LEVELS, wasserstein_from_quantiles

STATUSES = {"read-in-source", "secondary", "derived", "measured"}


def test_builtin_reference_has_provenance_for_every_figure():
    ref = load_reference()
    assert {"fto_s", "overlap_transfer_share", "overlap_speech_share", "gap_s", "ipu_s"} <= set(ref.statistics)
    for stat in ref.statistics.values():
        assert stat.provenance, stat.key
        for p in stat.provenance:
            assert p["status"] in STATUSES
            for key in ("figure", "value", "paper", "location", "corpus", "read_in"):
                assert p.get(key) not in (None, ""), (stat.key, key)
    assert ref.statistics["overlap_transfer_share"].value == pytest.approx(0.301)
    assert ref.statistics["fto_s"].quantiles == {"0.301": 0.0}
    assert ref.statistics["fto_s"].mode == (0.1, 0.2)
    assert ref.missing  # what was looked for and not found is listed, not invented


def test_wasserstein_from_quantiles_matches_known_shift():
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 1.0, 40000)
    levels = np.asarray(DEFAULT_LEVELS)
    values = stats.norm.ppf(levels)
    w0, _ = wasserstein_from_quantiles(x, levels, values)
    w3, why = wasserstein_from_quantiles(x + 0.3, levels, values)
    assert w0 < 0.02
    assert w3 == pytest.approx(0.3, abs=0.02)
    assert "0.01-0.99" in why
    # against the exact two-sample distance on the central 98 %
    y = rng.normal(0.3, 1.0, 40000)
    lo, hi = np.quantile(y, [0.01, 0.99])
    w_exact = stats.wasserstein_distance(x[(x > lo - 0.3) & (x < hi - 0.3)] + 0.0, y[(y > lo) & (y < hi)])
    assert w3 == pytest.approx(w_exact, abs=0.03)


def test_sparse_reference_gives_no_distance_and_says_why():
    w, why = wasserstein_from_quantiles(np.arange(10.0), np.array([0.301]), np.array([0.0]))
    assert w is None and "1 published quantile" in why


def test_build_reference_round_trip_and_distance(tmp_path):
    corpus = clean_corpus()
    ref_dict = build_reference(corpus, name="constructed", source="tests")
    assert set(ref_dict["statistics"]) == {"fto_s", "gap_s", "pause_s", "ipu_s",
                                            "overlap_transfer_share", "overlap_speech_share"}
    assert len(ref_dict["statistics"]["fto_s"]["quantiles"]) == 99
    assert ref_dict["statistics"]["fto_s"]["provenance"][0]["status"] == "measured"
    path = tmp_path / "ref.json"
    save_reference(ref_dict, path)
    ref = load_reference(path)
    cfg = QualifyConfig(reference_path=str(path))
    same = qualify_corpus(corpus, cfg)
    fto = next(c for c in same.comparisons if c.statistic == "fto_s")
    assert fto.wasserstein is not None and fto.wasserstein < 0.01 and fto.passed
    assert same.reference == "constructed"
    # the same corpus with every FTO 0.1 s later: median still in band, distribution 0.1 s away
    recs = tuple(dataclasses.replace(r, stats=dataclasses.replace(
        r.stats, ftos_s=tuple(f + 0.1 for f in r.stats.ftos_s))) for r in corpus.recordings)
    shifted = qualify_corpus(dataclasses.replace(corpus, recordings=recs), dataclasses.replace(cfg, max_fto_wasserstein_s=0.05))
    fto = next(c for c in shifted.comparisons if c.statistic == "fto_s")
    assert fto.wasserstein == pytest.approx(0.1, abs=0.01)
    assert fto.passed is False and 3 in [r.id for r in shifted.requirements if not r.passed]
    assert ref.statistics["overlap_speech_share"].value == pytest.approx(
        ref_dict["statistics"]["overlap_speech_share"]["value"])


def test_build_reference_from_plain_statistics():
    fto = np.random.default_rng(3).normal(0.2, 0.4, 500)
    ref = build_reference({"fto_s": fto, "overlap_speech_share": 0.05}, name="fisher-sample")
    assert ref["statistics"]["overlap_transfer_share"]["value"] == pytest.approx(np.mean(fto < 0), abs=1e-6)
    assert ref["statistics"]["fto_s"]["quantiles"]["0.5"] == pytest.approx(np.median(fto), abs=1e-6)
    assert ref["statistics"]["overlap_speech_share"]["value"] == 0.05
    assert "gap_s" not in ref["statistics"]
    with pytest.raises(InputError):
        build_reference({}, name="empty")


def test_bad_reference_files_are_input_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "twotrack-reference/1",
                               "statistics": {"fto_s": {"kind": "distribution", "quantiles": {"0.1": 1.0, "0.9": 0.0}}}}))
    with pytest.raises(InputError, match="must not decrease"):
        load_reference(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text("{}")
    with pytest.raises(InputError, match="wrong.json"):
        load_reference(wrong)
    with pytest.raises(InputError):
        load_reference(tmp_path / "missing.json")


def test_build_reference_accepts_the_scan_statistics_names():
    fto = np.linspace(-0.8, 1.2, 101)
    ref = build_reference({"fto": fto, "gap": np.abs(fto), "overlap_share_of_speech": 0.04,
                           "hours": 2.0, "recordings": 3}, name="scan-stats")
    st = ref["statistics"]
    assert set(st) == {"fto_s", "gap_s", "overlap_speech_share", "overlap_transfer_share"}
    assert st["overlap_transfer_share"]["value"] == pytest.approx(np.mean(fto < 0))
    assert st["fto_s"]["provenance"][0]["n_recordings"] == 3 and st["fto_s"]["provenance"][0]["hours"] == 2.0


def test_qualify_thresholds_come_from_the_config_file(tmp_path):
    from twotrack.config import load_config
    from twotrack.errors import ConfigError

    path = tmp_path / "twotrack.toml"
    path.write_text("[qualify]\nmin_unique_speakers = 4\nband_overlap_transfer_share = [0.4, 0.6]\n")
    cfg = load_config(path).qualify
    assert cfg.min_unique_speakers == 4 and cfg.band_overlap_transfer_share == (0.4, 0.6)
    report = qualify_corpus(clean_corpus(), cfg)
    assert [r.id for r in report.requirements if not r.passed] == [3]  # 33.8 % overlapping transfers < 40 %
    path.write_text("[qualify]\nband_overlap_speech_share = [0.3, 0.1]\n")
    with pytest.raises(ConfigError, match="low <= high"):
        load_config(path)
