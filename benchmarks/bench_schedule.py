"""Benchmark: ``mentor schedule`` on 10,000 pairs x 12 months vs plain string formatting.

The target (issue 14 item 7): planning and writing everything (every participant's ``.ics``,
``cohort.ics`` and ``checkins.xlsx``) within 10x the cost of formatting and writing the same
``.ics`` bytes with plain string formatting, measured side by side in one run. Prints a
markdown table.

    python3 benchmarks/bench_schedule.py            # 10,000 pairs x 12 months
    python3 benchmarks/bench_schedule.py --pairs 2000 --months 6
    python3 benchmarks/bench_schedule.py --groups    # each mentor meets their two mentees together
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mentorcli.schedule as schedule_module
from mentorcli.config import config_from_dict
from mentorcli.model import PairingBook, make_people
from mentorcli.schedule import plan_checkins, write_schedule

ZONES = (
    "Europe/London", "Europe/Berlin", "Europe/Madrid", "Europe/Warsaw", "America/New_York", "America/Chicago",
    "America/Los_Angeles", "America/Sao_Paulo", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
    "Africa/Lagos", "Africa/Nairobi", "America/Toronto", "Asia/Dubai", "Pacific/Auckland", "UTC+05:30", "",
)
ANSWERS = ("Weekday evenings", "Weekday lunchtimes", "Weekday mornings", "Weekday afternoons", "Weekends", "Anytime")


def synthetic_book(pairs: int, seed: int = 7, groups: bool = False) -> PairingBook:
    """A cohort of ``pairs`` pairs: mentors with two mentees each, zones and answers drawn at random.

    With ``groups`` a mentor's two Pairs rows share one pair id: one relationship of three people.
    """
    rng = np.random.default_rng(seed)
    mentors = (pairs + 1) // 2
    zone_weights = np.linspace(3, 1, len(ZONES))
    zone_weights /= zone_weights.sum()

    def person(role: str, i: int) -> dict:
        answers = tuple(sorted(set(rng.choice(ANSWERS, size=rng.integers(1, 3)).tolist())))
        return {"name": f"{role.title()} {i}", "email": f"{role}{i}@example.org", "role": role,
                "timezone": str(rng.choice(ZONES, p=zone_weights)), "availability": answers}

    people = make_people([person("mentor", i) for i in range(mentors)] + [person("mentee", i) for i in range(pairs)])
    frame = pd.DataFrame({
        "pair_id": [f"P{i // 2 + 1:05d}" if groups else f"P{i + 1:05d}" for i in range(pairs)],
        "mentee_email": [f"mentee{i}@example.org" for i in range(pairs)],
        "mentor_email": [f"mentor{i // 2}@example.org" for i in range(pairs)],
        "mentee": [f"Mentee {i}" for i in range(pairs)],
        "mentor": [f"Mentor {i // 2}" for i in range(pairs)],
        "score": 50.0, "why": "", "row": np.arange(2, pairs + 2),
    })
    return PairingBook(path=Path("synthetic.xlsx"), pairs=frame, people=people)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the calendar workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def plain_formatting(files: list[Path], folder: Path) -> tuple[float, float, int]:
    """Seconds to format and write the same bytes with plain string formatting (the floor).

    The content lines of every file mentor schedule wrote are taken apart first (not timed);
    the timed part formats each line with an f-string, joins each file and writes it (one
    file each, flushed to disk once, as ``atomic_write_many`` does). Returns wall, CPU, bytes.
    """
    contents = [(path.name, path.read_bytes().decode("utf-8").split("\r\n")) for path in files if path.suffix == ".ics"]
    folder.mkdir()
    began, cpu = time.perf_counter(), time.process_time()
    size = 0
    for name, lines in contents:
        data = "".join([f"{line}\r\n" for line in lines[:-1]]).encode("utf-8")
        with open(folder / name, "wb") as fh:
            fh.write(data)
        size += len(data)
    os.sync()
    return time.perf_counter() - began, time.process_time() - cpu, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--serial", action="store_true", help="build every calendar in this process (no workers)")
    parser.add_argument("--groups", action="store_true", help="a mentor's two mentees are one relationship of three")
    args = parser.parse_args()
    if args.serial:
        schedule_module.PARALLEL_FROM = args.pairs + 1
    config = config_from_dict({
        "schedule": {"holidays": ["GB", "US"], "blackout": ["2026-12-24", "2026-12-31"]},
        "events": [{"name": "Kick-off", "date": "2026-03-03", "time": "17:00", "timezone": "Europe/London"}],
    })
    book = synthetic_book(args.pairs, groups=args.groups)
    wall, cpu = time.perf_counter(), time.process_time()
    schedule = plan_checkins(book, config, start=dt.date(2026, 3, 2), months=args.months)
    planned = (time.perf_counter() - wall, time.process_time() - cpu)
    with tempfile.TemporaryDirectory() as folder:
        wall, cpu = time.perf_counter(), cpu_seconds()
        files = write_schedule(schedule, book, config, Path(folder) / "calendar", force=False)
        written = (time.perf_counter() - wall, cpu_seconds() - cpu)
        ics_bytes = sum(p.stat().st_size for p in files if p.suffix == ".ics")
        *baseline, same = plain_formatting(files, Path(folder) / "plain")
    assert same == ics_bytes, (same, ics_bytes)
    total = (planned[0] + written[0], planned[1] + written[1])
    unit = f"{args.pairs:,} Pairs rows in {len(book.relationships()):,} relationships" if args.groups else f"{args.pairs:,} pairs"
    print(f"| {unit} x {args.months} months | wall s | CPU s |")
    print("|---|---:|---:|")
    print(f"| plan_checkins | {planned[0]:.1f} | {planned[1]:.1f} |")
    print(f"| write_schedule ({len(files):,} files) | {written[0]:.1f} | {written[1]:.1f} |")
    print(f"| mentorcli total | {total[0]:.1f} | {total[1]:.1f} |")
    print(f"| plain string formatting, same {same:,} .ics bytes | {baseline[0]:.2f} | {baseline[1]:.2f} |")
    print(f"| ratio (issue 14 target <= 10) | {total[0] / baseline[0]:.1f} | {total[1] / baseline[1]:.1f} |")
    print(f"\ncheck-ins: {len(schedule.checkins):,}, flagged: {schedule.flagged:,}, problems: {len(schedule.problems)}")
    print("CPU time (including the calendar workers') is the fairer figure on a shared machine; wall time includes"
          " the disk flush and, with workers, the use of both cores.")


if __name__ == "__main__":
    main()
