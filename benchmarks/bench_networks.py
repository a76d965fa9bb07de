"""Developmental networks at scale: what step 4b (``matching.networks``) adds to ``mentor match``.

Run: ``python3 benchmarks/bench_networks.py [--sizes 10000 100000] [--share 0.2]``. The cohort is
``bench_match.synthetic_people`` with a ``share`` of the mentees (and "both") wanting 2 mentors
instead of its 15%. Each size runs in a fresh process; prints a markdown table: the pair solve
(step 4, unchanged), then the network step split into scoring the candidates and the CP-SAT
solves, the model's size, its status ("optimal" / "within X%") and how many mentees it changed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_match import peak_mb, synthetic_people

from mentorcli import match
from mentorcli.config import Config
from mentorcli.matching import networks
from mentorcli.matching.scale import optimum


def measure(n: int, share: float) -> dict:
    people = synthetic_people(n)
    rng = np.random.default_rng(11)
    wanting = people["wants"].to_numpy() > 0
    people["wants"] = np.where(wanting, np.where(rng.random(n) < share, 2, 1), 0)
    config = Config()
    cohort = match.prepare_cohort(people, config)
    wants, capacity = cohort.mentees.limit.copy(), cohort.mentors.limit.copy()
    out: dict = {"n": n, "share": share}
    t = time.perf_counter()
    solution = optimum(cohort, wants, capacity, "places")
    out["pairs_s"] = time.perf_counter() - t
    t = time.perf_counter()
    rows = networks.network_mentees(cohort, wants)
    empty = np.zeros(0, np.int64)
    problem = networks.network_problem(cohort, solution, rows, wants, capacity, empty, empty)
    cells = networks.candidate_cells(problem)
    out["candidates_s"] = time.perf_counter() - t
    t = time.perf_counter()
    chosen, value, bound = networks.solve_network(problem, cells)
    out["cpsat_s"] = time.perf_counter() - t
    result = networks._result(problem, cells, solution, chosen, value, bound)
    out.update(mentees=len(rows), places=problem.places, cells=len(cells.rows), cut=int((cells.outside_value >= 0).sum()),
               status=result.status, changed=result.changed, peak_mb=peak_mb())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.share)))
        return
    print("| signups | mentees wanting 2 | step 4 pairs s | candidates s | CP-SAT s | model cells | lists cut | status | changed | peak MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for n in args.sizes:
        done = subprocess.run([sys.executable, __file__, "--one", str(n), "--share", str(args.share)],
                              capture_output=True, text=True, check=False)
        if done.returncode:
            sys.stderr.write(done.stderr)
            raise SystemExit(done.returncode)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"| {r['n']:,} | {r['mentees']:,} | {r['pairs_s']:.1f} | {r['candidates_s']:.1f} | {r['cpsat_s']:.1f} "
              f"| {r['cells']:,} | {r['cut']:,} | {r['status']} | {r['changed']:,} | {r['peak_mb']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
