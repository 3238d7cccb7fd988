"""Page speed: dashboard, lead list and call-queue panel under wrk, against gunicorn.

The targets: dashboard and lead list under 50 ms server time at p95 with 1,000,000
leads in the database and 10,000 for the agent; the call queue's page and its dashboard
panel under 100 ms, on a working brokerage (``bench.generate.brokerage_make_working``:
procedures acknowledged, registry fresh, a share of numbers listed), so the gate lets
calls through. How many leads the queue found callable, and of how many asked, is printed
beside the figures: it depends on the hour, since the bench's homeowners are spread over
the US time zones (all of them are inside the calling window from about 15:00 to 01:00
UTC; before 13:00 UTC nobody is). gunicorn runs the production settings
(``bench/web_settings.py``: DEBUG off, whitenoise's manifest storage, HTTPS behind a
proxy, so every request carries ``X-Forwarded-Proto: https``) on the bench database,
signed in as the agent whose book is closest to 10,000 leads. The baseline, measured in
the same run under the same load, is ``/bench/bare/``: a bare Django page of 50 rows.

By default wrk keeps as many connections open as gunicorn has workers, so nothing queues
in front of a worker and a request's latency is the server's time for it (plus loopback);
``--web-connections 4`` shows the latency under twice that load. wrk, gunicorn and
PostgreSQL share this machine's two cores.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 50.0
QUEUE_TARGET_MS = 100.0
TARGET_LEADS = 10_000

# wrk's own summary line, machine-readable; latencies in microseconds.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH p50=%.0f p95=%.0f p99=%.0f requests=%d duration=%d status=%d socket=%d\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.requests,
    summary.duration, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Page:
    name: str
    path: str
    headers: dict
    target: float | None  # its p95 target in ms; None for the baseline

    @property
    def key(self) -> str:
        return f"{self.path} (htmx)" if self.headers.get("HX-Request") else self.path


PAGES = [
    Page("bare view", "/bench/bare/", {}, None),
    Page("dashboard /", "/", {}, TARGET_MS),
    Page("lead list /leads/", "/leads/", {}, TARGET_MS),
    Page("call queue page /queue/", "/queue/", {}, QUEUE_TARGET_MS),
    Page("queue panel /queue/ (htmx)", "/queue/", {"HX-Request": "true"}, QUEUE_TARGET_MS),
]


@dataclass
class Result:
    p50: float  # ms
    p95: float
    p99: float
    rate: float  # requests/s
    requests: int
    errors: int
    app_cpu: float = 0.0  # ms of CPU a request, gunicorn's workers
    db_cpu: float = 0.0  # ms of CPU a request, their PostgreSQL backends
    busiest_share: float = 0.0  # the busiest worker's part of the workers' CPU (0.5 = even, with two)


def _cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU the processes have used so far (Linux /proc; 0 elsewhere)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    return total / os.sysconf("SC_CLK_TCK")


def _worker_pids(master: int) -> list[int]:
    try:
        return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def _backend_pids() -> list[int]:
    """The PostgreSQL backends of gunicorn's workers (kept for the whole run), not this one."""
    from django.db import connection

    db = connection.get_new_connection(connection.get_connection_params())
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                           "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
            return [pid for (pid,) in cursor.fetchall()]
    finally:
        db.close()


def _code_version() -> str:
    """The commit measured, and whether the application's files differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "leadcrm", "leads", "compliance", "pipeline",
                                "templates", "static"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} with uncommitted changes to the app" if dirty else head


def _schedule() -> list[tuple[str, Page]]:
    """The order pages are measured in, each with its row's label."""
    bare, *pages = PAGES
    return [("before", bare), *((page.key, page) for page in pages), ("after", bare)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _agent_near(target: int):
    """The agent whose book is closest to ``target`` leads, and its size."""
    from django.db.models import Count

    from leadcrm.accounts.models import User
    from leads.models import Lead

    books = (Lead.objects.exclude(assigned_agent=None).order_by().values("assigned_agent")
             .annotate(n=Count("pk")).values_list("assigned_agent", "n"))
    agent_id, leads = min(books, key=lambda book: (abs(book[1] - target), book[0]))
    return User.objects.get(pk=agent_id), leads


def _session_for(user) -> str:
    """A signed-in session for ``user``, as ``login()`` would store it; returns its key."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


def _query_counts(user) -> dict[str, int]:
    """Queries each page runs (in this process, through the test client), for the table."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    counts = {}
    with override_settings(ROOT_URLCONF="bench.web_urls", ALLOWED_HOSTS=["*"]):
        client = Client()
        client.force_login(user)
        for page in PAGES:
            headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in page.headers.items()}
            with CaptureQueriesContext(connection) as queries:
                response = client.get(page.path, **headers)
            counts[page.key] = len(queries) if response.status_code == 200 else -1
    return counts


