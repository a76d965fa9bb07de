"""Benchmark: the pairing workbook written with and without each use of xlsxwriter internals.

Input to issue 15 item 4 (only public library API). Every variant writes the same roster and
result (``bench_write.inputs``, cached like ``bench_write.py``) through ``write_pairing_workbook``:

- ``current``: ready XML for the data rows (private ``Worksheet`` methods), the shared string
  table written in one pass (private ``SharedStrings``/``Packager`` methods), zlib level 1 (the
  module-level ``ZipFile`` of xlsxwriter swapped during the write);
- ``level6``: as current, zlib's default level (no ``ZipFile`` swap);
- ``cells``: one public ``write_*`` call per cell instead of the ready XML, level 1;
- ``public``: only public API: ``xlsxwriter.Workbook`` as it is, one call per cell, level 6
  (a cell like ``<r>x</r>`` then corrupts the workbook: a correctness gap, not only speed);
- ``public-in-memory``: as public, with xlsxwriter's ``in_memory`` option (no part files on disk).

Prints best wall and CPU seconds of ``--repeat`` writes and the file size per variant and size.

Measured 2026-12-06 on the shared 2-core host (load 8: wall is 3-4x CPU, compare CPU):

| signups | variant | write CPU s | MB |
|---:|---|---:|---:|
| 10,000 | current | 0.55 | 1.9 |
| 10,000 | level6 | 0.88 | 1.5 |
| 10,000 | cells | 2.41 | 1.9 |
| 10,000 | public | 2.28 | 1.5 |
| 10,000 | public-in-memory | 2.21 | 1.5 |
| 100,000 | current | 5.57 | 19.9 |
| 100,000 | level6 | 7.49 | 15.0 |
| 100,000 | cells | 24.15 | 19.9 |
| 100,000 | public | 25.52 | 15.0 |

Public API alone costs about 4x the write CPU (about +20 s at 100k, +1.7 s at 10k, where
``bench_e2e.py`` measured 6.66 s end to end against 8.86 s allowed, write 1.27 s wall): both
targets of issue 15 would be missed, so the internals stay until a faster public writer is
chosen (``constant_memory`` needs rows written in order; not measured).
Run: ``python3 benchmarks/bench_write_variants.py [--sizes 10000 100000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import xlsxwriter
from bench_write import inputs

from mentorcli import workbook as workbook_module
from mentorcli import xlsx
from mentorcli.config import Config
from mentorcli.workbook import write_pairing_workbook


def plain_workbook(in_memory: bool) -> Any:
    def make(target: Any, options: dict[str, Any]) -> Any:
        return xlsxwriter.Workbook(str(target), {**options, "in_memory": in_memory})
    return make


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    saved = (xlsx.ZIP_LEVEL, workbook_module._FAST_CELLS, xlsx.text_workbook)
    try:
        if name in ("level6", "public", "public-in-memory"):
            xlsx.ZIP_LEVEL = 6
        if name in ("cells", "public", "public-in-memory"):
            workbook_module._FAST_CELLS = False
        if name.startswith("public"):
            xlsx.text_workbook = plain_workbook(name.endswith("in-memory"))
        yield
    finally:
        xlsx.ZIP_LEVEL, workbook_module._FAST_CELLS, xlsx.text_workbook = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mentorcli-bench-write"))
    parser.add_argument("--variants", nargs="+", default=["current", "level6", "cells", "public", "public-in-memory"])
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    config = Config()
    print("| signups | variant | write best s | write CPU s | MB |\n|---:|---|---:|---:|---:|")
    for n in args.sizes:
        roster, result = inputs(n, args.cache, config, False)
        for name in args.variants:
            output = args.cache / f"variant_{n}.xlsx"
            wall, cpu = [], []
            with variant(name):
                for _ in range(args.repeat):
                    output.unlink(missing_ok=True)
                    start, start_cpu = time.perf_counter(), time.process_time()
                    write_pairing_workbook(output, roster, result, config, force=False)
                    wall.append(time.perf_counter() - start)
                    cpu.append(time.process_time() - start_cpu)
            print(f"| {n:,} | {name} | {min(wall):.2f} | {min(cpu):.2f} | {output.stat().st_size / 1e6:.1f} |", flush=True)


if __name__ == "__main__":
    main()
