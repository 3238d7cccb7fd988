"""The broker's reports against their target: "every report under 1 s with 1,000,000 leads and
5,000,000 outreach attempts".

In a database of its own (the brokerage bench's name plus ``_reports``), built once by
``bench/reports_data.py`` and kept with ``--keep`` (it takes minutes to build). Each report
of ``pipeline.reports.registry.REPORTS`` is timed for the last year and the last 90 days of the log:

- the report's function itself: the first call (its caches and the database's pages
  still cold for this report), then the best of three;
- the whole page, ``/admin/reports/<slug>/``, through Django's test client signed in as
  a broker (the function again, the template, the chart's JSON): best of three.

Checked in the same run, for each report and period: the page's CSV export holds exactly
the rows the function gave in the broker's zone (the page runs in the zone the broker's
middleware activates), and which of the rollups the page read (``OutreachCount``,
``CheckCount``: only when the period's edges fall on their spans' edges; ``ListDncCount``:
the DNC counts the periodic task keeps, which the bench refreshes first and times).
Agent activity's page is also timed for one agent's weeks (``?agent=<id>``), the busiest.

Baseline in the same run: ``SELECT count(*)`` of the outreach attempts in the same
period, the smallest question about the log a report could ask (best of three, measured
before and after the reports; the ratio divides by the smaller). The target is for the
page, which is what the broker waits for.
"""

from __future__ import annotations

import time
import zoneinfo
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from django.db import connection
from django.utils import timezone

BEST_OF = 3
# What a page read besides the logs: the rollups, which are only used when they fit.
ROLLUP_TABLES = {"pipeline_outreachcount": "OutreachCount", "pipeline_checkcount": "CheckCount",
                 "leads_listdnccount": "ListDncCount"}
TARGET_SECONDS = 1.0
TABLES = ("leads_lead", "leads_property", "leads_contact", "leads_phone", "leads_lien", "leads_listmembership",
          "leads_leadlist", "pipeline_stagechange", "pipeline_lenderfile", "pipeline_lendermilestone",
          "pipeline_outreachattempt", "compliance_compliancecheck", "pipeline_outreachcount", "pipeline_checkcount",
          "leads_listdnccount")


def database_url(brokerage_url: str) -> str:
    """The reports bench's database: the brokerage bench's server, name plus ``_reports``,
    so that a full run (which recreates the brokerage) never drops it."""
    parts = urlsplit(brokerage_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_reports"))


def _best(call, times: int = BEST_OF) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(times):
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    return best, result


def _count_attempts(period) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pipeline_outreachattempt WHERE occurred_at >= %s AND occurred_at < %s",
                       [period.since, period.until])
        return cursor.fetchone()[0]


def _table_sizes() -> dict[str, tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_live_tup, pg_total_relation_size(relid) FROM pg_stat_user_tables "
                       "WHERE relname = ANY(%s)", [list(TABLES)])
        return {name: (rows, size) for name, rows, size in cursor.fetchall()}


def _code_version() -> str:
    import subprocess
    from pathlib import Path

    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def _as_csv(report) -> str:
    """The rows as the page's CSV export writes them."""
    import csv
    import io

    from leadcrm.shared.csv_export import safe_cell
    from pipeline.reports.period import plain

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in [report.columns, *report.rows]:
        writer.writerow([safe_cell(plain(cell)) for cell in row])  # a count that links exports as its number
    return buffer.getvalue()


def _rollups_read(queries) -> str:
    read = [name for table, name in ROLLUP_TABLES.items() if any(table in query["sql"] for query in queries)]
    return "+".join(read) or "-"


def ensure_brokerage(lead_count: int) -> None:
    """Build the reports' brokerage unless the database already holds one."""
    from bench.reports_data import generate_reports_brokerage
    from leads.models import Lead
    from pipeline.models import OutreachAttempt

    leads, attempts = Lead.objects.count(), OutreachAttempt.objects.count()
    if leads:
        print(f"Reusing the reports database: {leads:,} leads, {attempts:,} outreach attempts.")
        return
    built = generate_reports_brokerage(lead_count)
    print(f"\n[generate reports brokerage] {lead_count:,} leads over two years, written with COPY")
    for table, count in built.rows.items():
        print(f"  {table:<28} {count:>11,}")
    seconds = sum(s for what, s in built.seconds.items() if not what.startswith("of which"))
    print(f"  {'all rows':<28} {built.total_rows:>11,} in {seconds:.0f} s ("
          + "; ".join(f"{what} {s:.0f} s" for what, s in built.seconds.items()) + ")")


