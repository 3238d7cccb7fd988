from celery import shared_task

from . import services


@shared_task(name="leads.open_leads_rescore")
def open_leads_rescore() -> int:
    """Nightly: scores depend on time (days since contact), so they age without edits."""
    return services.open_leads_rescore()


@shared_task(name="leads.leads_rescore")
def leads_rescore(lead_ids: list[int]) -> int:
    return services.leads_rescore(lead_ids=lead_ids)


@shared_task(name="leads.import_run", acks_late=True, reject_on_worker_lost=True)
def import_run(job_id: int) -> str:
    """Import one list file; a redelivered task resumes after the last committed batch."""
    from .imports.services import import_run as run

    return run(job_id=job_id).status


@shared_task(name="leads.pond_claims_expire", acks_late=True, reject_on_worker_lost=True)
def pond_claims_expire() -> int:
    """Claimed pond leads not worked in time go back to the pond; idempotent (row locks)."""
    from .routing import pond_claims_expire as expire

    return expire()
