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
import stat
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from email import headerregistry
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, localtime
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import numpy as np
import pandas as pd
from email_validator import EmailNotValidError, validate_email
from markupsafe import Markup

from mentorcli import files, resources
from mentorcli.bulk import fork_context, worker_count, worker_stops
from mentorcli.config import Config
from mentorcli.errors import MentorError
from mentorcli.ics import CADENCES
from mentorcli.model import Member, PairingBook, Relationship, as_tuple, first_ids
from mentorcli.schedule import pair_invite
from mentorcli.tz import most_common_zone, tzinfo_for
from mentorcli.untrusted import visible, without_controls


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
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
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


def _printable(value: Any) -> Any:
    """What a template prints, without control characters: a cell's ESC or NUL never reaches a mail
    client (Markup stays Markup: dropping a control character cannot open a tag)."""
    if isinstance(value, Markup):
        return Markup(without_controls(str(value)))
    if isinstance(value, str):
        return without_controls(value)
    return value


@lru_cache(maxsize=16)
def _environment(search_path: tuple[str, ...], autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(search_path)),
        autoescape=autoescape,
        finalize=_printable,
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
    """Untrusted text made safe for a header: no control or line-break characters, one line,
    and nothing a mail reader would decode as an RFC 2047 encoded word.

    CR/LF is how a header is injected; the other control and separator characters are
    dropped too because some mail clients treat them as line ends. ``=?`` opens an encoded
    word (``=?utf-8?q?spy=40host?=``), which readers decode *after* splitting the header, so
    a name could decode into an address or a line break: it becomes ``= ?``.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    text = str(text)
    if not text.isprintable():  # the usual name is printable throughout: skip the look-up per character
        text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    one_line = " ".join(text.split()).replace("=?", "= ?")
    return one_line[:max_length].strip()


_ADDRESS_SPECIALS = str.maketrans({ch: " " for ch in '"(),:;<>@[\\]'})


def clean_display_name(text: Any) -> str:
    """A person's name as the display part of an address: text that no mail parser can read as one.

    Beyond ``clean_header_text``: compatibility forms are folded first (a fullwidth ``＠`` or
    ``＜`` becomes the ASCII it imitates), then every character with a meaning in an address
    list (quotes, angle brackets, ``@``, ``,``, ``;``, ``:``, brackets, backslash) becomes a
    space. Python quotes such names correctly, but a non-ASCII name is written as an encoded
    word, and readers that decode the header before parsing it would find an address in it.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return clean_header_text(unicodedata.normalize("NFKC", str(text)).translate(_ADDRESS_SPECIALS))


def make_address(name: Any, email_address: Any, *, role: str = "recipient") -> Address:
    """An ``Address`` from untrusted parts; a malformed address is a readable error, not a header.

    The address is checked with ``email-validator`` (syntax only: no network) and must be
    ASCII, because an ``.eml`` draft has to travel through any SMTP server. The name goes
    through ``clean_display_name``, so it can never become (part of) an address.
    """
    raw = str(email_address or "").strip()
    try:
        checked = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise MentorError(
            f"the {role} email address is not usable", hint="Correct it in the workbook and run again."
        ) from None
    local, _, _ = checked.normalized.rpartition("@")
    return Address(display_name=clean_display_name(name), username=local, domain=checked.ascii_domain)


RECIPIENTS_HEADER = "X-Mentorcli-Recipients"


def recipients_digest(to: Sequence[str], cc: Sequence[str] = (), bcc: Sequence[str] = ()) -> str:
    """A fingerprint of the exact recipients (``addr_spec`` per field, in order) a draft was written for.

    ``render_message`` puts it in the draft's first header from the addresses it was given;
    ``mentor send`` recomputes it from the addresses it parses back and refuses the draft when
    the two differ. A signup cell cannot forge it: it reaches headers only as a display name,
    cleaned of line breaks, so it can neither set this header nor push it out of the header block.
    """
    digest = hashlib.sha256()
    for field_name, addresses in (("to", to), ("cc", cc), ("bcc", bcc)):
        digest.update(f"{field_name}:{chr(0).join(addresses)}".encode("utf-8", "surrogateescape") + b"\x01")
    return f"sha256:{digest.hexdigest()[:32]}"  # 128 bits: enough against edits, and the header needs no folding


def _addresses(pairs: Sequence[tuple[str, str]], role: str) -> list[Address]:
    return [make_address(name, addr, role=role) for name, addr in pairs]


def _header_date(date: dt.datetime | dt.date | None) -> str:
    """An RFC 5322 date from the caller's input, never the clock (same input -> same bytes)."""
    if date is None:
        date = EPOCH
    if not isinstance(date, dt.datetime):
        date = dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)
    if date.tzinfo is None:
        date = date.replace(tzinfo=dt.UTC)
    return format_datetime(date.astimezone(dt.UTC).replace(microsecond=0), usegmt=True)


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
    # first, before any header that holds untrusted text (see recipients_digest)
    msg[RECIPIENTS_HEADER] = recipients_digest([a.addr_spec for a in to_addresses], [a.addr_spec for a in cc_addresses])
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
        _attach(msg, [_multipart("alternative", alternatives), *attached])
    else:
        msg.make_alternative()
        _attach(msg, alternatives)
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


