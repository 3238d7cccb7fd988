"""The pages agents work in: what they show, what they refuse, and how many queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance.models import ComplianceCheck
from compliance.services import dnc_numbers_add
from leads.models import Stage
from pipeline.models import FollowUp, OutreachAttempt, StageChange

from ...compliance.factories import DncSourceFactory
from ...leads.factories import ContactFactory, HardshipFactory, LeadFactory, LienFactory, PhoneFactory
from ..factories import FollowUpFactory

pytestmark = pytest.mark.django_db


def outreach_data(lead, **overrides):
    data = {
        "channel": "call",
        "phone": lead.contacts.first().phones.first().pk,
        "purpose": "short_sale_listing",
        "outcome": "talked",
        "notes": "Explained the short-sale process.",
        "role_disclosed": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_logging_a_compliant_call_redirects_to_the_lead_with_the_attempt_on_it(lead, agent, client_as):
    client = client_as(agent)
    response = client.post(reverse("pipeline:outreach_log", args=[lead.pk]), outreach_data(lead))
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:detail", args=[lead.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Explained the short-sale process." in page
    assert "Logged: Talked" in page


def test_a_dnc_number_is_refused_on_screen_with_the_rule_and_nothing_logged(
    lead, agent, client_as, national_registry
):
    registry = national_registry
    dnc_numbers_add(source=registry, numbers=["9185550104"], as_of=registry.data_as_of)
    response = client_as(agent).post(reverse("pipeline:outreach_log", args=[lead.pk]), outreach_data(lead))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Not logged" in page and "A5" in page and "National DNC Registry" in page
    assert OutreachAttempt.objects.count() == 0
    assert ComplianceCheck.objects.count() == 1


def test_an_undisclosed_role_is_refused_with_the_sentence_to_say(lead, agent, client_as, brokerage):
    response = client_as(agent).post(
        reverse("pipeline:outreach_log", args=[lead.pk]), outreach_data(lead, role_disclosed=None)
    )
    page = response.content.decode()
    assert "D3" in page and "Sunbelt Test Realty" in page
    assert OutreachAttempt.objects.count() == 0


def test_htmx_gets_the_form_card_back_or_a_client_redirect(lead, agent, client_as):
    client = client_as(agent)
    url = reverse("pipeline:outreach_log", args=[lead.pk])
    refused = client.post(url, outreach_data(lead, role_disclosed=None), HTTP_HX_REQUEST="true")
    assert "<html" not in refused.content.decode() and "D3" in refused.content.decode()
    logged = client.post(url, outreach_data(lead), HTTP_HX_REQUEST="true")
    assert logged["HX-Redirect"] == reverse("leads:detail", args=[lead.pk])


def test_a_phone_of_another_lead_cannot_be_posted(lead, other_lead, agent, client_as):
    foreign = other_lead.contacts.first().phones.first()
    response = client_as(agent).post(
        reverse("pipeline:outreach_log", args=[lead.pk]), outreach_data(lead, phone=foreign.pk)
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert OutreachAttempt.objects.count() == 0 and ComplianceCheck.objects.count() == 0


def test_posting_to_another_agents_lead_is_a_404_and_runs_no_check(other_lead, agent, client_as):
    response = client_as(agent).post(
        reverse("pipeline:outreach_log", args=[other_lead.pk]), outreach_data(other_lead)
    )
    assert response.status_code == 404
    assert ComplianceCheck.objects.count() == 0


def test_a_refused_stage_move_shows_what_is_missing(lead, agent, client_as):
    response = client_as(agent).post(reverse("pipeline:stage_change", args=[lead.pk]), {"to_stage": "contact"})
    assert response.status_code == 200
    assert "Not moved" in response.content.decode()
    assert "reached the homeowner" in response.content.decode()
    assert not StageChange.objects.exists()


def test_an_allowed_stage_move_goes_back_to_the_lead(lead, agent, client_as):
    client = client_as(agent)
    client.post(reverse("pipeline:outreach_log", args=[lead.pk]), outreach_data(lead))
    response = client.post(reverse("pipeline:stage_change", args=[lead.pk]), {"to_stage": "contact", "note": "ok"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage == Stage.CONTACT


def test_marking_a_follow_up_done_returns_to_a_local_page_only(lead, agent, client_as):
    follow_up = FollowUpFactory(lead=lead, due_at=timezone.now())
    client = client_as(agent)
    url = reverse("pipeline:follow_up_done", args=[follow_up.pk])
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        assert client.post(url, {"next": evil})["Location"] == reverse("pipeline:dashboard")
    assert client.post(url, {"next": "/leads/?stage=list"})["Location"] == "/leads/?stage=list"
    follow_up.refresh_from_db()
    assert follow_up.done_at is not None


def make_leads(agent, team, count):
    for _ in range(count):
        lead = LeadFactory(assigned_agent=agent, team=team)
        PhoneFactory(contact=ContactFactory(lead=lead))
        LienFactory(lead=lead)
        HardshipFactory(lead=lead)
        FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(hours=1))


def queries_for(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", ["leads:list", "pipeline:dashboard"])
@pytest.mark.parametrize("who", ["agent", "team_lead", "broker"])
def test_list_pages_make_the_same_queries_for_5_or_30_leads(name, who, agent, team, team_lead, broker, client_as):
    client = client_as({"agent": agent, "team_lead": team_lead, "broker": broker}[who])
    make_leads(agent, team, 5)
    queries_for(client, reverse(name))  # the per-user summaries (stage counts, list choices) cached
    few = queries_for(client, reverse(name))
    make_leads(agent, team, 25)
    many = queries_for(client, reverse(name))
    assert few == many
    assert many <= 15  # the lead list's bulk bar reads the action plans it may start (one query)


def test_lead_page_queries_do_not_grow_with_owners_phones_and_liens(lead, agent, client_as):
    client = client_as(agent)
    url = reverse("leads:detail", args=[lead.pk])
    queries_for(client, url)  # warms the forecast's stage durations, cached from then on
    few = queries_for(client, url)
    for position in range(2, 5):
        contact = ContactFactory(lead=lead, position=position)
        PhoneFactory(contact=contact)
        PhoneFactory(contact=contact)
        LienFactory(lead=lead, position=position)
    # Each number's "callable now" is the gate's own verdict, asked about all the numbers
    # at once (one read of the lists for them all): nothing grows with owners, phones or liens.
    assert queries_for(client, url) == few


def test_the_outreach_form_offers_a_callable_number_first_and_labels_the_listed_one(lead, agent, brokerage):
    from pipeline.outreach.forms import OutreachLogForm

    listed = lead.contacts.first().phones.first()
    callable_phone = PhoneFactory(contact=lead.contacts.first(), number="+19185550111", position=2)
    registry = DncSourceFactory()
    dnc_numbers_add(source=registry, numbers=[listed.number], as_of=registry.data_as_of)
    form = OutreachLogForm(lead=lead, user=agent, disclosure_sentence="Hi")
    assert form.fields["phone"].initial == callable_phone.pk
    labels = dict(form.fields["phone"].choices)
    assert "do-not-call list" in str(labels[listed.pk]) and "do-not-call" not in str(labels[callable_phone.pk])


def test_one_timeline_holds_outreach_moves_follow_ups_documents_lender_steps_and_notes(lead, agent, client_as):
    from datetime import date

    from django.core.files.uploadedfile import SimpleUploadedFile

    from pipeline.deals.documents import document_upload
    from pipeline.deals.lenders import milestone_record
    from pipeline.outreach.services import outreach_log
    from pipeline.reminders.services import follow_up_create

    client = client_as(agent)
    outreach_log(lead=lead, channel="call", contact_point=lead.contacts.first().phones.first(),
                 outcome="talked", actor=agent, role_disclosed=True)
    follow_up_create(lead=lead, assignee=agent, due_at=timezone.now() + timedelta(days=1), title="Send the guide")
    document_upload(lead=lead, kind="hardship_letter", actor=agent, file=SimpleUploadedFile("h.pdf", b"%PDF-1.4"))
    milestone_record(lien=LienFactory(lead=lead), kind="auth_sent", occurred_on=date(2026, 11, 18), actor=agent)
    response = client.post(reverse("pipeline:note_add", args=[lead.pk]), {"body": "Prefers texts after 5."})
    assert response["Location"].endswith("#timeline")
    kinds = [event.kind for event in client.get(reverse("leads:detail", args=[lead.pk])).context["activity"]]
    assert sorted(kinds) == ["document", "follow_up", "lender", "note", "outreach"]
    assert kinds[0] == "note"  # newest first


def test_an_empty_note_is_refused_and_another_agents_lead_is_a_404(lead, other_lead, agent, client_as):
    client = client_as(agent)
    client.post(reverse("pipeline:note_add", args=[lead.pk]), {"body": "   "})
    assert not lead.notes.exists()
    assert client.post(reverse("pipeline:note_add", args=[other_lead.pk]), {"body": "x"}).status_code == 404


def test_bulk_follow_ups_moves_and_assignment_each_through_its_service(agent, team, team_lead, client_as):
    from leads.models import Lead

    leads = [LeadFactory(assigned_agent=agent, team=team) for _ in range(3)]
    ids = [lead.pk for lead in leads]
    client = client_as(agent)
    due = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(reverse("pipeline:bulk"), {"leads": ids, "action": "follow_up", "due_at": due, "title": "Mail the guide"})
    assert FollowUp.objects.filter(lead__in=ids, title="Mail the guide").count() == 3
    # Contact needs a conversation: every one stays, and says why.
    response = client.post(reverse("pipeline:bulk"), {"leads": ids, "action": "stage", "to_stage": "contact"},
                           follow=True)
    assert "3 not changed" in response.content.decode()
    assert set(Lead.objects.filter(pk__in=ids).values_list("stage", flat=True)) == {Stage.LIST}
    client.post(reverse("pipeline:bulk"), {"leads": ids[:2], "action": "stage", "to_stage": "dead",
                                           "dead_reason": "unreachable"})
    assert Lead.objects.filter(pk__in=ids, stage=Stage.DEAD).count() == 2
    # Agents do not assign; their team lead does.
    assert client.post(reverse("pipeline:bulk"), {"leads": ids, "action": "assign", "agent": agent.pk}).status_code == 403
    client_as(team_lead).post(reverse("pipeline:bulk"), {"leads": ids, "action": "assign", "agent": team_lead.pk})
    assert set(Lead.objects.filter(pk__in=ids).values_list("assigned_agent", flat=True)) == {team_lead.pk}


def test_a_bulk_action_naming_another_agents_lead_is_a_404_and_changes_nothing(lead, other_lead, agent, client_as):
    due = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client_as(agent).post(reverse("pipeline:bulk"), {"leads": [lead.pk, other_lead.pk],
                                                                 "action": "follow_up", "due_at": due})
    assert response.status_code == 404 and not FollowUp.objects.exists()


def test_a_mistaken_entry_is_corrected_by_an_appended_entry_from_the_lead_page(lead, agent, client_as):
    client = client_as(agent)
    client.post(reverse("pipeline:outreach_log", args=[lead.pk]), outreach_data(lead, outcome="talked"))
    wrong = OutreachAttempt.objects.get()
    page = client.get(reverse("leads:detail", args=[lead.pk]), {"correct": wrong.pk}).content.decode()
    assert "Correcting an earlier entry: Talked" in page and f'value="{wrong.pk}"' in page
    # A correction must say what was wrong.
    response = client.post(reverse("pipeline:outreach_log", args=[lead.pk]),
                           outreach_data(lead, outcome="no_answer", corrects=wrong.pk, notes=""))
    assert response.status_code == 200 and OutreachAttempt.objects.count() == 1
    client.post(reverse("pipeline:outreach_log", args=[lead.pk]),
                outreach_data(lead, outcome="no_answer", corrects=wrong.pk, notes="Nobody answered; logged wrong."))
    fix = OutreachAttempt.objects.exclude(pk=wrong.pk).get()
    assert (fix.corrects, fix.outcome, fix.occurred_at) == (wrong, "no_answer", wrong.occurred_at)
    assert OutreachAttempt.objects.filter(pk=wrong.pk, outcome="talked").exists()  # the old entry stays


def test_an_entry_of_another_lead_cannot_be_corrected_here(lead, other_lead, agent, other_agent, client_as):
    from pipeline.outreach.services import outreach_log

    theirs = outreach_log(lead=other_lead, channel="call", contact_point=other_lead.contacts.first().phones.first(),
                          outcome="talked", actor=other_agent, role_disclosed=True)
    response = client_as(agent).post(reverse("pipeline:outreach_log", args=[lead.pk]),
                                     outreach_data(lead, corrects=theirs.pk, notes="x"))
    assert response.status_code == 200 and not OutreachAttempt.objects.filter(corrects=theirs).exists()


def test_a_lead_list_row_shows_owners_place_stage_type_agent_and_follow_up(agent, team, client_as):
    from leads.models import LeadType

    lead = LeadFactory(assigned_agent=agent, team=team, lead_type=LeadType.AUCTION, stage=Stage.QUALIFY,
                       property__street="12 Elm St", property__unit="4", property__city="Broken Arrow",
                       property__zip_code="74012", stage_entered_at=timezone.now() - timedelta(days=15),
                       next_follow_up_at=timezone.now() - timedelta(hours=3))
    ContactFactory(lead=lead, first_name="Rosa", last_name="<b>Diaz</b>", position=1)
    ContactFactory(lead=lead, first_name="", last_name="", company_name="Diaz Family Trust", position=2)
    page = client_as(agent).get(reverse("leads:list")).content.decode()
    row = page[page.index(f'data-href="/leads/{lead.pk}/"'):]
    row = row[:row.index("</tr>")]
    assert f'<a class="owner" href="/leads/{lead.pk}/">Rosa &lt;b&gt;Diaz&lt;/b&gt;</a>' in row  # escaped
    assert "+1</span>" in row  # the trust, a second owner
    assert "12 Elm St #4" in row and "Broken Arrow, OK 74012" in row
    assert 'stage-qualify">Qualify</span>' in row and "2 weeks" in row
    assert LeadType.AUCTION.label in row and "Ana Torres" in row
    assert 'class="follow-up-overdue"' in row
    assert short_moment_of(lead.next_follow_up_at, agent) in row


def short_moment_of(moment, user):
    from zoneinfo import ZoneInfo

    from django.utils.formats import date_format

    return date_format(timezone.localtime(moment, ZoneInfo(user.time_zone)), "M j, g:i A")


def test_the_dashboard_agenda_lists_each_follow_up_with_its_lead_and_a_done_button(agent, team):
    lead = LeadFactory(assigned_agent=agent, team=team, property__street="9 Oak Ave", property__city="Jenks")
    late = FollowUpFactory(lead=lead, title="Call <Maria> back", due_at=timezone.now() - timedelta(hours=2))
    soon = FollowUpFactory(lead=lead, title="Send the package", kind="task", due_at=timezone.now() + timedelta(days=2))
    from django.test import Client

    client = Client(enforce_csrf_checks=True)  # the done button's token must be a real one
    client.force_login(agent)
    page = client.get(reverse("pipeline:dashboard") + "?from=here").content.decode()
    overdue, upcoming = page.index("Overdue · "), page.index("Next 7 days · ")
    assert overdue < page.index("Call &lt;Maria&gt; back") < upcoming < page.index("Send the package")
    assert f'href="/leads/{lead.pk}/" class="fw-semibold">Call &lt;Maria&gt; back' in page
    assert "9 Oak Ave, Jenks · Call" in page and "9 Oak Ave, Jenks · Task" in page
    for follow_up in (late, soon):
        assert f'action="/follow-ups/{follow_up.pk}/done/"' in page
    assert page.count('<input type="hidden" name="next" value="/?from=here">') == 2
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = client.post(reverse("pipeline:follow_up_done", args=[late.pk]),
                           {"csrfmiddlewaretoken": token, "next": "/?from=here"})
    assert response.status_code == 302
    late.refresh_from_db()
    assert late.done_at is not None


def test_agenda_line_names_the_street_alone_when_the_city_is_unknown():
    from datetime import UTC, datetime

    from pipeline.reminders.selectors import AgendaItem

    due = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    with_city = AgendaItem(1, 2, "Call back", "call", due, street="12 Elm St", unit="4", city="Tulsa")
    without_city = AgendaItem(1, 2, "Call back", "call", due, street="12 Elm St")
    assert with_city.where == "12 Elm St #4, Tulsa"
    assert without_city.where == "12 Elm St"


def test_every_dashboard_count_links_to_the_leads_it_counts(agent, team, team_lead, client_as):
    from pipeline.reminders.services import follow_up_create

    now = timezone.now()
    overdue_lead, later_lead, quiet_lead = (LeadFactory(assigned_agent=agent, team=team) for _ in range(3))
    follow_up_create(lead=overdue_lead, assignee=agent, created_by=agent, title="Call back", kind="task",
                     due_at=now - timedelta(hours=3))
    follow_up_create(lead=later_lead, assignee=agent, created_by=agent, title="Send the guide", kind="task",
                     due_at=now + timedelta(days=3))
    page = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()
    assert '<a href="/leads/" class="link-secondary" data-count="3">3 open leads</a>' in page
    assert 'href="/leads/?follow_up=overdue&amp;order=follow_up"' in page
    assert 'href="/leads/?follow_up=week&amp;order=follow_up"' in page
    assert "follow_up=today" not in page  # nothing due later today: no group, no link

    def listed(query):
        rows = client_as(agent).get(reverse("leads:list"), query).content.decode()
        return {lead for lead in (overdue_lead, later_lead, quiet_lead) if f'href="/leads/{lead.pk}/"' in rows}

    assert listed({"follow_up": "overdue"}) == {overdue_lead}
    assert listed({"follow_up": "week"}) == {later_lead}
    assert listed({"follow_up": "none"}) == {quiet_lead}
    assert listed({"follow_up": "today"}) == set()

    lead_page = client_as(team_lead).get(reverse("pipeline:dashboard")).content.decode()
    assert f'href="/leads/?assigned_agent={agent.pk}" class="link-body-emphasis" data-count="3">3</a>' in lead_page
    assert f'href="/leads/?assigned_agent={agent.pk}&amp;follow_up=overdue&amp;order=follow_up"' in lead_page


def test_the_agenda_says_when_a_group_holds_more_than_it_lists(agent, team):
    from pipeline.reminders.selectors import follow_up_agenda

    now = timezone.now()
    for hours in range(1, 5):
        FollowUpFactory(lead=LeadFactory(assigned_agent=agent, team=team), due_at=now - timedelta(hours=hours))
    assert follow_up_agenda(user=agent, limit=3).more == {"overdue"}
    assert len(follow_up_agenda(user=agent, limit=3).overdue) == 3
    assert follow_up_agenda(user=agent, limit=4).more == set()


def test_the_lead_page_shows_the_mls_listing_when_a_list_brought_one(lead, agent, client_as):
    from datetime import date
    from decimal import Decimal

    url = reverse("leads:detail", args=[lead.pk])
    assert "<dt>MLS</dt>" not in client_as(agent).get(url).content.decode()
    place = lead.property
    place.mls_status, place.mls_date, place.mls_amount = "Expired", date(2026, 10, 3), Decimal("245000")
    place.mls_agent_name, place.mls_brokerage_name, place.mls_agent_phone = "Dana <b>Lee</b>", "Acme Realty", "+19185550190"
    place.save()
    page = client_as(agent).get(url).content.decode()
    assert "Expired since Oct 3, 2026 · $245,000" in page
    assert "Dana &lt;b&gt;Lee&lt;/b&gt;, Acme Realty · (918) 555-0190" in page
