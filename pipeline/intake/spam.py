"""The seller form's spam checks, with no third-party captcha (docs/intake.md#spam).

- A hidden field people never see (``HONEYPOT``): filled means a robot; it is told "thank
  you" and nothing is kept but the log line.
- A signed time the form was shown (``started_token``): sent back sooner than
  ``MIN_SECONDS`` is a robot. A post without it (a plain HTML form on the brokerage's own
  site cannot sign anything) is shown our confirmation page with a fresh one: one click.
- Per client address, counted in the database (so every web process counts together): at
  most ``LEADCRM_INTAKE_PER_HOUR`` and ``LEADCRM_INTAKE_PER_DAY`` posts that were accepted or
  refused as spam; more is a 429. The address is kept only as a keyed hash.
"""

from __future__ import annotations

import hmac
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256

from django.conf import settings
from django.core import signing
from django.db import connection
from django.utils import timezone

from pipeline.models import FormSubmission, SellerForm, SubmissionOutcome

HONEYPOT = "website"  # a name form-filling robots like to fill
TOKEN_FIELD = "started"
SALT = "pipeline.intake.started"
MIN_SECONDS = 3  # nobody types a name, an address and a phone number faster
CONFIRM_MIN_SECONDS = 1  # the confirmation page only asks for one click
MAX_AGE = timedelta(days=1)  # a form left open overnight is shown again to confirm, not refused

# The outcomes that count towards the limit: what a sender made us do. A homeowner fixing a
# typo (invalid) is not counted, nor the refusals of the limit itself.
COUNTED = (SubmissionOutcome.CREATED, SubmissionOutcome.MATCHED, SubmissionOutcome.SPAM, SubmissionOutcome.TOO_FAST)


def per_hour() -> int:
    return settings.LEADCRM_INTAKE_PER_HOUR


def per_day() -> int:
    return settings.LEADCRM_INTAKE_PER_DAY


def address_hash(address: str) -> str:
    """The client's address, keyed with the site's secret: comparable, not readable."""
    return hmac.new(settings.SECRET_KEY.encode(), f"intake:{address}".encode(), sha256).hexdigest()


def started_token(form: SellerForm, *, confirm: bool = False, now: datetime | None = None) -> str:
    moment = (now or timezone.now()).timestamp()
    return signing.dumps({"f": form.pk, "t": round(moment, 3), "c": int(confirm)}, salt=SALT, compress=True)


@dataclass(frozen=True)
class Started:
    """What the post's token says: ``None`` seconds when it has none we can trust."""

    seconds: float | None
    confirm: bool = False

    def too_fast(self) -> bool:
        return self.seconds is not None and self.seconds < (CONFIRM_MIN_SECONDS if self.confirm else MIN_SECONDS)


def started_read(form: SellerForm, token: str, *, now: datetime | None = None) -> Started:
    """How long ago the form was shown; none for a missing, forged, stale or other form's token."""
    if not token:
        return Started(None)
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return Started(None)
    if not isinstance(data, dict) or data.get("f") != form.pk or not isinstance(data.get("t"), int | float):
        return Started(None)
    seconds = (now or timezone.now()).timestamp() - data["t"]
    if seconds < -5:  # a clock far off: do not trust it
        return Started(None)
    return Started(max(seconds, 0.0), confirm=bool(data.get("c")))


def lock_address(hashed: str) -> None:
    """Two posts from one address at once: the second waits for the first's count."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(f"intake:{hashed}".encode()) - 2**31])


def over_limit(hashed: str, *, now: datetime | None = None) -> bool:
    """The address already sent its hour's or its day's worth (across every form)."""
    now = now or timezone.now()
    recent = FormSubmission.objects.filter(address_hash=hashed, outcome__in=COUNTED,
                                           received_at__gt=now - timedelta(days=1))
    if recent.count() >= per_day():
        return True
    return recent.filter(received_at__gt=now - timedelta(hours=1)).count() >= per_hour()
