"""Each event writes exactly one delivery per endpoint, with the owner's view of the lead,
in the event's transaction."""

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel
from leads.models import DeadReason, LeadSource, LeadType, Stage
from leads.services import lead_create
from leads.signals import leads_created
from pipeline.deals.documents import document_upload
from pipeline.deals.services import lead_stage_change
from pipeline.models import (
    DocumentKind,
    Outcome,
    WebhookDelivery,
    WebhookEvent,
)
from pipeline.outreach.services import outreach_log
from pipeline.reminders.notifications import reminders_send
from pipeline.seller.access import seller_link_create
from pipeline.webhooks.services import active_events, endpoint_create, leads_created_record

from ...leads.factories import LeadFactory, LienFactory, PropertyFactory
from ..factories import FollowUpFactory
from .conftest import ALL_EVENTS, send_pending

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n"


def only_delivery(event):
    deliveries = list(WebhookDelivery.objects.filter(event=event))
    assert len(deliveries) == 1, deliveries
    return deliveries[0]


def lead_part(lead):
    return {"id": lead.pk, "address": lead.property.one_line, "stage": lead.stage,
            "assigned_agent": {"id": lead.assigned_agent_id, "name": lead.assigned_agent.get_full_name()}}


def test_a_new_lead_is_sent_once_with_its_source(endpoint, receiver, agent, team):
    lead = lead_create(property=PropertyFactory(), lead_type=LeadType.NOD, source=LeadSource.MANUAL,
                       assigned_agent=agent, team=team)
    delivery = only_delivery(WebhookEvent.LEAD_CREATED)
    assert delivery.data == {"lead": lead_part(lead), "source": "manual"}
    send_pending()
    body = receiver.wait_for(1)[0].json
    assert body["type"] == "lead.created" and body["id"] == delivery.pk
    assert body["data"]["lead"]["id"] == lead.pk and body["occurred_at"].endswith("Z")


def test_a_stage_move_is_sent_with_both_stages(endpoint, lead, agent):
    lead_stage_change(lead=lead, to_stage=Stage.DEAD, dead_reason=DeadReason.REINSTATED, actor=agent)
    lead.refresh_from_db()
    delivery = only_delivery(WebhookEvent.LEAD_STAGE_CHANGED)
    assert delivery.data == {"lead": lead_part(lead), "from_stage": "list", "to_stage": "dead"}
    assert delivery.lead_id == lead.pk


def test_outreach_logged_is_sent_without_the_homeowners_number_or_notes(endpoint, lead, agent):
    phone = lead.contacts.first().phones.first()
    attempt = outreach_log(lead=lead, channel=Channel.CALL, contact_point=phone, outcome=Outcome.NO_ANSWER,
                           actor=agent, role_disclosed=True, notes="Left no message: private words")
    delivery = only_delivery(WebhookEvent.OUTREACH_LOGGED)
    outreach = delivery.data["outreach"]
    assert outreach["id"] == attempt.pk and outreach["channel"] == "call" and outreach["outcome"] == "no_answer"
    assert outreach["agent"] == {"id": agent.pk, "name": "Ana Torres"}
    assert phone.number[-7:] not in str(delivery.data) and "private words" not in str(delivery.data)


def test_a_follow_up_due_is_sent_once_per_due_time(endpoint, lead, agent, other_agent):
    moment = timezone.now() - timedelta(minutes=5)
    follow_up = FollowUpFactory(lead=lead, assignee=agent, due_at=moment, notify_at=moment, title="Call back")
    assert reminders_send([follow_up.pk]) == 1
    delivery = only_delivery(WebhookEvent.FOLLOW_UP_DUE)
    assert delivery.data["follow_up"]["id"] == follow_up.pk
    assert delivery.data["follow_up"]["title"] == "Call back"
    assert delivery.event_key == f"follow_up.due:{follow_up.pk}:{int(moment.timestamp())}"
    # Told again (a redelivered batch, the notice reset): the same event, nothing more.
    follow_up.refresh_from_db()
    follow_up.notified_at = None
    follow_up.save()
    reminders_send([follow_up.pk])
    assert WebhookDelivery.objects.filter(event=WebhookEvent.FOLLOW_UP_DUE).count() == 1
    # Moved to another time: a new event.
    follow_up.due_at = follow_up.notify_at = moment + timedelta(minutes=1)
    follow_up.notified_at = None
    follow_up.save()
    reminders_send([follow_up.pk])
    assert WebhookDelivery.objects.filter(event=WebhookEvent.FOLLOW_UP_DUE).count() == 2


