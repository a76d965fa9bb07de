"""Email as files: Jinja2 templates -> ``EmailMessage`` -> ``.eml`` drafts, then SMTP delivery.

Every introduction and report is written as a draft (``X-Unsent: 1``) that the coordinator can
open, read and send from a mail client, or deliver in bulk with ``mentor send``. Names and
answers in a signup are untrusted, so nothing here lets a cell become a header, a path or live
HTML: headers are set through ``email.headerregistry.Address`` after control characters are
removed, file names are ``files.safe_slug``s and the HTML templates are autoescaped.

Example::

    from pathlib import Path
    from mentorcli.mail import render_message, write_outbox

    msg = render_message(
        "introduce", context,                       # renders introduce.txt.j2 + introduce.html.j2
        to=[("Ada Lovelace", "ada@example.org")],
        sender=("Grace Hopper", "grace@example.org"),
        subject="Meet your mentor",
    )
    write_outbox([("P001", msg)], Path("outbox"), force=False)   # -> [Path("outbox/p001.eml")]
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import itertools
import math
import os
import smtplib
import socket
import ssl
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from email import headerregistry
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import format_datetime, localtime
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import numpy as np
import pandas as pd
from email_validator import EmailNotValidError, validate_email

from mentorcli import files, resources
from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.model import PairingBook, as_tuple
from mentorcli.tz import most_common_zone, tzinfo_for


class _CachedHeaderRegistry(headerregistry.HeaderRegistry):
    """The standard header registry, building each header class once instead of once per header.

    CPython creates a fresh class every time a header is set or parsed, which showed up at the
    top of the profile when building thousands of emails.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]


POLICY = email.policy.SMTP.clone(header_factory=_CachedHeaderRegistry())
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
SENT_FOLDER = "sent"
SENT_LOG = "sent.log"
MAX_NAME_LENGTH = 120
MAX_SUBJECT_LENGTH = 200
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False, keep_link_tags=False)


# --------------------------------------------------------------------------- templates


def template_search_path(templates_dir: Path | None = None) -> list[Path]:
    """Where templates are looked up, first match wins: the cohort's override folder, then the built-ins."""
    paths = [Path(templates_dir)] if templates_dir is not None and Path(templates_dir).is_dir() else []
    return [*paths, resources.template_dir()]


@lru_cache(maxsize=16)
def _environment(search_path: tuple[str, ...], autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(search_path)),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def html_page_env(templates_dir: Path | None = None) -> jinja2.Environment:
    """A Jinja2 environment for HTML (emails or pages): autoescape on, undefined names fail.

    Autoescaping is what keeps a ``<script>`` typed into a signup form as visible text;
    ``StrictUndefined`` makes a typo in a coordinator's own template fail loudly instead of
    sending an email with a silent gap.
    """
    return _environment(tuple(str(p) for p in template_search_path(templates_dir)), True)


