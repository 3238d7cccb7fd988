"""Settings come from the environment: embedded defaults, real services, and production."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from leadcrm.settings.backends import BackendUnavailable, choose, worker_redis_url

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT = "127.0.0.1:9"  # discard: nothing listens there


def settings_in_subprocess(module: str, expression: str, **environ) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"}}
    env.update(DJANGO_SETTINGS_MODULE=module, LEADCRM_VAR_DIR=str(ROOT / "var" / "test-settings"), **environ)
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_backends_fall_back_to_sqlite_and_filesystem_when_services_are_unreachable():
    chosen = choose({"DATABASE_URL": f"postgres://postgres@{CLOSED_PORT}/x", "REDIS_URL": f"redis://{CLOSED_PORT}/0"})
    assert chosen.database_url.startswith("sqlite")
    assert chosen.broker_url.startswith("filesystem://")
    assert not chosen.on_real_services
    assert chosen.banner.startswith("Test backends: SQLite (in memory) and filesystem broker.")
    assert "PostgreSQL at postgres://127.0.0.1:9/x not reachable" in chosen.banner


def test_backends_fall_back_per_service_so_postgresql_is_kept_when_only_redis_is_down():
    chosen = choose({"DATABASE_URL": settings.TEST_BACKENDS.database_url, "REDIS_URL": f"redis://{CLOSED_PORT}/0"})
    assert chosen.database_url == settings.TEST_BACKENDS.database_url
    assert chosen.broker_url.startswith("filesystem://")
    assert "Redis at redis://127.0.0.1:9/0 not reachable" in chosen.banner


def test_backends_under_ci_fail_loudly_instead_of_falling_back():
    with pytest.raises(BackendUnavailable, match="CI=true requires PostgreSQL"):
        choose({"CI": "true", "DATABASE_URL": f"postgres://postgres@{CLOSED_PORT}/x"})


def test_backends_use_whatever_is_reachable():
    chosen = choose({"DATABASE_URL": "sqlite:///:memory:", "CELERY_BROKER_URL": "filesystem://"})
    assert chosen.banner.startswith("Test backends: SQLite")


def test_each_parallel_worker_gets_a_redis_db_of_its_own_and_an_explicit_broker_is_kept():
    assert worker_redis_url("redis://127.0.0.1:6379/15", None) == "redis://127.0.0.1:6379/15"
    assert worker_redis_url("redis://127.0.0.1:6379/15", "gw0") == "redis://127.0.0.1:6379/15"
    assert worker_redis_url("redis://127.0.0.1:6379/15", "gw3") == "redis://127.0.0.1:6379/12"
    with pytest.raises(ValueError, match="worker gw2 would need Redis db -1"):
        worker_redis_url("redis://127.0.0.1:6379/1", "gw2")
    # The Celery workers a test starts are handed the test's broker: it is not moved again.
    chosen = choose({"DATABASE_URL": "sqlite:///:memory:", "PYTEST_XDIST_WORKER": "gw1",
                     "CELERY_BROKER_URL": "filesystem://", "REDIS_URL": "redis://127.0.0.1:6379/15"})
    assert chosen.broker_url == "filesystem://"


def test_this_run_uses_the_backends_its_first_line_announced():
    expected = "postgresql" if settings.TEST_BACKENDS.database_url.startswith("postgres") else "sqlite"
    assert connection.vendor == expected
    assert settings.CELERY_BROKER_URL == settings.TEST_BACKENDS.broker_url
    if os.environ.get("CI", "").lower() == "true":
        assert settings.TEST_BACKENDS.on_real_services


@pytest.mark.slow
def test_local_settings_default_to_a_sqlite_file_and_the_filesystem_broker():
    result = settings_in_subprocess(
        "leadcrm.settings.local",
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'], settings.CELERY_BROKER_URL",
    )
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout and "db.sqlite3" in result.stdout and "filesystem://" in result.stdout


@pytest.mark.slow
def test_database_url_and_broker_url_switch_to_postgresql_and_redis():
    result = settings_in_subprocess(
        "leadcrm.settings.local",
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'], settings.CELERY_BROKER_URL",
        DATABASE_URL="postgres://crm:pw@db.internal:5432/leadcrm",
        CELERY_BROKER_URL="redis://cache.internal:6379/1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "leadcrm", "redis://cache.internal:6379/1"]


@pytest.mark.slow
def test_production_has_no_default_secret():
    result = settings_in_subprocess("leadcrm.settings.production", "settings.SECRET_KEY")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.slow
def test_check_deploy_is_clean_with_the_required_variables_set():
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="leadcrm.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="crm.example.com",
        DATABASE_URL="postgres://crm@127.0.0.1:5432/leadcrm",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN=secrets.token_hex(16),
    )
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
    assert "WARNING" not in result.stderr


PRODUCTION_ENV = dict(DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="crm.example.com",
                      DATABASE_URL="postgres://crm@127.0.0.1:5432/leadcrm", CELERY_BROKER_URL="redis://cache:6379/0",
                      TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="t" * 32)


@pytest.mark.slow
def test_production_texts_through_twilio_unless_told_otherwise():
    env = {key: value for key, value in PRODUCTION_ENV.items() if not key.startswith("TWILIO_")}
    result = settings_in_subprocess("leadcrm.settings.production", "settings.LEADCRM_TELEPHONY", **env)
    assert result.returncode != 0 and "TWILIO_ACCOUNT_SID" in result.stderr
    result = settings_in_subprocess("leadcrm.settings.production", "settings.LEADCRM_TELEPHONY", **PRODUCTION_ENV)
    assert result.stdout.split() == ["twilio"]
    # A trial says so in so many words.
    result = settings_in_subprocess("leadcrm.settings.production", "settings.LEADCRM_TELEPHONY", **env,
                                    LEADCRM_TELEPHONY="local")
    assert result.stdout.split() == ["local"]


@pytest.mark.slow
def test_production_counts_sign_in_failures_in_redis_beside_the_broker_not_in_its_database():
    result = settings_in_subprocess(
        "leadcrm.settings.production",
        "settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION'], "
        "settings.LEADCRM_TRUSTED_PROXIES, settings.AUTHENTICATION_BACKENDS[0]",
        **PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["leadcrm.shared.cache.FailSafeRedisCache", "redis://cache:6379/1", "1",
                                     "leadcrm.accounts.backends.ThrottledModelBackend"]
    result = settings_in_subprocess("leadcrm.settings.production", "settings.CACHES['default']['LOCATION']",
                                    **{**PRODUCTION_ENV, "DJANGO_CACHE_URL": "redis://other:6379/4"})
    assert result.stdout.strip() == "redis://other:6379/4"


@pytest.mark.slow
def test_production_sends_the_security_headers():
    result = settings_in_subprocess(
        "leadcrm.settings.production",
        "settings.SECURE_HSTS_SECONDS, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
        "settings.SECURE_SSL_REDIRECT, settings.LEADCRM_CSP['script-src']",
        **PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "31536000 True True True [\"'self'\"]"


@pytest.mark.slow
def test_collectstatic_runs_with_the_production_storage(tmp_path):
    """whitenoise's manifest storage refuses a file that names a missing one (a vendored
    script's source map did): the release step of the production guide must pass."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="leadcrm.settings.production", LEADCRM_VAR_DIR=str(tmp_path),
               **PRODUCTION_ENV)
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "staticfiles" / "staticfiles.json").exists()


@pytest.mark.slow
def test_production_runs_as_the_app_role_and_migrates_as_the_owner_only_when_asked():
    """docs/database.md#roles: DATABASE_URL's role owns no table; LEADCRM_DB_AS_OWNER=true
    (make migrate-as-owner) switches a process to DATABASE_MIGRATE_URL's owner."""
    expression = "settings.DATABASES['default']['USER']"
    env = {**PRODUCTION_ENV, "DATABASE_MIGRATE_URL": "postgres://owner@127.0.0.1:5432/leadcrm"}
    as_app = settings_in_subprocess("leadcrm.settings.production", expression, **env)
    as_owner = settings_in_subprocess("leadcrm.settings.production", expression, LEADCRM_DB_AS_OWNER="true", **env)
    assert (as_app.stdout.strip(), as_owner.stdout.strip()) == ("crm", "owner"), as_app.stderr + as_owner.stderr
    missing = settings_in_subprocess("leadcrm.settings.production", expression, LEADCRM_DB_AS_OWNER="true",
                                     **PRODUCTION_ENV)
    assert missing.returncode != 0 and "DATABASE_MIGRATE_URL" in missing.stderr
