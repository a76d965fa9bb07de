"""The pure normalisers: time zones, multi-select answers, roles, yes/no, numbers, timestamps."""

from __future__ import annotations

import datetime as dt
import string

import numpy as np
import pandas as pd
import pytest
from dateutil import parser as date_parser
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorcli import normalize as norm
from mentorcli.tz import format_offset, parse_timezone, tzinfo_for

# --- time zones ----------------------------------------------------------------------------------------

ZONES = {
    "Europe/Berlin": "Europe/Berlin",
    "europe/berlin": "Europe/Berlin",
    "AMERICA/NEW_YORK": "America/New_York",
    "London": "Europe/London",
    "new york": "America/New_York",
    "Sao Paulo": "America/Sao_Paulo",
    "São Paulo": "America/Sao_Paulo",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "PST": "America/Los_Angeles",
    "CET": "Europe/Berlin",
    "CEST": "Europe/Berlin",
    "IST": "Asia/Kolkata",
    "BST": "Europe/London",
    "GMT": "Europe/London",
    "AEST": "Australia/Sydney",
    "JST": "Asia/Tokyo",
    "UTC": "UTC",
    "GMT+0": "UTC",
    "UTC-5": "UTC-05:00",
    "GMT+1": "UTC+01:00",
    "UTC+5:30": "UTC+05:30",
    "UTC +5.5": "UTC+05:30",
    "utc+05:45": "UTC+05:45",
    "+0530": "UTC+05:30",
    "UTC\u22123": "UTC-03:00",  # a typographic minus
    "Eastern Time": "America/New_York",
    "Pacific Time (US & Canada)": "America/Los_Angeles",
    "(GMT-05:00) Eastern Time (US & Canada)": "America/New_York",
    "Central European Time": "Europe/Berlin",
    "Mountain time": "America/Denver",
    "London, UK": "Europe/London",
    "EST (New York)": "America/New_York",
    "Berlin (CET)": "Europe/Berlin",
    "Bangalore, India": "Asia/Kolkata",
    "I am on pacific time mostly": "America/Los_Angeles",
    "India": "Asia/Kolkata",
    "Germany": "Europe/Berlin",
    "UAE": "Asia/Dubai",  # what people call a country, beside its name in the tz database
    "Holland": "Europe/Amsterdam",
    "Etc/GMT+5": "Etc/GMT+5",
}


@pytest.mark.parametrize("text, expected", sorted(ZONES.items()))
def test_time_zones_as_people_write_them(text, expected):
    assert parse_timezone(text) == expected
    assert tzinfo_for(expected) is not None


@pytest.mark.parametrize("text", ["", "   ", "not sure", "Mars", "USA", "Canada", "Central Europe", "New Jersey",
                                  "I have a cat", "UTC+15", "UTC+5:20", "5"])
def test_time_zones_that_cannot_be_told_are_none(text):
    assert parse_timezone(text) is None


def test_an_offset_written_beside_a_place_loses_to_the_place():
    # the place knows daylight-saving time, the offset does not
    assert parse_timezone("London (GMT+1)") == "Europe/London"


@given(st.integers(-12, 14), st.sampled_from([0, 30, 45]), st.sampled_from(["UTC", "GMT", "utc ", ""]))
def test_offsets_round_trip_through_the_stored_form(hours, minutes, prefix):
    total = hours * 60 + (minutes if hours >= 0 else -minutes)
    if abs(total) > 14 * 60 or (hours == 0 and minutes):
        return
    sign = "-" if total < 0 else "+"
    text = f"{prefix}{sign}{abs(hours)}:{minutes:02d}"
    stored = parse_timezone(text)
    if total == 0:
        assert stored == "UTC"
        return
    assert stored == format_offset(total)
    assert tzinfo_for(stored).utcoffset(None) == dt.timedelta(minutes=total)


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_any_text_gives_a_usable_zone_or_none(text):
    stored = parse_timezone(text)
    assert stored is None or tzinfo_for(stored) is not None


