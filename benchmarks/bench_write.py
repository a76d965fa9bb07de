"""Benchmark: writing (and reading back) the pairing workbook alone, at 10k and 100k signups.

The inputs are built once and pickled to ``--cache`` (default /tmp/mentorcli-bench-write), so
that the write can be timed again and again in seconds:

- 10k: the generated signups of ``bench_e2e.py`` read with ``read_signups`` and matched with
  ``match_people`` (the real pipeline; a few seconds the first time).
- 100k: the generated signups read with ``read_signups``, and a synthetic ``MatchResult`` with
  the columns ``match_people`` returns (so the write can be timed without a minute of matching): each mentee place
  gets a mentor place at random (mentor capacities respected, no self pairs), criterion values
  and "why" texts drawn like the 10k result's (a why names the mentee's goals, so nearly every
  text is different, as in a real run), the mentees left over in Unmatched with a reason.

Each size prints the workbook's non-empty cell count, the write time (best and median of
``--repeat`` runs), microseconds per cell, the least CPU time of a write (steadier
than wall time on a busy machine), the time of ``read_pairing_workbook`` on the file
written, and the SHA-256 of the workbook (it must not change when only speed changes).
``--profile`` prints the top of a cProfile of one write and one read instead.

Run: ``python3 benchmarks/bench_write.py [--sizes 10000 100000] [--repeat 3] [--cache DIR]``
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pickle
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from mentorcli.config import CRITERIA, Config
from mentorcli.model import MatchResult, Roster
from mentorcli.workbook import read_pairing_workbook, write_pairing_workbook

REASON = ("all {allowed} allowed mentors are full ({wanting} mentees want {goal}; "
          "the {offering} mentors who offer it are full)")


def _read_roster(n: int, cache: Path, config: Config) -> Roster:
    from bench_e2e import generate_signups

    from mentorcli.signups import read_signups

    signups = cache / f"signups_{n}.xlsx"
    if not signups.exists():
        print(f"  generating {signups}", file=sys.stderr, flush=True)
        generate_signups(signups, n)
    print(f"  reading {signups}", file=sys.stderr, flush=True)
    return read_signups([signups], config)


def matched_inputs(n: int, cache: Path, config: Config) -> tuple[Roster, MatchResult]:
    """The real pipeline: generated signups, read and matched."""
    from mentorcli.match import match_people

    roster = _read_roster(n, cache, config)
    print(f"  matching {n:,} signups", file=sys.stderr, flush=True)
    return roster, match_people(roster.people, config)


def synthetic_inputs(n: int, cache: Path, config: Config, model: MatchResult, seed: int = 11) -> tuple[Roster, MatchResult]:
    """Real signups read back, a synthetic result shaped like ``model`` (a real 10k result)."""
    from mentorcli.match import pair_ids

    roster = _read_roster(n, cache, config)
    people = roster.people
    rng = np.random.default_rng(seed)
    roles = people["role"].to_numpy(dtype=object)
    mentee_people = np.flatnonzero(np.isin(roles, ("mentee", "both")))
    mentor_people = np.flatnonzero(np.isin(roles, ("mentor", "both")))
    wants = people["wants"].to_numpy()[mentee_people].clip(0)
    capacity = people["capacity"].to_numpy()[mentor_people].clip(0)
    mentee_places = np.repeat(mentee_people, wants)
    mentor_places = rng.permutation(np.repeat(mentor_people, capacity))
    # about 1% of the mentee places stay empty, as at 10k
    count = min(len(mentee_places), len(mentor_places), int(len(mentee_places) * 0.99))
    mentee, mentor = mentee_places[:count], mentor_places[:count]
    keep = mentee != mentor
    mentee, mentor = mentee[keep], mentor[keep]
    order = np.lexsort((mentor, mentee))
    mentee, mentor = mentee[order], mentor[order]
    frame = pd.DataFrame({"pair_id": pair_ids([], len(mentee)), "mentee": mentee.astype(int),
                          "mentor": mentor.astype(int)})
    pool = rng.integers(0, len(model.pairs), len(mentee))
    frame["score"] = model.pairs["score"].to_numpy()[pool]
    for name in CRITERIA:
        frame[f"c_{name}"] = model.pairs[f"c_{name}"].to_numpy()[pool]
    frame["requested"] = model.pairs["requested"].to_numpy()[pool]
    frame["kept"] = False
    goals = people["goals"].to_numpy(dtype=object)[mentee]
    tails = [why.split("; ", 1)[-1] for why in model.pairs["why"].tolist()]
    frame["why"] = [f"Shares {len(g)} of {len(g)} goal{'s' if len(g) != 1 else ''}: {', '.join(g)}; {tails[k]}"
                    for g, k in zip(goals.tolist(), pool.tolist())]
    frame = frame[list(model.pairs.columns)]

    matched = np.zeros(len(people), np.int64)
    np.add.at(matched, mentee, 1)
    short = mentee_people[matched[mentee_people] < people["wants"].to_numpy()[mentee_people]]
    topics = [g[0] if g else "Leadership" for g in people["goals"].to_numpy(dtype=object)[short].tolist()]
    reasons = [REASON.format(allowed=1300 + i % 2000, wanting=600 + i % 50, goal=t, offering=370 + i % 30)
               for i, t in enumerate(topics)]
    unmatched = pd.DataFrame({"person": short.astype(int), "role": "mentee", "reason": reasons})
    assigned = np.zeros(len(people), np.int64)
    np.add.at(assigned, mentor, 1)
    mentors = pd.DataFrame({"person": mentor_people.astype(int), "capacity": capacity.astype(int),
                            "assigned": assigned[mentor_people].astype(int)})
    scores = frame["score"]
    settings = dict(model.settings, places=len(frame), new_places=len(frame),
                    mentees=len(mentee_people), mentors=len(mentor_people))
    result = MatchResult(pairs=frame, unmatched=unmatched, mentors=mentors, objective=model.objective,
                         total_score=float(round(scores.sum(), 2)), min_score=float(scores.min()),
                         mean_score=float(round(scores.mean(), 4)), notes=list(model.notes), settings=settings)
    return roster, result


def inputs(n: int, cache: Path, config: Config, rebuild: bool) -> tuple[Roster, MatchResult]:
    pickled = cache / f"inputs_{n}.pkl"
    if pickled.exists() and not rebuild:
        with open(pickled, "rb") as fh:
            return pickle.load(fh)
    if n <= 20_000:
        value = matched_inputs(n, cache, config)
    else:
        value = synthetic_inputs(n, cache, config, inputs(10_000, cache, config, False)[1])
    with open(pickled, "wb") as fh:
        pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return value


def cell_count(path: Path) -> int:
    """Non-empty cells of the workbook written, header rows included."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    return sum(sum(1 for row in book.get_sheet_by_name(name).to_python() for v in row if v != "")
               for name in book.sheet_names)


