"""Settings shared by every environment; each value can come from the environment.

The embedded defaults need no server: a SQLite file and Celery's filesystem
broker, both under ``var/``. ``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to
PostgreSQL and Redis.
"""

from decimal import Decimal
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A .env file is read only when asked for, so a stray file never changes a deployment.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

VAR_DIR = Path(env("LEADCRM_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# True only in production.py: guards commands that must never touch real data (seed_demo).
LEADCRM_IS_PRODUCTION = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])

# Applications ------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_htmx",
    "simple_history",
    "django_celery_beat",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anymail",
    # Ours, lowest layer first: accounts <- leads <- compliance <- pipeline.
    "leadcrm.accounts",
    "leads",
    "compliance",
    "pipeline",
    "leadcrm",
]

MIDDLEWARE = [
    # First: once anything writes to the primary, the request reads nothing from the replica.
    "leadcrm.shared.replica.WritesPinPrimaryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "leadcrm.shared.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Whether this session passed its second factor (docs/security.md#signing-in).
    "django_otp.middleware.OTPMiddleware",
    "leadcrm.accounts.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages, which it uses: signs out idle sessions and holds back whoever
    # still owes the second factor, on every page, the admin's included.
    "leadcrm.accounts.middleware.SignInMiddleware",
    # A page that queues work answers 503 with a plain message while the broker is down.
    "leadcrm.shared.queue.QueuePausedMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The signed-in user as the author of history rows an admin save writes.
    "simple_history.middleware.HistoryRequestMiddleware",
    # The API's answers: the unversioned paths' deprecation, the rate limits, then (innermost,
    # so a replay gets the two before) Idempotency-Key (docs/architecture.md#api-versioning).
    "leadcrm.shared.versioning.DeprecatedPathsMiddleware",
    "leadcrm.shared.ratelimit.RateLimitHeadersMiddleware",
    "leadcrm.shared.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "leadcrm.urls"
WSGI_APPLICATION = "leadcrm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "compliance.context_processors.procedures",
                "pipeline.reminders.context_processors.notifications",
                "pipeline.messaging.context_processors.inbox",
            ],
        },
    },
    {
        # Only the row fragments of the busiest pages (see leadcrm/shared/jinja2.py).
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "leadcrm.shared.jinja2.environment", "autoescape": True},
    },
]

# Database ------------------------------------------------------------------------------


def database_config(url: str) -> dict:
    """Turn a DATABASE_URL into Django's dict, with the options each engine needs here."""
    config = env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        if config["NAME"] != ":memory:":
            Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # The web server and the Celery worker write to the same file: WAL lets readers
        # run beside a writer, and IMMEDIATE transactions queue writers instead of
        # failing with "database is locked" half-way through a transaction.
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    else:
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
    return config


def database_url(default=environ.Env.NOTSET) -> str:
    """DATABASE_URL, or the tables' owner's DATABASE_MIGRATE_URL for a process started with
    LEADCRM_DB_AS_OWNER=true (`migrate`, `db_runtime_role`: `make migrate-as-owner`).

    In production DATABASE_URL is a role that owns no table, so a stray statement or a
    stolen password cannot empty or unprotect the evidence (docs/database.md#roles).
    """
    if env.bool("LEADCRM_DB_AS_OWNER", default=False):
        return env("DATABASE_MIGRATE_URL")
    return env("DATABASE_URL", default=default)


DEFAULT_SQLITE_URL = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": database_config(database_url(default=DEFAULT_SQLITE_URL))}


def replica_config(url: str) -> dict:
    """The read replica's alias: gives up connecting quickly (the page then reads from the
    primary) and is never a test database of its own."""
    config = database_config(url)
    config.setdefault("OPTIONS", {})["connect_timeout"] = env.int("DATABASE_REPLICA_CONNECT_TIMEOUT", default=2)
    config["TEST"] = {"MIRROR": "default"}
    return config