# --- multi-select answers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Career, Leadership", ("Career", "Leadership")),
    ("Career;Leadership;", ("Career", "Leadership")),  # Microsoft Forms
    ("Design, UX;Career;", ("Design, UX", "Career")),  # ";" decides: the comma stays inside
    ("Career\nLeadership", ("Career", "Leadership")),
    ("Data (SQL, Python), Design", ("Data (SQL, Python)", "Design")),
    ("1,000 things, Stuff", ("1,000 things", "Stuff")),
    ("Design,UX", ("Design", "UX")),
    ("Career, career, Leadership", ("Career", "Leadership")),
    ("['6:00-7:00pm F', '3:00-4:00pm Sun']", ("6:00-7:00pm F", "3:00-4:00pm Sun")),
    ("", ()),
    ("  ", ()),
])
def test_multi_select_answers_split_per_form(text, expected):
    assert norm.split_options(text) == expected


def test_known_options_keep_their_commas():
    assert norm.split_options("Weekday evenings, Management, coaching and feedback",
                              known=["Management, coaching and feedback"]) == (
        "Weekday evenings", "Management, coaching and feedback")


def test_a_lower_case_tail_joins_its_option_in_a_capitalised_column():
    column = ["Leadership, Management, coaching and feedback", "Career growth, Networking", "UX design, Leadership",
              "Networking, Management, coaching and feedback", "Data science, Career growth"]
    assert norm.options_look_capitalised(column)
    assert norm.split_options(column[0], capitalised=True) == ("Leadership", "Management, coaching and feedback")
    assert not norm.options_look_capitalised(["python, sql, excel", "java, go, rust", "c, lua, perl, bash"])


def test_free_text_lists_split_on_words_too():
    assert norm.split_options("English and French / Spanish", free_text=True) == ("English", "French", "Spanish")


OPTION = st.text(alphabet=string.ascii_letters + " -&()'", min_size=1, max_size=20).map(str.strip).filter(
    lambda s: s and "(" not in s and ")" not in s)


@given(st.lists(OPTION, min_size=1, max_size=6, unique_by=norm.fold), st.sampled_from([", ", ";", "\n"]))
def test_joined_options_come_back_as_they_were(options, separator):
    text = separator.join(options) + (";" if separator == ";" else "")
    assert norm.split_options(text) == tuple(" ".join(o.split()) for o in options)


# --- roles and yes/no ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Mentor", "mentor"), ("mentee", "mentee"), ("Both", "both"), ("I'd like to be a mentor", "mentor"),
    ("I'd like to mentor someone", "mentor"), ("I want to be mentored", "mentee"), ("I want to find a mentor", "mentee"),
    ("Receive mentoring", "mentee"), ("Provide mentoring", "mentor"), ("Mentor, Mentee", "both"),
    ("mentee;mentor;", "both"), ("I am open to either role.", "both"), ("Protégé", "mentee"),
    ("Neither", None), ("", None), ("Software engineer", None), ("not sure", None),
])
def test_role_answers_in_free_words(text, expected):
    assert norm.parse_role(text) == expected


@given(st.text(max_size=60))
def test_role_parsing_never_fails(text):
    assert norm.parse_role(text) in (None, "mentor", "mentee", "both")


@pytest.mark.parametrize("text, expected", [
    ("Yes", True), ("yes", True), ("TRUE", True), ("1", True), ("x", True), ("\u2713", True),
    ("I agree to my data being shared", True), ("I consent", True), ("No", False), ("0", False),
    ("I do not agree", False), ("nope", False), ("", None), ("abc", None),
])
def test_yes_no_answers(text, expected):
    assert norm.parse_bool(text) is expected


