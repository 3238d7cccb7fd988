"""The words that decide what a homeowner's words ask for (B4), as the lists in force on a day.

The lists are data (``RevocationWord``, read per day through ``rulebook().words(on)``:
docs/compliance-rules.md#b4-words). What stays here is how a text is read against them, and
the lists as the code held them before they were data: the fail-safe for a day on which no
row of a kind that recognises a stop is in force, since an empty list would read every
"STOP" as a reply (never "nothing is a stop"); and the floor of stop words the law itself
names, merged into the stop list whatever the rows say.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.utils import timezone

logger = logging.getLogger(__name__)

# The kinds of ``compliance.models.WordKind``, by value: this module is read by the model.
STOP, STOP_PHRASE, START, HELP, CONFIRMATION = "stop", "stop_phrase", "start", "help", "confirmation"

# (word, counts anywhere in the homeowner's words) as the whole text after ``whole_text``.
# Spanish only as the whole text: inside a sentence "para" is "for", "alto" "high".
BUILT_IN_STOP = (
    ("stop", True), ("stopall", True), ("stop all", False), ("unsubscribe", True), ("cancel", True),
    ("end", True), ("quit", True), ("revoke", True), ("optout", True), ("opt out", True), ("opt-out", True),
    ("alto", False), ("para", False), ("parar", False), ("detener", False), ("cancelar", False),
)
# The floor: the words that revoke by definition (47 CFR 64.1200(a)(10): "stop, quit, end,
# revoke, opt out, cancel, unsubscribe"), with the carriers' STOPALL and the ways "opt out" is
# typed. Counsel adds stop words; these are in every day's list, as a whole word anywhere,
# whatever the rows say: a row can be ended by a bulk write or a migration, never the law.
STATUTORY_STOP = ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "opt out", "opt-out")
# Words a reasonable person reads as "stop contacting me", wherever they appear; the last
# one is Spanish: "no me llames / escribas / mandes / contactes" (don't call / text me).
BUILT_IN_STOP_PHRASES = (
    r"(?:stop|quit|cease)\s+(?:calling|texting|contacting|messaging|emailing|mailing)",
    r"(?:do\s+not|don'?t|dont|never)\s+(?:ever\s+)?(?:call|text|contact|message|email|mail)",
    r"(?:remove|delete)\s+(?:me|my\s+(?:number|name|info)|this\s+number)",
    r"take\s+(?:me|my\s+(?:number|name)|this\s+number)\s+off",
    r"opt\s+me\s+out",
    r"leave\s+(?:me|us)\s+alone",
    r"no\s+more\s+(?:calls|texts|messages|mail)",
    r"no\s+me\s+(?:llame|llames|escriba|escribas|mande|mandes|contacte|contactes)",
)
# Only the carriers' own re-subscription words: "yes" re-subscribes at some carriers, but as
# a reply it usually answers a question, and a START lifts a stop, so it must be unmistakable.
BUILT_IN_START = ("start", "unstop")
BUILT_IN_HELP = ("help", "info")
# Words that turn a stop confirmation into a pitch (B4: "non-marketing").
BUILT_IN_CONFIRMATION = (
    r"offers?", r"cash", r"sell", r"selling", r"sale", r"listing", r"buy(?:er|ing)?", r"home\s+value",
    r"options?", r"foreclosure", r"lender", r"bank", r"call\s+(?:me|us)",
)
# A link is a pitch in a confirmation whatever the lists say: no word to add or end.
LINK = re.compile(r"https?://|www\.", re.IGNORECASE)
# Kinds that, empty on a day, would let a stop or a pitch through: the built-in list holds instead.
FAIL_SAFE = {
    STOP: [(word, anywhere) for word, anywhere in BUILT_IN_STOP],
    STOP_PHRASE: [(pattern, False) for pattern in BUILT_IN_STOP_PHRASES],
    CONFIRMATION: [(pattern, False) for pattern in BUILT_IN_CONFIRMATION],
}
NONE_IN_FORCE = "No %s row in force on %s: reading texts with the built-in list (docs/compliance-rules.md#b4-words)."
FLOOR_NOT_IN_FORCE = ("Statutory stop words %s not in force on %s as a whole word anywhere: read as stops anyway "
                      "(docs/compliance-rules.md#b4-words).")

# Phones type curly apostrophes ("don\u2019t") and full-width letters: read them as plain ones.
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})


def day_of(at: datetime | None = None) -> date:
    """The day whose lists judge words said at ``at`` (now by default): the day in UTC, as the
    gate dates a check (``compliance.gate.Attempt.call_date``), so a text read outside the gate
    and a check of the same moment read the same lists, whatever time zone is active."""
    return (at or timezone.now()).astimezone(UTC).date()


def plain(text: str) -> str:
    """``text`` with full-width letters and curly apostrophes as plain ones (NFKC)."""
    return unicodedata.normalize("NFKC", text or "").translate(APOSTROPHES)


def whole_text(text: str) -> str:
    """A text as a keyword is compared to it: no case, punctuation or emoji ("Stop." "STOP!!"
    "stop 🙏" are all "stop"), spaces squeezed; "S.T.O.P" is "stop" too."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s-]|_", "", plain(text))).strip(" -").lower()


