"""Importing a list: create the job (checked up front), then run it in batches (the job's
lifecycle: create, map, cancel, resume, run, finish; each batch is written by batch.py).

Each batch is one transaction that also moves the job's ``rows_done``, so a worker killed
mid-file resumes after the last committed batch without doubling a row. Houses are found
by their address key, or by APN and county; two imports running at once take a lock per
key (PostgreSQL advisory locks, in key order) so the same house is never created twice.
On PostgreSQL a long file's batches are written two at a time, each on a connection of its
own and committed in file order (``_write_in_parallel``, writers.py).
"""

from __future__ import annotations

import contextlib
import csv
import gc
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadcrm.accounts.models import Team, User
from leadcrm.accounts.roles import Perm
from leadcrm.shared.heartbeat import heartbeat
from leadcrm.shared.uploads import Stored, Upload, stored_delete, upload_store
from leadcrm.shared.zips import megabytes

from ..models import (
    IMPORT_STALLED_AFTER,
    ColumnMapping,
    ImportJob,
    ImportStatus,
    Lead,
    LeadList,
    LeadSource,
    ListMembership,
    Phone,
)
from ..signals import import_written
from . import columns as cols
from .ahead import record_batches
from .batch import write_batch
from .reading import NotATable, open_table
from .records import Record
from .writers import Turn, TurnAbandoned, Writer

BATCH_ROWS = 1000
WRITERS = 2  # batches written at once, each on its own connection (see writers.py)
IMPORT_DIR = "imports"
TOO_LARGE = "This file is {size}, more than the {limit} a list may hold. Split it, or leave out columns you do not need."
NEEDS_LIST = "Name the list these leads come from."
MAPPING_UNKNOWN = "The mapping names columns the file does not have: {headers}."
FAILED = "Stopped on an error after the rows counted above ({error}). Those rows are imported whole."
EMPTY_FILE = "{name} has a header but no rows."
LIST_OWNED = "A saved mapping named “{name}” belongs to someone else: pick another name."
GAVE_UP = ("Stopped after {tries} tries: the worker stopped each time while reading this file. "
           "Split the file or contact support.")
NOT_STALLED = ("Only a paused import can be resumed (queued or running, with no worker on it for a minute); "
               "this one is {status}.")


class ImportRefused(ValidationError):
    pass


def stored_source(job: ImportJob, *, head_bytes: int | None = None) -> Stored:
    """The job's file, read from the storage on whichever machine runs it (only its first
    ``head_bytes`` from an object store, for a preview, unless it is an XLSX)."""
    return Stored(job.stored_file, head_bytes=head_bytes)


