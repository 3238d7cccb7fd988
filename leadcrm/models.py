# The module also exists so that Django sends this app's post_migrate signal, which
# rebuilds the role groups once every other app's permissions exist (apps.py).
from django.conf import settings
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


class IdempotencyKey(models.Model):
    """A POST's ``Idempotency-Key`` and the first answer to it, kept 24 hours so that a
    client's retry gets that answer back instead of doing the work twice
    (leadcrm/shared/idempotency.py). A row exists from the moment the first request starts:
    the unique (user, credential, key) is how two processes agree which one runs it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Which of the user's credentials sent it ("ApiToken:12", "LeadSourceKey:3", "session"):
    # two lead sources of one broker, or two tokens, number their keys each their own way.
    credential = models.CharField(max_length=64, default="")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.TextField()
    # SHA-256 of the method, the path and the body as parsed (leadcrm/shared/idempotency.py).
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)
    # None while the first request still runs.
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField(default=b"", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "credential", "key"],
                                               name="idempotency_key_once_per_credential")]

    def __str__(self):
        return f"{self.method} {self.path} ({self.key})"
