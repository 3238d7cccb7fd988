"""The agent's own do-not-call list page (B3) and the ending of a relationship (C2), as an
agent meets them: nothing pasted or uploaded is dropped silently, each input's errors stand
under it, the messages read well, dates read as the pages write them
(docs/compliance-rules.md#b3, docs/compliance-rules.md#c2)."""

from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from compliance.forms import AgentListForm
from compliance.models import AgentDncEntry, Channel, RelationshipKind, TerminationShownBy
from compliance.services import agent_list_import, internal_dnc_add

from ..leads.factories import ContactFactory, LeadFactory, PhoneFactory
from .factories import EstablishedRelationshipFactory

pytestmark = pytest.mark.django_db

URL = "compliance:agent_list"


def csv_file(text: str, name: str = "list.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def page_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def errors_of(response, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])


def test_b3_pasted_numbers_and_a_file_together_are_refused_not_half_added(client_as, agent):
    """B3: pasting numbers and choosing a file added only the file and said so; now neither
    is dropped silently: the agent is asked to add one at a time, and nothing is added."""
    response = client_as(agent).post(reverse(URL), {
        "numbers": "(206) 555-0101\n(206) 555-0102", "note": "",
        "upload": csv_file("number\n(206) 555-0103\n(206) 555-0104")})
    assert response.status_code == 400
    assert errors_of(response, "upload") == [AgentListForm.BOTH]
    assert not AgentDncEntry.objects.exists()
    # The pasted numbers stay in the box, to be added first.
    assert "(206) 555-0102" in response.content.decode()


def test_b3_a_bad_files_lines_are_named_under_the_file_field(client_as, agent):
    """B3: a bad CSV's lines are named under the file field (not under the empty paste box),
    one lower-case sentence each, naming the line; nothing is added."""
    response = client_as(agent).post(reverse(URL), {"numbers": "", "note": "",
                                                    "upload": csv_file("number\n(509) 555-0121\nabc")})
    assert response.status_code == 400
    assert errors_of(response, "numbers") == []
    errors = errors_of(response, "upload")
    assert errors[0] == "Line 3: “abc” is neither a phone number nor an email address."
    assert "choose it again" in errors[-1]
    assert not AgentDncEntry.objects.exists()


def test_b3_a_file_that_is_no_text_is_named_under_the_file_field(client_as, agent):
    """B3: an unreadable file's error stands under the file field."""
    unreadable = SimpleUploadedFile("x.csv", b"\x81\xfe\x00\xff")
    response = client_as(agent).post(reverse(URL), {"numbers": "", "note": "", "upload": unreadable})
    assert response.status_code == 400
    assert errors_of(response, "upload") == [AgentListForm.UNREADABLE] and errors_of(response, "numbers") == []


def test_b3_pasted_bad_lines_stay_under_the_paste_box(client_as, agent):
    response = client_as(agent).post(reverse(URL), {"numbers": "2065550102\nhello", "note": ""})
    assert response.status_code == 400
    assert errors_of(response, "numbers") == ["Line 2: “hello” is neither a phone number nor an email address."]
    assert errors_of(response, "upload") == []


@pytest.mark.parametrize(("listed", "said"), [
    (["+12065550101"], "Added 1 to your list. 1 was already on your list."),
    (["+12065550101", "+12065550102"], "Nothing new to add. 2 were already on your list."),
    ([], "Added 2 to your list."),
])
def test_b3_the_added_message_counts_in_good_english(client_as, agent, listed, said):
    """B3: "1 were on it already" read badly: singular and plural, on "your list"."""
    for number in listed:
        agent_list_import(agent=agent, text=number)
    response = client_as(agent).post(reverse(URL), {"numbers": "(206) 555-0101\n(206) 555-0102", "note": ""})
    assert response.status_code == 302
    assert page_messages(response) == [said]


def test_b3_a_file_alone_is_added(client_as, agent):
    client = client_as(agent)
    response = client.post(reverse(URL), {"numbers": "", "note": "Old CRM",
                                          "upload": csv_file("number\n(206) 555-0103\nowner@example.com")})
    assert response.status_code == 302 and page_messages(response) == ["Added 2 to your list."]
    assert AgentDncEntry.objects.filter(agent=agent).count() == 2


def test_b3_the_list_says_how_in_the_agents_own_words_and_adds_first(client_as, agent):
    """B3: the page is "My ..."; an entry brought in reads "From your own list", not the
    third-person stored label; the add form comes before the list (first on a phone)."""
    agent_list_import(agent=agent, text="+12065550101")
    page = client_as(agent).get(reverse(URL)).content.decode()
    assert "From your own list" in page and "The agent&#x27;s own list" not in page
    assert page.index("Add to your list") < page.index("On your list")
    assert AgentDncEntry.objects.get().source == "own_list"  # the stored value stays


def test_b3_the_user_menu_links_to_my_list(client_as, agent):
    """B3: nothing linked to the agent's own list; the user menu does now."""
    page = client_as(agent).get(reverse("pipeline:my_settings")).content.decode()
    assert f'href="{reverse(URL)}"' in page


# Ending a relationship (C2) ------------------------------------------------------------------


@pytest.fixture
def relationship(agent, national_registry):
    lead = LeadFactory(assigned_agent=agent)
    phone = PhoneFactory(contact=ContactFactory(lead=lead), number="+12145550101")
    return EstablishedRelationshipFactory(phone=phone, kind=RelationshipKind.TRANSACTION,
                                          started_on=date(2025, 10, 1))


def terminate_url(relationship):
    return reverse("compliance:relationship_terminate", args=[relationship.lead_id, relationship.pk])


def test_c2_the_ending_pages_messages_write_dates_as_the_page_does(client_as, agent, relationship):
    """C2: the before-start error said "(2025-10-01)" and the success "Dec 01, 2026" while the
    page writes "Oct 1, 2025"."""
    client = client_as(agent)
    before = client.post(terminate_url(relationship), {"terminated_on": "2025-09-01",
                                                       "shown_by": TerminationShownBy.SAID})
    assert before.status_code == 400
    assert "(Oct 1, 2025)" in before.content.decode() and "2025-10-01" not in before.content.decode()
    saved = client.post(terminate_url(relationship), {"terminated_on": "2025-11-02",
                                                      "shown_by": TerminationShownBy.SAID})
    assert saved.status_code == 302
    assert page_messages(saved) == ["Recorded the end of the relationship on Nov 2, 2025."]


def test_c2_an_ended_relationship_reads_ended_not_expired_on_the_card(client_as, agent, relationship):
    """C2: after the ending the card said "Expired ... expired after"; it says when it ended."""
    ended = timezone.localdate()
    client = client_as(agent)
    assert client.post(terminate_url(relationship), {"terminated_on": ended.isoformat(),
                                                     "shown_by": TerminationShownBy.SAID}).status_code == 302
    card = client.get(reverse("compliance:evidence", args=[relationship.lead_id])).content.decode()
    day = f"{ended:%b} {ended.day}, {ended.year}"
    assert f"Ended {day}</span>" in card  # the badge
    assert f'ended <strong class="evidence-until">{day}</strong>' in card
    assert "expired after" not in card and ">Expired<" not in card


def test_b3_stops_with_leads_list_in_fixed_queries_and_hide_a_lead_given_to_someone_else(
        client_as, agent, other_agent, django_assert_max_num_queries):
    """B3: a stop made to the agent names its lead, in the same few queries however many
    there are; once that lead belongs to someone else, its address is no longer shown (nor
    linked to a page that would be a 404)."""
    leads = [LeadFactory(assigned_agent=agent) for _ in range(6)]
    for number, lead in enumerate(leads):
        internal_dnc_add(channel=Channel.SMS, phone_number=f"+120655502{number:02d}", homeowner_words="STOP",
                         recorded_by=agent, lead=lead)
    given_away = leads[0]
    given_away.assigned_agent = other_agent
    given_away.save()
    client = client_as(agent)
    with django_assert_max_num_queries(13):
        page = client.get(reverse(URL)).content.decode()
    for lead in leads[1:]:
        assert lead.property.street_line in page
    assert given_away.property.street_line not in page
    assert reverse("leads:detail", args=[given_away.pk]) not in page
