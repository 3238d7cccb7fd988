"""Rows merged into held leads: the set-based SQL path (leads/imports/merge.py) writes what
the Python path (leads/imports/batch.py) writes, on the same cells.

A first list makes the leads; a second one, drawn at random, lands on them (and on a new
house): owners with non-ASCII names ('ß', the Turkish dotless i, accents, ligatures), odd
whitespace and empty cells, flags, phones and emails held or new, loans whose amounts are
spelled every way lists spell money, filings with and without dates, counties that match
a parcel only without case. It is imported once through each path, each rolled back, and
every row the merge touches is compared (leads' types, lien totals and scores, owners,
phones, emails, liens, filings).
"""

from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, transaction
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leads.imports import batch
from leads.imports.services import import_job_create, import_run
from leads.models import Contact, Email, ForeclosureRecord, ImportStatus, Lead, Lien, Phone

from .test_imports import AMOUNTS, csv_line, money_spellings

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL path runs on PostgreSQL")

COLUMNS = ["Address", "City", "State", "Zip", "County", "APN", "Owner 1 First Name", "Owner 1 Last Name",
           "Owner 2 First Name", "Owner 2 Last Name", "Mailing Address", "Do Not Mail", "Deceased Owner",
           "Phone1", "Phone2", "Email1", "Loan 1 Balance", "Loan 1 Lender", "Loan 2 Balance", "Loan 2 Type",
           "Pre-FC Recording Date", "Pre-FC Record Type", "Pre-FC Auction Date", "Pre-FC Unpaid Balance"]
# Houses the first list holds (the third only by its parcel: the second list spells its street otherwise).
# A county a row may spell 'STRASSE' for 'Straße': Python's upper() makes them one (PostgreSQL's,
# under the C.UTF-8 collation, leaves 'ß' as it is), so the parcel is matched in Python on both paths.
HOUSES = [("12 Oak St", "Tulsa", "OK", "74103", "Tulsa", "10-1"), ("77 Elm Ave", "Pensacola", "FL", "32507",
                                                                   "Straße", "20-2"),
          ("5 Main St", "Las Cruces", "NM", "88001", "Doña Ana", "55-7")]
LATER_STREETS = ["12 Oak St", "12 OAK STREET", "77 Elm Ave", "5 Main Street Rear", "900 W 1st St"]
COUNTIES = ["Tulsa", "TULSA", "tulsa", "Escambia", "Doña Ana", "DOÑA ANA", "doña ana", "Straße", "STRASSE", "Iğdır",
            "IĞDIR", ""]
# Letters that upper-case differently in Python and in PostgreSQL (under one collation or another).
NAMES = st.text(st.sampled_from("aZéÉñÑßẞıİiIǅǆﬁŉçÇøØ \u00a0\t-'"), max_size=10)
CELLS = st.one_of(st.sampled_from(["", " ", "n/a", "Yes", "No"]), NAMES)
MONEY = st.one_of(AMOUNTS.filter(lambda a: a >= 0).flatmap(money_spellings),
                  st.sampled_from(["", "n/a", "$0.005", "0.015", "12.345", "$1,000.999", "(5)", "abc"]))
DATES = st.one_of(st.sampled_from(["", "05/02/2026", "2026-05-02", "01/20/2027", "01/20/2099"]))
PHONES = st.sampled_from(["", "(918) 555-0104", "918.555.0104", "+1 850 555 0147", "555-0199", "(123) 555-0104",
                          "9185550106"])
EMAILS = st.sampled_from(["", "Ana@Example.com", "ana@example.com", "ß@straße.de", "not an email"])


@st.composite
def later_rows(draw, held=False):
    street = draw(st.sampled_from(LATER_STREETS[:3] if held else LATER_STREETS))
    place = {"12": HOUSES[0], "77": HOUSES[1], "5 ": HOUSES[2]}.get(street[:2], ("", "Tulsa", "OK", "74103", "Tulsa",
                                                                                "99-9"))
    apn = place[5] if street.startswith("5 ") else draw(st.sampled_from([place[5], place[5], ""]))
    return [street, place[1], place[2], place[3], draw(st.sampled_from(COUNTIES)) if apn else place[4], apn,
            draw(NAMES), draw(NAMES), draw(CELLS), draw(CELLS), draw(CELLS), draw(CELLS), draw(CELLS),
            draw(PHONES), draw(PHONES), draw(EMAILS), draw(MONEY), draw(CELLS), draw(MONEY),
            draw(st.sampled_from(["", "HELOC", "Conventional"])), draw(DATES),
            draw(st.sampled_from(["", "NOD", "LIS", "NTS"])), draw(DATES), draw(MONEY)]


