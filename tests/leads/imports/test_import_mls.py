"""PropStream's MLS columns (DOMAIN.md section 3, group 10): read, kept on the house, and
merged without an empty cell blanking what a list already told us."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from leads.imports.columns import detect
from leads.models import ImportRowIssue, Phone, Property

from .test_imports import run

pytestmark = pytest.mark.django_db

MLS_HEADERS = ["MLS Status", "MLS Date", "MLS Amount", "MLS Agent Name", "MLS Agent Phone", "MLS Agent E-Mail",
               "MLS Brokerage Name", "MLS Brokerage Phone"]
HEADERS = ["Address", "City", "State", "Zip", "County", "APN", "Owner 1 First Name", "Owner 1 Last Name", "Phone1",
           *MLS_HEADERS]
LISTED = {"MLS Status": "Active", "MLS Date": "10/02/2026", "MLS Amount": "$310,000",
          "MLS Agent Name": "Lena Park", "MLS Agent Phone": "(918) 555-0150",
          "MLS Agent E-Mail": "Lena.Park@Example.com", "MLS Brokerage Name": "Tulsa Home Realty",
          "MLS Brokerage Phone": "918.555.0151"}


def csv_of(*rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADERS)
    writer.writeheader()
    for cells in rows:
        writer.writerow({"Address": "8 Fir Ct", "City": "Tulsa", "State": "OK", "Zip": "74101", "County": "Tulsa",
                         "Owner 1 First Name": "Ana", "Owner 1 Last Name": "Diaz", "Phone1": "918 555 0120"} | cells)
    return out.getvalue().encode()


def listing(prop):
    return (prop.mls_status, prop.mls_date, prop.mls_amount, prop.mls_agent_name, prop.mls_agent_phone,
            prop.mls_agent_email, prop.mls_brokerage_name, prop.mls_brokerage_phone)


def test_propstreams_mls_headers_are_detected():
    mapping = detect(MLS_HEADERS)
    assert mapping == {"mls_status": "MLS Status", "mls_date": "MLS Date", "mls_amount": "MLS Amount",
                       "mls_agent_name": "MLS Agent Name", "mls_agent_phone": "MLS Agent Phone",
                       "mls_agent_email": "MLS Agent E-Mail", "mls_brokerage_name": "MLS Brokerage Name",
                       "mls_brokerage_phone": "MLS Brokerage Phone"}


def test_the_mls_listing_is_kept_on_the_house_and_its_agents_number_is_not_an_owners_phone(broker):
    job = run(broker, csv_of(LISTED), source="propstream")
    assert job.leads_created == 1
    prop = Property.objects.get()
    assert listing(prop) == ("Active", date(2026, 10, 2), Decimal("310000.00"), "Lena Park", "+19185550150",
                             "lena.park@example.com", "Tulsa Home Realty", "+19185550151")
    # The listing agent is not the homeowner: no outreach may treat their number as the owner's.
    assert list(Phone.objects.values_list("number", flat=True)) == ["+19185550120"]
    assert job.phones_valid == 1


def test_unreadable_mls_cells_are_left_out_with_a_note(broker):
    job = run(broker, csv_of(LISTED | {"MLS Agent Phone": "555-01", "MLS Agent E-Mail": "lena at home",
                                       "MLS Date": "soon"}))
    prop = Property.objects.get()
    assert (prop.mls_status, prop.mls_agent_phone, prop.mls_agent_email, prop.mls_date) == ("Active", "", "", None)
    notes = list(ImportRowIssue.objects.filter(job=job, rejected=False).values_list("reason", flat=True))
    assert any(note.startswith("MLS Agent Phone:") for note in notes)
    assert any("'lena at home' is not an email" in note for note in notes)
    assert any("'soon' is not a date" in note for note in notes)


def test_a_later_list_updates_the_listing_and_an_empty_cell_blanks_nothing(broker):
    run(broker, csv_of(LISTED), list_name="first")
    # Pending now, with a new price; the agent's cells are empty in this export.
    later = {"MLS Status": "Pending", "MLS Date": "11/10/2026", "MLS Amount": "299,000"}
    job = run(broker, csv_of(later), list_name="second")
    assert job.leads_merged == 1
    prop = Property.objects.get()
    assert listing(prop) == ("Pending", date(2026, 11, 10), Decimal("299000.00"), "Lena Park", "+19185550150",
                             "lena.park@example.com", "Tulsa Home Realty", "+19185550151")


def test_a_list_with_no_mls_cells_leaves_the_listing_as_it_is(broker):
    run(broker, csv_of(LISTED), list_name="first")
    run(broker, csv_of({}), list_name="second")
    assert Property.objects.get().mls_status == "Active"


def test_an_older_listing_read_late_does_not_undo_a_newer_one(broker):
    run(broker, csv_of(LISTED | {"MLS Status": "Expired", "MLS Date": "11/01/2026"}), list_name="newer")
    run(broker, csv_of(LISTED | {"MLS Status": "Active", "MLS Date": "06/01/2026"}), list_name="older")
    prop = Property.objects.get()
    assert (prop.mls_status, prop.mls_date) == ("Expired", date(2026, 11, 1))


def test_the_same_listing_imported_again_changes_nothing(broker):
    run(broker, csv_of(LISTED), list_name="first")
    before = Property.objects.values().get()
    run(broker, csv_of(LISTED), list_name="second")
    assert Property.objects.values().get() == before  # updated_at too: no write at all


def test_two_rows_of_one_house_in_a_file_keep_the_listing_of_either(broker):
    job = run(broker, csv_of(LISTED, {"MLS Status": "Pending", "MLS Date": "11/10/2026"}))
    assert (job.leads_created, job.leads_merged) == (1, 1)
    prop = Property.objects.get()
    assert (prop.mls_status, prop.mls_date, prop.mls_agent_name) == ("Pending", date(2026, 11, 10), "Lena Park")
