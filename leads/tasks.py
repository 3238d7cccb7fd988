from celery import shared_task

from . import services


@shared_task(name="leads.open_leads_rescore")
def open_leads_rescore() -> int:
    """Nightly: scores depend on time (days since contact), so they age without edits."""
    return services.open_leads_rescore()


@shared_task(name="leads.leads_rescore")
def leads_rescore(lead_ids: list[int]) -> int:
    return services.leads_rescore(lead_ids=lead_ids)
