"""Equity, loan-to-value and short-sale candidacy from value, liens and selling costs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Financials:
    estimated_value: Decimal | None
    lien_total: Decimal
    selling_cost_rate: Decimal

    @property
    def equity(self) -> Decimal | None:
        if self.estimated_value is None:
            return None
        return self.estimated_value - self.lien_total

    @property
    def ltv_percent(self) -> Decimal | None:
        if not self.estimated_value:
            return None
        return (self.lien_total * 100 / self.estimated_value).quantize(Decimal("0.1"))

    @property
    def selling_costs(self) -> Decimal | None:
        # Not rounded: candidacy must agree with the SQL of LeadQuerySet.with_financials
        # to the cent. Pages round when they show it.
        if self.estimated_value is None:
            return None
        return self.estimated_value * self.selling_cost_rate

    @property
    def shortfall(self) -> Decimal | None:
        """How far a sale at the estimated value falls short of paying liens and costs.

        The liens absorb it: it is the sum of the liens' shortfalls the net sheet shows at
        the estimated value (when its commission and closing costs add up to the selling
        cost rate), and the seller then nets nothing, not a negative amount.
        """
        if self.estimated_value is None:
            return None
        return self.lien_total + self.selling_costs - self.estimated_value

    @property
    def net_after_sale(self) -> Decimal | None:
        """What the seller would walk away with once every lien is paid (negative: the
        shortfall, which the seller does not pay: pages show it as the liens' shortfall)."""
        shortfall = self.shortfall
        return None if shortfall is None else -shortfall

    @property
    def is_short_sale_candidate(self) -> bool | None:
        """Liens plus selling costs exceed the estimated value; None when value unknown."""
        shortfall = self.shortfall
        return None if shortfall is None else shortfall > 0
