"""Settings for the test suite (``make test``); see backends.py for the choice of services."""

import os

from .backends import DEFAULT_TEST_REPLICA_URL, FALLBACK_BROKER_URL, choose
from .base import *  # noqa: F403
from .base import VAR_DIR, database_config, filesystem_broker_options, replica_config

TEST_BACKENDS = choose(dict(os.environ))

SECRET_KEY = "test-only-key-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
DATABASES = {"default": database_config(TEST_BACKENDS.database_url)}
# Worker threads in tests must not keep connections open past their task, or the
# test database cannot be dropped at the end.
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The flush between transactional tests empties every table, the append-only ones
    # too; their TRUNCATE trigger lets only a session that sets this through
    # (pipeline/migrations/0026_append_only_truncate_and_erasure.py). Production never does.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c leadcrm.truncate_allowed=on"
    # The read replica's alias mirrors the primary, on its server: no replica, every read on
    # the primary, until a test points it at the standby (tests/leadcrm/test_replica.py).
    DATABASES["replica"] = replica_config(TEST_BACKENDS.database_url)
    DATABASES["replica"]["CONN_MAX_AGE"] = 0
# The hot standby of the test cluster that .ci/replica starts.
LEADCRM_TEST_REPLICA_URL = os.environ.get("LEADCRM_TEST_REPLICA_URL", DEFAULT_TEST_REPLICA_URL)

# Tests talk to real workers (celery.contrib.testing), never to eager mode alone.
CELERY_BROKER_URL = TEST_BACKENDS.broker_url
if CELERY_BROKER_URL == FALLBACK_BROKER_URL:
    _celery_dir = VAR_DIR / "test-celery" / str(os.getpid())
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(_celery_dir)
    (_celery_dir / "results").mkdir(parents=True, exist_ok=True)
    CELERY_RESULT_BACKEND = f"file://{_celery_dir / 'results'}"
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2}  # as base.py
    CELERY_RESULT_BACKEND = TEST_BACKENDS.result_backend

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Worker processes started by a test record their emails where the test can read them.
EMAIL_BACKEND = os.environ.get("LEADCRM_TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# The email service whose signed webhooks the tests post (tests/pipeline/messaging/test_email.py);
# its API is never reached: nothing sends through it unless a test says so.
LEADCRM_EMAIL_SERVICE = "mailgun"
ANYMAIL = {
    "MAILGUN_API_KEY": "test-api-key",
    "MAILGUN_SENDER_DOMAIN": "mg.example.com",
    "MAILGUN_API_URL": "http://127.0.0.1:9/v3",
    "MAILGUN_WEBHOOK_SIGNING_KEY": "test-webhook-signing-key",
}
# One folder per pytest-xdist worker (tests get a temporary one of their own: conftest.py).
MEDIA_ROOT = VAR_DIR / "test-media" / os.environ.get("PYTEST_XDIST_WORKER", "main")
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

WHITENOISE_USE_FINDERS = True
# Webhooks go to a stand-in on 127.0.0.1 (tests/support/webhook_receiver.py).
LEADCRM_WEBHOOKS_ALLOW_PRIVATE = True
