"""Reading stored records back: ``Record.from_dict`` per record against resolving the type hints on every call.

Every stored recording, check result and stage result is a JSON dict read back through ``from_dict``;
a rescan's plan, ``stats``, ``rights``, ``report`` and the explorer read one per recording. The
baseline, measured in the same run, is the former ``from_dict``: ``typing.get_type_hints(cls)`` on each
call. The records are the bundled sample manifest's recordings (``data/sample/manifest.csv``), each
read ``--n`` times in total. Printed: microseconds per record for both and the ratio baseline / now.

Usage: .venv/bin/python benchmarks/bench_records.py [--n 3000]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from timing import best_of  # noqa: E402
from twotrack.ingest.discover import discover  # noqa: E402
from twotrack.model import Recording, _from_jsonable  # noqa: E402


def from_dict_baseline(cls, data):
    """The former ``Record.from_dict``: the hints resolved on every call."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _from_jsonable(hints[f.name], data[f.name])
    return cls(**kwargs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000, help="records read per timing")
    args = ap.parse_args()
    recs, _ = discover([REPO / "data/sample/manifest.csv"])
    dicts = [recs[i % len(recs)].to_dict() for i in range(args.n)]
    now_s, now = best_of(lambda: [Recording.from_dict(d) for d in dicts])
    base_s, base = best_of(lambda: [from_dict_baseline(Recording, d) for d in dicts])
    if now != base:
        raise SystemExit("the two readers disagree")
    print(f"{args.n} Recording records ({len(recs)} distinct, from data/sample/manifest.csv)")
    print(f"  from_dict now:              {1e6 * now_s / args.n:8.1f} us/record")
    print(f"  hints resolved every call:  {1e6 * base_s / args.n:8.1f} us/record")
    print(f"  ratio baseline / now:       {base_s / now_s:8.1f}x")


if __name__ == "__main__":
    main()