# A streaming read replica for the reports and their exports; none unless named
# (docs/database.md#read-replica, leadcrm/shared/replica.py).
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = replica_config(env("DATABASE_REPLICA_URL"))
DATABASE_ROUTERS = ["leadcrm.shared.replica.ReplicaRouter"]
LEADCRM_REPLICA_MAX_LAG_SECONDS = env.float("LEADCRM_REPLICA_MAX_LAG_SECONDS", default=30)
LEADCRM_REPLICA_PROBE_SECONDS = env.float("LEADCRM_REPLICA_PROBE_SECONDS", default=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The role `manage.py db_runtime_role` sets up for DATABASE_URL (docs/database.md#roles).
LEADCRM_DB_RUNTIME_ROLE = env("LEADCRM_DB_RUNTIME_ROLE", default="leadcrm_app")
LEADCRM_DB_RUNTIME_PASSWORD = env("LEADCRM_DB_RUNTIME_PASSWORD", default=None)
# The reports' covering indexes (INCLUDE columns) are a PostgreSQL feature; on the SQLite
# fallback they are plain indexes, which is all a laptop trial needs: no warning on start.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# Users ---------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
# Django's backend, refusing a (username, address) pair or an address with too many failed
# sign-ins, and pacing a username failed from many addresses (accounts/throttle.py).
AUTHENTICATION_BACKENDS = ["leadcrm.accounts.backends.ThrottledModelBackend"]
# Every request reads its session: from the cache (Redis in production), the database
# only on a miss; every write goes to both, so a cache cleared loses no one's sign-in,
# and a cache that fails is passed over (docs/operations.md#when-redis-or-the-broker-is-down).
SESSION_ENGINE = "leadcrm.shared.sessions"
# Higher: the agents of one office share its address.
LEADCRM_LOGIN_FAILURES_PER_ADDRESS = env.int("LEADCRM_LOGIN_FAILURES_PER_ADDRESS", default=20)
LEADCRM_LOGIN_FAILURE_WINDOW_SECONDS = env.int("LEADCRM_LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
# How many reverse proxies add to X-Forwarded-For before us (0: the connection's address).
LEADCRM_TRUSTED_PROXIES = env.int("LEADCRM_TRUSTED_PROXIES", default=0)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "pipeline:dashboard"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Time and language ---------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
# Stored times are UTC; each user sees their own zone (UserTimezoneMiddleware).
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LEADCRM_DEFAULT_USER_TIME_ZONE = env("LEADCRM_DEFAULT_USER_TIME_ZONE", default="America/Chicago")

# Static files and uploads --------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Uploads live outside the web root and are only served through views that check
# the lead's visibility.
MEDIA_ROOT = Path(env("LEADCRM_MEDIA_ROOT", default=str(VAR_DIR / "media")))
# On an S3-compatible object store instead, shared by every web and worker machine, when
# LEADCRM_STORAGE=s3 or a bucket is named; private objects, served through the views that
# check the lead by a signed address valid one minute (docs/operations.md#uploads-on-object-storage).
LEADCRM_STORAGE = env("LEADCRM_STORAGE", default="s3" if env("LEADCRM_S3_BUCKET", default="") else "local").lower()
if LEADCRM_STORAGE not in ("local", "s3"):
    raise environ.ImproperlyConfigured(f"LEADCRM_STORAGE is local or s3, not {LEADCRM_STORAGE!r}.")
UPLOADS_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"} if LEADCRM_STORAGE == "local" else {
    "BACKEND": "storages.backends.s3.S3Storage",
    "OPTIONS": {
        "bucket_name": env("LEADCRM_S3_BUCKET"),
        "endpoint_url": env("LEADCRM_S3_ENDPOINT_URL", default=None),  # MinIO, Ceph, R2 ...; none for AWS
        "region_name": env("LEADCRM_S3_REGION", default=None),
        # None: boto3's own chain (the instance's role, AWS_* variables, ~/.aws)
        "access_key": env("LEADCRM_S3_ACCESS_KEY_ID", default=None),
        "secret_key": env("LEADCRM_S3_SECRET_ACCESS_KEY", default=None),
        "location": env("LEADCRM_S3_PREFIX", default=""),
        "addressing_style": env("LEADCRM_S3_ADDRESSING_STYLE", default=None),  # "path" for most S3-compatibles
        "signature_version": "s3v4",
        "default_acl": None,  # the bucket's own: private
        "querystring_auth": True,
        "querystring_expire": env.int("LEADCRM_S3_URL_EXPIRE_SECONDS", default=60),
        "file_overwrite": False,
        "max_memory_size": 8 * 1024 * 1024,  # a larger object read by a worker spills to its disk
    },
}
STORAGES = {
    "default": UPLOADS_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Registry downloads are large: a national full list runs to tens of megabytes unzipped.
LEADCRM_REGISTRY_UPLOAD_MAX_BYTES = env.int("LEADCRM_REGISTRY_UPLOAD_MAX_BYTES", default=300 * 1024 * 1024)
LEADCRM_REGISTRY_MAX_UNZIPPED_BYTES = env.int("LEADCRM_REGISTRY_MAX_UNZIPPED_BYTES", default=2 * 1024**3)
# A list file: the largest list promised is a million rows (bench/README.md, the 1,000,000-row
# import), and a PropStream export's widest row is 412 bytes (49 columns, skip-traced phones
# and email; tests/fixtures/samples, mean 337 bytes): 1,000,000 x 412 B = 412 MB, so 400 MiB
# (419 MB). Saved as XLSX the same rows take about 250 bytes each, well within it.
LEADCRM_IMPORT_UPLOAD_MAX_BYTES = env.int("LEADCRM_IMPORT_UPLOAD_MAX_BYTES", default=400 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Evidence retention ----------------------------------------------------------------------
# Months each partitioned evidence table keeps a month before exporting and dropping it, as
# "compliance_check=72,outreach_attempt=60"; a table not named keeps its legal floor, and a
# value under the floor stops the app at start (leadcrm/shared/partitions.py,
# docs/database.md#partitions).
LEADCRM_RETENTION_MONTHS = env("LEADCRM_RETENTION_MONTHS", default="")
# Months created ahead of the current one by the nightly partition maintenance: a year, so
# a run that cannot make them (not the owner) shows on /healthz/ready long before it matters.
LEADCRM_PARTITION_MONTHS_AHEAD = env.int("LEADCRM_PARTITION_MONTHS_AHEAD", default=12)

# Forms ---------------------------------------------------------------------------------

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# History of a lead's record (docs/architecture.md#history): shown in the admin, never
# reverted there, since a revert would skip the services that keep totals and versions.
SIMPLE_HISTORY_REVERT_DISABLED = True

# Email ---------------------------------------------------------------------------------

# Which email service sends (docs/messaging.md#email): "console" prints each email and needs
# no account (`make run`), "smtp" is a mail server of your own (DJANGO_EMAIL_HOST, ...), and
# any of anymail's services sends through its API and reports deliveries, bounces,
# complaints and replies back to webhooks/anymail/<service>/.
ANYMAIL_SERVICES = frozenset({
    "amazon_ses", "brevo", "mailersend", "mailgun", "mailjet", "mailtrap", "mandrill", "postal", "postmark",
    "resend", "sendgrid", "sparkpost", "unisender_go",
})
LEADCRM_EMAIL_SERVICE = env("LEADCRM_EMAIL_SERVICE", default="console").strip().lower()
if LEADCRM_EMAIL_SERVICE not in ANYMAIL_SERVICES | {"console", "smtp"}:
    raise environ.ImproperlyConfigured(
        f"LEADCRM_EMAIL_SERVICE={LEADCRM_EMAIL_SERVICE!r}: use console, smtp or one of {sorted(ANYMAIL_SERVICES)}.")


def email_backend(service: str) -> str:
    if service == "smtp":
        return "django.core.mail.backends.smtp.EmailBackend"
    # anymail's console backend prints as Django's does and gives each email an id, as a
    # service would, so the demo's emails get a status like real ones.
    return f"anymail.backends.{service}.EmailBackend"


# DJANGO_EMAIL_BACKEND, when set, overrides the service's backend.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default=email_backend(LEADCRM_EMAIL_SERVICE))
# The service's keys, each from the environment variable anymail itself reads, with its
# ANYMAIL_ prefix: ANYMAIL_MAILGUN_API_KEY, ANYMAIL_MAILGUN_SENDER_DOMAIN,
# ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY, ANYMAIL_POSTMARK_SERVER_TOKEN, ANYMAIL_SENDGRID_API_KEY,
# ANYMAIL_WEBHOOK_SECRET ("user:password" the webhooks' addresses carry), ...
ANYMAIL = {name.removeprefix("ANYMAIL_"): value for name, value in env.ENVIRON.items()
           if name.startswith("ANYMAIL_") and value}
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="LeadCRM <noreply@localhost>")
# Where homeowners' replies to campaign emails go: an address the email service receives
# for us (a Mailgun route, a Postmark inbound stream, ...) forwarding to
# webhooks/anymail/<service>/inbound/, so each reply is filed on its lead. Empty: replies go
# to the sending agent's own mailbox and the CRM never sees them.
LEADCRM_EMAIL_REPLY_TO = env("LEADCRM_EMAIL_REPLY_TO", default="")
# Where the app is reached, for links in emails sent by workers (no request to ask).
LEADCRM_BASE_URL = env("LEADCRM_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Texts and calls (docs/messaging.md). "local" needs no account: messages appear on the
# Sent page and the demo plays replies through the same code a provider's webhook runs.
LEADCRM_TELEPHONY = env("LEADCRM_TELEPHONY", default="local")  # local | twilio
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
# Sending numbers shared by agents without one of their own (comma-separated E.164).
TWILIO_NUMBERS = env.list("TWILIO_NUMBERS", default=[])
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", default="")
# Twilio's REST API; a local stand-in in tests (tests/support/twilio_standin.py).
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="https://api.twilio.com").rstrip("/")
# The address providers post webhooks to, as they see it (behind a proxy it differs from
# the request's own); Twilio signs the exact URL.
LEADCRM_WEBHOOK_BASE_URL = env("LEADCRM_WEBHOOK_BASE_URL", default=LEADCRM_BASE_URL).rstrip("/")
# How long a text may sit handed over without an answer before it counts as unknown.
LEADCRM_SEND_UNKNOWN_AFTER_SECONDS = env.int("LEADCRM_SEND_UNKNOWN_AFTER_SECONDS", default=120)
# A text still queued this long after it was written is not sent (docs/messaging.md#statuses).
LEADCRM_SEND_STALE_AFTER_SECONDS = env.int("LEADCRM_SEND_STALE_AFTER_SECONDS", default=600)

# The public seller form (docs/intake.md#spam): posts one client address may send, across forms.
LEADCRM_INTAKE_PER_HOUR = env.int("LEADCRM_INTAKE_PER_HOUR", default=5)
LEADCRM_INTAKE_PER_DAY = env.int("LEADCRM_INTAKE_PER_DAY", default=20)
# Outgoing webhooks (docs/webhooks.md): https to public addresses only, unless this is on
# (development, tests, the demo: a receiver on 127.0.0.1); seconds to connect, and in all.
LEADCRM_WEBHOOKS_ALLOW_PRIVATE = env.bool("LEADCRM_WEBHOOKS_ALLOW_PRIVATE", default=DEBUG)
LEADCRM_WEBHOOKS_CONNECT_TIMEOUT = env.float("LEADCRM_WEBHOOKS_CONNECT_TIMEOUT", default=3.0)
LEADCRM_WEBHOOKS_TIMEOUT = env.float("LEADCRM_WEBHOOKS_TIMEOUT", default=10.0)

# Content Security Policy (leadcrm/shared/security.py): our own origin only, nothing inline.
LEADCRM_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# The REST API --------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pipeline.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON bodies only (a form or multipart body is a 415; the list import's upload takes
    # multipart alone), of at most LEADCRM_API_MAX_BODY_BYTES and nested at most 32 deep
    # (leadcrm/shared/api.py): anything else is a 413 or a 400, never a 500. One content
    # type per operation is also what a client generated from the schema needs.
    "DEFAULT_PARSER_CLASSES": ["leadcrm.shared.api.LimitedJSONParser"],
    # A token's scopes (read, write, outreach) on top of the role: pipeline/api/permissions.py.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated",
                                   "pipeline.api.permissions.TokenScopes"],
    # JSON only: the interactive docs are /api/docs/ (the browsable API's inline styles
    # would not pass the Content Security Policy).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Keyset pages: never a COUNT over a million leads; by (updated_at, id) when read by change.
    "DEFAULT_PAGINATION_CLASS": "leadcrm.shared.sync.SyncPages",
    "PAGE_SIZE": 50,
    # DRF's, telling their windows in RateLimit headers (leadcrm/shared/ratelimit.py).
    "DEFAULT_THROTTLE_CLASSES": ["leadcrm.shared.ratelimit.UserRateThrottle",
                                 "leadcrm.shared.ratelimit.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env("LEADCRM_API_USER_RATE", default="600/minute"),
                               "anon": env("LEADCRM_API_ANON_RATE", default="30/minute"),
                               # Each lead source's key (pipeline/api/sources.py).
                               "lead_source": env("LEADCRM_API_SOURCE_RATE", default="120/minute")},
    # Every API view's operations get a summary, a tag and the shared error answers.
    "DEFAULT_SCHEMA_CLASS": "pipeline.api.openapi.ApiSchema",
    # ?updated_since= on every list (docs/architecture.md#api-sync).
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend",
                                "leadcrm.shared.sync.UpdatedSinceFilter"],
    "EXCEPTION_HANDLER": "leadcrm.shared.api.exception_handler",
}
# An API token works this many days from when it is made (leadcrm/accounts/tokens.py).
LEADCRM_API_TOKEN_DAYS = env.int("LEADCRM_API_TOKEN_DAYS", default=90)
# ...and at most this many, whatever its maker asks: a forgotten key stops by itself.
LEADCRM_API_TOKEN_MAX_DAYS = env.int("LEADCRM_API_TOKEN_MAX_DAYS", default=365)
# The API's JSON and form bodies are a lead's fields or an outreach note: 1 MB is plenty.
# Files (list imports) are multipart, held to LEADCRM_IMPORT_UPLOAD_MAX_BYTES instead.
LEADCRM_API_MAX_BODY_BYTES = env.int("LEADCRM_API_MAX_BODY_BYTES", default=1024 * 1024)
SPECTACULAR_SETTINGS = {
    "TITLE": "LeadCRM API",
    "DESCRIPTION": ("Short-sale leads, their owners, liens and follow-ups, stage changes, list imports, and "
                    "outreach through the compliance gate: 201 when it allows the contact, 409 with the rule IDs "
                    "and reasons when it blocks it. Token authentication: `Authorization: Token <key>`, the key "
                    "made on your settings page, scoped (read, write, outreach) and expiring (tokenAuth says more). Errors "
                    "are `application/problem+json` (RFC 9457)."),
    "VERSION": "1.0.0",
    "LICENSE": {"name": "MIT", "url": "https://opensource.org/licenses/MIT"},  # pyproject.toml's
    "CONTACT": {"name": "The brokerage that runs this LeadCRM server"},
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our static files: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No deep links: Swagger puts each one as a link inside the operation's expand button, a
    # control inside a control that screen readers and keyboards cannot use (WCAG 4.1.2), 14px
    # from its neighbours. Operations are still found by tag and name on the page.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "COMPONENT_SPLIT_REQUEST": True,
    # Where the API answers, for the docs page and generated clients (the schema's linters
    # refuse an empty list): this server by default, the public address in production.
    "SERVERS": [{"url": env("LEADCRM_API_SERVER_URL", default="http://127.0.0.1:8000"),
                 "description": "This LeadCRM server."}],
    # /api/v1/ only (the unversioned aliases are left out); Idempotency-Key and the RateLimit
    # headers documented on every operation they apply to (pipeline/api/hooks.py); every tag
    # described, pages' example links valid URIs (pipeline/api/openapi.py).
    "PREPROCESSING_HOOKS": ["pipeline.api.hooks.current_version_only"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "pipeline.api.hooks.document_idempotency_and_rate_limits",
                             "pipeline.api.openapi.polish"],
    "ENUM_NAME_OVERRIDES": {
        # Problem codes, the codes of a refused stage move, and the gate's verdicts and rules.
        "ProblemCodeEnum": "leadcrm.shared.api.PROBLEM_CODE_VALUES",
        "StageRefusalCodeEnum": "pipeline.deals.services.REFUSAL_CODES",
        "VerdictEnum": "compliance.models.Verdict",
        "RuleIdEnum": "pipeline.api.serializers.RULE_IDS",
        "StageEnum": "leads.models.Stage",
        "FollowUpSourceEnum": "pipeline.models.FollowUpSource",
        "LeadSourceEnum": "leads.models.LeadSource",
        "DeadReasonEnum": "leads.models.DeadReason",
        "DeadReasonByHandEnum": "leads.models.leads.DEAD_REASONS_BY_HAND",
        "ContactSourceEnum": "leads.models.ContactSource",
        "PhoneStatusEnum": "leads.models.PhoneStatus",
        "EmailStatusEnum": "leads.models.EmailStatus",
        "ImportStatusEnum": "leads.models.ImportStatus",
        "PlanStepKindEnum": "pipeline.models.plans.StepKind",
        "OfferStatusEnum": "pipeline.models.OfferStatus",
        "TokenScopeEnum": "leadcrm.accounts.tokens.Scope",
    },
}

