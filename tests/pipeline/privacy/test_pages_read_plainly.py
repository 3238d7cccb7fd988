"""The privacy pages and an erased lead, as a broker and an agent read them: a namesake is
never taken in by default, an erased lead says so and cannot be worked, and what a request
did and what the homeowner receives read as words, not as the database's labels
(docs/privacy.md#how-to-answer-a-request, docs/privacy.md#an-erased-lead)."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from django.urls import reverse

from leads.models import Contact, Email, EmailStatus, Lead, Phone, PhoneStatus, Stage
from pipeline.outreach.forms import OutreachLogForm
from pipeline.privacy.selectors import (
    ERASED_NOT_EDITABLE,
    NAME_ONLY,
    NAME_ONLY_ALONE,
    PrivacySearch,
    privacy_matches,
)
from pipeline.privacy.views import EMPTY_SEARCH

from ...leadcrm.test_url_walk import OWNER_NAME
from ...leads.factories import ContactFactory, LeadFactory, PhoneFactory, PropertyFactory
from .test_erasure import VERIFIED, _erase, world  # noqa: F401  (the lead's world, files in a temporary folder)

pytestmark = pytest.mark.django_db

MEI = "+17135550140"


@pytest.fixture
def namesakes(agent, other_agent, team, other_team):
    """Mei Young at 4791 Aspen Cir, and another Mei Young at another house, another agent's."""
    theirs = LeadFactory(assigned_agent=agent, team=team, stage=Stage.CONTACT,
                         property=PropertyFactory(street="4791 Aspen Cir", city="Mesa", zip_code="85201"))
    mei = ContactFactory(lead=theirs, first_name="Mei", last_name="Young")
    PhoneFactory(contact=mei, number=MEI)
    # The same owner entered twice on her lead: one reason, one line, not two.
    ContactFactory(lead=theirs, first_name="Mei", last_name="Young")
    stranger = LeadFactory(assigned_agent=other_agent, team=other_team, stage=Stage.CONTACT,
                           property=PropertyFactory(street="2148 Maple Dr", city="Mesa", zip_code="85203"))
    PhoneFactory(contact=ContactFactory(lead=stranger, first_name="Mei", last_name="Young"), number="+14805550199")
    return theirs, stranger


def _checkbox(html: str, pk: int) -> str:
    return re.search(rf'<input type="checkbox" name="lead" value="{pk}"[^>]*>', html).group(0)


def test_a_lead_found_by_the_name_alone_starts_unticked_and_says_why(namesakes, broker, client_as):
    theirs, stranger = namesakes
    html = client_as(broker).post(reverse("privacy:index"), {"name": "Mei Young", "phone": "713 555 0140"}).content.decode()
    assert "checked" in _checkbox(html, theirs.pk)
    assert "checked" not in _checkbox(html, stranger.pk)
    assert NAME_ONLY.replace("'", "&#x27;") in html
    row = html[html.index(_checkbox(html, theirs.pk)):html.index(_checkbox(html, stranger.pk))]
    assert row.count("owner Mei Young has the name") == 1  # her lead's reason, once


def test_a_name_only_search_ticks_nothing_and_a_shared_phone_ticks_the_duplicate(namesakes, broker, agent, team):
    theirs, stranger = namesakes
    alone = privacy_matches(fetched_by=broker, search=PrivacySearch(name="Mei Young"))
    assert alone.lead_ids == [theirs.pk, stranger.pk] and alone.ticked_ids == []
    assert {match.name_only for match in alone.leads} == {NAME_ONLY_ALONE}
    # Her second lead, entered under her name with her phone: the same person, ticked.
    again = LeadFactory(assigned_agent=agent, team=team, stage=Stage.CONTACT)
    PhoneFactory(contact=ContactFactory(lead=again, first_name="Mei", last_name="Young"), number=MEI)
    found = privacy_matches(fetched_by=broker, search=PrivacySearch(name="Mei Young", phone="7135550140"))
    assert found.ticked_ids == [theirs.pk, again.pk]
    assert any("shares the phone" in reason or "has the phone" in reason
               for match in found.leads if match.lead.pk == again.pk for reason in match.reasons)


def test_the_erasure_covers_only_the_ticked_leads(namesakes, broker, client_as, django_capture_on_commit_callbacks):
    theirs, stranger = namesakes
    form = {"name": "Mei Young", "phone": "7135550140", "lead": [theirs.pk], "requester": "homeowner",
            "verification": VERIFIED}
    preview = client_as(broker).post(reverse("privacy:erase_preview"), form).content.decode()
    assert f'name="lead" value="{stranger.pk}"' not in preview
    assert "mailing street" in preview and "mailing_street" not in preview and "address_key" not in preview
    with django_capture_on_commit_callbacks(execute=True):
        done = client_as(broker).post(reverse("privacy:erase_confirm"), {**form, "confirmation": "ERASE"})
    assert done.status_code == 302
    assert Contact.objects.filter(lead=stranger, last_name="Young").count() == 1
    assert Lead.objects.get(pk=stranger.pk).erased_at is None
    assert Lead.objects.get(pk=stranger.pk).stage == Stage.CONTACT
    assert not Contact.objects.filter(lead=theirs, last_name="Young").exists()


