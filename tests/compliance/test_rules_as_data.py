"""Numbers and phrases the rules use are data in force from a date (docs/compliance-rules.md):
the A6 look-back, California's cancellation days and sale-day cut-off (F7), and the
prohibited phrases (F6), so counsel tightens them without a release and a past check is
judged by the rules of its day."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from compliance.language import language_hits
from compliance.models import Channel, ComplianceCheck, ProhibitedPhrase, RuleParameter
from compliance.rulebook import rulebook
from compliance.transactions import ca_equity_purchase_cancel_until

from .test_section_h import CENTRAL, PACIFIC, check, homeowner

pytestmark = pytest.mark.django_db


def test_a6_the_look_back_is_a_parameter_in_force_on_the_call_date(agent, brokerage, national_registry):
    lead, phone = homeowner(agent, number="+19185550101", state="OK", zip_code="74103")
    at = datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL)
    national_registry.subscription_expires_on = date(2027, 12, 31)
    national_registry.save()
    from compliance.services import registry_version_record

    for days in (200, 20):  # two logged calls, 200 and 20 days before
        registry_version_record(source=national_registry, area_codes=["918"],
                                version_date=(at - timedelta(days=days + 1)).date())
        decision = check(lead, phone, agent, at - timedelta(days=days))
        assert decision.allowed, decision.findings
    registry_version_record(source=national_registry, area_codes=["918"], version_date=at.date() - timedelta(days=1))
    assert check(lead, phone, agent, at).evidence["attempts_12_months"] == 2  # 200 and 20 days before

    RuleParameter.objects.create(rule="A6", key="lookback_days", value=Decimal("90"), effective_from=date(2026, 11, 1),
                                 source="counsel's reading")

    # 90 days back: the call 20 days before and the one checked just now; not the one 200 days before
    assert check(lead, phone, agent, at).evidence["attempts_12_months"] == 2
    assert ComplianceCheck.objects.count() == 4


def test_f7_the_days_and_the_cut_off_are_parameters_of_the_signing_day(db):
    signed = datetime(2026, 11, 20, 15, 0, tzinfo=PACIFIC)  # Friday
    assert ca_equity_purchase_cancel_until(signed_at=signed) == datetime(2026, 11, 28, 0, 0, tzinfo=PACIFIC)

    RuleParameter.objects.create(rule="F7", key="business_days", value=Decimal("7"), effective_from=date(2026, 11, 1))
    RuleParameter.objects.create(rule="F7", key="sale_day_cutoff_hour", value=Decimal("10"),
                                 effective_from=date(2026, 11, 1))

    # Sat 21, Mon 23, Tue 24, Wed 25, (Thanksgiving), Fri 27, Sat 28, Mon 30: seven.
    assert ca_equity_purchase_cancel_until(signed_at=signed) == datetime(2026, 12, 1, 0, 0, tzinfo=PACIFIC)
    assert ca_equity_purchase_cancel_until(signed_at=signed, foreclosure_sale_on=date(2026, 11, 24)) == datetime(
        2026, 11, 24, 10, 0, tzinfo=PACIFIC)
    # a contract signed before the new numbers is judged by the old ones
    earlier = datetime(2026, 10, 20, 15, 0, tzinfo=PACIFIC)
    assert ca_equity_purchase_cancel_until(signed_at=earlier) == datetime(2026, 10, 27, 0, 0, tzinfo=PACIFIC)


def test_f6_a_phrase_is_flagged_from_the_day_it_is_in_force_until_it_is_not(db):
    ProhibitedPhrase.objects.create(pattern=r"\bbank will forgive\b", label="bank will forgive", why="a promise",
                                    effective_from=date(2026, 12, 1), effective_to=date(2026, 12, 31))
    said = "Don't worry, the bank will forgive the rest."

    assert [hit.label for hit in language_hits(said, on=date(2026, 11, 30))] == []
    assert [hit.label for hit in language_hits(said, on=date(2026, 12, 1))] == ["bank will forgive"]
    assert [hit.label for hit in language_hits(said, on=date(2027, 1, 1))] == []
    assert len(rulebook().phrases(date(2026, 12, 15))) == len(rulebook().phrases(date(2026, 11, 30))) + 1


def test_f6_a_check_is_judged_by_the_phrases_of_its_own_day(agent, brokerage, national_registry):
    ProhibitedPhrase.objects.create(pattern=r"\bbank will forgive\b", label="bank will forgive", why="a promise",
                                    effective_from=date(2026, 11, 19))
    lead, phone = homeowner(agent, number="+19185550101", state="OK", zip_code="74103")
    from compliance.services import registry_version_record

    registry_version_record(source=national_registry, area_codes=["918"], version_date=date(2026, 11, 17))
    said = "Told them the bank will forgive the rest."

    before = check(lead, phone, agent, datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL), message=said,
                   channel=Channel.CALL)
    after = check(lead, phone, agent, datetime(2026, 11, 19, 14, 0, tzinfo=CENTRAL), message=said,
                  channel=Channel.CALL)

    assert "F6" not in before.rule_ids
    assert "F6" in after.rule_ids
