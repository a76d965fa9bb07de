"""``mentor match --circles N --keep circles.xlsx``: kept circles stay, late signups are placed around them.

The promise is that of pairs' ``--keep`` (README, "--keep"), for circles:

- Every kept circle stays together, with its id. A mentor's capacity counts it, so a mentor with
  capacity 2 who leads one kept circle may lead one new circle.
- The signups win on who takes part: a kept lead or member no longer in the signups, or no longer
  signed up in that role, has not agreed to go on, so they are dropped (an error on their row of
  the kept workbook). A circle whose lead is dropped is dropped as a whole (nobody is left to lead
  it; its members are free to place); one left with no member is dropped too (its lead is free).
- A circle that falls below ``[circles] min_size`` because members were dropped **stays**, with a
  warning on its lead's row: its people already meet, and breaking up a circle that goes on is the
  coordinator's call (``mentor end``), not the matcher's. Its room is open to late signups.
- A kept circle that now breaks a rule (checked against the new signups and config: every rule
  between the lead and each member, avoid / earlier / same team or department between every two
  members, a goal and a weekly window they all share), leads more circles than the new capacity,
  or holds more members than the new size, stays too, warned on its row.
- Late signups join a kept circle with room (fewer than the size's members), sharing one of the
  goals the circle shares and one of its weekly windows, keeping every rule with every member; or
  form new circles. The solver sees each kept circle with room as one more lead
  (``circle_model.Lead`` with ``min_members`` 1 and ``max_members`` its room, on a row of its own).
- Two people of an ended circle (the Ended sheet) never share a circle again (the caller's avoid
  pairs). People an ending left alone are placed first: each of them placed is worth more than all
  scores together and less than one more place (as ``prepare.priority_bonus`` does for pairs).
- New circle ids follow the highest id kept, asked for or ended: a dropped circle's id is never
  given to another circle.

The same model serves ``--objective fair`` (``_fairest``: floors on the member scores, each a
full solve) and ``--export-scores`` (``circle_scores``: every lead and member it holds), with or
without kept circles.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np
import pandas as pd

from mentorcli.config import Config
from mentorcli.matching.circle_model import CircleModel, CircleSolution, Lead, Progress, solve_circles
from mentorcli.matching.circles import (
    CircleWeeks,
    _allowed_cells,
    _circle_match,
    _classes,
    _conflicts,
    _goal_texts,
    _model,
    _Pool,
    _why,
    _window_text,
    _windows,
    circle_cohort,
    circle_languages,
    circle_weeks,
    split_by_language,
)
from mentorcli.matching.cohort import Cohort
from mentorcli.matching.grid import score_rows
from mentorcli.matching.rules import pair_rules, reasons
from mentorcli.model import CircleMatch, Member, MemberRole, PairingBook, Problem, Relationship, Severity

CIRCLES_SHEET = "Circles"
MEMBER_RULES = ("avoid", "earlier")
"""Pair rules that hold between every two members (same team or department: the classes)."""


@dataclass(frozen=True)
class KeptCircle:
    """A circle of the kept workbook as it stands (rows of its Circles sheet)."""

    id: str
    lead: str
    lead_row: int
    lead_role: str
    members: tuple[tuple[str, int], ...]
    """(email, Circles row) of each member, in workbook order."""


def kept_circles(book: PairingBook) -> list[KeptCircle]:
    """Every circle still going on in a circles workbook (its pair view), in workbook order."""
    out = []
    for circle_id, group in book.pairs.groupby("pair_id", sort=False):
        out.append(KeptCircle(str(circle_id), str(group["mentor_email"].iloc[0]), int(group["lead_row"].iloc[0]),
                              str(group["mentor_role"].iloc[0]),
                              tuple(zip(group["mentee_email"].astype(str).tolist(), group["row"].astype(int).tolist()))))
    return out


def circle_ids(used: Iterable[str], count: int) -> list[str]:
    """``count`` new circle ids after the highest of ``used`` (``C001`` style, at least 3 digits)."""
    numbers = [int(m.group(1)) for m in (re.fullmatch(r"\s*C0*(\d+)\s*", str(i)) for i in used) if m]
    start = max(numbers, default=0) + 1
    width = max(3, len(str(start + count - 1)))
    return [f"C{number:0{width}d}" for number in range(start, start + count)]


@dataclass
class _Kept:
    """A kept circle that stays: its id, lead and members as pool indices, its rows, its room."""

    circle: KeptCircle
    lead: int
    members: list[int]
    rows: list[int]
    room: int


# --------------------------------------------------------------------------- the entry


@dataclass
class _Built:
    """The circle model around the kept circles, before it is solved."""

    cohort: Cohort
    pool: _Pool
    free: _Pool
    model: CircleModel
    kept: list[_Kept]
    problems: list[Problem]
    regular: int
    """Leads of new circles come first; the kept circles with room after them."""
    extensions: list[int]


def _build(people: pd.DataFrame, config: Config, *, size: int, kind: str, keep: Sequence[KeptCircle], keep_file: str,
           avoid_pairs: Iterable[tuple[str, str]]) -> _Built:
    """Who stays, what is wrong with the kept circles, and the model of the rest (see the module docstring)."""
    min_size, most, pool, cohort = circle_cohort(people, config, size=size, kind=kind, avoid_pairs=avoid_pairs)
    kept, problems = _resolve(cohort, pool, keep, kind, keep_file, min_size, most - 1)
    problems += _kept_rule_problems(cohort, pool, kept, kind, keep_file)
    free = _free_pool(pool, kept, kind)
    model = _model(cohort, free, kind, min_members=min_size - 1, max_members=most - 1)
    regular = len(model.leads)
    extensions = _extend(cohort, free, model, kept, kind)
    return _Built(cohort, pool, free, model, kept, problems, regular, extensions)


def form_circles_around(people: pd.DataFrame, config: Config, *, size: int, kind: str, keep: Sequence[KeptCircle],
                        keep_file: str, avoid_pairs: Iterable[tuple[str, str]] = (), priority: Iterable[str] = (),
                        reserved_ids: Iterable[str] = (), progress: Progress | None = None,
                        objective: str = "places") -> CircleMatch:
    """Circles of ``size`` formed around the ``keep`` circles (see the module docstring);
    ``objective`` "fair": the most places, then the highest lowest member score, then the total
    (``_fairest``)."""
    built = _build(people, config, size=size, kind=kind, keep=keep, keep_file=keep_file, avoid_pairs=avoid_pairs)
    model, regular, cohort = built.model, built.regular, built.cohort
    values = [lead.values for lead in model.leads]
    tier = _prioritise(model, built.free, _positions(cohort, built.pool, priority), kind, regular)

    def solve(this: CircleModel) -> CircleSolution:
        return solve_circles(this, max_rounds=int(config.circles.pricing_rounds),
                             effort=float(config.circles.search_effort), progress=progress)

    solution = solve(model)
    lowest = None
    if objective == "fair":
        solution, lowest = _fairest(model, values, tier, solution, solve)
    for lead, original in zip(model.leads, values):
        lead.values = original
    new = [column for column in solution.columns if column.lead < regular]
    joined = {built.extensions[column.lead - regular]: column for column in solution.columns if column.lead >= regular}
    result = _circle_match(cohort, built.free, model, dataclasses.replace(solution, columns=new), kind, size)
    if objective == "fair":
        result.settings.update(objective_kind="fair", lowest_score=None if lowest is None else round(lowest / 100, 2))
    return _with_kept(cohort, model, result, built.kept, joined, kind, keep_file,
                      [*(c.id for c in keep), *map(str, reserved_ids)], built.problems)


# --------------------------------------------------------------------------- --objective fair


def _lowest(model: CircleModel, values: list[np.ndarray], solution: CircleSolution) -> int | None:
    """The lowest member score (true scores, not bonuses) of the circles a solution forms."""
    found = []
    for column in solution.columns:
        lead = model.leads[column.lead]
        at = np.searchsorted(lead.members, np.array(column.members, np.int64))
        found.append(int(values[column.lead][at].min()))
    return min(found, default=None)


def _floored(model: CircleModel, values: list[np.ndarray], floor: int) -> CircleModel:
    """The model with every candidate member scored below ``floor`` left out (leads, goals and
    windows keep their positions, so a column of it is a column of ``model``)."""
    leads = []
    for lead, true in zip(model.leads, values):
        keep = true >= floor
        leads.append(dataclasses.replace(lead, members=lead.members[keep], rows=lead.rows[keep],
                                         values=lead.values[keep], goals=lead.goals[keep],
                                         windows=lead.windows[keep], classes=lead.classes[keep]))
    return dataclasses.replace(model, leads=leads)


def _fairest(model: CircleModel, values: list[np.ndarray], tier: int, solution: CircleSolution,
             solve: Callable[[CircleModel], CircleSolution]) -> tuple[CircleSolution, int | None]:
    """``--objective fair`` for circles, as for pairs: the most places (and people an ending left
    alone), then the highest lowest member score, then the highest total.

    The floor is searched over the member scores present: the model with every candidate below a
    floor left out is solved (places first, then the total); a floor that keeps the places of the
    unrestricted solution is reached, a higher one is tried (from the lowest score that solution
    has, not the floor asked), until none is. Exact when every solve is (a small cohort: every
    circle listed); on a large one each solve is within its proven bound, and so is the floor
    found. Kept circles' members are fixed and not counted in the lowest score.
    """
    target = solution.objective // tier
    lowest = _lowest(model, values, solution)
    if lowest is None:
        return solution, None
    scores = np.unique(np.concatenate([v for v in values] + [np.zeros(0, np.int64)]))
    above = scores[scores > lowest]
    lo, hi = 0, len(above)
    while lo < hi:
        middle = (lo + hi) // 2
        attempt = solve(_floored(model, values, int(above[middle])))
        reached = _lowest(model, values, attempt)
        if attempt.objective // tier >= target and reached is not None:
            solution, lowest = attempt, reached
            lo = int(np.searchsorted(above, reached, side="right"))
        else:
            hi = middle
    return solution, lowest


@dataclass
class CircleScores:
    """Every (lead, member) score the circle solver uses (``--export-scores`` with circles)."""

    lead: np.ndarray
    member: np.ndarray
    """People positions."""
    score: np.ndarray
    """0-10000 (the 0-100 score x 100)."""
    kept: np.ndarray
    """True for a kept circle's lead and member (first), False for a pair the solver may make."""


