"""Production settings for the web benchmark (``bench/web.py``), plus the bench's bare view.

Everything is ``leadcrm.settings.production`` as deployed (DEBUG off, secrets from the
environment, whitenoise's manifest storage); only the URLconf differs, to add
``/bench/bare/`` beside the application's own pages. Never used outside bench/.
"""

from leadcrm.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.web_urls"