def _queue_holds(user, limit: int = 30) -> list[tuple[str, int]]:
    """Why the first candidates of the queue are held back now: the gate's refusing rules."""
    from collections import Counter

    from django.utils import timezone

    from compliance.gate import outreach_verdicts
    from compliance.models import Channel, Verdict
    from pipeline.outreach.queue import purpose_for, queue_candidates

    now, rules, targets = timezone.now(), Counter(), []
    for lead in queue_candidates(user=user, now=now)[:limit]:
        for contact in lead.contacts.all():
            for phone in contact.phones.all():
                phone.contact = contact
                targets.append((lead, phone))
    for _, findings, _ in outreach_verdicts(targets=targets, channel=Channel.CALL, purpose=purpose_for(user),
                                            actor=user, at=now):
        rules.update({f.rule for f in findings if f.severity == Verdict.BLOCK})
    return rules.most_common(4)


def _gunicorn_env(url: str, var_dir: str) -> dict:
    from django.conf import settings

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.web_settings",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # the session above is signed with it
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": url,
        "DATABASE_CONN_MAX_AGE": "3600",  # one backend per worker for the run: its CPU is counted
        "CELERY_BROKER_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "LEADCRM_VAR_DIR": var_dir,  # collected static files, media: nothing in the repo's var/
        "LEADCRM_TELEPHONY": "local",  # the pages measured send no text
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_READ_DOT_ENV_FILE": "false",
        "PYTHONPATH": str(ROOT),
    }


