"""Compliance benchmarks: registry loads, re-flagging phones, and the gate's latency.

Each prints its baseline, measured in the same run, beside the figure it is about.
"""

from __future__ import annotations

import io
import random
import statistics
import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone

REGISTRY_NUMBERS = 2_000_000


def _registry_file(size: int, rng: random.Random) -> bytes:
    """A national full list: a tenth of the brokerage's own phones, the rest random numbers
    in the same area codes (ten digits a line, as the FTC writes them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT substr(number, 3) FROM leads_phone WHERE number LIKE '+1%%' ORDER BY random() LIMIT %s",
            [size // 10],
        )
        known = [row[0] for row in cursor.fetchall()]
    area_codes = sorted({number[:3] for number in known}) or ["918"]
    numbers = set(known)
    while len(numbers) < size:
        numbers.add(f"{rng.choice(area_codes)}{rng.randint(2, 9)}{rng.randint(0, 999999):06d}")
    return "".join(f"{n}\n" for n in numbers).encode()


def bench_registry_load(size: int = REGISTRY_NUMBERS) -> dict:
    from compliance.models import LoadKind
    from compliance.services import dnc_source_for, registry_load_create, registry_load_run

    content = _registry_file(size, random.Random(11))
    # Baseline: raw COPY of the same file into a bare table.
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_dnc; CREATE TABLE bench_raw_dnc (number bigint)")
        started = time.perf_counter()
        cursor.copy_expert("COPY bench_raw_dnc FROM STDIN", io.BytesIO(content))
        raw_seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_raw_dnc")
    source = dnc_source_for(kind="national")
    load = registry_load_create(source=source, kind=LoadKind.FULL, version_date=timezone.localdate() - timedelta(days=3),
                                content=content, file_name="bench.txt", loaded_by=None)
    started = time.perf_counter()
    load = registry_load_run(load_id=load.pk)
    seconds = time.perf_counter() - started
    assert load.status == "done", load.errors
    print(f"\n[load_dnc] national full list of {size:,} numbers, {len(load.area_codes)} area codes")
    print(f"  load_dnc (read, parse, COPY, index rebuild, versions): {seconds:.2f} s = {size / seconds:,.0f} numbers/s")
    print(f"  baseline: raw COPY of the same file into a bare table: {raw_seconds:.2f} s = {size / raw_seconds:,.0f} numbers/s")
    print(f"  ratio: {raw_seconds / seconds:.2f} of raw COPY (target 300,000 numbers/s; aim for half of raw COPY)")
    return {"seconds": seconds, "raw_seconds": raw_seconds}


def bench_reflag(lead_sample: int = 100_000) -> dict:
    """Re-flag the phones of 100,000 leads against the registry numbers held."""
    from compliance.models import DncNumber
    from compliance.services import phones_reflag
    from leads.models import Lead, Phone

    last_lead = Lead.objects.order_by("pk").values_list("pk", flat=True)[lead_sample - 1]
    phones = Phone.objects.filter(contact__lead_id__lte=last_lead)
    phone_count = phones.count()
    phones.update(on_dnc_list=False)  # so that every listed phone has to change
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_phone; ANALYZE compliance_dncnumber")
        started = time.perf_counter()
        cursor.execute(
            "SELECT count(*) FROM leads_phone p JOIN compliance_dncnumber d "
            "ON d.id / 1000 = substr(p.number, 3)::bigint WHERE p.number LIKE '+1%%'"
        )
        joined = cursor.fetchone()[0]
        join_seconds = time.perf_counter() - started
    started = time.perf_counter()
    changed = phones_reflag(phones=phones)
    seconds = time.perf_counter() - started
    print(f"\n[reflag] phones of {lead_sample:,} leads ({phone_count:,} phones) against "
          f"{DncNumber.objects.count():,} registry numbers")
    started = time.perf_counter()
    unchanged = phones_reflag(phones=phones)
    steady = time.perf_counter() - started
    print(f"  phones_reflag: {seconds:.2f} s, {changed:,} flags set (target under 1 s)")
    print(f"  again, the usual case after a load where few flags change: {steady:.2f} s, {unchanged:,} set")
    print(f"  baseline: a bare join of all phones to the registry numbers: {join_seconds:.2f} s ({joined:,} matches)")
    return {"seconds": seconds, "join_seconds": join_seconds}


def bench_gate(samples: int = 1000) -> dict:
    """The gate's latency with the registry loaded: the live verdict the outreach form shows
    (every rule, nothing recorded; logging an attempt adds one insert of its check)."""
    from compliance.models import Channel, Purpose
    from compliance.services import outreach_preview
    from leadcrm.accounts.models import User
    from leads.models import Phone

    rng = random.Random(5)
    actor = User.objects.filter(username__startswith="bench.agent").first()
    phone_ids = list(Phone.objects.order_by("?").values_list("pk", flat=True)[:samples])
    phones = list(Phone.objects.filter(pk__in=phone_ids).select_related("contact__lead__property", "contact"))
    rng.shuffle(phones)
    outreach_preview(lead=phones[0].contact.lead, contact_point=phones[0], channel=Channel.CALL,
                     purpose=Purpose.LISTING, actor=actor, role_disclosed=True)  # warm up
    timings, baseline = [], []
    for phone in phones:
        started = time.perf_counter()
        outreach_preview(lead=phone.contact.lead, contact_point=phone, channel=Channel.CALL,
                         purpose=Purpose.LISTING, actor=actor, role_disclosed=True)
        timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            key = int(phone.number[2:]) * 1000
            cursor.execute("SELECT 1 FROM compliance_dncnumber WHERE id >= %s AND id < %s LIMIT 1", [key, key + 1000])
            cursor.fetchone()
        baseline.append(time.perf_counter() - started)
    p95 = statistics.quantiles(timings, n=20)[18] * 1000
    base95 = statistics.quantiles(baseline, n=20)[18] * 1000
    print(f"\n[gate] outreach_preview on {len(phones):,} random phones (all rules; the live verdict, "
          "which records nothing)")
    print(f"  p50 {statistics.median(timings) * 1000:.2f} ms, p95 {p95:.2f} ms (target p95 under 5 ms)")
    print(f"  baseline: one registry lookup by number: p95 {base95:.2f} ms; ratio {p95 / base95:.1f}x")
    return {"p95_ms": p95}
