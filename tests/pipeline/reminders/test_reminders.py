"""Follow-ups from every source, at frozen times; the homeowner's calling hours and the
agent's working hours across zones and DST; escalation; the digest (issue 7)."""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from compliance.services import registry_version_record
from leadcrm.accounts.hours import when_to_tell
from leadcrm.accounts.services import user_preferences_update
from leads.models import ForeclosureRecord, Stage
from pipeline.deals.documents import checklist_item_update
from pipeline.deals.lenders import approval_letter_record, milestone_record, negotiator_assign
from pipeline.models import (
    DocumentKind,
    DocumentStatus,
    EmailState,
    FollowUp,
    FollowUpKind,
    FollowUpSource,
    Milestone,
    Notification,
    NotificationKind,
)
from pipeline.reminders.notifications import (
    digests_send,
    dnc_refresh_notices,
    due_work,
    escalations_send,
    notification_emails_send,
    reminders_send,
)
from pipeline.reminders.rules import follow_ups_generate
from pipeline.reminders.services import follow_up_complete, follow_up_create

from ...compliance.factories import DncSourceFactory
from ...leads.factories import (
    ContactFactory,
    ForeclosureRecordFactory,
    LeadFactory,
    LienFactory,
    PhoneFactory,
    PropertyFactory,
)
from ..factories import FollowUpFactory, NotificationFactory, ReminderSettingsFactory

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")


def at(zone, *args):
    return datetime(*args, tzinfo=zone)


def travel(moment):
    return time_machine.travel(moment, tick=False)


def oregon_lead(agent, team):
    """A homeowner in Portland (Pacific) with a 503 number; the agent works from Chicago."""
    lead = LeadFactory(assigned_agent=agent, team=team,
                       property=PropertyFactory(city="Portland", state="OR", zip_code="97201"))
    contact = ContactFactory(lead=lead, mailing_city="Portland", mailing_state="OR", mailing_zip="97201")
    PhoneFactory(contact=contact, number="+15035550123")
    return lead


def make_call(lead, agent, requested, title="Call back"):
    return follow_up_create(lead=lead, assignee=agent, due_at=requested, title=title, kind=FollowUpKind.CALL,
                            created_by=agent)


# When a call falls due: the homeowner's calling hours (D1, E1, G2) ---------------------------


def test_a_call_back_before_the_homeowners_window_falls_due_when_it_opens_in_their_zone(agent, team, national_registry):
    # Tuesday 7:00 in Chicago is 5:00 in Portland: due at 8:00 Pacific, 10:00 Central.
    lead = oregon_lead(agent, team)
    follow_up = make_call(lead, agent, at(CHICAGO, 2026, 11, 24, 7, 0))
    assert follow_up.due_at == at(LOS_ANGELES, 2026, 11, 24, 8, 0)
    assert follow_up.requested_at == at(CHICAGO, 2026, 11, 24, 7, 0)


def test_a_call_back_inside_the_window_is_left_where_the_agent_put_it(lead, agent):
    requested = at(CHICAGO, 2026, 11, 24, 14, 30)
    follow_up = make_call(lead, agent, requested)
    assert (follow_up.due_at, follow_up.requested_at) == (requested, None)


def test_a_call_back_after_hours_moves_to_the_next_morning(lead, agent):
    # Oklahoma (the property, the 918 number): 8:00-20:00 (E1); 21:15 waits for 8:00 next day.
    follow_up = make_call(lead, agent, at(CHICAGO, 2026, 11, 24, 21, 15))
    assert follow_up.due_at == at(CHICAGO, 2026, 11, 25, 8, 0)


def test_a_number_in_another_zone_than_the_house_waits_for_both(agent, team, national_registry):
    # The house is in Tulsa (Central) but the owner's mobile is a 503 (Pacific) number:
    # 8:30 Central is 6:30 Pacific; both windows are open from 8:00 Pacific.
    lead = LeadFactory(assigned_agent=agent, team=team)
    PhoneFactory(contact=ContactFactory(lead=lead), number="+15035550188")
    follow_up = make_call(lead, agent, at(CHICAGO, 2026, 11, 24, 8, 30))
    assert follow_up.due_at == at(LOS_ANGELES, 2026, 11, 24, 8, 0)