# Celery --------------------------------------------------------------------------------

# "localhost" only keeps kombu from warning that no host was given.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost//")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)


def filesystem_broker_options(root: Path) -> dict:
    """Folders for kombu's filesystem transport: one queue folder both ways."""
    queue, processed, control = root / "queue", root / "processed", root / "control"
    for folder in (queue, processed, control):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(processed),
        "control_folder": str(control),
        "store_processed": False,
    }


CELERY_BROKER_TRANSPORT_OPTIONS = (
    filesystem_broker_options(VAR_DIR / "celery")
    if CELERY_BROKER_URL.startswith("filesystem://")
    else {}
)
# A web worker never waits long for a broker that does not answer: a Redis broker that
# accepts the connection and then says nothing held ``task.delay`` for ever with kombu's
# defaults (over 200 s measured); now about 2 s, then the page says the queue is paused
# (leadcrm/shared/queue.py). Refused connections fail in a fraction of a second.
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5,
                                    "interval_max": 0.5}
# The pages that save rows and then queue their work: the broker is asked first, and
# while it does not answer they are refused before anything is saved (leadcrm/shared/queue.py).
LEADCRM_ENQUEUING_VIEWS = frozenset({
    "pipeline:marketing",  # the email merge
    "leads:import_map",  # start an import
    "leads:import_detail",  # resume an import
    "compliance:registries",  # load a DNC registry file
    "api:import-list",  # an import through the API
    "api-unversioned:import-list",  # the same under its unversioned path (docs/architecture.md#api-versioning)
})
# Readiness (/healthz/ready, leadcrm/shared/health.py): the checks that take this process out of
# the load balancer when they fail. The others are reported, not required: without Redis
# the pages still work (sessions from the database), and a dead worker or beat delays
# background work but should not pull every page off the web.
LEADCRM_READINESS_REQUIRED = env.list("LEADCRM_READINESS_REQUIRED", default=["database"])
CELERY_TIMEZONE = "UTC"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A task is acknowledged only once it finished, so a worker killed mid-task leaves it
# queued for another worker; tasks are written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Domain settings -----------------------------------------------------------------------

