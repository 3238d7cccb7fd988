"""Moving in from Follow Up Boss or Podio: check and keep the upload, ask for the stage and
agent mappings the export needs, then write every person, note and task (docs/moving-in.md).

Each person is written in a transaction of its own, with its notes and tasks, so a worker
stopped mid-file leaves whole people behind, and a run again finds them by their link
(``CrmLink``: product, kind, the product's id) and adds only what is new. A person whose
house is already a lead here joins that lead (the house's address key, as list imports and
the New lead page find it). Imported stages are history, not a move through the stage
rules: the lead is placed in its stage with a history row saying where it came from. Nothing
here is outreach: no call, text or email is logged or sent. New phones are flagged against
the Do-Not-Call registries (``phones_changed``, compliance's receiver) before the job ends.

What the old CRM recorded as an opt-out is never silent: a tag or stage that looks like one
("DNC", "Unsubscribed", "STOP" …) stops the import at the mapping until the broker says
whether it is a stop request; a person it marks is put on the internal do-not-contact list
through compliance's stop service, never to expire (docs/compliance-rules.md#b1, #b2).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import ChainMap, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from compliance.models import Channel, InternalDncEntry
from compliance.services import stop_request_record
from leadcrm.accounts.models import User
from leadcrm.shared.heartbeat import heartbeat
from leadcrm.shared.uploads import Stored, Upload, stored_delete, stored_exists, upload_store
from leadcrm.shared.zips import megabytes
from leads.addresses import address_key
from leads.intake import place_of
from leads.models import (
    Contact,
    ContactSource,
    DeadReason,
    Lead,
    LeadSource,
    LeadTag,
    LeadType,
    Phone,
    PhoneType,
    Property,
    Stage,
)
from leads.phones import parse_phone
from leads.routing import lead_to_pond
from leads.selectors import stage_counts_forget
from leads.services import contact_create, email_add, lead_create, phone_add, property_create
from leads.signals import phones_changed
from leads.tags import lead_tag_add, tag_for_name
from pipeline.models import (
    CrmImport,
    CrmImportRow,
    CrmImportStatus,
    CrmLink,
    CrmMappingKind,
    CrmRecordKind,
    CrmRowOutcome,
    CrmSystem,
    CrmValueMapping,
    FollowUp,
    FollowUpKind,
    LeadNote,
    StageChange,
)
from pipeline.reminders.services import lead_refresh_next_follow_up

from .layouts import (
    NOTES,
    PEOPLE,
    TASKS,
    Export,
    NotAnExport,
    NoteIn,
    PersonIn,
    TaskIn,
    check_export,
    read_export,
)

UPLOAD_DIR = "crm-imports"
SOURCE_OF = {CrmSystem.FOLLOW_UP_BOSS: LeadSource.FOLLOW_UP_BOSS, CrmSystem.PODIO: LeadSource.PODIO}
# Follow Up Boss's own stages (those every account starts with) and what each is here;
# any other stage name asks for a mapping. Podio has no stages of its own (each app names
# its statuses): only our own stage names map themselves. docs/moving-in.md#stages
FUB_STAGES = {
    "lead": Stage.LIST,
    "prospect": Stage.CONTACT,
    "nurture": Stage.CONTACT,
    "active client": Stage.QUALIFY,
    "pending": Stage.CLOSE,
    "closed": Stage.CLOSED,
    "past client": Stage.CLOSED,
    "trash": Stage.DEAD,
}
MAPPING_TARGETS = (*((s.value, s.label) for s in (Stage.LIST, Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE,
                                                  Stage.CLOSE, Stage.CLOSED, Stage.DEAD)),)
POND = "pond"  # the agent mapping that sends the leads to the pond
STOP, NOT_STOP = "stop", "not"  # the opt-out mapping's two answers
OPT_OUT_TARGETS = ((STOP, "A stop request (nothing on any channel)"), (NOT_STOP, "Not an opt-out"))
# What an opt-out looks like in a tag or a stage, compared on lower-case words (apostrophes
# dropped, other punctuation a space): "DNC", "Do-Not-Call", "Don't text", "Opt out",
# "Unsubscribed", "STOP" … Generous on purpose: a false alarm costs one answer on the
# mapping page, a missed stop a call to someone who asked us not to (docs/moving-in.md#opt-outs).
OPT_OUT_LOOK = re.compile(
    r"\b(dnc|do ?not (call|contact|text|email|e ?mail|mail|disturb|solicit)|dont (call|contact|text|email|mail)"
    r"|no (calls?|contact|texts?|emails?|solicitation)|opt(ed|s)? ?out|unsubscribe[ds]?|stop|remove me"
    r"|take me off)\b")

TOO_LARGE = "This file is {size}, more than the {limit} an import may hold. Export fewer people at a time."
EMPTY = "{name} is empty."
NOT_QUEUED = "This import is {status}: there is nothing to map."
MAPPING_MISSING = "Map every stage and agent the export names, and answer every opt-out: {values}."
UNKNOWN_STAGE = "“{value}” is not one of our stages."
UNKNOWN_AGENT = "{value!r} is not a user who works leads here."
STAGE_NOTE = "Moved in from {system}, where its stage was “{value}”."
NO_ADDRESS = "No address: a lead here is a house, and this person has none to place it."
NO_HOUSE_ADDRESS = "No house address: the only address is a PO box ({street}), and a lead here is a house."
# A street that is a post-office box: "PO Box 9", "P.O. Box 9", "Post Office Box 9", "POB 9",
# "Box 9". Never the house of a lead (docs/moving-in.md#what-each-person-becomes).
PO_BOX = re.compile(r"^\s*(p\s*\.?\s*o\s*\.?\s*b(ox|\.)?|post\s+office\s+box|box)\s*#?\s*\d", re.IGNORECASE)
HOUSE_HELD_ELSEWHERE = "The house is already held here by a record that is not a lead ({address}): left out."
MERGED = "The house was already a lead here: the owner, numbers, notes and tasks were added to it."
BAD_PHONE = "{column}: {reason}"
BAD_EMAIL = "Email {value!r} is not an email address: left out."
NO_PERSON = "No person with id {person_id!r} in the people file or an earlier import: left out."
EMPTY_NOTE = "The note is empty: left out."
NO_TITLE = "The task has no name: left out."
NO_DUE = "The task has no due date: left out."
NO_NAME = "No name: imported with the address and numbers only."
TASK_ASSIGNEE_UNKNOWN = "Task for {value!r}, who is not a user here: given to {given}."
TASK_ASSIGNEE_POND = "Task for {value!r}, whose leads were mapped to the pond: given to {given}."
GIVEN_TO_AGENT = "the lead's agent, {name}"
GIVEN_TO_IMPORTER = "{name}, who ran the import (the lead is in the pond)"
CLOSED_WITHOUT_DATE = ("Closed in {system}, but the export gives no date for it: no closing date set "
                       "(give it on the lead, or it stays out of the closings reports).")
NOTE_BY = "— {author}, in {system}"
BACKGROUND = "Background, from {system}:\n{text}"
DEAD_NOTE = "Moved in as {stage}."
STOP_WORDS = "Marked “{value}” in {system}"
STOP_ANSWERS = "An opt-out mapping is “{stop}” or “{not_stop}”, not {value!r}."
FAILED = "Stopped on an error after {done} people ({error}). Those people are imported whole; run it again to finish."
PERSON_FAILED = "Not imported: {error}"
GONE = "The export is no longer stored: upload it again (the people already imported are not doubled)."

PHONE_TYPES = {"mobile": PhoneType.MOBILE, "cell": PhoneType.MOBILE, "home": PhoneType.LANDLINE,
               "work": PhoneType.LANDLINE, "landline": PhoneType.LANDLINE, "office": PhoneType.LANDLINE}
TASK_KINDS = {"call": FollowUpKind.CALL, "text": FollowUpKind.TEXT, "email": FollowUpKind.EMAIL,
              "mail": FollowUpKind.MAIL}
COUNT_FIELDS = ("people_done", "leads_created", "leads_merged", "leads_updated", "leads_unchanged", "rows_rejected",
                "phones_added", "phones_invalid", "emails_added", "tags_added", "notes_added", "follow_ups_added",
                "follow_ups_closed", "people_stopped")
SAVE_EVERY = 50


class CrmImportRefused(ValidationError):
    pass


def stored_source(job: CrmImport) -> Stored:
    """The export, read from the storage on whichever machine runs the import."""
    return Stored(job.stored_file)


def _fold(value: str) -> str:
    return " ".join((value or "").split()).lower()


def is_po_box(street: str) -> bool:
    """Whether a street line is a post-office box ("PO Box 9", "P.O. Box 9", "Box 9")."""
    return PO_BOX.match(street or "") is not None


def looks_like_opt_out(value: str) -> bool:
    """Whether a tag or stage of the other CRM reads like an opt-out ("DNC", "Unsubscribed")."""
    words = re.sub(r"[^a-z0-9]+", " ", re.sub(r"['’`]", "", (value or "").lower())).strip()
    return bool(words) and OPT_OUT_LOOK.search(words) is not None


# The upload ----------------------------------------------------------------------------


def crm_import_create(*, system: str, content, file_name: str, created_by: User) -> CrmImport:
    """Keep the export and queue it, or refuse it at once saying why (nothing kept).

    Checked here: the size, that it is a table (or a ZIP of tables, unpacked within limits)
    and that its people table is this product's layout, naming the other product when it is
    that one's. Reading every row is the worker's (``crm_import_run``).
    """
    system = CrmSystem(system)
    limit = settings.LEADCRM_IMPORT_UPLOAD_MAX_BYTES
    size = len(content) if isinstance(content, bytes) else content.size
    if size > limit:
        raise CrmImportRefused({"file": TOO_LARGE.format(size=megabytes(size), limit=megabytes(limit))})
    if size == 0:
        raise CrmImportRefused({"file": EMPTY.format(name=file_name)})
    try:
        check_export(system=system, path=Upload(content), name=file_name)
    except NotAnExport as refused:
        raise CrmImportRefused({"file": str(refused)}) from None
    relative = upload_store(content, folder=UPLOAD_DIR)  # checked first: a refused export is never kept
    try:
        job = CrmImport(system=system, file_name=file_name[:255], stored_file=relative, created_by=created_by)
        job.full_clean()
        job.save()
    except BaseException:
        stored_delete(relative)
        raise
    return job


# Mappings ------------------------------------------------------------------------------


@dataclass
class Mappings:
    """What each stage and agent name of the export means here, for one product."""

    system: str
    stages: dict[str, str] = field(default_factory=dict)  # folded value -> stage
    agents: dict[str, User | None] = field(default_factory=dict)  # folded value -> user (None: the pond)
    stops: dict[str, bool] = field(default_factory=dict)  # folded value -> a stop request or not
    users: list[User] = field(default_factory=list)

    @classmethod
    def load(cls, system: str) -> Mappings:
        mappings = cls(system=system, users=list(_workers()))
        for row in CrmValueMapping.objects.filter(system=system).select_related("agent"):
            if row.kind == CrmMappingKind.STAGE:
                mappings.stages[_fold(row.value)] = row.stage
            elif row.kind == CrmMappingKind.OPT_OUT:
                mappings.stops[_fold(row.value)] = bool(row.is_stop)
            else:
                mappings.agents[_fold(row.value)] = row.agent
        return mappings

    def stage(self, value: str) -> str | None:
        folded = _fold(value)
        if not folded:
            return Stage.LIST
        if folded in self.stages:
            return self.stages[folded]
        for stage in Stage:
            if folded in (stage.value, stage.label.lower()):
                return stage.value
        if self.system == CrmSystem.FOLLOW_UP_BOSS and folded in FUB_STAGES:
            return FUB_STAGES[folded].value
        return None

    def opt_out(self, value: str) -> bool | None:
        """Whether a tag or stage is a stop request: False for one that does not look like an
        opt-out, None for one that does and nothing answers yet."""
        if not looks_like_opt_out(value):
            return False
        return self.stops.get(_fold(value))

    def stop_values(self, person: PersonIn) -> list[str]:
        """The person's stage and tags that are mapped as a stop request."""
        return [value for value in dict.fromkeys([person.stage, *person.tags]) if value and self.opt_out(value)]

    def user(self, value: str) -> User | None:
        """A user by email, then by full name (or username); None when nobody matches."""
        folded = _fold(value)
        if not folded:
            return None
        by_email = [u for u in self.users if u.email and u.email.lower() == folded]
        if by_email:
            return by_email[0]
        by_name = [u for u in self.users if _fold(u.get_full_name()) == folded or u.username.lower() == folded]
        return by_name[0] if len(by_name) == 1 else None

    def person(self, value: str) -> User | None:
        """Who a note's author or a task's assignee is here: the agent mapping answered for
        the name, else a user of that email or name; None when nobody (or the pond)."""
        folded = _fold(value)
        if folded in self.agents:
            return self.agents[folded]
        return self.user(value)

    def to_pond(self, value: str) -> bool:
        """Whether the agent mapping sends this name to the pond (it names nobody here)."""
        folded = _fold(value)
        return bool(folded) and folded in self.agents and self.agents[folded] is None

    def agent(self, value: str) -> tuple[bool, User | None]:
        """(known, the user or None for the pond). Nobody named: the pond."""
        folded = _fold(value)
        if not folded:
            return True, None
        if folded in self.agents:
            return True, self.agents[folded]
        found = self.user(value)
        return found is not None, found