def import_job_create(
    *, content, file_name: str, created_by: User, source: str = LeadSource.CSV,
    list_name: str = "", lead_list: LeadList | None = None, columns: dict[str, str] | None = None,
    mapping: ColumnMapping | None = None, assign_to: User | None = None, round_robin_team: Team | None = None,
    team: Team | None = None, draft: bool = False, list_cost: Decimal | None = None,
) -> ImportJob:
    """Check the file and its mapping, and keep it outside the web root; the worker counts its rows.

    The request does only what is cheap and bounded (docs/architecture.md#upload-limits):
    the size, what kind of file it is, an XLSX's zip directory, the header row and that a
    row follows it. Counting and reading every row is the worker's (``import_run``), so a
    large or hostile file never holds a web worker; ``rows_total`` stays empty until then.

    New leads go to ``assign_to``, round ``round_robin_team``'s agents, or to nobody in
    ``team``; a team lead importing for nobody keeps them in their own team (the first
    they lead), so they can see and assign them.

    The file is deleted again when this call's own transaction fails. Called inside a
    caller's transaction that later rolls back, the file stays behind without its job
    (Django has no rollback hook): such a caller deletes ``job.stored_file`` itself
    (docs/operations.md#uploads-on-object-storage).

    Refused up front (nothing stored, no job): a file too large, or whose zip unpacks past
    the limits, a file that is not a table, and a mapping that lacks the columns to place a
    house, naming them. A ``draft`` job waits for a
    person to confirm or complete the detected mapping (``import_job_map``) instead.
    """
    limit = settings.LEADCRM_IMPORT_UPLOAD_MAX_BYTES
    size = len(content) if isinstance(content, bytes) else content.size
    if size > limit:
        raise ImportRefused({"file": TOO_LARGE.format(size=megabytes(size), limit=megabytes(limit))})
    if lead_list is None and not list_name.strip():
        raise ImportRefused({"list_name": NEEDS_LIST})
    try:
        table = open_table(Upload(content), file_name)
        if mapping is not None:
            columns = dict(mapping.columns)
        columns = dict(columns) if columns else cols.detect(table.headers)
        unknown = sorted(set(columns.values()) - set(table.headers))
        if unknown:
            raise ImportRefused({"file": MAPPING_UNKNOWN.format(headers=", ".join(unknown))})
        missing = cols.missing_required(columns)
        if missing and not draft:
            raise ImportRefused({"file": cols.MISSING_REQUIRED.format(fields=" and ".join(missing))})
        rows = table.rows()
        first = next(rows, None)  # one row, not all of them: the worker counts
        rows.close()
        if first is None:
            raise ImportRefused({"file": EMPTY_FILE.format(name=file_name)})
    except (NotATable, csv.Error, UnicodeDecodeError) as refusal:
        raise ImportRefused({"file": str(refusal)}) from None
    # Checked, so kept: a refused file never reaches the storage.
    relative = upload_store(content, folder=IMPORT_DIR)
    if assign_to is None and round_robin_team is None and team is None:
        team = _own_team(created_by)
    try:
        with transaction.atomic():
            if lead_list is None:
                # The same list name is the same list: uploading it again must not look like stacking.
                name = list_name.strip()[:120]
                lead_list = (LeadList.objects.filter(name__iexact=name).order_by("pk").first()
                             or LeadList.objects.create(name=name, source=source, created_by=created_by))
            return ImportJob.objects.create(
                lead_list=lead_list, source=source, file_name=file_name[:255], stored_file=relative, columns=columns,
                created_by=created_by, assign_to=assign_to, round_robin_team=round_robin_team, team=team,
                list_cost=list_cost, rows_total=None, heartbeat_at=timezone.now(),
                headers=table.headers, status=ImportStatus.DRAFT if draft else ImportStatus.QUEUED,
            )
    except BaseException:
        stored_delete(relative)  # no file is left without its job
        raise


def _own_team(user: User) -> Team | None:
    """The team a team lead's unassigned imports belong to; none for a broker (who sees every
    lead) or an agent (who leads no team)."""
    if user.has_perm(Perm.VIEW_ALL_LEADS) or not user.has_perm(Perm.VIEW_TEAM_LEADS):
        return None
    return Team.objects.filter(lead=user).order_by("pk").first()


def import_job_map(*, job: ImportJob, columns: dict[str, str], save_as: str = "", user: User | None = None) -> ImportJob:
    """Confirm a draft job's mapping (field -> header) and queue it; optionally save the mapping."""
    columns = {name: header for name, header in columns.items() if header and name in cols.BY_NAME}
    unknown = sorted(set(columns.values()) - set(job.headers))
    if unknown:
        raise ImportRefused(MAPPING_UNKNOWN.format(headers=", ".join(unknown)))
    missing = cols.missing_required(columns)
    if missing:
        raise ImportRefused(cols.MISSING_REQUIRED.format(fields=" and ".join(missing)))
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportStatus.DRAFT:
            return locked
        if save_as.strip():
            name = save_as.strip()[:80]
            held = ColumnMapping.objects.filter(name=name).first()
            if held is not None and held.created_by_id != getattr(user, "pk", None) and not (
                    user is not None and user.has_perm("leads.change_columnmapping")):
                raise ImportRefused(LIST_OWNED.format(name=name))
            ColumnMapping.objects.update_or_create(
                name=name, defaults={"columns": columns, "source": locked.source, "created_by": user})
        locked.columns, locked.status, locked.heartbeat_at = columns, ImportStatus.QUEUED, timezone.now()
        locked.save(update_fields=["columns", "status", "heartbeat_at"])
    return locked


