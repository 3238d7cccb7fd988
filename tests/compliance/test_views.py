"""The broker's compliance pages and the live verdict on the outreach form."""

import csv
import io
import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from compliance.models import (
    CheckMode,
    ComplianceCheck,
    InternalDncEntry,
    LoadStatus,
    RegistryLoad,
    StopOrigin,
)
from compliance.services import dnc_numbers_add, registry_load_run

from ..helpers import admin_list_rows, jobs
from .factories import ComplianceCheckFactory, RevocationReviewFactory

pytestmark = pytest.mark.django_db


def upload(client, content, name="918.txt", **fields):
    data = {"list_kind": "national", "file_kind": "full", "version_date": "2026-11-16",
            "subscription_account_number": "SAN-9", "file": SimpleUploadedFile(name, content), **fields}
    return client.post(reverse("compliance:registries"), data)


def test_a_broker_uploads_a_registry_file_and_watches_it_load(broker, client_as, django_capture_on_commit_callbacks):
    client = client_as(broker)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = upload(client, b"918,5550104\n918,5550105\n")
    load = RegistryLoad.objects.get()
    assert response["Location"] == reverse("compliance:registry_load", args=[load.pk])
    assert len(jobs(queued)) == 1  # the Celery job is sent only once the upload is committed
    page = client.get(response["Location"]).content.decode()
    assert "Queued" in page and 'hx-trigger="every 1s"' in page
    registry_load_run(load_id=load.pk)  # what the worker does
    partial = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "Loaded" in partial and "2 numbers written" in partial and "every 1s" not in partial


def test_a_file_that_is_not_a_registry_is_refused_before_anything_is_stored(broker, client_as):
    response = upload(client_as(broker), b"%PDF-1.7 binary", name="list.pdf")
    assert "This is not a registry file" in response.content.decode()
    assert not RegistryLoad.objects.exists()


def test_a_rejected_file_shows_its_line_numbers(broker, client_as):
    client = client_as(broker)
    upload(client, b"918,5550104\n918-555\n")
    load = RegistryLoad.objects.get()
    registry_load_run(load_id=load.pk)
    page = client.get(reverse("compliance:registry_load", args=[load.pk])).content.decode()
    assert load.__class__.objects.get().status == LoadStatus.REJECTED
    assert "nothing was changed" in page and "line 2" in page


def test_the_overview_shows_freshness_coverage_and_blocks(lead, agent, broker, client_as, national_registry):
    from compliance.models import Channel, Purpose
    from compliance.services import outreach_check

    outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(), channel=Channel.CALL,
                   purpose=Purpose.LISTING, actor=agent, role_disclosed=False)
    page = client_as(broker).get(reverse("compliance:overview")).content.decode()
    freshness = page[page.index("by area code"):page.index("Coverage of your leads")]
    assert "918" in freshness and "26 left" in freshness  # data of Nov 13 on Nov 18: 5 of 31 days used
    assert f'<a href="{reverse("compliance:rules")}#rule-D3" class="rule-code badge text-bg-danger"' in page


def test_the_overview_counts_blocked_attempts_not_previews_and_links_each_count(
        lead, agent, broker, client_as, national_registry):
    from compliance.models import Verdict

    def a_check(verdict, findings, mode=CheckMode.LOG):
        ComplianceCheckFactory(lead=lead, actor=agent, mode=mode, verdict=verdict, fired=findings)

    # given: an attempt blocked by A5 that F6 warned about, and live verdicts an earlier
    # version stored while the form was filled in (refused under D3 until the box was ticked)
    a_check(Verdict.BLOCK, [("A5", "block"), ("F6", "warn")])
    for _ in range(3):
        a_check(Verdict.BLOCK, [("D3", "block")], mode=CheckMode.PREVIEW)
    client = client_as(broker)

    # when
    page = client.get(reverse("compliance:overview")).content.decode()

    # then
    blocks = page[page.index("Attempts blocked, by rule"):page.index("Export the evidence")]
    assert "#rule-A5" in blocks and "#rule-D3" not in blocks and "#rule-F6" not in blocks
    [(href, shown)] = re.findall(r'<a class="num" href="([^"]+)" data-count="(\d+)">', blocks)
    assert shown == "1" and admin_list_rows(client, href) == 1


def test_an_area_code_without_data_is_listed_first_as_blocked(agent, broker, team, client_as, national_registry):
    from ..leads.factories import ContactFactory, LeadFactory, PhoneFactory

    for number in ("+19185550104", "+12085550101"):
        PhoneFactory(contact=ContactFactory(lead=LeadFactory(assigned_agent=agent, team=team)), number=number)
    page = client_as(broker).get(reverse("compliance:overview")).content.decode()
    coverage = page[page.index("Coverage of your leads"):]
    assert coverage.index("208") < coverage.index("918")
    assert "None held: calls blocked" in coverage