def profile(function, *args, **kwargs) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(function, *args, **kwargs)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mentorcli-bench-write"))
    parser.add_argument("--rebuild", action="store_true", help="Build the pickled inputs again.")
    parser.add_argument("--no-read", action="store_true", help="Time the write only.")
    parser.add_argument("--profile", action="store_true", help="cProfile one write and one read.")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    config = Config()
    lines = ["| signups | cells | write best s | write median s | write CPU s | us/cell | read s | sha256 |",
             "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for n in args.sizes:
        print(f"{n:,} signups:", file=sys.stderr, flush=True)
        roster, result = inputs(n, args.cache, config, args.rebuild)
        output = args.cache / f"pairs_{n}.xlsx"
        if args.profile:
            output.unlink(missing_ok=True)
            profile(write_pairing_workbook, output, roster, result, config, force=False)
            profile(read_pairing_workbook, output, config)
            continue
        times, cpu = [], []
        for _ in range(args.repeat):
            output.unlink(missing_ok=True)  # no backup copy in the timing, no pile of .bak files
            start, start_cpu = time.perf_counter(), time.process_time()
            write_pairing_workbook(output, roster, result, config, force=False)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            print(f"  write: {times[-1]:.2f} s ({cpu[-1]:.2f} s CPU)", file=sys.stderr, flush=True)
        read = float("nan")
        if not args.no_read:
            start = time.perf_counter()
            read_pairing_workbook(output, config)
            read = time.perf_counter() - start
            print(f"  read: {read:.2f} s", file=sys.stderr, flush=True)
        cells = cell_count(output)
        digest = hashlib.sha256(output.read_bytes()).hexdigest()[:16]
        lines.append(f"| {n:,} | {cells:,} | {min(times):.2f} | {statistics.median(times):.2f} | "
                     f"{min(cpu):.2f} | {min(times) / cells * 1e6:.1f} | {read:.2f} | {digest} |")
    if not args.profile:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