# --- numbers ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("7", 7), ("5-10", 7.5), ("5 - 10 years", 7.5), ("10+", 10), ("20+ years", 20), ("more than 10", 10),
    ("less than 1", 0.5), ("<1", 0.5), ("6 months", 0.5), ("18 months", 1.5), ("2,5", 2.5), ("seven", 7),
    ("1 to 3 years", 2), ("none", 0), ("0-2", 1),
])
def test_years_of_experience(text, expected):
    assert norm.parse_years(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "lots", "100", "n/a please"])
def test_years_that_cannot_be_read(text):
    assert norm.parse_years(text) is None


@given(st.floats(0, 60, allow_nan=False).map(lambda x: round(x, 1)))
def test_years_written_as_numbers_are_those_numbers(years):
    assert norm.parse_years(str(years)) == pytest.approx(years)


@given(st.integers(0, 40), st.integers(0, 40))
def test_year_ranges_are_their_middle(low, high):
    low, high = min(low, high), max(low, high)
    assert norm.parse_years(f"{low}-{high}") == pytest.approx((low + high) / 2 if low != high else low)


@pytest.mark.parametrize("text, expected", [
    ("2", 2), ("2.0", 2), ("two", 2), ("Two mentees", 2), ("Up to 3", 3), ("1-2", 2), ("2;3", 3), ("2;xyz", 2),
    ("a couple", 2), ("one or two", 2), ("none", 0), ("as many as needed", None), ("1.5", None), ("", None),
])
def test_head_counts_in_digits_or_words(text, expected):
    assert norm.parse_count(text) == expected


@given(st.integers(0, 500))
def test_head_counts_written_as_digits(count):
    assert norm.parse_count(str(count)) == count
    assert norm.parse_count(f"{count}.0") == count


# --- timestamps --------------------------------------------------------------------------------------------

def test_gmt_plus_three_is_three_hours_ahead_not_behind():
    text = "2021/02/16 4:28:38 PM GMT+3"
    naive = date_parser.parse(text)  # dateutil follows POSIX: "GMT+3" is three hours *behind*
    assert naive.utcoffset() == dt.timedelta(hours=-3)
    assert norm.parse_timestamp(text) == "2021-02-16T13:28:38Z"
    assert norm.parse_timestamp_series(pd.Series([text])).tolist() == ["2021-02-16T13:28:38Z"]


@pytest.mark.parametrize("text, dayfirst, expected", [
    ("9/5/2024 18:18:42", False, "2024-09-05T18:18:42Z"),  # Google Forms, English (US)
    ("16/02/2021 16:28:38", True, "2021-02-16T16:28:38Z"),  # Google Forms, English (UK)
    ("2024-09-05 18:18:42", True, "2024-09-05T18:18:42Z"),  # a year first is never day-first
    ("2024-09-05T10:00:00+02:00", False, "2024-09-05T08:00:00Z"),
    ("2026-09-01 10:00:00 UTC", False, "2026-09-01T10:00:00Z"),
    ("5 Sep 2024 10:00", False, "2024-09-05T10:00:00Z"),
])
def test_timestamps_of_each_form(text, dayfirst, expected):
    assert norm.parse_timestamp(text, dayfirst=dayfirst) == expected


def test_day_first_is_decided_per_column():
    assert norm.detect_dayfirst(["01/02/2021 10:00", "16/02/2021 16:28:38"])
    assert not norm.detect_dayfirst(["01/02/2021 10:00", "02/16/2021 16:28:38"])
    assert norm.detect_dayfirst(["01.02.2021 10:00"])
    column = pd.Series(["01/02/2021 10:00:00", "16/02/2021 16:28:38", "", "garbage"])
    assert norm.parse_timestamp_series(column).tolist() == ["2021-02-01T10:00:00Z", "2021-02-16T16:28:38Z", "", None]


STAMPS = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0))


@settings(max_examples=60)
@given(st.lists(STAMPS, min_size=1, max_size=8), st.sampled_from(
    ["%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y %I:%M:%S %p"]),
    st.sampled_from([None, -5, 0, 3, 5.5]))
