"""A stop is the homeowner's, not the channel's (B1): a STOP on one of their numbers leaves
nothing on any channel of theirs: their other numbers, their emails, their letters. Each is
covered by an entry naming where the stop came on, so every page shows it; the gate also
finds the owner's stop for a number or address added since."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.gate import COVERED_HIT, OWNER_STOPPED
from compliance.models import Channel, InternalDncEntry, Purpose, StopOrigin
from compliance.services import internal_dnc_add, outreach_preview, stop_request_record, text_resubscribe
from leadcrm.accounts.services import automation_user
from leads.models import PhoneStatus
from leads.signals import phones_changed

from ..leads.factories import ContactFactory, EmailFactory, PhoneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(lead):
    """The lead's first owner: two numbers, an email and a mailing address."""
    owner = lead.contacts.first()
    PhoneFactory(contact=owner, number="+19185550111", position=2)
    EmailFactory(contact=owner, address="maria.garcia@example.com")
    return owner


def b1(lead, point, agent, channel) -> str | None:
    """B1's reason for contacting ``point`` now, or None when B1 allows it."""
    decision = outreach_preview(lead=lead, contact_point=point, channel=channel, purpose=Purpose.LISTING,
                                actor=agent, role_disclosed=True)
    return next((finding.reason for finding in decision.findings if finding.rule == "B1"), None)


def texted_stop(owner, agent):
    """The homeowner texts STOP from their first number, as the inbound text files it."""
    first = owner.phones.order_by("position").first()
    return first, internal_dnc_add(channel=Channel.SMS, phone_number=first.number, homeowner_words="STOP",
                                   recorded_by=agent, lead=owner.lead, origin=StopOrigin.TEXT_REPLY,
                                   requested_at=timezone.now() - timedelta(minutes=5))


def test_b1_a_texted_stop_leaves_nothing_on_any_channel_of_that_owner(lead, owner, agent):
    stopped, _entry = texted_stop(owner, agent)
    other = owner.phones.get(number="+19185550111")

    reasons = {
        "the same number, a call": b1(lead, stopped, agent, Channel.CALL),
        "their other number, a call": b1(lead, other, agent, Channel.CALL),
        "their other number, a text": b1(lead, other, agent, Channel.SMS),
        "their email": b1(lead, owner.emails.get(), agent, Channel.EMAIL),
        "a letter to them": b1(lead, owner, agent, Channel.MAIL),
    }

    assert all(reasons.values()), reasons
    covered = COVERED_HIT.split("{")[0]
    assert reasons["their email"].startswith("maria.garcia@example.com is covered by the homeowner's stop on "
                                             "(918) 555-0104")
    assert covered in reasons["a letter to them"]
    entries = InternalDncEntry.objects.filter(origin=StopOrigin.COVERED)
    assert {(e.phone_number, e.email, bool(e.postal_address), e.stopped_on) for e in entries} == {
        ("+19185550111", "", False, "+19185550104"), ("", "maria.garcia@example.com", False, "+19185550104"),
        ("", "", True, "+19185550104")}
    assert set(entries.values_list("homeowner_words", flat=True)) == {"STOP"}


def test_b1_a_co_owner_is_not_covered_by_the_other_owner_s_stop(lead, owner, agent):
    spouse = ContactFactory(lead=lead, position=2, first_name="Luis", mailing_street="9 Other Rd")
    spouse_phone = PhoneFactory(contact=spouse, number="+19185550177")
    texted_stop(owner, agent)

    assert b1(lead, spouse_phone, agent, Channel.CALL) is None
    assert b1(lead, EmailFactory(contact=spouse), agent, Channel.EMAIL) is None


def test_b1_a_stop_from_a_number_that_reaches_someone_else_covers_nobody_else(lead, owner, agent):
    wrong = owner.phones.get(number="+19185550111")
    wrong.status = PhoneStatus.WRONG_PARTY
    wrong.save()

    internal_dnc_add(channel=Channel.SMS, phone_number=wrong.number, homeowner_words="Wrong number, stop",
                     recorded_by=agent, lead=lead)

    assert not InternalDncEntry.objects.filter(origin=StopOrigin.COVERED).exists()
    assert b1(lead, owner.emails.get(), agent, Channel.EMAIL) is None


