"""Finding a homeowner where no key joins their rows (a check's findings, the rows an import
rejected) by what names them exactly: strangers who share a surname, a short name inside a
longer word, or a street in another city stay out of the download and untouched by the
erasure (docs/privacy.md#what-is-removed)."""

from __future__ import annotations

import html

import pytest

from compliance.models import ComplianceCheck
from leads.models import ImportRowIssue, Lead, Stage
from pipeline.models import SellerLink, StageChange
from pipeline.privacy.selectors import (
    PrivacySearch,
    names_person,
    person_terms,
    privacy_package,
    privacy_preview,
)
from pipeline.privacy.services import CLOSED_BY_ERASURE, privacy_erase
from pipeline.privacy.views import VERIFICATION_HELP

from ...compliance.factories import ComplianceCheckFactory
from ...leads.factories import (
    ContactFactory,
    EmailFactory,
    ImportJobFactory,
    ImportRowIssueFactory,
    LeadFactory,
    PhoneFactory,
    PropertyFactory,
)
from ..factories import SellerLinkFactory
from .test_erasure import _records

pytestmark = pytest.mark.django_db


@pytest.fixture
def ray_lee(agent, team, national_registry):
    """A homeowner with a short name, at a street other towns have too."""
    lead = LeadFactory(assigned_agent=agent, team=team, stage=Stage.CONTACT,
                       property=PropertyFactory(street="100 Main St", city="Tulsa", zip_code="74130"))
    contact = ContactFactory(lead=lead, first_name="Ray", last_name="Lee")
    PhoneFactory(contact=contact, number="+19185550104")
    EmailFactory(contact=contact, address="ray.lee@example.com")
    return lead


@pytest.fixture
def import_rows():
    job = ImportJobFactory()
    rows = {
        "theirs by name and street": {"Owner": "LEE RAY", "Address": "100 MAIN STREET APT 2", "City": "Tulsa"},
        "theirs by phone": {"Owner": "R. Lee", "Phone": "(918) 555-0104"},
        "theirs by email": {"Owner": "", "Email": " Ray.Lee@Example.com "},
        "a stranger with the surname": {"Owner": "Bob Lee", "Address": "55 Oak Ave", "City": "Tulsa"},
        "the street in another city": {"Owner": "Mary Smith", "Address": "100 Main St", "City": "Boise"},
        "the name inside another": {"Owner": "Leeanne Rayburn", "Address": "100 Main St", "City": "Tulsa"},
        "a longer number": {"Owner": "Ann Poe", "Phone": "1918555010477"},
        "an email that contains theirs": {"Owner": "Xavier Ray", "Email": "xray.lee@example.com"},
    }
    return {what: ImportRowIssueFactory(job=job, row=row) for what, row in rows.items()}


THEIRS = ("theirs by name and street", "theirs by phone", "theirs by email")


def test_only_rows_with_their_phone_email_or_name_and_street_are_theirs(ray_lee, import_rows, broker):
    preview = {label: (rows, why) for label, _title, rows, _fields, why in
               privacy_preview(fetched_by=broker, lead_ids=[ray_lee.pk])}
    rows, why = preview["leads.importrowissue"]
    assert rows == len(THEIRS)
    assert sorted(why) == sorted([
        f"line {import_rows[THEIRS[0]].row_number} of import {import_rows[THEIRS[0]].job_id}: "
        "the name LEE and the street 100 MAIN STREET APT 2",
        f"line {import_rows[THEIRS[1]].row_number} of import {import_rows[THEIRS[1]].job_id}: "
        "the phone (918) 555-0104",
        f"line {import_rows[THEIRS[2]].row_number} of import {import_rows[THEIRS[2]].job_id}: "
        "the email ray.lee@example.com",
    ])
    package, counts = privacy_package(fetched_by=broker, lead_ids=[ray_lee.pk])
    in_package = {row["id"] for row in _records(package)["leads.importrowissue"]}
    assert in_package == {import_rows[what].pk for what in THEIRS}


def test_the_erase_page_says_why_each_import_row_matched(ray_lee, import_rows, broker, client_as):
    page = client_as(broker).post("/admin/privacy/erase/", {"lead": [ray_lee.pk]}).content.decode()
    assert "the phone (918) 555-0104" in page and "the email ray.lee@example.com" in page
    assert "Bob Lee" not in page and "Boise" not in page
    assert VERIFICATION_HELP in html.unescape(page)


