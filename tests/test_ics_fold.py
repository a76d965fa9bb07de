"""``ical_bytes``: icalendar's content lines, folded here, are ``Component.to_ical()`` byte for byte."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Alarm, Calendar, Event, vCalAddress

from mentorcli.ics import FOLD_OCTETS, fold_line, ical_bytes, vtimezone

TEXT = st.text(alphabet=st.one_of(st.sampled_from(list("ab ;,:\\^\n\"") + ["é", "€", "😀", "\u0301", "ß"]), st.characters(exclude_categories=("Cs",))),
               max_size=400)


def event(summary: str, description: str, name: str) -> Event:
    """An event with untrusted text in every kind of place: a TEXT value, a multi-line one, a parameter."""
    out = Event()
    out.add("uid", "x@mentorcli")
    out.add("dtstart", dt.datetime(2026, 3, 2, 18, 0, tzinfo=dt.UTC))
    out.add("summary", summary)
    out.add("description", description)
    out.add("location", summary + description)
    attendee = vCalAddress("mailto:someone@example.org")
    attendee.params["CN"] = name
    out.add("attendee", attendee)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", description)
    out.add_component(alarm)
    return out


@settings(max_examples=400, deadline=None)
@given(TEXT, TEXT, TEXT.filter(lambda s: "\n" not in s and "\r" not in s))
def test_any_text_folds_to_icalendars_own_bytes(summary: str, description: str, name: str) -> None:
    component = event(summary, description, name)
    assert ical_bytes(component) == component.to_ical()


@pytest.mark.parametrize("length", [FOLD_OCTETS - 1, FOLD_OCTETS, FOLD_OCTETS + 1, 2 * FOLD_OCTETS, 2 * FOLD_OCTETS + 1, 300])
@pytest.mark.parametrize("offset", [None, -3, -2, -1, 0, 1, 2])
@pytest.mark.parametrize("char", ["\\", "^", "é", "€", "😀", "a"])
def test_each_cut_at_its_exact_limit(length: int, offset: int | None, char: str) -> None:
    """Content lines of ``length`` octets (one either side of a fold), with an escape or a multi-octet
    character put ``offset`` characters from where each fold of a plain line falls."""
    prefix = "SUMMARY:"
    text = ["x"] * (length - len(prefix))
    if offset is not None:
        for fold in range(FOLD_OCTETS, length, FOLD_OCTETS):
            if 0 <= fold + offset - len(prefix) < len(text):
                text[fold + offset - len(prefix)] = char
    component = Event()
    component.add("summary", "".join(text))
    assert ical_bytes(component) == component.to_ical()


def test_a_short_line_is_its_encoding_and_a_long_one_has_no_line_over_the_limit() -> None:
    assert fold_line("SUMMARY:é") == "SUMMARY:é".encode()
    folded = fold_line("DESCRIPTION:" + "€" * 100)
    assert all(len(line) <= FOLD_OCTETS + 1 for line in folded.split(b"\r\n"))      # the leading space counts
    assert folded.replace(b"\r\n ", b"").decode() == "DESCRIPTION:" + "€" * 100


def test_a_whole_calendar_with_time_zones_is_icalendars_own_bytes() -> None:
    cal = Calendar()
    cal.add("prodid", "-//mentorcli//test//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Autumn cohort: mentoring check-ins — Zoë's ^ \\ group " * 3)
    cal.add_component(vtimezone("Europe/London", dt.date(2026, 1, 1), dt.date(2027, 12, 31)))
    cal.add_component(event("Mentoring check-in: Zoë and Łukasz", "Check-in 1 of 12\nNote: moved (Whit Monday)", "Zoë"))
    assert ical_bytes(cal) == cal.to_ical()
