"""The gate's latency as the evidence grows: a check's p95 at 1M check rows and at 50M.

The checks are partitioned by month (docs/database.md#partitions), so a check reads and
writes the indexes of the months its window covers, whatever the five years hold. The rows
are made set-based (``INSERT ... SELECT generate_series``), month by month over five
years, on the brokerage's own leads and numbers (four in five; the fifth a number it does
not hold). Each size times, on the same random phones: ``outreach_check`` (every rule, and
the check row inserted, as logging an attempt does) and ``outreach_preview`` (the live
verdict), beside one registry lookup by number as the baseline.

    BENCH_DATABASE_URL=postgres://.../leadcrm_bench_evidence python bench/run.py --only evidence \\
        --size 10k --evidence-rows 1000000,50000000
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone

MONTHS = 60
FILL = """
INSERT INTO compliance_compliancecheck (checked_at, actor_id, lead_id, channel, purpose, technology, direction,
                                        contact_point, mode, verdict, rule_ids, findings, evidence)
SELECT %(start)s::timestamptz + random() * %(span)s * interval '1 second',
       %(actor)s,
       (%(leads)s::bigint[])[1 + (g::bigint * 7919) %% %(count)s],
       'call', 'listing', 'manual', 'outbound',
       CASE WHEN g %% 5 = 0 THEN '+1' || (2002000000 + (random() * 7000000000)::bigint)::text
            ELSE (%(numbers)s::text[])[1 + (g::bigint * 7919) %% %(count)s] END,
       'log', CASE WHEN g %% 10 = 0 THEN 'block' ELSE 'allow' END, '[]', '[]', '{}'
FROM generate_series(1, %(rows)s) g
"""


def database_url(url: str) -> str:
    """Its own database beside the main bench's: tens of gigabytes at 50M rows."""
    base, _, name = url.rpartition("/")
    return url if name.endswith("_evidence") else f"{base}/{name}_evidence"


def _months(now):
    from leadcrm.shared.partitions import add_months, month_start

    first = add_months(month_start(now), -(MONTHS - 1))
    return [add_months(first, n) for n in range(MONTHS)]


def _fill(target: int, actor_id: int, leads: list[int], numbers: list[str]) -> float:
    """Add rows, spread evenly over the five years, until the table holds ``target``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM compliance_compliancecheck")
        (present,) = cursor.fetchone()
    missing = target - present
    if missing <= 0:
        return 0.0
    now = timezone.now()
    months = _months(now)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Rows valid by construction (the brokerage's own leads and agent): no foreign-key
        # check or rollup trigger row by row, as bench/reports_data.py loads its log. The
        # check-count rollup is not read by the gate.
        cursor.execute("SET session_replication_role = replica")
    for index, start in enumerate(months):
        rows = missing // MONTHS + (1 if index < missing % MONTHS else 0)
        until = months[index + 1] if index + 1 < MONTHS else now - timedelta(hours=1)
        span = (until - start).total_seconds() - 1
        with connection.cursor() as cursor:
            cursor.execute(FILL, {"start": start, "span": span, "actor": actor_id, "leads": leads,
                                  "numbers": numbers, "count": len(numbers), "rows": rows})
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = origin")
        cursor.execute("VACUUM ANALYZE compliance_compliancecheck")
    return time.perf_counter() - started


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] * 1000


def _time_gate(phones, actor) -> dict:
    from bench.compliance import registry_lookup_seconds
    from compliance.models import Channel, Purpose
    from compliance.services import outreach_check, outreach_preview

    logged, preview, baseline = [], [], []
    for phone in phones:
        lead = phone.contact.lead
        started = time.perf_counter()
        outreach_check(lead=lead, contact_point=phone, channel=Channel.CALL, purpose=Purpose.LISTING,
                       actor=actor, role_disclosed=True)
        logged.append(time.perf_counter() - started)
        started = time.perf_counter()
        outreach_preview(lead=lead, contact_point=phone, channel=Channel.CALL, purpose=Purpose.LISTING,
                         actor=actor, role_disclosed=True)
        preview.append(time.perf_counter() - started)
        baseline.append(registry_lookup_seconds(phone.number))
    return {"check": _p95(logged), "preview": _p95(preview), "baseline": _p95(baseline),
            "check_p50": statistics.median(logged) * 1000}


def bench_evidence(sizes: list[int], samples: int = 500, rounds: int = 2) -> dict:
    from leadcrm.accounts.models import User
    from leadcrm.shared.partitions import TABLES, create_partition, is_partitioned, maintain
    from leads.models import Phone

    spec = TABLES["compliance_check"]
    assert is_partitioned(spec), "the bench measures the partitioned table: run it on PostgreSQL"
    maintain(dry_run=False)
    for start in _months(timezone.now()):
        create_partition(spec, start)
    actor = User.objects.filter(username__startswith="bench.agent").first()
    pairs = list(Phone.objects.values_list("contact__lead_id", "number"))
    leads = [lead for lead, _ in pairs]
    numbers = [number for _, number in pairs]
    rng = random.Random(28)
    sample_ids = rng.sample(list(Phone.objects.values_list("pk", flat=True)), samples)
    phones = list(Phone.objects.filter(pk__in=sample_ids).select_related("contact__lead__property", "contact"))
    rng.shuffle(phones)
    results = {}
    print(f"\n[evidence] a check's latency as the checks grow ({len(numbers):,} numbers of the brokerage; "
          f"rows over {MONTHS} months, one partition each; {samples} phones, best of {rounds} rounds)")
    for size in sizes:
        seconds = _fill(size, actor.pk, leads, numbers)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), pg_total_relation_size('compliance_compliancecheck_default') FROM "
                           "compliance_compliancecheck")
            (count, _) = cursor.fetchone()
            cursor.execute("SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
                           "WHERE inhparent = 'compliance_compliancecheck'::regclass")
            (size_bytes,) = cursor.fetchone()
        _time_gate(phones[:20], actor)  # warm up
        measured = min((_time_gate(phones, actor) for _ in range(rounds)), key=lambda m: m["check"])
        results[size] = measured
        print(f"  {count:>12,} check rows ({float(size_bytes) / 1e9:.1f} GB; added in {seconds:.0f} s): "
              f"outreach_check p95 {measured['check']:.2f} ms (p50 {measured['check_p50']:.2f}), "
              f"outreach_preview p95 {measured['preview']:.2f} ms; "
              f"baseline one registry lookup p95 {measured['baseline']:.3f} ms", flush=True)
        if size != sizes[0]:
            first = results[sizes[0]]
            print(f"    ratio to {sizes[0]:,}: outreach_check {measured['check'] / first['check']:.2f}x, "
                  f"outreach_preview {measured['preview'] / first['preview']:.2f}x (target at most 1.2x); "
                  f"baseline {measured['baseline'] / first['baseline']:.2f}x", flush=True)
    return results