def import_cancel(*, job: ImportJob) -> ImportJob:
    """Stop after the batch in progress; what is committed stays (every row in it is whole).

    A job nobody is working on ends at once: not started yet, or stalled (its worker died
    and left it running; a worker that is only slow would have committed a batch since).
    Taken under the job's lock, which a live worker holds while it writes a batch.
    """
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status not in (ImportStatus.DRAFT, ImportStatus.QUEUED, ImportStatus.RUNNING):
            return locked
        locked.cancel_requested = True
        fields = ["cancel_requested"]
        if locked.status != ImportStatus.RUNNING or locked.is_stalled:
            locked.status, locked.finished_at = ImportStatus.CANCELLED, timezone.now()
            fields += ["status", "finished_at"]
        locked.save(update_fields=fields)
    return locked


def import_resume(*, job: ImportJob) -> ImportJob:
    """Make a paused job ready to be queued again (the caller sends ``import_run`` once this
    commits); the task continues after ``rows_done``, so no row is written twice.

    It is queued again with its heartbeat moved to now, so a second click or sweep queues
    nothing more (a queued job is not lost that soon); were it queued twice, the second
    task would stand aside (``is_running_elsewhere``). A job whose row a worker holds (it
    is writing a batch) is not paused, and is not waited for. One whose worker stopped
    ``LEADCRM_JOB_MAX_ATTEMPTS`` times is stopped as failed instead, saying so: a file
    that gets the worker killed (for memory, say) would otherwise be tried every minute."""
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update(skip_locked=True).filter(pk=job.pk).first()
        if locked is None or not locked.is_stalled:
            current = locked or ImportJob.objects.get(pk=job.pk)
            raise ImportRefused(NOT_STALLED.format(status=current.get_status_display().lower()))
        gave_up = locked.attempts >= settings.LEADCRM_JOB_MAX_ATTEMPTS
        if gave_up:
            _give_up(locked)
        else:
            locked.status, locked.heartbeat_at = ImportStatus.QUEUED, timezone.now()
            locked.save(update_fields=["status", "heartbeat_at"])
    if gave_up:
        raise ImportRefused(locked.error)
    return locked


def _give_up(locked: ImportJob) -> None:
    """Stop a job (locked) whose worker stopped on it every time it was tried."""
    locked.status, locked.finished_at = ImportStatus.FAILED, timezone.now()
    locked.error = GAVE_UP.format(tries=locked.attempts)
    locked.save(update_fields=["status", "finished_at", "error"])


def imports_resume_stalled() -> list[int]:
    """Every paused import made ready to run again; the caller queues ``import_run`` for
    each id returned (beat's sweep every minute, and a worker as it starts: a worker killed
    mid-file, or a task lost with the broker, carries on without anyone pressing Resume)."""
    resumed = []
    cutoff = timezone.now() - IMPORT_STALLED_AFTER  # a queued one: is_stalled asks for longer
    for job in ImportJob.objects.filter(status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING),
                                        heartbeat_at__lt=cutoff):
        if not job.is_stalled:
            continue
        try:
            import_resume(job=job)
        except ImportRefused:  # it moved, was cancelled since it was read, or was tried too often
            continue
        resumed.append(job.pk)
    return resumed


def _commit_without_waiting() -> None:
    """Let this batch's commit return before its WAL reaches the disk (PostgreSQL only).

    A database crash can then lose the last few batches, but whole, together with the
    ``rows_done`` that counts them, so a resumed import writes them again: nothing is
    half-written or doubled. The job's last save (``_finish``) commits as usual, and that
    flush makes every batch before it durable too. Saves a disk flush per batch.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def import_run(*, job_id: int, batch_rows: int = BATCH_ROWS) -> ImportJob:
    """Import (or resume importing) one job's file. Safe to call twice: a finished job is left as is.

    An error stops the job as failed, with the reason on its page; the rows committed
    before it stay, whole.
    """
    try:
        return _import_run(job_id=job_id, batch_rows=batch_rows)
    except Exception as error:
        ImportJob.objects.filter(pk=job_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]).update(
            status=ImportStatus.FAILED, error=FAILED.format(error=str(error)[:500] or type(error).__name__),
            finished_at=timezone.now(), updated_at=timezone.now())
        raise


def _import_run(*, job_id: int, batch_rows: int) -> ImportJob:
    """Claim the job, then count and write it. A job another worker runs (running, its
    heartbeat fresh) is left to it at once, before a row is counted; one tried
    ``LEADCRM_JOB_MAX_ATTEMPTS`` times already, its worker stopping each time, fails."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            return job
        if job.cancel_requested:
            job.status, job.finished_at = ImportStatus.CANCELLED, timezone.now()
            job.save(update_fields=["status", "finished_at"])
            return job
        if job.is_running_elsewhere:
            return job
        if job.attempts >= settings.LEADCRM_JOB_MAX_ATTEMPTS:
            _give_up(job)
            return job
        # Compare and set: SQLite has no row lock, so of two tasks claiming at once the
        # second finds the attempts moved, and stands aside.
        claimed = ImportJob.objects.filter(pk=job.pk, status=job.status, attempts=job.attempts).update(
            status=ImportStatus.RUNNING, attempts=job.attempts + 1, started_at=job.started_at or timezone.now(),
            heartbeat_at=timezone.now(), updated_at=timezone.now())
        job.refresh_from_db()
        if not claimed:
            return job
    with heartbeat(ImportJob, job.pk, status=ImportStatus.RUNNING):
        if job.rows_total is None:
            job.rows_total = _count_rows(job)
        return _read_and_write(job, batch_rows)