def test_b1_a_number_added_later_to_an_owner_who_stopped_is_covered_at_once(lead, owner, agent):
    texted_stop(owner, agent)
    added = PhoneFactory(contact=owner, number="+19185550166", position=3)

    phones_changed.send(sender=type(added), phones=type(added).objects.filter(pk=added.pk))

    entry = InternalDncEntry.objects.get(phone_number="+19185550166")
    assert (entry.origin, entry.stopped_on) == (StopOrigin.COVERED, "+19185550104")
    added.refresh_from_db()
    assert added.on_dnc_list
    assert b1(lead, added, agent, Channel.CALL).startswith("(918) 555-0166 is covered by the homeowner's stop")


def test_b1_an_email_added_later_is_refused_by_the_owner_s_stop_with_no_entry_of_its_own(lead, owner, agent):
    texted_stop(owner, agent)
    later = EmailFactory(contact=owner, address="m.garcia@work.example.com")

    reason = b1(lead, later, agent, Channel.EMAIL)

    assert not InternalDncEntry.objects.filter(email=later.address).exists()
    assert reason == OWNER_STOPPED.format(point="m.garcia@work.example.com", stopped_on="(918) 555-0104",
                                          date=timezone.now().date().isoformat(), who=agent, channel="text message")


def test_b1_start_from_the_number_reopens_its_texts_only(lead, owner, agent, settings):
    stopped, _entry = texted_stop(owner, agent)
    text_resubscribe(phone_number=stopped.number, words="START", lead=lead, at=timezone.now() - timedelta(minutes=1),
                     recorded_by=automation_user())

    assert b1(lead, stopped, agent, Channel.SMS) is None  # texts to the number it came from (B4)
    assert b1(lead, stopped, agent, Channel.CALL)
    assert b1(lead, owner.phones.get(number="+19185550111"), agent, Channel.SMS)
    assert b1(lead, owner.emails.get(), agent, Channel.EMAIL)


def test_b1_a_stop_said_on_a_call_covers_the_owner_too_and_only_once(lead, owner, agent):
    stopped = owner.phones.order_by("position").first()

    entries = stop_request_record(lead=lead, channel=Channel.CALL, contact_point=stopped,
                                  homeowner_words="Take me off your list", recorded_by=agent)
    again = stop_request_record(lead=lead, channel=Channel.CALL, contact_point=stopped,
                                homeowner_words="I said stop", recorded_by=agent)

    assert [entry.origin for entry in entries].count(StopOrigin.COVERED) == 3
    assert [entry.origin for entry in again] == [StopOrigin.OTHER]  # the rest was covered already


def test_b1_the_lead_page_shows_the_owner_s_other_number_as_covered(lead, owner, agent, client_as):
    texted_stop(owner, agent)

    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()

    row = page[page.index("(918) 555-0111</span>"):]
    row = row[:row.index("phone-now")]
    assert "Internal do-not-contact list" in row


def test_b1_a_wrong_number_s_stop_covers_that_number_only(lead, owner, agent):
    from pipeline.models import Outcome
    from pipeline.outreach.services import outreach_log

    reached = owner.phones.order_by("position").first()

    outreach_log(lead=lead, channel=Channel.CALL, contact_point=reached, outcome=Outcome.WRONG_NUMBER, actor=agent,
                 role_disclosed=True, homeowner_words="Wrong number. Stop calling this number.")

    assert InternalDncEntry.objects.filter(phone_number=reached.number).exists()
    assert not InternalDncEntry.objects.filter(origin=StopOrigin.COVERED).exists()
    reached.refresh_from_db()
    assert reached.status == PhoneStatus.WRONG_PARTY
    assert b1(lead, owner.emails.get(), agent, Channel.EMAIL) is None
    assert b1(lead, owner.phones.get(number="+19185550111"), agent, Channel.CALL) is None


def test_b5_a_florida_texted_stop_is_honoured_at_once_not_after_fifteen_days(agent, brokerage):
    """B5: Florida gives a sender 15 days to stop after a texted STOP; B1 stops at once."""
    from .test_section_h import homeowner

    lead, phone = homeowner(agent, number="+18505550101", state="FL", zip_code="32301")
    internal_dnc_add(channel=Channel.SMS, phone_number=phone.number, homeowner_words="STOP", recorded_by=agent,
                     lead=lead, origin=StopOrigin.TEXT_REPLY, requested_at=timezone.now() - timedelta(minutes=1))

    assert b1(lead, phone, agent, Channel.SMS)
