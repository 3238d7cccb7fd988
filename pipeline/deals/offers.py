"""Offers on the house (one accepted, the rest pending or backups) and the net sheet.

The net sheet runs a sale's proceeds down the liens in order of priority (a waterfall):

1. What the sale leaves for the liens: the price, less the commission, the closing costs
   and the buyer's costs the seller pays. When the sale cannot pay every lien, a lender's
   approval letter may require the seller to bring money (a contribution): it comes in as
   a row of its own, so the rows still sum to the price.
2. Each lien's payoff is its balance, what releases it in full. A junior's letter may
   accept less (its settlement figure), but that only matters in a short sale.
3. When what is left covers every payoff, every lien is paid in full and the seller nets
   the rest: it is not a short sale.
4. Otherwise it is. Each junior is first given its settlement figure (what its letter
   accepts, or the typical figure, marked as an estimate), in order of priority, never
   more than its payoff or what is left: juniors release their liens only for that, and
   the first lien's approval allows for it. The first lien then takes what is left, up to
   its payoff. Whatever remains once the first is paid in full tops the juniors up, in
   order of priority, up to their payoffs. The seller nets nothing.

A lien whose balance is unknown has no known payoff: it takes whatever reaches it, its
shortfall is unknown, and so is whether the sale is short; the seller is shown netting
nothing until the balance is entered. A lender's letter binds only a short sale, so its
conditions (minimum net, allowances, approved price, expiry) are checked only then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from compliance.transactions import principal_offer_allowed
from leadcrm.accounts.models import User
from leads.models import Lead, Lien
from pipeline.models import ApprovalLetter, Offer, OfferStatus

from .purchase import is_investor_purchase

ANOTHER_ACCEPTED = "{buyer}'s offer is the accepted one: make it a backup or mark it withdrawn first."
# Said after F8's refusal: where the disclosure is recorded.
DISCLOSURE_WHAT_TO_DO = (
    "Give the homeowner the written disclosure and record it on the lead page's \u201cConsent and records\u201d "
    "card first."
)
SIGNED_IN_FUTURE = "The contract is signed on or before now; record the signing once it has happened."
SIGNED_BEFORE_OFFER = "The contract cannot be signed before the offer was received ({day:%b %-d, %Y})."
SIGNED_NOT_ACCEPTED = "Only the accepted offer is the signed purchase contract."
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Junior lien holders typically release for $3,000-$6,000, or up to 10 % of their balance.
JUNIOR_ESTIMATE_CAP = Decimal("6000")
JUNIOR_ESTIMATE_RATE = Decimal("0.10")

LETTER_EXPIRED = ("The {lien} lien's approval letter expired on {day:%b %-d, %Y}: its figures are shown, "
                  "but ask for an extension.")
BELOW_MINIMUM_NET = "The first lien nets {paid}, {gap} below the {minimum} minimum in its approval letter."
OVER_JUNIOR_ALLOWANCE = ("The junior liens are paid {paid} in all, more than the {allowance} the first lien "
                         "allows them.")
OVER_ALLOWED_CHARGES = ("Commissions, closing costs and concessions come to {charges}, more than the {allowed} "
                        "of settlement charges the first lien allows.")
BELOW_APPROVED_PRICE = "The price is below the {approved} the first lien approved."
SETTLEMENT_ESTIMATED = ("The {lien} lien's settlement of {amount} is an estimate (juniors typically accept "
                        "$3,000-$6,000 or up to 10 % of the balance) until its approval letter.")
BALANCE_UNKNOWN = ("The {lien} lien's balance is unknown: it is shown taking whatever reaches it, and its "
                   "shortfall is unknown. Enter its balance on the lien stack.")
COSTS_OVER_PRICE = ("The costs come to more than the price: the seller would have to bring {missing} to close, "
                    "and the liens get nothing.")


def offer_disclosure_check(*, lead: Lead, actor: User | None, on: date) -> None:
    """F8 (docs/compliance-rules.md#f8): an offer by a licensee buying for themselves needs
    their written interest disclosure on file. On an investor's lead the buyer is the lead's
    agent, whoever types the offer in; raises ``ComplianceRefusal``."""
    principals = {user.pk: user for user in (actor, lead.assigned_agent if is_investor_purchase(lead) else None)
                  if user is not None}
    for principal in principals.values():
        principal_offer_allowed(actor=principal, lead=lead, on=on)


@transaction.atomic
def offer_create(*, lead: Lead, actor: User | None, **fields) -> Offer:
    """Record an offer on the house (F8: a principal's needs the disclosure first)."""
    offer = Offer(lead=lead, created_by=actor, **fields)
    offer.full_clean()
    # The disclosure must come before the offer was made, not merely before it was typed in.
    offer_disclosure_check(lead=lead, actor=actor, on=offer.received_on)
    if offer.status == OfferStatus.ACCEPTED and offer.contract_signed_at is None and is_investor_purchase(lead):
        offer.contract_signed_at = timezone.now()
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
        # Accepting makes the contract: the disclosure must be on file by then (F8).
        offer_disclosure_check(lead=offer.lead, actor=actor, on=timezone.localdate())
        if offer.status != OfferStatus.ACCEPTED and is_investor_purchase(offer.lead):
            # The investor's accepted offer is the purchase contract, signed now unless
            # recorded otherwise: the seller's right to cancel runs from here (F7).
            offer.contract_signed_at = timezone.now()
    if status == OfferStatus.BACKUP and offer.status != OfferStatus.BACKUP:
        last = Offer.objects.filter(lead_id=offer.lead_id, status=OfferStatus.BACKUP).aggregate(n=Max("backup_rank"))["n"]
        offer.backup_rank = (last or 0) + 1
    elif status != OfferStatus.BACKUP:
        offer.backup_rank = None
    offer.status = status
    offer.full_clean()
    offer.save(update_fields=["status", "backup_rank", "contract_signed_at", "updated_at"])
    return offer


@transaction.atomic
def offer_contract_signed(*, offer: Offer, signed_at: datetime, actor: User | None,
                          now: datetime | None = None) -> Offer:
    """Record when the accepted offer's purchase contract was signed (F7's clock starts then)."""
    now = now or timezone.now()
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if offer.status != OfferStatus.ACCEPTED:
        raise ValidationError(SIGNED_NOT_ACCEPTED)
    if signed_at > now:
        raise ValidationError({"signed_at": SIGNED_IN_FUTURE})
    if timezone.localdate(signed_at) < offer.received_on:
        raise ValidationError({"signed_at": SIGNED_BEFORE_OFFER.format(day=offer.received_on)})
    offer.contract_signed_at = signed_at
    offer.full_clean()
    offer.save(update_fields=["contract_signed_at", "updated_at"])
    return offer


# Net sheet -----------------------------------------------------------------------------


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def junior_payoff_estimate(balance: Decimal | None) -> Decimal:
    """What a junior lien holder typically accepts to release its lien in a short sale."""
    if balance is None:
        return JUNIOR_ESTIMATE_CAP
    return _money(min(balance * JUNIOR_ESTIMATE_RATE, JUNIOR_ESTIMATE_CAP))


def lien_waterfall(
    available: Decimal, payoffs: list[Decimal | None], settlements: list[Decimal | None]
) -> list[Decimal]:
    """What each lien is paid out of ``available``, liens in order of priority.

    ``payoffs[i]`` is lien i's balance (None: unknown, so no cap); ``settlements[i]`` what a
    junior accepts in a short sale (ignored for the first). See the module's docstring.
    """
    left = max(available, ZERO)
    if all(payoff is not None for payoff in payoffs) and left >= sum(payoffs, ZERO):
        return [_money(payoff) for payoff in payoffs]
    paid = [ZERO for _ in payoffs]

    def give(index: int, at_most: Decimal | None) -> None:
        nonlocal left
        payoff = payoffs[index]
        room = left if payoff is None else max(min(left, payoff - paid[index]), ZERO)
        amount = room if at_most is None else max(min(room, at_most), ZERO)
        paid[index] += amount
        left -= amount

    juniors = range(1, len(payoffs))
    for index in juniors:
        give(index, settlements[index])
    if payoffs:
        give(0, None)
    for index in juniors:
        give(index, None)
    return paid


class SaleOutcome(Enum):
    PAYS_EVERY_LIEN = "pays_every_lien"
    SHORT = "short"
    UNKNOWN = "unknown"  # a balance is missing, and no known lien is short


@dataclass(frozen=True)
class LienShare:
    """One lien's row of the net sheet."""

    lien: Lien
    payoff: Decimal | None
    paid: Decimal
    # A junior's settlement figure in a short sale (None for the first lien).
    settlement: Decimal | None = None
    settlement_from_letter: bool = False

    @property
    def shortfall(self) -> Decimal | None:
        """What this lien holder writes off (or may pursue, if the deficiency is reserved)."""
        return None if self.payoff is None else self.payoff - self.paid

    @property
    def is_short(self) -> bool:
        return self.shortfall is not None and self.shortfall > 0

    @property
    def settlement_is_estimate(self) -> bool:
        return self.settlement is not None and not self.settlement_from_letter


@dataclass(frozen=True)
class SellerContribution:
    """What the seller brings to closing at a lien's letter's request: never more than the
    liens are short (``asked`` is the letter's figure), since past that every lien is paid."""

    lien: Lien
    amount: Decimal
    asked: Decimal


@dataclass
class NetSheet:
    price: Decimal
    price_source: str
    commission_rate: Decimal
    closing_cost_rate: Decimal
    commission: Decimal
    closing_costs: Decimal
    buyer_concessions: Decimal
    contributions: list[SellerContribution]
    liens: list[LienShare]
    first_letter: ApprovalLetter | None
    warnings: list[str] = field(default_factory=list)

    @property
    def settlement_charges(self) -> Decimal:
        return self.commission + self.closing_costs + self.buyer_concessions

    @property
    def seller_contribution(self) -> Decimal:
        return sum((c.amount for c in self.contributions), ZERO)

    @property
    def available(self) -> Decimal:
        """What the sale leaves for the liens (negative: the costs are more than the price)."""
        return self.price - self.settlement_charges + self.seller_contribution

    @property
    def paid_to_liens(self) -> Decimal:
        return sum((share.paid for share in self.liens), ZERO)

    @property
    def seller_net(self) -> Decimal:
        """What is left once every lien is paid; nothing in a short sale (negative: to bring)."""
        return self.available - self.paid_to_liens

    @property
    def first(self) -> LienShare | None:
        return self.liens[0] if self.liens else None

    @property
    def juniors(self) -> list[LienShare]:
        return self.liens[1:]

    @property
    def unknown_balances(self) -> list[LienShare]:
        return [share for share in self.liens if share.payoff is None]

    @property
    def outcome(self) -> SaleOutcome:
        if any(share.is_short for share in self.liens):
            return SaleOutcome.SHORT
        if self.unknown_balances:
            return SaleOutcome.UNKNOWN
        return SaleOutcome.PAYS_EVERY_LIEN

    @property
    def is_short_sale(self) -> bool:
        return self.outcome == SaleOutcome.SHORT

    @property
    def pays_every_lien(self) -> bool:
        return self.outcome == SaleOutcome.PAYS_EVERY_LIEN

    @property
    def verdict(self) -> str:
        """The sheet's answer in one sentence or two, from the same figures as its rows."""
        if self.outcome == SaleOutcome.SHORT:
            short = [share for share in self.liens if share.is_short]
            names = " and the ".join(_lien_name(share.lien) for share in short)
            return (f"A short sale: the {names} {'is' if len(short) == 1 else 'are'} {_usd(self.total_shortfall)} "
                    f"short, so the seller nets nothing. {'Its holder' if len(short) == 1 else 'Each holder'} must "
                    "agree to release the lien for less than its payoff.")
        if self.outcome == SaleOutcome.UNKNOWN:
            unknown = self.unknown_balances
            names = " and the ".join(_lien_name(share.lien) for share in unknown)
            balances = "balance of the" if len(unknown) == 1 else "balances of the"
            return (f"Whether this sale pays every lien is unknown: the {balances} {names} "
                    f"{'is' if len(unknown) == 1 else 'are'} missing. The seller is shown netting nothing until "
                    "then.")
        if not self.liens:
            return f"No liens are recorded: the seller nets {_usd(self.seller_net)} after the costs."
        if self.contributions:
            return (f"This sale pays every lien in full once the seller brings {_usd(self.seller_contribution)} to "
                    "closing: it is not a short sale. The seller nets nothing.")
        return (f"This sale pays every lien in full: it is not a short sale. The seller nets "
                f"{_usd(self.seller_net)} after the costs and the payoffs.")

    @property
    def total_shortfall(self) -> Decimal:
        """What the liens with a known balance are short, in all."""
        return sum((share.shortfall for share in self.liens if share.is_short), ZERO)


def _settlement(letter: ApprovalLetter | None, balance: Decimal | None) -> tuple[Decimal, bool]:
    """A junior's settlement figure, and whether its letter states it."""
    # A junior's letter states what it accepts, as a payoff or as its minimum net.
    accepted = None if letter is None else (
        letter.junior_payoff if letter.junior_payoff is not None else letter.minimum_net_proceeds
    )
    if accepted is not None:
        return _money(accepted), True
    return junior_payoff_estimate(balance), False


def net_sheet(
    *,
    price: Decimal,
    price_source: str,
    liens: list[Lien],
    letters: dict[int, ApprovalLetter],
    commission_rate: Decimal,
    closing_cost_rate: Decimal,
    buyer_concessions: Decimal = ZERO,
    today: date | None = None,
) -> NetSheet:
    """The sale at ``price`` run down the liens, checked against their approval letters.

    ``liens`` in order of priority; ``letters`` maps a lien's id to its newest approval letter.
    """
    price = _money(price)
    commission, closing_costs = _money(price * commission_rate), _money(price * closing_cost_rate)
    buyer_concessions = _money(buyer_concessions)
    payoffs = [None if lien.balance is None else _money(lien.balance) for lien in liens]
    # The first lien takes what is left, whatever it would settle for: no settlement figure.
    settlements = [(None, False) if index == 0 else _settlement(letters.get(lien.pk), lien.balance)
                   for index, lien in enumerate(liens)]
    before_contributions = price - commission - closing_costs - buyer_concessions
    covers_every_payoff = (all(p is not None for p in payoffs)
                           and max(before_contributions, ZERO) >= sum(payoffs, ZERO))
    # What a letter asks of the seller is a condition of a short sale, not of a sale that pays
    # everyone; and the seller brings no more than the liens are short, whatever a letter asks.
    contributions = []
    if not covers_every_payoff:
        gap = None if None in payoffs else sum(payoffs, ZERO) - before_contributions
        for lien in liens:
            asked = _money(letters[lien.pk].seller_contribution) if lien.pk in letters else ZERO
            amount = asked if gap is None else min(asked, gap)
            if amount > 0:
                contributions.append(SellerContribution(lien=lien, amount=amount, asked=asked))
                gap = None if gap is None else gap - amount
    available = before_contributions + sum((c.amount for c in contributions), ZERO)
    paid = lien_waterfall(available, payoffs, [amount for amount, _ in settlements])
    shares = [
        LienShare(lien=lien, payoff=payoff, paid=amount,
                  settlement=settlement if index else None, settlement_from_letter=from_letter)
        for index, (lien, payoff, amount, (settlement, from_letter))
        in enumerate(zip(liens, payoffs, paid, settlements, strict=True))
    ]
    sheet = NetSheet(
        price=price,
        price_source=price_source,
        commission_rate=commission_rate,
        closing_cost_rate=closing_cost_rate,
        commission=commission,
        closing_costs=closing_costs,
        buyer_concessions=buyer_concessions,
        contributions=contributions,
        liens=shares,
        first_letter=letters.get(liens[0].pk) if liens else None,
    )
    sheet.warnings = _warnings(sheet, letters, today or timezone.localdate())
    return sheet


def _usd(amount: Decimal) -> str:
    sign = "−" if amount < 0 else ""
    amount = abs(amount)
    return sign + (f"${amount:,.0f}" if amount == amount.to_integral_value() else f"${amount:,.2f}")


def _lien_name(lien: Lien) -> str:
    return f"{lien.position_label} {lien.get_lien_type_display()}" + (f" ({lien.lender})" if lien.lender else "")


def _warnings(sheet: NetSheet, letters: dict[int, ApprovalLetter], today: date) -> list[str]:
    warnings = []
    if sheet.available < 0:
        warnings.append(COSTS_OVER_PRICE.format(missing=_usd(-sheet.available)))
    warnings += [BALANCE_UNKNOWN.format(lien=share.lien.position_label) for share in sheet.unknown_balances]
    if sheet.pays_every_lien:
        return warnings  # no lender has to agree to anything: its letter does not bind
    for share in sheet.liens:
        letter = letters.get(share.lien.pk)
        if letter is not None and not letter.is_valid_on(today):
            warnings.append(LETTER_EXPIRED.format(lien=share.lien.position_label, day=letter.expires_on))
    letter, first = sheet.first_letter, sheet.first
    if letter is not None and (first.payoff is None or first.is_short):
        if letter.minimum_net_proceeds is not None and first.paid < letter.minimum_net_proceeds:
            warnings.append(BELOW_MINIMUM_NET.format(
                paid=_usd(first.paid), gap=_usd(letter.minimum_net_proceeds - first.paid),
                minimum=_usd(letter.minimum_net_proceeds)))
        juniors_paid = sum((share.paid for share in sheet.juniors), ZERO)
        if letter.junior_lien_allowance is not None and juniors_paid > letter.junior_lien_allowance:
            warnings.append(OVER_JUNIOR_ALLOWANCE.format(paid=_usd(juniors_paid),
                                                         allowance=_usd(letter.junior_lien_allowance)))
        if letter.allowed_closing_costs is not None and sheet.settlement_charges > letter.allowed_closing_costs:
            warnings.append(OVER_ALLOWED_CHARGES.format(charges=_usd(sheet.settlement_charges),
                                                        allowed=_usd(letter.allowed_closing_costs)))
        if letter.approved_price is not None and sheet.price < letter.approved_price:
            warnings.append(BELOW_APPROVED_PRICE.format(approved=_usd(letter.approved_price)))
    # An estimate matters where a junior is paid its settlement figure, or less; one topped
    # up beyond it is paid what the waterfall leaves, whatever it would have accepted.
    warnings += [
        SETTLEMENT_ESTIMATED.format(lien=share.lien.position_label, amount=_usd(share.settlement))
        for share in sheet.juniors if share.settlement_is_estimate and share.paid <= share.settlement
    ]
    return warnings
