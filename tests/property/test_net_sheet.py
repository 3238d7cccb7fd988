"""The net sheet's lien waterfall (pipeline/deals/offers.py), as properties over prices and lien stacks.

Whatever the price, the costs and the stack (one to three liens, balances known or not,
approval letters or none): the rows sum to the price (the seller's contribution coming in
as a row of its own), no lien is paid more than its payoff, the seller nets nothing while
any lien is short, and a sale that covers every payoff is not a short sale. The rows are
built from unsaved liens and letters: the arithmetic needs no database.
"""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from leads.models import Lien, LienType
from pipeline.deals.offers import lien_waterfall, net_sheet
from pipeline.models import ApprovalLetter

TODAY = date(2026, 11, 18)
ZERO = Decimal("0")

money = st.decimals(min_value=0, max_value=1_500_000, places=2, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=1, max_value=2_000_000, places=2, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=0, max_value=Decimal("0.20"), places=4, allow_nan=False, allow_infinity=False)
small_money = st.decimals(min_value=0, max_value=60_000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def letters_for(draw, lien: Lien) -> ApprovalLetter | None:
    if not draw(st.booleans()):
        return None
    expired = draw(st.booleans())
    return ApprovalLetter(
        issued_on=TODAY - timedelta(days=40),
        expires_on=TODAY - timedelta(days=1) if expired else TODAY + timedelta(days=30),
        approved_price=draw(st.none() | prices),
        minimum_net_proceeds=draw(st.none() | money),
        allowed_closing_costs=draw(st.none() | small_money),
        junior_lien_allowance=draw(st.none() | small_money),
        junior_payoff=draw(st.none() | small_money) if lien.position > 1 else None,
        seller_contribution=draw(st.sampled_from([ZERO, ZERO, Decimal("1500"), Decimal("2500.50")])),
    )


@st.composite
def lien_stacks(draw):
    liens, letters = [], {}
    for position in range(1, draw(st.integers(1, 3)) + 1):
        lien = Lien(pk=position, position=position, lender=f"Lender {position}",
                    lien_type=draw(st.sampled_from([LienType.MORTGAGE, LienType.HELOC, LienType.JUDGMENT])),
                    balance=draw(st.none() | money))
        liens.append(lien)
        letter = draw(letters_for(lien))
        if letter is not None:
            letters[lien.pk] = letter
    return liens, letters


def sheet_of(price, stack, commission, closing, concessions):
    liens, letters = stack
    return net_sheet(price=price, price_source="drawn", liens=liens, letters=letters, commission_rate=commission,
                     closing_cost_rate=closing, buyer_concessions=concessions, today=TODAY)


@given(price=prices, stack=lien_stacks(), commission=rates, closing=rates, concessions=small_money)
@example(price=Decimal("205000"), commission=Decimal("0.06"), closing=Decimal("0.02"), concessions=ZERO,
         stack=([Lien(pk=1, position=1, balance=Decimal("149793")),
                 Lien(pk=2, position=2, balance=Decimal("67500"), lien_type=LienType.HELOC)], {}))
def test_the_rows_sum_to_the_price_and_no_lien_is_paid_more_than_its_payoff(
        price, stack, commission, closing, concessions):
    sheet = sheet_of(price, stack, commission, closing, concessions)
    assert sheet.price + sheet.seller_contribution == (
        sheet.commission + sheet.closing_costs + sheet.buyer_concessions + sheet.paid_to_liens + sheet.seller_net)
    for share in sheet.liens:
        assert share.paid >= 0
        assert share.payoff is None or share.paid <= share.payoff
    assert sheet.paid_to_liens <= max(sheet.available, ZERO)


@given(price=prices, stack=lien_stacks(), commission=rates, closing=rates, concessions=small_money)
def test_the_seller_nets_nothing_while_any_lien_is_short(price, stack, commission, closing, concessions):
    sheet = sheet_of(price, stack, commission, closing, concessions)
    if any(share.is_short for share in sheet.liens) or sheet.unknown_balances:
        # Nothing, or (costs above the price) what the seller would have to bring.
        assert sheet.seller_net == min(sheet.available, ZERO)
        assert not sheet.pays_every_lien
    if sheet.seller_net > 0:
        assert all(share.payoff is not None and share.paid == share.payoff for share in sheet.liens)


@given(price=prices, stack=lien_stacks(), commission=rates, closing=rates, concessions=small_money)
def test_a_sale_covering_every_payoff_is_not_short(price, stack, commission, closing, concessions):
    sheet = sheet_of(price, stack, commission, closing, concessions)
    payoffs = [lien.balance for lien in stack[0]]
    left = sheet.price - sheet.commission - sheet.closing_costs - sheet.buyer_concessions
    # (A lien of balance 0 is paid in full by nothing, even when the costs are above the price.)
    if all(payoff is not None for payoff in payoffs) and max(left, ZERO) >= sum(payoffs, ZERO):
        assert sheet.pays_every_lien and not sheet.is_short_sale
        assert [share.paid for share in sheet.liens] == payoffs
        assert sheet.seller_net == left - sum(payoffs, ZERO) and sheet.contributions == []
        assert sheet.verdict.startswith("This sale pays every lien in full: it is not a short sale.")
    else:
        # Short, unless what a letter asks the seller to bring makes up the difference.
        assert not sheet.pays_every_lien or sheet.contributions


@given(price=prices, stack=lien_stacks(), commission=rates, closing=rates, concessions=small_money)
def test_the_seller_never_nets_money_they_were_asked_to_bring(price, stack, commission, closing, concessions):
    sheet = sheet_of(price, stack, commission, closing, concessions)
    liens, letters = stack
    for contribution in sheet.contributions:
        assert 0 < contribution.amount <= contribution.asked == letters[contribution.lien.pk].seller_contribution
    if sheet.contributions:
        # Bringing money and netting money at once would be the seller paying themselves.
        assert sheet.seller_net <= 0
        # Not short: they net nothing, or (the costs above the price and what they bring)
        # bring what is still missing, as with no contribution at all.
        assert sheet.is_short_sale or sheet.seller_net == min(sheet.available, ZERO)


@given(price=prices, stack=lien_stacks(), commission=rates, closing=rates, concessions=small_money)
def test_the_first_lien_comes_before_any_junior_gets_more_than_its_settlement(
        price, stack, commission, closing, concessions):
    sheet = sheet_of(price, stack, commission, closing, concessions)
    first = sheet.first
    if first.payoff is None or first.paid < first.payoff:
        for junior in sheet.juniors:
            assert junior.paid <= junior.settlement


@given(available=st.decimals(min_value=-50_000, max_value=2_000_000, places=2, allow_nan=False,
                             allow_infinity=False),
       payoffs=st.lists(st.none() | money, min_size=0, max_size=3),
       settlements=st.lists(small_money, min_size=3, max_size=3))
def test_the_waterfall_pays_out_exactly_what_there_is_up_to_the_payoffs(available, payoffs, settlements):
    paid = lien_waterfall(available, payoffs, settlements[:len(payoffs)])
    there_is = max(available, ZERO)
    if payoffs and any(payoff is None for payoff in payoffs):
        assert sum(paid, ZERO) == there_is  # a lien of unknown balance takes whatever reaches it
    else:
        assert sum(paid, ZERO) == min(there_is, sum((p for p in payoffs), ZERO))