def circle_scores(people: pd.DataFrame, config: Config, *, size: int, kind: str, keep: Sequence[KeptCircle] = (),
                  avoid_pairs: Iterable[tuple[str, str]] = ()) -> CircleScores:
    """The kept circles' (lead, member) scores, then every (lead, candidate member) of the model the
    solver is given, each pair once, by lead then member in signup order: exactly the scores a
    circle's value is made of (``PLACE`` per person placed plus these; kept circles are fixed)."""
    built = _build(people, config, size=size, kind=kind, keep=keep, keep_file="", avoid_pairs=avoid_pairs)
    cohort, people_of = built.cohort, built.cohort.mentees.person
    kept_lead = np.array([c.lead for c in built.kept for _ in c.members], np.int64)
    kept_member = np.array([m for c in built.kept for m in c.members], np.int64)
    kept_score = np.zeros(0, np.int64)
    if len(kept_lead):
        scores, _ = score_rows(cohort, 0, 0, rows=kept_member, cols=np.unique(kept_lead))
        kept_score = scores[np.arange(len(kept_member)), np.searchsorted(np.unique(kept_lead), kept_lead)].astype(np.int64)
    leads = [lead for lead in built.model.leads if len(lead.rows)]
    # by the lead's pool index (a kept circle's extra lead sits on a model row of its own)
    lead = np.concatenate([np.full(len(x.rows), int(np.searchsorted(people_of, x.person)), np.int64) for x in leads]
                          + [np.zeros(0, np.int64)])
    member = np.concatenate([x.rows for x in leads] + [np.zeros(0, np.int64)]).astype(np.int64)
    score = np.concatenate([x.values for x in leads] + [np.zeros(0, np.int64)]).astype(np.int64)
    order = np.lexsort((member, lead))
    lead, member, score = lead[order], member[order], score[order]
    first = np.r_[True, (lead[1:] != lead[:-1]) | (member[1:] != member[:-1])] if len(lead) else np.zeros(0, bool)
    lead, member, score = lead[first], member[first], score[first]
    return CircleScores(lead=people_of[np.r_[kept_lead, lead].astype(np.int64)],
                        member=people_of[np.r_[kept_member, member].astype(np.int64)],
                        score=np.r_[kept_score, score].astype(np.int64),
                        kept=np.r_[np.ones(len(kept_lead), bool), np.zeros(len(lead), bool)])