def test_a_document_from_the_agent_is_sent(endpoint, lead, agent):
    upload = document_upload(lead=lead, kind=DocumentKind.HARDSHIP_LETTER, actor=agent,
                             file=SimpleUploadedFile("hardship.pdf", PDF))
    document = only_delivery(WebhookEvent.DOCUMENT_RECEIVED).data["document"]
    assert document == {"id": upload.pk, "kind": "hardship_letter", "lien_id": None, "name": "hardship.pdf",
                        "content_type": "application/pdf", "size": len(PDF), "from_seller": False,
                        "uploaded_by": {"id": agent.pk, "name": "Ana Torres"}}


def test_a_document_from_the_seller_page_is_sent(endpoint, lead, agent):
    lien = LienFactory(lead=lead)
    token = seller_link_create(lead=lead, actor=agent)
    response = Client(REMOTE_ADDR="203.0.113.9").post(
        reverse("pipeline:seller_upload", args=[token]),
        {"document": f"{DocumentKind.AUTHORIZATION}:{lien.pk}", "file": SimpleUploadedFile("auth.pdf", PDF)})
    assert response.status_code == 302
    document = only_delivery(WebhookEvent.DOCUMENT_RECEIVED).data["document"]
    assert document["from_seller"] is True and document["uploaded_by"] is None and document["lien_id"] == lien.pk


def test_an_endpoint_gets_only_the_events_it_asked_for(broker, receiver, lead, agent):
    endpoint_create(owner=broker, url=receiver.url, events=["lead.created"])
    lead_stage_change(lead=lead, to_stage=Stage.DEAD, dead_reason=DeadReason.REINSTATED, actor=agent)
    assert not WebhookDelivery.objects.exists()


def test_an_endpoint_whose_owner_cannot_see_the_lead_gets_nothing(broker, other_agent, receiver, lead, agent):
    endpoint_create(owner=broker, url=receiver.url, events=ALL_EVENTS)
    outsider = endpoint_create(owner=other_agent, url=receiver.url + "/other", events=ALL_EVENTS)
    lead_stage_change(lead=lead, to_stage=Stage.DEAD, dead_reason=DeadReason.REINSTATED, actor=agent)
    assert WebhookDelivery.objects.count() == 1
    assert not WebhookDelivery.objects.filter(endpoint=outsider).exists()