def test_texas_on_a_sunday_waits_for_noon(agent, team, national_registry):
    lead = LeadFactory(assigned_agent=agent, team=team,
                       property=PropertyFactory(city="Dallas", state="TX", zip_code="75201"))
    PhoneFactory(contact=ContactFactory(lead=lead, mailing_state="TX", mailing_city="Dallas", mailing_zip="75201"),
                 number="+12145550190")
    follow_up = make_call(lead, agent, at(CHICAGO, 2026, 11, 22, 9, 0))  # Sunday 22 November
    assert follow_up.due_at == at(CHICAGO, 2026, 11, 22, 12, 0)


@pytest.mark.parametrize(("requested", "due_utc"), [
    # The Sunday clocks spring forward: 8:00 Eastern is 12:00 UTC, not 13:00.
    (datetime(2026, 3, 8, 11, 30, tzinfo=UTC), datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),
    # The Sunday they fall back: 8:00 Eastern is 13:00 UTC.
    (datetime(2026, 11, 1, 11, 30, tzinfo=UTC), datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),
])
def test_the_window_opens_at_8_local_across_daylight_saving_changes(requested, due_utc, agent, team, national_registry):
    lead = LeadFactory(assigned_agent=agent, team=team,
                       property=PropertyFactory(city="Atlanta", state="GA", zip_code="30303"))
    PhoneFactory(contact=ContactFactory(lead=lead, mailing_state="GA", mailing_city="Atlanta", mailing_zip="30303"),
                 number="+14045550111")
    with travel(requested - timedelta(hours=1)):
        follow_up = make_call(lead, agent, requested)
    assert follow_up.due_at == due_utc


def test_logging_a_call_with_a_follow_up_too_early_says_when_it_is_due(agent, team, national_registry, client_as):
    from django.urls import reverse

    registry_version_record(source=national_registry, area_codes=["503"],
                            version_date=(timezone.now() - timedelta(days=5)).date())
    lead = oregon_lead(agent, team)
    phone = lead.contacts.first().phones.first()
    response = client_as(agent).post(reverse("pipeline:outreach_log", args=[lead.pk]), {
        "channel": "call", "phone": phone.pk, "outcome": "no_answer", "purpose": "short_sale_listing",
        "role_disclosed": "on", "notes": "",
        "follow_up_at": "2026-11-24T07:00", "follow_up_title": "Try again",
    }, follow=True)
    page = response.content.decode()
    assert "the first moment the homeowner may lawfully be called" in page
    assert "Tue Nov 24, 10:00 AM CST" in page
    assert FollowUp.objects.get(lead=lead).due_at == at(LOS_ANGELES, 2026, 11, 24, 8, 0)


# When the agent is told: their own working hours --------------------------------------


def test_the_agent_is_told_within_their_own_working_hours(agent):
    agent.work_starts, agent.work_ends, agent.work_days = time(9), time(17), "01234"
    assert when_to_tell(agent, at(CHICAGO, 2026, 11, 24, 10, 0)) == at(CHICAGO, 2026, 11, 24, 10, 0)
    assert when_to_tell(agent, at(CHICAGO, 2026, 11, 24, 7, 0)) == at(CHICAGO, 2026, 11, 24, 9, 0)
    assert when_to_tell(agent, at(CHICAGO, 2026, 11, 24, 17, 30)) == at(CHICAGO, 2026, 11, 25, 9, 0)
    assert when_to_tell(agent, at(CHICAGO, 2026, 11, 28, 10, 0)) == at(CHICAGO, 2026, 11, 30, 9, 0)  # Saturday


def test_changing_working_hours_retimes_reminders_not_yet_sent(lead, agent):
    follow_up = make_call(lead, agent, at(CHICAGO, 2026, 11, 24, 8, 15))
    assert follow_up.notify_at == at(CHICAGO, 2026, 11, 24, 9, 0)
    user_preferences_update(user=agent, work_starts=time(8), work_days="0123456")
    follow_up.refresh_from_db()
    assert follow_up.notify_at == at(CHICAGO, 2026, 11, 24, 8, 15)


# Where follow-ups come from -----------------------------------------------------------


