"""Loading Do Not Call registry files (A1-A3, A5): full lists and change lists, plain or zipped.

A file is parsed completely before anything is written; one bad line rejects the whole
file with line numbers, and the data held before stays in force (its version keeps
aging, so A3 still tells the truth). The write is one transaction. On PostgreSQL a
large full list is copied in with ``COPY`` while the (number, source) index is rebuilt
afterwards, which is several times faster than maintaining it row by row; readers of
the table wait for the few seconds that takes.
"""

from __future__ import annotations

import io
import zipfile
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from .models import AREA_CODE_SPAN, AreaCodeVersion, DncNumber, DncSource, LoadKind, LoadStatus, RegistryLoad

MAX_ERRORS = 50
PROGRESS_EVERY = 100_000
# A full list larger than this share of the table is loaded by rebuilding the index.
REBUILD_SHARE = 0.2
REBUILD_MIN_ROWS = 100_000

NOT_A_NUMBER = "line {line}: {text!r} is not a phone number (ten digits, or area code,number)"
NOT_NANP = "line {line}: {text!r} is not a valid US number (area code and exchange start with 2-9)"
BAD_FLAG = "line {line}: {text!r} has no add or delete flag (A or D) for a change list"
XML_LAYOUT = "This is the XML layout; download the flat text layout from the registry instead."
EMPTY_FILE = "The file has no numbers in it."
MORE_ERRORS = "... and {count} more lines that cannot be read."
UNREADABLE_ZIP = "The zip file is damaged or holds no text file."
NO_AREA_CODES = "A change list needs the area codes it covers (none are held yet for this source)."

ADD_FLAGS = {b"A", b"ADD", b"ADDED", b"I", b"INSERT"}
DELETE_FLAGS = {b"D", b"DEL", b"DELETE", b"DELETED", b"R", b"REMOVE"}
NANP_FIRST = frozenset(b"23456789")


class RegistryFileRejected(Exception):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors[:3]))


