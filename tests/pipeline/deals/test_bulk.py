"""Bulk actions: the form offers exactly the actions the service knows, each with the
permission it needs (the pages' behaviour is in tests/pipeline/workspace/test_views.py)."""

import pytest

from pipeline.deals.bulk import ACTION_PERMISSIONS, bulk_action_allowed, leads_bulk_apply
from pipeline.deals.bulk_views import BulkForm


def test_the_form_offers_exactly_the_actions_the_service_applies():
    assert [name for name, _label in BulkForm.ACTIONS] == list(ACTION_PERMISSIONS)


@pytest.mark.django_db
def test_an_agent_may_set_follow_ups_in_bulk_but_not_assign(agent, broker):
    assert bulk_action_allowed(user=agent, action="follow_up")
    assert not bulk_action_allowed(user=agent, action="assign")
    assert bulk_action_allowed(user=broker, action="assign")


def test_an_unknown_action_is_refused_before_any_lead_is_touched():
    with pytest.raises(ValueError, match="Unknown bulk action"):
        leads_bulk_apply(leads=[], action="delete_everything", actor=None, data={})
