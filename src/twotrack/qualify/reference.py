"""Reference statistics of real conversation, and how far a corpus is from them.

A reference is a JSON file (format ``twotrack-reference/1``) of statistics. A distribution is given by
its quantiles (``{"0.5": 0.264}`` = the median is 0.264 s), a share by a value; every statistic carries
a ``provenance`` list saying where each number comes from and whether it was read in the source or is
secondary. The built-in reference (``data/reference_published.json``) holds published figures; a team
with a corpus it trusts makes its own with ``build_reference`` (same format, every quantile measured).

Distances: quantiles side by side, a pass/fail band per statistic (``QualifyConfig``), and the
Wasserstein-1 distance between the corpus sample and the reference quantile function where the
reference has enough quantiles to define one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..config import QualifyConfig
from .. import jsonfile
from ..errors import InputError
from ..model import Record
from ..paths import special_file
from .inputs import CorpusInputs

FORMAT = "twotrack-reference/1"
BUILTIN = "reference_published.json"
#: Quantile levels a measured reference stores (1 %, 2 %, ..., 99 %).
DEFAULT_LEVELS = tuple(round(i / 100, 2) for i in range(1, 100))
#: Levels shown side by side in reports.
REPORT_LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
DISTRIBUTIONS = ("fto_s", "gap_s", "pause_s", "ipu_s")
SHARES = ("overlap_transfer_share", "overlap_speech_share")


@dataclass(frozen=True)
class Statistic(Record):
    key: str
    kind: str  # "distribution" | "share"
    unit: str = ""
    quantiles: dict[str, float] = field(default_factory=dict)  # level (as text) -> value
    value: float | None = None  # a share, or the reference point of a distribution
    mode: tuple[float, float] | None = None  # published modal range of a distribution
    n: int | None = None
    provenance: tuple[dict[str, Any], ...] = ()

    def levels_values(self) -> tuple[np.ndarray, np.ndarray]:
        items = sorted((float(k), float(v)) for k, v in self.quantiles.items())
        if not items:
            return np.zeros(0), np.zeros(0)
        lv, vv = zip(*items)
        return np.asarray(lv), np.asarray(vv)


@dataclass(frozen=True)
class Reference(Record):
    name: str
    statistics: dict[str, Statistic]
    description: str = ""
    format: str = FORMAT
    missing: tuple[dict[str, Any], ...] = ()  # figures looked for and not found, with why


@dataclass(frozen=True)
class Comparison(Record):
    """One statistic of the corpus beside the reference, with the verdict of its band."""

    statistic: str
    unit: str
    corpus_value: float | None
    reference_value: float | None
    band: tuple[float, float] | None
    passed: bool | None  # None: informational (no band) or not measurable
    corpus_quantiles: dict[str, float] = field(default_factory=dict)
    reference_quantiles: dict[str, float] = field(default_factory=dict)
    wasserstein: float | None = None
    max_wasserstein: float | None = None
    n: int = 0
    note: str = ""


# ---------------------------------------------------------------------------------------------
# Reading and writing references
# ---------------------------------------------------------------------------------------------


def reference_from_dict(data: Mapping[str, Any], origin: str = "<reference>") -> Reference:
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise InputError(origin, f"not a reference file (expected format {FORMAT!r})")
    stats = data.get("statistics")
    if not isinstance(stats, Mapping) or not stats:
        raise InputError(origin, "reference has no 'statistics'")
    out = {}
    for key, raw in stats.items():
        if not isinstance(raw, Mapping) or raw.get("kind") not in ("distribution", "share"):
            raise InputError(origin, f"statistic {key!r}: 'kind' must be 'distribution' or 'share'")
        given = raw.get("quantiles") or {}
        try:
            quantiles = {str(float(k)): float(v) for k, v in given.items()}
        except (TypeError, ValueError) as exc:
            raise InputError(origin, f"statistic {key!r}: quantiles must map levels to numbers ({exc})") from exc
        if len(quantiles) != len(given):  # "0.5" and "0.50": one level twice, the last silently kept
            levels = [str(float(k)) for k in given]
            twice = next(lv for lv in levels if levels.count(lv) > 1)
            raise InputError(origin, f"statistic {key!r}: quantile level {twice} given twice "
                                     f"({', '.join(repr(k) for k in given if str(float(k)) == twice)})")
        if any(not 0.0 < float(k) < 1.0 for k in quantiles):
            raise InputError(origin, f"statistic {key!r}: quantile levels must lie strictly between 0 and 1")
        lv = sorted(quantiles, key=float)
        if any(quantiles[a] > quantiles[b] for a, b in zip(lv, lv[1:])):
            raise InputError(origin, f"statistic {key!r}: quantiles must not decrease with the level")
        mode = raw.get("mode")
        out[key] = Statistic(
            key=key,
            kind=raw["kind"],
            unit=str(raw.get("unit", "")),
            quantiles=quantiles,
            value=None if raw.get("value") is None else float(raw["value"]),
            mode=None if mode is None else (float(mode[0]), float(mode[1])),
            n=raw.get("n"),
            provenance=tuple(raw.get("provenance") or ()),
        )
    return Reference(
        name=str(data.get("name", origin)),
        statistics=out,
        description=str(data.get("description", "")),
        missing=tuple(data.get("missing") or ()),
    )


def load_reference(path: str | Path | None = None) -> Reference:
    """The built-in reference of published figures, or a reference file (e.g. from ``build_reference``)."""
    if not path:
        text = resources.files("twotrack.qualify").joinpath("data").joinpath(BUILTIN).read_text()
        return reference_from_dict(json.loads(text), BUILTIN)
    if (problem := special_file(str(path))) is not None:  # a FIFO would block the read for ever
        raise InputError(path, f"cannot read reference: {problem}")
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read reference: {exc}") from exc
    return reference_from_dict(jsonfile.loads(raw, path), str(path))  # a JSONFileError names the file


def save_reference(reference: Mapping[str, Any], path: str | Path) -> None:
    reference_from_dict(reference, str(path))  # refuse to write what cannot be read back
    Path(path).write_text(json.dumps(reference, indent=1) + "\n")


# ---------------------------------------------------------------------------------------------
# Pooling a corpus into samples
# ---------------------------------------------------------------------------------------------


def corpus_sample(inputs: CorpusInputs, recording_ids: set[str] | None = None) -> dict[str, Any]:
    """Pool the per-recording statistics of a corpus: arrays for distributions, shares from totals."""
    pools: dict[str, list[np.ndarray]] = {k: [] for k in DISTRIBUTIONS}
    overlap = union = 0.0
    n_neg = n_tr = 0
    hours = 0.0
    n_rec = 0
    for rec in inputs.recordings:
        if rec.stats is None or (recording_ids is not None and rec.recording_id not in recording_ids):
            continue
        st = rec.stats
        n_rec += 1
        hours += rec.hours
        fto = st.fto_array
        pools["fto_s"].append(fto)
        pools["gap_s"].append(np.asarray(st.gaps_s, float))
        pools["pause_s"].append(np.asarray(st.pauses_s, float))
        pools["ipu_s"].append(np.asarray(st.ipus_s, float))
        overlap += float(st.overlap_s)
        union += st.speech_union_s
        n_neg += int(np.sum(fto < 0))
        n_tr += int(fto.size)
    sample: dict[str, Any] = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in pools.items()}
    sample["overlap_speech_share"] = overlap / union if union > 0 else None
    sample["overlap_transfer_share"] = n_neg / n_tr if n_tr else None
    sample["hours"] = hours
    sample["n_recordings"] = n_rec
    return sample


#: Key names of ``turns.stats.distributions()`` / ``corpus_stats()`` -> the names used here.
_ALIASES = {"fto": "fto_s", "gap": "gap_s", "pause": "pause_s", "ipu": "ipu_s",
            "overlap_share_of_speech": "overlap_speech_share", "recordings": "n_recordings"}


def _normalise_keys(stats: Mapping[str, Any]) -> dict[str, Any]:
    """Accept the scan's own statistics as they are: raw arrays from ``distributions()`` and the
    shares, hours and recording count of ``corpus_stats()`` (whose ``fto`` entry is a summary dict,
    so the arrays must come from ``distributions()``)."""
    out: dict[str, Any] = {}
    for key, value in stats.items():
        name = _ALIASES.get(key, key)
        if isinstance(value, Mapping):
            if name == "fto_s" and value.get("share_overlap") is not None:
                out.setdefault("overlap_transfer_share", value["share_overlap"])
            continue  # a summary, not a sample
        out.setdefault(name, value)
    return out


def _sample_from_any(stats_inputs: CorpusInputs | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(stats_inputs, CorpusInputs):
        return corpus_sample(stats_inputs)
    if not isinstance(stats_inputs, Mapping):
        raise TypeError("build_reference takes CorpusInputs or a mapping of statistics")
    stats_inputs = _normalise_keys(stats_inputs)
    sample = {k: np.asarray(stats_inputs.get(k, ()), float).ravel() for k in DISTRIBUTIONS}
    for k in SHARES:
        v = stats_inputs.get(k)
        sample[k] = None if v is None else float(v)
    if sample["overlap_transfer_share"] is None and sample["fto_s"].size:
        sample["overlap_transfer_share"] = float(np.mean(sample["fto_s"] < 0))
    sample["hours"] = stats_inputs.get("hours")
    sample["n_recordings"] = stats_inputs.get("n_recordings")
    return sample


def build_reference(
    stats_inputs: CorpusInputs | Mapping[str, Any],
    *,
    name: str = "user-reference",
    source: str = "",
    levels: tuple[float, ...] = DEFAULT_LEVELS,
) -> dict[str, Any]:
    """Make a reference (same format as the built-in one) from a corpus the user trusts.

    ``stats_inputs`` is a ``CorpusInputs`` or a mapping with arrays ``fto_s``, ``gap_s``, ``pause_s``,
    ``ipu_s`` (seconds; any may be missing) and shares ``overlap_speech_share``,
    ``overlap_transfer_share`` (fractions), plus optional ``hours`` and ``n_recordings``. Every
    number in the result is measured, so its provenance says so.
    """
    sample = _sample_from_any(stats_inputs)
    lv = np.asarray(levels, float)
    prov = {
        "corpus": name,
        "source": source or "measured by twotrack",
        "status": "measured",
        "hours": sample.get("hours"),
        "n_recordings": sample.get("n_recordings"),
    }
    stats: dict[str, Any] = {}
    for key in DISTRIBUTIONS:
        x = sample[key]
        x = x[np.isfinite(x)]
        if x.size == 0:
            continue
        q = np.quantile(x, lv)
        stats[key] = {
            "kind": "distribution",
            "unit": "s",
            "quantiles": {f"{l:g}": round(float(v), 6) for l, v in zip(lv, q)},
            "value": round(float(np.median(x)), 6),
            "n": int(x.size),
            "provenance": [dict(prov, figure="quantiles of the pooled sample")],
        }
    for key in SHARES:
        v = sample.get(key)
        if v is None:
            continue
        stats[key] = {"kind": "share", "unit": "fraction", "value": round(float(v), 6),
                      "provenance": [dict(prov, figure="pooled share")]}
    if not stats:
        raise InputError(name, "no statistics to build a reference from (no transfers, gaps or speech measured)")
    return {
        "format": FORMAT,
        "name": name,
        "description": f"Measured reference from {name}" + (f" ({source})" if source else ""),
        "statistics": stats,
    }


# ---------------------------------------------------------------------------------------------
# Distances
# ---------------------------------------------------------------------------------------------


def wasserstein_from_quantiles(
    sample: np.ndarray, levels: np.ndarray, values: np.ndarray, *, min_levels: int = 5, grid: int = 512
) -> tuple[float | None, str]:
    """Wasserstein-1 distance between a sample and a distribution known by its quantiles.

    W1 is the integral over u of |F_sample^-1(u) - F_ref^-1(u)|. The reference quantile function is
    interpolated linearly between its levels and the integral is taken over the levels it covers
    (1-99 % for a measured reference, so the far tails are left out on both sides). Returns
    (None, why) when the reference has fewer than ``min_levels`` quantiles: two or three published
    numbers do not define a distribution, and drawing one between them would be invention.
    """
    x = np.asarray(sample, float)
    x = x[np.isfinite(x)]
    levels = np.asarray(levels, float)
    values = np.asarray(values, float)
    if x.size == 0:
        return None, "no corpus sample"
    if levels.size < max(2, min_levels):
        return None, f"reference has {levels.size} published quantile(s); a distance needs at least {min_levels}"
    u = np.linspace(levels[0], levels[-1], grid)
    ref_q = np.interp(u, levels, values)
    cor_q = np.quantile(x, u)
    return float(np.mean(np.abs(cor_q - ref_q))), f"over quantile levels {levels[0]:g}-{levels[-1]:g}"


def _in_band(value: float | None, band: tuple[float, float] | None) -> bool | None:
    if band is None or value is None:
        return None
    return bool(band[0] <= value <= band[1])


def _quantile_dict(x: np.ndarray, levels) -> dict[str, float]:
    if x.size == 0:
        return {}
    return {f"{l:g}": round(float(v), 4) for l, v in zip(levels, np.quantile(x, levels))}


def compare(sample: Mapping[str, Any], reference: Reference, cfg: QualifyConfig) -> tuple[Comparison, ...]:
    """Every statistic of the reference beside the corpus, with a verdict where the config has a band."""
    bands = {
        "overlap_transfer_share": cfg.band_overlap_transfer_share,
        "overlap_speech_share": cfg.band_overlap_speech_share,
        "fto_s": cfg.band_fto_median_s,  # the band applies to the median
    }
    out = []
    for key in (*SHARES, *DISTRIBUTIONS):
        ref = reference.statistics.get(key)
        band = bands.get(key)
        if ref is None and band is None:
            continue
        if ref is None:  # the config still has a band: judge the corpus, show no reference
            ref = Statistic(key=key, kind="share" if key in SHARES else "distribution",
                            unit="fraction" if key in SHARES else "s")
        n_transfers = int(np.isfinite(np.asarray(sample.get("fto_s", np.zeros(0)), float)).sum())
        # a median or share of a handful of transfers passes or fails by chance: below the count that
        # requirement 2 needs to judge timing, the transfer statistics are not measured, and fail
        too_few = (key in ("fto_s", "overlap_transfer_share") and band is not None
                   and 0 < n_transfers < cfg.min_transfers_for_timing)
        few_note = (f"{n_transfers} floor transfer(s) in the corpus: too few to judge "
                    f"(< min_transfers_for_timing {cfg.min_transfers_for_timing})")
        if ref.kind == "share":
            value = sample.get(key)
            out.append(Comparison(
                statistic=key, unit="fraction", corpus_value=value, reference_value=ref.value,
                band=band, passed=False if too_few else _in_band(value, band),
                n=int(sample.get("n_recordings") or 0),
                note=few_note if too_few else ("" if value is not None else "not measured in the corpus"),
            ))
            continue
        x = np.asarray(sample.get(key, np.zeros(0)), float)
        x = x[np.isfinite(x)]
        levels, values = ref.levels_values()
        corpus_q = _quantile_dict(x, sorted(set(REPORT_LEVELS) | set(np.round(levels, 4).tolist())))
        median = float(np.median(x)) if x.size else None
        w, why = wasserstein_from_quantiles(x, levels, values, min_levels=cfg.min_reference_quantiles)
        max_w = cfg.max_fto_wasserstein_s if key == "fto_s" else None
        verdicts = [v for v in (_in_band(median, band), None if (w is None or max_w is None) else w <= max_w)
                    if v is not None]
        passed = all(verdicts) if verdicts else None
        if key == "fto_s" and x.size == 0:
            passed = False  # the band applies but nothing was measured
        note = why if w is None else f"Wasserstein-1 {why}"
        if too_few:
            passed, note = False, few_note
        out.append(Comparison(
            statistic=key, unit=ref.unit or "s", corpus_value=median, reference_value=ref.value,
            band=band, passed=passed, corpus_quantiles=corpus_q,
            reference_quantiles={k: v for k, v in sorted(ref.quantiles.items(), key=lambda kv: float(kv[0]))},
            wasserstein=w, max_wasserstein=max_w, n=int(x.size), note=note,
        ))
    return tuple(out)
