"""The events webhooks send, from the signals of the apps that raise them (connected in
``PipelineConfig.ready``). Each writes deliveries in the sender's transaction; the
request never waits on an endpoint (docs/webhooks.md#events)."""

from __future__ import annotations

from django.dispatch import receiver

from leads.signals import lead_created, leads_created
from pipeline.models import WebhookEvent
from pipeline.signals import document_received, follow_ups_due, lead_stage_changed, outreach_logged

from .payloads import person, when
from .services import Occurrence, active_events, deliveries_record, leads_created_record


@receiver(lead_created, dispatch_uid="webhooks-lead-created")
def lead_created_record(*, lead, at, **kwargs) -> None:
    deliveries_record(event=WebhookEvent.LEAD_CREATED, occurrences=[
        Occurrence(lead.pk, f"lead.created:{lead.pk}", at, {"source": lead.source})])


@receiver(leads_created, dispatch_uid="webhooks-leads-imported")
def leads_imported_record(*, lead_ids, at, **kwargs) -> None:
    """An import's batch: its deliveries are written with the batch, a few queries for a
    thousand leads (none when no endpoint wants lead.created), so a broker down when it
    commits loses nothing: the sweeper finds them pending."""
    if lead_ids and WebhookEvent.LEAD_CREATED in active_events():
        leads_created_record(lead_ids=list(lead_ids), at=at)


@receiver(lead_stage_changed, dispatch_uid="webhooks-stage-changed")
def stage_changed_record(*, lead, from_stage, at, **kwargs) -> None:
    deliveries_record(event=WebhookEvent.LEAD_STAGE_CHANGED, occurrences=[
        Occurrence(lead.pk, f"lead.stage_changed:{lead.pk}:{int(at.timestamp() * 1000)}:{lead.stage}", at,
                   {"from_stage": from_stage, "to_stage": lead.stage})])


@receiver(outreach_logged, dispatch_uid="webhooks-outreach-logged")
def outreach_logged_record(*, attempt, **kwargs) -> None:
    deliveries_record(event=WebhookEvent.OUTREACH_LOGGED, occurrences=[
        Occurrence(attempt.lead_id, f"outreach.logged:{attempt.pk}", attempt.occurred_at, {"outreach": {
            "id": attempt.pk, "channel": attempt.channel, "direction": attempt.direction, "outcome": attempt.outcome,
            "purpose": attempt.purpose, "occurred_at": when(attempt.occurred_at), "agent": person(attempt.agent)}})])


@receiver(follow_ups_due, dispatch_uid="webhooks-follow-ups-due")
def follow_ups_due_record(*, follow_ups, at, **kwargs) -> None:
    """Once per follow-up and due time: told again (another agent), nothing is sent again."""
    deliveries_record(event=WebhookEvent.FOLLOW_UP_DUE, occurrences=[
        Occurrence(f.lead_id, f"follow_up.due:{f.pk}:{int(f.due_at.timestamp())}", f.due_at, {"follow_up": {
            "id": f.pk, "title": f.title, "kind": f.kind, "due_at": when(f.due_at), "assignee": person(f.assignee)}})
        for f in follow_ups])


@receiver(document_received, dispatch_uid="webhooks-document-received")
def document_received_record(*, upload, lead, at, **kwargs) -> None:
    item = upload.item
    deliveries_record(event=WebhookEvent.DOCUMENT_RECEIVED, occurrences=[
        Occurrence(lead.pk, f"document.received:{upload.pk}", at, {"document": {
            "id": upload.pk, "kind": item.kind, "lien_id": item.lien_id, "name": upload.original_name,
            "content_type": upload.content_type, "size": upload.size, "from_seller": upload.from_seller,
            "uploaded_by": person(upload.uploaded_by)}})])
