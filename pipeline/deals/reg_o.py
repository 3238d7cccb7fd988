"""What Regulation O's disclosures (F3) need to know of a lead: which service the brokerage
provides on it, and the total fee the homeowner would pay (docs/compliance-rules.md#f3).

The sentences themselves, and the checks, are compliance's (``compliance.disclosures``);
the fees are the pipeline's, so the two meet here.
"""

from __future__ import annotations

import re
from decimal import Decimal

from compliance import disclosures, rules
from compliance.language import language_hits
from compliance.models import Purpose
from compliance.transactions import Service
from leadcrm.accounts.models import Brokerage, Capacity, User
from leads.models import Lead
from pipeline.models import Fee, FeeService, FeeStatus

# Before any fee is recorded the notice still has to name one: the agent writes it in.
FEE_NOT_RECORDED = "[fee: record it on the offers page]"


def _fees(lead: Lead) -> list[Fee]:
    """The lead's fees not waived: from the merge's prefetch when there is one, so a merge of
    many leads reads them in one query."""
    return [fee for fee in lead.fees.all() if fee.status != FeeStatus.WAIVED]


def lead_service(lead: Lead | None) -> str:
    """A loan modification (or other mortgage-assistance help) when a fee for one is on the
    lead; the short-sale listing otherwise, the service the stay (F2) may cover."""
    if lead is not None and lead.pk and any(fee.service != FeeService.SHORT_SALE_LISTING for fee in _fees(lead)):
        return Service.LOAN_MODIFICATION
    return Service.SHORT_SALE_LISTING


def lead_total_fee(lead: Lead | None) -> str:
    """The total of the fees recorded on the lead and not waived, as the notice says it;
    "" when none is recorded."""
    if lead is None or not lead.pk:
        return ""
    total = sum((fee.amount for fee in _fees(lead)), Decimal(0))
    return f"${total:,.2f}".replace(".00", "") if total > 0 else ""


def disclosures_required_for(*, actor: User, lead: Lead | None) -> bool:
    """F3 applies to what ``actor`` sends about ``lead`` unless the licensee stay does (F2)."""
    return disclosures.disclosures_required(actor=actor, service=lead_service(lead))


def fee_statement_required(*, actor: User, lead: Lead | None) -> bool:
    """Whether F3's notice must state a fee: not from a principal buying for themselves with
    no fee recorded on the lead (they charge none, and "you will have to pay us" would be
    false); from anyone else, always (docs/compliance-rules.md#f3)."""
    return actor.capacity != Capacity.PRINCIPAL or bool(lead_total_fee(lead))


# The fee sentence as a template writes it, to leave out where no fee is to be stated.
FEE_SENTENCE = re.compile(r"[ \t]*" + r"\s+".join(
    re.escape(word) for word in disclosures.TOTAL_FEE.format(fee=disclosures.FEE_FIELD).split()), re.IGNORECASE)
# The notice's fee sentence whatever stands for the fee (a figure, the merge field, or the
# placeholder of a fee not yet recorded): what the insert button replaces. The checks read
# only a figure as the sentence.
ANY_FEE_SENTENCE = re.compile(
    r"\s+".join(re.escape(word) for word in disclosures.TOTAL_FEE.split("{fee}")[0].split())
    + r"\s+[^\n]*?\s*" + r"\s+".join(re.escape(word) for word in disclosures.TOTAL_FEE.split("{fee}")[1].split()),
    re.IGNORECASE)


def without_unstated_fee(text: str, *, actor: User, lead: Lead | None) -> str:
    """``text`` without the template's fee sentence when ``actor`` states no fee on ``lead``:
    the merge would otherwise say "you will have to pay us  for our services"."""
    if fee_statement_required(actor=actor, lead=lead):
        return text
    return FEE_SENTENCE.sub("", text)


def with_standard_disclosure(text: str, *, spoken: bool, lead: Lead | None, actor: User | None = None,
                             brokerage: Brokerage | None = None, fee: str | None = None,
                             purpose: str | None = None) -> str:
    """``text`` with the standard notice added, filled with the brokerage's name and the
    lead's total fee (a template keeps the ``[Total Fee]`` merge field). A principal with no
    fee on the lead gets no fee sentence; the one stop confirmation (B4) gets no notice at
    all, since it may carry nothing but the confirmation."""
    if purpose == Purpose.REVOCATION_CONFIRMATION:
        return text
    brokerage = brokerage or Brokerage.objects.current()
    if fee is None:
        fee = lead_total_fee(lead) or (
            None if actor is not None and not fee_statement_required(actor=actor, lead=lead) else FEE_NOT_RECORDED)
    return disclosures.with_disclosure(text, spoken=spoken, company=brokerage.name, fee=fee)


WORDS_REFUSED = "may not say “{text}” ({rule}): {why}"


def written_words_refusal(*, text: str, actor: User, lead: Lead | None) -> tuple[list[str], set[str]]:
    """Why the written words ``actor`` is about to send on ``lead`` may not go, and the rules:
    a promise (F6) or representation (F5), wherever it came from (a template saved before the
    phrase was added, a merge field), and, outside the licensee stay, a missing sentence of
    Regulation O's notice (F3). Empty when they may go."""
    reasons, codes = [], set()
    for hit in language_hits(text):
        reasons.append(WORDS_REFUSED.format(text=hit.text, rule=hit.rule, why=hit.why))
        codes.add(hit.rule)
    if disclosures_required_for(actor=actor, lead=lead):
        missing = disclosures.missing_disclosures(text, fee_required=fee_statement_required(actor=actor, lead=lead))
        if missing:
            reasons.append(disclosures.missing_message(missing))
            codes.add(rules.DISCLOSURES.id)
    return reasons, codes
