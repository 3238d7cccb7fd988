"""Production settings for the webhook benchmark (``bench/webhooks.py``), plus its bare endpoint.

Everything is ``leadcrm.settings.production`` as deployed (DEBUG off, secrets and the
Twilio account from the environment); only the URLconf differs, to add
``/bench/webhook-bare/<run>/`` beside the application's own addresses. Never used outside bench/.
"""

from leadcrm.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.webhooks_urls"
