from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from leadcrm.shared.schedules import PREFIX, SCHEDULES


class Command(BaseCommand):
    help = "Install the periodic tasks defined in leadcrm/shared/schedules.py into django-celery-beat."

    @transaction.atomic
    def handle(self, *args, **options):
        wanted = set()
        for schedule in SCHEDULES:
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=schedule.minute,
                hour=schedule.hour,
                day_of_week=schedule.day_of_week,
                day_of_month="*",
                month_of_year="*",
                timezone=schedule.timezone,
            )
            name = PREFIX + schedule.name
            wanted.add(name)
            PeriodicTask.objects.update_or_create(
                name=name,
                defaults={
                    "task": schedule.task,
                    "crontab": crontab,
                    "interval": None,
                    "enabled": True,
                    "description": schedule.description,
                },
            )
        stale = PeriodicTask.objects.filter(name__startswith=PREFIX).exclude(name__in=wanted)
        removed = stale.count()
        stale.delete()
        self.stdout.write(f"Schedules installed: {len(wanted)}; removed: {removed}.")