def text_env(templates_dir: Path | None = None) -> jinja2.Environment:
    """The plain-text twin of ``html_page_env``: no escaping (it is not HTML), undefined names fail."""
    return _environment(tuple(str(p) for p in template_search_path(templates_dir)), False)


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render one template, turning Jinja's errors into a line that names the template to fix."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as exc:
        raise MentorError(
            f"template {exc.name!r} not found",
            hint=f"Looked in: {', '.join(str(p) for p in _searchpath(env))}.",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or exc.name or name
        raise MentorError(f"line {exc.lineno}: {exc.message}", path=where, hint="Fix the template.") from None
    except jinja2.UndefinedError as exc:
        raise MentorError(
            f"template {name!r} uses a value that is not there ({exc.message})",
            hint="Use only the names the built-in template uses.",
        ) from None


def _searchpath(env: jinja2.Environment) -> list[str]:
    loader = env.loader
    return list(getattr(loader, "searchpath", []))


def inline_css(html: str) -> str:
    """Move the ``<style>`` rules into ``style=""`` attributes: many mail clients drop ``<style>``.

    Remote stylesheets are never fetched (no network at run time; a template could name one).
    """
    try:
        return _INLINER.inline(html)
    except ValueError as exc:
        raise MentorError(f"the HTML template's CSS could not be inlined ({exc})", hint="Fix the <style> block.") from None


# --------------------------------------------------------------------------- headers


def clean_header_text(text: Any, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """Untrusted text made safe for a header: no control or line-break characters, one line.

    CR/LF is how a header is injected; the other control and separator characters are
    dropped too because some mail clients treat them as line ends.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    kept = [" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in str(text)]
    return " ".join("".join(kept).split())[:max_length].strip()


def make_address(name: Any, email_address: Any, *, role: str = "recipient") -> Address:
    """An ``Address`` from untrusted parts; a malformed address is a readable error, not a header.

    The address is checked with ``email-validator`` (syntax only: no network) and must be
    ASCII, because an ``.eml`` draft has to travel through any SMTP server.
    """
    raw = str(email_address or "").strip()
    try:
        checked = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise MentorError(
            f"the {role} email address is not usable", hint="Correct it in the workbook and run again."
        ) from None
    local, _, _ = checked.normalized.rpartition("@")
    return Address(display_name=clean_header_text(name), username=local, domain=checked.ascii_domain)


def _addresses(pairs: Sequence[tuple[str, str]], role: str) -> list[Address]:
    return [make_address(name, addr, role=role) for name, addr in pairs]


def _header_date(date: dt.datetime | dt.date | None) -> str:
    """An RFC 5322 date from the caller's input, never the clock (same input -> same bytes)."""
    if date is None:
        date = EPOCH
    if not isinstance(date, dt.datetime):
        date = dt.datetime(date.year, date.month, date.day, tzinfo=dt.timezone.utc)
    if date.tzinfo is None:
        date = date.replace(tzinfo=dt.timezone.utc)
    return format_datetime(date.astimezone(dt.timezone.utc).replace(microsecond=0), usegmt=True)


def _message_id(parts: Sequence[bytes | str], domain: str) -> str:
    """A Message-ID from the message's own content, so a re-render gives the same ID.

    ``mentor send`` uses it to recognise a message it already delivered.
    """
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return f"<{digest.hexdigest()[:40]}.mentorcli@{domain or 'mentorcli.invalid'}>"


def _split_mime_type(mime: str) -> tuple[str, str, dict[str, str]]:
    head, *param_parts = [part.strip() for part in mime.split(";")]
    maintype, _, subtype = head.partition("/")
    if not maintype or not subtype:
        raise ValueError(f"not a MIME type: {mime!r}")
    params = {}
    for part in param_parts:
        key, _, value = part.partition("=")
        if key.strip():
            params[key.strip().lower()] = value.strip().strip('"')
    return maintype.lower(), subtype.lower(), params


def _attachment_name(name: str) -> str:
    stem, dot, ext = str(name).rpartition(".")
    if not dot:
        stem, ext = ext, ""
    slug = files.safe_slug(stem, fallback="attachment")
    return f"{slug}.{files.safe_slug(ext, fallback='bin')}" if ext else slug


# --------------------------------------------------------------------------- rendering


def render_message(
    template: str,
    context: dict,
    *,
    to: Sequence[tuple[str, str]],
    sender: tuple[str, str],
    subject: str,
    templates_dir: Path | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    cc: Sequence[tuple[str, str]] = (),
    date: dt.datetime | dt.date | None = None,
) -> EmailMessage:
    """One email draft from ``{template}.txt.j2`` and ``{template}.html.j2``.

    ``to``/``cc``/``sender`` are ``(name, email)`` pairs; ``attachments`` are
    ``(file name, bytes, MIME type)`` such as ``("checkins.ics", data, "text/calendar;
    method=REQUEST")``. ``templates_dir`` is the cohort's override folder (a file there wins over
    the built-in one of the same name). ``date`` sets the Date header (default: 1970-01-01, so
    that output never depends on the clock; ``mentor send`` stamps the real sending time).

    The message is ``multipart/alternative`` (text, HTML with CSS inlined), wrapped in
    ``multipart/mixed`` when there are attachments; ``X-Unsent: 1`` makes mail clients open it
    as a draft. Message-ID is a hash of the content: the same inputs give identical bytes.
    """
    text = render_template(text_env(templates_dir), f"{template}.txt.j2", context)
    html = inline_css(render_template(html_page_env(templates_dir), f"{template}.html.j2", context))
    from_address = make_address(*sender, role="sender")
    to_addresses = _addresses(to, "recipient")
    cc_addresses = _addresses(cc, "copy")
    if not to_addresses:
        raise MentorError("an email needs at least one recipient")
    clean_subject = clean_header_text(subject, max_length=MAX_SUBJECT_LENGTH)
    date_header = _header_date(date)

    msg = EmailMessage(policy=POLICY)
    msg["From"] = from_address
    msg["To"] = to_addresses
    if cc_addresses:
        msg["Cc"] = cc_addresses
    msg["Subject"] = clean_subject
    msg["Date"] = date_header
    msg["X-Unsent"] = "1"
    msg["MIME-Version"] = "1.0"
    alternatives = [_text_part(text, "plain"), _text_part(html, "html")]
    attached = [_attachment_part(name, data, mime) for name, data, mime in attachments]
    if attached:
        msg.make_mixed()
        msg.attach(_multipart("alternative", alternatives))
        for part in attached:
            msg.attach(part)
    else:
        msg.make_alternative()
        for part in alternatives:
            msg.attach(part)
    attachment_parts = [item for name, data, mime in attachments for item in (_attachment_name(name), mime, bytes(data))]

    id_parts = [template, str(from_address), *map(str, to_addresses), "cc", *map(str, cc_addresses),
                clean_subject, date_header, text, html, *attachment_parts]
    message_id = _message_id(id_parts, from_address.domain)
    msg["Message-ID"] = message_id
    _fix_boundaries(msg, message_id)
    return msg


def _text_part(content: str, subtype: str) -> MIMEPart:
    part = MIMEPart(policy=POLICY)
    part.set_content(content, subtype=subtype)
    return part


def _attachment_part(name: str, data: bytes, mime: str) -> MIMEPart:
    maintype, subtype, params = _split_mime_type(mime)
    part = MIMEPart(policy=POLICY)
    part.set_content(bytes(data), maintype=maintype, subtype=subtype, disposition="attachment",
                     filename=_attachment_name(name), params=params)
    return part


def _multipart(subtype: str, parts: Sequence[MIMEPart]) -> MIMEPart:
    """A multipart built from finished parts: the email package's add_* helpers re-parse every
    header each time they re-nest a part, which doubled the cost of building a message."""
    container = MIMEPart(policy=POLICY)
    getattr(container, f"make_{subtype}")()
    for part in parts:
        container.attach(part)
    return container


def _fix_boundaries(msg: EmailMessage, message_id: str) -> None:
    """MIME boundaries derived from the Message-ID: the email package would pick random ones."""
    token = message_id.strip("<>").split(".")[0][:32]
    for n, part in enumerate(msg.walk()):
        if part.is_multipart():
            part.set_boundary(f"=_mentorcli_{token}_{n}")


def message_file_names(bases: Sequence[str]) -> list[str]:
    """``.eml`` file names for untrusted bases: safe slugs, made unique in order."""
    return [f"{slug}.eml" for slug in files.unique_slugs(bases, fallback="message")]


def write_outbox(messages: Sequence[tuple[str, EmailMessage | bytes]], out_dir: Path, *, force: bool) -> list[Path]:
    """Write each message as ``out_dir/<safe slug of its base>.eml``; all targets checked first.

    A message may be an ``EmailMessage`` or its finished bytes. A draft whose file name is
    already in ``out_dir/sent/`` was delivered before: writing it again would let
    ``mentor send`` deliver it twice, so that needs ``--force`` too.
    """
    targets = check_outbox([base for base, _ in messages], out_dir, force=force)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    payloads = [msg if isinstance(msg, bytes) else msg.as_bytes() for _, msg in messages]
    return files.atomic_write_many(list(zip(targets, payloads)), force=force)


# --------------------------------------------------------------------------- introductions

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
INVITE_TYPE = "text/calendar; method=REQUEST; charset=utf-8"
InviteMaker = Callable[[pd.DataFrame, PairingBook, Config, str], bytes]


@dataclass
class Introductions:
    """The introduction drafts, one per pair, and what the coordinator should know about them.

    ``messages`` are ``(file-name base, draft)``: ``EmailMessage`` objects from
    ``build_introductions``, finished ``.eml`` bytes from ``render_introductions``.
    """

    messages: list[tuple[str, EmailMessage | bytes]] = field(default_factory=list)
    without_calendar: bool = False
    stale: list[str] = field(default_factory=list)
    unscheduled: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """What the coordinator should know, in plain words (pair ids only, no personal data)."""
        notes = []
        if self.without_calendar:
            notes.append("no check-in sheet: the introductions go out without check-ins or an invitation")
        if self.stale:
            notes.append(f"{len(self.stale)} pair(s) changed since the check-ins were scheduled ({_first_ids(self.stale)}): "
                         "their introductions have no check-ins; run mentor schedule again to include them")
        if self.unscheduled:
            notes.append(f"{len(self.unscheduled)} pair(s) have no check-ins in the check-in sheet "
                         f"({_first_ids(self.unscheduled)}): their introductions have no check-ins")
        return notes

    def extend(self, other: Introductions) -> None:
        self.messages += other.messages
        self.stale += other.stale
        self.unscheduled += other.unscheduled


def format_local_time(moment: dt.datetime, timezone: str, *, assumed: str = "") -> str:
    """``Tuesday 6 October 2026, 18:00 (Europe/London)``: locale-free, so output never varies.

    A person without a usable zone is shown in ``assumed`` (the cohort's usual zone, as the
    scheduler assumed it), labelled so; with neither, in UTC.
    """
    zone = tzinfo_for(timezone)
    label = timezone
    if zone is None:
        zone = tzinfo_for(assumed)
        label = f"{assumed}, assumed" if zone is not None else "UTC"
    local = moment.astimezone(zone or dt.timezone.utc)
    return f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M} ({label})"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _person_context(row: dict[str, Any], email_address: str, name: str, role: str) -> dict[str, Any]:
    """The fields of one person an introduction may show: only what the pair needs to start."""
    goals = as_tuple(row.get("goals", ()))
    offers = as_tuple(row.get("expertise", ())) or as_tuple(row.get("topics", ()))
    if role == "mentee" and not goals:
        goals = as_tuple(row.get("topics", ()))
    return {
        "name": clean_header_text(name or row.get("name", ""), max_length=200) or email_address,
        "email": email_address,
        "role": role,
        "goals": list(goals) if role == "mentee" else [],
        "offers": list(offers) if role == "mentor" else [],
        "timezone": _text(row.get("timezone", "")),
        "formats": list(as_tuple(row.get("format", ()))),
        "languages": list(as_tuple(row.get("languages", ()))),
        "industry": _text(row.get("industry", "")),
        "first_checkin": "",
    }


def _people_positions(book: PairingBook) -> dict[str, int]:
    """Identity key -> row position in People (first row wins, as everywhere else)."""
    if book.people is None or book.people.empty:
        return {}
    positions: dict[str, int] = {}
    for position, address in enumerate(book.people["email"].astype(str).str.strip().str.lower()):
        positions.setdefault(address, position)
    return positions


@dataclass
class _PairCheckins:
    """One pair's check-in rows (time order), their start times, and whether they are still that pair's."""

    rows: pd.DataFrame
    starts: list[dt.datetime]
    same_people: bool


def _normalised(series: pd.Series) -> np.ndarray:
    return series.astype(str).str.strip().str.lower().to_numpy(dtype=object)


def _checkins_by_pair(checkins: pd.DataFrame | None, pairs: pd.DataFrame) -> dict[str, _PairCheckins]:
    """The usable check-in rows of each pair, split in one sorted pass (no filter per pair).

    ``same_people`` is False when a pair's rows name another mentee or mentor than the workbook
    now does (the coordinator swapped someone after scheduling).
    """
    if checkins is None or checkins.empty:
        return {}
    missing = {"pair_id", "mentee_email", "mentor_email", "start_utc"} - set(checkins.columns)
    if missing:
        raise MentorError(f"the check-in sheet lacks the columns {sorted(missing)}", hint="Run mentor schedule again.")
    width = checkins.shape[1]
    frame = checkins.assign(_start=pd.to_datetime(checkins["start_utc"], utc=True, errors="coerce"),
                            _pid=checkins["pair_id"].astype(str).str.strip())
    frame = frame[frame["_start"].notna()].sort_values(["_pid", "_start"], kind="stable").reset_index(drop=True)
    if frame.empty:
        return {}
    ids = frame["_pid"].to_numpy(dtype=object)
    expected = dict(zip(pairs["pair_id"].astype(str).str.strip(), zip(_normalised(pairs["mentee_email"]),
                                                                        _normalised(pairs["mentor_email"]))))
    wanted = [expected.get(pid, ("", "")) for pid in ids]
    matches = ((_normalised(frame["mentee_email"]) == np.array([w[0] for w in wanted], dtype=object))
               & (_normalised(frame["mentor_email"]) == np.array([w[1] for w in wanted], dtype=object)))
    firsts = np.r_[0, np.flatnonzero(ids[1:] != ids[:-1]) + 1]
    lasts = np.r_[firsts[1:], len(ids)]
    all_match = np.logical_and.reduceat(matches.astype(bool), firsts)
    starts = list(frame["_start"].dt.to_pydatetime())
    return {
        ids[first]: _PairCheckins(frame.iloc[first:last, :width], starts[first:last], bool(ok))
        for first, last, ok in zip(firsts, lasts, all_match)
    }


def introduction_date(book: PairingBook) -> dt.datetime:
    """The Date of the drafts: the latest signup in the workbook, i.e. when the cohort was complete.

    Derived from the input, never the clock, so re-running gives identical files.
    """
    if book.people is None or "timestamp" not in book.people.columns:
        return EPOCH
    stamps = pd.to_datetime(book.people["timestamp"].astype(str).replace("", None), utc=True, errors="coerce")
    latest = stamps.max()
    return EPOCH if pd.isna(latest) else latest.to_pydatetime()


def _default_invite(rows: pd.DataFrame, book: PairingBook, config: Config, pair_id: str) -> bytes:
    from mentorcli.schedule import pair_invite

    return pair_invite(rows, book, config, pair_id)


class _PairBooks:
    """Each pair's workbook cut down to that pair and its two people, for its invitation.

    Handing every pair the whole People sheet made the invitations quadratic in the cohort
    size. The two People rows of all pairs are taken in one step, then sliced per pair. A pair
    with a person missing or without a known zone gets the whole workbook instead: for an
    unknown zone the scheduler guesses the cohort's usual zone, which needs everyone.
    """

    def __init__(self, book: PairingBook, pairs: pd.DataFrame, positions: list[tuple[int | None, int | None]]):
        self.book, self.pairs = book, pairs
        known = np.array([tzinfo_for(_text(z)) is not None for z in book.people["timezone"]], dtype=bool) \
            if len(book.people) else np.zeros(0, dtype=bool)
        usable = [a is not None and b is not None and known[a] and known[b] for a, b in positions]
        self.offset = np.cumsum([0] + [2 * int(u) for u in usable])[:-1]
        self.usable = usable
        rows = [p for (a, b), u in zip(positions, usable) if u for p in (a, b)]
        self.stacked = book.people.iloc[rows]

    def for_pair(self, position: int) -> PairingBook:
        if not self.usable[position]:
            return self.book
        first = int(self.offset[position])
        return PairingBook(path=self.book.path, pairs=self.pairs.iloc[position:position + 1],
                           people=self.stacked.iloc[first:first + 2], settings=self.book.settings)


def build_introductions(
    book: PairingBook,
    checkins: pd.DataFrame | None,
    config: Config,
    *,
    templates_dir: Path | None = None,
    invite: InviteMaker | None = None,
) -> Introductions:
    """One introduction draft per pair of ``book``, to both people, from the coordinator.

    A pair's email holds that pair's data only; sponsors are not copied. With ``checkins``
    (``schedule.read_checkins``) it lists the pair's check-ins in each person's local time and
    attaches the invitation ``schedule.pair_invite`` makes (or ``invite``). Check-ins scheduled
    for another mentee or mentor than the workbook now names are left out and noted: an
    invitation to the wrong person is worse than none.
    """
    templates_dir = config.folder / "templates" if templates_dir is None else templates_dir
    invite = invite or _default_invite
    positions = _people_positions(book)
    records = book.people.to_dict("records") if book.people is not None else []
    by_pair = _checkins_by_pair(checkins, book.pairs)
    usual_zone = most_common_zone(book.people["timezone"])
    sender = (config.cohort.coordinator_name, config.cohort.coordinator_email)
    date = introduction_date(book)
    result = Introductions(without_calendar=checkins is None)
    pairs = book.pairs.sort_values("pair_id", kind="stable") if len(book.pairs) else book.pairs
    records_of_pairs = pairs.to_dict("records")
    pair_emails = [(_text(p["mentee_email"]).lower(), _text(p["mentor_email"]).lower()) for p in records_of_pairs]
    pair_positions = [(positions.get(a), positions.get(b)) for a, b in pair_emails]
    pair_books = _PairBooks(book, pairs, pair_positions) if by_pair else None
    for position, pair in enumerate(records_of_pairs):
        pair_id = _text(pair["pair_id"])
        emails, where = pair_emails[position], pair_positions[position]
        mentee = _person_context(records[where[0]] if where[0] is not None else {}, emails[0], _text(pair.get("mentee")), "mentee")
        mentor = _person_context(records[where[1]] if where[1] is not None else {}, emails[1], _text(pair.get("mentor")), "mentor")
        scheduled = by_pair.get(pair_id)
        if scheduled is not None and not scheduled.same_people:
            result.stale.append(pair_id)
            scheduled = None
        elif scheduled is None and checkins is not None:
            result.unscheduled.append(pair_id)
        starts = scheduled.starts if scheduled is not None else []
        context = _introduction_context(config, pair, mentee, mentor, starts, usual_zone)
        attachments = []
        if scheduled is not None:
            data = invite(scheduled.rows, pair_books.for_pair(position), config, pair_id)
            attachments.append((f"checkin-{pair_id}.ics", data, INVITE_TYPE))
        try:
            msg = render_message(
                "introduce",
                context,
                to=[(mentee["name"], mentee["email"]), (mentor["name"], mentor["email"])],
                sender=sender,
                subject=f"{config.cohort.name}: introducing {mentee['name']} and {mentor['name']}",
                templates_dir=templates_dir,
                attachments=attachments,
                date=date,
            )
        except MentorError as exc:
            place = f"Pairs row {pair['row']}" if _text(pair.get("row")) else f"pair {pair_id}"
            raise MentorError(f"{place}: {exc.message}", path=book.path, hint=exc.hint) from None
        result.messages.append((f"intro-{pair_id}", msg))
    return result


def _first_ids(ids: Sequence[str], shown: int = 10) -> str:
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


def _cadence_words(config: Config) -> tuple[str, str]:
    """("monthly", "month") or the configured cadence's words, for the introduction's text."""
    from mentorcli.ics import CADENCES

    cadence = CADENCES.get(str(config.schedule.cadence).strip().lower(), CADENCES["monthly"])
    return cadence.name, cadence.period


def _introduction_context(config: Config, pair: dict[str, Any], mentee: dict[str, Any], mentor: dict[str, Any],
                          starts: Sequence[dt.datetime], usual_zone: str) -> dict[str, Any]:
    checkins = [
        {
            "number": number,
            "mentee_time": format_local_time(moment, mentee["timezone"], assumed=usual_zone),
            "mentor_time": format_local_time(moment, mentor["timezone"], assumed=usual_zone),
        }
        for number, moment in enumerate(starts, 1)
    ]
    if checkins:
        mentee["first_checkin"], mentor["first_checkin"] = checkins[0]["mentee_time"], checkins[0]["mentor_time"]
    mentor_formats = {f.lower() for f in mentor["formats"]}
    mentor_languages = {x.lower() for x in mentor["languages"]}
    return {
        "programme": config.cohort.name,
        "coordinator": {"name": config.cohort.coordinator_name, "email": config.cohort.coordinator_email},
        "pair_id": _text(pair["pair_id"]),
        "why": _text(pair.get("why")),
        "mentee": mentee,
        "mentor": mentor,
        "checkins": checkins,
        "checkin_count": len(checkins),
        "cadence": _cadence_words(config)[0],
        "cadence_period": _cadence_words(config)[1],
        "shared_formats": [f for f in mentee["formats"] if f.lower() in mentor_formats],
        "shared_languages": [x for x in mentee["languages"] if x.lower() in mentor_languages],
    }


PARALLEL_FROM = 1000  # pairs: below this, starting worker processes costs more than it saves
MAX_WORKERS = 4


def introduction_bases(book: PairingBook) -> list[str]:
    """The file-name bases of the introductions, known before anything is rendered."""
    return [f"intro-{_text(pid)}" for pid in sorted(book.pairs["pair_id"].map(_text))] if len(book.pairs) else []


def _worker_count(workers: int | None, pairs: int) -> int:
    if workers is not None:
        return max(1, min(int(workers), pairs or 1))
    if pairs < PARALLEL_FROM:
        return 1
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(available, MAX_WORKERS))