def _as_whole_words(pattern: str) -> re.Pattern:
    return re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)


def _leftmost(patterns: Sequence[re.Pattern], text: str) -> re.Match | None:
    """The first match in ``text`` of any pattern; at the same place, the earlier pattern's,
    as one alternation of them all would find (each row compiled alone, so two rows may use
    the same group name)."""
    best = None
    for pattern in patterns:
        match = pattern.search(text)
        if match and (best is None or match.start() < best.start()):
            best = match
    return best


@dataclass(frozen=True)
class WordLists:
    """The B4 lists in force on one day."""

    stop: frozenset[str]                # whole texts that are a stop
    start: frozenset[str]               # whole texts that ask for texts again
    help: frozenset[str]                # whole texts that ask who we are
    stop_keywords: re.Pattern | None    # stop words that count as a whole word anywhere
    stop_phrases: tuple[re.Pattern, ...]
    confirmation: tuple[re.Pattern, ...]

    def stop_keyword(self, text: str) -> re.Match | None:
        return self.stop_keywords.search(text) if self.stop_keywords else None

    def stop_phrase(self, text: str) -> re.Match | None:
        return _leftmost(self.stop_phrases, text)

    def confirmation_pitch(self, text: str) -> re.Match | None:
        """What in a stop confirmation reads as marketing: a listed word or a link."""
        return _leftmost((*self.confirmation, LINK), text or "")


def word_lists(rows: Iterable, *, on: date) -> WordLists:
    """The lists made of ``rows`` (``RevocationWord``s in force on ``on``, in the order they
    were added); the built-in list for a fail-safe kind with no row, and the statutory stop
    words in the stop list always."""
    by_kind: dict[str, list[tuple[str, bool]]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append((row.word, row.anywhere))
    for kind, built_in in FAIL_SAFE.items():
        if not by_kind.get(kind):
            logger.error(NONE_IN_FORCE, kind, on)
            by_kind[kind] = built_in
    stop = _with_the_floor(by_kind[STOP], on)
    anywhere = [re.escape(word).replace(r"\ ", r"\s") for word, counts_anywhere in stop if counts_anywhere]
    return WordLists(
        stop=frozenset(word for word, _ in stop),
        start=frozenset(word for word, _ in by_kind.get(START, ())),
        help=frozenset(word for word, _ in by_kind.get(HELP, ())),
        stop_keywords=_as_whole_words("|".join(anywhere)) if anywhere else None,
        stop_phrases=tuple(_as_whole_words(pattern) for pattern, _ in by_kind[STOP_PHRASE]),
        confirmation=tuple(_as_whole_words(pattern) for pattern, _ in by_kind[CONFIRMATION]),
    )


def _with_the_floor(stop: list[tuple[str, bool]], on: date) -> list[tuple[str, bool]]:
    """The stop words with every statutory one counting anywhere: the rows' order, then the
    statutory words no row holds so (the admin refuses to end them; a bulk write does not ask)."""
    anywhere = {word for word, counts_anywhere in stop if counts_anywhere}
    missing = [word for word in STATUTORY_STOP if word not in anywhere]
    if not missing:
        return stop
    logger.error(FLOOR_NOT_IN_FORCE, ", ".join(missing), on)
    return [(word, counts_anywhere or word in missing) for word, counts_anywhere in stop] + [
        (word, True) for word in missing if word not in {w for w, _ in stop}]

