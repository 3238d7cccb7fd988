"""Editing a lead's record by hand (``leads.editing``): versions, history, limits, the
registries' flag on a new number, and imports left without history."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from compliance.services import dnc_numbers_add
from leads import editing
from leads.imports.copy import copy_rows
from leads.models import Contact, Email, Lien, Phone, PhoneStatus
from leads.phones import NO_DIGITS
from pipeline.outreach.services import outreach_log

from .factories import (
    ContactFactory,
    EmailFactory,
    ForeclosureRecordFactory,
    LienFactory,
    PhoneFactory,
    as_imported,
)

pytestmark = pytest.mark.django_db


def test_an_edit_keeps_who_and_the_old_values(lead, agent):
    contact = lead.contacts.get()
    contact = editing.owner_update(contact=contact, actor=agent, version=contact.version, last_name="Smith")
    latest = contact.history.first()
    assert latest.history_user == agent
    assert latest.last_name == "Smith"
    assert latest.prev_record.last_name != "Smith"
    assert contact.version == 2


def test_the_first_edit_of_an_imported_row_records_it_as_it_was(lead, agent):
    contact = as_imported(lead.contacts.get())
    assert not contact.history.exists()
    old_name = contact.last_name
    editing.owner_update(contact=contact, actor=agent, version=1, last_name="Smith")
    baseline, edit = contact.history.order_by("history_date", "history_id")
    assert (baseline.last_name, baseline.history_user, baseline.history_change_reason) == (
        old_name, None, editing.BASELINE)
    assert (edit.last_name, edit.history_user) == ("Smith", agent)


def test_a_second_editor_with_the_old_version_overwrites_nothing(lead, agent, team_lead):
    contact = lead.contacts.get()
    opened = contact.version
    editing.owner_update(contact=contact, actor=agent, version=opened, last_name="Smith")
    with pytest.raises(editing.StaleEdit):
        editing.owner_update(contact=contact, actor=team_lead, version=opened, last_name="Smyth")
    contact.refresh_from_db()
    assert contact.last_name == "Smith"


def test_saving_nothing_new_moves_no_version_and_writes_no_history(lead, agent):
    contact = lead.contacts.get()
    before = contact.history.count()
    row = editing.owner_update(contact=contact, actor=agent, version=1, last_name=contact.last_name)
    assert row.version == 1
    assert contact.history.count() == before


@pytest.mark.parametrize(("amount", "message"), [
    (Decimal("-1"), editing.MONEY_NEGATIVE), (Decimal("10000000000"), editing.MONEY_TOO_LARGE)])
def test_money_out_of_range_is_refused_with_the_limit(lead, agent, amount, message):
    with pytest.raises(ValidationError) as refused:
        editing.lien_add(lead=lead, actor=agent, position=1, balance=amount)
    assert refused.value.message_dict == {"balance": [message]}
    assert "$100,000,000" in editing.MONEY_TOO_LARGE
    assert not Lien.objects.filter(lead=lead).exists()


def test_a_new_number_is_flagged_against_the_registries_at_once(lead, agent, national_registry):
    dnc_numbers_add(source=national_registry, numbers=["9185550299"], as_of=national_registry.data_as_of)
    phone = editing.phone_add_by_hand(contact=lead.contacts.get(), actor=agent, number="(918) 555-0299")
    assert phone.on_dnc_list
    assert Phone.objects.get(pk=phone.pk).on_dnc_list
    assert phone.source == "homeowner"


def test_a_corrected_number_is_flagged_again(lead, agent, national_registry):
    dnc_numbers_add(source=national_registry, numbers=["9185550298"], as_of=national_registry.data_as_of)
    phone = lead.contacts.get().phones.get()
    assert not phone.on_dnc_list
    phone = editing.phone_update(phone=phone, actor=agent, version=phone.version, number="918-555-0298")
    assert (phone.number, phone.on_dnc_list) == ("+19185550298", True)


def test_an_unreadable_number_says_why_and_saves_nothing(lead, agent):
    contact = lead.contacts.get()
    with pytest.raises(ValidationError) as refused:
        editing.phone_add_by_hand(contact=contact, actor=agent, number="call me maybe")
    assert refused.value.message_dict["number"] == [NO_DIGITS.format(raw="call me maybe")]
    assert contact.phones.count() == 1


def test_a_number_on_file_is_not_added_twice(lead, agent):
    with pytest.raises(ValidationError, match="already on file"):
        editing.phone_add_by_hand(contact=lead.contacts.get(), actor=agent, number="918 555 0104")


def test_make_primary_puts_the_number_first_and_the_others_after(lead, agent):
    contact = lead.contacts.get()
    second = PhoneFactory(contact=contact, position=2)
    third = PhoneFactory(contact=contact, position=3)
    editing.phone_make_primary(phone=third, actor=agent, version=third.version)
    assert list(contact.phones.order_by("position").values_list("pk", flat=True)) == [
        third.pk, contact.phones.get(number="+19185550104").pk, second.pk]
    second.refresh_from_db()
    assert second.version == 2  # an edit opened on it before is told
    # Its move down is the agent's, in its own history row, not the next editor's to own.
    assert (second.position, second.history.latest().history_user) == (3, agent)


def test_the_last_owner_is_not_removed(lead, agent):
    contact = lead.contacts.get()
    with pytest.raises(ValidationError, match="at least one owner"):
        editing.owner_remove(contact=contact, actor=agent, version=contact.version, reason="Sold")
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_removing_an_owner_keeps_the_reason_for_them_and_their_numbers(lead, agent):
    heir = ContactFactory(lead=lead, position=2, first_name="Hal")
    phone, email = PhoneFactory(contact=heir), EmailFactory(contact=heir)
    as_imported(heir, phone, email)
    editing.owner_remove(contact=heir, actor=agent, version=heir.version, reason="Not on the deed")
    removed = Contact.history.filter(id=heir.pk, history_type="-").get()
    assert (removed.history_change_reason, removed.history_user) == ("Not on the deed", agent)
    assert Phone.history.filter(id=phone.pk, history_type="-").get().history_change_reason == "Not on the deed"
    assert not Email.objects.filter(pk=email.pk).exists()


def test_an_owner_whose_number_was_called_is_not_removed(lead, agent):
    heir = ContactFactory(lead=lead, position=2)
    phone = PhoneFactory(contact=heir, number="+19185550177")
    outreach_log(lead=lead, channel="call", contact_point=phone, outcome="no_answer", actor=agent,
                 role_disclosed=True)
    with pytest.raises(ValidationError, match="outreach log"):
        editing.owner_remove(contact=heir, actor=agent, version=heir.version, reason="Wrong person")
    assert Phone.objects.filter(pk=phone.pk).exists()


def test_a_removal_needs_a_reason(lead, agent):
    lien = LienFactory(lead=lead)
    with pytest.raises(ValidationError) as refused:
        editing.lien_remove(lien=lien, actor=agent, version=lien.version, reason=" ")
    assert refused.value.message_dict == {"reason": [editing.REASON_NEEDED]}


def test_lien_edits_keep_the_lien_total(lead, agent):
    lien = LienFactory(lead=lead, balance=Decimal("100000"))
    editing.lien_edit(lien=lien, actor=agent, version=lien.version, balance=Decimal("120000"))
    lead.refresh_from_db()
    assert lead.lien_total == Decimal("120000")
    editing.lien_remove(lien=Lien.objects.get(pk=lien.pk), actor=agent, version=2, reason="Paid off")
    lead.refresh_from_db()
    assert lead.lien_total == Decimal("0")


def test_a_status_set_by_the_outreach_log_moves_the_version_on(lead, agent):
    phone = lead.contacts.get().phones.get()
    outreach_log(lead=lead, channel="call", contact_point=phone, outcome="wrong_number", actor=agent,
                 role_disclosed=True)
    phone.refresh_from_db()
    assert phone.status == PhoneStatus.WRONG_PARTY
    with pytest.raises(editing.StaleEdit):
        editing.phone_update(phone=phone, actor=agent, version=1, status=PhoneStatus.GOOD)


def test_the_timeline_reads_each_save_as_a_sentence(lead, agent):
    contact = lead.contacts.get()
    editing.owner_update(contact=contact, actor=agent, version=1, last_name="Smiht")
    editing.owner_update(contact=contact, actor=agent, version=2, last_name="Smith", mailing_city="Tulsa Hills")
    record = ForeclosureRecordFactory(lead=lead)
    editing.foreclosure_remove(record=record, actor=agent, version=1, reason="Filed in error")
    sentences = [change.sentence for change in editing.lead_record_changes(lead=lead)]
    assert "Ana Torres changed Owner 1's last name from Smiht to Smith and mailing city from Tulsa to Tulsa Hills" \
        in sentences
    assert "Ana Torres removed the notice of default filing" in sentences
    assert [c.reason for c in editing.lead_record_changes(lead=lead) if "removed" in c.sentence] == ["Filed in error"]


def test_history_moved_with_a_merged_row_follows_it_to_the_other_lead(lead, other_lead, agent):
    contact = lead.contacts.get()
    editing.owner_update(contact=contact, actor=agent, version=1, last_name="Smith")
    # A merge moves the row and its history by their lead.
    Contact.objects.filter(pk=contact.pk).update(lead=other_lead)
    Contact.history.filter(id=contact.pk).update(lead_id=other_lead.pk)
    assert any("Smith" in c.sentence for c in editing.lead_record_changes(lead=other_lead))
    assert not any("Smith" in c.sentence for c in editing.lead_record_changes(lead=lead))


def test_imports_write_no_history(lead):
    contact = lead.contacts.get()
    before = Phone.history.count()
    copy_rows(Phone, ("contact_id", "number", "raw", "phone_type", "position"),
              [(contact.pk, "+19185550301", "918 555 0301", "mobile", 2)])
    assert Phone.history.count() == before
    assert contact.phones.get(number="+19185550301").version == 1  # the database default


def test_a_status_the_log_sets_on_an_imported_number_keeps_its_old_value(lead, agent):
    phone = as_imported(lead.contacts.get().phones.get())
    outreach_log(lead=lead, channel="call", contact_point=phone, outcome="wrong_number", actor=agent,
                 role_disclosed=True)
    sentences = [change.sentence for change in editing.lead_record_changes(lead=lead)]
    assert "The system changed the number (918) 555-0104's status from Good to Wrong party" in sentences