def _attach(container: MIMEPart, parts: Sequence[MIMEPart]) -> None:
    """Attach finished parts. typeshed types ``EmailMessage.attach`` as taking another
    ``EmailMessage``; a ``MIMEPart`` is what the email package documents for a sub-part (an
    ``EmailMessage`` part would add its own MIME-Version header), so the container is typed as one."""
    for part in parts:
        container.attach(part)


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
    ``mentor send`` deliver it twice, so that needs ``--force`` too. Call ``check_outbox`` once at
    the start of a run to clear a killed run's leftovers.
    """
    targets = check_outbox([base for base, _ in messages], out_dir, force=force, clean=False)
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
    """The introduction drafts, one per relationship, and what the coordinator should know about them.

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
            notes.append(f"{len(self.stale)} pair(s) changed since the check-ins were scheduled ({first_ids(self.stale)}): "
                         "their introductions have no check-ins; run mentor schedule again to include them")
        if self.unscheduled:
            notes.append(f"{len(self.unscheduled)} pair(s) have no check-ins in the check-in sheet "
                         f"({first_ids(self.unscheduled)}): their introductions have no check-ins")
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
    local = moment.astimezone(zone or dt.UTC)
    return f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M} ({label})"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def names_text(names: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``: the people of a relationship in one phrase."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def addressed_members(relationship: Relationship) -> tuple[Member, ...]:
    """The members in the order an email names them: mentees (or peers) first, then the leads.

    For a pair that is mentee, mentor: the order every introduction has always used.
    """
    return (*relationship.others, *relationship.leads)


