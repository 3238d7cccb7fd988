"""List import throughput: PropStream rows end to end, beside two baselines in the same run.

(a) django-import-export with a default ModelResource loading the same rows into a flat
table (one text column per header); (b) Django ``bulk_create`` of the same rows into that
flat table with no processing at all. Peak memory is the process's maximum RSS.
"""

from __future__ import annotations

import csv
import random
import resource
import tempfile
import time
from pathlib import Path

HEADERS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "samples" / "propstream_export_sample.csv"
STREETS = ["Pine Rd", "Maple Dr", "Troost Ave", "Elm St", "Walnut St", "Oak Ln", "Cedar Ct", "Birch Way",
           "Juniper Pl", "Spruce Ter", "Willow Dr", "Hickory Rd", "Aspen Cir", "Laurel St", "Chestnut Dr"]
PLACES = [("Tulsa", "OK", "741", "918", "Tulsa"), ("Pensacola", "FL", "325", "850", "Escambia"),
          ("Overland Park", "KS", "662", "913", "Johnson"), ("Independence", "MO", "640", "816", "Jackson"),
          ("Houston", "TX", "770", "713", "Harris"), ("Phoenix", "AZ", "850", "602", "Maricopa")]
FIRST = ["Maria", "Robert", "Chen", "José", "Nguyễn", "Aisha", "David", "Linda", "James", "Priya"]
LAST = ["Garcia", "Smith", "Lee", "Schmidt", "Kowalski", "Johnson", "Brown", "Patel", "Nguyen", "Diaz"]


def write_propstream_file(path: Path, rows: int, seed: int = 7, run: int = 0, fresh_every: int = 0,
                          fresh_run: int = 0) -> None:
    """A PropStream export of ``rows`` distinct houses, in the sample's exact header layout.

    ``run`` prefixes street numbers and APNs, so a rerun on a kept database imports new houses.
    ``fresh_every``: every n-th row is a house of ``fresh_run`` instead, and every row has a
    second phone and a second loan (a list whose houses are mostly held, with news on them).
    """
    with HEADERS.open(newline="", encoding="utf-8") as sample:
        header = next(csv.reader(sample))
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for n in range(rows):
            city, state, zip3, area, county = PLACES[n % len(PLACES)]
            house_run = fresh_run if fresh_every and n % fresh_every == 0 else run
            value = rng.randrange(150, 700) * 1000
            loan1 = int(value * rng.uniform(0.6, 1.15))
            heloc = rng.random() < 0.3
            loan2 = rng.randrange(20, 80) * 1000 if heloc else ""
            prefc = rng.random() < 0.4
            row = {
                "Address": f"{house_run or ''}{100 + n} {STREETS[n % 15]}",
                "City": city, "State": state, "Zip": f"{zip3}{n % 90 + 10:02d}", "County": county,
                "APN": f"{house_run}-{n:09d}", "Owner Occupied": rng.choice(["Yes", "No"]),
                "Owner 1 First Name": rng.choice(FIRST), "Owner 1 Last Name": rng.choice(LAST),
                "Mailing Address": f"{100 + n} {STREETS[n % 15]}", "Mailing City": city, "Mailing State": state,
                "Mailing Zip": f"{zip3}01", "Property Type": "Single Family", "Bedrooms": rng.randrange(1, 6),
                "Total Bathrooms": rng.randrange(1, 4), "Building Sqft": rng.randrange(800, 4000),
                "Year Built": rng.randrange(1920, 2020), "Vacant": "No",
                "Loan 1 Date": "04/15/2014", "Loan 1 Balance": f"${loan1:,}", "Loan 1 Type": "Conventional",
                "Loan 1 Lender": "Mr. Cooper", "Loan 2 Date": "03/01/2019" if heloc else "",
                "Loan 2 Balance": loan2, "Loan 2 Type": "HELOC" if heloc else "", "Loan 2 Lender": "PennyMac" if heloc else "",
                "Est. Value": value, "Pre-FC Recording Date": "05/02/2026" if prefc else "",
                "Pre-FC Record Type": "NOD" if prefc else "", "Pre-FC Lender": "Mr. Cooper" if prefc else "",
                "Pre-FC Auction Date": "01/20/2027" if prefc and rng.random() < 0.5 else "",
                "Phone1": f"({area}) 555-{100 + n % 100:04d}"[:14] if n % 7 else f"{area}.555.{n % 10000:04d}",
                "Phone1 Type": "Mobile", "Phone2": f"{area}555{(n * 7) % 10000:04d}" if n % 3 == 0 else "",
                "Email1": f"owner{n}@example.com", "Date Added to List": "11/01/2026",
            }
            if fresh_every:
                row.update({"Phone2": f"{area}556{n % 10000:04d}", "Loan 2 Date": "03/01/2019",
                            "Loan 2 Balance": f"${rng.randrange(20, 80) * 1000:,}", "Loan 2 Type": "HELOC",
                            "Loan 2 Lender": "PennyMac"})
            writer.writerow([row.get(h, "") for h in header])


