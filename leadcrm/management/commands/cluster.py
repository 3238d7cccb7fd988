"""Run LeadCRM as a small cluster on one machine: web servers, Celery workers and one beat.

Each is a process of its own (a gunicorn server per web, a ``celery worker`` per worker,
one ``celery beat``), all sharing the database, the broker, the cache and the uploads
folder, as separate machines would (docs/operations.md#a-cluster-on-one-machine). Every
line they print is shown with the process's name in front. Ctrl-C (or SIGTERM) stops them
all; a process that stops by itself stops the run, naming it and its exit code.

PostgreSQL and a broker with a server (Redis) are required: SQLite and the filesystem
broker are one machine's, and several processes writing to them prove nothing.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

ROOT = Path(settings.BASE_DIR)
READY_TIMEOUT = 120  # seconds for every web to listen and every worker to answer
STOP_TIMEOUT = 30  # seconds a process has to stop after SIGTERM before it is killed
SERVER_BROKERS = ("redis", "rediss", "amqp", "amqps", "pyamqp")

NEEDS_POSTGRESQL = (
    "The cluster needs PostgreSQL: set DATABASE_URL=postgres://USER@HOST:5432/NAME (now: {engine}). "
    "SQLite is one machine's file; `make run` is the way to use it.")
NEEDS_BROKER = (
    "The cluster needs a broker with a server: set CELERY_BROKER_URL=redis://HOST:6379/0 (now: {scheme}://). "
    "The filesystem broker is one machine's folder; `make run` is the way to use it.")
DATABASE_UNREACHABLE = "The database does not answer ({error}); start PostgreSQL or correct DATABASE_URL."
BROKER_UNREACHABLE = "The broker does not answer ({error}); start Redis or correct CELERY_BROKER_URL."
CACHE_IS_BROKER = ("The cache would be the broker's own Redis database (db 1): set DJANGO_CACHE_URL to "
                   "another database of that Redis (a cleared cache must not drop queued tasks).")
PORT_IN_USE = "Port {port} on {host} is in use: stop what listens there or choose --port."
CHILD_EXITED = "{name} exited with code {code}; stopping the others."
NOT_READY = "Not ready within {seconds} s: {waiting}. Stopping."


def redis_database(url: str, number: int) -> str:
    """The same Redis server as ``url``, another database (as production.py does)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, parts.fragment))


@dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    pump: threading.Thread | None = field(default=None, repr=False)