def first_rows():
    return [[street, city, state, zip_code, county, apn, "Ana", "Diaz", "", "", "", "", "Yes" if n == 1 else "",
             "(918) 555-0104", "", "ana@example.com", "$100,000.10", "Bank", "", "", "05/02/2026", "NOD", "", ""]
            for n, (street, city, state, zip_code, county, apn) in enumerate(HOUSES)]


def imported(broker, rows, list_name):
    content = "".join(csv_line(row, "\r\n") for row in [COLUMNS, *rows]).encode()
    job = import_run(job_id=import_job_create(content=content, file_name="list.csv", created_by=broker,
                                              list_name=list_name).pk)
    assert job.status == ImportStatus.DONE, job.error
    return job


def snapshot():
    """Every row a merge may touch, by the house's address key: no ids, no times."""
    leads = {pk: key for pk, key in Lead.objects.values_list("pk", "property__address_key")}
    contacts = {pk: (leads[lead_id], position) for pk, lead_id, position in
                Contact.objects.values_list("pk", "lead_id", "position")}
    return {
        "leads": sorted((leads[pk], *rest) for pk, *rest in Lead.objects.values_list(
            "pk", "lead_type", "lien_total", "score", "score_reasons")),
        "owners": sorted((leads[lead_id], *rest) for lead_id, *rest in Contact.objects.values_list(
            "lead_id", "position", "first_name", "last_name", "company_name", "mailing_street", "do_not_mail",
            "deceased", "rejected_phones")),
        "phones": sorted((contacts[contact_id], *rest) for contact_id, *rest in Phone.objects.values_list(
            "contact_id", "number", "raw", "phone_type", "position")),
        "emails": sorted((contacts[contact_id], *rest) for contact_id, *rest in Email.objects.values_list(
            "contact_id", "address", "position")),
        "liens": sorted((leads[lead_id], *rest) for lead_id, *rest in Lien.objects.values_list(
            "lead_id", "position", "lien_type", "loan_program", "lender", "balance", "recording_date")),
        "filings": sorted(((leads[lead_id], *rest) for lead_id, *rest in ForeclosureRecord.objects.values_list(
            "lead_id", "record_type", "recording_date", "auction_date", "unpaid_balance")), key=repr),
    }


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def merged(broker, rows, *, set_based: bool):
    with rolled_back(), mock.patch.object(batch, "set_based", lambda: set_based):
        job = imported(broker, rows, "Later list")
        state = snapshot()
    return (job.leads_created, job.leads_merged, job.rows_rejected, job.phones_valid), state


@pytest.mark.django_db
@settings(max_examples=20)
@given(rows=st.tuples(later_rows(held=True), st.lists(later_rows(), max_size=5)).map(lambda t: [t[0], *t[1]]))
@example(rows=[["12 Oak St", "Tulsa", "OK", "74103", "TULSA", "10-1", "ß", "ı", "İ", "", "", "Yes", "x",
                "(918) 555-0104", "9185550106", "ß@straße.de", "$0.005", "Bank", "12.345", "HELOC",
                "", "LIS", "", "1,000.999"]] * 2)
def test_merging_into_held_leads_in_sql_writes_what_python_writes(broker, rows):
    with rolled_back():
        imported(broker, first_rows(), "First list")
        held = set(Lead.objects.values_list("property__address_key", flat=True))
        by_python = merged(broker, rows, set_based=False)
        by_sql = merged(broker, rows, set_based=True)
    assert by_sql == by_python
    counts, state = by_sql
    assert counts[1] >= 1  # the first row goes into a held lead: the merge ran
    # A held lead's total is its liens' sum, to the cent. (A house new in the list takes its
    # total from its first row, as it takes its type: tests/leads/imports cover that.)
    totals = {}
    for key, _, _, _, _, balance, _ in state["liens"]:
        totals[key] = totals.get(key, Decimal(0)) + (balance or 0)
    assert {key: total for key, _, total, _, _ in state["leads"] if key in held} == {
        key: totals.get(key, Decimal("0.00")) for key in held}


@pytest.mark.django_db
def test_the_sql_path_is_what_postgresql_runs(broker):
    """The comparison above means something only if PostgreSQL takes the SQL path."""
    assert batch.set_based()
    with rolled_back():
        imported(broker, first_rows(), "First list")
        with mock.patch.object(batch, "held_people_write", side_effect=RuntimeError("set-based")), \
                pytest.raises(RuntimeError, match="set-based"):
            imported(broker, first_rows(), "Later list")