def _workers():
    """The users leads can be given to: active, with a lead permission."""
    return User.objects.filter(is_active=True).filter(
        Q(groups__permissions__codename="view_lead") | Q(is_superuser=True)).distinct().order_by("pk")


def unmapped_values(export: Export, mappings: Mappings) -> tuple[list[str], list[str], list[str]]:
    """The stage and agent names of the export that nothing maps yet, and the tags and stages
    that look like opt-outs nothing answers yet, as first written."""
    stages: dict[str, str] = {}
    agents: dict[str, str] = {}
    opt_outs: dict[str, str] = {}
    for person in export.people:
        if mappings.stage(person.stage) is None:
            stages.setdefault(_fold(person.stage), person.stage)
        if not mappings.agent(person.agent)[0]:
            agents.setdefault(_fold(person.agent), person.agent)
        for value in (person.stage, *person.tags):
            if value and mappings.opt_out(value) is None:
                opt_outs.setdefault(_fold(value), " ".join(value.split()))
    return (sorted(stages.values(), key=str.lower), sorted(agents.values(), key=str.lower),
            sorted(opt_outs.values(), key=str.lower))


def crm_mappings_save(*, system: str, stages: dict[str, str], agents: dict[str, User | None],
                      actor: User | None, stops: dict[str, bool] | None = None) -> None:
    """Remember what stage and agent names of ``system`` mean here, and which of its tags and
    stages that look like opt-outs are stop requests (for every next export)."""
    with transaction.atomic():
        for value, is_stop in (stops or {}).items():
            if not isinstance(is_stop, bool):
                raise CrmImportRefused({"stops": STOP_ANSWERS.format(stop=OPT_OUT_TARGETS[0][1],
                                                                     not_stop=OPT_OUT_TARGETS[1][1], value=is_stop)})
            CrmValueMapping.objects.update_or_create(
                system=system, kind=CrmMappingKind.OPT_OUT, value=" ".join(value.split())[:120],
                defaults={"stage": "", "agent": None, "is_stop": is_stop, "created_by": actor})
        for value, stage in stages.items():
            if stage not in {s.value for s in Stage}:
                raise CrmImportRefused({"stages": UNKNOWN_STAGE.format(value=stage)})
            CrmValueMapping.objects.update_or_create(
                system=system, kind=CrmMappingKind.STAGE, value=" ".join(value.split())[:120],
                defaults={"stage": stage, "agent": None, "created_by": actor})
        for value, agent in agents.items():
            CrmValueMapping.objects.update_or_create(
                system=system, kind=CrmMappingKind.AGENT, value=" ".join(value.split())[:120],
                defaults={"stage": "", "agent": agent, "created_by": actor})


