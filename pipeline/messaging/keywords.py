"""What an inbound text asks for: stop, start again, help, or nothing but a reply
(docs/compliance-rules.md#b4-keywords).

The whole text, read without case, punctuation or emoji ("Stop.", "STOP!!", "stop 🙏"),
decides first, against the lists in force on the day it was received (data a broker's
counsel edits: docs/compliance-rules.md#b4-words): as seeded, the carriers' keywords (STOP,
STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, OPT OUT) and their Spanish ones
(ALTO, PARA, PARAR, DETENER, CANCELAR) revoke (B4); START and UNSTOP ask for texts again
(re-subscription, which the gate allows only where the rules do:
docs/compliance-rules.md#b4-start); HELP and INFO ask who we are. Otherwise the text is
read as everywhere in the homeowner's own words (compliance.language): a plain "don't text
me", "remove me", "take me off your list", or any stop keyword as a whole word, revokes;
something that only may mean stop ("wrong number", "no mas", "stpo") goes to the revocation
review. A text with both ("STOP START") is a stop: when in doubt, the stop wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from compliance.language import RevocationScan, day_of, revocation_scan, revocation_words, whole_text

# A text of nothing but a stop sign may mean stop: a person looks at it.
STOP_SIGNS = frozenset({"\N{OCTAGONAL SIGN}", "\N{NO ENTRY}", "\N{NO ENTRY SIGN}"})


class Keyword:
    STOP = "stop"
    START = "start"
    HELP = "help"
    REVIEW = "review"
    NONE = ""


@dataclass(frozen=True)
class Reading:
    keyword: str
    revocation: RevocationScan


def read_inbound(body: str, on: date | None = None) -> Reading:
    """What ``body`` asks for, read with the lists in force on ``on``, the day it was received
    (by default today as the gate dates a check): a text judged again later is judged as on
    its own day."""
    body, on = body or "", on or day_of()
    words = revocation_words(on)
    word = whole_text(body)
    if word in words.stop:
        return Reading(Keyword.STOP, RevocationScan(clear=body.strip()))
    if word in words.start:
        return Reading(Keyword.START, RevocationScan())
    if word in words.help:
        return Reading(Keyword.HELP, RevocationScan())
    scan = revocation_scan(body, homeowners_own_words=True, on=on)
    if scan.clear:
        return Reading(Keyword.STOP, scan)
    if scan.ambiguous:
        return Reading(Keyword.REVIEW, scan)
    if not word and any(sign in body for sign in STOP_SIGNS):
        return Reading(Keyword.REVIEW, RevocationScan(ambiguous=body.strip()[:120]))
    return Reading(Keyword.NONE, scan)
