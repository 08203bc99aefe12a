"""A small shorten (v2) encoder, for building test and benchmark files only.

It writes what ``ingest.shorten`` reads: fixed polynomial predictors (orders 0-3, the cheapest per
block), a Rice parameter per block, ``nmean`` running block means, bit shifts (16-bit PCM whose
low bits are zero; mu-law whose bytes all fit a coarser grid), zero blocks, and a shorter final
block. No LPC blocks. Real corpora come from the reference encoder; the SPHERE fixtures prove the
decoder against those. This encoder's output decoding back to its input is a self-consistency
check (and exercises decoder paths the fixtures do not, such as mu-law bit shifts).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from twotrack.ingest.shorten import MAGIC, TYPE_AU2, TYPE_S16HL, TYPE_S16LH, ULAW_OUTWARD, _cdiv, ulaw_reachable

_NO_RANK = -32768


def ulaw_inward() -> np.ndarray:
    """(13, 256) mu-law byte -> rank at each bit shift (type 8 convention), ``-32768`` if unreachable."""
    inward = np.full(ULAW_OUTWARD.shape, _NO_RANK, np.int64)
    for s in range(ULAW_OUTWARD.shape[0]):
        pos, neg = ulaw_reachable(s)
        for rank, code in enumerate(pos):
            inward[s, 255 - code] = rank
        for j, code in enumerate(neg):
            inward[s, 127 - code] = -(j + 2)
        inward[s, 127] = -1  # negative zero
    return inward


@njit(cache=True, inline="always")
def _put(out, w, val, nbits):
    """Append ``nbits`` (<= 32) bits of ``val``; ``w`` = [byte position, accumulator, bits held]."""
    acc = (w[1] << nbits) | (val & ((np.int64(1) << nbits) - 1))
    n = w[2] + nbits
    pos = w[0]
    while n >= 8:
        n -= 8
        out[pos] = (acc >> n) & 0xFF
        pos += 1
    w[0] = pos
    w[1] = acc & ((np.int64(1) << n) - 1)
    w[2] = n


@njit("void(uint8[::1], int64[::1], int64, int64)", cache=True)
def _uvar_put(out, w, u, k):
    high = u >> k
    while high >= 32:
        _put(out, w, 0, 32)
        high -= 32
    _put(out, w, 1, high + 1)  # `high` zeros then a one
    if k:
        _put(out, w, u & ((np.int64(1) << k) - 1), k)


@njit("void(uint8[::1], int64[::1], int64)", cache=True)
def _ulong_put(out, w, v):
    k = 0
    while (v >> k) > 0:
        k += 1
    _uvar_put(out, w, k, 2)
    _uvar_put(out, w, v, k)


@njit(cache=True, inline="always")
def _zigzag(r):
    return (r << 1) if r >= 0 else (((-r - 1) << 1) | 1)


@njit(cache=True)
def _encode_kernel(x, is_ulaw, inward, ftype, blocksize, nmean, out, counts):
    """Returns the stream length in bytes; ``counts[fn]`` counts commands, ``counts[10]`` the largest shift."""
    n, nch = x.shape
    w = np.zeros(3, np.int64)
    w[0] = 5  # after the magic and the version byte, written by the caller
    for v in (ftype, nch, blocksize, 0, nmean, 0):
        _ulong_put(out, w, v)
    nwrap = 3
    hist = np.zeros((nch, nwrap), np.int64)
    offs = np.zeros((nch, max(1, nmean)), np.int64)
    vals = np.zeros(blocksize, np.int64)
    res = np.zeros((4, blocksize), np.int64)
    bs = blocksize
    shift = 0
    for start in range(0, n, blocksize):
        length = min(blocksize, n - start)
        if length != bs:
            counts[5] += 1
            _uvar_put(out, w, 5, 2)
            _ulong_put(out, w, length)
            bs = length
        # bit shift for this frame: the largest that loses nothing on every channel
        new_shift = shift
        if is_ulaw:
            for s in range(inward.shape[0] - 1, -1, -1):
                fits = True
                for c in range(nch):
                    for i in range(bs):
                        if inward[s, x[start + i, c]] == -32768:
                            fits = False
                            break
                    if not fits:
                        break
                if fits:
                    new_shift = s
                    break
        else:
            bits = np.int64(0)
            for c in range(nch):
                for i in range(bs):
                    bits |= x[start + i, c]
            if bits != 0:
                new_shift = 0
                while new_shift < 15 and (bits >> new_shift) & 1 == 0:
                    new_shift += 1
        if new_shift != shift:
            shift = new_shift
            counts[6] += 1
            counts[10] = max(counts[10], shift)
            _uvar_put(out, w, 6, 2)
            _uvar_put(out, w, shift, 2)
        for c in range(nch):
            allzero = True
            for i in range(bs):
                v = inward[shift, x[start + i, c]] if is_ulaw else x[start + i, c] >> shift
                vals[i] = v
                if v != 0:
                    allzero = False
            if nmean == 0:
                coffset = offs[c, 0]
            else:
                total = nmean // 2
                for i in range(nmean):
                    total += offs[c, i]
                coffset = _cdiv(total, nmean)
                if shift > 0:
                    coffset = coffset >> shift
            if allzero:
                counts[8] += 1
                _uvar_put(out, w, 8, 2)
            else:
                p1, p2, p3 = hist[c, 2], hist[c, 1], hist[c, 0]
                best = 0
                best_cost = np.int64(1) << 62
                for fn in range(4):
                    a1, a2, a3 = p1, p2, p3
                    cost = np.int64(0)
                    for i in range(bs):
                        v = vals[i]
                        if fn == 0:
                            r = v - coffset
                        elif fn == 1:
                            r = v - a1
                        elif fn == 2:
                            r = v - (2 * a1 - a2)
                        else:
                            r = v - (3 * (a1 - a2) + a3)
                        res[fn, i] = r
                        cost += abs(r)
                        a3, a2, a1 = a2, a1, v
                    if cost < best_cost:
                        best_cost = cost
                        best = fn
                # Rice parameter k = resn + 1 that minimises the block's bits
                best_resn = 0
                best_bits = np.int64(1) << 62
                for resn in range(0, 24):
                    k = resn + 1
                    nbits = np.int64(0)
                    for i in range(bs):
                        nbits += (_zigzag(res[best, i]) >> k) + 1 + k
                    if nbits < best_bits:
                        best_bits = nbits
                        best_resn = resn
                counts[best] += 1
                _uvar_put(out, w, best, 2)
                _uvar_put(out, w, best_resn, 3)
                for i in range(bs):
                    _uvar_put(out, w, _zigzag(res[best, i]), best_resn + 1)
            if nmean > 0:
                total = bs // 2
                for i in range(bs):
                    total += vals[i]
                mean = _cdiv(total, bs) * (np.int64(1) << shift)
                for i in range(1, nmean):
                    offs[c, i - 1] = offs[c, i]
                offs[c, nmean - 1] = mean
            for j in range(nwrap):
                src = bs - nwrap + j
                hist[c, j] = vals[src] if src >= 0 else hist[c, j + bs]
    _uvar_put(out, w, 4, 2)  # quit
    if w[2] > 0:
        _put(out, w, 0, 8 - w[2])
    return w[0]


def encode_shorten(
    values: np.ndarray,
    *,
    ulaw: bool = False,
    blocksize: int = 256,
    nmean: int = 4,
    byte_order: str = "<",
    stats: dict[str, int] | None = None,
) -> bytes:
    """Encode ``values`` (frames, channels) as a shorten v2 stream.

    ``ulaw=False``: int16 samples (type 5 for ``byte_order`` "<", type 3 for ">"; only the type
    number differs). ``ulaw=True``: mu-law bytes (type 8). ``stats``, when given, is filled with
    how many blocks used each predictor, zero blocks, bit-shift changes and the largest shift.
    """
    x = np.asarray(values)
    if x.ndim == 1:
        x = x[:, None]
    x = np.ascontiguousarray(x.astype(np.int64))
    ftype = TYPE_AU2 if ulaw else (TYPE_S16LH if byte_order == "<" else TYPE_S16HL)
    inward = ulaw_inward() if ulaw else np.zeros((1, 256), np.int64)
    out = np.zeros(x.size * 5 + 4096, np.uint8)
    out[:4] = np.frombuffer(MAGIC, np.uint8)
    out[4] = 2  # format version
    counts = np.zeros(11, np.int64)
    nbytes = _encode_kernel(x, ulaw, inward, ftype, int(blocksize), int(nmean), out, counts)
    if stats is not None:
        stats.update({f"diff{i}": int(counts[i]) for i in range(4)})
        stats.update(zero=int(counts[8]), blocksize_changes=int(counts[5]), shift_changes=int(counts[6]),
                     max_shift=int(counts[10]))
    return out[:nbytes].tobytes()
