"""Which role a signup answer asks for: mentor, mentee, both, or "cannot say for sure".

A role read wrongly is silent and costly (a mentee treated as a mentor takes mentees and
loses their own mentor), so this reader only answers when the words leave no doubt and
otherwise says why it cannot (``RoleReading.problem``), for the caller to report on the row.

How an answer is read:

1. Gender-inclusive and accented forms are brought to one word first ("Mentor*in",
   "mentor(e)", "tutor(a)", "mentorado/a" -> the word; French "mentoré(e)" -> mentee, before
   accents are folded away, since "mentore" is a mentor in Italian and French).
2. A negation ("not", "no", "nicht", "pas", "não", ...) or a hedge ("maybe", "?") anywhere
   makes the answer unclear: "I do NOT want to be a mentor" names a role it does not want.
3. ``PHRASINGS`` below is a table of real answers (form options and typed sentences, in
   English, French, German, Spanish, Portuguese, Dutch and Italian); an answer equal to one
   of them (case, accents and spacing ignored) is read from the table.
4. Otherwise the answer is cut into parts (multi-select separators, "and"/"or" in each
   language) and every role word in a part is read with the words just before it: "a mentor"
   after "be", "become", "as", "ser", "devenir", ... (or before "werden"/"worden") is the
   person's own role; after "like", "find", "need", "looking for", "me", "with", "busco",
   "suche", ... it is what they ask for, so the other role ("I'd like a mentor" is a mentee,
   "I'd like a mentee" a mentor). A mentor and a mentee side together make ``both``; so does
   "both", "either", "peer" or "co-mentoring" when no side is named.

The rules read every entry of the table on their own too (the tests check it), so the table
is a record of what forms really export, not a list the reader only memorised.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

ROLES = ("mentor", "mentee", "both")

# --- a table of real answers --------------------------------------------------------------------
# (answer as people or forms write it, role). Sources: Google Forms and Microsoft Forms option
# exports (", " and ";"-joined multi-selects), the public fixtures in ../shared/external
# ("I am open to either role."), and mentoring-programme signup pages in each language
# (Mentor*in / Mentee, mentor·e / mentoré·e, mentor(a) / mentorado(a) / aprendiz, ...).
PHRASINGS: tuple[tuple[str, str], ...] = (
    # English: form options
    ("Mentor", "mentor"), ("Mentee", "mentee"), ("Both", "both"), ("Mentors", "mentor"), ("Mentees", "mentee"),
    ("Mentor, Mentee", "both"), ("Mentee, Mentor", "both"), ("Mentor;Mentee;", "both"), ("Mentor;", "mentor"),
    ("Mentee;", "mentee"), ("Mentor\nMentee", "both"), ("Mentor and mentee", "both"), ("Mentor & Mentee", "both"),
    ("Mentor/Mentee", "both"), ("Both mentor and mentee", "both"), ("Both (mentor and mentee)", "both"),
    ("Either", "both"), ("I am open to either role.", "both"), ("Open to both", "both"), ("Peer", "both"),
    ("Peer mentoring", "both"), ("Peer-to-peer", "both"), ("Co-mentoring", "both"), ("Either role", "both"),
    ("All of the above", "both"), ("Peer mentor", "mentor"), ("Protégé", "mentee"), ("Protege", "mentee"),
    ("Mentor only", "mentor"), ("Mentee only", "mentee"), ("Mentoring", "mentor"), ("Being mentored", "mentee"),
    ("Mentor (give mentoring)", "mentor"), ("Mentee (receive mentoring)", "mentee"), ("Coach", "mentor"),
    ("Coachee", "mentee"), ("Tutor", "mentor"), ("Tutee", "mentee"), ("Advisor", "mentor"), ("Advisee", "mentee"),
    ("Learner", "mentee"),
    # English: typed or long options
    ("I'd like to be a mentor", "mentor"), ("I would like to be a mentor", "mentor"), ("I want to be a mentor", "mentor"),
    ("I'd like to mentor someone", "mentor"), ("I want to mentor", "mentor"), ("I am a mentor", "mentor"),
    ("Become a mentor", "mentor"), ("Sign up as a mentor", "mentor"), ("Provide mentoring", "mentor"),
    ("Offer mentoring", "mentor"), ("Give guidance", "mentor"), ("Mentor others", "mentor"),
    ("I'd like a mentee", "mentor"), ("Take on a mentee", "mentor"), ("Volunteer as a mentor", "mentor"),
    ("I'd like a mentor", "mentee"), ("I would like a mentor", "mentee"), ("Find me a mentor", "mentee"),
    ("Looking for a mentor", "mentee"), ("I'm looking for a mentor", "mentee"), ("I want to be mentored", "mentee"),
    ("I need a mentor", "mentee"), ("I want a mentor", "mentee"), ("I want to find a mentor", "mentee"),
    ("Get a mentor", "mentee"), ("Seeking a mentor", "mentee"), ("Receive mentoring", "mentee"),
    ("I want to be a mentee", "mentee"), ("Be matched with a mentor", "mentee"), ("I'd like to have a mentor", "mentee"),
    ("Pair me with a mentor", "mentee"), ("I am a mentee", "mentee"), ("Become a mentee", "mentee"),
    ("I'd like to mentor and be mentored", "both"), ("I want to be a mentor and a mentee", "both"),
    ("I'd like to find a mentor and also mentor others", "both"), ("I'm happy to do either", "both"),
    # French
    ("Mentor·e", "mentor"), ("Mentor.e", "mentor"), ("Mentor(e)", "mentor"), ("Mentore", "mentor"),
    ("Mentoré", "mentee"), ("Mentorée", "mentee"), ("Mentoré·e", "mentee"), ("Mentoré(e)", "mentee"),
    ("Mentoré.e", "mentee"), ("Mentor·e et mentoré·e", "both"), ("Les deux", "both"), ("Parrain", "mentor"),
    ("Marraine", "mentor"), ("Filleul", "mentee"), ("Filleule", "mentee"), ("Filleul(e)", "mentee"),
    ("Tuteur", "mentor"), ("Tutrice", "mentor"), ("Tutoré(e)", "mentee"), ("Je souhaite devenir mentor", "mentor"),
    ("Je veux être mentor", "mentor"), ("Je souhaite être mentoré(e)", "mentee"), ("Je cherche un mentor", "mentee"),
    ("Je voudrais un mentor", "mentee"), ("En tant que mentor", "mentor"),
    ("Je souhaite être accompagné(e) par un mentor", "mentee"),
    # German
    ("Mentor*in", "mentor"), ("Mentor:in", "mentor"), ("Mentor_in", "mentor"), ("MentorIn", "mentor"),
    ("Mentor/-in", "mentor"), ("Mentor/in", "mentor"), ("Mentorin", "mentor"), ("Mentee (w/m/d)", "mentee"),
    ("Beides", "both"), ("Beide", "both"), ("Mentor*in und Mentee", "both"), ("Ich möchte Mentor*in werden", "mentor"),
    ("Ich möchte Mentee werden", "mentee"), ("Ich suche einen Mentor", "mentee"), ("Ich suche eine Mentorin", "mentee"),
    ("Ich möchte als Mentorin teilnehmen", "mentor"), ("Ich möchte einen Mentor", "mentee"),
    # Spanish
    ("Mentor(a)", "mentor"), ("Mentor/a", "mentor"), ("Mentora", "mentor"), ("Tutor(a)", "mentor"),
    ("Tutora", "mentor"), ("Mentoreado", "mentee"), ("Mentoreado/a", "mentee"), ("Mentoreada", "mentee"),
    ("Aprendiz", "mentee"), ("Ambos", "both"), ("Ambas", "both"), ("Los dos", "both"), ("Mentor y aprendiz", "both"),
    ("Quiero ser mentor", "mentor"), ("Quiero ser mentora", "mentor"), ("Busco un mentor", "mentee"),
    ("Quiero un mentor", "mentee"), ("Necesito un mentor", "mentee"), ("Quiero ser mentoreado", "mentee"),
    ("Participar como mentor", "mentor"),
    # Portuguese
    ("Mentorado", "mentee"), ("Mentorada", "mentee"), ("Mentorado(a)", "mentee"), ("Mentorado/a", "mentee"),
    ("Mentorando", "mentee"), ("Orientado", "mentee"), ("Orientada", "mentee"), ("Orientador(a)", "mentor"),
    ("Orientadora", "mentor"), ("Mentor e mentorado", "both"), ("Os dois", "both"), ("Quero ser mentor", "mentor"),
    ("Quero ser mentorado", "mentee"), ("Quero um mentor", "mentee"), ("Procuro um mentor", "mentee"),
    ("Gostaria de ter um mentor", "mentee"), ("Gostaria de ser mentora", "mentor"),
    # Dutch
    ("Mentor en mentee", "both"), ("Allebei", "both"), ("Ik wil mentor worden", "mentor"),
    ("Ik wil graag mentor zijn", "mentor"), ("Ik zoek een mentor", "mentee"), ("Ik wil een mentor", "mentee"),
    ("Ik wil mentee worden", "mentee"),
    # Italian
    ("Mentore", "mentor"), ("Mentorato", "mentee"), ("Tutor/Mentore", "mentor"), ("Entrambi", "both"),
    ("Entrambe", "both"), ("Mentore e mentee", "both"), ("Vorrei diventare mentore", "mentor"),
    ("Vorrei un mentore", "mentee"), ("Cerco un mentore", "mentee"), ("Vorrei essere mentee", "mentee"),
)

# --- the words the rules know -------------------------------------------------------------------

_MENTOR_NOUNS = frozenset({
    "mentor", "mentors", "mentorin", "mentorinnen", "mentore", "mentori", "mentora", "mentoras", "mentores",
    "tutor", "tutors", "tutora", "tutoras", "tutores", "tutore", "tuteur", "tuteurs", "tutrice", "orientador",
    "orientadora", "orientadores", "parrain", "parrains", "marraine", "marraines", "coach", "coaches", "advisor",
    "adviser", "advisors", "advisers",
})
_MENTEE_NOUNS = frozenset({
    "mentee", "mentees", "protege", "proteges", "protegee", "mentoree", "mentorees", "mentorado", "mentorada",
    "mentorados", "mentoradas", "mentoreado", "mentoreada", "mentoreados", "mentorando", "mentoranda",
    "mentorandos", "mentorato", "mentorata", "mentorati", "aprendiz", "aprendices", "aprendizes", "tutee",
    "tutees", "tutorado", "tutorada", "tutorando", "tutoranda", "orientado", "orientada", "orientados",
    "orientando", "orientanda", "filleul", "filleule", "filleuls", "coachee", "coachees", "advisee", "advisees",
    "learner", "learners", "mentored",
})
_MENTORING_NOUNS = frozenset({
    "mentoring", "mentorship", "guidance", "advice", "mentorat", "mentoria", "tutoria", "tutorat", "coaching",
    "support",
})
_BOTH_WORDS = frozenset({
    "both", "either", "beide", "beides", "beiden", "allebei", "ambos", "ambas", "entrambi", "entrambe",
    "comentoring", "whichever",
})
# words that mean both sides only when no side is named ("Peer" is both, "Peer mentor" a mentor)
_PEER_WORDS = frozenset({"peer", "peers", "mutual", "reciprocal"})
_BOTH_PHRASES = ("les deux", "los dos", "las dos", "os dois", "as duas", "tutti e due", "all of the above",
                 "any role", "peer to peer")
# the person's own role follows ("be a mentor", "ser mentor", "als Mentorin")
_BE = frozenset({
    "be", "become", "becoming", "being", "am", "i'm", "im", "are", "as", "serve", "act", "volunteer", "join",
    "ser", "soy", "sou", "seja", "como", "etre", "suis", "devenir", "comme", "que", "bin", "als", "werden", "sein",
    "ben", "zijn", "worden", "essere", "sono", "diventare", "fare", "come",
})
# the person asks for what follows ("find me a mentor", "busco un mentor")
_SEEK = frozenset({
    "like", "love", "want", "wants", "wanting", "need", "needs", "needing", "find", "finding", "get", "getting",
    "have", "having", "seek", "seeking", "look", "looking", "for", "request", "requesting", "receive", "receiving",
    "assigned", "matched", "paired", "given", "me", "with", "take", "taking", "prefer", "wish", "hope",
    "busco", "buscar", "buscando", "quiero", "quisiera", "necesito", "tener", "encontrar", "recibir", "con",
    "procuro", "procurar", "quero", "queria", "preciso", "ter", "receber", "com",
    "cherche", "chercher", "recherche", "veux", "voudrais", "souhaite", "besoin", "trouver", "avoir", "recevoir",
    "avec", "suche", "suchen", "brauche", "mochte", "hatte", "finden", "haben", "erhalten", "mit",
    "zoek", "zoeken", "wil", "wens", "nodig", "vinden", "hebben", "ontvangen", "met",
    "cerco", "cercare", "vorrei", "voglio", "bisogno", "trovare", "avere", "ricevere",
    # passive: helped "by" a mentor
    "by", "par", "von", "por", "pelo", "pela", "door", "guided", "supported", "coached", "helped", "accompagne",
    "accompagnee", "begleitet", "acompanado", "acompanada", "acompanhado", "acompanhada", "seguito", "seguita",
})
# the person gives what follows ("provide mentoring", "support a mentee")
_OFFER = frozenset({
    "offer", "offering", "provide", "providing", "give", "giving", "share", "sharing", "support", "supporting",
    "help", "helping", "guide", "guiding", "coach", "coaching", "mentor", "mentoring", "ofrecer", "dar",
    "oferecer", "offrir", "donner", "accompagner", "anbieten", "geben", "begleiten", "bieden", "geven",
    "offrire", "dare",
})
# "mentor others", "mentoring someone": mentor used as a verb
_OBJECTS = frozenset({"others", "someone", "somebody", "people", "students", "juniors", "newcomers", "them"})
_ARTICLES = frozenset({
    "a", "an", "the", "one", "my", "own", "un", "une", "le", "la", "el", "lo", "il", "de", "d", "du", "der",
    "die", "den", "dem", "eine", "einer", "ein", "o", "to", "also", "too", "personal", "good", "experienced",
    "senior", "junior", "new", "gerne", "graag", "being", "um", "uma", "einen", "een", "uno", "una", "des",
})
# "the mentor role": the word names a side the person signs up for, whatever comes before
_LABELS = frozenset({"role", "roles", "position", "track", "side", "spot", "place", "rolle", "rol", "ruolo", "papel"})
_NEGATIONS = frozenset({
    "not", "no", "never", "neither", "nor", "none", "cannot", "nope", "nah", "ne", "pas", "jamais", "ni", "aucun",
    "aucune", "nicht", "kein", "keine", "keinen", "keiner", "nie", "niemals", "nunca", "nao", "nem", "niet",
    "geen", "nooit", "non", "mai",
})
_HEDGES = frozenset({
    "maybe", "perhaps", "possibly", "unsure", "undecided", "depends", "tbd", "tbc", "vielleicht", "quizas",
    "quiza", "talvez", "misschien", "forse", "eventuellement", "eventualmente",
})
_CLAUSE_WORDS = frozenset({"and", "or", "und", "oder", "et", "ou", "y", "e", "en", "of", "o", "plus", "also"})

_SPLIT_CLAUSES = re.compile(r"[,;/&+\n\r()\[\]|]+|\s-\s|\.(?:\s|$)")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")

# accents are read before they are folded away: French "mentoré(e)" is a mentee, "mentore" a mentor
_ACCENTED_MENTEE = re.compile(r"(mentor|tutor)(?:é|e\u0301)(?:[·.\-(]?e\)?)?s?(?![\w])")
# inclusive endings: Mentor*in, Mentor:in, mentor·e, mentor(e), Mentor/-in, mentor/a, tutor(a), filleul(e)
_INCLUSIVE = re.compile(r"(\w{3,}?)(?:\*|:|_|·|\.|/-?|\(|-)(in|innen|e|a|es|as)\)?(?![\w])")
_INCLUSIVE_O_A = re.compile(r"(\w{3,})o\s*(?:/|\()\s*a\)?(?![\w])")
_NEGATED_VERB = re.compile(r"\w+n't\b|\bcan't\b|\bwon't\b")


@dataclass(frozen=True)
class RoleReading:
    """What a role answer says: the role, or why it cannot be read for sure."""

    role: str | None
    problem: str = ""


def _fold(text: str) -> str:
    """Lower-case ASCII: accents and case ignored, runs of spaces as one."""
    text = unicodedata.normalize("NFKD", text.replace("\u2019", "'")).encode("ascii", "ignore").decode("ascii")
    return " ".join(text.lower().split())


def _prepared(text: str) -> str:
    """The answer with inclusive and accented role words brought to one spelling, then folded."""
    value = re.sub(r"[\r\n]+", "; ", unicodedata.normalize("NFC", text).lower())  # a line per ticked option
    value = _ACCENTED_MENTEE.sub(lambda m: "mentee" if m.group(1) == "mentor" else "tutee", value)
    value = _INCLUSIVE_O_A.sub(r"\1o", value)
    value = _INCLUSIVE.sub(r"\1", value)
    value = value.replace("co-mentoring", "comentoring").replace("peer-to-peer", "peer to peer")
    return re.sub(r"'s\b", "", _fold(value))  # "Mentor's role": the possessive is the word


def _table_key(text: str) -> str:
    return " ".join(_WORD.findall(_prepared(text))) or _prepared(text)


_EXACT: dict[str, str] = {_table_key(text): role for text, role in PHRASINGS}


@functools.lru_cache(maxsize=4096)
def read_role(text: str) -> RoleReading:
    """The role an answer asks for, or a reading with ``role=None`` and the reason.

    Cached: a role column repeats a handful of answers, so each is read once.
    """
    value = " ".join(str(text).split())
    if not value:
        return RoleReading(None, "no role given")
    prepared = _prepared(value)
    words = _WORD.findall(prepared)
    if _NEGATED_VERB.search(prepared) or any(word in _NEGATIONS for word in words):
        return RoleReading(None, "it says what the person does not want (a negation)")
    if "?" in prepared or any(word in _HEDGES for word in words):
        return RoleReading(None, "it is not a firm answer")
    known = _EXACT.get(" ".join(words))
    if known is not None:
        return RoleReading(known)
    role = read_by_rules(prepared)
    if role is None:
        return RoleReading(None, "it does not say mentor, mentee or both clearly")
    return RoleReading(role)


def read_by_rules(prepared: str) -> str | None:
    """The role from the words of a prepared (see ``_prepared``) answer; None when it names none.

    Public for the tests, which check that the rules alone read every entry of ``PHRASINGS``.
    """
    sides: set[str] = set()
    both_word = any(phrase in prepared for phrase in _BOTH_PHRASES)
    peer_word = False
    for clause in _clauses(prepared):
        both_word = both_word or any(word in _BOTH_WORDS for word in clause)
        peer_word = peer_word or any(word in _PEER_WORDS for word in clause)
        for i, word in enumerate(clause):
            side = _side_of(clause, i, word)
            if side is not None:
                sides.add(side)
    if sides == {"mentor", "mentee"}:
        return "both"
    if both_word:
        return "both" if not sides else None  # "Mentor for both juniors and seniors" is not clear
    if len(sides) == 1:
        return sides.pop()
    return "both" if peer_word else None


def _clauses(prepared: str) -> list[list[str]]:
    """The answer cut at separators and at "and"/"or" words, each part as its words."""
    out = []
    for part in _SPLIT_CLAUSES.split(prepared):
        clause: list[str] = []
        for word in _WORD.findall(part):
            if word in _CLAUSE_WORDS:
                if clause:
                    out.append(clause)
                clause = []
            else:
                clause.append(word)
        if clause:
            out.append(clause)
    return out


def _frame(clause: list[str], i: int) -> str:
    """What the words before word ``i`` say about it: "be", "seek", "offer", "to" or ""."""
    following = clause[i + 1] if i + 1 < len(clause) else ""
    if following in ("werden", "worden", "sein", "zijn", "zu") or following in _LABELS:
        return "be"
    for j in range(i - 1, max(i - 6, -1), -1):
        word = clause[j]
        if word == "to" and j == i - 1:
            return "to"
        if word in _BE:
            return "be"
        if word in _SEEK:
            return "seek"
        if word in _OFFER:
            return "offer"
        if word in _ARTICLES:
            continue
    return ""


def _side_of(clause: list[str], i: int, word: str) -> str | None:
    """Which side word ``i`` of a clause puts the person on, if it is a role word."""
    following = clause[i + 1] if i + 1 < len(clause) else ""
    if word in _MENTEE_NOUNS:
        if word == "mentored":
            return "mentee"
        return "mentor" if _frame(clause, i) in ("seek", "offer") else "mentee"
    if word in _MENTOR_NOUNS:
        if following in _OBJECTS:
            return "mentor"
        frame = _frame(clause, i)
        if frame == "seek":
            return "mentee"
        return None if frame == "offer" else "mentor"
    if word in _MENTORING_NOUNS:
        if following in _OBJECTS:
            return "mentor"
        frame = _frame(clause, i)
        if frame == "seek":
            return "mentee"
        if frame == "offer":
            return "mentor"
        if word == "mentoring" and len(clause) == 1:
            return "mentor"  # the option "Mentoring" (beside "Being mentored"): doing it
    return None


def role_problem(answer: str, reading: RoleReading) -> str:
    """The row's problem text: the answer as written (shortened), why it is not read, what to do."""
    shown = " ".join("".join(ch if ch.isprintable() else " " for ch in str(answer)).split())  # no escapes
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return (f'the role answer "{shown}" cannot be read for sure ({reading.problem}); the row is not used '
            "(write mentor, mentee or both)")
