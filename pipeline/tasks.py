from celery import shared_task


@shared_task(name="pipeline.email_campaign_send", acks_late=True, reject_on_worker_lost=True)
def email_campaign_send(template_id: int, agent_id: int, filters: dict, base_url: str) -> dict:
    """Send a mail-merge email to the leads the filters pick. Thin and idempotent: an
    address already emailed this template today is skipped, so a redelivered task (acks
    late) never sends twice; each email is logged through the gate before it goes."""
    from pipeline.outreach.email import email_campaign_run

    sending = email_campaign_run(template_id=template_id, agent_id=agent_id, filters=filters, base_url=base_url)
    return {"sent": sending.sent, "refused": len(sending.refused), "failed": len(sending.failed)}


# Texts through the provider (pipeline/messaging). Each task claims its message's row
# before the provider is asked, so a redelivered task never sends a text twice.


@shared_task(name="pipeline.message_deliver", acks_late=True, reject_on_worker_lost=True)
def message_deliver(message_id: int) -> str:
    from pipeline.messaging.services import message_deliver as deliver

    message = deliver(message_id=message_id)
    return message.status if message else "not queued"


@shared_task(name="pipeline.messages_sweep")
def messages_sweep() -> dict:
    from pipeline.messaging.services import messages_sweep as sweep

    return sweep()


# Reminders. Beat runs the first three; they hand batches of ids to the others,
# which lock what they send and record it, so any of them may run twice or on two workers.


@shared_task(name="pipeline.reminders_dispatch")
def reminders_dispatch() -> dict:
    """Every minute: what is due to be told, in batches for the workers."""
    from pipeline.reminders.notifications import due_work

    work = due_work()
    for batch in work.reminder_batches:
        reminders_send.delay(batch)
    for batch in work.escalation_batches:
        escalations_send.delay(batch)
    for batch in work.email_batches:
        notification_emails_send.delay(batch)
    return {"reminders": sum(map(len, work.reminder_batches)), "escalations": sum(map(len, work.escalation_batches)),
            "emails": sum(map(len, work.email_batches)), "unknown": work.unknown}


@shared_task(name="pipeline.reminders_send", acks_late=True, reject_on_worker_lost=True)
def reminders_send(follow_up_ids: list[int]) -> int:
    from pipeline.reminders import notifications

    return notifications.reminders_send(follow_up_ids)


@shared_task(name="pipeline.escalations_send", acks_late=True, reject_on_worker_lost=True)
def escalations_send(follow_up_ids: list[int]) -> int:
    from pipeline.reminders import notifications

    return notifications.escalations_send(follow_up_ids)


@shared_task(name="pipeline.notification_emails_send", acks_late=True, reject_on_worker_lost=True)
def notification_emails_send(notification_ids: list[int]) -> int:
    """Email the notifications of the batch that are due to go by email (each claimed once)."""
    from pipeline.reminders import notifications

    return notifications.notification_emails_send(notification_ids)


@shared_task(name="pipeline.follow_ups_generate", acks_late=True, reject_on_worker_lost=True)
def follow_ups_generate() -> dict:
    """Deadlines, lender cadences and stale leads into follow-ups; idempotent."""
    from pipeline.reminders.rules import follow_ups_generate as generate

    return {source: {"created": g.created, "closed": g.closed} for source, g in generate().items()}


@shared_task(name="pipeline.digests_send", acks_late=True, reject_on_worker_lost=True)
def digests_send() -> int:
    from pipeline.reminders import notifications

    return notifications.digests_send()


@shared_task(name="pipeline.dnc_refresh_notices", acks_late=True, reject_on_worker_lost=True)
def dnc_refresh_notices() -> int:
    from pipeline.reminders import notifications

    return notifications.dnc_refresh_notices()


@shared_task(name="pipeline.dnc_list_counts_refresh", acks_late=True, reject_on_worker_lost=True)
def dnc_list_counts_refresh() -> int:
    """Count each list's numbers on a DNC list for the broker's report (safe to run twice:
    each run replaces the counts with its own)."""
    from pipeline.reports.compliance import dnc_list_counts_refresh as refresh

    return refresh()


@shared_task(name="pipeline.forecast_refresh", acks_late=True, reject_on_worker_lost=True)
def forecast_refresh() -> int:
    """Learn the closing forecast's model and today's back-tests, for the lead pages and the
    report (safe to run twice: each run replaces what the last one kept)."""
    from pipeline.deals.forecast.back_tests import forecast_refresh as refresh

    return refresh()