def generated(source):
    return list(FollowUp.objects.filter(source=source).order_by("due_at"))


def test_the_lender_is_chased_3_days_after_submission_then_weekly_until_it_decides(lead, agent):
    lien = LienFactory(lead=lead, position=1)
    lead.stage = Stage.NEGOTIATE
    lead.save()
    milestone_record(lien=lien, kind=Milestone.PACKAGE_SUBMITTED, occurred_on=date(2026, 11, 16), actor=agent)
    follow_ups_generate()
    follow_ups_generate()  # idempotent
    [chase] = generated(FollowUpSource.LENDER_CHASE)
    assert chase.due_at == at(CHICAGO, 2026, 11, 19, 9, 0)  # Thursday, the agent's day starts at 9
    assert chase.kind == FollowUpKind.LENDER

    with travel(at(CHICAGO, 2026, 11, 19, 11, 0)):
        follow_up_complete(follow_up=chase)
        follow_ups_generate()
    chases = generated(FollowUpSource.LENDER_CHASE)
    assert [c.due_at for c in chases] == [at(CHICAGO, 2026, 11, 19, 9, 0), at(CHICAGO, 2026, 11, 26, 9, 0)]

    with travel(at(CHICAGO, 2026, 11, 20, 11, 0)):
        approval_letter_record(lien=lien, issued_on=date(2026, 11, 20), expires_on=date(2026, 12, 20), actor=agent)
        follow_ups_generate()
    latest = generated(FollowUpSource.LENDER_CHASE)[-1]
    assert latest.done_at is not None and "decided" in latest.closed_reason


def test_a_valuation_ordered_is_checked_on_after_the_brokerages_days(lead, agent):
    lien = LienFactory(lead=lead, position=1)
    lead.stage = Stage.NEGOTIATE
    lead.save()
    milestone_record(lien=lien, kind=Milestone.VALUATION_ORDERED, occurred_on=date(2026, 11, 12), actor=agent)
    follow_ups_generate()
    [check] = generated(FollowUpSource.VALUATION)
    assert check.due_at == at(CHICAGO, 2026, 11, 20, 9, 0)  # 10 days (ReminderSettings default)


def test_a_new_negotiator_gets_an_introduction_the_next_day(lead, agent):
    lien = LienFactory(lead=lead, position=1)
    negotiator_assign(lien=lien, name="Pat Quinn", assigned_on=date(2026, 11, 17), actor=agent)
    follow_ups_generate()
    [intro] = generated(FollowUpSource.NEGOTIATOR)
    assert "Pat Quinn" in intro.title and intro.due_at == at(CHICAGO, 2026, 11, 18, 9, 0)


def test_auction_deadlines_30_14_7_and_2_days_ahead_and_a_moved_date_closes_them(lead, agent):
    # Auction on Sunday 20 December; today is Wednesday 18 November.
    ForeclosureRecordFactory(lead=lead, auction_date=date(2026, 12, 20))
    follow_ups_generate()  # 18 Nov: T-30 (20 Nov) is within the week ahead; T-14 (6 Dec) not yet
    follow_ups_generate()
    assert [f.source_key.rsplit(":", 1)[1] for f in generated(FollowUpSource.AUCTION)] == ["30"]

    with travel(at(CHICAGO, 2026, 12, 4, 10, 0)):
        follow_ups_generate()  # 4 Dec: T-14 (6 Dec) within the week
    with travel(at(CHICAGO, 2026, 12, 14, 10, 0)):
        follow_ups_generate()  # 14 Dec: T-7 (13 Dec) missed (no run that day): raised for today; T-2 ahead
    marks = {f.source_key.rsplit(":", 1)[1]: f for f in generated(FollowUpSource.AUCTION)}
    assert sorted(marks) == ["14", "2", "30", "7"]
    assert marks["7"].due_at == at(CHICAGO, 2026, 12, 14, 9, 0)
    # A Friday the 18th deadline (T-2) falls on the agent's Friday; a Sunday one on the Friday before.
    [two_days] = [f for f in generated(FollowUpSource.AUCTION) if f.source_key.endswith(":2")]
    assert two_days.due_at == at(CHICAGO, 2026, 12, 18, 9, 0)

    ForeclosureRecord.objects.filter(lead=lead).update(auction_date=date(2027, 1, 15))
    with travel(at(CHICAGO, 2026, 12, 14, 11, 0)):
        follow_ups_generate()
    old = [f for f in generated(FollowUpSource.AUCTION) if "2026-12-20" in f.source_key]
    new = [f for f in generated(FollowUpSource.AUCTION) if "2027-01-15" in f.source_key]
    assert len(old) == 4 and all(f.done_at is not None and "moved" in f.closed_reason for f in old)
    assert [(f.source_key.rsplit(":", 1)[1], f.done_at) for f in new] == [("30", None)]


