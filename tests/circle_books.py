"""Test helper (not the product writer): circles workbooks built from the example's pairs.xlsx.

The circles solver and the workbook's Circles writer are another branch's work; the cycle after
the match only needs a workbook of the agreed layout. ``circles_workbook`` rewrites a real
``pairs.xlsx`` (written by ``mentor match``) into one: its People, Unmatched, Problems and
Settings sheets kept, a Circles sheet (``Circle ID``, ``Name``, ``Email``, ``Role``, ``Score``,
``Why``; the lead first) added and the Pairs sheet dropped (or left with its header only).
``greedy_circles`` forms circles that keep every rule between every two members, with the
matcher's own ``broken_rules``, so a test starts from a workbook with nothing to report.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openpyxl

from mentorcli import match
from mentorcli.config import Config
from mentorcli.model import PairingBook

CIRCLES_HEADERS = ("Circle ID", "Name", "Email", "Role", "Score", "Why")
Circle = Sequence[tuple[str, str]]
"""(email, Role) per row of one circle, the lead first."""


def circles_workbook(pairs_xlsx: Path, out: Path, circles: Sequence[Circle], *, kind: str = "mentor-led",
                     size: int = 3, pairs_header: bool = False, extra_rows: Sequence[Sequence[object]] = ()) -> Path:
    """Write ``out``: ``pairs_xlsx`` with a Circles sheet of ``circles`` in place of Pairs.

    ``extra_rows`` are appended to the Circles sheet as given (hand edits); ``pairs_header``
    keeps an empty Pairs sheet (its header row only), as a hand-trimmed workbook might.
    """
    book = openpyxl.load_workbook(pairs_xlsx)
    names = {row[1]: row[0] for row in book["People"].iter_rows(min_row=2, values_only=True)}
    pairs = book["Pairs"]
    if pairs_header:
        pairs.delete_rows(2, pairs.max_row)
    else:
        book.remove(pairs)
    sheet = book.create_sheet("Circles", 0)
    sheet.append(CIRCLES_HEADERS)
    for number, circle in enumerate(circles, 1):
        why = f"Circle {number}: shares a goal and a weekly window"
        for email, role in circle:
            sheet.append([f"C{number:03d}", names[email], email, role, 70.0, why])
    for row in extra_rows:
        sheet.append(list(row))
    placed = {email for circle in circles for email, _ in circle}
    unmatched = book["Unmatched"]
    unmatched.delete_rows(2, unmatched.max_row)
    for row in book["People"].iter_rows(min_row=2, values_only=True):
        if row[1] not in placed:
            unmatched.append([row[0], row[1], row[2], "no circle in this test"])
    settings = book["Settings"]
    settings.append(["Circles", kind])
    settings.append(["Circle size", size])
    settings.append(["Solution", "optimal"])
    book.save(out)
    return out


def greedy_circles(book: PairingBook, config: Config, *, size: int, count: int, kind: str = "mentor-led") -> list[Circle]:
    """Up to ``count`` circles of a lead and ``size`` members in which no rule is broken between
    any two people (checked with ``match.broken_rules``), in People order.

    Mentor-led: a mentor leads mentees. Peer: a mentee facilitates other mentees.
    """
    people = book.people
    emails = people["email"].tolist()
    roles = people["role"].tolist()
    mentors = [i for i, role in enumerate(roles) if role in ("mentor", "both")]
    mentees = [i for i, role in enumerate(roles) if role == "mentee"]
    leads = mentors if kind == "mentor-led" else mentees[::size + 1]
    pool = [i for i in mentees if i not in set(leads)]
    lead_role = "mentor" if kind == "mentor-led" else "facilitator"

    def fits(a: int, b: int) -> bool:
        return not match.broken_rules(people, config, [b], [a])[0] and not match.broken_rules(people, config, [a], [b])[0]

    circles: list[Circle] = []
    for lead in leads:
        if len(circles) == count:
            break
        chosen: list[int] = []
        for person in pool:
            if len(chosen) == size:
                break
            if all(fits(other, person) for other in [lead, *chosen]):
                chosen.append(person)
        if len(chosen) == size:
            pool = [i for i in pool if i not in chosen]
            circles.append([(emails[lead], lead_role), *((emails[i], "member") for i in chosen)])
    return circles
