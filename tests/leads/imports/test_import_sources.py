"""BatchLeads' and DealMachine's exports: their snake_case headers are recognised without a
mapping (DOMAIN.md section 3), and a file of each imports end to end."""

import pytest

from leads.imports.columns import detect, missing_required, unmapped
from leads.models import Contact, Lead, LeadSource, Phone

from .test_imports import run

pytestmark = pytest.mark.django_db

# As one tool reads a BatchLeads export (property_address, city, state, zip_code, owner_full_name),
# with the mailing, value and skip-trace columns written the same way.
BATCHLEADS = ["property_address", "city", "state", "zip_code", "owner_full_name", "mailing_address", "mailing_city",
              "mailing_state", "mailing_zip", "estimated_value", "phone_1", "phone_1_type", "email_1"]
# DealMachine's snake_case columns (property_id, address_line_1, city, state, zipcode ...).
DEALMACHINE = ["property_id", "address_line_1", "address_line_2", "city", "state", "zipcode", "county",
               "owner_first_name", "owner_last_name", "mailing_address_line_1", "mailing_city", "mailing_state",
               "mailing_zipcode", "estimated_value", "phone_1", "phone_2", "email_1"]


def test_batchleads_headers_are_detected():
    mapping = detect(BATCHLEADS)
    assert mapping == {
        "street": "property_address", "city": "city", "state": "state", "zip": "zip_code",
        "owner1_full": "owner_full_name", "mailing_street": "mailing_address", "mailing_city": "mailing_city",
        "mailing_state": "mailing_state", "mailing_zip": "mailing_zip", "estimated_value": "estimated_value",
        "phone1": "phone_1", "phone1_type": "phone_1_type", "email1": "email_1",
    }
    assert missing_required(mapping) == [] and unmapped(BATCHLEADS, mapping) == []


def test_dealmachine_headers_are_detected():
    mapping = detect(DEALMACHINE)
    assert mapping == {
        "street": "address_line_1", "unit": "address_line_2", "city": "city", "state": "state", "zip": "zipcode",
        "county": "county", "owner1_first": "owner_first_name", "owner1_last": "owner_last_name",
        "mailing_street": "mailing_address_line_1", "mailing_city": "mailing_city", "mailing_state": "mailing_state",
        "mailing_zip": "mailing_zipcode", "estimated_value": "estimated_value", "phone1": "phone_1",
        "phone2": "phone_2", "email1": "email_1",
    }
    assert missing_required(mapping) == [] and unmapped(DEALMACHINE, mapping) == ["property_id"]


def test_a_batchleads_export_imports_without_a_mapping(broker):
    content = (",".join(BATCHLEADS) + "\n"
               + '"41 Cedar Ln","Tulsa","OK","74101","Maria de la Cruz","PO Box 9","Tulsa","OK","74102",'
                 '"$212,500","(918) 555-0130","Wireless","Maria@Example.com"\n').encode()
    job = run(broker, content, name="batchleads.csv", source=LeadSource.BATCHLEADS)
    assert (job.rows_done, job.leads_created, job.rows_rejected, job.phones_valid) == (1, 1, 0, 1)
    lead = Lead.objects.select_related("property").get()
    assert (lead.source, lead.property.street, lead.property.zip_code) == ("batchleads", "41 Cedar Ln", "74101")
    assert str(lead.property.estimated_value) == "212500.00"
    owner = Contact.objects.get()
    assert (owner.first_name, owner.last_name, owner.mailing_street, owner.mailing_zip) == (
        "Maria de la", "Cruz", "PO Box 9", "74102")
    phone = Phone.objects.get()
    assert (phone.number, phone.phone_type) == ("+19185550130", "mobile")
    assert owner.emails.get().address == "maria@example.com"


def test_a_dealmachine_export_imports_without_a_mapping(broker):
    content = (",".join(DEALMACHINE) + "\n"
               + '"DM-88","1200 Bay Dr","Apt 4","Pensacola","FL","32507","Escambia","Jon","Reyes","1200 Bay Dr",'
                 '"Pensacola","FL","32507","180000","850-555-0140","(850) 555-0141","jon@example.com"\n').encode()
    job = run(broker, content, name="dealmachine.csv", source=LeadSource.DEALMACHINE)
    assert (job.rows_done, job.leads_created, job.rows_rejected, job.phones_valid) == (1, 1, 0, 2)
    lead = Lead.objects.select_related("property").get()
    assert (lead.source, lead.property.street, lead.property.unit, lead.property.county) == (
        "dealmachine", "1200 Bay Dr", "Apt 4", "Escambia")
    owner = Contact.objects.get()
    assert (owner.first_name, owner.last_name, owner.mailing_city) == ("Jon", "Reyes", "Pensacola")
    assert set(Phone.objects.values_list("number", flat=True)) == {"+18505550140", "+18505550141"}