def test_a_list_imported_ten_days_before_an_auction_gets_one_reminder_today_not_three(lead, agent):
    ForeclosureRecordFactory(lead=lead, auction_date=date(2026, 11, 28))
    follow_ups_generate()
    marks = {f.source_key.rsplit(":", 1)[1]: f.due_at for f in generated(FollowUpSource.AUCTION)}
    assert marks == {"14": at(CHICAGO, 2026, 11, 18, 9, 0), "7": at(CHICAGO, 2026, 11, 20, 9, 0)}


def test_a_sunday_deadline_is_raised_on_the_friday_before(agent):
    assert (when_to_tell(agent, at(CHICAGO, 2026, 11, 22, 9, 0))  # a Sunday
            == at(CHICAGO, 2026, 11, 23, 9, 0))
    from leadcrm.accounts.hours import deadline_moment

    assert deadline_moment(agent, date(2026, 11, 22)) == at(CHICAGO, 2026, 11, 20, 9, 0)


def test_a_letter_on_another_lien_does_not_close_this_ones_reminders_but_a_newer_one_on_it_does(lead, agent):
    first, second = LienFactory(lead=lead, position=1), LienFactory(lead=lead, position=2)
    approval_letter_record(lien=first, issued_on=date(2026, 11, 10), expires_on=date(2026, 11, 27), actor=agent)
    follow_ups_generate()
    assert len(generated(FollowUpSource.APPROVAL_EXPIRY)) == 2
    with travel(timezone.now() + timedelta(minutes=5)):
        approval_letter_record(lien=second, issued_on=date(2026, 11, 18), expires_on=date(2026, 12, 30), actor=agent)
        follow_ups_generate()
    assert all(f.done_at is None for f in generated(FollowUpSource.APPROVAL_EXPIRY))
    with travel(timezone.now() + timedelta(minutes=10)):
        approval_letter_record(lien=first, issued_on=date(2026, 11, 18), expires_on=date(2026, 12, 18), actor=agent)
        follow_ups_generate()
    first_letters = [f for f in generated(FollowUpSource.APPROVAL_EXPIRY) if f.done_at is not None]
    assert len(first_letters) == 2 and all("newer approval" in f.closed_reason for f in first_letters)


@pytest.mark.parametrize(("expires", "marks"), [(date(2026, 11, 23), {"7", "2"}), (date(2026, 11, 19), {"2"})])
def test_a_letter_recorded_close_to_its_deadline_still_gets_a_reminder_today(expires, marks, lead, agent):
    approval_letter_record(lien=LienFactory(lead=lead, position=1), issued_on=date(2026, 11, 10), expires_on=expires,
                           actor=agent)
    follow_ups_generate()
    assert {f.source_key.rsplit(":", 1)[1] for f in generated(FollowUpSource.APPROVAL_EXPIRY)} == marks


def test_a_valuation_reported_done_or_a_negotiator_replaced_closes_the_follow_up(lead, agent):
    lien = LienFactory(lead=lead, position=1)
    lead.stage = Stage.NEGOTIATE
    lead.save()
    milestone_record(lien=lien, kind=Milestone.VALUATION_ORDERED, occurred_on=date(2026, 11, 12), actor=agent)
    negotiator_assign(lien=lien, name="Pat Quinn", assigned_on=date(2026, 11, 17), actor=agent)
    follow_ups_generate()
    milestone_record(lien=lien, kind=Milestone.VALUATION_COMPLETED, occurred_on=date(2026, 11, 18), actor=agent,
                     amount=Decimal("240000"))
    negotiator_assign(lien=lien, name="Sam Ortiz", assigned_on=date(2026, 11, 18), actor=agent)
    follow_ups_generate()
    [valuation] = generated(FollowUpSource.VALUATION)
    assert valuation.done_at is not None and "done" in valuation.closed_reason
    pat = [f for f in generated(FollowUpSource.NEGOTIATOR) if "Pat Quinn" in f.title]
    assert pat[0].done_at is not None and "replaced" in pat[0].closed_reason