class Command(BaseCommand):
    help = ("Run web servers (gunicorn), Celery workers and one beat as separate processes on PostgreSQL "
            "and Redis; Ctrl-C stops them all.")

    def add_arguments(self, parser):
        parser.add_argument("--web", type=int, default=2, help="Web servers, each a gunicorn of its own.")
        parser.add_argument("--workers", type=int, default=2, help="Celery workers, each a process of its own.")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001, help="The first web's port; the next ones follow.")
        parser.add_argument("--web-processes", type=int, default=2, help="gunicorn worker processes per web.")
        parser.add_argument("--concurrency", type=int, default=1, help="Pool processes per Celery worker.")
        parser.add_argument("--no-beat", action="store_true", help="Leave beat out (one runs elsewhere).")
        parser.add_argument("--skip-migrate", action="store_true",
                            help="Do not migrate, install the schedules or collect static files first.")

    def handle(self, *args, **options):
        self._lock = threading.Lock()
        self._check_services()
        environment = self._environment()
        ports = [options["port"] + n for n in range(options["web"])]
        for port in ports:
            if _listening(options["host"], port):
                raise CommandError(PORT_IN_USE.format(port=port, host=options["host"]))
        if not options["skip_migrate"]:
            self._prepare()
        children = self._children(options, ports)
        # Stopped by `kill` rather than Ctrl-C: take every child down all the same.
        signal.signal(signal.SIGTERM, _raise_interrupt)
        failed = None
        try:
            for child in children:
                self._start(child, environment)
            self._wait_ready(children, options["host"], ports)
            self._banner(children, options["host"], ports, environment)
            failed = self._watch(children)
        except KeyboardInterrupt:
            self._say("Stopping every process...")
        finally:
            self._stop(children)
        if failed is not None:
            raise CommandError(CHILD_EXITED.format(name=failed.name, code=failed.process.returncode), returncode=1)
        self._say("Stopped.")

    # Before anything starts -----------------------------------------------------------

    def _check_services(self) -> None:
        engine = settings.DATABASES["default"]["ENGINE"]
        if engine != "django.db.backends.postgresql":
            raise CommandError(NEEDS_POSTGRESQL.format(engine=engine.rsplit(".", 1)[-1]))
        scheme = settings.CELERY_BROKER_URL.split("://", 1)[0]
        if scheme not in SERVER_BROKERS:
            raise CommandError(NEEDS_BROKER.format(scheme=scheme))
        try:
            connection.ensure_connection()
        except Exception as error:  # noqa: BLE001 - any failure: say it and stop
            raise CommandError(DATABASE_UNREACHABLE.format(error=str(error).strip().splitlines()[0])) from error
        from leadcrm.celery import app

        try:
            with app.connection_for_write() as broker:
                broker.ensure_connection(max_retries=1, timeout=2)
        except Exception as error:  # noqa: BLE001
            raise CommandError(BROKER_UNREACHABLE.format(error=error)) from error

    def _environment(self) -> dict[str, str]:
        """What every child shares: this process's settings module, database, broker, cache and uploads."""
        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = os.environ["DJANGO_SETTINGS_MODULE"]
        env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
        env["LEADCRM_MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
        env["PYTHONUNBUFFERED"] = "1"  # lines as they are printed, not when a buffer fills
        if not env.get("DJANGO_CACHE_URL") and settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
            # One cache for all (sign-in failures, throttles, cached sessions), as in production.
            if urlsplit(settings.CELERY_BROKER_URL).path.strip("/") == "1":
                raise CommandError(CACHE_IS_BROKER)
            env["DJANGO_CACHE_URL"] = redis_database(settings.CELERY_BROKER_URL, 1)
        return env

    def _prepare(self) -> None:
        """Once, before any web or worker starts: two processes migrating at once would collide."""
        self._say("Migrating and installing the schedules...")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("install_schedules", verbosity=0, stdout=io.StringIO())
        if not getattr(settings, "WHITENOISE_USE_FINDERS", False):
            call_command("collectstatic", interactive=False, verbosity=0)
        connection.close()  # the children open their own; this one would sit idle

    def _children(self, options, ports) -> list[Child]:
        python = sys.executable
        children = []
        for n, port in enumerate(ports, start=1):
            children.append(Child(f"web-{n}", [
                python, "-m", "gunicorn", "leadcrm.wsgi:application", "--bind", f"{options['host']}:{port}",
                "--workers", str(options["web_processes"]), "--timeout", "300", "--graceful-timeout", "20",
                "--access-logfile", "-", "--error-logfile", "-",
                "--logger-class", "leadcrm.shared.security.GunicornLogger",
                # Its control socket's path is one per user: two servers would share it.
                "--no-control-socket"]))
        for n in range(1, options["workers"] + 1):
            children.append(Child(f"worker-{n}", [
                python, "-m", "celery", "-A", "leadcrm", "worker", "--loglevel", "INFO",
                "--hostname", f"worker-{n}@%h", "--concurrency", str(options["concurrency"]),
                "--pool", "prefork", "--without-gossip"]))
        if not options["no_beat"]:
            # No pid file: the schedule lives in the database (DatabaseScheduler).
            children.append(Child("beat", [python, "-m", "celery", "-A", "leadcrm", "beat", "--loglevel", "INFO",
                                           "--pidfile="]))
        return children

    # Running ------------------------------------------------------------------------------

    def _start(self, child: Child, env: dict[str, str]) -> None:
        # A session of its own: Ctrl-C reaches this process only, which stops the children
        # in order, and a child's own children (gunicorn's workers, Celery's pool) go with it.
        child.process = subprocess.Popen(child.command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        child.pump = threading.Thread(target=self._pump, args=(child,), name=f"cluster-{child.name}", daemon=True)
        child.pump.start()

    def _pump(self, child: Child) -> None:
        width = 9
        for raw in iter(child.process.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                sys.stdout.write(f"{child.name:<{width}}| {line}\n")
                sys.stdout.flush()

    def _say(self, message: str) -> None:
        with self._lock:
            sys.stdout.write(f"{'cluster':<9}| {message}\n")
            sys.stdout.flush()

    def _wait_ready(self, children: list[Child], host: str, ports: list[int]) -> None:
        from leadcrm.celery import app

        workers = {child.name for child in children if child.name.startswith("worker-")}
        deadline = time.monotonic() + READY_TIMEOUT
        waiting = [f"web-{n}" for n in range(1, len(ports) + 1)] + sorted(workers)
        while time.monotonic() < deadline:
            for child in children:
                if child.process.poll() is not None:
                    raise _ChildExited(child)
            listening = {f"web-{n}" for n, port in enumerate(ports, start=1) if _listening(host, port)}
            answering = set()
            if workers:
                replies = app.control.ping(timeout=0.5)
                answering = {name.split("@", 1)[0] for reply in replies for name in reply}
            waiting = sorted(set(waiting) - listening - answering)
            if not waiting:
                return
            time.sleep(0.3)
        raise CommandError(NOT_READY.format(seconds=READY_TIMEOUT, waiting=", ".join(waiting)))

    def _banner(self, children, host, ports, env) -> None:
        db = settings.DATABASES["default"]
        lines = [f"Ready: {len(children)} processes."]
        lines += [f"  web-{n}: http://{host}:{port}/" for n, port in enumerate(ports, start=1)]
        lines += [f"  {c.name}: celery worker {c.name}@{socket.gethostname()}" for c in children
                  if c.name.startswith("worker-")]
        if any(c.name == "beat" for c in children):
            lines.append("  beat: celery beat (the schedule in the database)")
        lines += [f"  database: postgresql {db.get('HOST') or 'local'}:{db.get('PORT') or 5432}/{db['NAME']}",
                  f"  broker: {_redacted(settings.CELERY_BROKER_URL)} · cache: {_redacted(env.get('DJANGO_CACHE_URL', ''))}",
                  f"  uploads: {env['LEADCRM_MEDIA_ROOT']}",
                  "  Ctrl-C stops them all."]
        for line in lines:
            self._say(line)

    def _watch(self, children: list[Child]) -> Child | None:
        """Until a child exits (returned) or Ctrl-C (KeyboardInterrupt)."""
        while True:
            for child in children:
                if child.process.poll() is not None:
                    self._say(CHILD_EXITED.format(name=child.name, code=child.process.returncode))
                    return child
            time.sleep(0.5)

    def _stop(self, children: list[Child]) -> None:
        started = [child for child in children if child.process is not None]
        # Beat first, so no new work is sent; then the webs and the workers together.
        # SIGTERM to each main process only, as systemd's KillMode=mixed does (README): it
        # is gunicorn's graceful stop and Celery's warm shutdown (tasks in hand finish),
        # each stopping its own workers or pool.
        for group in ([c for c in started if c.name == "beat"], [c for c in started if c.name != "beat"]):
            for child in group:
                if child.process.poll() is None:
                    child.process.send_signal(signal.SIGTERM)
            for child in group:
                try:
                    child.process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self._say(f"{child.name} did not stop within {STOP_TIMEOUT} s: killed.")
                # Whatever is left of its group (a gunicorn worker, a pool process): gone.
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait()
        for child in started:
            child.pump.join(timeout=5)


class _ChildExited(CommandError):
    def __init__(self, child: Child):
        super().__init__(CHILD_EXITED.format(name=child.name, code=child.process.returncode), returncode=1)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _redacted(url: str) -> str:
    if not url:
        return "(this process's own)"
    parts = urlsplit(url)
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return f"{parts.scheme}://{netloc}{parts.path}"
