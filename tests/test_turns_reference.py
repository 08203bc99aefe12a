"""``turns.analyse`` against a second, deliberately plain reading of docs/turn-taking.md: loops over frames
and IPUs, one rule per line as the page states it, on random short two-track patterns (and copies)."""

import numpy as np
import pytest

from twotrack.config import TurnsConfig
from twotrack.turns import analyse
from twotrack.turns.events import FrameThresholds

NEVER = 10**18


def plain_ipus(mask, pause):
    """Runs of speech; a silence of fewer than ``pause`` frames joins two runs."""
    out, i, n = [], 0, len(mask)
    while i < n:
        if not mask[i]:
            i += 1
            continue
        j = i
        while j < n and mask[j]:
            j += 1
        if out and i - out[-1][1] < pause:
            out[-1][1] = j
        else:
            out.append([i, j])
        i = j
    return [tuple(x) for x in out]


def plain_reading(m, cfg):
    th = FrameThresholds.from_config(cfg)
    per = [plain_ipus(m[t], th.pause) for t in (0, 1)]
    ipu = []
    for t in (0, 1):
        for s, e in per[t]:
            # covered: wholly inside one IPU of the other track (identical extents: only B's is covered)
            cov = any(os <= s and oe >= e and (t == 1 or (os, oe) != (s, e)) for os, oe in per[1 - t])
            ipu.append({"s": s, "e": e, "t": t, "covered": cov, "short": e - s <= th.backchannel_max})
    for x in ipu:
        later_big = [y["s"] for y in ipu
                     if y["t"] == x["t"] and y["s"] > x["s"] and not y["short"] and not y["covered"]]
        next_big = min(later_big, default=NEVER)
        # the other goes on: one of their IPUs heard alone ends after this one and starts before my next big one
        goes_on = any(not y["covered"] and y["e"] > x["e"] and y["s"] < next_big for y in ipu if y["t"] != x["t"])
        x["yields"] = x["covered"] or (x["short"] and goes_on)
    floor, turns, backchannels = -1, [], []
    for i, x in enumerate(sorted(ipu, key=lambda y: (y["s"], -y["e"], y["t"]))):  # onset order
        sets = i == 0 or not x["yields"]
        if sets and floor != x["t"]:
            turns.append([x["s"], x["e"], x["t"]])
        elif turns and turns[-1][2] == x["t"]:
            turns[-1][1] = max(turns[-1][1], x["e"])
        if x["yields"] and x["short"] and floor not in (-1, x["t"]):
            backchannels.append((x["s"], x["e"], x["t"], floor))
        if sets:
            floor = x["t"]
    spoken = np.zeros(m.shape, bool)
    for t in (0, 1):
        for s, e in per[t]:
            spoken[t, s:e] = True
    anyone = spoken.any(0)
    silences = []
    if anyone.any():
        first, last = np.flatnonzero(anyone)[[0, -1]]
        silences = [(a + first, b + first) for a, b in plain_ipus(~anyone[first:last + 1], 0)]
    silence_rows = []
    for a, b in silences:
        gap = [k for k in range(len(turns) - 1) if turns[k][1] <= a and b <= turns[k + 1][0]]
        if gap:
            silence_rows.append((a, b, True, turns[gap[0] + 1][2], turns[gap[0]][2]))
        else:
            holder = [t for s, _, t in turns if s <= a][-1]
            silence_rows.append((a, b, False, holder, -1))
    overlap_rows = []
    for a, b in plain_ipus(spoken[0] & spoken[1], 0):
        between = [k for k in range(len(turns) - 1) if turns[k + 1][0] == a < turns[k][1]]
        if between:
            k = between[0]
            assert turns[k][1] == b  # a between overlap spans [next turn start, previous turn end)
            overlap_rows.append((a, b, True, turns[k + 1][2], turns[k][2]))
        else:
            holder = [t for s, _, t in turns if s <= a][-1]
            overlap_rows.append((a, b, False, 1 - holder, holder))
    return {"ipus": sorted((x["s"], x["e"], x["t"]) for x in ipu), "turns": [tuple(t) for t in turns],
            "backchannels": sorted(backchannels), "silences": silence_rows, "overlaps": overlap_rows}


def vectorised(m, cfg):
    st = analyse(m, cfg)
    bc = st.ipu_backchannel

    def rows(*cols):
        return [tuple(r) for r in zip(*(c.tolist() for c in cols))]

    return {"ipus": sorted(rows(st.ipu_start, st.ipu_stop, st.ipu_track)),
            "turns": rows(st.turn_start, st.turn_stop, st.turn_track),
            "backchannels": sorted(rows(st.ipu_start[bc], st.ipu_stop[bc], st.ipu_track[bc], st.ipu_floor[bc])),
            "silences": rows(st.silence_start, st.silence_stop, st.silence_gap, st.silence_track, st.silence_from),
            "overlaps": rows(st.overlap_start, st.overlap_stop, st.overlap_between, st.overlap_track,
                             st.overlap_from)}


def random_pattern(rng):
    n = int(rng.integers(1, 80))
    share = rng.uniform(0.05, 0.5)
    m = np.zeros((2, n), bool)
    for t in (0, 1):
        i = 0
        while i < n:
            run = int(rng.integers(1, 15))
            m[t, i:i + run] = rng.random() < share
            i += run
    if rng.random() < 0.05:
        m[1] = m[0]
    return m


# Thresholds in frames small enough for 80-frame patterns to hold every case; 0 frames included.
@pytest.mark.parametrize("pause_s, backchannel_s", [(0.03, 0.05), (0.0, 0.05), (0.01, 0.01), (0.1, 0.2), (0.02, 0.0)])
def test_analyse_matches_a_plain_reading_of_the_definitions(pause_s, backchannel_s):
    cfg = TurnsConfig(pause_threshold_s=pause_s, backchannel_max_s=backchannel_s)
    rng = np.random.default_rng(int(pause_s * 1000 + backchannel_s * 100))
    for _ in range(300):
        m = random_pattern(rng)
        expected, got = plain_reading(m, cfg), vectorised(m, cfg)
        for key in expected:
            assert got[key] == expected[key], (key, m.astype(int).tolist())