def bench_reports(lead_count: int) -> dict:
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

    from leadcrm.accounts.models import User
    from pipeline.reports.compliance import dnc_list_counts_refresh
    from pipeline.reports.period import Period
    from pipeline.reports.registry import REPORTS

    ensure_brokerage(lead_count)
    from bench.reports_data import dataset_period_end

    # A production database is autovacuumed (the visibility map lets index-only scans skip
    # the heap) and analysed; a freshly COPYed one is not yet. Cheap when already done.
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'", [list(TABLES)])
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(name for (name,) in cursor.fetchall())}")
    vacuumed = time.perf_counter() - started
    sizes = _table_sizes()
    broker = User.objects.get(username="bench.broker")
    # The functions in the broker's zone, as the pages run them (its middleware activates it).
    zone = zoneinfo.ZoneInfo(broker.time_zone)
    end = dataset_period_end(zone)
    periods = {"1 year": Period(end - timedelta(days=364), end), "90 days": Period(end - timedelta(days=89), end)}
    client = Client()
    client.force_login(broker)
    # What the periodic task does every 10 minutes, so the DNC report reads fresh counts.
    refreshed = _best(dnc_list_counts_refresh, times=1)[0]

    baseline = {label: _best(lambda p=period: _count_attempts(p)) for label, period in periods.items()}
    rows = []
    def in_zone(function, period):
        # A request ends by putting the default zone back, so each call sets its own.
        with timezone.override(zone):
            return function(period)

    drill_down = {}
    with override_settings(ALLOWED_HOSTS=["*"]):
        for slug, (_title, function) in REPORTS.items():
            for label, period in periods.items():
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    report = in_zone(function, period)
                    first = time.perf_counter() - started
                # Before a request resets the log; not counting BEGIN, SET LOCAL and COMMIT.
                queries = sum(1 for query in captured.captured_queries
                              if not query["sql"].lstrip().upper().startswith(("BEGIN", "SET", "COMMIT", "SAVEPOINT",
                                                                               "RELEASE")))
                best, _ = _best(lambda f=function, p=period: in_zone(f, p))
                url = reverse("reports:report", args=[slug])
                params = {"from": period.start.isoformat(), "to": period.end.isoformat()}
                page, response = _best(lambda u=url, q=params: client.get(u, q))
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}")
                with CaptureQueriesContext(connection) as captured:
                    exported = client.get(url, {**params, "format": "csv"})
                    text = b"".join(exported.streaming_content).decode()
                if text != _as_csv(report):
                    raise RuntimeError(f"{url} {label}: the page's export differs from the function's rows in "
                                       f"{broker.time_zone}")
                rows.append((slug, label, first, best, page, queries, len(report.rows),
                             _rollups_read(captured.captured_queries), len(response.content)))
                if slug == "agent-activity" and report.keys:
                    busiest = max(set(report.keys), key=report.keys.count)
                    drill_down[label] = _best(lambda u=url, q={**params, "agent": busiest}: client.get(u, q))[0], \
                        len(client.get(url, {**params, "agent": busiest}).content)
    after = {label: _best(lambda p=period: _count_attempts(p)) for label, period in periods.items()}

    print(f"\n[reports] every report of pipeline.reports.registry.REPORTS, {sizes['leads_lead'][0]:,} leads, "
          f"{sizes['pipeline_outreachattempt'][0]:,} outreach attempts, "
          f"{sizes['compliance_compliancecheck'][0]:,} compliance checks, "
          f"{sizes['pipeline_stagechange'][0]:,} stage changes (VACUUM ANALYZE {vacuumed:.1f} s)")
    print("  periods: " + "; ".join(f"{label} {p.start} to {p.end}" for label, p in periods.items())
          + f", in the broker's zone ({broker.time_zone}), code at {_code_version()}")
    print("  database: " + ", ".join(f"{name} {size / 2**20:,.0f} MB" for name, (_, size) in sorted(
        sizes.items(), key=lambda item: -item[1][1])[:4]))
    base = {label: min(baseline[label][0], after[label][0]) for label in periods}
    for label in periods:
        print(f"  baseline {label}: SELECT count(*) of the attempts in the period = {baseline[label][1]:,}: "
              f"{baseline[label][0] * 1000:.0f} ms before the reports, {after[label][0] * 1000:.0f} ms after")
    print(f"  DNC counts for every list (the periodic task, pipeline.dnc_list_counts_refresh): {refreshed:.2f} s")
    print(f"  {'report':<18} {'period':<8} {'first s':>8} {'best s':>7} {'page s':>7} {'queries':>7} {'rows':>6} "
          f"{'page kB':>7} {'rollups read':<13} {'page/baseline':>13}  under {TARGET_SECONDS:.0f} s (page)")
    for slug, label, first, best, page, queries, count, read, size in rows:
        verdict = "yes" if page < TARGET_SECONDS else "NO"
        print(f"  {slug:<18} {label:<8} {first:>8.3f} {best:>7.3f} {page:>7.3f} {queries:>7} {count:>6} "
              f"{size / 1024:>7.0f} {read:<13} {page / base[label]:>12.1f}x  {verdict}")
    for label, (seconds, size) in drill_down.items():
        verdict = "yes" if seconds < TARGET_SECONDS else "NO"
        print(f"  agent-activity, the busiest agent's weeks (?agent=), {label}: page {seconds:.3f} s, "
              f"{size / 1024:.0f} kB  {verdict}")
    print("  every page's CSV export held the function's rows, in the broker's zone")
    slow = [row for row in rows if row[4] >= TARGET_SECONDS]
    print(f"  first: the report's function called once, cold for it; best: best of {BEST_OF} warm; page: "
          f"/admin/reports/<slug>/ through the test client as a broker, best of {BEST_OF}; "
          f"{'every page under 1 s' if not slow else f'{len(slow)} of {len(rows)} pages over 1 s'}")
    forecast = bench_forecast(broker, periods["1 year"], zone)
    return {"rows": rows, "baseline": base, "forecast": forecast}


