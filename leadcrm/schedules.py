"""Periodic work, kept in code and installed into django-celery-beat by
``python manage.py install_schedules`` (``make run`` does it before starting the worker).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    minute: str = "0"
    hour: str = "*"
    day_of_week: str = "*"
    timezone: str = "UTC"
    description: str = ""


SCHEDULES = [
    Schedule(
        name="Rescore open leads",
        task="leads.open_leads_rescore",
        minute="30",
        hour="8",  # 08:30 UTC: before the first agent's day starts anywhere in the US
        description="Scores age with time (days since contact), so they are refreshed nightly.",
    ),
]

# Periodic tasks whose names start with this are ours; others (added by hand in the
# admin) are left alone.
PREFIX = "leadcrm: "
