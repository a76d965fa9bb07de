"""`mentor check` (and the `mentor match` size guard) on a 1,000,000-row signup CSV: seconds and peak memory.

Issue 12, item 8: a million-row signup file must be checked within a minute and 4 GB, and
`mentor match` must either finish or refuse at once, in one line, saying what size it supports.

The file is the Google-Forms-like cohort of ``bench_e2e.generate_signups`` written as CSV (the
format a form exports; an XLSX of a million rows is past what the forms export). Each command
runs as a real process under ``/usr/bin/time -v`` (peak resident set from the kernel), so
nothing of the generator's memory is counted.

Usage: python3 benchmarks/bench_size.py [--rows 1000000] [--keep-files DIR] [--skip-match]
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_e2e import (
    AVAILABILITY,
    FORMATS,
    HEADERS,
    INDUSTRIES,
    INTERESTS,
    LANGUAGES,
    ROLES,
    TOPICS,
    ZONES,
)


def generate_csv(path: Path, n: int, seed: int = 7) -> Path:
    """A reproducible signup CSV of ``n`` rows with the columns of the end-to-end benchmark."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def pick(options: list[str]) -> list[str]:
        return [options[i] for i in rng.integers(0, len(options), n)]

    def multi(options: list[str], low: int, high: int) -> list[str]:
        counts = rng.integers(low, high + 1, n)
        picks = rng.integers(0, len(options), (n, high))
        return [", ".join(sorted({options[j] for j in row[:c]})) for row, c in zip(picks.tolist(), counts.tolist())]

    columns = [
        [f"2026-09-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00" for i in range(n)],
        [f"Person {i}" for i in range(n)],
        [f"person{i}@example.org" for i in range(n)],
        pick(ROLES), multi(TOPICS, 1, 3), multi(TOPICS, 1, 4), pick(INDUSTRIES),
        [f"Org {i}" for i in rng.integers(0, 40, n).tolist()],
        [f"Dept {i}" for i in rng.integers(0, 8, n).tolist()],
        [str(y) for y in rng.integers(0, 30, n).tolist()],
        pick(ZONES), pick(LANGUAGES), pick(AVAILABILITY), pick(FORMATS), multi(INTERESTS, 0, 3),
        [str(c) for c in rng.integers(1, 4, n).tolist()],
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(zip(*columns))
    return path


def timed_run(args: list[str], cwd: Path) -> dict:
    """Run ``python -m mentorcli ARGS`` under /usr/bin/time -v: exit code, seconds, peak MB, stderr tail."""
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "mentorcli", *args]
    started = time.perf_counter()
    done = subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    seconds = time.perf_counter() - started
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("\t")]
    return {"exit": done.returncode, "seconds": seconds, "peak_mb": int(peak.group(1)) / 1024 if peak else float("nan"),
            "tail": lines[-3:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep-files", type=Path, default=None)
    parser.add_argument("--skip-match", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = options.keep_files or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"signups-{options.rows}.csv"
        if not path.exists():
            started = time.perf_counter()
            generate_csv(path, options.rows)
            print(f"generated {options.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")
        runs = {"check": ["check", path.name, "--json"]}
        if not options.skip_match:
            runs["match"] = ["match", path.name, "-o", "pairs.xlsx"]
        print("| command | rows | exit | seconds | peak MB |\n|---|---:|---:|---:|---:|")
        for label, args in runs.items():
            result = timed_run(args, folder)
            print(f"| mentor {label} | {options.rows:,} | {result['exit']} | {result['seconds']:.1f} | {result['peak_mb']:,.0f} |")
            for line in result["tail"]:
                print(f"    {line[:200]}")
        verdict = "check target (60 s, 4 GB): see the check row above"
        print(verdict)


if __name__ == "__main__":
    main()
