"""The exact solver alone, old (scipy LAPJVsp + slot expansion + gadgets) against new (OR-tools min-cost flow).

Random sparse problems shaped like a cohort's candidate lists: n mentees x m mentors, ``k``
distinct candidate mentors per mentee, integer weights 0..10,000 (the scores) plus a "bonus"
of 5e7..1.5e9 on about 1% of the edges (requests and ranked choices, as the matcher weights
them), 15% of mentees wanting 2 mentors, mentor capacity 1-3. Sizes: 8,000 x 4,000 ("10k
signups") and 80,000 x 40,000 ("100k"), with 20 and 50 candidates.

Each (solver, problem) runs in its own process: time is the whole ``solve_edges`` call,
certificate included (wall and CPU: CPU is steadier on a shared machine); peak memory is the
process's peak resident set (VmHWM, reset just before the solve through /proc/self/clear_refs),
with the part above what the process held before the solve. The old solver is the one at
``--old-rev`` (the last commit with the LAPJVsp solver), loaded from git under another name;
it gets ``--old-timeout`` seconds per problem. Both must agree on places and total.

Usage: python3 benchmarks/bench_solve.py [--sizes 10k 100k] [--candidates 20 50]
       [--old-timeout 300] [--no-old] [--repeat 1]
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mentorcli import solve as current_solver

OLD_REV = "c78bf9a"
"""The last commit whose mentorcli/solve.py is the LAPJVsp solver."""

SIZES = {"10k": (8_000, 4_000), "100k": (80_000, 40_000)}


def random_problem(n: int, m: int, k: int, seed: int = 7) -> tuple[np.ndarray, ...]:
    """(rows, cols, weights, wants, capacity): ``k`` distinct random mentors per mentee, sorted edges."""
    rng = np.random.default_rng(seed)
    draws = 2 * k + 8  # enough that k distinct ones remain (k <= m / 100 here)
    rows = np.repeat(np.arange(n, dtype=np.int64), draws)
    cols = rng.integers(0, m, n * draws)
    keys, first = np.unique(rows * m + cols, return_index=True)
    # keep k per mentee, chosen by draw order (unique() sorted them by mentor)
    order = np.lexsort((first, keys // m))
    keys = keys[order]
    rank = np.arange(len(keys)) - np.searchsorted(keys // m, keys // m)
    keys = np.sort(keys[rank < k])
    rows, cols = keys // m, keys % m
    weights = rng.integers(0, 10_001, len(keys))
    bonus = rng.random(len(keys)) < 0.01
    weights[bonus] += rng.integers(50_000_000, 1_500_000_001, int(bonus.sum()))
    wants = np.where(rng.random(n) < 0.15, 2, 1).astype(np.int64)
    capacity = rng.integers(1, 4, m).astype(np.int64)
    return rows, cols, weights.astype(np.int64), wants, capacity


def load_old_solver(rev: str):
    """``mentorcli/solve.py`` at ``rev``, imported as the module ``solve_old``."""
    source = subprocess.run(["git", "show", f"{rev}:mentorcli/solve.py"], cwd=ROOT, check=True,
                            stdout=subprocess.PIPE, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "solve_old.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("solve_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["solve_old"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def memory_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_one(solver: str, n: int, m: int, k: int, repeat: int, rev: str) -> dict:
    """Solve one problem in this process; what the table needs, as a dict."""
    module = load_old_solver(rev) if solver == "old" else current_solver
    rows, cols, w, wants, capacity = random_problem(n, m, k)
    best_wall = best_cpu = float("inf")
    for attempt in range(repeat):
        before = memory_mb("VmRSS")
        reset_peak()
        wall, cpu = time.perf_counter(), time.process_time()
        result = module.solve_edges(rows, cols, w, wants, capacity)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if attempt == 0:
            peak = memory_mb("VmHWM")
            above = peak - before
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    return {"seconds": best_wall, "cpu": best_cpu, "peak_mb": peak, "above_mb": above, "edges": len(rows),
            "places": int(result.places), "total": int(result.total), "certified": bool(result.certified)}


def measure(solver: str, size: str, k: int, timeout: float | None, repeat: int, rev: str) -> dict:
    """``run_one`` in a fresh process (so peaks do not carry over), or a timeout record."""
    n, m = SIZES[size]
    command = [sys.executable, __file__, "--one", solver, str(n), str(m), str(k), "--repeat", str(repeat),
               "--old-rev", rev]
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    lines = [("| problem (mentees x mentors, candidates) | edges | solver | time s (wall) | CPU s | peak MB"
              " (above input) | places | total | certified | speed-up (CPU) |"),
             "|---|---:|---|---:|---:|---:|---:|---:|---|---:|"]
    for row in rows:
        n, m = SIZES[row["size"]]
        problem = f"{n:,} x {m:,}, {row['k']}"
        for solver in ("old", "new"):
            r = row.get(solver)
            if r is None:
                continue
            if "timeout" in r:
                lines.append(f"| {problem} | | {solver} | > {r['timeout']:.0f} | | | | | | |")
                continue
            speedup = ""
            old = row.get("old")
            if solver == "new" and old:
                speedup = (f"> {old['timeout'] / r['cpu']:.0f}x" if "timeout" in old
                           else f"{old['cpu'] / r['cpu']:.0f}x")
            lines.append(f"| {problem} | {r['edges']:,} | {solver} | {r['seconds']:.2f} | {r['cpu']:.2f} | "
                         f"{r['peak_mb']:,.0f} ({r['above_mb']:,.0f}) | {r['places']:,} | {r['total']:,} | "
                         f"{'yes' if r['certified'] else 'NO'} | {speedup} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--candidates", nargs="+", type=int, default=[20, 50])
    parser.add_argument("--old-timeout", type=float, default=300.0)
    parser.add_argument("--old-rev", default=OLD_REV)
    parser.add_argument("--no-old", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="solves per process; the fastest is reported")
    parser.add_argument("--one", nargs=4, metavar=("SOLVER", "N", "M", "K"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        solver, n, m, k = args.one
        print(json.dumps(run_one(solver, int(n), int(m), int(k), args.repeat, args.old_rev)))
        return
    rows, disagree = [], []
    for size in args.sizes:
        for k in args.candidates:
            row = {"size": size, "k": k}
            row["new"] = measure("new", size, k, None, args.repeat, args.old_rev)
            print(f"{size} k={k} new: {row['new']['seconds']:.2f} s", file=sys.stderr, flush=True)
            if not args.no_old:
                row["old"] = measure("old", size, k, args.old_timeout, args.repeat, args.old_rev)
                print(f"{size} k={k} old: {row['old'].get('seconds', 'timeout')}", file=sys.stderr, flush=True)
                old, new = row["old"], row["new"]
                if "timeout" not in old and (old["places"], old["total"]) != (new["places"], new["total"]):
                    disagree.append(f"{size} k={k}")
            rows.append(row)
    print(table(rows))
    if disagree:
        print(f"\nOLD AND NEW DISAGREE on places or total: {', '.join(disagree)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