# A lead is a short-sale candidate when its liens plus the cost of selling
# (commissions, closing costs, concessions) exceed the estimated value.
LEADCRM_SELLING_COST_RATE = Decimal(env("LEADCRM_SELLING_COST_RATE", default="0.08"))
# The net sheet's starting assumptions; the agent adjusts them per lead on the page.
LEADCRM_COMMISSION_RATE = Decimal(env("LEADCRM_COMMISSION_RATE", default="0.06"))
LEADCRM_CLOSING_COST_RATE = Decimal(env("LEADCRM_CLOSING_COST_RATE", default="0.02"))
# An investor's purchase math, as starting figures the investor edits on the page: repairs
# per square foot of the building, the months of owning it (taxes, insurance, utilities,
# interest) and the target profit as shares of the after-repair value, and the buyer's own
# closing costs as a share of the price. Reselling costs LEADCRM_SELLING_COST_RATE.
LEADCRM_INVESTOR_REPAIRS_PER_SQFT = Decimal(env("LEADCRM_INVESTOR_REPAIRS_PER_SQFT", default="20"))
LEADCRM_INVESTOR_HOLDING_COST_RATE = Decimal(env("LEADCRM_INVESTOR_HOLDING_COST_RATE", default="0.05"))
LEADCRM_INVESTOR_PROFIT_RATE = Decimal(env("LEADCRM_INVESTOR_PROFIT_RATE", default="0.10"))
LEADCRM_INVESTOR_BUYING_COST_RATE = Decimal(env("LEADCRM_INVESTOR_BUYING_COST_RATE", default="0.02"))
# Package documents (pay stubs, bank statements, a phone's photo of a tax return).
LEADCRM_DOCUMENT_MAX_BYTES = env.int("LEADCRM_DOCUMENT_MAX_BYTES", default=20 * 1024 * 1024)

