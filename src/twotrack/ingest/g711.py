"""G.711 mu-law and A-law as lookup tables, built from the segment/mantissa definitions (ITU-T G.711).

Decoding is a 256-entry table lookup (vectorised with ``np.take``); encoding is vectorised numpy.
``pculaw`` (found in some SPHERE files) is mu-law with the bit order of each byte reversed.
"""

from __future__ import annotations

import numpy as np


def _ulaw_decode_table() -> np.ndarray:
    b = ~np.arange(256, dtype=np.int32) & 0xFF  # mu-law bytes are stored inverted
    seg = (b >> 4) & 7
    mant = b & 15
    mag = (((mant << 3) + 0x84) << seg) - 0x84
    return np.where(b & 0x80, -mag, mag).astype(np.int16)


def _alaw_decode_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55  # even bits are inverted on the line
    seg = (a >> 4) & 7
    mant = a & 15
    mag = np.where(seg == 0, (mant << 4) + 8, ((mant << 4) + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, mag, -mag).astype(np.int16)


def _bit_reverse_table() -> np.ndarray:
    x = np.arange(256, dtype=np.uint8)
    return np.unpackbits(x[:, None], axis=1)[:, ::-1].copy().dot(1 << np.arange(7, -1, -1)).astype(np.uint8)


ULAW_TO_LINEAR = _ulaw_decode_table()
ALAW_TO_LINEAR = _alaw_decode_table()
BIT_REVERSE = _bit_reverse_table()
PCULAW_TO_LINEAR = ULAW_TO_LINEAR[BIT_REVERSE]

#: 16-bit linear value of each byte, per 1-byte SPHERE coding.
LINEAR_TABLES = {"ulaw": ULAW_TO_LINEAR, "alaw": ALAW_TO_LINEAR, "pculaw": PCULAW_TO_LINEAR}


def linear_to_ulaw(x: np.ndarray) -> np.ndarray:
    """16-bit linear -> mu-law bytes (bias 0x84, clipped at 32635), the inverse of ``ULAW_TO_LINEAR``."""
    x = np.asarray(x, dtype=np.int32)
    sign = np.where(x < 0, 0x80, 0)
    mag = np.minimum(np.abs(x), 32635) + 0x84
    seg = np.floor(np.log2(mag >> 7 | 1)).astype(np.int32)  # position of the top bit of mag >> 7
    mant = (mag >> (seg + 3)) & 15
    return (~(sign | (seg << 4) | mant) & 0xFF).astype(np.uint8)


def linear_to_alaw(x: np.ndarray) -> np.ndarray:
    """16-bit linear -> A-law bytes, the inverse of ``ALAW_TO_LINEAR`` on its own outputs."""
    x = np.asarray(x, dtype=np.int32)
    positive = x >= 0
    mag = np.where(positive, x, -x) >> 3  # 13-bit magnitude
    mag = np.minimum(mag, 4095)
    seg = np.where(mag < 32, 0, np.floor(np.log2(np.maximum(mag, 1))).astype(np.int32) - 4)
    mant = np.where(seg == 0, mag >> 1, (mag >> np.maximum(seg, 1)) & 15)
    code = (seg << 4) | mant
    return ((code | np.where(positive, 0x80, 0)) ^ 0x55).astype(np.uint8)