def _positions(cohort: Cohort, pool: _Pool, emails: Iterable[str]) -> np.ndarray:
    """Pool indices of ``emails`` that are in the pool (others are ignored)."""
    index = {str(e).strip().lower(): i for i, e in enumerate(cohort.people["email"].tolist())}
    persons = [index[e] for e in (str(x).strip().lower() for x in emails) if e in index]
    at = np.searchsorted(pool.people, persons)
    inside = (at < len(pool.people)) & (pool.people[np.minimum(at, len(pool.people) - 1)] == persons)
    return np.unique(at[inside]).astype(np.int64) if len(pool.people) else np.zeros(0, np.int64)


# --------------------------------------------------------------------------- who stays


def _resolve(cohort: Cohort, pool: _Pool, keep: Sequence[KeptCircle], kind: str, file: str, min_size: int,
             max_members: int) -> tuple[list[_Kept], list[Problem]]:
    """The kept circles that stay (pool indices), and an error for each person or circle dropped,
    a warning for each circle now below ``min_size``, over capacity or over the size."""
    people = cohort.people
    index = {str(e): i for i, e in enumerate(people["email"].tolist())}
    at = {int(p): k for k, p in enumerate(pool.people.tolist())}
    roles = people["role"].astype(str).tolist()
    lead_word, member_word = ("mentor", "mentee") if kind == "mentor-led" else ("facilitator", "peer")
    problems: list[Problem] = []

    def problem(row: int, column: str, severity: Severity, text: str) -> None:
        problems.append(Problem(file, CIRCLES_SHEET, row, column, severity, text))

    def gone(email: str, can: np.ndarray, word: str) -> str | None:
        person = index.get(email)
        if person is None:
            return "is no longer in the signups"
        if person not in at or not can[at[person]]:
            role = roles[person].lower()
            if kind == "mentor-led" and word == "mentor" and role in ("mentor", "both"):
                return "now takes no mentees (capacity 0)"
            if kind == "mentor-led" and word == "mentee" and role in ("mentee", "both"):
                return "now wants no mentor"
            return f"no longer signed up as a {word} (now {role})"
        return None

    kept: list[_Kept] = []
    for circle in keep:
        why = gone(circle.lead, pool.can_lead, lead_word)
        if why is None and circle.lead_role != lead_word:
            why = f"leads it as a {circle.lead_role}, and these are {kind} circles"
        if why is not None:
            problem(circle.lead_row, "Email", "error",
                    f"kept circle {circle.id}: its {lead_word} {why}; the circle was dropped (the signups win) and "
                    "its members placed anew. Re-add it by hand if it should go on")
            continue
        members, rows = [], []
        for email, row in circle.members:
            why = gone(email, pool.can_join, member_word)
            if why is not None:
                problem(row, "Email", "error", f"kept circle {circle.id}: this {member_word} {why}; they were dropped "
                                               "from the circle (the signups win). Re-add them by hand if they should stay")
                continue
            members.append(at[index[email]])
            rows.append(row)
        if not members:
            problem(circle.lead_row, "Circle ID", "error",
                    f"kept circle {circle.id} has no member left; the circle was dropped and its {lead_word} is free")
            continue
        total = len(members) + 1
        if total < min_size:
            problem(circle.lead_row, "Circle ID", "warning",
                    f"kept circle {circle.id} now has {total} people, fewer than [circles] min_size = {min_size}; it "
                    "stays (its people already meet) and late signups may join it. End it if it should not go on")
        if len(members) > max_members:
            problem(rows[max_members], "Circle ID", "warning",
                    f"kept circle {circle.id} has {len(members)} members, more than the size {max_members}; it stays "
                    "and takes nobody new")
        kept.append(_Kept(circle, at[index[circle.lead]], members, rows, max(max_members - len(members), 0)))
    problems += _capacity_problems(pool, kept, kind, file)
    return kept, problems