def crm_import_map(*, job: CrmImport, stages: dict[str, str], agents: dict[str, User | None],
                   actor: User, stops: dict[str, bool] | None = None) -> CrmImport:
    """Save the mapping page's answers and queue the import again (the caller sends the task
    once this commits). Every value the page asked about must be answered."""
    with transaction.atomic():
        locked = CrmImport.objects.select_for_update().get(pk=job.pk)
        if locked.status != CrmImportStatus.NEEDS_MAPPING:
            raise CrmImportRefused(NOT_QUEUED.format(status=locked.get_status_display().lower()))
        stops = stops or {}
        missing = [v for v in locked.unmapped_stages if v not in stages] + [
            v for v in locked.unmapped_agents if v not in agents] + [
            v for v in locked.unmapped_opt_outs if v not in stops]
        if missing:
            raise CrmImportRefused(MAPPING_MISSING.format(values=", ".join(f"“{v}”" for v in missing)))
        crm_mappings_save(system=locked.system, stages=stages, agents=agents, stops=stops, actor=actor)
        locked.status, locked.unmapped_stages, locked.unmapped_agents = CrmImportStatus.QUEUED, [], []
        locked.unmapped_opt_outs = []
        locked.save(update_fields=["status", "unmapped_stages", "unmapped_agents", "unmapped_opt_outs"])
    return locked


