from celery import shared_task


@shared_task(name="pipeline.email_campaign_send", acks_late=True, reject_on_worker_lost=True)
def email_campaign_send(template_id: int, agent_id: int, filters: dict, base_url: str) -> dict:
    """Send a mail-merge email to the leads the filters pick. Thin and idempotent: an
    address already emailed this template today is skipped, so a redelivered task (acks
    late) never sends twice; each email is logged through the gate before it goes."""
    from .marketing import email_campaign_run

    sending = email_campaign_run(template_id=template_id, agent_id=agent_id, filters=filters, base_url=base_url)
    return {"sent": sending.sent, "refused": len(sending.refused), "failed": len(sending.failed)}