def _person_context(row: dict[str, Any], email_address: str, name: str, role: str) -> dict[str, Any]:
    """The fields of one person an introduction may show: only what the relationship needs to start."""
    goals = as_tuple(row.get("goals", ()))
    offers = as_tuple(row.get("expertise", ())) or as_tuple(row.get("topics", ()))
    if role != "mentor" and not goals:
        goals = as_tuple(row.get("topics", ()))
    return {
        "name": clean_header_text(name or row.get("name", ""), max_length=200) or email_address,
        "email": email_address,
        "role": role,
        "goals": list(goals) if role != "mentor" else [],
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
class _RelationshipCheckins:
    """One relationship's check-in rows (time order), their start times, and whether they are still its people's."""

    rows: pd.DataFrame
    starts: list[dt.datetime]
    same_people: bool


def _normalised(series: pd.Series) -> np.ndarray:
    return series.astype(str).str.strip().str.lower().to_numpy(dtype=object)


def _checkins_by_relationship(checkins: pd.DataFrame | None, pairs: pd.DataFrame) -> dict[str, _RelationshipCheckins]:
    """The usable check-in rows of each relationship (by pair id), split in one sorted pass.

    ``same_people`` is False when a row names a mentee and mentor that are not a Pairs row of
    that relationship now (the coordinator swapped someone after scheduling).
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
    member_pairs = pd.MultiIndex.from_arrays([pairs["pair_id"].astype(str).str.strip().to_numpy(dtype=object),
                                              _normalised(pairs["mentee_email"]), _normalised(pairs["mentor_email"])])
    rows_people = pd.MultiIndex.from_arrays([ids, _normalised(frame["mentee_email"]), _normalised(frame["mentor_email"])])
    matches = np.asarray(rows_people.isin(member_pairs), dtype=bool)
    firsts = np.r_[0, np.flatnonzero(ids[1:] != ids[:-1]) + 1]
    lasts = np.r_[firsts[1:], len(ids)]
    all_match = np.logical_and.reduceat(matches, firsts)
    starts = list(frame["_start"].dt.to_pydatetime())
    return {  # each meeting's start once: a circle (or a mentor with two mentees) has a row per member
        ids[first]: _RelationshipCheckins(frame.iloc[first:last, :width], list(dict.fromkeys(starts[first:last])), bool(ok))
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


def _relationship_rows(pairs: pd.DataFrame) -> dict[str, list[int]]:
    """Relationship id -> positions of its rows in ``pairs`` (a mentor with several mentees has several)."""
    rows: dict[str, list[int]] = {}
    for position, pair_id in enumerate(pairs["pair_id"].map(str)):
        rows.setdefault(pair_id, []).append(position)
    return rows


class _RelationshipBooks:
    """Each relationship's workbook cut down to its Pairs rows and its people, for its invitation.

    Handing every relationship the whole People sheet made the invitations quadratic in the
    cohort size. The People rows of all relationships are taken in one step, then sliced per
    relationship. One with a person missing or without a known zone gets the whole workbook
    instead: for an unknown zone the scheduler guesses the cohort's usual zone, which needs everyone.
    """

    def __init__(self, book: PairingBook, positions: list[list[int | None]]):
        self.book = book
        self.rows = _relationship_rows(book.pairs)
        known = np.array([tzinfo_for(_text(z)) is not None for z in book.people["timezone"]], dtype=bool) \
            if len(book.people) else np.zeros(0, dtype=bool)
        self.usable = [all(p is not None and known[p] for p in members) for members in positions]
        sizes = [len(members) if usable else 0 for members, usable in zip(positions, self.usable)]
        self.bounds = np.cumsum([0, *sizes])
        stacked = [p for members, usable in zip(positions, self.usable) if usable for p in members]
        self.stacked = book.people.iloc[stacked]

    def for_relationship(self, position: int, relationship_id: str) -> PairingBook:
        if not self.usable[position]:
            return self.book
        first, last = int(self.bounds[position]), int(self.bounds[position + 1])
        return PairingBook(path=self.book.path, pairs=self.book.pairs.iloc[self.rows[relationship_id]],
                           people=self.stacked.iloc[first:last], settings=self.book.settings)


def sorted_relationships(book: PairingBook) -> list[Relationship]:
    """The relationships of ``book`` in id order: the order of the drafts and their file names."""
    return sorted(book.relationships(), key=lambda relationship: relationship.id) if len(book.pairs) else []


def build_introductions(
    book: PairingBook,
    checkins: pd.DataFrame | None,
    config: Config,
    *,
    templates_dir: Path | None = None,
    invite: InviteMaker | None = None,
) -> Introductions:
    """One introduction draft per relationship of ``book``, to all its members, from the coordinator.

    A relationship's email holds that relationship's data only; sponsors are not copied. With
    ``checkins`` (``schedule.read_checkins``) it lists the relationship's check-ins in each
    member's local time and attaches the invitation ``schedule.pair_invite`` makes (or
    ``invite``). Check-ins scheduled for someone other than the workbook now names are left
    out and noted: an invitation to the wrong person is worse than none.
    """
    templates_dir = config.folder / "templates" if templates_dir is None else templates_dir
    invite = invite or pair_invite
    positions = _people_positions(book)
    records = book.people.to_dict("records") if book.people is not None else []
    by_relationship = _checkins_by_relationship(checkins, book.pairs)
    usual_zone = most_common_zone(book.people["timezone"])
    sender = (config.cohort.coordinator_name, config.cohort.coordinator_email)
    date = introduction_date(book)
    result = Introductions(without_calendar=checkins is None)
    relationships = sorted_relationships(book)
    addressed = [addressed_members(relationship) for relationship in relationships]
    emails = [[_text(member.email).lower() for member in members] for members in addressed]
    where = [[positions.get(address) for address in addresses] for addresses in emails]
    books = _RelationshipBooks(book, where) if by_relationship else None
    for position, relationship in enumerate(relationships):
        relationship_id = _text(relationship.id)
        people = [_person_context(records[row] if row is not None else {}, address, _text(member.name), member.role)
                  for member, address, row in zip(addressed[position], emails[position], where[position])]
        scheduled = by_relationship.get(relationship_id)
        if scheduled is not None and not scheduled.same_people:
            result.stale.append(relationship_id)
            scheduled = None
        elif scheduled is None and checkins is not None:
            result.unscheduled.append(relationship_id)
        starts = scheduled.starts if scheduled is not None else []
        context = _introduction_context(config, relationship, people, starts, usual_zone)
        if book.circles:
            context["circle"] = circle_context(relationship, people)
        attachments = []
        if scheduled is not None and books is not None:
            data = invite(scheduled.rows, books.for_relationship(position, relationship.id), config, relationship_id)
            attachments.append((f"checkin-{relationship_id}.ics", data, INVITE_TYPE))
        try:
            msg = render_message(
                CIRCLE_TEMPLATE if book.circles else "introduce",
                context,
                to=[(person["name"], person["email"]) for person in people],
                sender=sender,
                subject=(f"{config.cohort.name}: meet your circle, {context['names']}" if book.circles
                         else f"{config.cohort.name}: introducing {context['names']}"),
                templates_dir=templates_dir,
                attachments=attachments,
                date=date,
            )
        except MentorError as exc:
            sheet = "Circles" if book.circles else "Pairs"
            place = f"{sheet} row {relationship.row}" if relationship.row is not None else f"pair {relationship_id}"
            raise MentorError(f"{place}: {exc.message}", path=book.path, hint=exc.hint) from None
        result.messages.append((f"intro-{relationship_id}", msg))
    return result


def _cadence_words(config: Config) -> tuple[str, str]:
    """("monthly", "month") or the configured cadence's words, for the introduction's text."""
    cadence = CADENCES.get(str(config.schedule.cadence).strip().lower(), CADENCES["monthly"])
    return cadence.name, cadence.period


def _shared(people: Sequence[dict[str, Any]], key: str) -> list[str]:
    """What the first person lists under ``key`` that every other member lists too (their words, their order)."""
    others = [{value.lower() for value in person[key]} for person in people[1:]]
    return [value for value in people[0][key] if all(value.lower() in listed for listed in others)]


def _introduction_context(config: Config, relationship: Relationship, people: list[dict[str, Any]],
                          starts: Sequence[dt.datetime], usual_zone: str) -> dict[str, Any]:
    """What an introduction template may show. ``people`` (mentees first, then the mentor) is the
    unit; ``mentee``/``mentor`` (the first of each) stay for templates written for pairs."""
    checkins: list[dict[str, Any]] = []
    for number, moment in enumerate(starts, 1):
        times = [format_local_time(moment, person["timezone"], assumed=usual_zone) for person in people]
        checkins.append({"number": number, "times": times, "mentee_time": times[0], "mentor_time": times[-1]})
    if checkins:
        for person, first_time in zip(people, checkins[0]["times"]):
            person["first_checkin"] = first_time
    mentee = next((person for person in people if person["role"] != "mentor"), people[0])
    mentor = next((person for person in people if person["role"] == "mentor"), people[-1])
    cadence, period = _cadence_words(config)
    return {
        "programme": config.cohort.name,
        "coordinator": {"name": config.cohort.coordinator_name, "email": config.cohort.coordinator_email},
        "pair_id": _text(relationship.id),
        "why": _text(relationship.why),
        "people": people,
        "names": names_text([person["name"] for person in people]),
        "mentee": mentee,
        "mentor": mentor,
        "checkins": checkins,
        "checkin_count": len(checkins),
        "cadence": cadence,
        "cadence_period": period,
        "shared_formats": _shared(people, "formats"),
        "shared_languages": _shared(people, "languages"),
    }


CIRCLE_TEMPLATE = "introduce-circle"
"""A circle's introduction (``templates/introduce-circle.*.j2``): who leads it, what it shares, who is in it."""


