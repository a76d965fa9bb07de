"""Circles from the encoded cohort: who may lead, who may join whom, in which goal and window.

``form_circles`` builds the ``circle_model.CircleModel`` (the solver and its bound live there),
solves it and writes the circles with their Why and a reason for everyone left out.

Choices the issue left open (README, "Circles"):

- ``[circles] min_size`` counts everyone in a circle, its lead included: a mentor-led circle of
  the default 3 is a mentor and two mentees; a peer circle of 3 is three peers.
- Mentor-led: leads are mentors (or "both") with capacity > 0, each leading up to ``capacity``
  circles; members are people who want a mentor (mentee or "both", wants > 0). Someone who could
  do both either leads or joins, never both. Every rule in force holds between the mentor and each
  member (``rules.solver_allowed``, as for pairs); a member's score is their pair score with the
  mentor; the circle's goal is one the mentor offers and every member wants.
- Peer circles: everyone whose role is in ``[circles] peer_roles`` (default "both": a "peer"
  answer is read as "both"; ``--role both`` makes a file without a role column all peers). The
  facilitator is whoever volunteered (the signup's ``facilitate`` column answered yes), else the
  most experienced member (a blank counts as least; ties: the earlier signup); among volunteers,
  the most experienced. Someone who answered no never facilitates (they asked not to; a circle
  without them leading places fewer, which the Unmatched reasons say). Every rule in force except
  ``choices_only`` (which is about mentors chosen) holds between the facilitator and each member;
  a member's score is their pair score with the facilitator (the facilitator's experience and
  offer against the member's goals); the goal is one every member, facilitator included, wants.
- Between every two members: the avoid lists and earlier pairs (``--avoid-pairs``) always; the
  same-team rule when ``[rules] forbid_same_team`` is on (at most one member per team); with
  ``[circles] mix_departments`` at most one per department, the lead's included.
- The window: a weekly time of ``[schedule] duration_minutes`` every member can make (UTC grid of
  ``availability.weekly_utc_grid``). Someone who gave no readable availability fits any window
  (no answer is no evidence of a clash) and the Why says so.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from mentorcli.availability import WEEK_MINUTES, comfort_edges, grid_mask, grid_slot
from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.matching.circle_model import FULL, CircleModel, CircleSolution, Lead, Progress, solve_circles
from mentorcli.matching.cohort import Cohort, _blocks
from mentorcli.matching.encode import option_key
from mentorcli.matching.grid import score_rows
from mentorcli.matching.prepare import prepare_cohort
from mentorcli.model import CircleMatch, Member, MemberRole, Relationship
from mentorcli.tz import most_common_zone, tzinfo_for

KINDS = ("mentor-led", "peer")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclasses.dataclass
class _Pool:
    """Who takes part and in which part, as People positions and rows of the solver."""

    people: np.ndarray
    """People positions of everyone who may lead or join (ascending): the cohort's both sides."""
    can_lead: np.ndarray
    can_join: np.ndarray
    limit: np.ndarray
    rank: np.ndarray
    """Facilitator order (peer circles): lower leads higher; unused for mentor-led."""


def form_circles(people: pd.DataFrame, config: Config, *, size: int, kind: str,
                 avoid_pairs: Iterable[tuple[str, str]] = (), progress: Progress | None = None) -> CircleMatch:
    """Circles of ``size`` (see the module docstring), solved with a proven bound."""
    min_size, most, pool, cohort = circle_cohort(people, config, size=size, kind=kind, avoid_pairs=avoid_pairs)
    model = _model(cohort, pool, kind, min_members=min_size - 1, max_members=most - 1)
    solution = solve_circles(model, max_rounds=int(config.circles.pricing_rounds),
                             effort=float(config.circles.search_effort), progress=progress)
    return _circle_match(cohort, pool, model, solution, kind, size)


def circle_sizes(config: Config, size: int, kind: str) -> tuple[int, int]:
    """``[circles] min_size`` and the most people a circle of ``size`` holds (the lead included),
    or the one line that refuses a size or kind that cannot be formed."""
    if kind not in KINDS:
        raise MentorError(f"unknown kind of circle {kind!r}", hint='Use "mentor-led" or "peer".')
    min_size = int(config.circles.min_size)
    most = size + 1 if kind == "mentor-led" else size
    if size < 1 or most < min_size:
        what = "mentees per mentor" if kind == "mentor-led" else "peers per circle"
        raise MentorError(f"circles of {size} {what} are smaller than [circles] min_size = {min_size} people "
                          "(the lead included)", path=config.path,
                          hint="Ask for larger circles, or lower min_size in mentor.toml.")
    return min_size, most