def _count_rows(job: ImportJob) -> int:
    """Count the file's rows, here in the worker and never in the web request (the page says
    "counting rows" until then); a job counted before a restart is not counted again."""
    total = sum(1 for _ in open_table(stored_source(job), job.file_name).rows())
    ImportJob.objects.filter(pk=job.pk, rows_total__isnull=True).update(rows_total=total, updated_at=timezone.now())
    return ImportJob.objects.values_list("rows_total", flat=True).get(pk=job.pk)


def _read_and_write(job: ImportJob, batch_rows: int) -> ImportJob:
    table = open_table(stored_source(job), job.file_name)
    done = job.rows_done
    # More than one batch to go: read ahead in a second process while this one writes.
    ahead = job.rows_total - done > batch_rows
    with _collector_off_the_heap(), record_batches(table, job.columns, skip=done, size=batch_rows,
                                                   ahead=ahead) as batches:
        write = _write_in_parallel if ahead and _can_write_in_parallel() else _write_in_turn
        job, whole = write(job, batches)
    return _finish(job) if whole else job


def _write_in_turn(job: ImportJob, batches: Iterable[list[Record]]) -> tuple[ImportJob, bool]:
    """Write the batches one after the other on this connection. False: it stopped early
    (cancelled, or taken over by another worker), and the job is returned as it stands."""
    done = job.rows_done
    for records in batches:
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            if locked.rows_done != done:
                return locked, False  # another worker took this job over (a redelivered task): leave it to it
            if locked.cancel_requested:
                locked.status, locked.finished_at = ImportStatus.CANCELLED, timezone.now()
                locked.save(update_fields=["status", "finished_at"])
                return locked, False
            _commit_without_waiting()
            _count_batch(locked, write_batch(locked, records), len(records))
        done, job = locked.rows_done, locked
    return job, True


def _count_batch(locked: ImportJob, counts: dict[str, int], rows: int) -> None:
    """Add a written batch to its job (locked), in the batch's transaction."""
    for name, value in counts.items():
        setattr(locked, name, getattr(locked, name) + value)
    locked.rows_done += rows
    locked.heartbeat_at = timezone.now()
    locked.save(update_fields=["rows_done", "heartbeat_at", *counts])