def circle_context(relationship: Relationship, people: list[dict[str, Any]]) -> dict[str, Any]:
    """What a circle's introduction adds: its id and kind, its lead and members (People fields as
    ``people`` has them), and the goals every member listed (the first member's words) that a
    mentor also offers: the shared goal the circle was formed on, read from the People sheet."""
    lead_emails = {member.email for member in relationship.leads}
    leads = [person for person in people if person["email"] in lead_emails]
    members = [person for person in people if person["email"] not in lead_emails]
    shared = _shared(members, "goals") if members else []
    mentors = [person for person in leads if person["role"] == "mentor"]
    if mentors:
        offered = {value.lower() for person in mentors for value in person["offers"]}
        shared = [goal for goal in shared if not offered or goal.lower() in offered]
    return {
        "id": _text(relationship.id),
        "kind": "mentor-led" if mentors else "peer",
        "lead": leads[0] if leads else None,
        "leads": leads,
        "members": members,
        "shared_goals": shared,
        "size": len(people),
    }


PARALLEL_FROM = 1000  # relationships: below this, starting worker processes costs more than it saves
MAX_WORKERS = 4


def introduction_bases(book: PairingBook) -> list[str]:
    """The file-name bases of the introductions (one per relationship), known before anything is rendered."""
    return [f"intro-{_text(relationship.id)}" for relationship in sorted_relationships(book)]


def _render_chunk(book: PairingBook, checkins: pd.DataFrame | None, config: Config,
                  templates_dir: Path | None) -> Introductions:
    """Build one share of the introductions and return them as ``.eml`` bytes (runs in a worker)."""
    intros = build_introductions(book, checkins, config, templates_dir=templates_dir)
    intros.messages = [(base, msg if isinstance(msg, bytes) else msg.as_bytes()) for base, msg in intros.messages]
    return intros