def test_a_rolled_back_change_sends_nothing(endpoint, lead, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            lead_stage_change(lead=lead, to_stage=Stage.DEAD, dead_reason=DeadReason.REINSTATED, actor=agent)
            assert WebhookDelivery.objects.count() == 1  # written in the change's transaction ...
            raise RuntimeError("the request failed after the move")
    assert not WebhookDelivery.objects.exists()  # ... and gone with it
    assert not callbacks  # nothing was queued


def test_a_deactivated_owners_endpoint_is_disabled_and_sent_nothing(endpoint, broker, lead, agent):
    broker.is_active = False
    broker.save()
    lead_stage_change(lead=lead, to_stage=Stage.DEAD, dead_reason=DeadReason.REINSTATED, actor=agent)
    assert not WebhookDelivery.objects.exists()
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "deactivated" in endpoint.disabled_reason


def test_an_import_batch_writes_its_deliveries_with_it_and_queues_one_task(
        endpoint, agent, team, django_capture_on_commit_callbacks, django_assert_max_num_queries):
    leads = [LeadFactory(assigned_agent=agent, team=team) for _ in range(30)]
    ids = [lead.pk for lead in leads]
    active_events()  # known from the batch before
    with django_capture_on_commit_callbacks() as callbacks:
        with django_assert_max_num_queries(12):  # a fixed few, not one per lead
            leads_created.send(sender=None, lead_ids=ids, at=timezone.now())
    assert len(callbacks) == 1  # one task hands the batch's deliveries out
    assert set(WebhookDelivery.objects.values_list("lead_id", flat=True)) == set(ids)
    assert leads_created_record(lead_ids=ids, at=timezone.now()) == 0  # run twice: nothing more
    # A batch rolled back writes nothing.
    more = [LeadFactory(assigned_agent=agent, team=team).pk for _ in range(3)]
    with pytest.raises(RuntimeError), transaction.atomic():
        leads_created.send(sender=None, lead_ids=more, at=timezone.now())
        raise RuntimeError("the batch failed")
    assert not WebhookDelivery.objects.filter(lead_id__in=more).exists()


def test_an_import_batch_with_no_endpoint_for_lead_created_pays_no_query(
        broker, receiver, agent, team, django_capture_on_commit_callbacks, django_assert_num_queries):
    endpoint_create(owner=broker, url=receiver.url, events=["lead.stage_changed"])
    ids = [LeadFactory(assigned_agent=agent, team=team).pk for _ in range(3)]
    active_events()
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(0):
        leads_created.send(sender=None, lead_ids=ids, at=timezone.now())
    assert not callbacks and not WebhookDelivery.objects.exists()


def test_with_no_endpoint_an_event_costs_no_query_once_known(broker, receiver, django_assert_num_queries):
    assert active_events() == frozenset()
    with django_assert_num_queries(0):
        assert active_events() == frozenset()
    endpoint_create(owner=broker, url=receiver.url, events=["lead.created"])
    assert active_events() == {"lead.created"}  # a new endpoint is seen at once


def test_a_list_import_sends_one_signal_per_batch_and_a_delivery_per_new_lead(
        endpoint, broker, django_capture_on_commit_callbacks):
    from pathlib import Path

    from leads.imports.services import import_job_create, import_run

    batches = []
    leads_created.connect(lambda **kwargs: batches.append(kwargs["lead_ids"]), weak=False, dispatch_uid="t-batches")
    try:
        sample = Path(__file__).resolve().parents[2] / "fixtures" / "samples" / "propstream_export_sample.csv"
        with django_capture_on_commit_callbacks():
            job = import_job_create(content=sample.read_bytes(), file_name="list.csv", created_by=broker,
                                    list_name="list.csv", source="propstream")
            job = import_run(job_id=job.pk)
    finally:
        leads_created.disconnect(dispatch_uid="t-batches")
    assert sum(map(len, batches)) == job.leads_created == 40
    assert WebhookDelivery.objects.filter(event=WebhookEvent.LEAD_CREATED).count() == 40  # written with the batch


def test_an_import_batchs_deliveries_lost_with_the_broker_are_handed_out_by_the_sweeper(
        endpoint, broker, receiver, django_capture_on_commit_callbacks, monkeypatch):
    """The broker is down when the batch commits: the hand-out task is never queued, and
    nothing is lost: the sweeper finds the batch's deliveries pending and hands them out."""
    from pathlib import Path

    from kombu.exceptions import OperationalError

    from leads.imports.services import import_job_create, import_run
    from pipeline import tasks
    from pipeline.webhooks.delivery import SWEEP_GRACE, deliveries_sweep

    published = []

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.webhooks_hand_out, "apply_async", broker_down)
    monkeypatch.setattr(tasks.webhooks_leads_created, "apply_async", broker_down)
    monkeypatch.setattr(tasks.webhook_deliver, "delay", published.append)
    sample = Path(__file__).resolve().parents[2] / "fixtures" / "samples" / "propstream_export_sample.csv"
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(content=sample.read_bytes(), file_name="list.csv", created_by=broker,
                                list_name="list.csv", source="propstream")
        job = import_run(job_id=job.pk)
    assert job.leads_created == 40 and not published  # nothing reached a worker
    deliveries = set(WebhookDelivery.objects.filter(event=WebhookEvent.LEAD_CREATED).values_list("pk", flat=True))
    assert len(deliveries) == 40
    later = timezone.now() + SWEEP_GRACE + timedelta(seconds=1)
    assert set(deliveries_sweep(now=later)["due"]) == deliveries
    with time_machine.travel(later, tick=False):
        assert tasks.webhooks_sweep() == {"stuck": 0, "due": 40}
    assert set(published) == deliveries  # each to a worker, as the lost task would have
    assert len(send_pending()) == 40 and len(receiver.wait_for(40)) == 40
