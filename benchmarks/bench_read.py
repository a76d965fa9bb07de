"""Reading signups: `read_signups` against calamine alone, at 1k, 10k and 100k generated signups.

The files are the Google-Forms-style exports of bench_e2e.py (generated once, kept with
--files). The baseline is what any tool that reads these files must pay: calamine opening the
workbook and handing its first sheet to Python, `CalamineWorkbook.from_path(p)
.get_sheet_by_index(0).to_python()`. `read_signups` does that too, then maps the headers,
normalises every answer (emails, roles, lists, time zones, timestamps), validates the rows,
settles duplicates and builds the People frame.

Each size runs in its own process: the first call ("cold") includes the one-off work a command
line run pays (the time-zone tables, email-validator's import); the best of --repeat later calls
("warm") is the steady cost. Peak memory is the process's peak resident set (VmHWM), reset
before each measurement through /proc/self/clear_refs (Linux). Timings on a busy machine vary:
compare the ratio to calamine alone, measured in the same process, rather than seconds across runs.

Targets (this work): 10k within 0.35 s, 100k within 3.5 s, for the whole of `read_signups`.

Usage: python3 benchmarks/bench_read.py [--sizes 1000 10000 100000] [--repeat 3] [--files DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_e2e import peak_mb, reset_peak

TARGETS = {10_000: 0.35, 100_000: 3.5}


def timed(function, *args) -> tuple[float, float]:
    """Seconds and peak MB of one call."""
    reset_peak()
    start = time.perf_counter()
    result = function(*args)
    seconds = time.perf_counter() - start
    del result
    return seconds, peak_mb()


def bare_read(path: Path) -> list[list]:
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def run_one(n: int, folder: Path, repeat: int) -> dict:
    """Every measurement for one size, in this process."""
    from bench_e2e import generate_signups

    from mentorcli.config import Config
    from mentorcli.signups import read_signups

    path = folder / f"signups_{n}.xlsx"
    if not path.exists():
        generate_signups(path, n)
    config = Config()
    read = lambda p: read_signups([p], config)
    bare = [timed(bare_read, path) for _ in range(max(repeat, 1))]
    cold = timed(read, path)
    warm = [timed(read, path) for _ in range(repeat)] or [cold]
    people = len(read_signups([path], config).people)
    return {
        "n": n,
        "people": people,
        "bare_s": min(s for s, _ in bare),
        "bare_mb": max(m for _, m in bare),
        "cold_s": cold[0],
        "warm_s": min(s for s, _ in warm),
        "peak_mb": max([cold[1]] + [m for _, m in warm]),
    }


def table(rows: list[dict]) -> str:
    lines = [
        ("| signups | calamine alone s | calamine peak MB | read_signups first call s | read_signups best s "
         "| best / calamine | read_signups peak MB | target s |"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        target = TARGETS.get(row["n"])
        lines.append(
            f"| {row['n']:,} | {row['bare_s']:.3f} | {row['bare_mb']:,.0f} | {row['cold_s']:.3f} | {row['warm_s']:.3f} "
            f"| {row['warm_s'] / row['bare_s']:.2f}x | {row['peak_mb']:,.0f} | {'' if target is None else target} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="Warm calls per size (the best counts).")
    parser.add_argument("--files", type=Path, help="Folder for the generated signup files (kept for later runs).")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.files or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        if args.one:
            print(json.dumps(run_one(args.one, folder, args.repeat)))
            return
        rows = []
        for n in args.sizes:
            print(f"{n:,} signups ...", file=sys.stderr, flush=True)
            done = subprocess.run([sys.executable, __file__, "--one", str(n), "--files", str(folder),
                                   "--repeat", str(args.repeat)], stdout=subprocess.PIPE, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"size {n} failed")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(table(rows))


if __name__ == "__main__":
    main()
