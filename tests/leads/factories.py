"""factory_boy factories of the leads app: the house, the lead, its owners and their
phones and emails, hardship, liens, foreclosure filings, lists, routing and imports.

Each factory makes the smallest valid row, overridable per test.
"""

from decimal import Decimal

import factory
from django.utils import timezone

from leads.addresses import address_key
from leads.models import (
    ColumnMapping,
    Contact,
    Email,
    ForeclosureRecord,
    ForeclosureRecordType,
    HardshipCategory,
    HardshipRecord,
    ImportJob,
    ImportRowIssue,
    Lead,
    LeadAssignment,
    LeadList,
    LeadType,
    Lien,
    LienType,
    ListMembership,
    Phone,
    PhoneType,
    Property,
    RoutingMethod,
    RoutingRule,
    RoutingTarget,
    SavedSearch,
    Tag,
)

from ..leadcrm.factories import AgentFactory


class PropertyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Property

    street = factory.Sequence(lambda n: f"{100 + n} Maple Dr")
    unit = ""
    city = "Tulsa"
    state = "OK"
    zip_code = "74130"
    county = "Tulsa"
    estimated_value = Decimal("300000")
    address_key = factory.LazyAttribute(
        lambda p: address_key(street=p.street, unit=p.unit, city=p.city, state=p.state, zip_code=p.zip_code)
    )


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    property = factory.SubFactory(PropertyFactory)
    lead_type = LeadType.NOD
    assigned_agent = factory.SubFactory(AgentFactory)
    stage_entered_at = factory.LazyFunction(timezone.now)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    lead = factory.SubFactory(LeadFactory)
    first_name = "Maria"
    last_name = factory.Sequence(lambda n: f"Garcia{n}")
    mailing_street = factory.LazyAttribute(lambda c: c.lead.property.street)
    mailing_city = "Tulsa"
    mailing_state = "OK"
    mailing_zip = "74130"


class PhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Phone

    contact = factory.SubFactory(ContactFactory)
    number = factory.Sequence(lambda n: f"+1918555{100 + n % 100:04d}")
    phone_type = PhoneType.MOBILE


class EmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Email

    contact = factory.SubFactory(ContactFactory)
    address = factory.Sequence(lambda n: f"owner{n}@example.com")


class HardshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HardshipRecord

    lead = factory.SubFactory(LeadFactory)
    category = HardshipCategory.JOB_LOSS
    narrative = "Laid off in March."


class LienFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lien

    lead = factory.SubFactory(LeadFactory)
    position = 1
    lien_type = LienType.MORTGAGE
    lender = "Mr. Cooper"
    balance = Decimal("250000")
    loan_number_masked = "****1234"


class ForeclosureRecordFactory(factory.django.DjangoModelFactory):
    """A notice of default; give ``auction_date`` for a sale date ahead."""

    class Meta:
        model = ForeclosureRecord

    lead = factory.SubFactory(LeadFactory)
    record_type = ForeclosureRecordType.NOD


class LeadListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadList

    name = factory.Sequence(lambda n: f"List {n}")


class ListMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ListMembership

    lead = factory.SubFactory(LeadFactory)
    lead_list = factory.SubFactory(LeadListFactory)


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    """A rule matching every lead, routing it round-robin (give ``team``) unless told otherwise."""

    class Meta:
        model = RoutingRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    target = RoutingTarget.ROUND_ROBIN


class LeadAssignmentFactory(factory.django.DjangoModelFactory):
    """An entry of the routing audit: the lead given to an agent by hand."""

    class Meta:
        model = LeadAssignment

    lead = factory.SubFactory(LeadFactory)
    method = RoutingMethod.MANUAL
    to_agent = factory.SelfAttribute("lead.assigned_agent")


class ColumnMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ColumnMapping

    name = factory.Sequence(lambda n: f"Mapping {n}")
    columns = factory.LazyFunction(lambda: {"street": "Address", "zip": "Zip"})
    created_by = factory.SubFactory(AgentFactory)


class ImportJobFactory(factory.django.DjangoModelFactory):
    """An import of a two-column file whose stored copy is not there (the pages read the job)."""

    class Meta:
        model = ImportJob

    lead_list = factory.SubFactory(LeadListFactory)
    file_name = "nod.csv"
    stored_file = "imports/none.bin"
    created_by = factory.SubFactory(AgentFactory)
    headers = factory.LazyFunction(lambda: ["Address", "Zip"])
    columns = factory.LazyFunction(lambda: {"street": "Address", "zip": "Zip"})


class ImportRowIssueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportRowIssue

    job = factory.SubFactory(ImportJobFactory)
    row_number = factory.Sequence(lambda n: n + 2)
    reason = "Phone unreadable"
    row = factory.LazyFunction(lambda: {"Address": "1 Main St", "Phone": "555"})


class TagFactory(factory.django.DjangoModelFactory):
    """A tag of the brokerage's vocabulary unless a team is given."""

    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"Tag {n}")
    team = None


class SavedSearchFactory(factory.django.DjangoModelFactory):
    """A private saved search of a new agent's, of open leads in the NOD stage of filing."""

    class Meta:
        model = SavedSearch

    owner = factory.SubFactory(AgentFactory)
    name = factory.Sequence(lambda n: f"Search {n}")
    query = "lead_type=pre_foreclosure_nod"
    team = None
def as_imported(*rows):
    """Rows as an import leaves them: no history (imports write by COPY, which keeps none)."""
    for row in rows:
        type(row).history.filter(id=row.pk).delete()
    return rows[0] if len(rows) == 1 else rows