# Bounded uploads (docs/architecture.md#upload-limits) ------------------------------------

# An XLSX list is checked from its zip directory before a byte is unpacked. Its sheet is
# read as a stream (memory stays flat), so the total bounds time and disk: the sample list
# saved as XLSX unpacks to 2,470 bytes a row, x 1,000,000 rows = 2.5 GB. Its shared strings
# (every distinct text cell) are held in memory whole while it is read, at two to seven
# times their size (200 MB of them took a worker 475 MB to 1.4 GB), so they are held to
# 100 MB. Larger: save it as CSV, which is read a row at a time, or split it.
LEADCRM_IMPORT_MAX_UNZIPPED_BYTES = env.int("LEADCRM_IMPORT_MAX_UNZIPPED_BYTES", default=2_500_000_000)
LEADCRM_IMPORT_MAX_SHARED_STRINGS_BYTES = env.int("LEADCRM_IMPORT_MAX_SHARED_STRINGS_BYTES", default=100_000_000)
# A running import or registry load refreshes its heartbeat this often (seconds), from a
# thread of its own, so one silent for a minute has no worker (see IMPORT_STALLED_AFTER).
LEADCRM_JOB_HEARTBEAT_SECONDS = env.float("LEADCRM_JOB_HEARTBEAT_SECONDS", default=15)
# A job resumed this many times, its worker stopping each time (killed for memory, say),
# is stopped as failed rather than resumed every minute forever.
LEADCRM_JOB_MAX_ATTEMPTS = env.int("LEADCRM_JOB_MAX_ATTEMPTS", default=3)
# A queued job (import or registry load) is taken for lost, its task gone with the broker,
# once no worker has picked it up for this long (seconds) and no import is moving. Longer
# than the stall window: a queued job may wait behind a long task of another kind
# (docs/architecture.md#prompt-recovery); a second task sent for it stands aside at once.
LEADCRM_JOB_QUEUED_LOST_AFTER_SECONDS = env.int("LEADCRM_JOB_QUEUED_LOST_AFTER_SECONDS", default=300)

