"""What accounts tells the apps above it; they connect receivers in ``AppConfig.ready``
(accounts imports none of them: see docs/architecture.md)."""

from django.dispatch import Signal

# A user's own settings were saved (``user_preferences_update``: time zone, working days
# and hours, reminder email). Sent inside its transaction with ``user``, so what is timed
# by the user's hours (reminders waiting to be told) is re-timed in the same commit.
user_preferences_changed = Signal()
