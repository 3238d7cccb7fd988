"""Reads of registry and suppression state, for pages that show it beside a phone; the
lead list, which filters on it (``lead_list``); and a lead's evidence (``lead_evidence``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Max, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from leads.merging import lead_ids_with_merged
from leads.models import Lead
from leads.phones import format_national

from .gate import Attempt, relationship_until
from .lead_filters import LeadFilter
from .models import (
    SOURCE_SPAN,
    AreaCodeVersion,
    Channel,
    CheckMode,
    ComplianceCheck,
    ConsentRecord,
    Direction,
    DncNumber,
    EstablishedRelationship,
    EvidenceRevocation,
    InterestDisclosure,
    InternalDncEntry,
    Purpose,
    ReassignedNumberCheck,
    RegistryKind,
    Verdict,
    national_number,
    rules_that_decided,
)
from .rulebook import rulebook


def phone_suppressions(*, numbers: Iterable[str]) -> dict[str, list[str]]:
    """For each number, the lists it is on (registries held and the internal list).

    Two queries whatever the count of numbers.
    """
    by_national = {national_number(n): n for n in set(numbers)}
    by_national.pop(None, None)
    found: dict[str, list[str]] = defaultdict(list)
    if not by_national:
        return found
    for key, name in (
        DncNumber.objects.for_numbers(by_national).filter(source__is_active=True)
        .order_by("source__kind", "source__name")
        .values_list("id", "source__name")
    ):
        found[by_national[key // SOURCE_SPAN]].append(name)
    for number in (
        InternalDncEntry.objects.filter(phone_number__in=list(by_national.values()))
        .order_by()
        .values_list("phone_number", flat=True)
        .distinct()
    ):
        found[number].append("Internal do-not-contact list")
    return found


@dataclass(frozen=True)
class AreaCodeFreshness:
    area_code: str
    version_date: date
    age_days: int
    limit_days: int
    warn_days: int

    @property
    def days_left(self) -> int:
        return self.limit_days - self.age_days

    @property
    def status(self) -> str:
        if self.age_days > self.limit_days:
            return "stale"
        return "aging" if self.age_days >= self.warn_days else "fresh"


def registry_freshness(*, on: date | None = None) -> list[AreaCodeFreshness]:
    """Each area code with national data held: its newest version and days left (A3)."""
    on = on or timezone.now().date()
    book = rulebook()
    limit = int(book.parameter("A3", "max_age_days", on))
    warn = int(book.parameter("A3", "warn_age_days", on))
    rows = (
        AreaCodeVersion.objects.filter(source__kind=RegistryKind.NATIONAL, source__is_active=True,
                                       version_date__lte=on)
        .values("area_code")
        .annotate(latest=Max("version_date"))
        .order_by("latest", "area_code")
    )
    return [AreaCodeFreshness(r["area_code"], r["latest"], (on - r["latest"]).days, limit, warn) for r in rows]


@dataclass(frozen=True)
class AreaCodeCoverage:
    area_code: str
    phones: int
    freshness: AreaCodeFreshness | None

    @property
    def status(self) -> str:
        return self.freshness.status if self.freshness else "missing"


def lead_area_code_coverage(*, leads, on: date | None = None) -> list[AreaCodeCoverage]:
    """Area codes of the phones of ``leads`` and whether national data covers them.

    Calls to an area code without fresh data are blocked (A3), so the missing ones come first.
    """
    from leads.models import Phone

    freshness = {row.area_code: row for row in registry_freshness(on=on)}
    counts = (
        Phone.objects.filter(contact__lead__in=leads.values("pk"), number__startswith="+1")
        .annotate(area_code=Substr("number", 3, 3))
        .values("area_code")
        .annotate(phones=Count("pk"))
        .order_by()
    )
    rows = [AreaCodeCoverage(c["area_code"], c["phones"], freshness.get(c["area_code"])) for c in counts]
    order = {"missing": 0, "stale": 1, "aging": 2, "fresh": 3}
    return sorted(rows, key=lambda row: (order[row.status], -row.phones))


def blocks_by_rule(*, since) -> list[tuple[str, int]]:
    """How many attempts each rule blocked since a moment, most first (a live verdict shown
    before logging is no attempt, and is not counted)."""
    counts: Counter = Counter()
    for rule_ids, findings in ComplianceCheck.objects.of_attempts().filter(
        verdict=Verdict.BLOCK, checked_at__gte=since
    ).values_list("rule_ids", "findings").iterator(chunk_size=2000):
        counts.update(rules_that_decided(Verdict.BLOCK, rule_ids, findings) or ["?"])
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def checks_for_export(*, start: date, end: date):
    """Every check of an attempt (allowed or not) made between two dates, inclusive, oldest
    first."""
    return (
        ComplianceCheck.objects.of_attempts().filter(checked_at__date__gte=start, checked_at__date__lte=end)
        .select_related("actor", "lead__property")
        .order_by("checked_at", "pk")
    )


def lead_list(*, fetched_by, filters: dict | None = None) -> tuple[QuerySet[Lead], LeadFilter]:
    """The leads the user may see, filtered and ordered, with the property and agent a
    list row shows (its owners' names: ``leads.selectors.lead_owner_names``)."""
    queryset = Lead.objects.visible_to(fetched_by).select_related("property", "assigned_agent")
    lead_filter = LeadFilter(filters or {}, queryset=queryset, user=fetched_by)
    return lead_filter.qs, lead_filter


# Evidence on the lead page ----------------------------------------------------------------

IN_FORCE, EXPIRED, REVOKED, STALE, NOT_OURS = "in_force", "expired", "revoked", "stale", "not_ours"
STATE_LABELS = {
    IN_FORCE: "In force",
    EXPIRED: "Expired",
    REVOKED: "Revoked",
    STALE: "Check again",
    NOT_OURS: "Not the brokerage's",
}


@dataclass
class EvidenceRow:
    """One record on the lead's card, with its state as the gate would read it today."""

    kind: str
    record: object
    state: str
    until: date | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def revocation(self):
        return getattr(self.record, "revocation", None)


@dataclass
class LeadEvidence:
    consents: list[EvidenceRow]
    relationships: list[EvidenceRow]
    number_checks: list[EvidenceRow]
    disclosures: list[EvidenceRow]

    @property
    def count(self) -> int:
        return len(self.consents) + len(self.relationships) + len(self.number_checks) + len(self.disclosures)

    @property
    def in_force(self) -> int:
        return sum(1 for rows in (self.consents, self.relationships, self.number_checks, self.disclosures)
                   for row in rows if row.state == IN_FORCE)


def _revoked(record) -> bool:
    # A reverse one-to-one that is absent raises; select_related("revocation") read it already.
    try:
        return record.revocation is not None
    except ObjectDoesNotExist:
        return False


def lead_evidence(*, lead: Lead, fetched_by) -> LeadEvidence:
    """Every consent, relationship, number check and disclosure recorded on a lead (or on a
    lead merged into it: evidence never moves, and the gate finds it by number), newest
    first, each with its state today (in force, expired, revoked), in four queries."""
    book, today, now = rulebook(), timezone.localdate(), timezone.now()
    related = ("recorded_by", "revocation__revoked_by")

    def rows(model, *extra):
        return list(model.objects.visible_to(fetched_by).filter(lead__in=lead_ids_with_merged(lead))
                    .select_related(*related, *extra))

    consents = [EvidenceRow("consent", record, REVOKED if _revoked(record) else IN_FORCE)
                for record in rows(ConsentRecord, "proof_file", "proof_message")]

    relationships = []
    states_of: dict[str, Iterable[str]] = {}
    for record in rows(EstablishedRelationship, "termination"):
        if record.phone_number not in states_of:
            # The homeowner's states as the gate reads them for that number (C2 may shorten).
            states_of[record.phone_number] = Attempt(
                lead=lead, channel=Channel.CALL, purpose=Purpose.LISTING, actor=fetched_by, at=now,
                role_disclosed=True, brokerage=None, contact_point=None, number=record.phone_number).states
        until = relationship_until(record, book=book, on=today, states=states_of[record.phone_number])
        state = (REVOKED if _revoked(record) else NOT_OURS if not record.formed_with_brokerage
                 else EXPIRED if until < today else IN_FORCE)
        relationships.append(EvidenceRow("relationship", record, state, until=until))

    recheck_days = int(book.parameter("D7", "rnd_recheck_days", today))
    number_checks = [
        EvidenceRow("number_check", record, REVOKED if _revoked(record)
                    else STALE if now - record.queried_at > timedelta(days=recheck_days) else IN_FORCE)
        for record in rows(ReassignedNumberCheck)
    ]
    disclosures = [EvidenceRow("disclosure", record, REVOKED if _revoked(record) else IN_FORCE)
                   for record in rows(InterestDisclosure, "principal", "signed_document")]
    return LeadEvidence(consents=consents, relationships=relationships, number_checks=number_checks,
                        disclosures=disclosures)


INBOUND_OFFERED = 50


def inbound_messages(*, lead: Lead) -> QuerySet[ComplianceCheck]:
    """The lead's logged inbound calls and texts, newest first: what a consent may have come in on."""
    latest = (ComplianceCheck.objects.filter(lead=lead, direction=Direction.INBOUND, mode=CheckMode.LOG,
                                             channel__in=[Channel.SMS, Channel.CALL])
              .exclude(verdict=Verdict.BLOCK).order_by("-checked_at").values("pk")[:INBOUND_OFFERED])
    # Not sliced itself: a form's choice is looked up in it (``.get(pk=...)``).
    return ComplianceCheck.objects.filter(pk__in=latest).order_by("-checked_at")


@dataclass(frozen=True)
class EvidenceEvent:
    """A record of the Consent and records card, as a line of the lead's timeline."""

    at: object  # datetime
    actor: object  # the User who recorded (or revoked) it
    sentence: str
    rule: str


def _channels(consent: ConsentRecord) -> str:
    covered = [name for flag, name in ((consent.covers_sms, "texts"), (consent.covers_autodialer, "autodialed calls"),
                                       (consent.covers_prerecorded, "prerecorded calls")) if flag]
    return ", ".join(covered) or "no channel"


def lead_evidence_events(*, lead_ids, limit: int) -> list[EvidenceEvent]:
    """The lead's evidence as it was recorded and revoked, newest first, for the timeline:
    one query per kind, each cut at ``limit``. ``lead_ids``: the lead and those merged into
    it (evidence never moves)."""
    events = []
    for record in (ConsentRecord.objects.filter(lead_id__in=lead_ids).select_related("recorded_by")
                   .order_by("-created_at")[:limit]):
        events.append(EvidenceEvent(record.created_at, record.recorded_by, (
            f"recorded the homeowner's written consent for {format_national(record.phone_number)} "
            f"({_channels(record)}), obtained {timezone.localtime(record.obtained_at):%b %-d, %Y}"), "D4"))
    for record in (EstablishedRelationship.objects.filter(lead_id__in=lead_ids).select_related("recorded_by")
                   .order_by("-created_at")[:limit]):
        events.append(EvidenceEvent(record.created_at, record.recorded_by, (
            f"recorded an established relationship ({record.get_kind_display().split(' (')[0].lower()}) "
            f"of {record.started_on:%b %-d, %Y} for {format_national(record.phone_number)}"), "C1"))
    for record in (ReassignedNumberCheck.objects.filter(lead_id__in=lead_ids).select_related("recorded_by")
                   .order_by("-queried_at")[:limit]):
        events.append(EvidenceEvent(record.queried_at, record.recorded_by, (
            f"recorded a Reassigned Numbers Database check of {format_national(record.phone_number)}: "
            f"{record.get_result_display().lower()}"), "D7"))
    for record in (InterestDisclosure.objects.filter(lead_id__in=lead_ids).select_related("recorded_by", "principal")
                   .order_by("-created_at")[:limit]):
        events.append(EvidenceEvent(record.created_at, record.recorded_by, (
            f"recorded the written interest disclosure of {record.principal.get_full_name() or record.principal}, "
            f"given {record.disclosed_on:%b %-d, %Y}"), "F8"))
    for revocation in (EvidenceRevocation.objects.filter(lead_id__in=lead_ids)
                       .select_related("revoked_by", "consent", "relationship", "number_check", "disclosure")
                       .order_by("-revoked_at")[:limit]):
        record = revocation.record
        what = {ConsentRecord: "the written consent", EstablishedRelationship: "the established relationship",
                ReassignedNumberCheck: "the reassigned-number check",
                InterestDisclosure: "the interest disclosure"}[type(record)]
        number = getattr(record, "phone_number", "")
        events.append(EvidenceEvent(revocation.revoked_at, revocation.revoked_by, (
            f"revoked {what}{f' for {format_national(number)}' if number else ''}: {revocation.reason}"), ""))
    return events