def _can_write_in_parallel() -> bool:
    """PostgreSQL (row locks, advisory locks), and no transaction open around the import:
    the other connections could not see what it holds uncommitted (a test's, say)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class _Stop(Exception):
    """Roll this batch back: the job was cancelled, or another worker moved it on."""


def _write_in_parallel(job: ImportJob, batches: Iterable[list[Record]]) -> tuple[ImportJob, bool]:
    """Write the batches ``WRITERS`` at a time, each writer on its own connection, committed
    in file order (see writers.py). Same outcome as ``_write_in_turn``, batch for batch."""
    writers = [Writer(n) for n in range(WRITERS)]
    for writer in writers:
        writer.start()
    turns: list[Turn] = []
    errors: list[BaseException] = []
    before: Turn | None = None
    rows_before = job.rows_done
    try:
        for number, records in enumerate(batches):
            if len(turns) >= WRITERS:  # one batch per writer in flight
                oldest = turns[-WRITERS]
                oldest.done.wait()
                if not oldest.committed:
                    break  # cancelled, taken over or failed: the batches after it roll back
            turn = Turn(before=before)
            writers[number % WRITERS].tasks.put(
                lambda turn=turn, records=records, rows_before=rows_before: _write_turn(
                    job.pk, records, turn, rows_before, errors))
            turns.append(turn)
            before, rows_before = turn, rows_before + len(records)
    finally:
        for writer in writers:
            writer.tasks.put(None)
        for writer in writers:
            writer.join()
    if errors:
        raise errors[0]
    job = ImportJob.objects.get(pk=job.pk)
    return job, all(turn.committed for turn in turns) and job.status == ImportStatus.RUNNING


def _write_turn(job_id: int, records: list[Record], turn: Turn, rows_before: int, errors: list) -> None:
    """One batch, on this writer's connection: written, then counted once the batch before
    has committed, under the job's lock (where the one-writer loop checks it first)."""
    committed = False
    try:
        try:
            job = ImportJob.objects.get(pk=job_id)
            if job.status != ImportStatus.RUNNING or job.cancel_requested or job.rows_done > rows_before:
                raise _Stop
            with transaction.atomic():
                _commit_without_waiting()
                counts = write_batch(job, records, turn=turn)
                turn.before_commit()
                locked = ImportJob.objects.select_for_update().get(pk=job_id)
                if (locked.rows_done != rows_before or locked.status != ImportStatus.RUNNING
                        or locked.cancel_requested):
                    raise _Stop
                _count_batch(locked, counts, len(records))
            committed = True
        except (_Stop, TurnAbandoned):
            _cancel_if_asked(job_id)
    except BaseException as error:  # noqa: BLE001 - handed to the import's thread, which raises it
        errors.append(error)  # (never out of here: the writer thread must live to run the batches after)
    finally:
        turn.finished(committed)


def _cancel_if_asked(job_id: int) -> None:
    """A cancel the batches saw: the job ends as cancelled (as the one-writer loop ends it)."""
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job_id)
        if locked.cancel_requested and locked.status == ImportStatus.RUNNING:
            locked.status, locked.finished_at = ImportStatus.CANCELLED, timezone.now()
            locked.save(update_fields=["status", "finished_at"])


@contextlib.contextmanager
def _collector_off_the_heap() -> Iterator[None]:
    """Keep Python's cyclic garbage collector off the objects that were here before the
    import (Django's, the worker's) while it runs.

    Each batch makes and drops some hundred thousand small objects (records arriving from
    the reader, COPY rows), so the collector runs often, and each of its full passes walked
    the whole process heap again: about a tenth of an import's time, measured. Frozen
    objects are only set aside, not leaked: garbage among them is collected once thawed.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _finish(job: ImportJob) -> ImportJob:
    """Flag the list's phones (compliance's receiver of ``import_written``), so the
    "callable now" counts are right at once. (Leads are scored as each batch writes them.)"""
    # Alive, for those watching: flagging a large list's phones commits no batch.
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
    if ListMembership.objects.filter(lead_list=job.lead_list).exists():  # not when every row was rejected
        phones = Phone.objects.filter(contact__lead__list_memberships__lead_list=job.lead_list)
        import_written.send(sender=ImportJob, job=job, phones=phones)
        # Counted on the leads the importer may see: a colleague's lead on the same list is not theirs to count.
        job.phones_on_dnc = phones.filter(
            on_dnc_list=True, contact__lead__in=Lead.objects.visible_to(job.created_by)).count()
    job.status, job.finished_at = ImportStatus.DONE, timezone.now()
    with transaction.atomic():  # the cost counted once: by the one run that marks the job done
        done = ImportJob.objects.filter(pk=job.pk).exclude(status=ImportStatus.DONE).update(
            phones_on_dnc=job.phones_on_dnc, status=job.status, finished_at=job.finished_at, updated_at=job.finished_at)
        if done and job.list_cost:
            LeadList.objects.filter(pk=job.lead_list_id).update(cost=Coalesce("cost", Decimal(0)) + job.list_cost)
    return job
