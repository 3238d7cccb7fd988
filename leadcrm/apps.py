from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_role_groups(**kwargs):
    from leadcrm.accounts.services import role_groups_sync

    role_groups_sync()


class LeadcrmConfig(AppConfig):
    """The project itself: cross-app commands (demo data, the dev runner, schedules)."""

    name = "leadcrm"
    verbose_name = "LeadCRM"

    def ready(self):
        from .shared import (
            lookups,  # noqa: F401 - registers ``__any_of`` on every field
            partitions,
        )

        # A retention under the legal floor stops the app at start, not at the first drop.
        partitions.retention_months()
        # This app is listed last, so by the time its post_migrate fires every app's
        # permissions exist and the role groups can be rebuilt from roles.py.
        post_migrate.connect(_sync_role_groups, sender=self, dispatch_uid="leadcrm-role-groups")