def _pool(people: pd.DataFrame, config: Config, kind: str) -> _Pool:
    roles = people["role"].astype(str).str.lower().to_numpy()
    capacity = people["capacity"].to_numpy(dtype=np.int64)
    wants = people["wants"].to_numpy(dtype=np.int64)
    volunteer = _volunteers(people)
    if kind == "mentor-led":
        can_lead = np.isin(roles, ("mentor", "both")) & (capacity > 0)
        can_join = np.isin(roles, ("mentee", "both")) & (wants > 0)
        limit = np.where(can_lead, capacity, 1)
    else:
        can_join = np.isin(roles, list(config.circles.peer_roles))
        can_lead = can_join & (volunteer != "no")
        limit = np.ones(len(people), np.int64)
    inside = np.flatnonzero(can_lead | can_join)
    experience = people["experience"].to_numpy(dtype=float)
    years = np.where(np.isnan(experience), -np.inf, experience)
    offered = np.where(volunteer == "yes", 0, np.where(volunteer == "no", 2, 1))
    order = np.lexsort((np.arange(len(people)), -years, offered))
    rank = np.empty(len(people), np.int64)
    rank[order] = np.arange(len(people))
    return _Pool(inside, can_lead[inside], can_join[inside], limit[inside], rank[inside])


def circle_cohort(people: pd.DataFrame, config: Config, *, size: int, kind: str,
                  avoid_pairs: Iterable[tuple[str, str]]) -> tuple[int, int, _Pool, Cohort]:
    """What a first match and a ``--keep`` rematch both start from: the fewest and most people of a
    circle, who may lead or join, and the cohort encoded over them (both sides the pool: anyone may
    meet anyone). Peer circles drop ``choices_only``, which is about mentors chosen."""
    min_size, most = circle_sizes(config, size, kind)
    if kind == "peer":
        config = dataclasses.replace(config, rules=dataclasses.replace(config.rules, choices_only=False))
    pool = _pool(people, config, kind)
    cohort = prepare_cohort(people, config, avoid_pairs=list(avoid_pairs), mentee_index=pool.people,
                            mentor_index=pool.people)
    return min_size, most, pool, cohort


def _volunteers(people: pd.DataFrame) -> np.ndarray:
    """"yes", "no" or "" per person: their answer to "facilitate a peer circle?" (a People frame
    built by hand may have no such column: nobody answered)."""
    if "facilitate" not in people.columns:
        return np.full(len(people), "", dtype=object)
    return people["facilitate"].astype(str).str.strip().str.lower().to_numpy(dtype=object)


# --------------------------------------------------------------------------- the model


