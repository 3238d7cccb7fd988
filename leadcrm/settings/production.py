"""Production: every secret comes from the environment and has no default.

``python manage.py check --deploy`` with these settings and the required variables
set prints no warning (tests/leadcrm/test_settings.py runs it).
"""

from urllib.parse import urlsplit, urlunsplit

from whitenoise.compress import Compressor

from .base import *  # noqa: F403
from .base import ANYMAIL, ANYMAIL_SERVICES, DATABASES, database_config, database_url, email_backend, env

DEBUG = False
LEADCRM_IS_PRODUCTION = True
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# A role that owns no table; migrations run as the owner (docs/database.md#roles).
DATABASES["default"] = database_config(database_url())
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS is terminated by the reverse proxy, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Static files under hashed names, each with a gzip and (the Brotli package installed) a .br
# copy made once by collectstatic (docs/operations.md#static-files).
STORAGES = {
    "default": UPLOADS_STORAGE,  # noqa: F405 - base.py: the local disk, or S3 when LEADCRM_STORAGE=s3
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Source maps are half the bytes collected and only ever read by a developer's tools:
# compressing them at Brotli's highest level doubled the time collectstatic takes.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]

# A mail server of your own unless an email service is named; never the console.
LEADCRM_EMAIL_SERVICE = env("LEADCRM_EMAIL_SERVICE", default="smtp").strip().lower()
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default=email_backend(LEADCRM_EMAIL_SERVICE))
if LEADCRM_EMAIL_SERVICE in ANYMAIL_SERVICES:
    # The webhooks' addresses carry this user:password (basic auth) on top of whatever the
    # service signs: for most services it is the only proof a report came from them.
    ANYMAIL["WEBHOOK_SECRET"] = env("ANYMAIL_WEBHOOK_SECRET")
EMAIL_HOST = env("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("DJANGO_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("DJANGO_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("DJANGO_EMAIL_USE_TLS", default=False)

# Texts and calls through Twilio unless asked otherwise: the local backend sends nothing
# and reports every text delivered, so a deployment uses it only when it says so
# (LEADCRM_TELEPHONY=local, a trial); with Twilio its account is required.
LEADCRM_TELEPHONY = env("LEADCRM_TELEPHONY", default="twilio").strip().lower()
if LEADCRM_TELEPHONY == "twilio":
    TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID")
    TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN")

# Production runs a real broker; the filesystem transport is for one laptop only.
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"socket_connect_timeout": 1, "socket_timeout": 2} if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    else {})


def redis_database(url: str, number: int) -> str:
    """The same Redis server as ``url``, another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, parts.fragment))


# The shared cache: sign-in failures (accounts/throttle.py), the seller page's limits and
# cached figures are counted once for every web worker. Database 1 of the broker's Redis
# unless DJANGO_CACHE_URL says otherwise; never the broker's own (a clear would drop tasks).
# Fail-safe (leadcrm/shared/cache.py): with Redis down a read is a miss, a write is
# dropped and limits are counted per process, so no page fails; timeouts short, so no
# request waits on it for long.
CACHES = {
    "default": {
        "BACKEND": "leadcrm.shared.cache.FailSafeRedisCache",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
        "LOCATION": env("DJANGO_CACHE_URL", default=None) or (
            redis_database(CELERY_BROKER_URL, 1) if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
            else env("DJANGO_CACHE_URL")),
    }
}
# Behind one TLS-terminating reverse proxy, which appends the client's address to
# X-Forwarded-For: sign-in failures are counted per client, not per proxy.
LEADCRM_TRUSTED_PROXIES = env.int("LEADCRM_TRUSTED_PROXIES", default=1)
