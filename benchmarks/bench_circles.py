"""Circles at 2,000 and 10,000 signups: time, people placed and the gap to the proven bound.

Run: ``python3 benchmarks/bench_circles.py [--sizes 2000 10000] [--kinds mentor-led peer]``.
Prints a markdown table (paste it into the README's Performance section). The cohort is
``bench_match.synthetic_people`` (45% mentees, 45% mentors, 10% both; 30 topics, 20 time zones,
availability from the default answers). Circles of 5 people: ``--circles 4`` (a mentor and up to
4 mentees) and ``--peer-circles 5`` with ``[circles] peer_roles`` set to every role (everyone is a
peer). Targets (issue 16): 2,000 within 60 s and within 2% of the bound; 10,000 within 5 minutes.
Each run in a fresh subprocess so that peaks do not carry over. The CPU column is the process's own
CPU time: on a host shared with other work it is the fairer figure (the solver is single-threaded).
"placed (bound)": people placed and the most the proven bound allows. Every budget of the solver is
a count (pricing rounds, dive steps, branch-and-bound nodes), so the circles and the gap do not
depend on the host's speed; only the wall time does (the one clock is a safety stop of an hour).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_match import synthetic_people

from mentorcli.config import Config
from mentorcli.match import match_circles

SIZES = {"mentor-led": 4, "peer": 5}


def run_one(n: int, kind: str) -> dict:
    people = synthetic_people(n)
    config = Config()
    if kind == "peer":
        config.circles = dataclasses.replace(config.circles, peer_roles=["mentor", "mentee", "both"])
    start = time.perf_counter()
    cpu_start = time.process_time()

    def progress(step: str, done: int, total: int) -> None:
        print(f"{time.perf_counter() - start:7.1f} s  {step} {done}", file=sys.stderr, flush=True)

    result = match_circles(people, config, size=SIZES[kind], kind=kind, progress=progress)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    settings = result.settings
    return {"n": n, "kind": kind, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "circles": len(result.circles),
            "placed": settings["places"], "places_bound": settings["places_bound"], "status": result.status,
            "gap_percent": settings["gap_percent"],
            "rounds": settings["pricing_rounds"], "converged": settings["converged"], "columns": settings["columns"],
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--kinds", nargs="+", default=["mentor-led", "peer"], choices=list(SIZES))
    parser.add_argument("--one", nargs=2, metavar=("N", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(int(args.one[0]), args.one[1])))
        return
    print("| signups | kind | time (s) | CPU (s) | circles | placed (bound) | gap | pricing rounds | columns | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        for kind in args.kinds:
            out = subprocess.run([sys.executable, __file__, "--one", str(n), kind], capture_output=True, text=True,
                                 check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {row['n']:,} | {row['kind']} | {row['seconds']} | {row['cpu_seconds']} | {row['circles']} | "
                  f"{row['placed']:,} ({row['places_bound']:,}) | {row['status']} | "
                  f"{row['rounds']}{' (converged)' if row['converged'] else ' (settled)'} | "
                  f"{row['columns']} | {row['peak_mb']} |", flush=True)


if __name__ == "__main__":
    main()