@dataclass
class ParsedRegistry:
    adds: array = field(default_factory=lambda: array("q"))
    deletes: array = field(default_factory=lambda: array("q"))
    lines: int = 0

    @property
    def area_codes(self) -> list[str]:
        return sorted({str(n // AREA_CODE_SPAN) for n in (*self.adds, *self.deletes)})


def read_registry_bytes(raw: bytes) -> bytes:
    """The text of a registry download: unzipped when zipped (the FTC zips its files)."""
    if raw[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/")]
                if not names:
                    raise RegistryFileRejected([UNREADABLE_ZIP])
                return b"\n".join(archive.read(name) for name in names)
        except zipfile.BadZipFile as exc:
            raise RegistryFileRejected([UNREADABLE_ZIP]) from exc
    return raw


def _number(token: bytes) -> int | None:
    """``b'9185550104'`` or ``b'918,5550104'`` -> 9185550104; None when not a NANP number."""
    if len(token) == 11 and token[3:4] == b",":
        token = token[:3] + token[4:]
    if len(token) != 10 or not token.isdigit():
        return None
    return int(token)


def parse_registry(
    text: bytes, *, kind: LoadKind, progress: Callable[[int, int], None] | None = None
) -> ParsedRegistry:
    """Parse every line or reject the file; says which lines and why (A2)."""
    if text.lstrip()[:1] == b"<":
        raise RegistryFileRejected([XML_LAYOUT])
    lines = text.split(b"\n")
    total = len(lines)
    parsed, errors, bad = ParsedRegistry(), [], 0
    adds, deletes = parsed.adds, parsed.deletes
    for index, line in enumerate(lines, start=1):
        if index % PROGRESS_EVERY == 0 and progress:
            progress(index, total)
        line = line.strip()
        if not line:
            continue
        if kind == LoadKind.FULL:
            token, flag = line, None
        else:
            parts = line.split(b",")
            # NPA,NXXXXXX,FLAG[,date] or NNNNNNNNNN,FLAG[,date]
            if len(parts) >= 3 and len(parts[0]) == 3:
                token, flag = parts[0] + b"," + parts[1], parts[2].strip().upper()
            elif len(parts) >= 2:
                token, flag = parts[0], parts[1].strip().upper()
            else:
                token, flag = line, b""
        number = _number(token.strip())
        problem = None
        if number is None:
            problem = NOT_A_NUMBER
        elif token.strip()[0] not in NANP_FIRST or str(number)[3] not in "23456789":
            problem = NOT_NANP
        elif flag is not None and flag not in ADD_FLAGS | DELETE_FLAGS:
            problem = BAD_FLAG
        if problem:
            bad += 1
            if len(errors) < MAX_ERRORS:
                errors.append(problem.format(line=index, text=line[:40].decode("latin-1")))
            continue
        parsed.lines += 1
        if flag is not None and flag in DELETE_FLAGS:
            deletes.append(number)
        else:
            adds.append(number)
    if bad > len(errors):
        errors.append(MORE_ERRORS.format(count=bad - len(errors)))
    if errors:
        raise RegistryFileRejected(errors)
    if not parsed.lines:
        raise RegistryFileRejected([EMPTY_FILE])
    if progress:
        progress(total, total)
    return parsed


# Writing -----------------------------------------------------------------------------------


def _area_code_filter(area_codes: list[str]) -> tuple[str, list]:
    return "number / %s = ANY(%s)", [AREA_CODE_SPAN, [int(code) for code in area_codes]]


def _copy_numbers(cursor, table: str, columns: str, rows: io.StringIO) -> None:
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", rows)


def _write_postgres(source: DncSource, parsed: ParsedRegistry, kind: LoadKind, area_codes: list[str],
                    version: date) -> tuple[int, int]:
    table = DncNumber._meta.db_table
    constraint = "dnc_number_once_per_source"
    adds = sorted(set(parsed.adds))
    added = removed = 0
    with connection.cursor() as cursor:
        where, params = _area_code_filter(area_codes)
        if kind == LoadKind.FULL:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            held = max(cursor.fetchone()[0], 0)
            rebuild = len(adds) >= REBUILD_MIN_ROWS and len(adds) > REBUILD_SHARE * held
            if rebuild:
                # Deferred foreign-key checks pending in this transaction would forbid ALTER.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
            cursor.execute(f"DELETE FROM {table} WHERE source_id = %s AND {where}", [source.pk, *params])
            removed = cursor.rowcount
            day = version.isoformat()
            _copy_numbers(cursor, table, "source_id, number, added_on",
                          io.StringIO("".join(f"{source.pk}\t{n}\t{day}\n" for n in adds)))
            added = len(adds)
            if rebuild:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} UNIQUE (number, source_id)")
        else:
            cursor.execute("CREATE TEMP TABLE dnc_change (number bigint, is_add boolean) ON COMMIT DROP")
            rows = [f"{n}\tt\n" for n in adds] + [f"{n}\tf\n" for n in sorted(set(parsed.deletes))]
            _copy_numbers(cursor, "dnc_change", "number, is_add", io.StringIO("".join(rows)))
            cursor.execute(
                f"INSERT INTO {table} (source_id, number, added_on) "
                "SELECT %s, number, %s FROM dnc_change WHERE is_add ON CONFLICT DO NOTHING",
                [source.pk, version],
            )
            added = cursor.rowcount
            # A5: a registration clears only through a change-list delete.
            cursor.execute(
                f"DELETE FROM {table} d USING dnc_change c "
                "WHERE NOT c.is_add AND d.number = c.number AND d.source_id = %s",
                [source.pk],
            )
            removed = cursor.rowcount
    return added, removed


def _write_generic(source: DncSource, parsed: ParsedRegistry, kind: LoadKind, area_codes: list[str],
                   version: date) -> tuple[int, int]:
    numbers = DncNumber.objects.filter(source=source)
    removed = 0
    if kind == LoadKind.FULL:
        for code in area_codes:
            low = int(code) * AREA_CODE_SPAN
            removed += numbers.filter(number__gte=low, number__lt=low + AREA_CODE_SPAN).delete()[0]
    before = numbers.count()
    DncNumber.objects.bulk_create(
        (DncNumber(source=source, number=n, added_on=version) for n in sorted(set(parsed.adds))),
        ignore_conflicts=True, batch_size=5000,
    )
    added = numbers.count() - before
    if parsed.deletes:
        deletes = sorted(set(parsed.deletes))
        for start in range(0, len(deletes), 5000):
            removed += numbers.filter(number__in=deletes[start:start + 5000]).delete()[0]
    return added, removed


def write_registry(load: RegistryLoad, parsed: ParsedRegistry) -> RegistryLoad:
    """Replace (full list) or amend (change list) the numbers held; record the version (A3)."""
    source = load.source
    area_codes = sorted(set(load.area_codes) | (set(parsed.area_codes) if load.kind == LoadKind.FULL else set()))
    if load.kind == LoadKind.CHANGE and not area_codes:
        area_codes = sorted(set(
            AreaCodeVersion.objects.filter(source=source).values_list("area_code", flat=True)
        ))
        if not area_codes:
            raise RegistryFileRejected([NO_AREA_CODES])
    writer = _write_postgres if connection.vendor == "postgresql" else _write_generic
    with transaction.atomic():
        added, removed = writer(source, parsed, LoadKind(load.kind), area_codes, load.version_date)
        AreaCodeVersion.objects.bulk_create(
            [AreaCodeVersion(source=source, area_code=code, version_date=load.version_date, load=load)
             for code in area_codes],
            ignore_conflicts=True,
        )
        if source.data_as_of is None or load.version_date > source.data_as_of:
            source.data_as_of = load.version_date
        if load.subscription_account_number:
            source.subscription_account_number = load.subscription_account_number
        source.save(update_fields=["data_as_of", "subscription_account_number"])
        load.area_codes = area_codes
        load.numbers_added, load.numbers_removed = added, removed
        load.status, load.finished_at = LoadStatus.DONE, timezone.now()
        load.save(update_fields=["area_codes", "numbers_added", "numbers_removed", "status", "finished_at"])
    return load
