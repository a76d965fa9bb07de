"""Time zones as people write them, turned into something ``zoneinfo`` understands.

A stored time zone is either an IANA key (``Europe/London``) or a fixed offset written
``UTC+05:30`` (used when a person gave only an offset such as "GMT+5:30").
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_OFFSET = re.compile(r"^UTC([+-])(\d{2}):(\d{2})$")
_HOST_DEPENDENT = frozenset({"localtime", "posixrules", "factory"})
_HOST_DEPENDENT_PREFIXES = ("posix/", "right/")


def is_host_dependent(key: str) -> bool:
    """True for zone keys whose meaning is the machine's, not the person's.

    ``localtime`` is whatever zone the host is set to, ``posixrules`` its default rules,
    ``Factory`` a placeholder, and ``posix/`` and ``right/`` copies that differ between systems
    (``right/`` counts leap seconds). The same signups must mean the same on every machine.
    """
    lowered = key.strip().lower()
    return lowered in _HOST_DEPENDENT or lowered.startswith(_HOST_DEPENDENT_PREFIXES)


@cache
def tzinfo_for(value: str) -> dt.tzinfo | None:
    """The tzinfo of a stored time-zone value, or None when it is blank or unknown."""
    value = (value or "").strip()
    if not value:
        return None
    match = _OFFSET.match(value)
    if match:
        sign, hours, minutes = match.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes))
        return dt.timezone(-delta if sign == "-" else delta, value)
    if value == "UTC":
        return dt.UTC
    if is_host_dependent(value):
        return None
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def most_common_zone(zones: Iterable[object]) -> str:
    """The most common known time zone among ``zones`` (ties by name), else ``"UTC"``.

    The guess for a person who gave no time zone. Scoring, scheduling and emails all call this
    one function, so a person's assumed zone is the same in their score, calendar and emails.
    """
    values = zones.tolist() if hasattr(zones, "tolist") else zones  # a Series iterates slowly
    cells = Counter(value for value in values if isinstance(value, str))  # a list cell is no zone (nor hashable)
    counts: Counter[str] = Counter()
    for cell, count in cells.items():  # each distinct cell read once: the same zone fills whole columns
        if tzinfo_for(cell.strip()) is not None:
            counts[cell.strip()] += count
    return min(counts, key=lambda z: (-counts[z], z)) if counts else "UTC"


def format_offset(minutes: int) -> str:
    """The stored form of a fixed offset: ``UTC+05:30``, ``UTC-08:00``."""
    sign = "-" if minutes < 0 else "+"
    minutes = abs(int(minutes))
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


# --- reading time zones as people write them -------------------------------------------------

# Abbreviations win over the legacy IANA keys of the same name ("EST" in tzdata has no DST,
# which is never what a person in New York means). Ambiguous ones (CST China/US, AST Arabia/
# Atlantic, BST Bangladesh/British) are read the way English-language forms use them.
_ABBREVIATIONS = {
    "utc": "UTC", "z": "UTC", "zulu": "UTC", "gmt": "Europe/London", "bst": "Europe/London",
    "wet": "Europe/Lisbon", "west": "Europe/Lisbon",
    "cet": "Europe/Berlin", "cest": "Europe/Berlin", "met": "Europe/Berlin", "mest": "Europe/Berlin",
    "eet": "Europe/Athens", "eest": "Europe/Athens", "msk": "Europe/Moscow",
    "ist": "Asia/Kolkata", "pkt": "Asia/Karachi", "npt": "Asia/Kathmandu", "ict": "Asia/Bangkok",
    "wib": "Asia/Jakarta", "sgt": "Asia/Singapore", "hkt": "Asia/Hong_Kong", "pht": "Asia/Manila",
    "kst": "Asia/Seoul", "jst": "Asia/Tokyo", "gst": "Asia/Dubai",
    "awst": "Australia/Perth", "acst": "Australia/Adelaide", "acdt": "Australia/Adelaide",
    "aest": "Australia/Sydney", "aedt": "Australia/Sydney", "nzst": "Pacific/Auckland", "nzdt": "Pacific/Auckland",
    "sast": "Africa/Johannesburg", "wat": "Africa/Lagos", "cat": "Africa/Maputo", "eat": "Africa/Nairobi",
    "est": "America/New_York", "edt": "America/New_York", "et": "America/New_York",
    "cst": "America/Chicago", "cdt": "America/Chicago", "ct": "America/Chicago",
    "mst": "America/Denver", "mdt": "America/Denver", "mt": "America/Denver",
    "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pt": "America/Los_Angeles",
    "akst": "America/Anchorage", "akdt": "America/Anchorage", "hst": "Pacific/Honolulu",
    "nst": "America/St_Johns", "ndt": "America/St_Johns", "brt": "America/Sao_Paulo",
    "art": "America/Argentina/Buenos_Aires",
}
# Two-letter ones are only trusted when they are the whole answer.
_SHORT_ABBREVIATIONS = {"et", "ct", "mt", "pt", "z"}

# Phrases of operating systems' zone pickers and of people ("Pacific Time (US & Canada)").
_PHRASES = {
    "eastern": "America/New_York", "us eastern": "America/New_York", "central": "America/Chicago",
    "us central": "America/Chicago", "mountain": "America/Denver", "us mountain": "America/Denver",
    "pacific": "America/Los_Angeles", "us pacific": "America/Los_Angeles", "arizona": "America/Phoenix",
    "alaska": "America/Anchorage", "hawaii": "Pacific/Honolulu", "atlantic": "America/Halifax",
    "newfoundland": "America/St_Johns", "greenwich mean": "Europe/London", "british summer": "Europe/London",
    "british": "Europe/London", "uk": "Europe/London", "western european": "Europe/Lisbon",
    "central european": "Europe/Berlin", "eastern european": "Europe/Athens", "moscow": "Europe/Moscow",
    "india": "Asia/Kolkata", "indian": "Asia/Kolkata", "india standard": "Asia/Kolkata",
    "china": "Asia/Shanghai", "china standard": "Asia/Shanghai", "japan": "Asia/Tokyo",
    "korea": "Asia/Seoul", "singapore": "Asia/Singapore", "australian eastern": "Australia/Sydney",
    "australian central": "Australia/Adelaide", "australian western": "Australia/Perth",
    "new zealand": "Pacific/Auckland", "west africa": "Africa/Lagos", "east africa": "Africa/Nairobi",
    "central africa": "Africa/Maputo", "south africa": "Africa/Johannesburg", "gulf": "Asia/Dubai",
    "arabian": "Asia/Riyadh", "west coast": "America/Los_Angeles", "east coast": "America/New_York", "brasilia": "America/Sao_Paulo", "argentina": "America/Argentina/Buenos_Aires",
}
_PHRASE_SUFFIX = re.compile(r"\s+(?:standard |daylight |summer )?(?:time|timezone|time zone)(?:\s+zone)?$")

# Places people name that are not in an IANA key, mapped to the zone they live in.
_CITY_ALIASES = {
    "new delhi": "Asia/Kolkata", "delhi": "Asia/Kolkata", "mumbai": "Asia/Kolkata", "bombay": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata", "bengaluru": "Asia/Kolkata", "chennai": "Asia/Kolkata",
    "hyderabad": "Asia/Kolkata", "pune": "Asia/Kolkata", "calcutta": "Asia/Kolkata",
    "san francisco": "America/Los_Angeles", "sf": "America/Los_Angeles", "bay area": "America/Los_Angeles",
    "seattle": "America/Los_Angeles", "portland": "America/Los_Angeles", "san diego": "America/Los_Angeles",
    "nyc": "America/New_York", "boston": "America/New_York", "washington": "America/New_York",
    "washington dc": "America/New_York", "dc": "America/New_York", "atlanta": "America/New_York",
    "miami": "America/New_York", "philadelphia": "America/New_York", "austin": "America/Chicago",
    "dallas": "America/Chicago", "houston": "America/Chicago", "montreal": "America/Toronto",
    "ottawa": "America/Toronto", "calgary": "America/Edmonton", "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin", "hamburg": "Europe/Berlin", "cologne": "Europe/Berlin",
    "manchester": "Europe/London", "edinburgh": "Europe/London", "glasgow": "Europe/London",
    "birmingham": "Europe/London", "bristol": "Europe/London", "cardiff": "Europe/London",
    "beijing": "Asia/Shanghai", "shenzhen": "Asia/Shanghai", "guangzhou": "Asia/Shanghai",
    "cape town": "Africa/Johannesburg", "tel aviv": "Asia/Jerusalem", "geneva": "Europe/Zurich",
    "barcelona": "Europe/Madrid", "milan": "Europe/Rome", "osaka": "Asia/Tokyo",
    "wellington": "Pacific/Auckland", "saigon": "Asia/Ho_Chi_Minh", "hanoi": "Asia/Bangkok",
    "abu dhabi": "Asia/Dubai", "rio de janeiro": "America/Sao_Paulo", "rio": "America/Sao_Paulo",
    "kiev": "Europe/Kyiv",
}
# Country names people write that are not the usual English names of iso3166.tab.
_COUNTRY_ALIASES = {
    "uk": "GB", "u k": "GB", "united kingdom": "GB", "great britain": "GB", "britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "usa": "US", "us": "US", "u s": "US", "u s a": "US", "united states of america": "US", "america": "US",
    "uae": "AE", "united arab emirates": "AE", "south korea": "KR", "holland": "NL",
    "the netherlands": "NL", "czech republic": "CZ", "russia": "RU", "vietnam": "VN",
}
# Countries whose zones disagree but where one zone is what nearly everyone means.
_COUNTRY_MAIN_ZONE = {"ES": "Europe/Madrid", "PT": "Europe/Lisbon", "CL": "America/Santiago",
                      "EC": "America/Guayaquil", "NZ": "Pacific/Auckland"}

_WORD_ABBREVIATIONS = {"cat", "art", "eat", "met", "west", "wat", "mest", "ist", "nst", "gst", "ict"}
# IANA place names that are also everyday words or US place names ("New Jersey", "Center").
_CITY_STOPWORDS = {"center", "jersey", "easter", "wake", "midway", "casey", "davis", "palmer", "troll",
                   "knox", "vevay", "marengo", "beulah", "new salem", "tell city", "winamac", "petersburg",
                   "monticello", "vincennes", "syowa", "vostok", "mawson", "rothera", "macquarie",
                   "south georgia", "eucla", "nome", "guam", "yap", "truk", "chuuk", "lima"}
_IANA_AREAS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
_OFFSET_TEXT = re.compile(
    r"^(?:utc|gmt|z)?\s*([+-])\s*(\d{1,2})(?:(?::|h|\.)?\s*(\d{1,2}))?\s*(?:h|hrs?|hours?)?$"
)
_ZERO_OFFSET_KEYS = {"gmt0", "gmt+0", "gmt-0", "etc/gmt", "etc/utc", "etc/gmt0", "etc/gmt+0", "etc/gmt-0",
                     "uct", "etc/uct", "universal", "etc/universal", "zulu", "etc/zulu", "greenwich",
                     "etc/greenwich", "coordinated universal time"}
_OFFSET_ANYWHERE = re.compile(r"\b(?:utc|gmt)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\b")
_DASHES = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-", "_": " "})


def _fold(text: str) -> str:
    """Lower-case ASCII with single spaces: "São_Paulo" -> "sao paulo"."""
    folded = unicodedata.normalize("NFKD", text.translate(_DASHES)).encode("ascii", "ignore").decode("ascii")
    return " ".join(folded.lower().split())


@lru_cache(maxsize=1)
def _zone_tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(IANA key by folded key, canonical zone by folded city, zone by folded country name).

    Built from the tz database shipped in ``tzdata`` (zone.tab, iso3166.tab), so new zones
    arrive with a tzdata update rather than a code change.
    """
    every_key = sorted(key for key in available_timezones() if not is_host_dependent(key))  # a walk over the tz database: once, not once per use
    keys = {_fold(key): key for key in every_key}
    keys.update({_fold(key).replace(" ", "_"): key for key in every_key})
    zone_tab = _tz_table("zone.tab")
    zones_by_country: dict[str, list[str]] = {}
    for line in zone_tab.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _coords, zone = line.split("\t")[:3]
        zones_by_country.setdefault(country, []).append(zone)
    cities: dict[str, str] = {}
    canonical = [zone for zones in zones_by_country.values() for zone in zones]
    for key in canonical + every_key:
        if key.split("/")[0] in _IANA_AREAS and "/" in key:
            cities.setdefault(_fold(key.rsplit("/", 1)[1]), key)
    iso = _tz_table("iso3166.tab")
    countries: dict[str, str] = {}
    for line in iso.splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        code, name = line.split("\t")[:2]
        country_zone = _country_zone(code, zones_by_country.get(code, []))
        if country_zone:
            countries[_fold(name)] = country_zone
            countries[_fold(re.sub(r"\s*\(.*\)", "", name))] = country_zone
    for alias, code in _COUNTRY_ALIASES.items():
        country_zone = _country_zone(code, zones_by_country.get(code, []))
        if country_zone:
            countries[alias] = country_zone
    return keys, cities, countries


