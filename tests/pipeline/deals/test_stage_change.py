"""Stages as data: every transition rule, both ways, through ``lead_stage_change``."""

import pytest

from compliance.models import Channel
from leads.models import DeadReason, Stage
from pipeline.deals.services import StageChangeRefused, lead_stage_change
from pipeline.deals.stages import TRANSITIONS, allowed_moves
from pipeline.models import Outcome, StageChange
from pipeline.outreach.services import outreach_log

from ...leads.factories import HardshipFactory, LeadFactory, LienFactory

pytestmark = pytest.mark.django_db


def reach(lead, agent):
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=lead.contacts.first().phones.first(),
                 outcome=Outcome.TALKED, actor=agent, role_disclosed=True)


def move(lead, stage, agent, **kwargs):
    return lead_stage_change(lead=lead, to_stage=stage, actor=agent, **kwargs)


def test_contact_needs_an_outreach_that_reached_the_homeowner(lead, agent):
    with pytest.raises(StageChangeRefused, match="reached the homeowner"):
        move(lead, Stage.CONTACT, agent)
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=lead.contacts.first().phones.first(),
                 outcome=Outcome.NO_ANSWER, actor=agent, role_disclosed=True)
    with pytest.raises(StageChangeRefused):
        move(lead, Stage.CONTACT, agent)
    reach(lead, agent)
    assert move(lead, Stage.CONTACT, agent).stage == Stage.CONTACT


def test_a_corrected_conversation_no_longer_counts_as_reaching_the_homeowner(lead, agent):
    phone = lead.contacts.first().phones.first()
    talked = outreach_log(lead=lead, channel=Channel.CALL, contact_point=phone, outcome=Outcome.TALKED,
                          actor=agent, role_disclosed=True)
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=phone, outcome=Outcome.NO_ANSWER,
                 actor=agent, role_disclosed=True, corrects=talked, notes="Logged on the wrong lead.")
    with pytest.raises(StageChangeRefused, match="reached the homeowner"):
        move(lead, Stage.CONTACT, agent)


def test_a_stop_request_does_not_open_the_contact_stage(lead, agent):
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=lead.contacts.first().phones.first(),
                 outcome=Outcome.DNC_REQUEST, actor=agent, role_disclosed=True, homeowner_words="Stop.")
    with pytest.raises(StageChangeRefused):
        move(lead, Stage.CONTACT, agent)


def test_qualify_needs_a_hardship_and_the_liens_with_balances(lead, agent):
    reach(lead, agent)
    move(lead, Stage.CONTACT, agent)
    with pytest.raises(StageChangeRefused) as refused:
        move(lead, Stage.QUALIFY, agent)
    assert len(refused.value.messages) == 2  # both missing things are named at once
    HardshipFactory(lead=lead)
    LienFactory(lead=lead, balance=None)
    with pytest.raises(StageChangeRefused, match="balances"):
        move(lead, Stage.QUALIFY, agent)
    LienFactory(lead=lead, position=2)
    assert move(lead, Stage.QUALIFY, agent).stage == Stage.QUALIFY


@pytest.mark.parametrize(("source", "target"), [
    (Stage.LIST, Stage.QUALIFY), (Stage.LIST, Stage.CLOSED), (Stage.CONTACT, Stage.NEGOTIATE),
    (Stage.QUALIFY, Stage.CLOSE), (Stage.CLOSED, Stage.CLOSE), (Stage.CLOSED, Stage.DEAD),
])
def test_moves_not_in_the_table_are_refused(agent, source, target):
    lead = LeadFactory(assigned_agent=agent, stage=source)
    with pytest.raises(StageChangeRefused, match="cannot move"):
        move(lead, target, agent)
    lead.refresh_from_db()
    assert lead.stage == source
    assert not StageChange.objects.exists()


@pytest.mark.parametrize(("source", "target"), [
    (source, target) for source, moves in TRANSITIONS.items() for target, reqs in moves.items() if not reqs
])
def test_every_move_without_requirements_in_the_table_is_allowed(agent, source, target):
    lead = LeadFactory(assigned_agent=agent, stage=source)
    kwargs = {"dead_reason": DeadReason.NOT_INTERESTED} if target == Stage.DEAD else {}
    assert move(lead, target, agent, **kwargs).stage == target


def test_dead_needs_a_reason_and_reopening_returns_to_the_stage_it_died_in(agent):
    lead = LeadFactory(assigned_agent=agent, stage=Stage.QUALIFY)
    HardshipFactory(lead=lead)
    LienFactory(lead=lead)
    with pytest.raises(StageChangeRefused, match="why"):
        move(lead, Stage.DEAD, agent)
    move(lead, Stage.DEAD, agent, dead_reason=DeadReason.LISTED_ELSEWHERE)
    lead.refresh_from_db()
    assert (lead.stage, lead.dead_reason) == (Stage.DEAD, DeadReason.LISTED_ELSEWHERE)
    assert list(allowed_moves(lead)) == [Stage.QUALIFY]
    move(lead, Stage.QUALIFY, agent, note="Listing with the other agent expired.")
    lead.refresh_from_db()
    assert (lead.stage, lead.dead_reason) == (Stage.QUALIFY, "")


def test_history_records_who_moved_what_when_with_time_in_stage(lead, agent):
    reach(lead, agent)
    move(lead, Stage.CONTACT, agent, note="Spoke with Maria.")
    change = StageChange.objects.get()
    lead.refresh_from_db()
    assert (change.from_stage, change.to_stage, change.changed_by, change.note) == (
        Stage.LIST, Stage.CONTACT, agent, "Spoke with Maria."
    )
    assert lead.stage_entered_at == change.changed_at


def test_moving_to_the_current_stage_is_refused(lead, agent):
    with pytest.raises(StageChangeRefused, match="already"):
        move(lead, Stage.LIST, agent)


def test_no_menu_offers_the_reason_only_a_merge_may_set(lead, agent):
    from pipeline.api.serializers import StageMoveSerializer
    from pipeline.deals.forms import BoardMoveForm, BulkActionForm, StageChangeForm

    offered = [
        dict(StageChangeForm(lead=lead).fields["dead_reason"].choices),
        dict(BoardMoveForm().fields["dead_reason"].choices),
        dict(BulkActionForm(user=agent).fields["dead_reason"].choices),
        dict(StageMoveSerializer().fields["dead_reason"].choices),
    ]
    for choices in offered:
        assert DeadReason.DUPLICATE not in choices
        assert DeadReason.FORECLOSED in choices
