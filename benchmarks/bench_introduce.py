"""Benchmark: `introduce` for 5,000 pairs (10,000 people, 6 check-ins each) within a minute.

Run from the repo root:  python3 benchmarks/bench_introduce.py [--pairs 5000] [--limit 60]
Prints a markdown table of the time per stage and exits 1 when the total exceeds the limit.
The invitations are made by the real ``schedule.pair_invite`` (timed as their own stage);
where the schedule stage is not installed the run says so and goes without them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mentorcli.bulk import worker_count
from mentorcli.config import Config
from mentorcli.mail import MAX_WORKERS, PARALLEL_FROM, build_introductions, render_introductions, write_outbox
from mentorcli.model import PairingBook, make_people

ZONES = ("Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "Australia/Sydney", "UTC+05:30")
GOALS = ("SQL", "Leadership", "Career change", "Public speaking", "Machine learning", "Negotiation")


def synthetic_book(pairs: int) -> PairingBook:
    """``pairs`` mentee-mentor pairs with every field an introduction shows filled in."""
    rng = np.random.default_rng(7)
    records = []
    for i in range(pairs):
        zone = ZONES[i % len(ZONES)]
        records.append({"name": f"Mentee {i:05d}", "email": f"mentee{i}@example.org", "role": "mentee",
                        "goals": tuple(rng.choice(GOALS, 2, replace=False)), "timezone": zone,
                        "format": ("Video",), "languages": ("English",), "timestamp": "2026-08-20T09:00:00Z"})
        records.append({"name": f"Mentor {i:05d}", "email": f"mentor{i}@example.org", "role": "mentor",
                        "expertise": tuple(rng.choice(GOALS, 3, replace=False)), "timezone": ZONES[(i + 2) % len(ZONES)],
                        "format": ("Video", "Phone"), "languages": ("English",), "industry": "Software",
                        "timestamp": "2026-08-21T09:00:00Z"})
    people = make_people(records)
    ids = [f"P{i + 1:05d}" for i in range(pairs)]
    table = pd.DataFrame({
        "pair_id": ids,
        "mentee_email": [f"mentee{i}@example.org" for i in range(pairs)],
        "mentor_email": [f"mentor{i}@example.org" for i in range(pairs)],
        "mentee": [f"Mentee {i:05d}" for i in range(pairs)],
        "mentor": [f"Mentor {i:05d}" for i in range(pairs)],
        "score": rng.uniform(40, 95, pairs).round(2),
        "why": ["Shares SQL and Leadership; both prefer video."] * pairs,
        "row": np.arange(2, pairs + 2),
    })
    return PairingBook(path=Path("pairs.xlsx"), pairs=table, people=people)


def synthetic_checkins(book: PairingBook, months: int) -> pd.DataFrame:
    """Monthly check-ins per pair in the shape ``schedule.read_checkins`` returns (times vectorised)."""
    pairs = book.pairs
    n = len(pairs)
    first = pd.Timestamp("2026-10-06T17:00:00Z") + pd.to_timedelta(np.arange(n) % 48 * 30, unit="min")
    frames = []
    for month in range(months):
        start = first + pd.DateOffset(months=month)
        frames.append(pd.DataFrame({
            "pair_id": pairs["pair_id"], "checkin": month + 1,
            "mentee_email": pairs["mentee_email"], "mentor_email": pairs["mentor_email"],
            "mentee": pairs["mentee"], "mentor": pairs["mentor"],
            "start_utc": start, "end_utc": start + pd.Timedelta(minutes=30),
        }))
    return pd.concat(frames, ignore_index=True)


def real_invite():
    try:
        from mentorcli.schedule import pair_invite
    except ImportError:
        return None
    return pair_invite


class Stages:
    """Wall-clock and CPU seconds per stage: CPU time shows the cost when other jobs share the cores."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []
        self._wall = self._cpu = 0.0

    def start(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def stop(self, name: str, minus: tuple[float, float] = (0.0, 0.0)) -> None:
        self.rows.append((name, time.perf_counter() - self._wall - minus[0], time.process_time() - self._cpu - minus[1]))

    def add(self, name: str, wall: float, cpu: float) -> None:
        self.rows.append((name, wall, cpu))

    def table(self) -> str:
        lines = ["| stage | wall s | CPU s |", "|---|---:|---:|"]
        lines += [f"| {name} | {wall:.2f} | {cpu:.2f} |" for name, wall, cpu in self.rows]
        lines.append(f"| **total** | **{self.total:.2f}** | **{sum(r[2] for r in self.rows):.2f}** |")
        return "\n".join(lines)

    @property
    def total(self) -> float:
        return sum(r[1] for r in self.rows)


def stage_costs(book: PairingBook, checkins: pd.DataFrame | None, pair_invite, sample: int) -> str:
    """Per-email cost of each stage, measured in one process on the first ``sample`` pairs."""
    part = PairingBook(path=book.path, pairs=book.pairs.iloc[:sample], people=book.people)
    rows = None if checkins is None else checkins[checkins["pair_id"].isin(set(part.pairs["pair_id"]))]
    spent = [0.0, 0.0]

    def timed_invite(rows_, book_, config_, pair_id):
        wall, cpu = time.perf_counter(), time.process_time()
        data = pair_invite(rows_, book_, config_, pair_id)
        spent[0] += time.perf_counter() - wall
        spent[1] += time.process_time() - cpu
        return data

    stages = Stages()
    with tempfile.TemporaryDirectory() as folder:
        config = Config(path=Path(folder) / "mentor.toml")
        stages.start()
        intros = build_introductions(part, rows, config, invite=timed_invite if pair_invite else None)
        stages.stop("render (Jinja2, css-inline, email package)", minus=(spent[0], spent[1]))
        stages.add("invitation (schedule.pair_invite)", spent[0], spent[1])
        stages.start()
        write_outbox(intros.messages, Path(folder) / "outbox", force=False)
        stages.stop("serialise + write .eml")
    per = 1000 / max(sample, 1)
    lines = [f"| stage (one process, {sample} pairs) | wall ms/email | CPU ms/email |", "|---|---:|---:|"]
    lines += [f"| {name} | {wall * per:.2f} | {cpu * per:.2f} |" for name, wall, cpu in stages.rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: as introduce chooses)")
    parser.add_argument("--sample", type=int, default=300, help="pairs for the per-stage breakdown (0: skip)")
    args = parser.parse_args()

    stages = Stages()
    stages.start()
    book = synthetic_book(args.pairs)
    stages.stop(f"build workbook data ({args.pairs} pairs)")
    stages.start()
    pair_invite = real_invite()
    checkins = synthetic_checkins(book, args.months) if pair_invite else None
    stages.stop(f"build check-ins ({0 if checkins is None else len(checkins)} rows)")

    workers = worker_count(args.workers, len(book.pairs), parallel_from=PARALLEL_FROM, most=MAX_WORKERS)
    with tempfile.TemporaryDirectory() as folder:
        config = Config(path=Path(folder) / "mentor.toml")
        stages.start()
        intros = render_introductions(book, checkins, config, workers=workers)
        label = "with invitations" if pair_invite else "schedule stage absent: no invitations"
        stages.stop(f"render {len(intros.messages)} emails, {workers} process(es), {label}")
        stages.start()
        written = write_outbox(intros.messages, Path(folder) / "outbox", force=False)
        stages.stop(f"write outbox ({len(written)} .eml files, one disk flush)")
        size = sum(p.stat().st_size for p in written)

    total = stages.total
    print(stages.table())
    print(f"\n{len(written)} emails, {size / 1e6:.1f} MB, {total / max(len(written), 1) * 1000:.1f} ms per email"
          f" (wall); limit {args.limit:g} s: {'OK' if total <= args.limit else 'TOO SLOW'}")
    print("(CPU s counts this process only; worker processes' CPU is in the wall time.)\n")
    if args.sample:
        print(stage_costs(book, checkins, pair_invite, min(args.sample, args.pairs)))
    return 0 if total <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
