"""``__any_of``: the rows ``__in`` finds, with the values sent as one array on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, Property

from ...leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_any_of_finds_what_in_finds_with_one_parameter():
    leads = LeadFactory.create_batch(3)
    keys = [lead.property.address_key for lead in leads[:2]] + ["no such house"]
    with CaptureQueriesContext(connection) as queries:
        found = set(Property.objects.filter(address_key__any_of=keys).values_list("pk", flat=True))
    assert found == set(Property.objects.filter(address_key__in=keys).values_list("pk", flat=True))
    assert found == {leads[0].property_id, leads[1].property_id}
    sql = queries[0]["sql"]
    assert "= ANY(" in sql and " IN (" not in sql


def test_any_of_on_a_foreign_key_takes_a_set_and_an_empty_one_finds_nothing():
    leads = LeadFactory.create_batch(2)
    assert set(Lead.objects.filter(property_id__any_of={leads[0].property_id}).values_list("pk", flat=True)) == {
        leads[0].pk}
    assert list(Lead.objects.filter(pk__any_of=set())) == []
    assert Lead.objects.filter(pk__any_of=[leads[1].pk]).update(score=7) == 1