def test_the_evidence_export_lists_every_attempts_check_and_neutralises_formulas(lead, agent, broker, client_as):
    from compliance.models import Channel, Purpose
    from compliance.services import outreach_check

    lead.property.street = "=HYPERLINK(\"http://evil\")"
    lead.property.save()
    outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(), channel=Channel.CALL,
                   purpose=Purpose.LISTING, actor=agent, role_disclosed=True)
    outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(), channel=Channel.CALL,
                   purpose=Purpose.LISTING, actor=agent, role_disclosed=False)
    # A live verdict stored by an earlier version: no attempt's evidence, not exported.
    ComplianceCheckFactory(lead=lead, actor=agent, mode=CheckMode.PREVIEW, verdict="block", rule_ids=["D3"])
    response = client_as(broker).get(reverse("compliance:checks_export"), {"start": "2026-11-01", "end": "2026-11-30"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["checked_at_utc", "verdict", "rules"]
    assert [row[1] for row in rows[1:]] == ["allow", "block"]
    assert rows[2][2] == "D3"
    assert all(row[12].startswith("'=") for row in rows[1:])
    assert rows[1][13] == "2026-11-13"  # the registry version the check used


def test_a_broker_decides_a_pending_review(lead, agent, broker, client_as):
    review = RevocationReviewFactory(lead=lead, phone_number="+19185550104")
    client_as(broker).post(reverse("compliance:review_decide", args=[review.pk]), {"decision": "revoked"})
    review.refresh_from_db()
    assert review.status == "revoked"
    assert InternalDncEntry.objects.exclude(origin=StopOrigin.COVERED).get().phone_number == "+19185550104"


def test_the_live_verdict_previews_a_refusal_and_records_nothing(lead, agent, client_as, national_registry):
    dnc_numbers_add(source=national_registry, numbers=["9185550104"], as_of=date(2026, 11, 15))
    client = client_as(agent)
    preview = reverse("pipeline:outreach_preview", args=[lead.pk])
    form = {"channel": "call", "phone": lead.contacts.first().phones.first().pk, "purpose": "short_sale_listing"}
    # As the form asks: on load (nothing ticked yet), then on each change.
    client.post(preview, form, HTTP_HX_REQUEST="true")
    response = client.post(preview, {**form, "role_disclosed": "on"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "not allowed now" in page and "A5" in page
    assert f'href="{reverse("compliance:rules")}#rule-A5"' in page  # the code explains itself
    assert not ComplianceCheck.objects.exists()
    assert not lead.outreach_attempts.exists()


def test_the_live_verdict_is_clear_for_a_compliant_call(lead, agent, client_as):
    response = client_as(agent).post(
        reverse("pipeline:outreach_preview", args=[lead.pk]),
        {"channel": "call", "phone": lead.contacts.first().phones.first().pk, "purpose": "short_sale_listing",
         "role_disclosed": "on"},
    )
    assert "clear to contact now" in response.content.decode()


def test_before_the_disclosure_is_ticked_the_live_verdict_says_so_calmly(lead, agent, client_as):
    response = client_as(agent).post(
        reverse("pipeline:outreach_preview", args=[lead.pk]),
        {"channel": "call", "phone": lead.contacts.first().phones.first().pk, "purpose": "short_sale_listing"},
    )
    page = response.content.decode()
    assert "clear once you have said who you are" in page and "not allowed now" not in page


@pytest.mark.parametrize("who", ["agent", "team_lead", "broker"])
def test_every_signed_in_user_reads_every_rule_in_plain_english(who, request, client_as):
    from compliance.rules import RULES

    page = client_as(request.getfixturevalue(who)).get(reverse("compliance:rules")).content.decode()
    for code, rule in RULES.items():
        assert f'id="rule-{code}"' in page, code
        assert rule.explanation and rule.source and "COMPLIANCE_RULES" not in rule.source
    assert "Registry data older than this on the call date blocks." in page  # A3's number in force
    assert client_as(None).get(reverse("compliance:rules")).status_code == 302


def test_a_rule_code_renders_as_a_link_to_its_entry_with_its_title():
    from django.template import Context, Template

    rendered = Template('{% load rules %}{{ "D3"|rule_link:"badge text-bg-danger" }} {{ "ZZ"|rule_link }} '
                        '{{ text|rule_codes }}').render(Context({"text": "Blocked by A3 & <b>B1</b>"}))
    url = reverse("compliance:rules")
    assert rendered.startswith(f'<a href="{url}#rule-D3" class="rule-code badge text-bg-danger" '
                               'title="D3: The caller states their name, brokerage and the purpose of the contact">'
                               'D3</a> ZZ ')
    assert f'<a href="{url}#rule-A3"' in rendered and "&amp; &lt;b&gt;" in rendered and f'{url}#rule-B1' in rendered
