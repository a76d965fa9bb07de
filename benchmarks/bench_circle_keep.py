"""``--circles 4 --keep``: circles of 2,000 signups kept while 5% more sign up late.

Run: ``python3 benchmarks/bench_circle_keep.py [--size 2000] [--late 100]``. The cohort is
``bench_match.synthetic_people``; the first ``size - late`` signups form circles of a mentor and up
to 4 mentees (``match_circles``), then all ``size`` are matched keeping those circles. Prints the
time of each (wall and the process's own CPU time: the solver is single-threaded), the circles
kept and joined, the places and the status. Each run in one process, one after the other.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_match import synthetic_people

from mentorcli.config import Config
from mentorcli.match import match_circles
from mentorcli.matching.keep_circles import KeptCircle


def timed(call):  # type: ignore[no-untyped-def]
    start, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, round(time.perf_counter() - start, 1), round(time.process_time() - cpu, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--late", type=int, default=100)
    args = parser.parse_args()
    people = synthetic_people(args.size)
    config = Config()
    first, first_s, first_cpu = timed(lambda: match_circles(people.iloc[:args.size - args.late], config, size=4,
                                                            kind="mentor-led"))
    kept = [KeptCircle(c.id, c.members[0].email, 2 + 10 * k, "mentor",
                       tuple((m.email, 3 + 10 * k + j) for j, m in enumerate(c.members[1:])))
            for k, c in enumerate(first.circles)]
    again, keep_s, keep_cpu = timed(lambda: match_circles(people, config, size=4, kind="mentor-led", keep=kept,
                                                          keep_file="circles.xlsx"))
    before = {c.id: len(c.members) for c in first.circles}
    joined = sum(len(c.members) - before[c.id] for c in again.circles if c.id in before)
    print(json.dumps({
        "first": {"signups": args.size - args.late, "seconds": first_s, "cpu_seconds": first_cpu,
                  "circles": len(first.circles), "placed": first.settings["places"], "status": first.status},
        "keep": {"signups": args.size, "seconds": keep_s, "cpu_seconds": keep_cpu, "kept": again.settings["kept_circles"],
                 "joined_kept": joined, "new_circles": len(again.circles) - len(kept), "placed": again.settings["places"],
                 "status": again.status, "problems": len(again.problems)},
    }, indent=1))


if __name__ == "__main__":
    main()
