"""A homeowner's privacy requests: the download, the erasure across every model that
holds them, what is kept, and the append-only record of it (docs/privacy.md)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from compliance.models import ComplianceCheck, InternalDncEntry
from leadcrm.shared.append_only import AppendOnlyError, privacy_erasure
from leads.filters import search_q
from leads.models import Lead, Stage
from pipeline.models import FollowUp, OutreachAttempt, PrivacyAction, PrivacyRequest
from pipeline.privacy.coverage import held_models, kept_for, personal_fields, redactions_for
from pipeline.privacy.selectors import PrivacySearch, privacy_matches, privacy_package, privacy_preview
from pipeline.privacy.services import CLOSING, NOT_CONFIRMED, privacy_access_answer, privacy_erase

from ...leadcrm.test_url_walk import OWNER_NAME, PHONE, World
from ...leads.factories import ContactFactory, LeadFactory, PhoneFactory
from ..factories import LeadNoteFactory

pytestmark = pytest.mark.django_db

SENTINELS = ("quillfeather", "zenobia", "wyvernhollow", "5550187", "555-0187", "xanthoria")
VERIFIED = "Called back on the number we hold; matched the loan's last four digits."


@pytest.fixture
def world(agent, team, team_lead, other_agent, other_team, broker, national_registry, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return World(agent=agent, team=team, team_lead=team_lead, other_agent=other_agent, other_team=other_team,
                 broker=broker, registry=national_registry)


def _search():
    return PrivacySearch(name=f"Zenobia {OWNER_NAME}", phone="(918) 555-0187")


def _records(package: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return json.loads(archive.read("records.json"))["records"]


def _erase(world, django_capture_on_commit_callbacks, lead_ids=None):
    with django_capture_on_commit_callbacks(execute=True):
        return privacy_erase(handled_by=world.broker, search=_search(), lead_ids=lead_ids or [world.lead.pk],
                             requester="homeowner", verification=VERIFIED, confirmation="ERASE")


def test_every_text_field_of_every_held_model_is_redacted_or_kept_with_a_reason():
    missing = [f"{held.label}.{name}" for held in held_models() for name in personal_fields(held.model)
               if name not in redactions_for(held.model) and name not in kept_for(held.model)]
    assert not missing, ("Say in pipeline/privacy/coverage.py whether an erasure redacts these or keeps them "
                         f"(KEPT, with why): {missing}")


def test_the_walk_finds_history_documents_evidence_and_the_outreach_log():
    labels = {held.label for held in held_models()}
    assert {"leads.contact", "leads.historicalcontact", "leads.historicalphone", "leads.historicalproperty",
            "pipeline.documentupload", "compliance.evidencefile", "compliance.compliancecheck",
            "pipeline.outreachattempt", "pipeline.sellerevent", "pipeline.negotiator", "pipeline.offer"} <= labels


def test_search_finds_the_homeowner_by_name_phone_email_and_street_with_why(world, broker):
    for search in (PrivacySearch(name=f"zenobia {OWNER_NAME.lower()}"), PrivacySearch(phone="918.555.0187"),
                   PrivacySearch(email="Zenobia.Quillfeather@example.com"), PrivacySearch(address="7319 Wyvernhollow Road")):
        matches = privacy_matches(fetched_by=broker, search=search)
        assert matches.lead_ids == [world.lead.pk], search
        assert matches.leads[0].reasons


def test_download_holds_every_record_history_and_the_files(world, broker):
    request, package = privacy_access_answer(handled_by=broker, search=_search(), lead_ids=[world.lead.pk],
                                             requester="homeowner", verification=VERIFIED)
    records = _records(package)
    assert {"leads.lead", "leads.contact", "leads.phone", "leads.email", "leads.property", "leads.hardshiprecord",
            "leads.lien", "leads.foreclosurerecord", "pipeline.leadnote", "pipeline.followup",
            "pipeline.outreachattempt", "compliance.compliancecheck", "compliance.consentrecord",
            "compliance.establishedrelationship", "compliance.interestdisclosure", "compliance.evidencefile",
            "pipeline.documentupload", "pipeline.sellerevent", "pipeline.offer", "pipeline.fee",
            "leads.historicalcontact", "leads.historicalphone", "leads.importrowissue",
            "compliance.internaldncentry"} <= set(records)
    assert records["leads.contact"][0]["last_name"] == OWNER_NAME
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        names = archive.namelist()
        files = [name for name in names if name.startswith("files/")]
        assert len(files) == 2  # the hardship letter and the consent proof
        assert b"%PDF-1.4 hardship letter" in [archive.read(name) for name in files]
        assert OWNER_NAME in archive.read("summary.csv").decode()
    # the record of the request names no one
    stored = json.dumps([request.term_hashes, request.verification, request.lead_ids]).lower()
    assert not any(sentinel in stored for sentinel in SENTINELS)
    assert request.kind == "access" and request.actions.filter(model="leads.contact", rows=1).exists()


def test_erasure_leaves_nothing_of_the_person_but_the_do_not_contact_entry(world, broker,
                                                                          django_capture_on_commit_callbacks):
    stored_files = [world.document.stored_file, world.evidence_file.stored_file]
    assert all(default_storage.exists(name) for name in stored_files)
    check_verdicts = dict(ComplianceCheck.objects.filter(lead=world.lead).values_list("pk", "verdict"))
    check_rules = dict(ComplianceCheck.objects.filter(lead=world.lead).values_list("pk", "rule_ids"))

    request = _erase(world, django_capture_on_commit_callbacks)

    package, _ = privacy_package(fetched_by=broker, lead_ids=[world.lead.pk])
    records = _records(package)
    dnc = records.pop("compliance.internaldncentry")
    # an agent's own list (B3) keeps the stops' numbers and addresses, as the entries do
    agent_lists = records.pop("compliance.agentdncentry", [])
    assert {(e["phone_number"], e["email"]) for e in agent_lists} <= {(e["phone_number"], e["email"]) for e in dnc}
    text = json.dumps(records).lower()
    assert not [sentinel for sentinel in SENTINELS if sentinel in text]
    # the do-not-call entry keeps the number, loses the words
    assert [entry["phone_number"] for entry in dnc if entry["phone_number"]] == [PHONE]
    # and the entries covering the owner's email and mailing address with it (B1) keep those, and only those
    assert {entry["origin"] for entry in dnc if not entry["phone_number"]} == {"covered"}
    assert OWNER_NAME.lower() not in json.dumps([{**entry, "email": ""} for entry in dnc]).lower()
    assert records["leads.contact"][0]["last_name"] == "[erased]"
    assert records["leads.historicalcontact"] and all(row["last_name"] == "[erased]"
                                                      for row in records["leads.historicalcontact"])
    assert all(row["original_name"] == "[erased]" for row in records["pipeline.documentupload"])
    # files gone from storage, rows kept
    assert not any(default_storage.exists(name) for name in stored_files)
    # evidence keeps its decisions, times and rules
    assert dict(ComplianceCheck.objects.filter(lead=world.lead).values_list("pk", "verdict")) == check_verdicts
    assert dict(ComplianceCheck.objects.filter(lead=world.lead).values_list("pk", "rule_ids")) == check_rules
    attempt = OutreachAttempt.objects.get(pk=world.outreach_attempt.pk)
    assert attempt.contact_point == "[erased]" and attempt.occurred_at == world.outreach_attempt.occurred_at
    # the lead is closed, and the record says what was done
    assert Lead.objects.get(pk=world.lead.pk).stage == Stage.DEAD
    assert not FollowUp.objects.filter(lead=world.lead, done_at__isnull=True).exists()
    actions = {action.model: action for action in request.actions.all()}
    assert actions["leads.contact"].rows == 1 and "last_name" in actions["leads.contact"].fields
    assert actions["pipeline.documentupload"].files_removed == 1
    assert actions["compliance.evidencefile"].files_removed == 1


def test_after_erasure_search_and_the_lead_list_no_longer_find_them(world, broker, client_as,
                                                                  django_capture_on_commit_callbacks):
    _erase(world, django_capture_on_commit_callbacks)
    assert privacy_matches(fetched_by=broker, search=_search()).leads == []
    for query in (OWNER_NAME, "918 555 0187", "zenobia.quillfeather@example.com", "Wyvernhol"):
        # the lead list's search box, which smart lists save (leads.filters.search_q)
        page = client_as(broker).get("/leads/", {"q": query}).content.decode()
        assert f"/leads/{world.lead.pk}/" not in page
        assert not Lead.objects.filter(search_q(query)).exists()
    # the API (which has no text search) answers the lead without any of it
    api = client_as(broker).get(f"/api/leads/{world.lead.pk}/").content.decode().lower()
    assert api and not [sentinel for sentinel in SENTINELS if sentinel in api]


def test_after_erasure_a_reimported_number_cannot_be_called(world, agent, team,
                                                          django_capture_on_commit_callbacks):
    from compliance.services import phones_reflag
    from pipeline.outreach.services import OutreachBlocked, outreach_log

    _erase(world, django_capture_on_commit_callbacks)
    again = LeadFactory(assigned_agent=agent, team=team)
    phone = PhoneFactory(contact=ContactFactory(lead=again, last_name=OWNER_NAME), number=PHONE)
    phones_reflag(numbers=[PHONE])  # what an import does for its phones (leads.signals.import_written)
    with pytest.raises(OutreachBlocked):
        outreach_log(lead=again, channel="call", contact_point=phone, outcome="no_answer", actor=agent,
                     role_disclosed=True, purpose="short_sale_listing")


def test_erasure_is_refused_while_a_lead_is_closing(world, django_capture_on_commit_callbacks):
    Lead.objects.filter(pk=world.lead.pk).update(stage=Stage.CLOSE)
    with pytest.raises(ValidationError) as refused:
        _erase(world, django_capture_on_commit_callbacks)
    assert CLOSING.format(lead=world.lead.pk) in refused.value.messages
    assert not PrivacyRequest.objects.exists()
    world.contact.refresh_from_db()
    assert world.contact.last_name == OWNER_NAME


def test_erasure_needs_the_typed_word(world, broker):
    with pytest.raises(ValidationError) as refused:
        privacy_erase(handled_by=broker, search=_search(), lead_ids=[world.lead.pk], requester="homeowner",
                      verification=VERIFIED, confirmation="erase")
    assert NOT_CONFIRMED in refused.value.messages
    assert not PrivacyRequest.objects.exists()


def test_redact_is_refused_outside_an_erasure():
    with pytest.raises(AppendOnlyError):
        OutreachAttempt.objects.all().redact(notes="x")


@pytest.mark.django_db(transaction=True)
def test_an_erasure_outside_a_transaction_is_refused():
    with pytest.raises(AppendOnlyError):
        with privacy_erasure():
            pass


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_trigger_refuses_update_outside_erasure_and_delete_always(world):
    table = InternalDncEntry._meta.db_table
    for sql in (f"UPDATE {table} SET homeowner_words = 'x'", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    with pytest.raises(DatabaseError), transaction.atomic(), privacy_erasure(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
    # after the erasure block, the same transaction is closed again
    with pytest.raises(DatabaseError), transaction.atomic():
        with privacy_erasure():
            pass
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET homeowner_words = 'x'")


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_request_record_is_append_only(world, broker, django_capture_on_commit_callbacks):
    _erase(world, django_capture_on_commit_callbacks)
    for table in (PrivacyRequest._meta.db_table, PrivacyAction._meta.db_table):
        for sql in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
    with pytest.raises(AppendOnlyError):
        PrivacyRequest.objects.all().delete()


def test_preview_and_download_queries_do_not_grow_with_rows(world, broker, agent):
    def queries(work):
        with CaptureQueriesContext(connection) as captured:
            work()
        return len(captured)

    preview = lambda: privacy_preview(fetched_by=broker, lead_ids=[world.lead.pk])  # noqa: E731
    package = lambda: privacy_package(fetched_by=broker, lead_ids=[world.lead.pk])  # noqa: E731
    preview(), package()  # warm: the broker's permissions, content types
    before = (queries(preview), queries(package))
    LeadNoteFactory.create_batch(5, lead=world.lead, author=agent)
    for n in range(3):
        PhoneFactory(contact=world.contact, number=f"+1918555030{n}")
    assert (queries(preview), queries(package)) == before


def test_erasure_queries_do_not_grow_with_notes(agent, team, broker, django_capture_on_commit_callbacks):
    def person(notes: int, number: str) -> Lead:
        lead = LeadFactory(assigned_agent=agent, team=team)
        PhoneFactory(contact=ContactFactory(lead=lead), number=number)
        LeadNoteFactory.create_batch(notes, lead=lead, author=agent)
        return lead

    def queries(lead) -> int:
        with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=True):
            privacy_erase(handled_by=broker, search=PrivacySearch(name="x"), lead_ids=[lead.pk],
                          requester="homeowner", verification=VERIFIED, confirmation="ERASE")
        return len(captured)

    queries(person(1, "+19185550301"))  # warm: the broker's permissions, content types
    assert queries(person(1, "+19185550302")) == queries(person(8, "+19185550303"))


def test_erasure_covers_the_leads_merged_into_the_chosen_one(agent, team, broker,
                                                            django_capture_on_commit_callbacks):
    survivor = LeadFactory(assigned_agent=agent, team=team)
    merged = LeadFactory(assigned_agent=agent, team=team, merged_into=survivor)
    contact = ContactFactory(lead=merged, last_name=OWNER_NAME)
    with django_capture_on_commit_callbacks(execute=True):
        privacy_erase(handled_by=broker, search=PrivacySearch(name=OWNER_NAME), lead_ids=[survivor.pk],
                      requester="homeowner", verification=VERIFIED, confirmation="ERASE")
    contact.refresh_from_db()
    assert contact.last_name == "[erased]"
