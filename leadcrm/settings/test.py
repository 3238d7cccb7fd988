"""Settings for the test suite (``make test``); see backends.py for the choice of services."""

import os

from .backends import FALLBACK_BROKER_URL, choose
from .base import *  # noqa: F403
from .base import VAR_DIR, database_config, filesystem_broker_options

TEST_BACKENDS = choose(dict(os.environ))

SECRET_KEY = "test-only-key-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
DATABASES = {"default": database_config(TEST_BACKENDS.database_url)}

CELERY_BROKER_URL = TEST_BACKENDS.broker_url
CELERY_RESULT_BACKEND = TEST_BACKENDS.result_backend
CELERY_BROKER_TRANSPORT_OPTIONS = (
    filesystem_broker_options(VAR_DIR / "test-celery" / str(os.getpid()))
    if CELERY_BROKER_URL == FALLBACK_BROKER_URL
    else {}
)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = VAR_DIR / "test-media"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