def _model(cohort: Cohort, pool: _Pool, kind: str, *, min_members: int, max_members: int) -> CircleModel:
    k = len(pool.people)
    rhs = np.where(pool.can_lead, pool.limit, 1).astype(np.int64)
    coef = rhs.copy()
    place = FULL * k + 1
    wanted = cohort.mentees.topics > 0
    lead_goals = (cohort.mentors.topics > 0) if kind == "mentor-led" else wanted
    classes = _classes(cohort)
    weeks = circle_weeks(cohort)
    starts, mask_of = weeks.starts, weeks.mask_of
    cells = _allowed_cells(cohort, pool, kind)
    speaks = circle_languages(cohort)
    leads: list[Lead] = []
    for col in np.flatnonzero(pool.can_lead).tolist():
        rows, values = cells.get(col, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        rows, values = _other_class(rows, values, classes, col)
        goal_ids = np.flatnonzero(lead_goals[col] & (wanted[rows].sum(axis=0) >= max(min_members, 1)))
        if len(rows) < min_members or not len(goal_ids):
            continue
        member_goals, goal_list, languages = split_by_language(speaks, [col], rows, wanted[rows][:, goal_ids],
                                                               goal_ids.tolist(), min_members)
        useful = member_goals.any(axis=1)
        rows, values, member_goals = rows[useful], values[useful], member_goals[useful]
        window_ids, member_windows = _windows(starts, mask_of, col, rows, min_members)
        if len(rows) < min_members or not len(window_ids) or not len(goal_list):
            continue
        leads.append(Lead(person=int(pool.people[col]), row=col, limit=int(pool.limit[col]),
                          own=place if kind == "peer" else 0, members=pool.people[rows], rows=rows,
                          values=values, goals=member_goals, goal_ids=goal_list, windows=member_windows,
                          window_ids=window_ids, classes=classes[rows], language_ids=languages))
    return CircleModel(rhs=rhs, coef=coef, leads=leads, place=place, min_members=min_members,
                       max_members=max_members, conflicts=_conflicts(cohort))


@dataclasses.dataclass(frozen=True)
class Languages:
    """Who speaks which language, over the pool (rows in pool order), for the circle language rule."""

    speaks: np.ndarray
    """(pool, languages) bool: a person who gave no language counts as speaking every one (no
    answer is no evidence of a clash, as for pairs)."""
    answered: np.ndarray
    labels: list[str]


def circle_languages(cohort: Cohort) -> Languages | None:
    """With ``[rules] require_shared_language`` (None when off): each circle has a language all its
    people speak, not only one per member shared with the lead. A circle meets together, so two
    members who share no language could not talk (the rule between every two of its people)."""
    if not cohort.config.rules.require_shared_language:
        return None
    lists = cohort.column("languages")
    keys: list[dict[str, str]] = []
    for person in cohort.mentees.person.tolist():
        found: dict[str, str] = {}
        for text in lists[person] or ():
            key = option_key(str(text))
            if key and key not in found:
                found[key] = str(text)
        keys.append(found)
    vocabulary = sorted({key for found in keys for key in found})
    if not vocabulary:
        return None
    position = {key: j for j, key in enumerate(vocabulary)}
    speaks = np.zeros((len(keys), len(vocabulary)), bool)
    labels = [""] * len(vocabulary)
    for i, found in enumerate(keys):
        for key, text in found.items():
            speaks[i, position[key]] = True
            labels[position[key]] = labels[position[key]] or text
    answered = np.asarray(speaks.any(axis=1), dtype=bool)
    return Languages(speaks | ~answered[:, None], answered, labels)


def split_by_language(languages: Languages | None, leads: Sequence[int], rows: np.ndarray, member_goals: np.ndarray,
                      goal_ids: list[int], fewest: int) -> tuple[np.ndarray, list[int], list[int] | None]:
    """Each goal column of a lead split by a language the lead and the member speak, so every
    circle priced has one language in common (the goal of column j is ``goal_ids[j]``, its language
    the returned ``language_ids[j]``). ``leads``: the lead, or a kept circle's lead and members (the
    language must be one they all speak). No split when nobody here gave a language (nothing to
    hold). Columns fewer than ``fewest`` members could fill are dropped."""
    if languages is None:
        return member_goals, goal_ids, None
    leads = list(leads)
    answered = bool(languages.answered[leads].any())
    if not (answered or languages.answered[rows].any()):
        return member_goals, goal_ids, None
    theirs = np.logical_and.reduce(languages.speaks[leads], axis=0)
    given = languages.speaks[rows] & languages.answered[rows][:, None]
    spoken = np.flatnonzero(theirs & (answered | given.any(axis=0)))
    split = (member_goals[:, :, None] & languages.speaks[rows][:, None, spoken]).reshape(len(rows), -1)
    goal_of = np.repeat(np.asarray(goal_ids, np.int64), len(spoken))
    language_of = np.tile(spoken, len(goal_ids))
    enough = split.sum(axis=0) >= max(fewest, 1)
    return split[:, enough], goal_of[enough].tolist(), language_of[enough].tolist()


def _allowed_cells(cohort: Cohort, pool: _Pool, kind: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per lead (pool index): the members it may have (pool indices, ascending) and their scores.

    Allowed: no rule forbids the pair (lead as mentor, member as mentee), the two are different
    people, they share a goal the lead offers (or, for peers, wants), and, for peers, the lead
    ranks above the member (a volunteer, else the most experienced member, facilitates).
    """
    joiners = np.flatnonzero(pool.can_join)
    leaders = np.flatnonzero(pool.can_lead)
    wanted = (cohort.mentees.topics > 0).astype(np.float32)
    offered = (cohort.mentors.topics > 0).astype(np.float32) if kind == "mentor-led" else wanted
    found_rows: list[np.ndarray] = []
    found_cols: list[np.ndarray] = []
    found_scores: list[np.ndarray] = []
    for r0, r1 in _blocks(len(joiners), len(leaders)):
        rows = joiners[r0:r1]
        scores, allowed = score_rows(cohort, 0, 0, rows=rows, cols=leaders)
        allowed &= (wanted[rows] @ offered[leaders].T) > 0
        allowed &= rows[:, None] != leaders[None, :]
        if kind == "peer":
            allowed &= pool.rank[rows][:, None] > pool.rank[leaders][None, :]
        local, cols = np.nonzero(allowed)
        found_rows.append(rows[local])
        found_cols.append(leaders[cols])
        found_scores.append(scores[local, cols].astype(np.int64))
    if not found_rows:
        return {}
    rows, cols, scores = np.concatenate(found_rows), np.concatenate(found_cols), np.concatenate(found_scores)
    order = np.lexsort((rows, cols))
    rows, cols, scores = rows[order], cols[order], scores[order]
    starts = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]]) if len(cols) else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], len(cols)]
    return {int(cols[s]): (rows[s:e], scores[s:e]) for s, e in zip(starts.tolist(), ends.tolist())}


def _classes(cohort: Cohort) -> np.ndarray:
    """Per pool index, a class of which a circle holds at most one member: the department with
    ``mix_departments``, else the team (organisation and department) with ``forbid_same_team``;
    a blank answer, or neither rule, gives each person a class of their own."""
    k = len(cohort.mentees)
    team = cohort.distinct["team"][cohort.mentees.team]
    own = np.arange(k) + int(team.max(initial=0)) + 1
    if cohort.config.circles.mix_departments:
        return np.where(team[:, 1] >= 0, team[:, 1], own)
    if cohort.config.rules.forbid_same_team:
        both = (team[:, 0] >= 0) & (team[:, 1] >= 0)
        return np.where(both, cohort.mentees.team, own + len(cohort.distinct["team"]))
    return own


def _other_class(rows: np.ndarray, values: np.ndarray, classes: np.ndarray, lead: int) -> tuple[np.ndarray, np.ndarray]:
    """Members not in the lead's own class (the lead is one of the circle too)."""
    keep = classes[rows] != classes[lead]
    return rows[keep], values[keep]


@dataclasses.dataclass(frozen=True)
class CircleWeeks:
    """When circles may meet: per weekly mask the slots a meeting may start in, each pool person's
    mask row, and the slot length in minutes."""

    starts: np.ndarray
    mask_of: np.ndarray
    slot: int


def circle_weeks(cohort: Cohort) -> CircleWeeks:
    """The weekly masks on which circles are formed (see ``CircleWeeks``).

    Someone who gave no availability is taken to accept ``[schedule] earliest``-``latest`` on any
    day in their own time zone (the cohort's most common when theirs is unknown): what the
    scheduler assumes of them, so every circle's window is a time the scheduler can use for all.
    The grid is refined to put those hours' edges on it exactly (the cohort's grid may be coarser).
    """
    weekly = cohort.weekly
    mask_of = weekly.ids[cohort.mentees.person].copy()
    masks, slot = weekly.masks, int(weekly.slot)
    if not masks.shape[1]:
        return CircleWeeks(np.ones((len(masks), 1), bool), mask_of, slot)
    blank = ~np.asarray(masks.any(axis=1), dtype=bool)[mask_of]
    if blank.any():
        zones = cohort.people["timezone"].fillna("").astype(str).to_numpy()
        fallback = weekly.assumed_zone or most_common_zone(zones)
        own = [str(z) if tzinfo_for(str(z)) is not None else fallback for z in zones[cohort.mentees.person[blank]]]
        distinct, which = np.unique(np.array(own, dtype=str), return_inverse=True)
        edges = [comfort_edges(cohort.config, str(zone)) for zone in distinct.tolist()]
        finer = grid_slot([np.array([slot]), *edges])
        masks = np.repeat(masks, slot // finer, axis=1) if slot % finer == 0 else masks
        slot = finer if masks.shape[1] * finer == WEEK_MINUTES else slot
        comfort = np.array([grid_mask(part, slot) for part in edges]).reshape(len(distinct), masks.shape[1])
        mask_of[blank] = len(masks) + which.reshape(-1)
        masks = np.vstack([masks, comfort])
    length = max(1, -(-int(cohort.config.schedule.duration_minutes) // slot))
    starts = masks.copy()
    for shift in range(1, length):
        starts &= np.roll(masks, -shift, axis=1)
    return CircleWeeks(starts, mask_of, slot)


def _windows(starts: np.ndarray, mask_of: np.ndarray, lead: int, rows: np.ndarray,
             min_members: int) -> tuple[list[int], np.ndarray]:
    """The lead's distinct windows (first slot of each), dropping any window whose members are a
    subset of another's, and the (members x windows) table of who can make each. Worked out over
    the distinct weekly masks (few) rather than the members (many)."""
    slots = np.flatnonzero(starts[mask_of[lead]])
    masks, member_mask = np.unique(mask_of[rows], return_inverse=True)
    table = starts[masks][:, slots]
    if not table.size:
        return [], np.zeros((len(rows), 0), bool)
    distinct, first = np.unique(table, axis=1, return_index=True)
    weight = np.bincount(member_mask.reshape(-1), minlength=len(masks)).astype(np.int64)
    counts = weight @ distinct
    keep = counts >= max(min_members, 1)
    distinct, first = distinct[:, keep], first[keep]
    as_int = distinct.astype(np.int64) * weight[:, None]
    inside = as_int.T @ distinct.astype(np.int64)  # [a, b]: members of a who are in b
    sizes = np.diag(inside)
    covered = (inside == sizes[:, None]) & ((sizes[None, :] > sizes[:, None])
                                            | ((sizes[None, :] == sizes[:, None]) & (first[None, :] < first[:, None])))
    dominated = covered.any(axis=1)
    order = np.argsort(first[~dominated], kind="stable")
    chosen = distinct[:, ~dominated][:, order]
    return slots[first[~dominated][order]].tolist(), chosen[member_mask.reshape(-1)]


def _conflicts(cohort: Cohort) -> dict[int, frozenset[int]]:
    """People who may not share a circle: the avoid and earlier-pair rules' cells, both ways."""
    pairs: dict[int, set[int]] = {}
    for name in ("avoid", "earlier"):
        rows, cols = cohort.forbidden.get(name, (np.zeros(0, np.int64),) * 2)
        for a, b in zip(cohort.mentees.person[rows].tolist(), cohort.mentors.person[cols].tolist()):
            pairs.setdefault(a, set()).add(b)
            pairs.setdefault(b, set()).add(a)
    return {person: frozenset(others) for person, others in sorted(pairs.items())}


# --------------------------------------------------------------------------- the answer


def _circle_match(cohort: Cohort, pool: _Pool, model: CircleModel, solution: CircleSolution, kind: str,
                  size: int) -> CircleMatch:
    people = cohort.people
    names = people["name"].astype(str).tolist()
    emails = people["email"].astype(str).tolist()
    lead_role: MemberRole = "mentor" if kind == "mentor-led" else "facilitator"
    member_role: MemberRole = "mentee" if kind == "mentor-led" else "peer"
    goal_text = _goal_texts(cohort)
    languages = circle_languages(cohort)
    weeks = circle_weeks(cohort)
    columns = sorted(solution.columns, key=lambda c: (model.leads[c.lead].person, c.members))
    circles: list[Relationship] = []
    scores_total = 0
    width = max(3, len(str(len(columns))))
    for number, column in enumerate(columns, start=1):
        lead = model.leads[column.lead]
        index = {int(p): i for i, p in enumerate(lead.members.tolist())}
        values = [int(lead.values[index[p]]) for p in column.members]
        scores_total += sum(values)
        goal = goal_text[lead.goal_ids[column.goal]]
        language = "" if lead.language_ids is None or languages is None else languages.labels[lead.language_ids[column.goal]]
        window = _window_text(lead.window_ids[column.window], weeks.slot,
                              int(cohort.config.schedule.duration_minutes))
        members = (Member(emails[lead.person], names[lead.person], lead_role),
                   *(Member(emails[p], names[p], member_role) for p in column.members))
        why = _why(cohort, lead.person, list(column.members), goal, window, kind, language)
        circles.append(Relationship(id=f"C{number:0{width}d}", members=members,
                                    score=round(sum(values) / len(values) / 100, 2), why=why))
    objective = solution.objective
    bound = solution.bound
    places = sum(len(c.members) + (1 if kind == "peer" else 0) for c in columns)
    gap, places_bound, score_bound = _gap(objective, bound, model.place)
    status = "optimal" if gap == 0 else f"within {gap:.2f}% of the best possible"
    unmatched = _unmatched(cohort, pool, model, columns, kind)
    settings = {
        "kind": kind, "size": size, "min_size": int(cohort.config.circles.min_size),
        "mix_departments": bool(cohort.config.circles.mix_departments),
        "status": status, "gap_percent": gap, "places_bound": places_bound, "score_bound": round(score_bound / 100, 2),
        "objective": int(objective), "bound": int(bound), "place_value": int(model.place),
        "places": places, "total_score": round(scores_total / 100, 2), "circles": len(circles),
        "pricing_rounds": solution.rounds, "converged": solution.converged, "columns": solution.generated,
    }
    return CircleMatch(kind="mentor-led" if kind == "mentor-led" else "peer", circles=circles, unmatched=unmatched,
                       objective=float(objective), bound=float(bound), status=status,
                       notes=list(cohort.notes), settings=settings)


def _gap(objective: int, bound: int, place: int) -> tuple[float, int, int]:
    """How far the circles may be from the best possible, in percent (rounded up), with the proven
    most places and, for that many places, the proven highest total score (in hundredths).

    The objective is ``place`` per person placed plus the scores, ``place`` above every score
    together, so ``bound // place`` bounds the places. With fewer places than that, the gap is in
    places; with as many, it is in score, against ``bound - place x places``.
    """
    if bound <= objective:
        return 0.0, objective // place, objective % place
    places, score = divmod(objective, place)
    places_bound = bound // place
    if places < places_bound:
        return math.ceil(10000.0 * (places_bound - places) / places_bound) / 100, places_bound, bound - place * places
    score_bound = bound - place * places
    return math.ceil(10000.0 * (score_bound - score) / max(score_bound, 1)) / 100, places_bound, score_bound


def _goal_texts(cohort: Cohort) -> list[str]:
    """Each goal key as a member first wrote it (the vocabulary holds case-folded keys)."""
    shown: dict[str, str] = {}
    for column in ("goals", "topics", "expertise"):
        for answer in cohort.people[column].tolist():
            for text in answer or ():
                shown.setdefault(option_key(text), str(text))
    return [shown.get(key, key) for key in cohort.vocab_topics]


def _window_text(slot: int, minutes: int, duration: int) -> str:
    start = slot * minutes
    end = start + duration
    day, hour = divmod(start, 1440)
    end_hour = end % 1440
    return f"{DAYS[day % 7]} {hour // 60:02d}:{hour % 60:02d}-{end_hour // 60:02d}:{end_hour % 60:02d} UTC"


def _why(cohort: Cohort, lead: int, members: list[int], goal: str, window: str, kind: str, language: str = "") -> str:
    """The circle's shared goal, its common window, and what each member brings."""
    people = cohort.people
    given = np.asarray(cohort.weekly.masks.any(axis=1), dtype=bool)[cohort.weekly.ids]
    lead_name = str(people.at[lead, "name"])
    said = [f"Shared goal: {goal}" + (f" ({lead_name} offers it)" if kind == "mentor-led" else "")]
    unknown = [str(people.at[p, "name"]) for p in [lead, *members] if not given[p]]
    said.append(f"common weekly window: {window}"
                + (f" ({', '.join(unknown)} gave no availability)" if unknown else ""))
    if language:
        said.append(f"common language: {language}")
    said.append(f"{lead_name} ({_lead_words(people, lead, kind)}): "
                + _brings(people, lead))
    said += [f"{people.at[p, 'name']}: {_brings(people, p)}" for p in members]
    return "; ".join(said) + "."


def _lead_words(people: pd.DataFrame, lead: int, kind: str) -> str:
    if kind == "mentor-led":
        return "mentor"
    answer = str(people.at[lead, "facilitate"]).strip().lower() if "facilitate" in people.columns else ""
    return "facilitator, volunteered" if answer == "yes" else "facilitator, most experienced"


def _brings(people: pd.DataFrame, person: int) -> str:
    parts = []
    department = str(people.at[person, "department"] or "")
    if department:
        parts.append(department)
    years = people.at[person, "experience"]
    if isinstance(years, float) and not math.isnan(years):
        parts.append(f"{years:g} years")
    offers = list(people.at[person, "expertise"] or ())
    if offers:
        parts.append("offers " + ", ".join(offers[:3]))
    goals = list(people.at[person, "goals"] or ())
    if goals:
        parts.append("wants " + ", ".join(goals[:3]))
    return ", ".join(parts) or "no details given"


def _unmatched(cohort: Cohort, pool: _Pool, model: CircleModel, columns: list, kind: str) -> pd.DataFrame:
    """A reason for everyone of the pool left out of every circle, as specific as the model allows."""
    placed: set[int] = set()
    led: set[int] = set()
    for column in columns:
        lead = model.leads[column.lead].person
        led.add(lead)
        placed.update(column.members)
        if kind == "peer":
            placed.add(lead)
    candidates: dict[int, int] = {}
    leads_of: dict[int, list[int]] = {}
    for lead in model.leads:
        for person in lead.members.tolist():
            candidates[person] = candidates.get(person, 0) + 1
            leads_of.setdefault(person, []).append(lead.person)
    lead_people = {lead.person for lead in model.leads}
    has_goals = np.asarray((cohort.mentees.topics > 0).any(axis=1), dtype=bool)
    records = []
    for k, person in enumerate(pool.people.tolist()):
        if person in placed or person in led:
            continue
        joiner = bool(pool.can_join[k])
        if kind == "mentor-led" and pool.can_lead[k] and not joiner:
            role = "mentor"
            reason = (f"leads no circle: fewer than {model.min_members} mentees who may join them share a goal they offer "
                      "and a weekly window" if person not in lead_people else
                      "leads no circle: the mentees who could join them are placed in other circles that score higher "
                      "or place more people")
        else:
            role = "mentee" if kind == "mentor-led" else "peer"
            lead_word = "mentor" if kind == "mentor-led" else "possible facilitator"
            if not has_goals[k]:
                reason = "gave no goals, so they share none with a circle"
            elif person not in candidates and person not in lead_people:
                reason = (f"no {lead_word} who may be with them (rules in force, a goal in common) can form a circle of "
                          f"at least {model.min_members + 1} with them in a common weekly window")
            else:
                could = candidates.get(person, 0)
                led_by = f"{could} {lead_word}(s) could have them in a circle" if could else "no one could lead them"
                also = "; they could lead one themselves" if person in lead_people else ""
                reason = (f"{led_by}{also}, but the circles chosen place more people, or score higher, without them "
                          "(the most places, then the best total)")
        records.append((person, role, reason))
    records += _outside_the_pool(cohort, pool, kind)
    records.sort(key=lambda record: record[0])
    return pd.DataFrame(records, columns=["person", "role", "reason"]).astype({"person": int})


def _outside_the_pool(cohort: Cohort, pool: _Pool, kind: str) -> list[tuple[int, str, str]]:
    """Everyone who may neither lead nor join this kind of circle, with the reason: the workbook's
    reader warns about anyone in People who is in no circle and not on Unmatched."""
    roles = cohort.people["role"].astype(str).str.lower().tolist()
    inside = set(pool.people.tolist())
    if kind == "peer":
        peers = " or ".join(f'"{role}"' for role in cohort.config.circles.peer_roles)
        why = f"peer circles are formed of those who signed up as {peers} ([circles] peer_roles)"
    else:
        why = "can neither lead a circle (a mentor who can take mentees) nor join one (a mentee who wants a mentor)"
    return [(person, roles[person], f"signed up as {roles[person]}: {why}")
            for person in range(len(roles)) if person not in inside]

