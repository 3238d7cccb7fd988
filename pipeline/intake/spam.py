"""The seller form's spam checks, with no third-party captcha (docs/intake.md#spam).

- A hidden field people never see (``HONEYPOT``): filled means a robot; it is told "thank
  you" and nothing is kept but the log line.
- A signed time the form was shown (``started_token``): sent back sooner than
  ``MIN_SECONDS`` is a robot. A post without it (a plain HTML form on the brokerage's own
  site cannot sign anything) is shown our confirmation page with a fresh one: one click.
- Per client address, counted in the database (so every web process counts together): at
  most ``LEADCRM_INTAKE_PER_HOUR`` and ``LEADCRM_INTAKE_PER_DAY`` posts that were accepted or
  refused as spam, and at most ``INVALID_PER_HOUR`` sent back to be fixed; more is a 429. An
  IPv6 client counts by its /64 (one household's or one server's network). The address is
  kept only as a keyed hash.

The token also carries a hash of the consent words the page showed (``words_hash``): a box
ticked beside other words than the form's current ones is not a consent to these.
"""

from __future__ import annotations

import hmac
import ipaddress
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256

from django.conf import settings
from django.core import signing
from django.db import connection
from django.db.models import Count
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
# Posts sent back to be fixed each write a log line too: a homeowner needs a few, a flood
# needs many. Over this many in an hour the address is refused like any other (429).
INVALID_PER_HOUR = 30
# The refusals of the limit are logged, but only so many an hour: a sender hammering the
# 429 cannot fill the log either.
REFUSALS_LOGGED_PER_HOUR = 10
IPV6_GROUP = 64  # the prefix one subscriber or one server is given


def per_hour() -> int:
    return settings.LEADCRM_INTAKE_PER_HOUR


def per_day() -> int:
    return settings.LEADCRM_INTAKE_PER_DAY


def invalid_per_hour() -> int:
    return getattr(settings, "LEADCRM_INTAKE_INVALID_PER_HOUR", INVALID_PER_HOUR)


def address_group(address: str) -> str:
    """What the limit counts by: an IPv4 address itself, an IPv6 address's /64.

    One IPv6 subscriber holds a whole /64 and can send from a new address each time; an
    IPv4 address written as IPv6 (``::ffff:203.0.113.7``) is that IPv4 address.
    """
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return address
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_GROUP}", strict=False))
    return str(parsed)


def address_hash(address: str) -> str:
    """The client's address group, keyed with the site's secret: comparable, not readable."""
    return hmac.new(settings.SECRET_KEY.encode(), f"intake:{address_group(address)}".encode(), sha256).hexdigest()


def words_hash(form: SellerForm) -> str:
    """A short hash of the consent words the form shows now."""
    return sha256(form.consent_text.encode()).hexdigest()[:20]


def started_token(form: SellerForm, *, confirm: bool = False, now: datetime | None = None) -> str:
    moment = (now or timezone.now()).timestamp()
    return signing.dumps({"f": form.pk, "t": round(moment, 3), "c": int(confirm), "w": words_hash(form)},
                         salt=SALT, compress=True)


@dataclass(frozen=True)
class Started:
    """What the post's token says: ``None`` seconds when it has none we can trust."""

    seconds: float | None
    confirm: bool = False
    words: str = ""  # the hash of the consent words the page showed

    def too_fast(self) -> bool:
        return self.seconds is not None and self.seconds < (CONFIRM_MIN_SECONDS if self.confirm else MIN_SECONDS)

    def saw_words_of(self, form: SellerForm) -> bool:
        """The page this came from showed the form's current consent words (none: unknown, no)."""
        return bool(self.words) and hmac.compare_digest(self.words, words_hash(form))


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
    words = data.get("w") if isinstance(data.get("w"), str) else ""
    return Started(max(seconds, 0.0), confirm=bool(data.get("c")), words=words)


def lock_address(hashed: str) -> None:
    """Two posts from one address at once: the second waits for the first's count."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(f"intake:{hashed}".encode()) - 2**31])


def _hour_counts(hashed: str, now: datetime) -> dict[str, int]:
    """The address's log lines of the last hour, by outcome (one query)."""
    rows = (FormSubmission.objects.filter(address_hash=hashed, received_at__gt=now - timedelta(hours=1))
            .order_by().values_list("outcome").annotate(n=Count("id")))
    return dict(rows)


def over_limit(hashed: str, *, now: datetime | None = None) -> bool:
    """The address already sent its hour's or its day's worth (across every form), or its
    hour's worth of posts sent back to be fixed."""
    now = now or timezone.now()
    hour = _hour_counts(hashed, now)
    if sum(hour.get(outcome, 0) for outcome in COUNTED) >= per_hour():
        return True
    if hour.get(SubmissionOutcome.INVALID, 0) >= invalid_per_hour():
        return True
    day = FormSubmission.objects.filter(address_hash=hashed, outcome__in=COUNTED,
                                        received_at__gt=now - timedelta(days=1))
    return day.count() >= per_day()


def refusal_to_log(hashed: str, *, now: datetime | None = None) -> bool:
    """Whether this 429 is still logged: the first few of the hour are, the flood is not."""
    now = now or timezone.now()
    return _hour_counts(hashed, now).get(SubmissionOutcome.RATE_LIMITED, 0) < REFUSALS_LOGGED_PER_HOUR
