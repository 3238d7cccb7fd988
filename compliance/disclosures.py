"""What the homeowner must be told: who is contacting them (D3, F8), and Regulation O's
required disclosures where the licensee stay does not apply (F3)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from leadcrm.accounts.models import Brokerage, Capacity, User
from leads.models import Lead


def role_disclosure_sentence(*, actor: User, brokerage: Brokerage, lead: Lead | None = None) -> str:
    name = actor.get_full_name() or actor.username
    about = f" about your home at {lead.property.street_line}" if lead is not None else ""
    if actor.capacity == Capacity.PRINCIPAL:
        licensee = (
            f"I am a licensed real estate agent with {brokerage.name}, but I am calling as an "
            "investor buying for myself, not as your agent"
            if actor.is_licensee
            else "I am a private investor buying for myself, not a real estate agent"
        )
        return f"Hi, this is {name}. {licensee}. I'm reaching out{about}."
    return (
        f"Hi, this is {name}, a licensed real estate agent with {brokerage.name}. "
        f"I help homeowners sell, including through short sales, and I'm reaching out{about}. "
        "Your lender decides on any short sale; I can't promise its outcome."
    )


def role_disclosure_written(*, actor: User, brokerage: Brokerage) -> str:
    """The agent's role in writing, for the seller's status page and guide (F8): who they
    work for, and that the lenders decide."""
    name = actor.get_full_name() or actor.username
    license_text = f" (license {actor.license_number}{', ' + actor.license_state if actor.license_state else ''})" \
        if actor.license_number else ""
    if actor.capacity == Capacity.PRINCIPAL:
        if actor.is_licensee:
            return (f"{name} is a licensed real estate agent with {brokerage.name}{license_text}, acting as an "
                    "investor buying for themselves, not as your agent.")
        return f"{name} is a private investor buying for themselves, not a real estate agent."
    # Not "your listing agent": the guide also goes to homeowners who have signed nothing.
    return (f"{name} is a licensed real estate agent with {brokerage.name}{license_text} who helps homeowners "
            f"sell, including through short sales. Your lenders decide on any short sale; {name} cannot promise "
            "its outcome.")


# Regulation O's required disclosures (F3) ------------------------------------------------------
#
# The one home of their words: the checks, the block an agent inserts and the docs all read
# these constants (docs/compliance-rules.md#f3). The wording follows the published model
# disclosures of 12 CFR 1015.4 as the FTC and OCC summaries give them; counsel has not yet
# compared it word for word with the regulation's text.

HEADING = "IMPORTANT NOTICE"
SPOKEN_OPENING = "Before using this service, consider the following information."
NOT_GOVERNMENT = ("{company} is not associated with the government, and our service is not approved by the "
                  "government or your lender.")
GUARANTEE = "Even if you accept this offer and use our service, your lender may not agree to change your loan."
STOP_ANY_TIME = "You may stop doing business with us at any time."
ACCEPT_OR_REJECT = "You may accept or reject the offer of mortgage assistance we obtain from your lender."
OWE_NOTHING = "If you reject the offer, you do not have to pay us."
TOTAL_FEE = "If you accept the offer, you will have to pay us {fee} for our services."
STOP_PAYMENTS = "If you stop paying your mortgage, you could lose your home and damage your credit rating."
# What a template writes for the fee; the merge fills in the lead's total (pipeline.outreach.scripts).
FEE_FIELD = "[Total Fee]"


# Where the company's name may stand: at the start of a line or a sentence, so the slot never
# takes in the words before it ("Our HUD-approved team, Acme is not associated ...").
COMPANY_START = r"(?:^|(?<=\n)|(?<=[.!?:]\s))"
# The name itself: at most 60 characters of one sentence ("Acme Realty, Inc." keeps its point).
COMPANY = r"(?P<company>(?:[^.!?\n]|\.(?=\S)|(?<=Inc)\.|(?<=Co)\.|(?<=Corp)\.|(?<=Ltd)\.){1,60}?)"
# The fee: a figure and nothing else ("$2,500"), so the slot never runs on into other words.
FEE_FIGURE = r"[$\s]*\d[\d,.]*"


@dataclass(frozen=True)
class Required:
    """One sentence F3 asks for: its key, how the refusal names it, and its words."""

    key: str
    name: str
    words: str

    def pattern(self, *, template: bool = False) -> re.Pattern:
        """The sentence as written, any spacing and case. The company is a name at the start of
        a sentence; the fee is a figure, or, in a template (``template``), the merge field the
        send fills in (a message that goes out with the field itself states no fee)."""
        regex = ""
        for part in re.split(r"(\{company\}|\{fee\})", self.words):
            if part == "{company}":
                regex += COMPANY_START + COMPANY
            elif part == "{fee}":
                regex += "(?P<fee>" + FEE_FIGURE + ("|" + re.escape(FEE_FIELD) if template else "") + ")"
            elif part:
                words = r"\s+".join(re.escape(word) for word in part.split())
                regex += (r"\s+" if part[0].isspace() else "") + words + (r"\s+" if part[-1].isspace() else "")
        return re.compile(regex, re.IGNORECASE)


HEADING_REQUIRED = Required("heading", f"the heading “{HEADING}”", HEADING)
OPENING_REQUIRED = Required("opening", f"the spoken opening “{SPOKEN_OPENING}”", SPOKEN_OPENING)
TOTAL_FEE_REQUIRED = Required("total_fee", "the total fee", TOTAL_FEE)
WRITTEN = (
    Required("not_government", "that we are not associated with or approved by the government or the lender",
             NOT_GOVERNMENT),
    Required("stop_any_time", "that the homeowner may stop doing business with us at any time", STOP_ANY_TIME),
    Required("accept_or_reject", "that the homeowner may accept or reject the lender's offer", ACCEPT_OR_REJECT),
    Required("owe_nothing", "that the homeowner owes nothing if they reject the offer", OWE_NOTHING),
    TOTAL_FEE_REQUIRED,
)
GUARANTEE_REQUIRED = Required("guarantee", "the warning that the lender may not agree (the text suggests a "
                              "guaranteed result)", GUARANTEE)
STOP_PAYMENTS_REQUIRED = Required("stop_payments", "the warning about stopping mortgage payments (the text "
                                  "advises stopping them)", STOP_PAYMENTS)
EVERY_SENTENCE = (*WRITTEN, GUARANTEE_REQUIRED, STOP_PAYMENTS_REQUIRED, OPENING_REQUIRED)

# What reads as a promised result or as advice to stop paying, once the disclosures' own
# words are set aside (the guarantee and stop-payment warnings contain such words).
SUGGESTS_GUARANTEE = re.compile(
    r"\bguarantee|\b(?:pre-?)?approv(?:ed|al)\b|\b(?:will|going\s+to)\s+(?:approve|accept|agree)\b"
    r"|\b\d+\s+out\s+of\s+\d+\b|\b\d+\s*%\s+(?:success|approv)", re.IGNORECASE)
ADVISES_STOP_PAYING = re.compile(
    r"\b(?:stop|quit|skip|hold\s+off\s+on|don'?t\s+make|do\s+not\s+make)\s+(?:making\s+)?"
    r"(?:paying|your\s+(?:mortgage\s+)?payments?|(?:the\s+)?(?:mortgage\s+)?payments?)\b", re.IGNORECASE)

MISSING = "F3: {what} must carry Regulation O's disclosures; missing: {missing}"
MISSING_WRITTEN = "a message from a sender outside the licensee stay (F2)"
MISSING_SPOKEN = "a call script for a caller outside the licensee stay (F2)"


def disclosures_required(*, actor: User, service: str) -> bool:
    """F3 applies unless the licensee stay does (F2): an active licensee, as the seller's
    agent, helping with a short-sale listing."""
    from .transactions import licensee_stay_applies

    return not licensee_stay_applies(actor=actor, service=service)


def disclosure_spans(text: str, *, with_slots: bool = False) -> list[tuple[int, int]]:
    """Where the standard disclosures' own words stand in ``text``: those words ("not approved
    by the government", "stop paying your mortgage") are no promise and no advice. What fills
    a slot (the company's name, the fee) is not theirs, so it is left out of the spans unless
    ``with_slots`` (the whole sentences, to replace a partial notice)."""
    spans = []
    for required in (*EVERY_SENTENCE, HEADING_REQUIRED):
        for match in required.pattern(template=True).finditer(text or ""):
            start = match.start()
            for slot in ("company", "fee"):
                if not with_slots and slot in match.re.groupindex and match.start(slot) >= 0:
                    spans.append((start, match.start(slot)))
                    start = match.end(slot)
            spans.append((start, match.end()))
    return sorted(span for span in spans if span[1] > span[0])


def without_disclosures(text: str, *, with_slots: bool = False) -> str:
    """``text`` with the disclosures' fixed words blanked out, at the same offsets (and what
    fills their slots too, with ``with_slots``)."""
    text = text or ""
    for start, end in disclosure_spans(text, with_slots=with_slots):
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def missing_disclosures(text: str, *, spoken: bool = False, template: bool = False,
                        fee_required: bool = True) -> list[Required]:
    """The F3 sentences ``text`` lacks, in the order the block gives them.

    A spoken script only has to begin with the opening; what follows it is said, and the
    written block's sentences are checked on what is written. Written words need the heading,
    the five sentences, and the guarantee or stop-payments warning when the text, its
    disclosures set aside, suggests a guaranteed result or advises stopping payments.

    The fee sentence names a figure; a template (``template``) may name the merge field
    instead. Without ``fee_required`` (a principal buying for themselves with no fee on the
    lead: docs/compliance-rules.md#f3) the fee sentence is not asked for."""
    text = text or ""
    if spoken:
        opening = OPENING_REQUIRED.pattern().match(text.strip())
        return [] if opening else [OPENING_REQUIRED]
    missing = [] if HEADING in text.upper() else [HEADING_REQUIRED]
    missing += [required for required in WRITTEN
                if (fee_required or required is not TOTAL_FEE_REQUIRED)
                and not required.pattern(template=template).search(text)]
    rest = without_disclosures(text)
    if SUGGESTS_GUARANTEE.search(rest) and not GUARANTEE_REQUIRED.pattern().search(text):
        missing.append(GUARANTEE_REQUIRED)
    if ADVISES_STOP_PAYING.search(rest) and not STOP_PAYMENTS_REQUIRED.pattern().search(text):
        missing.append(STOP_PAYMENTS_REQUIRED)
    return missing


def missing_message(missing: list[Required], *, spoken: bool = False) -> str:
    message = MISSING.format(what=MISSING_SPOKEN if spoken else MISSING_WRITTEN,
                             missing="; ".join(required.name for required in missing))
    # A quoted sentence already ends in its own full stop.
    return message if message.endswith(".\u201d") else message + "."


def disclosure_block(*, company: str, fee: str | None, guarantee: bool = False, stop_payments: bool = False) -> str:
    """The written block, plain text: the heading in capitals on its own line, then each
    sentence (without the fee sentence when ``fee`` is None: no fee to state)."""
    sentences = [NOT_GOVERNMENT.format(company=company)]
    if guarantee:
        sentences.append(GUARANTEE)
    sentences += [STOP_ANY_TIME, ACCEPT_OR_REJECT, OWE_NOTHING]
    if fee is not None:
        sentences.append(TOTAL_FEE.format(fee=fee))
    if stop_payments:
        sentences.append(STOP_PAYMENTS)
    return HEADING + "\n" + " ".join(sentences)


def disclosure_block_html(*, company: str, fee: str | None, guarantee: bool = False, stop_payments: bool = False,
                          body_size_pt: int = 12) -> SafeString:
    """The block for HTML output: the heading in bold, two points larger than the body."""
    plain_block = disclosure_block(company=company, fee=fee, guarantee=guarantee, stop_payments=stop_payments)
    sentences = plain_block.split("\n", 1)[1]
    return format_html(
        '<div class="reg-o-notice"><p style="font-weight:bold;font-size:{}pt">{}</p>'
        '<p style="font-size:{}pt">{}</p></div>', body_size_pt + 2, HEADING, body_size_pt, sentences)


def with_disclosure(text: str, *, spoken: bool, company: str, fee: str | None) -> str:
    """``text`` with what F3 asks added: the spoken opening in front of a script, the
    written block after a message (with the warnings its words call for; without the fee
    sentence when ``fee`` is None). Text that already complies is returned as it is."""
    text = text or ""
    if not missing_disclosures(text, spoken=spoken, template=fee == FEE_FIELD, fee_required=fee is not None):
        return text
    if spoken:
        return SPOKEN_OPENING + "\n" + text.lstrip()
    rest = "\n".join(line.rstrip() for line in without_disclosures(text, with_slots=True).splitlines()
                     if line.strip())
    block = disclosure_block(company=company, fee=fee, guarantee=bool(SUGGESTS_GUARANTEE.search(rest)),
                             stop_payments=bool(ADVISES_STOP_PAYING.search(rest)))
    return (rest + "\n\n" + block) if rest else block


def text_as_html(text: str, *, body_size_pt: int = 12) -> SafeString:
    """A plain message as HTML, for an email's HTML part: each line escaped, and the notice's
    heading line in bold, two points larger than the body, as Regulation O asks of text."""
    lines = []
    for line in (text or "").splitlines():
        if line.strip().upper() == HEADING:
            lines.append(format_html('<p style="font-weight:bold;font-size:{}pt;margin:1em 0 0">{}</p>',
                                     body_size_pt + 2, HEADING))
        else:
            lines.append(format_html('<p style="font-size:{}pt;margin:0">{}</p>', body_size_pt, line) if line.strip()
                         else mark_safe("<br>"))  # noqa: S308
    return format_html('<div style="font-size:{}pt">{}</div>', body_size_pt, mark_safe("".join(lines)))  # noqa: S308
