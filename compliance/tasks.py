from celery import shared_task
from django.db import transaction

from . import services
from .models import LoadStatus


@shared_task(name="compliance.registry_load_run")
def registry_load_run(load_id: int) -> str | None:
    """Load one uploaded registry file; safe to run twice (the load is claimed under a lock).

    Then re-flag the phones of its area codes, in a task of its own.
    """
    load = services.registry_load_run(load_id=load_id)
    if load is not None and load.status == LoadStatus.DONE:
        codes = load.area_codes
        transaction.on_commit(lambda: phones_reflag.delay(area_codes=codes))
    return load.status if load else None


@shared_task(name="compliance.phones_reflag")
def phones_reflag(area_codes: list[str] | None = None) -> int:
    """Set phones' do-not-call flags from the lists held now; idempotent."""
    return services.phones_reflag(area_codes=area_codes)
