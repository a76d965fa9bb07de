"""Step 5: why each pair was made, and why each person was left out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mentorcli.bulk import gc_paused
from mentorcli.config import Config
from mentorcli.matching.cohort import Cohort, Progress, _blocks
from mentorcli.matching.criteria import CRITERIA, pair_scores
from mentorcli.matching.encode import option_key
from mentorcli.matching.rules import (
    RULE_BY_NAME,
    RULES,
    pair_rules,
    reasons,
    rule_matrix,
)
from mentorcli.matching.words import PairBlock, PairFacts, Said, _list_text

ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}

def _ordinal(rank: int) -> str:
    return ORDINALS.get(rank, f"{rank}th")


def _sentence(head: list[str], shared: str, different: str, compared: bool = True, network: str = "") -> str:
    """The Why from its parts: what comes first (kept, requests), what is shared, what the
    mentee's mentors cover together (``network``, a developmental network), what differs.

    ``compared`` False: no criterion could be compared (the score is the neutral 50); the Why
    says so first, with what the pair was made for (a choice, a request, kept)."""
    if not compared:
        text = "no answers to compare" + (": " + "; ".join(head) if head else " (neutral score)")
        text = "; ".join(filter(None, [text, shared]))
    else:
        text = ("; ".join([*head, shared]) if shared else "; ".join(head)) if head else shared
        text = text or "no answers to compare (neutral score)"
    if network:
        text += "; " + network
    if different:
        text += "; differs: " + different
    return text[:1].upper() + text[1:]


def _said_in_order(block: PairBlock) -> list[Said]:
    """Every declaration's words, in the Why's order: each criterion's in ``CRITERIA`` order, each
    followed by the words of the rules declared to come after it (``Rule.words_after``)."""
    said: list[Said] = []
    for criterion in CRITERIA:
        if criterion.words is not None:
            said.append(criterion.words(block))
        said.extend(rule.words(block) for rule in RULES if rule.words is not None and rule.words_after == criterion.name)
    return said


def _joined(columns: list[Sequence[str]], count: int, sep: str) -> list[str]:
    """Per pair: the non-empty phrases of ``columns``, in order, joined by ``sep``."""
    if not columns:
        return [""] * count
    return [sep.join(filter(None, words)) for words in zip(*columns)]


def _shared_and_differing(cohort: Cohort, rows: np.ndarray, cols: np.ndarray, criteria: dict[str, np.ndarray],
                          facts: PairFacts) -> tuple[list[str], list[str]]:
    """For each pair: what it shares ("; "-joined, in the Why's order) and what differs (", "-joined)."""
    said = _said_in_order(PairBlock.of(cohort, rows, cols, criteria, facts))
    shared = _joined([column for words in said for column in words.shared], len(rows), "; ")
    differing = _joined([column for words in said for column in words.differing], len(rows), ", ")
    return shared, differing


def why_texts(cohort: Cohort, rows: np.ndarray, cols: np.ndarray, criteria: dict[str, np.ndarray],
              bonus: Sequence[list[str]], kept: Sequence[bool], facts: PairFacts,
              progress: Progress | None = None, network: Sequence[str] | None = None) -> list[str]:
    """Plain words for each pair (cells ``rows``/``cols``): what it shares, what the mentee's
    mentors cover together (``network``: ``words.network_words``, "" for most pairs), then what differs.

    Column by column rather than pair by pair: each criterion's words are decided for all pairs at
    once, from each distinct answer (and pair of answers) worked out once; only the joining runs per
    pair. A per-pair pass over every field was most of the explain time.
    """
    with gc_paused():
        shared, differing = _shared_and_differing(cohort, rows, cols, criteria, facts)
        heads = [["kept from the earlier pairing", *words] if kept_pair else words for kept_pair, words in zip(kept, bonus)]
        counted = [~np.isnan(np.asarray(values, dtype=float)) for values in criteria.values()]
        compared = np.logical_or.reduce(counted).tolist() if counted else [False] * len(heads)
        texts: list[str] = []
        for start in range(0, len(heads), 5000):
            if progress:
                progress("explain", start, len(heads))
            end = start + 5000
            together = network[start:end] if network is not None else [""] * len(heads[start:end])
            texts.extend(map(_sentence, heads[start:end], shared[start:end], differing[start:end], compared[start:end],
                             together))
    return texts




def _bonus_words(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> tuple[list[list[str]], np.ndarray]:
    words: list[list[str]] = [[] for _ in rows]
    requested = np.zeros(len(rows), bool)
    if not len(cohort.bonus) or not len(rows):
        return words, requested
    width = max(len(cohort.mentors), 1)
    position = {int(k): i for i, k in enumerate((rows * width + cols).tolist())}
    for rec in cohort.bonus.itertuples(index=False):
        i = position.get(int(rec.row) * width + int(rec.col))
        if i is None:
            continue
        side = "mentee" if int(cohort.mentees.person[rec.row]) == int(rec.by) else "mentor"
        if rec.kind == "priority":  # rematch priority (prepare.priority_bonus): not a request
            words[i].append(f"the {side} was rematched first (their earlier pairing ended)")
            continue
        requested[i] = True
        if rec.kind == "request":
            words[i].append(f"requested by the {side}")
        else:
            words[i].append(f"the {side}'s {_ordinal(int(rec.rank))} choice")
    return words, requested



def _removal_steps(broken: dict[str, np.ndarray], counted: np.ndarray) -> list[list[tuple[str, int]]]:
    """Per row of the grids: which rules, in turn, removed every counted partner, and how many each.

    Each step takes the rule that removes the most of the partners still left (ties: the order
    of ``RULES``), so the first step is the broadest rule and the last the binding one: the rule
    that left the person without any partner. Worked out for every row at once.
    """
    names = [rule.name for rule in RULES if rule.name != "self" and rule.name in broken]
    if not names or not len(counted):
        return [[] for _ in range(len(counted))]
    stack = np.stack([broken[name] for name in names])
    remaining = counted.copy()
    steps: list[list[tuple[str, int]]] = [[] for _ in range(len(counted))]
    every = np.arange(len(counted))
    for _ in names:
        counts = (stack & remaining[None]).sum(axis=2)
        best = counts.argmax(axis=0)
        top = counts[best, every]
        active = np.flatnonzero(top > 0)
        if not len(active):
            break
        for row in active.tolist():
            steps[row].append((names[best[row]], int(top[row])))
        remaining[active] &= ~stack[best[active], active]
    return steps


def _removal_text(steps: list[tuple[str, int]], total: int, what: str, config: Config) -> str:
    """"no allowed mentor: 5 of the 6 mentors share no language; the remaining one is in the same team"."""
    if not steps:
        return f"no allowed {what}"
    verb = lambda name, count: RULE_BY_NAME[name].verb(count, what, config)
    if len(steps) == 1:
        name, count = steps[0]
        if total == 1:
            return f"no allowed {what}: the only {what} {verb(name, 1)}"
        return f"no allowed {what}: all {total} {what}s {verb(name, count)}"
    name, count = steps[0]
    parts = [f"{count} of the {total} {what}s {verb(name, count)}"]
    rest = total - count
    for name, count in steps[1:-1]:
        parts.append(f"of the other {rest}, {count} {verb(name, count)}")
        rest -= count
    name, count = steps[-1]
    parts.append(f"the remaining {'one' if count == 1 else count} {verb(name, count)}")
    return f"no allowed {what}: " + "; ".join(parts)


def _names_text(cohort: Cohort, persons: Sequence[int], limit: int = 3) -> str:
    """Up to ``limit`` names from the signups, then "and N more"."""
    names = cohort.column("name")
    return _list_text([str(names[p]).strip() for p in persons], limit)


@dataclass
class _Holders:
    """Who each mentor column is paired with (People positions, signup order), for naming who filled them."""

    mentees: dict[int, list[int]]

    @classmethod
    def build(cls, cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> _Holders:
        holders: dict[int, list[int]] = {}
        persons = cohort.mentees.person[rows].tolist() if len(rows) else []
        for col, person in sorted(zip(cols.tolist(), persons)):
            holders.setdefault(col, []).append(person)
        return cls(holders)

    def full_text(self, cohort: Cohort, cols: Sequence[int], other: bool) -> str:
        """"the only allowed mentor, Ana, is full (with Bo)" / "all 2 allowed mentors are full: Ana (with Bo), ..."."""
        names = cohort.column("name")
        persons = cohort.mentors.person
        allowed = "other allowed mentor" if other else "allowed mentor"
        described = [f"{str(names[persons[c]]).strip()} (with {_names_text(cohort, self.mentees.get(c, []))})"
                     for c in list(cols)[:3]]
        if len(cols) == 1:
            return f"the only {allowed}, {described[0].replace(' (with', ', is full (with', 1)}"
        more = f" and {len(cols) - 3} more" if len(cols) > 3 else ""
        return f"all {len(cols)} {allowed}s are full: " + ", ".join(described) + more

    def with_text(self, cohort: Cohort, col: int) -> str:
        return _names_text(cohort, self.mentees.get(col, []))


@dataclass
class _Choices:
    """Each short mentee's own ranked choices that name a mentor: (rank, mentor col), with the
    rules each such pair breaks and its score, worked out for all of them at once."""

    by_row: dict[int, list[tuple[int, int]]]
    broken: dict[str, np.ndarray]
    scores: np.ndarray
    at: dict[tuple[int, int], int]

    @classmethod
    def build(cls, cohort: Cohort, rows: np.ndarray) -> _Choices:
        bonus = cohort.bonus
        by_row: dict[int, list[tuple[int, int]]] = {}
        if len(bonus) and len(rows):
            own = bonus[(bonus["kind"] == "choice")
                        & (bonus["by"].to_numpy() == cohort.mentees.person[bonus["row"].to_numpy()])
                        & bonus["row"].isin(rows)]
            for row, rank, col in zip(own["row"].tolist(), own["rank"].tolist(), own["col"].tolist()):
                by_row.setdefault(int(row), []).append((int(rank), int(col)))
        cells = sorted({(row, col) for row, chosen in by_row.items() for _, col in chosen})
        r = np.array([c[0] for c in cells], np.int64)
        c = np.array([c[1] for c in cells], np.int64)
        broken = pair_rules(cohort, r, c) if cells else {}
        scores = pair_scores(cohort, r, c) if cells else np.zeros(0, np.int16)
        return cls(by_row, broken, scores, {cell: k for k, cell in enumerate(cells)})

    def texts(self, cohort: Cohort, row: int, paired: set[int], has_room: np.ndarray, holders: _Holders,
              threshold: int | None) -> list[str]:
        """For each of the mentee's own ranked choices not honoured: which rule or shortage stopped it."""
        answers = cohort.column("choices")[int(cohort.mentees.person[row])]
        if not answers:
            return []
        by_rank = dict(self.by_row.get(row, []))
        names = cohort.column("name")
        texts = []
        for rank in range(1, len(answers) + 1):
            col = by_rank.get(rank)
            label = f"{_ordinal(rank)} choice"
            if col is None:
                texts.append(f"{label}: not found among the mentors")
                continue
            if col in paired:
                continue
            k = self.at[(row, col)]
            label += f" {str(names[cohort.mentors.person[col]]).strip()}"
            rules = reasons(self.broken, k)
            if rules:
                texts.append(f"{label}: {', '.join(rules)}")
            elif not has_room[col]:
                texts.append(f"{label}: full with {holders.with_text(cohort, col)}")
            elif threshold is not None and int(self.scores[k]) < threshold:
                texts.append(f"{label}: scores below the fairness floor of {threshold / 100:g}")
            else:
                texts.append(f"{label}: allowed, but not paired")
        return texts


@dataclass
class _Shortage:
    """Per goal option: how many mentees want it, how many mentors offer it, whether all of those are full."""

    wanting: np.ndarray
    offering: np.ndarray
    all_full: np.ndarray

    @classmethod
    def build(cls, cohort: Cohort, assigned: np.ndarray) -> _Shortage:
        m, r = cohort.mentees, cohort.mentors
        full = assigned >= r.limit
        offering = r.topics.sum(axis=0)
        open_offering = r.topics[~full].sum(axis=0)
        return cls(m.topics.sum(axis=0).astype(int), offering.astype(int), (offering > 0) & (open_offering == 0))

    def text(self, cohort: Cohort, row: int) -> str:
        """'4 mentees want Data science; the 2 mentors who offer it are full' for the mentee's first such goal."""
        person = int(cohort.mentees.person[row])
        goals = [*cohort.column("goals")[person], *cohort.column("topics")[person]]
        vocab = {k: i for i, k in enumerate(cohort.vocab_topics)}
        for goal in goals:
            k = vocab.get(option_key(goal))
            if k is None or k >= len(self.offering):
                continue
            label, wanting, offering = str(goal).strip(), int(self.wanting[k]), int(self.offering[k])
            if offering == 0:
                return f"no mentor offers {label}"
            if self.all_full[k]:
                return (f"{wanting} mentee{'s' if wanting != 1 else ''} want{'s' if wanting == 1 else ''} {label}; "
                        f"the {offering} mentor{'s' if offering != 1 else ''} who offer{'s' if offering == 1 else ''} it "
                        f"{'are' if offering != 1 else 'is'} full")
        return ""


def _paired_grid(rows: np.ndarray, width: int, pair_rows: np.ndarray, pair_cols: np.ndarray) -> np.ndarray:
    """Grid ``rows`` x every mentor: True where the mentee of that row is already paired with the mentor.

    Scattered from the pair list (O(pairs)) instead of looking every cell up in it (a sort of the
    whole grid per block).
    """
    at = np.full(int(max(rows.max(initial=-1), pair_rows.max(initial=-1))) + 1, -1, np.int64)
    at[rows] = np.arange(len(rows))
    grid = np.zeros((len(rows), width), bool)
    k = at[pair_rows]
    inside = k >= 0
    grid[k[inside], pair_cols[inside]] = True
    return grid


def unmatched_reasons(cohort: Cohort, pairs_rows: np.ndarray, pairs_cols: np.ndarray, kept_rows: np.ndarray,
                      kept_cols: np.ndarray, threshold: int | None) -> pd.DataFrame:
    """A true reason for every mentee with unfilled wants and every mentor with no mentee.

    The reasons rest on the optimum: with the most places filled, a mentee left short has only
    full mentors among the allowed ones (or the fairness floor removed the rest), and a mentor
    left idle has only mentees who already have all the mentors they want. Full mentors are
    named with who filled them; when rules removed every partner, the reason says which rule
    did it last (``_removal_steps``); a mentee's own ranked choices each get what stopped them.
    """
    m, r = cohort.mentees, cohort.mentors
    n, width = cohort.shape
    all_rows = np.concatenate([pairs_rows, kept_rows]).astype(np.int64)
    all_cols = np.concatenate([pairs_cols, kept_cols]).astype(np.int64)
    got = np.bincount(all_rows, minlength=n) if n else np.zeros(0, np.int64)
    assigned = np.bincount(all_cols, minlength=width) if width else np.zeros(0, np.int64)
    records: list[tuple[int, str, str]] = []
    short = np.flatnonzero(got < m.limit)
    floor = f"{threshold / 100:g}" if threshold else ""
    shortage = _Shortage.build(cohort, assigned)
    holders = _Holders.build(cohort, all_rows, all_cols)
    paired: dict[int, set[int]] = {}
    for row, col in zip(all_rows.tolist(), all_cols.tolist()):
        paired.setdefault(row, set()).add(col)
    cols = np.arange(width)
    has_room = assigned < r.limit
    config = cohort.config
    choices = _Choices.build(cohort, short)
    for r0, r1 in _blocks(len(short), width):
        rows = short[r0:r1]
        broken = rule_matrix(cohort, rows, cols)
        allowed = ~np.logical_or.reduce(list(broken.values()))
        mine = _paired_grid(rows, width, all_rows, all_cols)
        n_allowed, n_mine = allowed.sum(axis=1).tolist(), mine.sum(axis=1).tolist()
        room = allowed & has_room[None, :]
        room &= ~mine
        n_rooms = room.sum(axis=1).tolist()
        none_allowed = np.flatnonzero(allowed.sum(axis=1) == 0)
        steps = dict(zip(none_allowed.tolist(), _removal_steps(
            {name: v[none_allowed] for name, v in broken.items()}, ~broken["self"][none_allowed])))
        for k, row in enumerate(rows.tolist()):
            prefix = f"{got[row]} of {m.limit[row]} wanted mentors found; " if got[row] else ""
            n_room = n_rooms[k]
            if width == 0:
                reason = "no mentors signed up"
            elif n_allowed[k] == 0:
                reason = _removal_text(steps[k], int((~broken["self"][k]).sum()), "mentor", config)
            elif n_room and threshold:
                reason = (f"the {n_room} allowed mentor{'s' if n_room != 1 else ''} with room "
                          f"score{'s' if n_room == 1 else ''} below the fairness floor of {floor}")
            elif n_allowed[k] <= n_mine[k]:
                reason = ("the only allowed mentor is already their mentor" if n_allowed[k] == 1
                          else f"every allowed mentor ({n_allowed[k]}) is already their mentor")
            else:
                full = np.flatnonzero(allowed[k] & ~mine[k]).tolist()
                reason = holders.full_text(cohort, full, other=bool(n_mine[k]))
                detail = shortage.text(cohort, row)
                if detail:
                    reason += f" ({detail})"
            stopped = choices.texts(cohort, row, paired.get(row, set()), has_room, holders, threshold)
            records.append((int(m.person[row]), "mentee", prefix + "; ".join([reason, *stopped])))
    # a "both" who offered no places is simply a mentee: not an idle mentor
    roles = np.asarray(cohort.column("role"), dtype=object)[r.person] if width else np.zeros(0, object)
    idle = np.flatnonzero((assigned == 0) & ~((r.limit <= 0) & (roles == "both")))
    if len(idle):
        n_ok = np.zeros(len(idle), np.int64)
        for r0, r1 in _blocks(n, len(idle)):
            broken = rule_matrix(cohort, np.arange(r0, r1), idle)
            n_ok += (~np.logical_or.reduce(list(broken.values()))).sum(axis=0)
        idle_steps = _idle_removal_steps(cohort, idle[(n_ok == 0) & (r.limit[idle] > 0)])
        for k, col in enumerate(idle.tolist()):
            if r.limit[col] <= 0:
                reason = "capacity is 0"
            elif n == 0:
                reason = "no mentees signed up"
            elif n_ok[k] == 0:
                counted, col_steps = idle_steps[col]
                reason = _removal_text(col_steps, counted, "mentee", config)
            else:
                ok = int(n_ok[k])
                reason = (f"spare capacity: no mentee left who could be paired with them (the {ok} "
                          f"mentee{'s' if ok != 1 else ''} they could mentor {'have' if ok != 1 else 'has'} "
                          f"all the mentors they want"
                          + (f" or score below the fairness floor of {floor}" if threshold else "") + ")")
            records.append((int(r.person[col]), "mentor", reason))
    frame = pd.DataFrame(records, columns=["person", "role", "reason"])
    return frame.sort_values(["person", "role"], kind="stable").reset_index(drop=True)


IDLE_GROUP = 64
"""Mentors with no allowed mentee are explained this many at a time (a grid of every mentee x them)."""


def _idle_removal_steps(cohort: Cohort, cols: np.ndarray) -> dict[int, tuple[int, list[tuple[str, int]]]]:
    """For mentors with no allowed mentee: (mentees counted, ``_removal_steps``) per mentor column."""
    n = len(cohort.mentees)
    found: dict[int, tuple[int, list[tuple[str, int]]]] = {}
    for start in range(0, len(cols), IDLE_GROUP):
        group = cols[start:start + IDLE_GROUP]
        broken = rule_matrix(cohort, np.arange(n), group)
        turned = {name: np.ascontiguousarray(v.T) for name, v in broken.items()}
        counted = ~turned["self"]
        for col, total, col_steps in zip(group.tolist(), counted.sum(axis=1).tolist(), _removal_steps(turned, counted)):
            found[col] = (int(total), col_steps)
    return found


# --------------------------------------------------------------------------- public entry points