def bench_forecast_only(lead_count: int) -> dict:
    """``bench_forecast`` alone, on the reports' brokerage (``--only forecast``)."""
    from leadcrm.accounts.models import User

    ensure_brokerage(lead_count)
    from bench.reports_data import dataset_period_end
    from pipeline.reports.period import Period

    broker = User.objects.get(username="bench.broker")
    zone = zoneinfo.ZoneInfo(broker.time_zone)
    end = dataset_period_end(zone)
    return bench_forecast(broker, Period(end - timedelta(days=364), end), zone)


def _walks(queries) -> int:
    """How many of ``queries`` walked every stage move (the closing model's query)."""
    return sum(1 for query in queries if "LAG(c.changed_at)" in query["sql"])


def bench_forecast(broker, period, zone) -> dict:
    """The closing forecast's cold costs: learning its model walks every stage move of the
    last two years and every open lead. Who pays it: the periodic task (every quarter
    hour), the report when nothing is kept, never a lead page. Baseline in the same run:
    ``SELECT count(*)`` of the stage moves and of the open leads, the least a walk reads."""
    from django.core.cache import cache
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

    from leads.models import FUNNEL_STAGES, Lead, Stage
    from pipeline.deals.forecast.back_tests import forecast_refresh
    from pipeline.deals.forecast.durations import stage_durations
    from pipeline.deals.forecast.model import learn_closing_model
    from pipeline.reports.closings import forecast_closings

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pipeline_stagechange")
            cursor.execute("SELECT count(*) FROM leads_lead WHERE stage = ANY(%s)", [[str(s) for s in FUNNEL_STAGES]])

    def cold(call):
        cache.clear()
        stage_durations()  # bounded (the last 2,000 closings), not what is measured here
        return _best(call, times=1)[0]

    results = {}
    with timezone.override(zone):
        base = _best(baseline)[0]
        results["walk, one moment (learn_closing_model)"] = min(cold(learn_closing_model) for _ in range(2))
        results["walk, the model and three back-tests (forecast_refresh, the task)"] = min(
            cold(forecast_refresh) for _ in range(2))
        results["report function, nothing kept"] = min(cold(lambda: forecast_closings(period)) for _ in range(2))
        forecast_refresh()
        results["report function, kept by the task"] = _best(lambda: forecast_closings(period))[0]
        lead = Lead.objects.filter(stage=Stage.NEGOTIATE).order_by("pk").first()
        url = reverse("leads:detail", args=[lead.pk])
        client = Client()
        client.force_login(broker)
        with override_settings(ALLOWED_HOSTS=["*"]):
            client.get(url)
            cache.clear()
            stage_durations()
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                nothing_kept = time.perf_counter() - started
            walked = _walks(captured.captured_queries)
            results[f"lead page, nothing kept ({walked} walks; the worker asked)"] = nothing_kept
            forecast_refresh()
            page, response = _best(lambda: client.get(url))
            results["lead page, model kept"] = page
            if response.status_code != 200 or "Forecast closing" not in response.content.decode():
                raise RuntimeError(f"{url}: no forecast with the model kept")
    print(f"\n[forecast] the closing model's walk over every stage move and open lead, in {zone}")
    print(f"  baseline: SELECT count(*) of the stage moves and of the open leads: {base * 1000:.0f} ms")
    for what, seconds in results.items():
        print(f"  {what:<72} {seconds:>7.3f} s {seconds / base:>7.1f}x")
    return {"baseline": base, **results}
