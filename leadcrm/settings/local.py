"""A developer's or evaluator's laptop: debug on, everything embedded by default."""

from .base import *  # noqa: F403
from .base import MIDDLEWARE, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-only-insecure-key-do-not-deploy-7f3c9a2e51b84d0f")
# Webhooks to a receiver on this machine (docs/webhooks.md#addresses).
LEADCRM_WEBHOOKS_ALLOW_PRIVATE = env.bool("LEADCRM_WEBHOOKS_ALLOW_PRIVATE", default=DEBUG)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# Serve static files straight from static/ and pick up edits without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# A mistyped address shows the app's own "Not found" page, as in production, while a real
# error keeps Django's debug page (leadcrm/shared/not_found.py says why).
if DEBUG and not env.bool("LEADCRM_TECHNICAL_404", default=False):
    MIDDLEWARE = [*MIDDLEWARE, "leadcrm.shared.not_found.AppNotFoundMiddleware"]