def _tz_table(name: str) -> str:
    """A table of the tz database: from the ``tzdata`` package, else the system's copy, else none."""
    try:
        return (files("tzdata.zoneinfo") / name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        system = Path("/usr/share/zoneinfo") / name
        return system.read_text(encoding="utf-8") if system.is_file() else ""


def _country_zone(code: str, zones: list[str]) -> str | None:
    """The zone of a country when all its zones keep the same clock (or one clearly dominates).

    Stops at the first zone whose clock differs: loading a zone's file is what this costs, and
    building the tables on the first time-zone look-up loaded every zone of every country.
    """
    if code in _COUNTRY_MAIN_ZONE:
        return _COUNTRY_MAIN_ZONE[code]
    if not zones:
        return None
    first = _clock(zones[0]) if len(zones) > 1 else None
    return zones[0] if all(_clock(zone) == first for zone in zones[1:]) else None


@lru_cache(maxsize=1024)
def _clock(zone: str) -> tuple[dt.timedelta | None, ...]:
    """A zone's UTC offsets in mid-January and mid-July, to tell whether two zones keep one clock."""
    probes = (dt.datetime(2026, 1, 15, 12), dt.datetime(2026, 7, 15, 12))
    return tuple(ZoneInfo(zone).utcoffset(probe) for probe in probes)


def _offset_value(sign: str, hours: str, minutes: str | None) -> str | None:
    total = int(hours) * 60 + int(minutes or 0)
    if minutes and len(minutes) == 1:  # "UTC+5.5" means five and a half hours
        total = int(hours) * 60 + int(minutes) * 6
    if int(hours) > 14 or total > 14 * 60 or total % 15:
        return None
    if total == 0:
        return "UTC"
    return format_offset(-total if sign == "-" else total)


def _named_zone(text: str, *, mode: str = "whole") -> str | None:
    """A zone for a folded piece of text that names one: key, abbreviation, city, phrase, country.

    ``mode`` says how much of the answer the piece is: the ``whole`` answer may be a bare
    two-letter abbreviation; a ``part`` between commas or brackets may not; a ``run`` of words
    inside a sentence may not be an abbreviation that is also an English word ("cat", "west")
    or a bare region word ("central") unless "time" follows it.
    """
    keys, cities, countries = _zone_tables()
    if text in _ABBREVIATIONS:
        short_ok = mode == "whole" or text not in _SHORT_ABBREVIATIONS
        if short_ok and not (mode == "run" and text in _WORD_ABBREVIATIONS):
            return _ABBREVIATIONS[text]
    if text in _CITY_ALIASES:
        return _CITY_ALIASES[text]
    if text in keys and (mode != "run" or "/" in keys[text]):
        return keys[text]
    if text in cities and (mode == "whole" or text not in _CITY_STOPWORDS):
        return cities[text]
    phrase = _PHRASE_SUFFIX.sub("", text)
    if phrase in _PHRASES and (mode != "run" or phrase != text):
        return _PHRASES[phrase]
    if phrase != text and phrase in _ABBREVIATIONS and phrase not in _SHORT_ABBREVIATIONS:
        return _ABBREVIATIONS[phrase]
    if text in countries and (mode == "whole" or text not in _CITY_STOPWORDS):
        return countries[text]
    return None


def _zone_in_parts(text: str) -> str | None:
    """The first named zone found in pieces of a longer answer ("London, UK", "EST (New York)")."""
    pieces = [p.strip() for p in re.split(r"[(),;/|]|\s-\s|\bor\b|\band\b", text) if p.strip()]
    for piece in pieces:
        zone = _named_zone(piece, mode="part")
        if zone:
            return zone
    words = text.split()
    for size in (3, 2, 1):  # longest run of words first: "new york" before "york"
        for start in range(len(words) - size + 1):
            zone = _named_zone(" ".join(words[start:start + size]), mode="run")
            if zone:
                return zone
    return None


@lru_cache(maxsize=4096)
def parse_timezone(text: str) -> str | None:
    """The stored time zone for an answer as a person wrote it, or None when it cannot be told.

    Understands IANA names in any case ("europe/berlin"), UTC/GMT offsets ("GMT+1", "UTC-5",
    "UTC+5:30" -> ``UTC+05:30``; a zero offset -> ``UTC``), common abbreviations (EST, CET, IST,
    AEST ...; "GMT" alone is read as UK time, as people in the UK write it), cities named in
    IANA zones ("London", "sao paulo") and a few big ones that are not, countries whose clocks
    agree across the country ("India", "Germany"), and zone pickers' phrases ("Pacific Time (US
    & Canada)", "(GMT-05:00) Eastern Time"). A named place wins over an offset written beside it,
    because the place also knows daylight-saving time.
    """
    folded = _fold(str(text or ""))
    if not folded:
        return None
    match = _OFFSET_TEXT.match(folded)
    if match:
        return _offset_value(*match.groups())
    if folded in _ZERO_OFFSET_KEYS:
        return "UTC"
    zone = _named_zone(folded)
    if zone:
        return zone
    without_offsets = _OFFSET_ANYWHERE.sub(" ", folded)
    zone = _zone_in_parts(" ".join(without_offsets.split()))
    if zone:
        return zone
    match = _OFFSET_ANYWHERE.search(folded)
    if match:
        return _offset_value(*match.groups())
    return None