def test_the_search_page_reads_plainly(namesakes, broker, client_as):
    client = client_as(broker)
    empty = client.post(reverse("privacy:index"), {"name": " ", "phone": ""}).content.decode()
    assert EMPTY_SEARCH in empty
    assert "download or erase. What is kept" in empty
    assert EMPTY_SEARCH not in client.get(reverse("privacy:index")).content.decode()
    found = client.post(reverse("privacy:index"), {"name": "Mei Young"}).content.decode()
    assert "What matched your search" in found and "2 owners by name, 0 phones, 0 emails" in found
    assert 'for="id_search_name"' in found


def test_past_requests_say_what_was_done_in_words(world, client_as, django_capture_on_commit_callbacks):  # noqa: F811
    request = _erase(world, django_capture_on_commit_callbacks)
    html = client_as(world.broker).get(reverse("privacy:index")).content.decode()
    done = html[html.index("Past requests"):]
    assert "leads.contact" not in done and "compliance.compliancecheck" not in done
    rows = sum(action.rows for action in request.actions.all())
    assert f"{rows} records" in done and "Contacts: 1" in done
    assert '<td class="privacy-when">' in done


def test_the_summary_is_for_the_homeowner_to_read(world, client_as):  # noqa: F811
    form = {"name": f"Zenobia {OWNER_NAME}", "lead": [world.lead.pk], "requester": "homeowner",
            "verification": VERIFIED}
    download = client_as(world.broker).post(reverse("privacy:download"), form)
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        summary = archive.read("summary.csv").decode()
        assert "assigned_agent_id" in archive.read("records.json").decode()  # the JSON stays complete
    rows = list(csv.reader(io.StringIO(summary)))
    assert "assigned_agent_id" not in summary and "_id" not in summary and "address_key" not in summary
    header = rows[rows.index(next(row for row in rows if row and row[0].startswith("Contacts ("))) + 1]
    assert header[0] == "Record" and "First name" in header and "Last name" in header and "Version" not in header
    assert ["Zenobia", OWNER_NAME] == [value for value in rows[rows.index(header) + 1] if value in ("Zenobia", OWNER_NAME)]
    assert "(918) 555-0187" in summary  # the phone as dialled, not +19185550187
    assert "Contact " in [row[0][:8] for row in rows if row]  # "Contact 12": a reference, not a key


def test_an_erased_lead_says_so_and_offers_nothing_to_work(world, client_as, django_capture_on_commit_callbacks):  # noqa: F811
    request = _erase(world, django_capture_on_commit_callbacks)
    lead = Lead.objects.get(pk=world.lead.pk)
    assert lead.erased_at is not None and lead.erasure_request_number == request.pk
    assert lead.next_follow_up_at is None and lead.stage == Stage.DEAD
    assert set(Phone.objects.filter(contact__lead=lead).values_list("status", flat=True)) == {PhoneStatus.ERASED}
    assert set(Email.objects.filter(contact__lead=lead).values_list("status", flat=True)) == {EmailStatus.ERASED}

    client = client_as(world.broker)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert f"at their request (privacy request #{request.pk})" in html and "it cannot be contacted" in html
    assert "erased-" not in html and "No DNC listing held" not in html
    assert "Number erased" in html and "Email erased" in html
    assert 'id="log-outreach"' not in html and "Merge with" not in html and 'id="lead-tag-name"' not in html
    assert reverse("pipeline:phone_edit", args=[world.phone.pk]) not in html

    form = OutreachLogForm(lead=lead, user=world.owner, disclosure_sentence="I am an agent.")
    assert not form.fields["phone"].queryset.exists() and not form.fields["email"].queryset.exists()

    for url in (reverse("pipeline:phone_edit", args=[world.phone.pk]), reverse("pipeline:lead_merge", args=[lead.pk])):
        refused = client.get(url, follow=True)
        assert refused.redirect_chain[0][0] == reverse("leads:detail", args=[lead.pk])
        assert ERASED_NOT_EDITABLE in refused.content.decode().replace("&#x27;", "'")
    other = LeadFactory(assigned_agent=world.owner, team=lead.team)
    merged = client.post(reverse("pipeline:lead_merge", args=[other.pk]), {"other": lead.pk, "keep": other.pk})
    assert merged.status_code == 302 and Lead.objects.get(pk=lead.pk).merged_into_id is None


def test_a_lead_never_erased_still_offers_its_numbers(world):  # noqa: F811
    form = OutreachLogForm(lead=world.lead, user=world.owner, disclosure_sentence="I am an agent.")
    assert list(form.fields["phone"].queryset) == [world.phone]