def _capacity_problems(pool: _Pool, kept: list[_Kept], kind: str, file: str) -> list[Problem]:
    """A lead with more kept circles than they may now lead (capacity, or one for a facilitator): a warning."""
    led: dict[int, list[_Kept]] = {}
    for circle in kept:
        led.setdefault(circle.lead, []).append(circle)
    problems = []
    for lead, circles in led.items():
        limit = int(pool.limit[lead]) if kind == "mentor-led" else 1
        if len(circles) > limit:
            extra = circles[limit]
            problems.append(Problem(file, CIRCLES_SHEET, extra.circle.lead_row, "Email", "warning",
                                    f"the lead of kept circle {extra.circle.id} now leads {len(circles)} kept circles "
                                    f"but may lead {limit}; the kept circles stay and they lead no new one"))
    return problems


def _free_pool(pool: _Pool, kept: list[_Kept], kind: str) -> _Pool:
    """The pool the solver places: kept people join no other circle, kept members lead none, a
    mentor leads as many new circles as capacity minus kept circles, a kept facilitator none."""
    can_lead, can_join, limit = pool.can_lead.copy(), pool.can_join.copy(), pool.limit.copy()
    for circle in kept:
        can_join[[circle.lead, *circle.members]] = False
        can_lead[circle.members] = False
        limit[circle.lead] -= 1 if kind == "mentor-led" else limit[circle.lead]
    limit = np.maximum(limit, 0)
    can_lead &= limit > 0
    return dataclasses.replace(pool, can_lead=can_lead, can_join=can_join, limit=np.maximum(limit, 1))