# Logging -------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Secret addresses (a seller's status page, a calendar feed, an unsubscribe link) are
    # keys: what the log keeps of them is masked (leadcrm.shared.security.SecretPathFilter).
    "filters": {"secret_paths": {"()": "leadcrm.shared.security.SecretPathFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["secret_paths"]}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    # Django's own handlers (DEFAULT_LOGGING's, unfiltered) replaced by ours, so that the
    # request and development-server logs pass the filter too.
    "loggers": {"django.db.backends": {"level": "WARNING"},
                "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
                "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# Signing in (docs/security.md#signing-in) -----------------------------------------------

INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
# Failures for one username from one address: that pair stops for the window (the other
# limits are beside SESSION_ENGINE above).
LEADCRM_LOGIN_FAILURES_PER_PAIR = env.int("LEADCRM_LOGIN_FAILURES_PER_PAIR", default=5)
# Wrong second-factor codes for one username, from anywhere, before codes stop for the
# window; a right password does not clear this count (a right code does).
LEADCRM_LOGIN_CODE_FAILURES = env.int("LEADCRM_LOGIN_CODE_FAILURES", default=5)
# Failures for one username from anywhere: past this, each further check waits a growing
# delay (a second more per failure), never more than the cap; never a lock.
LEADCRM_LOGIN_USERNAME_FREE_FAILURES = env.int("LEADCRM_LOGIN_USERNAME_FREE_FAILURES", default=10)
LEADCRM_LOGIN_USERNAME_MAX_DELAY_SECONDS = env.int("LEADCRM_LOGIN_USERNAME_MAX_DELAY_SECONDS", default=30)
# An address a username signed in from is spared its username's delay this long.
LEADCRM_LOGIN_KNOWN_ADDRESS_SECONDS = env.int("LEADCRM_LOGIN_KNOWN_ADDRESS_SECONDS", default=30 * 24 * 3600)
# Password reset links: single use (they sign the password hash) and good for an hour.
PASSWORD_RESET_TIMEOUT = env.int("DJANGO_PASSWORD_RESET_TIMEOUT", default=3600)
LEADCRM_PASSWORD_RESETS_PER_ADDRESS = env.int("LEADCRM_PASSWORD_RESETS_PER_ADDRESS", default=5)
LEADCRM_PASSWORD_RESETS_PER_EMAIL = env.int("LEADCRM_PASSWORD_RESETS_PER_EMAIL", default=3)
LEADCRM_PASSWORD_RESET_WINDOW_SECONDS = env.int("LEADCRM_PASSWORD_RESET_WINDOW_SECONDS", default=3600)
# A session unused this long is signed out on its next request.
LEADCRM_SESSION_IDLE_SECONDS = env.int("LEADCRM_SESSION_IDLE_SECONDS", default=8 * 3600)
# The name an authenticator app shows beside the six digits.
OTP_TOTP_ISSUER = env("LEADCRM_OTP_ISSUER", default="LeadCRM")
LEADCRM_RECOVERY_CODES = 10

# The cache -----------------------------------------------------------------------------

# Each process's own memory unless DJANGO_CACHE_URL names a Redis database: then one cache
# for every process (sign-in failures, throttles, cached sessions), as production.py has it
# by default. `manage.py cluster` sets it for the processes it starts
# (docs/operations.md#a-cluster-on-one-machine).
if env("DJANGO_CACHE_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": "leadcrm.shared.cache.FailSafeRedisCache",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
            "LOCATION": env("DJANGO_CACHE_URL"),
        }
    }
