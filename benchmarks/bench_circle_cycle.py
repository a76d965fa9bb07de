"""The whole circle cycle on a generated cohort, as a coordinator runs it: time per step, and what it kept.

Run: ``python3 benchmarks/bench_circle_cycle.py [--size 2000] [--kinds mentor-led peer] [--keep DIR]``
(alone on the host: ``flock /tmp/bench.lock python3 benchmarks/bench_circle_cycle.py``).

The cohort is ``bench_match.synthetic_people`` (45% mentees, 45% mentors, 10% both) written to a
real signups CSV (``tests/circle_checks.write_signups``) beside a mentor.toml naming its headers,
with ``[circles] peer_roles`` = every role, so ``--peer-circles 5`` takes everyone. Each step is a
real ``python -m mentorcli`` process: ``match --circles 4`` (or ``--peer-circles 5``), ``schedule``
(6 months), ``introduce``, three months logged in checkins.xlsx with openpyxl (every tenth circle
never meets, one member in every seventh stops coming), ``report``, ``end`` on one circle,
``nudge``. Wall time and the process's CPU time (its own rusage: on a shared host the fairer
figure) per step. Then every check of ``tests/circle_checks.cycle_faults``: every rule between
every two members of every circle, everyone placed or on Unmatched with a reason, one introduction
per circle To exactly its members, each member's calendar holding their circle's series, the
check-in rows, the report's attendance and "stopped coming", the sponsor summary, the ended circle
left out of the nudges. Prints a markdown table for the README's Performance section and every
fault found (none: "all kept").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_match import synthetic_people

from tests.circle_checks import (
    MONTHS,
    Cycle,
    Step,
    checkin_rows,
    cycle_faults,
    run_cycle,
    schedule_faults,
    write_config,
    write_signups,
)

SIZES = {"mentor-led": 4, "peer": 5}


def one_kind(folder: Path, people_count: int, kind: str) -> tuple[Cycle, dict[str, list]]:
    folder.mkdir(parents=True, exist_ok=True)
    signups = write_signups(synthetic_people(people_count), folder / "signups.csv")
    write_config(folder)

    def progress(step: Step) -> None:
        print(f"  {kind}: {step.command} {step.wall:.1f} s wall, {step.cpu:.1f} s CPU", file=sys.stderr, flush=True)

    cycle = run_cycle(folder, signups, kind, SIZES[kind], root=ROOT, progress=progress)
    return cycle, cycle_faults(cycle)


def table(cycles: list[Cycle]) -> str:
    lines = ["| kind | circles | placed | status | " + " | ".join(f"{s.command} s (CPU)" for s in cycles[0].steps)
             + " | least bad times |",
             "|---|---:|---:|---|" + "---:|" * (len(cycles[0].steps) + 1)]
    for cycle in cycles:
        match = cycle.step("match")
        assert cycle.book is not None
        _, flagged = schedule_faults(cycle.book, checkin_rows(cycle.folder / "calendar" / "checkins.xlsx"))
        meetings = len(cycle.book.relationships()) * MONTHS
        steps = " | ".join(f"{s.wall:.1f} ({s.cpu:.1f})" for s in cycle.steps)
        lines.append(f"| {'`--circles 4`' if cycle.kind == 'mentor-led' else '`--peer-circles 5`'} | {match['circles']:,} | "
                     f"{match['placed']:,} | {match['status']} | {steps} | {flagged:,} of {meetings:,} meetings |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--kinds", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--keep", type=Path, help="write the cohort folders here (kept) instead of a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        base = args.keep or Path(temporary)
        cycles, failed = [], False
        for kind in args.kinds:
            cycle, faults = one_kind(base / kind, args.size, kind)
            cycles.append(cycle)
            for what, found in faults.items():
                if found:
                    failed = True
                    print(f"{kind}: {what}: {len(found)} fault(s), e.g. {found[:3]}")
            print(f"{kind}: {'FAULTS (above)' if failed else 'all kept'}", file=sys.stderr)
        print(f"\n{args.size:,} generated signups\n")
        print(table(cycles))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