def _chunks(book: PairingBook, checkins: pd.DataFrame | None, count: int) -> list[tuple[PairingBook, pd.DataFrame | None]]:
    """Split the relationships (in id order) into ``count`` runs, never one across two; People
    stay whole, so every cohort-wide value (usual zone, date) is the same as in one run and so are the bytes."""
    pairs = book.pairs.sort_values("pair_id", kind="stable")
    rows = _relationship_rows(pairs)
    ids = sorted(rows)
    bounds = np.linspace(0, len(ids), count + 1).astype(int)
    out = []
    for first, last in itertools.pairwise(bounds):
        part_ids = ids[first:last]
        part = pairs.iloc[[row for pair_id in part_ids for row in rows[pair_id]]]
        part_rows = None
        if checkins is not None:
            wanted = {_text(pair_id) for pair_id in part_ids}
            part_rows = checkins[checkins["pair_id"].astype(str).str.strip().isin(wanted)]
        out.append((PairingBook(path=book.path, pairs=part, people=book.people, settings=book.settings), part_rows))
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
    ``PARALLEL_FROM`` relationships they are split over worker processes; the output is the
    same, byte for byte, as from one process. ``workers=1`` keeps everything in this process.
    """
    templates_dir = config.folder / "templates" if templates_dir is None else templates_dir
    count = worker_count(workers, len(_relationship_rows(book.pairs)), parallel_from=PARALLEL_FROM, most=MAX_WORKERS)
    context = fork_context()
    if count == 1 or context is None:
        return _render_chunk(book, checkins, config, templates_dir)
    result = Introductions(without_calendar=checkins is None)
    with worker_stops("writing the emails", book.path), ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        futures = [pool.submit(_render_chunk, part, rows, config, templates_dir)
                   for part, rows in _chunks(book, checkins, count)]
        for future in futures:
            result.extend(future.result())
    return result


def check_outbox(bases: Sequence[str], out_dir: Path, *, force: bool, clean: bool = True) -> list[Path]:
    """The ``.eml`` paths for ``bases``, after checking none would replace a draft or a sent message
    without ``force``. Run before a long render, so a refusal comes at once. With ``clean`` (a run's
    start), temporary files that killed runs left in the outbox are removed first
    (``files.remove_stale_temporaries``: those whose process is gone)."""
    out_dir = Path(out_dir)
    names = message_file_names(bases)
    if clean:
        files.remove_stale_temporaries(out_dir)  # left by a killed run: never output, never sent
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
    """What happened to one ``.eml`` file. ``status``: sent, failed, skipped (already sent or a
    duplicate) or planned (dry run). ``refused``: recipients the server refused this time."""

    file: str
    status: str
    recipients: int
    subject: str
    message_id: str
    error: str = ""
    refused: list[str] = field(default_factory=list)


@dataclass
class SendReport:
    """The outcome of ``send_outbox``: one item per file, in file-name order.

    ``stopped`` says why the run ended before the last file (the send log could not be
    written): the files after that one were not tried.
    """

    outbox: Path
    dry_run: bool
    items: list[SendItem] = field(default_factory=list)
    stopped: str = ""

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
        return not self.failed and not self.stopped

    def as_dict(self) -> dict[str, Any]:
        return {
            "outbox": str(self.outbox),
            "dry_run": self.dry_run,
            "counts": {s: len(self.with_status(s)) for s in ("planned", "sent", "skipped", "failed")},
            "stopped": self.stopped,
            "messages": [asdict(item) for item in self.items],
        }


MAX_DRAFT_BYTES = 50 * 1024 * 1024


def is_finished_draft_name(name: str) -> bool:
    """True for a name ``mentor send`` takes: ``*.eml``, not hidden (a write in progress or left
    by an interrupted run is ``.name.eml.PID-TOKEN.mentor-tmp``, see ``files.is_temporary``), not a
    ``--force`` backup."""
    return name.endswith(".eml") and not name.startswith(".") and not files.is_backup(name)


def finished_drafts(outbox: Path) -> list[Path]:
    """The drafts of ``outbox`` that ``mentor send`` reads, in file-name order."""
    return [Path(outbox) / name for name in sorted(os.listdir(outbox)) if is_finished_draft_name(name)]


class DraftError(ValueError):
    """A draft that ``mentor send`` will not send; the message says why, in plain words."""


@dataclass
class Draft:
    """A draft read back and checked: who it goes to is exactly who it was written for."""

    message: EmailMessage
    sender: str
    recipients: list[str]
    subject: str
    message_id: str


def read_eml(path: Path) -> EmailMessage:
    """Parse a ``.eml`` file with the modern email API (headers as objects)."""
    with open(path, "rb") as fh:
        return BytesParser(policy=email.policy.default).parse(fh)


def read_draft(path: Path) -> Draft:
    """Read one draft and check it strictly; ``DraftError`` says what is wrong with it.

    Refused: anything but a regular file, a header the email package cannot read or reads with
    defects, group syntax, a non-ASCII or invalid address, no From / To, a header that may
    appear once appearing twice, and any draft whose To, Cc and Bcc (as parsed back by the
    modern parser and, independently, by the ``compat32`` one) are not the recipients
    ``render_message`` recorded in ``X-Mentorcli-Recipients``.
    """
    data = _draft_bytes(path)
    try:
        msg = BytesParser(policy=email.policy.default).parsebytes(data)
        legacy = BytesParser(policy=email.policy.compat32).parsebytes(data, headersonly=True)
    except Exception as exc:  # noqa: BLE001 - the email package raises many kinds on garbage: any is "not an email"
        raise DraftError(f"it cannot be read as an email ({type(exc).__name__})") from None
    counts: dict[str, int] = {}
    for key in msg:  # names only: reading a value parses it, and some values make the parser fail
        counts[key.lower()] = counts.get(key.lower(), 0) + 1
    for name in ("From", "Message-ID", RECIPIENTS_HEADER, "To", "Cc", "Bcc", "Subject"):
        if counts.get(name.lower(), 0) > 1:
            raise DraftError(f"it has more than one {name} header")
    for name in ("From", "Message-ID", RECIPIENTS_HEADER):
        if not counts.get(name.lower()):
            raise DraftError(f"it has no {name} header" + (" (it was not written by mentor)" if name == RECIPIENTS_HEADER else ""))
    senders = _header_addresses(msg, legacy, "From", counts)
    if len(senders) != 1:
        raise DraftError("its From header must hold exactly one address")
    fields = {name: _header_addresses(msg, legacy, name, counts) for name in ("To", "Cc", "Bcc")}
    recipients = list(dict.fromkeys(fields["To"] + fields["Cc"] + fields["Bcc"]))
    if not fields["To"] and not fields["Cc"]:
        raise DraftError("it has no To or Cc address")
    if _header_text(msg, RECIPIENTS_HEADER).strip() != recipients_digest(fields["To"], fields["Cc"], fields["Bcc"]):
        raise DraftError("its recipients are not the ones it was written for (To, Cc or Bcc changed after it was drafted)")
    subject = clean_header_text(_header_text(msg, "Subject"), max_length=MAX_SUBJECT_LENGTH)
    message_id = clean_header_text(_header_text(msg, "Message-ID"), max_length=250)
    if not message_id:
        raise DraftError("its Message-ID is empty")
    return Draft(msg, senders[0], recipients, subject, message_id)


def _draft_bytes(path: Path) -> bytes:
    """The file's bytes; a folder, a FIFO or a device named ``*.eml`` is refused, never opened."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise DraftError("it is a folder, not an email file")
        if not stat.S_ISREG(info.st_mode):
            raise DraftError("it is not a regular file")
        if info.st_size > MAX_DRAFT_BYTES:
            raise DraftError(f"it is larger than {MAX_DRAFT_BYTES // (1024 * 1024)} MB")
        return path.read_bytes()
    except OSError as exc:
        raise DraftError(f"it cannot be read ({exc.strerror or type(exc).__name__})") from None


