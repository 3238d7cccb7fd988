"""An erased lead is refused by the services themselves, not only hidden by its page: the
API, the board, bulk moves and any later caller meet the same refusal
(docs/privacy.md#an-erased-lead)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.editing import ERASED_BY_HAND, lien_add, owner_add, phone_update, property_facts_update
from leads.merging import lead_merge
from leads.models import Lead, Phone, PhoneStatus, Stage
from leads.models.leads import ERASED_NOT_WORKABLE
from leads.tags import lead_tag_add
from pipeline.deals.services import StageChangeRefused, lead_stage_change
from pipeline.outreach.services import lead_note_add, outreach_log
from pipeline.reminders.services import follow_up_create

from ...leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def erased(lead):
    Lead.objects.filter(pk=lead.pk).update(erased_at=timezone.now(), erasure_request_number=1,
                                           stage=Stage.DEAD)
    lead.refresh_from_db()
    return lead


def refused(call):
    with pytest.raises(ValidationError) as error:
        call()
    assert ERASED_NOT_WORKABLE in " ".join(error.value.messages)


def test_every_write_that_works_a_lead_refuses_an_erased_one(erased, agent):
    from leads.tags import tag_for_name

    refused(lambda: property_facts_update(property=erased.property, actor=agent, version=None, bedrooms=3))
    refused(lambda: owner_add(lead=erased, actor=agent, first_name="Ana", last_name="Diaz"))
    refused(lambda: lien_add(lead=erased, actor=agent, position=2, balance=1000))
    refused(lambda: lead_tag_add(lead=erased, tag=tag_for_name(name="hot", actor=agent, lead=erased), actor=agent))
    refused(lambda: lead_note_add(lead=erased, author=agent, body="called"))
    refused(lambda: follow_up_create(lead=erased, assignee=agent, due_at=timezone.now() + timedelta(days=1),
                                     title="Call back"))
    refused(lambda: outreach_log(lead=erased, channel="call", contact_point=None, outcome="no_answer", actor=agent,
                                 role_disclosed=True))
    with pytest.raises(StageChangeRefused) as error:
        lead_stage_change(lead=erased, to_stage=Stage.CONTACT, actor=agent)
    assert ERASED_NOT_WORKABLE in " ".join(error.value.messages)


def test_an_erased_lead_is_neither_merged_into_nor_merged(erased, agent, team, brokerage, national_registry):
    other = LeadFactory(assigned_agent=agent, team=team)
    refused(lambda: lead_merge(survivor=other, merged=erased, merged_by=agent))
    refused(lambda: lead_merge(survivor=erased, merged=other, merged_by=agent))


def test_only_an_erasure_marks_a_number_erased(lead, agent):
    phone = Phone.objects.get(contact__lead=lead)
    with pytest.raises(ValidationError) as error:
        phone_update(phone=phone, actor=agent, version=None, status=PhoneStatus.ERASED)
    assert ERASED_BY_HAND in " ".join(error.value.messages)