# Lead-list exports too large to send at once.


@shared_task(name="pipeline.lead_export_run", acks_late=True, reject_on_worker_lost=True)
def lead_export_run(export_id: int) -> int | None:
    """Write one export's file and tell its requester; a job already taken is skipped, so
    a redelivered message does nothing. Returns the rows written (None when skipped)."""
    from pipeline.workspace.exports import lead_export_run as run

    export = run(export_id=export_id)
    return export.row_count if export is not None else None


@shared_task(name="pipeline.lead_exports_expire", acks_late=True, reject_on_worker_lost=True)
def lead_exports_expire() -> int:
    """Hourly: delete the files of exports past their date; fail jobs whose worker died."""
    from pipeline.workspace.exports import lead_exports_expire as expire

    return expire()


# Action plans (pipeline/plans). Beat runs the dispatcher every minute; it hands batches of
# enrollment ids to plan_steps_run, which claims each enrollment before its step runs, so any
# of them may run twice or on two workers (docs/action-plans.md#exactly-once).


@shared_task(name="pipeline.plan_steps_dispatch")
def plan_steps_dispatch() -> dict:
    from pipeline.plans.runner import due_work

    work = due_work()
    for batch in work.batches:
        plan_steps_run.delay(batch)
    return {"due": sum(map(len, work.batches)), "paused": work.paused, "released": work.released}


@shared_task(name="pipeline.plan_steps_run", acks_late=True, reject_on_worker_lost=True)
def plan_steps_run(enrollment_ids: list[int]) -> dict:
    from pipeline.plans.runner import steps_run

    return steps_run(enrollment_ids)


@shared_task(name="pipeline.plan_reschedule", acks_late=True, reject_on_worker_lost=True)
def plan_reschedule(plan_id: int) -> int:
    """After a plan is edited: re-time its running leads' next steps (safe to run twice)."""
    from pipeline.plans.services import plan_enrollments_reschedule

    return plan_enrollments_reschedule(plan_id=plan_id)


@shared_task(name="pipeline.plan_automations_run", acks_late=True, reject_on_worker_lost=True)
def plan_automations_run() -> dict:
    """Every minute: enroll the leads whose events the automations name (once per event)."""
    from pipeline.plans.automations import automations_run

    return automations_run()


# Outgoing webhooks (pipeline/webhooks). One task per delivery, which claims its row before
# it sends, so a redelivered task or two workers never send one attempt twice; beat runs the
# sweeper for what the broker lost and for retries whose task did not come.


@shared_task(name="pipeline.webhook_deliver", acks_late=True, reject_on_worker_lost=True)
def webhook_deliver(delivery_id: int) -> str:
    from pipeline.webhooks.delivery import delivery_send

    delivery = delivery_send(delivery_id=delivery_id)
    return delivery.status if delivery else "not due"


@shared_task(name="pipeline.webhooks_sweep")
def webhooks_sweep() -> dict:
    """Every minute: hand out the deliveries due (retries, and any whose task was lost)."""
    from pipeline.webhooks.delivery import deliveries_sweep

    swept = deliveries_sweep()
    for pk in swept["due"]:
        webhook_deliver.delay(pk)
    return {"stuck": swept["stuck"], "due": len(swept["due"])}


@shared_task(name="pipeline.webhooks_hand_out")
def webhooks_hand_out(delivery_ids: list[int]) -> int:
    """An import batch's deliveries, written with the batch: one task each. Lost, the
    sweeper hands them out instead (they are pending rows)."""
    for pk in delivery_ids:
        webhook_deliver.delay(pk)
    return len(delivery_ids)


@shared_task(name="pipeline.webhooks_leads_created", acks_late=True, reject_on_worker_lost=True)
def webhooks_leads_created(lead_ids: list[int], at: str) -> int:
    """What an import batch queued before its deliveries were written with it: still run
    for any such message left in the queue (safe to run twice: each event is once per endpoint)."""
    from datetime import datetime

    from pipeline.webhooks.services import leads_created_record

    return leads_created_record(lead_ids=lead_ids, at=datetime.fromisoformat(at))


# Moving in from another CRM (pipeline/moving_in): one export, read and written; a queued
# import only, so a redelivered task finds it running or done and does nothing.


@shared_task(name="pipeline.crm_import_run", acks_late=True, reject_on_worker_lost=True)
def crm_import_run(job_id: int) -> str:
    from pipeline.moving_in.services import crm_import_run as run

    return run(job_id=job_id).status
