"""Offers on the house (one accepted, the rest pending or backups) and the net sheet.

In a short sale the seller nets nothing: the price, less commissions, closing costs and the
junior liens' payoffs, is what the first lien holder receives. The net sheet shows that
arithmetic line by line and warns where a lender's approval letter will not accept it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from leadcrm.accounts.models import User
from leads.models import Lead, Lien

from .models import ApprovalLetter, Offer, OfferStatus

ANOTHER_ACCEPTED = "{buyer}'s offer is the accepted one: make it a backup or mark it withdrawn first."
CENT = Decimal("0.01")
# DOMAIN 4d: juniors typically accept $3,000-$6,000, or up to 10 % of their balance.
JUNIOR_ESTIMATE_CAP = Decimal("6000")
JUNIOR_ESTIMATE_RATE = Decimal("0.10")


@transaction.atomic
def offer_create(*, lead: Lead, actor: User | None, **fields) -> Offer:
    offer = Offer(lead=lead, created_by=actor, **fields)
    offer.full_clean()
    offer.save()
    return offer


@transaction.atomic
def offer_set_status(*, offer: Offer, status: OfferStatus | str, actor: User | None = None) -> Offer:
    """Accept, keep as a backup, reject or withdraw an offer; only one is ever accepted."""
    status = OfferStatus(status)
    # Serialise on the lead: two people accepting two offers at once cannot both win.
    Lead.objects.select_for_update().only("pk").get(pk=offer.lead_id)
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if status == OfferStatus.ACCEPTED:
        accepted = Offer.objects.filter(lead_id=offer.lead_id, status=OfferStatus.ACCEPTED).exclude(pk=offer.pk).first()
        if accepted is not None:
            raise ValidationError(ANOTHER_ACCEPTED.format(buyer=accepted.buyer_name))
    if status == OfferStatus.BACKUP and offer.status != OfferStatus.BACKUP:
        last = Offer.objects.filter(lead_id=offer.lead_id, status=OfferStatus.BACKUP).aggregate(n=Max("backup_rank"))["n"]
        offer.backup_rank = (last or 0) + 1
    elif status != OfferStatus.BACKUP:
        offer.backup_rank = None
    offer.status = status
    offer.full_clean()
    offer.save(update_fields=["status", "backup_rank", "updated_at"])
    return offer


# Net sheet -----------------------------------------------------------------------------


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def junior_payoff_estimate(balance: Decimal | None) -> Decimal:
    if balance is None:
        return JUNIOR_ESTIMATE_CAP
    return _money(min(balance * JUNIOR_ESTIMATE_RATE, JUNIOR_ESTIMATE_CAP))


@dataclass(frozen=True)
class JuniorPayoff:
    lien: Lien
    amount: Decimal
    from_letter: bool


@dataclass
class NetSheet:
    price: Decimal
    price_source: str
    commission_rate: Decimal
    closing_cost_rate: Decimal
    commission: Decimal
    closing_costs: Decimal
    buyer_concessions: Decimal
    seller_contribution: Decimal
    juniors: list[JuniorPayoff]
    first_lien: Lien | None
    first_letter: ApprovalLetter | None
    warnings: list[str] = field(default_factory=list)

    @property
    def junior_total(self) -> Decimal:
        return sum((junior.amount for junior in self.juniors), Decimal("0"))

    @property
    def settlement_charges(self) -> Decimal:
        return self.commission + self.closing_costs + self.buyer_concessions

    @property
    def net_to_first(self) -> Decimal:
        return self.price - self.settlement_charges - self.junior_total + self.seller_contribution

    @property
    def first_shortfall(self) -> Decimal | None:
        """What the first lien holder writes off (or may pursue, if the deficiency is reserved)."""
        if self.first_lien is None or self.first_lien.balance is None:
            return None
        return max(self.first_lien.balance - self.net_to_first, Decimal("0"))

    @property
    def seller_net(self) -> Decimal:
        """Nothing in a short sale; what is left over once the first lien is paid in full."""
        if self.first_lien is None:
            return self.net_to_first
        if self.first_lien.balance is None:
            return Decimal("0")
        return max(self.net_to_first - self.first_lien.balance, Decimal("0"))


def net_sheet(
    *,
    price: Decimal,
    price_source: str,
    liens: list[Lien],
    letters: dict[int, ApprovalLetter],
    commission_rate: Decimal,
    closing_cost_rate: Decimal,
    buyer_concessions: Decimal = Decimal("0"),
    today: date | None = None,
) -> NetSheet:
    """The seller's side of a short sale at ``price``, checked against the approval letters.

    ``liens`` in position order; ``letters`` maps a lien's id to its newest approval letter.
    A junior's payoff is what its letter accepts, or the typical figure, marked as such.
    """
    price = _money(price)
    first = liens[0] if liens else None
    first_letter = letters.get(first.pk) if first else None
    juniors = []
    for lien in liens[1:]:
        letter = letters.get(lien.pk)
        # A junior's letter states what it accepts, as a payoff or as its minimum net.
        accepted = None if letter is None else (
            letter.junior_payoff if letter.junior_payoff is not None else letter.minimum_net_proceeds
        )
        if accepted is not None:
            juniors.append(JuniorPayoff(lien=lien, amount=_money(accepted), from_letter=True))
        else:
            juniors.append(JuniorPayoff(lien=lien, amount=junior_payoff_estimate(lien.balance), from_letter=False))
    sheet = NetSheet(
        price=price,
        price_source=price_source,
        commission_rate=commission_rate,
        closing_cost_rate=closing_cost_rate,
        commission=_money(price * commission_rate),
        closing_costs=_money(price * closing_cost_rate),
        buyer_concessions=_money(buyer_concessions),
        seller_contribution=_money(first_letter.seller_contribution) if first_letter else Decimal("0.00"),
        juniors=juniors,
        first_lien=first,
        first_letter=first_letter,
    )
    sheet.warnings = _warnings(sheet, letters, liens, today or timezone.localdate())
    return sheet


def _usd(amount: Decimal) -> str:
    return f"${amount:,.0f}" if amount == amount.to_integral_value() else f"${amount:,.2f}"


def _warnings(sheet: NetSheet, letters: dict[int, ApprovalLetter], liens: list[Lien], today: date) -> list[str]:
    warnings = []
    for lien in liens:
        letter = letters.get(lien.pk)
        if letter is not None and not letter.is_valid_on(today):
            warnings.append(
                f"The {lien.position_label} lien's approval letter expired on {letter.expires_on:%b %-d, %Y}: "
                "its figures are shown, but ask for an extension."
            )
    letter = sheet.first_letter
    if letter is not None:
        if letter.minimum_net_proceeds is not None and sheet.net_to_first < letter.minimum_net_proceeds:
            gap = letter.minimum_net_proceeds - sheet.net_to_first
            warnings.append(
                f"The first lien nets {_usd(sheet.net_to_first)}, {_usd(gap)} below the "
                f"{_usd(letter.minimum_net_proceeds)} minimum in its approval letter."
            )
        if letter.junior_lien_allowance is not None and sheet.junior_total > letter.junior_lien_allowance:
            warnings.append(
                f"The junior liens' payoffs come to {_usd(sheet.junior_total)}, more than the "
                f"{_usd(letter.junior_lien_allowance)} the first lien allows them."
            )
        if letter.allowed_closing_costs is not None and sheet.settlement_charges > letter.allowed_closing_costs:
            warnings.append(
                f"Commissions, closing costs and concessions come to {_usd(sheet.settlement_charges)}, more "
                f"than the {_usd(letter.allowed_closing_costs)} of settlement charges the first lien allows."
            )
        if letter.approved_price is not None and sheet.price < letter.approved_price:
            warnings.append(
                f"The price is below the {_usd(letter.approved_price)} the first lien approved."
            )
    for junior in sheet.juniors:
        if not junior.from_letter:
            warnings.append(
                f"The {junior.lien.position_label} lien's payoff of {_usd(junior.amount)} is an estimate "
                "(juniors typically accept $3,000-$6,000 or up to 10 % of the balance) until its approval letter."
            )
    return warnings