def test_an_approval_letter_expiring_raises_deadlines_7_and_2_days_before(lead, agent):
    lien = LienFactory(lead=lead, position=1)
    approval_letter_record(lien=lien, issued_on=date(2026, 11, 10), expires_on=date(2026, 11, 27), actor=agent,
                           approved_price=Decimal("250000"))
    follow_ups_generate()
    due = [f.due_at for f in generated(FollowUpSource.APPROVAL_EXPIRY)]
    assert due == [at(CHICAGO, 2026, 11, 20, 9, 0), at(CHICAGO, 2026, 11, 25, 9, 0)]


def test_stale_bank_statements_and_a_4506c_near_120_days_ask_for_fresh_ones(lead, agent):
    lead.stage = Stage.QUALIFY
    lead.save()
    checklist_item_update(lead=lead, kind=DocumentKind.BANK_STATEMENTS, actor=agent, status=DocumentStatus.ACCEPTED,
                          dated_on=date(2026, 10, 24))  # 30 days: stale on 23 Nov
    checklist_item_update(lead=lead, kind=DocumentKind.FORM_4506C, actor=agent, status=DocumentStatus.ACCEPTED,
                          dated_on=date(2026, 7, 31))  # 120 days: 28 Nov; ten days before is already past
    follow_ups_generate()
    requests = {f.title.split(" ")[0]: f for f in generated(FollowUpSource.DOCUMENT)}
    assert set(requests) == {"Bank", "IRS"}
    assert requests["Bank"].due_at == at(CHICAGO, 2026, 11, 23, 9, 0)
    assert "goes stale on Nov 23" in requests["Bank"].title
    assert requests["IRS"].due_at == at(CHICAGO, 2026, 11, 18, 9, 0)  # today: ten days before is past
    assert "10 days from stale" in requests["IRS"].title

    # Fresh statements received: the request is closed.
    checklist_item_update(lead=lead, kind=DocumentKind.BANK_STATEMENTS, actor=agent, dated_on=date(2026, 11, 17))
    follow_ups_generate()
    requests["Bank"].refresh_from_db()
    assert requests["Bank"].done_at is not None and "fresher" in requests["Bank"].closed_reason


def test_a_lead_nobody_has_talked_to_for_the_stages_days_gets_a_call_and_contact_closes_it(lead, agent):
    from leads.models import Lead

    Lead.objects.filter(pk=lead.pk).update(stage=Stage.CONTACT, stage_entered_at=timezone.now() - timedelta(days=8),
                                           last_contacted_at=None)
    follow_ups_generate()
    follow_ups_generate()
    [stale] = generated(FollowUpSource.STALE_LEAD)
    assert stale.kind == FollowUpKind.CALL and "7+ days" in stale.title
    Lead.objects.filter(pk=lead.pk).update(last_contacted_at=timezone.now() + timedelta(minutes=1))
    with travel(timezone.now() + timedelta(minutes=5)):
        follow_ups_generate()
    stale.refresh_from_db()
    assert stale.done_at is not None


def test_the_stale_days_are_a_setting_per_stage(lead, agent):
    from leads.models import Lead

    ReminderSettingsFactory(stale_contact_days=0)
    Lead.objects.filter(pk=lead.pk).update(stage=Stage.CONTACT, stage_entered_at=timezone.now() - timedelta(days=60))
    follow_ups_generate()
    assert generated(FollowUpSource.STALE_LEAD) == []


