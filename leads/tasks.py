from celery import shared_task
from celery.signals import worker_ready

from . import services
from .models import IMPORT_STALLED_AFTER


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


@shared_task(name="leads.imports_resume_stalled")
def imports_resume_stalled() -> int:
    """Every minute, and as a worker starts: imports whose worker died (no heartbeat for a
    minute, no worker holding them) queued again; each carries on after its last committed
    batch. Run twice, it queues nothing more (a resumed job's heartbeat moved)."""
    from .imports.services import imports_resume_stalled as resume

    resumed = resume()
    for job_id in resumed:
        import_run.delay(job_id)
    return len(resumed)


@worker_ready.connect
def resume_stalled_imports_on_start(sender=None, **kwargs) -> None:
    """A worker coming back after a crash resumes the imports the dead one left: at once
    for those already a minute silent, and every 20 s until the last it may have left is
    (docs/architecture.md#prompt-recovery). A job goes silent at most a minute after its
    worker died, so each is resumed within a minute of this worker starting; beat's sweep
    would otherwise take up to another minute."""
    imports_resume_stalled.delay()
    for countdown in range(20, int(IMPORT_STALLED_AFTER.total_seconds()) + 1, 20):
        imports_resume_stalled.apply_async(countdown=countdown)


@shared_task(name="leads.pond_claims_expire", acks_late=True, reject_on_worker_lost=True)
def pond_claims_expire() -> int:
    """Claimed pond leads not worked in time go back to the pond; idempotent (row locks)."""
    from .routing import pond_claims_expire as expire

    return expire()


@shared_task(name="leads.route_unassigned", acks_late=True, reject_on_worker_lost=True)
def route_unassigned(actor_id: int, chunk: int = 500) -> dict:
    """Route every unassigned lead the actor may see by the rules, a chunk at a time; safe to
    run twice (a routed lead is no longer unassigned; one no rule matches is left as is)."""
    from leadcrm.accounts.models import User

    from .models import Lead
    from .routing import leads_route_by_rules

    actor = User.objects.get(pk=actor_id)
    done = {"assigned": 0, "to_pond": 0, "unmatched": 0}
    after = 0
    while True:
        ids = list(Lead.objects.visible_to(actor).open().filter(assigned_agent__isnull=True, pond_since__isnull=True,
                                                                 pk__gt=after)
                   .order_by("pk").values_list("pk", flat=True)[:chunk])
        if not ids:
            return done
        routed = leads_route_by_rules(leads=Lead.objects.filter(pk__in=ids), actor=actor)
        done["assigned"] += routed.assigned
        done["to_pond"] += routed.to_pond
        done["unmatched"] += routed.unmatched
        after = ids[-1]
