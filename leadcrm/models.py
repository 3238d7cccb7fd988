# The module also exists so that Django sends this app's post_migrate signal, which
# rebuilds the role groups once every other app's permissions exist (apps.py).
from django.db import models


class Heartbeat(models.Model):
    """When a background process last showed it was alive, for the readiness check
    (leadcrm/shared/health.py). A database row, not a cache key: it still tells the truth
    while Redis is down, which is when an operator most needs to read it."""

    name = models.CharField(max_length=40, primary_key=True)  # "worker"
    at = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True)

    def __str__(self):
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
