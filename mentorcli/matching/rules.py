"""Step 3: the rules: which pairs may not be made.

A rule is one ``Rule`` in ``RULES``: its name, the ``mentor.toml`` switch that turns it on, the
one function that marks the cells of a block it forbids, and its words. Everything that asks
whether a pair is allowed goes through ``forbidden`` or ``broken`` below: the solver's mask
(``grid.score_rows``), the explanations (``explain``), ``--export-scores``, ``broken_rules`` (the
re-check of a hand-edited workbook) and the check of kept pairs.

To add a rule: encode what it needs in ``prepare`` (a side's codes, or a list of cells), write
its ``mark`` function here and add a ``Rule`` to ``RULES`` (the order is the order rules are
named in a reason), with any words it adds to a made pair's Why (``words``, ``words_after``); ``tests/test_rules.py::test_each_rule_forbids_at_its_limit`` then asks for a
pair it forbids and one it allows at the exact limit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mentorcli.config import Config
from mentorcli.matching.cohort import Cells, Cohort
from mentorcli.matching.encode import hours_apart
from mentorcli.matching.words import WordsOf, language_words

Marker = Callable[[Cohort, Cells, np.ndarray], None]
"""``mark(cohort, cells, out)``: set ``out`` True on every cell of the block the rule forbids."""
TableBuilder = Callable[[Cohort], np.ndarray]


@dataclass(frozen=True)
class Rule:
    """One hard rule, declared once."""

    name: str
    switch: str | None
    """The ``[rules]`` setting of mentor.toml that turns it on (``is_on``); None: always on."""
    reason: str
    """Its words in a list of broken rules: "same team"."""
    verbs: tuple[str, str]
    """What it says of one / of several partners a person lost to it ("is in the same team",
    "are in the same team"); ``{setting}`` fields are filled from ``[rules]``."""
    mark: Marker
    table: TableBuilder | None = None
    """The per-pair look-up over distinct answers that ``mark`` reads, built once by ``prepare``."""
    mentee_verbs: tuple[str, str] | None = None
    """``verbs`` when the partners counted are mentees, if they differ."""
    words: WordsOf | None = None
    """What the Why of a made pair says that bears on this rule ("both speak English"), said
    whether or not the rule is in force; None: nothing."""
    words_after: str | None = None
    """The criterion (``criteria.CRITERIA``) after whose words ``words`` go in the Why: a rule's
    words have no place among the criteria of their own, so the declaration names it."""

    def is_on(self, config: Config) -> bool:
        """A switch set to a limit (even 0) turns the rule on; False or unset (None) turns it off."""
        if self.switch is None:
            return True
        value = getattr(config.rules, self.switch)
        return value is not None and value is not False

    def verb(self, count: int, what: str, config: Config) -> str:
        """What the rule says about ``count`` partners (mentors when ``what`` is "mentor")."""
        verbs = self.mentee_verbs if what == "mentee" and self.mentee_verbs else self.verbs
        return verbs[0 if count == 1 else 1].format(**dataclasses.asdict(config.rules))


# --------------------------------------------------------------------------- the tables rules read


def _known_and_equal(codes: np.ndarray) -> np.ndarray:
    """Every pair of codes that are the same known answer (a blank code, below 0, equals nothing)."""
    return (codes[:, None] == codes[None, :]) & (codes[:, None] >= 0)


def same_organisation_table(cohort: Cohort) -> np.ndarray:
    """Over the distinct (organisation, department) codes: both organisations given and equal."""
    return _known_and_equal(cohort.distinct["team"][:, 0])


def same_team_table(cohort: Cohort) -> np.ndarray:
    """Over the distinct (organisation, department) codes: the same team.

    A blank answer is unknown and never makes a rule fire: the same team needs both
    organisations and both departments given and equal; the same department in two different
    organisations, or beside a blank organisation, is not the same team.
    """
    return same_organisation_table(cohort) & _known_and_equal(cohort.distinct["team"][:, 1])


def no_shared_language_table(cohort: Cohort) -> np.ndarray:
    """Over the distinct language sets: both answered and no language in common (a blank answer
    on either side is no evidence of a mismatch)."""
    languages = cohort.distinct["language"].astype(np.float32)
    answered = languages.sum(axis=1) > 0
    return ((languages @ languages.T) == 0) & answered[:, None] & answered[None, :]


def too_far_apart_table(cohort: Cohort) -> np.ndarray:
    """Over the distinct time zones: both known and more than ``max_timezone_gap`` hours apart."""
    zones = cohort.distinct["zone"]
    if not len(zones):
        return np.zeros((0, 0), bool)
    known = np.asarray((zones < 99).all(axis=1))
    gap = cohort.config.rules.max_timezone_gap
    apart = hours_apart(zones[None], zones[None])[0]
    return (apart > float(gap if gap is not None else np.inf) + 1e-9) & known[:, None] & known[None, :]


# --------------------------------------------------------------------------- what each rule marks


def _mark_same_team(cohort: Cohort, cells: Cells, out: np.ndarray) -> None:
    out |= cells.lookup(cohort, "team", cohort.mentees.team, cohort.mentors.team)


def _mark_same_organisation(cohort: Cohort, cells: Cells, out: np.ndarray) -> None:
    out |= cells.lookup(cohort, "organisation", cohort.mentees.team, cohort.mentors.team)


def _mark_no_shared_language(cohort: Cohort, cells: Cells, out: np.ndarray) -> None:
    out |= cells.lookup(cohort, "language", cohort.mentees.language_set, cohort.mentors.language_set)


def _mark_too_far_apart(cohort: Cohort, cells: Cells, out: np.ndarray) -> None:
    out |= cells.lookup(cohort, "timezone", cohort.mentees.tz, cohort.mentors.tz)


def _marks_listed(name: str) -> Marker:
    """A rule over a short list of cells that ``prepare`` read from the answers (``cohort.forbidden[name]``)."""
    def mark(cohort: Cohort, cells: Cells, out: np.ndarray) -> None:
        cells.mark_listed(cohort, cohort.forbidden[name], out)
    return mark


def _mark_unchosen(cohort: Cohort, cells: Cells, out: np.ndarray) -> None:
    """choices_only: the mentee ranked choices and this mentor is not one of them."""
    if not cohort.choices_rows:
        return
    restricted = np.zeros(len(cohort.mentees), bool)
    restricted[list(cohort.choices_rows)] = True
    unchosen = restricted[cells.rows]
    if cells.grid:
        unchosen = np.repeat(unchosen[:, None], len(cells.cols), axis=1)
    chosen = cells.none()
    cells.mark_listed(cohort, _chosen_cells(cohort), chosen)
    out |= unchosen & ~chosen


def _chosen_cells(cohort: Cohort) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of every mentor a mentee chose, for the mentees whose choices bind."""
    chosen = cohort.choices_rows
    return (np.concatenate([np.full(len(cols), row, np.int64) for row, cols in chosen.items()]),
            np.concatenate(list(chosen.values())).astype(np.int64))


