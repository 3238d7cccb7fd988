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
import re
import zipfile
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from leadcrm.shared.zips import UnzippedTooLarge, bounded_read, zip_check

from .models import (
    AREA_CODE_SPAN,
    SOURCE_SPAN,
    AreaCodeVersion,
    DncNumber,
    DncSource,
    LoadKind,
    LoadStatus,
    RegistryLoad,
)
from .rulebook import forget

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
NEWER_HELD = (
    "Area code {code}: version {held} is already held, newer than this file's {version}; "
    "loading it would make the data older."
)
NO_BASE = (
    "Area code {code}: no full list dated on or before {version} is held; load the full list "
    "before its change lists."
)
ZIP_TOO_LARGE = ("This zip unpacks to {size}, more than the {limit} a registry file may hold. "
                 "Upload the files of fewer area codes at once.")
ZIP_TOO_TIGHT = ("This zip unpacks to {size} from {packed}: no registry file packs that tightly. "
                 "Download it again from the registry.")
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
    # The fast path keeps the numbers as canonical text (ten digits and a newline each),
    # which PostgreSQL's COPY reads as it is; ``add_numbers`` turns it into integers.
    canonical: bytes = b""
    codes: frozenset = frozenset()

    @property
    def add_numbers(self) -> array:
        if self.canonical and not self.adds:
            self.adds = array("q", map(int, self.canonical.split()))
        return self.adds

    @property
    def area_codes(self) -> list[str]:
        if self.canonical:
            return sorted(code.decode() for code in self.codes)
        return sorted({str(n // AREA_CODE_SPAN) for n in (*self.adds, *self.deletes)})


def is_nanp(number: int) -> bool:
    """Area code and exchange both start with 2-9."""
    return number // 1_000_000_000 >= 2 and (number // 1_000_000) % 10 >= 2


class NeedsLineByLine(Exception):
    """The fast path found something wrong; the line-by-line parser will say what and where."""


def registry_zip_check(source) -> None:
    """Refuse a zipped registry file whose members unpack past
    ``LEADCRM_REGISTRY_MAX_UNZIPPED_BYTES``, from its zip directory alone: the web request
    does this before queuing the load, without unpacking a byte
    (docs/architecture.md#upload-limits). A file that is not a zip passes."""
    try:
        zip_check(source, total_limit=settings.LEADCRM_REGISTRY_MAX_UNZIPPED_BYTES,
                  too_large=ZIP_TOO_LARGE, too_tight=ZIP_TOO_TIGHT)
    except UnzippedTooLarge as refused:
        raise RegistryFileRejected([str(refused)]) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise RegistryFileRejected([UNREADABLE_ZIP]) from exc


def read_registry_bytes(raw: bytes, limit: int | None = None) -> bytes:
    """The text of a registry download: unzipped when zipped (the FTC zips its files).

    The zip's directory is checked first; then unzipping stops at ``limit`` bytes,
    whatever the archive claims: a zip bomb is refused, not unpacked.
    """
    if raw[:4] != b"PK\x03\x04":
        return raw
    limit = limit or settings.LEADCRM_REGISTRY_MAX_UNZIPPED_BYTES
    parts = []
    try:
        zip_check(io.BytesIO(raw), total_limit=limit, too_large=ZIP_TOO_LARGE, too_tight=ZIP_TOO_TIGHT)
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            if not names:
                raise RegistryFileRejected([UNREADABLE_ZIP])
            left = limit
            for index, name in enumerate(names):
                if index:
                    parts.append(b"\n")
                with archive.open(name) as member:
                    for chunk in bounded_read(member, limit=left, too_large=ZIP_TOO_LARGE):
                        left -= len(chunk)
                        parts.append(chunk)
    except UnzippedTooLarge as refused:
        raise RegistryFileRejected([str(refused)]) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise RegistryFileRejected([UNREADABLE_ZIP]) from exc
    return b"".join(parts)


def _number(token: bytes) -> int | None:
    """``b'9185550104'`` or ``b'918,5550104'`` -> 9185550104; None when not a NANP number."""
    if len(token) == 11 and token[3:4] == b",":
        token = token[:3] + token[4:]
    if len(token) != 10 or not token.isdigit():
        return None
    return int(token)


_CANONICAL = re.compile(rb"(?:\d{10}\n)+")
_FIRST, _FOURTH, _AREA_CODE = itemgetter(0), itemgetter(3), itemgetter(slice(0, 3))
_TWO = ord("2")


def _parse_clean_full_list(text: bytes) -> ParsedRegistry | None:
    """The common case at C speed: a full list of well-formed lines, as canonical text.

    None if any line is not well formed (or its area code or exchange starts with 0 or
    1); the line-by-line parser then says which lines and why.
    """
    if text.translate(None, b"0123456789,\r\n \t"):
        return None
    lines = text.split()
    if not lines:
        return None
    lengths = set(map(len, lines))
    if lengths == {10}:
        plain = not text.translate(None, b"0123456789\n") and text.count(b"\n") == len(lines)
        canonical = text if plain and text.endswith(b"\n") else b"\n".join(lines) + b"\n"
    elif lengths <= {10, 11}:
        # "NPA,NXXXXXX": exactly one comma, after the area code.
        canonical = re.sub(rb"(?m)^(\d{3}),(\d{7})$", rb"\1\2", b"\n".join(lines) + b"\n")
        if not _CANONICAL.fullmatch(canonical):
            return None
        lines = canonical.split()
    else:
        return None
    if min(map(_FIRST, lines)) < _TWO or min(map(_FOURTH, lines)) < _TWO:
        return None
    return ParsedRegistry(lines=len(lines), canonical=canonical, codes=frozenset(map(_AREA_CODE, lines)))


def parse_registry(
    text: bytes, *, kind: LoadKind, progress: Callable[[int, int], None] | None = None,
    line_by_line: bool = False,
) -> ParsedRegistry:
    """Parse every line or reject the file; says which lines and why (A2)."""
    if text.lstrip()[:1] == b"<":
        raise RegistryFileRejected([XML_LAYOUT])
    if kind == LoadKind.FULL and not line_by_line:
        clean = _parse_clean_full_list(text)
        if clean is not None:
            if progress:
                progress(clean.lines, clean.lines)
            return clean
    lines = text.split(b"\n")
    total = len(lines)
    parsed, errors, bad = ParsedRegistry(), [], 0
    adds, deletes = parsed.adds, parsed.deletes
    last_op: dict[int, bool] = {}  # change lists: number -> added (True) or deleted
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
        if flag is None:
            adds.append(number)
        else:
            last_op[number] = flag not in DELETE_FLAGS  # a later line for a number wins
    for number, is_add in last_op.items():
        (adds if is_add else deletes).append(number)
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
    return "id / %s = ANY(%s)", [AREA_CODE_SPAN * SOURCE_SPAN, [int(code) for code in area_codes]]


def _copy_numbers(cursor, table: str, columns: str, rows: io.StringIO) -> None:
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", rows)


def _write_postgres(source: DncSource, parsed: ParsedRegistry, kind: LoadKind, area_codes: list[str],
                    version: date) -> tuple[int, int]:
    table = DncNumber._meta.db_table
    with connection.cursor() as cursor:
        where, params = _area_code_filter(area_codes)
        if kind == LoadKind.CHANGE:
            return _apply_change_list(cursor, table, source, parsed, version)
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        held = max(cursor.fetchone()[0], 0)
        if parsed.lines >= REBUILD_MIN_ROWS and parsed.lines > REBUILD_SHARE * held:
            return _rebuild_with(cursor, table, source, parsed, version, where, params)
        cursor.execute(f"DELETE FROM {table} WHERE source_id = %s AND {where}", [source.pk, *params])
        removed = cursor.rowcount
        numbers = sorted(set(parsed.add_numbers))  # in key order
        if not all(map(is_nanp, numbers)):
            raise NeedsLineByLine
        suffix = f"\t{source.pk}\t{version.isoformat()}\n"
        _copy_numbers(cursor, table, "id, source_id, added_on",
                      io.StringIO("".join(f"{DncNumber.key(n, source.pk)}{suffix}" for n in numbers)))
        return len(numbers), removed


def _rebuild_with(cursor, table, source, parsed, version, where, params) -> tuple[int, int]:
    """A large full list: set the other rows aside, empty the table, COPY the file's own
    lines (with the registry's three digits appended, they are the keys), put the others
    back, and build the one index once.

    Several times faster than deleting and inserting row by row under the index; readers
    of the table wait for it (seconds for two million numbers).
    """
    primary_key = f"{table}_pkey"
    # Deferred foreign-key checks pending in this transaction would forbid ALTER.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    # Safe not to wait for the WAL flush: lost in a crash, the load row, the numbers and
    # the versions are lost together and the load is simply run again.
    cursor.execute("SET LOCAL synchronous_commit TO OFF")
    cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    cursor.execute(f"SELECT count(*) FROM {table}")
    before = cursor.fetchone()[0]
    cursor.execute("DROP TABLE IF EXISTS dnc_keep")
    cursor.execute(
        f"CREATE TEMP TABLE dnc_keep ON COMMIT DROP AS SELECT id, source_id, added_on FROM {table} "
        f"WHERE NOT (source_id = %s AND {where})", [source.pk, *params],
    )
    kept = cursor.rowcount
    cursor.execute(f"TRUNCATE {table}")
    cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {primary_key}")
    # The constant columns come from defaults, so COPY reads the keys as plain lines.
    cursor.execute(f"ALTER TABLE {table} ALTER COLUMN source_id SET DEFAULT %s, "
                   "ALTER COLUMN added_on SET DEFAULT %s", [source.pk, version])
    text = parsed.canonical or "".join(f"{n}\n" for n in parsed.add_numbers).encode()
    keys = text.replace(b"\n", b"%03d\n" % source.pk)
    cursor.copy_expert(f"COPY {table} (id) FROM STDIN", io.BytesIO(keys))
    added = cursor.rowcount
    cursor.execute(f"ALTER TABLE {table} ALTER COLUMN source_id DROP DEFAULT, ALTER COLUMN added_on DROP DEFAULT")
    cursor.execute("SAVEPOINT dnc_unique")
    try:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {primary_key} PRIMARY KEY (id)")
    except IntegrityError:
        # The file repeats some numbers: keep one of each, then build the index.
        cursor.execute("ROLLBACK TO SAVEPOINT dnc_unique")
        cursor.execute(f"DELETE FROM {table} a USING {table} b WHERE a.id = b.id AND a.ctid > b.ctid")
        added -= cursor.rowcount
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {primary_key} PRIMARY KEY (id)")
    cursor.execute(f"INSERT INTO {table} (id, source_id, added_on) SELECT id, source_id, added_on FROM dnc_keep")
    return added, before - kept


def _apply_change_list(cursor, table, source, parsed, version) -> tuple[int, int]:
    cursor.execute("DROP TABLE IF EXISTS dnc_change")
    cursor.execute("CREATE TEMP TABLE dnc_change (id bigint, is_add boolean) ON COMMIT DROP")
    rows = [f"{DncNumber.key(n, source.pk)}\tt\n" for n in sorted(set(parsed.add_numbers))]
    rows += [f"{DncNumber.key(n, source.pk)}\tf\n" for n in sorted(set(parsed.deletes))]
    _copy_numbers(cursor, "dnc_change", "id, is_add", io.StringIO("".join(rows)))
    cursor.execute(
        f"INSERT INTO {table} (id, source_id, added_on) "
        "SELECT id, %s, %s FROM dnc_change WHERE is_add ON CONFLICT DO NOTHING",
        [source.pk, version],
    )
    added = cursor.rowcount
    # A5: a registration clears only through a change-list delete.
    cursor.execute(f"DELETE FROM {table} d USING dnc_change c WHERE NOT c.is_add AND d.id = c.id")
    return added, cursor.rowcount


def _write_generic(source: DncSource, parsed: ParsedRegistry, kind: LoadKind, area_codes: list[str],
                   version: date) -> tuple[int, int]:
    numbers = DncNumber.objects.filter(source=source)
    removed = 0
    if kind == LoadKind.FULL:
        for code in area_codes:
            low = int(code) * AREA_CODE_SPAN * SOURCE_SPAN
            removed += numbers.filter(id__gte=low, id__lt=low + AREA_CODE_SPAN * SOURCE_SPAN).delete()[0]
    adds = sorted(set(parsed.add_numbers))
    if not all(map(is_nanp, adds)):
        raise NeedsLineByLine
    before = numbers.count()
    DncNumber.objects.bulk_create(
        (DncNumber.for_source(source, n, added_on=version) for n in adds),
        ignore_conflicts=True, batch_size=5000,
    )
    added = numbers.count() - before
    if parsed.deletes:
        deletes = sorted(set(parsed.deletes))
        for start in range(0, len(deletes), 5000):
            keys = [DncNumber.key(n, source.pk) for n in deletes[start:start + 5000]]
            removed += numbers.filter(id__in=keys).delete()[0]
    return added, removed


def _check_version_order(load: RegistryLoad, area_codes: list[str], parsed: ParsedRegistry) -> None:
    """Refuse a file that would make the data held older, or claim a freshness it lacks (A3).

    A full list older than the newest version held would replace newer data with older; a
    change list only amends a full list of the same source dated on or before it, and
    cannot be older than what it amends.
    """
    newest: dict[str, date] = {}
    based: set[str] = set()
    rows = AreaCodeVersion.objects.filter(source_id=load.source_id, area_code__in=area_codes).values_list(
        "area_code", "version_date", "load__kind", "load_id")
    for code, version_date, kind, load_id in rows:
        newest[code] = max(newest.get(code, version_date), version_date)
        # A version recorded without a file (data loaded outside the app) counts as a full list.
        if (load_id is None or kind == LoadKind.FULL) and version_date <= load.version_date:
            based.add(code)
    errors = [
        NEWER_HELD.format(code=code, held=newest[code], version=load.version_date)
        for code in area_codes if code in newest and newest[code] > load.version_date
    ]
    if load.kind == LoadKind.CHANGE:
        uncovered = sorted(set(parsed.area_codes) - set(area_codes))
        errors += [NO_BASE.format(code=code, version=load.version_date)
                   for code in sorted(set(area_codes) - based) + uncovered]
    if errors:
        raise RegistryFileRejected(errors[:MAX_ERRORS])


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
        # One load per source at a time, so two files cannot interleave their versions.
        source = DncSource.objects.select_for_update().get(pk=source.pk)
        _check_version_order(load, area_codes, parsed)
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
        if load.subscription_expires_on:
            source.subscription_expires_on = load.subscription_expires_on
        source.save(update_fields=["data_as_of", "subscription_account_number", "subscription_expires_on"])
        load.area_codes = area_codes
        load.numbers_added, load.numbers_removed = added, removed
        load.status, load.finished_at = LoadStatus.DONE, timezone.now()
        load.save(update_fields=["area_codes", "numbers_added", "numbers_removed", "status", "finished_at"])
    forget()  # new area-code versions, written in bulk
    return load
