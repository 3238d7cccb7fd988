"""What an inbound text asks for: stop, start again, help, or nothing but a reply.

The carriers' keywords (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT) alone
in a text revoke (B4); so does a plain "don't text me" or "remove me", and, as everywhere in
the homeowner's own words, any of them as a whole word (compliance.language). Something that
only may mean stop ("wrong number", "no mas", "stpo") goes to the revocation review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from compliance.language import RevocationScan, revocation_scan

STOP_WORDS = frozenset({"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke",
                        "optout", "opt out", "opt-out"})
START_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info"})


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
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s-]", "", body or "")).strip().lower()


def read_inbound(body: str) -> Reading:
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
    return Reading(Keyword.NONE, scan)