def _header_text(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a header the email package cannot parse
        raise DraftError(f"its {name} header cannot be read") from None
    return "" if value is None else str(value)


def _header_addresses(msg: EmailMessage, legacy: Any, name: str, counts: dict[str, int]) -> list[str]:
    """The addresses of one address header, refused unless two independent parsers agree on them."""
    if not counts.get(name.lower()):
        return []
    try:
        header = msg[name]
        groups = header.groups
    except Exception:  # noqa: BLE001 - CPython header classes fail with AttributeError on some group syntax
        raise DraftError(f"its {name} header cannot be read") from None
    if header.defects:
        raise DraftError(f"its {name} header is malformed")
    if any(group.display_name is not None for group in groups):
        raise DraftError(f"its {name} header uses group syntax")
    addresses = [address.addr_spec for group in groups for address in group.addresses]
    for address in addresses:
        _check_address(address, name)
    legacy_addresses = [addr for _, addr in getaddresses([str(v) for v in legacy.get_all(name, [])])]
    if legacy_addresses != addresses:
        raise DraftError(f"its {name} header reads differently in different mail programs")
    return addresses


def _check_address(address: str, header: str) -> None:
    if not address.isascii():
        raise DraftError(f"its {header} header holds an address that is not plain ASCII")
    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise DraftError(f"its {header} header holds an address that is not usable") from None
    if checked.normalized.rpartition("@")[0] != address.rpartition("@")[0]:
        raise DraftError(f"its {header} header holds an address that is not usable")


# --------------------------------------------------------------------------- the send log


def _log_field(text: str) -> str:
    """A log field: no tab or line break from a file name or a server's answer can split a line."""
    return "".join(ch if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp") else "?" for ch in str(text))


def _note_sent_time(sent_at: dict[str, dt.datetime], name: str, stamp: str) -> None:
    """Keep the first time ``name`` was sent; a line whose time cannot be read dates nothing."""
    try:
        moment = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return
    sent_at.setdefault(name, moment)


@dataclass
class SendLog:
    """``sent/sent.log``: one tab-separated line per event, appended and flushed to disk each time.

    Columns: UTC time, event, file, Message-ID, detail. Events of one attempt, in order:
    ``sending`` (written *before* the message goes to the server), then ``refused`` (one per
    refused recipient: address, server answer) and one outcome: ``sent`` (every recipient it
    was still owed took it), ``partial`` (the others took it; the refused ones are owed) or
    ``failed`` (nobody took it). A ``sending`` with no outcome after it means the run stopped
    while the server had the message: it may have been delivered, so it is not sent again
    unless asked (``--resend-unsure``).
    """

    path: Path
    done: set[str] = field(default_factory=set)
    owed: dict[str, list[str]] = field(default_factory=dict)
    unsure: dict[str, str] = field(default_factory=dict)
    sent_at: dict[str, dt.datetime] = field(default_factory=dict)
    """File name -> UTC time of its first ``sent`` line (``mentor nudge`` dates introductions by it)."""

    @classmethod
    def read(cls, outbox: Path) -> SendLog:
        log = cls(Path(outbox) / SENT_FOLDER / SENT_LOG)
        try:
            text = log.path.read_bytes().decode("utf-8", "replace") if log.path.exists() else ""
        except OSError as exc:
            raise MentorError(f"the send log cannot be read ({exc.strerror or type(exc).__name__})", path=log.path,
                              hint="It records what was sent; without it a message could go out twice.") from None
        refused: dict[str, list[str]] = {}
        for line in text.splitlines():
            parts = line.split("\t")
            if len(parts) < 4:
                continue
            event, name, message_id = parts[1], parts[2], parts[3]
            if event == "sending":
                log.unsure[message_id] = name
                refused[message_id] = []
            elif event == "refused" and len(parts) >= 5:
                refused.setdefault(message_id, []).append(parts[4])
            elif event == "sent":
                log.done.add(message_id)
                _note_sent_time(log.sent_at, name, parts[0])
                log.owed.pop(message_id, None)
                log.unsure.pop(message_id, None)
            elif event == "partial":
                log.owed[message_id] = refused.get(message_id, [])
                log.unsure.pop(message_id, None)
            elif event == "failed":
                log.unsure.pop(message_id, None)
        return log

    def check_writable(self, outbox: Path) -> None:
        """Refuse, before anything is sent, an outbox whose sending could not be recorded."""
        folder = self.path.parent
        why = "mentor send records each message in sent/sent.log before sending it and then moves the draft to sent/"
        if not os.access(outbox, os.W_OK):
            raise MentorError("the outbox folder cannot be written: nothing was sent", path=outbox, hint=why + ".")
        if folder.exists() and not folder.is_dir():
            raise MentorError("is not a folder: nothing was sent", path=folder, hint=why + "; move this file away.")
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise MentorError(f"the folder for sent messages cannot be made ({exc.strerror}): nothing was sent",
                              path=folder, hint=why + ".") from None
        if not os.access(folder, os.W_OK):
            raise MentorError("the folder for sent messages cannot be written: nothing was sent", path=folder, hint=why + ".")
        try:
            with open(self.path, "ab+") as fh:
                if fh.tell() > 0:
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":  # a line cut short by a crash: end it, so the next one stands alone
                        fh.write(b"\n")
        except OSError as exc:
            raise MentorError(f"the send log cannot be written ({exc.strerror or type(exc).__name__}): nothing was sent",
                              path=self.path, hint=why + ".") from None

    def append(self, lines: Sequence[Sequence[str]]) -> None:
        """Append whole lines in one write and flush them to disk; ``OSError`` when that fails."""
        stamp = f"{_utc_now():%Y-%m-%dT%H:%M:%SZ}"
        text = "".join(stamp + "\t" + "\t".join(_log_field(part) for part in line) + "\n" for line in lines)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())


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
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


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
    resend_unsure: bool = False,
) -> SendReport:
    """Deliver every finished ``*.eml`` draft in ``outbox`` (file-name order) over one SMTP session.

    Each draft is read strictly (``read_draft``): one that is malformed, or whose recipients are
    not the ones it was written for, is reported by name and the rest go on. A message goes
    without its ``X-Unsent`` and ``X-Mentorcli-Recipients`` headers, with the sending time as
    Date, to its To, Cc and Bcc addresses. Before it goes, a ``sending`` line is flushed to
    ``sent/sent.log``; once the server answers, the outcome follows and a fully delivered
    draft moves to ``sent/``. So a re-run sends nothing twice: a draft whose Message-ID the log
    records as sent (or seen earlier in this run) is skipped, one refused for some recipients
    goes only to those, and one whose outcome was never recorded is not sent again unless
    ``resend_unsure``. An outbox or log that cannot be written is refused before anything is
    sent; a log that fails mid-run stops the run. ``dry_run`` connects to nothing, writes nothing.
    """
    outbox = Path(outbox)
    if not outbox.is_dir():
        raise MentorError("the outbox folder does not exist", path=outbox, hint="Run mentor introduce or mentor report first.")
    report = SendReport(outbox=outbox, dry_run=dry_run)
    try:
        drafts = finished_drafts(outbox)
    except OSError as exc:
        raise MentorError(f"the outbox folder cannot be read ({exc.strerror})", path=outbox) from None
    log = SendLog.read(outbox)
    if drafts and not dry_run:
        log.check_writable(outbox)
    connection = None if dry_run else _Connection(host, port, starttls=starttls, user=user, password=password,
                                                  timeout=timeout, ssl_context=ssl_context)
    run = _Run(outbox, log, connection, resend_unsure)
    try:
        for path in drafts:
            try:
                item = run.send(path)
            except MentorError as exc:
                if not report.sent:  # nothing went out: the one readable line is the whole story
                    raise
                item = SendItem(visible(path.name), "failed", 0, "", "", str(exc))
            report.items.append(item)
            if progress is not None:
                progress(item)
            if run.stopped:
                report.stopped = run.stopped
                break
    finally:
        if connection is not None:
            connection.drop()
    return report


