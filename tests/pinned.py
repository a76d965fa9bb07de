"""Pinned outputs: run the whole cycle on a cohort and fingerprint every file it writes.

Moving code must not change what a coordinator gets. This runs match (workbook, pairs CSV and
scores CSV), schedule, introduce, report and ``send --dry-run`` as real processes on a cohort, with
``SOURCE_DATE_EPOCH`` fixed, and records the sha256 of every output file. An ``.xlsx`` is a zip
whose bytes also depend on the compression level, so it is fingerprinted part by part (the XML
each part holds); every other file byte for byte. ``--json`` summaries on stdout are pinned too.

Usage (from the repository root):
  python -m tests.pinned record example      # writes tests/data/pinned/example.json
  python -m tests.pinned record cohort10k    # writes tests/data/pinned/cohort10k.json
  python -m tests.pinned compare cohort10k   # lists every file that differs (exit 1 if any)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parent.parent
PINNED = ROOT / "tests" / "data" / "pinned"
EPOCH = "1798761600"  # 2027-01-01T00:00:00Z
START = "2027-01-04"
AS_OF = "2027-05-03"


def digest(data: bytes) -> str:
    """The first 64 bits of the sha256, in hex: enough to notice a change, short enough to keep
    the 10k cohort's manifest (28,000 files) small."""
    return hashlib.sha256(data).hexdigest()[:16]


def fingerprint(path: Path) -> str | dict[str, str]:
    """The digest of a file; for an xlsx, of each part of the zip by name."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as archive:
            return {name: digest(archive.read(name)) for name in sorted(archive.namelist())}
    return digest(path.read_bytes())


def fingerprints(folder: Path, inputs: set[str]) -> dict[str, str | dict[str, str]]:
    """Every file under ``folder`` except the cohort's own inputs, by relative path."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and relative not in inputs:
            found[relative] = fingerprint(path)
    return found


def mentor(folder: Path, *args: str) -> str:
    """Run ``mentor ARGS`` in ``folder`` as a real process; its stdout (exit 0 required)."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    done = subprocess.run([sys.executable, "-m", "mentorcli", *args], cwd=folder, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"mentor {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def log_every_third_checkin(sheet: Path) -> None:
    """Fill in Held, Date Held, Rating and Notes on every third row, as a coordinator would."""
    import datetime as dt

    book = openpyxl.load_workbook(sheet)
    ws = book["Check-ins"]
    header = [cell.value for cell in ws[1]]
    col = {name: header.index(name) + 1 for name in ("Held", "Date Held", "Rating", "Notes", "Start (UTC)")}
    for row in range(2, ws.max_row + 1, 3):
        start = ws.cell(row, col["Start (UTC)"]).value
        day = start.date() if isinstance(start, dt.datetime) else dt.date.fromisoformat(str(start)[:10])
        ws.cell(row, col["Held"], "Yes")
        ws.cell(row, col["Date Held"], day)
        ws.cell(row, col["Rating"], 1 + row % 5)
        ws.cell(row, col["Notes"], f"note {row}")
    book.save(sheet)


def run_cycle(folder: Path, signups: str, months: int) -> dict[str, object]:
    """The README's cycle in ``folder``; the fingerprints of everything it wrote."""
    inputs = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    stdout = {
        "check": mentor(folder, "check", signups, "--json"),
        "match": mentor(folder, "match", signups, "-o", "pairs.xlsx", "--export-scores", "scores.csv", "--json"),
    }
    mentor(folder, "match", signups, "-o", "pairs.csv")
    stdout["schedule"] = mentor(folder, "schedule", "pairs.xlsx", "--start", START, "--months", str(months), "--json")
    mentor(folder, "introduce", "pairs.xlsx", "--calendar", "calendar", "--out", "outbox")
    logged = folder / "logged-checkins.xlsx"
    shutil.copy(folder / "calendar" / "checkins.xlsx", logged)
    log_every_third_checkin(logged)
    inputs.add(logged.name)
    stdout["report"] = mentor(folder, "report", "pairs.xlsx", logged.name, "--as-of", AS_OF, "--out", "reports",
                              "--json")
    stdout["send"] = mentor(folder, "send", "outbox", "--dry-run", "--json")
    return {"files": fingerprints(folder, inputs),
            "stdout": {name: digest(text.encode()) for name, text in stdout.items()}}


def prepare(name: str, folder: Path) -> tuple[str, int]:
    """Put cohort ``name``'s inputs in ``folder``: (signup file name, months to schedule)."""
    if name == "example":
        shutil.copy(ROOT / "examples" / "signups.xlsx", folder / "signups.xlsx")
        shutil.copy(ROOT / "examples" / "mentor.toml", folder / "mentor.toml")
        return "signups.xlsx", 12
    if name == "cohort10k":
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_e2e import generate_signups

        generate_signups(folder / "signups.xlsx", 10_000)
        return "signups.xlsx", 6
    raise SystemExit(f"unknown cohort {name!r}: example or cohort10k")


def outputs_of(name: str) -> dict[str, object]:
    """Run cohort ``name``'s whole cycle in a fresh folder and fingerprint it."""
    with tempfile.TemporaryDirectory(prefix=f"pinned-{name}-") as tmp:
        folder = Path(tmp)
        signups, months = prepare(name, folder)
        return run_cycle(folder, signups, months)


def differences(expected: dict, actual: dict) -> list[str]:
    """One line per file or stdout whose fingerprint differs, is missing or is new."""
    lines = []
    for kind in ("files", "stdout"):
        want, got = expected.get(kind, {}), actual.get(kind, {})
        for key in sorted(set(want) | set(got)):
            if key not in got:
                lines.append(f"{kind}: {key} missing")
            elif key not in want:
                lines.append(f"{kind}: {key} new")
            elif want[key] != got[key]:
                parts = ""
                if isinstance(want[key], dict) and isinstance(got[key], dict):
                    parts = " (" + ", ".join(sorted(p for p in set(want[key]) | set(got[key])
                                                    if want[key].get(p) != got[key].get(p))) + ")"
                lines.append(f"{kind}: {key} differs{parts}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["record", "compare"])
    parser.add_argument("cohort", choices=["example", "cohort10k"])
    args = parser.parse_args()
    actual = outputs_of(args.cohort)
    manifest = PINNED / f"{args.cohort}.json"
    if args.action == "record":
        PINNED.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps(actual, indent=0, sort_keys=True) + "\n")
        print(f"recorded {len(actual['files'])} files in {manifest}")
        return 0
    lines = differences(json.loads(manifest.read_text()), actual)
    print("\n".join(lines) or f"all {len(actual['files'])} files and {len(actual['stdout'])} outputs identical")
    return 1 if lines else 0


if __name__ == "__main__":
    raise SystemExit(main())
