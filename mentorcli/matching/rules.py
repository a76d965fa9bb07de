"""Step 3: the rules: which pairs may not be made."""

from __future__ import annotations

from typing import Any

import numpy as np

from mentorcli.config import Config
from mentorcli.matching.cohort import Cohort, MentorColumns, _lookup

RULES = ("self", "language", "team", "organisation", "avoid", "earlier", "timezone", "choices")
RULE_TEXT = {
    "self": "is themselves",
    "language": "share no language",
    "team": "same team",
    "organisation": "same organisation",
    "avoid": "named in an avoid list",
    "earlier": "paired in an earlier cohort",
    "timezone": "too many hours apart",
    "choices": "not among the mentee's choices",
}
RULE_SINGULAR = {"language": "shares no language"}

def _known_and_equal(codes: np.ndarray) -> np.ndarray:
    """Every pair of codes that are the same known answer (a blank code, below 0, equals nothing)."""
    return (codes[:, None] == codes[None, :]) & (codes[:, None] >= 0)


def _team_tables(rules: Any, team_uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(same team, same organisation) over the distinct (organisation, department) codes.

    A blank answer is unknown and never makes a rule fire: the same team needs both
    organisations and both departments given and equal; the same department in two different
    organisations, or beside a blank organisation, is not the same team.
    """
    org, dept = team_uniques[:, 0], team_uniques[:, 1]
    same_org = _known_and_equal(org)
    same_team = same_org & _known_and_equal(dept)
    return (same_team if rules.forbid_same_team else np.zeros_like(same_team),
            same_org if rules.forbid_same_organisation else np.zeros_like(same_org))



def _rule_block(cohort: Cohort, a: np.ndarray, b: np.ndarray, columns: MentorColumns | None = None) -> dict[str, np.ndarray]:
    """Which cells each table rule forbids (True = forbidden)."""
    m, r = cohort.mentees, cohort.mentors
    return {
        "language": _lookup(cohort, "no_language", m.language_set, r.language_set, a, b, columns),
        "team": _lookup(cohort, "team", m.team, r.team, a, b, columns),
        "organisation": _lookup(cohort, "organisation", m.team, r.team, a, b, columns),
        "timezone": _lookup(cohort, "timezone", m.tz, r.tz, a, b, columns),
    }


def _apply_sparse_rules(cohort: Cohort, allowed: np.ndarray, rows: np.ndarray, cols: np.ndarray | None = None) -> None:
    """Forbid the listed cells (self, avoid, earlier, kept) and apply choices_only, in place.

    ``allowed`` is the grid ``rows`` x ``cols`` (``cols`` None = every mentor); the rows and
    columns may be any subset in any order. The lists are short, so this costs O(list length).
    """
    n, m = cohort.shape
    row_at = np.full(n, -1, np.int64)
    row_at[rows] = np.arange(len(rows))
    col_at = None
    if cols is not None:
        col_at = np.full(m, -1, np.int64)
        col_at[cols] = np.arange(len(cols))
    for name in ("self", "avoid", "earlier", "kept"):
        fr, fc = cohort.forbidden.get(name, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        i = row_at[fr]
        j = fc if col_at is None else col_at[fc]
        inside = (i >= 0) & (j >= 0)
        allowed[i[inside], j[inside]] = False
    for row, chosen in cohort.choices_rows.items():
        k = row_at[row]
        if k < 0:
            continue
        keep = np.zeros(m, bool)
        keep[chosen] = True
        allowed[k] &= keep if cols is None else keep[cols]



def pair_rules(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> dict[str, np.ndarray]:
    """For given cells: which rule forbids each (True = broken), every rule separately."""
    r = cohort.mentors
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    broken = _rule_block(cohort, rows, cols)
    keys = rows * max(len(r), 1) + cols
    for name in ("self", "avoid", "earlier"):
        fr, fc = cohort.forbidden.get(name, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        broken[name] = np.isin(keys, fr * max(len(r), 1) + fc)
    broken["choices"] = _choices_broken(cohort, rows, cols)
    return broken


def _choices_broken(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """choices_only: the cell's mentee made choices and this mentor is not one of them."""
    n, width = len(cohort.mentees), max(len(cohort.mentors), 1)
    if not cohort.choices_rows:
        return np.zeros(np.broadcast_shapes(rows.shape, cols.shape), bool)
    restricted = np.zeros(n, bool)
    restricted[list(cohort.choices_rows)] = True
    chosen = np.concatenate([row * width + c for row, c in cohort.choices_rows.items()]).astype(np.int64)
    return restricted[rows] & ~np.isin(rows * width + cols, chosen)


def rule_matrix(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> dict[str, np.ndarray]:
    """Every rule separately for the grid rows x cols (True = forbidden), block-vectorised."""
    r = cohort.mentors
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    a, b = rows[:, None], cols[None, :]
    broken = _rule_block(cohort, a, b)
    shape = (len(rows), len(cols))
    row_at = np.full(len(cohort.mentees), -1, np.int64)
    row_at[rows] = np.arange(len(rows))
    col_at = np.full(len(r), -1, np.int64)
    col_at[cols] = np.arange(len(cols))

    def scatter(cell_rows: np.ndarray, cell_cols: np.ndarray, value: bool, grid: np.ndarray) -> np.ndarray:
        i, j = row_at[cell_rows], col_at[cell_cols]
        inside = (i >= 0) & (j >= 0)
        grid[i[inside], j[inside]] = value
        return grid

    for name in ("self", "avoid", "earlier"):
        fr, fc = cohort.forbidden.get(name, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        broken[name] = scatter(fr, fc, True, np.zeros(shape, bool))
    restricted = np.zeros(len(cohort.mentees), bool)
    restricted[list(cohort.choices_rows)] = True
    choices = np.repeat(restricted[rows][:, None], len(cols), axis=1)
    for row, chosen in cohort.choices_rows.items():
        scatter(np.full(len(chosen), row), chosen, False, choices)
    broken["choices"] = choices
    return broken


def _rule_verb(name: str, count: int, what: str, config: Config) -> str:
    """What a rule says about ``count`` partners (mentors when ``what`` is "mentor"), as a verb phrase."""
    gap = config.rules.max_timezone_gap
    one = count == 1
    verbs = {
        "language": ("shares no language", "share no language"),
        "team": ("is in the same team", "are in the same team"),
        "organisation": ("is in the same organisation", "are in the same organisation"),
        "avoid": ("is named in an avoid list (theirs or the other's)", "are named in an avoid list (theirs or the other's)"),
        "earlier": ("was paired with them in an earlier cohort", "were paired with them in an earlier cohort"),
        "timezone": ((f"is more than {gap:g} h apart", f"are more than {gap:g} h apart") if gap is not None
                     else ("is too many hours apart", "are too many hours apart")),
        "choices": (("is not among their ranked choices", "are not among their ranked choices") if what == "mentor"
                    else ("chose other mentors only", "chose other mentors only")),
        "self": ("is themselves", "are themselves"),
    }
    return verbs[name][0 if one else 1]


