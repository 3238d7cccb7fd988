"""Running a plan's steps through the gate at their moment, at frozen times."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from compliance.models import Channel, Direction
from compliance.services import internal_dnc_add, registry_version_record
from leads.models import Stage
from pipeline.deals.services import lead_stage_change
from pipeline.models import (
    EnrollmentStatus,
    FollowUp,
    FollowUpKind,
    FollowUpSource,
    Message,
    MessageStatus,
    Outcome,
    OutreachAttempt,
    PauseReason,
    PlanStepRun,
    RunStatus,
    StepAnchor,
)
from pipeline.outreach.services import outreach_log
from pipeline.plans.runner import due_work, responses_sweep, step_run, steps_run
from pipeline.plans.services import (
    ALREADY_IN_PLAN,
    StepInput,
    enrollment_end,
    enrollment_pause,
    enrollment_resume,
    lead_enroll,
    lead_stage_moved,
    plan_delete,
    plan_enrollments_reschedule,
    plan_save,
)
from tests.compliance.factories import ConsentRecordFactory, ReassignedNumberCheckFactory
from tests.leads.factories import (
    ContactFactory,
    ForeclosureRecordFactory,
    LeadFactory,
    PhoneFactory,
    PropertyFactory,
)

from .conftest import all_day, call_step, email_step, text_step


def _runs(enrollment):
    return list(PlanStepRun.objects.filter(enrollment=enrollment).order_by("position"))


def _lead_in(*, state: str, zip_code: str, city: str, number: str, agent, team, national_registry):
    """A lead whose house, mailing address and consented mobile are all in one state."""
    registry_version_record(source=national_registry, area_codes=[number[2:5]],
                            version_date=(timezone.now() - timedelta(days=5)).date())
    lead = LeadFactory(assigned_agent=agent, team=team,
                       property=PropertyFactory(state=state, zip_code=zip_code, city=city))
    owner = ContactFactory(lead=lead, mailing_state=state, mailing_zip=zip_code, mailing_city=city)
    phone = PhoneFactory(contact=owner, number=number)
    ConsentRecordFactory(phone=phone)
    ReassignedNumberCheckFactory(phone=phone)
    return lead


# Sent, timed, one step at a time ----------------------------------------------------------------


def test_zero_delays_still_run_one_step_at_a_time(lead, agent, textable, local_provider, make_plan):
    plan = make_plan(text_step(), text_step(body="[Agent First Name] at [Brokerage] again."), call_step())
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)

    assert step_run(enrollment_id=enrollment.pk) == RunStatus.SENT
    assert [run.status for run in _runs(enrollment)] == [RunStatus.SENT]
    enrollment.refresh_from_db()
    assert enrollment.last_position == 0 and enrollment.next_due_at <= timezone.now()

    assert step_run(enrollment_id=enrollment.pk) == RunStatus.SENT
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.TASK
    assert [run.status for run in _runs(enrollment)] == [RunStatus.SENT, RunStatus.SENT, RunStatus.TASK]
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.FINISHED and enrollment.next_due_at is None
    assert OutreachAttempt.objects.filter(lead=lead, channel=Channel.SMS).count() == 2


def test_a_step_already_run_is_never_run_again(lead, agent, textable, local_provider, make_plan):
    plan = make_plan(text_step(), call_step(delay_days=3))
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.SENT
    # A redelivered task for the same enrollment: nothing is due, nothing is sent.
    assert steps_run([enrollment.pk, enrollment.pk]) == {"not due": 2}
    assert Message.objects.filter(lead=lead).count() == 1


def test_email_step_is_logged_and_sent_with_the_role_disclosed(lead, agent, owner_email, mailable_brokerage,
                                                               make_plan, mailoutbox):
    plan = make_plan(email_step())
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.SENT
    run = _runs(enrollment)[0]
    assert run.attempt.channel == Channel.EMAIL and run.attempt.role_disclosed
    assert len(mailoutbox) == 1 and "Ana Torres is a licensed" in mailoutbox[0].body
    assert "Checking in" == mailoutbox[0].subject


def test_task_step_raises_a_call_follow_up_inside_the_calling_hours(lead, agent, textable, make_plan):
    # 20:30 in Tulsa: the call is due when Oklahoma's calling hours open (08:00), not now.
    with time_machine.travel(datetime(2026, 11, 19, 2, 30, tzinfo=UTC), tick=False):
        plan = make_plan(call_step(window_start=time(0, 0), window_end=time(23, 59)))
        enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
        assert step_run(enrollment_id=enrollment.pk) == RunStatus.TASK
    follow_up = FollowUp.objects.get(lead=lead, source=FollowUpSource.ACTION_PLAN)
    assert follow_up.kind == FollowUpKind.CALL and follow_up.title == f"Call {lead.contacts.first().first_name}"
    assert follow_up.due_at == datetime(2026, 11, 19, 14, 0, tzinfo=UTC)  # 08:00 CST
    assert _runs(enrollment)[0].follow_up == follow_up


# The gate at the step's moment --------------------------------------------------------------------


def test_refused_by_the_gate_is_skipped_with_the_rules_and_the_plan_goes_on(lead, agent, make_plan):
    # No written consent to texts on file (D5): the text is refused, the call task still comes.
    plan = make_plan(text_step(), call_step())
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.SKIPPED
    run = _runs(enrollment)[0]
    assert "D5" in run.rules and run.reason.startswith("Skipped: the compliance gate refused it. D5:")
    assert not Message.objects.filter(lead=lead).exists()
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.TASK


def test_a_stop_ends_the_texts_of_the_plan_and_not_its_other_steps(lead, agent, textable, local_provider, make_plan):
    plan = make_plan(text_step(), call_step(), text_step(body="[Agent Name], [Brokerage]: still here."))
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.SENT
    internal_dnc_add(channel=Channel.SMS, phone_number=textable.number, homeowner_words="stop texting me",
                     recorded_by=agent, lead=lead, requested_at=timezone.now())

    assert step_run(enrollment_id=enrollment.pk) == RunStatus.TASK
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.SKIPPED
    run = _runs(enrollment)[2]
    assert "B1" in run.rules
    enrollment.refresh_from_db()
    assert Channel.SMS in enrollment.ended_channels


def test_a_stop_said_on_a_call_ends_the_plans_texts_at_once(lead, agent, textable, local_provider, make_plan):
    plan = make_plan(text_step(), text_step(delay_days=2))
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    step_run(enrollment_id=enrollment.pk)
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=textable, outcome=Outcome.DNC_REQUEST, actor=agent,
                 role_disclosed=True, homeowner_words="Please stop calling me")
    enrollment.refresh_from_db()
    assert enrollment.ended_channels[Channel.SMS].startswith("the homeowner asked to stop (phone call)")
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        assert step_run(enrollment_id=enrollment.pk) == RunStatus.SKIPPED
    assert _runs(enrollment)[1].reason.startswith("Skipped: text message ended for this plan")


def test_refused_only_by_the_hour_waits_for_the_next_lawful_moment(agent, team, national_registry, local_provider,
                                                                    make_plan):
    # Miami: Florida's calling hours are 08:00-20:00 (E1). Due at 19:00, run at 20:30 by a
    # backlogged worker: the text waits until 08:00 the next morning, then goes.
    lead = _lead_in(state="FL", zip_code="33101", city="Miami", number="+13055550142", agent=agent, team=team,
                    national_registry=national_registry)
    with time_machine.travel(datetime(2026, 11, 19, 0, 0, tzinfo=UTC), tick=False):  # 19:00 EST
        enrollment = lead_enroll(lead=lead, plan=make_plan(all_day(text_step())), actor=agent)
        assert enrollment.next_due_at == datetime(2026, 11, 19, 0, 0, tzinfo=UTC)
    with time_machine.travel(datetime(2026, 11, 19, 1, 30, tzinfo=UTC), tick=False):  # 20:30 EST
        assert step_run(enrollment_id=enrollment.pk) == "wait"
    enrollment.refresh_from_db()
    assert enrollment.next_due_at == datetime(2026, 11, 19, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert not PlanStepRun.objects.filter(enrollment=enrollment).exists()
    with time_machine.travel(datetime(2026, 11, 19, 13, 0, 30, tzinfo=UTC), tick=False):
        assert step_run(enrollment_id=enrollment.pk) == RunStatus.SENT


def test_a_sunday_in_a_state_without_sunday_calls_waits_for_monday(agent, team, national_registry, local_provider,
                                                                    make_plan):
    # Alabama forbids solicitation calls on Sundays (E1): enrolled on Sunday afternoon, the
    # text is timed for Monday 09:00 Central, the start of its window.
    lead = _lead_in(state="AL", zip_code="35203", city="Birmingham", number="+12055550111", agent=agent, team=team,
                    national_registry=national_registry)
    sunday = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # 14:00 CST
    with time_machine.travel(sunday, tick=False):
        enrollment = lead_enroll(lead=lead, plan=make_plan(text_step()), actor=agent)
        assert enrollment.next_due_at == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
        # Forced due on the Sunday (a due time written before the rule): the gate still says no.
        type(enrollment).objects.filter(pk=enrollment.pk).update(next_due_at=sunday)
        assert step_run(enrollment_id=enrollment.pk) == "wait"
        enrollment.refresh_from_db()
        assert enrollment.next_due_at == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def test_the_window_is_read_in_every_zone_the_homeowner_may_be_in(agent, team, national_registry, local_provider,
                                                                   make_plan):
    # A house in Los Angeles, a New York number: 09:00-17:00 in both is 12:00-17:00 Eastern.
    registry_version_record(source=national_registry, area_codes=["212"],
                            version_date=(timezone.now() - timedelta(days=5)).date())
    lead = LeadFactory(assigned_agent=agent, team=team,
                       property=PropertyFactory(state="CA", zip_code="90012", city="Los Angeles"))
    owner = ContactFactory(lead=lead, mailing_state="CA", mailing_zip="90012", mailing_city="Los Angeles")
    phone = PhoneFactory(contact=owner, number="+12125550199")
    ConsentRecordFactory(phone=phone)
    ReassignedNumberCheckFactory(phone=phone)
    with time_machine.travel(datetime(2026, 11, 18, 14, 30, tzinfo=UTC), tick=False):  # 09:30 EST, 06:30 PST
        enrollment = lead_enroll(lead=lead, plan=make_plan(text_step()), actor=agent)
    assert enrollment.next_due_at == datetime(2026, 11, 18, 17, 0, tzinfo=UTC)  # 09:00 PST = 12:00 EST


def test_steps_keyed_on_a_date_keep_local_time_across_the_change_from_daylight_time(lead, agent, textable,
                                                                                    make_plan):
    # Auction on Tue Nov 3, 2026; a call 2 days before falls on Sun Nov 1, the day daylight
    # time ends: 09:00 CST that day is 15:00 UTC (it was 14:00 UTC the day before).
    ForeclosureRecordFactory(lead=lead, auction_date=date(2026, 11, 3))
    with time_machine.travel(datetime(2026, 10, 20, 15, 0, tzinfo=UTC), tick=False):
        plan = make_plan(call_step(anchor=StepAnchor.KEY_DATE, delay_days=2), key_date="auction")
        enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert enrollment.key_date == date(2026, 11, 3)
    assert enrollment.next_due_at == datetime(2026, 11, 1, 15, 0, tzinfo=UTC)


def test_a_step_whose_date_had_passed_when_enrolled_is_skipped_not_sent_late(lead, agent, textable, make_plan):
    ForeclosureRecordFactory(lead=lead, auction_date=date(2026, 11, 25))
    plan = make_plan(call_step(anchor=StepAnchor.KEY_DATE, delay_days=30),
                     call_step(anchor=StepAnchor.KEY_DATE, delay_days=3, subject="Call again"), key_date="auction")
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)  # Nov 18: the 30-day mark is long past
    first = _runs(enrollment)[0]
    assert first.status == RunStatus.SKIPPED
    assert "30 days before auction date Nov 25, 2026" in first.reason
    assert enrollment.next_due_at == datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 09:00 CST, 3 days before


def test_a_plan_keyed_on_a_date_is_refused_for_a_lead_without_one(lead, agent, make_plan):
    plan = make_plan(call_step(anchor=StepAnchor.KEY_DATE, delay_days=3), key_date="auction")
    with pytest.raises(ValidationError, match="no auction date ahead"):
        lead_enroll(lead=lead, plan=plan, actor=agent)


# Pauses --------------------------------------------------------------------------------------------


@pytest.fixture
def running(lead, agent, textable, local_provider, make_plan):
    plan = make_plan(text_step(), text_step(delay_days=2), stages=[Stage.LIST, Stage.CONTACT])
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.SENT
    return enrollment


def _paused(enrollment, reason):
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.PAUSED, enrollment.status
    assert enrollment.pause_reason == reason
    assert enrollment.next_due_at is None
    return enrollment


def test_an_email_reply_pauses_the_plan(running, lead, agent, owner_email):
    outreach_log(lead=lead, channel=Channel.EMAIL, contact_point=owner_email, outcome=Outcome.REPLIED, actor=agent,
                 role_disclosed=True, direction=Direction.INBOUND, notes="Can you call me Friday?")
    assert _paused(running, PauseReason.INBOUND_EMAIL).pause_detail == "Can you call me Friday?"


def test_a_logged_conversation_pauses_the_plan(running, lead, agent, textable):
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=textable, outcome=Outcome.TALKED, actor=agent,
                 role_disclosed=True)
    _paused(running, PauseReason.CONVERSATION)


def test_a_long_call_pauses_the_plan_when_the_provider_reports_its_length(running, lead, agent):
    Message.objects.create(channel=Channel.CALL, direction=Direction.OUTBOUND, provider="local", lead=lead,
                           agent=agent, to_address="+19185550104", status=MessageStatus.COMPLETED,
                           duration_seconds=95)
    assert responses_sweep(timezone.now()) == 1
    assert _paused(running, PauseReason.LONG_CALL).pause_detail == "1 min 35 s"


def test_a_short_call_does_not_pause_the_plan(running, lead, agent):
    Message.objects.create(channel=Channel.CALL, direction=Direction.OUTBOUND, provider="local", lead=lead,
                           agent=agent, to_address="+19185550104", status=MessageStatus.COMPLETED,
                           duration_seconds=20)
    assert responses_sweep(timezone.now()) == 0


def test_a_stage_move_out_of_the_plans_stages_pauses_it(running, lead, agent):
    # Moved where the plan is not for (as the admin or an import may): the runner pauses it
    # instead of sending the next step.
    type(lead).objects.filter(pk=lead.pk).update(stage=Stage.QUALIFY)
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        assert step_run(enrollment_id=running.pk) == "paused"
    assert "outside the plan's stages (List, Contact)" in _paused(running, PauseReason.STAGE).pause_detail


def test_a_stage_change_pauses_the_plan_at_once(running, lead):
    lead.stage = Stage.NEGOTIATE
    assert lead_stage_moved(lead=lead, at=timezone.now()) == 1
    _paused(running, PauseReason.STAGE)


def test_a_plan_set_not_to_pause_keeps_going_after_a_reply(lead, agent, textable, local_provider, make_plan):
    plan = make_plan(text_step(), text_step(), pause_on_response=False)
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    step_run(enrollment_id=enrollment.pk)
    outreach_log(lead=lead, channel=Channel.SMS, contact_point=textable, outcome=Outcome.REPLIED, actor=agent,
                 role_disclosed=True, direction=Direction.INBOUND, notes="ok thanks")
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE


def test_resume_counts_the_next_step_from_the_resume_moment(running, lead, agent):
    outreach_log(lead=lead, channel=Channel.SMS, contact_point=lead.contacts.first().phones.first(),
                 outcome=Outcome.REPLIED, actor=agent, role_disclosed=True, direction=Direction.INBOUND,
                 notes="Not now, maybe in spring")
    _paused(running, PauseReason.INBOUND_TEXT)
    later = timezone.now() + timedelta(days=10)
    with time_machine.travel(later, tick=False):
        resumed = enrollment_resume(enrollment=running, actor=agent)
    assert resumed.status == EnrollmentStatus.ACTIVE
    # Two days after the resume (not after the first text, which would be long past).
    assert resumed.next_due_at.date() == (later + timedelta(days=2)).date()
    # The reply before the resume does not pause it again.
    with time_machine.travel(resumed.next_due_at + timedelta(minutes=1), tick=False):
        assert step_run(enrollment_id=resumed.pk) == RunStatus.SENT


def test_paused_by_hand_nothing_runs_until_resumed(running, agent):
    enrollment_pause(enrollment=running, actor=agent)
    with time_machine.travel(timezone.now() + timedelta(days=5), tick=False):
        assert step_run(enrollment_id=running.pk) == "not due"
        assert due_work().batches == []


# Edits, deletion, stopping -----------------------------------------------------------------------


def test_an_edit_applies_to_the_steps_not_yet_run(running, agent):
    plan = running.plan
    first, second = plan.steps.order_by("position")
    plan_save(actor=agent, plan=plan, name=plan.name, stages=plan.stages, steps=[
        StepInput.of(first),
        StepInput(kind="text", body="[Agent Name] of [Brokerage] here: new words.", delay_days=5, pk=second.pk),
    ])
    assert plan_enrollments_reschedule(plan_id=plan.pk) == 1
    running.refresh_from_db()
    assert running.next_due_at.date() == (timezone.now() + timedelta(days=5)).date()
    assert _runs(running)[0].status == RunStatus.SENT  # what ran stays as it ran
    with time_machine.travel(running.next_due_at + timedelta(minutes=1), tick=False):
        assert step_run(enrollment_id=running.pk) == RunStatus.SENT
    assert Message.objects.filter(lead=running.lead).order_by("pk").last().body.endswith("new words.")


def test_an_edit_the_runner_meets_before_the_reschedule_times_the_step_again(running, agent):
    plan = running.plan
    first, second = plan.steps.order_by("position")
    plan_save(actor=agent, plan=plan, name=plan.name, stages=plan.stages,
              steps=[StepInput.of(first),
                     StepInput(kind="text", body="[Agent Name], [Brokerage].", delay_days=9, pk=second.pk)])
    running.refresh_from_db()
    with time_machine.travel(running.next_due_at + timedelta(minutes=1), tick=False):
        assert step_run(enrollment_id=running.pk) == "rescheduled"
    running.refresh_from_db()
    assert running.next_due_at.date() == (timezone.now() + timedelta(days=9)).date()


def test_a_plan_deleted_while_running_cancels_its_pending_steps_saying_why(running, agent):
    assert plan_delete(plan=running.plan, actor=agent) == 1
    running.refresh_from_db()
    assert running.status == EnrollmentStatus.ENDED
    cancelled = _runs(running)[1]
    assert cancelled.status == RunStatus.CANCELLED
    assert cancelled.reason.startswith("Cancelled: The plan “Nurture” was deleted by Ana Torres on Nov 18, 2026")


def test_stopping_a_plan_by_hand_cancels_the_rest(running, agent):
    enrollment_end(enrollment=running, actor=agent)
    assert _runs(running)[1].reason == "Cancelled: Stopped by Ana Torres."


def test_a_lead_is_in_a_plan_once_at_a_time(running, lead, agent):
    with pytest.raises(ValidationError) as refused:
        lead_enroll(lead=lead, plan=running.plan, actor=agent)
    assert refused.value.messages == [ALREADY_IN_PLAN.format(plan="Nurture")]
    enrollment_end(enrollment=running, actor=agent)
    assert lead_enroll(lead=lead, plan=running.plan, actor=agent).status == EnrollmentStatus.ACTIVE


def test_a_closed_or_dead_lead_leaves_its_plans(running, lead, agent):
    lead_stage_change(lead=lead, to_stage=Stage.DEAD, actor=agent, dead_reason="not_interested")
    running.refresh_from_db()
    assert running.status == EnrollmentStatus.ENDED and running.end_reason == "The lead moved to Dead."


# Crashes ------------------------------------------------------------------------------------------


def test_a_worker_killed_before_the_send_committed_leaves_the_step_to_be_taken_again(lead, agent, textable,
                                                                                     local_provider, make_plan):
    plan = make_plan(text_step())
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    # What a worker leaves when killed after its claim and its "running" row, before the log.
    type(enrollment).objects.filter(pk=enrollment.pk).update(claimed_at=timezone.now())
    PlanStepRun.objects.create(enrollment=enrollment, step=plan.steps.get(), lead=lead, position=0, kind="text",
                               status=RunStatus.RUNNING, due_at=timezone.now())
    assert step_run(enrollment_id=enrollment.pk) == "not due"  # claimed: nobody else runs it
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        assert step_run(enrollment_id=enrollment.pk) == RunStatus.SENT
    assert Message.objects.filter(lead=lead).count() == 1
    assert PlanStepRun.objects.get(enrollment=enrollment).attempt is not None


def test_a_worker_killed_after_the_send_committed_never_sends_again(lead, agent, textable, local_provider, make_plan):
    plan = make_plan(text_step(), call_step(delay_days=1))
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.SENT
    sent_at = PlanStepRun.objects.get(enrollment=enrollment, position=0).ran_at
    # As if the worker died after the text's transaction, before the enrollment moved on.
    type(enrollment).objects.filter(pk=enrollment.pk).update(
        last_position=-1, last_run_at=None, next_due_at=timezone.now(), next_step=plan.steps.get(position=0),
        claimed_at=timezone.now() - timedelta(minutes=11))
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        # The run it finds is the text's, done: the plan moves on, nothing is sent.
        assert step_run(enrollment_id=enrollment.pk) == "rescheduled"
    assert Message.objects.filter(lead=lead).count() == 1
    enrollment.refresh_from_db()
    assert enrollment.last_position == 0 and enrollment.next_step == plan.steps.get(position=1)
    assert enrollment.next_due_at >= sent_at + timedelta(days=1)  # the call's delay counts from the text


def test_due_work_hands_each_due_enrollment_out_once_until_it_is_stale(running):
    with time_machine.travel(timezone.now() + timedelta(days=2, hours=1), tick=False):
        first = due_work()
        assert first.batches == [[running.pk]]
        assert due_work().batches == []
    with time_machine.travel(timezone.now() + timedelta(days=2, hours=1, minutes=6), tick=False):
        assert due_work().batches == [[running.pk]]


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_batch_send_each_step_once(lead, agent, textable, local_provider, make_plan):
    import threading

    from django.db import connection

    plan = make_plan(text_step(), call_step(delay_days=1))
    enrollments = [lead_enroll(lead=lead, plan=plan, actor=agent)]
    other = LeadFactory(assigned_agent=agent, team=lead.team)
    phone = PhoneFactory(contact=ContactFactory(lead=other), number="+19185550177")
    ConsentRecordFactory(phone=phone)
    ReassignedNumberCheckFactory(phone=phone)
    enrollments.append(lead_enroll(lead=other, plan=plan, actor=agent))
    ids = [enrollment.pk for enrollment in enrollments]
    results, start = [], threading.Barrier(2)

    def worker():
        try:
            start.wait()
            results.append(steps_run(ids))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result.get(RunStatus.SENT, 0) for result in results) == 2
    assert Message.objects.filter(lead__in=[lead, other]).count() == 2
    assert PlanStepRun.objects.filter(enrollment_id__in=ids).count() == 2


def test_removing_a_step_already_run_does_not_skip_the_next_one(lead, agent, textable, local_provider, make_plan):
    plan = make_plan(call_step(subject="First call"), call_step(subject="Second call"),
                     call_step(subject="Third call", delay_days=2))
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.TASK
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.TASK
    first, second, third = plan.steps.order_by("position")
    plan_save(actor=agent, plan=plan, name=plan.name, steps=[StepInput.of(second), StepInput.of(third)])
    assert plan_enrollments_reschedule(plan_id=plan.pk) == 1
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE and enrollment.last_position == 0
    with time_machine.travel(enrollment.next_due_at + timedelta(minutes=1), tick=False):
        assert step_run(enrollment_id=enrollment.pk) == RunStatus.TASK
    assert FollowUp.objects.filter(lead=lead, source=FollowUpSource.ACTION_PLAN, title="Third call").exists()


def test_do_not_contact_at_all_ends_the_plans_calls_but_not_its_lender_tasks(lead, agent, textable, local_provider,
                                                                             make_plan):
    lender = StepInput(kind="task", task_kind="lender", subject="Ask the lender for the BPO date")
    plan = make_plan(call_step(), lender)
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=textable, outcome=Outcome.DO_NOT_CONTACT,
                 actor=agent, role_disclosed=True, homeowner_words="Never contact me again, any way")
    enrollment.refresh_from_db()
    assert set(enrollment.ended_channels) == {Channel.SMS, Channel.EMAIL, Channel.MAIL, Channel.CALL}
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.SKIPPED
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.TASK
    assert list(FollowUp.objects.filter(lead=lead, source=FollowUpSource.ACTION_PLAN).values_list("kind", flat=True)) \
        == [FollowUpKind.LENDER]


def test_an_inbound_call_logged_pauses_as_a_conversation(running, lead, agent, textable):
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=textable, outcome=Outcome.TALKED, actor=agent,
                 role_disclosed=True, direction=Direction.INBOUND)
    _paused(running, PauseReason.CONVERSATION)


def test_a_step_another_worker_is_running_is_left_to_it(lead, agent, textable, local_provider, make_plan):
    plan = make_plan(text_step())
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    # Worker A wrote its run a moment ago; a pause and a resume cleared the claim under it.
    PlanStepRun.objects.create(enrollment=enrollment, step=plan.steps.get(), lead=lead, position=0, kind="text",
                               status=RunStatus.RUNNING, due_at=timezone.now())
    assert step_run(enrollment_id=enrollment.pk) == "busy"
    assert not Message.objects.filter(lead=lead).exists()


def test_a_runs_title_names_the_lead_not_the_merge_field(lead, agent, owner_email, mailable_brokerage, make_plan):
    plan = make_plan(email_step(subject="Checking in on [Property Address]"))
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.SENT
    run = _runs(enrollment)[0]
    assert run.title == f"Step 1: send an email “Checking in on {lead.property.street_line}”"
    assert "[Property Address]" not in run.reason
