"""Step 1: prepare the cohort: every answer encoded, every table of the criteria and the rules built."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from mentorcli.availability import distinct_answers, weekly_utc_grid
from mentorcli.config import Config
from mentorcli.matching.cohort import Cohort, Side
from mentorcli.matching.criteria import Counting, score_tables, weights_of
from mentorcli.matching.encode import (
    ListAnswers,
    _availability_profiles,
    _bits,
    _codes,
    _distinct_sets,
    _experience_codes,
    _factorize_rows,
    _incidence,
    _list_keys,
    _side_indices,
    utc_offsets,
)
from mentorcli.matching.rules import rule_tables
from mentorcli.model import Problem
from mentorcli.names import NameIndex, resolve_answers


def prepare_cohort(people: pd.DataFrame, config: Config, *, avoid_pairs: Iterable[tuple[str, str]] = (),
                   keep_edges: Iterable[tuple[int, int]] = (), mentee_index: np.ndarray | None = None,
                   mentor_index: np.ndarray | None = None) -> Cohort:
    """Encode a People frame for scoring. Mentees: role mentee/both with wants > 0; mentors: mentor/both.

    ``mentee_index``/``mentor_index`` (People positions) override who is on each side, for
    checking given pairs (``broken_rules``).
    """
    people = people.reset_index(drop=True)
    rules = config.rules
    notes: list[str] = []
    m_idx, r_idx = _side_indices(people)
    if mentee_index is not None:
        m_idx = np.asarray(mentee_index, dtype=np.int64)
    if mentor_index is not None:
        r_idx = np.asarray(mentor_index, dtype=np.int64)

    wanted = _list_keys(people["goals"], people["topics"])
    offered = _list_keys(people["expertise"], people["topics"])
    topic_vocab = wanted.vocabulary(m_idx)
    interests = _list_keys(people["interests"])
    interest_vocab = interests.vocabulary()
    interest_ids, interest_uniques = _distinct_sets(interests)
    languages = _list_keys(people["languages"])
    formats = _list_keys(people["format"])

    industry, _ = _codes(people["industry"], -1)
    industry = industry + 1  # 0 = blank, so codes index a table
    language_ids, language_uniques = _distinct_sets(languages)
    experience = _experience_codes(people["experience"])
    format_ids, format_uniques = _distinct_sets(formats)
    weekly = weekly_utc_grid(people, config)
    offsets = utc_offsets(people["timezone"].fillna("").astype(str))
    tz_known = ~np.isnan(offsets).any(axis=1)
    zone_keys = np.where(tz_known[:, None], offsets, 99.0)
    tz_ids, tz_uniques = _factorize_rows(zone_keys)
    profile_ids, profile_masks, profile_zones = _availability_profiles(weekly, tz_ids, tz_uniques)
    org, _ = _codes(people["organisation"], -1)
    dept, _ = _codes(people["department"], -1)
    team_ids, team_uniques = _factorize_rows(np.stack([org, dept], axis=1))
    if rules.forbid_same_team and len(people) and (org < 0).all() and (dept >= 0).any():
        notes.append("nobody gave an organisation, so no pair could be found in the same team (same organisation "
                     "and department); if everyone is in one organisation, add an organisation column saying so")

    def side(index: np.ndarray, topics: ListAnswers, limit_field: str) -> Side:
        topic_m = _incidence(topics, topic_vocab, index)
        topic_count = topic_m.sum(axis=1)
        interest_m = _incidence(interests, interest_vocab, index)
        return Side(
            person=index, topics_given=topics.answered()[index], topics=topic_m, topic_bits=_bits(topic_m),
            interest_bits=_bits(interest_m), interest_set=interest_ids[index],
            topic_count=topic_count,
            inv_topics=np.where(topic_count > 0, 1.0 / np.maximum(topic_count, 1), 0).astype(np.float32),
            interests=interest_m, interest_count=interest_m.sum(axis=1),
            language_set=language_ids[index], industry=industry[index], experience=experience[index],
            format=format_ids[index], availability=profile_ids[index], counted=np.zeros(len(index), np.int64),
            team=team_ids[index], tz=tz_ids[index],
            limit=people[limit_field].to_numpy(dtype=np.int64)[index],
        )

    cohort = Cohort(
        people=people, config=config, mentees=side(m_idx, wanted, "wants"), mentors=side(r_idx, offered, "capacity"),
        weights=weights_of(config), tables={},
        distinct={"team": team_uniques, "language": language_uniques, "zone": tz_uniques, "format": format_uniques,
                  "interests": interest_uniques, "industry": np.arange(int(industry.max(initial=0)) + 1),
                  "profile": profile_masks, "profile_zone": profile_zones},
        forbidden={}, choices_rows={}, bonus=pd.DataFrame(), notes=notes,
        vocab_topics=list(topic_vocab), vocab_interests=list(interest_vocab), offsets=offsets, weekly=weekly,
    )
    cohort.counting = counting = Counting.of(cohort)
    cohort.mentees.counted = counting.code(cohort, cohort.mentees)
    cohort.mentors.counted = counting.code(cohort, cohort.mentors)
    cohort.tables = score_tables(cohort, counting)
    cohort.tables.update(rule_tables(cohort))
    _free_text_rules(cohort, avoid_pairs, keep_edges)
    return cohort


def assumed_zone_problems(cohort: Cohort) -> list[Problem]:
    """A warning on the signup row of each person whose time zone the matcher assumed."""
    people = cohort.people
    assumed = np.flatnonzero(cohort.timezone_assumed)
    text = (f"no time zone the tool can read: availability taken to be in {cohort.weekly.assumed_zone}, the "
            "cohort's most common time zone; give the time zone if that is wrong")
    column = lambda name: people[name].tolist() if name in people.columns else [""] * len(people)
    files, sheets, rows = column("source_file"), column("source_sheet"), column("source_row")
    return [Problem(_text_or_blank(files[k]), _text_or_blank(sheets[k]), _row_or_none(rows[k]), "timezone", "warning",
                    text) for k in assumed.tolist()]


def _text_or_blank(value: object) -> str:
    return value if isinstance(value, str) else ""


def _row_or_none(value: object) -> int | None:
    """A spreadsheet row number, or None for a person not read from a file (row 0, blank)."""
    try:
        row = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return row if row > 0 else None


def _pairs_to_cells(cohort: Cohort, mentee_people: np.ndarray, mentor_people: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """People index pairs -> (row, col) cells of the matrix; pairs outside it are dropped."""
    n = len(cohort.people)
    row_of = np.full(n, -1, np.int64)
    row_of[cohort.mentees.person] = np.arange(len(cohort.mentees))
    col_of = np.full(n, -1, np.int64)
    col_of[cohort.mentors.person] = np.arange(len(cohort.mentors))
    rows = row_of[np.asarray(mentee_people, dtype=np.int64)] if len(mentee_people) else np.zeros(0, np.int64)
    cols = col_of[np.asarray(mentor_people, dtype=np.int64)] if len(mentor_people) else np.zeros(0, np.int64)
    ok = (rows >= 0) & (cols >= 0)
    return rows[ok], cols[ok]


def _both_directions(a: list[int], b: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(a + b, dtype=np.int64), np.array(b + a, dtype=np.int64)


def _unique_cells(rows: np.ndarray, cols: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    keys = np.unique(rows * max(width, 1) + cols)
    return keys // max(width, 1), keys % max(width, 1)


def _has_choices(people: pd.DataFrame) -> np.ndarray:
    """People rows (ascending) that ranked at least one choice."""
    ids, distinct = distinct_answers(people["choices"])
    return np.flatnonzero(np.array([len(choices or ()) > 0 for choices, in distinct], dtype=bool)[ids])


def _free_text_rules(cohort: Cohort, avoid_pairs: Iterable[tuple[str, str]], keep_edges: Iterable[tuple[int, int]]) -> None:
    """Self-pairs, avoid lists, earlier pairs, requests and ranked choices as sparse cell lists.

    Avoid, request and choice answers are read by ``names.resolve_answers``, the same reading
    ``mentor check`` reports on each row (an ambiguous name in an avoid answer avoids every
    namesake; in a request or choice it names nobody).
    """
    people, config = cohort.people, cohort.config
    avoid_pairs = list(avoid_pairs)
    links = resolve_answers(people)
    index = links.index
    if index is None and avoid_pairs:
        index = NameIndex.build(people)
    width = len(cohort.mentors)
    on_both_sides = np.intersect1d(cohort.mentees.person, cohort.mentors.person)
    cohort.forbidden["self"] = _pairs_to_cells(cohort, on_both_sides, on_both_sides)

    avoid_a = [a for a, _b in links.avoid]
    avoid_b = [b for _a, b in links.avoid]
    rows, cols = _pairs_to_cells(cohort, *_both_directions(avoid_a, avoid_b))
    cohort.forbidden["avoid"] = _unique_cells(rows, cols, width)

    earlier_a, earlier_b, unknown = [], [], 0
    for first, second in avoid_pairs:
        assert index is not None
        a, b = index.by_email.get(str(first).strip().lower()), index.by_email.get(str(second).strip().lower())
        if a is None or b is None:
            unknown += 1
            continue
        earlier_a.append(a)
        earlier_b.append(b)
    if unknown:
        cohort.notes.append(f"{unknown} earlier pair(s) name someone who is not in these signups; they were ignored")
    rows, cols = _pairs_to_cells(cohort, *_both_directions(earlier_a, earlier_b))
    cohort.forbidden["earlier"] = _unique_cells(rows, cols, width)
    keep = list(keep_edges)
    cohort.forbidden["kept"] = _unique_cells(np.array([r for r, _ in keep], np.int64),
                                             np.array([c for _, c in keep], np.int64), width)

    records = []
    for person, other in links.request:
        records.append((person, other, person, 0, "request"))
        records.append((other, person, person, 0, "request"))
    chosen_by: dict[int, list[int]] = {}
    for person, other, rank in links.choices:
        records.append((person, other, person, rank, "choice"))
        records.append((other, person, person, rank, "choice"))
        chosen_by.setdefault(person, []).append(other)
    taken = {(person, rank) for person, _other, rank in links.choices}
    unresolved = [f.person for f in links.findings if f.field == "choices" and (f.person, f.rank) not in taken]
    if unresolved:
        source_rows = people["source_row"].to_numpy()
        rows_text = ", ".join(str(int(source_rows[p])) for p in sorted(set(unresolved))[:10] if source_rows[p])
        cohort.notes.append(f"{len(unresolved)} ranked choice(s) name nobody else in the signups for sure"
                            + (f" (signup rows {rows_text})" if rows_text else ""))
    _bonus_table(cohort, records)
    if config.rules.choices_only:
        row_of = {int(p): r for r, p in enumerate(cohort.mentees.person)}
        col_of = {int(p): c for c, p in enumerate(cohort.mentors.person)}
        for person in _has_choices(people).tolist():
            row = row_of.get(person)
            if row is not None:
                chosen = [col_of[o] for o in chosen_by.get(int(person), []) if o in col_of]
                cohort.choices_rows[row] = np.array(sorted(set(chosen)), dtype=np.int64)


def _bonus_table(cohort: Cohort, records: list[tuple[int, int, int, int, str]]) -> None:
    """One row per (cell, who asked): bonus units = most ranks + 1 - rank (a request counts as a 1st choice)."""
    columns = ["row", "col", "by", "rank", "kind"]
    if not records:
        cohort.bonus = pd.DataFrame(columns=columns + ["units"])
        return
    frame = pd.DataFrame(records, columns=["mentee", "mentor", "by", "rank", "kind"])
    n = len(cohort.people)
    row_of = np.full(n, -1, np.int64)
    row_of[cohort.mentees.person] = np.arange(len(cohort.mentees))
    col_of = np.full(n, -1, np.int64)
    col_of[cohort.mentors.person] = np.arange(len(cohort.mentors))
    frame["row"] = row_of[frame["mentee"].to_numpy()]
    frame["col"] = col_of[frame["mentor"].to_numpy()]
    frame = frame[(frame["row"] >= 0) & (frame["col"] >= 0)].copy()
    most = int(max(frame["rank"].max(), 1)) if len(frame) else 1
    frame["units"] = np.where(frame["rank"] > 0, most + 1 - frame["rank"], most)
    # one side's request and choice of the same person count once: the stronger
    frame = frame.sort_values(["row", "col", "by", "units"], ascending=[True, True, True, False], kind="stable")
    frame = frame.drop_duplicates(["row", "col", "by"], keep="first")
    cohort.bonus = frame[columns + ["units"]].reset_index(drop=True)


def priority_bonus(cohort: Cohort, emails: Iterable[str]) -> None:
    """Rematch priority for the people an ending left alone, exact: a bonus on every cell of their row
    (mentee) or column (mentor), worth more than all the request and choice bonuses together.

    The solver maximises places first, then the total of score + bonus units x a unit worth more
    than every score together (``scale._bonus_unit``). So among the pairings with the most places,
    one that places more priority people wins over any requests honoured and any scores; a
    priority person paired is never traded for a better score. Kind ``priority`` (not a request).
    """
    wanted = {str(email).strip().lower() for email in emails}
    if not wanted:
        return
    people = cohort.people["email"].astype(str).str.strip().str.lower().to_numpy()
    chosen = np.flatnonzero(np.isin(people, list(wanted)))
    n, m = len(cohort.mentees), len(cohort.mentors)
    if not len(chosen) or not n or not m:
        return
    units = int(cohort.bonus["units"].sum()) + 1 if len(cohort.bonus) else 1
    rows_of = {int(p): r for r, p in enumerate(cohort.mentees.person.tolist())}
    cols_of = {int(p): c for c, p in enumerate(cohort.mentors.person.tolist())}
    parts = []
    for person in chosen.tolist():
        if person in rows_of:
            parts.append(pd.DataFrame({"row": rows_of[person], "col": np.arange(m), "by": person}))
        if person in cols_of:
            parts.append(pd.DataFrame({"row": np.arange(n), "col": cols_of[person], "by": person}))
    if not parts:
        return
    frame = pd.concat(parts, ignore_index=True).assign(rank=0, kind="priority", units=units)
    columns = ["row", "col", "by", "rank", "kind", "units"]
    base = cohort.bonus if len(cohort.bonus) else None
    cohort.bonus = (frame[columns] if base is None else pd.concat([base[columns], frame[columns]], ignore_index=True))
    cohort.bonus["row"] = cohort.bonus["row"].astype(np.int64)
    cohort.bonus["col"] = cohort.bonus["col"].astype(np.int64)
    cohort.bonus["units"] = cohort.bonus["units"].astype(np.int64)


# --------------------------------------------------------------------------- scoring