def test_erasure_leaves_strangers_rows_as_they_were(ray_lee, import_rows, broker,
                                                    django_capture_on_commit_callbacks):
    before = {what: issue.row for what, issue in import_rows.items()}
    with django_capture_on_commit_callbacks(execute=True):
        privacy_erase(handled_by=broker, search=PrivacySearch(name="Ray Lee"), lead_ids=[ray_lee.pk],
                      requester="homeowner", verification="Called back the number on file.", confirmation="ERASE")
    after = {what: ImportRowIssue.objects.get(pk=issue.pk).row for what, issue in import_rows.items()}
    for what in import_rows:
        if what not in THEIRS:
            assert after[what] == before[what], what
    assert after["theirs by name and street"] == {"Owner": "[erased]", "Address": "[erased]", "City": "Tulsa"}
    assert after["theirs by phone"] == {"Owner": "[erased]", "Phone": "[erased]"}
    assert after["theirs by email"]["Email"] == "[erased]"


def test_short_names_match_as_whole_words_and_only_in_full(ray_lee):
    terms = person_terms([ray_lee.pk])
    for stranger in ("Registry hit for an area code of Raleigh, NC", "Bradley County list", "Fleetwood County list",
                     "Leeward Ray-Ban",
                     "Lee called", "ray@example.org", "Call 918-555-01049"):
        assert not names_person(stranger, terms), stranger
    for theirs in ("Spoke to Ray  Lee today", "RAY LEE", "Number 918.555.0104 on the registry", "+1 918 555 0104",
                   "Wrote to ray.lee@example.com", "9185550104", "the house at 100 Main St"):
        assert names_person(theirs, terms), theirs


def test_a_surname_of_five_letters_or_more_matches_alone_as_a_word(agent, team, national_registry):
    lead = LeadFactory(assigned_agent=agent, team=team)
    ContactFactory(lead=lead, first_name="Zenobia", last_name="Quillfeather")
    terms = person_terms([lead.pk])
    assert names_person("Quillfeather asked to stop", terms)
    assert not names_person("Quillfeathers Ltd", terms)


def test_erasure_keeps_findings_that_only_look_like_their_name(ray_lee, broker, django_capture_on_commit_callbacks):
    check = ComplianceCheckFactory(lead=ray_lee, fired=[
        ("tcpa.quiet_hours", "warn", "It is after 9 pm in Raleigh, NC, where the area code is."),
        ("dnc.national", "block", "Bradley County's list has this number."),
        ("dnc.state", "block", "On the Fleetwood County list since March."),
        ("dnc.internal", "block", "Ray Lee asked not to be called at 918-555-0104."),
    ])
    with django_capture_on_commit_callbacks(execute=True):
        privacy_erase(handled_by=broker, search=PrivacySearch(name="Ray Lee"), lead_ids=[ray_lee.pk],
                      requester="homeowner", verification="Called back the number on file.", confirmation="ERASE")
    reasons = [finding["reason"] for finding in ComplianceCheck.objects.get(pk=check.pk).findings]
    assert reasons == ["It is after 9 pm in Raleigh, NC, where the area code is.",
                       "Bradley County's list has this number.", "On the Fleetwood County list since March.",
                       "[erased]"]


def test_erasure_records_the_move_to_dead_and_revokes_the_status_page(ray_lee, agent, team, broker,
                                                                      django_capture_on_commit_callbacks):
    link = SellerLinkFactory(lead=ray_lee)
    closed = LeadFactory(assigned_agent=agent, team=team, stage=Stage.CLOSED)
    ContactFactory(lead=closed, first_name="Ray", last_name="Lee")
    with django_capture_on_commit_callbacks(execute=True):
        privacy_erase(handled_by=broker, search=PrivacySearch(name="Ray Lee"), lead_ids=[ray_lee.pk, closed.pk],
                      requester="homeowner", verification="Called back the number on file.", confirmation="ERASE")
    change = StageChange.objects.get(lead=ray_lee)
    assert (change.from_stage, change.to_stage, change.dead_reason, change.note, change.changed_by) == (
        Stage.CONTACT, Stage.DEAD, "other", CLOSED_BY_ERASURE, broker)
    assert Lead.objects.get(pk=ray_lee.pk).stage_entered_at == change.changed_at
    assert not StageChange.objects.filter(lead=closed).exists()  # already closed: no move
    assert SellerLink.objects.get(pk=link.pk).revoked_at == change.changed_at