def test_a_column_of_timestamps_reads_like_each_one(stamps, fmt, offset):
    stamps = sorted(stamps)  # exports list submissions in time order
    suffix = "" if offset is None else f" GMT{'+' if offset >= 0 else '-'}{int(abs(offset))}" + (
        ":30" if offset % 1 else "")
    texts = [s.strftime(fmt) + suffix for s in stamps]
    shift = dt.timedelta(hours=offset or 0)
    expected = [(s - shift).strftime("%Y-%m-%dT%H:%M:%SZ") for s in stamps]
    if any(not 1970 <= (s - shift).year <= 2200 for s in stamps):
        return
    assert norm.parse_timestamp_series(pd.Series(texts)).tolist() == expected
    assert [norm.parse_timestamp(t) for t in texts] == expected


def test_clean_text_collapses_whitespace_and_blanks():
    assert norm.clean_text("  Ada \u00a0 Lovelace\u200b\n") == "Ada Lovelace"
    assert norm.clean_text(None) == ""
    assert norm.clean_text(float("nan")) == ""


# Characters that make clean_text change a value, and characters that do not.
MESSY = st.text(alphabet=st.sampled_from(list("ab Z.,é李😀-") + [" ", "\t", "\n", "\r", "\xa0", "\u2009",
                                                               "\u3000", "\u2028", "\x1f", "\x85", "\u200b",
                                                               "\u2060", "\ufeff", "\xad", "\x00"]), max_size=12)


@settings(max_examples=300)
@given(st.lists(MESSY, max_size=12))
def test_clean_texts_is_clean_text_of_each(values):
    assert norm.clean_texts(values) == [norm.clean_text(v) for v in values]


def test_clean_texts_takes_any_cell():
    values = ["  Ada ", None, float("nan"), 3, "Bo\u200b", "ok"]
    assert norm.clean_texts(values) == [norm.clean_text(v) for v in values] == ["Ada", "", "", "3", "Bo", "ok"]


def test_only_the_space_among_whitespace_is_printable():
    """clean_texts relies on it: a printable text has no whitespace but spaces, nor invisible characters."""
    import sys

    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isspace() and char != " ":
            assert not char.isprintable(), hex(code)
    assert not any(char.isprintable() for char in "\u200b\u200c\u200d\u2060\ufeff")


@pytest.mark.parametrize("text", ["1,000, 2,500", "a,123", "12,3456", "x 1,234,567 y", "9,999", ",123", "1,23"])
def test_digit_commas_are_kept_inside_numbers(text):
    """Thousands separators ("1,000") are not where a list splits (_DIGIT_COMMA)."""
    import re

    reference = re.compile(r"(?<=\d),(?=\d{3}\b)")  # the plain way to write it; the module's is faster
    assert norm._DIGIT_COMMA.sub("\x00", text) == reference.sub("\x00", text)


def test_a_column_with_repeats_reads_like_each_timestamp():
    texts = ["09/05/2024 10:00:00", "", "09/05/2024 10:00:00", "10/05/2024 09:00:00", "nonsense", None, "nonsense"]
    assert norm.parse_timestamp_series(pd.Series(texts)).tolist() == [
        "2024-09-05T10:00:00Z", "", "2024-09-05T10:00:00Z", "2024-10-05T09:00:00Z", None, "", None]
    # the order of the rows decides 05/09 vs 09/05 when no date does, repeats included
    day_first = ["12/01/2024 10:00:00", "12/01/2024 10:00:00", "01/02/2024 09:00:00"]  # Dec 1 -> Jan 2 runs back
    assert norm.parse_timestamp_series(pd.Series(day_first)).tolist() == [
        "2024-01-12T10:00:00Z", "2024-01-12T10:00:00Z", "2024-02-01T09:00:00Z"]


# --- hostile answers: head counts read for sure or not at all, bounded splitting, any year -----------------

