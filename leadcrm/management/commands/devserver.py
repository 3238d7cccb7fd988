"""Run the web server and one Celery worker with embedded beat, for a laptop.

Ctrl-C stops both. ``make run`` calls this after migrating and loading the demo data.
"""

import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from leadcrm.demo import DEMO_PASSWORD, PEOPLE

READY_TIMEOUT = 60


class Command(BaseCommand):
    help = "Run the web server and a Celery worker with embedded beat; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--reload", action="store_true", help="Restart the web server on code changes.")

    def handle(self, *args, addr, reload, **options):
        host, port = addr.rsplit(":", 1)
        web_cmd = [sys.executable, "manage.py", "runserver", addr]
        if not reload:
            web_cmd.append("--noreload")
        worker_cmd = [
            sys.executable, "-m", "celery", "-A", "leadcrm", "worker", "-B",
            "--loglevel", "INFO", "--concurrency", "1", "--without-gossip", "--without-mingle",
        ]
        children = [subprocess.Popen(web_cmd), subprocess.Popen(worker_cmd)]
        # Stopped by `kill` rather than Ctrl-C: still take both children down with us.
        signal.signal(signal.SIGTERM, self.raise_interrupt)
        try:
            if self.wait_until_listening(host, int(port), children):
                self.print_banner(host, port)
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            self.stderr.write("A process stopped; stopping the other.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the web server and the worker...")
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()

    @staticmethod
    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt

    def wait_until_listening(self, host, port, children) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in children):
                return False
            try:
                with socket.create_connection((host, port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.3)
        return False

    def print_banner(self, host, port):
        line = "─" * 64
        out = [
            "",
            line,
            f"  LeadCRM is running at http://{host}:{port}/",
            f"  Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
            f" · broker: {settings.CELERY_BROKER_URL.split('://')[0]}",
            "",
            f"  Demo logins (password: {DEMO_PASSWORD})",
        ]
        for username, first, last, role, team, *_rest in PEOPLE:
            out.append(f"    {username:<13} {first} {last}, {role.label}{f' ({team})' if team else ''}")
        out += ["", "  Ctrl-C stops the web server and the worker.", line, ""]
        self.stdout.write("\n".join(out))
