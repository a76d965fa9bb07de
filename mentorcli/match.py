"""Pair mentees with mentors: the public entry of the match, read top to bottom as its steps.

``match_people`` runs them in order; each lives in its own module under ``mentorcli/matching``:

1. prepare (``matching.prepare``, ``matching.encode``): every answer read into arrays once, and
   every per-pair table the criteria and the rules read, over the distinct answers of each side;
2. score (``matching.criteria``): each criterion declared once; a pair's score is the weighted
   mean of the criteria both sides answered, an integer 0-10000 (the 0-100 score x 100);
3. rules (``matching.rules``): each rule declared once; the one place that says which pairs may
   not be made, for the solver, the explanations, ``export_scores`` and ``broken_rules``;
4. solve (``matching.scale.optimum``): the best pairing over every allowed pair (most places, then
   the highest total; ``fair``: most places, then the highest lowest score), proven optimal;
   among equally good pairings places go to the earlier signups (``matching.tiebreak``);
4b. networks (``matching.networks``): the mentors of mentees who want two or more, chosen again
   to cover their goals together (everyone else's pairs stay); optimal or a proven bound;
5. explain (``matching.explain``): why each pair was made, and why each person was left out.

Design decisions the contract leaves open are documented beside the code they shape: blank
answers and the neutral score in ``matching.criteria``, time-zone gaps in ``matching.encode``,
request and choice bonuses and the ``fair`` objective in ``matching.scale``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mentorcli.bulk import gc_paused
from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.files import atomic_path, neutralise_formula
from mentorcli.matching.circles import form_circles
from mentorcli.matching.cohort import Cohort, Progress, _blocks
from mentorcli.matching.criteria import CRITERIA, criteria_values, pair_scores
from mentorcli.matching.explain import (
    _bonus_words,
    unmatched_reasons,
    why_texts,
)
from mentorcli.matching.grid import score_rows
from mentorcli.matching.keep_circles import KeptCircle, circle_ids, circle_scores, form_circles_around
from mentorcli.matching.networks import NetworkResult, improve_networks, mentor_departments
from mentorcli.matching.prepare import (
    _pairs_to_cells,
    _unique_cells,
    assumed_zone_problems,
    prepare_cohort,
    priority_bonus,
)
from mentorcli.matching.rules import pair_rules, reasons
from mentorcli.matching.scale import Solution, _nonzero_cells, _Problem, optimum
from mentorcli.matching.words import PairFacts, network_words
from mentorcli.model import PEOPLE_COLUMNS, CircleMatch, MatchResult


def match_people(people: pd.DataFrame, config: Config, *, keep: Iterable[tuple[str, str, str]] = (),
                 avoid_pairs: Iterable[tuple[str, str]] = (), objective: str | None = None,
                 progress: Progress | None = None, priority: Iterable[str] = (),
                 reserved_ids: Iterable[str] = ()) -> MatchResult:
    """Pair mentees with mentors: the most places, then the best total score (or ``fair``).

    ``people``: a People frame (``model.PEOPLE_COLUMNS``). ``keep``: ``(pair_id, mentee_email,
    mentor_email)`` pairs that stay (they use wants and capacity). ``avoid_pairs``: email pairs from
    earlier cohorts that must not be repeated (either direction). ``priority``: emails of people an
    ending left without a partner: among the pairings with the most places, one that places more of
    them always wins (``prepare.priority_bonus``). ``reserved_ids``: pair ids no new pair may take
    (ended relationships'). Returns a ``MatchResult`` whose pairs/unmatched/mentors refer to People
    positions (0..n-1).
    """
    objective = _check_objective(objective, config)
    people = _with_source_row(people)
    _validate_people(people)
    # 1. prepare: every answer encoded once, the criteria's and the rules' tables built
    cohort = prepare_cohort(people, config, avoid_pairs=list(avoid_pairs))
    priority_bonus(cohort, priority)
    keep = list(keep)
    kept, kept_problems = _kept_cells(cohort, keep)
    kept_rows, kept_cols = _pairs_to_cells(cohort, np.array([k[1] for k in kept], np.int64),
                                           np.array([k[2] for k in kept], np.int64))
    n, m = cohort.shape
    cohort.forbidden["kept"] = _unique_cells(kept_rows, kept_cols, m)
    kept_problems += _kept_rule_problems(cohort, kept, kept_rows, kept_cols)
    wants = np.maximum(cohort.mentees.limit - np.bincount(kept_rows, minlength=n), 0) if n else np.zeros(0, np.int64)
    capacity = np.maximum(cohort.mentors.limit - np.bincount(kept_cols, minlength=m), 0) if m else np.zeros(0, np.int64)
    # 2-4. score every allowed pair (criteria, rules) block by block, as the solver asks, and solve
    solution = optimum(cohort, wants, capacity, objective, progress)
    # 4b. networks: mentees who want two or more mentors get mentors who cover their goals together
    network = improve_networks(cohort, solution, wants, capacity, kept_rows, kept_cols)
    solution = network.solution if network is not None else solution
    # 5. explain: the pairs with their Why, and a reason for each person left out
    result = _result(cohort, solution, kept, objective, progress,
                     reserved_ids=[*(str(k[0]) for k in keep), *map(str, reserved_ids)], network=network)
    result.kept_problems = kept_problems
    result.problems.extend(assumed_zone_problems(cohort))
    return result


def match_circles(people: pd.DataFrame, config: Config, *, size: int, kind: str,
                  keep: Sequence[KeptCircle] = (), keep_file: str = "", avoid_pairs: Iterable[tuple[str, str]] = (),
                  priority: Iterable[str] = (), reserved_ids: Iterable[str] = (),
                  progress: Progress | None = None, objective: str | None = None) -> CircleMatch:
    """Form circles: ``kind`` "mentor-led" (a mentor and up to ``size`` mentees) or "peer"
    (``size`` peers, one of them the facilitator), the most people placed, then the best total
    score, solved exactly or within a proven bound (``matching.circle_model``).

    ``avoid_pairs``: email pairs of earlier pairs or circles: no two of them in one circle again.
    ``keep`` (``--keep``): circles of an earlier workbook (``keep_file``) that stay, late signups
    placed around them; ``priority``: emails of people an ending left alone, placed first;
    ``reserved_ids``: circle ids no new circle may take (``matching.keep_circles``).
    ``objective`` "fair" (default ``[match] objective``): the most places, then the highest lowest
    member score, then the total (``keep_circles._fairest``).
    """
    objective = _check_objective(objective, config)
    people = _with_source_row(people)
    _validate_people(people)
    priority = list(priority)
    if keep or priority or keep_file or objective == "fair":
        return form_circles_around(people, config, size=size, kind=kind, keep=keep, keep_file=keep_file,
                                   avoid_pairs=list(avoid_pairs), priority=priority, reserved_ids=reserved_ids,
                                   progress=progress, objective=objective)
    circles = form_circles(people, config, size=size, kind=kind, avoid_pairs=list(avoid_pairs), progress=progress)
    reserved = list(reserved_ids)
    if reserved:  # ended circles' ids are never given to a new circle
        fresh = circle_ids(reserved, len(circles.circles))
        circles.circles = [replace(c, id=new_id) for c, new_id in zip(circles.circles, fresh)]
    return circles


def _check_objective(objective: str | None, config: Config) -> str:
    objective = objective or config.match.objective or "places"
    if objective not in ("places", "fair"):
        raise MentorError(f"unknown objective {objective!r}", hint='Use "places" or "fair".')
    return objective


def _validate_people(people: pd.DataFrame) -> None:
    missing = [c for c in PEOPLE_COLUMNS if c not in people.columns and not c.startswith("source_") and c != "facilitate"]
    if missing:
        raise MentorError(f"the People table lacks columns: {', '.join(missing)}",
                          hint="Build it with mentorcli.model.make_people or read_signups.")
    emails = people["email"].astype(str).str.strip().str.lower()
    if emails.duplicated().any():
        raise MentorError(f"the same email appears twice in the People table (row {int(np.argmax(emails.duplicated().to_numpy()))})",
                          hint="Each participant must appear once.")


def _with_source_row(people: pd.DataFrame) -> pd.DataFrame:
    people = people.reset_index(drop=True)
    if "source_row" not in people.columns:
        people = people.assign(source_row=0)
    return people


KeptProblem = tuple[str, str, str, str]
"""(pair_id, workbook column, severity, problem) of a kept pair that no longer holds."""


def _kept_cells(cohort: Cohort, keep: Iterable[tuple[str, str, str]]) -> tuple[list[tuple[str, int, int]], list[KeptProblem]]:
    """(pair_id, mentee person, mentor person) of the kept pairs that still name a mentee and a
    mentor of these signups, and what is wrong with the others.

    The signups win over the kept workbook on who takes part and in which role: someone who no
    longer signed up, or no longer as a mentee (wanting a mentor) or as a mentor, has not agreed
    to this pairing again, so the pair is dropped (an error on its row: nothing is assumed).
    """
    index = {str(e).strip().lower(): i for i, e in enumerate(cohort.people["email"].tolist())}
    roles = cohort.column("role")
    is_mentee = np.zeros(len(cohort.people), bool)
    is_mentee[cohort.mentees.person] = True
    is_mentor = np.zeros(len(cohort.people), bool)
    is_mentor[cohort.mentors.person] = True
    kept: list[tuple[str, int, int]] = []
    problems: list[KeptProblem] = []
    seen: set[tuple[int, int]] = set()
    for pair_id, mentee_email, mentor_email in keep:
        pair_id = str(pair_id)
        mentee = index.get(str(mentee_email).strip().lower())
        mentor = index.get(str(mentor_email).strip().lower())
        wrong = []
        for side, person, ok, column in (("mentee", mentee, is_mentee, "Mentee Email"),
                                         ("mentor", mentor, is_mentor, "Mentor Email")):
            if person is None:
                wrong.append((column, f"the {side} is no longer in the signups"))
            elif not ok[person]:
                role = str(roles[person]).lower()
                now = "wants no mentor" if side == "mentee" and role in ("mentee", "both") else f"signed up as {role}"
                wrong.append((column, f"the {side} no longer signed up as a {side} (now {now})"))
        for column, text in wrong:
            problems.append((pair_id, column, "error", (f"kept pair {pair_id}: {text}; the pair was dropped "
                                                        "(the signups win). Re-add it by hand if it should go on")))
        if wrong or mentee is None or mentor is None:
            continue
        if mentee == mentor or (mentee, mentor) in seen:
            problems.append((pair_id, "Mentor Email", "error",
                             f"kept pair {pair_id} is a self-pair or a repeat; the pair was dropped"))
            continue
        seen.add((mentee, mentor))
        kept.append((pair_id, mentee, mentor))
    return kept, problems


def _kept_rule_problems(cohort: Cohort, kept: list[tuple[str, int, int]], rows: np.ndarray,
                        cols: np.ndarray) -> list[KeptProblem]:
    """Kept pairs that now break a rule, or put a mentor over capacity or a mentee over wants.

    They stay: the two were introduced and may be meeting already, and the coordinator asked to
    keep them; each is a warning on its row so the coordinator can decide.
    """
    if not kept:
        return []
    problems: list[KeptProblem] = []
    broken = pair_rules(cohort, rows, cols)
    for k, (pair_id, _, _) in enumerate(kept):
        names = reasons(broken, k)
        if names:
            problems.append((pair_id, "Mentor Email", "warning",
                             (f"kept pair {pair_id} now breaks a rule ({', '.join(names)}); it stays, as kept pairs "
                              "were already introduced: end it by deleting the row if it should not go on")))
    for side, cells, limits, column, what in (("mentor", cols, cohort.mentors.limit, "Mentor Email", "capacity"),
                                              ("mentee", rows, cohort.mentees.limit, "Mentee Email", "wants")):
        count = np.bincount(cells, minlength=len(limits))
        seen = np.zeros(len(limits), np.int64)
        for k, cell in enumerate(cells.tolist()):
            seen[cell] += 1
            if seen[cell] == limits[cell] + 1:
                problems.append((kept[k][0], column, "warning",
                                 f"the {side} now has {count[cell]} kept pairs but {what} {limits[cell]}; "
                                 "the kept pairs stay and the " + side + " gets no new one"))
    return problems


def pair_ids(kept_ids: Sequence[str], new_count: int) -> list[str]:
    """IDs for new pairs: the numbers after the highest kept ID, all at one width (at least 3 digits)."""
    used = [int(m.group(1)) for m in (re.fullmatch(r"\s*P0*(\d+)\s*", str(i)) for i in kept_ids) if m]
    start = max(used, default=0) + 1
    last = start + new_count - 1
    width = max(3, len(str(max(last, max(used, default=0)))))
    return [f"P{number:0{width}d}" for number in range(start, start + new_count)]


# --------------------------------------------------------------------------- explaining


@gc_paused()
def _result(cohort: Cohort, solution: Solution, kept: list[tuple[str, int, int]], objective: str,
            progress: Progress | None, reserved_ids: Sequence[str] = (),
            network: NetworkResult | None = None) -> MatchResult:
    """Assemble pairs (kept first, then new in mentee signup order), reasons, mentors, settings.

    New pair IDs follow the highest of ``reserved_ids`` too (every kept pair asked for, dropped
    ones included): later commands key calendars and logs on the ID, so a dropped pair's ID is
    never given to someone else.
    """
    config = cohort.config
    n, m = cohort.shape
    n_people = len(cohort.people)
    row_of = np.full(n_people, -1, np.int64)
    row_of[cohort.mentees.person] = np.arange(n)
    col_of = np.full(n_people, -1, np.int64)
    col_of[cohort.mentors.person] = np.arange(m)
    kept_ids = [k[0] for k in kept]
    mentee = np.concatenate([np.array([k[1] for k in kept], np.int64), cohort.mentees.person[solution.rows]])
    mentor = np.concatenate([np.array([k[2] for k in kept], np.int64), cohort.mentors.person[solution.cols]])
    pairs = pd.DataFrame({
        "pair_id": kept_ids + pair_ids([*kept_ids, *reserved_ids], len(solution.rows)),
        "mentee": mentee.astype(int), "mentor": mentor.astype(int),
        "kept": np.arange(len(mentee)) < len(kept),
    })
    rows, cols = row_of[mentee], col_of[mentor]
    inside = (rows >= 0) & (cols >= 0)
    rows, cols = np.where(inside, rows, 0), np.where(inside, cols, 0)
    ok = np.flatnonzero(inside)
    scores = np.full(len(pairs), np.nan)
    criteria = {c.name: np.full(len(pairs), np.nan) for c in CRITERIA}
    requested = np.zeros(len(pairs), bool)
    words: list[list[str]] = [[] for _ in range(len(pairs))]
    if len(ok):
        scores[ok] = pair_scores(cohort, rows[ok], cols[ok]).astype(float) / 100
        for name, values in criteria_values(cohort, rows[ok], cols[ok]).items():
            criteria[name][ok] = values
        ok_words, ok_requested = _bonus_words(cohort, rows[ok], cols[ok])
        requested[ok] = ok_requested
        for k, position in enumerate(ok.tolist()):
            words[position] = ok_words[k]
        kept_ok = ok[ok < len(kept)]
        if len(kept_ok):  # said first in its Why too, where the coordinator reads the pair
            broken = pair_rules(cohort, rows[kept_ok], cols[kept_ok])
            for k, position in enumerate(kept_ok.tolist()):
                names = reasons(broken, k)
                if names:
                    words[position] = [f"now breaks a rule ({', '.join(names)})", *words[position]]
    pairs["score"] = scores
    for name, values in criteria.items():
        pairs[f"c_{name}"] = values
    pairs["requested"] = requested
    whys = ["Kept from the earlier pairing (one of them no longer signed up in this role)"] * len(pairs)
    texts = why_texts(cohort, rows[ok], cols[ok], {name: values[ok] for name, values in criteria.items()},
                      [words[k] for k in ok.tolist()], pairs["kept"].to_numpy()[ok].tolist(),
                      PairFacts.of(cohort, mentee[ok], mentor[ok]), progress,
                      _network_words(cohort, network, rows[ok], cols[ok], mentee[ok], mentor[ok]))
    for k, text in zip(ok.tolist(), texts):
        whys[k] = text
    pairs["why"] = whys
    pairs = pairs[["pair_id", "mentee", "mentor", "score", *[f"c_{name}" for name in criteria], "requested", "kept", "why"]]

    notes = list(cohort.notes)
    kept_inside = np.flatnonzero(inside[:len(kept)])
    unmatched = unmatched_reasons(cohort, solution.rows, solution.cols, rows[kept_inside], cols[kept_inside],
                                  solution.threshold)
    assigned = np.bincount(np.concatenate([solution.cols, cols[kept_inside]]).astype(np.int64), minlength=m)[:m]
    mentors = pd.DataFrame({"person": cohort.mentors.person.astype(int), "capacity": cohort.mentors.limit.astype(int),
                            "assigned": assigned.astype(int)})
    valid = pairs["score"].dropna()
    settings = {
        "objective": objective,
        "weights": config.weights.as_dict(),
        "rules": {f: getattr(config.rules, f) for f in ("forbid_same_team", "forbid_same_organisation",
                                                         "require_shared_language", "max_timezone_gap",
                                                         "choices_only", "ideal_experience_gap")},
        "method": solution.method,
        "candidates": int(config.match.candidates),
        "places": len(pairs),
        "new_places": len(solution.rows),
        "kept_places": len(kept),
        "total_score": round(float(valid.sum()), 2),
        "solver_total": int(solution.assignment.total),
        "bonus_unit": int(solution.unit),
        "pricing_rounds": int(solution.rounds),
        "optimality_proven": bool(solution.certified),
        "fair_floor": None if solution.threshold is None else solution.threshold / 100,
        "mentees": int(n),
        "mentors": int(m),
        **(network.as_settings() if network is not None else {}),
    }
    return MatchResult(
        pairs=pairs, unmatched=unmatched, mentors=mentors, objective=objective,
        total_score=float(round(valid.sum(), 2)) if len(valid) else 0.0,
        min_score=float(valid.min()) if len(valid) else 0.0,
        mean_score=float(round(valid.mean(), 4)) if len(valid) else 0.0,
        notes=notes, settings=settings,
    )


def _network_words(cohort: Cohort, network: NetworkResult | None, rows: np.ndarray, cols: np.ndarray,
                   mentee: np.ndarray, mentor: np.ndarray) -> list[str] | None:
    """The Why's words on what a network mentee's mentors cover together (None: no networks)."""
    if network is None:
        return None
    return network_words(cohort, mentee.tolist(), mentor.tolist(), cols, mentor_departments(cohort)[cols],
                         np.isin(rows, network.mentees).tolist())


@dataclass
class ScoreMatrix:
    """Scores of every mentee x mentor cell: ``scores`` 0-100 (NaN where a rule forbids the pair)."""

    mentees: np.ndarray
    mentors: np.ndarray
    scores: np.ndarray
    allowed: np.ndarray
    bonus: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))


def score_matrix(people: pd.DataFrame, config: Config, *, avoid_pairs: Iterable[tuple[str, str]] = ()) -> ScoreMatrix:
    """The full score matrix of a (small) cohort, for a Python user who wants to look at it.

    Rows are mentees (role mentee/both with wants > 0), columns mentors, in signup order; the
    ``mentees``/``mentors`` arrays give their People positions.
    """
    people = _with_source_row(people)
    _validate_people(people)
    cohort = prepare_cohort(people, config, avoid_pairs=avoid_pairs)
    n, m = cohort.shape
    scores, allowed = score_rows(cohort, 0, n) if n else (np.zeros((0, m), np.int16), np.zeros((0, m), bool))
    return ScoreMatrix(cohort.mentees.person.copy(), cohort.mentors.person.copy(),
                       np.where(allowed, scores / 100.0, np.nan), allowed)


def broken_rules(people: pd.DataFrame, config: Config, mentee: Sequence[int], mentor: Sequence[int], *,
                 avoid_pairs: Iterable[tuple[str, str]] = ()) -> list[list[str]]:
    """For each given pair (People positions), the matching rules it breaks, in plain words."""
    people = _with_source_row(people)
    if not len(mentee):
        return []
    rows_people, rows = np.unique(np.asarray(mentee, dtype=np.int64), return_inverse=True)
    cols_people, cols = np.unique(np.asarray(mentor, dtype=np.int64), return_inverse=True)
    cohort = prepare_cohort(people, config, avoid_pairs=avoid_pairs, mentee_index=rows_people, mentor_index=cols_people)
    broken = pair_rules(cohort, rows.ravel(), cols.ravel())
    return [reasons(broken, k) for k in range(len(rows))]


def export_scores(people: pd.DataFrame, config: Config, path: str | Path, *, force: bool,
                  avoid_pairs: Iterable[tuple[str, str]] = (), keep: Iterable[tuple[str, str, str]] = (),
                  objective: str | None = None) -> Path:
    """Write ``mentee_email,mentor_email,score,bonus,kept``: every kept pair, then every allowed pair.

    ``score`` is the pair's 0-100 score (the Score of the Pairs sheet); ``bonus`` the request and
    ranked-choice bonus in the same units (0 for most pairs), so ``score + bonus`` is the
    solver's own coefficient: keeping the ``kept`` rows ("yes") and solving the rest from this
    file alone (most places, then the highest total of ``score + bonus``) gives the same total as
    ``match_people``. A kept pair that ``match_people`` would drop (someone no longer signed up
    in that role) is not written. Written block by block (a 100,000 cohort has billions of
    pairs) into a temporary file that is renamed only when complete.
    """
    people = _with_source_row(people)
    _validate_people(people)
    probe = prepare_cohort(people, config)
    kept, _ = _kept_cells(probe, keep)
    kept_rows, kept_cols = _pairs_to_cells(probe, np.array([k[1] for k in kept], np.int64),
                                           np.array([k[2] for k in kept], np.int64))
    cohort = prepare_cohort(people, config, avoid_pairs=list(avoid_pairs),
                            keep_edges=list(zip(kept_rows.tolist(), kept_cols.tolist())))
    n, m = cohort.shape
    wants = np.maximum(cohort.mentees.limit - np.bincount(kept_rows, minlength=n), 0) if n else np.zeros(0, np.int64)
    capacity = np.maximum(cohort.mentors.limit - np.bincount(kept_cols, minlength=m), 0) if m else np.zeros(0, np.int64)
    problem = _Problem(cohort, wants, capacity, None)
    emails = people["email"].astype(str).map(neutralise_formula).to_numpy(dtype=object)
    mentee_emails = emails[cohort.mentees.person]
    mentor_emails = emails[cohort.mentors.person]

    def write(fh: Any, rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, kept_flag: str) -> None:
        score = scores.astype(np.int64)
        bonus = problem.weights(rows, cols, score) - score
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(zip(
            mentee_emails[rows], mentor_emails[cols], map(_cents, score.tolist()), map(_cents, bonus.tolist()),
            [kept_flag] * len(rows)))
        fh.write(buffer.getvalue())

    with atomic_path(path, force=force) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow(["mentee_email", "mentor_email", "score", "bonus", "kept"])
        write(fh, kept_rows, kept_cols, pair_scores(cohort, kept_rows, kept_cols), "yes")
        for r0, r1 in _blocks(n, m):
            scores, allowed = score_rows(cohort, r0, r1)
            local, cols = _nonzero_cells(allowed)
            write(fh, local + r0, cols, scores[local, cols], "no")
    return Path(path)


def export_circle_scores(people: pd.DataFrame, config: Config, path: str | Path, *, force: bool, size: int, kind: str,
                         keep: Sequence[KeptCircle] = (), avoid_pairs: Iterable[tuple[str, str]] = ()) -> Path:
    """Write ``lead_email,member_email,score,kept`` (``--export-scores`` with circles): each kept
    circle's lead and member (``kept`` = "yes"), then every (lead, member) the circle solver may put
    together ("no"): the rules in force, a goal the lead offers (peers: wants) and a window, as the
    solver sees them, each pair once. ``score`` is the member's 0-100 score with the lead, what the
    circle's value adds up after one ``PLACE`` per person placed (README, "Circles")."""
    people = _with_source_row(people)
    _validate_people(people)
    found = circle_scores(people, config, size=size, kind=kind, keep=keep, avoid_pairs=list(avoid_pairs))
    emails = people["email"].astype(str).map(neutralise_formula).to_numpy(dtype=object)
    with atomic_path(path, force=force) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["lead_email", "member_email", "score", "kept"])
        writer.writerows(zip(emails[found.lead], emails[found.member], map(_cents, found.score.tolist()),
                             np.where(found.kept, "yes", "no").tolist()))
    return Path(path)


def _cents(value: int) -> str:
    """An integer number of hundredths as exact decimal text (no float rounding)."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(int(value)), 100)
    return f"{sign}{whole}.{frac:02d}" if frac else f"{sign}{whole}"