@pytest.mark.parametrize("text, expected", [
    ("2", 2), ("2.0", 2), ("two", 2), ("2 mentees", 2), ("Up to 3", 3), ("up to 3 mentees", 3), ("max 2", 2),
    ("3 at most", 3), ("1-2", 2), ("2 or 3", 3), ("2;3", 3), ("2;xyz", 2), ("a mentor", 1), ("none", 0), ("0", 0),
    ("10000", 10_000),
])
def test_head_counts_read_for_sure(text, expected):
    assert norm.read_count(text) == (expected, None)


@pytest.mark.parametrize("text, reason", [
    ("-1", "negative"), ("-0", "negative"), ("minus two", "negative"), ("\u22122", "negative"), ("2;-1", "negative"),
    ("1e9", "scientific"), ("1E3", "scientific"), ("1.5", "whole number"), ("2,5", "whole number"),
    ("not more than 2?", "hedged or negated"), ("2?", "hedged or negated"), ("maybe 3", "hedged or negated"),
    ("about 2", "hedged or negated"), ("1 (maybe 2)", "hedged or negated"), ("10001", "too large"),
    ("9" * 40, "too large"), ("few", "cannot read for sure"), ("2 if I can", "cannot read for sure"),
])
def test_head_counts_that_cannot_be_read_for_sure_say_why_without_the_answer(text, reason):
    count, why = norm.read_count(text)
    assert count is None and reason in why and text not in why
    assert norm.parse_count(text) is None


@pytest.mark.parametrize("text", ["", "as many as needed", "lots", "not now"])
def test_head_counts_without_a_number_fall_back_to_the_default(text):
    assert norm.read_count(text) == (None, None)


def test_splitting_a_one_megabyte_answer_keeps_every_rule():
    """Was cubic with known options (36 kB: 30 s; 900 kB: past 8 GB) and quadratic for lower-case tails."""
    known = ["Weekday evenings", "Management, coaching and feedback", "Weekends"]
    text = ", ".join(["Weekday evenings", "Management, coaching and feedback", "Mon 9-10"] * 30_000)
    assert len(text) > 1_000_000
    assert norm.split_options(text, known=known) == ("Weekday evenings", "Management, coaching and feedback", "Mon 9-10")
    tails = ", ".join(["Research"] + [f"analysis {i}" for i in range(100_000)])  # each lower-case piece joins
    options = norm.split_options(tails, capitalised=True)
    assert len(options) == 1 and len(options[0]) == len(tails)
    brackets = ", ".join(f"Data (SQL, Python {i})" for i in range(40_000))
    assert len(norm.split_options(brackets)) == 40_000
    blanks = "English" + " " * 1_000_000 + "/ French" + "\t" * 1_000 + "and Spanish"
    assert norm.split_options(blanks, free_text=True) == ("English", "French", "Spanish")


def test_known_options_longer_than_the_answer_still_match():
    assert norm.split_options("A, B, C", known=["A, B, C"]) == ("A, B, C",)
    assert norm.split_options("X, A, B, C, Y", known=["A, B, C"]) == ("X", "A, B, C", "Y")


@pytest.mark.parametrize("text", ["1/1/2300 10:00:00", "2300-01-01 10:00:00", "1600-01-01", "12/31/9999 23:59:59",
                                  "2201-01-01 00:00:00", "1969-12-31 23:59:59", "1/1/1000 00:00:00 GMT+3"])
def test_timestamps_outside_the_supported_years_are_unreadable_not_a_crash(text):
    assert norm.parse_timestamp_values([text], np.arange(1)) == [None]
    assert norm.parse_timestamp_values(["9/14/2026 10:00:00", text], np.arange(2)) == ["2026-09-14T10:00:00Z", None]
    assert norm.parse_timestamp(text) is None


def test_timestamps_at_the_edges_of_the_supported_years():
    texts = ["1970-01-01 00:00:00", "2200-12-31 23:59:59", "1970-01-01 00:00:00 GMT+1"]
    assert norm.parse_timestamp_values(texts, np.arange(3)) == ["1970-01-01T00:00:00Z", "2200-12-31T23:59:59Z", None]