def _fork_context():
    """``fork`` where the platform has it (workers start at once, and a caller's unguarded script
    is not run again as ``spawn`` would do); None elsewhere, and the work stays in this process."""
    import multiprocessing

    return multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None


def _render_chunk(book: PairingBook, checkins: pd.DataFrame | None, config: Config,
                  templates_dir: Path | None) -> Introductions:
    """Build one share of the introductions and return them as ``.eml`` bytes (runs in a worker)."""
    intros = build_introductions(book, checkins, config, templates_dir=templates_dir)
    intros.messages = [(base, msg.as_bytes()) for base, msg in intros.messages]
    return intros


def _chunks(book: PairingBook, checkins: pd.DataFrame | None, count: int) -> list[tuple[PairingBook, pd.DataFrame | None]]:
    """Split the pairs (in pair-id order) into ``count`` runs; People stay whole, so every
    cohort-wide value (usual zone, date) is the same as in one run and so are the bytes."""
    pairs = book.pairs.sort_values("pair_id", kind="stable")
    bounds = np.linspace(0, len(pairs), count + 1).astype(int)
    out = []
    for first, last in itertools.pairwise(bounds):
        part = pairs.iloc[first:last]
        rows = None
        if checkins is not None:
            rows = checkins[checkins["pair_id"].astype(str).str.strip().isin(set(part["pair_id"].map(_text)))]
        out.append((PairingBook(path=book.path, pairs=part, people=book.people, settings=book.settings), rows))
    return out