def test_national_dnc_data_25_days_old_tells_the_broker_once(lead, broker, agent):
    old = DncSourceFactory(name="National DNC Registry (old)")
    registry_version_record(source=old, area_codes=["539"], version_date=date(2026, 10, 23))  # 26 days
    assert dnc_refresh_notices() == 1
    assert dnc_refresh_notices() == 0
    [note] = Notification.objects.filter(kind=NotificationKind.COMPLIANCE)
    assert note.recipient == broker and "539" in note.body and "Nov 23" in note.title
    assert not Notification.objects.filter(recipient=agent).exists()


# Delivery -----------------------------------------------------------------------------


def due_now(lead, agent, minutes_ago=5, **kwargs):
    moment = timezone.now() - timedelta(minutes=minutes_ago)
    return FollowUpFactory(lead=lead, assignee=agent, due_at=moment, notify_at=moment, **kwargs)


def test_a_due_reminder_is_told_once_in_the_app_and_by_email(lead, agent):
    follow_up = due_now(lead, agent)
    later = due_now(lead, agent, minutes_ago=-60)
    batches = due_work().reminder_batches
    assert batches == [[follow_up.pk]]
    assert reminders_send(batches[0]) == 1
    assert reminders_send(batches[0]) == 0  # a redelivered batch
    [note] = Notification.objects.filter(recipient=agent)
    assert note.kind == NotificationKind.REMINDER and note.email_state == EmailState.SENT
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [agent.email]
    assert f"/leads/{lead.pk}/" in mail.outbox[0].body
    assert not Notification.objects.filter(follow_up=later).exists()


def test_an_agent_who_turned_email_off_is_told_only_in_the_app(lead, agent):
    user_preferences_update(user=agent, email_reminders=False)
    reminders_send([due_now(lead, agent).pk])
    assert Notification.objects.get().email_state == EmailState.NONE and mail.outbox == []


def test_an_email_claimed_by_a_worker_that_died_is_never_resent(lead, agent):
    reminders_send([due_now(lead, agent).pk])
    note = Notification.objects.get()
    Notification.objects.filter(pk=note.pk).update(email_state=EmailState.SENDING,
                                                   email_claimed_at=timezone.now() - timedelta(minutes=20))
    mail.outbox.clear()
    assert notification_emails_send([note.pk]) == 0
    assert due_work().unknown == 1
    assert Notification.objects.get().email_state == EmailState.UNKNOWN and mail.outbox == []


def test_an_email_left_pending_is_picked_up_by_the_next_dispatch(lead, agent):
    note = NotificationFactory(recipient=agent, email_state=EmailState.PENDING,
                               created_at=timezone.now() - timedelta(minutes=5))
    assert due_work().email_batches == [[note.pk]]
    assert notification_emails_send([note.pk]) == 1 and notification_emails_send([note.pk]) == 0


def test_an_open_follow_up_goes_to_the_team_lead_a_day_after_the_agent_was_told_once(lead, agent, team_lead):
    follow_up = due_now(lead, agent, minutes_ago=60)  # due Wed 13:00, told Wed 14:00 Central
    assert due_work().escalation_batches == []  # never escalated before the agent was told
    reminders_send([follow_up.pk])
    follow_up.refresh_from_db()
    assert abs(follow_up.escalate_at - at(CHICAGO, 2026, 11, 19, 14, 0)) < timedelta(seconds=5)  # the clock ticks
    assert due_work().escalation_batches == []
    with travel(at(CHICAGO, 2026, 11, 19, 14, 5)):
        [batch] = due_work().escalation_batches
        assert batch == [follow_up.pk]
        assert escalations_send(batch) == 1 and escalations_send(batch) == 0
    [note] = Notification.objects.filter(kind=NotificationKind.ESCALATION)
    assert note.recipient == team_lead and "Overdue 25 h" in note.title and str(agent) in note.body


def test_an_escalation_waits_for_the_team_leads_working_hours(lead, agent, team_lead):
    with travel(at(CHICAGO, 2026, 11, 20, 17, 30)):  # Friday afternoon
        follow_up = due_now(lead, agent, minutes_ago=0)
        reminders_send([follow_up.pk])
    follow_up.refresh_from_db()
    assert follow_up.escalate_at == at(CHICAGO, 2026, 11, 23, 9, 0)  # Monday, not Saturday 17:30


