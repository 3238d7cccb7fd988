"""An investor's purchase: when a lead is one, and the most the investor can pay for the house.

A lead worked by an agent who buys for themselves (capacity principal) is a purchase, not
a listing: no listing agreement and no listing commission, but a purchase contract (as-is),
the buyer's proof of funds and the written disclosure of the buyer's interest. The lenders
still have to agree to a short sale, so the hardship package, each lien's authorization and
approval, and the net sheet's lien waterfall (at the purchase price) are the same.

The purchase math works back from the resale, as investors do (the maximum allowable offer):

    maximum offer = (after-repair value - repairs - holding costs - resale costs - target profit)
                    / (1 + buying cost rate)

The buying costs (the buyer's title, recording and closing costs) are a share of the price
itself, hence the division. The offer is rounded down to the dollar, so that paying it never
misses the target by a cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.conf import settings

from compliance.transactions import CALIFORNIA, ca_equity_purchase_cancel_until
from leadcrm.accounts.models import Capacity
from leads.models import ForeclosureRecord, Lead
from pipeline.models import Offer, OfferStatus

CENT = Decimal("0.01")
DOLLAR = Decimal("1")


def is_investor_purchase(lead: Lead) -> bool:
    """The lead is worked by someone buying the house for themselves, not listing it."""
    agent = lead.assigned_agent if lead.assigned_agent_id else None
    return agent is not None and agent.capacity == Capacity.PRINCIPAL


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# California's equity purchase (docs/compliance-rules.md#f7) -----------------------------

CANCEL_WINDOW_OPEN = "The seller may cancel until {until} (F7)."
CANCEL_WINDOW_OVER = "The seller's right to cancel ended {until} (F7)."


def _california_time(moment: datetime) -> str:
    local = moment.astimezone(CALIFORNIA)
    if (local.hour, local.minute) == (0, 0):
        # The statute's "midnight of the fifth business day": say the day it ends, not the next.
        return f"midnight at the end of {local - timedelta(days=1):%a %b %-d, %Y} (California time)"
    return f"{local:%a %b %-d, %Y, %-I:%M %p} (California time)"


@dataclass(frozen=True)
class CancelWindow:
    """The seller's right to cancel the investor's signed purchase contract."""

    signed_at: datetime
    until: datetime
    foreclosure_sale_on: date | None = None

    def is_open(self, at: datetime) -> bool:
        return at < self.until

    @property
    def signed_in_california(self) -> str:
        return f"{self.signed_at.astimezone(CALIFORNIA):%a %b %-d, %Y, %-I:%M %p} (California time)"

    def sentence(self, at: datetime) -> str:
        template = CANCEL_WINDOW_OPEN if self.is_open(at) else CANCEL_WINDOW_OVER
        return template.format(until=_california_time(self.until))


def equity_purchase_cancel_window(lead: Lead) -> CancelWindow | None:
    """F7: when the seller of a California house may cancel the investor's signed contract;
    None unless the lead is an investor's purchase of a California house with a signed one.

    The foreclosure sale that cuts it short is the first one set for the day of signing or
    later; a sale already past when the contract was signed does not.
    """
    if not is_investor_purchase(lead) or lead.property.state != "CA":
        return None
    signed_at = (Offer.objects.filter(lead=lead, status=OfferStatus.ACCEPTED, contract_signed_at__isnull=False)
                 .values_list("contract_signed_at", flat=True).first())
    if signed_at is None:
        return None
    sale_on = (ForeclosureRecord.objects.filter(lead=lead, auction_date__gte=signed_at.astimezone(CALIFORNIA).date())
               .order_by("auction_date").values_list("auction_date", flat=True).first())
    return CancelWindow(signed_at=signed_at, until=ca_equity_purchase_cancel_until(
        signed_at=signed_at, foreclosure_sale_on=sale_on), foreclosure_sale_on=sale_on)


@dataclass(frozen=True)
class PurchaseMath:
    after_repair_value: Decimal
    repairs: Decimal
    holding_costs: Decimal
    resale_cost_rate: Decimal
    buying_cost_rate: Decimal
    target_profit: Decimal
    # Where the repair figure comes from ("" when nobody knows: no size, no figure entered).
    repairs_basis: str = "your figure"

    @property
    def resale_costs(self) -> Decimal:
        return _money(self.after_repair_value * self.resale_cost_rate)

    @property
    def left_for_purchase(self) -> Decimal:
        """What the resale leaves for the price and the buying costs."""
        return (self.after_repair_value - self.repairs - self.holding_costs - self.resale_costs
                - self.target_profit)

    @property
    def maximum_offer(self) -> Decimal:
        """The most the investor can pay and still make the target profit (never below 0)."""
        offer = self.left_for_purchase / (1 + self.buying_cost_rate)
        return max(offer.quantize(DOLLAR, rounding=ROUND_DOWN), Decimal("0"))

    @property
    def buying_costs(self) -> Decimal:
        return self.buying_costs_at(self.maximum_offer)

    def buying_costs_at(self, price: Decimal) -> Decimal:
        return _money(price * self.buying_cost_rate)

    def profit_at(self, price: Decimal) -> Decimal:
        """What the investor makes buying at ``price`` and reselling at the after-repair value."""
        return (self.after_repair_value - price - self.buying_costs_at(price) - self.repairs - self.holding_costs
                - self.resale_costs)


REPAIRS_UNKNOWN = ("No repair figure: the building's size is unknown. Enter your repair estimate; until then "
                   "the maximum offer assumes none.")


def purchase_math_for(
    *,
    lead: Lead,
    after_repair_value: Decimal | None = None,
    repairs: Decimal | None = None,
    holding_costs: Decimal | None = None,
    target_profit: Decimal | None = None,
    resale_cost_rate: Decimal | None = None,
    buying_cost_rate: Decimal | None = None,
) -> PurchaseMath | None:
    """The purchase math with the investor's figures, each one not given taken from the
    property's data (value, size) and the brokerage's settings; None without a value."""
    arv = after_repair_value if after_repair_value is not None else lead.property.estimated_value
    if arv is None:
        return None
    sqft = lead.property.building_sqft
    per_sqft = settings.LEADCRM_INVESTOR_REPAIRS_PER_SQFT
    if repairs is not None:
        repairs_basis = "your figure"
    elif sqft:
        repairs, repairs_basis = sqft * per_sqft, f"{sqft:,} sq ft at ${per_sqft:,.0f}"
    else:
        repairs, repairs_basis = Decimal("0"), ""
    return PurchaseMath(
        after_repair_value=_money(arv),
        repairs=_money(repairs),
        repairs_basis=repairs_basis,
        holding_costs=_money(holding_costs if holding_costs is not None
                             else arv * settings.LEADCRM_INVESTOR_HOLDING_COST_RATE),
        target_profit=_money(target_profit if target_profit is not None
                             else arv * settings.LEADCRM_INVESTOR_PROFIT_RATE),
        resale_cost_rate=settings.LEADCRM_SELLING_COST_RATE if resale_cost_rate is None else resale_cost_rate,
        buying_cost_rate=settings.LEADCRM_INVESTOR_BUYING_COST_RATE if buying_cost_rate is None else buying_cost_rate,
    )
