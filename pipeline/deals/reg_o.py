"""What Regulation O's disclosures (F3) need to know of a lead: which service the brokerage
provides on it, and the total fee the homeowner would pay (docs/compliance-rules.md#f3).

The sentences themselves, and the checks, are compliance's (``compliance.disclosures``);
the fees are the pipeline's, so the two meet here.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from compliance import disclosures
from compliance.transactions import Service
from leadcrm.accounts.models import Brokerage, User
from leads.models import Lead
from pipeline.models import Fee, FeeService, FeeStatus

# Before any fee is recorded the notice still has to name one: the agent writes it in.
FEE_NOT_RECORDED = "[fee: record it on the offers page]"


def _fees(lead: Lead):
    return Fee.objects.filter(lead=lead).exclude(status=FeeStatus.WAIVED)


def lead_service(lead: Lead | None) -> str:
    """A loan modification (or other mortgage-assistance help) when a fee for one is on the
    lead; the short-sale listing otherwise, the service the stay (F2) may cover."""
    if lead is not None and lead.pk and _fees(lead).exclude(service=FeeService.SHORT_SALE_LISTING).exists():
        return Service.LOAN_MODIFICATION
    return Service.SHORT_SALE_LISTING


def lead_total_fee(lead: Lead | None) -> str:
    """The total of the fees recorded on the lead and not waived, as the notice says it;
    "" when none is recorded."""
    if lead is None or not lead.pk:
        return ""
    total = _fees(lead).aggregate(total=Sum("amount"))["total"]
    return f"${total:,.2f}".replace(".00", "") if total and total > Decimal(0) else ""


def disclosures_required_for(*, actor: User, lead: Lead | None) -> bool:
    """F3 applies to what ``actor`` sends about ``lead`` unless the licensee stay does (F2)."""
    return disclosures.disclosures_required(actor=actor, service=lead_service(lead))


def with_standard_disclosure(text: str, *, spoken: bool, lead: Lead | None,
                             brokerage: Brokerage | None = None, fee: str | None = None) -> str:
    """``text`` with the standard notice added, filled with the brokerage's name and the
    lead's total fee (a template keeps the ``[Total Fee]`` merge field)."""
    brokerage = brokerage or Brokerage.objects.current()
    if fee is None:
        fee = lead_total_fee(lead) or FEE_NOT_RECORDED
    return disclosures.with_disclosure(text, spoken=spoken, company=brokerage.name, fee=fee)