def test_the_escalation_delay_is_a_setting(lead, agent):
    ReminderSettingsFactory(escalate_after_hours=48)
    follow_up = due_now(lead, agent, minutes_ago=60)
    reminders_send([follow_up.pk])
    follow_up.refresh_from_db()
    assert abs(follow_up.escalate_at - at(CHICAGO, 2026, 11, 20, 14, 0)) < timedelta(seconds=5)


def test_nobody_above_the_agent_means_no_escalation(lead, agent, team):
    from leadcrm.accounts.models import TeamMembership

    TeamMembership.objects.filter(user=agent).delete()
    follow_up = due_now(lead, agent)
    reminders_send([follow_up.pk])
    follow_up.refresh_from_db()
    assert follow_up.escalate_at is None


def test_a_follow_up_reassigned_after_it_was_told_is_told_to_the_new_agent(lead, agent, team, team_lead):
    from leadcrm.accounts.services import team_member_set
    from leads.routing import lead_route_to

    from ...leadcrm.factories import AgentFactory

    follow_up = due_now(lead, agent)
    reminders_send([follow_up.pk])
    ben = AgentFactory(first_name="Ben", time_zone="America/New_York")
    team_member_set(team=team, user=ben)
    with travel(at(CHICAGO, 2026, 11, 18, 23, 0)):  # midnight in New York
        lead_route_to(lead=lead, agent=ben, actor=team_lead)
    follow_up.refresh_from_db()
    assert follow_up.notify_at == at(NEW_YORK, 2026, 11, 19, 9, 0)  # within Ben's hours, his zone
    with travel(at(NEW_YORK, 2026, 11, 19, 9, 1)):
        assert reminders_send([follow_up.pk]) == 1
    assert Notification.objects.filter(follow_up=follow_up, recipient=ben).count() == 1
    assert Notification.objects.filter(follow_up=follow_up, recipient=agent).count() == 1


def test_a_deadline_raised_late_in_the_evening_is_told_the_next_working_morning(lead, agent):
    lien = LienFactory(lead=lead, position=1)
    lead.stage = Stage.NEGOTIATE
    lead.save()
    milestone_record(lien=lien, kind=Milestone.PACKAGE_SUBMITTED, occurred_on=date(2026, 11, 10), actor=agent)
    with travel(at(CHICAGO, 2026, 11, 20, 22, 23)):  # Friday night
        follow_ups_generate()
    [chase] = generated(FollowUpSource.LENDER_CHASE)
    assert chase.due_at == at(CHICAGO, 2026, 11, 20, 9, 0)  # for today: it is late already
    assert chase.notify_at == at(CHICAGO, 2026, 11, 23, 9, 0)  # told Monday morning, not at 22:23


def test_moving_a_lead_to_dead_closes_its_follow_ups(lead, agent):
    from pipeline.deals.services import lead_stage_change

    follow_up = due_now(lead, agent)
    lead_stage_change(lead=lead, to_stage=Stage.DEAD, actor=agent, dead_reason="not_interested")
    follow_up.refresh_from_db()
    assert follow_up.done_at is not None and "Dead" in follow_up.closed_reason
    assert due_work().reminder_batches == []