class _LogFailure(Exception):
    """``sent/sent.log`` could not be written: the run must stop before another message goes."""


@dataclass
class _Run:
    """The state of one ``send_outbox`` run: the log, the session, the Message-IDs seen so far."""

    outbox: Path
    log: SendLog
    connection: _Connection | None
    resend_unsure: bool
    seen: dict[str, str] = field(default_factory=dict)
    stopped: str = ""

    def send(self, path: Path) -> SendItem:
        name = visible(path.name)
        try:
            draft = read_draft(path)
        except DraftError as exc:
            return SendItem(name, "failed", 0, "", "", f"not sent: {exc}")
        item = SendItem(name, "planned", len(draft.recipients), draft.subject, draft.message_id)
        first = self.seen.setdefault(draft.message_id, name)
        if first != name:
            item.status, item.error = "skipped", f"a duplicate of {first} (same Message-ID): not sent"
            return item
        if draft.message_id in self.log.done:
            if self.connection is not None:
                self._move(path, item)
            item.status, item.error = "skipped", "already sent (its Message-ID is in sent/sent.log)"
            return item
        if draft.message_id in self.log.unsure and not self.resend_unsure:
            item.status = "failed"
            item.error = ("the run that sent it stopped before the server's answer was recorded: it may have been "
                          "delivered, so it is not sent again (check, then move it to sent/ or use --resend-unsure)")
            return item
        recipients = draft.recipients
        if draft.message_id in self.log.owed:
            owed = set(self.log.owed[draft.message_id])
            recipients = [r for r in draft.recipients if r in owed]
            item.recipients = len(recipients)
            if not recipients:  # the owed ones are no longer in the draft: nothing left to deliver
                item.status, item.error = "failed", "the recipients it is still owed to are no longer in it: not sent"
                return item
        if self.connection is None:
            return item
        try:
            return self._deliver(path, draft, recipients, item)
        except _LogFailure as exc:
            self.stopped = f"sent/sent.log could not be written ({exc}): stopped after {name}, the rest were not tried"
            item.status = "failed" if item.status == "planned" else item.status
            item.error = (item.error + "; " if item.error else "") + self.stopped
            return item

    def _record(self, lines: Sequence[Sequence[str]]) -> None:
        try:
            self.log.append(lines)
        except OSError as exc:
            raise _LogFailure(exc.strerror or type(exc).__name__) from None

    def _deliver(self, path: Path, draft: Draft, recipients: list[str], item: SendItem) -> SendItem:
        assert self.connection is not None
        smtp = self.connection.open()  # a MentorError here (server unreachable) ends the run: nothing can go
        msg = draft.message
        del msg["X-Unsent"]
        del msg[RECIPIENTS_HEADER]
        del msg["Date"]
        msg["Date"] = format_datetime(localtime(_utc_now()))
        key = (item.file, draft.message_id)
        self._record([("sending", *key, f"{len(recipients)} recipient(s)")])
        try:
            refused = smtp.send_message(msg, from_addr=draft.sender, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            _reset(self.connection)
            return self._refused(item, key, exc.recipients, len(recipients), delivered=False)
        except smtplib.SMTPServerDisconnected as exc:
            self.connection.drop()
            self._record([("failed", *key, _reason(exc))])
            item.status, item.error = "failed", f"the server hung up ({_reason(exc)}); run again to retry"
            return item
        except (smtplib.SMTPException, OSError) as exc:
            _reset(self.connection)
            self._record([("failed", *key, _reason(exc))])
            item.status, item.error = "failed", _reason(exc)
            return item
        if refused:
            return self._refused(item, key, refused, len(recipients), delivered=True)
        item.status = "sent"
        self._record([("sent", *key, f"{len(recipients)} recipient(s)")])
        self.log.done.add(draft.message_id)
        self._move(path, item)
        return item

    def _refused(self, item: SendItem, key: tuple[str, str], refused: dict, count: int, *, delivered: bool) -> SendItem:
        """Name each refused recipient on screen and in the log; they stay owed for a re-run."""
        answers = {address: _answer(code, text) for address, (code, text) in refused.items()}
        took = count - len(answers)
        outcome = ("partial", *key, f"{took} of {count} recipient(s)") if delivered else ("failed", *key, "all recipients refused")
        item.status, item.refused = "failed", list(answers)
        named = ", ".join(f"{address} ({answer})" for address, answer in answers.items())
        item.error = (f"sent to {took} of {count} recipient(s); refused: {named}; run again to retry the refused ones"
                      if delivered else f"refused by the server for every recipient: {named}; run again to retry")
        self._record([*(("refused", *key, address, answer) for address, answer in answers.items()), outcome])
        return item

    def _move(self, path: Path, item: SendItem) -> None:
        """Move a delivered draft to sent/; the log already stops a second send if this fails."""
        try:
            _move_to_sent(path, self.outbox / SENT_FOLDER)
        except OSError as exc:
            note = f"it could not be moved to sent/ ({exc.strerror or type(exc).__name__}); the log keeps it from going twice"
            item.error = f"{item.error}; {note}" if item.error else note


def _answer(code: Any, text: Any) -> str:
    """A server's answer to one recipient, as one clean line."""
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return clean_header_text(f"{code} {words}", max_length=200)


def _reset(connection: _Connection) -> None:
    """After a rejected message, make the session usable for the next one (or reopen it)."""
    try:
        if connection.smtp is not None:
            connection.smtp.rset()
    except (smtplib.SMTPException, OSError):
        connection.drop()
