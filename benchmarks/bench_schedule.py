"""Benchmark: ``mentor schedule`` on 10,000 pairs x 12 months vs plain string formatting.

The target (issue 14 item 7): planning and writing everything (every participant's ``.ics``,
``cohort.ics``, ``checkins.xlsx`` and the calendar state) within 10x the cost of formatting
and writing the same bytes with plain string formatting, measured side by side in one run.

Each round runs the plain side, then mentorcli, then the plain side again, and compares
mentorcli with the mean of the two plain runs, so a host whose speed drifts slows both alike;
both write the same way: the same files, each written atomically by
``mentorcli.files.atomic_write_many`` in batches of ``WRITE_BATCH`` inside one
``all_or_nothing`` block (a temporary file each, one disk flush per batch, then published),
as ``publish_schedule`` does. The plain side formats every ``.ics`` line with an f-string
(the lines are taken apart from mentorcli's files first, untimed: the first run's from an
untimed mentorcli run, then each round's from the run before); the sheet and the state,
which are not calendar text, it writes as they are. Wall and CPU time are both printed.

Writing 15,000 small new files is most of the plain side's cost, and on some hosts that cost
alone changes several-fold from one run to the next (``bench_small_files.py`` shows it on
the host at hand): one plain run is a noisy yardstick, hence the two. With ``--rounds`` above
one, the median of each side over the rounds and their ratio close the table, then the worst
round's ratio, against the mean and against the cheaper of its two plain runs.
``--breakdown`` also times, in this process alone (no workers), where mentorcli's CPU goes:
planning, the sheet, building the components, and icalendar serialising each series once
(``Component.to_ical`` of each event, and of the series' reminder once), the floor under the
rule that icalendar builds and serialises every component. Prints markdown for the README.

    python3 benchmarks/bench_schedule.py            # 10,000 pairs x 12 months
    python3 benchmarks/bench_schedule.py --pairs 2000 --months 6 --rounds 2 --breakdown
    python3 benchmarks/bench_schedule.py --groups    # each mentor meets their two mentees together
    python3 benchmarks/bench_schedule.py --plan-only --rounds 3   # plan_checkins alone: wall, CPU, peak RSS
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mentorcli.schedule as schedule_module
from mentorcli.config import Config, config_from_dict
from mentorcli.files import all_or_nothing, atomic_write_many
from mentorcli.model import PairingBook, make_people
from mentorcli.schedule import (
    WRITE_BATCH,
    Schedule,
    Version,
    participant_calendars,
    plan_checkins,
    write_checkins_xlsx,
    write_schedule,
)

ZONES = (
    "Europe/London", "Europe/Berlin", "Europe/Madrid", "Europe/Warsaw", "America/New_York", "America/Chicago",
    "America/Los_Angeles", "America/Sao_Paulo", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
    "Africa/Lagos", "Africa/Nairobi", "America/Toronto", "Asia/Dubai", "Pacific/Auckland", "UTC+05:30", "",
)
START = dt.date(2026, 3, 2)
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


def run_mentorcli(book: PairingBook, config: Config, months: int, folder: Path) -> tuple[Schedule, list[Path], dict[str, tuple[float, float]]]:
    """``plan_checkins`` then ``write_schedule`` into a new ``folder``: (wall, CPU) of each."""
    gc.collect()
    wall, cpu = time.perf_counter(), cpu_seconds()
    schedule = plan_checkins(book, config, start=START, months=months)
    planned = (time.perf_counter() - wall, cpu_seconds() - cpu)
    wall, cpu = time.perf_counter(), cpu_seconds()
    files = write_schedule(schedule, book, config, folder, force=False)
    written = (time.perf_counter() - wall, cpu_seconds() - cpu)
    return schedule, files, {"plan": planned, "write": written}


PlainLines = list[tuple[str, list[str] | None, bytes]]
"""Each file mentorcli wrote: its name, its content lines (``.ics``) or None, and its bytes."""


def plain_lines(files: list[Path]) -> PlainLines:
    """Untimed: the content lines of every ``.ics`` file mentorcli wrote taken apart, the other
    files read, for ``plain_formatting`` to put together again."""
    contents = [(path.name, path.read_bytes()) for path in files]
    return [(name, data.decode("utf-8").split("\r\n") if name.endswith(".ics") else None, data) for name, data in contents]


def plain_formatting(lines: PlainLines, folder: Path) -> tuple[float, float, int]:
    """Seconds (wall, CPU) to format and write the same bytes with plain string formatting.

    Timed: each ``.ics`` line formatted with an f-string and each file joined and encoded,
    then every file written into ``folder`` as ``publish_schedule`` writes (see the module
    docstring). Returns wall, CPU and the bytes written.
    """
    gc.collect()   # untimed: what the run before left for the collector is not this side's cost
    began, cpu = time.perf_counter(), time.process_time()
    items = [(folder / name, "".join([f"{line}\r\n" for line in text[:-1]]).encode("utf-8") if text is not None else data)
             for name, text, data in lines]
    with all_or_nothing():
        for i in range(0, len(items), WRITE_BATCH):
            atomic_write_many(items[i:i + WRITE_BATCH], force=False)
    return time.perf_counter() - began, time.process_time() - cpu, sum(len(data) for _, data in items)


def breakdown(schedule: Schedule, config: Config, book: PairingBook, months: int) -> dict[str, float]:
    """CPU seconds, in this process alone (no workers), of the parts: planning, the sheet, building
    every series once (icalendar components), icalendar serialising each series once, all the
    participant calendars end to end (building, serialising, splicing)."""
    limit = schedule_module.PARALLEL_FROM
    schedule_module.PARALLEL_FROM = 10**9
    try:
        cpu = time.process_time()
        plan_checkins(book, config, start=START, months=months)
        planning = time.process_time() - cpu
    finally:
        schedule_module.PARALLEL_FROM = limit
    with tempfile.TemporaryDirectory(dir=args_folder()) as folder:
        cpu = time.process_time()
        write_checkins_xlsx(Path(folder) / "checkins.xlsx", schedule, force=False)
        sheet = time.process_time() - cpu
    builder = schedule_module._builder_for(schedule, config)
    fresh = Version(0, schedule.generated)
    series = list(schedule_module._series_rows(schedule).values())
    cpu = time.process_time()
    built = [schedule_module._series_events(builder, rows, config, fresh, reminders=False) for rows in series]
    building = time.process_time() - cpu
    cpu = time.process_time()   # each event once, its series' reminder once (as the calendars are made)
    size = sum(len(schedule_module.serialise(events, reminder).data) for events, reminder in built)
    serialising = time.process_time() - cpu
    cpu = time.process_time()
    spliced = sum(len(data) for _, data in participant_calendars(schedule, config, workers=1))
    whole = time.process_time() - cpu
    return {"plan": planning, "sheet": sheet, "build": building, "to_ical": serialising, "to_ical_bytes": size,
            "calendars": whole, "calendar_bytes": spliced}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=1, help="mentorcli then plain, this many times")
    parser.add_argument("--serial", action="store_true", help="build every calendar in this process (no workers)")
    parser.add_argument("--groups", action="store_true", help="a mentor's two mentees are one relationship of three")
    parser.add_argument("--breakdown", action="store_true", help="also time the calendars' parts in this process")
    parser.add_argument("--plan-only", action="store_true", help="time plan_checkins alone (no files written)")
    args = parser.parse_args()
    if args.serial:
        schedule_module.PARALLEL_FROM = args.pairs + 1
    config = config_from_dict({
        "schedule": {"holidays": ["GB", "US"], "blackout": ["2026-12-24", "2026-12-31"]},
        "events": [{"name": "Kick-off", "date": "2026-03-03", "time": "17:00", "timezone": "Europe/London"}],
    })
    book = synthetic_book(args.pairs, groups=args.groups)
    unit = f"{args.pairs:,} Pairs rows in {len(book.relationships()):,} relationships" if args.groups else f"{args.pairs:,} pairs"
    if args.plan_only:
        plan_only(book, config, args.months, args.rounds, unit)
        return
    print(f"| {unit} x {args.months} months | wall s | CPU s |")
    print("|---|---:|---:|")
    totals, plains, cheaper = [], [], []
    with tempfile.TemporaryDirectory(dir=args_folder()) as folder:   # untimed: the first plain side's lines
        lines = plain_lines(run_mentorcli(book, config, args.months, Path(folder) / "calendar")[1])
    for round_ in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(dir=args_folder()) as folder:
            before = plain_formatting(lines, Path(folder) / "plain-before")
            schedule, files, cost = run_mentorcli(book, config, args.months, Path(folder) / "calendar")
            size = sum(p.stat().st_size for p in files)
            lines = plain_lines(files)
            after = plain_formatting(lines, Path(folder) / "plain-after")
            assert before[2] == after[2] == size, (before[2], after[2], size)
        total = tuple(cost["plan"][i] + cost["write"][i] for i in range(2))
        plain = tuple((before[i] + after[i]) / 2 for i in range(2))
        tag = f"round {round_}: " if args.rounds > 1 else ""
        print(f"| {tag}plan_checkins | {cost['plan'][0]:.1f} | {cost['plan'][1]:.1f} |")
        print(f"| {tag}write_schedule ({len(files):,} files) | {cost['write'][0]:.1f} | {cost['write'][1]:.1f} |")
        print(f"| {tag}mentorcli total | {total[0]:.1f} | {total[1]:.1f} |")
        print(f"| {tag}plain string formatting, same {size:,} bytes, same writes: before / after mentorcli | "
              f"{before[0]:.2f} / {after[0]:.2f} | {before[1]:.2f} / {after[1]:.2f} |")
        print(f"| {tag}ratio to the plain side's mean (issue 14 target <= 10) | {total[0] / plain[0]:.1f} | {total[1] / plain[1]:.1f} |")
        totals.append(total)
        plains.append(plain)
        cheaper.append(tuple(min(before[i], after[i]) for i in range(2)))
    if args.rounds > 1:   # a shared host's speed changes by the minute: the middle round of each side
        middle = [statistics.median(t[i] for t in totals) for i in range(2)]
        plain_middle = [statistics.median(p[i] for p in plains) for i in range(2)]
        print(f"| median of {args.rounds} rounds: mentorcli / plain | {middle[0]:.1f} / {plain_middle[0]:.2f} | "
              f"{middle[1]:.1f} / {plain_middle[1]:.2f} |")
        print(f"| median ratio (issue 14 target <= 10) | {middle[0] / plain_middle[0]:.1f} | {middle[1] / plain_middle[1]:.1f} |")
        print(f"| worst round's ratio | {max(t[0] / p[0] for t, p in zip(totals, plains)):.1f} | "
              f"{max(t[1] / p[1] for t, p in zip(totals, plains)):.1f} |")
        print(f"| worst round's ratio to its cheaper plain run | {max(t[0] / p[0] for t, p in zip(totals, cheaper)):.1f} | "
              f"{max(t[1] / p[1] for t, p in zip(totals, cheaper)):.1f} |")
    print(f"\ncheck-ins: {len(schedule.checkins):,}, flagged: {int(schedule.checkins['flag'].astype(bool).sum()):,}, "
          f"problems: {len(schedule.problems)}; load average at the end: {os.getloadavg()[0]:.1f}")
    if args.breakdown:
        parts = breakdown(schedule, config, book, args.months)
        print(f"\nIn this process alone (CPU s): planning {parts['plan']:.1f}; the sheet {parts['sheet']:.1f}; "
              f"building every series once {parts['build']:.1f}; icalendar serialising "
              f"each series once (Component.to_ical, {parts['to_ical_bytes']:,} bytes) {parts['to_ical']:.1f}; "
              f"all participant calendars end to end {parts['calendars']:.1f} ({parts['calendar_bytes']:,} bytes).")


def plan_only(book: PairingBook, config: Config, months: int, rounds: int, unit: str) -> None:
    """``plan_checkins`` alone, ``rounds`` times: wall and CPU (with the planning workers'), and the
    peak RSS of this process and of the largest worker."""
    print(f"| {unit} x {months} months, plan_checkins | wall s | CPU s |")
    print("|---|---:|---:|")
    for round_ in range(1, rounds + 1):
        wall, cpu = time.perf_counter(), cpu_seconds()
        schedule = plan_checkins(book, config, start=START, months=months)
        print(f"| round {round_} | {time.perf_counter() - wall:.2f} | {cpu_seconds() - cpu:.2f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    print(f"\ncheck-ins: {len(schedule.checkins):,}; peak RSS {peak} MB here, {worker} MB in the largest worker; "
          f"load average at the end: {os.getloadavg()[0]:.1f}")


def args_folder() -> str | None:
    """Where the files go: ``$BENCH_TMPDIR`` when set (a disk, not a RAM disk, is what users have)."""
    return os.environ.get("BENCH_TMPDIR") or None


if __name__ == "__main__":
    main()