NOT_RESUMABLE = "Only a failed import, or one whose worker stopped, can be run again; this one is {status}."


def crm_import_resume(*, job: CrmImport) -> CrmImport:
    """Queue a failed or stalled import again (the caller sends the task once this commits).
    The people it wrote are found by their links: nothing is written twice."""
    with transaction.atomic():
        locked = CrmImport.objects.select_for_update().get(pk=job.pk)
        if not (locked.status == CrmImportStatus.FAILED or locked.is_stalled):
            raise CrmImportRefused(NOT_RESUMABLE.format(status=locked.get_status_display().lower()))
        if not stored_exists(locked.stored_file):
            raise CrmImportRefused(GONE)
        locked.status, locked.error, locked.finished_at = CrmImportStatus.QUEUED, "", None
        locked.save(update_fields=["status", "error", "finished_at"])
    return locked


# The run -------------------------------------------------------------------------------


def crm_import_run(*, job_id: int) -> CrmImport:
    """Read the export and write it; safe to call twice (only a queued job is run).

    Stops at the mapping (``NEEDS_MAPPING``, naming the values) when the export has stages
    or agents nothing maps: never a default in their place. An error stops the job as
    failed, with the reason; the people written before it stay, whole.
    """
    with transaction.atomic():
        job = CrmImport.objects.select_for_update().get(pk=job_id)
        if job.status != CrmImportStatus.QUEUED:
            return job
        job.status, job.started_at, job.error = CrmImportStatus.RUNNING, timezone.now(), ""
        job.heartbeat_at = job.started_at
        for name in COUNT_FIELDS:
            setattr(job, name, 0)
        job.phones_on_dnc = 0
        job.save()
        CrmImportRow.objects.filter(job=job).delete()  # a run again reports afresh
    try:
        with heartbeat(CrmImport, job.pk, status=CrmImportStatus.RUNNING):
            return _run(job)
    except Exception as error:
        CrmImport.objects.filter(pk=job.pk, status=CrmImportStatus.RUNNING).update(
            status=CrmImportStatus.FAILED, finished_at=timezone.now(),
            error=FAILED.format(done=job.people_done, error=str(error)[:300] or type(error).__name__))
        raise


@dataclass
class _Counts:
    """The job's counts. Inside a person's transaction they are held apart (``pending``) and
    added only when it commits: a person rolled back counts as rejected, nothing else."""

    values: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    pending: dict[str, int] | None = None

    def add(self, name: str, by: int = 1) -> None:
        (self.values if self.pending is None else self.pending)[name] += by

    def total(self, name: str) -> int:
        return self.values[name] + (self.pending[name] if self.pending is not None else 0)

    def begin(self) -> None:
        self.pending = defaultdict(int)

    def end(self, *, keep: bool) -> None:
        pending, self.pending = self.pending or {}, None
        if keep:
            for name, by in pending.items():
                self.values[name] += by


def _run(job: CrmImport) -> CrmImport:
    actor = job.created_by
    zone = ZoneInfo(getattr(actor, "time_zone", "") or settings.LEADCRM_DEFAULT_USER_TIME_ZONE)
    try:
        export = read_export(system=job.system, path=stored_source(job), name=job.file_name, zone=zone)
    except NotAnExport as refused:
        job.status, job.error, job.finished_at = CrmImportStatus.FAILED, str(refused), timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        return job
    mappings = Mappings.load(job.system)
    stages, agents, opt_outs = unmapped_values(export, mappings)
    job.people_total = len(export.people)
    if stages or agents or opt_outs:
        job.status, job.unmapped_stages, job.unmapped_agents = CrmImportStatus.NEEDS_MAPPING, stages, agents
        job.unmapped_opt_outs = opt_outs
        job.save(update_fields=["status", "unmapped_stages", "unmapped_agents", "unmapped_opt_outs", "people_total"])
        return job
    job.save(update_fields=["people_total"])
    writer = _Writer(job=job, mappings=mappings, actor=actor, zone=zone)
    writer.preload(export)
    people_ids = set()
    for number, person in enumerate(export.people, start=1):
        person.external_id = person.external_id or _derived_id(person)
        people_ids.add(person.external_id)
        writer.person(person, notes=writer.notes_of.get(person.external_id, []),
                      tasks=writer.tasks_of.get(person.external_id, []))
        if number % SAVE_EVERY == 0:
            writer.save_counts()
    writer.orphans(people_ids)
    writer.flag_phones()
    writer.save_counts()
    job.refresh_from_db()
    job.status, job.finished_at = CrmImportStatus.DONE, timezone.now()
    job.save(update_fields=["status", "finished_at"])
    # The export is every homeowner's details: once imported, only the leads and the report
    # hold them (so an erasure reaches every copy: docs/privacy.md).
    stored_delete(job.stored_file)
    return job