RULES: tuple[Rule, ...] = (
    Rule("self", None, "is themselves", ("is themselves", "are themselves"), _marks_listed("self")),
    Rule("language", "require_shared_language", "share no language", ("shares no language", "share no language"),
         _mark_no_shared_language, no_shared_language_table, words=language_words, words_after="availability"),
    Rule("team", "forbid_same_team", "same team", ("is in the same team", "are in the same team"),
         _mark_same_team, same_team_table),
    Rule("organisation", "forbid_same_organisation", "same organisation",
         ("is in the same organisation", "are in the same organisation"), _mark_same_organisation,
         same_organisation_table),
    Rule("avoid", None, "named in an avoid list",
         ("is named in an avoid list (theirs or the other's)", "are named in an avoid list (theirs or the other's)"),
         _marks_listed("avoid")),
    Rule("earlier", None, "paired in an earlier cohort",
         ("was paired with them in an earlier cohort", "were paired with them in an earlier cohort"),
         _marks_listed("earlier")),
    Rule("timezone", "max_timezone_gap", "too many hours apart",
         ("is more than {max_timezone_gap:g} h apart", "are more than {max_timezone_gap:g} h apart"),
         _mark_too_far_apart, too_far_apart_table),
    Rule("choices", "choices_only", "not among the mentee's choices",
         ("is not among their ranked choices", "are not among their ranked choices"), _mark_unchosen,
         mentee_verbs=("chose other mentors only", "chose other mentors only")),
)
RULE_BY_NAME = {rule.name: rule for rule in RULES}


def rules_in_force(config: Config) -> list[Rule]:
    """The rules ``mentor.toml`` turns on, in declaration order."""
    return [rule for rule in RULES if rule.is_on(config)]


def rule_tables(cohort: Cohort) -> dict[str, np.ndarray]:
    """The look-up table of every rule in force that reads one (keyed by the rule's name)."""
    return {rule.name: rule.table(cohort) for rule in rules_in_force(cohort.config) if rule.table is not None}


# --------------------------------------------------------------------------- asking the rules


def forbidden(cohort: Cohort, cells: Cells) -> np.ndarray:
    """Per cell: does any rule in force forbid it."""
    out = cells.none()
    for rule in rules_in_force(cohort.config):
        rule.mark(cohort, cells, out)
    return out


def solver_allowed(cohort: Cohort, cells: Cells) -> np.ndarray:
    """Per cell: may the solver offer it: no rule forbids it and it is not a kept pair already
    made (``cohort.forbidden["kept"]``, set by ``match_people``)."""
    out = forbidden(cohort, cells)
    cells.mark_listed(cohort, cohort.forbidden.get("kept", (np.zeros(0, np.int64),) * 2), out)
    np.logical_not(out, out=out)
    return out


def broken(cohort: Cohort, cells: Cells) -> dict[str, np.ndarray]:
    """Per rule in force, which cells it forbids (True = broken), each rule separately."""
    found = {}
    for rule in rules_in_force(cohort.config):
        found[rule.name] = out = cells.none()
        rule.mark(cohort, cells, out)
    return found


def pair_rules(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> dict[str, np.ndarray]:
    """``broken`` for the cells ``(rows[k], cols[k])``."""
    return broken(cohort, Cells.pairs(rows, cols))


def rule_matrix(cohort: Cohort, rows: np.ndarray, cols: np.ndarray) -> dict[str, np.ndarray]:
    """``broken`` for the grid ``rows`` x ``cols``."""
    return broken(cohort, Cells(np.asarray(rows, np.int64), np.asarray(cols, np.int64), True))


def reasons(found: dict[str, np.ndarray], k: int) -> list[str]:
    """The words of every rule that ``found`` (``broken``) says cell ``k`` breaks, in declaration order."""
    return [rule.reason for rule in RULES if rule.name in found and found[rule.name][k]]