def render_introductions(
    book: PairingBook,
    checkins: pd.DataFrame | None,
    config: Config,
    *,
    templates_dir: Path | None = None,
    workers: int | None = None,
) -> Introductions:
    """``build_introductions`` as finished ``.eml`` bytes, on several cores for a large cohort.

    Building an email is CPU work in pure Python (the email package, the invitation), so past
    ``PARALLEL_FROM`` pairs the pairs are split over worker processes; the output is the same,
    byte for byte, as from one process. ``workers=1`` keeps everything in this process.
    """
    templates_dir = config.folder / "templates" if templates_dir is None else templates_dir
    count = _worker_count(workers, len(book.pairs))
    context = _fork_context()
    if count == 1 or context is None:
        return _render_chunk(book, checkins, config, templates_dir)
    from concurrent.futures import ProcessPoolExecutor

    result = Introductions(without_calendar=checkins is None)
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        futures = [pool.submit(_render_chunk, part, rows, config, templates_dir)
                   for part, rows in _chunks(book, checkins, count)]
        for future in futures:
            result.extend(future.result())
    return result


def check_outbox(bases: Sequence[str], out_dir: Path, *, force: bool) -> list[Path]:
    """The ``.eml`` paths for ``bases``, after checking none would replace a draft or a sent message
    without ``force``. Run before a long render, so a refusal comes at once."""
    out_dir = Path(out_dir)
    names = message_file_names(bases)
    targets = [files.inside(out_dir, name) for name in names]
    files.check_targets(targets, force=force)
    if not force:
        already_sent = [out_dir / SENT_FOLDER / name for name in names if (out_dir / SENT_FOLDER / name).exists()]
        if already_sent:
            more = f" (and {len(already_sent) - 1} more)" if len(already_sent) > 1 else ""
            raise MentorError(
                f"was already sent{more}",
                path=already_sent[0],
                hint="Pass --force to write it again (mentor send skips messages it already delivered unchanged).",
            )
    return targets