# --------------------------------------------------------------------------- the rules of a kept circle


def _common(cohort: Cohort, weeks: CircleWeeks, kind: str, lead: int,
            members: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The goals (ids) everyone of a circle shares (the mentor offers, or for peers wants) and the
    window starts (slots of ``weeks``) everyone can make (see ``circles.circle_weeks`` for someone
    who gave no availability)."""
    wanted = cohort.mentees.topics > 0
    goals = ((cohort.mentors.topics > 0) if kind == "mentor-led" else wanted)[lead].copy()
    for member in members:
        goals &= wanted[member]
    starts, mask_of = weeks.starts, weeks.mask_of
    slots = starts[mask_of[lead]].copy()
    for member in members:
        slots &= starts[mask_of[member]]
    return np.flatnonzero(goals), np.flatnonzero(slots)


def _kept_rule_problems(cohort: Cohort, pool: _Pool, kept: list[_Kept], kind: str, file: str) -> list[Problem]:
    """Each kept circle that now breaks a rule: a warning on its row; the circle stays (its people
    already meet; the coordinator ends it if it should not go on)."""
    if not kept:
        return []
    lead_cols = np.array([c.lead for c in kept for _ in c.members], np.int64)
    member_rows = np.array([m for c in kept for m in c.members], np.int64)
    broken = pair_rules(cohort, member_rows, lead_cols)
    classes = _classes(cohort)
    class_word = "same department ([circles] mix_departments)" if cohort.config.circles.mix_departments else "same team"
    problems: list[Problem] = []
    stays = "; it stays, as its people already meet: end it (mentor end) if it should not go on"
    weeks = circle_weeks(cohort)
    k = 0
    for circle in kept:
        name = circle.circle.id
        for member, row in zip(circle.members, circle.rows):
            words = reasons(broken, k)
            k += 1
            if classes[member] == classes[circle.lead] and "same team" not in words:
                words.append(class_word)
            if words:
                problems.append(Problem(file, CIRCLES_SHEET, row, "Circle ID", "warning",
                                        f"kept circle {name} now breaks a rule with its lead ({', '.join(words)}){stays}"))
        problems += _member_rule_problems(cohort, circle, classes, class_word, file, stays)
        goals, slots = _common(cohort, weeks, kind, circle.lead, circle.members)
        lacking = [what for what, found in (("a goal", goals), ("a weekly window", slots)) if not len(found)]
        if lacking:
            problems.append(Problem(file, CIRCLES_SHEET, circle.circle.lead_row, "Circle ID", "warning",
                                    f"kept circle {name} no longer shares {' or '.join(lacking)} (every member's "
                                    f"answers now){stays}; nobody new joins it"))
    return problems


def _member_rule_problems(cohort: Cohort, circle: _Kept, classes: np.ndarray, class_word: str, file: str,
                          stays: str) -> list[Problem]:
    """Between every two members of a kept circle: avoid lists, earlier pairs, same team or department."""
    pairs = [(i, j) for i in range(len(circle.members)) for j in range(i + 1, len(circle.members))]
    if not pairs:
        return []
    a = np.array([circle.members[i] for i, _ in pairs], np.int64)
    b = np.array([circle.members[j] for _, j in pairs], np.int64)
    one, other = pair_rules(cohort, a, b), pair_rules(cohort, b, a)
    problems = []
    for k, (i, j) in enumerate(pairs):
        words = list(dict.fromkeys(r for found in (one, other) for r in _member_reasons(found, k)))
        if classes[a[k]] == classes[b[k]]:
            words.append(class_word)
        if words:
            problems.append(Problem(file, CIRCLES_SHEET, circle.rows[j], "Circle ID", "warning",
                                    f"kept circle {circle.circle.id} now breaks a rule with row {circle.rows[i]} "
                                    f"({', '.join(dict.fromkeys(words))}){stays}"))
    return problems


def _member_reasons(found: dict[str, np.ndarray], k: int) -> list[str]:
    return reasons({name: cells for name, cells in found.items() if name in MEMBER_RULES}, k)


# --------------------------------------------------------------------------- room in kept circles


def _extend(cohort: Cohort, pool: _Pool, model: CircleModel, kept: list[_Kept], kind: str) -> list[int]:
    """One more lead per kept circle with room (on a row of its own, limit 1): at least one and at
    most ``room`` new members, each allowed with the lead, of no kept member's team or department,
    in no conflict with a kept member, wanting a goal the circle shares and able to make one of its
    windows. Returns the position in ``kept`` of each lead added, in order."""
    open_circles = [k for k, c in enumerate(kept) if c.room > 0]
    if not open_circles:
        return []
    leads = np.zeros(len(pool.people), bool)
    leads[[kept[k].lead for k in open_circles]] = True
    cells = _allowed_cells(cohort, dataclasses.replace(pool, can_lead=leads), kind)
    classes = _classes(cohort)
    conflicts = _conflicts(cohort)
    wanted = cohort.mentees.topics > 0
    weeks = circle_weeks(cohort)
    starts, mask_of = weeks.starts, weeks.mask_of
    speaks = circle_languages(cohort)
    added = []
    rhs, coef = list(model.rhs.tolist()), list(model.coef.tolist())
    for k in open_circles:
        circle = kept[k]
        rows, values = cells.get(circle.lead, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        goals, slots = _common(cohort, weeks, kind, circle.lead, circle.members)
        taken = {int(classes[p]) for p in (circle.lead, *circle.members)}
        kept_people = {int(pool.people[p]) for p in circle.members}
        fits = np.array([int(classes[r]) not in taken and not (conflicts.get(int(pool.people[r]), frozenset()) & kept_people)
                         for r in rows.tolist()], bool)
        rows, values = rows[fits], values[fits]
        if not len(goals) or not len(slots) or not len(rows):
            continue
        member_goals, goal_list, language_ids = split_by_language(speaks, [circle.lead, *circle.members], rows,
                                                                  wanted[rows][:, goals], goals.tolist(), 1)
        useful = member_goals.any(axis=1)
        rows, values, member_goals = rows[useful], values[useful], member_goals[useful]
        if not goal_list:
            continue
        common = np.zeros((1, starts.shape[1]), bool)
        common[0, slots] = True
        window_ids, member_windows = _windows(np.vstack([starts, common]), np.r_[mask_of, len(starts)],
                                              len(mask_of), rows, 1)
        if not len(rows) or not len(window_ids):
            continue
        model.leads.append(Lead(person=int(pool.people[circle.lead]), row=len(rhs), limit=1, own=0,
                                members=pool.people[rows], rows=rows, values=values, goals=member_goals,
                                goal_ids=goal_list, language_ids=language_ids, windows=member_windows,
                                window_ids=window_ids,
                                classes=classes[rows], min_members=1, max_members=circle.room))
        rhs.append(1)
        coef.append(1)
        added.append(k)
    model.rhs, model.coef = np.array(rhs, np.int64), np.array(coef, np.int64)
    return added


def _prioritise(model: CircleModel, pool: _Pool, first: np.ndarray, kind: str, regular: int) -> int:
    """People an ending left alone placed first: each of them placed (a member, a facilitator, or
    a mentor per circle led, as pairs count a mentor per pair) is worth more than all scores
    together (the model's ``place``), and ``place`` becomes more than all of those bonuses and all
    scores together, so the order is: the most places, then the most of them, then the best total.
    Values are restored by the caller before the circles are written (scores stay the true ones).
    Returns the value of the lowest tier above the scores (a place, or one of them placed)."""
    if not len(first):
        return model.place
    bonus = model.place
    bonus_of = np.zeros(len(pool.people), np.int64)
    bonus_of[first] = bonus
    times = np.where(pool.can_lead[first], pool.limit[first], 0) + 1  # led circles, or once as a member
    model.place = bonus * (int(times.sum()) + 1)
    for number, lead in enumerate(model.leads):
        lead.values = lead.values + bonus_of[lead.rows]
        if number >= regular:
            continue  # a kept circle's lead is placed already
        if kind == "peer":
            lead.own = model.place + int(bonus_of[lead.row])
        else:
            lead.own = int(bonus_of[lead.row])
    return bonus


# --------------------------------------------------------------------------- the answer


def _with_kept(cohort: Cohort, model: CircleModel, result: CircleMatch, kept: list[_Kept], joined: dict,
               kind: str, keep_file: str, used_ids: list[str], problems: list[Problem]) -> CircleMatch:
    """The kept circles first (with whoever joined them), then the new ones under fresh ids; the
    Unmatched sheet without anyone in a kept circle; places and total score counted over all."""
    people = cohort.people
    names, emails = people["name"].astype(str).tolist(), people["email"].astype(str).tolist()
    lead_role: MemberRole = "mentor" if kind == "mentor-led" else "facilitator"
    member_role: MemberRole = "mentee" if kind == "mentor-led" else "peer"
    goal_text = _goal_texts(cohort)
    weeks = circle_weeks(cohort)
    slot, duration = weeks.slot, int(cohort.config.schedule.duration_minutes)
    pool_people = cohort.mentees.person
    circles: list[Relationship] = []
    placed: set[int] = set()
    total = 0
    at = {int(p): i for i, p in enumerate(pool_people.tolist())}
    for k, circle in enumerate(kept):
        lead = int(pool_people[circle.lead])
        column = joined.get(k)
        newcomers = list(column.members) if column is not None else []
        rows = np.array([*circle.members, *(at[p] for p in newcomers)], np.int64)
        scores, _ = score_rows(cohort, 0, 0, rows=rows, cols=np.array([circle.lead], np.int64))
        values = [int(v) for v in scores[:, 0].tolist()]
        total += sum(values)
        members = [int(pool_people[m]) for m in circle.members] + newcomers
        placed.update([lead, *members])
        goals, slots = _common(cohort, weeks, kind, circle.lead, rows.tolist())
        why = (f"Kept from {PurePath(keep_file).name}" + (f", {len(newcomers)} joined" if newcomers else "") + ". "
               + (_why(cohort, lead, members, goal_text[goals[0]], _window_text(int(slots[0]), slot, duration), kind)
                  if len(goals) and len(slots) else "They no longer share a goal or a weekly window (see Problems)."))
        circles.append(Relationship(id=circle.circle.id, members=(
            Member(emails[lead], names[lead], lead_role), *(Member(emails[p], names[p], member_role) for p in members)),
            score=round(sum(values) / len(values) / 100, 2), why=why))
    fresh = circle_ids([*used_ids], len(result.circles))
    circles += [dataclasses.replace(c, id=new_id) for c, new_id in zip(result.circles, fresh)]
    settings = dict(result.settings)
    kept_places = sum(len(c.members) - (1 if kind == "mentor-led" else 0) for c in circles[:len(kept)])
    settings.update(places=int(settings.get("places", 0)) + kept_places, circles=len(circles),
                    total_score=round(float(settings.get("total_score", 0.0)) + total / 100, 2))
    if keep_file:  # a --keep run (its circles may all have ended): say how many stayed
        settings.update(kept_circles=len(kept), kept_places=kept_places)
    unmatched = result.unmatched[~result.unmatched["person"].isin(placed)].reset_index(drop=True)
    return dataclasses.replace(result, circles=circles, unmatched=unmatched, settings=settings,
                               problems=[*problems, *result.problems])

