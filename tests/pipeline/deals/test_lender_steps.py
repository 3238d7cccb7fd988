"""Recording a lender file's steps: the next step offered, a step back asked first, and a
step recorded by mistake struck out by a correction that everything reading where a file
stands honours (the lien stack, the timeline, the stage rules, the seller's page, the
reminders, the turnaround report). Frozen at Wednesday 18 November 2026 (conftest)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from leadcrm.shared.append_only import AppendOnlyError
from leads.models import Stage
from pipeline.deals.documents import checklist_item_update
from pipeline.deals.lenders import (
    ALREADY_STRUCK_OUT,
    APPROVAL_NOT_STRUCK,
    BACKWARD_STEP,
    CORRECTION_NEEDS_REASON,
    BackwardStep,
    approval_letter_record,
    lien_stack,
    milestone_correct,
    milestone_record,
)
from pipeline.deals.services import StageChangeRefused, lead_stage_change
from pipeline.models import (
    DocumentKind,
    DocumentStatus,
    FollowUp,
    FollowUpSource,
    LenderMilestone,
    Milestone,
)
from pipeline.reminders.rules import follow_ups_generate
from pipeline.reports.lenders import lender_turnaround
from pipeline.reports.period import Period
from pipeline.seller.status import lender_progress
from pipeline.workspace.selectors import lead_activity

from ...leads.factories import LeadFactory, LienFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 18)


def record(lien, kind, on, agent, **kwargs):
    return milestone_record(lien=lien, kind=kind, occurred_on=on, actor=agent, **kwargs)


@pytest.fixture
def submitted(lead, agent):
    """A first lien whose file went out on Nov 12: authorization sent, received, package in."""
    lien = LienFactory(lead=lead, position=1, lender="Mr. Cooper", balance=Decimal("300000"))
    record(lien, Milestone.AUTHORIZATION_SENT, date(2026, 11, 1), agent)
    record(lien, Milestone.AUTHORIZATION_RECEIVED, date(2026, 11, 3), agent)
    package = record(lien, Milestone.PACKAGE_SUBMITTED, date(2026, 11, 12), agent)
    return lien, package


def lenders_page(client, lead):
    return client.get(reverse("pipeline:lenders", args=[lead.pk]))


def post_step(client, lead, lien, kind, **extra):
    prefix = f"lien{lien.pk}"
    data = {"action": "milestone", "lien": lien.pk, f"{prefix}-kind": kind, f"{prefix}-occurred_on": "2026-11-18",
            **{f"{prefix}-{name}": value for name, value in extra.items()}}
    return client.post(reverse("pipeline:lenders", args=[lead.pk]), data)


def the_step_form(response, lien):
    [entry] = [e for e in response.context["stack"] if e.lien.pk == lien.pk]
    return entry.forms["milestone"]


# The step offered -------------------------------------------------------------------------


def test_the_step_form_offers_the_next_step_of_the_file_not_the_first_of_the_list(submitted, lead, agent, client_as):
    lien, _package = submitted
    response = lenders_page(client_as(agent), lead)
    form = the_step_form(response, lien)
    assert form["kind"].value() == Milestone.ACKNOWLEDGED
    assert 'value="acknowledged" selected' in str(form["kind"])
    assert "Next in the process: <strong>Package acknowledged</strong>" in response.content.decode()


@pytest.mark.parametrize(("steps", "offered"), [
    ([], Milestone.AUTHORIZATION_SENT),
    ([Milestone.AUTHORIZATION_SENT], Milestone.AUTHORIZATION_RECEIVED),
    # A negotiator (their own form) is skipped over; the valuation comes next.
    ([Milestone.PACKAGE_SUBMITTED, Milestone.ACKNOWLEDGED], Milestone.VALUATION_ORDERED),
    ([Milestone.OFFER_SUBMITTED], Milestone.COUNTER),
    # Next is the lender's decision: the approval has the letter's form, a denial is never assumed.
    ([Milestone.INVESTOR_REVIEW], None),
])
def test_the_next_step_follows_the_process(steps, offered, lead, agent):
    lien = LienFactory(lead=lead, position=1)
    for index, kind in enumerate(steps):
        record(lien, kind, TODAY - timedelta(days=len(steps) - index), agent)
    [entry] = lien_stack(lead=lead)
    assert entry.next_step == offered


def test_without_a_next_step_nothing_is_preselected_so_save_cannot_record_the_first_step(lead, agent, client_as):
    lien = LienFactory(lead=lead, position=1)
    record(lien, Milestone.INVESTOR_REVIEW, TODAY, agent)
    client = client_as(agent)
    form = the_step_form(lenders_page(client, lead), lien)
    assert form.fields["kind"].choices[0] == ("", "Pick the step") and form["kind"].value() is None
    response = post_step(client, lead, lien, "")
    assert response.status_code == 400 and LenderMilestone.objects.count() == 1


def test_a_new_negotiator_does_not_pull_the_file_back_to_that_step(submitted, lead, agent):
    from pipeline.deals.lenders import negotiator_assign

    lien, _package = submitted
    record(lien, Milestone.VALUATION_ORDERED, date(2026, 11, 14), agent)
    negotiator_assign(lien=lien, name="Pat Quinn", assigned_on=date(2026, 11, 16), actor=agent)
    [entry] = lien_stack(lead=lead)
    assert entry.step.kind == Milestone.VALUATION_ORDERED and entry.next_step == Milestone.VALUATION_COMPLETED


def test_a_negotiator_named_before_the_package_does_not_make_the_package_a_step_back(lead, agent):
    from pipeline.deals.lenders import negotiator_assign

    lien = LienFactory(lead=lead, position=1)
    record(lien, Milestone.AUTHORIZATION_SENT, date(2026, 11, 1), agent)
    negotiator_assign(lien=lien, name="Pat Quinn", assigned_on=date(2026, 11, 2), actor=agent)
    record(lien, Milestone.PACKAGE_SUBMITTED, date(2026, 11, 3), agent)
    [entry] = lien_stack(lead=lead)
    assert entry.step.kind == Milestone.PACKAGE_SUBMITTED


# A step back is asked first -------------------------------------------------------------------


def test_a_step_before_where_the_file_stands_is_refused_unless_confirmed(submitted, agent):
    lien, _package = submitted
    with pytest.raises(BackwardStep) as asked:
        record(lien, Milestone.AUTHORIZATION_SENT, TODAY, agent)
    assert asked.value.messages == [BACKWARD_STEP.format(current="Package submitted", day=date(2026, 11, 12),
                                                         kind="Authorization sent")]
    assert LenderMilestone.objects.filter(lender_file__lien=lien).count() == 3

    record(lien, Milestone.AUTHORIZATION_SENT, TODAY, agent, confirm_backward=True)
    [entry] = lien_stack(lead=lien.lead)
    assert entry.step.kind == Milestone.AUTHORIZATION_SENT  # the file did go back, as the agent confirmed


def test_a_posted_step_back_comes_back_as_a_question_and_is_saved_only_with_the_confirmation(
        submitted, lead, agent, client_as):
    lien, _package = submitted
    client = client_as(agent)

    asked = post_step(client, lead, lien, Milestone.AUTHORIZATION_SENT)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "comes before that. Record it anyway" in page
    assert f'name="lien{lien.pk}-confirm_backward" value="1"' in page and "Yes, record “Authorization sent”" in page
    assert LenderMilestone.objects.filter(lender_file__lien=lien).count() == 3
    [entry] = lien_stack(lead=lead)
    assert entry.step.kind == Milestone.PACKAGE_SUBMITTED

    confirmed = post_step(client, lead, lien, Milestone.AUTHORIZATION_SENT, confirm_backward="1")
    assert confirmed.status_code == 302
    assert LenderMilestone.objects.filter(lender_file__lien=lien).count() == 4


def test_forward_steps_a_repeat_and_the_offer_counter_back_and_forth_are_not_asked(submitted, agent):
    lien, _package = submitted
    record(lien, Milestone.ACKNOWLEDGED, TODAY, agent)
    record(lien, Milestone.ACKNOWLEDGED, TODAY, agent)  # the same step again is not a step back
    record(lien, Milestone.OFFER_SUBMITTED, TODAY, agent, amount=Decimal("250000"))
    record(lien, Milestone.COUNTER, TODAY, agent, amount=Decimal("265000"))
    record(lien, Milestone.OFFER_SUBMITTED, TODAY, agent, amount=Decimal("258000"))
    assert LenderMilestone.objects.filter(lender_file__lien=lien).count() == 8


def test_a_new_package_after_a_denial_is_asked_first(submitted, agent):
    lien, _package = submitted
    record(lien, Milestone.DENIED, date(2026, 11, 16), agent)
    with pytest.raises(BackwardStep, match="Denied"):
        record(lien, Milestone.PACKAGE_SUBMITTED, TODAY, agent)


# Corrections --------------------------------------------------------------------------------


def test_a_correction_strikes_the_step_out_and_the_file_stands_where_it_was(submitted, lead, agent):
    lien, _package = submitted
    wrong = record(lien, Milestone.VALUATION_ORDERED, TODAY, agent)
    correction = milestone_correct(milestone=wrong, reason="That was the second lien's BPO", actor=agent)

    assert (correction.voids, correction.kind, correction.note) == (wrong, Milestone.VALUATION_ORDERED,
                                                                    "That was the second lien's BPO")
    wrong.refresh_from_db()  # still there: the history is never rewritten
    [entry] = lien_stack(lead=lead)
    assert entry.step.kind == Milestone.PACKAGE_SUBMITTED and entry.next_step == Milestone.ACKNOWLEDGED
    assert Milestone.VALUATION_ORDERED not in entry.reached
    assert [m.pk for m in entry.history] == [*[m.pk for m in entry.milestones], wrong.pk]
    assert entry.history[-1].correction == correction
    # After the correction, the step is not a step back either.
    record(lien, Milestone.ACKNOWLEDGED, TODAY, agent)


def test_a_step_is_struck_out_once_with_a_reason_and_never_an_approval(submitted, agent):
    lien, package = submitted
    with pytest.raises(ValidationError) as refused:
        milestone_correct(milestone=package, reason="  ", actor=agent)
    assert refused.value.message_dict == {"reason": [CORRECTION_NEEDS_REASON]}
    milestone_correct(milestone=package, reason="Not sent yet: the portal rejected the upload", actor=agent)
    with pytest.raises(ValidationError) as refused:
        milestone_correct(milestone=package, reason="again", actor=agent)
    assert refused.value.messages == [ALREADY_STRUCK_OUT.format(day=TODAY)]
    approval_letter_record(lien=lien, issued_on=TODAY, expires_on=TODAY + timedelta(days=30), actor=agent)
    approved = LenderMilestone.objects.get(kind=Milestone.APPROVED)
    with pytest.raises(ValidationError) as refused:
        milestone_correct(milestone=approved, reason="wrong", actor=agent)
    assert refused.value.messages == [APPROVAL_NOT_STRUCK]


def test_milestones_are_never_edited_or_deleted(submitted):
    _lien, package = submitted
    package.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        package.save()
    with pytest.raises(AppendOnlyError):
        LenderMilestone.objects.filter(pk=package.pk).update(note="rewritten")
    with pytest.raises(AppendOnlyError):
        package.delete()


def test_the_lien_stack_page_strikes_the_step_out_with_who_and_why(submitted, lead, agent, client_as):
    lien, package = submitted
    client = client_as(agent)
    response = client.post(reverse("pipeline:lenders", args=[lead.pk]), {
        "action": "correct", "milestone": package.pk, f"m{package.pk}-reason": "Recorded before it went out"})
    assert response.status_code == 302
    page = lenders_page(client, lead).content.decode()
    assert '<li class="struck"' in page and "<s><span class=\"num\">Nov 12</span> · Package submitted" in page
    assert f"Struck out Nov 18 by {agent}: Recorded before it went out" in page
    [entry] = lien_stack(lead=lead)
    assert entry.step.kind == Milestone.AUTHORIZATION_RECEIVED


def test_a_correction_without_a_reason_comes_back_with_the_message(submitted, lead, agent, client_as):
    _lien, package = submitted
    response = client_as(agent).post(reverse("pipeline:lenders", args=[lead.pk]), {
        "action": "correct", "milestone": package.pk, f"m{package.pk}-reason": ""})
    assert response.status_code == 400 and not LenderMilestone.objects.filter(voids__isnull=False).exists()
    assert "This field is required." in response.content.decode()


@pytest.mark.parametrize(("who", "status"), [
    ("anonymous", 302), ("other_agent", 404), ("agent", 302), ("team_lead", 302), ("broker", 302),
])
def test_who_may_strike_out_a_step(who, status, submitted, lead, request, client):
    _lien, package = submitted
    if who != "anonymous":
        client = request.getfixturevalue("client_as")(request.getfixturevalue(who))
    response = client.post(reverse("pipeline:lenders", args=[lead.pk]), {
        "action": "correct", "milestone": package.pk, f"m{package.pk}-reason": "wrong file"})
    assert response.status_code == status
    struck = LenderMilestone.objects.filter(voids=package).exists()
    assert struck == (who in ("agent", "team_lead", "broker"))
    if who == "anonymous":
        assert "/accounts/login/" in response["Location"]


def test_a_step_of_another_leads_file_cannot_be_struck_out_from_this_page(submitted, lead, agent, client_as):
    theirs = record(LienFactory(lead=LeadFactory(assigned_agent=agent)), Milestone.AUTHORIZATION_SENT, TODAY, agent)
    response = client_as(agent).post(reverse("pipeline:lenders", args=[lead.pk]), {
        "action": "correct", "milestone": theirs.pk, f"m{theirs.pk}-reason": "wrong"})
    assert response.status_code == 404 and not LenderMilestone.objects.filter(voids=theirs).exists()


# Everything that reads where a file stands -------------------------------------------------


def test_the_timeline_shows_the_step_struck_out_and_the_correction(submitted, lead, agent, client_as):
    _lien, package = submitted
    milestone_correct(milestone=package, reason="Recorded before it went out", actor=agent)
    steps = [event.item for event in lead_activity(lead=lead) if event.kind == "lender"]
    struck = next(step for step in steps if step.pk == package.pk)
    assert struck.correction is not None and struck.correction.note == "Recorded before it went out"
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "<s>1st lien: Package submitted" in page
    assert "struck out Nov 18, 2026" in page and "correction · struck out “Package submitted” of Nov 12, 2026" in page


def test_a_struck_out_submission_does_not_open_negotiate(lead, agent):
    lead.stage = Stage.QUALIFY
    lead.save()
    lien = LienFactory(lead=lead, position=1, balance=Decimal("300000"))
    checklist_item_update(lead=lead, kind=DocumentKind.LISTING_AGREEMENT, actor=agent, status=DocumentStatus.ACCEPTED)
    package = record(lien, Milestone.PACKAGE_SUBMITTED, TODAY, agent)
    milestone_correct(milestone=package, reason="Not sent yet", actor=agent)
    with pytest.raises(StageChangeRefused, match="package"):
        lead_stage_change(lead=lead, to_stage=Stage.NEGOTIATE, actor=agent)


def test_a_struck_out_denial_no_longer_stops_the_close(lead, agent):
    from pipeline.deals.stages import _liens_without_valid_approval

    lien = LienFactory(lead=lead, position=1, lender="PennyMac", balance=Decimal("300000"))
    approval_letter_record(lien=lien, issued_on=date(2026, 11, 10), expires_on=date(2026, 12, 31), actor=agent)
    denial = record(lien, Milestone.DENIED, TODAY, agent)
    assert _liens_without_valid_approval(lead, TODAY) == ["1st lien (PennyMac): denied Nov 18, 2026"]
    milestone_correct(milestone=denial, reason="The second lien's denial, recorded here", actor=agent)
    assert _liens_without_valid_approval(lead, TODAY) == []


def test_the_sellers_page_leaves_out_a_struck_out_step(submitted, lead, agent):
    _lien, package = submitted
    [before] = lender_progress(lead=lead)
    assert [step.title for step in before.steps if step.is_current] == ["Valuation ordered"]
    milestone_correct(milestone=package, reason="Not sent yet", actor=agent)
    [after] = lender_progress(lead=lead)
    assert [step.title for step in after.steps if step.is_current] == ["Package submitted"]
    assert after.steps[1].done_on is None


def test_a_struck_out_submission_is_not_chased_and_its_open_chase_closes(submitted, lead, agent):
    _lien, package = submitted
    lead.stage = Stage.NEGOTIATE
    lead.save()
    follow_ups_generate()
    [chase] = FollowUp.objects.filter(source=FollowUpSource.LENDER_CHASE)
    assert chase.done_at is None
    milestone_correct(milestone=package, reason="Not sent yet", actor=agent)
    follow_ups_generate()
    chase.refresh_from_db()
    assert chase.done_at is not None and "struck out" in chase.closed_reason
    assert FollowUp.objects.filter(source=FollowUpSource.LENDER_CHASE).count() == 1


def test_a_struck_out_valuation_order_is_not_checked_on(lead, agent):
    lead.stage = Stage.NEGOTIATE
    lead.save()
    lien = LienFactory(lead=lead, position=1)
    ordered = record(lien, Milestone.VALUATION_ORDERED, date(2026, 11, 2), agent)
    follow_ups_generate()
    [check] = FollowUp.objects.filter(source=FollowUpSource.VALUATION)
    milestone_correct(milestone=ordered, reason="Another file's BPO", actor=agent)
    follow_ups_generate()
    check.refresh_from_db()
    assert check.done_at is not None


def test_lender_turnaround_counts_from_the_submission_in_force(lead, agent):
    from pipeline.deals.lenders import lender_file_update

    lien = LienFactory(lead=lead, position=1)
    lender_file_update(lien=lien, servicer="Mr. Cooper", portal="", portal_reference="")
    record(lien, Milestone.PACKAGE_SUBMITTED, date(2026, 10, 1), agent)
    # The report times from the last package before the approval: a struck-out one must not count.
    wrong = record(lien, Milestone.PACKAGE_SUBMITTED, date(2026, 11, 5), agent)
    milestone_correct(milestone=wrong, reason="Recorded on the wrong lien", actor=agent)
    approval_letter_record(lien=lien, issued_on=date(2026, 11, 10), expires_on=date(2026, 12, 10), actor=agent)
    [row] = lender_turnaround(Period(date(2026, 10, 1), date(2026, 11, 30))).rows
    assert row[:4] == ["Mr. Cooper", "servicer", 1, 40]  # Oct 1 to Nov 10, not the 5 days from Nov 5