def introduce(
    book: PairingBook,
    checkins: pd.DataFrame | None,
    config: Config,
    out_dir: Path,
    *,
    force: bool,
    templates_dir: Path | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Write one introduction ``.eml`` per pair into ``out_dir``; returns the files written."""
    check_outbox(introduction_bases(book), out_dir, force=force)
    intros = render_introductions(book, checkins, config, templates_dir=templates_dir, workers=workers)
    return write_outbox(intros.messages, out_dir, force=force)


# --------------------------------------------------------------------------- sending


@dataclass
class SendItem:
    """What happened to one ``.eml`` file. ``status``: sent, failed, skipped (already sent) or planned."""

    file: str
    status: str
    recipients: int
    subject: str
    message_id: str
    error: str = ""


@dataclass
class SendReport:
    """The outcome of ``send_outbox``: one item per file, in file-name order."""

    outbox: Path
    dry_run: bool
    items: list[SendItem] = field(default_factory=list)

    def with_status(self, status: str) -> list[SendItem]:
        return [item for item in self.items if item.status == status]

    @property
    def sent(self) -> list[SendItem]:
        return self.with_status("sent")

    @property
    def failed(self) -> list[SendItem]:
        return self.with_status("failed")

    @property
    def skipped(self) -> list[SendItem]:
        return self.with_status("skipped")

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "outbox": str(self.outbox),
            "dry_run": self.dry_run,
            "counts": {s: len(self.with_status(s)) for s in ("planned", "sent", "skipped", "failed")},
            "messages": [asdict(item) for item in self.items],
        }


def read_eml(path: Path) -> EmailMessage:
    """Parse a ``.eml`` file with the modern email API (headers as objects)."""
    with open(path, "rb") as fh:
        return BytesParser(policy=email.policy.default).parse(fh)


def envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    """The SMTP envelope of a draft: From's address, and every To and Cc address (Bcc never kept)."""
    senders = msg["From"].addresses if msg["From"] is not None else ()
    recipients: list[str] = []
    for header in ("To", "Cc"):
        if msg[header] is not None:
            recipients += [a.addr_spec for a in msg[header].addresses if a.addr_spec and a.addr_spec != "<>"]
    if len(senders) != 1 or not recipients:
        raise ValueError("needs one From address and at least one To or Cc address")
    return senders[0].addr_spec, list(dict.fromkeys(recipients))


def sent_message_ids(outbox: Path) -> set[str]:
    """Message-IDs recorded in ``sent/sent.log``: a draft with one of these was delivered already."""
    log = Path(outbox) / SENT_FOLDER / SENT_LOG
    if not log.exists():
        return set()
    ids = set()
    for line in log.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 4 and parts[1] == "sent":
            ids.add(parts[3])
    return ids


def _record_sent(outbox: Path, path: Path, message_id: str, recipients: int, when: dt.datetime) -> None:
    """Log first, then move: if the run dies between the two, the log still stops a second send."""
    folder = outbox / SENT_FOLDER
    folder.mkdir(exist_ok=True)
    line = f"{when:%Y-%m-%dT%H:%M:%SZ}\tsent\t{path.name}\t{message_id}\t{recipients} recipient(s)\n"
    with open(folder / SENT_LOG, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())
    _move_to_sent(path, folder)


def _move_to_sent(path: Path, folder: Path) -> Path:
    target = folder / path.name
    n = 2
    while target.exists():  # never replace the record of an earlier delivery
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    os.replace(path, target)
    return target


class _Connection:
    """One SMTP session opened on first use, reopened once after the server hangs up."""

    def __init__(self, host: str, port: int, *, starttls: bool, user: str | None, password: str | None,
                 timeout: float, ssl_context: ssl.SSLContext | None):
        self.host, self.port, self.starttls = host, port, starttls
        self.user, self.password, self.timeout = user, password, timeout
        self.ssl_context = ssl_context
        self.smtp: smtplib.SMTP | None = None
        self.failure: MentorError | None = None

    def open(self) -> smtplib.SMTP:
        """The open session; a server that could not be reached is not tried again in this run."""
        if self.failure is not None:
            raise self.failure
        if self.smtp is None:
            try:
                self.smtp = self._connect()
            except MentorError as exc:
                self.failure = exc
                raise
        return self.smtp

    def _connect(self) -> smtplib.SMTP:
        where = f"{self.host}:{self.port}"
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except ConnectionRefusedError:
            raise MentorError(f"could not connect to the mail server {where}: connection refused",
                              hint="Check --smtp-host and --smtp-port.") from None
        except socket.gaierror:
            raise MentorError(f"could not find the mail server {self.host!r}", hint="Check --smtp-host.") from None
        except TimeoutError:
            raise MentorError(f"the mail server {where} did not answer in {self.timeout:g} s",
                              hint="Check --smtp-host and --smtp-port.") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise MentorError(f"could not connect to the mail server {where}: {_reason(exc)}") from None
        try:
            smtp.ehlo()
            if self.starttls:
                if not smtp.has_extn("starttls"):
                    raise _Refusal("does not offer STARTTLS", "Check the port (587 is the usual one), or leave out --starttls.")
                smtp.starttls(context=self.ssl_context or ssl.create_default_context())
                smtp.ehlo()
            if self.user:
                if not smtp.has_extn("auth"):
                    hint = "Most servers offer it only after --starttls." if not self.starttls else "Leave out --user?"
                    raise _Refusal("does not offer login on this session", hint)
                smtp.login(self.user, self.password or "")
        except _Refusal as exc:
            _quit(smtp)
            raise MentorError(f"the mail server {where} {exc.args[0]}", hint=exc.args[1]) from None
        except smtplib.SMTPAuthenticationError:
            _quit(smtp)
            raise MentorError(f"the mail server {where} refused the login for user {self.user!r}",
                              hint="Check --user and MENTOR_SMTP_PASSWORD.") from None
        except ssl.SSLError as exc:
            _quit(smtp)
            raise MentorError(f"the TLS handshake with {where} failed ({exc.reason or 'certificate'})",
                              hint="Check the server's certificate (SSL_CERT_FILE names extra trusted ones).") from None
        except (OSError, smtplib.SMTPException) as exc:
            _quit(smtp)
            raise MentorError(f"the mail server {where} broke off the session: {_reason(exc)}") from None
        return smtp

    def drop(self) -> None:
        if self.smtp is not None:
            _quit(self.smtp)
        self.smtp = None


class _Refusal(Exception):
    """The server lacks what the command line asked for: (what is missing, what to do)."""


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _reason(exc: BaseException) -> str:
    """The server's answer or the OS error, without anything of the message itself."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"all recipients refused (server code {', '.join(map(str, codes))})"
    code = getattr(exc, "smtp_code", None)
    text = getattr(exc, "smtp_error", b"")
    if code:
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"server answered {code} {clean_header_text(text, max_length=200)}".strip()
    return clean_header_text(str(exc) or type(exc).__name__, max_length=200)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def send_outbox(
    outbox: Path,
    *,
    host: str,
    port: int,
    starttls: bool,
    user: str | None,
    password: str | None,
    dry_run: bool,
    timeout: float = 30,
    ssl_context: ssl.SSLContext | None = None,
    progress: Callable[[SendItem], None] | None = None,
) -> SendReport:
    """Deliver every ``*.eml`` draft in ``outbox`` (file-name order) over one SMTP session.

    Each message goes without its ``X-Unsent`` header and with the sending time as Date, to its
    To and Cc addresses. As soon as the server accepts one, it is logged in ``sent/sent.log``
    (time, file, Message-ID) and moved to ``sent/``, so a re-run after a failure or a crash sends
    nothing twice; a draft whose Message-ID is already in the log is moved there unsent. A
    message the server rejects is reported and the rest go on. ``dry_run`` connects to nothing.
    """
    outbox = Path(outbox)
    if not outbox.is_dir():
        raise MentorError("the outbox folder does not exist", path=outbox, hint="Run mentor introduce or mentor report first.")
    report = SendReport(outbox=outbox, dry_run=dry_run)
    already = sent_message_ids(outbox)
    connection = None if dry_run else _Connection(host, port, starttls=starttls, user=user, password=password,
                                                  timeout=timeout, ssl_context=ssl_context)
    try:
        for path in sorted(p for p in outbox.glob("*.eml") if not files.is_backup(p)):
            try:
                item = _send_one(path, outbox, connection, already)
            except MentorError as exc:
                if not report.sent:  # nothing went out: the one readable line is the whole story
                    raise
                item = SendItem(path.name, "failed", 0, "", "", str(exc))
            report.items.append(item)
            if progress is not None:
                progress(item)
    finally:
        if connection is not None:
            connection.drop()
    return report


def _send_one(path: Path, outbox: Path, connection: _Connection | None, already: set[str]) -> SendItem:
    try:
        msg = read_eml(path)
        sender, recipients = envelope(msg)
    except (ValueError, IndexError, TypeError, OSError) as exc:
        return SendItem(path.name, "failed", 0, "", "", f"not a usable email file: {_reason(exc)}")
    subject = clean_header_text(msg.get("Subject", ""), max_length=MAX_SUBJECT_LENGTH)
    message_id = clean_header_text(msg.get("Message-ID", ""), max_length=250)
    item = SendItem(path.name, "planned", len(recipients), subject, message_id)
    if message_id and message_id in already:
        if connection is not None:
            _move_to_sent(path, outbox / SENT_FOLDER)
        item.status, item.error = "skipped", "already sent (its Message-ID is in sent/sent.log)"
        return item
    if connection is None:
        return item
    del msg["X-Unsent"]
    del msg["Date"]
    when = _utc_now()
    msg["Date"] = format_datetime(localtime(when))
    smtp = connection.open()  # a MentorError here (server unreachable) ends the run: nothing can go
    try:
        refused = smtp.send_message(msg, from_addr=sender, to_addrs=recipients)
    except smtplib.SMTPServerDisconnected as exc:
        connection.drop()
        item.status, item.error = "failed", f"the server hung up ({_reason(exc)}); run again to retry"
        return item
    except (smtplib.SMTPException, OSError) as exc:
        _reset(connection)
        item.status, item.error = "failed", _reason(exc)
        return item
    _record_sent(outbox, path, message_id, len(recipients) - len(refused), when)
    already.add(message_id)
    if refused:
        item.status = "failed"
        item.error = f"sent, but {len(refused)} of {len(recipients)} recipient(s) were refused; not retried"
    else:
        item.status = "sent"
    return item


def _reset(connection: _Connection) -> None:
    """After a rejected message, make the session usable for the next one (or reopen it)."""
    try:
        if connection.smtp is not None:
            connection.smtp.rset()
    except (smtplib.SMTPException, OSError):
        connection.drop()