def _wait_until_up(base: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            request = urllib.request.Request(base + "/healthz", headers={"X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /healthz in time")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _check_page(base: str, page: Page, headers: dict) -> int:
    """One request: the page must answer 200 signed in (not the login redirect); its size."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(base + page.path, headers={**headers, **page.headers})
    try:
        with opener.open(request, timeout=30) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{page.path} answered {error.code} ({error.headers.get('Location', '')})") from error
    if status != 200 or b'name="password"' in body:
        raise RuntimeError(f"{page.path} answered {status} without the signed-in page")
    return len(body)


def _wrk(wrk: str, url: str, headers: dict, *, seconds: int, threads: int, connections: int,
         script: str) -> Result:
    command = [wrk, "--latency", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", script]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    values = dict(item.split("=") for item in line.split()[1:])
    return Result(
        p50=int(values["p50"]) / 1000, p95=int(values["p95"]) / 1000, p99=int(values["p99"]) / 1000,
        rate=int(values["requests"]) / (int(values["duration"]) / 1e6), requests=int(values["requests"]),
        errors=int(values["status"]) + int(values["socket"]),
    )


def bench_web(*, seconds: int = 15, workers: int = 2, connections: int | None = None, threads: int = 2,
              warmup: int = 3, worker_class: str = "sync") -> dict:
    from django.db import connection
    from django.utils import timezone

    from bench.generate import brokerage_make_working
    from leads.models import Lead
    from pipeline.outreach.queue import call_queue

    wrk = shutil.which("wrk")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if wrk is None or not gunicorn.exists():
        print("\n[web] skipped: needs wrk (apt-get install wrk) and gunicorn (requirements.txt)")
        return {}
    load_before = os.getloadavg()[0]  # what else runs on the machine
    connections = connections or workers
    threads = min(threads, connections)
    url = os.environ["DATABASE_URL"]
    # A production database is autovacuumed; a freshly COPYed one is not yet, and without the
    # visibility map no index-only scan happens. Cheap when already done.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) leads_lead, leads_property, leads_contact, leads_phone, "
                       "leads_listmembership, pipeline_followup, pipeline_stagechange")
    working = brokerage_make_working()  # a database generated before it was (--keep), or data gone stale
    total = Lead.objects.count()
    agent, book = _agent_near(TARGET_LEADS)
    session_key = _session_for(agent)
    queue = call_queue(user=agent, size=25)  # the queue page's
    if not queue.entries:
        print("\n[web] WARNING: the call queue found nobody callable now; its figures measure refusals "
              "(see the time below: the bench's homeowners are all inside the calling window from about "
              "15:00 to 01:00 UTC)")
    holds = _queue_holds(agent)
    queries = _query_counts(agent)
    connection.close()  # gunicorn's workers have the database to themselves

    var_dir = tempfile.mkdtemp(prefix="leadcrm-bench-web-")
    env = _gunicorn_env(url, var_dir)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"],
                   env=env, cwd=ROOT, check=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(Path(var_dir) / "gunicorn.log", "w")
    server = subprocess.Popen(
        # Sync workers, as deployed (README's systemd unit behind nginx): each closes its
        # connection after the answer, so the kernel hands the next one to whichever worker is
        # free. gthread workers with keep-alive (what this bench ran before 28 Nov) let one
        # worker take both of wrk's connections about half the time, serving them one after
        # the other on one core: the "slow state" the bare page and the pages fell into.
        # (``--web-worker-class gthread`` measures that again.)
        [str(gunicorn), "leadcrm.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", worker_class, "--timeout", "60",
         *(["--threads", "1", "--keep-alive", "30"] if worker_class == "gthread" else [])],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    results: dict[str, Result] = {}
    sizes: dict[str, int] = {}
    try:
        _wait_until_up(base, server)
        headers = {"Cookie": f"sessionid={session_key}", "X-Forwarded-Proto": "https"}
        for page in PAGES:
            sizes[page.key] = _check_page(base, page, headers)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_SCRIPT)
        # The bare page before and after the others: the machine drifts while they run.
        for label, page in _schedule():
            options = dict(threads=threads, connections=connections, script=script.name)
            # Warm-up, which also lets the previous page's last requests drain.
            _wrk(wrk, base + page.path, {**headers, **page.headers}, seconds=warmup, **options)
            # CPU used a request, read off the processes: unlike latency it does not double
            # when the machine is busy with something else.
            workers_now, backends = _worker_pids(server.pid), _backend_pids()
            each_before, db_before = [_cpu_seconds([pid]) for pid in workers_now], _cpu_seconds(backends)
            result = _wrk(wrk, base + page.path, {**headers, **page.headers}, seconds=seconds, **options)
            each = [_cpu_seconds([pid]) - before for pid, before in zip(workers_now, each_before, strict=True)]
            if result.requests:
                result.app_cpu = sum(each) * 1000 / result.requests
                result.db_cpu = (_cpu_seconds(backends) - db_before) * 1000 / result.requests
                result.busiest_share = max(each) / sum(each) if sum(each) else 0.0
            results[label] = result
        os.unlink(script.name)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        errors = (Path(var_dir) / "gunicorn.log").read_text()
        shutil.rmtree(var_dir, ignore_errors=True)
    if any(r.errors for r in results.values()) and errors.strip():
        print(errors[-3000:])

    bare_p95 = (results["before"].p95 + results["after"].p95) / 2
    bare_cpu = sum(results[label].app_cpu + results[label].db_cpu for label in ("before", "after")) / 2
    local = timezone.localtime(timezone.now(), timezone.get_default_timezone())
    print(f"\n[web] pages under wrk against gunicorn ({workers} {worker_class} workers, production settings), "
          f"{total:,} leads in the database, code at {_code_version()}")
    print(f"  signed in as {agent.username}: {book:,} leads of their own; wrk --latency -t{threads} "
          f"-c{connections} -d{seconds}s per page after {warmup} s of warm-up; load average before "
          f"{load_before:.2f}")
    print(f"  working brokerage: procedures acknowledged, national registry fresh for {working['area_codes']} "
          f"area codes ({working['acknowledged']} acknowledgements and {working['listed']:,} listed numbers "
          "added now)")
    print(f"  call queue at {local:%H:%M} UTC: callable {len(queue.entries)} of {queue.scanned} leads "
          f"asked ({queue.held_back} held back; phones of the first 30 refused by rules "
          f"{', '.join(f'{rule} x{n}' for rule, n in holds) or 'none'})")
    header = f"  {'page':<32} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>7} {'queries':>7} " \
             f"{'KB':>5} {'p95/bare':>8} {'CPU ms app+db':>14} {'CPU/bare':>8} {'busiest':>7}  target p95"
    print(header)
    for label, page in _schedule():
        r = results[label]
        verdict = (f"< {page.target:.0f} ms " + ("met" if r.p95 < page.target else "NOT met")) if page.target \
            else "(baseline)"
        if r.errors:
            verdict += f"; {r.errors} errors of {r.requests}"
        name = f"{page.name}, {label}" if label in ("before", "after") else page.name
        cpu = f"{r.app_cpu:.1f}+{r.db_cpu:.1f}"
        cpu_ratio = (r.app_cpu + r.db_cpu) / bare_cpu if bare_cpu else 0
        print(f"  {name:<32} {r.p50:>7.1f} {r.p95:>7.1f} {r.p99:>7.1f} {r.rate:>7.1f} "
              f"{queries[page.key]:>7} {sizes[page.key] / 1024:>5.0f} {r.p95 / bare_p95:>7.1f}x {cpu:>14} "
              f"{cpu_ratio:>7.1f}x {r.busiest_share:>6.0%}  {verdict}")
    print(f"  baseline: /bench/bare/, a bare Django page of 50 rows behind the same middleware, measured before"
          f" and after the others in the same run (p95/bare divides by their mean, {bare_p95:.1f} ms);"
          " queries counted once through the test client; CPU ms app+db: CPU time of gunicorn's workers and"
          " of their PostgreSQL backends during the page's run, divided by its requests (CPU/bare: their sum"
          f" over the bare page's, {bare_cpu:.1f} ms); busiest: the busiest worker's part of the workers' CPU"
          f" ({100 / max(workers, 1):.0f} % when the load is even)")
    return {"results": results, "agent": agent.username, "book": book, "leads": total, "bare_cpu": bare_cpu,
            "callable": len(queue.entries), "asked": queue.scanned}