def _shown(user: User) -> str:
    return user.get_full_name() or user.username


def _derived_id(person: PersonIn) -> str:
    """An id for a person the export gives none: the same row gives the same id."""
    first_street = next((a.street for a in person.addresses if a.given), "")
    parts = [person.first_name, person.last_name, first_street, *(p.raw for p in person.phones[:1]),
             *person.emails[:1]]
    return "row-" + hashlib.sha256("|".join(_fold(p) for p in parts).encode()).hexdigest()[:24]


def _derived_record_id(person_id: str, *parts) -> str:
    return "row-" + hashlib.sha256("|".join([person_id, *(str(p) for p in parts)]).encode()).hexdigest()[:24]


def _lock(key: str) -> None:
    """Two imports of the same export at once: the second waits for the first's person."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(key.encode()) - 2**31])


class _Writer:
    """Writes people one transaction each, keeping the job's counts and per-row report."""

    def __init__(self, *, job: CrmImport, mappings: Mappings, actor: User, zone: ZoneInfo | None = None):
        self.job, self.mappings, self.actor = job, mappings, actor
        self.zone = zone or ZoneInfo(settings.LEADCRM_DEFAULT_USER_TIME_ZONE)
        self.system = CrmSystem(job.system)
        self.counts = _Counts()
        self.links: dict[tuple[str, str], CrmLink] | ChainMap = {}
        self.tags: dict[str, object] | ChainMap = {}
        self.new_phone_ids: list[int] = []
        self.notes_of: dict[str, list[NoteIn]] = defaultdict(list)
        self.tasks_of: dict[str, list[TaskIn]] = defaultdict(list)

    # Reading ahead: one query for every link of the export, not one per row.
    def preload(self, export: Export) -> None:
        for note in export.notes:
            note.external_id = note.external_id or _derived_record_id(note.person_id, note.created, note.body)
            self.notes_of[note.person_id].append(note)
        for task in export.tasks:
            task.external_id = task.external_id or _derived_record_id(task.person_id, task.due, task.title)
            self.tasks_of[task.person_id].append(task)
        wanted = defaultdict(set)
        for person in export.people:
            wanted[CrmRecordKind.PERSON].add(person.external_id or _derived_id(person))
        wanted[CrmRecordKind.PERSON] |= set(self.notes_of) | set(self.tasks_of)
        for person in export.people:
            wanted[CrmRecordKind.NOTE].add(f"{person.external_id or _derived_id(person)}:background")
        wanted[CrmRecordKind.NOTE] |= {n.external_id for n in export.notes}
        wanted[CrmRecordKind.TASK] |= {t.external_id for t in export.tasks}
        for kind, ids in wanted.items():
            for link in CrmLink.objects.filter(system=self.system, kind=kind, external_id__in=ids).select_related(
                    "follow_up"):
                self.links[(kind, link.external_id)] = link

    def report(self, *, file: str, row_number: int, external_id: str, outcome: str, reason: str = "",
               lead: Lead | None = None) -> None:
        CrmImportRow.objects.create(job=self.job, file=file, row_number=row_number, external_id=external_id[:100],
                                    outcome=outcome, reason=reason[:255], lead=lead)

    def save_counts(self) -> None:
        CrmImport.objects.filter(pk=self.job.pk).update(**{name: self.counts.values[name] for name in COUNT_FIELDS})

    @contextmanager
    def _one_transaction(self):
        """One person's transaction. What it adds to the counts and to the link, tag and
        phone caches is held apart and kept only when it commits: a rolled-back person
        leaves no count behind, nor a cached tag or link whose row is gone."""
        links, tags, phone_ids = self.links, self.tags, self.new_phone_ids
        self.links, self.tags, self.new_phone_ids = ChainMap({}, links), ChainMap({}, tags), []
        self.counts.begin()
        committed = False
        try:
            with transaction.atomic():
                yield
            committed = True
        finally:
            staged_links, staged_tags, staged_phone_ids = self.links.maps[0], self.tags.maps[0], self.new_phone_ids
            self.links, self.tags, self.new_phone_ids = links, tags, phone_ids
            self.counts.end(keep=committed)
            if committed:
                links.update(staged_links)
                tags.update(staged_tags)
                phone_ids.extend(staged_phone_ids)

    # People ----------------------------------------------------------------------------
    def person(self, person: PersonIn, *, notes: list[NoteIn], tasks: list[TaskIn]) -> None:
        self.counts.add("people_done")
        try:
            with self._one_transaction():
                _lock(f"crm:{self.system}:{person.external_id}")
                self._person(person, notes, tasks)
        except ValidationError as refused:
            self.counts.add("rows_rejected")
            self.report(file=PEOPLE, row_number=person.row_number, external_id=person.external_id,
                        outcome=CrmRowOutcome.REJECTED, reason=PERSON_FAILED.format(error=" ".join(refused.messages)))

    def _person(self, person: PersonIn, notes: list[NoteIn], tasks: list[TaskIn]) -> None:
        link = self.links.get((CrmRecordKind.PERSON, person.external_id))
        lead = Lead.objects.filter(pk=link.lead_id).select_related("merged_into").first() if link else None
        if lead is not None and lead.merged_into_id:  # merged here since: its survivor holds the person now
            lead = lead.merged_into
        added_before = sum(self.counts.total(n) for n in ("phones_added", "emails_added", "tags_added",
                                                            "notes_added", "follow_ups_added", "follow_ups_closed"))
        if lead is not None:
            contact = self._contact_for(lead, person)
            outcome, reason = None, ""
        else:
            place = self._place(person)
            if place is None:
                box = next((a.street for a in person.addresses if a.given), "")
                self.counts.add("rows_rejected")
                self.report(file=PEOPLE, row_number=person.row_number, external_id=person.external_id,
                            outcome=CrmRowOutcome.REJECTED,
                            reason=NO_HOUSE_ADDRESS.format(street=box) if box else NO_ADDRESS)
                self._orphan_records(person.external_id, notes, tasks)
                return
            key = address_key(**{k: place[k] for k in ("street", "unit", "city", "state")}, zip_code=place["zip_code"])
            _lock(f"house:{key}")
            held = Lead.objects.filter(property__address_key=key).select_related("merged_into").first()
            if held is not None and held.merged_into_id:
                held = held.merged_into
            if held is None and Property.objects.filter(address_key=key).exists():
                raise ValidationError(HOUSE_HELD_ELSEWHERE.format(address=place["street"]))
            if held is not None:
                lead, outcome, reason = held, CrmRowOutcome.MERGED, MERGED
                self.counts.add("leads_merged")
                contact = self._contact_for(lead, person)
            else:
                lead = self._lead_create(person, place)
                outcome, reason = CrmRowOutcome.CREATED, ""
                self.counts.add("leads_created")
                contact = self._contact_create(lead, person, place, position=1)
            link = CrmLink.objects.create(system=self.system, kind=CrmRecordKind.PERSON,
                                          external_id=person.external_id, lead=lead, job=self.job)
            self.links[(CrmRecordKind.PERSON, person.external_id)] = link
        if not (person.first_name or person.last_name) and outcome == CrmRowOutcome.CREATED:
            self._left_out(person, lead, NO_NAME)
        for error in person.errors:
            self._left_out(person, lead, error)
        self._tags(person, lead)
        self._reach(person, lead, contact)
        self._stop(person, lead, contact)
        self._background(person, lead)
        for note in notes:
            self._note(note, lead, person.created)
        for task in tasks:
            self._task(task, lead)
        lead.refresh_from_db()
        lead_refresh_next_follow_up(lead=lead)
        if outcome is None:
            added_after = sum(self.counts.total(n) for n in ("phones_added", "emails_added", "tags_added",
                                                               "notes_added", "follow_ups_added", "follow_ups_closed"))
            outcome = CrmRowOutcome.UPDATED if added_after > added_before else CrmRowOutcome.UNCHANGED
            self.counts.add("leads_updated" if outcome == CrmRowOutcome.UPDATED else "leads_unchanged")
        self.report(file=PEOPLE, row_number=person.row_number, external_id=person.external_id, outcome=outcome,
                    reason=reason, lead=lead)

    def _left_out(self, person: PersonIn, lead: Lead | None, reason: str) -> None:
        self.report(file=PEOPLE, row_number=person.row_number, external_id=person.external_id,
                    outcome=CrmRowOutcome.VALUE_LEFT_OUT, reason=reason, lead=lead)

    def _place(self, person: PersonIn) -> dict | None:
        """The house: the first address that is not only for mail; failing that, the mailing
        address (a homeowner in a short sale most often lives in the house). A PO box is
        never a house: a person with only PO boxes has none."""
        given = [a for a in person.addresses if a.given and not is_po_box(a.street)]
        if not given:
            return None
        house = next((a for a in given if _fold(a.kind) not in ("mailing", "work", "office")), given[0])
        return place_of(street=house.street, state=house.state, city=house.city, zip_code=house.zip_code)

    def _mailing(self, person: PersonIn, place: dict) -> dict:
        mailing = next((a for a in person.addresses if a.given and _fold(a.kind) == "mailing"), None)
        if mailing is not None:
            try:
                placed = place_of(street=mailing.street, state=mailing.state, city=mailing.city,
                                  zip_code=mailing.zip_code)
            except ValidationError:
                placed = None
            if placed is not None:
                place = placed
        return {"mailing_street": place["street"], "mailing_unit": place["unit"], "mailing_city": place["city"],
                "mailing_state": place["state"], "mailing_zip": place["zip_code"]}

    def _lead_create(self, person: PersonIn, place: dict) -> Lead:
        house = property_create(**place)
        _, agent = self.mappings.agent(person.agent)
        lead = lead_create(property=house, lead_type=LeadType.LIST, source=SOURCE_OF[self.system],
                           assigned_agent=agent)
        if agent is None:
            lead_to_pond(lead=lead, team=None, actor=self.actor,
                         reason=f"Unassigned in {self.system.label}" if not person.agent
                         else f"“{person.agent}” in {self.system.label}, sent to the pond")
        stage = Stage(self.mappings.stage(person.stage))
        now = timezone.now()
        fields = {"created_at": person.created or now}
        if stage != Stage.LIST:
            fields.update(stage=stage, stage_entered_at=now,
                          dead_reason=DeadReason.OTHER if stage == Stage.DEAD else "")
            change = StageChange(lead=lead, from_stage=Stage.LIST, to_stage=stage, dead_reason=fields["dead_reason"],
                                 note=STAGE_NOTE.format(system=self.system.label, value=person.stage),
                                 changed_by=self.actor, changed_at=now)
            change.full_clean()
            change.save()
            transaction.on_commit(lambda: stage_counts_forget(lead.assigned_agent_id, self.actor.pk))
        if stage == Stage.CLOSED:
            # The closings reports count a closed lead by its closing date. The export has no
            # closing date: its best is the day the person was last changed there (a deal is
            # marked closed on the day it closes), else created (docs/moving-in.md#stages).
            when = person.updated or person.created
            if when is not None:
                fields["closing_date"] = min(when.astimezone(self.zone).date(), timezone.localdate(now, self.zone))
        Lead.objects.filter(pk=lead.pk).update(**fields, updated_at=timezone.now())
        lead.refresh_from_db()
        if stage == Stage.CLOSED and lead.closing_date is None:
            self._left_out(person, lead, CLOSED_WITHOUT_DATE.format(system=self.system.label))
        return lead

    def _contact_create(self, lead: Lead, person: PersonIn, place: dict, position: int) -> Contact:
        return contact_create(lead=lead, position=position, first_name=person.first_name[:60],
                              last_name=person.last_name[:60], **self._mailing(person, place))

    def _contact_for(self, lead: Lead, person: PersonIn) -> Contact:
        """The owner on a lead already here: the one of the same name, else a new one."""
        contacts = list(lead.contacts.all())
        same = next((c for c in contacts if (_fold(c.first_name), _fold(c.last_name))
                     == (_fold(person.first_name), _fold(person.last_name))), None)
        if same is not None:
            return same
        place = self._place(person) or {"street": "", "unit": "", "city": "", "state": "", "zip_code": ""}
        return self._contact_create(lead, person, place,
                                    position=max((c.position for c in contacts), default=0) + 1)

    def _reach(self, person: PersonIn, lead: Lead, contact: Contact) -> None:
        known = set(contact.phones.values_list("number", flat=True))
        for phone in person.phones:
            parsed = parse_phone(phone.raw)
            if not parsed.ok:
                self.counts.add("phones_invalid")
                self._left_out(person, lead, BAD_PHONE.format(column=phone.column or "Phone", reason=parsed.error))
                continue
            if parsed.e164 in known:
                continue
            added = phone_add(contact=contact, raw=phone.raw, source=ContactSource.MANUAL,
                              phone_type=PHONE_TYPES.get(_fold(phone.kind), PhoneType.UNKNOWN))
            known.add(added.number)
            self.new_phone_ids.append(added.pk)
            self.counts.add("phones_added")
        emails = set(contact.emails.values_list("address", flat=True))
        for address in person.emails:
            address = address.strip().lower()
            try:
                validate_email(address)
            except ValidationError:
                self._left_out(person, lead, BAD_EMAIL.format(value=address))
                continue
            if address in emails:
                continue
            email_add(contact=contact, address=address, source=ContactSource.MANUAL)
            emails.add(address)
            self.counts.add("emails_added")

    def _stop(self, person: PersonIn, lead: Lead, contact: Contact) -> None:
        """A person the other CRM marks as an opt-out (a tag or stage mapped as a stop): every
        number, email and the mailing address of theirs goes on the internal list, for good
        (B1, B2), through compliance's stop service. Once: a run again finds them listed."""
        values = self.mappings.stop_values(person)
        if not values:
            return
        contact = Contact.objects.prefetch_related("phones", "emails").get(pk=contact.pk)
        numbers = {phone.number for phone in contact.phones.all()}
        emails = {email.address.lower() for email in contact.emails.all()}
        postal = contact.mailing_address_key()
        points = numbers | emails | ({postal} if postal else set())
        listed = InternalDncEntry.objects.filter(
            Q(phone_number__in=numbers) | Q(email__in=emails) | Q(postal_address__in={postal} - {""}))
        listed_points = set()
        for number, email, address in listed.values_list("phone_number", "email", "postal_address"):
            listed_points |= {number, email, address}
        if points <= listed_points:
            return
        words = STOP_WORDS.format(value="”, “".join(values), system=self.system.label)
        stop_request_record(lead=lead, channel=Channel.CALL, contact_point=contact, whole_contact=True,
                            homeowner_words=words, recorded_by=self.actor,
                            at=person.updated or person.created or timezone.now())
        self.counts.add("people_stopped")

    def _tag(self, name: str):
        folded = _fold(name)
        if folded not in self.tags:
            self.tags[folded] = tag_for_name(name=name, actor=self.actor)
        return self.tags[folded]

    def _tags(self, person: PersonIn, lead: Lead) -> None:
        names = list(person.tags)
        if person.source:
            names.append(f"Source: {person.source}")  # the other CRM's source, kept for the reports
        if not names:
            return
        having = set(LeadTag.objects.filter(lead=lead).values_list("tag_id", flat=True))
        for name in names:
            try:
                tag = self._tag(name[:40])
            except ValidationError as refused:
                self._left_out(person, lead, f"Tag “{name}”: {' '.join(refused.messages)}")
                continue
            if tag.pk not in having:
                lead_tag_add(lead=lead, tag=tag, actor=self.actor)
                having.add(tag.pk)
                self.counts.add("tags_added")

    def _background(self, person: PersonIn, lead: Lead) -> None:
        if not person.background:
            return
        external_id = f"{person.external_id}:background"
        if (CrmRecordKind.NOTE, external_id) in self.links:
            return
        note = LeadNote(lead=lead, author=self.actor, created_at=person.created or timezone.now(),
                        body=BACKGROUND.format(system=self.system.label, text=person.background))
        note.full_clean()
        note.save()
        self._link(CrmRecordKind.NOTE, external_id, lead, note=note)
        self.counts.add("notes_added")

    def _link(self, kind: str, external_id: str, lead: Lead, **target) -> None:
        self.links[(kind, external_id)] = CrmLink.objects.create(
            system=self.system, kind=kind, external_id=external_id, lead=lead, job=self.job, **target)

    # Notes and tasks -------------------------------------------------------------------
    def _note(self, note: NoteIn, lead: Lead, person_created) -> None:
        if (CrmRecordKind.NOTE, note.external_id) in self.links:
            return
        if not note.body.strip():
            self.report(file=NOTES, row_number=note.row_number, external_id=note.external_id,
                        outcome=CrmRowOutcome.REJECTED, reason=EMPTY_NOTE, lead=lead)
            self.counts.add("rows_rejected")
            return
        author = self.mappings.person(note.author)
        body = note.body
        if author is None and note.author:
            body = f"{body}\n\n{NOTE_BY.format(author=note.author, system=self.system.label)}"
        created = note.created or person_created or timezone.now()
        row = LeadNote(lead=lead, author=author or self.actor, body=body, created_at=created)
        row.full_clean()
        row.save()
        self._link(CrmRecordKind.NOTE, note.external_id, lead, note=row)
        self.counts.add("notes_added")
        for error in note.errors:
            self.report(file=NOTES, row_number=note.row_number, external_id=note.external_id,
                        outcome=CrmRowOutcome.VALUE_LEFT_OUT, reason=error, lead=lead)

    def _task(self, task: TaskIn, lead: Lead) -> None:
        link = self.links.get((CrmRecordKind.TASK, task.external_id))
        if link is not None:
            follow_up = link.follow_up
            if task.completed and follow_up is not None and follow_up.done_at is None:
                follow_up.done_at = task.completed_at or timezone.now()
                follow_up.save(update_fields=["done_at"])
                self.counts.add("follow_ups_closed")
            return
        reason = NO_TITLE if not task.title else (NO_DUE if not (task.due or task.completed_at) else "")
        if reason:
            self.report(file=TASKS, row_number=task.row_number, external_id=task.external_id,
                        outcome=CrmRowOutcome.REJECTED, reason=reason, lead=lead)
            self.counts.add("rows_rejected")
            return
        assignee = self.mappings.person(task.assignee)
        if assignee is None and task.assignee:
            # Say who really has it: the lead's agent, or (a lead in the pond) the importer.
            given = (GIVEN_TO_AGENT.format(name=_shown(lead.assigned_agent)) if lead.assigned_agent
                     else GIVEN_TO_IMPORTER.format(name=_shown(self.actor)))
            words = TASK_ASSIGNEE_POND if self.mappings.to_pond(task.assignee) else TASK_ASSIGNEE_UNKNOWN
            self.report(file=TASKS, row_number=task.row_number, external_id=task.external_id,
                        outcome=CrmRowOutcome.VALUE_LEFT_OUT, reason=words.format(value=task.assignee, given=given),
                        lead=lead)
        assignee = assignee or lead.assigned_agent or self.actor
        due = task.due or task.completed_at
        done_at = (task.completed_at or due) if task.completed else None
        closed_reason = ""
        if done_at is None and lead.stage in (Stage.CLOSED, Stage.DEAD):
            done_at, closed_reason = timezone.now(), DEAD_NOTE.format(stage=Stage(lead.stage).label)
        follow_up = FollowUp(lead=lead, assignee=assignee, kind=TASK_KINDS.get(_fold(task.kind), FollowUpKind.TASK),
                             title=task.title[:200], due_at=due, done_at=done_at, closed_reason=closed_reason,
                             created_by=self.actor)
        follow_up.full_clean()
        follow_up.save()
        self._link(CrmRecordKind.TASK, task.external_id, lead, follow_up=follow_up)
        self.counts.add("follow_ups_added")
        for error in task.errors:
            self.report(file=TASKS, row_number=task.row_number, external_id=task.external_id,
                        outcome=CrmRowOutcome.VALUE_LEFT_OUT, reason=error, lead=lead)

    def _orphan_records(self, person_id: str, notes: list[NoteIn], tasks: list[TaskIn]) -> None:
        for file, record in [(NOTES, n) for n in notes] + [(TASKS, t) for t in tasks]:
            self.report(file=file, row_number=record.row_number, external_id=record.external_id,
                        outcome=CrmRowOutcome.REJECTED, reason=NO_PERSON.format(person_id=person_id))
            self.counts.add("rows_rejected")

    def orphans(self, people_ids: set[str]) -> None:
        """Notes and tasks of people not in this file: on the lead of an earlier import's
        person, else reported."""
        for person_id in sorted(set(self.notes_of) | set(self.tasks_of)):
            if person_id in people_ids:
                continue
            link = self.links.get((CrmRecordKind.PERSON, person_id))
            notes, tasks = self.notes_of.get(person_id, []), self.tasks_of.get(person_id, [])
            if link is None:
                self._orphan_records(person_id, notes, tasks)
                continue
            with self._one_transaction():
                lead = Lead.objects.get(pk=link.lead_id)
                for note in notes:
                    self._note(note, lead, None)
                for task in tasks:
                    self._task(task, lead)
                lead_refresh_next_follow_up(lead=lead)

    def flag_phones(self) -> None:
        """The new phones against the Do-Not-Call registries (compliance's receiver), then counted."""
        ids = self.new_phone_ids
        for start in range(0, len(ids), 1000):
            with transaction.atomic():
                phones_changed.send(sender=Phone, phones=Phone.objects.filter(pk__in=ids[start:start + 1000]))
        on_dnc = Phone.objects.filter(pk__in=ids, on_dnc_list=True).count() if ids else 0
        CrmImport.objects.filter(pk=self.job.pk).update(phones_on_dnc=on_dnc)

