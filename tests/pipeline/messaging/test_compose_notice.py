"""The composer's "Insert the required notice" (F3): one click adds Regulation O's notice,
a second click changes nothing, whether the lead's fee is recorded or not
(docs/compliance-rules.md#f3)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from compliance.disclosures import HEADING, missing_disclosures
from leadcrm.accounts.models import Capacity, LicenseStatus
from leadcrm.accounts.services import team_member_set
from pipeline.deals.fees import fee_record
from pipeline.deals.reg_o import FEE_NOT_RECORDED
from pipeline.models import FeeService, Message

from ...compliance.factories import ConsentRecordFactory, ReassignedNumberCheckFactory
from ...leadcrm.factories import InvestorFactory

pytestmark = pytest.mark.django_db

OPENING = "Ivan Stone, Sunbelt Test Realty here."


@pytest.fixture
def investor(team, lead):
    """A licensed agent buying for themselves: outside the licensee stay, so F3 applies."""
    user = InvestorFactory(first_name="Ivan", last_name="Stone")
    team_member_set(team=team, user=user)
    lead.assigned_agent = user
    lead.save()
    return user


@pytest.fixture
def textable(lead, settings):
    settings.LEADCRM_TELEPHONY = "local"
    phone = lead.contacts.first().phones.first()
    ConsentRecordFactory(phone=phone)
    ReassignedNumberCheckFactory(phone=phone)
    return phone


def insert(client, lead, phone, body):
    response = client.post(reverse("messaging:text_compose", args=[lead.pk]), {
        "phone": phone.pk, "purpose": "offer_to_buy", "body": body, "insert_notice": "1"})
    assert response.status_code == 200
    return response.context["form"]["body"].value()


def test_f3_a_second_insert_without_a_recorded_fee_changes_nothing(lead, investor, textable, client_as):
    """F3: a sender who charges a fee but has none recorded gets the placeholder, which the
    checks do not read as the fee sentence; pressing again must not pad with blanks, leave
    the fee sentence behind or add a second notice."""
    investor.capacity = Capacity.SELLER_AGENT
    investor.license_status = LicenseStatus.INACTIVE  # a lapsed licence: outside the stay, a fee
    investor.save()
    client = client_as(investor)
    once = insert(client, lead, textable, OPENING)
    assert once.startswith(OPENING + "\n\n" + HEADING + "\n") and FEE_NOT_RECORDED in once
    twice = insert(client, lead, textable, once)
    assert twice == once
    assert twice.count(HEADING) == 1 and "   " not in twice and twice.count("If you accept the offer") == 1
    assert insert(client, lead, textable, twice) == once
    assert not Message.objects.exists()


def test_f3_an_investor_without_a_fee_gets_no_fee_sentence_however_often_pressed(lead, investor, textable,
                                                                                  client_as):
    """F3: a principal buying for themselves with no fee recorded states no fee (they charge
    none); the rest of the notice is added once."""
    client = client_as(investor)
    once = insert(client, lead, textable, OPENING)
    assert once.startswith(OPENING + "\n\n" + HEADING + "\n")
    assert FEE_NOT_RECORDED not in once and "will have to pay us" not in once
    assert insert(client, lead, textable, once) == once
    assert not Message.objects.exists()


def test_f3_a_second_insert_with_a_recorded_fee_changes_nothing(lead, investor, textable, client_as):
    """F3: a text that already carries the notice is kept as it is."""
    fee_record(lead=lead, actor=investor, service=FeeService.OTHER, amount=Decimal("2500"))
    client = client_as(investor)
    once = insert(client, lead, textable, OPENING)
    assert missing_disclosures(once) == [] and "pay us $2,500" in once
    assert insert(client, lead, textable, once) == once


def test_f3_insert_replaces_a_stale_notice_and_keeps_the_senders_words(lead, investor, textable, client_as):
    """F3: a notice written while no fee was recorded is replaced by one with the fee, once
    the fee is recorded; the sender's words after it stay."""
    client = client_as(investor)
    stale = insert(client, lead, textable, OPENING) + "\nCall me back any time."
    fee_record(lead=lead, actor=investor, service=FeeService.OTHER, amount=Decimal("2500"))
    fresh = insert(client, lead, textable, stale)
    assert fresh.count(HEADING) == 1 and FEE_NOT_RECORDED not in fresh and "pay us $2,500" in fresh
    assert fresh.startswith(OPENING + "\nCall me back any time.\n\n" + HEADING)
    assert missing_disclosures(fresh) == []