def _flat_model(headers: list[str]):
    """An unmanaged model with one text column per header, and its table (baselines a and b)."""
    from django.db import connection, models

    fields = {f"c{i}": models.TextField(blank=True, default="") for i in range(len(headers))}
    meta = type("Meta", (), {"app_label": "leads", "db_table": "bench_flat_row", "managed": False})
    model = type("BenchFlatRow", (models.Model,), {"__module__": __name__, "Meta": meta, **fields})
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_flat_row")
        columns = ", ".join(f"c{i} text NOT NULL DEFAULT ''" for i in range(len(headers)))
        cursor.execute(f"CREATE TABLE bench_flat_row (id bigserial PRIMARY KEY, {columns})")
    return model


def _table_marks() -> dict[str, int]:
    """Every table with an ``id`` column and its highest id now: the rows after it are new."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'id' AND NOT a.attisdropped "
                       "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname")
        tables = [name for (name,) in cursor.fetchall()]
        marks = {}
        for table in tables:
            cursor.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"')
            marks[table] = cursor.fetchone()[0]
    return marks


def _written(marks: dict[str, int]) -> dict[str, int]:
    """The tables an import wrote new rows into since ``marks``, and how many."""
    from django.db import connection

    written = {}
    with connection.cursor() as cursor:
        for table, mark in marks.items():
            cursor.execute(f'SELECT count(*) FROM "{table}" WHERE id > %s', [mark])
            count = cursor.fetchone()[0]
            if count:
                written[table] = count
    return written


def import_limit(marks: dict[str, int], written: dict[str, int]) -> dict:
    """The import's ceiling: the rows it wrote, COPYed into empty copies of their tables.

    Each table the import wrote gets an empty twin in a scratch schema with the same
    columns, defaults, checks, keys and indexes (``LIKE ... INCLUDING ALL``) and the same
    foreign keys (to the twin when the import wrote the table it points at, else to the
    table itself); the rows dumped from the import are then COPYed in, in one transaction
    committed like an import batch (no WAL flush wait), its deferred key checks included.
    """
    import io
    import re

    from django.db import connection, transaction

    tables = sorted(written)
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS bench_limit CASCADE; CREATE SCHEMA bench_limit")
        for table in tables:
            cursor.execute(f'CREATE TABLE bench_limit."{table}" (LIKE public."{table}" INCLUDING ALL)')
        cursor.execute("SELECT conrelid::regclass::text, confrelid::regclass::text, conname, "
                       "pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' "
                       "AND conrelid::regclass::text = ANY(%s)", [tables])
        keys = cursor.fetchall()
        needs = {table: set() for table in tables}
        for table, target, name, definition in keys:
            target = target.strip('"')
            if target in written:
                definition = re.sub(r"REFERENCES (\S+)\(", f'REFERENCES bench_limit."{target}"(', definition)
                if target != table:
                    needs[table].add(target)
            cursor.execute(f'ALTER TABLE bench_limit."{table}" ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("SELECT tablename, count(*) FROM pg_indexes WHERE schemaname = 'bench_limit' "
                       "GROUP BY tablename")
        indexes = dict(cursor.fetchall())
        dumps = {}
        for table in tables:
            buffer = io.StringIO()
            cursor.copy_expert(f'COPY (SELECT * FROM public."{table}" WHERE id > {int(marks[table])} ORDER BY id) '
                               "TO STDOUT", buffer)
            dumps[table] = buffer
    order, placed = [], set()
    while len(order) < len(tables):  # the tables pointed at first (most keys are deferred anyway)
        ready = [t for t in tables if t not in placed and needs[t] <= placed] or [
            t for t in tables if t not in placed]
        order.append(ready[0])
        placed.add(ready[0])
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        for table in order:
            dumps[table].seek(0)
            cursor.copy_expert(f'COPY bench_limit."{table}" FROM STDIN', dumps[table])
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA bench_limit CASCADE")
    return {"seconds": seconds, "rows": sum(written.values()),
            "index_entries": sum(count * indexes.get(table, 0) for table, count in written.items())}


def _import_file(path: Path, user, list_name: str):
    """One import of ``path`` end to end (stored as an upload is, then run): seconds, job."""
    from django.core.files import File

    from leads.imports.services import import_job_create, import_run
    from leads.models import LeadSource

    started = time.perf_counter()
    with path.open("rb") as upload:  # streamed to storage like an upload, never whole in memory
        job = import_job_create(content=File(upload), file_name=path.name, created_by=user,
                                source=LeadSource.PROPSTREAM, list_name=list_name)
    job = import_run(job_id=job.pk)
    return time.perf_counter() - started, job


def bench_import(rows: int = 100_000, peer_rows: int = 10_000) -> dict:
    from django.db import connection

    from leadcrm.accounts.models import User

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "propstream.csv"
        run = int(time.time()) % 100_000
        write_propstream_file(path, rows, run=run)
        user = User.objects.order_by("pk").first()
        list_name = f"bench import {time.time():.0f}"
        marks = _table_marks()
        seconds, job = _import_file(path, user, list_name)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        reader_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the forked reader
        written = _written(marks)
        limit = import_limit(marks, written)

        # The same file again, into the same list (the same name is the same list).
        again_seconds, again = _import_file(path, user, list_name)
        # A list whose houses are mostly held: nine rows in ten are houses imported above,
        # each with a second phone and a second loan; the tenth a house never seen.
        held_path = Path(tmp) / "propstream_held.csv"
        write_propstream_file(held_path, rows, run=run, fresh_every=10, fresh_run=(run + 1) % 100_000 or 1)
        held_seconds, held = _import_file(held_path, user, f"{list_name} held")

        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            headers = next(reader)
            data = list(reader)
        model = _flat_model(headers)
        started = time.perf_counter()
        model.objects.bulk_create((model(**{f"c{i}": v for i, v in enumerate(r)}) for r in data), batch_size=2000)
        bulk_seconds = time.perf_counter() - started

        import tablib
        from import_export import resources

        resource_class = resources.modelresource_factory(model=model)
        dataset = tablib.Dataset(headers=[f"c{i}" for i in range(len(headers))])
        for r in data[:peer_rows]:
            dataset.append(r)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE bench_flat_row")
        started = time.perf_counter()
        result = resource_class().import_data(dataset, dry_run=False, raise_errors=True)
        peer_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_flat_row")

    rate, bulk_rate, peer_rate = rows / seconds, rows / bulk_seconds, peer_rows / peer_seconds
    again_rate, held_rate, limit_rate = rows / again_seconds, rows / held_seconds, rows / limit["seconds"]
    print(f"\n[import] {rows:,} PropStream rows end to end (parse, normalise, dedupe, write leads, owners, phones, "
          "liens, filings, follow-ups; flag phones; score)")
    print(f"  import: {seconds:.1f} s = {rate:,.0f} rows/s; {job.leads_created:,} leads, {job.phones_valid:,} phones, "
          f"{job.rows_rejected:,} rejected (target 20,000 rows/s)")
    print(f"  re-import of the same file into the same list: {again_seconds:.1f} s = {again_rate:,.0f} rows/s "
          f"({again.leads_merged:,} merged, {again.leads_created:,} created); "
          f"{again_rate / rate:.2f}x the first import's rate (aim 1.0x)")
    print(f"  a list of mostly held houses (9 in 10, each with a new phone and loan): {held_seconds:.1f} s = "
          f"{held_rate:,.0f} rows/s ({held.leads_merged:,} merged, {held.leads_created:,} created); "
          f"{held_rate / rate:.2f}x the first import's rate")
    print(f"  limit: the first import's {limit['rows']:,} table rows ({limit['rows'] / rows:.1f} a row) and "
          f"{limit['index_entries']:,} index entries ({limit['index_entries'] / rows:.0f} a row) in "
          f"{len(written)} tables, COPYed into empty copies with the same keys and indexes: "
          f"{limit['seconds']:.1f} s = {limit_rate:,.0f} input rows/s")
    print(f"  import vs limit: first {rate / limit_rate:.2f}x, re-import {again_rate / limit_rate:.2f}x, "
          f"mostly held {held_rate / limit_rate:.2f}x (aim 0.6x)")
    print(f"  baseline (a): django-import-export, default ModelResource, flat table: {peer_rate:,.0f} rows/s "
          f"({peer_rows:,} rows, {result.totals['new']:,} new); ratio {rate / peer_rate:.1f}x (aim 25x); "
          f"limit vs it {limit_rate / peer_rate:.1f}x")
    print(f"  baseline (b): bulk_create of the same rows into the flat table, no processing: {bulk_rate:,.0f} rows/s;"
          f" ratio {bulk_rate / rate:.1f}x slower than it (aim within 2x)")
    print(f"  peak RSS of this process: {peak_mb:,.0f} MB (with whatever ran before it in this process); "
          f"of the forked row reader: {reader_mb:,.0f} MB, most of it pages shared with this process")
    print("  tables written: " + ", ".join(f"{table} {count:,}" for table, count in sorted(written.items())))
    return {"rate": rate, "bulk_rate": bulk_rate, "peer_rate": peer_rate, "again_rate": again_rate,
            "held_rate": held_rate, "limit_rate": limit_rate}
