"""Which column of a signup form holds which field.

Headers are matched against the phrasings real forms use, field by field, most specific
rule first. The rules are anchored and carry exclusions because a wrong mapping is worse
than none: "Mentor's email" in a mentee form is somebody else's address, "What is your
slack name?" is not the person's name, "Programming languages" are not spoken ones.
Where a header alone is too vague ("Role", "Experience", "Languages") the answers must fit
as well. Near misses are found with rapidfuzz and offered as suggestions; they are never
used. ``[columns]`` in ``mentor.toml`` overrides all of it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
from rapidfuzz import fuzz, process

from mentorcli import normalize
from mentorcli.config import COLUMN_FIELDS

# --- the fields -------------------------------------------------------------------------------

FIELD_HELP: dict[str, str] = COLUMN_FIELDS
HEADER_SEPARATOR = " | "
"""Joins several headers of one field in ``[columns]`` (a question asked twice, in two sections)."""
MAX_CHOICES = 9
CHOICE_FIELDS = tuple(f"choice_{n}" for n in range(1, MAX_CHOICES + 1))
MAPPABLE_FIELDS = tuple(FIELD_HELP) + CHOICE_FIELDS
LIST_FIELDS = ("goals", "expertise", "topics", "languages", "availability", "format", "interests", "choices")

# --- header text --------------------------------------------------------------------------------

_GRID = re.compile(r"^(.*?)\s*\[([^\[\]]+)\]\s*$", re.DOTALL)
_MANGLED = re.compile(r"^(.*)\.(\d+)$", re.DOTALL)


def clean_header(text: object) -> str:
    """The header as shown to the coordinator: whitespace runs (also newlines) as one space."""
    return normalize.clean_text(text)


def normalise_header(text: str) -> str:
    """The header reduced to words for matching.

    Lower case, accents and apostrophes dropped ("What's" -> "whats"), the first line only
    (later lines of a header are the form's description), text in brackets dropped
    ("Name (First and Last)" -> "name"), question numbering and punctuation removed.
    """
    text = unicodedata.normalize("NFKC", str(text)).replace("\u2019", "'").replace("\u2018", "'")
    lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
    text = lines[0] if lines else ""
    text = re.sub(r"\([^()]*\)|\[[^\[\]]*\]", " ", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"\be[\s-]?mail", "email", text)
    text = text.replace("&", " and ").replace("'", "").replace("_", " ").replace("-", " ").replace("/", " ")
    text = re.sub(r"#\s*(\d)", r"#\1", text)
    text = re.sub(r"[^a-z0-9#+ ]+", " ", text)
    text = " ".join(text.split())
    text = re.sub(r"^(?:q\s?\d+|\d+)\s+(?=[a-z])", "", text)
    text = re.sub(r"\s+(?:optional|required)$", "", text)
    return text


# --- the rules ------------------------------------------------------------------------------------

PRE = r"(?:and )?(?:(?:please |kindly )?(?:(?:provide|enter|give|share|state|tell us|type|write|list|fill in|add|input) )?(?:us )?(?:with )?)?"
WHAT = r"(?:(?:what is|whats|what are|which is) )?"
YOUR = (r"(?:(?:your|the|my|applicant|applicants|participant|participants|respondent|respondents|student|students"
        r"|employee|employees|member|members|staff|candidate|candidates|volunteer|volunteers) )?")
ORD = r"(?:(1st|2nd|3rd|[4-9]th|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|top)|(?:#|no |number |nr )?([1-9]))"
ORDINALS = {"1st": 1, "first": 1, "top": 1, "2nd": 2, "second": 2, "3rd": 3, "third": 3, "fourth": 4, "fifth": 5,
            "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9}
YES_NO_QUESTION = re.compile(r"^(?:are|is|do|does|would|will|can|could|have|has|did|should|may|shall)\b")
OTHER_PERSON = r"\b(?:mentors|mentees|your mentor|your mentee|the mentor|the mentee|their|manager|managers|line manager|supervisor|supervisors|partner|partners|referr\w*|referee|reference|emergency|parent|guardian|friend|colleague|colleagues|buddy|spouse|assistant|other|secondary|alternate|alternative|backup)\b"


@dataclass(frozen=True)
class Rule:
    """A header pattern for one field. ``tier`` 1 is certain; 3 needs the answers to fit."""

    field: str
    pattern: re.Pattern
    tier: int = 1
    check: str | None = None
    exclude: re.Pattern | None = None

    def matches(self, text: str) -> bool:
        return bool(self.pattern.search(text)) and not (self.exclude and self.exclude.search(text))


def _rule(field_name: str, pattern: str, tier: int = 1, check: str | None = None, exclude: str | None = None) -> Rule:
    return Rule(field_name, re.compile(pattern), tier, check, re.compile(exclude) if exclude else None)


_ROLE_EXCLUDE = (r"\b(?:before|previous\w*|past|ever|experience|how many|number|name|email|matched|paired|match|pair"
                 r"|goals?|why|expect\w*|hope|learn|help|feedback|rate|rating|satisf\w*|meet\w*|times?|skills?|topics?"
                 r"|expertise|areas?|languages?|who|qualities|looking for|characteristics|gender|age|capacity|hours"
                 r"|commit\w*|available|availability|current|job|title|company|organi[sz]ation|team|professional|position"
                 r"|describe|ideal|dream|career|industry|level|mentors|mentees|your mentor|your mentee)\b")
_GOAL_EXCLUDE = (r"\b(?:progress|achieved|status|update|rating|rate|score|since|last|how (?:well|far|much)|met"
                 r"|being a mentor|as a mentor|from mentoring|by mentoring|your mentees?|mentees? s|company|team|"
                 r"organi[sz]ations?)\b|\b(?:can|could) you (?:teach|offer|mentor|help|share)\b|\bto (?:teach|mentor|share|offer)\b")
_PROVIDER = (r"(?:mentor(?:ing|ship)?|teach(?:ing)?|offer|share|help(?:ing)?|advis\w+|coach(?:ing)?|guid\w+|support(?:ing)?"
             r"|give advice|provide)")

RULES: tuple[Rule, ...] = (
    # Form metadata that only looks like a field.
    _rule("timestamp", r"^(?:timestamp|time stamp|submitted|submitted at|submitted on|submission time|submission date"
                       r"|submission timestamp|date submitted|time submitted|submit date|submit date utc|completion time"
                       r"|date completed|time completed|recorded date|recordeddate|response date|response time"
                       r"|date created|created at|created on|datetime|date time|date and time|end date|enddate"
                       r"|end time|date of submission|time of submission)$"),
    _rule("timestamp", r"^(?:start time|start date|startdate|start date utc|date|completed|created|last modified time)$",
          tier=3, check="timestamp"),
    # The column names Google Forms and Excel write in other languages (accents are folded away).
    _rule("timestamp", r"^(?:horodateur|horodatage|zeitstempel|marca temporal|carimbo de data hora|tijdstempel"
                       r"|informazioni cronologiche|sygnatura czasowa|tidsstampel|tidsstempel|aikaleima)$"),
    _rule("email", r"^(?:adresse (?:e )?mail|adresse email|adresse courriel|courriel|email adresse|emailadresse"
                   r"|direccion de correo(?: electronico)?|correo(?: electronico)?|endereco de email|endereco de e mail"
                   r"|emailadres|indirizzo email|indirizzo di posta elettronica|adres email|adres e mail|e postadress"
                   r"|sahkopostiosoite|votre (?:adresse )?(?:e )?mail|ihre email adresse)$"),
    _rule("name", r"^(?:nom complet|nom et prenom|prenom et nom|nom prenom|prenom nom|votre nom|vollstandiger name"
                  r"|vor und nachname|vorname und nachname|name vorname|nombre completo|nombre y apellidos?"
                  r"|nome completo|nome e cognome|volledige naam|imie i nazwisko)$"),
    _rule("first_name", r"^(?:prenom|vorname|nombre|nome|voornaam|imie)$"),
    _rule("last_name", r"^(?:nom|nom de famille|nachname|familienname|apellidos?|sobrenome|cognome|achternaam"
                       r"|nazwisko)$"),
    _rule("timezone", r"^(?:fuseau horaire|zeitzone|zona horaria|fuso horario|fuso orario|tijdzone|strefa czasowa)$"),
    _rule("organisation", r"^(?:entreprise|societe|unternehmen|empresa|organizacion|organizacao|azienda|bedrijf)$"),
    _rule("department", r"^(?:departement|abteilung|departamento|dipartimento|afdeling|equipe)$"),
    # Ranked choices before requests: "First choice mentor" is a choice, not a request.
    _rule("choices", rf"^(?:who is )?{YOUR}{ORD} (?:choice|preference|pick|ranked|priority)(?: (?:of |for )?(?:a |your )?"
                     r"(?:mentor|mentee|partner|match|person))?(?: name| email| s name)?$"),
    _rule("choices", rf"^(?:(?:mentor|mentee|partner|match|person) )?(?:choice|preference|pick)(?: (?:no|number|nr))? ?{ORD}"
                     r"(?: (?:mentor|mentee|partner|match))?$"),
    _rule("choices", rf"^(?:mentor|mentee|partner|match) (?:rank|ranking|option|priority)(?: (?:no|number|nr))? ?{ORD}$"),
    _rule("choices", rf"^{ORD} (?:choice |preference |preferred |ranked )?(?:mentor|mentee|partner|match)"
                     r"(?: choice| preference| name| email)?$"),
    _rule("choices", rf"^(?:preferred|chosen|requested|desired|ranked) (?:mentor|mentee|partner|match)(?: (?:no|number|nr))? ?{ORD}$"),
    # Who the person is.
    _rule("email", rf"^{PRE}{WHAT}{YOUR}(?:(?:best|preferred|primary|main|work|business|company|corporate|professional"
                   r"|office|official|school|university|college|institutional|personal|contact|current|valid) )?"
                   r"(?:email|email address|mail address|email id|mail id|emailaddress)(?: address)?"
                   r"(?: (?:to reach you|we can reach you at|we can contact you at|for contact|for communication"
                   r"|for correspondence|to contact you|where we can reach you))?$"),
    _rule("email", r"^(?:what|which) email(?: address)? (?:should|can|do|shall|would|will|is best)\b.*\byou\b",
          exclude=OTHER_PERSON),
    _rule("email", r"^(?:username|user name|recipientemail|recipient email|respondent email|email of respondent)$",
          tier=3, check="email"),
    _rule("first_name", rf"^{PRE}{WHAT}{YOUR}(?:first|given|fore|christian) ?name$|^(?:first|firstname|fname|forename)$"),
    _rule("first_name", r"^(?:recipientfirstname|recipient first name)$", tier=3),
    _rule("last_name", rf"^{PRE}{WHAT}{YOUR}(?:last|family|sur) ?name$|^(?:last|lastname|lname|surname)$"),
    _rule("last_name", r"^(?:recipientlastname|recipient last name)$", tier=3),
    _rule("name", rf"^{PRE}{WHAT}{YOUR}(?:(?:full|preferred|complete|legal|display|real) )?(?:name|name and surname"
                  r"|name surname|first and last name|first name and last name|first last name|name first and last"
                  r"|name first last|full name and surname|name and last name)$"),
    _rule("name", r"^name of (?:the )?(?:participant|applicant|respondent|student|employee|member|person)$"),
    _rule("name", r"^(?:what should we call you|what do you like to be called|what would you like to be called)$",
          tier=2),
    # Role: from one question, or from yes/no columns.
    _rule("is_mentor", r"^(?:is |are you |i am |im |want to be |would you like to be |do you want to be "
                       r"|interested in being |sign up as |signing up as )?(?:a |an )?mentor(?: y n| yes no)?$",
          check="bool"),
    _rule("is_mentee", r"^(?:is |are you |i am |im |want to be |would you like to be |do you want to be "
                       r"|interested in being |sign up as |signing up as )?(?:a |an )?(?:mentee|be mentored)(?: y n| yes no)?$",
          check="bool"),
    _rule("role", r"\bmentor\b.*\b(?:mentee|be mentored|mentored)\b|\bmentee\b.*\bmentor\b", exclude=_ROLE_EXCLUDE),
    _rule("role", r"^(?:i want to be|i would like to be|id like to be|i wish to be|i am signing up as|i am signing up to be"
                  r"|i am applying as|i am applying to be|sign(?:ing)? up as|apply(?:ing)? as|register(?:ing)? as"
                  r"|join(?:ing)? as|participat(?:e|ing) as|i am a|im a|i am an|are you a|are you an|i am joining as"
                  r"|i would like to|i want to|would you like to be|do you want to be|what would you like to be"
                  r"|i am registering as|i am participating as)(?: a| an)?$"),
    _rule("role", r"^(?=.*\brole\b)(?=.*\b(?:interested|taking on|take on|this round|apply|applying|sign|signing|programme"
                  r"|program|mentoring|mentorship|cohort|participat\w*|register\w*|join\w*|would like|want|wish|prefer)\b)",
          exclude=_ROLE_EXCLUDE.replace("|mentors|mentees", "")),
    _rule("role", r"^(?:(?:which|what) (?:of the following )?(?:best )?describes you(?: best)?|describe yourself|i am|i am a"
                  r"|you are|you are a|im a|which are you|what are you|status|participant status|join as|joining as"
                  r"|sign up as|signing up as|i am joining as|i am signing up as)$", tier=3, check="role"),
    _rule("role", r"^(?:your |participant |participation |mentoring |mentorship |program |programme |signup "
                  r"|registration |member |user |applicant )?(?:role|type|category|track|role type|participant type"
                  r"|participation type)$", tier=3, check="role"),
    # What they want and offer.
    _rule("choices", r"^(?:ranked (?:choices|preferences)|(?:mentor|mentee|partner) (?:choices|rankings|ranking))$"),
    _rule("request", r"\b(?:who|anyone|someone|anybody|somebody|person|people|particular|specific|names?)\b.*"
                     r"\b(?:like|want|prefer|wish|hope|love|request)\w*\b.*\b(?:matched|paired|partnered|work with"
                     r"|mentored by|be mentored|mentor you|to mentor|as (?:a |your )?(?:mentor|mentee)|match|pair"
                     r"|connected? with)\b",
          exclude=r"\b(?:not|dont|never|avoid|rather not|prefer not|do not|shouldnt|should not|conflicts?|qualities"
                  r"|characteristics|traits|type of|kind of|background|looking for in|same|similar|gender|age"
                  r"|industry|experience|skills?|topics?)\b|\bsomeone (?:from|in|with|who|that)\b"),
    _rule("request", rf"^{YOUR}(?:preferred|requested|desired|chosen|specific|named) (?:mentor|mentee|partner|match|person"
                     r"|people|mentors|mentees)(?: name| names| s name| s names| request| if any| in mind)?$"),
    _rule("request", r"\b(?:have|got) (?:a |any )?(?:preferred|specific|particular) (?:mentor|mentee|partner|person|match)"
                     r"\b(?!.*\b(?:type|kind|background|gender|industry|qualities)\b)"),
    _rule("request", r"\b(?:specific|particular) (?:mentor|mentee|person|people|partner|someone) in mind\b"),
    _rule("request", r"^(?:mentor|mentee|partner|match|pairing) requests?(?: name| names)?$"
                     r"|^names? of (?:your )?(?:preferred|requested|chosen) (?:mentor|mentee|partner)s?$"),
    _rule("avoid", r"\b(?:not|never|dont|rather not|prefer not|do not|shouldnt|should not|wouldnt|would not|avoid)\b.*"
                   r"\b(?:matched|paired|partnered|work with|be mentored by|mentor|mentored|match|pair|assigned)\b",
          exclude=r"\bsomeone (?:from|in|with|who|that)\b|\b(?:same|similar|your own|gender|industry|how)\b"
                  r"|^(?!.*\b(?:anyone|anybody|someone|who|person|people|names?|individuals?|colleagues?)\b)"),
    _rule("avoid", r"^(?:(?:people|persons|names|anyone|mentors|mentees|individuals) )?(?:to avoid|avoid|do not match"
                   r"(?: with)?|dont match(?: with)?|do not pair(?: with)?|exclusions?|exclude|excluded (?:people|persons"
                   r"|names)|blocklist|block list|conflicts?|conflicts? of interest|known conflicts?|potential conflicts?"
                   r"(?: of interest)?|people to exclude|not matched with|incompatible (?:people|colleagues))$"),
    _rule("avoid", r"\b(?:list|name|any|known)\b.*\bconflicts? of interest\b"),
    _rule("wants", r"\bhow many mentors\b", exclude=r"\b(?:before|previously|in the past|had|so far|currently have)\b"),
    _rule("wants", r"\b(?:number|no|max|maximum|preferred number|ideal number) (?:of )?mentors\b(?: (?:wanted|requested"
                   r"|desired|you would like|you want))?$"),
    _rule("wants", r"^mentors? (?:wanted|requested|desired|needed)$|^wants$", tier=2, check="count"),
    _rule("capacity", r"\bhow many (?:mentees?|people|persons|individuals|students|proteges?|participants|pairings|pairs"
                      r"|matches|mentoring (?:pairs|relationships|partners))\b.*\b(?:mentor|mentoring|take|support|accept"
                      r"|handle|work with|commit|willing|able|guide|coach|capacity|bandwidth|have|like|want|could"
                      r"|can|would)\b|^how many mentees$",
          exclude=r"\b(?:before|previously|in the past|have you (?:ever )?(?:mentored|had)|so far|did you|currently have"
                  r"|hours?|years?|mentors|meet|attend|direct reports?|reports|team|employees|staff|manage|managing)\b"),
    _rule("capacity", r"\b(?:number|no|max|maximum|max number|maximum number|preferred number|ideal number) (?:of )?"
                      r"(?:mentees?|proteges?|pairings|matches)\b", exclude=r"\bmentors\b"),
    _rule("capacity", r"^(?:mentee|mentoring|mentor|mentorship) capacity$|\bmentees? (?:you |that you |which you )?"
                      r"(?:can|could|would like to|are willing to|are able to|want to) (?:take|mentor|accept|support|have"
                      r"|handle)\b"),
    _rule("capacity", r"^capacity$", tier=3, check="count"),
    _rule("goals", r"\bgoals?\b", exclude=_GOAL_EXCLUDE),
    _rule("goals", r"\b(?:want|like|hope|wish|need|hoping|wanting|looking|aim|aiming|plan|planning|keen|eager)"
                   r" (?:to )?(?:learn|develop|improve|grow|work on|gain|achieve|explore|focus on|build|strengthen"
                   r"|get better at|get help|get support|get advice|get guidance|get out of)\b",
          exclude=_GOAL_EXCLUDE),
    _rule("goals", r"\b(?:what|which) (?:topics?|areas?|skills?|subjects?|things) (?:would|do|could) you (?:like|want|need)"
                   r" (?:some )?(?:help|support|guidance|advice|mentoring|coaching|to learn|to develop|to improve|to grow)",
          exclude=r"\b(?:offer|provide|give|teach|share)\b"),
    _rule("goals", r"\b(?:areas?|topics?|skills?|things?|subjects?|fields?) (?:that |where |in which |which )?(?:you )?"
                   r"(?:would |d |youd )?(?:like|want|need|wish|hope)? ?(?:some )?(?:help|support|guidance|advice|mentoring"
                   r"|mentorship|coaching|development|to develop|to improve|to learn|to grow)\b",
          exclude=r"\b(?:can|could|able|offer|provide|give|comfortable|happy to|willing)\b"),
    _rule("goals", r"\b(?:development|learning|growth|improvement|career) (?:areas?|goals?|needs?|objectives?|priorities"
                   r"|plans?|aspirations?)\b", exclude=_GOAL_EXCLUDE),
    _rule("goals", r"\bwhat (?:do|would|can) you (?:need|want|like) (?:some )?(?:help|support|guidance|advice) (?:with|on|in)\b"),
    _rule("goals", r"\b(?:hope|hoping|expect|expecting|want|like|wish) to (?:get|gain|take away|achieve) (?:out of|from) "
                   r"(?:this |the )?(?:mentor\w*|program\w*|relationship|experience|pairing|scheme)",
          exclude=r"\b(?:being a mentor|as a mentor|by mentoring)\b"),
    _rule("expertise", r"\bexpertise\b", exclude=r"\b(?:level|rate|rating|how (?:much|would)|want|like to gain|develop"
                                                r"|learn\w*|seeking|looking for|desired|mentor s|mentors|your mentor"
                                                r"|indicat\w*)\b"),
    _rule("expertise", rf"^(?!(?:are|is|do|does|would|will|can|could|have|has|did|should|may)\b)(?=.*\b(?:topics?|areas?"
                       rf"|skills?|subjects?|what|which|things|fields?)\b).*\b(?:can|could|are able to|would be able to"
                       rf"|feel comfortable|are comfortable|comfortable|happy to|willing to|confident|qualified to|able to)"
                       rf"\b.*\b{_PROVIDER}\b",
          exclude=r"\b(?:how many|mentees|people|hours|time|commit\w*|often|when|meet\w*|available|languages?|want to learn"
                  r"|like to learn|help with your|your mentor)\b"),
    _rule("expertise", r"\b(?:areas? of (?:strength|specialism|specialty|speciality|specialization|specialisation|knowledge)"
                       r"|specialt(?:y|ies)|specialit(?:y|ies)|speciali[sz]ations?|specialisms?|skills you (?:can )?(?:offer"
                       r"|bring|share)|what you can offer|what (?:can|could) you offer|what are you good at"
                       r"|skills to (?:offer|share)|topics? (?:you )?(?:can|could) (?:mentor|teach|offer|cover)"
                       r"|(?:topics?|areas?|subjects?) (?:you )?(?:can|could) (?:mentor|help|advise|coach) (?:on|in|with))\b"),
    _rule("expertise", r"^(?:your )?(?:strengths|key strengths)$", tier=2),
    _rule("topics", r"\b(?:topics?|areas?|subjects?|things) (?:youd |you would |you want to |you |to )?(?:like to )?"
                    r"(?:discuss|talk about|cover|explore together)\b", tier=2,
          exclude=r"\b(?:not|dont|never|avoid|rather not)\b"),
    _rule("topics", rf"^{YOUR}(?:topics?|areas?|subjects?|focus areas?|areas? of (?:interest|focus)|topics? of interest"
                    r"|interest areas?|mentoring topics?|mentoring areas?|mentorship topics?|mentorship areas?|topic areas?"
                    r"|skill areas?|skills?|skill set|skillset|professional interests?|career interests?|fields? of interest"
                    r"|themes?|mentoring themes?|topics? to discuss|discussion topics?|areas to discuss|key skills"
                    r"|competencies|mentoring focus|focus)$", tier=2),
    # Where they are and how they meet.
    _rule("timezone", r"\btime ?zones?\b|^tz$|\butc offset\b|\bgmt offset\b",
          exclude=r"\b(?:prefer\w*|mentor\w*|mentee\w*|partner|match\w*|gap|difference|differ\w*|willing|ok|okay"
                  r"|acceptable|other|another|outside|across|same|range|open)\b"),
    _rule("languages", r"\b(?:languages?\b.*\b(?:speak|spoken|fluent\w*|native|communicat\w*|comfortable|conduct|converse"
                       r"|conversational|proficien\w*|preferred|mentor in|mentoring in|meet in|meetings in)|"
                       r"(?:speak|spoken|fluent\w*|native|communicat\w*|comfortable|conduct|converse|proficien\w*)\b.*"
                       r"\blanguages?)\b|\b(?:mother|native) tongue\b",
          exclude=r"\b(?:programming|coding|code|tech|technical|framework\w*|stack|computer|software|scripting|learn\w*"
                  r"|want to|teach)\b"),
    _rule("languages", r"^(?:your )?(?:preferred|primary|main|first|native|spoken) languages?\b",
          exclude=r"\b(?:programming|coding|code|tech|technical|framework\w*|stack|computer|software|scripting|learn\w*"
                  r"|want to|teach)\b"),
    _rule("languages", rf"^{YOUR}(?:languages?|language s|preferred languages?|languages? preference|spoken languages?"
                       r"|languages? spoken|other languages?|languages other than english)$", tier=3, check="language"),
    _rule("availability", r"\bavailab(?:le|ility)\b",
          exclude=r"\b(?:how (?:many|much|often|long)|hours?|per (?:week|month)|commit\w*|frequency|often|duration|start\w*"
                  r"|until|from|dates?|period|months?|weeks|travel|relocat\w*|mentor s|your mentor|mentee s"
                  r"|are you (?:still )?available to|will you be available|if)\b"),
    _rule("availability", r"^(?:preferred|best|good|suitable|convenient|usual|possible) (?:meeting |mentoring |session )?"
                          r"(?:times?|days?|time slots?|slots?|days? and times?|times? and days?|days? times?|hours)"
                          r"(?: (?:to meet|for (?:meetings?|mentoring|sessions?)))?$"),
    _rule("availability", r"^(?:when|what (?:days?|times?)(?: and times?)?|which (?:days?|times?)(?: and times?)?) (?:can|could"
                          r"|do|would|are|is|work)\b.*\b(?:meet|available|work|best|suit|free)\b",
          exclude=r"\b(?:how often|start\w*|begin|until|date)\b"),
    _rule("availability", r"\b(?:days?|times?) of (?:the )?(?:week|day)\b.*\b(?:free|available|meet|suit|best|prefer\w*)\b",
          exclude=r"\b(?:how often|start\w*|begin|until|date)\b"),
    _rule("availability", r"^(?:meeting times?|time slots?|days available|times available|days and times|days times"
                          r"|time availability|weekly availability|schedule|your schedule)$"),
    _rule("format", r"\b(?:meeting|mentoring|mentorship|session|communication|interaction|engagement|meet up"
                    r"|meetup|delivery) (?:format|mode|method|medium|type|preference|preferences|channel|setting)s?\b",
          exclude=r"\b(?:how often|frequency|often|length|duration|how long|when|times?|days?|languages?)\b"),
    _rule("format", r"\b(?:format|mode|method|medium|channel|way|means)s? of (?:communication|meeting|mentoring"
                    r"|interaction|engagement)\b", exclude=r"\b(?:how often|frequency|often|languages?)\b"),
    _rule("format", r"\bhow (?:would|do|will|should) you (?:like|prefer|want|wish) to (?:meet|connect|communicate"
                    r"|be mentored|mentor|hold (?:the )?meetings?|have (?:the )?meetings?)\b",
          exclude=r"\b(?:how often|often|when|where)\b"),
    _rule("format", r"\b(?:in person|virtual(?:ly)?|online|remote(?:ly)?|video|face to face) or (?:in person|virtual(?:ly)?"
                    r"|online|remote(?:ly)?|video|face to face|both|phone)\b"),
    _rule("format", rf"^{YOUR}(?:preferred )?(?:format|mode|mode of (?:meeting|mentoring|mentorship|communication|contact"
                    r"|interaction|delivery)|meeting preference|preferred way to meet|way of meeting|ways to meet|how to meet"
                    r"|meeting type|meeting mode|format preference|format of meetings|preferred communication|preferred medium)$"),
    _rule("location", rf"^{PRE}{WHAT}{YOUR}(?:current |home |work |office |primary )?(?:location|city|city country"
                      r"|country city|city and country|country and city|town|office location|work location|location city"
                      r"|location country|city of residence|place of residence|geographic location|home city|home town"
                      r"|hometown|city state|city and state|base location)$"),
    _rule("location", rf"^{PRE}{WHAT}{YOUR}(?:current )?(?:country|country of residence|residence|region country"
                      r"|country region)$", tier=2),
    _rule("location", r"^where (?:are you|do you) (?:currently )?(?:based|located|live|living|reside|residing|work from)\b"
                      r"|^(?:which|what) (?:city|country|town) (?:do you (?:currently )?(?:live|work|reside) in|are you "
                      r"(?:currently )?(?:based|located|living) in|are you in)$",
          exclude=r"\b(?:prefer\w*|mentor\w*|willing|relocat\w*|travel\w*|meet\w*)\b"),
    _rule("interests", rf"^{YOUR}(?:personal |other |outside )?(?:hobbies|hobby|interests|hobbies and interests"
                       r"|interests and hobbies|hobbies interests|interests hobbies|personal interests|non work interests"
                       r"|interests outside (?:of )?work|outside interests|interests outside of your job"
                       r"|outside of work interests|fun facts?|fun fact about you|passions)$"),
    _rule("interests", r"\bhobb(?:y|ies)\b|\binterests? outside (?:of )?(?:work|your job|your career|the office)\b"
                       r"|\bwhat do you (?:like to |enjoy )?(?:do|doing) (?:for fun|in your (?:free|spare) time|outside"
                       r" (?:of )?work)\b|\b(?:free|spare|leisure) time\b",
          exclude=r"\b(?:how much|professional|career|work interests|mentor\w*)\b"),
    # Who they work with and how long.
    _rule("industry", rf"^{PRE}{WHAT}{YOUR}(?:current |primary |main )?(?:industry|sector|industry sector|business sector"
                      r"|industry of work|field of work|line of work|professional field|line of business|industry or sector"
                      r"|sector or industry|industry you work in|sector you work in|industry area|industry background)$"),
    _rule("industry", r"\b(?:industry|sector)\b",
          exclude=r"\b(?:want|like|interested|move|moving|switch|transition|target|prefer\w*|desired|future|dream"
                  r"|mentor s|mentors|your mentor|same|similar|different|other|outside|experience|years|size|public or)\b"),
    _rule("organisation", rf"^{PRE}{WHAT}{YOUR}(?:current |present )?(?:company|employer|organisation|organization|org"
                          r"|company name|employer name|organisation name|organization name|name of (?:your )?(?:company"
                          r"|employer|organisation|organization)|firm|workplace|place of work|business|agency|institution"
                          r"|affiliation|company organisation|company organization|organisation company"
                          r"|organization company|company or organisation|company or organization|organisation or company"
                          r"|organization or company|employer organisation|employer organization|institution organisation"
                          r"|institution organization)$"),
    _rule("organisation", r"^(?:where|who) do you (?:currently )?work(?: for| at)?$|^(?:which|what) (?:company|organisation"
                          r"|organization|firm|employer) (?:do|are) you (?:currently )?(?:work|working|with|at|in|for"
                          r"|employed)(?: for| at| with| by)?$"),
    _rule("department", rf"^{PRE}{WHAT}{YOUR}(?:current )?(?:team|department|dept|business unit|division|team department"
                        r"|department team|team or department|department or team|team name|department name|team division"
                        r"|division department|department division|business function|business area|practice area)$"),
    _rule("department", r"^(?:which|what) (?:team|department|division|business unit) (?:are|do) you (?:currently )?(?:in|on"
                        r"|part of|work in|belong to|a member of|work for)$"),
    _rule("experience", rf"^{PRE}{WHAT}{YOUR}(?:number of |total )?(?:years? of (?:professional |work |working |industry "
                        r"|relevant |total |full time |post qualification |career )?experience|years? experience"
                        r"|yrs? of experience|yrs? experience|experience in years|experience years|experience yrs"
                        r"|years? in (?:the )?(?:industry|field|profession|workforce|career|tech|business)"
                        r"|years? working|years? of work|years? in work|total experience|career length"
                        r"|length of (?:career|experience))$",
          exclude=r"\b(?:mentor\w*|managing|management|manager|leading|leadership|with|using|programming|coding"
                  r"|teaching|volunteer\w*)\b"),
    _rule("experience", r"^how (?:many|much) (?:years?|yrs)(?: of)?(?: \w+)? (?:experience )?(?:do|have) you (?:have|had"
                        r"|worked|been working|got|been)\b|^how long have you been (?:working|in (?:the )?(?:industry|field"
                        r"|profession|workforce)|practi[cs]ing|employed|in your (?:career|field|profession))",
          exclude=r"\b(?:mentor\w*|managing|management|manager|leading|leadership|with|using|programming|coding"
                  r"|teaching|volunteer\w*)\b"),
    _rule("experience", r"^(?:experience|work experience|professional experience|experience level|years|yrs)$",
          tier=3, check="years"),
    _rule("consent", r"\b(?:consent|gdpr|privacy|data protection|data sharing|data processing)\b",
          tier=2, check="consent",
          exclude=r"\b(?:photo\w*|pictures?|images?|video\w*|record\w*|marketing|newsletters?|media|publicity"
                  r"|testimonial)\b"),
    _rule("consent", r"^(?:can|may) we (?:share|pass on|use|store|give)\b.*\b(?:details|information|data|email|name"
                     r"|contact)\b", tier=2, check="consent",
          exclude=r"\b(?:photo\w*|pictures?|images?|video\w*|record\w*|marketing|newsletters?|media|publicity)\b"),
    _rule("consent", r"\b(?:agree|accept|acknowledge|understand|confirm|permission|authori[sz]e|allow|happy for)\w*\b.*"
                     r"\b(?:data|details|information|privacy|terms|policy|shared|share|sharing|contact|stored|processed"
                     r"|conditions|notice)\b",
          tier=2, check="consent",
          exclude=r"\b(?:photo\w*|pictures?|images?|video\w*|record\w*|marketing|newsletters?|media|publicity"
                  r"|testimonial|meet\w*|attend\w*|commit\w*)\b"),
    _rule("facilitate", r"\bfacilitat\w*|\b(?:lead|host|run|chair)\w* (?:a |the |your )?(?:peer |mentoring )*"
                        r"(?:circle|group|pod)s?\b",
          tier=2, check="bool",
          exclude=r"\b(?:before|previous\w*|past|ever|experience\w*|how many|how often|rate|rating|feedback|who"
                  r"|which|name|email)\b"),
)

# Columns forms add on their own: recognised so that `mentor check` can say what they are.
FORM_METADATA = {
    "id", "respondent id", "respondentid", "response id", "responseid", "collector id", "collectorid", "ip address",
    "ipaddress", "status", "progress", "duration", "finished", "distributionchannel", "distribution channel",
    "userlanguage", "user language", "externalreference", "external reference", "external data reference",
    "locationlatitude", "locationlongitude", "location latitude", "location longitude", "network id", "token",
    "response type", "stage date utc", "#", "custom data 1", "score", "total score", "points", "total points",
    "quiz feedback", "last modified time", "row", "index", "unnamed", "response url", "edit url", "submission id",
    "respondent", "ip", "user agent", "referrer", "tags", "ending", "start date utc",
}

FIELD_EXAMPLES: dict[str, tuple[str, ...]] = {
    "email": ("email address", "email", "your email"),
    "name": ("full name", "your name", "name"),
    "role": ("mentor or mentee", "are you a mentor or a mentee", "role in the programme"),
    "goals": ("goals", "what do you want to learn", "areas you would like help with"),
    "expertise": ("areas of expertise", "topics you can mentor on"),
    "topics": ("topics", "areas of interest"),
    "industry": ("industry", "sector"),
    "organisation": ("company", "organisation", "employer"),
    "department": ("team", "department"),
    "experience": ("years of experience", "how many years of experience do you have"),
    "timezone": ("time zone", "what is your time zone"),
    "languages": ("languages you speak", "languages"),
    "availability": ("availability", "when are you available"),
    "format": ("preferred meeting format", "how would you like to meet"),
    "location": ("location", "city", "where are you based"),
    "interests": ("hobbies", "interests outside work"),
    "capacity": ("how many mentees could you take on", "mentee capacity"),
    "wants": ("how many mentors would you like",),
    "request": ("who would you like to be matched with", "preferred mentor"),
    "avoid": ("is there anyone you should not be matched with", "people to avoid"),
    "consent": ("consent", "i agree to my data being shared"),
    "timestamp": ("timestamp", "submitted at"),
    "facilitate": ("would you volunteer to facilitate a peer circle", "facilitate"),
}

# --- answers that must fit --------------------------------------------------------------------

HUMAN_LANGUAGES = {
    "english", "spanish", "french", "german", "italian", "portuguese", "dutch", "swedish", "norwegian", "danish",
    "finnish", "icelandic", "polish", "czech", "slovak", "hungarian", "romanian", "bulgarian", "greek", "turkish",
    "russian", "ukrainian", "belarusian", "serbian", "croatian", "bosnian", "slovenian", "albanian", "macedonian",
    "lithuanian", "latvian", "estonian", "irish", "welsh", "gaelic", "catalan", "basque", "galician", "maltese",
    "arabic", "hebrew", "persian", "farsi", "dari", "pashto", "kurdish", "urdu", "hindi", "bengali", "bangla",
    "punjabi", "gujarati", "marathi", "tamil", "telugu", "kannada", "malayalam", "sinhala", "nepali", "odia",
    "chinese", "mandarin", "cantonese", "japanese", "korean", "vietnamese", "thai", "lao", "khmer", "burmese",
    "malay", "indonesian", "tagalog", "filipino", "swahili", "amharic", "somali", "yoruba", "igbo", "hausa",
    "zulu", "xhosa", "afrikaans", "shona", "twi", "wolof", "armenian", "georgian", "azerbaijani", "kazakh",
    "uzbek", "mongolian", "tibetan", "bsl", "asl", "sign language", "british sign language", "american sign language",
    "esperanto", "latin", "yiddish", "creole", "haitian creole", "patois", "quechua", "maori", "samoan", "tongan",
}


def _fraction(values: Sequence[str], test: Callable[[str], bool]) -> float:
    distinct: dict[str, int] = {}
    for value in values:
        distinct[value] = distinct.get(value, 0) + 1
    total = sum(distinct.values())
    good = sum(count for value, count in distinct.items() if test(value))
    return good / total if total else 1.0


def _is_language_answer(value: str) -> bool:
    options = normalize.split_options(value, free_text=True)
    words = [normalize.fold(re.sub(r"\(.*?\)", "", o)).strip(" .") for o in options]
    words = [w for w in words if w]
    return bool(words) and sum(w in HUMAN_LANGUAGES for w in words) >= max(1, len(words) / 2)


VALUE_CHECKS: dict[str, tuple[Callable[[str], bool], float, str]] = {
    "role": (lambda v: normalize.parse_role(v) is not None, 0.6, "mentor / mentee / both"),
    "bool": (lambda v: normalize.parse_bool(v) is not None, 0.8, "yes / no"),
    "consent": (lambda v: normalize.parse_bool(v) is not None, 0.6, "yes / no or an agreement"),
    "email": (lambda v: "@" in v, 0.5, "email addresses"),
    "years": (lambda v: normalize.parse_years(v) is not None, 0.6, "years of experience"),
    "count": (lambda v: normalize.parse_count(v) is not None, 0.6, "numbers"),
    "timestamp": (lambda v: normalize.parse_timestamp(v) is not None, 0.8, "dates and times"),
    "language": (_is_language_answer, 0.5, "spoken languages"),
}


# --- the result -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a signup file and what became of it."""

    index: int
    header: str
    field: str | None = None
    note: str = ""
    suggestion: str | None = None


@dataclass(frozen=True)
class Source:
    """Where one field's answers come from: groups of column positions.

    Within a group the first answered column counts (a branching form asks the same
    question in two sections; each respondent answers one copy). ``kind`` says what the
    groups are: ``column`` (one group), ``union`` (a list field asked by several questions:
    every group's options), ``join`` (first name, last name), ``ranked`` (one group per
    rank, in rank order), ``grid`` (one group per bracketed row label in ``options``),
    ``flags`` (yes/no columns named in ``options``: is_mentor, is_mentee).
    """

    kind: str
    groups: tuple[tuple[int, ...], ...]
    header: str
    options: tuple[str, ...] = ()
    configured: bool = False

    @property
    def indices(self) -> tuple[int, ...]:
        return tuple(i for group in self.groups for i in group)


@dataclass
class ColumnMap:
    """The mapping of one signup file: every column, and the source of every mapped field."""

    columns: list[Column]
    sources: dict[str, Source] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def header(self, index: int) -> str:
        return self.columns[index].header

    def as_columns(self) -> dict[str, str]:
        """``{field: header}`` as ``[columns]`` in ``mentor.toml`` takes it (init, check --json)."""
        out: dict[str, str] = {}
        for name in FIELD_HELP:
            source = self.sources.get(name)
            if source is None:
                continue
            if source.kind == "join":
                out["first_name"] = self.header(source.groups[0][0])
                out["last_name"] = self.header(source.groups[1][0])
            elif source.kind == "flags":
                for flag, group in zip(source.options, source.groups):
                    out[flag] = self.header(group[0])
            elif source.kind == "ranked":
                for rank, group in enumerate(source.groups, 1):
                    out[f"choice_{rank}"] = self.header(group[0])
            elif source.kind == "grid":
                out[name] = source.header
            else:
                texts = dict.fromkeys(self.header(i) for i in source.indices)
                out[name] = HEADER_SEPARATOR.join(texts)
        return out


class Answers:
    """The answers of a file's columns, for tests that a vague header's answers fit."""

    def __init__(self, frame: pd.DataFrame | None = None, *, sample: int = 500):
        self.frame = frame
        self.sample = sample
        self._values: dict[int, list[str]] = {}
        self._rows: dict[int, frozenset[int]] = {}

    def _cells(self, index: int) -> pd.Series | None:
        if self.frame is None or index >= self.frame.shape[1]:
            return None
        return self.frame.iloc[:, index]

    def values(self, index: int) -> list[str]:
        """Up to ``sample`` non-blank answers of a column."""
        if index not in self._values:
            cells = self._cells(index)
            found: list[str] = []
            if cells is not None:
                for value in cells:
                    if isinstance(value, str) and value.strip():
                        found.append(value)
                        if len(found) >= self.sample:
                            break
            self._values[index] = found
        return self._values[index]

    def rows(self, index: int) -> frozenset[int]:
        """Row positions where a column is answered."""
        if index not in self._rows:
            cells = self._cells(index)
            self._rows[index] = frozenset() if cells is None else frozenset(
                i for i, value in enumerate(cells) if isinstance(value, str) and value.strip())
        return self._rows[index]


# --- detection ---------------------------------------------------------------------------------------


def _match(text: str, *, file_role: str | None) -> tuple[Rule | None, int | None]:
    """The first rule that matches a normalised header (and the rank, for ranked choices)."""
    if not text or text in FORM_METADATA:
        return None, None
    own = _own_role_prefix(text, file_role)
    for rule in RULES:
        candidate = own if own and rule.field in ("name", "email", "first_name", "last_name") else text
        if rule.matches(candidate):
            return rule, _choice_rank(rule, candidate)
    return None, None


def _choice_rank(rule: Rule, header: str) -> int | None:
    """The rank a ranked-choice header names ("2nd choice", "Choice 3"), else None."""
    if rule.field != "choices" or rule.pattern.groups < 2:
        return None
    found = rule.pattern.search(header)
    if found is None:
        return None
    words, digits = found.group(1), found.group(2)
    if words:
        return ORDINALS.get(words)
    return int(digits) if digits else None


def _own_role_prefix(text: str, file_role: str | None) -> str | None:
    """In a file that is all mentors, "Mentor name" is the person's own name (likewise mentees)."""
    words = {"mentor": ("mentor", "mentors"), "mentee": ("mentee", "mentees", "protege", "proteges")}.get(file_role or "")
    if not words:
        return None
    match = re.match(rf"^(?:{'|'.join(words)}) (.*)$", text)
    return match.group(1) if match else None


def _grid_groups(headers: Sequence[str]) -> dict[str, dict[str, list[int]]]:
    """Google Forms grid questions: {question: {row label: [positions]}} for two or more row labels."""
    groups: dict[str, dict[str, list[int]]] = {}
    for index, header in enumerate(headers):
        match = _GRID.match(header)
        if match and match.group(1).strip():
            groups.setdefault(match.group(1).strip(), {}).setdefault(match.group(2).strip(), []).append(index)
    return {question: rows for question, rows in groups.items() if len(rows) >= 2}


def _base_header(header: str, seen: set[str]) -> str:
    """The header without pandas' ".1" suffix for a repeated header (when the base occurs earlier)."""
    match = _MANGLED.match(header)
    if match and match.group(1) in seen:
        return match.group(1)
    return header


def detect_columns(
    headers: Sequence[str],
    answers: Answers | None = None,
    *,
    configured: Mapping[str, str] | None = None,
    file_role: str | None = None,
) -> ColumnMap:
    """Map the columns of one file to fields.

    ``answers`` gives the answers of each column (to test that they fit a vague header and
    to prefer an answered column over an empty copy); ``configured`` is ``[columns]`` of the
    config (field -> exact header; ``""`` switches a field off); ``file_role`` is the role
    the whole file has, if known ("Mentor name" in a mentors' file is the person's name).
    """
    configured = dict(configured or {})
    answers = answers or Answers()
    cleaned = [clean_header(h) for h in headers]
    seen: set[str] = set()
    bases = []
    for header in cleaned:
        bases.append(_base_header(header, seen))
        seen.add(header)
    grids = _grid_groups(bases)
    in_grid = {index for rows in grids.values() for indices in rows.values() for index in indices}
    state = _State(bases, answers)

    _apply_configured(configured, grids, state)
    disabled = {name for name, header in configured.items() if not str(header).strip()}
    ms_forms = _is_ms_forms(bases)

    candidates: dict[str, list[_Candidate]] = {}
    for index, base in enumerate(bases):
        if index in state.taken or index in in_grid:
            continue
        text = normalise_header(base)
        if text in FORM_METADATA:
            state.notes[index] = "form metadata; not used"
            continue
        rule, rank = _match(text, file_role=file_role)
        if rule is None:
            continue
        tier, check = rule.tier, rule.check
        if ms_forms and text in ("email", "name") and index < 8:
            tier = 3  # the respondent's account, often "anonymous": a question asking for it is better
        if rule.field == "email" and tier > 1:
            check = "email"  # a form's account column ("anonymous") or a vague header must hold addresses
        candidates.setdefault(rule.field, []).append((tier, index, rank, check))

    for name in sorted(candidates, key=MAPPABLE_FIELDS.index):
        blocked = name in disabled or name in state.sources
        if name in ("first_name", "last_name") and "name" in disabled:
            blocked = True
        if name in ("is_mentor", "is_mentee") and ("role" in disabled or "role" in state.sources):
            blocked = True
        if blocked:
            for _tier, index, _rank, _check in candidates[name]:
                state.notes.setdefault(index, f"looks like {name}, which [columns] sets or switches off")
            continue
        _choose(name, candidates[name], state)

    _fold_name_parts(state)
    _fold_role_flags(state)
    _fold_grids(grids, state, disabled)
    for question, rows in grids.items():
        for indices in rows.values():
            for index in indices:
                if index not in state.taken:
                    state.notes.setdefault(index, f"part of the grid question {question!r}; not used")

    columns = []
    for index, header in enumerate(cleaned):
        field_name = state.taken.get(index)
        suggestion = None
        note = state.notes.get(index, "")
        if field_name is None and not note:
            suggestion = state.suggestions.get(index) or _suggest(normalise_header(bases[index]), state.sources)
            note = f"not used; looks a little like {suggestion}" if suggestion else "not used"
        elif field_name is None:
            suggestion = state.suggestions.get(index)
        columns.append(Column(index, header or f"(column {index + 1})", field_name, note, suggestion))
    return ColumnMap(columns, state.sources, state.map_notes)


class _State:
    """What detection has decided so far for one file."""

    def __init__(self, bases: list[str], answers: Answers):
        self.bases = bases
        self.answers = answers
        self.taken: dict[int, str] = {}
        self.sources: dict[str, Source] = {}
        self.notes: dict[int, str] = {}
        self.suggestions: dict[int, str] = {}
        self.map_notes: list[str] = []

    def take(self, name: str, source: Source, labels: Sequence[str] | None = None) -> None:
        self.sources[name] = source
        for n, group in enumerate(source.groups):
            for index in group:
                self.taken[index] = labels[n] if labels else name
                self.notes.pop(index, None)


def _is_ms_forms(headers: Sequence[str]) -> bool:
    lowered = [h.strip().lower() for h in headers[:8]]
    return "id" in lowered and ("start time" in lowered or "completion time" in lowered)


def _apply_configured(configured: Mapping[str, str], grids: Mapping[str, Mapping[str, list[int]]],
                      state: _State) -> None:
    """Fields set in ``[columns]``: the exact header (case and spacing aside) or a grid question."""
    by_text: dict[str, list[int]] = {}
    for index, base in enumerate(state.bases):
        by_text.setdefault(" ".join(base.lower().split()), []).append(index)
    grid_by_text = {" ".join(q.lower().split()): (q, rows) for q, rows in grids.items()}
    ranked: dict[int, tuple[int, ...]] = {}
    parts_found: dict[str, tuple[int, ...]] = {}
    flags: dict[str, tuple[int, ...]] = {}
    for name, header in configured.items():
        wanted = " ".join(str(header).lower().split())
        if not wanted:
            continue
        parts = [wanted] if wanted in by_text or wanted in grid_by_text else [
            " ".join(part.split()) for part in wanted.split(HEADER_SEPARATOR.strip())]
        found = [part for part in parts if part in by_text]
        if found and name not in CHOICE_FIELDS and name not in ("first_name", "last_name", "is_mentor", "is_mentee"):
            groups = tuple(tuple(by_text[part]) for part in found)
            if name in LIST_FIELDS and len(groups) > 1:
                source = Source("union", groups, " | ".join(state.bases[g[0]] for g in groups), configured=True)
            else:
                merged = tuple(sorted(i for g in groups for i in g))
                source = Source("column", (merged,), state.bases[merged[0]], configured=True)
            state.take(name, source)
            missing = [part for part in parts if part not in by_text]
        elif found:
            group = tuple(by_text[found[0]])
            if name in CHOICE_FIELDS:
                ranked[int(name.split("_")[1])] = group
            elif name in ("first_name", "last_name"):
                parts_found[name] = group
            else:
                flags[name] = group
            for index in group:
                state.taken[index] = name
            missing = []
        elif wanted in grid_by_text:
            question, rows = grid_by_text[wanted]
            state.take(name, Source("grid", tuple(tuple(v) for v in rows.values()), question, tuple(rows),
                                    configured=True))
            missing = []
        else:
            missing = [wanted]
        if missing:
            state.map_notes.append(f"[columns] {name} = {header!r} is not a column of this file")
    if ranked:
        ranked_groups = tuple(ranked[rank] for rank in sorted(ranked))
        state.take("choices", Source("ranked", ranked_groups, " | ".join(state.bases[g[0]] for g in ranked_groups),
                                            configured=True),
                   [f"choice_{rank}" for rank in sorted(ranked)])
    if parts_found and "name" not in state.sources:
        if len(parts_found) == 2:
            first, last = parts_found["first_name"], parts_found["last_name"]
            state.take("name", Source("join", (first, last), f"{state.bases[first[0]]} + {state.bases[last[0]]}",
                                      configured=True), ["first_name", "last_name"])
        else:
            (group,) = parts_found.values()
            state.take("name", Source("column", (group,), state.bases[group[0]], configured=True))
    if flags and "role" not in state.sources:
        names = tuple(sorted(flags))
        state.take("role", Source("flags", tuple(flags[n] for n in names),
                                  " + ".join(state.bases[flags[n][0]] for n in names), names, configured=True),
                   list(names))


_Candidate = tuple[int, int, int | None, str | None]
"""A header that looks like a field: (tier, column position, rank of a ranked choice, check of its answers)."""
_Usable = tuple[int, int, int | None, bool]
"""A candidate whose answers passed the check: (tier, column position, rank, whether it has answers)."""


def _choose(name: str, found: Sequence[_Candidate], state: _State) -> None:
    """Pick the column(s) for one field among the headers that look like it."""
    usable: list[_Usable] = []
    for tier, index, rank, check in sorted(found, key=lambda c: (c[0], c[1])):
        answers = state.answers.values(index)
        if check:
            test, share, what = VALUE_CHECKS[check]
            if answers and _fraction(answers, test) < share:
                state.notes[index] = f"header looks like {name}, but the answers are not {what}; not used"
                state.suggestions[index] = name
                continue
        usable.append((tier, index, rank, bool(answers)))
    if not usable:
        return
    if any(answered for *_rest, answered in usable):
        for _tier, index, _rank, answered in usable:
            if not answered:
                state.notes[index] = f"looks like {name}, but is empty; another column is used"
        usable = [u for u in usable if u[3]]
    if name == "choices":
        _choose_ranked(usable, state)
        return
    best_tier, first = usable[0][0], usable[0][1]
    if name in LIST_FIELDS:
        _choose_union(name, usable, state)
        return
    chosen = [first]
    chosen_text = normalise_header(state.bases[first])
    for tier, index, _rank, _answered in usable[1:]:
        same_question = normalise_header(state.bases[index]) == chosen_text
        if tier == best_tier and (same_question or _disjoint(state.answers, chosen, index)):
            chosen.append(index)
        else:
            state.notes[index] = f"also looks like {name}; {state.bases[first]!r} is used"
            state.suggestions[index] = name
    state.take(name, Source("column", (tuple(sorted(chosen)),), state.bases[first]))


def _choose_union(name: str, usable: Sequence[_Usable], state: _State) -> None:
    """A list field asked by several questions (goals and skills to develop): all of their options."""
    best_tier, first = usable[0][0], usable[0][1]
    groups: dict[str, list[int]] = {}
    for tier, index, _rank, _answered in usable:
        if tier != best_tier:
            state.notes[index] = f"also looks like {name}; {state.bases[first]!r} is used"
            state.suggestions[index] = name
            continue
        groups.setdefault(normalise_header(state.bases[index]), []).append(index)
    source_groups = tuple(tuple(g) for g in groups.values())
    header = " + ".join(state.bases[g[0]] for g in source_groups)
    state.take(name, Source("column" if len(source_groups) == 1 else "union", source_groups, header))


def _disjoint(answers: Answers, chosen: list[int], index: int) -> bool:
    """Whether a column is only answered in rows where the chosen ones are not (a branching form's copy)."""
    mine = answers.rows(index)
    return bool(mine) and all(not (mine & answers.rows(other)) for other in chosen)


def _choose_ranked(usable: Sequence[_Usable], state: _State) -> None:
    by_rank: dict[int, list[int]] = {}
    unranked = []
    for _tier, index, rank, _answered in usable:
        if rank is None:
            unranked.append(index)
        else:
            by_rank.setdefault(rank, []).append(index)
    if by_rank:
        ranks = sorted(by_rank)
        groups = tuple(tuple(by_rank[r]) for r in ranks)
        state.take("choices", Source("ranked", groups, " | ".join(state.bases[g[0]] for g in groups)),
                   [f"choice_{n}" for n in range(1, len(ranks) + 1)])
        for index in unranked:
            state.notes[index] = "looks like ranked choices; the numbered columns are used"
    elif unranked:
        state.take("choices", Source("column", ((unranked[0],),), state.bases[unranked[0]]))


def _fold_name_parts(state: _State) -> None:
    """First + last name become the name when no full-name question (or only a form's account name) exists."""
    first = state.sources.pop("first_name", None)
    last = state.sources.pop("last_name", None)
    full = state.sources.get("name")
    full_is_weak = (full is not None and not full.configured
                    and normalise_header(state.bases[full.indices[0]]) in ("name", "preferred name", "display name"))
    if first and last and (full is None or full_is_weak):
        if full is not None:
            for index in full.indices:
                state.taken.pop(index, None)
                state.notes[index] = "a short or account name; first + last name are used"
        groups = (first.groups[0], last.groups[0])
        state.take("name", Source("join", groups, f"{state.bases[groups[0][0]]} + {state.bases[groups[1][0]]}"),
                   ["first_name", "last_name"])
        return
    if first and not last and full is None:  # a form that asks only for a first name
        state.take("name", Source("column", first.groups, state.bases[first.indices[0]]))
        return
    for part in (first, last):
        if part is None:
            continue
        for index in part.indices:
            state.taken.pop(index, None)
            state.notes[index] = ("name part; the full-name column is used" if full
                                  else "name part without its other half; not used")


def _fold_role_flags(state: _State) -> None:
    """Yes/no "is a mentor?" / "is a mentee?" columns give the role when no role question exists."""
    found = [(n, state.sources.pop(n)) for n in ("is_mentor", "is_mentee") if n in state.sources]
    if not found:
        return
    if "role" in state.sources:
        for _n, source in found:
            for index in source.indices:
                state.taken.pop(index, None)
                state.notes[index] = "yes/no role column; the role question is used"
        return
    names = tuple(n for n, _s in found)
    state.take("role", Source("flags", tuple(s.groups[0] for _n, s in found),
                              " + ".join(state.bases[s.indices[0]] for _n, s in found), names), list(names))


WEEKDAY_WORDS = re.compile(r"\b(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|days|s)?\b|\bweekdays?\b"
                           r"|\bweekends?\b|\bdaily\b|\bevery ?day\b", re.IGNORECASE)


def _grid_answers_tick(rows: Mapping[str, Sequence[int]], answers: Answers, *, weekdays: bool) -> bool:
    """Whether a grid's cells are ticks (the row label itself, or yes/x) — or weekdays, when allowed.

    A grid whose cells are levels ("Expert", "Novice") or ranks ("1st") says something else
    about each row label than "this one applies", so it is not folded into a list.
    """
    good = total = 0
    for option, indices in rows.items():
        label = normalize.fold(option)
        for index in indices:
            for value in answers.values(index):
                total += 1
                folded = normalize.fold(value)
                if folded == label or normalize.parse_bool(value) is True or (weekdays and WEEKDAY_WORDS.search(value)):
                    good += 1
    return total == 0 or good >= 0.9 * total


def _fold_grids(grids: Mapping[str, Mapping[str, list[int]]], state: _State, disabled: set[str]) -> None:
    """Grid questions whose rows are options of a list field become that list.

    A Google Forms availability grid ("What time are you available? [09:00 - 12:00]" with
    the ticked weekdays in each cell) becomes availability; a SurveyMonkey multi-select
    (one column per option, the option's text where ticked) becomes its field.
    """
    for question, rows in grids.items():
        text = normalise_header(question)
        if any(i in state.taken for indices in rows.values() for i in indices):
            continue
        rule, _rank = _match(text, file_role=None)
        name = rule.field if rule else None
        if name is None and _AVAILABILITY_QUESTION.search(text) and not re.search(r"\bhow (?:many|much|often)\b", text):
            name = "availability"
        if name not in LIST_FIELDS or name == "choices" or name in state.sources or name in disabled:
            continue
        if not _grid_answers_tick(rows, state.answers, weekdays=name == "availability"):
            for indices in rows.values():
                for index in indices:
                    state.notes[index] = (f"part of the grid question {question!r} (looks like {name}, but its answers "
                                          "are not ticks); not used")
            continue
        state.take(name, Source("grid", tuple(tuple(v) for v in rows.values()), question, tuple(rows)))


_AVAILABILITY_QUESTION = re.compile(r"\bavailab(?:le|ility)\b|\b(?:when|what time|which times?|what days?) (?:can|could"
                                    r"|are|do|would)\b.*\b(?:meet|free|available)\b|\btime slots?\b")


def _suggest(text: str, sources: Mapping[str, Source]) -> str | None:
    """The field an unmatched header is most similar to, if clearly similar; never used."""
    if not text:
        return None
    choices = {example: name for name, examples in FIELD_EXAMPLES.items() if name not in sources for example in examples}
    if not choices:
        return None
    best = process.extractOne(text, list(choices), scorer=fuzz.token_sort_ratio, score_cutoff=80)
    if best:
        return choices[best[0]]
    if re.search(r"\bemail\b", text) and "email" not in sources:
        return "email"
    return None
