from celery import shared_task

from . import services


@shared_task(name="compliance.registry_load_run")
def registry_load_run(load_id: int) -> str | None:
    """Load one uploaded registry file; safe to run twice (the load is claimed under a lock)."""
    load = services.registry_load_run(load_id=load_id)
    return load.status if load else None
