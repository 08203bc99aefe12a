"""Run every benchmark in turn (`make bench`), or the ones named: `python benchmarks/run_all.py scan sphere`.

Each benchmark measures its own baseline in the same run and prints ratios against it; this runner
only sequences them (one at a time, so they do not compete for the cores) and reports which failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Flow order: decode first (the baseline every later stage is compared with), then the stages.
ORDER = ["decode", "sphere", "checks", "activity", "activity_robust", "ownvoice", "turns", "scan", "many", "records", "memory", "words", "textfit",
         "export", "explorer", "collapse", "ray"]


def main(names: list[str]) -> int:
    chosen = names or ORDER
    unknown = [n for n in chosen if not (HERE / f"bench_{n}.py").exists()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(ORDER)}", file=sys.stderr)
        return 2
    failed = []
    for name in chosen:
        print(f"\n=== bench_{name}.py ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / f"bench_{name}.py")])
        print(f"--- bench_{name}.py exit {code} after {time.monotonic() - started:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
