import socket

from celery import shared_task
from django.utils import timezone


@shared_task(name="leadcrm.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    """Every minute from beat: a worker took a task, so both are alive. Safe to run twice."""
    from .models import Heartbeat

    Heartbeat.objects.update_or_create(name="worker", defaults={"at": timezone.now(),
                                                                 "hostname": socket.gethostname()[:255]})


@shared_task(name="leadcrm.evidence_partitions_maintain", ignore_result=True)
def evidence_partitions_maintain() -> None:
    """Nightly from beat: the evidence tables' months ahead, and the months past retention
    exported then dropped (leadcrm/shared/partitions.py). Safe to run twice."""
    from django.conf import settings

    from .shared.partitions import maintain

    maintain(ahead=settings.LEADCRM_PARTITION_MONTHS_AHEAD)


@shared_task(name="leadcrm.idempotency_keys_purge", ignore_result=True)
def idempotency_keys_purge() -> None:
    """Hourly from beat: the API's Idempotency-Keys past their 24 hours are deleted, with the
    answers kept for them (leadcrm/shared/idempotency.py). Safe to run twice."""
    from .shared.idempotency import idempotency_keys_purge as purge

    purge()
