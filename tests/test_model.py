"""The relationship unit: workbook rows read as the people who meet."""

from __future__ import annotations

import math

import pandas as pd

from mentorcli.model import Member, relationships_from_pairs


def pairs_frame(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame([
        {"pair_id": pair_id, "mentee_email": f"{mentee}@x.org", "mentor_email": f"{mentor}@x.org",
         "mentee": mentee.title(), "mentor": mentor.title(), "score": score, "why": f"why {mentee}",
         "row": 2 + index}
        for index, (pair_id, mentee, mentor, score) in enumerate(rows)])


def test_a_pair_is_one_relationship_with_its_mentor_first() -> None:
    [pair] = relationships_from_pairs(pairs_frame([("P001", "ann", "bob", 71.5)]))
    assert pair.id == "P001"
    assert pair.members == (Member("bob@x.org", "Bob", "mentor"), Member("ann@x.org", "Ann", "mentee"))
    assert pair.leads == (Member("bob@x.org", "Bob", "mentor"),)
    assert pair.others == (Member("ann@x.org", "Ann", "mentee"),)
    assert (pair.score, pair.why, pair.row) == (71.5, "why ann", 2)
    assert pair.includes("ann@x.org") and not pair.includes("cat@x.org")


def test_rows_sharing_an_id_are_one_group_in_workbook_order() -> None:
    found = relationships_from_pairs(pairs_frame([
        ("P002", "cat", "bob", 80.0), ("P001", "ann", "dan", 60.0), ("P002", "eve", "bob", 40.0)]))
    assert [r.id for r in found] == ["P002", "P001"]
    group = found[0]
    assert group.emails == ("bob@x.org", "cat@x.org", "eve@x.org")
    assert [m.role for m in group.members] == ["mentor", "mentee", "mentee"]
    assert group.score == 40.0
    assert group.why == "why cat why eve"
    assert group.row == 2


def test_a_relationship_without_score_or_row_says_so() -> None:
    frame = pairs_frame([("P001", "ann", "bob", 1.0)]).drop(columns=["score", "row"])
    [pair] = relationships_from_pairs(frame)
    assert math.isnan(pair.score) and pair.row is None