class FailingBackend:
    """An SMTP server that is down."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


def test_an_email_the_server_refused_is_tried_again_then_marked_failed(lead, agent, settings):
    settings.EMAIL_BACKEND = "tests.pipeline.reminders.test_reminders.FailingBackend"
    reminders_send([due_now(lead, agent).pk])
    note = Notification.objects.get()
    assert (note.email_state, note.email_attempts) == (EmailState.PENDING, 1)
    notification_emails_send([note.pk])
    notification_emails_send([note.pk])
    note.refresh_from_db()
    assert (note.email_state, note.email_attempts) == (EmailState.FAILED, 3)
    assert notification_emails_send([note.pk]) == 0  # failed stays failed; the in-app copy is there


def test_the_digest_leaves_out_a_lead_the_agent_no_longer_sees(lead, agent, other_agent):
    from leads.models import Lead

    FollowUpFactory(lead=lead, assignee=agent, due_at=at(CHICAGO, 2026, 11, 19, 10, 0))
    Lead.objects.filter(pk=lead.pk).update(assigned_agent=other_agent, team=None)
    with travel(at(CHICAGO, 2026, 11, 19, 7, 30)):
        assert digests_send() == 0


def test_the_digest_goes_at_730_in_each_agents_zone_once_a_day(lead, agent, team, other_agent, other_lead):
    other_agent.time_zone = "America/Los_Angeles"
    other_agent.save()
    FollowUpFactory(lead=lead, assignee=agent, title="Call at ten", due_at=at(CHICAGO, 2026, 11, 19, 10, 0))
    FollowUpFactory(lead=other_lead, assignee=other_agent, due_at=at(LOS_ANGELES, 2026, 11, 19, 11, 0))
    ForeclosureRecordFactory(lead=lead, auction_date=date(2026, 11, 24))
    with travel(at(CHICAGO, 2026, 11, 19, 7, 15)):
        assert digests_send() == 0
    with travel(at(CHICAGO, 2026, 11, 19, 7, 30)):
        assert digests_send() == 1
    with travel(at(CHICAGO, 2026, 11, 19, 7, 45)):
        assert digests_send() == 0
    with travel(at(LOS_ANGELES, 2026, 11, 19, 7, 30)):
        assert digests_send() == 1
    mine = Notification.objects.get(recipient=agent, kind=NotificationKind.DIGEST)
    assert "10:00 AM  Call at ten" in mine.body and "Auction" in mine.body and "Tue Nov 24" in mine.body
    assert mine.title.startswith("Your day: 1 follow-up")
    assert Notification.objects.filter(recipient=other_agent, kind=NotificationKind.DIGEST).count() == 1
    assert len([m for m in mail.outbox if "Your day" in m.subject]) == 2


def test_no_digest_when_there_is_nothing_to_say(agent):
    with travel(at(CHICAGO, 2026, 11, 19, 7, 30)):
        assert digests_send() == 0


def test_a_follow_up_moved_in_the_admin_is_told_again_at_its_new_time(lead, agent, broker, client_as):
    from django.urls import reverse

    follow_up = due_now(lead, agent)
    reminders_send([follow_up.pk])
    response = client_as(broker).post(reverse("admin:pipeline_followup_change", args=[follow_up.pk]), {
        "lead": lead.pk, "assignee": agent.pk, "kind": "call", "title": follow_up.title, "notes": "",
        "due_at_0": "2026-11-19", "due_at_1": "10:00:00", "done_at_0": "", "done_at_1": "", "closed_reason": "",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    follow_up.refresh_from_db()
    assert follow_up.notified_at is None and follow_up.notify_at == at(CHICAGO, 2026, 11, 19, 10, 0)
    with travel(at(CHICAGO, 2026, 11, 19, 10, 1)):
        assert reminders_send([follow_up.pk]) == 1
    assert Notification.objects.filter(follow_up=follow_up).count() == 2


def test_a_quiet_lead_with_a_call_already_planned_is_not_flagged(lead, agent):
    from leads.models import Lead

    Lead.objects.filter(pk=lead.pk).update(stage=Stage.CONTACT, stage_entered_at=timezone.now() - timedelta(days=30))
    make_call(lead, agent, at(CHICAGO, 2026, 11, 23, 10, 0))
    follow_ups_generate()
    assert generated(FollowUpSource.STALE_LEAD) == []


def test_a_reminder_for_a_lead_now_someone_elses_tells_the_old_assignee_nothing(lead, agent, other_agent):
    from leads.models import Lead

    follow_up = due_now(lead, agent)
    Lead.objects.filter(pk=lead.pk).update(assigned_agent=other_agent, team=None)
    assert reminders_send([follow_up.pk]) == 1  # handled: it will not come round again
    assert not Notification.objects.exists()
    follow_up.refresh_from_db()
    assert follow_up.notified_at is not None


def test_a_reminder_handed_out_is_not_handed_out_again_until_it_looks_lost(lead, agent):
    follow_up = due_now(lead, agent)
    assert due_work().reminder_batches == [[follow_up.pk]]
    assert due_work().reminder_batches == []  # still queued: not again a minute later
    assert due_work(timezone.now() + timedelta(minutes=6)).reminder_batches == [[follow_up.pk]]
