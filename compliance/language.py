"""Words that matter: prohibited promises (F6) and representations (F5), and a homeowner
saying "stop" (B4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .disclosures import without_disclosures
from .rulebook import rulebook
from .words import APOSTROPHES, WordLists, day_of, plain, whole_text  # noqa: F401 (read from here by pipeline)


@dataclass(frozen=True)
class PhraseHit:
    label: str
    why: str
    rule: str
    start: int
    end: int
    text: str


def language_hits(text: str, on: date | None = None) -> list[PhraseHit]:
    """Every prohibited phrase in ``text``, in order (the phrase table: F6's promises, F5's
    representations; ``hit.rule`` says which): the phrases in force on ``on``, the day the
    words are said or sent (today by default).

    Regulation O's own disclosures (F3) are set aside first: "not approved by the government"
    and "if you stop paying your mortgage" are the warnings it requires, not a promise. Curly
    apostrophes read as plain ones ("don\u2019t contact your lender"), offsets unchanged."""
    text = text or ""
    searched = without_disclosures(text.translate(APOSTROPHES))
    hits = []
    for phrase in rulebook().phrases(on or timezone.localdate()):
        for match in phrase.regex.finditer(searched):
            hits.append(PhraseHit(phrase.label, phrase.why, phrase.rule, match.start(), match.end(),
                                  text[match.start():match.end()]))
    return sorted(hits, key=lambda hit: (hit.start, -hit.end))


def highlighted(text: str, hits: list[PhraseHit]) -> SafeString:
    """``text`` escaped, with each hit wrapped in ``<mark title="why">``."""
    out, position = [], 0
    for hit in hits:
        if hit.start < position:  # overlapping phrases: the first one marks the span
            continue
        out.append(escape(text[position:hit.start]))
        out.append(f'<mark title="{escape(hit.why)}">{escape(hit.text)}</mark>')
        position = hit.end
    out.append(escape(text[position:]))
    return mark_safe("".join(out))


# Revocation (B4) ----------------------------------------------------------------------------
# The stop, start and help words and the stop phrases are data, in force from a date
# (``RevocationWord``; compliance/words.py reads a text against them): a text is judged by
# the lists in force on the day it was received or said (docs/compliance-rules.md#b4-words).

AMBIGUOUS_PHRASES = re.compile(r"\b(wrong\s+number|no\s+m[aá]s|not\s+interested|who\s+is\s+this)\b", re.IGNORECASE)
TYPO_TARGETS = ("stop", "quit", "cancel", "revoke", "unsubscribe")
# Ordinary words one letter away from a keyword: not typos of it.
ORDINARY = {
    "step", "stops", "stopped", "top", "shop", "slop", "atop", "stoop", "stow", "store", "story", "spot",
    "post", "quite", "quiet", "suit", "quilt", "quip", "quiz", "canceled", "cancels", "revoked",
}
WORD = re.compile(r"[a-zA-Z]+")
# The opt-out notice our own texts carry ("Reply STOP to opt out"): instructions, not a request.
OPT_OUT_NOTICE = re.compile(
    r"\b(?:reply|text|txt|send|respond\s+with)\s+[\"'\u201c]?(?:stop|quit|end|cancel|unsubscribe)[\"'\u201d]?"
    r"(?:\s+(?:to|for)\s+(?:opt[\s-]?out|unsubscribe|cancel|end|stop|quit|no\s+more\s+(?:texts|messages))"
    r"(?:\s+(?:of|from)\s+(?:future\s+)?(?:texts|messages))?)?",
    re.IGNORECASE,
)


def _one_edit_away(word: str, target: str) -> bool:
    if word == target or abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        differing = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(differing) == 1:
            return True
        # a swap of two neighbours ("sotp")
        return (len(differing) == 2 and differing[1] == differing[0] + 1
                and word[differing[0]] == target[differing[1]] and word[differing[1]] == target[differing[0]])
    shorter, longer = sorted((word, target), key=len)
    return any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))


@dataclass(frozen=True)
class RevocationScan:
    clear: str | None = None       # the words that revoke
    ambiguous: str | None = None   # the words a person must look at


def revocation_words(on: date | None = None) -> WordLists:
    """The B4 lists in force on ``on``, the day the words were received or said (by default
    today as the gate dates a check: ``compliance.words.day_of``)."""
    return rulebook().words(on or day_of())


def revocation_scan(text: str, *, homeowners_own_words: bool, on: date | None = None) -> RevocationScan:
    """Does this text revoke consent (B4)?

    In the homeowner's own words (a reply, what they said), STOP, QUIT, END, REVOKE,
    OPT OUT, CANCEL or UNSUBSCRIBE as a whole word, any case, revokes. In an agent's
    note the same keyword revokes only in a clear phrase ("stop calling", "don't text");
    alone it goes to review, as do "wrong number", "no mas" and typos ("stpo"). The
    keywords and phrases are those in force on ``on``, the day the words were said.
    """
    words = revocation_words(on)
    text = plain(text)
    if not homeowners_own_words:
        text = OPT_OUT_NOTICE.sub(" ", text)
    phrase = words.stop_phrase(text)
    if phrase:
        return RevocationScan(clear=phrase.group(0))
    keyword = words.stop_keyword(text)
    if keyword and homeowners_own_words:
        return RevocationScan(clear=keyword.group(0))
    if keyword:
        return RevocationScan(ambiguous=keyword.group(0))
    ambiguous = AMBIGUOUS_PHRASES.search(text)
    if ambiguous:
        return RevocationScan(ambiguous=ambiguous.group(0))
    for word in WORD.findall(text):
        lowered = word.lower()
        # A keyword glued to digits ("STOP2") is no whole word, but is no ordinary word either.
        if len(lowered) >= 3 and lowered not in ORDINARY and any(
                lowered == t or _one_edit_away(lowered, t) for t in TYPO_TARGETS):
            return RevocationScan(ambiguous=word)
    return RevocationScan()
