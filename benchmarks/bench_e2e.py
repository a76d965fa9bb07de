"""End-to-end `mentor match` at 1k, 10k and 100k generated signups: time and peak memory per stage.

Stages: read (signups.read_signups), score+solve (match.match_people), write
(workbook.write_pairing_workbook). The "bare cost" baseline is reading the same signup file
with calamine and writing one sheet of the same size with xlsxwriter: what any tool that
reads and writes these files must pay. Targets (issue 3): 10k end to end within 2.5x the
baseline; 100k within 60 s and 4 GB.

Each cohort size runs in its own process so peak memory is not inherited. Peak memory is the
process's peak resident set (VmHWM), reset before each stage through /proc/self/clear_refs
(Linux). CPU time (all threads) is printed per stage too: how much of a stage runs in parallel.
It does not correct for a slow host (measured: it grows with the wall time when the host is
busy), so judge a run by the ratio to the bare baseline. Prints a markdown table for the README.

Usage: python3 benchmarks/bench_e2e.py [--sizes 1000 10000 100000] [--keep-files DIR]
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADERS = ["Timestamp", "Full name", "Email address", "I would like to be a", "What would you like help with?",
           "What can you offer as a mentor?", "Industry", "Organisation", "Department", "Years of experience",
           "Time zone", "Languages", "Availability", "Preferred format", "Interests", "How many mentees can you take?"]
TOPICS = ["Data science", "Leadership", "Public speaking", "Career change", "Product management", "Negotiation",
          "Machine learning", "Marketing", "Finance", "Entrepreneurship", "UX design", "Cloud architecture",
          "People management", "Writing", "Research", "Sales", "Operations", "Security", "Mobile development",
          "Work-life balance", "Networking", "Fundraising", "Policy", "Teaching", "Open source"]
INDUSTRIES = ["Software", "Finance", "Health", "Education", "Retail", "Energy", "Government", "Media"]
ZONES = ["Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "America/Los_Angeles",
         "Australia/Sydney", "Africa/Lagos", "America/Sao_Paulo", "Asia/Tokyo", "Europe/Madrid"]
LANGUAGES = ["English", "English, Spanish", "English, French", "English, German", "Spanish", "English, Hindi"]
AVAILABILITY = ["Weekday evenings", "Weekday mornings", "Weekday lunchtimes", "Weekends",
                "Weekday evenings, Weekends", "Weekday mornings, Weekday lunchtimes"]
FORMATS = ["Video", "Phone", "In person", "Video, Phone", "Chat"]
INTERESTS = ["Chess", "Running", "Cooking", "Music", "Hiking", "Reading", "Gaming", "Travel", "Photography"]
ROLES = ["Mentor", "Mentee", "Mentee", "Mentee", "Both"]


def generate_signups(path: Path, n: int, seed: int = 7) -> Path:
    """A reproducible Google-Forms-like export of ``n`` signups (about 40% can mentor)."""
    import numpy as np
    import xlsxwriter

    rng = np.random.default_rng(seed)
    pick = lambda options, size=n: [options[i] for i in rng.integers(0, len(options), size)]

    def multi(options: list[str], low: int, high: int) -> list[str]:
        counts = rng.integers(low, high + 1, n)
        return [", ".join(sorted({options[j] for j in rng.integers(0, len(options), c)})) for c in counts]

    columns = [
        [f"2026-09-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00" for i in range(n)],
        [f"Person {i}" for i in range(n)],
        [f"person{i}@example.org" for i in range(n)],
        pick(ROLES),
        multi(TOPICS, 1, 3),
        multi(TOPICS, 1, 4),
        pick(INDUSTRIES),
        [f"Org {i}" for i in rng.integers(0, 40, n)],
        [f"Dept {i}" for i in rng.integers(0, 8, n)],
        [str(int(y)) for y in rng.integers(0, 30, n)],
        pick(ZONES),
        pick(LANGUAGES),
        pick(AVAILABILITY),
        pick(FORMATS),
        multi(INTERESTS, 0, 3),
        [str(int(c)) for c in rng.integers(1, 4, n)],
    ]
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    # a fixed document date: else the file (and the "input 1 sha256" that pairs.xlsx records of
    # it) differs with the second it was generated in, and tests.pinned could never match
    workbook.set_properties({"created": datetime.datetime(2026, 9, 1)})
    sheet = workbook.add_worksheet("Form Responses 1")
    sheet.write_row(0, 0, HEADERS)
    for r in range(n):
        sheet.write_row(r + 1, 0, [column[r] for column in columns])
    workbook.close()
    return path


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(label: str, results: dict, function, *args, **kwargs):
    reset_peak()
    start, cpu = time.perf_counter(), time.process_time()
    value = function(*args, **kwargs)
    results[label] = {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
                      "peak_mb": peak_mb()}
    print(f"  {label}: {results[label]['seconds']:.2f} s ({results[label]['cpu_seconds']:.2f} s CPU), "
          f"peak {results[label]['peak_mb']:,.0f} MB", file=sys.stderr, flush=True)
    return value


def bare_read(path: Path) -> list[list]:
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def bare_write(path: Path, grid: list[list]) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False})
    sheet = workbook.add_worksheet()
    for r, row in enumerate(grid):
        sheet.write_row(r, 0, row)
    workbook.close()


def run_one(n: int, folder: Path) -> dict:
    """All stages for one cohort size, in this process."""
    from mentorcli.config import Config
    from mentorcli.match import match_people
    from mentorcli.signups import read_signups
    from mentorcli.workbook import write_pairing_workbook

    signups = folder / f"signups_{n}.xlsx"
    if not signups.exists():
        generate_signups(signups, n)
    config = Config()
    stages: dict = {}
    grid = measure("bare read", stages, bare_read, signups)
    measure("bare write", stages, bare_write, folder / f"bare_{n}.xlsx", grid)
    del grid
    roster = measure("read", stages, read_signups, [signups], config)
    result = measure("score+solve", stages, match_people, roster.people, config)
    output = folder / f"pairs_{n}.xlsx"
    measure("write", stages, write_pairing_workbook, output, roster, result, config, force=True)
    return {
        "n": n,
        "people": len(roster.people),
        "pairs": len(result.pairs),
        "stages": stages,
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| signups | pairs | read s | score+solve s | write s | end to end s | peak MB | bare read+write s | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        s = row["stages"]
        total = s["read"]["seconds"] + s["score+solve"]["seconds"] + s["write"]["seconds"]
        bare = s["bare read"]["seconds"] + s["bare write"]["seconds"]
        peak = max(s[k]["peak_mb"] for k in ("read", "score+solve", "write"))
        lines.append(
            f"| {row['n']:,} | {row['pairs']:,} | {s['read']['seconds']:.2f} | {s['score+solve']['seconds']:.2f} | "
            f"{s['write']['seconds']:.2f} | {total:.2f} | {peak:,.0f} | {bare:.2f} | {total / bare:.2f}x |"
        )
    return "\n".join(lines)


def verdicts(rows: list[dict]) -> list[str]:
    out = []
    for row in rows:
        s = row["stages"]
        total = s["read"]["seconds"] + s["score+solve"]["seconds"] + s["write"]["seconds"]
        bare = s["bare read"]["seconds"] + s["bare write"]["seconds"]
        peak = max(s[k]["peak_mb"] for k in ("read", "score+solve", "write"))
        if row["n"] == 10_000:
            ok = total <= 2.5 * bare
            out.append(f"10k: {total:.2f} s end to end vs {2.5 * bare:.2f} s allowed (2.5x bare): {'PASS' if ok else 'FAIL'}")
        if row["n"] == 100_000:
            ok = total <= 60 and peak <= 4096
            out.append(f"100k: {total:.1f} s (<= 60) and {peak:,.0f} MB peak (<= 4096): {'PASS' if ok else 'FAIL'}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--keep-files", type=Path, help="Folder for the generated files (kept for inspection).")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.folder)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep_files or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for n in args.sizes:
            print(f"{n:,} signups:", file=sys.stderr, flush=True)
            done = subprocess.run([sys.executable, __file__, "--one", str(n), "--folder", str(folder)],
                                  stdout=subprocess.PIPE, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"size {n} failed")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(table(rows))
    print()
    for line in verdicts(rows):
        print(f"- {line}")
    print()
    print("Per stage (seconds / CPU seconds, all threads / peak MB):")
    for row in rows:
        parts = [f"{k} {v['seconds']:.2f}s/{v['cpu_seconds']:.2f}s/{v['peak_mb']:,.0f}MB" for k, v in row["stages"].items()]
        print(f"- {row['n']:,}: " + ", ".join(parts))


if __name__ == "__main__":
    main()
