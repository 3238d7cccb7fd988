import socket

from celery import shared_task
from django.utils import timezone


@shared_task(name="leadcrm.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    """Every minute from beat: a worker took a task, so both are alive. Safe to run twice."""
    from .models import Heartbeat

    Heartbeat.objects.update_or_create(name="worker", defaults={"at": timezone.now(),
                                                                 "hostname": socket.gethostname()[:255]})
