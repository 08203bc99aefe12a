"""A queue of sample blocks taken out by length: the re-chunking every streaming reader needs."""

from __future__ import annotations

from collections import deque

import numpy as np


class ColumnQueue:
    """Queued (rows, m) blocks, taken out by a number of columns (``size`` columns held)."""

    def __init__(self):
        self.parts: deque[np.ndarray] = deque()
        self.size = 0

    def push(self, block: np.ndarray) -> None:
        if block.shape[1]:
            self.parts.append(block)
            self.size += block.shape[1]

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` columns (there must be that many)."""
        out = self.take_parts(n)
        return out[0] if len(out) == 1 else np.concatenate(out, axis=1)

    def take_parts(self, n: int) -> list[np.ndarray]:
        """The next ``n`` columns as the queued pieces they span (views, in order; there must be that
        many): a reader that copies rows out of them anyway skips ``take``'s joining copy."""
        out = []
        while n > 0:
            head = self.parts[0]
            k = min(n, head.shape[1])
            out.append(head[:, :k])
            if k == head.shape[1]:
                self.parts.popleft()
            else:
                self.parts[0] = head[:, k:]
            n -= k
            self.size -= k
        return out
