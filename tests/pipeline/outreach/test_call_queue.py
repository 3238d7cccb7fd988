"""The call queue: who may be called right now, per the gate, best score first; and "Next".

Frozen at Wednesday 18 November 2026, 20:00 UTC (2 p.m. in Tulsa) unless a test travels.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel
from compliance.services import dnc_numbers_add, internal_dnc_add
from pipeline.models import Outcome
from pipeline.outreach.queue import call_queue, next_in_queue
from pipeline.outreach.services import outreach_log

from ...leads.factories import ContactFactory, LeadFactory, PhoneFactory

pytestmark = pytest.mark.django_db


def callable_lead(agent, team, number, score):
    lead = LeadFactory(assigned_agent=agent, team=team, score=score)
    PhoneFactory(contact=ContactFactory(lead=lead), number=number)
    return lead


@pytest.fixture
def three(agent, team, national_registry):
    return [callable_lead(agent, team, f"+1918555020{i}", score) for i, score in enumerate((40, 90, 65))]


def test_the_queue_holds_callable_leads_best_score_first_with_the_local_time(three, agent):
    queue = call_queue(user=agent)
    assert [entry.lead.score for entry in queue.entries] == [90, 65, 40]
    assert queue.entries[0].local_times == ["2:00 PM CST"]
    assert queue.entries[0].phone.number == "+19185550201"


def test_numbers_on_a_list_stay_out_of_the_queue(three, agent, national_registry):
    dnc_numbers_add(source=national_registry, numbers=["9185550201"], as_of=date(2026, 11, 13))
    internal_dnc_add(phone_number="9185550202", channel=Channel.CALL, homeowner_words="Stop calling.",
                     recorded_by=agent)
    queue = call_queue(user=agent)
    assert [entry.lead.score for entry in queue.entries] == [40]


def test_the_gates_own_refusal_keeps_a_lead_out_when_no_flag_would(agent, team, national_registry):
    # 8:30 a.m. in Tulsa, where the number and the house are, but 6:30 a.m. in Los Angeles,
    # where the owner gets mail: the gate refuses (every zone must be in its window, G2),
    # though nothing about the number itself is flagged.
    early = callable_lead(agent, team, "+19185550240", 80)
    owner = early.contacts.first()
    owner.mailing_zip, owner.mailing_state, owner.mailing_city = "90012", "CA", "Los Angeles"
    owner.save()
    callable_lead(agent, team, "+19185550241", 30)
    with time_machine.travel(datetime(2026, 11, 18, 14, 30, tzinfo=UTC)):
        queue = call_queue(user=agent)
    assert [entry.lead.score for entry in queue.entries] == [30]
    assert queue.held_back == 1


def test_a_lead_with_one_number_refused_is_called_on_its_other(agent, team, national_registry):
    # At 8:30 a.m. Central the Los Angeles mobile is at 6:30 a.m. (D1, G2): the gate refuses
    # it, though nothing flags it; the Tulsa landline is fine.
    lead = callable_lead(agent, team, "+12135550210", 50)
    PhoneFactory(contact=lead.contacts.first(), number="+19185550211", position=2)
    with time_machine.travel(datetime(2026, 11, 18, 14, 30, tzinfo=UTC)):
        [entry] = call_queue(user=agent).entries
    assert entry.phone.number == "+19185550211"


def test_a_deceased_owners_number_is_never_in_the_queue(agent, team, national_registry):
    lead = callable_lead(agent, team, "+19185550250", 70)
    owner = lead.contacts.first()
    owner.deceased = True
    owner.save()
    assert call_queue(user=agent).entries == []


def test_nobody_is_in_the_queue_outside_calling_hours(three, agent):
    with time_machine.travel(datetime(2026, 11, 19, 3, 0, tzinfo=UTC)):  # 9 p.m. in Tulsa
        queue = call_queue(user=agent)
    assert queue.entries == [] and queue.held_back == 3


def test_the_queue_is_the_agents_own_and_skips_leads_just_tried(three, agent, other_agent, other_team):
    callable_lead(other_agent, other_team, "+19185550230", 99)
    best = three[1]
    outreach_log(lead=best, channel=Channel.CALL, contact_point=best.contacts.first().phones.first(),
                 outcome=Outcome.NO_ANSWER, actor=agent, role_disclosed=True)
    assert [entry.lead.score for entry in call_queue(user=agent).entries] == [65, 40]
    assert call_queue(user=other_agent).entries[0].lead.score == 99


def test_next_skips_the_leads_worked_or_skipped(three, agent):
    assert next_in_queue(user=agent).lead == three[1]
    assert next_in_queue(user=agent, skipped=(three[1].pk,)).lead == three[2]


def test_skipping_walks_down_the_queue_and_never_bounces_back(three, agent, client_as):
    client = client_as(agent)
    seen = [client.get(reverse("pipeline:queue_next"))["Location"]]
    for _ in range(2):
        pk = int(seen[-1].split("/")[2])
        seen.append(client.get(reverse("pipeline:queue_next"), {"after": pk})["Location"])
    assert seen == [reverse("leads:detail", args=[lead.pk]) + "?queue=1" for lead in (three[1], three[2], three[0])]
    last = client.get(reverse("pipeline:queue_next"), {"after": three[0].pk}, follow=True)
    assert "Nobody else in your queue" in last.content.decode()
    # "Start calling" (no ?after) starts again from the top.
    assert client.get(reverse("pipeline:queue_next"))["Location"] == seen[0]


def test_the_queue_page_and_the_next_button(three, agent, client_as):
    client = client_as(agent)
    page = client.get(reverse("pipeline:queue")).content.decode()
    assert three[1].property.street in page and "tel:+19185550201" in page
    client.get(reverse("pipeline:queue_next"))
    response = client.get(reverse("pipeline:queue_next"), {"after": three[1].pk})
    assert response["Location"] == reverse("leads:detail", args=[three[2].pk]) + "?queue=1"
    lead_page = client.get(response["Location"]).content.decode()
    assert "Log and next" in lead_page and "Skip to the next lead" in lead_page


def test_the_dashboards_queue_panel_says_why_each_lead_ranks_where_it_does(three, agent, client_as):
    from leads.models import Lead

    Lead.objects.filter(pk=three[1].pk).update(score_reasons=["Auction in 9 days", "On 2 lists"])
    panel = client_as(agent).get(reverse("pipeline:queue"), HTTP_HX_REQUEST="true").content.decode()
    assert "Auction in 9 days · On 2 lists" in panel
    assert 'title="Ranked for: Auction in 9 days, On 2 lists"' in panel


def test_log_and_next_goes_on_to_the_next_lead(three, agent, client_as):
    lead = three[1]
    response = client_as(agent).post(reverse("pipeline:outreach_log", args=[lead.pk]), {
        "channel": "call", "phone": lead.contacts.first().phones.first().pk, "purpose": "short_sale_listing",
        "technology": "manual", "outcome": "no_answer", "role_disclosed": "on", "queue": "1", "then": "next",
    })
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert response["Location"] == reverse("pipeline:queue_next") + f"?after={lead.pk}"


def test_when_nobody_is_left_next_says_so(agent, client_as, national_registry):
    response = client_as(agent).get(reverse("pipeline:queue_next"), follow=True)
    assert "Nobody else in your queue may be called right now." in response.content.decode()


def test_late_in_the_evening_the_queue_asks_the_gate_nothing(three, agent, django_assert_max_num_queries):
    with time_machine.travel(datetime(2026, 11, 19, 4, 0, tzinfo=UTC)):  # 10 p.m. in Tulsa
        call_queue(user=agent)
        with django_assert_max_num_queries(5):  # acknowledgement, candidates, owners, phones: no gate reads
            queue = call_queue(user=agent)
    assert queue.entries == [] and queue.held_back == 3


def test_the_queue_costs_a_bounded_number_of_queries(agent, team, national_registry, django_assert_max_num_queries):
    for i in range(30):
        callable_lead(agent, team, f"+1918555{300 + i:04d}", 50 + i)
    call_queue(user=agent, size=5)  # warms the rule tables and places
    with django_assert_max_num_queries(12):  # candidates, owners, phones, then the gate's reads for the chunk
        queue = call_queue(user=agent, size=5, now=timezone.now() + timedelta(minutes=1))
    assert len(queue.entries) == 5


def test_the_lead_page_says_per_phone_whether_it_may_be_called_now(lead, agent, client_as, national_registry):
    good = lead.contacts.first().phones.first()
    listed = PhoneFactory(contact=lead.contacts.first(), number="+19185550299", position=2)
    dnc_numbers_add(source=national_registry, numbers=["9185550299"], as_of=date(2026, 11, 13))
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=good, outcome=Outcome.NO_ANSWER, actor=agent,
                 role_disclosed=True)
    response = client_as(agent).get(reverse("leads:detail", args=[lead.pk]))
    phones = {phone.pk: phone for contact in response.context["contacts"] for phone in contact.phones.all()}
    assert phones[good.pk].callable_now and phones[good.pk].attempts_24h == 1
    assert phones[good.pk].local_times == ["Wed 2:00 PM CST"]
    assert not phones[listed.pk].callable_now and phones[listed.pk].blocked_by[0].rule == "A5"
    page = response.content.decode()
    assert "Callable now" in page
    # Each of the homeowner's zones with today's window there: D1's 8 a.m.-9 p.m. narrowed to
    # Oklahoma's 8 p.m. (E1); the property, mailing address and area code all say Central.
    clock = phones[good.pk].zone_clocks[0]
    assert (clock.local_time, clock.window) == ("Wed 2:00 PM CST", "8 AM–8 PM")
    assert "Wed 2:00 PM CST (calls 8 AM–8 PM)" in page


def test_the_lead_page_names_every_list_a_number_is_on(lead, agent, client_as, national_registry):
    from compliance.models import RegistryKind

    from ...compliance.factories import DncSourceFactory

    # A second owner's number: the first owner's stays off every list (a stop covers only its owner).
    PhoneFactory(contact=ContactFactory(lead=lead, position=2), number="+19185550298")
    litigators = DncSourceFactory(name="Litigator Firewall", kind=RegistryKind.LITIGATOR)
    for source in (national_registry, litigators):
        dnc_numbers_add(source=source, numbers=["9185550298"], as_of=date(2026, 11, 13))
    internal_dnc_add(phone_number="9185550298", channel=Channel.CALL, homeowner_words="Take me off your list.",
                     recorded_by=agent)
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    row = page[page.index('<i class="bi bi-telephone-x" aria-hidden="true"></i> (918) 555-0298</span>'):]
    row = row[:row.index("phone-now")]
    for name in ("National DNC Registry", "Litigator Firewall", "Internal do-not-contact list"):
        assert f'<span class="badge badge-dnc" title="Calls and texts to this number are blocked">{name}</span>' in row
    assert "No DNC listing held" in page  # the lead's other, unlisted number


def test_the_window_shown_is_the_strictest_of_every_state_that_applies():
    from datetime import time
    from zoneinfo import ZoneInfo

    from compliance.gate import window_in_force
    from compliance.rulebook import rulebook

    book = rulebook()
    chicago = ZoneInfo("America/Chicago")
    sunday, wednesday = datetime(2026, 11, 22, 14, tzinfo=chicago), datetime(2026, 11, 18, 14, tzinfo=chicago)
    assert window_in_force(book, [], wednesday) == (time(8), time(21))  # D1 alone
    assert window_in_force(book, ["OK"], wednesday) == (time(8), time(20))  # E1
    assert window_in_force(book, ["OK", "TX"], sunday) == (time(12), time(20))  # TX Sundays, OK evenings
    assert window_in_force(book, ["AL"], sunday) is None  # no Sunday calls (E1)


def test_a_call_back_planned_for_later_waits_for_its_time(three, agent):
    from pipeline.reminders.services import follow_up_create

    best = three[1]
    follow_up_create(lead=best, assignee=agent, due_at=timezone.now() + timedelta(days=2), title="Call back Friday")
    assert best not in [entry.lead for entry in call_queue(user=agent).entries]
    with time_machine.travel(timezone.now() + timedelta(days=2, minutes=1)):
        assert call_queue(user=agent).entries[0].lead == best


def test_an_agent_who_has_not_acknowledged_the_procedures_is_told_so_once(agent, team, client_as, national_registry):
    from ...leadcrm.factories import AgentFactory

    untrained = AgentFactory(acknowledged=False)
    callable_lead(untrained, team, "+19185550260", 80)
    queue = call_queue(user=untrained)
    assert queue.entries == [] and queue.scanned == 0 and "acknowledge" in queue.blocked
    page = client_as(untrained).get(reverse("pipeline:queue"), HTTP_HX_REQUEST="true").content.decode()
    assert f'(<a href="{reverse("compliance:rules")}#rule-A4" class="rule-code"' in page


def test_a_warning_in_the_queue_links_its_rule_and_keeps_its_reason(team, client_as, national_registry):
    from leadcrm.accounts.services import team_member_set

    from ...leadcrm.factories import InvestorFactory

    investor = InvestorFactory()
    team_member_set(team=team, user=investor)
    callable_lead(investor, team, "+19185550270", 80)
    page = client_as(investor).get(reverse("pipeline:queue")).content.decode()
    # F8 warns an investor's every call until the written disclosure is on file.
    badge = page[page.index(f'<a href="{reverse("compliance:rules")}#rule-F8"'):]
    badge = badge[:badge.index("</a>")]
    assert 'class="rule-code badge text-bg-warning"' in badge and 'title="F8: ' in badge
