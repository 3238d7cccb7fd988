"""The same parcel found by APN and county however a list or a person cased and spaced the
APN: normalised when written (import, services, admin) and when looked up."""

import importlib

import pytest
from django.apps import apps

from leads.models import Lead, Property, normalize_apn
from leads.services import property_create

from ..factories import LeadFactory
from .test_imports import HEADER, run

pytestmark = pytest.mark.django_db


def row(street, zip_code, apn, county="Tulsa"):
    return f'"{street}","","Tulsa","OK","{zip_code}","{county}","{apn}"' + ",," * 10


def file_of(*rows):
    return (HEADER + "\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("written, stored", [
    ("591-682-483", "591-682-483"), ("  apn-1 ", "APN-1"), ("12 - 345 b", "12-345 B"), ("12  345\tB", "12 345 B"),
    ("Ab-12x", "AB-12X"), ("", ""), (None, ""),
])
def test_normalize_apn(written, stored):
    assert normalize_apn(written) == stored


def test_an_imported_apn_is_stored_normalised(broker):
    run(broker, file_of(row("100 Main St", "74101", " 591 - 682 - 483b ")))
    assert Property.objects.get().apn == "591-682-483B"


def test_a_parcel_entered_by_hand_in_mixed_case_is_matched_by_an_imported_row(broker):
    # given a house entered through the service (as the admin and the lead form do), APN in mixed case
    held = property_create(street="100 Main St", city="Tulsa", state="OK", zip_code="74101", county="Tulsa",
                           apn="Ab-12x")
    LeadFactory(property=held, assigned_agent=None)
    assert held.apn == "AB-12X"
    # when a list writes the same parcel another way, at an address spelled differently
    job = run(broker, file_of(row("100 Main Street Rear", "74103", "aB - 12X", county="TULSA")))
    # then it merges into the house held
    assert (job.leads_created, job.leads_merged, Property.objects.count()) == (0, 1, 1)


def test_apns_stored_before_normalisation_are_normalised_and_then_matched(broker):
    held = property_create(street="100 Main St", city="Tulsa", state="OK", zip_code="74101", county="Tulsa")
    LeadFactory(property=held, assigned_agent=None)
    Property.objects.filter(pk=held.pk).update(apn="Ab - 12x")  # as an older version wrote it
    migration = importlib.import_module("leads.migrations.0016_normalize_property_apns")
    migration.normalise_apns(apps, None)
    assert Property.objects.get().apn == "AB-12X"
    job = run(broker, file_of(row("100 Main Street Rear", "74103", "ab-12X")))
    assert (job.leads_created, job.leads_merged) == (0, 1)


def test_one_parcel_spaced_two_ways_in_one_file_is_one_lead(broker):
    job = run(broker, file_of(row("8 Fir Ct", "74101", "77-1 a"), row("8 Fir Court Rear", "74103", "77 - 1 A")))
    assert (job.leads_created, job.leads_merged, Lead.objects.count()) == (1, 1, 1)


def test_the_same_apn_in_another_county_is_another_parcel(broker):
    run(broker, file_of(row("100 Main St", "74101", "APN-1", county="Tulsa")))
    job = run(broker, file_of(row("100 Main Street Rear", "74103", "apn-1", county="Osage")), name="b.csv")
    assert (job.leads_created, job.leads_merged) == (1, 0)
