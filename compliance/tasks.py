from celery import shared_task
from celery.signals import worker_ready

from . import services
from .models import REGISTRY_STALLED_AFTER


@shared_task(name="compliance.registry_load_run", acks_late=True, reject_on_worker_lost=True)
def registry_load_run(load_id: int) -> str | None:
    """Load one uploaded registry file; safe to run twice (the load is claimed under a lock).

    The load re-flags the phones whose numbers it added or removed itself, in its own
    transaction (docs/compliance-rules.md#a5).
    """
    load = services.registry_load_run(load_id=load_id)
    return load.status if load else None


@shared_task(name="compliance.registry_loads_resume_stalled")
def registry_loads_resume_stalled() -> int:
    """Every minute, and as a worker starts: loads whose worker died (silent for a minute)
    queued again; nothing of theirs was written, so each starts over. Run twice, it queues
    nothing more (a resumed load is queued, no longer reading)."""
    resumed = services.registry_loads_resume_stalled()
    for load_id in resumed:
        registry_load_run.delay(load_id)
    return len(resumed)


@worker_ready.connect
def resume_stalled_loads_on_start(sender=None, **kwargs) -> None:
    """A worker coming back after a crash resumes the registry loads the dead one left: at
    once, and every 20 s until a load it may have left is a minute silent, so within a
    minute of this worker starting (docs/architecture.md#prompt-recovery)."""
    registry_loads_resume_stalled.delay()
    for countdown in range(20, int(REGISTRY_STALLED_AFTER.total_seconds()) + 1, 20):
        registry_loads_resume_stalled.apply_async(countdown=countdown)


@shared_task(name="compliance.phones_reflag")
def phones_reflag(area_codes: list[str] | None = None) -> int:
    """Set phones' do-not-call flags from the lists held now (of some area codes, or all);
    idempotent. For repairs: a registry load re-flags what it changed itself."""
    return services.phones_reflag(area_codes=area_codes)
