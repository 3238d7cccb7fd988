"""Tasks only the benchmark's own workers load (``celery worker -I bench.tasks``)."""

from celery import shared_task


@shared_task(name="bench.noop")
def noop() -> None:
    """Nothing at all: what a task costs in Celery itself (broker, ack, prefork pool).

    The reminder bench's baseline. It runs under the same settings as the real tasks
    (acks late, prefetch 1, no result backend), so the two throughputs compare.
    """
