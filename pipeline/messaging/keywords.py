"""What an inbound text asks for: stop, start again, help, or nothing but a reply
(docs/compliance-rules.md#b4-keywords).

The whole text, read without case, punctuation or emoji ("Stop.", "STOP!!", "stop 🙏"),
decides first: the carriers' keywords (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE,
OPTOUT, OPT OUT) and their Spanish ones (ALTO, PARA, PARAR, DETENER, CANCELAR) revoke (B4);
START and UNSTOP ask for texts again (re-subscription, which the gate allows only where the
rules do: docs/compliance-rules.md#b4-start); HELP and INFO ask who we are. Otherwise the text is
read as everywhere in the homeowner's own words (compliance.language): a plain "don't text
me", "remove me", "take me off your list", or any stop keyword as a whole word, revokes;
something that only may mean stop ("wrong number", "no mas", "stpo") goes to the revocation
review. A text with both ("STOP START") is a stop: when in doubt, the stop wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from compliance.language import RevocationScan, plain, revocation_scan

STOP_WORDS = frozenset({"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke",
                        "optout", "opt out", "opt-out",
                        # Spanish, as a whole text only: inside a sentence "para" is "for", "alto" "high".
                        "alto", "para", "parar", "detener", "cancelar"})
# Only the carriers' own re-subscription words: "yes" re-subscribes at some carriers, but as
# a reply it usually answers a question, and a START lifts a stop, so it must be unmistakable.
START_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info"})
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


def _normalised(body: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s-]|_", "", plain(body))).strip(" -").lower()


def read_inbound(body: str) -> Reading:
    body = body or ""
    word = _normalised(body)
    if word in STOP_WORDS:
        return Reading(Keyword.STOP, RevocationScan(clear=body.strip()))
    if word in START_WORDS:
        return Reading(Keyword.START, RevocationScan())
    if word in HELP_WORDS:
        return Reading(Keyword.HELP, RevocationScan())
    scan = revocation_scan(body, homeowners_own_words=True)
    if scan.clear:
        return Reading(Keyword.STOP, scan)
    if scan.ambiguous:
        return Reading(Keyword.REVIEW, scan)
    if not word and any(sign in body for sign in STOP_SIGNS):
        return Reading(Keyword.REVIEW, RevocationScan(ambiguous=body.strip()[:120]))
    return Reading(Keyword.NONE, scan)
