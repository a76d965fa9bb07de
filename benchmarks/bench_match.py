"""Score and solve stages of ``mentor match`` at 1k, 10k and 100k signups: time and peak memory.

Run: ``python3 benchmarks/bench_match.py [--sizes 1000 10000 100000] [--orlib]``. Prints a markdown
table (paste it into the README). Peak memory is the process's peak resident set size after each
stage (``ru_maxrss``), so it includes everything before it; the stages run in one process in
order of size, each size in a fresh subprocess so that peaks do not carry over.

The cohort is synthetic but shaped like a real form export: 45% mentees, 45% mentors, 10% both;
goals/expertise from 30 topics, 12 industries, 8 organisations x 6 departments, 20 time zones,
5 languages (most people English), availability from the default answers, some requests,
ranked choices and avoid lists, 15% of mentees wanting 2 mentors, mentor capacity 1-3.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mentorcli import match
from mentorcli.config import Config
from mentorcli.matching.scale import solve_cohort, top_candidates
from mentorcli.model import PEOPLE_COLUMNS
from mentorcli.solve import solve_assignment

TOPICS = [f"Topic {k}" for k in range(30)]
INDUSTRIES = ["Finance", "Retail", "Health", "Education", "Energy", "Media", "Tech", "Public sector",
              "Logistics", "Legal", "Manufacturing", "Nonprofit"]
ZONES = ["Europe/London", "Europe/Paris", "Europe/Madrid", "Europe/Berlin", "America/New_York",
         "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo", "Asia/Kolkata",
         "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney", "Africa/Lagos", "Africa/Nairobi",
         "Asia/Dubai", "Europe/Warsaw", "America/Toronto", "Pacific/Auckland", "UTC"]
LANGUAGES = ["English", "Spanish", "French", "German", "Portuguese"]
AVAILABILITY = ["Weekday mornings", "Weekday lunchtimes", "Weekday afternoons", "Weekday evenings", "Weekends"]
FORMATS = ["Video", "Phone", "In person", "Chat"]
INTERESTS = [f"Interest {k}" for k in range(25)]


def _pick(rng: np.random.Generator, options: list[str], n: int, low: int, high: int) -> list[tuple[str, ...]]:
    counts = rng.integers(low, high + 1, size=n)
    return [tuple(options[k] for k in sorted(rng.choice(len(options), size=c, replace=False))) for c in counts]


def synthetic_people(n: int, seed: int = 7) -> pd.DataFrame:
    """A People frame of ``n`` synthetic signups (see the module docstring)."""
    rng = np.random.default_rng(seed)
    role = rng.choice(["mentee", "mentor", "both"], size=n, p=[0.45, 0.45, 0.10])
    names = [f"Person {i:06d} Example" for i in range(n)]
    emails = [f"p{i:06d}@example.org" for i in range(n)]
    lang = [("English",) + extra if rng.random() < 0.85 else extra or ("Spanish",)
            for extra in _pick(rng, LANGUAGES[1:], n, 0, 1)]
    wants = np.where(role == "mentor", 0, np.where(rng.random(n) < 0.15, 2, 1))
    capacity = np.where(role == "mentee", 0, rng.integers(1, 4, size=n))
    requests = [""] * n
    avoid = [""] * n
    choices: list[tuple[str, ...]] = [()] * n
    for i in rng.choice(n, size=max(1, n // 100), replace=False):
        requests[i] = f"I would love to work with {names[rng.integers(n)]}"
    for i in rng.choice(n, size=max(1, n // 200), replace=False):
        avoid[i] = f"Please not {emails[rng.integers(n)]}"
    for i in rng.choice(n, size=max(1, n // 100), replace=False):
        choices[i] = tuple(names[k] for k in rng.choice(n, size=3, replace=False))
    experience = np.round(rng.gamma(2.0, 4.0, size=n) * 2) / 2
    frame = pd.DataFrame({
        "name": names, "email": emails, "role": role,
        "goals": _pick(rng, TOPICS, n, 1, 3),
        "expertise": _pick(rng, TOPICS, n, 2, 5),
        "topics": [()] * n,
        "industry": rng.choice(INDUSTRIES + [""], size=n),
        "organisation": rng.choice([f"Org {k}" for k in range(8)] + [""], size=n),
        "department": rng.choice([f"Dept {k}" for k in range(6)] + [""], size=n),
        "experience": np.where(rng.random(n) < 0.1, np.nan, experience),
        "timezone": rng.choice(ZONES + [""], size=n),
        "languages": lang,
        "availability": _pick(rng, AVAILABILITY, n, 0, 2),
        "format": _pick(rng, FORMATS, n, 0, 2),
        "location": [""] * n,
        "interests": _pick(rng, INTERESTS, n, 0, 4),
        "capacity": capacity.astype(int), "wants": wants.astype(int),
        "request": requests, "avoid": avoid, "choices": choices,
        "timestamp": [""] * n, "facilitate": [""] * n, "source_file": ["synthetic.csv"] * n, "source_sheet": [""] * n,
        "source_row": np.arange(2, n + 2),
    })
    for column in ("goals", "expertise", "topics", "languages", "availability", "format", "interests", "choices"):
        frame[column] = frame[column].astype(object)
    return frame[list(PEOPLE_COLUMNS)]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n: int) -> dict:
    """Time and peak memory of each stage for one cohort size (run in its own process)."""
    config = Config()
    people = synthetic_people(n)
    out: dict = {"n": n}
    t = time.perf_counter()
    cohort = match.prepare_cohort(people, config)
    out["prepare_s"] = time.perf_counter() - t
    rows, cols = cohort.shape
    dense = rows * cols <= config.match.dense_limit
    t = time.perf_counter()
    cand = top_candidates(cohort, config.match.candidates, dense=dense)
    out["score_s"] = time.perf_counter() - t
    out["score_mb"] = peak_mb()
    wants, capacity = cohort.mentees.limit.copy(), cohort.mentors.limit.copy()
    t = time.perf_counter()
    solution = solve_cohort(cohort, cand, wants, capacity, "places")
    out["solve_s"] = time.perf_counter() - t
    out["solve_mb"] = peak_mb()
    t = time.perf_counter()
    result = match._result(cohort, solution, [], "places", None)
    out["explain_s"] = time.perf_counter() - t
    out["explain_mb"] = peak_mb()
    out.update(mentees=rows, mentors=cols, method=solution.method, pairs=len(result.pairs),
               unmatched=len(result.unmatched), rounds=solution.rounds, proven=solution.certified,
               cells=rows * cols)
    return out


def orlib(external: Path) -> list[dict]:
    """OR-Library assign100..800 through ``solve_assignment``: time and whether the optimum is reached."""
    optima = pd.read_csv(external / "orlib-assign" / "optimal_values.csv")
    out = []
    for row in optima.itertuples(index=False):
        name, optimum = str(row.instance), int(row.optimal_min_cost)
        numbers = np.array((external / "orlib-assign" / f"{name}.txt").read_text().split(), dtype=np.int64)
        n = int(numbers[0])
        cost = numbers[1:1 + n * n].reshape(n, n)
        t = time.perf_counter()
        result = solve_assignment(cost.max() - cost)
        seconds = time.perf_counter() - t
        out.append({"instance": name, "n": n, "cost": int(n * cost.max() - result.total), "optimum": optimum,
                    "seconds": seconds, "proven": result.certified})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--orlib", action="store_true", help="also solve OR-Library assign100..800")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    rows = []
    for n in args.sizes:
        done = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=False)
        if done.returncode:
            sys.stderr.write(done.stderr)
            raise SystemExit(done.returncode)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print("| signups | mentees x mentors | method | score s | solve s | explain s | peak MB | pairs | unmatched | pricing rounds | optimal (proven) |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['n']:,} | {r['mentees']:,} x {r['mentors']:,} | {r['method']} | {r['prepare_s'] + r['score_s']:.1f} "
              f"| {r['solve_s']:.1f} | {r['explain_s']:.1f} | {r['explain_mb']:,.0f} | {r['pairs']:,} | {r['unmatched']:,} "
              f"| {r['rounds']} | {'yes' if r['proven'] else 'no'} |")
    if args.orlib:
        external = ROOT.parent / "shared" / "external"
        print()
        print("| OR-Library | n | cost found | known optimum | seconds | proven |")
        print("|---|---:|---:|---:|---:|---|")
        for r in orlib(external):
            print(f"| {r['instance']} | {r['n']} | {r['cost']} | {r['optimum']} | {r['seconds']:.2f} | "
                  f"{'yes' if r['proven'] else 'no'} |")


if __name__ == "__main__":
    main()
